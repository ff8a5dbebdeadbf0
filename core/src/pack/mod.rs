//! Offline vector bin packing: the repack engine.
//!
//! [`pack`] places `n` items, each a vector of `d` sizes (`1 <= d <=`
//! [`MAX_DIMS`]), into as few bins as it can, never exceeding a bin's
//! capacity in any dimension. Bins are either all alike ([`Bins::Identical`],
//! as many as needed) or an explicit ordered list with individual capacities
//! ([`Bins::List`], e.g. hosts whose pinned instances were subtracted).
//!
//! It is the engine behind repacking a pool: every (SKU, zone) pool's
//! instances are the items and its hosts the bins. It does no I/O, reads no
//! clock and starts no thread: the effort is a work budget counted in
//! [work units](PackOptions::budget), and the same inputs give the same
//! packing, byte for byte.
//!
//! # How it packs
//!
//! 1. **Construction: a portfolio of greedy packings**, the best kept (ties
//!    go to the earlier one; a [warm start](PackOptions::warm_start) comes
//!    first, so an equal greedy packing never replaces it):
//!    online best fit, the items in the order given (by the summed and by
//!    the squared free capacity left), and the scheduler's own online
//!    placement (its search of the first few bins that fit, in index order,
//!    and its score, at its default candidate count), so a
//!    packing is never worse than placing the items one at a time; best fit
//!    decreasing by the bottleneck dimension (the one with the most total
//!    demand, accelerators on a GPU fleet), then the sum;
//!    first fit decreasing by the sum, the maximum and the sum of squares of
//!    the normalised sizes; best fit decreasing by the sum; and the
//!    bin-centric "dot product" norm-based greedy of Panigrahy et al. (2011),
//!    which fills one bin at a time with the item whose sizes best align with
//!    the bin's free capacity.
//! 2. **Improvement: a consistent neighbourhood search** after Buljubašić and
//!    Vasquez (2016). To save one bin, two used bins are emptied into a set
//!    `S` of unassigned items; a tabu search over swaps (one or two items of
//!    `S` against zero, one or two items of a bin, every bin staying within
//!    capacity) minimises the weight of `S`, helped by a descent that inserts
//!    items of `S` wherever they fit. When `S` fits into one free bin, the
//!    packing uses one bin fewer and the search goes on to the next target.
//!    It stops at the [lower bound](Packing::lower_bound) or when the budget
//!    is spent.
//!
//! [`pack_partial`] packs as many items as fit into a list of bins that
//! cannot hold them all, and returns the items left over.
//!
//! Sizes are normalised per dimension by the largest capacity of that
//! dimension (in integer fixed point), so keys and weights are exact
//! integers and the result never depends on floating point.
//!
//! Sums are computed in `u128` or compared as `size <= capacity - load`, so
//! no input overflows; every invalid input is a typed [`PackError`].
//!
//! ```
//! use trimline::pack::{pack, Bins, PackOptions};
//!
//! // Hosts of 16 vCPU and 64 GiB; six instances.
//! let bins = Bins::Identical(vec![16, 64]);
//! let items = vec![
//!     vec![8, 16], vec![8, 16], vec![4, 32], vec![4, 32], vec![12, 8], vec![2, 40],
//! ];
//! let p = pack(&bins, &items, &PackOptions::default())?;
//! assert_eq!(p.bins_used, 3);
//! assert_eq!(p.lower_bound, 3); // 144 GiB do not fit on two 64 GiB hosts
//! for (item, &bin) in p.bin_of.iter().enumerate() {
//!     assert!(p.bins[bin].contains(&item));
//! }
//!
//! // A warm start (where the instances run now) is never made worse.
//! let now = vec![0, 1, 2, 3, 4, 5];
//! let opts = PackOptions { warm_start: Some(now), ..PackOptions::default() };
//! let q = pack(&bins, &items, &opts)?;
//! assert!(q.bins_used <= 6);
//! # Ok::<(), trimline::pack::PackError>(())
//! ```

