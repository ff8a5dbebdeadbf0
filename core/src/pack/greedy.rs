//! Construction: a portfolio of greedy packings.

use super::{Assignment, Problem, count_used};

/// Bin-centric greedy is `O(n^2 d)`; above this many items it is skipped.
const BIN_CENTRIC_MAX_ITEMS: usize = 4096;

/// Runs the portfolio and returns the best complete assignment (the warm
/// start first, so ties keep it), or `None` and the fewest items any
/// heuristic left unplaced.
pub(super) fn portfolio(p: &Problem, warm: Option<Assignment>) -> (Option<Assignment>, usize) {
    let mut best: Option<(usize, Assignment)> = warm.map(|w| (count_used(&w, p.m), w));
    let mut unplaced = usize::MAX;
    let mut consider = |r: Result<Assignment, usize>| match r {
        Ok(a) => {
            let used = count_used(&a, p.m);
            if best.as_ref().is_none_or(|(u, _)| used < *u) {
                best = Some((used, a));
            }
        }
        Err(left) => unplaced = unplaced.min(left),
    };
    let by_sum = order(p, |i| u128::from(p.norm[i]));
    let by_max = order(p, |i| {
        u128::from(
            p.nsize[i * p.d..(i + 1) * p.d]
                .iter()
                .copied()
                .max()
                .unwrap_or(0),
        )
    });
    let by_sq = order(p, |i| {
        p.nsize[i * p.d..(i + 1) * p.d]
            .iter()
            .map(|&v| u128::from(v) * u128::from(v))
            .sum()
    });
    // The bottleneck dimension: the largest total normalised demand. On
    // items dominated by one scarce dimension (accelerators per host) the
    // others mislead the size orders; this one packs that dimension first.
    let bottleneck = (0..p.d)
        .max_by_key(|&k| {
            let total: u128 = (0..p.n).map(|i| u128::from(p.nsize[i * p.d + k])).sum();
            (total, std::cmp::Reverse(k))
        })
        .unwrap_or(0);
    let by_bottleneck = order(p, |i| {
        (u128::from(p.nsize[i * p.d + bottleneck]) << 64) | u128::from(p.norm[i])
    });
    // Online best fit: the items in the order given, as a scheduler places
    // them one at a time; the portfolio is never worse than it.
    let given: Vec<usize> = (0..p.n).collect();
    consider(fit(p, &given, true));
    consider(fit_rule(p, &given, Rule::LeastSquares));
    // The scheduler's own online placement: the same order, its candidate
    // search and its score, at its default setting.
    consider(scheduler_online(p, SCHEDULER_CANDIDATES));
    consider(fit(p, &by_bottleneck, true));
    consider(fit(p, &by_sum, false));
    consider(fit(p, &by_max, false));
    consider(fit(p, &by_sq, false));
    consider(fit(p, &by_sum, true));
    consider(fit(p, &by_sq, true));
    if p.n <= BIN_CENTRIC_MAX_ITEMS {
        // Fixed small dimension counts compile to unrolled loops.
        consider(match p.d {
            1 => bin_centric::<1>(p),
            2 => bin_centric::<2>(p),
            3 => bin_centric::<3>(p),
            4 => bin_centric::<4>(p),
            _ => bin_centric::<0>(p),
        });
    }
    (best.map(|(_, a)| a), unplaced)
}

/// The candidate count of the scheduler's online placement emulated by the
/// portfolio: its default ([`Config::candidates_per_class`](crate::Config)).
/// (A wider search is closer to the full best fit members above.)
const SCHEDULER_CANDIDATES: usize = 2;

/// Items by decreasing key, ties by index.
fn order(p: &Problem, key: impl Fn(usize) -> u128) -> Vec<usize> {
    let mut o: Vec<usize> = (0..p.n).collect();
    o.sort_by(|&a, &b| key(b).cmp(&key(a)).then(a.cmp(&b)));
    o
}

/// `size` fits in the free capacity `cap - load`.
#[inline]
pub(super) fn fits_in(size: &[u64], load: &[u64], cap: &[u64]) -> bool {
    size.iter()
        .zip(load)
        .zip(cap)
        .all(|((&s, &l), &c)| s <= c - l)
}

