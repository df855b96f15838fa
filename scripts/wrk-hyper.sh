#!/usr/bin/env bash
# The same hyper service on weft and on tokio under wrk, alternating
# (examples/hyper_bench.rs; docs/benchmarks.md, "hyper under wrk").
#
# usage: scripts/wrk-hyper.sh [-r ROUNDS] [-w WORKERS] [-d SECONDS] [-c "64 256"] [-o OUT.tsv]
#
# Each round runs every connection count on both runtimes, the runtime
# that goes first swapping every round so a drift in the machine's speed
# lands on both columns. Every run starts a fresh server, warms it for 2 s,
# then measures with `wrk -t1 -cC -dD --latency` (keep-alive). The raw
# results go to OUT.tsv (default target/wrk-hyper.tsv), one line per run;
# scripts/wrk-hyper-table.py turns them into the markdown table.
# Needs wrk (`apt-get install wrk`). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
workers=2
seconds=10
conns="64 256"
out=target/wrk-hyper.tsv
while getopts "r:w:d:c:o:" opt; do
  case "$opt" in
    r) rounds="$OPTARG" ;;
    w) workers="$OPTARG" ;;
    d) seconds="$OPTARG" ;;
    c) conns="$OPTARG" ;;
    o) out="$OPTARG" ;;
    *) sed -n 4p "$0" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }

cargo build --release --example hyper_bench --features hyper
bin=target/release/examples/hyper_bench
addr=127.0.0.1:8090
url="http://$addr/"

# Converts wrk's latency ("123.45us", "1.20ms", "2.00s") to microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000;
    else if (v ~ /s$/) print n * 1000000; else print n }'
}

server_pid=
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

# Waits until the server accepts connections (it prints its address once
# bound; the port may still be in TIME_WAIT from the last run for a moment).
wait_listening() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "server did not start listening on $addr" >&2
  exit 1
}

mkdir -p "$(dirname "$out")"
printf 'round\truntime\tworkers\tconns\trps\tp50_us\tp75_us\tp90_us\tp99_us\n' >"$out"
for round in $(seq 1 "$rounds"); do
  if ((round % 2)); then order="weft tokio"; else order="tokio weft"; fi
  for c in $conns; do
    for rt in $order; do
      "$bin" "$rt" "$workers" "$addr" >/dev/null &
      server_pid=$!
      wait_listening
      wrk -t1 -c"$c" -d2s "$url" >/dev/null
      report="$(wrk -t1 -c"$c" -d"${seconds}s" --latency "$url")"
      stop_server
      rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")"
      pct() { to_us "$(awk -v p="$1%" '$1 == p { print $2; exit }' <<<"$report")"; }
      errors="$(grep -E 'Socket errors|Non-2xx' <<<"$report" || true)"
      [[ -z "$errors" ]] || echo "round $round $rt c$c: $errors" >&2
      line="$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$round" "$rt" "$workers" "$c" "$rps" \
        "$(pct 50)" "$(pct 75)" "$(pct 90)" "$(pct 99)")"
      echo "$line" >>"$out"
      echo "$line"
    done
  done
done
echo "results: $out (python3 scripts/wrk-hyper-table.py $out)"
