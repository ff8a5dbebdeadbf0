"""A hypothesis state machine over the Python API: hosts, apps, scale,
zones down and up, failed hosts, provisioning (stock, host_ready,
provision_failed) and moves.
After every step: no node holds more than its capacity in any dimension,
no instance is lost, and metering the decisions twice counts them once."""

from __future__ import annotations

from typing import Literal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import trimline
from trimline import AppSpec, Meter, PriceTable, QosTier, Resources, SpreadPolicy

from conftest import C7, G7, R7

ZONES = ["zone-a", "zone-b", "zone-c"]
SKUS = [G7, C7, R7]
APPS = {
    "web": AppSpec(
        id="web",
        tenant="shop",
        resources=Resources(4000, 8192),
        spread=SpreadPolicy(max_skew=2, disruption_budget=4),
    ),
    "cache": AppSpec(id="cache", tenant="shop", resources=Resources(2000, 30_720)),
    "batch": AppSpec(
        id="batch", tenant="lab", resources=Resources(8000, 16384), qos=QosTier.BEST_EFFORT
    ),
}
DIMENSIONS = ["cpu_millis", "memory_mib", "network_mbps", "accelerators"]


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.s = trimline.Scheduler()
        self.now = 0
        for z in ZONES:
            self.s.add_zone(z, now=0)
        for k in SKUS:
            self.s.add_sku(k, now=0)
        for app in APPS.values():
            self.s.add_app(app, now=0)
        # Offerings declared from the start, so that pending instances
        # provision hosts and host_ready and provision_failed run often.
        for z in ZONES:
            assert not self.s.set_stock(G7.id, z, "unknown", now=0)
            assert not self.s.set_stock(R7.id, z, 4, now=0)
        self.targets = {app: 0 for app in APPS}
        self.down: set[str] = set()
        self.next_host = 1
        self.planned: set[int] = set()
        self.meter = Meter()
        self.meter.add_price_table(
            PriceTable(
                version=1, effective=0, cpu_nanos_per_vcpu_second=10, memory_nanos_per_gib_second=1
            )
        )

    def tick(self, step: int) -> int:
        self.now += step
        return self.now

    def record(self, d: trimline.Decisions) -> None:
        """Carry out the bookkeeping an embedder does: planned hosts, and
        metering (twice: the replay must change nothing)."""
        for p in d.provisions:
            self.planned.update(p.hosts)
        for c in d.cancellations:
            self.planned.difference_update(c.hosts)
        events = trimline.decision_events(d, self.s, self.now)
        first = [self.meter.ingest(e, self.now) for e in events]
        assert set(first) <= {"applied"}
        before = self.meter.snapshot()
        again = [self.meter.ingest(e, self.now) for e in events]
        assert set(again) <= {"duplicate"}
        assert self.meter.snapshot() == before

    @rule(
        sku=st.sampled_from([k.id for k in SKUS]),
        zone=st.sampled_from(ZONES),
        count=st.integers(1, 3),
        step=st.integers(0, 1000),
    )
    def add_hosts(self, sku: str, zone: str, count: int, step: int) -> None:
        now = self.tick(step)
        for _ in range(count):
            self.record(self.s.add_host(self.next_host, sku, zone, now))
            self.next_host += 1

    @rule(app=st.sampled_from(sorted(APPS)), size=st.integers(0, 40), step=st.integers(0, 1000))
    def scale(self, app: str, size: int, step: int) -> None:
        self.record(self.s.scale(app, size, self.tick(step)))
        self.targets[app] = size

    @precondition(lambda self: len(self.down) < len(ZONES) - 1)
    @rule(zone=st.sampled_from(ZONES), step=st.integers(0, 1000))
    def zone_down(self, zone: str, step: int) -> None:
        if zone in self.down:
            return
        self.record(self.s.zone_down(zone, self.tick(step)))
        self.down.add(zone)

    @rule(zone=st.sampled_from(ZONES), step=st.integers(0, 1000))
    def zone_up(self, zone: str, step: int) -> None:
        if zone not in self.down:
            return
        d = self.s.zone_up(zone, self.tick(step))
        self.record(d)
        self.down.discard(zone)

    @rule(step=st.integers(0, 1000))
    def complete_moves(self, step: int) -> None:
        """The embedder finishes the moves whose replacement runs."""
        now = self.tick(step)
        for m in self.s.moves_in_flight():
            view = self.s.instance(m["to"])
            if view is not None and "placed" in view["status"]:
                self.record(self.s.complete_move(m["to"], now))

    @rule(
        sku=st.sampled_from([k.id for k in SKUS]),
        zone=st.sampled_from(ZONES),
        stock=st.one_of(st.integers(0, 5), st.sampled_from(["unknown", "exhausted"])),
        step=st.integers(0, 1000),
    )
    def set_stock(
        self, sku: str, zone: str, stock: int | Literal["unknown", "exhausted"], step: int
    ) -> None:
        self.record(self.s.set_stock(sku, zone, stock, self.tick(step)))

    @precondition(lambda self: bool(self.planned))
    @rule(data=st.data(), step=st.integers(0, 1000))
    def host_ready(self, data: st.DataObject, step: int) -> None:
        planned = data.draw(st.sampled_from(sorted(self.planned)))
        self.planned.discard(planned)
        self.record(self.s.host_ready(planned, self.next_host, self.tick(step)))
        self.next_host += 1

    @rule(
        sku=st.sampled_from([k.id for k in SKUS]),
        zone=st.sampled_from(ZONES),
        step=st.integers(0, 1000),
    )
    def provision_failed(self, sku: str, zone: str, step: int) -> None:
        try:
            d = self.s.provision_failed(sku, zone, self.tick(step))
        except trimline.UnknownId:
            return  # no offering declared for it
        self.record(d)

    @precondition(lambda self: self.next_host > 1)
    @rule(data=st.data(), step=st.integers(0, 1000))
    def host_failed(self, data: st.DataObject, step: int) -> None:
        running = [h for h in self.s.host_ids() if h not in self.planned]
        if not running:
            return
        host = data.draw(st.sampled_from(running))
        self.record(self.s.host_failed(host, self.tick(step)))

    @rule(step=st.integers(0, 200_000))
    def reconcile(self, step: int) -> None:
        self.record(self.s.reconcile(self.tick(step)))

    @invariant()
    def rigid(self) -> None:
        self.s.check_invariants()
        for host_id in self.s.host_ids():
            host = self.s.host(host_id)
            assert host is not None
            for node in host["nodes"]:
                for dim in DIMENSIONS:
                    used = node["rigid"][dim] + node["best_effort"][dim]
                    assert used <= node["capacity"][dim], (host_id, dim)

    @invariant()
    def no_instance_lost(self) -> None:
        # A move's replacement is an extra instance until the move completes.
        replacements = {m["to"] for m in self.s.moves_in_flight()}
        for app, target in self.targets.items():
            assert len(set(self.s.app_instances(app)) - replacements) == target
        assert self.s.instance_count() >= sum(self.targets.values())

    @invariant()
    def planned_hosts_are_known(self) -> None:
        for h in self.planned:
            host = self.s.host(h)
            assert host is not None and host["state"] == "planned"


SchedulerMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, database=None
)
TestSchedulerMachine = SchedulerMachine.TestCase
