//! Return to preferred: moving instances off substitute SKUs once a more
//! preferred SKU can serve them again.
//!
//! [`Scheduler::plan_return`] looks, app by app, for instances running on a
//! host whose SKU is in a worse tier than one that can take them now in the
//! same zone (a running or planned host with room, or an offering that can
//! provide a host). For each, up to the app's
//! [`disruption_budget`](crate::SubstitutionPolicy::disruption_budget) of
//! moves in flight, it creates a replacement instance on the better SKU
//! (placed, or tentative on a newly planned host) and returns a [`Move`].
//! Nothing is stopped by the core: the embedder starts the replacement,
//! then calls [`Scheduler::complete_move`], which removes the original; or
//! [`Scheduler::abort_move`], which removes the replacement. Instances are
//! chosen worst tier first, then oldest.
//!
//! While a move is in flight the pair counts as one instance of the app for
//! [`Scheduler::scale`]; scaling down removes both. A replacement that loses
//! its host (its provisioning failed, or the host was removed) aborts the
//! move rather than wait.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::app::QosTier;
use crate::decision::Decisions;
use crate::error::Error;
use crate::explain::{Explanation, PendingReason};
use crate::ids::{AppId, HostId, InstanceId};
use crate::scheduler::{HostState, InstanceState, Scheduler};
use crate::substitution::Rejection;
use crate::time::Timestamp;

/// Why a move was planned.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MoveReason {
    /// Back to a more preferred SKU ([`Scheduler::plan_return`]).
    #[default]
    ReturnToPreferred,
    /// Into another zone to restore the app's skew
    /// ([`Scheduler::rebalance`]).
    Rebalance,
    /// Off a host being emptied, onto a host that keeps running
    /// ([`Scheduler::start_consolidation`]).
    Consolidate,
}

/// A planned move of one instance: to a more preferred SKU, or to another
/// zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Move {
    /// The app.
    pub app: AppId,
    /// The instance to move, still running.
    pub from: InstanceId,
    /// Its host.
    pub from_host: HostId,
    /// The replacement instance.
    pub to: InstanceId,
    /// The replacement's host (a planned host while it is provisioned).
    pub to_host: HostId,
    /// The replacement host's SKU tier (better than the original's for a
    /// return to preferred).
    pub to_tier: u32,
    /// Why the move was planned.
    #[serde(default)]
    pub reason: MoveReason,
}

/// A move in flight: its replacement instance runs (or is being placed)
/// beside the original, until [`Scheduler::complete_move`] or
/// [`Scheduler::abort_move`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveInFlight {
    /// The replacement instance (the [`Move::to`] to complete or abort).
    pub to: InstanceId,
    /// The original instance, still running.
    pub from: InstanceId,
}

impl fmt::Display for MoveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoveReason::ReturnToPreferred => "back to a more preferred SKU",
            MoveReason::Rebalance => "to restore the app's zone skew",
            MoveReason::Consolidate => "to empty its host",
        })
    }
}

impl fmt::Display for Move {
    /// `web: move i-3 on host-1 to its replacement i-9 on host-4 (SKU tier
    /// 0), back to a more preferred SKU`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: move {} on {} to its replacement {} on {} (SKU tier {}), {}",
            self.app, self.from, self.from_host, self.to, self.to_host, self.to_tier, self.reason
        )
    }
}

impl fmt::Display for MoveInFlight {
    /// `i-9 replacing i-3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} replacing {}", self.to, self.from)
    }
}

/// The tier of a verdict; SKUs that serve only existing hosts rank last.
fn tier(v: Option<&Result<u32, Rejection>>) -> u32 {
    match v {
        Some(Ok(t)) => *t,
        _ => u32::MAX,
    }
}

impl Scheduler {
    /// Moves in flight, in the order planned.
    pub fn moves_in_flight(&self) -> Vec<MoveInFlight> {
        self.moves
            .iter()
            .map(|(to, from)| MoveInFlight {
                to: *to,
                from: *from,
            })
            .collect()
    }

