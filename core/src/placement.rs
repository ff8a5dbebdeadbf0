//! Choosing a host: constraints, the score, preemption and explanations.
//!
//! # The score
//!
//! Among the hosts an instance fits on, trimline picks the one that leaves
//! the least *stranded* capacity: the L2 norm of the host's free capacity
//! after the placement, each dimension as a fraction of the host's capacity
//! (the norm-based best fit of Panigrahy et al., "Heuristics for Vector Bin
//! Packing", 2011):
//!
//! ```text
//! score(h) = Σ_d ((free_d(h) − request_d) / capacity_d(h))²      (lower wins)
//! ```
//!
//! All four dimensions count, so a GPU host whose accelerators would stay
//! idle scores worse for a CPU-only instance than a plain host with the same
//! CPU and memory left. Fractions are fixed point (1/65536), so the score is
//! exact integer arithmetic. Ties go to the lower host id.
//!
//! Hosts are not scanned. They are indexed per (SKU, zone) class, and a
//! zone's eligible classes are searched in order of *alignment*, how well
//! the request's shape matches the SKU's: over the dimensions the SKU has,
//! the mean of the request's fraction of each relative to its largest
//! fraction (ties by SKU id). So a memory-heavy instance looks at
//! memory-optimized SKUs first, and one that needs no accelerators looks at
//! accelerator hosts last. Each class's index is searched in slot order
//! (which concentrates load, as first fit does) for up to
//! [`Config::candidates_per_class`](crate::Config) hosts that fit; the
//! zone's search stops once [`Config::classes_per_zone`](crate::Config)
//! classes (default 1) found some, and the best score among the candidates
//! found wins. With `classes_per_zone` 0 every class of the zone is
//! searched: on the benchmark region that packs 0.5% (1,000 hosts) to 1.7%
//! (10,000 hosts) fewer instances than the default, searching 4.6 classes
//! per placement instead of one (see `benches/RESULTS.md`, "Online fill").
//! Preemption always looks at every class. The index is a tree
//! of fan-out 16 whose nodes compare all 16 children with the request at
//! once; each search opens at most [`Config::search_budget`](crate::Config)
//! nodes per level of the class's index (a leaf is a block of 16 slots),
//! so its cost grows with log(hosts) even where
//! fragmented hosts make the index's bounds loose; a budgeted search may
//! therefore stop before reaching hosts that fit further right. Only when
//! the budgeted searches find no candidate at all, and one of them ran out,
//! are they repeated without a budget: an instance is pending only if no
//! host fits. The index's shape depends only on which slots are occupied,
//! so a restored scheduler's searches stop at the same points.
//!
//! Multi-zone apps try their allowed zones in order of how few instances of
//! the app each holds (how far below its weighted target, with
//! [`weights`](crate::SpreadPolicy::weights)), and the first zone with
//! candidates supplies the host; the budgeted pass runs over every allowed
//! zone before the unbudgeted one.
//!
//! # Preference tiers
//!
//! An app that requests a SKU or lists
//! [`tiers`](crate::SubstitutionPolicy::tiers) has its classes ordered by
//! preference tier first (see [`substitution`](crate::substitution)), and
//! by alignment only within a tier: in a zone, the best tier with a host
//! that fits wins, whatever
//! [`Config::classes_per_zone`](crate::Config) says (the zone's search
//! stops at the first class of a worse tier than one that found hosts).
//! A class whose budgeted search runs out without finding a host is
//! searched again at once without a budget before any worse tier, so a
//! worse tier is used only when no host of a better one in the zone fits.
//!
//! The zone comes first, the tier second: the first zone in the order
//! above with a host that fits supplies it, from its best tier. This is
//! how provisioning splits a batch (zone shares first, tiers within each
//! share), so planned hosts take the instances they were planned for, and
//! it keeps the app's zones as even as that order makes them. A tier-2
//! host in the first zone is thus used before a tier-0 host in a later
//! one; the placement's [`SubstitutionNote`] says
//! so ([`PassReason::ZoneOrder`](crate::PassReason::ZoneOrder)), and
//! [`Scheduler::plan_return`](crate::Scheduler::plan_return) moves the
//! instance back once its zone's better tier has room. A zone that one
//! more instance would take out of a DoNotSchedule spread policy is never
//! searched, so the policy holds
//! ([`PassReason::Spread`](crate::PassReason::Spread)).
//!
//! Running hosts of every zone and tier are searched before planned hosts
//! (an instance that can start now does not wait for a host being
//! provisioned), both before preemption, and all of them before any new
//! host is planned. An app without a requested SKU or tiers has a single
//! tier and is placed by packing alone. The order is cached with the app's
//! eligible classes; an app whose classes are of one tier pays nothing per
//! placement for it.
//!
//! On a host with several NUMA nodes, an instance goes on the single node
//! with the best node-level score; with [`NumaPolicy::Any`] and no node large
//! enough, it is spread over nodes, each dimension taken from the nodes with
//! the most free first.
//!
//! # Preemption
//!
//! A rigid instance that fits nowhere may evict best-effort instances. Per
//! host, the victims are the fewest best-effort instances whose release makes
//! it fit, then those with the lowest total size (fractions of the host,
//! summed); the search is exact for up to three victims among up to 32
//! best-effort instances and greedy beyond. Across hosts (of the zone's
//! best tier with one, see above) the choice is by (victims, their total
//! size, score, host id). Rigid instances are never evicted.

use std::ops::ControlFlow;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::app::{NumaPolicy, QosTier};
use crate::decision::{Decisions, EvictionCause, Placement};
use crate::explain::{Constraint, Explanation, OfferingBlock, PendingReason, SkuRuledOut};
use crate::ids::{HostId, InstanceId, SkuId};
use crate::index::{BoundKey, ClassIndex};
use crate::provision::constraint_of;
use crate::resources::{DIMENSIONS, Dimension, FIXED_ONE, Resources, Scale, fraction};
use crate::scheduler::{Host, HostState, InstanceState, NodeUse, Parts, Scheduler, ZoneState};
use crate::substitution::{
    NoteBasis, Rejection, SubstitutionNote, placement_tier, serves_existing,
};
use crate::zones::SpreadCheck;

/// Most best-effort instances on one host for the exact victim search.
const EXACT_VICTIM_POOL: usize = 32;
/// Largest victim set the exact search tries.
const EXACT_VICTIM_SET: usize = 3;

/// Squared-norm score of what stays free, as fractions of the capacity
/// `scale` was built from.
pub(crate) fn residual_score(scale: &Scale, free_after: &Resources) -> u64 {
    free_score(scale, &free_after.as_array(), &[0; DIMENSIONS])
}

