#!/usr/bin/env python3
"""Turns scripts/wrk-hyper.sh's TSV into the markdown table of
docs/benchmarks.md ("hyper under wrk").

usage: scripts/wrk-hyper-table.py [RESULTS.tsv ...]   (default target/wrk-hyper.tsv)

One row per (workers, connections): each runtime's requests per second
as the median of the rounds with the smallest and largest beside it,
the ratio of the medians (weft / tokio: above 1.0 means weft serves
more), and the median of each latency percentile over the rounds.
"""

import csv
import statistics
import sys
from collections import defaultdict


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def main(paths):
    runs = defaultdict(list)
    for path in paths or ["target/wrk-hyper.tsv"]:
        with open(path, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                key = (int(row["workers"]), int(row["conns"]), row["runtime"])
                runs[key].append({k: float(v) for k, v in row.items() if k not in ("runtime",)})
    shapes = sorted({(w, c) for (w, c, _) in runs})
    print("| workers | conns | weft req/s (min–max) | tokio req/s (min–max) | weft/tokio "
          "| weft p50 / p90 / p99 | tokio p50 / p90 / p99 |")
    print("|---:|---:|---|---|---:|---|---|")
    for w, c in shapes:
        cells = []
        medians = {}
        lat = {}
        for rt in ("weft", "tokio"):
            rs = runs.get((w, c, rt), [])
            if not rs:
                cells.append("–")
                continue
            rps = [r["rps"] for r in rs]
            medians[rt] = statistics.median(rps)
            cells.append(f"{medians[rt]:,.0f} ({min(rps):,.0f}–{max(rps):,.0f}, n={len(rps)})")
            lat[rt] = " / ".join(fmt_us(statistics.median(r[p] for r in rs))
                                 for p in ("p50_us", "p90_us", "p99_us"))
        ratio = f"{medians['weft'] / medians['tokio']:.2f}" if len(medians) == 2 else "–"
        print(f"| {w} | {c} | {cells[0]} | {cells[1]} | {ratio} "
              f"| {lat.get('weft', '–')} | {lat.get('tokio', '–')} |")


if __name__ == "__main__":
    main(sys.argv[1:])
