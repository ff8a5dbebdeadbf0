//! Tenant isolation: dedicated apps never share a host with another
//! tenant's instances, through placement, provisioning, preemption,
//! evacuation, repack, consolidation, restore and metering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use trimline::metering::*;
use trimline::repack::{ConsolidationOptions, RepackOptions};
use trimline::*;

use common::{Sim, app, best_effort, id, no_fit, pending_reason, placed, sku};

/// An app of `tenant`, dedicated or shared.
fn tapp(name: &str, tenant: &str, cpu: u64, dedicated: bool) -> AppSpec {
    let mut a = app(name, cpu, 1_024);
    a.tenant = id(tenant);
    if dedicated {
        a.isolation = Isolation::DedicatedHosts;
    }
    a
}

/// One zone, `n` hosts of 8 vCPU.
fn region(n: usize) -> (Sim, Vec<HostId>) {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7", 8_000, 32_768));
    let hosts = sim.hosts("g7", "a", n);
    (sim, hosts)
}

/// The isolation rule checked from the outside, from the public views:
/// per host, the tenants of its instances and whether any is dedicated.
fn assert_isolated(s: &Scheduler) {
    let mut on: BTreeMap<HostId, Vec<(TenantId, Isolation)>> = BTreeMap::new();
    for spec in s.apps() {
        for i in s.app_instances(&spec.id) {
            if let InstanceStatus::Placed { host, .. }
            | InstanceStatus::Tentative {
                planned_host: host, ..
            } = s.instance(i).unwrap().status
            {
                on.entry(host)
                    .or_default()
                    .push((spec.tenant.clone(), spec.isolation));
            }
        }
    }
    for (host, list) in on {
        if list.iter().any(|(_, i)| *i == Isolation::DedicatedHosts) {
            let tenants: BTreeSet<&TenantId> = list.iter().map(|(t, _)| t).collect();
            assert_eq!(tenants.len(), 1, "{host} mixes tenants: {list:?}");
            assert!(
                list.iter().all(|(_, i)| *i == Isolation::DedicatedHosts),
                "{host} mixes a dedicated app with a shared one: {list:?}"
            );
        }
    }
    s.check_invariants().unwrap();
}

#[test]
fn the_default_is_shared_and_old_specs_load() {
    let a: AppSpec = serde_json::from_str(
        r#"{"id":"web","tenant":"t","resources":{"cpu_millis":1000,"memory_mib":1024},"arches":["x86_64"]}"#,
    )
    .unwrap();
    assert_eq!(a.isolation, Isolation::SharedHosts);
    let json = serde_json::to_value(tapp("x", "t", 1_000, true)).unwrap();
    assert_eq!(json["isolation"], "dedicated_hosts");
}

#[test]
fn a_dedicated_app_takes_only_empty_hosts_or_its_own() {
    let (mut sim, _) = region(3);
    // Tenant a's shared app takes a bit of hosts 1 and 2.
    sim.app(tapp("web", "a", 1_000, false));
    let _ = sim.scale("web", 1);
    sim.app(tapp("web2", "a", 1_000, false));
    let d = sim.scale("web2", 1);
    let web_hosts: BTreeSet<HostId> = sim
        .s
        .app_instances(&id("web"))
        .into_iter()
        .chain(sim.s.app_instances(&id("web2")))
        .map(|i| placed(&sim.s, i).0)
        .collect();
    assert_eq!(d.placements.len(), 1);
    // Best fit packs both on one host.
    assert_eq!(web_hosts.len(), 1);
    // Tenant b's dedicated app: 2 vCPU each; the two empty hosts hold 8.
    sim.app(tapp("vault", "b", 2_000, true));
    let d = sim.scale("vault", 9);
    assert_eq!(d.placements.len(), 8);
    let vault_hosts: BTreeSet<HostId> = d.placements.iter().map(|p| p.host).collect();
    assert_eq!(vault_hosts.len(), 2);
    for p in &d.placements {
        assert!(!web_hosts.contains(&p.host), "{p:?} joined tenant a");
    }
    // The ninth waits: isolation rules out the host of tenant a.
    let waiting = d.pending[0].instance;
    let e = no_fit(&pending_reason(&sim.s, waiting)).clone();
    assert_eq!(e.count(Constraint::Isolation), 1, "{e}");
    assert_eq!(e.count(Constraint::Capacity(Dimension::Cpu)), 2, "{e}");
    assert!(e.to_string().contains("tenant isolation"), "{e}");
    assert_isolated(&sim.s);
    // Shared apps, of either tenant, keep off the dedicated hosts, even
    // with room there.
    let _ = sim.scale("vault", 6);
    sim.app(tapp("batch", "b", 500, false));
    let d = sim.scale("batch", 20);
    for p in &d.placements {
        assert!(web_hosts.contains(&p.host), "{p:?} on a dedicated host");
    }
    let waiting = d.pending[0].instance;
    let e = no_fit(&pending_reason(&sim.s, waiting)).clone();
    assert_eq!(e.count(Constraint::Isolation), 2, "{e}");
    assert_isolated(&sim.s);
    // Scaling the dedicated app down frees its hosts for everyone.
    let _ = sim.scale("vault", 0);
    let _ = sim.scale("batch", 0);
    let d = sim.scale("batch", 20);
    assert!(d.placements.iter().any(|p| vault_hosts.contains(&p.host)));
    assert_isolated(&sim.s);
}

