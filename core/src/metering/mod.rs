//! # Metering: per-second usage and exact money
//!
//! The [`Meter`] turns instance lifecycle [`Event`]s into usage records and
//! invoices, exact to the last unit. Like the rest of the crate it does no
//! I/O and reads no clock: the embedder passes its time (`now`) to every
//! call and decides when a period closes. Money is `i128` nano-units with
//! checked arithmetic; there is no float anywhere.
//!
//! ```text
//!   embedder                                 Meter
//!   ────────                                 ─────
//!   add_price_table(PriceTable) ──────────▶  versioned price book
//!   ingest(&Event, now) ──────────────────▶  Ingested::{Applied, Duplicate, Adjusted}
//!   ingest_batch(&[Event], now) ──────────▶  BatchIngested { results, refused }
//!     (decision_events(&Decisions, ..) turns scheduler decisions into events)
//!   close_period(end, now) ───────────────▶  PeriodReport { usage records,
//!                                              adjustments, invoices }
//!   snapshot() / Meter::restore(snapshot) ◀─▶  MeterSnapshot (serde)
//! ```
//!
//! ## Events and the lifecycle
//!
//! An instance is stopped until `started`; then it runs, active, until
//! `stopped`. While it runs, `idle` and `active` switch the rate CPU is
//! billed at (they are levels, not toggles: `idle` while idle changes
//! nothing), and `resized` changes the requested shape. A `started` while
//! running is [`MeterError::AlreadyRunning`]; any other event while stopped
//! is [`MeterError::NotRunning`]. Usage is billed on the *requested* shape
//! ([`EventKind::Started::resources`](EventKind::Started)); the SKU actually
//! delivered is carried along and reported per SKU in
//! [`UsageRecord::delivered`], for audit only. Only `started` and `resized`
//! carry a shape and a delivered SKU; the other events act on the shape in
//! force. An instance belongs to the
//! tenant and app of its first event; later events naming another owner are
//! [`MeterError::OwnerMismatch`].
//!
//! **Idempotence.** Every event has an [`EventId`]. Ingesting an id again
//! with the same payload returns [`Ingested::Duplicate`] and changes
//! nothing; with another payload it is [`MeterError::Conflict`]. An event is
//! validated completely before anything changes, and it is marked seen in
//! the same step that applies it, so a refused event leaves no trace and can
//! be sent again once its cause is fixed. Ids [`EventId::derived`] from the
//! event itself (its instance, kind and time, as [`decision_events`] makes
//! them) are remembered with the instance's events, at no cost beyond
//! them; other ids in a table of their own. The two kinds follow the same
//! rules, together: an id taken by an event of either kind is a conflict
//! for any other event.
//!
//! **Sources.** The meter's key is (source, instance), not the instance
//! alone: an event names its [`Event::source`] (the scheduler or region
//! that emitted it; `None` is the default source), and two sources may
//! use the same instance ids and event ids without meeting. Runs,
//! idempotence (an event id is a duplicate or a conflict only within its
//! source: [`EventId::derived`] ids of two schedulers counting from 1
//! collide by construction), lateness and corrections are all per
//! source. Usage records, invoice lines and adjustments name the source.
//!
//! [`decision_events`] gives an event the occurrence of the instance's runs
//! stopped at that millisecond before it (the scheduler counts them), so a
//! start, a stop and a start of one instance at one millisecond, by three
//! separate calls, are three events with three ids, and the second run is
//! billed; deriving again from the same decisions gives the same ids.
//!
//! **Time.** All intervals are half-open, `[from, to)`, in milliseconds.
//! Events of one instance must come in time order, with two exceptions:
//!
//! * an event older than the instance's latest is slotted into place if it
//!   falls in the open period and is at most
//!   [`MeterConfig::allowed_lateness_ms`] older than the latest (the events
//!   after it are re-validated with it in place); otherwise it is
//!   [`MeterError::OutOfOrder`];
//! * an event that is not older than the instance's latest but falls in a
//!   closed period (the instance's stop arrives after the period closed,
//!   say) becomes an [`Adjustment`], below.
//!
//! Events equal in time keep their arrival order. Because idle and active
//! are levels, `idle`, `active` and `resized` may be delayed freely within
//! the allowance; a `started` or `stopped` that arrives after later events
//! of its instance may be refused, since those were validated without it. An event later than
//! `now + `[`MeterConfig::max_clock_skew_ms`] is
//! [`MeterError::AheadOfWatermark`]. An event before the *horizon* (the
//! origin, then the end of the last closed period minus
//! [`MeterConfig::adjustment_window_ms`]) is [`MeterError::BeforeHorizon`]:
//! event ids are remembered back to the horizon and no further, so an event
//! that old could be a replay the meter can no longer recognise, and it is
//! refused rather than counted twice.
//!
//! ## Runs, rounding and minimums
//!
//! A *run* is the time from `started` to `stopped`. Every millisecond of it
//! is billed in the period and at the price in force at that millisecond.
//! Rounding and the minimum apply once per run, when it stops: the run's
//! whole duration `d` (ms) is rounded as the price table in force at the
//! stop says ([`SubSecond::RoundUp`] to whole billing increments, one
//! second by default, a minute for per-minute billing or an hour for hourly
//! cycles with [`PriceTable::billing_increment_seconds`]; or
//! [`SubSecond::Exact`]), the table's minimum is applied, and the
//! difference, the *top-up* (`max(round(d), minimum) − d`, never
//! negative), is billed in the period that holds the stop, at the prices in
//! force at the stop, in the run's last shape and activity. A run of 30.2 s
//! under a 60 s minimum is billed 30.2 s as it runs plus a 29.8 s top-up
//! at its stop; a run of 0 ms is billed nothing (no phantom minimum).
//! Because pieces are exact milliseconds and rounding happens once, cutting
//! a run at a period boundary or a price change anywhere gives exactly the
//! same total. A stopped instance costs exactly zero.
//!
//! ## Prices
//!
//! [`PriceTable`]s are versioned: the table in force at `t` is the newest
//! version among those effective at or before `t`. A table must be newer
//! than every table before it and may not take effect before the end of
//! the last closed period ([`MeterError::PriceInClosedPeriod`]), so a
//! closed period is never repriced. A change inside a period splits the usage at the change.
//! Idle instances pay the idle CPU rate; memory is not discounted unless the
//! table sets an idle memory rate (without one, idle memory is billed on the
//! memory line, and no idle memory line appears); accelerators are not
//! discounted unless the table sets an idle accelerator rate
//! ([`PriceTable::idle_accelerator_nanos_per_second`]; without one, idle
//! accelerators are billed on the accelerator line).
//!
//! Standby instances (created and stopped, holding their capacity: a
//! [`EventKind::Standby`] event after the start, as [`decision_events`]
//! emits for a standby the scheduler places) pay no CPU. Their memory is
//! billed at the standby memory rate
//! ([`PriceTable::standby_memory_nanos_per_gib_second`], at most the memory
//! rate; without one, at the memory rate, on the memory line), and their
//! accelerators, held but unused, as idle accelerators. A standby that
//! starts (`active`) goes on in the same run, so a run's minimum and
//! rounding count from its creation, and a run that ends in standby pays
//! its top-up at the standby rates, as a run that ends idle pays it at the
//! idle rates.
//!
//! A table's rates are quoted per second, minute or hour
//! ([`PriceTable::rates_per`]), as the price book publishes them, and kept
//! exact at that unit: $0.04048 per vCPU-hour is 40,480,000 nano-units per
//! vCPU-hour, not a per-second rate rounded to 11,244. Only the invoice
//! total is rounded.
//!
//! A table may carry per-tenant plans ([`PriceTable::plans`],
//! [`TenantPlan`]): a discount in basis points off every rate of the
//! table, for a tenant or for one app of a tenant. Precedence is fixed:
//! the plan naming the line's tenant and app, else the plan naming its
//! tenant and no app, else list prices; two plans for the same (tenant,
//! app) are refused. Every discounted rate must be a whole number of
//! nano-units ([`PriceError::InexactDiscount`]), so money stays exact and
//! the invoice line shows the rate actually applied. Plans are priced at
//! invoice time and cost ingest nothing; a plan change is a new table
//! version, so it splits a period exactly like any price change.
//!
//! **Prices by what was delivered.** Usage is billed on the requested
//! shape, but the rate may follow the SKU that delivered it. The meter is
//! told each SKU's family, architecture, accelerator model and zone once
//! ([`Meter::describe_sku`], [`SkuInfo`]; events name the SKU in
//! `delivered`), and a table's [`SkuRate`]s replace its rates for the SKUs
//! their selector matches: ARM cheaper than x86, a GPU model at its own
//! rate, one zone dearer. The most specific matching selector wins,
//! comparing `sku`, then `family`, `accelerator_model`, `arch`, `zone`
//! (see [`SkuRate`]); a tenant plan then discounts that rate. A table
//! with SKU rates bills each delivered SKU on lines of its own
//! ([`InvoiceLine::sku`]); a run moved to another SKU by a `resized`
//! event pays each SKU's rate for its time on it, and its top-up the rate
//! of the SKU it stops on. SKU rates are part of the table, so changing
//! them is a new table version that splits the period like any price
//! change. Usage on a SKU the meter was not told about matches only a
//! selector naming the SKU itself; usage that reported no SKU pays the
//! table's own rates, unless its event named a zone.
//!
//! **Zones per event.** A `started` or `resized` event may name the zone
//! it was delivered in ([`EventKind::Started`]'s `zone`); zone selectors
//! then compare that zone instead of the one the SKU is described with,
//! so one SKU delivered in two zones pays each zone's rate, on lines of
//! its own ([`InvoiceLine::zone`]). A `resized` that names neither SKU
//! nor zone keeps both; one that names either replaces both.
//!
//! ## Periods, usage records and adjustments
//!
//! [`Meter::close_period`] closes the open period `[start, end)` and
//! returns a [`PeriodReport`]: one [`UsageRecord`] per (tenant, app) with
//! usage, split by price version; the [`Adjustment`]s recorded while the
//! period was open; and one [`Invoice`] per tenant. The report is the
//! period's final word: the meter keeps nothing that could change it.
//!
//! **History.** The meter keeps the reports of the last
//! [`MeterConfig::history_periods`] closed periods (twelve by default; the
//! oldest is dropped first; 0 keeps none), exactly as they were returned:
//! [`Meter::history`], [`Meter::closed_report`], [`Meter::closed_invoice`].
//! They are in the snapshot, so a restored meter answers the same. A late
//! correction never changes a kept report: it is in the report of the
//! period open when it arrived, as below.
//!
//! **Usage export.** [`Meter::usage`] exports the usage of any interval of
//! the open period without closing it or pricing it: exact integer
//! quantities per component, grouped by any of tenant, app, instance,
//! delivered SKU and its zone ([`UsageGroupBy`], [`UsageExportRecord`]),
//! in a documented order. Over the whole period it adds up to the usage
//! records its close reports.
//!
//! A late event for a closed period (within the adjustment window) does not
//! touch that period. The meter computes what the event changes over the
//! closed time, per closed period and price version (for a late `stopped`:
//! the time after the stop taken back, and the run's top-up added), and
//! appends it as an [`Adjustment`] naming the event and the period it
//! corrects. Adjustments are billed on the invoice of the period open when
//! they were recorded, as separate lines priced at the corrected period's
//! prices.
//!
//! ## Invoices
//!
//! Line amounts are kept exact in sub-nano-units ([`SUBNANOS_PER_NANO`] to
//! the nano-unit), in which every millisecond of usage at every integer rate
//! per second, minute or hour is whole. Each invoice's exact total is rounded **once**, by the declared
//! [`InvoiceRule`], and that total is shared among the lines by the
//! largest-remainder method (ties to the earlier line), so the lines sum to
//! the total exactly and no line is off by a unit or more.
//!
//! ## Snapshot and restore
//!
//! [`Meter::snapshot`] writes the whole state as a [`MeterSnapshot`], a
//! versioned serde type ([`METER_SNAPSHOT_FORMAT`]) that names everything
//! rather than copying the packed layout below: the configuration, price
//! tables and closed periods; per instance, its owner, the time of its
//! latest event, its run at the start of the open period, the events of the
//! open period and the events of closed periods whose ids are still
//! remembered, each with its id, shape and SKU; and the pending
//! adjustments. It is canonical (instances by id, remembered events by
//! time then id), so the same state writes the same bytes.
//!
//! [`Meter::restore`] rebuilds the internals (interned names, packed
//! events, the instance table, the id tables, each instance's state after
//! its events, the horizon) and checks everything it cannot trust; a
//! snapshot no sequence of calls could have left is refused with a
//! [`MeterRestoreError`] that says what is wrong and where, never a panic.
//! A restored meter writes the same snapshot, byte for byte, and ingests,
//! refuses, adjusts and invoices exactly like the original. It interns only
//! the shapes and SKUs still in use, and ingests at the same speed.
//!
//! ## Determinism and cost
//!
//! Output is sorted by name (tenant, app, SKU) and version, so the same
//! events and price tables give byte-identical reports, whatever order the
//! instances were first seen in. Ingesting an in-order event with a derived
//! id is one probe of the instances and an append to the instance's event
//! list, with no scan (another id adds a probe of the remembered ids and
//! one of the instances its bits would name); a new instance's tenant, app and
//! SKU are found without hashing their names when the event shares them
//! (as [`decision_events`] does). An instance's record sits in its slot of
//! the instance table, two cache lines with room for its first four events
//! (16 bytes each: shapes and SKUs are interned), so an event that finds
//! its instance touches the record and, past four events, the rest of its
//! list on the heap. Instance ids handed out in sequence land next to each
//! other in the instance table. [`Meter::ingest_batch`] does
//! the same work as one by one, but looks up the next events' instances
//! while it ingests, so that a large meter waits for memory once for
//! several events rather than once for each. [`Meter::reserve`] sizes the
//! maps ahead of a known load. Closing a period walks each instance that
//! ran once and touches each (tenant, app) once.
//!
//! Memory, measured by `benches/src/bin/meter_memory.rs` with derived ids:
//! an instance costs about 150 to 300 bytes with its start and up to three
//! more events (the instance table grows in powers of two), and each
//! further event about 16 to 32 bytes (its place in the instance's event
//! list on the heap, which also remembers its id) until the period closes
//! and the horizon passes it; close periods often enough for the event
//! rate. An id that is
//! not derived adds its entry in the id table (not measured here).
//!
//! ## Example
//!
//! ```
//! use trimline::metering::*;
//! use trimline::{InstanceId, Resources, Timestamp};
//!
//! let mut meter = Meter::new(MeterConfig::default())?;
//! let mut prices = PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0);
//! prices.idle_cpu_nanos_per_vcpu_second = 2_000; // idle vCPU at 0.2x
//! prices.minimum_run_seconds = 60;
//! meter.add_price_table(prices)?;
//!
//! let event = |id, at, kind| Event {
//!     id: EventId(id),
//!     source: None,
//!     tenant: "acme".parse().unwrap(),
//!     app: "web".parse().unwrap(),
//!     instance: InstanceId(1),
//!     at: Timestamp(at),
//!     kind,
//! };
//! let shape = Resources::cpu_mem(2_000, 4_096)?; // 2 vCPU, 4 GiB
//! let now = Timestamp(3_600_000);
//! let start = event(1, 0, EventKind::Started { resources: shape, delivered: None, zone: None });
//! assert_eq!(meter.ingest(&start, now)?, Ingested::Applied);
//! assert_eq!(meter.ingest(&start, now)?, Ingested::Duplicate);
//! let _ = meter.ingest(&event(2, 1_000_000, EventKind::Idle), now)?;
//! let _ = meter.ingest(&event(3, 1_200_500, EventKind::Stopped), now)?;
//!
//! let report = meter.close_period(Timestamp(3_600_000), now)?;
//! // Active: 2 vCPU × 1,000 s × 10,000 = 20,000,000
//! // Idle:   2 vCPU × 201 s (200.5 s rounded up once) × 2,000 = 804,000
//! // Memory: 4 GiB × 1,201 s × 1,000 = 4,804,000
//! assert_eq!(report.invoices[0].total_nanos, 25_608_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Errors are built lazily (`ok_or_else`), even the cheap ones: an eager
// `ok_or(MeterError::Overflow { .. })` builds and drops an error on every
// checked step that succeeds, which was 30% of the instructions of closing
// a period (callgrind, `meter_memory run close`).
#![allow(clippy::unnecessary_lazy_evaluations)]

