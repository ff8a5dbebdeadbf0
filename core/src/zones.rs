//! Availability zones: spreading, failure evacuation, rebalance and the
//! "survive any one zone" check.
//!
//! ```
//! use trimline::*;
//!
//! let mut s = Scheduler::default();
//! for z in ["a", "b", "c"] {
//!     s.add_zone(z.parse()?, ZoneState::Up, Timestamp(0))?;
//! }
//! s.add_sku(SkuSpec {
//!     id: "g7.4x".parse()?, family: "g7".parse()?, generation: 7,
//!     arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
//!     allocatable: Resources::cpu_mem(16_000, 65_536)?, perf_score: 100,
//!     numa_nodes: vec![], features: Default::default(),
//!     accelerator_model: None, local_disk: None, price_nanos_per_second: 1_000,
//! }, Timestamp(0))?;
//! for (id, zone) in [(1, "a"), (2, "b"), (3, "c")] {
//!     let host = HostSpec { id: HostId(id), sku: "g7.4x".parse()?, zone: zone.parse()? };
//!     let _ = s.add_host(host, Timestamp(0))?;
//! }
//! let web: AppId = "web".parse()?;
//! let mut spec = AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(1_000, 2_048)?);
//! spec.spread.max_skew = Some(1);
//! s.add_app(spec, Timestamp(0))?;
//! let _ = s.scale(&web, 6, Timestamp(1))?; // two per zone
//!
//! // Losing any one zone now would be survived.
//! assert!(s.survive_zone_loss().iter().all(|r| r.survivable()));
//!
//! // Zone b is lost: one plan re-places its two instances in a and c.
//! let plan = s.zone_down(&"b".parse()?, Timestamp(2))?;
//! assert_eq!((plan.evictions.len(), plan.placements.len()), (2, 2));
//! assert_eq!(s.skew(&web)?, 0); // 3 in a, 3 in c; b is down and empty
//!
//! // Zone b returns empty: 3-0-3 needs two moves back, one at a time.
//! let plan = s.zone_up(&"b".parse()?, Timestamp(3))?;
//! assert_eq!(plan.moves.len(), 1);
//! let _ = s.complete_move(plan.moves[0].to, Timestamp(4))?;
//! let plan = s.rebalance(Timestamp(5))?;
//! assert_eq!(plan.moves.len(), 1);
//! let _ = s.complete_move(plan.moves[0].to, Timestamp(6))?;
//! assert_eq!(s.skew(&web)?, 0);
//! assert!(s.rebalance(Timestamp(7))?.moves.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The skew arithmetic
//!
//! The zone universe is declared ([`Scheduler::add_zone`]), never inferred
//! from where hosts happen to be. An app's *spread domain* is its eligible
//! zones (the allowed ones of its [`SpreadPolicy`](crate::SpreadPolicy),
//! or every declared zone) that are [`Up`](crate::ZoneState::Up), plus the
//! eligible zones that are not up but still hold instances of the app. So
//! a zone that is down keeps counting, with the instances recorded there,
//! until they are evacuated ([`Scheduler::zone_down`],
//! [`Scheduler::host_failed`]) or removed: losing a zone never makes a skew
//! look better than it is. Once evacuated, an unavailable zone leaves the
//! domain (nothing can be placed there to even it out) and comes back with
//! [`Scheduler::zone_up`], whose rebalance restores the skew.
//!
//! The app's *skew* ([`Scheduler::skew`]) is the largest minus the smallest
//! placed-instance count over its domain. Tentative instances
//! ([`InstanceStatus::Tentative`](crate::InstanceStatus::Tentative), on
//! planned hosts) count in their host's zone: they hold their place there,
//! so the spread stays right when the hosts come up.
//!
//! # Weights
//!
//! With [`weights`](crate::SpreadPolicy::weights) the targets are
//! proportional: zone `z` should hold `n·w_z/W` of the app's `n` instances
//! (`W` the total weight over the domain). Each zone's deviation is its
//! count minus its target, and the skew is the largest minus the smallest
//! deviation, rounded up to whole instances; with equal weights that is the
//! largest minus the smallest count. "Fewest first" becomes "furthest below
//! target first", for placement, rebalance and scale-down alike. New hosts
//! are still planned evenly over zones (weights do not steer provisioning).
//!
//! # Placement
//!
//! A new instance goes to the zone holding the fewest instances of the app
//! first (see [`placement`](crate::placement)). With `max_skew` set, a zone
//! may take it only if the skew afterwards is within the limit, or if the
//! zone is one of those furthest below target (the least filled, with equal
//! weights) and the skew gets no worse. With
//! `min_zones` set, a zone that already holds instances may take it only
//! when the app spans at least `min(min_zones, zones in the domain)` zones.
//! When only zones that break the policy have room:
//!
//! * [`DoNotSchedule`](crate::WhenUnsatisfiable::DoNotSchedule): the
//!   instance stays pending; its explanation counts the hosts of those
//!   zones under [`Constraint::ZoneSpread`](crate::Constraint::ZoneSpread),
//!   with how many of them had room for it
//!   ([`RuledOut::with_room`](crate::RuledOut::with_room)): some had room,
//!   so relaxing the spread would place it (`zone spread: 10000 hosts
//!   (4000 had room)`), or none had, and there is no capacity there either.
//! * [`ScheduleAnyway`](crate::WhenUnsatisfiable::ScheduleAnyway): it is
//!   placed and the call reports it in
//!   [`Decisions::skew_violations`](crate::Decisions::skew_violations);
//!   [`Scheduler::rebalance`] fixes it later.
//!
//! Scale-down removes from the zone holding the most instances first (then
//! the least utilised host, then the newest instance), which never makes
//! the skew worse.
//!
//! The skew is therefore kept as an invariant, in this form: an app that
//! does not schedule anyway and has no pending instance is within its
//! `max_skew` after any scale-up, scale-down, zone or host change, once the
//! rebalance that [`Scheduler::zone_up`] starts has been carried out (a
//! zone that returns empty is the one change that cannot be absorbed at
//! once: it needs moves, which need the embedder). A zone that returns
//! without room for the app stays below the others until capacity appears
//! there and [`Scheduler::rebalance`] is called again.
//!
//! # Failure: one evacuation plan
//!
//! [`Scheduler::zone_down`] marks the zone down and returns one plan that
//! re-places every instance recorded in it. The instances are lost with the
//! zone: each is evicted ([`EvictionCause::ZoneDown`](crate::EvictionCause))
//! and re-placed in the same call, keeping its id, so no instance is lost or
//! duplicated. Evictions and re-placements are ordered as pending retries
//! are: rigid before best effort, then app priority (high first), then the
//! oldest instance. Re-placement is the ordinary path: the spread policy
//! among the surviving zones, equivalent SKUs and new hosts from offerings
//! (one provisioning plan per app for all its evacuated instances). What
//! cannot be re-placed stays pending with its reason, and
//! [`Decisions::unplaced`](crate::Decisions::unplaced) sums it per app
//! (best-effort instances elsewhere that re-placed rigid ones preempt are
//! listed in the evictions, as any preemption, and not in `unplaced`).
//! Planned hosts of the lost zone are dropped and listed in
//! [`Decisions::cancellations`](crate::Decisions::cancellations) (a later
//! `host_ready` for them fails with `UnknownHost`); running hosts stay
//! registered, so the zone can come back. A replacement of a move in
//! flight that was in the zone aborts its move (it is removed); an original whose replacement survives
//! is removed instead and the replacement takes its place (the move
//! completes), so no capacity is spent re-placing it. Calling `zone_down` on a zone that is already down
//! evacuates whatever is still recorded there (for instance after
//! [`Scheduler::set_zone_state`], which never evacuates).
//!
//! [`Scheduler::host_failed`] does the same for one host, which is removed
//! (as by [`Scheduler::remove_host`], with the failure as the cause).
//!
//! Evacuation does not explain per instance: retries are memoised per app,
//! so a zone of tens of thousands of instances is evacuated in
//! milliseconds.
//!
//! # Rebalance
//!
//! [`Scheduler::zone_up`] marks the zone up, retries pending instances and
//! returns a rebalance plan ([`Scheduler::rebalance`] plans the next steps).
//! For each app with a `max_skew` whose skew exceeds it, moves go from the
//! zone holding the most instances (furthest above target, with weights;
//! lowest declaration index on ties) to the up zone of its domain holding
//! the fewest (furthest below target), one at a time, until the skew is
//! within the limit: never more moves than needed, and at most the app's
//! [`disruption_budget`](crate::SpreadPolicy::disruption_budget) in
//! flight. Moves back to preferred SKUs and rebalance moves share the
//! mechanism, and each kind's budget counts the app's moves of both kinds.
//! A target zone with no room for a replacement (and no offering to
//! provision from) is skipped; the app stays beyond its limit until
//! capacity appears there and `rebalance` is called again. A move is a replacement instance in the target zone (placed, or
//! tentative on a newly planned host) and a [`Move`](crate::Move) with
//! [`MoveReason::Rebalance`](crate::MoveReason); the embedder starts the
//! replacement and confirms with [`Scheduler::complete_move`] (which removes
//! the original) or gives up with [`Scheduler::abort_move`], exactly as for
//! moves back to preferred SKUs. The original moved is the one on the least
//! utilised host, then the newest. Counts treat a move in flight as done.
//!
//! # Survivability
//!
//! [`Scheduler::survive_zone_loss`] answers, for every zone not already
//! down: if it were lost now, which apps could not be fully re-placed, and
//! by how much. It is a dry run of [`Scheduler::zone_down`] on a copy of
//! the scheduler, so it counts free capacity, provisionable stock and
//! equivalent substitution exactly as the real evacuation would, and
//! reports the same shortfall.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::app::WhenUnsatisfiable;
use crate::decision::Count;
use crate::decision::{
    CancellationCause, Decisions, EvictionCause, ResourceTotals, SkewViolation, Unplaced,
};
use crate::error::Error;
use crate::explain::PendingReason;
use crate::ids::{AppId, HostId, InstanceId, ZoneId};
use crate::migration::MoveReason;
use crate::scheduler::{HostState, InstanceState, PendingKey, Scheduler, ZoneState};
use crate::time::Timestamp;

