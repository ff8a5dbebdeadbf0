//! Availability zones: spreading with a skew limit, one evacuation plan per
//! lost zone or failed host, rebalance when the zone returns, and the
//! "survive any one zone" check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Sim, app, id, json, no_fit, sku};
use proptest::prelude::*;
use trimline::*;

const SKU: &str = "g7.4x";

fn spread(mut spec: AppSpec, max_skew: u32) -> AppSpec {
    spec.spread.max_skew = Some(max_skew);
    spec
}

/// Every instance id of every app, sorted.
fn all_instances(s: &Scheduler) -> BTreeSet<InstanceId> {
    s.apps()
        .flat_map(|a| s.app_instances(&a.id))
        .collect::<BTreeSet<_>>()
}

fn count_in(sim: &Sim, app: &str, zone: &str) -> u32 {
    sim.per_zone(app)
        .into_iter()
        .find(|(z, _)| z == zone)
        .map_or(0, |(_, c)| c)
}

/// Three zones of `hosts` 16-vCPU hosts; a dozen apps with max_skew 1, six
/// instances each (two per zone), priorities 0..12, budgets 1 or 2.
fn three_zones(hosts: usize) -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a", "b", "c"]);
    sim.sku(sku(SKU, 16_000, 65_536));
    for z in ["a", "b", "c"] {
        sim.hosts(SKU, z, hosts);
    }
    for i in 0..12 {
        let mut spec = spread(app(&format!("app{i}"), 1_000, 2_048), 1);
        spec.priority = i;
        spec.spread.disruption_budget = 1 + (i as u32 % 2);
        sim.app(spec);
        let d = sim.scale(&format!("app{i}"), 6);
        assert_eq!(d.placements.len(), 6);
    }
    sim
}

/// Fewest moves that bring `counts` within skew 1: every zone ends at the
/// floor or ceiling of the mean; the largest zones keep the ceilings.
fn needed_moves(mut counts: Vec<u32>) -> u32 {
    let n: u32 = counts.iter().sum();
    let z = counts.len() as u32;
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let extra = (n % z) as usize;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let target = n / z + u32::from(i < extra);
            c.saturating_sub(target)
        })
        .sum()
}

/// Carry out every rebalance move (each replacement runs on a ready host in
/// these tests) and plan again until nothing moves. Returns the moves per
/// app, checking the budget at every step.
fn settle(sim: &mut Sim) -> std::collections::BTreeMap<AppId, u32> {
    let mut moved = std::collections::BTreeMap::new();
    for _ in 0..1_000 {
        let now = sim.tick(1);
        let d = sim.s.rebalance(now).unwrap();
        for m in &d.moves {
            assert_eq!(m.reason, MoveReason::Rebalance);
            *moved.entry(m.app.clone()).or_insert(0) += 1;
        }
        let flight = sim.s.moves_in_flight();
        for a in sim.s.apps() {
            let n = flight
                .iter()
                .filter(|m| sim.s.instance(m.to).unwrap().app == a.id)
                .count();
            assert!(
                n as u32 <= a.spread.disruption_budget,
                "{}: {n} in flight",
                a.id
            );
        }
        if flight.is_empty() {
            return moved;
        }
        for MoveInFlight { to, .. } in flight {
            let now = sim.tick(1);
            let _ = sim.s.complete_move(to, now).unwrap();
        }
        sim.s.check_invariants().unwrap();
    }
    panic!("rebalance did not settle");
}

