//! Metering under arbitrary input: a meter restored from arbitrary
//! snapshot bytes, and event streams with duplicates, reordering, huge
//! values and time jumps. After every call: a refused call (and a
//! duplicate) left the meter snapshot byte-identical, a batch refused part
//! way did exactly what its accepted prefix does alone, and every invoice's
//! lines sum to its total. `tests/fuzz_meter.rs` runs it under `cargo test`
//! (arbtest); the fuzz crate runs the same file as cargo-fuzz targets.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use arbitrary::{Arbitrary, Result, Unstructured};
use trimline::metering::*;
use trimline::*;

/// (tenant, app) pairs events are drawn from.
const OWNERS: [(&str, &str); 3] = [("acme", "web"), ("acme", "api"), ("zeta", "db")];

/// A time, relative to the embedder's `now` or anywhere.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum When {
    /// `now` plus or minus some seconds.
    Near(i16),
    /// Anything, up to `u64::MAX`.
    Anywhere(u64),
}

/// A shape: a small one, or any numbers.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Shape {
    Small(u8),
    Any(u64, u64, u64),
}

/// One thing an embedder does to a meter.
#[derive(Arbitrary, Debug, Clone)]
pub enum MeterOp {
    /// A new event; its id derived, or any number.
    Ingest {
        instance: u8,
        owner: u8,
        at: When,
        kind: u8,
        shape: Shape,
        derived: Option<u16>,
        id: u128,
    },
    /// An event sent before, sent again (a duplicate, maybe late).
    Replay { back: u8 },
    /// An event sent before, with another payload under its id.
    Tamper { back: u8, at: When },
    /// The last events sent again as one batch, in reverse order.
    Batch { count: u8 },
    /// Close the open period.
    Close { end: When },
    /// A new price table, with any rates.
    Price {
        version: u8,
        effective: When,
        cpu: i64,
        idle: i64,
        memory: i64,
        minimum: u8,
        exact: bool,
    },
    /// Time moves on, a little or a lot.
    Advance { ms: u32 },
    /// Time jumps anywhere, backwards too.
    Jump { to: u64 },
    /// Snapshot, restore through JSON, go on with the copy.
    SnapshotRestore,
}

fn at(now: u64, w: When) -> u64 {
    match w {
        When::Near(s) => now.saturating_add_signed(i64::from(s) * 1_000),
        When::Anywhere(t) => t,
    }
}

fn shape(s: Shape) -> Option<Resources> {
    match s {
        Shape::Small(k) => Resources::new(
            500 * u64::from(k % 8 + 1),
            512 * u64::from(k / 8 % 8 + 1),
            0,
            u64::from(k / 64 % 2),
        )
        .ok(),
        Shape::Any(c, m, a) => Resources::new(c, m, 0, a).ok(),
    }
}

/// The bytes of a meter's snapshot.
pub fn bytes(m: &Meter) -> Vec<u8> {
    serde_json::to_vec(&m.snapshot()).unwrap()
}

/// Every invoice's lines sum to its total, exact and rounded, and no line
/// is a unit or more away from its exact amount.
pub fn check_report(r: &PeriodReport, unit_nanos: i128) {
    for inv in &r.invoices {
        let sum: i128 = inv.lines.iter().map(|l| l.amount_nanos).sum();
        assert_eq!(
            sum, inv.total_nanos,
            "invoice lines do not sum to the total"
        );
        let exact: i128 = inv.lines.iter().map(|l| l.exact_subnanos).sum();
        assert_eq!(exact, inv.exact_subnanos, "exact lines do not sum");
        for l in &inv.lines {
            assert!(
                (l.amount_nanos * SUBNANOS_PER_NANO - l.exact_subnanos).abs()
                    < unit_nanos * SUBNANOS_PER_NANO,
                "a line is a unit or more off its exact amount: {l:?}"
            );
        }
    }
}

/// A meter and what the embedder remembers of it.
pub struct MeterRun {
    pub m: Meter,
    pub now: u64,
    /// Every event sent, in order.
    sent: Vec<Event>,
    pub steps: u64,
}

impl MeterRun {
    pub fn new(m: Meter, now: u64) -> MeterRun {
        MeterRun {
            m,
            now,
            sent: Vec::new(),
            steps: 0,
        }
    }

    fn earlier(&self, back: u8) -> Option<Event> {
        let n = self.sent.len();
        (n > 0).then(|| self.sent[n - 1 - usize::from(back) % n].clone())
    }