    /// Plan moves back to preferred SKUs, within every app's disruption
    /// budget. See the [module docs](crate::migration).
    ///
    /// ```
    /// # use trimline::*;
    /// # let sku = |id: &str, family: &str, cpu: u64, perf_score: u32, price: u64| -> Result<SkuSpec, Box<dyn std::error::Error>> {
    /// #     Ok(SkuSpec {
    /// #         id: id.parse()?, family: family.parse()?, generation: 7,
    /// #         arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
    /// #         allocatable: Resources::cpu_mem(cpu, cpu * 4)?, perf_score,
    /// #         numa_nodes: vec![], features: Default::default(),
    /// #         accelerator_model: None, local_disk: None, price_nanos_per_second: price,
    /// #     })
    /// # };
    /// # let mut s = Scheduler::default();
    /// # s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
    /// // The app asks for g7.4x; g8i.8x may stand in (faster, 1.2x the price
    /// // per instance); g7.large is too small for one instance.
    /// s.add_sku(sku("g7.4x", "g7", 16_000, 100, 1_000)?, Timestamp(0))?;
    /// s.add_sku(sku("g8i.8x", "g8i", 32_000, 120, 2_400)?, Timestamp(0))?;
    /// s.add_sku(sku("g7.large", "g7", 2_000, 100, 200)?, Timestamp(0))?;
    /// # let web: AppId = "web".parse()?;
    /// # let mut spec = AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(4_000, 8_192)?);
    /// # spec.sku = Some("g7.4x".parse()?);
    /// # s.add_app(spec, Timestamp(0))?;
    /// // Only a g8i.8x host runs: web's instance is placed there, as a
    /// // substitute; then a g7.4x host arrives.
    /// let _ = s.add_host(HostSpec { id: HostId(1), sku: "g8i.8x".parse()?, zone: "a".parse()? }, Timestamp(0))?;
    /// let d = s.scale(&web, 1, Timestamp(1))?;
    /// assert!(d.placements[0].substitution.is_some());
    /// let _ = s.add_host(HostSpec { id: HostId(2), sku: "g7.4x".parse()?, zone: "a".parse()? }, Timestamp(2))?;
    /// let d = s.plan_return(Timestamp(3))?;
    /// let m = &d.moves[0];
    /// assert_eq!(m.reason, MoveReason::ReturnToPreferred);
    /// assert_eq!((m.from_host, m.to_host, m.to_tier), (HostId(1), HostId(2), 0));
    /// assert_eq!(d.placements[0].instance, m.to); // the replacement, to start
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn plan_return(&mut self, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        self.now = now;
        let mut out = Decisions::default();
        for app in 0..self.apps.len() {
            let spec = &self.apps[app].spec;
            if spec.qos != QosTier::Rigid {
                continue;
            }
            let budget = spec.substitution.disruption_budget as usize;
            let in_flight = self
                .moves
                .keys()
                .filter(|to| self.instances.get(to).is_some_and(|i| i.app() == app))
                .count();
            if in_flight >= budget {
                continue;
            }
            let verdicts = self.verdicts_cached(app);
            // Running instances on a host of a tier worse than the best.
            let mut cands: Vec<(u32, InstanceId, HostId, usize)> = Vec::new();
            for id in &self.apps[app].instances {
                if self.moves.contains_key(id) || self.moves.values().any(|f| f == id) {
                    continue;
                }
                let Some(InstanceState::Placed { host, .. }) =
                    self.instances.get(id).map(|i| &i.state)
                else {
                    continue;
                };
                let Some(h) = self.hosts.get(host) else {
                    continue;
                };
                if h.state != HostState::Ready {
                    continue;
                }
                let t = tier(verdicts.get(h.sku()));
                if t > 0 {
                    cands.push((t, *id, *host, h.zone()));
                }
            }
            cands.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            // (zone, tier) pairs known to have nothing better.
            let mut hopeless: SmallVec<[(usize, u32); 4]> = SmallVec::new();
            let mut left = budget - in_flight;
            for (t, from, from_host, zone) in cands {
                if left == 0 {
                    break;
                }
                if hopeless.contains(&(zone, t)) {
                    continue;
                }
                match self.place_replacement(app, zone, t, &verdicts, now, &mut out) {
                    Some((to, to_host, to_tier)) => {
                        self.record_move(
                            app,
                            (from, from_host),
                            (to, to_host, to_tier),
                            MoveReason::ReturnToPreferred,
                            &mut out,
                        );
                        left -= 1;
                    }
                    None => hopeless.push((zone, t)),
                }
            }
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Create a replacement instance of `app` in `zone` on a SKU of a tier
    /// better than `worse`: on a host with room, or on newly planned hosts.
    /// Returns (instance, host, tier); on failure nothing changes.
    fn place_replacement(
        &mut self,
        app: usize,
        zone: usize,
        worse: u32,
        verdicts: &[Result<u32, Rejection>],
        now: Timestamp,
        out: &mut Decisions,
    ) -> Option<(InstanceId, HostId, u32)> {
        let better = |s: usize| tier(verdicts.get(s)) < worse;
        // Only into a zone that is up and whose spread takes one more: a
        // host planned for a replacement that cannot go there would stay
        // empty.
        if self.zones.get_index(zone).map(|(_, st)| *st) != Some(crate::scheduler::ZoneState::Up)
            || !self.spread_allows(app, zone)
        {
            return None;
        }
        let (id, host) = self.place_new_in_zone(app, zone, verdicts, better, true, now, out)?;
        let to_tier = tier(verdicts.get(self.hosts.get(&host)?.sku()));
        Some((id, host, to_tier))
    }

    /// Record a move in flight and report it.
    pub(crate) fn record_move(
        &mut self,
        app: usize,
        (from, from_host): (InstanceId, HostId),
        (to, to_host, to_tier): (InstanceId, HostId, u32),
        reason: MoveReason,
        out: &mut Decisions,
    ) {
        self.moves.insert(to, from);
        self.version += 1;
        out.moves.push(Move {
            app: self.apps[app].spec.id.clone(),
            from,
            from_host,
            to,
            to_host,
            to_tier,
            reason,
        });
    }

    /// Create an instance of `app` in `zone` on a host whose SKU passes
    /// `sku_ok`: a running or planned host with room, or else (for a rigid
    /// app) a host newly planned among those SKUs. `spread` keeps the app's
    /// spread policy while placing. On failure nothing changes and the
    /// instance number is given back.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn place_new_in_zone(
        &mut self,
        app: usize,
        zone: usize,
        verdicts: &[Result<u32, Rejection>],
        sku_ok: impl Fn(usize) -> bool,
        spread: bool,
        now: Timestamp,
        out: &mut Decisions,
    ) -> Option<(InstanceId, HostId)> {
        let id = InstanceId(self.next_instance);
        let next = self.next_instance.checked_add(1)?;
        let added = self.add_instance(
            id,
            app,
            InstanceState::Pending {
                since: now,
                reason: Some(Box::new(PendingReason::NoFit(Explanation::default()))),
            },
        );
        if !added {
            return None;
        }
        self.next_instance = next;
        let here = |s: &Scheduler, all: &[usize]| -> SmallVec<[usize; 16]> {
            all.iter()
                .copied()
                .filter(|&c| s.classes[c].zone == zone && sku_ok(s.classes[c].sku))
                .collect()
        };
        let all = self.eligible_classes_cached(app);
        let mut placed = self.try_place_with(id, app, &here(self, &all), out, spread);
        if !placed && self.apps[app].spec.qos == QosTier::Rigid {
            let restricted: Vec<Result<u32, Rejection>> = verdicts
                .iter()
                .enumerate()
                .map(|(s, v)| {
                    if sku_ok(s) {
                        v.clone()
                    } else {
                        Err(Rejection::NotInTiers)
                    }
                })
                .collect();
            let mut spare = Vec::new();
            if self.plan_zone(app, zone, 1, &restricted, &mut spare, out) == 0 {
                let all = self.eligible_classes_cached(app);
                placed = self.try_place_with(id, app, &here(self, &all), out, spread);
            }
        }
        let host = match self.instances.get(&id).map(|i| &i.state) {
            Some(InstanceState::Placed { host, .. }) if placed => Some(*host),
            _ => None,
        };
        if host.is_none() {
            let mut scratch = Decisions::default();
            self.delete_instance(id, &mut scratch);
            self.next_instance -= 1;
        }
        host.map(|h| (id, h))
    }

    /// The embedder started the replacement `to` of a move: the original is
    /// removed and the replacement becomes an ordinary instance.
    ///
    /// ```
    /// # use trimline::*;
    /// # let sku = |id: &str, family: &str, cpu: u64, perf_score: u32, price: u64| -> Result<SkuSpec, Box<dyn std::error::Error>> {
    /// #     Ok(SkuSpec {
    /// #         id: id.parse()?, family: family.parse()?, generation: 7,
    /// #         arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
    /// #         allocatable: Resources::cpu_mem(cpu, cpu * 4)?, perf_score,
    /// #         numa_nodes: vec![], features: Default::default(),
    /// #         accelerator_model: None, local_disk: None, price_nanos_per_second: price,
    /// #     })
    /// # };
    /// # let mut s = Scheduler::default();
    /// # s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
    /// // The app asks for g7.4x; g8i.8x may stand in (faster, 1.2x the price
    /// // per instance); g7.large is too small for one instance.
    /// s.add_sku(sku("g7.4x", "g7", 16_000, 100, 1_000)?, Timestamp(0))?;
    /// s.add_sku(sku("g8i.8x", "g8i", 32_000, 120, 2_400)?, Timestamp(0))?;
    /// s.add_sku(sku("g7.large", "g7", 2_000, 100, 200)?, Timestamp(0))?;
    /// # let web: AppId = "web".parse()?;
    /// # let mut spec = AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(4_000, 8_192)?);
    /// # spec.sku = Some("g7.4x".parse()?);
    /// # s.add_app(spec, Timestamp(0))?;
    /// // Only a g8i.8x host runs: web's instance is placed there, as a
    /// // substitute; then a g7.4x host arrives.
    /// let _ = s.add_host(HostSpec { id: HostId(1), sku: "g8i.8x".parse()?, zone: "a".parse()? }, Timestamp(0))?;
    /// let d = s.scale(&web, 1, Timestamp(1))?;
    /// assert!(d.placements[0].substitution.is_some());
    /// let _ = s.add_host(HostSpec { id: HostId(2), sku: "g7.4x".parse()?, zone: "a".parse()? }, Timestamp(2))?;
    /// let d = s.plan_return(Timestamp(3))?;
    /// let (from, to) = (d.moves[0].from, d.moves[0].to);
    /// // The embedder started the replacement: the original goes.
    /// let d = s.complete_move(to, Timestamp(4))?;
    /// assert_eq!(d.removals[0].instance, from);
    /// assert!(s.instance(from).is_none());
    /// assert!(s.moves_in_flight().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn complete_move(&mut self, to: InstanceId, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let Some(&from) = self.moves.get(&to) else {
            return Err(Error::NoMove(to));
        };
        let ready = matches!(
            self.instances.get(&to).map(|i| &i.state),
            Some(InstanceState::Placed { host, .. })
                if self.hosts.get(host).is_some_and(|h| h.state != HostState::Planned)
        );
        if !ready {
            return Err(Error::MoveNotReady(to));
        }
        self.now = now;
        self.moves.shift_remove(&to);
        self.version += 1;
        if let Some(app) = self.instance_standby(from) {
            let app = self.apps[app].spec.id.clone();
            self.standby.moved(&app, from, to);
        }
        let mut out = Decisions::default();
        self.delete_instance(from, &mut out);
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Give up a move: the replacement `to` is removed, the original stays.
    pub fn abort_move(&mut self, to: InstanceId, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        if !self.moves.contains_key(&to) {
            return Err(Error::NoMove(to));
        }
        self.now = now;
        let mut out = Decisions::default();
        self.delete_instance(to, &mut out);
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Forget any move `id` takes part in (it is being deleted).
    pub(crate) fn forget_move(&mut self, id: InstanceId) {
        if self.moves.shift_remove(&id).is_some() {
            self.version += 1;
        }
        if let Some(to) = self.moves.iter().find(|(_, f)| **f == id).map(|(t, _)| *t) {
            self.moves.shift_remove(&to);
            self.version += 1;
        }
    }

    /// For scale-down: the replacement of `from`, if a move is in flight.
    pub(crate) fn replacement_of(&self, from: InstanceId) -> Option<InstanceId> {
        self.moves
            .iter()
            .find(|(_, f)| **f == from)
            .map(|(t, _)| *t)
    }

    /// Removal decision helper for aborting a move whose replacement lost
    /// its host: delete the replacement.
    pub(crate) fn drop_replacement(&mut self, to: InstanceId, out: &mut Decisions) -> bool {
        if !self.moves.contains_key(&to) {
            return false;
        }
        self.delete_instance(to, out);
        true
    }
}
