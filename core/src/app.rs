//! Applications: what each of their instances needs and where it may run.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalog::Arch;
use crate::coldstart::ImageRef;
use crate::ids::{AppId, Label, SkuId, TenantId, ZoneId};
use crate::resources::{ResourceError, Resources};
use crate::substitution::SubstitutionPolicy;

/// Quality of service.
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum QosTier {
    /// Allocated == guaranteed, never preempted. The default.
    #[default]
    Rigid,
    /// Uses capacity that no rigid instance holds; evicted (back to
    /// pending) when a rigid instance needs the room.
    BestEffort,
}

/// How an instance may use a host's NUMA nodes.
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NumaPolicy {
    /// One node when it fits there, otherwise spread over the host's nodes.
    #[default]
    Any,
    /// The whole instance on one NUMA node, or not on that host at all.
    SingleNode,
}

/// Whether an app's instances may share hosts with other tenants'
/// instances (see [`isolation`](crate::isolation)).
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Isolation {
    /// Any host the app's other constraints allow. The default.
    #[default]
    SharedHosts,
    /// Only hosts that hold no instance of another tenant, best-effort
    /// instances included, and that no other tenant's instance joins
    /// while one of the app's instances is there.
    DedicatedHosts,
}

/// What to do with an instance when no zone can take it within the
/// spread policy.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhenUnsatisfiable {
    /// Leave it pending, with the reason
    /// [`Constraint::ZoneSpread`](crate::Constraint::ZoneSpread). The default.
    #[default]
    DoNotSchedule,
    /// Place it anyway and report the violation in
    /// [`Decisions::skew_violations`](crate::Decisions::skew_violations), so
    /// that [`Scheduler::rebalance`](crate::Scheduler::rebalance) can fix it
    /// later.
    ScheduleAnyway,
}

/// Where an app's instances may go among the zones.
///
/// The policy lists the allowed zones (empty: every declared zone) and
/// placement prefers, for each new instance, the allowed zone that holds the
/// fewest instances of the app, falling back to the others when it has no
/// room. With `max_skew` or `min_zones` set the spread is kept as an
/// invariant: see [`zones`](crate::zones) for the skew arithmetic,
/// evacuation and rebalance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpreadPolicy {
    /// Allowed zones; empty allows every declared zone.
    #[serde(default)]
    pub zones: Vec<ZoneId>,
    /// Relative weights of zones (each at least 1; a zone not listed weighs
    /// 1): the app's instances are spread in proportion, and the skew is
    /// measured against the proportional targets (see
    /// [`zones`](crate::zones#weights)).
    #[serde(default)]
    pub weights: BTreeMap<ZoneId, u32>,
    /// Largest allowed difference between the instance counts of the app's
    /// zones (at least 1); `None`: no limit.
    #[serde(default)]
    pub max_skew: Option<u32>,
    /// The app must span at least this many zones (as many as are
    /// available, when fewer are). 0: no minimum.
    #[serde(default)]
    pub min_zones: u32,
    /// What to do when only zones that would break the policy have room.
    #[serde(default)]
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// Rebalance moves of the app in flight at once (at least 1; default 1).
    #[serde(default = "default_rebalance_budget")]
    pub disruption_budget: u32,
}

fn default_rebalance_budget() -> u32 {
    1
}

impl Default for SpreadPolicy {
    fn default() -> Self {
        SpreadPolicy {
            zones: Vec::new(),
            weights: BTreeMap::new(),
            max_skew: None,
            min_zones: 0,
            when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
            disruption_budget: default_rebalance_budget(),
        }
    }
}

impl SpreadPolicy {
    /// Whether the policy constrains placement at all.
    pub(crate) fn is_constrained(&self) -> bool {
        self.max_skew.is_some() || self.min_zones > 0
    }
}

/// An application: its instances are identical.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// App name, unique in the scheduler.
    pub id: AppId,
    /// Owning tenant.
    pub tenant: TenantId,
    /// What each instance is given, exactly.
    pub resources: Resources,
    /// Architectures the app has images for (at least one).
    pub arches: BTreeSet<Arch>,
    /// Feature tags every host must have.
    #[serde(default)]
    pub features: BTreeSet<Label>,
    /// Least per-vCPU performance score of the host's SKU.
    #[serde(default)]
    pub min_perf_score: u32,
    /// Rigid (default) or best effort.
    #[serde(default)]
    pub qos: QosTier,
    /// NUMA policy.
    #[serde(default)]
    pub numa: NumaPolicy,
    /// Zone policy.
    #[serde(default)]
    pub spread: SpreadPolicy,
    /// Higher is placed first when pending instances are retried.
    #[serde(default)]
    pub priority: i32,
    /// The SKU the app asks for ("like `ecs.g7.4xlarge`"); equivalents may
    /// stand in for it (see [`substitution`](crate::substitution)). `None`:
    /// the resources and class (performance, architectures, features) say
    /// what is needed.
    #[serde(default)]
    pub sku: Option<SkuId>,
    /// Accelerator model every host must have (e.g. `a10`).
    #[serde(default)]
    pub accelerator_model: Option<Label>,
    /// Local disk class every host must have (e.g. `nvme`).
    #[serde(default)]
    pub local_disk: Option<Label>,
    /// How other SKUs may serve the app.
    #[serde(default)]
    pub substitution: SubstitutionPolicy,
    /// The app's image per architecture (each one of `arches`); empty: no
    /// image is known and placement ignores images (see
    /// [`coldstart`](crate::coldstart)).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<Arch, ImageRef>,
    /// Shared hosts (default) or hosts dedicated to the app's tenant.
    #[serde(default)]
    pub isolation: Isolation,
}

