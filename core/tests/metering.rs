//! Metering: one section per guarantee of the metering issue (1-12), every
//! error variant, and the end-to-end story through the scheduler.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use trimline::metering::*;
use trimline::*;

use common::id;

const HOUR: u64 = 3_600_000;

/// 2 vCPU, 4 GiB.
fn shape() -> Resources {
    Resources::cpu_mem(2_000, 4_096).unwrap()
}

/// v1 at 0: 10,000 per vCPU-s active, 2,000 idle; 1,000 per GiB-s;
/// 50,000 per accelerator-s; rounding up, no minimum.
fn prices() -> PriceTable {
    let mut p = PriceTable::new(1, Timestamp(0), 10_000, 1_000, 50_000);
    p.idle_cpu_nanos_per_vcpu_second = 2_000;
    p
}

fn started(resources: Resources) -> EventKind {
    EventKind::Started {
        resources,
        delivered: None,
        zone: None,
    }
}

/// Builds events of tenant `acme`, app `web`, with fresh ids.
struct Feed {
    m: Meter,
    next_id: u128,
    now: Timestamp,
}

impl Feed {
    fn new(config: MeterConfig) -> Feed {
        let mut m = Meter::new(config).unwrap();
        m.add_price_table(prices()).unwrap();
        Feed {
            m,
            next_id: 1,
            now: Timestamp(100 * HOUR),
        }
    }

    fn default() -> Feed {
        Feed::new(MeterConfig::default())
    }

    fn ev(&mut self, instance: u64, at: u64, kind: EventKind) -> Event {
        let id = EventId(self.next_id);
        self.next_id += 1;
        Event {
            id,
            tenant: id_of("acme"),
            app: id_of("web"),
            instance: InstanceId(instance),
            at: Timestamp(at),
            kind,
            source: None,
        }
    }

    fn send(&mut self, instance: u64, at: u64, kind: EventKind) -> Result<Ingested, MeterError> {
        let e = self.ev(instance, at, kind);
        self.m.ingest(&e, self.now)
    }

    fn ok(&mut self, instance: u64, at: u64, kind: EventKind) {
        let r = self.send(instance, at, kind);
        assert!(
            matches!(r, Ok(Ingested::Applied | Ingested::Adjusted)),
            "{r:?}"
        );
    }

    fn close(&mut self, end: u64) -> PeriodReport {
        self.m.close_period(Timestamp(end), self.now).unwrap()
    }

    fn state(&self) -> String {
        format!("{:?}", self.m)
    }
}

fn id_of<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    id(s)
}

/// Sum of a report's usage records.
fn usage_of(r: &PeriodReport) -> Usage {
    r.usage.iter().fold(Usage::default(), |a, u| {
        a.checked_add(&u.total().unwrap()).unwrap()
    })
}

fn exact_of(r: &PeriodReport) -> i128 {
    r.invoices.iter().map(|i| i.exact_subnanos).sum()
}

fn total_of(r: &PeriodReport) -> i128 {
    r.invoices.iter().map(|i| i.total_nanos).sum()
}

