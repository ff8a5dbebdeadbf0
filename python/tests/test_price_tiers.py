"""Volume tiers and free quotas on a price table: a quota shared by a
tenant's apps, a tier boundary crossed inside one run and a price change
mid-period, against a bill computed by hand."""

from __future__ import annotations

import pytest

import trimline
from trimline import Event, FreeQuota, Meter, PriceTable, RateUnit, Resources, VolumeTier

MINUTE = 60_000
HOUR = 3_600_000
VCPU_HOUR = 3_600_000_000  # millicore-ms


def table(version: int, effective: int, cpu: int, tier_rate: int) -> PriceTable:
    # Per vCPU-hour; memory free; the first vCPU-hour of each period free,
    # then the CPU rate, then tier_rate from 3 vCPU-hours on.
    return PriceTable(
        version=version,
        effective=effective,
        rates_per=RateUnit.HOUR,
        cpu_nanos_per_vcpu_second=cpu,
        memory_nanos_per_gib_second=0,
        free_quotas=[FreeQuota(component="cpu", quantity=1)],
        tiers=[VolumeTier(component="cpu", start=3, rate_nanos=tier_rate)],
    )


def test_quota_and_tiers_across_apps_and_a_price_change() -> None:
    m = Meter()
    m.add_price_table(table(1, 0, 40_480_000, 30_000_000))
    m.add_price_table(table(2, HOUR, 36_000_000, 24_000_000))
    events: list[Event] = []

    def run(app: str, instance: int, millis: int, start: int, stop: int) -> None:
        shape = Resources(cpu_millis=millis, memory_mib=1_024)
        events.append(Event(len(events) + 1, "acme", app, instance, start, "started", shape))
        events.append(Event(len(events) + 1, "acme", app, instance, stop, "stopped"))

    # api (first by name): 2 vCPU for 45 min = 1.5 vCPU-hours under v1,
    # crossing the end of the quota. web: 1 vCPU for 2.5 h, 1 vCPU-hour
    # under v1 (positions 1.5 to 2.5), 1.5 under v2 (2.5 to 4), crossing
    # the tier start at 3 inside the run.
    run("api", 1, 2_000, 0, 45 * MINUTE)
    run("web", 2, 1_000, 0, 150 * MINUTE)
    assert m.ingest_batch(events, 5 * HOUR).refused is None
    (inv,) = m.close_period(4 * HOUR, 5 * HOUR).invoices
    cpu = [
        (ln.app, ln.price_version, ln.quantity, ln.rate_nanos, ln.tier, ln.free_quota, ln.amount_nanos)
        for ln in inv.lines
        if ln.component == "cpu"
    ]
    assert cpu == [
        ("api", 1, VCPU_HOUR, 0, None, True, 0),
        ("api", 1, VCPU_HOUR // 2, 40_480_000, None, False, 20_240_000),
        ("web", 1, VCPU_HOUR, 40_480_000, None, False, 40_480_000),
        ("web", 2, VCPU_HOUR // 2, 36_000_000, None, False, 18_000_000),
        ("web", 2, VCPU_HOUR, 24_000_000, 0, False, 24_000_000),
    ]
    assert inv.total_nanos == 102_720_000


def test_bad_tiers_are_refused_and_dicts_work() -> None:
    m = Meter()
    bad = table(1, 0, 40_480_000, 30_000_000)
    bad.tiers.append(VolumeTier(component="cpu", start=2, rate_nanos=1))
    with pytest.raises(trimline.InvalidInput, match="tier"):
        m.add_price_table(bad)
    bad = table(1, 0, 40_480_000, 30_000_000)
    bad.free_quotas.append(FreeQuota(component="cpu", quantity=2))
    with pytest.raises(trimline.InvalidInput, match="free quota"):
        m.add_price_table(bad)
    # Nothing was added; a dict in the core's shape works too.
    m.add_price_table(
        {
            "version": 1,
            "effective": 0,
            "cpu_nanos_per_vcpu_second": 10,
            "idle_cpu_nanos_per_vcpu_second": 10,
            "memory_nanos_per_gib_second": 0,
            "accelerator_nanos_per_second": 0,
            "free_quotas": [{"component": "cpu", "quantity": 60}],
        }
    )
    shape = Resources(cpu_millis=1_000, memory_mib=1_024)
    started = Event(1, "acme", "web", 1, 0, "started", shape)
    stopped = Event(2, "acme", "web", 1, 90_000, "stopped")
    assert m.ingest_batch([started, stopped], HOUR).refused is None
    (inv,) = m.close_period(HOUR, HOUR).invoices
    # 90 vCPU-seconds: 60 free, 30 at 10 nano-units.
    assert [(ln.quantity, ln.free_quota, ln.amount_nanos) for ln in inv.lines if ln.component == "cpu"] == [
        (60_000_000, True, 0),
        (30_000_000, False, 300),
    ]
