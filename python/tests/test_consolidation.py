"""Consolidation: a plan of ordered moves that empties hosts, carried out
through moves within the disruption budget, re-planned when the world
changes."""

from __future__ import annotations

import pytest

import trimline
from trimline import AppSpec, Resources

from conftest import G7, region


def scattered() -> trimline.Scheduler:
    """Four hosts, each with one small web instance next to a finished job."""
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 4)])
    s.add_app(AppSpec(id="batch", tenant="t", resources=Resources(12_000, 8192)), now=0)
    s.add_app(AppSpec(id="web", tenant="t", resources=Resources(4000, 8192)), now=0)
    s.scale("batch", 4, now=1)
    s.scale("web", 4, now=1)
    s.scale("batch", 0, now=2)
    return s


def test_a_plan_frees_hosts_step_by_step() -> None:
    s = scattered()
    plan = s.plan_consolidation()
    assert (plan["hosts_freed"], plan["instances_moved"]) == (3, 3)
    assert (plan["hosts_before"], plan["hosts_after"]) == (4, 1)
    assert plan["cost_saved_nanos_per_second"] == 3 * G7.price_nanos_per_second
    assert [m["frees"] for m in plan["moves"]] == plan["freed"]
    assert s.plan_consolidation(max_hosts=1)["hosts_freed"] == 1
    assert s.plan_consolidation(max_moves=2)["instances_moved"] == 2

    now, steps = 3, 0
    while True:
        step = s.start_consolidation(plan, now=now)
        assert step.stale == [] and step.replan is None
        if step.finished:
            break
        assert len(step.decisions.moves) == 1  # the budget: one at a time
        for m in step.decisions.moves:
            assert m.reason == "consolidate"
            s.complete_move(m.to_instance, now=now)
            s.check_invariants()
        now, steps = now + 1, steps + 1
    assert steps == 3
    assert step.done == 3
    assert all(s.host(h)["instances"] == [] for h in plan["freed"])  # type: ignore[index]
    assert s.instance_count() == 4
    assert "finished=True" in repr(step)


def test_an_aborted_move_restarts_and_a_changed_world_replans() -> None:
    s = scattered()
    plan = s.plan_consolidation()
    target = plan["moves"][0]["to"]
    first = s.start_consolidation(plan, now=3).decisions.moves[0]
    s.abort_move(first.to_instance, now=3)
    again = s.start_consolidation(plan, now=4).decisions.moves[0]
    assert (again.from_instance, again.to_host) == (first.from_instance, target)
    s.abort_move(again.to_instance, now=4)
    s.set_host_state(target, trimline.HostState.CORDONED, now=5)
    step = s.start_consolidation(plan, now=6)
    assert step.decisions.moves == () and len(step.stale) == 3
    assert step.replan is not None and step.replan["hosts_freed"] == 2
    assert all(m["to"] != target for m in step.replan["moves"])


def test_bad_plans_are_refused_by_path() -> None:
    s = scattered()
    with pytest.raises(trimline.InvalidInput, match="consolidation plan: invalid type"):
        s.start_consolidation({"moves": 3}, now=3)
    with pytest.raises((OverflowError, ValueError, TypeError)):
        s.plan_consolidation(max_hosts=-1)
