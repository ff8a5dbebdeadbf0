"""The meter's history of closed periods and its usage export, against
figures computed by hand."""

from __future__ import annotations

import pickle

import pytest

import trimline
from trimline import Event, Meter, MeterConfig, PriceTable, Resources, SkuInfo

MINUTE = 60_000
NOW = 1_000 * MINUTE


def meter(history_periods: int = 12) -> Meter:
    # 10,000 per vCPU-s (2,000 idle), 1,000 per GiB-s.
    m = Meter(MeterConfig(history_periods=history_periods))
    m.add_price_table(
        PriceTable(
            version=1,
            effective=0,
            cpu_nanos_per_vcpu_second=10_000,
            idle_cpu_nanos_per_vcpu_second=2_000,
            memory_nanos_per_gib_second=1_000,
        )
    )
    return m


def three_periods(m: Meter) -> list[trimline.PeriodReport]:
    # 2 vCPU, 4 GiB from 0: each minute bills 2 x 60 x 10,000 + 4 x 60 x 1,000.
    m.ingest(Event(1, "acme", "web", 1, 0, "started", Resources(cpu_millis=2_000, memory_mib=4_096)), NOW)
    return [m.close_period(k * MINUTE, NOW) for k in (1, 2, 3)]


def test_the_history_keeps_the_latest_periods() -> None:
    m = meter(2)
    reports = three_periods(m)
    assert [r.invoices[0].total_nanos for r in reports] == [1_440_000] * 3
    kept = m.history()
    assert [r.period for r in kept] == [1, 2]
    assert m.closed_report(0) is None
    assert m.closed_report(3) is None
    report = m.closed_report(2)
    assert report is not None
    assert (report.start, report.end) == (2 * MINUTE, 3 * MINUTE)
    invoice = m.closed_invoice(1, "acme")
    assert invoice is not None
    assert (invoice.period, invoice.total_nanos) == (1, 1_440_000)
    assert m.closed_invoice(1, "other") is None
    assert MeterConfig().history_periods == 12
    none = meter(0)
    three_periods(none)
    assert none.history() == ()


def test_a_restored_meter_answers_the_same() -> None:
    m = meter(2)
    three_periods(m)
    for copy in (Meter.restore(m.snapshot()), pickle.loads(pickle.dumps(m))):
        assert [r.period for r in copy.history()] == [1, 2]
        inv = copy.closed_invoice(2, "acme")
        assert inv is not None
        assert inv.total_nanos == 1_440_000
        assert copy.snapshot() == m.snapshot()


def test_a_late_stop_is_billed_in_the_period_it_arrived_in() -> None:
    m = meter()
    first = three_periods(m)[0]
    assert m.ingest(Event(2, "acme", "web", 1, 30_000, "stopped"), NOW) == "adjusted"
    kept = m.closed_report(0)
    assert kept is not None and kept.invoices[0].total_nanos == first.invoices[0].total_nanos
    m.close_period(4 * MINUTE, NOW)
    later = m.closed_invoice(3, "acme")
    assert later is not None
    # 150 s taken back: -(2 x 150 x 10,000 + 4 x 150 x 1,000).
    assert later.total_nanos == -3_600_000
    assert [ln.corrects for ln in later.lines] == [0, 0, 1, 1, 2, 2]


def test_usage_export_with_idle_time_and_a_resize() -> None:
    m = meter()
    m.describe_sku(SkuInfo(sku="a", zone="z1"))
    m.describe_sku(SkuInfo(sku="b", zone="z2"))
    small = Resources(cpu_millis=2_000, memory_mib=4_096)
    big = Resources(cpu_millis=4_000, memory_mib=8_192)
    events = [
        Event(1, "acme", "web", 1, 0, "started", small, "a"),
        Event(2, "acme", "web", 1, 10_000, "idle"),
        Event(3, "acme", "web", 1, 20_000, "active"),
        Event(4, "acme", "web", 1, 30_000, "resized", big, "b"),
        Event(5, "acme", "web", 1, 40_500, "stopped"),
    ]
    assert m.ingest_batch(events, NOW).refused is None
    records = m.usage(0, MINUTE)
    rows = [(r["instance"], r["sku"], r["zone"], r["component"], r["quantity"], r["top_up"]) for r in records]
    # On a: active 0-10 s and 20-30 s, idle 10-20 s. On b: 30-40.5 s and
    # the stop rounded up to the whole second (500 ms), in the last shape.
    assert rows == [
        (1, "a", "z1", "cpu", 2_000 * 20_000, 0),
        (1, "a", "z1", "idle_cpu", 2_000 * 10_000, 0),
        (1, "a", "z1", "memory", 4_096 * 20_000, 0),
        (1, "a", "z1", "idle_memory", 4_096 * 10_000, 0),
        (1, "b", "z2", "cpu", 4_000 * 11_000, 4_000 * 500),
        (1, "b", "z2", "memory", 8_192 * 11_000, 8_192 * 500),
    ]
    assert all(r["tenant"] == "acme" and r["app"] == "web" for r in records)
    assert all((r["from"], r["to"]) == (0, MINUTE) for r in records)

    by_zone = m.usage(15_000, 35_000, group_by=["zone"])
    assert [(r["app"], r["zone"], r["component"], r["quantity"]) for r in by_zone] == [
        (None, "z1", "cpu", 2_000 * 10_000),
        (None, "z1", "idle_cpu", 2_000 * 5_000),
        (None, "z1", "memory", 4_096 * 10_000),
        (None, "z1", "idle_memory", 4_096 * 5_000),
        (None, "z2", "cpu", 4_000 * 5_000),
        (None, "z2", "memory", 8_192 * 5_000),
    ]

    with pytest.raises(trimline.InvalidInput, match="region"):
        m.usage(0, MINUTE, group_by=["region"])  # type: ignore[list-item]
    m.close_period(MINUTE, NOW)
    with pytest.raises(trimline.InvalidInput, match="open period"):
        m.usage(0, MINUTE)
