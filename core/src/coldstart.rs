//! Cold start: image locality and the expected time to ready.
//!
//! The first start of an instance on a host pulls its image, and a host that
//! is not running yet has to be provisioned first. trimline plans for both:
//!
//! * **Images.** An app names its image per architecture
//!   ([`AppSpec::images`](crate::AppSpec::images): digest and size), and the
//!   embedder reports which images each host holds
//!   ([`Scheduler::set_host_images`]). The scheduler keeps that as state (in
//!   snapshots) and, among the hosts an instance fits on, prefers one that
//!   holds the image. This is a tie-break inside the packing score, never a
//!   constraint: the candidates compared are the ones the search already
//!   found under every rule (capacity, spread, tier order, isolation), so a
//!   held image can only choose among them. See
//!   [`Config::image_locality_weight`](crate::Config::image_locality_weight).
//! * **Pull bytes.** Every [`Placement`](crate::Placement) reports the bytes
//!   it expects the host to pull
//!   ([`pull_bytes`](crate::Placement::pull_bytes)): 0 on a host that holds
//!   the image (or for an app that names none), the image's size otherwise.
//!   A placement that pulls records the image as held by the host, so a
//!   second instance on the same host expects no pull.
//! * **Cold-start mix.** [`Scheduler::cold_start_mix`] sorts the instances
//!   a call placed (run it on a [`dry_run`](crate::Scheduler::dry_run)'s
//!   decisions to plan a scale-out) into warm hosts holding the image, warm
//!   hosts without it and new hosts, with the expected time to ready from
//!   the embedder's figures per offering
//!   ([`Scheduler::set_offering_figures`]).
//!
//! ```text
//! time to ready (ms) = provisioning (new hosts only) + pull_bytes / pull rate
//! ```

use std::collections::BTreeSet;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decision::Decisions;
use crate::error::{Error, RestoreError};
use crate::hash::Map;
use crate::ids::{HostId, ImageDigest, SkuId, ZoneId};
use crate::scheduler::{HostState, Scheduler};
use crate::standby::StandbyMark;
use crate::time::Timestamp;

/// Most images one host may be reported to hold.
pub const MAX_HOST_IMAGES: usize = 4_096;

/// An app's image for one architecture.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageRef {
    /// Content digest, e.g. `sha256:4f1c...`.
    pub digest: ImageDigest,
    /// Bytes a host pulls when it does not hold the image.
    pub size_bytes: u64,
}

/// The embedder's figures for one offering (SKU, zone): how long a new host
/// takes and how fast its hosts pull images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferingFigures {
    /// SKU.
    pub sku: SkuId,
    /// Zone.
    pub zone: ZoneId,
    /// Seconds from a provisioning request to a ready host.
    pub provision_seconds: u32,
    /// Image pull rate of its hosts, in MB (10^6 bytes) per second (at
    /// least 1).
    pub pull_mb_per_second: u32,
}

/// The images one host holds, in a [`Snapshot`](crate::Snapshot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostImages {
    /// The host.
    pub host: HostId,
    /// Its images, sorted.
    pub images: Vec<ImageDigest>,
}

/// Cold-start state in a [`Snapshot`](crate::Snapshot).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColdStartRecord {
    /// Images held, per host, by host id.
    #[serde(default)]
    pub host_images: Vec<HostImages>,
    /// Figures per offering, in declaration order.
    #[serde(default)]
    pub figures: Vec<OfferingFigures>,
}

impl ColdStartRecord {
    /// Whether it holds nothing (it is then left out of snapshots).
    pub fn is_empty(&self) -> bool {
        self.host_images.is_empty() && self.figures.is_empty()
    }
}

/// What is wrong with cold-start input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ColdStartError {
    /// More images than [`MAX_HOST_IMAGES`] for one host.
    #[error("host {host} is reported to hold {count} images; the maximum is {MAX_HOST_IMAGES}")]
    TooManyImages {
        /// The host.
        host: HostId,
        /// Distinct images given.
        count: usize,
    },
    /// A pull rate of 0 MB/s: nothing would ever be ready.
    #[error("offering {sku} in zone {zone}: pull_mb_per_second must be at least 1")]
    ZeroPullRate {
        /// The SKU.
        sku: SkuId,
        /// The zone.
        zone: ZoneId,
    },
}

/// Instances of one kind of start, in a [`ColdStartMix`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StartBucket {
    /// Instances.
    pub instances: u32,
    /// Bytes they expect to pull, summed.
    pub pull_bytes: u64,
    /// The longest expected time to ready among those whose offering has
    /// figures, in milliseconds (0 when none has).
    pub ready_ms: u64,
    /// Instances whose offering has no figures: their time is not known.
    pub without_figures: u32,
}

