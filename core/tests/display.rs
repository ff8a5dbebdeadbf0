//! How decisions and the other results of calls read when printed: one line
//! per item, plain English, every reason from the data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{Sim, app, best_effort, id, sku};
use smallvec::smallvec;
use trimline::repack::{PoolRepack, RepackMove, RepackPlan};
use trimline::*;

fn cpu_mem(cpu: u64, mem: u64) -> Resources {
    Resources::cpu_mem(cpu, mem).unwrap()
}

fn placement(host: HostId) -> Placement {
    Placement {
        instance: InstanceId(3),
        app: id("web"),
        host,
        zone: id("a"),
        sku: id("g7"),
        numa_nodes: smallvec![0],
        substitution: None,
        pull_bytes: 0,
        standby: None,
    }
}

fn note() -> SubstitutionNote {
    SubstitutionNote {
        requested: Some(id("g7")),
        sku: id("g6"),
        tier: 1,
        passed_over: vec![PassedOver {
            sku: id("g7"),
            tier: Some(0),
            zone: Some(id("a")),
            reason: PassReason::NotOffered,
        }],
        admitted: Admission {
            arch: Arch::X86_64,
            perf_score: 100,
            min_perf_score: 90,
            features: vec![],
            instances_per_host: 4,
            price: None,
            any_equivalent: false,
            outside_band: None,
        },
        planned_host: None,
    }
}

fn no_fit() -> PendingReason {
    let mut e = Explanation {
        hosts: 2,
        ..Explanation::default()
    };
    e.ruled_out.push(RuledOut {
        constraint: Constraint::Capacity(Dimension::Cpu),
        hosts: 2,
        with_room: None,
    });
    PendingReason::NoFit(e)
}

#[test]
fn placements_name_instance_app_host_sku_zone_and_nodes() {
    assert_eq!(
        placement(HostId(1)).to_string(),
        "i-3 of web placed on host-1 (g7 in zone a), NUMA node 0"
    );
    let mut p = placement(HostId(PLANNED_HOST_BIT | 2));
    p.numa_nodes = smallvec![0, 1, 2];
    p.sku = id("g6");
    p.substitution = Some(Arc::new(note()));
    assert_eq!(
        p.to_string(),
        "i-3 of web placed tentatively on planned-2 (g6 in zone a), \
         NUMA nodes 0, 1 and 2; substitution: g6 (tier 1) instead of g7: \
         g7 in a: not offered; admitted: x86_64, perf 100 >= 90, no feature required, 4 per host"
    );
    p.numa_nodes = smallvec![0, 1];
    p.substitution = None;
    assert!(p.to_string().ends_with("NUMA nodes 0 and 1"), "{p}");
}

#[test]
fn evictions_say_why() {
    let mut e = Eviction {
        instance: InstanceId(2),
        app: id("batch"),
        host: HostId(3),
        cause: EvictionCause::Preempted { by: InstanceId(5) },
    };
    assert_eq!(
        e.to_string(),
        "i-2 of batch evicted from host-3: preempted by rigid instance i-5"
    );
    let causes = [
        (EvictionCause::HostRemoved, "its host was removed"),
        (
            EvictionCause::ProvisionFailed,
            "its planned host could not be provisioned",
        ),
        (EvictionCause::ZoneDown, "its zone was lost"),
        (EvictionCause::HostFailed, "its host failed"),
    ];
    for (cause, text) in causes {
        e.cause = cause;
        assert_eq!(
            e.to_string(),
            format!("i-2 of batch evicted from host-3: {text}")
        );
    }
}

#[test]
fn pending_instances_and_removals() {
    let p = PendingInstance {
        instance: InstanceId(4),
        app: id("web"),
        reason: no_fit(),
    };
    assert_eq!(
        p.to_string(),
        "i-4 of web pending: 0/2 hosts fit: cpu: 2 hosts"
    );
    let p = PendingInstance {
        reason: PendingReason::ZoneDown { zone: id("b") },
        ..p
    };
    assert_eq!(p.to_string(), "i-4 of web pending: zone b was lost");
    let mut r = Removal {
        instance: InstanceId(4),
        app: id("web"),
        host: Some(HostId(9)),
    };
    assert_eq!(r.to_string(), "i-4 of web removed from host-9");
    r.host = None;
    assert_eq!(r.to_string(), "i-4 of web removed (it was not placed)");
}

