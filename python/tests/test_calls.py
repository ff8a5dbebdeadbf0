"""The other calls: cordon, host removal, provisioning with back-off,
repack, moves back to the preferred SKU."""

from __future__ import annotations

import trimline
from trimline import AppSpec, Resources, SubstitutionPolicy

from conftest import G7, G8I, region


def test_cordon_remove_host_and_repack() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 4)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)
    s.scale("web", 4, now=1)
    assert s.set_host_state(1, "cordoned", now=2) == s.reconcile(now=2)
    host = s.host(1)
    assert host is not None and host["state"] == "cordoned"
    d = s.remove_host(2, now=3)
    assert {e.cause for e in d.evictions} <= {"host_removed"}
    assert len(d.evictions) == len(d.placements)  # re-placed elsewhere
    assert all(p.host != 1 for p in d.placements)  # not on the cordoned host
    s.set_host_state(1, trimline.HostState.READY, now=4)
    plan = s.plan_repack(budget=10_000)
    assert plan["hosts_after"] <= plan["hosts_before"]
    assert s.instance_count() == 4
    s.check_invariants()


def test_provisioning_backoff_and_return_to_the_preferred_sku() -> None:
    s = region(["zone-a"], [G7, G8I], [("ecs.g7.4xlarge", "zone-a", 1)])
    s.add_app(
        AppSpec(
            id="game",
            tenant="games",
            resources=Resources(16_000, 32_768),
            sku="ecs.g7.4xlarge",
            substitution=SubstitutionPolicy(tiers=[["g7"], ["g8i"]], disruption_budget=4),
        ),
        now=0,
    )
    s.set_stock("ecs.g7.4xlarge", "zone-a", 1, now=0)
    d = s.scale("game", 2, now=1)
    # One on the g7 host, and a g7 host ordered for the other.
    assert len(d.placements) == 1
    (order,) = d.provisions
    assert (order.sku, order.count, order.instances) == ("ecs.g7.4xlarge", 1, 1)
    assert [p.host for p in d.tentative] == order.hosts
    (offering,) = s.offerings()
    assert offering["planned"] == 1

    # The order fails: it is called off, and the offering backs off.
    failed = s.provision_failed("ecs.g7.4xlarge", "zone-a", now=2, failure="insufficient_stock")
    assert [c.cause for c in failed.cancellations] == ["provision_failed"]
    deadline = s.next_deadline()
    assert deadline is not None and deadline > 2
    assert len(s.pending()) == 1

    # A g8i host takes the waiting instance, substituted; when a g7 host
    # comes, the instance is moved back to its preferred SKU.
    (sub,) = s.add_host(2, "ecs.g8i.32xlarge", "zone-a", now=3).placements
    assert sub.substitution is not None and sub.substitution.tier == 1
    s.add_host(3, "ecs.g7.4xlarge", "zone-a", now=4)
    (move,) = s.plan_return(now=5).moves
    assert (move.reason, move.from_instance, move.to_host) == ("return_to_preferred", sub.instance, 3)
    assert [r.instance for r in s.abort_move(move.to_instance, now=6).removals] == [move.to_instance]
    (move,) = s.plan_return(now=7).moves
    done = s.complete_move(move.to_instance, now=8)
    assert [r.instance for r in done.removals] == [sub.instance]
    assert {p["to"] for p in s.moves_in_flight()} == set()
    s.check_invariants()
