//! Price tables: versioned rates in integer nano-units, and the book that
//! says which table is in force at any millisecond.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{AppId, TenantId};
use crate::time::Timestamp;

use super::error::MeterError;
use super::sku::{Rates, SkuRate, SkuSelector};
use super::tiers::{FreeQuota, VolumeTier};
use super::usage::Component;

/// How a run's duration is rounded before the minimum applies.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubSecond {
    /// Round each run's duration up to whole seconds (as SAE does): a run
    /// of 30.2 s is billed 31 s. The default.
    #[default]
    RoundUp,
    /// Bill the exact milliseconds.
    Exact,
}

/// The time unit a table's rates are quoted in, as the price book
/// publishes them: $0.04048 per vCPU-hour is 40,480,000 nano-units per
/// [`RateUnit::Hour`], exactly, where per second it would be 101,200/9.
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RateUnit {
    /// Per second. The default.
    #[default]
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
}

impl RateUnit {
    /// Its length in seconds: 1, 60 or 3,600 (each divides 3,600, which
    /// [`SUBNANOS_PER_NANO`](super::SUBNANOS_PER_NANO) holds as a factor,
    /// so every line stays exact).
    pub const fn seconds(self) -> u32 {
        match self {
            RateUnit::Second => 1,
            RateUnit::Minute => 60,
            RateUnit::Hour => 3_600,
        }
    }
}

fn one() -> u64 {
    1
}

/// A versioned price table. Rates are integer nano-units (10⁻⁹ of the
/// currency unit) per [`rates_per`](PriceTable::rates_per) (a second, by
/// default) of one unit of the resource: the `_second` in the rate names
/// reads as that unit. No float is ever involved, and a rate published per
/// hour or per minute is kept exact at that unit: each invoice is rounded
/// once, at its total.
///
/// Network bandwidth is not billed: the platforms trimline serves bill CPU, memory
/// and accelerators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// The version. Each table added must have a larger version than every
    /// table before it.
    pub version: u64,
    /// From when it applies. The table in force at time `t` is the one with
    /// the largest version among those effective at or before `t`, so a
    /// newer version supersedes older ones from its effective time on.
    pub effective: Timestamp,
    /// Active CPU, per vCPU-second.
    pub cpu_nanos_per_vcpu_second: i128,
    /// Idle CPU, per vCPU-second; at most the active rate (SAE bills idle
    /// vCPU at 0.2 times the active rate).
    pub idle_cpu_nanos_per_vcpu_second: i128,
    /// Memory, per GiB-second (1 GiB = 1,024 MiB).
    pub memory_nanos_per_gib_second: i128,
    /// Memory of idle instances, per GiB-second. `None` (the default): idle
    /// memory is not discounted and costs the memory rate.
    #[serde(default)]
    pub idle_memory_nanos_per_gib_second: Option<i128>,
    /// Accelerators, per accelerator-second (idle or not, without an idle
    /// accelerator rate).
    pub accelerator_nanos_per_second: i128,
    /// Accelerators of idle instances, per accelerator-second, at most the
    /// accelerator rate (some platforms discount idle GPUs as they do idle
    /// CPU). `None` (the default): idle accelerators are not discounted and
    /// are billed on the accelerator line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_accelerator_nanos_per_second: Option<i128>,
    /// Memory of standby instances (created, stopped, holding their
    /// capacity: see [`EventKind::Standby`](super::EventKind::Standby)),
    /// per GiB-second, at most the memory rate. `None` (the default):
    /// standby memory costs the memory rate and is billed on the memory
    /// line. A standby's CPU is never billed; its accelerators are billed
    /// as idle accelerators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby_memory_nanos_per_gib_second: Option<i128>,
    /// Minimum billable duration of a run, in seconds (0, the default, for
    /// none; 60 as on EC2 and Fargate).
    #[serde(default)]
    pub minimum_run_seconds: u64,
    /// Rounding of a run's duration.
    #[serde(default)]
    pub sub_second: SubSecond,
    /// The time unit of every rate in the table (default: a second).
    #[serde(default)]
    pub rates_per: RateUnit,
    /// With [`SubSecond::RoundUp`], each run's duration is rounded up to a
    /// whole number of these, in seconds: 1 (the default) bills per
    /// started second, 60 per started minute, 3,600 per started hour. At
    /// least 1; with [`SubSecond::Exact`], exactly 1.
    #[serde(default = "one")]
    pub billing_increment_seconds: u64,
    /// Per-tenant plans: discounts off every rate of this table for a
    /// tenant, or for one app of a tenant. The plan that prices a line is
    /// the one naming its tenant and app if there is one, else the one
    /// naming its tenant and no app, else none (list prices). At most one
    /// plan per (tenant, app). Plans are part of the table, so a plan
    /// change is a new table version and takes effect at its effective
    /// time, mid-period or not, like any price change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<TenantPlan>,
    /// Rates by delivered SKU, family, architecture, accelerator model or
    /// zone, in place of the rates above for the SKUs they select; the
    /// most specific selector wins (see [`SkuRate`]). Empty (the default):
    /// every SKU pays the rates above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sku_rates: Vec<SkuRate>,
    /// Volume tiers, per resource line: usage past a tier's start (per
    /// tenant and period) at the tier's rate. Empty (the default): no
    /// tiers. What counts toward a tier, in which order, and how a line
    /// crossing a boundary is split: see [`VolumeTier`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<VolumeTier>,
    /// Free quotas, at most one per resource line: the first part of a
    /// tenant's usage in each period is free, shared by its apps as
    /// [`VolumeTier`] says. Empty (the default): none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub free_quotas: Vec<FreeQuota>,
}

