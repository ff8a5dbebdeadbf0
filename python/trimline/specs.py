"""Specs: what you declare to the scheduler and the meter.

Each spec is a dataclass whose fields are the core's documented serde
shape, with the core's defaults, so ``SkuSpec(...)``, ``AppSpec(...)`` and
the policies read like the JSON the Rust core accepts. The native module
converts them field by field and the core validates them; nothing here
holds scheduling logic. A plain ``dict`` in the same shape is accepted
wherever a spec is.

Enums are ``str`` enums whose values are the core's names, so ``"x86_64"``
and ``Arch.X86_64`` are interchangeable. Times are ``int`` milliseconds, or
an aware ``datetime`` or a ``timedelta``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Arch(str, enum.Enum):
    """A CPU architecture."""

    X86_64 = "x86_64"
    AARCH64 = "aarch64"


class QosTier(str, enum.Enum):
    """``rigid`` instances are never preempted; ``best_effort`` ones may be."""

    RIGID = "rigid"
    BEST_EFFORT = "best_effort"


class NumaPolicy(str, enum.Enum):
    """``single_node`` keeps a whole instance on one NUMA node."""

    ANY = "any"
    SINGLE_NODE = "single_node"


class Isolation(str, enum.Enum):
    """``dedicated_hosts`` keeps an app off every host that holds another
    tenant's instances, and every other tenant off its hosts."""

    SHARED_HOSTS = "shared_hosts"
    DEDICATED_HOSTS = "dedicated_hosts"


class WhenUnsatisfiable(str, enum.Enum):
    """What a spread constraint does when it cannot be met."""

    DO_NOT_SCHEDULE = "do_not_schedule"
    SCHEDULE_ANYWAY = "schedule_anyway"


class OnExhaustion(str, enum.Enum):
    """What substitution does when every listed tier is exhausted."""

    USE_ANY_EQUIVALENT = "use_any_equivalent"
    STAY_PENDING = "stay_pending"


class ZoneState(str, enum.Enum):
    """A zone's state."""

    UP = "up"
    DOWN = "down"
    DRAINING = "draining"


class HostState(str, enum.Enum):
    """A host's state (``planned`` hosts are managed by the scheduler)."""

    READY = "ready"
    CORDONED = "cordoned"
    PLANNED = "planned"


class BatchMode(str, enum.Enum):
    """``partial``: what does not fit waits; ``all_or_nothing``: all or none."""

    PARTIAL = "partial"
    ALL_OR_NOTHING = "all_or_nothing"


class ProvisionFailure(str, enum.Enum):
    """Why provisioning failed."""

    INSUFFICIENT_STOCK = "insufficient_stock"
    OTHER = "other"


class Rounding(str, enum.Enum):
    """How an invoice total is rounded, once."""

    DOWN = "down"
    UP = "up"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


class SubSecond(str, enum.Enum):
    """How a run's duration is rounded before the minimum applies."""

    ROUND_UP = "round_up"
    EXACT = "exact"


class RateUnit(str, enum.Enum):
    """The time unit a price table's rates are quoted in."""

    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"


@dataclass
class Resources:
    """What an instance needs, or what a host or NUMA node offers."""

    cpu_millis: int
    memory_mib: int
    network_mbps: int = 0
    accelerators: int = 0


@dataclass(kw_only=True)
class SkuSpec:
    """An instance type of the catalog. ``numa_nodes`` empty means one node."""

    id: str
    family: str
    generation: int
    arch: Arch | str
    cpu_vendor: str
    allocatable: Resources
    perf_score: int
    price_nanos_per_second: int
    numa_nodes: list[Resources] = field(default_factory=list)
    features: set[str] = field(default_factory=set)
    accelerator_model: str | None = None
    local_disk: str | None = None


@dataclass(kw_only=True)
class SpreadPolicy:
    """How an app spreads over zones."""

    zones: list[str] = field(default_factory=list)
    weights: dict[str, int] = field(default_factory=dict)
    max_skew: int | None = None
    min_zones: int = 0
    when_unsatisfiable: WhenUnsatisfiable | str = WhenUnsatisfiable.DO_NOT_SCHEDULE
    disruption_budget: int = 1


@dataclass(kw_only=True)
class MemoryRatio:
    """A band of MiB per vCPU a substitute SKU must fall in."""

    min_mib_per_vcpu: int
    max_mib_per_vcpu: int


