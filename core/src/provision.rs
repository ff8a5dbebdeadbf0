//! Offerings, stock and provisioning: new hosts as data.
//!
//! An *offering* is a SKU in a zone, declared by the embedder with
//! [`Scheduler::set_stock`]. When instances fit on no running or planned
//! host, the scheduler plans new hosts for the whole batch at once and
//! returns them as [`Provision`] requests; the instances are placed on the
//! planned hosts tentatively ([`Decisions::tentative`]). The embedder then
//! reports each host with [`Scheduler::host_ready`], which turns its
//! instances into placements, or the offering with
//! [`Scheduler::provision_failed`], which backs the offering off and
//! re-plans the instances onto the next acceptable option. No instance is
//! ever dropped: what cannot be planned stays pending, and the shortfall is
//! reported per zone.
//!
//! # Choosing what to provision
//!
//! The batch is split over the app's allowed zones that are up so that the
//! app's per-zone counts end as even as possible; for an app whose spread
//! policy does not schedule anyway, only over the zones that policy lets
//! its next instance go to (see [`zones`](crate::zones)). In each zone, SKUs are
//! taken tier by tier (see [`substitution`]); inside a
//! tier the offering that covers the zone's share at the lowest cost per
//! instance (hosts × price ÷ instances covered) wins, then the one that
//! strands the fewest instance slots, then the lower host price, the larger
//! stock and the name. When a zone's share cannot be provisioned there,
//! the remainder is offered to the other zones. A provision of a SKU other
//! than the app's tier-0 choice carries a [`SubstitutionNote`] naming why
//! each better SKU's offering in the zone could not provide the hosts.
//!
//! # Tentative instances and cancellations
//!
//! An instance on a planned host is
//! [`InstanceStatus::Tentative`](crate::InstanceStatus::Tentative): it holds
//! its room and counts in its zone, but it does not run until the host is
//! ready. Every planned host holds at least one instance when a call
//! returns. A call that drops planned hosts (a failed offering, a lost zone,
//! a removed or failed host, or instances removed or re-placed so that no
//! instance waits on a host any more) lists them in
//! [`Decisions::cancellations`], by provision and cause; hosts a call
//! planned and then did not use are left out of its own provisions. So the
//! embedder that follows the decisions knows exactly the planned hosts the
//! scheduler holds. Known stock is counted once (see [`Stock`]).
//!
//! # Back-off
//!
//! A failed provisioning makes the offering unavailable for
//! [`Config::backoff_initial_ms`](crate::Config) (3 minutes), doubling per
//! consecutive failure up to [`Config::backoff_max_ms`](crate::Config);
//! a host that becomes ready resets it. [`Scheduler::next_deadline`] tells
//! when the next back-off expires, so the embedder knows when to call
//! [`Scheduler::reconcile`] again.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::app::QosTier;
use crate::decision::Count;
use crate::decision::{
    Cancellation, CancellationCause, Decisions, EvictionCause, Placement, Provision, ProvisionId,
    ProvisionReason, ResourceTotals, Shortfall,
};
use crate::error::Error;
use crate::explain::{Constraint, OfferingBlock, PendingReason};
use crate::ids::{HostId, PLANNED_HOST_BIT, SkuId, ZoneId};
use crate::index::MAX_CLASS_SLOTS;
use crate::scheduler::{HostState, InstanceState, Scheduler, ZoneState};
use crate::substitution::{self, NoteBasis, Rejection, SubstitutionNote, instances_per_host};
use crate::time::Timestamp;

/// How many more hosts of a SKU a zone can provide, as the embedder knows it.
///
/// Stock counts hosts **not yet ordered**: what the embedder could still
/// order from the provider beyond every planned host the scheduler holds
/// (the hosts of the [`Provision`]s it returned and has not cancelled).
/// So:
///
/// * planning hosts takes them from known stock at once: a [`Provision`]
///   of `count` hosts lowers `Known(n)` to `Known(n - count)`;
/// * [`Scheduler::host_ready`] changes no stock (the host was taken when
///   it was planned);
/// * a planned host that is dropped ([`Scheduler::provision_failed`], a
///   [`Cancellation`]) gives its unit back: it was never delivered. After an
///   [`InsufficientStock`](ProvisionFailure::InsufficientStock) failure
///   the back-off keeps the offering aside; declare the provider's fresh
///   figure with [`Scheduler::set_stock`] if it is lower;
/// * [`Scheduler::set_stock`] replaces the figure, and planned hosts are not
///   subtracted from it again: while orders are in flight, declare what the
///   provider can still supply besides them (what a provider's stock query
///   reports once the orders are placed).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stock {
    /// This many more hosts can be ordered (0 provides none).
    Known(u32),
    /// Unknown: try it.
    Unknown,
    /// None left.
    Exhausted,
}

/// Why a provisioning failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProvisionFailure {
    /// The provider had no stock of the SKU in the zone.
    InsufficientStock,
    /// Any other failure (quota, API error); backs off the same way.
    Other,
}

/// An offering's state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct OfferingState {
    pub(crate) stock: Stock,
    /// Consecutive failed provisionings.
    pub(crate) failures: u32,
    /// Unavailable before this time.
    pub(crate) backoff_until: Option<Timestamp>,
    /// Planned hosts not yet ready (derived from the hosts).
    pub(crate) planned: u32,
}

impl OfferingState {
    /// Take `n` units of known stock (planned hosts).
    pub(crate) fn take(&mut self, n: u32) {
        self.planned = self.planned.saturating_add(n);
        if let Stock::Known(k) = self.stock {
            self.stock = Stock::Known(k.saturating_sub(n));
        }
    }

    /// Give back the unit of a planned host that was dropped.
    fn give_back(&mut self) {
        self.planned = self.planned.saturating_sub(1);
        if let Stock::Known(k) = self.stock {
            self.stock = Stock::Known(k.saturating_add(1));
        }
    }

