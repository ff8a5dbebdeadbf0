//! Errors. Every failed call leaves the scheduler exactly as it was.

use crate::app::AppError;
use crate::catalog::SkuError;
use crate::coldstart::ColdStartError;
use std::fmt;

use crate::decision::Count;
use crate::explain::Explanation;
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};
use crate::index::MAX_CLASS_SLOTS;
use crate::limits::Limit;
use crate::substitution::Rejection;
use crate::time::Timestamp;

/// A number with its thousands grouped by commas: `1,048,576`.
pub(crate) struct Grouped(pub(crate) u64);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                f.write_str(",")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Why a call was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `now` is earlier than the time of an earlier call.
    #[error("time went backwards: the last call was at {last}, this one at {now}")]
    TimeWentBackwards {
        /// The latest time seen.
        last: Timestamp,
        /// The time given.
        now: Timestamp,
    },
    /// No SKU of that name.
    #[error("unknown sku {0}")]
    UnknownSku(SkuId),
    /// No zone of that name.
    #[error("unknown zone {0}")]
    UnknownZone(ZoneId),
    /// No host with that id.
    #[error("unknown host {0}")]
    UnknownHost(HostId),
    /// No app of that name.
    #[error("unknown app {0}")]
    UnknownApp(AppId),
    /// No instance with that id.
    #[error("unknown instance {0}")]
    UnknownInstance(InstanceId),
    /// The host id has [`PLANNED_HOST_BIT`](crate::PLANNED_HOST_BIT) set,
    /// which names planned hosts.
    #[error("host id {0} is reserved for planned hosts (bit 63 set)")]
    ReservedHostId(HostId),
    /// The host is planned (being provisioned): only `host_ready`,
    /// `provision_failed` and `remove_host` apply to it, and no host can be
    /// set to the planned state.
    #[error("{0} is a planned host: report it with host_ready or provision_failed")]
    PlannedHost(HostId),
    /// The host is not a planned host.
    #[error("{0} is not a planned host")]
    NotPlanned(HostId),
    /// No offering of that SKU in that zone was declared.
    #[error("no offering of sku {sku} in zone {zone}")]
    UnknownOffering {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
    },
    /// The instance is not the replacement of a move in flight.
    #[error("instance {0} is not the replacement of a move in flight")]
    NoMove(InstanceId),
    /// The replacement is not running yet (pending, or on a planned host).
    #[error("replacement {0} is not running yet")]
    MoveNotReady(InstanceId),
    /// A SKU of that name exists already.
    #[error("sku {0} exists already")]
    DuplicateSku(SkuId),
    /// A zone of that name exists already.
    #[error("zone {0} exists already")]
    DuplicateZone(ZoneId),
    /// A host with that id exists already.
    #[error("host {0} exists already")]
    DuplicateHost(HostId),
    /// An app of that name exists already.
    #[error("app {0} exists already")]
    DuplicateApp(AppId),
    /// The SKU spec is invalid.
    #[error("sku {sku}: {source}")]
    InvalidSku {
        /// The SKU.
        sku: SkuId,
        /// What is wrong.
        #[source]
        source: SkuError,
    },
    /// The app spec is invalid.
    #[error("app {app}: {source}")]
    InvalidApp {
        /// The app.
        app: AppId,
        /// What is wrong.
        #[source]
        source: AppError,
    },
    /// The app still has instances (scale it to zero first).
    #[error("app {app} still has {instances} instances")]
    AppHasInstances {
        /// The app.
        app: AppId,
        /// How many instances it has.
        instances: usize,
    },
    /// More instances in one call than [`Config::max_batch`](crate::Config::max_batch).
    #[error("{requested} instances of app {app} in one call; the maximum is {max}")]
    BatchTooLarge {
        /// The app.
        app: AppId,
        /// Instances asked for.
        requested: u64,
        /// The configured maximum.
        max: u32,
    },
    /// More instances than the scheduler has room for: it holds at most
    /// `u32::MAX` (4,294,967,295) instances, placed and pending.
    #[error(
        "{} of app {app} do not fit in the scheduler: it holds {held} and can hold at \
         most {}",
        Count(*requested, "more instance", "more instances"),
        Grouped(u32::MAX.into())
    )]
    TooManyInstances {
        /// The app.
        app: AppId,
        /// Instances asked for.
        requested: u64,
        /// Instances the scheduler holds.
        held: u64,
    },
    /// The instance id counter has run out: instance ids are numbered from
    /// 1 and end at `u64::MAX − 1` (a restored snapshot can set the counter
    /// anywhere).
    #[error(
        "the instance id counter has run out: the next id is {next}, ids end at {}, \
         so {} of app {app} cannot be numbered",
        Grouped(u64::MAX - 1),
        Count(*requested, "new instance", "new instances")
    )]
    InstanceIdsExhausted {
        /// The app.
        app: AppId,
        /// Instances asked for.
        requested: u64,
        /// The counter: the id the next instance would get.
        next: u64,
    },
    /// The (SKU, zone) class already holds
    /// [`MAX_CLASS_SLOTS`](crate::MAX_CLASS_SLOTS) (1,048,576) hosts.
    #[error(
        "zone {zone} already holds the maximum number of hosts of sku {sku} ({})",
        Grouped(MAX_CLASS_SLOTS.into())
    )]
    ClassFull {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
    },
    /// The scheduler already holds as many hosts, SKUs, zones or apps as
    /// it can (see [`limits`](crate::limits)).
    #[error("the scheduler already holds {limit}, the most it can hold")]
    LimitReached {
        /// Which limit.
        limit: Limit,
    },
    /// Cold-start input (host images, offering figures) is not usable.
    #[error("{0}")]
    ColdStart(#[source] ColdStartError),
    /// An all-or-nothing batch does not fit; nothing was placed.
    #[error(
        "all-or-nothing batch of {requested} instances of app {app} does not fit: \
         only {placeable} would be placed ({reason})"
    )]
    GangUnschedulable {
        /// The app.
        app: AppId,
        /// Instances asked for.
        requested: u32,
        /// How many would have been placed.
        placeable: u32,
        /// Why the first one that failed did not fit.
        reason: Explanation,
    },
}

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The snapshot's format version is not supported.
    #[error("snapshot format {found} is not supported (expected {expected})")]
    Format {
        /// Version found.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The snapshot describes a state no sequence of calls could produce.
    #[error("snapshot is inconsistent: {0}")]
    Invalid(#[from] Error),
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(&'static str),
    /// A counter is inconsistent with the ids in use, or out of its range.
    #[error("counter: {0}")]
    Counter(&'static str),
    /// A host's slot is not below [`MAX_CLASS_SLOTS`](crate::MAX_CLASS_SLOTS).
    #[error(
        "host {host} has slot {slot}, beyond the largest class (slots are below {})",
        Grouped(MAX_CLASS_SLOTS.into())
    )]
    SlotOutOfRange {
        /// The host.
        host: HostId,
        /// The slot.
        slot: u32,
    },
    /// A pending instance became pending after the snapshot's time.
    #[error("instance {instance} is pending since {since}, after the snapshot's time {now}")]
    PendingInFuture {
        /// The instance.
        instance: InstanceId,
        /// Its pending-since time.
        since: Timestamp,
        /// The snapshot's time.
        now: Timestamp,
    },
    /// Two hosts claim the same slot of a class.
    #[error("host {host} claims slot {slot}, which another host of its class holds")]
    SlotTaken {
        /// The host.
        host: HostId,
        /// The slot.
        slot: u32,
    },
    /// The instance ids are not below the next id.
    #[error("instance {instance} is not below next_instance {next}")]
    InstanceId {
        /// The instance.
        instance: InstanceId,
        /// The snapshot's next id.
        next: u64,
    },
    /// Two instances share an id.
    #[error("instance {0} appears twice")]
    DuplicateInstance(InstanceId),
    /// A planned host is inconsistent: it names no provision request (or a
    /// running host names one), or no instance waits on it.
    #[error("planned host {host}: {what}")]
    PlannedHost {
        /// The host.
        host: HostId,
        /// What is wrong.
        what: &'static str,
    },
    /// An instance's placement is impossible (over capacity, bad NUMA node,
    /// parts not adding up to the app's resources).
    #[error("instance {instance} on {host}: {what}")]
    BadPlacement {
        /// The instance.
        instance: InstanceId,
        /// The host.
        host: HostId,
        /// What is wrong.
        what: &'static str,
    },
    /// The snapshot lists more hosts, SKUs, zones or apps than a scheduler
    /// holds (see [`limits`](crate::limits)); nothing was rebuilt.
    #[error(
        "snapshot lists {} {}; a scheduler holds at most {}",
        Grouped(*count as u64),
        limit.name(),
        Grouped(limit.maximum() as u64)
    )]
    TooMany {
        /// Which limit.
        limit: Limit,
        /// How many the snapshot lists.
        count: usize,
    },
    /// An offering's back-off contradicts its failure count: failures
    /// are counted exactly while a back-off is set (a failed provisioning
    /// sets both, a host that comes up clears both).
    #[error("offering of sku {sku} in zone {zone}: {what}")]
    Offering {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
        /// What is wrong.
        what: &'static str,
    },
    /// An offering backs off until later than the longest back-off
    /// ([`Config::backoff_max_ms`](crate::Config::backoff_max_ms)) after the
    /// snapshot's time.
    #[error(
        "offering of sku {sku} in zone {zone}: backoff_until {} is more than \
         backoff_max_ms ({max_ms}) after the snapshot's time {}",
        until.0,
        now.0
    )]
    BackoffTooLong {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
        /// Its `backoff_until`.
        until: Timestamp,
        /// The configured longest back-off.
        max_ms: u64,
        /// The snapshot's time.
        now: Timestamp,
    },
    /// An instance is on a host whose SKU its app rejects by a rule that
    /// never changes (architecture, features, accelerator, local disk,
    /// size, performance, tiers): no call places it there.
    #[error("instance {instance} on {host}: its sku {sku} cannot serve the app ({rejection})")]
    SkuCannotServe {
        /// The instance.
        instance: InstanceId,
        /// The host.
        host: HostId,
        /// The host's SKU.
        sku: SkuId,
        /// The rule the SKU fails.
        rejection: Rejection,
    },
    /// An instance is on a host in a zone outside its app's
    /// `spread.zones`.
    #[error("instance {instance} on {host}: zone {zone} is not among the app's spread.zones")]
    ZoneNotAllowed {
        /// The instance.
        instance: InstanceId,
        /// The host.
        host: HostId,
        /// The host's zone.
        zone: ZoneId,
    },
    /// Planned hosts of one provision request belong to different
    /// offerings: a request orders hosts of one SKU in one zone.
    #[error(
        "planned host {host}: provision {provision} orders sku {sku} in zone {zone}, \
         not this host's offering"
    )]
    ProvisionMixed {
        /// The host.
        host: HostId,
        /// Its provision request.
        provision: crate::decision::ProvisionId,
        /// The SKU of the request's first host.
        sku: SkuId,
        /// The zone of the request's first host.
        zone: ZoneId,
    },
    /// An entry of [`Snapshot::stops_at_now`](crate::Snapshot::stops_at_now)
    /// is impossible: an instance id not below `next_instance`, listed out
    /// of order or twice, or with no stop.
    #[error("stops_at_now, instance {instance}: {what}")]
    StopsAtNow {
        /// The instance.
        instance: InstanceId,
        /// What is wrong.
        what: &'static str,
    },
}
