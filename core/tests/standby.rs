//! Standby instances: consumed first on a scale-out and refilled after,
//! holding their capacity, kept by scale-in, in snapshots, in the
//! cold-start mix of a dry run, and never breaking a placement rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Sim, app, assert_no_overcommit, cases, id, refused, sku};
use proptest::prelude::*;
use trimline::*;

/// One zone of `n` 16-vCPU hosts and app `web` of 4 vCPU (four per host).
fn one_zone(n: usize) -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7.4x", 16_000, 65_536));
    sim.hosts("g7.4x", "a", n);
    sim.app(app("web", 4_000, 8_192));
    sim
}

fn set_standby(sim: &mut Sim, app: &str, n: u32) -> Decisions {
    let now = sim.tick(1000);
    let d = sim.s.set_standby(&id(app), n, now).unwrap();
    sim.s.check_invariants().unwrap();
    d
}

fn marks(list: &[Placement]) -> Vec<(InstanceId, Option<StandbyMark>)> {
    list.iter().map(|p| (p.instance, p.standby)).collect()
}

#[test]
fn standbys_start_first_then_the_target_is_refilled() {
    let mut sim = one_zone(2);
    let d = set_standby(&mut sim, "web", 2);
    let stopped = Some(StandbyMark::Stopped);
    assert_eq!(
        marks(&d.placements),
        vec![(InstanceId(1), stopped), (InstanceId(2), stopped)]
    );
    let hosts: Vec<HostId> = d.placements.iter().map(|p| p.host).collect();
    assert_eq!(
        sim.s.standby_instances(&id("web")),
        [InstanceId(1), InstanceId(2)]
    );
    assert_eq!(sim.s.standby_target(&id("web")), 2);

    // Scale out to 3: the two standbys start where they are, one instance
    // is created, then two new standbys refill the target.
    let d = sim.scale("web", 3);
    let started = Some(StandbyMark::Started);
    assert_eq!(
        marks(&d.placements),
        vec![
            (InstanceId(1), started),
            (InstanceId(2), started),
            (InstanceId(3), None),
            (InstanceId(4), stopped),
            (InstanceId(5), stopped),
        ]
    );
    assert_eq!(d.placements[0].host, hosts[0]);
    assert_eq!(d.placements[1].host, hosts[1]);
    assert!(d.placements.iter().all(|p| p.pull_bytes == 0));
    assert_eq!(
        sim.s.standby_instances(&id("web")),
        [InstanceId(4), InstanceId(5)]
    );
    assert_eq!(sim.s.app_instances(&id("web")).len(), 5);

    // Standbys are not counted: scaling to 3 again changes nothing.
    assert!(sim.scale("web", 3).is_empty());

    // Scale out by one: one standby starts (the oldest), one refills.
    let d = sim.scale("web", 4);
    assert_eq!(
        marks(&d.placements),
        vec![(InstanceId(4), started), (InstanceId(6), stopped)]
    );
    assert_no_overcommit(&sim.s);
}

#[test]
fn scale_in_keeps_standbys_and_only_the_target_removes_them() {
    let mut sim = one_zone(2);
    let _ = set_standby(&mut sim, "web", 2);
    let _ = sim.scale("web", 2);
    let held = sim.s.standby_instances(&id("web"));
    assert_eq!(held, [InstanceId(3), InstanceId(4)]);
    // Scale to zero: the two running instances go, the standbys stay.
    let d = sim.scale("web", 0);
    let mut removed: Vec<InstanceId> = d.removals.iter().map(|r| r.instance).collect();
    removed.sort_unstable();
    assert_eq!(removed, [InstanceId(1), InstanceId(2)]);
    assert_eq!(sim.s.standby_instances(&id("web")), held);
    // The app cannot be removed while it has standbys.
    let now = sim.tick(1);
    let err = refused(&mut sim.s, |s| s.remove_app(&id("web"), now));
    assert!(
        matches!(err, Error::AppHasInstances { instances: 2, .. }),
        "{err}"
    );
    // Removing a standby by id replaces it.
    let now = sim.tick(1);
    let d = sim.s.remove_instance(InstanceId(3), now).unwrap();
    assert_eq!(d.removals[0].instance, InstanceId(3));
    assert_eq!(
        marks(&d.placements),
        vec![(InstanceId(5), Some(StandbyMark::Stopped))]
    );
    assert_eq!(
        sim.s.standby_instances(&id("web")),
        [InstanceId(4), InstanceId(5)]
    );
    // Lowering the target removes the newest.
    let d = set_standby(&mut sim, "web", 1);
    assert_eq!(d.removals.len(), 1);
    assert_eq!(d.removals[0].instance, InstanceId(5));
    let _ = set_standby(&mut sim, "web", 0);
    assert!(sim.s.app_instances(&id("web")).is_empty());
    let now = sim.tick(1);
    sim.s.remove_app(&id("web"), now).unwrap();
    assert_no_overcommit(&sim.s);
}

