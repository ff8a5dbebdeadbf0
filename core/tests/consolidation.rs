//! `plan_consolidation` and `start_consolidation`: an ordered plan of moves
//! that empties hosts, carried out through the move mechanism within each
//! app's disruption budget, never overcommitting, never changing an app's
//! zone counts, and re-planned when the world changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use proptest::prelude::*;
use trimline::repack::{ConsolidationOptions, ConsolidationPlan, ConsolidationStep};
use trimline::*;

/// Where every placed instance is: instance -> (host, parts).
type Arrangement = BTreeMap<InstanceId, (HostId, Vec<(u8, Resources)>)>;

/// The current [`Arrangement`].
fn arrangement(s: &Scheduler) -> Arrangement {
    let mut at = BTreeMap::new();
    for h in s.host_ids().collect::<Vec<_>>() {
        for i in s.host(h).unwrap().instances {
            at.insert(i, placed(s, i));
        }
    }
    at
}

/// Per app, placed instances per zone, counting a move in flight once (its
/// replacement left out).
fn settled_counts(s: &Scheduler) -> BTreeMap<String, Vec<(String, u32)>> {
    let replacements: BTreeSet<InstanceId> = s.moves_in_flight().iter().map(|m| m.to).collect();
    let mut out: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    for (i, (host, _)) in arrangement(s) {
        if replacements.contains(&i) {
            continue;
        }
        let app = s.instance(i).unwrap().app.to_string();
        let zone = s.host(host).unwrap().zone.to_string();
        *out.entry(app).or_default().entry(zone).or_insert(0) += 1;
    }
    out.into_iter()
        .map(|(a, z)| (a, z.into_iter().collect()))
        .collect()
}

/// The plan's own consistency: groups match `freed`, moves start where the
/// instance runs and stay in the pool, every instance of a freed host
/// moves, and the counts agree.
fn check_plan(s: &Scheduler, plan: &ConsolidationPlan) {
    assert_eq!(plan.hosts_freed, plan.freed.len());
    assert_eq!(plan.instances_moved, plan.moves.len());
    assert_eq!(plan.hosts_after, plan.hosts_before - plan.hosts_freed);
    let groups: Vec<HostId> = plan.moves.iter().fold(Vec::new(), |mut g, m| {
        if g.last() != Some(&m.frees) {
            g.push(m.frees);
        }
        g
    });
    assert_eq!(groups, plan.freed, "moves come host by host, in order");
    let at = arrangement(s);
    let freed: BTreeSet<HostId> = plan.freed.iter().copied().collect();
    for m in &plan.moves {
        assert_eq!(at[&m.instance].0, m.from);
        assert_eq!(m.from, m.frees);
        assert!(!freed.contains(&m.to), "an emptied host never receives");
        let (from, to) = (s.host(m.from).unwrap(), s.host(m.to).unwrap());
        assert_eq!((&from.sku, &from.zone), (&to.sku, &to.zone));
    }
    let moved: BTreeSet<InstanceId> = plan.moves.iter().map(|m| m.instance).collect();
    for h in &plan.freed {
        for i in s.host(*h).unwrap().instances {
            assert!(moved.contains(&i), "{i} would stay on freed {h}");
        }
    }
    let mut price = 0;
    for h in &plan.freed {
        let sku = s.host(*h).unwrap().sku;
        price += s.sku(&sku).unwrap().price_nanos_per_second;
    }
    assert_eq!(plan.cost_saved_nanos_per_second, price);
}

/// A tiny deterministic generator for the order moves complete in.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Checks after every change while a plan runs.
fn check_running(s: &Scheduler, counts: &BTreeMap<String, Vec<(String, u32)>>, budget: usize) {
    s.check_invariants().unwrap();
    assert_eq!(&settled_counts(s), counts, "zone counts never change");
    let mut flying: BTreeMap<AppId, usize> = BTreeMap::new();
    for m in s.moves_in_flight() {
        *flying.entry(s.instance(m.to).unwrap().app).or_insert(0) += 1;
    }
    for (app, n) in flying {
        assert!(n <= budget, "{app} has {n} moves in flight");
    }
}

