//! Standby instances on the invoice: no CPU, memory at the standby memory
//! rate (or the memory rate, on the memory line, without one), accelerators
//! as idle accelerators; a standby that starts goes on in the same run.
//! Every figure is computed by hand in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Sim, app, id, sku_full};
use trimline::metering::*;
use trimline::*;

const S: u64 = 1_000;
/// The time of the first metered call, after the region's set-up.
const T0: u64 = 10 * S;

/// One zone of two hosts (16 vCPU, 64 GiB, 4 accelerators) and app `game`
/// of 4 vCPU, 8 GiB and one accelerator.
fn region() -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku_full("g7", 16_000, 65_536, 0, 4));
    let _ = sim.hosts("g7", "a", 2);
    let mut game = app("game", 4_000, 8_192);
    game.resources = game.resources.with_accelerators(1).unwrap();
    sim.app(game);
    sim
}

/// Per second: CPU 10,000 per vCPU (idle 2,000), memory 1,000 per GiB,
/// accelerators 100,000 (idle 20,000); `standby` per GiB of standby
/// memory, if set.
fn prices(standby: Option<i128>, minimum_run_seconds: u64) -> PriceTable {
    let mut t = PriceTable::new(1, Timestamp(0), 10_000, 1_000, 100_000);
    t.idle_cpu_nanos_per_vcpu_second = 2_000;
    t.idle_accelerator_nanos_per_second = Some(20_000);
    t.standby_memory_nanos_per_gib_second = standby;
    t.minimum_run_seconds = minimum_run_seconds;
    t
}

/// Meters the decisions of one call made at `at`.
fn meter(m: &mut Meter, sim: &Sim, d: &Decisions, at: u64) {
    for e in decision_events(d, &sim.s, Timestamp(at)).unwrap() {
        assert_eq!(m.ingest(&e, Timestamp(at)).unwrap(), Ingested::Applied);
    }
}

/// (component, quantity, amount) of each line.
fn lines(inv: &Invoice) -> Vec<(Component, i128, i128)> {
    inv.lines
        .iter()
        .map(|l| (l.component, l.quantity, l.amount_nanos))
        .collect()
}

/// Two standbys from 0 s; a scale-out to 1 at 100 s starts one and
/// refills the target with a third; the started one is scaled away at
/// 160 s; the period closes at 200 s.
fn launch(standby_rate: Option<i128>) -> (Invoice, Vec<Event>) {
    let mut sim = region();
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(prices(standby_rate, 0)).unwrap();
    let mut events = Vec::new();
    let mut call = |sim: &mut Sim, m: &mut Meter, d: Decisions, at: u64| {
        events.extend(decision_events(&d, &sim.s, Timestamp(at)).unwrap());
        meter(m, sim, &d, at);
    };
    let d = sim.s.set_standby(&id("game"), 2, Timestamp(T0)).unwrap();
    call(&mut sim, &mut m, d, T0);
    let d = sim
        .s
        .scale(&id("game"), 1, Timestamp(T0 + 100 * S))
        .unwrap();
    assert_eq!(
        d.placements.iter().map(|p| p.standby).collect::<Vec<_>>(),
        [Some(StandbyMark::Started), Some(StandbyMark::Stopped)]
    );
    call(&mut sim, &mut m, d, T0 + 100 * S);
    let d = sim
        .s
        .scale(&id("game"), 0, Timestamp(T0 + 160 * S))
        .unwrap();
    assert_eq!(d.removals.len(), 1);
    call(&mut sim, &mut m, d, T0 + 160 * S);
    let mut report = m
        .close_period(Timestamp(T0 + 200 * S), Timestamp(T0 + 200 * S))
        .unwrap();
    assert_eq!(report.invoices.len(), 1);
    (report.invoices.remove(0), events)
}

