"""Standby instances: created stopped and holding their capacity, started
first on a scale-out and refilled after, counted in the dry run's
cold-start mix as in the committed call's, kept in snapshots."""

from __future__ import annotations

import pytest

import trimline
from trimline import AppSpec, Resources

from conftest import G7, region


def two_hosts() -> trimline.Scheduler:
    """Two 16-vCPU g7 hosts; the game takes 8 vCPU (two per host)."""
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 2)])
    s.add_app(AppSpec(id="game", tenant="t", resources=Resources(8000, 16_384)), now=0)
    s.add_app(AppSpec(id="api", tenant="t", resources=Resources(1000, 1024)), now=0)
    return s


def test_standbys_start_first_then_the_target_is_refilled() -> None:
    s = two_hosts()
    d = s.set_standby("game", 2, now=1)
    assert [(p.instance, p.standby) for p in d.placements] == [(1, "stopped"), (2, "stopped")]
    assert s.standby("game") == (2, [1, 2])
    plan = s.dry_run(lambda c: c.scale("game", 3, now=2))
    planned = s.cold_start_mix(plan)
    d = s.scale("game", 3, now=2)
    assert [(p.instance, p.standby) for p in d.placements] == [
        (1, "started"),
        (2, "started"),
        (3, None),
        (4, "stopped"),
    ]
    assert all(p.pull_bytes == 0 for p in d.placements[:2])
    # The second new standby finds no room: it waits, still a standby.
    assert [p.instance for p in d.pending] == [5]
    assert s.standby("game") == (2, [4, 5])
    mix = s.cold_start_mix(d)
    assert mix == planned
    assert mix["standby"] == {"instances": 2, "pull_bytes": 0, "ready_ms": 0, "without_figures": 0}
    assert "2 from standby" in mix["text"]


def test_standbys_hold_their_capacity_and_scale_in_keeps_them() -> None:
    s = two_hosts()
    s.set_standby("game", 4, now=1)
    d = s.scale("api", 1, now=2)
    assert not d.placements and len(d.pending) == 1
    s.scale("api", 0, now=3)
    s.scale("game", 0, now=4)
    assert s.standby("game") == (4, [1, 2, 3, 4])
    with pytest.raises(trimline.Conflict):
        s.remove_app("game", now=5)
    d = s.set_standby("game", 1, now=6)
    assert sorted(r.instance for r in d.removals) == [2, 3, 4]
    with pytest.raises(trimline.LimitExceeded):
        s.set_standby("game", 100_000_000, now=7)
    with pytest.raises(trimline.UnknownId):
        s.set_standby("nope", 1, now=7)


def test_standbys_survive_a_snapshot() -> None:
    s = two_hosts()
    s.set_standby("game", 3, now=1)
    s.scale("game", 1, now=2)
    snap = s.snapshot()
    r = trimline.Scheduler.restore(snap)
    assert r.snapshot() == snap
    assert r.standby("game") == s.standby("game") == (3, [2, 3, 4])
