//! Replacing consolidation: hosts replaced by fewer or cheaper new ones
//! (provisions plus moves), carried out by planning the new hosts, waiting
//! for them to be ready and completing the moves, never overcommitting,
//! losing no instance, and costing what the plan said.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use trimline::repack::{
    ConsolidationOptions, ConsolidationPlan, ReplaceOptions, ReplaceRuledOut, SkuRuledOut,
};
use trimline::*;

/// Where every instance placed on a ready host is: instance -> (host, parts).
type Arrangement = BTreeMap<InstanceId, (HostId, Vec<(u8, Resources)>)>;

fn arrangement(s: &Scheduler) -> Arrangement {
    let mut at = BTreeMap::new();
    for h in s.host_ids().collect::<Vec<_>>() {
        let v = s.host(h).unwrap();
        if v.state == HostState::Ready {
            for i in v.instances {
                at.insert(i, placed(s, i));
            }
        }
    }
    at
}

/// The price of the ready hosts carrying instances, per second.
fn cost(s: &Scheduler) -> u64 {
    s.host_ids()
        .filter_map(|h| s.host(h))
        .filter(|v| v.state == HostState::Ready && !v.instances.is_empty())
        .map(|v| s.sku(&v.sku).unwrap().price_nanos_per_second)
        .sum()
}

fn replacing(replace: ReplaceOptions) -> ConsolidationOptions {
    ConsolidationOptions::default().with_replace(replace)
}

/// The plan's own figures agree with each other and with the state.
fn check_plan(s: &Scheduler, plan: &ConsolidationPlan) {
    assert_eq!(plan.hosts_freed, plan.freed.len());
    assert_eq!(plan.instances_moved, plan.moves.len());
    assert_eq!(
        plan.hosts_after,
        plan.hosts_before + plan.provisions.len() - plan.hosts_freed
    );
    assert_eq!(plan.cost_before_nanos_per_second, cost(s));
    let freed_price: u64 = plan
        .freed
        .iter()
        .map(|h| {
            let sku = s.host(*h).unwrap().sku;
            s.sku(&sku).unwrap().price_nanos_per_second
        })
        .sum();
    let new_price: u64 = plan
        .provisions
        .iter()
        .map(|p| p.price_nanos_per_second)
        .sum();
    assert_eq!(
        plan.cost_after_nanos_per_second,
        plan.cost_before_nanos_per_second - freed_price + new_price
    );
    assert_eq!(
        plan.cost_saved_nanos_per_second,
        plan.cost_before_nanos_per_second - plan.cost_after_nanos_per_second
    );
    assert!(plan.cost_after_nanos_per_second <= plan.cost_before_nanos_per_second);
    // Each new host: its moves fit it, node by node, and come from the
    // hosts it replaces, in its zone.
    for p in &plan.provisions {
        assert!(p.host.is_planned());
        assert!(
            s.host(p.host).is_none(),
            "not planned before the plan starts"
        );
        let spec = s.sku(&p.sku).unwrap();
        assert_eq!(spec.price_nanos_per_second, p.price_nanos_per_second);
        let nodes: Vec<Resources> = if spec.numa_nodes.is_empty() {
            vec![spec.allocatable]
        } else {
            spec.numa_nodes.clone()
        };
        let mut used = vec![Resources::ZERO; nodes.len()];
        for m in plan.moves.iter().filter(|m| m.to == p.host) {
            assert!(p.replaces.contains(&m.from));
            assert_eq!(s.host(m.from).unwrap().zone, p.zone);
            let parts = placed(s, m.instance).1;
            let n = usize::from(m.numa_node);
            used[n] = used[n].checked_add(&total(&parts)).unwrap();
            assert!(
                used[n].fits_in(&nodes[n]),
                "{} overfills {}",
                m.instance,
                p.host
            );
        }
    }
    let moved: BTreeMap<InstanceId, HostId> =
        plan.moves.iter().map(|m| (m.instance, m.from)).collect();
    for h in &plan.freed {
        for i in s.host(*h).unwrap().instances {
            assert_eq!(moved.get(&i), Some(h), "{i} would stay on freed {h}");
        }
    }
}

