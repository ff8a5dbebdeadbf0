//! How full online placement packs the benchmark region, per
//! `Config::classes_per_zone` and `Config::candidates_per_class`:
//! `cargo run --release -p trimline-bench --bin online_fill -- [HOSTS] [C:K...]`,
//! where each `C:K` is a pair of values (default `1:2 0:2`: the defaults,
//! then every class of a zone).
//!
//! For each pair and three seeded streams of the placement benches' mixed
//! instances, places one instance at a time until 200 calls in a row find
//! no room (each failed instance is removed again), then prints how many
//! instances were placed and the share of the region's capacity allocated
//! per dimension. Deterministic: the same arguments print the same lines.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use trimline::{Scheduler, Snapshot, Timestamp};
use trimline_bench::{SplitMix, region};

/// Failed calls in a row that end a fill.
const GIVE_UP: usize = 200;

/// A `C:K` argument.
fn pair(arg: &str) -> Option<(u32, u32)> {
    let (c, k) = arg.split_once(':')?;
    Some((c.parse().ok()?, k.parse().ok()?))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!(
            "usage: online_fill [HOSTS] [CLASSES_PER_ZONE:CANDIDATES_PER_CLASS...] (whole numbers)"
        );
        std::process::exit(2);
    };
    let hosts = match args.first().map(|a| a.parse::<usize>()) {
        None => 1_000,
        Some(Ok(h)) => h,
        Some(Err(_)) => usage(),
    };
    let pairs: Vec<(u32, u32)> = match args.get(1..) {
        Some(rest) if !rest.is_empty() => rest
            .iter()
            .map(|a| pair(a).unwrap_or_else(|| usage()))
            .collect(),
        _ => vec![(1, 2), (0, 2)],
    };
    println!(
        "hosts classes_per_zone candidates_per_class seed placed cpu memory network accelerators"
    );
    for (c, k) in pairs {
        let mut total = 0usize;
        for seed in [11u64, 12, 13] {
            let (s, apps) = region(hosts, 60, 7);
            let mut config = s.config().clone();
            config.classes_per_zone = c;
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
            println!("{hosts} {c} {k} {seed} {placed} {}", share.join(" "));
        }
        println!("{hosts} {c} {k} total {total}");
    }
}
