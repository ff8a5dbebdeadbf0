//! Metering speed: ingest of seeded event streams (steady state, all
//! brand-new instances, a mix of both) with `Meter::ingest_batch`, `BATCH`
//! events a call, as an embedder reads its event log; and closing a period
//! of 1,000,000 instance-periods into usage records and invoices.
//! (`meter_memory run MIX` times one pass one by one and one in batches.)
//!
//! Targets (issue "benchmarks"): ingest at least 2,000,000 events/s on one
//! core; the invoice for 1,000,000 instance-periods in under a second.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use trimline_bench::metering::{BATCH, MeterLoad, Mix};

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("meter_ingest");
    group.sample_size(10);
    for (label, mix) in [
        ("warm", Mix::warm()),
        ("cold", Mix::cold()),
        ("mixed", Mix::mixed()),
    ] {
        let load = MeterLoad::generate(&mix, 5);
        let base = load.meter();
        group.throughput(Throughput::Elements(load.stream.len() as u64));
        group.bench_function(label, |b| {
            b.iter_batched(
                || base.clone(),
                |mut m| {
                    let applied = load.ingest_batches(&mut m, BATCH);
                    // Checked in every profile (the bench profile compiles
                    // debug assertions out): one comparison per pass.
                    assert_eq!(applied, load.stream.len());
                    m
                },
                BatchSize::LargeInput,
            )
        });
        if label == "cold" {
            // The same, with the maps sized ahead by `Meter::reserve`.
            group.bench_function("cold_reserved", |b| {
                b.iter_batched(
                    || {
                        let mut m = base.clone();
                        // Derived ids need no room in the id table.
                        m.reserve(mix.churn, 0);
                        m
                    },
                    |mut m| {
                        let _ = load.ingest_batches(&mut m, BATCH);
                        m
                    },
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

fn close(c: &mut Criterion) {
    let mut group = c.benchmark_group("meter_close");
    group.sample_size(10);
    let load = MeterLoad::generate(&Mix::close_million(), 9);
    let mut full = load.meter();
    let _ = load.ingest(&mut full);
    group.throughput(Throughput::Elements(full.tracked_instances() as u64));
    group.bench_function("1m_instance_periods", |b| {
        b.iter_batched(
            || full.clone(),
            |mut m| {
                let report = m.close_period(load.end, load.end).unwrap();
                (m, report)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, ingest, close);
criterion_main!(benches);
