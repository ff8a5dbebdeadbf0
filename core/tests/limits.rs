//! Every limit an error reports says its number.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Sim, app, id, sku};
use trimline::metering::{EventId, EventKind, MeterError};
use trimline::*;

fn region() -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 16_000, 65_536));
    sim.hosts("g7", "a", 2);
    sim.app(app("web", 1_000, 1_024));
    sim
}

#[test]
fn a_full_class_says_how_many_hosts_it_holds() {
    let e = Error::ClassFull {
        sku: id("s"),
        zone: id("a"),
    };
    assert_eq!(
        e.to_string(),
        "zone a already holds the maximum number of hosts of sku s (1,048,576)"
    );
    assert_eq!(MAX_CLASS_SLOTS, 1_048_576);
}

#[test]
fn a_slot_beyond_the_largest_class_says_the_limit() {
    let sim = region();
    let mut snap = sim.s.snapshot();
    snap.hosts[1].slot = MAX_CLASS_SLOTS;
    let e = Scheduler::restore(snap).expect_err("slot out of range");
    assert!(matches!(e, RestoreError::SlotOutOfRange { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "host host-2 has slot 1048576, beyond the largest class (slots are below 1,048,576)"
    );
}

#[test]
fn a_scheduler_full_of_instances_says_how_many_it_holds() {
    let e = Error::TooManyInstances {
        app: id("web"),
        requested: 5,
        held: 4_294_967_293,
    };
    assert_eq!(
        e.to_string(),
        "5 more instances of app web do not fit in the scheduler: \
         it holds 4294967293 and can hold at most 4,294,967,295"
    );
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
}

/// A restored snapshot whose instance id counter is at its end: adding an
/// instance says the counter ran out, not that the batch is too large.
#[test]
fn an_exhausted_instance_id_counter_says_so() {
    let mut sim = region();
    let mut snap = sim.s.snapshot();
    snap.next_instance = u64::MAX;
    sim.s = Scheduler::restore(snap).unwrap();
    let e = sim.s.scale(&id("web"), 1, sim.now).unwrap_err();
    assert_eq!(
        e,
        Error::InstanceIdsExhausted {
            app: id("web"),
            requested: 1,
            next: u64::MAX,
        }
    );
    assert_eq!(
        e.to_string(),
        "the instance id counter has run out: the next id is 18446744073709551615, \
         ids end at 18,446,744,073,709,551,614, so 1 new instance of app web cannot be numbered"
    );
    // One id before the end, one instance still fits, and then none.
    let mut snap = sim.s.snapshot();
    snap.next_instance = u64::MAX - 1;
    sim.s = Scheduler::restore(snap).unwrap();
    let d = sim.s.scale(&id("web"), 1, sim.now).unwrap();
    assert_eq!(d.placements[0].instance, InstanceId(u64::MAX - 1));
    let e = sim.s.scale(&id("web"), 2, sim.now).unwrap_err();
    assert!(matches!(e, Error::InstanceIdsExhausted { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
}

#[test]
fn an_out_of_range_planned_host_counter_says_the_limit() {
    let sim = region();
    let mut snap = sim.s.snapshot();
    snap.next_planned = PLANNED_HOST_BIT + 1;
    let e = Scheduler::restore(snap).expect_err("counter out of range");
    assert!(matches!(e, RestoreError::Counter(_)), "{e:?}");
    assert!(
        e.to_string().contains("at most 9,223,372,036,854,775,807"),
        "{e}"
    );
}

#[test]
fn an_event_id_out_of_range_says_the_limits() {
    let kind = EventKind::Stopped;
    let e = EventId::derived(InstanceId(1), &kind, Timestamp(1 << 48), 0).unwrap_err();
    assert!(matches!(e, MeterError::IdOutOfRange { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "i-1: cannot derive an event id for time t=281474976710656ms (occurrence 0): \
         derived ids encode times below t=281474976710656ms and occurrences below 4096"
    );
}

/// Fill a limit call by call: the call past it is refused with the limit's
/// number and leaves the scheduler as it was.
#[test]
fn the_zone_past_the_limit_is_refused_and_changes_nothing() {
    let mut s = Scheduler::default();
    for z in 0..MAX_ZONES {
        s.add_zone(id(&format!("z{z}")), ZoneState::Up, Timestamp(0))
            .unwrap();
    }
    let before = s.snapshot();
    let e = s
        .add_zone(id("one-more"), ZoneState::Up, Timestamp(1))
        .unwrap_err();
    assert_eq!(
        e,
        Error::LimitReached {
            limit: Limit::Zones
        }
    );
    assert_eq!(
        e.to_string(),
        "the scheduler already holds 1,024 zones, the most it can hold"
    );
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert_eq!(s.snapshot(), before);
    // A duplicate is still named as such at the limit.
    assert!(matches!(
        s.add_zone(id("z0"), ZoneState::Up, Timestamp(1)),
        Err(Error::DuplicateZone(_))
    ));
}

#[test]
fn the_sku_past_the_limit_is_refused_and_changes_nothing() {
    let mut s = Scheduler::default();
    for k in 0..MAX_SKUS {
        s.add_sku(sku(&format!("s{k}"), 4_000, 8_192), Timestamp(0))
            .unwrap();
    }
    let before = s.snapshot();
    let e = s
        .add_sku(sku("one-more", 4_000, 8_192), Timestamp(1))
        .unwrap_err();
    assert_eq!(e, Error::LimitReached { limit: Limit::Skus });
    assert_eq!(
        e.to_string(),
        "the scheduler already holds 4,096 SKUs, the most it can hold"
    );
    assert_eq!(s.snapshot(), before);
}

/// A snapshot listing more zones than a scheduler holds is refused before
/// any zone is rebuilt, with the count and the limit.
#[test]
fn a_snapshot_past_a_limit_is_refused_with_its_count() {
    let sim = region();
    let mut snap = sim.s.snapshot();
    for z in 0..MAX_ZONES {
        snap.zones.push(ZoneRecord {
            id: id(&format!("extra-{z}")),
            state: ZoneState::Up,
        });
    }
    let e = Scheduler::restore(snap).unwrap_err();
    assert_eq!(
        e,
        RestoreError::TooMany {
            limit: Limit::Zones,
            count: MAX_ZONES + 1
        }
    );
    assert_eq!(
        e.to_string(),
        "snapshot lists 1,025 zones; a scheduler holds at most 1,024"
    );
}

#[test]
fn an_app_with_too_many_tiers_is_refused() {
    let mut sim = region();
    let mut spec = app("tiered", 1_000, 1_024);
    spec.substitution.tiers = vec![vec![id("g7")]; MAX_TIERS + 1];
    let e = sim.s.add_app(spec.clone(), sim.now).unwrap_err();
    assert_eq!(
        e.to_string(),
        "app tiered: substitution.tiers lists 65 tiers; the maximum is 64"
    );
    spec.substitution.tiers.truncate(MAX_TIERS);
    sim.s.add_app(spec, sim.now).unwrap();
}

/// No configuration lets one call create more than `MAX_BATCH` instances:
/// a huge batch is refused before anything is allocated.
#[test]
fn the_batch_size_is_capped_whatever_the_config_says() {
    let mut s = Scheduler::new(Config {
        max_batch: u32::MAX,
        ..Config::default()
    });
    assert_eq!(s.config().max_batch, MAX_BATCH);
    s.add_zone(id("a"), ZoneState::Up, Timestamp(0)).unwrap();
    s.add_app(app("web", 1_000, 1_024), Timestamp(0)).unwrap();
    let before = s.snapshot();
    let e = s
        .place_batch(&id("web"), u32::MAX, BatchMode::Partial, Timestamp(1))
        .unwrap_err();
    assert_eq!(
        e,
        Error::BatchTooLarge {
            app: id("web"),
            requested: u64::from(u32::MAX),
            max: MAX_BATCH
        }
    );
    assert_eq!(s.snapshot(), before);
    // A snapshot cannot raise it either.
    let mut snap = s.snapshot();
    snap.config.max_batch = MAX_BATCH + 1;
    assert!(matches!(
        Scheduler::restore(snap),
        Err(RestoreError::Config(_))
    ));
}

#[test]
fn the_price_table_past_the_limit_is_refused() {
    use trimline::metering::{Meter, MeterConfig, PriceTable};
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    for v in 0..MAX_PRICE_TABLES as u64 {
        m.add_price_table(PriceTable::new(v + 1, Timestamp(v), 1, 1, 1))
            .unwrap();
    }
    let e = m
        .add_price_table(PriceTable::new(1 << 20, Timestamp(1 << 20), 1, 1, 1))
        .unwrap_err();
    assert_eq!(e, MeterError::TooManyPriceTables);
    assert_eq!(
        e.to_string(),
        "the meter already holds 4096 price tables, the most it can hold"
    );
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
}
