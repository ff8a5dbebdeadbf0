"""Standby instances on the invoice: no CPU, memory at the standby memory
rate (or the memory rate, on the memory line, without one), accelerators
as idle accelerators; a standby that starts goes on in the same run.
Every figure is computed by hand in the comments."""

from __future__ import annotations

import pytest

import trimline
from trimline import AppSpec, PriceTable, Resources, SkuSpec

T0 = 10_000  # the first metered call, in ms
S = 1_000
GIB_S = 1_024_000  # MiB-ms in a GiB-second


def region() -> trimline.Scheduler:
    """Two hosts of 16 vCPU, 64 GiB and 4 accelerators; app `game` of
    4 vCPU, 8 GiB and one accelerator."""
    s = trimline.Scheduler()
    s.add_zone("a", now=0)
    s.add_sku(
        SkuSpec(
            id="g7",
            family="g7",
            generation=7,
            arch="x86_64",
            cpu_vendor="intel",
            allocatable=Resources(16_000, 65_536, 0, 4),
            perf_score=100,
            price_nanos_per_second=1_000,
            accelerator_model="a10",
        ),
        now=0,
    )
    for host in (1, 2):
        s.add_host(host, "g7", "a", now=0)
    s.add_app(AppSpec(id="game", tenant="t", resources=Resources(4_000, 8_192, 0, 1)), now=0)
    return s


def prices(standby: int | None, minimum_run_seconds: int = 0) -> PriceTable:
    """Per second: CPU 10,000 per vCPU (idle 2,000), memory 1,000 per GiB,
    accelerators 100,000 (idle 20,000)."""
    return PriceTable(
        version=1,
        effective=0,
        cpu_nanos_per_vcpu_second=10_000,
        idle_cpu_nanos_per_vcpu_second=2_000,
        memory_nanos_per_gib_second=1_000,
        accelerator_nanos_per_second=100_000,
        idle_accelerator_nanos_per_second=20_000,
        standby_memory_nanos_per_gib_second=standby,
        minimum_run_seconds=minimum_run_seconds,
    )


def metered(m: trimline.Meter, s: trimline.Scheduler, d: trimline.Decisions, at: int) -> list[str]:
    events = trimline.decision_events(d, s, at)
    assert [m.ingest(e, at) for e in events] == ["applied"] * len(events)
    return [f"{(e.at - T0) // S}:{e.instance}:{e.kind}" for e in events]


def launch(standby: int | None) -> tuple[trimline.Invoice, list[str]]:
    """Two standbys from 0 s; a scale-out to 1 at 100 s starts one and
    refills the target; the started one is scaled away at 160 s; the period
    closes at 200 s."""
    s = region()
    m = trimline.Meter()
    m.add_price_table(prices(standby))
    kinds = metered(m, s, s.set_standby("game", 2, now=T0), T0)
    kinds += metered(m, s, s.scale("game", 1, now=T0 + 100 * S), T0 + 100 * S)
    kinds += metered(m, s, s.scale("game", 0, now=T0 + 160 * S), T0 + 160 * S)
    report = m.close_period(T0 + 200 * S, T0 + 200 * S)
    (invoice,) = report.invoices
    return invoice, kinds


def lines(invoice: trimline.Invoice) -> list[tuple[str, int, int]]:
    return [(line.component, line.quantity, line.amount_nanos) for line in invoice.lines]


def test_standbys_are_created_stopped_and_start_in_the_same_run() -> None:
    _, kinds = launch(250)
    assert kinds == [
        "0:1:started",
        "0:1:standby",
        "0:2:started",
        "0:2:standby",
        "100:1:active",
        "100:3:started",
        "100:3:standby",
        "160:1:stopped",
    ]


