#!/usr/bin/env bash
# Runs `cargo test` again and again while CPU hogs keep every core busy, to
# show that no test's verdict depends on how fast the machine happens to be.
#
# Usage: scripts/busy-test.sh [-n RUNS] [-j HOGS_PER_CORE] [-- CARGO_TEST_ARGS...]
#   -n RUNS           runs of `cargo test` (default 20, or $BUSY_RUNS)
#   -j HOGS_PER_CORE  busy loops per core (default 2, or $BUSY_HOGS_PER_CORE;
#                     0 runs without hogs)
#   after `--`        passed to `cargo test` (e.g. `--test rt_time`, or
#                     `-- --skip name`); default: the whole suite
#
# Builds the tests first (without hogs), then starts the hogs, then runs.
# Stops at the first failing run and prints its number and the failing
# tests; the full output of every run is kept in $BUSY_LOG_DIR (default
# target/busy-test). The hogs are killed on exit, however the script ends.
set -euo pipefail

runs=${BUSY_RUNS:-20}
per_core=${BUSY_HOGS_PER_CORE:-2}
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) runs=$2; shift 2 ;;
        -j) per_core=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "busy-test: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
cargo_args=("$@")

cd "$(dirname "$0")/.."
log_dir=${BUSY_LOG_DIR:-target/busy-test}
mkdir -p "$log_dir"

echo "busy-test: building the tests"
cargo test --no-run "${cargo_args[@]}" >"$log_dir/build.log" 2>&1 || {
    tail -n 30 "$log_dir/build.log"
    echo "busy-test: build failed (log: $log_dir/build.log)" >&2
    exit 1
}

hogs=()
stop_hogs() {
    if [[ ${#hogs[@]} -gt 0 ]]; then
        kill "${hogs[@]}" 2>/dev/null || true
        wait "${hogs[@]}" 2>/dev/null || true
        hogs=()
    fi
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

cores=$(nproc)
n_hogs=$((cores * per_core))
for ((i = 0; i < n_hogs; i++)); do
    # A pure CPU loop in its own process: no I/O, nothing to wait on.
    bash -c 'while :; do :; done' &
    hogs+=($!)
done
echo "busy-test: $n_hogs CPU hogs on $cores cores; $runs runs of: cargo test ${cargo_args[*]}"

passed=0
start=$(date +%s)
for ((run = 1; run <= runs; run++)); do
    log="$log_dir/run-$run.log"
    t0=$(date +%s)
    if cargo test "${cargo_args[@]}" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "busy-test: run $run/$runs passed ($(($(date +%s) - t0)) s)"
    else
        echo "busy-test: run $run/$runs FAILED ($(($(date +%s) - t0)) s); log: $log"
        echo "--- failing tests:"
        # libtest lists failures after a "failures:" line; keep its panics too.
        grep -E "^test .* FAILED$|panicked at|^error: test failed" "$log" | head -n 40 || true
        grep -E -A3 "panicked at" "$log" | head -n 60 || true
        echo "busy-test: SUMMARY: $passed consecutive passes, then run $run failed" \
            "($(($(date +%s) - start)) s, $n_hogs hogs)"
        exit 1
    fi
done
echo "busy-test: SUMMARY: all $passed runs passed ($(($(date +%s) - start)) s, $n_hogs hogs)"
