#!/usr/bin/env bash
# The one test command for trimline: Rust lints, docs and tests, then the C
# suite (under ASan/UBSan, and valgrind when installed), then the Python suite.
# Works from any directory. Needs Rust, Python 3 (with venv) and a C compiler;
# with CI set (not empty), also valgrind and a C++ compiler, whose checks are
# skipped with a note elsewhere.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

section() {
    printf '\n==== %s ====\n' "$*"
}

# ---------------------------------------------------------------- Rust
section "cargo fmt --all --check"
cargo fmt --all --check

section "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

section "cargo doc --workspace --no-deps (RUSTDOCFLAGS=-D warnings)"
RUSTDOCFLAGS="${RUSTDOCFLAGS:+$RUSTDOCFLAGS }-D warnings" cargo doc --workspace --no-deps

section "cargo test --workspace"
cargo test --workspace

section "the demo and the example scenarios run to the end, with their key facts"
# The key facts are checked from the JSON reports, never the layout: a
# substitution happened, with the core's reasons, each holding in the state
# (and the demo's first scale substituted nothing), and none counted twice;
# every app with a skew limit is within it; each invoice's total is the sum
# of its lines (and no guarantee audit failed); preempted examples sit under
# their own cause. See tests/check_report.py. (sim/tests/truth.rs checks
# every reason against the scheduler itself, under `cargo test` above.)
demo_start=$SECONDS
cargo build -q -p trimline-sim --bin trimline
TRIMLINE="$ROOT/target/debug/trimline"
"$TRIMLINE" demo > "$ROOT/target/demo.out"
tail -n 1 "$ROOT/target/demo.out"
"$TRIMLINE" demo --json > "$ROOT/target/demo.json"
python3 tests/check_report.py "$ROOT/target/demo.json" --substitution --skew --invoice \
    --first-scale-unsubstituted --evictions
# The demo is the built-in sim/scenarios/demo.json: simulate prints the same report.
"$TRIMLINE" simulate sim/scenarios/demo.json --json | cmp - "$ROOT/target/demo.json"
# The checked-in scenario schema is the one the scenario types give.
if ! "$TRIMLINE" schema | cmp -s - core/schema/scenario.schema.json; then
    echo "core/schema/scenario.schema.json is stale: regenerate it with" >&2
    echo "  cargo run -p trimline-sim -- schema > core/schema/scenario.schema.json" >&2
    exit 1
