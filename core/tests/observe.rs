//! The audit log, the counters it rebuilds, the metrics exposition and
//! promise versus delivery, on a story that makes every kind of decision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{app, best_effort, id, sku, with_numa};
use trimline::observe::{AUDIT_FORMAT, AuditEvent, Counters};
use trimline::*;

fn t(ms: u64) -> Timestamp {
    Timestamp(ms)
}

fn kind(e: &AuditEvent) -> &'static str {
    match e {
        AuditEvent::Placement(_) => "placement",
        AuditEvent::Tentative(_) => "tentative",
        AuditEvent::Preemption(_) => "preemption",
        AuditEvent::Eviction(_) => "eviction",
        AuditEvent::Pending(_) => "pending",
        AuditEvent::Removal(_) => "removal",
        AuditEvent::Provision(_) => "provision",
        AuditEvent::Cancellation(_) => "cancellation",
        AuditEvent::Move(_) => "move",
        AuditEvent::Unplaced(_) => "unplaced",
        AuditEvent::Shortfall(_) => "shortfall",
        AuditEvent::SkewViolation(_) => "skew_violation",
        AuditEvent::BackOff(_) => "back_off",
        _ => "other",
    }
}

/// Zones a and b; g7 (16 vCPU) requested by `web`, g8i (faster) its tier-1
/// substitute; best-effort `batch` soaking up the slack. Returns the
/// scheduler and every record, in order, of a story that makes each kind
/// of decision, with the clock at its end.
fn story() -> (Scheduler, Vec<observe::AuditRecord>, Timestamp) {
    let mut s = Scheduler::default();
    let mut records = Vec::new();
    let drain = |s: &mut Scheduler| {
        let b = s.drain_audit();
        assert_eq!((b.format, b.dropped), (AUDIT_FORMAT, 0));
        b.records
    };
    for z in ["a", "b"] {
        s.add_zone(id(z), ZoneState::Up, t(0)).unwrap();
    }
    s.add_sku(sku("g7.4x", 16_000, 65_536), t(0)).unwrap();
    let mut g8i = sku("g8i.4x", 16_000, 65_536);
    g8i.perf_score = 125;
    s.add_sku(g8i, t(0)).unwrap();
    let mut next_host = 1;
    let mut host = |s: &mut Scheduler, zone: &str, now: Timestamp| {
        let h = HostId(next_host);
        next_host += 1;
        s.add_host(
            HostSpec {
                id: h,
                sku: id("g7.4x"),
                zone: id(zone),
            },
            now,
        )
        .unwrap()
    };
    for z in ["a", "a", "b", "b"] {
        let _ = host(&mut s, z, t(0));
    }
    let mut web = app("web", 8_000, 16_384);
    web.sku = Some(id("g7.4x"));
    web.substitution.tiers = vec![vec![id("g7")], vec![id("g8i")]];
    web.spread.max_skew = Some(1);
    web.spread.disruption_budget = 10;
    s.add_app(web, t(0)).unwrap();
    s.add_app(best_effort(app("batch", 8_000, 16_384)), t(0))
        .unwrap();
    for (sku, zone, stock) in [
        ("g7.4x", "a", Stock::Exhausted),
        ("g7.4x", "b", Stock::Exhausted),
        ("g8i.4x", "a", Stock::Unknown),
        ("g8i.4x", "b", Stock::Unknown),
    ] {
        let _ = s.set_stock(&id(sku), &id(zone), stock, t(1)).unwrap();
    }

    // Placements, then pending best effort.
    let _ = s.scale(&id("batch"), 9, t(1_000)).unwrap();
    // Rigid web preempts batch, then spills onto provisioned g8i.
    let d = s.scale(&id("web"), 12, t(2_000)).unwrap();
    assert!(!d.evictions.is_empty() && !d.provisions.is_empty(), "{d}");
    records.extend(drain(&mut s));
    // g8i fails in zone a: back-off, evictions, cancellation, re-plan.
    let _ = s
        .provision_failed(
            &id("g8i.4x"),
            &id("a"),
            ProvisionFailure::InsufficientStock,
            t(3_000),
        )
        .unwrap();
    // The planned hosts left come up.
    let mut real = 100;
    loop {
        let planned: Vec<HostId> = s.host_ids().filter(|h| h.is_planned()).collect();
        let Some(p) = planned.first() else { break };
        let _ = s.host_ready(*p, HostId(real), t(4_000)).unwrap();
        real += 1;
    }
    records.extend(drain(&mut s));
    // Zone b is lost: evacuation.
    let _ = s.zone_down(&id("b"), t(5_000)).unwrap();
    // It returns: rebalance moves.
    let _ = s.zone_up(&id("b"), t(6_000)).unwrap();
    let _ = s.rebalance(t(6_500)).unwrap();
    // g7 stock returns: moves back to the requested SKU.
    for zone in ["a", "b"] {
        let _ = s
            .set_stock(&id("g7.4x"), &id(zone), Stock::Known(2), t(7_000))
            .unwrap();
    }
    let d = s.plan_return(t(7_500)).unwrap();
    assert!(!d.moves.is_empty(), "{d}");
    // Scale down: removals and cancellations.
    let _ = s.scale(&id("web"), 2, t(8_000)).unwrap();
    let _ = s.scale(&id("batch"), 0, t(8_000)).unwrap();
    records.extend(drain(&mut s));
    s.check_invariants().unwrap();
    (s, records, t(8_000))
}

