//! Packing quality on the committed subset of the vector-bin-packing sets
//! (`benches/data/vbp/subset`, chosen by the rule in that README): every
//! packing feasible, and the mean hosts/OPT of each set within the issue's
//! target. Deterministic (fixed budget, seed 0): a count of hosts, not a
//! time.

use std::path::Path;

use trimline_bench::vbp::{self, Packer, Tally};

/// The work budget of the check (the harness default is
/// `trimline::pack::DEFAULT_BUDGET`).
const BUDGET: u64 = 2_000_000;

/// (set, summary CSV, target mean hosts/OPT).
const SETS: [(&str, &str, f64); 2] = [
    ("class", "Panigrahy_summary_known.csv", 1.015),
    ("classC_|classF_", "Triplet_summary_known.csv", 1.15),
];

#[test]
fn subset_quality_within_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/vbp");
    let mut files: Vec<_> = std::fs::read_dir(dir.join("subset"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vbp"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 78);
    for (prefixes, csv, target) in SETS {
        let known = vbp::parse_summary(&std::fs::read_to_string(dir.join(csv)).unwrap()).unwrap();
        let mut tally = Tally::default();
        for f in &files {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            let in_set = if prefixes == "class" {
                !name.starts_with("classC_") && !name.starts_with("classF_")
            } else {
                prefixes.split('|').any(|p| name.starts_with(p))
            };
            if !in_set {
                continue;
            }
            let inst = vbp::parse(&name, &std::fs::read_to_string(f).unwrap()).unwrap();
            let bins = Packer::Trimline(BUDGET).pack(&inst).unwrap();
            vbp::check(&inst, &bins).unwrap();
            tally.add(&inst, &bins, known.get(&name));
        }
        let mean = tally.mean().unwrap();
        println!(
            "{csv}: {} instances, mean hosts/OPT {mean:.4}, worst {:?}",
            tally.with_opt, tally.worst
        );
        assert!(
            mean <= target,
            "{csv}: mean hosts/OPT {mean:.4} > target {target}"
        );
    }
}

/// The GPU-fleet generator at the default budget: every packing feasible,
/// the mean hosts over the volume lower bound within 3%, and never more
/// hosts than an online baseline on the same seed. The generator is hard
/// enough to show it: every baseline's mean is worse than trimline's.
#[test]
fn gpu_fleet_within_three_percent_of_the_volume_bound() {
    use trimline_bench::gpu::{gpu_fleet, volume_lower_bound};
    let seeds = 3u64;
    let mut sum = 0f64;
    let mut base_sums = [0f64; Packer::BASELINES.len()];
    for seed in 0..seeds {
        let inst = gpu_fleet(seed, 1_000);
        let lb = volume_lower_bound(&inst);
        let used = vbp::check(&inst, &Packer::Trimline(BUDGET).pack(&inst).unwrap()).unwrap();
        for (k, p) in Packer::BASELINES.iter().enumerate() {
            let base = vbp::check(&inst, &p.pack(&inst).unwrap()).unwrap();
            assert!(
                used <= base,
                "seed {seed}: {used} hosts, {} {base}",
                p.name()
            );
            base_sums[k] += base as f64 / lb as f64;
        }
        sum += used as f64 / lb as f64;
    }
    let mean = sum / seeds as f64;
    assert!(mean <= 1.03, "mean hosts/LB {mean:.4}");
    for (k, p) in Packer::BASELINES.iter().enumerate() {
        let base = base_sums[k] / seeds as f64;
        assert!(
            base > mean,
            "{} {base:.4} is no worse than trimline {mean:.4}",
            p.name()
        );
    }
}
