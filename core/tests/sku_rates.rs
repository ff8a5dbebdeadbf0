//! Prices by what was delivered: SKU, family, architecture, accelerator
//! model and zone, with their precedence, a price change mid-period and
//! corrections, each against a bill computed by hand.
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

fn info(sku: &str, family: &str, arch: Arch, model: Option<&str>, zone: Option<&str>) -> SkuInfo {
    SkuInfo {
        sku: id(sku),
        family: Some(id(family)),
        arch: Some(arch),
        accelerator_model: model.map(id),
        zone: zone.map(id),
    }
}

fn rate(selector: SkuSelector, cpu: i128, mem: i128, acc: i128) -> SkuRate {
    SkuRate::new(selector, cpu, mem, acc)
}

/// Fargate's Linux/x86 list prices per hour ($0.04048 per vCPU-hour,
/// $0.004445 per GB-hour), with rates for what was delivered:
///
/// * `arch = aarch64`: Fargate's Linux/ARM prices, $0.03238 and $0.00356
///   (from `effective_r1` on; `v2` lowers them to 25,000,000 and
///   2,500,000);
/// * `arch = aarch64, zone = us-east-1a`: 30,000,000 and 3,000,000;
/// * `sku = m7g-special`: 20,000,000 and 2,000,000;
/// * `accelerator_model = a10g`: list CPU and memory, $1.006 per GPU-hour.
fn table(version: u64, effective: u64, arm: (i128, i128)) -> PriceTable {
    let mut t = PriceTable::new(version, Timestamp(effective), 40_480_000, 4_445_000, 0);
    t.rates_per = RateUnit::Hour;
    t.minimum_run_seconds = 60;
    t.sku_rates = vec![
        rate(
            SkuSelector {
                arch: Some(Arch::Aarch64),
                ..SkuSelector::default()
            },
            arm.0,
            arm.1,
            0,
        ),
        rate(
            SkuSelector {
                arch: Some(Arch::Aarch64),
                zone: Some(id("us-east-1a")),
                ..SkuSelector::default()
            },
            30_000_000,
            3_000_000,
            0,
        ),
        rate(
            SkuSelector {
                sku: Some(id("m7g-special")),
                ..SkuSelector::default()
            },
            20_000_000,
            2_000_000,
            0,
        ),
        rate(
            SkuSelector {
                accelerator_model: Some(id("a10g")),
                ..SkuSelector::default()
            },
            40_480_000,
            4_445_000,
            1_006_000_000,
        ),
    ];
    t
}

struct Bill {
    m: Meter,
    next: u128,
}

impl Bill {
    fn new() -> Bill {
        let mut m = Meter::new(MeterConfig::default()).unwrap();
        m.add_price_table(table(1, 0, (32_380_000, 3_560_000)))
            .unwrap();
        m.add_price_table(table(2, HOUR, (25_000_000, 2_500_000)))
            .unwrap();
        for i in [
            info("c6g", "c6g", Arch::Aarch64, None, Some("us-east-1b")),
            info("c7g", "c7g", Arch::Aarch64, None, Some("us-east-1a")),
            info("m7g-special", "m7g", Arch::Aarch64, None, None),
            info("g5", "g5", Arch::X86_64, Some("a10g"), None),
        ] {
            m.describe_sku(i).unwrap();
        }
        Bill { m, next: 1 }
    }

    fn send(&mut self, instance: u64, at: u64, kind: EventKind, now: u64) -> Ingested {
        let e = Event {
            id: EventId(self.next),
            tenant: id("acme"),
            app: id("web"),
            instance: InstanceId(instance),
            at: Timestamp(at),
            kind,
            source: None,
        };
        self.next += 1;
        self.m.ingest(&e, Timestamp(now)).unwrap()
    }

