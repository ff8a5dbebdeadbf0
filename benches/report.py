"""Writes benches/RESULTS.md and the throughput/quality plot from the outputs
that benches/report.sh collected: criterion's estimates under
target/criterion, the memory harnesses' lines and the vbp harness's
markdown. Usage: report.py OUT_DIR RESULTS.md PLOT.png
"""

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"


def estimates():
    """{(group, function): (mean ns, elements or None)} from criterion."""
    out = {}
    for bench in CRITERION.glob("*/*/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        elements = (meta.get("throughput") or {}).get("Elements")
        out[(meta["group_id"], meta["function_id"])] = (
            est["mean"]["point_estimate"],
            elements,
        )
    return out


def fmt_rate(per_s):
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f}M/s"
    return f"{per_s / 1e3:.0f}k/s"


def fmt_time(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}; {rustc}"


def quality_means(vbp_md):
    """{set: [(packer, mean)]} from the vbp harness's markdown tables."""
    sets, current = {}, None
    for line in vbp_md.splitlines():
        m = re.match(r"^### (\w+)", line)
        if m:
            current = m.group(1)
            sets[current] = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current and len(cells) > 3 and re.match(r"^\d+\.\d+$", cells[2]):
            sets[current].append((cells[0], float(cells[2])))
    return sets