// Dimension loops index several parallel vectors; ranges read best.
#![allow(clippy::needless_range_loop)]

mod greedy;
mod partial;
mod search;

pub use partial::{PackSpec, PartialPacking, pack_partial};

use std::fmt;

/// The largest number of dimensions an item or bin may have.
pub const MAX_DIMS: usize = 16;

/// The default [work budget](PackOptions::budget): a few tens of
/// milliseconds of improvement on a few hundred items in a release build.
pub const DEFAULT_BUDGET: u64 = 2_000_000;

/// The bins to pack into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bins {
    /// As many bins as needed, all with this capacity vector. In the result,
    /// bins are numbered `0..bins_used`, ordered by their smallest item.
    Identical(Vec<u64>),
    /// Exactly these bins, in this order, each with its own capacity vector.
    /// In the result, bin `b` is the `b`-th of this list; ties prefer lower
    /// indices.
    List(Vec<Vec<u64>>),
}

/// How hard to try, and where to start from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackOptions {
    /// The work budget of the improvement phase, in work units. One unit is
    /// one item-against-bin (or item-set-against-bin) capacity check, of at
    /// most `d` comparisons; construction is not counted (it is
    /// `O(k n (n + m) d)` for `n` items and `m` bins, `k` greedy variants).
    /// `0` skips the improvement phase.
    pub budget: u64,
    /// The seed of the improvement phase's tie-breaking. Same inputs and
    /// seed, same packing.
    pub seed: u64,
    /// An existing feasible assignment: `warm_start[i]` is item `i`'s bin.
    /// For [`Bins::List`] it is an index into the list; for
    /// [`Bins::Identical`] any label `< items.len()`. The result never uses
    /// more bins than it does.
    pub warm_start: Option<Vec<usize>>,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            budget: DEFAULT_BUDGET,
            seed: 0,
            warm_start: None,
        }
    }
}

/// A packing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packing {
    /// The items of each bin, in increasing order. For [`Bins::Identical`]
    /// exactly `bins_used` bins, none empty; for [`Bins::List`] one entry
    /// per listed bin, empty when unused.
    pub bins: Vec<Vec<usize>>,
    /// The bin of each item (an index into `bins`).
    pub bin_of: Vec<usize>,
    /// The number of non-empty bins.
    pub bins_used: usize,
    /// A lower bound on the number of bins of any packing: over dimensions,
    /// the fewest bins whose capacities (largest first) cover the total
    /// size, and at least one bin per item that fits with no other item.
    /// `bins_used == lower_bound` proves the packing optimal.
    pub lower_bound: usize,
    /// The bins used by the best greedy packing (or the warm start), before
    /// improvement.
    pub initial_bins: usize,
    /// Work units spent by the improvement phase (at most the budget, plus
    /// the scan of one bin within a step).
    pub work: u64,
}

