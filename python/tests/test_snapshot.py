"""Snapshot, restore, pickle: a restored scheduler decides exactly as the
original does."""

from __future__ import annotations

import copy
import json
import pickle

import trimline
from trimline import AppSpec, Meter, PriceTable, Resources, Scheduler, SpreadPolicy

from conftest import C7, G7, region


def busy() -> Scheduler:
    zones = ["zone-a", "zone-b"]
    s = region(zones, [G7, C7], [("ecs.g7.4xlarge", z, 3) for z in zones] + [("ecs.c7.8xlarge", "zone-b", 2)])
    s.add_app(
        AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192), spread=SpreadPolicy(max_skew=1)),
        now=0,
    )
    s.add_app(
        AppSpec(id="batch", tenant="shop", resources=Resources(8000, 16384), qos="best_effort"),
        now=0,
    )
    s.scale("web", 10, now=1)
    s.scale("batch", 20, now=2)
    return s


def script(s: Scheduler) -> list[trimline.Decisions]:
    return [
        s.scale("web", 16, now=10),
        s.host_failed(1, now=11),
        s.zone_down("zone-b", now=12),
        s.zone_up("zone-b", now=13),
        s.scale("batch", 3, now=14),
        s.reconcile(now=15),
    ]


def test_restore_decides_identically() -> None:
    s = busy()
    snap = s.snapshot()
    assert isinstance(snap, bytes)
    assert json.loads(snap)["format"] == 4
    restored = Scheduler.restore(snap)
    assert restored.snapshot() == snap
    expected = script(s)
    got = script(restored)
    assert got == expected
    assert [d.to_json() for d in got] == [d.to_json() for d in expected]
    assert restored.snapshot() == s.snapshot()


def test_restore_accepts_str_and_dict() -> None:
    s = busy()
    snap = s.snapshot()
    assert Scheduler.restore(snap.decode()).snapshot() == snap
    assert Scheduler.restore(json.loads(snap)).snapshot() == snap


def test_scheduler_pickles() -> None:
    s = busy()
    clone = pickle.loads(pickle.dumps(s))
    assert isinstance(clone, Scheduler)
    assert clone.snapshot() == s.snapshot()
    assert script(clone) == script(s)
    assert copy.deepcopy(s).snapshot() == s.snapshot()


def test_meter_snapshot_and_pickle() -> None:
    m = Meter()
    m.add_price_table(PriceTable(version=1, effective=0, cpu_nanos_per_vcpu_second=7, memory_nanos_per_gib_second=3))
    m.ingest(trimline.Event(1, "shop", "web", 1, 1000, "started", Resources(1000, 1024)), 1000)
    clone = pickle.loads(pickle.dumps(m))
    assert clone.snapshot() == m.snapshot()
    m.ingest(trimline.Event(2, "shop", "web", 1, 11_000, "stopped"), 11_000)
    clone.ingest(trimline.Event(2, "shop", "web", 1, 11_000, "stopped"), 11_000)
    a = m.close_period(20_000, 20_000)
    b = clone.close_period(20_000, 20_000)
    assert a.invoices[0].total_nanos == b.invoices[0].total_nanos == 10 * (7 + 3)
