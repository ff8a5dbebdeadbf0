//! Metering properties over random event streams: duplicates, delayed
//! delivery and replays change nothing; any split points and price changes
//! give exactly what a per-millisecond oracle computes; late events for
//! closed periods become adjustments that add up to on-time billing;
//! refused calls change nothing; invoices always sum to their total; a
//! restored snapshot goes on exactly as the original, and a corrupt one is
//! refused or works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use trimline::metering::*;
use trimline::*;

/// Streams live in `[0, END)` ms.
const END: u64 = 20_000;
/// Shapes: (millicores, MiB, accelerators).
const SHAPES: [(u64, u64, u64); 3] = [(500, 1_024, 0), (2_000, 3_072, 1), (1_500, 1_536, 0)];
/// (tenant, app) of instance `k` is `OWNERS[k % 3]`.
const OWNERS: [(&str, &str); 3] = [("acme", "web"), ("acme", "api"), ("zeta", "db")];
const SKUS: [&str; 2] = ["g7", "g8i"];

fn shape(i: usize) -> Resources {
    let (c, m, a) = SHAPES[i];
    Resources::new(c, m, 0, a).unwrap()
}

/// One instance's raw ops: (gap ms, choice, shape, sku).
type RawOps = Vec<(u64, u8, usize, u8)>;

fn raw_stream() -> impl Strategy<Value = Vec<RawOps>> {
    prop::collection::vec(
        prop::collection::vec((1u64..2_500, 0u8..8, 0usize..3, 0u8..3), 0..14),
        1..5,
    )
}

/// Turn raw ops into a valid lifecycle per instance; the whole stream is in
/// time order (ties by instance). Times strictly increase per instance.
fn build(raw: &[RawOps]) -> Vec<Event> {
    let mut out = vec![];
    for (k, ops) in raw.iter().enumerate() {
        let (tenant, app) = OWNERS[k % OWNERS.len()];
        let instance = InstanceId(k as u64 + 1);
        let mut t = 0;
        let mut running = false;
        for (seq, &(gap, choice, s, sku)) in ops.iter().enumerate() {
            t += gap;
            if t >= END {
                break;
            }
            let delivered = (sku < 2).then(|| SKUS[sku as usize].parse().unwrap());
            let kind = if !running {
                EventKind::Started {
                    resources: shape(s),
                    delivered,
                    zone: None,
                }
            } else {
                match choice {
                    0..=2 => EventKind::Stopped,
                    3 | 4 => EventKind::Idle,
                    5 | 7 => EventKind::Active,
                    _ => EventKind::Resized {
                        resources: shape(s),
                        delivered,
                        zone: None,
                    },
                }
            };
            running = !matches!(kind, EventKind::Stopped);
            out.push(Event {
                id: EventId(((k as u128) << 32) | seq as u128),
                tenant: tenant.parse().unwrap(),
                app: app.parse().unwrap(),
                instance,
                at: Timestamp(t),
                kind,
                source: None,
            });
        }
    }
    out.sort_by_key(|e| (e.at, e.instance));
    out
}

/// Raw price tables: (effective, cpu, idle share %, memory, idle memory %,
/// accelerator, minimum choice, rounding choice (to the second, exact, to
/// the minute), rate unit choice).
type RawPrice = (
    u64,
    i128,
    i128,
    i128,
    Option<i128>,
    i128,
    usize,
    usize,
    usize,
);

fn raw_prices() -> impl Strategy<Value = Vec<RawPrice>> {
    prop::collection::vec(
        (
            0..END,
            0i128..20_000,
            0i128..=100,
            0i128..5_000,
            prop::option::of(0i128..=100),
            0i128..100_000,
            0usize..4,
            0usize..3,
            0usize..3,
        ),
        0..4,
    )
}