/// What losing one zone now would leave unplaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneLossReport {
    /// The zone.
    pub zone: ZoneId,
    /// Apps that could not be fully re-placed, with their shortfall, in
    /// evacuation order (empty: the zone's loss is survivable).
    pub unplaced: Vec<Unplaced>,
}

impl ZoneLossReport {
    /// Whether every instance of the zone would be re-placed.
    pub fn survivable(&self) -> bool {
        self.unplaced.is_empty()
    }
}

impl fmt::Display for ZoneLossReport {
    /// `losing zone a is survivable: every instance would be re-placed`, or
    /// what would stay unplaced, per app.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.survivable() {
            return write!(
                f,
                "losing zone {} is survivable: every instance would be re-placed",
                self.zone
            );
        }
        write!(f, "losing zone {} would leave ", self.zone)?;
        for (i, u) in self.unplaced.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "{} of {} unplaced (the surviving hosts lack {})",
                Count(u.instances.into(), "instance", "instances"),
                u.app,
                u.resources
            )?;
        }
        Ok(())
    }
}

/// Largest minus smallest deviation (0 when empty).
fn raw_spread(d: &[i128]) -> i128 {
    match (d.iter().max(), d.iter().min()) {
        (Some(max), Some(min)) => max - min,
        _ => 0,
    }
}

