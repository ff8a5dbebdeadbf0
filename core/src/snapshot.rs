//! Snapshot and restore.
//!
//! A [`Snapshot`] holds the canonical state: configuration, time, catalog,
//! zones, hosts (with their index slots), apps and instances, in the
//! scheduler's own order, and the runs stopped at its latest time (which
//! number the event ids [`decision_events`](crate::metering::decision_events)
//! derives). Everything else (usage, the host index, pending
//! queue, per-zone counts) is rebuilt and checked on restore, so a snapshot
//! that no sequence of calls could have produced is refused. A restored
//! scheduler serializes to the same snapshot and makes the same decisions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::app::AppSpec;
use crate::catalog::SkuSpec;
use crate::coldstart::ColdStartRecord;
use std::collections::BTreeMap;

use crate::decision::ProvisionId;
use crate::error::{Error, RestoreError};
use crate::explain::PendingReason;
use crate::ids::PLANNED_HOST_BIT;
use crate::ids::{HostId, InstanceId, SkuId, ZoneId};
use crate::index::MAX_CLASS_SLOTS;
use crate::instances::MAX_INSTANCES;
use crate::limits::{Limit, MAX_BATCH};
use crate::migration::MoveInFlight;
use crate::provision::{OfferingState, Stock};
use crate::query::{InstanceStatus, InstanceView};
use crate::resources::Resources;
use crate::scheduler::{Config, HostState, InstanceState, NodeUse, Parts, Scheduler, ZoneState};
use crate::substitution::{Rejection, serves_existing};
use crate::time::Timestamp;
use crate::warmpool::WarmPoolRecord;

/// The snapshot format this build writes (and reads, with formats 2 and 3
/// before it: format 2 has no cold-start state, neither has replacement
/// hosts, standby instances or warm pools).
pub const SNAPSHOT_FORMAT: u32 = 4;

/// The oldest snapshot format this build reads.
const OLDEST_FORMAT: u32 = 2;

/// A zone in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneRecord {
    /// Zone name.
    pub id: ZoneId,
    /// Its state.
    pub state: ZoneState,
}

/// A host in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostRecord {
    /// Host id.
    pub id: HostId,
    /// Its SKU.
    pub sku: SkuId,
    /// Its zone.
    pub zone: ZoneId,
    /// Ready, cordoned or planned.
    pub state: HostState,
    /// Its slot in the index of its (SKU, zone) class.
    pub slot: u32,
    /// For a planned host, the provision request it is part of (absent for
    /// a running host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision: Option<ProvisionId>,
}

/// An offering in a snapshot (its planned hosts are counted from the hosts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferingRecord {
    /// SKU.
    pub sku: SkuId,
    /// Zone.
    pub zone: ZoneId,
    /// Stock left to order (see [`Stock`]).
    pub stock: Stock,
    /// Consecutive failed provisionings.
    pub failures: u32,
    /// Backed off until.
    pub backoff_until: Option<Timestamp>,
}

/// The runs of one instance stopped at the snapshot's time, in a
/// [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceStops {
    /// The instance.
    pub instance: InstanceId,
    /// How many of its runs stopped at that millisecond (at least 1).
    pub stops: u32,
}

/// A new host a replacing consolidation planned, in a [`Snapshot`] (see
/// [`Scheduler::start_consolidation`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementHostRecord {
    /// The id the plan gives it (its planned id).
    pub planned_as: HostId,
    /// Its id now: the same while planned, the embedder's once ready.
    pub host: HostId,
}

