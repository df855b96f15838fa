#!/usr/bin/env bash
# Runs benches/go/sched.go (the scheduler workloads of benches/scheduler.rs
# on Go's runtime) at each worker count in WEFT_BENCH_WORKERS (default
# "2,4"), with GOMAXPROCS set to it, for the Go column of
# docs/benchmarks.md. Extra arguments go to the Go program (-filter REGEXP,
# -warm-up 1s, -measurement 3s).
# Without a Go toolchain it says so and exits 0: the Go column is optional.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1; then
  echo "SKIPPED: no Go toolchain (Debian: apt-get install golang-go) for benches/go"
  exit 0
fi
go version
IFS=, read -r -a counts <<< "${WEFT_BENCH_WORKERS:-2,4}"
bin="$(mktemp -d)/sched"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" benches/go/sched.go
for n in "${counts[@]}"; do
  GOMAXPROCS="$n" "$bin" "$@"
done
