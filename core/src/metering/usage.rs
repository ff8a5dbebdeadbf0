//! Usage: exact integer quantities (resource × milliseconds), the records
//! emitted per (tenant, app, period), and the adjustments that correct
//! closed periods.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{AppId, InstanceId, SkuId, SourceId, TenantId, ZoneId};
use crate::resources::Resources;
use crate::time::Timestamp;

use super::error::MeterError;
use super::event::EventId;

/// A billing period, numbered from 0 in the order periods are closed.
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
#[serde(transparent)]
pub struct PeriodId(pub u64);

impl fmt::Display for PeriodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "period-{}", self.0)
    }
}

/// A closed period: the half-open interval `[start, end)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Period {
    /// Its number.
    pub id: PeriodId,
    /// First millisecond in it.
    pub start: Timestamp,
    /// First millisecond after it.
    pub end: Timestamp,
}

/// One billed component of usage; each has its own rate in a
/// [`PriceTable`](super::PriceTable) and its own invoice line.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Component {
    /// CPU of active instances, in millicore-milliseconds.
    Cpu,
    /// CPU of idle instances, in millicore-milliseconds (discounted).
    IdleCpu,
    /// Memory of active instances, in MiB-milliseconds.
    Memory,
    /// Memory of idle instances, in MiB-milliseconds. Billed on a line of
    /// its own only when the table sets an idle memory rate; otherwise it
    /// is billed on the [`Memory`](Component::Memory) line.
    IdleMemory,
    /// Accelerators of active instances (and of idle ones, without an idle
    /// accelerator rate), in accelerator-milliseconds.
    Accelerators,
    /// Accelerators of idle instances, in accelerator-milliseconds. Billed
    /// on a line of its own only when the table sets an idle accelerator
    /// rate; otherwise on the [`Accelerators`](Component::Accelerators)
    /// line.
    IdleAccelerators,
    /// Memory of standby instances (created, stopped, holding their
    /// capacity), in MiB-milliseconds. Billed on a line of its own only
    /// when the table sets a standby memory rate; otherwise on the
    /// [`Memory`](Component::Memory) line. A standby's CPU is not billed,
    /// and its accelerators, held but unused, are idle accelerators.
    StandbyMemory,
}

impl Component {
    /// Every component, in line order.
    pub const ALL: [Component; 7] = [
        Component::Cpu,
        Component::IdleCpu,
        Component::Memory,
        Component::IdleMemory,
        Component::Accelerators,
        Component::IdleAccelerators,
        Component::StandbyMemory,
    ];

    /// The unit of its quantity.
    pub const fn unit(self) -> &'static str {
        match self {
            Component::Cpu | Component::IdleCpu => "millicore-ms",
            Component::Memory | Component::IdleMemory | Component::StandbyMemory => "MiB-ms",
            Component::Accelerators | Component::IdleAccelerators => "accelerator-ms",
        }
    }

    /// Sub-nano-units per (quantity unit × nano-unit per unit-second): the
    /// exact amount of a line is `quantity × rate × factor` sub-nanos for a
    /// rate per second, and that divided by 60 or 3,600 (exactly, as the
    /// factor holds 3,600) for a rate per minute or per hour.
    ///
    /// * CPU: 1 millicore-ms = 10⁻⁶ vCPU-s: 460,800,000,000 / 10⁶ = 460,800.
    /// * Memory: 1 MiB-ms = 1 / 1,024,000 GiB-s: 460,800,000,000 / 1,024,000 = 450,000.
    /// * Accelerators: 1 accelerator-ms = 10⁻³ accelerator-s: 460,800,000.
    pub const fn subnanos_factor(self) -> i128 {
        match self {
            Component::Cpu | Component::IdleCpu => 460_800,
            Component::Memory | Component::IdleMemory | Component::StandbyMemory => 450_000,
            Component::Accelerators | Component::IdleAccelerators => 460_800_000,
        }
    }

    /// Short name.
    pub const fn name(self) -> &'static str {
        match self {
            Component::Cpu => "cpu",
            Component::IdleCpu => "idle_cpu",
            Component::Memory => "memory",
            Component::IdleMemory => "idle_memory",
            Component::Accelerators => "accelerators",
            Component::IdleAccelerators => "idle_accelerators",
            Component::StandbyMemory => "standby_memory",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Exact usage quantities, billed on the requested shape. Signed, because
/// an [`Adjustment`] may take usage back; usage in a [`UsageRecord`] is
/// never negative.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    /// Instance-milliseconds billed, active, idle and standby, rounding and
    /// minimum included.
    pub instance_ms: i128,
    /// Of `instance_ms`, what rounding and minimums added at the end of runs.
    pub top_up_ms: i128,
    /// Active CPU, millicore-milliseconds.
    pub cpu_millicore_ms: i128,
    /// Idle CPU, millicore-milliseconds.
    pub idle_cpu_millicore_ms: i128,
    /// Active memory, MiB-milliseconds.
    pub memory_mib_ms: i128,
    /// Idle memory, MiB-milliseconds.
    pub idle_memory_mib_ms: i128,
    /// Accelerators of active instances, accelerator-milliseconds.
    pub accelerator_ms: i128,
    /// Accelerators of idle instances, accelerator-milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub idle_accelerator_ms: i128,
    /// Memory of standby instances, MiB-milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub standby_memory_mib_ms: i128,
}

