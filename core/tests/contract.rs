//! What the decisions tell the embedder, checked from the outside: tentative
//! instances are not running, dropped planned hosts are cancellations, and
//! known stock is counted once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{app, best_effort, host_spec, id, json, refused, sku, with_numa};
use proptest::prelude::*;
use trimline::*;

fn t(ms: u64) -> Timestamp {
    Timestamp(ms)
}

/// One zone `a`, SKU g7.4x (16 vCPU, 64 GiB) offered there with `stock`,
/// and the app "svc" (4 vCPU, 16 GiB: four per host). No running host.
fn one_offering(stock: Stock) -> Scheduler {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, s.now()).unwrap();
    s.add_sku(sku("g7.4x", 16_000, 65_536), s.now()).unwrap();
    s.add_app(app("svc", 4_000, 16_384), s.now()).unwrap();
    let d = s.set_stock(&id("g7.4x"), &id("a"), stock, t(1)).unwrap();
    assert!(d.is_empty());
    s
}

fn offering(s: &Scheduler) -> OfferingView {
    s.offerings().into_iter().next().unwrap()
}

fn planned_hosts(s: &Scheduler) -> Vec<HostId> {
    let mut v: Vec<HostId> = s.host_ids().filter(|h| h.is_planned()).collect();
    v.sort_unstable();
    v
}

// ----- tentative is not running ---------------------------------------------------

