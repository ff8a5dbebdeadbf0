//! Snapshot and restore of a [`Meter`].
//!
//! A [`MeterSnapshot`] describes the meter by names, not by its packed
//! layout: each instance's owner, its state at the start of the open
//! period, and its events with their ids, shapes and SKUs. Restore checks
//! everything it cannot trust and rebuilds the internals (interned shapes,
//! SKUs and owners, packed events, the instance table, the id tables), so a
//! snapshot that no sequence of calls could have left is refused with a
//! [`MeterRestoreError`]. A restored meter writes the same snapshot and
//! ingests, invoices and refuses exactly as the original.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::hash::Set;
use crate::ids::{AppId, InstanceId, SkuId, SourceId, TenantId, ZoneId};
use crate::resources::Resources;
use crate::time::Timestamp;

use super::error::{MeterError, MeterRestoreError};
use super::event::{EventId, EventKind};
use super::price::{PriceTable, TableIx};
use super::sku::SkuInfo;
use super::usage::{Adjustment, Mode, Period};
use super::{
    Ev, FOREIGN, INLINE_EVENTS, Inst, Meter, MeterConfig, Op, PeriodReport, Run, Seen, Slot,
    Source, State, index_u32, step,
};

/// The meter snapshot format this build writes. It reads it, format 2,
/// whose instances have no `source`, whose events and runs name no `zone`
/// (they read as the default source and no zone, which is what format 2
/// meant) and which has no `history` (the reports of closed periods the
/// meter keeps: it restores with an empty one), and format 1, which has
/// none of these either and whose price tables have neither `rates_per`
/// nor `billing_increment_seconds` and read with their defaults (per
/// second, in increments of one second); such a meter then writes
/// format 3.
pub const METER_SNAPSHOT_FORMAT: u32 = 3;

/// The whole state of a [`Meter`], for persistence or replication: a plain
/// serde type, written by [`Meter::snapshot`] and read back by
/// [`Meter::restore`].
///
/// It names everything (owners, shapes, SKUs, events with their ids) and
/// lists it in a canonical order, so the same state always writes the same
/// bytes, whatever order it was reached in. What the meter derives (the
/// open period's start, the horizon, each instance's state after its
/// events, the id tables) is not in it: restore recomputes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterSnapshot {
    /// [`METER_SNAPSHOT_FORMAT`] when written.
    pub format: u32,
    /// The configuration.
    pub config: MeterConfig,
    /// Every price table added, in version order.
    pub price_tables: Vec<PriceTable>,
    /// The closed periods, in order, contiguous from the origin; the open
    /// period starts at the end of the last (or at the origin).
    pub closed_periods: Vec<Period>,
    /// The instances the meter holds state for, by source (the default
    /// first, then by name), then id.
    pub instances: Vec<MeteredInstance>,
    /// Adjustments recorded in the open period, in the order recorded.
    pub adjustments: Vec<Adjustment>,
    /// The SKUs described with [`Meter::describe_sku`], by SKU (absent
    /// when none is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skus: Vec<SkuInfo>,
    /// The reports of the latest closed periods the meter keeps
    /// ([`MeterConfig::history_periods`]), oldest first (absent when
    /// none; formats 1 and 2 have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<PeriodReport>,
}

/// One instance in a [`MeterSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeteredInstance {
    /// The instance.
    pub id: InstanceId,
    /// The source of its events (absent: the default source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceId>,
    /// The tenant that owns it (that of its first event).
    pub tenant: TenantId,
    /// The app that owns it.
    pub app: AppId,
    /// The time of its latest event, remembered or not.
    pub last_event_at: Timestamp,
    /// Its run at the start of the open period, `None` if stopped.
    pub state_at_open: Option<RunRecord>,
    /// Events of closed periods whose ids are still remembered, to
    /// recognise a replay (back to the horizon), by time, then id. Already
    /// billed; their payload is what a replay must match.
    pub remembered: Vec<EventRecord>,
    /// Its events in the open period (and later), in the order applied: by
    /// time, equal times in arrival order.
    pub events: Vec<EventRecord>,
}

/// A run in a [`MeterSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// When the run started (its rounding and minimum count from there).
    pub started_at: Timestamp,
    /// The requested shape in force, billed.
    pub resources: Resources,
    /// The SKU delivered, if reported.
    pub delivered: Option<SkuId>,
    /// The zone it was delivered in, if its events named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    /// Whether it is idle.
    pub idle: bool,
    /// Whether it is a standby (never together with `idle`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub standby: bool,
}

