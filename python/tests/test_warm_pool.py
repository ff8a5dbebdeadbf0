"""Warm pools: a pool of idle hosts is ordered with no app, drawn down
first by a scale-out and ordered back in the same decisions, the dry run
shows the draw-down, and the pool survives a snapshot."""

from __future__ import annotations

import pytest

import trimline
from trimline import AppSpec, Resources

from conftest import G7, region

SKU = "ecs.g7.4xlarge"


def pooled() -> tuple[trimline.Scheduler, list[int]]:
    """No host, unknown stock, a pool of two idle g7 hosts made ready as
    hosts 100 and 101, and web (four per host)."""
    s = region(["zone-a"], [G7], [])
    s.add_app(AppSpec(id="web", tenant="t", resources=Resources(4000, 8192)), now=0)
    s.set_stock(SKU, "zone-a", "unknown", now=0)
    d = s.set_warm_pool(SKU, "zone-a", 2, now=1)
    (p,) = d.provisions
    assert (p.reason, p.app, p.instances, p.count) == ("warm_pool", None, 0, 2)
    ready = []
    for i, planned in enumerate(p.hosts):
        s.host_ready(planned, 100 + i, now=2)
        ready.append(100 + i)
    return s, ready


def test_the_pool_is_ordered_once() -> None:
    s, _ = pooled()
    assert s.warm_pools() == [
        {"sku": SKU, "zone": "zone-a", "target": 2, "idle_ready": 2, "idle_planned": 0}
    ]
    assert s.reconcile(now=3).provisions == ()


def test_a_scale_out_draws_the_pool_down_then_orders_it_back() -> None:
    s, pool_hosts = pooled()
    plan = s.dry_run(lambda c: c.scale("web", 10, now=3))
    draw = s.warm_pool_draw(plan)
    assert draw == {"hosts_used": 2, "instances": 8, "refill_hosts": 2}
    d = s.scale("web", 10, now=3)
    assert d == plan
    assert sorted({p.host for p in d.placements}) == pool_hosts
    assert len(d.placements) == 8 and len(d.tentative) == 2
    assert [(p.reason, p.app, p.count) for p in d.provisions] == [
        ("instances", "web", 1),
        ("warm_pool", None, 2),
    ]
    assert s.warm_pools()[0]["idle_planned"] == 2
    assert s.cold_start_mix(d)["new_hosts"]["instances"] == 2


def test_pools_survive_a_snapshot() -> None:
    s, _ = pooled()
    s.set_warm_pool(SKU, "zone-a", 3, now=3)
    snap = s.snapshot()
    r = trimline.Scheduler.restore(snap)
    assert r.snapshot() == snap
    assert r.warm_pools() == s.warm_pools()


def test_an_undeclared_offering_is_refused() -> None:
    s, _ = pooled()
    with pytest.raises(trimline.UnknownId, match="no offering of sku"):
        s.set_warm_pool(SKU, "zone-b", 1, now=3)
    with pytest.raises(ValueError, match="out of range"):
        s.set_warm_pool(SKU, "zone-a", -1, now=3)
