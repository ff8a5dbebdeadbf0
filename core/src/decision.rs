//! Decisions: what a call asks the embedder to carry out.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::explain::PendingReason;
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};
use crate::resources::{Dimension, Resources};
use crate::substitution::SubstitutionNote;

/// An instance was placed on a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Placement {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// The host it runs on.
    pub host: HostId,
    /// The host's zone.
    pub zone: ZoneId,
    /// The host's SKU.
    pub sku: SkuId,
    /// The NUMA nodes it was given (one unless the app's policy is
    /// [`NumaPolicy::Any`](crate::NumaPolicy::Any) and no single node had room).
    pub numa_nodes: SmallVec<[u8; 2]>,
    /// Why the app is served on this SKU rather than its tier-0 choice
    /// (or the SKU it requested); `None` when it is not a substitution.
    #[serde(default)]
    pub substitution: Option<Arc<SubstitutionNote>>,
    /// Bytes the host is expected to pull before the instance starts: 0 on
    /// a host that holds the app's image (or for an app that names none),
    /// the image's size otherwise (see [`coldstart`](crate::coldstart)).
    /// A planned host's instances report their pull when placed
    /// tentatively, and 0 when the host becomes ready.
    #[serde(default)]
    pub pull_bytes: u64,
    /// Set when the instance is a standby (see
    /// [`standby`](crate::standby)): `started`, a standby that starts in
    /// place (nothing to create or pull); `stopped`, a standby to create
    /// and leave stopped. Absent for every other instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<crate::standby::StandbyMark>,
}

/// Why an instance left its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EvictionCause {
    /// A best-effort instance preempted by a rigid one.
    Preempted {
        /// The rigid instance that needed the room.
        by: InstanceId,
    },
    /// The host was removed.
    HostRemoved,
    /// The planned host it was tentatively placed on could not be
    /// provisioned.
    ProvisionFailed,
    /// Its zone was lost ([`Scheduler::zone_down`](crate::Scheduler::zone_down)).
    ZoneDown,
    /// Its host failed ([`Scheduler::host_failed`](crate::Scheduler::host_failed)).
    HostFailed,
}

/// An instance was taken off its host and is pending again (unless a
/// [`Placement`] in the same [`Decisions`] puts it elsewhere).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Eviction {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// The host it left.
    pub host: HostId,
    /// Why.
    pub cause: EvictionCause,
}

/// An instance that could not be placed; it stays pending in the scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PendingInstance {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// Why it is pending.
    pub reason: PendingReason,
}

/// An instance that was deleted (scale-down or removal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Removal {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// The host it was on, if it was placed.
    pub host: Option<HostId>,
}

/// Identifies one [`Provision`] request.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct ProvisionId(pub u64);

/// A request to the embedder: provision `count` new hosts of `sku` in
/// `zone`. The scheduler already holds them as planned hosts (the ids in
/// `hosts`) with instances placed on them tentatively; report each one with
/// [`Scheduler::host_ready`](crate::Scheduler::host_ready) or the offering
/// with [`Scheduler::provision_failed`](crate::Scheduler::provision_failed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Provision {
    /// This request.
    pub id: ProvisionId,
    /// Zone.
    pub zone: ZoneId,
    /// SKU to provision.
    pub sku: SkuId,
    /// How many hosts.
    pub count: u32,
    /// The planned hosts' ids, to name in `host_ready`.
    pub hosts: Vec<HostId>,
    /// The SKU the app asked for, when this one stands in for it.
    pub substitutes_for: Option<SkuId>,
    /// The app's preference tier of this SKU (0 is the most preferred).
    pub tier: u32,
    /// The app whose instances needed the hosts; `None` for a warm pool.
    pub app: Option<AppId>,
    /// How many of its instances the hosts are planned for (0 for a warm
    /// pool).
    pub instances: u32,
    /// Why this SKU rather than the app's tier-0 choice (or the SKU it
    /// requested): `None` when it is not a substitution.
    #[serde(default)]
    pub substitution: Option<Arc<SubstitutionNote>>,
    /// Why the hosts are wanted.
    #[serde(default)]
    pub reason: ProvisionReason,
}

