//! Places a seeded stream of mixed instances into a region, for profiling
//! and quick comparisons:
//! `cargo run --release -p trimline-bench --bin profile_place -- [HOSTS] [PLACEMENTS] [CANDIDATES_PER_CLASS]`.
//! Prints the best of five runs on copies of the same region.
//! `TRIMLINE_AUDIT_CAPACITY` bounds the audit log (0 turns it off; by
//! default it stays at the scheduler's default bound).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use trimline::{Scheduler, Snapshot, Timestamp};
use trimline_bench::{SplitMix, region};

fn main() {
    let args: Vec<u64> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) => v,
        Err(e) => {
            eprintln!(
                "usage: profile_place [HOSTS] [PLACEMENTS] [CANDIDATES_PER_CLASS] (whole numbers): {e}"
            );
            std::process::exit(2);
        }
    };
    let hosts = args.first().copied().unwrap_or(10_000) as usize;
    let n = args.get(1).copied().unwrap_or(20_000) as usize;
    let (s, apps) = region(hosts, 60, 7);
    let mut config = s.config().clone();
    if let Some(k) = args.get(2) {
        config.candidates_per_class = *k as u32;
    }
    let mut base = Scheduler::restore(Snapshot {
        config,
        ..s.snapshot()
    })
    .unwrap();
    if let Some(cap) = std::env::var("TRIMLINE_AUDIT_CAPACITY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        base.set_audit_capacity(cap);
    }
    let mut rng = SplitMix::new(11);
    let stream: Vec<usize> = (0..n)
        .map(|_| rng.below(apps.len() as u64) as usize)
        .collect();
    let mut best = f64::INFINITY;
    let mut placed = 0usize;
    for _ in 0..5 {
        let mut s = base.clone();
        let start = std::time::Instant::now();
        placed = 0;
        for &a in &stream {
            placed += s.place(&apps[a], Timestamp(1)).unwrap().placements.len();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{hosts} hosts: {n} calls, {placed} placed, {:.0} placements/s (best of 5)",
        n as f64 / best
    );
}
