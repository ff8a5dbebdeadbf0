//! Repacking: how few hosts could carry the instances running now.
//!
//! [`Scheduler::plan_repack`] packs, from scratch, the instances of every
//! pool of ready hosts (one SKU in one zone that is up) onto that pool's
//! hosts with the [`pack`] engine, starting from where the
//! instances run now, and returns the moves that would empty the most
//! hosts. It is a query: nothing changes, so it is safe to call at any
//! time, and the same state and options give the same plan.
//!
//! Instances only move within their pool, so every constraint that holds
//! today still holds after the moves: the SKU (substitution rules,
//! accelerators, local disk) and the zone (spread) stay the same, and an
//! instance stays whole on one NUMA node. What stays put:
//!
//! * instances split over several NUMA nodes, and instances with a move in
//!   flight (their capacity is taken off their hosts);
//! * everything on cordoned and planned hosts, and in zones that are not up.
//!
//! On SKUs with several NUMA nodes each node is a bin of its own, so the
//! engine minimises nodes used; a host is freed when all its nodes are. A
//! pool whose packing would not carry its instances on fewer hosts keeps
//! its arrangement (no moves), so a plan never uses more hosts than today.
//!
//! Pools are packed in windows of 64 hosts (in host id order): an
//! instance moves only within its window, which keeps every packing small
//! and the whole plan fast on large regions. Within a window the packed
//! bins are matched to hosts of equal capacity so that as many instances
//! as possible stay where they are.
//!
//! The plan's moves are a target arrangement, not a sequence: applying them
//! one by one may need an order (or a spare host) in which each target has
//! room when its move starts. To free hosts with few moves, in an order
//! that is safe at every step, use [`Scheduler::plan_consolidation`]
//! (which hosts to empty, and the ordered moves, with hosts freed,
//! instances moved and the cost saved) and carry it out with
//! [`Scheduler::start_consolidation`] through the move mechanism
//! ([`Scheduler::complete_move`] / [`Scheduler::abort_move`]) within each
//! app's disruption budget. The [`budget`](RepackOptions::budget) bounds
//! the improvement effort in the engine's work units, shared among pools by
//! their instance counts.
//!
//! ```
//! use trimline::repack::RepackOptions;
//! use trimline::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut s = Scheduler::default();
//! s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
//! s.add_sku(SkuSpec {
//!     id: "g7".parse()?,
//!     family: "g7".parse()?,
//!     generation: 7,
//!     arch: Arch::X86_64,
//!     cpu_vendor: "intel".parse()?,
//!     allocatable: Resources::cpu_mem(16_000, 65_536)?,
//!     perf_score: 100,
//!     numa_nodes: vec![],
//!     features: Default::default(),
//!     accelerator_model: None,
//!     local_disk: None,
//!     price_nanos_per_second: 180_000,
//! }, Timestamp(0))?;
//! for id in 1..=4 {
//!     let spec = HostSpec { id: HostId(id), sku: "g7".parse()?, zone: "a".parse()? };
//!     let _ = s.add_host(spec, Timestamp(0))?;
//! }
//! let big = AppSpec::new("batch".parse()?, "t".parse()?, Resources::cpu_mem(12_000, 8_192)?);
//! let web = AppSpec::new("web".parse()?, "t".parse()?, Resources::cpu_mem(4_000, 8_192)?);
//! s.add_app(big, Timestamp(0))?;
//! s.add_app(web, Timestamp(0))?;
//! // Four batch instances take a host each; four web instances fill the
//! // rest of each host; then the batch job ends.
//! let _ = s.scale(&"batch".parse()?, 4, Timestamp(1))?;
//! let _ = s.scale(&"web".parse()?, 4, Timestamp(1))?;
//! let _ = s.scale(&"batch".parse()?, 0, Timestamp(2))?;
//!
//! let plan = s.plan_repack(&RepackOptions::default());
//! assert_eq!((plan.hosts_before, plan.hosts_after), (4, 1));
//! assert_eq!(plan.freed.len(), 3);
//! assert_eq!(plan.moves.len(), 3);
//! # Ok(())
//! # }
//! ```

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use smallvec::SmallVec;

use crate::decision::{
    Count, Decisions, HostList, Placement, Provision, ProvisionId, ProvisionReason,
};
use crate::error::Error;
use crate::ids::{AppId, HostId, InstanceId, PLANNED_HOST_BIT, SkuId, ZoneId};
use crate::instances::{MAX_INSTANCES, Parts};
use crate::migration::MoveReason;
use crate::pack::{self, Bins, PackOptions};
use crate::resources::Resources;
use crate::scheduler::{HostState, InstanceState, Scheduler, ZoneState};
use crate::substitution::NoteBasis;
use crate::time::Timestamp;

/// How hard [`Scheduler::plan_repack`] tries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RepackOptions {
    /// Work units of the engine's improvement phase over all pools, shared
    /// by instance count (see [`PackOptions::budget`]); 0 keeps the best
    /// greedy packing.
    pub budget: u64,
    /// Seed of the engine's tie-breaking.
    pub seed: u64,
}

impl Default for RepackOptions {
    fn default() -> Self {
        RepackOptions {
            budget: pack::DEFAULT_BUDGET,
            seed: 0,
        }
    }
}

impl RepackOptions {
    /// Options with this work budget and seed 0.
    pub fn with_budget(budget: u64) -> RepackOptions {
        RepackOptions { budget, seed: 0 }
    }
}

/// One instance to move, within its pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RepackMove {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// Where it runs now.
    pub from: HostId,
    /// Where the plan puts it.
    pub to: HostId,
    /// The NUMA node on `to`.
    pub numa_node: u8,
}

/// What the plan does to one pool (one SKU in one zone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PoolRepack {
    /// The pool's SKU.
    pub sku: SkuId,
    /// The pool's zone.
    pub zone: ZoneId,
    /// Ready hosts in the pool.
    pub hosts: usize,
    /// Instances the engine could move.
    pub movable: usize,
    /// Instances that stay put (split over nodes, or moving already).
    pub pinned: usize,
    /// Hosts carrying instances now.
    pub hosts_before: usize,
    /// Hosts carrying instances after the plan.
    pub hosts_after: usize,
    /// A lower bound on the bins (hosts, or NUMA nodes on multi-node SKUs)
    /// any packing of the pool needs: `hosts_after` at this bound is optimal.
    pub lower_bound: usize,
}

/// The result of [`Scheduler::plan_repack`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[must_use]
pub struct RepackPlan {
    /// The moves, by pool, then instance id.
    pub moves: Vec<RepackMove>,
    /// Per pool, in SKU then zone declaration order.
    pub pools: Vec<PoolRepack>,
    /// Hosts carrying instances now, over all pools.
    pub hosts_before: usize,
    /// Hosts carrying instances after the plan.
    pub hosts_after: usize,
    /// Hosts that carry instances now and none after the plan, ascending.
    pub freed: Vec<HostId>,
    /// Work units the engine spent.
    pub work: u64,
}

impl fmt::Display for RepackMove {
    /// `move i-3 of web from host-1 to host-2, NUMA node 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "move {} of {} from {} to {}, NUMA node {}",
            self.instance, self.app, self.from, self.to, self.numa_node
        )
    }
}

impl fmt::Display for PoolRepack {
    /// `g7 in zone a: 8 of 10 ready hosts carry instances, 5 after the plan
    /// (…); 20 instances movable, 2 stay put`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in zone {}: {} of {} carry instances, {} after the plan (",
            self.sku,
            self.zone,
            self.hosts_before,
            Count(self.hosts as u64, "ready host", "ready hosts"),
            self.hosts_after
        )?;
        if self.hosts_after <= self.lower_bound {
            f.write_str("optimal: ")?;
        }
        write!(
            f,
            "no packing needs fewer than {}); {} movable, {} stay put",
            Count(
                self.lower_bound as u64,
                "host or NUMA node",
                "hosts or NUMA nodes"
            ),
            Count(self.movable as u64, "instance", "instances"),
            self.pinned
        )
    }
}