mod error;
mod event;
mod export;
mod history;
mod invoice;
mod price;
mod sku;
mod snapshot;
mod tiers;
mod usage;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use hashbrown::{HashTable, hash_table};
use indexmap::Equivalent;
use indexmap::map::Entry;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::hash::{Map, Set};
use crate::ids::{AppId, InstanceId, SkuId, SourceId, TenantId, ZoneId};
use crate::resources::Resources;
use crate::time::Timestamp;

pub use error::{MeterError, MeterRestoreError};
use event::code;
pub use event::{Event, EventId, EventKind, decision_events};
pub use export::{UsageExportRecord, UsageGroupBy};
pub use history::DEFAULT_HISTORY_PERIODS;
pub use invoice::{Invoice, InvoiceLine, InvoiceRule, Rounding, SUBNANOS_PER_NANO};
pub use price::{PriceError, PriceTable, RateUnit, SubSecond, TenantPlan};
pub use sku::{SkuInfo, SkuRate, SkuSelector};
pub use snapshot::{EventRecord, METER_SNAPSHOT_FORMAT, MeterSnapshot, MeteredInstance, RunRecord};
use tiers::Piece;
pub use tiers::{FreeQuota, VolumeTier};
use usage::Mode;
pub use usage::{
    Adjustment, Component, DeliveredUsage, Period, PeriodId, PricedUsage, Usage, UsageRecord,
};

use history::History;
use price::{PriceBook, TableIx};

/// Tuning of a [`Meter`]. Every field has a documented default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MeterConfig {
    /// Start of the first period (default 0). Nothing before it is billed.
    pub origin: Timestamp,
    /// How much older than an instance's latest event an event may be and
    /// still be slotted into place, if it falls in the open period (default
    /// five minutes, [`DEFAULT_ALLOWED_LATENESS_MS`]: an event pipeline
    /// that retries, batches or merges partitions delivers an instance's
    /// events out of order by seconds to minutes; 0 demands strict order).
    pub allowed_lateness_ms: u64,
    /// How far past the embedder's `now` an event's time may be (default
    /// five seconds, [`DEFAULT_MAX_CLOCK_SKEW_MS`]: events are stamped by
    /// other machines' clocks, which run ahead of the embedder's by up to
    /// some milliseconds under NTP, more when it falters).
    pub max_clock_skew_ms: u64,
    /// How far before the end of the last closed period late events are
    /// still accepted, as adjustments; event ids are remembered that far
    /// back for deduplication (default one hour).
    pub adjustment_window_ms: u64,
    /// How invoices are rounded (default: to the nano-unit, half up).
    pub invoice: InvoiceRule,
    /// How many closed periods' reports the meter keeps, the latest, for
    /// [`Meter::history`] and [`Meter::closed_report`] (default twelve,
    /// [`DEFAULT_HISTORY_PERIODS`]; the oldest is dropped first; 0 keeps
    /// none). They are part of the meter's snapshot.
    pub history_periods: u32,
}

/// The default [`MeterConfig::allowed_lateness_ms`]: five minutes.
pub const DEFAULT_ALLOWED_LATENESS_MS: u64 = 300_000;

/// The default [`MeterConfig::max_clock_skew_ms`]: five seconds.
pub const DEFAULT_MAX_CLOCK_SKEW_MS: u64 = 5_000;

impl Default for MeterConfig {
    fn default() -> Self {
        MeterConfig {
            origin: Timestamp::ZERO,
            allowed_lateness_ms: DEFAULT_ALLOWED_LATENESS_MS,
            max_clock_skew_ms: DEFAULT_MAX_CLOCK_SKEW_MS,
            adjustment_window_ms: 3_600_000,
            invoice: InvoiceRule::default(),
            history_periods: DEFAULT_HISTORY_PERIODS,
        }
    }
}

/// What [`Meter::ingest`] did with an event.
#[must_use = "a duplicate or an adjustment may need the embedder's attention"]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ingested {
    /// Applied to the open period.
    Applied,
    /// Seen before with the same payload: nothing changed.
    Duplicate,
    /// It falls in a closed period: recorded as [`Adjustment`]s, billed
    /// when the open period closes.
    Adjusted,
}

/// What [`Meter::ingest_batch`] did: the events it ingested, from the
/// first, and the event it stopped at, if any.
#[must_use = "a refused event was not ingested, nor any after it"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchIngested {
    /// What [`Meter::ingest`] returned for each event ingested, in order:
    /// the first `results.len()` events of the batch.
    pub results: Vec<Ingested>,
    /// The first event refused: its index in the batch and why. Neither it
    /// nor any event after it was ingested; `None` when every event was.
    pub refused: Option<(usize, MeterError)>,
}