/// The whole state of a [`Scheduler`], serializable with serde.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`SNAPSHOT_FORMAT`] when written.
    pub format: u32,
    /// Configuration.
    pub config: Config,
    /// Latest time seen.
    pub now: Timestamp,
    /// Next instance number.
    pub next_instance: u64,
    /// Next planned host number.
    pub next_planned: u64,
    /// Next provision request number.
    pub next_provision: u64,
    /// Catalog.
    pub skus: Vec<SkuSpec>,
    /// Zones.
    pub zones: Vec<ZoneRecord>,
    /// Apps.
    pub apps: Vec<AppSpec>,
    /// Offerings.
    pub offerings: Vec<OfferingRecord>,
    /// Hosts.
    pub hosts: Vec<HostRecord>,
    /// Instances.
    pub instances: Vec<InstanceView>,
    /// Moves in flight.
    #[serde(default)]
    pub moves: Vec<MoveInFlight>,
    /// Runs stopped at `now` (evictions and removals from hosts that are
    /// not planned), per instance, by instance id: what keeps the event
    /// ids [`decision_events`](crate::metering::decision_events) derives
    /// unique when calls go on at the same millisecond after a restore.
    /// Removed instances stay listed until the time moves on.
    #[serde(default)]
    pub stops_at_now: Vec<InstanceStops>,
    /// Images held by hosts and offering figures (see
    /// [`coldstart`](crate::coldstart)); absent in format 2 and when empty.
    #[serde(default, skip_serializing_if = "ColdStartRecord::is_empty")]
    pub cold_start: ColdStartRecord,
    /// New hosts replacing consolidations planned, by planned id, so that
    /// their plans carry on after a restore; absent before format 4 and
    /// when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacement_hosts: Vec<ReplacementHostRecord>,
    /// Standby targets and instances, by app id (see
    /// [`standby`](crate::standby)); absent before format 4 and when no
    /// app keeps standbys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standby: Vec<crate::standby::StandbyRecord>,
    /// Warm pools (see [`warmpool`](crate::warmpool)); absent before
    /// format 4 and when empty.
    #[serde(default, skip_serializing_if = "WarmPoolRecord::is_empty")]
    pub warm_pools: WarmPoolRecord,
}

