"""``python -m trimline``: the demo and the scenario runner.

    python -m trimline demo [--json]            the built-in demo
    python -m trimline simulate FILE [--json]   your own scenario file
    python -m trimline schema                   the scenario file's JSON Schema

The same runner and report as the ``trimline`` binary. Exit status: 0 when
the run went to its end; 2 for a bad command line or scenario file (named
by its JSON path, before anything runs); 1 when a call of the run failed.
"""

from __future__ import annotations

import argparse
import sys

from trimline._trimline import (
    InvalidInput,
    SimulationError,
    demo_scenario,
    run_scenario,
    scenario_schema,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trimline", description="The trimline demo and scenario runner."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="play the built-in demo")
    demo.add_argument("--json", action="store_true", help="the report as one JSON document")
    simulate = commands.add_parser("simulate", help="play a scenario file")
    simulate.add_argument("file")
    simulate.add_argument("--json", action="store_true", help="the report as one JSON document")
    commands.add_parser("schema", help="print the JSON Schema of scenario files")
    args = parser.parse_args(argv)

    if args.command == "schema":
        print(scenario_schema())
        return 0
    if args.command == "demo":
        origin, text = "demo", demo_scenario()
    else:
        origin = args.file
        try:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            print(f"{origin}: {e.strerror or e}", file=sys.stderr)
            return 2
    try:
        report = run_scenario(text, json=args.json)
    except InvalidInput as e:
        print(f"{origin}: {e}", file=sys.stderr)
        return 2
    except SimulationError as e:
        print(f"{origin}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
