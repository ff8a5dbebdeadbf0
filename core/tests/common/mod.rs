//! A small simulation harness for the integration tests: builds regions and
//! steps virtual time, in the spirit of quinn's `tests/util.rs`.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::collections::BTreeSet;

use trimline::*;

/// A SKU with one NUMA node (or `numa` equal nodes), x86_64, no features.
pub fn sku(name: &str, cpu_millis: u64, memory_mib: u64) -> SkuSpec {
    SkuSpec {
        id: name.parse().unwrap(),
        family: name.split('.').next().unwrap().parse().unwrap(),
        generation: 7,
        arch: Arch::X86_64,
        cpu_vendor: "intel".parse().unwrap(),
        allocatable: Resources::new(cpu_millis, memory_mib, 10_000, 0).unwrap(),
        perf_score: 100,
        numa_nodes: vec![],
        features: BTreeSet::new(),
        accelerator_model: None,
        local_disk: None,
        price_nanos_per_second: 1_000,
    }
}

/// Split a SKU's capacity evenly over `nodes` NUMA nodes.
pub fn with_numa(mut spec: SkuSpec, nodes: u32) -> SkuSpec {
    let a = spec.allocatable.as_array();
    let n = u64::from(nodes);
    let share = |d: usize| u64::from(a[d]) / n;
    for v in a {
        assert_eq!(u64::from(v) % n, 0, "capacity must split evenly");
    }
    spec.numa_nodes =
        vec![Resources::new(share(0), share(1), share(2), share(3)).unwrap(); nodes as usize];
    spec
}

/// A rigid app in tenant `t`.
pub fn app(name: &str, cpu_millis: u64, memory_mib: u64) -> AppSpec {
    AppSpec::new(
        name.parse().unwrap(),
        "t".parse().unwrap(),
        Resources::cpu_mem(cpu_millis, memory_mib).unwrap(),
    )
}

pub fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

/// The scheduler plus a virtual clock that only moves forward.
pub struct Sim {
    pub s: Scheduler,
    pub now: Timestamp,
    next_host: u64,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    pub fn new() -> Sim {
        Sim {
            s: Scheduler::default(),
            now: Timestamp(0),
            next_host: 1,
        }
    }

    /// Advance the clock by `ms` and return the new time.
    pub fn tick(&mut self, ms: u64) -> Timestamp {
        self.now = Timestamp(self.now.0 + ms);
        self.now
    }

    pub fn zones(&mut self, names: &[&str]) {
        for z in names {
            self.s.add_zone(id(z), ZoneState::Up).unwrap();
        }
    }

    pub fn sku(&mut self, spec: SkuSpec) {
        self.s.add_sku(spec).unwrap();
    }

    /// Add `n` hosts of `sku` in `zone`; returns their ids. Panics if adding
    /// them placed pending instances (use `add_hosts_with` for that).
    pub fn hosts(&mut self, sku: &str, zone: &str, n: usize) -> Vec<HostId> {
        let (ids, d) = self.add_hosts_with(sku, zone, n);
        assert!(d.is_empty(), "adding hosts decided {d:?}");
        ids
    }

    pub fn add_hosts_with(&mut self, sku: &str, zone: &str, n: usize) -> (Vec<HostId>, Decisions) {
        let mut all = Decisions::default();
        let mut ids = vec![];
        for _ in 0..n {
            let hid = HostId(self.next_host);
            self.next_host += 1;
            let now = self.tick(1);
            let d = self
                .s
                .add_host(
                    HostSpec {
                        id: hid,
                        sku: id(sku),
                        zone: id(zone),
                    },
                    now,
                )
                .unwrap();
            all.placements.extend(d.placements);
            all.evictions.extend(d.evictions);
            all.pending.extend(d.pending);
            all.removals.extend(d.removals);
            ids.push(hid);
        }
        (ids, all)
    }

    pub fn app(&mut self, spec: AppSpec) {
        self.s.add_app(spec).unwrap();
    }

    pub fn scale(&mut self, app: &str, n: u32) -> Decisions {
        let now = self.tick(1000);
        let d = self.s.scale(&id(app), n, now).unwrap();
        self.s.check_invariants().unwrap();
        d
    }

    pub fn reconcile(&mut self) -> Decisions {
        let now = self.tick(1000);
        let d = self.s.reconcile(now).unwrap();
        self.s.check_invariants().unwrap();
        d
    }

    /// Serialized state, for byte comparisons.
    pub fn state(&self) -> String {
        serde_json::to_string(&self.s.snapshot()).unwrap()
    }

    /// Placed instances of an app per zone name.
    pub fn per_zone(&self, app: &str) -> Vec<(String, u32)> {
        self.s
            .app_zone_counts(&id(app))
            .into_iter()
            .map(|(z, c)| (z.to_string(), c))
            .collect()
    }

    /// Sum of a dimension held by rigid instances on every node of every host,
    /// with the capacity: (allocated, capacity).
    pub fn rigid_vs_capacity(&self, dim: Dimension) -> (u64, u64) {
        let mut a = 0;
        let mut c = 0;
        for h in self.s.host_ids() {
            let v = self.s.host(h).unwrap();
            for n in &v.nodes {
                a += u64::from(n.rigid.get(dim));
                c += u64::from(n.capacity.get(dim));
            }
        }
        (a, c)
    }
}
