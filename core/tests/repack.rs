//! `plan_repack`: a query that packs each pool's instances onto as few of
//! the pool's hosts as it can, never overcommitting and never leaving the
//! pool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use trimline::repack::{RepackOptions, RepackPlan};
use trimline::*;

/// Where every placed instance would be after the plan: (host, parts).
fn after_plan(
    s: &Scheduler,
    plan: &RepackPlan,
) -> BTreeMap<InstanceId, (HostId, Vec<(u8, Resources)>)> {
    let mut at = BTreeMap::new();
    for h in s.host_ids().collect::<Vec<_>>() {
        for i in s.host(h).unwrap().instances {
            at.insert(i, placed(s, i));
        }
    }
    for m in &plan.moves {
        let (from, parts) = at.get(&m.instance).cloned().unwrap();
        assert_eq!(from, m.from, "a move starts where the instance runs");
        assert_eq!(parts.len(), 1, "only whole instances move");
        at.insert(m.instance, (m.to, vec![(m.numa_node, parts[0].1)]));
    }
    at
}

/// The plan keeps every instance in its pool, fits every node, and its
/// counts agree with the arrangement it describes.
fn check_plan(s: &Scheduler, plan: &RepackPlan) {
    let at = after_plan(s, plan);
    let mut load: BTreeMap<(HostId, u8), Resources> = BTreeMap::new();
    for (host, parts) in at.values() {
        for (node, r) in parts {
            let e = load.entry((*host, *node)).or_default();
            *e = e.checked_add(r).unwrap();
        }
    }
    for ((host, node), used) in &load {
        let view = s.host(*host).unwrap();
        let cap = view.nodes[usize::from(*node)].capacity;
        for d in Dimension::ALL {
            assert!(
                used.get(d) <= cap.get(d),
                "host {host:?} node {node} over capacity on {d:?}"
            );
        }
    }
    for m in &plan.moves {
        let (from, to) = (s.host(m.from).unwrap(), s.host(m.to).unwrap());
        assert_eq!(
            (&from.sku, &from.zone),
            (&to.sku, &to.zone),
            "moves stay in their pool"
        );
        assert_eq!(to.state, HostState::Ready);
    }
    let busy_before: Vec<HostId> = s
        .host_ids()
        .filter(|h| !s.host(*h).unwrap().instances.is_empty())
        .collect();
    let busy_after: std::collections::BTreeSet<HostId> = at.values().map(|(h, _)| *h).collect();
    for h in &plan.freed {
        assert!(busy_before.contains(h) && !busy_after.contains(h));
    }
    assert!(plan.hosts_after <= plan.hosts_before);
    let pooled_after: usize = plan.pools.iter().map(|p| p.hosts_after).sum();
    assert_eq!(pooled_after, plan.hosts_after);
    // A plan may use a host that is empty today while freeing two others.
    assert!(plan.freed.len() >= plan.hosts_before - plan.hosts_after);
}

/// Four hosts each holding one small instance next to a finished big one:
/// the small ones fit on one host, and the plan frees the other three.
#[test]
fn scattered_instances_are_gathered_and_nothing_changes() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 16_000, 32_768));
    sim.app(app("batch", 12_000, 8_192));
    sim.app(app("web", 4_000, 8_192));
    sim.hosts("g7", "a", 4);
    let _ = sim.scale("batch", 4);
    let _ = sim.scale("web", 4);
    let _ = sim.scale("batch", 0);
    let before = json(&sim.s);
    let plan = sim.s.plan_repack(&RepackOptions::default());
    assert_eq!(json(&sim.s), before, "planning changes nothing");
    assert_eq!((plan.hosts_before, plan.hosts_after), (4, 1));
    assert_eq!(plan.moves.len(), 3);
    assert_eq!(plan.pools.len(), 1);
    assert_eq!(plan.pools[0].lower_bound, 1);
    check_plan(&sim.s, &plan);
    assert_eq!(
        plan,
        sim.s.plan_repack(&RepackOptions::default()),
        "deterministic"
    );
    let restored = Scheduler::restore(sim.s.snapshot()).unwrap();
    assert_eq!(plan, restored.plan_repack(&RepackOptions::default()));
}

