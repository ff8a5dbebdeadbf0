//! The operation-sequence harness: a small region drawn from arbitrary
//! bytes, then a sequence of scheduler calls (dry runs, stock changes,
//! provisioning results, zone and host failures, moves, snapshot and
//! restore in the middle), with the scheduler's promises checked after
//! every step. A meter is fed the events each call's decisions imply
//! (`decision_events`): after every step that fed it events, a period
//! closed on a copy gives invoices whose lines sum to their total; a
//! refused meter call leaves the meter snapshot byte-identical; periods
//! close now and then. `tests/fuzz_ops.rs` runs it under `cargo test` (arbtest);
//! the fuzz crate runs the same file as a cargo-fuzz target.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Result, Unstructured};
use trimline::metering::*;
use trimline::*;

/// One call.
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    AddHost {
        sku: u8,
        zone: u8,
    },
    RemoveHost {
        pick: u16,
    },
    HostFailed {
        pick: u16,
    },
    SetHostState {
        pick: u16,
        cordon: bool,
    },
    Place {
        app: u8,
    },
    PlaceBatch {
        app: u8,
        count: u8,
        all: bool,
    },
    Scale {
        app: u8,
        target: u8,
    },
    DryRunScale {
        app: u8,
        target: u8,
    },
    RemoveInstance {
        pick: u16,
    },
    SetStock {
        sku: u8,
        zone: u8,
        stock: Option<u8>,
    },
    ProvisionFailed {
        sku: u8,
        zone: u8,
    },
    HostReady {
        pick: u16,
    },
    ZoneDown {
        zone: u8,
    },
    ZoneUp {
        zone: u8,
    },
    Drain {
        zone: u8,
    },
    Rebalance,
    PlanReturn,
    CompleteMove {
        pick: u16,
    },
    AbortMove {
        pick: u16,
    },
    Reconcile,
    SnapshotRestore,
    /// Restore a snapshot with one number changed: refused, or a state
    /// that passes the audit and keeps working.
    CorruptRestore {
        leaf: u16,
        value: u8,
    },
    Tick {
        ms: u16,
    },
    Backwards,
    /// Close the meter's open period now.
    ClosePeriod,
    /// The last call's events again: duplicates, which change nothing;
    /// then one under a taken id with another payload, refused.
    MeterReplay,
}

const ZONES: [&str; 3] = ["a", "b", "c"];

fn name<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

fn pick<T: Copy>(items: &[T], i: u16) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[usize::from(i) % items.len()])
    }
}

/// A small region: 1 to 3 zones, 1 to 3 SKUs (some with NUMA nodes), 0 to
/// 40 hosts, 1 to 4 apps.
pub fn region(u: &mut Unstructured<'_>) -> Result<Scheduler> {
    let config = Config {
        candidates_per_class: u.int_in_range(1..=3)?,
        classes_per_zone: u.int_in_range(0..=2)?,
        search_budget: u.int_in_range(0..=2)?,
        ..Config::default()
    };
    let mut s = Scheduler::new(config);
    let t = Timestamp(0);
    let zones = u.int_in_range(1..=3)?;
    for z in &ZONES[..zones] {
        s.add_zone(name(z), ZoneState::Up, t).unwrap();
    }
    let skus = u.int_in_range(1..=3u32)?;
    for k in 0..skus {
        let cpu = 1_000 * u64::from(u.int_in_range(2..=16u32)?);
        let mem = 1_024 * u64::from(u.int_in_range(2..=32u32)?);
        let nodes: u32 = if u.arbitrary()? { 2 } else { 1 };
        let mut spec = SkuSpec {
            id: name(&format!("s{k}")),
            family: name(&format!("f{k}")),
            generation: 7,
            arch: Arch::X86_64,
            cpu_vendor: name("intel"),
            allocatable: Resources::cpu_mem(cpu, mem).unwrap(),
            perf_score: 100,
            numa_nodes: vec![],
            features: BTreeSet::new(),
            accelerator_model: None,
            local_disk: None,
            price_nanos_per_second: 1_000 + 100 * u64::from(k),
        };
        if nodes == 2 {
            spec.numa_nodes = vec![Resources::cpu_mem(cpu / 2, mem / 2).unwrap(); 2];
        }
        s.add_sku(spec, t).unwrap();
    }
    let hosts = u.int_in_range(0..=40u64)?;
    for h in 1..=hosts {
        let k = u.int_in_range(0..=skus - 1)?;
        let z = u.choose_index(zones)?;
        let spec = HostSpec {
            id: HostId(h),
            sku: name(&format!("s{k}")),
            zone: name(ZONES[z]),
        };
        let _ = s.add_host(spec, t).unwrap();
    }
    let apps = u.int_in_range(1..=4u32)?;
    for a in 0..apps {
        let cpu = 500 * u64::from(u.int_in_range(1..=8u32)?);
        let mem = 512 * u64::from(u.int_in_range(1..=16u32)?);
        let mut spec = AppSpec::new(
            name(&format!("app{a}")),
            name(&format!("t{}", a % 2)),
            Resources::cpu_mem(cpu, mem).unwrap(),
        );
        if u.ratio(1, 4)? {
            spec.qos = QosTier::BestEffort;
        }
        if u.ratio(1, 4)? {
            spec.numa = NumaPolicy::SingleNode;
        }
        if u.ratio(1, 3)? {
            spec.spread.max_skew = Some(u.int_in_range(1..=2)?);
        }
        if zones > 1 && u.ratio(1, 4)? {
            spec.spread.zones = vec![name(ZONES[0]), name(ZONES[1])];
        }
        spec.priority = u.int_in_range(0..=2)?;
        if u.ratio(1, 4)? {
            spec.isolation = Isolation::DedicatedHosts;
        }
        s.add_app(spec, t).unwrap();
    }
    Ok(s)
}