#[test]
fn three_zones_one_lost_then_back() {
    let mut sim = three_zones(4);
    let before = all_instances(&sim.s);
    let in_b: usize = (0..12)
        .map(|i| count_in(&sim, &format!("app{i}"), "b") as usize)
        .sum();
    assert_eq!(in_b, 24);

    // Deterministic: the same history gives the same plan and state.
    let mut twin = three_zones(4);
    let t = sim.tick(1_000);
    twin.now = t;
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    let d2 = twin.s.zone_down(&id("b"), t).unwrap();
    assert_eq!(d, d2);
    assert_eq!(sim.state(), twin.state());
    sim.s.check_invariants().unwrap();

    // One eviction per lost instance, all re-placed in a and c.
    assert_eq!(d.evictions.len(), 24);
    assert!(
        d.evictions
            .iter()
            .all(|e| e.cause == EvictionCause::ZoneDown)
    );
    assert_eq!(d.placements.len(), 24);
    assert!(d.pending.is_empty() && d.unplaced.is_empty());
    assert!(d.placements.iter().all(|p| p.zone != id::<ZoneId>("b")));
    // Moves are ordered by app priority, high first.
    let prio = |a: &AppId| sim.s.app(a).unwrap().priority;
    assert!(
        d.placements
            .windows(2)
            .all(|w| prio(&w[0].app) >= prio(&w[1].app))
    );
    // No instance lost or duplicated; skew between a and c within 1.
    assert_eq!(all_instances(&sim.s), before);
    assert!(sim.s.pending().is_empty());
    for i in 0..12 {
        let name = format!("app{i}");
        assert_eq!(count_in(&sim, &name, "b"), 0);
        let (a, c) = (count_in(&sim, &name, "a"), count_in(&sim, &name, "c"));
        assert_eq!(a + c, 6);
        assert!(a.abs_diff(c) <= 1, "{name}: {a} vs {c}");
        assert!(sim.s.skew(&id(&name)).unwrap() <= 1);
    }

    // Zone b returns: rebalance within budget, never more than needed.
    let needed: Vec<(AppId, u32)> = (0..12)
        .map(|i| {
            let name = format!("app{i}");
            let counts = ["a", "b", "c"].map(|z| count_in(&sim, &name, z)).to_vec();
            (id(&name), needed_moves(counts))
        })
        .collect();
    let t = sim.tick(1_000);
    let d = sim.s.zone_up(&id("b"), t).unwrap();
    assert!(!d.moves.is_empty());
    for m in &d.moves {
        let budget = sim.s.app(&m.app).unwrap().spread.disruption_budget;
        let n = d.moves.iter().filter(|x| x.app == m.app).count() as u32;
        assert!(n <= budget);
        let to = sim.s.host(m.to_host).unwrap();
        assert_eq!(to.zone, id::<ZoneId>("b"));
    }
    let mut moved = settle(&mut sim);
    for m in &d.moves {
        *moved.entry(m.app.clone()).or_insert(0) += 1;
    }
    for (app, need) in needed {
        assert_eq!(moved.get(&app).copied().unwrap_or(0), need, "{app}");
        assert!(sim.s.skew(&app).unwrap() <= 1);
        assert_eq!(sim.s.app_instances(&app).len(), 6);
    }
    sim.s.check_invariants().unwrap();
    // Nothing more to do.
    let t = sim.tick(1);
    assert!(sim.s.rebalance(t).unwrap().is_empty());
}

/// One 16-vCPU host per zone. `hi` (priority 10): three 4-vCPU instances;
/// `lo`: six. Each zone holds 12 of its 16 vCPUs.
fn tight() -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a", "b", "c"]);
    sim.sku(sku(SKU, 16_000, 65_536));
    for z in ["a", "b", "c"] {
        sim.hosts(SKU, z, 1);
    }
    let mut hi = spread(app("hi", 4_000, 8_192), 1);
    hi.priority = 10;
    sim.app(hi);
    sim.app(spread(app("lo", 4_000, 8_192), 1));
    let _ = sim.scale("hi", 3);
    let _ = sim.scale("lo", 6);
    assert!(sim.s.pending().is_empty());
    sim
}

#[test]
fn not_enough_room_in_the_survivors() {
    let mut sim = tight();
    let report = sim.s.survive_zone_loss();
    assert_eq!(report.len(), 3);
    let b = report.iter().find(|r| r.zone == id::<ZoneId>("b")).unwrap();
    assert!(!b.survivable());
    // Exactly lo is flagged: hi goes first (priority) and fits.
    let flagged: Vec<&AppId> = b.unplaced.iter().map(|u| &u.app).collect();
    assert_eq!(flagged, vec![&id::<AppId>("lo")]);
    assert_eq!(b.unplaced[0].instances, 1);
    assert_eq!(b.unplaced[0].resources.cpu_millis, 4_000);
    assert_eq!(b.unplaced[0].resources.memory_mib, 8_192);
    // The check changed nothing.
    let state = sim.state();
    let _ = sim.s.survive_zone_loss();
    assert_eq!(sim.state(), state);

    // The evacuation reports the same shortfall.
    let before = all_instances(&sim.s);
    let t = sim.s.now();
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert_eq!(d.unplaced, b.unplaced);
    assert_eq!(d.pending.len(), 1);
    assert_eq!(d.pending[0].app, id::<AppId>("lo"));
    let e = no_fit(&d.pending[0].reason);
    assert!(e.count(Constraint::Capacity(Dimension::Cpu)) >= 1, "{e}");
    assert_eq!(all_instances(&sim.s), before);
    sim.s.check_invariants().unwrap();
    // Zone b is down now: only a and c are checked.
    let report = sim.s.survive_zone_loss();
    assert_eq!(report.len(), 2);
}

#[test]
fn stock_where_the_spread_forbids_it_is_not_provisioned() {
    let mut sim = tight();
    let t = sim.tick(1);
    // Stock only in c, where lo's next instance would make the skew 2.
    let _ = sim
        .s
        .set_stock(&id(SKU), &id("c"), Stock::Known(1), t)
        .unwrap();
    let b = sim
        .s
        .survive_zone_loss()
        .into_iter()
        .find(|r| r.zone == id::<ZoneId>("b"))
        .unwrap();
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert_eq!(d.unplaced, b.unplaced);
    assert_eq!(d.unplaced.len(), 1);
    assert!(d.provisions.is_empty(), "{:?}", d.provisions);
    let e = no_fit(&d.pending[0].reason);
    assert_eq!(e.count(Constraint::ZoneSpread), 1, "{e}");
    sim.s.check_invariants().unwrap();
}

