"""Per-tenant plans on a price table: exact discounts by tenant or app, a
fixed precedence, and a plan change mid-period, against a bill computed by
hand."""

from __future__ import annotations

import dataclasses

import pytest

import trimline
from trimline import Event, Meter, PriceTable, RateUnit, Resources, TenantPlan

HOUR = 3_600_000


def fargate(version: int, effective: int, plans: list[TenantPlan]) -> PriceTable:
    # $0.04048 per vCPU-hour, $0.004445 per GB-hour, exact per hour.
    return PriceTable(
        version=version,
        effective=effective,
        rates_per=RateUnit.HOUR,
        cpu_nanos_per_vcpu_second=40_480_000,
        memory_nanos_per_gib_second=4_445_000,
        plans=plans,
    )


def test_plans_by_tenant_and_app_and_a_plan_change_mid_period() -> None:
    m = Meter()
    # v1: acme 15% off, acme/batch 50% off; from 30 min, v2: acme 20% off
    # for every app.
    m.add_price_table(
        fargate(1, 0, [TenantPlan("acme", 1_500), TenantPlan("acme", 5_000, app="batch")])
    )
    m.add_price_table(fargate(2, 30 * 60_000, [TenantPlan("acme", 2_000)]))
    shape = Resources(cpu_millis=1_000, memory_mib=1_024)
    events: list[Event] = []
    for instance, (tenant, app) in enumerate([("acme", "web"), ("acme", "batch"), ("zeta", "web")]):
        events.append(Event(len(events) + 1, tenant, app, instance, 0, "started", shape))
        events.append(Event(len(events) + 1, tenant, app, instance, HOUR, "stopped"))
    assert m.ingest_batch(events, 2 * HOUR).refused is None
    acme, zeta = m.close_period(2 * HOUR, 2 * HOUR).invoices
    # Half an hour of 1 vCPU and 1 GiB under each version:
    #   batch v1 (50%): 20,240,000 / 2 + 2,222,500 / 2 = 10,120,000 + 1,111,250
    #   batch v2 (20%): 32,384,000 / 2 + 3,556,000 / 2 = 16,192,000 + 1,778,000
    #   web   v1 (15%): 34,408,000 / 2 + 3,778,250 / 2 = 17,204,000 + 1,889,125
    #   web   v2 (20%): 16,192,000 + 1,778,000
    assert [(ln.app, ln.price_version, ln.component, ln.rate_nanos, ln.amount_nanos) for ln in acme.lines] == [
        ("batch", 1, "cpu", 20_240_000, 10_120_000),
        ("batch", 1, "memory", 2_222_500, 1_111_250),
        ("batch", 2, "cpu", 32_384_000, 16_192_000),
        ("batch", 2, "memory", 3_556_000, 1_778_000),
        ("web", 1, "cpu", 34_408_000, 17_204_000),
        ("web", 1, "memory", 3_778_250, 1_889_125),
        ("web", 2, "cpu", 32_384_000, 16_192_000),
        ("web", 2, "memory", 3_556_000, 1_778_000),
    ]
    assert acme.total_nanos == 66_264_375
    # zeta has no plan: list prices for the hour.
    assert zeta.tenant == "zeta"
    assert zeta.total_nanos == 40_480_000 + 4_445_000


def test_plans_are_validated_and_a_refused_table_changes_nothing() -> None:
    m = Meter()
    # 3 basis points off 4,445,000 is 4,443,666.5 nano-units.
    with pytest.raises(trimline.InvalidInput, match="memory_nanos_per_gib_second"):
        m.add_price_table(fargate(1, 0, [TenantPlan("acme", 3)]))
    with pytest.raises(trimline.InvalidInput, match="10,000"):
        m.add_price_table(fargate(1, 0, [TenantPlan("acme", 10_001)]))
    with pytest.raises(trimline.InvalidInput, match="two plans"):
        m.add_price_table(fargate(1, 0, [TenantPlan("acme", 100, "web"), TenantPlan("acme", 200, "web")]))
    # Nothing was added: version 1 is still free. A dict in the core's shape
    # works as well as the dataclass; 100% off is exact.
    table = dataclasses.asdict(fargate(1, 0, []))
    table["plans"] = [{"tenant": "acme", "discount_basis_points": 10_000}]
    m.add_price_table(table)
    shape = Resources(cpu_millis=1_000, memory_mib=1_024)
    started = Event(1, "acme", "web", 1, 0, "started", shape)
    assert m.ingest_batch([started, Event(2, "acme", "web", 1, HOUR, "stopped")], HOUR).refused is None
    (invoice,) = m.close_period(2 * HOUR, 2 * HOUR).invoices
    assert [ln.rate_nanos for ln in invoice.lines] == [0, 0]
    assert invoice.total_nanos == 0


def test_idle_accelerators_at_their_own_rate() -> None:
    # A GPU at $2.48 per accelerator-hour, idle at a tenth: two GPUs active
    # for 1 h (4,960,000,000) and idle for 0.5 h (248,000,000).
    m = Meter()
    m.add_price_table(
        PriceTable(
            version=1,
            effective=0,
            rates_per=RateUnit.HOUR,
            cpu_nanos_per_vcpu_second=0,
            memory_nanos_per_gib_second=0,
            accelerator_nanos_per_second=2_480_000_000,
            idle_accelerator_nanos_per_second=248_000_000,
        )
    )
    shape = Resources(cpu_millis=1_000, memory_mib=1_024, accelerators=2)
    events = [
        Event(1, "acme", "train", 1, 0, "started", shape),
        Event(2, "acme", "train", 1, HOUR, "idle"),
        Event(3, "acme", "train", 1, 3 * HOUR // 2, "stopped"),
    ]
    assert m.ingest_batch(events, 2 * HOUR).refused is None
    (invoice,) = m.close_period(2 * HOUR, 2 * HOUR).invoices
    gpu = [(ln.component, ln.quantity, ln.amount_nanos) for ln in invoice.lines if "accelerators" in ln.component]
    assert gpu == [("accelerators", 7_200_000, 4_960_000_000), ("idle_accelerators", 3_600_000, 248_000_000)]
    assert invoice.total_nanos == 5_208_000_000
