//! Meter keys and zones per event: two sources (schedulers or regions)
//! with the same instance ids and event ids share one meter and are billed
//! apart; an event's zone selects the zone rates. Each bill is computed by
//! hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use trimline::metering::*;
use trimline::*;

const HOUR: u64 = 3_600_000;

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

fn shape(millicores: u64, mib: u64) -> Resources {
    Resources::cpu_mem(millicores, mib).unwrap()
}

fn started(resources: Resources) -> EventKind {
    EventKind::Started {
        resources,
        delivered: None,
        zone: None,
    }
}

/// An event of `acme/web` from `source`, its id derived from the event.
fn derived(source: Option<&str>, instance: u64, at: u64, kind: EventKind) -> Event {
    let (instance, at) = (InstanceId(instance), Timestamp(at));
    Event {
        id: EventId::derived(instance, &kind, at, 0).unwrap(),
        source: source.map(id),
        tenant: id("acme"),
        app: id("web"),
        instance,
        at,
        kind,
    }
}

/// The invoice lines as (source, component, quantity, amount).
fn lines(r: &PeriodReport) -> Vec<(Option<String>, Component, i128, i128)> {
    r.invoices[0]
        .lines
        .iter()
        .map(|l| {
            (
                l.source.as_ref().map(ToString::to_string),
                l.component,
                l.quantity,
                l.amount_nanos,
            )
        })
        .collect()
}

/// 10,000 nano-units per vCPU-second, 1,000 per GiB-second.
fn meter() -> Meter {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))
        .unwrap();
    m
}

/// Instance 1 of three sources: the default, `east` and `west`, each
/// started at 0 (so their starts have the same derived id) with its own
/// shape, and stopped at its own time.
fn three_sources() -> Vec<Event> {
    vec![
        derived(None, 1, 0, started(shape(4_000, 8_192))),
        derived(Some("east"), 1, 0, started(shape(2_000, 4_096))),
        derived(Some("west"), 1, 0, started(shape(1_000, 2_048))),
        derived(None, 1, 10_000, EventKind::Stopped),
        derived(Some("west"), 1, 30_000, EventKind::Stopped),
        derived(Some("east"), 1, 60_000, EventKind::Stopped),
    ]
}

#[test]
fn two_sources_with_the_same_instance_ids_are_billed_apart() {
    let mut m = meter();
    let now = Timestamp(HOUR);
    let events = three_sources();
    // The three starts share one id: none is a duplicate of another.
    assert_eq!(events[0].id, events[1].id);
    assert_eq!(events[1].id, events[2].id);
    for e in &events[..3] {
        assert_eq!(m.ingest(e, now), Ok(Ingested::Applied));
    }
    // Replays are recognised within their source.
    for e in &events[..3] {
        assert_eq!(m.ingest(e, now), Ok(Ingested::Duplicate));
    }
    // East's id with west's payload is a conflict within east.
    let mut clash = events[2].clone();
    clash.source = Some(id("east"));
    assert_eq!(
        m.ingest(&clash, now),
        Err(MeterError::Conflict { id: clash.id })
    );
    assert!(m.is_running(InstanceId(1)));
    assert!(m.is_running_from(Some(&id("east")), InstanceId(1)));
    assert!(m.is_running_from(Some(&id("west")), InstanceId(1)));
    assert!(!m.is_running_from(Some(&id("north")), InstanceId(1)));
    assert_eq!(m.tracked_instances(), 3);
    for e in &events[3..] {
        assert_eq!(m.ingest(e, now), Ok(Ingested::Applied));
    }
    // Stopping one source's instance 1 stops no other.
    assert!(!m.is_running_from(Some(&id("west")), InstanceId(1)));
    let names: Vec<String> = m.sources().iter().map(|s| s.to_string()).collect();
    assert_eq!(names, ["east", "west"]);

    let r = m.close_period(now, now).unwrap();
    // Default: 10 s × (4 × 10,000 + 8 × 1,000) = 480,000
    // East:    60 s × (2 × 10,000 + 4 × 1,000) = 1,440,000
    // West:    30 s × (1 × 10,000 + 2 × 1,000) = 360,000
    assert_eq!(r.invoices[0].total_nanos, 480_000 + 1_440_000 + 360_000);
    let east = Some("east".to_string());
    let west = Some("west".to_string());
    assert_eq!(
        lines(&r),
        [
            (None, Component::Cpu, 4_000 * 10_000, 400_000),
            (None, Component::Memory, 8_192 * 10_000, 80_000),
            (east.clone(), Component::Cpu, 2_000 * 60_000, 1_200_000),
            (east.clone(), Component::Memory, 4_096 * 60_000, 240_000),
            (west.clone(), Component::Cpu, 1_000 * 30_000, 300_000),
            (west.clone(), Component::Memory, 2_048 * 30_000, 60_000),
        ]
    );
    let records: Vec<(Option<String>, i128)> = r
        .usage
        .iter()
        .map(|u| {
            (
                u.source.as_ref().map(ToString::to_string),
                u.total().unwrap().instance_ms,
            )
        })
        .collect();
    assert_eq!(records, [(None, 10_000), (east, 60_000), (west, 30_000)]);
}