/// The state the harness tracks besides the scheduler.
pub struct Run {
    pub s: Scheduler,
    pub now: u64,
    next_host: u64,
    pub steps: u64,
    /// Metered from every call's decisions.
    pub meter: Meter,
    /// The events of the last call that implied any.
    pub last_events: Vec<Event>,
    /// Whether the meter has seen every decision of the scheduler (false
    /// after a corrupted snapshot was restored: the two may then disagree,
    /// and the meter may refuse, unchanged).
    metered_all: bool,
}

/// The bytes of a meter's snapshot.
fn meter_bytes(m: &Meter) -> Vec<u8> {
    serde_json::to_vec(&m.snapshot()).unwrap()
}

/// Every invoice's lines sum to its total, exact and rounded.
fn check_invoices(report: &PeriodReport, op: &Op) {
    for inv in &report.invoices {
        let sum: i128 = inv.lines.iter().map(|l| l.amount_nanos).sum();
        assert_eq!(
            sum, inv.total_nanos,
            "after {op:?}: lines do not sum to the total"
        );
        let exact: i128 = inv.lines.iter().map(|l| l.exact_subnanos).sum();
        assert_eq!(
            exact, inv.exact_subnanos,
            "after {op:?}: exact lines do not sum"
        );
    }
}

fn app_name(s: &Scheduler, i: u8) -> AppId {
    let apps: Vec<AppId> = s.apps().map(|a| a.id.clone()).collect();
    apps[usize::from(i) % apps.len()].clone()
}

fn sku_name(s: &Scheduler, i: u8) -> SkuId {
    let skus: Vec<SkuId> = s.skus().map(|k| k.id.clone()).collect();
    skus[usize::from(i) % skus.len()].clone()
}

fn zone_name(s: &Scheduler, i: u8) -> ZoneId {
    let zones: Vec<ZoneId> = s.zones().map(|(z, _)| z.clone()).collect();
    zones[usize::from(i) % zones.len()].clone()
}

fn instances(s: &Scheduler) -> BTreeSet<InstanceId> {
    s.apps()
        .flat_map(|a| s.app_instances(&a.id))
        .collect::<BTreeSet<_>>()
}

