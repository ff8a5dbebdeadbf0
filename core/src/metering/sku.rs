//! Prices by what was delivered: the meter is told each delivered SKU's
//! family, architecture, accelerator model and zone ([`SkuInfo`]), and a
//! price table may carry rates for the SKUs a selector matches
//! ([`SkuRate`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalog::{Arch, SkuSpec};
use crate::ids::{Label, SkuId, ZoneId};

use super::price::{PriceError, PriceTable};
use super::usage::Component;

/// What the meter knows of a delivered SKU: the attributes [`SkuRate`]s
/// select on. Events name the delivered SKU
/// ([`EventKind::Started::delivered`](super::EventKind::Started)); the
/// meter is told its attributes once, with
/// [`Meter::describe_sku`](super::Meter::describe_sku).
///
/// A SKU is priced in one zone or region: a platform whose prices differ
/// by zone names its SKUs per zone (`m7g.large@cn-hangzhou-h`, say) and
/// describes each with its zone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuInfo {
    /// The SKU, as events name it.
    pub sku: SkuId,
    /// Its family (`g7`, `gn7i`).
    #[serde(default)]
    pub family: Option<Label>,
    /// Its CPU architecture.
    #[serde(default)]
    pub arch: Option<Arch>,
    /// The model of its accelerators, if it has any.
    #[serde(default)]
    pub accelerator_model: Option<Label>,
    /// The zone or region it is delivered in.
    #[serde(default)]
    pub zone: Option<ZoneId>,
}

impl SkuInfo {
    /// The family, architecture and accelerator model of a scheduler SKU
    /// (no zone: hosts have zones, SKUs do not).
    pub fn of_spec(spec: &SkuSpec) -> SkuInfo {
        SkuInfo {
            sku: spec.id.clone(),
            family: Some(spec.family.clone()),
            arch: Some(spec.arch),
            accelerator_model: spec.accelerator_model.clone(),
            zone: None,
        }
    }
}

/// Rates for the delivered SKUs a selector matches, in place of the
/// table's own rates, in the table's unit
/// ([`PriceTable::rates_per`]). The rate fields mean what the table's
/// fields of the same names mean; tenant plans discount them as they do
/// the table's.
///
/// **Selector.** Every selector field that is set (`sku`, `family`,
/// `arch`, `accelerator_model`, `zone`; at least one) must equal the
/// delivered SKU's for the rates to apply; the attributes come from the
/// SKU's [`SkuInfo`] (a SKU the meter was not told about matches only a
/// selector naming its id alone, and usage without a delivered SKU pays
/// the table's rates, unless its event named a zone: a selector naming
/// only a zone then applies). The zone compared is the one the event
/// named ([`EventKind::Started::zone`](super::EventKind::Started)), else
/// the one the SKU is described with.
///
/// **Precedence.** When several selectors match, the most specific wins,
/// comparing the fields set in this order: `sku`, then `family`, then
/// `accelerator_model`, then `arch`, then `zone`. A selector naming the
/// SKU beats every other; of two that do not, one naming the family beats
/// one that does not; and so on. Two selectors naming the same fields
/// with the same values are refused, so exactly one selector, or none
/// (list prices), prices each SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuRate {
    /// Select this SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<SkuId>,
    /// Select SKUs of this family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Label>,
    /// Select SKUs with accelerators of this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator_model: Option<Label>,
    /// Select SKUs of this architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// Select SKUs delivered in this zone or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    /// Active CPU, per vCPU and unit of time.
    pub cpu_nanos_per_vcpu_second: i128,
    /// Idle CPU, per vCPU and unit of time; at most the active rate.
    pub idle_cpu_nanos_per_vcpu_second: i128,
    /// Memory, per GiB and unit of time.
    pub memory_nanos_per_gib_second: i128,
    /// Idle memory, per GiB and unit of time (`None`: the memory rate, on
    /// the memory line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_memory_nanos_per_gib_second: Option<i128>,
    /// Accelerators, per accelerator and unit of time.
    pub accelerator_nanos_per_second: i128,
    /// Idle accelerators (`None`: the accelerator rate, on the accelerator
    /// line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_accelerator_nanos_per_second: Option<i128>,
    /// Memory of standby instances (`None`: the memory rate, on the memory
    /// line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby_memory_nanos_per_gib_second: Option<i128>,
}