/// A tenant's discount off a [`PriceTable`]'s rates.
///
/// The discounted rate is `rate × (10,000 − discount_basis_points) /
/// 10,000` and must be a whole number of nano-units for every rate of the
/// table ([`PriceError::InexactDiscount`] otherwise), so money stays exact:
/// 15% off $0.04048 per vCPU-hour (40,480,000 nano-units) is 34,408,000.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPlan {
    /// The tenant.
    pub tenant: TenantId,
    /// Only this app of the tenant (`None`, the default: all its apps
    /// that no plan of their own names).
    #[serde(default)]
    pub app: Option<AppId>,
    /// The discount, in basis points (1,500 for 15%), at most 10,000.
    pub discount_basis_points: u32,
}

const BASIS_POINTS: i128 = 10_000;

/// What is wrong with a price table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PriceError {
    /// A rate is negative (a negative idle cost, say).
    #[error("{rate} is negative: {value}")]
    NegativeRate {
        /// Which rate.
        rate: &'static str,
        /// Its value.
        value: i128,
    },
    /// An idle or standby rate is higher than the rate it discounts.
    #[error("{rate} = {idle} is higher than the active rate {active}")]
    IdleAboveActive {
        /// Which idle rate.
        rate: &'static str,
        /// The idle rate.
        idle: i128,
        /// The active rate.
        active: i128,
    },
    /// The billing increment is zero, or not 1 with exact billing.
    #[error(
        "billing_increment_seconds = {increment} is not allowed: at least 1, and exactly 1 with exact billing"
    )]
    BillingIncrement {
        /// The increment.
        increment: u64,
        /// The rounding it was given with.
        sub_second: SubSecond,
    },
    /// A plan's discount is above 100%.
    #[error("plan for tenant {tenant}: discount_basis_points = {basis_points} is above 10,000")]
    DiscountAboveFull {
        /// The plan's tenant.
        tenant: TenantId,
        /// The discount.
        basis_points: u32,
    },
    /// A plan's discount makes a rate a fraction of a nano-unit.
    #[error(
        "plan for tenant {tenant}: {basis_points} basis points off {rate} = {value} is not a whole number of nano-units"
    )]
    InexactDiscount {
        /// The plan's tenant.
        tenant: TenantId,
        /// Which rate.
        rate: &'static str,
        /// Its list value.
        value: i128,
        /// The discount.
        basis_points: u32,
    },
    /// A SKU rate selects nothing: it names no SKU, family, accelerator
    /// model, architecture or zone.
    #[error("a SKU rate names no sku, family, accelerator_model, arch or zone")]
    EmptySkuSelector,
    /// Two SKU rates have the same selector.
    #[error("two SKU rates select {selector}")]
    DuplicateSkuRate {
        /// The selector.
        selector: SkuSelector,
    },
    /// A SKU rate's rates are wrong (as the table's own would be).
    #[error("the SKU rate for {selector}: {error}")]
    InSkuRate {
        /// The SKU rate's selector.
        selector: SkuSelector,
        /// What is wrong.
        error: Box<PriceError>,
    },
    /// A volume tier starts at or before the previous tier of its
    /// component, or its start is too large to count.
    #[error(
        "the {component} tier from {start} does not start after the tier before it, or is too large"
    )]
    TierOrder {
        /// The tier's component.
        component: Component,
        /// Its start.
        start: u64,
    },
    /// A second free quota for a component, or one too large to count.
    #[error("the free quota of {quantity} for {component} is a second one for it, or too large")]
    FreeQuota {
        /// The quota's component.
        component: Component,
        /// Its quantity.
        quantity: u64,
    },
    /// Two plans name the same tenant and app.
    #[error("two plans for tenant {tenant}, app {app:?}")]
    DuplicatePlan {
        /// The tenant.
        tenant: TenantId,
        /// The app (`None`: the tenant-wide plan).
        app: Option<AppId>,
    },
}

