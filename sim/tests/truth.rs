//! The report tells the truth: every reason in it is one the core
//! returned, and each holds in the scheduler's state right after the call
//! that returned it (read through the public views).
//!
//! The demo and every example scenario run with an observer that sees the
//! scheduler after each call; the test checks each substitution note's
//! reasons, each eviction's cause and each pending instance's explanation
//! against that state, and then that the report holds exactly those
//! reasons.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::collections::BTreeMap;

use trimline::*;
use trimline_sim::report::{EventKind, Outcome, Report};
use trimline_sim::{Call, Scenario, demo_scenario, run_observed};

/// What the calls returned, as the test saw it.
#[derive(Default)]
struct Seen {
    /// Every carried-out note's text, by (time, app, zone), with its count.
    notes: BTreeMap<(u64, String), u32>,
    /// Every carried-out pending instance.
    pending: Vec<PendingInstance>,
    /// Every carried-out eviction.
    evictions: Vec<Eviction>,
    /// Reasons checked.
    checked: usize,
}

/// (Hosts in `pool`, ordered for warm pools when the call ended, after
/// every placement, are left out.)
fn host_facts(
    s: &Scheduler,
    app: &AppSpec,
    sku: &SkuId,
    zone: &ZoneId,
    pool: &[HostId],
) -> (u32, u32, u32, u32) {
    let fits = |free: &Resources| app.resources.fits_in(free);
    let (mut running, mut running_room, mut planned, mut planned_room) = (0, 0, 0, 0);
    for h in s.host_ids() {
        let v = s.host(h).unwrap();
        if &v.sku != sku || &v.zone != zone || pool.contains(&h) {
            continue;
        }
        let room = v.state != HostState::Cordoned
            && match app.numa {
                NumaPolicy::SingleNode => v.nodes.iter().any(|n| fits(&n.free)),
                _ => fits(&v.free),
            };
        if v.state == HostState::Planned {
            planned += 1;
            planned_room += u32::from(room);
        } else {
            running += 1;
            running_room += u32::from(room);
        }
    }
    (running, running_room, planned, planned_room)
}

/// Every reason of the note holds in `s` right after the call.
fn check_note(seen: &mut Seen, c: &Call<'_>, app: &AppId, zone: &ZoneId, note: &SubstitutionNote) {
    let s = c.scheduler;
    let spec = s.app(app).unwrap().clone();
    let verdicts = s.explain_substitution(app, zone).unwrap();
    let verdict = |sku: &SkuId| verdicts.iter().find(|v| &v.sku == sku).map(|v| &v.verdict);
    let where_ = format!("{} at {}: {app} on {} in {zone}", c.path, c.now, note.sku);
    if note.admitted.outside_band.is_none() {
        match verdict(&note.sku) {
            Some(Verdict::Accepted { tier, .. }) => assert_eq!(*tier, note.tier, "{where_}"),
            v => panic!("{where_}: chosen SKU's verdict {v:?}"),
        }
    }
    let offerings = s.offerings();
    let pool: Vec<HostId> = c
        .decisions
        .provisions
        .iter()
        .filter(|p| p.reason == ProvisionReason::WarmPool)
        .flat_map(|p| p.hosts.iter().copied())
        .collect();
    for p in &note.passed_over {
        let said = format!("{where_}: {p}");
        let offering = p
            .zone
            .as_ref()
            .and_then(|z| offerings.iter().find(|o| o.sku == p.sku && &o.zone == z));
        let hosts = p
            .zone
            .as_ref()
            .map(|z| host_facts(s, &spec, &p.sku, z, &pool));
        let ok = match &p.reason {
            PassReason::Rejected(r) => verdict(&p.sku) == Some(&Verdict::Rejected(r.clone())),
            PassReason::Preference => {
                matches!(verdict(&p.sku), Some(Verdict::Accepted { tier, .. }) if *tier >= note.tier)
            }
            PassReason::RunningHostsFull { hosts: n } => {
                let (running, room, _, _) = hosts.unwrap();
                running == *n && room == 0
            }
            PassReason::HostsFull { running, .. } => {
                // (Planned hosts the call made after this decision are
                // counted after it: only the room is compared.)
                let (r, r_room, _, p_room) = hosts.unwrap();
                r == *running && r_room == 0 && p_room == 0
            }
            PassReason::NotOffered => p.zone.is_some() && offering.is_none(),
            PassReason::Exhausted { .. } => {
                offering.is_some_and(|o| matches!(o.stock, Stock::Exhausted | Stock::Known(0)))
            }
            PassReason::BackedOff { until } => {
                offering.is_some_and(|o| o.backoff_until == Some(*until)) && *until > c.now
            }
            // Room in a zone the spread order reached after the chosen
            // one: never the chosen zone.
            PassReason::ZoneOrder => p.zone.as_ref() != Some(zone),
            // The zone counts while the call ran, which its later
            // placements change: not in the state after it.
            PassReason::Spread => continue,
            other => panic!("{said}: a reason this test does not know: {other:?}"),
        };
        assert!(ok, "{said}: does not hold");
        seen.checked += 1;
    }
}

