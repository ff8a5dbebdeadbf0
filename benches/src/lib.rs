//! Benchmarks and quality harnesses for trimline: seeded, realistic
//! workloads shared by the criterion benches in `benches/` and the harness
//! binaries in `src/bin/`.

pub mod gpu;
pub mod metering;
pub mod vbp;

use std::collections::BTreeSet;

use trimline::{
    AppId, AppSpec, Arch, HostId, HostSpec, Label, QosTier, Resources, Scheduler, SkuId, SkuSpec,
    Timestamp, ZoneId, ZoneState,
};

/// A small deterministic generator (SplitMix64), so workloads are seeded and
/// need no dependency.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

fn name<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    // Names in this file are literals known to be valid.
    #[allow(clippy::unwrap_used)]
    s.parse().unwrap()
}

/// The SKUs of the benchmark region: (name, vCPU, GiB, NUMA nodes, GPUs).
pub const SKUS: [(&str, u64, u64, usize, u64); 5] = [
    ("ecs.g7.4xlarge", 16, 64, 1, 0),
    ("ecs.c7.8xlarge", 32, 64, 1, 0),
    ("ecs.r7.4xlarge", 16, 128, 1, 0),
    ("ecs.g8i.16xlarge", 64, 256, 2, 0),
    ("ecs.gn7i.8xlarge", 32, 128, 1, 4),
];

/// Zones of the benchmark region.
pub const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

/// A region with `hosts` hosts spread over the SKUs and zones, and `apps`
/// apps with shapes of 0.25 to 64 vCPU, 1 to 8 GiB per vCPU, one in ten
/// using a GPU, one in seven best effort, all spread over the zones with a
/// maximum skew of 1. Seeded.
pub fn region(hosts: usize, apps: usize, seed: u64) -> (Scheduler, Vec<AppId>) {
    let mut s = Scheduler::default();
    for z in ZONES {
        // Fresh scheduler, distinct names: cannot fail.
        #[allow(clippy::unwrap_used)]
        s.add_zone(name::<ZoneId>(z), ZoneState::Up, s.now())
            .unwrap();
    }
    for (id, vcpu, gib, numa, gpus) in SKUS {
        let alloc = |n: u64| {
            #[allow(clippy::unwrap_used)]
            // Within Dimension::max for these constants.
            Resources::new(vcpu * 1000 / n, gib * 1024 / n, 25_000 / n, gpus / n).unwrap()
        };
        let spec = SkuSpec {
            id: name::<SkuId>(id),
            family: name::<Label>(id.split('.').nth(1).unwrap_or("x")),
            generation: 7,
            arch: Arch::X86_64,
            cpu_vendor: name::<Label>("intel"),
            allocatable: alloc(1),
            perf_score: 100,
            numa_nodes: (0..numa).map(|_| alloc(numa as u64)).collect(),
            features: if gpus > 0 {
                BTreeSet::from([name::<Label>("gpu:a10")])
            } else {
                BTreeSet::new()
            },
            accelerator_model: (gpus > 0).then(|| name::<Label>("a10")),
            local_disk: None,
            price_nanos_per_second: vcpu * 10_000,
        };
        #[allow(clippy::unwrap_used)]
        s.add_sku(spec, s.now()).unwrap();
    }
    for h in 0..hosts {
        // GPU hosts are one in ten; the rest cycle through the others.
        let sku = if h % 10 == 9 { 4 } else { h % 4 };
        let spec = HostSpec {
            id: HostId(h as u64 + 1),
            sku: name::<SkuId>(SKUS[sku].0),
            zone: name::<ZoneId>(ZONES[(h / 4) % ZONES.len()]),
        };
        #[allow(clippy::unwrap_used)]
        let _ = s.add_host(spec, Timestamp(0)).unwrap();
    }
    let mut rng = SplitMix::new(seed);
    let shapes = [250u64, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000];
    let mut ids = Vec::new();
    for a in 0..apps {
        // Mostly small instances, a few large ones.
        let cpu = shapes[(rng.below(shapes.len() as u64) * rng.below(shapes.len() as u64)
            / shapes.len() as u64) as usize];
        let gib_per_vcpu = 1 + rng.below(8);
        let mem = (cpu * gib_per_vcpu * 1024 / 1000).max(256);
        let gpu = a % 10 == 9;
        let res = if gpu {
            #[allow(clippy::unwrap_used)]
            Resources::new(8000, 32_768, 1_000, 1).unwrap()
        } else {
            #[allow(clippy::unwrap_used)]
            Resources::new(cpu, mem.min(200 * 1024), 100, 0).unwrap()
        };
        let id = name::<AppId>(&format!("app-{a}"));
        let mut spec = AppSpec::new(id.clone(), name("tenant"), res);
        if gpu {
            spec.features.insert(name::<Label>("gpu:a10"));
        }
        if a % 7 == 6 {
            spec.qos = QosTier::BestEffort;
        }
        // Spread on: every app keeps its zones within one instance of each
        // other (a hard limit, like kube's DoNotSchedule topology spread).
        spec.spread.max_skew = Some(1);
        #[allow(clippy::unwrap_used)]
        s.add_app(spec, s.now()).unwrap();
        ids.push(id);
    }
    (s, ids)
}

/// A [`region`] of `hosts` hosts (60 apps) where 1.5 x `instances` were
/// placed from a seeded stream, then everything pending and, at random,
/// placed instances removed until `instances` stay: a fragmented region to
/// repack.
pub fn fragmented_region(hosts: usize, instances: usize, seed: u64) -> Scheduler {
    let (mut s, apps) = region(hosts, 60, 7);
    let mut rng = SplitMix::new(seed);
    let mut placed = 0;
    for _ in 0..instances * 4 {
        if placed >= instances + instances / 2 {
            break;
        }
        let a = rng.below(apps.len() as u64) as usize;
        // Apps exist and time stands still: a place call cannot fail.
        #[allow(clippy::unwrap_used)]
        let d = s.place(&apps[a], Timestamp(1)).unwrap();
        placed += d.placements.len();
    }
    let remove = |s: &mut Scheduler, id| {
        // The id was just listed by the scheduler.
        #[allow(clippy::unwrap_used)]
        let _ = s.remove_instance(id, Timestamp(2)).unwrap();
    };
    for id in s.pending() {
        remove(&mut s, id);
    }
    let hosts: Vec<HostId> = s.host_ids().collect();
    let mut ids: Vec<_> = hosts
        .iter()
        .filter_map(|h| s.host(*h))
        .flat_map(|h| h.instances)
        .collect();
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    while s.instance_count() > instances {
        let Some(id) = ids.pop() else { break };
        remove(&mut s, id);
    }
    s
}