/// Instances never leave their zone or SKU, and cordoned hosts neither give
/// nor take.
#[test]
fn pools_are_separate_and_cordoned_hosts_stay_put() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku("g7", 16_000, 32_768));
    sim.sku(sku("c7", 16_000, 32_768));
    sim.app(app("web", 4_000, 4_096));
    let mut hosts = sim.hosts("g7", "a", 3);
    hosts.extend(sim.hosts("g7", "b", 3));
    hosts.extend(sim.hosts("c7", "a", 3));
    // One instance per host: fill each with a blocker first, then remove it.
    sim.app(app("blocker", 12_000, 4_096));
    let _ = sim.scale("blocker", 9);
    let _ = sim.scale("web", 9);
    let _ = sim.scale("blocker", 0);
    let cordoned = hosts[0];
    let now = sim.tick(1);
    let _ = sim
        .s
        .set_host_state(cordoned, HostState::Cordoned, now)
        .unwrap();
    let plan = sim.s.plan_repack(&RepackOptions::default());
    check_plan(&sim.s, &plan);
    assert_eq!(plan.pools.len(), 3);
    for m in &plan.moves {
        assert_ne!(m.from, cordoned);
        assert_ne!(m.to, cordoned);
    }
    // g7/a keeps 2 ready hosts with one instance each -> 1; the others 3 -> 1.
    let after: Vec<usize> = plan.pools.iter().map(|p| p.hosts_after).collect();
    assert_eq!(after, vec![1, 1, 1]);
}

/// An instance split over two NUMA nodes stays where it is; whole
/// instances move between nodes and hosts.
#[test]
fn split_instances_are_pinned() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(with_numa(sku("g8", 32_000, 65_536), 2));
    sim.app(app("wide", 24_000, 8_192)); // larger than one node: split
    sim.app(app("small", 4_000, 4_096));
    sim.hosts("g8", "a", 2);
    let _ = sim.scale("wide", 1);
    sim.app(app("blocker", 28_000, 8_192));
    let _ = sim.scale("blocker", 1);
    let _ = sim.scale("small", 2);
    let _ = sim.scale("blocker", 0);
    let plan = sim.s.plan_repack(&RepackOptions::default());
    check_plan(&sim.s, &plan);
    assert_eq!(plan.pools[0].pinned, 1);
    let wide = sim.s.app_instances(&id("wide"))[0];
    assert!(plan.moves.iter().all(|m| m.instance != wide));
    assert_eq!(plan.hosts_after, 1, "the small ones join the wide one");
}

proptest! {
    #![proptest_config(common::cases(128))]

    /// After any mix of placements and removals, the plan fits every node,
    /// stays in pools, and never uses more hosts than today.
    #[test]
    fn plans_fit_and_never_get_worse(
        shapes in prop::collection::vec((1u64..16, 1u64..8, prop::bool::ANY), 2..6),
        steps in prop::collection::vec((0usize..6, 0u32..12), 1..25),
        budget in 0u64..50_000,
    ) {
        let mut sim = Sim::new();
        sim.zones(&["a", "b"]);
        sim.sku(sku("g7", 16_000, 65_536));
        sim.sku(with_numa(sku("g8", 32_000, 131_072), 2));
        for (i, (cpu, gib, single)) in shapes.iter().enumerate() {
            let mut a = app(&format!("app{i}"), cpu * 1_000, cpu * gib * 1_024);
            if *single {
                a.numa = NumaPolicy::SingleNode;
            }
            sim.app(a);
        }
        sim.hosts("g7", "a", 6);
        sim.hosts("g7", "b", 6);
        sim.hosts("g8", "a", 4);
        for (a, n) in steps {
            let name = format!("app{}", a % shapes.len());
            let _ = sim.scale(&name, n);
        }
        let plan = sim.s.plan_repack(&RepackOptions::with_budget(budget));
        check_plan(&sim.s, &plan);
        for p in &plan.pools {
            prop_assert!(p.hosts_after <= p.hosts_before);
        }
    }
}
