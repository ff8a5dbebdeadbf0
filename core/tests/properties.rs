//! Properties over random operation sequences: the rigid invariant, exact
//! accounting, transactional failures, determinism and snapshot fidelity.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use trimline::*;

use common::{id, sku, with_numa};

const ZONES: [&str; 3] = ["a", "b", "c"];
const SKUS: [&str; 3] = ["g7.2x", "g7.numa", "gn7.gpu"];
const APPS: [&str; 5] = ["web", "erp", "batch", "gpu", "cache"];

#[derive(Clone, Debug)]
enum Op {
    AddHost {
        sku: usize,
        zone: usize,
    },
    RemoveHost {
        pick: usize,
    },
    Cordon {
        pick: usize,
        ready: bool,
    },
    Zone {
        zone: usize,
        state: ZoneState,
    },
    Place {
        app: usize,
    },
    Batch {
        app: usize,
        count: u32,
        gang: bool,
    },
    Scale {
        app: usize,
        target: u32,
    },
    RemoveInstance {
        pick: usize,
    },
    Reconcile,
    /// A call made with a time in the past: must fail and change nothing.
    Stale,
    /// A call naming something unknown: must fail and change nothing.
    Unknown,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..SKUS.len(), 0..ZONES.len()).prop_map(|(sku, zone)| Op::AddHost { sku, zone }),
        1 => any::<usize>().prop_map(|pick| Op::RemoveHost { pick }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, ready)| Op::Cordon { pick, ready }),
        1 => (0..ZONES.len(), prop_oneof![Just(ZoneState::Up), Just(ZoneState::Down), Just(ZoneState::Draining)])
            .prop_map(|(zone, state)| Op::Zone { zone, state }),
        3 => (0..APPS.len()).prop_map(|app| Op::Place { app }),
        3 => (0..APPS.len(), 0u32..12, any::<bool>()).prop_map(|(app, count, gang)| Op::Batch { app, count, gang }),
        3 => (0..APPS.len(), 0u32..20).prop_map(|(app, target)| Op::Scale { app, target }),
        1 => any::<usize>().prop_map(|pick| Op::RemoveInstance { pick }),
        2 => Just(Op::Reconcile),
        1 => Just(Op::Stale),
        1 => Just(Op::Unknown),
    ]
}

fn region() -> Scheduler {
    // A tiny search budget, so that budgeted searches run out often and the
    // exact fallback, and its determinism across restores, are exercised.
    let mut s = Scheduler::new(Config {
        candidates_per_class: 2,
        search_budget: 1,
        ..Config::default()
    });
    for z in ZONES {
        s.add_zone(id(z), ZoneState::Up).unwrap();
    }
    s.add_sku(sku(SKUS[0], 8_000, 32_768)).unwrap();
    s.add_sku(with_numa(sku(SKUS[1], 32_000, 131_072), 2))
        .unwrap();
    let mut gpu = with_numa(sku(SKUS[2], 16_000, 65_536), 2);
    gpu.allocatable = Resources::new(16_000, 65_536, 10_000, 2).unwrap();
    gpu.numa_nodes = vec![Resources::new(8_000, 32_768, 5_000, 1).unwrap(); 2];
    gpu.accelerator_model = Some(id("a10"));
    gpu.features.insert(id("gpu:a10"));
    s.add_sku(gpu).unwrap();

    let mut web = common::app(APPS[0], 1_000, 2_048);
    web.spread.zones = vec![id("a"), id("b")];
    s.add_app(web).unwrap();
    let mut erp = common::app(APPS[1], 12_000, 48_000);
    erp.numa = NumaPolicy::SingleNode;
    erp.priority = 5;
    s.add_app(erp).unwrap();
    let mut batch = common::app(APPS[2], 3_000, 6_000);
    batch.qos = QosTier::BestEffort;
    s.add_app(batch).unwrap();
    let mut g = AppSpec::new(
        id(APPS[3]),
        id("t2"),
        Resources::new(4_000, 16_384, 100, 1).unwrap(),
    );
    g.features.insert(id("gpu:a10"));
    s.add_app(g).unwrap();
    let mut cache = common::app(APPS[4], 2_000, 24_000);
    cache.qos = QosTier::BestEffort;
    cache.numa = NumaPolicy::SingleNode;
    s.add_app(cache).unwrap();
    s
}

struct Run {
    s: Scheduler,
    now: u64,
    next_host: u64,
    log: Vec<Result<Decisions, Error>>,
}

impl Run {
    fn new() -> Run {
        Run {
            s: region(),
            now: 10,
            next_host: 1,
            log: vec![],
        }
    }

    fn pick_host(&self, pick: usize) -> HostId {
        let n = self.s.host_count();
        if n == 0 {
            HostId(u64::MAX)
        } else {
            self.s.host_ids().nth(pick % n).unwrap()
        }
    }