#[test]
fn provisionable_stock_makes_a_zone_survivable() {
    let mut sim = tight();
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id(SKU), &id("a"), Stock::Known(1), t)
        .unwrap();
    let b = sim
        .s
        .survive_zone_loss()
        .into_iter()
        .find(|r| r.zone == id::<ZoneId>("b"))
        .unwrap();
    assert!(b.survivable(), "{b:?}");
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert!(d.unplaced.is_empty());
    assert_eq!(d.provisions.len(), 1);
    assert_eq!(d.tentative.len(), 1);
    assert!(sim.s.pending().is_empty());
    sim.s.check_invariants().unwrap();
}

#[test]
fn an_equivalent_sku_makes_a_zone_survivable() {
    // lo asks for g7.4x; its stock is gone, but g8.8x (twice the size, the
    // same price per instance, faster) may stand in for it.
    let mut sim = Sim::new();
    sim.zones(&["a", "b", "c"]);
    sim.sku(sku(SKU, 16_000, 65_536));
    let mut g8 = sku("g8.8x", 32_000, 131_072);
    g8.generation = 8;
    g8.perf_score = 120;
    g8.price_nanos_per_second = 2_000;
    sim.sku(g8);
    for z in ["a", "b", "c"] {
        sim.hosts(SKU, z, 1);
    }
    let mut lo = spread(app("lo", 4_000, 8_192), 1);
    lo.sku = Some(id(SKU));
    sim.app(lo);
    let _ = sim.scale("lo", 12);
    assert!(sim.s.pending().is_empty());
    let t = sim.tick(1);
    for z in ["a", "c"] {
        let _ = sim
            .s
            .set_stock(&id(SKU), &id(z), Stock::Exhausted, t)
            .unwrap();
    }
    let b = sim.s.survive_zone_loss()[1].clone();
    assert_eq!(b.zone, id::<ZoneId>("b"));
    assert_eq!(b.unplaced[0].instances, 4);
    let _ = sim
        .s
        .set_stock(&id("g8.8x"), &id("a"), Stock::Known(1), t)
        .unwrap();
    let _ = sim
        .s
        .set_stock(&id("g8.8x"), &id("c"), Stock::Known(1), t)
        .unwrap();
    let b = sim.s.survive_zone_loss()[1].clone();
    assert!(b.survivable(), "{b:?}");
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert!(d.unplaced.is_empty());
    assert!(!d.provisions.is_empty());
    assert!(
        d.provisions
            .iter()
            .all(|p| p.sku == id::<SkuId>("g8.8x") && p.substitutes_for == Some(id(SKU)))
    );
    assert_eq!(d.tentative.len(), 4);
    assert_eq!(sim.s.skew(&id("lo")).unwrap(), 0);
    sim.s.check_invariants().unwrap();
}

#[test]
fn a_failed_host_is_evacuated_by_priority() {
    let mut sim = three_zones(4);
    let before = all_instances(&sim.s);
    let victim = sim
        .s
        .host_ids()
        .find(|h| !sim.s.host(*h).unwrap().instances.is_empty())
        .unwrap();
    let lost = sim.s.host(victim).unwrap().instances.len();
    let t = sim.tick(1);
    let d = sim.s.host_failed(victim, t).unwrap();
    assert_eq!(d.evictions.len(), lost);
    assert!(
        d.evictions
            .iter()
            .all(|e| e.cause == EvictionCause::HostFailed)
    );
    assert_eq!(d.placements.len(), lost);
    let prio = |a: &AppId| sim.s.app(a).unwrap().priority;
    assert!(
        d.placements
            .windows(2)
            .all(|w| prio(&w[0].app) >= prio(&w[1].app))
    );
    assert!(sim.s.host(victim).is_none());
    assert_eq!(all_instances(&sim.s), before);
    for a in sim.s.apps() {
        assert!(sim.s.skew(&a.id).unwrap() <= 1);
    }
    sim.s.check_invariants().unwrap();
}