impl Run {
    pub fn new(s: Scheduler) -> Run {
        let mut meter = Meter::new(MeterConfig::default()).unwrap();
        meter
            .add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 50_000))
            .unwrap();
        // A restored scheduler's instances were started before the meter:
        // its stops would find nothing running.
        let metered_all = s.apps().all(|a| s.app_instances(&a.id).is_empty());
        Run {
            now: s.now().0.max(1),
            metered_all,
            s,
            next_host: 1_000,
            steps: 0,
            meter,
            last_events: Vec::new(),
        }
    }

    /// Meter a call's decisions: every event is applied while the meter
    /// has seen every decision; a refusal leaves the meter as it was.
    /// Whether there were any.
    fn meter(&mut self, d: &Decisions, at: Timestamp, op: &Op) -> bool {
        let events = match decision_events(d, &self.s, at) {
            Ok(events) => events,
            Err(_) if !self.metered_all => return false,
            Err(e) => panic!("after {op:?}: no events for the decisions: {e}"),
        };
        // The events the meter applied: a replay must find them all taken.
        let mut applied = Vec::with_capacity(events.len());
        for e in events {
            let before = (!self.metered_all).then(|| self.meter.clone());
            let r = self.meter.ingest(&e, Timestamp(self.now));
            if matches!(r, Ok(Ingested::Applied | Ingested::Adjusted)) {
                applied.push(e);
                continue;
            }
            // A duplicate or a refusal: only after a corrupted restore,
            // and it changed nothing.
            let Some(before) = before else {
                panic!("after {op:?}: the meter took {e:?} as {r:?}");
            };
            assert!(
                meter_bytes(&before) == meter_bytes(&self.meter),
                "after {op:?}: {e:?} was {r:?} but changed the meter"
            );
        }
        if applied.is_empty() {
            return false;
        }
        self.last_events = applied;
        true
    }

    /// Meter calls that need no scheduler call; `true` when `op` was one.
    fn meter_step(&mut self, op: &Op) -> bool {
        let now = Timestamp(self.now);
        match op {
            Op::ClosePeriod => {
                let before = meter_bytes(&self.meter);
                match self.meter.close_period(now, now) {
                    Ok(report) => check_invoices(&report, op),
                    Err(e) => assert!(
                        meter_bytes(&self.meter) == before,
                        "a refused close ({e}) changed the meter"
                    ),
                }
            }
            Op::MeterReplay => {
                let before = meter_bytes(&self.meter);
                let events = std::mem::take(&mut self.last_events);
                for e in &events {
                    // A duplicate, or refused when its period is past the
                    // horizon; never applied twice.
                    let r = self.meter.ingest(e, now);
                    assert!(
                        matches!(r, Ok(Ingested::Duplicate) | Err(_)),
                        "a replayed {e:?} was {r:?}"
                    );
                }
                if let Some(e) = events.first() {
                    let mut other = e.clone();
                    other.at = Timestamp(e.at.0.wrapping_add(1));
                    assert!(
                        self.meter.ingest(&other, now).is_err(),
                        "{other:?} taken id"
                    );
                }
                assert!(
                    meter_bytes(&self.meter) == before,
                    "replayed or refused events changed the meter"
                );
                self.last_events = events;
            }
            _ => return false,
        }
        true
    }

    /// Apply one call to a scheduler; `Ok(None)` when the op names
    /// nothing to act on.
    fn call(&mut self, s: &mut Scheduler, op: &Op) -> Option<Result<Decisions, Error>> {
        let now = Timestamp(self.now);
        let hosts: Vec<HostId> = s.host_ids().collect();
        let running: Vec<HostId> = hosts.iter().copied().filter(|h| !h.is_planned()).collect();
        let planned: Vec<HostId> = hosts.iter().copied().filter(|h| h.is_planned()).collect();
        let all: Vec<InstanceId> = instances(s).into_iter().collect();
        let moves: Vec<InstanceId> = s.moves_in_flight().iter().map(|m| m.to).collect();
        Some(match *op {
            Op::AddHost { sku, zone } => {
                self.next_host += 1;
                let spec = HostSpec {
                    id: HostId(self.next_host),
                    sku: sku_name(s, sku),
                    zone: zone_name(s, zone),
                };
                s.add_host(spec, now)
            }
            Op::RemoveHost { pick: p } => s.remove_host(pick(&hosts, p)?, now),
            Op::HostFailed { pick: p } => s.host_failed(pick(&running, p)?, now),
            Op::SetHostState { pick: p, cordon } => {
                let state = if cordon {
                    HostState::Cordoned
                } else {
                    HostState::Ready
                };
                s.set_host_state(pick(&running, p)?, state, now)
            }
            Op::Place { app } => s.place(&app_name(s, app), now),
            Op::PlaceBatch { app, count, all } => {
                let mode = if all {
                    BatchMode::AllOrNothing
                } else {
                    BatchMode::Partial
                };
                s.place_batch(&app_name(s, app), u32::from(count % 16), mode, now)
            }
            Op::Scale { app, target } => s.scale(&app_name(s, app), u32::from(target % 24), now),
            Op::DryRunScale { app, target } => {
                let app = app_name(s, app);
                let before = serde_json::to_vec(&s.snapshot()).unwrap();
                let dry = s.dry_run(|d| d.scale(&app, u32::from(target % 24), now));
                assert_eq!(serde_json::to_vec(&s.snapshot()).unwrap(), before);
                // The real call decides what the dry run said.
                let real = s.scale(&app, u32::from(target % 24), now);
                assert_eq!(dry, real, "a dry run decided differently");
                real
            }
            Op::RemoveInstance { pick: p } => s.remove_instance(pick(&all, p)?, now),
            Op::SetStock { sku, zone, stock } => {
                let stock = match stock {
                    None => Stock::Unknown,
                    Some(n) if n > 200 => Stock::Exhausted,
                    Some(n) => Stock::Known(u32::from(n % 8)),
                };
                s.set_stock(&sku_name(s, sku), &zone_name(s, zone), stock, now)
            }
            Op::ProvisionFailed { sku, zone } => s.provision_failed(
                &sku_name(s, sku),
                &zone_name(s, zone),
                ProvisionFailure::InsufficientStock,
                now,
            ),
            Op::HostReady { pick: p } => {
                self.next_host += 1;
                s.host_ready(pick(&planned, p)?, HostId(self.next_host), now)
            }
            Op::ZoneDown { zone } => s.zone_down(&zone_name(s, zone), now),
            Op::ZoneUp { zone } => s.zone_up(&zone_name(s, zone), now),
            Op::Drain { zone } => s.set_zone_state(&zone_name(s, zone), ZoneState::Draining, now),
            Op::Rebalance => s.rebalance(now),
            Op::PlanReturn => s.plan_return(now),
            Op::CompleteMove { pick: p } => s.complete_move(pick(&moves, p)?, now),
            Op::AbortMove { pick: p } => s.abort_move(pick(&moves, p)?, now),
            Op::Reconcile => s.reconcile(now),
            Op::SnapshotRestore
            | Op::CorruptRestore { .. }
            | Op::Tick { .. }
            | Op::ClosePeriod
            | Op::MeterReplay => return None,
            Op::Backwards => s.reconcile(Timestamp(self.now.saturating_sub(1))),
        })
    }

    /// Apply one op and check every promise.
    pub fn step(&mut self, op: &Op) {
        self.steps += 1;
        if self.meter_step(op) {
            return;
        }
        match *op {
            Op::Tick { ms } => {
                self.now += u64::from(ms);
                return;
            }
            Op::SnapshotRestore => {
                let snap = self.s.snapshot();
                let json = serde_json::to_vec(&snap).unwrap();
                let restored = Scheduler::restore(serde_json::from_slice(&json).unwrap())
                    .unwrap_or_else(|e| panic!("a snapshot of a real state is refused: {e}"));
                assert_eq!(restored.snapshot(), snap, "restore changed the state");
                restored.check_invariants().unwrap();
                // The restored scheduler decides like the original.
                let now = Timestamp(self.now);
                let a = self.s.dry_run(|d| (d.reconcile(now), d.snapshot()));
                let b = restored.dry_run(|d| (d.reconcile(now), d.snapshot()));
                assert_eq!(a, b, "a restored scheduler decides differently");
                self.s = restored;
                // The meter too: its snapshot restores to the same bytes.
                let json = meter_bytes(&self.meter);
                self.meter = Meter::restore(serde_json::from_slice(&json).unwrap())
                    .unwrap_or_else(|e| panic!("a meter snapshot is refused: {e}"));
                assert!(meter_bytes(&self.meter) == json, "meter restore changed it");
                return;
            }
            Op::CorruptRestore { leaf, value } => {
                let mut json = serde_json::to_value(self.s.snapshot()).unwrap();
                let mut leaves = Vec::new();
                numbers(&mut json, &mut leaves);
                if let Some(n) = pick(&(0..leaves.len()).collect::<Vec<_>>(), leaf) {
                    let old = leaves[n].as_u64().unwrap_or(0);
                    *leaves[n] = serde_json::Value::from(match value % 6 {
                        0 => 0,
                        1 => old.saturating_add(1),
                        2 => old.saturating_sub(1),
                        3 => u64::MAX,
                        4 => u64::from(u32::MAX),
                        _ => old.saturating_mul(2),
                    });
                }
                let Ok(snap) = serde_json::from_value::<Snapshot>(json) else {
                    return;
                };
                if let Ok(restored) = Scheduler::restore(snap.clone()) {
                    if let Err(v) = restored.check_invariants() {
                        panic!("a corrupted snapshot restored into a broken state: {v}");
                    }
                    // An older format that still reads is written back
                    // in the current one; nothing else may change.
                    let expected = Snapshot {
                        format: SNAPSHOT_FORMAT,
                        ..snap
                    };
                    assert_eq!(
                        restored.snapshot(),
                        expected,
                        "restore changed the snapshot"
                    );
                    self.s = restored;
                    self.metered_all = false;
                }
                return;
            }
            _ => {}
        }
        let before_json = serde_json::to_vec(&self.s.snapshot()).unwrap();
        let before_ids = instances(&self.s);
        let mut s = std::mem::take(&mut self.s);
        let result = self.call(&mut s, op);
        self.s = s;
        let Some(result) = result else { return };
        match result {
            Err(e) => {
                let after = serde_json::to_vec(&self.s.snapshot()).unwrap();
                assert!(
                    after == before_json,
                    "{op:?} failed ({e}) but changed the state"
                );
            }
            Ok(d) => {
                if let Err(v) = self.s.check_invariants() {
                    panic!("after {op:?}: {v}");
                }
                assert_isolated(&self.s, op);
                // No instance lost: every instance that was there is still
                // there unless the decisions remove it.
                let removed: BTreeSet<InstanceId> = d.removals.iter().map(|r| r.instance).collect();
                let after_ids = instances(&self.s);
                for id in &before_ids {
                    assert!(
                        after_ids.contains(id) || removed.contains(id),
                        "{op:?} lost {id} without removing it"
                    );
                }
                for id in &removed {
                    assert!(!after_ids.contains(id), "{id} removed but still there");
                }
                let at = match op {
                    Op::Backwards => Timestamp(self.now.saturating_sub(1)),
                    _ => Timestamp(self.now),
                };
                // Invoices sum to their total: a period closed now, on a
                // copy, whenever the meter took events.
                if self.meter(&d, at, op)
                    && let Ok(report) = self
                        .meter
                        .clone()
                        .close_period(at.max(Timestamp(1)), at.max(Timestamp(1)))
                {
                    check_invoices(&report, op);
                }
            }
        }
    }
}