impl SkuRate {
    /// Rates for the SKUs `selector` matches (its rate fields are ignored),
    /// with these active rates, no idle discount.
    pub fn new(
        selector: SkuSelector,
        cpu_nanos_per_vcpu_second: i128,
        memory_nanos_per_gib_second: i128,
        accelerator_nanos_per_second: i128,
    ) -> SkuRate {
        SkuRate {
            sku: selector.sku,
            family: selector.family,
            accelerator_model: selector.accelerator_model,
            arch: selector.arch,
            zone: selector.zone,
            cpu_nanos_per_vcpu_second,
            idle_cpu_nanos_per_vcpu_second: cpu_nanos_per_vcpu_second,
            memory_nanos_per_gib_second,
            idle_memory_nanos_per_gib_second: None,
            accelerator_nanos_per_second,
            idle_accelerator_nanos_per_second: None,
            standby_memory_nanos_per_gib_second: None,
        }
    }

    /// Whether its selector matches `sku`, described by `info` if the
    /// meter was told about it.
    pub fn matches(&self, sku: &SkuId, info: Option<&SkuInfo>) -> bool {
        self.matches_delivery(Some(sku), info, None)
    }

    /// Whether its selector matches usage delivered on `sku` (described
    /// by `info`, if the meter was told about it) in `zone`, the zone the
    /// event named (`None`: the zone `info` describes). Usage without a
    /// SKU matches only a selector naming nothing but a zone.
    pub fn matches_delivery(
        &self,
        sku: Option<&SkuId>,
        info: Option<&SkuInfo>,
        zone: Option<&ZoneId>,
    ) -> bool {
        fn field<T: PartialEq>(want: &Option<T>, have: Option<&T>) -> bool {
            match want {
                None => true,
                Some(w) => have == Some(w),
            }
        }
        let info = sku.and(info);
        field(&self.sku, sku)
            && field(&self.family, info.and_then(|i| i.family.as_ref()))
            && field(
                &self.accelerator_model,
                info.and_then(|i| i.accelerator_model.as_ref()),
            )
            && field(&self.arch, info.and_then(|i| i.arch.as_ref()))
            && field(
                &self.zone,
                zone.or_else(|| info.and_then(|i| i.zone.as_ref())),
            )
    }

    /// Its specificity: one bit per selector field set, `sku` highest,
    /// then `family`, `accelerator_model`, `arch`, `zone`.
    pub fn specificity(&self) -> u8 {
        u8::from(self.sku.is_some()) << 4
            | u8::from(self.family.is_some()) << 3
            | u8::from(self.accelerator_model.is_some()) << 2
            | u8::from(self.arch.is_some()) << 1
            | u8::from(self.zone.is_some())
    }

    fn selector(&self) -> SkuSelector {
        SkuSelector {
            sku: self.sku.clone(),
            family: self.family.clone(),
            accelerator_model: self.accelerator_model.clone(),
            arch: self.arch,
            zone: self.zone.clone(),
        }
    }

    pub(crate) fn rates(&self) -> Rates {
        Rates {
            cpu: self.cpu_nanos_per_vcpu_second,
            idle_cpu: self.idle_cpu_nanos_per_vcpu_second,
            memory: self.memory_nanos_per_gib_second,
            idle_memory: self.idle_memory_nanos_per_gib_second,
            accelerators: self.accelerator_nanos_per_second,
            idle_accelerators: self.idle_accelerator_nanos_per_second,
            standby_memory: self.standby_memory_nanos_per_gib_second,
        }
    }
}