fn line(r: &PeriodReport, c: Component) -> &InvoiceLine {
    r.invoices[0]
        .lines
        .iter()
        .find(|l| l.component == c && l.corrects.is_none())
        .unwrap_or_else(|| panic!("no {c} line in {r:#?}"))
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

/// An event reads back from its own JSON, every kind, and the kind is
/// tagged like every other enum: a unit variant is its name, a variant
/// with data an object with the name as its only key.
#[test]
fn events_round_trip_through_json() {
    let mut f = Feed::default();
    let kinds = [
        started(shape()),
        EventKind::Idle,
        EventKind::Active,
        EventKind::Resized {
            resources: shape(),
            delivered: None,
            zone: None,
        },
        EventKind::Stopped,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let e = f.ev(1, 1_000 * i as u64, kind);
        let text = json(&e);
        let back: Event = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(back, e);
    }
    let stop = json(&f.ev(1, 9_000, EventKind::Stopped));
    assert!(stop.contains(r#""kind":"stopped""#), "{stop}");
    let start = json(&f.ev(1, 9_000, started(shape())));
    assert!(
        start.contains(r#""kind":{"started":{"resources":"#),
        "{start}"
    );
    // Unknown fields are refused, at the event and inside its kind.
    let extra = stop.replacen('{', r#"{"extra":1,"#, 1);
    assert!(serde_json::from_str::<Event>(&extra).is_err());
}

// ---------------------------------------------------------------- 1

#[test]
fn g1_the_same_event_twice_changes_nothing() {
    let mut f = Feed::default();
    let start = f.ev(1, 0, started(shape()));
    let stop = f.ev(1, 10_000, EventKind::Stopped);
    assert_eq!(f.m.ingest(&start, f.now), Ok(Ingested::Applied));
    let before = f.state();
    assert_eq!(f.m.ingest(&start, f.now), Ok(Ingested::Duplicate));
    assert_eq!(f.state(), before);
    assert_eq!(f.m.ingest(&stop, f.now), Ok(Ingested::Applied));
    assert_eq!(f.m.ingest(&stop, f.now), Ok(Ingested::Duplicate));
    assert_eq!(f.m.ingest(&start, f.now), Ok(Ingested::Duplicate));
    let r = f.close(HOUR);
    // 10 s of 2 vCPU and 4 GiB, once.
    assert_eq!(usage_of(&r).instance_ms, 10_000);
    assert_eq!(total_of(&r), 2 * 10 * 10_000 + 4 * 10 * 1_000);
}

#[test]
fn g1_the_same_id_with_another_payload_is_a_conflict() {
    let mut f = Feed::default();
    let mut start = f.ev(1, 0, started(shape()));
    start.kind = EventKind::Started {
        resources: shape(),
        delivered: Some(id("g7")),
        zone: None,
    };
    let _ = f.m.ingest(&start, f.now).unwrap();
    let before = f.state();
    let variants = [
        Event {
            at: Timestamp(1),
            ..start.clone()
        },
        Event {
            instance: InstanceId(2),
            ..start.clone()
        },
        Event {
            tenant: id("other"),
            ..start.clone()
        },
        Event {
            app: id("api"),
            ..start.clone()
        },
        Event {
            kind: EventKind::Stopped,
            ..start.clone()
        },
        Event {
            kind: started(Resources::cpu_mem(1_000, 4_096).unwrap()),
            ..start.clone()
        },
        Event {
            kind: EventKind::Started {
                resources: shape(),
                delivered: Some(id("g8i")),
                zone: None,
            },
            ..start.clone()
        },
    ];
    for v in variants {
        assert_eq!(
            f.m.ingest(&v, f.now),
            Err(MeterError::Conflict { id: start.id }),
            "{v:?}"
        );
        assert_eq!(f.state(), before);
    }
    assert_eq!(f.m.ingest(&start, f.now), Ok(Ingested::Duplicate));
}

// ---------------------------------------------------------------- 2

#[test]
fn g2_a_refused_event_leaves_no_mark_and_can_be_sent_again() {
    let mut f = Feed::default();
    let stop = f.ev(1, 5_000, EventKind::Stopped);
    let before = f.state();
    let remembered = f.m.remembered_events();
    assert_eq!(
        f.m.ingest(&stop, f.now),
        Err(MeterError::NotRunning {
            instance: InstanceId(1),
            event: "stopped",
            at: Timestamp(5_000),
        })
    );
    assert_eq!(f.state(), before);
    assert_eq!(f.m.remembered_events(), remembered);
    assert_eq!(f.m.tracked_instances(), 0);
    // The cause fixed, the very same event applies (it was not marked seen).
    f.ok(1, 0, started(shape()));
    assert_eq!(f.m.ingest(&stop, f.now), Ok(Ingested::Applied));
    assert_eq!(usage_of(&f.close(HOUR)).instance_ms, 5_000);
}

#[test]
fn g2_a_refused_late_insert_leaves_the_buffer_as_it_was() {
    let mut f = Feed::new(MeterConfig {
        allowed_lateness_ms: HOUR,
        ..MeterConfig::default()
    });
    f.ok(1, 10, started(shape()));
    f.ok(1, 100, EventKind::Stopped);
    let before = f.state();
    // A stop at 50 is valid where it lands, but leaves the stop at 100
    // without a run.
    assert_eq!(
        f.send(1, 50, EventKind::Stopped),
        Err(MeterError::NotRunning {
            instance: InstanceId(1),
            event: "stopped",
            at: Timestamp(100),
        })
    );
    assert_eq!(f.state(), before);
}

#[test]
fn g2_a_failed_adjustment_leaves_no_mark() {
    // No price table at first: an empty period closes without one.
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let now = Timestamp(10 * HOUR);
    let _ = m.close_period(Timestamp(HOUR), now).unwrap();
    m.add_price_table(PriceTable::new(1, Timestamp(HOUR), 1, 1, 1))
        .unwrap();
    let late = Event {
        id: EventId(7),
        tenant: id("acme"),
        app: id("web"),
        instance: InstanceId(1),
        at: Timestamp(HOUR - 1_000),
        kind: started(shape()),
        source: None,
    };
    let before = format!("{m:?}");
    assert_eq!(
        m.ingest(&late, now),
        Err(MeterError::NoPrice {
            at: Timestamp(HOUR - 1_000)
        })
    );
    assert_eq!(format!("{m:?}"), before);
    assert_eq!(m.remembered_events(), 0);
}

// ---------------------------------------------------------------- 3

/// A log with two tenants, idle, resize, a price change and two periods.
fn log(f: &mut Feed) -> Vec<Event> {
    let mut out = vec![];
    let mut push = |f: &mut Feed, tenant: &str, app: &str, i: u64, at: u64, kind| {
        let mut e = f.ev(i, at, kind);
        e.tenant = id(tenant);
        e.app = id(app);
        out.push(e);
    };
    push(f, "zeta", "db", 3, 0, started(shape()));
    push(f, "acme", "web", 1, 1_500, started(shape()));
    push(f, "acme", "api", 2, 2_000, started(shape()));
    push(f, "acme", "web", 1, 60_250, EventKind::Idle);
    push(
        f,
        "acme",
        "api",
        2,
        70_000,
        EventKind::Resized {
            resources: Resources::new(4_000, 8_192, 0, 1).unwrap(),
            delivered: Some(id("gn7")),
            zone: None,
        },
    );
    push(f, "acme", "web", 1, 80_001, EventKind::Active);
    push(f, "zeta", "db", 3, 90_000, EventKind::Stopped);
    push(f, "acme", "web", 1, HOUR + 7, EventKind::Stopped);
    out
}

fn replay(events: &[Event]) -> String {
    let mut f = Feed::default();
    let mut v2 = prices();
    v2.version = 2;
    v2.effective = Timestamp(75_000);
    v2.cpu_nanos_per_vcpu_second = 12_345;
    f.m.add_price_table(v2).unwrap();
    for e in events {
        let _ = f.m.ingest(e, f.now).unwrap();
    }
    let a = f.close(HOUR);
    let b = f.close(2 * HOUR);
    json(&(a, b))
}

#[test]
fn g3_replaying_the_log_gives_byte_identical_records() {
    let mut f = Feed::default();
    let events = log(&mut f);
    let first = replay(&events);
    assert_eq!(replay(&events), first);
    // Instances first seen in another order (per-instance order kept):
    // records come out sorted by name, so the bytes are the same.
    let mut shuffled = events.clone();
    shuffled.sort_by_key(|e| std::cmp::Reverse(e.instance));
    assert_eq!(replay(&shuffled), first);
    // Replaying the log twice into one meter is the same as once.
    let doubled: Vec<Event> = events.iter().chain(events.iter()).cloned().collect();
    assert_eq!(replay(&doubled), first);
    // And records are sorted: acme/api, acme/web, zeta/db.
    let report: (PeriodReport, PeriodReport) = serde_json::from_str(&first).unwrap();
    let names: Vec<String> = report
        .0
        .usage
        .iter()
        .map(|u| format!("{}/{}", u.tenant, u.app))
        .collect();
    assert_eq!(names, ["acme/api", "acme/web", "zeta/db"]);
}

// ---------------------------------------------------------------- 4

#[test]
fn g4_an_event_older_than_the_last_is_out_of_order() {
    let mut f = Feed::new(MeterConfig {
        allowed_lateness_ms: 0,
        ..MeterConfig::default()
    });
    f.ok(1, 0, started(shape()));
    f.ok(1, 100, EventKind::Idle);
    let before = f.state();
    assert_eq!(
        f.send(1, 99, EventKind::Active),
        Err(MeterError::OutOfOrder {
            instance: InstanceId(1),
            last: Timestamp(100),
            got: Timestamp(99),
        })
    );
    assert_eq!(f.state(), before);
    // Equal times are in order (they keep arrival order).
    f.ok(1, 100, EventKind::Active);
}

#[test]
fn g4_a_late_event_within_the_allowance_in_the_open_period_is_slotted_in() {
    let config = MeterConfig {
        allowed_lateness_ms: 30_000,
        ..MeterConfig::default()
    };
    let mut late = Feed::new(config.clone());
    late.ok(1, 0, started(shape()));
    late.ok(1, 50_000, EventKind::Stopped);
    late.ok(1, 20_000, EventKind::Idle); // 30 s late: allowed
    assert_eq!(
        late.send(1, 19_999, EventKind::Active),
        Err(MeterError::OutOfOrder {
            instance: InstanceId(1),
            last: Timestamp(50_000),
            got: Timestamp(19_999),
        })
    );
    let mut on_time = Feed::new(config);
    on_time.ok(1, 0, started(shape()));
    on_time.ok(1, 20_000, EventKind::Idle);
    on_time.ok(1, 50_000, EventKind::Stopped);
    assert_eq!(json(&late.close(HOUR)), json(&on_time.close(HOUR)));
}

#[test]
fn g4_an_older_event_in_a_closed_period_is_out_of_order_even_within_the_allowance() {
    let mut f = Feed::new(MeterConfig {
        allowed_lateness_ms: HOUR,
        ..MeterConfig::default()
    });
    f.ok(1, 0, started(shape()));
    let _ = f.close(HOUR);
    f.ok(1, HOUR + 10, EventKind::Idle);
    assert_eq!(
        f.send(1, HOUR - 10, EventKind::Stopped),
        Err(MeterError::OutOfOrder {
            instance: InstanceId(1),
            last: Timestamp(HOUR + 10),
            got: Timestamp(HOUR - 10),
        })
    );
}

#[test]
fn g4_events_past_the_watermark_are_rejected() {
    let mut f = Feed::new(MeterConfig {
        max_clock_skew_ms: 500,
        ..MeterConfig::default()
    });
    f.now = Timestamp(10_000);
    f.ok(1, 10_500, started(shape()));
    let before = f.state();
    assert_eq!(
        f.send(2, 10_501, started(shape())),
        Err(MeterError::AheadOfWatermark {
            instance: InstanceId(2),
            at: Timestamp(10_501),
            watermark: Timestamp(10_500),
        })
    );
    assert_eq!(f.state(), before);
}

#[test]
fn g4_events_before_the_horizon_are_rejected_and_ids_are_remembered_until_it() {
    let mut f = Feed::new(MeterConfig {
        origin: Timestamp(1_000),
        adjustment_window_ms: 60_000,
        ..MeterConfig::default()
    });
    assert_eq!(
        f.send(1, 999, started(shape())),
        Err(MeterError::BeforeHorizon {
            instance: InstanceId(1),
            at: Timestamp(999),
            horizon: Timestamp(1_000),
        })
    );
    let early = f.ev(1, 1_000, started(shape()));
    let _ = f.m.ingest(&early, f.now).unwrap();
    let recent = f.ev(1, HOUR - 30_000, EventKind::Idle);
    let _ = f.m.ingest(&recent, f.now).unwrap();
    let _ = f.close(HOUR);
    assert_eq!(f.m.horizon(), Timestamp(HOUR - 60_000));
    // Within the window the id is remembered: a replay is a no-op.
    assert_eq!(f.m.ingest(&recent, f.now), Ok(Ingested::Duplicate));
    assert_eq!(f.m.remembered_events(), 1);
    // Before it, the id is forgotten, and the event is refused rather than
    // counted again.
    assert_eq!(
        f.m.ingest(&early, f.now),
        Err(MeterError::BeforeHorizon {
            instance: InstanceId(1),
            at: Timestamp(1_000),
            horizon: Timestamp(HOUR - 60_000),
        })
    );
}

#[test]
fn finished_instances_are_forgotten_past_the_horizon() {
    let mut f = Feed::new(MeterConfig {
        adjustment_window_ms: 0,
        ..MeterConfig::default()
    });
    f.ok(1, 0, started(shape()));
    f.ok(1, 1_000, EventKind::Stopped);
    f.ok(2, 0, started(shape()));
    let _ = f.close(HOUR);
    assert_eq!(f.m.tracked_instances(), 1); // the running one
    assert_eq!(f.m.remembered_events(), 0);
    // Forgetting it changes nothing: it starts again as new.
    f.ok(1, HOUR, started(shape()));
    assert!(f.m.is_running(InstanceId(1)));
}

// ---------------------------------------------------------------- 5

#[test]
fn g5_double_start_and_stop_without_start_are_typed_errors() {
    let mut f = Feed::default();
    for (kind, name) in [
        (EventKind::Stopped, "stopped"),
        (EventKind::Idle, "idle"),
        (EventKind::Active, "active"),
        (
            EventKind::Resized {
                resources: shape(),
                delivered: None,
                zone: None,
            },
            "resized",
        ),
    ] {
        assert_eq!(
            f.send(1, 10, kind),
            Err(MeterError::NotRunning {
                instance: InstanceId(1),
                event: name,
                at: Timestamp(10),
            })
        );
    }
    f.ok(1, 10, started(shape()));
    assert_eq!(
        f.send(1, 20, started(shape())),
        Err(MeterError::AlreadyRunning {
            instance: InstanceId(1),
            at: Timestamp(20),
            since: Timestamp(10),
        })
    );
    f.ok(1, 30, EventKind::Stopped);
    assert_eq!(
        f.send(1, 40, EventKind::Stopped),
        Err(MeterError::NotRunning {
            instance: InstanceId(1),
            event: "stopped",
            at: Timestamp(40),
        })
    );
    // Idle and active are levels: repeating one changes nothing.
    f.ok(1, 50, started(shape()));
    f.ok(1, 60, EventKind::Idle);
    f.ok(1, 70, EventKind::Idle);
    f.ok(1, 80, EventKind::Active);
    f.ok(1, 90, EventKind::Active);
    assert!(f.m.is_running(InstanceId(1)));
}

#[test]
fn g5_an_instance_keeps_its_owner() {
    let mut f = Feed::default();
    f.ok(1, 0, started(shape()));
    let mut e = f.ev(1, 10, EventKind::Idle);
    e.app = id("api");
    let before = f.state();
    assert_eq!(
        f.m.ingest(&e, f.now),
        Err(MeterError::OwnerMismatch {
            instance: InstanceId(1),
            owner_tenant: id("acme"),
            owner_app: id("web"),
            tenant: id("acme"),
            app: id("api"),
        })
    );
    assert_eq!(f.state(), before);
}

// ---------------------------------------------------------------- 6

#[test]
fn g6_splitting_a_run_anywhere_gives_the_same_total() {
    // [1,234, 98,765) under rounding up: 97,531 ms billed 98 s.
    let (t0, t1) = (1_234u64, 98_765u64);
    let whole = {
        let mut f = Feed::default();
        f.ok(1, t0, started(shape()));
        f.ok(1, t1, EventKind::Stopped);
        let r = f.close(HOUR);
        assert_eq!(usage_of(&r).instance_ms, 98_000);
        (usage_of(&r), exact_of(&r))
    };
    for split in [t0 + 1, t0 + 999, 50_000, 50_001, t1 - 1, t1] {
        let mut f = Feed::default();
        f.ok(1, t0, started(shape()));
        f.ok(1, t1, EventKind::Stopped);
        let a = f.close(split);
        let b = f.close(HOUR);
        let usage = usage_of(&a).checked_add(&usage_of(&b)).unwrap();
        assert_eq!(
            (usage, exact_of(&a) + exact_of(&b)),
            whole,
            "split at {split}"
        );
        // Half-open: the first piece is exactly [t0, split).
        // The top-up (469 ms) goes where the stop is, so never in `a`.
        assert_eq!(usage_of(&a).instance_ms, i128::from(split - t0));
    }
}

#[test]
fn g6_a_stop_and_a_start_at_the_same_millisecond_count_it_once() {
    let mut f = Feed::new(MeterConfig::default());
    f.m.add_price_table({
        let mut p = prices();
        p.version = 2;
        p.sub_second = SubSecond::Exact;
        p
    })
    .unwrap();
    f.ok(1, 0, started(shape()));
    f.ok(1, 2_500, EventKind::Stopped);
    f.ok(1, 2_500, started(shape()));
    f.ok(1, 4_000, EventKind::Stopped);
    assert_eq!(usage_of(&f.close(HOUR)).instance_ms, 4_000);
}

// ---------------------------------------------------------------- 7

#[test]
fn g7_period_boundaries_split_usage_and_the_minimum_applies_once_per_run() {
    let mut p = prices();
    p.version = 2;
    p.minimum_run_seconds = 60;
    let run = |cuts: &[u64]| {
        let mut f = Feed::default();
        f.m.add_price_table(p.clone()).unwrap();
        f.ok(1, 0, started(shape()));
        f.ok(1, 30_200, EventKind::Stopped);
        let mut reports = vec![];
        for &c in cuts {
            reports.push(f.close(c));
        }
        reports
    };
    let whole = run(&[HOUR]);
    assert_eq!(usage_of(&whole[0]).instance_ms, 60_000);
    assert_eq!(usage_of(&whole[0]).top_up_ms, 29_800);
    let split = run(&[10_000, 20_000, HOUR]);
    let ms: Vec<i128> = split.iter().map(|r| usage_of(r).instance_ms).collect();
    // 10 s, 10 s, then 10.2 s and the top-up of 29.8 s where the run ends.
    assert_eq!(ms, [10_000, 10_000, 40_000]);
    assert_eq!(
        split.iter().map(exact_of).sum::<i128>(),
        exact_of(&whole[0])
    );
}

#[test]
fn g7_rounding_applies_once_per_run_not_per_piece() {
    // 2.5 s cut at 1.2 s: per piece 2 s + 2 s = 4 s; once per run 3 s.
    let mut f = Feed::default();
    f.ok(1, 0, started(shape()));
    f.ok(1, 2_500, EventKind::Stopped);
    let a = f.close(1_200);
    let b = f.close(HOUR);
    assert_eq!(usage_of(&a).instance_ms, 1_200);
    assert_eq!(usage_of(&b).instance_ms, 1_800);
    assert_eq!(usage_of(&b).top_up_ms, 500);
}

#[test]
fn sub_second_usage_is_rounded_up_once_per_run() {
    let mut f = Feed::default();
    // Three runs of 1 ms, 1,000 ms and 1,001 ms: 1 s, 1 s, 2 s.
    f.ok(1, 0, started(shape()));
    f.ok(1, 1, EventKind::Stopped);
    f.ok(1, 10_000, started(shape()));
    f.ok(1, 11_000, EventKind::Stopped);
    f.ok(1, 20_000, started(shape()));
    f.ok(1, 21_001, EventKind::Stopped);
    let r = f.close(HOUR);
    assert_eq!(usage_of(&r).instance_ms, 4_000);
    assert_eq!(usage_of(&r).top_up_ms, 999 + 999);
    // Exact milliseconds instead: 2,002 ms.
    let mut f = Feed::default();
    let mut exact = prices();
    exact.version = 2;
    exact.sub_second = SubSecond::Exact;
    f.m.add_price_table(exact).unwrap();
    f.ok(1, 0, started(shape()));
    f.ok(1, 1, EventKind::Stopped);
    f.ok(1, 20_000, started(shape()));
    f.ok(1, 22_001, EventKind::Stopped);
    assert_eq!(usage_of(&f.close(HOUR)).instance_ms, 2_002);
}

// ---------------------------------------------------------------- 8

#[test]
fn g8_idle_discounts_cpu_only_unless_memory_is_configured() {
    let gpu = Resources::new(2_000, 4_096, 0, 1).unwrap();
    let run = |idle_memory: Option<i128>| {
        let mut f = Feed::default();
        let mut p = prices();
        p.version = 2;
        p.idle_memory_nanos_per_gib_second = idle_memory;
        f.m.add_price_table(p).unwrap();
        f.ok(1, 0, started(gpu));
        f.ok(1, 10_000, EventKind::Idle);
        f.ok(1, 30_000, EventKind::Stopped);
        f.close(HOUR)
    };
    let r = run(None);
    // CPU: 10 s active at 10,000, 20 s idle at 2,000 per vCPU-s.
    assert_eq!(line(&r, Component::Cpu).amount_nanos, 2 * 10 * 10_000);
    assert_eq!(line(&r, Component::IdleCpu).amount_nanos, 2 * 20 * 2_000);
    // Memory: all 30 s at the full 1,000 per GiB-s, on one line: there is
    // no idle memory line at the full rate.
    assert_eq!(line(&r, Component::Memory).quantity, 4_096 * 30_000);
    assert_eq!(line(&r, Component::Memory).amount_nanos, 4 * 30 * 1_000);
    assert!(
        r.invoices[0]
            .lines
            .iter()
            .all(|l| l.component != Component::IdleMemory)
    );
    // The usage record still tells idle memory apart.
    assert_eq!(usage_of(&r).idle_memory_mib_ms, 4_096 * 20_000);
    // Accelerators: all 30 s at the full rate.
    assert_eq!(line(&r, Component::Accelerators).amount_nanos, 30 * 50_000);

    let r = run(Some(400));
    assert_eq!(line(&r, Component::IdleMemory).amount_nanos, 4 * 20 * 400);
    assert_eq!(line(&r, Component::Memory).amount_nanos, 4 * 10 * 1_000);
    assert_eq!(line(&r, Component::IdleCpu).amount_nanos, 2 * 20 * 2_000);
    assert_eq!(line(&r, Component::Accelerators).amount_nanos, 30 * 50_000);
}

#[test]
fn g8_idle_rates_can_be_neither_negative_nor_above_active() {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let mut p = prices();
    p.idle_cpu_nanos_per_vcpu_second = -1;
    assert_eq!(
        m.add_price_table(p),
        Err(MeterError::InvalidPrice {
            version: 1,
            source: PriceError::NegativeRate {
                rate: "idle_cpu_nanos_per_vcpu_second",
                value: -1
            }
        })
    );
    let mut p = prices();
    p.idle_cpu_nanos_per_vcpu_second = 10_001;
    assert!(matches!(
        m.add_price_table(p),
        Err(MeterError::InvalidPrice {
            source: PriceError::IdleAboveActive { idle: 10_001, .. },
            ..
        })
    ));
    let mut p = prices();
    p.idle_memory_nanos_per_gib_second = Some(1_001);
    assert!(matches!(
        m.add_price_table(p),
        Err(MeterError::InvalidPrice {
            source: PriceError::IdleAboveActive {
                rate: "idle_memory_nanos_per_gib_second",
                ..
            },
            ..
        })
    ));
    assert!(m.price_tables().is_empty());
}

// ---------------------------------------------------------------- 9

#[test]
fn g9_scale_to_zero_costs_exactly_zero() {
    let mut p = prices();
    p.version = 2;
    p.minimum_run_seconds = 60;
    let mut f = Feed::default();
    f.m.add_price_table(p).unwrap();
    f.ok(1, 0, started(shape()));
    f.ok(1, HOUR - 1_000, EventKind::Stopped);
    // Started and stopped in the same millisecond: no phantom minimum.
    f.ok(2, 500, started(shape()));
    f.ok(2, 500, EventKind::Stopped);
    let r = f.close(HOUR);
    assert_eq!(usage_of(&r).instance_ms, i128::from(HOUR - 1_000));
    // Nothing runs: the next periods bill nothing at all.
    for k in 2..5 {
        let r = f.close(k * HOUR);
        assert!(r.usage.is_empty() && r.invoices.is_empty(), "{r:?}");
    }
}

// ---------------------------------------------------------------- 10

#[test]
fn g10_a_price_change_mid_period_splits_at_the_change() {
    let mut f = Feed::default();
    let mut v2 = prices();
    v2.version = 2;
    v2.effective = Timestamp(20_000);
    v2.cpu_nanos_per_vcpu_second = 30_000;
    f.m.add_price_table(v2).unwrap();
    f.ok(1, 5_000, started(shape()));
    f.ok(1, 50_000, EventKind::Stopped);
    let r = f.close(HOUR);
    let priced = &r.usage[0].priced;
    assert_eq!(priced.len(), 2);
    assert_eq!(
        (priced[0].price_version, priced[0].usage.instance_ms),
        (1, 15_000)
    );
    assert_eq!(
        (priced[1].price_version, priced[1].usage.instance_ms),
        (2, 30_000)
    );
    // 2 vCPU × (15 s × 10,000 + 30 s × 30,000) + 4 GiB × 45 s × 1,000.
    assert_eq!(
        total_of(&r),
        2 * (15 * 10_000 + 30 * 30_000) + 4 * 45 * 1_000
    );
}

#[test]
fn g10_a_closed_period_is_never_repriced() {
    let mut f = Feed::default();
    f.ok(1, 0, started(shape()));
    let closed = f.close(HOUR);
    let mut v2 = prices();
    v2.version = 2;
    v2.effective = Timestamp(HOUR - 1);
    v2.cpu_nanos_per_vcpu_second = 1;
    v2.idle_cpu_nanos_per_vcpu_second = 1;
    assert_eq!(
        f.m.add_price_table(v2.clone()),
        Err(MeterError::PriceInClosedPeriod {
            version: 2,
            effective: Timestamp(HOUR - 1),
            closed_until: Timestamp(HOUR),
        })
    );
    v2.effective = Timestamp(HOUR);
    f.m.add_price_table(v2.clone()).unwrap();
    assert_eq!(
        f.m.add_price_table(v2),
        Err(MeterError::StaleVersion {
            version: 2,
            latest: 2
        })
    );
    // The old period's prices stay in force for it.
    assert_eq!(f.m.price_at(Timestamp(HOUR - 1)).unwrap().version, 1);
    assert_eq!(f.m.price_at(Timestamp(HOUR)).unwrap().version, 2);
    // A late event for the closed period is priced at its prices.
    f.ok(1, HOUR - 10_000, EventKind::Idle);
    let adj: Vec<&Adjustment> = f.m.pending_adjustments().collect();
    assert_eq!(adj[0].price_version, 1);
    assert_eq!(
        closed.invoices[0].total_nanos,
        2 * 3_600 * 10_000 + 4 * 3_600 * 1_000
    );
}

// ---------------------------------------------------------------- 11

#[test]
fn g11_a_late_stop_becomes_an_adjustment_that_names_what_it_corrects() {
    let mut p = prices();
    p.version = 2;
    p.minimum_run_seconds = 60;
    let on_time = {
        let mut f = Feed::default();
        f.m.add_price_table(p.clone()).unwrap();
        f.ok(1, HOUR - 40_500, started(shape()));
        f.ok(1, HOUR - 10_000, EventKind::Stopped);
        [f.close(HOUR), f.close(2 * HOUR), f.close(3 * HOUR)]
    };
    let mut f = Feed::new(MeterConfig {
        adjustment_window_ms: 3 * HOUR,
        ..MeterConfig::default()
    });
    f.m.add_price_table(p).unwrap();
    f.ok(1, HOUR - 40_500, started(shape()));
    let p0 = f.close(HOUR);
    let p1 = f.close(2 * HOUR);
    // The stop arrives two periods late.
    let stop = f.ev(1, HOUR - 10_000, EventKind::Stopped);
    assert_eq!(f.m.ingest(&stop, f.now), Ok(Ingested::Adjusted));
    assert_eq!(f.m.ingest(&stop, f.now), Ok(Ingested::Duplicate));
    assert!(!f.m.is_running(InstanceId(1)));
    let pending: Vec<Adjustment> = f.m.pending_adjustments().cloned().collect();
    assert_eq!(pending.len(), 2);
    // Period 0: 10 s taken back, 29.5 s of minimum added (30.5 s ran).
    assert_eq!(pending[0].event, stop.id);
    assert_eq!(pending[0].corrects, PeriodId(0));
    assert_eq!(pending[0].recorded_in, PeriodId(2));
    assert_eq!(pending[0].usage.instance_ms, -10_000 + 29_500);
    assert_eq!(pending[0].usage.top_up_ms, 29_500);
    // Period 1: the whole hour taken back.
    assert_eq!(pending[1].corrects, PeriodId(1));
    assert_eq!(pending[1].usage.instance_ms, -i128::from(HOUR));
    let p2 = f.close(3 * HOUR);
    assert_eq!(p2.adjustments, pending);
    assert!(p2.usage.is_empty());
    let lines = &p2.invoices[0].lines;
    assert!(lines.iter().all(|l| l.corrects.is_some()));
    assert!(p2.invoices[0].total_nanos < 0, "a credit");
    // The closed reports are what they were; with the adjustments the
    // money is exactly what on-time delivery would have billed.
    let late = [&p0, &p1, &p2].map(exact_of).iter().sum::<i128>();
    assert_eq!(late, on_time.iter().map(exact_of).sum::<i128>());
    assert_eq!(usage_of(&on_time[0]).instance_ms, 60_000);
}

#[test]
fn g11_a_late_start_adds_usage_to_the_closed_period() {
    let mut f = Feed::default();
    let _ = f.close(HOUR);
    assert_eq!(
        f.send(1, HOUR - 2_000, started(shape())),
        Ok(Ingested::Adjusted)
    );
    // It keeps running into the open period.
    f.ok(1, HOUR + 3_000, EventKind::Stopped);
    let r = f.close(2 * HOUR);
    assert_eq!(r.adjustments.len(), 1);
    assert_eq!(r.adjustments[0].usage.instance_ms, 2_000);
    assert_eq!(usage_of(&r).instance_ms, 3_000);
    let adj: Vec<&InvoiceLine> = r.invoices[0]
        .lines
        .iter()
        .filter(|l| l.corrects == Some(PeriodId(0)))
        .collect();
    assert_eq!(adj.len(), 2); // cpu and memory
    assert_eq!(total_of(&r), (2 * 10_000 + 4 * 1_000) * 5);
}

// ---------------------------------------------------------------- 12

#[test]
fn g12_overflow_is_an_error_never_a_wrap() {
    let mut f = Feed::default();
    let mut huge = prices();
    huge.version = 2;
    huge.cpu_nanos_per_vcpu_second = i128::MAX / 1_000;
    huge.idle_cpu_nanos_per_vcpu_second = 0;
    f.m.add_price_table(huge).unwrap();
    f.ok(1, 0, started(Resources::cpu_mem(10_000_000, 1).unwrap()));
    let before = f.state();
    assert_eq!(
        f.m.close_period(Timestamp(HOUR), f.now),
        Err(MeterError::Overflow {
            what: "line amount"
        })
    );
    assert_eq!(f.state(), before);
    // A sane table for the open period fixes it.
    let mut sane = prices();
    sane.version = 3;
    f.m.add_price_table(sane).unwrap();
    let r = f.close(HOUR);
    // 10,000 vCPU × 3,600 s × 10,000 = 360,000,000,000, plus
    // 1 MiB × 3,600 s × 1,000 / 1,024 = 3,515.625: rounded once, half up.
    assert_eq!(total_of(&r), 360_000_003_516);
}

#[test]
fn g12_no_floats_near_money() {
    let sources = [
        include_str!("../src/metering/mod.rs"),
        include_str!("../src/metering/event.rs"),
        include_str!("../src/metering/price.rs"),
        include_str!("../src/metering/usage.rs"),
        include_str!("../src/metering/invoice.rs"),
        include_str!("../src/metering/error.rs"),
        include_str!("../src/metering/snapshot.rs"),
    ];
    for s in sources {
        for word in ["f32", "f64", "as f"] {
            assert!(!s.contains(word), "{word} in metering source");
        }
    }
}

// ---------------------------------------------------------------- other errors

#[test]
fn period_and_config_errors() {
    assert_eq!(
        Meter::new(MeterConfig {
            invoice: InvoiceRule {
                unit_nanos: 0,
                rounding: Rounding::HalfUp,
            },
            ..MeterConfig::default()
        })
        .unwrap_err(),
        MeterError::InvoiceUnit { unit_nanos: 0 }
    );
    let mut f = Feed::default();
    assert_eq!(
        f.m.close_period(Timestamp(0), f.now),
        Err(MeterError::EmptyPeriod {
            start: Timestamp(0),
            end: Timestamp(0),
        })
    );
    assert_eq!(
        f.m.close_period(Timestamp(f.now.0 + 1), f.now),
        Err(MeterError::PeriodNotOver {
            end: Timestamp(f.now.0 + 1),
            now: f.now,
        })
    );
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let e = Event {
        id: EventId(1),
        tenant: id("acme"),
        app: id("web"),
        instance: InstanceId(1),
        at: Timestamp(5),
        kind: started(shape()),
        source: None,
    };
    let _ = m.ingest(&e, Timestamp(10)).unwrap();
    assert_eq!(
        m.close_period(Timestamp(10), Timestamp(10)),
        Err(MeterError::NoPrice { at: Timestamp(5) })
    );
    assert_eq!(m.open_period(), (PeriodId(0), Timestamp(0)));
}

#[test]
fn derived_ids_are_stable_and_bounded() {
    let a = EventId::derived(InstanceId(7), &EventKind::Stopped, Timestamp(99), 0).unwrap();
    let b = EventId::derived(InstanceId(7), &EventKind::Stopped, Timestamp(99), 0).unwrap();
    let c = EventId::derived(InstanceId(7), &EventKind::Stopped, Timestamp(99), 1).unwrap();
    let d = EventId::derived(InstanceId(7), &EventKind::Idle, Timestamp(99), 0).unwrap();
    assert_eq!(a, b);
    assert!(a != c && a != d && c != d);
    assert_eq!(
        EventId::derived(
            InstanceId(7),
            &EventKind::Idle,
            Timestamp(EventId::DERIVED_TIME_LIMIT),
            0
        ),
        Err(MeterError::IdOutOfRange {
            instance: InstanceId(7),
            at: Timestamp(EventId::DERIVED_TIME_LIMIT),
            occurrence: 0,
        })
    );
    assert!(EventId::derived(InstanceId(7), &EventKind::Idle, Timestamp(0), 4_096).is_err());
}

#[test]
fn delivered_skus_are_recorded_beside_the_billed_shape() {
    let mut f = Feed::default();
    f.ok(
        1,
        0,
        EventKind::Started {
            resources: shape(),
            delivered: Some(id("g7")),
            zone: None,
        },
    );
    f.ok(
        1,
        10_000,
        EventKind::Resized {
            resources: shape(),
            delivered: Some(id("g8i")),
            zone: None,
        },
    );
    f.ok(
        1,
        15_000,
        EventKind::Resized {
            resources: Resources::cpu_mem(4_000, 4_096).unwrap(),
            delivered: None, // keeps g8i
            zone: None,
        },
    );
    f.ok(2, 0, started(shape()));
    f.ok(2, 1_000, EventKind::Stopped);
    f.ok(1, 20_400, EventKind::Stopped);
    let r = f.close(HOUR);
    let d: Vec<(Option<String>, i128)> = r.usage[0]
        .delivered
        .iter()
        .map(|d| (d.sku.as_ref().map(|s| s.to_string()), d.instance_ms))
        .collect();
    assert_eq!(
        d,
        [
            (None, 1_000),
            (Some("g7".into()), 10_000),
            (Some("g8i".into()), 10_400 + 600),
        ]
    );
    // Billed on the requested shape: 2 vCPU for 15 s, then 4 vCPU for
    // 5.4 s and its 0.6 s top-up; plus instance 2's 1 s of 2 vCPU.
    assert_eq!(
        line(&r, Component::Cpu).quantity,
        2_000 * 15_000 + 4_000 * 6_000 + 2_000 * 1_000
    );
}

#[test]
fn invoices_round_once_and_lines_sum_to_the_total() {
    // Rounded to cents (10,000,000 nano-units): three apps of a third of a
    // cent each make one cent, given to the first line on the tie.
    let mut f = Feed::new(MeterConfig {
        invoice: InvoiceRule {
            unit_nanos: 10_000_000,
            rounding: Rounding::HalfUp,
        },
        ..MeterConfig::default()
    });
    let mut p = PriceTable::new(2, Timestamp(0), 0, 0, 0);
    // 3,333,333.33... nano per accelerator-second; one second each.
    p.accelerator_nanos_per_second = 3_333_333;
    f.m.add_price_table(p).unwrap();
    let gpu = Resources::new(1, 1, 0, 1).unwrap();
    for (i, app) in ["a", "b", "c"].iter().enumerate() {
        let i = i as u64 + 1;
        let mut e = f.ev(i, 0, started(gpu));
        e.app = id(app);
        let _ = f.m.ingest(&e, f.now).unwrap();
        let mut e = f.ev(i, 1_000, EventKind::Stopped);
        e.app = id(app);
        let _ = f.m.ingest(&e, f.now).unwrap();
    }
    let r = f.close(HOUR);
    let inv = &r.invoices[0];
    let acc: Vec<&InvoiceLine> = inv
        .lines
        .iter()
        .filter(|l| l.component == Component::Accelerators)
        .collect();
    assert_eq!(acc.len(), 3);
    // Each line is 3,333,333 nano exactly: 0.3333333 cents; the total
    // 0.9999999 cents rounds once to 1 cent.
    assert_eq!(inv.total_nanos, 10_000_000);
    let amounts: Vec<i128> = acc.iter().map(|l| l.amount_nanos).collect();
    assert_eq!(amounts, [10_000_000, 0, 0]);
    assert_eq!(
        inv.lines.iter().map(|l| l.amount_nanos).sum::<i128>(),
        inv.total_nanos
    );
    assert_eq!(
        inv.exact_subnanos,
        inv.lines.iter().map(|l| l.exact_subnanos).sum::<i128>()
    );
}

// ---------------------------------------------------------------- scheduler

fn region() -> (Scheduler, AppId) {
    let mut s = Scheduler::default();
    s.add_zone(id("zone-a"), ZoneState::Up, s.now()).unwrap();
    s.add_sku(common::sku("ecs.g7.2xlarge", 8_000, 32_768), s.now())
        .unwrap();
    for h in 1..=2 {
        let _ = s
            .add_host(
                common::host_spec(h, "ecs.g7.2xlarge", "zone-a"),
                Timestamp(0),
            )
            .unwrap();
    }
    let shop: AppId = id("shop");
    s.add_app(
        AppSpec::new(
            shop.clone(),
            id("acme"),
            Resources::cpu_mem(1_500, 3_072).unwrap(), // 1.5 vCPU, 3 GiB
        ),
        s.now(),
    )
    .unwrap();
    (s, shop)
}

/// Drives the scheduler and feeds every decision to the meter.
struct Platform {
    s: Scheduler,
    m: Meter,
    log: Vec<Event>,
}

impl Platform {
    fn feed(&mut self, events: Vec<Event>, now: Timestamp) {
        for e in events {
            assert_eq!(self.m.ingest(&e, now), Ok(Ingested::Applied), "{e:?}");
            self.log.push(e);
        }
    }

    fn scale(&mut self, app: &AppId, n: u32, at: u64) {
        let now = Timestamp(at);
        let d = self.s.scale(app, n, now).unwrap();
        let events = decision_events(&d, &self.s, now).unwrap();
        self.feed(events, now);
    }

    fn idle(&mut self, instance: u64, at: u64) {
        let kind = EventKind::Idle;
        let e = Event {
            id: EventId::derived(InstanceId(instance), &kind, Timestamp(at), 0).unwrap(),
            tenant: id("acme"),
            app: id("shop"),
            instance: InstanceId(instance),
            at: Timestamp(at),
            kind,
            source: None,
        };
        self.feed(vec![e], Timestamp(at));
    }
}

#[test]
fn end_to_end_scale_up_idle_scale_to_zero_and_back() {
    let (s, shop) = region();
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let mut p = PriceTable::new(1, Timestamp(0), 7_001, 1_003, 0);
    p.idle_cpu_nanos_per_vcpu_second = 1_401; // about 0.2x
    p.minimum_run_seconds = 60;
    m.add_price_table(p).unwrap();
    let mut x = Platform { s, m, log: vec![] };

    x.scale(&shop, 2, 0); // i-1, i-2 start
    x.scale(&shop, 3, 600_000); // i-3 starts
    for i in 1..=3 {
        x.idle(i, 1_200_000); // the shop goes quiet
    }
    x.scale(&shop, 0, 1_800_500); // scale to zero: all three stop
    x.scale(&shop, 1, 2_400_000); // i-4 starts
    x.scale(&shop, 0, 2_430_200); // ... and stops after 30.2 s
    x.scale(&shop, 1, 3_000_000); // i-5 starts, runs past the period end
    let p0 = x.m.close_period(Timestamp(HOUR), Timestamp(HOUR)).unwrap();
    // Replaying every event is a no-op: the ids are derived, and remembered
    // for the adjustment window (an hour) after the close.
    for e in &x.log {
        assert_eq!(x.m.ingest(e, Timestamp(HOUR)), Ok(Ingested::Duplicate));
    }

    // Hand computation, period [0, 3,600 s):
    //   i-1, i-2: active [0, 1,200 s) = 1,200 s; idle [1,200, 1,800.5 s)
    //             = 600.5 s; the run is 1,800.5 s, rounded up once to
    //             1,801 s: a 0.5 s top-up, idle. Idle 601 s each.
    //   i-3:      active [600, 1,200 s) = 600 s; idle 600.5 s + 0.5 s = 601 s.
    //   i-4:      active 30.2 s; the 60 s minimum adds 29.8 s: 60 s.
    //   i-5:      active [3,000, 3,600 s) = 600 s, still running: no top-up.
    //   Active vCPU-s: 1.5 × (1,200 + 1,200 + 600 + 60 + 600) = 5,490
    //     × 7,001                                   = 38,435,490
    //   Idle vCPU-s:   1.5 × 601 × 3 = 2,704.5
    //     × 1,401                                   =  3,789,004.5
    //   Memory GiB-s, active: 3 × (1,200 + 1,200 + 600 + 60 + 600) = 10,980
    //     and idle: 3 × 601 × 3 = 5,409, on one line (idle memory is
    //     not discounted): 16,389 × 1,003           = 16,438,167
    //   Exact total                                 = 58,662,661.5
    //   Rounded once, half up                       = 58,662,662
    //   The half goes to the only line with a remainder, idle CPU:
    //   3,789,005.
    let inv = &p0.invoices[0];
    assert_eq!(inv.tenant, id("acme"));
    assert_eq!(inv.total_nanos, 58_662_662);
    assert_eq!(
        inv.exact_subnanos,
        58_662_661 * SUBNANOS_PER_NANO + SUBNANOS_PER_NANO / 2
    );
    let amounts: Vec<(Component, i128, i128)> = inv
        .lines
        .iter()
        .map(|l| (l.component, l.rate_nanos, l.amount_nanos))
        .collect();
    assert_eq!(
        amounts,
        [
            (Component::Cpu, 7_001, 38_435_490),
            (Component::IdleCpu, 1_401, 3_789_005),
            (Component::Memory, 1_003, 16_438_167),
        ]
    );
    assert_eq!(
        inv.lines.iter().map(|l| l.amount_nanos).sum::<i128>(),
        58_662_662
    );
    // Usage: 1,801 + 1,801 + 1,201 + 60 + 600 = 5,463 instance-seconds,
    // of which 0.5 × 3 + 29.8 = 31.3 s rounding and minimum, all on g7.
    let u = p0.usage[0].total().unwrap();
    assert_eq!((u.instance_ms, u.top_up_ms), (5_463_000, 31_300));
    assert_eq!(p0.usage[0].delivered.len(), 1);
    assert_eq!(p0.usage[0].delivered[0].sku, Some(id("ecs.g7.2xlarge")));

    // Period [3,600 s, 7,200 s): i-5 stops at 3,630 s. Its run is 630 s,
    // whole seconds above the minimum: no top-up.
    //   1.5 × 30 × 7,001 = 315,045; 3 × 30 × 1,003 = 90,270; 405,315.
    x.scale(&shop, 0, 3_630_000);
    let p1 =
        x.m.close_period(Timestamp(2 * HOUR), Timestamp(2 * HOUR))
            .unwrap();
    assert_eq!(p1.invoices[0].total_nanos, 405_315);

    // Scaled to zero: the next period costs exactly nothing.
    let p2 =
        x.m.close_period(Timestamp(3 * HOUR), Timestamp(3 * HOUR))
            .unwrap();
    assert!(p2.invoices.is_empty() && p2.usage.is_empty());

    // Long after, a replay is refused (the ids are forgotten), never
    // counted twice.
    for e in &x.log {
        assert!(matches!(
            x.m.ingest(e, Timestamp(3 * HOUR)),
            Err(MeterError::BeforeHorizon { .. })
        ));
    }
}

#[test]
fn decision_events_order_an_eviction_and_a_replacement() {
    let (mut s, shop) = region();
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(prices()).unwrap();
    let d = s.scale(&shop, 1, Timestamp(1_000)).unwrap();
    let host = d.placements[0].host;
    for e in decision_events(&d, &s, Timestamp(1_000)).unwrap() {
        assert_eq!(m.ingest(&e, Timestamp(1_000)), Ok(Ingested::Applied));
    }
    // The host goes: the instance is evicted and placed on the other host
    // in the same call, which is a stop and a start at the same time.
    let d = s.remove_host(host, Timestamp(5_000)).unwrap();
    assert_eq!((d.evictions.len(), d.placements.len()), (1, 1));
    let events = decision_events(&d, &s, Timestamp(5_000)).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds, ["stopped", "started"]);
    for e in &events {
        assert_eq!(m.ingest(e, Timestamp(5_000)), Ok(Ingested::Applied));
    }
    assert!(m.is_running(d.placements[0].instance));
    // Derived again, the same ids: duplicates.
    for e in decision_events(&d, &s, Timestamp(5_000)).unwrap() {
        assert_eq!(m.ingest(&e, Timestamp(5_000)), Ok(Ingested::Duplicate));
    }
}

#[test]
fn decision_events_errors() {
    let (s, _) = region();
    let mut d = Decisions::default();
    d.removals.push(Removal {
        instance: InstanceId(9),
        app: id("ghost"),
        host: Some(HostId(1)),
    });
    assert_eq!(
        decision_events(&d, &s, Timestamp(0)),
        Err(MeterError::UnknownApp(id("ghost")))
    );
    // Two stops of an instance that is not running: out of step.
    let mut d = Decisions::default();
    for _ in 0..2 {
        d.removals.push(Removal {
            instance: InstanceId(9),
            app: id("shop"),
            host: Some(HostId(1)),
        });
    }
    assert_eq!(
        decision_events(&d, &s, Timestamp(0)),
        Err(MeterError::DecisionsMismatch {
            instance: InstanceId(9)
        })
    );
    // A pending instance removed from no host: no event.
    let mut d = Decisions::default();
    d.removals.push(Removal {
        instance: InstanceId(9),
        app: id("shop"),
        host: None,
    });
    assert_eq!(decision_events(&d, &s, Timestamp(0)), Ok(vec![]));
    // A stop the scheduler did not make at that time: out of step.
    let mut d = Decisions::default();
    d.removals.push(Removal {
        instance: InstanceId(9),
        app: id("shop"),
        host: Some(HostId(1)),
    });
    assert_eq!(
        decision_events(&d, &s, Timestamp(0)),
        Err(MeterError::DecisionsMismatch {
            instance: InstanceId(9)
        })
    );
    let (mut s, shop) = region();
    let at = Timestamp(EventId::DERIVED_TIME_LIMIT);
    let d = s.scale(&shop, 1, at).unwrap();
    assert_eq!(
        decision_events(&d, &s, at),
        Err(MeterError::IdOutOfRange {
            instance: InstanceId(1),
            at,
            occurrence: 0,
        })
    );
}

/// Instances on planned hosts never ran: a tentative placement starts no
/// run, and removing it stops none; the run starts when `host_ready`
/// returns its placement.
#[test]
fn tentative_instances_are_not_metered_until_their_host_is_ready() {
    let mut sim = common::Sim::new();
    sim.zones(&["a"]);
    sim.sku(common::sku("g7.4x", 16_000, 65_536));
    sim.app(common::app("web", 4_000, 8_192));
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("g7.4x"), &id("a"), Stock::Unknown, t)
        .unwrap();
    let t = sim.tick(1);
    let d = sim.s.scale(&id("web"), 2, t).unwrap();
    assert_eq!(d.tentative.len(), 2);
    assert_eq!(decision_events(&d, &sim.s, t).unwrap(), vec![]);
    let t = sim.tick(1);
    let d = sim.s.scale(&id("web"), 1, t).unwrap();
    assert_eq!(d.removals.len(), 1);
    assert_eq!(decision_events(&d, &sim.s, t).unwrap(), vec![]);
    let planned = sim.s.host_ids().find(|h| h.is_planned()).unwrap();
    let t = sim.tick(1);
    let d = sim.s.host_ready(planned, HostId(7), t).unwrap();
    let events = decision_events(&d, &sim.s, t).unwrap();
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0].kind, EventKind::Started { .. }));
}

