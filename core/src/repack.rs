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
//! room when its move starts. The [`budget`](RepackOptions::budget) bounds
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

use crate::decision::{Count, HostList};
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};
use crate::pack::{self, Bins, PackOptions};
use crate::scheduler::{HostState, InstanceState, Scheduler, ZoneState};

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
    /// Plan how few hosts could carry the instances running now; see the
    /// [module documentation](crate::repack). A query: nothing changes.
    pub fn plan_repack(&self, options: &RepackOptions) -> RepackPlan {
        let mut pools: Vec<Pool> = Vec::new();
        let mut pool_of: crate::hash::Map<(usize, usize), usize> = crate::hash::Map::default();
        for (id, h) in &self.hosts {
            let zone_up = self.zones.get_index(h.zone()).map(|(_, s)| *s) == Some(ZoneState::Up);
            if h.state != HostState::Ready || !zone_up {
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