@dataclass(kw_only=True)
class SubstitutionPolicy:
    """Which other SKUs an app accepts when its own is short."""

    max_premium_percent: int = 20
    tiers: list[list[str]] = field(default_factory=list)
    on_exhaustion: OnExhaustion | str = OnExhaustion.USE_ANY_EQUIVALENT
    memory_ratio: MemoryRatio | None = None
    max_oversize_percent: int | None = None
    disruption_budget: int = 1


@dataclass(kw_only=True)
class ImageRef:
    """An app's image for one architecture: digest and bytes to pull."""

    digest: str
    size_bytes: int


@dataclass(kw_only=True)
class OfferingFigures:
    """An offering's provisioning time and image pull rate (MB/s, 10^6 bytes)."""

    sku: str
    zone: str
    provision_seconds: int
    pull_mb_per_second: int


@dataclass(kw_only=True)
class AppSpec:
    """An app: what each instance needs and every placement policy."""

    id: str
    tenant: str
    resources: Resources
    arches: set[Arch | str] = field(default_factory=lambda: {Arch.X86_64})
    features: set[str] = field(default_factory=set)
    min_perf_score: int = 0
    qos: QosTier | str = QosTier.RIGID
    numa: NumaPolicy | str = NumaPolicy.ANY
    spread: SpreadPolicy = field(default_factory=SpreadPolicy)
    priority: int = 0
    sku: str | None = None
    accelerator_model: str | None = None
    local_disk: str | None = None
    substitution: SubstitutionPolicy = field(default_factory=SubstitutionPolicy)
    images: dict[Arch | str, ImageRef] = field(default_factory=dict)
    isolation: Isolation | str = Isolation.SHARED_HOSTS


@dataclass(kw_only=True)
class Config:
    """Scheduler tuning; every field has the core's default."""

    candidates_per_class: int = 2
    classes_per_zone: int = 1
    preemption_candidates: int = 8
    max_batch: int = 1_000_000
    search_budget: int = 16
    backoff_initial_ms: int = 180_000
    backoff_max_ms: int = 3_600_000
    image_locality_weight: int = 1


@dataclass(kw_only=True)
class InvoiceRule:
    """The unit invoices are rounded to (nano-units) and how."""

    unit_nanos: int = 1
    rounding: Rounding | str = Rounding.HALF_UP


@dataclass(kw_only=True)
class MeterConfig:
    """Meter tuning; every field has the core's default."""

    origin: int | datetime | timedelta = 0
    allowed_lateness_ms: int = 300_000
    max_clock_skew_ms: int = 5_000
    adjustment_window_ms: int = 3_600_000
    invoice: InvoiceRule = field(default_factory=InvoiceRule)
    history_periods: int = 12


@dataclass
class TenantPlan:
    """A tenant's discount, in basis points (1,500 for 15%), off every rate
    of the ``PriceTable`` that lists it; with ``app``, for that app alone.
    A line is priced by the plan naming its tenant and app, else the one
    naming its tenant alone, else at list prices. Each discounted rate must
    be a whole number of nano-units (the table is refused otherwise)."""

    tenant: str
    discount_basis_points: int
    app: str | None = None


@dataclass(kw_only=True)
class SkuRate:
    """Rates for the delivered SKUs a selector matches, in place of the
    ``PriceTable``'s own, in its ``rates_per``. The selector is the fields
    set among ``sku``, ``family``, ``accelerator_model``, ``arch`` and
    ``zone`` (at least one), matched against what ``Meter.describe_sku``
    told the meter; the most specific matching selector wins, comparing
    them in that order. Tenant plans discount these rates too."""

    cpu_nanos_per_vcpu_second: int
    memory_nanos_per_gib_second: int
    accelerator_nanos_per_second: int = 0
    sku: str | None = None
    family: str | None = None
    accelerator_model: str | None = None
    arch: Arch | str | None = None
    zone: str | None = None
    idle_cpu_nanos_per_vcpu_second: int | None = None
    idle_memory_nanos_per_gib_second: int | None = None
    idle_accelerator_nanos_per_second: int | None = None
    standby_memory_nanos_per_gib_second: int | None = None

    def __post_init__(self) -> None:
        if self.idle_cpu_nanos_per_vcpu_second is None:
            self.idle_cpu_nanos_per_vcpu_second = self.cpu_nanos_per_vcpu_second


