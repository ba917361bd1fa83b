#!/usr/bin/python3
"""Black-box test of manual provisioning and revocation through the CLI.

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_cli_provisioning.py

Same set-up as test_cli_requests.py (private redis-server, shiftkeyd
--kafka embedded, confluent_kafka + python-avro reader), on the rule set
tests/blackbox/rules/manual: pgdb/dba is requested by dev, reviewed by the
manager (mgr), provisioned by hand by pat, revocations confirmed by sec.

  - request -> mgr approves -> a PROVISIONING task for pat (task list
    --assignee) -> `task provisioned REQUEST_ID --as pat` (the request's
    provisioning task, subject read from the tasks topic) -> GRANT held by
    the request, task closed PROVISIONED, request --wait exits 0;
  - `shiftkey revoke dev pgdb/dba` -> a REVOCATION task for sec ->
    `task confirm` -> REVOKE and a DEPROVISIONING task for pat ->
    `task deprovisioned TASK_ID` closes it; a second proposal is rejected
    (`task reject`): its task closes DENIED, no REVOKE;
  - a second request: `task wont-provision --comment` closes its
    provisioning task WONT_PROVISION, no GRANT, request --wait exits 1.

A shiftkeyd that does not consume shiftkey.provisioning.results.v1 (no
--results-topic in its --help) fails the test.
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli_requests as base  # noqa: E402
from test_cli_requests import T_COMMANDS, T_RESULTS, T_TASKS, check, wait_recs  # noqa: E402

RULES = os.path.join("tests", "blackbox", "rules", "manual")
DEV, MGR, PAT, SEC = "dev@example.com", "mgr@example.com", "pat@example.com", "sec@example.com"
ENT = "pgdb/dba"


def open_task(reader, request_id, kind):
    """The first event of the newest task of `kind` for request_id (waits)."""
    got = wait_recs(reader, T_TASKS, lambda t: t["request_id"] == request_id and t["kind"] == kind)
    return got[-1] if got else None


def closed(reader, task_id):
    got = wait_recs(reader, T_TASKS, lambda t: t["task_id"] == task_id and t["state"] == "CLOSED")
    return got[0] if got else None


def finish(waiter):
    try:
        out = waiter.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        waiter.kill()
        out = waiter.communicate()[0]
    return waiter.returncode, out.decode("utf-8", "replace")


def scenario(tmp, engine_log):
    nonce = uuid.uuid4().hex[:6]
    rc, out, err = base.Cli("").run("rules", "check", RULES, kafka=False)
    check("shiftkey rules check %s exits 0" % RULES, rc == 0, out + err)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    helped = subprocess.run([base.SHIFTKEYD, "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=10, env=env).stdout
    if not check("shiftkeyd consumes %s (--results-topic in its --help)" % T_RESULTS,
                 b"--results-topic" in helped, helped[-300:]):
        return False
    st = base.start_stack(tmp, engine_log, rules=RULES)
    if not st:
        return False
    cli, reader = st.cli, st.reader

    # ---- request -> review -> provisioning task -> provisioned -> GRANT ----
    p1 = "bb-p1-%s" % nonce
    waiter = cli.start("request", ENT, "--duration", "30m", "--as", DEV, "--id", p1,
                       "--wait", "40")
    base.procs["waiter"] = waiter
    review = open_task(reader, p1, "REQUEST_REVIEW")
    check("the request opens a review for the manager", review and review["assignees"] == [MGR],
          review)
    rc, out, err = cli.run("task", "approve", p1, "--as", MGR)
    check("mgr: task approve exits 0", rc == 0, out + err)
    prov = open_task(reader, p1, "PROVISIONING")
    check("the approval opens a PROVISIONING task for pat (32 hex id, on %s)" % T_TASKS,
          prov and prov["assignees"] == [PAT] and base.HEX32.match(prov["task_id"])
          and prov["target"] == ENT, prov)
    prov_id = prov["task_id"] if prov else "?"
    rc, out, _ = cli.run("task", "list", "--assignee", PAT, "-o", "json")
    items = json.loads(out) if rc == 0 and base.json_tool(out) else []
    check("task list --assignee pat -o json: the open PROVISIONING task",
          [(t["task_id"], t["kind"], t["state"]) for t in items] == [(prov_id, "PROVISIONING",
                                                                       "CREATED")], out)
    rc, out, err = cli.run("task", "provisioned", p1, "--as", PAT, "--comment", "granted in pg")
    check("pat: task provisioned REQUEST_ID exits 0 and names the task",
          rc == 0 and ("provisioned task %s of %s as %s" % (prov_id, DEV, PAT)) in out, out + err)
    res = wait_recs(reader, T_RESULTS, lambda r: r["command_id"] == prov_id)
    check("  ...a ProvisioningResult PROVISIONED, command_id = the task id, keyed by dev",
          res and res[0]["result"] == "PROVISIONED" and res[0]["user"] == DEV
          and res[0]["provisioner"] == PAT and res[0]["message"] == "granted in pg"
          and all(r["key"] == DEV.encode() for r in reader.select(
              T_RESULTS, lambda r: r["rec"] and r["rec"]["command_id"] == prov_id)), res)
    grant = wait_recs(reader, T_COMMANDS, lambda c: c["action"] == "GRANT" and c["user"] == DEV
                      and any(s["id"] == p1 for s in c["sources"]))
    check("GRANT of pgdb/dba held by the request", grant and "%s/%s" % (
        grant[0]["app"], grant[0]["entitlement"]) == ENT, grant)
    c = closed(reader, prov_id)
    check("the PROVISIONING task closes PROVISIONED", c and c["outcome"] == "PROVISIONED", c)
    rc, out = finish(waiter)
    check("request --wait exits 0 with the GRANT", rc == 0 and "GRANT %s" % ENT in out, out)

    # ---- revocation: propose, confirm, REVOKE, deprovisioning task ----
    rv1 = "bb-rv1-%s" % nonce
    rc, out, err = cli.run("revoke", DEV, ENT, "--as", MGR, "--id", rv1, "--justification", "moved")
    check("mgr: shiftkey revoke exits 0", rc == 0 and rv1 in out, out + err)
    rev = open_task(reader, rv1, "REVOCATION")
    check("the proposal opens a REVOCATION task for security", rev and rev["assignees"] == [SEC],
          rev)
    rc, out, _ = cli.run("task", "list", "--assignee", SEC)
    check("task list --assignee sec shows it",
          rc == 0 and rev and re.search(r"^%s +REVOCATION +CREATED" % rev["task_id"], out, re.M),
          out)
    rc, out, err = cli.run("task", "confirm", rv1, "--as", SEC)
    check("sec: task confirm (subject from the tasks topic) exits 0",
          rc == 0 and ("confirm request %s of %s" % (rv1, DEV)) in out, out + err)
    revoke = wait_recs(reader, T_COMMANDS, lambda c: c["action"] == "REVOKE" and c["user"] == DEV)
    check("REVOKE of pgdb/dba", revoke and "%s/%s" % (revoke[0]["app"], revoke[0]["entitlement"])
          == ENT, revoke)
    deprov = wait_recs(reader, T_TASKS, lambda t: t["kind"] == "DEPROVISIONING"
                       and t["subject"] == DEV)
    d = deprov[0] if deprov else None
    check("a DEPROVISIONING task for pat", d and d["assignees"] == [PAT], d)
    if d:
        rc, out, err = cli.run("task", "deprovisioned", d["task_id"], "--as", PAT)
        check("pat: task deprovisioned TASK_ID exits 0", rc == 0, out + err)
        c = closed(reader, d["task_id"])
        check("  ...the DEPROVISIONING task closes", c is not None, c)
    c = closed(reader, rev["task_id"]) if rev else None
    check("the REVOCATION task closes CONFIRMED", c and c["outcome"] == "CONFIRMED", c)

    # ---- a second proposal, rejected ----
    rv2 = "bb-rv2-%s" % nonce
    cli.run("revoke", DEV, ENT, "--as", MGR, "--id", rv2)
    rev2 = open_task(reader, rv2, "REVOCATION")
    rc, out, err = cli.run("task", "reject", rev2["task_id"] if rev2 else rv2, "--as", SEC,
                           "--comment", "keep it")
    check("sec: task reject TASK_ID exits 0", rc == 0 and rev2, out + err)
    c = closed(reader, rev2["task_id"]) if rev2 else None
    check("  ...the REVOCATION task closes DENIED", c and c["outcome"] == "DENIED", c)

    # ---- won't provision ----
    p2 = "bb-p2-%s" % nonce
    waiter = cli.start("request", ENT, "--duration", "30m", "--as", DEV, "--id", p2,
                       "--wait", "40")
    base.procs["waiter"] = waiter
    open_task(reader, p2, "REQUEST_REVIEW")
    cli.run("task", "approve", p2, "--as", MGR)
    prov2 = open_task(reader, p2, "PROVISIONING")
    rc, out, err = cli.run("task", "wont-provision", prov2["task_id"] if prov2 else p2,
                           "--as", PAT, "--comment", "no ticket")
    check("pat: task wont-provision --comment exits 0", rc == 0 and prov2, out + err)
    c = closed(reader, prov2["task_id"]) if prov2 else None
    check("  ...the PROVISIONING task closes WONT_PROVISION", c and c["outcome"] == "WONT_PROVISION",
          c)
    rc, out = finish(waiter)
    check("  ...request --wait exits 1", rc == 1, out)
    time.sleep(0.5)
    check("  ...and no GRANT held by that request", not base.recs(
        reader, T_COMMANDS, lambda c: any(s["id"] == p2 for s in c["sources"])))
    log = base.read_text(engine_log)
    check("shiftkeyd's stderr has no sanitizer report",
          "AddressSanitizer" not in log and "runtime error:" not in log)
    return True


if __name__ == "__main__":
    sys.exit(base.main(scenario))