/// Why a [`Provision`] asks for hosts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProvisionReason {
    /// An app's instances fit on no running or planned host: they are
    /// placed on the new hosts tentatively.
    #[default]
    Instances,
    /// To keep an offering's warm pool at its target: the hosts stay idle
    /// until a scale-out draws on them (see [`warmpool`](crate::warmpool)).
    WarmPool,
}

/// Why planned hosts were cancelled.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancellationCause {
    /// No instance waits on the hosts any more: their instances were
    /// removed (scale-down, [`Scheduler::remove_instance`](crate::Scheduler::remove_instance),
    /// an aborted move) or re-placed elsewhere.
    Unneeded,
    /// The embedder reported their offering failed
    /// ([`Scheduler::provision_failed`](crate::Scheduler::provision_failed)):
    /// every planned host of the offering is dropped, including those of
    /// other requests still in flight.
    ProvisionFailed,
    /// Their zone was lost ([`Scheduler::zone_down`](crate::Scheduler::zone_down)).
    ZoneDown,
    /// The embedder removed them ([`Scheduler::remove_host`](crate::Scheduler::remove_host)).
    HostRemoved,
    /// The embedder reported them failed ([`Scheduler::host_failed`](crate::Scheduler::host_failed)).
    HostFailed,
}

/// Planned hosts of an earlier [`Provision`] that the scheduler no longer
/// holds: stop provisioning them (or release them if they are already up).
/// A later [`Scheduler::host_ready`](crate::Scheduler::host_ready) for one
/// of them fails with [`Error::UnknownHost`](crate::Error::UnknownHost).
/// Known stock they took is given back to their offering (see
/// [`Stock`](crate::Stock)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cancellation {
    /// The request the hosts were part of.
    pub provision: ProvisionId,
    /// Its zone.
    pub zone: ZoneId,
    /// Its SKU.
    pub sku: SkuId,
    /// The planned hosts cancelled, in the order they were dropped.
    pub hosts: Vec<HostId>,
    /// Why.
    pub cause: CancellationCause,
}

/// A total of resources that may exceed one host's (a shortfall of many
/// instances), in the units of [`Resources`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceTotals {
    /// CPU millicores.
    pub cpu_millis: u64,
    /// Memory MiB.
    pub memory_mib: u64,
    /// Network Mbit/s.
    pub network_mbps: u64,
    /// Accelerators.
    pub accelerators: u64,
}

impl ResourceTotals {
    /// `count` times `r`, saturating (a u32 count of u32 values fits u64).
    pub fn times(r: &Resources, count: u32) -> ResourceTotals {
        let n = u64::from(count);
        ResourceTotals {
            cpu_millis: u64::from(r.get(Dimension::Cpu)) * n,
            memory_mib: u64::from(r.get(Dimension::Memory)) * n,
            network_mbps: u64::from(r.get(Dimension::Network)) * n,
            accelerators: u64::from(r.get(Dimension::Accelerators)) * n,
        }
    }
}

/// Instances of an app that neither fit nor could be provisioned for, per
/// zone whose share they were.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shortfall {
    /// The app.
    pub app: AppId,
    /// The zone whose share could not be met.
    pub zone: ZoneId,
    /// Instances short.
    pub instances: u32,
    /// Their resources, summed.
    pub resources: ResourceTotals,
}

/// Instances of an app placed outside its spread policy because the app
/// schedules anyway ([`WhenUnsatisfiable::ScheduleAnyway`](crate::WhenUnsatisfiable)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkewViolation {
    /// The app.
    pub app: AppId,
    /// Instances placed in violation in this call.
    pub instances: u32,
    /// The app's skew after the last of them.
    pub skew: u32,
    /// The app's limit (`None` when only `min_zones` was broken).
    pub max_skew: Option<u32>,
}

