"""Misuse of the Python API, drawn by hypothesis: wrong types, negative
numbers, huge ints (2**64, 2**200), NaN and infinities, strings holding
lone surrogates, deeply nested specs, in every argument of every call.
Each is refused with TypeError, ValueError (OverflowError included) or a
TrimlineError subclass, never a Rust panic (pyo3's PanicException, a
BaseException), and changes nothing. Then threads: several mutate one
Scheduler and one Meter at once, and a finalizer calls the scheduler in
the middle of a conversion; nothing deadlocks, crashes or panics, and the
end state passes check_invariants.

(test_errors.py runs a fixed list of bad values through every call and
accepts success; here each value is one that must be refused.)
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trimline
from trimline import AppSpec, Meter, PriceTable, Resources, Scheduler

from conftest import G7, region

# OverflowError derives from ArithmeticError, not ValueError: listed too.
ALLOWED = (TypeError, ValueError, OverflowError, trimline.TrimlineError)

FEW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def price_table() -> PriceTable:
    return PriceTable(
        version=1, effective=0, cpu_nanos_per_vcpu_second=10_000, memory_nanos_per_gib_second=1_500
    )


def fixture() -> tuple[Scheduler, Meter]:
    """Two zones, four hosts, stock to order in one, two apps with
    instances, a meter that has seen them start."""
    s = region(
        ["zone-a", "zone-b"], [G7], [("ecs.g7.4xlarge", "zone-a", 2), ("ecs.g7.4xlarge", "zone-b", 2)]
    )
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)
    s.add_app(AppSpec(id="api", tenant="bank", resources=Resources(2000, 4096)), now=0)
    s.set_stock("ecs.g7.4xlarge", "zone-a", "unknown", 0)
    m = Meter()
    m.add_price_table(price_table())
    for app, n in (("web", 4), ("api", 3)):
        d = s.scale(app, n, now=1)
        m.ingest_batch(trimline.decision_events(d, s, 1), 1)
    return s, m


# ------------------------------------------------------------ bad values

# Integers no unsigned argument takes.
NEGATIVE = st.integers(max_value=-1)
HUGE = st.one_of(st.sampled_from([2**64, 2**64 + 1, 2**128, 2**200]), st.integers(min_value=2**64))
# Values of the wrong type for an int.
NOT_INT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, -math.nan, math.inf, -math.inf, 0.0, 1.0, 2.0**64]),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.lists(st.integers(min_value=0, max_value=9), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
    st.complex_numbers(allow_nan=True),
)
# A string with a lone surrogate, which has no UTF-8 form.
SURROGATE = st.builds(
    lambda a, c, b: a + chr(c) + b,
    st.text(alphabet="abc-", max_size=4),
    st.integers(min_value=0xD800, max_value=0xDFFF),
    st.text(alphabet="abc-", max_size=4),
)
# Values of the wrong type for a name.
NOT_STR = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
    st.just(object()),
)


def bad(kind: str) -> st.SearchStrategy[Any]:
    """Values an argument of `kind` must refuse."""
    if kind == "u64":  # ids, budgets, seeds, nanoseconds: not None either
        return st.one_of(NEGATIVE, HUGE, NOT_INT, st.none())
    if kind == "u32":  # counts: also 2**32 up to 2**64
        return st.one_of(
            NEGATIVE, HUGE, NOT_INT, st.none(), st.integers(min_value=2**32, max_value=2**64 - 1)
        )
    if kind == "u128":  # event ids
        return st.one_of(NEGATIVE, st.integers(min_value=2**128), NOT_INT, st.none())
    if kind == "opt":  # optional counts: None is valid
        return st.one_of(NEGATIVE, HUGE, NOT_INT)
    if kind == "time":  # now and other times
        return st.one_of(NEGATIVE, HUGE, NOT_INT, st.none())
    if kind == "name":
        return st.one_of(SURROGATE, NOT_STR, st.none())
    raise AssertionError(kind)


def remove_app(s: Scheduler, m: Meter, a: list[Any]) -> None:
    s.scale(a[0], 0, a[1])
    s.remove_app(a[0], a[1])


# (name, call, valid arguments, kind of each argument). Each valid call
# succeeds on a fresh fixture (checked below), so a refusal is the bad
# argument's doing.
Call = tuple[str, Callable[[Scheduler, Meter, list[Any]], Any], list[Any], list[str]]

CALLS: list[Call] = [
    ("add_zone", lambda s, m, a: s.add_zone(*a), ["zone-c", 5], ["name", "time"]),
    ("set_zone_state", lambda s, m, a: s.set_zone_state(a[0], "draining", a[1]), ["zone-b", 5], ["name", "time"]),
    ("add_host", lambda s, m, a: s.add_host(*a), [50, "ecs.g7.4xlarge", "zone-a", 5], ["u64", "name", "name", "time"]),
    ("remove_host", lambda s, m, a: s.remove_host(*a), [4, 5], ["u64", "time"]),
    ("set_host_state", lambda s, m, a: s.set_host_state(a[0], "cordoned", a[1]), [1, 5], ["u64", "time"]),
    ("set_stock", lambda s, m, a: s.set_stock(*a), ["ecs.g7.4xlarge", "zone-a", 3, 5], ["name", "name", "u32", "time"]),
    ("remove_app", remove_app, ["api", 5], ["name", "time"]),
    ("place", lambda s, m, a: s.place(*a), ["web", 5], ["name", "time"]),
    ("place_batch", lambda s, m, a: s.place_batch(*a), ["web", 2, 5], ["name", "u32", "time"]),
    ("scale", lambda s, m, a: s.scale(*a), ["web", 6, 5], ["name", "u32", "time"]),
    ("remove_instance", lambda s, m, a: s.remove_instance(*a), [1, 5], ["u64", "time"]),
    ("reconcile", lambda s, m, a: s.reconcile(*a), [5], ["time"]),
    ("zone_down", lambda s, m, a: s.zone_down(*a), ["zone-b", 5], ["name", "time"]),
    ("zone_up", lambda s, m, a: s.zone_up(*a), ["zone-a", 5], ["name", "time"]),
    ("host_failed", lambda s, m, a: s.host_failed(*a), [1, 5], ["u64", "time"]),
    ("rebalance", lambda s, m, a: s.rebalance(*a), [5], ["time"]),
    ("plan_return", lambda s, m, a: s.plan_return(*a), [5], ["time"]),
    ("provision_failed", lambda s, m, a: s.provision_failed(*a),
     ["ecs.g7.4xlarge", "zone-a", 5], ["name", "name", "time"]),
    ("explain_substitution", lambda s, m, a: s.explain_substitution(*a), ["web", "zone-a"], ["name", "name"]),
    ("plan_repack", lambda s, m, a: s.plan_repack(*a), [100, 0], ["opt", "u64"]),
    ("plan_consolidation", lambda s, m, a: s.plan_consolidation(*a), [1, 1], ["opt", "opt"]),
    ("skew", lambda s, m, a: s.skew(*a), ["web"], ["name"]),
    ("app_instances", lambda s, m, a: s.app_instances(*a), ["web"], ["name"]),
    ("host", lambda s, m, a: s.host(*a), [1], ["u64"]),
    ("instance", lambda s, m, a: s.instance(*a), [1], ["u64"]),
    ("set_audit_capacity", lambda s, m, a: s.set_audit_capacity(*a), [10], ["u64"]),
    ("record_placement_latency", lambda s, m, a: s.record_placement_latency(*a), [1000], ["u64"]),
    ("delivery", lambda s, m, a: s.delivery(*a), ["web", 5], ["name", "time"]),
    ("deliveries", lambda s, m, a: s.deliveries(*a), [5], ["time"]),
    ("set_host_images", lambda s, m, a: s.set_host_images(a[0], ["sha256:a"], a[1]), [1, 5], ["u64", "time"]),
    ("host_images", lambda s, m, a: s.host_images(*a), [1], ["u64"]),
    ("close_period", lambda s, m, a: m.close_period(*a), [10, 10], ["time", "time"]),
    ("is_running", lambda s, m, a: m.is_running(*a), [1], ["u64"]),
    ("Event", lambda s, m, a: m.ingest(trimline.Event(a[0], a[1], a[2], a[3], a[4], "stopped"), 10),
     [1, "shop", "web", 1, 6], ["u128", "name", "name", "u64", "time"]),
    ("decision_events", lambda s, m, a: trimline.decision_events(s.dry_run(lambda c: c.reconcile(5)), s, a[0]), [5], ["time"]),
    ("pack_partial", lambda s, m, a: trimline.pack_partial([[a[0]]], [[a[1]]], a[2], a[3]), [8, 4, 10, 0],
     ["u64", "u64", "opt", "u64"]),
]


@pytest.mark.parametrize("call", CALLS, ids=[c[0] for c in CALLS])
def test_the_valid_call_succeeds(call: Call) -> None:
    # Each refusal below is then the bad argument's doing.
    _, fn, valid, kinds = call
    assert len(valid) == len(kinds)
    s, m = fixture()
    fn(s, m, list(valid))
    s.check_invariants()


def refused_and_unchanged(s: Scheduler, m: Meter, what: str, fn: Callable[[], Any]) -> None:
    before = (s.snapshot(), m.snapshot())
    try:
        fn()
    except ALLOWED:
        pass
    except BaseException as e:  # noqa: BLE001 - a PanicException is the point
        pytest.fail(f"{what}: {type(e).__module__}.{type(e).__name__}: {e}")
    else:
        pytest.fail(f"{what} was accepted")
    assert (s.snapshot(), m.snapshot()) == before, f"{what} changed the state"
    s.check_invariants()


@FEW
@given(data=st.data())
def test_every_argument_refuses_what_it_cannot_take(data: st.DataObject) -> None:
    name, fn, valid, kinds = data.draw(st.sampled_from(CALLS), label="call")
    position = data.draw(st.integers(min_value=0, max_value=len(valid) - 1), label="position")
    value = data.draw(bad(kinds[position]), label="value")
    args = list(valid)
    args[position] = value
    s, m = fixture()
    refused_and_unchanged(s, m, f"{name} argument {position} = {value!r}", lambda: fn(s, m, args))


# ------------------------------------------------------------ bad specs

# A value no field of a spec takes: not finite, too large, negative, or a
# string with no UTF-8 form.
BAD_FIELD = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 2**64, 2**200, -(2**64), -(2**200)]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=0.5).filter(lambda f: f != int(f)),
    HUGE,
    st.integers(max_value=-(2**63) - 1),
    SURROGATE,
)

APP: dict[str, Any] = {
    "id": "new",
    "tenant": "shop",
    "resources": {"cpu_millis": 1000, "memory_mib": 1024},
    "arches": ["x86_64"],
}
SKU: dict[str, Any] = {
    "id": "k",
    "family": "k",
    "generation": 7,
    "arch": "x86_64",
    "cpu_vendor": "intel",
    "allocatable": {"cpu_millis": 16000, "memory_mib": 65536},
    "perf_score": 100,
    "price_nanos_per_second": 1,
}
TABLE: dict[str, Any] = {
    "version": 2,
    "effective": 0,
    "cpu_nanos_per_vcpu_second": 1,
    "idle_cpu_nanos_per_vcpu_second": 1,
    "memory_nanos_per_gib_second": 1,
    "accelerator_nanos_per_second": 1,
}
# (name, call taking the spec, the valid spec, paths of the fields to spoil)
SPECS: list[tuple[str, Callable[[Scheduler, Meter, Any], Any], dict[str, Any], list[tuple[str, ...]]]] = [
    ("add_app", lambda s, m, v: s.add_app(v, now=5), APP,
     [("id",), ("tenant",), ("resources", "cpu_millis"), ("resources", "memory_mib"), ("arches", "0")]),
    ("add_sku", lambda s, m, v: s.add_sku(v, now=5), SKU,
     [("id",), ("generation",), ("allocatable", "cpu_millis"), ("perf_score",), ("price_nanos_per_second",)]),
    ("add_price_table", lambda s, m, v: m.add_price_table(v), TABLE,
     [("version",), ("effective",), ("cpu_nanos_per_vcpu_second",), ("memory_nanos_per_gib_second",)]),
    ("Scheduler", lambda s, m, v: Scheduler(v), {"max_batch": 10}, [("max_batch",)]),
    ("Meter", lambda s, m, v: Meter(v), {"allowed_lateness_ms": 10}, [("allowed_lateness_ms",)]),
    ("set_offering_figures", lambda s, m, v: s.set_offering_figures(v, now=5),
     {"sku": "ecs.g7.4xlarge", "zone": "zone-a", "provision_seconds": 90, "pull_mb_per_second": 100},
     [("sku",), ("zone",), ("provision_seconds",), ("pull_mb_per_second",)]),
]


def spoiled(spec: Any, path: tuple[str, ...], value: Any) -> Any:
    if not path:
        return value
    if isinstance(spec, list):
        i = int(path[0])
        return [spoiled(x, path[1:], value) if k == i else x for k, x in enumerate(spec)]
    return {k: spoiled(v, path[1:], value) if k == path[0] else v for k, v in spec.items()}


@pytest.mark.parametrize("spec", SPECS, ids=[c[0] for c in SPECS])
def test_the_valid_spec_is_taken(spec: Any) -> None:
    _, fn, valid, _ = spec
    s, m = fixture()
    fn(s, m, valid)


@FEW
@given(data=st.data())
def test_every_spec_field_refuses_what_it_cannot_take(data: st.DataObject) -> None:
    name, fn, valid, paths = data.draw(st.sampled_from(SPECS), label="spec")
    path = data.draw(st.sampled_from(paths), label="field")
    value = data.draw(BAD_FIELD, label="value")
    s, m = fixture()
    refused_and_unchanged(
        s, m, f"{name} {'.'.join(path)} = {value!r}", lambda: fn(s, m, spoiled(valid, path, value))
    )


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=20, deadline=None)
@given(depth=st.integers(min_value=65, max_value=100_000), field=st.sampled_from(["arches", "resources", "id"]))
def test_deeply_nested_specs_are_refused(depth: int, field: str) -> None:
    s, m = fixture()
    refused_and_unchanged(s, m, f"{field} nested {depth} deep", lambda: s.add_app({**APP, field: nested(depth)}, now=5))
    text = "[" * depth + "]" * depth
    refused_and_unchanged(s, m, f"a snapshot nested {depth} deep", lambda: Scheduler.restore(text))
    refused_and_unchanged(s, m, f"a meter snapshot nested {depth} deep", lambda: Meter.restore(text.encode()))


@FEW
@given(text=SURROGATE)
def test_snapshots_holding_lone_surrogates_are_refused(text: str) -> None:
    s, m = fixture()
    snap = s.snapshot().decode()
    refused_and_unchanged(s, m, "a snapshot", lambda: Scheduler.restore(snap.replace('"web"', f'"{text}"', 1)))
    escaped = f"\\u{ord(text[len(text.rstrip('abc-')) - 1]):04x}" if text.rstrip("abc-") else "\\ud800"
    refused_and_unchanged(
        s, m, "an escaped surrogate", lambda: Scheduler.restore(snap.replace('"web"', f'"{escaped}"', 1))
    )


# ------------------------------------------------------------ reports

def test_a_report_with_a_late_event_of_a_decision_is_returned() -> None:
    # A stop derived from a decision (its id is 128 bits: time and
    # occurrence) arrives after its period closed: the next report carries
    # the adjustment, with that id, instead of failing after the period was
    # closed and losing the report.
    s, m = fixture()
    d = s.scale("web", 2, now=5)
    late = trimline.decision_events(d, s, 5)
    assert late and all(e.id >= 2**64 for e in late)
    m.close_period(10, 10)
    assert m.ingest_batch(late, 11).refused is None
    r = m.close_period(20, 20)
    assert {a["event"] for a in r.adjustments} == {e.id for e in late}
    assert all(a["corrects"] == 0 for a in r.adjustments)
    assert m.open_period() == (2, 20)


# ------------------------------------------------------------ threads

def test_threads_mutating_one_scheduler_and_one_meter_at_once() -> None:
    zones = ["zone-a", "zone-b", "zone-c"]
    s = region(zones, [G7], [("ecs.g7.4xlarge", z, 12) for z in zones])
    apps = ["web", "api", "batch"]
    for app, tenant in zip(apps, ["shop", "bank", "lab"]):
        s.add_app(AppSpec(id=app, tenant=tenant, resources=Resources(2000, 4096)), now=0)
    m = Meter()
    m.add_price_table(price_table())
    clock = iter(range(1, 10**9))  # next() on it is atomic under the GIL
    clock_lock = threading.Lock()
    refused: Counter[str] = Counter()
    done: Counter[str] = Counter()
    failures: list[str] = []
    barrier = threading.Barrier(4)

    def tick() -> int:
        with clock_lock:
            return next(clock)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(250):
            op = rng.choice(["place", "place", "scale", "remove", "snapshot", "reconcile", "query", "dry_run", "bill"])
            app = rng.choice(apps)
            now = tick()
            try:
                d: trimline.Decisions | None = None
                if op == "place":
                    d = s.place(app, now)
                elif op == "scale":
                    d = s.scale(app, rng.randrange(0, 40), now)
                elif op == "remove":
                    ids = s.app_instances(app)
                    if ids:
                        d = s.remove_instance(rng.choice(ids), now)
                elif op == "snapshot":
                    assert Scheduler.restore(s.snapshot()) is not None
                    Meter.restore(m.snapshot())
                elif op == "reconcile":
                    d = s.reconcile(now)
                elif op == "query":
                    s.check_invariants()
                    s.counters()
                    s.drain_audit()
                    s.deliveries(now)
                    s.host(rng.randrange(1, 37))
                    m.is_running(rng.randrange(1, 100))
                elif op == "dry_run":
                    s.dry_run(lambda c: c.scale(app, 30, now))
                elif op == "bill":
                    m.close_period(now, now)
                if d is not None:
                    events = trimline.decision_events(d, s, now)
                    m.ingest_batch(events, now)
                done[op] += 1
            except trimline.TrimlineError as e:
                # Another thread's call came first: its time was later,
                # or it removed the instance; refused, nothing changed.
                refused[type(e).__name__] += 1
            except BaseException as e:  # noqa: BLE001 - the point of the test
                failures.append(f"{op}: {type(e).__module__}.{type(e).__name__}: {e}")
                return

    threads = [threading.Thread(target=worker, args=(seed,), daemon=True) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "deadlock: a thread is still running"
    assert not failures, failures
    # Refusals are only the kinds that interleaving explains.
    assert set(refused) <= {"TimeWentBackwards", "UnknownId", "Conflict", "OutOfOrder", "InvalidInput"}, refused
    assert sum(done.values()) > 500 and done["place"] > 50, (done, refused)
    s.check_invariants()
    assert Scheduler.restore(s.snapshot()).snapshot() == s.snapshot()
    assert Meter.restore(m.snapshot()).snapshot() == m.snapshot()


FINALIZER = textwrap.dedent(
    """
    import gc, threading
    import trimline
    from trimline import AppSpec, Resources, Scheduler, SkuSpec

    s = Scheduler()
    s.add_zone("zone-a", now=0)
    s.add_sku(SkuSpec(id="g7", family="g7", generation=7, arch="x86_64", cpu_vendor="intel",
                      allocatable=Resources(16000, 65536), perf_score=100,
                      price_nanos_per_second=1), now=0)
    for h in range(1, 9):
        s.add_host(h, "g7", "zone-a", now=0)
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(1000, 1024)), now=0)
    s.scale("web", 60, now=1)
    s.set_offering_figures({"sku": "g7", "zone": "zone-a", "provision_seconds": 9,
                            "pull_mb_per_second": 9}, now=1)

    calls = 0

    class Cycle:
        # Garbage in a reference cycle: the cycle collector frees it, when
        # an allocation (any, in a conversion too) triggers a collection.
        def __init__(self):
            self.me = self

        def __del__(self):
            global calls
            calls += 1
            s.now
            s.host_count()
            s.app_instances("web")

    gc.set_threshold(1, 1, 1)

    def churn():
        for _ in range(300):
            Cycle()
            s.counters()
            s.drain_audit()
            s.deliveries(2)
            s.offering_figures()
            s.app("web")
            s.host(1)
            s.explain_substitution("web", "zone-a")
            s.skew("web")

    threads = [threading.Thread(target=churn) for _ in range(2)]
    for t in threads:
        t.start()
    churn()
    for t in threads:
        t.join()
    gc.collect()
    s.check_invariants()
    print("finalizers ran", calls)
    """
)


def test_a_finalizer_calling_the_scheduler_during_a_conversion_does_not_deadlock(
    tmp_path: Any,
) -> None:
    # A cycle collection can run Python code (a __del__) in the middle of
    # any allocation, so also while the binding builds a result; that code
    # may call the same scheduler, on this thread or, the GIL switching,
    # on another. Run in a child process so a deadlock fails the test
    # instead of hanging the suite.
    try:
        out = subprocess.run(
            [sys.executable, "-c", FINALIZER],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # not python/, so the installed package is imported
        )
    except subprocess.TimeoutExpired:
        pytest.fail("deadlock: a finalizer calling the scheduler hung")
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) > 100, out.stdout