#[test]
fn event_ids_that_are_not_derived_are_keyed_by_source() {
    let mut m = meter();
    let now = Timestamp(HOUR);
    let event = |source: &str, kind| Event {
        id: EventId(7),
        source: Some(id(source)),
        tenant: id("acme"),
        app: id("web"),
        instance: InstanceId(5),
        at: Timestamp(1_000),
        kind,
    };
    let a = event("a", started(shape(1_000, 1_024)));
    let b = event("b", started(shape(2_000, 2_048)));
    assert_eq!(m.ingest(&a, now), Ok(Ingested::Applied));
    assert_eq!(m.ingest(&b, now), Ok(Ingested::Applied));
    assert_eq!(m.ingest(&a, now), Ok(Ingested::Duplicate));
    assert_eq!(m.remembered_events(), 2);
    // The same id in `a` for another event is a conflict.
    let other = Event {
        instance: InstanceId(6),
        ..a.clone()
    };
    assert_eq!(
        m.ingest(&other, now),
        Err(MeterError::Conflict { id: EventId(7) })
    );
    // A refused event from a new source leaves no source behind.
    let mut stray = event("c", EventKind::Stopped);
    stray.id = EventId(8);
    assert!(matches!(
        m.ingest(&stray, now),
        Err(MeterError::NotRunning { .. })
    ));
    assert_eq!(m.sources().len(), 2);
}

#[test]
fn sources_survive_snapshot_and_restore_and_corrections_name_them() {
    let mut m = meter();
    let now = Timestamp(HOUR);
    let events = three_sources();
    // Everything but west's stop, which arrives after the period closed.
    for (k, e) in events.iter().enumerate() {
        if k != 4 {
            let _ = m.ingest(e, now).unwrap();
        }
    }
    let json = serde_json::to_string(&m.snapshot()).unwrap();
    assert!(json.contains(r#""source":"west""#), "{json}");
    let mut r = Meter::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(serde_json::to_string(&r.snapshot()).unwrap(), json);
    assert_eq!(r.ingest(&events[1], now), Ok(Ingested::Duplicate));

    let end = Timestamp(100_000);
    let first = m.close_period(end, now).unwrap();
    assert_eq!(r.close_period(end, now).unwrap(), first);
    // West ran the whole period: 100 s × 12,000 = 1,200,000.
    assert_eq!(
        first.invoices[0].total_nanos,
        480_000 + 1_440_000 + 1_200_000
    );
    // The late stop takes back 70 s of west's instance 1, and no other.
    for meter in [&mut m, &mut r] {
        assert_eq!(meter.ingest(&events[4], now), Ok(Ingested::Adjusted));
        let a: Vec<&Adjustment> = meter.pending_adjustments().collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].source, Some(id("west")));
        assert_eq!(a[0].usage.instance_ms, -70_000);
        assert!(!meter.is_running_from(Some(&id("east")), InstanceId(1)));
    }
    let second = m.close_period(Timestamp(200_000), now).unwrap();
    assert_eq!(r.close_period(Timestamp(200_000), now).unwrap(), second);
    // −70 s × 12,000, on west's lines.
    assert_eq!(second.invoices[0].total_nanos, -840_000);
    assert!(
        second.invoices[0]
            .lines
            .iter()
            .all(|l| l.source == Some(id("west")) && l.corrects == Some(PeriodId(0)))
    );
}

