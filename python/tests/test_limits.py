"""The library's limits through Python: each refused with LimitExceeded
(or RestoreError for a snapshot) naming its number, and absurd requests
refused at once, in a process whose address space is capped."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trimline
from trimline import AppSpec, Config, Resources, Scheduler, SubstitutionPolicy

from conftest import G7, region


def test_the_zone_past_the_limit_is_refused() -> None:
    s = Scheduler()
    for z in range(1024):
        s.add_zone(f"z{z}", now=0)
    before = s.snapshot()
    with pytest.raises(trimline.LimitExceeded, match="already holds 1,024 zones"):
        s.add_zone("one-more", now=1)
    assert s.snapshot() == before


def test_a_snapshot_past_a_limit_is_refused() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 1)])
    snap = json.loads(s.snapshot())
    snap["zones"] += [{"id": f"extra-{z}", "state": "up"} for z in range(1024)]
    with pytest.raises(
        trimline.RestoreError, match="snapshot lists 1,025 zones; a scheduler holds at most 1,024"
    ):
        Scheduler.restore(json.dumps(snap))


def test_too_many_tiers_is_invalid_input() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 1)])
    spec = AppSpec(
        id="web",
        tenant="shop",
        resources=Resources(1000, 1024),
        substitution=SubstitutionPolicy(tiers=[["g7"]] * 65),
    )
    with pytest.raises(trimline.InvalidInput, match="65 tiers; the maximum is 64"):
        s.add_app(spec, now=0)


def test_the_batch_size_is_capped_whatever_the_config_says() -> None:
    s = Scheduler(Config(max_batch=2**32 - 1))
    assert s.config["max_batch"] == 16_777_216
    s.add_zone("a", now=0)
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(1000, 1024)), now=0)
    with pytest.raises(trimline.LimitExceeded, match="the maximum is 16777216"):
        s.place_batch("web", 2**32 - 1, now=1)


ABSURD = textwrap.dedent(
    """
    import json, resource
    # 4 GiB of address space: creating 2**32 - 1 instances would die.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 32, 1 << 32))
    import trimline
    from trimline import AppSpec, Config, Resources, Scheduler

    s = Scheduler(Config(max_batch=2**32 - 1))
    s.add_zone("a", now=0)
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(1000, 1024)), now=0)
    outcomes = []
    for call in (
        lambda: s.place_batch("web", 2**40, now=1),
        lambda: s.place_batch("web", 2**32 - 1, now=1),
        lambda: s.scale("web", 2**32 - 1, now=1),
        lambda: s.scale("web", -1, now=1),
    ):
        try:
            call()
            outcomes.append("accepted")
        except (OverflowError, ValueError, TypeError, trimline.TrimlineError) as e:
            outcomes.append(type(e).__name__)
    print(json.dumps(outcomes))
    """
)


def test_absurd_requests_are_refused_under_a_memory_limit(tmp_path: Path) -> None:
    # From an empty directory, so that the child imports the installed
    # package, as the tests do.
    out = subprocess.run(
        [sys.executable, "-c", ABSURD],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    outcomes = json.loads(out.stdout)
    # 2**40 and -1 are no u32 counts; 2**32 - 1 is above MAX_BATCH.
    assert outcomes == ["ValueError", "LimitExceeded", "LimitExceeded", "ValueError"]
