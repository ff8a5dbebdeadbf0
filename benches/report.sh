#!/usr/bin/env bash
# Regenerates benches/RESULTS.md and benches/throughput.png: runs every
# criterion bench (the C ABI's included), the Python bench, the memory
# harnesses and the packing-quality harness on the full vbp sets (with the
# baselines), then writes the report.
# Needs Rust and Python 3; installs matplotlib into target/venv for the plot.
# Takes about 15-25 minutes on a 2-core machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
OUT="$ROOT/target/report"
mkdir -p "$OUT"

echo "== criterion benches (placement, evacuation, repack, metering)"
cargo bench -p trimline-bench --bench placement --bench evacuation --bench repack --bench metering --bench ffi -- \
    --warm-up-time 1 --measurement-time 4 2>&1 | tee "$OUT/criterion.txt"

echo "== observability: placement with the audit log off and on, in one criterion run"
cargo bench -p trimline-bench --bench observe -- --warm-up-time 1 --measurement-time 4 2>&1 \
    | tee "$OUT/observe-criterion.txt"
grep -E '^(observe|audit memory):' "$OUT/observe-criterion.txt" > "$OUT/observe.txt"

echo "== memory per host and per instance"
cargo build --release -q -p trimline-bench --bin memory --bin meter_memory --bin vbp --bin online_fill \
    --bin gpu_fleet --bin consolidation_target
: > "$OUT/memory.txt"
for hosts in 10000 100000; do
    "$ROOT/target/release/memory" "$hosts" 2 | tee -a "$OUT/memory.txt"
done
"$ROOT/target/release/meter_memory" | tee "$OUT/meter_memory.txt"

echo "== online fill per classes_per_zone and candidates_per_class"
: > "$OUT/online_fill.txt"
for hosts in 1000 10000; do
    "$ROOT/target/release/online_fill" "$hosts" 1:1 1:2 1:4 1:8 0:2 | tee -a "$OUT/online_fill.txt"
done

echo "== packing quality on the full vbp sets, with the baselines"
VBP="$ROOT/target/vbp"
if [ ! -d "$VBP/Triplet_instances_multidim" ]; then
    mkdir -p "$VBP"
    tar xzf benches/data/vbp/Panigrahy_instances.tar.gz -C "$VBP"
    tar xzf benches/data/vbp/Triplet_instances.tar.gz -C "$VBP"
fi
start=$SECONDS
find "$VBP" -name '*.vbp' | sort > "$OUT/vbp-files.txt"
"$ROOT/target/release/vbp" --baselines --markdown --quiet \
    --assignments "$OUT/assignments" \
    --summary benches/data/vbp/Panigrahy_summary_known.csv \
    --summary benches/data/vbp/Triplet_summary_known.csv \
    $(cat "$OUT/vbp-files.txt") > "$OUT/vbp.md"
echo "vbp harness took $((SECONDS - start)) s" | tee "$OUT/vbp-time.txt"

VENV="$ROOT/target/venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
fi

echo "== packing on the GPU-fleet generator, and consolidation against pack from scratch"
"$ROOT/target/release/gpu_fleet" --seeds 5 | tee "$OUT/gpu_fleet.txt"
"$ROOT/target/release/consolidation_target" | tee "$OUT/consolidation.txt"

echo "== Python against Rust (the wheel built in release mode)"
"$PY" -m pip --quiet --disable-pip-version-check --no-input install "maturin>=1.9.4,<2"
rm -rf "$ROOT/target/wheels-release"
"$VENV/bin/maturin" build --release --quiet --manifest-path python/Cargo.toml \
    --interpreter "$PY" --target-dir "$ROOT/target/maturin" --out "$ROOT/target/wheels-release"
"$PY" -m pip --quiet --disable-pip-version-check --no-input install --force-reinstall --no-deps \
    "$ROOT"/target/wheels-release/trimline-*.whl
"$PY" python/benches/bench.py --out "$OUT/python-bench.md"

echo "== replication: three loopback replicas, and the snapshot of a 100,000-host region"
cargo bench -q -p trimline-replicated --bench replication 2>&1 | tee "$OUT/replication.txt"

echo "== report"
"$PY" -m pip --quiet --disable-pip-version-check --no-input install "matplotlib>=3.7,<4"
"$PY" benches/report.py "$OUT" benches/RESULTS.md benches/throughput.png
echo "wrote benches/RESULTS.md and benches/throughput.png"
