#!/usr/bin/python3
"""make schemas-check: refuses a schema change that breaks backward or
forward compatibility (schemas/README.md, "Evolution rules").

For every schema schemas/NAME.avsc, with python3-avro's checker (a port of
Java Avro's SchemaCompatibility, not ours):

  - the schema as committed at BASE (default HEAD; $SCHEMAS_CHECK_BASE) and
    every stored version schemas/versions/NAME/ID.avsc must be readable by
    the current schema (backward) and read it (forward);
  - a changed schema must keep its record name and namespace; a schema id
    is used by one schema file or version only.

--self-test checks the checker on tests/schemas/evolution/ (the cases the
engine's tests use): the compatible writers pass, the others are refused.

Ends with "N passed, N failed"; exit 1 on any failure.
"""

import glob
import json
import os
import re
import subprocess
import sys

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
import avro.schema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % what)
    else:
        failed += 1
        print("FAIL %s%s" % (what, (": " + detail) if detail else ""))
    return ok


def parse(text):
    return avro.schema.parse(text)


def compat(reader, writer):
    """'' when reader reads writer's data, else the checker's reasons."""
    r = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if r.compatibility is SchemaCompatibilityType.compatible:
        return ""
    return "; ".join(sorted(r.messages)) + " at " + ", ".join(sorted(r.locations))


def both_ways(new_text, old_text):
    """(backward problem, forward problem): '' each when fine."""
    new, old = parse(new_text), parse(old_text)
    return compat(new, old), compat(old, new)


def git_show(base, path):
    try:
        return subprocess.run(["git", "show", "%s:%s" % (base, path)], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def schema_ids():
    """{file base name: id} from the table of schemas/README.md."""
    text = open(os.path.join(ROOT, "schemas", "README.md"), encoding="utf-8").read()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^\| `([a-z_]+)\.avsc` \|.*\| (\d+) \|$", text, re.M)}


def main():
    base = os.environ.get("SCHEMAS_CHECK_BASE", "HEAD")
    ids = schema_ids()
    seen = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "schemas", "*.avsc"))):
        name = os.path.basename(path)[:-5]
        text = open(path, encoding="utf-8").read()
        try:
            cur = parse(text)
        except Exception as e:  # noqa: BLE001 - any parse error
            check(False, "%s parses" % name, str(e))
            continue
        if name in ids:
            seen.setdefault(ids[name], []).append(name)
        old = git_show(base, "schemas/%s.avsc" % name)
        if old is not None and old != text:
            o = parse(old)
            check(o.fullname == cur.fullname, "%s keeps its name %s" % (name, o.fullname),
                  "now %s" % cur.fullname)
            back, fwd = both_ways(text, old)
            check(not back, "%s reads what %s's version wrote (backward)" % (name, base), back)
            check(not fwd, "%s's version reads what %s writes (forward)" % (base, name), fwd)
        elif old is not None:
            check(True, "%s unchanged since %s" % (name, base))
        for vpath in sorted(glob.glob(os.path.join(ROOT, "schemas", "versions", name, "*.avsc"))):
            vid = os.path.basename(vpath)[:-5]
            check(vid.isdigit(), "version file %s is named ID.avsc" % os.path.relpath(vpath, ROOT))
            if vid.isdigit():
                seen.setdefault(int(vid), []).append("%s/%s" % (name, vid))
            back, fwd = both_ways(text, open(vpath, encoding="utf-8").read())
            check(not back and not fwd, "%s and its version %s read each other" % (name, vid),
                  back or fwd)
    dup = {i: n for i, n in seen.items() if len(n) > 1}
    check(not dup, "every schema id names one schema", repr(dup))


def self_test():
    cur = open(os.path.join(ROOT, "schemas", "schedule_event.avsc"), encoding="utf-8").read()
    cases = {"2001_no_level": True, "2002_note_added": True, "2003_same": True,
             "2004_start_string": False, "2005_no_user": False, "2006_level_long": False,
             "2007_start_int": False}
    for name, ok in cases.items():
        text = open(os.path.join(ROOT, "tests", "schemas", "evolution", name + ".avsc"),
                    encoding="utf-8").read()
        back, fwd = both_ways(text, cur)  # the case as a change of the current schema
        check((not back and not fwd) == ok,
              "a change to %s is %s" % (name, "accepted" if ok else "refused"),
              "backward: %s; forward: %s" % (back or "ok", fwd or "ok"))


if __name__ == "__main__":
    if "--self-test" in sys.argv[1:]:
        self_test()
    main()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
