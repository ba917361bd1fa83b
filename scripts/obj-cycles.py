#!/usr/bin/env python3
"""obj-cycles.py OBJ... — the file-level call graph of a set of object files:
A -> B when A.o has an undefined symbol that B.o defines (nm). Prints each
file's callees and every circle (strongly connected component); exits 1
when there is one. E.g. scripts/obj-cycles.py build/test/engine/decide/*.o"""
import subprocess, sys, os, collections
objs = sys.argv[1:]
defs, undefs = {}, {}
for o in objs:
    out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
    d, u = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            u.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWCG" and parts[1].isupper():
            d.add(parts[2])
    name = os.path.basename(o)[:-2]
    defs[name], undefs[name] = d, u
edges = collections.defaultdict(set)
for a in defs:
    for b in defs:
        if a != b and undefs[a] & defs[b]:
            edges[a].add(b)
for a in sorted(defs):
    print(f"{a} -> {', '.join(sorted(edges[a])) or '(none)'}")
# Tarjan
idx, low, st, on, sccs, i = {}, {}, [], set(), [], [0]
def strong(v):
    idx[v] = low[v] = i[0]; i[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in idx:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
for v in sorted(defs):
    if v not in idx: strong(v)
cyc = [sorted(c) for c in sccs if len(c) > 1]
print(f"cycles: {len(cyc)}")
for c in cyc:
    print("  circle: " + " <-> ".join(c))
sys.exit(1 if cyc else 0)