    /// Ingest one event, checked: a refusal or a duplicate leaves the
    /// snapshot byte-identical.
    fn ingest(&mut self, e: Event) {
        let before = bytes(&self.m);
        let r = self.m.ingest(&e, Timestamp(self.now));
        match r {
            Ok(Ingested::Applied | Ingested::Adjusted) => self.sent.push(e),
            Ok(Ingested::Duplicate) => {
                assert!(bytes(&self.m) == before, "a duplicate changed the meter")
            }
            Ok(other) => panic!("unknown outcome {other:?}"),
            Err(err) => assert!(
                bytes(&self.m) == before,
                "a refused event ({err}) changed the meter: {e:?}"
            ),
        }
    }

    /// Apply one op and check every promise.
    pub fn step(&mut self, op: &MeterOp) {
        self.steps += 1;
        let now = self.now;
        match *op {
            MeterOp::Ingest {
                instance,
                owner,
                at: w,
                kind,
                shape: s,
                derived,
                id,
            } => {
                let (tenant, app) = OWNERS[usize::from(owner) % OWNERS.len()];
                let kind = match kind % 6 {
                    0 | 5 => EventKind::Started {
                        resources: match shape(s) {
                            Some(r) => r,
                            None => return,
                        },
                        delivered: (kind >= 128).then(|| "g7".parse().unwrap()),
                        zone: (kind & 64 != 0).then(|| "z-b".parse().unwrap()),
                    },
                    1 => EventKind::Stopped,
                    2 => EventKind::Idle,
                    3 => EventKind::Active,
                    _ => EventKind::Resized {
                        resources: match shape(s) {
                            Some(r) => r,
                            None => return,
                        },
                        delivered: None,
                        zone: (kind & 64 != 0).then(|| "z-a".parse().unwrap()),
                    },
                };
                // Two sources share instance ids 1 to 5.
                let source = (instance >= 128).then(|| "east".parse().unwrap());
                let instance = InstanceId(u64::from(instance % 5) + 1);
                let t = Timestamp(at(now, w));
                let id = match derived {
                    Some(k) => match EventId::derived(instance, &kind, t, u32::from(k % 4)) {
                        Ok(id) => id,
                        Err(_) => EventId(id),
                    },
                    None => EventId(id),
                };
                self.ingest(Event {
                    id,
                    tenant: tenant.parse().unwrap(),
                    app: app.parse().unwrap(),
                    instance,
                    source,
                    at: t,
                    kind,
                });
            }
            MeterOp::Replay { back } => {
                if let Some(e) = self.earlier(back) {
                    let before = bytes(&self.m);
                    let r = self.m.ingest(&e, Timestamp(now));
                    // An event applied before is a duplicate, or refused
                    // (its id forgotten past the horizon): never applied twice.
                    assert!(
                        matches!(r, Ok(Ingested::Duplicate) | Err(_)),
                        "a replayed event was counted again: {r:?}"
                    );
                    assert!(bytes(&self.m) == before, "a replay changed the meter");
                }
            }
            MeterOp::Tamper { back, at: w } => {
                if let Some(mut e) = self.earlier(back) {
                    e.at = Timestamp(at(now, w));
                    self.ingest(e);
                }
            }
            MeterOp::Batch { count } => {
                let n = usize::from(count % 8).min(self.sent.len());
                let mut batch: Vec<Event> = self.sent[self.sent.len() - n..].to_vec();
                batch.reverse();
                let mut alone = self.m.clone();
                let r = self.m.ingest_batch(&batch, Timestamp(now));
                // A batch does what its accepted prefix does one by one.
                for (e, expected) in batch.iter().zip(&r.results) {
                    assert_eq!(alone.ingest(e, Timestamp(now)).as_ref(), Ok(expected));
                }
                if let Some((i, err)) = &r.refused {
                    assert_eq!(*i, r.results.len());
                    assert_eq!(alone.ingest(&batch[*i], Timestamp(now)).as_ref(), Err(err));
                }
                assert!(
                    bytes(&alone) == bytes(&self.m),
                    "a batch did more or less than its accepted events"
                );
            }
            MeterOp::Close { end } => {
                let before = bytes(&self.m);
                match self.m.close_period(Timestamp(at(now, end)), Timestamp(now)) {
                    Ok(report) => check_report(&report, self.m.config().invoice.unit_nanos),
                    Err(e) => assert!(
                        bytes(&self.m) == before,
                        "a refused close ({e}) changed the meter"
                    ),
                }
            }
            MeterOp::Price {
                version,
                effective,
                cpu,
                idle,
                memory,
                minimum,
                exact,
            } => {
                let mut p = PriceTable::new(
                    u64::from(version),
                    Timestamp(at(now, effective)),
                    i128::from(cpu),
                    i128::from(memory),
                    i128::from(cpu / 2),
                );
                p.idle_cpu_nanos_per_vcpu_second = i128::from(idle);
                p.minimum_run_seconds = u64::from(minimum);
                if exact {
                    p.sub_second = SubSecond::Exact;
                }
                let before = bytes(&self.m);
                if let Err(e) = self.m.add_price_table(p) {
                    assert!(
                        bytes(&self.m) == before,
                        "a refused price table ({e}) changed the meter"
                    );
                }
            }
            MeterOp::Advance { ms } => self.now = now.saturating_add(u64::from(ms)),
            MeterOp::Jump { to } => self.now = to,
            MeterOp::SnapshotRestore => {
                let json = bytes(&self.m);
                let restored = Meter::restore(serde_json::from_slice(&json).unwrap())
                    .unwrap_or_else(|e| panic!("a meter's own snapshot is refused: {e}"));
                assert!(bytes(&restored) == json, "restore changed the meter");
                self.m = restored;
            }
        }
    }
}