/// Everything a closed period produced. The meter keeps the reports of the
/// last [`MeterConfig::history_periods`] periods ([`Meter::history`]); store
/// it to keep it longer.
#[must_use = "the meter keeps the report only for its last history_periods periods"]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeriodReport {
    /// The period.
    pub period: Period,
    /// Usage per (tenant, app), sorted by tenant then app.
    pub usage: Vec<UsageRecord>,
    /// Corrections of earlier periods recorded while this one was open, in
    /// the order recorded.
    pub adjustments: Vec<Adjustment>,
    /// One invoice per tenant with usage or adjustments, sorted by tenant.
    pub invoices: Vec<Invoice>,
}

/// Marks an event without a delivered SKU (and bounds SKU indices: they
/// are kept in [`SKU_BITS`] bits).
const NO_SKU: u32 = (1 << SKU_BITS) - 1;
/// Bits of a SKU index in a packed event or state.
const SKU_BITS: u32 = 24;
/// Bits of a shape index in a packed event or state; interned shapes are
/// fewer than `1 << SHAPE_BITS`.
const SHAPE_BITS: u32 = 24;
const SHAPE_MASK: u64 = (1 << SHAPE_BITS) - 1;
const SKU_MASK: u64 = (1 << SKU_BITS) - 1;

/// A shape and a SKU index in the top 48 bits of a packed word (an
/// [`Ev`]'s or a [`State`]'s; the low 16 bits are theirs). Indices were
/// checked to fit when interned.
const fn pack_shape_sku(shape: u32, sku: u32) -> u64 {
    (shape as u64 & SHAPE_MASK) << 16 | (sku as u64 & SKU_MASK) << (16 + SHAPE_BITS)
}

/// The shape and SKU indices of a word packed by [`pack_shape_sku`].
const fn unpack_shape_sku(bits: u64) -> (u32, u32) {
    (
        ((bits >> 16) & SHAPE_MASK) as u32,
        ((bits >> (16 + SHAPE_BITS)) & SKU_MASK) as u32,
    )
}

/// An event's effect, compact (shapes and SKUs interned).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Start { shape: u32, sku: u32 },
    Stop,
    Idle,
    Active,
    Resize { shape: u32, sku: u32 },
    Standby,
}

impl Op {
    /// The code of its kind in derived ids.
    const fn code(&self) -> u8 {
        match self {
            Op::Start { .. } => code::STARTED,
            Op::Stop => code::STOPPED,
            Op::Idle => code::IDLE,
            Op::Active => code::ACTIVE,
            Op::Resize { .. } => code::RESIZED,
            Op::Standby => code::STANDBY,
        }
    }

    const fn name(&self) -> &'static str {
        match self {
            Op::Start { .. } => "started",
            Op::Stop => "stopped",
            Op::Idle => "idle",
            Op::Active => "active",
            Op::Resize { .. } => "resized",
            Op::Standby => "standby",
        }
    }
}

/// Marks an event whose id is not derived from it: the id is remembered in
/// [`Meter`]'s `seen` table, not with the instance.
const FOREIGN: u16 = u16::MAX;
/// [`FOREIGN`] as packed in an [`Ev`] (occurrences are below 4,096).
const FOREIGN_PACKED: u64 = 1 << 12;

/// An event as kept until its period closes (and, if its id is derived,
/// until the horizon passes it): 16 bytes, its time and one word packing
/// its kind (3 bits), its key (13 bits), its shape and its SKU (24 bits
/// each, interned).
#[derive(Copy, Clone, PartialEq, Eq)]
struct Ev {
    at: Timestamp,
    bits: u64,
}

impl Ev {
    /// Pack. `key` is an occurrence (below 4,096, as [`EventId::fields`]
    /// reads it) or [`FOREIGN`]; shape and SKU indices were checked to fit
    /// when interned.
    fn new(at: Timestamp, op: Op, key: u16) -> Ev {
        let key = if key == FOREIGN {
            FOREIGN_PACKED
        } else {
            u64::from(key & 0xfff)
        };
        let (shape, sku) = match op {
            Op::Start { shape, sku } | Op::Resize { shape, sku } => (shape, sku),
            _ => (0, 0),
        };
        Ev {
            at,
            bits: u64::from(op.code()) | key << 3 | pack_shape_sku(shape, sku),
        }
    }

    /// The code of its kind.
    const fn code(&self) -> u8 {
        (self.bits & 0x7) as u8
    }

    /// The occurrence its derived id encodes, or [`FOREIGN`].
    const fn key(&self) -> u16 {
        let k = (self.bits >> 3) & 0x1fff;
        if k == FOREIGN_PACKED {
            FOREIGN
        } else {
            k as u16
        }
    }

    const fn is_foreign(&self) -> bool {
        (self.bits >> 3) & 0x1fff == FOREIGN_PACKED
    }

    /// Its effect.
    const fn op(&self) -> Op {
        let (shape, sku) = unpack_shape_sku(self.bits);
        match self.code() {
            code::STARTED => Op::Start { shape, sku },
            code::STOPPED => Op::Stop,
            code::IDLE => Op::Idle,
            code::ACTIVE => Op::Active,
            code::STANDBY => Op::Standby,
            // RESIZED: only the codes of `Op` are packed.
            _ => Op::Resize { shape, sku },
        }
    }
}

impl std::fmt::Debug for Ev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ev")
            .field("at", &self.at)
            .field("op", &self.op())
            .field("key", &self.key())
            .finish()
    }
}

/// A running instance's billing state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Run {
    /// When the run started (for its rounding and minimum).
    start: Timestamp,
    /// The requested shape (index), billed.
    shape: u32,
    /// Active, idle or standby.
    mode: Mode,
    /// The delivered SKU (index), or [`NO_SKU`].
    sku: u32,
}

/// An `Option<Run>` in 16 bytes: the start and one word packing whether
/// it runs, whether it is idle or standby, its shape and its SKU.
#[derive(Copy, Clone, PartialEq, Eq)]
struct State {
    start: Timestamp,
    bits: u64,
}

impl State {
    const STOPPED: State = State {
        start: Timestamp::ZERO,
        bits: 0,
    };

    /// Pack; shape and SKU indices were checked to fit when interned.
    fn of(run: Option<Run>) -> State {
        match run {
            None => State::STOPPED,
            Some(run) => State {
                start: run.start,
                bits: 1 | (run.mode as u64) << 1 | pack_shape_sku(run.shape, run.sku),
            },
        }
    }

    const fn is_running(&self) -> bool {
        self.bits & 1 != 0
    }

    const fn get(&self) -> Option<Run> {
        if !self.is_running() {
            return None;
        }
        let (shape, sku) = unpack_shape_sku(self.bits);
        Some(Run {
            start: self.start,
            shape,
            mode: match (self.bits >> 1) & 3 {
                1 => Mode::Idle,
                2 => Mode::Standby,
                _ => Mode::Active, // 0; 3 is never packed
            },
            sku,
        })
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// The lifecycle: the state after `ev`, or why `ev` is not allowed.
fn step(state: Option<Run>, ev: &Ev, instance: InstanceId) -> Result<Option<Run>, MeterError> {
    next(state, ev).ok_or_else(|| match state {
        Some(run) => MeterError::AlreadyRunning {
            instance,
            at: ev.at,
            since: run.start,
        },
        None => MeterError::NotRunning {
            instance,
            event: ev.op().name(),
            at: ev.at,
        },
    })
}

/// The state after `ev`, or `None` if `ev` is not allowed: a start of a
/// running instance, or anything else of a stopped one. Infallible and
/// allocation-free, for the replays of closing a period.
#[inline]
fn next(state: Option<Run>, ev: &Ev) -> Option<Option<Run>> {
    let mode = |mode| state.map(|run| Some(Run { mode, ..run }));
    match ev.op() {
        Op::Start { shape, sku } => match state {
            Some(_) => None,
            None => Some(Some(Run {
                start: ev.at,
                shape,
                mode: Mode::Active,
                sku,
            })),
        },
        Op::Stop => state.map(|_| None),
        Op::Idle => mode(Mode::Idle),
        Op::Active => mode(Mode::Active),
        Op::Standby => mode(Mode::Standby),
        Op::Resize { shape, sku } => state.map(|run| {
            Some(Run {
                shape,
                sku: if sku == NO_SKU { run.sku } else { sku },
                ..run
            })
        }),
    }
}

/// Fold events already validated at ingest. They cannot fail; should one,
/// it is skipped rather than panic.
fn replay<'a>(mut state: Option<Run>, events: impl IntoIterator<Item = &'a Ev>) -> Option<Run> {
    for ev in events {
        if let Some(after) = next(state, ev) {
            state = after;
        }
    }
    state
}

/// Events an instance keeps inline (more spill to the heap): a start and
/// a few changes of the open period, or a whole short run.
const INLINE_EVENTS: usize = 4;

/// One instance.
#[derive(Clone, Debug)]
struct Inst {
    /// Index of its (tenant, app).
    app: u32,
    /// How many of `events` come before the open period.
    open: u32,
    /// Time of its latest event.
    last: Timestamp,
    /// State at the start of the open period.
    carry: State,
    /// State after every buffered event.
    tail: State,
    /// By time, equal times in arrival order: from `open` on, its events in
    /// the open period (and later), the *buffer*; before `open`, events of
    /// closed periods, already folded into `carry`, whose derived ids are
    /// remembered until the horizon passes them.
    events: SmallVec<[Ev; INLINE_EVENTS]>,
}

impl Inst {
    /// The events in the open period (and later).
    fn buffer(&self) -> &[Ev] {
        self.events.get(self.open as usize..).unwrap_or_default()
    }

    /// The remembered event whose derived id has these fields, if any.
    fn remembered(&self, at: Timestamp, code: u8, key: u16) -> Option<&Ev> {
        if at > self.last || key == FOREIGN {
            return None; // `last` is the latest time of all its events
        }
        self.events
            .iter()
            .rev()
            .take_while(|e| e.at >= at)
            .find(|e| e.at == at && e.key() == key && e.code() == code)
    }
}

/// An instance table slot: the id and its record, in two whole cache
/// lines, so that finding an instance reads one line of the table's
/// control bytes and the one or two lines of its slot, and nothing else.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Slot {
    id: InstanceId,
    inst: Inst,
}

// Two cache lines, no more: the layout above is what makes ingest fast.
const _: () = assert!(std::mem::size_of::<Slot>() == 128);

/// A remembered event, for deduplication.
#[derive(Copy, Clone, Debug)]
struct Seen {
    instance: InstanceId,
    ev: Ev,
}

/// One source's instances and remembered ids: (source, instance) and
/// (source, event id) are the meter's keys.
#[derive(Clone, Debug, Default)]
struct Source {
    instances: Instances,
    /// Ids of events back to the horizon, except derived ones (those are
    /// remembered with their instance's events: see [`Inst::remembered`]).
    seen: Map<EventId, Seen>,
}