/// Why a packing problem was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// The dimension count is 0 or above [`MAX_DIMS`].
    #[error("{dims} dimensions: between 1 and {max} are supported", max = MAX_DIMS)]
    Dimensions {
        /// The dimension count given (of the first capacity vector).
        dims: usize,
    },
    /// [`Bins::List`] is empty.
    #[error("no bins were given")]
    NoBins,
    /// A bin's capacity vector has a different length from the first.
    #[error("bin {bin} has {len} dimensions, expected {dims}")]
    RaggedBin {
        /// The bin's index.
        bin: usize,
        /// Its length.
        len: usize,
        /// The expected length.
        dims: usize,
    },
    /// An item's size vector has a different length from the bins'.
    #[error("item {item} has {len} dimensions, expected {dims}")]
    RaggedItem {
        /// The item's index.
        item: usize,
        /// Its length.
        len: usize,
        /// The expected length.
        dims: usize,
    },
    /// An item fits in no bin: in the dimension named, its size exceeds
    /// the capacity of the bin that comes closest.
    #[error("item {item} fits in no bin: dimension {dim} size {size} > capacity {capacity}")]
    ItemFitsNoBin {
        /// The item's index.
        item: usize,
        /// A dimension where it does not fit the largest-capacity bin.
        dim: usize,
        /// Its size there.
        size: u64,
        /// The capacity it was compared with.
        capacity: u64,
    },
    /// The warm start does not give one bin per item.
    #[error("warm start has {len} entries for {items} items")]
    WarmStartLength {
        /// Entries given.
        len: usize,
        /// Items.
        items: usize,
    },
    /// The warm start names a bin that does not exist.
    #[error("warm start puts item {item} in bin {bin}, but there are only {bins} bins")]
    WarmStartUnknownBin {
        /// The item.
        item: usize,
        /// The bin named.
        bin: usize,
        /// The number of bins (the list's length, or the item count for
        /// identical bins).
        bins: usize,
    },
    /// The warm start overfills a bin.
    #[error("warm start overfills bin {bin}: dimension {dim} load {load} > capacity {capacity}")]
    WarmStartOverfull {
        /// The bin.
        bin: usize,
        /// The dimension.
        dim: usize,
        /// The load there (exact).
        load: u128,
        /// The capacity.
        capacity: u64,
    },
    /// The listed bins cannot hold the items: `lower_bound` bins are needed
    /// but only `bins` were given, or no heuristic found a packing
    /// (`lower_bound <= bins`, `unplaced` items left over by the best one).
    #[error(
        "the {bins} bins cannot hold the items: at least {lower_bound} needed, {unplaced} items left unplaced"
    )]
    NotEnoughBins {
        /// Bins given.
        bins: usize,
        /// The lower bound on bins needed.
        lower_bound: usize,
        /// Items the best heuristic left unplaced.
        unplaced: usize,
    },
}

/// Fixed-point scale of normalised sizes: a size equal to the reference
/// capacity is `SCALE`.
pub(crate) const SCALE: u64 = 1 << 20;

/// A validated problem, flattened.
pub(crate) struct Problem {
    pub(crate) d: usize,
    pub(crate) n: usize,
    /// `n * d` sizes.
    pub(crate) size: Vec<u64>,
    /// `m * d` capacities.
    pub(crate) cap: Vec<u64>,
    /// Number of bins available.
    pub(crate) m: usize,
    /// Normalised size sums per item (fixed point).
    pub(crate) norm: Vec<u64>,
    /// `n * d` normalised sizes (fixed point, by the largest capacity).
    pub(crate) nsize: Vec<u64>,
}

impl Problem {
    #[inline]
    pub(crate) fn item(&self, i: usize) -> &[u64] {
        &self.size[i * self.d..(i + 1) * self.d]
    }

    #[inline]
    pub(crate) fn bin_cap(&self, b: usize) -> &[u64] {
        &self.cap[b * self.d..(b + 1) * self.d]
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("d", &self.d)
            .field("n", &self.n)
            .field("m", &self.m)
            .finish()
    }
}

/// A complete assignment: `bin_of[i]` for every item.
pub(crate) type Assignment = Vec<usize>;

