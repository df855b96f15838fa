#!/usr/bin/env python3
"""Prints the module import graph of src/ and checks the layering rule.

Usage: scripts/import-graph.py [--depth N] [--edges]

A file's module is its path under src/ cut to --depth components (default
1, or 2 under src/rt/ so the engine's parts show separately). An edge A -> B
means a file of A names `crate::B...` (in a `use` or a path). The layering
rule: nothing under the engine (`rt`) names a public face; leaf modules
(`loom`, `topology`) name neither. Exits 1 and lists the offending lines
when the rule is broken, or when the module graph has a cycle.
"""
import os, re, sys, collections

ENGINE = "rt"
LEAVES = {"loom", "topology", "test_log"}
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
args = sys.argv[1:]
depth = int(args[args.index("--depth") + 1]) if "--depth" in args else 1
show_edges = "--edges" in args

def module_of(parts):
    if not parts:
        return "crate"
    if parts[0] == ENGINE and len(parts) > 1:
        return "/".join(parts[: max(depth, 2)])
    return "/".join(parts[:depth])

def file_module(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return module_of(rel), rel

MODULES = {n[:-3] if n.endswith(".rs") else n for n in os.listdir(root)} - {"lib"}
edges = collections.defaultdict(set)
where = collections.defaultdict(list)
path_re = re.compile(r"\bcrate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)")
group_re = re.compile(r"use\s+crate::\{([^;]*)\};", re.S)
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"):
            continue
        p = os.path.join(dirpath, f)
        src_mod, _ = file_module(p)
        text = open(p).read()
        # Strip comments so doc examples and prose do not count.
        code = re.sub(r"//[^\n]*", "", text)
        targets = [m.group(1).split("::") for m in path_re.finditer(code)]
        for g in group_re.finditer(code):
            for item in re.split(r",(?![^{]*\})", g.group(1)):
                item = item.strip()
                if item:
                    targets.append(re.split(r"::|\{", item)[0:1] + [x for x in re.split(r"::", item)[1:2] if re.match(r"^[a-z_]+$", x)])
        for t in targets:
            t = [x for x in t if x]
            if not t or t[0] not in MODULES:
                continue
            dst = module_of(t)
            if dst.split("/")[0] == src_mod.split("/")[0] and dst == src_mod:
                continue
            if dst != src_mod:
                edges[src_mod].add(dst)
                where[(src_mod, dst)].append(os.path.relpath(p, os.path.dirname(root)))

bad = []
for (a, b), files in sorted(where.items()):
    top_a, top_b = a.split("/")[0], b.split("/")[0]
    if top_a == top_b:
        continue
    if top_a == ENGINE and top_b not in LEAVES and top_b != ENGINE:
        bad.append((a, b, sorted(set(files))))
    if top_a in LEAVES and top_b not in LEAVES:
        bad.append((a, b, sorted(set(files))))

# Cycles between top-level modules (the engine counts as one node).
top = collections.defaultdict(set)
for a, bs in edges.items():
    for b in bs:
        ta, tb = a.split("/")[0], b.split("/")[0]
        if ta != tb:
            top[ta].add(tb)
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in top.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))
for v in list(top):
    if v not in index:
        strong(v)

if show_edges:
    for a in sorted(edges):
        print(f"{a} -> {', '.join(sorted(edges[a]))}")
for a, b, files in bad:
    print(f"layering: {a} names {b} in {', '.join(files)}")
for c in sccs:
    print(f"cycle between top-level modules: {' <-> '.join(c)}")
if bad or sccs:
    sys.exit(1)
print("import graph: engine names no public face; no cycle between top-level modules")
