"""The four stories of the demo region, a zone failure, and an invoice,
each on a small region through the Python API."""

from __future__ import annotations

from decimal import Decimal

import trimline
from trimline import (
    AppSpec,
    Meter,
    NumaPolicy,
    PriceTable,
    QosTier,
    Resources,
    SpreadPolicy,
    SubstitutionPolicy,
)

from conftest import C7, G7, G8I, R7, region, sku

# As large as a g8i, with two NUMA nodes, but slower per vCPU.
G7_BIG = sku("ecs.g7.32xlarge", "g7", 128, 512, numa_nodes=2)


def test_game_launch_substitutes_with_its_reason() -> None:
    s = region(
        ["zone-a"],
        [G7, G8I],
        [("ecs.g7.4xlarge", "zone-a", 2), ("ecs.g8i.32xlarge", "zone-a", 1)],
    )
    s.set_stock("ecs.g7.4xlarge", "zone-a", "exhausted", now=0)
    s.add_app(
        AppSpec(
            id="game-server",
            tenant="games",
            resources=Resources(16_000, 32_768),
            min_perf_score=100,
            sku="ecs.g7.4xlarge",
            substitution=SubstitutionPolicy(tiers=[["g7"], ["g8i"]]),
        ),
        now=0,
    )
    # A dry run answers before launch, and changes nothing.
    plan = s.dry_run(lambda c: c.scale("game-server", 4, now=10))
    assert len(plan.placements) == 4
    assert s.instance_count() == 0

    d = s.scale("game-server", 4, now=10)
    own = [p for p in d.placements if p.sku == "ecs.g7.4xlarge"]
    subs = [p for p in d.placements if p.sku == "ecs.g8i.32xlarge"]
    assert len(own) == 2 and all(p.substitution is None for p in own)
    assert len(subs) == 2
    note = subs[0].substitution
    assert note is not None
    assert note.sku == "ecs.g8i.32xlarge"
    assert note.requested == "ecs.g7.4xlarge"
    assert note.tier == 1
    assert "instead of ecs.g7.4xlarge" in note.reason
    assert note.details["sku"] == "ecs.g8i.32xlarge"
    # The decisions as text for people: the core's rendering, reasons included.
    text = str(d)
    assert text.startswith("placements on running hosts (4):")
    assert "(tier 1) instead of ecs.g7.4xlarge" in text
    assert str(s.reconcile(now=10)) == "nothing decided"
    # Why each SKU was accepted or rejected, on demand.
    verdicts = {v["sku"]: v for v in s.explain_substitution("game-server", "zone-a")}
    assert set(verdicts) == {"ecs.g7.4xlarge", "ecs.g8i.32xlarge"}
    s.check_invariants()


def test_ecommerce_preempts_best_effort_never_rigid() -> None:
    s = region(["zone-a"], [C7], [("ecs.c7.8xlarge", "zone-a", 2)])
    s.add_app(
        AppSpec(id="trading", tenant="shop", resources=Resources(4000, 8192), priority=10),
        now=0,
    )
    s.add_app(
        AppSpec(
            id="analytics",
            tenant="shop",
            resources=Resources(8000, 16384),
            qos=QosTier.BEST_EFFORT,
        ),
        now=0,
    )
    s.scale("trading", 4, now=1)
    filled = s.scale("analytics", 100, now=2)
    assert len(filled.placements) == 6  # 64 vCPU - 16 rigid = 48 = 6 x 8
    d = s.scale("trading", 12, now=3)
    assert len(d.placements) == 8
    assert d.evictions, "rigid instances take the CPU best-effort work was using"
    trading = set(s.app_instances("trading"))
    for e in d.evictions:
        assert e.app == "analytics"
        assert e.cause == "preempted"
        assert e.preempted_by in trading
        # The evicted instance waits again, and says why.
        status = s.instance(e.instance)
        assert status is not None
        assert status["status"]["pending"]["reason"] == {
            "preempted": {"by": e.preempted_by, "host": e.host}
        }
    assert all(p.app == "analytics" for p in d.pending)
    s.check_invariants()