def test_standby_pays_memory_at_its_rate_and_accelerators_as_idle() -> None:
    invoice, _ = launch(250)
    # Instance 1: standby 0-100 s, active 100-160 s; instance 2: standby
    # 0-200 s; instance 3: standby 100-200 s.
    #   cpu:               4 vCPU x 60 s x 10,000   = 2,400,000
    #   memory:            8 GiB x 60 s x 1,000     =   480,000
    #   accelerators:      1 x 60 s x 100,000       = 6,000,000
    #   idle accelerators: 1 x 400 s x 20,000       = 8,000,000
    #   standby memory:    8 GiB x 400 s x 250      =   800,000
    assert lines(invoice) == [
        ("cpu", 4_000 * 60 * S, 2_400_000),
        ("memory", 8 * 60 * GIB_S, 480_000),
        ("accelerators", 60 * S, 6_000_000),
        ("idle_accelerators", 400 * S, 8_000_000),
        ("standby_memory", 8 * 400 * GIB_S, 800_000),
    ]
    assert invoice.total_nanos == 17_680_000


def test_without_a_standby_rate_standby_memory_is_on_the_memory_line() -> None:
    invoice, _ = launch(None)
    # Memory: 8 GiB x (60 + 400) s x 1,000 = 3,680,000.
    assert [c for c, _, _ in lines(invoice)] == ["cpu", "memory", "accelerators", "idle_accelerators"]
    assert lines(invoice)[1] == ("memory", 8 * 460 * GIB_S, 3_680_000)
    assert invoice.total_nanos == 20_080_000


def test_a_run_that_ends_in_standby_pays_its_minimum_at_the_standby_rates() -> None:
    s = region()
    m = trimline.Meter()
    m.add_price_table(prices(250, minimum_run_seconds=60))
    metered(m, s, s.set_standby("game", 1, now=T0), T0)
    d = s.set_standby("game", 0, now=T0 + 10 * S)
    assert len(d.removals) == 1
    metered(m, s, d, T0 + 10 * S)
    (invoice,) = m.close_period(T0 + 200 * S, T0 + 200 * S).invoices
    # 10 s run, 60 s minimum: 60 s of standby. Memory 8 x 60 x 250; the
    # accelerator 60 x 20,000.
    assert lines(invoice) == [
        ("idle_accelerators", 60 * S, 1_200_000),
        ("standby_memory", 8 * 60 * GIB_S, 120_000),
    ]


def test_standby_rates_are_checked_and_standby_needs_a_run() -> None:
    m = trimline.Meter()
    with pytest.raises(trimline.InvalidInput, match="standby_memory_nanos_per_gib_second = 1001 is higher"):
        m.add_price_table(prices(1_001))
    m.add_price_table(prices(250))
    event = trimline.Event(1, "t", "game", 9, 5, "standby")
    with pytest.raises(trimline.Conflict, match="not running"):
        m.ingest(event, 5)
    with pytest.raises(trimline.InvalidInput, match="takes no resources"):
        trimline.Event(2, "t", "game", 9, 5, "standby", Resources(1_000, 1_024))
    assert event.kind == "standby"


def test_a_standby_on_a_new_host_comes_up_a_standby() -> None:
    s = region()
    m = trimline.Meter()
    m.add_price_table(prices(250))
    s.set_stock("g7", "a", "unknown", now=T0)
    # Eight servers fill both hosts; the standby waits for a new host.
    metered(m, s, s.scale("game", 8, now=T0), T0)
    d = s.set_standby("game", 1, now=T0 + S)
    assert [p.standby for p in d.tentative] == ["stopped"]
    metered(m, s, d, T0 + S)
    d = s.host_ready(d.provisions[0].hosts[0], 50, now=T0 + 91 * S)
    assert [(p.host, p.standby) for p in d.placements] == [(50, "stopped")]
    assert metered(m, s, d, T0 + 91 * S) == [f"91:{d.placements[0].instance}:started", f"91:{d.placements[0].instance}:standby"]
    (invoice,) = m.close_period(T0 + 100 * S, T0 + 100 * S).invoices
    # The standby's 9 s: 8 GiB x 9 s x 250 = 18,000.
    assert [line.amount_nanos for line in invoice.lines if line.component == "standby_memory"] == [18_000]