impl fmt::Display for RepackPlan {
    /// A summary line, then one line per pool and one per move.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "repack: {} carry instances now, {} after the plan; {}, {} freed",
            Count(self.hosts_before as u64, "host", "hosts"),
            self.hosts_after,
            Count(self.moves.len() as u64, "move", "moves"),
            Count(self.freed.len() as u64, "host", "hosts"),
        )?;
        if !self.freed.is_empty() {
            write!(f, " ({})", HostList(&self.freed))?;
        }
        write!(f, "; {} work units spent", self.work)?;
        for p in &self.pools {
            write!(f, "\n  {p}")?;
        }
        for m in &self.moves {
            write!(f, "\n  {m}")?;
        }
        Ok(())
    }
}

/// Hosts a window packs together: instances move only within theirs.
const WINDOW: usize = 64;

/// One window of a pool being packed.
struct Window<'a> {
    sku: usize,
    hosts: &'a [HostId],
    budget: u64,
    seed: u64,
}

/// One pool being packed.
struct Pool {
    sku: usize,
    zone: usize,
    hosts: Vec<HostId>,
}

impl Scheduler {
    /// The ready hosts of up zones, grouped into pools of one SKU in one
    /// zone, in (SKU, zone) order, each pool's hosts in host order.
    fn ready_pools(&self) -> Vec<Pool> {
        let mut pools: Vec<Pool> = Vec::new();
        let mut pool_of: crate::hash::Map<(usize, usize), usize> = crate::hash::Map::default();
        for (id, h) in &self.hosts {
            let zone_up = self.zones.get_index(h.zone()).map(|(_, s)| *s) == Some(ZoneState::Up);
            // Dedicated hosts stay as they are (see `isolation`).
            if h.state != HostState::Ready || !zone_up || h.dedicated {
                continue;
            }
            let key = (h.sku(), h.zone());
            let p = *pool_of.entry(key).or_insert_with(|| {
                pools.push(Pool {
                    sku: key.0,
                    zone: key.1,
                    hosts: Vec::new(),
                });
                pools.len() - 1
            });
            pools[p].hosts.push(*id);
        }
        pools.sort_by_key(|p| (p.sku, p.zone));
        pools
    }
}

impl Scheduler {
    /// Plan how few hosts could carry the instances running now; see the
    /// [module documentation](crate::repack). A query: nothing changes.
    pub fn plan_repack(&self, options: &RepackOptions) -> RepackPlan {
        let mut pools = self.ready_pools();
        let total: usize = pools
            .iter()
            .flat_map(|p| &p.hosts)
            .filter_map(|id| self.hosts.get(id))
            .map(|h| h.instances.len())
            .sum();
        // Instances with a move in flight, either end, stay put.
        let moving: crate::hash::Set<InstanceId> = self
            .moves
            .iter()
            .flat_map(|(from, to)| [*from, *to])
            .collect();
        let mut plan = RepackPlan::default();
        for pool in &mut pools {
            pool.hosts.sort_unstable();
            let Some((sku_id, _)) = self.skus.get_index(pool.sku) else {
                continue;
            };
            let mut report = PoolRepack {
                sku: sku_id.clone(),
                zone: self.zone_id(pool.zone).clone(),
                hosts: 0,
                movable: 0,
                pinned: 0,
                hosts_before: 0,
                hosts_after: 0,
                lower_bound: 0,
            };
            for window in pool.hosts.chunks(WINDOW) {
                let count: usize = window
                    .iter()
                    .filter_map(|id| self.hosts.get(id))
                    .map(|h| h.instances.len())
                    .sum();
                // Budget shared by instance count; u128 cannot overflow.
                let budget =
                    (u128::from(options.budget) * count as u128 / total.max(1) as u128) as u64;
                let window = Window {
                    sku: pool.sku,
                    hosts: window,
                    budget,
                    seed: options.seed,
                };
                self.repack_window(&window, &moving, &mut report, &mut plan);
            }
            plan.hosts_before += report.hosts_before;
            plan.hosts_after += report.hosts_after;
            plan.pools.push(report);
        }
        plan.freed.sort_unstable();
        plan
    }

    /// Pack one window of a pool, adding its figures to `report` and its
    /// moves and freed hosts to `plan`.
    fn repack_window(
        &self,
        w: &Window<'_>,
        moving: &crate::hash::Set<InstanceId>,
        report: &mut PoolRepack,
        plan: &mut RepackPlan,
    ) {
        let Some(sku) = self.skus.get_index(w.sku).map(|(_, s)| s) else {
            return;
        };
        let nodes = sku.numa_nodes.len().max(1);
        // Bins: (host, node), host-major. Capacity: the node minus what
        // pinned instances hold on it.
        let mut caps: Vec<Vec<u64>> = Vec::with_capacity(w.hosts.len() * nodes);
        let mut bin_host: Vec<(HostId, u8)> = Vec::with_capacity(caps.capacity());
        let mut items: Vec<Vec<u64>> = Vec::new();
        let mut item_ids: Vec<InstanceId> = Vec::new();
        let mut start: Vec<usize> = Vec::new();
        let mut pinned_hosts: Vec<bool> = vec![false; w.hosts.len()];
        let mut pinned = 0usize;
        let mut before = 0usize;
        for (hi, id) in w.hosts.iter().enumerate() {
            let Some(h) = self.hosts.get(id) else {
                continue;
            };
            let first = caps.len();
            for n in 0..nodes {
                let cap = sku.numa_nodes.get(n).copied().unwrap_or(sku.allocatable);
                caps.push(cap.as_array().iter().map(|&v| u64::from(v)).collect());
                // At most MAX_NUMA_NODES nodes, so n fits a u8.
                bin_host.push((*id, n as u8));
            }
            if !h.instances.is_empty() {
                before += 1;
            }
            let mut ids = h.instances.clone();
            ids.sort_unstable();
            for iid in ids {
                let Some(inst) = self.instances.get(&iid) else {
                    continue;
                };
                let InstanceState::Placed { parts, .. } = &inst.state else {
                    continue;
                };
                let whole = parts.len() == 1 && !moving.contains(&iid);
                if whole {
                    let (node, amount) = parts[0];
                    items.push(amount.as_array().iter().map(|&v| u64::from(v)).collect());
                    item_ids.push(iid);
                    start.push(first + usize::from(node));
                } else {
                    pinned += 1;
                    pinned_hosts[hi] = true;
                    for (node, amount) in parts {
                        if let Some(cap) = caps.get_mut(first + usize::from(*node)) {
                            for (c, a) in cap.iter_mut().zip(amount.as_array()) {
                                *c = c.saturating_sub(u64::from(a));
                            }
                        }
                    }
                }
            }
        }
        report.hosts += w.hosts.len();
        report.movable += items.len();
        report.pinned += pinned;
        report.hosts_before += before;
        let keep = |report: &mut PoolRepack, lower_bound: usize| {
            report.hosts_after += before;
            report.lower_bound += lower_bound;
        };
        if items.is_empty() {
            keep(report, before);
            return;
        }
        let options = PackOptions {
            budget: w.budget,
            seed: w.seed,
            warm_start: Some(start.clone()),
        };
        // The warm start is today's feasible arrangement, so the engine can
        // only fail on a corrupt state; the window then stays as it is.
        let bins = Bins::List(caps);
        let Ok(packing) = pack::pack(&bins, &items, &options) else {
            keep(report, before);
            return;
        };
        plan.work = plan.work.saturating_add(packing.work);
        // `bins` was built from the capacity list just above.
        let Bins::List(caps) = &bins else {
            return;
        };
        let bin_of = keep_in_place(&packing.bins, &packing.bin_of, &start, caps);
        let mut used = pinned_hosts;
        let mut moves = Vec::new();
        for (i, &bin) in bin_of.iter().enumerate() {
            used[bin / nodes] = true;
            if bin != start[i] {
                let (to, numa_node) = bin_host[bin];
                let (from, _) = bin_host[start[i]];
                let app = self
                    .instances
                    .get(&item_ids[i])
                    .and_then(|inst| self.apps.get_index(inst.app()))
                    .map(|(id, _)| id.clone());
                if let Some(app) = app {
                    moves.push(RepackMove {
                        instance: item_ids[i],
                        app,
                        from,
                        to,
                        numa_node,
                    });
                }
            }
        }
        let after = used.iter().filter(|u| **u).count();
        if after >= before {
            // Fewer NUMA nodes may still take more hosts: then (and when
            // nothing is gained) the window stays as it is.
            keep(report, packing.lower_bound);
            return;
        }
        plan.moves.extend(moves);
        for (hi, id) in w.hosts.iter().enumerate() {
            let busy = self.hosts.get(id).is_some_and(|h| !h.instances.is_empty());
            if busy && !used[hi] {
                plan.freed.push(*id);
            }
        }
        report.hosts_after += after;
        report.lower_bound += packing.lower_bound;
    }
}

