//! Read-only views of the state, and the invariant audit.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::app::{AppSpec, QosTier};
use crate::catalog::SkuSpec;
use crate::decision::Count;
use crate::explain::PendingReason;
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};
use crate::index::ClassIndex;
use crate::resources::{Dimension, Resources};
use crate::scheduler::{HostState, InstanceState, Scheduler, ZoneState};
use crate::time::Timestamp;

/// One NUMA node of a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceView {
    /// Its id.
    pub id: InstanceId,
    /// Its app.
    pub app: AppId,
    /// Placed, tentative or pending.
    pub status: InstanceStatus,
}

impl fmt::Display for NodeView {
    /// `capacity …; rigid …; best effort …; free …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "capacity {}; rigid {}; best effort {}; free {}",
            self.capacity, self.rigid, self.best_effort, self.free
        )
    }
}

impl fmt::Display for HostView {
    /// `host-1: ready, g7 in zone a, 2 instances; free … (capacity …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}, {} in zone {}, {}; free {} (capacity {})",
            self.id,
            self.state,
            self.sku,
            self.zone,
            Count(self.instances.len() as u64, "instance", "instances"),
            self.free,
            self.capacity
        )
    }
}

/// `NUMA node 0 holds …; NUMA node 1 holds …`.
fn parts(f: &mut fmt::Formatter<'_>, parts: &[(u8, Resources)]) -> fmt::Result {
    for (i, (node, r)) in parts.iter().enumerate() {
        f.write_str(if i == 0 { ": " } else { "; " })?;
        write!(f, "NUMA node {node} holds {r}")?;
    }
    Ok(())
}

impl fmt::Display for InstanceStatus {
    /// `placed on host-1: NUMA node 0 holds …`, `placed tentatively on
    /// planned-1: …`, or `pending since t=…: ` and the reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceStatus::Placed { host, parts: p } => {
                write!(f, "placed on {host}")?;
                parts(f, p)
            }
            InstanceStatus::Tentative {
                planned_host,
                parts: p,
            } => {
                write!(f, "placed tentatively on {planned_host}")?;
                parts(f, p)
            }
            InstanceStatus::Pending { since, reason } => {
                write!(f, "pending since {since}: {reason}")
            }
        }
    }
}

