//! Why an instance could not be placed.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{HostId, InstanceId, ZoneId};
use crate::resources::Dimension;

/// A constraint that rules a host out for an instance. Explanations list
/// them in this order.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Constraint {
    /// The host's zone is not in the app's allowed zones.
    ZoneNotAllowed,
    /// The host's zone is down.
    ZoneDown,
    /// The host's zone is draining (no new placements).
    ZoneDraining,
    /// The host's architecture has no image of the app.
    Arch,
    /// The host's SKU lacks a required feature.
    Features,
    /// The host's SKU is slower per vCPU than the app requires.
    PerfScore,
    /// The host's SKU has another accelerator model than requested.
    AcceleratorModel,
    /// The host's SKU has another local disk class than requested.
    LocalDisk,
    /// The host's SKU costs more per instance than the app's price band.
    Price,
    /// The host's SKU's memory per vCPU is outside the app's range.
    MemoryRatio,
    /// A host of this SKU full of instances would waste too much.
    Oversize,
    /// The host's SKU is in none of the app's tiers and the app does not
    /// use any equivalent.
    NotInTiers,
    /// One more instance in the host's zone would break the app's spread
    /// policy (`max_skew` or `min_zones`) and the app does not schedule
    /// anyway.
    ZoneSpread,
    /// The host is cordoned (no new placements).
    HostCordoned,
    /// Not enough capacity in this dimension, counting capacity held by
    /// best-effort instances as available to rigid ones.
    Capacity(Dimension),
    /// Enough capacity on the host, but not on any single NUMA node.
    NumaNode,
    /// Tenant isolation: the host is dedicated to a tenant (for a shared
    /// app, or a dedicated app of another tenant), or, for a dedicated
    /// app, holds instances and is not dedicated to the app's tenant (see
    /// [`isolation`](crate::isolation)).
    Isolation,
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constraint::ZoneNotAllowed => f.write_str("zone not allowed"),
            Constraint::ZoneDown => f.write_str("zone down"),
            Constraint::ZoneDraining => f.write_str("zone draining"),
            Constraint::Arch => f.write_str("arch"),
            Constraint::Features => f.write_str("features"),
            Constraint::PerfScore => f.write_str("perf score"),
            Constraint::AcceleratorModel => f.write_str("accelerator model"),
            Constraint::LocalDisk => f.write_str("local disk"),
            Constraint::Price => f.write_str("price"),
            Constraint::MemoryRatio => f.write_str("memory ratio"),
            Constraint::Oversize => f.write_str("oversize"),
            Constraint::NotInTiers => f.write_str("not in tiers"),
            Constraint::ZoneSpread => f.write_str("zone spread"),
            Constraint::HostCordoned => f.write_str("host cordoned"),
            Constraint::Capacity(d) => f.write_str(d.name()),
            Constraint::NumaNode => f.write_str("single numa node"),
            Constraint::Isolation => f.write_str("tenant isolation"),
        }
    }
}

/// How many hosts one constraint ruled out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuledOut {
    /// The constraint.
    pub constraint: Constraint,
    /// Hosts it ruled out.
    pub hosts: u32,
    /// For [`Constraint::ZoneSpread`]: how many of those hosts had room for
    /// the instance (not cordoned, enough capacity, a NUMA node that fits).
    /// More than 0: relaxing the spread policy would place it; 0: those
    /// zones have no capacity for it either. Absent for other constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_room: Option<u32>,
}

/// Why an offering (a SKU in a zone) could not provide new hosts.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OfferingBlock {
    /// The embedder declared no offering of this SKU in this zone.
    NotOffered,
    /// Its stock is exhausted (or its known stock is 0: every unit is
    /// ordered).
    Exhausted,
    /// A recent provisioning failure backs it off.
    BackedOff,
}

impl fmt::Display for OfferingBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OfferingBlock::NotOffered => "not offered",
            OfferingBlock::Exhausted => "exhausted",
            OfferingBlock::BackedOff => "backed off",
        })
    }
}

/// How many SKUs one substitution rule ruled out, or how many offerings of
/// acceptable SKUs one reason blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkuRuledOut {
    /// SKUs that fail a substitution rule (named like the host constraint).
    Rule {
        /// The rule.
        constraint: Constraint,
        /// SKUs it ruled out.
        skus: u32,
    },
    /// Offerings (SKU in an allowed zone that is up) of acceptable SKUs that
    /// cannot provide hosts now.
    Offering {
        /// Why.
        block: OfferingBlock,
        /// Offerings blocked.
        offerings: u32,
    },
}

/// Why no host could take an instance: each host is counted once, under the
/// first constraint (in [`Constraint`] order) that rules it out. When new
/// hosts could have been provisioned, `skus` says why none were: SKUs per
/// failed substitution rule, then offerings of acceptable SKUs per block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Explanation {
    /// Hosts known to the scheduler when the decision was made.
    pub hosts: u32,
    /// Nonzero counts, in constraint order.
    pub ruled_out: Vec<RuledOut>,
    /// Why provisioning could not help (empty when it was not considered:
    /// best-effort apps, or no offering declared anywhere).
    #[serde(default)]
    pub skus: Vec<SkuRuledOut>,
}

impl Explanation {
    /// Hosts ruled out by one constraint.
    pub fn count(&self, constraint: Constraint) -> u32 {
        self.ruled_out
            .iter()
            .find(|r| r.constraint == constraint)
            .map_or(0, |r| r.hosts)
    }

    /// Hosts of the constraint's count that had room (see
    /// [`RuledOut::with_room`]); `None` when the constraint does not say.
    pub fn with_room(&self, constraint: Constraint) -> Option<u32> {
        self.ruled_out
            .iter()
            .find(|r| r.constraint == constraint)
            .and_then(|r| r.with_room)
    }

