//! Equivalent-SKU substitution: which SKUs may stand in for an app's
//! request, in which order, and why the others may not.
//!
//! An app states its requirement either as a requested SKU
//! ([`AppSpec::sku`], "like `ecs.g7.4xlarge`") or as a shape plus a class
//! (its resources, [`AppSpec::min_perf_score`], [`AppSpec::arches`],
//! [`AppSpec::features`]). A SKU `B` may serve the app only if every rule
//! holds, checked in this order (the first that fails is the verdict):
//!
//! 1. **Hard matches.** `B`'s architecture is one the app has an image for;
//!    `B` has every required feature; the accelerator model and local disk
//!    class match where requested (by the app, or by the requested SKU
//!    when the app needs accelerators or the requested SKU has a disk).
//! 2. **At least as good.** One host of `B` holds at least one instance, on
//!    every dimension (on one NUMA node for [`NumaPolicy::SingleNode`]);
//!    `B`'s per-vCPU performance score is at least the app's minimum and the
//!    requested SKU's.
//! 3. **Preference.** `B` falls in the first tier of
//!    [`SubstitutionPolicy::tiers`] that names its SKU or family. Without
//!    tiers, the requested SKU is tier 0 and every other equivalent tier 1
//!    (or all are tier 0 when no SKU is requested). A SKU in no tier is
//!    accepted as "any equivalent", after every tier, only when
//!    [`OnExhaustion::UseAnyEquivalent`] is set; otherwise it is rejected.
//! 4. **Within a band.** `B`'s price per delivered instance (host price ÷
//!    instances per host) is at most the reference's × (1 + max premium);
//!    the reference is the requested SKU, or else the cheapest SKU per
//!    instance that passes 1 and 2 (ties by name). Optionally the memory per
//!    vCPU lies in a range and a host filled with instances wastes at most a
//!    given share of any dimension.
//!
//! When an app requests a SKU, a SKU that fails any rule is never used
//! for it, neither as a new host nor on a running one. An app that only
//! states a shape and class has no requested price: its band (relative to
//! the cheapest equivalent) guards what is bought, and running hosts whose
//! SKU passes rules 1 to 3 serve it, since capacity already there costs
//! nothing more (in the tier its name gives the SKU).
//!
//! # Tiers on running, planned and new hosts
//!
//! Running and planned hosts are used before any new host, and in tier
//! order: within the zone the app's zone order picks (the one holding
//! fewest of its instances first, see [`placement`](crate::placement)),
//! the best tier with a host that fits wins; packing (shape alignment,
//! best fit) orders hosts only within a tier. Running hosts of every tier
//! come before planned hosts, and both before preemption. New hosts are
//! provisioned the same way: the batch is split over zones first, then
//! each zone's share is bought tier by tier (see
//! [`provision`](crate::provision)). So the zone comes first, the tier
//! second: a tier-2 host in the zone the spread order reaches first is
//! used before a tier-0 host in a later zone, which keeps the app's zones
//! as even as the spread order makes them and as provisioning plans them
//! (the note says so: [`PassReason::ZoneOrder`]); zones a blocking spread
//! policy rules out are never searched ([`PassReason::Spread`]). An app
//! with neither a requested SKU nor tiers has a single tier: placement is
//! as packing alone orders it. [`Scheduler::plan_return`](crate::Scheduler::plan_return)
//! moves instances back to a better tier later.
//!
//! # Substitution notes
//!
//! Every decision that serves an app on a SKU other than its tier-0 choice
//! (or other than the SKU it requested) carries a [`SubstitutionNote`]:
//! placements and tentative placements
//! ([`Placement::substitution`](crate::Placement)) and provisions
//! ([`Provision::substitution`](crate::Provision)). It names the
//! requested SKU, the chosen SKU and its tier, why each more preferred SKU
//! was passed over in each zone the decision looked at
//! ([`PassReason`]: a rule it fails, no room on its running or planned
//! hosts, the spread policy or order, an offering not declared, exhausted
//! or backed off), and the comparisons that admitted the chosen SKU
//! ([`Admission`]). Notes are built only for substitutions; a decision on a
//! tier-0 SKU pays nothing for them. Instances placed alike in one call
//! share one note (an `Arc`); the placements that a planned host's
//! [`host_ready`](crate::Scheduler::host_ready) starts point back to that
//! host, whose tentative placements and provision carried the reasons.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::app::{AppSpec, NumaPolicy};
use crate::catalog::{Arch, SkuSpec};
use crate::explain::OfferingBlock;
use crate::ids::{AppId, HostId, Label, SkuId, ZoneId};
use crate::provision::Stock;
use crate::resources::{Dimension, Resources};
use crate::scheduler::Scheduler;
use crate::time::Timestamp;

/// What to do when every SKU in the app's tiers is exhausted.
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
pub enum OnExhaustion {
    /// Use any equivalent SKU (one that passes every rule) after the tiers.
    /// The default: capacity, not a machine type, is what is delivered.
    #[default]
    UseAnyEquivalent,
    /// Stay pending, with the full explanation.
    StayPending,
}

/// Memory per vCPU bounds, in MiB per vCPU.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryRatio {
    /// Least MiB per vCPU.
    pub min_mib_per_vcpu: u32,
    /// Most MiB per vCPU.
    pub max_mib_per_vcpu: u32,
}