/// Tenant isolation, from the public views: no host holds an instance of
/// a dedicated app together with an instance of another tenant or of a
/// shared app.
pub fn assert_isolated(s: &Scheduler, op: &Op) {
    let mut on: std::collections::BTreeMap<HostId, Vec<(TenantId, Isolation)>> = Default::default();
    for spec in s.apps() {
        for i in s.app_instances(&spec.id) {
            if let Some(InstanceStatus::Placed { host, .. })
            | Some(InstanceStatus::Tentative {
                planned_host: host, ..
            }) = s.instance(i).map(|v| v.status)
            {
                on.entry(host)
                    .or_default()
                    .push((spec.tenant.clone(), spec.isolation));
            }
        }
    }
    for (host, list) in on {
        let Some((tenant, _)) = list.iter().find(|(_, i)| *i == Isolation::DedicatedHosts) else {
            continue;
        };
        assert!(
            list.iter()
                .all(|(t, i)| t == tenant && *i == Isolation::DedicatedHosts),
            "after {op:?}: {host} mixes a dedicated app with {list:?}"
        );
    }
}

/// Every number in a JSON tree.
fn numbers<'a>(v: &'a mut serde_json::Value, out: &mut Vec<&'a mut serde_json::Value>) {
    match v {
        serde_json::Value::Number(_) => out.push(v),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|x| numbers(x, out)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|x| numbers(x, out)),
        _ => {}
    }
}

/// Run a whole case: a region, then ops until the bytes run out.
pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let s = region(u)?;
    s.check_invariants().unwrap();
    let mut run = Run::new(s);
    while !u.is_empty() && run.steps < 200 {
        let op: Op = u.arbitrary()?;
        run.step(&op);
    }
    Ok(())
}
