//! Why the meter refused a call. Every refused call leaves the meter exactly
//! as it was: nothing is marked seen, nothing is half-applied.

use crate::ids::{AppId, InstanceId, SkuId, TenantId};
use crate::time::Timestamp;

use super::event::EventId;
use super::price::PriceError;

/// Why a [`Meter`](super::Meter) call was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MeterError {
    /// An event with this id was seen before with a different payload. The
    /// same id with the same payload is a harmless duplicate, not an error.
    #[error("event {id} was seen before with a different payload")]
    Conflict {
        /// The event id.
        id: EventId,
    },
    /// The event is older than the instance's latest event and may not be
    /// slotted in: it falls in a closed period, or further back than the
    /// declared lateness allowance.
    #[error("{instance}: event at {got} is older than its latest event at {last}")]
    OutOfOrder {
        /// The instance.
        instance: InstanceId,
        /// Time of the instance's latest event.
        last: Timestamp,
        /// Time of the refused event.
        got: Timestamp,
    },
    /// The event is older than anything the meter still remembers: before
    /// the origin, or before the adjustment window of the last closed period.
    #[error("{instance}: event at {at} is before the meter's horizon {horizon}")]
    BeforeHorizon {
        /// The instance.
        instance: InstanceId,
        /// The event's time.
        at: Timestamp,
        /// The earliest time still accepted.
        horizon: Timestamp,
    },
    /// The event is later than the embedder's watermark (`now` plus the
    /// allowed clock skew).
    #[error("{instance}: event at {at} is past the watermark {watermark}")]
    AheadOfWatermark {
        /// The instance.
        instance: InstanceId,
        /// The event's time.
        at: Timestamp,
        /// `now` plus the allowed skew.
        watermark: Timestamp,
    },
    /// The instance is on record under another tenant or app.
    #[error("{instance} belongs to {owner_tenant}/{owner_app}, not {tenant}/{app}")]
    OwnerMismatch {
        /// The instance.
        instance: InstanceId,
        /// The tenant on record.
        owner_tenant: TenantId,
        /// The app on record.
        owner_app: AppId,
        /// The tenant the event named.
        tenant: TenantId,
        /// The app the event named.
        app: AppId,
    },
    /// `started` for an instance that is already running (a double start).
    #[error("{instance}: started at {at}, but it has been running since {since}")]
    AlreadyRunning {
        /// The instance.
        instance: InstanceId,
        /// The event's time.
        at: Timestamp,
        /// When the running run started.
        since: Timestamp,
    },
    /// `stopped`, `idle`, `active` or `resized` for an instance that is not
    /// running (a stop without a start, say).
    #[error("{instance}: {event} at {at}, but it is not running")]
    NotRunning {
        /// The instance.
        instance: InstanceId,
        /// The kind of the refused event (`stopped`, `idle`, ...).
        event: &'static str,
        /// The event's time.
        at: Timestamp,
    },
    /// No price table is in force at a time that has to be priced.
    #[error("no price table is in force at {at}")]
    NoPrice {
        /// The time.
        at: Timestamp,
    },
    /// A checked integer operation overflowed (quantities or money). Nothing
    /// wraps; the call is refused.
    #[error("arithmetic overflow computing {what}")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
    /// A price table is invalid.
    #[error("price table version {version}: {source}")]
    InvalidPrice {
        /// The table's version.
        version: u64,
        /// What is wrong.
        #[source]
        source: PriceError,
    },
    /// The meter already holds [`MAX_PRICE_TABLES`](crate::MAX_PRICE_TABLES)
    /// price tables.
    #[error(
        "the meter already holds {} price tables, the most it can hold",
        crate::MAX_PRICE_TABLES
    )]
    TooManyPriceTables,
    /// A SKU was described again, differently.
    #[error("SKU {sku} is already described otherwise")]
    SkuConflict {
        /// The SKU.
        sku: SkuId,
    },
    /// More SKUs described than [`MAX_SKUS`](crate::MAX_SKUS).
    #[error("more than {} SKUs described", crate::MAX_SKUS)]
    TooManySkus,
    /// A price table's version is not newer than every table added before.
    #[error("price table version {version} is not newer than version {latest}")]
    StaleVersion {
        /// The version given.
        version: u64,
        /// The newest version on record.
        latest: u64,
    },
    /// A price table would take effect inside a closed period, which would
    /// reprice it.
    #[error(
        "price table version {version} takes effect at {effective}, inside closed periods (closed until {closed_until})"
    )]
    PriceInClosedPeriod {
        /// The table's version.
        version: u64,
        /// Its effective time.
        effective: Timestamp,
        /// End of the last closed period.
        closed_until: Timestamp,
    },
    /// The period to close would be empty: its end is not after its start.
    #[error("period would be empty: it starts at {start} and would end at {end}")]
    EmptyPeriod {
        /// Start of the open period.
        start: Timestamp,
        /// The end given.
        end: Timestamp,
    },
    /// The period to close ends after `now`.
    #[error("period cannot end at {end}: it is only {now}")]
    PeriodNotOver {
        /// The end given.
        end: Timestamp,
        /// The embedder's time.
        now: Timestamp,
    },
    /// [`Meter::usage`](super::Meter::usage): the interval is not a
    /// non-empty part of the open period (`open_start <= from < to`).
    #[error(
        "usage can be exported only for a non-empty interval of the open period (from {open_start}), not [{from}, {to})"
    )]
    UsageInterval {
        /// The interval's start given.
        from: Timestamp,
        /// The interval's end given.
        to: Timestamp,
        /// Start of the open period.
        open_start: Timestamp,
    },
    /// The invoice rounding unit is not positive.
    #[error("invoice unit must be at least one nano-unit, got {unit_nanos}")]
    InvoiceUnit {
        /// The unit given.
        unit_nanos: i128,
    },
    /// [`decision_events`](super::decision_events): the decisions name an
    /// app the scheduler does not know.
    #[error("decisions name unknown app {0}")]
    UnknownApp(AppId),
    /// [`decision_events`](super::decision_events): an instance's placements
    /// and stops in the decisions do not alternate into its current state in
    /// the scheduler, or name stops the scheduler did not count at that
    /// time (the decisions and the scheduler are out of step).
    #[error("decisions for {instance} do not match its state in the scheduler")]
    DecisionsMismatch {
        /// The instance.
        instance: InstanceId,
    },
    /// [`EventId::derived`] cannot encode the time or the occurrence.
    #[error(
        "{instance}: cannot derive an event id for time {at} (occurrence {occurrence}): \
         derived ids encode times below t={}ms and occurrences below {}",
        EventId::DERIVED_TIME_LIMIT,
        EventId::DERIVED_OCCURRENCE_LIMIT
    )]
    IdOutOfRange {
        /// The instance.
        instance: InstanceId,
        /// The time.
        at: Timestamp,
        /// The occurrence number.
        occurrence: u32,
    },
}

