//! Read-only views of the state, and the invariant audit.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::app::{AppSpec, QosTier};
use crate::catalog::SkuSpec;
use crate::explain::PendingReason;
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};
use crate::resources::{Dimension, Resources};
use crate::scheduler::{HostState, InstanceState, Scheduler, ZoneState};
use crate::time::Timestamp;

/// One NUMA node of a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node's share of the host's capacity.
    pub capacity: Resources,
    /// Held by rigid instances.
    pub rigid: Resources,
    /// Held by best-effort instances.
    pub best_effort: Resources,
    /// Free: capacity − rigid − best effort.
    pub free: Resources,
}

/// A host as the scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostView {
    /// Its id.
    pub id: HostId,
    /// Its SKU.
    pub sku: SkuId,
    /// Its zone.
    pub zone: ZoneId,
    /// Ready, cordoned, or planned (being provisioned: the instances on it
    /// are [tentative](InstanceStatus::Tentative)).
    pub state: HostState,
    /// Allocatable capacity.
    pub capacity: Resources,
    /// Free capacity (sum over nodes).
    pub free: Resources,
    /// Per NUMA node.
    pub nodes: Vec<NodeView>,
    /// Instances on it, by id.
    pub instances: Vec<InstanceId>,
}

/// Where an instance is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum InstanceStatus {
    /// On a running host (ready or cordoned): start it, or it runs.
    Placed {
        /// The host.
        host: HostId,
        /// NUMA nodes it holds, with the amount on each.
        parts: Vec<(u8, Resources)>,
    },
    /// Placed on a planned host that is being provisioned: it holds its
    /// room there but does not run yet. It becomes
    /// [`Placed`](InstanceStatus::Placed) when the host is reported with
    /// [`Scheduler::host_ready`], and pending again if the host is dropped.
    Tentative {
        /// The planned host (one of a [`Provision`](crate::Provision)'s
        /// `hosts`).
        planned_host: HostId,
        /// NUMA nodes it holds, with the amount on each.
        parts: Vec<(u8, Resources)>,
    },
    /// Waiting for room.
    Pending {
        /// When it became pending.
        since: Timestamp,
        /// Why, as of the last attempt.
        reason: PendingReason,
    },
}

/// An instance as the scheduler sees it (and as a [`Snapshot`](crate::Snapshot)
/// records it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceView {
    /// Its id.
    pub id: InstanceId,
    /// Its app.
    pub app: AppId,
    /// Placed, tentative or pending.
    pub status: InstanceStatus,
}

/// A broken invariant, found by [`Scheduler::check_invariants`]. Seeing one
/// is a bug in trimline.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvariantViolation {
    /// A NUMA node holds more than its capacity.
    #[error("{host} node {node}: {dimension} allocated {allocated} > capacity {capacity}")]
    Overcommit {
        /// The host.
        host: HostId,
        /// The node.
        node: usize,
        /// The dimension.
        dimension: Dimension,
        /// Sum of allocations.
        allocated: u64,
        /// Capacity.
        capacity: u32,
    },
    /// A host's recorded usage differs from the sum of its instances.
    #[error("{host} node {node}: recorded usage differs from the sum of its instances")]
    Accounting {
        /// The host.
        host: HostId,
        /// The node.
        node: usize,
    },
    /// The host index is stale for a host.
    #[error("index entry of {0} is stale")]
    Index(HostId),
    /// The pending set and the instances disagree, or a pending instance
    /// has no reason.
    #[error("pending set disagrees with instance {0}")]
    Pending(InstanceId),
    /// An instance is missing from its app's or its host's instance list,
    /// or a list names an instance twice or one that is not there.
    #[error("instance lists disagree with instance {0}")]
    Lists(InstanceId),
    /// The instance table's index does not find an instance where it is.
    #[error("instance table index is wrong for instance {0}")]
    InstanceTable(InstanceId),
    /// An app's per-zone counts disagree with its instances.
    #[error("zone counts of app {0} are wrong")]
    ZoneCounts(AppId),
    /// A planned host holds no instance (nothing waits for it), or has no
    /// provision request.
    #[error("planned host {0} holds no instance or has no provision")]
    PlannedHost(HostId),
    /// An offering's planned-host count disagrees with its planned hosts.
    #[error("planned host count of offering {sku} in {zone} is wrong")]
    Offering {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
    },
    /// A move in flight names a missing instance or two apps.
    #[error("move with replacement {0} is inconsistent")]
    Move(InstanceId),
}

