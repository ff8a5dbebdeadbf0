//! The scheduler: state, inputs and the calls that change it.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::fmt;

use crate::hash::Map;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use thin_vec::ThinVec;

use crate::app::{AppSpec, QosTier};
use crate::catalog::SkuSpec;
use crate::decision::{
    CancellationCause, Decisions, Eviction, EvictionCause, PendingInstance, ProvisionId, Removal,
};
use crate::error::Error;
use crate::explain::{Explanation, PendingReason};
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};
use crate::index::{Bounds, ClassIndex, MAX_CLASS_SLOTS};
use crate::instances::{InstanceTable, MAX_INSTANCES};
use crate::limits::Limit;
use crate::provision::OfferingState;
use crate::resources::{Dimension, Resources, Scale, fraction};
use crate::substitution::Rejection;
use crate::time::Timestamp;

/// Tuning knobs. Every field has a documented default; nothing is read from
/// the environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Hosts that fit, gathered per (SKU, zone) class searched, among which
    /// the best score wins (default 2; at least 1). Each one more costs
    /// about 2% more per placement; on the benchmark region, how full
    /// online placement packs it is the same within 0.5% for any value from
    /// 1 to 8 (the `online_fill` harness in `benches/`).
    pub candidates_per_class: u32,
    /// Classes of a zone that supply candidates (default 1; 0 = all). A
    /// zone's eligible (SKU, zone) classes are searched in order of how
    /// well the request's shape matches their SKU's, and the zone's search
    /// stops once this many classes found hosts that fit. On the benchmark
    /// region, searching every class (4.6 per placement) costs about 1.5
    /// times the instructions per placement of the default and packs 0.5%
    /// to 1.7% fewer instances. See [`placement`](crate::placement).
    pub classes_per_zone: u32,
    /// Hosts per class examined for preemption (default 8; at least 1).
    pub preemption_candidates: u32,
    /// Most instances one call may create (default 1,000,000; at most
    /// `MAX_BATCH`, 16,777,216, to which `Scheduler::new` lowers a larger
    /// value).
    pub max_batch: u32,
    /// Index nodes (each a group of 16 subtrees or hosts) a candidate
    /// search may open per level of a class's index before it stops early
    /// (default 16; 0 = no limit). See [`placement`](crate::placement).
    pub search_budget: u32,
    /// Back-off of an offering after its first failed provisioning, in
    /// milliseconds (default 3 minutes); it doubles per consecutive failure.
    pub backoff_initial_ms: u64,
    /// Longest back-off, in milliseconds (default 1 hour).
    pub backoff_max_ms: u64,
    /// Image locality (default 1; 0 = off): among the hosts an instance
    /// fits on (the candidates its search found, of one zone and one
    /// tier), one that holds the app's image has its packing score
    /// lowered by this much, and wins ties against one that does not.
    /// The score is the sum over dimensions of the squared free fraction
    /// left, in units of 2^-32 (a dimension left entirely free adds
    /// 2^32), so 1 only breaks ties and 2^30 lets a held image outweigh a
    /// quarter of a dimension left free. It never admits a host the
    /// search would not: see [`coldstart`](crate::coldstart).
    pub image_locality_weight: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            candidates_per_class: 2,
            classes_per_zone: 1,
            preemption_candidates: 8,
            max_batch: 1_000_000,
            search_budget: 16,
            backoff_initial_ms: 180_000,
            backoff_max_ms: 3_600_000,
            image_locality_weight: 1,
        }
    }
}

/// State of a zone.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneState {
    /// Accepting placements.
    Up,
    /// Lost: no placements. Instances recorded there stay until the
    /// embedder removes them or their hosts.
    Down,
    /// Being emptied: no new placements; running instances stay.
    Draining,
}

/// State of a host.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Accepting placements.
    #[default]
    Ready,
    /// No new placements; running instances stay.
    Cordoned,
    /// Planned by the scheduler and being provisioned: instances on it are
    /// tentative until [`Scheduler::host_ready`].
    Planned,
}

impl fmt::Display for ZoneState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ZoneState::Up => "up",
            ZoneState::Down => "down",
            ZoneState::Draining => "draining",
        })
    }
}

impl fmt::Display for HostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostState::Ready => "ready",
            HostState::Cordoned => "cordoned",
            HostState::Planned => "planned",
        })
    }
}

/// A host to add: the embedder's machine, of a SKU, in a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// The embedder's id for the machine.
    pub id: HostId,
    /// Its SKU.
    pub sku: SkuId,
    /// Its zone.
    pub zone: ZoneId,
}

/// All-or-nothing or as many as fit.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchMode {
    /// Place what fits; the rest stay pending.
    #[default]
    Partial,
    /// Place all of them or none (gang scheduling): if one does not fit, the
    /// call fails with [`Error::GangUnschedulable`] and nothing changes.
    AllOrNothing,
}

pub(crate) use crate::instances::Parts;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NodeUse {
    pub(crate) rigid: Resources,
    pub(crate) best_effort: Resources,
}

#[derive(Clone, Debug)]
pub(crate) struct Host {
    /// SKU index (as `u32` to keep hosts small; see [`Host::sku`]).
    sku_ix: u32,
    /// Zone index.
    zone_ix: u32,
    /// Index class.
    class_ix: u32,
    pub(crate) slot: u32,
    pub(crate) state: HostState,
    pub(crate) used: SmallVec<[NodeUse; 1]>,
    /// One pointer wide (length and capacity live with the elements), which
    /// keeps hosts small.
    pub(crate) instances: ThinVec<InstanceId>,
    /// Whether it holds an instance of a dedicated app (see
    /// [`isolation`](crate::isolation)); its index entry then reads as full.
    pub(crate) dedicated: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct App {
    pub(crate) spec: AppSpec,
    /// Allowed zone indices; empty allows all.
    pub(crate) zones: SmallVec<[usize; 4]>,
    /// Zone weights by zone index; empty (or beyond its end) weighs 1.
    pub(crate) weights: SmallVec<[u32; 4]>,
    /// The app's instances; removal swaps the last one into the gap (each
    /// instance knows its position).
    pub(crate) instances: Vec<InstanceId>,
    /// Placed instances per zone index.
    pub(crate) zone_counts: Vec<u32>,
    /// Eligible classes, valid while `Scheduler::epoch` equals the first
    /// field (derived; not in snapshots).
    pub(crate) eligible: Option<(u64, SmallVec<[usize; 16]>)>,
    /// Per SKU index, the tier placement searches its hosts in and whether
    /// serving the app there is a substitution; valid with `eligible`
    /// (derived).
    pub(crate) sku_tiers: Vec<crate::placement::SkuTier>,
    /// Whether the eligible classes span more than one tier; valid with
    /// `eligible` (derived).
    pub(crate) tiered: bool,
    /// Whether serving the app on some SKU is a substitution (see
    /// `sku_tiers`); valid with `eligible` (derived).
    pub(crate) substitutes: bool,
    /// Why the last instance that failed did, valid while
    /// `Scheduler::version` and the time equal the first fields (derived).
    pub(crate) explained: Option<(u64, Timestamp, Explanation)>,
    /// Every SKU's substitution verdict, by SKU index, valid while
    /// `Scheduler::epoch` equals the first field (derived).
    pub(crate) verdicts: Option<(u64, Vec<Result<u32, Rejection>>)>,
    /// How long its instances waited before being placed (not in
    /// snapshots).
    pub(crate) waits: crate::observe::Waits,
}

impl Host {
    /// The host's SKU index.
    pub(crate) fn sku(&self) -> usize {
        self.sku_ix as usize
    }

