//! Return to preferred: moves back to the requested SKU once its stock
//! returns, within the disruption budget, started and finished by the
//! embedder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Sim, app, id, sku};
use trimline::*;

/// Zone a only; g7 requested (4 instances of 4 vCPU per host), g8i its
/// substitute (8 per host, 1.2x price per instance, faster).
fn world() -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    let mut g7 = sku("ecs.g7.4xlarge", 16_000, 65_536);
    g7.price_nanos_per_second = 1_000;
    sim.sku(g7);
    let mut g8i = sku("ecs.g8i.8xlarge", 32_000, 131_072);
    g8i.family = id("g8i");
    g8i.generation = 8;
    g8i.perf_score = 120;
    g8i.price_nanos_per_second = 2_400;
    sim.sku(g8i);
    let mut web = app("web", 4_000, 8_192);
    web.sku = Some(id("ecs.g7.4xlarge"));
    web.substitution.disruption_budget = 1;
    sim.app(web);
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("ecs.g7.4xlarge"), &id("a"), Stock::Exhausted, t)
        .unwrap();
    let _ = sim
        .s
        .set_stock(&id("ecs.g8i.8xlarge"), &id("a"), Stock::Unknown, t)
        .unwrap();
    sim
}

fn ready(sim: &mut Sim, d: &Decisions, first_real: u64) -> Decisions {
    let mut all = Decisions::default();
    let mut real = first_real;
    for p in &d.provisions {
        for h in &p.hosts {
            let t = sim.tick(1);
            let r = sim.s.host_ready(*h, HostId(real), t).unwrap();
            real += 1;
            all.placements.extend(r.placements);
        }
    }
    all
}

#[test]
fn instances_return_to_the_requested_sku_one_move_at_a_time() {
    let mut sim = world();
    let d = sim.scale("web", 2);
    assert_eq!(d.provisions.len(), 1);
    assert_eq!(d.provisions[0].sku, id::<SkuId>("ecs.g8i.8xlarge"));
    assert_eq!(d.provisions[0].substitutes_for, Some(id("ecs.g7.4xlarge")));
    assert_eq!(d.provisions[0].tier, 1);
    assert_eq!(d.tentative.len(), 2);
    let r = ready(&mut sim, &d, 100);
    assert_eq!(r.placements.len(), 2);
    assert!(r.placements.iter().all(|p| p.host == HostId(100)));

    // Nothing better yet: no move.
    let t = sim.tick(1);
    assert!(sim.s.plan_return(t).unwrap().is_empty());

    // g7 stock returns: one move (budget 1), to a new g7 host.
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("ecs.g7.4xlarge"), &id("a"), Stock::Known(1), t)
        .unwrap();
    let t = sim.tick(1);
    let d = sim.s.plan_return(t).unwrap();
    assert_eq!(d.moves.len(), 1);
    let m = d.moves[0].clone();
    assert_eq!(
        (m.from, m.from_host, m.to_tier),
        (InstanceId(1), HostId(100), 0)
    );
    assert_eq!(d.provisions.len(), 1);
    assert_eq!(d.provisions[0].sku, id::<SkuId>("ecs.g7.4xlarge"));
    assert_eq!(d.provisions[0].substitutes_for, None);
    assert_eq!(d.tentative.len(), 1);
    assert_eq!(d.tentative[0].instance, m.to);
    // The budget is spent: no second move while this one is in flight.
    let t = sim.tick(1);
    assert!(sim.s.plan_return(t).unwrap().moves.is_empty());
    // The pair counts once: scaling to 2 changes nothing.
    assert!(sim.scale("web", 2).is_empty());

    // Not running yet: cannot complete.
    let t = sim.tick(1);
    assert_eq!(
        sim.s.complete_move(m.to, t).unwrap_err(),
        Error::MoveNotReady(m.to)
    );
    let r = ready(&mut sim, &d, 200);
    assert_eq!(r.placements[0].instance, m.to);
    let t = sim.tick(1);
    let done = sim.s.complete_move(m.to, t).unwrap();
    assert_eq!(done.removals.len(), 1);
    assert_eq!(done.removals[0].instance, InstanceId(1));
    assert!(sim.s.moves_in_flight().is_empty());
    assert_eq!(sim.s.app_instances(&id("web")), [InstanceId(2), m.to]);
    sim.s.check_invariants().unwrap();

    // The new g7 host has room for the other instance: the next move
    // needs no provisioning, its replacement is placed directly.
    let t = sim.tick(1);
    let d = sim.s.plan_return(t).unwrap();
    assert_eq!(d.moves.len(), 1);
    assert_eq!(
        (d.moves[0].from, d.moves[0].to_host),
        (InstanceId(2), HostId(200))
    );
    assert!(d.provisions.is_empty() && d.tentative.is_empty());
    assert_eq!(d.placements[0].instance, d.moves[0].to);
    let t = sim.tick(1);
    let _ = sim.s.complete_move(d.moves[0].to, t).unwrap();
    // Everything runs on the requested SKU now: nothing left to move.
    let t = sim.tick(1);
    assert!(sim.s.plan_return(t).unwrap().is_empty());
    assert!(
        sim.s
            .app_instances(&id("web"))
            .iter()
            .all(|i| matches!(sim.s.instance(*i).unwrap().status,
            InstanceStatus::Placed { host, .. } if host == HostId(200)))
    );
}

