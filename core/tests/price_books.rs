//! Published price models, reproduced from their list prices in the unit
//! they are published in, each against an invoice computed by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use trimline::metering::*;
use trimline::*;

const MINUTE: u64 = 60_000;
const HOUR: u64 = 3_600_000;

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

/// A meter with one price table, and instances of tenant `acme`, app
/// `web`, started and stopped by fresh event ids.
struct Bill {
    m: Meter,
    next: u128,
}

impl Bill {
    fn new(table: PriceTable) -> Bill {
        let mut m = Meter::new(MeterConfig::default()).unwrap();
        m.add_price_table(table).unwrap();
        Bill { m, next: 1 }
    }

    fn send(&mut self, instance: u64, at: u64, kind: EventKind) {
        let e = Event {
            id: EventId(self.next),
            tenant: id("acme"),
            app: id("web"),
            instance: InstanceId(instance),
            at: Timestamp(at),
            kind,
        };
        self.next += 1;
        assert_eq!(
            self.m.ingest(&e, Timestamp(100 * HOUR)).unwrap(),
            Ingested::Applied
        );
    }

    fn run(&mut self, instance: u64, millicores: u64, mib: u64, from: u64, to: u64) {
        let resources = Resources::cpu_mem(millicores, mib).unwrap();
        self.send(
            instance,
            from,
            EventKind::Started {
                resources,
                delivered: None,
            },
        );
        self.send(instance, to, EventKind::Stopped);
    }

    fn close(&mut self, end: u64) -> Invoice {
        let mut r = self
            .m
            .close_period(Timestamp(end), Timestamp(100 * HOUR))
            .unwrap();
        assert_eq!(r.invoices.len(), 1);
        r.invoices.remove(0)
    }
}

/// (component, quantity, rate, amount) of each line.
fn lines(inv: &Invoice) -> Vec<(Component, i128, i128, RateUnit, i128)> {
    inv.lines
        .iter()
        .map(|l| {
            (
                l.component,
                l.quantity,
                l.rate_nanos,
                l.rate_per,
                l.amount_nanos,
            )
        })
        .collect()
}

/// Fargate (Linux/x86, us-east-1): $0.04048 per vCPU-hour and $0.004445
/// per GB-hour, billed per second with a one-minute minimum per task, no
/// idle discount. These are the published on-demand rates as checked
/// against public pricing summaries in 2026 (Linux/ARM: $0.03238 and
/// $0.00356, used in `sku_rates.rs`); Fargate's "GB" of task memory is
/// the GiB a task is sized in (512 MiB is 0.5 GB), as billed here.
#[test]
fn per_second_billing_with_a_one_minute_minimum_at_hourly_list_prices() {
    let mut table = PriceTable::new(1, Timestamp(0), 40_480_000, 4_445_000, 0);
    table.rates_per = RateUnit::Hour;
    table.minimum_run_seconds = 60;
    let mut bill = Bill::new(table);
    // A 0.25 vCPU, 0.5 GiB task of 30.2 s: billed the 60 s minimum.
    bill.run(1, 250, 512, 0, 30_200);
    // A 2 vCPU, 4 GiB task of 1 h 0.5 s: billed 3,601 s.
    bill.run(2, 2_000, 4_096, 0, HOUR + 500);
    let inv = bill.close(2 * HOUR);
    // CPU:    0.25 × 60 + 2 × 3,601 = 7,217 vCPU-s
    //         = 7,217 / 3,600 vCPU-h × 40,480,000 = 81,151,155 5/9
    // Memory: 0.5 × 60 + 4 × 3,601 = 14,434 GiB-s
    //         = 14,434 / 3,600 GiB-h × 4,445,000 = 17,821,980 5/9
    // Total:  98,973,136 1/9 nano-units, rounded once: 98,973,136
    // (at a rate rounded to 11,244 per vCPU-s, CPU alone would be 3,207
    // nano-units short).
    assert_eq!(
        lines(&inv),
        vec![
            (
                Component::Cpu,
                7_217_000_000,
                40_480_000,
                RateUnit::Hour,
                81_151_156
            ),
            (
                Component::Memory,
                14_434 * 1_024_000,
                4_445_000,
                RateUnit::Hour,
                17_821_980
            ),
        ]
    );
    assert_eq!(inv.exact_subnanos * 9, 890_758_225 * SUBNANOS_PER_NANO);
    assert_eq!(inv.total_nanos, 98_973_136);
}

