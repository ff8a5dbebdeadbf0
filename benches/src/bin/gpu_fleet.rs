//! Packing quality on the GPU-fleet generator: hosts used against the
//! volume lower bound, for trimline and the online baselines.
//!
//! ```text
//! gpu_fleet [--budget N] [--items N] [--seeds N]
//! ```
//!
//! Prints one row per seed (`seed items LB trimline ratio` and each
//! baseline), then the mean ratio per packer. Every packing is checked;
//! the exit code is 1 when one is not feasible.

use std::process::ExitCode;

use trimline::pack::DEFAULT_BUDGET;
use trimline_bench::gpu::{gpu_fleet, volume_lower_bound};
use trimline_bench::vbp::{self, Packer};

fn main() -> ExitCode {
    let mut budget = DEFAULT_BUDGET;
    let mut items = 1_000usize;
    let mut seeds = 5u64;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().and_then(|v| v.parse::<u64>().ok());
        match (a.as_str(), v) {
            ("--budget", Some(v)) => budget = v,
            ("--items", Some(v)) => items = v as usize,
            ("--seeds", Some(v)) => seeds = v,
            _ => {
                eprintln!("usage: gpu_fleet [--budget N] [--items N] [--seeds N]");
                return ExitCode::from(2);
            }
        }
    }
    let mut packers = vec![Packer::Trimline(budget)];
    packers.extend(Packer::BASELINES);
    print!("{:>5} {:>6} {:>4}", "seed", "items", "LB");
    for p in &packers {
        print!(" {:>22}", p.name());
    }
    println!();
    let mut sums = vec![0f64; packers.len()];
    let mut ok = true;
    for seed in 0..seeds {
        let inst = gpu_fleet(seed, items);
        let lb = volume_lower_bound(&inst);
        print!("{seed:>5} {items:>6} {lb:>4}");
        for (k, p) in packers.iter().enumerate() {
            let used = p.pack(&inst).and_then(|bins| vbp::check(&inst, &bins));
            match used {
                Ok(u) => {
                    let ratio = u as f64 / lb.max(1) as f64;
                    sums[k] += ratio;
                    print!(" {:>14} ({ratio:.3})", u);
                }
                Err(e) => {
                    eprintln!("INFEASIBLE ({}): {e}", p.name());
                    ok = false;
                }
            }
        }
        println!();
    }
    print!("{:>16}", "mean hosts/LB");
    for s in &sums {
        print!(" {:>22.3}", s / seeds.max(1) as f64);
    }
    println!();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