def main():
    out_dir, results, plot = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    e = estimates()
    sizes = [1_000, 10_000, 100_000]

    def get(group, function):
        return e.get((group, function))

    rows = []
    stream = {}
    for h in sizes:
        s = get("place_stream", f"{h}_hosts")
        if s:
            stream[h] = s[1] / (s[0] / 1e9)
    lat = {h: get("place_latency", f"{h}_hosts") for h in sizes}
    scale = {h: get("scale_out_10k", f"{h}_hosts") for h in sizes}
    cell = lambda v, f: f(v) if v else "—"
    rows.append(
        "| single-instance placement latency (a region a third full) | — | "
        + " | ".join(cell(lat[h] and lat[h][0], fmt_time) for h in sizes)
        + " |"
    )
    rows.append(
        "| placement throughput, stream of mixed instances | ≥ 1,000,000/s at 10k hosts | "
        + " | ".join(cell(stream.get(h), fmt_rate) for h in sizes)
        + " |"
    )
    if 1_000 in stream and 100_000 in stream:
        ratio = stream[1_000] / stream[100_000]
        rows.append(
            f"| throughput change, 1,000 → 100,000 hosts | < 2x slower | | | {ratio:.2f}x slower |"
        )
    rows.append(
        "| scale-out of one app by 10,000 instances | — | "
        + " | ".join(cell(scale[h] and scale[h][0], fmt_time) for h in sizes)
        + " |"
    )
    ev = get("zone_down", "50000_instances")
    sz = get("zone_down", "survive_zone_loss")
    rp = get("repack", "150k_instances")
    mi = {k[1]: v for k, v in e.items() if k[0] == "meter_ingest"}
    mc = get("meter_close", "1m_instance_periods")
    single = [
        ("zone evacuation: 50,000 instances of a failed zone re-placed", "< 100 ms", ev and fmt_time(ev[0])),
        ("`survive_zone_loss` (3 zones, 150,000 instances)", "—", sz and fmt_time(sz[0])),
        ("repack from scratch: 150,000 instances (`plan_repack`, budget 0: greedy only)", "< 1 s", rp and fmt_time(rp[0])),
        ("invoice for 1,000,000 instance-periods", "< 1 s", mc and fmt_time(mc[0])),
    ]
    rows2 = []
    for name, target, value in single:
        rows2.append(f"| {name} | {target} | {value or '—'} |")
    for label, (ns, n) in sorted(mi.items()):
        if n:
            rows2.append(
                f"| metering ingest (`ingest_batch`, 1,024 events a call), `{label}` stream | ≥ 2,000,000 events/s | {fmt_rate(n / (ns / 1e9))} |"
            )

    bindings = []
    for group, what in [
        ("ffi_scale_out_10k", "scale-out of one app by 10,000 instances, every placement read back"),
        ("ffi_place_stream", "stream of single `place` calls, every placement read back"),
    ]:
        rust = get(group, "rust/10000_hosts")
        c_abi = get(group, "c_abi/10000_hosts")
        if rust and c_abi:
            bindings.append(
                f"| {what} | {fmt_time(rust[0])} | {fmt_time(c_abi[0])} | {c_abi[0] / rust[0]:.2f}x |"
            )

    def collected(name):
        path = out_dir / name
        return path.read_text().strip() if path.exists() else ""

    memory = collected("memory.txt")
    meter_memory = collected("meter_memory.txt")
    online_fill = collected("online_fill.txt")
    vbp_md = collected("vbp.md")
    vbp_time = collected("vbp-time.txt")
    python_bench = collected("python-bench.md")
    replication = collected("replication.txt")
    observe = collected("observe.txt")
    gpu_fleet = collected("gpu_fleet.txt")
    consolidation = collected("consolidation.txt")
    # The Python bench writes a page of its own: keep its table.
    python_table = "\n".join(
        l for l in python_bench.splitlines() if l.startswith("|")
    )

    text = f"""# trimline: benchmark results

Generated by `./benches/report.sh` (this file and `throughput.png`); do not
edit by hand. Timings come from criterion benches and harness binaries,
never from tests.

**Machine:** {machine()}.

## Speed

Seeded region (`trimline_bench::region`): 5 SKUs (16-64 vCPU, one with 2
NUMA nodes, one with 4 GPUs), 3 zones, 60 apps of 0.25 to 64 vCPU with 1 to
8 GiB per vCPU, one in ten on a GPU, one in seven best effort, every app
spread with a maximum skew of 1. Columns are 1,000 / 10,000 / 100,000 hosts
where the row depends on the region size.

| measurement | target | 1,000 hosts | 10,000 hosts | 100,000 hosts |
|---|---|---|---|---|
{chr(10).join(rows)}

The evacuation bench has its own region (3 zones of 5,000 16-vCPU hosts,
100 apps of 1 vCPU with a maximum skew of 1, 50,000 instances per zone);
the repack bench a fragmented region of 50,000 hosts
(`trimline_bench::fragmented_region`); metering a seeded fleet of
tenants and apps (`trimline_bench::metering`).

| measurement | target | measured |
|---|---|---|
{chr(10).join(rows2)}

Commands: `cargo bench -p trimline-bench --bench placement` (latency,
throughput, scale-out), `--bench evacuation`, `--bench repack`,
`--bench metering`. Quick looks: `cargo run --release -p trimline-bench
--bin profile_place -- 10000 20000`, `--bin profile_repack`.

### Observability

Placement with the audit log and counters on against the log off
(counters only), in one criterion run (`cargo bench -p trimline-bench
--bench observe`, which fails when "on" costs more than 10%); then a
stream of 1,000,000 decisions through the log at its default bound, with
the heap in use after the first 100,000 and after all of them.

```
{observe.strip() or "(not measured)"}
```

### Consolidation

`plan_consolidation` against `pack` from scratch on the repack bench's
fragmented region (`cargo run --release -p trimline-bench --bin
consolidation_target`, which exits 1 when the target is missed). Target:
free at least 90% of the hosts `pack` would free, moving at most 2x the
instances those hosts hold. A count of hosts and moves; the times are
single runs.

```
{consolidation.strip() or "(not measured)"}
```

### Where the time goes

This script measures no instruction counts; `README.md` ("Performance and
quality") says how to count them with callgrind.

- **Metering ingest** (`Meter::ingest_batch`, 1,024 events a call) is bound
  by memory reads: each instance's record sits in its slot of the instance
  table (128 bytes, two cache lines), with its first four events inline and
  shapes interned (an event is 16 bytes), and the batch call looks up the
  next 32 events' instances while it ingests, so their reads overlap. Cold
  streams without `Meter::reserve` spend about a third of their time
  growing the table.

## Bindings

The same work through the Rust API and through the bindings, in one run.

C ABI (`cargo bench -p trimline-bench --bench ffi`), at 10,000 hosts: the
C path calls the exported `extern "C"` functions as a C caller does (names
as pointer and length, a `tl_decisions` object per call, one
`tl_decisions_placement` per record, `tl_decisions_free`), compiled into the
bench from the library's sources; both paths start from the same snapshot.
Target: at most 1.2x the Rust path.

| measurement | Rust | C ABI | C / Rust |
|---|---|---|---|
{chr(10).join(bindings) or "| (not measured) | | | |"}

Python (`python python/benches/bench.py --out FILE`, the wheel built in
release mode): a region of three zones of 16 vCPU hosts, medians of 7 runs
each on a scheduler restored from one snapshot; the Rust figures are the
same calls timed inside the extension. Target: the scale-out costs at most
1.5x the Rust time.

{python_table or "(not measured)"}

## Memory

Live heap bytes with a counting global allocator (table slack included):
`cargo run --release -p trimline-bench --bin memory -- HOSTS 2`.

```
{memory.strip()}
```

Metering (`--bin meter_memory`):

```
{meter_memory.strip()}
```

## Replicated control plane

Three replicas in one process on loopback TCP, openraft with the JSON
transport of `trimline-replicated`
(`cargo bench -p trimline-replicated --bench replication`): proposal to
applied `Decisions`, per proposal, and committed commands per second, for
one `place` per proposal (one client, then 16 at once), 100 `place`
commands per proposal, and one `place_batch(100)` per proposal; then the
state snapshot of a 100,000-host region (take, serialize, peak memory
allocated meanwhile, decode and restore).

```
{replication.strip() or "(not measured)"}
```

## Online fill

How full online placement packs the bench region, per
`Config::classes_per_zone` C and `Config::candidates_per_class` K
(`cargo run --release -p trimline-bench --bin online_fill -- HOSTS C:K...`):
three seeded streams of the placement benches' instances, one `place` at a
time until 200 calls in a row find no room; instances placed, then the
share of capacity allocated per dimension (CPU, memory, network,
accelerators). The defaults are C = 1 (a zone's classes are searched in
order of shape alignment, and the first with hosts that fit supplies the
candidates) and K = 2; C = 0 searches every class of the zone, as the
engine did before alignment (the same fills as its per-K runs then).

```
{online_fill.strip()}
```

## Packing quality

`cargo run --release -p trimline-bench --bin vbp -- --baselines --markdown
--summary benches/data/vbp/Panigrahy_summary_known.csv --summary
benches/data/vbp/Triplet_summary_known.csv FILE.vbp...` over all 1,860
instances (the tarballs in `benches/data/vbp/`, extracted to `target/vbp`).
Targets: Panigrahy ≤ 1.015, Triplet ≤ 1.15 mean hosts/OPT. The means over
the optimum cover the instances that have a known one ("with OPT"); the
others are reported as mean hosts over the lower bound. Under each table,
the best of the ~350 published heuristic variants per instance
(`best_overall` in the summaries), on the same instances. The baselines
are implemented from their published definitions: First Fit and the
online scores see the items in one seeded random arrival order (the files'
own order lists each optimal Triplet triplet's items together, which would
hand an online heuristic the answer); FFD sorts by the normalised sum.
kube-scheduler's MostAllocated and LeastAllocated and Nomad's BestFit-v3
score only the first two dimensions (as CPU and memory); an item goes on
the best-scoring open host where it fits in every dimension, and a new host
opens only when none does. "Stranded" is the free capacity of the used
hosts, per dimension, as a share of their capacity. {vbp_time}.

{vbp_md.strip()}

### GPU fleet

`cargo run --release -p trimline-bench --bin gpu_fleet -- --seeds 5`
(`--budget N` for other budgets): hosts of 96 vCPU / 384 GiB / 8
accelerators, 1,000 pods per seed drawn from twelve shapes of 0, 1, 2 and
8 accelerators (`benches/src/gpu.rs`), CPU, memory and accelerators all
near-binding. Hosts used, and in brackets hosts over the volume lower
bound (LB); the optimum is unknown. Target: trimline within 3% of LB at
the default budget.

```
{gpu_fleet.strip() or "(not measured)"}
```
"""
    results.write_text(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    if stream:
        xs = sorted(stream)
        ax1.plot(xs, [stream[x] for x in xs], marker="o", label="place_stream")
        ax1.axhline(1e6, color="grey", linestyle="--", label="target at 10k hosts")
        ax1.set_xscale("log")
        ax1.set_xlabel("hosts")
        ax1.set_ylabel("placements / s (one core)")
        ax1.set_ylim(bottom=0)
        ax1.set_title("placement throughput")
        ax1.legend()
    q = quality_means(vbp_md)
    if q:
        packers = [p for p, _ in next(iter(q.values()))]
        width = 0.8 / max(1, len(q))
        for k, (name, rows_) in enumerate(q.items()):
            means = dict(rows_)
            ax2.bar(
                [i + k * width for i in range(len(packers))],
                [means.get(p, 0) for p in packers],
                width,
                label=name,
            )
        ax2.set_xticks([i + width * (len(q) - 1) / 2 for i in range(len(packers))])
        ax2.set_xticklabels(packers, rotation=25, ha="right", fontsize=8)
        ax2.set_ylim(0.95, max(m for r in q.values() for _, m in r) + 0.05)
        ax2.set_ylabel("mean hosts / OPT")
        ax2.set_title("packing quality (lower is better)")
        ax2.legend()
    fig.tight_layout()
    fig.savefig(plot, dpi=110)


if __name__ == "__main__":
    main()