/// Version 1 at 0, then the random ones, versions in order.
fn tables(raw: &[RawPrice]) -> Vec<PriceTable> {
    let mut base = PriceTable::new(1, Timestamp(0), 7_001, 1_003, 50_000);
    base.idle_cpu_nanos_per_vcpu_second = 1_401;
    base.minimum_run_seconds = 5;
    let mut out = vec![base];
    for (i, &(at, cpu, idle, mem, idle_mem, acc, min, rounding, unit)) in raw.iter().enumerate() {
        let mut p = PriceTable::new(i as u64 + 2, Timestamp(at), cpu, mem, acc);
        p.idle_cpu_nanos_per_vcpu_second = cpu * idle / 100;
        p.idle_memory_nanos_per_gib_second = idle_mem.map(|s| mem * s / 100);
        p.minimum_run_seconds = [0, 1, 5, 60][min];
        match rounding {
            1 => p.sub_second = SubSecond::Exact,
            2 => p.billing_increment_seconds = 60,
            _ => {}
        }
        p.rates_per = [RateUnit::Second, RateUnit::Minute, RateUnit::Hour][unit];
        out.push(p);
    }
    out
}

fn meter(config: MeterConfig, prices: &[PriceTable]) -> Meter {
    let mut m = Meter::new(config).unwrap();
    for p in prices {
        m.add_price_table(p.clone()).unwrap();
    }
    m
}

fn late_config() -> MeterConfig {
    MeterConfig {
        allowed_lateness_ms: END,
        adjustment_window_ms: END,
        ..MeterConfig::default()
    }
}

/// Ingest everything in order, then close at each cut and at `END`.
fn run(prices: &[PriceTable], events: &[Event], cuts: &[u64]) -> Vec<PeriodReport> {
    let mut m = meter(MeterConfig::default(), prices);
    for e in events {
        assert_eq!(m.ingest(e, Timestamp(END)), Ok(Ingested::Applied));
    }
    close_all(&mut m, cuts)
}

fn close_all(m: &mut Meter, cuts: &[u64]) -> Vec<PeriodReport> {
    let mut cuts: Vec<u64> = cuts.iter().copied().filter(|&c| c > 0 && c < END).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(END);
    cuts.iter()
        .map(|&c| m.close_period(Timestamp(c), Timestamp(END)).unwrap())
        .collect()
}

fn exact_sum(reports: &[PeriodReport]) -> i128 {
    reports
        .iter()
        .flat_map(|r| &r.invoices)
        .map(|i| i.exact_subnanos)
        .sum()
}

/// Usage summed over records and adjustments, per price version.
fn usage_by_version(reports: &[PeriodReport]) -> Vec<(u64, Usage)> {
    let mut out: std::collections::BTreeMap<u64, Usage> = Default::default();
    for r in reports {
        for rec in &r.usage {
            for p in &rec.priced {
                let e = out.entry(p.price_version).or_default();
                *e = e.checked_add(&p.usage).unwrap();
            }
        }
        for a in &r.adjustments {
            let e = out.entry(a.price_version).or_default();
            *e = e.checked_add(&a.usage).unwrap();
        }
    }
    out.into_iter().filter(|(_, u)| !u.is_zero()).collect()
}

fn check_invoices(reports: &[PeriodReport]) {
    for r in reports {
        for inv in &r.invoices {
            assert_eq!(
                inv.lines.iter().map(|l| l.amount_nanos).sum::<i128>(),
                inv.total_nanos
            );
            assert_eq!(
                inv.lines.iter().map(|l| l.exact_subnanos).sum::<i128>(),
                inv.exact_subnanos
            );
            for l in &inv.lines {
                assert!(
                    (l.amount_nanos * SUBNANOS_PER_NANO - l.exact_subnanos).abs()
                        < SUBNANOS_PER_NANO
                );
            }
        }
    }
}

