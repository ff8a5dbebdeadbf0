//! Properties of the meter's deduplication and batch ingest over random
//! streams that mix derived and other ids, replays, conflicting replays,
//! late events and period closes.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const INSTANCES: u64 = 4;
const SHAPES: [(u64, u64, u64); 3] = [(500, 1_024, 0), (2_000, 3_072, 1), (1_500, 1_536, 0)];
const OWNERS: [(&str, &str); 2] = [("acme", "web"), ("zeta", "db")];

fn shape(i: u8) -> Resources {
    let (c, m, a) = SHAPES[usize::from(i) % SHAPES.len()];
    Resources::new(c, m, 0, a).unwrap()
}

fn config() -> MeterConfig {
    MeterConfig {
        allowed_lateness_ms: 1_500,
        adjustment_window_ms: 3_000,
        ..MeterConfig::default()
    }
}

fn meter() -> Meter {
    let mut m = Meter::new(config()).unwrap();
    let mut p = PriceTable::new(1, Timestamp(0), 10_000, 1_000, 50_000);
    p.minimum_run_seconds = 2;
    m.add_price_table(p).unwrap();
    let mut p2 = PriceTable::new(2, Timestamp(7_000), 12_000, 1_000, 50_000);
    p2.idle_cpu_nanos_per_vcpu_second = 3_000;
    m.add_price_table(p2).unwrap();
    m
}

/// One call.
#[derive(Clone, Debug)]
enum Step {
    Ingest(Event, Timestamp),
    Close(Timestamp, Timestamp),
}

/// What a call returned, comparable across meters.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ingested(Result<Ingested, MeterError>),
    Closed(Result<PeriodReport, MeterError>),
}

/// Raw choices for one step: (what, instance, gap, delay, kind, shape, id
/// mode, earlier event).
type Raw = (u8, u8, u16, u16, u8, u8, u8, u16);

fn raw_steps() -> impl Strategy<Value = Vec<Raw>> {
    prop::collection::vec(
        (
            0u8..20,
            0u8..4,
            0u16..1_200,
            0u16..4_000,
            0u8..8,
            0u8..3,
            0u8..10,
            any::<u16>(),
        ),
        1..80,
    )
}