/// Packs `items` into `bins`; see the [module docs](self).
///
/// # Errors
///
/// [`PackError`] for an invalid problem (dimensions, ragged vectors, an item
/// that fits no bin, an invalid warm start) or listed bins that cannot hold
/// the items.
pub fn pack(bins: &Bins, items: &[Vec<u64>], options: &PackOptions) -> Result<Packing, PackError> {
    let identical = matches!(bins, Bins::Identical(_));
    let caps: &[Vec<u64>] = match bins {
        Bins::Identical(c) => std::slice::from_ref(c),
        Bins::List(l) => l,
    };
    let first = caps.first().ok_or(PackError::NoBins)?;
    let d = first.len();
    if d == 0 || d > MAX_DIMS {
        return Err(PackError::Dimensions { dims: d });
    }
    for (b, c) in caps.iter().enumerate() {
        if c.len() != d {
            return Err(PackError::RaggedBin {
                bin: b,
                len: c.len(),
                dims: d,
            });
        }
    }
    let n = items.len();
    // The largest capacity per dimension: the normalisation reference.
    let mut maxcap = vec![0u64; d];
    for c in caps {
        for k in 0..d {
            maxcap[k] = maxcap[k].max(c[k]);
        }
    }
    let mut size = Vec::with_capacity(n * d);
    for (i, it) in items.iter().enumerate() {
        if it.len() != d {
            return Err(PackError::RaggedItem {
                item: i,
                len: it.len(),
                dims: d,
            });
        }
        if !caps.iter().any(|c| fits(it, c)) {
            // Name a dimension where it exceeds the roomiest bin.
            let (dim, capacity) = caps
                .iter()
                .filter_map(|c| (0..d).find(|&k| it[k] > c[k]).map(|k| (k, c[k])))
                .max_by_key(|&(k, cap)| (cap, std::cmp::Reverse(k)))
                .unwrap_or((0, 0));
            return Err(PackError::ItemFitsNoBin {
                item: i,
                dim,
                size: it[dim],
                capacity,
            });
        }
        size.extend_from_slice(it);
    }
    let m = if identical { n.max(1) } else { caps.len() };
    let mut cap = Vec::with_capacity(m * d);
    for b in 0..m {
        cap.extend_from_slice(if identical { first } else { &caps[b] });
    }
    let mut nsize = Vec::with_capacity(n * d);
    let mut norm = Vec::with_capacity(n);
    for it in items {
        let mut s = 0u64;
        for k in 0..d {
            let v = normalise(it[k], maxcap[k]);
            nsize.push(v);
            s += v;
        }
        norm.push(s);
    }
    let p = Problem {
        d,
        n,
        size,
        cap,
        m,
        norm,
        nsize,
    };
    let lower_bound = lower_bound(&p, caps, identical);
    let warm = match &options.warm_start {
        Some(w) => Some(check_warm(&p, w, identical)?),
        None => None,
    };
    if !identical && lower_bound > m {
        return Err(PackError::NotEnoughBins {
            bins: m,
            lower_bound,
            unplaced: 0,
        });
    }
    if n == 0 {
        return Ok(Packing {
            bins: if identical {
                Vec::new()
            } else {
                vec![Vec::new(); m]
            },
            bin_of: Vec::new(),
            bins_used: 0,
            lower_bound: 0,
            initial_bins: 0,
            work: 0,
        });
    }
    let (mut best, unplaced) = greedy::portfolio(&p, warm);
    let Some(start) = best.take() else {
        return Err(PackError::NotEnoughBins {
            bins: m,
            lower_bound,
            unplaced,
        });
    };
    let initial_bins = count_used(&start, m);
    let (assign, work) = search::improve(&p, start, lower_bound, options.budget, options.seed);
    Ok(finish(
        &p,
        assign,
        identical,
        lower_bound,
        initial_bins,
        work,
    ))
}

/// `size` fits in an empty bin of capacity `cap`.
fn fits(size: &[u64], cap: &[u64]) -> bool {
    size.iter().zip(cap).all(|(s, c)| s <= c)
}

/// `v / reference` in fixed point; `v <= reference` for valid items.
fn normalise(v: u64, reference: u64) -> u64 {
    if reference == 0 {
        return 0;
    }
    let x = (u128::from(v) * u128::from(SCALE)) / u128::from(reference);
    u64::try_from(x).unwrap_or(u64::MAX)
}