/// SAE's per-minute list prices (pay-as-you-go, Singapore: USD 0.0006414
/// per core-minute, USD 0.0001603 per GiB-minute) with idle vCPU at 0.2
/// times the active rate and memory at the full rate, rounded up to the
/// second.
#[test]
fn sae_idle_cpu_at_a_fifth_memory_at_the_full_rate() {
    let mut table = PriceTable::new(1, Timestamp(0), 641_400, 160_300, 0);
    table.rates_per = RateUnit::Minute;
    table.idle_cpu_nanos_per_vcpu_second = 128_280; // 0.2 × 641,400
    let mut bill = Bill::new(table);
    let shape = Resources::cpu_mem(2_000, 4_096).unwrap();
    bill.send(
        1,
        0,
        EventKind::Started {
            resources: shape,
            delivered: None,
        },
    );
    bill.send(1, 10 * MINUTE, EventKind::Idle);
    bill.send(1, 20 * MINUTE + 500, EventKind::Stopped);
    let inv = bill.close(HOUR);
    // Active CPU: 2 cores × 10 min × 641,400 = 12,828,000
    // Idle CPU:   2 cores × 601 s (600.5 s, the run rounded up to 1,201 s
    //             at its idle stop) = 1,202 core-s
    //             = 1,202 / 60 × 128,280 = 2,569,876
    // Memory:     4 GiB × 1,201 s = 4,804 GiB-s, idle or not, on one line
    //             = 4,804 / 60 × 160,300 = 12,834,686 2/3
    // Total:      28,232,562 2/3, rounded once: 28,232,563
    assert_eq!(
        lines(&inv),
        vec![
            (
                Component::Cpu,
                2_000 * 600_000,
                641_400,
                RateUnit::Minute,
                12_828_000
            ),
            (
                Component::IdleCpu,
                2_000 * 601_000,
                128_280,
                RateUnit::Minute,
                2_569_876
            ),
            (
                Component::Memory,
                4_096 * 1_201_000,
                160_300,
                RateUnit::Minute,
                12_834_687
            ),
        ]
    );
    assert_eq!(inv.total_nanos, 28_232_563);
}

/// SAE's pay-as-you-go billing per minute: "partial minutes are charged by
/// the minute", at USD 0.0006414 per core-minute and USD 0.0001603 per
/// GiB-minute.
#[test]
fn per_minute_rounding_charges_partial_minutes_as_whole_ones() {
    let mut table = PriceTable::new(1, Timestamp(0), 641_400, 160_300, 0);
    table.rates_per = RateUnit::Minute;
    table.billing_increment_seconds = 60;
    let mut bill = Bill::new(table);
    // 1 vCPU, 2 GiB for 61 s: two minutes.
    bill.run(1, 1_000, 2_048, 0, 61_000);
    // 0.5 vCPU, 1 GiB for 59.999 s: one minute.
    bill.run(2, 500, 1_024, 0, 59_999);
    // 1 vCPU, 1 GiB for exactly 3 minutes, across a period boundary: three
    // minutes, rounded once for the whole run.
    bill.run(3, 1_000, 1_024, HOUR - MINUTE, HOUR + 2 * MINUTE);
    let first = bill.close(HOUR);
    let second = bill.close(2 * HOUR);
    // First period: CPU (1 × 2 + 0.5 × 1 + 1 × 1) = 3.5 core-min
    //               × 641,400 = 2,244,900;
    //               memory (2 × 2 + 1 × 1 + 1 × 1) = 6 GiB-min
    //               × 160,300 = 961,800.
    assert_eq!(first.total_nanos, 2_244_900 + 961_800);
    // Second: 2 core-min = 1,282,800 and 2 GiB-min = 320,600.
    assert_eq!(second.total_nanos, 1_282_800 + 320_600);
    // Without the increment the 61 s and 59.999 s runs bill their exact
    // seconds.
    let mut table = PriceTable::new(1, Timestamp(0), 641_400, 160_300, 0);
    table.rates_per = RateUnit::Minute;
    let mut bill = Bill::new(table);
    bill.run(1, 1_000, 2_048, 0, 61_000);
    // 61 s × 641,400 / 60 = 652,090 and 2 × 61 s × 160,300 / 60 = 325,943 1/3.
    assert_eq!(bill.close(HOUR).total_nanos, 652_090 + 325_943);
}

