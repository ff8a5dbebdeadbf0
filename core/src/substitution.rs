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
//! nothing more. Running and planned hosts are used first (best fit, see
//! [`placement`](crate::placement)); new hosts are provisioned tier by
//! tier.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::app::{AppSpec, NumaPolicy};
use crate::catalog::{Arch, SkuSpec};
use crate::ids::{Label, SkuId};
use crate::resources::{Dimension, Resources};

/// What to do when every SKU in the app's tiers is exhausted.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
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
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryRatio {
    /// Least MiB per vCPU.
    pub min_mib_per_vcpu: u32,
    /// Most MiB per vCPU.
    pub max_mib_per_vcpu: u32,
}

/// How an app's request may be served by other SKUs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    requested: Option<&SkuSpec>,
    skus: impl IntoIterator<Item = &'a SkuSpec>,
) -> Option<Reference> {
    if let Some(r) = requested {
        let per_host = instances_per_host(r, &app.resources, app.numa);
        if per_host > 0 {
            return Some(Reference {
                price: r.price_nanos_per_second,
                per_host,
            });
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
    best.map(|(r, _)| r)
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
            let denom = (u128::from(r.price) * u128::from(per_host)).max(1);
            let ratio =
                u128::from(sku.price_nanos_per_second) * u128::from(r.per_host) * 1000 / denom;
            return Err(Rejection::Price {
                ratio_permille: u64::try_from(ratio).unwrap_or(u64::MAX),
                cap_permille: 1000 + u64::from(policy.max_premium_percent) * 10,
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

/// Rule 3: the SKU's preference tier.
fn tier_of(app: &AppSpec, requested: Option<&SkuSpec>, sku: &SkuSpec) -> Result<u32, Rejection> {
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
