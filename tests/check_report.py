#!/usr/bin/env python3
"""Check the key facts of a trimline report (`trimline demo --json`,
`trimline simulate FILE --json`).

    check_report.py REPORT.json [--substitution] [--skew] [--invoice]
                                [--first-scale-unsubstituted] [--evictions]

--substitution  at least one substitution happened, each with the core's
                note and its reason (naming the SKU asked for), on a SKU
                other than that one; and every reason the note gives holds
                in the state the runner read right after the call (its
                "facts"): "running hosts full" only when no running host of
                that SKU in that zone had room, "exhausted" only when its
                stock was used up, "backed off" only until a later time,
                "not offered" only without an offering, "rejected" only
                with the same verdict from explain_substitution, ...
                (the reasons about the spread policy and zone order,
                which depend on the counts during the call, are not
                checked); and no substitution is counted twice (the
                placements on planned hosts that came up are not
                substitutions again: no note names its planned host);
--skew          every app with a skew limit is within it at the end of
                every story;
--invoice       there is an invoice, and each one's total equals the sum
                of its lines;
--first-scale-unsubstituted
                the report's first scale step placed instances, none of
                them on a substitute SKU;
--evictions     every example of an eviction group has the group's cause
                (preempted instances are listed under "preempted", never
                under another cause), and no group has more instances
                listed than it counts.

Checks facts, never layout. Exits 1 with the first failed fact.
"""
import json
import sys


def fail(msg):
    print(f"check_report: {msg}", file=sys.stderr)
    sys.exit(1)


def reason_kind(reason):
    """A serialized PassReason: a unit variant is a string, the others an
    object of one key."""
    if isinstance(reason, str):
        return reason, None
    (kind, value), = reason.items()
    return kind, value


def check_reasons(name, sub):
    """Every reason of a substitution's note against the facts recorded
    right after the call that decided it. Returns the reasons checked."""
    note = sub.get("note")
    if not note or note.get("sku") != sub["sku"]:
        fail(f"{name}: substitution without the core's note: {sub}")
    facts = sub.get("facts")
    if not facts:
        fail(f"{name}: substitution without the state behind it: {sub}")
    checked = 0
    for fact in facts:
        where = f"{name}: {sub['app']} on {sub['sku']} in {sub['zone']} at {fact['at_ms']} ms"
        chosen = fact["chosen_verdict"] or {}
        if note["admitted"]["outside_band"] is None:
            tier = chosen.get("accepted", {}).get("tier")
            if tier != note["tier"]:
                fail(f"{where}: chosen tier {note['tier']}, but its verdict is {chosen}")
        entries = fact["passed_over"]
        if len(entries) != len(note["passed_over"]):
            fail(f"{where}: facts do not match the note")
        for p, e in zip(note["passed_over"], entries):
            if (p["sku"], p["zone"]) != (e["sku"], e["zone"]):
                fail(f"{where}: facts do not match the note: {p} / {e}")
            kind, value = reason_kind(p["reason"])
            said = f"{where}: {p['sku']} in {p['zone']}: {kind} {value or ''}"
            offering = e.get("offering")
            verdict = e.get("verdict") or {}
            if kind == "rejected":
                ok = verdict == {"rejected": value}
            elif kind == "preference":
                ok = verdict.get("accepted", {}).get("tier", -1) >= note["tier"]
            elif kind == "running_hosts_full":
                ok = e["running_with_room"] == 0
            elif kind == "hosts_full":
                ok = e["running_with_room"] == 0 and e["planned_with_room"] == 0
            elif kind == "not_offered":
                ok = offering is None
            elif kind == "exhausted":
                stock = (offering or {}).get("stock")
                # Known stock counts hosts not yet ordered: none left.
                ok = stock == "exhausted" or (
                    isinstance(stock, dict) and stock["known"] == 0
                )
            elif kind == "backed_off":
                until = (offering or {}).get("backoff_until")
                ok = until == value["until"] and until > fact["at_ms"]
            elif kind == "zone_order":
                # Room in a zone the spread order reached after the chosen
                # one: never the chosen zone itself. (The room was there
                # when the choice was made; the call's later placements may
                # have taken it.)
                ok = e["zone"] != sub["zone"]
            elif kind == "spread":
                # The zone counts while the call ran, which its later
                # placements change: not in the facts.
                continue
            else:
                fail(f"{said}: unknown reason")
            if not ok:
                fail(f"{said}: does not hold: {e}")
            checked += 1
    return checked


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    path, flags = argv[1], set(argv[2:])
    unknown = flags - {
        "--substitution", "--skew", "--invoice", "--first-scale-unsubstituted", "--evictions"
    }
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
            if s["note"].get("planned_host") is not None:
                fail(f"{name}: a placement on a planned host that came up, counted again: {s}")
        reasons = sum(check_reasons(name, s) for s in subs)
        facts.append(
            f"{len(subs)} substitutions, each with the core's reason "
            f"({reasons} reasons hold in the state)"
        )

    if "--first-scale-unsubstituted" in flags:
        scales = [
            ev for story in report["stories"] for ev in story["events"]
            if ev.get("step") == "scale"
        ]
        if not scales:
            fail(f"{name}: no scale step")
        first = scales[0]
        if not first["placed"] + first["tentative"] or first["substitutions"]:
            fail(f"{name}: the first scale step substituted: {first['substitutions']}")
        facts.append(f"the first scale ({first['app']} -> {first['to']}) on the SKU asked for")

    if "--evictions" in flags:
        groups = examples = 0
        for story in report["stories"]:
            for ev in story["events"]:
                for g in ev.get("evictions", []):
                    groups += 1
                    kind, _ = reason_kind(g["cause"])
                    if len(g["examples"]) > g["instances"]:
                        fail(f"{name}: more examples than evictions: {g}")
                    for e in g["examples"]:
                        examples += 1
                        if reason_kind(e["cause"])[0] != kind or e["app"] != g["app"]:
                            fail(f"{name}: eviction {e} listed under {g['app']} {kind}")
        facts.append(f"{groups} eviction groups, {examples} examples under their own cause")

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