#[test]
fn provisions_list_their_hosts_and_why_the_sku() {
    let planned = |n: u64| HostId(PLANNED_HOST_BIT | n);
    let mut p = Provision {
        id: ProvisionId(1),
        zone: id("a"),
        sku: id("g7"),
        count: 4,
        hosts: vec![planned(1), planned(2), planned(3), planned(5)],
        substitutes_for: None,
        tier: 0,
        app: Some(id("web")),
        instances: 13,
        substitution: None,
        reason: ProvisionReason::Instances,
    };
    assert_eq!(
        p.to_string(),
        "provision-1: 4 new hosts of g7 in zone a (planned-1 to planned-3, planned-5) \
         for 13 instances of web"
    );
    p.count = 1;
    p.hosts = vec![planned(7)];
    p.instances = 1;
    p.sku = id("g6");
    p.substitutes_for = Some(id("g7"));
    p.tier = 1;
    assert_eq!(
        p.to_string(),
        "provision-1: 1 new host of g6 in zone a (planned-7) for 1 instance of web, \
         standing in for g7 (tier 1)"
    );
    p.substitution = Some(Arc::new(note()));
    assert!(
        p.to_string().ends_with(
            "for 1 instance of web; substitution: g6 (tier 1) instead of g7: \
                        g7 in a: not offered; admitted: x86_64, perf 100 >= 90, \
                        no feature required, 4 per host"
        ),
        "{p}"
    );
    // A warm pool's hosts are for no app.
    p.app = None;
    p.instances = 0;
    p.reason = ProvisionReason::WarmPool;
    p.substitution = None;
    p.substitutes_for = None;
    p.tier = 0;
    assert_eq!(
        p.to_string(),
        "provision-1: 1 new host of g6 in zone a (planned-7) for the warm pool"
    );
}

#[test]
fn cancellations_say_why() {
    let mut c = Cancellation {
        provision: ProvisionId(2),
        zone: id("a"),
        sku: id("g7"),
        hosts: vec![HostId(PLANNED_HOST_BIT | 4), HostId(PLANNED_HOST_BIT | 5)],
        cause: CancellationCause::ZoneDown,
    };
    assert_eq!(
        c.to_string(),
        "cancel 2 planned hosts of g7 in zone a from provision-2 (planned-4, planned-5): \
         their zone was lost"
    );
    let causes = [
        (
            CancellationCause::Unneeded,
            "no instance waits on them any more",
        ),
        (
            CancellationCause::ProvisionFailed,
            "their offering failed to provision",
        ),
        (CancellationCause::HostRemoved, "they were removed"),
        (CancellationCause::HostFailed, "they failed"),
    ];
    c.hosts.truncate(1);
    for (cause, text) in causes {
        c.cause = cause;
        assert_eq!(
            c.to_string(),
            format!("cancel 1 planned host of g7 in zone a from provision-2 (planned-4): {text}")
        );
    }
}

#[test]
fn shortfalls_skew_violations_and_unplaced() {
    let totals = ResourceTotals::times(&cpu_mem(2_000, 4_096), 3);
    assert_eq!(totals.to_string(), "cpu 6000m, memory 12288 MiB");
    assert_eq!(ResourceTotals::default().to_string(), "nothing");
    let all = ResourceTotals {
        cpu_millis: 1,
        memory_mib: 2,
        network_mbps: 3,
        accelerators: 4,
    };
    assert_eq!(
        all.to_string(),
        "cpu 1m, memory 2 MiB, network 3 Mbit/s, accelerators 4"
    );
    let s = Shortfall {
        app: id("web"),
        zone: id("a"),
        instances: 3,
        resources: totals,
    };
    assert_eq!(
        s.to_string(),
        "web in zone a: 3 instances short (cpu 6000m, memory 12288 MiB): \
         they neither fit on a host nor can be provisioned"
    );
    let one = Shortfall {
        instances: 1,
        resources: ResourceTotals::times(&cpu_mem(2_000, 4_096), 1),
        ..s
    };
    assert_eq!(
        one.to_string(),
        "web in zone a: 1 instance short (cpu 2000m, memory 4096 MiB): \
         it neither fits on a host nor can be provisioned"
    );
    let mut v = SkewViolation {
        app: id("web"),
        instances: 2,
        skew: 3,
        max_skew: Some(1),
    };
    assert_eq!(
        v.to_string(),
        "web: 2 instances placed against its spread policy (skew now 3, its limit is 1), \
         as it schedules anyway"
    );
    v.max_skew = None;
    v.instances = 1;
    assert_eq!(
        v.to_string(),
        "web: 1 instance placed against its spread policy \
         (in fewer zones than its minimum, skew now 3), as it schedules anyway"
    );
    let u = Unplaced {
        app: id("db"),
        instances: 1,
        resources: ResourceTotals::times(&cpu_mem(2_000, 4_096), 1),
    };
    assert_eq!(
        u.to_string(),
        "db: 1 instance could not be re-placed \
         (the surviving hosts lack cpu 2000m, memory 4096 MiB) and stays pending"
    );
}