    /// Hosts it can still provide at `now`: `Ok(None)` for unknown stock.
    pub(crate) fn available(&self, now: Timestamp) -> Result<Option<u32>, OfferingBlock> {
        if self.backoff_until.is_some_and(|t| t > now) {
            return Err(OfferingBlock::BackedOff);
        }
        match self.stock {
            Stock::Exhausted | Stock::Known(0) => Err(OfferingBlock::Exhausted),
            Stock::Known(n) => Ok(Some(n)),
            Stock::Unknown => Ok(None),
        }
    }
}

/// An offering as the scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OfferingView {
    /// SKU.
    pub sku: SkuId,
    /// Zone.
    pub zone: ZoneId,
    /// Stock left to order (planned hosts already taken out; see [`Stock`]).
    pub stock: Stock,
    /// Planned hosts not yet ready.
    pub planned: u32,
    /// Consecutive failed provisionings.
    pub failures: u32,
    /// Unavailable before this time, if backed off.
    pub backoff_until: Option<Timestamp>,
}

/// Whether an offering can provide hosts now: what
/// [`Verdict::Accepted`] reports of the SKU's offering in the zone.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Availability {
    /// Up to this many more hosts: known stock (see [`Stock`]).
    Hosts(u32),
    /// The stock is unknown: provisioning tries it.
    Unknown,
    /// It cannot provide hosts now, and why.
    Blocked(OfferingBlock),
}

impl Availability {
    /// Whether provisioning may buy hosts of it now.
    pub fn can_provide(&self) -> bool {
        !matches!(self, Availability::Blocked(_))
    }
}

impl From<Result<Option<u32>, OfferingBlock>> for Availability {
    fn from(r: Result<Option<u32>, OfferingBlock>) -> Self {
        match r {
            Ok(Some(n)) => Availability::Hosts(n),
            Ok(None) => Availability::Unknown,
            Err(block) => Availability::Blocked(block),
        }
    }
}

/// A SKU's verdict for an app in a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The SKU may serve the app.
    Accepted {
        /// Preference tier (0 is the most preferred).
        tier: u32,
        /// Position among the accepted SKUs of the zone in the order
        /// provisioning tries them for a share that fills whole hosts of
        /// each: tier, price per instance, host price, stock (larger
        /// first), name. Provisioning skips the offerings that cannot
        /// provide hosts, so the first-ranked SKU whose `offering`
        /// [can provide](Availability::can_provide) is the one it buys. For a share that strands slots it compares
        /// the cost per instance covered instead of the price per instance
        /// (see [`provision`](crate::provision)). Running and planned hosts
        /// come before any new host, tier by tier, and within a tier in
        /// order of shape alignment (see [`placement`](crate::placement)).
        rank: u32,
        /// Whether its offering in the zone can provide hosts now, and if
        /// not, why.
        offering: Availability,
    },
    /// The first rule the SKU failed, with the values compared.
    Rejected(Rejection),
}

/// One SKU of the catalog, judged for an app in a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkuVerdict {
    /// The SKU.
    pub sku: SkuId,
    /// Its verdict.
    pub verdict: Verdict,
}

impl fmt::Display for Stock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stock::Known(n) => write!(
                f,
                "{} can be ordered",
                Count((*n).into(), "more host", "more hosts")
            ),
            Stock::Unknown => f.write_str("stock unknown"),
            Stock::Exhausted => f.write_str("stock exhausted"),
        }
    }
}

impl fmt::Display for ProvisionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProvisionFailure::InsufficientStock => "the provider had no stock",
            ProvisionFailure::Other => "the provisioning failed",
        })
    }
}

impl fmt::Display for OfferingView {
    /// `g7 in zone a: 3 more hosts can be ordered, 2 planned hosts not yet
    /// ready`, then its failures and back-off if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in zone {}: {}, {} not yet ready",
            self.sku,
            self.zone,
            self.stock,
            Count(self.planned.into(), "planned host", "planned hosts")
        )?;
        if self.failures > 0 {
            write!(
                f,
                ", {} in a row",
                Count(
                    self.failures.into(),
                    "failed provisioning",
                    "failed provisionings"
                )
            )?;
        }
        if let Some(t) = self.backoff_until {
            write!(f, ", backed off until {t}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Availability::Hosts(n) => write!(
                f,
                "its offering here can provide up to {}",
                Count((*n).into(), "more host", "more hosts")
            ),
            Availability::Unknown => {
                f.write_str("its offering here has unknown stock: provisioning tries it")
            }
            Availability::Blocked(OfferingBlock::NotOffered) => {
                f.write_str("it is not offered in this zone: no new hosts")
            }
            Availability::Blocked(OfferingBlock::Exhausted) => {
                f.write_str("its stock in this zone is exhausted: no new hosts")
            }
            Availability::Blocked(OfferingBlock::BackedOff) => f.write_str(
                "its offering here is backed off after a failed provisioning: no new hosts",
            ),
        }
    }
}

impl fmt::Display for Verdict {
    /// `accepted: tier 0, position 1 in provisioning order; ` and its
    /// offering's availability, or `rejected: ` and the rule it failed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accepted {
                tier,
                rank,
                offering,
            } => write!(
                f,
                "accepted: tier {tier}, position {} in provisioning order; {offering}",
                u64::from(*rank) + 1
            ),
            Verdict::Rejected(r) => write!(f, "rejected: {r}"),
        }
    }
}

impl fmt::Display for SkuVerdict {
    /// `g7: ` and the verdict.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.sku, self.verdict)
    }
}