#[test]
fn aborting_or_scaling_down_a_move_and_errors() {
    let mut sim = world();
    let d = sim.scale("web", 1);
    let _ = ready(&mut sim, &d, 100);
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("ecs.g7.4xlarge"), &id("a"), Stock::Unknown, t)
        .unwrap();
    let t = sim.tick(1);
    let d = sim.s.plan_return(t).unwrap();
    let m = d.moves[0].clone();

    // Abort: the replacement goes, the original stays.
    let t = sim.tick(1);
    let a = sim.s.abort_move(m.to, t).unwrap();
    assert_eq!(a.removals.len(), 1);
    assert_eq!(a.removals[0].instance, m.to);
    assert_eq!(sim.s.app_instances(&id("web")), [InstanceId(1)]);
    let before = sim.state();
    let t = sim.tick(1);
    assert_eq!(sim.s.abort_move(m.to, t).unwrap_err(), Error::NoMove(m.to));
    assert_eq!(
        sim.s.complete_move(m.to, t).unwrap_err(),
        Error::NoMove(m.to)
    );
    assert_eq!(sim.state(), before);

    // Plan again, then scale to zero: both instances of the pair go.
    let t = sim.tick(1);
    let d = sim.s.plan_return(t).unwrap();
    assert_eq!(d.moves.len(), 1);
    let d = sim.scale("web", 0);
    assert_eq!(d.removals.len(), 2);
    assert!(sim.s.moves_in_flight().is_empty());
    sim.s.check_invariants().unwrap();
}

/// A replacement whose planned host fails aborts the move; the original
/// keeps running. Snapshots carry moves in flight.
#[test]
fn a_failed_replacement_host_aborts_the_move_and_snapshots_keep_moves() {
    let mut sim = world();
    let d = sim.scale("web", 1);
    let _ = ready(&mut sim, &d, 100);
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("ecs.g7.4xlarge"), &id("a"), Stock::Unknown, t)
        .unwrap();
    let t = sim.tick(1);
    let d = sim.s.plan_return(t).unwrap();
    let m = d.moves[0].clone();
    let restored = Scheduler::restore(sim.s.snapshot()).unwrap();
    assert_eq!(
        restored.moves_in_flight(),
        [MoveInFlight {
            to: m.to,
            from: m.from
        }]
    );
    assert_eq!(
        serde_json::to_string(&restored.snapshot()).unwrap(),
        sim.state()
    );

    let t = sim.tick(1);
    let f = sim
        .s
        .provision_failed(
            &id("ecs.g7.4xlarge"),
            &id("a"),
            ProvisionFailure::InsufficientStock,
            t,
        )
        .unwrap();
    assert_eq!(f.removals.len(), 1);
    assert_eq!(f.removals[0].instance, m.to);
    assert!(f.pending.is_empty());
    assert!(sim.s.moves_in_flight().is_empty());
    assert_eq!(sim.s.app_instances(&id("web")), [InstanceId(1)]);
    sim.s.check_invariants().unwrap();
}