/// Builds the steps while driving `m` (event kinds follow its state, so
/// that most events are valid), and checks every result against a
/// reference of the deduplication rules: an id remembered (applied and not
/// before the horizon) with the same payload is a duplicate, with another
/// payload a conflict; any other id is neither.
fn drive_and_check(raw: &[Raw]) -> (Vec<Step>, Vec<Outcome>, Meter) {
    let mut m = meter();
    let mut reference: BTreeMap<EventId, Event> = BTreeMap::new();
    let mut sent: Vec<Event> = Vec::new();
    let mut steps = Vec::new();
    let mut outcomes = Vec::new();
    let mut clock = 0u64;
    let mut last_close = 0u64;
    let mut queue: Vec<Event> = Vec::new();
    for &(what, k, gap, delay, choice, s, mode, j) in raw {
        let instance = InstanceId(u64::from(k) % INSTANCES + 1);
        let (tenant, app) = OWNERS[(instance.0 % 2) as usize];
        match what {
            0..=10 => {
                clock += u64::from(gap);
                let at = if what >= 9 {
                    clock.saturating_sub(u64::from(delay))
                } else {
                    clock
                };
                let delivered = (s < 2).then(|| ["g7", "g8i"][usize::from(s)].parse().unwrap());
                let kind = if !m.is_running(instance) {
                    EventKind::Started {
                        resources: shape(s),
                        delivered,
                        zone: None,
                    }
                } else {
                    match choice {
                        0..=1 => EventKind::Stopped,
                        2 => EventKind::Idle,
                        3 => EventKind::Standby,
                        4 | 5 => EventKind::Active,
                        6 => EventKind::Resized {
                            resources: shape(s),
                            delivered,
                            zone: None,
                        },
                        _ => EventKind::Started {
                            resources: shape(s),
                            delivered,
                            zone: None,
                        },
                    }
                };
                let derived = |occurrence| {
                    EventId::derived(instance, &kind, Timestamp(at), occurrence).unwrap()
                };
                let id = match mode {
                    0..=5 => derived(0),
                    6 => derived(u32::from(j % 3)),
                    7 => EventId(0x1000 + u128::from(j % 64)),
                    _ => derived(0),
                };
                let event = Event {
                    id,
                    tenant: tenant.parse().unwrap(),
                    app: app.parse().unwrap(),
                    instance,
                    at: Timestamp(at),
                    kind,
                    source: None,
                };
                if mode >= 8 {
                    // Another instance's event takes this one's derived id
                    // first.
                    let mut thief = event.clone();
                    thief.instance = InstanceId(instance.0 % INSTANCES + 1);
                    let (tenant, app) = OWNERS[(thief.instance.0 % 2) as usize];
                    thief.tenant = tenant.parse().unwrap();
                    thief.app = app.parse().unwrap();
                    queue.push(thief);
                }
                queue.push(event);
            }
            11..=14 if !sent.is_empty() => {
                // A replay, exact or with another payload.
                let mut e = sent[usize::from(j) % sent.len()].clone();
                match what {
                    12 => {
                        e.kind = match e.kind {
                            EventKind::Idle => EventKind::Active,
                            _ => EventKind::Idle,
                        }
                    }
                    13 => e.at = Timestamp(e.at.0 + 1),
                    14 => {
                        e.instance = InstanceId(e.instance.0 % INSTANCES + 1);
                    }
                    _ => {}
                }
                queue.push(e);
            }
            15..=16 => {
                clock += u64::from(gap);
                if clock > last_close {
                    steps.push(Step::Close(Timestamp(clock), Timestamp(clock)));
                }
            }
            _ => {}
        }
        for e in queue.drain(..) {
            steps.push(Step::Ingest(e, Timestamp(clock)));
        }
        // Run what was queued.
        while outcomes.len() < steps.len() {
            let step = &steps[outcomes.len()];
            let before = format!("{m:?}");
            match step {
                Step::Ingest(e, now) => {
                    let r = m.ingest(e, *now);
                    match reference.get(&e.id) {
                        Some(old) if old == e => assert_eq!(r, Ok(Ingested::Duplicate), "{e:?}"),
                        Some(_) => assert_eq!(r, Err(MeterError::Conflict { id: e.id }), "{e:?}"),
                        None => assert!(
                            !matches!(
                                r,
                                Ok(Ingested::Duplicate) | Err(MeterError::Conflict { .. })
                            ),
                            "{e:?}: {r:?}"
                        ),
                    }
                    match &r {
                        Ok(Ingested::Applied | Ingested::Adjusted) => {
                            reference.insert(e.id, e.clone());
                            sent.push(e.clone());
                        }
                        Ok(_) => {}
                        Err(_) => assert_eq!(format!("{m:?}"), before, "{e:?}: {r:?}"),
                    }
                    outcomes.push(Outcome::Ingested(r));
                }
                Step::Close(end, now) => {
                    let r = m.close_period(*end, *now);
                    if r.is_ok() {
                        last_close = end.0;
                        let horizon = m.horizon();
                        reference.retain(|_, e| e.at >= horizon);
                    }
                    outcomes.push(Outcome::Closed(r));
                }
            }
            assert_eq!(m.remembered_events(), reference.len());
        }
    }
    (steps, outcomes, m)
}

