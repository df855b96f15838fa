#!/usr/bin/env python3
"""Side-by-side table of weft and tokio from criterion's estimates.

Reads <criterion dir>/<workload>/<runtime>/<workers>/new/estimates.json, as
written by `cargo bench --bench scheduler` (benchmark ids
`<workload>/weft/<workers>` and `<workload>/tokio/<workers>`), and prints a
markdown table: the mean time per iteration of each runtime with criterion's
confidence interval of the mean, and the ratio weft/tokio (above 1.0: weft is
slower).

Usage: benches/compare.py [CRITERION_DIR]
CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion
in the repository this script lives in. Python 3 standard library only.
"""

import json
import os
import sys
from pathlib import Path

# Workloads in the order benches/scheduler.rs runs them; others found on disk
# are listed after these, alphabetically.
WORKLOADS = [
    "spawn_many_local",
    "spawn_many_remote_idle",
    "yield_many",
    "ping_pong",
    "chained_spawn",
]
RUNTIMES = ("weft", "tokio")


def default_dir():
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def read_mean(path):
    """(point, lower, upper, confidence level) of the mean, in ns, or None."""
    try:
        with open(path, encoding="utf-8") as f:
            mean = json.load(f)["mean"]
        ci = mean["confidence_interval"]
        return (
            float(mean["point_estimate"]),
            float(ci["lower_bound"]),
            float(ci["upper_bound"]),
            float(ci["confidence_level"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"warning: cannot read {path}: {e}", file=sys.stderr)
        return None


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_estimate(est):
    if est is None:
        return "—"
    point, lower, upper, _ = est
    half = max(point - lower, upper - point)
    pct = 100.0 * half / point if point > 0 else 0.0
    return f"{fmt_time(point)} [{fmt_time(lower)} … {fmt_time(upper)}] (±{pct:.1f}%)"


def worker_sort_key(name):
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def collect(root):
    """{(workload, workers): {runtime: estimate}}, in display order."""
    on_disk = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "report")
    workloads = [w for w in WORKLOADS if w in on_disk] + [w for w in on_disk if w not in WORKLOADS]
    rows = {}
    for workload in workloads:
        workers = set()
        for runtime in RUNTIMES:
            rdir = root / workload / runtime
            if rdir.is_dir():
                workers.update(p.name for p in rdir.iterdir() if p.is_dir())
        for w in sorted(workers, key=worker_sort_key):
            rows[(workload, w)] = {
                rt: read_mean(root / workload / rt / w / "new" / "estimates.json") for rt in RUNTIMES
            }
    return rows


def main(argv):
    root = Path(argv[1]) if len(argv) > 1 else default_dir()
    if not root.is_dir():
        print(f"error: no criterion results at {root}; run `cargo bench --bench scheduler` first",
              file=sys.stderr)
        return 1
    rows = collect(root)
    if not rows:
        print(f"error: no weft/tokio benchmarks found under {root}", file=sys.stderr)
        return 1
    level = next((e[3] for r in rows.values() for e in r.values() if e is not None), 0.95)
    print(f"Mean time per iteration, with criterion's {level:.0%} confidence interval of the mean.")
    print()
    print("| workload | workers | weft (mean) | tokio (mean) | ratio weft/tokio |")
    print("|---|---:|---|---|---:|")
    for (workload, workers), est in rows.items():
        weft, tokio = est["weft"], est["tokio"]
        ratio = f"{weft[0] / tokio[0]:.2f}" if weft and tokio and tokio[0] > 0 else "—"
        print(f"| {workload} | {workers} | {fmt_estimate(weft)} | {fmt_estimate(tokio)} | {ratio} |")
    extra = collect_variants(root)
    if extra:
        print()
        print("Other variants measured in the same runs (e.g. `weft_global_wheel`):")
        print()
        print("| workload | variant | workers | mean | ratio variant/tokio |")
        print("|---|---|---:|---|---:|")
        for (workload, variant, workers), est in extra.items():
            tokio = rows.get((workload, workers), {}).get("tokio")
            ratio = f"{est[0] / tokio[0]:.2f}" if est and tokio and tokio[0] > 0 else "—"
            print(f"| {workload} | {variant} | {workers} | {fmt_estimate(est)} | {ratio} |")
    return 0


def collect_variants(root):
    """{(workload, variant, workers): estimate} for runtime ids other than
    weft and tokio (benchmarks that add a third column)."""
    out = {}
    for wdir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report"):
        for vdir in sorted(p for p in wdir.iterdir() if p.is_dir()):
            if vdir.name in RUNTIMES or vdir.name == "report":
                continue
            for w in sorted((p.name for p in vdir.iterdir() if p.is_dir() and p.name != "report"),
                            key=worker_sort_key):
                est = read_mean(vdir / w / "new" / "estimates.json")
                if est is not None:
                    out[(wdir.name, vdir.name, w)] = est
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv))