/// How a validated event is applied.
enum Plan {
    /// Append to the instance's buffer.
    Append { tail: Option<Run> },
    /// Insert at `pos` in the buffer.
    Insert { pos: usize, tail: Option<Run> },
    /// The event falls in closed periods: set the state, record
    /// adjustments.
    Adjust {
        state: Option<Run>,
        adjustments: Vec<(TableIx, Adjustment)>,
    },
}

/// Usage being gathered for one (tenant, app) while closing a period.
#[derive(Clone, Debug, Default)]
struct AppAcc {
    /// By price table index and, for a table with SKU rates, delivered
    /// SKU index ([`NO_SKU`] otherwise).
    priced: SmallVec<[((TableIx, u32), Usage); 1]>,
    /// Instance-milliseconds by delivered SKU index.
    delivered: SmallVec<[(u32, i128); 1]>,
}

impl AppAcc {
    fn is_empty(&self) -> bool {
        self.priced.is_empty()
    }

    fn usage(&mut self, key: (TableIx, u32)) -> &mut Usage {
        let i = match self.priced.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.priced.push((key, Usage::default()));
                self.priced.len() - 1
            }
        };
        &mut self.priced[i].1
    }

    /// Add `ms` of `run`, whose shape is `shape`, priced by table `table`
    /// of `prices` (per delivered SKU if the table has SKU rates).
    fn add(
        &mut self,
        prices: &PriceBook,
        table: TableIx,
        run: &Run,
        shape: &Resources,
        ms: u64,
        top_up: bool,
    ) -> Result<(), MeterError> {
        let sku = if prices.table(table).sku_rates.is_empty() {
            NO_SKU
        } else {
            run.sku
        };
        self.usage((table, sku))
            .add_time(shape, run.mode, ms, top_up)?;
        let ms = i128::from(ms);
        match self.delivered.iter_mut().find(|(s, _)| *s == run.sku) {
            Some((_, total)) => {
                *total = total
                    .checked_add(ms)
                    .ok_or_else(|| MeterError::Overflow { what: "usage" })?;
            }
            None => self.delivered.push((run.sku, ms)),
        }
        Ok(())
    }
}

/// The metering state machine. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Meter {
    config: MeterConfig,
    prices: PriceBook,
    /// Closed periods, in order; contiguous from the origin.
    closed: Vec<Period>,
    /// Start of the open period.
    open_start: Timestamp,
    /// Earliest event time accepted.
    horizon: Timestamp,
    /// Interned (tenant, app) pairs.
    apps: Set<(TenantId, AppId)>,
    /// Hints in front of `apps`, keyed by the app's name.
    app_hints: Hints,
    /// Interned delivered SKUs and requested shapes.
    catalog: Catalog,
    /// The instances and event ids of each source, by index: 0 is the
    /// default source, `i + 1` the source `source_names[i]`.
    sources: Vec<Source>,
    /// Names of the sources other than the default, in the order first
    /// seen (fewer than `u32::MAX`).
    source_names: Set<SourceId>,
    /// Hints in front of `source_names`.
    source_hints: Hints,
    /// Derived ids remembered with the instances.
    derived_ids: usize,
    /// Adjustments recorded in the open period, with their table.
    adjustments: Vec<(TableIx, Adjustment)>,
    /// What the meter was told of delivered SKUs, for SKU rates.
    sku_info: BTreeMap<SkuId, SkuInfo>,
    /// The reports of the latest closed periods.
    history: History,
}

/// `len` as a `u32` index, if below `u32::MAX`.
fn index_u32(len: usize, what: &'static str) -> Result<u32, MeterError> {
    index_below(len, u32::MAX, what)
}

/// `len` as the index the next of `len` items gets, if below `limit`.
fn index_below(len: usize, limit: u32, what: &'static str) -> Result<u32, MeterError> {
    u32::try_from(len)
        .ok()
        .filter(|&i| i < limit)
        .ok_or_else(|| MeterError::Overflow { what })
}

/// What an event said delivered a run: the SKU and the zone it named
/// (at least one of them; neither is [`NO_SKU`], never interned).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Delivery {
    sku: Option<SkuId>,
    zone: Option<ZoneId>,
}

/// A [`Delivery`], borrowed: looks up the interned one without cloning
/// either name. Hashes exactly as the owned one does.
#[derive(Hash)]
struct DeliveryRef<'a> {
    sku: Option<&'a SkuId>,
    zone: Option<&'a ZoneId>,
}

impl Equivalent<Delivery> for DeliveryRef<'_> {
    fn equivalent(&self, key: &Delivery) -> bool {
        self.is(key)
    }
}

impl DeliveryRef<'_> {
    /// Equal to `d` (names shared with `d`'s are equal at once).
    #[inline]
    fn is(&self, d: &Delivery) -> bool {
        fn same(a: Option<&str>, b: Option<&str>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => same_name(a, b),
                _ => false,
            }
        }
        same(
            self.sku.map(SkuId::as_str),
            d.sku.as_ref().map(SkuId::as_str),
        ) && same(
            self.zone.map(ZoneId::as_str),
            d.zone.as_ref().map(ZoneId::as_str),
        )
    }

    /// The name its hint is kept under: the SKU's, else the zone's.
    #[inline]
    fn hint_name(&self) -> &str {
        match (self.sku, self.zone) {
            (Some(s), _) => s.as_str(),
            (None, Some(z)) => z.as_str(),
            (None, None) => "",
        }
    }
}

/// The delivered SKUs and the requested shapes, interned, so that an event
/// and a run name them by index.
#[derive(Clone, Debug, Default)]
struct Catalog {
    /// Deliveries (a SKU and a zone events named): fewer than [`NO_SKU`].
    skus: Set<Delivery>,
    /// Hints in front of `skus`.
    sku_hints: Hints,
    /// Requested shapes: fewer than `1 << SHAPE_BITS`.
    shapes: Set<Resources>,
    /// Hints in front of `shapes`, keyed by the shape's own words.
    shape_hints: Hints,
}

/// Names an event brings that are not interned yet.
#[derive(Default)]
struct NewNames {
    sku: Option<Delivery>,
    shape: Option<Resources>,
}

impl NewNames {
    fn is_empty(&self) -> bool {
        self.sku.is_none() && self.shape.is_none()
    }
}

impl Catalog {
    /// The shape of index `ix`. Runs and events only hold indices of shapes
    /// interned when they were ingested, and shapes are never removed, so
    /// it is always found; the zero shape stands in rather than panic.
    #[inline]
    fn shape(&self, ix: u32) -> Resources {
        self.shapes
            .get_index(ix as usize)
            .copied()
            .unwrap_or(Resources::ZERO)
    }

    /// The shape of index `ix`, counting the shape `new` brings (it gets
    /// the next index) as interned.
    fn shape_with(&self, ix: u32, new: &NewNames) -> Resources {
        match new.shape {
            Some(shape) if ix as usize == self.shapes.len() => shape,
            _ => self.shape(ix),
        }
    }

    /// The delivery of index `ix` (the default, naming nothing, for
    /// [`NO_SKU`]), counting the one `new` brings (it gets the next index)
    /// as interned.
    fn sku_with(&self, ix: u32, new: &NewNames) -> Delivery {
        match &new.sku {
            Some(d) if ix as usize == self.skus.len() => d.clone(),
            _ => self.delivery(ix),
        }
    }

    /// The delivery of index `ix` (the default, naming nothing, for
    /// [`NO_SKU`]).
    fn delivery(&self, ix: u32) -> Delivery {
        self.skus
            .get_index(ix as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// The compact op of an event, with SKU and shape looked up (a name not
    /// yet interned gets the index it will get, and is returned).
    fn op_of(&self, kind: &EventKind) -> Result<(Op, NewNames), MeterError> {
        let mut new = NewNames::default();
        let mut form = |resources: &Resources,
                        delivered: &Option<SkuId>,
                        zone: &Option<ZoneId>|
         -> Result<(u32, u32), MeterError> {
            let d = DeliveryRef {
                sku: delivered.as_ref(),
                zone: zone.as_ref(),
            };
            let sku = if d.sku.is_none() && d.zone.is_none() {
                NO_SKU
            } else {
                match sku_index(&self.skus, &self.sku_hints, &d) {
                    // Interned indices were checked to fit when interned.
                    Some(i) => i as u32,
                    None => {
                        new.sku = Some(Delivery {
                            sku: delivered.clone(),
                            zone: zone.clone(),
                        });
                        index_below(self.skus.len(), NO_SKU, "sku count")?
                    }
                }
            };
            let shape = match shape_index(&self.shapes, &self.shape_hints, resources) {
                Some(i) => i as u32,
                None => {
                    new.shape = Some(*resources);
                    index_below(self.shapes.len(), 1 << SHAPE_BITS, "shape count")?
                }
            };
            Ok((shape, sku))
        };
        let op = match kind {
            EventKind::Started {
                resources,
                delivered,
                zone,
            } => {
                let (shape, sku) = form(resources, delivered, zone)?;
                Op::Start { shape, sku }
            }
            EventKind::Resized {
                resources,
                delivered,
                zone,
            } => {
                let (shape, sku) = form(resources, delivered, zone)?;
                Op::Resize { shape, sku }
            }
            EventKind::Stopped => Op::Stop,
            EventKind::Idle => Op::Idle,
            EventKind::Active => Op::Active,
            EventKind::Standby => Op::Standby,
        };
        Ok((op, new))
    }

    /// Intern what [`Catalog::op_of`] found new, and remember the hints.
    fn commit(&mut self, kind: &EventKind, op: Op, new: NewNames) {
        if let Some(sku) = new.sku {
            self.skus.insert(sku);
        }
        if let Some(shape) = new.shape {
            self.shapes.insert(shape);
        }
        if let (
            EventKind::Started {
                resources,
                delivered,
                zone,
            }
            | EventKind::Resized {
                resources,
                delivered,
                zone,
            },
            Op::Start { shape, sku } | Op::Resize { shape, sku },
        ) = (kind, op)
        {
            self.shape_hints.set_at(Hints::shape_slot(resources), shape);
            if sku != NO_SKU {
                let d = DeliveryRef {
                    sku: delivered.as_ref(),
                    zone: zone.as_ref(),
                };
                self.sku_hints.set(d.hint_name(), sku);
            }
        }
    }
}

/// Hashes an instance id so that its low bits, which pick the bucket, are
/// the id's own low bits, and its top bits, which the table compares
/// first, are mixed. Ids handed out in sequence then land in neighbouring
/// buckets: a run of new instances touches a few cache lines of the table
/// instead of one each, and growing the table walks the entries nearly in
/// order. Buckets collide exactly as under the Fx hash (a multiply by an
/// odd number permutes the low bits), so no key set probes longer.
#[derive(Copy, Clone, Debug, Default)]
struct InstanceHasher(u64);

impl std::hash::Hasher for InstanceHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Not used by `InstanceId` (one `u64`); any other key still hashes
        // every byte.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        const MIX: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        const TOP: u64 = 0x7f << 57;
        let x = self.0.rotate_left(5) ^ i;
        self.0 = x ^ (x.wrapping_mul(MIX) & TOP);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The instances, by id: a hash table whose slots hold the records
/// themselves (see [`Slot`]). Its order follows the ids' hashes and the
/// table's history, so nothing the meter reports follows it: closing a
/// period sums per (tenant, app) and sorts, and `Debug` lists the
/// instances by id.
#[derive(Clone, Default)]
struct Instances(HashTable<Slot>);

impl std::fmt::Debug for Instances {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut slots: Vec<&Slot> = self.0.iter().collect();
        slots.sort_unstable_by_key(|s| s.id);
        f.debug_map()
            .entries(slots.iter().map(|s| (s.id, &s.inst)))
            .finish()
    }
}

impl Instances {
    #[inline]
    fn hash(id: InstanceId) -> u64 {
        use std::hash::Hasher;
        let mut h = InstanceHasher::default();
        h.write_u64(id.0);
        h.finish()
    }