#[test]
fn do_not_schedule_waits_and_schedule_anyway_reports() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(SKU, 16_000, 65_536));
    sim.hosts(SKU, "a", 2);
    sim.app(spread(app("strict", 1_000, 1_024), 1));
    let mut loose = spread(app("loose", 1_000, 1_024), 1);
    loose.spread.when_unsatisfiable = WhenUnsatisfiable::ScheduleAnyway;
    sim.app(loose);

    // Zone b is up but empty: a second instance in a would make the skew 2.
    let d = sim.scale("strict", 3);
    assert_eq!(d.placements.len(), 1);
    assert_eq!(d.pending.len(), 2);
    let e = no_fit(&d.pending[0].reason);
    assert_eq!(e.count(Constraint::ZoneSpread), 2);
    assert!(e.to_string().contains("zone spread: 2 hosts"), "{e}");

    let d = sim.scale("loose", 3);
    assert_eq!(d.placements.len(), 3);
    assert_eq!(
        d.skew_violations,
        vec![SkewViolation {
            app: id("loose"),
            instances: 2,
            skew: 3,
            max_skew: Some(1),
        }]
    );

    // Capacity in b: the strict app's pending instances land, within skew.
    let (_, d) = sim.add_hosts_with(SKU, "b", 1);
    assert_eq!(d.placements.len(), 2);
    // b (fewest) first, then the tie goes to the first declared zone.
    assert_eq!(
        sim.per_zone("strict"),
        vec![("a".into(), 2), ("b".into(), 1)]
    );
    // Rebalance fixes the loose app: 3-0 needs one move.
    let t = sim.tick(1);
    let d = sim.s.rebalance(t).unwrap();
    assert_eq!(d.moves.len(), 1);
    assert_eq!(d.moves[0].app, id::<AppId>("loose"));
    let t = sim.tick(1);
    let _ = sim.s.complete_move(d.moves[0].to, t).unwrap();
    assert_eq!(sim.s.skew(&id("loose")).unwrap(), 1);
    sim.s.check_invariants().unwrap();
}

#[test]
fn min_zones_needs_a_new_zone_for_the_second_instance() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(SKU, 16_000, 65_536));
    sim.hosts(SKU, "a", 1);
    let mut spec = app("ha", 1_000, 1_024);
    spec.spread.min_zones = 2;
    sim.app(spec);
    let d = sim.scale("ha", 2);
    assert_eq!(d.placements.len(), 1);
    assert_eq!(
        no_fit(&d.pending[0].reason).count(Constraint::ZoneSpread),
        1
    );
    let (_, d) = sim.add_hosts_with(SKU, "b", 1);
    assert_eq!(d.placements.len(), 1);
    assert_eq!(d.placements[0].zone, id::<ZoneId>("b"));
    // Spanning two zones, more may go anywhere.
    let d = sim.scale("ha", 4);
    assert_eq!(d.placements.len(), 2);
}

#[test]
fn scale_down_keeps_the_skew() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b", "c"]);
    sim.sku(sku(SKU, 16_000, 65_536));
    for z in ["a", "b", "c"] {
        sim.hosts(SKU, z, 2);
    }
    sim.app(spread(app("web", 1_000, 1_024), 1));
    let _ = sim.scale("web", 9);
    for target in [8, 6, 5, 3, 2, 1, 0] {
        let _ = sim.scale("web", target);
        assert!(sim.s.skew(&id("web")).unwrap() <= 1, "at {target}");
    }
    // Beyond the limit with pending instances: placed ones go first.
    let _ = sim.scale("web", 6);
    let t = sim.tick(1);
    let host_in_a: Vec<HostId> = sim
        .s
        .host_ids()
        .filter(|h| sim.s.host(*h).unwrap().zone == id::<ZoneId>("a"))
        .collect();
    for h in host_in_a {
        let _ = sim.s.remove_host(h, t).unwrap();
    }
    // a (up, empty) counts 0: b and c hold 2 each, 2 pending.
    assert_eq!(sim.s.pending().len(), 2);
    let d = sim.scale("web", 4);
    assert_eq!(d.removals.len(), 2);
    assert!(d.removals.iter().all(|r| r.host.is_some()));
    assert_eq!(sim.s.skew(&id("web")).unwrap(), 1);
    assert_eq!(sim.s.pending().len(), 2);
}

#[test]
fn calls_that_fail_change_nothing() {
    let mut sim = tight();
    let t = sim.tick(10);
    let _ = sim.s.reconcile(t).unwrap();
    let state = sim.state();
    let past = Timestamp(t.0 - 1);
    let unknown: ZoneId = id("zz");
    assert_eq!(
        sim.s.zone_down(&unknown, t),
        Err(Error::UnknownZone(unknown.clone()))
    );
    assert_eq!(
        sim.s.zone_up(&unknown, t),
        Err(Error::UnknownZone(unknown.clone()))
    );
    assert_eq!(
        sim.s.host_failed(HostId(999), t),
        Err(Error::UnknownHost(HostId(999)))
    );
    assert!(matches!(
        sim.s.zone_down(&id("a"), past),
        Err(Error::TimeWentBackwards { .. })
    ));
    assert!(matches!(
        sim.s.zone_up(&id("a"), past),
        Err(Error::TimeWentBackwards { .. })
    ));
    assert!(matches!(
        sim.s.host_failed(HostId(1), past),
        Err(Error::TimeWentBackwards { .. })
    ));
    assert!(matches!(
        sim.s.rebalance(past),
        Err(Error::TimeWentBackwards { .. })
    ));
    assert_eq!(sim.s.skew(&id("nope")), Err(Error::UnknownApp(id("nope"))));
    assert_eq!(sim.state(), state);
}

