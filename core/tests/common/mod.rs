//! A small simulation harness for the integration tests: builds regions and
//! steps virtual time, in the spirit of quinn's `tests/util.rs`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::collections::BTreeSet;

use trimline::*;

/// Proptest's default configuration, which `PROPTEST_CASES` sets (256
/// cases when unset), with the case count scaled to `per_256` per 256: a
/// property that takes `cases(64)` runs 64 cases by default and ten times
/// as many under `PROPTEST_CASES=2560`.
pub fn cases(per_256: u32) -> proptest::test_runner::Config {
    let default = proptest::test_runner::Config::default();
    let cases = u64::from(default.cases) * u64::from(per_256) / 256;
    proptest::test_runner::Config {
        cases: u32::try_from(cases).unwrap_or(u32::MAX).max(1),
        ..default
    }
}

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
            self.s.add_zone(id(z), ZoneState::Up, self.s.now()).unwrap();
        }
    }

    pub fn sku(&mut self, spec: SkuSpec) {
        self.s.add_sku(spec, self.s.now()).unwrap();
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
        self.s.add_app(spec, self.s.now()).unwrap();
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

// ----- helpers added for operations.rs and scenarios.rs ---------------------

/// A SKU with accelerators (`model` must be set when `accelerators > 0`).
pub fn sku_full(
    name: &str,
    cpu_millis: u64,
    memory_mib: u64,
    network_mbps: u64,
    accelerators: u64,
) -> SkuSpec {
    let mut spec = sku(name, cpu_millis, memory_mib);
    spec.allocatable = Resources::new(cpu_millis, memory_mib, network_mbps, accelerators).unwrap();
    spec.accelerator_model = (accelerators > 0).then(|| "a10".parse().unwrap());
    spec
}

/// The same app, best effort.
pub fn best_effort(mut spec: AppSpec) -> AppSpec {
    spec.qos = QosTier::BestEffort;
    spec
}

/// A host spec.
pub fn host_spec(host: u64, sku: &str, zone: &str) -> HostSpec {
    HostSpec {
        id: HostId(host),
        sku: id(sku),
        zone: id(zone),
    }
}

/// Serialized snapshot, for byte comparisons of a bare scheduler.
pub fn json(s: &Scheduler) -> String {
    serde_json::to_string(&s.snapshot()).unwrap()
}

/// The explanation of a `NoFit` reason; panics on any other reason.
pub fn no_fit(reason: &PendingReason) -> &Explanation {
    match reason {
        PendingReason::NoFit(e) => e,
        other => panic!("expected a NoFit reason, got {other:?}"),
    }
}

/// Every host is counted exactly once in an explanation of a "no".
pub fn assert_each_host_counted_once(e: &Explanation) {
    let sum: u32 = e.ruled_out.iter().map(|r| r.hosts).sum();
    assert_eq!(sum, e.hosts, "counts do not add up to the hosts: {e}");
}

/// Sum of an instance's parts.
pub fn total(parts: &[(u8, Resources)]) -> Resources {
    parts
        .iter()
        .fold(Resources::ZERO, |a, (_, r)| a.checked_add(r).unwrap())
}

/// Where a placed instance is: its running host and parts. Panics if
/// pending or tentative.
pub fn placed(s: &Scheduler, i: InstanceId) -> (HostId, Vec<(u8, Resources)>) {
    match s.instance(i).unwrap().status {
        InstanceStatus::Placed { host, parts } => (host, parts),
        other => panic!("{i} is not placed: {other:?}"),
    }
}

/// Why a pending instance is pending. Panics if placed.
pub fn pending_reason(s: &Scheduler, i: InstanceId) -> PendingReason {
    match s.instance(i).unwrap().status {
        InstanceStatus::Pending { reason, .. } => reason,
        other => panic!("{i} is not pending: {other:?}"),
    }
}

/// The rigid guarantee, checked from the outside: recompute every node's
/// rigid and best-effort usage from the instance views, compare it with the
/// host views, and check rigid + best effort <= capacity in every dimension
/// on every node of every host. Also runs `check_invariants`.
pub fn assert_no_overcommit(s: &Scheduler) {
    use std::collections::BTreeMap;
    let mut used: BTreeMap<(HostId, u8), (Resources, Resources)> = BTreeMap::new();
    for spec in s.apps() {
        let rigid = spec.qos == QosTier::Rigid;
        for i in s.app_instances(&spec.id) {
            if let InstanceStatus::Placed { host, parts }
            | InstanceStatus::Tentative {
                planned_host: host,
                parts,
            } = s.instance(i).unwrap().status
            {
                assert_eq!(
                    total(&parts),
                    spec.resources,
                    "{i} holds a different amount"
                );
                for (n, r) in parts {
                    let e = used.entry((host, n)).or_default();
                    let slot = if rigid { &mut e.0 } else { &mut e.1 };
                    *slot = slot.checked_add(&r).unwrap();
                }
            }
        }
    }
    for h in s.host_ids() {
        let v = s.host(h).unwrap();
        let mut caps = Resources::ZERO;
        for (n, node) in v.nodes.iter().enumerate() {
            let (rigid, be) = used
                .get(&(h, u8::try_from(n).unwrap()))
                .copied()
                .unwrap_or_default();
            assert_eq!((node.rigid, node.best_effort), (rigid, be), "{h} node {n}");
            let held = rigid.checked_add(&be).unwrap();
            assert!(
                held.fits_in(&node.capacity),
                "{h} node {n} overcommitted: {held} > {}",
                node.capacity
            );
            assert_eq!(node.capacity.checked_sub(&held).unwrap(), node.free);
            caps = caps.checked_add(&node.capacity).unwrap();
        }
        assert_eq!(caps, v.capacity, "{h}: nodes do not add up to the host");
    }
    s.check_invariants().unwrap();
}

/// Run a call that must be refused; check that the serialized state did not
/// change, and return the error.
pub fn refused<T: std::fmt::Debug>(
    s: &mut Scheduler,
    f: impl FnOnce(&mut Scheduler) -> Result<T, Error>,
) -> Error {
    let before = json(s);
    let err = f(s).expect_err("the call should have been refused");
    assert_eq!(json(s), before, "a refused call changed the state ({err})");
    err
}
