#!/usr/bin/env python3
"""check-layers: the engine's dependencies point one way (engine/README.md).

Three checks, each printing what it refuses and what to do:
  1. includes: a file in engine/<layer>/ includes only its own layer and the
     layers below (base < codec < rules < decide < pipeline < programs);
     nothing outside engine/cli/ includes the CLI; only pipeline/ and the
     programs include librdkafka or hiredis.
  2. circles: over the built objects, file A "calls" file B when A.o needs a
     symbol B.o defines (nm); that graph must have no cycle.
  3. names: every symbol an engine object exports starts with sk_ (or is
     main), so nothing collides with the libraries we link.

usage: check-layers.py OBJDIR   (OBJDIR: the build folder holding engine/*/*.o)
Ends with "N passed, N failed".
"""
import collections
import os
import re
import subprocess
import sys

LAYERS = ["base", "codec", "rules", "decide", "pipeline"]
PROGRAMS = 99  # engine/shiftkeyd.c, engine/cli/
RANK = {name: i for i, name in enumerate(LAYERS)}
IO_HEADERS = re.compile(r"^(librdkafka/|hiredis|rdkafka)")
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)


def layer_of(path):
    """Rank of a source file under engine/, or None outside the engine."""
    parts = path.split(os.sep)
    if parts[0] != "engine":
        return None
    if len(parts) == 2 or parts[1] == "cli":
        return PROGRAMS
    return RANK.get(parts[1])


def check_includes(root):
    bad = []
    for dirpath, _, files in os.walk(os.path.join(root, "engine")):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.relpath(os.path.join(dirpath, f), root)
            own = layer_of(path)
            text = open(os.path.join(root, path), encoding="utf-8").read()
            for m in INCLUDE.finditer(text):
                kind, inc = m.group(1), m.group(2)
                line = text.count("\n", 0, m.start()) + 1
                where = f"{path}:{line}"
                if kind == "<":
                    if IO_HEADERS.match(inc) and own < RANK["pipeline"]:
                        bad.append(f"{where}: <{inc}> below pipeline/ (only pipeline/ and the "
                                   "programs do I/O; pass plain data down instead)")
                    continue
                top = inc.split("/")[0]
                if "/" not in inc:
                    bad.append(f'{where}: "{inc}" without its folder (write "layer/{inc}")')
                elif top == "cli":
                    if os.sep + "cli" + os.sep not in os.sep + path:
                        bad.append(f'{where}: "{inc}": nothing outside engine/cli/ includes the CLI')
                elif top not in RANK:
                    bad.append(f'{where}: "{inc}": unknown folder {top}/')
                elif RANK[top] > own:
                    bad.append(f'{where}: "{inc}" points up ({LAYERS[own]}/ may include only '
                               f"{', '.join(LAYERS[:own + 1])}); move the shared piece down")
    return bad


def symbols(objs):
    """{object: (defined, undefined symbols)}, from one `nm -A` of them all
    (one process per object took a minute on a loaded machine)."""
    out = subprocess.run(["nm", "-A"] + objs, capture_output=True, text=True, check=True).stdout
    syms = {o: (set(), set()) for o in objs}
    for row in out.splitlines():
        obj, _, rest = row.partition(":")
        cols = rest.split()
        if obj not in syms:
            continue
        if len(cols) == 3 and cols[1] in "TDBRCV":
            syms[obj][0].add(cols[2])
        elif len(cols) == 2 and cols[0] == "U":
            syms[obj][1].add(cols[1])
    return syms


def engine_objects(root, objdir):
    """The objects of engine sources that exist now (a stale object of a
    moved or deleted file is not part of the program)."""
    objs = []
    for dirpath, _, files in os.walk(os.path.join(objdir, "engine")):
        for f in files:
            obj = os.path.join(dirpath, f)
            src = os.path.join(root, os.path.relpath(obj, objdir))[:-2] + ".c"
            if f.endswith(".o") and os.path.exists(src):
                objs.append(obj)
    return sorted(objs)


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    objdir = sys.argv[1]
    passed = failed = 0

    def report(name, problems):
        nonlocal passed, failed
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"  {p}")
        else:
            passed += 1
            print(f"ok   {name}")

    report("includes point down", check_includes(root))

    objs = engine_objects(root, objdir)
    if not objs:
        print(f"check-layers: no objects under {objdir}/engine (build first)", file=sys.stderr)
        return 2
    syms = symbols(objs)
    owner = {s: o for o, (d, _) in syms.items() for s in d}
    graph = collections.defaultdict(set)
    for o, (_, undefined) in syms.items():
        graph[o]
        for s in undefined:
            if s in owner and owner[s] != o:
                graph[o].add(owner[s])
    rel = lambda o: os.path.relpath(o, objdir)
    report("no circle between files (nm)",
           [" <-> ".join(rel(o) for o in comp) +
            ": move what they share into a file below both" for comp in cycles(graph)])
    report("exported symbols start with sk_",
           [f"{rel(o)}: {s} (prefix it sk_<module>_ or make it static)"
            for o, (d, _) in sorted(syms.items()) for s in sorted(d)
            if not s.startswith("sk_") and s != "main"])
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
