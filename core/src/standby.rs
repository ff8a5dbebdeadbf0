//! Standby instances: pre-created, stopped instances that start first on a
//! scale-out.
//!
//! An app may keep a number of standby instances
//! ([`Scheduler::set_standby`]). A standby is an instance of the app that
//! the embedder has created but not started. It is placed like any other
//! instance and holds its capacity on its host: it counts in the host's
//! allocation exactly as a running instance does (rigid stays rigid), and
//! it keeps every placement rule (capacity on every dimension, NUMA,
//! spread and skew, SKU tiers, isolation).
//!
//! * **Scale-out.** When [`scale`](Scheduler::scale) raises an app's
//!   instance count, its standbys placed on running hosts start first,
//!   oldest first: each becomes a running instance where it is, reported
//!   as a [`Placement`] marked [`StandbyMark::Started`] with
//!   [`pull_bytes`](Placement::pull_bytes) 0 (the embedder starts the
//!   stopped instance; nothing is created or pulled). The rest of the
//!   scale-out is placed as usual. Then the scheduler refills the standby
//!   target: new standbys are placed (or new hosts provisioned for them),
//!   in the same [`Decisions`], marked [`StandbyMark::Stopped`] (the
//!   embedder creates them and leaves them stopped). A standby that does
//!   not fit waits, pending, like any instance.
//! * **Counting.** Standbys are not part of an app's instance count: the
//!   target of [`scale`](Scheduler::scale) counts the running and pending
//!   instances only, and scaling in (even to zero) never removes a
//!   standby (a scale-in weighs the standbys in each zone when it chooses
//!   its victims, but cannot move them: the standbys it keeps may leave
//!   the app's zones uneven until a rebalance moves them). They count as instances everywhere else: in the zone counts
//!   that spread and skew judge, in the host's allocation, and in the
//!   instances a rebalance or repack may move, within the app's disruption
//!   budget like any other instance (a moved standby's replacement is
//!   marked [`StandbyMark::Stopped`], and stays a standby once the move
//!   completes).
//! * **Removal.** Only lowering the target removes standbys (pending ones
//!   first, then the newest). Removing a standby by id
//!   ([`remove_instance`](Scheduler::remove_instance)) removes it and
//!   refills the target in the same decisions. An app with standbys cannot
//!   be removed: set its target to 0 first.
//! * **Cold start.** In the [`cold_start_mix`](Scheduler::cold_start_mix)
//!   started standbys are the `standby` bucket: nothing to pull, no
//!   provisioning, ready as soon as they start. New standbys do not start
//!   and are not counted.
//!
//! Standbys are in snapshots ([`Snapshot::standby`](crate::Snapshot::standby)).
//! Without any standby target, the only cost to other calls is one check
//! of an empty map per call.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decision::{Decisions, Placement};
use crate::error::{Error, RestoreError};
use crate::ids::{AppId, InstanceId};
use crate::query::InvariantViolation;
use crate::scheduler::{HostState, InstanceState, Scheduler};
use crate::time::Timestamp;

/// How a [`Placement`] concerns a standby instance.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StandbyMark {
    /// A standby instance starts where it is: start the stopped instance;
    /// nothing is created or pulled.
    Started,
    /// A standby instance: create it and leave it stopped. It holds its
    /// capacity on the host.
    Stopped,
}

/// One app's standby instances in a [`Snapshot`](crate::Snapshot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StandbyRecord {
    /// The app.
    pub app: AppId,
    /// How many standbys it keeps.
    pub target: u32,
    /// Its standby instances (placed or pending), by id; at most `target`.
    pub instances: Vec<InstanceId>,
}

/// One app's standby state.
#[derive(Clone, Debug, Default)]
struct AppStandby {
    /// How many standbys to keep.
    target: u32,
    /// The standby instances, by id.
    held: BTreeSet<InstanceId>,
}

/// The scheduler's standby state, by app id (apps with neither a target
/// nor standbys are absent).
#[derive(Clone, Debug, Default)]
pub(crate) struct Standby {
    apps: BTreeMap<AppId, AppStandby>,
}

