//! The usage export: usage of the open period per tenant, app, instance,
//! delivered SKU or zone, in exact integer quantities, without pricing it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{AppId, InstanceId, SkuId, SourceId, TenantId, ZoneId};
use crate::time::Timestamp;

use super::error::MeterError;
use super::usage::{Component, Usage};
use super::{Meter, Op, Run, step};

/// What [`Meter::usage`] groups usage by: each field set keeps that key in
/// the records, each field unset sums over it (the record's field is then
/// `None`). All unset: one total per component. Every field defaults to
/// unset; [`UsageGroupBy::ALL`] sets them all.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UsageGroupBy {
    /// By tenant.
    pub tenant: bool,
    /// By app (of its tenant, if grouped by tenant too).
    pub app: bool,
    /// By source (the scheduler or region whose events these are: see
    /// [`Event::source`](super::Event::source)). Group by source too when
    /// grouping by instance and several sources share the meter, since
    /// their instance ids may coincide.
    pub source: bool,
    /// By instance.
    pub instance: bool,
    /// By the SKU that delivered the usage.
    pub sku: bool,
    /// By the zone the usage was delivered in: the zone its events named,
    /// or else that of its SKU, as [`Meter::describe_sku`] told it.
    pub zone: bool,
}

impl UsageGroupBy {
    /// Every key: one record per tenant, app, instance, SKU, zone and
    /// component.
    pub const ALL: UsageGroupBy = UsageGroupBy {
        tenant: true,
        app: true,
        source: true,
        instance: true,
        sku: true,
        zone: true,
    };
}

/// One record of the usage export: the quantity of one [`Component`] used
/// over `[from, to)` by one group ([`UsageGroupBy`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageExportRecord {
    /// The tenant, when grouped by tenant.
    pub tenant: Option<TenantId>,
    /// The app, when grouped by app.
    pub app: Option<AppId>,
    /// The source, when grouped by source (`None` also for the default
    /// source).
    pub source: Option<SourceId>,
    /// The instance, when grouped by instance.
    pub instance: Option<InstanceId>,
    /// The SKU that delivered the usage, when grouped by SKU (`None` also
    /// for usage whose events reported no SKU).
    pub sku: Option<SkuId>,
    /// The zone the usage was delivered in, when grouped by zone: the zone
    /// its events named, or else its SKU's described zone (`None` when
    /// neither is known).
    pub zone: Option<ZoneId>,
    /// The component. Idle usage is on the idle components, whatever the
    /// price tables do with it.
    pub component: Component,
    /// The quantity, in [`Component::unit`], never negative.
    pub quantity: i128,
    /// Of `quantity`, what the rounding and minimums of runs that stopped
    /// in the interval added (billed at the stop, as the invoice does).
    pub top_up: i128,
    /// The interval's first millisecond.
    pub from: Timestamp,
    /// The first millisecond after the interval.
    pub to: Timestamp,
}

/// A group's key, borrowed from the meter.
type Key<'a> = (
    Option<&'a TenantId>,
    Option<&'a AppId>,
    Option<&'a SourceId>,
    Option<InstanceId>,
    Option<&'a SkuId>,
    Option<&'a ZoneId>,
);

/// A group's usage, and the part of it that is top-up.
#[derive(Default)]
struct Sums {
    usage: Usage,
    top_up: Usage,
}