impl PriceTable {
    /// A table with the given active rates, no idle discount, no minimum and
    /// sub-second rounding up. Set the other fields directly.
    pub fn new(
        version: u64,
        effective: Timestamp,
        cpu_nanos_per_vcpu_second: i128,
        memory_nanos_per_gib_second: i128,
        accelerator_nanos_per_second: i128,
    ) -> PriceTable {
        PriceTable {
            version,
            effective,
            cpu_nanos_per_vcpu_second,
            idle_cpu_nanos_per_vcpu_second: cpu_nanos_per_vcpu_second,
            memory_nanos_per_gib_second,
            idle_memory_nanos_per_gib_second: None,
            accelerator_nanos_per_second,
            idle_accelerator_nanos_per_second: None,
            standby_memory_nanos_per_gib_second: None,
            minimum_run_seconds: 0,
            sub_second: SubSecond::RoundUp,
            rates_per: RateUnit::Second,
            billing_increment_seconds: 1,
            plans: Vec::new(),
            sku_rates: Vec::new(),
            tiers: Vec::new(),
            free_quotas: Vec::new(),
        }
    }

    /// Check the rates (none negative, idle rates at most the active ones),
    /// the billing increment, the plans and the SKU rates.
    pub fn validate(&self) -> Result<(), PriceError> {
        let increment = self.billing_increment_seconds;
        if increment == 0 || (self.sub_second == SubSecond::Exact && increment != 1) {
            return Err(PriceError::BillingIncrement {
                increment,
                sub_second: self.sub_second,
            });
        }
        self.check_rates(&self.rates())?;
        let mut named = std::collections::BTreeSet::new();
        for plan in &self.plans {
            if !named.insert((&plan.tenant, &plan.app)) {
                return Err(PriceError::DuplicatePlan {
                    tenant: plan.tenant.clone(),
                    app: plan.app.clone(),
                });
            }
        }
        self.validate_sku_rates(|r| self.check_rates(r))?;
        self.validate_tiers()
    }

    /// The table's own rates.
    pub(crate) fn rates(&self) -> Rates {
        Rates {
            cpu: self.cpu_nanos_per_vcpu_second,
            idle_cpu: self.idle_cpu_nanos_per_vcpu_second,
            memory: self.memory_nanos_per_gib_second,
            idle_memory: self.idle_memory_nanos_per_gib_second,
            accelerators: self.accelerator_nanos_per_second,
            idle_accelerators: self.idle_accelerator_nanos_per_second,
            standby_memory: self.standby_memory_nanos_per_gib_second,
        }
    }