/// Carry `plan` out: start what can start; report each new host ready
/// under a fresh id; complete the moves whose replacement runs, checking
/// every state. Returns each moved instance's replacement and the ready id
/// of each new host.
fn execute(
    sim: &mut Sim,
    plan: &ConsolidationPlan,
    budget: usize,
    mut next_id: u64,
) -> (BTreeMap<InstanceId, InstanceId>, BTreeMap<HostId, HostId>) {
    let count = sim.s.instance_count();
    let mut replacement = BTreeMap::new();
    let mut ready = BTreeMap::new();
    for round in 0.. {
        assert!(round <= plan.moves.len() * 3 + 3, "the plan does not end");
        let now = sim.tick(1);
        let step = sim.s.start_consolidation(plan, now).unwrap();
        assert!(step.stale.is_empty(), "nothing changed: nothing is stale");
        assert_eq!(step.done + step.in_flight + step.waiting, plan.moves.len());
        for m in &step.decisions.moves {
            replacement.insert(m.from, m.to);
        }
        assert_no_overcommit(&sim.s);
        if step.is_finished() {
            break;
        }
        for p in &step.decisions.provisions {
            assert!(
                plan.provisions
                    .iter()
                    .any(|q| q.host == p.hosts[0] && q.sku == p.sku)
            );
            let now = sim.tick(1);
            let _ = sim.s.host_ready(p.hosts[0], HostId(next_id), now).unwrap();
            ready.insert(p.hosts[0], HostId(next_id));
            next_id += 1;
            assert_no_overcommit(&sim.s);
        }
        let mut flying: BTreeMap<AppId, usize> = BTreeMap::new();
        for m in sim.s.moves_in_flight() {
            *flying.entry(sim.s.instance(m.to).unwrap().app).or_insert(0) += 1;
        }
        assert!(flying.values().all(|n| *n <= budget), "{flying:?}");
        for m in sim.s.moves_in_flight() {
            let now = sim.tick(1);
            let _ = sim.s.complete_move(m.to, now).unwrap();
            assert_no_overcommit(&sim.s);
        }
        assert_eq!(sim.s.instance_count(), count, "no instance lost or added");
    }
    (replacement, ready)
}

/// The arrangement the plan describes, checked against the state reached,
/// and the cost it said.
fn check_end(
    before: &Arrangement,
    s: &Scheduler,
    plan: &ConsolidationPlan,
    replacement: &BTreeMap<InstanceId, InstanceId>,
    ready: &BTreeMap<HostId, HostId>,
) {
    let after = arrangement(s);
    assert_eq!(after.len(), before.len(), "no instance lost or added");
    let moved: BTreeMap<InstanceId, _> = plan.moves.iter().map(|m| (m.instance, m)).collect();
    for (i, (host, parts)) in before {
        match moved.get(i) {
            Some(m) => {
                assert!(s.instance(*i).is_none(), "{i} was moved off");
                let to = ready.get(&m.to).copied().unwrap_or(m.to);
                assert_eq!(
                    after[&replacement[i]],
                    (to, vec![(m.numa_node, total(parts))]),
                    "{i} is where the plan put it"
                );
            }
            None => assert_eq!(&after[i], &(*host, parts.clone()), "{i} stays"),
        }
    }
    for h in &plan.freed {
        assert!(s.host(*h).unwrap().instances.is_empty(), "{h} is empty");
    }
    assert_eq!(
        ready.len(),
        plan.provisions.len(),
        "every new host was planned"
    );
    assert_eq!(cost(s), plan.cost_after_nanos_per_second);
}

/// Three hosts of an old SKU, each more than half full with one instance
/// (no two fit together), and a bigger new SKU that takes all three.
fn three_old_hosts(new_price: u64) -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    let mut old = sku("old", 16_000, 32_768);
    old.price_nanos_per_second = 1_000;
    let mut new = sku("new", 32_000, 65_536);
    new.price_nanos_per_second = new_price;
    sim.sku(old);
    sim.sku(new);
    sim.hosts("old", "a", 3);
    sim.app(app("web", 9_000, 16_384));
    let d = sim.scale("web", 3);
    assert_eq!(d.placements.len(), 3);
    let now = sim.now;
    let _ = sim
        .s
        .set_stock(&id("new"), &id("a"), Stock::Known(4), now)
        .unwrap();
    sim
}