/// Names shared between events (one allocation, as `decision_events`
/// makes them) and names parsed afresh for every event are the same names:
/// the same reports, the same duplicates, the same owner checks, for many
/// apps and SKUs (more than the meter's lookup hints have slots).
#[test]
fn shared_and_fresh_names_meter_alike() {
    let apps = 1_500usize;
    let shared: Vec<(TenantId, AppId, SkuId)> = (0..apps)
        .map(|a| {
            (
                id_of(&format!("t{}", a % 7)),
                id_of(&format!("app-{a}")),
                id_of(&format!("sku-{}", a % 40)),
            )
        })
        .collect();
    let run = |fresh: bool| {
        let mut m = Meter::new(MeterConfig::default()).unwrap();
        m.add_price_table(prices()).unwrap();
        let names = |a: usize| -> (TenantId, AppId, SkuId) {
            if fresh {
                (
                    id_of(&format!("t{}", a % 7)),
                    id_of(&format!("app-{a}")),
                    id_of(&format!("sku-{}", a % 40)),
                )
            } else {
                shared[a].clone()
            }
        };
        let mut results = vec![];
        let now = Timestamp(HOUR);
        for i in 0..3 * apps {
            let a = (i * 7) % apps;
            let (tenant, app, sku) = names(a);
            let start = Event {
                id: EventId(i as u128),
                tenant: tenant.clone(),
                app: app.clone(),
                instance: InstanceId(i as u64),
                at: Timestamp(i as u64),
                kind: EventKind::Started {
                    resources: shape(),
                    delivered: Some(sku),
                    zone: None,
                },
                source: None,
            };
            results.push(format!("{:?}", m.ingest(&start, now)));
            results.push(format!("{:?}", m.ingest(&start, now)));
            // Another app's name for the same instance: refused.
            let (_, other, _) = names((a + 1) % apps);
            let stop = Event {
                id: EventId((1 << 64) + i as u128),
                app: other,
                at: Timestamp(i as u64 + 1_000),
                kind: EventKind::Stopped,
                ..start.clone()
            };
            results.push(format!("{:?}", m.ingest(&stop, now)));
            let stop = Event { app, ..stop };
            results.push(format!("{:?}", m.ingest(&stop, now)));
        }
        let report = m.close_period(now, now).unwrap();
        (results, report)
    };
    let (shared_results, shared_report) = run(false);
    let (fresh_results, fresh_report) = run(true);
    assert_eq!(shared_results, fresh_results);
    assert_eq!(shared_report, fresh_report);
    assert_eq!(shared_report.usage.len(), apps);
    assert_eq!(
        &shared_results[..4],
        [
            "Ok(Applied)",
            "Ok(Duplicate)",
            "Err(OwnerMismatch { instance: InstanceId(0), owner_tenant: TenantId(\"t0\"), owner_app: AppId(\"app-0\"), tenant: TenantId(\"t0\"), app: AppId(\"app-1\") })",
            "Ok(Applied)"
        ]
    );
}