/// How an app's request may be served by other SKUs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SubstitutionPolicy {
    /// Largest price premium per delivered instance over the reference, in
    /// percent (default 20, as EC2's price protection).
    pub max_premium_percent: u32,
    /// Ordered preference tiers; each entry names a SKU or a family, e.g.
    /// `[["g8i", "g7"], ["c7", "r7"]]`.
    pub tiers: Vec<Vec<Label>>,
    /// What happens when every SKU of the tiers is exhausted.
    pub on_exhaustion: OnExhaustion,
    /// Optional memory-per-vCPU range of acceptable SKUs.
    pub memory_ratio: Option<MemoryRatio>,
    /// Optional largest share (percent) of any dimension a host full of
    /// instances may leave unused.
    pub max_oversize_percent: Option<u32>,
    /// Most "return to preferred" moves in flight at once (default 1).
    pub disruption_budget: u32,
}

impl Default for SubstitutionPolicy {
    fn default() -> Self {
        SubstitutionPolicy {
            max_premium_percent: 20,
            tiers: Vec::new(),
            on_exhaustion: OnExhaustion::UseAnyEquivalent,
            memory_ratio: None,
            max_oversize_percent: None,
            disruption_budget: 1,
        }
    }
}

/// The first rule a SKU failed, with the values compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rejection {
    /// The SKU's architecture has no image of the app.
    Arch {
        /// The SKU's architecture.
        arch: Arch,
        /// The architectures the app has images for.
        images: Vec<Arch>,
    },
    /// The SKU lacks a required feature.
    MissingFeature(Label),
    /// The accelerator model differs from the one requested.
    AcceleratorModel {
        /// Requested model.
        want: Label,
        /// The SKU's model.
        got: Option<Label>,
    },
    /// The local disk class differs from the one requested.
    LocalDisk {
        /// Requested class.
        want: Label,
        /// The SKU's class.
        got: Option<Label>,
    },
    /// One host cannot hold one instance in this dimension.
    Capacity {
        /// The dimension.
        dimension: Dimension,
        /// One instance's need.
        need: u32,
        /// What the host has.
        have: u32,
    },
    /// Every dimension fits the host, but not together on one NUMA node.
    NumaNode,
    /// Slower per vCPU than required.
    PerfScore {
        /// The required score.
        need: u32,
        /// The SKU's score.
        have: u32,
    },
    /// Price per delivered instance above the band.
    Price {
        /// Price per instance relative to the reference, in thousandths.
        ratio_permille: u64,
        /// The cap, in thousandths (1200 for a 20% premium).
        cap_permille: u64,
    },
    /// Memory per vCPU outside the app's range.
    MemoryRatio {
        /// The SKU's MiB per vCPU.
        mib_per_vcpu: u64,
        /// The accepted range.
        range: MemoryRatio,
    },
    /// A host full of instances would leave too much of a dimension unused.
    Oversize {
        /// The dimension.
        dimension: Dimension,
        /// Percent left unused.
        waste_percent: u64,
        /// The accepted maximum.
        max_percent: u32,
    },
    /// Equivalent, but in none of the app's tiers, and the app stays pending
    /// rather than use any equivalent.
    NotInTiers,
}

fn permille(f: &mut fmt::Formatter<'_>, v: u64) -> fmt::Result {
    write!(f, "{}.{:02}x", v / 1000, (v % 1000) / 10)
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Arch { arch, images } => {
                let images: Vec<String> = images.iter().map(|a| a.to_string()).collect();
                write!(f, "arch {arch} not in app images [{}]", images.join(", "))
            }
            Rejection::MissingFeature(l) => write!(f, "missing feature {l}"),
            Rejection::AcceleratorModel { want, got } => match got {
                Some(g) => write!(f, "accelerator {g} is not the requested {want}"),
                None => write!(f, "no accelerator; {want} requested"),
            },
            Rejection::LocalDisk { want, got } => match got {
                Some(g) => write!(f, "local disk {g} is not the requested {want}"),
                None => write!(f, "no local disk; {want} requested"),
            },
            Rejection::Capacity {
                dimension,
                need,
                have,
            } => write!(
                f,
                "{dimension} {have} < {need} {} for one instance",
                dimension.unit()
            ),
            Rejection::NumaNode => f.write_str("no single NUMA node holds one instance"),
            Rejection::PerfScore { need, have } => write!(f, "perf score {have} < {need}"),
            Rejection::Price {
                ratio_permille,
                cap_permille,
            } => {
                f.write_str("price ")?;
                permille(f, *ratio_permille)?;
                f.write_str(" > cap ")?;
                permille(f, *cap_permille)
            }
            Rejection::MemoryRatio {
                mib_per_vcpu,
                range,
            } => write!(
                f,
                "memory {mib_per_vcpu} MiB/vCPU outside [{}, {}]",
                range.min_mib_per_vcpu, range.max_mib_per_vcpu
            ),
            Rejection::Oversize {
                dimension,
                waste_percent,
                max_percent,
            } => write!(
                f,
                "{dimension} {waste_percent}% unused when full > {max_percent}%"
            ),
            Rejection::NotInTiers => f.write_str("not in the app's tiers (stays pending)"),
        }
    }
}

/// Instances of `req` that one host of `sku` holds under `policy`.
pub fn instances_per_host(sku: &SkuSpec, req: &Resources, policy: NumaPolicy) -> u32 {
    let fit = |cap: &Resources| {
        Dimension::ALL
            .iter()
            .filter(|d| req.get(**d) > 0)
            .map(|d| cap.get(*d) / req.get(*d))
            .min()
            .unwrap_or(0)
    };
    match policy {
        NumaPolicy::Any => fit(&sku.allocatable),
        NumaPolicy::SingleNode => sku.numa_nodes.iter().map(fit).sum(),
    }
}

