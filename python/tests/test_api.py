"""How the API reads from Python: times, reprs, specs as dicts, money."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import trimline
from trimline import AppSpec, Event, Meter, PriceTable, Resources, Scheduler

from conftest import G7, region


def test_time_is_int_ms_datetime_or_timedelta() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 1)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(1000, 1024)), now=0)
    s.scale("web", 1, now=timedelta(seconds=1, milliseconds=500))
    assert s.now == 1500
    s.scale("web", 2, now=2000)
    assert s.now == 2000
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    s.scale("web", 3, now=at)
    assert s.now == int(at.timestamp()) * 1000
    with pytest.raises(ValueError, match="naive datetime"):
        s.scale("web", 3, now=datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="must not be negative"):
        s.reconcile(now=timedelta(seconds=-1))
    with pytest.raises(TypeError):
        s.reconcile(now=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        s.reconcile(now=True)


def test_reprs_are_readable() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 1)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)
    d = s.scale("web", 5, now=1)
    assert repr(d) == "<Decisions placements=4 pending=1>"
    assert repr(d.placements[0]) == (
        "Placement(instance=1, app='web', host=1, zone='zone-a', sku='ecs.g7.4xlarge',"
        " numa_nodes=[0], substitution=None)"
    )
    assert repr(d.pending[0]) == (
        "PendingInstance(instance=5, app='web', reason='0/1 hosts fit: cpu: 1 host')"
    )
    assert repr(s) == "<Scheduler now=1 zones=1 skus=1 hosts=1 apps=1 instances=5>"
    assert repr(Resources(1000, 2048)) == (
        "Resources(cpu_millis=1000, memory_mib=2048, network_mbps=0, accelerators=0)"
    )
    assert repr(s.reconcile(now=2)) == "<Decisions pending=1>"  # still waits
    assert repr(s.scale("web", 4, now=3)) == "<Decisions removals=1>"
    assert repr(s.reconcile(now=4)) == "<Decisions (none)>"
    assert not s.reconcile(now=4)


def test_results_are_frozen() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 1)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)
    d = s.scale("web", 1, now=1)
    with pytest.raises(AttributeError):
        d.placements[0].host = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        d.placements = ()  # type: ignore[misc]
    assert d.placements is d.placements  # built once
    assert d.to_dict()["placements"][0]["host"] == 1


def test_specs_as_dicts_are_the_core_shapes() -> None:
    s = Scheduler({"max_batch": 5})
    assert s.config["max_batch"] == 5
    s.add_zone("zone-a", now=0, state="up")
    s.add_sku(dataclasses.asdict(G7), now=0)
    s.add_host(1, G7.id, "zone-a", now=0)
    s.add_app(
        {
            "id": "web",
            "tenant": "shop",
            "resources": {"cpu_millis": 1000, "memory_mib": 1024},
            "arches": ["x86_64"],
        },
        now=0,
    )
    spec = s.app("web")
    assert spec is not None and spec["qos"] == "rigid" and spec["spread"]["disruption_budget"] == 1
    assert s.sku("ecs.g7.4xlarge") == s.sku(G7.id)
    assert s.sku("missing") is None


def test_money_is_exact_with_decimal_views() -> None:
    m = Meter()
    m.add_price_table(
        PriceTable(
            version=1,
            effective=0,
            cpu_nanos_per_vcpu_second=1_000_000_001,
            memory_nanos_per_gib_second=0,
        )
    )
    started = Event(1, "shop", "web", 7, 0, "started", Resources(3000, 1024), "ecs.g7.4xlarge")
    assert repr(started) == (
        "Event(id=1, tenant='shop', app='web', instance=7, at=0, kind='started',"
        " delivered='ecs.g7.4xlarge', zone=None, source=None)"
    )
    assert started.resources == {
        "cpu_millis": 3000,
        "memory_mib": 1024,
        "network_mbps": 0,
        "accelerators": 0,
    }
    stopped = Event(2, "shop", "web", 7, 2000, "stopped")
    batch = m.ingest_batch([started, stopped, stopped, Event(2, "shop", "web", 7, 2000, "idle")], 2000)
    assert batch.results == ["applied", "applied", "duplicate"]
    assert batch.refused_index == 3
    assert isinstance(batch.refused, trimline.Conflict)
    (invoice,) = m.close_period(10_000, 10_000).invoices
    # 3 vCPU x 2 s x 1,000,000,001 nano-units
    assert invoice.total_nanos == 6_000_000_006
    assert invoice.total == Decimal("6.000000006")
    assert invoice.lines[0].amount == Decimal("6.000000006")


def test_times_in_specs() -> None:
    m = Meter(trimline.MeterConfig(origin=timedelta(seconds=1)))
    assert m.open_period() == (0, 1000)
    m.add_price_table(
        PriceTable(
            version=1,
            effective=datetime(1970, 1, 1, 0, 0, 2, tzinfo=timezone.utc),
            cpu_nanos_per_vcpu_second=1,
            memory_nanos_per_gib_second=1,
        )
    )
    snapshot = m.snapshot().decode()
    assert '"effective":2000' in snapshot
    naive = PriceTable(
        version=2,
        effective=datetime(2026, 1, 1),
        cpu_nanos_per_vcpu_second=1,
        memory_nanos_per_gib_second=1,
    )
    with pytest.raises(ValueError, match="naive datetime"):
        m.add_price_table(naive)
