"""Heavy calls release the GIL: two schedulers in two threads overlap."""

from __future__ import annotations

import threading
import time

from trimline import AppSpec, Resources, Scheduler

from conftest import G7, region


def big() -> Scheduler:
    zones = ["zone-a", "zone-b"]
    s = region(zones, [G7], [("ecs.g7.4xlarge", z, 12_500) for z in zones])
    s.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)
    return s


def test_two_schedulers_in_two_threads_overlap() -> None:
    heavy = big()
    light = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 4)])
    light.add_app(AppSpec(id="web", tenant="shop", resources=Resources(4000, 8192)), now=0)

    started = threading.Event()
    done = threading.Event()
    ticks: list[float] = []

    def other_thread() -> None:
        # Calls on the second scheduler, each stamped when it returns.
        n = 0
        started.set()
        while not done.is_set():
            n += 1
            light.scale("web", n % 16, now=n)
            ticks.append(time.perf_counter())

    t = threading.Thread(target=other_thread)
    t.start()
    started.wait()
    spans = []
    for i in range(3):
        t0 = time.perf_counter()
        d = heavy.scale("web", 100_000 if i % 2 == 0 else 0, now=i + 1)
        t1 = time.perf_counter()
        assert d
        spans.append((t0, t1))
    done.set()
    t.join()

    # While the heavy scale runs in Rust without the GIL, the other thread
    # keeps calling its scheduler: it returns from calls in the middle half
    # of a heavy call. Holding the GIL, it could not run at all there (at
    # most a switch interval, 5 ms, right at the start). One heavy call of
    # the three suffices, so a busy machine that leaves the other thread
    # without a core for a while does not fail the test.
    def progressed(t0: float, t1: float) -> bool:
        quarter = (t1 - t0) / 4
        return any(t0 + quarter <= x <= t1 - quarter for x in ticks)

    calls = ", ".join(f"{1000 * (t1 - t0):.0f} ms" for t0, t1 in spans)
    assert any(progressed(t0, t1) for t0, t1 in spans), f"no progress during {calls}"