/// The reference a SKU's price per instance is compared with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reference {
    price: u64,
    per_host: u32,
}

impl Reference {
    /// Compare price per instance: `price_a / per_a` against `price_b / per_b`.
    fn cmp_unit(price_a: u64, per_a: u32, price_b: u64, per_b: u32) -> Ordering {
        let a = u128::from(price_a) * u128::from(per_b);
        let b = u128::from(price_b) * u128::from(per_a);
        a.cmp(&b)
    }
}

/// Rules 1 and 2, which need no reference.
fn hard_and_at_least(
    app: &AppSpec,
    requested: Option<&SkuSpec>,
    sku: &SkuSpec,
) -> Result<u32, Rejection> {
    if !app.arches.contains(&sku.arch) {
        return Err(Rejection::Arch {
            arch: sku.arch,
            images: app.arches.iter().copied().collect(),
        });
    }
    if let Some(missing) = app.features.iter().find(|f| !sku.features.contains(*f)) {
        return Err(Rejection::MissingFeature(missing.clone()));
    }
    let want_model = app.accelerator_model.clone().or_else(|| {
        requested
            .filter(|_| app.resources.accelerators() > 0)
            .and_then(|r| r.accelerator_model.clone())
    });
    if let Some(want) = want_model {
        if sku.accelerator_model.as_ref() != Some(&want) {
            return Err(Rejection::AcceleratorModel {
                want,
                got: sku.accelerator_model.clone(),
            });
        }
    }
    let want_disk = app
        .local_disk
        .clone()
        .or_else(|| requested.and_then(|r| r.local_disk.clone()));
    if let Some(want) = want_disk {
        if sku.local_disk.as_ref() != Some(&want) {
            return Err(Rejection::LocalDisk {
                want,
                got: sku.local_disk.clone(),
            });
        }
    }
    let per_host = instances_per_host(sku, &app.resources, app.numa);
    if per_host == 0 {
        // Short of the host's total: a capacity rejection; enough in total
        // but on no single node: a NUMA rejection.
        return Err(match app.resources.first_short(&sku.allocatable) {
            Some(dimension) => Rejection::Capacity {
                dimension,
                need: app.resources.get(dimension),
                have: sku.allocatable.get(dimension),
            },
            None => Rejection::NumaNode,
        });
    }
    let need = app
        .min_perf_score
        .max(requested.map_or(0, |r| r.perf_score));
    if sku.perf_score < need {
        return Err(Rejection::PerfScore {
            need,
            have: sku.perf_score,
        });
    }
    Ok(per_host)
}

/// The price reference for `app`: its requested SKU, or the cheapest SKU
/// per instance that passes the hard and at-least rules (ties by name).
pub(crate) fn reference<'a>(
    app: &AppSpec,
    requested: Option<&'a SkuSpec>,
    skus: impl IntoIterator<Item = &'a SkuSpec>,
) -> Option<Reference> {
    reference_of(app, requested, skus).map(|(r, _)| r)
}

/// [`reference`], with the reference SKU's id.
fn reference_of<'a>(
    app: &AppSpec,
    requested: Option<&'a SkuSpec>,
    skus: impl IntoIterator<Item = &'a SkuSpec>,
) -> Option<(Reference, &'a SkuId)> {
    if let Some(r) = requested {
        let per_host = instances_per_host(r, &app.resources, app.numa);
        if per_host > 0 {
            return Some((
                Reference {
                    price: r.price_nanos_per_second,
                    per_host,
                },
                &r.id,
            ));
        }
    }
    let mut best: Option<(Reference, &SkuId)> = None;
    for sku in skus {
        let Ok(per_host) = hard_and_at_least(app, requested, sku) else {
            continue;
        };
        let cand = Reference {
            price: sku.price_nanos_per_second,
            per_host,
        };
        let better = best.as_ref().is_none_or(|(b, name)| {
            Reference::cmp_unit(cand.price, cand.per_host, b.price, b.per_host)
                .then_with(|| sku.id.cmp(name))
                == Ordering::Less
        });
        if better {
            best = Some((cand, &sku.id));
        }
    }
    best
}

/// Whether a verdict lets existing hosts of the SKU serve the app: every
/// rule for an app that requests a SKU, every rule but the band otherwise.
pub(crate) fn serves_existing(verdict: &Result<u32, Rejection>, requested: bool) -> bool {
    match verdict {
        Ok(_) => true,
        Err(
            Rejection::Price { .. } | Rejection::MemoryRatio { .. } | Rejection::Oversize { .. },
        ) => !requested,
        Err(_) => false,
    }
}

