//! Resource vectors: CPU, memory, network bandwidth and accelerators.
//!
//! A [`Resources`] value is validated when it is built: every dimension is at
//! most [`Dimension::max`], so sums on one host never overflow and absurd
//! values (a 10-million-vCPU request, say) are rejected at the edge with the
//! field and value named. All arithmetic is checked.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Number of resource dimensions.
pub const DIMENSIONS: usize = 4;

/// One resource dimension.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// CPU in millicores (1000 = one vCPU).
    Cpu,
    /// Memory in MiB.
    Memory,
    /// Network bandwidth in Mbit/s.
    Network,
    /// Accelerators (GPUs, NPUs), counted whole.
    Accelerators,
}

impl Dimension {
    /// All dimensions, in their fixed order (the order of explanations too).
    pub const ALL: [Dimension; DIMENSIONS] = [
        Dimension::Cpu,
        Dimension::Memory,
        Dimension::Network,
        Dimension::Accelerators,
    ];

    /// Short name, as used in explanations (`cpu`, `memory`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Dimension::Cpu => "cpu",
            Dimension::Memory => "memory",
            Dimension::Network => "network",
            Dimension::Accelerators => "accelerators",
        }
    }

    /// The unit of the dimension.
    pub const fn unit(self) -> &'static str {
        match self {
            Dimension::Cpu => "millicores",
            Dimension::Memory => "MiB",
            Dimension::Network => "Mbit/s",
            Dimension::Accelerators => "accelerators",
        }
    }

    /// The largest value accepted in this dimension, for a request or a
    /// host's capacity: 10,000 vCPU, 1 PiB, 100 Tbit/s, 4,096 accelerators.
    pub const fn max(self) -> u32 {
        match self {
            Dimension::Cpu => 10_000_000,
            Dimension::Memory => 1 << 30,
            Dimension::Network => 100_000_000,
            Dimension::Accelerators => 4_096,
        }
    }

    /// Position of the dimension in a resource vector.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a resource vector.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// A request or capacity is zero in a dimension that must be positive
    /// (CPU and memory).
    #[error("{dimension} must be greater than zero")]
    Zero {
        /// The dimension that is zero.
        dimension: Dimension,
    },
    /// A value is larger than [`Dimension::max`].
    #[error("{dimension} = {value} {unit} is larger than the maximum {max}", unit = dimension.unit())]
    TooLarge {
        /// The offending dimension.
        dimension: Dimension,
        /// The value given.
        value: u64,
        /// The largest accepted value.
        max: u32,
    },
}

/// A validated vector of CPU millicores, memory MiB, network Mbit/s and
/// accelerators. Every dimension is at most [`Dimension::max`].
///
/// Build one by name: [`Resources::cpu_mem`] for the two dimensions every
/// request has, then [`with_network`](Resources::with_network) and
/// [`with_accelerators`](Resources::with_accelerators), or a
/// [`ResourceSpec`] with named fields. [`Resources::new`] takes the four
/// values by position, in [`Dimension::ALL`] order.
///
/// ```
/// use trimline::{Dimension, ResourceSpec, Resources};
/// let r = Resources::cpu_mem(2_000, 4_096)?.with_network(1_000)?;
/// assert_eq!(r.get(Dimension::Memory), 4_096);
/// assert_eq!(r.network_mbps(), 1_000);
///
/// let gpu = ResourceSpec { cpu_millis: 8_000, memory_mib: 65_536, accelerators: 1, ..Default::default() }
///     .build()?;
/// assert_eq!(gpu.accelerators(), 1);
/// assert!(Resources::cpu_mem(1_000, 1 << 31).is_err());
/// # Ok::<(), trimline::ResourceError>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Resources([u32; DIMENSIONS]);

impl Resources {
    /// The zero vector.
    pub const ZERO: Resources = Resources([0; DIMENSIONS]);

    /// Build a vector, checking every dimension against [`Dimension::max`].
    pub fn new(
        cpu_millis: u64,
        memory_mib: u64,
        network_mbps: u64,
        accelerators: u64,
    ) -> Result<Self, ResourceError> {
        Self::from_array([cpu_millis, memory_mib, network_mbps, accelerators])
    }

    /// Build from values in [`Dimension::ALL`] order.
    pub fn from_array(values: [u64; DIMENSIONS]) -> Result<Self, ResourceError> {
        let mut out = [0u32; DIMENSIONS];
        for dimension in Dimension::ALL {
            let value = values[dimension.index()];
            let max = dimension.max();
            if value > u64::from(max) {
                return Err(ResourceError::TooLarge {
                    dimension,
                    value,
                    max,
                });
            }
            // In range: value <= max <= u32::MAX.
            out[dimension.index()] = value as u32;
        }
        Ok(Resources(out))
    }