impl StartBucket {
    /// Whether it counts no instance.
    pub fn is_empty(&self) -> bool {
        self.instances == 0
    }

    fn add(&mut self, pull_bytes: u64, ready_ms: Option<u64>) {
        self.instances = self.instances.saturating_add(1);
        self.pull_bytes = self.pull_bytes.saturating_add(pull_bytes);
        match ready_ms {
            Some(ms) => self.ready_ms = self.ready_ms.max(ms),
            None => self.without_figures = self.without_figures.saturating_add(1),
        }
    }
}

/// How the instances a call placed start: see [`Scheduler::cold_start_mix`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ColdStartMix {
    /// Standby instances started in place (see
    /// [`standby`](crate::standby)): nothing to pull, no provisioning,
    /// ready once started (`ready_ms` 0). Absent when none.
    #[serde(default, skip_serializing_if = "StartBucket::is_empty")]
    pub standby: StartBucket,
    /// On running hosts with nothing to pull (the host holds the image, or
    /// the app names none): ready at once.
    pub warm_with_image: StartBucket,
    /// On running hosts that pull the image first.
    pub warm_without_image: StartBucket,
    /// On planned hosts: provisioning, then the pull.
    pub new_hosts: StartBucket,
}

impl ColdStartMix {
    /// Instances counted.
    pub fn instances(&self) -> u32 {
        self.warm_with_image
            .instances
            .saturating_add(self.standby.instances)
            .saturating_add(self.warm_without_image.instances)
            .saturating_add(self.new_hosts.instances)
    }

    /// The longest expected time to ready, in milliseconds, over every
    /// instance whose offering has figures.
    pub fn ready_ms(&self) -> u64 {
        self.warm_with_image
            .ready_ms
            .max(self.warm_without_image.ready_ms)
            .max(self.new_hosts.ready_ms)
    }
}

impl fmt::Display for ColdStartMix {
    /// `3 warm with image, 1 warm without (pull 0.5 GB), 2 on new hosts;
    /// ready within 95.0 s` (the time left out when nothing has figures).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pull = self
            .warm_without_image
            .pull_bytes
            .saturating_add(self.new_hosts.pull_bytes);
        write!(
            f,
            "{} warm with image, {} warm without, {} on new hosts; pull {}.{} GB",
            self.warm_with_image.instances,
            self.warm_without_image.instances,
            self.new_hosts.instances,
            pull / 1_000_000_000,
            pull % 1_000_000_000 / 100_000_000
        )?;
        if self.standby.instances > 0 {
            write!(f, "; {} from standby", self.standby.instances)?;
        }
        let ms = self.ready_ms();
        if ms > 0 {
            write!(f, "; ready within {}.{} s", ms / 1_000, ms % 1_000 / 100)?;
        }
        let unknown = self
            .warm_with_image
            .without_figures
            .saturating_add(self.warm_without_image.without_figures)
            .saturating_add(self.new_hosts.without_figures);
        if unknown > 0 {
            write!(f, " ({unknown} without figures)")?;
        }
        Ok(())
    }
}