#[test]
fn invalid_spread_policies_are_refused() {
    let mut s = Scheduler::default();
    for z in ["a", "b"] {
        s.add_zone(id(z), ZoneState::Up, s.now()).unwrap();
    }
    let mut zero = app("zero", 1_000, 1_024);
    zero.spread.max_skew = Some(0);
    assert!(matches!(
        s.add_app(zero, s.now()),
        Err(Error::InvalidApp {
            source: AppError::ZeroMaxSkew,
            ..
        })
    ));
    let mut budget = app("budget", 1_000, 1_024);
    budget.spread.disruption_budget = 0;
    assert!(matches!(
        s.add_app(budget, s.now()),
        Err(Error::InvalidApp {
            source: AppError::ZeroDisruptionBudget,
            ..
        })
    ));
    let mut many = app("many", 1_000, 1_024);
    many.spread.min_zones = 3;
    assert_eq!(
        s.add_app(many.clone(), s.now()),
        Err(Error::InvalidApp {
            app: id("many"),
            source: AppError::MinZones {
                min_zones: 3,
                zones: 2
            }
        })
    );
    many.spread.zones = vec![id("a")];
    many.spread.min_zones = 2;
    assert!(matches!(
        s.add_app(many, s.now()),
        Err(Error::InvalidApp {
            source: AppError::MinZones {
                min_zones: 2,
                zones: 1
            },
            ..
        })
    ));
    assert_eq!(s.apps().count(), 0);
    // Specs written before the policy grew still load, with no limit.
    let old = r#"{"id":"web","tenant":"t","resources":{"cpu_millis":1000,"memory_mib":1024,"network_mbps":0,"accelerators":0},"arches":["x86_64"],"spread":{"zones":["a"]}}"#;
    let spec: AppSpec = serde_json::from_str(old).unwrap();
    assert_eq!(spec.spread.max_skew, None);
    assert_eq!(spec.spread.min_zones, 0);
    assert_eq!(spec.spread.disruption_budget, 1);
    assert_eq!(
        spec.spread.when_unsatisfiable,
        WhenUnsatisfiable::DoNotSchedule
    );
}

#[test]
fn a_restored_scheduler_rebalances_the_same() {
    let mut sim = three_zones(4);
    let t = sim.tick(1);
    let _ = sim.s.zone_down(&id("b"), t).unwrap();
    let t = sim.tick(1);
    let _ = sim.s.zone_up(&id("b"), t).unwrap();
    assert!(!sim.s.moves_in_flight().is_empty());
    let mut restored = Scheduler::restore(sim.s.snapshot()).unwrap();
    assert_eq!(json(&restored), sim.state());
    for MoveInFlight { to, .. } in sim.s.moves_in_flight() {
        let t = sim.tick(1);
        let a = sim.s.complete_move(to, t).unwrap();
        let b = restored.complete_move(to, t).unwrap();
        assert_eq!(a, b);
    }
    let t = sim.tick(1);
    assert_eq!(sim.s.rebalance(t).unwrap(), restored.rebalance(t).unwrap());
    assert_eq!(json(&restored), sim.state());
}

#[test]
fn moves_in_flight_survive_a_zone_loss_without_duplicates() {
    let mut sim = three_zones(4);
    let t = sim.tick(1);
    let _ = sim.s.zone_down(&id("b"), t).unwrap();
    let t = sim.tick(1);
    let up = sim.s.zone_up(&id("b"), t).unwrap();
    let flight = sim.s.moves_in_flight();
    assert_eq!(flight.len(), up.moves.len());
    // Every replacement is in b, every original in a or c.
    let zone_of = |s: &Scheduler, i: InstanceId| {
        let InstanceStatus::Placed { host, .. } = s.instance(i).unwrap().status else {
            panic!("{i} pending");
        };
        s.host(host).unwrap().zone
    };
    for m in &flight {
        assert_eq!(zone_of(&sim.s, m.to), id::<ZoneId>("b"));
        assert_ne!(zone_of(&sim.s, m.from), id::<ZoneId>("b"));
    }

    // Losing a: originals there whose replacement runs in b are removed
    // and the replacements take their place; the others are re-placed.
    let a_twin = sim.s.clone();
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("a"), t).unwrap();
    let promoted: Vec<InstanceId> = flight
        .iter()
        .filter(|m| zone_of(&a_twin, m.from) == id::<ZoneId>("a"))
        .map(|m| m.from)
        .collect();
    let removed: Vec<InstanceId> = d.removals.iter().map(|r| r.instance).collect();
    assert!(!promoted.is_empty());
    assert_eq!(removed.len(), promoted.len());
    assert!(promoted.iter().all(|p| removed.contains(p)));
    for a in sim.s.apps() {
        assert_eq!(
            sim.s.app_instances(&a.id).len()
                - sim
                    .s
                    .moves_in_flight()
                    .iter()
                    .filter(|m| sim.s.instance(m.to).unwrap().app == a.id)
                    .count(),
            6
        );
    }
    sim.s.check_invariants().unwrap();

    // Losing b now: the remaining replacements there abort their moves.
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert!(sim.s.moves_in_flight().is_empty());
    assert!(d.removals.iter().all(|r| !removed.contains(&r.instance)));
    for a in sim.s.apps() {
        let n = sim.s.app_instances(&a.id).len();
        assert_eq!(n, 6, "{}", a.id);
    }
    sim.s.check_invariants().unwrap();
}

