//! The vector-bin-packing quality harness: `.vbp` instances, summary CSVs,
//! a feasibility check, the baselines and the report.
//!
//! Instances (`.vbp`, as read by VPSolver and OR-Tools): line 1 the
//! dimension `d`; line 2 the `d` bin capacities; line 3 the number of item
//! types `m`; then `m` lines of `d` sizes followed by the count of items of
//! that type. Counts are expanded, items indexed in file order.
//!
//! Some Triplet (Caprara) files have small negative sizes (the generator's
//! way of making triplets sum exactly to the capacity). The engine takes
//! `u64` sizes, so the harness packs with negative sizes raised to 0, which
//! is conservative (a packing feasible with the raised sizes is feasible
//! with the true ones), and checks every packing with the true sizes.

// Dimension loops index several parallel vectors; ranges read best.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use trimline::pack::{self, Bins, PackOptions};

/// A parsed instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// The file stem, e.g. `class1_20_3_0`.
    pub name: String,
    /// Bin capacity per dimension.
    pub capacity: Vec<u64>,
    /// Items in file order, counts expanded, negative sizes raised to 0
    /// (what the packers see).
    pub items: Vec<Vec<u64>>,
    /// Items as in the file (possibly negative), for the check.
    pub raw: Vec<Vec<i64>>,
}

/// Parses a `.vbp` text.
///
/// # Errors
///
/// A message naming what is missing or malformed.
pub fn parse(name: &str, text: &str) -> Result<Instance, String> {
    let nums = text
        .split_whitespace()
        .map(|t| {
            t.parse::<i64>()
                .map_err(|e| format!("{name}: bad number {t:?}: {e}"))
        })
        .collect::<Result<Vec<i64>, String>>()?;
    let mut toks = nums.into_iter();
    let mut next_signed = |what: &str| -> Result<i64, String> {
        toks.next().ok_or(format!("{name}: missing {what}"))
    };
    let next = |v: i64, what: &str| -> Result<u64, String> {
        u64::try_from(v).map_err(|_| format!("{name}: negative {what} {v}"))
    };
    let d = usize::try_from(next(next_signed("dimension")?, "dimension")?)
        .map_err(|e| e.to_string())?;
    if d == 0 || d > pack::MAX_DIMS {
        return Err(format!("{name}: {d} dimensions"));
    }
    let capacity = (0..d)
        .map(|_| next(next_signed("capacity")?, "capacity"))
        .collect::<Result<Vec<_>, _>>()?;
    let m = next(next_signed("item type count")?, "item type count")?;
    let mut raw = Vec::new();
    for _ in 0..m {
        let size = (0..d)
            .map(|_| next_signed("size"))
            .collect::<Result<Vec<_>, _>>()?;
        let count = next(next_signed("count")?, "count")?;
        if count > 10_000_000 {
            return Err(format!("{name}: count {count} too large"));
        }
        for _ in 0..count {
            raw.push(size.clone());
        }
    }
    let items = raw
        .iter()
        .map(|s| s.iter().map(|&v| u64::try_from(v).unwrap_or(0)).collect())
        .collect();
    Ok(Instance {
        name: name.to_string(),
        capacity,
        items,
        raw,
    })
}

/// Per-instance figures from a `*_summary_known.csv` (tab-separated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// The lower bound.
    pub lb: u64,
    /// The optimum, when known.
    pub opt: Option<u64>,
    /// The per-instance best of the published heuristics, when given.
    pub best_overall: Option<u64>,
}

/// Parses a summary CSV: tab-separated, header with `instance_name`, `LB`,
/// `OPT` (`<= 0` for unknown) and optionally `best_overall`.
///
/// # Errors
///
/// A message naming the missing column or bad line.
pub fn parse_summary(text: &str) -> Result<BTreeMap<String, Known>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty summary")?
        .split('\t')
        .map(str::trim)
        .collect();
    let col = |c: &str| {
        header
            .iter()
            .position(|h| *h == c)
            .ok_or(format!("summary has no column {c}"))
    };
    let (ci, cl, co) = (col("instance_name")?, col("LB")?, col("OPT")?);
    let cb = col("best_overall").ok();
    let num = |s: &str| -> Result<f64, String> {
        s.trim()
            .parse::<f64>()
            .map_err(|e| format!("bad number {s:?}: {e}"))
    };
    let mut out = BTreeMap::new();
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let get = |c: usize| {
            f.get(c)
                .copied()
                .ok_or(format!("line {}: too few fields", n + 2))
        };
        let pos = |v: f64| (v > 0.0).then_some(v as u64);
        let known = Known {
            lb: num(get(cl)?)?.max(0.0) as u64,
            opt: pos(num(get(co)?)?),
            best_overall: match cb {
                Some(c) => pos(num(get(c)?)?),
                None => None,
            },
        };
        out.insert(get(ci)?.trim().to_string(), known);
    }
    Ok(out)
}