/// Instances of an app that an evacuation (a lost zone or a failed host)
/// could not re-place: they stay pending. The resources are what the
/// survivors lacked for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Unplaced {
    /// The app.
    pub app: AppId,
    /// Instances not re-placed.
    pub instances: u32,
    /// Their resources, summed.
    pub resources: ResourceTotals,
}

/// Everything one call decided, in the order it was decided. Evictions
/// happen before the placement that needed them.
#[must_use = "decisions must be carried out by the embedder"]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Decisions {
    /// Instances placed on running hosts: start them.
    pub placements: Vec<Placement>,
    /// Instances placed tentatively on planned hosts; they become
    /// placements when their host is ready.
    pub tentative: Vec<Placement>,
    /// New hosts to provision.
    pub provisions: Vec<Provision>,
    /// Instances taken off their hosts.
    pub evictions: Vec<Eviction>,
    /// Instances that could not be placed and stay pending.
    pub pending: Vec<PendingInstance>,
    /// Instances deleted.
    pub removals: Vec<Removal>,
    /// What could be neither placed nor provisioned, per app and zone.
    pub shortfalls: Vec<Shortfall>,
    /// Moves (back to preferred SKUs, or rebalancing zones), for the
    /// embedder to carry out.
    pub moves: Vec<crate::migration::Move>,
    /// Apps placed outside their spread policy, which they allow.
    #[serde(default)]
    pub skew_violations: Vec<SkewViolation>,
    /// Evacuated instances that could not be re-placed, per app in
    /// evacuation order (filled by [`Scheduler::zone_down`](crate::Scheduler::zone_down)
    /// and [`Scheduler::host_failed`](crate::Scheduler::host_failed)).
    #[serde(default)]
    pub unplaced: Vec<Unplaced>,
    /// Planned hosts of earlier provisions that are dropped, per provision
    /// and cause: cancel them. A call never returns a [`Provision`] whose
    /// planned hosts end the call empty: hosts it planned and did not use
    /// are left out of its provisions, not cancelled.
    #[serde(default)]
    pub cancellations: Vec<Cancellation>,
}

impl Decisions {
    /// True when the call decided nothing.
    pub fn is_empty(&self) -> bool {
        self.placements.is_empty()
            && self.tentative.is_empty()
            && self.provisions.is_empty()
            && self.shortfalls.is_empty()
            && self.moves.is_empty()
            && self.skew_violations.is_empty()
            && self.unplaced.is_empty()
            && self.evictions.is_empty()
            && self.pending.is_empty()
            && self.removals.is_empty()
            && self.cancellations.is_empty()
    }
}

// ----- how decisions read ---------------------------------------------------

/// `n` and the noun, singular or plural: `1 host`, `2 hosts`.
pub(crate) struct Count<'a>(pub(crate) u64, pub(crate) &'a str, pub(crate) &'a str);

impl fmt::Display for Count<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0 == 1 { self.1 } else { self.2 };
        write!(f, "{} {noun}", self.0)
    }
}

/// Host ids, comma-separated; a run of three or more consecutive ids reads
/// `first to last`.
pub(crate) struct HostList<'a>(pub(crate) &'a [HostId]);

impl fmt::Display for HostList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids = self.0;
        let mut i = 0;
        while i < ids.len() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let mut j = i;
            while j + 1 < ids.len() && ids[j].0.checked_add(1) == Some(ids[j + 1].0) {
                j += 1;
            }
            if j >= i + 2 {
                write!(f, "{} to {}", ids[i], ids[j])?;
                i = j + 1;
            } else {
                write!(f, "{}", ids[i])?;
                i += 1;
            }
        }
        Ok(())
    }
}

/// `NUMA node 0`, `NUMA nodes 0 and 1`, `NUMA nodes 0, 1 and 2`.
struct NumaNodes<'a>(&'a [u8]);

