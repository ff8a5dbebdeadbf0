#!/usr/bin/env python3
"""Check the key facts of a trimline report (`demo --json`, `simulate --json`).

    check_report.py REPORT.json [--substitution] [--skew] [--invoice]

--substitution  at least one substitution happened, each with its reason
                (naming the SKU asked for), on a SKU other than that one;
--skew          every app with a skew limit is within it at the end of
                every story;
--invoice       there is an invoice, and each one's total equals the sum
                of its lines.

Checks facts, never layout. Exits 1 with the first failed fact.
"""
import json
import sys


def fail(msg):
    print(f"check_report: {msg}", file=sys.stderr)
    sys.exit(1)


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    path, flags = argv[1], set(argv[2:])
    unknown = flags - {"--substitution", "--skew", "--invoice"}
    if unknown:
        fail(f"unknown option(s): {sorted(unknown)}")
    with open(path) as f:
        report = json.load(f)
    name = report["scenario"]
    if not report["final"]["invariants_ok"]:
        fail(f"{name}: the invariant audit failed")
    for story in report["stories"]:
        audit = story["audit"]
        if not audit["invariants_ok"] or audit["overcommitted_nodes"] or audit["rigid_short"]:
            fail(f"{name}: story {story['title']!r}: a guarantee is broken: {audit}")
    facts = []

    if "--substitution" in flags:
        subs = report["substitutions"]
        if not subs:
            fail(f"{name}: no substitution happened")
        for s in subs:
            asked = s.get("substitutes_for")
            if not asked or s["sku"] == asked:
                fail(f"{name}: substitution without a SKU asked for: {s}")
            if asked not in s.get("reason", "") or s["sku"] not in s["reason"]:
                fail(f"{name}: substitution without its reason: {s}")
        facts.append(f"{len(subs)} substitutions, each with its reason")

    if "--skew" in flags:
        checked = 0
        for story in report["stories"]:
            for k in story["audit"]["skew"]:
                checked += 1
                if k["skew"] > k["max_skew"]:
                    fail(
                        f"{name}: story {story['title']!r}: {k['app']} skew "
                        f"{k['skew']} > max_skew {k['max_skew']}"
                    )
        if not checked:
            fail(f"{name}: no app with a skew limit to check")
        facts.append(f"skew within its limit ({checked} app-story checks)")

    if "--invoice" in flags:
        invoices = report["invoices"]
        if not invoices:
            fail(f"{name}: no invoice")
        for inv in invoices:
            total = int(inv["total_nanos"])
            lines = sum(int(l["amount_nanos"]) for l in inv["lines"])
            if total != lines:
                fail(
                    f"{name}: invoice of {inv['tenant']}: total {total} != "
                    f"sum of lines {lines}"
                )
        facts.append(f"{len(invoices)} invoices, each total = sum of its lines")

    print(f"{name}: ok: " + "; ".join(facts or ["guarantees hold"]))


if __name__ == "__main__":
    main(sys.argv)