def test_fintech_memory_is_never_overcommitted() -> None:
    s = region(["zone-a"], [R7], [("ecs.r7.8xlarge", "zone-a", 2)])
    s.add_app(
        AppSpec(id="market-data", tenant="fintech", resources=Resources(2000, 61_440)),
        now=0,
    )
    d = s.scale("market-data", 10, now=1)
    # 256 GiB hosts hold four 60 GiB instances each, though CPU has room.
    assert len(d.placements) == 8
    assert len(d.pending) == 2
    assert d.pending[0].reason.startswith("0/2 hosts fit")
    assert d.pending[0].explanation["no_fit"]["ruled_out"][0]["constraint"] == {
        "capacity": "memory"
    }
    for host_id in s.host_ids():
        host = s.host(host_id)
        assert host is not None
        assert host["free"]["memory_mib"] == 256 * 1024 - 4 * 61_440
        assert host["free"]["cpu_millis"] == 32_000 - 4 * 2000
    s.check_invariants()


def test_erp_lands_on_one_numa_node() -> None:
    s = region(
        ["zone-a"],
        [G8I, G7_BIG],
        [("ecs.g8i.32xlarge", "zone-a", 1), ("ecs.g7.32xlarge", "zone-a", 4)],
    )
    s.add_app(
        AppSpec(
            id="erp",
            tenant="corp",
            resources=Resources(64_000, 262_144),
            numa=NumaPolicy.SINGLE_NODE,
            min_perf_score=120,
        ),
        now=0,
    )
    d = s.scale("erp", 3, now=1)
    assert len(d.placements) == 2
    assert sorted(p.numa_nodes for p in d.placements) == [[0], [1]]
    assert all(p.sku == "ecs.g8i.32xlarge" for p in d.placements)
    (waiting,) = d.pending
    # The large g7 hosts are ruled out by performance, the g8i by capacity.
    assert waiting.reason == "0/5 hosts fit: perf score: 4 hosts, cpu: 1 host"
    assert waiting.explanation["no_fit"]["ruled_out"][0] == {
        "constraint": "perf_score",
        "hosts": 4,
    }
    s.check_invariants()


def test_zone_failure_and_recovery() -> None:
    zones = ["zone-a", "zone-b", "zone-c"]
    s = region(zones, [G7], [("ecs.g7.4xlarge", z, 3) for z in zones])
    s.add_app(
        AppSpec(
            id="web",
            tenant="shop",
            resources=Resources(4000, 8192),
            spread=SpreadPolicy(max_skew=1, disruption_budget=10),
        ),
        now=0,
    )
    s.scale("web", 9, now=1)
    assert dict(s.app_zone_counts("web")) == {z: 3 for z in zones}
    assert all(r["unplaced"] == [] for r in s.survive_zone_loss())

    down = s.zone_down("zone-c", now=2)
    assert len(down.evictions) == 3
    assert {e.cause for e in down.evictions} == {"zone_down"}
    assert {p.zone for p in down.placements} <= {"zone-a", "zone-b"}
    assert len(down.placements) == 3
    assert s.zones()["zone-c"] == "down"
    assert len(s.app_instances("web")) == 9  # nothing lost

    up = s.zone_up("zone-c", now=3)
    assert s.zones()["zone-c"] == "up"
    assert up.moves, "the zone's return rebalances the app"
    assert all(m.reason == "rebalance" and m.app == "web" for m in up.moves)
    for m in up.moves:
        s.complete_move(m.to_instance, now=4)
    assert dict(s.app_zone_counts("web")) == {z: 3 for z in zones}
    assert s.skew("web") == 0
    s.check_invariants()


def test_invoice_matches_a_hand_computed_figure() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 2)])
    s.add_app(AppSpec(id="api", tenant="shop", resources=Resources(4000, 8192)), now=0)
    meter = Meter()
    meter.add_price_table(
        PriceTable(
            version=1,
            effective=0,
            cpu_nanos_per_vcpu_second=10_000,
            memory_nanos_per_gib_second=1_000,
        )
    )

    def call(target: int, now: int) -> None:
        d = s.scale("api", target, now=now)
        events = trimline.decision_events(d, s, now)
        assert all(meter.ingest(e, now) == "applied" for e in events)
        # Deriving again gives the same ids: a replay is a duplicate.
        assert all(meter.ingest(e, now) == "duplicate" for e in events)

    call(2, 1_000)
    call(0, 61_000)
    report = meter.close_period(3_600_000, 3_600_000)
    (invoice,) = report.invoices
    # 2 instances x 60 s x (4 vCPU x 10,000 + 8 GiB x 1,000) nano-units.
    assert invoice.total_nanos == 2 * 60 * (4 * 10_000 + 8 * 1_000) == 5_760_000
    assert invoice.total == Decimal("0.00576")
    assert invoice.tenant == "shop"
    assert sum(line.amount_nanos for line in invoice.lines) == invoice.total_nanos
    assert {line.component for line in invoice.lines} == {"cpu", "memory"}
