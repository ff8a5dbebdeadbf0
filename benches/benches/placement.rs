//! Placement speed at 1,000, 10,000 and 100,000 hosts: throughput on a
//! stream of mixed instances, the latency of one placement into a region a
//! third full, and the scale-out of one app by 10,000 instances.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use trimline::{AppSpec, Resources, Timestamp};
use trimline_bench::{SplitMix, region};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// A seeded stream of app indices: two placements per host, which fills
/// about a third of the region.
fn stream(hosts: usize, apps: usize) -> Vec<usize> {
    let mut rng = SplitMix::new(11);
    (0..hosts * 2)
        .map(|_| rng.below(apps as u64) as usize)
        .collect()
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("place_stream");
    group.sample_size(10);
    for hosts in SIZES {
        let (base, apps) = region(hosts, 60, 7);
        let stream = stream(hosts, apps.len());
        group.throughput(Throughput::Elements(stream.len() as u64));
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

fn latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("place_latency");
    for hosts in SIZES {
        let (mut s, apps) = region(hosts, 60, 7);
        for &a in &stream(hosts, apps.len()) {
            let _ = s.place(&apps[a], Timestamp(1)).unwrap();
        }
        let mut rng = SplitMix::new(5);
        // One placement, timed; then its removal, untimed, so the region
        // stays a third full.
        group.bench_function(format!("{hosts}_hosts"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let app = &apps[rng.below(apps.len() as u64) as usize];
                    let start = Instant::now();
                    let d = s.place(app, Timestamp(1)).unwrap();
                    total += start.elapsed();
                    for p in d.placements.iter().map(|p| p.instance) {
                        let _ = s.remove_instance(p, Timestamp(1)).unwrap();
                    }
                    for p in d.pending.iter().map(|p| p.instance) {
                        let _ = s.remove_instance(p, Timestamp(1)).unwrap();
                    }
                }
                total
            })
        });
    }
    group.finish();
}

fn scale_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale_out_10k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    for hosts in SIZES {
        let (mut base, apps) = region(hosts, 60, 7);
        for &a in &stream(hosts, apps.len()) {
            let _ = base.place(&apps[a], Timestamp(1)).unwrap();
        }
        // A 1 vCPU / 2 GiB web app spread over the three zones.
        let mut web = AppSpec::new(
            "web".parse().unwrap(),
            "shop".parse().unwrap(),
            Resources::cpu_mem(1_000, 2_048).unwrap(),
        );
        web.spread.max_skew = Some(1);
        let id = web.id.clone();
        base.add_app(web, base.now()).unwrap();
        let _ = base.scale(&id, 100, Timestamp(1)).unwrap();
        group.bench_function(format!("{hosts}_hosts"), |b| {
            b.iter_batched(
                || base.clone(),
                |mut s| {
                    let d = s.scale(&id, 10_100, Timestamp(2)).unwrap();
                    assert_eq!(d.placements.len() + d.tentative.len(), 10_000);
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, throughput, latency, scale_out);
criterion_main!(benches);