#[test]
fn every_kind_of_decision_is_logged_with_its_reason_in_sequence() {
    let (_, records, _) = story();
    let kinds: BTreeSet<&str> = records.iter().map(|r| kind(&r.event)).collect();
    for k in [
        "placement",
        "tentative",
        "preemption",
        "eviction",
        "pending",
        "removal",
        "provision",
        "cancellation",
        "move",
        "back_off",
    ] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
    // Sequence numbers count every record from 1, times never go back.
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1);
    }
    assert!(records.windows(2).all(|w| w[0].at <= w[1].at));
    for r in &records {
        match &r.event {
            AuditEvent::Preemption(p) => {
                assert!(!p.victims.is_empty());
                for v in &p.victims {
                    assert_eq!(v.cause, EvictionCause::Preempted { by: p.by });
                    assert_eq!(v.host, p.host);
                    assert_eq!(v.app, id::<AppId>("batch"));
                }
            }
            AuditEvent::Pending(p) => {
                // The reason is the core's own, with its counts.
                if let PendingReason::NoFit(e) = &p.reason {
                    assert!(e.hosts > 0 && !e.ruled_out.is_empty(), "{}", p.reason);
                }
            }
            AuditEvent::BackOff(b) => {
                assert_eq!((b.zone.as_str(), b.sku.as_str()), ("a", "g8i.4x"));
                assert_eq!(b.failures, 1);
                assert!(b.until > r.at);
            }
            AuditEvent::Eviction(e) => assert!(!matches!(e.cause, EvictionCause::Preempted { .. })),
            _ => {}
        }
    }
    // Substitutions carry their rule trail.
    let subs: Vec<&SubstitutionNote> = records
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::Tentative(p) => p.substitution.as_deref(),
            _ => None,
        })
        .collect();
    assert!(!subs.is_empty());
    assert!(subs.iter().all(|n| n.sku.as_str() == "g8i.4x"
        && n.requested.as_ref().map(SkuId::as_str) == Some("g7.4x")
        && !n.passed_over.is_empty()));
    // Evacuations are there, as evictions of zone b's instances.
    assert!(records.iter().any(|r| matches!(&r.event,
        AuditEvent::Eviction(e) if e.cause == EvictionCause::ZoneDown)));
    // The log round-trips through its serde shape.
    let json = serde_json::to_string(&records).unwrap();
    let back: Vec<observe::AuditRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, records);
    assert!(json.contains(r#""kind":"back_off""#), "{json}");
}

#[test]
fn replaying_the_log_rebuilds_the_counters() {
    let (s, records, _) = story();
    let mut replayed = Counters::default();
    for r in &records {
        replayed.apply(r);
    }
    assert_eq!(&replayed, s.counters());
    let c = s.counters();
    assert!(c.placements > 0 && c.preemptions > 0 && c.evacuations > 0);
    assert_eq!(c.stock_outs.len(), 1);
    assert_eq!(c.stock_outs[0].count, 1);
    assert_eq!(
        c.substitutions
            .iter()
            .map(|s| (s.from.as_str(), s.to.as_str()))
            .collect::<Vec<_>>(),
        [("g7.4x", "g8i.4x")]
    );
    // Counted by hand from the records: the same numbers.
    let placements = records
        .iter()
        .filter(|r| matches!(r.event, AuditEvent::Placement(_)))
        .count() as u64;
    assert_eq!(c.placements, placements);
}

/// `name{labels} value` of the exposition, as (name with labels, value).
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

fn value(text: &str, key: &str) -> f64 {
    samples(text)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in\n{text}"))
        .1
}

#[test]
fn the_exposition_states_the_counters_and_the_state() {
    let (mut s, _, now) = story();
    s.record_placement_latency(3_000); // 3 µs
    s.record_placement_latency(2_000_000); // 2 ms
    let text = s.metrics_text();
    let c = s.counters().clone();
    for family in [
        "trimline_placements",
        "trimline_substitutions",
        "trimline_preemptions",
        "trimline_evacuations",
        "trimline_stock_outs",
        "trimline_utilisation_ratio",
        "trimline_stranded",
        "trimline_moves_in_flight",
        "trimline_placement_latency_seconds",
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "{family}");
        assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
    }
    assert_eq!(
        value(&text, "trimline_placements_total"),
        c.placements as f64
    );
    assert_eq!(
        value(&text, "trimline_preemptions_total"),
        c.preemptions as f64
    );
    assert_eq!(
        value(&text, "trimline_evacuations_total"),
        c.evacuations as f64
    );
    assert_eq!(
        value(
            &text,
            r#"trimline_substitutions_total{from="g7.4x",to="g8i.4x"}"#
        ),
        c.substitutions[0].count as f64
    );
    assert_eq!(
        value(&text, r#"trimline_stock_outs_total{zone="a",sku="g8i.4x"}"#),
        1.0
    );
    assert_eq!(
        value(&text, "trimline_moves_in_flight"),
        s.moves_in_flight().len() as f64
    );
    // Capacity and allocation per zone, SKU and dimension equal the hosts'.
    for zone in ["a", "b"] {
        for sku in ["g7.4x", "g8i.4x"] {
            let (mut cap, mut used) = (0u64, 0u64);
            for h in s.host_ids().collect::<Vec<_>>() {
                let v = s.host(h).unwrap();
                if v.zone.as_str() != zone || v.sku.as_str() != sku || h.is_planned() {
                    continue;
                }
                let (c, f) = (v.capacity.get(Dimension::Cpu), v.free.get(Dimension::Cpu));
                cap += u64::from(c);
                used += u64::from(c - f);
            }
            let labels = format!(r#"{{zone="{zone}",sku="{sku}",dimension="cpu"}}"#);
            if cap == 0 {
                assert!(!text.contains(&format!("trimline_capacity{labels}")));
                continue;
            }
            assert_eq!(
                value(&text, &format!("trimline_capacity{labels}")),
                cap as f64
            );
            assert_eq!(
                value(&text, &format!("trimline_allocated{labels}")),
                used as f64
            );
            assert_eq!(
                value(&text, &format!("trimline_utilisation_ratio{labels}")),
                used as f64 / cap as f64
            );
        }
    }
    // The latency histogram: cumulative buckets, count and sum.
    assert_eq!(
        value(
            &text,
            r#"trimline_placement_latency_seconds_bucket{le="0.000005"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"trimline_placement_latency_seconds_bucket{le="+Inf"}"#
        ),
        2.0
    );
    assert_eq!(
        value(&text, "trimline_placement_latency_seconds_count"),
        2.0
    );
    assert!((value(&text, "trimline_placement_latency_seconds_sum") - 0.002003).abs() < 1e-12);
    assert!(text.ends_with("# EOF\n"));
    let _ = now;
}

#[test]
fn pending_instances_are_gauged_by_reason() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, t(0)).unwrap();
    s.add_sku(sku("g7.4x", 16_000, 65_536), t(0)).unwrap();
    let _ = s
        .add_host(
            HostSpec {
                id: HostId(1),
                sku: id("g7.4x"),
                zone: id("a"),
            },
            t(0),
        )
        .unwrap();
    s.add_app(app("web", 8_000, 16_384), t(0)).unwrap();
    s.add_app(app("big", 4_000, 60_000), t(0)).unwrap();
    let d = s.scale(&id("web"), 3, t(1)).unwrap();
    assert_eq!(d.pending.len(), 1);
    let text = s.metrics_text();
    assert_eq!(
        value(
            &text,
            r#"trimline_pending_instances{reason="capacity_cpu"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"trimline_pending_decisions_total{reason="capacity_cpu"}"#
        ),
        1.0
    );
    // The free memory of the full host is stranded: no CPU is left for
    // the smallest request.
    assert_eq!(
        value(
            &text,
            r#"trimline_stranded{zone="a",sku="g7.4x",dimension="memory"}"#
        ),
        (65_536 - 2 * 16_384) as f64
    );
    assert_eq!(
        value(
            &text,
            r#"trimline_stranded{zone="a",sku="g7.4x",dimension="cpu"}"#
        ),
        0.0
    );
}

