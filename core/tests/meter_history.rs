//! The meter's history of closed periods and its usage export, against
//! hand-computed figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use trimline::metering::*;
use trimline::*;

use common::id;

const MIN: u64 = 60_000;

/// 10,000 per vCPU-s, 1,000 per GiB-s; rounding up to the second.
fn prices() -> PriceTable {
    PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0)
}

fn meter(history_periods: u32) -> Meter {
    let config = MeterConfig {
        history_periods,
        adjustment_window_ms: 10 * MIN,
        ..MeterConfig::default()
    };
    let mut m = Meter::new(config).unwrap();
    m.add_price_table(prices()).unwrap();
    m
}

fn shape(cpu: u64, mib: u64) -> Resources {
    Resources::cpu_mem(cpu, mib).unwrap()
}

fn event(app: &str, instance: u64, at: u64, kind: EventKind) -> Event {
    let (instance, at) = (InstanceId(instance), Timestamp(at));
    Event {
        id: EventId::derived(instance, &kind, at, 0).unwrap(),
        tenant: id("acme"),
        app: id(app),
        instance,
        source: None,
        at,
        kind,
    }
}

fn send(m: &mut Meter, e: &Event) -> Ingested {
    m.ingest(e, Timestamp(1_000 * MIN)).unwrap()
}

fn start(app: &str, instance: u64, at: u64) -> Event {
    let kind = EventKind::Started {
        resources: shape(2_000, 4_096),
        delivered: None,
        zone: None,
    };
    event(app, instance, at, kind)
}

fn close(m: &mut Meter, end: u64) -> PeriodReport {
    m.close_period(Timestamp(end), Timestamp(1_000 * MIN))
        .unwrap()
}

/// Three periods of a minute each, one instance running through them.
fn three_periods(m: &mut Meter) -> Vec<PeriodReport> {
    let _ = send(m, &start("web", 1, 0));
    (1..=3).map(|k| close(m, k * MIN)).collect()
}

#[test]
fn the_history_keeps_the_latest_reports_up_to_its_bound() {
    assert_eq!(MeterConfig::default().history_periods, 12);
    assert_eq!(DEFAULT_HISTORY_PERIODS, 12);

    let mut m = meter(2);
    let reports = three_periods(&mut m);
    // 2 vCPU × 60 s × 10,000 + 4 GiB × 60 s × 1,000 each period.
    for r in &reports {
        assert_eq!(r.invoices[0].total_nanos, 1_200_000 + 240_000);
    }
    // The oldest went first; the rest are the reports returned.
    let kept: Vec<&PeriodReport> = m.history().collect();
    assert_eq!(kept, [&reports[1], &reports[2]]);
    assert_eq!(m.closed_report(PeriodId(0)), None);
    assert_eq!(m.closed_report(PeriodId(1)), Some(&reports[1]));
    assert_eq!(m.closed_report(PeriodId(2)), Some(&reports[2]));
    assert_eq!(m.closed_report(PeriodId(3)), None, "the open period");
    let acme: TenantId = id("acme");
    assert_eq!(
        m.closed_invoice(PeriodId(2), &acme),
        Some(&reports[2].invoices[0])
    );
    assert_eq!(m.closed_invoice(PeriodId(2), &id("other")), None);
    assert_eq!(m.closed_invoices(PeriodId(0)), None);
    assert_eq!(
        m.closed_invoices(PeriodId(1)),
        Some(reports[1].invoices.as_slice())
    );

    // 0 keeps none; a large bound keeps them all.
    let mut none = meter(0);
    let _ = three_periods(&mut none);
    assert_eq!(none.history().len(), 0);
    assert!(none.snapshot().history.is_empty());
    let mut all = meter(12);
    let reports = three_periods(&mut all);
    assert_eq!(all.history().cloned().collect::<Vec<_>>(), reports);
}