/// An instance on a planned host reports `Tentative` with the planned host
/// and its NUMA parts; it becomes `Placed` on the embedder's host once that
/// host is ready. Zone counts and the skew count it meanwhile.
#[test]
fn an_instance_on_a_planned_host_is_tentative_until_the_host_is_ready() {
    let mut s = one_offering(Stock::Unknown);
    let d = s.scale(&id("svc"), 2, t(10)).unwrap();
    assert_eq!(d.tentative.len(), 2);
    let planned = d.provisions[0].hosts[0];
    let first = d.tentative[0].instance;
    assert_eq!(
        s.instance(first).unwrap().status,
        InstanceStatus::Tentative {
            planned_host: planned,
            parts: vec![(0, Resources::cpu_mem(4_000, 16_384).unwrap())],
        }
    );
    let v = s.host(planned).unwrap();
    assert_eq!(v.state, HostState::Planned);
    assert_eq!(v.instances.len(), 2);
    // Tentative instances hold their place in the zone.
    assert_eq!(s.app_zone_counts(&id("svc")), vec![(id("a"), 2)]);
    assert_eq!(s.skew(&id("svc")).unwrap(), 0);
    // The snapshot records them as tentative and restores them so.
    let snap = s.snapshot();
    let text = serde_json::to_string(&snap).unwrap();
    assert!(text.contains(r#""tentative":{"planned_host":"#), "{text}");
    let r = Scheduler::restore(snap).unwrap();
    assert_eq!(json(&r), json(&s));

    let _ = s.host_ready(planned, HostId(100), t(20)).unwrap();
    assert_eq!(
        s.instance(first).unwrap().status,
        InstanceStatus::Placed {
            host: HostId(100),
            parts: vec![(0, Resources::cpu_mem(4_000, 16_384).unwrap())],
        }
    );
}

/// A snapshot that records an instance on a planned host as placed (or one
/// on a running host as tentative), or a planned host that names no
/// provision, or an empty planned host, is refused.
#[test]
fn restore_refuses_inconsistent_tentative_records() {
    let mut s = one_offering(Stock::Unknown);
    let _ = s.add_host(host_spec(1, "g7.4x", "a"), t(5)).unwrap();
    let _ = s.scale(&id("svc"), 5, t(10)).unwrap();
    let planned = planned_hosts(&s)[0];
    let snap = s.snapshot();
    assert_eq!(
        snap.hosts
            .iter()
            .map(|h| (h.id, h.provision))
            .collect::<Vec<_>>(),
        vec![(HostId(1), None), (planned, Some(ProvisionId(1)))]
    );

    // Placed on the planned host.
    let mut bad = snap.clone();
    let rec = bad
        .instances
        .iter_mut()
        .find(|r| matches!(r.status, InstanceStatus::Tentative { .. }))
        .unwrap();
    let InstanceStatus::Tentative {
        planned_host,
        parts,
    } = rec.status.clone()
    else {
        unreachable!()
    };
    rec.status = InstanceStatus::Placed {
        host: planned_host,
        parts,
    };
    let instance = rec.id;
    assert!(matches!(
        Scheduler::restore(bad),
        Err(RestoreError::BadPlacement { instance: i, host, .. }) if i == instance && host == planned
    ));

    // Tentative on the running host.
    let mut bad = snap.clone();
    let rec = bad
        .instances
        .iter_mut()
        .find(|r| matches!(r.status, InstanceStatus::Placed { .. }))
        .unwrap();
    let InstanceStatus::Placed { host, parts } = rec.status.clone() else {
        unreachable!()
    };
    rec.status = InstanceStatus::Tentative {
        planned_host: host,
        parts,
    };
    assert!(matches!(
        Scheduler::restore(bad),
        Err(RestoreError::BadPlacement {
            host: HostId(1),
            ..
        })
    ));

    // A planned host without its provision, and a running host with one.
    let mut bad = snap.clone();
    bad.hosts[1].provision = None;
    assert!(matches!(
        Scheduler::restore(bad),
        Err(RestoreError::PlannedHost { host, .. }) if host == planned
    ));
    let mut bad = snap.clone();
    bad.hosts[0].provision = Some(ProvisionId(1));
    assert!(matches!(
        Scheduler::restore(bad),
        Err(RestoreError::PlannedHost {
            host: HostId(1),
            ..
        })
    ));

    // A planned host nothing waits on.
    let mut bad = snap.clone();
    bad.instances
        .retain(|r| !matches!(r.status, InstanceStatus::Tentative { .. }));
    assert!(matches!(
        Scheduler::restore(bad),
        Err(RestoreError::PlannedHost { host, .. }) if host == planned
    ));
    assert!(Scheduler::restore(snap).is_ok());
}

// ----- cancelled orders are decisions -----------------------------------------------

/// Scaling to zero removes every instance waiting on planned hosts: the
/// hosts are cancelled, by provision, their units go back to the stock, and
/// no planned host is left.
#[test]
fn scale_to_zero_cancels_every_planned_host() {
    let mut s = one_offering(Stock::Known(5));
    let d = s.scale(&id("svc"), 10, t(10)).unwrap();
    assert_eq!(d.provisions.len(), 1);
    let p = d.provisions[0].clone();
    assert_eq!(p.count, 3);
    assert_eq!(offering(&s).stock, Stock::Known(2));

    let mut d = s.scale(&id("svc"), 0, t(20)).unwrap();
    assert_eq!(d.removals.len(), 10);
    for c in &mut d.cancellations {
        c.hosts.sort_unstable();
    }
    let mut hosts = p.hosts.clone();
    hosts.sort_unstable();
    assert_eq!(
        d.cancellations,
        vec![Cancellation {
            provision: p.id,
            zone: id("a"),
            sku: id("g7.4x"),
            hosts,
            cause: CancellationCause::Unneeded,
        }]
    );
    assert!(planned_hosts(&s).is_empty());
    let o = offering(&s);
    assert_eq!((o.stock, o.planned), (Stock::Known(5), 0));
    assert_eq!(
        refused(&mut s, |s| s.host_ready(p.hosts[0], HostId(100), t(30))),
        Error::UnknownHost(p.hosts[0])
    );
    s.check_invariants().unwrap();
}

/// Scaling down part of the way cancels only the planned hosts it empties.
#[test]
fn scale_down_cancels_only_the_planned_hosts_it_empties() {
    let mut s = one_offering(Stock::Unknown);
    let d = s.scale(&id("svc"), 8, t(10)).unwrap();
    let hosts = d.provisions[0].hosts.clone();
    assert_eq!(hosts.len(), 2);
    let d = s.scale(&id("svc"), 3, t(20)).unwrap();
    assert_eq!(d.removals.len(), 5);
    assert_eq!(d.cancellations.len(), 1);
    let gone = d.cancellations[0].hosts.clone();
    assert_eq!(gone.len(), 1);
    let kept: Vec<HostId> = hosts
        .iter()
        .copied()
        .filter(|h| !gone.contains(h))
        .collect();
    assert_eq!(planned_hosts(&s), kept);
    assert_eq!(s.host(kept[0]).unwrap().instances.len(), 3);
    // Removing the last instances one by one cancels the last host with
    // the last of them.
    let left = s.app_instances(&id("svc"));
    for (k, i) in left.iter().enumerate() {
        let d = s.remove_instance(*i, t(30 + k as u64)).unwrap();
        let last = k + 1 == left.len();
        assert_eq!(d.cancellations.len(), usize::from(last), "{d:?}");
    }
    assert!(planned_hosts(&s).is_empty());
    s.check_invariants().unwrap();
}

/// A lost zone, a removed or failed planned host and a failed offering
/// list the planned hosts they drop, by provision, with the cause.
#[test]
fn dropped_planned_hosts_are_listed_with_their_cause() {
    let mut s = Scheduler::default();
    for z in ["a", "b"] {
        s.add_zone(id(z), ZoneState::Up, s.now()).unwrap();
    }
    s.add_sku(sku("g7.4x", 16_000, 65_536), s.now()).unwrap();
    s.add_app(app("svc", 4_000, 16_384), s.now()).unwrap();
    for z in ["a", "b"] {
        let _ = s
            .set_stock(&id("g7.4x"), &id(z), Stock::Unknown, t(1))
            .unwrap();
    }
    // Two provisions per zone, from two calls.
    let first = s.scale(&id("svc"), 8, t(10)).unwrap();
    let second = s.scale(&id("svc"), 16, t(20)).unwrap();
    let in_zone = |d: &Decisions, z: &str| -> Provision {
        d.provisions
            .iter()
            .find(|p| p.zone == id::<ZoneId>(z))
            .unwrap()
            .clone()
    };
    let a1 = in_zone(&first, "a");
    let (b1, b2) = (in_zone(&first, "b"), in_zone(&second, "b"));

    // One planned host removed by the embedder.
    let d = s.remove_host(a1.hosts[0], t(30)).unwrap();
    assert_eq!(
        d.cancellations
            .iter()
            .map(|c| (c.provision, c.hosts.clone(), c.cause))
            .collect::<Vec<_>>(),
        vec![(a1.id, vec![a1.hosts[0]], CancellationCause::HostRemoved)]
    );
    // Its instances are re-planned in the same call: a new provision.
    assert_eq!(d.provisions.len(), 1);

    // The offering in b fails: both of its provisions are cancelled.
    let d = s
        .provision_failed(&id("g7.4x"), &id("b"), ProvisionFailure::Other, t(40))
        .unwrap();
    let mut got: Vec<(ProvisionId, usize, CancellationCause)> = d
        .cancellations
        .iter()
        .map(|c| (c.provision, c.hosts.len(), c.cause))
        .collect();
    got.sort_unstable_by_key(|c| c.0);
    assert_eq!(
        got,
        vec![
            (b1.id, b1.hosts.len(), CancellationCause::ProvisionFailed),
            (b2.id, b2.hosts.len(), CancellationCause::ProvisionFailed),
        ]
    );

    // Zone a is lost: every planned host there goes.
    let in_a: BTreeSet<HostId> = planned_hosts(&s)
        .into_iter()
        .filter(|h| s.host(*h).unwrap().zone == id::<ZoneId>("a"))
        .collect();
    assert!(in_a.len() >= 2);
    let d = s.zone_down(&id("a"), t(50)).unwrap();
    let cancelled: BTreeSet<HostId> = d
        .cancellations
        .iter()
        .inspect(|c| assert_eq!(c.cause, CancellationCause::ZoneDown))
        .flat_map(|c| c.hosts.iter().copied())
        .collect();
    assert_eq!(cancelled, in_a);
    assert!(planned_hosts(&s).iter().all(|h| !cancelled.contains(h)));
    s.check_invariants().unwrap();

    // A failed planned host is a cancellation too.
    let _ = s.zone_up(&id("a"), t(60)).unwrap();
    let _ = s.scale(&id("svc"), 20, t(70)).unwrap();
    let h = planned_hosts(&s)[0];
    let d = s.host_failed(h, t(80)).unwrap();
    assert!(
        d.cancellations
            .iter()
            .any(|c| c.hosts == [h] && c.cause == CancellationCause::HostFailed),
        "{d:?}"
    );
    s.check_invariants().unwrap();
}

// ----- stock semantics --------------------------------------------------------------

/// Known stock counts hosts not yet ordered: planning takes from it,
/// `host_ready` does not, a fresh `set_stock` while orders are in flight is
/// not reduced by them again, and dropped planned hosts give their units
/// back.
#[test]
fn known_stock_counts_hosts_not_yet_ordered() {
    let mut s = one_offering(Stock::Known(5));
    let stock = |s: &Scheduler| {
        let o = offering(s);
        (o.stock, o.planned)
    };
    // Two hosts ordered: three left to order.
    let d = s.scale(&id("svc"), 8, t(10)).unwrap();
    assert_eq!(d.provisions[0].count, 2);
    assert_eq!(stock(&s), (Stock::Known(3), 2));

    // The provider reports three left (our two orders are already out of
    // its stock): all three can be ordered.
    let d = s
        .set_stock(&id("g7.4x"), &id("a"), Stock::Known(3), t(20))
        .unwrap();
    assert!(d.is_empty());
    assert_eq!(stock(&s), (Stock::Known(3), 2));
    let d = s.scale(&id("svc"), 20, t(30)).unwrap();
    assert_eq!(d.provisions[0].count, 3, "{d:?}");
    assert!(d.shortfalls.is_empty() && d.pending.is_empty());
    assert_eq!(stock(&s), (Stock::Known(0), 5));

    // A host is up: nothing more is taken from the stock.
    let first = planned_hosts(&s)[0];
    let _ = s.host_ready(first, HostId(100), t(40)).unwrap();
    assert_eq!(stock(&s), (Stock::Known(0), 4));

    // The provider now reports one more.
    let _ = s
        .set_stock(&id("g7.4x"), &id("a"), Stock::Known(1), t(50))
        .unwrap();
    assert_eq!(stock(&s), (Stock::Known(1), 4));

    // The offering fails: its four planned hosts are cancelled and their
    // units come back; the back-off keeps it aside.
    let d = s
        .provision_failed(
            &id("g7.4x"),
            &id("a"),
            ProvisionFailure::InsufficientStock,
            t(60),
        )
        .unwrap();
    let cancelled: usize = d.cancellations.iter().map(|c| c.hosts.len()).sum();
    assert_eq!(cancelled, 4);
    assert!(d.provisions.is_empty());
    assert_eq!(stock(&s), (Stock::Known(5), 0));
    assert_eq!(d.pending.len(), 16);
    s.check_invariants().unwrap();
}

// ----- the random-operation model ---------------------------------------------------

const ZONES: [&str; 3] = ["a", "b", "c"];
const SKUS: [&str; 3] = ["g7.4x", "g7.8x", "c7.4x"];
const APPS: [&str; 4] = ["web", "batch", "db", "be"];

#[derive(Clone, Debug)]
enum Op {
    Scale {
        app: usize,
        target: u32,
    },
    RemoveInstance {
        pick: usize,
    },
    Fail {
        pick: usize,
    },
    Ready {
        pick: usize,
    },
    Stock {
        sku: usize,
        zone: usize,
        stock: Stock,
    },
    ZoneDown {
        zone: usize,
    },
    ZoneUp {
        zone: usize,
    },
    RemoveHost {
        pick: usize,
    },
    HostFailed {
        pick: usize,
    },
    AddHost {
        sku: usize,
        zone: usize,
    },
    Reconcile,
    Rebalance,
    PlanReturn,
    CompleteMove {
        pick: usize,
    },
    AbortMove {
        pick: usize,
    },
}

fn gen_stock() -> impl Strategy<Value = Stock> {
    prop_oneof![
        Just(Stock::Unknown),
        Just(Stock::Exhausted),
        (0u32..6).prop_map(Stock::Known),
    ]
}

fn gen_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4, 0u32..14).prop_map(|(app, target)| Op::Scale { app, target }),
        2 => any::<usize>().prop_map(|pick| Op::RemoveInstance { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Fail { pick }),
        4 => any::<usize>().prop_map(|pick| Op::Ready { pick }),
        3 => (0usize..3, 0usize..3, gen_stock())
            .prop_map(|(sku, zone, stock)| Op::Stock { sku, zone, stock }),
        1 => (0usize..3).prop_map(|zone| Op::ZoneDown { zone }),
        2 => (0usize..3).prop_map(|zone| Op::ZoneUp { zone }),
        2 => any::<usize>().prop_map(|pick| Op::RemoveHost { pick }),
        1 => any::<usize>().prop_map(|pick| Op::HostFailed { pick }),
        2 => (0usize..3, 0usize..3).prop_map(|(sku, zone)| Op::AddHost { sku, zone }),
        1 => Just(Op::Reconcile),
        1 => Just(Op::Rebalance),
        1 => Just(Op::PlanReturn),
        1 => any::<usize>().prop_map(|pick| Op::CompleteMove { pick }),
        1 => any::<usize>().prop_map(|pick| Op::AbortMove { pick }),
    ]
}