#[test]
fn the_log_is_bounded_and_counts_what_it_drops() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, t(0)).unwrap();
    s.add_sku(sku("g7.4x", 64_000, 262_144), t(0)).unwrap();
    for h in 1..=4 {
        let _ = s
            .add_host(
                HostSpec {
                    id: HostId(h),
                    sku: id("g7.4x"),
                    zone: id("a"),
                },
                t(0),
            )
            .unwrap();
    }
    s.add_app(app("web", 1_000, 1_024), t(0)).unwrap();
    s.set_audit_capacity(50);
    for i in 0..1_000u64 {
        let n = if i % 2 == 0 { 200 } else { 0 };
        let _ = s.scale(&id("web"), n, t(i + 1)).unwrap();
        assert!(s.audit_len() <= 50);
    }
    // 500 scale-ups of 200 placements, 500 scale-downs of 200 removals.
    let b = s.drain_audit();
    assert_eq!(b.records.len(), 50);
    assert_eq!(b.dropped, 200_000 - 50);
    assert_eq!(b.records.last().unwrap().seq, 200_000);
    assert_eq!(s.counters().placements, 100_000);
    assert_eq!(s.counters().removals, 100_000);
    // Off: nothing is kept, everything is still counted.
    s.set_audit_capacity(0);
    let _ = s.scale(&id("web"), 10, t(2_000)).unwrap();
    assert_eq!((s.audit_len(), s.counters().placements), (0, 100_010));
    let b = s.drain_audit();
    assert_eq!((b.records.len(), b.dropped), (0, 200_000 - 50));
    // On again: sequence numbers go on.
    s.set_audit_capacity(10);
    let _ = s.scale(&id("web"), 11, t(2_001)).unwrap();
    assert_eq!(s.drain_audit().records[0].seq, 200_001);
}

