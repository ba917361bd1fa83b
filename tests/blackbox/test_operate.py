#!/usr/bin/python3
"""Black-box test of the operators' tools against a live engine (issue 15).

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_operate.py

It starts redis-server and shiftkeyd (embedded broker, rules/examples) as
test_cli_requests.py does, publishes a shift and a request through the
CLI, then checks:

  - `shiftkey explain`: the shift's access is HELD with its source, shift
    and enrollment rule; an entitlement nobody gave is "not held" and a
    request for it would be refused with the reason; a request someone may
    make would be pending with its reviewers; `--at` after the shift's end
    shows it gone (the user's timer decided in memory);
  - `shiftkey replay` from the input topics: the same rules find no
    difference (exit 0); a real edit (the payments grace cut to 15m) finds
    the shorter grant (exit 1); `--export` writes a recording that replays
    the same.

Prints "ok   ..." / "FAIL ..." per check and "N passed, N failed" last.
"""

import os
import re
import shutil
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli_requests as base  # noqa: E402
from test_cli_requests import T_COMMANDS, check, wait_recs  # noqa: E402

RULES = os.path.join("rules", "examples")
BOB, DAVE = "bob@example.com", "dave@example.com"
# the shift starts a few ms before the engine decides it: 8h29m59.99s held
LOSS = re.compile(r"- bob@example.com aws-prod/readonly: held 8h(29|30)m -> 8h(14|15)m, 1 -> 1 grants")


def scenario(tmp, engine_log):
    st = base.start_stack(tmp, engine_log)
    if st is None:
        return False
    cli = st.cli
    args = base.procs["redis"].args
    redis = "127.0.0.1:%s" % args[args.index("--port") + 1]

    rc, out, err = cli.run("shift", "started", "--user", BOB, "--rotation", "payments-primary",
                           "--id", "op-1", "--start", "now", "--end", "+8h")
    check("shift published", rc == 0, err)
    check("GRANT aws-prod/readonly to bob",
          wait_recs(st.reader, T_COMMANDS, lambda r: r["user"] == BOB and
                    r["entitlement"] == "readonly" and r["action"] == "GRANT"), out)

    def explain(*a):
        return cli.run("explain", *a, "--rules", RULES, "--redis", redis, kafka=False)

    rc, out, err = explain(BOB, "aws-prod/readonly")
    check("explain: exit 0", rc == 0, err)
    check("explain: held, with its source and rule",
          "aws-prod/readonly: HELD until" in out and "source SHIFT op-1" in out and
          "enrollment payments-oncall-auto gives profile payments-oncall" in out, out)
    check("explain: a request for what the shift holds would be decided (not refused)",
          "a request now for aws-prod/readonly" in out, out)
    rc, out, err = explain(BOB, "kubernetes-prod/edit")
    check("explain: not held, and a request would be refused with the reason",
          rc == 0 and "kubernetes-prod/edit: not held" in out and
          "would be: refused:" in out and "not on call in rotation 'platform-sre'" in out, out)
    rc, out, err = explain(DAVE, "kubernetes-prod/edit", "--duration", "2h")
    check("explain: a request dave may make would wait for its reviewers",
          rc == 0 and "waiting for:" in out and "frank@example.com" in out, out)
    rc, out, err = explain(BOB, "aws-prod/readonly", "--at", "+9h")
    check("explain --at after the shift and its grace: not held",
          rc == 0 and "aws-prod/readonly: not held" in out, out)
    rc, out, err = explain(BOB)
    check("explain USER: every entitlement held", rc == 0 and "datadog/write: HELD" in out, out)
    rc, out, err = cli.run("explain", BOB, "--rules", RULES, "--redis", "127.0.0.1:1",
                           kafka=False)
    check("explain: Redis unreachable exits 1", rc == 1, out + err)

    new = os.path.join(tmp, "rules-new")
    shutil.copytree(RULES, new)
    p = os.path.join(new, "enrollments.yaml")
    with open(p) as f:
        text = f.read()
    with open(p, "w") as f:
        f.write(text.replace("revoke_after: 30m", "revoke_after: 15m"))
    rec = os.path.join(tmp, "recording")
    rc, out, err = cli.run("replay", "--current", RULES, "--rules", RULES, "--export", rec)
    check("replay from the topics, same rules: no difference (exit 0)",
          rc == 0 and "no difference" in out and "replay: 1 records" in out, out + err)
    rc, out, err = cli.run("replay", "--current", RULES, "--rules", new, "--until", "+10h")
    check("replay with the grace cut to 15m: bob loses 15m of aws-prod/readonly (exit 1)",
          rc == 1 and LOSS.search(out), out + err)
    rc, out, err = cli.run("replay", "--current", RULES, "--rules", new, "--input", rec,
                           "--until", "+10h", kafka=False)
    check("replay of the exported recording: the same difference",
          rc == 1 and LOSS.search(out), out + err)
    return True


if __name__ == "__main__":
    sys.exit(base.main(scenario))