/// Milliseconds to pull `bytes` at `mb_per_second` (rounded up).
fn pull_ms(bytes: u64, mb_per_second: u32) -> u64 {
    let rate = u128::from(mb_per_second.max(1)) * 1_000; // bytes per ms
    let ms = u128::from(bytes).div_ceil(rate);
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// The scheduler's cold-start state.
#[derive(Clone, Debug, Default)]
pub(crate) struct ColdStart {
    /// Images held, per host (hosts holding none are absent).
    images: Map<HostId, BTreeSet<ImageDigest>>,
    /// Figures per offering (SKU index, zone index).
    figures: Map<(usize, usize), OfferingFigures>,
}

impl ColdStart {
    /// Whether any host holds any image: without, placement skips the
    /// image tie-break.
    #[inline]
    pub(crate) fn any_images(&self) -> bool {
        !self.images.is_empty()
    }

    /// Whether `host` holds `image`.
    #[inline]
    pub(crate) fn holds(&self, host: HostId, image: &ImageDigest) -> bool {
        self.images.get(&host).is_some_and(|s| s.contains(image))
    }

    /// The packing score of a candidate, adjusted for the image: doubled,
    /// lowered by `weight` (before doubling) on a host holding `image`,
    /// and 1 added on one that does not, so ties go to the holder.
    #[inline]
    pub(crate) fn image_key(
        &self,
        score: u64,
        host: HostId,
        image: &ImageDigest,
        weight: u32,
    ) -> u64 {
        if self.holds(host, image) {
            score.saturating_sub(u64::from(weight)) << 1
        } else {
            (score << 1) | 1
        }
    }

    /// Record that `host` will hold `image` (a placement pulls it);
    /// returns whether it had to be pulled. A host at
    /// [`MAX_HOST_IMAGES`] records nothing more.
    pub(crate) fn pull(&mut self, host: HostId, image: &ImageDigest) -> bool {
        let set = self.images.entry(host).or_default();
        if set.contains(image) {
            return false;
        }
        if set.len() < MAX_HOST_IMAGES {
            set.insert(image.clone());
        }
        true
    }

    /// A host left the scheduler.
    pub(crate) fn forget_host(&mut self, host: HostId) {
        self.images.swap_remove(&host);
    }

    /// A planned host became ready under the embedder's id.
    pub(crate) fn rename_host(&mut self, planned: HostId, host: HostId) {
        if let Some(set) = self.images.swap_remove(&planned) {
            self.images.insert(host, set);
        }
    }
}

impl Scheduler {
    /// Declare the images `host` holds, replacing what it held before (an
    /// empty list: none). Placement then prefers it for apps whose image
    /// it holds (see [`coldstart`](crate::coldstart)). Changes no
    /// placement, so it returns nothing to carry out.
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
    /// for id in 1..=2 {
    ///     let host = HostSpec { id: HostId(id), sku: "g7".parse()?, zone: "a".parse()? };
    ///     let _ = s.add_host(host, Timestamp(0))?;
    /// }
    /// let web: AppId = "web".parse()?;
    /// let mut spec = AppSpec::new(web.clone(), "acme".parse()?, Resources::cpu_mem(4_000, 8_192)?);
    /// let image = ImageRef { digest: "sha256:web1".parse()?, size_bytes: 500_000_000 };
    /// spec.images.insert(Arch::X86_64, image.clone());
    /// s.add_app(spec, Timestamp(0))?;
    /// // Host 2 holds the image: of two equal hosts, it is chosen.
    /// s.set_host_images(HostId(2), vec![image.digest.clone()], Timestamp(1))?;
    /// let d = s.scale(&web, 1, Timestamp(2))?;
    /// assert_eq!((d.placements[0].host, d.placements[0].pull_bytes), (HostId(2), 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_host_images(
        &mut self,
        host: HostId,
        images: Vec<ImageDigest>,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.check_time(now)?;
        let Some(h) = self.hosts.get(&host) else {
            return Err(Error::UnknownHost(host));
        };
        if h.state == HostState::Planned {
            return Err(Error::PlannedHost(host));
        }
        let set: BTreeSet<ImageDigest> = images.into_iter().collect();
        if set.len() > MAX_HOST_IMAGES {
            return Err(Error::ColdStart(ColdStartError::TooManyImages {
                host,
                count: set.len(),
            }));
        }
        self.now = now;
        if set.is_empty() {
            self.cold.images.swap_remove(&host);
        } else {
            self.cold.images.insert(host, set);
        }
        Ok(())
    }

    /// The images `host` holds, sorted (empty for an unknown host).
    pub fn host_images(&self, host: HostId) -> Vec<ImageDigest> {
        self.cold
            .images
            .get(&host)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Declare (or replace) the figures of an offering used for the
    /// expected time to ready (see [`cold_start_mix`](Self::cold_start_mix)).
    pub fn set_offering_figures(
        &mut self,
        figures: OfferingFigures,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.check_time(now)?;
        let s = self
            .skus
            .get_index_of(&figures.sku)
            .ok_or_else(|| Error::UnknownSku(figures.sku.clone()))?;
        let z = self
            .zones
            .get_index_of(&figures.zone)
            .ok_or_else(|| Error::UnknownZone(figures.zone.clone()))?;
        if figures.pull_mb_per_second == 0 {
            return Err(Error::ColdStart(ColdStartError::ZeroPullRate {
                sku: figures.sku,
                zone: figures.zone,
            }));
        }
        self.now = now;
        self.cold.figures.insert((s, z), figures);
        Ok(())
    }

    /// The figures declared per offering, in declaration order.
    pub fn offering_figures(&self) -> Vec<OfferingFigures> {
        self.cold.figures.values().cloned().collect()
    }

    /// How the instances `decisions` placed would start: on warm hosts
    /// holding their image, warm hosts pulling it, or new (planned) hosts
    /// (a warm pool's planned host counts as warm: see
    /// [`warmpool`](crate::warmpool)),
    /// with the bytes pulled and the expected time to ready per kind. Run
    /// it on the decisions of a [`dry_run`](Self::dry_run) to plan a
    /// scale-out: the real call decides the same, so its mix is the same.
    ///
    /// ```text
    /// time to ready = provision_seconds (planned hosts only)
    ///               + pull_bytes / pull_mb_per_second
    /// ```
    pub fn cold_start_mix(&self, decisions: &Decisions) -> ColdStartMix {
        let mut mix = ColdStartMix::default();
        for (list, planned) in [(&decisions.placements, false), (&decisions.tentative, true)] {
            for p in list {
                match p.standby {
                    // Started in place: ready once started.
                    Some(StandbyMark::Started) => {
                        mix.standby.add(0, Some(0));
                        continue;
                    }
                    // Created stopped: it does not start.
                    Some(StandbyMark::Stopped) => continue,
                    None => {}
                }
                // A warm pool's planned host was ordered before the call.
                let new = planned && !self.warm.is_pool_host(p.host);
                let figures = match (
                    self.skus.get_index_of(&p.sku),
                    self.zones.get_index_of(&p.zone),
                ) {
                    (Some(s), Some(z)) => self.cold.figures.get(&(s, z)),
                    _ => None,
                };
                let ready = figures.map(|f| {
                    let provision = if new {
                        u64::from(f.provision_seconds) * 1_000
                    } else {
                        0
                    };
                    provision.saturating_add(pull_ms(p.pull_bytes, f.pull_mb_per_second))
                });
                let bucket = if new {
                    &mut mix.new_hosts
                } else if p.pull_bytes == 0 {
                    &mut mix.warm_with_image
                } else {
                    &mut mix.warm_without_image
                };
                bucket.add(p.pull_bytes, ready);
            }
        }
        mix
    }

    /// The bytes placing an instance of `app` on `host` (a host of SKU
    /// index `sku`) pulls, recording the image as held there. 0 for an app
    /// that names no image for the SKU's architecture.
    #[inline]
    pub(crate) fn expected_pull(&mut self, app: usize, host: HostId, sku: usize) -> u64 {
        let images = &self.apps[app].spec.images;
        if images.is_empty() {
            return 0;
        }
        let Some(image) = images.get(&self.skus[sku].arch) else {
            return 0;
        };
        if self.cold.pull(host, &image.digest) {
            image.size_bytes
        } else {
            0
        }
    }

    /// The cold-start part of a snapshot.
    pub(crate) fn cold_start_record(&self) -> ColdStartRecord {
        let mut host_images: Vec<HostImages> = self
            .cold
            .images
            .iter()
            .filter(|(id, set)| !set.is_empty() && self.hosts.contains_key(*id))
            .map(|(&host, set)| HostImages {
                host,
                images: set.iter().cloned().collect(),
            })
            .collect();
        host_images.sort_unstable_by_key(|h| h.host);
        ColdStartRecord {
            host_images,
            figures: self.offering_figures(),
        }
    }

    /// Restore the cold-start part of a snapshot, once hosts, SKUs and
    /// zones are in place.
    pub(crate) fn restore_cold_start(
        &mut self,
        record: ColdStartRecord,
    ) -> Result<(), RestoreError> {
        let mut previous = None;
        for entry in record.host_images {
            if !self.hosts.contains_key(&entry.host) {
                return Err(Error::UnknownHost(entry.host).into());
            }
            if previous.is_some_and(|p| p >= entry.host) {
                return Err(RestoreError::Counter(
                    "host images must be listed once per host, by host id",
                ));
            }
            previous = Some(entry.host);
            let set: BTreeSet<ImageDigest> = entry.images.into_iter().collect();
            if set.len() > MAX_HOST_IMAGES {
                return Err(Error::ColdStart(ColdStartError::TooManyImages {
                    host: entry.host,
                    count: set.len(),
                })
                .into());
            }
            if !set.is_empty() {
                self.cold.images.insert(entry.host, set);
            }
        }
        for f in record.figures {
            let (s, z) = (
                self.skus.get_index_of(&f.sku),
                self.zones.get_index_of(&f.zone),
            );
            if let (Some(s), Some(z)) = (s, z) {
                if self.cold.figures.contains_key(&(s, z)) {
                    return Err(RestoreError::Counter(
                        "an offering's figures are listed twice",
                    ));
                }
            }
            self.set_offering_figures(f, Timestamp::ZERO)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_time_rounds_up() {
        assert_eq!(pull_ms(0, 100), 0);
        assert_eq!(pull_ms(1, 100), 1);
        // 500 MB at 100 MB/s: 5 s.
        assert_eq!(pull_ms(500_000_000, 100), 5_000);
        assert_eq!(pull_ms(u64::MAX, 1), u64::MAX / 1_000 + 1);
    }
}
