//! Properties over random operation sequences: the rigid invariant, exact
//! accounting, transactional failures, determinism, snapshot fidelity, and
//! that no pending instance has a host that could take it.
//!
//! One operation model covers every mutating call: hosts, zones (states,
//! loss and return), host failure, placement and scaling, stock,
//! provisioning results, moves (rebalance and returns to a preferred SKU),
//! apps with `max_skew` policies (blocking and not, weighted) and with
//! substitution tiers. Each case starts with a pool of 20 to 40 hosts in
//! one (SKU, zone), so that the index's budgeted searches (a leaf block is
//! 16 hosts) run out and the exact fallback runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use trimline::*;

use common::{id, sku, with_numa};

const ZONES: [&str; 3] = ["a", "b", "c"];
const SKUS: [&str; 4] = ["g7.2x", "g7.numa", "gn7.gpu", "c7.2x"];
const APPS: [&str; 11] = [
    "web", "erp", "batch", "gpu", "cache", "skew", "anyway", "tiered", "cpu", "mem", "big",
];

/// Whether running hosts of SKU `SKUS[k]` may serve app `APPS[a]`
/// (`SERVES[a][k]`), worked out by hand from the substitution rules (see
/// [`region`] for the catalog and the apps):
///
/// - `erp` (12 vCPU on one NUMA node) fits on one node of `g7.numa` only.
/// - `gpu` needs the feature `gpu:a10`, which only `gn7.gpu` has.
/// - `cache` (24 GiB on one node) does not fit `c7.2x` (16 GiB).
/// - `tiered` requests `g7.2x` with tiers `[[g7.2x], [c7]]` and stays
///   pending rather than use a SKU outside them: `g7.2x` (tier 0) and
///   `c7.2x` (family `c7`, tier 1, and within the 20% band) serve it;
///   `g7.numa` (family `g7`, not the SKU `g7.2x`) and `gn7.gpu` are in no
///   tier.
/// - `mem` (20 GiB) does not fit `c7.2x` (16 GiB).
/// - Every other pair serves: an app that requests no SKU is served by
///   running hosts of any SKU that passes the hard and at-least rules,
///   whatever the price band (it guards only what is bought).
const SERVES: [[bool; 4]; 11] = [
    [true, true, true, true],    // web
    [false, true, false, false], // erp
    [true, true, true, true],    // batch
    [false, false, true, false], // gpu
    [true, true, true, false],   // cache
    [true, true, true, true],    // skew
    [true, true, true, true],    // anyway
    [true, false, false, true],  // tiered
    [true, true, true, true],    // cpu
    [true, true, true, false],   // mem
    [true, true, true, true],    // big
];