/// Checks a packing with the true (file) sizes: every item in exactly one
/// bin, no bin over capacity in any dimension. Returns the bins used.
///
/// # Errors
///
/// What is wrong, naming the bin, item or dimension.
pub fn check(inst: &Instance, bins: &[Vec<usize>]) -> Result<usize, String> {
    let d = inst.capacity.len();
    let mut seen = vec![0u32; inst.items.len()];
    for (b, its) in bins.iter().enumerate() {
        let mut load = vec![0i128; d];
        for &i in its {
            let item = inst
                .raw
                .get(i)
                .ok_or(format!("{}: bin {b} has unknown item {i}", inst.name))?;
            seen[i] += 1;
            for k in 0..d {
                load[k] += i128::from(item[k]);
            }
        }
        for k in 0..d {
            if load[k] > i128::from(inst.capacity[k]) {
                return Err(format!(
                    "{}: bin {b} dimension {k} load {} > capacity {}",
                    inst.name, load[k], inst.capacity[k]
                ));
            }
        }
    }
    if let Some(i) = seen.iter().position(|&c| c != 1) {
        return Err(format!("{}: item {i} packed {} times", inst.name, seen[i]));
    }
    Ok(bins.iter().filter(|b| !b.is_empty()).count())
}

/// The packers the harness compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packer {
    /// `trimline::pack::pack` with a work budget and seed 0.
    Trimline(u64),
    /// First Fit, items in a seeded random arrival order (see
    /// [`arrival_order`]).
    FirstFit,
    /// First Fit Decreasing by the sum of sizes normalised by capacity.
    FfdSum,
    /// kube-scheduler's `MostAllocated` score on the first two dimensions.
    KubeMostAllocated,
    /// kube-scheduler's `LeastAllocated` score on the first two dimensions.
    KubeLeastAllocated,
    /// Nomad's BestFit-v3 (`ScoreFitBinPack`) on the first two dimensions.
    NomadBestFit,
}

impl Packer {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Packer::Trimline(_) => "trimline",
            Packer::FirstFit => "First Fit",
            Packer::FfdSum => "FFD (sum)",
            Packer::KubeMostAllocated => "kube MostAllocated",
            Packer::KubeLeastAllocated => "kube LeastAllocated",
            Packer::NomadBestFit => "Nomad BestFit-v3",
        }
    }

    /// The baselines, in report order.
    pub const BASELINES: [Packer; 5] = [
        Packer::FirstFit,
        Packer::FfdSum,
        Packer::KubeMostAllocated,
        Packer::KubeLeastAllocated,
        Packer::NomadBestFit,
    ];

    /// Packs an instance; bins of item indices.
    ///
    /// # Errors
    ///
    /// The packing engine's error, as text.
    pub fn pack(&self, inst: &Instance) -> Result<Vec<Vec<usize>>, String> {
        match *self {
            Packer::Trimline(budget) => {
                let opts = PackOptions {
                    budget,
                    seed: 0,
                    warm_start: None,
                };
                pack::pack(&Bins::Identical(inst.capacity.clone()), &inst.items, &opts)
                    .map(|p| p.bins)
                    .map_err(|e| format!("{}: {e}", inst.name))
            }
            Packer::FirstFit => {
                let order = arrival_order(inst.items.len());
                Ok(online(inst, &order, |_, _, _| Some(0.0)))
            }
            Packer::FfdSum => {
                let mut order: Vec<usize> = (0..inst.items.len()).collect();
                let key = |i: usize| -> f64 {
                    inst.items[i]
                        .iter()
                        .zip(&inst.capacity)
                        .map(|(&s, &c)| frac(s, c))
                        .sum()
                };
                order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
                Ok(online(inst, &order, |_, _, _| Some(0.0)))
            }
            Packer::KubeMostAllocated | Packer::KubeLeastAllocated | Packer::NomadBestFit => {
                let order = arrival_order(inst.items.len());
                let me = *self;
                Ok(online(inst, &order, move |load, item, cap| {
                    Some(score(me, load, item, cap))
                }))
            }
        }
    }
}

/// The order in which the online baselines (First Fit, kube, Nomad) see
/// the items: a seeded shuffle, the same for every baseline and run. A
/// scheduler sees instances as they arrive; the files' own order would
/// hand them the answer on the Triplet set, whose files list each optimal
/// triplet's three items next to each other.
pub fn arrival_order(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = crate::SplitMix::new(0x7452_494D_4C49_4E45 ^ n as u64);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    order
}