/// Judge one SKU for an app: its tier, or the first rule it fails.
pub(crate) fn judge(
    app: &AppSpec,
    requested: Option<&SkuSpec>,
    reference: Option<&Reference>,
    sku: &SkuSpec,
) -> Result<u32, Rejection> {
    let per_host = hard_and_at_least(app, requested, sku)?;
    let policy = &app.substitution;
    let tier = tier_of(app, requested, sku)?;
    if let Some(r) = reference {
        // price/per_host <= ref.price/ref.per_host × (100 + premium)/100,
        // cross-multiplied in u128: no division, no rounding.
        let lhs = u128::from(sku.price_nanos_per_second) * u128::from(r.per_host) * 100;
        let rhs = u128::from(r.price)
            * u128::from(per_host)
            * (100 + u128::from(policy.max_premium_percent));
        if lhs > rhs {
            let (ratio_permille, cap_permille) = price_ratio(sku, per_host, r, policy);
            return Err(Rejection::Price {
                ratio_permille,
                cap_permille,
            });
        }
    }
    if let Some(range) = policy.memory_ratio {
        let cpu = u64::from(sku.allocatable.cpu_millis()).max(1);
        let mib_per_vcpu = u64::from(sku.allocatable.memory_mib()) * 1000 / cpu;
        if mib_per_vcpu < u64::from(range.min_mib_per_vcpu)
            || mib_per_vcpu > u64::from(range.max_mib_per_vcpu)
        {
            return Err(Rejection::MemoryRatio {
                mib_per_vcpu,
                range,
            });
        }
    }
    if let Some(max_percent) = policy.max_oversize_percent {
        for d in Dimension::ALL {
            let cap = u64::from(sku.allocatable.get(d));
            let used = u64::from(app.resources.get(d)) * u64::from(per_host);
            if cap > 0 && app.resources.get(d) > 0 {
                let waste_percent = cap.saturating_sub(used) * 100 / cap;
                if waste_percent > u64::from(max_percent) {
                    return Err(Rejection::Oversize {
                        dimension: d,
                        waste_percent,
                        max_percent,
                    });
                }
            }
        }
    }
    Ok(tier)
}

/// A SKU's price per instance relative to the reference and the band's
/// cap, both in thousandths (the ratio rounded down).
fn price_ratio(
    sku: &SkuSpec,
    per_host: u32,
    r: &Reference,
    policy: &SubstitutionPolicy,
) -> (u64, u64) {
    let denom = (u128::from(r.price) * u128::from(per_host)).max(1);
    let ratio = u128::from(sku.price_nanos_per_second) * u128::from(r.per_host) * 1000 / denom;
    (
        u64::try_from(ratio).unwrap_or(u64::MAX),
        1000 + u64::from(policy.max_premium_percent) * 10,
    )
}

/// The tier placement searches running and planned hosts of a SKU in, for
/// an app whose verdict on the SKU lets existing hosts serve it (see
/// [`serves_existing`]): the verdict's tier, or for a SKU outside the
/// band (which serves an app without a requested SKU on existing hosts
/// only), the tier its name gives it.
pub(crate) fn placement_tier(
    app: &AppSpec,
    requested: Option<&SkuSpec>,
    sku: &SkuSpec,
    verdict: &Result<u32, Rejection>,
) -> u32 {
    match verdict {
        Ok(tier) => *tier,
        Err(_) => tier_of(app, requested, sku).unwrap_or(u32::MAX),
    }
}

/// Rule 3: the SKU's preference tier.
pub(crate) fn tier_of(
    app: &AppSpec,
    requested: Option<&SkuSpec>,
    sku: &SkuSpec,
) -> Result<u32, Rejection> {
    let policy = &app.substitution;
    let named =
        |entry: &Label| entry.as_str() == sku.id.as_str() || entry.as_str() == sku.family.as_str();
    if let Some(tier) = policy.tiers.iter().position(|t| t.iter().any(named)) {
        // Tiers are few; the index fits u32.
        return Ok(tier as u32);
    }
    let listed = policy.tiers.len() as u32;
    let implicit = if policy.tiers.is_empty() {
        match requested {
            Some(r) if r.id == sku.id => return Ok(0),
            Some(_) => 1,
            None => return Ok(0),
        }
    } else {
        listed
    };
    match policy.on_exhaustion {
        OnExhaustion::UseAnyEquivalent => Ok(implicit),
        OnExhaustion::StayPending => Err(Rejection::NotInTiers),
    }
}

/// Why a decision serves an app on a SKU other than its first choice: the
/// requested SKU, the chosen one and its tier, why each more preferred SKU
/// was passed over, and the comparisons that admitted the chosen one.
///
/// Carried by a [`Placement`](crate::Placement) (running or tentative) or a
/// [`Provision`](crate::Provision) whose SKU is not in the app's tier 0, or
/// is not the SKU it requested. The core builds it only then (rarely); a
/// decision on a tier-0 SKU carries none. Instances placed alike in one
/// call share one note (an [`Arc`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubstitutionNote {
    /// The SKU the app asked for, if any.
    pub requested: Option<SkuId>,
    /// The SKU chosen.
    pub sku: SkuId,
    /// Its preference tier for the app (0 is the most preferred).
    pub tier: u32,
    /// Why each SKU the app prefers to the chosen one (and the requested
    /// SKU) was passed over, per zone the decision looked at: in SKU order
    /// of tier, then catalog order; zones in declaration order.
    pub passed_over: Vec<PassedOver>,
    /// The comparisons that admitted the chosen SKU.
    pub admitted: Admission,
    /// For a placement made when a planned host became ready
    /// ([`Scheduler::host_ready`](crate::Scheduler::host_ready)): the
    /// planned host's id. The choice was made, and explained with its
    /// reasons, by the tentative placement and the provision of that host;
    /// `passed_over` is then empty.
    pub planned_host: Option<HostId>,
}