/// How well the shape of `req` matches a SKU of capacity `cap`: over the
/// dimensions the SKU has, the mean of the request's fraction of each
/// relative to its largest such fraction, scaled by 12 / FIXED_ONE (12 is
/// divisible by every dimension count, so the mean is exact). A request in
/// proportion to the SKU has the highest alignment, 12 * FIXED_ONE; a
/// lopsided one, or one that would leave a dimension of the SKU unused
/// (accelerators, say), less. 0 for a request of nothing, or one that asks
/// for a dimension the SKU has none of (it never fits there).
fn alignment(req: &Resources, cap: &Resources) -> u64 {
    let (req, cap) = (req.as_array(), cap.as_array());
    let mut f = [0u64; DIMENSIONS];
    let mut dims = 0u64;
    for d in 0..DIMENSIONS {
        if cap[d] == 0 {
            if req[d] > 0 {
                return 0;
            }
            continue;
        }
        dims += 1;
        f[d] = fraction(req[d], cap[d]);
    }
    let largest = f.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return 0;
    }
    // Each fraction is at most `largest`, so each term is at most
    // FIXED_ONE and the sum at most 4 * 12 * FIXED_ONE; `dims` is at least
    // 1, as `largest` came from a dimension the SKU has.
    f.iter().map(|x| x * FIXED_ONE / largest).sum::<u64>() * 12 / dims
}

/// [`residual_score`] of a host with `free` free after `req` is placed
/// on it (`req` fits in `free`).
#[inline]
fn free_score(scale: &Scale, free: &[u32; DIMENSIONS], req: &[u32; DIMENSIONS]) -> u64 {
    let mut sum = 0;
    for d in 0..DIMENSIONS {
        let f = scale.fraction(d, free[d].saturating_sub(req[d]));
        sum += f * f;
    }
    sum
}

/// [`choose_parts`] for a host of one NUMA node with capacity `cap` and
/// usage `used`, either policy: the node if `req` fits in what is free (a
/// split over nodes fails exactly when it does not).
fn one_node_parts(cap: &Resources, used: &NodeUse, req: &Resources) -> Option<Parts> {
    let free = cap
        .saturating_sub(&used.rigid)
        .saturating_sub(&used.best_effort);
    free.checked_sub(req).map(|_| Parts::one(0, *req))
}

/// Size of `r` as summed fractions of `cap`.
fn size_of(cap: &Resources, r: &Resources) -> u64 {
    Dimension::ALL
        .iter()
        .map(|d| fraction(r.get(*d), cap.get(*d)))
        .sum()
}

/// Where an instance goes on a host, given the [`Scale`] of each node's
/// capacity and what is available on it. `None` if it does not fit under
/// the policy.
fn choose_parts(
    scales: &[Scale],
    avail: &[Resources],
    req: &Resources,
    policy: NumaPolicy,
) -> Option<Parts> {
    let mut best: Option<(u64, usize)> = None;
    for (n, (scale, av)) in scales.iter().zip(avail).enumerate() {
        if let Some(after) = av.checked_sub(req) {
            let s = residual_score(scale, &after);
            if best.is_none_or(|(bs, _)| s < bs) {
                best = Some((s, n));
            }
        }
    }
    if let Some((_, n)) = best {
        // At most MAX_NUMA_NODES (16) nodes.
        return Some(Parts::one(n as u8, *req));
    }
    if policy == NumaPolicy::SingleNode {
        return None;
    }
    // Spread: per dimension, from the nodes with the most available first.
    let mut split = vec![[0u32; DIMENSIONS]; avail.len()];
    for d in Dimension::ALL {
        let mut order: SmallVec<[usize; 4]> = (0..avail.len()).collect();
        order.sort_by_key(|&n| (std::cmp::Reverse(avail[n].get(d)), n));
        let mut left = req.get(d);
        for n in order {
            let take = left.min(avail[n].get(d));
            split[n][d.index()] = take;
            left -= take;
        }
        if left > 0 {
            return None;
        }
    }
    let parts: Parts = split
        .into_iter()
        .enumerate()
        .filter(|(_, v)| v.iter().any(|x| *x > 0))
        // Values are taken from validated vectors; node index < 16.
        .map(|(n, v)| (n as u8, Resources::from_raw(v)))
        .collect();
    Some(parts)
}

/// The fewest victims (then the smallest total) whose release covers
/// `deficit`. `pool` holds (id, amount released in scope, size).
fn choose_victims(
    deficit: &Resources,
    pool: &[(InstanceId, Resources, u64)],
    cap: &Resources,
) -> Option<SmallVec<[usize; 4]>> {
    let covers = |set: &[usize]| {
        let mut freed = Resources::ZERO;
        for &i in set {
            freed = freed.checked_add(&pool[i].1).unwrap_or(freed);
        }
        deficit.fits_in(&freed)
    };
    if deficit.is_zero() {
        return Some(SmallVec::new());
    }
    if pool.len() <= EXACT_VICTIM_POOL {
        for k in 1..=EXACT_VICTIM_SET.min(pool.len()) {
            let mut best: Option<(u64, SmallVec<[usize; 4]>)> = None;
            let mut idx: SmallVec<[usize; 4]> = (0..k).collect();
            loop {
                if covers(&idx) {
                    let size: u64 = idx.iter().map(|&i| pool[i].2).sum();
                    if best.as_ref().is_none_or(|(bs, _)| size < *bs) {
                        best = Some((size, idx.clone()));
                    }
                }
                // Next combination in lexicographic order.
                let mut i = k;
                while i > 0 && idx[i - 1] == pool.len() - k + i - 1 {
                    i -= 1;
                }
                if i == 0 {
                    break;
                }
                idx[i - 1] += 1;
                for j in i..k {
                    idx[j] = idx[j - 1] + 1;
                }
            }
            if let Some((_, set)) = best {
                return Some(set);
            }
        }
    }
    // Greedy: take the victim covering most of what is left, then drop any
    // that turned out unnecessary (largest first).
    let mut left = *deficit;
    let mut chosen: SmallVec<[usize; 4]> = SmallVec::new();
    while !left.is_zero() {
        let best = (0..pool.len())
            .filter(|i| !chosen.contains(i))
            .map(|i| (size_of(cap, &pool[i].1.min_each(&left)), i))
            .filter(|(gain, _)| *gain > 0)
            .max_by(|(ga, ia), (gb, ib)| {
                ga.cmp(gb)
                    .then(pool[*ib].2.cmp(&pool[*ia].2))
                    .then(pool[*ib].0.cmp(&pool[*ia].0))
            })?;
        chosen.push(best.1);
        left = left.saturating_sub(&pool[best.1].1);
    }
    let mut by_size = chosen.clone();
    by_size.sort_by_key(|&i| std::cmp::Reverse((pool[i].2, pool[i].0)));
    for i in by_size {
        let without: SmallVec<[usize; 4]> = chosen.iter().copied().filter(|&c| c != i).collect();
        if covers(&without) {
            chosen = without;
        }
    }
    chosen.sort_unstable();
    Some(chosen)
}

