"""Dedicated tenants through the Python layer: a dedicated app never shares
a host with another tenant, and a pending instance says isolation held it."""

from __future__ import annotations

import json

import pytest

import trimline
from trimline import AppSpec, Isolation, Resources

from conftest import G7, region


def test_a_dedicated_app_keeps_off_other_tenants_hosts() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 2)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(1000, 1024)), now=0)
    s.add_app(
        AppSpec(
            id="vault",
            tenant="bank",
            resources=Resources(8000, 1024),
            isolation=Isolation.DEDICATED_HOSTS,
        ),
        now=0,
    )
    d = s.scale("web", 1, now=1)
    web_host = d.placements[0].host
    d = s.scale("vault", 3, now=2)
    assert [p.host for p in d.placements] == [h for h in [1, 2] if h != web_host] * 2
    assert len(d.pending) == 1
    assert "tenant isolation: 1 host" in d.pending[0].reason
    # The string form is accepted too, and the snapshot carries the policy.
    s.add_app(
        AppSpec(
            id="batch",
            tenant="shop",
            resources=Resources(1000, 1024),
            isolation="dedicated_hosts",
        ),
        now=3,
    )
    d = s.scale("batch", 1, now=4)
    assert not d.placements and len(d.pending) == 1
    snap = json.loads(s.snapshot())
    isolation = {a["id"]: a["isolation"] for a in snap["apps"]}
    assert isolation == {
        "web": "shared_hosts",
        "vault": "dedicated_hosts",
        "batch": "dedicated_hosts",
    }
    s.check_invariants()


def test_an_unknown_isolation_policy_is_refused() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 1)])
    with pytest.raises(trimline.InvalidInput, match="dedicated_hosts"):
        s.add_app(
            AppSpec(id="x", tenant="t", resources=Resources(1000, 1024), isolation="private"),
            now=0,
        )
