//! Repacking from scratch: `plan_repack` over 150,000 instances on 50,000
//! hosts (5 SKUs, 3 zones) fragmented by removals, with a work budget of 0:
//! the engine's best greedy packing, without the improvement phase that
//! `RepackOptions::default()` runs (`--bin profile_repack -- 50000 150000
//! 2000000` times the default budget).
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trimline::repack::RepackOptions;
use trimline_bench::fragmented_region;

fn repack(c: &mut Criterion) {
    let s = fragmented_region(50_000, 150_000, 13);
    assert_eq!(s.instance_count(), 150_000);
    let options = RepackOptions::with_budget(0);
    let plan = s.plan_repack(&options);
    eprintln!(
        "repack of 150,000 instances, budget 0 (greedy only): {} hosts -> {} ({} moves, {} work units)",
        plan.hosts_before,
        plan.hosts_after,
        plan.moves.len(),
        plan.work
    );
    let mut group = c.benchmark_group("repack");
    group.sample_size(10);
    group.throughput(Throughput::Elements(150_000));
    group.bench_function("150k_instances", |b| b.iter(|| s.plan_repack(&options)));
    group.finish();
}

criterion_group!(benches, repack);
criterion_main!(benches);