#[test]
fn zone_down_after_set_zone_state_evacuates_what_is_left() {
    let mut sim = three_zones(4);
    let t = sim.tick(1);
    let _ = sim.s.set_zone_state(&id("b"), ZoneState::Down, t).unwrap();
    // Still recorded in b, still counted.
    assert_eq!(count_in(&sim, "app0", "b"), 2);
    assert!(sim.s.skew(&id("app0")).unwrap() <= 1);
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert_eq!(d.placements.len(), 24);
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert!(d.is_empty());
}

#[test]
fn weights_are_proportional_targets() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(SKU, 16_000, 65_536));
    sim.hosts(SKU, "a", 2);
    sim.hosts(SKU, "b", 2);
    let mut spec = spread(app("web", 1_000, 1_024), 1);
    spec.spread.weights.insert(id("a"), 2);
    sim.app(spec);
    let _ = sim.scale("web", 6);
    assert_eq!(sim.per_zone("web"), vec![("a".into(), 4), ("b".into(), 2)]);
    assert_eq!(sim.s.skew(&id("web")).unwrap(), 0);
    let _ = sim.scale("web", 3);
    assert_eq!(sim.per_zone("web"), vec![("a".into(), 2), ("b".into(), 1)]);
    let _ = sim.scale("web", 6);
    assert_eq!(sim.per_zone("web"), vec![("a".into(), 4), ("b".into(), 2)]);

    // b lost and back: two moves restore 4-2, one at a time.
    let t = sim.tick(1);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    assert_eq!(d.placements.len(), 2);
    assert_eq!(sim.per_zone("web"), vec![("a".into(), 6), ("b".into(), 0)]);
    let t = sim.tick(1);
    let d = sim.s.zone_up(&id("b"), t).unwrap();
    assert_eq!(d.moves.len(), 1);
    let mut moved = settle(&mut sim);
    assert_eq!(moved.remove(&id::<AppId>("web")).unwrap_or(0) + 1, 2);
    assert_eq!(sim.per_zone("web"), vec![("a".into(), 4), ("b".into(), 2)]);
    assert_eq!(sim.s.skew(&id("web")).unwrap(), 0);
    sim.s.check_invariants().unwrap();
}

#[test]
fn invalid_weights_are_refused() {
    let mut s = Scheduler::default();
    for z in ["a", "b"] {
        s.add_zone(id(z), ZoneState::Up, s.now()).unwrap();
    }
    let mut zero = app("zero", 1_000, 1_024);
    zero.spread.weights.insert(id("a"), 0);
    assert_eq!(
        s.add_app(zero, s.now()),
        Err(Error::InvalidApp {
            app: id("zero"),
            source: AppError::ZeroWeight(id("a"))
        })
    );
    let mut other = app("other", 1_000, 1_024);
    other.spread.zones = vec![id("a")];
    other.spread.weights.insert(id("b"), 2);
    assert_eq!(
        s.add_app(other, s.now()),
        Err(Error::InvalidApp {
            app: id("other"),
            source: AppError::WeightNotAllowed(id("b"))
        })
    );
    let mut unknown = app("unknown", 1_000, 1_024);
    unknown.spread.weights.insert(id("zz"), 2);
    assert_eq!(
        s.add_app(unknown, s.now()),
        Err(Error::UnknownZone(id("zz")))
    );
    assert_eq!(s.apps().count(), 0);
}

// ----- properties -------------------------------------------------------------

const ZONES: [&str; 3] = ["a", "b", "c"];
const APPS: [&str; 4] = ["web", "api", "db", "any"];

