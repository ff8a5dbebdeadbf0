//! Evacuating a lost zone of 50,000 instances: one `zone_down` plan that
//! re-places them all on the two surviving zones.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use trimline::{
    AppSpec, Arch, HostId, HostSpec, Resources, Scheduler, SkuSpec, Timestamp, ZoneId, ZoneState,
};

const ZONES: [&str; 3] = ["a", "b", "c"];

/// Three zones of 5,000 16-vCPU hosts; 100 apps with max_skew 1, 1,500
/// instances of 1 vCPU each: 50,000 instances per zone.
fn world() -> Scheduler {
    let mut s = Scheduler::default();
    for z in ZONES {
        s.add_zone(z.parse().unwrap(), ZoneState::Up, s.now())
            .unwrap();
    }
    s.add_sku(
        SkuSpec {
            id: "g7.4x".parse().unwrap(),
            family: "g7".parse().unwrap(),
            generation: 7,
            arch: Arch::X86_64,
            cpu_vendor: "intel".parse().unwrap(),
            allocatable: Resources::cpu_mem(16_000, 65_536).unwrap(),
            perf_score: 100,
            numa_nodes: vec![],
            features: Default::default(),
            accelerator_model: None,
            local_disk: None,
            price_nanos_per_second: 1_000,
        },
        s.now(),
    )
    .unwrap();
    let mut id = 1;
    for z in ZONES {
        for _ in 0..5_000 {
            let _ = s
                .add_host(
                    HostSpec {
                        id: HostId(id),
                        sku: "g7.4x".parse().unwrap(),
                        zone: z.parse().unwrap(),
                    },
                    Timestamp(0),
                )
                .unwrap();
            id += 1;
        }
    }
    for a in 0..100 {
        let name = format!("app{a}").parse().unwrap();
        let mut spec = AppSpec::new(
            name,
            "t".parse().unwrap(),
            Resources::cpu_mem(1_000, 2_048).unwrap(),
        );
        spec.spread.max_skew = Some(1);
        spec.priority = a % 7;
        let id = spec.id.clone();
        s.add_app(spec, s.now()).unwrap();
        let _ = s.scale(&id, 1_500, Timestamp(1)).unwrap();
    }
    s
}

fn evacuation(c: &mut Criterion) {
    let base = world();
    let b: ZoneId = "b".parse().unwrap();
    let mut group = c.benchmark_group("zone_down");
    group.sample_size(10);
    group.bench_function("50000_instances", |bench| {
        bench.iter_batched(
            || base.clone(),
            |mut s| {
                let d = s.zone_down(&b, Timestamp(2)).unwrap();
                assert_eq!(d.placements.len(), 50_000);
                s
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("survive_zone_loss", |bench| {
        bench.iter(|| base.survive_zone_loss())
    });
    group.finish();
}

criterion_group!(benches, evacuation);
criterion_main!(benches);