/// `(max − min) / w` rounded up, as a count of instances (0 when empty).
pub(crate) fn spread_in_instances(d: &[i128], w: i128) -> u32 {
    let (Some(max), Some(min)) = (d.iter().max(), d.iter().min()) else {
        return 0;
    };
    if w <= 0 {
        return 0;
    }
    let spread = max - min;
    // Non-negative; saturate what cannot fit a u32.
    u32::try_from((spread + w - 1) / w).unwrap_or(u32::MAX)
}

impl Scheduler {
    // ----- the skew arithmetic ---------------------------------------------

    /// The app's spread domain (see the [module docs](crate::zones)).
    pub(crate) fn spread_domain(&self, app: usize) -> SmallVec<[usize; 4]> {
        let a = &self.apps[app];
        (0..self.zones.len())
            .filter(|z| a.zones.is_empty() || a.zones.contains(z))
            .filter(|&z| self.zones[z] == ZoneState::Up || a.zone_count(z) > 0)
            .collect()
    }

    /// The weight of zone `z` for the app (1 unless listed).
    pub(crate) fn zone_weight(&self, app: usize, z: usize) -> u32 {
        self.apps[app].weights.get(z).copied().unwrap_or(1)
    }

    /// Each domain zone's deviation from its proportional target, scaled
    /// by the total weight `W` to stay integral: `c_z·W − n·w_z`, for the
    /// counts `count`. Returns the deviations (in `domain` order) and `W`.
    pub(crate) fn deviations(
        &self,
        app: usize,
        domain: &[usize],
        count: impl Fn(usize) -> u32,
    ) -> (SmallVec<[i128; 4]>, i128) {
        let n: i128 = domain.iter().map(|&z| i128::from(count(z))).sum();
        let w: i128 = domain
            .iter()
            .map(|&z| i128::from(self.zone_weight(app, z)))
            .sum();
        let d = domain
            .iter()
            .map(|&z| i128::from(count(z)) * w - n * i128::from(self.zone_weight(app, z)))
            .collect();
        (d, w)
    }

    /// Largest minus smallest deviation over the domain, in instances
    /// (rounded up): with equal weights, the largest minus the smallest
    /// count.
    pub(crate) fn skew_of(&self, app: usize) -> u32 {
        let a = &self.apps[app];
        let domain = self.spread_domain(app);
        let (d, w) = self.deviations(app, &domain, |z| a.zone_count(z));
        spread_in_instances(&d, w)
    }

