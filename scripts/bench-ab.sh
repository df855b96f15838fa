#!/usr/bin/env bash
# Before/after benchmarks, alternating, at 2 workers.
#
# Usage: scripts/bench-ab.sh BEFORE_TREE AFTER_TREE [OUT_DIR]
#   BEFORE_TREE, AFTER_TREE: checkouts (e.g. `git worktree add`) in which
#   `cargo bench --no-run` has been run, so their target/release/deps hold
#   the bench binaries.
#   OUT_DIR: where each run's criterion output goes (default target/bench-ab).
#   SUITES: which bench files (default: scheduler channels sync timers net).
#
# For each suite it runs: before (weft rows only), after (weft and tokio),
# twice, so the two trees alternate on the same idle machine. Then
# `python3 scripts/bench-ab-table.py OUT_DIR` prints the tables.
# Run nothing else meanwhile (docs/benchmarks.md, "Method and pitfalls").
set -euo pipefail
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd)
out=${3:-target/bench-ab}; mkdir -p "$out"
suites=${SUITES:-"scheduler channels sync timers net"}
bin() { ls -t "$1"/target/release/deps/"$2"-* | grep -v '\.d$' | head -1; }
for s in $suites; do
    for r in 1 2; do
        for side in before after; do
            dir=$before; filter='/weft/2$'
            if [[ $side == after ]]; then dir=$after; filter='/2$'; fi
            b=$(bin "$dir" "$s")
            (cd "$dir" && WEFT_BENCH_WORKERS=2 chrt -f 50 "$b" --bench "$filter" \
                --warm-up-time 1 --measurement-time 2) >"$out/$s.$side.$r.log" 2>&1
            echo "$(date +%T) $s $side $r done"
        done
    done
done
