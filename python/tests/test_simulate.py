"""The scenario runner through Python: ``python -m trimline demo`` runs,
and ``simulate`` gives the same reports as the Rust runner (the
``trimline`` binary, built by ``tests/run-all.sh`` before this suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trimline

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "sim" / "scenarios").glob("*.json"))
RUST_RUNNER = REPO / "target" / "debug" / "trimline"


def python_m(*args: str) -> subprocess.CompletedProcess[str]:
    # -P: the installed package, not the source tree next to the tests.
    return subprocess.run(
        [sys.executable, "-P", "-m", "trimline", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


def rust(*args: str) -> subprocess.CompletedProcess[str]:
    if not RUST_RUNNER.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{RUST_RUNNER} is missing: build it with cargo build -p trimline-sim")
        pytest.skip(f"{RUST_RUNNER} is not built (cargo build -p trimline-sim)")
    return subprocess.run(
        [str(RUST_RUNNER), *args], capture_output=True, text=True, check=False, cwd=REPO
    )


def test_demo_runs() -> None:
    out = python_m("demo")
    assert out.returncode == 0, out.stderr
    assert "Launch day" in out.stdout
    assert "Invariant audit: every host and NUMA node within capacity" in out.stdout


def test_demo_is_the_rust_demo() -> None:
    for args in (["demo"], ["demo", "--json"]):
        assert python_m(*args).stdout == rust(*args).stdout


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.stem for s in SCENARIOS])
def test_simulate_gives_the_rust_report(scenario: Path) -> None:
    expected = rust("simulate", "--json", str(scenario))
    assert expected.returncode == 0, expected.stderr
    got = python_m("simulate", str(scenario), "--json")
    assert got.returncode == 0, got.stderr
    assert got.stdout == expected.stdout
    assert python_m("simulate", str(scenario)).stdout == rust("simulate", str(scenario)).stdout
    # As Python objects, from a path or from a dict.
    report = trimline.simulate(scenario)
    assert report == json.loads(expected.stdout)
    assert trimline.simulate(json.loads(scenario.read_text())) == report


def test_scenarios_exist() -> None:
    assert {s.stem for s in SCENARIOS} >= {"demo", "launch-day", "zone-failure", "scale-to-zero"}


def test_bad_scenario_names_the_path(tmp_path: Path) -> None:
    bad = {
        "name": "bad",
        "zones": ["a"],
        "catalog": [],
        "hosts": [],
        "apps": [{"id": "w", "tenant": "t", "cpu_millis": "x", "memory_mib": 1}],
        "timeline": [],
    }
    with pytest.raises(trimline.InvalidInput, match=r"apps\[0\]\.cpu_millis"):
        trimline.simulate(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    out = python_m("simulate", str(path))
    assert out.returncode == 2
    assert "apps[0].cpu_millis" in out.stderr
    assert python_m("simulate", str(tmp_path / "missing.json")).returncode == 2
    with pytest.raises(TypeError):
        trimline.simulate(42)  # type: ignore[arg-type]


def test_a_call_refused_during_the_run_is_a_simulation_error(tmp_path: Path) -> None:
    # Valid on its own; billing two instances running for 10^15 s at the
    # largest price overflows the meter's arithmetic.
    scenario = {
        "name": "overflow",
        "zones": ["zone-a"],
        "catalog": [
            {
                "id": "g7",
                "family": "g7",
                "generation": 7,
                "arch": "x86_64",
                "cpu_vendor": "intel",
                "vcpus": 16,
                "memory_gib": 64,
                "perf_score": 100,
                "price_nanos_per_second": 1000,
            }
        ],
        "hosts": [{"sku": "g7", "count": 2}],
        "apps": [{"id": "web", "tenant": "acme", "cpu_millis": 4000, "memory_mib": 8192}],
        "prices": {"cpu_per_vcpu_second": 2**64 - 1, "idle_cpu_per_vcpu_second": 0},
        "timeline": [
            {"scale": {"app": "web", "to": 2}},
            {"wait": {"seconds": 10**15}},
            {"bill": {}},
        ],
    }
    with pytest.raises(trimline.SimulationError, match=r"^timeline\[2\]\.bill: .*overflow"):
        trimline.simulate(scenario)
    path = tmp_path / "overflow.json"
    path.write_text(json.dumps(scenario))
    out = python_m("simulate", str(path))
    assert out.returncode == 1
    assert "timeline[2].bill: " in out.stderr