/// Carry `plan` out: start what can start, complete the moves in flight in
/// an order drawn from `rng` (aborting the first one once with `abort`),
/// checking every state. Returns each moved instance's replacement and
/// the number of steps.
fn execute(
    sim: &mut Sim,
    plan: &ConsolidationPlan,
    rng: &mut Rng,
    budget: usize,
    mut abort: bool,
) -> (BTreeMap<InstanceId, InstanceId>, usize) {
    let counts = settled_counts(&sim.s);
    let mut replacement = BTreeMap::new();
    for round in 0.. {
        assert!(round <= plan.moves.len() * 2 + 2, "the plan does not end");
        let now = sim.tick(1);
        let step: ConsolidationStep = sim.s.start_consolidation(plan, now).unwrap();
        assert!(step.stale.is_empty(), "nothing changed: nothing is stale");
        assert!(step.replan.is_none());
        assert_eq!(
            step.done + step.in_flight + step.waiting,
            plan.moves.len(),
            "every move is accounted for"
        );
        for m in &step.decisions.moves {
            assert_eq!(m.reason, MoveReason::Consolidate);
            replacement.insert(m.from, m.to);
        }
        check_running(&sim.s, &counts, budget);
        if step.is_finished() {
            return (replacement, round);
        }
        let mut flying: Vec<InstanceId> = sim.s.moves_in_flight().iter().map(|m| m.to).collect();
        assert!(!flying.is_empty(), "a step that is not finished has moves");
        if abort {
            abort = false;
            let to = flying.remove(0);
            let _ = sim.s.abort_move(to, sim.now).unwrap();
            replacement.retain(|_, r| *r != to);
            check_running(&sim.s, &counts, budget);
        }
        // Complete a non-empty random subset, in a random order.
        while !flying.is_empty() {
            let k = (rng.next() % flying.len() as u64) as usize;
            let to = flying.swap_remove(k);
            let now = sim.tick(1);
            let _ = sim.s.complete_move(to, now).unwrap();
            check_running(&sim.s, &counts, budget);
            if rng.next() % 3 == 0 {
                break;
            }
        }
    }
    unreachable!()
}

/// The arrangement the plan describes, checked against the state reached.
fn check_end(
    before: &Arrangement,
    s: &Scheduler,
    plan: &ConsolidationPlan,
    replacement: &BTreeMap<InstanceId, InstanceId>,
) {
    let after = arrangement(s);
    let moved: BTreeMap<InstanceId, _> = plan.moves.iter().map(|m| (m.instance, m)).collect();
    assert_eq!(after.len(), before.len(), "no instance lost or added");
    for (i, (host, parts)) in before {
        match moved.get(i) {
            Some(m) => {
                assert!(s.instance(*i).is_none(), "{i} was moved off");
                let r = replacement[i];
                assert_eq!(
                    after[&r],
                    (m.to, vec![(m.numa_node, total(parts))]),
                    "{i} is where the plan put it"
                );
            }
            None => assert_eq!(&after[i], &(*host, parts.clone()), "{i} stays"),
        }
    }
    for h in &plan.freed {
        assert!(s.host(*h).unwrap().instances.is_empty(), "{h} is empty");
    }
}

/// Four hosts each carrying one small instance: three moves free three
/// hosts, all onto the same one, one move at a time, and the plan says
/// what it saves.
#[test]
fn scattered_instances_are_gathered_by_ordered_moves() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 16_000, 32_768));
    sim.app(app("batch", 12_000, 8_192));
    sim.app(app("web", 4_000, 8_192));
    sim.hosts("g7", "a", 4);
    let _ = sim.scale("batch", 4);
    let _ = sim.scale("web", 4);
    let _ = sim.scale("batch", 0);
    let state = json(&sim.s);
    let plan = sim.s.plan_consolidation(&ConsolidationOptions::default());
    assert_eq!(json(&sim.s), state, "planning changes nothing");
    assert_eq!(
        plan,
        sim.s.plan_consolidation(&ConsolidationOptions::default())
    );
    check_plan(&sim.s, &plan);
    assert_eq!((plan.hosts_before, plan.hosts_after), (4, 1));
    assert_eq!((plan.hosts_freed, plan.instances_moved), (3, 3));
    assert_eq!(plan.cost_saved_nanos_per_second, 3_000);
    let text = plan.to_string();
    assert!(text.starts_with(
        "consolidation: 4 hosts carry instances now, 1 after the plan; 3 hosts freed"
    ));
    assert!(
        text.contains("by 3 moves; 3000 nanos per second saved"),
        "{text}"
    );

    let before = arrangement(&sim.s);
    let (replacement, rounds) = execute(&mut sim, &plan, &mut Rng(7), 1, false);
    assert_eq!(rounds, 3, "a budget of one: one move per step");
    check_end(&before, &sim.s, &plan, &replacement);
}