/// Three half-full hosts at 1,000 each are replaced by one bigger host at
/// 2,000: 1,000 nanos per second saved, exactly; carried out through a
/// provision, the host coming up and three moves, one at a time, with a
/// restore half-way.
#[test]
fn three_half_full_hosts_are_replaced_by_one_cheaper_bigger_host() {
    let mut sim = three_old_hosts(2_000);
    let delete = sim.s.plan_consolidation(&ConsolidationOptions::default());
    assert_eq!(delete.hosts_freed, 0, "no two instances fit one old host");
    assert!(delete.provisions.is_empty() && delete.replacement.is_none());

    let state = json(&sim.s);
    let options = replacing(ReplaceOptions::default());
    let plan = sim.s.plan_consolidation(&options);
    assert_eq!(json(&sim.s), state, "planning changes nothing");
    assert_eq!(plan, sim.s.plan_consolidation(&options), "deterministic");
    check_plan(&sim.s, &plan);
    assert_eq!(plan.provisions.len(), 1, "{plan}");
    let p = &plan.provisions[0];
    assert_eq!((p.sku.as_str(), p.zone.as_str()), ("new", "a"));
    assert_eq!(p.replaces, vec![HostId(1), HostId(2), HostId(3)]);
    assert_eq!(plan.freed, p.replaces);
    assert_eq!((plan.hosts_before, plan.hosts_after), (3, 1));
    assert_eq!((plan.hosts_freed, plan.instances_moved), (3, 3));
    assert_eq!(plan.cost_before_nanos_per_second, 3_000);
    assert_eq!(plan.cost_after_nanos_per_second, 2_000);
    assert_eq!(plan.cost_saved_nanos_per_second, 1_000);
    assert!(plan.moves.iter().all(|m| m.to == p.host));
    let report = plan.replacement.as_ref().unwrap();
    assert_eq!((report.candidates, report.skus_considered), (3, 2));
    assert_eq!(
        report.ruled_out,
        vec![SkuRuledOut {
            sku: id("old"),
            reason: ReplaceRuledOut::NotAccepted
        }]
    );
    let text = plan.to_string();
    assert!(text.contains("3 hosts freed"), "{text}");
    assert!(
        text.contains("provision planned-1: new in a at 2000 nanos per second, replacing"),
        "{text}"
    );
    assert!(
        text.contains("1 SKU of 2 ruled out: 1 not accepted by the instances' apps"),
        "{text}"
    );

    // The first step plans the new host and starts one move onto it.
    let before = arrangement(&sim.s);
    let now = sim.tick(1);
    let step = sim.s.start_consolidation(&plan, now).unwrap();
    assert_eq!(step.decisions.provisions.len(), 1);
    assert_eq!(step.decisions.provisions[0].hosts, vec![p.host]);
    assert_eq!(step.decisions.tentative.len(), 1);
    assert!(step.decisions.placements.is_empty());
    assert_eq!((step.in_flight, step.waiting), (1, 2));
    assert_eq!(sim.s.offerings()[0].stock, Stock::Known(3));
    assert_no_overcommit(&sim.s);
    // Not ready yet: the move cannot complete, and nothing else starts.
    let to = step.decisions.moves[0].to;
    assert_eq!(
        sim.s.complete_move(to, sim.now).unwrap_err(),
        Error::MoveNotReady(to)
    );
    let now = sim.tick(1);
    let again = sim.s.start_consolidation(&plan, now).unwrap();
    assert!(again.decisions.is_empty() && again.stale.is_empty());

    // A restore keeps the plan going.
    let snap = sim.s.snapshot();
    assert_eq!(snap.format, SNAPSHOT_FORMAT);
    assert_eq!(snap.replacement_hosts.len(), 1);
    let restored = Scheduler::restore(serde_json::from_str(&json(&sim.s)).unwrap()).unwrap();
    assert_eq!(restored.snapshot(), snap);
    sim.s = restored;

    let now = sim.tick(1);
    let _ = sim.s.host_ready(p.host, HostId(100), now).unwrap();
    let snap = sim.s.snapshot();
    assert_eq!(
        (
            snap.replacement_hosts[0].planned_as,
            snap.replacement_hosts[0].host
        ),
        (p.host, HostId(100))
    );
    let restored = Scheduler::restore(serde_json::from_str(&json(&sim.s)).unwrap()).unwrap();
    assert_eq!(restored.snapshot(), snap);
    sim.s = restored;
    let now = sim.tick(1);
    let _ = sim.s.complete_move(to, now).unwrap();

    let mut ready = BTreeMap::new();
    ready.insert(p.host, HostId(100));
    let (mut replacement, more) = execute(&mut sim, &plan, 1, 200);
    assert!(more.is_empty(), "the new host was planned once");
    replacement.insert(step.decisions.moves[0].from, to);
    check_end(&before, &sim.s, &plan, &replacement, &ready);
    assert_eq!(sim.s.host(HostId(100)).unwrap().instances.len(), 3);
    assert_eq!(cost(&sim.s), 2_000);
    // Removing the new host forgets it.
    let now = sim.tick(1);
    let _ = sim.s.remove_host(HostId(100), now).unwrap();
    assert!(sim.s.snapshot().replacement_hosts.is_empty());
}