    /// A 1 vCPU, 2 GiB instance (with `acc` accelerators) on `sku`.
    fn run(&mut self, instance: u64, sku: Option<&str>, acc: u64, from: u64, to: u64) {
        let resources = Resources::cpu_mem(1_000, 2_048)
            .unwrap()
            .with_accelerators(acc)
            .unwrap();
        let delivered = sku.map(id);
        let kind = EventKind::Started {
            resources,
            delivered,
            zone: None,
        };
        assert_eq!(
            self.send(instance, from, kind, 100 * HOUR),
            Ingested::Applied
        );
        assert_eq!(
            self.send(instance, to, EventKind::Stopped, 100 * HOUR),
            Ingested::Applied
        );
    }
}

/// (version, SKU, component, rate, exact sub-nanos) of every line.
fn lines(inv: &Invoice) -> Vec<(u64, Option<String>, Component, i128, i128)> {
    inv.lines
        .iter()
        .map(|l| {
            (
                l.price_version,
                l.sku.as_ref().map(|s| s.to_string()),
                l.component,
                l.rate_nanos,
                l.exact_subnanos,
            )
        })
        .collect()
}

/// Sub-nanos of `n / d` nano-units.
fn subnanos(n: i128, d: i128) -> i128 {
    n * SUBNANOS_PER_NANO / d
}

