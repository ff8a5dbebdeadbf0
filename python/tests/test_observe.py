"""Observability: the audit log, its replay into the counters, the metrics
exposition parsed by Prometheus' own parser, and promise versus delivery."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as openmetrics

import trimline
from trimline import AppSpec, Resources, SubstitutionPolicy

from conftest import G7, G8I, region


def story() -> trimline.Scheduler:
    """Best-effort batch preempted by rigid game servers, a failed g7 order
    that backs off, a substitution onto g8i, a move back to g7."""
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
    s.add_app(
        AppSpec(id="batch", tenant="shop", resources=Resources(8_000, 16_384), qos="best_effort"),
        now=0,
    )
    s.set_stock("ecs.g7.4xlarge", "zone-a", 1, now=0)
    s.scale("batch", 2, now=1)
    d = s.scale("game", 2, now=2)
    assert len(d.evictions) == 2 and len(d.provisions) == 1
    s.provision_failed("ecs.g7.4xlarge", "zone-a", now=3, failure="insufficient_stock")
    s.add_host(2, "ecs.g8i.32xlarge", "zone-a", now=4)
    s.add_host(3, "ecs.g7.4xlarge", "zone-a", now=5)
    s.plan_return(now=6)
    s.check_invariants()
    return s


def parse(text: str) -> list[Metric]:
    """The exposition through prometheus_client's OpenMetrics parser (which
    ships no type hints), failing on anything out of format."""
    return list(cast(Any, openmetrics).text_string_to_metric_families(text))


def fold(records: list[dict[str, Any]]) -> dict[str, int]:
    """The scalar counters, rebuilt from the records alone (as
    `Counters::apply` documents them)."""
    c: Counter[str] = Counter()
    for r in records:
        e = r["event"]
        kind = e["kind"]
        if kind == "placement":
            c["placements"] += 1
        elif kind == "tentative":
            c["tentative_placements"] += 1
        elif kind == "preemption":
            c["preemptions"] += len(e["victims"])
        elif kind == "eviction":
            cause = e["cause"] if isinstance(e["cause"], str) else next(iter(e["cause"]))
            c["evacuations" if cause in ("zone_down", "host_failed") else "other_evictions"] += 1
        elif kind == "removal":
            c["removals"] += 1
        elif kind == "provision":
            c["provisioned_hosts"] += len(e["hosts"])
        elif kind == "cancellation":
            c["cancelled_hosts"] += len(e["hosts"])
    return dict(c)


def test_every_decision_is_logged_in_sequence_and_replays_into_the_counters() -> None:
    s = story()
    batch = s.drain_audit()
    assert (batch["format"], batch["dropped"]) == (1, 0)
    records = batch["records"]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    kinds = {r["event"]["kind"] for r in records}
    assert {"placement", "tentative", "preemption", "provision", "cancellation", "eviction",
            "back_off", "move"} <= kinds, kinds
    (back_off,) = [r for r in records if r["event"]["kind"] == "back_off"]
    assert back_off["at"] == 3 and back_off["event"]["failures"] == 1
    assert back_off["event"]["until"] > 3
    for r in records:
        if r["event"]["kind"] == "preemption":
            assert all(v["app"] == "batch" for v in r["event"]["victims"])
    counters = s.counters()
    for key, value in fold(records).items():
        assert counters[key] == value, key
    assert counters["stock_outs"] == [{"zone": "zone-a", "sku": "ecs.g7.4xlarge", "count": 1}]
    assert s.audit_len() == 0


def test_the_exposition_parses_and_its_numbers_are_the_state() -> None:
    s = story()
    s.record_placement_latency(4_000)
    s.record_placement_latency(30_000_000)
    text = s.metrics_text()
    families = {f.name: f for f in parse(text)}
    counters = s.counters()

    def value(name: str, sample: str, **labels: str) -> float:
        for smp in families[name].samples:
            if smp.name == sample and smp.labels == labels:
                return float(smp.value)
        raise AssertionError(f"no {sample}{labels}")

    assert families["trimline_placements"].type == "counter"
    assert value("trimline_placements", "trimline_placements_total") == counters["placements"]
    assert value("trimline_preemptions", "trimline_preemptions_total") == counters["preemptions"]
    assert value("trimline_stock_outs", "trimline_stock_outs_total",
                 zone="zone-a", sku="ecs.g7.4xlarge") == 1
    for sub in counters["substitutions"]:
        assert value("trimline_substitutions", "trimline_substitutions_total",
                     **{"from": sub["from"], "to": sub["to"]}) == sub["count"]
    assert value("trimline_moves_in_flight", "trimline_moves_in_flight") == len(s.moves_in_flight())
    # Capacity and allocation per zone, SKU and dimension: the hosts'.
    for host_id in s.host_ids():
        host = s.host(host_id)
        assert host is not None
        if host["state"] == "planned":
            continue
        labels = {"zone": host["zone"], "sku": host["sku"], "dimension": "cpu"}
        same = [h for h in (s.host(i) for i in s.host_ids())
                if h is not None and h["state"] != "planned"
                and (h["zone"], h["sku"]) == (host["zone"], host["sku"])]
        cap = sum(h["capacity"]["cpu_millis"] for h in same)
        used = cap - sum(h["free"]["cpu_millis"] for h in same)
        assert value("trimline_capacity", "trimline_capacity", **labels) == cap
        assert value("trimline_allocated", "trimline_allocated", **labels) == used
        assert value("trimline_utilisation_ratio", "trimline_utilisation_ratio",
                     **labels) == pytest.approx(used / cap)
    hist = families["trimline_placement_latency_seconds"]
    assert hist.type == "histogram"
    assert value("trimline_placement_latency_seconds",
                 "trimline_placement_latency_seconds_count") == 2
    assert value("trimline_placement_latency_seconds",
                 "trimline_placement_latency_seconds_bucket", le="0.000005") == 1


def test_the_log_is_bounded_and_can_be_turned_off() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 4)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(1000, 1024)), now=0)
    s.set_audit_capacity(10)
    assert s.audit_capacity() == 10
    for i in range(20):
        s.scale("web", 8 if i % 2 == 0 else 0, now=i + 1)
        assert s.audit_len() <= 10
    batch = s.drain_audit()
    assert (len(batch["records"]), batch["dropped"]) == (10, 160 - 10)
    s.set_audit_capacity(0)
    s.scale("web", 4, now=100)
    assert s.drain_audit()["records"] == []
    assert s.counters()["placements"] == 84


def test_a_dry_run_neither_sees_nor_extends_the_log() -> None:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 4)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(1000, 1024)), now=0)
    s.scale("web", 2, now=1)
    assert s.audit_len() == 2

    def probe(copy: trimline.Scheduler) -> tuple[int, int]:
        before = copy.audit_len()
        copy.scale("web", 5, now=2)
        return before, copy.audit_len()

    # The copy starts with an empty log; its three records go with it.
    assert s.dry_run(probe) == (0, 3)
    batch = s.drain_audit()
    assert [(r["seq"], r["at"]) for r in batch["records"]] == [(1, 1), (2, 1)]
    assert s.counters()["placements"] == 2


def test_delivery_sets_the_promise_against_what_was_delivered() -> None:
    s = story()
    game = s.delivery("game", now=10)
    assert game["requested"] == {
        "cpu_millis": 16_000, "memory_mib": 32_768, "network_mbps": 0, "accelerators": 0
    }
    assert game["requested_sku"] == "ecs.g7.4xlarge"
    assert game["placed"] + game["pending"] == len(s.app_instances("game"))
    by_sku = {k["sku"]: k for k in game["skus"]}
    if "ecs.g8i.32xlarge" in by_sku:
        assert by_sku["ecs.g8i.32xlarge"]["perf_percent"] == 125
        assert by_sku["ecs.g8i.32xlarge"]["substitute"] is True
    assert by_sku["ecs.g7.4xlarge"]["substitute"] is False
    assert game["substitutions"] == sum(k["instances"] for k in game["skus"] if k["substitute"])
    assert game["skew"] == s.skew("game")
    assert game["pending_p99_ms"] >= game["pending_p50_ms"]
    assert [d["app"] for d in s.deliveries(now=10)] == ["game", "batch"]
    with pytest.raises(trimline.UnknownId):
        s.delivery("nope", now=10)