#[derive(Clone, Debug)]
enum Op {
    AddHost { zone: usize },
    HostFailed { pick: usize },
    ZoneDown { zone: usize },
    ZoneUp { zone: usize },
    Scale { app: usize, target: u32 },
    Reconcile,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..ZONES.len()).prop_map(|zone| Op::AddHost { zone }),
        1 => any::<usize>().prop_map(|pick| Op::HostFailed { pick }),
        1 => (0..ZONES.len()).prop_map(|zone| Op::ZoneDown { zone }),
        1 => (0..ZONES.len()).prop_map(|zone| Op::ZoneUp { zone }),
        4 => (0..APPS.len(), 0u32..14).prop_map(|(app, target)| Op::Scale { app, target }),
        1 => Just(Op::Reconcile),
    ]
}

fn world() -> Sim {
    let mut sim = Sim::new();
    sim.zones(&ZONES);
    sim.sku(sku(SKU, 8_000, 16_384));
    for z in ZONES {
        sim.hosts(SKU, z, 1);
    }
    sim.app(spread(app("web", 1_000, 2_048), 1));
    let mut api = spread(app("api", 2_000, 4_096), 1);
    api.priority = 5;
    api.spread.disruption_budget = 2;
    api.spread.weights.insert(id("a"), 2);
    sim.app(api);
    let mut db = spread(app("db", 3_000, 4_096), 2);
    db.spread.min_zones = 2;
    db.priority = 9;
    sim.app(db);
    let mut any = spread(app("any", 1_000, 1_024), 1);
    any.spread.when_unsatisfiable = WhenUnsatisfiable::ScheduleAnyway;
    sim.app(any);
    sim
}

/// Whether some ready host of zone `z` could take one more instance of
/// `app` (single-node SKU: free capacity is exact).
fn room_in(s: &Scheduler, app: &AppSpec, z: &ZoneId) -> bool {
    s.host_ids().any(|h| {
        let v = s.host(h).unwrap();
        v.zone == *z && v.state == HostState::Ready && app.resources.fits_in(&v.free)
    })
}

proptest! {
    #![proptest_config(common::cases(64))]

    /// After any sequence of scale-ups, scale-downs, zone and host changes
    /// (and the rebalance they start, carried out), every DoNotSchedule app
    /// with no pending instance is within its max_skew, unless a zone at its
    /// minimum has no room for one more of its instances (the only skew
    /// rebalance cannot fix). No evacuation loses or duplicates an instance.
    #[test]
    fn spread_is_kept_and_evacuations_keep_every_instance(ops in prop::collection::vec(op(), 1..40)) {
        let mut sim = world();
        let mut next_host = 100u64;
        for op in ops {
            let now = sim.tick(1_000);
            match op {
                Op::AddHost { zone } => {
                    next_host += 1;
                    let _ = sim.s.add_host(
                        HostSpec { id: HostId(next_host), sku: id(SKU), zone: id(ZONES[zone]) },
                        now,
                    ).unwrap();
                }
                Op::HostFailed { pick } => {
                    let hosts: Vec<HostId> = sim.s.host_ids().collect();
                    if hosts.is_empty() {
                        continue;
                    }
                    let before = all_instances(&sim.s);
                    let d = sim.s.host_failed(hosts[pick % hosts.len()], now).unwrap();
                    prop_assert!(d.removals.is_empty());
                    prop_assert_eq!(all_instances(&sim.s), before);
                }
                Op::ZoneDown { zone } => {
                    let before = all_instances(&sim.s);
                    let d = sim.s.zone_down(&id(ZONES[zone]), now).unwrap();
                    prop_assert!(d.removals.is_empty());
                    prop_assert_eq!(all_instances(&sim.s), before);
                    let expect: u32 = d.unplaced.iter().map(|u| u.instances).sum();
                    let lost = d.evictions.iter()
                        .filter(|e| e.cause == EvictionCause::ZoneDown)
                        .filter(|e| matches!(
                            sim.s.instance(e.instance).unwrap().status,
                            InstanceStatus::Pending { .. }
                        ))
                        .count() as u32;
                    prop_assert_eq!(expect, lost);
                }
                Op::ZoneUp { zone } => {
                    let _ = sim.s.zone_up(&id(ZONES[zone]), now).unwrap();
                }
                Op::Scale { app, target } => {
                    let _ = sim.s.scale(&id(APPS[app]), target, now).unwrap();
                }
                Op::Reconcile => {
                    let _ = sim.s.reconcile(now).unwrap();
                }
            }
            sim.s.check_invariants().unwrap();
            let _ = settle(&mut sim);
            for spec in sim.s.apps() {
                if spec.spread.when_unsatisfiable != WhenUnsatisfiable::DoNotSchedule {
                    continue;
                }
                let pending = sim.s.app_instances(&spec.id).into_iter().any(|i| {
                    matches!(sim.s.instance(i).unwrap().status, InstanceStatus::Pending { .. })
                });
                if pending {
                    continue;
                }
                let k = spec.spread.max_skew.unwrap();
                let skew = sim.s.skew(&spec.id).unwrap();
                if skew <= k {
                    continue;
                }
                // Only the zones furthest below target (the least filled,
                // with equal weights) all without room excuse it.
                let counts = sim.s.app_zone_counts(&spec.id);
                let domain: Vec<&(ZoneId, u32)> = counts.iter()
                    .filter(|(z, c)| *c > 0 || sim.s.zone_state(z) == Some(ZoneState::Up))
                    .collect();
                let weight = |z: &ZoneId| i128::from(spec.spread.weights.get(z).copied().unwrap_or(1));
                let n: i128 = domain.iter().map(|(_, c)| i128::from(*c)).sum();
                let w: i128 = domain.iter().map(|(z, _)| weight(z)).sum();
                let dev = |z: &ZoneId, c: u32| i128::from(c) * w - n * weight(z);
                let min = domain.iter().map(|(z, c)| dev(z, *c)).min().unwrap();
                let stuck = domain.iter()
                    .filter(|(z, c)| dev(z, *c) == min && sim.s.zone_state(z) == Some(ZoneState::Up))
                    .all(|(z, _)| !room_in(&sim.s, spec, z));
                prop_assert!(stuck, "{} skew {} > {}: {:?}", spec.id, skew, k, counts);
            }
        }
        // Snapshots restore exactly after all of it.
        let restored = Scheduler::restore(sim.s.snapshot()).unwrap();
        prop_assert_eq!(json(&restored), sim.state());
    }
}