#[test]
fn rates_follow_the_delivered_sku_by_precedence_and_change_mid_period() {
    let mut b = Bill::new();
    // Two hours each, across the price change at 1 h:
    b.run(1, Some("c6g"), 0, 0, 2 * HOUR); // arch = aarch64
    b.run(2, Some("c7g"), 0, 0, 2 * HOUR); // arch + zone beats arch
    b.run(3, Some("m7g-special"), 0, 0, 2 * HOUR); // sku beats arch
    b.run(4, Some("g5"), 1, 0, 2 * HOUR); // accelerator model
    b.run(5, Some("mystery"), 0, 0, 2 * HOUR); // not described: list
    // 30.2 s on c6g: its 60 s minimum at version 1's ARM rate.
    b.run(6, Some("c6g"), 0, 0, 30_200);
    // 10 s before the change and 20.5 s after it, rounded to 31 s, then
    // the minimum: the 29.5 s top-up at the stop's table, version 2.
    b.run(7, Some("c6g"), 0, HOUR - 10_000, HOUR + 20_500);
    // A restored meter knows the descriptions and bills the same.
    let json = serde_json::to_string(&b.m.snapshot()).unwrap();
    let mut restored = Meter::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(restored.sku_info(&id("g5")), b.m.sku_info(&id("g5")));
    let report =
        b.m.close_period(Timestamp(2 * HOUR), Timestamp(2 * HOUR))
            .unwrap();
    assert_eq!(
        restored.close_period(Timestamp(2 * HOUR), Timestamp(2 * HOUR)),
        Ok(report.clone())
    );
    let inv = &report.invoices[0];

    // c6g, version 1: 3,600 + 60 + 10 = 3,670 s.
    //   CPU:    3,670 / 3,600 × 32,380,000     = 297,086,500 / 9
    //   memory: 2 × 3,670 / 3,600 × 3,560,000  =  65,326,000 / 9
    // c6g, version 2: 3,600 + 20.5 + 29.5 = 3,650 s.
    //   CPU:    3,650 / 3,600 × 25,000,000     = 228,125,000 / 9
    //   memory: 2 × 3,650 / 3,600 × 2,500,000  =  45,625,000 / 9
    // c7g, each hour:        30,000,000 + 2 × 3,000,000 = 36,000,000
    // m7g-special, each hour: 20,000,000 + 2 × 2,000,000 = 24,000,000
    // g5, each hour: 40,480,000 + 2 × 4,445,000 + 1,006,000,000 = 1,055,370,000
    // mystery, each hour: 40,480,000 + 2 × 4,445,000 = 49,370,000
    let s = |v: &str| Some(v.to_string());
    let want = vec![
        (
            1,
            s("c6g"),
            Component::Cpu,
            32_380_000,
            subnanos(297_086_500, 9),
        ),
        (
            1,
            s("c6g"),
            Component::Memory,
            3_560_000,
            subnanos(65_326_000, 9),
        ),
        (
            1,
            s("c7g"),
            Component::Cpu,
            30_000_000,
            subnanos(30_000_000, 1),
        ),
        (
            1,
            s("c7g"),
            Component::Memory,
            3_000_000,
            subnanos(6_000_000, 1),
        ),
        (
            1,
            s("g5"),
            Component::Cpu,
            40_480_000,
            subnanos(40_480_000, 1),
        ),
        (
            1,
            s("g5"),
            Component::Memory,
            4_445_000,
            subnanos(8_890_000, 1),
        ),
        (
            1,
            s("g5"),
            Component::Accelerators,
            1_006_000_000,
            subnanos(1_006_000_000, 1),
        ),
        (
            1,
            s("m7g-special"),
            Component::Cpu,
            20_000_000,
            subnanos(20_000_000, 1),
        ),
        (
            1,
            s("m7g-special"),
            Component::Memory,
            2_000_000,
            subnanos(4_000_000, 1),
        ),
        (
            1,
            s("mystery"),
            Component::Cpu,
            40_480_000,
            subnanos(40_480_000, 1),
        ),
        (
            1,
            s("mystery"),
            Component::Memory,
            4_445_000,
            subnanos(8_890_000, 1),
        ),
        (
            2,
            s("c6g"),
            Component::Cpu,
            25_000_000,
            subnanos(228_125_000, 9),
        ),
        (
            2,
            s("c6g"),
            Component::Memory,
            2_500_000,
            subnanos(45_625_000, 9),
        ),
        (
            2,
            s("c7g"),
            Component::Cpu,
            30_000_000,
            subnanos(30_000_000, 1),
        ),
        (
            2,
            s("c7g"),
            Component::Memory,
            3_000_000,
            subnanos(6_000_000, 1),
        ),
        (
            2,
            s("g5"),
            Component::Cpu,
            40_480_000,
            subnanos(40_480_000, 1),
        ),
        (
            2,
            s("g5"),
            Component::Memory,
            4_445_000,
            subnanos(8_890_000, 1),
        ),
        (
            2,
            s("g5"),
            Component::Accelerators,
            1_006_000_000,
            subnanos(1_006_000_000, 1),
        ),
        (
            2,
            s("m7g-special"),
            Component::Cpu,
            20_000_000,
            subnanos(20_000_000, 1),
        ),
        (
            2,
            s("m7g-special"),
            Component::Memory,
            2_000_000,
            subnanos(4_000_000, 1),
        ),
        (
            2,
            s("mystery"),
            Component::Cpu,
            40_480_000,
            subnanos(40_480_000, 1),
        ),
        (
            2,
            s("mystery"),
            Component::Memory,
            4_445_000,
            subnanos(8_890_000, 1),
        ),
    ];
    assert_eq!(lines(inv), want);
    // Total: 21,601,482,500 / 9 = 2,400,164,722 2/9, rounded once.
    assert_eq!(inv.exact_subnanos, subnanos(21_601_482_500, 9));
    assert_eq!(inv.total_nanos, 2_400_164_722);
    // The usage record still sums per price version.
    assert_eq!(report.usage[0].priced.len(), 2);
    assert_eq!(
        report.usage[0].priced[0].usage.cpu_millicore_ms,
        1_000 * (5 * 3_600_000 + 60_000 + 10_000)
    );
}

