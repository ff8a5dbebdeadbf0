"""Prices by what was delivered: rates by architecture and zone, with their
precedence, across a price change mid-period, against a hand-computed bill."""

from __future__ import annotations

import pytest

import trimline
from trimline import Arch, Event, Meter, PriceTable, RateUnit, Resources, SkuInfo, SkuRate

HOUR = 3_600_000


def table(version: int, effective: int, arm_cpu: int, arm_mem: int) -> PriceTable:
    # Fargate Linux/x86 list prices per hour ($0.04048 per vCPU-hour,
    # $0.004445 per GB-hour); ARM SKUs at their own rates, and ARM in
    # us-east-1a at 30,000,000 and 3,000,000 (arch + zone beats arch).
    return PriceTable(
        version=version,
        effective=effective,
        rates_per=RateUnit.HOUR,
        cpu_nanos_per_vcpu_second=40_480_000,
        memory_nanos_per_gib_second=4_445_000,
        sku_rates=[
            SkuRate(arch=Arch.AARCH64, cpu_nanos_per_vcpu_second=arm_cpu, memory_nanos_per_gib_second=arm_mem),
            SkuRate(
                arch=Arch.AARCH64,
                zone="us-east-1a",
                cpu_nanos_per_vcpu_second=30_000_000,
                memory_nanos_per_gib_second=3_000_000,
            ),
        ],
    )


def test_arm_and_zone_rates_across_a_price_change() -> None:
    m = Meter()
    # Fargate Linux/ARM ($0.03238, $0.00356) for the first hour, then lower.
    m.add_price_table(table(1, 0, 32_380_000, 3_560_000))
    m.add_price_table(table(2, HOUR, 25_000_000, 2_500_000))
    m.describe_sku(SkuInfo(sku="c6g", family="c6g", arch=Arch.AARCH64, zone="us-east-1b"))
    m.describe_sku({"sku": "c7g", "family": "c7g", "arch": "aarch64", "zone": "us-east-1a"})
    m.describe_sku(SkuInfo(sku="c7i", family="c7i", arch=Arch.X86_64))
    shape = Resources(cpu_millis=1_000, memory_mib=2_048)
    events = []
    for instance, sku in enumerate(["c6g", "c7g", "c7i"], start=1):
        events.append(Event(2 * instance, "acme", "web", instance, 0, "started", shape, sku))
        events.append(Event(2 * instance + 1, "acme", "web", instance, 2 * HOUR, "stopped"))
    assert m.ingest_batch(events, 2 * HOUR).refused is None
    (invoice,) = m.close_period(2 * HOUR, 2 * HOUR).invoices
    # c6g (arch):        32,380,000 + 2 x 3,560,000 = 39,500,000, then
    #                    25,000,000 + 2 x 2,500,000 = 30,000,000
    # c7g (arch + zone): 2 x (30,000,000 + 2 x 3,000,000) = 72,000,000
    # c7i (list):        2 x (40,480,000 + 2 x 4,445,000) = 98,740,000
    got = [(line.price_version, line.sku, line.component, line.rate_nanos, line.amount_nanos) for line in invoice.lines]
    assert got == [
        (1, "c6g", "cpu", 32_380_000, 32_380_000),
        (1, "c6g", "memory", 3_560_000, 7_120_000),
        (1, "c7g", "cpu", 30_000_000, 30_000_000),
        (1, "c7g", "memory", 3_000_000, 6_000_000),
        (1, "c7i", "cpu", 40_480_000, 40_480_000),
        (1, "c7i", "memory", 4_445_000, 8_890_000),
        (2, "c6g", "cpu", 25_000_000, 25_000_000),
        (2, "c6g", "memory", 2_500_000, 5_000_000),
        (2, "c7g", "cpu", 30_000_000, 30_000_000),
        (2, "c7g", "memory", 3_000_000, 6_000_000),
        (2, "c7i", "cpu", 40_480_000, 40_480_000),
        (2, "c7i", "memory", 4_445_000, 8_890_000),
    ]
    assert invoice.total_nanos == 69_500_000 + 72_000_000 + 98_740_000


def test_descriptions_are_fixed_and_survive_a_snapshot() -> None:
    m = Meter()
    m.describe_sku(SkuInfo(sku="c6g", arch=Arch.AARCH64))
    m.describe_sku(SkuInfo(sku="c6g", arch=Arch.AARCH64))
    with pytest.raises(trimline.Conflict, match="c6g"):
        m.describe_sku(SkuInfo(sku="c6g", arch=Arch.X86_64))
    restored = Meter.restore(m.snapshot())
    with pytest.raises(trimline.Conflict, match="c6g"):
        restored.describe_sku(SkuInfo(sku="c6g", arch=Arch.X86_64))


def test_a_sku_rate_that_selects_nothing_is_refused() -> None:
    t = table(1, 0, 1, 1)
    t.sku_rates.append(SkuRate(cpu_nanos_per_vcpu_second=1, memory_nanos_per_gib_second=1))
    with pytest.raises(trimline.InvalidInput, match="names no sku"):
        Meter().add_price_table(t)