/// Limits: the cheapest hosts to empty come first, and a plan never goes
/// past its limits.
#[test]
fn limits_keep_the_cheapest_hosts() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 16_000, 32_768));
    sim.app(app("blocker", 12_000, 8_192));
    sim.app(app("web", 2_000, 2_048));
    sim.hosts("g7", "a", 4);
    // Two web instances per host next to a blocker, then one blocker left.
    let _ = sim.scale("blocker", 4);
    let _ = sim.scale("web", 7);
    let _ = sim.scale("blocker", 1);
    let all = sim.s.plan_consolidation(&ConsolidationOptions::default());
    check_plan(&sim.s, &all);
    assert_eq!(all.hosts_freed, 2, "{all}");
    let sizes: Vec<usize> = all
        .freed
        .iter()
        .map(|h| all.moves.iter().filter(|m| m.frees == *h).count())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
    let one = sim
        .s
        .plan_consolidation(&ConsolidationOptions::new(Some(1), None));
    assert_eq!(one.freed, all.freed[..1]);
    let few = sim
        .s
        .plan_consolidation(&ConsolidationOptions::new(None, Some(sizes[0] as u32)));
    assert_eq!(few.instances_moved, sizes[0]);
    assert_eq!(few.hosts_freed, 1);
}

/// An instance split over NUMA nodes pins its host; an app whose budget
/// allows two moves gets two at a time.
#[test]
fn split_instances_pin_their_host_and_budgets_bound_moves_in_flight() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(with_numa(sku("g8", 32_000, 65_536), 2));
    sim.app(app("wide", 24_000, 8_192));
    let mut small = app("small", 2_000, 2_048);
    small.substitution.disruption_budget = 2;
    small.spread.disruption_budget = 2;
    sim.app(small);
    sim.hosts("g8", "a", 4);
    sim.app(app("blocker", 28_000, 8_192));
    let _ = sim.scale("blocker", 4);
    let _ = sim.scale("small", 8);
    let _ = sim.scale("blocker", 0);
    let _ = sim.scale("wide", 1);
    let wide = sim.s.app_instances(&id("wide"))[0];
    let wide_host = placed(&sim.s, wide).0;
    let plan = sim.s.plan_consolidation(&ConsolidationOptions::default());
    check_plan(&sim.s, &plan);
    assert!(!plan.freed.contains(&wide_host));
    assert_eq!((plan.hosts_freed, plan.instances_moved), (2, 4), "{plan}");
    let now = sim.tick(1);
    let step = sim.s.start_consolidation(&plan, now).unwrap();
    assert_eq!(step.decisions.moves.len(), 2, "the budget is two");
    assert_eq!(step.waiting, plan.moves.len() - 2);
    let before = arrangement(&sim.s);
    for m in &step.decisions.moves {
        let _ = sim.s.abort_move(m.to, now).unwrap();
    }
    assert_eq!(arrangement(&sim.s).len(), before.len() - 2);
    let before = arrangement(&sim.s);
    let (replacement, _) = execute(&mut sim, &plan, &mut Rng(3), 2, false);
    check_end(&before, &sim.s, &plan, &replacement);
}

