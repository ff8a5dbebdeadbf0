"""The scenario runner: a scenario file in, the report out.

The runner is the Rust crate ``trimline-sim`` (the ``trimline`` binary's
library), called through the native module: the same runner and the same
report, not a copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from trimline._trimline import demo_scenario, run_scenario

__all__ = ["demo_scenario", "load_scenario", "simulate", "simulate_text"]


def load_scenario(scenario: Mapping[str, Any] | str | os.PathLike[str]) -> str:
    """A scenario as JSON text: from a dict in the scenario file's shape, or
    from the path of a scenario file."""
    if isinstance(scenario, Mapping):
        return json.dumps(scenario)
    if isinstance(scenario, (str, os.PathLike)):
        with open(scenario, encoding="utf-8") as f:
            return f.read()
    raise TypeError(
        f"a scenario is a dict or the path of a file, not {type(scenario).__name__}"
    )


def simulate(scenario: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """Run a scenario (a dict, or the path of a scenario file) and return
    its report as Python objects: the JSON report of
    ``python -m trimline simulate FILE --json``, parsed.

    A bad scenario raises ``trimline.InvalidInput`` naming the JSON path of
    the bad value; a call the core refuses during the run raises
    ``trimline.SimulationError``."""
    report: dict[str, Any] = json.loads(run_scenario(load_scenario(scenario), json=True))
    return report


def simulate_text(scenario: Mapping[str, Any] | str | os.PathLike[str]) -> str:
    """Run a scenario and return the 80-column text report."""
    return run_scenario(load_scenario(scenario), json=False)


def demo() -> dict[str, Any]:
    """Run the built-in demo and return its report as Python objects."""
    report: dict[str, Any] = json.loads(run_scenario(demo_scenario(), json=True))
    return report