impl fmt::Display for NumaNodes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => Ok(()),
            [n] => write!(f, "NUMA node {n}"),
            [init @ .., last] => {
                f.write_str("NUMA nodes ")?;
                for (i, n) in init.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}")?;
                }
                write!(f, " and {last}")
            }
        }
    }
}

impl fmt::Display for Placement {
    /// `i-1 of web placed on host-1 (g7 in zone-a), NUMA node 0`, then the
    /// substitution note if there is one. On a planned host the placement
    /// reads `placed tentatively on planned-1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.host.is_planned() {
            "placed tentatively on"
        } else {
            "placed on"
        };
        write!(
            f,
            "{} of {} {how} {} ({} in zone {})",
            self.instance, self.app, self.host, self.sku, self.zone
        )?;
        if !self.numa_nodes.is_empty() {
            write!(f, ", {}", NumaNodes(&self.numa_nodes))?;
        }
        if let Some(note) = &self.substitution {
            write!(f, "; substitution: {note}")?;
        }
        Ok(())
    }
}

impl fmt::Display for EvictionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvictionCause::Preempted { by } => write!(f, "preempted by rigid instance {by}"),
            EvictionCause::HostRemoved => f.write_str("its host was removed"),
            EvictionCause::ProvisionFailed => {
                f.write_str("its planned host could not be provisioned")
            }
            EvictionCause::ZoneDown => f.write_str("its zone was lost"),
            EvictionCause::HostFailed => f.write_str("its host failed"),
        }
    }
}

impl fmt::Display for Eviction {
    /// `i-2 of batch evicted from host-3: preempted by rigid instance i-5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} evicted from {}: {}",
            self.instance, self.app, self.host, self.cause
        )
    }
}

impl fmt::Display for PendingInstance {
    /// `i-4 of web pending: ` and the reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} pending: {}",
            self.instance, self.app, self.reason
        )
    }
}

impl fmt::Display for Removal {
    /// `i-4 of web removed from host-3`, or `(it was not placed)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            Some(h) => write!(f, "{} of {} removed from {h}", self.instance, self.app),
            None => write!(
                f,
                "{} of {} removed (it was not placed)",
                self.instance, self.app
            ),
        }
    }
}

impl fmt::Display for ProvisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "provision-{}", self.0)
    }
}

impl fmt::Display for Provision {
    /// `provision-1: 2 new hosts of g7 in zone-a (…) for 3 instances of
    /// web` (`for the warm pool` for a pool's), then why this SKU when it
    /// stands in for another.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} of {} in zone {}",
            self.id,
            Count(self.count.into(), "new host", "new hosts"),
            self.sku,
            self.zone
        )?;
        if !self.hosts.is_empty() {
            write!(f, " ({})", HostList(&self.hosts))?;
        }
        match &self.app {
            Some(app) => write!(
                f,
                " for {} of {app}",
                Count(self.instances.into(), "instance", "instances")
            )?,
            None => f.write_str(" for the warm pool")?,
        }
        match (&self.substitution, &self.substitutes_for) {
            (Some(note), _) => write!(f, "; substitution: {note}"),
            (None, Some(sku)) => write!(f, ", standing in for {sku} (tier {})", self.tier),
            (None, None) if self.tier > 0 => {
                write!(f, ", tier {} of the app's preferences", self.tier)
            }
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Display for CancellationCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CancellationCause::Unneeded => "no instance waits on them any more",
            CancellationCause::ProvisionFailed => "their offering failed to provision",
            CancellationCause::ZoneDown => "their zone was lost",
            CancellationCause::HostRemoved => "they were removed",
            CancellationCause::HostFailed => "they failed",
        })
    }
}

impl fmt::Display for Cancellation {
    /// `cancel 2 planned hosts of g7 in zone-a from provision-1 (…): ` and
    /// the cause.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cancel {} of {} in zone {} from {}",
            Count(self.hosts.len() as u64, "planned host", "planned hosts"),
            self.sku,
            self.zone,
            self.provision
        )?;
        if !self.hosts.is_empty() {
            write!(f, " ({})", HostList(&self.hosts))?;
        }
        write!(f, ": {}", self.cause)
    }
}