#[test]
fn a_dry_run_and_a_refused_call_log_nothing() {
    let (mut s, _, now) = story();
    let before = s.counters().clone();
    let d = s.dry_run(|s| s.scale(&id("web"), 6, now)).unwrap();
    assert!(!d.is_empty());
    assert_eq!((s.audit_len(), s.counters()), (0, &before));
    // An all-or-nothing batch that does not fit changes nothing, log
    // included.
    let e = s.place_batch(&id("web"), 10_000, BatchMode::AllOrNothing, now);
    assert!(e.is_err());
    assert_eq!((s.audit_len(), s.counters()), (0, &before));
}

#[test]
fn delivery_sets_what_each_app_got_against_its_promise() {
    let (s, _, now) = story();
    let web = s.delivery(&id("web"), now).unwrap();
    assert_eq!(web.requested, Resources::cpu_mem(8_000, 16_384).unwrap());
    assert_eq!(web.requested_sku, Some(id("g7.4x")));
    let placed: u32 = web.skus.iter().map(|k| k.instances).sum();
    assert_eq!(placed, web.placed);
    assert_eq!(
        web.placed + web.pending,
        s.app_instances(&id("web")).len() as u32
    );
    for k in &web.skus {
        let (perf, sub) = match k.sku.as_str() {
            "g7.4x" => (100, false),
            "g8i.4x" => (125, true),
            other => panic!("{other}"),
        };
        assert_eq!((k.perf_percent, k.substitute), (Some(perf), sub));
    }
    assert_eq!(
        web.substitutions,
        web.skus
            .iter()
            .filter(|k| k.substitute)
            .map(|k| k.instances)
            .sum::<u32>()
    );
    assert_eq!(web.numa_local, web.placed);
    assert_eq!(web.skew, s.skew(&id("web")).unwrap());
    assert_eq!(web.max_skew, Some(1));
    assert!(web.pending_p50_ms.is_some() && web.pending_p99_ms >= web.pending_p50_ms);
    assert_eq!(s.deliveries(now).len(), 2);
    assert_eq!(
        s.delivery(&id("nope"), now).unwrap_err(),
        Error::UnknownApp(id("nope"))
    );
}

