//! Warm pools: ordered to their target, drawn down first by a scale-out and
//! refilled in the same decisions, kept after failures, shown by a dry run,
//! in snapshots, and never a reason to break a placement rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{app, assert_no_overcommit, cases, id, sku};
use proptest::prelude::*;
use trimline::*;

/// Zones `zones`, one 16-vCPU SKU offered in each with unknown stock.
fn region(zones: &[&str]) -> Scheduler {
    let mut s = Scheduler::default();
    let t = Timestamp(0);
    for z in zones {
        s.add_zone(id(z), ZoneState::Up, t).unwrap();
    }
    s.add_sku(sku("g7.4x", 16_000, 65_536), t).unwrap();
    for z in zones {
        let _ = s
            .set_stock(&id("g7.4x"), &id(z), Stock::Unknown, t)
            .unwrap();
    }
    s.add_app(app("web", 4_000, 8_192), t).unwrap();
    s
}

/// The provisions of `d` with reason `reason`: (zone, count).
fn ordered(d: &Decisions, reason: ProvisionReason) -> Vec<(String, u32)> {
    d.provisions
        .iter()
        .filter(|p| p.reason == reason)
        .map(|p| (p.zone.to_string(), p.count))
        .collect()
}

/// Report every planned host of `d`'s provisions ready, as hosts
/// `next`, `next + 1`, ...
fn ready_all(s: &mut Scheduler, d: &Decisions, next: u64, now: u64) -> Vec<HostId> {
    let mut ids = vec![];
    let planned: Vec<HostId> = d.provisions.iter().flat_map(|p| p.hosts.clone()).collect();
    for (i, p) in planned.into_iter().enumerate() {
        let host = HostId(next + i as u64);
        let _ = s.host_ready(p, host, Timestamp(now)).unwrap();
        ids.push(host);
    }
    ids
}

fn pool(s: &Scheduler, zone: &str) -> (u32, u32, u32) {
    let v = s
        .warm_pools()
        .into_iter()
        .find(|p| p.zone.as_str() == zone)
        .unwrap();
    (v.target, v.idle_ready, v.idle_planned)
}

#[test]
fn a_pool_is_ordered_once_with_no_app() {
    let mut s = region(&["a"]);
    let d = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 2, Timestamp(1))
        .unwrap();
    assert_eq!(
        ordered(&d, ProvisionReason::WarmPool),
        vec![("a".into(), 2)]
    );
    let p = &d.provisions[0];
    assert_eq!((p.app.clone(), p.instances), (None, 0));
    assert!(d.to_string().ends_with("for the warm pool"), "{d}");
    // Planned, they count as idle: nothing is ordered again, and they are
    // not cancelled as unused.
    let d = s.reconcile(Timestamp(2)).unwrap();
    assert!(d.is_empty(), "{d}");
    s.check_invariants().unwrap();
    assert_eq!(pool(&s, "a"), (2, 0, 2));
}

#[test]
fn a_scale_out_draws_the_pool_down_first_then_refills_it() {
    let mut s = region(&["a"]);
    let d = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 2, Timestamp(1))
        .unwrap();
    let pool_hosts = ready_all(&mut s, &d, 100, 2);
    assert_eq!(pool(&s, "a"), (2, 2, 0));
    // Ten instances of 4 vCPU: eight fill the two pool hosts, two go to a
    // new host ordered for web, and the pool is ordered back.
    let dry = s
        .dry_run(|c| c.scale(&id("web"), 10, Timestamp(3)))
        .unwrap();
    let draw = s.warm_pool_draw(&dry);
    let mix = s.cold_start_mix(&dry);
    let d = s.scale(&id("web"), 10, Timestamp(3)).unwrap();
    assert_eq!(d, dry);
    s.check_invariants().unwrap();
    assert_eq!(d.placements.len(), 8);
    assert!(d.placements.iter().all(|p| pool_hosts.contains(&p.host)));
    assert_eq!(d.tentative.len(), 2);
    assert_eq!(
        ordered(&d, ProvisionReason::Instances),
        vec![("a".into(), 1)]
    );
    assert_eq!(
        ordered(&d, ProvisionReason::WarmPool),
        vec![("a".into(), 2)]
    );
    assert_eq!(
        draw,
        WarmPoolDraw {
            hosts_used: 2,
            instances: 8,
            refill_hosts: 2
        }
    );
    assert_eq!(
        (
            mix.warm_with_image.instances,
            mix.new_hosts.instances,
            mix.instances()
        ),
        (8, 2, 10)
    );
    assert_eq!(pool(&s, "a"), (2, 0, 2));
}