#[test]
fn a_plan_discounts_the_sku_rate_and_usage_without_a_sku_pays_list() {
    let mut t = table(1, 0, (32_380_000, 3_560_000));
    t.plans = vec![TenantPlan {
        tenant: id("acme"),
        app: None,
        discount_basis_points: 1_000,
    }];
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    m.add_price_table(t).unwrap();
    m.describe_sku(info("c6g", "c6g", Arch::Aarch64, None, None))
        .unwrap();
    let mut b = Bill { m, next: 1 };
    b.run(1, Some("c6g"), 0, 0, HOUR);
    b.run(2, None, 0, 0, HOUR);
    let report = b.m.close_period(Timestamp(HOUR), Timestamp(HOUR)).unwrap();
    // 10% off: ARM 29,142,000 + 2 × 3,204,000; list 36,432,000 + 2 × 4,000,500.
    let inv = &report.invoices[0];
    let got: Vec<_> = lines(inv)
        .into_iter()
        .map(|(_, sku, c, r, _)| (sku, c, r))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, Component::Cpu, 36_432_000),
            (None, Component::Memory, 4_000_500),
            (Some("c6g".to_string()), Component::Cpu, 29_142_000),
            (Some("c6g".to_string()), Component::Memory, 3_204_000),
        ]
    );
    assert_eq!(
        inv.total_nanos,
        36_432_000 + 2 * 4_000_500 + 29_142_000 + 2 * 3_204_000
    );
}

#[test]
fn a_late_stop_on_a_sku_rated_instance_is_credited_at_its_sku_rate() {
    let mut b = Bill::new();
    let resources = Resources::cpu_mem(1_000, 2_048).unwrap();
    let start = EventKind::Started {
        resources,
        delivered: Some(id("c6g")),
        zone: None,
    };
    let _ = b.send(1, 0, start, HOUR);
    let first = b.m.close_period(Timestamp(HOUR), Timestamp(HOUR)).unwrap();
    // One hour at version 1's ARM rate: 32,380,000 + 2 × 3,560,000.
    assert_eq!(first.invoices[0].total_nanos, 39_500_000);
    // The stop at 30 min arrives late: half an hour is taken back.
    assert_eq!(
        b.send(1, HOUR / 2, EventKind::Stopped, HOUR + 1),
        Ingested::Adjusted
    );
    let second =
        b.m.close_period(Timestamp(2 * HOUR), Timestamp(2 * HOUR))
            .unwrap();
    assert_eq!(second.adjustments.len(), 1);
    assert_eq!(second.adjustments[0].sku, Some(id("c6g")));
    let inv = &second.invoices[0];
    assert!(inv.lines.iter().all(|l| l.sku == Some(id("c6g"))));
    assert_eq!(inv.lines[0].rate_nanos, 32_380_000);
    assert_eq!(inv.total_nanos, -39_500_000 / 2);
}

#[test]
fn sku_rates_and_descriptions_are_checked() {
    let mut t = table(1, 0, (32_380_000, 3_560_000));
    t.sku_rates.push(t.sku_rates[0].clone());
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    assert!(matches!(
        m.add_price_table(t),
        Err(MeterError::InvalidPrice {
            source: PriceError::DuplicateSkuRate { .. },
            ..
        })
    ));
    let mut t = table(1, 0, (32_380_000, 3_560_000));
    t.sku_rates.push(rate(SkuSelector::default(), 1, 1, 1));
    assert!(matches!(
        m.add_price_table(t),
        Err(MeterError::InvalidPrice {
            source: PriceError::EmptySkuSelector,
            ..
        })
    ));
    let mut t = table(1, 0, (32_380_000, 3_560_000));
    t.sku_rates[0].idle_cpu_nanos_per_vcpu_second = 40_000_000;
    let err = m.add_price_table(t).unwrap_err();
    assert!(
        err.to_string().contains("arch = aarch64"),
        "the error names the selector: {err}"
    );
    assert!(m.snapshot().price_tables.is_empty());

    let c6g = info("c6g", "c6g", Arch::Aarch64, None, None);
    m.describe_sku(c6g.clone()).unwrap();
    m.describe_sku(c6g.clone()).unwrap();
    let other = SkuInfo {
        arch: Some(Arch::X86_64),
        ..c6g.clone()
    };
    assert_eq!(
        m.describe_sku(other),
        Err(MeterError::SkuConflict { sku: id("c6g") })
    );
    assert_eq!(m.sku_info(&id("c6g")), Some(&c6g));
    assert_eq!(m.snapshot().skus, vec![c6g]);
}
