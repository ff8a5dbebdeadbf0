#!/usr/bin/env python3
"""Validate live trimline values against the checked-in JSON Schemas.

    check_schema.py SCHEMA_DIR SAMPLE_DIR SCENARIO.json...

SCHEMA_DIR holds NAME.schema.json files (core/schema). SAMPLE_DIR holds
NAME.json files, each a list of values serialized by the Rust schema test
(`cargo test -p trimline --test schema` writes them); every value must
validate against NAME.schema.json. Every SCENARIO.json must validate
against scenario.schema.json. Needs the `jsonschema` package.
"""
import json
import pathlib
import sys

import jsonschema


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    schemas, samples = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    checked = 0

    def validate(schema_name, value, where):
        nonlocal checked
        schema = json.loads((schemas / f"{schema_name}.schema.json").read_text())
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            path = "/".join(str(p) for p in e.path)
            print(f"check_schema: {where} at /{path}: {e.message}", file=sys.stderr)
            sys.exit(1)
        checked += 1

    names = sorted(p.name[: -len(".schema.json")] for p in schemas.glob("*.schema.json"))
    for name in names:
        if name == "scenario":
            continue
        sample = samples / f"{name}.json"
        if not sample.exists():
            print(f"check_schema: no sample {sample} for {name}.schema.json", file=sys.stderr)
            return 1
        values = json.loads(sample.read_text())
        if not values:
            print(f"check_schema: {sample} is empty", file=sys.stderr)
            return 1
        for i, value in enumerate(values):
            validate(name, value, f"{sample.name}[{i}]")
    for scenario in argv[3:]:
        validate("scenario", json.loads(pathlib.Path(scenario).read_text()), scenario)
    print(f"check_schema: {checked} values valid against {len(names)} schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