/// An event of an instance in a [`MeterSnapshot`] (its instance and owner
/// are the [`MeteredInstance`]'s), shaped as in an [`Event`](super::Event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    /// Its id.
    pub id: EventId,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
}

impl Meter {
    /// The whole state, for persistence or replication. See
    /// [`MeterSnapshot`].
    ///
    /// # Examples
    ///
    /// ```
    /// use trimline::metering::*;
    /// use trimline::{InstanceId, Resources, Timestamp};
    ///
    /// let mut meter = Meter::new(MeterConfig::default())?;
    /// meter.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))?;
    /// let start = Event {
    ///     id: EventId(1),
    ///     source: None,
    ///     tenant: "acme".parse()?,
    ///     app: "web".parse()?,
    ///     instance: InstanceId(1),
    ///     at: Timestamp(0),
    ///     kind: EventKind::Started { resources: Resources::cpu_mem(2_000, 4_096)?, delivered: None, zone: None },
    /// };
    /// let now = Timestamp(60_000);
    /// let _ = meter.ingest(&start, now)?;
    ///
    /// // Store it anywhere serde writes to; restore it on another replica.
    /// let json = serde_json::to_string(&meter.snapshot())?;
    /// let mut replica = Meter::restore(serde_json::from_str(&json)?)?;
    /// assert_eq!(serde_json::to_string(&replica.snapshot())?, json);
    ///
    /// // The replica remembers the event and bills the same.
    /// assert_eq!(replica.ingest(&start, now)?, Ingested::Duplicate);
    /// assert_eq!(replica.close_period(now, now)?, meter.close_period(now, now)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&self) -> MeterSnapshot {
        // Sources by name, the default first.
        let mut sources: Vec<(Option<&SourceId>, &Source)> = self
            .sources
            .iter()
            .enumerate()
            .map(|(ix, s)| (self.source_name(ix), s))
            .collect();
        sources.sort_unstable_by_key(|(name, _)| *name);
        let mut instances = Vec::with_capacity(self.tracked_instances());
        for (name, source) in sources {
            self.snapshot_source(name, source, &mut instances);
        }
        MeterSnapshot {
            format: METER_SNAPSHOT_FORMAT,
            config: self.config.clone(),
            price_tables: self.prices.tables().to_vec(),
            closed_periods: self.closed.clone(),
            instances,
            adjustments: self.adjustments.iter().map(|(_, a)| a.clone()).collect(),
            skus: self.sku_info.values().cloned().collect(),
            history: self.history.to_vec(),
        }
    }

    /// The instances of one source, by id, appended to `instances`.
    fn snapshot_source(
        &self,
        name: Option<&SourceId>,
        source: &Source,
        instances: &mut Vec<MeteredInstance>,
    ) {
        let open_start = self.open_start;
        // The ids of events whose ids are not derived: those of the open
        // period, to match with the instances' events (identical events
        // take their ids in ascending order, which nothing can tell
        // apart), and those of closed periods, listed as remembered.
        let mut open_ids: BTreeMap<(InstanceId, Timestamp, u64), Vec<EventId>> = BTreeMap::new();
        let mut closed_ids: BTreeMap<InstanceId, Vec<EventRecord>> = BTreeMap::new();
        for (&id, s) in &source.seen {
            if s.ev.at >= open_start {
                open_ids
                    .entry((s.instance, s.ev.at, s.ev.bits))
                    .or_default()
                    .push(id);
            } else {
                closed_ids
                    .entry(s.instance)
                    .or_default()
                    .push(self.record(id, &s.ev));
            }
        }
        for ids in open_ids.values_mut() {
            // Taken from the back: smallest first.
            ids.sort_unstable_by(|a, b| b.cmp(a));
        }

        let mut slots: Vec<&Slot> = source.instances.0.iter().collect();
        slots.sort_unstable_by_key(|s| s.id);
        for Slot { id, inst } in slots {
            let id = *id;
            let Some((tenant, app)) = self.apps.get_index(inst.app as usize) else {
                continue; // every instance's owner is interned
            };
            let open = inst.open as usize;
            let mut remembered: Vec<EventRecord> = inst.events[..open.min(inst.events.len())]
                .iter()
                .map(|ev| self.record(derived_id(id, ev), ev))
                .chain(closed_ids.remove(&id).unwrap_or_default())
                .collect();
            remembered.sort_unstable_by_key(|r| (r.at, r.id));
            let events = inst
                .buffer()
                .iter()
                .map(|ev| {
                    let event_id = if ev.is_foreign() {
                        // Every event of the open period whose id is not
                        // derived has its id in `seen`.
                        open_ids
                            .get_mut(&(id, ev.at, ev.bits))
                            .and_then(Vec::pop)
                            .unwrap_or_default()
                    } else {
                        derived_id(id, ev)
                    };
                    self.record(event_id, ev)
                })
                .collect();
            instances.push(MeteredInstance {
                id,
                source: name.cloned(),
                tenant: tenant.clone(),
                app: app.clone(),
                last_event_at: inst.last,
                state_at_open: inst.carry.get().map(|run| {
                    let d = self.catalog.delivery(run.sku);
                    RunRecord {
                        started_at: run.start,
                        resources: self.catalog.shape(run.shape),
                        delivered: d.sku,
                        zone: d.zone,
                        idle: run.mode == Mode::Idle,
                        standby: run.mode == Mode::Standby,
                    }
                }),
                remembered,
                events,
            });
        }
    }

    /// The name of the SKU of index `sku` ([`NO_SKU`](super::NO_SKU):
    /// none).
    #[cfg(test)]
    pub(super) fn sku_name(&self, sku: u32) -> Option<SkuId> {
        self.catalog.delivery(sku).sku
    }

    /// A packed event, named.
    fn record(&self, id: EventId, ev: &Ev) -> EventRecord {
        let kind = match ev.op() {
            Op::Start { shape, sku } => {
                let d = self.catalog.delivery(sku);
                EventKind::Started {
                    resources: self.catalog.shape(shape),
                    delivered: d.sku,
                    zone: d.zone,
                }
            }
            Op::Resize { shape, sku } => {
                let d = self.catalog.delivery(sku);
                EventKind::Resized {
                    resources: self.catalog.shape(shape),
                    delivered: d.sku,
                    zone: d.zone,
                }
            }
            Op::Stop => EventKind::Stopped,
            Op::Idle => EventKind::Idle,
            Op::Active => EventKind::Active,
            Op::Standby => EventKind::Standby,
        };
        EventRecord {
            id,
            at: ev.at,
            kind,
        }
    }

    /// Rebuild a meter from a snapshot, checking everything it cannot
    /// trust: the format, the configuration and price tables (as
    /// [`Meter::new`] and [`Meter::add_price_table`] would), the periods,
    /// each instance's record and events, every id, and the adjustments.
    /// On success the meter writes the same snapshot and behaves exactly as
    /// the one that wrote it.
    pub fn restore(snapshot: MeterSnapshot) -> Result<Meter, MeterRestoreError> {
        if !(1..=METER_SNAPSHOT_FORMAT).contains(&snapshot.format) {
            return Err(MeterRestoreError::Format {
                found: snapshot.format,
                expected: METER_SNAPSHOT_FORMAT,
            });
        }
        let mut m = Meter::new(snapshot.config)?;
        // No period is closed yet: only the tables' validity and order are
        // checked, as when they were added.
        for table in snapshot.price_tables {
            m.add_price_table(table)?;
        }
        for info in snapshot.skus {
            if m.sku_info
                .last_key_value()
                .is_some_and(|(last, _)| *last >= info.sku)
            {
                return Err(MeterRestoreError::SkuOrder { sku: info.sku });
            }
            m.describe_sku(info)?;
        }
        for (index, p) in snapshot.closed_periods.iter().enumerate() {
            let bad = |what| Err(MeterRestoreError::Period { index, what });
            if p.id.0 != index as u64 {
                return bad("its id is not its position");
            }
            if p.start != m.open_start {
                return bad("it does not start where the period before ends (or at the origin)");
            }
            if p.end <= p.start {
                return bad("it does not end after it starts");
            }
            m.closed.push(*p);
            m.open_start = p.end;
        }
        if snapshot.format < 3 && !snapshot.history.is_empty() {
            return Err(MeterRestoreError::History {
                index: 0,
                what: "formats before 3 have no history",
            });
        }
        m.restore_history(snapshot.history)?;
        if !m.closed.is_empty() {
            // As closing each period left it: ends only grow.
            let window = m.config.adjustment_window_ms;
            m.horizon = m
                .horizon
                .max(Timestamp(m.open_start.0.saturating_sub(window)));
        }

        let mut ids: Set<(usize, EventId)> = Set::default();
        let mut previous: Option<(Option<SourceId>, InstanceId)> = None;
        for rec in snapshot.instances {
            if let Some((_, previous)) = previous
                .as_ref()
                .filter(|(s, p)| (rec.source.as_ref(), rec.id) <= (s.as_ref(), *p))
            {
                return Err(MeterRestoreError::InstanceOrder {
                    instance: rec.id,
                    previous: *previous,
                });
            }
            previous = Some((rec.source.clone(), rec.id));
            let ix = match m.source_index(rec.source.as_ref()) {
                Some(ix) => ix,
                None => {
                    let hint = index_u32(m.source_names.len(), "source count")?;
                    if let Some(name) = &rec.source {
                        m.source_hints.set(name.as_str(), hint);
                        m.source_names.insert(name.clone());
                    }
                    m.sources.push(Source::default());
                    m.sources.len() - 1
                }
            };
            let slot = m.restore_instance(rec, ix, &mut ids)?;
            if let Some(source) = m.sources.get_mut(ix) {
                match source.instances.entry(slot.id) {
                    hashbrown::hash_table::Entry::Vacant(v) => {
                        v.insert(slot);
                    }
                    // Ids increase strictly within a source (checked
                    // above).
                    hashbrown::hash_table::Entry::Occupied(_) => {}
                }
            }
        }

        let open_id = m.closed.len() as u64;
        for (index, a) in snapshot.adjustments.into_iter().enumerate() {
            let bad = |what| {
                Err(MeterRestoreError::Adjustment {
                    index,
                    event: a.event,
                    what,
                })
            };
            if a.recorded_in.0 != open_id {
                return bad("recorded_in is not the open period");
            }
            if a.corrects.0 >= open_id {
                return bad("corrects is not a closed period");
            }
            let Ok(table) = m
                .prices
                .tables()
                .binary_search_by_key(&a.price_version, |t| t.version)
            else {
                return bad("price_version is not the version of a price table");
            };
            if a.usage.is_zero() {
                return bad("its usage is zero");
            }
            if (a.sku.is_some() || a.zone.is_some())
                && m.prices.table(table as TableIx).sku_rates.is_empty()
            {
                return bad("it names a SKU or zone but its price table has no SKU rates");
            }
            let Some(source) = m.source(a.source.as_ref()) else {
                return bad("its instance is not on record");
            };
            let Some(inst) = source.instances.get(a.instance) else {
                return bad("its instance is not on record");
            };
            let owned = m
                .apps
                .get_index(inst.app as usize)
                .is_some_and(|(t, p)| *t == a.tenant && *p == a.app);
            if !owned {
                return bad("its tenant and app are not its instance's");
            }
            let remembered = match source.seen.get(&a.event) {
                Some(s) => s.instance == a.instance && s.ev.at < m.open_start,
                None => {
                    let (owner, at, code, key) = a.event.fields();
                    owner == a.instance
                        && inst
                            .remembered(at, code, key)
                            .is_some_and(|ev| ev.at < m.open_start)
                }
            };
            if !remembered {
                return bad("its event is not remembered in a closed period of its instance");
            }
            // Fewer tables than `TableIx::MAX`: each got its index when added.
            m.adjustments.push((table as TableIx, a));
        }
        Ok(m)
    }

    /// Check one instance's record, intern its names and remember its
    /// events' ids; its slot, to insert.
    fn restore_instance(
        &mut self,
        rec: MeteredInstance,
        source: usize,
        ids: &mut Set<(usize, EventId)>,
    ) -> Result<Slot, MeterRestoreError> {
        let instance = rec.id;
        let (open_start, horizon) = (self.open_start, self.horizon);
        let bad_event = |r: &EventRecord, what| {
            Err(MeterRestoreError::Event {
                instance,
                id: r.id,
                at: r.at,
                what,
            })
        };
        let bad = |what| Err(MeterRestoreError::Instance { instance, what });

        let owner = (rec.tenant, rec.app);
        let app = match self.apps.get_index_of(&owner) {
            // Interned indices were checked to fit when interned.
            Some(i) => i as u32,
            None => {
                let i = index_u32(self.apps.len(), "app count")?;
                self.app_hints.set(owner.1.as_str(), i);
                self.apps.insert(owner);
                i
            }
        };

        let carry = match &rec.state_at_open {
            None => None,
            Some(run) => {
                if run.started_at < self.config.origin || run.started_at >= open_start {
                    return bad("state_at_open did not start in a closed period");
                }
                if run.started_at > rec.last_event_at {
                    return bad("state_at_open started after last_event_at");
                }
                let mode = match (run.idle, run.standby) {
                    (false, false) => Mode::Active,
                    (true, false) => Mode::Idle,
                    (false, true) => Mode::Standby,
                    (true, true) => return bad("state_at_open is both idle and standby"),
                };
                let kind = EventKind::Started {
                    resources: run.resources,
                    delivered: run.delivered.clone(),
                    zone: run.zone.clone(),
                };
                let Op::Start { shape, sku } = self.intern(&kind)? else {
                    return bad("state_at_open is not a run"); // a start is a start
                };
                Some(Run {
                    start: run.started_at,
                    shape,
                    mode,
                    sku,
                })
            }
        };

        let mut events: SmallVec<[Ev; INLINE_EVENTS]> =
            SmallVec::with_capacity(rec.remembered.len() + rec.events.len());
        let mut latest = Timestamp::ZERO;
        let mut last_key: Option<(Timestamp, EventId)> = None;
        for r in &rec.remembered {
            if r.at < horizon || r.at >= open_start {
                return bad_event(
                    r,
                    "a remembered event is not between the horizon and the open period",
                );
            }
            if last_key.is_some_and(|k| (r.at, r.id) <= k) {
                return bad_event(r, "remembered events are not listed by time, then id");
            }
            last_key = Some((r.at, r.id));
            if !ids.insert((source, r.id)) {
                return Err(MeterRestoreError::DuplicateId { id: r.id });
            }
            let op = self.intern(&r.kind)?;
            latest = latest.max(r.at);
            match derived_key(instance, r) {
                Some(key) => events.push(Ev::new(r.at, op, key)),
                None => {
                    let ev = Ev::new(r.at, op, FOREIGN);
                    self.seen_of(source).insert(r.id, Seen { instance, ev });
                }
            }
        }
        let open = events.len();

        let mut tail = carry;
        for r in &rec.events {
            if r.at < open_start {
                return bad_event(r, "an event of the open period is before its start");
            }
            if r.at < latest {
                return bad_event(r, "events of the open period are not in time order");
            }
            latest = r.at;
            if !ids.insert((source, r.id)) {
                return Err(MeterRestoreError::DuplicateId { id: r.id });
            }
            let op = self.intern(&r.kind)?;
            let key = derived_key(instance, r);
            let ev = Ev::new(r.at, op, key.unwrap_or(FOREIGN));
            tail = step(tail, &ev, instance)?;
            if key.is_none() {
                self.seen_of(source).insert(r.id, Seen { instance, ev });
            }
            events.push(ev);
        }
        // Positions in `events` are kept in `u32`s.
        let open = index_u32(open, "events of an instance")?;
        index_u32(events.len(), "events of an instance")?;
        self.derived_ids += events.iter().filter(|e| !e.is_foreign()).count();

        // The latest event is remembered (or in the open period) until the
        // horizon passes it.
        let last = rec.last_event_at;
        let any = !(rec.remembered.is_empty() && rec.events.is_empty());
        if any && last < latest {
            return bad("last_event_at is before one of its events");
        }
        if last >= horizon && (!any || last != latest) {
            return bad("last_event_at is not the time of its latest event");
        }
        if carry.is_none() && rec.events.is_empty() && last < horizon {
            return bad(
                "it is stopped with no event since the horizon: the meter forgets such an instance",
            );
        }
        Ok(Slot {
            id: instance,
            inst: Inst {
                app,
                open,
                last,
                carry: State::of(carry),
                tail: State::of(tail),
                events,
            },
        })
    }

    /// The remembered ids of the source of index `ix`, which exists.
    fn seen_of(&mut self, ix: usize) -> &mut crate::hash::Map<EventId, Seen> {
        if self.sources.len() <= ix {
            // Not reached: restore adds each source before its instances.
            self.sources.resize_with(ix + 1, Source::default);
        }
        &mut self.sources[ix].seen
    }

    /// The compact op of an event kind, its shape and SKU interned.
    fn intern(&mut self, kind: &EventKind) -> Result<Op, MeterError> {
        let (op, new) = self.catalog.op_of(kind)?;
        self.catalog.commit(kind, op, new);
        Ok(op)
    }
}

/// The occurrence the id of `r`, an event of `instance`, encodes if it is
/// [`EventId::derived`] from the event itself.
fn derived_key(instance: InstanceId, r: &EventRecord) -> Option<u16> {
    let (owner, at, code, key) = r.id.fields();
    (owner == instance && at == r.at && code == r.kind.code()).then_some(key)
}

/// The derived id of `ev`, an event of `instance` whose id is derived.
fn derived_id(instance: InstanceId, ev: &Ev) -> EventId {
    EventId::from_fields(instance, ev.at, ev.code(), ev.key())
}