/// Ids that no event's own fields derive (the instance part gets the top
/// bit), one to one.
fn foreign(id: EventId) -> EventId {
    EventId(id.0 ^ (1 << 127))
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    /// Derived ids, remembered with their instance, and other ids,
    /// remembered in a table, follow the same rules, together: a replay is
    /// a duplicate or a conflict exactly as a reference map of every
    /// remembered id says, and a refused event changes nothing.
    #[test]
    fn deduplication_follows_the_reference(raw in raw_steps()) {
        let _ = drive_and_check(&raw);
    }

    /// The same stream with every id replaced one to one by an id that is
    /// not derived gives the same results and the same reports.
    #[test]
    fn derived_ids_meter_as_any_other(raw in raw_steps()) {
        let (steps, outcomes, _) = drive_and_check(&raw);
        let mut m = meter();
        for (step, expected) in steps.iter().zip(&outcomes) {
            let got = match step {
                Step::Ingest(e, now) => {
                    let mut e = e.clone();
                    e.id = foreign(e.id);
                    Outcome::Ingested(m.ingest(&e, *now).map_err(|err| match err {
                        MeterError::Conflict { id } => MeterError::Conflict { id: foreign(id) },
                        other => other,
                    }))
                }
                Step::Close(end, now) => Outcome::Closed(m.close_period(*end, *now).map(|mut r| {
                    for a in &mut r.adjustments {
                        a.event = foreign(a.event);
                    }
                    r
                })),
            };
            prop_assert_eq!(&got, expected);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    /// A batch ingests exactly as one by one up to its first refused event,
    /// which it reports, and ingests nothing from there on: the results and
    /// the state (and so everything reported later) are the same.
    #[test]
    fn a_batch_is_one_by_one_up_to_its_first_refusal(
        raw in raw_steps(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let (steps, _, _) = drive_and_check(&raw);
        let mut one = meter();
        let mut batched = meter();
        // Runs of events between closes, cut into batches anywhere.
        let mut i = 0;
        while i < steps.len() {
            if let Step::Close(end, now) = &steps[i] {
                prop_assert_eq!(one.close_period(*end, *now), batched.close_period(*end, *now));
                i += 1;
                continue;
            }
            // Every event up to the next close, at the latest time among
            // them.
            let mut run = Vec::new();
            let mut now = Timestamp(0);
            while let Some(Step::Ingest(e, t)) = steps.get(i) {
                now = now.max(*t);
                run.push(e.clone());
                i += 1;
            }
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(run.len() + 1)).collect();
            bounds.push(0);
            bounds.push(run.len());
            bounds.sort_unstable();
            for w in bounds.windows(2) {
                let mut batch = &run[w[0]..w[1]];
                // Send the batch until all of it is in, skipping each event
                // it refuses, as an embedder would after dealing with it.
                loop {
                    let before = format!("{batched:?}");
                    let b = batched.ingest_batch(batch, now);
                    let mut expected = Vec::new();
                    let mut refused = None;
                    for (k, e) in batch.iter().enumerate() {
                        match one.ingest(e, now) {
                            Ok(r) => expected.push(r),
                            Err(err) => {
                                refused = Some((k, err));
                                break;
                            }
                        }
                    }
                    prop_assert_eq!(&b.results, &expected);
                    prop_assert_eq!(&b.refused, &refused);
                    prop_assert_eq!(format!("{batched:?}"), format!("{one:?}"));
                    if b.results.is_empty() && b.refused.is_some() {
                        // A refusal at the first event changes nothing.
                        prop_assert_eq!(format!("{batched:?}"), before);
                    }
                    match b.refused {
                        Some((k, _)) => batch = &batch[k + 1..],
                        None => break,
                    }
                }
            }
        }
        prop_assert_eq!(format!("{batched:?}"), format!("{one:?}"));
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let index = prop_oneof![Just(0u32), Just(NO_SKU), 0..NO_SKU];
    (0u8..6, index.clone(), index).prop_map(|(code, a, b)| {
        let shape = a.min((1 << SHAPE_BITS) - 1);
        match code {
            0 => Op::Start { shape, sku: b },
            1 => Op::Stop,
            2 => Op::Idle,
            3 => Op::Active,
            4 => Op::Standby,
            _ => Op::Resize { shape, sku: b },
        }
    })
}

proptest! {
    // Twice the default count (which PROPTEST_CASES sets).
    #![proptest_config(ProptestConfig {
        cases: ProptestConfig::default().cases.saturating_mul(2),
        ..ProptestConfig::default()
    })]

    /// A packed event reads back as what was packed.
    #[test]
    fn packed_events_read_back(
        at in any::<u64>(),
        op in op_strategy(),
        key in prop_oneof![Just(FOREIGN), 0u16..4_096],
    ) {
        let ev = Ev::new(Timestamp(at), op, key);
        prop_assert_eq!(ev.at, Timestamp(at));
        prop_assert_eq!(ev.op(), op);
        prop_assert_eq!(ev.code(), op.code());
        prop_assert_eq!(ev.key(), key);
        prop_assert_eq!(ev.is_foreign(), key == FOREIGN);
    }

    /// A packed state reads back as what was packed.
    #[test]
    fn packed_states_read_back(
        start in any::<u64>(),
        shape in 0u32..(1 << SHAPE_BITS),
        sku in prop_oneof![Just(NO_SKU), 0..NO_SKU],
        mode in prop_oneof![Just(Mode::Active), Just(Mode::Idle), Just(Mode::Standby)],
        running in any::<bool>(),
    ) {
        let run = running.then_some(Run { start: Timestamp(start), shape, mode, sku });
        prop_assert_eq!(State::of(run).get(), run);
        prop_assert_eq!(State::of(run).is_running(), running);
    }
}

