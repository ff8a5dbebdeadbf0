//! The log's entries and what applying one returns.
//!
//! A [`Proposal`] is one log entry: who sent it (a [`RequestId`]), the time
//! the proposer chose (`now`) and the [`Command`]s to apply in order. Every
//! replica applies the same entry to the same state and gets the same
//! [`Reply`], byte for byte.

use serde::{Deserialize, Serialize};
use trimline::metering::{Event, Ingested, MeterError, PeriodReport, PriceTable};
use trimline::repack::{ConsolidationPlan, ConsolidationStep};
use trimline::{
    AppId, AppSpec, BatchMode, Decisions, ErrorKind, HostId, HostSpec, HostState, InstanceId,
    ProvisionFailure, SkuId, SkuSpec, Stock, Timestamp, ZoneId, ZoneState,
};

/// One mutating call of the [`trimline::Scheduler`] or the
/// [`trimline::metering::Meter`], with every argument but `now` (the
/// [`Proposal`] carries it). Queries and dry runs change nothing and are
/// never logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Command {
    /// [`trimline::Scheduler::add_sku`].
    AddSku {
        /// The SKU.
        spec: SkuSpec,
    },
    /// [`trimline::Scheduler::add_zone`].
    AddZone {
        /// The zone.
        zone: ZoneId,
        /// Its initial state.
        state: ZoneState,
    },
    /// [`trimline::Scheduler::set_zone_state`].
    SetZoneState {
        /// The zone.
        zone: ZoneId,
        /// Its new state.
        state: ZoneState,
    },
    /// [`trimline::Scheduler::add_host`].
    AddHost {
        /// The host.
        spec: HostSpec,
    },
    /// [`trimline::Scheduler::remove_host`].
    RemoveHost {
        /// The host.
        host: HostId,
    },
    /// [`trimline::Scheduler::set_host_state`].
    SetHostState {
        /// The host.
        host: HostId,
        /// Its new state.
        state: HostState,
    },
    /// [`trimline::Scheduler::add_app`].
    AddApp {
        /// The app.
        spec: AppSpec,
    },
    /// [`trimline::Scheduler::remove_app`].
    RemoveApp {
        /// The app.
        app: AppId,
    },
    /// [`trimline::Scheduler::place`].
    Place {
        /// The app to place one more instance of.
        app: AppId,
    },
    /// [`trimline::Scheduler::place_batch`].
    PlaceBatch {
        /// The app.
        app: AppId,
        /// How many instances.
        count: u32,
        /// All or nothing, or as many as fit.
        mode: BatchMode,
    },
    /// [`trimline::Scheduler::scale`].
    Scale {
        /// The app.
        app: AppId,
        /// The instance count to reach.
        target: u32,
    },
    /// [`trimline::Scheduler::remove_instance`].
    RemoveInstance {
        /// The instance.
        instance: InstanceId,
    },
    /// [`trimline::Scheduler::reconcile`].
    Reconcile,
    /// [`trimline::Scheduler::set_stock`].
    SetStock {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
        /// What the provider says it has.
        stock: Stock,
    },
    /// [`trimline::Scheduler::provision_failed`].
    ProvisionFailed {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
        /// How it failed.
        failure: ProvisionFailure,
    },
    /// [`trimline::Scheduler::host_ready`].
    HostReady {
        /// The planned host that became real.
        planned: HostId,
        /// The embedder's id for the real host.
        host: HostId,
    },
    /// [`trimline::Scheduler::plan_return`].
    PlanReturn,
    /// [`trimline::Scheduler::complete_move`].
    CompleteMove {
        /// The replacement instance of the move.
        to: InstanceId,
    },
    /// [`trimline::Scheduler::abort_move`].
    AbortMove {
        /// The replacement instance of the move.
        to: InstanceId,
    },
    /// [`trimline::Scheduler::zone_down`].
    ZoneDown {
        /// The zone lost.
        zone: ZoneId,
    },
    /// [`trimline::Scheduler::host_failed`].
    HostFailed {
        /// The host lost.
        host: HostId,
    },
    /// [`trimline::Scheduler::zone_up`].
    ZoneUp {
        /// The zone back.
        zone: ZoneId,
    },
    /// [`trimline::Scheduler::rebalance`].
    Rebalance,
    /// [`trimline::Scheduler::start_consolidation`].
    StartConsolidation {
        /// The plan, as `plan_consolidation` made it (a query: the proposer
        /// makes it, the log carries it).
        plan: ConsolidationPlan,
    },
    /// [`trimline::metering::Meter::add_price_table`].
    AddPriceTable {
        /// The price table.
        table: PriceTable,
    },
    /// [`trimline::metering::Meter::ingest`].
    Ingest {
        /// The lifecycle event.
        event: Event,
    },
    /// [`trimline::metering::Meter::ingest_batch`].
    IngestBatch {
        /// The lifecycle events, in order.
        events: Vec<Event>,
    },
    /// [`trimline::metering::Meter::close_period`].
    ClosePeriod {
        /// Where the period ends.
        end: Timestamp,
    },
}