#[test]
fn a_host_full_of_standbys_refuses_other_instances() {
    let mut sim = one_zone(1);
    sim.app(app("api", 1_000, 1_024));
    let d = set_standby(&mut sim, "web", 4);
    assert_eq!(d.placements.len(), 4);
    let v = sim.s.host(HostId(1)).unwrap();
    assert_eq!(v.nodes[0].rigid.cpu_millis(), 16_000u32);
    let d = sim.scale("api", 1);
    assert!(d.placements.is_empty());
    assert_eq!(d.pending.len(), 1);
    assert_eq!(
        d.pending[0].reason.to_string(),
        "0/1 hosts fit: cpu: 1 host"
    );
    // A fifth standby waits too, as any instance would.
    let d = set_standby(&mut sim, "web", 5);
    assert_eq!(d.pending.len(), 1);
    assert_eq!(sim.s.standby_instances(&id("web")).len(), 5);
    assert_no_overcommit(&sim.s);
}

#[test]
fn a_standby_target_above_max_batch_is_refused() {
    let mut sim = one_zone(1);
    let max = sim.s.config().max_batch;
    let now = sim.tick(1);
    let err = refused(&mut sim.s, |s| s.set_standby(&id("web"), max + 1, now));
    assert!(matches!(err, Error::BatchTooLarge { .. }), "{err}");
    let err = refused(&mut sim.s, |s| s.set_standby(&id("nope"), 1, now));
    assert!(matches!(err, Error::UnknownApp(_)), "{err}");
}

#[test]
fn the_dry_run_mix_counts_started_standbys_and_equals_the_real_call() {
    let mut sim = one_zone(2);
    let _ = set_standby(&mut sim, "web", 2);
    let now = sim.tick(1000);
    let (dry, dry_mix) = sim.s.dry_run(|s| {
        let d = s.scale(&id("web"), 3, now).unwrap();
        let mix = s.cold_start_mix(&d);
        (d, mix)
    });
    assert_eq!(dry_mix.standby.instances, 2);
    assert_eq!(dry_mix.standby.ready_ms, 0);
    assert_eq!(dry_mix.warm_with_image.instances, 1);
    // New standbys do not start: not counted.
    assert_eq!(dry_mix.instances(), 3);
    assert!(
        dry_mix.to_string().contains("; 2 from standby"),
        "{dry_mix}"
    );
    let real = sim.s.scale(&id("web"), 3, now).unwrap();
    assert_eq!(real, dry);
    assert_eq!(sim.s.cold_start_mix(&real), dry_mix);
}

#[test]
fn standbys_survive_a_snapshot_round_trip() {
    let mut sim = one_zone(2);
    let _ = set_standby(&mut sim, "web", 3);
    let _ = sim.scale("web", 1);
    let snap = sim.s.snapshot();
    assert_eq!(snap.format, 4);
    assert_eq!(
        snap.standby,
        vec![StandbyRecord {
            app: id("web"),
            target: 3,
            instances: vec![InstanceId(2), InstanceId(3), InstanceId(4)],
        }]
    );
    let json = serde_json::to_string(&snap).unwrap();
    let mut back = Scheduler::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(back.snapshot(), snap);
    let now = sim.tick(1000);
    assert_eq!(
        back.scale(&id("web"), 2, now).unwrap(),
        sim.s.scale(&id("web"), 2, now).unwrap()
    );

    // Format 3 restores without standbys, and cannot carry any.
    let mut old = snap.clone();
    old.format = 3;
    let err = Scheduler::restore(old.clone()).unwrap_err();
    assert!(err.to_string().contains("format 4"), "{err}");
    old.standby.clear();
    let s = Scheduler::restore(old).unwrap();
    assert!(s.standby_instances(&id("web")).is_empty());

    // Restore checks the records.
    let bad = |f: &dyn Fn(&mut Snapshot)| {
        let mut s = snap.clone();
        f(&mut s);
        Scheduler::restore(s).unwrap_err()
    };
    bad(&|s| s.standby[0].instances.push(InstanceId(99)));
    bad(&|s| s.standby[0].target = 2);
    bad(&|s| s.standby[0].instances.swap(0, 1));
    bad(&|s| s.standby[0].app = id("nope"));
}