/// Relabel a packing's bins among bins of equal capacity so that as many
/// items as possible stay where they are (`start`): each packed bin, fullest
/// first, goes to the unclaimed bin of its capacity that holds most of its
/// items now (ties: lower index). Returns each item's bin.
fn keep_in_place(
    bins: &[Vec<usize>],
    bin_of: &[usize],
    start: &[usize],
    caps: &[Vec<u64>],
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..bins.len()).filter(|&b| !bins[b].is_empty()).collect();
    order.sort_by_key(|&b| (std::cmp::Reverse(bins[b].len()), b));
    let mut claimed = vec![false; bins.len()];
    let mut label: Vec<usize> = (0..bins.len()).collect();
    let mut votes: crate::hash::Map<usize, usize> = crate::hash::Map::default();
    for &b in &order {
        votes.clear();
        for &i in &bins[b] {
            *votes.entry(start[i]).or_insert(0) += 1;
        }
        let best = votes
            .iter()
            .filter(|(t, _)| !claimed[**t] && caps[**t] == caps[b])
            .max_by_key(|(t, n)| (**n, std::cmp::Reverse(**t)))
            .map(|(t, _)| *t);
        let target = best.or_else(|| (0..bins.len()).find(|&t| !claimed[t] && caps[t] == caps[b]));
        // Each packed bin has a bin of its capacity (itself), so one is
        // always unclaimed; if not, keep the packing's own labels.
        let Some(target) = target else {
            return bin_of.to_vec();
        };
        claimed[target] = true;
        label[b] = target;
    }
    bin_of.iter().map(|&b| label[b]).collect()
}

/// What [`Scheduler::plan_consolidation`] may do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConsolidationOptions {
    /// Most hosts to free; `None` frees every host that can be freed.
    #[serde(default)]
    pub max_hosts: Option<u32>,
    /// Most instances to move in all; a host whose instances would pass
    /// the limit is not emptied. `None` for no limit.
    #[serde(default)]
    pub max_moves: Option<u32>,
    /// Also replace hosts with fewer or cheaper new ones ("replace", next
    /// to "delete"); `None` only empties hosts onto the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<ReplaceOptions>,
}

impl ConsolidationOptions {
    /// Options freeing at most `max_hosts` hosts with at most `max_moves`
    /// moves (`None`: no limit).
    pub fn new(max_hosts: Option<u32>, max_moves: Option<u32>) -> ConsolidationOptions {
        ConsolidationOptions {
            max_hosts,
            max_moves,
            replace: None,
        }
    }

    /// These options, also replacing hosts as `replace` allows.
    pub fn with_replace(mut self, replace: ReplaceOptions) -> ConsolidationOptions {
        self.replace = Some(replace);
        self
    }
}

/// Which new hosts a replacing consolidation may provision (see
/// [`Scheduler::plan_consolidation`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReplaceOptions {
    /// The SKUs new hosts may be of. Empty: any SKU. Either way every
    /// instance moved onto a new host must accept its SKU by its app's
    /// substitution rules, in a tier no worse than the one it runs in.
    #[serde(default)]
    pub skus: Vec<SkuId>,
    /// Most new hosts in the plan; `None` for no limit.
    #[serde(default)]
    pub max_new_hosts: Option<u32>,
}

impl ReplaceOptions {
    /// New hosts of `skus` (empty: any SKU the apps accept), at most
    /// `max_new_hosts` of them (`None`: no limit).
    pub fn new(skus: Vec<SkuId>, max_new_hosts: Option<u32>) -> ReplaceOptions {
        ReplaceOptions {
            skus,
            max_new_hosts,
        }
    }
}

/// A new host a [`ConsolidationPlan`] provisions to replace others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplacementHost {
    /// The planned host's id, as the [`Provision`] of
    /// [`Scheduler::start_consolidation`] names it (and moves' `to` do):
    /// report it with [`Scheduler::host_ready`].
    pub host: HostId,
    /// Its SKU.
    pub sku: SkuId,
    /// Its zone (the zone of the hosts it replaces).
    pub zone: ZoneId,
    /// Its price, in nanos per second.
    pub price_nanos_per_second: u64,
    /// The hosts whose instances it takes, which the plan empties.
    pub replaces: Vec<HostId>,
}

/// Why a SKU gives no new host to a replacing consolidation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReplaceRuledOut {
    /// Not among [`ReplaceOptions::skus`].
    NotListed,
    /// No host that could be replaced has instances whose apps all accept
    /// the SKU (substitution rules, in a tier no worse than today's) and
    /// fit on it.
    NotAccepted,
    /// Its offering cannot provide a host now in any zone with such hosts
    /// (not offered, out of stock or backed off).
    NotOffered,
    /// Replacing hosts with hosts of it would not cost less.
    NotCheaper,
    /// It would save, but [`ReplaceOptions::max_new_hosts`] or the plan's
    /// limits left no room for it.
    Limits,
}

/// A SKU that gives no new host, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkuRuledOut {
    /// The SKU.
    pub sku: SkuId,
    /// Why (the furthest a zone got).
    pub reason: ReplaceRuledOut,
}

/// What a replacing consolidation looked at and why it did not replace
/// more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplaceReport {
    /// Hosts that could be replaced: ready, carrying only rigid instances
    /// that may move, not emptied or filled by the plan's other moves.
    pub candidates: usize,
    /// SKUs of the catalog considered.
    pub skus_considered: usize,
    /// The SKUs that give no new host, in catalog order.
    pub ruled_out: Vec<SkuRuledOut>,
}

/// One step of a [`ConsolidationPlan`]: move one instance, within its pool,
/// to help empty the host `frees`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConsolidationMove {
    /// The instance.
    pub instance: InstanceId,
    /// Its app.
    pub app: AppId,
    /// Where it runs now.
    pub from: HostId,
    /// Where its replacement goes: a ready host, or a new host of the
    /// plan's [`provisions`](ConsolidationPlan::provisions).
    pub to: HostId,
    /// The NUMA node on `to`.
    pub numa_node: u8,
    /// The host this move helps empty (`from`).
    pub frees: HostId,
}

/// The result of [`Scheduler::plan_consolidation`]: hosts to empty and the
/// ordered moves that empty them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[must_use]
pub struct ConsolidationPlan {
    /// The moves in the order to start them, host by host in the order of
    /// `freed`. Each has room at its step, whichever earlier moves are in
    /// flight or done: no step needs a spare host.
    pub moves: Vec<ConsolidationMove>,
    /// The hosts emptied: first those emptied onto the hosts kept,
    /// cheapest to empty first (fewest moves, then the most expensive SKU,
    /// then host id); then those replaced, new host by new host.
    pub freed: Vec<HostId>,
    /// Hosts freed (`freed.len()`).
    pub hosts_freed: usize,
    /// Instances moved (`moves.len()`).
    pub instances_moved: usize,
    /// Ready hosts carrying instances now, over all pools.
    pub hosts_before: usize,
    /// Ready hosts carrying instances once the plan is carried out (new
    /// hosts included).
    pub hosts_after: usize,
    /// The price of the freed hosts less that of the new hosts, in nanos
    /// per second (exact): `cost_before - cost_after`.
    pub cost_saved_nanos_per_second: u64,
    /// The price of the ready hosts carrying instances now, in nanos per
    /// second.
    #[serde(default)]
    pub cost_before_nanos_per_second: u64,
    /// The price of the ready hosts carrying instances once the plan is
    /// carried out, new hosts included, in nanos per second.
    #[serde(default)]
    pub cost_after_nanos_per_second: u64,
    /// New hosts to provision (when the options allow replacing), in the
    /// order their first move starts; each is planned by
    /// [`Scheduler::start_consolidation`] when its first move starts.
    #[serde(default)]
    pub provisions: Vec<ReplacementHost>,
    /// When the options allow replacing: what was considered and why no
    /// other SKU gave a new host.
    #[serde(default)]
    pub replacement: Option<ReplaceReport>,
    /// The options the plan was made with (a re-plan uses them again).
    pub options: ConsolidationOptions,
}