/// The exact charge of every event stream, by brute force: each
/// millisecond priced on its own, then each run's top-up at its stop.
fn oracle(prices: &[PriceTable], events: &[Event]) -> i128 {
    // The table in force at each millisecond: the newest effective one.
    let in_force: Vec<&PriceTable> = (0..END)
        .map(|t| {
            prices
                .iter()
                .filter(|p| p.effective.0 <= t)
                .max_by_key(|p| p.version)
                .unwrap()
        })
        .collect();
    let per_ms = |p: &PriceTable, r: &Resources, idle: bool| -> i128 {
        let (cpu, mem) = if idle {
            (
                p.idle_cpu_nanos_per_vcpu_second,
                p.idle_memory_nanos_per_gib_second
                    .unwrap_or(p.memory_nanos_per_gib_second),
            )
        } else {
            (p.cpu_nanos_per_vcpu_second, p.memory_nanos_per_gib_second)
        };
        // Per ms: millicores × rate per second / 10⁶ nano = × 460,800
        // sub-nanos, and so on; a rate per minute or hour is 60 or 3,600
        // times smaller per second.
        let s = i128::from(p.rates_per.seconds());
        i128::from(r.cpu_millis()) * cpu * (460_800 / s)
            + i128::from(r.memory_mib()) * mem * (450_000 / s)
            + i128::from(r.accelerators()) * p.accelerator_nanos_per_second * (460_800_000 / s)
    };
    let mut total = 0;
    let mut instances: Vec<InstanceId> = events.iter().map(|e| e.instance).collect();
    instances.sort_unstable();
    instances.dedup();
    for i in instances {
        let mut state: Option<(u64, Resources, bool)> = None; // start, shape, idle
        let mut t = 0;
        for e in events.iter().filter(|e| e.instance == i) {
            if let Some((_, shape, idle)) = state {
                for ms in t..e.at.0 {
                    total += per_ms(in_force[ms as usize], &shape, idle);
                }
            }
            t = e.at.0;
            state = match (&e.kind, state) {
                (EventKind::Started { resources, .. }, None) => Some((t, *resources, false)),
                (EventKind::Stopped, Some((start, shape, idle))) => {
                    let p = in_force[t as usize];
                    let d = t - start;
                    if d > 0 {
                        let rounded = match p.sub_second {
                            SubSecond::RoundUp => {
                                let step = p.billing_increment_seconds * 1000;
                                d.div_ceil(step) * step
                            }
                            _ => d,
                        };
                        let billed = rounded.max(p.minimum_run_seconds * 1000);
                        total += i128::from(billed - d) * per_ms(p, &shape, idle);
                    }
                    None
                }
                (EventKind::Idle, Some((s, r, _))) => Some((s, r, true)),
                (EventKind::Active, Some((s, r, _))) => Some((s, r, false)),
                (EventKind::Resized { resources, .. }, Some((s, _, idle))) => {
                    Some((s, *resources, idle))
                }
                other => panic!("invalid stream: {other:?}"),
            };
        }
        if let Some((_, shape, idle)) = state {
            for ms in t..END {
                total += per_ms(in_force[ms as usize], &shape, idle);
            }
        }
    }
    total
}

