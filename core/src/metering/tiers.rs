//! Volume tiers and free quotas: where a line's quantity falls on its
//! tenant's usage of the period, and the rate of each piece.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::MeterError;
use super::price::{PriceError, PriceTable};
use super::usage::Component;

/// A volume tier: usage of one component from `start` on (per tenant and
/// period, by the rules below) is priced at `rate_nanos`, in place of
/// the table's (or its SKU rate's) rate, up to the next tier's start.
/// Usage below a component's first tier pays the table's own rate: "the
/// first 1,000 vCPU-hours at the CPU rate, then 30,000,000 per vCPU-hour"
/// is one tier with `start` 1,000. Tenant plans discount tier rates too.
///
/// The rules:
///
/// * **What counts.** A tenant's position on a resource line is its usage
///   of that [`Component`], as billed (idle memory and idle accelerators
///   without an idle rate of their own count on the memory and
///   accelerator lines), summed over all its apps, SKUs and price versions
///   from the start of the period. Each period starts again from zero.
///   Rounding and minimum top-ups count as the usage they bill.
/// * **Order.** Usage is placed on the position in invoice line order:
///   apps by name, then price version, then SKU. One app's usage under a
///   mid-period price change thus counts in time order; a tenant's apps
///   share its quota and tiers first come (by app name), first served.
/// * **Crossing a boundary.** A line whose quantity crosses a tier start or
///   the end of a free quota (a run that crosses it, for instance) is
///   split there into one line per piece, each at its own rate: a run is
///   never priced wholly at one side of a boundary.
/// * **Which schedule.** Each piece is priced by the tiers and quota of the
///   table that prices its usage, at the position the tenant has reached:
///   after a price change, the new table's tiers apply from where the
///   tenant's usage stands, not from zero.
/// * **Free quota.** Usage below a table's quota for the component costs
///   nothing (a line at rate 0 with [`free_quota`] set); it still counts
///   toward the tiers.
/// * **Adjustments** to closed periods are priced at the table's untiered
///   rates: the meter keeps no position of a closed period.
///
/// [`free_quota`]: super::InvoiceLine::free_quota
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeTier {
    /// The resource line.
    pub component: Component,
    /// Where the tier starts, in units of the table's rates: vCPU, GiB or
    /// accelerator times [`rates_per`](PriceTable::rates_per) (1,000
    /// vCPU-hours for 1,000 with rates per hour).
    pub start: u64,
    /// The rate, in nano-units per unit and per
    /// [`rates_per`](PriceTable::rates_per).
    pub rate_nanos: i128,
}

/// A free quota: the first `quantity` of one component (per tenant and
/// period, by the rules of [`VolumeTier`]) costs nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreeQuota {
    /// The resource line.
    pub component: Component,
    /// How much is free, in units of the table's rates: vCPU, GiB or
    /// accelerator times [`rates_per`](PriceTable::rates_per).
    pub quantity: u64,
}

/// One piece of a tiered line.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Its quantity, in [`Component::unit`].
    pub(crate) quantity: i128,
    /// Its rate before any plan discount.
    pub(crate) rate: i128,
    /// The index in [`PriceTable::tiers`] of the tier pricing it.
    pub(crate) tier: Option<u32>,
    /// In the free quota.
    pub(crate) free: bool,
}

/// Quantity units ([`Component::unit`]) in one unit-second of a rate.
const fn per_unit_second(component: Component) -> i128 {
    match component {
        Component::Cpu | Component::IdleCpu => 1_000_000,
        Component::Memory | Component::IdleMemory | Component::StandbyMemory => 1_024_000,
        Component::Accelerators | Component::IdleAccelerators => 1_000,
    }
}

impl PriceTable {
    /// Whether any tier or quota prices `component`.
    pub(crate) fn is_tiered(&self, component: Component) -> bool {
        self.tiers.iter().any(|t| t.component == component)
            || self.free_quotas.iter().any(|q| q.component == component)
    }

    /// A table quantity (units of the rates) in [`Component::unit`].
    fn scaled(&self, component: Component, n: u64) -> Option<i128> {
        i128::from(n)
            .checked_mul(per_unit_second(component))?
            .checked_mul(i128::from(self.rates_per.seconds()))
    }

