//! Volume tiers and free quotas in a price table, against invoices
//! computed by hand: a quota shared by a tenant's apps, a tier boundary
//! crossed inside one run, a price change mid-period and a new period
//! starting from zero.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use trimline::metering::*;
use trimline::*;

const MINUTE: u64 = 60_000;
const HOUR: u64 = 3_600_000;
const VCPU_HOUR: i128 = 3_600_000_000; // millicore-ms
const GIB_HOUR: i128 = 3_686_400_000; // MiB-ms

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

/// Per vCPU-hour and GiB-hour; the first vCPU-hour of each period free,
/// then the CPU rate, then `tier_rate` from 3 vCPU-hours on.
fn table(version: u64, effective: u64, cpu: i128, tier_rate: i128) -> PriceTable {
    let mut t = PriceTable::new(version, Timestamp(effective), cpu, 4_445_000, 0);
    t.rates_per = RateUnit::Hour;
    t.free_quotas = vec![FreeQuota {
        component: Component::Cpu,
        quantity: 1,
    }];
    t.tiers = vec![VolumeTier {
        component: Component::Cpu,
        start: 3,
        rate_nanos: tier_rate,
    }];
    t
}

struct Feed {
    m: Meter,
    next: u128,
}

impl Feed {
    fn send(&mut self, app: &str, instance: u64, at: u64, kind: EventKind) {
        let e = Event {
            id: EventId(self.next),
            tenant: id("acme"),
            app: id(app),
            instance: InstanceId(instance),
            at: Timestamp(at),
            kind,
            source: None,
        };
        self.next += 1;
        assert_eq!(
            self.m.ingest(&e, Timestamp(100 * HOUR)).unwrap(),
            Ingested::Applied
        );
    }