impl Meter {
    /// The usage of `[from, to)`, a part of the open period, as the events
    /// ingested so far say (a later event may change it, as it would the
    /// period's invoice), without closing or pricing anything: one record
    /// per group of `group_by` and component with a non-zero quantity.
    ///
    /// The quantities are those the period's close would bill over the
    /// interval: every millisecond of every run in the interval, on the
    /// requested shape in force, idle time on the idle components, and the
    /// rounding and minimum of each run that stops in the interval (the
    /// *top-up*, also reported apart), in the run's last shape and on its
    /// last SKU, as the price table in force at the stop says. A running
    /// instance counts up to `to`. So the export of the whole open period
    /// `[start, end)` adds up, per tenant and app, to the usage records of
    /// its close at `end`.
    ///
    /// Records are sorted by tenant, app, source, instance, SKU, zone (an
    /// absent
    /// key first), then component in [`Component::ALL`] order; the same
    /// state gives the same records.
    ///
    /// Refused with [`MeterError::UsageInterval`] unless
    /// `open start <= from < to` (closed periods' usage is in their
    /// reports: [`Meter::closed_report`]), and with
    /// [`MeterError::NoPrice`] if a run stops when no price table is in
    /// force (its rounding and minimum are unknown). It walks every
    /// instance the meter tracks, like closing a period.
    pub fn usage(
        &self,
        from: Timestamp,
        to: Timestamp,
        group_by: UsageGroupBy,
    ) -> Result<Vec<UsageExportRecord>, MeterError> {
        if from < self.open_start || to <= from {
            return Err(MeterError::UsageInterval {
                from,
                to,
                open_start: self.open_start,
            });
        }
        let mut groups: BTreeMap<Key<'_>, Sums> = BTreeMap::new();
        for (ix, source) in self.sources.iter().enumerate() {
            let source_name = self.source_name(ix);
            for slot in source.instances.0.iter() {
                let (id, inst) = (slot.id, &slot.inst);
                if !inst.carry.is_running() && inst.buffer().is_empty() {
                    continue;
                }
                let owner = self.apps.get_index(inst.app as usize);
                let mut add = |run: &Run, a: Timestamp, b: Timestamp, top_up: u64| {
                    let ms = if top_up > 0 {
                        top_up
                    } else {
                        let (a, b) = (a.max(from), b.min(to));
                        if b <= a {
                            return Ok(());
                        }
                        b.0 - a.0
                    };
                    let delivery = self.catalog.skus.get_index(run.sku as usize);
                    let sku = delivery.and_then(|d| d.sku.as_ref());
                    let zone = delivery.and_then(|d| d.zone.as_ref()).or_else(|| {
                        sku.and_then(|s| self.sku_info.get(s))
                            .and_then(|i| i.zone.as_ref())
                    });
                    let key: Key<'_> = (
                        owner.map(|o| &o.0).filter(|_| group_by.tenant),
                        owner.map(|o| &o.1).filter(|_| group_by.app),
                        source_name.filter(|_| group_by.source),
                        Some(id).filter(|_| group_by.instance),
                        sku.filter(|_| group_by.sku),
                        zone.filter(|_| group_by.zone),
                    );
                    let shape = self.catalog.shape(run.shape);
                    let sums = groups.entry(key).or_default();
                    sums.usage.add_time(&shape, run.mode, ms, top_up > 0)?;
                    if top_up > 0 {
                        sums.top_up.add_time(&shape, run.mode, ms, true)?;
                    }
                    Ok::<(), MeterError>(())
                };
                let mut state = inst.carry.get();
                let mut t = self.open_start;
                for ev in inst.buffer().iter().take_while(|e| e.at < to) {
                    if let Some(run) = &state {
                        add(run, t, ev.at, 0)?;
                        if ev.op() == Op::Stop && ev.at >= from {
                            let table = self.prices.at(ev.at)?;
                            let top_up = self
                                .prices
                                .table(table)
                                .top_up_ms(ev.at.0.saturating_sub(run.start.0))?;
                            if top_up > 0 {
                                add(run, ev.at, ev.at, top_up)?;
                            }
                        }
                    }
                    state = step(state, ev, id)?;
                    t = ev.at;
                }
                if let Some(run) = &state {
                    add(run, t, to, 0)?;
                }
            }
        }
        let mut records = Vec::new();
        for ((tenant, app, source, instance, sku, zone), sums) in groups {
            for component in Component::ALL {
                let quantity = sums.usage.quantity(component);
                if quantity == 0 {
                    continue;
                }
                records.push(UsageExportRecord {
                    tenant: tenant.cloned(),
                    app: app.cloned(),
                    source: source.cloned(),
                    instance,
                    sku: sku.cloned(),
                    zone: zone.cloned(),
                    component,
                    quantity,
                    top_up: sums.top_up.quantity(component),
                    from,
                    to,
                });
            }
        }
        Ok(records)
    }
}