    /// Whether placement must leave out zones that break the app's policy.
    pub(crate) fn spread_blocks(&self, app: usize) -> bool {
        let p = &self.apps[app].spec.spread;
        p.is_constrained() && p.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule
    }

    /// Whether one more instance of the app in zone `z` keeps its spread
    /// policy: the skew afterwards is within the limit, or `z` is one of
    /// the zones furthest below target and the skew gets no worse; and the
    /// app spans enough zones.
    pub(crate) fn spread_allows(&self, app: usize, z: usize) -> bool {
        self.spread_check_allows(app, &self.spread_check(app), z)
    }

    /// The app's maximum skew when that is its whole policy (equal weights,
    /// no minimum of zones): the case the rule reads on plain counts.
    fn unweighted_max_skew(&self, app: usize) -> Option<u32> {
        let a = &self.apps[app];
        let p = &a.spec.spread;
        match (p.max_skew, a.weights.is_empty(), p.min_zones) {
            (Some(k), true, 0) => Some(k),
            _ => None,
        }
    }

    /// [`spread_allows`](Self::spread_allows) in its general form, by
    /// weighted deviations.
    fn spread_allows_by_deviations(&self, app: usize, z: usize) -> bool {
        let a = &self.apps[app];
        let p = &a.spec.spread;
        let mut domain = self.spread_domain(app);
        if !domain.contains(&z) {
            domain.push(z);
        }
        let here = a.zone_count(z);
        if let Some(k) = p.max_skew {
            let (d, _) = self.deviations(app, &domain, |x| a.zone_count(x));
            let pos = domain.iter().position(|&x| x == z).unwrap_or(0);
            let min = d.iter().copied().min().unwrap_or(0);
            let below = d.get(pos).copied().unwrap_or(0) == min;
            let before = raw_spread(&d);
            let (d, w) = self.deviations(app, &domain, |x| a.zone_count(x) + u32::from(x == z));
            let after = raw_spread(&d);
            let within = after <= i128::from(k) * w;
            // Into a zone furthest below target, and no worse than before.
            let no_worse = below && after <= before;
            if !within && !no_worse {
                return false;
            }
        }
        if p.min_zones > 0 && here > 0 {
            let spanned = domain.iter().filter(|&&x| a.zone_count(x) > 0).count();
            let need = (p.min_zones as usize).min(domain.len());
            if spanned < need {
                return false;
            }
        }
        true
    }

