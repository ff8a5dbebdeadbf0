//! Hand-edited snapshots that no sequence of calls could produce: `restore`
//! refuses each one and says which field is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{app, id, sku};
use trimline::*;

/// A region with something in every part of a snapshot: two zones, two x86
/// SKUs and an arm one, running hosts, an app confined to zone a with placed
/// instances, a planned host with a tentative instance, and an offering
/// that backed off after a failed provisioning.
fn region() -> Scheduler {
    let mut s = Scheduler::default();
    let t0 = Timestamp(0);
    s.add_zone(id("a"), ZoneState::Up, t0).unwrap();
    s.add_zone(id("b"), ZoneState::Up, t0).unwrap();
    s.add_sku(sku("g7", 4_000, 8_192), t0).unwrap();
    let mut arm = sku("g8y", 4_000, 8_192);
    arm.arch = Arch::Aarch64;
    s.add_sku(arm, t0).unwrap();
    s.add_sku(sku("c7", 4_000, 8_192), t0).unwrap();
    for (h, sku, zone) in [(1, "g7", "a"), (2, "g7", "b"), (3, "g8y", "a")] {
        let spec = HostSpec {
            id: HostId(h),
            sku: id(sku),
            zone: id(zone),
        };
        let _ = s.add_host(spec, t0).unwrap();
    }
    let mut web = app("web", 1_000, 1_024);
    web.spread.zones = vec![id("a")];
    s.add_app(web, t0).unwrap();
    s.add_app(app("big", 4_000, 8_192), t0).unwrap();
    let _ = s.scale(&id("web"), 2, Timestamp(1)).unwrap();
    // g7 in zone b fails once, then stock appears in zone a for "big".
    let _ = s
        .set_stock(&id("g7"), &id("b"), Stock::Known(1), Timestamp(2))
        .unwrap();
    let _ = s
        .provision_failed(
            &id("g7"),
            &id("b"),
            ProvisionFailure::InsufficientStock,
            Timestamp(3),
        )
        .unwrap();
    let _ = s.scale(&id("big"), 2, Timestamp(4)).unwrap();
    let _ = s
        .set_stock(&id("g7"), &id("a"), Stock::Known(1), Timestamp(5))
        .unwrap();
    s.check_invariants().unwrap();
    s
}

fn snapshot() -> Snapshot {
    let snap = region().snapshot();
    // The region has what the cases below edit.
    assert!(snap.hosts.iter().any(|h| h.state == HostState::Planned));
    assert!(snap.offerings.iter().any(|o| o.failures > 0));
    snap
}

fn refused(snap: Snapshot) -> String {
    match Scheduler::restore(snap) {
        Ok(_) => panic!("an impossible snapshot was restored"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Restore);
            e.to_string()
        }
    }
}

fn placed_on(snap: &Snapshot, app: &str) -> usize {
    snap.instances
        .iter()
        .position(|i| i.app == id(app) && matches!(i.status, InstanceStatus::Placed { .. }))
        .unwrap()
}

#[test]
fn the_region_itself_restores() {
    let s = region();
    let r = Scheduler::restore(s.snapshot()).unwrap();
    assert_eq!(r.snapshot(), s.snapshot());
}

#[test]
fn an_offering_backed_off_without_a_failure_is_refused() {
    let mut snap = snapshot();
    let o = snap.offerings.iter_mut().find(|o| o.failures > 0).unwrap();
    o.failures = 0;
    assert_eq!(
        refused(snap),
        "offering of sku g7 in zone b: backoff_until is set but failures is 0"
    );
}

#[test]
fn an_offering_with_failures_and_no_back_off_is_refused() {
    let mut snap = snapshot();
    let o = snap.offerings.iter_mut().find(|o| o.failures > 0).unwrap();
    o.backoff_until = None;
    assert_eq!(
        refused(snap),
        "offering of sku g7 in zone b: failures is above 0 but backoff_until is not set"
    );
}

#[test]
fn a_back_off_longer_than_the_longest_is_refused() {
    let mut snap = snapshot();
    let now = snap.now.0;
    let max = snap.config.backoff_max_ms;
    let o = snap.offerings.iter_mut().find(|o| o.failures > 0).unwrap();
    o.backoff_until = Some(Timestamp(now + max + 1));
    assert_eq!(
        refused(snap),
        "offering of sku g7 in zone b: backoff_until 3600006 is more than backoff_max_ms \
         (3600000) after the snapshot's time 5"
    );
    // At the longest back-off exactly, it restores.
    let mut snap = snapshot();
    let o = snap.offerings.iter_mut().find(|o| o.failures > 0).unwrap();
    o.backoff_until = Some(Timestamp(now + max));
    Scheduler::restore(snap).unwrap();
}