@dataclass(kw_only=True)
class SkuInfo:
    """What a delivered SKU is, for ``SkuRate`` selectors: its family,
    architecture, accelerator model and zone (or region). Fixed once told
    to a meter."""

    sku: str
    family: str | None = None
    arch: Arch | str | None = None
    accelerator_model: str | None = None
    zone: str | None = None


@dataclass(kw_only=True)
class VolumeTier:
    """A volume tier of a ``PriceTable``: a tenant's usage of one
    ``component`` (``cpu``, ``idle_cpu``, ``memory``, ``idle_memory``,
    ``accelerators``, ``idle_accelerators`` or ``standby_memory``) in a period, from ``start``
    units of the table's rates on (vCPU, GiB or accelerator times
    ``rates_per``: 1,000 vCPU-hours for 1,000 with rates per hour), is
    priced at ``rate_nanos`` up to the next tier's start; below a
    component's first tier, at the table's own rate. Usage counts per
    tenant, period and resource line, over all its apps in invoice line
    order (apps by name, then price version, then SKU); a line crossing a
    start is split there. Tenant plans discount tier rates too."""

    component: str
    start: int
    rate_nanos: int


@dataclass(kw_only=True)
class FreeQuota:
    """A free quota of a ``PriceTable``: the first ``quantity`` units of
    one ``component`` a tenant uses in each period (in units of the table's
    rates, as for ``VolumeTier``) cost nothing; its apps share it in
    invoice line order. Free usage counts toward the tiers."""

    component: str
    quantity: int


@dataclass(kw_only=True)
class PriceTable:
    """A versioned price table; rates are ``int`` nano-units per
    ``rates_per`` (a second by default, or a minute or an hour, as the price
    book publishes them) of one unit (vCPU, GiB, accelerator). Idle rates
    default to the active ones (``idle_memory_nanos_per_gib_second``
    ``None``: idle memory is billed on the memory line; likewise
    ``idle_accelerator_nanos_per_second`` for idle accelerators). Standby
    instances (created stopped, holding their capacity) pay no CPU, their
    memory at ``standby_memory_nanos_per_gib_second`` (at most the memory
    rate; ``None``: the memory rate, on the memory line) and their
    accelerators as idle accelerators. With ``round_up``,
    each run is rounded up to whole ``billing_increment_seconds`` (60 for
    per-minute billing)."""

    version: int
    effective: int | datetime | timedelta
    cpu_nanos_per_vcpu_second: int
    memory_nanos_per_gib_second: int
    accelerator_nanos_per_second: int = 0
    idle_cpu_nanos_per_vcpu_second: int | None = None
    idle_memory_nanos_per_gib_second: int | None = None
    idle_accelerator_nanos_per_second: int | None = None
    standby_memory_nanos_per_gib_second: int | None = None
    minimum_run_seconds: int = 0
    sub_second: SubSecond | str = SubSecond.ROUND_UP
    rates_per: RateUnit | str = RateUnit.SECOND
    billing_increment_seconds: int = 1
    plans: list[TenantPlan] = field(default_factory=list)
    sku_rates: list[SkuRate] = field(default_factory=list)
    tiers: list[VolumeTier] = field(default_factory=list)
    free_quotas: list[FreeQuota] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.idle_cpu_nanos_per_vcpu_second is None:
            self.idle_cpu_nanos_per_vcpu_second = self.cpu_nanos_per_vcpu_second


__all__ = [
    "AppSpec",
    "Arch",
    "BatchMode",
    "Config",
    "HostState",
    "InvoiceRule",
    "Isolation",
    "MemoryRatio",
    "MeterConfig",
    "NumaPolicy",
    "OnExhaustion",
    "PriceTable",
    "ProvisionFailure",
    "QosTier",
    "Resources",
    "RateUnit",
    "Rounding",
    "SkuInfo",
    "SkuRate",
    "SkuSpec",
    "SpreadPolicy",
    "SubSecond",
    "SubstitutionPolicy",
    "TenantPlan",
    "WhenUnsatisfiable",
    "ZoneState",
    "VolumeTier",
    "FreeQuota",
]