/// When no allowed SKU is cheaper, the plan says so and provisions nothing;
/// a SKU left out of the list is named as such.
#[test]
fn no_cheaper_sku_means_no_provision_and_says_why() {
    let sim = three_old_hosts(3_000);
    let plan = sim
        .s
        .plan_consolidation(&replacing(ReplaceOptions::default()));
    check_plan(&sim.s, &plan);
    assert!(
        plan.provisions.is_empty() && plan.moves.is_empty(),
        "{plan}"
    );
    assert_eq!(plan.cost_saved_nanos_per_second, 0);
    assert_eq!(plan.cost_after_nanos_per_second, 3_000);
    let report = plan.replacement.as_ref().unwrap();
    let reasons: Vec<(String, ReplaceRuledOut)> = report
        .ruled_out
        .iter()
        .map(|r| (r.sku.to_string(), r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("old".to_string(), ReplaceRuledOut::NotOffered),
            ("new".to_string(), ReplaceRuledOut::NotCheaper)
        ]
    );
    assert!(
        plan.to_string()
            .contains("2 SKUs of 2 ruled out: 1 not offered, 1 not cheaper"),
        "{plan}"
    );

    // Cheaper, but not in the list; or the limit of new hosts is 0.
    let sim = three_old_hosts(2_000);
    let only_old = replacing(ReplaceOptions::new(vec![id("old")], None));
    let plan = sim.s.plan_consolidation(&only_old);
    assert!(plan.provisions.is_empty());
    let report = plan.replacement.unwrap();
    assert_eq!(report.ruled_out[1].reason, ReplaceRuledOut::NotListed);
    let none = replacing(ReplaceOptions::new(vec![], Some(0)));
    let plan = sim.s.plan_consolidation(&none);
    assert!(plan.provisions.is_empty());
    assert_eq!(
        plan.replacement.unwrap().ruled_out[1].reason,
        ReplaceRuledOut::Limits
    );
}

/// An app whose substitution rules refuse the new SKU keeps its hosts.
#[test]
fn the_apps_substitution_rules_decide_which_skus_may_replace() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    let mut old = sku("old", 16_000, 32_768);
    old.price_nanos_per_second = 1_000;
    let mut new = sku("new", 32_000, 65_536);
    new.price_nanos_per_second = 2_000;
    sim.sku(old);
    sim.sku(new);
    sim.hosts("old", "a", 3);
    let mut web = app("web", 9_000, 16_384);
    web.sku = Some(id("old"));
    web.substitution.tiers = vec![vec!["old".parse().unwrap()]];
    sim.app(web);
    let _ = sim.scale("web", 3);
    let now = sim.now;
    let _ = sim
        .s
        .set_stock(&id("new"), &id("a"), Stock::Known(4), now)
        .unwrap();
    let plan = sim
        .s
        .plan_consolidation(&replacing(ReplaceOptions::default()));
    assert!(plan.provisions.is_empty(), "{plan}");
    let report = plan.replacement.unwrap();
    assert_eq!(report.ruled_out[1].sku, id::<SkuId>("new"));
    assert_eq!(report.ruled_out[1].reason, ReplaceRuledOut::NotAccepted);
}

