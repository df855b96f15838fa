#!/usr/bin/env bash
# Runs benches/go/sched.go (the scheduler workloads of benches/scheduler.rs
# on Go's runtime) and benches/go/echo.go (the loopback echoes of
# benches/net.rs on Go's netpoller) at each worker count in
# WEFT_BENCH_WORKERS (default "2,4"), with GOMAXPROCS set to it, for the
# Go column of docs/benchmarks.md. Extra arguments go to both Go programs
# (-filter REGEXP, -warm-up 1s, -measurement 3s); a filter that matches
# none of a program's workloads makes it print nothing.
# Without a Go toolchain it says so and exits 0: the Go column is optional.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1; then
  echo "SKIPPED: no Go toolchain (Debian: apt-get install golang-go) for benches/go"
  exit 0
fi
go version
IFS=, read -r -a counts <<< "${WEFT_BENCH_WORKERS:-2,4}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/sched" benches/go/sched.go benches/go/harness.go
go build -o "$dir/echo" benches/go/echo.go benches/go/harness.go
for n in "${counts[@]}"; do
  GOMAXPROCS="$n" "$dir/sched" "$@"
  GOMAXPROCS="$n" "$dir/echo" "$@"
done