#[test]
fn a_format_2_snapshot_restores_as_the_default_source() {
    let mut m = meter();
    let now = Timestamp(HOUR);
    let _ = m
        .ingest(&derived(None, 1, 0, started(shape(1_000, 1_024))), now)
        .unwrap();
    let mut snapshot = m.snapshot();
    assert_eq!(snapshot.format, 3);
    snapshot.format = 2;
    let json = serde_json::to_string(&snapshot).unwrap();
    // Nothing of format 3 appears in a meter with no source and no zone.
    assert!(
        !json.contains(r#""source""#) && !json.contains(r#""zone""#),
        "{json}"
    );
    let mut r = Meter::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert!(r.is_running(InstanceId(1)));
    assert_eq!(r.snapshot().format, 3);
    let stop = derived(None, 1, 50_000, EventKind::Stopped);
    let _ = r.ingest(&stop, now).unwrap();
    let report = r.close_period(now, now).unwrap();
    // 50 s × (10,000 + 1,000)
    assert_eq!(report.invoices[0].total_nanos, 550_000);
    assert_eq!(report.usage[0].source, None);
    // Old events (no `source` field) still parse, as the default source.
    let old = r#"{"id":1,"tenant":"acme","app":"web","instance":1,"at":0,
        "kind":{"started":{"resources":{"cpu_millis":1000,"memory_mib":1024},"delivered":null}}}"#;
    let e: Event = serde_json::from_str(old).unwrap();
    assert_eq!(e.source, None);
    assert!(matches!(e.kind, EventKind::Started { zone: None, .. }));
}

/// A table with zone rates: zone `z-a` at 10,000 and 1,000 per vCPU- and
/// GiB-second, zone `z-b` at 20,000 and 2,000, list prices 5,000 and 500.
/// SKU `g7.large` is described in zone `z-a`.
fn zoned_meter() -> Meter {
    let mut t = PriceTable::new(1, Timestamp(0), 5_000, 500, 0);
    let zone = |z: &str, cpu, mem| {
        SkuRate::new(
            SkuSelector {
                zone: Some(id(z)),
                ..SkuSelector::default()
            },
            cpu,
            mem,
            0,
        )
    };
    t.sku_rates = vec![zone("z-a", 10_000, 1_000), zone("z-b", 20_000, 2_000)];
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(t).unwrap();
    m.describe_sku(SkuInfo {
        sku: id("g7.large"),
        family: None,
        arch: None,
        accelerator_model: None,
        zone: Some(id("z-a")),
    })
    .unwrap();
    m
}

fn delivered(sku: Option<&str>, zone: Option<&str>) -> EventKind {
    EventKind::Started {
        resources: shape(1_000, 1_024),
        delivered: sku.map(id),
        zone: zone.map(id),
    }
}

/// The invoice lines as (SKU, zone, component, amount).
type ZoneLine = (Option<String>, Option<String>, Component, i128);

fn zone_lines(r: &PeriodReport) -> Vec<ZoneLine> {
    r.invoices[0]
        .lines
        .iter()
        .map(|l| {
            (
                l.sku.as_ref().map(ToString::to_string),
                l.zone.as_ref().map(ToString::to_string),
                l.component,
                l.amount_nanos,
            )
        })
        .collect()
}