impl fmt::Display for ConsolidationMove {
    /// `move i-3 of web from host-1 to host-2, NUMA node 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "move {} of {} from {} to {}, NUMA node {}",
            self.instance, self.app, self.from, self.to, self.numa_node
        )
    }
}

impl fmt::Display for ConsolidationPlan {
    /// A summary line, then one line per move.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "consolidation: {} carry instances now, {} after the plan; {} freed",
            Count(self.hosts_before as u64, "host", "hosts"),
            self.hosts_after,
            Count(self.hosts_freed as u64, "host", "hosts"),
        )?;
        if !self.freed.is_empty() {
            write!(f, " ({})", HostList(&self.freed))?;
        }
        write!(
            f,
            " by {}; {} nanos per second saved",
            Count(self.instances_moved as u64, "move", "moves"),
            self.cost_saved_nanos_per_second
        )?;
        if let Some(r) = &self.replacement {
            write!(
                f,
                "\n  replace: {} considered, {} by {}; {} of {} ruled out",
                Count(r.candidates as u64, "host", "hosts"),
                self.cost_before_nanos_per_second,
                self.cost_after_nanos_per_second,
                Count(r.ruled_out.len() as u64, "SKU", "SKUs"),
                r.skus_considered,
            )?;
            let mut reasons: Vec<(ReplaceRuledOut, usize)> = Vec::new();
            for x in &r.ruled_out {
                match reasons.iter_mut().find(|(k, _)| *k == x.reason) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((x.reason, 1)),
                }
            }
            for (i, (reason, n)) in reasons.iter().enumerate() {
                write!(f, "{} {n} {reason}", if i == 0 { ":" } else { "," })?;
            }
        }
        for p in &self.provisions {
            write!(
                f,
                "\n  provision {}: {} in {} at {} nanos per second, replacing {}",
                p.host,
                p.sku,
                p.zone,
                p.price_nanos_per_second,
                HostList(&p.replaces)
            )?;
        }
        for m in &self.moves {
            write!(f, "\n  {m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ReplaceRuledOut {
    /// `not cheaper`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplaceRuledOut::NotListed => "not listed",
            ReplaceRuledOut::NotAccepted => "not accepted by the instances' apps",
            ReplaceRuledOut::NotOffered => "not offered",
            ReplaceRuledOut::NotCheaper => "not cheaper",
            ReplaceRuledOut::Limits => "past the limits",
        })
    }
}

/// What one call of [`Scheduler::start_consolidation`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[must_use]
pub struct ConsolidationStep {
    /// The moves started (in `decisions.moves`, with their replacements in
    /// `decisions.placements`), for the embedder to carry out.
    pub decisions: Decisions,
    /// Moves of the plan in flight (started now or earlier).
    pub in_flight: usize,
    /// Moves of the plan done (the original instance is gone).
    pub done: usize,
    /// Moves of the plan waiting for their app's disruption budget.
    pub waiting: usize,
    /// Instances whose move can no longer be carried out as planned (the
    /// original left its host, or the target host lost its room or left
    /// the pool). Nothing of their host's group was started.
    pub stale: Vec<InstanceId>,
    /// A fresh plan for the current state, made with the same options,
    /// when some move was stale: carry on with it.
    pub replan: Option<ConsolidationPlan>,
}

impl ConsolidationStep {
    /// Whether the plan is carried out: every move done, none in flight,
    /// waiting or stale.
    pub fn is_finished(&self) -> bool {
        self.in_flight == 0 && self.waiting == 0 && self.stale.is_empty()
    }
}

/// Hosts a consolidation window considers together: instances move only
/// within theirs.
const CONSOLIDATION_WINDOW: usize = 256;

/// One ready host of a window being consolidated.
struct Slot {
    id: HostId,
    /// Free capacity per NUMA node.
    free: SmallVec<[Resources; 2]>,
    /// Capacity per NUMA node.
    cap: SmallVec<[Resources; 2]>,
    /// Movable instances: (id, app, amount), biggest first.
    items: Vec<(InstanceId, usize, Resources)>,
    /// It carries an instance that cannot move.
    pinned: bool,
    /// It carries instances now.
    busy: bool,
    /// It takes moves of the plan (so it is not emptied).
    receives: bool,
    /// It is emptied by the plan.
    freed: bool,
}

/// One host a window empties: its moves.
struct Group {
    host: HostId,
    price: u64,
    moves: Vec<ConsolidationMove>,
}

/// Hosts of one zone a replacement considers at most, per SKU and round.
const REPLACE_PREFIX: usize = 64;

/// A host a replacement may empty.
struct Candidate {
    id: HostId,
    zone: usize,
    price: u64,
    /// Used volume (see [`volume`]), summed over NUMA nodes.
    used: u64,
    /// Its instances: (id, app, amount, the tier it runs in), biggest
    /// first.
    items: Vec<(InstanceId, usize, Resources, u32)>,
    /// A replacement of the plan empties it.
    taken: bool,
}

/// Raise a SKU's stage to `to` (a later reason), unless it gave a host.
fn raise(stage: &mut Option<ReplaceRuledOut>, to: ReplaceRuledOut) {
    let rank = |r: ReplaceRuledOut| match r {
        ReplaceRuledOut::NotListed => 0,
        ReplaceRuledOut::NotAccepted => 1,
        ReplaceRuledOut::NotOffered => 2,
        ReplaceRuledOut::NotCheaper => 3,
        ReplaceRuledOut::Limits => 4,
    };
    if let Some(now) = stage {
        if rank(to) > rank(*now) {
            *now = to;
        }
    }
}

/// Put `req` on the first new host and NUMA node it fits (opening a host
/// of capacity `cap` when none has room); returns (host, node).
fn first_fit(
    bins: &mut Vec<SmallVec<[Resources; 2]>>,
    cap: &[Resources],
    req: &Resources,
) -> (usize, u8) {
    for (b, free) in bins.iter_mut().enumerate() {
        for (n, f) in free.iter_mut().enumerate() {
            if req.fits_in(f) {
                *f = f.saturating_sub(req);
                // At most MAX_NUMA_NODES nodes, so n fits a u8.
                return (b, n as u8);
            }
        }
    }
    let mut free: SmallVec<[Resources; 2]> = cap.iter().copied().collect();
    // Candidates' instances each fit a node of `cap` (checked before).
    let n = free.iter().position(|f| req.fits_in(f)).unwrap_or(0);
    if let Some(f) = free.get_mut(n) {
        *f = f.saturating_sub(req);
    }
    bins.push(free);
    // At most MAX_NUMA_NODES nodes, so n fits a u8.
    (bins.len() - 1, n as u8)
}

/// The sum over dimensions of `part` as a fraction of `cap`.
fn volume(part: &Resources, cap: &Resources) -> u64 {
    let (p, c) = (part.as_array(), cap.as_array());
    p.iter()
        .zip(c)
        .map(|(&p, c)| crate::resources::fraction(p, c))
        .sum()
}

impl Scheduler {
    /// The smaller of an app's two disruption budgets (return to preferred
    /// and rebalance): the moves of it a consolidation keeps in flight.
    fn consolidation_budget(&self, app: usize) -> usize {
        let spec = &self.apps[app].spec;
        spec.substitution
            .disruption_budget
            .min(spec.spread.disruption_budget) as usize
    }