fn frac(s: u64, c: u64) -> f64 {
    if c == 0 { 0.0 } else { s as f64 / c as f64 }
}

/// The score of placing `item` on a host with `load`, higher is better,
/// on the first two dimensions (CPU and memory, as kube and Nomad score by
/// default).
fn score(p: Packer, load: &[u64], item: &[u64], cap: &[u64]) -> f64 {
    let dims = cap.len().min(2);
    // Fraction of each scored dimension requested after placement.
    let used: Vec<f64> = (0..dims).map(|k| frac(load[k] + item[k], cap[k])).collect();
    match p {
        // kube `MostAllocated`: mean over resources of requested/allocatable
        // * 100 (equal weights).
        Packer::KubeMostAllocated => used.iter().map(|u| u * 100.0).sum::<f64>() / dims as f64,
        // kube `LeastAllocated`: mean of (allocatable - requested)/allocatable
        // * 100.
        Packer::KubeLeastAllocated => {
            used.iter().map(|u| (1.0 - u) * 100.0).sum::<f64>() / dims as f64
        }
        // Nomad `ScoreFitBinPack`: 20 - (10^freeCpu + 10^freeMem), free
        // fractions after placement; in [0, 18].
        Packer::NomadBestFit => {
            let total: f64 = used.iter().map(|u| 10f64.powf(1.0 - u)).sum();
            // With one dimension, count it twice as Nomad always scores two.
            let total = if dims == 1 { total * 2.0 } else { total };
            (20.0 - total).clamp(0.0, 18.0)
        }
        _ => 0.0,
    }
}

/// Online placement in `order`: among open hosts where the item fits on
/// every dimension, the best score (the first such host on ties, so a
/// constant score is First Fit); a new host only when none fits.
fn online(
    inst: &Instance,
    order: &[usize],
    score: impl Fn(&[u64], &[u64], &[u64]) -> Option<f64>,
) -> Vec<Vec<usize>> {
    let cap = &inst.capacity;
    let d = cap.len();
    let mut loads: Vec<Vec<u64>> = Vec::new();
    let mut bins: Vec<Vec<usize>> = Vec::new();
    for &i in order {
        let item = &inst.items[i];
        let mut best: Option<(f64, usize)> = None;
        for (b, load) in loads.iter().enumerate() {
            if (0..d).all(|k| item[k] <= cap[k] - load[k]) {
                if let Some(s) = score(load, item, cap) {
                    if best.is_none_or(|(bs, _)| s > bs) {
                        best = Some((s, b));
                    }
                }
            }
        }
        let b = match best {
            Some((_, b)) => b,
            None => {
                loads.push(vec![0; d]);
                bins.push(Vec::new());
                bins.len() - 1
            }
        };
        for k in 0..d {
            loads[b][k] += item[k];
        }
        bins[b].push(i);
    }
    bins
}

/// Totals over a set of instances for one packer.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Instances packed.
    pub instances: usize,
    /// Hosts used, in total.
    pub hosts: u64,
    /// Sum of hosts/OPT over instances with a known OPT.
    pub ratio_sum: f64,
    /// Instances with a known OPT.
    pub with_opt: usize,
    /// The worst hosts/OPT and its instance.
    pub worst: Option<(f64, String)>,
    /// Sum of hosts/LB over instances without a known OPT (and LB > 0).
    pub lb_ratio_sum: f64,
    /// Instances without a known OPT, with LB > 0.
    pub without_opt: usize,
    /// Sum of `best_overall`/OPT (the best of the published heuristics)
    /// over instances with both.
    pub best_ratio_sum: f64,
    /// Instances with a known OPT and `best_overall`.
    pub with_best: usize,
    /// Per dimension: free capacity on used hosts.
    pub free: Vec<u128>,
    /// Per dimension: capacity of used hosts.
    pub capacity: Vec<u128>,
}