    #[inline]
    fn rehash(slot: &Slot) -> u64 {
        Self::hash(slot.id)
    }

    #[inline]
    fn get(&self, id: InstanceId) -> Option<&Inst> {
        self.0.find(Self::hash(id), |s| s.id == id).map(|s| &s.inst)
    }

    #[inline]
    fn entry(&mut self, id: InstanceId) -> hash_table::Entry<'_, Slot> {
        self.0.entry(Self::hash(id), |s| s.id == id, Self::rehash)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional, Self::rehash);
    }
}

/// Equal names. Names are `Arc<str>`, and the standard comparison always
/// compares the bytes; a name shared with the one on record (as events
/// built from the scheduler's ids share them) is equal at once.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// An owner, borrowed: looks up the interned `(TenantId, AppId)` without
/// cloning either name. Hashes exactly as the tuple does.
#[derive(Hash)]
struct OwnerRef<'a>(&'a TenantId, &'a AppId);

impl Equivalent<(TenantId, AppId)> for OwnerRef<'_> {
    fn equivalent(&self, key: &(TenantId, AppId)) -> bool {
        same_name(self.0.as_str(), key.0.as_str()) && same_name(self.1.as_str(), key.1.as_str())
    }
}

/// Slots in each [`Hints`] table (a power of two): enough that the apps
/// of a large fleet rarely share one, small enough to stay in cache.
const HINT_SLOTS: usize = 1 << HINT_BITS;
const HINT_BITS: u32 = 10;

/// A cache in front of an interning set, keyed by the address of a name:
/// the slot of a name holds the index it was last interned at (or, for
/// SKUs, looked up at). A hint is only taken when the name on record at
/// that index is the name looked up (the same allocation; for SKUs, equal),
/// so a stale or colliding hint costs a lookup and never a wrong answer;
/// what the meter does never depends on the hints.
/// (The shapes' hints are keyed by a hash of the shape instead, and taken
/// when the shape on record is equal.)
/// Their contents depend on where names were allocated, so they are not
/// state: `Debug` shows none of them, and a meter's `Debug` output stays the
/// same for the same calls.
#[derive(Clone)]
struct Hints(Box<[u32; HINT_SLOTS]>);

impl std::fmt::Debug for Hints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hints")
    }
}

impl Default for Hints {
    fn default() -> Self {
        Hints(Box::new([u32::MAX; HINT_SLOTS]))
    }
}

impl Hints {
    #[inline]
    fn slot(name: &str) -> usize {
        // Names are separate heap allocations, at least 16 bytes apart;
        // the multiply spreads neighbours over the table (Fibonacci hashing).
        let a = (name.as_ptr() as usize as u64) >> 4;
        (a.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HINT_BITS)) as usize
    }

    #[inline]
    fn get(&self, name: &str) -> usize {
        self.0[Self::slot(name)] as usize
    }

    #[inline]
    fn set(&mut self, name: &str, index: u32) {
        self.0[Self::slot(name)] = index;
    }

    /// The slot of a shape: a hash of its words.
    #[inline]
    fn shape_slot(shape: &Resources) -> usize {
        let [a, b, c, d] = shape.as_array().map(u64::from);
        let x = (a | b << 32) ^ (c | d << 32).rotate_left(17);
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HINT_BITS)) as usize
    }

    #[inline]
    fn get_at(&self, slot: usize) -> usize {
        self.0[slot] as usize
    }

    #[inline]
    fn set_at(&mut self, slot: usize, index: u32) {
        self.0[slot] = index;
    }
}

/// The interned index of an owner, if interned.
#[inline]
fn owner_index(
    apps: &Set<(TenantId, AppId)>,
    hints: &Hints,
    tenant: &TenantId,
    app: &AppId,
) -> Option<usize> {
    let hint = hints.get(app.as_str());
    if let Some((t, a)) = apps.get_index(hint) {
        if std::ptr::eq(t.as_str(), tenant.as_str()) && std::ptr::eq(a.as_str(), app.as_str()) {
            return Some(hint);
        }
    }
    apps.get_index_of(&OwnerRef(tenant, app))
}

/// The interned index of a shape, if interned.
#[inline]
fn shape_index(shapes: &Set<Resources>, hints: &Hints, shape: &Resources) -> Option<usize> {
    let hint = hints.get_at(Hints::shape_slot(shape));
    if shapes.get_index(hint) == Some(shape) {
        return Some(hint);
    }
    shapes.get_index_of(shape)
}

/// The interned index of a delivery, if interned.
#[inline]
fn sku_index(skus: &Set<Delivery>, hints: &Hints, d: &DeliveryRef<'_>) -> Option<usize> {
    let hint = hints.get(d.hint_name());
    if let Some(s) = skus.get_index(hint) {
        // Equal names, not only shared ones: each app's copy of a SKU name
        // finds its hint after its first event.
        if d.is(s) {
            return Some(hint);
        }
    }
    skus.get_index_of(d)
}

