//! Invoices: exact line amounts, one rounding per invoice, and the
//! largest-remainder allocation that makes the lines sum to the total.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{AppId, SkuId, SourceId, TenantId, ZoneId};

use super::error::MeterError;
use super::price::RateUnit;
use super::usage::{Component, PeriodId};

/// Sub-nano-units per nano-unit. Exact amounts are kept in sub-nanos,
/// 1/460,800,000,000 of a nano-unit (128,000,000 × 3,600): the finest unit
/// in which a millisecond of any component at any integer rate per second,
/// minute or hour is a whole number (see [`Component::subnanos_factor`]).
pub const SUBNANOS_PER_NANO: i128 = 460_800_000_000;

/// How an invoice's exact total is rounded to a whole number of units.
/// Negative totals (credits) round the same way on the number line.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rounding {
    /// Toward negative infinity.
    Down,
    /// Toward positive infinity.
    Up,
    /// To the nearest; halves toward positive infinity. The default.
    #[default]
    HalfUp,
    /// To the nearest; halves to the even unit (banker's rounding).
    HalfEven,
}

/// The declared rule by which each invoice is rounded, once.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InvoiceRule {
    /// The unit invoices are rounded to, in nano-units (1, the default:
    /// whole nano-units; 10,000,000 for cents of a currency whose unit is
    /// 10⁹ nano-units). At least 1.
    pub unit_nanos: i128,
    /// The rounding of the total.
    pub rounding: Rounding,
}

impl Default for InvoiceRule {
    fn default() -> Self {
        InvoiceRule {
            unit_nanos: 1,
            rounding: Rounding::HalfUp,
        }
    }
}

/// One invoice line: a component of one app's usage under one price
/// version, or of an adjustment to an earlier period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceLine {
    /// The app.
    pub app: AppId,
    /// The source (scheduler or region) of the usage (`None`: the default
    /// source; see [`Event::source`](super::Event::source)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceId>,
    /// The component.
    pub component: Component,
    /// The price table version that prices it.
    pub price_version: u64,
    /// For an adjustment line, the closed period it corrects.
    pub corrects: Option<PeriodId>,
    /// The quantity, in [`Component::unit`] (negative for a credit).
    pub quantity: i128,
    /// The rate applied, in nano-units per unit (vCPU, GiB, accelerator)
    /// and per [`rate_per`](InvoiceLine::rate_per), as the table quotes it.
    pub rate_nanos: i128,
    /// The time unit of the rate.
    pub rate_per: RateUnit,
    /// The delivered SKU the line prices, when its price table has SKU
    /// rates ([`PriceTable::sku_rates`](super::PriceTable::sku_rates)):
    /// such a table bills each delivered SKU on lines of its own, at the
    /// rates that select it. `None` otherwise, and for usage that reported
    /// no SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<SkuId>,
    /// The zone the usage's events named it delivered in
    /// ([`EventKind::Started::zone`](super::EventKind::Started)), when its
    /// price table has SKU rates: usage of one SKU in two named zones is
    /// billed on lines of its own for each. `None` otherwise, and when the
    /// events named no zone (the SKU's described zone then selected the
    /// rates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    /// The index in the table's [`tiers`](super::PriceTable::tiers) of the
    /// volume tier whose rate prices the line; `None` below the first tier
    /// and without tiers. A line crossing a tier start is split there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u32>,
    /// The line is usage within the table's free quota for its component,
    /// at rate 0.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub free_quota: bool,
    /// `quantity × rate × factor / seconds(rate_per)`: the exact amount,
    /// in sub-nanos ([`SUBNANOS_PER_NANO`], [`Component::subnanos_factor`]).
    pub exact_subnanos: i128,
    /// The line's share of the rounded total, in nano-units.
    pub amount_nanos: i128,
}

/// A tenant's invoice for one period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Invoice {
    /// The tenant.
    pub tenant: TenantId,
    /// The period.
    pub period: PeriodId,
    /// Usage lines by app, price version, SKU and component, then
    /// adjustment lines by corrected period, app, price version, SKU and
    /// component. This
    /// order breaks ties in the allocation.
    pub lines: Vec<InvoiceLine>,
    /// The exact total, in sub-nanos.
    pub exact_subnanos: i128,
    /// The total rounded once by the [`InvoiceRule`], in nano-units; equal
    /// to the sum of the lines' amounts.
    pub total_nanos: i128,
}

fn overflow() -> MeterError {
    MeterError::Overflow { what: "invoice" }
}

impl InvoiceRule {
    /// The unit in sub-nanos.
    fn unit_subnanos(&self) -> Result<i128, MeterError> {
        if self.unit_nanos < 1 {
            return Err(MeterError::InvoiceUnit {
                unit_nanos: self.unit_nanos,
            });
        }
        self.unit_nanos
            .checked_mul(SUBNANOS_PER_NANO)
            .ok_or_else(overflow)
    }

    /// Round an exact amount (sub-nanos) to whole units, returned as a
    /// count of units.
    fn round_units(&self, exact: i128, unit: i128) -> Result<i128, MeterError> {
        let q = exact.div_euclid(unit);
        let r = exact.rem_euclid(unit); // 0 <= r < unit
        let up = match self.rounding {
            Rounding::Down => false,
            Rounding::Up => r > 0,
            Rounding::HalfUp => r >= unit - r,
            Rounding::HalfEven => r > unit - r || (r == unit - r && q.rem_euclid(2) == 1),
        };
        if up {
            q.checked_add(1).ok_or_else(overflow)
        } else {
            Ok(q)
        }
    }