// ------------------------------------------- ids across calls at one time

/// One g7.2xlarge host (8 vCPU, 32 GiB) in zone-a and the `shop` app
/// (1.5 vCPU, 3 GiB); the meter at 10,000 per vCPU-s, 1,000 per GiB-s.
fn one_host() -> (Scheduler, AppId, Meter) {
    let mut s = Scheduler::default();
    s.add_zone(id("zone-a"), ZoneState::Up, s.now()).unwrap();
    s.add_sku(common::sku("ecs.g7.2xlarge", 8_000, 32_768), s.now())
        .unwrap();
    let _ = s
        .add_host(
            common::host_spec(1, "ecs.g7.2xlarge", "zone-a"),
            Timestamp(0),
        )
        .unwrap();
    let shop: AppId = id("shop");
    s.add_app(
        AppSpec::new(
            shop.clone(),
            id("acme"),
            Resources::cpu_mem(1_500, 3_072).unwrap(),
        ),
        s.now(),
    )
    .unwrap();
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))
        .unwrap();
    (s, shop, m)
}

/// Derive the events of `d` and ingest them: each must apply (none is a
/// duplicate); derived again, each is a duplicate. Returns the events.
fn meter_call(s: &Scheduler, m: &mut Meter, d: &Decisions, now: Timestamp) -> Vec<Event> {
    let events = decision_events(d, s, now).unwrap();
    for e in &events {
        assert_eq!(m.ingest(e, now), Ok(Ingested::Applied), "{e:?}");
    }
    for e in decision_events(d, s, now).unwrap() {
        assert_eq!(m.ingest(&e, now), Ok(Ingested::Duplicate), "{e:?}");
    }
    events
}

