//! Partial packing: as many items as fit into a list of bins.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Bins, PackError, PackOptions, pack};

/// A packing problem over a list of bins, in a serde shape (what the C and
/// Python bindings read): the bins' capacity vectors, the items' size
/// vectors, and the [work budget](PackOptions::budget) and seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackSpec {
    /// The bins, in order, each a capacity vector.
    pub bins: Vec<Vec<u64>>,
    /// The items, each a size vector as long as the bins' vectors.
    pub items: Vec<Vec<u64>>,
    /// The work budget of the improvement phase ([`DEFAULT_BUDGET`] when
    /// absent).
    ///
    /// [`DEFAULT_BUDGET`]: super::DEFAULT_BUDGET
    #[serde(default)]
    pub budget: Option<u64>,
    /// The seed of the improvement phase's tie-breaking.
    #[serde(default)]
    pub seed: u64,
}

impl PackSpec {
    /// The options this spec asks for (no warm start).
    pub fn options(&self) -> PackOptions {
        PackOptions {
            budget: self.budget.unwrap_or(super::DEFAULT_BUDGET),
            seed: self.seed,
            warm_start: None,
        }
    }
}

/// The result of [`pack_partial`]: the items placed, by bin, and the items
/// left over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartialPacking {
    /// The items of each listed bin, in increasing order (empty when
    /// unused); one entry per bin of the list.
    pub bins: Vec<Vec<usize>>,
    /// The bin of each item, or `None` for an item left over.
    pub bin_of: Vec<Option<usize>>,
    /// The number of non-empty bins.
    pub bins_used: usize,
    /// The items left over, in increasing order: empty when every item was
    /// placed.
    pub unplaced: Vec<usize>,
    /// Work units spent by the improvement phase.
    pub work: u64,
}

/// Packs as many of `items` as fit into the listed `bins`, and returns the
/// packing and the items left over, where [`pack`] would refuse the whole
/// problem with [`PackError::NotEnoughBins`] (or
/// [`PackError::ItemFitsNoBin`]).
///
/// When every item fits, the result is [`pack`]'s over
/// [`Bins::List`] (same bins, same work) with nothing left over. Otherwise
/// items that fit no bin are left over, and of the others the greedy
/// packings below place as many as they can, the most items winning (then
/// the most total normalised size, then the earlier): best fit in the order
/// given (a scheduler placing them one at a time), best fit smallest first
/// (the most items), and best fit decreasing by normalised size (the most
/// volume). The items placed are then repacked by [`pack`] from that
/// packing (so into no more bins), and the items left over are offered,
/// smallest first, to the room that freed. A warm start is ignored in this
/// case (it would have placed every item).
///
/// ```
/// use trimline::pack::{pack_partial, PackOptions};
///
/// // Two hosts of 8 vCPU; items of 6, 5, 3, 2, 9 and 4 vCPU.
/// let bins = vec![vec![8], vec![8]];
/// let items = vec![vec![6], vec![5], vec![3], vec![2], vec![9], vec![4]];
/// let p = pack_partial(&bins, &items, &PackOptions::default())?;
/// // 9 fits no host; 6 + 2 and 5 + 3 fill both.
/// assert_eq!(p.unplaced, vec![4, 5]);
/// assert_eq!(p.bin_of[4], None);
/// assert_eq!(p.bins_used, 2);
/// # Ok::<(), trimline::pack::PackError>(())
/// ```
///
/// # Errors
///
/// [`PackError`] for an invalid problem: no bins, a dimension count of 0
/// or above [`MAX_DIMS`](super::MAX_DIMS), ragged vectors, or an invalid
/// warm start. Never [`PackError::NotEnoughBins`] or
/// [`PackError::ItemFitsNoBin`].
pub fn pack_partial(
    bins: &[Vec<u64>],
    items: &[Vec<u64>],
    options: &PackOptions,
) -> Result<PartialPacking, PackError> {
    let list = Bins::List(bins.to_vec());
    match pack(&list, items, options) {
        Ok(p) => Ok(PartialPacking {
            bins: p.bins,
            bin_of: p.bin_of.into_iter().map(Some).collect(),
            bins_used: p.bins_used,
            unplaced: Vec::new(),
            work: p.work,
        }),
        Err(PackError::NotEnoughBins { .. } | PackError::ItemFitsNoBin { .. }) => {
            Ok(partial(bins, items, options))
        }
        Err(e) => Err(e),
    }
}