#[derive(Clone, Debug)]
enum Op {
    AddHost {
        sku: usize,
        zone: usize,
    },
    /// A pool of `n` hosts of one SKU in one zone, one `add_host` each.
    AddHosts {
        sku: usize,
        zone: usize,
        n: usize,
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
    ZoneDown {
        zone: usize,
    },
    ZoneUp {
        zone: usize,
    },
    HostFailed {
        pick: usize,
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
    /// A reconcile after back-offs have expired.
    Later,
    Stock {
        sku: usize,
        zone: usize,
        stock: Stock,
    },
    /// A planned host is provisioned (`host_ready`).
    Ready {
        pick: usize,
    },
    /// An offering fails to provision (`provision_failed`).
    ProvisionFailed {
        pick: usize,
    },
    Rebalance,
    PlanReturn,
    CompleteMove {
        pick: usize,
    },
    AbortMove {
        pick: usize,
    },
    /// A call made with a time in the past: must fail and change nothing.
    Stale,
    /// A call naming something unknown: must fail and change nothing.
    Unknown,
}

fn op() -> impl Strategy<Value = Op> {
    let zone = 0..ZONES.len();
    let sku = 0..SKUS.len();
    let app = 0..APPS.len();
    prop_oneof![
        4 => (sku.clone(), zone.clone()).prop_map(|(sku, zone)| Op::AddHost { sku, zone }),
        1 => (sku.clone(), zone.clone(), 20usize..=40)
            .prop_map(|(sku, zone, n)| Op::AddHosts { sku, zone, n }),
        1 => any::<usize>().prop_map(|pick| Op::RemoveHost { pick }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, ready)| Op::Cordon { pick, ready }),
        1 => (zone.clone(), prop_oneof![Just(ZoneState::Up), Just(ZoneState::Down), Just(ZoneState::Draining)])
            .prop_map(|(zone, state)| Op::Zone { zone, state }),
        1 => zone.clone().prop_map(|zone| Op::ZoneDown { zone }),
        1 => zone.clone().prop_map(|zone| Op::ZoneUp { zone }),
        1 => any::<usize>().prop_map(|pick| Op::HostFailed { pick }),
        3 => app.clone().prop_map(|app| Op::Place { app }),
        3 => (app.clone(), 0u32..16, any::<bool>()).prop_map(|(app, count, gang)| Op::Batch { app, count, gang }),
        6 => (app.clone(), 0u32..40).prop_map(|(app, target)| Op::Scale { app, target }),
        // `big`, into the pool `cpu` and `mem` fragment (see `region`).
        2 => (0u32..4).prop_map(|target| Op::Scale { app: 10, target }),
        2 => any::<usize>().prop_map(|pick| Op::RemoveInstance { pick }),
        2 => Just(Op::Reconcile),
        1 => Just(Op::Later),
        2 => stock(),
        2 => any::<usize>().prop_map(|pick| Op::Ready { pick }),
        1 => any::<usize>().prop_map(|pick| Op::ProvisionFailed { pick }),
        1 => Just(Op::Rebalance),
        1 => Just(Op::PlanReturn),
        1 => any::<usize>().prop_map(|pick| Op::CompleteMove { pick }),
        1 => any::<usize>().prop_map(|pick| Op::AbortMove { pick }),
        1 => Just(Op::Stale),
        1 => Just(Op::Unknown),
    ]
}

/// Declare an offering's stock.
fn stock() -> impl Strategy<Value = Op> {
    let stock = prop_oneof![
        2 => (0u32..6).prop_map(Stock::Known),
        2 => Just(Stock::Unknown),
        1 => Just(Stock::Exhausted),
    ];
    (0..SKUS.len(), 0..ZONES.len(), stock).prop_map(|(sku, zone, stock)| Op::Stock {
        sku,
        zone,
        stock,
    })
}

/// What a case starts from: the knobs placement is tuned by, offerings, a
/// pool of 20 to 40 hosts of one SKU in zone a, and how many instances of
/// `cpu`, `mem` and then `big` are placed first (the first two fragment a
/// pool of `g7.2x`, and searches for `big` run out of budget there; see
/// [`region`]).
#[derive(Clone, Debug)]
struct Setup {
    search_budget: u32,
    candidates_per_class: u32,
    classes_per_zone: u32,
    pool: (usize, usize),
    fill: (u32, u32, u32),
    /// `Op::Stock` calls.
    offers: Vec<Op>,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        // Mostly a budget of 1, which runs out whenever the first leaf
        // block the bounds lead to has no host that fits.
        prop::sample::select(vec![1u32, 1, 1, 2, 16, 0]),
        1u32..=2,
        0u32..=1,
        // The pool's SKU: the two single-node ones and the two-node one.
        (prop::sample::select(vec![0usize, 0, 0, 3, 1]), 20usize..=40),
        // Mostly 16 or more `cpu` and `mem` together: a whole leaf block.
        (6u32..=14, 6u32..=14, 1u32..=3),
        prop::collection::vec(stock(), 0..4),
    )
        .prop_map(
            |(search_budget, candidates_per_class, classes_per_zone, pool, fill, offers)| Setup {
                search_budget,
                candidates_per_class,
                classes_per_zone,
                pool,
                fill,
                offers,
            },
        )
}