/// How placement treats an app's hosts of one SKU.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct SkuTier {
    /// The tier its hosts are searched in (see
    /// [`placement_tier`](crate::substitution::placement_tier)).
    pub(crate) tier: u32,
    /// Whether serving the app on it is a substitution, which a
    /// [`SubstitutionNote`](crate::SubstitutionNote) explains: a tier
    /// above 0, or not the SKU the app requested.
    pub(crate) note: bool,
}

/// A way to place an instance on one host.
pub(crate) struct Candidate {
    host: HostId,
    /// (victim count, victims' size, score): lower wins, then host id.
    pub(crate) rank: (usize, u64, u64),
    pub(crate) victims: SmallVec<[InstanceId; 4]>,
}

/// What one search over a zone's classes looks for.
#[derive(Copy, Clone)]
struct Query {
    /// The app's index.
    app: usize,
    req: Resources,
    req_arr: [u32; DIMENSIONS],
    policy: NumaPolicy,
    /// Whether the classes span several tiers (see
    /// [`Scheduler::search_zone`]).
    tiered: bool,
    /// The bounds compared: free capacity, or with preemption what
    /// best-effort instances hold counted as free.
    key: BoundKey,
    /// Candidates per class.
    limit: u32,
    preempt: bool,
    /// Planned hosts rather than running ones (without preemption).
    planned: bool,
    /// Whether each class's search runs on a visit budget.
    budgeted: bool,
    /// Whether candidates holding the app's image are preferred (see
    /// [`coldstart`](crate::coldstart)): the app names images, some host
    /// holds one and the weight is not 0.
    images: bool,
}

impl Query {
    /// Set up one pass of the search.
    fn set_pass(&mut self, config: &crate::Config, preempt: bool, planned: bool, budgeted: bool) {
        (self.key, self.limit) = match (preempt, self.policy) {
            (false, NumaPolicy::Any) => (BoundKey::FreeTotal, config.candidates_per_class),
            (false, NumaPolicy::SingleNode) => (BoundKey::FreeNode, config.candidates_per_class),
            (true, NumaPolicy::Any) => (BoundKey::ReclaimTotal, config.preemption_candidates),
            (true, NumaPolicy::SingleNode) => (BoundKey::ReclaimNode, config.preemption_candidates),
        };
        (self.preempt, self.planned, self.budgeted) = (preempt, planned, budgeted);
    }
}

/// Candidates found so far by a placement's searches.
#[derive(Default)]
struct Found {
    /// Without preemption a candidate is just (score, host): the lowest
    /// wins.
    best: Option<(u64, HostId)>,
    /// A preemption candidate.
    chosen: Option<Candidate>,
    /// Some search ran out of its budget.
    exhausted: bool,
}

impl Found {
    /// The choice, once a zone's search found candidates (the first zone
    /// with candidates supplies the host).
    fn settle(&mut self) -> Option<Candidate> {
        if let Some((score, host)) = self.best.take() {
            return Some(Candidate {
                host,
                rank: (0, 0, score),
                victims: SmallVec::new(),
            });
        }
        self.chosen.take()
    }
}

impl Scheduler {
    /// The first class-level constraint that rules the class out for `app`,
    /// given the app's SKU verdicts.
    fn class_constraint(
        &self,
        app: usize,
        class: usize,
        verdicts: &[Result<u32, Rejection>],
    ) -> Option<Constraint> {
        let c = &self.classes[class];
        let a = &self.apps[app];
        if !a.zones.is_empty() && !a.zones.contains(&c.zone) {
            return Some(Constraint::ZoneNotAllowed);
        }
        match self.zones[c.zone] {
            ZoneState::Up => {}
            ZoneState::Down => return Some(Constraint::ZoneDown),
            ZoneState::Draining => return Some(Constraint::ZoneDraining),
        }
        match verdicts.get(c.sku) {
            Some(v) if serves_existing(v, a.spec.sku.is_some()) => None,
            Some(Err(r)) => Some(constraint_of(r)),
            _ => None,
        }
    }

