//! Metering events, their ids, and the bridge from the scheduler's
//! [`Decisions`] to events.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::decision::Decisions;
use crate::ids::{AppId, InstanceId, SkuId, SourceId, TenantId, ZoneId};
use crate::query::InstanceStatus;
use crate::resources::Resources;
use crate::scheduler::Scheduler;
use crate::standby::StandbyMark;
use crate::time::Timestamp;

use super::error::MeterError;

/// An event's id, chosen by whoever emits the event. Ingesting the same id
/// twice with the same payload is a no-op; with a different payload it is a
/// [`MeterError::Conflict`].
///
/// [`EventId::derived`] builds ids from (instance, kind, time, occurrence),
/// so that events re-derived from the same decisions get the same ids.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct EventId(pub u128);

impl Hash for EventId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Two words rather than sixteen bytes: one step each for a word
        // hasher. Equal ids write equal words, as `Eq` requires.
        state.write_u64(self.0 as u64);
        state.write_u64((self.0 >> 64) as u64);
    }
}

impl EventId {
    /// Largest time (exclusive) a derived id can encode: 2⁴⁸ ms, about the
    /// year 10,889.
    pub const DERIVED_TIME_LIMIT: u64 = 1 << 48;
    /// Largest occurrence (exclusive) a derived id can encode.
    pub const DERIVED_OCCURRENCE_LIMIT: u32 = 1 << 12;

    /// The id of the `occurrence`-th (from 0) event of `kind` for
    /// `instance` at `at`: the instance in the top 64 bits, then the time in
    /// 48 bits, the kind in 4 and the occurrence in 12. Embedders that mix
    /// their own ids with derived ones should keep theirs out of this
    /// layout (a collision is reported as a [`MeterError::Conflict`], never
    /// silently merged, unless the payloads are equal too).
    pub fn derived(
        instance: InstanceId,
        kind: &EventKind,
        at: Timestamp,
        occurrence: u32,
    ) -> Result<EventId, MeterError> {
        if at.0 >= Self::DERIVED_TIME_LIMIT || occurrence >= Self::DERIVED_OCCURRENCE_LIMIT {
            return Err(MeterError::IdOutOfRange {
                instance,
                at,
                occurrence,
            });
        }
        // Both fit: checked above.
        Ok(EventId::from_fields(
            instance,
            at,
            kind.code(),
            occurrence as u16,
        ))
    }

    /// The id [`EventId::derived`] lays out from these fields (the time
    /// below [`EventId::DERIVED_TIME_LIMIT`], the occurrence below
    /// [`EventId::DERIVED_OCCURRENCE_LIMIT`]); [`EventId::fields`] reads
    /// them back.
    pub(super) const fn from_fields(
        instance: InstanceId,
        at: Timestamp,
        code: u8,
        occurrence: u16,
    ) -> EventId {
        EventId(
            ((instance.0 as u128) << 64)
                | ((at.0 as u128) << 16)
                | ((code as u128) << 12)
                | occurrence as u128,
        )
    }

    /// The id's bits read as [`EventId::derived`] lays them out: (instance,
    /// time, kind code, occurrence). Any id can be read so; only a derived
    /// one reads back as its own event.
    pub(super) const fn fields(self) -> (InstanceId, Timestamp, u8, u16) {
        (
            InstanceId((self.0 >> 64) as u64),
            Timestamp(((self.0 >> 16) as u64) & (Self::DERIVED_TIME_LIMIT - 1)),
            ((self.0 >> 12) & 0xf) as u8,
            (self.0 & 0xfff) as u16,
        )
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ev-{:032x}", self.0)
    }
}