/// Zones a, b, c; g7.4x (16 vCPU, 64 GiB), g7.8x (32 vCPU, 128 GiB, two
/// NUMA nodes) and c7.4x (16 vCPU, 32 GiB); apps web (4 vCPU, skew 1, does
/// not schedule anyway), batch (6 vCPU), db (8 vCPU on one node, asks for
/// g7.4x, skew 2, schedules anyway) and be (best effort).
fn model(stocks: &[Stock]) -> Scheduler {
    let mut s = Scheduler::default();
    for z in ZONES {
        s.add_zone(id(z), ZoneState::Up, s.now()).unwrap();
    }
    s.add_sku(sku("g7.4x", 16_000, 65_536), s.now()).unwrap();
    let mut big = with_numa(sku("g7.8x", 32_000, 131_072), 2);
    big.price_nanos_per_second = 2_000;
    s.add_sku(big, s.now()).unwrap();
    let mut c7 = sku("c7.4x", 16_000, 32_768);
    c7.price_nanos_per_second = 900;
    s.add_sku(c7, s.now()).unwrap();
    let mut web = app("web", 4_000, 16_384);
    web.spread.max_skew = Some(1);
    s.add_app(web, s.now()).unwrap();
    s.add_app(app("batch", 6_000, 12_288), s.now()).unwrap();
    let mut db = app("db", 8_000, 32_768);
    db.numa = NumaPolicy::SingleNode;
    db.sku = Some(id("g7.4x"));
    db.spread.max_skew = Some(2);
    db.spread.when_unsatisfiable = WhenUnsatisfiable::ScheduleAnyway;
    db.substitution.disruption_budget = 2;
    s.add_app(db, s.now()).unwrap();
    s.add_app(best_effort(app("be", 2_000, 4_096)), s.now())
        .unwrap();
    for (k, stock) in stocks.iter().enumerate() {
        let (sku, zone) = (SKUS[k % 3], ZONES[k / 3]);
        let _ = s.set_stock(&id(sku), &id(zone), *stock, t(1)).unwrap();
    }
    s
}