    /// CPU and memory only.
    pub fn cpu_mem(cpu_millis: u64, memory_mib: u64) -> Result<Self, ResourceError> {
        Self::new(cpu_millis, memory_mib, 0, 0)
    }

    /// The same vector with `network_mbps` of network bandwidth.
    pub fn with_network(self, network_mbps: u64) -> Result<Self, ResourceError> {
        self.with(Dimension::Network, network_mbps)
    }

    /// The same vector with `accelerators` accelerators.
    pub fn with_accelerators(self, accelerators: u64) -> Result<Self, ResourceError> {
        self.with(Dimension::Accelerators, accelerators)
    }

    /// The same vector with `value` in `dimension`, checked against
    /// [`Dimension::max`].
    pub fn with(self, dimension: Dimension, value: u64) -> Result<Self, ResourceError> {
        let mut values = self.0.map(u64::from);
        values[dimension.index()] = value;
        Self::from_array(values)
    }

    /// Check that this is a usable request or capacity: CPU and memory are
    /// positive.
    pub fn require_cpu_and_memory(&self) -> Result<(), ResourceError> {
        for dimension in [Dimension::Cpu, Dimension::Memory] {
            if self.get(dimension) == 0 {
                return Err(ResourceError::Zero { dimension });
            }
        }
        Ok(())
    }

    /// The value in one dimension.
    pub const fn get(&self, dimension: Dimension) -> u32 {
        self.0[dimension.index()]
    }

    /// CPU in millicores.
    pub const fn cpu_millis(&self) -> u32 {
        self.0[0]
    }

    /// Memory in MiB.
    pub const fn memory_mib(&self) -> u32 {
        self.0[1]
    }

    /// Network bandwidth in Mbit/s.
    pub const fn network_mbps(&self) -> u32 {
        self.0[2]
    }

    /// Accelerator count.
    pub const fn accelerators(&self) -> u32 {
        self.0[3]
    }

    /// The values in [`Dimension::ALL`] order.
    pub const fn as_array(&self) -> [u32; DIMENSIONS] {
        self.0
    }

    /// True when every dimension is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }

    /// True when `self` fits inside `available` in every dimension.
    pub fn fits_in(&self, available: &Resources) -> bool {
        self.0.iter().zip(available.0.iter()).all(|(r, a)| r <= a)
    }

    /// The first dimension (in [`Dimension::ALL`] order) in which `self`
    /// does not fit inside `available`.
    pub fn first_short(&self, available: &Resources) -> Option<Dimension> {
        Dimension::ALL
            .into_iter()
            .find(|d| self.get(*d) > available.get(*d))
    }

    /// Sum, or `None` if a dimension would pass [`Dimension::max`].
    pub fn checked_add(&self, other: &Resources) -> Option<Resources> {
        let mut out = [0u32; DIMENSIONS];
        for d in Dimension::ALL {
            let v = self.0[d.index()].checked_add(other.0[d.index()])?;
            if v > d.max() {
                return None;
            }
            out[d.index()] = v;
        }
        Some(Resources(out))
    }

    /// Difference, or `None` if `other` is larger in any dimension.
    pub fn checked_sub(&self, other: &Resources) -> Option<Resources> {
        let mut out = [0u32; DIMENSIONS];
        for d in Dimension::ALL {
            out[d.index()] = self.0[d.index()].checked_sub(other.0[d.index()])?;
        }
        Some(Resources(out))
    }

    /// Difference, clamped at zero in each dimension (used for deficits).
    pub fn saturating_sub(&self, other: &Resources) -> Resources {
        let mut out = [0u32; DIMENSIONS];
        for d in Dimension::ALL {
            out[d.index()] = self.0[d.index()].saturating_sub(other.0[d.index()]);
        }
        Resources(out)
    }