/// What happened to the instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum EventKind {
    /// A run begins, active, with this requested shape.
    Started {
        /// The requested shape: what is billed.
        resources: Resources,
        /// The SKU actually delivered, for audit and for the SKU rates
        /// that select it.
        delivered: Option<SkuId>,
        /// The zone or region it was delivered in, if the emitter knows
        /// it: zone rates then select on this zone instead of the zone the
        /// SKU is described with ([`SkuInfo::zone`](super::SkuInfo::zone)).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<ZoneId>,
    },
    /// The run ends. Nothing is billed after it.
    Stopped,
    /// From now on the instance is idle: CPU (and memory, if the price
    /// table says so) is billed at the idle rate. Idle while idle changes
    /// nothing.
    Idle,
    /// From now on the instance is active (a standby starts, or an idle
    /// instance works again). Active while active changes nothing.
    Active,
    /// The requested shape changes; the run goes on (its minimum and
    /// rounding still apply once, at its end).
    Resized {
        /// The new requested shape.
        resources: Resources,
        /// The SKU now delivered, for audit; `None` keeps the last one
        /// (and its zone, unless `zone` is set).
        delivered: Option<SkuId>,
        /// The zone or region it is now delivered in, as in `started`.
        /// When both this and `delivered` are `None`, the last SKU and
        /// zone are kept; when either is set, the two together replace
        /// them (a `None` then means not reported).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<ZoneId>,
    },
    /// From now on the instance is a standby: created and stopped, holding
    /// its capacity until it starts ([`Active`](EventKind::Active)) or is
    /// removed ([`Stopped`](EventKind::Stopped)). Its CPU is not billed,
    /// its memory is billed at the standby memory rate
    /// ([`PriceTable::standby_memory_nanos_per_gib_second`](super::PriceTable::standby_memory_nanos_per_gib_second)),
    /// and its accelerators, held but unused, as idle accelerators. A
    /// standby is created with a `started` event followed, at the same
    /// time, by a `standby` event ([`decision_events`] emits both).
    /// Standby while standby changes nothing; `idle` makes it idle.
    Standby,
}

impl EventKind {
    /// Short name: `started`, `stopped`, `idle`, `active`, `resized`,
    /// `standby`.
    pub const fn name(&self) -> &'static str {
        match self {
            EventKind::Started { .. } => "started",
            EventKind::Stopped => "stopped",
            EventKind::Idle => "idle",
            EventKind::Active => "active",
            EventKind::Resized { .. } => "resized",
            EventKind::Standby => "standby",
        }
    }

    pub(super) const fn code(&self) -> u8 {
        match self {
            EventKind::Started { .. } => code::STARTED,
            EventKind::Stopped => code::STOPPED,
            EventKind::Idle => code::IDLE,
            EventKind::Active => code::ACTIVE,
            EventKind::Resized { .. } => code::RESIZED,
            EventKind::Standby => code::STANDBY,
        }
    }
}

/// The code of each kind of event, in derived event ids and in the meter's
/// packed events (one list, so the two cannot disagree).
pub(super) mod code {
    pub(in crate::metering) const STARTED: u8 = 1;
    pub(in crate::metering) const STOPPED: u8 = 2;
    pub(in crate::metering) const IDLE: u8 = 3;
    pub(in crate::metering) const ACTIVE: u8 = 4;
    pub(in crate::metering) const RESIZED: u8 = 5;
    pub(in crate::metering) const STANDBY: u8 = 6;
}

/// One instance lifecycle event, with the embedder's timestamp.
///
/// Its id may be any number unique to the event. An id laid out as
/// [`EventId::derived`] lays out this event's own instance, kind and time
/// (as [`decision_events`] makes them) is the cheapest kind: the meter
/// remembers it with the instance, and recognising a replay costs no
/// lookup beyond the instance's. Other ids are remembered in a table of
/// their own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Its id: the idempotency key, within its source.
    pub id: EventId,
    /// The scheduler or region that emitted it (`None`: the default
    /// source). The meter keys instances, runs, event ids and corrections
    /// by (source, instance), so two sources may use the same instance ids
    /// and event ids without meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceId>,
    /// The tenant billed.
    pub tenant: TenantId,
    /// The app.
    pub app: AppId,
    /// The instance.
    pub instance: InstanceId,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// The occurrence its id encodes, if the id is [`EventId::derived`]
    /// from this very event's instance, kind and time.
    pub(super) const fn derived_occurrence(&self) -> Option<u16> {
        let (instance, at, code, occurrence) = self.id.fields();
        if instance.0 == self.instance.0 && at.0 == self.at.0 && code == self.kind.code() {
            Some(occurrence)
        } else {
            None
        }
    }
}