/// A table quoted per second gives way mid-period to one quoted per hour:
/// each piece is priced exactly in its own table's unit.
#[test]
fn a_price_change_mid_period_from_per_second_to_per_hour_rates() {
    let mut bill = Bill::new(PriceTable::new(1, Timestamp(0), 11_244, 1_234, 0));
    let mut hourly = PriceTable::new(2, Timestamp(HOUR / 2), 40_480_000, 4_445_000, 0);
    hourly.rates_per = RateUnit::Hour;
    hourly.minimum_run_seconds = 60;
    bill.m.add_price_table(hourly).unwrap();
    // 1 vCPU, 1 GiB from 0 to 30 min 10 s: 30 min at v1, 10 s at v2,
    // whose 60 s minimum (in force at the stop) tops nothing up.
    bill.run(1, 1_000, 1_024, 0, HOUR / 2 + 10_000);
    let inv = bill.close(HOUR);
    // v1: 1,800 vCPU-s × 11,244 = 20,239,200; 1,800 GiB-s × 1,234 = 2,221,200.
    // v2: 10 / 3,600 × 40,480,000 = 112,444 4/9; 10 / 3,600 × 4,445,000
    //     = 12,347 2/9.
    // Total: 22,583,991 2/3, rounded once: 22,583,992.
    let v: Vec<(u64, RateUnit)> = inv
        .lines
        .iter()
        .map(|l| (l.price_version, l.rate_per))
        .collect();
    assert_eq!(
        v,
        vec![
            (1, RateUnit::Second),
            (1, RateUnit::Second),
            (2, RateUnit::Hour),
            (2, RateUnit::Hour)
        ]
    );
    assert_eq!(
        inv.total_nanos,
        20_239_200 + 2_221_200 + 112_444 + 12_347 + 1
    );
}