#[test]
fn an_events_zone_selects_the_zone_rates() {
    let mut m = zoned_meter();
    let now = Timestamp(HOUR);
    // Instances 1 to 4, 1 vCPU and 1 GiB each, for 100 s:
    // 1: g7.large, no zone named: its described zone z-a;
    // 2: g7.large in z-b;
    // 3: g7.large in z-a, named;
    // 4: no SKU, in z-b: the zone-only rate applies.
    let kinds = [
        delivered(Some("g7.large"), None),
        delivered(Some("g7.large"), Some("z-b")),
        delivered(Some("g7.large"), Some("z-a")),
        delivered(None, Some("z-b")),
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let i = i as u64 + 1;
        let _ = m.ingest(&derived(None, i, 0, kind), now).unwrap();
        let _ = m
            .ingest(&derived(None, i, 100_000, EventKind::Stopped), now)
            .unwrap();
    }
    let snapshot = serde_json::to_string(&m.snapshot()).unwrap();
    let mut r = Meter::restore(serde_json::from_str(&snapshot).unwrap()).unwrap();
    let report = m.close_period(now, now).unwrap();
    assert_eq!(r.close_period(now, now).unwrap(), report);
    let s = |v: &str| Some(v.to_string());
    // z-a: 100 s × (10,000 + 1,000) = 1,100,000 (1,000,000 + 100,000)
    // z-b: 100 s × (20,000 + 2,000) = 2,200,000 (2,000,000 + 200,000)
    assert_eq!(
        zone_lines(&report),
        [
            (None, s("z-b"), Component::Cpu, 2_000_000),
            (None, s("z-b"), Component::Memory, 200_000),
            (s("g7.large"), None, Component::Cpu, 1_000_000),
            (s("g7.large"), None, Component::Memory, 100_000),
            (s("g7.large"), s("z-a"), Component::Cpu, 1_000_000),
            (s("g7.large"), s("z-a"), Component::Memory, 100_000),
            (s("g7.large"), s("z-b"), Component::Cpu, 2_000_000),
            (s("g7.large"), s("z-b"), Component::Memory, 200_000),
        ]
    );
    assert_eq!(report.invoices[0].total_nanos, 6_600_000);
    let delivered: Vec<(Option<String>, Option<String>, i128)> = report.usage[0]
        .delivered
        .iter()
        .map(|d| {
            (
                d.sku.as_ref().map(ToString::to_string),
                d.zone.as_ref().map(ToString::to_string),
                d.instance_ms,
            )
        })
        .collect();
    assert_eq!(
        delivered,
        [
            (None, s("z-b"), 100_000),
            (s("g7.large"), None, 100_000),
            (s("g7.large"), s("z-a"), 100_000),
            (s("g7.large"), s("z-b"), 100_000),
        ]
    );
}

#[test]
fn a_resize_into_another_zone_pays_each_zones_rate() {
    let mut m = zoned_meter();
    let now = Timestamp(HOUR);
    let events = [
        derived(None, 1, 0, delivered(Some("g7.large"), Some("z-b"))),
        // Same shape, no SKU or zone named: keeps g7.large in z-b.
        derived(
            None,
            1,
            20_000,
            EventKind::Resized {
                resources: shape(2_000, 2_048),
                delivered: None,
                zone: None,
            },
        ),
        // Moves to z-a.
        derived(
            None,
            1,
            50_000,
            EventKind::Resized {
                resources: shape(2_000, 2_048),
                delivered: Some(id("g7.large")),
                zone: Some(id("z-a")),
            },
        ),
        derived(None, 1, 100_000, EventKind::Stopped),
    ];
    for e in &events {
        let _ = m.ingest(e, now).unwrap();
    }
    let report = m.close_period(now, now).unwrap();
    // z-b: 20 s × 1 vCPU, 1 GiB + 30 s × 2 vCPU, 2 GiB
    //      = 20 × 22,000 + 30 × 44,000 = 440,000 + 1,320,000
    // z-a: 50 s × 2 vCPU, 2 GiB = 50 × 22,000 = 1,100,000
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        zone_lines(&report),
        [
            (s("g7.large"), s("z-a"), Component::Cpu, 1_000_000),
            (s("g7.large"), s("z-a"), Component::Memory, 100_000),
            (s("g7.large"), s("z-b"), Component::Cpu, 1_600_000),
            (s("g7.large"), s("z-b"), Component::Memory, 160_000),
        ]
    );
    assert_eq!(report.invoices[0].total_nanos, 2_860_000);
}