#[test]
fn moves_say_from_where_to_where_and_why() {
    let mut m = Move {
        app: id("web"),
        from: InstanceId(3),
        from_host: HostId(1),
        to: InstanceId(9),
        to_host: HostId(PLANNED_HOST_BIT | 1),
        to_tier: 0,
        reason: MoveReason::ReturnToPreferred,
    };
    assert_eq!(
        m.to_string(),
        "web: move i-3 on host-1 to its replacement i-9 on planned-1 (SKU tier 0), \
         back to a more preferred SKU"
    );
    m.reason = MoveReason::Rebalance;
    m.to_host = HostId(4);
    m.to_tier = 1;
    assert_eq!(
        m.to_string(),
        "web: move i-3 on host-1 to its replacement i-9 on host-4 (SKU tier 1), \
         to restore the app's zone skew"
    );
    let f = MoveInFlight {
        to: InstanceId(9),
        from: InstanceId(3),
    };
    assert_eq!(f.to_string(), "i-9 replacing i-3");
}

#[test]
fn zone_loss_reports() {
    let mut r = ZoneLossReport {
        zone: id("a"),
        unplaced: vec![],
    };
    assert_eq!(
        r.to_string(),
        "losing zone a is survivable: every instance would be re-placed"
    );
    r.unplaced = vec![
        Unplaced {
            app: id("web"),
            instances: 3,
            resources: ResourceTotals::times(&cpu_mem(1_000, 1_024), 3),
        },
        Unplaced {
            app: id("db"),
            instances: 1,
            resources: ResourceTotals::times(&cpu_mem(4_000, 8_192), 1),
        },
    ];
    assert_eq!(
        r.to_string(),
        "losing zone a would leave 3 instances of web unplaced \
         (the surviving hosts lack cpu 3000m, memory 3072 MiB); \
         1 instance of db unplaced (the surviving hosts lack cpu 4000m, memory 8192 MiB)"
    );
}

#[test]
fn decisions_read_one_line_per_item_grouped() {
    assert_eq!(Decisions::default().to_string(), "nothing decided");
    let d = Decisions {
        placements: vec![placement(HostId(1))],
        evictions: vec![Eviction {
            instance: InstanceId(2),
            app: id("batch"),
            host: HostId(1),
            cause: EvictionCause::Preempted { by: InstanceId(3) },
        }],
        pending: vec![
            PendingInstance {
                instance: InstanceId(4),
                app: id("web"),
                reason: no_fit(),
            },
            PendingInstance {
                instance: InstanceId(5),
                app: id("web"),
                reason: no_fit(),
            },
        ],
        ..Decisions::default()
    };
    assert_eq!(
        d.to_string(),
        "evictions (1):\n\
         \x20 i-2 of batch evicted from host-1: preempted by rigid instance i-3\n\
         placements on running hosts (1):\n\
         \x20 i-3 of web placed on host-1 (g7 in zone a), NUMA node 0\n\
         pending (2):\n\
         \x20 i-4 of web pending: 0/2 hosts fit: cpu: 2 hosts\n\
         \x20 i-5 of web pending: 0/2 hosts fit: cpu: 2 hosts"
    );
}

#[test]
fn repack_plans_read_per_pool_and_move() {
    let plan = RepackPlan {
        moves: vec![RepackMove {
            instance: InstanceId(3),
            app: id("web"),
            from: HostId(1),
            to: HostId(2),
            numa_node: 0,
        }],
        pools: vec![PoolRepack {
            sku: id("g7"),
            zone: id("a"),
            hosts: 10,
            movable: 20,
            pinned: 2,
            hosts_before: 8,
            hosts_after: 5,
            lower_bound: 5,
        }],
        hosts_before: 8,
        hosts_after: 5,
        freed: vec![HostId(1), HostId(3), HostId(4), HostId(5)],
        work: 1234,
    };
    assert_eq!(
        plan.to_string(),
        "repack: 8 hosts carry instances now, 5 after the plan; 1 move, 4 hosts freed \
         (host-1, host-3 to host-5); 1234 work units spent\n\
         \x20 g7 in zone a: 8 of 10 ready hosts carry instances, 5 after the plan \
         (optimal: no packing needs fewer than 5 hosts or NUMA nodes); \
         20 instances movable, 2 stay put\n\
         \x20 move i-3 of web from host-1 to host-2, NUMA node 0"
    );
    let mut pool = plan.pools[0].clone();
    pool.lower_bound = 4;
    assert!(
        pool.to_string()
            .contains("5 after the plan (no packing needs fewer than 4 hosts or NUMA nodes)"),
        "{pool}"
    );
}