/// Who sent a proposal: a client and its request number. A client sends
/// one request at a time, numbered 1, 2, 3, ...; a retry repeats the
/// number. The state machine remembers each client's last request and its
/// reply, so a retry that reaches the log twice (after a leader change, say)
/// is applied once and answered twice with the same [`Outcome`]s.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestId {
    /// The client, unique among the cluster's clients.
    pub client: u64,
    /// The request number, increasing by client.
    pub request: u64,
}

/// One log entry: commands applied in order, each with the proposer's
/// `now`. Each command is its own transaction: one that fails changes
/// nothing and the next is still applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Who sent it.
    pub id: RequestId,
    /// The time, chosen once by the proposer and applied by every replica
    /// (replicas never read their clock). The core refuses a `now` lower
    /// than the last one applied.
    pub now: Timestamp,
    /// The calls, in order.
    pub commands: Vec<Command>,
}

/// What applying a proposal did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Reply {
    /// Applied now: one outcome per command, in order.
    Applied(Vec<Outcome>),
    /// The client's last request, applied before: the outcomes it had then.
    /// Nothing was applied again.
    Repeated(Vec<Outcome>),
    /// An older request than the client's last one: its reply is no longer
    /// kept, and nothing was applied.
    Stale {
        /// The client's last request number.
        last: u64,
    },
}

impl Reply {
    /// The outcomes, whether applied now or before; empty for
    /// [`Reply::Stale`].
    pub fn outcomes(&self) -> &[Outcome] {
        match self {
            Reply::Applied(o) | Reply::Repeated(o) => o,
            Reply::Stale { .. } => &[],
        }
    }
}

/// What one command returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Outcome {
    /// Done, with nothing to return (`add_sku`, `add_zone`, `add_app`,
    /// `remove_app`, `add_price_table`).
    Done,
    /// The scheduler's decisions, for the leader to carry out.
    Decisions(Decisions),
    /// The first step of a consolidation.
    Consolidation(Box<ConsolidationStep>),
    /// What the meter did with an event.
    Ingested(Ingested),
    /// What the meter did with a batch of events.
    IngestedBatch {
        /// One result per event ingested, from the first.
        results: Vec<Ingested>,
        /// The event the batch stopped at, if any.
        refused: Option<BatchRefusal>,
    },
    /// A closed period's report.
    Period(PeriodReport),
    /// The call returned an error and changed nothing.
    Refused(Refusal),
}

impl Outcome {
    /// The decisions, if the command returned some.
    pub fn decisions(&self) -> Option<&Decisions> {
        match self {
            Outcome::Decisions(d) => Some(d),
            Outcome::Consolidation(step) => Some(&step.decisions),
            _ => None,
        }
    }
}

/// The event a meter batch stopped at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRefusal {
    /// Its index in the batch.
    pub index: usize,
    /// Why.
    pub refusal: Refusal,
}

/// A refused call: the core's error, classified and worded.
///
/// The proposer that applied the call gets the typed error in `error`;
/// the kind and message are what the log's other readers (a retry answered
/// from the remembered reply, a replica restored from a snapshot) get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The error's kind.
    pub kind: RefusalKind,
    /// The error's message, naming the offending id or value.
    pub message: String,
    /// The error itself, where this replica applied the call.
    #[serde(skip)]
    pub error: Option<CoreError>,
}

/// An error of the core, as returned by the call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The scheduler's.
    #[error(transparent)]
    Scheduler(trimline::Error),
    /// The meter's.
    #[error(transparent)]
    Meter(MeterError),
}

impl From<CoreError> for Refusal {
    fn from(error: CoreError) -> Refusal {
        let kind = match &error {
            CoreError::Scheduler(e) => e.kind(),
            CoreError::Meter(e) => e.kind(),
        };
        Refusal {
            kind: kind.into(),
            message: error.to_string(),
            error: Some(error),
        }
    }
}

/// [`trimline::ErrorKind`] as serde data.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusalKind {
    /// [`ErrorKind::InvalidInput`].
    InvalidInput,
    /// [`ErrorKind::UnknownId`].
    UnknownId,
    /// [`ErrorKind::AlreadyExists`].
    AlreadyExists,
    /// [`ErrorKind::Conflict`].
    Conflict,
    /// [`ErrorKind::TimeWentBackwards`].
    TimeWentBackwards,
    /// [`ErrorKind::OutOfOrder`].
    OutOfOrder,
    /// [`ErrorKind::LimitExceeded`].
    LimitExceeded,
    /// [`ErrorKind::Unschedulable`].
    Unschedulable,
    /// [`ErrorKind::Restore`].
    Restore,
}

impl From<ErrorKind> for RefusalKind {
    fn from(kind: ErrorKind) -> RefusalKind {
        match kind {
            ErrorKind::InvalidInput => RefusalKind::InvalidInput,
            ErrorKind::UnknownId => RefusalKind::UnknownId,
            ErrorKind::AlreadyExists => RefusalKind::AlreadyExists,
            ErrorKind::Conflict => RefusalKind::Conflict,
            ErrorKind::TimeWentBackwards => RefusalKind::TimeWentBackwards,
            ErrorKind::OutOfOrder => RefusalKind::OutOfOrder,
            ErrorKind::LimitExceeded => RefusalKind::LimitExceeded,
            ErrorKind::Unschedulable => RefusalKind::Unschedulable,
            ErrorKind::Restore => RefusalKind::Restore,
        }
    }
}