fn is_zero(v: &i128) -> bool {
    *v == 0
}

fn add(a: i128, b: i128) -> Result<i128, MeterError> {
    a.checked_add(b)
        .ok_or_else(|| MeterError::Overflow { what: "usage" })
}

fn mul(a: u32, ms: u64) -> Result<i128, MeterError> {
    i128::from(a)
        .checked_mul(i128::from(ms))
        .ok_or_else(|| MeterError::Overflow { what: "usage" })
}

impl Usage {
    /// The quantity of one component.
    pub const fn quantity(&self, component: Component) -> i128 {
        match component {
            Component::Cpu => self.cpu_millicore_ms,
            Component::IdleCpu => self.idle_cpu_millicore_ms,
            Component::Memory => self.memory_mib_ms,
            Component::IdleMemory => self.idle_memory_mib_ms,
            Component::Accelerators => self.accelerator_ms,
            Component::IdleAccelerators => self.idle_accelerator_ms,
            Component::StandbyMemory => self.standby_memory_mib_ms,
        }
    }

    /// True when every quantity is zero.
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// Field-wise sum, or an overflow error.
    pub fn checked_add(&self, other: &Usage) -> Result<Usage, MeterError> {
        Ok(Usage {
            instance_ms: add(self.instance_ms, other.instance_ms)?,
            top_up_ms: add(self.top_up_ms, other.top_up_ms)?,
            cpu_millicore_ms: add(self.cpu_millicore_ms, other.cpu_millicore_ms)?,
            idle_cpu_millicore_ms: add(self.idle_cpu_millicore_ms, other.idle_cpu_millicore_ms)?,
            memory_mib_ms: add(self.memory_mib_ms, other.memory_mib_ms)?,
            idle_memory_mib_ms: add(self.idle_memory_mib_ms, other.idle_memory_mib_ms)?,
            accelerator_ms: add(self.accelerator_ms, other.accelerator_ms)?,
            idle_accelerator_ms: add(self.idle_accelerator_ms, other.idle_accelerator_ms)?,
            standby_memory_mib_ms: add(self.standby_memory_mib_ms, other.standby_memory_mib_ms)?,
        })
    }

    /// Field-wise negation, or an overflow error.
    pub fn checked_neg(&self) -> Result<Usage, MeterError> {
        let neg = |v: i128| {
            v.checked_neg()
                .ok_or_else(|| MeterError::Overflow { what: "usage" })
        };
        Ok(Usage {
            instance_ms: neg(self.instance_ms)?,
            top_up_ms: neg(self.top_up_ms)?,
            cpu_millicore_ms: neg(self.cpu_millicore_ms)?,
            idle_cpu_millicore_ms: neg(self.idle_cpu_millicore_ms)?,
            memory_mib_ms: neg(self.memory_mib_ms)?,
            idle_memory_mib_ms: neg(self.idle_memory_mib_ms)?,
            accelerator_ms: neg(self.accelerator_ms)?,
            idle_accelerator_ms: neg(self.idle_accelerator_ms)?,
            standby_memory_mib_ms: neg(self.standby_memory_mib_ms)?,
        })
    }

