//! Tenant isolation in a scenario: an app that says
//! `"isolation": "dedicated_hosts"` never shares a host with another
//! tenant's instance, after any call of a run that scales it and its
//! neighbours (a best-effort one included), loses and regains a zone,
//! waits for new hosts and consolidates.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};

use trimline::*;
use trimline_sim::{Scenario, run_observed};

const SCENARIO: &str = r#"{
  "name": "a dedicated tenant",
  "zones": ["zone-a", "zone-b"],
  "catalog": [{"id": "g7", "family": "g7", "generation": 7, "arch": "x86_64",
               "cpu_vendor": "intel", "vcpus": 16, "memory_gib": 64,
               "perf_score": 100, "price_nanos_per_second": 1000}],
  "hosts": [{"sku": "g7", "count": 4}],
  "stock": [{"sku": "g7", "stock": "unknown"}],
  "apps": [
    {"id": "vault", "tenant": "bank", "cpu_millis": 4000, "memory_mib": 8192,
     "isolation": "dedicated_hosts"},
    {"id": "shop", "tenant": "shop", "cpu_millis": 4000, "memory_mib": 8192},
    {"id": "batch", "tenant": "lab", "cpu_millis": 2000, "memory_mib": 2048,
     "qos": "best_effort"}
  ],
  "timeline": [
    {"scale": {"app": "shop", "to": 6}},
    {"scale": {"app": "vault", "to": 3}},
    {"scale": {"app": "batch", "to": 10}},
    {"scale": {"app": "vault", "to": 9}},
    {"wait": {"seconds": 600}},
    {"zone_down": {"zone": "zone-b"}},
    {"wait": {"seconds": 600}},
    {"zone_up": {"zone": "zone-b"}},
    {"wait": {"seconds": 600}},
    {"scale": {"app": "shop", "to": 2}},
    {"scale": {"app": "vault", "to": 4}},
    {"consolidate": {"max_hosts": null, "max_moves": null}},
    {"wait": {"seconds": 600}},
    {"bill": {}}
  ]
}"#;

/// Each host's tenants, from every instance placed or tentative on it.
fn tenants_per_host(s: &Scheduler) -> BTreeMap<HostId, BTreeSet<TenantId>> {
    let mut hosts: BTreeMap<HostId, BTreeSet<TenantId>> = BTreeMap::new();
    for app in s.apps() {
        for id in s.app_instances(&app.id) {
            let host = match s.instance(id).unwrap().status {
                InstanceStatus::Placed { host, .. } => host,
                InstanceStatus::Tentative { planned_host, .. } => planned_host,
                _ => continue,
            };
            hosts.entry(host).or_default().insert(app.tenant.clone());
        }
    }
    hosts
}

#[test]
fn a_dedicated_tenant_never_shares_a_host_in_a_run() {
    let sc = Scenario::from_json(SCENARIO).unwrap();
    sc.validate().unwrap();
    let bank: TenantId = "bank".parse().unwrap();
    let vault: AppId = "vault".parse().unwrap();
    let (mut calls, mut with_vault, mut most_vault_hosts) = (0, 0, 0);
    let mut paths = BTreeSet::new();
    run_observed(&sc, &mut |call| {
        let s = call.scheduler;
        calls += 1;
        assert_eq!(
            s.app(&vault).unwrap().isolation,
            Isolation::DedicatedHosts,
            "the scenario's policy reaches the scheduler"
        );
        let hosts = tenants_per_host(s);
        let vault_hosts = hosts.values().filter(|t| t.contains(&bank)).count();
        for (host, tenants) in &hosts {
            assert!(
                !tenants.contains(&bank) || tenants.len() == 1,
                "{}: {host} holds the dedicated tenant with {tenants:?}",
                call.path
            );
        }
        if vault_hosts > 0 {
            with_vault += 1;
            paths.insert(call.path.split('.').next_back().unwrap().to_owned());
        }
        most_vault_hosts = most_vault_hosts.max(vault_hosts);
        s.check_invariants().unwrap();
    })
    .unwrap();
    // The check saw the dedicated app on hosts of its own through scale
    // outs, the zone loss and return, new hosts and the consolidation.
    assert!(
        calls >= 10 && with_vault >= 8,
        "{calls} calls, {with_vault} with vault"
    );
    assert!(
        most_vault_hosts >= 3,
        "vault ran on at most {most_vault_hosts} hosts"
    );
    for step in ["scale", "zone_down", "zone_up", "wait", "consolidate"] {
        assert!(
            paths.contains(step),
            "no {step} call with vault placed: {paths:?}"
        );
    }
}