fn case(ops: std::ops::Range<usize>) -> impl Strategy<Value = (Setup, Vec<Op>)> {
    (setup(), prop::collection::vec(op(), ops))
}

fn region(setup: &Setup) -> Scheduler {
    let mut s = Scheduler::new(Config {
        candidates_per_class: setup.candidates_per_class,
        classes_per_zone: setup.classes_per_zone,
        search_budget: setup.search_budget,
        ..Config::default()
    });
    for z in ZONES {
        s.add_zone(id(z), ZoneState::Up, s.now()).unwrap();
    }
    s.add_sku(sku(SKUS[0], 8_000, 32_768), s.now()).unwrap();
    let mut numa = with_numa(sku(SKUS[1], 32_000, 131_072), 2);
    numa.price_nanos_per_second = 4_000;
    s.add_sku(numa, s.now()).unwrap();
    let mut gpu = with_numa(sku(SKUS[2], 16_000, 65_536), 2);
    gpu.allocatable = Resources::new(16_000, 65_536, 10_000, 2).unwrap();
    gpu.numa_nodes = vec![Resources::new(8_000, 32_768, 5_000, 1).unwrap(); 2];
    gpu.accelerator_model = Some(id("a10"));
    gpu.features.insert(id("gpu:a10"));
    gpu.price_nanos_per_second = 6_000;
    s.add_sku(gpu, s.now()).unwrap();
    let mut c7 = sku(SKUS[3], 8_000, 16_384);
    c7.price_nanos_per_second = 900;
    s.add_sku(c7, s.now()).unwrap();

    let mut web = common::app(APPS[0], 1_000, 2_048);
    web.spread.zones = vec![id("a"), id("b")];
    s.add_app(web, s.now()).unwrap();
    let mut erp = common::app(APPS[1], 12_000, 48_000);
    erp.numa = NumaPolicy::SingleNode;
    erp.priority = 5;
    s.add_app(erp, s.now()).unwrap();
    let mut batch = common::app(APPS[2], 3_000, 6_000);
    batch.qos = QosTier::BestEffort;
    s.add_app(batch, s.now()).unwrap();
    let mut g = AppSpec::new(
        id(APPS[3]),
        id("t2"),
        Resources::new(4_000, 16_384, 100, 1).unwrap(),
    );
    g.features.insert(id("gpu:a10"));
    s.add_app(g, s.now()).unwrap();
    let mut cache = common::app(APPS[4], 2_000, 24_000);
    cache.qos = QosTier::BestEffort;
    cache.numa = NumaPolicy::SingleNode;
    s.add_app(cache, s.now()).unwrap();
    let mut skew = common::app(APPS[5], 2_000, 4_096);
    skew.spread.max_skew = Some(1);
    skew.spread.min_zones = 2;
    skew.priority = 3;
    s.add_app(skew, s.now()).unwrap();
    // Weighted: a restored scheduler orders the zones as the original
    // even when an index class was emptied before the snapshot (the
    // original keeps the empty class; the restored one has none).
    let mut anyway = common::app(APPS[6], 1_000, 1_024);
    anyway.spread.max_skew = Some(1);
    anyway.spread.weights.insert(id("a"), 2);
    anyway.spread.when_unsatisfiable = WhenUnsatisfiable::ScheduleAnyway;
    s.add_app(anyway, s.now()).unwrap();
    let mut tiered = common::app(APPS[7], 3_000, 6_000);
    tiered.sku = Some(id(SKUS[0]));
    tiered.substitution.tiers = vec![vec![id(SKUS[0])], vec![id("c7")]];
    tiered.substitution.on_exhaustion = OnExhaustion::StayPending;
    tiered.spread.max_skew = Some(2);
    s.add_app(tiered, s.now()).unwrap();
    // Lopsided shapes that never share a `g7.2x` host: `cpu` leaves one
    // with 3 vCPU and 29 GiB free, `mem` one with 4 vCPU and 12.5 GiB. A
    // leaf block of such hosts has a bound (4 vCPU, 29 GiB, and 29 GiB
    // among hosts with 2 vCPU or more) that covers `big` (3.5 vCPU,
    // 16 GiB), which none of them fits: a budgeted search for `big` opens
    // that block, finds nothing, and runs out before the next one.
    // The three stay in zone a, the pool's.
    let mut cpu = common::app(APPS[8], 5_000, 3_000);
    cpu.qos = QosTier::BestEffort;
    cpu.spread.zones = vec![id("a")];
    s.add_app(cpu, s.now()).unwrap();
    let mut mem = common::app(APPS[9], 4_000, 20_000);
    mem.spread.zones = vec![id("a")];
    s.add_app(mem, s.now()).unwrap();
    let mut big = common::app(APPS[10], 3_500, 16_384);
    big.qos = QosTier::BestEffort;
    big.spread.zones = vec![id("a")];
    s.add_app(big, s.now()).unwrap();
    s
}