/// The selector fields of a [`SkuRate`], on their own (for
/// [`SkuRate::new`] and errors).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SkuSelector {
    /// The SKU.
    pub sku: Option<SkuId>,
    /// The family.
    pub family: Option<Label>,
    /// The accelerator model.
    pub accelerator_model: Option<Label>,
    /// The architecture.
    pub arch: Option<Arch>,
    /// The zone or region.
    pub zone: Option<ZoneId>,
}

impl std::fmt::Display for SkuSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        let mut put = |f: &mut std::fmt::Formatter<'_>,
                       name: &str,
                       v: Option<&dyn std::fmt::Display>|
         -> std::fmt::Result {
            if let Some(v) = v {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                write!(f, "{name} = {v}")?;
            }
            Ok(())
        };
        put(f, "sku", self.sku.as_ref().map(|v| v as _))?;
        put(f, "family", self.family.as_ref().map(|v| v as _))?;
        put(
            f,
            "accelerator_model",
            self.accelerator_model.as_ref().map(|v| v as _),
        )?;
        put(f, "arch", self.arch.as_ref().map(|v| v as _))?;
        put(f, "zone", self.zone.as_ref().map(|v| v as _))?;
        if first {
            f.write_str("(nothing)")?;
        }
        Ok(())
    }
}

/// One set of rates: a table's own or a [`SkuRate`]'s.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rates {
    pub(crate) cpu: i128,
    pub(crate) idle_cpu: i128,
    pub(crate) memory: i128,
    pub(crate) idle_memory: Option<i128>,
    pub(crate) accelerators: i128,
    pub(crate) idle_accelerators: Option<i128>,
    pub(crate) standby_memory: Option<i128>,
}

impl Rates {
    /// The rate of one component (an idle or standby rate left unset is
    /// the active one).
    pub(crate) fn of(&self, component: Component) -> i128 {
        match component {
            Component::Cpu => self.cpu,
            Component::IdleCpu => self.idle_cpu,
            Component::Memory => self.memory,
            Component::IdleMemory => self.idle_memory.unwrap_or(self.memory),
            Component::Accelerators => self.accelerators,
            Component::IdleAccelerators => self.idle_accelerators.unwrap_or(self.accelerators),
            Component::StandbyMemory => self.standby_memory.unwrap_or(self.memory),
        }
    }
}

impl PriceTable {
    /// The [`SkuRate`] that prices `sku` (described by `info`, if the meter
    /// was told about it): the most specific matching one, or `None` for
    /// the table's own rates.
    pub fn sku_rate_for(&self, sku: &SkuId, info: Option<&SkuInfo>) -> Option<&SkuRate> {
        self.sku_rates
            .iter()
            .filter(|r| r.matches(sku, info))
            .max_by_key(|r| r.specificity())
    }

    /// The rates that price usage delivered on `sku` (`None`: not
    /// reported), described by `info`, in `zone` (the event's; `None`: the
    /// described one), as [`SkuRate::matches_delivery`] selects them.
    pub(crate) fn rates_for_delivery(
        &self,
        sku: Option<&SkuId>,
        info: Option<&SkuInfo>,
        zone: Option<&ZoneId>,
    ) -> Rates {
        if sku.is_none() && zone.is_none() {
            return self.rates();
        }
        match self
            .sku_rates
            .iter()
            .filter(|r| r.matches_delivery(sku, info, zone))
            .max_by_key(|r| r.specificity())
        {
            Some(r) => r.rates(),
            None => self.rates(),
        }
    }

    /// Check the SKU rates: each selects something, no two select alike,
    /// and each set of rates passes `check` (the table's own checks).
    pub(crate) fn validate_sku_rates(
        &self,
        check: impl Fn(&Rates) -> Result<(), PriceError>,
    ) -> Result<(), PriceError> {
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.sku_rates {
            let selector = r.selector();
            if r.specificity() == 0 {
                return Err(PriceError::EmptySkuSelector);
            }
            check(&r.rates()).map_err(|e| PriceError::InSkuRate {
                selector: selector.clone(),
                error: Box::new(e),
            })?;
            if !seen.insert(selector.clone()) {
                return Err(PriceError::DuplicateSkuRate { selector });
            }
        }
        Ok(())
    }
}