/// The host constraint a substitution rejection rules hosts out under.
pub(crate) fn constraint_of(r: &Rejection) -> Constraint {
    match r {
        Rejection::Arch { .. } => Constraint::Arch,
        Rejection::MissingFeature(_) => Constraint::Features,
        Rejection::AcceleratorModel { .. } => Constraint::AcceleratorModel,
        Rejection::LocalDisk { .. } => Constraint::LocalDisk,
        Rejection::Capacity { dimension, .. } => Constraint::Capacity(*dimension),
        Rejection::NumaNode => Constraint::NumaNode,
        Rejection::PerfScore { .. } => Constraint::PerfScore,
        Rejection::Price { .. } => Constraint::Price,
        Rejection::MemoryRatio { .. } => Constraint::MemoryRatio,
        Rejection::Oversize { .. } => Constraint::Oversize,
        Rejection::NotInTiers => Constraint::NotInTiers,
    }
}

/// Let spare slots of hosts planned in this call take up to `left`
/// instances, crediting them to the provisions that hold the slots.
fn take_spare(spare: &mut Vec<(usize, u32)>, left: &mut u32, out: &mut Decisions) {
    for (provision, slots) in spare.iter_mut() {
        let n = (*left).min(*slots);
        if n == 0 {
            continue;
        }
        *slots -= n;
        *left -= n;
        if let Some(p) = out.provisions.get_mut(*provision) {
            p.instances += n;
        }
    }
    spare.retain(|(_, slots)| *slots > 0);
}

/// Spread `n` over zones whose current counts are given, one at a time to
/// the zone with the fewest (ties: first listed). Returns the shares.
fn water_fill(current: &[u32], n: u32) -> Vec<u32> {
    let mut share = vec![0u32; current.len()];
    if current.is_empty() {
        return share;
    }
    let mut level: Vec<u64> = current.iter().map(|&c| u64::from(c)).collect();
    for _ in 0..n {
        let mut best = 0;
        for i in 1..level.len() {
            if level[i] < level[best] {
                best = i;
            }
        }
        level[best] += 1;
        share[best] += 1;
    }
    share
}

impl Scheduler {
    /// The verdict of every SKU (by index) for an app, cached until the
    /// catalog or classes change.
    pub(crate) fn verdicts_cached(&mut self, app: usize) -> Vec<Result<u32, Rejection>> {
        if let Some((epoch, v)) = &self.apps[app].verdicts {
            if *epoch == self.epoch {
                return v.clone();
            }
        }
        let v = self.verdicts(app);
        self.apps[app].verdicts = Some((self.epoch, v.clone()));
        v
    }

    /// The verdict of every SKU (by index) for an app.
    pub(crate) fn verdicts(&self, app: usize) -> Vec<Result<u32, Rejection>> {
        let spec = &self.apps[app].spec;
        let requested = spec.sku.as_ref().and_then(|id| self.skus.get(id));
        let reference = substitution::reference(spec, requested, self.skus.values());
        self.skus
            .values()
            .map(|sku| substitution::judge(spec, requested, reference.as_ref(), sku))
            .collect()
    }