#[test]
fn waits_are_measured_from_pending_to_placed() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, t(0)).unwrap();
    s.add_sku(sku("g7.4x", 16_000, 65_536), t(0)).unwrap();
    s.add_app(app("web", 8_000, 16_384), t(0)).unwrap();
    let host = |h: u64| HostSpec {
        id: HostId(h),
        sku: id("g7.4x"),
        zone: id("a"),
    };
    let _ = s.add_host(host(1), t(0)).unwrap();
    // Two placed at once, two wait 60 s for a second host.
    let _ = s.scale(&id("web"), 4, t(1_000)).unwrap();
    let d = s.delivery(&id("web"), t(1_000)).unwrap();
    assert_eq!((d.placed, d.pending), (2, 2));
    assert_eq!(d.pending_p50_ms, Some(0));
    let _ = s.add_host(host(2), t(61_000)).unwrap();
    let d = s.delivery(&id("web"), t(90_000)).unwrap();
    assert_eq!((d.placed, d.pending), (4, 0));
    // Nearest rank: p50 is the 2nd of 4 (0), p99 the 4th (60 s, within
    // 12.5% above).
    assert_eq!(d.pending_p50_ms, Some(0));
    let p99 = d.pending_p99_ms.unwrap();
    assert!((60_000..=67_500).contains(&p99), "{p99}");
}

#[test]
fn a_tentative_placement_waits_until_its_host_is_ready() {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, t(0)).unwrap();
    s.add_sku(sku("g7.4x", 16_000, 65_536), t(0)).unwrap();
    s.add_app(app("web", 8_000, 16_384), t(0)).unwrap();
    let _ = s
        .set_stock(&id("g7.4x"), &id("a"), Stock::Unknown, t(0))
        .unwrap();
    let d = s.scale(&id("web"), 2, t(1_000)).unwrap();
    assert_eq!(d.tentative.len(), 2);
    // Still waiting at 31 s: 30 s so far, though placed tentatively.
    let w = s.delivery(&id("web"), t(31_000)).unwrap();
    assert_eq!((w.placed, w.tentative, w.pending), (2, 2, 0));
    assert!((30_000..=33_750).contains(&w.pending_p50_ms.unwrap()));
    let planned = d.provisions[0].hosts[0];
    let _ = s.host_ready(planned, HostId(7), t(121_000)).unwrap();
    let w = s.delivery(&id("web"), t(500_000)).unwrap();
    assert_eq!((w.placed, w.tentative), (2, 0));
    let p50 = w.pending_p50_ms.unwrap();
    assert!((120_000..=135_000).contains(&p50), "{p50}");
}

/// One zone, two hosts with two NUMA nodes of 8 vCPU each, and `web`.
fn numa_region() -> Scheduler {
    let mut s = Scheduler::default();
    s.add_zone(id("a"), ZoneState::Up, t(0)).unwrap();
    s.add_sku(with_numa(sku("g7.4x", 16_000, 65_536), 2), t(0))
        .unwrap();
    for h in 1..=2 {
        let _ = s
            .add_host(
                HostSpec {
                    id: HostId(h),
                    sku: id("g7.4x"),
                    zone: id("a"),
                },
                t(0),
            )
            .unwrap();
    }
    s.add_app(app("web", 4_000, 4_096), t(0)).unwrap();
    s.add_app(app("wide", 12_000, 4_096), t(0)).unwrap();
    s
}