#[test]
fn planned_pool_hosts_take_instances_before_a_new_provision() {
    let mut s = region(&["a"]);
    let _ = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 2, Timestamp(1))
        .unwrap();
    let dry = s.dry_run(|c| c.scale(&id("web"), 5, Timestamp(2))).unwrap();
    let mix = s.cold_start_mix(&dry);
    let d = s.scale(&id("web"), 5, Timestamp(2)).unwrap();
    assert_eq!(d, dry);
    s.check_invariants().unwrap();
    // Five instances on the two planned pool hosts (4 + 1): no provision
    // for web, two pool hosts ordered back.
    assert_eq!(d.tentative.len(), 5);
    assert!(ordered(&d, ProvisionReason::Instances).is_empty());
    assert_eq!(
        ordered(&d, ProvisionReason::WarmPool),
        vec![("a".into(), 2)]
    );
    // On pool hosts ordered earlier, they count as warm.
    assert_eq!(
        (mix.warm_with_image.instances, mix.new_hosts.instances),
        (5, 0)
    );
    assert_eq!(s.cold_start_mix(&d), mix);
    assert_eq!(s.warm_pool_draw(&d).refill_hosts, 2);
    // The pool hosts that hold instances are ordinary planned hosts: when
    // web scales in, the one emptied stays in the pool (3 idle, target 2).
    let d = s.scale(&id("web"), 0, Timestamp(3)).unwrap();
    assert!(d.cancellations.is_empty(), "{d}");
    assert_eq!(pool(&s, "a"), (2, 0, 4));
    s.check_invariants().unwrap();
    // Lowering the target cancels the newest idle planned hosts.
    let d = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 1, Timestamp(4))
        .unwrap();
    let cancelled: usize = d.cancellations.iter().map(|c| c.hosts.len()).sum();
    assert_eq!(cancelled, 3);
    assert_eq!(pool(&s, "a"), (1, 0, 1));
    // 0 removes the pool, and its last planned host.
    let d = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 0, Timestamp(5))
        .unwrap();
    assert_eq!(d.cancellations[0].hosts.len(), 1);
    assert!(s.warm_pools().is_empty());
    assert!(s.host_ids().next().is_none());
    s.check_invariants().unwrap();
}

#[test]
fn a_failed_pool_host_is_ordered_again() {
    let mut s = region(&["a"]);
    let d = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 2, Timestamp(1))
        .unwrap();
    let hosts = ready_all(&mut s, &d, 100, 2);
    let d = s.host_failed(hosts[0], Timestamp(3)).unwrap();
    assert_eq!(
        ordered(&d, ProvisionReason::WarmPool),
        vec![("a".into(), 1)]
    );
    assert_eq!(pool(&s, "a"), (2, 1, 1));
    // A failed provisioning backs the offering off: nothing is ordered
    // until the back-off ends.
    let d = s
        .provision_failed(
            &id("g7.4x"),
            &id("a"),
            ProvisionFailure::Other,
            Timestamp(4),
        )
        .unwrap();
    assert_eq!(d.cancellations.len(), 1);
    assert!(d.provisions.is_empty());
    let until = s.next_deadline().unwrap();
    let d = s.reconcile(until).unwrap();
    assert_eq!(
        ordered(&d, ProvisionReason::WarmPool),
        vec![("a".into(), 1)]
    );
    s.check_invariants().unwrap();
}

#[test]
fn pools_are_kept_through_a_zone_loss() {
    let mut s = region(&["a", "b"]);
    let _ = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 1, Timestamp(1))
        .unwrap();
    let d = s
        .set_warm_pool(&id("g7.4x"), &id("b"), 2, Timestamp(1))
        .unwrap();
    let b_hosts = ready_all(&mut s, &d, 200, 2);
    // One host of web in zone a, a whole host each.
    let mut big = app("big", 16_000, 32_768);
    big.spread.zones = vec![id("a"), id("b")];
    s.add_app(big, Timestamp(2)).unwrap();
    let _ = s.add_host(common::host_spec(1, "g7.4x", "a"), Timestamp(2));
    let d = s.scale(&id("big"), 1, Timestamp(3)).unwrap();
    assert_eq!(d.placements[0].host, HostId(1));
    // Zone a is lost: its planned pool host is cancelled, big moves to a
    // pool host of b, and b's pool is ordered back; a's is not refilled
    // while it is down.
    let d = s.zone_down(&id("a"), Timestamp(4)).unwrap();
    assert_eq!(d.cancellations[0].cause, CancellationCause::ZoneDown);
    assert!(b_hosts.contains(&d.placements[0].host));
    assert_eq!(
        ordered(&d, ProvisionReason::WarmPool),
        vec![("b".into(), 1)]
    );
    assert_eq!(pool(&s, "a"), (1, 0, 0));
    assert_eq!(pool(&s, "b"), (2, 1, 1));
    s.check_invariants().unwrap();
    // Host 1 (idle now) leaves while a is down; when a returns, its pool
    // is ordered again.
    let d = s.remove_host(HostId(1), Timestamp(5)).unwrap();
    assert!(d.provisions.is_empty(), "{d}");
    let d = s.zone_up(&id("a"), Timestamp(5)).unwrap();
    assert_eq!(
        ordered(&d, ProvisionReason::WarmPool),
        vec![("a".into(), 1)]
    );
    assert_eq!(pool(&s, "a"), (1, 0, 1));
    s.check_invariants().unwrap();
}

