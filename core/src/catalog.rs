//! The catalog: SKUs (host instance types) and everything substitution needs
//! to judge one SKU against another.

use std::collections::BTreeSet;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{Label, SkuId};
use crate::resources::{Dimension, ResourceError, Resources};

/// Most NUMA nodes a SKU may have.
pub const MAX_NUMA_NODES: usize = 16;

/// CPU architecture.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Arch {
    /// x86-64 (Intel, AMD, Hygon).
    #[serde(rename = "x86_64")]
    X86_64,
    /// 64-bit ARM (Yitian, Graviton, Ampere).
    #[serde(rename = "aarch64")]
    Aarch64,
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        })
    }
}

/// A host instance type, as the catalog describes it.
///
/// `numa_nodes` lists each NUMA node's share of `allocatable`; the shares
/// must add up to `allocatable` exactly in every dimension. An empty list
/// means one node holding everything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuSpec {
    /// SKU name, e.g. `ecs.g7.4xlarge`.
    pub id: SkuId,
    /// Family, e.g. `g7` (general purpose, 7th generation).
    pub family: Label,
    /// Generation number within the provider's naming (7 for g7).
    pub generation: u32,
    /// CPU architecture.
    pub arch: Arch,
    /// CPU vendor, e.g. `intel`, `amd`, `yitian`.
    pub cpu_vendor: Label,
    /// Capacity that instances may be given (after system reservations).
    pub allocatable: Resources,
    /// Per-vCPU performance score (higher is faster; the scale is the
    /// embedder's, e.g. SPECrate per vCPU × 100). Must be positive.
    pub perf_score: u32,
    /// Each NUMA node's share of `allocatable`.
    #[serde(default)]
    pub numa_nodes: Vec<Resources>,
    /// Feature tags, e.g. `rdma`, `local-nvme`, `gpu:a10`.
    #[serde(default)]
    pub features: BTreeSet<Label>,
    /// Accelerator model, when the SKU has accelerators (e.g. `a10`).
    #[serde(default)]
    pub accelerator_model: Option<Label>,
    /// Local disk class, when the SKU has local disks (e.g. `nvme`).
    #[serde(default)]
    pub local_disk: Option<Label>,
    /// Price of one host per second, in nano-units of money.
    pub price_nanos_per_second: u64,
}

/// What is wrong with a SKU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SkuError {
    /// The allocatable capacity is not usable.
    #[error("allocatable capacity: {0}")]
    Allocatable(#[source] ResourceError),
    /// The performance score is zero.
    #[error("perf_score must be positive")]
    ZeroPerfScore,
    /// More NUMA nodes than [`MAX_NUMA_NODES`].
    #[error("{count} NUMA nodes; the maximum is {MAX_NUMA_NODES}")]
    TooManyNumaNodes {
        /// How many were given.
        count: usize,
    },
    /// The NUMA nodes' shares do not add up to the allocatable capacity.
    #[error("NUMA nodes add up to {nodes_sum} {dimension} but allocatable is {allocatable}")]
    NumaMismatch {
        /// The dimension that does not add up.
        dimension: Dimension,
        /// Sum of the nodes' shares.
        nodes_sum: u64,
        /// The SKU's allocatable value.
        allocatable: u32,
    },
    /// Accelerators are allocatable but no model is named, or the reverse.
    #[error("accelerators = {accelerators} but accelerator_model is {model}")]
    AcceleratorModel {
        /// Allocatable accelerator count.
        accelerators: u32,
        /// Whether a model is set (`set` or `unset`).
        model: &'static str,
    },
}

impl SkuSpec {
    /// Validate, and fill in the single NUMA node when none is listed.
    pub(crate) fn validated(mut self) -> Result<SkuSpec, SkuError> {
        self.allocatable
            .require_cpu_and_memory()
            .map_err(SkuError::Allocatable)?;
        if self.perf_score == 0 {
            return Err(SkuError::ZeroPerfScore);
        }
        let accelerators = self.allocatable.accelerators();
        match (accelerators, &self.accelerator_model) {
            (0, Some(_)) => {
                return Err(SkuError::AcceleratorModel {
                    accelerators,
                    model: "set",
                });
            }
            (n, None) if n > 0 => {
                return Err(SkuError::AcceleratorModel {
                    accelerators,
                    model: "unset",
                });
            }
            _ => {}
        }
        if self.numa_nodes.len() > MAX_NUMA_NODES {
            return Err(SkuError::TooManyNumaNodes {
                count: self.numa_nodes.len(),
            });
        }
        if self.numa_nodes.is_empty() {
            self.numa_nodes.push(self.allocatable);
        }
        for dimension in Dimension::ALL {
            let nodes_sum: u64 = self
                .numa_nodes
                .iter()
                .map(|n| u64::from(n.get(dimension)))
                .sum();
            let allocatable = self.allocatable.get(dimension);
            if nodes_sum != u64::from(allocatable) {
                return Err(SkuError::NumaMismatch {
                    dimension,
                    nodes_sum,
                    allocatable,
                });
            }
        }
        Ok(self)
    }

    /// Number of vCPUs (allocatable millicores / 1000, rounded down).
    pub fn vcpus(&self) -> u32 {
        self.allocatable.cpu_millis() / 1000
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sku(name: &str, cpu: u64, mem: u64) -> SkuSpec {
        SkuSpec {
            id: SkuId::new(name).unwrap(),
            family: Label::new("g7").unwrap(),
            generation: 7,
            arch: Arch::X86_64,
            cpu_vendor: Label::new("intel").unwrap(),
            allocatable: Resources::new(cpu, mem, 10_000, 0).unwrap(),
            perf_score: 100,
            numa_nodes: vec![],
            features: BTreeSet::new(),
            accelerator_model: None,
            local_disk: None,
            price_nanos_per_second: 1_000,
        }
    }

    #[test]
    fn single_node_is_filled_in() {
        let s = sku("a", 4000, 8192).validated().unwrap();
        assert_eq!(s.numa_nodes, vec![s.allocatable]);
        assert_eq!(s.vcpus(), 4);
    }

    #[test]
    fn numa_shares_must_add_up() {
        let mut s = sku("a", 4000, 8192);
        s.numa_nodes = vec![
            Resources::new(2000, 4096, 5_000, 0).unwrap(),
            Resources::new(2000, 4000, 5_000, 0).unwrap(),
        ];
        assert_eq!(
            s.validated(),
            Err(SkuError::NumaMismatch {
                dimension: Dimension::Memory,
                nodes_sum: 8096,
                allocatable: 8192
            })
        );
    }

    #[test]
    fn rejects_bad_skus() {
        let mut s = sku("a", 0, 8192);
        assert!(matches!(
            s.clone().validated(),
            Err(SkuError::Allocatable(_))
        ));
        s = sku("a", 1000, 1024);
        s.perf_score = 0;
        assert_eq!(s.clone().validated(), Err(SkuError::ZeroPerfScore));
        s = sku("a", 1000, 1024);
        s.numa_nodes = vec![Resources::ZERO; 17];
        assert_eq!(
            s.clone().validated(),
            Err(SkuError::TooManyNumaNodes { count: 17 })
        );
        s = sku("a", 1000, 1024);
        s.allocatable = Resources::new(1000, 1024, 0, 2).unwrap();
        assert_eq!(
            s.clone().validated(),
            Err(SkuError::AcceleratorModel {
                accelerators: 2,
                model: "unset"
            })
        );
    }
}