fi
for scenario in sim/scenarios/*.json; do
    name="$(basename "$scenario" .json)"
    [ "$name" = demo ] && continue
    facts=(--skew --invoice --evictions)
    [ "$name" = launch-day ] && facts+=(--substitution)
    "$TRIMLINE" simulate "$scenario" > "$ROOT/target/scenario-$name.out"
    "$TRIMLINE" simulate "$scenario" --json > "$ROOT/target/scenario-$name.json"
    python3 tests/check_report.py "$ROOT/target/scenario-$name.json" "${facts[@]}"
done
# A bad scenario file exits 2 naming the JSON path, before anything runs.
bad="$ROOT/target/bad-scenario.json"
printf '%s' '{"name": "bad", "zones": ["a"], "catalog": [], "hosts": [],
  "apps": [{"id": "w", "tenant": "t", "cpu_millis": "x", "memory_mib": 1}],
  "timeline": []}' > "$bad"
set +e
"$TRIMLINE" simulate "$bad" > "$ROOT/target/bad-scenario.out" 2> "$ROOT/target/bad-scenario.err"
status=$?
set -e
if [ "$status" -ne 2 ] || ! grep -q 'apps\[0\]\.cpu_millis: invalid type' "$ROOT/target/bad-scenario.err" \
    || [ -s "$ROOT/target/bad-scenario.out" ]; then
    echo "a bad scenario file should exit 2 naming apps[0].cpu_millis, printing no report; got $status:" >&2
    cat "$ROOT/target/bad-scenario.err" >&2
    exit 1
fi
echo "bad scenario refused: $(cat "$ROOT/target/bad-scenario.err")"
echo "demo and scenarios took $((SECONDS - demo_start))s"

section "the replicated control plane's example: three replicas, one stopped, all identical at the end"
cargo run -q -p trimline-replicated --example cluster

# ---------------------------------------------------------------- C
section "C tests (tests/c/*.c)"
c_start=$SECONDS
cargo build -p trimline-ffi
LIB_DIR="$ROOT/target/debug"
C_OUT="$ROOT/target/c-tests"
mkdir -p "$C_OUT"
pkgid="$(cargo pkgid -p trimline-ffi)"
FFI_VERSION="${pkgid##*[#@]}"

CC="${CC:-cc}"
CFLAGS_COMMON=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -I"$ROOT/include")
LINK=(-L"$LIB_DIR" -ltrimline -Wl,-rpath,"$LIB_DIR")
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# A tool that a check needs and that is missing: fatal in CI (CI set and
# not empty), where skipping the check would weaken the suite silently; a
# note elsewhere.
missing_tool() {
    if [ -n "${CI:-}" ]; then
        echo "error: $1 is not installed, and CI is set: $2 cannot be skipped in CI" >&2
        exit 1
    fi
    echo "($1 not installed: skipping $2)"
}

have_valgrind=false
if command -v valgrind >/dev/null 2>&1; then
    have_valgrind=true
else
    missing_tool valgrind "the valgrind runs"
fi

# The header must also be valid C++ (cpp_compat, extern "C"): alone, and in
# a C++ program that links and calls the library.
CXX="${CXX:-c++}"
if command -v "$CXX" >/dev/null 2>&1; then
    echo "-- include/trimline.h compiles as C++"
    "$CXX" -x c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only include/trimline.h
    echo "-- tests/c/header.cpp"
    "$CXX" -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$ROOT/include" tests/c/header.cpp \
        "${LINK[@]}" -o "$C_OUT/header-cpp"
    "$C_OUT/header-cpp"
else
    missing_tool "$CXX (C++ compiler)" "the C++ header check"
fi

shopt -s nullglob
c_tests=(tests/c/*.c)
if [ "${#c_tests[@]}" -eq 0 ]; then
    echo "no C tests found in tests/c/" >&2
    exit 1
fi
# The README's C quick start is compiled and run as written, like a test.
awk '/^## C quick start/ { s = 1 } s && /^```c$/ { c = 1; next } c && /^```$/ { exit } c' \
    README.md > "$C_OUT/readme_quickstart.c"
if ! grep -q 'int main' "$C_OUT/readme_quickstart.c"; then
    echo "README.md: no \`\`\`c program found in the \"C quick start\" section" >&2
    exit 1
fi
c_tests+=("$C_OUT/readme_quickstart.c")
for src in "${c_tests[@]}"; do
    name="$(basename "$src" .c)"
    echo "-- $name (ASan/UBSan)"
    "$CC" "${CFLAGS_COMMON[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer \
        -fno-sanitize-recover=all "$src" "${LINK[@]}" -o "$C_OUT/$name-asan"
    "$C_OUT/$name-asan" "$FFI_VERSION"
    if $have_valgrind; then
        echo "-- $name (valgrind)"
        "$CC" "${CFLAGS_COMMON[@]}" -O1 "$src" "${LINK[@]}" -o "$C_OUT/$name"
        valgrind --quiet --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect \
            "$C_OUT/$name" "$FFI_VERSION"
    fi
done
echo "C tests took $((SECONDS - c_start))s"

# ---------------------------------------------------------------- Python
section "Python tests (python/tests)"
py_start=$SECONDS
VENV="$ROOT/target/venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
    echo "creating virtualenv at target/venv"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        # Some distributions ship venv without ensurepip: make the venv bare
        # and install pip into it with the system pip.
        rm -rf "$VENV"
        python3 -m venv --without-pip "$VENV"
        python3 -m pip --python "$PY" install --quiet --disable-pip-version-check pip
    fi
fi
PIP=("$PY" -m pip --quiet --disable-pip-version-check --no-input)
"${PIP[@]}" install "maturin>=1.9.4,<2" "pytest>=8,<10" "jsonschema>=4.18,<5" \
    "hypothesis>=6.100,<7" "mypy>=1.10,<2" \
    "prometheus_client>=0.20,<1" # the metrics exposition is parsed by its parser (test_observe.py)

# The JSON Schemas in core/schema describe what serde really writes: the
# values the Rust schema test serialized from a live run (written under
# target/tmp by `cargo test` above) and every example scenario validate.
"$PY" tests/check_schema.py core/schema "$ROOT/target/tmp/schema-samples" \
    sim/scenarios/*.json

# Build the wheel as users get it and install it into the venv, so the tests
# see the packaged files (py.typed, .pyi), not the source tree. A separate
# target dir keeps maturin's PYO3_BUILD_EXTENSION_MODULE build from
# invalidating the cargo test build of pyo3 above, and vice versa.
WHEELS="$ROOT/target/wheels"
rm -rf "$WHEELS"
"$VENV/bin/maturin" build --quiet --manifest-path python/Cargo.toml \
    --interpreter "$PY" --target-dir "$ROOT/target/maturin" --out "$WHEELS"
"${PIP[@]}" install --force-reinstall --no-deps "$WHEELS"/trimline-*.whl

# The stubs describe the built module: stubtest compares them with it (no
# allowlist is needed), and mypy checks the package and the tests against
# them. Run from python/ with -P so the installed wheel is what is checked.
(cd python && "$PY" -P -m mypy.stubtest trimline._trimline)
(cd python && "$PY" -P -m mypy --strict --no-incremental trimline tests benches)

# Run from python/ so pytest picks up its config from python/pyproject.toml.
# The venv's `pytest` script (unlike `python -m pytest`) does not put the
# working directory on sys.path, so the tests import the installed wheel and
# not the source tree next to them.
(cd python && "$VENV/bin/pytest" -p no:cacheprovider)
echo "Python tests took $((SECONDS - py_start))s"

section "fuzz targets (fuzz/), one shared build, 15 s each"
# The operation-sequence harness and the decoders also run under `cargo
# test` above (core/tests/fuzz_*.rs). Here libFuzzer drives each target for
# a bounded time, on stable Rust: without a sanitizer (-s none), as the core
# has no unsafe code. In CI a missing cargo-fuzz is installed from
# crates.io into target/tools (reused from then on). A missing tool, or a
# toolchain or network that cannot install or build it, is a note and never
# fails the run; a compile error in our code or a crash the fuzzer finds
# does (the crashing input is saved under target/fuzz/artifacts/).
FUZZ_TARGETS=(ops snapshot meter_events meter_snapshot scenario)
FUZZ_SECONDS="${TRIMLINE_FUZZ_SECONDS:-15}"
fuzz_start=$SECONDS
CARGO_FUZZ=()
if cargo fuzz --version >/dev/null 2>&1; then
    CARGO_FUZZ=(cargo fuzz)
elif [ -x "$ROOT/target/tools/bin/cargo-fuzz" ]; then
    CARGO_FUZZ=("$ROOT/target/tools/bin/cargo-fuzz")
elif [ -n "${CI:-}" ]; then
    echo "-- installing cargo-fuzz into target/tools"
    if cargo install cargo-fuzz --locked --root "$ROOT/target/tools"; then
        CARGO_FUZZ=("$ROOT/target/tools/bin/cargo-fuzz")
    else
        echo "note: cargo-fuzz could not be installed (no network or toolchain?); fuzz targets skipped"
    fi
else
    echo "note: cargo-fuzz is not installed; fuzz targets skipped (cargo install cargo-fuzz)"
fi
if [ ${#CARGO_FUZZ[@]} -gt 0 ]; then
    FUZZ_DIR="$ROOT/target/fuzz"
    FUZZ_BIN="$FUZZ_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"
    mkdir -p "$FUZZ_DIR"
    fuzz_built=false
    set +e
    (cd fuzz && "${CARGO_FUZZ[@]}" build -s none --target-dir "$FUZZ_DIR") 2>&1 | tee "$FUZZ_DIR.build.log"
    build_status=${PIPESTATUS[0]}
    set -e
    if [ "$build_status" -eq 0 ]; then
        fuzz_built=true
    elif grep -q "could not compile \`trimline" "$FUZZ_DIR.build.log"; then
        echo "error: the fuzz targets do not compile" >&2
        exit 1
    else
        echo "note: the fuzz targets could not be built here (toolchain?); skipped"
    fi
    if $fuzz_built; then
        echo "cargo-fuzz install and build took $((SECONDS - fuzz_start))s"
        for target in "${FUZZ_TARGETS[@]}"; do
            echo "-- fuzz target $target, ${FUZZ_SECONDS}s"
            mkdir -p "$FUZZ_DIR/corpus/$target" "$FUZZ_DIR/artifacts/$target"
            # libFuzzer's summary gives the executions ("#N DONE ... exec/s: E").
            log="$FUZZ_DIR/$target.log"
            set +e
            "$FUZZ_BIN/$target" -max_total_time="$FUZZ_SECONDS" -len_control=0 -max_len=4096 \
                -artifact_prefix="$FUZZ_DIR/artifacts/$target/" "$FUZZ_DIR/corpus/$target" >"$log" 2>&1
            status=$?
            set -e
            if [ "$status" -ne 0 ]; then
                tail -n 40 "$log" >&2
                echo "error: fuzz target $target failed (exit $status); the input is under target/fuzz/artifacts/$target/" >&2
                exit 1
            fi
            grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$log"
        done
    fi
    echo "fuzzing took $((SECONDS - fuzz_start))s"
fi

section "all suites passed"
