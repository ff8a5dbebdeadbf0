//! One test (or a few) per public operation of the scheduler and per error
//! it can return: what the call decides, what it refuses, and that a refused
//! call leaves the serialized state byte for byte as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{
    Sim, app, assert_each_host_counted_once, assert_no_overcommit, best_effort, host_spec, id,
    json, no_fit, pending_reason, placed, refused, sku, sku_full, total, with_numa,
};
use trimline::*;

const G7: &str = "g7.4xlarge";

/// Zone `a` with `hosts` hosts of `g7.4xlarge` (16 vCPU, 64 GiB, 10 Gbit/s,
/// one NUMA node), ids 1..=hosts.
fn one_zone(hosts: usize) -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku(G7, 16_000, 65_536));
    sim.hosts(G7, "a", hosts);
    sim
}

fn ids(v: impl IntoIterator<Item = u64>) -> Vec<InstanceId> {
    v.into_iter().map(InstanceId).collect()
}

fn placed_where(d: &Decisions) -> Vec<(InstanceId, HostId)> {
    d.placements.iter().map(|p| (p.instance, p.host)).collect()
}

fn pending_ids(d: &Decisions) -> Vec<InstanceId> {
    d.pending.iter().map(|p| p.instance).collect()
}

fn removal(i: u64, app: &str, host: Option<u64>) -> Removal {
    Removal {
        instance: InstanceId(i),
        app: id(app),
        host: host.map(HostId),
    }
}

// ----- edges: names and resource vectors ---------------------------------

#[test]
fn names_are_validated_at_the_edge() {
    assert_eq!(
        "my app".parse::<AppId>(),
        Err(NameError::BadChar {
            kind: "app",
            name: "my app".into(),
            ch: ' '
        })
    );
    assert_eq!("".parse::<ZoneId>(), Err(NameError::Empty { kind: "zone" }));
    let long = "x".repeat(MAX_NAME_LEN + 1);
    assert_eq!(
        long.parse::<SkuId>(),
        Err(NameError::TooLong {
            kind: "sku",
            len: MAX_NAME_LEN + 1
        })
    );
    assert!("x".repeat(MAX_NAME_LEN).parse::<SkuId>().is_ok());
    assert_eq!(
        "my app".parse::<AppId>().unwrap_err().to_string(),
        "app name \"my app\" holds ' '; allowed are ASCII letters, digits and . _ : / -"
    );
}

#[test]
fn names_in_a_snapshot_are_validated_on_load() {
    let sim = one_zone(1);
    let text = serde_json::to_string(&sim.s.snapshot()).unwrap();
    let bad = text.replace("\"zone\":\"a\"", "\"zone\":\"zone a\"");
    assert_ne!(bad, text);
    let err = serde_json::from_str::<Snapshot>(&bad).unwrap_err();
    assert!(err.to_string().contains("zone name \"zone a\""), "{err}");
}

#[test]
fn resource_vectors_reject_absurd_values_naming_the_dimension() {
    let err = Resources::cpu_mem(10_000_001, 1).unwrap_err();
    assert_eq!(
        err,
        ResourceError::TooLarge {
            dimension: Dimension::Cpu,
            value: 10_000_001,
            max: 10_000_000
        }
    );
    assert_eq!(
        err.to_string(),
        "cpu = 10000001 millicores is larger than the maximum 10000000"
    );
    assert!(matches!(
        Resources::new(1, 1, 1, 4_097),
        Err(ResourceError::TooLarge {
            dimension: Dimension::Accelerators,
            ..
        })
    ));
}

#[test]
fn config_defaults_and_clamping() {
    let s = Scheduler::default();
    assert_eq!(
        s.config(),
        &Config {
            candidates_per_class: 2,
            classes_per_zone: 1,
            preemption_candidates: 8,
            max_batch: 1_000_000,
            search_budget: 16,
            backoff_initial_ms: 180_000,
            backoff_max_ms: 3_600_000,
            image_locality_weight: 1,
        }
    );
    let s = Scheduler::new(Config {
        candidates_per_class: 0,
        classes_per_zone: 0,
        preemption_candidates: 0,
        max_batch: 7,
        search_budget: 0,
        backoff_initial_ms: 10,
        backoff_max_ms: 5,
        image_locality_weight: 0,
    });
    assert_eq!(s.config().candidates_per_class, 1);
    assert_eq!(s.config().preemption_candidates, 1);
    // 0 means every class of a zone.
    assert_eq!(s.config().classes_per_zone, 0);
    assert_eq!(s.config().max_batch, 7);
    assert_eq!(s.config().search_budget, 0);
    // The longest back-off is never below the first.
    assert_eq!(s.config().backoff_max_ms, 10);
    assert_eq!(s.now(), Timestamp(0));
}

// ----- add_sku -------------------------------------------------------------

#[test]
fn add_sku_fills_in_the_single_numa_node() {
    let mut s = Scheduler::default();
    s.add_sku(sku(G7, 16_000, 65_536), s.now()).unwrap();
    let spec = s.sku(&id(G7)).unwrap();
    assert_eq!(spec.numa_nodes, vec![spec.allocatable]);
    assert_eq!(spec.vcpus(), 16);
    s.add_sku(with_numa(sku("r7.8xlarge", 32_000, 262_144), 2), s.now())
        .unwrap();
    assert_eq!(
        s.sku(&id("r7.8xlarge")).unwrap().numa_nodes,
        vec![Resources::new(16_000, 131_072, 5_000, 0).unwrap(); 2]
    );
    let names: Vec<String> = s.skus().map(|k| k.id.to_string()).collect();
    assert_eq!(names, ["g7.4xlarge", "r7.8xlarge"]);
}

#[test]
fn add_sku_refuses_a_duplicate_name() {
    let mut s = Scheduler::default();
    s.add_sku(sku(G7, 16_000, 65_536), s.now()).unwrap();
    let e = refused(&mut s, |s| s.add_sku(sku(G7, 8_000, 32_768), s.now()));
    assert_eq!(e, Error::DuplicateSku(id(G7)));
    assert_eq!(e.to_string(), "sku g7.4xlarge exists already");
    assert_eq!(s.sku(&id(G7)).unwrap().allocatable.cpu_millis(), 16_000);
}

#[test]
fn add_sku_refuses_invalid_specs_naming_the_sku_and_the_problem() {
    let mut zero_perf = sku("bad.perf", 16_000, 65_536);
    zero_perf.perf_score = 0;
    let mut no_model = sku("bad.gpu", 16_000, 65_536);
    no_model.allocatable = Resources::new(16_000, 65_536, 10_000, 4).unwrap();
    let mut no_gpus = sku("bad.model", 16_000, 65_536);
    no_gpus.accelerator_model = Some(id("a10"));
    let mut many_nodes = sku("bad.numa", 17_000, 17_408);
    many_nodes.numa_nodes = vec![Resources::cpu_mem(1_000, 1_024).unwrap(); 17];
    let mut split = sku("bad.split", 16_000, 65_536);
    split.numa_nodes = vec![
        Resources::new(8_000, 32_768, 5_000, 0).unwrap(),
        Resources::new(8_000, 30_000, 5_000, 0).unwrap(),
    ];
    let cases = vec![
        (
            sku("bad.cpu", 0, 1_024),
            SkuError::Allocatable(ResourceError::Zero {
                dimension: Dimension::Cpu,
            }),
            "sku bad.cpu: allocatable capacity: cpu must be greater than zero",
        ),
        (
            sku("bad.mem", 1_000, 0),
            SkuError::Allocatable(ResourceError::Zero {
                dimension: Dimension::Memory,
            }),
            "sku bad.mem: allocatable capacity: memory must be greater than zero",
        ),
        (
            zero_perf,
            SkuError::ZeroPerfScore,
            "sku bad.perf: perf_score must be positive",
        ),
        (
            no_model,
            SkuError::AcceleratorModel {
                accelerators: 4,
                model: "unset",
            },
            "sku bad.gpu: accelerators = 4 but accelerator_model is unset",
        ),
        (
            no_gpus,
            SkuError::AcceleratorModel {
                accelerators: 0,
                model: "set",
            },
            "sku bad.model: accelerators = 0 but accelerator_model is set",
        ),
        (
            many_nodes,
            SkuError::TooManyNumaNodes { count: 17 },
            "sku bad.numa: 17 NUMA nodes; the maximum is 16",
        ),
        (
            split,
            SkuError::NumaMismatch {
                dimension: Dimension::Memory,
                nodes_sum: 62_768,
                allocatable: 65_536,
            },
            "sku bad.split: NUMA nodes add up to 62768 memory but allocatable is 65536",
        ),
    ];
    for (spec, source, text) in cases {
        let name = spec.id.clone();
        let e = refused(&mut s_empty(), |s| s.add_sku(spec, s.now()));
        assert_eq!(e, Error::InvalidSku { sku: name, source }, "{text}");
        assert_eq!(e.to_string(), text);
        assert!(std::error::Error::source(&e).is_some());
    }
}

fn s_empty() -> Scheduler {
    Scheduler::default()
}

// ----- zones -----------------------------------------------------------------

#[test]
fn add_zone_refuses_a_duplicate() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, s.now()).unwrap();
    s.add_zone(id("b"), ZoneState::Draining, s.now()).unwrap();
    let e = refused(&mut s, |s| s.add_zone(id("a"), ZoneState::Down, s.now()));
    assert_eq!(e, Error::DuplicateZone(id("a")));
    assert_eq!(e.to_string(), "zone a exists already");
    assert_eq!(s.zone_state(&id("a")), Some(ZoneState::Up));
    let zones: Vec<(String, ZoneState)> = s.zones().map(|(z, st)| (z.to_string(), st)).collect();
    assert_eq!(
        zones,
        [
            ("a".into(), ZoneState::Up),
            ("b".into(), ZoneState::Draining)
        ]
    );
    assert_eq!(s.zone_state(&id("zz")), None);
}

#[test]
fn set_zone_state_refuses_an_unknown_zone() {
    let mut sim = one_zone(1);
    let t = sim.tick(1);
    let e = refused(&mut sim.s, |s| {
        s.set_zone_state(&id("zz"), ZoneState::Down, t)
    });
    assert_eq!(e, Error::UnknownZone(id("zz")));
    assert_eq!(e.to_string(), "unknown zone zz");
}

/// Down and draining zones take no new instances and are counted as such;
/// running instances stay; a zone coming back up retries the pending ones.
#[test]
fn down_and_draining_zones_rule_hosts_out_and_up_retries() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(G7, 16_000, 65_536));
    let a_hosts = sim.hosts(G7, "a", 2);
    let b_hosts = sim.hosts(G7, "b", 1);
    sim.app(app("web", 2_000, 4_096));
    let t = sim.tick(1);
    let d = sim.s.place(&id("web"), t).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(1), a_hosts[0])]);

    let t = sim.tick(1);
    let d = sim.s.set_zone_state(&id("a"), ZoneState::Down, t).unwrap();
    assert!(d.is_empty(), "going down evicts nothing: {d:?}");
    let t = sim.tick(1);
    let d = sim
        .s
        .set_zone_state(&id("b"), ZoneState::Draining, t)
        .unwrap();
    assert!(d.is_empty());
    assert_eq!(sim.s.zone_state(&id("a")), Some(ZoneState::Down));
    assert_eq!(placed(&sim.s, InstanceId(1)).0, a_hosts[0]);

    let t = sim.tick(1);
    let d = sim.s.place(&id("web"), t).unwrap();
    assert!(d.placements.is_empty());
    assert_eq!(pending_ids(&d), [InstanceId(2)]);
    let e = no_fit(&d.pending[0].reason);
    assert_eq!(
        e.to_string(),
        "0/3 hosts fit: zone down: 2 hosts, zone draining: 1 host"
    );
    assert_eq!(e.count(Constraint::ZoneDown), 2);
    assert_eq!(e.count(Constraint::ZoneDraining), 1);
    assert_each_host_counted_once(e);

    // Draining -> Down is not "coming up": nothing is retried.
    let t = sim.tick(1);
    let d = sim.s.set_zone_state(&id("b"), ZoneState::Down, t).unwrap();
    assert!(d.is_empty());
    // b comes back: the pending instance is retried and lands there.
    let t = sim.tick(1);
    let d = sim.s.set_zone_state(&id("b"), ZoneState::Up, t).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(2), b_hosts[0])]);
    assert_eq!(d.placements[0].zone, id("b"));
    assert!(sim.s.pending().is_empty());
    assert_no_overcommit(&sim.s);
}