/// The embedder's side: the planned hosts it was asked to provision and
/// has not seen cancelled or ready, by provision.
#[derive(Default)]
struct Embedder {
    orders: BTreeMap<HostId, ProvisionId>,
    next_real: u64,
}

fn pick<T: Copy>(items: &[T], pick: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[pick % items.len()])
}

fn all_instances(s: &Scheduler) -> Vec<InstanceId> {
    let mut v: Vec<InstanceId> = APPS.iter().flat_map(|a| s.app_instances(&id(a))).collect();
    v.sort_unstable();
    v
}

fn all_hosts(s: &Scheduler) -> Vec<HostId> {
    let mut v: Vec<HostId> = s.host_ids().collect();
    v.sort_unstable();
    v
}

/// Run one operation. Returns the decisions (None if the call was refused,
/// which must leave the state as it was) and the planned host reported
/// ready, if any.
fn apply(
    s: &mut Scheduler,
    e: &mut Embedder,
    op: &Op,
    now: Timestamp,
) -> (Option<Decisions>, Option<HostId>) {
    let before = json(s);
    let mut ready = None;
    let result = match op {
        Op::Scale { app, target } => s.scale(&id(APPS[*app]), *target, now),
        Op::RemoveInstance { pick: p } => match pick(&all_instances(s), *p) {
            Some(i) => s.remove_instance(i, now),
            None => s.reconcile(now),
        },
        Op::Fail { pick: p } => {
            let offers = s.offerings();
            let busy: Vec<usize> = (0..offers.len())
                .filter(|k| offers[*k].planned > 0)
                .collect();
            let all: Vec<usize> = (0..offers.len()).collect();
            let k = pick(&busy, *p).or_else(|| pick(&all, *p));
            match k {
                Some(k) => s.provision_failed(
                    &offers[k].sku,
                    &offers[k].zone,
                    ProvisionFailure::InsufficientStock,
                    now,
                ),
                None => s.reconcile(now),
            }
        }
        Op::Ready { pick: p } => match pick(&planned_hosts(s), *p) {
            Some(h) => {
                ready = Some(h);
                e.next_real += 1;
                s.host_ready(h, HostId(e.next_real), now)
            }
            None => s.reconcile(now),
        },
        Op::Stock { sku, zone, stock } => {
            s.set_stock(&id(SKUS[*sku]), &id(ZONES[*zone]), *stock, now)
        }
        Op::ZoneDown { zone } => s.zone_down(&id(ZONES[*zone]), now),
        Op::ZoneUp { zone } => s.zone_up(&id(ZONES[*zone]), now),
        Op::RemoveHost { pick: p } => match pick(&all_hosts(s), *p) {
            Some(h) => s.remove_host(h, now),
            None => s.reconcile(now),
        },
        Op::HostFailed { pick: p } => match pick(&all_hosts(s), *p) {
            Some(h) => s.host_failed(h, now),
            None => s.reconcile(now),
        },
        Op::AddHost { sku, zone } => {
            e.next_real += 1;
            s.add_host(host_spec(e.next_real, SKUS[*sku], ZONES[*zone]), now)
        }
        Op::Reconcile => s.reconcile(now),
        Op::Rebalance => s.rebalance(now),
        Op::PlanReturn => s.plan_return(now),
        Op::CompleteMove { pick: p } => {
            let moves: Vec<InstanceId> = s.moves_in_flight().iter().map(|m| m.to).collect();
            match pick(&moves, *p) {
                Some(to) => s.complete_move(to, now),
                None => s.reconcile(now),
            }
        }
        Op::AbortMove { pick: p } => {
            let moves: Vec<InstanceId> = s.moves_in_flight().iter().map(|m| m.to).collect();
            match pick(&moves, *p) {
                Some(to) => s.abort_move(to, now),
                None => s.reconcile(now),
            }
        }
    };
    match result {
        Ok(d) => (Some(d), ready),
        Err(err) => {
            assert_eq!(
                json(s),
                before,
                "refused call {op:?} changed the state: {err}"
            );
            (None, None)
        }
    }
}