/// Normalised free capacity left after adding `size` (fixed point), used by
/// best fit. Requires `fits_in(size, load, cap)`.
fn slack_after(p: &Problem, size: &[u64], load: &[u64], cap: &[u64]) -> u128 {
    let mut s = 0u128;
    for k in 0..p.d {
        let free = cap[k] - load[k] - size[k];
        // Normalise by this bin's capacity.
        if cap[k] > 0 {
            s += (u128::from(free) << 20) / u128::from(cap[k]);
        }
    }
    s
}

/// Normalised free capacity left after adding `size`, squared per
/// dimension and summed (fixed point): the scheduler's "least stranded"
/// score. Requires `fits_in(size, load, cap)`.
fn stranded_after(p: &Problem, size: &[u64], load: &[u64], cap: &[u64]) -> u128 {
    let mut s = 0u128;
    for k in 0..p.d {
        let free = cap[k] - load[k] - size[k];
        if cap[k] > 0 {
            let f = (u128::from(free) << 20) / u128::from(cap[k]);
            s += f * f;
        }
    }
    s
}

/// How [`fit_rule`] picks among the open bins an item fits.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Rule {
    /// The first in opening order.
    First,
    /// The least normalised free capacity left (sum over dimensions).
    Best,
    /// The least squared normalised free capacity left: the scheduler's
    /// online score.
    LeastSquares,
}

/// First fit (`best == false`) or best fit over the open bins in opening
/// order; a new bin is the lowest-indexed unused bin the item fits.
fn fit(p: &Problem, order: &[usize], best: bool) -> Result<Assignment, usize> {
    fit_rule(p, order, if best { Rule::Best } else { Rule::First })
}

/// [`fit`] with the choice among open bins given by `rule`.
fn fit_rule(p: &Problem, order: &[usize], rule: Rule) -> Result<Assignment, usize> {
    let d = p.d;
    let mut load = vec![0u64; p.m * d];
    let mut open: Vec<usize> = Vec::new();
    let mut is_open = vec![false; p.m];
    let mut next_unused = 0usize;
    let mut assign = vec![usize::MAX; p.n];
    let mut left = 0usize;
    for &i in order {
        let size = p.item(i);
        let mut chosen: Option<usize> = None;
        let mut chosen_slack = u128::MAX;
        for &b in &open {
            if fits_in(size, &load[b * d..(b + 1) * d], p.bin_cap(b)) {
                let l = &load[b * d..(b + 1) * d];
                let s = match rule {
                    Rule::First => {
                        chosen = Some(b);
                        break;
                    }
                    Rule::Best => slack_after(p, size, l, p.bin_cap(b)),
                    Rule::LeastSquares => stranded_after(p, size, l, p.bin_cap(b)),
                };
                if s < chosen_slack {
                    chosen_slack = s;
                    chosen = Some(b);
                }
            }
        }
        if chosen.is_none() {
            while next_unused < p.m && is_open[next_unused] {
                next_unused += 1;
            }
            chosen = (next_unused..p.m)
                .find(|&b| !is_open[b] && fits_in(size, &load[b * d..(b + 1) * d], p.bin_cap(b)));
            if let Some(b) = chosen {
                is_open[b] = true;
                open.push(b);
            }
        }
        match chosen {
            Some(b) => {
                for k in 0..d {
                    load[b * d + k] += size[k];
                }
                assign[i] = b;
            }
            None => left += 1,
        }
    }
    if left > 0 { Err(left) } else { Ok(assign) }
}