    fn run(&mut self, app: &str, instance: u64, millicores: u64, from: u64, to: u64) {
        let resources = Resources::cpu_mem(millicores, 1_024).unwrap();
        let started = EventKind::Started {
            resources,
            delivered: None,
            zone: None,
        };
        self.send(app, instance, from, started);
        self.send(app, instance, to, EventKind::Stopped);
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

type OwnedRow = (String, u64, Component, i128, i128, Option<u32>, bool, i128);
type Row = (
    &'static str,
    u64,
    Component,
    i128,
    i128,
    Option<u32>,
    bool,
    i128,
);

fn rows(inv: &Invoice) -> Vec<OwnedRow> {
    inv.lines
        .iter()
        .map(|l| {
            (
                l.app.to_string(),
                l.price_version,
                l.component,
                l.quantity,
                l.rate_nanos,
                l.tier,
                l.free_quota,
                l.amount_nanos,
            )
        })
        .collect()
}

fn owned(expected: &[Row]) -> Vec<OwnedRow> {
    expected
        .iter()
        .map(|&(a, v, c, q, r, t, f, n)| (a.to_string(), v, c, q, r, t, f, n))
        .collect()
}

#[test]
fn quota_then_list_then_tier_across_apps_a_price_change_and_periods() {
    let mut m = Meter::new(MeterConfig::default()).unwrap();
    // v1: $0.04048 per vCPU-hour, tier $0.030; from 1 h, v2: $0.036,
    // tier $0.024.
    m.add_price_table(table(1, 0, 40_480_000, 30_000_000))
        .unwrap();
    m.add_price_table(table(2, HOUR, 36_000_000, 24_000_000))
        .unwrap();
    let mut f = Feed { m, next: 1 };
    // api: 2 vCPU for 45 min = 1.5 vCPU-hours, all under v1: it counts
    // first (apps by name) and crosses the end of the free quota.
    f.run("api", 1, 2_000, 0, 45 * MINUTE);
    // web: 1 vCPU for 2.5 h: 1 vCPU-hour under v1 (positions 1.5 to 2.5),
    // 1.5 under v2 (2.5 to 4), crossing the tier start at 3 inside the run.
    f.run("web", 2, 1_000, 0, 150 * MINUTE);
    let inv = f.close(4 * HOUR);
    use Component::{Cpu, Memory};
    let expected: [Row; 8] = [
        // 1 vCPU-hour free, 0.5 at 40,480,000.
        ("api", 1, Cpu, VCPU_HOUR, 0, None, true, 0),
        (
            "api",
            1,
            Cpu,
            VCPU_HOUR / 2,
            40_480_000,
            None,
            false,
            20_240_000,
        ),
        // 0.75 GiB-hour × 4,445,000.
        (
            "api",
            1,
            Memory,
            GIB_HOUR * 3 / 4,
            4_445_000,
            None,
            false,
            3_333_750,
        ),
        (
            "web", 1, Cpu, VCPU_HOUR, 40_480_000, None, false, 40_480_000,
        ),
        (
            "web", 1, Memory, GIB_HOUR, 4_445_000, None, false, 4_445_000,
        ),
        // 2.5 to 3 at v2's rate, 3 to 4 at v2's tier rate.
        (
            "web",
            2,
            Cpu,
            VCPU_HOUR / 2,
            36_000_000,
            None,
            false,
            18_000_000,
        ),
        (
            "web",
            2,
            Cpu,
            VCPU_HOUR,
            24_000_000,
            Some(0),
            false,
            24_000_000,
        ),
        (
            "web",
            2,
            Memory,
            GIB_HOUR * 3 / 2,
            4_445_000,
            None,
            false,
            6_667_500,
        ),
    ];
    assert_eq!(rows(&inv), owned(&expected));
    assert_eq!(inv.total_nanos, 117_166_250);

    // The next period starts from zero: web's first vCPU-hour is free
    // again (v2's quota), the half hour after it at v2's rate.
    f.run("web", 3, 1_000, 4 * HOUR, 5 * HOUR + 30 * MINUTE);
    let inv = f.close(6 * HOUR);
    let expected: [Row; 3] = [
        ("web", 2, Cpu, VCPU_HOUR, 0, None, true, 0),
        (
            "web",
            2,
            Cpu,
            VCPU_HOUR / 2,
            36_000_000,
            None,
            false,
            18_000_000,
        ),
        (
            "web",
            2,
            Memory,
            GIB_HOUR * 3 / 2,
            4_445_000,
            None,
            false,
            6_667_500,
        ),
    ];
    assert_eq!(rows(&inv), owned(&expected));
    assert_eq!(inv.total_nanos, 24_667_500);
}

#[test]
fn plans_discount_tier_rates_and_bad_tiers_are_refused() {
    let mut t = table(1, 0, 40_480_000, 30_000_000);
    t.plans = vec![TenantPlan {
        tenant: id("acme"),
        app: None,
        discount_basis_points: 1_000,
    }];
    let mut f = Feed {
        m: Meter::new(MeterConfig::default()).unwrap(),
        next: 1,
    };
    f.m.add_price_table(t.clone()).unwrap();
    // 4 vCPU for 1 h: 1 free, 2 at 36,432,000 (10% off), 1 at 27,000,000.
    f.run("web", 1, 4_000, 0, HOUR);
    let inv = f.close(HOUR);
    let cpu: Vec<_> = rows(&inv)
        .into_iter()
        .filter(|r| r.2 == Component::Cpu)
        .collect();
    let expected: [Row; 3] = [
        ("web", 1, Component::Cpu, VCPU_HOUR, 0, None, true, 0),
        (
            "web",
            1,
            Component::Cpu,
            2 * VCPU_HOUR,
            36_432_000,
            None,
            false,
            72_864_000,
        ),
        (
            "web",
            1,
            Component::Cpu,
            VCPU_HOUR,
            27_000_000,
            Some(0),
            false,
            27_000_000,
        ),
    ];
    assert_eq!(cpu, owned(&expected));

    let mut m = Meter::new(MeterConfig::default()).unwrap();
    let mut bad = t.clone();
    bad.tiers[0].rate_nanos = 30_000_001; // 10% off is not whole
    assert!(matches!(
        m.add_price_table(bad),
        Err(MeterError::InvalidPrice {
            source: PriceError::InexactDiscount { .. },
            ..
        })
    ));
    let mut bad = t.clone();
    bad.tiers.push(bad.tiers[0].clone());
    assert!(matches!(
        m.add_price_table(bad),
        Err(MeterError::InvalidPrice {
            source: PriceError::TierOrder { start: 3, .. },
            ..
        })
    ));
    let mut bad = t.clone();
    bad.free_quotas.push(bad.free_quotas[0].clone());
    assert!(matches!(
        m.add_price_table(bad),
        Err(MeterError::InvalidPrice {
            source: PriceError::FreeQuota { quantity: 1, .. },
            ..
        })
    ));
    assert!(m.price_tables().is_empty());
}

#[test]
fn tables_without_tiers_read_and_write_as_before() {
    let t = PriceTable::new(1, Timestamp(0), 5, 6, 7);
    let json = serde_json::to_string(&t).unwrap();
    assert!(!json.contains("tiers") && !json.contains("free_quotas"));
    let back: PriceTable = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    let tiered = table(1, 0, 40_480_000, 30_000_000);
    let json = serde_json::to_string(&tiered).unwrap();
    assert!(json.contains(r#""tiers":[{"component":"cpu","start":3,"rate_nanos":30000000}]"#));
    assert!(json.contains(r#""free_quotas":[{"component":"cpu","quantity":1}]"#));
    assert_eq!(serde_json::from_str::<PriceTable>(&json).unwrap(), tiered);
}