/// A late event may bring a shape the meter has never seen: its
/// correction bills that shape, though it is interned only once the event
/// is applied.
#[test]
fn a_late_resize_to_a_new_shape_is_billed_at_that_shape() {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))
        .unwrap();
    let (small, large) = (
        Resources::cpu_mem(1_000, 1_024).unwrap(),
        Resources::cpu_mem(3_000, 2_048).unwrap(),
    );
    let event = |at, kind| Event {
        id: EventId(at),
        tenant: "acme".parse().unwrap(),
        app: "web".parse().unwrap(),
        instance: InstanceId(7),
        at: Timestamp(at.try_into().unwrap()),
        kind,
        source: None,
    };
    let start = EventKind::Started {
        resources: small,
        delivered: None,
        zone: None,
    };
    let _ = m.ingest(&event(0, start), Timestamp(10_000)).unwrap();
    let _ = m
        .close_period(Timestamp(10_000), Timestamp(10_000))
        .unwrap();
    let resize = EventKind::Resized {
        resources: large,
        delivered: None,
        zone: None,
    };
    let late = m.ingest(&event(9_000, resize), Timestamp(10_000));
    assert_eq!(late, Ok(Ingested::Adjusted));
    let adjustments: Vec<&Adjustment> = m.pending_adjustments().collect();
    assert_eq!(adjustments.len(), 1);
    // One second at 2 more vCPU and 1 GiB more.
    assert_eq!(adjustments[0].usage.cpu_millicore_ms, 2_000 * 1_000);
    assert_eq!(adjustments[0].usage.memory_mib_ms, 1_024 * 1_000);
    // The new shape is billed from then on.
    let r = m
        .close_period(Timestamp(11_000), Timestamp(11_000))
        .unwrap();
    assert_eq!(r.usage[0].priced[0].usage.cpu_millicore_ms, 3_000 * 1_000);
}

/// An instance whose events spilled to the heap moves them back into its
/// slot once a close leaves few enough of them.
#[test]
fn events_move_back_into_the_slot_when_a_close_prunes_them() {
    let mut m = meter();
    let instance = InstanceId(1);
    let event = |at: u64, kind: EventKind| Event {
        id: EventId::derived(instance, &kind, Timestamp(at), 0).unwrap(),
        tenant: "acme".parse().unwrap(),
        app: "web".parse().unwrap(),
        instance,
        at: Timestamp(at),
        kind,
        source: None,
    };
    let now = Timestamp(100_000);
    let mut kinds = vec![EventKind::Started {
        resources: shape(0),
        delivered: None,
        zone: None,
    }];
    for k in 0..(INLINE_EVENTS + 2) {
        kinds.push(if k % 2 == 0 {
            EventKind::Idle
        } else {
            EventKind::Active
        });
    }
    for (k, kind) in kinds.into_iter().enumerate() {
        let _ = m.ingest(&event(100 * k as u64, kind), now).unwrap();
    }
    assert!(
        m.sources[0]
            .instances
            .get(instance)
            .unwrap()
            .events
            .spilled()
    );
    // The horizon passes every event: none is remembered any longer.
    let _ = m.close_period(Timestamp(50_000), now).unwrap();
    let inst = m.sources[0].instances.get(instance).unwrap();
    assert!(inst.events.is_empty() && !inst.events.spilled());
    assert!(m.is_running(instance));
}

