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