impl fmt::Display for InstanceView {
    /// `i-3 of web: ` and its status.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {}: {}", self.id, self.app, self.status)
    }
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
    /// A placed instance's parts are not a placement of its app that
    /// [`restore`](Scheduler::restore) accepts.
    #[error("instance {instance} on {host}: {what}")]
    Placement {
        /// The instance.
        instance: InstanceId,
        /// Its host.
        host: HostId,
        /// What is wrong (the text `restore` gives).
        what: &'static str,
    },
    /// A host sits in the index class of another SKU, zone or state.
    #[error("{host} is in the index of another {what}")]
    Pool {
        /// The host.
        host: HostId,
        /// `"SKU"`, `"zone"` or `"state"`.
        what: &'static str,
    },
    /// An index class differs from one rebuilt from its hosts.
    #[error("index of {sku} in {zone} (planned: {planned}): {what} differ from a rebuild")]
    IndexClass {
        /// The class's SKU.
        sku: SkuId,
        /// The class's zone.
        zone: ZoneId,
        /// Whether it is the class of planned hosts.
        planned: bool,
        /// What differs: `"slot lists"` (slot to host), `"free slots"`,
        /// `"host counts"`, `"tree shapes"`, `"slot vectors"`,
        /// `"inner-node maxima"`, `"memory-given-CPU arrays"`, or `"key and
        /// pool"` (the class records another SKU, zone or state than its
        /// key in the index).
        what: &'static str,
    },
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
    /// An app's standbys are more than its target, or name an instance
    /// that is missing, of another app or a move's replacement (see
    /// [`standby`](crate::standby)).
    #[error("standby instances of app {0} are inconsistent")]
    Standby(AppId),
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
    /// provision request, no dedicated app's instance sharing a host with
    /// another tenant's or a shared app's (see [`isolation`](crate::isolation)).
    /// Costs O(hosts + instances); meant for tests and
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
                    let sku = self.hosts[hix].sku();
                    if let Some(what) = self.placement_problem(inst.app(), sku, parts, None) {
                        return Err(InvariantViolation::Placement {
                            instance: *id,
                            host: *host,
                            what,
                        });
                    }
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
            let pool = [
                (class.sku == h.sku(), "SKU"),
                (class.zone == h.zone(), "zone"),
                (class.planned == (h.state == HostState::Planned), "state"),
            ];
            if let Some((_, what)) = pool.iter().find(|(same, _)| !same) {
                return Err(InvariantViolation::Pool { host: *id, what });
            }
        }
        self.check_index()?;
        for (aix, (id, a)) in self.apps.iter().enumerate() {
            let counts = &zone_counts[aix];
            if (0..self.zones.len()).any(|z| counts[z] != a.zone_count(z)) {
                return Err(InvariantViolation::ZoneCounts(id.clone()));
            }
        }
        for (id, h) in &self.hosts {
            let planned = h.state == HostState::Planned;
            let ordered = self.provision_of.contains_key(id);
            let idle = h.instances.is_empty() && !self.warm.is_pool_host(*id);
            if (planned && (idle || !ordered)) || (!planned && ordered) {
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
        if let Some((host, instance, what)) = self.isolation_problem() {
            return Err(InvariantViolation::Placement {
                instance,
                host,
                what,
            });
        }
        self.check_standby()?;
        Ok(())
    }

    /// Compare every index class with one rebuilt from the hosts that
    /// name it: slot to host and host to slot, the free slots, and every
    /// vector of the tree (slots, inner-node maxima, memory-given-CPU
    /// arrays).
    fn check_index(&self) -> Result<(), InvariantViolation> {
        let mut fresh: Vec<ClassIndex> = self
            .classes
            .values()
            .map(|c| {
                let sku = &self.skus[c.sku];
                ClassIndex::new(
                    c.sku,
                    c.zone,
                    c.planned,
                    sku.allocatable.cpu_millis(),
                    sku.numa_nodes.len() <= 1,
                )
            })
            .collect();
        // Slots in increasing order per class, as a restore inserts them.
        let mut members: Vec<Vec<(u32, HostId)>> = vec![Vec::new(); self.classes.len()];
        for (id, h) in &self.hosts {
            if let Some(m) = members.get_mut(h.class()) {
                m.push((h.slot, *id));
            }
        }
        for (c, m) in members.iter_mut().enumerate() {
            m.sort_unstable();
            for &(slot, id) in m.iter() {
                // Hosts named in `members` are in the map.
                let bounds = self.hosts.get(&id).map(|h| self.bounds_of(h));
                if !fresh[c].insert(slot, id, bounds.unwrap_or_default()) {
                    return Err(InvariantViolation::Index(id));
                }
            }
        }
        for ((&(sku, zone, planned), class), fresh) in self.classes.iter().zip(&mut fresh) {
            let what = if (class.sku, class.zone, class.planned) != (sku, zone, planned) {
                Some("key and pool")
            } else {
                class.differs_from(fresh)
            };
            if let Some(what) = what {
                return Err(InvariantViolation::IndexClass {
                    sku: self.skus[sku].id.clone(),
                    zone: self.zone_id(zone).clone(),
                    planned,
                    what,
                });
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
        s.add_zone("a".parse().unwrap(), ZoneState::Up, s.now())
            .unwrap();
        s.add_sku(sku("g7", 4_000, 8_192), s.now()).unwrap();
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
        s.add_app(app, s.now()).unwrap();
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

/// One corruption per kind of violation the audit looks for, each made
/// directly in the state (as a bug would leave it) and each reported as
/// that kind.
#[cfg(test)]
mod corruption_tests {
    use super::*;
    use crate::app::NumaPolicy;
    use crate::catalog::tests::sku;
    use crate::index::BoundKey;
    use crate::scheduler::Parts;
    use crate::{HostSpec, Timestamp};

    fn r(cpu: u64, mem: u64) -> Resources {
        Resources::cpu_mem(cpu, mem).unwrap()
    }

    /// Zones a and b; host 1 of g7 (one node) and host 2 of n2 (two nodes)
    /// in a; `web` (1 vCPU) on host 1 and `single` (single-node, 3.5
    /// vCPU, more than host 1 has left) on host 2; and an empty class (g7, b), its host removed.
    fn region() -> (Scheduler, InstanceId, InstanceId) {
        let mut s = Scheduler::default();
        for z in ["a", "b"] {
            s.add_zone(z.parse().unwrap(), ZoneState::Up, s.now())
                .unwrap();
        }
        s.add_sku(sku("g7", 4_000, 8_192), s.now()).unwrap();
        // The same shape under another name.
        s.add_sku(sku("g7b", 4_000, 8_192), s.now()).unwrap();
        let mut n2 = sku("n2", 8_000, 16_384);
        n2.numa_nodes = vec![Resources::new(4_000, 8_192, 5_000, 0).unwrap(); 2];
        s.add_sku(n2, s.now()).unwrap();
        let host = |id, sku: &str, zone: &str| HostSpec {
            id: HostId(id),
            sku: sku.parse().unwrap(),
            zone: zone.parse().unwrap(),
        };
        let _ = s.add_host(host(1, "g7", "a"), Timestamp(0)).unwrap();
        let _ = s.add_host(host(2, "n2", "a"), Timestamp(0)).unwrap();
        let _ = s.add_host(host(3, "g7", "b"), Timestamp(0)).unwrap();
        let _ = s.remove_host(HostId(3), Timestamp(0)).unwrap();
        let mut web = AppSpec::new(
            "web".parse().unwrap(),
            "t".parse().unwrap(),
            r(1_000, 1_024),
        );
        web.spread.zones = vec!["a".parse().unwrap()];
        s.add_app(web, s.now()).unwrap();
        let mut single = AppSpec::new(
            "single".parse().unwrap(),
            "t".parse().unwrap(),
            r(3_500, 2_048),
        );
        single.numa = NumaPolicy::SingleNode;
        s.add_app(single, s.now()).unwrap();
        let d = s.place(&"web".parse().unwrap(), Timestamp(1)).unwrap();
        let web = d.placements[0].instance;
        let d = s.place(&"single".parse().unwrap(), Timestamp(1)).unwrap();
        let single = d.placements[0].instance;
        assert_eq!(d.placements[0].host, HostId(2));
        assert_eq!(s.check_invariants(), Ok(()));
        (s, web, single)
    }

    fn set_parts(s: &mut Scheduler, id: InstanceId, parts: Vec<(u8, Resources)>) {
        let Some(inst) = s.instances.get_mut(&id) else {
            panic!("no {id}");
        };
        let InstanceState::Placed { parts: p, .. } = &mut inst.state else {
            panic!("{id} is not placed");
        };
        *p = Parts::from_vec(parts);
    }

    fn node_of(s: &Scheduler, id: InstanceId) -> u8 {
        match &s.instances.get(&id).unwrap().state {
            InstanceState::Placed { parts, .. } => parts[0].0,
            InstanceState::Pending { .. } => panic!("{id} is pending"),
        }
    }

    fn placement(instance: InstanceId, host: u64, what: &'static str) -> InvariantViolation {
        InvariantViolation::Placement {
            instance,
            host: HostId(host),
            what,
        }
    }

    /// The placement checks `restore` makes, made on the live state.
    #[test]
    fn placements_restore_would_refuse_are_reported() {
        let (mut s, web, _) = region();
        set_parts(&mut s, web, vec![(0, r(500, 1_024))]);
        let want = placement(web, 1, "parts do not add up to the app's resources");
        assert_eq!(s.check_invariants(), Err(want));

        let (mut s, _, single) = region();
        set_parts(
            &mut s,
            single,
            vec![(0, r(1_750, 1_024)), (1, r(1_750, 1_024))],
        );
        let want = placement(single, 2, "single-node app spread over several nodes");
        assert_eq!(s.check_invariants(), Err(want));

        // Listed twice, halves of the whole: the node's sum still matches
        // the host's recorded usage.
        let (mut s, _, single) = region();
        let n = node_of(&s, single);
        set_parts(
            &mut s,
            single,
            vec![(n, r(1_750, 1_024)), (n, r(1_750, 1_024))],
        );
        let want = placement(single, 2, "NUMA node listed twice");
        assert_eq!(s.check_invariants(), Err(want));

        let (mut s, web, _) = region();
        set_parts(&mut s, web, vec![(1, r(1_000, 1_024))]);
        let want = placement(web, 1, "NUMA node out of range");
        assert_eq!(s.check_invariants(), Err(want));
    }

    /// Usage agrees with the instances, but exceeds what the node has.
    #[test]
    fn overcommit_is_reported() {
        let (mut s, _, _) = region();
        let (_, g7) = s.skus.get_index_mut(0).unwrap();
        g7.numa_nodes[0] = Resources::new(500, 8_192, 10_000, 0).unwrap();
        assert_eq!(
            s.check_invariants(),
            Err(InvariantViolation::Overcommit {
                host: HostId(1),
                node: 0,
                dimension: Dimension::Cpu,
                allocated: 1_000,
                capacity: 500
            })
        );
    }

    /// A host recorded under another SKU, zone or state than its class.
    #[test]
    fn hosts_in_the_wrong_pool_are_reported() {
        let pool = |what| {
            Err(InvariantViolation::Pool {
                host: HostId(1),
                what,
            })
        };
        let (mut s, _, _) = region();
        s.hosts[0].corrupt_pool(1, 0);
        assert_eq!(s.check_invariants(), pool("SKU"));
        let (mut s, _, _) = region();
        s.hosts[0].corrupt_pool(0, 1);
        assert_eq!(s.check_invariants(), pool("zone"));
        let (mut s, _, _) = region();
        s.hosts[0].state = HostState::Planned;
        assert_eq!(s.check_invariants(), pool("state"));
    }

    /// Host to slot, slot to host, the free slots, the host count and
    /// every array of the tree, each corrupted on its own.
    #[test]
    fn index_classes_differing_from_a_rebuild_are_reported() {
        let class = |what| {
            Err(InvariantViolation::IndexClass {
                sku: "g7".parse().unwrap(),
                zone: "a".parse().unwrap(),
                planned: false,
                what,
            })
        };
        let (mut s, _, _) = region();
        s.hosts[0].slot = 3;
        assert_eq!(
            s.check_invariants(),
            Err(InvariantViolation::Index(HostId(1)))
        );

        let (mut s, _, _) = region();
        let c = s.hosts[0].class();
        s.classes[c].slots.push(Some(HostId(9)));
        assert_eq!(s.check_invariants(), class("slot lists"));

        let (mut s, _, _) = region();
        s.classes[c].free_slots.insert(4);
        assert_eq!(s.check_invariants(), class("free slots"));

        let (mut s, _, _) = region();
        s.classes[c].hosts += 1;
        assert_eq!(s.check_invariants(), class("host counts"));

        // The reclaim arrays' inner lanes are brought up to date before a
        // search that needs them: a stale lane is no violation, a lane
        // wrong after the refresh is.
        for key in [BoundKey::FreeTotal, BoundKey::ReclaimTotal] {
            let (mut s, _, _) = region();
            s.classes[c].tree.refresh_reclaim();
            s.classes[c].tree.corrupt_inner(key as usize, false);
            assert_eq!(s.check_invariants(), class("inner-node maxima"), "{key:?}");
        }

        let (mut s, _, _) = region();
        s.classes[c].tree.corrupt_inner(0, true);
        assert_eq!(s.check_invariants(), class("memory-given-CPU arrays"));

        // The slot vectors: a leaf that no host's bounds explain.
        let (mut s, _, _) = region();
        let mut b = s.classes[c].tree.leaf(0);
        b.free_total[0] += 1;
        let slot = s.classes[c].slots.len() as u32;
        s.classes[c].tree.set(slot, b);
        assert_eq!(s.check_invariants(), class("slot vectors"));

        // An empty class (its host removed) keyed as (g7, b) but
        // recording zone a.
        let (mut s, _, _) = region();
        let empty = s.classes.get_index_of(&(0, 1, false)).unwrap();
        s.classes[empty].zone = 0;
        assert_eq!(
            s.check_invariants(),
            Err(InvariantViolation::IndexClass {
                sku: "g7".parse().unwrap(),
                zone: "b".parse().unwrap(),
                planned: false,
                what: "key and pool",
            })
        );
    }
}