#[test]
fn a_zone_already_up_retries_nothing_but_one_coming_up_does() {
    let mut sim = one_zone(1);
    sim.app(app("big", 16_000, 1_024));
    let _ = sim.scale("big", 2);
    assert_eq!(sim.s.pending(), [InstanceId(2)]);
    // Room appears without a retry (removal does not retry).
    let t = sim.tick(1);
    let d = sim.s.remove_instance(InstanceId(1), t).unwrap();
    assert!(d.placements.is_empty());
    // "Up" for a zone already up is not a zone coming up: nothing retried.
    let t = sim.tick(1);
    assert!(
        sim.s
            .set_zone_state(&id("a"), ZoneState::Up, t)
            .unwrap()
            .is_empty()
    );
    assert_eq!(sim.s.pending(), [InstanceId(2)]);
    let t = sim.tick(1);
    assert!(
        sim.s
            .set_zone_state(&id("a"), ZoneState::Down, t)
            .unwrap()
            .is_empty()
    );
    // Coming up retries.
    let t = sim.tick(1);
    let d = sim.s.set_zone_state(&id("a"), ZoneState::Up, t).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(2), HostId(1))]);
    assert!(sim.s.pending().is_empty());
}

/// Retries triggered by capacity appearing (add_host, remove_host,
/// uncordon, zone up) list only the instances they place, evict or newly
/// make pending; instances that stay pending keep their last reason.
/// `reconcile` re-explains and lists every instance still pending.
#[test]
fn capacity_retries_list_only_changes_and_reconcile_lists_everything() {
    let mut sim = one_zone(1);
    sim.app(app("big", 16_000, 1_024));
    let _ = sim.scale("big", 3);
    assert_eq!(sim.s.pending(), ids(2..=3));
    let old = pending_reason(&sim.s, InstanceId(3));
    assert_eq!(old.to_string(), "0/1 hosts fit: cpu: 1 host");
    // A smaller host that fits none of them: nothing placed, nothing listed.
    sim.sku(sku("g7.large", 2_000, 8_192));
    let (_, d) = sim.add_hosts_with("g7.large", "a", 1);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(pending_reason(&sim.s, InstanceId(3)), old);
    // reconcile lists both, with fresh reasons that count the new host.
    let d = sim.reconcile();
    assert_eq!(pending_ids(&d), ids(2..=3));
    for p in &d.pending {
        assert_eq!(p.reason.to_string(), "0/2 hosts fit: cpu: 2 hosts");
    }
    assert_eq!(pending_reason(&sim.s, InstanceId(3)), d.pending[1].reason);
}

// ----- hosts -----------------------------------------------------------------

#[test]
fn add_host_refuses_duplicates_unknown_skus_and_unknown_zones() {
    let mut sim = one_zone(1);
    let t = sim.tick(1);
    let e = refused(&mut sim.s, |s| s.add_host(host_spec(1, G7, "a"), t));
    assert_eq!(e, Error::DuplicateHost(HostId(1)));
    assert_eq!(e.to_string(), "host host-1 exists already");
    let e = refused(&mut sim.s, |s| {
        s.add_host(host_spec(2, "nope.large", "a"), t)
    });
    assert_eq!(e, Error::UnknownSku(id("nope.large")));
    assert_eq!(e.to_string(), "unknown sku nope.large");
    let e = refused(&mut sim.s, |s| s.add_host(host_spec(2, G7, "zz"), t));
    assert_eq!(e, Error::UnknownZone(id("zz")));
    assert_eq!(sim.s.host_count(), 1);
}

#[test]
fn add_host_describes_the_host_and_retries_pending_instances() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku(G7, 16_000, 65_536));
    sim.app(app("web", 2_000, 4_096));
    let t = sim.tick(1);
    let d = sim
        .s
        .place_batch(&id("web"), 3, BatchMode::Partial, t)
        .unwrap();
    assert!(d.placements.is_empty());
    assert_eq!(pending_ids(&d), ids(1..=3));
    for p in &d.pending {
        assert_eq!(p.reason, PendingReason::NoFit(Explanation::default()));
        assert_eq!(p.reason.to_string(), "no hosts");
    }
    assert_eq!(sim.s.pending(), ids(1..=3));

    let (hosts, d) = sim.add_hosts_with(G7, "a", 1);
    assert_eq!(
        placed_where(&d),
        [1, 2, 3].map(|i| (InstanceId(i), hosts[0]))
    );
    assert!(d.pending.is_empty() && d.evictions.is_empty());
    assert!(sim.s.pending().is_empty());
    let v = sim.s.host(hosts[0]).unwrap();
    assert_eq!(v.sku, id(G7));
    assert_eq!(v.zone, id("a"));
    assert_eq!(v.state, HostState::Ready);
    assert_eq!(
        v.capacity,
        Resources::new(16_000, 65_536, 10_000, 0).unwrap()
    );
    assert_eq!(v.free, Resources::new(10_000, 53_248, 10_000, 0).unwrap());
    assert_eq!(v.instances, ids(1..=3));
    assert_eq!(sim.s.host_ids().collect::<Vec<_>>(), hosts);
    assert_no_overcommit(&sim.s);
}

#[test]
fn remove_host_refuses_an_unknown_host() {
    let mut sim = one_zone(1);
    let t = sim.tick(1);
    let e = refused(&mut sim.s, |s| s.remove_host(HostId(99), t));
    assert_eq!(e, Error::UnknownHost(HostId(99)));
    assert_eq!(e.to_string(), "unknown host host-99");
}

/// A removed host's instances are evicted (cause HostRemoved) and retried
/// in the same call: those that fit elsewhere are placed, the rest pending.
#[test]
fn remove_host_evicts_its_instances_and_re_places_what_fits() {
    let mut sim = one_zone(1);
    sim.app(app("web", 4_000, 8_192));
    let d = sim.scale("web", 3);
    assert_eq!(
        placed_where(&d),
        [1, 2, 3].map(|i| (InstanceId(i), HostId(1)))
    );
    // A smaller host that takes two of them.
    sim.sku(sku("g7.2xlarge", 8_000, 32_768));
    let small = sim.hosts("g7.2xlarge", "a", 1)[0];

    let t = sim.tick(1);
    let d = sim.s.remove_host(HostId(1), t).unwrap();
    let evicted: Vec<Eviction> = (1..=3)
        .map(|i| Eviction {
            instance: InstanceId(i),
            app: id("web"),
            host: HostId(1),
            cause: EvictionCause::HostRemoved,
        })
        .collect();
    assert_eq!(d.evictions, evicted);
    assert_eq!(
        placed_where(&d),
        [(InstanceId(1), small), (InstanceId(2), small)]
    );
    assert_eq!(pending_ids(&d), [InstanceId(3)]);
    assert_eq!(
        d.pending[0].reason.to_string(),
        "0/1 hosts fit: cpu: 1 host"
    );
    assert!(sim.s.host(HostId(1)).is_none());
    assert_eq!(sim.s.host_count(), 1);
    assert_no_overcommit(&sim.s);

    // The last host goes: nowhere to go at all.
    let t = sim.tick(1);
    let d = sim.s.remove_host(small, t).unwrap();
    assert_eq!(d.evictions.len(), 2);
    assert!(
        d.evictions
            .iter()
            .all(|e| e.cause == EvictionCause::HostRemoved)
    );
    assert!(d.placements.is_empty());
    // The two just evicted are listed and explained; instance 3 was already
    // pending and keeps its last reason until a reconcile.
    assert_eq!(pending_ids(&d), ids(1..=2));
    for p in &d.pending {
        assert_eq!(p.reason, PendingReason::NoFit(Explanation::default()));
        assert_eq!(p.reason.to_string(), "no hosts");
    }
    assert_eq!(sim.s.pending(), ids(1..=3));
    assert_eq!(
        pending_reason(&sim.s, InstanceId(3)).to_string(),
        "0/1 hosts fit: cpu: 1 host"
    );
    let d = sim.reconcile();
    assert_eq!(pending_ids(&d), ids(1..=3));
    assert!(d.pending.iter().all(|p| p.reason.to_string() == "no hosts"));
    assert_eq!(sim.s.host_count(), 0);
    assert_no_overcommit(&sim.s);
}

#[test]
fn set_host_state_refuses_an_unknown_host() {
    let mut sim = one_zone(1);
    let t = sim.tick(1);
    let e = refused(&mut sim.s, |s| {
        s.set_host_state(HostId(7), HostState::Cordoned, t)
    });
    assert_eq!(e, Error::UnknownHost(HostId(7)));
}

/// A cordoned host keeps its instances, takes no new ones (counted as
/// `host cordoned`), and uncordoning retries the pending instances.
#[test]
fn cordoned_hosts_take_nothing_new_and_uncordoning_retries() {
    let mut sim = one_zone(1);
    sim.app(app("web", 2_000, 4_096));
    let _ = sim.scale("web", 1);
    let t = sim.tick(1);
    assert!(
        sim.s
            .set_host_state(HostId(1), HostState::Cordoned, t)
            .unwrap()
            .is_empty()
    );
    let v = sim.s.host(HostId(1)).unwrap();
    assert_eq!(v.state, HostState::Cordoned);
    assert_eq!(v.instances, [InstanceId(1)]);

    let d = sim.scale("web", 3);
    assert!(d.placements.is_empty());
    assert_eq!(pending_ids(&d), ids(2..=3));
    for p in &d.pending {
        assert_eq!(p.reason.to_string(), "0/1 hosts fit: host cordoned: 1 host");
        assert_eq!(no_fit(&p.reason).count(Constraint::HostCordoned), 1);
    }
    // Cordoning again changes nothing and retries nothing.
    let t = sim.tick(1);
    assert!(
        sim.s
            .set_host_state(HostId(1), HostState::Cordoned, t)
            .unwrap()
            .is_empty()
    );
    let t = sim.tick(1);
    let d = sim
        .s
        .set_host_state(HostId(1), HostState::Ready, t)
        .unwrap();
    assert_eq!(placed_where(&d), [2, 3].map(|i| (InstanceId(i), HostId(1))));
    // Ready again: nothing to retry.
    let t = sim.tick(1);
    assert!(
        sim.s
            .set_host_state(HostId(1), HostState::Ready, t)
            .unwrap()
            .is_empty()
    );
    assert_no_overcommit(&sim.s);
}

// ----- apps --------------------------------------------------------------------

#[test]
fn add_app_refuses_duplicates_and_invalid_specs() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    let web = app("web", 1_000, 1_024);
    sim.app(web.clone());
    assert_eq!(sim.s.app(&id("web")), Some(&web));

    let e = refused(&mut sim.s, |s| s.add_app(app("web", 2_000, 2_048), s.now()));
    assert_eq!(e, Error::DuplicateApp(id("web")));
    assert_eq!(e.to_string(), "app web exists already");

    let e = refused(&mut sim.s, |s| {
        s.add_app(app("zero-cpu", 0, 1_024), s.now())
    });
    assert_eq!(
        e,
        Error::InvalidApp {
            app: id("zero-cpu"),
            source: AppError::Resources(ResourceError::Zero {
                dimension: Dimension::Cpu
            })
        }
    );
    assert_eq!(
        e.to_string(),
        "app zero-cpu: resources: cpu must be greater than zero"
    );
    let e = refused(&mut sim.s, |s| {
        s.add_app(app("zero-mem", 1_000, 0), s.now())
    });
    assert_eq!(
        e,
        Error::InvalidApp {
            app: id("zero-mem"),
            source: AppError::Resources(ResourceError::Zero {
                dimension: Dimension::Memory
            })
        }
    );
    assert!(e.to_string().contains("memory"), "{e}");

    let mut no_arch = app("no-arch", 1_000, 1_024);
    no_arch.arches.clear();
    let e = refused(&mut sim.s, |s| s.add_app(no_arch, s.now()));
    assert_eq!(
        e,
        Error::InvalidApp {
            app: id("no-arch"),
            source: AppError::NoArch
        }
    );

    let mut elsewhere = app("elsewhere", 1_000, 1_024);
    elsewhere.spread.zones = vec![id("a"), id("zz")];
    let e = refused(&mut sim.s, |s| s.add_app(elsewhere, s.now()));
    assert_eq!(e, Error::UnknownZone(id("zz")));

    let mut twice = app("twice", 1_000, 1_024);
    twice.spread.zones = vec![id("a"), id("b"), id("a")];
    let e = refused(&mut sim.s, |s| s.add_app(twice, s.now()));
    assert_eq!(
        e,
        Error::InvalidApp {
            app: id("twice"),
            source: AppError::DuplicateZone(id("a"))
        }
    );
    assert_eq!(
        e.to_string(),
        "app twice: zone a is listed twice in spread.zones"
    );

    assert_eq!(sim.s.apps().count(), 1);
}

#[test]
fn remove_app_refuses_unknown_apps_and_apps_with_instances() {
    let mut sim = one_zone(1);
    sim.app(app("web", 2_000, 4_096));
    let d = sim.scale("web", 9);
    assert_eq!((d.placements.len(), d.pending.len()), (8, 1));

    let e = refused(&mut sim.s, |s| s.remove_app(&id("ghost"), s.now()));
    assert_eq!(e, Error::UnknownApp(id("ghost")));
    assert_eq!(e.to_string(), "unknown app ghost");
    let e = refused(&mut sim.s, |s| s.remove_app(&id("web"), s.now()));
    assert_eq!(
        e,
        Error::AppHasInstances {
            app: id("web"),
            instances: 9
        }
    );
    assert_eq!(e.to_string(), "app web still has 9 instances");

    let _ = sim.scale("web", 0);
    sim.s.remove_app(&id("web"), sim.s.now()).unwrap();
    assert!(sim.s.app(&id("web")).is_none());
    let t = sim.tick(1);
    let e = refused(&mut sim.s, |s| s.scale(&id("web"), 1, t));
    assert_eq!(e, Error::UnknownApp(id("web")));
    assert_eq!(sim.s.app_zone_counts(&id("web")), []);
    assert!(sim.s.app_instances(&id("web")).is_empty());
}