/// When the spread policy rules zones out, the explanation says how many of
/// their hosts had room: relaxing the spread would place the instance there,
/// or there is no capacity there either.
#[test]
fn spread_explanations_say_whether_the_excluded_hosts_had_room() {
    let mut s = Scheduler::default();
    for z in ["a", "b"] {
        s.add_zone(id(z), ZoneState::Up, s.now()).unwrap();
    }
    s.add_sku(sku("g7.4x", 16_000, 65_536), s.now()).unwrap();
    for (h, z) in [(1, "a"), (2, "a"), (3, "b")] {
        let _ = s
            .add_host(common::host_spec(h, "g7.4x", z), Timestamp(1))
            .unwrap();
    }
    let mut web = app("web", 4_000, 16_384);
    web.spread.max_skew = Some(1);
    s.add_app(web, s.now()).unwrap();
    // b's one host takes 4, a takes 5: one more in a would make the skew 2.
    let d = s.scale(&id("web"), 10, Timestamp(10)).unwrap();
    assert_eq!(d.placements.len(), 9);
    let e = no_fit(&d.pending[0].reason).clone();
    assert_eq!(e.count(Constraint::ZoneSpread), 2);
    assert_eq!(e.with_room(Constraint::ZoneSpread), Some(1));
    assert_eq!(e.with_room(Constraint::Capacity(Dimension::Cpu)), None);
    assert_eq!(
        e.to_string(),
        "0/3 hosts fit: zone spread: 2 hosts (1 had room), cpu: 1 host"
    );

    // Cordon the host of a with room: now the spread is not what binds.
    let roomy = [HostId(1), HostId(2)]
        .into_iter()
        .find(|h| s.host(*h).unwrap().free.cpu_millis() > 0)
        .unwrap();
    let _ = s
        .set_host_state(roomy, HostState::Cordoned, Timestamp(20))
        .unwrap();
    let d = s.reconcile(Timestamp(30)).unwrap();
    let e = no_fit(&d.pending[0].reason);
    assert_eq!(e.with_room(Constraint::ZoneSpread), Some(0));
    assert_eq!(
        e.to_string(),
        "0/3 hosts fit: zone spread: 2 hosts (0 had room), cpu: 1 host"
    );
}

/// A weighted app's zones are ordered by their share of the app's spread
/// domain, so a scheduler restored from a snapshot places like the
/// original even when a (SKU, zone) class was emptied of hosts before the
/// snapshot: the original keeps the empty class, the restored one has none.
#[test]
fn a_restored_scheduler_places_a_weighted_app_like_the_original() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b", "c"]);
    sim.sku(sku("g7.4xlarge", 16_000, 65_536));
    for z in ["a", "b", "c"] {
        sim.hosts("g7.4xlarge", z, 1);
    }
    let t = sim.tick(1);
    let _ = sim.s.remove_host(HostId(2), t).unwrap();
    let mut web = app("web", 1_000, 1_024);
    web.spread.weights.insert(id("a"), 2);
    sim.app(web);
    let mut restored = Scheduler::restore(sim.s.snapshot()).unwrap();
    assert_eq!(json(&restored), json(&sim.s));
    for _ in 0..9 {
        let t = sim.tick(1);
        let original = sim.s.place(&id("web"), t).unwrap();
        let replica = restored.place(&id("web"), t).unwrap();
        assert_eq!(original, replica);
    }
    assert_eq!(json(&restored), json(&sim.s));
}