    /// Plan which hosts to empty and the ordered moves that empty them,
    /// freeing the most hosts per instance moved. A query: nothing changes,
    /// and the same state and options give the same plan.
    ///
    /// Hosts are pooled as for [`plan_repack`](Self::plan_repack) (ready
    /// hosts of one SKU in one zone that is up), so a move keeps the SKU
    /// (tier and substitution rules), the zone (spread counts) and puts the
    /// whole instance on one NUMA node. A host is emptied only when every
    /// instance on it has a place on a host that keeps carrying instances,
    /// fewest instances first; each instance goes where it fits best. A
    /// host is not emptied if it carries an instance split over NUMA nodes,
    /// one with a move in flight, or one of an app whose disruption budget
    /// is 0. Hosts that receive moves are never emptied, and emptied hosts
    /// never receive, so every move has room at its step even with all the
    /// earlier ones in flight: no step needs a spare host.
    ///
    /// ```
    /// use trimline::repack::ConsolidationOptions;
    /// use trimline::*;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut s = Scheduler::default();
    /// s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
    /// s.add_sku(SkuSpec {
    ///     id: "g7".parse()?,
    ///     family: "g7".parse()?,
    ///     generation: 7,
    ///     arch: Arch::X86_64,
    ///     cpu_vendor: "intel".parse()?,
    ///     allocatable: Resources::cpu_mem(16_000, 65_536)?,
    ///     perf_score: 100,
    ///     numa_nodes: vec![],
    ///     features: Default::default(),
    ///     accelerator_model: None,
    ///     local_disk: None,
    ///     price_nanos_per_second: 180_000,
    /// }, Timestamp(0))?;
    /// for id in 1..=4 {
    ///     let spec = HostSpec { id: HostId(id), sku: "g7".parse()?, zone: "a".parse()? };
    ///     let _ = s.add_host(spec, Timestamp(0))?;
    /// }
    /// let big = AppSpec::new("batch".parse()?, "t".parse()?, Resources::cpu_mem(12_000, 8_192)?);
    /// let web = AppSpec::new("web".parse()?, "t".parse()?, Resources::cpu_mem(4_000, 8_192)?);
    /// s.add_app(big, Timestamp(0))?;
    /// s.add_app(web, Timestamp(0))?;
    /// let _ = s.scale(&"batch".parse()?, 4, Timestamp(1))?;
    /// let _ = s.scale(&"web".parse()?, 4, Timestamp(1))?;
    /// let _ = s.scale(&"batch".parse()?, 0, Timestamp(2))?;
    ///
    /// // One web instance per host: three moves free three hosts.
    /// let plan = s.plan_consolidation(&ConsolidationOptions::default());
    /// assert_eq!((plan.hosts_freed, plan.instances_moved), (3, 3));
    /// assert_eq!(plan.cost_saved_nanos_per_second, 3 * 180_000);
    ///
    /// // Carry it out: start the moves (one per app at a time, its
    /// // disruption budget), complete them, start the next.
    /// let mut now = 3;
    /// loop {
    ///     let step = s.start_consolidation(&plan, Timestamp(now))?;
    ///     if step.is_finished() {
    ///         break;
    ///     }
    ///     for m in &step.decisions.moves {
    ///         let _ = s.complete_move(m.to, Timestamp(now))?;
    ///     }
    ///     now += 1;
    /// }
    /// // All four web instances now run on the one host kept.
    /// let kept = plan.moves[0].to;
    /// assert_eq!(s.host(kept).map(|h| h.instances.len()), Some(4));
    /// assert!(plan.freed.iter().all(|h| s.host(*h).is_some_and(|v| v.instances.is_empty())));
    /// # Ok(())
    /// # }
    /// ```
    pub fn plan_consolidation(&self, options: &ConsolidationOptions) -> ConsolidationPlan {
        let mut pools = self.ready_pools();
        let moving: crate::hash::Set<InstanceId> = self
            .moves
            .iter()
            .flat_map(|(from, to)| [*from, *to])
            .collect();
        let mut plan = ConsolidationPlan {
            options: options.clone(),
            ..ConsolidationPlan::default()
        };
        let mut groups: Vec<Group> = Vec::new();
        for pool in &mut pools {
            pool.hosts.sort_unstable();
            for window in pool.hosts.chunks(CONSOLIDATION_WINDOW) {
                for id in window {
                    if self.hosts.get(id).is_some_and(|h| !h.instances.is_empty()) {
                        plan.hosts_before += 1;
                        plan.cost_before_nanos_per_second = plan
                            .cost_before_nanos_per_second
                            .saturating_add(self.skus[pool.sku].price_nanos_per_second);
                    }
                }
                self.consolidate_window(pool.sku, window, &moving, &mut groups);
            }
        }
        // Any subset of the groups keeps every move feasible (dropping a
        // group only leaves its targets emptier), so the cheapest are kept.
        groups.sort_by(|a, b| {
            (a.moves.len(), std::cmp::Reverse(a.price), a.host).cmp(&(
                b.moves.len(),
                std::cmp::Reverse(b.price),
                b.host,
            ))
        });
        let max_hosts = options.max_hosts.map_or(usize::MAX, |n| n as usize);
        let max_moves = options.max_moves.map_or(usize::MAX, |n| n as usize);
        for g in groups {
            if plan.freed.len() >= max_hosts || plan.moves.len() + g.moves.len() > max_moves {
                break;
            }
            plan.freed.push(g.host);
            plan.cost_saved_nanos_per_second =
                plan.cost_saved_nanos_per_second.saturating_add(g.price);
            plan.moves.extend(g.moves);
        }
        let mut cost_after = plan
            .cost_before_nanos_per_second
            .saturating_sub(plan.cost_saved_nanos_per_second);
        if let Some(replace) = &options.replace {
            let saved =
                self.plan_replacement(&pools, replace, &moving, (max_hosts, max_moves), &mut plan);
            cost_after = cost_after.saturating_sub(saved);
        }
        plan.hosts_freed = plan.freed.len();
        plan.instances_moved = plan.moves.len();
        plan.hosts_after =
            (plan.hosts_before + plan.provisions.len()).saturating_sub(plan.hosts_freed);
        plan.cost_after_nanos_per_second = cost_after;
        plan.cost_saved_nanos_per_second =
            plan.cost_before_nanos_per_second.saturating_sub(cost_after);
        plan
    }