/// Removing an app registered before others must not disturb the others'
/// instances: their views, scale-down, removal, zone counts, snapshots.
#[test]
fn removing_an_earlier_app_keeps_later_apps_working() {
    let mut sim = one_zone(2);
    sim.app(app("first", 4_000, 8_192));
    sim.app(app("second", 2_000, 4_096));
    sim.app(best_effort(app("third", 1_000, 1_024)));
    let _ = sim.scale("second", 1);
    let _ = sim.scale("first", 2);
    let _ = sim.scale("second", 3);
    let _ = sim.scale("third", 2);
    let _ = sim.scale("first", 0);
    sim.s.remove_app(&id("first"), sim.s.now()).unwrap();
    assert_no_overcommit(&sim.s);

    let names: Vec<String> = sim.s.apps().map(|a| a.id.to_string()).collect();
    assert_eq!(names, ["second", "third"]);
    for (name, count) in [("second", 3), ("third", 2)] {
        let mine = sim.s.app_instances(&id(name));
        assert_eq!(mine.len(), count);
        for i in mine {
            assert_eq!(sim.s.instance(i).unwrap().app, id::<AppId>(name));
        }
    }
    assert_eq!(sim.per_zone("second"), [("a".to_string(), 3)]);
    assert_eq!(sim.per_zone("third"), [("a".to_string(), 2)]);

    let d = sim.scale("second", 1);
    assert_eq!(d.removals.len(), 2);
    assert!(d.removals.iter().all(|r| r.app == id::<AppId>("second")));
    let third = sim.s.app_instances(&id("third"));
    let t = sim.tick(1);
    let d = sim.s.remove_instance(third[0], t).unwrap();
    assert_eq!(d.removals[0].app, id::<AppId>("third"));
    assert!(d.removals[0].host.is_some());

    let restored = Scheduler::restore(sim.s.snapshot()).unwrap();
    assert_eq!(restored.snapshot(), sim.s.snapshot());
    let d = sim.scale("second", 4);
    assert_eq!(d.placements.len(), 3);
    assert!(d.placements.iter().all(|p| p.app == id::<AppId>("second")));
    assert_no_overcommit(&sim.s);
}

// ----- place and place_batch ---------------------------------------------

#[test]
fn place_creates_one_instance_and_says_where_it_went() {
    let mut sim = one_zone(1);
    sim.app(app("web", 2_000, 4_096));
    let t = sim.tick(1);
    let d = sim.s.place(&id("web"), t).unwrap();
    assert_eq!(d.placements.len(), 1);
    let p = &d.placements[0];
    assert_eq!(
        (
            p.instance,
            &p.app,
            p.host,
            &p.zone,
            &p.sku,
            p.numa_nodes.as_slice()
        ),
        (
            InstanceId(1),
            &id("web"),
            HostId(1),
            &id("a"),
            &id(G7),
            &[0u8][..]
        )
    );
    assert!(d.evictions.is_empty() && d.pending.is_empty() && d.removals.is_empty());
    assert_eq!(
        sim.s.instance(InstanceId(1)).unwrap(),
        InstanceView {
            id: InstanceId(1),
            app: id("web"),
            status: InstanceStatus::Placed {
                host: HostId(1),
                parts: vec![(0, Resources::cpu_mem(2_000, 4_096).unwrap())]
            }
        }
    );
    assert_eq!(sim.s.now(), t);
    let e = refused(&mut sim.s, |s| s.place(&id("ghost"), t));
    assert_eq!(e, Error::UnknownApp(id("ghost")));
}

/// Partial: what fits is placed, the rest stays pending and is remembered.
#[test]
fn partial_batch_places_what_fits_and_remembers_the_rest() {
    let mut sim = one_zone(1);
    sim.app(app("web", 4_000, 8_192));
    let t = sim.tick(1);
    let d = sim
        .s
        .place_batch(&id("web"), 6, BatchMode::Partial, t)
        .unwrap();
    assert_eq!(
        placed_where(&d),
        [1, 2, 3, 4].map(|i| (InstanceId(i), HostId(1)))
    );
    assert_eq!(pending_ids(&d), ids(5..=6));
    for p in &d.pending {
        assert_eq!(p.app, id::<AppId>("web"));
        assert_eq!(p.reason.to_string(), "0/1 hosts fit: cpu: 1 host");
    }
    assert_eq!(sim.s.pending(), ids(5..=6));
    assert_eq!(
        sim.s.instance(InstanceId(5)).unwrap().status,
        InstanceStatus::Pending {
            since: t,
            reason: d.pending[0].reason.clone()
        }
    );
    assert_eq!(sim.s.instance_count(), 6);
    let (hosts, d) = sim.add_hosts_with(G7, "a", 1);
    assert_eq!(placed_where(&d), [5, 6].map(|i| (InstanceId(i), hosts[0])));
    assert!(sim.s.pending().is_empty());
    assert_no_overcommit(&sim.s);
}

#[test]
fn all_or_nothing_batch_places_everything_when_it_fits() {
    let mut sim = one_zone(1);
    sim.app(app("web", 4_000, 8_192));
    let t = sim.tick(1);
    let d = sim
        .s
        .place_batch(&id("web"), 4, BatchMode::AllOrNothing, t)
        .unwrap();
    assert_eq!(
        placed_where(&d),
        [1, 2, 3, 4].map(|i| (InstanceId(i), HostId(1)))
    );
    assert!(d.pending.is_empty());
    assert_eq!(sim.s.host(HostId(1)).unwrap().free.cpu_millis(), 0);
}

/// A gang that does not fit fails, names how many would have been placed
/// and why, and leaves the state byte-identical (no ids consumed either).
#[test]
fn all_or_nothing_batch_that_does_not_fit_changes_nothing() {
    let mut sim = one_zone(1);
    sim.app(app("web", 4_000, 8_192));
    let t = sim.tick(1);
    let before = sim.state();
    let e = sim
        .s
        .place_batch(&id("web"), 6, BatchMode::AllOrNothing, t)
        .unwrap_err();
    assert_eq!(
        e,
        Error::GangUnschedulable {
            app: id("web"),
            requested: 6,
            placeable: 4,
            reason: Explanation {
                hosts: 1,
                ruled_out: vec![RuledOut {
                    constraint: Constraint::Capacity(Dimension::Cpu),
                    hosts: 1,
                    with_room: None,
                }],
                ..Explanation::default()
            }
        }
    );
    assert_eq!(
        e.to_string(),
        "all-or-nothing batch of 6 instances of app web does not fit: \
         only 4 would be placed (0/1 hosts fit: cpu: 1 host)"
    );
    assert_eq!(sim.state(), before);
    assert_eq!(sim.s.instance_count(), 0);
    // The failed call used no instance ids.
    let d = sim
        .s
        .place_batch(&id("web"), 4, BatchMode::AllOrNothing, t)
        .unwrap();
    assert_eq!(
        d.placements.iter().map(|p| p.instance).collect::<Vec<_>>(),
        ids(1..=4)
    );
}

/// Declaring SKUs, zones and apps takes `now` like every other mutating
/// call: it may not go back in time (and then changes nothing), and it
/// moves the scheduler's clock, so a command log has one form.
#[test]
fn catalog_topology_and_app_calls_take_now() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, Timestamp(5)).unwrap();
    assert_eq!(s.now(), Timestamp(5));
    s.add_sku(sku(G7, 16_000, 65_536), Timestamp(6)).unwrap();
    assert_eq!(s.now(), Timestamp(6));
    s.add_app(app("web", 4_000, 8_192), Timestamp(7)).unwrap();
    assert_eq!(s.now(), Timestamp(7));
    let back = Timestamp(1);
    let e = refused(&mut s, |s| s.add_zone(id("b"), ZoneState::Up, back));
    assert!(matches!(e, Error::TimeWentBackwards { .. }), "{e:?}");
    let e = refused(&mut s, |s| {
        s.add_sku(sku("c7.4xlarge", 16_000, 32_768), back)
    });
    assert!(matches!(e, Error::TimeWentBackwards { .. }), "{e:?}");
    let e = refused(&mut s, |s| s.add_app(app("api", 1_000, 1_024), back));
    assert!(matches!(e, Error::TimeWentBackwards { .. }), "{e:?}");
    let e = refused(&mut s, |s| s.remove_app(&id("web"), back));
    assert!(matches!(e, Error::TimeWentBackwards { .. }), "{e:?}");
    s.remove_app(&id("web"), Timestamp(9)).unwrap();
    assert_eq!(s.now(), Timestamp(9));
    // A refused call leaves the clock where it was.
    let e = refused(&mut s, |s| s.remove_app(&id("web"), Timestamp(20)));
    assert_eq!(e, Error::UnknownApp(id("web")));
    assert_eq!(s.now(), Timestamp(9));
}

/// An empty batch is valid in both modes: it creates nothing, decides
/// nothing and moves only the clock; an unknown app or a time going back is
/// still refused.
#[test]
fn an_empty_batch_decides_nothing_in_either_mode() {
    let mut sim = one_zone(1);
    sim.app(app("web", 4_000, 8_192));
    let t = sim.tick(1);
    let _ = sim.s.place(&id("web"), t).unwrap();
    let before = sim.s.snapshot();
    for (mode, at) in [(BatchMode::Partial, 5), (BatchMode::AllOrNothing, 7)] {
        let d = sim
            .s
            .place_batch(&id("web"), 0, mode, Timestamp(at))
            .unwrap();
        assert!(d.is_empty(), "{mode:?}: {d:?}");
        assert_eq!(sim.s.now(), Timestamp(at));
        let after = sim.s.snapshot();
        assert_eq!(after.instances, before.instances);
        assert_eq!(after.hosts, before.hosts);
        assert_eq!(after.next_instance, before.next_instance);
    }
    let e = refused(&mut sim.s, |s| {
        s.place_batch(&id("nope"), 0, BatchMode::AllOrNothing, Timestamp(8))
    });
    assert_eq!(e, Error::UnknownApp(id("nope")));
    let e = refused(&mut sim.s, |s| {
        s.place_batch(&id("web"), 0, BatchMode::AllOrNothing, Timestamp(6))
    });
    assert!(matches!(e, Error::TimeWentBackwards { .. }), "{e:?}");
}

#[test]
fn batches_larger_than_max_batch_are_refused() {
    let mut sim = Sim::new();
    sim.s = Scheduler::new(Config {
        max_batch: 10,
        ..Config::default()
    });
    sim.zones(&["a"]);
    sim.sku(sku(G7, 16_000, 65_536));
    sim.hosts(G7, "a", 1);
    sim.app(app("tiny", 100, 128));
    let t = sim.tick(1);
    let too_large = Error::BatchTooLarge {
        app: id("tiny"),
        requested: 11,
        max: 10,
    };
    for mode in [BatchMode::Partial, BatchMode::AllOrNothing] {
        let e = refused(&mut sim.s, |s| s.place_batch(&id("tiny"), 11, mode, t));
        assert_eq!(e, too_large);
    }
    assert_eq!(
        too_large.to_string(),
        "11 instances of app tiny in one call; the maximum is 10"
    );
    let e = refused(&mut sim.s, |s| s.scale(&id("tiny"), 11, t));
    assert_eq!(e, too_large);
    assert_eq!(
        sim.s
            .place_batch(&id("tiny"), 10, BatchMode::Partial, t)
            .unwrap()
            .placements
            .len(),
        10
    );
    // Scaling counts only the instances it creates.
    assert_eq!(
        sim.s.scale(&id("tiny"), 20, t).unwrap().placements.len(),
        10
    );
    let e = refused(&mut sim.s, |s| s.scale(&id("tiny"), 31, t));
    assert_eq!(e, too_large);
    // Deleting is not limited.
    assert_eq!(sim.s.scale(&id("tiny"), 0, t).unwrap().removals.len(), 20);
}

// ----- scale ---------------------------------------------------------------------

#[test]
fn scale_counts_placed_and_pending_and_removes_pending_first_newest_first() {
    let mut sim = one_zone(1);
    sim.app(app("web", 4_000, 8_192));
    let d = sim.scale("web", 6);
    assert_eq!((d.placements.len(), d.pending.len()), (4, 2));
    assert_eq!(sim.s.app_instances(&id("web")), ids(1..=6));
    assert!(sim.scale("web", 6).is_empty());
    let d = sim.scale("web", 3);
    assert_eq!(
        d.removals,
        [
            removal(6, "web", None),
            removal(5, "web", None),
            removal(4, "web", Some(1))
        ]
    );
    assert!(d.placements.is_empty() && d.pending.is_empty() && d.evictions.is_empty());
    assert_eq!(sim.s.host(HostId(1)).unwrap().instances, ids(1..=3));
    assert!(sim.s.pending().is_empty());
    assert_no_overcommit(&sim.s);
}