    /// The sum of vectors that are parts of one validated whole (a host's
    /// nodes, an instance's parts), so it stays within [`Dimension::max`];
    /// should it not, the dimension saturates there rather than wrap.
    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Resources>) -> Resources {
        let mut out = [0u32; DIMENSIONS];
        for p in parts {
            for d in Dimension::ALL {
                let i = d.index();
                out[i] = out[i].saturating_add(p.0[i]).min(d.max());
            }
        }
        Resources(out)
    }

    /// Per-dimension maximum.
    pub fn max_each(&self, other: &Resources) -> Resources {
        let mut out = [0u32; DIMENSIONS];
        for d in Dimension::ALL {
            out[d.index()] = self.0[d.index()].max(other.0[d.index()]);
        }
        Resources(out)
    }

    /// Per-dimension minimum.
    pub fn min_each(&self, other: &Resources) -> Resources {
        let mut out = [0u32; DIMENSIONS];
        for d in Dimension::ALL {
            out[d.index()] = self.0[d.index()].min(other.0[d.index()]);
        }
        Resources(out)
    }

    /// Build without validation; only for values already known to be in range
    /// (results of operations on validated vectors).
    pub(crate) const fn from_raw(values: [u32; DIMENSIONS]) -> Resources {
        Resources(values)
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cpu {}m, memory {} MiB, network {} Mbit/s, accelerators {}",
            self.cpu_millis(),
            self.memory_mib(),
            self.network_mbps(),
            self.accelerators()
        )
    }
}

/// Resources by name, not yet validated: the fields of a [`Resources`]
/// and its serialized form. Dimensions left out are zero.
///
/// ```
/// use trimline::{ResourceSpec, Resources};
/// let r: Resources = ResourceSpec { cpu_millis: 4_000, memory_mib: 8_192, ..Default::default() }
///     .try_into()?;
/// assert_eq!(r, Resources::cpu_mem(4_000, 8_192)?);
/// # Ok::<(), trimline::ResourceError>(())
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// CPU in millicores.
    pub cpu_millis: u64,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Network bandwidth in Mbit/s.
    #[serde(default)]
    pub network_mbps: u64,
    /// Accelerator count.
    #[serde(default)]
    pub accelerators: u64,
}

impl ResourceSpec {
    /// Validate into [`Resources`]: every dimension at most
    /// [`Dimension::max`].
    pub fn build(self) -> Result<Resources, ResourceError> {
        Resources::new(
            self.cpu_millis,
            self.memory_mib,
            self.network_mbps,
            self.accelerators,
        )
    }
}

impl TryFrom<ResourceSpec> for Resources {
    type Error = ResourceError;

    fn try_from(spec: ResourceSpec) -> Result<Self, ResourceError> {
        spec.build()
    }
}

impl From<Resources> for ResourceSpec {
    fn from(r: Resources) -> Self {
        ResourceSpec {
            cpu_millis: r.cpu_millis().into(),
            memory_mib: r.memory_mib().into(),
            network_mbps: r.network_mbps().into(),
            accelerators: r.accelerators().into(),
        }
    }
}

/// The serialized form is a [`ResourceSpec`]: named fields, validated on
/// the way in.
impl Serialize for Resources {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ResourceSpec::from(*self).serialize(serializer)
    }
}

/// The schema is the [`ResourceSpec`]'s, the serialized form.
impl JsonSchema for Resources {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Resources".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ResourceSpec::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for Resources {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ResourceSpec::deserialize(deserializer)?
            .build()
            .map_err(serde::de::Error::custom)
    }
}

/// Fixed-point scale used by scores: a fraction of one host is expressed in
/// units of `1 / FIXED_ONE`.
pub(crate) const FIXED_ONE: u64 = 1 << 16;

/// `part / whole` as a fixed-point fraction (0 when `whole` is 0).
pub(crate) fn fraction(part: u32, whole: u32) -> u64 {
    if whole == 0 {
        0
    } else {
        u64::from(part) * FIXED_ONE / u64::from(whole)
    }
}

/// Fixed-point reciprocals of a capacity vector, so that fractions of it
/// cost a multiplication instead of a division.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scale([u64; DIMENSIONS]);

impl Scale {
    /// The reciprocals of `cap` (0 where the capacity is 0).
    pub(crate) fn of(cap: &Resources) -> Scale {
        let mut out = [0u64; DIMENSIONS];
        for (o, c) in out.iter_mut().zip(cap.0) {
            if c > 0 {
                *o = (FIXED_ONE << 32) / u64::from(c);
            }
        }
        Scale(out)
    }