    /// Classes that pass every class-level constraint, cached per app
    /// until the classes, the catalog or zone states change.
    pub(crate) fn eligible_classes_cached(&mut self, app: usize) -> SmallVec<[usize; 16]> {
        if let Some((epoch, classes)) = &self.apps[app].eligible {
            if *epoch == self.epoch {
                return SmallVec::from_slice(classes);
            }
        }
        let verdicts = self.verdicts_cached(app);
        let spec = &self.apps[app].spec;
        let requested = spec.sku.as_ref().and_then(|id| self.skus.get_index_of(id));
        let sku_tiers: Vec<SkuTier> = self
            .skus
            .values()
            .zip(&verdicts)
            .enumerate()
            .map(|(s, (sku, verdict))| {
                let requested_spec = requested.map(|r| &self.skus[r]);
                let tier = placement_tier(spec, requested_spec, sku, verdict);
                SkuTier {
                    tier,
                    note: tier > 0 || (spec.sku.is_some() && requested != Some(s)),
                }
            })
            .collect();
        let req = spec.resources;
        let mut keyed: SmallVec<[(u32, u64, &SkuId, usize); 16]> = (0..self.classes.len())
            .filter(|&c| self.class_constraint(app, c, &verdicts).is_none())
            .map(|c| {
                let s = self.classes[c].sku;
                let sku = &self.skus[s];
                let tier = sku_tiers.get(s).map_or(u32::MAX, |t| t.tier);
                (tier, alignment(&req, &sku.allocatable), &sku.id, c)
            })
            .collect();
        // Tier first (see the module docs), then best aligned, then by SKU
        // id: the classes of one zone (and state, running or planned) have
        // distinct SKUs, so the order placement searches them in is a
        // function of the catalog and the app alone, the same in a restored
        // scheduler whose class indices differ. Class indices make the keys
        // distinct, so an unstable sort is exact.
        keyed.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then(b.1.cmp(&a.1))
                .then_with(|| a.2.cmp(b.2))
                .then(a.3.cmp(&b.3))
        });
        let tiered = keyed.first().map(|k| k.0) != keyed.last().map(|k| k.0);
        let classes: SmallVec<[usize; 16]> = keyed.into_iter().map(|(_, _, _, c)| c).collect();
        let a = &mut self.apps[app];
        a.eligible = Some((self.epoch, classes.clone()));
        a.substitutes = sku_tiers.iter().any(|t| t.note);
        a.sku_tiers = sku_tiers;
        a.tiered = tiered;
        classes
    }

    /// The tier placement searches class `class` in for `app` (`u32::MAX`
    /// for no class, or before the app's tiers are cached).
    #[inline]
    pub(crate) fn class_tier(&self, app: usize, class: Option<usize>) -> u32 {
        class
            .and_then(|c| self.classes.get_index(c))
            .and_then(|(_, c)| self.apps[app].sku_tiers.get(c.sku))
            .map_or(u32::MAX, |t| t.tier)
    }

    /// What each NUMA node of host `h` has available: its free capacity,
    /// or with `reclaim`, counting what best-effort instances hold as free.
    pub(crate) fn node_avail(&self, h: &Host, reclaim: bool) -> SmallVec<[Resources; 2]> {
        self.skus[h.sku()]
            .numa_nodes
            .iter()
            .zip(&h.used)
            .map(|(cap, u)| {
                let r = cap.saturating_sub(&u.rigid);
                if reclaim {
                    r
                } else {
                    r.saturating_sub(&u.best_effort)
                }
            })
            .collect()
    }

    /// Where `req` goes on host `h` (see [`choose_parts`]); on a host with
    /// one NUMA node, that node if it has `req` free, without building the
    /// node view.
    pub(crate) fn parts_on(&self, h: &Host, req: &Resources, policy: NumaPolicy) -> Option<Parts> {
        if let [cap] = self.skus[h.sku()].numa_nodes.as_slice() {
            let u = h.used.first().copied().unwrap_or_default();
            return one_node_parts(cap, &u, req);
        }
        let avail = self.node_avail(h, false);
        choose_parts(&self.node_scales[h.sku()], &avail, req, policy)
    }

    /// The free total of the host in `slot` of `class`, if some single
    /// NUMA node of it has `req` free. Kept out of line: the search's
    /// common case does not need it.
    #[inline(never)]
    fn free_if_a_node_fits(
        &self,
        class: &ClassIndex,
        slot: u32,
        host: HostId,
        req: &Resources,
    ) -> Option<[u32; DIMENSIONS]> {
        self.fits_one_node(host, req)
            .then(|| class.tree.leaf_bound(BoundKey::FreeTotal, slot))
    }

    /// The hosts of the (SKU, zone, planned) class, and whether one of
    /// them has room for one more instance of `app`, by an unbudgeted
    /// search of its index: for substitution notes, which say why a better
    /// tier's hosts were passed over.
    pub(crate) fn class_room(
        &self,
        app: usize,
        sku: usize,
        zone: usize,
        planned: bool,
    ) -> (u32, bool) {
        let Some(class) = self.classes.get(&(sku, zone, planned)) else {
            return (0, false);
        };
        let spec = &self.apps[app].spec;
        let (req, req_arr) = (spec.resources, spec.resources.as_array());
        let key = match spec.numa {
            NumaPolicy::Any => BoundKey::FreeTotal,
            NumaPolicy::SingleNode => BoundKey::FreeNode,
        };
        let check_node = key == BoundKey::FreeNode && self.skus[sku].numa_nodes.len() > 1;
        let mut room = false;
        class.tree.search(key, &req_arr, usize::MAX, |slot, _| {
            let Some(host) = class.host_at(slot) else {
                return ControlFlow::Continue(());
            };
            if check_node && !self.fits_one_node(host, &req) {
                return ControlFlow::Continue(());
            }
            room = true;
            ControlFlow::Break(())
        });
        (class.hosts, room)
    }

    /// Whether some single NUMA node of the host has `req` free.
    fn fits_one_node(&self, id: HostId, req: &Resources) -> bool {
        let Some(h) = self.hosts.get(&id) else {
            return false;
        };
        let avail = self.node_avail(h, false);
        avail.iter().any(|a| req.fits_in(a))
    }

    /// Evaluate `host` for a rigid instance, evicting best-effort ones.
    pub(crate) fn preempt_option(
        &self,
        id: HostId,
        req: &Resources,
        policy: NumaPolicy,
    ) -> Option<Candidate> {
        let h = self.hosts.get(&id)?;
        let sku = &self.skus[h.sku()];
        let cap = &sku.allocatable;
        let free = self.node_avail(h, false);
        // Scopes: each node for SingleNode, the whole host for Any.
        let scopes: SmallVec<[Option<usize>; 4]> = match policy {
            NumaPolicy::SingleNode => (0..free.len()).map(Some).collect(),
            NumaPolicy::Any => SmallVec::from_elem(None, 1),
        };
        let mut best: Option<Candidate> = None;
        for scope in scopes {
            let avail = match scope {
                Some(n) => free[n],
                None => Resources::sum(&free),
            };
            let deficit = req.saturating_sub(&avail);
            let mut pool: Vec<(InstanceId, Resources, u64)> = Vec::new();
            for inst in &h.instances {
                let Some(i) = self.instances.get(inst) else {
                    continue;
                };
                if self.apps[i.app()].spec.qos != QosTier::BestEffort {
                    continue;
                }
                let InstanceState::Placed { parts, .. } = &i.state else {
                    continue;
                };
                let released = Resources::sum(
                    parts
                        .iter()
                        .filter(|(n, _)| scope.is_none_or(|s| usize::from(*n) == s))
                        .map(|(_, r)| r),
                );
                if released.is_zero() {
                    continue;
                }
                let whole = Resources::sum(parts.iter().map(|(_, r)| r));
                pool.push((*inst, released, size_of(cap, &whole)));
            }
            pool.sort_by_key(|(i, _, s)| (*s, *i));
            let Some(set) = choose_victims(&deficit, &pool, cap) else {
                continue;
            };
            let victims: SmallVec<[InstanceId; 4]> = set.iter().map(|&i| pool[i].0).collect();
            let vsize: u64 = set.iter().map(|&i| pool[i].2).sum();
            let freed = Resources::sum(set.iter().map(|&i| &pool[i].1));
            let total_free = Resources::sum(&free);
            let after = total_free
                .checked_add(&freed)
                .unwrap_or(total_free)
                .saturating_sub(req);
            let rank = (
                victims.len(),
                vsize,
                residual_score(&self.sku_scales[h.sku()], &after),
            );
            if best.as_ref().is_none_or(|b| rank < b.rank) {
                best = Some(Candidate {
                    host: id,
                    rank,
                    victims,
                });
            }
        }
        best
    }

    /// Zones to try, in order: allowed zones holding the fewest placed
    /// instances of the app first, then by declaration order.
    fn zone_order(&self, app: usize, classes: &[usize]) -> SmallVec<[usize; 4]> {
        let mut zones: SmallVec<[usize; 4]> = SmallVec::new();
        // Indexing the map's slice checks the index once.
        let all = self.classes.as_slice();
        // Zones seen so far, a bit each below 64 (beyond, the list is
        // searched).
        let mut seen = 0u64;
        for &c in classes {
            let z = all[c].zone;
            let new = match u32::try_from(z).ok().and_then(|b| 1u64.checked_shl(b)) {
                Some(bit) => {
                    let new = seen & bit == 0;
                    seen |= bit;
                    new
                }
                None => !zones.contains(&z),
            };
            if new {
                zones.push(z);
            }
        }
        let a = &self.apps[app];
        if a.weights.is_empty() {
            // Keys are distinct (zones are), so an unstable sort is exact.
            zones.sort_unstable_by_key(|&z| (a.zone_count(z), z));
        } else {
            // Furthest below the proportional target first. Targets are
            // shares of the app's spread domain, not of the zones that
            // happen to have classes (a class emptied of hosts lives on
            // in the scheduler that emptied it, never in one restored
            // from its snapshot): the order is a function of the state.
            let domain = self.spread_domain(app);
            let (d, _) = self.deviations(app, &domain, |z| a.zone_count(z));
            let mut keyed: SmallVec<[(i128, usize); 4]> = zones
                .iter()
                .map(|&z| {
                    // Eligible classes are in up, allowed zones: in the
                    // domain. A zone outside it would come last.
                    let dev = domain
                        .iter()
                        .position(|&x| x == z)
                        .and_then(|i| d.get(i).copied())
                        .unwrap_or(i128::MAX);
                    (dev, z)
                })
                .collect();
            keyed.sort_unstable();
            zones = keyed.into_iter().map(|(_, z)| z).collect();
        }
        zones
    }

    /// Try to place an existing instance; on success the placement (and any
    /// evictions) are recorded in `out`.
    pub(crate) fn try_place(
        &mut self,
        id: InstanceId,
        app: usize,
        classes: &[usize],
        out: &mut Decisions,
    ) -> bool {
        self.try_place_with(id, app, classes, out, true)
    }

    /// [`try_place`](Self::try_place), keeping the app's spread policy only
    /// with `spread` (rebalance replacements pick their zone themselves).
    pub(crate) fn try_place_with(
        &mut self,
        id: InstanceId,
        app: usize,
        classes: &[usize],
        out: &mut Decisions,
        spread: bool,
    ) -> bool {
        let a = &self.apps[app];
        let spec = &a.spec;
        let (req, policy) = (spec.resources, spec.numa);
        let rigid = spec.qos == QosTier::Rigid;
        let constrained = spec.spread.is_constrained();
        // Any subset of the app's eligible classes (a migration's) spans
        // at most the tiers they span.
        let tiered = a.tiered && classes.len() > 1;
        let substitutes = a.substitutes;
        let dedicated = spec.isolation == crate::app::Isolation::DedicatedHosts;
        let zones = self.zone_order(app, classes);
        let blocks = spread && self.spread_blocks(app);
        // With `spread`, zones where one more instance would break a
        // DoNotSchedule spread policy are skipped; usually the first zone
        // tried supplies the host, so each is checked only when its turn
        // comes.
        let blocking = blocks.then(|| self.spread_check(app));
        let mut q = Query {
            app,
            req,
            req_arr: req.as_array(),
            policy,
            tiered,
            key: BoundKey::FreeTotal,
            limit: 0,
            preempt: false,
            planned: false,
            budgeted: true,
            images: self.config.image_locality_weight > 0
                && !spec.images.is_empty()
                && self.cold.any_images(),
        };
        let mut found = Found::default();
        // Whether every running host was searched before the choice.
        let mut after_running = false;
        // Each search first runs on a visit budget of O(log hosts); only if
        // that finds nothing anywhere, and some search ran out of budget, is
        // the search repeated without a budget, so a "no" is always exact.
        // Running hosts first, then planned ones; each with a budgeted and,
        // if needed, an unbudgeted search; then preemption on either.
        let mut choice = None;
        'passes: for (preempt, planned, budgeted) in [
            (false, false, true),
            (false, false, false),
            (false, true, true),
            (false, true, false),
            (true, false, true),
            (true, false, false),
        ] {
            if dedicated {
                // Hosts of its tenant or empty ones: see `isolation`.
                let (c, after) = self.dedicated_choice(app, &zones, classes, blocking.as_ref());
                choice = c.map(|(host, victims)| Candidate {
                    host,
                    rank: (0, 0, 0),
                    victims,
                });
                after_running = after;
                break;
            }
            if preempt && !rigid {
                break;
            }
            if preempt && budgeted {
                // Preemption searches the reclaim arrays, which the index
                // brings up to date only when asked.
                for &c in classes {
                    self.classes[c].tree.refresh_reclaim();
                }
            }
            if !budgeted && !found.exhausted {
                continue;
            }
            found.exhausted = false;
            q.set_pass(&self.config, preempt, planned, budgeted);
            for &zone in &zones {
                if let Some(check) = &blocking {
                    if !self.spread_check_allows(app, check, zone) {
                        continue;
                    }
                }
                self.search_zone(&q, zone, classes, &mut found);
                if let Some(c) = found.settle() {
                    choice = Some(c);
                    after_running = planned || preempt;
                    break 'passes;
                }
            }
        }
        let Some(choice) = choice else {
            return false;
        };
        // Hosts referenced by the index exist: removed hosts leave it first.
        let Some((host_ix, _, h)) = self.hosts.get_full(&choice.host) else {
            return false;
        };
        let (zone, sku) = (h.zone(), h.sku());
        // Only a substitution (rare) builds a note, before anything moves.
        let note_tier = if substitutes {
            self.apps[app]
                .sku_tiers
                .get(sku)
                .filter(|t| t.note)
                .map(|t| t.tier)
        } else {
            None
        };
        let substitution = note_tier.map(|tier| {
            self.placement_note(app, sku, tier, &zones, blocking.as_ref(), after_running)
        });
        let now = self.now;
        for victim in &choice.victims {
            self.evict(
                *victim,
                PendingReason::Preempted {
                    by: id,
                    host: choice.host,
                },
                EvictionCause::Preempted { by: id },
                now,
                out,
            );
        }
        // Evictions may change the map (a move's replacement that loses
        // its host drops it): look the host up again after any.
        let host_ix = if choice.victims.is_empty() {
            host_ix
        } else {
            match self.hosts.get_index_of(&choice.host) {
                Some(ix) => ix,
                None => return false,
            }
        };
        let Some((_, h)) = self.hosts.get_index(host_ix) else {
            return false;
        };
        let Some(parts) = self.parts_on(h, &req, policy) else {
            // The search (and any evictions) made room, so this cannot
            // happen; if it did, the instance would stay pending.
            return false;
        };
        let numa_nodes = match parts.as_slice() {
            [(n, _)] => SmallVec::from_buf_and_len([*n, 0], 1),
            many => many.iter().map(|(n, _)| *n).collect(),
        };
        let planned = h.state == HostState::Planned;
        // A blocking policy already skipped the zones it does not allow,
        // and a rigid instance's victims are best-effort instances, of
        // other apps: only a non-blocking policy can be violated here.
        let violates = spread && constrained && !blocks && !self.spread_allows(app, zone);
        let pull_bytes = self.expected_pull(app, choice.host, sku);
        self.allocate_at(id, host_ix, parts);
        if violates {
            self.report_violation(app, out);
        }
        let list = if planned {
            &mut out.tentative
        } else {
            &mut out.placements
        };
        list.push(Placement {
            instance: id,
            app: self.apps[app].spec.id.clone(),
            host: choice.host,
            zone: self.zone_id(zone).clone(),
            sku: self.skus[sku].id.clone(),
            numa_nodes,
            substitution,
            pull_bytes,
            standby: None,
        });
        true
    }

    /// The substitution note of a placement of `app` on SKU `sku` of tier
    /// `tier`, found by searching `zones` (those `blocking` rules out
    /// skipped), after every running host with `after_running`. Kept out
    /// of line: substitutions are rare.
    #[cold]
    #[inline(never)]
    fn placement_note(
        &mut self,
        app: usize,
        sku: usize,
        tier: u32,
        zones: &[usize],
        blocking: Option<&SpreadCheck>,
        after_running: bool,
    ) -> Arc<SubstitutionNote> {
        let blocked: SmallVec<[usize; 4]> = match blocking {
            Some(check) => zones
                .iter()
                .copied()
                .filter(|&z| !self.spread_check_allows(app, check, z))
                .collect(),
            None => SmallVec::new(),
        };
        let basis = NoteBasis::Placement {
            zones,
            blocked: &blocked,
            planned: after_running,
        };
        self.substitution_note(app, sku, tier, basis)
    }

    /// Search the classes of `classes` in `zone` for `q`, recording
    /// candidates in `found`. Without preemption, the zone's search stops
    /// once [`Config::classes_per_zone`](crate::Config) classes found hosts
    /// that fit; preemption looks at every class. For an app whose classes
    /// span tiers (sorted by tier), the search also stops at the first
    /// class of a worse tier than one that found candidates, and a class
    /// whose budgeted search ran out without finding any is searched again
    /// without a budget: a worse tier is used only when no host of a
    /// better one in the zone fits.
    #[inline(always)]
    fn search_zone(&self, q: &Query, zone: usize, classes: &[usize], found: &mut Found) {
        let (all, skus) = (self.classes.as_slice(), self.skus.as_slice());
        let Query {
            app,
            req,
            req_arr,
            policy,
            tiered,
            key,
            limit,
            preempt,
            planned,
            budgeted,
            images,
        } = *q;
        let Found {
            best,
            chosen,
            exhausted,
        } = found;
        // Classes of this zone that found hosts that fit.
        let mut supplied = 0u32;
        // With tiers: the tier of the classes that found hosts.
        let mut found_tier = None;
        for &c in classes {
            let class = &all[c];
            if class.zone != zone || (!preempt && class.planned != planned) {
                continue;
            }
            let tier = if tiered {
                let tier = self.class_tier(app, Some(c));
                if found_tier.is_some_and(|t| t != tier) {
                    break;
                }
                Some(tier)
            } else {
                None
            };
            let mut budget = if budgeted {
                class.tree.budget(self.config.search_budget)
            } else {
                usize::MAX
            };
            let mut n = 0u32;
            let scale = &self.sku_scales[class.sku];
            // The bound covers the request. It is the host's free
            // capacity, except for a single-node request on a SKU of
            // several nodes: then some node may fit, which is checked, and
            // the host's free total is read for the score. The host's id
            // is read to settle ties.
            let check_node =
                !preempt && key == BoundKey::FreeNode && skus[class.sku].numa_nodes.len() > 1;
            // The app's image on this class's architecture, when images
            // count.
            let image = if images {
                self.apps[app].spec.images.get(&skus[class.sku].arch)
            } else {
                None
            };
            let weight = self.config.image_locality_weight;
            loop {
                let ran_out = if !preempt {
                    class.tree.search(key, &req_arr, budget, |slot, bound| {
                        let Some(host) = class.host_at(slot) else {
                            return ControlFlow::Continue(());
                        };
                        let free = if check_node {
                            match self.free_if_a_node_fits(class, slot, host, &req) {
                                Some(free) => free,
                                None => return ControlFlow::Continue(()),
                            }
                        } else {
                            bound
                        };
                        let mut score = free_score(scale, &free, &req_arr);
                        if let Some(image) = image {
                            score = self.cold.image_key(score, host, &image.digest, weight);
                        }
                        if best.is_none_or(|b| (score, host) < b) {
                            *best = Some((score, host));
                        }
                        n += 1;
                        if n >= limit {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    })
                } else {
                    class.tree.search(key, &req_arr, budget, |slot, _| {
                        let Some(host) = class.host_at(slot) else {
                            return ControlFlow::Continue(());
                        };
                        if let Some(opt) = self.preempt_option(host, &req, policy) {
                            n += 1;
                            let better = chosen
                                .as_ref()
                                .is_none_or(|b| (opt.rank, opt.host) < (b.rank, b.host));
                            if better {
                                *chosen = Some(opt);
                            }
                        }
                        if n >= limit {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    })
                };
                // With tiers, a class that ran out of budget finding
                // nothing is searched again at once, without a budget.
                if ran_out && n == 0 && tier.is_some() && budget != usize::MAX {
                    budget = usize::MAX;
                    continue;
                }
                *exhausted |= ran_out;
                break;
            }
            if n > 0 {
                found_tier = tier;
                if !preempt {
                    supplied += 1;
                    if supplied == self.config.classes_per_zone {
                        break;
                    }
                }
            }
        }
    }

    /// [`explain`](Self::explain), cached per app until any host changes.
    pub(crate) fn explain_cached(&mut self, app: usize) -> Explanation {
        if let Some((version, at, e)) = &self.apps[app].explained {
            if *version == self.version && *at == self.now {
                return e.clone();
            }
        }
        let verdicts = self.verdicts_cached(app);
        let e = self.explain(app, &verdicts);
        self.apps[app].explained = Some((self.version, self.now, e.clone()));
        e
    }

    /// Count, for every host, the first constraint that rules it out for
    /// one more instance of `app`.
    pub(crate) fn explain(&self, app: usize, verdicts: &[Result<u32, Rejection>]) -> Explanation {
        let spec = &self.apps[app].spec;
        let rigid = spec.qos == QosTier::Rigid;
        let req = spec.resources;
        let mut e = Explanation {
            // Host counts fit in u32 in any real deployment; saturate.
            hosts: u32::try_from(self.hosts.len()).unwrap_or(u32::MAX),
            ruled_out: Vec::new(),
            skus: Vec::new(),
        };
        let blocks = self.spread_blocks(app);
        let blocked: SmallVec<[usize; 4]> = if blocks {
            (0..self.zones.len())
                .filter(|&z| !self.spread_allows(app, z))
                .collect()
        } else {
            SmallVec::new()
        };
        // The host-level constraint that rules a host out, if any.
        let host_block = |id: HostId, h: &Host| {
            if h.state == HostState::Cordoned {
                return Some(Constraint::HostCordoned);
            }
            if self.isolation_blocks(app, id, h) {
                return Some(Constraint::Isolation);
            }
            let avail = self.node_avail(h, rigid);
            let total = Resources::sum(&avail);
            if let Some(d) = req.first_short(&total) {
                Some(Constraint::Capacity(d))
            } else if spec.numa == NumaPolicy::SingleNode && !avail.iter().any(|a| req.fits_in(a)) {
                Some(Constraint::NumaNode)
            } else {
                None
            }
        };
        for c in 0..self.classes.len() {
            if let Some(constraint) = self.class_constraint(app, c, verdicts) {
                e.add(constraint, self.classes[c].hosts);
                continue;
            }
            let hosts = self.classes[c]
                .slots
                .iter()
                .flatten()
                .filter_map(|host| self.hosts.get(host).map(|h| (*host, h)));
            if blocked.contains(&self.classes[c].zone) {
                // Whether relaxing the spread would place it: the hosts
                // of the zone with room for it.
                let room = hosts.filter(|(id, h)| host_block(*id, h).is_none()).count();
                // At most the class's host count, a u32.
                let room = u32::try_from(room).unwrap_or(u32::MAX);
                e.add_with_room(Constraint::ZoneSpread, self.classes[c].hosts, Some(room));
                continue;
            }
            for (id, h) in hosts {
                if let Some(constraint) = host_block(id, h) {
                    e.add(constraint, 1);
                }
            }
        }
        if rigid && !self.offerings.is_empty() {
            self.explain_new_hosts(app, verdicts, &mut e);
        }
        e
    }

    /// Why new hosts could not help: SKUs per failed rule, then offerings
    /// of acceptable SKUs in the app's up zones per block.
    fn explain_new_hosts(
        &self,
        app: usize,
        verdicts: &[Result<u32, Rejection>],
        e: &mut Explanation,
    ) {
        let mut rules: Vec<(Constraint, u32)> = Vec::new();
        let mut blocks: Vec<(OfferingBlock, u32)> = Vec::new();
        let a = &self.apps[app];
        let zones: SmallVec<[usize; 4]> = (0..self.zones.len())
            .filter(|z| a.zones.is_empty() || a.zones.contains(z))
            .filter(|&z| self.zones[z] == ZoneState::Up)
            .collect();
        for (s, v) in verdicts.iter().enumerate() {
            match v {
                Err(r) => bump(&mut rules, constraint_of(r)),
                Ok(_) => {
                    for &z in &zones {
                        if let Err(block) = self.offering_availability(s, z) {
                            bump(&mut blocks, block);
                        }
                    }
                }
            }
        }
        rules.sort();
        blocks.sort();
        e.skus = rules
            .into_iter()
            .map(|(constraint, skus)| SkuRuledOut::Rule { constraint, skus })
            .chain(
                blocks
                    .into_iter()
                    .map(|(block, offerings)| SkuRuledOut::Offering { block, offerings }),
            )
            .collect();
    }
}

fn bump<K: PartialEq>(counts: &mut Vec<(K, u32)>, key: K) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(c: u64, m: u64) -> Resources {
        Resources::new(c, m, 0, 0).unwrap()
    }

    /// On a host of one NUMA node, the shortcut gives what the general
    /// choice gives, under either policy. Usage is drawn within the
    /// capacity and, per dimension, the request within what is left (in
    /// nine cases of ten), so that most cases fit and the two are compared
    /// on the answers that matter.
    #[test]
    fn one_node_parts_equal_the_general_choice() {
        use proptest::prelude::*;
        use std::cell::Cell;
        // Per dimension: capacity, then eighths of it held rigid, eighths of
        // the rest held best effort, and eighths of what is left requested
        // (9: one more than is left).
        let dim = (0u32..64, 0u32..=8, 0u32..=8, 0u32..=9).prop_map(|(cap, a, b, k)| {
            let rigid = cap * a / 8;
            let best_effort = (cap - rigid) * b / 8;
            let left = cap - rigid - best_effort;
            let req = if k == 9 { left + 1 } else { left * k / 8 };
            (cap, rigid, best_effort, req)
        });
        let case = (proptest::array::uniform4(dim), proptest::bool::ANY);
        let (cases, fit) = (Cell::new(0u32), Cell::new(0u32));
        let mut runner =
            proptest::test_runner::TestRunner::new(proptest::test_runner::Config::default());
        runner
            .run(&case, |(dims, single)| {
                let pick = |f: fn(&(u32, u32, u32, u32)) -> u32| {
                    Resources::from_raw(dims.each_ref().map(f))
                };
                let cap = pick(|d| d.0);
                let used = NodeUse {
                    rigid: pick(|d| d.1),
                    best_effort: pick(|d| d.2),
                };
                let req = pick(|d| d.3);
                let avail = cap
                    .saturating_sub(&used.rigid)
                    .saturating_sub(&used.best_effort);
                let policy = if single {
                    NumaPolicy::SingleNode
                } else {
                    NumaPolicy::Any
                };
                let got = one_node_parts(&cap, &used, &req);
                cases.set(cases.get() + 1);
                fit.set(fit.get() + u32::from(got.is_some()));
                prop_assert_eq!(
                    got,
                    choose_parts(&[Scale::of(&cap)], &[avail], &req, policy)
                );
                Ok(())
            })
            .unwrap();
        // About (9/10)^4 of the cases fit.
        assert!(
            fit.get() * 2 >= cases.get(),
            "only {} of {} cases fit",
            fit.get(),
            cases.get()
        );
    }

    /// Every subset of `0..n` of `k` elements, as index lists.
    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        if k == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for last in k - 1..n {
            for mut s in subsets(last, k - 1) {
                s.push(last);
                out.push(s);
            }
        }
        out
    }

    proptest::proptest! {
        /// Victims of mixed sizes, against brute force: with up to 32
        /// candidates (the exact search) and a cover of at most three, the
        /// choice has the fewest victims and, among covers that few, the
        /// smallest total size; beyond 32 candidates (the greedy search), a
        /// deficit that one victim covers gets the smallest such victim.
        /// Every choice covers the deficit, and is `None` only when the
        /// whole pool does not; no victim of it could be spared.
        #[test]
        fn victims_are_the_fewest_then_the_smallest_by_brute_force(
            victims in proptest::collection::vec((1u32..40, 0u32..40, 0u32..3), 1..48),
            deficit in (0u32..70, 0u32..70, 0u32..3),
        ) {
            let cap = Resources::new(100, 100, 0, 4).unwrap();
            let pool: Vec<(InstanceId, Resources, u64)> = victims
                .iter()
                .enumerate()
                .map(|(i, &(c, m, a))| {
                    let r = Resources::from_raw([c, m, 0, a]);
                    (InstanceId(i as u64 + 1), r, size_of(&cap, &r))
                })
                .collect();
            let deficit = Resources::from_raw([deficit.0, deficit.1, 0, deficit.2]);
            let covers = |set: &[usize]| {
                let freed = Resources::sum(set.iter().map(|&i| &pool[i].1));
                deficit.fits_in(&freed)
            };
            let size = |set: &[usize]| set.iter().map(|&i| pool[i].2).sum::<u64>();
            let got = choose_victims(&deficit, &pool, &cap);
            let all: Vec<usize> = (0..pool.len()).collect();
            let Some(got) = got else {
                proptest::prop_assert!(!covers(&all), "a cover exists");
                return Ok(());
            };
            proptest::prop_assert!(covers(&got), "{:?} does not cover {}", got, deficit);
            for i in 0..got.len() {
                let mut without = got.to_vec();
                without.remove(i);
                proptest::prop_assert!(!covers(&without), "{:?} could spare one", got);
            }
            // The fewest victims that cover, up to three, and the smallest
            // total among covers of that many.
            let best = (0..=3.min(pool.len())).find_map(|k| {
                subsets(pool.len(), k)
                    .into_iter()
                    .filter(|s| covers(s))
                    .map(|s| size(&s))
                    .min()
                    .map(|smallest| (k, smallest))
            });
            let exact = pool.len() <= EXACT_VICTIM_POOL;
            match best {
                Some((k, smallest)) if exact || k == 1 => {
                    proptest::prop_assert_eq!((got.len(), size(&got)), (k, smallest));
                }
                Some((k, _)) => proptest::prop_assert!(got.len() >= k),
                None => proptest::prop_assert!(got.len() > 3),
            }
        }
    }

    #[test]
    fn alignment_ranks_proportional_requests_first() {
        let full = 12 * FIXED_ONE;
        let g7 = r(16_000, 65_536);
        // In proportion, at any size.
        assert_eq!(alignment(&r(1_000, 4_096), &g7), full);
        assert_eq!(alignment(&r(16_000, 65_536), &g7), full);
        // Memory at a quarter of the CPU fraction: the mean of 1 and 1/4.
        assert_eq!(alignment(&r(4_000, 4_096), &g7), full * 5 / 8);
        // A dimension the SKU has and the request leaves unused counts as
        // 0: accelerators, here.
        let gpu = Resources::new(16_000, 65_536, 0, 4).unwrap();
        assert_eq!(alignment(&r(1_000, 4_096), &gpu), full * 2 / 3);
        let train = Resources::new(4_000, 16_384, 0, 1).unwrap();
        assert_eq!(alignment(&train, &gpu), full);
        // Asking for what the SKU has none of, or for nothing.
        assert_eq!(alignment(&train, &g7), 0);
        assert_eq!(alignment(&Resources::ZERO, &g7), 0);
    }

    #[test]
    fn parts_prefer_the_tightest_single_node() {
        let scales = [Scale::of(&r(8, 8)); 2];
        let avail = [r(8, 8), r(3, 3)];
        let p = choose_parts(&scales, &avail, &r(2, 2), NumaPolicy::Any).unwrap();
        assert_eq!(p.as_slice(), &[(1, r(2, 2))]);
    }

    #[test]
    fn any_policy_spreads_when_no_node_is_large_enough() {
        let scales = [Scale::of(&r(8, 8)); 2];
        let avail = [r(5, 6), r(6, 5)];
        let p = choose_parts(&scales, &avail, &r(10, 10), NumaPolicy::Any).unwrap();
        let mut sum = Resources::ZERO;
        for (n, part) in &p {
            assert!(part.fits_in(&avail[usize::from(*n)]));
            sum = sum.checked_add(part).unwrap();
        }
        assert_eq!(sum, r(10, 10));
        assert!(choose_parts(&scales, &avail, &r(10, 10), NumaPolicy::SingleNode).is_none());
        assert!(choose_parts(&scales, &avail, &r(12, 10), NumaPolicy::Any).is_none());
    }

    #[test]
    fn victims_are_fewest_then_smallest() {
        let cap = r(100, 100);
        let pool = vec![
            (InstanceId(1), r(10, 10), size_of(&cap, &r(10, 10))),
            (InstanceId(2), r(10, 10), size_of(&cap, &r(10, 10))),
            (InstanceId(3), r(25, 25), size_of(&cap, &r(25, 25))),
            (InstanceId(4), r(40, 40), size_of(&cap, &r(40, 40))),
        ];
        // One victim suffices: the smallest that covers 20 is #3.
        assert_eq!(
            choose_victims(&r(20, 20), &pool, &cap).unwrap().as_slice(),
            &[2]
        );
        // 30 needs one: #4 (only one that covers).
        assert_eq!(
            choose_victims(&r(30, 30), &pool, &cap).unwrap().as_slice(),
            &[3]
        );
        // 45 needs two: #1+#4 (50) beats #3+#4 (65).
        assert_eq!(
            choose_victims(&r(45, 45), &pool, &cap).unwrap().as_slice(),
            &[0, 3]
        );
        assert!(choose_victims(&r(90, 90), &pool, &cap).is_none());
        assert_eq!(
            choose_victims(&Resources::ZERO, &pool, &cap).unwrap().len(),
            0
        );
    }

    #[test]
    fn greedy_victims_on_large_pools_still_cover() {
        let cap = r(1000, 1000);
        let pool: Vec<_> = (0..40)
            .map(|i| (InstanceId(i), r(10, 10), size_of(&cap, &r(10, 10))))
            .collect();
        let set = choose_victims(&r(55, 55), &pool, &cap).unwrap();
        assert_eq!(set.len(), 6);
    }
}