impl Tally {
    /// Adds one packing (already checked).
    pub fn add(&mut self, inst: &Instance, bins: &[Vec<usize>], known: Option<&Known>) {
        let used = bins.iter().filter(|b| !b.is_empty()).count() as u64;
        self.instances += 1;
        self.hosts += used;
        let d = inst.capacity.len();
        if self.free.len() < d {
            self.free.resize(d, 0);
            self.capacity.resize(d, 0);
        }
        for k in 0..d {
            let total: u128 = inst.items.iter().map(|it| u128::from(it[k])).sum();
            let cap = u128::from(inst.capacity[k]) * u128::from(used);
            self.capacity[k] += cap;
            self.free[k] += cap - total.min(cap);
        }
        if let Some(opt) = known.and_then(|k| k.opt) {
            let r = used as f64 / opt as f64;
            self.ratio_sum += r;
            self.with_opt += 1;
            if self.worst.as_ref().is_none_or(|(w, _)| r > *w) {
                self.worst = Some((r, inst.name.clone()));
            }
            if let Some(best) = known.and_then(|k| k.best_overall) {
                self.best_ratio_sum += best as f64 / opt as f64;
                self.with_best += 1;
            }
        } else if let Some(lb) = known.map(|k| k.lb).filter(|&lb| lb > 0) {
            self.lb_ratio_sum += used as f64 / lb as f64;
            self.without_opt += 1;
        }
    }

    /// Mean hosts/OPT, when any instance had a known OPT.
    pub fn mean(&self) -> Option<f64> {
        (self.with_opt > 0).then(|| self.ratio_sum / self.with_opt as f64)
    }

    /// Mean hosts/LB over the instances without a known OPT, when any.
    pub fn mean_over_lb(&self) -> Option<f64> {
        (self.without_opt > 0).then(|| self.lb_ratio_sum / self.without_opt as f64)
    }

    /// Mean `best_overall`/OPT (the per-instance best of the published
    /// heuristics), when any instance had both.
    pub fn best_published(&self) -> Option<f64> {
        (self.with_best > 0).then(|| self.best_ratio_sum / self.with_best as f64)
    }

    /// Stranded capacity per dimension: free capacity on used hosts as a
    /// percentage of their capacity.
    pub fn stranded(&self) -> Vec<f64> {
        self.free
            .iter()
            .zip(&self.capacity)
            .map(|(&f, &c)| {
                if c == 0 {
                    0.0
                } else {
                    100.0 * f as f64 / c as f64
                }
            })
            .collect()
    }
}

/// A markdown table row for a tally: packer, instances, mean hosts/OPT,
/// instances with OPT, mean hosts/LB of the others, worst, hosts, stranded
/// per dimension (first `dims`).
pub fn markdown_row(name: &str, t: &Tally, dims: usize) -> String {
    let mut s = format!("| {name} | {} | ", t.instances);
    match t.mean() {
        Some(m) => {
            let _ = write!(s, "{m:.4} | ");
        }
        None => s.push_str("- | "),
    }
    let _ = write!(s, "{} | ", t.with_opt);
    match t.mean_over_lb() {
        Some(m) => {
            let _ = write!(s, "{m:.4} ({}) | ", t.without_opt);
        }
        None => s.push_str("- | "),
    }
    match &t.worst {
        Some((w, n)) => {
            let _ = write!(s, "{w:.3} ({n}) | ");
        }
        None => s.push_str("- | "),
    }
    let _ = write!(s, "{} |", t.hosts);
    let st = t.stranded();
    for k in 0..dims {
        match st.get(k) {
            Some(v) => {
                let _ = write!(s, " {v:.2}% |");
            }
            None => s.push_str(" - |"),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Instances with an OPT count toward the mean over it (and the
    /// published best's mean); the others toward the mean over the lower
    /// bound; the markdown row shows both, with the count with OPT.
    #[test]
    fn tallies_split_instances_with_and_without_an_optimum() {
        let inst = |name: &str, items: usize| Instance {
            name: name.into(),
            capacity: vec![10],
            items: vec![vec![6]; items],
            raw: vec![vec![6]; items],
        };
        let bins = |n: usize| -> Vec<Vec<usize>> { (0..n).map(|i| vec![i]).collect() };
        let mut t = Tally::default();
        let known = |lb, opt, best| Known {
            lb,
            opt,
            best_overall: best,
        };
        t.add(&inst("a", 4), &bins(4), Some(&known(4, Some(4), Some(5))));
        t.add(&inst("b", 3), &bins(3), Some(&known(2, Some(2), None)));
        t.add(&inst("c", 6), &bins(6), Some(&known(4, None, Some(7))));
        t.add(&inst("d", 1), &bins(1), None);
        assert_eq!(
            (t.instances, t.with_opt, t.without_opt, t.with_best),
            (4, 2, 1, 1)
        );
        assert_eq!(t.mean(), Some((1.0 + 1.5) / 2.0));
        assert_eq!(t.mean_over_lb(), Some(1.5));
        assert_eq!(t.best_published(), Some(1.25));
        assert!(
            markdown_row("x", &t, 1)
                .starts_with("| x | 4 | 1.2500 | 2 | 1.5000 (1) | 1.500 (b) | 14 |"),
            "{}",
            markdown_row("x", &t, 1)
        );
    }
}