impl Meter {
    /// An empty meter; its first period opens at [`MeterConfig::origin`].
    pub fn new(config: MeterConfig) -> Result<Meter, MeterError> {
        config.invoice.round(0)?;
        Ok(Meter {
            open_start: config.origin,
            horizon: config.origin,
            config,
            prices: PriceBook::default(),
            closed: Vec::new(),
            apps: Set::default(),
            app_hints: Hints::default(),
            catalog: Catalog::default(),
            sources: vec![Source::default()],
            source_names: Set::default(),
            source_hints: Hints::default(),
            derived_ids: 0,
            adjustments: Vec::new(),
            sku_info: BTreeMap::new(),
            history: History::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MeterConfig {
        &self.config
    }

    /// Every price table added, in version order.
    pub fn price_tables(&self) -> &[PriceTable] {
        self.prices.tables()
    }

    /// The price table in force at `t`, if any.
    pub fn price_at(&self, t: Timestamp) -> Option<&PriceTable> {
        self.prices.at(t).ok().map(|ix| self.prices.table(ix))
    }

    /// The closed periods, in order.
    pub fn closed_periods(&self) -> &[Period] {
        &self.closed
    }

    /// The id and start of the open period.
    pub fn open_period(&self) -> (PeriodId, Timestamp) {
        (PeriodId(self.closed.len() as u64), self.open_start)
    }

    /// The earliest event time still accepted.
    pub fn horizon(&self) -> Timestamp {
        self.horizon
    }

    /// Adjustments recorded in the open period, billed when it closes.
    pub fn pending_adjustments(&self) -> impl Iterator<Item = &Adjustment> {
        self.adjustments.iter().map(|(_, a)| a)
    }

    /// True when the instance of the default source is running after
    /// every event ingested.
    pub fn is_running(&self, instance: InstanceId) -> bool {
        self.is_running_from(None, instance)
    }

    /// True when the instance of `source` (`None`: the default source) is
    /// running after every event ingested.
    pub fn is_running_from(&self, source: Option<&SourceId>, instance: InstanceId) -> bool {
        self.source(source)
            .and_then(|s| s.instances.get(instance))
            .is_some_and(|i| i.tail.is_running())
    }

    /// The sources other than the default that events named, by name.
    pub fn sources(&self) -> Vec<&SourceId> {
        let mut names: Vec<&SourceId> = self.source_names.iter().collect();
        names.sort_unstable();
        names
    }

    /// Instances the meter holds state for, over every source.
    pub fn tracked_instances(&self) -> usize {
        self.sources.iter().map(|s| s.instances.len()).sum()
    }

    /// Event ids remembered for deduplication, over every source.
    pub fn remembered_events(&self) -> usize {
        self.sources.iter().map(|s| s.seen.len()).sum::<usize>() + self.derived_ids
    }

    /// The index of a source (`None`: the default, 0), if events named it.
    #[inline]
    fn source_index(&self, source: Option<&SourceId>) -> Option<usize> {
        let Some(name) = source else {
            return Some(0);
        };
        let hint = self.source_hints.get(name.as_str());
        if let Some(n) = self.source_names.get_index(hint) {
            if same_name(n.as_str(), name.as_str()) {
                return Some(hint + 1);
            }
        }
        self.source_names.get_index_of(name).map(|i| i + 1)
    }

    /// A source's instances and ids (`None`: the default source), if
    /// events named it.
    #[inline]
    fn source(&self, source: Option<&SourceId>) -> Option<&Source> {
        self.source_index(source).and_then(|i| self.sources.get(i))
    }

    /// The name of the source of index `ix` (`None`: the default).
    fn source_name(&self, ix: usize) -> Option<&SourceId> {
        ix.checked_sub(1)
            .and_then(|i| self.source_names.get_index(i))
    }

    /// Make room for `instances` more instances of the default source and
    /// `events` more
    /// remembered event ids that are not [`EventId::derived`] from their
    /// event (derived ids are kept with the instance's events and need no
    /// room of their own), so that ingesting them does not grow the maps on
    /// the way. Only a hint: nothing else changes.
    pub fn reserve(&mut self, instances: usize, events: usize) {
        if let Some(s) = self.sources.first_mut() {
            s.instances.reserve(instances);
            s.seen.reserve(events);
        }
    }

    /// Add a price table. It must be valid, newer than every table before
    /// it, and not take effect before the end of the last closed period.
    pub fn add_price_table(&mut self, table: PriceTable) -> Result<(), MeterError> {
        table
            .validate()
            .map_err(|source| MeterError::InvalidPrice {
                version: table.version,
                source,
            })?;
        if let Some(latest) = self.prices.latest_version() {
            if table.version <= latest {
                return Err(MeterError::StaleVersion {
                    version: table.version,
                    latest,
                });
            }
        }
        if table.effective < self.open_start && !self.closed.is_empty() {
            return Err(MeterError::PriceInClosedPeriod {
                version: table.version,
                effective: table.effective,
                closed_until: self.open_start,
            });
        }
        if self.prices.tables().len() >= crate::MAX_PRICE_TABLES {
            return Err(MeterError::TooManyPriceTables);
        }
        self.prices.push(table)
    }

    /// Tell the meter what a delivered SKU is: its family, architecture,
    /// accelerator model and zone, which [`SkuRate`]s select on. Usage on
    /// the SKU is priced by this description when its period closes (and
    /// its late events when they are adjusted), whenever the usage
    /// happened, so describe SKUs before their usage is invoiced. A SKU's
    /// description is fixed once given: the same again changes nothing,
    /// another is [`MeterError::SkuConflict`]. At most
    /// [`MAX_SKUS`](crate::MAX_SKUS) SKUs are described
    /// ([`MeterError::TooManySkus`]).
    pub fn describe_sku(&mut self, info: SkuInfo) -> Result<(), MeterError> {
        match self.sku_info.get(&info.sku) {
            Some(known) if *known == info => Ok(()),
            Some(_) => Err(MeterError::SkuConflict { sku: info.sku }),
            None if self.sku_info.len() >= crate::MAX_SKUS => Err(MeterError::TooManySkus),
            None => {
                self.sku_info.insert(info.sku.clone(), info);
                Ok(())
            }
        }
    }

    /// What the meter was told of `sku`, if anything.
    pub fn sku_info(&self, sku: &SkuId) -> Option<&SkuInfo> {
        self.sku_info.get(sku)
    }

    /// Whether `event` is the event remembered as `ev` of `instance`, whose
    /// record is `inst`. An instance's record outlives the ids of its
    /// events (both go once the instance has been stopped since before the
    /// horizon), so its owner is on record.
    fn same_payload(
        instance: InstanceId,
        ev: &Ev,
        inst: Option<&Inst>,
        event: &Event,
        apps: &Set<(TenantId, AppId)>,
        catalog: &Catalog,
    ) -> bool {
        let owner = inst.and_then(|i| apps.get_index(i.app as usize));
        instance == event.instance
            && ev.at == event.at
            && owner.is_some_and(|(t, a)| {
                same_name(t.as_str(), event.tenant.as_str())
                    && same_name(a.as_str(), event.app.as_str())
            })
            && matches!(catalog.op_of(&event.kind), Ok((op, new)) if new.is_empty() && op == ev.op())
    }

    /// Ingest `events` in order at the embedder's time `now`, exactly as
    /// calling [`Meter::ingest`] on each in turn would, and stop at the first
    /// one refused: the events before it are ingested, it and the events
    /// after it are not (fix its cause and send the rest again; events
    /// already ingested come back as duplicates). The results, the state and
    /// everything the meter reports later are the same as one by one.
    ///
    /// It is faster than one by one on a large meter: while it ingests a
    /// few events, it looks up the instances of the next few, so that their
    /// records come from memory together rather than one after the other.
    ///
    /// # Examples
    ///
    /// ```
    /// use trimline::metering::*;
    /// use trimline::{InstanceId, Resources, Timestamp};
    ///
    /// let mut meter = Meter::new(MeterConfig::default())?;
    /// meter.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))?;
    /// let event = |instance, at, kind| -> Result<Event, MeterError> {
    ///     let (instance, at) = (InstanceId(instance), Timestamp(at));
    ///     Ok(Event {
    ///         id: EventId::derived(instance, &kind, at, 0)?,
    ///         source: None,
    ///         tenant: "acme".parse().unwrap(),
    ///         app: "web".parse().unwrap(),
    ///         instance,
    ///         at,
    ///         kind,
    ///     })
    /// };
    /// let shape = Resources::cpu_mem(2_000, 4_096)?;
    /// let log = [
    ///     event(1, 0, EventKind::Started { resources: shape, delivered: None, zone: None })?,
    ///     event(2, 500, EventKind::Started { resources: shape, delivered: None, zone: None })?,
    ///     event(1, 60_000, EventKind::Stopped)?,
    ///     event(3, 70_000, EventKind::Idle)?, // never started
    ///     event(2, 80_000, EventKind::Stopped)?,
    /// ];
    /// let now = Timestamp(3_600_000);
    /// let batch = meter.ingest_batch(&log, now);
    /// assert_eq!(batch.results, [Ingested::Applied; 3]);
    /// let (index, error) = batch.refused.expect("instance 3 is not running");
    /// assert_eq!(index, 3);
    /// assert!(matches!(error, MeterError::NotRunning { .. }));
    /// // The events from the refused one on were not ingested.
    /// assert!(meter.is_running(InstanceId(2)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_batch(&mut self, events: &[Event], now: Timestamp) -> BatchIngested {
        /// Events looked up ahead, and ingested, in one step.
        const AHEAD: usize = 32;
        let mut results = Vec::with_capacity(events.len());
        for (b, block) in events.chunks(AHEAD).enumerate() {
            let next = events.get((b + 1) * AHEAD..).unwrap_or_default();
            self.look_up(next.get(..AHEAD).unwrap_or(next));
            for (k, event) in block.iter().enumerate() {
                match self.ingest(event, now) {
                    Ok(r) => results.push(r),
                    Err(e) => {
                        return BatchIngested {
                            results,
                            refused: Some((b * AHEAD + k, e)),
                        };
                    }
                }
            }
        }
        BatchIngested {
            results,
            refused: None,
        }
    }

    /// Read the records that ingesting `events` will read first, and
    /// nothing else: the loads are independent, so the memory system serves
    /// them together, and the ingest that follows finds them in cache.
    /// Changes nothing.
    fn look_up(&self, events: &[Event]) {
        let mut touched = 0u64;
        for e in events {
            let Some(source) = self.source(e.source.as_ref()) else {
                continue;
            };
            if let Some(inst) = source.instances.get(e.instance) {
                // Both lines of the slot, and the last event (on the heap
                // if the instance's events spilled).
                touched ^= inst.last.0 ^ inst.events.last().map_or(0, |ev| ev.at.0);
            }
            if !source.seen.is_empty() {
                touched ^= source.seen.get_index_of(&e.id).unwrap_or(0) as u64;
            }
        }
        // Only for the loads: keep them from being optimised away.
        std::hint::black_box(touched);
    }

    /// Ingest one event at the embedder's time `now`. Either the event is
    /// applied whole and marked seen, or it is refused and nothing changes.
    ///
    /// ```
    /// use trimline::metering::*;
    /// use trimline::{InstanceId, Resources, Timestamp};
    ///
    /// let mut meter = Meter::new(MeterConfig::default())?;
    /// meter.add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))?;
    /// let event = |id, instance, kind| Event {
    ///     id: EventId(id),
    ///     source: None,
    ///     tenant: "acme".parse().unwrap(),
    ///     app: "web".parse().unwrap(),
    ///     instance: InstanceId(instance),
    ///     at: Timestamp(1_000),
    ///     kind,
    /// };
    /// let shape = Resources::cpu_mem(2_000, 4_096)?;
    /// let start = event(1, 1, EventKind::Started { resources: shape, delivered: None, zone: None });
    /// let now = Timestamp(2_000);
    /// assert_eq!(meter.ingest(&start, now)?, Ingested::Applied);
    /// assert_eq!(meter.ingest(&start, now)?, Ingested::Duplicate); // redelivered
    /// // An instance that never started cannot stop: refused, nothing changes.
    /// let stop = event(2, 2, EventKind::Stopped);
    /// assert!(matches!(meter.ingest(&stop, now), Err(MeterError::NotRunning { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest(&mut self, event: &Event, now: Timestamp) -> Result<Ingested, MeterError> {
        let Some(name) = &event.source else {
            return self.ingest_in(0, event, now);
        };
        if let Some(ix) = self.source_index(Some(name)) {
            return self.ingest_in(ix, event, now);
        }
        // A new source: its tables stay only if the event applies, so a
        // refused event leaves no trace.
        let hint = index_u32(self.source_names.len(), "source count")?;
        self.sources.push(Source::default());
        let result = self.ingest_in(self.sources.len() - 1, event, now);
        if result.is_ok() {
            self.source_names.insert(name.clone());
            self.source_hints.set(name.as_str(), hint);
        } else {
            self.sources.pop();
        }
        result
    }

    /// [`Meter::ingest`] into the source of index `ix`.
    fn ingest_in(
        &mut self,
        ix: usize,
        event: &Event,
        now: Timestamp,
    ) -> Result<Ingested, MeterError> {
        let Meter {
            config,
            prices,
            closed,
            open_start,
            horizon,
            apps,
            app_hints,
            catalog,
            sources,
            source_names: _,
            source_hints: _,
            derived_ids,
            adjustments,
            sku_info: _,
            history: _,
        } = self;
        let Some(Source { instances, seen }) = sources.get_mut(ix) else {
            // Every index passed is that of a source.
            return Err(MeterError::Overflow {
                what: "source count",
            });
        };
        let (open_start, horizon) = (*open_start, *horizon);
        let instance = event.instance;
        let at = event.at;
        // A derived id is remembered with its instance's events; any other
        // id in `seen`. Neither table holds an id the other does.
        let key = event.derived_occurrence();
        let unseen = match key {
            Some(_) => {
                // Held by an event whose id is not derived from it, so
                // whose payload is not this one.
                if !seen.is_empty() && seen.contains_key(&event.id) {
                    return Err(MeterError::Conflict { id: event.id });
                }
                None
            }
            // One probe: the vacant entry is filled only once the event
            // applies (dropping it inserts nothing).
            None => match seen.entry(event.id) {
                Entry::Occupied(o) => {
                    let s = o.get();
                    let inst = instances.get(s.instance);
                    return if Self::same_payload(s.instance, &s.ev, inst, event, apps, catalog) {
                        Ok(Ingested::Duplicate)
                    } else {
                        Err(MeterError::Conflict { id: event.id })
                    };
                }
                Entry::Vacant(v) => {
                    // Remembered as the derived id of another event.
                    let (owner, t, code, k) = event.id.fields();
                    if instances
                        .get(owner)
                        .is_some_and(|i| i.remembered(t, code, k).is_some())
                    {
                        return Err(MeterError::Conflict { id: event.id });
                    }
                    Some(v)
                }
            },
        };
        // One probe here too, filled (or updated) only once the event
        // applies.
        let entry = instances.entry(instance);
        let existing = match &entry {
            hash_table::Entry::Occupied(o) => Some(&o.get().inst),
            hash_table::Entry::Vacant(_) => None,
        };
        if let (Some(k), Some(inst)) = (key, existing) {
            if let Some(ev) = inst.remembered(at, event.kind.code(), k) {
                return if Self::same_payload(instance, ev, existing, event, apps, catalog) {
                    Ok(Ingested::Duplicate)
                } else {
                    Err(MeterError::Conflict { id: event.id })
                };
            }
        }
        if at < horizon {
            return Err(MeterError::BeforeHorizon {
                instance,
                at,
                horizon,
            });
        }
        let watermark = Timestamp(now.0.saturating_add(config.max_clock_skew_ms));
        if at > watermark {
            return Err(MeterError::AheadOfWatermark {
                instance,
                at,
                watermark,
            });
        }
        let (app_ix, new_app) = match existing {
            Some(inst) => {
                if let Some((t, a)) = apps.get_index(inst.app as usize) {
                    if !same_name(t.as_str(), event.tenant.as_str())
                        || !same_name(a.as_str(), event.app.as_str())
                    {
                        return Err(MeterError::OwnerMismatch {
                            instance,
                            owner_tenant: t.clone(),
                            owner_app: a.clone(),
                            tenant: event.tenant.clone(),
                            app: event.app.clone(),
                        });
                    }
                }
                (inst.app, false)
            }
            None => match owner_index(apps, app_hints, &event.tenant, &event.app) {
                // Interned indices were checked to fit when interned.
                Some(i) => (i as u32, false),
                None => (index_u32(apps.len(), "app count")?, true),
            },
        };
        let (op, new_names) = catalog.op_of(&event.kind)?;
        if let Some(inst) = existing {
            // Positions in `events` are kept in `u32`s.
            index_u32(inst.events.len() + 1, "events of an instance")?;
        }
        let ev = Ev::new(at, op, key.unwrap_or(FOREIGN));
        let shape_of = |ix| catalog.shape_with(ix, &new_names);
        let sku_of = |ix| catalog.sku_with(ix, &new_names);

        let plan = match existing {
            None if at >= open_start => Plan::Append {
                tail: step(None, &ev, instance)?,
            },
            None => {
                let state = step(None, &ev, instance)?;
                Plan::Adjust {
                    adjustments: correction(
                        prices,
                        closed,
                        (shape_of, sku_of),
                        event,
                        None,
                        state,
                    )?,
                    state,
                }
            }
            Some(inst) if at >= inst.last && at >= open_start => Plan::Append {
                tail: step(inst.tail.get(), &ev, instance)?,
            },
            Some(inst) if at >= inst.last => {
                // Before the open period and not older than the latest
                // event: the buffer is empty and `carry` held since `last`.
                let carry = inst.carry.get();
                let state = step(carry, &ev, instance)?;
                Plan::Adjust {
                    adjustments: correction(
                        prices,
                        closed,
                        (shape_of, sku_of),
                        event,
                        carry,
                        state,
                    )?,
                    state,
                }
            }
            Some(inst)
                if at >= open_start
                    && inst.last.0.saturating_sub(at.0) <= config.allowed_lateness_ms =>
            {
                let buffer = inst.buffer();
                let pos = buffer.partition_point(|e| e.at <= at);
                let before = replay(inst.carry.get(), &buffer[..pos]);
                let mut tail = step(before, &ev, instance)?;
                for later in &buffer[pos..] {
                    tail = step(tail, later, instance)?;
                }
                Plan::Insert { pos, tail }
            }
            Some(inst) => {
                return Err(MeterError::OutOfOrder {
                    instance,
                    last: inst.last,
                    got: at,
                });
            }
        };

        // Commit: nothing below can fail.
        if new_app {
            apps.insert((event.tenant.clone(), event.app.clone()));
        }
        if existing.is_none() {
            app_hints.set(event.app.as_str(), app_ix);
        }
        catalog.commit(&event.kind, op, new_names);
        match unseen {
            Some(v) => {
                v.insert(Seen { instance, ev });
            }
            None => *derived_ids += 1,
        }
        let inst = match entry {
            hash_table::Entry::Occupied(o) => &mut o.into_mut().inst,
            hash_table::Entry::Vacant(v) => {
                &mut v
                    .insert(Slot {
                        id: instance,
                        inst: Inst {
                            app: app_ix,
                            open: 0,
                            last: at,
                            carry: State::STOPPED,
                            tail: State::STOPPED,
                            events: SmallVec::new(),
                        },
                    })
                    .into_mut()
                    .inst
            }
        };
        Ok(match plan {
            Plan::Append { tail } => {
                inst.events.push(ev);
                inst.tail = State::of(tail);
                inst.last = at;
                Ingested::Applied
            }
            Plan::Insert { pos, tail } => {
                inst.events.insert(inst.open as usize + pos, ev);
                inst.tail = State::of(tail);
                Ingested::Applied
            }
            Plan::Adjust {
                state,
                adjustments: new_adjustments,
            } => {
                inst.carry = State::of(state);
                inst.tail = inst.carry;
                inst.last = at;
                if key.is_some() {
                    // The buffer is empty (see the plan), and the length
                    // was checked to fit.
                    inst.events.push(ev);
                    inst.open = inst.events.len() as u32;
                }
                adjustments.extend(new_adjustments);
                Ingested::Adjusted
            }
        })
    }

    /// Bill `[from, to)` of a run, split at price changes.
    fn bill(
        &self,
        acc: &mut AppAcc,
        run: &Run,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(), MeterError> {
        let shape = self.catalog.shape(run.shape);
        self.prices.split(from, to, |t, ms| {
            acc.add(&self.prices, t, run, &shape, ms, false)
        })
    }

    /// Close the open period at `end` (exclusive) and report it. `end` must
    /// be after the period's start and not after `now`. Events at or after
    /// `end` stay for the next period; events before it that arrive later
    /// become adjustments. On error nothing changes.
    pub fn close_period(
        &mut self,
        end: Timestamp,
        now: Timestamp,
    ) -> Result<PeriodReport, MeterError> {
        if end <= self.open_start {
            return Err(MeterError::EmptyPeriod {
                start: self.open_start,
                end,
            });
        }
        if end > now {
            return Err(MeterError::PeriodNotOver { end, now });
        }
        let period = Period {
            id: PeriodId(self.closed.len() as u64),
            start: self.open_start,
            end,
        };

        // Pass 1, read-only: usage per source and (tenant, app).
        let mut accs: Vec<Vec<AppAcc>> = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            let acc = self.gather(source, end)?;
            accs.push(acc);
        }
        let (usage, invoices) = self.report(period.id, &accs)?;

        // Pass 2: commit. Nothing below can fail.
        let horizon = self.horizon.max(Timestamp(
            end.0.saturating_sub(self.config.adjustment_window_ms),
        ));
        let derived_ids = &mut self.derived_ids;
        for source in &mut self.sources {
            Self::fold(source, end, horizon, derived_ids);
        }
        self.closed.push(period);
        self.open_start = end;
        self.horizon = horizon;
        let adjustments = std::mem::take(&mut self.adjustments)
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let report = PeriodReport {
            period,
            usage,
            adjustments,
            invoices,
        };
        self.history.push(&report, self.config.history_periods);
        Ok(report)
    }

    /// The usage of one source's instances in the open period up to
    /// `end`, per (tenant, app) index.
    fn gather(&self, source: &Source, end: Timestamp) -> Result<Vec<AppAcc>, MeterError> {
        let mut acc: Vec<AppAcc> = vec![AppAcc::default(); self.apps.len()];
        for Slot { id, inst } in source.instances.0.iter() {
            let id = *id;
            if !inst.carry.is_running() && inst.buffer().is_empty() {
                continue;
            }
            let Some(a) = acc.get_mut(inst.app as usize) else {
                continue; // every instance's app is interned
            };
            let mut state = inst.carry.get();
            let mut t = self.open_start;
            for ev in inst.buffer().iter().take_while(|e| e.at < end) {
                if let Some(run) = &state {
                    self.bill(a, run, t, ev.at)?;
                    if ev.op() == Op::Stop {
                        let table = self.prices.at(ev.at)?;
                        let top_up = self
                            .prices
                            .table(table)
                            .top_up_ms(ev.at.0.saturating_sub(run.start.0))?;
                        if top_up > 0 {
                            let shape = self.catalog.shape(run.shape);
                            a.add(&self.prices, table, run, &shape, top_up, true)?;
                        }
                    }
                }
                state = step(state, ev, id)?;
                t = ev.at;
            }
            if let Some(run) = &state {
                self.bill(a, run, t, end)?;
            }
        }
        Ok(acc)
    }

    /// Fold one source's events before `end` into its instances' state at
    /// the open period's start, and forget what the new `horizon` passes.
    fn fold(source: &mut Source, end: Timestamp, horizon: Timestamp, derived_ids: &mut usize) {
        source.instances.0.retain(|Slot { inst, .. }| {
            let buffer = inst.buffer();
            let n = buffer.partition_point(|e| e.at < end);
            inst.carry = State::of(replay(inst.carry.get(), &buffer[..n]));
            // Events now before the open period stay only while their
            // derived ids are remembered.
            let folded = inst.open as usize + n;
            let mut i = 0;
            inst.events.retain(|e| {
                let keep = i >= folded || (!e.is_foreign() && e.at >= horizon);
                if !keep && !e.is_foreign() {
                    *derived_ids = derived_ids.saturating_sub(1);
                }
                i += 1;
                keep
            });
            // Fits: no instance holds more events than a `u32` counts
            // (checked at ingest).
            inst.open = (inst.events.len() - (i - folded)) as u32;
            if inst.events.spilled() && inst.events.len() <= INLINE_EVENTS {
                // Back into the slot: the heap list is freed.
                inst.events.shrink_to_fit();
            }
            inst.carry.is_running()
                || inst.events.len() > inst.open as usize
                || inst.last >= horizon
        });
        source.seen.retain(|_, s| s.ev.at >= horizon);
    }

    /// Usage records and invoices from gathered usage and the pending
    /// adjustments.
    fn report(
        &self,
        period: PeriodId,
        accs: &[Vec<AppAcc>],
    ) -> Result<(Vec<UsageRecord>, Vec<Invoice>), MeterError> {
        // (source, app) indices with usage, by tenant, app, then source.
        let mut order: Vec<(usize, usize, &AppAcc)> = accs
            .iter()
            .enumerate()
            .flat_map(|(s, acc)| {
                acc.iter()
                    .enumerate()
                    .filter(|(_, a)| !a.is_empty())
                    .map(move |(i, a)| (s, i, a))
            })
            .collect();
        order.sort_by(|a, b| {
            (self.apps.get_index(a.1), self.source_name(a.0))
                .cmp(&(self.apps.get_index(b.1), self.source_name(b.0)))
        });

        // Lines per tenant, in line order.
        let mut lines: BTreeMap<TenantId, Vec<InvoiceLine>> = BTreeMap::new();
        // Each tenant's usage so far per resource line, for tiers and quotas.
        let mut positions: BTreeMap<&TenantId, Position> = BTreeMap::new();
        let mut records = Vec::with_capacity(order.len());
        for (s, i, acc) in order {
            let Some((tenant, app)) = self.apps.get_index(i) else {
                continue; // `acc` has one entry per interned app
            };
            let source = self.source_name(s);
            // By table, then by SKU and zone name (not index: the order of
            // interning is not the order of names).
            let mut by_sku: Vec<(TableIx, Option<&Delivery>, &Usage)> = acc
                .priced
                .iter()
                .map(|((t, s), u)| (*t, self.catalog.skus.get_index(*s as usize), u))
                .collect();
            by_sku.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            let tenant_lines = lines.entry(tenant.clone()).or_default();
            let pos = positions.entry(tenant).or_default();
            let mut priced: Vec<(TableIx, Usage)> = Vec::with_capacity(by_sku.len());
            for (t, d, usage) in by_sku {
                self.push_lines(
                    tenant_lines,
                    (tenant, app, source),
                    t,
                    (
                        d.and_then(|d| d.sku.as_ref()),
                        d.and_then(|d| d.zone.as_ref()),
                    ),
                    usage,
                    None,
                    Some(&mut *pos),
                )?;
                match priced.last_mut() {
                    Some((last, sum)) if *last == t => *sum = sum.checked_add(usage)?,
                    _ => priced.push((t, *usage)),
                }
            }
            let mut delivered: Vec<DeliveredUsage> = acc
                .delivered
                .iter()
                .map(|&(s, ms)| {
                    let d = self.catalog.delivery(s);
                    DeliveredUsage {
                        sku: d.sku,
                        zone: d.zone,
                        instance_ms: ms,
                    }
                })
                .collect();
            delivered.sort_by(|a, b| (&a.sku, &a.zone).cmp(&(&b.sku, &b.zone)));
            records.push(UsageRecord {
                tenant: tenant.clone(),
                app: app.clone(),
                source: source.cloned(),
                period,
                priced: priced
                    .into_iter()
                    .map(|(t, usage)| PricedUsage {
                        price_version: self.prices.table(t).version,
                        usage,
                    })
                    .collect(),
                delivered,
            });
        }

        // Adjustments, summed per (tenant, corrected period, app, source,
        // table, SKU, zone).
        type AdjustedKey<'a> = (
            &'a TenantId,
            PeriodId,
            &'a AppId,
            Option<&'a SourceId>,
            TableIx,
            Option<&'a SkuId>,
            Option<&'a ZoneId>,
        );
        let mut adjusted: BTreeMap<AdjustedKey<'_>, Usage> = BTreeMap::new();
        for (t, a) in &self.adjustments {
            let e = adjusted
                .entry((
                    &a.tenant,
                    a.corrects,
                    &a.app,
                    a.source.as_ref(),
                    *t,
                    a.sku.as_ref(),
                    a.zone.as_ref(),
                ))
                .or_default();
            *e = e.checked_add(&a.usage)?;
        }
        for ((tenant, corrects, app, source, t, sku, zone), usage) in adjusted {
            let tenant_lines = lines.entry(tenant.clone()).or_default();
            self.push_lines(
                tenant_lines,
                (tenant, app, source),
                t,
                (sku, zone),
                &usage,
                Some(corrects),
                None,
            )?;
        }

        let mut invoices = Vec::with_capacity(lines.len());
        for (tenant, mut lines) in lines {
            let exacts: Vec<i128> = lines.iter().map(|l| l.exact_subnanos).collect();
            let (total_nanos, shares) = self.config.invoice.allocate(&exacts)?;
            for (line, share) in lines.iter_mut().zip(shares) {
                line.amount_nanos = share;
            }
            invoices.push(Invoice {
                tenant,
                period,
                lines,
                exact_subnanos: exacts
                    .iter()
                    .try_fold(0i128, |acc, &e| acc.checked_add(e))
                    .ok_or_else(|| MeterError::Overflow { what: "invoice" })?,
                total_nanos,
            });
        }
        Ok((records, invoices))
    }