/// Scale to zero releases every resource and keeps the app's metadata; the
/// app scales up again later with fresh instance ids.
#[test]
fn scale_to_zero_releases_everything_and_keeps_the_app() {
    let mut sim = one_zone(2);
    let spec = app("web", 4_000, 8_192);
    sim.app(spec.clone());
    let d = sim.scale("web", 10);
    assert_eq!((d.placements.len(), d.pending.len()), (8, 2));
    let d = sim.scale("web", 0);
    assert_eq!(d.removals.len(), 10);
    assert_eq!(d.removals.iter().filter(|r| r.host.is_none()).count(), 2);
    assert_eq!(sim.s.app(&id("web")), Some(&spec));
    assert_eq!(sim.s.instance_count(), 0);
    assert!(sim.s.pending().is_empty());
    for h in sim.s.host_ids().collect::<Vec<_>>() {
        let v = sim.s.host(h).unwrap();
        assert_eq!(v.free, v.capacity, "{h}");
        assert!(v.instances.is_empty());
        for n in &v.nodes {
            assert_eq!((n.rigid, n.best_effort), (Resources::ZERO, Resources::ZERO));
        }
    }
    assert_eq!(sim.per_zone("web"), [("a".to_string(), 0)]);
    let d = sim.scale("web", 2);
    assert_eq!(
        d.placements.iter().map(|p| p.instance).collect::<Vec<_>>(),
        ids(11..=12)
    );
    assert_no_overcommit(&sim.s);
}

/// Scale-down takes placed instances from the zone holding the most
/// instances of the app (ties: the first declared zone), within it from the
/// least utilised host, newest instance first.
#[test]
fn scale_down_takes_the_busiest_zone_then_the_least_utilised_host_then_the_newest() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(G7, 16_000, 65_536));
    let [h1, h2] = sim.hosts(G7, "a", 2)[..] else {
        unreachable!()
    };
    let h3 = sim.hosts(G7, "b", 1)[0];
    let set = |sim: &mut Sim, h: HostId, st: HostState| {
        let t = sim.tick(1);
        assert!(sim.s.set_host_state(h, st, t).unwrap().is_empty());
    };
    // A filler makes h1 the busiest host of zone a.
    sim.app(app("filler", 8_000, 32_768));
    set(&mut sim, h2, HostState::Cordoned);
    set(&mut sim, h3, HostState::Cordoned);
    assert_eq!(placed_where(&sim.scale("filler", 1)), [(InstanceId(1), h1)]);
    // The two oldest web instances on the quiet host h2 ...
    sim.app(app("web", 1_000, 1_024));
    set(&mut sim, h1, HostState::Cordoned);
    set(&mut sim, h2, HostState::Ready);
    assert_eq!(
        placed_where(&sim.scale("web", 2)),
        [(InstanceId(2), h2), (InstanceId(3), h2)]
    );
    // ... two newer ones on the busy host h1 ...
    set(&mut sim, h1, HostState::Ready);
    set(&mut sim, h2, HostState::Cordoned);
    assert_eq!(
        placed_where(&sim.scale("web", 4)),
        [(InstanceId(4), h1), (InstanceId(5), h1)]
    );
    // ... and the newest in zone b.
    set(&mut sim, h2, HostState::Ready);
    set(&mut sim, h3, HostState::Ready);
    assert_eq!(placed_where(&sim.scale("web", 5)), [(InstanceId(6), h3)]);
    assert_eq!(
        sim.per_zone("web"),
        [("a".to_string(), 4), ("b".to_string(), 1)]
    );

    // Zone a holds the most; its least utilised host is h2: newest first.
    let d = sim.scale("web", 3);
    assert_eq!(
        d.removals,
        [removal(3, "web", Some(2)), removal(2, "web", Some(2))]
    );
    // Zone a still holds more (2 vs 1); then a tie, which goes to zone a.
    let d = sim.scale("web", 1);
    assert_eq!(
        d.removals,
        [removal(5, "web", Some(1)), removal(4, "web", Some(1))]
    );
    assert_eq!(sim.s.app_instances(&id("web")), [InstanceId(6)]);
    assert_no_overcommit(&sim.s);
}

/// The zone holding the most instances loses one first, even when it is
/// not the first declared zone.
#[test]
fn scale_down_takes_from_the_zone_with_the_most_instances_not_the_first() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(G7, 16_000, 65_536));
    let ha = sim.hosts(G7, "a", 1)[0];
    let hb = sim.hosts(G7, "b", 1)[0];
    sim.app(app("web", 1_000, 1_024));
    let t = sim.tick(1);
    let _ = sim.s.set_host_state(ha, HostState::Cordoned, t).unwrap();
    assert_eq!(
        placed_where(&sim.scale("web", 3)),
        [1, 2, 3].map(|i| (InstanceId(i), hb))
    );
    let t = sim.tick(1);
    let _ = sim.s.set_host_state(ha, HostState::Ready, t).unwrap();
    assert_eq!(placed_where(&sim.scale("web", 4)), [(InstanceId(4), ha)]);
    // b holds 3, a holds 1: two from b, newest first.
    let d = sim.scale("web", 2);
    assert_eq!(
        d.removals,
        [removal(3, "web", Some(hb.0)), removal(2, "web", Some(hb.0))]
    );
    // 1 and 1: the tie goes to the first declared zone.
    let d = sim.scale("web", 1);
    assert_eq!(d.removals, [removal(4, "web", Some(ha.0))]);
}

// ----- remove_instance and reconcile --------------------------------------

#[test]
fn remove_instance_releases_it_and_refuses_unknown_ids() {
    let mut sim = one_zone(1);
    sim.app(app("web", 8_000, 16_384));
    let _ = sim.scale("web", 3);
    assert_eq!(sim.s.pending(), [InstanceId(3)]);
    let t = sim.tick(1);
    let e = refused(&mut sim.s, |s| s.remove_instance(InstanceId(42), t));
    assert_eq!(e, Error::UnknownInstance(InstanceId(42)));
    assert_eq!(e.to_string(), "unknown instance i-42");

    let d = sim.s.remove_instance(InstanceId(1), t).unwrap();
    assert_eq!(d.removals, [removal(1, "web", Some(1))]);
    // Freed capacity is not handed to the pending instance until reconcile.
    assert!(d.placements.is_empty());
    let d = sim.s.remove_instance(InstanceId(3), t).unwrap();
    assert_eq!(d.removals, [removal(3, "web", None)]);
    assert!(sim.s.pending().is_empty());
    assert_eq!(sim.s.host(HostId(1)).unwrap().instances, [InstanceId(2)]);
    let e = refused(&mut sim.s, |s| s.remove_instance(InstanceId(1), t));
    assert_eq!(e, Error::UnknownInstance(InstanceId(1)));
    assert_no_overcommit(&sim.s);
}

/// Capacity freed by scaling another app down is not handed out by the
/// scale-down itself; reconcile places the pending instances.
#[test]
fn reconcile_places_pending_instances_when_capacity_appears() {
    let mut sim = one_zone(1);
    sim.app(app("batch", 8_000, 16_384));
    sim.app(app("web", 4_000, 8_192));
    let _ = sim.scale("batch", 2);
    let d = sim.scale("web", 2);
    assert_eq!(pending_ids(&d), ids(3..=4));
    let d = sim.scale("batch", 1);
    assert_eq!(d.removals, [removal(2, "batch", Some(1))]);
    assert!(d.placements.is_empty());
    assert_eq!(sim.s.pending(), ids(3..=4));
    let d = sim.reconcile();
    assert_eq!(placed_where(&d), [3, 4].map(|i| (InstanceId(i), HostId(1))));
    assert!(d.pending.is_empty());
    assert!(sim.reconcile().is_empty());
    assert_no_overcommit(&sim.s);
}

#[test]
fn reconcile_retries_higher_priority_first() {
    let mut sim = one_zone(1);
    sim.app(app("low", 8_000, 8_192));
    let mut high = app("high", 8_000, 8_192);
    high.priority = 10;
    sim.app(high);
    sim.app(app("blocker", 16_000, 8_192));
    let _ = sim.scale("blocker", 1);
    let _ = sim.scale("low", 1);
    let _ = sim.scale("high", 1);
    assert_eq!(sim.s.pending(), [InstanceId(3), InstanceId(2)]);
    let _ = sim.scale("blocker", 0);
    let d = sim.reconcile();
    // Both fit (8 + 8 vCPU); the higher priority one goes first.
    assert_eq!(
        d.placements.iter().map(|p| p.instance).collect::<Vec<_>>(),
        [InstanceId(3), InstanceId(2)]
    );
}

// ----- time ---------------------------------------------------------------------

type Call = Box<dyn Fn(&mut Scheduler, Timestamp) -> Result<Decisions, Error>>;

/// Every call that takes a time refuses one earlier than the latest seen,
/// naming both, and changes nothing; the latest time itself is accepted.
#[test]
fn every_call_that_takes_time_refuses_to_go_back() {
    let mut sim = one_zone(2);
    sim.app(app("web", 2_000, 4_096));
    let _ = sim.scale("web", 3);
    let now = sim.tick(1_000);
    assert!(sim.s.reconcile(now).unwrap().is_empty());
    assert_eq!(sim.s.now(), now);
    let past = Timestamp(now.0 - 1);
    let calls: Vec<(&str, Call)> = vec![
        (
            "set_zone_state",
            Box::new(|s, t| s.set_zone_state(&id("a"), ZoneState::Down, t)),
        ),
        (
            "add_host",
            Box::new(|s, t| s.add_host(host_spec(9, G7, "a"), t)),
        ),
        ("remove_host", Box::new(|s, t| s.remove_host(HostId(1), t))),
        (
            "set_host_state",
            Box::new(|s, t| s.set_host_state(HostId(1), HostState::Cordoned, t)),
        ),
        ("place", Box::new(|s, t| s.place(&id("web"), t))),
        (
            "place_batch",
            Box::new(|s, t| s.place_batch(&id("web"), 2, BatchMode::Partial, t)),
        ),
        (
            "place_batch gang",
            Box::new(|s, t| s.place_batch(&id("web"), 2, BatchMode::AllOrNothing, t)),
        ),
        ("scale up", Box::new(|s, t| s.scale(&id("web"), 5, t))),
        ("scale down", Box::new(|s, t| s.scale(&id("web"), 1, t))),
        ("scale same", Box::new(|s, t| s.scale(&id("web"), 3, t))),
        (
            "remove_instance",
            Box::new(|s, t| s.remove_instance(InstanceId(1), t)),
        ),
        ("reconcile", Box::new(|s, t| s.reconcile(t))),
    ];
    for (name, call) in &calls {
        let e = refused(&mut sim.s, |s| call(s, past));
        assert_eq!(
            e,
            Error::TimeWentBackwards {
                last: now,
                now: past
            },
            "{name}"
        );
    }
    assert_eq!(
        Error::TimeWentBackwards {
            last: now,
            now: past
        }
        .to_string(),
        format!(
            "time went backwards: the last call was at t={}ms, this one at t={}ms",
            now.0, past.0
        )
    );
    for (name, call) in &calls {
        let mut copy = sim.s.clone();
        let _ = call(&mut copy, now).unwrap_or_else(|e| panic!("{name} at the latest time: {e}"));
        assert_eq!(copy.now(), now);
    }
}

// ----- dry runs -------------------------------------------------------------------

/// A dry run returns exactly what the real call returns (decisions or
/// error) and changes nothing; the real call then reaches the state the dry
/// run reached.
#[test]
fn dry_run_returns_exactly_the_real_decisions_and_changes_nothing() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(G7, 16_000, 65_536));
    sim.hosts(G7, "a", 2);
    sim.hosts(G7, "b", 2);
    sim.app(best_effort(app("analytics", 2_000, 4_096)));
    sim.app(app("web", 4_000, 8_192));
    let _ = sim.scale("analytics", 30);
    let calls: Vec<Call> = vec![
        // Preempts best-effort instances.
        Box::new(|s, t| s.scale(&id("web"), 6, t)),
        // Fails: nothing changes.
        Box::new(|s, t| s.place_batch(&id("web"), 20, BatchMode::AllOrNothing, t)),
        Box::new(|s, t| s.place_batch(&id("web"), 20, BatchMode::Partial, t)),
        Box::new(|s, t| s.remove_host(HostId(1), t)),
        Box::new(|s, t| s.set_zone_state(&id("b"), ZoneState::Down, t)),
        Box::new(|s, t| s.add_host(host_spec(10, G7, "a"), t)),
        Box::new(|s, t| s.set_zone_state(&id("b"), ZoneState::Up, t)),
        Box::new(|s, t| s.scale(&id("web"), 2, t)),
        Box::new(|s, t| s.reconcile(t)),
        Box::new(|s, t| s.remove_instance(InstanceId(3), t)),
        Box::new(|s, t| s.scale(&id("analytics"), 0, t)),
    ];
    let mut non_empty = 0;
    for call in &calls {
        let t = sim.tick(1_000);
        let before = sim.state();
        let (planned, planned_state) = sim.s.dry_run(|c| (call(c, t), json(c)));
        assert_eq!(sim.state(), before, "the dry run changed the state");
        let real = call(&mut sim.s, t);
        assert_eq!(planned, real);
        assert_eq!(sim.state(), planned_state);
        if real.as_ref().is_ok_and(|d| !d.is_empty()) {
            non_empty += 1;
        }
        assert_no_overcommit(&sim.s);
    }
    assert!(non_empty >= 8, "the sequence should decide things");
}