#[test]
fn a_dedicated_app_fills_its_own_hosts_before_an_empty_one() {
    let (mut sim, _) = region(3);
    sim.app(tapp("vault", "b", 2_000, true));
    sim.app(tapp("vault2", "b", 2_000, true));
    let d = sim.scale("vault", 2);
    let first = d.placements[0].host;
    assert!(d.placements.iter().all(|p| p.host == first));
    let d = sim.scale("vault2", 2);
    assert!(d.placements.iter().all(|p| p.host == first), "{d:?}");
    // Another tenant's dedicated app does not join.
    sim.app(tapp("other", "c", 2_000, true));
    let d = sim.scale("other", 1);
    assert_ne!(d.placements[0].host, first);
    assert_isolated(&sim.s);
}

#[test]
fn best_effort_instances_count_and_preemption_stays_within_the_tenant() {
    let (mut sim, hosts) = region(1);
    // A best-effort instance of tenant a: the host is not empty.
    sim.app(best_effort(tapp("scavenger", "a", 1_000, false)));
    let _ = sim.scale("scavenger", 1);
    sim.app(tapp("vault", "b", 2_000, true));
    let d = sim.scale("vault", 1);
    assert_eq!(d.placements.len(), 0, "best effort is a tenant too");
    assert!(d.evictions.is_empty(), "no eviction to empty a host: {d:?}");
    let _ = sim.scale("scavenger", 0);
    let _ = sim.reconcile();
    assert_eq!(
        placed(&sim.s, sim.s.app_instances(&id("vault"))[0]).0,
        hosts[0]
    );
    // Tenant b's own best-effort dedicated app fills the rest...
    sim.app(best_effort(tapp("bg", "b", 2_000, true)));
    let _ = sim.scale("bg", 3);
    assert_isolated(&sim.s);
    // ... a rigid app of another tenant may not preempt it there ...
    sim.app(tapp("urgent", "a", 2_000, false));
    let d = sim.scale("urgent", 1);
    assert!(d.evictions.is_empty() && d.placements.is_empty(), "{d:?}");
    // ... but tenant b's rigid dedicated app may.
    let d = sim.scale("vault", 2);
    assert_eq!(d.evictions.len(), 1, "{d:?}");
    assert_eq!(d.placements[0].host, hosts[0]);
    assert_isolated(&sim.s);
}

#[test]
fn evacuation_keeps_isolation() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku("g7", 8_000, 32_768));
    sim.hosts("g7", "a", 1);
    let b = sim.hosts("g7", "b", 2);
    sim.app(tapp("web", "a", 1_000, false));
    let mut vault = tapp("vault", "b", 4_000, true);
    vault.spread.zones = vec![id("a"), id("b")];
    sim.app(vault);
    // web on b's first host, vault in zone a.
    let now = sim.tick(1);
    let _ = sim.s.zone_down(&id("a"), now).unwrap();
    let _ = sim.scale("web", 1);
    let now = sim.tick(1);
    let _ = sim.s.zone_up(&id("a"), now).unwrap();
    let _ = sim.scale("vault", 1);
    let web_host = placed(&sim.s, sim.s.app_instances(&id("web"))[0]).0;
    assert!(b.contains(&web_host));
    // Zone a fails: the vault instance goes to the empty host of zone b,
    // not next to web.
    let now = sim.tick(1);
    let d = sim.s.zone_down(&id("a"), now).unwrap();
    assert_isolated(&sim.s);
    let moved: Vec<&Placement> = d
        .placements
        .iter()
        .filter(|p| p.app == id("vault"))
        .collect();
    assert_eq!(moved.len(), 1, "{d:?}");
    assert_ne!(moved[0].host, web_host);
}

