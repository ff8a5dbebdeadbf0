//! Placement speed at 1,000, 10,000 and 100,000 hosts.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use trimline::Timestamp;
use trimline_bench::{SplitMix, region};

fn placement(c: &mut Criterion) {
    let mut group = c.benchmark_group("place_stream");
    group.sample_size(10);
    for hosts in [1_000usize, 10_000, 100_000] {
        let (base, apps) = region(hosts, 60, 7);
        // A stream of mixed single-instance placements filling about a
        // third of the region.
        let n = hosts * 2;
        let mut rng = SplitMix::new(11);
        let stream: Vec<usize> = (0..n)
            .map(|_| rng.below(apps.len() as u64) as usize)
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{hosts}_hosts"), |b| {
            b.iter_batched(
                || base.clone(),
                |mut s| {
                    for &a in &stream {
                        let _ = s.place(&apps[a], Timestamp(1)).unwrap();
                    }
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, placement);
criterion_main!(benches);
