#!/usr/bin/env python3
"""Tables from scripts/bench-ab.sh output: weft vs tokio (after tree), and
weft before vs after. Usage: scripts/bench-ab-table.py [OUT_DIR]"""
import re,glob,collections,os
import sys
d=sys.argv[1] if len(sys.argv) > 1 else 'target/bench-ab'
res=collections.defaultdict(lambda: collections.defaultdict(list))
unit={'ns':1e-3,'µs':1,'us':1,'ms':1e3,'s':1e6}
for f in sorted(glob.glob(d+'/*.log')):
    suite,side,r,_=os.path.basename(f).split('.')
    name=None
    for line in open(f,errors='replace'):
        m=re.match(r'^(\S+/\S+/\d+)\s*(time:.*)?$',line.strip())
        if m: name=m.group(1)
        t=re.search(r'time:\s+\[(\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\]',line)
        if t and name:
            res[(suite,name)][side].append(float(t.group(3))*unit[t.group(4)]); name=None
def fmt(us):
    if us>=1000: return f"{us/1000:.2f} ms"
    return f"{us:.0f} µs"
def runs(v): return " / ".join(fmt(x) for x in v)
suites=['scheduler','channels','sync','timers','net']
out=[]
for s in suites:
    keys=sorted(k for k in res if k[0]==s and '/weft/' in k[1])
    out.append(f"### {s} (`benches/{s}.rs`)\n")
    out.append("| workload | weft | tokio | weft/tokio |")
    out.append("|---|---|---|---:|")
    for k in keys:
        wl=k[1].split('/weft/')[0]
        a=res[k]['after']; t=res[(s,k[1].replace('/weft/','/tokio/'))]['after']
        if not a or not t: continue
        am=sum(a)/len(a); tm=sum(t)/len(t)
        out.append(f"| {wl} | {runs(a)} | {runs(t)} | {am/tm:.2f} |")
    extra=sorted(k for k in res if k[0]==s and '/weft-chan-on-tokio/' in k[1])
    for k in extra:
        wl=k[1].split('/')[0]
        a=res[k]['after']; t=res[(s,wl+'/tokio/2')]['after']
        out.append(f"| {wl} (weft's channel on tokio's scheduler) | {runs(a)} | {runs(t)} | {(sum(a)/len(a))/(sum(t)/len(t)):.2f} |")
    out.append("")
out.append("### Before and after (weft only)\n")
out.append("| suite | workload | before | after | after/before |")
out.append("|---|---|---|---|---:|")
for s in suites:
    for k in sorted(k for k in res if k[0]==s and '/weft/' in k[1]):
        b=res[k]['before']; a=res[k]['after']
        if not a or not b: continue  # a row one side's binary lacks
        out.append(f"| {s} | {k[1].split('/weft/')[0]} | {runs(b)} | {runs(a)} | {(sum(a)/len(a))/(sum(b)/len(b)):.2f} |")
print("\n".join(out))