#[test]
fn repack_and_consolidation_leave_dedicated_hosts_alone() {
    let (mut sim, _) = region(4);
    sim.app(tapp("web", "a", 1_000, false));
    sim.app(tapp("vault", "b", 1_000, true));
    let _ = sim.scale("web", 16);
    let _ = sim.scale("vault", 8);
    // Free room everywhere: half of each app goes.
    let _ = sim.scale("web", 4);
    let _ = sim.scale("vault", 2);
    let plan = sim.s.plan_repack(&RepackOptions::default());
    let dedicated: BTreeSet<HostId> = sim
        .s
        .app_instances(&id("vault"))
        .into_iter()
        .map(|i| placed(&sim.s, i).0)
        .collect();
    for m in &plan.moves {
        assert!(
            !dedicated.contains(&m.to) && !dedicated.contains(&m.from),
            "{m:?}"
        );
    }
    let c = sim.s.plan_consolidation(&ConsolidationOptions::default());
    for m in &c.moves {
        assert!(
            !dedicated.contains(&m.to) && !dedicated.contains(&m.from),
            "{m:?}"
        );
    }
    let now = sim.tick(1);
    let _ = sim.s.start_consolidation(&c, now).unwrap();
    assert_isolated(&sim.s);
}

#[test]
fn restore_refuses_a_snapshot_that_mixes_tenants() {
    let (mut sim, _) = region(2);
    sim.app(tapp("web", "a", 1_000, false));
    sim.app(tapp("vault", "b", 1_000, true));
    let _ = sim.scale("web", 1);
    let _ = sim.scale("vault", 1);
    let web = sim.s.app_instances(&id("web"))[0];
    let vault_host = placed(&sim.s, sim.s.app_instances(&id("vault"))[0]).0;
    let snap = sim.s.snapshot();
    Scheduler::restore(snap.clone()).unwrap();
    // Hand-edit: web onto the vault's host.
    let mut json = serde_json::to_value(&snap).unwrap();
    let mut edited = false;
    for rec in json["instances"].as_array_mut().unwrap() {
        if rec["id"] == serde_json::to_value(web).unwrap() {
            rec["status"]["placed"]["host"] = serde_json::to_value(vault_host).unwrap();
            edited = true;
        }
    }
    assert!(edited, "{json}");
    let bad: Snapshot = serde_json::from_value(json).unwrap();
    let err = Scheduler::restore(bad).unwrap_err();
    assert!(err.to_string().contains("dedicated"), "{err}");
}

#[test]
fn metering_bills_each_tenant_its_own_usage_only() {
    let (mut sim, _) = region(2);
    sim.app(tapp("web", "a", 1_000, false));
    sim.app(tapp("vault", "b", 2_000, true));
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))
        .unwrap();
    let mut feed = |s: &mut Scheduler, app: &str, n: u32, at: u64| {
        let d = s.scale(&id(app), n, Timestamp(at)).unwrap();
        for e in decision_events(&d, s, Timestamp(at)).unwrap() {
            let _ = m.ingest(&e, Timestamp(at)).unwrap();
        }
    };
    feed(&mut sim.s, "web", 3, 10_000);
    feed(&mut sim.s, "vault", 2, 10_000);
    feed(&mut sim.s, "vault", 0, 70_000);
    feed(&mut sim.s, "web", 0, 130_000);
    assert_isolated(&sim.s);
    let report = m
        .close_period(Timestamp(3_600_000), Timestamp(3_600_000))
        .unwrap();
    let by_tenant: BTreeMap<String, (i128, BTreeSet<String>)> = report
        .invoices
        .iter()
        .map(|i| {
            let apps = i.lines.iter().map(|l| l.app.to_string()).collect();
            let sum: i128 = i.lines.iter().map(|l| l.amount_nanos).sum();
            assert_eq!(sum, i.total_nanos, "lines sum to the total");
            (i.tenant.to_string(), (i.total_nanos, apps))
        })
        .collect();
    // a: 3 × 120 s × (1 vCPU × 10,000 + 1 GiB × 1,000); b: 2 × 60 s × (2 vCPU
    // × 10,000 + 1 GiB × 1,000).
    assert_eq!(by_tenant["a"].0, 3 * 120 * 11_000);
    assert_eq!(by_tenant["b"].0, 2 * 60 * 21_000);
    assert_eq!(by_tenant["a"].1, BTreeSet::from(["web".to_string()]));
    assert_eq!(by_tenant["b"].1, BTreeSet::from(["vault".to_string()]));
}