    /// Declare or update an offering's stock: the hosts that can still be
    /// ordered besides the planned hosts in flight, which are not
    /// subtracted again (see [`Stock`]). When the offering can provide hosts
    /// afterwards, pending instances are retried (and may provision).
    ///
    /// ```
    /// # use trimline::*;
    /// # let mut s = Scheduler::default();
    /// # for z in ["a", "b"] {
    /// #     s.add_zone(z.parse()?, ZoneState::Up, Timestamp(0))?;
    /// # }
    /// # s.add_sku(SkuSpec {
    /// #     id: "g7.4x".parse()?, family: "g7".parse()?, generation: 7,
    /// #     arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
    /// #     allocatable: Resources::cpu_mem(16_000, 65_536)?, perf_score: 100,
    /// #     numa_nodes: vec![], features: Default::default(),
    /// #     accelerator_model: None, local_disk: None, price_nanos_per_second: 1_000,
    /// # }, Timestamp(0))?;
    /// # let web: AppId = "web".parse()?;
    /// # let mut spec = AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(1000, 2048)?);
    /// # s.add_app(spec, Timestamp(0))?;
    /// // No host and no offering: web's instance waits.
    /// let d = s.scale(&web, 1, Timestamp(1))?;
    /// assert_eq!(d.pending.len(), 1);
    /// // Two hosts of g7.4x can be ordered in zone a: one is planned for it.
    /// let d = s.set_stock(&"g7.4x".parse()?, &"a".parse()?, Stock::Known(2), Timestamp(2))?;
    /// assert_eq!((d.provisions[0].count, d.tentative.len()), (1, 1));
    /// assert_eq!(s.offerings()[0].stock, Stock::Known(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_stock(
        &mut self,
        sku: &SkuId,
        zone: &ZoneId,
        stock: Stock,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let s = self
            .skus
            .get_index_of(sku)
            .ok_or_else(|| Error::UnknownSku(sku.clone()))?;
        let z = self
            .zones
            .get_index_of(zone)
            .ok_or_else(|| Error::UnknownZone(zone.clone()))?;
        self.now = now;
        let entry = self.offerings.entry((s, z)).or_insert(OfferingState {
            stock,
            failures: 0,
            backoff_until: None,
            planned: 0,
        });
        entry.stock = stock;
        let available = entry.available(now).is_ok();
        self.version += 1;
        let mut out = Decisions::default();
        if available {
            self.retry_pending(now, &mut out, false);
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// The embedder could not provision hosts of an offering. Every planned
    /// host of the offering is dropped and listed in
    /// [`Decisions::cancellations`] (those of other requests in flight too),
    /// their units go back to known stock (see [`Stock`]), the offering
    /// backs off, and the instances tentatively placed there are re-planned
    /// onto the next acceptable option (or stay pending, with the reason).
    ///
    /// ```
    /// # use trimline::*;
    /// # let mut s = Scheduler::default();
    /// # for z in ["a", "b"] {
    /// #     s.add_zone(z.parse()?, ZoneState::Up, Timestamp(0))?;
    /// # }
    /// # s.add_sku(SkuSpec {
    /// #     id: "g7.4x".parse()?, family: "g7".parse()?, generation: 7,
    /// #     arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
    /// #     allocatable: Resources::cpu_mem(16_000, 65_536)?, perf_score: 100,
    /// #     numa_nodes: vec![], features: Default::default(),
    /// #     accelerator_model: None, local_disk: None, price_nanos_per_second: 1_000,
    /// # }, Timestamp(0))?;
    /// # let web: AppId = "web".parse()?;
    /// # let mut spec = AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(1000, 2048)?);
    /// # s.add_app(spec, Timestamp(0))?;
    /// // web's instance waits on a planned host of g7.4x in zone a.
    /// # let _ = s.set_stock(&"g7.4x".parse()?, &"a".parse()?, Stock::Known(1), Timestamp(0))?;
    /// let d = s.scale(&web, 1, Timestamp(1))?;
    /// let planned = d.provisions[0].hosts[0];
    /// let d = s.provision_failed(
    ///     &"g7.4x".parse()?, &"a".parse()?, ProvisionFailure::InsufficientStock, Timestamp(2),
    /// )?;
    /// assert_eq!(d.cancellations[0].hosts, vec![planned]);
    /// assert_eq!(d.cancellations[0].cause, CancellationCause::ProvisionFailed);
    /// assert_eq!(d.pending.len(), 1); // nothing else can serve it
    /// assert!(s.offerings()[0].backoff_until.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn provision_failed(
        &mut self,
        sku: &SkuId,
        zone: &ZoneId,
        failure: ProvisionFailure,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let key = self.offering_key(sku, zone)?;
        self.now = now;
        let _ = failure; // every failure backs off alike
        let (initial, max) = (self.config.backoff_initial_ms, self.config.backoff_max_ms);
        if let Some(o) = self.offerings.get_mut(&key) {
            o.failures = o.failures.saturating_add(1);
            let doublings = o.failures.saturating_sub(1).min(63);
            let backoff = initial.saturating_mul(1u64 << doublings).min(max);
            o.backoff_until = Some(Timestamp(now.0.saturating_add(backoff)));
            let failures = o.failures;
            let until = Timestamp(now.0.saturating_add(backoff));
            self.audit_event(crate::observe::AuditEvent::BackOff(
                crate::observe::BackOff {
                    zone: zone.clone(),
                    sku: sku.clone(),
                    failures,
                    until,
                },
            ));
        }
        let mut out = Decisions::default();
        let planned: Vec<HostId> = match self.classes.get(&(key.0, key.1, true)) {
            Some(c) => c.slots.iter().flatten().copied().collect(),
            None => Vec::new(),
        };
        for host in planned {
            let mut victims = self
                .hosts
                .get(&host)
                .map(|h| h.instances.clone())
                .unwrap_or_default();
            victims.sort_unstable();
            for inst in victims {
                self.evict(
                    inst,
                    PendingReason::ProvisionFailed { host },
                    EvictionCause::ProvisionFailed,
                    now,
                    &mut out,
                );
            }
            self.drop_host_with(host, CancellationCause::ProvisionFailed, &mut out);
        }
        self.version += 1;
        self.retry_pending(now, &mut out, false);
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// A planned host is up: it joins the running hosts as `host` (the
    /// embedder's id), and the instances placed on it tentatively become
    /// placements. Resets the offering's back-off; known stock does not
    /// change (the host left it when it was planned; see [`Stock`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use trimline::*;
    /// # let mut s = Scheduler::default();
    /// # s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
    /// # s.add_sku(SkuSpec {
    /// #     id: "g7.4xlarge".parse()?, family: "g7".parse()?, generation: 7,
    /// #     arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
    /// #     allocatable: Resources::cpu_mem(16_000, 65_536)?, perf_score: 100,
    /// #     numa_nodes: vec![], features: Default::default(),
    /// #     accelerator_model: None, local_disk: None, price_nanos_per_second: 1_000,
    /// # }, Timestamp(0))?;
    /// let web: AppId = "web".parse()?;
    /// s.add_app(AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(16_000, 32_768)?), Timestamp(0))?;
    /// let _ = s.set_stock(&"g7.4xlarge".parse()?, &"a".parse()?, Stock::Known(5), Timestamp(0))?;
    ///
    /// // No running host: the scheduler asks for two new ones and places the
    /// // instances on them tentatively.
    /// let d = s.scale(&web, 2, Timestamp(1))?;
    /// assert_eq!((d.provisions[0].count, d.tentative.len()), (2, 2));
    ///
    /// // The embedder provisions them and reports each one under its own id.
    /// let planned = d.provisions[0].hosts.clone();
    /// let ready = s.host_ready(planned[0], HostId(100), Timestamp(90_000))?;
    /// assert_eq!(ready.placements[0].host, HostId(100));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host_ready(
        &mut self,
        planned: HostId,
        host: HostId,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let Some(h) = self.hosts.get(&planned) else {
            return Err(Error::UnknownHost(planned));
        };
        if h.state != HostState::Planned {
            return Err(Error::NotPlanned(planned));
        }
        if host.is_planned() {
            return Err(Error::ReservedHostId(host));
        }
        if self.hosts.contains_key(&host) {
            return Err(Error::DuplicateHost(host));
        }
        let (sku, zone) = (h.sku(), h.zone());
        let slot = match self.classes.get(&(sku, zone, false)) {
            Some(c) => c.next_slot(),
            None => 0,
        };
        if slot >= MAX_CLASS_SLOTS {
            return Err(Error::ClassFull {
                sku: self.skus[sku].id.clone(),
                zone: self.zone_id(zone).clone(),
            });
        }
        self.now = now;
        let Some(mut h) = self.hosts.swap_remove(&planned) else {
            return Err(Error::UnknownHost(planned));
        };
        self.classes[h.class()].remove(h.slot);
        self.provision_of.swap_remove(&planned);
        self.cold.rename_host(planned, host);
        self.warm.forget_host(planned);
        if let Some(o) = self.offerings.get_mut(&(sku, zone)) {
            o.planned = o.planned.saturating_sub(1);
            o.failures = 0;
            o.backoff_until = None;
        }
        let class = self.class_for(sku, zone, false);
        h.set_class(class);
        h.slot = slot;
        h.state = HostState::Ready;
        let mut instances = h.instances.clone();
        instances.sort_unstable();
        let bounds = self.bounds_of(&h);
        self.hosts.insert(host, h);
        self.classes[class].insert(slot, host, bounds);
        self.dedicated.rename(planned, host);
        for id in self.replacements.values_mut() {
            if *id == planned {
                *id = host;
            }
        }
        self.version += 1;
        let mut out = Decisions::default();
        // Substitution notes, one per app on the host.
        let mut notes: SmallVec<[(usize, Option<Arc<SubstitutionNote>>); 2]> = SmallVec::new();
        for id in instances {
            let Some(inst) = self.instances.get(&id) else {
                continue;
            };
            let app = inst.app();
            let substitution = match notes.iter().find(|(a, _)| *a == app) {
                Some((_, note)) => note.clone(),
                None => {
                    let note = self.ready_note(app, sku, planned);
                    notes.push((app, note.clone()));
                    note
                }
            };
            let Some(inst) = self.instances.get_mut(&id) else {
                continue;
            };
            let InstanceState::Placed { host: on, parts } = &mut inst.state else {
                continue;
            };
            *on = host;
            if let Some(since) = self.observe.tentative_since.remove(&id) {
                self.apps[app]
                    .waits
                    .record(self.now.0.saturating_sub(since.0));
            }
            let numa_nodes = parts.iter().map(|(n, _)| *n).collect();
            out.placements.push(Placement {
                instance: id,
                app: self.apps[app].spec.id.clone(),
                host,
                zone: self.zone_id(zone).clone(),
                sku: self.skus[sku].id.clone(),
                numa_nodes,
                substitution,
                // Reported when the instance was placed tentatively.
                pull_bytes: 0,
                standby: None,
            });
        }
        // A standby placed tentatively comes up a standby. (Nothing else of
        // `settle_planned` applies: no host was planned or emptied, and a
        // pool host that comes up idle was counted idle while planned.)
        self.mark_standby(&mut out);
        Ok(out)
    }