impl Standby {
    /// Whether no app keeps standbys: every standby hook is then skipped.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    /// Whether `id` is a standby of `app`.
    pub(crate) fn holds(&self, app: &AppId, id: InstanceId) -> bool {
        self.apps.get(app).is_some_and(|a| a.held.contains(&id))
    }

    /// The standbys of `app`.
    pub(crate) fn held(&self, app: &AppId) -> Option<&BTreeSet<InstanceId>> {
        self.apps.get(app).map(|a| &a.held)
    }

    /// `id` of `app` is no standby any more (deleted or started).
    pub(crate) fn forget(&mut self, app: &AppId, id: InstanceId) {
        if let Some(a) = self.apps.get_mut(app) {
            a.held.remove(&id);
        }
    }

    /// Drop an app's entry (the app is removed).
    pub(crate) fn forget_app(&mut self, app: &AppId) {
        self.apps.remove(app);
    }

    /// A move of standby `from` completed: `to` is the standby now.
    pub(crate) fn moved(&mut self, app: &AppId, from: InstanceId, to: InstanceId) {
        if let Some(a) = self.apps.get_mut(app) {
            if a.held.remove(&from) {
                a.held.insert(to);
            }
        }
    }
}

impl Scheduler {
    /// Keep `count` standby instances of `app` (see
    /// [`standby`](crate::standby)): pre-created, stopped instances that
    /// hold their capacity and start first on a scale-out. Raising the
    /// target places the new standbys (marked
    /// [`StandbyMark::Stopped`]), provisioning hosts if needed; lowering it
    /// removes standbys, pending ones first, then the newest. Fails,
    /// changing nothing, on an unknown app or a `count` above the
    /// configuration's `max_batch`.
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
    /// # let _ = s.add_host(HostSpec { id: HostId(1), sku: "g7".parse()?, zone: "a".parse()? }, Timestamp(0))?;
    /// let web: AppId = "web".parse()?;
    /// s.add_app(AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(4_000, 8_192)?), Timestamp(0))?;
    /// // Two standbys: created stopped, holding their capacity.
    /// let d = s.set_standby(&web, 2, Timestamp(1))?;
    /// assert!(d.placements.iter().all(|p| p.standby == Some(StandbyMark::Stopped)));
    /// // A scale-out to one starts a standby in place, then refills.
    /// let d = s.scale(&web, 1, Timestamp(2))?;
    /// assert_eq!(d.placements[0].standby, Some(StandbyMark::Started));
    /// assert_eq!(d.placements[1].standby, Some(StandbyMark::Stopped));
    /// assert_eq!(s.standby_instances(&web).len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_standby(
        &mut self,
        app: &AppId,
        count: u32,
        now: Timestamp,
    ) -> Result<Decisions, Error> {
        self.check_time(now)?;
        let ix = self.app_index(app)?;
        let max = self.config.max_batch;
        if count > max {
            return Err(Error::BatchTooLarge {
                app: app.clone(),
                requested: u64::from(count),
                max,
            });
        }
        let held = self.standby.held(app).map_or(0, BTreeSet::len);
        let count_us = count as usize;
        if count_us > held {
            self.check_batch(ix, (count_us - held) as u64)?;
        }
        self.now = now;
        self.standby.apps.entry(app.clone()).or_default().target = count;
        let mut out = Decisions::default();
        if count_us < held {
            for id in self.standby_surplus(ix, held - count_us) {
                self.delete_instance(id, &mut out);
            }
        } else {
            self.refill_standby(ix, now, &mut out);
        }
        if count == 0 {
            self.standby.forget_app(app);
        }
        self.settle_planned(&mut out);
        Ok(out)
    }

    /// How many standbys `app` keeps (0 for an unknown app).
    pub fn standby_target(&self, app: &AppId) -> u32 {
        self.standby.apps.get(app).map_or(0, |a| a.target)
    }

    /// The standby instances of `app`, by id (placed or pending; empty for
    /// an unknown app).
    pub fn standby_instances(&self, app: &AppId) -> Vec<InstanceId> {
        self.standby
            .held(app)
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The app index of `id` when it is a standby.
    pub(crate) fn instance_standby(&self, id: InstanceId) -> Option<usize> {
        if self.standby.is_empty() {
            return None;
        }
        let app = self.instances.get(&id)?.app();
        self.standby
            .holds(&self.apps[app].spec.id, id)
            .then_some(app)
    }

    /// The zone index of a placed instance's host.
    pub(crate) fn instance_zone(&self, id: InstanceId) -> Option<usize> {
        match &self.instances.get(&id)?.state {
            InstanceState::Placed { host, .. } => self.hosts.get(host).map(|h| h.zone()),
            InstanceState::Pending { .. } => None,
        }
    }

    /// Number of standbys of the app at index `app`.
    pub(crate) fn standby_count(&self, app: usize) -> usize {
        if self.standby.is_empty() {
            return 0;
        }
        self.standby
            .held(&self.apps[app].spec.id)
            .map_or(0, BTreeSet::len)
    }

    /// The standbys a scale-out of `add` instances of `app` starts, and
    /// how many it then creates to refill the target.
    pub(crate) fn standby_plan(&self, app: usize, add: u32) -> (u32, u32) {
        if self.standby.is_empty() {
            return (0, 0);
        }
        let Some(a) = self.standby.apps.get(&self.apps[app].spec.id) else {
            return (0, 0);
        };
        let ready = a.held.iter().filter(|id| self.startable(**id)).count();
        // Both at most `add` or the target, u32s.
        let start = (ready as u32).min(add);
        let left = (a.held.len() as u32).saturating_sub(start);
        (start, a.target.saturating_sub(left))
    }

    /// Whether a standby is placed on a running host (it can start).
    fn startable(&self, id: InstanceId) -> bool {
        matches!(
            self.instances.get(&id).map(|i| &i.state),
            Some(InstanceState::Placed { host, .. })
                if self.hosts.get(host).is_some_and(|h| h.state != HostState::Planned)
        )
    }

    /// Start up to `count` standbys of `app`, oldest first: each becomes a
    /// running instance where it is. Returns how many started.
    pub(crate) fn start_standbys(&mut self, app: usize, count: u32, out: &mut Decisions) -> u32 {
        let app_id = self.apps[app].spec.id.clone();
        let Some(held) = self.standby.held(&app_id) else {
            return 0;
        };
        let ids: Vec<InstanceId> = held
            .iter()
            .copied()
            .filter(|id| self.startable(*id))
            .take(count as usize)
            .collect();
        for &id in &ids {
            self.standby.forget(&app_id, id);
            let Some(InstanceState::Placed { host, parts }) =
                self.instances.get(&id).map(|i| &i.state)
            else {
                continue;
            };
            let Some(h) = self.hosts.get(host) else {
                continue;
            };
            out.placements.push(Placement {
                instance: id,
                app: app_id.clone(),
                host: *host,
                zone: self.zone_id(h.zone()).clone(),
                sku: self.skus[h.sku()].id.clone(),
                numa_nodes: parts.iter().map(|(n, _)| *n).collect(),
                substitution: None,
                pull_bytes: 0,
                standby: Some(StandbyMark::Started),
            });
        }
        // At most `count`, a u32.
        ids.len() as u32
    }

    /// Create and place the standbys `app` lacks to reach its target.
    /// The caller checked the room for them (see
    /// [`standby_plan`](Self::standby_plan)).
    pub(crate) fn refill_standby(&mut self, app: usize, now: Timestamp, out: &mut Decisions) {
        if self.standby.is_empty() {
            return;
        }
        let app_id = self.apps[app].spec.id.clone();
        let Some(a) = self.standby.apps.get(&app_id) else {
            return;
        };
        // Held is at most the target, itself a u32.
        let lack = a.target.saturating_sub(a.held.len() as u32);
        if lack == 0 {
            return;
        }
        let first = self.next_instance;
        self.create_and_place(app, lack, now, out);
        let last = self.next_instance;
        if let Some(a) = self.standby.apps.get_mut(&app_id) {
            a.held.extend((first..last).map(InstanceId));
        }
    }

    /// The standbys of `app` to remove when its target drops by `count`:
    /// pending ones first, then tentative ones, then the newest.
    fn standby_surplus(&self, app: usize, count: usize) -> Vec<InstanceId> {
        let Some(held) = self.standby.held(&self.apps[app].spec.id) else {
            return Vec::new();
        };
        let mut ids: Vec<(u8, InstanceId)> = held
            .iter()
            .map(|&id| {
                let rank = match self.instances.get(&id).map(|i| &i.state) {
                    Some(InstanceState::Pending { .. }) | None => 0,
                    Some(InstanceState::Placed { host, .. }) if host.is_planned() => 1,
                    Some(InstanceState::Placed { .. }) => 2,
                };
                (rank, id)
            })
            .collect();
        // Pending first, then tentative, then placed; newest first in each.
        ids.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        ids.into_iter().take(count).map(|(_, id)| id).collect()
    }

    /// Mark the placements of standby instances in `out` (every call that
    /// returns decisions ends here). Nothing to do without standbys.
    #[inline]
    pub(crate) fn mark_standby(&self, out: &mut Decisions) {
        if self.standby.is_empty() {
            return;
        }
        self.mark_standby_lists(out);
    }

    #[cold]
    fn mark_standby_lists(&self, out: &mut Decisions) {
        for p in out.placements.iter_mut().chain(out.tentative.iter_mut()) {
            if p.standby.is_some() {
                continue;
            }
            // A move's replacement of a standby is a standby too.
            let of = self.moves.get(&p.instance).copied().unwrap_or(p.instance);
            if self.standby.holds(&p.app, of) || self.standby.holds(&p.app, p.instance) {
                p.standby = Some(StandbyMark::Stopped);
            }
        }
    }

    /// The standby part of a snapshot, by app id.
    pub(crate) fn standby_records(&self) -> Vec<StandbyRecord> {
        self.standby
            .apps
            .iter()
            .map(|(app, a)| StandbyRecord {
                app: app.clone(),
                target: a.target,
                instances: a.held.iter().copied().collect(),
            })
            .collect()
    }

    /// Restore the standby part of a snapshot, once apps and instances are
    /// in place.
    pub(crate) fn restore_standby(
        &mut self,
        records: Vec<StandbyRecord>,
    ) -> Result<(), RestoreError> {
        let mut previous: Option<AppId> = None;
        for r in records {
            let Some(ix) = self.apps.get_index_of(&r.app) else {
                return Err(Error::UnknownApp(r.app).into());
            };
            if previous.as_ref().is_some_and(|p| *p >= r.app) {
                return Err(RestoreError::Counter(
                    "standby records must be listed once per app, by app id",
                ));
            }
            if r.target == 0 || r.target > self.config.max_batch {
                return Err(RestoreError::Counter(
                    "a standby target must be between 1 and max_batch",
                ));
            }
            if r.instances.len() > r.target as usize {
                return Err(RestoreError::Counter(
                    "an app holds more standby instances than its target",
                ));
            }
            let mut held = BTreeSet::new();
            for id in r.instances {
                if held.last().is_some_and(|last| *last >= id) {
                    return Err(RestoreError::Counter(
                        "standby instances must be listed once, by id",
                    ));
                }
                match self.instances.get(&id) {
                    Some(i) if i.app() == ix && !self.moves.contains_key(&id) => {}
                    _ => {
                        return Err(RestoreError::Counter(
                            "a standby instance is missing, of another app, or a move's replacement",
                        ));
                    }
                }
                held.insert(id);
            }
            previous = Some(r.app.clone());
            self.standby.apps.insert(
                r.app,
                AppStandby {
                    target: r.target,
                    held,
                },
            );
        }
        Ok(())
    }

    /// Check the standby state against the instances.
    pub(crate) fn check_standby(&self) -> Result<(), InvariantViolation> {
        for (app, a) in &self.standby.apps {
            let Some(ix) = self.apps.get_index_of(app) else {
                return Err(InvariantViolation::Standby(app.clone()));
            };
            let wrong = |id: &InstanceId| {
                self.instances.get(id).is_none_or(|i| i.app() != ix) || self.moves.contains_key(id)
            };
            if a.held.len() > a.target as usize || a.held.iter().any(wrong) {
                return Err(InvariantViolation::Standby(app.clone()));
            }
        }
        Ok(())
    }
}