/// What is wrong with an app.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The per-instance resources are not a usable request.
    #[error("resources: {0}")]
    Resources(#[source] ResourceError),
    /// No architecture is listed.
    #[error("arches is empty: the app must have an image for at least one architecture")]
    NoArch,
    /// The same zone is listed twice in the spread policy.
    #[error("zone {0} is listed twice in spread.zones")]
    DuplicateZone(ZoneId),
    /// A zone of `spread.weights` weighs 0.
    #[error("zone {0} has weight 0 in spread.weights")]
    ZeroWeight(ZoneId),
    /// A zone of `spread.weights` is not among the allowed `spread.zones`.
    #[error("zone {0} has a weight but is not in spread.zones")]
    WeightNotAllowed(ZoneId),
    /// `spread.max_skew` is 0: no placement could ever keep it.
    #[error("spread.max_skew must be at least 1")]
    ZeroMaxSkew,
    /// `spread.disruption_budget` is 0: rebalance could never move.
    #[error("spread.disruption_budget must be at least 1")]
    ZeroDisruptionBudget,
    /// `substitution.tiers` lists more than [`MAX_TIERS`](crate::MAX_TIERS)
    /// tiers.
    #[error(
        "substitution.tiers lists {count} tiers; the maximum is {}",
        crate::MAX_TIERS
    )]
    TooManyTiers {
        /// How many are listed.
        count: usize,
    },
    /// An image is named for an architecture the app does not list in
    /// `arches`.
    #[error("images names an image for {0}, which is not in arches")]
    ImageArch(Arch),
    /// `spread.min_zones` is more than the zones the app may use.
    #[error("spread.min_zones is {min_zones} but the app may use only {zones} zones")]
    MinZones {
        /// The minimum asked for.
        min_zones: u32,
        /// Zones the app may use (allowed, or every declared zone).
        zones: u32,
    },
}

impl AppSpec {
    /// A rigid app with defaults: any NUMA node, every zone, x86_64.
    pub fn new(id: AppId, tenant: TenantId, resources: Resources) -> AppSpec {
        AppSpec {
            id,
            tenant,
            resources,
            arches: BTreeSet::from([Arch::X86_64]),
            features: BTreeSet::new(),
            min_perf_score: 0,
            qos: QosTier::Rigid,
            numa: NumaPolicy::Any,
            spread: SpreadPolicy::default(),
            priority: 0,
            sku: None,
            accelerator_model: None,
            local_disk: None,
            substitution: SubstitutionPolicy::default(),
            images: BTreeMap::new(),
            isolation: Isolation::SharedHosts,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), AppError> {
        self.resources
            .require_cpu_and_memory()
            .map_err(AppError::Resources)?;
        if self.arches.is_empty() {
            return Err(AppError::NoArch);
        }
        let mut seen = BTreeSet::new();
        for z in &self.spread.zones {
            if !seen.insert(z) {
                return Err(AppError::DuplicateZone(z.clone()));
            }
        }
        for (z, w) in &self.spread.weights {
            if *w == 0 {
                return Err(AppError::ZeroWeight(z.clone()));
            }
            if !self.spread.zones.is_empty() && !self.spread.zones.contains(z) {
                return Err(AppError::WeightNotAllowed(z.clone()));
            }
        }
        if let Some(arch) = self.images.keys().find(|a| !self.arches.contains(a)) {
            return Err(AppError::ImageArch(*arch));
        }
        if self.spread.max_skew == Some(0) {
            return Err(AppError::ZeroMaxSkew);
        }
        if self.spread.disruption_budget == 0 {
            return Err(AppError::ZeroDisruptionBudget);
        }
        if self.substitution.tiers.len() > crate::MAX_TIERS {
            return Err(AppError::TooManyTiers {
                count: self.substitution.tiers.len(),
            });
        }
        Ok(())
    }
}
