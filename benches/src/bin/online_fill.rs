//! How full online placement packs the benchmark region, per
//! `Config::candidates_per_class`:
//! `cargo run --release -p trimline-bench --bin online_fill -- [HOSTS] [K...]`.
//!
//! For each K and three seeded streams of the placement benches' mixed
//! instances, places one instance at a time until 200 calls in a row find
//! no room (each failed instance is removed again), then prints how many
//! instances were placed and the share of the region's capacity allocated
//! per dimension. Deterministic: the same arguments print the same lines.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use trimline::{Scheduler, Snapshot, Timestamp};
use trimline_bench::{SplitMix, region};

/// Failed calls in a row that end a fill.
const GIVE_UP: usize = 200;

fn main() {
    let args: Vec<u64> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("usage: online_fill [HOSTS] [CANDIDATES_PER_CLASS...] (whole numbers): {e}");
            std::process::exit(2);
        }
    };
    let hosts = args.first().copied().unwrap_or(1_000) as usize;
    let ks: Vec<u32> = match args.get(1..) {
        Some(ks) if !ks.is_empty() => ks.iter().map(|&k| k as u32).collect(),
        _ => vec![1, 2, 4, 8],
    };
    println!("hosts candidates_per_class seed placed cpu memory network accelerators");
    for k in ks {
        let mut total = 0usize;
        for seed in [11u64, 12, 13] {
            let (s, apps) = region(hosts, 60, 7);
            let mut config = s.config().clone();
            config.candidates_per_class = k;
            let mut s = Scheduler::restore(Snapshot {
                config,
                ..s.snapshot()
            })
            .unwrap();
            let mut rng = SplitMix::new(seed);
            let (mut placed, mut failed) = (0usize, 0usize);
            while failed < GIVE_UP {
                let app = &apps[rng.below(apps.len() as u64) as usize];
                let d = s.place(app, Timestamp(1)).unwrap();
                if d.placements.is_empty() {
                    failed += 1;
                    for p in d.pending {
                        let _ = s.remove_instance(p.instance, Timestamp(1)).unwrap();
                    }
                } else {
                    failed = 0;
                    placed += d.placements.len();
                }
            }
            total += placed;
            let (mut cap, mut free) = ([0u64; 4], [0u64; 4]);
            for h in s.host_ids().collect::<Vec<_>>() {
                let v = s.host(h).unwrap();
                for d in 0..4 {
                    cap[d] += u64::from(v.capacity.as_array()[d]);
                    free[d] += u64::from(v.free.as_array()[d]);
                }
            }
            let share: Vec<String> = (0..4)
                .map(|d| format!("{:.4}", 1.0 - free[d] as f64 / cap[d].max(1) as f64))
                .collect();
            println!("{hosts} {k} {seed} {placed} {}", share.join(" "));
        }
        println!("{hosts} {k} total {total}");
    }
}