/// The lower bound documented on [`Packing::lower_bound`].
fn lower_bound(p: &Problem, caps: &[Vec<u64>], identical: bool) -> usize {
    if p.n == 0 {
        return 0;
    }
    let mut lb = 1usize;
    for k in 0..p.d {
        let total: u128 = (0..p.n).map(|i| u128::from(p.size[i * p.d + k])).sum();
        let need = if identical {
            let c = u128::from(caps[0][k]);
            if c == 0 {
                0
            } else {
                usize::try_from(total.div_ceil(c)).unwrap_or(usize::MAX)
            }
        } else {
            let mut cs: Vec<u64> = caps.iter().map(|c| c[k]).collect();
            cs.sort_unstable_by(|a, b| b.cmp(a));
            let mut acc = 0u128;
            let mut cnt = 0usize;
            for c in cs {
                if acc >= total {
                    break;
                }
                acc += u128::from(c);
                cnt += 1;
            }
            if acc < total {
                cs_len_plus_one(caps.len())
            } else {
                cnt
            }
        };
        lb = lb.max(need);
    }
    // Items bigger than half the reference capacity in some dimension
    // cannot share a bin pairwise in that dimension; count them for
    // identical bins (a cheap, classic bound).
    if identical {
        let mut big = 0usize;
        for i in 0..p.n {
            let it = p.item(i);
            if (0..p.d).any(|k| u128::from(it[k]) * 2 > u128::from(caps[0][k])) {
                big += 1;
            }
        }
        // Only counts when the big items pairwise conflict: check cheaply
        // that every two of them exceed capacity in some dimension.
        if big > lb && big <= 2048 {
            let bigs: Vec<usize> = (0..p.n)
                .filter(|&i| {
                    let it = p.item(i);
                    (0..p.d).any(|k| u128::from(it[k]) * 2 > u128::from(caps[0][k]))
                })
                .collect();
            let conflict = |a: usize, b: usize| {
                let (x, y) = (p.item(a), p.item(b));
                (0..p.d).any(|k| u128::from(x[k]) + u128::from(y[k]) > u128::from(caps[0][k]))
            };
            let all = bigs
                .iter()
                .enumerate()
                .all(|(ai, &a)| bigs[ai + 1..].iter().all(|&b| conflict(a, b)));
            if all {
                lb = lb.max(big);
            }
        }
    }
    lb
}

fn cs_len_plus_one(len: usize) -> usize {
    len.saturating_add(1)
}

/// Validates a warm start and maps it to internal bins.
fn check_warm(p: &Problem, w: &[usize], identical: bool) -> Result<Assignment, PackError> {
    if w.len() != p.n {
        return Err(PackError::WarmStartLength {
            len: w.len(),
            items: p.n,
        });
    }
    let bins = if identical { p.n } else { p.m };
    let mut load = vec![0u128; bins * p.d];
    for (i, &b) in w.iter().enumerate() {
        if b >= bins {
            return Err(PackError::WarmStartUnknownBin {
                item: i,
                bin: b,
                bins,
            });
        }
        for k in 0..p.d {
            load[b * p.d + k] += u128::from(p.size[i * p.d + k]);
        }
    }
    for b in 0..bins {
        for k in 0..p.d {
            let c = p.cap[b.min(p.m - 1) * p.d + k];
            if load[b * p.d + k] > u128::from(c) {
                return Err(PackError::WarmStartOverfull {
                    bin: b,
                    dim: k,
                    load: load[b * p.d + k],
                    capacity: c,
                });
            }
        }
    }
    Ok(w.to_vec())
}

pub(crate) fn count_used(a: &Assignment, m: usize) -> usize {
    let mut used = vec![false; m];
    for &b in a {
        used[b] = true;
    }
    used.iter().filter(|&&u| u).count()
}

fn finish(
    p: &Problem,
    assign: Assignment,
    identical: bool,
    lower_bound: usize,
    initial_bins: usize,
    work: u64,
) -> Packing {
    let mut bins: Vec<Vec<usize>> = vec![Vec::new(); p.m];
    for (i, &b) in assign.iter().enumerate() {
        bins[b].push(i);
    }
    if identical {
        // Number bins by their smallest item: items ascend within a bin, so
        // the first item is the smallest.
        bins.retain(|b| !b.is_empty());
        bins.sort_by_key(|b| b.first().copied());
    }
    let mut bin_of = vec![0usize; p.n];
    for (b, its) in bins.iter().enumerate() {
        for &i in its {
            bin_of[i] = b;
        }
    }
    let bins_used = bins.iter().filter(|b| !b.is_empty()).count();
    Packing {
        bins,
        bin_of,
        bins_used,
        lower_bound: lower_bound.min(bins_used),
        initial_bins,
        work,
    }
}