/// A move aborted mid-way starts again at the next step; once its target
/// is cordoned, the moves into it are stale, nothing of their hosts starts,
/// and the re-plan carried out frees hosts without it.
#[test]
fn an_aborted_move_is_retried_then_replanned_when_the_world_changed() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 16_000, 32_768));
    sim.app(app("batch", 12_000, 8_192));
    sim.app(app("web", 4_000, 8_192));
    let hosts = sim.hosts("g7", "a", 4);
    let _ = sim.scale("batch", 4);
    let _ = sim.scale("web", 4);
    let _ = sim.scale("batch", 0);
    let plan = sim.s.plan_consolidation(&ConsolidationOptions::default());
    assert_eq!(plan.hosts_freed, 3);
    let target = plan.moves[0].to;
    assert!(plan.moves.iter().all(|m| m.to == target));

    let now = sim.tick(1);
    let step = sim.s.start_consolidation(&plan, now).unwrap();
    assert_eq!(step.decisions.moves.len(), 1);
    let first = step.decisions.moves[0].clone();
    assert_eq!(first.from, plan.moves[0].instance);
    let _ = sim.s.abort_move(first.to, now).unwrap();
    sim.s.check_invariants().unwrap();

    let now = sim.tick(1);
    let step = sim.s.start_consolidation(&plan, now).unwrap();
    assert_eq!(
        step.decisions.moves.len(),
        1,
        "the aborted move starts again"
    );
    assert_eq!(step.decisions.moves[0].from, first.from);
    assert_eq!(step.decisions.moves[0].to_host, target);
    let _ = sim.s.abort_move(step.decisions.moves[0].to, now).unwrap();

    // The world changes: the target is cordoned.
    let now = sim.tick(1);
    let _ = sim
        .s
        .set_host_state(target, HostState::Cordoned, now)
        .unwrap();
    let before = json(&sim.s);
    let now = sim.tick(1);
    let step = sim.s.start_consolidation(&plan, now).unwrap();
    assert!(step.decisions.moves.is_empty(), "nothing is forced");
    assert_eq!(step.stale.len(), 3);
    assert!(!step.is_finished());
    let mut state: serde_json::Value = serde_json::from_str(&json(&sim.s)).unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&before).unwrap();
    state["now"] = serde_json::Value::Null;
    old["now"] = serde_json::Value::Null;
    assert_eq!(state, old, "a stale step changes nothing but the time");
    let replan = step.replan.expect("a stale step re-plans");
    check_plan(&sim.s, &replan);
    assert_eq!(replan.hosts_freed, 2);
    assert!(
        replan
            .moves
            .iter()
            .all(|m| m.to != target && m.from != target)
    );
    let before = arrangement(&sim.s);
    let (replacement, _) = execute(&mut sim, &replan, &mut Rng(11), 1, true);
    check_end(&before, &sim.s, &replan, &replacement);
    let busy: Vec<HostId> = hosts
        .iter()
        .copied()
        .filter(|h| !sim.s.host(*h).unwrap().instances.is_empty())
        .collect();
    assert_eq!(busy.len(), 2, "the cordoned host and the one gathering");
    assert_eq!(sim.s.app_instances(&id("web")).len(), 4);
}

proptest! {
    #![proptest_config(common::cases(64))]

    /// Executing a plan step by step, with moves completed in any order
    /// and one aborted, never overcommits a node, never changes an app's
    /// zone counts (so its skew and tiers hold), keeps NUMA policies, keeps
    /// moves within budgets, loses no instance and ends in the planned
    /// arrangement.
    #[test]
    fn executing_a_plan_keeps_every_rule(
        shapes in prop::collection::vec((1u64..12, 1u64..8, prop::bool::ANY, prop::bool::ANY), 2..6),
        steps in prop::collection::vec((0usize..6, 0u32..14), 1..25),
        budget in 1u32..4,
        seed in 1u64..u64::MAX,
        abort in prop::bool::ANY,
        blockers in 0u32..24,
    ) {
        let mut sim = Sim::new();
        sim.zones(&["a", "b"]);
        sim.sku(sku("g7", 16_000, 65_536));
        sim.sku(with_numa(sku("g8", 32_000, 131_072), 2));
        for (i, (cpu, gib, single, spread)) in shapes.iter().enumerate() {
            let mut a = app(&format!("app{i}"), cpu * 1_000, cpu * gib * 1_024);
            if *single {
                a.numa = NumaPolicy::SingleNode;
            }
            if *spread {
                a.spread.max_skew = Some(1);
            }
            a.substitution.disruption_budget = budget;
            a.spread.disruption_budget = budget;
            sim.app(a);
        }
        sim.hosts("g7", "a", 6);
        sim.hosts("g7", "b", 6);
        sim.hosts("g8", "a", 4);
        // A blocker spreads the apps over many hosts, then goes: the
        // fragmented region a scale-down leaves.
        sim.app(app("blocker", 10_000, 8_192));
        let _ = sim.scale("blocker", blockers);
        for (a, n) in steps {
            let name = format!("app{}", a % shapes.len());
            let _ = sim.scale(&name, n);
        }
        let _ = sim.scale("blocker", 0);
        let plan = sim.s.plan_consolidation(&ConsolidationOptions::default());
        check_plan(&sim.s, &plan);
        let before = arrangement(&sim.s);
        let skews: Vec<u32> = (0..shapes.len())
            .map(|i| sim.s.skew(&id(&format!("app{i}"))).unwrap())
            .collect();
        let (replacement, _) = execute(&mut sim, &plan, &mut Rng(seed), budget as usize, abort);
        check_end(&before, &sim.s, &plan, &replacement);
        for (i, k) in skews.iter().enumerate() {
            prop_assert_eq!(sim.s.skew(&id(&format!("app{i}"))).unwrap(), *k);
        }
    }
}
