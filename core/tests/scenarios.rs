//! The four failures of the source document, end to end on the simulation
//! harness. Each test tells its story in its doc comment and checks, after
//! every step, that no host or NUMA node holds more than its capacity in any
//! dimension (recomputed from the instance views) and that the scheduler's
//! own audit passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{
    Sim, app, assert_no_overcommit, best_effort, json, no_fit, placed, sku, total, with_numa,
};
use trimline::*;

fn count_by<K: Ord>(items: impl IntoIterator<Item = K>) -> BTreeMap<K, usize> {
    let mut m = BTreeMap::new();
    for k in items {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// **E-commerce "performance cliff".** A core trading service shares hosts
/// with analytics jobs. Off-peak the analytics soak up every bit of slack;
/// at peak the trading service scales out 4x. On a platform with non-rigid
/// CPU the analytics would steal the trading service's CPU. Here the
/// trading instances preempt analytics (each eviction names the trading
/// instance that needed the room), every trading instance is placed with
/// exactly the CPU it asked for, and the evicted analytics wait: they are
/// never placed on capacity a trading instance holds. Off-peak again, the
/// slack goes back to analytics.
#[test]
fn ecommerce_peak_preempts_analytics_and_trading_keeps_exactly_its_cpu() {
    let mut sim = Sim::new();
    sim.zones(&["hz-a"]);
    // 32 vCPU, 64 GiB, two NUMA nodes of 16 vCPU / 32 GiB.
    sim.sku(with_numa(sku("c7.8xlarge", 32_000, 65_536), 2));
    let hosts = sim.hosts("c7.8xlarge", "hz-a", 4);
    let mut trading = app("trading", 4_000, 8_192);
    trading.priority = 10;
    let trading_req = trading.resources;
    sim.app(trading);
    sim.app(best_effort(app("analytics", 2_000, 4_096)));
    let audit = |sim: &Sim| assert_no_overcommit(&sim.s);

    // Off-peak: four trading instances; analytics fill everything else.
    let d = sim.scale("trading", 4);
    assert_eq!((d.placements.len(), d.pending.len()), (4, 0));
    audit(&sim);
    let d = sim.scale("analytics", 60);
    // 128 vCPU - 16 for trading = 112 vCPU = 56 analytics; 4 wait.
    assert_eq!((d.placements.len(), d.pending.len()), (56, 4));
    assert!(d.evictions.is_empty(), "best effort never preempts");
    for p in &d.pending {
        assert_eq!(p.reason.to_string(), "0/4 hosts fit: cpu: 4 hosts");
    }
    for h in &hosts {
        assert_eq!(sim.s.host(*h).unwrap().free.cpu_millis(), 0);
    }
    audit(&sim);

    // Peak: trading scales out 4x.
    let d = sim.scale("trading", 16);
    assert_eq!(d.placements.len(), 12, "every trading instance is placed");
    assert!(d.pending.is_empty());
    assert!(d.removals.is_empty());
    // Each new 4-vCPU instance needs two 2-vCPU analytics out of the way.
    assert_eq!(d.evictions.len(), 24);
    let placed_now: Vec<InstanceId> = d.placements.iter().map(|p| p.instance).collect();
    let mut by = Vec::new();
    for e in &d.evictions {
        assert_eq!(e.app, "analytics".parse::<AppId>().unwrap());
        let EvictionCause::Preempted { by: rigid } = e.cause else {
            panic!("unexpected cause {:?}", e.cause);
        };
        assert!(
            placed_now.contains(&rigid),
            "{rigid} is not a new trading instance"
        );
        // The trading instance landed on the host the victim left.
        let p = d.placements.iter().find(|p| p.instance == rigid).unwrap();
        assert_eq!(p.host, e.host);
        // The victim waits, and says why.
        assert_eq!(
            common::pending_reason(&sim.s, e.instance),
            PendingReason::Preempted {
                by: rigid,
                host: e.host
            }
        );
        by.push(rigid);
    }
    assert!(count_by(by).values().all(|&n| n == 2));
    // Every trading instance holds exactly what it asked for.
    let trading_ids = sim.s.app_instances(&"trading".parse().unwrap());
    assert_eq!(trading_ids.len(), 16);
    for i in &trading_ids {
        let (_, parts) = placed(&sim.s, *i);
        assert_eq!(total(&parts), trading_req);
        assert_eq!(total(&parts).cpu_millis(), 4_000);
    }
    audit(&sim);
    let (rigid_cpu, cap_cpu) = sim.rigid_vs_capacity(Dimension::Cpu);
    assert_eq!((rigid_cpu, cap_cpu), (64_000, 128_000));

    // The evicted analytics are retried: there is no slack, so they wait
    // rather than squeeze onto trading's CPU.
    let d = sim.reconcile();
    assert!(d.placements.is_empty() && d.evictions.is_empty());
    assert_eq!(d.pending.len(), 28);
    for p in &d.pending {
        assert_eq!(p.reason.to_string(), "0/4 hosts fit: cpu: 4 hosts");
    }
    audit(&sim);

    // After the peak: trading scales back; the slack returns to analytics.
    let d = sim.scale("trading", 4);
    assert_eq!(d.removals.len(), 12);
    assert!(
        d.placements.is_empty(),
        "scale-down does not retry by itself"
    );
    audit(&sim);
    let d = sim.reconcile();
    assert_eq!((d.placements.len(), d.pending.len()), (24, 4));
    assert!(d.evictions.is_empty());
    audit(&sim);
    assert_eq!(sim.per_zone("trading"), [("hz-a".to_string(), 4)]);
    assert_eq!(sim.per_zone("analytics"), [("hz-a".to_string(), 56)]);
}

/// **Fintech "random OOM".** A market-data service asks for 48 GiB per
/// instance on memory-optimised hosts (16 vCPU, 128 GiB in two NUMA nodes).
/// Memory-hungry best-effort risk jobs fill the memory first. On a platform
/// where memory requests are lower than use, the node runs out and the
/// market-data service is killed. Here memory is a hard dimension: the
/// market-data instances preempt the risk jobs, each holds exactly its
/// 48 GiB, the sum of memory on every node stays within the node, and the
/// instances that do not fit wait with `memory: N hosts` as the reason,
/// though the CPU is nearly idle.
#[test]
fn fintech_memory_is_never_overcommitted() {
    let mut sim = Sim::new();
    sim.zones(&["sh-a"]);
    sim.sku(with_numa(sku("r7.4xlarge", 16_000, 131_072), 2));
    let hosts = sim.hosts("r7.4xlarge", "sh-a", 3);
    let market = app("market-data", 2_000, 49_152);
    let market_req = market.resources;
    sim.app(market);
    sim.app(best_effort(app("risk-batch", 1_000, 32_768)));

    let d = sim.scale("risk-batch", 12);
    assert_eq!(
        d.placements.len(),
        12,
        "the risk jobs fill every byte of memory"
    );
    for h in &hosts {
        assert_eq!(sim.s.host(*h).unwrap().free.memory_mib(), 0);
    }
    assert_no_overcommit(&sim.s);

    let d = sim.scale("market-data", 10);
    // Two per host: 2 x 48 GiB of 128 GiB; a third would need 48 of the 32 left.
    assert_eq!(d.placements.len(), 6);
    assert_eq!(
        count_by(d.placements.iter().map(|p| p.host))
            .into_values()
            .collect::<Vec<_>>(),
        [2, 2, 2]
    );
    // Preemption evicts no more than needed: the first instance on a host
    // needs two 32-GiB risk jobs out of the way, the second only one (16 GiB
    // were left over). One risk job per host stays.
    assert_eq!(d.evictions.len(), 9);
    assert_eq!(
        count_by(d.evictions.iter().map(|e| e.host))
            .into_values()
            .collect::<Vec<_>>(),
        [3, 3, 3]
    );
    assert_eq!(d.pending.len(), 4);
    for p in &d.pending {
        let e = no_fit(&p.reason);
        assert_eq!(p.reason.to_string(), "0/3 hosts fit: memory: 3 hosts");
        assert_eq!(e.count(Constraint::Capacity(Dimension::Memory)), 3);
        assert_eq!(e.count(Constraint::Capacity(Dimension::Cpu)), 0);
    }
    for i in sim.s.app_instances(&"market-data".parse().unwrap()) {
        if let InstanceStatus::Placed { parts, .. } = sim.s.instance(i).unwrap().status {
            assert_eq!(total(&parts), market_req);
        }
    }
    // Memory is full, CPU is plentiful: 11 of 16 vCPU free on every host.
    for h in &hosts {
        let v = sim.s.host(*h).unwrap();
        assert_eq!(v.free.memory_mib(), 0);
        assert_eq!(v.free.cpu_millis(), 11_000);
        for n in &v.nodes {
            let held = n.rigid.memory_mib() + n.best_effort.memory_mib();
            assert!(held <= n.capacity.memory_mib());
        }
    }
    assert_no_overcommit(&sim.s);

    // The evicted risk jobs are retried: no memory is left, so they wait
    // (a best-effort job never preempts), saying so.
    let d = sim.reconcile();
    assert!(d.evictions.is_empty() && d.placements.is_empty());
    let risk: Vec<&PendingInstance> = d
        .pending
        .iter()
        .filter(|p| p.app.as_str() == "risk-batch")
        .collect();
    assert_eq!(risk.len(), 9);
    for p in risk {
        assert_eq!(p.reason.to_string(), "0/3 hosts fit: memory: 3 hosts");
    }
    assert_no_overcommit(&sim.s);

    // One more host: two more market-data instances land at once.
    let (new, d) = sim.add_hosts_with("r7.4xlarge", "sh-a", 1);
    let market_placed: Vec<HostId> = d
        .placements
        .iter()
        .filter(|p| p.app.as_str() == "market-data")
        .map(|p| p.host)
        .collect();
    assert_eq!(market_placed, [new[0], new[0]]);
    // The other two still wait, for memory: reconcile re-explains them with
    // the new host counted.
    let waiting: Vec<InstanceId> = sim
        .s
        .pending()
        .into_iter()
        .filter(|i| sim.s.instance(*i).unwrap().app.as_str() == "market-data")
        .collect();
    assert_eq!(waiting.len(), 2);
    // The 32 GiB the new host has left go to one risk job, after the
    // market-data instances (rigid before best effort).
    let risk_placed: Vec<HostId> = d
        .placements
        .iter()
        .filter(|p| p.app.as_str() == "risk-batch")
        .map(|p| p.host)
        .collect();
    assert_eq!(risk_placed, [new[0]]);
    let (rigid_mem, cap_mem) = sim.rigid_vs_capacity(Dimension::Memory);
    assert_eq!((rigid_mem, cap_mem), (8 * 49_152, 4 * 131_072));
    assert_no_overcommit(&sim.s);
    let d = sim.reconcile();
    assert!(d.placements.is_empty() && d.evictions.is_empty());
    let market_waiting: Vec<&PendingInstance> = d
        .pending
        .iter()
        .filter(|p| p.app.as_str() == "market-data")
        .collect();
    assert_eq!(
        market_waiting
            .iter()
            .map(|p| p.instance)
            .collect::<Vec<_>>(),
        waiting
    );
    for p in market_waiting {
        assert_eq!(p.reason.to_string(), "0/4 hosts fit: memory: 4 hosts");
    }
}

/// ERP skus: a fast host with two 64-vCPU nodes, a fast host with two
/// 48-vCPU nodes (96 vCPU in all: enough in sum, not on one node) and a slow
/// burstable host with two 64-vCPU nodes.
fn erp_catalog(sim: &mut Sim) {
    let mut hfg7 = with_numa(sku("hfg7.32xlarge", 128_000, 524_288), 2);
    hfg7.perf_score = 150;
    let mut r6 = with_numa(sku("r6.24xlarge", 96_000, 786_432), 2);
    r6.perf_score = 150;
    let mut t5 = with_numa(sku("t5.32xlarge", 128_000, 524_288), 2);
    t5.perf_score = 60;
    for k in [hfg7, r6, t5] {
        sim.sku(k);
    }
}

fn erp_app() -> AppSpec {
    let mut erp = app("erp", 64_000, 262_144);
    erp.numa = NumaPolicy::SingleNode;
    erp.min_perf_score = 100;
    erp
}

/// **ERP "performance lottery".** A 64-vCPU, 256-GiB monolith runs month-end
/// reports; on shared, noisy hosts a report takes 2 minutes one day and 20
/// the next. Here it asks for one NUMA node and a performance floor. It
/// lands whole on a 64-vCPU node of the fast SKU: the placement names one
/// node and the host view shows all of it there. The slow burstable SKU is
/// ruled out by the floor (counted as `perf score`), the 2x48-vCPU SKU by
/// the single-node rule (counted as `single numa node`), even though the
/// hosts were added first and have the room in sum. It is never split.
#[test]
fn erp_monolith_lands_whole_on_one_node_of_a_fast_host() {
    let mut sim = Sim::new();
    sim.zones(&["bj-a"]);
    erp_catalog(&mut sim);
    let slow = sim.hosts("t5.32xlarge", "bj-a", 1)[0];
    let narrow = sim.hosts("r6.24xlarge", "bj-a", 2);
    let fast = sim.hosts("hfg7.32xlarge", "bj-a", 1)[0];
    let erp = erp_app();
    let req = erp.resources;
    sim.app(erp);

    let d = sim.scale("erp", 1);
    assert_eq!(d.placements.len(), 1);
    let p = &d.placements[0];
    assert_eq!(p.host, fast);
    assert_eq!(p.numa_nodes.len(), 1);
    let node = usize::from(p.numa_nodes[0]);
    let v = sim.s.host(fast).unwrap();
    assert_eq!(v.nodes[node].rigid, req, "all of it on one node");
    assert_eq!(v.nodes[1 - node].rigid, Resources::ZERO);
    assert_eq!(placed(&sim.s, p.instance).1, vec![(p.numa_nodes[0], req)]);
    assert_no_overcommit(&sim.s);

    // The second fills the other node.
    let d = sim.scale("erp", 2);
    assert_eq!(d.placements[0].host, fast);
    assert_eq!(usize::from(d.placements[0].numa_nodes[0]), 1 - node);

    // The third has nowhere to go, and the reason says why, host by host.
    let d = sim.scale("erp", 3);
    assert!(d.placements.is_empty());
    let e = no_fit(&d.pending[0].reason);
    assert_eq!(
        e.to_string(),
        "0/4 hosts fit: perf score: 1 host, cpu: 1 host, single numa node: 2 hosts"
    );
    assert_eq!(e.count(Constraint::PerfScore), 1);
    assert_eq!(e.count(Constraint::NumaNode), 2);
    // Never split, never on the slow or narrow hosts.
    for i in sim.s.app_instances(&"erp".parse().unwrap()) {
        if let InstanceStatus::Placed { host, parts } = sim.s.instance(i).unwrap().status {
            assert_eq!(host, fast);
            assert_eq!(parts.len(), 1);
        }
    }
    for h in narrow.iter().chain([&slow]) {
        assert!(sim.s.host(*h).unwrap().instances.is_empty());
    }
    assert_no_overcommit(&sim.s);
}

/// **ERP, only 2x48-vCPU hosts.** With only hosts whose nodes have 48 vCPU,
/// the 64-vCPU single-node monolith waits (`single numa node: 2 hosts`)
/// although each host has 96 vCPU in sum; an app of the same size that
/// accepts any NUMA layout is split over the nodes of the same hosts. When
/// a fast host arrives the waiting monolith lands on it, whole. A pool of
/// only slow hosts is ruled out by the performance floor.
#[test]
fn erp_monolith_waits_rather_than_split_over_numa_nodes() {
    let mut sim = Sim::new();
    sim.zones(&["bj-a"]);
    erp_catalog(&mut sim);
    let narrow = sim.hosts("r6.24xlarge", "bj-a", 2);
    sim.app(erp_app());
    let d = sim.scale("erp", 1);
    assert!(d.placements.is_empty());
    assert_eq!(
        d.pending[0].reason.to_string(),
        "0/2 hosts fit: single numa node: 2 hosts"
    );
    assert_eq!(no_fit(&d.pending[0].reason).count(Constraint::NumaNode), 2);

    let mut loose = erp_app();
    loose.id = "erp-loose".parse().unwrap();
    loose.numa = NumaPolicy::Any;
    sim.app(loose);
    let d = sim.scale("erp-loose", 1);
    assert_eq!(d.placements.len(), 1);
    assert!(narrow.contains(&d.placements[0].host));
    assert_eq!(
        d.placements[0].numa_nodes.len(),
        2,
        "Any splits when it must"
    );
    assert_eq!(sim.scale("erp-loose", 0).removals.len(), 1);
    assert_no_overcommit(&sim.s);

    // A fast host arrives: the waiting monolith lands on it, whole.
    let (fast, d) = sim.add_hosts_with("hfg7.32xlarge", "bj-a", 1);
    assert_eq!(d.placements.len(), 1);
    assert_eq!(d.placements[0].host, fast[0]);
    assert_eq!(d.placements[0].numa_nodes.len(), 1);
    assert!(sim.s.pending().is_empty());
    assert_no_overcommit(&sim.s);

    // Only slow hosts: ruled out by the performance floor.
    let mut slow_pool = Sim::new();
    slow_pool.zones(&["bj-a"]);
    erp_catalog(&mut slow_pool);
    slow_pool.hosts("t5.32xlarge", "bj-a", 3);
    slow_pool.app(erp_app());
    let d = slow_pool.scale("erp", 1);
    assert_eq!(
        d.pending[0].reason.to_string(),
        "0/3 hosts fit: perf score: 3 hosts"
    );
}

/// **Game launch day.** A game runs 4 instances before launch; launch needs
/// 10x. Rather than find out at launch that the pool has no room (pods
/// stuck Pending on "insufficient stock"), the operator asks first with a
/// dry run: 28 of the 36 new instances would be placed, over both the g7
/// hosts and the equivalent g8i hosts of the other zone, and 8 would wait,
/// each saying `cpu: 8 hosts`. An all-or-nothing check says the same. The
/// dry run changes nothing; the real call then decides exactly what the dry
/// run said and reaches the same state. Two more hosts arrive and the
/// waiting instances land on them at once.
#[test]
fn game_launch_day_ten_x_is_planned_by_a_dry_run_and_the_real_call_matches() {
    let mut sim = Sim::new();
    sim.zones(&["sh-a", "sh-b"]);
    sim.sku(sku("g7.4xlarge", 16_000, 65_536));
    let mut g8i = sku("g8i.4xlarge", 16_000, 65_536);
    g8i.generation = 8;
    g8i.perf_score = 130;
    sim.sku(g8i);
    sim.hosts("g7.4xlarge", "sh-a", 5);
    sim.hosts("g8i.4xlarge", "sh-b", 3);
    sim.app(app("game", 4_000, 8_192));
    let game: AppId = "game".parse().unwrap();
    let d = sim.scale("game", 4);
    assert_eq!(d.placements.len(), 4);

    // Before launch: will 10x fit?
    let t = sim.tick(60_000);
    let before = sim.state();
    let (plan, planned_state) = sim.s.dry_run(|s| {
        let d = s.scale(&game, 40, t);
        (d, json(s))
    });
    assert_eq!(sim.state(), before, "a dry run changes nothing");
    let plan = plan.unwrap();
    assert_eq!(plan.placements.len(), 28);
    assert_eq!(plan.pending.len(), 8);
    for p in &plan.pending {
        assert_eq!(p.reason.to_string(), "0/8 hosts fit: cpu: 8 hosts");
    }
    let by_sku = count_by(plan.placements.iter().map(|p| p.sku.to_string()));
    assert_eq!(
        by_sku,
        BTreeMap::from([("g7.4xlarge".into(), 18), ("g8i.4xlarge".into(), 10)])
    );
    // All at once or not at all? Not at all: 28 of 36.
    let gang = sim
        .s
        .dry_run(|s| s.place_batch(&game, 36, BatchMode::AllOrNothing, t));
    assert_eq!(
        gang,
        Err(Error::GangUnschedulable {
            app: game.clone(),
            requested: 36,
            placeable: 28,
            reason: Explanation {
                hosts: 8,
                ruled_out: vec![RuledOut {
                    constraint: Constraint::Capacity(Dimension::Cpu),
                    hosts: 8,
                    with_room: None,
                }],
                ..Explanation::default()
            }
        })
    );
    assert_eq!(sim.state(), before);

    // Launch: the real call decides exactly what the plan said.
    let d = sim.s.scale(&game, 40, t).unwrap();
    assert_eq!(d, plan);
    assert_eq!(sim.state(), planned_state);
    assert_eq!(
        sim.per_zone("game"),
        [("sh-a".to_string(), 20), ("sh-b".to_string(), 12)]
    );
    assert_no_overcommit(&sim.s);

    // Capacity arrives: the waiting instances are placed as hosts come.
    let (new, d) = sim.add_hosts_with("g8i.4xlarge", "sh-b", 2);
    assert_eq!(d.placements.len(), 8);
    assert!(d.placements.iter().all(|p| new.contains(&p.host)));
    assert!(sim.s.pending().is_empty());
    assert_eq!(
        sim.per_zone("game"),
        [("sh-a".to_string(), 20), ("sh-b".to_string(), 20)]
    );
    assert_no_overcommit(&sim.s);
}