struct Run {
    s: Scheduler,
    now: u64,
    next_host: u64,
}

impl Run {
    fn new(setup: &Setup) -> Run {
        let mut run = Run {
            s: region(setup),
            now: 10,
            next_host: 1,
        };
        for op in &setup.offers {
            let _ = run.apply(op).unwrap();
        }
        let (sku, n) = setup.pool;
        let _ = run.apply(&Op::AddHosts { sku, zone: 0, n }).unwrap();
        let (cpu, mem, big) = setup.fill;
        for (app, target) in [(8, cpu), (9, mem), (10, big)] {
            let _ = run.apply(&Op::Scale { app, target }).unwrap();
        }
        run
    }

    fn pick_host(&self, pick: usize) -> HostId {
        let n = self.s.host_count();
        if n == 0 {
            HostId(u64::MAX)
        } else {
            self.s.host_ids().nth(pick % n).unwrap()
        }
    }

    fn pick<T: Copy>(list: &[T], pick: usize, none: T) -> T {
        if list.is_empty() {
            none
        } else {
            list[pick % list.len()]
        }
    }

    fn add_host(&mut self, sku: usize, zone: usize, now: Timestamp) -> Result<Decisions, Error> {
        let hid = HostId(self.next_host);
        self.next_host += 1;
        self.s.add_host(
            HostSpec {
                id: hid,
                sku: id(SKUS[sku]),
                zone: id(ZONES[zone]),
            },
            now,
        )
    }