// ----- explanations ---------------------------------------------------------------

fn only_pending(d: &Decisions) -> &Explanation {
    assert!(d.placements.is_empty(), "{d:?}");
    assert_eq!(d.pending.len(), 1);
    let e = no_fit(&d.pending[0].reason);
    assert_each_host_counted_once(e);
    e
}

#[test]
fn explanation_counts_hosts_without_an_image_for_their_arch() {
    let mut sim = one_zone(3);
    let mut arm = app("arm-only", 2_000, 4_096);
    arm.arches = BTreeSet::from([Arch::Aarch64]);
    sim.app(arm);
    let d = sim.scale("arm-only", 1);
    assert_eq!(only_pending(&d).to_string(), "0/3 hosts fit: arch: 3 hosts");
    let mut g8y = sku("g8y.4xlarge", 16_000, 65_536);
    g8y.arch = Arch::Aarch64;
    sim.sku(g8y);
    let (hosts, d) = sim.add_hosts_with("g8y.4xlarge", "a", 1);
    assert_eq!(placed_where(&d), [(InstanceId(1), hosts[0])]);
    assert_eq!(d.placements[0].sku, id("g8y.4xlarge"));
}

#[test]
fn explanation_counts_missing_features_then_capacity() {
    let mut sim = one_zone(2);
    let mut rdma = sku("g7r.2xlarge", 4_000, 16_384);
    rdma.features = BTreeSet::from([id::<Label>("rdma")]);
    sim.sku(rdma);
    sim.hosts("g7r.2xlarge", "a", 1);
    let mut hpc = app("hpc", 8_000, 16_384);
    hpc.features = BTreeSet::from([id::<Label>("rdma")]);
    sim.app(hpc);
    let d = sim.scale("hpc", 1);
    let e = only_pending(&d);
    assert_eq!(
        e.to_string(),
        "0/3 hosts fit: features: 2 hosts, cpu: 1 host"
    );
    assert_eq!(e.count(Constraint::Features), 2);
    assert_eq!(e.count(Constraint::Capacity(Dimension::Cpu)), 1);
}

#[test]
fn explanation_counts_hosts_slower_than_the_perf_floor() {
    let mut sim = one_zone(2);
    let mut fast = app("fast", 2_000, 4_096);
    fast.min_perf_score = 150;
    sim.app(fast);
    let d = sim.scale("fast", 1);
    assert_eq!(
        only_pending(&d).to_string(),
        "0/2 hosts fit: perf score: 2 hosts"
    );
    let mut g8i = sku("g8i.4xlarge", 16_000, 65_536);
    g8i.perf_score = 160;
    sim.sku(g8i);
    let (hosts, d) = sim.add_hosts_with("g8i.4xlarge", "a", 1);
    assert_eq!(placed_where(&d), [(InstanceId(1), hosts[0])]);
}

#[test]
fn explanation_counts_zones_not_allowed() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(G7, 16_000, 65_536));
    sim.hosts(G7, "a", 2);
    let hb = sim.hosts(G7, "b", 1)[0];
    let t = sim.tick(1);
    let _ = sim.s.set_host_state(hb, HostState::Cordoned, t).unwrap();
    let mut pinned = app("pinned", 2_000, 4_096);
    pinned.spread.zones = vec![id("b")];
    sim.app(pinned);
    let d = sim.scale("pinned", 1);
    assert_eq!(
        only_pending(&d).to_string(),
        "0/3 hosts fit: zone not allowed: 2 hosts, host cordoned: 1 host"
    );
    let t = sim.tick(1);
    let d = sim.s.set_host_state(hb, HostState::Ready, t).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(1), hb)]);
}

/// Each host is counted under the first dimension it lacks, in the order
/// cpu, memory, network, accelerators.
#[test]
fn explanation_counts_each_dimension() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku_full("x.cpu", 2_000, 65_536, 10_000, 4));
    sim.sku(sku_full("x.mem", 16_000, 1_024, 10_000, 4));
    sim.sku(sku_full("x.net", 16_000, 65_536, 100, 4));
    sim.sku(sku_full("x.acc", 16_000, 65_536, 10_000, 0));
    sim.sku(sku_full("x.fits", 16_000, 65_536, 10_000, 4));
    for k in ["x.cpu", "x.mem", "x.net", "x.acc"] {
        sim.hosts(k, "a", 1);
    }
    let mut gpu = app("gpu", 4_000, 4_096);
    gpu.resources = Resources::new(4_000, 4_096, 1_000, 1).unwrap();
    sim.app(gpu);
    let d = sim.scale("gpu", 1);
    let e = only_pending(&d);
    assert_eq!(
        e.to_string(),
        "0/4 hosts fit: cpu: 1 host, memory: 1 host, network: 1 host, accelerators: 1 host"
    );
    for dim in Dimension::ALL {
        assert_eq!(e.count(Constraint::Capacity(dim)), 1, "{dim}");
    }
    let (hosts, d) = sim.add_hosts_with("x.fits", "a", 1);
    assert_eq!(placed_where(&d), [(InstanceId(1), hosts[0])]);
    let v = sim.s.host(hosts[0]).unwrap();
    assert_eq!(v.free, Resources::new(12_000, 61_440, 9_000, 3).unwrap());
}

#[test]
fn explanation_counts_hosts_with_no_single_numa_node_large_enough() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(with_numa(sku("r7.numa", 16_000, 65_536), 2));
    sim.hosts("r7.numa", "a", 2);
    let mut whole = app("whole", 12_000, 8_192);
    whole.numa = NumaPolicy::SingleNode;
    sim.app(whole);
    let d = sim.scale("whole", 1);
    let e = only_pending(&d);
    assert_eq!(e.to_string(), "0/2 hosts fit: single numa node: 2 hosts");
    assert_eq!(e.count(Constraint::NumaNode), 2);
}

/// Every constraint at once: each host is counted once, under the first
/// constraint (in `Constraint` order) that rules it out.
#[test]
fn explanation_counts_every_host_once_in_constraint_order() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    let nvme = || BTreeSet::from([id::<Label>("local-nvme")]);
    let mut i4 = sku("i4.4xlarge", 16_000, 65_536);
    i4.features = nvme();
    i4.perf_score = 120;
    let mut i4n = with_numa(sku("i4n.4xlarge", 16_000, 65_536), 2);
    i4n.features = nvme();
    i4n.perf_score = 120;
    let mut i3 = sku("i3.4xlarge", 16_000, 65_536);
    i3.features = nvme();
    i3.perf_score = 50;
    let mut g8y = sku("g8y.4xlarge", 16_000, 65_536);
    g8y.arch = Arch::Aarch64;
    g8y.features = nvme();
    for k in [i4, i4n, i3, g8y, sku(G7, 16_000, 65_536)] {
        sim.sku(k);
    }
    // Two i4 hosts filled by another app, one cordoned.
    let i4_hosts = sim.hosts("i4.4xlarge", "a", 3);
    sim.app(app("filler", 16_000, 16_384));
    let _ = sim.scale("filler", 2);
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_host_state(i4_hosts[2], HostState::Cordoned, t)
        .unwrap();
    sim.hosts("i4.4xlarge", "b", 3);
    let t = sim.tick(1);
    let _ = sim.s.set_zone_state(&id("b"), ZoneState::Down, t).unwrap();
    sim.hosts("g8y.4xlarge", "a", 2);
    sim.hosts(G7, "a", 4);
    sim.hosts("i3.4xlarge", "a", 1);
    sim.hosts("i4n.4xlarge", "a", 2);

    let mut erp = app("erp", 12_000, 16_384);
    erp.features = nvme();
    erp.min_perf_score = 100;
    erp.numa = NumaPolicy::SingleNode;
    sim.app(erp);
    let d = sim.scale("erp", 1);
    let e = only_pending(&d);
    assert_eq!(e.hosts, 15);
    assert_eq!(
        e.to_string(),
        "0/15 hosts fit: zone down: 3 hosts, arch: 2 hosts, features: 4 hosts, \
         perf score: 1 host, host cordoned: 1 host, cpu: 2 hosts, single numa node: 2 hosts"
    );
    let order: Vec<Constraint> = e.ruled_out.iter().map(|r| r.constraint).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    // The stored reason is the same as the decision's.
    assert_eq!(
        pending_reason(&sim.s, d.pending[0].instance),
        d.pending[0].reason
    );
}

// ----- the score -------------------------------------------------------------------

/// All dimensions count in the score: a CPU-only instance goes on a plain
/// host rather than leave a GPU host's accelerators stranded (even though
/// the GPU host has the lower id).
#[test]
fn a_cpu_only_app_prefers_a_plain_host_over_a_gpu_host() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku_full("gn7i.4xlarge", 16_000, 65_536, 10_000, 4));
    sim.sku(sku(G7, 16_000, 65_536));
    let gpu_host = sim.hosts("gn7i.4xlarge", "a", 1)[0];
    let plain = sim.hosts(G7, "a", 1)[0];
    assert!(gpu_host < plain);
    sim.app(app("web", 2_000, 4_096));
    let d = sim.scale("web", 3);
    assert!(
        d.placements
            .iter()
            .all(|p| p.host == plain && p.sku == id::<SkuId>(G7))
    );
    let mut train = app("train", 4_000, 8_192);
    train.resources = Resources::new(4_000, 8_192, 0, 1).unwrap();
    sim.app(train);
    let d = sim.scale("train", 1);
    assert_eq!(placed_where(&d), [(InstanceId(4), gpu_host)]);
}

/// A region of zone `a` with one compute host (1: 16 vCPU, 32 GiB) and one
/// memory-optimized host (2: 16 vCPU, 128 GiB), an app `mem` of 1 vCPU and
/// 8 GiB and an app `cpu` of 4 vCPU and 4 GiB.
fn compute_and_memory_hosts(classes_per_zone: u32) -> Scheduler {
    let mut s = Scheduler::new(Config {
        classes_per_zone,
        ..Config::default()
    });
    s.add_zone(id("a"), ZoneState::Up, s.now()).unwrap();
    s.add_sku(sku("c7.4xlarge", 16_000, 32_768), s.now())
        .unwrap();
    s.add_sku(sku("r7.4xlarge", 16_000, 131_072), s.now())
        .unwrap();
    let _ = s
        .add_host(host_spec(1, "c7.4xlarge", "a"), Timestamp(1))
        .unwrap();
    let _ = s
        .add_host(host_spec(2, "r7.4xlarge", "a"), Timestamp(1))
        .unwrap();
    s.add_app(app("mem", 1_000, 8_192), s.now()).unwrap();
    s.add_app(app("cpu", 4_000, 4_096), s.now()).unwrap();
    s
}

/// Within a zone, the SKU whose shape matches the request's is searched
/// first: a memory-heavy instance goes on the memory-optimized host even
/// though the compute host would score better (it would be left fuller),
/// and a CPU-heavy one on the compute host. When the matching SKU has no
/// room, the next one in alignment order takes the instance.
#[test]
fn the_sku_whose_shape_matches_the_request_is_searched_first() {
    let mut s = compute_and_memory_hosts(1);
    let d = s.place(&id("mem"), Timestamp(2)).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(1), HostId(2))]);
    let d = s.place(&id("cpu"), Timestamp(2)).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(2), HostId(1))]);
    // Host 2 has 16 - 1 = 15 vCPU and 120 GiB left: 15 more `mem`
    // instances, then the compute host.
    let d = s.scale(&id("mem"), 17, Timestamp(3)).unwrap();
    let hosts: Vec<HostId> = d.placements.iter().map(|p| p.host).collect();
    assert_eq!(hosts.len(), 16);
    assert!(hosts[..15].iter().all(|h| *h == HostId(2)), "{hosts:?}");
    assert_eq!(hosts[15], HostId(1));
    assert_no_overcommit(&s);
}

/// With `classes_per_zone` 0 every class of the zone is searched and the
/// best score wins across SKUs: the memory-heavy instance goes on the
/// compute host, which it leaves fuller.
#[test]
fn searching_every_class_lets_the_best_score_win_across_skus() {
    let mut s = compute_and_memory_hosts(0);
    let d = s.place(&id("mem"), Timestamp(2)).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(1), HostId(1))]);
    let d = s.place(&id("cpu"), Timestamp(2)).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(2), HostId(1))]);
}