/// Start, stop and start of one instance at one millisecond, by three
/// separate calls: three events with three ids, and the second run is
/// billed (it used to get the first start's id and be dropped as its
/// duplicate).
#[test]
fn separate_calls_at_one_millisecond_derive_distinct_ids() {
    let (mut s, shop, mut m) = one_host();
    let t = Timestamp(1_000);
    let mut ids = vec![];
    let d = s.scale(&shop, 1, t).unwrap(); // starts on host 1
    let instance = d.placements[0].instance;
    ids.extend(meter_call(&s, &mut m, &d, t).iter().map(|e| e.id));
    let d = s.remove_host(HostId(1), t).unwrap(); // stops: no other host
    assert_eq!((d.evictions.len(), d.placements.len()), (1, 0));
    ids.extend(meter_call(&s, &mut m, &d, t).iter().map(|e| e.id));
    let d = s
        .add_host(common::host_spec(2, "ecs.g7.2xlarge", "zone-a"), t)
        .unwrap(); // starts again
    assert_eq!(d.placements[0].instance, instance);
    ids.extend(meter_call(&s, &mut m, &d, t).iter().map(|e| e.id));
    assert_eq!(ids.len(), 3);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every event has its own id");
    assert!(m.is_running(instance));

    // It stops a minute later; the period is billed a minute of it.
    let later = Timestamp(61_000);
    let d = s.scale(&shop, 0, later).unwrap();
    let _ = meter_call(&s, &mut m, &d, later);
    let report = m.close_period(Timestamp(HOUR), Timestamp(HOUR)).unwrap();
    let usage = report.usage[0].total().unwrap();
    assert_eq!(usage.instance_ms, 60_000);
    // 1.5 vCPU × 60 s × 10,000 + 3 GiB × 60 s × 1,000.
    assert_eq!(report.invoices[0].total_nanos, 900_000 + 180_000);
}