    /// Check one set of rates: none negative, idle rates at most the
    /// active ones, every plan's discount of each exact.
    fn check_rates(&self, r: &Rates) -> Result<(), PriceError> {
        let rates = [
            ("cpu_nanos_per_vcpu_second", r.cpu),
            ("idle_cpu_nanos_per_vcpu_second", r.idle_cpu),
            ("memory_nanos_per_gib_second", r.memory),
            (
                "idle_memory_nanos_per_gib_second",
                r.idle_memory.unwrap_or(0),
            ),
            ("accelerator_nanos_per_second", r.accelerators),
            (
                "idle_accelerator_nanos_per_second",
                r.idle_accelerators.unwrap_or(0),
            ),
            (
                "standby_memory_nanos_per_gib_second",
                r.standby_memory.unwrap_or(0),
            ),
        ];
        for (rate, value) in rates {
            if value < 0 {
                return Err(PriceError::NegativeRate { rate, value });
            }
        }
        for plan in &self.plans {
            let basis_points = plan.discount_basis_points;
            if i128::from(basis_points) > BASIS_POINTS {
                return Err(PriceError::DiscountAboveFull {
                    tenant: plan.tenant.clone(),
                    basis_points,
                });
            }
            for (rate, value) in rates {
                if discounted(value, basis_points).is_none() {
                    return Err(PriceError::InexactDiscount {
                        tenant: plan.tenant.clone(),
                        rate,
                        value,
                        basis_points,
                    });
                }
            }
        }
        if r.idle_cpu > r.cpu {
            return Err(PriceError::IdleAboveActive {
                rate: "idle_cpu_nanos_per_vcpu_second",
                idle: r.idle_cpu,
                active: r.cpu,
            });
        }
        if let Some(idle) = r.idle_memory {
            if idle > r.memory {
                return Err(PriceError::IdleAboveActive {
                    rate: "idle_memory_nanos_per_gib_second",
                    idle,
                    active: r.memory,
                });
            }
        }
        if let Some(idle) = r.idle_accelerators {
            if idle > r.accelerators {
                return Err(PriceError::IdleAboveActive {
                    rate: "idle_accelerator_nanos_per_second",
                    idle,
                    active: r.accelerators,
                });
            }
        }
        if let Some(standby) = r.standby_memory {
            if standby > r.memory {
                return Err(PriceError::IdleAboveActive {
                    rate: "standby_memory_nanos_per_gib_second",
                    idle: standby,
                    active: r.memory,
                });
            }
        }
        Ok(())
    }

    /// The rate that prices one unit of a component's quantity per
    /// [`rates_per`](PriceTable::rates_per): per vCPU, GiB or accelerator
    /// and per second, minute or hour.
    pub fn rate(&self, component: Component) -> i128 {
        self.rates().of(component)
    }

    /// The plan that prices `app` of `tenant`: the one naming both, else
    /// the one naming the tenant and no app, else `None`.
    pub fn plan_for(&self, tenant: &TenantId, app: &AppId) -> Option<&TenantPlan> {
        let mut tenant_wide = None;
        for plan in &self.plans {
            if plan.tenant != *tenant {
                continue;
            }
            match &plan.app {
                Some(a) if a == app => return Some(plan),
                Some(_) => {}
                None => tenant_wide = Some(plan),
            }
        }
        tenant_wide
    }

    /// The rate of `component` for `app` of `tenant`: [`rate`](Self::rate)
    /// less the discount of its [`plan_for`](Self::plan_for), exact (the
    /// table's validation checks every discounted rate is whole). `None`
    /// only for an unvalidated table whose discount is not exact.
    pub fn rate_for(&self, component: Component, tenant: &TenantId, app: &AppId) -> Option<i128> {
        self.discounted_for(self.rate(component), tenant, app)
    }