    /// When the next offering back-off expires, if any is in force: call
    /// [`reconcile`](Self::reconcile) then to retry pending instances.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.offerings
            .values()
            .filter_map(|o| o.backoff_until)
            .filter(|t| *t > self.now)
            .min()
    }

    /// Every declared offering, in declaration order.
    pub fn offerings(&self) -> Vec<OfferingView> {
        self.offerings
            .iter()
            .map(|(&(s, z), o)| OfferingView {
                sku: self.skus[s].id.clone(),
                zone: self.zone_id(z).clone(),
                stock: o.stock,
                planned: o.planned,
                failures: o.failures,
                backoff_until: o.backoff_until,
            })
            .collect()
    }

    /// Judge every SKU of the catalog for `app` in `zone`: accepted (with
    /// tier, rank and offering availability) or the first rule that
    /// rejected it, with the values compared. In catalog order.
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
    /// let verdicts = s.explain_substitution(&web, &"a".parse()?)?;
    /// assert!(matches!(verdicts[0].verdict, Verdict::Accepted { tier: 0, .. }));
    /// assert!(matches!(verdicts[1].verdict, Verdict::Accepted { tier: 1, .. }));
    /// assert_eq!(
    ///     verdicts[2].to_string(),
    ///     "g7.large: rejected: cpu 2000 < 4000 millicores for one instance"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn explain_substitution(
        &self,
        app: &crate::ids::AppId,
        zone: &ZoneId,
    ) -> Result<Vec<SkuVerdict>, Error> {
        let a = self
            .apps
            .get_index_of(app)
            .ok_or_else(|| Error::UnknownApp(app.clone()))?;
        let z = self
            .zones
            .get_index_of(zone)
            .ok_or_else(|| Error::UnknownZone(zone.clone()))?;
        let verdicts = self.verdicts(a);
        let spec = &self.apps[a].spec;
        // Rank the accepted as provisioning orders whole hosts: tier, price
        // per instance, host price, stock, name.
        let mut accepted: Vec<(usize, u32, u32, u64)> = Vec::new();
        for (s, v) in verdicts.iter().enumerate() {
            if let Ok(tier) = v {
                let sku = &self.skus[s];
                let per = instances_per_host(sku, &spec.resources, spec.numa);
                let stock = match self.offering_availability(s, z) {
                    Ok(None) => u64::MAX,
                    Ok(Some(n)) => u64::from(n),
                    Err(_) => 0,
                };
                accepted.push((s, *tier, per, stock));
            }
        }
        accepted.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then_with(|| {
                    let (pa, pb) = (
                        self.skus[a.0].price_nanos_per_second,
                        self.skus[b.0].price_nanos_per_second,
                    );
                    (u128::from(pa) * u128::from(b.2))
                        .cmp(&(u128::from(pb) * u128::from(a.2)))
                        .then(pa.cmp(&pb))
                })
                .then_with(|| b.3.cmp(&a.3))
                .then_with(|| self.skus[a.0].id.cmp(&self.skus[b.0].id))
        });
        Ok(verdicts
            .into_iter()
            .enumerate()
            .map(|(s, v)| SkuVerdict {
                sku: self.skus[s].id.clone(),
                verdict: match v {
                    Ok(tier) => Verdict::Accepted {
                        tier,
                        // At most the catalog's size.
                        rank: accepted.iter().position(|x| x.0 == s).unwrap_or(0) as u32,
                        offering: self.offering_availability(s, z).into(),
                    },
                    Err(r) => Verdict::Rejected(r),
                },
            })
            .collect())
    }

    pub(crate) fn offering_availability(
        &self,
        sku: usize,
        zone: usize,
    ) -> Result<Option<u32>, OfferingBlock> {
        match self.offerings.get(&(sku, zone)) {
            Some(o) => o.available(self.now),
            None => Err(OfferingBlock::NotOffered),
        }
    }

    fn offering_key(&self, sku: &SkuId, zone: &ZoneId) -> Result<(usize, usize), Error> {
        let unknown = || Error::UnknownOffering {
            sku: sku.clone(),
            zone: zone.clone(),
        };
        let s = self.skus.get_index_of(sku).ok_or_else(unknown)?;
        let z = self.zones.get_index_of(zone).ok_or_else(unknown)?;
        if !self.offerings.contains_key(&(s, z)) {
            return Err(unknown());
        }
        Ok((s, z))
    }

    /// Allowed zones of an app that are up, in declaration order.
    fn up_zones(&self, app: usize) -> SmallVec<[usize; 4]> {
        let a = &self.apps[app];
        (0..self.zones.len())
            .filter(|z| a.zones.is_empty() || a.zones.contains(z))
            .filter(|&z| self.zones[z] == ZoneState::Up)
            .collect()
    }

    /// Plan new hosts for `count` more instances of a rigid app: split over
    /// its zones, tier by tier. Returns how many instances the planned hosts
    /// hold room for; records provisions and shortfalls in `out`.
    pub(crate) fn plan_hosts(&mut self, app: usize, count: u32, out: &mut Decisions) -> u32 {
        if count == 0 || self.offerings.is_empty() || self.apps[app].spec.qos != QosTier::Rigid {
            return 0;
        }
        let verdicts = self.verdicts_cached(app);
        let mut zones = self.up_zones(app);
        if self.spread_blocks(app) {
            // No hosts where the app's spread policy would not let it go.
            self.retain_spread_allowed(app, &mut zones);
        }
        if zones.is_empty() {
            return 0;
        }
        let current: Vec<u32> = zones
            .iter()
            .map(|&z| self.apps[app].zone_count(z))
            .collect();
        let shares = water_fill(&current, count);
        let mut left_by_zone: Vec<u32> = Vec::with_capacity(zones.len());
        // Instance slots on the hosts planned here beyond the share they
        // were planned for: they take what other zones could not.
        let mut spare: Vec<(usize, u32)> = Vec::new();
        for (i, &z) in zones.iter().enumerate() {
            let left = self.plan_zone(app, z, shares[i], &verdicts, &mut spare, out);
            left_by_zone.push(left);
        }
        let mut left: u32 = left_by_zone.iter().sum();
        take_spare(&mut spare, &mut left, out);
        // Offer what is still left to the other zones, fewest first.
        if left > 0 {
            let mut order: Vec<usize> = (0..zones.len()).collect();
            order.sort_by_key(|&i| (self.apps[app].zone_count(zones[i]), i));
            for i in order {
                if left == 0 {
                    break;
                }
                left = self.plan_zone(app, zones[i], left, &verdicts, &mut spare, out);
                take_spare(&mut spare, &mut left, out);
            }
        }
        // Attribute what is still short to the zones whose share it was.
        let mut short = left;
        let req = self.apps[app].spec.resources;
        for (i, &z) in zones.iter().enumerate() {
            let n = short.min(left_by_zone[i]);
            if n == 0 {
                continue;
            }
            short -= n;
            out.shortfalls.push(Shortfall {
                app: self.apps[app].spec.id.clone(),
                zone: self.zone_id(z).clone(),
                instances: n,
                resources: ResourceTotals::times(&req, n),
            });
        }
        count - left
    }

    /// Plan hosts in one zone for `want` instances; returns what is left.
    pub(crate) fn plan_zone(
        &mut self,
        app: usize,
        zone: usize,
        mut want: u32,
        verdicts: &[Result<u32, Rejection>],
        spare: &mut Vec<(usize, u32)>,
        out: &mut Decisions,
    ) -> u32 {
        if self.zones.get_index(zone).map(|(_, st)| *st) != Some(ZoneState::Up) {
            return want;
        }
        while want > 0 {
            let spec = &self.apps[app].spec;
            // (sku, tier, per host, hosts, covered, stock rank)
            let mut best: Option<(usize, u32, u32, u32, u32, u64)> = None;
            for (s, v) in verdicts.iter().enumerate() {
                let Ok(tier) = v else { continue };
                let Ok(avail) = self.offering_availability(s, zone) else {
                    continue;
                };
                let sku = &self.skus[s];
                let per = instances_per_host(sku, &spec.resources, spec.numa);
                if per == 0 {
                    continue;
                }
                let needed = want.div_ceil(per);
                let hosts = avail.map_or(needed, |n| n.min(needed));
                if hosts == 0 {
                    continue;
                }
                let covered = want.min(hosts.saturating_mul(per));
                let stock = avail.map_or(u64::MAX, u64::from);
                let cand = (s, *tier, per, hosts, covered, stock);
                if best.is_none_or(|b| self.offer_order(&cand, &b) == Ordering::Less) {
                    best = Some(cand);
                }
            }
            let Some((s, tier, per, hosts, covered, _)) = best else {
                break;
            };
            let Some((planned, provision)) =
                self.plan_host_group(app, s, zone, hosts, tier, covered, out)
            else {
                break;
            };
            let room = planned.saturating_mul(per);
            let covered = covered.min(room);
            if room > covered {
                spare.push((provision, room - covered));
            }
            want -= covered;
        }
        want
    }

    /// Order two provisioning options: tier, cost per instance covered,
    /// stranded slots, host price, stock (larger first), name.
    fn offer_order(
        &self,
        a: &(usize, u32, u32, u32, u32, u64),
        b: &(usize, u32, u32, u32, u32, u64),
    ) -> Ordering {
        let (sa, sb) = (&self.skus[a.0], &self.skus[b.0]);
        let cost = |s: &crate::catalog::SkuSpec, hosts: u32| {
            u128::from(s.price_nanos_per_second) * u128::from(hosts)
        };
        let stranded =
            |x: &(usize, u32, u32, u32, u32, u64)| u64::from(x.3) * u64::from(x.2) - u64::from(x.4);
        a.1.cmp(&b.1)
            .then_with(|| (cost(sa, a.3) * u128::from(b.4)).cmp(&(cost(sb, b.3) * u128::from(a.4))))
            .then_with(|| stranded(a).cmp(&stranded(b)))
            .then_with(|| sa.price_nanos_per_second.cmp(&sb.price_nanos_per_second))
            .then_with(|| b.5.cmp(&a.5))
            .then_with(|| sa.id.cmp(&sb.id))
    }

    /// Create `hosts` planned hosts of a SKU in a zone; returns how many
    /// were created (fewer if the class is full) and the index of the
    /// provision in `out` that holds them, or `None` if none was created.
    #[allow(clippy::too_many_arguments)]
    fn plan_host_group(
        &mut self,
        app: usize,
        sku: usize,
        zone: usize,
        hosts: u32,
        tier: u32,
        covered: u32,
        out: &mut Decisions,
    ) -> Option<(u32, usize)> {
        let ids = self.plan_host_ids(sku, zone, hosts);
        // At most `hosts`, a u32.
        let made = ids.len() as u32;
        if made == 0 {
            return None;
        }
        let spec = &self.apps[app].spec;
        let sku_id = self.skus[sku].id.clone();
        let substitutes_for = spec.sku.clone().filter(|r| *r != sku_id);
        let substitution = (tier > 0 || spec.sku.as_ref().is_some_and(|r| *r != sku_id))
            .then(|| self.substitution_note(app, sku, tier, NoteBasis::Provision { zone }));
        let spec = &self.apps[app].spec;
        let zone_id = self.zone_id(zone).clone();
        let existing = out
            .provisions
            .iter()
            .position(|p| p.sku == sku_id && p.zone == zone_id && p.app.as_ref() == Some(&spec.id));
        let index = existing.unwrap_or(out.provisions.len());
        if let Some(p) = existing.and_then(|i| out.provisions.get_mut(i)) {
            for h in &ids {
                self.provision_of.insert(*h, p.id);
            }
            p.count += made;
            p.hosts.extend(ids);
            p.instances += covered;
        } else {
            for h in &ids {
                self.provision_of
                    .insert(*h, ProvisionId(self.next_provision));
            }
            out.provisions.push(Provision {
                id: ProvisionId(self.next_provision),
                zone: zone_id,
                sku: sku_id,
                count: made,
                hosts: ids,
                substitutes_for,
                tier,
                app: Some(spec.id.clone()),
                instances: covered,
                substitution,
                reason: ProvisionReason::Instances,
            });
            self.next_provision += 1;
        }
        Some((made, index))
    }

    /// Create up to `hosts` planned hosts of a SKU in a zone, taking them
    /// from the offering's known stock; returns their ids (fewer when the
    /// class or the host limit is full, none when the provision or planned
    /// host counters ran out).
    pub(crate) fn plan_host_ids(&mut self, sku: usize, zone: usize, hosts: u32) -> Vec<HostId> {
        // Ids must stay below the planned-host bit, and a new request needs
        // a provision number: both are u64 counters that never run out in
        // practice, but a snapshot can set them anywhere.
        if self.next_provision == u64::MAX || self.next_planned >= !PLANNED_HOST_BIT {
            return Vec::new();
        }
        let class = self.class_for(sku, zone, true);
        let mut ids = Vec::new();
        for _ in 0..hosts {
            let slot = self.classes[class].next_slot();
            if slot >= MAX_CLASS_SLOTS
                || self.next_planned >= !PLANNED_HOST_BIT
                || self.hosts.len() >= self.limits.hosts
            {
                break;
            }
            let id = HostId(PLANNED_HOST_BIT | self.next_planned);
            self.next_planned += 1;
            if !self.insert_host(id, sku, zone, HostState::Planned, class, slot) {
                break;
            }
            ids.push(id);
        }
        if let Some(o) = self.offerings.get_mut(&(sku, zone)) {
            // At most `hosts`, a u32.
            o.take(ids.len() as u32);
        }
        ids
    }

    /// The substitution note of `app`'s instances on a planned host of
    /// SKU `sku` that became ready, if serving it there is a substitution.
    fn ready_note(
        &mut self,
        app: usize,
        sku: usize,
        planned_host: HostId,
    ) -> Option<Arc<SubstitutionNote>> {
        let verdicts = self.verdicts_cached(app);
        let spec = &self.apps[app].spec;
        let requested = spec.sku.as_ref().and_then(|id| self.skus.get(id));
        let tier =
            substitution::placement_tier(spec, requested, &self.skus[sku], verdicts.get(sku)?);
        let substitute = tier > 0 || spec.sku.as_ref().is_some_and(|r| *r != self.skus[sku].id);
        substitute
            .then(|| self.substitution_note(app, sku, tier, NoteBasis::Ready { planned_host }))
    }

    /// Remove a host from the index and the map (its instances must have
    /// been released). A planned host gives its unit back to its offering.
    pub(crate) fn drop_host(&mut self, id: HostId) {
        if let Some(host) = self.hosts.swap_remove(&id) {
            self.classes[host.class()].remove(host.slot);
            self.cold.forget_host(id);
            self.dedicated.forget(id);
            if !self.replacements.is_empty() {
                self.replacements.retain(|_, h| *h != id);
            }
            self.warm.forget_host(id);
            if host.state == HostState::Planned {
                self.provision_of.swap_remove(&id);
                if let Some(o) = self.offerings.get_mut(&(host.sku(), host.zone())) {
                    o.give_back();
                }
            }
            self.version += 1;
        }
    }

    /// [`drop_host`](Self::drop_host), reporting a planned host: a host of
    /// a provision of this call is taken out of it (the provision goes if
    /// it has no host left); one of an earlier provision is listed in
    /// `out.cancellations` with `cause`.
    pub(crate) fn drop_host_with(
        &mut self,
        id: HostId,
        cause: CancellationCause,
        out: &mut Decisions,
    ) {
        let Some(h) = self.hosts.get(&id) else {
            return;
        };
        let planned = (h.state == HostState::Planned).then(|| (h.sku(), h.zone()));
        let provision = self.provision_of.get(&id).copied();
        self.drop_host(id);
        let (Some((sku, zone)), Some(provision)) = (planned, provision) else {
            return;
        };
        if let Some(i) = out.provisions.iter().position(|p| p.id == provision) {
            let p = &mut out.provisions[i];
            p.hosts.retain(|h| *h != id);
            p.count = p.count.saturating_sub(1);
            if p.count == 0 {
                out.provisions.remove(i);
            } else if let Some(a) = p.app.as_ref().and_then(|a| self.apps.get(a)) {
                // What the hosts left can hold for the app.
                let per = instances_per_host(&self.skus[sku], &a.spec.resources, a.spec.numa);
                p.instances = p.instances.min(p.count.saturating_mul(per));
            }
            return;
        }
        match out
            .cancellations
            .iter_mut()
            .find(|c| c.provision == provision && c.cause == cause)
        {
            Some(c) => c.hosts.push(id),
            None => out.cancellations.push(Cancellation {
                provision,
                zone: self.zone_id(zone).clone(),
                sku: self.skus[sku].id.clone(),
                hosts: vec![id],
                cause,
            }),
        }
    }

    /// Whether `id` is a planned host that holds no instance and is not
    /// kept for a warm pool.
    fn is_empty_planned(&self, id: HostId) -> bool {
        self.hosts
            .get(&id)
            .is_some_and(|h| h.state == HostState::Planned && h.instances.is_empty())
            && !self.warm.is_pool_host(id)
    }

    /// End a call that may have planned hosts or emptied planned ones: no
    /// planned host is left that no instance waits on. Hosts planned in
    /// this call and not used are taken out of its provisions; planned
    /// hosts of earlier provisions that lost their last instance are
    /// cancelled ([`CancellationCause::Unneeded`]); planned hosts of warm
    /// pools stay. Then the warm pools are refilled (see
    /// [`warmpool`](crate::warmpool)). Costs nothing unless the call
    /// planned hosts or emptied one, or pools are configured.
    /// Every call that returns [`Decisions`] ends here, which also counts
    /// them and appends them to the audit log.
    pub(crate) fn settle_planned(&mut self, out: &mut Decisions) {
        self.drop_unused_planned(out);
        self.mark_standby(out);
        self.refill_warm_pools(out);
        self.audit_decisions(out);
    }

    fn drop_unused_planned(&mut self, out: &mut Decisions) {
        if out.provisions.is_empty() && self.emptied.is_empty() {
            return;
        }
        let unused: Vec<HostId> = out
            .provisions
            .iter()
            .flat_map(|p| p.hosts.iter().copied())
            .filter(|h| self.is_empty_planned(*h))
            .collect();
        let emptied = std::mem::take(&mut self.emptied);
        for id in unused.into_iter().chain(emptied) {
            if self.is_empty_planned(id) {
                self.drop_host_with(id, CancellationCause::Unneeded, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn water_fill_evens_out_counts() {
        assert_eq!(water_fill(&[3, 0, 1], 6), vec![1, 3, 2]);
        assert_eq!(water_fill(&[0, 0, 0], 4), vec![2, 1, 1]);
        assert_eq!(water_fill(&[], 4), Vec::<u32>::new());
    }

    #[test]
    fn availability_counts_stock_left_and_back_off() {
        let mut o = OfferingState {
            stock: Stock::Known(3),
            failures: 0,
            backoff_until: None,
            planned: 0,
        };
        assert_eq!(o.available(Timestamp(0)), Ok(Some(3)));
        // Planned hosts leave the stock once, when planned.
        o.take(1);
        assert_eq!((o.stock, o.planned), (Stock::Known(2), 1));
        assert_eq!(o.available(Timestamp(0)), Ok(Some(2)));
        o.take(2);
        assert_eq!(o.available(Timestamp(0)), Err(OfferingBlock::Exhausted));
        // A dropped planned host gives its unit back.
        o.give_back();
        assert_eq!((o.stock, o.planned), (Stock::Known(1), 2));
        o.stock = Stock::Known(3);
        o.planned = 0;
        o.backoff_until = Some(Timestamp(100));
        assert_eq!(o.available(Timestamp(99)), Err(OfferingBlock::BackedOff));
        assert_eq!(o.available(Timestamp(100)), Ok(Some(3)));
        o.stock = Stock::Unknown;
        assert_eq!(o.available(Timestamp(100)), Ok(None));
        o.stock = Stock::Exhausted;
        assert_eq!(o.available(Timestamp(100)), Err(OfferingBlock::Exhausted));
    }
}