/// The partial case of [`pack_partial`]; the problem is valid (every
/// vector of the bins' length, `1..=MAX_DIMS` dimensions, bins not empty).
fn partial(bins: &[Vec<u64>], items: &[Vec<u64>], options: &PackOptions) -> PartialPacking {
    let d = bins.first().map_or(0, Vec::len);
    let mut maxcap = vec![0u64; d];
    for c in bins {
        for (m, &v) in maxcap.iter_mut().zip(c) {
            *m = (*m).max(v);
        }
    }
    // Normalised size of each item (fixed point, by the largest capacity).
    let norm: Vec<u128> = items
        .iter()
        .map(|it| {
            it.iter()
                .zip(&maxcap)
                .filter(|&(_, &c)| c > 0)
                .map(|(&s, &c)| (u128::from(s) << 20) / u128::from(c))
                .sum()
        })
        .collect();
    let candidates: Vec<usize> = (0..items.len())
        .filter(|&i| {
            bins.iter()
                .any(|c| items[i].iter().zip(c).all(|(s, c)| s <= c))
        })
        .collect();
    let mut ascending = candidates.clone();
    ascending.sort_by(|&a, &b| norm[a].cmp(&norm[b]).then(a.cmp(&b)));
    let mut descending = candidates.clone();
    descending.sort_by(|&a, &b| norm[b].cmp(&norm[a]).then(a.cmp(&b)));
    let mut best: Option<(usize, u128, Vec<Option<usize>>)> = None;
    for order in [&candidates, &ascending, &descending] {
        let a = best_fit(
            bins,
            items,
            order,
            vec![None; items.len()],
            &mut vec![0; bins.len() * d],
        );
        let placed = a.iter().filter(|b| b.is_some()).count();
        let volume: u128 = (0..items.len())
            .filter(|&i| a[i].is_some())
            .map(|i| norm[i])
            .sum();
        if best
            .as_ref()
            .is_none_or(|(p, v, _)| (placed, volume) > (*p, *v))
        {
            best = Some((placed, volume, a));
        }
    }
    let mut assign = best.map(|(_, _, a)| a).unwrap_or_default();
    // Repack the items placed, from the greedy packing.
    let placed: Vec<usize> = (0..items.len()).filter(|&i| assign[i].is_some()).collect();
    let mut work = 0;
    if !placed.is_empty() {
        let sub: Vec<Vec<u64>> = placed.iter().map(|&i| items[i].clone()).collect();
        let warm: Vec<usize> = placed.iter().filter_map(|&i| assign[i]).collect();
        let opts = PackOptions {
            warm_start: Some(warm),
            ..options.clone()
        };
        // The greedy packing is feasible, so this succeeds; should it not,
        // the greedy packing stands.
        if let Ok(p) = pack(&Bins::List(bins.to_vec()), &sub, &opts) {
            for (k, &i) in placed.iter().enumerate() {
                assign[i] = Some(p.bin_of[k]);
            }
            work = p.work;
        }
    }
    // Offer what is left, smallest first, to the room the repacking freed.
    let mut load = vec![0u64; bins.len() * d];
    for (i, b) in assign.iter().enumerate() {
        if let Some(b) = *b {
            for k in 0..d {
                load[b * d + k] += items[i][k];
            }
        }
    }
    let left: Vec<usize> = ascending
        .iter()
        .copied()
        .filter(|&i| assign[i].is_none())
        .collect();
    let assign = best_fit(bins, items, &left, assign, &mut load);
    let mut out_bins = vec![Vec::new(); bins.len()];
    let mut unplaced = Vec::new();
    for (i, b) in assign.iter().enumerate() {
        match *b {
            Some(b) => out_bins[b].push(i),
            None => unplaced.push(i),
        }
    }
    PartialPacking {
        bins_used: out_bins.iter().filter(|b| !b.is_empty()).count(),
        bins: out_bins,
        bin_of: assign,
        unplaced,
        work,
    }
}

/// Best fit of the items of `order` into `bins` loaded with `load`
/// (updated): each goes to the bin it fits, used or not, left with the
/// least free capacity (summed over dimensions as fractions of the bin's
/// capacity; ties to the lower index), or stays unplaced.
fn best_fit(
    bins: &[Vec<u64>],
    items: &[Vec<u64>],
    order: &[usize],
    mut assign: Vec<Option<usize>>,
    load: &mut [u64],
) -> Vec<Option<usize>> {
    let d = bins.first().map_or(0, Vec::len);
    for &i in order {
        let size = &items[i];
        let mut best: Option<(u128, usize)> = None;
        for (b, cap) in bins.iter().enumerate() {
            let l = &load[b * d..(b + 1) * d];
            if !super::greedy::fits_in(size, l, cap) {
                continue;
            }
            let slack: u128 = (0..d)
                .filter(|&k| cap[k] > 0)
                .map(|k| (u128::from(cap[k] - l[k] - size[k]) << 20) / u128::from(cap[k]))
                .sum();
            if best.is_none_or(|(s, _)| slack < s) {
                best = Some((slack, b));
            }
        }
        if let Some((_, b)) = best {
            for k in 0..d {
                load[b * d + k] += size[k];
            }
            assign[i] = Some(b);
        }
    }
    assign
}
