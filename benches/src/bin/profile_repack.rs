//! Plans a repack of a fragmented region, for profiling and quick checks:
//! `cargo run --release -p trimline-bench --bin profile_repack -- [HOSTS] [INSTANCES] [BUDGET]`.
//! Places 1.5 x INSTANCES, removes at random down to INSTANCES, then
//! prints the plan's figures and the best of three planning times.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use trimline::repack::RepackOptions;
use trimline_bench::fragmented_region;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or(0))
        .collect();
    let hosts = args.first().copied().unwrap_or(50_000) as usize;
    let instances = args.get(1).copied().unwrap_or(150_000) as usize;
    let budget = args.get(2).copied().unwrap_or(0);
    let s = fragmented_region(hosts, instances, 13);
    let options = RepackOptions::with_budget(budget);
    let mut best = f64::INFINITY;
    let mut plan = None;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        plan = Some(s.plan_repack(&options));
        best = best.min(start.elapsed().as_secs_f64());
    }
    let plan = plan.unwrap();
    println!(
        "{instances} instances on {hosts} hosts: {} hosts -> {} ({} moves, {} work units), {:.3} s (best of 3)",
        plan.hosts_before,
        plan.hosts_after,
        plan.moves.len(),
        plan.work,
        best
    );
}