/// Shapes and SKUs are interned once each, whatever allocation their names
/// come in and however their hints collide: every run is billed at its own
/// shape and reported under its own SKU.
#[test]
fn interned_shapes_and_skus_follow_their_values() {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))
        .unwrap();
    let now = Timestamp(10_000);
    let (n, skus) = (3_000u64, ["g7.large", "g7.xlarge", "m7.large"]);
    for i in 0..n {
        // A fresh allocation of the SKU's name for every event.
        let sku: SkuId = skus[(i % 3) as usize].parse().unwrap();
        let kind = EventKind::Started {
            resources: Resources::cpu_mem(1 + i, 1).unwrap(),
            delivered: Some(sku),
            zone: None,
        };
        let e = Event {
            id: EventId::derived(InstanceId(i), &kind, Timestamp(0), 0).unwrap(),
            tenant: "acme".parse().unwrap(),
            app: "web".parse().unwrap(),
            instance: InstanceId(i),
            at: Timestamp(0),
            kind,
            source: None,
        };
        assert_eq!(m.ingest(&e, now), Ok(Ingested::Applied));
    }
    assert_eq!(m.catalog.shapes.len(), n as usize);
    assert_eq!(m.catalog.skus.len(), skus.len());
    let r = m.close_period(Timestamp(1_000), now).unwrap();
    let usage = &r.usage[0];
    // Σ (1 + i) millicores × 1,000 ms.
    let cpu: i128 = (0..n).map(|i| i128::from(1 + i) * 1_000).sum();
    assert_eq!(usage.priced[0].usage.cpu_millicore_ms, cpu);
    let delivered: Vec<(String, i128)> = usage
        .delivered
        .iter()
        .map(|d| (d.sku.as_ref().unwrap().to_string(), d.instance_ms))
        .collect();
    let each = i128::from(n / 3) * 1_000;
    assert_eq!(
        delivered,
        skus.map(|s| (s.to_string(), each)).to_vec(),
        "one entry per SKU"
    );
}

fn take(m: &mut Meter, step: &Step) -> Outcome {
    match step {
        Step::Ingest(e, now) => Outcome::Ingested(m.ingest(e, *now)),
        Step::Close(end, now) => Outcome::Closed(m.close_period(*end, *now)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    /// Snapshot and restore (through JSON) at any step of a stream with
    /// replays, conflicting replays, ids taken by other instances, several
    /// occurrences, late events and closes: the restored meter writes the
    /// same snapshot, rebuilds the same records (in its own interning), and
    /// gives the same outcome for every later step.
    #[test]
    fn a_restored_meter_rebuilds_the_same_records(
        raw in raw_steps(),
        cut in any::<prop::sample::Index>(),
    ) {
        let (steps, outcomes, _) = drive_and_check(&raw);
        let k = cut.index(steps.len() + 1);
        let mut m = meter();
        for s in &steps[..k] {
            let _ = take(&mut m, s);
        }
        let json = serde_json::to_string(&m.snapshot()).unwrap();
        let mut r = Meter::restore(serde_json::from_str(&json).unwrap()).unwrap();
        prop_assert_eq!(&serde_json::to_string(&r.snapshot()).unwrap(), &json);
        prop_assert_eq!(
            (r.derived_ids, r.remembered_events(), r.tracked_instances()),
            (m.derived_ids, m.remembered_events(), m.tracked_instances())
        );
        let named = |m: &Meter, s: State| {
            s.get().map(|run| (run.start, m.catalog.shape(run.shape), m.sku_name(run.sku), run.mode))
        };
        for Slot { id, inst } in m.sources[0].instances.0.iter() {
            let got = r.sources[0].instances.get(*id).unwrap();
            prop_assert_eq!((got.open, got.last, got.events.len()), (inst.open, inst.last, inst.events.len()));
            prop_assert_eq!(named(&r, got.carry), named(&m, inst.carry));
            prop_assert_eq!(named(&r, got.tail), named(&m, inst.tail));
            prop_assert_eq!(r.apps.get_index(got.app as usize), m.apps.get_index(inst.app as usize));
        }
        for (s, expected) in steps[k..].iter().zip(&outcomes[k..]) {
            prop_assert_eq!(&take(&mut r, s), expected, "{:?}", s);
        }
    }
}