#[test]
fn billing_increments_are_validated() {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let mut table = PriceTable::new(1, Timestamp(0), 1, 1, 0);
    table.billing_increment_seconds = 60;
    table.sub_second = SubSecond::Exact;
    let err = m.add_price_table(table.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            MeterError::InvalidPrice {
                source: PriceError::BillingIncrement { increment: 60, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    table.billing_increment_seconds = 0;
    table.sub_second = SubSecond::RoundUp;
    assert!(m.add_price_table(table).is_err());
}

/// A format 1 snapshot (no `rates_per`, no increment) still restores, as
/// per-second tables billed by the second.
#[test]
fn a_format_one_snapshot_restores_with_per_second_tables() {
    let mut table = PriceTable::new(1, Timestamp(0), 10, 20, 0);
    table.minimum_run_seconds = 60;
    let mut bill = Bill::new(table);
    bill.run(1, 1_000, 1_024, 0, 1_000);
    let mut json: serde_json::Value = serde_json::to_value(bill.m.snapshot()).unwrap();
    assert_eq!(json["format"], METER_SNAPSHOT_FORMAT);
    json["format"] = 1.into();
    let table = json["price_tables"][0].as_object_mut().unwrap();
    table.remove("rates_per").unwrap();
    table.remove("billing_increment_seconds").unwrap();
    let snap: MeterSnapshot = serde_json::from_value(json).unwrap();
    let mut m = Meter::restore(snap).unwrap();
    assert_eq!(m.snapshot(), bill.m.snapshot());
    let r = m.close_period(Timestamp(HOUR), Timestamp(HOUR)).unwrap();
    // 60 vCPU-s × 10 + 60 GiB-s × 20.
    assert_eq!(r.invoices[0].total_nanos, 600 + 1_200);
}

/// The defaults survive a real event pipeline: an event stamped a little
/// ahead of the embedder's clock, and one that arrives minutes late.
#[test]
fn default_lateness_and_skew_accept_a_real_pipeline() {
    let config = MeterConfig::default();
    assert_eq!(config.allowed_lateness_ms, 300_000);
    assert_eq!(config.max_clock_skew_ms, 5_000);
    let mut m = Meter::new(config).unwrap();
    let mut table = PriceTable::new(1, Timestamp(0), 1_000, 0, 0);
    table.idle_cpu_nanos_per_vcpu_second = 200;
    m.add_price_table(table).unwrap();
    let event = |n, at, kind| Event {
        id: EventId(n),
        tenant: id("acme"),
        app: id("web"),
        instance: InstanceId(1),
        at: Timestamp(at),
        kind,
    };
    let shape = Resources::cpu_mem(1_000, 1_024).unwrap();
    let started = EventKind::Started {
        resources: shape,
        delivered: None,
    };
    // 1 ms, then 5 s, ahead of `now`: accepted; 5.001 s: refused.
    let now = Timestamp(10_000);
    assert_eq!(
        m.ingest(&event(1, 10_001, started), now).unwrap(),
        Ingested::Applied
    );
    assert_eq!(
        m.ingest(&event(2, 15_000, EventKind::Idle), now).unwrap(),
        Ingested::Applied
    );
    assert!(matches!(
        m.ingest(&event(3, 15_001, EventKind::Stopped), now),
        Err(MeterError::AheadOfWatermark { .. })
    ));
    // The stop at 370.001 s, then an `active` at 70.001 s that arrives
    // 5 min late: it is slotted into place; 1 ms more is too late.
    let now = Timestamp(HOUR);
    assert_eq!(
        m.ingest(&event(4, 6 * MINUTE + 10_001, EventKind::Stopped), now)
            .unwrap(),
        Ingested::Applied
    );
    assert_eq!(
        m.ingest(&event(5, MINUTE + 10_001, EventKind::Active), now)
            .unwrap(),
        Ingested::Applied
    );
    assert!(matches!(
        m.ingest(&event(6, MINUTE + 10_000, EventKind::Idle), now),
        Err(MeterError::OutOfOrder { .. })
    ));
    // Active [10.001 s, 15 s) and [70.001 s, 370.001 s): 304.999 vCPU-s
    // × 1,000 = 304,999; idle [15 s, 70.001 s): 55.001 vCPU-s × 200 =
    // 11,000.2. Total 315,999.2, rounded once: 315,999.
    let r = m.close_period(Timestamp(HOUR), now).unwrap();
    assert_eq!(r.invoices[0].total_nanos, 315_999);
}

fn plan(tenant: &str, app: Option<&str>, discount_basis_points: u32) -> TenantPlan {
    TenantPlan {
        tenant: id(tenant),
        app: app.map(id),
        discount_basis_points,
    }
}

/// Per-tenant plans: the plan naming the tenant and app wins over the
/// tenant-wide one; a tenant without a plan pays list prices; a plan
/// change is a new table version and splits the period at its effective
/// time.
#[test]
fn tenant_plans_discount_exactly_and_change_mid_period() {
    let mut v1 = PriceTable::new(1, Timestamp(0), 40_480_000, 4_445_000, 0);
    v1.rates_per = RateUnit::Hour;
    v1.plans = vec![
        plan("acme", None, 1_500),
        plan("acme", Some("batch"), 5_000),
    ];
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.effective = Timestamp(30 * MINUTE);
    v2.plans = vec![plan("acme", None, 2_000)];
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(v1).unwrap();
    m.add_price_table(v2).unwrap();
    let now = Timestamp(100 * HOUR);
    let mut next = 0;
    for (instance, tenant, app) in [(1, "acme", "web"), (2, "acme", "batch"), (3, "zeta", "web")] {
        for (at, kind) in [
            (
                0,
                EventKind::Started {
                    resources: Resources::cpu_mem(1_000, 1_024).unwrap(),
                    delivered: None,
                },
            ),
            (HOUR, EventKind::Stopped),
        ] {
            next += 1;
            let e = Event {
                id: EventId(next),
                tenant: id(tenant),
                app: id(app),
                instance: InstanceId(instance),
                at: Timestamp(at),
                kind,
            };
            assert_eq!(m.ingest(&e, now).unwrap(), Ingested::Applied);
        }
    }
    let r = m.close_period(Timestamp(2 * HOUR), now).unwrap();
    let cpu = 1_800_000_000; // 1 vCPU for half an hour, millicore-ms
    let mem = 1_843_200_000; // 1 GiB for half an hour, MiB-ms
    let h = RateUnit::Hour;
    let line = |inv: &Invoice| {
        inv.lines
            .iter()
            .map(|l| {
                (
                    l.app.to_string(),
                    l.price_version,
                    l.component,
                    l.quantity,
                    l.rate_nanos,
                    l.rate_per,
                    l.amount_nanos,
                )
            })
            .collect::<Vec<_>>()
    };
    let (c, g) = (Component::Cpu, Component::Memory);
    // acme/batch: 50% off under v1 (its own plan), 20% off under v2 (the
    // tenant-wide plan, as v2 has no batch plan).
    //   v1 CPU: 40,480,000 × 0.5 = 20,240,000 per vCPU-h, × 0.5 h = 10,120,000
    //   v1 mem:  4,445,000 × 0.5 =  2,222,500 per GiB-h,  × 0.5 h =  1,111,250
    //   v2 CPU: 40,480,000 × 0.8 = 32,384,000,            × 0.5 h = 16,192,000
    //   v2 mem:  4,445,000 × 0.8 =  3,556,000,            × 0.5 h =  1,778,000
    // acme/web: 15% off under v1, 20% under v2.
    //   v1 CPU: 34,408,000 × 0.5 h = 17,204,000; mem 3,778,250 × 0.5 h = 1,889,125
    //   v2 as batch: 16,192,000 and 1,778,000
    // Total: 66,264,375.
    assert_eq!(r.invoices.len(), 2);
    assert_eq!(
        line(&r.invoices[0]),
        vec![
            ("batch".into(), 1, c, cpu, 20_240_000, h, 10_120_000),
            ("batch".into(), 1, g, mem, 2_222_500, h, 1_111_250),
            ("batch".into(), 2, c, cpu, 32_384_000, h, 16_192_000),
            ("batch".into(), 2, g, mem, 3_556_000, h, 1_778_000),
            ("web".into(), 1, c, cpu, 34_408_000, h, 17_204_000),
            ("web".into(), 1, g, mem, 3_778_250, h, 1_889_125),
            ("web".into(), 2, c, cpu, 32_384_000, h, 16_192_000),
            ("web".into(), 2, g, mem, 3_556_000, h, 1_778_000),
        ]
    );
    assert_eq!(r.invoices[0].total_nanos, 66_264_375);
    // zeta has no plan: list prices, 2 × (20,240,000 + 2,222,500).
    assert_eq!(r.invoices[1].tenant.to_string(), "zeta");
    assert_eq!(
        line(&r.invoices[1]),
        vec![
            ("web".into(), 1, c, cpu, 40_480_000, h, 20_240_000),
            ("web".into(), 1, g, mem, 4_445_000, h, 2_222_500),
            ("web".into(), 2, c, cpu, 40_480_000, h, 20_240_000),
            ("web".into(), 2, g, mem, 4_445_000, h, 2_222_500),
        ]
    );
    assert_eq!(r.invoices[1].total_nanos, 44_925_000);
}

/// A plan must keep every rate whole, be at most 100% and be the only one
/// for its (tenant, app); a refused table leaves the meter as it was.
#[test]
fn tenant_plans_are_validated() {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let mut table = PriceTable::new(1, Timestamp(0), 40_480_000, 4_445_000, 0);
    table.rates_per = RateUnit::Hour;
    let refused = |plans: Vec<TenantPlan>, m: &mut Meter| {
        let mut t = table.clone();
        t.plans = plans;
        match m.add_price_table(t) {
            Err(MeterError::InvalidPrice { version: 1, source }) => source,
            other => panic!("{other:?}"),
        }
    };
    // 4,445,000 × 9,997 / 10,000 = 4,443,666.5
    assert_eq!(
        refused(vec![plan("acme", None, 3)], &mut m),
        PriceError::InexactDiscount {
            tenant: id("acme"),
            rate: "memory_nanos_per_gib_second",
            value: 4_445_000,
            basis_points: 3,
        }
    );
    assert_eq!(
        refused(vec![plan("acme", None, 10_001)], &mut m),
        PriceError::DiscountAboveFull {
            tenant: id("acme"),
            basis_points: 10_001,
        }
    );
    assert_eq!(
        refused(
            vec![
                plan("acme", Some("web"), 100),
                plan("acme", Some("web"), 200)
            ],
            &mut m
        ),
        PriceError::DuplicatePlan {
            tenant: id("acme"),
            app: Some(id("web")),
        }
    );
    assert!(m.price_tables().is_empty());
    // A free plan (100% off) is exact.
    table.plans = vec![plan("acme", None, 10_000), plan("acme", Some("web"), 100)];
    m.add_price_table(table).unwrap();
    let t = &m.price_tables()[0];
    let (acme, web, api) = (id("acme"), id("web"), id("api"));
    assert_eq!(t.rate_for(Component::Cpu, &acme, &api), Some(0));
    assert_eq!(t.rate_for(Component::Cpu, &acme, &web), Some(40_075_200));
    assert_eq!(
        t.rate_for(Component::Cpu, &id("zeta"), &web),
        Some(40_480_000)
    );
}

/// An idle-accelerator rate: a GPU at $2.48 per accelerator-hour, idle at
/// a tenth of that. Without the idle rate, idle accelerators pay the full
/// rate on the accelerator line and no idle line appears.
#[test]
fn idle_accelerators_at_their_own_rate() {
    let gpu_bill = |idle_rate: Option<i128>| {
        let mut table = PriceTable::new(1, Timestamp(0), 0, 0, 2_480_000_000);
        table.rates_per = RateUnit::Hour;
        table.idle_accelerator_nanos_per_second = idle_rate;
        let mut bill = Bill::new(table);
        let resources = Resources::new(1_000, 1_024, 0, 2).unwrap();
        bill.send(
            1,
            0,
            EventKind::Started {
                resources,
                delivered: None,
            },
        );
        bill.send(1, HOUR, EventKind::Idle);
        bill.send(1, 3 * HOUR / 2, EventKind::Stopped);
        let inv = bill.close(2 * HOUR);
        let acc: Vec<_> = lines(&inv)
            .into_iter()
            .filter(|l| matches!(l.0, Component::Accelerators | Component::IdleAccelerators))
            .collect();
        (acc, inv.total_nanos)
    };
    let h = RateUnit::Hour;
    // Active: 2 GPUs × 1 h = 7,200,000 accelerator-ms, 2 h × 2,480,000,000
    // = 4,960,000,000. Idle: 2 GPUs × 0.5 h = 3,600,000 accelerator-ms,
    // 1 h × 248,000,000 = 248,000,000. Total 5,208,000,000.
    assert_eq!(
        gpu_bill(Some(248_000_000)),
        (
            vec![
                (
                    Component::Accelerators,
                    7_200_000,
                    2_480_000_000,
                    h,
                    4_960_000_000
                ),
                (
                    Component::IdleAccelerators,
                    3_600_000,
                    248_000_000,
                    h,
                    248_000_000
                ),
            ],
            5_208_000_000
        )
    );
    // No idle rate: 3 GPU-hours at the full rate, one line.
    assert_eq!(
        gpu_bill(None),
        (
            vec![(
                Component::Accelerators,
                10_800_000,
                2_480_000_000,
                h,
                7_440_000_000
            )],
            7_440_000_000
        )
    );
    let mut table = PriceTable::new(1, Timestamp(0), 0, 0, 10);
    table.idle_accelerator_nanos_per_second = Some(11);
    assert_eq!(
        table.validate(),
        Err(PriceError::IdleAboveActive {
            rate: "idle_accelerator_nanos_per_second",
            idle: 11,
            active: 10
        })
    );
}