    /// Add `ms` milliseconds of an instance of `shape` in `mode`. With
    /// `top_up`, the milliseconds are a run's rounding or minimum.
    /// Inlined: it is the inner step of closing a period.
    #[inline]
    pub(crate) fn add_time(
        &mut self,
        shape: &Resources,
        mode: Mode,
        ms: u64,
        top_up: bool,
    ) -> Result<(), MeterError> {
        let ms_i = i128::from(ms);
        self.instance_ms = add(self.instance_ms, ms_i)?;
        if top_up {
            self.top_up_ms = add(self.top_up_ms, ms_i)?;
        }
        let cpu = mul(shape.cpu_millis(), ms)?;
        let mem = mul(shape.memory_mib(), ms)?;
        let acc = mul(shape.accelerators(), ms)?;
        match mode {
            Mode::Active => {
                self.cpu_millicore_ms = add(self.cpu_millicore_ms, cpu)?;
                self.memory_mib_ms = add(self.memory_mib_ms, mem)?;
                self.accelerator_ms = add(self.accelerator_ms, acc)?;
            }
            Mode::Idle => {
                self.idle_cpu_millicore_ms = add(self.idle_cpu_millicore_ms, cpu)?;
                self.idle_memory_mib_ms = add(self.idle_memory_mib_ms, mem)?;
                self.idle_accelerator_ms = add(self.idle_accelerator_ms, acc)?;
            }
            Mode::Standby => {
                self.standby_memory_mib_ms = add(self.standby_memory_mib_ms, mem)?;
                self.idle_accelerator_ms = add(self.idle_accelerator_ms, acc)?;
            }
        }
        Ok(())
    }
}

/// What a running instance is doing, for billing: set by the
/// [`Idle`](super::EventKind::Idle), [`Active`](super::EventKind::Active)
/// and [`Standby`](super::EventKind::Standby) events.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Mode {
    /// Working: every component at its active rate.
    #[default]
    Active = 0,
    /// Idle: the idle rates.
    Idle = 1,
    /// A stopped standby holding its capacity: no CPU, memory at the
    /// standby memory rate, accelerators as idle accelerators.
    Standby = 2,
}

/// Usage priced by one price table version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PricedUsage {
    /// The price table version in force.
    pub price_version: u64,
    /// The usage.
    pub usage: Usage,
}

/// Billed instance time by the SKU actually delivered, for audit: billing
/// follows the requested shape whatever the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveredUsage {
    /// The SKU the instance ran on, as its events reported it (`None`: not
    /// reported).
    pub sku: Option<SkuId>,
    /// The zone its events named it delivered in (`None`: not named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    /// Instance-milliseconds billed while on it (rounding included).
    pub instance_ms: i128,
}

/// The usage of one app of one tenant in one period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UsageRecord {
    /// The tenant.
    pub tenant: TenantId,
    /// The app.
    pub app: AppId,
    /// The source (scheduler or region) of its events (`None`: the
    /// default source; see [`Event::source`](super::Event::source)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceId>,
    /// The period.
    pub period: PeriodId,
    /// Usage, split by the price table in force, in version order.
    pub priced: Vec<PricedUsage>,
    /// The same instance time by delivered SKU and named zone, in that
    /// order (`None` first).
    pub delivered: Vec<DeliveredUsage>,
}

impl UsageRecord {
    /// The usage summed over price versions.
    pub fn total(&self) -> Result<Usage, MeterError> {
        self.priced
            .iter()
            .try_fold(Usage::default(), |acc, p| acc.checked_add(&p.usage))
    }
}

/// An append-only correction of a closed period, made by an event that
/// arrived after its period closed. It is billed in the period during which
/// it was recorded, at the prices in force in the period it corrects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Adjustment {
    /// The late event that caused it.
    pub event: EventId,
    /// The tenant.
    pub tenant: TenantId,
    /// The app.
    pub app: AppId,
    /// The instance.
    pub instance: InstanceId,
    /// The source (scheduler or region) of the event (`None`: the
    /// default source; see [`Event::source`](super::Event::source)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceId>,
    /// The closed period it corrects.
    pub corrects: PeriodId,
    /// The open period it was recorded in and is billed in.
    pub recorded_in: PeriodId,
    /// The price table version in force over the corrected time.
    pub price_version: u64,
    /// The delivered SKU, when that table has SKU rates (see
    /// [`InvoiceLine::sku`](super::InvoiceLine::sku)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<SkuId>,
    /// The zone the events named, when that table has SKU rates (see
    /// [`InvoiceLine::zone`](super::InvoiceLine::zone)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    /// What to add to the corrected period's usage (negative takes back).
    pub usage: Usage,
}