    fn apply(&mut self, op: &Op) -> Result<Decisions, Error> {
        self.now += 1000;
        let now = Timestamp(self.now);
        let s = &mut self.s;
        match op {
            Op::AddHost { sku, zone } => {
                let hid = HostId(self.next_host);
                self.next_host += 1;
                s.add_host(
                    HostSpec {
                        id: hid,
                        sku: id(SKUS[*sku]),
                        zone: id(ZONES[*zone]),
                    },
                    now,
                )
            }
            Op::RemoveHost { pick } => {
                let h = self.pick_host(*pick);
                self.s.remove_host(h, now)
            }
            Op::Cordon { pick, ready } => {
                let h = self.pick_host(*pick);
                let state = if *ready {
                    HostState::Ready
                } else {
                    HostState::Cordoned
                };
                self.s.set_host_state(h, state, now)
            }
            Op::Zone { zone, state } => s.set_zone_state(&id(ZONES[*zone]), *state, now),
            Op::Place { app } => s.place(&id(APPS[*app]), now),
            Op::Batch { app, count, gang } => {
                let mode = if *gang {
                    BatchMode::AllOrNothing
                } else {
                    BatchMode::Partial
                };
                s.place_batch(&id(APPS[*app]), *count, mode, now)
            }
            Op::Scale { app, target } => s.scale(&id(APPS[*app]), *target, now),
            Op::RemoveInstance { pick } => {
                let all: Vec<InstanceId> =
                    APPS.iter().flat_map(|a| s.app_instances(&id(a))).collect();
                let target = if all.is_empty() {
                    InstanceId(0)
                } else {
                    all[pick % all.len()]
                };
                s.remove_instance(target, now)
            }
            Op::Reconcile => s.reconcile(now),
            Op::Stale => {
                let past = s.now().0.saturating_sub(1);
                s.reconcile(Timestamp(past))
            }
            Op::Unknown => s.scale(&id("nope"), 3, now),
        }
    }
}

/// Independent check of the rigid invariant and accounting, from the public
/// views only: per node, rigid + best effort ≤ capacity and free is the rest;
/// per host, the sum of its instances' parts equals what the nodes hold.
fn audit(s: &Scheduler) {
    s.check_invariants().unwrap();
    for h in s.host_ids() {
        let v = s.host(h).unwrap();
        let mut held = vec![[0u64; 4]; v.nodes.len()];
        for inst in &v.instances {
            let iv = s.instance(*inst).unwrap();
            let (InstanceStatus::Placed { host, parts }
            | InstanceStatus::Tentative {
                planned_host: host,
                parts,
            }) = iv.status
            else {
                panic!("{inst} listed on {h} but not placed");
            };
            assert_eq!(host, h);
            let mut sum = [0u64; 4];
            for (n, r) in parts {
                for d in Dimension::ALL {
                    held[usize::from(n)][d.index()] += u64::from(r.get(d));
                    sum[d.index()] += u64::from(r.get(d));
                }
            }
            let want = s.app(&iv.app).unwrap().resources;
            for d in Dimension::ALL {
                assert_eq!(
                    sum[d.index()],
                    u64::from(want.get(d)),
                    "{inst} holds its exact request"
                );
            }
        }
        for (n, node) in v.nodes.iter().enumerate() {
            for d in Dimension::ALL {
                let alloc = u64::from(node.rigid.get(d)) + u64::from(node.best_effort.get(d));
                assert!(
                    alloc <= u64::from(node.capacity.get(d)),
                    "{h} node {n} {d}: {alloc} > {}",
                    node.capacity.get(d)
                );
                assert_eq!(alloc, held[n][d.index()], "{h} node {n} {d}: accounting");
                assert_eq!(
                    u64::from(node.free.get(d)),
                    u64::from(node.capacity.get(d)) - alloc,
                    "{h} node {n} {d}: free = capacity - allocations"
                );
            }
        }
    }
}

fn state(s: &Scheduler) -> String {
    serde_json::to_string(&s.snapshot()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// After every operation the rigid invariant and the accounting hold; a
    /// failed operation leaves the serialized state byte-identical.
    #[test]
    fn rigid_invariant_accounting_and_transactions(ops in prop::collection::vec(op(), 1..60)) {
        let mut run = Run::new();
        for op in &ops {
            let before = state(&run.s);
            let result = run.apply(op);
            if result.is_err() {
                prop_assert_eq!(&before, &state(&run.s), "failed {:?} changed the state", op);
            }
            audit(&run.s);
            run.log.push(result);
        }
    }

    /// The same sequence gives the same decisions and the same state; a
    /// scheduler restored mid-way decides exactly like the original.
    #[test]
    fn replay_and_restore_are_identical(ops in prop::collection::vec(op(), 1..50), cut in 0usize..50) {
        let mut a = Run::new();
        let mut b = Run::new();
        let cut = cut % ops.len();
        for (i, op) in ops.iter().enumerate() {
            if i == cut {
                let snap = b.s.snapshot();
                let json = serde_json::to_string(&snap).unwrap();
                let back: Snapshot = serde_json::from_str(&json).unwrap();
                b.s = Scheduler::restore(back).unwrap();
                prop_assert_eq!(state(&b.s), json);
            }
            let ra = a.apply(op);
            let rb = b.apply(op);
            prop_assert_eq!(ra, rb);
            prop_assert_eq!(state(&a.s), state(&b.s));
        }
    }

    /// A dry run returns exactly what the real call returns, and changes
    /// nothing.
    #[test]
    fn dry_runs_match_real_calls(ops in prop::collection::vec(op(), 1..40)) {
        let mut run = Run::new();
        for op in &ops {
            let before = state(&run.s);
            let now = run.now;
            let next_host = run.next_host;
            let planned = {
                let mut copy = Run { s: run.s.clone(), now, next_host, log: vec![] };
                // Drive the copy through the public dry_run entry point.
                run.s.dry_run(|s| {
                    std::mem::swap(&mut copy.s, s);
                    let r = copy.apply(op);
                    std::mem::swap(&mut copy.s, s);
                    r
                })
            };
            prop_assert_eq!(&before, &state(&run.s));
            let real = run.apply(op);
            prop_assert_eq!(planned, real);
        }
    }
}