    pub(crate) fn add(&mut self, constraint: Constraint, hosts: u32) {
        self.add_with_room(constraint, hosts, None);
    }

    /// [`add`](Self::add), of which `with_room` hosts had room.
    pub(crate) fn add_with_room(
        &mut self,
        constraint: Constraint,
        hosts: u32,
        with_room: Option<u32>,
    ) {
        if hosts == 0 {
            return;
        }
        match self
            .ruled_out
            .binary_search_by(|r| r.constraint.cmp(&constraint))
        {
            Ok(i) => {
                let r = &mut self.ruled_out[i];
                r.hosts += hosts;
                if let Some(n) = with_room {
                    r.with_room = Some(r.with_room.unwrap_or(0) + n);
                }
            }
            Err(i) => self.ruled_out.insert(
                i,
                RuledOut {
                    constraint,
                    hosts,
                    with_room,
                },
            ),
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hosts == 0 {
            f.write_str("no hosts")?;
        } else {
            write!(f, "0/{} hosts fit", self.hosts)?;
        }
        for (i, r) in self.ruled_out.iter().enumerate() {
            let sep = if i == 0 { ": " } else { ", " };
            let noun = if r.hosts == 1 { "host" } else { "hosts" };
            write!(f, "{sep}{}: {} {noun}", r.constraint, r.hosts)?;
            if let Some(n) = r.with_room {
                write!(f, " ({n} had room)")?;
            }
        }
        for (i, r) in self.skus.iter().enumerate() {
            let sep = if i == 0 { "; new hosts: " } else { ", " };
            match r {
                SkuRuledOut::Rule { constraint, skus } => {
                    let noun = if *skus == 1 { "sku" } else { "skus" };
                    write!(f, "{sep}{constraint}: {skus} {noun}")?;
                }
                SkuRuledOut::Offering { block, offerings } => {
                    let noun = if *offerings == 1 {
                        "offering"
                    } else {
                        "offerings"
                    };
                    write!(f, "{sep}{block}: {offerings} {noun}")?;
                }
            }
        }
        Ok(())
    }
}

/// Why an instance is pending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PendingReason {
    /// No host fits; the explanation counts what ruled each host out.
    NoFit(Explanation),
    /// A best-effort instance evicted to make room for a rigid one; it has
    /// not been retried yet.
    Preempted {
        /// The rigid instance that took the room.
        by: InstanceId,
        /// The host it was evicted from.
        host: HostId,
    },
    /// Its host was removed; it has not been retried yet.
    HostRemoved {
        /// The removed host.
        host: HostId,
    },
    /// The planned host it was tentatively placed on could not be
    /// provisioned; it has not been retried yet.
    ProvisionFailed {
        /// The planned host.
        host: HostId,
    },
    /// Its zone was lost ([`Scheduler::zone_down`](crate::Scheduler::zone_down));
    /// it has not been retried yet.
    ZoneDown {
        /// The lost zone.
        zone: ZoneId,
    },
    /// Its host failed ([`Scheduler::host_failed`](crate::Scheduler::host_failed));
    /// it has not been retried yet.
    HostFailed {
        /// The failed host.
        host: HostId,
    },
}

impl fmt::Display for PendingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PendingReason::NoFit(e) => e.fmt(f),
            PendingReason::Preempted { by, host } => {
                write!(f, "preempted on {host} by rigid instance {by}")
            }
            PendingReason::HostRemoved { host } => write!(f, "{host} was removed"),
            PendingReason::ProvisionFailed { host } => {
                write!(f, "planned {host} could not be provisioned")
            }
            PendingReason::ZoneDown { zone } => write!(f, "zone {zone} was lost"),
            PendingReason::HostFailed { host } => write!(f, "{host} failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accumulate_in_constraint_order() {
        let mut e = Explanation {
            hosts: 1852,
            ..Explanation::default()
        };
        e.add(Constraint::Capacity(Dimension::Cpu), 800);
        e.add(Constraint::ZoneDown, 1000);
        e.add(Constraint::Arch, 40);
        e.add(Constraint::Capacity(Dimension::Cpu), 12);
        e.add(Constraint::Features, 0);
        assert_eq!(e.count(Constraint::Capacity(Dimension::Cpu)), 812);
        assert_eq!(e.count(Constraint::Features), 0);
        assert_eq!(
            e.to_string(),
            "0/1852 hosts fit: zone down: 1000 hosts, arch: 40 hosts, cpu: 812 hosts"
        );
        assert_eq!(Explanation::default().to_string(), "no hosts");
    }

    #[test]
    fn spread_counts_say_how_many_hosts_had_room() {
        let mut e = Explanation {
            hosts: 10_000,
            ..Explanation::default()
        };
        e.add_with_room(Constraint::ZoneSpread, 6_000, Some(2_500));
        e.add_with_room(Constraint::ZoneSpread, 4_000, Some(1_500));
        e.add(Constraint::Capacity(Dimension::Cpu), 0);
        assert_eq!(e.with_room(Constraint::ZoneSpread), Some(4_000));
        assert_eq!(e.with_room(Constraint::Arch), None);
        assert_eq!(
            e.to_string(),
            "0/10000 hosts fit: zone spread: 10000 hosts (4000 had room)"
        );
        let json = serde_json::to_string(&e.ruled_out).unwrap();
        assert_eq!(
            json,
            r#"[{"constraint":"zone_spread","hosts":10000,"with_room":4000}]"#
        );
        let mut plain = Explanation::default();
        plain.add(Constraint::Arch, 3);
        let json = serde_json::to_string(&plain.ruled_out).unwrap();
        assert_eq!(json, r#"[{"constraint":"arch","hosts":3}]"#);
    }
}