proptest! {
    #![proptest_config(common::cases(128))]

    /// Guarantees 6, 7 and 10: any period cuts and any price changes bill
    /// exactly what pricing each millisecond on its own (and each run's
    /// rounding and minimum once, at its stop) gives.
    #[test]
    fn matches_a_per_millisecond_oracle(
        raw in raw_stream(),
        raw_p in raw_prices(),
        cuts in prop::collection::vec(1..END, 0..5),
    ) {
        let prices = tables(&raw_p);
        let events = build(&raw);
        let reports = run(&prices, &events, &cuts);
        check_invoices(&reports);
        prop_assert_eq!(exact_sum(&reports), oracle(&prices, &events));
    }

    /// Guarantees 6 and 7: where periods are cut changes no quantity, per
    /// price version.
    #[test]
    fn split_points_do_not_change_usage(
        raw in raw_stream(),
        raw_p in raw_prices(),
        a in prop::collection::vec(1..END, 0..6),
        b in prop::collection::vec(1..END, 0..6),
    ) {
        let prices = tables(&raw_p);
        let events = build(&raw);
        let x = run(&prices, &events, &a);
        let y = run(&prices, &events, &b);
        prop_assert_eq!(usage_by_version(&x), usage_by_version(&y));
        prop_assert_eq!(exact_sum(&x), exact_sum(&y));
    }

    /// Guarantees 1, 3 and 4: duplicates, delayed delivery of idle, active
    /// and resized events (within the allowance), and a replay of the whole
    /// log give byte-identical records.
    #[test]
    fn duplicates_delays_and_replays_change_nothing(
        raw in raw_stream(),
        raw_p in raw_prices(),
        noise in prop::collection::vec((0u64..=END, any::<bool>(), 0u64..5_000), 64),
    ) {
        let prices = tables(&raw_p);
        let events = build(&raw);
        let mut clean = meter(late_config(), &prices);
        for e in &events {
            prop_assert_eq!(clean.ingest(e, Timestamp(END)), Ok(Ingested::Applied));
        }
        let clean = close_all(&mut clean, &[]);

        // Arrival order: starts and stops on time, the rest delayed; some
        // events delivered twice.
        let mut arrivals: Vec<(u64, usize, &Event)> = vec![];
        for (i, e) in events.iter().enumerate() {
            let (delay, dup, dup_delay) = noise[i % noise.len()];
            let delay = match e.kind {
                EventKind::Started { .. } | EventKind::Stopped => 0,
                _ => delay,
            };
            arrivals.push((e.at.0 + delay, i, e));
            if dup {
                arrivals.push((e.at.0 + delay + dup_delay, i, e));
            }
        }
        arrivals.sort_by_key(|&(key, i, _)| (key, i));
        let mut noisy = meter(late_config(), &prices);
        for (_, _, e) in &arrivals {
            let r = noisy.ingest(e, Timestamp(END));
            prop_assert!(matches!(r, Ok(Ingested::Applied | Ingested::Duplicate)), "{:?}", r);
        }
        for e in &events {
            prop_assert_eq!(noisy.ingest(e, Timestamp(END)), Ok(Ingested::Duplicate));
        }
        let noisy = close_all(&mut noisy, &[]);
        prop_assert_eq!(
            serde_json::to_string(&noisy).unwrap(),
            serde_json::to_string(&clean).unwrap()
        );
    }

    /// Guarantee 11: events withheld until after their period closed become
    /// adjustments, and records plus adjustments add up to exactly what
    /// on-time delivery bills; the closed report is not touched.
    #[test]
    fn late_events_become_adjustments_that_add_up(
        raw in raw_stream(),
        raw_p in raw_prices(),
        cut in 1..END,
        withhold in prop::collection::vec(0usize..6, 5),
    ) {
        let prices = tables(&raw_p);
        let events = build(&raw);
        let mut on_time = meter(late_config(), &prices);
        for e in &events {
            prop_assert_eq!(on_time.ingest(e, Timestamp(END)), Ok(Ingested::Applied));
        }
        let on_time = close_all(&mut on_time, &[cut]);

        // Per instance, its last few events before the cut are held back.
        let before: Vec<&Event> = events.iter().filter(|e| e.at.0 < cut).collect();
        let mut held = vec![false; before.len()];
        for (k, &n) in withhold.iter().enumerate() {
            let mine: Vec<usize> = (0..before.len())
                .filter(|&i| before[i].instance == InstanceId(k as u64 + 1))
                .collect();
            for &i in mine.iter().rev().take(n) {
                held[i] = true;
            }
        }
        let mut late = meter(late_config(), &prices);
        for (i, e) in before.iter().enumerate() {
            if !held[i] {
                prop_assert_eq!(late.ingest(e, Timestamp(END)), Ok(Ingested::Applied));
            }
        }
        let first = late.close_period(Timestamp(cut), Timestamp(END)).unwrap();
        let first_bytes = serde_json::to_string(&first).unwrap();
        for (i, e) in before.iter().enumerate() {
            if held[i] {
                prop_assert_eq!(late.ingest(e, Timestamp(END)), Ok(Ingested::Adjusted));
            }
        }
        let adjustments = late.pending_adjustments().count();
        for e in events.iter().filter(|e| e.at.0 >= cut) {
            prop_assert_eq!(late.ingest(e, Timestamp(END)), Ok(Ingested::Applied));
        }
        let second = late.close_period(Timestamp(END), Timestamp(END)).unwrap();
        prop_assert_eq!(second.adjustments.len(), adjustments);
        prop_assert!(second.adjustments.iter().all(|a| a.corrects == PeriodId(0)));
        // The closed report was final: nothing in the meter refers to it.
        prop_assert_eq!(serde_json::to_string(&first).unwrap(), first_bytes);
        let late = vec![first, second];
        check_invoices(&late);
        prop_assert_eq!(exact_sum(&late), exact_sum(&on_time));
        prop_assert_eq!(usage_by_version(&late), usage_by_version(&on_time));
    }

    /// Guarantees 2 and 12: any call that is refused, and any duplicate,
    /// leaves the meter exactly as it was; the same calls give the same
    /// results and state.
    #[test]
    fn refused_calls_change_nothing(ops in prop::collection::vec(op(), 1..60)) {
        let run = |ops: &[Op]| {
            let mut m = Meter::new(late_config()).unwrap();
            let mut results = vec![];
            for op in ops {
                let before = format!("{m:?}");
                let (refused, result) = apply(&mut m, op);
                if refused {
                    assert_eq!(format!("{m:?}"), before, "{op:?} -> {result}");
                }
                results.push(result);
            }
            (results, format!("{m:?}"))
        };
        let first = run(&ops);
        prop_assert_eq!(run(&ops), first);
    }

    /// Invoices: whatever the lines and the rule, the shares sum to the
    /// total, the total is the exact sum rounded once, and no share is off
    /// by a unit or more.
    #[test]
    fn largest_remainder_shares_sum_to_the_rounded_total(
        exacts in prop::collection::vec(-(10i128.pow(18))..10i128.pow(18), 0..12),
        unit in prop_oneof![Just(1i128), Just(1_000), Just(10_000_000)],
        rounding in prop_oneof![
            Just(Rounding::Down), Just(Rounding::Up), Just(Rounding::HalfUp), Just(Rounding::HalfEven)
        ],
    ) {
        let rule = InvoiceRule { unit_nanos: unit, rounding };
        let (total, shares) = rule.allocate(&exacts).unwrap();
        prop_assert_eq!(shares.iter().sum::<i128>(), total);
        prop_assert_eq!(total, rule.round(exacts.iter().sum()).unwrap());
        for (s, e) in shares.iter().zip(&exacts) {
            prop_assert_eq!(s % unit, 0);
            prop_assert!((s * SUBNANOS_PER_NANO - e).abs() < unit * SUBNANOS_PER_NANO);
        }
        // Largest remainders first: every line given the extra unit (its
        // share above its exact amount rounded down) has a remainder at
        // least that of every line not given one; among equal remainders
        // the earlier lines get it.
        let step = unit * SUBNANOS_PER_NANO;
        let lines: Vec<(i128, bool)> = shares
            .iter()
            .zip(&exacts)
            .map(|(s, e)| (e.rem_euclid(step), *s != e.div_euclid(step) * unit))
            .collect();
        for (i, &(given_rem, given)) in lines.iter().enumerate() {
            for (j, &(rem, other)) in lines.iter().enumerate() {
                if given && !other {
                    prop_assert!(
                        given_rem > rem || (given_rem == rem && i < j),
                        "line {} got the unit with remainder {}, line {} not with {}",
                        i, given_rem, j, rem
                    );
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Ingest {
        id: u128,
        instance: u64,
        owner: usize,
        at: u64,
        kind: u8,
        shape: usize,
    },
    Close {
        end: u64,
    },
    Price {
        version: u64,
        effective: u64,
        cpu: i128,
        idle: i128,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u128..24, 1u64..4, 0usize..3, 0..END, 0u8..6, 0usize..3).prop_map(
            |(id, instance, owner, at, kind, shape)| Op::Ingest { id, instance, owner, at, kind, shape }
        ),
        1 => (0..END).prop_map(|end| Op::Close { end }),
        1 => (0u64..4, 0..END, -10i128..10_000, -10i128..10_000).prop_map(
            |(version, effective, cpu, idle)| Op::Price { version, effective, cpu, idle }
        ),
    ]
}

/// Apply one op; returns whether it was refused (or a duplicate) and a
/// printable result.
fn apply(m: &mut Meter, op: &Op) -> (bool, String) {
    match *op {
        Op::Ingest {
            id,
            instance,
            owner,
            at,
            kind,
            shape: s,
        } => {
            let kind = match kind {
                0 => EventKind::Started {
                    resources: shape(s),
                    delivered: Some(SKUS[s % 2].parse().unwrap()),
                    zone: None,
                },
                1 => EventKind::Stopped,
                2 => EventKind::Idle,
                3 => EventKind::Active,
                4 => EventKind::Resized {
                    resources: shape(s),
                    delivered: None,
                    zone: None,
                },
                _ => EventKind::Started {
                    resources: shape(s),
                    delivered: None,
                    zone: None,
                },
            };
            let (tenant, app) = OWNERS[owner];
            let e = Event {
                id: EventId(id),
                tenant: tenant.parse().unwrap(),
                app: app.parse().unwrap(),
                instance: InstanceId(instance),
                at: Timestamp(at),
                kind,
                source: None,
            };
            let r = m.ingest(&e, Timestamp(END / 2));
            (
                !matches!(r, Ok(Ingested::Applied | Ingested::Adjusted)),
                format!("{r:?}"),
            )
        }
        Op::Close { end } => {
            let r = m.close_period(Timestamp(end), Timestamp(END / 2));
            (r.is_err(), format!("{r:?}"))
        }
        Op::Price {
            version,
            effective,
            cpu,
            idle,
        } => {
            let mut p = PriceTable::new(version, Timestamp(effective), cpu, 1_000, 0);
            p.idle_cpu_nanos_per_vcpu_second = idle;
            let r = m.add_price_table(p);
            (r.is_err(), format!("{r:?}"))
        }
    }
}

// ------------------------------------------------------ snapshot and restore

/// One thing an embedder does to a meter.
#[derive(Clone, Debug)]
enum Step {
    Ingest(Event),
    Close(u64),
    Price(PriceTable),
}

/// A random life of a meter: the events of `raw` (some with derived ids,
/// some not), delivered late or twice by `noise`, periods closed at `cuts`
/// as the deliveries go on (so that some events come after their period
/// closed), and price tables added on the way.
fn timeline(
    raw: &[RawOps],
    noise: &[(u64, bool, u64)],
    derived: &[bool],
    cuts: &[u64],
    prices: &[PriceTable],
) -> Vec<Step> {
    let mut events = build(raw);
    for (i, e) in events.iter_mut().enumerate() {
        if derived[i % derived.len()] {
            // Times strictly increase per instance: occurrence 0 is unique.
            e.id = EventId::derived(e.instance, &e.kind, e.at, 0).unwrap();
        }
    }
    let mut arrivals: Vec<(u64, usize, Step)> = vec![];
    for (i, e) in events.iter().enumerate() {
        let (delay, dup, dup_delay) = noise[i % noise.len()];
        arrivals.push((e.at.0 + delay, arrivals.len(), Step::Ingest(e.clone())));
        if dup {
            let key = e.at.0 + delay + dup_delay;
            arrivals.push((key, arrivals.len(), Step::Ingest(e.clone())));
        }
    }
    for &c in cuts {
        arrivals.push((c, arrivals.len(), Step::Close(c)));
    }
    for p in &prices[1..] {
        arrivals.push((p.effective.0, arrivals.len(), Step::Price(p.clone())));
    }
    arrivals.sort_by_key(|&(key, seq, _)| (key, seq));
    let mut steps = vec![Step::Price(prices[0].clone())];
    steps.extend(arrivals.into_iter().map(|(_, _, s)| s));
    steps.push(Step::Close(END));
    steps
}

/// Take a step; what it returned, and what the meter shows after it.
fn take(m: &mut Meter, step: &Step) -> String {
    let now = Timestamp(END);
    let result = match step {
        Step::Ingest(e) => format!("{:?}", m.ingest(e, now)),
        Step::Close(c) => format!("{:?}", m.close_period(Timestamp(*c), now)),
        Step::Price(p) => format!("{:?}", m.add_price_table(p.clone())),
    };
    format!(
        "{result} | {:?} {:?} {} {} {}",
        m.open_period(),
        m.horizon(),
        m.tracked_instances(),
        m.remembered_events(),
        m.pending_adjustments().count()
    )
}

fn snapshot_json(m: &Meter) -> String {
    serde_json::to_string(&m.snapshot()).unwrap()
}

fn config_with_window(window: u64) -> MeterConfig {
    MeterConfig {
        allowed_lateness_ms: END / 4,
        adjustment_window_ms: window,
        ..MeterConfig::default()
    }
}

proptest! {
    #![proptest_config(common::cases(192))]

    /// A meter snapshotted at any point (through JSON text, as an embedder
    /// stores it) and restored writes the same bytes, and from there
    /// ingests, refuses, adjusts and invoices exactly as the original: the
    /// same results for every later step, the same reports, the same final
    /// snapshot.
    #[test]
    fn a_restored_meter_goes_on_exactly_as_the_original(
        raw in raw_stream(),
        raw_p in raw_prices(),
        noise in prop::collection::vec((0u64..3_000, any::<bool>(), 0u64..8_000), 16),
        derived in prop::collection::vec(any::<bool>(), 1..8),
        cuts in prop::collection::vec(1..END, 0..4),
        window in prop_oneof![Just(0u64), 0..END, Just(END)],
        cut in any::<prop::sample::Index>(),
    ) {
        let steps = timeline(&raw, &noise, &derived, &cuts, &tables(&raw_p));
        let k = cut.index(steps.len() + 1);
        let mut original = Meter::new(config_with_window(window)).unwrap();
        for s in &steps[..k] {
            let _ = take(&mut original, s);
        }
        let json = snapshot_json(&original);
        let mut restored = Meter::restore(serde_json::from_str(&json).unwrap()).unwrap();
        prop_assert_eq!(&snapshot_json(&restored), &json);
        for s in &steps[k..] {
            prop_assert_eq!(take(&mut restored, s), take(&mut original, s), "{:?}", s);
        }
        prop_assert_eq!(snapshot_json(&restored), snapshot_json(&original));
    }

    /// Whatever is changed in a valid snapshot's JSON, restore either
    /// refuses it with an error or gives a meter that keeps working: it
    /// takes the rest of the steps without panicking, and its own snapshot
    /// restores to the same bytes.
    #[test]
    fn a_corrupt_snapshot_is_refused_or_works(
        raw in raw_stream(),
        raw_p in raw_prices(),
        noise in prop::collection::vec((0u64..3_000, any::<bool>(), 0u64..8_000), 16),
        derived in prop::collection::vec(any::<bool>(), 1..8),
        cuts in prop::collection::vec(1..END, 0..4),
        window in prop_oneof![Just(0u64), 0..END],
        cut in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), 0u8..12, any::<u64>()), 1..4),
    ) {
        let steps = timeline(&raw, &noise, &derived, &cuts, &tables(&raw_p));
        let k = cut.index(steps.len() + 1);
        let mut m = Meter::new(config_with_window(window)).unwrap();
        for s in &steps[..k] {
            let _ = take(&mut m, s);
        }
        let mut doc = json::parse(&snapshot_json(&m));
        for (at, how, x) in &mutations {
            json::mutate(&mut doc, *at, *how, *x);
        }
        let text = json::print(&doc);
        let Ok(snapshot) = serde_json::from_str::<MeterSnapshot>(&text) else {
            return Ok(()); // not even a snapshot: serde says so
        };
        let Ok(mut restored) = Meter::restore(snapshot) else {
            return Ok(()); // refused, with a typed error
        };
        for s in &steps[k..] {
            let _ = take(&mut restored, s);
        }
        let again = snapshot_json(&restored);
        let back = Meter::restore(serde_json::from_str(&again).unwrap());
        prop_assert!(back.is_ok(), "{:?}", back);
        prop_assert_eq!(snapshot_json(&back.unwrap()), again);
    }
}