#[test]
fn an_instance_on_a_sku_of_the_wrong_architecture_is_refused() {
    let mut snap = snapshot();
    let i = placed_on(&snap, "web");
    let InstanceStatus::Placed { host, .. } = &mut snap.instances[i].status else {
        unreachable!()
    };
    // Host 3 is an arm host in zone a, empty: capacity is not the problem.
    *host = HostId(3);
    let e = refused(snap);
    assert!(
        e.ends_with(
            "on host-3: its sku g8y cannot serve the app (arch aarch64 not in app images [x86_64])"
        ),
        "{e}"
    );
}

#[test]
fn an_instance_in_a_zone_its_app_does_not_allow_is_refused() {
    let mut snap = snapshot();
    // Host 2, in zone b, made empty (its instance removed).
    snap.instances
        .retain(|i| !matches!(i.status, InstanceStatus::Placed { host, .. } if host == HostId(2)));
    let i = placed_on(&snap, "web");
    let InstanceStatus::Placed { host, .. } = &mut snap.instances[i].status else {
        unreachable!()
    };
    *host = HostId(2);
    let e = refused(snap);
    assert!(
        e.ends_with("on host-2: zone b is not among the app's spread.zones"),
        "{e}"
    );
}

#[test]
fn a_planned_host_whose_provision_is_shared_across_offerings_is_refused() {
    let mut snap = snapshot();
    let planned = snap
        .hosts
        .iter()
        .find(|h| h.state == HostState::Planned)
        .cloned()
        .unwrap();
    // A second planned host of the same provision request, of the other SKU.
    let mut other = planned.clone();
    other.id = HostId(planned.id.0 + 1);
    other.sku = id("c7");
    other.slot = 0;
    snap.hosts.push(other.clone());
    snap.next_planned += 1;
    let mut offering = snap
        .offerings
        .iter()
        .find(|o| o.failures == 0)
        .cloned()
        .unwrap();
    offering.sku = id("c7");
    offering.zone = planned.zone.clone();
    snap.offerings.push(offering);
    // The instance waiting on the planned host has a twin on the other one.
    let mut twin = snap
        .instances
        .iter()
        .find(|i| matches!(i.status, InstanceStatus::Tentative { .. }))
        .cloned()
        .unwrap();
    twin.id = InstanceId(snap.next_instance);
    snap.next_instance += 1;
    if let InstanceStatus::Tentative { planned_host, .. } = &mut twin.status {
        *planned_host = other.id;
    }
    snap.instances.push(twin);
    // Without the mix-up (the host in a request of its own), it restores.
    let mut alone = snap.clone();
    let last = alone.hosts.len() - 1;
    alone.hosts[last].provision = Some(ProvisionId(alone.next_provision));
    alone.next_provision += 1;
    Scheduler::restore(alone).unwrap();
    assert_eq!(
        refused(snap),
        format!(
            "planned host {}: provision {} orders sku g7 in zone a, \
             not this host's offering",
            other.id,
            planned.provision.unwrap()
        )
    );
}

#[test]
fn a_planned_host_of_an_offering_still_backed_off_is_refused() {
    let mut snap = snapshot();
    // A failed provisioning drops every planned host of its offering, and
    // nothing is planned on an offering while it backs off.
    let failed = snap.offerings.iter().position(|o| o.failures > 0).unwrap();
    let planned = snap
        .hosts
        .iter()
        .position(|h| h.state == HostState::Planned)
        .unwrap();
    let (sku, zone) = (
        snap.offerings[failed].sku.clone(),
        snap.offerings[failed].zone.clone(),
    );
    assert_ne!(snap.hosts[planned].zone, zone);
    // Move the planned host (and what waits on it) to the failed offering:
    // zone b, where "big" may go.
    snap.hosts[planned].sku = sku;
    snap.hosts[planned].zone = zone;
    assert_eq!(
        refused(snap),
        "offering of sku g7 in zone b: it has planned hosts while it backs off"
    );
}