    /// Replace hosts the plan leaves alone with fewer or cheaper new ones,
    /// zone by zone, while that saves: adds the new hosts to
    /// `plan.provisions`, the replaced hosts to `plan.freed` and their
    /// moves, and returns the price saved (the replaced hosts' less the new
    /// hosts').
    ///
    /// Each round tries every SKU in every zone: the hosts whose instances
    /// all accept it are taken most expensive first (then least used, then
    /// by id), their instances packed first fit (biggest first) onto as
    /// few new hosts as they need, and the prefix of that order that saves
    /// most is the SKU's offer. The offer saving most wins (then fewer
    /// moves, catalog order, zone order); rounds go on while one saves.
    fn plan_replacement(
        &self,
        pools: &[Pool],
        options: &ReplaceOptions,
        moving: &crate::hash::Set<InstanceId>,
        (max_hosts, max_moves): (usize, usize),
        plan: &mut ConsolidationPlan,
    ) -> u64 {
        let freed: crate::hash::Set<HostId> = plan.freed.iter().copied().collect();
        let targets: crate::hash::Set<HostId> = plan.moves.iter().map(|m| m.to).collect();
        let mut cands: Vec<Candidate> = Vec::new();
        for pool in pools {
            let spec = &self.skus[pool.sku];
            for id in &pool.hosts {
                let Some(h) = self.hosts.get(id) else {
                    continue;
                };
                if h.instances.is_empty() || freed.contains(id) || targets.contains(id) {
                    continue;
                }
                let mut items = Vec::with_capacity(h.instances.len());
                for iid in &h.instances {
                    let Some(inst) = self.instances.get(iid) else {
                        continue;
                    };
                    let app = inst.app();
                    let rigid = self.apps[app].spec.qos == crate::app::QosTier::Rigid;
                    match &inst.state {
                        InstanceState::Placed { parts, .. }
                            if parts.len() == 1
                                && rigid
                                && !moving.contains(iid)
                                && self.consolidation_budget(app) > 0 =>
                        {
                            let tier = self.apps[app]
                                .sku_tiers
                                .get(pool.sku)
                                .map_or(u32::MAX, |t| t.tier);
                            items.push((*iid, app, parts[0].1, tier));
                        }
                        _ => break,
                    }
                }
                if items.len() != h.instances.len() {
                    continue;
                }
                let whole = spec.allocatable;
                items.sort_by_key(|(iid, _, r, _)| (std::cmp::Reverse(volume(r, &whole)), *iid));
                let used = h
                    .used
                    .iter()
                    .map(|u| {
                        volume(
                            &u.rigid.checked_add(&u.best_effort).unwrap_or(whole),
                            &whole,
                        )
                    })
                    .sum();
                cands.push(Candidate {
                    id: *id,
                    zone: pool.zone,
                    price: spec.price_nanos_per_second,
                    used,
                    items,
                    taken: false,
                });
            }
        }
        let mut report = ReplaceReport {
            candidates: cands.len(),
            skus_considered: self.skus.len(),
            ruled_out: Vec::new(),
        };
        let mut zones: Vec<usize> = cands.iter().map(|c| c.zone).collect();
        zones.sort_unstable();
        zones.dedup();
        let mut verdicts: Vec<Option<Vec<Result<u32, crate::substitution::Rejection>>>> =
            vec![None; self.apps.len()];
        for c in &cands {
            for &(_, app, _, _) in &c.items {
                if verdicts[app].is_none() {
                    verdicts[app] = Some(self.verdicts(app));
                }
            }
        }
        let accepts = |c: &Candidate, sku: usize| {
            let cap = &self.skus[sku].numa_nodes;
            c.items.iter().all(|&(_, app, req, tier)| {
                let ok = verdicts[app]
                    .as_ref()
                    .and_then(|v| v.get(sku))
                    .is_some_and(|v| matches!(v, Ok(t) if *t <= tier));
                ok && cap.iter().any(|n| req.fits_in(n))
            })
        };
        // Per SKU, how far it got: the reason it is ruled out, or None
        // once it gave a new host.
        let mut stage: Vec<Option<ReplaceRuledOut>> = (0..self.skus.len())
            .map(|s| {
                let listed = options.skus.is_empty()
                    || self
                        .skus
                        .get_index(s)
                        .is_some_and(|(id, _)| options.skus.contains(id));
                Some(if listed {
                    ReplaceRuledOut::NotAccepted
                } else {
                    ReplaceRuledOut::NotListed
                })
            })
            .collect();
        let mut new_left = options.max_new_hosts.map_or(usize::MAX, |n| n as usize);
        // New hosts taken per (SKU, zone), against known stock.
        let mut bought: crate::hash::Map<(usize, usize), u32> = crate::hash::Map::default();
        let mut saved: u64 = 0;
        loop {
            // (saving, moves, sku, zone, hosts in order)
            let mut best: Option<(u64, usize, usize, usize, Vec<usize>)> = None;
            for (sku, st) in stage.iter_mut().enumerate() {
                if *st == Some(ReplaceRuledOut::NotListed) {
                    continue;
                }
                let price = self.skus[sku].price_nanos_per_second;
                for &zone in &zones {
                    let mut order: Vec<usize> = (0..cands.len())
                        .filter(|&i| {
                            !cands[i].taken && cands[i].zone == zone && accepts(&cands[i], sku)
                        })
                        .collect();
                    if order.is_empty() {
                        continue;
                    }
                    raise(st, ReplaceRuledOut::NotOffered);
                    let Ok(avail) = self.offering_availability(sku, zone) else {
                        continue;
                    };
                    raise(st, ReplaceRuledOut::NotCheaper);
                    let stock = avail.map_or(usize::MAX, |n| {
                        n.saturating_sub(bought.get(&(sku, zone)).copied().unwrap_or(0)) as usize
                    });
                    let room = new_left.min(stock);
                    order.sort_by_key(|&i| {
                        (
                            std::cmp::Reverse(cands[i].price),
                            cands[i].used,
                            cands[i].id,
                        )
                    });
                    order.truncate(REPLACE_PREFIX);
                    let mut bins: Vec<SmallVec<[Resources; 2]>> = Vec::new();
                    let (mut price_sum, mut moves) = (0u64, 0usize);
                    let mut local: Option<(u64, usize, usize)> = None;
                    let mut limited = false;
                    for (k, &i) in order.iter().enumerate() {
                        for &(_, _, req, _) in &cands[i].items {
                            let _ = first_fit(&mut bins, &self.skus[sku].numa_nodes, &req);
                        }
                        price_sum = price_sum.saturating_add(cands[i].price);
                        moves += cands[i].items.len();
                        if bins.len() > room
                            || plan.freed.len() + k + 1 > max_hosts
                            || plan.moves.len() + moves > max_moves
                        {
                            limited = true;
                            break;
                        }
                        let cost = price.saturating_mul(bins.len() as u64);
                        if price_sum > cost {
                            let gain = price_sum - cost;
                            if local.is_none_or(|(g, m, _)| gain > g || (gain == g && moves < m)) {
                                local = Some((gain, moves, k + 1));
                            }
                        }
                    }
                    let Some((gain, moves, len)) = local else {
                        if limited {
                            raise(st, ReplaceRuledOut::Limits);
                        }
                        continue;
                    };
                    let better = best
                        .as_ref()
                        .is_none_or(|(g, m, _, _, _)| gain > *g || (gain == *g && moves < *m));
                    if better {
                        order.truncate(len);
                        best = Some((gain, moves, sku, zone, order));
                    }
                }
            }
            let Some((gain, _, sku, zone, order)) = best else {
                break;
            };
            // Planned ids the new hosts get when their first move starts.
            let first = plan.provisions.len() as u64;
            let mut bins: Vec<SmallVec<[Resources; 2]>> = Vec::new();
            let mut at: Vec<Vec<(usize, u8)>> = Vec::with_capacity(order.len());
            for &i in &order {
                let mut places = Vec::with_capacity(cands[i].items.len());
                for &(_, _, req, _) in &cands[i].items {
                    places.push(first_fit(&mut bins, &self.skus[sku].numa_nodes, &req));
                }
                at.push(places);
            }
            let end = self.next_planned.checked_add(first + bins.len() as u64);
            if end.is_none_or(|n| n >= !PLANNED_HOST_BIT) {
                break;
            }
            let label =
                |b: usize| HostId(PLANNED_HOST_BIT | (self.next_planned + first + b as u64));
            let (sku_id, spec) = match self.skus.get_index(sku) {
                Some(x) => x,
                None => break,
            };
            let mut provisions: Vec<ReplacementHost> = (0..bins.len())
                .map(|b| ReplacementHost {
                    host: label(b),
                    sku: sku_id.clone(),
                    zone: self.zone_id(zone).clone(),
                    price_nanos_per_second: spec.price_nanos_per_second,
                    replaces: Vec::new(),
                })
                .collect();
            for (&i, places) in order.iter().zip(&at) {
                let c = &mut cands[i];
                c.taken = true;
                plan.freed.push(c.id);
                for (&(instance, app, _, _), &(b, node)) in c.items.iter().zip(places) {
                    if let Some(p) = provisions.get_mut(b) {
                        if p.replaces.last() != Some(&c.id) {
                            p.replaces.push(c.id);
                        }
                    }
                    plan.moves.push(ConsolidationMove {
                        instance,
                        app: self.apps[app].spec.id.clone(),
                        from: c.id,
                        to: label(b),
                        numa_node: node,
                        frees: c.id,
                    });
                }
            }
            plan.provisions.extend(provisions);
            new_left = new_left.saturating_sub(bins.len());
            let n = bought.entry((sku, zone)).or_insert(0);
            *n = n.saturating_add(bins.len() as u32);
            stage[sku] = None;
            saved = saved.saturating_add(gain);
        }
        report.ruled_out = stage
            .iter()
            .enumerate()
            .filter_map(|(s, st)| {
                let reason = (*st)?;
                let sku = self.skus.get_index(s)?.0.clone();
                Some(SkuRuledOut { sku, reason })
            })
            .collect();
        plan.replacement = Some(report);
        saved
    }