    fn apply(&mut self, op: &Op) -> Result<Decisions, Error> {
        self.now += 1000;
        let now = Timestamp(self.now);
        match op {
            Op::AddHost { sku, zone } => self.add_host(*sku, *zone, now),
            Op::AddHosts { sku, zone, n } => {
                let mut all = Decisions::default();
                for _ in 0..*n {
                    let d = self.add_host(*sku, *zone, now)?;
                    all.placements.extend(d.placements);
                    all.evictions.extend(d.evictions);
                    all.pending.extend(d.pending);
                }
                Ok(all)
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
            Op::Zone { zone, state } => self.s.set_zone_state(&id(ZONES[*zone]), *state, now),
            Op::ZoneDown { zone } => self.s.zone_down(&id(ZONES[*zone]), now),
            Op::ZoneUp { zone } => self.s.zone_up(&id(ZONES[*zone]), now),
            Op::HostFailed { pick } => {
                let h = self.pick_host(*pick);
                self.s.host_failed(h, now)
            }
            Op::Place { app } => self.s.place(&id(APPS[*app]), now),
            Op::Batch { app, count, gang } => {
                let mode = if *gang {
                    BatchMode::AllOrNothing
                } else {
                    BatchMode::Partial
                };
                self.s.place_batch(&id(APPS[*app]), *count, mode, now)
            }
            Op::Scale { app, target } => self.s.scale(&id(APPS[*app]), *target, now),
            Op::RemoveInstance { pick } => {
                let s = &self.s;
                let all: Vec<InstanceId> =
                    APPS.iter().flat_map(|a| s.app_instances(&id(a))).collect();
                let target = Run::pick(&all, *pick, InstanceId(0));
                self.s.remove_instance(target, now)
            }
            Op::Reconcile => self.s.reconcile(now),
            Op::Later => {
                self.now += 400_000;
                self.s.reconcile(Timestamp(self.now))
            }
            Op::Stock { sku, zone, stock } => {
                self.s
                    .set_stock(&id(SKUS[*sku]), &id(ZONES[*zone]), *stock, now)
            }
            Op::Ready { pick } => {
                let planned: Vec<HostId> = self.s.host_ids().filter(|h| h.is_planned()).collect();
                let h = Run::pick(&planned, *pick, HostId(PLANNED_HOST_BIT | 999_999));
                let real = HostId(self.next_host);
                self.next_host += 1;
                self.s.host_ready(h, real, now)
            }
            Op::ProvisionFailed { pick } => {
                let offers = self.s.offerings();
                let (sku, zone) = if offers.is_empty() {
                    (id(SKUS[0]), id(ZONES[0]))
                } else {
                    let o = &offers[pick % offers.len()];
                    (o.sku.clone(), o.zone.clone())
                };
                let failure = if pick % 2 == 0 {
                    ProvisionFailure::InsufficientStock
                } else {
                    ProvisionFailure::Other
                };
                self.s.provision_failed(&sku, &zone, failure, now)
            }
            Op::Rebalance => self.s.rebalance(now),
            Op::PlanReturn => self.s.plan_return(now),
            Op::CompleteMove { pick } | Op::AbortMove { pick } => {
                let moves: Vec<InstanceId> =
                    self.s.moves_in_flight().iter().map(|m| m.to).collect();
                let to = Run::pick(&moves, *pick, InstanceId(0));
                if matches!(op, Op::CompleteMove { .. }) {
                    self.s.complete_move(to, now)
                } else {
                    self.s.abort_move(to, now)
                }
            }
            Op::Stale => {
                let past = self.s.now().0.saturating_sub(1);
                self.s.reconcile(Timestamp(past))
            }
            Op::Unknown => self.s.scale(&id("nope"), 3, now),
        }
    }
}

/// Whether the op, when it succeeds, retries every pending instance last,
/// so that right after it no pending rigid instance may have a host.
fn retries_everything(op: &Op) -> bool {
    matches!(
        op,
        Op::AddHost { .. }
            | Op::AddHosts { .. }
            | Op::RemoveHost { .. }
            | Op::Reconcile
            | Op::Later
    )
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

/// The app's placed and tentative instances per zone (tentative ones hold
/// their place in the zone of their planned host), from the instance and
/// host views.
fn zone_counts(s: &Scheduler, app: &AppId) -> BTreeMap<ZoneId, u32> {
    let mut counts: BTreeMap<ZoneId, u32> = s.zones().map(|(z, _)| (z.clone(), 0)).collect();
    for i in s.app_instances(app) {
        if let InstanceStatus::Placed { host, .. }
        | InstanceStatus::Tentative {
            planned_host: host, ..
        } = s.instance(i).unwrap().status
        {
            *counts.get_mut(&s.host(host).unwrap().zone).unwrap() += 1;
        }
    }
    counts
}

/// Whether the app's spread policy lets one more instance into zone `z`,
/// from the rule as documented in `trimline::zones`: the domain is the
/// allowed zones that are up or hold instances; one more in `z` is allowed
/// if the skew of the deviations from the weighted targets stays within
/// `max_skew`, or if `z` is furthest below target and the skew gets no
/// worse; with `min_zones`, a zone already holding instances takes one
/// only when the app spans enough zones.
fn spread_allows(
    s: &Scheduler,
    spec: &AppSpec,
    counts: &BTreeMap<ZoneId, u32>,
    z: &ZoneId,
) -> bool {
    let p = &spec.spread;
    let blocking = p.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule
        && (p.max_skew.is_some() || p.min_zones > 0);
    if !blocking {
        return true;
    }
    let allowed = |x: &ZoneId| p.zones.is_empty() || p.zones.contains(x);
    let mut domain: Vec<ZoneId> = counts
        .iter()
        .filter(|(x, c)| allowed(x) && (s.zone_state(x) == Some(ZoneState::Up) || **c > 0))
        .map(|(x, _)| x.clone())
        .collect();
    if !domain.contains(z) {
        domain.push(z.clone());
    }
    let weight = |x: &ZoneId| i128::from(p.weights.get(x).copied().unwrap_or(1));
    let w: i128 = domain.iter().map(weight).sum();
    let spread = |extra: Option<&ZoneId>| {
        let count = |x: &ZoneId| i128::from(counts[x]) + i128::from(extra == Some(x));
        let n: i128 = domain.iter().map(count).sum();
        let d: Vec<i128> = domain
            .iter()
            .map(|x| count(x) * w - n * weight(x))
            .collect();
        let (max, min) = (*d.iter().max().unwrap(), *d.iter().min().unwrap());
        let at = d[domain.iter().position(|x| x == z).unwrap()];
        (max - min, at == min)
    };
    if let Some(k) = p.max_skew {
        let (before, below) = spread(None);
        let (after, _) = spread(Some(z));
        if after > i128::from(k) * w && !(below && after <= before) {
            return false;
        }
    }
    if p.min_zones > 0 && counts[z] > 0 {
        let spanned = domain.iter().filter(|x| counts[*x] > 0).count();
        if spanned < (p.min_zones as usize).min(domain.len()) {
            return false;
        }
    }
    true
}

/// Brute force over every host: no pending instance has a ready host, in
/// an up zone its app allows and whose spread policy takes one more, of a
/// SKU that serves the app ([`SERVES`]), with room for it: on one NUMA node
/// for `NumaPolicy::SingleNode`, on the host's nodes together for
/// `NumaPolicy::Any`. Room for a rigid instance counts what best-effort
/// instances hold as free (it would preempt them); for a best-effort one,
/// only what is free. With `rigid_only`, best-effort instances are not
/// looked at.
fn no_pending_instance_fits(s: &Scheduler, rigid_only: bool) -> Result<(), TestCaseError> {
    let hosts: Vec<HostView> = s.host_ids().map(|h| s.host(h).unwrap()).collect();
    for (a, name) in APPS.iter().enumerate() {
        let spec = s.app(&id(name)).unwrap();
        let rigid = spec.qos == QosTier::Rigid;
        if rigid_only && !rigid {
            continue;
        }
        let pending: Vec<InstanceId> = s
            .app_instances(&spec.id)
            .into_iter()
            .filter(|i| {
                matches!(
                    s.instance(*i).unwrap().status,
                    InstanceStatus::Pending { .. }
                )
            })
            .collect();
        let Some(first) = pending.first() else {
            continue;
        };
        let counts = zone_counts(s, &spec.id);
        for h in &hosts {
            let k = SKUS.iter().position(|x| *x == h.sku.as_str()).unwrap();
            let zone_ok = s.zone_state(&h.zone) == Some(ZoneState::Up)
                && (spec.spread.zones.is_empty() || spec.spread.zones.contains(&h.zone));
            if h.state != HostState::Ready || !zone_ok || !SERVES[a][k] {
                continue;
            }
            let room: Vec<Resources> = h
                .nodes
                .iter()
                .map(|n| {
                    if rigid {
                        n.capacity.checked_sub(&n.rigid).unwrap()
                    } else {
                        n.free
                    }
                })
                .collect();
            let fits = match spec.numa {
                NumaPolicy::SingleNode => room.iter().any(|r| spec.resources.fits_in(r)),
                _ => spec.resources.fits_in(&Resources::sum(&room)),
            };
            prop_assert!(
                !fits || !spread_allows(s, spec, &counts, &h.zone),
                "{} pending instances of {} (first {}), yet {} ({}, {}) has room: {:?}; reason: {:?}",
                pending.len(),
                name,
                first,
                h.id,
                h.sku,
                h.zone,
                room,
                s.instance(*first).unwrap().status
            );
        }
    }
    Ok(())
}

/// The pending check, right after `op` where it retried every pending
/// instance, and on a copy after reconciles for every op: the first
/// reconcile retries every pending instance (rigid ones first, which may
/// preempt best-effort ones), the second retries the best-effort ones that
/// the first evicted.
fn check_pending(run: &Run, op: &Op, ok: bool) -> Result<(), TestCaseError> {
    if ok && retries_everything(op) {
        no_pending_instance_fits(&run.s, true)?;
    }
    let mut copy = run.s.clone();
    let now = copy.now();
    let _ = copy.reconcile(now).unwrap();
    no_pending_instance_fits(&copy, true)?;
    let _ = copy.reconcile(now).unwrap();
    no_pending_instance_fits(&copy, false)
}

fn state(s: &Scheduler) -> String {
    serde_json::to_string(&s.snapshot()).unwrap()
}

/// The `SERVES` table agrees with the scheduler's own verdicts: an app
/// that requests a SKU is served by the SKUs it accepts; any other app
/// also by those rejected only for their price band.
#[test]
fn the_serves_table_matches_the_verdicts() {
    let s = region(&Setup {
        search_budget: 16,
        candidates_per_class: 2,
        classes_per_zone: 1,
        pool: (0, 0),
        fill: (0, 0, 0),
        offers: vec![],
    });
    for (a, name) in APPS.iter().enumerate() {
        let requested = s.app(&id(name)).unwrap().sku.is_some();
        let verdicts = s.explain_substitution(&id(name), &id("a")).unwrap();
        for (k, sku) in SKUS.iter().enumerate() {
            let v = &verdicts
                .iter()
                .find(|v| v.sku.as_str() == *sku)
                .unwrap()
                .verdict;
            let serves = match v {
                Verdict::Accepted { .. } => true,
                Verdict::Rejected(Rejection::Price { .. }) => !requested,
                _ => false,
            };
            assert_eq!(serves, SERVES[a][k], "{name} on {sku}: {v:?}");
        }
    }
}

proptest! {
    #![proptest_config(common::cases(64))]

    /// After every operation the rigid invariant and the accounting hold
    /// (the independent audit and `check_invariants`); a failed operation
    /// leaves the serialized state byte-identical; and no pending instance
    /// has a host that could take it (brute force over every host).
    #[test]
    fn rigid_invariant_accounting_transactions_and_exact_pending((setup, ops) in case(1..60)) {
        let mut run = Run::new(&setup);
        for op in &ops {
            let before = state(&run.s);
            let result = run.apply(op);
            if result.is_err() {
                prop_assert_eq!(&before, &state(&run.s), "failed {:?} changed the state", op);
            }
            audit(&run.s);
            check_pending(&run, op, result.is_ok())?;
        }
    }

    /// The same sequence gives the same decisions and the same state; a
    /// scheduler restored mid-way decides exactly like the original.
    #[test]
    fn replay_and_restore_are_identical((setup, ops) in case(1..50), cut in 0usize..50) {
        let mut a = Run::new(&setup);
        let mut b = Run::new(&setup);
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
    fn dry_runs_match_real_calls((setup, ops) in case(1..40)) {
        let mut run = Run::new(&setup);
        for op in &ops {
            let before = state(&run.s);
            let now = run.now;
            let next_host = run.next_host;
            let planned = {
                let mut copy = Run { s: run.s.clone(), now, next_host };
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