/// A small JSON tree that keeps numbers as written (a snapshot's event ids
/// are 128-bit), to change a snapshot's JSON anywhere.
mod json {
    use proptest::sample::Index;

    #[derive(Clone, Debug)]
    pub(crate) enum J {
        Num(String),
        Str(String),
        Bool(bool),
        Null,
        Arr(Vec<J>),
        Obj(Vec<(String, J)>),
    }

    pub(crate) fn parse(text: &str) -> J {
        let v: Vec<char> = text.chars().collect();
        let mut i = 0;
        value(&v, &mut i)
    }

    fn value(v: &[char], i: &mut usize) -> J {
        match v[*i] {
            '{' => {
                *i += 1;
                let mut fields = vec![];
                while v[*i] != '}' {
                    if v[*i] == ',' {
                        *i += 1;
                    }
                    let J::Str(key) = value(v, i) else {
                        panic!("key")
                    };
                    *i += 1; // ':'
                    fields.push((key, value(v, i)));
                }
                *i += 1;
                J::Obj(fields)
            }
            '[' => {
                *i += 1;
                let mut items = vec![];
                while v[*i] != ']' {
                    if v[*i] == ',' {
                        *i += 1;
                    }
                    items.push(value(v, i));
                }
                *i += 1;
                J::Arr(items)
            }
            '"' => {
                *i += 1;
                let mut s = String::new();
                while v[*i] != '"' {
                    if v[*i] == '\\' {
                        s.push(v[*i]);
                        *i += 1;
                    }
                    s.push(v[*i]);
                    *i += 1;
                }
                *i += 1;
                J::Str(s)
            }
            't' => {
                *i += 4;
                J::Bool(true)
            }
            'f' => {
                *i += 5;
                J::Bool(false)
            }
            'n' => {
                *i += 4;
                J::Null
            }
            _ => {
                let start = *i;
                while *i < v.len() && "-+.eE0123456789".contains(v[*i]) {
                    *i += 1;
                }
                J::Num(v[start..*i].iter().collect())
            }
        }
    }