#[derive(Clone, Debug)]
enum Step {
    Scale(usize, u32),
    AddHost(usize),
    RemoveHost(usize),
    Cordon(usize, bool),
    ZoneDown(usize),
    ZoneUp(usize),
    Rebalance,
    Restore,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0usize..6, 0u32..12).prop_map(|(a, n)| Step::Scale(a, n)),
        2 => (0usize..2).prop_map(Step::AddHost),
        1 => (0usize..64).prop_map(Step::RemoveHost),
        1 => (0usize..64, any::<bool>()).prop_map(|(h, c)| Step::Cordon(h, c)),
        1 => (0usize..2).prop_map(Step::ZoneDown),
        1 => (0usize..2).prop_map(Step::ZoneUp),
        1 => Just(Step::Rebalance),
        1 => Just(Step::Restore),
    ]
}

proptest! {
    #![proptest_config(common::cases(64))]
    /// Random sequences of calls over three tenants, some apps dedicated,
    /// some best effort: after every call no host mixes a dedicated app
    /// with another tenant or a shared app (checked from the public views
    /// and by `check_invariants`), and every pending dedicated instance
    /// that isolation blocks says so.
    #[test]
    fn no_host_ever_mixes_a_dedicated_app_with_another_tenant(
        apps in proptest::collection::vec((0u8..3, any::<bool>(), any::<bool>(), 1u64..5), 6),
        hosts in 2usize..30,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut sim = Sim::new();
        sim.zones(&["a", "b"]);
        sim.sku(sku("g7", 8_000, 32_768));
        sim.sku(sku("c7", 4_000, 8_192));
        sim.hosts("g7", "a", hosts / 2);
        sim.hosts("c7", "b", hosts - hosts / 2);
        for (k, (tenant, dedicated, be, cpu)) in apps.iter().enumerate() {
            let mut a = tapp(&format!("app{k}"), &format!("t{tenant}"), cpu * 1_000, *dedicated);
            if *be {
                a.qos = QosTier::BestEffort;
            }
            sim.app(a);
        }
        let mut next_host = 1_000u64;
        for st in steps {
            let now = sim.tick(1_000);
            let ids: Vec<HostId> = sim.s.host_ids().filter(|h| !h.is_planned()).collect();
            let pick = |i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
            let zone = |z: usize| -> ZoneId { id(["a", "b"][z]) };
            let r = match st {
                Step::Scale(a, n) => sim.s.scale(&id(&format!("app{a}")), n, now).map(|_| ()),
                Step::AddHost(z) => {
                    next_host += 1;
                    let spec = HostSpec {
                        id: HostId(next_host),
                        sku: id(["g7", "c7"][z]),
                        zone: zone(z),
                    };
                    sim.s.add_host(spec, now).map(|_| ())
                }
                Step::RemoveHost(h) => match pick(h) {
                    Some(h) => sim.s.remove_host(h, now).map(|_| ()),
                    None => Ok(()),
                },
                Step::Cordon(h, c) => match pick(h) {
                    Some(h) => {
                        let state = if c { HostState::Cordoned } else { HostState::Ready };
                        sim.s.set_host_state(h, state, now).map(|_| ())
                    }
                    None => Ok(()),
                },
                Step::ZoneDown(z) => sim.s.zone_down(&zone(z), now).map(|_| ()),
                Step::ZoneUp(z) => sim.s.zone_up(&zone(z), now).map(|_| ()),
                Step::Rebalance => sim.s.rebalance(now).map(|_| ()),
                Step::Restore => {
                    let snap = sim.s.snapshot();
                    sim.s = Scheduler::restore(snap.clone()).unwrap();
                    prop_assert_eq!(sim.s.snapshot(), snap);
                    Ok(())
                }
            };
            let _ = r;
            assert_isolated(&sim.s);
        }
    }
}

/// A planned host that takes a dedicated instance stays dedicated when it
/// turns into a running host under its new id (found by the operation
/// harness: the mark stayed with the planned id).
#[test]
fn a_planned_dedicated_host_stays_dedicated_when_ready() {
    let (mut sim, _) = region(0);
    let now = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("g7"), &id("a"), Stock::Known(2), now)
        .unwrap();
    sim.app(tapp("vault", "b", 2_000, true));
    sim.app(tapp("web", "a", 2_000, false));
    let d = sim.scale("vault", 1);
    assert_eq!(d.tentative.len(), 1, "{d:?}");
    let planned = d.tentative[0].host;
    let d = sim.scale("web", 1);
    assert_ne!(d.tentative[0].host, planned, "web joined the vault's host");
    let now = sim.tick(1);
    let _ = sim.s.host_ready(planned, HostId(77), now).unwrap();
    assert_isolated(&sim.s);
    // Still dedicated: web's next instance does not join it.
    let d = sim.scale("web", 2);
    assert!(d.placements.iter().all(|p| p.host != HostId(77)), "{d:?}");
    assert_isolated(&sim.s);
}
