"""Every exception class, each raised by real bad input; and bad input of
every kind into every call gives TypeError, ValueError or a TrimlineError,
never a Rust panic (pyo3's PanicException, a BaseException)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import trimline
from trimline import AppSpec, Config, Meter, PriceTable, Resources, Scheduler
from trimline import _trimline

from conftest import G7, region

ERROR_CLASSES = [
    trimline.InvalidInput,
    trimline.UnknownId,
    trimline.AlreadyExists,
    trimline.Conflict,
    trimline.TimeWentBackwards,
    trimline.OutOfOrder,
    trimline.LimitExceeded,
    trimline.Unschedulable,
    trimline.RestoreError,
    trimline.InvariantViolation,
    trimline.SimulationError,
]


def small() -> Scheduler:
    s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 2)])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)
    return s


def test_hierarchy() -> None:
    assert issubclass(trimline.TrimlineError, Exception)
    for cls in ERROR_CLASSES:
        assert issubclass(cls, trimline.TrimlineError)
        assert getattr(trimline, cls.__name__) is cls
        assert cls.__name__ in trimline.__all__
    assert len(set(ERROR_CLASSES)) == len(ERROR_CLASSES)


def test_every_error_kind_has_its_own_class() -> None:
    # The same conversion the binding uses for every core error, walked
    # over every kind the core defines.
    kinds = _trimline._error_kinds()
    classes = [cls for _, cls in kinds]
    assert len(set(classes)) == len(kinds) == 9
    for name, cls in kinds:
        assert cls in ERROR_CLASSES
        with pytest.raises(cls, match="boom"):
            _trimline._raise_kind(name, "boom")


def test_invalid_input() -> None:
    s = small()
    with pytest.raises(trimline.InvalidInput, match="cpu must be greater than zero"):
        s.add_app(AppSpec(id="bad", tenant="t", resources=Resources(0, 1024)), now=1)
    with pytest.raises(trimline.InvalidInput, match="app"):
        s.scale("my app", 1, now=1)  # a space is not allowed in a name
    with pytest.raises(trimline.InvalidInput, match="unknown field"):
        s.add_app({"id": "x", "tenant": "t", "resources": {"cpu_millis": 1, "memory_mib": 1}, "arches": ["x86_64"], "colour": "red"}, now=1)


def test_unknown_id() -> None:
    s = small()
    with pytest.raises(trimline.UnknownId, match="unknown app nope"):
        s.scale("nope", 1, now=1)
    with pytest.raises(trimline.UnknownId, match="unknown host host-99"):
        s.remove_host(99, now=1)


def test_already_exists() -> None:
    s = small()
    with pytest.raises(trimline.AlreadyExists, match="zone zone-a exists already"):
        s.add_zone("zone-a", now=1)


def test_conflict() -> None:
    s = small()
    s.scale("web", 1, now=1)
    with pytest.raises(trimline.Conflict, match="still has 1 instances"):
        s.remove_app("web", now=2)


def test_time_went_backwards() -> None:
    s = small()
    s.scale("web", 1, now=100)
    with pytest.raises(trimline.TimeWentBackwards):
        s.scale("web", 2, now=99)
    assert len(s.app_instances("web")) == 1  # nothing changed


def test_out_of_order() -> None:
    meter = Meter()
    with pytest.raises(trimline.OutOfOrder):
        meter.close_period(1000, 500)  # the period is not over at `now`


def test_limit_exceeded() -> None:
    s = Scheduler(Config(max_batch=10))
    s.add_zone("zone-a", now=0)
    s.add_sku(G7, now=0)
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)
    with pytest.raises(trimline.LimitExceeded, match="the maximum is 10"):
        s.scale("web", 11, now=1)


def test_unschedulable() -> None:
    s = small()
    with pytest.raises(trimline.Unschedulable, match="all-or-nothing"):
        s.place_batch("web", 9, now=1, mode="all_or_nothing")
    assert s.instance_count() == 0
    assert len(s.place_batch("web", 8, now=1, mode=trimline.BatchMode.ALL_OR_NOTHING).placements) == 8


def test_restore_error() -> None:
    with pytest.raises(trimline.RestoreError):
        Scheduler.restore(b"not json")
    snap = small().snapshot().replace(b'"format":4', b'"format":99', 1)
    with pytest.raises(trimline.RestoreError, match="format 99 is not supported"):
        Scheduler.restore(snap)
    with pytest.raises(trimline.RestoreError):
        Meter.restore(b"{}")


def test_invalid_price_table() -> None:
    with pytest.raises(trimline.InvalidInput):
        Meter().add_price_table(
            PriceTable(
                version=1,
                effective=0,
                cpu_nanos_per_vcpu_second=-1,
                memory_nanos_per_gib_second=0,
            )
        )


def test_invariant_violation_is_never_raised_by_a_sound_state() -> None:
    # InvariantViolation reports a bug in the core; a sound state passes.
    s = small()
    s.scale("web", 8, now=1)
    s.check_invariants()


BAD_VALUES: list[Any] = [
    None,
    True,
    -1,
    2**64,
    2**200,
    -(2**70),
    math.nan,
    math.inf,
    1.5,
    "",
    "a b",
    "x" * 1000,
    "\x00",
    [],
    {},
    {"cpu_millis": math.nan},
    object(),
    b"bytes",
]


def calls() -> list[tuple[str, Callable[..., Any], list[Any]]]:
    """(name, bound method, valid arguments) for every call."""
    s = small()
    s.scale("web", 2, now=1)
    m = Meter()
    ev = trimline.Event(1, "shop", "web", 1, 5, "stopped")
    app = AppSpec(id="other", tenant="shop", resources=Resources(1000, 1024))
    return [
        ("add_zone", s.add_zone, ["zone-b", 10]),
        ("set_zone_state", s.set_zone_state, ["zone-a", "up", 10]),
        ("add_sku", s.add_sku, [G7, 10]),
        ("add_host", s.add_host, [50, "ecs.g7.4xlarge", "zone-a", 10]),
        ("remove_host", s.remove_host, [2, 10]),
        ("set_host_state", s.set_host_state, [1, "cordoned", 10]),
        ("set_stock", s.set_stock, ["ecs.g7.4xlarge", "zone-a", 3, 10]),
        ("add_app", s.add_app, [app, 10]),
        ("remove_app", s.remove_app, ["web", 10]),
        ("place", s.place, ["web", 10]),
        ("place_batch", s.place_batch, ["web", 2, 10, "partial"]),
        ("scale", s.scale, ["web", 3, 10]),
        ("remove_instance", s.remove_instance, [1, 10]),
        ("reconcile", s.reconcile, [10]),
        ("host_ready", s.host_ready, [1, 60, 10]),
        ("provision_failed", s.provision_failed, ["ecs.g7.4xlarge", "zone-a", 10, "other"]),
        ("explain_substitution", s.explain_substitution, ["web", "zone-a"]),
        ("zone_down", s.zone_down, ["zone-a", 10]),
        ("zone_up", s.zone_up, ["zone-a", 10]),
        ("host_failed", s.host_failed, [1, 10]),
        ("rebalance", s.rebalance, [10]),
        ("plan_return", s.plan_return, [10]),
        ("complete_move", s.complete_move, [1, 10]),
        ("abort_move", s.abort_move, [1, 10]),
        ("plan_repack", s.plan_repack, [100, 0]),
        ("skew", s.skew, ["web"]),
        ("sku", s.sku, ["ecs.g7.4xlarge"]),
        ("app", s.app, ["web"]),
        ("app_instances", s.app_instances, ["web"]),
        ("app_zone_counts", s.app_zone_counts, ["web"]),
        ("host", s.host, [1]),
        ("instance", s.instance, [1]),
        ("restore", Scheduler.restore, [s.snapshot()]),
        ("Scheduler", Scheduler, [Config()]),
        ("Meter", Meter, [trimline.MeterConfig()]),
        ("add_price_table", m.add_price_table, [PriceTable(version=1, effective=0, cpu_nanos_per_vcpu_second=1, memory_nanos_per_gib_second=1)]),
        ("ingest", m.ingest, [ev, 10]),
        ("ingest_batch", m.ingest_batch, [[ev], 10]),
        ("close_period", m.close_period, [5, 10]),
        ("is_running", m.is_running, [1]),
        ("Meter.restore", Meter.restore, [m.snapshot()]),
        ("Event", trimline.Event, [1, "shop", "web", 1, 5, "started", Resources(1000, 1024), "ecs.g7.4xlarge"]),
        ("decision_events", trimline.decision_events, [s.reconcile(2), s, 2]),
        ("Resources in a spec", lambda r: s.add_app(AppSpec(id="r", tenant="t", resources=r), now=10), [Resources(1000, 1024)]),
        ("SkuSpec field", lambda v: s.add_sku(trimline.SkuSpec(id="k", family="f", generation=v, arch="x86_64", cpu_vendor="intel", allocatable=Resources(1000, 1024), perf_score=1, price_nanos_per_second=1), now=10), [1]),
    ]


def test_bad_input_never_panics() -> None:
    tried = 0
    for name, _, valid in calls():
        for position in range(len(valid)):
            for bad in BAD_VALUES:
                # A fresh scheduler for each call: a call that succeeds
                # moves the clock.
                fn = {n: f for n, f, _ in calls()}[name]
                args = list(valid)
                args[position] = bad
                tried += 1
                try:
                    fn(*args)
                except (TypeError, ValueError, trimline.TrimlineError):
                    pass
                except BaseException as e:  # noqa: BLE001 - the point of the test
                    pytest.fail(f"{name} argument {position} = {bad!r}: {type(e).__name__}: {e}")
    assert tried > 1000