impl Scheduler {
    /// A SKU of the catalog.
    pub fn sku(&self, id: &SkuId) -> Option<&SkuSpec> {
        self.skus.get(id)
    }

    /// All SKUs, in the order they were added.
    pub fn skus(&self) -> impl Iterator<Item = &SkuSpec> {
        self.skus.values()
    }

    /// A zone's state.
    pub fn zone_state(&self, id: &ZoneId) -> Option<ZoneState> {
        self.zones.get(id).copied()
    }

    /// Declared zones, in declaration order.
    pub fn zones(&self) -> impl Iterator<Item = (&ZoneId, ZoneState)> {
        self.zones.iter().map(|(z, s)| (z, *s))
    }

    /// An app's spec.
    pub fn app(&self, id: &AppId) -> Option<&AppSpec> {
        self.apps.get(id).map(|a| &a.spec)
    }

    /// Registered apps, in registration order.
    pub fn apps(&self) -> impl Iterator<Item = &AppSpec> {
        self.apps.values().map(|a| &a.spec)
    }

    /// An app's instances (placed and pending), by id.
    pub fn app_instances(&self, id: &AppId) -> Vec<InstanceId> {
        let mut v: Vec<InstanceId> = self
            .apps
            .get(id)
            .map(|a| a.instances.to_vec())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// An app's placed instances per declared zone, in declaration order.
    /// Tentative instances (on planned hosts) count in their host's zone,
    /// as they do for [`skew`](Self::skew) and the spread policy: they hold
    /// their place there while the host is provisioned.
    pub fn app_zone_counts(&self, id: &AppId) -> Vec<(ZoneId, u32)> {
        let Some(a) = self.apps.get(id) else {
            return Vec::new();
        };
        self.zones
            .keys()
            .enumerate()
            .map(|(i, z)| (z.clone(), a.zone_count(i)))
            .collect()
    }

    /// Host ids, in the order they were added (removals reorder).
    pub fn host_ids(&self) -> impl Iterator<Item = HostId> + '_ {
        self.hosts.keys().copied()
    }

    /// Number of hosts.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Number of instances, placed and pending.
    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// A host's view.
    pub fn host(&self, id: HostId) -> Option<HostView> {
        let h = self.hosts.get(&id)?;
        let sku = &self.skus[h.sku()];
        let nodes: Vec<NodeView> = sku
            .numa_nodes
            .iter()
            .zip(&h.used)
            .map(|(cap, u)| NodeView {
                capacity: *cap,
                rigid: u.rigid,
                best_effort: u.best_effort,
                free: cap.saturating_sub(&u.rigid).saturating_sub(&u.best_effort),
            })
            .collect();
        let free = Resources::sum(nodes.iter().map(|n| &n.free));
        let mut instances = h.instances.to_vec();
        instances.sort_unstable();
        Some(HostView {
            id,
            sku: sku.id.clone(),
            zone: self.zone_id(h.zone()).clone(),
            state: h.state,
            capacity: sku.allocatable,
            free,
            nodes,
            instances,
        })
    }