/// The bin-centric dot-product greedy: open the lowest unused bin, then add
/// the remaining item maximising the dot product of its normalised sizes
/// with the bin's normalised free capacity, until nothing fits.
///
/// `D` is the dimension count when it is known at compile time (the loops
/// over dimensions then unroll), or 0 to read it from `p`.
fn bin_centric<const D: usize>(p: &Problem) -> Result<Assignment, usize> {
    let d = if D == 0 { p.d } else { D };
    let mut assign = vec![usize::MAX; p.n];
    let mut remaining: Vec<usize> = (0..p.n).collect();
    // Big items first on ties.
    remaining.sort_by(|&a, &b| p.norm[b].cmp(&p.norm[a]).then(a.cmp(&b)));
    let mut load = vec![0u64; d];
    // The items that still fit the bin being filled, in `remaining` order:
    // its load only grows, so an item that does not fit now never will.
    let mut cands: Vec<usize> = Vec::with_capacity(remaining.len());
    for b in 0..p.m {
        if remaining.is_empty() {
            break;
        }
        load.iter_mut().for_each(|l| *l = 0);
        let cap = p.bin_cap(b);
        cands.clear();
        cands.extend_from_slice(&remaining);
        loop {
            // The bin's free fraction per dimension (0 where it has no
            // capacity): fixed for this choice, so computed once. Both
            // factors of the dot product are at most 2^20 (a fraction in
            // fixed point, and a normalised size of an item that fits, at
            // most the largest capacity), so over at most MAX_DIMS (16)
            // dimensions the sum stays below 2^45: u64 is exact (and
            // saturating, should an invariant ever not hold).
            let mut free = [0u64; super::MAX_DIMS];
            for k in 0..d {
                if cap[k] > 0 {
                    let f = ((u128::from(cap[k] - load[k])) << 20) / u128::from(cap[k]);
                    free[k] = u64::try_from(f).unwrap_or(u64::MAX);
                }
            }
            let mut best: Option<(u64, usize)> = None;
            let mut kept = 0;
            for c in 0..cands.len() {
                let i = cands[c];
                if !fits_in(&p.size[i * d..(i + 1) * d], &load, cap) {
                    continue;
                }
                cands[kept] = i;
                let mut dot = 0u64;
                for k in 0..d {
                    dot = dot.saturating_add(free[k].saturating_mul(p.nsize[i * d + k]));
                }
                if best.is_none_or(|(bd, _)| dot > bd) {
                    best = Some((dot, kept));
                }
                kept += 1;
            }
            cands.truncate(kept);
            let Some((_, pos)) = best else { break };
            let i = cands.remove(pos);
            for k in 0..d {
                load[k] += p.size[i * d + k];
            }
            assign[i] = b;
        }
        remaining.retain(|&i| assign[i] == usize::MAX);
    }
    if remaining.is_empty() {
        Ok(assign)
    } else {
        Err(remaining.len())
    }
}

/// The scheduler's fixed point: a fraction of a capacity in units of
/// `1 / SCHED_ONE` (as in `resources::FIXED_ONE`).
const SCHED_ONE: u64 = 1 << 16;

/// The scheduler's online placement of the items in the order given, as it
/// places them one at a time on a region of these bins: the bins are
/// searched in index order (its slot order) for the first `candidates`
/// that fit, used or not, and the one left with the least squared free
/// capacity, each dimension as a fixed-point fraction of the bin's
/// capacity computed as the scheduler does, wins (ties to the lower index).
fn scheduler_online(p: &Problem, candidates: usize) -> Result<Assignment, usize> {
    let d = p.d;
    // Reciprocals of each bin's capacities, as the scheduler's `Scale`.
    let recip: Vec<u64> = p
        .cap
        .iter()
        .map(|&c| (SCHED_ONE << 32).checked_div(c).unwrap_or(0))
        .collect();
    let mut load = vec![0u64; p.m * d];
    let mut assign = vec![usize::MAX; p.n];
    let mut left = 0usize;
    for i in 0..p.n {
        let size = p.item(i);
        let mut best: Option<(u128, usize)> = None;
        let mut found = 0usize;
        for b in 0..p.m {
            let l = &load[b * d..(b + 1) * d];
            let cap = p.bin_cap(b);
            if !fits_in(size, l, cap) {
                continue;
            }
            let mut score = 0u128;
            for k in 0..d {
                let free = u128::from(cap[k] - l[k] - size[k]);
                let f = (free * u128::from(recip[b * d + k])) >> 32;
                score += f * f;
            }
            if best.is_none_or(|(s, _)| score < s) {
                best = Some((score, b));
            }
            found += 1;
            if found == candidates {
                break;
            }
        }
        match best {
            Some((_, b)) => {
                for k in 0..d {
                    load[b * d + k] += size[k];
                }
                assign[i] = b;
            }
            None => left += 1,
        }
    }
    if left > 0 { Err(left) } else { Ok(assign) }
}
