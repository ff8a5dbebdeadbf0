"""Small regions built through the public API, shared by the tests."""

from __future__ import annotations

import trimline
from trimline import Resources, SkuSpec


def sku(
    id: str,
    family: str,
    vcpus: int,
    memory_gib: int,
    *,
    generation: int = 7,
    arch: str = "x86_64",
    perf_score: int = 100,
    numa_nodes: int = 1,
    price_nanos_per_second: int = 256_000,
) -> SkuSpec:
    """A SKU with `numa_nodes` equal nodes and 10 Gbit/s of network."""
    total = Resources(vcpus * 1000, memory_gib * 1024, 10_000)
    nodes = [
        Resources(
            total.cpu_millis // numa_nodes,
            total.memory_mib // numa_nodes,
            total.network_mbps // numa_nodes,
        )
        for _ in range(numa_nodes)
    ]
    return SkuSpec(
        id=id,
        family=family,
        generation=generation,
        arch=arch,
        cpu_vendor="intel",
        allocatable=total,
        perf_score=perf_score,
        numa_nodes=nodes if numa_nodes > 1 else [],
        price_nanos_per_second=price_nanos_per_second,
    )


G7 = sku("ecs.g7.4xlarge", "g7", 16, 64)
C7 = sku("ecs.c7.8xlarge", "c7", 32, 64, price_nanos_per_second=448_000)
R7 = sku("ecs.r7.8xlarge", "r7", 32, 256, price_nanos_per_second=640_000)
G8I = sku(
    "ecs.g8i.32xlarge",
    "g8i",
    128,
    512,
    generation=8,
    perf_score=125,
    numa_nodes=2,
    price_nanos_per_second=2_048_000,
)


def region(
    zones: list[str], skus: list[SkuSpec], hosts: list[tuple[str, str, int]]
) -> trimline.Scheduler:
    """A scheduler with `zones`, `skus`, and `count` hosts of each
    (sku, zone, count), numbered from 1, all at time 0."""
    s = trimline.Scheduler()
    for z in zones:
        s.add_zone(z, now=0)
    for k in skus:
        s.add_sku(k, now=0)
    next_id = 1
    for sku_id, zone, count in hosts:
        for _ in range(count):
            d = s.add_host(next_id, sku_id, zone, now=0)
            assert not d
            next_id += 1
    return s
