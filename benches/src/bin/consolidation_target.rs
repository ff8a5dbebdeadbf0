//! The consolidation target on the repack bench's fragmented region:
//! `plan_consolidation` should free at least 90% of the hosts that `pack`
//! from scratch (`plan_repack`) would free, moving at most twice the
//! instances the freed hosts hold.
//!
//! ```text
//! consolidation_target [HOSTS] [INSTANCES] [BUDGET]
//! ```
//!
//! Defaults: the repack bench's region (50,000 hosts, 150,000 instances,
//! seed 13) and `plan_repack`'s default budget. Prints both plans'
//! figures and the two ratios; exits 1 when the target is missed.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use trimline::pack::DEFAULT_BUDGET;
use trimline::repack::{ConsolidationOptions, RepackOptions};
use trimline_bench::fragmented_region;

fn main() -> ExitCode {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or(0))
        .collect();
    let hosts = args.first().copied().unwrap_or(50_000) as usize;
    let instances = args.get(1).copied().unwrap_or(150_000) as usize;
    let budget = args.get(2).copied().unwrap_or(DEFAULT_BUDGET);
    let s = fragmented_region(hosts, instances, 13);
    let t = std::time::Instant::now();
    let repack = s.plan_repack(&RepackOptions::with_budget(budget));
    let repack_secs = t.elapsed().as_secs_f64();
    let pack_freed = repack.hosts_before - repack.hosts_after;
    let t = std::time::Instant::now();
    let plan = s.plan_consolidation(&ConsolidationOptions::default());
    let plan_secs = t.elapsed().as_secs_f64();
    let held: usize = plan
        .freed
        .iter()
        .map(|&h| s.host(h).map_or(0, |v| v.instances.len()))
        .sum();
    let freed_share = plan.hosts_freed as f64 / pack_freed.max(1) as f64;
    let moves_per_held = plan.instances_moved as f64 / held.max(1) as f64;
    println!(
        "{instances} instances on {hosts} hosts ({} carrying instances)",
        repack.hosts_before
    );
    println!(
        "pack from scratch (budget {budget}): frees {pack_freed} hosts, {} moves, {repack_secs:.2} s",
        repack.moves.len()
    );
    println!(
        "plan_consolidation: frees {} hosts ({:.1}% of pack's), {} moves for {held} instances held ({moves_per_held:.2}x), cost saved {} nanos/s, {plan_secs:.2} s",
        plan.hosts_freed,
        100.0 * freed_share,
        plan.instances_moved,
        plan.cost_saved_nanos_per_second
    );
    let ok = freed_share >= 0.9 && moves_per_held <= 2.0;
    println!(
        "target (>= 90% of pack's hosts freed, <= 2x the instances they hold moved): {}",
        if ok { "met" } else { "missed" }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
