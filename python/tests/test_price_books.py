"""Price books as published: rates per minute or hour, kept exact, and
per-minute billing, each against an invoice computed by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

import trimline
from trimline import Event, Meter, PriceTable, RateUnit, Resources


def bill(table: PriceTable, runs: list[tuple[int, Resources, int, int, bool]]) -> trimline.Invoice:
    """Runs (instance, shape, start, stop, idle from the middle) of acme/web,
    billed in one period of two hours."""
    m = Meter()
    m.add_price_table(table)
    events: list[Event] = []
    for instance, shape, start, stop, idle in runs:
        events.append(Event(len(events) + 1, "acme", "web", instance, start, "started", shape))
        if idle:
            events.append(Event(len(events) + 1, "acme", "web", instance, (start + stop) // 2, "idle"))
        events.append(Event(len(events) + 1, "acme", "web", instance, stop, "stopped"))
    batch = m.ingest_batch(events, 7_200_000)
    assert batch.refused is None
    (invoice,) = m.close_period(7_200_000, 7_200_000).invoices
    return invoice


def test_sae_idle_cpu_at_a_fifth_at_per_minute_list_prices() -> None:
    # SAE pay-as-you-go (Singapore): USD 0.0006414 per core-minute and
    # 0.0001603 per GiB-minute; idle vCPU at 0.2 x the active rate; memory at
    # the full rate, idle or not; runs rounded up to the second.
    table = PriceTable(
        version=1,
        effective=0,
        rates_per=RateUnit.MINUTE,
        cpu_nanos_per_vcpu_second=641_400,
        idle_cpu_nanos_per_vcpu_second=128_280,
        memory_nanos_per_gib_second=160_300,
    )
    # 2 vCPU, 4 GiB: active for 600.25 s, idle for 600.25 s, stops at
    # 1,200.5 s, rounded up to 1,201 s (the top-up is idle).
    invoice = bill(table, [(1, Resources(2000, 4096), 0, 1_200_500, True)])
    # Active CPU: 2 cores x 600.25 s = 1,200.5 core-s x 641,400 / 60 = 12,833,345
    # Idle CPU:   2 cores x 600.75 s = 1,201.5 core-s x 128,280 / 60 = 2,568,807
    # Memory:     4 GiB x 1,201 s = 4,804 GiB-s x 160,300 / 60 = 12,834,686 2/3
    # Total:      28,236,838 2/3, rounded once: 28,236,839
    active = Fraction(2 * 600_250, 60_000) * 641_400
    idle = Fraction(2 * 600_750, 60_000) * 128_280
    memory = Fraction(4 * 1_201_000, 60_000) * 160_300
    assert (active, idle, memory) == (Fraction(12_833_345), Fraction(2_568_807), Fraction(38_504_060, 3))
    assert [(line.component, line.rate_per, line.amount_nanos) for line in invoice.lines] == [
        ("cpu", "minute", 12_833_345),
        ("idle_cpu", "minute", 2_568_807),
        ("memory", "minute", 12_834_687),
    ]
    assert invoice.total_nanos == 28_236_839
    assert invoice.total == Decimal("0.028236839")
    # Exact to the sub-nano (460,800,000,000 to the nano-unit): 84,710,516 / 3.
    assert invoice.exact_subnanos == 84_710_516 * 153_600_000_000
    assert sum(line.amount_nanos for line in invoice.lines) == invoice.total_nanos


def test_per_minute_billing_charges_partial_minutes_whole() -> None:
    table = PriceTable(
        version=1,
        effective=0,
        rates_per="minute",
        billing_increment_seconds=60,
        cpu_nanos_per_vcpu_second=641_400,
        memory_nanos_per_gib_second=160_300,
    )
    # 1 vCPU, 2 GiB for 61 s: 2 minutes; 0.5 vCPU, 1 GiB for 1 ms: 1 minute.
    invoice = bill(
        table,
        [(1, Resources(1000, 2048), 0, 61_000, False), (2, Resources(500, 1024), 0, 1, False)],
    )
    # CPU: 2.5 core-min x 641,400 = 1,603,500; memory: 5 GiB-min x 160,300 = 801,500.
    assert [(line.component, line.amount_nanos) for line in invoice.lines] == [
        ("cpu", 1_603_500),
        ("memory", 801_500),
    ]
    assert invoice.total_nanos == 2_405_000


def test_a_billing_increment_with_exact_billing_is_invalid() -> None:
    m = Meter()
    with pytest.raises(trimline.InvalidInput, match="billing_increment_seconds"):
        m.add_price_table(
            PriceTable(
                version=1,
                effective=0,
                sub_second="exact",
                billing_increment_seconds=60,
                cpu_nanos_per_vcpu_second=1,
                memory_nanos_per_gib_second=1,
            )
        )


def test_default_meter_accepts_a_little_skew_and_lateness() -> None:
    config = trimline.MeterConfig()
    assert (config.allowed_lateness_ms, config.max_clock_skew_ms) == (300_000, 5_000)
    m = Meter()
    m.add_price_table(
        PriceTable(version=1, effective=0, cpu_nanos_per_vcpu_second=1_000, memory_nanos_per_gib_second=0)
    )
    # 1 ms ahead of `now`, then a stop, then an idle 4 minutes older than it.
    assert m.ingest(Event(1, "acme", "web", 1, 10_001, "started", Resources(1000, 1024)), 10_000) == "applied"
    assert m.ingest(Event(2, "acme", "web", 1, 250_001, "stopped"), 250_001) == "applied"
    assert m.ingest(Event(3, "acme", "web", 1, 10_001 + 1, "idle"), 250_001) == "applied"
    with pytest.raises(trimline.OutOfOrder, match="watermark"):
        m.ingest(Event(4, "acme", "web", 2, 260_002, "started", Resources(1000, 1024)), 255_001)
    (invoice,) = m.close_period(3_600_000, 3_600_000).invoices
    # 240 s at 1,000 per vCPU-s (idle CPU at the active rate).
    assert invoice.total_nanos == 240_000
