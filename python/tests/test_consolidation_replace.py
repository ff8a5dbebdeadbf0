"""Replacing consolidation: several hosts replaced by fewer or cheaper new
ones (provisions plus moves), carried out through the provision, the host
coming up and the moves, costing what the plan said."""

from __future__ import annotations

import pytest

import trimline
from trimline import AppSpec, Resources

from conftest import region, sku

OLD = sku("old.4x", "old", 16, 32, price_nanos_per_second=1_000)


def three_old_hosts(new_price: int) -> trimline.Scheduler:
    """Three old hosts, each more than half full with one instance, and a
    bigger new SKU that takes all three."""
    new = sku("new.8x", "new", 32, 64, price_nanos_per_second=new_price)
    s = region(["zone-a"], [OLD, new], [("old.4x", "zone-a", 3)])
    s.add_app(AppSpec(id="web", tenant="t", resources=Resources(9000, 16_384)), now=0)
    assert len(s.scale("web", 3, now=1).placements) == 3
    s.set_stock("new.8x", "zone-a", 4, now=2)
    return s


def test_three_hosts_are_replaced_by_one_cheaper_bigger_host() -> None:
    s = three_old_hosts(2_000)
    assert s.plan_consolidation()["provisions"] == []
    plan = s.plan_consolidation(replace={})
    assert plan == s.plan_consolidation(replace={"skus": [], "max_new_hosts": None})
    assert (plan["hosts_before"], plan["hosts_after"], plan["hosts_freed"]) == (3, 1, 3)
    assert plan["cost_before_nanos_per_second"] == 3_000
    assert plan["cost_after_nanos_per_second"] == 2_000
    assert plan["cost_saved_nanos_per_second"] == 1_000
    [new] = plan["provisions"]
    assert (new["sku"], new["zone"], new["replaces"]) == ("new.8x", "zone-a", [1, 2, 3])
    assert all(m["to"] == new["host"] for m in plan["moves"])

    now, ready = 3, False
    while True:
        step = s.start_consolidation(plan, now=now)
        assert step.stale == [] and step.replan is None
        if step.finished:
            break
        for p in step.decisions.provisions:
            assert p.hosts == [new["host"]]
            s.host_ready(p.hosts[0], 100, now=now)
            ready = True
        for m in step.decisions.moves:
            s.complete_move(m.to_instance, now=now)
            s.check_invariants()
        now += 1
    assert ready
    assert s.host(100)["instances"] != []  # type: ignore[index]
    assert len(s.host(100)["instances"]) == 3  # type: ignore[index]
    assert all(s.host(h)["instances"] == [] for h in plan["freed"])  # type: ignore[index]


def test_no_cheaper_sku_provisions_nothing_and_says_why() -> None:
    s = three_old_hosts(3_000)
    plan = s.plan_consolidation(replace={"skus": ["new.8x"]})
    assert plan["provisions"] == [] and plan["moves"] == []
    assert plan["cost_saved_nanos_per_second"] == 0
    ruled_out = {r["sku"]: r["reason"] for r in plan["replacement"]["ruled_out"]}
    assert ruled_out == {"old.4x": "not_listed", "new.8x": "not_cheaper"}


def test_bad_replace_options_are_refused_by_path() -> None:
    s = three_old_hosts(2_000)
    with pytest.raises(trimline.InvalidInput, match="replace options"):
        s.plan_consolidation(replace={"max_new_host": 1})
    with pytest.raises(trimline.InvalidInput, match="replace options"):
        s.plan_consolidation(replace={"skus": "new.8x"})