    pub(crate) fn print(j: &J) -> String {
        match j {
            J::Num(n) => n.clone(),
            J::Str(s) => format!("\"{s}\""),
            J::Bool(b) => b.to_string(),
            J::Null => "null".into(),
            J::Arr(items) => format!(
                "[{}]",
                items.iter().map(print).collect::<Vec<_>>().join(",")
            ),
            J::Obj(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{}", print(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    fn count(j: &J) -> usize {
        1 + match j {
            J::Arr(items) => items.iter().map(count).sum(),
            J::Obj(fields) => fields.iter().map(|(_, v)| count(v)).sum(),
            _ => 0,
        }
    }

    /// The `n`-th node, depth first.
    fn nth<'a>(j: &'a mut J, n: &mut usize) -> Option<&'a mut J> {
        if *n == 0 {
            return Some(j);
        }
        *n -= 1;
        match j {
            J::Arr(items) => items.iter_mut().find_map(|c| nth(c, n)),
            J::Obj(fields) => fields.iter_mut().find_map(|(_, c)| nth(c, n)),
            _ => None,
        }
    }

    const NUMBERS: [&str; 10] = [
        "0",
        "1",
        "-1",
        "4096",
        "65535",
        "281474976710656",
        "4294967295",
        "18446744073709551615",
        "18446744073709551616",
        "340282366920938463463374607431768211455",
    ];
    const STRINGS: [&str; 8] = ["acme", "zeta", "web", "api", "db", "g7", "g8i", "bad name!"];