/// A whole event-stream case: a price table, then calls until the bytes
/// run out.
pub fn events(u: &mut Unstructured<'_>) -> Result<()> {
    let config = MeterConfig {
        allowed_lateness_ms: u.int_in_range(0..=600_000)?,
        max_clock_skew_ms: u.int_in_range(0..=10_000)?,
        adjustment_window_ms: u.int_in_range(0..=7_200_000)?,
        ..MeterConfig::default()
    };
    let mut m = Meter::new(config).unwrap();
    m.add_price_table(PriceTable::new(0, Timestamp(0), 10_000, 1_000, 50_000))
        .unwrap();
    let mut run = MeterRun::new(m, u.int_in_range(0..=3_600_000)?);
    while !u.is_empty() && run.steps < 200 {
        let op: MeterOp = u.arbitrary()?;
        run.step(&op);
    }
    Ok(())
}

/// Snapshot bytes: a JSON document (bytes starting with `{`) is decoded
/// as it is; other bytes build a meter through calls, then change numbers
/// in its snapshot's JSON text. Either way restore gives an error or a
/// meter whose own snapshot restores to the same bytes and that keeps
/// working through calls drawn from the rest of the bytes.
pub fn snapshot(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let text = if data.first() == Some(&b'{') {
        data.to_vec()
    } else {
        match corrupted(&mut u) {
            Ok(text) => text,
            Err(_) => return,
        }
    };
    let Ok(snap) = serde_json::from_slice::<MeterSnapshot>(&text) else {
        return;
    };
    let Ok(m) = Meter::restore(snap) else {
        return;
    };
    let json = bytes(&m);
    let again = Meter::restore(serde_json::from_slice(&json).unwrap())
        .unwrap_or_else(|e| panic!("a restored meter's own snapshot is refused: {e}"));
    assert!(bytes(&again) == json, "restore changed the meter");
    let mut run = MeterRun::new(m, u.arbitrary().unwrap_or(0));
    while !u.is_empty() && run.steps < 50 {
        let Ok(op) = u.arbitrary::<MeterOp>() else {
            break;
        };
        run.step(&op);
    }
}

/// The snapshot of a meter after some calls, with one to three runs of
/// digits in its JSON text replaced by other numbers.
fn corrupted(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(PriceTable::new(0, Timestamp(0), 10_000, 1_000, 50_000))
        .unwrap();
    let mut run = MeterRun::new(m, 3_600_000);
    let steps = u.int_in_range(0..=40)?;
    for _ in 0..steps {
        let op: MeterOp = u.arbitrary()?;
        run.step(&op);
    }
    let mut text = bytes(&run.m);
    for _ in 0..u.int_in_range(1..=3)? {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i].is_ascii_digit() {
                let start = i;
                while i < text.len() && text[i].is_ascii_digit() {
                    i += 1;
                }
                runs.push((start, i));
            } else {
                i += 1;
            }
        }
        if runs.is_empty() {
            break;
        }
        let (start, end) = runs[u.choose_index(runs.len())?];
        let old: u128 = std::str::from_utf8(&text[start..end])
            .unwrap()
            .parse()
            .unwrap_or(u128::MAX);
        let new = match u.int_in_range(0..=6)? {
            0 => 0,
            1 => old.saturating_add(1),
            2 => old.saturating_sub(1),
            3 => u128::from(u64::MAX),
            4 => u128::MAX,
            5 => old.saturating_mul(2),
            _ => u128::from(u.arbitrary::<u32>()?),
        };
        text.splice(start..end, new.to_string().into_bytes());
    }
    Ok(text)
}