/// Every promise about planned hosts, checked after one call.
fn check_call(
    before: &Scheduler,
    s: &Scheduler,
    e: &mut Embedder,
    op: &Op,
    d: &Decisions,
    ready: Option<HostId>,
) -> Result<(), TestCaseError> {
    let planned_before: BTreeSet<HostId> = planned_hosts(before).into_iter().collect();
    let planned_now: BTreeSet<HostId> = planned_hosts(s).into_iter().collect();
    let cancelled: BTreeSet<HostId> = d
        .cancellations
        .iter()
        .flat_map(|c| c.hosts.iter().copied())
        .collect();
    // No returned provision has a planned host that ends the call empty
    // (and none is cancelled in the same decisions).
    for p in &d.provisions {
        prop_assert_eq!(p.count as usize, p.hosts.len(), "{:?}", p);
        prop_assert!(p.count > 0 && p.instances > 0, "{:?}", p);
        for h in &p.hosts {
            let v = s.host(*h);
            prop_assert!(
                v.as_ref()
                    .is_some_and(|v| v.state == HostState::Planned && !v.instances.is_empty()),
                "{:?} returned with planned host {} empty or gone after {:?}",
                p,
                h,
                op
            );
            prop_assert!(!cancelled.contains(h), "{} provisioned and cancelled", h);
        }
    }
    // Every planned host has at least one tentative instance, and an
    // instance is tentative exactly when its host is planned.
    for h in &planned_now {
        let v = s.host(*h).unwrap();
        prop_assert!(
            !v.instances.is_empty(),
            "planned {} is empty after {:?}",
            h,
            op
        );
    }
    for i in all_instances(s) {
        match s.instance(i).unwrap().status {
            InstanceStatus::Placed { host, .. } => {
                prop_assert!(!host.is_planned(), "{} placed on planned {}", i, host);
                prop_assert!(s.host(host).unwrap().instances.contains(&i));
            }
            InstanceStatus::Tentative { planned_host, .. } => {
                prop_assert!(
                    planned_now.contains(&planned_host),
                    "{} on {}",
                    i,
                    planned_host
                );
                prop_assert!(s.host(planned_host).unwrap().instances.contains(&i));
            }
            InstanceStatus::Pending { .. } => {}
            other => prop_assert!(false, "unknown status {:?}", other),
        }
    }
    // Every cancellation names a planned host that existed before the call
    // and does not after, under the provision it was requested in.
    for c in &d.cancellations {
        for h in &c.hosts {
            prop_assert!(planned_before.contains(h), "{:?}: {} was not planned", c, h);
            prop_assert!(s.host(*h).is_none(), "{:?}: {} still exists", c, h);
            prop_assert_eq!(e.orders.remove(h), Some(c.provision), "{:?}", c);
        }
    }
    if let Some(h) = ready {
        prop_assert!(e.orders.remove(&h).is_some());
    }
    for p in &d.provisions {
        for h in &p.hosts {
            prop_assert!(e.orders.insert(*h, p.id).is_none(), "{} requested twice", h);
        }
    }
    // Following the decisions alone, the embedder knows exactly the planned
    // hosts the scheduler holds: none vanished unannounced.
    let known: BTreeSet<HostId> = e.orders.keys().copied().collect();
    prop_assert_eq!(&known, &planned_now, "after {:?}", op);
    // Tentative decisions are on hosts the embedder was asked for.
    for p in &d.tentative {
        if s.host(p.host).is_some() {
            prop_assert!(known.contains(&p.host), "{:?} on an unannounced host", p);
        }
    }
    // Known stock is counted once: it moves only by the hosts requested
    // and cancelled in this call (or is replaced by set_stock).
    let after: BTreeMap<(SkuId, ZoneId), Stock> = s
        .offerings()
        .into_iter()
        .map(|o| ((o.sku, o.zone), o.stock))
        .collect();
    for o in before.offerings() {
        let key = (o.sku.clone(), o.zone.clone());
        let base = match op {
            Op::Stock { sku, zone, stock }
                if o.sku == id::<SkuId>(SKUS[*sku]) && o.zone == id::<ZoneId>(ZONES[*zone]) =>
            {
                *stock
            }
            _ => o.stock,
        };
        let requested: i64 = d
            .provisions
            .iter()
            .filter(|p| p.sku == o.sku && p.zone == o.zone)
            .map(|p| i64::from(p.count))
            .sum();
        let given_back: i64 = d
            .cancellations
            .iter()
            .filter(|c| c.sku == o.sku && c.zone == o.zone)
            .map(|c| c.hosts.len() as i64)
            .sum();
        let expect = match base {
            Stock::Known(n) => Stock::Known(
                u32::try_from(i64::from(n) - requested + given_back).map_err(|_| {
                    TestCaseError::fail(format!("{o:?}: {requested} requested beyond the stock"))
                })?,
            ),
            other => other,
        };
        prop_assert_eq!(after[&key], expect, "{:?} after {:?}: {:?}", o, op, d);
    }
    prop_assert!(s.check_invariants().is_ok(), "{:?}", s.check_invariants());
    Ok(())
}

