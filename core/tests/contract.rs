//! What the decisions tell the embedder, checked from the outside: tentative
//! instances are not running.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{app, id, json, sku};
use trimline::*;

fn t(ms: u64) -> Timestamp {
    Timestamp(ms)
}

/// One zone `a`, SKU g7.4x (16 vCPU, 64 GiB) offered there with `stock`,
/// and the app "svc" (4 vCPU, 16 GiB: four per host). No running host.
fn one_offering(stock: Stock) -> Scheduler {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up).unwrap();
    s.add_sku(sku("g7.4x", 16_000, 65_536)).unwrap();
    s.add_app(app("svc", 4_000, 16_384)).unwrap();
    let d = s.set_stock(&id("g7.4x"), &id("a"), stock, t(1)).unwrap();
    assert!(d.is_empty());
    s
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
