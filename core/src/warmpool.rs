//! Warm pools: idle hosts kept provisioned per offering.
//!
//! A new host takes minutes to provision; a scale-out that has to wait for
//! one is not a rigid response. A *warm pool* keeps a target number of
//! idle, pre-provisioned hosts of an offering (a SKU in a zone), declared
//! with [`Scheduler::set_warm_pool`]:
//!
//! * **Idle** means: ready or planned, holding no instance, not cordoned,
//!   in a zone that is up (a host of a lost or draining zone does not
//!   count, nor does a failed one, which the scheduler no longer holds).
//! * **Refill.** Every call that returns [`Decisions`] ends by comparing
//!   each pool's idle hosts with its target and asking for the difference
//!   as a [`Provision`] with [`reason`](Provision::reason)
//!   [`ProvisionReason::WarmPool`] and no app. Its hosts are planned hosts
//!   like any other (report them with
//!   [`host_ready`](Scheduler::host_ready) or
//!   [`provision_failed`](Scheduler::provision_failed)); while they are
//!   planned they already count as idle, so the next call does not ask for
//!   them again. An offering that cannot provide hosts (not up, backed
//!   off, out of known stock) is not asked; the pool is refilled by the
//!   first call after it can.
//! * **Draw-down.** A scale-out draws the pools down first without any
//!   rule of its own: placement searches every running host, then every
//!   planned host, before it provisions anything (see
//!   [`placement`](crate::placement)), so an idle pool host is always taken
//!   before a new provision is opened, with the usual score and tie-breaks
//!   (an idle host packs worst, so partly used hosts that fit come first).
//!   The refill provisions come back in the same [`Decisions`].
//!   [`Scheduler::warm_pool_draw`] tells, from a dry run's decisions, how
//!   many pool hosts a call would use and how many it would order back.
//! * **Cold start.** An instance on a pool host counts as warm in
//!   [`Scheduler::cold_start_mix`], even while the host is still planned.
//!
//! With no pool configured, none of this costs anything: the refill
//! returns at once. With pools, each call counts the idle hosts of the
//! pools' offerings once (not per placement).

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decision::{CancellationCause, Decisions, Provision, ProvisionId, ProvisionReason};
use crate::error::{Error, RestoreError};
use crate::hash::Map;
use crate::ids::{HostId, SkuId, ZoneId};
use crate::limits::Limit;
use crate::scheduler::{Host, HostState, Scheduler, ZoneState};
use crate::time::Timestamp;

/// An offering's warm pool target, as declared and in a
/// [`Snapshot`](crate::Snapshot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarmPool {
    /// SKU.
    pub sku: SkuId,
    /// Zone.
    pub zone: ZoneId,
    /// Idle hosts to keep (at least 1 in a snapshot).
    pub target: u32,
}

/// An offering's warm pool as the scheduler sees it: see
/// [`Scheduler::warm_pools`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WarmPoolView {
    /// SKU.
    pub sku: SkuId,
    /// Zone.
    pub zone: ZoneId,
    /// Idle hosts to keep.
    pub target: u32,
    /// Idle running hosts.
    pub idle_ready: u32,
    /// Idle planned hosts (being provisioned).
    pub idle_planned: u32,
}

/// Warm pool state in a [`Snapshot`](crate::Snapshot).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarmPoolRecord {
    /// Targets, in declaration order.
    #[serde(default)]
    pub pools: Vec<WarmPool>,
    /// Planned hosts ordered for a pool, by id (a planned host of a pool
    /// may hold no instance).
    #[serde(default)]
    pub planned_hosts: Vec<HostId>,
}

impl WarmPoolRecord {
    /// Whether it holds nothing (it is then left out of snapshots).
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty() && self.planned_hosts.is_empty()
    }
}

/// How a call's decisions draw the warm pools down: see
/// [`Scheduler::warm_pool_draw`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WarmPoolDraw {
    /// Idle pool hosts the call placed instances on.
    pub hosts_used: u32,
    /// Instances placed on them.
    pub instances: u32,
    /// Hosts the call orders for the pools (its provisions with reason
    /// [`ProvisionReason::WarmPool`]).
    pub refill_hosts: u32,
}

/// The scheduler's warm pools.
#[derive(Clone, Debug, Default)]
pub(crate) struct WarmPools {
    /// Targets by offering (SKU index, zone index), in declaration order.
    targets: Map<(usize, usize), u32>,
    /// Planned hosts ordered for a pool, until they are ready or dropped.
    planned: BTreeSet<HostId>,
}

impl WarmPools {
    /// Whether `host` is a planned host ordered for a pool.
    #[inline]
    pub(crate) fn is_pool_host(&self, host: HostId) -> bool {
        !self.planned.is_empty() && self.planned.contains(&host)
    }

    /// A planned host became ready or was dropped.
    #[inline]
    pub(crate) fn forget_host(&mut self, host: HostId) {
        if !self.planned.is_empty() {
            self.planned.remove(&host);
        }
    }

    /// Whether `(sku, zone)` has a pool.
    fn has_pool(&self, sku: usize, zone: usize) -> bool {
        self.targets.contains_key(&(sku, zone))
    }
}