/// Best fit: among hosts that fit, the fuller one (least left free) wins;
/// equal scores go to the lower host id, whatever the order of addition.
#[test]
fn best_fit_prefers_the_fuller_host_and_ties_go_to_the_lower_id() {
    let mut sim = one_zone(2);
    sim.app(app("filler", 8_000, 32_768));
    sim.app(app("web", 2_000, 4_096));
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_host_state(HostId(1), HostState::Cordoned, t)
        .unwrap();
    assert_eq!(
        placed_where(&sim.scale("filler", 1)),
        [(InstanceId(1), HostId(2))]
    );
    let t = sim.tick(1);
    assert!(
        sim.s
            .set_host_state(HostId(1), HostState::Ready, t)
            .unwrap()
            .is_empty()
    );
    let d = sim.scale("web", 4);
    assert!(d.placements.iter().all(|p| p.host == HostId(2)), "{d:?}");
    // Host 2 is now full in CPU; the next one goes to host 1.
    assert_eq!(
        placed_where(&sim.scale("web", 5)),
        [(InstanceId(6), HostId(1))]
    );

    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, s.now()).unwrap();
    s.add_sku(sku(G7, 16_000, 65_536), s.now()).unwrap();
    let _ = s.add_host(host_spec(5, G7, "a"), Timestamp(1)).unwrap();
    let _ = s.add_host(host_spec(3, G7, "a"), Timestamp(2)).unwrap();
    s.add_app(app("web", 2_000, 4_096), s.now()).unwrap();
    let d = s.place(&id("web"), Timestamp(3)).unwrap();
    assert_eq!(d.placements[0].host, HostId(3));
}

#[test]
fn instances_spread_over_allowed_zones_fewest_first() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b", "c"]);
    sim.sku(sku(G7, 16_000, 65_536));
    for z in ["a", "b", "c"] {
        sim.hosts(G7, z, 2);
    }
    sim.app(app("web", 2_000, 4_096));
    let d = sim.scale("web", 7);
    let zones: Vec<String> = d.placements.iter().map(|p| p.zone.to_string()).collect();
    assert_eq!(zones, ["a", "b", "c", "a", "b", "c", "a"]);
    let mut ab = app("ab", 2_000, 4_096);
    ab.spread.zones = vec![id("c"), id("b")];
    sim.app(ab);
    let d = sim.scale("ab", 4);
    let zones: Vec<String> = d.placements.iter().map(|p| p.zone.to_string()).collect();
    assert_eq!(zones, ["b", "c", "b", "c"]);
}

// ----- preemption ---------------------------------------------------------------

/// A host of 10 vCPU / 10,000 MiB.
fn preemption_world(hosts: usize) -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("p.host", 10_000, 10_000));
    sim.hosts("p.host", "a", hosts);
    sim
}

/// Fewest victims first: one large best-effort instance goes rather than
/// two small ones, even though the two together are smaller.
#[test]
fn preemption_evicts_the_fewest_best_effort_instances() {
    let mut sim = preemption_world(1);
    sim.app(best_effort(app("be-small", 2_000, 2_000)));
    sim.app(best_effort(app("be-big", 5_000, 5_000)));
    sim.app(app("rt", 4_000, 4_000));
    let _ = sim.scale("be-small", 2);
    let _ = sim.scale("be-big", 1);
    let d = sim.scale("rt", 1);
    let t = sim.now;
    assert_eq!(
        d.evictions,
        [Eviction {
            instance: InstanceId(3),
            app: id("be-big"),
            host: HostId(1),
            cause: EvictionCause::Preempted { by: InstanceId(4) }
        }]
    );
    assert_eq!(placed_where(&d), [(InstanceId(4), HostId(1))]);
    assert!(d.pending.is_empty());
    let reason = PendingReason::Preempted {
        by: InstanceId(4),
        host: HostId(1),
    };
    assert_eq!(
        sim.s.instance(InstanceId(3)).unwrap().status,
        InstanceStatus::Pending {
            since: t,
            reason: reason.clone()
        }
    );
    assert_eq!(
        reason.to_string(),
        "preempted on host-1 by rigid instance i-4"
    );
    assert_eq!(sim.s.pending(), [InstanceId(3)]);
    assert_no_overcommit(&sim.s);

    // Room appears: reconcile puts the evicted instance back.
    let _ = sim.scale("rt", 0);
    let d = sim.reconcile();
    assert_eq!(placed_where(&d), [(InstanceId(3), HostId(1))]);
    assert!(sim.s.pending().is_empty());
    assert_no_overcommit(&sim.s);
}

/// Among equally few victims, the smallest goes (not the oldest or newest).
#[test]
fn preemption_evicts_the_smallest_among_equally_few() {
    let mut sim = preemption_world(1);
    sim.app(best_effort(app("be-b", 5_000, 5_000)));
    sim.app(best_effort(app("be-a", 4_000, 4_000)));
    sim.app(app("rt", 4_000, 4_000));
    let _ = sim.scale("be-b", 1);
    let _ = sim.scale("be-a", 1);
    let d = sim.scale("rt", 1);
    assert_eq!(d.evictions.len(), 1);
    assert_eq!(d.evictions[0].instance, InstanceId(2));
    assert_eq!(d.evictions[0].app, id::<AppId>("be-a"));
    assert_eq!(placed_where(&d), [(InstanceId(3), HostId(1))]);
    assert_no_overcommit(&sim.s);
}

/// Across hosts: with one victim needed on each, the host whose victim is
/// smaller wins.
#[test]
fn preemption_across_hosts_prefers_the_smaller_victim() {
    let mut sim = preemption_world(2);
    sim.app(best_effort(app("be-big", 8_000, 8_000)));
    sim.app(best_effort(app("be-a", 3_000, 3_000)));
    sim.app(app("rt", 7_000, 7_000));
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_host_state(HostId(1), HostState::Cordoned, t)
        .unwrap();
    assert_eq!(
        placed_where(&sim.scale("be-big", 1)),
        [(InstanceId(1), HostId(2))]
    );
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_host_state(HostId(1), HostState::Ready, t)
        .unwrap();
    assert_eq!(
        placed_where(&sim.scale("be-a", 2)),
        [(InstanceId(2), HostId(1)), (InstanceId(3), HostId(1))]
    );
    let d = sim.scale("rt", 1);
    assert_eq!(d.evictions.len(), 1);
    assert_eq!(d.evictions[0].host, HostId(1));
    assert_eq!(d.evictions[0].app, id::<AppId>("be-a"));
    assert_eq!(placed_where(&d), [(InstanceId(4), HostId(1))]);
    assert_no_overcommit(&sim.s);
}

#[test]
fn best_effort_never_preempts() {
    let mut sim = preemption_world(1);
    sim.app(best_effort(app("be-x", 5_000, 5_000)));
    let mut y = best_effort(app("be-y", 1_000, 1_000));
    y.priority = 100;
    sim.app(y);
    let _ = sim.scale("be-x", 2);
    let d = sim.scale("be-y", 1);
    assert!(d.evictions.is_empty());
    assert_eq!(only_pending(&d).to_string(), "0/1 hosts fit: cpu: 1 host");
    let d = sim.reconcile();
    assert!(d.evictions.is_empty() && d.placements.is_empty());
}

#[test]
fn rigid_instances_are_never_evicted() {
    let mut sim = preemption_world(1);
    sim.app(app("low", 5_000, 5_000));
    let mut high = app("high", 1_000, 1_000);
    high.priority = 100;
    sim.app(high);
    let _ = sim.scale("low", 2);
    let d = sim.scale("high", 1);
    assert!(d.evictions.is_empty());
    assert_eq!(only_pending(&d).to_string(), "0/1 hosts fit: cpu: 1 host");
    let d = sim.reconcile();
    assert!(d.evictions.is_empty() && d.placements.is_empty());
    assert_eq!(sim.s.host(HostId(1)).unwrap().instances, ids(1..=2));
}

/// A pending rigid instance retried when its zone comes back preempts too.
#[test]
fn pending_rigid_instances_preempt_when_retried() {
    let mut sim = preemption_world(1);
    sim.app(best_effort(app("be", 5_000, 5_000)));
    sim.app(app("rt", 5_000, 5_000));
    let _ = sim.scale("be", 2);
    let t = sim.tick(1);
    let _ = sim.s.set_zone_state(&id("a"), ZoneState::Down, t).unwrap();
    let d = sim.scale("rt", 1);
    assert_eq!(
        only_pending(&d).to_string(),
        "0/1 hosts fit: zone down: 1 host"
    );
    let t = sim.tick(1);
    let d = sim.s.set_zone_state(&id("a"), ZoneState::Up, t).unwrap();
    assert_eq!(d.evictions.len(), 1);
    assert_eq!(
        d.evictions[0].cause,
        EvictionCause::Preempted { by: InstanceId(3) }
    );
    assert_eq!(placed_where(&d), [(InstanceId(3), HostId(1))]);
    assert_no_overcommit(&sim.s);
}

/// The explanation of a rigid instance counts capacity held by best-effort
/// instances as available; a best-effort one does not.
#[test]
fn rigid_explanations_count_best_effort_capacity_as_reclaimable() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("p.host", 10_000, 10_000));
    sim.sku(with_numa(sku("p.numa", 10_000, 10_000), 2));
    sim.hosts("p.host", "a", 1);
    sim.hosts("p.numa", "a", 1);
    sim.app(best_effort(app("be", 5_000, 1_000)));
    let _ = sim.scale("be", 4);
    let mut rt = app("rt", 8_000, 1_000);
    rt.numa = NumaPolicy::SingleNode;
    sim.app(rt);
    sim.app(best_effort(app("be2", 1_000, 1_000)));
    let d = sim.scale("be2", 1);
    assert_eq!(only_pending(&d).to_string(), "0/2 hosts fit: cpu: 2 hosts");
    // rt fits by preemption on the single-node host only (nodes are 5 vCPU).
    let d = sim.scale("rt", 1);
    assert_eq!(d.placements[0].host, HostId(1));
    assert_eq!(d.evictions.len(), 2);
    let d = sim.scale("rt", 2);
    assert_eq!(
        only_pending(&d).to_string(),
        "0/2 hosts fit: cpu: 1 host, single numa node: 1 host"
    );
    assert_no_overcommit(&sim.s);
}

// ----- NUMA -----------------------------------------------------------------------

/// A single-node instance is given one node whole; the view agrees.
#[test]
fn single_node_instances_land_on_one_node() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(with_numa(sku("r7.numa", 32_000, 65_536), 2));
    sim.hosts("r7.numa", "a", 1);
    let mut whole = app("whole", 12_000, 16_384);
    whole.numa = NumaPolicy::SingleNode;
    sim.app(whole);
    let req = Resources::cpu_mem(12_000, 16_384).unwrap();
    let d = sim.scale("whole", 2);
    let mut nodes = vec![];
    for p in &d.placements {
        assert_eq!(p.numa_nodes.len(), 1);
        let n = p.numa_nodes[0];
        assert_eq!(placed(&sim.s, p.instance).1, vec![(n, req)]);
        nodes.push(n);
    }
    // Two 12-vCPU instances on two 16-vCPU nodes: one per node.
    nodes.sort_unstable();
    assert_eq!(nodes, [0, 1]);
    let v = sim.s.host(HostId(1)).unwrap();
    for n in &v.nodes {
        assert_eq!(n.rigid, req);
    }
    // 8 vCPU are free in total, but no node has 12.
    let d = sim.scale("whole", 3);
    assert_eq!(only_pending(&d).to_string(), "0/1 hosts fit: cpu: 1 host");
    assert_no_overcommit(&sim.s);
}

/// A single-node instance is not split even when the host's free CPU
/// and free memory are each large enough on *some* node: node 0 has the
/// CPU, node 1 the memory, neither both. A NumaPolicy::Any instance of the
/// same size is split over the two.
#[test]
fn single_node_instances_are_not_split_when_dimensions_sit_on_different_nodes() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(with_numa(sku("r7.numa", 32_000, 65_536), 2));
    sim.hosts("r7.numa", "a", 1);
    let single = |name: &str, cpu, mem| {
        let mut a = app(name, cpu, mem);
        a.numa = NumaPolicy::SingleNode;
        a
    };
    sim.app(single("memhog", 1_000, 32_000));
    sim.app(single("cpuhog", 15_000, 1_000));
    sim.app(single("whole", 8_000, 16_384));
    let d = sim.scale("memhog", 1);
    let mem_node = d.placements[0].numa_nodes[0];
    let d = sim.scale("cpuhog", 1);
    assert_ne!(d.placements[0].numa_nodes[0], mem_node);
    let d = sim.scale("whole", 1);
    assert_eq!(
        only_pending(&d).to_string(),
        "0/1 hosts fit: single numa node: 1 host"
    );
    // A second, empty host arrives. The first is fuller (the better score)
    // but has no node that fits, so the waiting instance goes to the new
    // one, on one node.
    let (h2, d) = sim.add_hosts_with("r7.numa", "a", 1);
    assert_eq!(placed_where(&d), [(InstanceId(3), h2[0])]);
    assert_eq!(d.placements[0].numa_nodes.len(), 1);
    sim.app(app("loose", 8_000, 16_384));
    let d = sim.scale("loose", 1);
    // An Any instance of the same size prefers the fuller host, split.
    assert_eq!(d.placements[0].host, HostId(1));
    assert_eq!(d.placements[0].numa_nodes.len(), 2);
    assert_no_overcommit(&sim.s);
}