    /// One line per non-zero component of `usage` of `(tenant, app,
    /// source)`, priced by table `t` (by its SKU rate for the SKU and
    /// zone, if one selects them) under the tenant's plan for the app, if
    /// the table has one. The SKU and zone are set only for usage of a
    /// table with SKU rates. Without an idle memory rate, idle memory is
    /// billed on the memory line: there is no idle memory line at the
    /// full rate.
    #[allow(clippy::too_many_arguments)] // one line's every key
    fn push_lines(
        &self,
        lines: &mut Vec<InvoiceLine>,
        (tenant, app, source): (&TenantId, &AppId, Option<&SourceId>),
        t: TableIx,
        (sku, zone): (Option<&SkuId>, Option<&ZoneId>),
        usage: &Usage,
        corrects: Option<PeriodId>,
        mut position: Option<&mut Position>,
    ) -> Result<(), MeterError> {
        let overflow = MeterError::Overflow {
            what: "line amount",
        };
        let table = self.prices.table(t);
        let rates = table.rates_for_delivery(sku, sku.and_then(|s| self.sku_info.get(s)), zone);
        let fold_idle_memory = rates.idle_memory.is_none();
        let fold_standby_memory = rates.standby_memory.is_none();
        let fold_idle_accelerators = rates.idle_accelerators.is_none();
        let seconds = i128::from(table.rates_per.seconds());
        for component in Component::ALL {
            let quantity = match component {
                Component::IdleMemory if fold_idle_memory => continue,
                Component::IdleAccelerators if fold_idle_accelerators => continue,
                Component::StandbyMemory if fold_standby_memory => continue,
                Component::Accelerators if fold_idle_accelerators => usage
                    .accelerator_ms
                    .checked_add(usage.idle_accelerator_ms)
                    .ok_or_else(|| overflow.clone())?,
                Component::Memory => {
                    let mut quantity = usage.memory_mib_ms;
                    for (fold, more) in [
                        (fold_idle_memory, usage.idle_memory_mib_ms),
                        (fold_standby_memory, usage.standby_memory_mib_ms),
                    ] {
                        if fold {
                            quantity =
                                quantity.checked_add(more).ok_or_else(|| overflow.clone())?;
                        }
                    }
                    quantity
                }
                _ => usage.quantity(component),
            };
            if quantity == 0 {
                continue;
            }
            let base = rates.of(component);
            let one = [Piece {
                quantity,
                rate: base,
                tier: None,
                free: false,
            }];
            let mut split = Vec::new();
            let mut pieces: &[Piece] = &one;
            if let Some(pos) = position.as_deref_mut() {
                // Untiered usage moves the tenant's position too.
                let at = pos[component as usize];
                pos[component as usize] =
                    at.checked_add(quantity).ok_or_else(|| overflow.clone())?;
                if table.is_tiered(component) {
                    table.pieces(component, at, quantity, base, &mut split)?;
                    pieces = &split;
                }
            }
            for piece in pieces {
                // Validated when the table was added: every discount is
                // exact, of tier rates too.
                let rate_nanos = table
                    .discounted_for(piece.rate, tenant, app)
                    .ok_or_else(|| overflow.clone())?;
                // The factor holds 3,600, which every unit's seconds divide.
                let exact_subnanos = piece
                    .quantity
                    .checked_mul(rate_nanos)
                    .and_then(|v| v.checked_mul(component.subnanos_factor() / seconds))
                    .ok_or_else(|| overflow.clone())?;
                lines.push(InvoiceLine {
                    app: app.clone(),
                    source: source.cloned(),
                    component,
                    price_version: table.version,
                    corrects,
                    quantity: piece.quantity,
                    rate_nanos,
                    rate_per: table.rates_per,
                    sku: sku.cloned(),
                    zone: zone.cloned(),
                    tier: piece.tier,
                    free_quota: piece.free,
                    exact_subnanos,
                    amount_nanos: 0,
                });
            }
        }
        Ok(())
    }
}

