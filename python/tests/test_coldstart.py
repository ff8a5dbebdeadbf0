"""Cold start: image locality breaks ties, each placement reports the bytes
it pulls, a dry run's cold-start mix is the committed call's, and images
and figures survive a snapshot."""

from __future__ import annotations

import pytest

import trimline
from trimline import AppSpec, Config, ImageRef, OfferingFigures, Resources

from conftest import G7, region

GB = 1_000_000_000
IMAGE = "sha256:game"


def launch(config: Config | None = None) -> trimline.Scheduler:
    """Three warm g7 hosts, the game naming a 3 GB image, unknown stock and
    figures for the offering."""
    if config is None:
        s = region(["zone-a"], [G7], [("ecs.g7.4xlarge", "zone-a", 3)])
    else:
        s = trimline.Scheduler(config)
        s.add_zone("zone-a", now=0)
        s.add_sku(G7, now=0)
        for host in (1, 2, 3):
            s.add_host(host, "ecs.g7.4xlarge", "zone-a", now=0)
    s.add_app(
        AppSpec(
            id="game",
            tenant="t",
            resources=Resources(8000, 16_384),
            images={"x86_64": ImageRef(digest=IMAGE, size_bytes=3 * GB)},
        ),
        now=0,
    )
    s.set_stock("ecs.g7.4xlarge", "zone-a", "unknown", now=0)
    s.set_offering_figures(
        OfferingFigures(sku="ecs.g7.4xlarge", zone="zone-a", provision_seconds=90, pull_mb_per_second=200),
        now=0,
    )
    return s


def test_the_host_holding_the_image_wins_the_tie() -> None:
    s = launch()
    s.set_host_images(2, [IMAGE], now=1)
    assert s.host_images(2) == [IMAGE]
    d = s.scale("game", 1, now=2)
    assert (d.placements[0].host, d.placements[0].pull_bytes) == (2, 0)


def test_weight_zero_ignores_images() -> None:
    s = launch(Config(image_locality_weight=0))
    assert s.config["image_locality_weight"] == 0
    s.set_host_images(2, [IMAGE], now=1)
    d = s.scale("game", 1, now=2)
    assert (d.placements[0].host, d.placements[0].pull_bytes) == (1, 3 * GB)


def test_dry_run_mix_equals_the_real_scale_out() -> None:
    s = launch()
    s.set_host_images(2, [IMAGE], now=1)
    plan = s.dry_run(lambda c: c.scale("game", 8, now=2))
    planned = s.cold_start_mix(plan)
    d = s.scale("game", 8, now=2)
    assert d == plan
    mix = s.cold_start_mix(d)
    assert mix == planned
    assert [p.pull_bytes for p in d.placements] == [0, 0, 3 * GB, 0, 3 * GB, 0]
    assert [p.pull_bytes for p in d.tentative] == [3 * GB, 0]
    assert mix["warm_with_image"] == {"instances": 4, "pull_bytes": 0, "ready_ms": 0, "without_figures": 0}
    assert mix["warm_without_image"] == {
        "instances": 2,
        "pull_bytes": 6 * GB,
        "ready_ms": 15_000,
        "without_figures": 0,
    }
    assert mix["new_hosts"]["ready_ms"] == 105_000
    assert (mix["instances"], mix["ready_ms"]) == (8, 105_000)
    assert mix["text"] == "4 warm with image, 2 warm without, 2 on new hosts; pull 9.0 GB; ready within 105.0 s"


def test_images_and_figures_survive_a_snapshot() -> None:
    s = launch()
    s.set_host_images(2, [IMAGE], now=1)
    s.scale("game", 8, now=2)
    r = trimline.Scheduler.restore(s.snapshot())
    assert r.snapshot() == s.snapshot()
    assert r.host_images(1) == [IMAGE]
    assert r.offering_figures() == s.offering_figures()
    assert r.offering_figures()[0]["pull_mb_per_second"] == 200


def test_bad_input_is_refused() -> None:
    s = launch()
    before = s.snapshot()
    with pytest.raises(trimline.UnknownId, match="unknown host host-9"):
        s.set_host_images(9, [], now=1)
    with pytest.raises(trimline.InvalidInput, match="image"):
        s.set_host_images(1, ["sha256 bad"], now=1)
    with pytest.raises(trimline.InvalidInput, match="pull_mb_per_second must be at least 1"):
        s.set_offering_figures(
            {"sku": "ecs.g7.4xlarge", "zone": "zone-a", "provision_seconds": 1, "pull_mb_per_second": 0}, now=1
        )
    with pytest.raises(trimline.InvalidInput, match="not in arches"):
        s.add_app(
            AppSpec(
                id="arm",
                tenant="t",
                resources=Resources(1000, 1024),
                images={"aarch64": ImageRef(digest="sha256:arm", size_bytes=1)},
            ),
            now=1,
        )
    assert s.snapshot() == before