/// Why [`Meter::restore`](super::Meter::restore) refused a
/// [`MeterSnapshot`](super::MeterSnapshot): the snapshot describes a state
/// no sequence of calls could have left. Each variant names what is wrong
/// and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MeterRestoreError {
    /// The snapshot's format version is not one this build reads.
    #[error("meter snapshot format {found} is not supported (expected {expected})")]
    Format {
        /// The version found.
        found: u32,
        /// The version this build writes
        /// ([`METER_SNAPSHOT_FORMAT`](super::METER_SNAPSHOT_FORMAT); it
        /// also reads the formats before it).
        expected: u32,
    },
    /// Refused for the reason a meter call would give: the configuration
    /// ([`MeterError::InvoiceUnit`]), a price table
    /// ([`MeterError::InvalidPrice`], [`MeterError::StaleVersion`] when the
    /// versions do not increase), an instance's events that do not follow
    /// the lifecycle from its state at the open period
    /// ([`MeterError::AlreadyRunning`], [`MeterError::NotRunning`]), or more
    /// of something than a meter holds ([`MeterError::Overflow`]).
    #[error(transparent)]
    Rejected(#[from] MeterError),
    /// A closed period is not the one that follows the period before it
    /// (or the origin): its id is not its position, it does not start where
    /// the one before ends, or it does not end after it starts.
    #[error("closed period {index}: {what}")]
    Period {
        /// Its position in `closed_periods`.
        index: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// The instances are not listed once each, by id.
    #[error(
        "instance {instance} is listed after {previous}: instances are listed once each, by id"
    )]
    InstanceOrder {
        /// The instance listed out of order (or twice).
        instance: InstanceId,
        /// The instance listed before it.
        previous: InstanceId,
    },
    /// An event of an instance is out of place: a remembered event outside
    /// `[horizon, start of the open period)`, an event of the open period
    /// before its start, or events not in order.
    #[error("{instance}: event {id} at {at}: {what}")]
    Event {
        /// The instance.
        instance: InstanceId,
        /// The event's id.
        id: EventId,
        /// The event's time.
        at: Timestamp,
        /// What is wrong.
        what: &'static str,
    },
    /// Two events (of any instances, remembered or not) share an id.
    #[error("event id {id} appears more than once")]
    DuplicateId {
        /// The id.
        id: EventId,
    },
    /// An instance's record contradicts itself: its latest event's time, or
    /// its state at the open period, does not match its events, or it is a
    /// record the meter no longer keeps.
    #[error("{instance}: {what}")]
    Instance {
        /// The instance.
        instance: InstanceId,
        /// What is wrong.
        what: &'static str,
    },
    /// A pending adjustment is impossible: not recorded in the open period,
    /// correcting no closed period, priced by no table, with no usage, or
    /// naming an instance or event the meter does not remember.
    #[error("adjustment {index} (event {event}): {what}")]
    Adjustment {
        /// Its position in `adjustments`.
        index: usize,
        /// The event that caused it.
        event: EventId,
        /// What is wrong.
        what: &'static str,
    },
    /// A report in the history is not one the meter could have kept: more
    /// reports than the configuration keeps or than periods closed, a
    /// report that is not of the closed period at its place (the latest,
    /// in order), or one that contradicts itself (records of another
    /// period, invoices out of order or whose totals are not their lines').
    #[error("history report {index}: {what}")]
    History {
        /// Its position in `history`.
        index: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// The described SKUs are not in strictly increasing order of SKU.
    #[error("described SKU {sku} is out of order or repeated")]
    SkuOrder {
        /// The SKU out of place.
        sku: SkuId,
    },
}
