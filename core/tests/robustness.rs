//! Regressions from a review that tried to break the scheduler: odd
//! snapshots, counters at their limits, planning in zones that cannot take
//! the instance, and a restored scheduler that must decide like the
//! original.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{app, id, sku, with_numa};
use trimline::*;

fn base() -> Scheduler {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, s.now()).unwrap();
    s.add_zone(id("b"), ZoneState::Up, s.now()).unwrap();
    s.add_sku(sku("g7", 4_000, 8_192), s.now()).unwrap();
    for (h, z) in [(1, "a"), (2, "b")] {
        let spec = HostSpec {
            id: HostId(h),
            sku: id("g7"),
            zone: id(z),
        };
        let _ = s.add_host(spec, Timestamp(0)).unwrap();
    }
    s.add_app(app("web", 1_000, 1_024), s.now()).unwrap();
    s
}

fn counter_err(snap: Snapshot) -> bool {
    matches!(Scheduler::restore(snap), Err(RestoreError::Counter(_)))
}

#[test]
fn restore_refuses_counters_out_of_range_and_duplicate_offerings() {
    let mut snap = base().snapshot();
    snap.next_instance = 0;
    assert!(counter_err(snap));
    let mut snap = base().snapshot();
    snap.next_provision = 0;
    assert!(counter_err(snap));
    let mut s = base();
    let _ = s
        .set_stock(&id("g7"), &id("a"), Stock::Known(3), Timestamp(1))
        .unwrap();
    let mut snap = s.snapshot();
    snap.offerings.push(snap.offerings[0].clone());
    assert!(counter_err(snap));
    let mut snap = base().snapshot();
    snap.config.backoff_max_ms = 1;
    assert!(matches!(
        Scheduler::restore(snap),
        Err(RestoreError::Config(_))
    ));
}

/// Planned host numbers and provision numbers at the end of their range
/// stop planning instead of wrapping onto existing ids.
#[test]
fn counters_at_their_limit_stop_planning_without_collisions() {
    let mut s = base();
    for z in ["a", "b"] {
        let _ = s
            .set_stock(&id("g7"), &id(z), Stock::Unknown, Timestamp(1))
            .unwrap();
    }
    let _ = s.scale(&id("web"), 12, Timestamp(2)).unwrap();
    let mut snap = s.snapshot();
    snap.next_planned = !PLANNED_HOST_BIT - 1;
    let mut r = Scheduler::restore(snap).unwrap();
    let before = r.host_count();
    let d = r.scale(&id("web"), 40, Timestamp(3)).unwrap();
    let planned: usize = d.provisions.iter().map(|p| p.hosts.len()).sum();
    assert_eq!(planned, 1, "one number was left");
    assert_eq!(r.host_count(), before + 1);
    r.check_invariants().unwrap();
    assert!(Scheduler::restore(r.snapshot()).is_ok());

    let mut snap = base().snapshot();
    snap.next_provision = u64::MAX - 1;
    let mut r = Scheduler::restore(snap).unwrap();
    let _ = r
        .set_stock(&id("g7"), &id("a"), Stock::Unknown, Timestamp(1))
        .unwrap();
    let d = r.scale(&id("web"), 20, Timestamp(2)).unwrap();
    assert_eq!(d.provisions.len(), 1);
    let d = r.scale(&id("web"), 40, Timestamp(2)).unwrap();
    assert!(d.provisions.is_empty());
    r.check_invariants().unwrap();
    assert!(Scheduler::restore(r.snapshot()).is_ok());
}

/// A replacement cannot go into a draining zone, so no host is planned for
/// it there.
#[test]
fn plan_return_plans_nothing_in_a_zone_that_is_not_up() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, s.now()).unwrap();
    let mut g7 = sku("g7.4x", 16_000, 65_536);
    g7.price_nanos_per_second = 1_000;
    s.add_sku(g7, s.now()).unwrap();
    let mut g8 = sku("g8i.8x", 32_000, 131_072);
    g8.family = id("g8i");
    g8.perf_score = 120;
    g8.price_nanos_per_second = 2_400;
    s.add_sku(g8, s.now()).unwrap();
    let mut web = app("web", 4_000, 8_192);
    web.sku = Some(id("g7.4x"));
    s.add_app(web, s.now()).unwrap();
    let spec = HostSpec {
        id: HostId(1),
        sku: id("g8i.8x"),
        zone: id("a"),
    };
    let _ = s.add_host(spec, Timestamp(0)).unwrap();
    let _ = s.scale(&id("web"), 1, Timestamp(1)).unwrap();
    let _ = s
        .set_zone_state(&id("a"), ZoneState::Draining, Timestamp(2))
        .unwrap();
    let _ = s
        .set_stock(&id("g7.4x"), &id("a"), Stock::Unknown, Timestamp(3))
        .unwrap();
    let d = s.plan_return(Timestamp(4)).unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert!(s.host_ids().all(|h| !h.is_planned()));
}

/// Hosts planned for one app in a pass create classes that apps retried
/// earlier in the same pass must see too; the original (with empty classes
/// from its history) and a restored scheduler then decide alike.
#[test]
fn a_restored_scheduler_evacuates_a_host_like_the_original() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, s.now()).unwrap();
    s.add_sku(with_numa(sku("g8", 8_000, 16_384), 2), s.now())
        .unwrap();
    s.add_app(app("web", 1_000, 1_024), s.now()).unwrap();
    let mut big = app("big", 3_000, 4_096);
    big.numa = NumaPolicy::SingleNode;
    s.add_app(big, s.now()).unwrap();
    s.add_app(app("fill", 7_000, 1_024), s.now()).unwrap();
    let _ = s
        .set_stock(&id("g8"), &id("a"), Stock::Unknown, Timestamp(0))
        .unwrap();
    let d = s.scale(&id("web"), 1, Timestamp(1)).unwrap();
    let _ = s
        .host_ready(d.provisions[0].hosts[0], HostId(10), Timestamp(2))
        .unwrap();
    let _ = s.scale(&id("big"), 2, Timestamp(3)).unwrap();
    let _ = s.scale(&id("web"), 2, Timestamp(4)).unwrap();
    let spec = HostSpec {
        id: HostId(11),
        sku: id("g8"),
        zone: id("a"),
    };
    let _ = s.add_host(spec, Timestamp(5)).unwrap();
    let _ = s.scale(&id("fill"), 1, Timestamp(6)).unwrap();
    let _ = s
        .set_stock(&id("g8"), &id("a"), Stock::Known(1), Timestamp(7))
        .unwrap();
    let mut r = Scheduler::restore(s.snapshot()).unwrap();
    assert_eq!(r.snapshot(), s.snapshot());
    let a = s.host_failed(HostId(10), Timestamp(8)).unwrap();
    let b = r.host_failed(HostId(10), Timestamp(8)).unwrap();
    assert_eq!(a, b);
    assert_eq!(s.snapshot(), r.snapshot());
}