    /// `rate` less the discount of the plan for `app` of `tenant`, exact;
    /// `None` if it is not whole (the table was not validated).
    pub(crate) fn discounted_for(
        &self,
        rate: i128,
        tenant: &TenantId,
        app: &AppId,
    ) -> Option<i128> {
        match self.plan_for(tenant, app) {
            Some(plan) => discounted(rate, plan.discount_basis_points),
            None => Some(rate),
        }
    }

    /// Milliseconds added to a run of `run_ms` milliseconds by this table's
    /// rounding (up to whole billing increments) and minimum:
    /// `billed - run_ms`, never negative. A run of zero milliseconds is
    /// billed nothing: no phantom minimum.
    pub fn top_up_ms(&self, run_ms: u64) -> Result<u64, MeterError> {
        if run_ms == 0 {
            return Ok(0);
        }
        let overflow = MeterError::Overflow {
            what: "run duration",
        };
        let rounded = match self.sub_second {
            SubSecond::RoundUp => {
                // Validated at least 1; `max` keeps an unvalidated table
                // from dividing by zero.
                let increment_ms = self
                    .billing_increment_seconds
                    .max(1)
                    .checked_mul(1000)
                    .ok_or_else(|| overflow.clone())?;
                run_ms
                    .div_ceil(increment_ms)
                    .checked_mul(increment_ms)
                    .ok_or_else(|| overflow.clone())?
            }
            SubSecond::Exact => run_ms,
        };
        let minimum = self
            .minimum_run_seconds
            .checked_mul(1000)
            .ok_or_else(|| overflow.clone())?;
        rounded
            .max(minimum)
            .checked_sub(run_ms)
            .ok_or_else(|| overflow)
    }
}

/// `rate × (10,000 − basis_points) / 10,000` if that is whole (and the
/// discount at most 100%).
pub(super) fn discounted(rate: i128, basis_points: u32) -> Option<i128> {
    let keep = BASIS_POINTS.checked_sub(i128::from(basis_points))?;
    if keep < 0 {
        return None;
    }
    let scaled = rate.checked_mul(keep)?;
    (scaled % BASIS_POINTS == 0).then_some(scaled / BASIS_POINTS)
}

/// Index of a table in the book (tables are kept in version order).
pub(crate) type TableIx = u32;

/// All price tables, and the step function "table in force at t".
#[derive(Clone, Debug, Default)]
pub(crate) struct PriceBook {
    /// In the order added, which is version order.
    tables: Vec<PriceTable>,
    /// (from, table): the table in force from `from` until the next entry.
    /// `from` strictly increases.
    steps: Vec<(Timestamp, TableIx)>,
}

impl PriceBook {
    pub(crate) fn tables(&self) -> &[PriceTable] {
        &self.tables
    }

    pub(crate) fn table(&self, ix: TableIx) -> &PriceTable {
        &self.tables[ix as usize]
    }

    pub(crate) fn latest_version(&self) -> Option<u64> {
        self.tables.last().map(|t| t.version)
    }

    /// Add a validated table (newer version, effective in the open period).
    /// It supersedes every step from its effective time on.
    pub(crate) fn push(&mut self, table: PriceTable) -> Result<(), MeterError> {
        let ix = TableIx::try_from(self.tables.len()).map_err(|_| MeterError::Overflow {
            what: "price table count",
        })?;
        let from = table.effective;
        let keep = self.steps.partition_point(|&(f, _)| f < from);
        self.steps.truncate(keep);
        self.steps.push((from, ix));
        self.tables.push(table);
        Ok(())
    }

    /// The step in force at `t`.
    fn step_at(&self, t: Timestamp) -> Result<usize, MeterError> {
        self.steps
            .partition_point(|&(f, _)| f <= t)
            .checked_sub(1)
            .ok_or_else(|| MeterError::NoPrice { at: t })
    }

    /// The table in force at `t`.
    pub(crate) fn at(&self, t: Timestamp) -> Result<TableIx, MeterError> {
        Ok(self.steps[self.step_at(t)?].1)
    }