proptest! {
    #![proptest_config(common::cases(256))]

    /// Random operations over every call that plans or drops planned
    /// hosts: after each, no returned provision has an empty planned host,
    /// every planned host has a tentative instance, every cancellation names
    /// a host that existed before and is gone, the embedder that follows
    /// the decisions knows exactly the planned hosts, and known stock is
    /// counted once.
    #[test]
    fn planned_hosts_follow_the_decisions(
        stocks in proptest::collection::vec(gen_stock(), 9),
        ops in proptest::collection::vec((1u64..120_000, gen_op()), 1..60),
    ) {
        let mut s = model(&stocks);
        let mut e = Embedder { next_real: 1_000, ..Embedder::default() };
        let mut now = 1;
        for (dt, op) in &ops {
            now += dt;
            let before = s.clone();
            let (d, ready) = apply(&mut s, &mut e, op, t(now));
            if let Some(d) = d {
                check_call(&before, &s, &mut e, op, &d, ready)?;
            }
        }
        // Scaling every app to zero leaves no planned host.
        for a in APPS {
            now += 1;
            let before = s.clone();
            let op = Op::Scale { app: APPS.iter().position(|x| *x == a).unwrap(), target: 0 };
            let d = s.scale(&id(a), 0, t(now)).unwrap();
            check_call(&before, &s, &mut e, &op, &d, None)?;
        }
        prop_assert!(planned_hosts(&s).is_empty());
        prop_assert!(e.orders.is_empty());
    }
}