#[test]
fn decisions_create_standbys_stopped_and_start_them_in_the_same_run() {
    let (_, events) = launch(Some(250));
    let kinds: Vec<(u64, u64, &str)> = events
        .iter()
        .map(|e| ((e.at.0 - T0) / S, e.instance.0, e.kind.name()))
        .collect();
    assert_eq!(
        kinds,
        [
            (0, 1, "started"),
            (0, 1, "standby"),
            (0, 2, "started"),
            (0, 2, "standby"),
            // The oldest standby starts where it is; a new one refills.
            (100, 1, "active"),
            (100, 3, "started"),
            (100, 3, "standby"),
            (160, 1, "stopped"),
        ]
    );
}

#[test]
fn standby_pays_memory_at_its_rate_and_accelerators_as_idle() {
    let (invoice, _) = launch(Some(250));
    // Instance 1: standby 0-100 s, active 100-160 s. Instance 2: standby
    // 0-200 s. Instance 3: standby 100-200 s. 8 GiB and one accelerator
    // each; 4 vCPU only while active.
    //   CPU:              4 vCPU × 60 s × 10,000                   = 2,400,000
    //   memory:           8 GiB × 60 s × 1,000                     =   480,000
    //   accelerators:     1 × 60 s × 100,000                       = 6,000,000
    //   idle accelerators: 1 × (100 + 200 + 100) s × 20,000        = 8,000,000
    //   standby memory:   8 GiB × (100 + 200 + 100) s × 250        =   800,000
    let gib_s = 1_024_000; // MiB-ms in a GiB-second
    assert_eq!(
        lines(&invoice),
        [
            (Component::Cpu, 4_000 * 60 * S as i128, 2_400_000),
            (Component::Memory, 8 * 60 * gib_s, 480_000),
            (Component::Accelerators, 60 * S as i128, 6_000_000),
            (Component::IdleAccelerators, 400 * S as i128, 8_000_000),
            (Component::StandbyMemory, 8 * 400 * gib_s, 800_000),
        ]
    );
    assert_eq!(invoice.total_nanos, 17_680_000);
}

#[test]
fn without_a_standby_rate_standby_memory_is_on_the_memory_line() {
    let (invoice, _) = launch(None);
    // Memory: 8 GiB × (60 + 400) s × 1,000 = 3,680,000; no standby line.
    let gib_s = 1_024_000;
    assert_eq!(
        lines(&invoice),
        [
            (Component::Cpu, 4_000 * 60 * S as i128, 2_400_000),
            (Component::Memory, 8 * 460 * gib_s, 3_680_000),
            (Component::Accelerators, 60 * S as i128, 6_000_000),
            (Component::IdleAccelerators, 400 * S as i128, 8_000_000),
        ]
    );
    assert_eq!(invoice.total_nanos, 20_080_000);
}

#[test]
fn a_run_that_ends_in_standby_pays_its_minimum_at_the_standby_rates() {
    let mut sim = region();
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(prices(Some(250), 60)).unwrap();
    let d = sim.s.set_standby(&id("game"), 1, Timestamp(T0)).unwrap();
    meter(&mut m, &sim, &d, T0);
    // Lowering the target removes the standby after 10 s.
    let d = sim
        .s
        .set_standby(&id("game"), 0, Timestamp(T0 + 10 * S))
        .unwrap();
    assert_eq!(d.removals.len(), 1);
    meter(&mut m, &sim, &d, T0 + 10 * S);
    let report = m
        .close_period(Timestamp(T0 + 200 * S), Timestamp(T0 + 200 * S))
        .unwrap();
    // 10 s run, 60 s minimum: 60 s of standby.
    //   standby memory: 8 GiB × 60 s × 250 = 120,000
    //   idle accelerators: 1 × 60 s × 20,000 = 1,200,000
    let gib_s = 1_024_000;
    assert_eq!(
        lines(&report.invoices[0]),
        [
            (Component::IdleAccelerators, 60 * S as i128, 1_200_000),
            (Component::StandbyMemory, 8 * 60 * gib_s, 120_000),
        ]
    );
}

