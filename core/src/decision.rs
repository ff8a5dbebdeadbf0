//! Decisions: what a call asks the embedder to carry out.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::explain::PendingReason;
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};

/// An instance was placed on a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Why an instance left its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// An instance was taken off its host and is pending again (unless a
/// [`Placement`] in the same [`Decisions`] puts it elsewhere).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInstance {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// Why it is pending.
    pub reason: PendingReason,
}

/// An instance that was deleted (scale-down or removal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// The host it was on, if it was placed.
    pub host: Option<HostId>,
}

/// Everything one call decided, in the order it was decided. Evictions
/// happen before the placement that needed them.
#[must_use = "decisions must be carried out by the embedder"]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    /// Instances placed.
    pub placements: Vec<Placement>,
    /// Instances taken off their hosts.
    pub evictions: Vec<Eviction>,
    /// Instances that could not be placed and stay pending.
    pub pending: Vec<PendingInstance>,
    /// Instances deleted.
    pub removals: Vec<Removal>,
}

impl Decisions {
    /// True when the call decided nothing.
    pub fn is_empty(&self) -> bool {
        self.placements.is_empty()
            && self.evictions.is_empty()
            && self.pending.is_empty()
            && self.removals.is_empty()
    }
}