    /// Check the tiers and quotas: starts strictly increasing per
    /// component, rates not negative, at most one quota per component,
    /// every quantity representable.
    pub(crate) fn validate_tiers(&self) -> Result<(), PriceError> {
        for component in Component::ALL {
            let mut last: Option<u64> = None;
            for tier in self.tiers.iter().filter(|t| t.component == component) {
                if tier.rate_nanos < 0 {
                    return Err(PriceError::NegativeRate {
                        rate: "tier rate_nanos",
                        value: tier.rate_nanos,
                    });
                }
                if last.is_some_and(|l| l >= tier.start)
                    || self.scaled(component, tier.start).is_none()
                {
                    return Err(PriceError::TierOrder {
                        component,
                        start: tier.start,
                    });
                }
                last = Some(tier.start);
            }
            for tier in self.tiers.iter().filter(|t| t.component == component) {
                for plan in &self.plans {
                    if super::price::discounted(tier.rate_nanos, plan.discount_basis_points)
                        .is_none()
                    {
                        return Err(PriceError::InexactDiscount {
                            tenant: plan.tenant.clone(),
                            rate: "tier rate_nanos",
                            value: tier.rate_nanos,
                            basis_points: plan.discount_basis_points,
                        });
                    }
                }
            }
            let mut quotas = self.free_quotas.iter().filter(|q| q.component == component);
            if let Some(q) = quotas.next() {
                if quotas.next().is_some() || self.scaled(component, q.quantity).is_none() {
                    return Err(PriceError::FreeQuota {
                        component,
                        quantity: q.quantity,
                    });
                }
            }
        }
        Ok(())
    }

    /// Split `quantity` of `component`, placed at `position` (the tenant's
    /// usage of the period so far), at the free quota's end and at every
    /// tier start, and price each piece: free, at its tier's rate or at
    /// `base`. Pieces come in order and sum to `quantity`.
    pub(crate) fn pieces(
        &self,
        component: Component,
        position: i128,
        quantity: i128,
        base: i128,
        out: &mut Vec<Piece>,
    ) -> Result<(), MeterError> {
        let overflow = MeterError::Overflow {
            what: "tier position",
        };
        let end = position
            .checked_add(quantity)
            .ok_or_else(|| overflow.clone())?;
        // Validated: every start and quota scales without overflow.
        let quota = self
            .free_quotas
            .iter()
            .find(|q| q.component == component)
            .and_then(|q| self.scaled(component, q.quantity))
            .unwrap_or(0);
        let mut cur = position;
        while cur < end {
            let mut next = end;
            let mut rate = base;
            let mut tier = None;
            for (i, t) in self.tiers.iter().enumerate() {
                if t.component != component {
                    continue;
                }
                let from = self
                    .scaled(component, t.start)
                    .ok_or_else(|| overflow.clone())?;
                if from <= cur {
                    rate = t.rate_nanos;
                    tier = u32::try_from(i).ok();
                } else {
                    next = next.min(from);
                    break;
                }
            }
            let free = cur < quota;
            if free {
                next = next.min(quota);
                rate = 0;
            }
            out.push(Piece {
                quantity: next - cur,
                rate,
                tier,
                free,
            });
            cur = next;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn a_line_splits_at_the_quota_and_each_tier_start() {
        let mut p = PriceTable::new(1, Timestamp(0), 10, 1, 1);
        p.free_quotas.push(FreeQuota {
            component: Component::Cpu,
            quantity: 2,
        });
        p.tiers.push(VolumeTier {
            component: Component::Cpu,
            start: 5,
            rate_nanos: 7,
        });
        p.tiers.push(VolumeTier {
            component: Component::Cpu,
            start: 8,
            rate_nanos: 3,
        });
        assert_eq!(p.validate(), Ok(()));
        let s = 1_000_000; // millicore-ms in a vCPU-second
        let mut out = vec![];
        p.pieces(Component::Cpu, s, 9 * s, 10, &mut out).unwrap();
        let got: Vec<_> = out
            .iter()
            .map(|x| (x.quantity / s, x.rate, x.tier, x.free))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 0, None, true),
                (3, 10, None, false),
                (3, 7, Some(0), false),
                (2, 3, Some(1), false),
            ]
        );
        out.clear();
        p.pieces(Component::Memory, 0, 5, 1, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        p.tiers[1].start = 5;
        assert_eq!(
            p.validate(),
            Err(PriceError::TierOrder {
                component: Component::Cpu,
                start: 5
            })
        );
        p.tiers[1].start = 8;
        p.free_quotas.push(p.free_quotas[0].clone());
        assert!(matches!(p.validate(), Err(PriceError::FreeQuota { .. })));
    }
}