    /// An instance's view.
    pub fn instance(&self, id: InstanceId) -> Option<InstanceView> {
        let i = self.instances.get(&id)?;
        let status = match &i.state {
            InstanceState::Placed { host, parts } if host.is_planned() => {
                InstanceStatus::Tentative {
                    planned_host: *host,
                    parts: parts.to_vec(),
                }
            }
            InstanceState::Placed { host, parts } => InstanceStatus::Placed {
                host: *host,
                parts: parts.to_vec(),
            },
            InstanceState::Pending { since, reason } => InstanceStatus::Pending {
                since: *since,
                // Every pending instance has a reason between calls.
                reason: reason
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| PendingReason::NoFit(crate::Explanation::default())),
            },
        };
        Some(InstanceView {
            id,
            app: self.apps.get_index(i.app())?.0.clone(),
            status,
        })
    }

    /// Pending instances, in the order they are retried.
    pub fn pending(&self) -> Vec<InstanceId> {
        self.pending.iter().map(|k| k.2).collect()
    }

    /// Recompute every derived quantity from the instances and compare:
    /// no node over capacity in any dimension, usage equal to the sum of
    /// the instances, index entries fresh, pending set and zone counts
    /// right, every planned host holding an instance and known to its
    /// provision request. Costs O(hosts + instances); meant for tests and
    /// audits.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let mut sums: Vec<SmallVec<[[u64; 8]; 2]>> = self
            .hosts
            .values()
            .map(|h| SmallVec::from_elem([0u64; 8], h.used.len()))
            .collect();
        let mut zone_counts: Vec<Vec<u32>> = vec![vec![0; self.zones.len()]; self.apps.len()];
        let mut pending = 0usize;
        if let Some(id) = self.instances.first_inconsistent() {
            return Err(InvariantViolation::InstanceTable(id));
        }
        let listed: usize = self.apps.values().map(|a| a.instances.len()).sum();
        if listed != self.instances.len() {
            let stray = self
                .apps
                .values()
                .flat_map(|a| &a.instances)
                .find(|id| !self.instances.contains_key(id))
                .or_else(|| self.instances.keys().next());
            return Err(InvariantViolation::Lists(
                stray.copied().unwrap_or(InstanceId(0)),
            ));
        }
        let on_hosts: usize = self.hosts.values().map(|h| h.instances.len()).sum();
        for (id, inst) in &self.instances {
            let list = &self.apps[inst.app()].instances;
            if list.get(inst.app_pos as usize) != Some(id) {
                return Err(InvariantViolation::Lists(*id));
            }
            if let InstanceState::Placed { host, .. } = &inst.state {
                let on_host = self
                    .hosts
                    .get(host)
                    .is_some_and(|h| h.instances.contains(id));
                if !on_host {
                    return Err(InvariantViolation::Lists(*id));
                }
            }
            let app = &self.apps[inst.app()].spec;
            let key = (app.qos, std::cmp::Reverse(app.priority), *id);
            match &inst.state {
                InstanceState::Pending { reason, .. } => {
                    pending += 1;
                    // Queued, and explained (a reason is missing only while
                    // a call creates the instance).
                    if !self.pending.contains(&key) || reason.is_none() {
                        return Err(InvariantViolation::Pending(*id));
                    }
                }
                InstanceState::Placed { host, parts } => {
                    if self.pending.contains(&key) {
                        return Err(InvariantViolation::Pending(*id));
                    }
                    let Some(hix) = self.hosts.get_index_of(host) else {
                        return Err(InvariantViolation::Pending(*id));
                    };
                    zone_counts[inst.app()][self.hosts[hix].zone()] += 1;
                    let off = if app.qos == QosTier::Rigid { 0 } else { 4 };
                    for (n, r) in parts {
                        let Some(s) = sums[hix].get_mut(usize::from(*n)) else {
                            return Err(InvariantViolation::Accounting {
                                host: *host,
                                node: usize::from(*n),
                            });
                        };
                        for d in Dimension::ALL {
                            s[off + d.index()] += u64::from(r.get(d));
                        }
                    }
                }
            }
        }
        if pending != self.pending.len() {
            return Err(InvariantViolation::Pending(InstanceId(0)));
        }
        if on_hosts != self.instances.len() - pending {
            // A host lists an instance twice, or one placed elsewhere.
            let stray = self.hosts.iter().find_map(|(hid, h)| {
                let mut ids = h.instances.clone();
                ids.sort_unstable();
                let twice = ids.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
                twice.or_else(|| {
                    ids.into_iter().find(|i| {
                        !matches!(
                            self.instances.get(i).map(|x| &x.state),
                            Some(InstanceState::Placed { host, .. }) if host == hid
                        )
                    })
                })
            });
            return Err(InvariantViolation::Lists(stray.unwrap_or(InstanceId(0))));
        }
        for (hix, (id, h)) in self.hosts.iter().enumerate() {
            let sku = &self.skus[h.sku()];
            for (n, cap) in sku.numa_nodes.iter().enumerate() {
                let s = sums[hix][n];
                let u = h.used[n];
                for d in Dimension::ALL {
                    let i = d.index();
                    if s[i] != u64::from(u.rigid.get(d))
                        || s[4 + i] != u64::from(u.best_effort.get(d))
                    {
                        return Err(InvariantViolation::Accounting { host: *id, node: n });
                    }
                    let allocated = s[i] + s[4 + i];
                    if allocated > u64::from(cap.get(d)) {
                        return Err(InvariantViolation::Overcommit {
                            host: *id,
                            node: n,
                            dimension: d,
                            allocated,
                            capacity: cap.get(d),
                        });
                    }
                }
            }
            let class = &self.classes[h.class()];
            if class.host_at(h.slot) != Some(*id) || class.tree.leaf(h.slot) != self.bounds_of(h) {
                return Err(InvariantViolation::Index(*id));
            }
        }
        for (aix, (id, a)) in self.apps.iter().enumerate() {
            let counts = &zone_counts[aix];
            if (0..self.zones.len()).any(|z| counts[z] != a.zone_count(z)) {
                return Err(InvariantViolation::ZoneCounts(id.clone()));
            }
        }
        for (id, h) in &self.hosts {
            let planned = h.state == HostState::Planned;
            let ordered = self.provision_of.contains_key(id);
            if (planned && (h.instances.is_empty() || !ordered)) || (!planned && ordered) {
                return Err(InvariantViolation::PlannedHost(*id));
            }
        }
        if let Some(id) = self
            .provision_of
            .keys()
            .find(|id| !self.hosts.contains_key(*id))
        {
            return Err(InvariantViolation::PlannedHost(*id));
        }
        for (&(s, z), o) in &self.offerings {
            let planned = self
                .hosts
                .values()
                .filter(|h| h.state == HostState::Planned && h.sku() == s && h.zone() == z)
                .count();
            if planned != o.planned as usize {
                return Err(InvariantViolation::Offering {
                    sku: self.skus[s].id.clone(),
                    zone: self.zone_id(z).clone(),
                });
            }
        }
        for (to, from) in &self.moves {
            let app = |i: &InstanceId| self.instances.get(i).map(|x| x.app());
            if app(to).is_none() || app(to) != app(from) {
                return Err(InvariantViolation::Move(*to));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod list_tests {
    use super::*;
    use crate::catalog::tests::sku;
    use crate::{AppSpec, HostSpec, Resources, Timestamp, ZoneState};

    fn one_placed() -> (Scheduler, InstanceId) {
        let mut s = Scheduler::default();
        s.add_zone("a".parse().unwrap(), ZoneState::Up).unwrap();
        s.add_sku(sku("g7", 4_000, 8_192)).unwrap();
        let spec = HostSpec {
            id: HostId(1),
            sku: "g7".parse().unwrap(),
            zone: "a".parse().unwrap(),
        };
        let _ = s.add_host(spec, Timestamp(0)).unwrap();
        let app = AppSpec::new(
            "web".parse().unwrap(),
            "t".parse().unwrap(),
            Resources::cpu_mem(1_000, 1_024).unwrap(),
        );
        s.add_app(app).unwrap();
        let d = s.place(&"web".parse().unwrap(), Timestamp(1)).unwrap();
        let id = d.placements[0].instance;
        assert_eq!(s.check_invariants(), Ok(()));
        (s, id)
    }

    /// The instance lists of apps and hosts are checked against the
    /// instances, both ways.
    #[test]
    fn corrupt_instance_lists_are_reported() {
        let (mut s, id) = one_placed();
        s.apps[0].instances.clear();
        assert_eq!(s.check_invariants(), Err(InvariantViolation::Lists(id)));

        let (mut s, id) = one_placed();
        s.hosts[0].instances.push(id);
        assert_eq!(s.check_invariants(), Err(InvariantViolation::Lists(id)));

        let (mut s, id) = one_placed();
        s.hosts[0].instances.clear();
        assert_eq!(s.check_invariants(), Err(InvariantViolation::Lists(id)));
    }
}