impl Scheduler {
    /// Keep `target` idle hosts of `sku` in `zone` (0 removes the pool);
    /// the offering must be declared ([`set_stock`](Self::set_stock)).
    /// Returns the provisions that bring the pool to its target (reason
    /// [`ProvisionReason::WarmPool`]). Lowering a target cancels idle
    /// planned hosts beyond it, newest first
    /// ([`CancellationCause::Unneeded`]); idle running hosts stay, for
    /// the embedder to keep or remove. See [`warmpool`](crate::warmpool).
    ///
    /// ```
    /// # use trimline::*;
    /// # let mut s = Scheduler::default();
    /// # s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
    /// # s.add_sku(SkuSpec {
    /// #     id: "g7".parse()?, family: "g7".parse()?, generation: 7,
    /// #     arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
    /// #     allocatable: Resources::cpu_mem(16_000, 65_536)?, perf_score: 100,
    /// #     numa_nodes: vec![], features: Default::default(),
    /// #     accelerator_model: None, local_disk: None, price_nanos_per_second: 1_000,
    /// # }, Timestamp(0))?;
    /// let (g7, a) = ("g7".parse()?, "a".parse()?);
    /// let _ = s.set_stock(&g7, &a, Stock::Unknown, Timestamp(0))?;
    /// // Two idle hosts of g7 in zone a: both are ordered.
    /// let d = s.set_warm_pool(&g7, &a, 2, Timestamp(1))?;
    /// assert_eq!(d.provisions[0].reason, ProvisionReason::WarmPool);
    /// assert_eq!((d.provisions[0].count, d.provisions[0].app.clone()), (2, None));
    /// // Planned, they already count: the next call orders nothing.
    /// assert!(s.reconcile(Timestamp(2))?.provisions.is_empty());
    /// assert_eq!(s.warm_pools()[0].idle_planned, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_warm_pool(
        &mut self,
        sku: &SkuId,
        zone: &ZoneId,
        target: u32,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let unknown = || Error::UnknownOffering {
            sku: sku.clone(),
            zone: zone.clone(),
        };
        let s = self.skus.get_index_of(sku).ok_or_else(unknown)?;
        let z = self.zones.get_index_of(zone).ok_or_else(unknown)?;
        if !self.offerings.contains_key(&(s, z)) {
            return Err(unknown());
        }
        self.limits.fits(Limit::Hosts, target as usize)?;
        self.now = now;
        let mut out = Decisions::default();
        let (ready, planned) = self.pool_idle_hosts(s, z);
        let idle = ready.saturating_add(planned.len() as u32);
        if target == 0 {
            self.warm.targets.shift_remove(&(s, z));
        } else {
            self.warm.targets.insert((s, z), target);
        }
        // Idle planned hosts beyond the target, newest first.
        let surplus = idle.saturating_sub(target) as usize;
        for id in planned.iter().rev().take(surplus) {
            self.warm.forget_host(*id);
            self.drop_host_with(*id, CancellationCause::Unneeded, &mut out);
        }
        if target == 0 {
            // Its planned hosts that hold instances are ordinary ones now.
            let keep: Vec<HostId> = self
                .warm
                .planned
                .iter()
                .copied()
                .filter(|h| {
                    self.hosts
                        .get(h)
                        .is_some_and(|h| (h.sku(), h.zone()) != (s, z))
                })
                .collect();
            self.warm.planned = keep.into_iter().collect();
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Every warm pool, in declaration order, with its idle hosts.
    pub fn warm_pools(&self) -> Vec<WarmPoolView> {
        self.warm
            .targets
            .iter()
            .map(|(&(s, z), &target)| {
                let (idle_ready, planned) = self.pool_idle_hosts(s, z);
                WarmPoolView {
                    sku: self.skus[s].id.clone(),
                    zone: self.zone_id(z).clone(),
                    target,
                    idle_ready,
                    // At most the host count.
                    idle_planned: planned.len() as u32,
                }
            })
            .collect()
    }

    /// How `decisions`, made by a call from this state, draw the warm pools
    /// down: the idle pool hosts they place instances on, and the hosts
    /// they order back. Run it on the decisions of a
    /// [`dry_run`](Self::dry_run) (before the real call, which decides the
    /// same): once the call is made, its hosts are no longer idle.
    pub fn warm_pool_draw(&self, decisions: &Decisions) -> WarmPoolDraw {
        let mut draw = WarmPoolDraw::default();
        if self.warm.targets.is_empty() {
            return draw;
        }
        let mut used: BTreeSet<HostId> = BTreeSet::new();
        for p in decisions.placements.iter().chain(&decisions.tentative) {
            let pool_host = self
                .hosts
                .get(&p.host)
                .is_some_and(|h| self.warm.has_pool(h.sku(), h.zone()) && self.is_idle(h));
            if pool_host {
                used.insert(p.host);
                draw.instances = draw.instances.saturating_add(1);
            }
        }
        draw.hosts_used = u32::try_from(used.len()).unwrap_or(u32::MAX);
        draw.refill_hosts = decisions
            .provisions
            .iter()
            .filter(|p| p.reason == ProvisionReason::WarmPool)
            .fold(0u32, |n, p| n.saturating_add(p.count));
        draw
    }

    /// Whether a host counts as idle for a pool: ready or planned, no
    /// instance, not cordoned, in a zone that is up.
    fn is_idle(&self, h: &Host) -> bool {
        h.instances.is_empty()
            && !h.dedicated
            && matches!(h.state, HostState::Ready | HostState::Planned)
            && self.zones.get_index(h.zone()).map(|(_, st)| *st) == Some(ZoneState::Up)
    }

    /// The idle hosts of an offering: how many are running, and the
    /// planned ones by id.
    fn pool_idle_hosts(&self, sku: usize, zone: usize) -> (u32, Vec<HostId>) {
        let idle = |planned: bool| {
            self.classes
                .get(&(sku, zone, planned))
                .into_iter()
                .flat_map(|c| c.slots.iter().flatten())
                .filter(|id| self.hosts.get(*id).is_some_and(|h| self.is_idle(h)))
                .copied()
        };
        let ready = idle(false).fold(0u32, |n, _| n.saturating_add(1));
        let mut planned: Vec<HostId> = idle(true).collect();
        planned.sort_unstable();
        (ready, planned)
    }

    /// Order what each pool lacks, as one provision per pool, in
    /// declaration order. Returns at once when no pool is configured.
    pub(crate) fn refill_warm_pools(&mut self, out: &mut Decisions) {
        if self.warm.targets.is_empty() {
            return;
        }
        let pools: Vec<((usize, usize), u32)> =
            self.warm.targets.iter().map(|(&k, &t)| (k, t)).collect();
        for ((s, z), target) in pools {
            if self.zones.get_index(z).map(|(_, st)| *st) != Some(ZoneState::Up) {
                continue;
            }
            let (ready, planned) = self.pool_idle_hosts(s, z);
            let idle = ready.saturating_add(planned.len() as u32);
            let mut want = target.saturating_sub(idle);
            if want == 0 {
                continue;
            }
            match self.offering_availability(s, z) {
                Err(_) => continue,
                Ok(Some(n)) => want = want.min(n),
                Ok(None) => {}
            }
            let ids = self.plan_host_ids(s, z, want);
            if ids.is_empty() {
                continue;
            }
            let id = ProvisionId(self.next_provision);
            self.next_provision += 1;
            for h in &ids {
                self.provision_of.insert(*h, id);
                self.warm.planned.insert(*h);
            }
            out.provisions.push(Provision {
                id,
                zone: self.zone_id(z).clone(),
                sku: self.skus[s].id.clone(),
                // At most `want`, a u32.
                count: ids.len() as u32,
                hosts: ids,
                substitutes_for: None,
                tier: 0,
                app: None,
                instances: 0,
                substitution: None,
                reason: ProvisionReason::WarmPool,
            });
        }
    }

    /// The warm pool part of a snapshot.
    pub(crate) fn warm_pool_record(&self) -> WarmPoolRecord {
        WarmPoolRecord {
            pools: self
                .warm
                .targets
                .iter()
                .map(|(&(s, z), &target)| WarmPool {
                    sku: self.skus[s].id.clone(),
                    zone: self.zone_id(z).clone(),
                    target,
                })
                .collect(),
            planned_hosts: self.warm.planned.iter().copied().collect(),
        }
    }

    /// Restore the warm pool part of a snapshot, once offerings and hosts
    /// are in place.
    pub(crate) fn restore_warm_pools(
        &mut self,
        record: WarmPoolRecord,
    ) -> Result<(), RestoreError> {
        for p in record.pools {
            let s = self
                .skus
                .get_index_of(&p.sku)
                .ok_or_else(|| Error::UnknownSku(p.sku.clone()))?;
            let z = self
                .zones
                .get_index_of(&p.zone)
                .ok_or_else(|| Error::UnknownZone(p.zone.clone()))?;
            if !self.offerings.contains_key(&(s, z)) {
                return Err(Error::UnknownOffering {
                    sku: p.sku,
                    zone: p.zone,
                }
                .into());
            }
            if p.target == 0 || self.warm.targets.contains_key(&(s, z)) {
                return Err(RestoreError::Counter(
                    "a warm pool is listed once per offering, with a target of at least 1",
                ));
            }
            self.limits.fits(Limit::Hosts, p.target as usize)?;
            self.warm.targets.insert((s, z), p.target);
        }
        let mut previous: Option<HostId> = None;
        for id in record.planned_hosts {
            if previous.is_some_and(|p| p >= id) {
                return Err(RestoreError::Counter(
                    "warm pool hosts must be listed once each, by id",
                ));
            }
            previous = Some(id);
            if !self
                .hosts
                .get(&id)
                .is_some_and(|h| h.state == HostState::Planned)
            {
                return Err(RestoreError::PlannedHost {
                    host: id,
                    what: "a warm pool host is not a planned host",
                });
            }
            self.warm.planned.insert(id);
        }
        Ok(())
    }
}