#[test]
fn pools_need_a_declared_offering_and_a_host_limit_target() {
    let mut s = region(&["a"]);
    let before = common::json(&s);
    assert_eq!(
        s.set_warm_pool(&id("g7.4x"), &id("zz"), 1, Timestamp(1)),
        Err(Error::UnknownOffering {
            sku: id("g7.4x"),
            zone: id("zz")
        })
    );
    assert!(matches!(
        s.set_warm_pool(&id("g7.4x"), &id("a"), u32::MAX, Timestamp(1)),
        Err(Error::LimitReached { .. })
    ));
    assert_eq!(common::json(&s), before);
}

#[test]
fn snapshots_keep_pools_and_their_idle_planned_hosts() {
    let mut s = region(&["a", "b"]);
    let d = s
        .set_warm_pool(&id("g7.4x"), &id("a"), 2, Timestamp(1))
        .unwrap();
    let _ = s
        .set_warm_pool(&id("g7.4x"), &id("b"), 1, Timestamp(1))
        .unwrap();
    let _ = s.host_ready(d.provisions[0].hosts[0], HostId(100), Timestamp(2));
    let snap = s.snapshot();
    assert_eq!(snap.format, 4);
    assert_eq!(snap.warm_pools.pools.len(), 2);
    assert_eq!(snap.warm_pools.planned_hosts.len(), 2);
    let json = serde_json::to_string(&snap).unwrap();
    let mut r = Scheduler::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(r.snapshot(), snap);
    r.check_invariants().unwrap();
    assert_eq!(r.warm_pools(), s.warm_pools());
    assert_eq!(
        r.scale(&id("web"), 9, Timestamp(3)).unwrap(),
        s.scale(&id("web"), 9, Timestamp(3)).unwrap()
    );
    assert_eq!(r.snapshot(), s.snapshot());

    // Restore checks what it is given.
    let bad = |f: &dyn Fn(&mut Snapshot)| {
        let mut x = snap.clone();
        f(&mut x);
        Scheduler::restore(x).unwrap_err()
    };
    assert!(matches!(
        bad(&|x| x.warm_pools.pools.push(x.warm_pools.pools[0].clone())),
        RestoreError::Counter(_)
    ));
    assert!(matches!(
        bad(&|x| x.warm_pools.pools[0].target = 0),
        RestoreError::Counter(_)
    ));
    assert!(matches!(
        bad(&|x| x.warm_pools.planned_hosts = vec![HostId(100)]),
        RestoreError::PlannedHost { .. }
    ));
    // An idle planned host that no pool ordered is refused.
    assert!(matches!(
        bad(&|x| {
            x.warm_pools.planned_hosts.pop();
        }),
        RestoreError::PlannedHost { .. }
    ));
    assert!(matches!(bad(&|x| x.format = 3), RestoreError::Counter(_)));
}

#[test]
fn a_format_3_snapshot_restores_with_no_pools() {
    let mut s = region(&["a"]);
    let _ = s.scale(&id("web"), 3, Timestamp(1)).unwrap();
    let mut old = s.snapshot();
    old.format = 3;
    let r = Scheduler::restore(old).unwrap();
    assert!(r.warm_pools().is_empty());
    assert_eq!(r.snapshot(), s.snapshot());
}

#[test]
fn old_provision_json_reads_as_instances() {
    let json = r#"{"id":1,"zone":"a","sku":"g7","count":1,"hosts":[],
        "substitutes_for":null,"tier":0,"app":"web","instances":2}"#;
    let p: Provision = serde_json::from_str(json).unwrap();
    assert_eq!(
        (p.reason, p.app),
        (ProvisionReason::Instances, Some(id("web")))
    );
}

// The property: pools add idle hosts and nothing else. With pools on two
// SKUs of two tiers, random scale-outs one instance at a time, pool
// changes, hosts made ready and failed never overcommit a host, never
// break a DoNotSchedule skew limit or a dedicated app's isolation, and
// never place on a worse tier while a running host of a better tier in
// the same zone has room.

