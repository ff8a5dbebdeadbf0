"""Meter keys and zones per event: two schedulers counting instances from 1
share one meter and are billed apart; an event's zone selects the zone
rates. Each bill is computed by hand."""

from __future__ import annotations

import pytest

import trimline
from trimline import AppSpec, Event, Meter, PriceTable, Resources, SkuInfo, SkuRate

from conftest import G7, region

HOUR = 3_600_000


def meter() -> Meter:
    m = Meter()
    m.add_price_table(
        PriceTable(version=1, effective=0, cpu_nanos_per_vcpu_second=10_000, memory_nanos_per_gib_second=1_000)
    )
    return m


def scheduler() -> trimline.Scheduler:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 1)])
    s.add_app(AppSpec(id="api", tenant="shop", resources=Resources(2000, 4096)), now=0)
    return s


def test_two_schedulers_share_one_meter() -> None:
    m = meter()
    east, west = scheduler(), scheduler()
    assert m.sources() == []

    def call(s: trimline.Scheduler, source: str, target: int, now: int) -> None:
        events = trimline.decision_events(s.scale("api", target, now=now), s, now, source=source)
        assert all(e.source == source for e in events)
        assert all(m.ingest(e, now) == "applied" for e in events)
        assert all(m.ingest(e, now) == "duplicate" for e in events)

    call(east, "east", 2, 0)
    call(west, "west", 1, 0)
    # Both schedulers placed instance 1: each runs in its own source.
    assert m.sources() == ["east", "west"]
    assert m.is_running(1, source="east") and m.is_running(1, source="west")
    assert not m.is_running(1)
    call(west, "west", 0, 30_000)
    assert not m.is_running(1, source="west") and m.is_running(1, source="east")
    call(east, "east", 0, 60_000)
    with pytest.raises(trimline.InvalidInput):
        m.is_running(1, source="no spaces")

    report = m.close_period(HOUR, HOUR)
    (invoice,) = report.invoices
    # 2 vCPU, 4 GiB: 24,000 per instance-second.
    # east: 2 x 60 s x 24,000 = 2,880,000; west: 30 s x 24,000 = 720,000
    assert invoice.total_nanos == 3_600_000
    got = [(line.source, line.component, line.amount_nanos) for line in invoice.lines]
    assert got == [
        ("east", "cpu", 2_400_000),
        ("east", "memory", 480_000),
        ("west", "cpu", 600_000),
        ("west", "memory", 120_000),
    ]
    assert [u["source"] for u in report.usage] == ["east", "west"]


def test_the_same_event_id_in_two_sources_is_two_events() -> None:
    m = meter()
    shape = Resources(1000, 1024)
    a = Event(7, "shop", "api", 1, 0, "started", shape, source="a")
    b = Event(7, "shop", "api", 1, 0, "started", Resources(2000, 2048), source="b")
    assert (m.ingest(a, 0), m.ingest(b, 0), m.ingest(a, 0)) == ("applied", "applied", "duplicate")
    assert a != b and a.source == "a" and Event(8, "shop", "api", 1, 0, "stopped").source is None
    with pytest.raises(trimline.Conflict):
        m.ingest(Event(7, "shop", "api", 2, 0, "started", shape, source="a"), 0)
    # A snapshot keeps the sources; pickling goes through it.
    r = Meter.restore(m.snapshot())
    assert r.is_running(1, source="a") and r.is_running(1, source="b") and not r.is_running(1)


def test_an_events_zone_selects_the_zone_rate() -> None:
    m = Meter()
    m.add_price_table(
        PriceTable(
            version=1,
            effective=0,
            cpu_nanos_per_vcpu_second=5_000,
            memory_nanos_per_gib_second=500,
            sku_rates=[
                SkuRate(zone="z-a", cpu_nanos_per_vcpu_second=10_000, memory_nanos_per_gib_second=1_000),
                SkuRate(zone="z-b", cpu_nanos_per_vcpu_second=20_000, memory_nanos_per_gib_second=2_000),
            ],
        )
    )
    m.describe_sku(SkuInfo(sku="g7", zone="z-a"))
    shape = Resources(1000, 1024)
    events = [
        Event(1, "shop", "api", 1, 0, "started", shape, "g7"),
        Event(2, "shop", "api", 2, 0, "started", shape, "g7", zone="z-b"),
        Event(3, "shop", "api", 1, 100_000, "stopped"),
        Event(4, "shop", "api", 2, 100_000, "stopped"),
    ]
    assert events[1].zone == "z-b" and events[0].zone is None
    with pytest.raises(trimline.InvalidInput):
        Event(5, "shop", "api", 1, 0, "stopped", zone="z-b")
    assert m.ingest_batch(events, HOUR).refused is None
    (invoice,) = m.close_period(HOUR, HOUR).invoices
    # g7, no zone named (described in z-a): 100 s x (10,000 + 1,000)
    # g7 in z-b:                             100 s x (20,000 + 2,000)
    got = [(line.sku, line.zone, line.component, line.rate_nanos, line.amount_nanos) for line in invoice.lines]
    assert got == [
        ("g7", None, "cpu", 10_000, 1_000_000),
        ("g7", None, "memory", 1_000, 100_000),
        ("g7", "z-b", "cpu", 20_000, 2_000_000),
        ("g7", "z-b", "memory", 2_000, 200_000),
    ]
    assert invoice.total_nanos == 3_300_000