/// NumaPolicy::Any spreads an instance over the nodes when no single node
/// has room, each dimension from the node with the most free first.
#[test]
fn any_policy_spreads_when_no_single_node_fits() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(with_numa(sku("r7.numa", 32_000, 65_536), 2));
    sim.hosts("r7.numa", "a", 1);
    sim.app(app("small", 2_000, 2_048));
    sim.app(app("wide", 20_000, 16_384));
    let d = sim.scale("small", 1);
    assert_eq!(d.placements[0].numa_nodes.len(), 1);
    let s_node = d.placements[0].numa_nodes[0];
    let other = 1 - s_node;
    let d = sim.scale("wide", 1);
    let p = &d.placements[0];
    assert_eq!(p.numa_nodes.len(), 2);
    let (_, parts) = placed(&sim.s, p.instance);
    assert_eq!(total(&parts), Resources::cpu_mem(20_000, 16_384).unwrap());
    let mut expected = vec![
        (other, Resources::cpu_mem(16_000, 16_384).unwrap()),
        (s_node, Resources::cpu_mem(4_000, 0).unwrap()),
    ];
    expected.sort_unstable();
    let mut parts = parts;
    parts.sort_unstable();
    assert_eq!(parts, expected);
    assert_no_overcommit(&sim.s);
}

// ----- snapshot and restore -------------------------------------------------------

/// A busy scheduler: two zones, several SKUs (one with two NUMA nodes),
/// rigid and best-effort apps, preemptions, a removed host, a cordoned host,
/// a draining zone and pending instances.
fn busy() -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku(G7, 16_000, 65_536));
    sim.sku(with_numa(sku("r7.numa", 32_000, 131_072), 2));
    sim.hosts(G7, "a", 3);
    sim.hosts("r7.numa", "b", 2);
    sim.hosts(G7, "b", 1);
    sim.app(best_effort(app("analytics", 3_000, 6_144)));
    sim.app(app("web", 2_000, 4_096));
    let mut erp = app("erp", 12_000, 32_768);
    erp.numa = NumaPolicy::SingleNode;
    sim.app(erp);
    let mut pinned = app("pinned", 4_000, 4_096);
    pinned.spread.zones = vec![id("a")];
    pinned.priority = 5;
    sim.app(pinned);
    let _ = sim.scale("analytics", 40);
    let _ = sim.scale("web", 10);
    let _ = sim.scale("erp", 3);
    let _ = sim.scale("pinned", 6);
    let t = sim.tick(1);
    let _ = sim.s.remove_host(HostId(2), t).unwrap();
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_host_state(HostId(3), HostState::Cordoned, t)
        .unwrap();
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_zone_state(&id("b"), ZoneState::Draining, t)
        .unwrap();
    let _ = sim.scale("web", 14);
    let _ = sim.scale("erp", 2);
    sim.s.check_invariants().unwrap();
    assert!(!sim.s.pending().is_empty());
    sim
}

fn follow_up() -> Vec<Call> {
    vec![
        Box::new(|s, t| s.add_host(host_spec(2, G7, "a"), t)),
        Box::new(|s, t| s.set_zone_state(&id("b"), ZoneState::Up, t)),
        Box::new(|s, t| s.scale(&id("erp"), 5, t)),
        Box::new(|s, t| s.set_host_state(HostId(3), HostState::Ready, t)),
        Box::new(|s, t| s.remove_host(HostId(4), t)),
        Box::new(|s, t| s.place_batch(&id("pinned"), 3, BatchMode::AllOrNothing, t)),
        Box::new(|s, t| s.scale(&id("web"), 3, t)),
        Box::new(|s, t| s.reconcile(t)),
        Box::new(|s, t| s.add_host(host_spec(40, "r7.numa", "a"), t)),
        Box::new(|s, t| s.scale(&id("analytics"), 10, t)),
        Box::new(|s, t| s.reconcile(t)),
    ]
}

#[test]
fn snapshot_round_trips_exactly() {
    let sim = busy();
    let snap = sim.s.snapshot();
    assert_eq!(snap.format, SNAPSHOT_FORMAT);
    let restored = Scheduler::restore(snap.clone()).unwrap();
    assert_eq!(restored.snapshot(), snap);
    restored.check_invariants().unwrap();
    // Through JSON too, byte for byte.
    let text = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    let restored = Scheduler::restore(back).unwrap();
    assert_eq!(json(&restored), text);
    // The views agree.
    for h in sim.s.host_ids() {
        assert_eq!(restored.host(h), sim.s.host(h));
    }
    assert_eq!(restored.pending(), sim.s.pending());
    for a in sim.s.apps() {
        assert_eq!(
            restored.app_zone_counts(&a.id),
            sim.s.app_zone_counts(&a.id)
        );
        for i in sim.s.app_instances(&a.id) {
            assert_eq!(restored.instance(i), sim.s.instance(i));
        }
    }
    assert_eq!(restored.now(), sim.s.now());
    assert_eq!(restored.config(), sim.s.config());
}

/// A restored scheduler makes the same decisions as the original for the
/// same following calls (including slot reuse after a host removal).
#[test]
fn a_restored_scheduler_decides_exactly_like_the_original() {
    let mut sim = busy();
    let text = serde_json::to_string(&sim.s.snapshot()).unwrap();
    let mut restored = Scheduler::restore(serde_json::from_str(&text).unwrap()).unwrap();
    for (step, call) in follow_up().iter().enumerate() {
        let t = sim.tick(1_000);
        let a = call(&mut sim.s, t);
        let b = call(&mut restored, t);
        assert_eq!(a, b, "step {step}");
        assert_eq!(json(&restored), json(&sim.s), "step {step}");
        assert_no_overcommit(&restored);
    }
}

/// The same calls give the same state, byte for byte.
#[test]
fn the_same_calls_give_the_same_state() {
    let run = || {
        let mut sim = busy();
        let mut decisions = vec![];
        for call in follow_up() {
            let t = sim.tick(1_000);
            decisions.push(call(&mut sim.s, t));
        }
        (decisions, sim.state())
    };
    assert_eq!(run(), run());
}

/// Pieces for hand-built snapshots: zone a, a two-node SKU (2 × 16 vCPU,
/// 2 × 64 GiB), hosts 1 and 2, apps `any` and `single` (4 vCPU, 8 GiB;
/// the second single-node), no instances.
fn base_snapshot() -> Snapshot {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(with_numa(sku("m7.numa", 32_000, 131_072), 2));
    sim.hosts("m7.numa", "a", 2);
    sim.app(app("any", 4_000, 8_192));
    let mut single = app("single", 4_000, 8_192);
    single.numa = NumaPolicy::SingleNode;
    sim.app(single);
    sim.s.snapshot()
}

fn rec(i: u64, app: &str, host: u64, parts: &[(u8, u64, u64)]) -> InstanceView {
    InstanceView {
        id: InstanceId(i),
        app: id(app),
        status: InstanceStatus::Placed {
            host: HostId(host),
            parts: parts
                .iter()
                .map(|&(n, c, m)| (n, Resources::cpu_mem(c, m).unwrap()))
                .collect(),
        },
    }
}

fn with_instances(records: Vec<InstanceView>) -> Snapshot {
    let mut snap = base_snapshot();
    snap.next_instance = records.iter().map(|r| r.id.0).max().unwrap_or(0) + 1;
    snap.instances = records;
    snap
}

fn restore_err(snap: Snapshot) -> RestoreError {
    Scheduler::restore(snap).expect_err("the snapshot should be refused")
}

fn bad(i: u64, host: u64, what: &'static str) -> RestoreError {
    RestoreError::BadPlacement {
        instance: InstanceId(i),
        host: HostId(host),
        what,
    }
}

#[test]
fn a_hand_built_consistent_snapshot_restores() {
    let snap = with_instances(vec![
        rec(1, "single", 1, &[(1, 4_000, 8_192)]),
        rec(2, "any", 1, &[(0, 2_000, 8_192), (1, 2_000, 0)]),
        InstanceView {
            id: InstanceId(3),
            app: id("any"),
            status: InstanceStatus::Pending {
                since: Timestamp(0),
                reason: PendingReason::NoFit(Explanation::default()),
            },
        },
    ]);
    let s = Scheduler::restore(snap.clone()).unwrap();
    s.check_invariants().unwrap();
    assert_eq!(s.snapshot(), snap);
    assert_eq!(s.pending(), [InstanceId(3)]);
    let v = s.host(HostId(1)).unwrap();
    assert_eq!(v.nodes[0].rigid, Resources::cpu_mem(2_000, 8_192).unwrap());
    assert_eq!(v.nodes[1].rigid, Resources::cpu_mem(6_000, 8_192).unwrap());
}

#[test]
fn restore_refuses_an_unknown_format() {
    let mut snap = base_snapshot();
    snap.format = SNAPSHOT_FORMAT + 1;
    let e = restore_err(snap);
    assert_eq!(
        e,
        RestoreError::Format {
            found: 5,
            expected: 4
        }
    );
    assert_eq!(
        e.to_string(),
        "snapshot format 5 is not supported (expected 4)"
    );
}

#[test]
fn restore_refuses_duplicate_and_unknown_catalog_entries() {
    let mut snap = base_snapshot();
    let dup = snap.hosts[0].clone();
    snap.hosts.push(dup);
    let e = restore_err(snap);
    assert_eq!(e, RestoreError::Invalid(Error::DuplicateHost(HostId(1))));
    assert_eq!(
        e.to_string(),
        "snapshot is inconsistent: host host-1 exists already"
    );

    let mut snap = base_snapshot();
    snap.hosts[1].sku = id("ghost.sku");
    assert_eq!(
        restore_err(snap),
        RestoreError::Invalid(Error::UnknownSku(id("ghost.sku")))
    );
    let mut snap = base_snapshot();
    snap.hosts[1].zone = id("zz");
    assert_eq!(
        restore_err(snap),
        RestoreError::Invalid(Error::UnknownZone(id("zz")))
    );
    let mut snap = base_snapshot();
    let dup = snap.apps[0].clone();
    snap.apps.push(dup);
    assert_eq!(
        restore_err(snap),
        RestoreError::Invalid(Error::DuplicateApp(id("any")))
    );
    let mut snap = base_snapshot();
    let dup = snap.skus[0].clone();
    snap.skus.push(dup);
    assert_eq!(
        restore_err(snap),
        RestoreError::Invalid(Error::DuplicateSku(id("m7.numa")))
    );
}

#[test]
fn restore_refuses_two_hosts_in_one_slot() {
    let mut snap = base_snapshot();
    assert_eq!((snap.hosts[0].slot, snap.hosts[1].slot), (0, 1));
    snap.hosts[1].slot = 0;
    let e = restore_err(snap);
    assert_eq!(
        e,
        RestoreError::SlotTaken {
            host: HostId(2),
            slot: 0
        }
    );
    assert_eq!(
        e.to_string(),
        "host host-2 claims slot 0, which another host of its class holds"
    );
}

#[test]
fn restore_refuses_instance_ids_not_below_next_instance() {
    let mut snap = with_instances(vec![
        rec(1, "any", 1, &[(0, 4_000, 8_192)]),
        rec(2, "any", 1, &[(0, 4_000, 8_192)]),
    ]);
    snap.next_instance = 2;
    let e = restore_err(snap);
    assert_eq!(
        e,
        RestoreError::InstanceId {
            instance: InstanceId(2),
            next: 2
        }
    );
    assert_eq!(e.to_string(), "instance i-2 is not below next_instance 2");
    let mut snap = with_instances(vec![rec(1, "any", 1, &[(0, 4_000, 8_192)])]);
    snap.instances[0].id = InstanceId(0);
    assert_eq!(
        restore_err(snap),
        RestoreError::InstanceId {
            instance: InstanceId(0),
            next: 2
        }
    );
}

#[test]
fn restore_refuses_duplicate_instances() {
    let mut snap = with_instances(vec![
        rec(1, "any", 1, &[(0, 4_000, 8_192)]),
        rec(2, "any", 2, &[(0, 4_000, 8_192)]),
    ]);
    snap.instances[1].id = InstanceId(1);
    let e = restore_err(snap);
    assert_eq!(e, RestoreError::DuplicateInstance(InstanceId(1)));
    assert_eq!(e.to_string(), "instance i-1 appears twice");
}