#[test]
fn substitution_verdicts_and_offerings_say_what_they_mean() {
    let mut v = SkuVerdict {
        sku: id("g7"),
        verdict: Verdict::Accepted {
            tier: 0,
            rank: 0,
            offering: Availability::Hosts(3),
        },
    };
    assert_eq!(
        v.to_string(),
        "g7: accepted: tier 0, position 1 in provisioning order; \
         its offering here can provide up to 3 more hosts"
    );
    let offerings = [
        (
            Availability::Unknown,
            "its offering here has unknown stock: provisioning tries it",
        ),
        (
            Availability::Blocked(OfferingBlock::NotOffered),
            "it is not offered in this zone: no new hosts",
        ),
        (
            Availability::Blocked(OfferingBlock::Exhausted),
            "its stock in this zone is exhausted: no new hosts",
        ),
        (
            Availability::Blocked(OfferingBlock::BackedOff),
            "its offering here is backed off after a failed provisioning: no new hosts",
        ),
    ];
    for (offering, text) in offerings {
        v.verdict = Verdict::Accepted {
            tier: 1,
            rank: 2,
            offering,
        };
        assert_eq!(
            v.to_string(),
            format!("g7: accepted: tier 1, position 3 in provisioning order; {text}")
        );
    }
    v.verdict = Verdict::Rejected(Rejection::PerfScore {
        need: 120,
        have: 100,
    });
    assert_eq!(v.to_string(), "g7: rejected: perf score 100 < 120");

    let mut o = OfferingView {
        sku: id("g7"),
        zone: id("a"),
        stock: Stock::Known(3),
        planned: 2,
        failures: 0,
        backoff_until: None,
    };
    assert_eq!(
        o.to_string(),
        "g7 in zone a: 3 more hosts can be ordered, 2 planned hosts not yet ready"
    );
    o.stock = Stock::Exhausted;
    o.planned = 1;
    o.failures = 1;
    o.backoff_until = Some(Timestamp(60_000));
    assert_eq!(
        o.to_string(),
        "g7 in zone a: stock exhausted, 1 planned host not yet ready, \
         1 failed provisioning in a row, backed off until t=60000ms"
    );
    assert_eq!(Stock::Unknown.to_string(), "stock unknown");
    assert_eq!(
        ProvisionFailure::InsufficientStock.to_string(),
        "the provider had no stock"
    );
    assert_eq!(
        ProvisionFailure::Other.to_string(),
        "the provisioning failed"
    );
}

#[test]
fn views_read_as_sentences() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 4_000, 8_192));
    sim.hosts("g7", "a", 1);
    sim.app(app("web", 3_000, 2_048));
    let _ = sim.scale("web", 2);
    let host = sim.s.host(HostId(1)).unwrap();
    assert_eq!(
        host.to_string(),
        "host-1: ready, g7 in zone a, 1 instance; \
         free cpu 1000m, memory 6144 MiB, network 10000 Mbit/s, accelerators 0 \
         (capacity cpu 4000m, memory 8192 MiB, network 10000 Mbit/s, accelerators 0)"
    );
    assert_eq!(
        host.nodes[0].to_string(),
        "capacity cpu 4000m, memory 8192 MiB, network 10000 Mbit/s, accelerators 0; \
         rigid cpu 3000m, memory 2048 MiB, network 0 Mbit/s, accelerators 0; \
         best effort cpu 0m, memory 0 MiB, network 0 Mbit/s, accelerators 0; \
         free cpu 1000m, memory 6144 MiB, network 10000 Mbit/s, accelerators 0"
    );
    assert_eq!(
        sim.s.instance(InstanceId(1)).unwrap().to_string(),
        "i-1 of web: placed on host-1: NUMA node 0 holds \
         cpu 3000m, memory 2048 MiB, network 0 Mbit/s, accelerators 0"
    );
    let since = sim.now;
    assert_eq!(
        sim.s.instance(InstanceId(2)).unwrap().to_string(),
        format!("i-2 of web: pending since {since}: 0/1 hosts fit: cpu: 1 host")
    );
    assert_eq!(ZoneState::Draining.to_string(), "draining");
    assert_eq!(HostState::Cordoned.to_string(), "cordoned");
}

#[test]
fn a_preemption_reads_end_to_end() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 4_000, 8_192));
    sim.hosts("g7", "a", 1);
    sim.app(best_effort(app("batch", 4_000, 4_096)));
    let _ = sim.scale("batch", 1);
    sim.app(app("web", 2_000, 2_048));
    let d = sim.scale("web", 1);
    assert_eq!(
        d.to_string(),
        "evictions (1):\n\
         \x20 i-1 of batch evicted from host-1: preempted by rigid instance i-2\n\
         placements on running hosts (1):\n\
         \x20 i-2 of web placed on host-1 (g7 in zone a), NUMA node 0"
    );
    assert_eq!(
        sim.s.instance(InstanceId(1)).unwrap().to_string(),
        format!(
            "i-1 of batch: pending since {}: preempted on host-1 by rigid instance i-2",
            sim.now
        )
    );
}