    /// Per zone index, the app's instance count there if the zone is in its
    /// spread domain (allowed, and up or holding instances).
    fn domain_counts(&self, app: usize) -> impl Iterator<Item = Option<u32>> + '_ {
        let a = &self.apps[app];
        self.zones.values().enumerate().map(|(x, state)| {
            let count = a.zone_count(x);
            let in_domain = (a.zones.is_empty() || a.zones.contains(&x))
                && (*state == ZoneState::Up || count > 0);
            in_domain.then_some(count)
        })
    }

    /// Keep the zones of `zones` where one more instance of the app keeps
    /// its spread policy ([`spread_allows`](Self::spread_allows) for each),
    /// reading the domain's counts once.
    pub(crate) fn retain_spread_allowed(&self, app: usize, zones: &mut SmallVec<[usize; 4]>) {
        let check = self.spread_check(app);
        zones.retain(|z| self.spread_check_allows(app, &check, *z));
    }

    /// The app's spread policy, ready to be asked about several zones in
    /// one call (while its counts stay as they are). An app with a maximum
    /// skew, equal weights and no minimum of zones is checked on its
    /// domain's extreme counts, without building the domain: with equal
    /// weights the deviations are the counts scaled by the domain size, so
    /// the same rule reads directly on the counts.
    pub(crate) fn spread_check(&self, app: usize) -> SpreadCheck {
        if !self.apps[app].spec.spread.is_constrained() {
            SpreadCheck::Any
        } else if let Some(k) = self.unweighted_max_skew(app) {
            SpreadCheck::Counts(DomainExtremes::of(self.domain_counts(app)), k)
        } else {
            SpreadCheck::Deviations
        }
    }

    /// [`spread_allows`](Self::spread_allows) for zone `z`, through a
    /// [`spread_check`](Self::spread_check) of the app taken since its
    /// counts last changed.
    pub(crate) fn spread_check_allows(&self, app: usize, check: &SpreadCheck, z: usize) -> bool {
        match check {
            SpreadCheck::Any => true,
            SpreadCheck::Counts(extremes, k) => {
                skew_allows_on_counts(extremes.without(z), self.apps[app].zone_count(z), *k)
            }
            SpreadCheck::Deviations => self.spread_allows_by_deviations(app, z),
        }
    }

    /// Record that an instance of the app was placed against its policy.
    pub(crate) fn report_violation(&self, app: usize, out: &mut Decisions) {
        let a = &self.apps[app];
        let skew = self.skew_of(app);
        match out.skew_violations.iter_mut().find(|v| v.app == a.spec.id) {
            Some(v) => {
                v.instances = v.instances.saturating_add(1);
                v.skew = skew;
            }
            None => out.skew_violations.push(SkewViolation {
                app: a.spec.id.clone(),
                instances: 1,
                skew,
                max_skew: a.spec.spread.max_skew,
            }),
        }
    }

    /// The app's skew now: the largest minus the smallest count of placed
    /// instances over its spread domain, tentative ones (on planned hosts)
    /// included (see the [module docs](crate::zones)).
    pub fn skew(&self, app: &AppId) -> Result<u32, Error> {
        let ix = self
            .apps
            .get_index_of(app)
            .ok_or_else(|| Error::UnknownApp(app.clone()))?;
        Ok(self.skew_of(ix))
    }

    // ----- failure -----------------------------------------------------------

    /// The zone is lost: mark it down and re-place every instance recorded
    /// there, in one plan. See the [module docs](crate::zones#failure-one-evacuation-plan).
    pub fn zone_down(&mut self, zone: &ZoneId, now: Timestamp) -> Result<Decisions, Error> {
        let (z, _) = self.switch_zone(zone, ZoneState::Down, now)?;
        let hosts: Vec<HostId> = self
            .hosts
            .iter()
            .filter(|(_, h)| h.zone() == z)
            .map(|(id, _)| *id)
            .collect();
        let victims: Vec<InstanceId> = hosts
            .iter()
            .filter_map(|id| self.hosts.get(id))
            .flat_map(|h| h.instances.iter().copied())
            .collect();
        let planned: Vec<HostId> = hosts
            .iter()
            .copied()
            .filter(|id| {
                self.hosts
                    .get(id)
                    .is_some_and(|h| h.state == HostState::Planned)
            })
            .collect();
        let mut out = Decisions::default();
        let reason = PendingReason::ZoneDown { zone: zone.clone() };
        self.evacuate(
            victims,
            &reason,
            &EvictionCause::ZoneDown,
            &planned,
            &mut out,
        );
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// A host failed: it is removed and its instances re-placed in one plan,
    /// as by [`zone_down`](Self::zone_down).
    pub fn host_failed(&mut self, host: HostId, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let Some(h) = self.hosts.get(&host) else {
            return Err(Error::UnknownHost(host));
        };
        let victims = h.instances.to_vec();
        self.now = now;
        let mut out = Decisions::default();
        let reason = PendingReason::HostFailed { host };
        self.evacuate(
            victims,
            &reason,
            &EvictionCause::HostFailed,
            &[host],
            &mut out,
        );
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Evict `victims` in retry order, drop the hosts `drop`, re-place what
    /// fits and sum what does not per app.
    fn evacuate(
        &mut self,
        victims: Vec<InstanceId>,
        reason: &PendingReason,
        cause: &EvictionCause,
        drop: &[HostId],
        out: &mut Decisions,
    ) {
        let now = self.now;
        let mut keyed: Vec<PendingKey> = victims
            .into_iter()
            .filter_map(|id| {
                let spec = &self.apps[self.instances.get(&id)?.app()].spec;
                Some((spec.qos, std::cmp::Reverse(spec.priority), id))
            })
            .collect();
        keyed.sort_unstable();
        let lost: std::collections::BTreeSet<InstanceId> = keyed.iter().map(|k| k.2).collect();
        // Evicted instances are not queued one by one: the retry below
        // takes them, in the same order, beside those already pending.
        let mut fresh: Vec<PendingKey> = Vec::with_capacity(keyed.len());
        for key in &keyed {
            let id = key.2;
            match self.replacement_of(id) {
                // Its replacement survives: it takes the original's place.
                Some(to) if !lost.contains(&to) => self.delete_instance(id, out),
                _ => {
                    if self.evict_queued(id, reason.clone(), cause.clone(), now, out, false) {
                        fresh.push(*key);
                    }
                }
            }
        }
        let dropped = match cause {
            EvictionCause::HostFailed => CancellationCause::HostFailed,
            _ => CancellationCause::ZoneDown,
        };
        for host in drop {
            self.drop_host_with(*host, dropped, out);
        }
        self.retry_pending_with(now, out, false, fresh);
        // Sum what is still pending, per app in evacuation order.
        let mut unplaced: Vec<(usize, u32)> = Vec::new();
        for key in &keyed {
            let Some(inst) = self.instances.get(&key.2) else {
                continue;
            };
            if !matches!(inst.state, InstanceState::Pending { .. }) {
                continue;
            }
            match unplaced.iter_mut().find(|(a, _)| *a == inst.app()) {
                Some((_, n)) => *n = n.saturating_add(1),
                None => unplaced.push((inst.app(), 1)),
            }
        }
        out.unplaced = unplaced
            .into_iter()
            .map(|(app, n)| {
                let spec = &self.apps[app].spec;
                Unplaced {
                    app: spec.id.clone(),
                    instances: n,
                    resources: ResourceTotals::times(&spec.resources, n),
                }
            })
            .collect();
    }

    // ----- rebalance ---------------------------------------------------------

    /// The zone is back: mark it up, retry pending instances and return the
    /// first rebalance moves. See the [module docs](crate::zones#rebalance).
    pub fn zone_up(&mut self, zone: &ZoneId, now: Timestamp) -> Result<Decisions, Error> {
        self.switch_zone(zone, ZoneState::Up, now)?;
        let mut out = Decisions::default();
        self.retry_pending(now, &mut out, false);
        self.rebalance_all(now, &mut out);
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Plan moves that bring every app with a `max_skew` back within it,
    /// within each app's disruption budget. Call it again after moves
    /// complete (or capacity appears) for the next steps. See the
    /// [module docs](crate::zones#rebalance).
    pub fn rebalance(&mut self, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        self.now = now;
        let mut out = Decisions::default();
        self.rebalance_all(now, &mut out);
        self.settle_planned(&mut out);
        Ok(out)
    }

    fn rebalance_all(&mut self, now: Timestamp, out: &mut Decisions) {
        for app in 0..self.apps.len() {
            if let Some(k) = self.apps[app].spec.spread.max_skew {
                self.rebalance_app(app, k, now, out);
            }
        }
    }

    fn rebalance_app(&mut self, app: usize, k: u32, now: Timestamp, out: &mut Decisions) {
        let budget = self.apps[app].spec.spread.disruption_budget as usize;
        let mut in_flight = 0usize;
        // Counts with every move in flight done.
        let mut counts: Vec<u32> = (0..self.zones.len())
            .map(|z| self.apps[app].zone_count(z))
            .collect();
        for (to, from) in &self.moves {
            if self.instances.get(to).is_none_or(|i| i.app() != app) {
                continue;
            }
            in_flight += 1;
            let zone_of = |id: &InstanceId| match self.instances.get(id).map(|i| &i.state) {
                Some(InstanceState::Placed { host, .. }) => self.hosts.get(host).map(|h| h.zone()),
                _ => None,
            };
            if let Some(z) = zone_of(from) {
                counts[z] = counts[z].saturating_sub(1);
            }
        }
        let mut left = budget.saturating_sub(in_flight);
        let a = &self.apps[app];
        let eligible: SmallVec<[usize; 4]> = (0..self.zones.len())
            .filter(|z| a.zones.is_empty() || a.zones.contains(z))
            .collect();
        let mut full: SmallVec<[usize; 4]> = SmallVec::new();
        while left > 0 {
            let domain: SmallVec<[usize; 4]> = eligible
                .iter()
                .copied()
                .filter(|&z| self.zones[z] == ZoneState::Up || counts[z] > 0)
                .collect();
            let (d, w) = self.deviations(app, &domain, |z| counts[z]);
            if spread_in_instances(&d, w) <= k {
                return;
            }
            // Furthest above target (lowest index on ties) gives to the up
            // zone furthest below target.
            let Some((si, _)) = d
                .iter()
                .enumerate()
                .max_by(|(i, x), (j, y)| x.cmp(y).then(j.cmp(i)))
            else {
                return;
            };
            let Some((di, _)) = d
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    let z = domain[*i];
                    self.zones[z] == ZoneState::Up && !full.contains(&z)
                })
                .min_by(|(i, x), (j, y)| x.cmp(y).then(i.cmp(j)))
            else {
                return;
            };
            // A move shifts the pair by W each way: only worth it while
            // they are more than W apart.
            if d[si] - d[di] <= w {
                return;
            }
            let (src, dst) = (domain[si], domain[di]);
            let Some(from) = self.rebalance_victim(app, src) else {
                return;
            };
            match self.place_in_zone(app, dst, now, out) {
                Some((to, to_host)) => {
                    let from_host = match self.instances.get(&from).map(|i| &i.state) {
                        Some(InstanceState::Placed { host, .. }) => *host,
                        _ => return,
                    };
                    let verdicts = self.verdicts_cached(app);
                    let to_tier = self
                        .hosts
                        .get(&to_host)
                        .and_then(|h| verdicts.get(h.sku()))
                        .and_then(|v| v.as_ref().ok().copied())
                        .unwrap_or(u32::MAX);
                    self.record_move(
                        app,
                        (from, from_host),
                        (to, to_host, to_tier),
                        MoveReason::Rebalance,
                        out,
                    );
                    counts[src] = counts[src].saturating_sub(1);
                    counts[dst] = counts[dst].saturating_add(1);
                    left -= 1;
                }
                None => full.push(dst),
            }
        }
    }

    /// The instance of `app` in zone `z` to move away: not part of a move,
    /// on the least utilised host, then the newest.
    fn rebalance_victim(&self, app: usize, z: usize) -> Option<InstanceId> {
        let mut best: Option<(u64, std::cmp::Reverse<InstanceId>)> = None;
        for id in &self.apps[app].instances {
            if self.moves.contains_key(id) || self.moves.values().any(|f| f == id) {
                continue;
            }
            let Some(InstanceState::Placed { host, .. }) = self.instances.get(id).map(|i| &i.state)
            else {
                continue;
            };
            let Some(h) = self.hosts.get(host) else {
                continue;
            };
            if h.zone() != z || h.state == HostState::Planned {
                continue;
            }
            let key = (self.utilisation(h), std::cmp::Reverse(*id));
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|(_, std::cmp::Reverse(id))| id)
    }

    /// Create an instance of `app` placed in zone `z`: on a host with room,
    /// or on newly planned hosts. On failure nothing changes.
    fn place_in_zone(
        &mut self,
        app: usize,
        z: usize,
        now: Timestamp,
        out: &mut Decisions,
    ) -> Option<(InstanceId, HostId)> {
        let verdicts = self.verdicts_cached(app);
        self.place_new_in_zone(app, z, &verdicts, |_| true, false, now, out)
    }

    // ----- survivability -----------------------------------------------------

    /// For every zone not already down, in declaration order: what losing
    /// it now would leave unplaced. A dry run of
    /// [`zone_down`](Self::zone_down) per zone, so it reports exactly the
    /// shortfall the evacuation would (see the
    /// [module docs](crate::zones#survivability)).
    pub fn survive_zone_loss(&self) -> Vec<ZoneLossReport> {
        let now = self.now;
        self.zones
            .iter()
            .filter(|(_, state)| **state != ZoneState::Down)
            .map(|(zone, _)| ZoneLossReport {
                zone: zone.clone(),
                unplaced: self
                    .dry_run(|s| s.zone_down(zone, now))
                    .map(|d| d.unplaced)
                    .unwrap_or_default(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With equal weights the spread is the count difference; with weights
    /// it is measured against the proportional targets, rounded up.
    #[test]
    fn spread_is_counted_in_whole_instances() {
        // Counts 3, 1, 2 over three zones of weight 1: W = 3, n = 6.
        let d: Vec<i128> = [3i128, 1, 2].iter().map(|c| c * 3 - 6).collect();
        assert_eq!(spread_in_instances(&d, 3), 2);
        // Counts 4, 3 with weights 2, 1: targets 14/3 and 7/3.
        let d = [4 * 3 - 7 * 2, 3 * 3 - 7];
        assert_eq!(raw_spread(&d), 4);
        assert_eq!(spread_in_instances(&d, 3), 2);
        // Counts 5, 2: within one instance of the targets.
        let d = [5 * 3 - 7 * 2, 2 * 3 - 7];
        assert_eq!(spread_in_instances(&d, 3), 1);
        assert_eq!(spread_in_instances(&[], 0), 0);
    }
}

/// The two smallest and the two largest counts of a spread domain, with
/// their zones, so that the extremes of the domain without any one zone are
/// at hand: the unweighted skew rule then costs one pass over the zones for
/// all candidate zones together.
///
/// A missing entry is `(u32::MAX, NO_ZONE)` among the smallest and
/// `(0, NO_ZONE)` among the largest: neutral for `min` and `max`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct DomainExtremes {
    /// Lowest first: `low[1]` is the smallest count of the other zones.
    low: [(u32, usize); 2],
    /// Highest first, likewise.
    high: [(u32, usize); 2],
}

/// An app's spread policy prepared for questions about several zones (see
/// [`Scheduler::spread_check`]).
pub(crate) enum SpreadCheck {
    /// No policy: every zone.
    Any,
    /// The unweighted skew rule with this maximum skew, on the domain's
    /// extreme counts.
    Counts(DomainExtremes, u32),
    /// The general rule, by weighted deviations.
    Deviations,
}

/// No zone (see [`DomainExtremes`]).
const NO_ZONE: usize = usize::MAX;

impl DomainExtremes {
    /// Over `counts`: per zone index, the count if the zone is in the
    /// domain.
    fn of(counts: impl IntoIterator<Item = Option<u32>>) -> DomainExtremes {
        let mut low = [(u32::MAX, NO_ZONE); 2];
        let mut high = [(0, NO_ZONE); 2];
        for (x, c) in counts.into_iter().enumerate() {
            let Some(c) = c else { continue };
            // A count equal to a sentinel need not replace it: the value is
            // the same, and values are all `without` gives.
            if c < low[0].0 {
                low = [(c, x), low[0]];
            } else if c < low[1].0 {
                low[1] = (c, x);
            }
            if c > high[0].0 {
                high = [(c, x), high[0]];
            } else if c > high[1].0 {
                high[1] = (c, x);
            }
        }
        DomainExtremes { low, high }
    }

    /// The smallest and largest count over the domain's zones other than
    /// `z` (neutral values when there are none).
    fn without(&self, z: usize) -> (u32, u32) {
        // The first entry's zone is the only one it stands for; the second
        // is the extreme of all the others.
        let lo = if self.low[0].1 == z {
            self.low[1]
        } else {
            self.low[0]
        };
        let hi = if self.high[0].1 == z {
            self.high[1]
        } else {
            self.high[0]
        };
        (lo.0, hi.0)
    }
}

/// The unweighted skew rule on counts: one more instance in a zone holding
/// `here` keeps the spread within `k`, or goes into a zone with the fewest
/// instances and leaves the skew no worse. `(lo, hi)`: the smallest and
/// largest count of the domain's other zones (`u32::MAX` and 0 if none).
fn skew_allows_on_counts((lo, hi): (u32, u32), here: u32, k: u32) -> bool {
    // (min, max) over the domain with the zone added, before and after one
    // more instance there. Counts are u32, so +1 is taken in u64.
    let (here, lo, hi) = (u64::from(here), u64::from(lo), u64::from(hi));
    let (min, max) = (here.min(lo), here.max(hi));
    let (min_after, max_after) = ((here + 1).min(lo), (here + 1).max(hi));
    let (before, after) = (max - min, max_after - min_after);
    let within = after <= u64::from(k);
    // Into a zone furthest below target, and no worse than before.
    let no_worse = here == min && after <= before;
    within || no_worse
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    proptest::proptest! {
        /// The extremes without a zone are those of the other zones.
        #[test]
        fn extremes_without_a_zone_are_the_others(
            counts in proptest::collection::vec(
                proptest::option::of(proptest::prop_oneof![0u32..4, proptest::strategy::Just(u32::MAX)]),
                0..6,
            ),
            z in 0usize..7,
        ) {
            let others = counts
                .iter()
                .enumerate()
                .filter(|(x, _)| *x != z)
                .filter_map(|(_, c)| *c);
            let expect = (
                others.clone().min().unwrap_or(u32::MAX),
                others.max().unwrap_or(0),
            );
            proptest::prop_assert_eq!(DomainExtremes::of(counts.clone()).without(z), expect);
        }

        /// The unweighted shortcut decides exactly as the general rule, for
        /// any counts, limit, allowed zones and zone states.
        #[test]
        fn unweighted_shortcut_equals_the_general_rule(
            counts in proptest::collection::vec(0u32..6, 1..5),
            up in proptest::collection::vec(proptest::bool::ANY, 5),
            allowed in proptest::collection::vec(proptest::bool::ANY, 5),
            k in 1u32..4,
        ) {
            let mut s = Scheduler::default();
            let names: Vec<ZoneId> = (0..counts.len())
                .map(|i| format!("z{i}").parse().unwrap())
                .collect();
            for (i, name) in names.iter().enumerate() {
                let state = if up[i] { ZoneState::Up } else { ZoneState::Down };
                s.add_zone(name.clone(), state, s.now()).unwrap();
            }
            let mut spec = crate::AppSpec::new(
                "a".parse().unwrap(),
                "t".parse().unwrap(),
                crate::Resources::cpu_mem(1_000, 1_024).unwrap(),
            );
            spec.spread.max_skew = Some(k);
            spec.spread.zones = names
                .iter()
                .enumerate()
                .filter(|(i, _)| allowed[*i])
                .map(|(_, n)| n.clone())
                .collect();
            s.add_app(spec, s.now()).unwrap();
            s.apps[0].zone_counts = counts.clone();
            proptest::prop_assert!(matches!(s.spread_check(0), SpreadCheck::Counts(_, _)));
            for z in 0..counts.len() {
                proptest::prop_assert_eq!(
                    s.spread_allows(0, z),
                    s.spread_allows_by_deviations(0, z),
                    "zone {}", z
                );
            }
        }
    }
}