/// One more preferred SKU passed over, in one zone or in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PassedOver {
    /// The SKU.
    pub sku: SkuId,
    /// Its preference tier for the app, whatever the verdict (`None` when
    /// it is in none of the app's tiers and the app stays pending rather
    /// than use any equivalent).
    pub tier: Option<u32>,
    /// The zone; `None` when the reason holds in every zone.
    pub zone: Option<ZoneId>,
    /// Why.
    pub reason: PassReason,
}

/// Why a preferred SKU was passed over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PassReason {
    /// It fails a substitution rule for the app, with the values compared.
    Rejected(Rejection),
    /// The app's tiers do not put it ahead of the chosen SKU (the requested
    /// SKU in the chosen SKU's tier or a later one). Within a tier,
    /// placement searches SKUs in packing order and provisioning in order
    /// of cost.
    Preference,
    /// One more instance of the app in the zone would break its spread
    /// policy, so its hosts there were not searched.
    Spread,
    /// It had room in the zone, but the zone comes after the chosen one in
    /// the app's zone order (the zones holding fewer of its instances
    /// first, see [`placement`](crate::placement)): the zone is chosen
    /// first, the tier within it.
    ZoneOrder,
    /// None of its running hosts in the zone had room for the instance
    /// (`hosts` of them; 0: it has none there). Running hosts of every
    /// tier are searched before any planned host.
    RunningHostsFull {
        /// Its running hosts in the zone.
        hosts: u32,
    },
    /// None of its running or planned hosts in the zone had room (for a
    /// placement that preempted, not even counting what best-effort
    /// instances hold as free).
    HostsFull {
        /// Its running hosts in the zone.
        running: u32,
        /// Its planned hosts in the zone.
        planned: u32,
    },
    /// New hosts: the embedder declared no offering of it in the zone.
    NotOffered,
    /// New hosts: its stock in the zone is exhausted, or every host it
    /// holds is already planned.
    Exhausted {
        /// The stock as declared.
        stock: Stock,
        /// Its hosts planned and not yet ready.
        planned: u32,
    },
    /// New hosts: a failed provisioning backs its offering off.
    BackedOff {
        /// Until when.
        until: Timestamp,
    },
}

/// What admitted the chosen SKU: the rules of the
/// [module docs](self), with the values compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Admission {
    /// The SKU's architecture (the app has an image for it).
    pub arch: Arch,
    /// The SKU's per-vCPU performance score.
    pub perf_score: u32,
    /// The least score it needed: the app's minimum or the requested
    /// SKU's, whichever is higher.
    pub min_perf_score: u32,
    /// The features the app requires, all of which the SKU has.
    pub features: Vec<Label>,
    /// Instances of the app one host of the SKU holds.
    pub instances_per_host: u32,
    /// Its price per delivered instance against the reference; `None`
    /// when no SKU could serve as the reference.
    pub price: Option<PriceCheck>,
    /// The SKU is named in none of the app's tiers (and is not the SKU it
    /// requested): it serves as "any equivalent".
    pub any_equivalent: bool,
    /// For an app without a requested SKU, on a running or planned host of
    /// a SKU outside its band: the band rule the SKU fails. Capacity that
    /// is already there serves such an app (see the [module docs](self)).
    pub outside_band: Option<Rejection>,
}

/// A SKU's price per delivered instance against the reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceCheck {
    /// The reference: the requested SKU, or the cheapest equivalent.
    pub reference: SkuId,
    /// Price per instance relative to the reference's, in thousandths
    /// (rounded down).
    pub ratio_permille: u64,
    /// The cap, in thousandths (1200 for a 20% premium).
    pub cap_permille: u64,
}

impl fmt::Display for PassReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassReason::Rejected(r) => write!(f, "rejected ({r})"),
            PassReason::Preference => f.write_str("not ahead of it in the app's tiers"),
            PassReason::Spread => f.write_str("one more instance there breaks the spread policy"),
            PassReason::ZoneOrder => f.write_str("has room, in a zone later in the spread order"),
            PassReason::RunningHostsFull { hosts: 0 } => f.write_str("no running hosts"),
            PassReason::RunningHostsFull { hosts } => write!(
                f,
                "running hosts full ({hosts} host{})",
                if *hosts == 1 { "" } else { "s" }
            ),
            PassReason::HostsFull { running, planned } => {
                write!(f, "hosts full ({running} running, {planned} planned)")
            }
            PassReason::NotOffered => f.write_str("not offered"),
            PassReason::Exhausted {
                stock: Stock::Known(n),
                planned,
            } if *planned > 0 => write!(f, "stock exhausted (stock {n}, {planned} planned)"),
            PassReason::Exhausted { .. } => f.write_str("stock exhausted"),
            PassReason::BackedOff { until } => write!(f, "backed off until {until}"),
        }
    }
}

impl fmt::Display for PassedOver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.zone {
            Some(z) => write!(f, "{} in {z}: {}", self.sku, self.reason),
            None => write!(f, "{}: {}", self.sku, self.reason),
        }
    }
}

