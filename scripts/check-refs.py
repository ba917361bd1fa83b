#!/usr/bin/env python3
"""check-refs: every file a comment or a document names exists.

Looks in the repository's text files (C sources, scripts, Markdown, YAML)
for names of our own files: a path under one of the top folders
(engine/decide/state.h, schemas/command.avsc, docs/reliability.md; rule
file names are examples and are not checked), a file of an engine layer
(decide/state.h) or a bare C file name (shift.c, store.h). Each must name a file in the repository;
templates (NAME, FOO) and build outputs are skipped. Ends with
"N passed, N failed"; prints each stale name as file:line: name.
"""
import os
import re
import subprocess
import sys

PATH = re.compile(r"(?<![\w./-])((?:engine|connectors|tests|schemas|docs|scripts|bench|helm)"
                  r"/[\w./-]*\w)")
LAYER = re.compile(r"(?<![\w./-])((?:base|codec|rules|decide|pipeline|cli)/[\w-]+\.[ch])\b")
BARE = re.compile(r"(?<![\w./<\"-])([a-z][a-z0-9_]*\.[ch])\b")
TEXT = (".c", ".h", ".py", ".sh", ".md", ".mk", ".yaml", ".tpl", "Makefile")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    have = set(files)
    dirs = {os.path.dirname(f) for f in files}
    while any(os.path.dirname(d) not in dirs and d for d in dirs):
        dirs |= {os.path.dirname(d) for d in dirs}
    names = {os.path.basename(f) for f in files}
    stale = []
    for f in files:
        if not f.endswith(TEXT) or f.startswith("tests/fuzz/corpus/"):
            continue
        for no, line in enumerate(open(f, encoding="utf-8", errors="replace"), 1):
            if re.match(r"\s*#\s*include", line):
                continue
            for m in PATH.finditer(line):
                ref = m.group(1).rstrip(".")
                if any(t in ref for t in ("NAME", "FOO", "foo_", "*", "<", "$")) or \
                        ref.startswith("tests/fuzz/corpus/"):
                    continue
                if ref in have or ref.rstrip("/") in dirs or "//" in ref:
                    continue
                if any(h.startswith(ref) for h in have):
                    continue  # a prefix: "tests/unit/test_", "tests/chaos/mock_broker"
                stale.append(f"{f}:{no}: {ref}")
            for m in LAYER.finditer(line):
                if "engine/" + m.group(1) not in have:
                    stale.append(f"{f}:{no}: {m.group(1)} (under engine/)")
            for m in BARE.finditer(line):
                ref = m.group(1)
                if ref in names or ref in ("x.c", "a.c", "b.c"):
                    continue
                stale.append(f"{f}:{no}: {ref}")
    for s in stale:
        print(s)
    print(f"{0 if stale else 1} passed, {1 if stale else 0} failed")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