    /// Round an exact amount (sub-nanos) once, to nano-units.
    pub fn round(&self, exact_subnanos: i128) -> Result<i128, MeterError> {
        let unit = self.unit_subnanos()?;
        self.round_units(exact_subnanos, unit)?
            .checked_mul(self.unit_nanos)
            .ok_or_else(overflow)
    }

    /// Round the sum of `exacts` once, then share the rounded total among
    /// them by the largest-remainder method: each gets its amount rounded
    /// down to the unit, and the units left over go one each to the largest
    /// remainders, earlier entries first among equal remainders. Returns
    /// the total and the shares (in nano-units); the shares sum to the
    /// total exactly, and each differs from its exact amount by less than
    /// one unit.
    pub fn allocate(&self, exacts: &[i128]) -> Result<(i128, Vec<i128>), MeterError> {
        let unit = self.unit_subnanos()?;
        let exact_total = exacts
            .iter()
            .try_fold(0i128, |acc, &e| acc.checked_add(e))
            .ok_or_else(overflow)?;
        let total_units = self.round_units(exact_total, unit)?;
        let mut units: Vec<i128> = exacts.iter().map(|e| e.div_euclid(unit)).collect();
        let floor_sum = units
            .iter()
            .try_fold(0i128, |acc, &u| acc.checked_add(u))
            .ok_or_else(overflow)?;
        // floor_sum <= floor(total) <= total_units <= ceil(total)
        // < floor_sum + (lines with a remainder) + 1, so the leftover is a
        // count of lines that have a remainder.
        let leftover = total_units.checked_sub(floor_sum).ok_or_else(overflow)?;
        let mut order: Vec<usize> = (0..exacts.len())
            .filter(|&i| exacts[i].rem_euclid(unit) > 0)
            .collect();
        let leftover = usize::try_from(leftover)
            .ok()
            .filter(|&l| l <= order.len())
            .ok_or_else(overflow)?;
        order.sort_by(|&a, &b| {
            exacts[b]
                .rem_euclid(unit)
                .cmp(&exacts[a].rem_euclid(unit))
                .then(a.cmp(&b))
        });
        for &i in &order[..leftover] {
            units[i] += 1; // at most floor + 1 <= ceil(exact): no overflow
        }
        let mut shares = Vec::with_capacity(units.len());
        for u in units {
            shares.push(u.checked_mul(self.unit_nanos).ok_or_else(overflow)?);
        }
        let total = total_units
            .checked_mul(self.unit_nanos)
            .ok_or_else(overflow)?;
        Ok((total, shares))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: i128 = SUBNANOS_PER_NANO;

    #[test]
    fn rounding_rules() {
        let rule = |rounding| InvoiceRule {
            unit_nanos: 1,
            rounding,
        };
        let half = N / 2;
        assert_eq!(rule(Rounding::Down).round(N + half).unwrap(), 1);
        assert_eq!(rule(Rounding::Up).round(N + 1).unwrap(), 2);
        assert_eq!(rule(Rounding::HalfUp).round(N + half).unwrap(), 2);
        assert_eq!(rule(Rounding::HalfUp).round(N + half - 1).unwrap(), 1);
        assert_eq!(rule(Rounding::HalfEven).round(N + half).unwrap(), 2);
        assert_eq!(rule(Rounding::HalfEven).round(2 * N + half).unwrap(), 2);
        assert_eq!(rule(Rounding::HalfEven).round(2 * N + half + 1).unwrap(), 3);
        assert_eq!(rule(Rounding::Down).round(-1).unwrap(), -1);
        assert_eq!(rule(Rounding::Up).round(-1).unwrap(), 0);
        assert_eq!(rule(Rounding::HalfUp).round(-half).unwrap(), 0);
        assert_eq!(rule(Rounding::HalfEven).round(-half).unwrap(), 0);
        assert_eq!(rule(Rounding::HalfEven).round(-N - half).unwrap(), -2);
        let cents = InvoiceRule {
            unit_nanos: 10_000_000,
            rounding: Rounding::HalfUp,
        };
        assert_eq!(cents.round(15_000_000 * N).unwrap(), 20_000_000);
        assert_eq!(
            InvoiceRule {
                unit_nanos: 0,
                rounding: Rounding::Down
            }
            .round(1),
            Err(MeterError::InvoiceUnit { unit_nanos: 0 })
        );
    }

    #[test]
    fn largest_remainder_ties_go_to_the_earlier_line() {
        let rule = InvoiceRule::default();
        // Three lines of a third of a nano each: the total is 1 and the
        // tie goes to the first line.
        let third = N / 3;
        let (total, shares) = rule.allocate(&[third, third, third + 2]).unwrap();
        assert_eq!(total, 1);
        assert_eq!(shares, vec![0, 0, 1]);
        let (total, shares) = rule.allocate(&[third, third, third]).unwrap();
        assert_eq!((total, shares), (1, vec![1, 0, 0]));
        let (total, shares) = rule.allocate(&[]).unwrap();
        assert_eq!((total, shares), (0, vec![]));
        // Credits and charges.
        let (total, shares) = rule.allocate(&[-N - N / 2, 3 * N + N / 4]).unwrap();
        assert_eq!(total, 2);
        assert_eq!(shares.iter().sum::<i128>(), total);
        assert_eq!(shares, vec![-1, 3]);
    }
}