#[derive(Clone, Debug)]
enum Op {
    /// One more instance of app `0 % apps`.
    Grow(usize),
    /// One fewer.
    Shrink(usize),
    /// Pool target of (SKU, zone) `0 % 4`.
    Pool(usize, u32),
    /// Report the first planned host ready.
    Ready,
    /// Fail running host `0 % hosts`.
    Fail(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..3).prop_map(Op::Grow),
        2 => (0usize..3).prop_map(Op::Shrink),
        2 => (0usize..4, 0u32..3).prop_map(|(o, t)| Op::Pool(o, t)),
        3 => Just(Op::Ready),
        1 => (0usize..64).prop_map(Op::Fail),
    ]
}

const SKUS: [&str; 2] = ["g7.4x", "g8.4x"];
const ZONES: [&str; 2] = ["a", "b"];

fn tiered_region() -> Scheduler {
    let mut s = Scheduler::default();
    let t = Timestamp(0);
    for z in ZONES {
        s.add_zone(id(z), ZoneState::Up, t).unwrap();
    }
    for k in SKUS {
        s.add_sku(sku(k, 16_000, 65_536), t).unwrap();
        for z in ZONES {
            let _ = s.set_stock(&id(k), &id(z), Stock::Known(6), t).unwrap();
        }
    }
    for (i, name) in ["web", "api", "solo"].iter().enumerate() {
        let mut spec = app(name, 4_000 * (i as u64 + 1), 8_192);
        spec.sku = Some(id("g7.4x"));
        spec.substitution.tiers = vec![vec![id("g7")], vec![id("g8")]];
        spec.spread.max_skew = Some(1);
        if i == 2 {
            spec.tenant = id("other");
            spec.isolation = Isolation::DedicatedHosts;
        }
        s.add_app(spec, t).unwrap();
    }
    s
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn pools_never_break_a_rule(ops in proptest::collection::vec(op(), 1..50)) {
        let mut s = tiered_region();
        let mut next_host = 1_000;
        for (t, op) in ops.into_iter().enumerate() {
            let now = Timestamp(t as u64 + 1);
            match op {
                Op::Grow(a) => {
                    let name = ["web", "api", "solo"][a];
                    let app: AppId = id(name);
                    let n = s.app_instances(&app).len() as u32;
                    let req = s.app(&app).unwrap().resources;
                    let solo = s.app_instances(&id("solo"));
                    let skew_before = s.skew(&app).unwrap();
                    // Zones where a running g7 host (not dedicated) had
                    // room before.
                    let room: Vec<ZoneId> = s
                        .host_ids()
                        .filter_map(|h| s.host(h))
                        .filter(|h| h.state == HostState::Ready && h.sku.as_str() == "g7.4x")
                        .filter(|h| req.fits_in(&h.free))
                        .filter(|h| !h.instances.iter().any(|i| solo.contains(i)))
                        .map(|h| h.zone)
                        .collect();
                    let dry = s.dry_run(|c| c.scale(&app, n + 1, now)).unwrap();
                    let d = s.scale(&app, n + 1, now).unwrap();
                    prop_assert_eq!(&d, &dry);
                    if name != "solo" {
                        for p in &d.placements {
                            prop_assert!(
                                !(p.sku.as_str() == "g8.4x" && room.contains(&p.zone)),
                                "{} placed on a worse tier in {} with g7 room", p.instance, p.zone
                            );
                        }
                    }
                    prop_assert!(s.skew(&app).unwrap() <= skew_before.max(1));
                }
                Op::Shrink(a) => {
                    let app: AppId = id(["web", "api", "solo"][a]);
                    let n = s.app_instances(&app).len() as u32;
                    let _ = s.scale(&app, n.saturating_sub(1), now).unwrap();
                }
                Op::Pool(o, target) => {
                    let _ = s
                        .set_warm_pool(&id(SKUS[o % 2]), &id(ZONES[o / 2]), target, now)
                        .unwrap();
                }
                Op::Ready => {
                    let planned = s
                        .host_ids()
                        .find(|h| s.host(*h).is_some_and(|v| v.state == HostState::Planned));
                    if let Some(p) = planned {
                        let _ = s.host_ready(p, HostId(next_host), now).unwrap();
                        next_host += 1;
                    }
                }
                Op::Fail(h) => {
                    let running: Vec<HostId> = s.host_ids().filter(|h| !h.is_planned()).collect();
                    if !running.is_empty() {
                        let _ = s.host_failed(running[h % running.len()], now).unwrap();
                    }
                }
            }
            s.check_invariants().unwrap();
            assert_no_overcommit(&s);
            // Every pool is at its target whenever its offering can order.
            for p in s.warm_pools() {
                let idle = p.idle_ready + p.idle_planned;
                let stock = s
                    .offerings()
                    .into_iter()
                    .find(|o| o.sku == p.sku && o.zone == p.zone)
                    .unwrap();
                if idle < p.target {
                    prop_assert!(
                        matches!(stock.stock, Stock::Known(0)),
                        "pool {} in {} short with {:?}", p.sku, p.zone, stock
                    );
                }
            }
        }
    }
}