impl fmt::Display for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, perf {} >= {}, ",
            self.arch, self.perf_score, self.min_perf_score
        )?;
        if self.features.is_empty() {
            f.write_str("no feature required")?;
        } else {
            let names: Vec<&str> = self.features.iter().map(|l| l.as_str()).collect();
            write!(f, "features {}", names.join(", "))?;
        }
        write!(f, ", {} per host", self.instances_per_host)?;
        if let Some(p) = &self.price {
            f.write_str(", price ")?;
            permille(f, p.ratio_permille)?;
            write!(f, " of {}", p.reference)?;
            f.write_str(if p.ratio_permille <= p.cap_permille {
                " <= cap "
            } else {
                " > cap "
            })?;
            permille(f, p.cap_permille)?;
        }
        if let Some(r) = &self.outside_band {
            write!(f, " (outside the band: {r}; serves on existing hosts only)")?;
        }
        Ok(())
    }
}

impl fmt::Display for SubstitutionNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (tier {}", self.sku, self.tier)?;
        if self.admitted.any_equivalent {
            f.write_str(", any equivalent")?;
        }
        match &self.requested {
            Some(r) => write!(f, ") instead of {r}")?,
            None => f.write_str(") instead of the app's tier 0")?,
        }
        if let Some(h) = self.planned_host {
            write!(f, ", as planned for {h}")?;
        }
        for (i, p) in self.passed_over.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{p}")?;
        }
        write!(f, "; admitted: {}", self.admitted)
    }
}

/// What a [`SubstitutionNote`] explains, and on what evidence.
#[derive(Copy, Clone, Debug)]
pub(crate) enum NoteBasis<'a> {
    /// A placement found by searching `zones` in order (skipping those in
    /// `blocked`, which the app's spread policy rules out): on running
    /// hosts, or with `planned`, on planned hosts or by preemption (after
    /// every running host).
    Placement {
        /// The zones, in the order searched.
        zones: &'a [usize],
        /// Zones skipped for the app's spread policy.
        blocked: &'a [usize],
        /// Whether the running hosts of every zone were searched first.
        planned: bool,
    },
    /// New hosts in a zone.
    Provision {
        /// The zone.
        zone: usize,
    },
    /// A planned host that became ready.
    Ready {
        /// Its planned id.
        planned_host: HostId,
    },
}

/// One passed-over entry in a form that compares cheaply: SKU and zone by
/// index, a rejection by reference to the SKU's verdict.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Passed {
    /// Sort key: the SKU's tier (`u32::MAX` for none), then its index.
    key: (u32, usize),
    tier: Option<u32>,
    zone: Option<usize>,
    reason: Compact,
}

/// A [`PassReason`] whose rejection is the SKU's verdict.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Compact {
    Rejected,
    Preference,
    Spread,
    ZoneOrder,
    RunningHostsFull(u32),
    HostsFull(u32, u32),
    NotOffered,
    Exhausted(Stock, u32),
    BackedOff(Timestamp),
}

/// The last placement note built: placements that would build the same
/// note share it (derived; not in snapshots).
#[derive(Clone, Debug)]
pub(crate) struct NoteMemo {
    /// (epoch, app, SKU, tier, planned).
    key: (u64, usize, usize, u32, bool),
    /// The app's id: app indices shift when an app is removed.
    app: AppId,
    passed: SmallVec<[Passed; 8]>,
    note: Arc<SubstitutionNote>,
}

impl Scheduler {
    /// The note of a decision that serves `app` on SKU `sku` of tier
    /// `tier`. Called only for substitutions. Works out why each more
    /// preferred SKU was passed over (a pass over the catalog and, per
    /// such SKU, over the zones looked at, with a search of its hosts
    /// there); a placement whose reasons are those of the last placement
    /// note, for the same app, SKU and tier, shares that note.
    pub(crate) fn substitution_note(
        &mut self,
        app: usize,
        sku: usize,
        tier: u32,
        basis: NoteBasis<'_>,
    ) -> Arc<SubstitutionNote> {
        let passed = self.passed_over(app, sku, tier, basis);
        let memo_key = match basis {
            NoteBasis::Placement { planned, .. } => Some((self.epoch, app, sku, tier, planned)),
            _ => None,
        };
        if let (Some(key), Some(memo)) = (memo_key, &self.note_memo) {
            if memo.key == key && memo.passed == passed && memo.app == self.apps[app].spec.id {
                return memo.note.clone();
            }
        }
        let note = self.build_note(app, sku, tier, basis, &passed);
        if let Some(key) = memo_key {
            self.note_memo = Some(NoteMemo {
                key,
                app: self.apps[app].spec.id.clone(),
                passed,
                note: note.clone(),
            });
        }
        note
    }