impl Scheduler {
    /// The whole state, for persistence or replication.
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
    /// let _ = s.scale(&web, 3, Timestamp(1))?;
    ///
    /// // Store it anywhere serde writes to; restore it on another replica.
    /// let json = serde_json::to_string(&s.snapshot())?;
    /// let mut replica = Scheduler::restore(serde_json::from_str(&json)?)?;
    /// assert_eq!(replica.snapshot(), s.snapshot());
    ///
    /// // From the same state, the same call decides the same.
    /// assert_eq!(replica.scale(&web, 5, Timestamp(2))?, s.scale(&web, 5, Timestamp(2))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            config: self.config.clone(),
            now: self.now,
            next_instance: self.next_instance,
            next_planned: self.next_planned,
            next_provision: self.next_provision,
            skus: self.skus.values().cloned().collect(),
            zones: self
                .zones
                .iter()
                .map(|(id, state)| ZoneRecord {
                    id: id.clone(),
                    state: *state,
                })
                .collect(),
            apps: self.apps.values().map(|a| a.spec.clone()).collect(),
            offerings: self
                .offerings
                .iter()
                .map(|(&(s, z), o)| OfferingRecord {
                    sku: self.skus[s].id.clone(),
                    zone: self.zone_id(z).clone(),
                    stock: o.stock,
                    failures: o.failures,
                    backoff_until: o.backoff_until,
                })
                .collect(),
            hosts: self
                .hosts
                .iter()
                .map(|(id, h)| HostRecord {
                    id: *id,
                    sku: self.skus[h.sku()].id.clone(),
                    zone: self.zone_id(h.zone()).clone(),
                    state: h.state,
                    slot: h.slot,
                    provision: self.provision_of.get(id).copied(),
                })
                .collect(),
            instances: self
                .instances
                .keys()
                .filter_map(|id| self.instance(*id))
                .collect(),
            moves: self.moves_in_flight(),
            stops_at_now: self.stops_at_now(),
            cold_start: self.cold_start_record(),
            replacement_hosts: self
                .replacements
                .iter()
                .map(|(planned_as, host)| ReplacementHostRecord {
                    planned_as: *planned_as,
                    host: *host,
                })
                .collect(),
            standby: self.standby_records(),
            warm_pools: self.warm_pool_record(),
        }
    }

    /// The stop counts at `now`, by instance id.
    fn stops_at_now(&self) -> Vec<InstanceStops> {
        if self.stops_at != self.now {
            return Vec::new();
        }
        let mut out: Vec<InstanceStops> = self
            .stops
            .iter()
            .map(|(&instance, &stops)| InstanceStops { instance, stops })
            .collect();
        out.sort_unstable_by_key(|r| r.instance);
        out
    }

    /// Rebuild a scheduler from a snapshot, checking it thoroughly.
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
    /// # for (id, zone) in [(1, "a"), (2, "b")] {
    /// #     let host = HostSpec { id: HostId(id), sku: "g7.4x".parse()?, zone: zone.parse()? };
    /// #     let _ = s.add_host(host, Timestamp(0))?;
    /// # }
    /// # let web: AppId = "web".parse()?;
    /// # let mut spec = AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(1000, 2048)?);
    /// # spec.spread.max_skew = Some(1);
    /// # s.add_app(spec, Timestamp(0))?;
    /// let _ = s.scale(&web, 3, Timestamp(1))?;
    /// // Through its serialized form, as an embedder would store it.
    /// let json = serde_json::to_string(&s.snapshot())?;
    /// let restored = Scheduler::restore(serde_json::from_str(&json)?)?;
    /// assert_eq!(restored.instance_count(), 3);
    /// assert_eq!(restored.snapshot(), s.snapshot());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore(snapshot: Snapshot) -> Result<Scheduler, RestoreError> {
        let old = snapshot.format == OLDEST_FORMAT;
        if old && !snapshot.cold_start.is_empty() {
            return Err(RestoreError::Counter(
                "a format 2 snapshot has no cold-start state",
            ));
        }
        if snapshot.format < 4 && !snapshot.replacement_hosts.is_empty() {
            return Err(RestoreError::Counter(
                "a snapshot before format 4 has no replacement hosts",
            ));
        }
        if snapshot.format < 4 && !snapshot.standby.is_empty() {
            return Err(RestoreError::Counter(
                "a snapshot before format 4 has no standby instances",
            ));
        }
        if snapshot.format < 4 && !snapshot.warm_pools.is_empty() {
            return Err(RestoreError::Counter(
                "a snapshot before format 4 has no warm pools",
            ));
        }
        if !(OLDEST_FORMAT..=SNAPSHOT_FORMAT).contains(&snapshot.format) {
            return Err(RestoreError::Format {
                found: snapshot.format,
                expected: SNAPSHOT_FORMAT,
            });
        }
        let config = snapshot.config;
        if config.candidates_per_class == 0 {
            return Err(RestoreError::Config(
                "candidates_per_class must be at least 1",
            ));
        }
        if config.preemption_candidates == 0 {
            return Err(RestoreError::Config(
                "preemption_candidates must be at least 1",
            ));
        }
        if config.backoff_max_ms < config.backoff_initial_ms {
            return Err(RestoreError::Config(
                "backoff_max_ms must not be below backoff_initial_ms",
            ));
        }
        if config.max_batch > MAX_BATCH {
            return Err(RestoreError::Config(
                "max_batch is above MAX_BATCH (16,777,216)",
            ));
        }
        let mut s = Scheduler::new(config);
        // Measured before anything is rebuilt.
        for (limit, count) in [
            (Limit::Skus, snapshot.skus.len()),
            (Limit::Zones, snapshot.zones.len()),
            (Limit::Apps, snapshot.apps.len()),
            (Limit::Hosts, snapshot.hosts.len()),
        ] {
            if s.limits.fits(limit, count).is_err() {
                return Err(RestoreError::TooMany { limit, count });
            }
        }
        for sku in snapshot.skus {
            s.add_sku(sku, Timestamp::ZERO)?;
        }
        for z in snapshot.zones {
            s.add_zone(z.id, z.state, Timestamp::ZERO)?;
        }
        for app in snapshot.apps {
            s.add_app(app, Timestamp::ZERO)?;
        }
        for o in snapshot.offerings {
            let duplicate = |s: &Scheduler| {
                let sku = s.skus.get_index_of(&o.sku);
                let zone = s.zones.get_index_of(&o.zone);
                matches!((sku, zone), (Some(a), Some(b)) if s.offerings.contains_key(&(a, b)))
            };
            if duplicate(&s) {
                return Err(RestoreError::Counter("an offering is listed twice"));
            }
            let sku = s
                .skus
                .get_index_of(&o.sku)
                .ok_or_else(|| Error::UnknownSku(o.sku.clone()))?;
            let zone = s
                .zones
                .get_index_of(&o.zone)
                .ok_or_else(|| Error::UnknownZone(o.zone.clone()))?;
            let what = match (o.failures, o.backoff_until) {
                (0, Some(_)) => "backoff_until is set but failures is 0",
                (1.., None) => "failures is above 0 but backoff_until is not set",
                _ => "",
            };
            if !what.is_empty() {
                return Err(RestoreError::Offering {
                    sku: o.sku,
                    zone: o.zone,
                    what,
                });
            }
            let max_ms = s.config.backoff_max_ms;
            if let Some(until) = o.backoff_until {
                if until.0 > snapshot.now.0.saturating_add(max_ms) {
                    return Err(RestoreError::BackoffTooLong {
                        sku: o.sku,
                        zone: o.zone,
                        until,
                        max_ms,
                        now: snapshot.now,
                    });
                }
            }
            s.offerings.insert(
                (sku, zone),
                OfferingState {
                    stock: o.stock,
                    failures: o.failures,
                    backoff_until: o.backoff_until,
                    planned: 0,
                },
            );
        }
        // The offering of each provision request, by its first host.
        let mut provisions: BTreeMap<ProvisionId, (usize, usize)> = BTreeMap::new();
        for h in snapshot.hosts {
            if s.hosts.contains_key(&h.id) {
                return Err(Error::DuplicateHost(h.id).into());
            }
            let sku = s
                .skus
                .get_index_of(&h.sku)
                .ok_or(Error::UnknownSku(h.sku))?;
            let zone = s
                .zones
                .get_index_of(&h.zone)
                .ok_or(Error::UnknownZone(h.zone))?;
            let planned = h.state == HostState::Planned;
            if planned != h.id.is_planned() {
                return Err(Error::ReservedHostId(h.id).into());
            }
            if planned {
                if h.id.0 & !PLANNED_HOST_BIT >= snapshot.next_planned {
                    return Err(RestoreError::Counter(
                        "a planned host id is not below next_planned",
                    ));
                }
                let Some(o) = s.offerings.get_mut(&(sku, zone)) else {
                    return Err(Error::UnknownOffering {
                        sku: s.skus[sku].id.clone(),
                        zone: s.zone_id(zone).clone(),
                    }
                    .into());
                };
                o.planned += 1;
                match h.provision {
                    Some(p) if p.0 > 0 && p.0 < snapshot.next_provision => {
                        let (psku, pzone) = *provisions.entry(p).or_insert((sku, zone));
                        if (psku, pzone) != (sku, zone) {
                            return Err(RestoreError::ProvisionMixed {
                                host: h.id,
                                provision: p,
                                sku: s.skus[psku].id.clone(),
                                zone: s.zone_id(pzone).clone(),
                            });
                        }
                        s.provision_of.insert(h.id, p);
                    }
                    _ => {
                        return Err(RestoreError::PlannedHost {
                            host: h.id,
                            what: "its provision is missing or not below next_provision",
                        });
                    }
                }
            } else if h.provision.is_some() {
                return Err(RestoreError::PlannedHost {
                    host: h.id,
                    what: "a running host names a provision",
                });
            }
            let class = s.class_for(sku, zone, planned);
            if h.slot >= MAX_CLASS_SLOTS {
                return Err(RestoreError::SlotOutOfRange {
                    host: h.id,
                    slot: h.slot,
                });
            }
            if !s.insert_host(h.id, sku, zone, h.state, class, h.slot) {
                return Err(RestoreError::SlotTaken {
                    host: h.id,
                    slot: h.slot,
                });
            }
        }
        for (&(sku, zone), o) in &s.offerings {
            if o.planned > 0 && o.backoff_until.is_some_and(|t| t > snapshot.now) {
                return Err(RestoreError::Offering {
                    sku: s.skus[sku].id.clone(),
                    zone: s.zone_id(zone).clone(),
                    what: "it has planned hosts while it backs off",
                });
            }
        }
        s.next_instance = snapshot.next_instance;
        if snapshot.next_instance == 0
            || snapshot.next_planned == 0
            || snapshot.next_planned > !PLANNED_HOST_BIT
            || snapshot.next_provision == 0
        {
            return Err(RestoreError::Counter(
                "next_instance, next_planned and next_provision start at 1, and next_planned \
                 is at most 9,223,372,036,854,775,807 (planned host ids stay below bit 63)",
            ));
        }
        s.next_planned = snapshot.next_planned;
        s.next_provision = snapshot.next_provision;
        const TOO_MANY: &str = "more instances than a scheduler holds (4,294,967,295)";
        if snapshot.instances.len() > MAX_INSTANCES {
            return Err(RestoreError::Counter(TOO_MANY));
        }
        // The count is known: no growth slack.
        s.instances.reserve(snapshot.instances.len());
        // Each app's SKU verdicts, computed on its first placed instance.
        let mut verdicts: Vec<Option<Vec<Result<u32, Rejection>>>> = vec![None; s.apps.len()];
        for rec in snapshot.instances {
            if rec.id.0 >= snapshot.next_instance || rec.id.0 == 0 {
                return Err(RestoreError::InstanceId {
                    instance: rec.id,
                    next: snapshot.next_instance,
                });
            }
            if s.instances.contains_key(&rec.id) {
                return Err(RestoreError::DuplicateInstance(rec.id));
            }
            let app = s
                .apps
                .get_index_of(&rec.app)
                .ok_or_else(|| Error::UnknownApp(rec.app.clone()))?;
            let (priority, qos) = {
                let spec = &s.apps[app].spec;
                (spec.priority, spec.qos)
            };
            let tentative = matches!(rec.status, InstanceStatus::Tentative { .. });
            match rec.status {
                InstanceStatus::Pending { since, reason } => {
                    let added = s.add_instance(
                        rec.id,
                        app,
                        InstanceState::Pending {
                            since,
                            reason: Some(Box::new(reason)),
                        },
                    );
                    if !added {
                        return Err(RestoreError::Counter(TOO_MANY));
                    }
                    if since > snapshot.now {
                        return Err(RestoreError::PendingInFuture {
                            instance: rec.id,
                            since,
                            now: snapshot.now,
                        });
                    }
                    s.pending.insert((qos, std::cmp::Reverse(priority), rec.id));
                }
                InstanceStatus::Placed { host, parts }
                | InstanceStatus::Tentative {
                    planned_host: host,
                    parts,
                } => {
                    let parts: Parts = Parts::from_vec(parts);
                    if host.is_planned() != tentative {
                        return Err(RestoreError::BadPlacement {
                            instance: rec.id,
                            host,
                            what: "placed on a planned host, or tentative on a running one",
                        });
                    }
                    s.check_placement(rec.id, app, host, &parts)?;
                    if s.isolation_refuses(app, host) {
                        return Err(RestoreError::BadPlacement {
                            instance: rec.id,
                            host,
                            what: "a dedicated app would share the host with another tenant \
                                   or a shared app",
                        });
                    }
                    s.check_eligible(rec.id, app, host, &mut verdicts)?;
                    let added = s.add_instance(
                        rec.id,
                        app,
                        InstanceState::Pending {
                            since: snapshot.now,
                            reason: Some(Box::new(PendingReason::HostRemoved { host })),
                        },
                    );
                    if !added {
                        return Err(RestoreError::Counter(TOO_MANY));
                    }
                    s.allocate(rec.id, host, parts);
                }
            }
        }
        s.restore_warm_pools(snapshot.warm_pools)?;
        if let Some((id, _)) = s.hosts.iter().find(|(id, h)| {
            h.state == HostState::Planned && h.instances.is_empty() && !s.warm.is_pool_host(**id)
        }) {
            return Err(RestoreError::PlannedHost {
                host: *id,
                what: "no instance is placed on it",
            });
        }
        for MoveInFlight { to, from } in snapshot.moves {
            let app_of = |id: InstanceId| s.instances.get(&id).map(|i| i.app());
            let placed = matches!(
                s.instances.get(&to).map(|i| &i.state),
                Some(InstanceState::Placed { .. })
            );
            let ok = to != from
                && placed
                && app_of(to).is_some()
                && app_of(to) == app_of(from)
                && !s.moves.contains_key(&to)
                && !s.moves.contains_key(&from)
                && !s.moves.values().any(|f| *f == from || *f == to);
            if !ok {
                return Err(RestoreError::Counter(
                    "a move must pair two distinct instances of one app",
                ));
            }
            s.moves.insert(to, from);
        }
        let mut previous = InstanceId(0);
        for r in snapshot.stops_at_now {
            let what = if r.instance.0 == 0 || r.instance.0 >= snapshot.next_instance {
                "the instance id is not below next_instance"
            } else if r.instance <= previous {
                "instances must be listed once each, by id"
            } else if r.stops == 0 {
                "an instance listed has at least one stop"
            } else {
                ""
            };
            if !what.is_empty() {
                return Err(RestoreError::StopsAtNow {
                    instance: r.instance,
                    what,
                });
            }
            previous = r.instance;
            s.stops.insert(r.instance, r.stops);
        }
        s.restore_cold_start(snapshot.cold_start)?;
        for r in snapshot.replacement_hosts {
            let what = if !r.planned_as.is_planned() {
                Some("a replacement host's planned id is not a planned id")
            } else if (r.planned_as.0 & !PLANNED_HOST_BIT) >= s.next_planned {
                Some("a replacement host's planned id is not below next_planned")
            } else if !s.hosts.contains_key(&r.host) {
                Some("a replacement host is not a host")
            } else if r.host.is_planned() && r.host != r.planned_as {
                Some("a planned replacement host has another id")
            } else if s.replacements.contains_key(&r.planned_as)
                || s.replacements.values().any(|h| *h == r.host)
            {
                Some("a replacement host is listed twice")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(RestoreError::PlannedHost {
                    host: r.planned_as,
                    what,
                });
            }
            s.replacements.insert(r.planned_as, r.host);
        }
        s.restore_standby(snapshot.standby)?;
        s.stops_at = snapshot.now;
        s.now = snapshot.now;
        Ok(s)
    }

    fn check_placement(
        &self,
        id: InstanceId,
        app: usize,
        host: HostId,
        parts: &Parts,
    ) -> Result<(), RestoreError> {
        let h = self.hosts.get(&host).ok_or(Error::UnknownHost(host))?;
        match self.placement_problem(app, h.sku(), parts, Some(&h.used)) {
            Some(what) => Err(RestoreError::BadPlacement {
                instance: id,
                host,
                what,
            }),
            None => Ok(()),
        }
    }

    /// Whether the app may be on the host at all: a zone among its
    /// `spread.zones`, and a SKU that no unchanging rule rejects (as
    /// placement judges classes: the price, memory-ratio and oversize
    /// band may reject a SKU later, when a cheaper one is added, and
    /// existing hosts keep serving apps that request no SKU).
    fn check_eligible(
        &self,
        id: InstanceId,
        app: usize,
        host: HostId,
        verdicts: &mut [Option<Vec<Result<u32, Rejection>>>],
    ) -> Result<(), RestoreError> {
        let h = self.hosts.get(&host).ok_or(Error::UnknownHost(host))?;
        let a = &self.apps[app];
        if !a.zones.is_empty() && !a.zones.contains(&h.zone()) {
            return Err(RestoreError::ZoneNotAllowed {
                instance: id,
                host,
                zone: self.zone_id(h.zone()).clone(),
            });
        }
        let Some(slot) = verdicts.get_mut(app) else {
            return Ok(());
        };
        let v = slot.get_or_insert_with(|| self.verdicts(app));
        match v.get(h.sku()) {
            Some(verdict @ Err(r)) if !serves_existing(verdict, a.spec.sku.is_some()) => {
                Err(RestoreError::SkuCannotServe {
                    instance: id,
                    host,
                    sku: self.skus[h.sku()].id.clone(),
                    rejection: r.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The first thing wrong with `parts` as the placement of an instance
    /// of `app` on a host of SKU `sku`, if anything: a NUMA node out of
    /// range or listed twice, parts that do not add up to the app's
    /// request, a single-node app on several nodes. With `used` (the
    /// host's usage before the instance, as `restore` rebuilds it), also a
    /// node that the instance would take over its capacity. Shared by
    /// [`restore`](Self::restore) and
    /// [`check_invariants`](Self::check_invariants), which checks
    /// capacity on its own, from the sums of every instance.
    pub(crate) fn placement_problem(
        &self,
        app: usize,
        sku: usize,
        parts: &Parts,
        used: Option<&[NodeUse]>,
    ) -> Option<&'static str> {
        let spec = &self.apps[app].spec;
        let sku = &self.skus[sku];
        let mut sum = Resources::ZERO;
        let mut seen = 0u32;
        for (n, amount) in parts {
            let n = usize::from(*n);
            let Some(cap) = sku.numa_nodes.get(n) else {
                return Some("NUMA node out of range");
            };
            if seen & (1 << n) != 0 {
                return Some("NUMA node listed twice");
            }
            seen |= 1 << n;
            if let Some(used) = used {
                let u = used.get(n).copied().unwrap_or_default();
                let held = u
                    .rigid
                    .checked_add(&u.best_effort)
                    .and_then(|x| x.checked_add(amount));
                if !held.is_some_and(|x| x.fits_in(cap)) {
                    return Some("over the NUMA node's capacity");
                }
            }
            let Some(next) = sum.checked_add(amount) else {
                return Some("parts overflow");
            };
            sum = next;
        }
        if sum != spec.resources {
            return Some("parts do not add up to the app's resources");
        }
        if spec.numa == crate::app::NumaPolicy::SingleNode && parts.len() != 1 {
            return Some("single-node app spread over several nodes");
        }
        None
    }
}