/// The world changed before the plan started: the new SKU's offering ran
/// out. Nothing is forced; the moves are stale and the re-plan says why.
#[test]
fn a_new_host_that_can_no_longer_be_planned_is_replanned() {
    let mut sim = three_old_hosts(2_000);
    let plan = sim
        .s
        .plan_consolidation(&replacing(ReplaceOptions::default()));
    assert_eq!(plan.provisions.len(), 1);
    let now = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("new"), &id("a"), Stock::Exhausted, now)
        .unwrap();
    let state = json(&sim.s);
    let now = sim.tick(1);
    let step = sim.s.start_consolidation(&plan, now).unwrap();
    assert!(step.decisions.is_empty(), "nothing is forced");
    assert_eq!(step.stale.len(), 3);
    let mut a: serde_json::Value = serde_json::from_str(&json(&sim.s)).unwrap();
    let mut b: serde_json::Value = serde_json::from_str(&state).unwrap();
    a["now"] = serde_json::Value::Null;
    b["now"] = serde_json::Value::Null;
    assert_eq!(a, b, "a stale step changes nothing but the time");
    let replan = step.replan.unwrap();
    assert!(replan.provisions.is_empty());
    assert_eq!(
        replan.replacement.unwrap().ruled_out[1].reason,
        ReplaceRuledOut::NotOffered
    );
}

proptest! {
    #![proptest_config(common::cases(48))]

    /// Executing a replacing plan (provisions, hosts ready, moves) step by
    /// step never overcommits a node, keeps moves within budgets, loses no
    /// instance, ends in the planned arrangement and costs what the plan
    /// said.
    #[test]
    fn executing_a_replacing_plan_keeps_every_rule(
        shapes in prop::collection::vec((1u64..12, 1u64..8), 2..5),
        steps in prop::collection::vec((0usize..5, 0u32..10), 1..16),
        budget in 1u32..3,
        blockers in 0u32..16,
        prices in (500u64..2_000, 1_000u64..5_000),
        max_new in prop::option::of(0u32..4),
    ) {
        let mut sim = Sim::new();
        sim.zones(&["a", "b"]);
        let mut g7 = sku("g7", 16_000, 65_536);
        g7.price_nanos_per_second = prices.0;
        let mut g8 = with_numa(sku("g8", 32_000, 131_072), 2);
        g8.price_nanos_per_second = prices.1;
        sim.sku(g7);
        sim.sku(g8);
        for (i, (cpu, gib)) in shapes.iter().enumerate() {
            let mut a = app(&format!("app{i}"), cpu * 1_000, cpu * gib * 1_024);
            a.substitution.disruption_budget = budget;
            a.spread.disruption_budget = budget;
            sim.app(a);
        }
        sim.hosts("g7", "a", 5);
        sim.hosts("g7", "b", 5);
        sim.hosts("g8", "a", 2);
        sim.app(app("blocker", 10_000, 8_192));
        let _ = sim.scale("blocker", blockers);
        for (a, n) in steps {
            let name = format!("app{}", a % shapes.len());
            let _ = sim.scale(&name, n);
        }
        let _ = sim.scale("blocker", 0);
        let now = sim.now;
        for (s, z) in [("g7", "a"), ("g7", "b"), ("g8", "a"), ("g8", "b")] {
            let _ = sim.s.set_stock(&id(s), &id(z), Stock::Known(3), now).unwrap();
        }
        let plan = sim.s.plan_consolidation(&replacing(ReplaceOptions::new(vec![], max_new)));
        check_plan(&sim.s, &plan);
        prop_assert!(plan.provisions.len() <= max_new.map_or(usize::MAX, |n| n as usize));
        let before = arrangement(&sim.s);
        let (replacement, ready) = execute(&mut sim, &plan, budget as usize, 1_000);
        check_end(&before, &sim.s, &plan, &replacement, &ready);
    }
}