fn observe(seen: &mut Seen, c: &Call<'_>) {
    let s = c.scheduler;
    let d = c.decisions;
    let notes = d
        .placements
        .iter()
        .chain(&d.tentative)
        .filter_map(|p| Some((&p.app, &p.zone, p.substitution.as_ref()?)))
        .chain(
            d.provisions
                .iter()
                .filter_map(|p| Some((p.app.as_ref()?, &p.zone, p.substitution.as_ref()?))),
        );
    for (app, zone, note) in notes {
        if note.planned_host.is_none() {
            check_note(seen, c, app, zone, note);
            if c.carried_out {
                *seen
                    .notes
                    .entry((c.now.as_millis(), note.to_string()))
                    .or_default() += 1;
            }
        }
    }
    if !c.carried_out {
        return;
    }
    for e in &d.evictions {
        let where_ = format!("{} at {}: {e}", c.path, c.now);
        match &e.cause {
            EvictionCause::Preempted { by } => {
                let victim = s.app(&e.app).unwrap();
                assert_eq!(victim.qos, QosTier::BestEffort, "{where_}");
                let rigid = s.instance(*by).unwrap();
                assert_eq!(s.app(&rigid.app).unwrap().qos, QosTier::Rigid, "{where_}");
                let host = match rigid.status {
                    InstanceStatus::Placed { host, .. } => host,
                    InstanceStatus::Tentative { planned_host, .. } => planned_host,
                    other => panic!("{where_}: the preempting instance is {other}"),
                };
                assert_eq!(host, e.host, "{where_}: the rigid one is elsewhere");
            }
            EvictionCause::ZoneDown => {
                let zone = s.host(e.host).unwrap().zone;
                assert_eq!(s.zone_state(&zone), Some(ZoneState::Down), "{where_}");
            }
            other => panic!("{where_}: a cause this test does not know: {other:?}"),
        }
        seen.checked += 1;
        seen.evictions.push(e.clone());
    }
    // Each pending explanation against a fresh one: retrying the pending
    // instances right after the call (a dry run) explains them again.
    let explained: Vec<&PendingInstance> = d
        .pending
        .iter()
        .filter(|p| matches!(p.reason, PendingReason::NoFit(_)))
        .collect();
    if !explained.is_empty() {
        let fresh = s.dry_run(|s| s.reconcile(c.now)).unwrap();
        for p in explained {
            let again = fresh.pending.iter().find(|q| q.instance == p.instance);
            let again = again.unwrap_or_else(|| panic!("{}: {p}: not pending on a retry", c.path));
            let (PendingReason::NoFit(was), PendingReason::NoFit(now)) = (&p.reason, &again.reason)
            else {
                panic!("{}: {p}: retried as {again}", c.path);
            };
            assert_eq!(was.hosts, now.hosts, "{}: {p}", c.path);
            assert_eq!(
                was.ruled_out, now.ruled_out,
                "{}: {p}: retried as {again}",
                c.path
            );
            seen.checked += 1;
        }
    }
    seen.pending.extend(d.pending.iter().cloned());
}

fn outcomes(report: &Report) -> Vec<(u64, &Outcome)> {
    let mut out = Vec::new();
    for story in &report.stories {
        for ev in &story.events {
            let o = match &ev.what {
                EventKind::Scale(s) => &s.outcome,
                EventKind::Stock(s) => &s.outcome,
                EventKind::WarmPool(w) => &w.outcome,
                EventKind::Wait(w) => &w.outcome,
                EventKind::ZoneDown(z) | EventKind::ZoneUp(z) => &z.outcome,
                _ => continue,
            };
            out.push((ev.at_ms, o));
        }
    }
    out
}

/// Run `sc`, checking every call, then the report against what was seen.
fn check(sc: &Scenario) -> Seen {
    let mut seen = Seen::default();
    let report = run_observed(sc, &mut |c| observe(&mut seen, c)).unwrap();

    // Each substitution in the report is a note a call returned, and
    // none is counted twice: the placements on planned hosts that came up
    // are not substitutions again.
    let mut notes = seen.notes.clone();
    for sub in &report.substitutions {
        assert_eq!(sub.note.planned_host, None, "{}", sub.reason);
        assert_eq!(sub.reason, sub.note.to_string());
        assert!(!sub.facts.is_empty(), "{}", sub.reason);
        let at = sub.facts.iter().map(|f| f.at_ms).collect::<Vec<_>>();
        let key = at
            .iter()
            .map(|t| (*t, sub.reason.clone()))
            .find(|k| notes.get(k).is_some_and(|n| *n > 0));
        let key = key.unwrap_or_else(|| panic!("not returned by a call: {}", sub.reason));
        *notes.get_mut(&key).unwrap() -= 1;
    }
    // Each waiting line and eviction example is the core's own.
    for (_, o) in outcomes(&report) {
        for p in &o.waiting {
            assert!(seen.pending.contains(p), "not returned by a call: {p}");
        }
        for g in &o.evictions {
            for e in &g.examples {
                assert!(seen.evictions.contains(e), "not returned by a call: {e}");
                assert_eq!(
                    std::mem::discriminant(&e.cause),
                    std::mem::discriminant(&g.cause),
                    "{e} listed under another cause"
                );
            }
        }
    }
    seen
}

#[test]
fn every_reason_in_the_demo_holds_in_the_state() {
    let seen = check(&demo_scenario());
    assert!(seen.notes.len() >= 10, "{}", seen.notes.len());
    assert!(seen.checked >= 100, "{}", seen.checked);
}

#[test]
fn every_reason_in_the_example_scenarios_holds_in_the_state() {
    for name in ["launch-day", "zone-failure", "scale-to-zero"] {
        let path = format!("{}/scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let sc = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        let seen = check(&sc);
        if name == "zone-failure" {
            assert!(
                !seen.pending.is_empty(),
                "{name}: no pending instance to check"
            );
        }
    }
}