    /// The host's zone index.
    pub(crate) fn zone(&self) -> usize {
        self.zone_ix as usize
    }

    /// The host's index class.
    pub(crate) fn class(&self) -> usize {
        self.class_ix as usize
    }

    /// Move the host to another index class (a planned host turning
    /// ready). Class indices are far below u32::MAX.
    pub(crate) fn set_class(&mut self, class: usize) {
        self.class_ix = class as u32;
    }

    /// Test hook: record another SKU and zone for the host, leaving its
    /// index class as it is.
    #[cfg(test)]
    pub(crate) fn corrupt_pool(&mut self, sku: usize, zone: usize) {
        self.sku_ix = sku as u32;
        self.zone_ix = zone as u32;
    }
}

impl App {
    pub(crate) fn zone_count(&self, zone: usize) -> u32 {
        self.zone_counts.get(zone).copied().unwrap_or(0)
    }

    fn bump_zone(&mut self, zone: usize, up: bool) {
        if self.zone_counts.len() <= zone {
            self.zone_counts.resize(zone + 1, 0);
        }
        let c = &mut self.zone_counts[zone];
        *c = if up { *c + 1 } else { c.saturating_sub(1) };
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InstanceState {
    Placed {
        host: HostId,
        parts: Parts,
    },
    Pending {
        since: Timestamp,
        /// Boxed: pending is the rare state, and a placed instance should
        /// not carry an explanation's size. `None` only while a call creates
        /// the instance, before it is placed or explained (so creating an
        /// instance that is placed at once allocates no reason, and such an
        /// instance is not in the pending queue); every pending instance
        /// has one between calls.
        reason: Option<Box<PendingReason>>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Instance {
    /// App index (as `u32` to keep instances small; see [`Instance::app`]).
    pub(crate) app: u32,
    /// Position in the app's instance list (the table holds at most
    /// `MAX_INSTANCES`, u32::MAX, instances).
    pub(crate) app_pos: u32,
    pub(crate) state: InstanceState,
}

impl Instance {
    /// The instance's app index.
    pub(crate) fn app(&self) -> usize {
        self.app as usize
    }
}

/// Retry order of pending instances: rigid before best effort (so a retry
/// never places a best-effort instance that a rigid one then evicts), then
/// priority (high first), then oldest instance first.
pub(crate) type PendingKey = (QosTier, Reverse<i32>, InstanceId);

/// The scheduler. See the [crate documentation](crate) for a tour.
#[derive(Clone, Debug)]
pub struct Scheduler {
    pub(crate) config: Config,
    pub(crate) now: Timestamp,
    pub(crate) skus: Map<SkuId, SkuSpec>,
    /// Reciprocals of each SKU's allocatable capacity, by SKU index
    /// (derived).
    pub(crate) sku_scales: Vec<Scale>,
    /// Reciprocals of each SKU's NUMA nodes' capacities, by SKU index and
    /// node (derived).
    pub(crate) node_scales: Vec<SmallVec<[Scale; 2]>>,
    pub(crate) zones: Map<ZoneId, ZoneState>,
    pub(crate) hosts: Map<HostId, Host>,
    pub(crate) apps: Map<AppId, App>,
    pub(crate) instances: InstanceTable,
    pub(crate) next_instance: u64,
    /// Host index classes by (SKU, zone, planned).
    pub(crate) classes: Map<(usize, usize, bool), ClassIndex>,
    /// Offerings declared by the embedder, by (SKU, zone).
    pub(crate) offerings: Map<(usize, usize), OfferingState>,
    /// Next planned host number.
    pub(crate) next_planned: u64,
    /// Next provision request number.
    pub(crate) next_provision: u64,
    /// The provision request of each planned host.
    pub(crate) provision_of: Map<HostId, ProvisionId>,
    /// Planned hosts that lost their last instance during the current
    /// call: unless one is used again, it is cancelled when the call ends
    /// (see [`settle_planned`](Self::settle_planned)). Empty between calls.
    pub(crate) emptied: Vec<HostId>,
    /// Moves in flight: replacement -> original.
    pub(crate) moves: Map<InstanceId, InstanceId>,
    pub(crate) pending: BTreeSet<PendingKey>,
    /// Bumped whenever the set of classes or a zone's state changes, which
    /// invalidates the apps' cached eligible classes.
    pub(crate) epoch: u64,
    /// Bumped whenever any host's capacity, state or zone changes, which
    /// invalidates the apps' cached explanations.
    pub(crate) version: u64,
    /// Runs stopped at `stops_at`, per instance: evictions and removals
    /// from hosts that are not planned (see [`Scheduler::stops_at`]). Only
    /// the latest millisecond with a stop is kept; a stop at a later one
    /// starts afresh. Small: one entry per instance stopped at that
    /// millisecond.
    pub(crate) stops: Map<InstanceId, u32>,
    /// The millisecond the counts in `stops` are of.
    pub(crate) stops_at: Timestamp,
    /// The last placement's substitution note, shared by the next ones
    /// that would build the same (derived; not in snapshots).
    pub(crate) note_memo: Option<crate::substitution::NoteMemo>,
    /// The audit log and counters (not in snapshots).
    pub(crate) observe: crate::observe::Observer,
    /// The limits enforced (the constants of [`limits`](crate::limits)).
    pub(crate) limits: crate::limits::Limits,
    /// Images held by hosts and offering figures (see
    /// [`coldstart`](crate::coldstart)).
    pub(crate) cold: crate::coldstart::ColdStart,
    /// Hosts dedicated to a tenant (derived; not in snapshots).
    pub(crate) dedicated: crate::isolation::Dedicated,
    /// New hosts of replacing consolidation plans that were planned: the
    /// plan's id for each (its planned id) -> its id now (the embedder's
    /// once it is ready). An entry goes with its host.
    pub(crate) replacements: std::collections::BTreeMap<HostId, HostId>,
    /// Standby targets and instances (see [`standby`](crate::standby)).
    pub(crate) standby: crate::standby::Standby,
    /// Warm pool targets and their planned hosts (see
    /// [`warmpool`](crate::warmpool)).
    pub(crate) warm: crate::warmpool::WarmPools,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::new(Config::default())
    }
}

impl Scheduler {
    /// An empty scheduler at time zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use trimline::{Config, Scheduler, Timestamp};
    ///
    /// // Every knob has a default; change only what you need.
    /// let s = Scheduler::new(Config { candidates_per_class: 8, ..Config::default() });
    /// assert_eq!((s.now(), s.host_count()), (Timestamp(0), 0));
    /// ```
    pub fn new(config: Config) -> Scheduler {
        let config = Config {
            candidates_per_class: config.candidates_per_class.max(1),
            classes_per_zone: config.classes_per_zone,
            preemption_candidates: config.preemption_candidates.max(1),
            max_batch: config.max_batch.min(crate::limits::MAX_BATCH),
            search_budget: config.search_budget,
            backoff_initial_ms: config.backoff_initial_ms,
            backoff_max_ms: config.backoff_max_ms.max(config.backoff_initial_ms),
            image_locality_weight: config.image_locality_weight,
        };
        Scheduler {
            config,
            now: Timestamp::ZERO,
            skus: Map::default(),
            sku_scales: Vec::new(),
            node_scales: Vec::new(),
            zones: Map::default(),
            hosts: Map::default(),
            apps: Map::default(),
            instances: InstanceTable::default(),
            next_instance: 1,
            classes: Map::default(),
            offerings: Map::default(),
            next_planned: 1,
            next_provision: 1,
            provision_of: Map::default(),
            emptied: Vec::new(),
            moves: Map::default(),
            pending: BTreeSet::new(),
            epoch: 0,
            version: 0,
            stops: Map::default(),
            stops_at: Timestamp::ZERO,
            note_memo: None,
            observe: Default::default(),
            limits: crate::limits::Limits::default(),
            cold: crate::coldstart::ColdStart::default(),
            dedicated: Default::default(),
            replacements: Default::default(),
            standby: Default::default(),
            warm: Default::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The latest time any call was made at.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Run `f` on a copy of the scheduler and return what it returns; `self`
    /// does not change. Use it as the dry-run form of any call: the
    /// decisions are exactly those the real call would return.
    ///
    /// The copy does not carry the audit log's records (it starts with an
    /// empty log, see [`observe`](crate::observe)), and what `f` decides is
    /// neither logged nor counted on `self`.
    ///
    /// ```
    /// # use trimline::*;
    /// let s = Scheduler::default();
    /// let result = s.dry_run(|s| s.reconcile(Timestamp(5)));
    /// assert!(result.unwrap().is_empty());
    /// assert_eq!(s.now(), Timestamp(0));
    /// ```
    pub fn dry_run<T>(&self, f: impl FnOnce(&mut Scheduler) -> T) -> T {
        let mut copy = self.clone();
        f(&mut copy)
    }

    /// The name of a zone by index.
    pub(crate) fn zone_id(&self, zone: usize) -> &ZoneId {
        #[allow(clippy::expect_used)]
        // Invariant: zone indices come from `zones`, and zones are never
        // removed, so every stored index is valid.
        self.zones
            .get_index(zone)
            .map(|(z, _)| z)
            .expect("zone indices are valid: zones are never removed")
    }

    pub(crate) fn check_time(&self, now: Timestamp) -> Result<(), Error> {
        if now < self.now {
            return Err(Error::TimeWentBackwards {
                last: self.now,
                now,
            });
        }
        Ok(())
    }

    // ----- catalog and topology ------------------------------------------

    /// Add a SKU to the catalog at `now`. SKUs cannot be removed.
    pub fn add_sku(&mut self, spec: SkuSpec, now: Timestamp) -> Result<(), Error> {
        self.check_time(now)?;
        if self.skus.contains_key(&spec.id) {
            return Err(Error::DuplicateSku(spec.id));
        }
        self.limits.room(Limit::Skus, self.skus.len())?;
        let id = spec.id.clone();
        let spec = spec.validated().map_err(|source| Error::InvalidSku {
            sku: id.clone(),
            source,
        })?;
        self.sku_scales.push(Scale::of(&spec.allocatable));
        self.node_scales
            .push(spec.numa_nodes.iter().map(Scale::of).collect());
        self.skus.insert(id, spec);
        // Price references and verdicts depend on the whole catalog.
        self.epoch += 1;
        self.now = now;
        Ok(())
    }

    /// Declare a zone at `now`. Zones cannot be removed; a lost zone is
    /// [`ZoneState::Down`].
    pub fn add_zone(
        &mut self,
        zone: ZoneId,
        state: ZoneState,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.check_time(now)?;
        if self.zones.contains_key(&zone) {
            return Err(Error::DuplicateZone(zone));
        }
        self.limits.room(Limit::Zones, self.zones.len())?;
        self.zones.insert(zone, state);
        self.now = now;
        Ok(())
    }

    /// Change a zone's state. When a zone becomes [`ZoneState::Up`], pending
    /// instances are retried (as by [`reconcile`](Self::reconcile)).
    /// Instances in a zone set down stay recorded there; to evacuate them
    /// use [`zone_down`](Self::zone_down), and to rebalance when the zone
    /// returns [`zone_up`](Self::zone_up) (see [`zones`](crate::zones)).
    pub fn set_zone_state(
        &mut self,
        zone: &ZoneId,
        state: ZoneState,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        let (_, was) = self.switch_zone(zone, state, now)?;
        let mut out = Decisions::default();
        if state == ZoneState::Up && was != ZoneState::Up {
            self.retry_pending(now, &mut out, false);
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Validate the time and zone, then set the zone's state: returns its
    /// index and former state. Class eligibility and explanations are
    /// invalidated.
    pub(crate) fn switch_zone(
        &mut self,
        zone: &ZoneId,
        state: ZoneState,
        now: Timestamp,
    ) -> Result<(usize, ZoneState), Error> {
        self.check_time(now)?;
        let Some((z, _, slot)) = self.zones.get_full_mut(zone) else {
            return Err(Error::UnknownZone(zone.clone()));
        };
        self.now = now;
        let was = std::mem::replace(slot, state);
        self.epoch += 1;
        self.version += 1;
        Ok((z, was))
    }

    /// Add a host. Pending instances are retried, since they may fit now.
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
    /// s.add_app(AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(4_000, 8_192)?), Timestamp(0))?;
    ///
    /// // No host yet: the instance waits, and the reason says so.
    /// let d = s.scale(&web, 1, Timestamp(1))?;
    /// assert_eq!(d.pending.len(), 1);
    ///
    /// // A host arrives: the pending instance is placed on it.
    /// let host = HostSpec { id: HostId(7), sku: "g7.4xlarge".parse()?, zone: "a".parse()? };
    /// let d = s.add_host(host, Timestamp(2))?;
    /// assert_eq!(d.placements[0].host, HostId(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_host(&mut self, spec: HostSpec, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        if spec.id.is_planned() {
            return Err(Error::ReservedHostId(spec.id));
        }
        if self.hosts.contains_key(&spec.id) {
            return Err(Error::DuplicateHost(spec.id));
        }
        self.limits.room(Limit::Hosts, self.hosts.len())?;
        let sku = self
            .skus
            .get_index_of(&spec.sku)
            .ok_or_else(|| Error::UnknownSku(spec.sku.clone()))?;
        let zone = self
            .zones
            .get_index_of(&spec.zone)
            .ok_or_else(|| Error::UnknownZone(spec.zone.clone()))?;
        let slot = match self.classes.get(&(sku, zone, false)) {
            Some(c) => c.next_slot(),
            None => 0,
        };
        if slot >= MAX_CLASS_SLOTS {
            return Err(Error::ClassFull {
                sku: spec.sku,
                zone: spec.zone,
            });
        }
        self.now = now;
        let class = self.class_for(sku, zone, false);
        self.insert_host(spec.id, sku, zone, HostState::Ready, class, slot);
        let mut out = Decisions::default();
        self.retry_pending(now, &mut out, false);
        self.settle_planned(&mut out);
        Ok(out)
    }

    pub(crate) fn class_for(&mut self, sku: usize, zone: usize, planned: bool) -> usize {
        if let Some(index) = self.classes.get_index_of(&(sku, zone, planned)) {
            return index;
        }
        self.epoch += 1;
        self.classes
            .insert_full(
                (sku, zone, planned),
                ClassIndex::new(
                    sku,
                    zone,
                    planned,
                    self.skus[sku].allocatable.cpu_millis(),
                    self.skus[sku].numa_nodes.len() <= 1,
                ),
            )
            .0
    }

    /// Insert a host in a free slot of its class. Returns false if the slot
    /// is taken (only possible from a corrupt snapshot).
    pub(crate) fn insert_host(
        &mut self,
        id: HostId,
        sku: usize,
        zone: usize,
        state: HostState,
        class: usize,
        slot: u32,
    ) -> bool {
        let nodes = self.skus[sku].numa_nodes.len();
        // Indices of SKUs, zones and classes are far below u32::MAX (each
        // is one entry of a map the embedder filled call by call).
        let host = Host {
            sku_ix: sku as u32,
            zone_ix: zone as u32,
            class_ix: class as u32,
            state,
            slot,
            used: SmallVec::from_elem(NodeUse::default(), nodes),
            instances: ThinVec::new(),
            dedicated: false,
        };
        let bounds = self.bounds_of(&host);
        if self.hosts.contains_key(&id) || !self.classes[class].insert(slot, id, bounds) {
            return false;
        }
        self.version += 1;
        self.hosts.insert(id, host);
        true
    }

    /// Remove a host. Its instances are evicted and retried elsewhere in the
    /// same call; those that do not fit stay pending.
    pub fn remove_host(&mut self, id: HostId, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let Some(host) = self.hosts.get(&id) else {
            return Err(Error::UnknownHost(id));
        };
        self.now = now;
        let mut victims = host.instances.clone();
        victims.sort_unstable();
        let mut out = Decisions::default();
        for inst in victims {
            self.evict(
                inst,
                PendingReason::HostRemoved { host: id },
                EvictionCause::HostRemoved,
                now,
                &mut out,
            );
        }
        self.drop_host_with(id, CancellationCause::HostRemoved, &mut out);
        self.retry_pending(now, &mut out, false);
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Cordon or uncordon a host. Uncordoning retries pending instances.
    pub fn set_host_state(
        &mut self,
        id: HostId,
        state: HostState,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let Some(host) = self.hosts.get_mut(&id) else {
            return Err(Error::UnknownHost(id));
        };
        if host.state == HostState::Planned || state == HostState::Planned {
            return Err(Error::PlannedHost(id));
        }
        self.now = now;
        let was = std::mem::replace(&mut host.state, state);
        self.refresh_host(id);
        let mut out = Decisions::default();
        if state == HostState::Ready && was != HostState::Ready {
            self.retry_pending(now, &mut out, false);
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    // ----- apps ------------------------------------------------------------

    /// Register an app at `now`. It has no instances until it is placed
    /// or scaled.
    pub fn add_app(&mut self, spec: AppSpec, now: Timestamp) -> Result<(), Error> {
        self.check_time(now)?;
        if self.apps.contains_key(&spec.id) {
            return Err(Error::DuplicateApp(spec.id));
        }
        self.limits.room(Limit::Apps, self.apps.len())?;
        spec.validate().map_err(|source| Error::InvalidApp {
            app: spec.id.clone(),
            source,
        })?;
        let mut zones = SmallVec::new();
        for z in &spec.spread.zones {
            let ix = self
                .zones
                .get_index_of(z)
                .ok_or_else(|| Error::UnknownZone(z.clone()))?;
            zones.push(ix);
        }
        let mut weights: SmallVec<[u32; 4]> = SmallVec::new();
        for (z, w) in &spec.spread.weights {
            let ix = self
                .zones
                .get_index_of(z)
                .ok_or_else(|| Error::UnknownZone(z.clone()))?;
            if weights.len() <= ix {
                weights.resize(ix + 1, 1);
            }
            weights[ix] = *w;
        }
        let usable = if zones.is_empty() {
            self.zones.len()
        } else {
            zones.len()
        };
        // Zone counts are far below u32::MAX; saturate regardless.
        let usable = u32::try_from(usable).unwrap_or(u32::MAX);
        if spec.spread.min_zones > usable {
            return Err(Error::InvalidApp {
                app: spec.id.clone(),
                source: crate::app::AppError::MinZones {
                    min_zones: spec.spread.min_zones,
                    zones: usable,
                },
            });
        }
        self.apps.insert(
            spec.id.clone(),
            App {
                spec,
                zones,
                weights,
                instances: Vec::new(),
                zone_counts: Vec::new(),
                eligible: None,
                sku_tiers: Vec::new(),
                tiered: false,
                substitutes: false,
                explained: None,
                verdicts: None,
                waits: Default::default(),
            },
        );
        self.now = now;
        Ok(())
    }

    /// Remove an app that has no instances (scale it to zero first), at
    /// `now`.
    pub fn remove_app(&mut self, id: &AppId, now: Timestamp) -> Result<(), Error> {
        self.check_time(now)?;
        let Some(ix) = self.apps.get_index_of(id) else {
            return Err(Error::UnknownApp(id.clone()));
        };
        let instances = self.apps[ix].instances.len();
        if instances > 0 {
            return Err(Error::AppHasInstances {
                app: id.clone(),
                instances,
            });
        }
        self.apps.shift_remove_index(ix);
        self.standby.forget_app(id);
        // Later apps moved down by one; no instance refers to the removed
        // one, so only the others' indices need fixing.
        for inst in self.instances.values_mut() {
            if inst.app() > ix {
                inst.app -= 1;
            }
        }
        self.now = now;
        Ok(())
    }

    pub(crate) fn app_index(&self, id: &AppId) -> Result<usize, Error> {
        self.apps
            .get_index_of(id)
            .ok_or_else(|| Error::UnknownApp(id.clone()))
    }

    pub(crate) fn check_batch(&self, app: usize, count: u64) -> Result<(), Error> {
        let max = self.config.max_batch;
        let app = || self.apps[app].spec.id.clone();
        if count > u64::from(max) {
            return Err(Error::BatchTooLarge {
                app: app(),
                requested: count,
                max,
            });
        }
        let room = MAX_INSTANCES.saturating_sub(self.instances.len()) as u64;
        if count > room {
            return Err(Error::TooManyInstances {
                app: app(),
                requested: count,
                held: self.instances.len() as u64,
            });
        }
        if self.next_instance.checked_add(count).is_none() {
            return Err(Error::InstanceIdsExhausted {
                app: app(),
                requested: count,
                next: self.next_instance,
            });
        }
        Ok(())
    }

    // ----- placement ---------------------------------------------------------

    /// Create one instance of `app` and place it. If it does not fit it
    /// stays pending, with the reason in the returned decisions.
    ///
    /// ```
    /// # use trimline::*;
    /// # let mut s = Scheduler::default();
    /// # s.add_zone("a".parse()?, ZoneState::Up, Timestamp(0))?;
    /// # let mut sku = SkuSpec {
    /// #     id: "g7.4xlarge".parse()?, family: "g7".parse()?, generation: 7,
    /// #     arch: Arch::X86_64, cpu_vendor: "intel".parse()?,
    /// #     allocatable: Resources::cpu_mem(16_000, 65_536)?, perf_score: 100,
    /// #     numa_nodes: vec![], features: Default::default(),
    /// #     accelerator_model: None, local_disk: None, price_nanos_per_second: 1_000,
    /// # };
    /// # s.add_sku(sku, Timestamp(0))?;
    /// # let _ = s.add_host(HostSpec { id: HostId(1), sku: "g7.4xlarge".parse()?, zone: "a".parse()? }, Timestamp(0))?;
    /// s.add_app(AppSpec::new("web".parse()?, "acme".parse()?, Resources::cpu_mem(2_000, 4_096)?), Timestamp(0))?;
    /// let d = s.place(&"web".parse()?, Timestamp(1))?;
    /// assert_eq!(d.placements[0].host, HostId(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn place(&mut self, app: &AppId, now: Timestamp) -> Result<Decisions, Error> {
        self.place_batch(app, 1, BatchMode::Partial, now)
    }

    /// Create `count` instances of `app` and place them, one after another.
    /// In [`BatchMode::Partial`] those that do not fit stay pending; in
    /// [`BatchMode::AllOrNothing`] either all are placed or the call fails
    /// and nothing changes.
    ///
    /// A `count` of 0 is valid in both modes: nothing is created, the
    /// decisions are empty, and only the scheduler's time moves to `now`
    /// (the app must still exist and `now` must not go back).
    pub fn place_batch(
        &mut self,
        app: &AppId,
        count: u32,
        mode: BatchMode,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let ix = self.app_index(app)?;
        self.check_batch(ix, u64::from(count))?;
        if count == 0 {
            // An empty gang is trivially all placed: no copy is needed.
            self.now = now;
            return Ok(Decisions::default());
        }
        match mode {
            BatchMode::Partial => {
                self.now = now;
                let mut out = Decisions::default();
                self.create_and_place(ix, count, now, &mut out);
                self.settle_planned(&mut out);
                Ok(out)
            }
            BatchMode::AllOrNothing => {
                // Work on a copy so that a failure leaves `self` untouched.
                let mut trial = self.clone();
                trial.now = now;
                let mut out = Decisions::default();
                trial.create_and_place(ix, count, now, &mut out);
                trial.settle_planned(&mut out);
                if let Some(first) = out.pending.first() {
                    let reason = match &first.reason {
                        PendingReason::NoFit(e) => e.clone(),
                        _ => Explanation::default(),
                    };
                    return Err(Error::GangUnschedulable {
                        app: app.clone(),
                        requested: count,
                        // At most `count` placements, a u32.
                        placeable: out.placements.len() as u32,
                        reason,
                    });
                }
                self.adopt(trial);
                Ok(out)
            }
        }
    }

    /// Scale `app` to `target` instances (placed and pending together).
    ///
    /// Scaling up places the new instances as [`place_batch`](Self::place_batch)
    /// does, partially. Scaling down removes pending instances first (newest
    /// first), then placed ones: each time from the zone holding the most
    /// instances of the app, within it from the least utilised host (as
    /// measured when the call starts), then the newest instance. For an app
    /// with a `max_skew` whose placed instances are beyond it, placed
    /// instances are removed (largest zone first) before pending ones until
    /// the skew is within the limit (see [`zones`](crate::zones)). Planned
    /// hosts that no instance waits on any more are cancelled
    /// ([`Decisions::cancellations`]). Scaling to zero releases every
    /// resource, leaves no planned host for the app and keeps the app's
    /// metadata.
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
    /// # let _ = s.add_host(HostSpec { id: HostId(1), sku: "g7.4xlarge".parse()?, zone: "a".parse()? }, Timestamp(0))?;
    /// let web: AppId = "web".parse()?;
    /// s.add_app(AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(4_000, 8_192)?), Timestamp(0))?;
    ///
    /// // One 16-vCPU host holds four 4-vCPU instances; the fifth waits.
    /// let d = s.scale(&web, 5, Timestamp(1))?;
    /// assert_eq!((d.placements.len(), d.pending.len()), (4, 1));
    /// assert_eq!(d.pending[0].reason.to_string(), "0/1 hosts fit: cpu: 1 host");
    ///
    /// // Down to two: the pending instance goes first, then two placed ones.
    /// let d = s.scale(&web, 2, Timestamp(2))?;
    /// assert_eq!(d.removals.len(), 3);
    ///
    /// // Scale to zero: nothing is held, the app's metadata stays.
    /// let _ = s.scale(&web, 0, Timestamp(3))?;
    /// assert!(s.app_instances(&web).is_empty() && s.app(&web).is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scale(&mut self, app: &AppId, target: u32, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let ix = self.app_index(app)?;
        // A move in flight (original + replacement) counts once.
        let replacements = self
            .moves
            .keys()
            .filter(|to| self.instances.get(to).is_some_and(|i| i.app() == ix))
            .count();
        // Standbys are not counted (see [`standby`](crate::standby)).
        let current = self.apps[ix].instances.len() - replacements - self.standby_count(ix);
        let target_us = target as usize;
        let mut out = Decisions::default();
        if target_us > current {
            // add <= target, a u32.
            let add = (target_us - current) as u32;
            // Standbys start first; the rest is created, then the standby
            // target refilled.
            let (start, refill) = self.standby_plan(ix, add);
            self.check_batch(ix, u64::from(add - start) + u64::from(refill))?;
            self.now = now;
            let started = self.start_standbys(ix, start, &mut out);
            self.create_and_place(ix, add - started, now, &mut out);
            self.refill_standby(ix, now, &mut out);
        } else if target_us < current {
            self.now = now;
            let victims = self.scale_down_victims(ix, current - target_us);
            for v in victims {
                if let Some(to) = self.replacement_of(v) {
                    self.delete_instance(to, &mut out);
                }
                self.delete_instance(v, &mut out);
            }
        } else {
            self.now = now;
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Delete one instance, releasing its resources. A planned host it was
    /// the last instance of is cancelled ([`Decisions::cancellations`]).
    pub fn remove_instance(&mut self, id: InstanceId, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        if !self.instances.contains_key(&id) {
            return Err(Error::UnknownInstance(id));
        }
        self.now = now;
        let mut out = Decisions::default();
        let standby = self.instance_standby(id);
        self.delete_instance(id, &mut out);
        // A removed standby is replaced: only its target removes standbys.
        if let Some(app) = standby {
            if self.check_batch(app, 1).is_ok() {
                self.refill_standby(app, now, &mut out);
            }
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// Retry every pending instance: rigid before best effort, then highest
    /// app priority first, then oldest first. Rigid instances may preempt
    /// best-effort ones. The decisions list what was placed and every
    /// instance still pending, with a fresh reason.
    ///
    /// Pending instances are also retried by [`add_host`](Self::add_host),
    /// by [`remove_host`](Self::remove_host), when a host is uncordoned and
    /// when a zone comes up. Those retries list only the instances they
    /// place, evict or newly make pending; the others keep their last
    /// reason. Freeing capacity in other ways (scale-down, instance removal)
    /// does not retry them until `reconcile` is called.
    pub fn reconcile(&mut self, now: Timestamp) -> Result<Decisions, Error> {
        self.check_time(now)?;
        self.now = now;
        let mut out = Decisions::default();
        self.retry_pending(now, &mut out, true);
        self.settle_planned(&mut out);
        Ok(out)
    }

    pub(crate) fn create_and_place(
        &mut self,
        app: usize,
        count: u32,
        now: Timestamp,
        out: &mut Decisions,
    ) {
        let mut classes = self.eligible_classes_cached(app);
        let mut failed: Option<Explanation> = None;
        let mut provisioned = false;
        for i in 0..count {
            let id = InstanceId(self.next_instance);
            // The room in the table and the id range are checked in
            // check_batch.
            let added = self.add_instance(
                id,
                app,
                InstanceState::Pending {
                    since: now,
                    reason: None,
                },
            );
            if !added {
                break;
            }
            self.next_instance += 1;
            // Once one identical instance failed, the next fails the same way:
            // a failed attempt changes nothing.
            if failed.is_none() && self.try_place(id, app, &classes, out) {
                continue;
            }
            // No room: plan new hosts once, for the rest of the batch.
            if failed.is_none() && !provisioned {
                provisioned = true;
                if self.plan_hosts(app, count - i, out) > 0 {
                    classes = self.eligible_classes_cached(app);
                    if self.try_place(id, app, &classes, out) {
                        continue;
                    }
                }
            }
            let reason = match &failed {
                Some(e) => e.clone(),
                None => failed.insert(self.explain_cached(app)).clone(),
            };
            self.set_pending(id, now, PendingReason::NoFit(reason), out);
        }
    }

    /// Retry pending instances in retry order. With `report_all`, every
    /// instance still pending is re-explained and listed in `out.pending`;
    /// otherwise (retries triggered by capacity appearing) only those that
    /// were never explained (just evicted or displaced) are, and the others
    /// keep their last reason, which keeps such retries cheap.
    pub(crate) fn retry_pending(&mut self, now: Timestamp, out: &mut Decisions, report_all: bool) {
        self.retry_pending_with(now, out, report_all, Vec::new());
    }

    /// [`retry_pending`](Self::retry_pending), also trying `fresh`:
    /// instances made pending without being queued (see
    /// [`evict`](Self::evict)), in retry order. They take their turn among
    /// the queued ones as if queued, and those that stay pending are queued
    /// and explained.
    pub(crate) fn retry_pending_with(
        &mut self,
        now: Timestamp,
        out: &mut Decisions,
        report_all: bool,
        fresh: Vec<PendingKey>,
    ) {
        // Merge the queue and the fresh keys, both in retry order.
        let mut keys: Vec<(PendingKey, bool)> =
            Vec::with_capacity(self.pending.len() + fresh.len());
        let mut queued = self.pending.iter().copied().peekable();
        let mut fresh = fresh.into_iter().peekable();
        loop {
            let take_fresh = match (queued.peek(), fresh.peek()) {
                (Some(q), Some(f)) => f < q,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let next = if take_fresh {
                fresh.next().map(|k| (k, true))
            } else {
                queued.next().map(|k| (k, false))
            };
            let Some(next) = next else { break };
            keys.push(next);
        }
        // Per app: the eligible classes, whether one of its instances failed
        // in this pass, and the explanation once computed. A failure stays
        // valid until an eviction frees capacity.
        // Also: how many of its instances are still to be tried (the batch
        // to plan new hosts for).
        struct Memo {
            failed: bool,
            why: Option<Explanation>,
            left: u32,
        }
        let mut memo: Vec<Option<Memo>> = (0..self.apps.len()).map(|_| None).collect();
        let mut left: Vec<u32> = vec![0; self.apps.len()];
        for (key, _) in &keys {
            if let Some(inst) = self.instances.get(&key.2) {
                left[inst.app()] += 1;
            }
        }
        for (key, fresh) in keys {
            let id = key.2;
            let Some(inst) = self.instances.get(&id) else {
                continue;
            };
            let app = inst.app();
            let explained = matches!(
                &inst.state,
                InstanceState::Pending { reason: Some(reason), .. } if matches!(**reason, PendingReason::NoFit(_))
            );
            if memo[app].is_none() {
                memo[app] = Some(Memo {
                    failed: false,
                    why: None,
                    left: left[app],
                });
            }
            // Set just above; apps are not removed during a retry.
            let Some(entry) = memo[app].as_mut() else {
                continue;
            };
            let remaining = entry.left;
            entry.left = entry.left.saturating_sub(1);
            if !entry.failed {
                // Fetched per attempt (cached per epoch): hosts planned for
                // another app in this pass may have added classes.
                let classes = self.eligible_classes_cached(app);
                let evictions_before = out.evictions.len();
                let placed = self.try_place(id, app, &classes, out);
                if placed {
                    if out.evictions.len() > evictions_before {
                        for entry in memo.iter_mut().flatten() {
                            entry.failed = false;
                        }
                    }
                    continue;
                }
                // Plan new hosts for the app's instances still to be tried;
                // again whenever the room planned before was taken by
                // another app's instances.
                let planned = self.plan_hosts(app, remaining, out);
                if planned > 0 {
                    let classes = self.eligible_classes_cached(app);
                    if self.try_place(id, app, &classes, out) {
                        continue;
                    }
                }
                if let Some(entry) = memo[app].as_mut() {
                    entry.failed = true;
                }
            }
            if explained && !report_all && !fresh {
                continue;
            }
            let known = memo[app].as_ref().and_then(|m| m.why.clone());
            let reason = match known {
                Some(e) => e,
                None => {
                    let e = self.explain_cached(app);
                    if let Some(entry) = memo[app].as_mut() {
                        entry.why = Some(e.clone());
                    }
                    e
                }
            };
            self.set_pending(id, now, PendingReason::NoFit(reason), out);
        }
    }

    /// Make an instance pending since `since` (kept if it already was) and
    /// queue it for retries; returns its app's id.
    fn make_pending(
        &mut self,
        id: InstanceId,
        since: Timestamp,
        reason: PendingReason,
    ) -> Option<AppId> {
        self.make_pending_queued(id, since, reason, true)
    }

    /// [`make_pending`](Self::make_pending), queueing the instance for
    /// retries only with `queue` (the caller then retries it itself, with
    /// [`retry_pending_with`](Self::retry_pending_with)).
    fn make_pending_queued(
        &mut self,
        id: InstanceId,
        since: Timestamp,
        reason: PendingReason,
        queue: bool,
    ) -> Option<AppId> {
        let inst = self.instances.get_mut(&id)?;
        let since = match &inst.state {
            InstanceState::Pending { since, .. } => *since,
            InstanceState::Placed { .. } => since,
        };
        inst.state = InstanceState::Pending {
            since,
            reason: Some(Box::new(reason)),
        };
        let app = &self.apps[inst.app()].spec;
        if queue {
            self.pending.insert((app.qos, Reverse(app.priority), id));
        }
        Some(app.id.clone())
    }

    fn set_pending(
        &mut self,
        id: InstanceId,
        now: Timestamp,
        reason: PendingReason,
        out: &mut Decisions,
    ) {
        if let Some(app) = self.make_pending(id, now, reason.clone()) {
            out.pending.push(PendingInstance {
                instance: id,
                app,
                reason,
            });
        }
    }

    /// Take a placed instance off its host and make it pending.
    pub(crate) fn evict(
        &mut self,
        id: InstanceId,
        reason: PendingReason,
        cause: EvictionCause,
        now: Timestamp,
        out: &mut Decisions,
    ) {
        self.evict_queued(id, reason, cause, now, out, true);
    }

    /// [`evict`](Self::evict), queueing the instance for retries only with
    /// `queue`; returns whether it became pending (unqueued, the caller
    /// must retry it with [`retry_pending_with`](Self::retry_pending_with)).
    pub(crate) fn evict_queued(
        &mut self,
        id: InstanceId,
        reason: PendingReason,
        cause: EvictionCause,
        now: Timestamp,
        out: &mut Decisions,
        queue: bool,
    ) -> bool {
        if self.moves.contains_key(&id) {
            // A replacement that loses its host aborts its move.
            self.drop_replacement(id, out);
            return false;
        }
        let Some(host) = self.release(id) else {
            return false;
        };
        let Some(app) = self.make_pending_queued(id, now, reason, queue) else {
            return false;
        };
        out.evictions.push(Eviction {
            instance: id,
            app,
            host,
            cause,
        });
        self.note_stop(id, host);
        true
    }

    /// Count a stop of `id`'s run at the current time, if the host it left
    /// is not planned (an instance on a planned host never ran). Callers
    /// have set `now` to the call's time.
    fn note_stop(&mut self, id: InstanceId, host: HostId) {
        if host.is_planned() {
            return;
        }
        if self.stops_at != self.now {
            // A new millisecond: the last one's counts are of no more use.
            // A large map (a mass eviction) is freed rather than kept.
            if self.stops.capacity() > 1_024 {
                self.stops = Map::default();
            } else {
                self.stops.clear();
            }
            self.stops_at = self.now;
        }
        let n = self.stops.entry(id).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// How many runs of `instance` stopped at `now`: its evictions and
    /// removals from hosts that are not planned, by every call made at
    /// `now` so far (the latest call's included).
    /// [`decision_events`](crate::metering::decision_events) numbers an
    /// instance's starts and stops with it, so that events derived from
    /// separate calls at one millisecond never share an id.
    pub(crate) fn stops_at(&self, instance: InstanceId, now: Timestamp) -> u32 {
        if self.stops_at != now {
            return 0;
        }
        self.stops.get(&instance).copied().unwrap_or(0)
    }

    /// Release a placed instance's resources; returns its host. The
    /// instance's state is left for the caller to set.
    fn release(&mut self, id: InstanceId) -> Option<HostId> {
        let inst = self.instances.get(&id)?;
        let InstanceState::Placed { host, parts } = &inst.state else {
            return None;
        };
        let (host_id, parts, app) = (*host, parts.clone(), inst.app());
        if host_id.is_planned() {
            self.observe.tentative_since.remove(&id);
        }
        let rigid = self.apps[app].spec.qos == QosTier::Rigid;
        if let Some(h) = self.hosts.get_mut(&host_id) {
            for (node, amount) in &parts {
                if let Some(u) = h.used.get_mut(usize::from(*node)) {
                    let slot = if rigid {
                        &mut u.rigid
                    } else {
                        &mut u.best_effort
                    };
                    *slot = slot.saturating_sub(amount);
                }
            }
            if let Some(pos) = h.instances.iter().position(|i| *i == id) {
                h.instances.swap_remove(pos);
            }
            if h.state == HostState::Planned && h.instances.is_empty() {
                self.emptied.push(host_id);
            }
            let zone = h.zone();
            self.apps[app].bump_zone(zone, false);
            if self.is_dedicated(app) {
                self.undedicate_if_free(host_id);
            }
            self.refresh_host(host_id);
        }
        Some(host_id)
    }

    /// Record an allocation: the caller has checked that it fits.
    pub(crate) fn allocate(&mut self, id: InstanceId, host_id: HostId, parts: Parts) {
        if let Some(host_ix) = self.hosts.get_index_of(&host_id) {
            self.allocate_at(id, host_ix, parts);
        }
    }

    /// [`allocate`](Self::allocate) on the host at index `host_ix` of the
    /// host map.
    pub(crate) fn allocate_at(&mut self, id: InstanceId, host_ix: usize, parts: Parts) {
        let Some(inst) = self.instances.get_mut(&id) else {
            return;
        };
        let app = inst.app();
        let rigid = self.apps[app].spec.qos == QosTier::Rigid;
        let Some((&host_id, h)) = self.hosts.get_index_mut(host_ix) else {
            return;
        };
        for (node, amount) in &parts {
            if let Some(u) = h.used.get_mut(usize::from(*node)) {
                let slot = if rigid {
                    &mut u.rigid
                } else {
                    &mut u.best_effort
                };
                // Fits by the caller's check, so the sum stays within the
                // node's capacity, itself within Dimension::max.
                *slot = slot.checked_add(amount).unwrap_or(*slot);
            }
        }
        h.instances.push(id);
        let zone = h.zone();
        // An instance without a reason was created by this call and never
        // queued (only explained instances are).
        // When its wait began: an instance created by this call waits from
        // now.
        let waited_since = match &inst.state {
            InstanceState::Pending {
                reason: Some(_),
                since,
            } => {
                let spec = &self.apps[app].spec;
                self.pending.remove(&(spec.qos, Reverse(spec.priority), id));
                Some(*since)
            }
            InstanceState::Pending { reason: None, .. } => Some(self.now),
            InstanceState::Placed { .. } => None,
        };
        inst.state = InstanceState::Placed {
            host: host_id,
            parts,
        };
        match waited_since {
            // On a planned host it waits on until the host is ready.
            Some(since) if host_id.is_planned() => {
                self.observe.tentative_since.insert(id, since);
            }
            Some(since) if since == self.now => self.apps[app].waits.record_zero(),
            Some(since) => self.apps[app]
                .waits
                .record(self.now.0.saturating_sub(since.0)),
            None => {}
        }
        self.apps[app].bump_zone(zone, true);
        if self.is_dedicated(app) {
            self.dedicate(host_id, app);
        }
        self.refresh_host_at(host_ix);
    }

    /// Record a new instance of `app`, last in the app's list. Returns
    /// false, changing nothing, when the table is full (see
    /// [`MAX_INSTANCES`]; callers check for room first).
    #[must_use]
    pub(crate) fn add_instance(
        &mut self,
        id: InstanceId,
        app: usize,
        state: InstanceState,
    ) -> bool {
        let list = &mut self.apps[app].instances;
        // The list is part of the table, which holds at most u32::MAX
        // instances; app indices are far below u32::MAX.
        let app_pos = list.len() as u32;
        let inst = Instance {
            app: app as u32,
            app_pos,
            state,
        };
        if self.instances.insert(id, inst).is_err() {
            return false;
        }
        list.push(id);
        true
    }

    pub(crate) fn delete_instance(&mut self, id: InstanceId, out: &mut Decisions) {
        self.forget_move(id);
        let host = self.release(id);
        let Some(inst) = self.instances.swap_remove(&id) else {
            return;
        };
        let pos = inst.app_pos as usize;
        let list = &mut self.apps[inst.app()].instances;
        if list.get(pos) == Some(&id) {
            list.swap_remove(pos);
            if let Some(moved) = list.get(pos).copied() {
                if let Some(m) = self.instances.get_mut(&moved) {
                    // pos < the list's length, itself below u32::MAX.
                    m.app_pos = pos as u32;
                }
            }
        }
        let app = &mut self.apps[inst.app()];
        if !self.standby.is_empty() {
            self.standby.forget(&app.spec.id, id);
        }
        if matches!(inst.state, InstanceState::Pending { .. }) {
            self.pending
                .remove(&(app.spec.qos, Reverse(app.spec.priority), id));
        }
        out.removals.push(Removal {
            instance: id,
            app: app.spec.id.clone(),
            host,
        });
        if let Some(host) = host {
            self.note_stop(id, host);
        }
    }

    fn scale_down_victims(&self, app: usize, count: usize) -> Vec<InstanceId> {
        let a = &self.apps[app];
        let mut pending: Vec<InstanceId> = Vec::new();
        // Per zone: placed instances, best victim last.
        let mut by_zone: Map<usize, Vec<(Reverse<u64>, InstanceId)>> = Map::default();
        let standby = self.standby.held(&a.spec.id);
        // Standbys stay, but count in their zones for the spread.
        let mut kept: SmallVec<[u32; 4]> = SmallVec::new();
        for id in &a.instances {
            if self.moves.contains_key(id) {
                // Replacements go with their original.
                continue;
            }
            if standby.is_some_and(|s| s.contains(id)) {
                if let Some(z) = self.instance_zone(*id) {
                    if kept.len() <= z {
                        kept.resize(z + 1, 0);
                    }
                    kept[z] += 1;
                }
                continue;
            }
            let Some(inst) = self.instances.get(id) else {
                continue;
            };
            match &inst.state {
                InstanceState::Pending { .. } => pending.push(*id),
                InstanceState::Placed { host, .. } => {
                    let Some(h) = self.hosts.get(host) else {
                        continue;
                    };
                    let util = self.utilisation(h);
                    by_zone
                        .entry(h.zone())
                        .or_default()
                        .push((Reverse(util), *id));
                }
            }
        }
        // Newest pending first.
        pending.sort_unstable_by(|a, b| b.cmp(a));
        for list in by_zone.values_mut() {
            // Ascending by (higher utilisation, lower id): the last is the
            // least utilised host's newest instance.
            list.sort_unstable();
        }
        // With a skew limit, the counts over the spread domain: while they
        // are beyond the limit, placed instances go before pending ones.
        let limit = a.spec.spread.max_skew;
        let domain = if limit.is_some() {
            self.spread_domain(app)
        } else {
            SmallVec::new()
        };
        let len = |by_zone: &Map<usize, Vec<(Reverse<u64>, InstanceId)>>, z: usize| {
            // Instance counts of one app fit in u32.
            by_zone.get(&z).map_or(0, |l| l.len() as u32) + kept.get(z).copied().unwrap_or(0)
        };
        let skew_bad = |by_zone: &Map<usize, Vec<(Reverse<u64>, InstanceId)>>| {
            let Some(k) = limit else {
                return false;
            };
            let (d, w) = self.deviations(app, &domain, |z| len(by_zone, z));
            crate::zones::spread_in_instances(&d, w) > k
        };
        let mut pending = pending.into_iter();
        let mut victims: Vec<InstanceId> = Vec::new();
        while victims.len() < count {
            if !skew_bad(&by_zone) {
                if let Some(id) = pending.next() {
                    victims.push(id);
                    continue;
                }
            }
            // The zone with the most instances left (furthest above its
            // weighted target, with weights); ties: lowest zone index.
            let nonempty: SmallVec<[usize; 4]> = by_zone
                .iter()
                .filter(|(_, l)| !l.is_empty())
                .map(|(z, _)| *z)
                .collect();
            let pick = if a.weights.is_empty() {
                nonempty
                    .iter()
                    .copied()
                    .max_by(|za, zb| len(&by_zone, *za).cmp(&len(&by_zone, *zb)).then(zb.cmp(za)))
            } else {
                let mut set = self.spread_domain(app);
                for z in &nonempty {
                    if !set.contains(z) {
                        set.push(*z);
                    }
                }
                let (d, _) = self.deviations(app, &set, |z| len(&by_zone, z));
                d.iter()
                    .zip(set.iter().copied())
                    .filter(|(_, z)| nonempty.contains(z))
                    .max_by(|(da, za), (db, zb)| da.cmp(db).then(zb.cmp(za)))
                    .map(|(_, z)| z)
            };
            let Some(list) = pick.and_then(|z| by_zone.get_mut(&z)) else {
                match pending.next() {
                    Some(id) => {
                        victims.push(id);
                        continue;
                    }
                    None => break,
                }
            };
            if let Some((_, id)) = list.pop() {
                victims.push(id);
            }
        }
        victims
    }

    /// Used share of a host, summed over dimensions in fixed point.
    pub(crate) fn utilisation(&self, h: &Host) -> u64 {
        let cap = &self.skus[h.sku()].allocatable;
        let used = Resources::sum(h.used.iter().flat_map(|u| [&u.rigid, &u.best_effort]));
        Dimension::ALL
            .iter()
            .map(|d| fraction(used.get(*d), cap.get(*d)))
            .sum()
    }

    /// Recompute a host's index leaf.
    pub(crate) fn refresh_host(&mut self, id: HostId) {
        if let Some(ix) = self.hosts.get_index_of(&id) {
            self.refresh_host_at(ix);
        }
    }

    /// [`refresh_host`](Self::refresh_host) for the host at index `ix` of
    /// the host map.
    pub(crate) fn refresh_host_at(&mut self, ix: usize) {
        let Some((_, h)) = self.hosts.get_index(ix) else {
            return;
        };
        let bounds = self.bounds_of(h);
        let (class, slot) = (h.class(), h.slot);
        self.classes[class].tree.set(slot, bounds);
        self.version += 1;
    }

    pub(crate) fn bounds_of(&self, h: &Host) -> Bounds {
        if h.state == HostState::Cordoned || h.dedicated {
            return Bounds::default();
        }
        let sku = &self.skus[h.sku()];
        let mut b = Bounds::default();
        for (n, cap) in sku.numa_nodes.iter().enumerate() {
            let u = h.used.get(n).copied().unwrap_or_default();
            let reclaim = cap.saturating_sub(&u.rigid);
            let free = reclaim.saturating_sub(&u.best_effort);
            for d in 0..crate::resources::DIMENSIONS {
                let (f, r) = (free.as_array()[d], reclaim.as_array()[d]);
                b.free_total[d] += f;
                b.reclaim_total[d] += r;
                b.free_node[d] = b.free_node[d].max(f);
                b.reclaim_node[d] = b.reclaim_node[d].max(r);
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::sku;

    /// A class whose every slot is taken refuses another host, naming the
    /// SKU and zone, and changes nothing.
    #[test]
    fn a_full_class_refuses_more_hosts() {
        let mut s = Scheduler::default();
        let zone = ZoneId::new("a").unwrap();
        s.add_zone(zone.clone(), ZoneState::Up, s.now()).unwrap();
        s.add_sku(sku("g7", 4_000, 8_192), s.now()).unwrap();
        let spec = |id| HostSpec {
            id: HostId(id),
            sku: SkuId::new("g7").unwrap(),
            zone: zone.clone(),
        };
        let _ = s.add_host(spec(1), Timestamp(0)).unwrap();
        // Fill every slot of the class without building hosts for them.
        s.classes[0].slots = vec![Some(HostId(1)); MAX_CLASS_SLOTS as usize];
        let before = s.snapshot();
        assert_eq!(
            s.add_host(spec(2), Timestamp(1)),
            Err(Error::ClassFull {
                sku: SkuId::new("g7").unwrap(),
                zone: zone.clone()
            })
        );
        assert_eq!(s.snapshot(), before);
    }
}