impl fmt::Display for ResourceTotals {
    /// The dimensions that are not zero, like [`Resources`] reads:
    /// `cpu 6000m, memory 12288 MiB`; `nothing` when all are zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            (self.cpu_millis, "cpu ", "m"),
            (self.memory_mib, "memory ", " MiB"),
            (self.network_mbps, "network ", " Mbit/s"),
            (self.accelerators, "accelerators ", ""),
        ];
        let mut first = true;
        for (v, name, unit) in parts {
            if v == 0 {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{name}{v}{unit}")?;
        }
        if first {
            f.write_str("nothing")?;
        }
        Ok(())
    }
}

impl fmt::Display for Shortfall {
    /// `web in zone-a: 3 instances short (cpu 6000m, memory 12288 MiB), …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let they = if self.instances == 1 {
            "it neither fits"
        } else {
            "they neither fit"
        };
        write!(
            f,
            "{} in zone {}: {} short ({}): {they} on a host nor can be provisioned",
            self.app,
            self.zone,
            Count(self.instances.into(), "instance", "instances"),
            self.resources
        )
    }
}

impl fmt::Display for SkewViolation {
    /// `web: 2 instances placed against its spread policy (…), as it
    /// schedules anyway`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} placed against its spread policy (",
            self.app,
            Count(self.instances.into(), "instance", "instances")
        )?;
        match self.max_skew {
            Some(max) => write!(f, "skew now {}, its limit is {max}", self.skew)?,
            None => write!(f, "in fewer zones than its minimum, skew now {}", self.skew)?,
        }
        f.write_str("), as it schedules anyway")
    }
}

impl fmt::Display for Unplaced {
    /// `web: 3 instances could not be re-placed (…) and stay pending`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stay = if self.instances == 1 { "stays" } else { "stay" };
        write!(
            f,
            "{}: {} could not be re-placed (the surviving hosts lack {}) and {stay} pending",
            self.app,
            Count(self.instances.into(), "instance", "instances"),
            self.resources
        )
    }
}

impl fmt::Display for Decisions {
    /// One line per item, grouped under a heading with the group's size,
    /// groups in the order the embedder carries them out (evictions and
    /// cancellations first); empty groups are left out. `nothing decided`
    /// when the call decided nothing.
    ///
    /// ```text
    /// evictions (1):
    ///   i-2 of batch evicted from host-1: preempted by rigid instance i-3
    /// placements on running hosts (1):
    ///   i-3 of web placed on host-1 (g7 in zone zone-a), NUMA node 0
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn group<T: fmt::Display>(
            f: &mut fmt::Formatter<'_>,
            first: &mut bool,
            title: &str,
            items: &[T],
        ) -> fmt::Result {
            if items.is_empty() {
                return Ok(());
            }
            if !*first {
                f.write_str("\n")?;
            }
            *first = false;
            write!(f, "{title} ({}):", items.len())?;
            for item in items {
                write!(f, "\n  {item}")?;
            }
            Ok(())
        }
        if self.is_empty() {
            return f.write_str("nothing decided");
        }
        let first = &mut true;
        group(f, first, "evictions", &self.evictions)?;
        group(f, first, "cancellations", &self.cancellations)?;
        group(f, first, "removals", &self.removals)?;
        group(f, first, "placements on running hosts", &self.placements)?;
        group(
            f,
            first,
            "tentative placements on planned hosts",
            &self.tentative,
        )?;
        group(f, first, "provisions", &self.provisions)?;
        group(f, first, "moves", &self.moves)?;
        group(f, first, "pending", &self.pending)?;
        group(f, first, "not re-placed", &self.unplaced)?;
        group(f, first, "shortfalls", &self.shortfalls)?;
        group(
            f,
            first,
            "placed against their spread policy",
            &self.skew_violations,
        )
    }
}