    /// Split `[a, b)` at every price change and call `f(table, ms)` for
    /// each piece, in time order.
    pub(crate) fn split(
        &self,
        a: Timestamp,
        b: Timestamp,
        mut f: impl FnMut(TableIx, u64) -> Result<(), MeterError>,
    ) -> Result<(), MeterError> {
        if b <= a {
            return Ok(());
        }
        let mut k = self.step_at(a)?;
        let mut cur = a;
        while cur < b {
            let (_, table) = self.steps[k];
            let end = match self.steps.get(k + 1) {
                Some(&(next, _)) if next < b => next,
                _ => b,
            };
            f(table, end.0 - cur.0)?;
            cur = end;
            k += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(version: u64, at: u64) -> PriceTable {
        PriceTable::new(version, Timestamp(at), 1, 1, 1)
    }

    #[test]
    fn newer_versions_supersede_from_their_effective_time() {
        let mut book = PriceBook::default();
        book.push(t(1, 0)).unwrap();
        book.push(t(2, 100)).unwrap();
        book.push(t(3, 50)).unwrap();
        assert_eq!(book.at(Timestamp(49)).unwrap(), 0);
        assert_eq!(book.at(Timestamp(50)).unwrap(), 2);
        assert_eq!(book.at(Timestamp(500)).unwrap(), 2);
        let mut pieces = vec![];
        book.split(Timestamp(10), Timestamp(60), |ix, ms| {
            pieces.push((ix, ms));
            Ok(())
        })
        .unwrap();
        assert_eq!(pieces, vec![(0, 40), (2, 10)]);
    }

    #[test]
    fn no_table_before_the_first() {
        let mut book = PriceBook::default();
        book.push(t(1, 10)).unwrap();
        assert_eq!(
            book.at(Timestamp(9)),
            Err(MeterError::NoPrice { at: Timestamp(9) })
        );
        assert!(
            book.split(Timestamp(5), Timestamp(5), |_, _| Ok(()))
                .is_ok()
        );
    }

    #[test]
    fn top_up_rounds_once_then_applies_the_minimum() {
        let mut p = t(1, 0);
        assert_eq!(p.top_up_ms(30_200).unwrap(), 800);
        assert_eq!(p.top_up_ms(30_000).unwrap(), 0);
        assert_eq!(p.top_up_ms(0).unwrap(), 0);
        p.minimum_run_seconds = 60;
        assert_eq!(p.top_up_ms(30_200).unwrap(), 29_800);
        assert_eq!(p.top_up_ms(60_001).unwrap(), 999);
        assert_eq!(p.top_up_ms(0).unwrap(), 0);
        assert!(p.top_up_ms(u64::MAX).is_err());
        p.sub_second = SubSecond::Exact;
        assert_eq!(p.top_up_ms(60_001).unwrap(), 0);
        assert_eq!(p.top_up_ms(30_200).unwrap(), 29_800);
    }

    #[test]
    fn billing_increments_round_whole_minutes_and_hours() {
        let mut p = t(1, 0);
        p.billing_increment_seconds = 60;
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.top_up_ms(1).unwrap(), 59_999);
        assert_eq!(p.top_up_ms(60_000).unwrap(), 0);
        assert_eq!(p.top_up_ms(60_001).unwrap(), 59_999);
        p.minimum_run_seconds = 300; // the minimum applies after rounding
        assert_eq!(p.top_up_ms(61_000).unwrap(), 239_000);
        p.minimum_run_seconds = 0;
        p.billing_increment_seconds = 3_600;
        assert_eq!(p.top_up_ms(3_600_001).unwrap(), 3_599_999);
        p.billing_increment_seconds = 0;
        assert_eq!(
            p.validate(),
            Err(PriceError::BillingIncrement {
                increment: 0,
                sub_second: SubSecond::RoundUp
            })
        );
        p.billing_increment_seconds = 60;
        p.sub_second = SubSecond::Exact;
        assert!(p.validate().is_err());
        p.billing_increment_seconds = 1;
        assert_eq!(p.validate(), Ok(()));
    }
}