// ----- property: standbys never break a rule ---------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// Scale app `0 % apps` to `1`.
    Scale(usize, u32),
    /// Set app `0 % apps`'s standby target to `1`.
    Standby(usize, u32),
    /// Remove the oldest instance of an app.
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..4, 0u32..8).prop_map(|(a, n)| Op::Scale(a, n)),
        3 => (0usize..4, 0u32..5).prop_map(|(a, n)| Op::Standby(a, n)),
        1 => (0usize..4).prop_map(Op::Remove),
    ]
}

const APPS: [(&str, u64, u64); 4] = [
    ("a0", 2_000, 4_096),
    ("a1", 4_000, 16_384),
    ("a2", 1_000, 8_192),
    ("a3", 6_000, 8_192),
];

/// Two zones; two SKU families in two tiers; apps with skew limit 1, one
/// best effort and one on dedicated hosts of its own tenant.
fn region(hosts_per_class: usize) -> Scheduler {
    let mut s = Scheduler::default();
    let t = Timestamp(0);
    for z in ["a", "b"] {
        s.add_zone(id(z), ZoneState::Up, t).unwrap();
    }
    s.add_sku(sku("g7.4x", 16_000, 65_536), t).unwrap();
    s.add_sku(sku("g8.4x", 16_000, 65_536), t).unwrap();
    let mut next = 1;
    for z in ["a", "b"] {
        for k in ["g7.4x", "g8.4x"] {
            for _ in 0..hosts_per_class {
                let _ = s.add_host(common::host_spec(next, k, z), t).unwrap();
                next += 1;
            }
        }
    }
    for (i, (name, cpu, mem)) in APPS.iter().enumerate() {
        let mut spec = app(name, *cpu, *mem);
        spec.spread.max_skew = Some(1);
        spec.sku = Some(id("g7.4x"));
        spec.substitution.tiers = vec![vec![id("g7")], vec![id("g8")]];
        if i == 2 {
            spec.qos = QosTier::BestEffort;
        }
        if i == 3 {
            spec.tenant = id("other");
            spec.isolation = Isolation::DedicatedHosts;
        }
        s.add_app(spec, t).unwrap();
    }
    s
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn standbys_never_break_a_rule(
        hosts in 1usize..4,
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut s = region(hosts);
        let mut t = 1;
        for op in ops {
            t += 1;
            let op = &op;
            let now = Timestamp(t);
            let app: AppId;
            let skew_before;
            // Removals cannot move the standbys they keep, which may then
            // be uneven: only calls that place are held to the skew limit.
            let removed;
            match op {
                Op::Scale(a, n) => {
                    let (a, n) = (*a, *n);
                    app = id(APPS[a % APPS.len()].0);
                    skew_before = s.skew(&app).unwrap();
                    let held = s.standby_instances(&app);
                    let d = s.scale(&app, n, now).unwrap();
                    removed = !d.removals.is_empty();
                    // Scale-in never removes a standby.
                    for r in &d.removals {
                        prop_assert!(!held.contains(&r.instance));
                    }
                    // Started standbys were standbys, placed where they were.
                    for p in &d.placements {
                        if p.standby == Some(StandbyMark::Started) {
                            prop_assert!(held.contains(&p.instance));
                            prop_assert_eq!(p.pull_bytes, 0);
                        }
                    }
                }
                Op::Standby(a, n) => {
                    let (a, n) = (*a, *n);
                    app = id(APPS[a % APPS.len()].0);
                    skew_before = s.skew(&app).unwrap();
                    let d = s.set_standby(&app, n, now).unwrap();
                    removed = !d.removals.is_empty();
                    prop_assert_eq!(s.standby_instances(&app).len(), n as usize);
                }
                Op::Remove(a) => {
                    app = id(APPS[*a % APPS.len()].0);
                    skew_before = s.skew(&app).unwrap();
                    if let Some(i) = s.app_instances(&app).into_iter().min() {
                        let _ = s.remove_instance(i, now).unwrap();
                    }
                    removed = true;
                }
            }
            prop_assert!(s.standby_instances(&app).len() <= s.standby_target(&app) as usize);
            if !removed {
                prop_assert!(s.skew(&app).unwrap() <= skew_before.max(1));
            }
            // Rigid capacity, NUMA, tiers and isolation: checked whole.
            assert_no_overcommit(&s);
        }
    }
}