#[test]
fn standby_rates_are_checked_and_standby_needs_a_run() {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let err = m.add_price_table(prices(Some(1_001), 0)).unwrap_err();
    assert!(
        err.to_string()
            .contains("standby_memory_nanos_per_gib_second = 1001 is higher"),
        "{err}"
    );
    let err = m.add_price_table(prices(Some(-1), 0)).unwrap_err();
    assert!(err.to_string().contains("standby_memory"), "{err}");
    m.add_price_table(prices(Some(250), 0)).unwrap();
    let event = Event {
        id: EventId(1),
        source: None,
        tenant: id("t"),
        app: id("game"),
        instance: InstanceId(9),
        at: Timestamp(5),
        kind: EventKind::Standby,
    };
    let err = m.ingest(&event, Timestamp(5)).unwrap_err();
    assert!(matches!(err, MeterError::NotRunning { .. }), "{err}");
}

#[test]
fn a_standby_run_survives_a_period_close_and_a_snapshot() {
    let mut sim = region();
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(prices(Some(250), 0)).unwrap();
    let d = sim.s.set_standby(&id("game"), 1, Timestamp(T0)).unwrap();
    meter(&mut m, &sim, &d, T0);
    let _ = m
        .close_period(Timestamp(T0 + 50 * S), Timestamp(T0 + 50 * S))
        .unwrap();
    let snap = m.snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    assert!(json.contains("\"standby\":true"), "{json}");
    let mut restored = Meter::restore(snap.clone()).unwrap();
    assert_eq!(restored.snapshot(), snap);
    // Both go on billing standby: 8 GiB × 50 s × 250 = 100,000 and
    // 50 s × 20,000 = 1,000,000.
    for m in [&mut m, &mut restored] {
        let r = m
            .close_period(Timestamp(T0 + 100 * S), Timestamp(T0 + 100 * S))
            .unwrap();
        assert_eq!(r.invoices[0].total_nanos, 1_100_000);
    }
    // A run both idle and standby could never have happened.
    let mut bad = snap;
    let run = bad.instances[0].state_at_open.as_mut().unwrap();
    run.idle = true;
    let err = Meter::restore(bad).unwrap_err();
    assert!(err.to_string().contains("both idle and standby"), "{err}");
}

#[test]
fn a_standby_on_a_new_host_comes_up_a_standby() {
    let mut sim = region();
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(prices(Some(250), 0)).unwrap();
    let (g7, a) = (id::<SkuId>("g7"), id::<ZoneId>("a"));
    let _ = sim
        .s
        .set_stock(&g7, &a, Stock::Unknown, Timestamp(T0))
        .unwrap();
    // Eight servers fill both hosts; the standby waits for a new host.
    let d = sim.s.scale(&id("game"), 8, Timestamp(T0)).unwrap();
    meter(&mut m, &sim, &d, T0);
    let d = sim
        .s
        .set_standby(&id("game"), 1, Timestamp(T0 + S))
        .unwrap();
    assert_eq!(d.tentative.len(), 1);
    assert_eq!(d.tentative[0].standby, Some(StandbyMark::Stopped));
    meter(&mut m, &sim, &d, T0 + S);
    let planned = d.provisions[0].hosts[0];
    let d = sim
        .s
        .host_ready(planned, HostId(50), Timestamp(T0 + 91 * S))
        .unwrap();
    assert_eq!(d.placements.len(), 1);
    assert_eq!(d.placements[0].standby, Some(StandbyMark::Stopped));
    let standby = d.placements[0].instance;
    let kinds: Vec<&str> = decision_events(&d, &sim.s, Timestamp(T0 + 91 * S))
        .unwrap()
        .iter()
        .map(|e| e.kind.name())
        .collect();
    assert_eq!(kinds, ["started", "standby"]);
    meter(&mut m, &sim, &d, T0 + 91 * S);
    assert!(m.is_running(standby));
    // 100 s later: eight servers × 100 s, plus the standby's 9 s.
    let r = m
        .close_period(Timestamp(T0 + 100 * S), Timestamp(T0 + 100 * S))
        .unwrap();
    let standby_line = r.invoices[0]
        .lines
        .iter()
        .find(|l| l.component == Component::StandbyMemory)
        .unwrap();
    // 8 GiB × 9 s × 250 = 18,000.
    assert_eq!(standby_line.amount_nanos, 18_000);
}