    /// Change the node `at` picks: `how` says how (most changes keep the
    /// node's type, so that serde takes the result), `x` with what.
    pub(crate) fn mutate(doc: &mut J, at: Index, how: u8, x: u64) {
        let mut n = at.index(count(doc));
        let Some(node) = nth(doc, &mut n) else { return };
        let pick = |len: usize| (x % len as u64) as usize;
        match node {
            J::Num(s) => {
                *s = match (how % 6, s.parse::<i128>()) {
                    (0 | 1, Ok(v)) => (v + 1).to_string(),
                    (2, Ok(v)) => (v - 1).max(0).to_string(),
                    (3, Ok(v)) => (v + (x % 10_000) as i128).to_string(),
                    (4, _) => (x % 25_000).to_string(),
                    _ => NUMBERS[pick(NUMBERS.len())].to_string(),
                }
            }
            J::Str(s) => *s = STRINGS[pick(STRINGS.len())].to_string(),
            J::Bool(b) => *b = !*b,
            J::Null => *node = J::Num((x % 25_000).to_string()),
            J::Arr(items) if !items.is_empty() => {
                let (i, len) = (pick(items.len()), items.len());
                match how % 3 {
                    0 => drop(items.remove(i)),
                    1 => items.insert(i, items[i].clone()),
                    _ => items.swap(i, (i + 1) % len),
                }
            }
            J::Arr(_) => {}
            J::Obj(fields) if how % 4 == 0 && !fields.is_empty() => {
                fields.remove(pick(fields.len()));
            }
            J::Obj(fields) if !fields.is_empty() => {
                // A field's value from a sibling object of the same shape
                // is not at hand: reuse another field's value instead.
                let i = pick(fields.len());
                let j = (i + 1 + (x as usize >> 8) % fields.len()) % fields.len();
                fields[i].1 = fields[j].1.clone();
            }
            J::Obj(_) => {}
        }
    }
}