#[test]
fn drained_placements_are_the_calls_placements() {
    let mut s = numa_region();
    // One-node placements, then one spanning both nodes of a host.
    let mut placed = s.scale(&id("web"), 3, t(1)).unwrap().placements;
    let wide = s.scale(&id("wide"), 1, t(2)).unwrap().placements;
    assert_eq!(wide[0].numa_nodes.as_slice(), [0, 1]);
    placed.extend(wide);
    let b = s.drain_audit();
    let logged: Vec<&Placement> = b
        .records
        .iter()
        .map(|r| match &r.event {
            AuditEvent::Placement(p) => p,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(logged, placed.iter().collect::<Vec<_>>());
    assert_eq!(
        b.records.iter().map(|r| (r.seq, r.at)).collect::<Vec<_>>(),
        [(1, t(1)), (2, t(1)), (3, t(1)), (4, t(2))]
    );
}

#[test]
fn copies_of_the_scheduler_do_not_carry_the_log() {
    let mut s = numa_region();
    let _ = s.scale(&id("web"), 2, t(1)).unwrap();
    assert_eq!(s.audit_len(), 2);
    // A clone starts with an empty log that goes on from the original's.
    let mut copy = s.clone();
    assert_eq!((copy.audit_len(), copy.audit_capacity()), (0, 65_536));
    let _ = copy.scale(&id("web"), 3, t(2)).unwrap();
    assert_eq!(copy.drain_audit().records[0].seq, 3);
    // A dry run works on such a copy: it sees no record of the real
    // log, and its own records are thrown away with it.
    let seen = s.dry_run(|c| {
        let before = c.audit_len();
        let _ = c.scale(&id("web"), 4, t(3)).unwrap();
        (before, c.audit_len())
    });
    assert_eq!(seen, (0, 2));
    let b = s.drain_audit();
    assert_eq!(
        b.records.iter().map(|r| (r.seq, r.at)).collect::<Vec<_>>(),
        [(1, t(1)), (2, t(1))]
    );
}

#[test]
fn an_all_or_nothing_batch_appends_its_records_to_the_real_log() {
    let mut s = numa_region();
    s.set_audit_capacity(4);
    let _ = s.scale(&id("web"), 2, t(1)).unwrap();
    // Two records held; the batch's three follow them, the oldest
    // dropped at the bound of four.
    let d = s
        .place_batch(&id("web"), 3, BatchMode::AllOrNothing, t(2))
        .unwrap();
    assert_eq!(d.placements.len(), 3);
    let b = s.drain_audit();
    assert_eq!(b.dropped, 1);
    assert_eq!(
        b.records.iter().map(|r| (r.seq, r.at)).collect::<Vec<_>>(),
        [(2, t(1)), (3, t(2)), (4, t(2)), (5, t(2))]
    );
    // A batch that overflows the bound on its own: only its last four
    // are kept, and the record before it is dropped too. Five removals
    // (6 to 10, one dropped), one placement (11), six in the batch.
    let _ = s.scale(&id("web"), 0, t(3)).unwrap();
    assert_eq!(s.drain_audit().dropped, 2);
    let _ = s.scale(&id("web"), 1, t(4)).unwrap();
    let d = s
        .place_batch(&id("web"), 6, BatchMode::AllOrNothing, t(5))
        .unwrap();
    assert_eq!(d.placements.len(), 6);
    let b = s.drain_audit();
    let seqs: Vec<u64> = b.records.iter().map(|r| r.seq).collect();
    assert_eq!(b.dropped, 2 + 1 + 2);
    assert_eq!(seqs, [14, 15, 16, 17]);
    let mut replayed = Counters::default();
    for r in &b.records {
        replayed.apply(r);
    }
    assert_eq!(replayed.placements, 4);
}