/// A tenant's usage of the period so far, per [`Component`] (by its index
/// in [`Component::ALL`]), in its unit.
type Position = [i128; Component::ALL.len()];

/// What a late event changes in the closed periods it falls in: the
/// instance was in state `old` from the event's time to the end of the
/// closed periods, and is in `new` instead.
fn correction(
    prices: &PriceBook,
    closed: &[Period],
    (shape_of, sku_of): (impl Fn(u32) -> Resources, impl Fn(u32) -> Delivery),
    event: &Event,
    old: Option<Run>,
    new: Option<Run>,
) -> Result<Vec<(TableIx, Adjustment)>, MeterError> {
    let at = event.at;
    let recorded_in = PeriodId(closed.len() as u64);
    let first = closed.partition_point(|p| p.end <= at);
    let mut out = Vec::new();
    for (k, p) in closed[first..].iter().enumerate() {
        let from = at.max(p.start);
        let mut plus = AppAcc::default();
        let mut minus = AppAcc::default();
        if let Some(run) = new {
            let shape = shape_of(run.shape);
            prices.split(from, p.end, |t, ms| {
                plus.add(prices, t, &run, &shape, ms, false)
            })?;
        }
        if let Some(run) = old {
            let shape = shape_of(run.shape);
            prices.split(from, p.end, |t, ms| {
                minus.add(prices, t, &run, &shape, ms, false)
            })?;
            // A late stop ends the run in the first corrected period,
            // which then bills the run's rounding and minimum.
            if k == 0 && new.is_none() {
                let t = prices.at(at)?;
                let top_up = prices
                    .table(t)
                    .top_up_ms(at.0.saturating_sub(run.start.0))?;
                if top_up > 0 {
                    plus.add(prices, t, &run, &shape, top_up, true)?;
                }
            }
        }
        let mut by_table: BTreeMap<(TableIx, Delivery), Usage> = BTreeMap::new();
        for ((t, s), u) in plus.priced {
            by_table.insert((t, sku_of(s)), u);
        }
        for ((t, s), u) in minus.priced {
            let e = by_table.entry((t, sku_of(s))).or_default();
            *e = e.checked_add(&u.checked_neg()?)?;
        }
        for ((t, Delivery { sku, zone }), usage) in by_table {
            if usage.is_zero() {
                continue;
            }
            out.push((
                t,
                Adjustment {
                    event: event.id,
                    tenant: event.tenant.clone(),
                    app: event.app.clone(),
                    instance: event.instance,
                    source: event.source.clone(),
                    corrects: p.id,
                    recorded_in,
                    price_version: prices.table(t).version,
                    sku,
                    zone,
                    usage,
                },
            ));
        }
    }
    Ok(out)
}