/// Stop, start, stop of one instance at one millisecond: the two stops
/// have their own ids too (a lost stop would bill the run forever).
#[test]
fn two_stops_of_one_instance_at_one_millisecond_are_both_applied() {
    let (mut s, shop, mut m) = one_host();
    let d = s.scale(&shop, 1, Timestamp(1_000)).unwrap();
    let _ = meter_call(&s, &mut m, &d, Timestamp(1_000));
    let t = Timestamp(5_000);
    let d = s.remove_host(HostId(1), t).unwrap();
    let _ = meter_call(&s, &mut m, &d, t);
    let d = s
        .add_host(common::host_spec(2, "ecs.g7.2xlarge", "zone-a"), t)
        .unwrap();
    let _ = meter_call(&s, &mut m, &d, t);
    let d = s.scale(&shop, 0, t).unwrap();
    let events = meter_call(&s, &mut m, &d, t);
    assert_eq!(events.len(), 1);
    let instance = events[0].instance;
    assert!(!m.is_running(instance));
    let report = m.close_period(Timestamp(HOUR), Timestamp(HOUR)).unwrap();
    assert_eq!(report.usage[0].total().unwrap().instance_ms, 4_000);
}

/// The stop counts that number the ids are part of the scheduler's
/// snapshot: a replica restored between two calls at one millisecond
/// derives the same ids as the original.
#[test]
fn stops_at_now_survive_a_scheduler_snapshot() {
    let (mut s, shop, mut m) = one_host();
    let t = Timestamp(1_000);
    let d = s.scale(&shop, 1, t).unwrap();
    let _ = meter_call(&s, &mut m, &d, t);
    let d = s.remove_host(HostId(1), t).unwrap();
    let _ = meter_call(&s, &mut m, &d, t);
    let snap = s.snapshot();
    assert_eq!(
        snap.stops_at_now,
        [InstanceStops {
            instance: InstanceId(1),
            stops: 1
        }]
    );
    let json = serde_json::to_string(&snap).unwrap();
    let mut replica = Scheduler::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(json, serde_json::to_string(&replica.snapshot()).unwrap());
    let host = common::host_spec(2, "ecs.g7.2xlarge", "zone-a");
    let d = s.add_host(host.clone(), t).unwrap();
    let dr = replica.add_host(host, t).unwrap();
    assert_eq!(
        decision_events(&d, &s, t).unwrap(),
        decision_events(&dr, &replica, t).unwrap()
    );
    let _ = meter_call(&s, &mut m, &d, t);
    // Once the time moves on, the counts are of no more use and are not
    // written.
    let _ = s.reconcile(Timestamp(2_000)).unwrap();
    assert!(s.snapshot().stops_at_now.is_empty());

    // Impossible entries are refused, naming the instance.
    let bad = |stops: Vec<(u64, u32)>| {
        let mut snap = snap.clone();
        snap.stops_at_now = stops
            .into_iter()
            .map(|(i, stops)| InstanceStops {
                instance: InstanceId(i),
                stops,
            })
            .collect();
        match Scheduler::restore(snap) {
            Err(RestoreError::StopsAtNow { instance, .. }) => instance,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(bad(vec![(0, 1)]), InstanceId(0));
    assert_eq!(bad(vec![(2, 1)]), InstanceId(2)); // not below next_instance
    assert_eq!(bad(vec![(1, 0)]), InstanceId(1));
    assert_eq!(bad(vec![(1, 1), (1, 1)]), InstanceId(1));
}

// -------------------------------------------------- snapshot and restore

/// A meter with something of everything a snapshot holds: a closed period
/// (the horizon at 500 ms), two price tables, events with derived ids and
/// with others, remembered and in the open period, a run carried over the
/// close, and two adjustments.
///
/// * i-1: derived start at 1 s and idle at 2 s, still running at the
///   close; its derived stop at 3,599.5 s arrives late (an adjustment).
/// * i-2: a start and a stop with ids 21, 22, in the closed period.
/// * i-3: a derived start and an idle with id 31 in the open period.
/// * i-4: a start with id 41 at 3,590 s that arrives late (an adjustment).
fn rich_meter() -> Meter {
    let config = MeterConfig {
        allowed_lateness_ms: 10_000,
        adjustment_window_ms: HOUR - 500,
        ..MeterConfig::default()
    };
    let mut m = Meter::new(config).unwrap();
    m.add_price_table(prices()).unwrap();
    let mut p2 = prices();
    p2.version = 2;
    p2.effective = Timestamp(HOUR / 2);
    p2.cpu_nanos_per_vcpu_second = 20_000;
    m.add_price_table(p2).unwrap();
    let now = Timestamp(10 * HOUR);
    let send = |m: &mut Meter, instance: u64, id: Option<u128>, at: u64, kind: EventKind| {
        let (instance, at) = (InstanceId(instance), Timestamp(at));
        let id = match id {
            Some(id) => EventId(id),
            None => EventId::derived(instance, &kind, at, 0).unwrap(),
        };
        let e = Event {
            id,
            tenant: id_of("acme"),
            app: id_of("web"),
            instance,
            at,
            kind,
            source: None,
        };
        m.ingest(&e, now).unwrap()
    };
    let _ = send(&mut m, 1, None, 1_000, started(shape()));
    let _ = send(&mut m, 1, None, 2_000, EventKind::Idle);
    let _ = send(&mut m, 2, Some(21), 5_000, started(shape()));
    let _ = send(&mut m, 2, Some(22), 6_000, EventKind::Stopped);
    let _ = m.close_period(Timestamp(HOUR), now).unwrap();
    let _ = send(&mut m, 3, None, HOUR + 1_000, started(shape()));
    let _ = send(&mut m, 3, Some(31), HOUR + 2_000, EventKind::Idle);
    let late = send(&mut m, 1, None, HOUR - 500, EventKind::Stopped);
    assert_eq!(late, Ingested::Adjusted);
    let late = send(&mut m, 4, Some(41), HOUR - 10_000, started(shape()));
    assert_eq!(late, Ingested::Adjusted);
    m
}

#[test]
fn a_snapshot_names_everything_and_restores_byte_for_byte() {
    let mut m = rich_meter();
    let snap = m.snapshot();
    assert_eq!(snap.format, METER_SNAPSHOT_FORMAT);
    let ids: Vec<u64> = snap.instances.iter().map(|i| i.id.0).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    let i1 = &snap.instances[0];
    assert_eq!(i1.remembered.len(), 3);
    assert!(i1.state_at_open.is_none());
    let i2 = &snap.instances[1];
    let remembered: Vec<EventId> = i2.remembered.iter().map(|r| r.id).collect();
    assert_eq!(remembered, [EventId(21), EventId(22)]);
    let i3 = &snap.instances[2];
    assert_eq!(i3.events.len(), 2);
    assert_eq!(i3.events[1].id, EventId(31));
    let i4 = &snap.instances[3];
    assert_eq!(
        i4.state_at_open,
        Some(RunRecord {
            started_at: Timestamp(HOUR - 10_000),
            resources: shape(),
            delivered: None,
            idle: false,
            standby: false,
            zone: None,
        })
    );
    assert_eq!(snap.adjustments.len(), 2);

    let text = serde_json::to_string(&snap).unwrap();
    let mut r = Meter::restore(serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(serde_json::to_string(&r.snapshot()).unwrap(), text);
    assert_eq!(r.remembered_events(), m.remembered_events());
    assert_eq!(r.tracked_instances(), m.tracked_instances());
    // Every id it remembered, the restored meter remembers.
    for rec in &snap.instances {
        for e in rec.remembered.iter().chain(&rec.events) {
            let event = Event {
                id: e.id,
                tenant: rec.tenant.clone(),
                app: rec.app.clone(),
                instance: rec.id,
                at: e.at,
                kind: e.kind.clone(),
                source: None,
            };
            let now = Timestamp(10 * HOUR);
            assert_eq!(r.ingest(&event, now), Ok(Ingested::Duplicate));
            assert_eq!(m.ingest(&event, now), Ok(Ingested::Duplicate));
        }
    }
    let now = Timestamp(10 * HOUR);
    assert_eq!(
        r.close_period(Timestamp(2 * HOUR), now),
        m.close_period(Timestamp(2 * HOUR), now)
    );
    assert_eq!(
        serde_json::to_string(&r.snapshot()).unwrap(),
        serde_json::to_string(&m.snapshot()).unwrap()
    );
}

/// Restore `rich_meter`'s snapshot changed by `change`; it must be refused.
fn corrupt(change: impl FnOnce(&mut MeterSnapshot)) -> MeterRestoreError {
    let mut snap = rich_meter().snapshot();
    change(&mut snap);
    Meter::restore(snap).expect_err("a corrupt snapshot must be refused")
}

#[test]
fn restore_refuses_a_wrong_format_config_or_price_table() {
    assert_eq!(
        corrupt(|s| s.format = METER_SNAPSHOT_FORMAT + 1),
        MeterRestoreError::Format {
            found: METER_SNAPSHOT_FORMAT + 1,
            expected: METER_SNAPSHOT_FORMAT
        }
    );
    assert_eq!(
        corrupt(|s| s.config.invoice.unit_nanos = 0),
        MeterRestoreError::Rejected(MeterError::InvoiceUnit { unit_nanos: 0 })
    );
    assert!(matches!(
        corrupt(|s| s.price_tables[1].idle_cpu_nanos_per_vcpu_second = -1),
        MeterRestoreError::Rejected(MeterError::InvalidPrice { version: 2, .. })
    ));
    assert_eq!(
        corrupt(|s| s.price_tables.swap(0, 1)),
        MeterRestoreError::Rejected(MeterError::StaleVersion {
            version: 1,
            latest: 2
        })
    );
}

#[test]
fn restore_refuses_periods_that_do_not_follow_each_other() {
    let period = |e: MeterRestoreError| match e {
        MeterRestoreError::Period { index, what } => (index, what),
        other => panic!("{other:?}"),
    };
    let (index, what) = period(corrupt(|s| s.closed_periods[0].id = PeriodId(1)));
    assert_eq!((index, what), (0, "its id is not its position"));
    let (_, what) = period(corrupt(|s| s.closed_periods[0].start = Timestamp(1)));
    assert!(what.contains("does not start where"));
    let (_, what) = period(corrupt(|s| {
        s.config.origin = Timestamp(HOUR);
        s.closed_periods[0].start = Timestamp(HOUR);
    }));
    assert_eq!(what, "it does not end after it starts");
}

#[test]
fn restore_refuses_instances_out_of_order_or_twice() {
    assert_eq!(
        corrupt(|s| s.instances.swap(1, 2)),
        MeterRestoreError::InstanceOrder {
            instance: InstanceId(2),
            previous: InstanceId(3)
        }
    );
    assert_eq!(
        corrupt(|s| {
            let again = s.instances[3].clone();
            s.instances.push(again);
        }),
        MeterRestoreError::InstanceOrder {
            instance: InstanceId(4),
            previous: InstanceId(4)
        }
    );
}

#[test]
fn restore_refuses_events_out_of_place() {
    let event = |e: MeterRestoreError| match e {
        MeterRestoreError::Event {
            instance, at, what, ..
        } => (instance.0, at.0, what),
        other => panic!("{other:?}"),
    };
    // A remembered event before the horizon (500 ms).
    let (i, at, what) = event(corrupt(|s| {
        s.instances[1].remembered[0].at = Timestamp(400)
    }));
    assert_eq!((i, at), (2, 400));
    assert!(what.contains("between the horizon and the open period"));
    // A remembered event in the open period.
    let (_, at, what) = event(corrupt(|s| {
        s.instances[1].remembered[1].at = Timestamp(HOUR);
    }));
    assert_eq!(at, HOUR);
    assert!(what.contains("between the horizon and the open period"));
    // Remembered events not by time.
    let (_, _, what) = event(corrupt(|s| s.instances[1].remembered.swap(0, 1)));
    assert!(what.contains("by time, then id"));
    // An event of the open period before its start.
    let (i, _, what) = event(corrupt(|s| {
        s.instances[2].events[0].at = Timestamp(HOUR - 1)
    }));
    assert_eq!(i, 3);
    assert!(what.contains("before its start"));
    // Events of the open period out of order.
    let (_, at, what) = event(corrupt(|s| {
        s.instances[2].events[1].at = Timestamp(HOUR + 500)
    }));
    assert_eq!(at, HOUR + 500);
    assert!(what.contains("not in time order"));
}

#[test]
fn restore_refuses_an_id_taken_twice() {
    // Two events of one instance.
    assert_eq!(
        corrupt(|s| s.instances[1].remembered[1].id = EventId(21)),
        MeterRestoreError::DuplicateId { id: EventId(21) }
    );
    // Events of two instances.
    assert_eq!(
        corrupt(|s| s.instances[2].events[1].id = EventId(41)),
        MeterRestoreError::DuplicateId { id: EventId(41) }
    );
    // An id that is not derived from its event, equal to the derived id of
    // another event.
    let derived = rich_meter().snapshot().instances[0].remembered[0].id;
    assert_eq!(
        corrupt(|s| s.instances[3].remembered[0].id = derived),
        MeterRestoreError::DuplicateId { id: derived }
    );
}

#[test]
fn restore_refuses_events_that_do_not_follow_the_lifecycle() {
    // i-3's idle without its start.
    assert!(matches!(
        corrupt(|s| {
            s.instances[2].events.remove(0);
        }),
        MeterRestoreError::Rejected(MeterError::NotRunning {
            instance: InstanceId(3),
            event: "idle",
            ..
        })
    ));
    // i-3 started again while running from before the open period.
    assert!(matches!(
        corrupt(|s| {
            s.instances[2].state_at_open = s.instances[3].state_at_open.clone();
            s.instances[2].last_event_at = Timestamp(HOUR + 2_000);
        }),
        MeterRestoreError::Rejected(MeterError::AlreadyRunning {
            instance: InstanceId(3),
            ..
        })
    ));
}

#[test]
fn restore_refuses_an_instance_record_that_contradicts_itself() {
    let instance = |e: MeterRestoreError| match e {
        MeterRestoreError::Instance { instance, what } => (instance.0, what),
        other => panic!("{other:?}"),
    };
    let (i, what) = instance(corrupt(|s| s.instances[1].last_event_at = Timestamp(5_500)));
    assert_eq!((i, what), (2, "last_event_at is before one of its events"));
    let (_, what) = instance(corrupt(|s| s.instances[1].last_event_at = Timestamp(7_000)));
    assert_eq!(what, "last_event_at is not the time of its latest event");
    let (i, what) = instance(corrupt(|s| {
        s.instances[3].state_at_open.as_mut().unwrap().started_at = Timestamp(HOUR);
    }));
    assert_eq!(
        (i, what),
        (4, "state_at_open did not start in a closed period")
    );
    let (_, what) = instance(corrupt(|s| {
        s.instances[3].state_at_open.as_mut().unwrap().started_at = Timestamp(HOUR - 1);
    }));
    assert_eq!(what, "state_at_open started after last_event_at");
    // A stopped instance with nothing since the horizon: the meter has
    // forgotten such an instance.
    let (i, what) = instance(corrupt(|s| {
        s.instances[1].remembered.clear();
        s.instances[1].last_event_at = Timestamp(400);
    }));
    assert_eq!(i, 2);
    assert!(what.contains("the meter forgets such an instance"));
}

#[test]
fn restore_refuses_impossible_adjustments() {
    let adjustment = |e: MeterRestoreError| match e {
        MeterRestoreError::Adjustment { index, what, .. } => (index, what),
        other => panic!("{other:?}"),
    };
    type Change = fn(&mut MeterSnapshot);
    let cases: [(Change, &str); 7] = [
        (
            |s| s.adjustments[1].recorded_in = PeriodId(0),
            "recorded_in is not the open period",
        ),
        (
            |s| s.adjustments[1].corrects = PeriodId(1),
            "corrects is not a closed period",
        ),
        (
            |s| s.adjustments[1].price_version = 3,
            "price_version is not the version of a price table",
        ),
        (
            |s| s.adjustments[1].usage = Usage::default(),
            "its usage is zero",
        ),
        (
            |s| s.adjustments[1].instance = InstanceId(9),
            "its instance is not on record",
        ),
        (
            |s| s.adjustments[1].app = id_of("api"),
            "its tenant and app are not its instance's",
        ),
        (
            |s| s.adjustments[1].event = EventId(31),
            "its event is not remembered in a closed period of its instance",
        ),
    ];
    for (change, expected) in cases {
        assert_eq!(adjustment(corrupt(change)), (1, expected));
    }
}