#[test]
fn a_restored_meter_answers_the_same() {
    let mut m = meter(2);
    let _ = three_periods(&mut m);
    let snap = m.snapshot();
    assert_eq!(snap.format, METER_SNAPSHOT_FORMAT);
    assert_eq!(snap.history.len(), 2);
    let text = serde_json::to_string(&snap).unwrap();
    let mut r = Meter::restore(serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(serde_json::to_string(&r.snapshot()).unwrap(), text);
    assert!(r.history().eq(m.history()));
    for p in 0..4 {
        assert_eq!(r.closed_report(PeriodId(p)), m.closed_report(PeriodId(p)));
    }
    // And it goes on the same: the next close drops period 1 in both.
    assert_eq!(close(&mut r, 4 * MIN), close(&mut m, 4 * MIN));
    assert!(r.history().eq(m.history()));
    assert_eq!(r.history().next().unwrap().period.id, PeriodId(2));

    // The previous format has no history: it restores with none.
    let mut old = m.snapshot();
    old.format = 2;
    old.history.clear();
    let restored = Meter::restore(old.clone()).unwrap();
    assert_eq!(restored.history().len(), 0);
    assert_eq!(restored.snapshot().format, METER_SNAPSHOT_FORMAT);
    // Written by a build that did not know the field: it takes its default.
    let text = serde_json::to_string(&old).unwrap();
    let text = text.replace(",\"history_periods\":2}", "}");
    assert!(!text.contains("history_periods"));
    let from_json = Meter::restore(serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(from_json.config().history_periods, 12);
}

/// Restore `three_periods`' snapshot changed by `change`: refused.
fn corrupt(change: impl FnOnce(&mut MeterSnapshot)) -> MeterRestoreError {
    let mut m = meter(3);
    let _ = three_periods(&mut m);
    let mut snap = m.snapshot();
    change(&mut snap);
    Meter::restore(snap).expect_err("a corrupt history must be refused")
}

#[test]
fn restore_refuses_a_history_the_meter_could_not_have_kept() {
    let what = |e: MeterRestoreError| match e {
        MeterRestoreError::History { index, what } => (index, what),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        what(corrupt(|s| s.config.history_periods = 2)).1,
        "more reports than history_periods keeps"
    );
    assert_eq!(
        what(corrupt(|s| s.format = 2)),
        (0, "formats before 3 have no history")
    );
    assert_eq!(what(corrupt(|s| s.history.swap(0, 1))).0, 0, "out of order");
    assert_eq!(
        what(corrupt(|s| {
            s.history.pop();
        }))
        .0,
        0,
        "not the latest"
    );
    assert_eq!(
        what(corrupt(|s| s.history[1].invoices[0].total_nanos += 1)),
        (1, "an invoice's totals are not the sums of its lines")
    );
    assert_eq!(
        what(corrupt(|s| s.history[2].usage[0].period = PeriodId(0))),
        (2, "a usage record names another period")
    );
    assert_eq!(
        what(corrupt(|s| {
            s.closed_periods.pop();
            s.instances.clear();
        }))
        .1,
        "more reports than closed periods"
    );
}

#[test]
fn a_late_correction_is_in_the_report_of_the_period_it_arrived_in() {
    let mut m = meter(12);
    let first = three_periods(&mut m).remove(0);
    // Period 3 is open; the instance's stop at 30 s arrives late: it
    // takes back 30 s of period 0 and the two whole periods after it.
    let late = event("web", 1, 30_000, EventKind::Stopped);
    assert_eq!(send(&mut m, &late), Ingested::Adjusted);
    // The kept reports do not change.
    assert_eq!(m.closed_report(PeriodId(0)), Some(&first));
    let fourth = close(&mut m, 4 * MIN);
    assert_eq!(m.closed_report(PeriodId(3)), Some(&fourth));
    let corrected: Vec<PeriodId> = fourth.adjustments.iter().map(|a| a.corrects).collect();
    assert_eq!(corrected, [PeriodId(0), PeriodId(1), PeriodId(2)]);
    let invoice = m.closed_invoice(PeriodId(3), &id("acme")).unwrap();
    // 30 s + 60 s + 60 s taken back: -(2 × 150 × 10,000 + 4 × 150 × 1,000).
    assert_eq!(invoice.total_nanos, -3_600_000);
    assert!(invoice.lines.iter().all(|l| l.corrects.is_some()));
    assert_eq!(invoice.lines[0].corrects, Some(PeriodId(0)));
    assert_eq!(invoice.lines[0].quantity, -2_000 * 30_000);
}

// ------------------------------------------------------------ usage export

fn sku_info(sku: &str, zone: &str) -> SkuInfo {
    SkuInfo {
        sku: id(sku),
        family: None,
        arch: None,
        accelerator_model: None,
        zone: Some(id(zone)),
    }
}

/// * web/1: 2 vCPU, 4 GiB on SKU a (zone z1) from 0; idle 10-20 s;
///   resized to 4 vCPU, 8 GiB on SKU b (zone z2) at 30 s; stopped at
///   40.5 s, under a 60 s minimum (a 19.5 s top-up).
/// * api/2: 1 vCPU, 1 GiB, no SKU reported, from 5 s, running.
fn export_meter() -> Meter {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let mut p = prices();
    p.minimum_run_seconds = 60;
    m.add_price_table(p).unwrap();
    m.describe_sku(sku_info("a", "z1")).unwrap();
    m.describe_sku(sku_info("b", "z2")).unwrap();
    let on = |cpu, mib, sku: Option<&str>| (shape(cpu, mib), sku.map(id));
    let (s1, a) = on(2_000, 4_096, Some("a"));
    let (s2, b) = on(4_000, 8_192, Some("b"));
    let (s3, none) = on(1_000, 1_024, None);
    let events = [
        event(
            "web",
            1,
            0,
            EventKind::Started {
                resources: s1,
                delivered: a,
                zone: None,
            },
        ),
        event(
            "api",
            2,
            5_000,
            EventKind::Started {
                resources: s3,
                delivered: none,
                zone: None,
            },
        ),
        event("web", 1, 10_000, EventKind::Idle),
        event("web", 1, 20_000, EventKind::Active),
        event(
            "web",
            1,
            30_000,
            EventKind::Resized {
                resources: s2,
                delivered: b,
                zone: None,
            },
        ),
        event("web", 1, 40_500, EventKind::Stopped),
    ];
    for e in &events {
        assert_eq!(send(&mut m, e), Ingested::Applied);
    }
    m
}

type Row = (
    Option<&'static str>,
    Option<u64>,
    Option<&'static str>,
    Option<&'static str>,
    Component,
    i128,
    i128,
);

/// A [`Row`] with owned names.
type OwnedRow = (
    Option<String>,
    Option<u64>,
    Option<String>,
    Option<String>,
    Component,
    i128,
    i128,
);

/// (app, instance, sku, zone, component, quantity, top-up) of each record.
fn rows(records: &[UsageExportRecord]) -> Vec<OwnedRow> {
    records
        .iter()
        .map(|r| {
            (
                r.app.as_ref().map(|a| a.to_string()),
                r.instance.map(|i| i.0),
                r.sku.as_ref().map(|s| s.to_string()),
                r.zone.as_ref().map(|z| z.to_string()),
                r.component,
                r.quantity,
                r.top_up,
            )
        })
        .collect()
}

fn expect(rows: &[Row]) -> Vec<OwnedRow> {
    rows.iter()
        .map(|&(app, i, sku, zone, c, q, t)| {
            (
                app.map(String::from),
                i,
                sku.map(String::from),
                zone.map(String::from),
                c,
                q,
                t,
            )
        })
        .collect()
}

#[test]
fn the_usage_export_matches_hand_computed_quantities() {
    use Component::*;
    let m = export_meter();
    let all = m
        .usage(Timestamp(0), Timestamp(MIN), UsageGroupBy::ALL)
        .unwrap();
    assert!(all.iter().all(|r| r.tenant == Some(id("acme"))));
    assert!(
        all.iter()
            .all(|r| (r.from, r.to) == (Timestamp(0), Timestamp(MIN)))
    );
    #[rustfmt::skip]
    let want = expect(&[
        // api/2: 55 s of 1 vCPU, 1 GiB.
        (Some("api"), Some(2), None, None, Cpu, 1_000 * 55_000, 0),
        (Some("api"), Some(2), None, None, Memory, 1_024 * 55_000, 0),
        // web/1 on a: active 0-10 s and 20-30 s, idle 10-20 s.
        (Some("web"), Some(1), Some("a"), Some("z1"), Cpu, 2_000 * 20_000, 0),
        (Some("web"), Some(1), Some("a"), Some("z1"), IdleCpu, 2_000 * 10_000, 0),
        (Some("web"), Some(1), Some("a"), Some("z1"), Memory, 4_096 * 20_000, 0),
        (Some("web"), Some(1), Some("a"), Some("z1"), IdleMemory, 4_096 * 10_000, 0),
        // web/1 on b: 30-40.5 s, then the 19.5 s top-up to the minimum,
        // in the last shape.
        (Some("web"), Some(1), Some("b"), Some("z2"), Cpu, 4_000 * 30_000, 4_000 * 19_500),
        (Some("web"), Some(1), Some("b"), Some("z2"), Memory, 8_192 * 30_000, 8_192 * 19_500),
    ]);
    assert_eq!(rows(&all), want);

    // By zone alone: no SKU first.
    let by_zone = UsageGroupBy {
        zone: true,
        ..UsageGroupBy::default()
    };
    let zones = m.usage(Timestamp(0), Timestamp(MIN), by_zone).unwrap();
    assert!(zones.iter().all(|r| r.tenant.is_none() && r.app.is_none()));
    let z: Vec<(Option<String>, Component, i128)> = zones
        .iter()
        .map(|r| {
            (
                r.zone.as_ref().map(|z| z.to_string()),
                r.component,
                r.quantity,
            )
        })
        .collect();
    assert_eq!(
        z,
        [
            (None, Cpu, 55_000_000),
            (None, Memory, 56_320_000),
            (Some("z1".into()), Cpu, 40_000_000),
            (Some("z1".into()), IdleCpu, 20_000_000),
            (Some("z1".into()), Memory, 81_920_000),
            (Some("z1".into()), IdleMemory, 40_960_000),
            (Some("z2".into()), Cpu, 120_000_000),
            (Some("z2".into()), Memory, 245_760_000),
        ]
    );

    // By app over 15-35 s: no stop in it, so no top-up.
    let by_app = UsageGroupBy {
        app: true,
        ..UsageGroupBy::default()
    };
    let apps = m
        .usage(Timestamp(15_000), Timestamp(35_000), by_app)
        .unwrap();
    #[rustfmt::skip]
    let want = expect(&[
        (Some("api"), None, None, None, Cpu, 1_000 * 20_000, 0),
        (Some("api"), None, None, None, Memory, 1_024 * 20_000, 0),
        // Idle 15-20 s; active 20-30 s at 2 vCPU, 30-35 s at 4 vCPU.
        (Some("web"), None, None, None, Cpu, 2_000 * 10_000 + 4_000 * 5_000, 0),
        (Some("web"), None, None, None, IdleCpu, 2_000 * 5_000, 0),
        (Some("web"), None, None, None, Memory, 4_096 * 10_000 + 8_192 * 5_000, 0),
        (Some("web"), None, None, None, IdleMemory, 4_096 * 5_000, 0),
    ]);
    assert_eq!(rows(&apps), want);

    // Totals only.
    let total = m
        .usage(Timestamp(0), Timestamp(MIN), UsageGroupBy::default())
        .unwrap();
    let cpu: Vec<i128> = total.iter().map(|r| r.quantity).collect();
    assert_eq!(
        cpu,
        [
            55_000_000 + 40_000_000 + 120_000_000,
            20_000_000,
            56_320_000 + 81_920_000 + 245_760_000,
            40_960_000
        ]
    );
}

#[test]
fn the_usage_export_of_a_period_adds_up_to_its_usage_records() {
    let mut m = export_meter();
    let by_owner = UsageGroupBy {
        tenant: true,
        app: true,
        ..UsageGroupBy::default()
    };
    let export = m.usage(Timestamp(0), Timestamp(MIN), by_owner).unwrap();
    let report = m.close_period(Timestamp(MIN), Timestamp(MIN)).unwrap();
    let mut from_records = Vec::new();
    for record in &report.usage {
        let usage = record.total().unwrap();
        for c in Component::ALL {
            if usage.quantity(c) != 0 {
                from_records.push((record.app.to_string(), c, usage.quantity(c)));
            }
        }
    }
    let from_export: Vec<(String, Component, i128)> = export
        .iter()
        .map(|r| (r.app.as_ref().unwrap().to_string(), r.component, r.quantity))
        .collect();
    assert_eq!(from_export, from_records);

    // Closed periods are in their reports, not in the export.
    assert_eq!(
        m.usage(Timestamp(0), Timestamp(2 * MIN), by_owner),
        Err(MeterError::UsageInterval {
            from: Timestamp(0),
            to: Timestamp(2 * MIN),
            open_start: Timestamp(MIN),
        })
    );
    assert!(matches!(
        m.usage(Timestamp(2 * MIN), Timestamp(2 * MIN), by_owner),
        Err(MeterError::UsageInterval { .. })
    ));
    // The next period: api/2 runs on.
    let next = m
        .usage(Timestamp(MIN), Timestamp(2 * MIN), by_owner)
        .unwrap();
    let q: Vec<i128> = next.iter().map(|r| r.quantity).collect();
    assert_eq!(q, [1_000 * MIN as i128, 1_024 * MIN as i128]);
}