/// Per-instance tallies gathered from one [`Decisions`].
struct Tally {
    app: AppId,
    /// SKUs of its placements, in order, and whether each placed a
    /// standby.
    placements: SmallVec<[(SkuId, bool); 1]>,
    /// Evictions, and removals from a host.
    stops: u32,
    /// Whether a standby of it started where it was.
    resumed: bool,
}

/// The metering events that one [`Decisions`] implies, at `now` (the time
/// the call that returned them was made): a placement starts a run, an
/// eviction or the removal of a placed instance stops one. A placement of a
/// new standby ([`StandbyMark::Stopped`](crate::StandbyMark::Stopped))
/// starts a run and puts it in standby at once (`started`, then
/// `standby`); a standby that starts where it is
/// ([`StandbyMark::Started`](crate::StandbyMark::Started)) becomes active
/// (`active`). Tentative
/// placements on planned hosts start nothing: their run starts with the
/// placement [`Scheduler::host_ready`] returns. Call it right
/// after the scheduler call, before the next one: the instance's state in
/// `scheduler` orders an instance's starts and stops within the decisions
/// (they alternate and end in that state).
///
/// Events come out by instance id, then in the order they happened. The
/// requested shape is the app's; the delivered SKU is the placement's.
/// Ids are [`EventId::derived`], so deriving again from the same decisions
/// (right after the call, as above) gives the same events, and replaying
/// them into a [`Meter`](super::Meter) changes nothing.
///
/// **The id rule.** An event's occurrence is the number of the instance's
/// runs stopped at `now` before it, by this call and every earlier call at
/// `now`: the scheduler counts them (the counts of the latest millisecond
/// are in its [`Snapshot::stops_at_now`](crate::Snapshot::stops_at_now)).
/// Two starts, or two stops, of one instance at one millisecond always have
/// a stop between them, so events derived from separate calls never share
/// an id: a start, a stop and a start at one millisecond are three events,
/// and the second run is billed. Decisions the scheduler did not make at
/// `now` (a stop it did not count) are [`MeterError::DecisionsMismatch`];
/// an instance stopped 4,096 times in one millisecond is
/// [`MeterError::IdOutOfRange`].
///
/// Note that an eviction followed by a placement ends one run and starts
/// another, each with its own rounding and minimum.
///
/// Events come out from the default source and name no zone. A meter
/// shared by several schedulers (each counting instances from 1) sets each
/// event's [`Event::source`] to the scheduler's; an embedder that knows the
/// zone of a placement may set it in the `started` event.
///
/// # Examples
///
/// ```
/// # use trimline::*;
/// # let mut s = Scheduler::default();
/// # s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
/// # s.add_sku(SkuSpec {
/// #     id: "g7.4xlarge".parse()?, family: "g7".parse()?, generation: 7,
/// #     arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
/// #     allocatable: Resources::cpu_mem(16_000, 65_536)?, perf_score: 100,
/// #     numa_nodes: vec![], features: Default::default(),
/// #     accelerator_model: None, local_disk: None, price_nanos_per_second: 1_000,
/// # }, Timestamp(0))?;
/// # let _ = s.add_host(HostSpec { id: HostId(1), sku: "g7.4xlarge".parse()?, zone: "a".parse()? }, Timestamp(0))?;
/// use trimline::metering::*;
///
/// let web: AppId = "web".parse()?;
/// s.add_app(AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(4_000, 8_192)?), Timestamp(0))?;
/// let mut meter = Meter::new(MeterConfig::default())?;
/// // 10,000 nano-units per vCPU-second, 1,000 per GiB-second.
/// meter.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))?;
///
/// // Meter every call's decisions right after the call.
/// let mut call = |s: &mut Scheduler, target, at| -> Result<(), Box<dyn std::error::Error>> {
///     let d = s.scale(&web, target, Timestamp(at))?;
///     for e in decision_events(&d, s, Timestamp(at))? {
///         let _ = meter.ingest(&e, Timestamp(at))?;
///     }
///     Ok(())
/// };
/// call(&mut s, 2, 1_000)?; // two instances start
/// call(&mut s, 0, 61_000)?; // and stop a minute later: scaled to zero
/// let report = meter.close_period(Timestamp(3_600_000), Timestamp(3_600_000))?;
/// // 2 instances × 60 s × (4 vCPU × 10,000 + 8 GiB × 1,000)
/// assert_eq!(report.invoices[0].total_nanos, 2 * 60 * (4 * 10_000 + 8 * 1_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decision_events(
    decisions: &Decisions,
    scheduler: &Scheduler,
    now: Timestamp,
) -> Result<Vec<Event>, MeterError> {
    fn tally<'a>(
        tallies: &'a mut BTreeMap<InstanceId, Tally>,
        instance: InstanceId,
        app: &AppId,
    ) -> &'a mut Tally {
        tallies.entry(instance).or_insert_with(|| Tally {
            app: app.clone(),
            placements: SmallVec::new(),
            stops: 0,
            resumed: false,
        })
    }
    let mut tallies: BTreeMap<InstanceId, Tally> = BTreeMap::new();
    for p in &decisions.placements {
        let t = tally(&mut tallies, p.instance, &p.app);
        match p.standby {
            Some(StandbyMark::Started) => t.resumed = true,
            mark => t
                .placements
                .push((p.sku.clone(), mark == Some(StandbyMark::Stopped))),
        }
    }
    // Instances on planned hosts never started: leaving one stops nothing.
    for e in &decisions.evictions {
        if !e.host.is_planned() {
            tally(&mut tallies, e.instance, &e.app).stops += 1;
        }
    }
    for r in &decisions.removals {
        if r.host.is_some_and(|h| !h.is_planned()) {
            tally(&mut tallies, r.instance, &r.app).stops += 1;
        }
    }

    let mut out = Vec::new();
    for (instance, t) in tallies {
        let spec = scheduler
            .app(&t.app)
            .ok_or_else(|| MeterError::UnknownApp(t.app.clone()))?;
        let running = matches!(
            scheduler.instance(instance).map(|v| v.status),
            Some(InstanceStatus::Placed { .. })
        );
        // Starts and stops alternate and end in the current state.
        let starts = t.placements.len() as u64;
        let stops = u64::from(t.stops);
        let consistent = if running {
            starts == stops + 1 || starts == stops
        } else {
            stops == starts + 1 || stops == starts
        };
        let n = starts + stops;
        // The runs of the instance stopped at `now` before these decisions:
        // the scheduler counts every stop at `now`, these decisions' too.
        let stopped_before = scheduler.stops_at(instance, now).checked_sub(t.stops);
        let (true, Some(mut stopped)) = (consistent, stopped_before) else {
            return Err(MeterError::DecisionsMismatch { instance });
        };
        // The first event is a start iff the count of starts is the larger,
        // or they are equal and the instance ends stopped.
        let mut start_next = starts > stops || (starts == stops && !running);
        let mut skus = t.placements.into_iter();
        let mut push = |kind: EventKind, occurrence: u32| -> Result<(), MeterError> {
            out.push(Event {
                id: EventId::derived(instance, &kind, now, occurrence)?,
                source: None,
                tenant: spec.tenant.clone(),
                app: t.app.clone(),
                instance,
                at: now,
                kind,
            });
            Ok(())
        };
        // A standby that starts was running (as a standby) before the call.
        if t.resumed {
            push(EventKind::Active, stopped)?;
        }
        for _ in 0..n {
            // Each event's occurrence is the count of the instance's runs
            // stopped at `now` before it: two starts (or two stops) at one
            // millisecond have a stop between them, so never share one.
            if start_next {
                let (delivered, standby) = skus.next().unzip();
                let k = EventKind::Started {
                    resources: spec.resources,
                    delivered,
                    zone: None,
                };
                push(k, stopped)?;
                if standby == Some(true) {
                    push(EventKind::Standby, stopped)?;
                }
            } else {
                push(EventKind::Stopped, stopped)?;
                stopped = stopped.saturating_add(1);
            }
            start_next = !start_next;
        }
    }
    Ok(out)
}