#[test]
fn restore_refuses_placements_over_capacity() {
    // Four 4-vCPU instances fill node 0 (16 vCPU); the fifth does not fit.
    let snap = with_instances(
        (1..=5)
            .map(|i| rec(i, "single", 1, &[(0, 4_000, 8_192)]))
            .collect(),
    );
    let e = restore_err(snap);
    assert_eq!(e, bad(5, 1, "over the NUMA node's capacity"));
    assert_eq!(
        e.to_string(),
        "instance i-5 on host-1: over the NUMA node's capacity"
    );
}

#[test]
fn restore_refuses_parts_that_do_not_add_up() {
    let e = restore_err(with_instances(vec![rec(1, "any", 2, &[(0, 2_000, 8_192)])]));
    assert_eq!(e, bad(1, 2, "parts do not add up to the app's resources"));
    let e = restore_err(with_instances(vec![rec(
        1,
        "any",
        2,
        &[(0, 4_000, 8_192), (1, 1_000, 0)],
    )]));
    assert_eq!(e, bad(1, 2, "parts do not add up to the app's resources"));
}

#[test]
fn restore_refuses_a_single_node_instance_spread_over_nodes() {
    let e = restore_err(with_instances(vec![rec(
        1,
        "single",
        1,
        &[(0, 2_000, 4_096), (1, 2_000, 4_096)],
    )]));
    assert_eq!(e, bad(1, 1, "single-node app spread over several nodes"));
}

#[test]
fn restore_refuses_bad_numa_nodes() {
    let e = restore_err(with_instances(vec![rec(1, "any", 1, &[(2, 4_000, 8_192)])]));
    assert_eq!(e, bad(1, 1, "NUMA node out of range"));
    let e = restore_err(with_instances(vec![rec(
        1,
        "any",
        1,
        &[(0, 2_000, 4_096), (0, 2_000, 4_096)],
    )]));
    assert_eq!(e, bad(1, 1, "NUMA node listed twice"));
}

#[test]
fn restore_refuses_instances_of_unknown_apps_and_hosts() {
    let e = restore_err(with_instances(vec![rec(
        1,
        "ghost",
        1,
        &[(0, 4_000, 8_192)],
    )]));
    assert_eq!(e, RestoreError::Invalid(Error::UnknownApp(id("ghost"))));
    let e = restore_err(with_instances(vec![rec(1, "any", 9, &[(0, 4_000, 8_192)])]));
    assert_eq!(e, RestoreError::Invalid(Error::UnknownHost(HostId(9))));
}

// ----- the search budget against the documented candidate rule -----------

/// 64 two-node hosts (2 x 16 vCPU / 32 GiB) in one class, slots 0..63. All
/// but two are "misleading" for a single-node 8-vCPU / 16-GiB instance:
/// node 0 has the CPU but not the memory, node 1 the memory but not the CPU
/// (so the index bound, a per-dimension maximum over nodes, covers the
/// request but no node fits). The host in slot 0 is empty; the host in slot
/// 56 is empty but for a 1-vCPU / 1-GiB instance, so it scores better.
fn misleading_pool() -> Scheduler {
    misleading_pool_of(true)
}

/// The same trap on single-node hosts (16 vCPU / 64 GiB): even slots keep
/// CPU but not memory free, odd slots memory but not CPU, so the index
/// bound of each pair of slots covers the request while neither host fits.
fn misleading_pool_of(numa: bool) -> Scheduler {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    if numa {
        sim.sku(with_numa(sku("r7.numa", 32_000, 65_536), 2));
    } else {
        sim.sku(sku("r7.numa", 16_000, 65_536));
    }
    let single = |name: &str, cpu, mem| {
        let mut a = app(name, cpu, mem);
        a.numa = NumaPolicy::SingleNode;
        a
    };
    sim.app(single("memhog", 1_000, if numa { 32_000 } else { 60_000 }));
    sim.app(single("cpuhog", 15_000, 1_000));
    sim.app(single("tiny", 1_000, 1_024));
    sim.app(single("whole", 8_000, 16_384));
    sim.hosts("r7.numa", "a", 64);
    let mut snap = sim.s.snapshot();
    let mut records = vec![];
    let mut next = 1;
    let mut put = |app: &str, host: u64, node: u8, cpu: u64, mem: u64| {
        records.push(InstanceView {
            id: InstanceId(next),
            app: id(app),
            status: InstanceStatus::Placed {
                host: HostId(host),
                parts: vec![(node, Resources::cpu_mem(cpu, mem).unwrap())],
            },
        });
        next += 1;
    };
    for slot in 0..64u64 {
        let host = slot + 1;
        match slot {
            0 => {}
            56 => put("tiny", host, 0, 1_000, 1_024),
            _ if numa => {
                put("memhog", host, 0, 1_000, 32_000);
                put("cpuhog", host, 1, 15_000, 1_000);
            }
            _ if slot % 2 == 0 => put("memhog", host, 0, 1_000, 60_000),
            _ => put("cpuhog", host, 0, 15_000, 1_000),
        }
    }
    snap.instances = records;
    snap.next_instance = next;
    let s = Scheduler::restore(snap).unwrap();
    s.check_invariants().unwrap();
    for h in [1, 57] {
        assert_eq!(s.host(HostId(h)).unwrap().zone, id::<ZoneId>("a"));
    }
    s
}

/// Per the placement docs, the first `candidates_per_class` (2) hosts that
/// fit, in slot order, are candidates and the best score among them wins,
/// when the search has no budget. Only two hosts fit at all (slots 0 and
/// 56), so both are candidates and the fuller one (slot 56, host 57) wins,
/// also with the default budget (16 nodes per level of a 4-block tree).
/// With a budget of 1 node per level (2 nodes: the root and the first
/// block) the search stops after the first block, as documented, and takes
/// host 1.
#[test]
fn the_best_of_the_first_hosts_that_fit_wins_however_far_apart_they_are() {
    let with_budget = |mut s: Scheduler, budget: u32| {
        let mut snap = s.snapshot();
        snap.config.search_budget = budget;
        s = Scheduler::restore(snap).unwrap();
        s
    };
    let mut s = with_budget(misleading_pool(), 0);
    let d = s.place(&id("whole"), Timestamp(1_000)).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(126), HostId(57))]);

    let mut s = misleading_pool();
    assert_eq!(s.config().search_budget, 16);
    let d = s.place(&id("whole"), Timestamp(1_000)).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(126), HostId(57))]);

    let mut s = with_budget(misleading_pool(), 1);
    let d = s.place(&id("whole"), Timestamp(1_000)).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(126), HostId(1))]);
}

/// A restored scheduler makes the same decisions as the original, also
/// when the original's host index had grown larger (hosts added, then
/// removed) than the restored one needs.
#[test]
fn a_restored_scheduler_decides_like_the_original_after_hosts_were_removed() {
    let mut original = misleading_pool();
    // Grow the class index to 128 slots, then shrink the class back.
    for h in 101..=164 {
        let d = original
            .add_host(host_spec(h, "r7.numa", "a"), Timestamp(1_010))
            .unwrap();
        assert!(d.is_empty());
    }
    for h in 101..=164 {
        let d = original.remove_host(HostId(h), Timestamp(1_020)).unwrap();
        assert!(d.is_empty());
    }
    let mut restored = Scheduler::restore(original.snapshot()).unwrap();
    assert_eq!(json(&restored), json(&original));
    let a = original.place(&id("whole"), Timestamp(1_030)).unwrap();
    let b = restored.place(&id("whole"), Timestamp(1_030)).unwrap();
    assert_eq!(b, a);
}

/// The same rule on single-node hosts (where the index bound is exact per
/// host, but not per subtree), without a search budget.
#[test]
fn the_best_of_the_first_hosts_that_fit_wins_on_single_node_hosts_too() {
    let mut snap = misleading_pool_of(false).snapshot();
    snap.config.search_budget = 0;
    let mut s = Scheduler::restore(snap).unwrap();
    let d = s.place(&id("whole"), Timestamp(1_000)).unwrap();
    assert_eq!(d.placements.len(), 1);
    assert_eq!(d.placements[0].host, HostId(57));
}

// ----- limits and checks added with the canonical index shape -----------------

#[test]
fn restore_refuses_slots_beyond_the_largest_class() {
    let mut snap = base_snapshot();
    snap.hosts[1].slot = MAX_CLASS_SLOTS;
    assert_eq!(
        restore_err(snap),
        RestoreError::SlotOutOfRange {
            host: HostId(2),
            slot: MAX_CLASS_SLOTS
        }
    );
}

/// A host restored far to the right leaves the lower slots free for reuse,
/// lowest first; removing the rightmost host shrinks the class again.
#[test]
fn slots_are_reused_lowest_first_after_restore() {
    let mut snap = base_snapshot();
    snap.hosts[1].slot = 1_000;
    let mut s = Scheduler::restore(snap).unwrap();
    let _ = s
        .add_host(host_spec(3, "m7.numa", "a"), Timestamp(10))
        .unwrap();
    assert_eq!(s.snapshot().hosts[2].slot, 1);
    let _ = s.remove_host(HostId(2), Timestamp(10)).unwrap();
    let _ = s
        .add_host(host_spec(4, "m7.numa", "a"), Timestamp(10))
        .unwrap();
    assert_eq!(s.snapshot().hosts[2].slot, 2);
    s.check_invariants().unwrap();
}

#[test]
fn restore_refuses_pending_instances_from_the_future() {
    let mut snap = base_snapshot();
    snap.now = Timestamp(100);
    snap.next_instance = 2;
    snap.instances = vec![InstanceView {
        id: InstanceId(1),
        app: id("any"),
        status: InstanceStatus::Pending {
            since: Timestamp(101),
            reason: PendingReason::NoFit(Explanation::default()),
        },
    }];
    assert_eq!(
        restore_err(snap),
        RestoreError::PendingInFuture {
            instance: InstanceId(1),
            since: Timestamp(101),
            now: Timestamp(100)
        }
    );
}

#[test]
fn restore_refuses_an_invalid_config() {
    let mut snap = base_snapshot();
    snap.config.candidates_per_class = 0;
    assert!(matches!(restore_err(snap), RestoreError::Config(_)));
    let mut snap = base_snapshot();
    snap.config.preemption_candidates = 0;
    assert!(matches!(restore_err(snap), RestoreError::Config(_)));
}

/// Retries place rigid instances before best-effort ones whatever their
/// priority, so one call never starts a best-effort instance and then evicts
/// it for a rigid one.
#[test]
fn retries_never_place_then_evict_in_one_call() {
    let mut sim = preemption_world(1);
    let mut be = best_effort(app("be-hi", 6_000, 6_000));
    be.priority = 10;
    sim.app(be);
    sim.app(app("rt-lo", 6_000, 6_000));
    let t = sim.tick(1);
    let _ = sim.s.set_zone_state(&id("a"), ZoneState::Down, t).unwrap();
    let _ = sim.scale("be-hi", 1);
    let _ = sim.scale("rt-lo", 1);
    assert_eq!(sim.s.pending(), ids([2, 1]));
    let t = sim.tick(1);
    let d = sim.s.set_zone_state(&id("a"), ZoneState::Up, t).unwrap();
    assert_eq!(placed_where(&d), [(InstanceId(2), HostId(1))]);
    assert!(d.evictions.is_empty());
    assert_eq!(sim.s.pending(), ids([1]));
    sim.s.check_invariants().unwrap();
}

#[test]
fn explanations_say_host_for_one() {
    let mut e = Explanation {
        hosts: 3,
        ..Explanation::default()
    };
    assert_eq!(e.to_string(), "0/3 hosts fit");
    e.ruled_out.push(RuledOut {
        constraint: Constraint::Arch,
        hosts: 1,
        with_room: None,
    });
    e.ruled_out.push(RuledOut {
        constraint: Constraint::Capacity(Dimension::Cpu),
        hosts: 2,
        with_room: None,
    });
    assert_eq!(e.to_string(), "0/3 hosts fit: arch: 1 host, cpu: 2 hosts");
}

#[test]
fn restore_refuses_inconsistent_counters_and_moves() {
    let mut snap = base_snapshot();
    snap.next_planned = 0;
    assert!(matches!(restore_err(snap), RestoreError::Counter(_)));
    let mut snap = base_snapshot();
    snap.next_provision = 0;
    assert!(matches!(restore_err(snap), RestoreError::Counter(_)));
    // A move must pair two distinct instances of one app.
    let mut snap = with_instances(vec![
        rec(1, "any", 1, &[(0, 4_000, 8_192)]),
        rec(2, "single", 1, &[(0, 4_000, 8_192)]),
    ]);
    snap.moves = vec![MoveInFlight {
        to: InstanceId(2),
        from: InstanceId(1),
    }];
    assert!(matches!(
        restore_err(snap.clone()),
        RestoreError::Counter(_)
    ));
    snap.moves = vec![MoveInFlight {
        to: InstanceId(1),
        from: InstanceId(1),
    }];
    assert!(matches!(
        restore_err(snap.clone()),
        RestoreError::Counter(_)
    ));
    snap.moves = vec![MoveInFlight {
        to: InstanceId(9),
        from: InstanceId(1),
    }];
    assert!(matches!(restore_err(snap), RestoreError::Counter(_)));
}