    /// Why each SKU the app prefers to `sku` (of tier `tier`), and the
    /// SKU it requested, was passed over, per zone the decision looked at.
    fn passed_over(
        &self,
        app: usize,
        sku: usize,
        tier: u32,
        basis: NoteBasis<'_>,
    ) -> SmallVec<[Passed; 8]> {
        let mut passed: SmallVec<[Passed; 8]> = SmallVec::new();
        if matches!(basis, NoteBasis::Ready { .. }) {
            return passed;
        }
        let spec = &self.apps[app].spec;
        let requested_ix = spec.sku.as_ref().and_then(|id| self.skus.get_index_of(id));
        let requested = requested_ix.map(|i| &self.skus[i]);
        let fresh;
        let verdicts: &[Result<u32, Rejection>] = match &self.apps[app].verdicts {
            Some((epoch, v)) if *epoch == self.epoch => v,
            _ => {
                fresh = self.verdicts(app);
                &fresh
            }
        };
        let mut zones: SmallVec<[usize; 4]> = match basis {
            NoteBasis::Placement { zones, .. } => SmallVec::from_slice(zones),
            NoteBasis::Provision { zone } => SmallVec::from_elem(zone, 1),
            NoteBasis::Ready { .. } => SmallVec::new(),
        };
        zones.sort_unstable();
        for (s, other) in self.skus.values().enumerate() {
            if s == sku {
                continue;
            }
            let own_tier = tier_of(spec, requested, other).ok();
            let better = own_tier.is_some_and(|t| t < tier);
            if !better && requested_ix != Some(s) {
                continue;
            }
            let entry = |zone: Option<usize>, reason: Compact| Passed {
                key: (own_tier.unwrap_or(u32::MAX), s),
                tier: own_tier,
                zone,
                reason,
            };
            let verdict = verdicts.get(s);
            let usable = match basis {
                NoteBasis::Placement { .. } => {
                    verdict.is_some_and(|v| serves_existing(v, requested.is_some()))
                }
                _ => matches!(verdict, Some(Ok(_))),
            };
            if !usable {
                if let Some(Err(_)) = verdict {
                    passed.push(entry(None, Compact::Rejected));
                }
                continue;
            }
            if !better {
                passed.push(entry(None, Compact::Preference));
                continue;
            }
            for &z in &zones {
                let reason = match basis {
                    NoteBasis::Placement {
                        blocked, planned, ..
                    } => {
                        // The zones the search reached before the chosen
                        // one had no room in a better tier; those after it
                        // were not searched, so their hosts are looked at
                        // now (the state is the search's).
                        if blocked.contains(&z) {
                            Compact::Spread
                        } else {
                            let (running, running_room) = self.class_room(app, s, z, false);
                            let (planned_hosts, planned_room) = if planned {
                                self.class_room(app, s, z, true)
                            } else {
                                (0, false)
                            };
                            if running_room || planned_room {
                                Compact::ZoneOrder
                            } else if planned {
                                Compact::HostsFull(running, planned_hosts)
                            } else {
                                Compact::RunningHostsFull(running)
                            }
                        }
                    }
                    _ => match self.offerings.get(&(s, z)) {
                        None => Compact::NotOffered,
                        Some(o) => match o.available(self.now) {
                            Err(OfferingBlock::BackedOff) => {
                                Compact::BackedOff(o.backoff_until.unwrap_or(self.now))
                            }
                            Err(_) => Compact::Exhausted(o.stock, o.planned),
                            // Provisioning takes a zone's offerings tier by
                            // tier and uses a better tier's up (or fills the
                            // share) before it looks at a worse one, so an
                            // offering that can still provide hosts was
                            // not passed over.
                            Ok(_) => continue,
                        },
                    },
                };
                passed.push(entry(Some(z), reason));
            }
        }
        // Stable: a SKU's entries keep their zone order.
        passed.sort_by_key(|p| p.key);
        passed
    }

