"""The benchmark script runs (at a tiny size, writing no file): the
measurement itself is made by hand on a quiet machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benches" / "bench.py"


def test_bench_runs_at_a_tiny_size() -> None:
    out = subprocess.run(
        [sys.executable, "-P", str(BENCH), "--tiny"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "scale-out to 100 instances, Rust" in out.stdout
    assert "place, Python overhead per call" in out.stdout
    assert "written to" not in out.stdout
