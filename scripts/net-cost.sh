#!/usr/bin/env bash
# Load-independent cost of one echoed round trip in benches/net.rs, for the
# weft / tokio / mio_floor columns: system calls by type (strace -c -f) or
# user-space instructions (callgrind). Wall-clock figures come from
# `cargo bench --bench net` on an idle machine; these do not need one.
#
#   scripts/net-cost.sh syscalls     SHAPE RUNTIME WORKERS
#   scripts/net-cost.sh instructions SHAPE RUNTIME WORKERS
#
# SHAPE is an echo group (tcp_echo_latency, tcp_echo_throughput,
# tcp_echo_small_256, tcp_echo_small_1024), RUNTIME weft, tokio or
# mio_floor. Every round trip makes exactly two successful sends (the
# client's message and the server's echo), so counts are divided by half
# the successful send/sendto calls. `syscalls` runs criterion's shortest
# measurement (at least 11 iterations, so start-up is a few per cent);
# `instructions` subtracts a --profile-time 1 run from a --profile-time 6
# run, so start-up cancels out. Under either tool the threads run slower
# (callgrind runs one at a time), which changes how events batch: compare
# columns measured the same way, not with wall-clock runs.
# Needs strace or valgrind; says so and exits 0 without them.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?syscalls or instructions}; shape=${2:?shape}; rt=${3:?runtime}; workers=${4:?workers}
tool=strace; [ "$mode" = instructions ] && tool=valgrind
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "SKIPPED: $tool is not installed"
  exit 0
fi
cargo bench --bench net --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/net-* | grep -v '\.d$' | head -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
filter="^$shape/$rt/$workers\$"
case "$mode" in
syscalls)
  WEFT_BENCH_WORKERS=$workers strace -c -f -o "$out/strace" "$bin" --bench "$filter" \
    --warm-up-time 0.1 --measurement-time 0.5 --sample-size 10 >/dev/null 2>&1
  python3 - "$out/strace" "$shape $rt w=$workers" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 5 and re.match(r'^[\d.]+$', p[0]) and p[-1] != 'total':
        rows[p[-1]] = (int(p[3]), int(p[4]) if len(p) == 6 else 0)
sends = sum(c - e for k, (c, e) in rows.items() if k in ('sendto', 'send', 'sendmsg'))
rt = sends / 2
out = [f"{sys.argv[2]}: {rt:.0f} round trips, per round trip:"]
total = 0
for name, (calls, errs) in sorted(rows.items(), key=lambda r: -r[1][0]):
    total += calls
    if calls / rt >= 0.005:
        out.append(f"{name}={calls / rt:.3f}" + (f" (errors {errs / rt:.3f})" if errs else ""))
out.append(f"total={total / rt:.3f}")
print(" ".join(out))
PY
  ;;
instructions)
  for t in 1 6; do
    WEFT_BENCH_WORKERS=$workers valgrind --tool=callgrind --callgrind-out-file="$out/cg.$t" \
      "$bin" --bench "$filter" --profile-time "$t" >/dev/null 2>&1
  done
  python3 - "$out/cg.1" "$out/cg.6" "$shape $rt w=$workers" <<'PY'
import re, sys
def read(path):
    names, calls, total, callee = {}, 0, 0, None
    for line in open(path, errors='replace'):
        if line.startswith(('summary:', 'totals:')):
            total = int(line.split()[1])
        m = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?$', line.strip())
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            callee = names.get(m.group(2)) if m.group(1) == 'cfn' else None
        elif line.startswith('calls=') and callee is not None:
            if callee in ('send', '__send', '__libc_send'):
                calls += int(line.split('=')[1].split()[0])
            callee = None
    return total, calls
(t1, s1), (t6, s6) = read(sys.argv[1]), read(sys.argv[2])
rt = (s6 - s1) / 2
print(f"{sys.argv[3]}: {rt:.0f} round trips, {(t6 - t1) / rt:.0f} user instructions per round trip")
PY
  ;;
*)
  echo "unknown mode $mode (syscalls or instructions)" >&2
  exit 2
  ;;
esac