    /// Choose the hosts of one window to empty, fewest instances first,
    /// and where their instances go; adds one group per emptied host.
    fn consolidate_window(
        &self,
        sku: usize,
        hosts: &[HostId],
        moving: &crate::hash::Set<InstanceId>,
        groups: &mut Vec<Group>,
    ) {
        let Some(spec) = self.skus.get_index(sku).map(|(_, s)| s) else {
            return;
        };
        let mut slots: Vec<Slot> = Vec::with_capacity(hosts.len());
        for id in hosts {
            let Some(h) = self.hosts.get(id) else {
                continue;
            };
            let cap: SmallVec<[Resources; 2]> = spec.numa_nodes.iter().copied().collect();
            let free = cap
                .iter()
                .zip(&h.used)
                .map(|(c, u)| c.saturating_sub(&u.rigid).saturating_sub(&u.best_effort))
                .collect();
            let mut slot = Slot {
                id: *id,
                free,
                cap,
                items: Vec::new(),
                pinned: false,
                busy: !h.instances.is_empty(),
                receives: false,
                freed: false,
            };
            for iid in &h.instances {
                let Some(inst) = self.instances.get(iid) else {
                    continue;
                };
                let app = inst.app();
                match &inst.state {
                    InstanceState::Placed { parts, .. }
                        if parts.len() == 1
                            && !moving.contains(iid)
                            && self.consolidation_budget(app) > 0 =>
                    {
                        slot.items.push((*iid, app, parts[0].1));
                    }
                    _ => slot.pinned = true,
                }
            }
            let whole = spec.allocatable;
            slot.items
                .sort_by_key(|(iid, _, r)| (std::cmp::Reverse(volume(r, &whole)), *iid));
            slots.push(slot);
        }
        let mut order: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].busy && !slots[i].pinned)
            .collect();
        let used_volume = |s: &Slot| -> u64 {
            s.cap
                .iter()
                .zip(&s.free)
                .map(|(c, f)| volume(&c.saturating_sub(f), c))
                .sum()
        };
        order.sort_by_key(|&i| (slots[i].items.len(), used_volume(&slots[i]), slots[i].id));
        let mut taken: Vec<(usize, usize, Resources)> = Vec::new();
        for c in order {
            if slots[c].receives {
                continue;
            }
            taken.clear();
            let mut all = true;
            for k in 0..slots[c].items.len() {
                let (_, _, req) = slots[c].items[k];
                // Best fit: the busy host and node left with the least free
                // volume; ties to the lower host id, then node.
                let mut best: Option<(u64, usize, usize)> = None;
                for (t, s) in slots.iter().enumerate() {
                    if t == c || s.freed || !s.busy {
                        continue;
                    }
                    for (n, (f, cap)) in s.free.iter().zip(&s.cap).enumerate() {
                        if !req.fits_in(f) {
                            continue;
                        }
                        let left = volume(&f.saturating_sub(&req), cap);
                        if best.is_none_or(|(b, _, _)| left < b) {
                            best = Some((left, t, n));
                        }
                    }
                }
                let Some((_, t, n)) = best else {
                    all = false;
                    break;
                };
                slots[t].free[n] = slots[t].free[n].saturating_sub(&req);
                taken.push((t, n, req));
            }
            if !all {
                for &(t, n, req) in &taken {
                    // Given back exactly what was taken just above.
                    slots[t].free[n] = slots[t].free[n]
                        .checked_add(&req)
                        .unwrap_or(slots[t].free[n]);
                }
                continue;
            }
            slots[c].freed = true;
            let from = slots[c].id;
            let mut moves = Vec::with_capacity(taken.len());
            for (k, &(t, n, _)) in taken.iter().enumerate() {
                slots[t].receives = true;
                let (instance, app, _) = slots[c].items[k];
                moves.push(ConsolidationMove {
                    instance,
                    app: self.apps[app].spec.id.clone(),
                    from,
                    to: slots[t].id,
                    // At most MAX_NUMA_NODES nodes, so n fits a u8.
                    numa_node: n as u8,
                    frees: from,
                });
            }
            groups.push(Group {
                host: from,
                price: spec.price_nanos_per_second,
                moves,
            });
        }
    }
    /// Start the moves of `plan` that can start now: each whose app has
    /// room in its disruption budget (the smaller of its two; every move
    /// of the app in flight counts), in plan order. The embedder starts
    /// each replacement and calls [`complete_move`](Self::complete_move),
    /// or [`abort_move`](Self::abort_move); then calls this again with the
    /// same plan until the step [`is_finished`](ConsolidationStep::is_finished).
    /// An aborted move is started again at the next call if it still has
    /// room.
    ///
    /// A new host of the plan's [`provisions`](ConsolidationPlan::provisions)
    /// is planned when its first move starts, under the id the plan gives
    /// it, and returned in `decisions.provisions` (the replacement is
    /// placed on it tentatively): report it with
    /// [`host_ready`](Self::host_ready), and complete its moves once it is
    /// ready. New hosts are planned in the plan's order: a move onto one
    /// waits while an earlier one is not planned yet.
    ///
    /// A move is never forced: if its instance left its host, or its target
    /// left the pool or no longer has room on its NUMA node, or a new host
    /// can no longer be planned under its id (another host took the id,
    /// its offering cannot provide it, or it was cancelled), it is stale;
    /// nothing of its host's group is started, and the step carries a
    /// re-plan of the current state ([`ConsolidationStep::replan`]) to go
    /// on with. Errors only when `now` is earlier than an earlier call, and
    /// then nothing changes.
    pub fn start_consolidation(
        &mut self,
        plan: &ConsolidationPlan,
        now: Timestamp,
    ) -> Result<ConsolidationStep, Error> {
        self.check_time(now)?;
        self.now = now;
        let mut step = ConsolidationStep::default();
        // Groups with a stale move: none of their moves start.
        let mut stale_groups: Vec<HostId> = Vec::new();
        for m in &plan.moves {
            if !stale_groups.contains(&m.frees) && self.consolidation_move_stale(plan, m) {
                stale_groups.push(m.frees);
            }
        }
        for m in &plan.moves {
            let Some(inst) = self.instances.get(&m.instance) else {
                step.done += 1;
                continue;
            };
            let app = inst.app();
            if self.replacement_of(m.instance).is_some() {
                step.in_flight += 1;
                continue;
            }
            if stale_groups.contains(&m.frees) {
                if self.consolidation_move_stale(plan, m) {
                    step.stale.push(m.instance);
                }
                continue;
            }
            let in_flight = self
                .moves
                .keys()
                .filter(|to| self.instances.get(to).is_some_and(|i| i.app() == app))
                .count();
            if in_flight >= self.consolidation_budget(app)
                || !self.start_consolidation_move(plan, m, app, &mut step.decisions)
            {
                step.waiting += 1;
                continue;
            }
            step.in_flight += 1;
        }
        self.settle_planned(&mut step.decisions);
        if !step.stale.is_empty() {
            step.replan = Some(self.plan_consolidation(&plan.options));
        }
        Ok(step)
    }

    /// Where a move of `plan` goes now: `Ok(host)` for a running host or
    /// a new host already planned (by its id now), `Err(provision)` for a
    /// new host not planned yet.
    fn consolidation_target<'p>(
        &self,
        plan: &'p ConsolidationPlan,
        m: &ConsolidationMove,
    ) -> Result<HostId, &'p ReplacementHost> {
        match plan.provisions.iter().find(|p| p.host == m.to) {
            Some(p) => match self.replacements.get(&p.host) {
                Some(now) => Ok(*now),
                None => Err(p),
            },
            None => Ok(m.to),
        }
    }

    /// Whether a new host of a plan can be planned now under its id: no
    /// host took the id, its offering can provide a host, and its class
    /// has room.
    fn replacement_plannable(&self, p: &ReplacementHost) -> Option<(usize, usize)> {
        let index = p.host.0 & !PLANNED_HOST_BIT;
        let sku = self.skus.get_index_of(&p.sku)?;
        let zone = self.zones.get_index_of(&p.zone)?;
        let ok = p.host.is_planned()
            && index >= self.next_planned
            && index < !PLANNED_HOST_BIT
            && !self.hosts.contains_key(&p.host)
            && self.hosts.len() < self.limits.hosts
            && self.next_provision < u64::MAX
            && self.zones.get_index(zone).map(|(_, s)| *s) == Some(ZoneState::Up)
            && self.offering_availability(sku, zone).is_ok()
            && self
                .classes
                .get(&(sku, zone, true))
                .is_none_or(|c| c.next_slot() < crate::index::MAX_CLASS_SLOTS);
        ok.then_some((sku, zone))
    }

    /// Whether a move of a plan can no longer be carried out as planned:
    /// its instance is on another host (or split), or its target is not a
    /// ready host of the same pool in a zone that is up with the room on
    /// the planned node (for a new host: one of the planned SKU in the
    /// zone, ready or planned, that the app accepts, or one that can still
    /// be planned). A move done or in flight is not stale.
    fn consolidation_move_stale(&self, plan: &ConsolidationPlan, m: &ConsolidationMove) -> bool {
        let Some(inst) = self.instances.get(&m.instance) else {
            return false;
        };
        if self.replacement_of(m.instance).is_some() {
            return false;
        }
        let InstanceState::Placed { host, parts } = &inst.state else {
            return true;
        };
        let ([(_, req)], true) = (parts.as_slice(), *host == m.from) else {
            return true;
        };
        let Some(from) = self.hosts.get(&m.from) else {
            return true;
        };
        if from.dedicated {
            return true;
        }
        let new = plan.provisions.iter().find(|p| p.host == m.to);
        if let Some(p) = new {
            let accepted = self
                .skus
                .get_index_of(&p.sku)
                .is_some_and(|s| matches!(self.verdicts(inst.app()).get(s), Some(Ok(_))));
            if !accepted || self.zone_id(from.zone()) != &p.zone {
                return true;
            }
        }
        let to_id = match self.consolidation_target(plan, m) {
            Ok(id) => id,
            Err(p) => return self.replacement_plannable(p).is_none(),
        };
        let Some(to) = self.hosts.get(&to_id) else {
            return true;
        };
        let zone_up = self.zones.get_index(to.zone()).map(|(_, s)| *s) == Some(ZoneState::Up);
        let same = match new {
            Some(p) => {
                self.skus.get_index_of(&p.sku) == Some(to.sku())
                    && to.zone() == from.zone()
                    && matches!(to.state, HostState::Ready | HostState::Planned)
            }
            None => {
                (to.sku(), to.zone()) == (from.sku(), from.zone()) && to.state == HostState::Ready
            }
        };
        if !same || !zone_up || to.dedicated {
            return true;
        }
        let node = usize::from(m.numa_node);
        let (Some(cap), Some(u)) = (self.skus[to.sku()].numa_nodes.get(node), to.used.get(node))
        else {
            return true;
        };
        let free = cap.saturating_sub(&u.rigid).saturating_sub(&u.best_effort);
        !req.fits_in(&free)
    }

    /// Plan the new host `p` of a replacing consolidation under its id,
    /// for moves of `app`: a provision of one host in `out`. Returns the
    /// host, or `None` (changing nothing) if it cannot be planned.
    fn plan_replacement_host(
        &mut self,
        plan: &ConsolidationPlan,
        p: &ReplacementHost,
        app: usize,
        out: &mut Decisions,
    ) -> Option<HostId> {
        let (sku, zone) = self.replacement_plannable(p)?;
        let class = self.class_for(sku, zone, true);
        let slot = self.classes[class].next_slot();
        if !self.insert_host(p.host, sku, zone, HostState::Planned, class, slot) {
            return None;
        }
        self.next_planned = (p.host.0 & !PLANNED_HOST_BIT) + 1;
        if let Some(o) = self.offerings.get_mut(&(sku, zone)) {
            o.take(1);
        }
        let id = ProvisionId(self.next_provision);
        self.next_provision += 1;
        self.provision_of.insert(p.host, id);
        self.replacements.insert(p.host, p.host);
        let spec = &self.apps[app].spec;
        let tier = match self.verdicts(app).get(sku) {
            Some(Ok(t)) => *t,
            _ => 0,
        };
        let substitutes_for = spec.sku.clone().filter(|r| *r != p.sku);
        let substitution = (tier > 0 || substitutes_for.is_some())
            .then(|| self.substitution_note(app, sku, tier, NoteBasis::Provision { zone }));
        let app_id = self.apps[app].spec.id.clone();
        let instances = plan
            .moves
            .iter()
            .filter(|m| m.to == p.host && m.app == app_id)
            .count();
        out.provisions.push(Provision {
            id,
            zone: p.zone.clone(),
            sku: p.sku.clone(),
            count: 1,
            hosts: vec![p.host],
            substitutes_for,
            tier,
            // The consolidation moves this app's instances onto the host.
            app: Some(app_id),
            instances: u32::try_from(instances).unwrap_or(u32::MAX),
            substitution,
            reason: ProvisionReason::Instances,
        });
        Some(p.host)
    }

    /// Place the replacement of a consolidation move (checked not stale)
    /// and record the move, planning its new host first if it is one not
    /// planned yet. Returns false, changing nothing, if the instance table
    /// is full, or if the move onto a new host must wait for an earlier
    /// new host of the plan to be planned.
    fn start_consolidation_move(
        &mut self,
        plan: &ConsolidationPlan,
        m: &ConsolidationMove,
        app: usize,
        out: &mut Decisions,
    ) -> bool {
        let Some(InstanceState::Placed { parts, .. }) =
            self.instances.get(&m.instance).map(|i| &i.state)
        else {
            return false;
        };
        let Some(&(_, req)) = parts.first() else {
            return false;
        };
        let id = InstanceId(self.next_instance);
        let Some(next) = self.next_instance.checked_add(1) else {
            return false;
        };
        if self.instances.len() >= MAX_INSTANCES {
            return false;
        }
        let to = match self.consolidation_target(plan, m) {
            Ok(to) => to,
            Err(p) => {
                let earlier = plan.provisions.iter().take_while(|q| q.host != p.host);
                if earlier
                    .clone()
                    .any(|q| !self.replacements.contains_key(&q.host))
                {
                    return false;
                }
                let p = p.clone();
                match self.plan_replacement_host(plan, &p, app, out) {
                    Some(h) => h,
                    None => return false,
                }
            }
        };
        let Some((zone, sku, planned)) = self
            .hosts
            .get(&to)
            .map(|h| (h.zone(), h.sku(), h.state == HostState::Planned))
        else {
            return false;
        };
        let state = InstanceState::Pending {
            since: self.now,
            reason: None,
        };
        if !self.add_instance(id, app, state) {
            return false;
        }
        self.next_instance = next;
        let note = self.apps[app]
            .sku_tiers
            .get(sku)
            .filter(|t| t.note)
            .map(|t| t.tier);
        let substitution = note.map(|tier| {
            let basis = NoteBasis::Placement {
                zones: &[zone],
                blocked: &[],
                planned,
            };
            self.substitution_note(app, sku, tier, basis)
        });
        let pull_bytes = self.expected_pull(app, to, sku);
        self.allocate(id, to, Parts::one(m.numa_node, req));
        let placement = Placement {
            instance: id,
            app: self.apps[app].spec.id.clone(),
            host: to,
            zone: self.zone_id(zone).clone(),
            sku: self.skus[sku].id.clone(),
            numa_nodes: SmallVec::from_buf_and_len([m.numa_node, 0], 1),
            substitution,
            pull_bytes,
            standby: None,
        };
        if planned {
            out.tentative.push(placement);
        } else {
            out.placements.push(placement);
        }
        let tier = self.apps[app].sku_tiers.get(sku).map_or(0, |t| t.tier);
        self.record_move(
            app,
            (m.instance, m.from),
            (id, to, tier),
            MoveReason::Consolidate,
            out,
        );
        true
    }
}