    /// `part / capacity` in dimension `d`, as a fixed-point fraction
    /// (within one unit of [`fraction`]).
    #[inline]
    pub(crate) fn fraction(&self, d: usize, part: u32) -> u64 {
        // u32 × u64 < 2^96 fits u128; shifted back it is at most
        // part / capacity × FIXED_ONE, far below u64::MAX.
        ((u128::from(part) * u128::from(self.0[d])) >> 32) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_absurd_values_naming_the_field() {
        let err = Resources::new(1_000, 4 << 30, 0, 0).unwrap_err();
        assert_eq!(
            err,
            ResourceError::TooLarge {
                dimension: Dimension::Memory,
                value: 4 << 30,
                max: 1 << 30
            }
        );
        assert!(err.to_string().contains("memory"));
        let err = Resources::new(0, 0, 0, 5_000).unwrap_err();
        assert!(matches!(
            err,
            ResourceError::TooLarge {
                dimension: Dimension::Accelerators,
                ..
            }
        ));
    }

    #[test]
    fn rejects_zero_cpu_or_memory() {
        let r = Resources::new(0, 1024, 0, 0).unwrap();
        assert_eq!(
            r.require_cpu_and_memory(),
            Err(ResourceError::Zero {
                dimension: Dimension::Cpu
            })
        );
        let r = Resources::new(100, 0, 0, 0).unwrap();
        assert_eq!(
            r.require_cpu_and_memory(),
            Err(ResourceError::Zero {
                dimension: Dimension::Memory
            })
        );
        assert!(
            Resources::new(100, 1, 0, 0)
                .unwrap()
                .require_cpu_and_memory()
                .is_ok()
        );
    }

    #[test]
    fn scaled_fractions_match_divisions() {
        let cap = Resources::new(16_000, 65_536, 10_000, 3).unwrap();
        let scale = Scale::of(&cap);
        for part in [0u32, 1, 2, 3, 999, 4_000, 10_000, 16_000, 65_536] {
            for d in Dimension::ALL {
                let exact = fraction(part.min(cap.get(d)), cap.get(d));
                let fast = scale.fraction(d.index(), part.min(cap.get(d)));
                assert!(exact.abs_diff(fast) <= 1, "{d} {part}: {exact} vs {fast}");
            }
        }
        assert_eq!(Scale::of(&Resources::ZERO).fraction(0, 5), 0);
    }

    #[test]
    fn checked_arithmetic() {
        let a = Resources::new(3, 4, 5, 6).unwrap();
        let b = Resources::new(1, 1, 1, 1).unwrap();
        assert_eq!(a.checked_sub(&b), Some(Resources::new(2, 3, 4, 5).unwrap()));
        assert_eq!(b.checked_sub(&a), None);
        let max = Resources::new(
            u64::from(Dimension::Cpu.max()),
            0,
            0,
            u64::from(Dimension::Accelerators.max()),
        )
        .unwrap();
        assert_eq!(max.checked_add(&b), None);
        assert_eq!(
            a.saturating_sub(&Resources::new(5, 0, 0, 0).unwrap())
                .cpu_millis(),
            0
        );
        assert_eq!(a.first_short(&b), Some(Dimension::Cpu));
        assert_eq!(b.first_short(&a), None);
        assert!(b.fits_in(&a));
        assert!(!a.fits_in(&b));
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let r = Resources::new(1500, 2048, 10, 1).unwrap();
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(
            s,
            r#"{"cpu_millis":1500,"memory_mib":2048,"network_mbps":10,"accelerators":1}"#
        );
        assert_eq!(serde_json::from_str::<Resources>(&s).unwrap(), r);
        let bad = r#"{"cpu_millis":99999999999,"memory_mib":1}"#;
        let err = serde_json::from_str::<Resources>(bad).unwrap_err();
        assert!(err.to_string().contains("cpu"), "{err}");
    }

    #[test]
    fn named_builders_agree_with_the_positional_one() {
        let by_position = Resources::new(8_000, 32_768, 5_000, 2).unwrap();
        let chained = Resources::cpu_mem(8_000, 32_768)
            .and_then(|r| r.with_network(5_000))
            .and_then(|r| r.with_accelerators(2))
            .unwrap();
        let spec = ResourceSpec {
            cpu_millis: 8_000,
            memory_mib: 32_768,
            network_mbps: 5_000,
            accelerators: 2,
        };
        assert_eq!(chained, by_position);
        assert_eq!(spec.build().unwrap(), by_position);
        assert_eq!(ResourceSpec::from(by_position), spec);
        // Each builder checks its own dimension.
        let err = Resources::cpu_mem(1, 1)
            .and_then(|r| r.with_accelerators(5_000))
            .unwrap_err();
        assert!(matches!(
            err,
            ResourceError::TooLarge {
                dimension: Dimension::Accelerators,
                value: 5_000,
                ..
            }
        ));
        // The serialized form is the spec's.
        assert_eq!(
            serde_json::to_string(&by_position).unwrap(),
            serde_json::to_string(&spec).unwrap()
        );
    }
}
