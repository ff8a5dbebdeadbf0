"""Python against Rust on the same work, in one run.

Measures, on schedulers restored from one snapshot (a region of three
zones of 16 vCPU hosts and an app of 4 vCPU instances):

* a scale-out from 0 to N instances (10,000 by default): one ``scale``
  call through Python (and the same call plus reading every placement),
  against the same ``scale`` timed inside Rust;
* a stream of single ``place`` calls, through Python and in Rust: the
  difference per call is the binding's overhead, reported in µs.

Each figure is the median of ``--repeat`` runs, each on a fresh restore.
The figures are printed, and written as a Markdown page to ``--out`` when
given: ``benches/report.sh`` does that and copies the table into
``benches/RESULTS.md``. Build the wheel in release mode first (``maturin
build --release`` and install it, or ``maturin develop --release``).

    python python/benches/bench.py            # 10,000 instances
    python python/benches/bench.py --tiny     # a smoke run, no file written
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import trimline
from trimline import AppSpec, Resources, Scheduler, SkuSpec
from trimline._trimline import _bench_rust

TARGET_RATIO = 1.5

SKU = SkuSpec(
    id="ecs.g7.4xlarge",
    family="g7",
    generation=7,
    arch="x86_64",
    cpu_vendor="intel",
    allocatable=Resources(16_000, 65_536, 10_000),
    perf_score=100,
    numa_nodes=[Resources(8_000, 32_768, 5_000)] * 2,
    price_nanos_per_second=256_000,
)
ZONES = ["zone-a", "zone-b", "zone-c"]


def region(instances: int) -> bytes:
    """A snapshot of a region with room for `instances` 4 vCPU instances
    (four per host) and a 20% margin, and the app `web`, not yet placed."""
    s = Scheduler()
    for z in ZONES:
        s.add_zone(z, now=0)
    s.add_sku(SKU, now=0)
    hosts = max(1, instances * 12 // 10 // 4)
    for i in range(hosts):
        s.add_host(i + 1, SKU.id, ZONES[i % len(ZONES)], now=0)
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4_000, 8_192)), now=0)
    return s.snapshot()


def median_ns(repeat: int, run: Callable[[], int]) -> float:
    return statistics.median(run() for _ in range(repeat))


def python_scale(snapshot: bytes, n: int, read: bool) -> int:
    s = Scheduler.restore(snapshot)
    start = time.perf_counter_ns()
    d = s.scale("web", n, now=1)
    if read:
        for p in d.placements:
            p.host  # noqa: B018 - reading every placement is the point
    elapsed = time.perf_counter_ns() - start
    assert len(d.placements) == n
    return elapsed


def python_place(snapshot: bytes, n: int) -> int:
    s = Scheduler.restore(snapshot)
    place = s.place
    start = time.perf_counter_ns()
    for _ in range(n):
        place("web", 1)
    return time.perf_counter_ns() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--places", type=int, default=2_000, help="single place calls")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tiny", action="store_true", help="a smoke run: 100 instances, no file")
    parser.add_argument("--out", type=Path, help="write the figures here as Markdown")
    args = parser.parse_args()
    if args.tiny:
        args.instances, args.places, args.repeat = 100, 50, 1

    n = args.instances
    snap = region(n)
    rust_scale = median_ns(args.repeat, lambda: _bench_rust(snap, "scale", "web", n, 1))
    py_scale = median_ns(args.repeat, lambda: python_scale(snap, n, read=False))
    py_scale_read = median_ns(args.repeat, lambda: python_scale(snap, n, read=True))
    rust_place = median_ns(args.repeat, lambda: _bench_rust(snap, "place", "web", args.places, 1))
    py_place = median_ns(args.repeat, lambda: python_place(snap, args.places))

    ratio = py_scale / rust_scale
    ratio_read = py_scale_read / rust_scale
    overhead_us = (py_place - rust_place) / args.places / 1000
    rows = [
        ("scale-out to %d instances, Rust" % n, "%.2f ms" % (rust_scale / 1e6), ""),
        ("same, one Python call", "%.2f ms" % (py_scale / 1e6), "%.2fx Rust" % ratio),
        ("same, Python call + reading every placement", "%.2f ms" % (py_scale_read / 1e6), "%.2fx Rust" % ratio_read),
        ("place, Rust, per call", "%.2f µs" % (rust_place / args.places / 1000), ""),
        ("place, Python, per call", "%.2f µs" % (py_place / args.places / 1000), ""),
        ("place, Python overhead per call", "%.2f µs" % overhead_us, ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")
    target = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"target: the scale-out costs at most {TARGET_RATIO}x the Rust time: {target}")
    if args.tiny or args.out is None:
        return

    lines = [
        "# Python bindings: benchmark results",
        "",
        "Written by `python python/benches/bench.py` (see its docstring); one run,",
        "medians of %d repeats, each on a scheduler restored from one snapshot." % args.repeat,
        "",
        "Build: trimline %s, Python %s on %s." % (trimline.__version__, platform.python_version(), platform.machine()),
        "",
        "| measure | time | ratio |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {value} | {note} |" for name, value, note in rows]
    lines += ["", f"Target: the scale-out costs at most {TARGET_RATIO}x the Rust time ({target}).", ""]
    args.out.write_text("\n".join(lines))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