    /// The note itself, from the reasons [`passed_over`](Self::passed_over)
    /// found.
    fn build_note(
        &self,
        app: usize,
        sku: usize,
        tier: u32,
        basis: NoteBasis<'_>,
        passed: &[Passed],
    ) -> Arc<SubstitutionNote> {
        let spec = &self.apps[app].spec;
        let requested_ix = spec.sku.as_ref().and_then(|id| self.skus.get_index_of(id));
        let requested = requested_ix.map(|i| &self.skus[i]);
        let fresh;
        let verdicts: &[Result<u32, Rejection>] = match &self.apps[app].verdicts {
            Some((epoch, v)) if *epoch == self.epoch => v,
            _ => {
                fresh = self.verdicts(app);
                &fresh
            }
        };
        let passed_over = passed
            .iter()
            .map(|p| {
                let (_, s) = p.key;
                let reason = match p.reason {
                    Compact::Rejected => match verdicts.get(s) {
                        Some(Err(r)) => PassReason::Rejected(r.clone()),
                        // Only SKUs whose verdict is a rejection get one.
                        _ => PassReason::Preference,
                    },
                    Compact::Preference => PassReason::Preference,
                    Compact::Spread => PassReason::Spread,
                    Compact::ZoneOrder => PassReason::ZoneOrder,
                    Compact::RunningHostsFull(hosts) => PassReason::RunningHostsFull { hosts },
                    Compact::HostsFull(running, planned) => {
                        PassReason::HostsFull { running, planned }
                    }
                    Compact::NotOffered => PassReason::NotOffered,
                    Compact::Exhausted(stock, planned) => PassReason::Exhausted { stock, planned },
                    Compact::BackedOff(until) => PassReason::BackedOff { until },
                };
                PassedOver {
                    sku: self.skus[s].id.clone(),
                    tier: p.tier,
                    zone: p.zone.map(|z| self.zone_id(z).clone()),
                    reason,
                }
            })
            .collect();
        let chosen = &self.skus[sku];
        let per_host = instances_per_host(chosen, &spec.resources, spec.numa);
        let price = reference_of(spec, requested, self.skus.values()).map(|(r, id)| {
            let (ratio_permille, cap_permille) =
                price_ratio(chosen, per_host, &r, &spec.substitution);
            PriceCheck {
                reference: id.clone(),
                ratio_permille,
                cap_permille,
            }
        });
        let named = spec.substitution.tiers.iter().flatten().any(|entry| {
            entry.as_str() == chosen.id.as_str() || entry.as_str() == chosen.family.as_str()
        });
        Arc::new(SubstitutionNote {
            requested: spec.sku.clone(),
            sku: chosen.id.clone(),
            tier,
            passed_over,
            admitted: Admission {
                arch: chosen.arch,
                perf_score: chosen.perf_score,
                min_perf_score: spec
                    .min_perf_score
                    .max(requested.map_or(0, |r| r.perf_score)),
                features: spec.features.iter().cloned().collect(),
                instances_per_host: per_host,
                price,
                any_equivalent: !named && requested_ix != Some(sku),
                outside_band: match verdicts.get(sku) {
                    Some(Err(r)) => Some(r.clone()),
                    _ => None,
                },
            },
            planned_host: match basis {
                NoteBasis::Ready { planned_host } => Some(planned_host),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::sku as base_sku;
    use crate::ids::{AppId, TenantId};

    fn app(cpu: u64, mem: u64) -> AppSpec {
        AppSpec::new(
            AppId::new("a").unwrap(),
            TenantId::new("t").unwrap(),
            Resources::cpu_mem(cpu, mem).unwrap(),
        )
    }

    fn sku(name: &str, cpu: u64, mem: u64, price: u64) -> SkuSpec {
        let mut s = base_sku(name, cpu, mem).validated().unwrap();
        s.price_nanos_per_second = price;
        s
    }

    #[test]
    fn instances_per_host_respects_numa() {
        let mut s = sku("g", 16_000, 32_768, 1);
        assert_eq!(
            instances_per_host(
                &s,
                &Resources::cpu_mem(3_000, 1_000).unwrap(),
                NumaPolicy::Any
            ),
            5
        );
        s.numa_nodes = vec![Resources::new(8_000, 16_384, 5_000, 0).unwrap(); 2];
        assert_eq!(
            instances_per_host(
                &s,
                &Resources::cpu_mem(3_000, 1_000).unwrap(),
                NumaPolicy::SingleNode
            ),
            4
        );
        assert_eq!(
            instances_per_host(
                &s,
                &Resources::cpu_mem(9_000, 1_000).unwrap(),
                NumaPolicy::SingleNode
            ),
            0
        );
    }

    #[test]
    fn price_band_is_per_delivered_instance_and_exact() {
        let a = app(4_000, 8_192);
        let g7 = sku("g7", 16_000, 65_536, 1_000); // 4 per host: 250 each
        let big = sku("g8", 32_000, 131_072, 2_400); // 8 per host: 300 each = 1.20x
        let dear = sku("g9", 32_000, 131_072, 2_401); // just above
        let r = reference(&a, Some(&g7), [&g7, &big, &dear]).unwrap();
        assert_eq!(judge(&a, Some(&g7), Some(&r), &g7), Ok(0));
        assert_eq!(judge(&a, Some(&g7), Some(&r), &big), Ok(1));
        let err = judge(&a, Some(&g7), Some(&r), &dear).unwrap_err();
        assert_eq!(
            err,
            Rejection::Price {
                ratio_permille: 1200,
                cap_permille: 1200
            }
        );
        assert_eq!(err.to_string(), "price 1.20x > cap 1.20x");
    }

    #[test]
    fn without_a_requested_sku_the_cheapest_equivalent_is_the_reference() {
        let a = app(4_000, 8_192);
        let cheap = sku("c", 16_000, 65_536, 1_000);
        let dear = sku("d", 16_000, 65_536, 1_300);
        let r = reference(&a, None, [&dear, &cheap]).unwrap();
        assert_eq!(judge(&a, None, Some(&r), &cheap), Ok(0));
        assert_eq!(
            judge(&a, None, Some(&r), &dear).unwrap_err().to_string(),
            "price 1.30x > cap 1.20x"
        );
    }

    #[test]
    fn hard_rules_name_the_values() {
        let mut a = app(4_000, 8_192);
        let mut arm = sku("y", 16_000, 65_536, 1);
        arm.arch = Arch::Aarch64;
        assert_eq!(
            judge(&a, None, None, &arm).unwrap_err().to_string(),
            "arch aarch64 not in app images [x86_64]"
        );
        a.features.insert(Label::new("rdma").unwrap());
        assert_eq!(
            judge(&a, None, None, &sku("x", 16_000, 65_536, 1)).unwrap_err(),
            Rejection::MissingFeature(Label::new("rdma").unwrap())
        );
        let a = app(32_000, 8_192);
        assert_eq!(
            judge(&a, None, None, &sku("x", 16_000, 65_536, 1))
                .unwrap_err()
                .to_string(),
            "cpu 16000 < 32000 millicores for one instance"
        );
    }

    #[test]
    fn tiers_and_exhaustion_policy() {
        let mut a = app(4_000, 8_192);
        a.substitution.tiers = vec![
            vec![Label::new("g8i").unwrap()],
            vec![Label::new("c7").unwrap()],
        ];
        let mut g8i = sku("ecs.g8i.4xlarge", 16_000, 65_536, 1_000);
        g8i.family = Label::new("g8i").unwrap();
        let c7 = sku("c7", 16_000, 65_536, 1_000);
        let other = sku("r7", 16_000, 65_536, 1_000);
        assert_eq!(judge(&a, None, None, &g8i), Ok(0));
        assert_eq!(judge(&a, None, None, &c7), Ok(1));
        assert_eq!(judge(&a, None, None, &other), Ok(2));
        a.substitution.on_exhaustion = OnExhaustion::StayPending;
        assert_eq!(judge(&a, None, None, &other), Err(Rejection::NotInTiers));
    }
}
