#!/usr/bin/python3
"""Black-box test of the access-request CLI as a person uses it.

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_cli_requests.py

It starts a private redis-server and build/test/bin/shiftkeyd (or
$SK_SHIFTKEYD) with its embedded broker and rules/examples, then drives
everything through build/test/bin/shiftkey (or $SK_CLI) and checks the
results with clients nobody on the team wrote: python3-confluent-kafka and
python3-avro (skwire.py) on the topics, redis-cli on the state,
`python3 -m json.tool` on the JSON output.

  - a full cycle: dave requests kubernetes-prod/edit for a few seconds
    (--wait), `task list` shows the open review task (table and -o json,
    --assignee / --user filters, `watch tasks -o json`), frank approves with `task approve REQUEST`
    (subject read from the tasks topic), --wait exits 0 and prints the
    GRANT, the GRANT on the commands topic is held by the request and ends
    by a REVOKE from the timer at its expiry; the task is then no longer
    listed as open, `task list --all` and `task show` show it approved;
  - bulk: one `task approve` of two ids (a request id and a task id) makes
    two APPROVED events and two GRANTs; a bulk action with an unknown id
    exits 1 but sends the others;
  - the wire format of every other action (reassign --to, change-policy
    --policy, duration --duration, escalate alias, revoke, confirm, reject,
    provisioned, wont-provision, deprovisioned), read back with
    confluent_kafka + python-avro;
  - --help of every new command exits 0; usage errors exit 2.

Prints "ok   ..." / "FAIL ..." per check and "N passed, N failed" last.
Takes about 30 s.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sksign  # noqa: E402
import skproc  # noqa: E402
from skproc import Reader, free_port, read_text, tail  # noqa: E402,F401 (free_port: test_operate)
from skproc import wait_deadline as wait_until  # noqa: E402  (absolute deadline)

SK = os.environ.get("SK_CLI", os.path.join("build", "test", "bin", "shiftkey"))
SHIFTKEYD = os.environ.get("SK_SHIFTKEYD", os.path.join("build", "test", "bin", "shiftkeyd"))
RULES = os.path.join("rules", "examples")
PARTITIONS = 4
T_COMMANDS = "shiftkey.commands.v1"
T_TASKS = "shiftkey.tasks.v1"
T_REQUESTS = "shiftkey.requests.v1"
T_RESULTS = "shiftkey.provisioning.results.v1"
DAVE, ERIN, FRANK = "dave@example.com", "erin@example.com", "frank@example.com"
ENT = "kubernetes-prod/edit"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
VERBS = ["approve", "deny", "comment", "cancel", "escalate", "duration", "reassign", "delete",
         "restart", "hard-reset", "change-policy", "skip-step", "process-now", "remind",
         "confirm", "reject", "provisioned", "wont-provision", "deprovisioned", "list", "show"]

passed = 0
failed = 0
procs = {}


def check(name, ok, detail=""):
    """Records one check; returns ok so later checks can depend on it."""
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + str(detail)[:1500]) if detail else ""), flush=True)
    return bool(ok)


def now_ms():
    return int(time.time() * 1000)


class Cli:
    """Runs the shiftkey CLI against one broker."""

    def __init__(self, boot_file):
        self.boot_file = boot_file
        self.env = dict(os.environ)
        self.env["ASAN_OPTIONS"] = "detect_leaks=0"
        self.env.pop("SHIFTKEY_USER", None)
        self.env.pop("SHIFTKEY_KAFKA", None)

    def argv(self, args):
        return [SK] + list(args) + ["--bootstrap-file", self.boot_file]

    def run(self, *args, env=None, kafka=True, timeout=30):
        """(exit status, stdout, stderr) as text."""
        e = dict(self.env)
        e.update(env or {})
        argv = self.argv(args) if kafka else [SK] + list(args)
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout, env=e)
        except subprocess.TimeoutExpired:
            return -1, "", "timed out"
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def start(self, *args):
        return subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=self.env)


def recs(reader, topic, pred):
    return [r["rec"] for r in reader.select(topic, lambda r: r["rec"] is not None and pred(r["rec"]))]


def wait_recs(reader, topic, pred, n=1, timeout=15):
    return wait_until(lambda: len(recs(reader, topic, pred)) >= n and recs(reader, topic, pred),
                      time.time() + timeout, 0.05) or recs(reader, topic, pred)


def json_tool(text):
    """Whether `python3 -m json.tool` accepts text."""
    p = subprocess.run(["/usr/bin/python3", "-m", "json.tool"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode == 0


def check_help_and_usage(cli):
    rc, out, _ = cli.run("task", "--help", kafka=False)
    check("shiftkey task --help exits 0 and lists every action",
          rc == 0 and all(re.search(r"^  %s " % re.escape(v), out, re.M) for v in VERBS), out)
    for v in VERBS:
        rc, out, _ = cli.run("task", v, "--help", kafka=False)
        check("shiftkey task %s --help exits 0 with its usage and exit codes" % v,
              rc == 0 and ("usage: shiftkey task %s" % v) in out and "Exit status" in out, out)
    for cmd in ("revoke", "escalate"):
        rc, out, _ = cli.run(cmd, "--help", kafka=False)
        check("shiftkey %s --help exits 0" % cmd, rc == 0 and "usage:" in out, out)
    rc, out, _ = cli.run("--help", kafka=False)
    check("shiftkey --help names task list, revoke and escalate",
          rc == 0 and "task list" in out and "revoke USER" in out and "escalate ID" in out, out)
    usage_errors = [
        (["task", "reassign", "r1", "--as", FRANK, "--subject", DAVE], "--to"),
        (["task", "approve", "r1", "--as", FRANK, "--to", ERIN], "reassign only"),
        (["task", "change-policy", "r1", "--as", FRANK, "--subject", DAVE], "--policy"),
        (["task", "duration", "r1", "--duration", "soon", "--as", DAVE], "--duration"),
        (["task", "wont-provision", "0" * 32, "--subject", DAVE, "--as", FRANK], "--comment"),
        (["task", "approve", "--as", FRANK], "IDs"),
        (["task", "approve", "r1", "--subject", DAVE], "--as"),
        (["task", "frobnicate", "r1"], "unknown action"),
        (["task", "list", "extra"], "unexpected"),
        (["task", "list", "-o", "yaml"], "table or json"),
        (["task", "show"], "one ID"),
        (["revoke", DAVE, "--as", FRANK], "USER and APP/ENTITLEMENT"),
        (["task", "approve", "r1", "--bogus"], "--help"),
    ]
    rc, _, err = cli.run("task", "list", "--kafka", "127.0.0.1:1", "--timeout", "2", kafka=False)
    check("task list with the broker away exits 1 and says so", rc == 1 and "broker up" in err, err)
    for args, says in usage_errors:
        rc, _, err = cli.run(*args)
        check("usage error exits 2 and says what to do: shiftkey %s" % " ".join(args),
              rc == 2 and says in err, "exit %d, stderr %r" % (rc, err))


class Stack:
    """What start_stack started: the CLI, the reader, redis-cli, the broker."""

    def __init__(self, cli, reader, rcli, bootstrap):
        self.cli, self.reader, self.rcli, self.bootstrap = cli, reader, rcli, bootstrap


def start_stack(tmp, engine_log, rules=RULES, help_checks=None):
    """Starts redis-server, shiftkeyd on `rules` and a confluent_kafka reader
    of the commands, tasks, requests and provisioning results topics (kept
    in procs for main() to stop). help_checks(cli), when given, runs while
    the reader starts. Returns a Stack, or None when setup failed."""
    redis = skproc.Redis(tmp)
    ok = redis.start()
    procs["redis"] = redis.proc
    rcli = redis.cli
    if not check("redis-server answers PING", ok):
        return None
    # signatures on: a copy of the rules declaring a key (made by `shiftkey
    # keygen`) for every person; the CLI holds them all in key_dir, so --as
    # selects whose key signs
    key_dir = os.path.join(tmp, "keys")
    signed = os.path.join(tmp, "rules-signed")
    sksign.signed_rules(SK, rules, signed, key_dir, sksign.people_of(rules))
    rules = signed
    daemon = skproc.Shiftkeyd(tmp, rules, redis.addr, "bbcli", log=engine_log,
                              extra=["--partitions", str(PARTITIONS), "--timer-interval-ms", "100"])
    procs["engine"] = daemon.start()
    if not check("shiftkeyd is assigned the requests topic",
                 daemon.wait_assigned(T_REQUESTS, PARTITIONS, 20)):
        return None
    bootstrap = daemon.bootstrap
    cli = Cli(daemon.boot)
    cli.env["SHIFTKEY_KEY_DIR"] = key_dir

    # metadata refreshed often: the results topic may come later
    reader = Reader(bootstrap, [T_COMMANDS, T_TASKS, T_REQUESTS, T_RESULTS], refresh_ms=500)
    procs["reader"] = reader
    reader.start()
    if help_checks:
        help_checks(cli)
    if not check("confluent_kafka reader is assigned commands, tasks and requests",
                 wait_until(lambda: len([a for a in reader.assigned if a[0] != T_RESULTS])
                            == 3 * PARTITIONS, time.time() + 20, 0.1), reader.errors[:3]):
        return None
    return Stack(cli, reader, rcli, bootstrap)


def scenario(tmp, engine_log):
    nonce = uuid.uuid4().hex[:6]
    st = start_stack(tmp, engine_log, help_checks=check_help_and_usage)
    if not st:
        return False
    cli, reader, rcli = st.cli, st.reader, st.rcli
    rport = rcli.__self__.port  # the stack's skproc.Redis, for redis_user_state

    # ---- the full cycle: request -> task -> approve -> GRANT -> expiry -> REVOKE ----
    r1 = "bb-r1-%s" % nonce
    waiter = cli.start("request", ENT, "--duration", "4s", "--justification", "hotfix",
                       "--as", DAVE, "--id", r1, "--wait", "30")
    procs["waiter"] = waiter
    created = wait_recs(reader, T_TASKS, lambda t: t["request_id"] == r1)
    check("the request opens a REQUEST_REVIEW task on %s (read with confluent_kafka)" % T_TASKS,
          created and created[0]["kind"] == "REQUEST_REVIEW" and created[0]["state"] == "CREATED"
          and FRANK in created[0]["assignees"] and created[0]["subject"] == DAVE, created)
    task1 = created[0]["task_id"] if created else "?"
    rc, out, err = cli.run("task", "list")
    check("task list shows the open task (table: id, kind, state, subject, target, step, "
          "assignees, request)",
          rc == 0 and re.search(r"^%s +REQUEST_REVIEW +CREATED +%s +%s +1 +\S*%s\S* .* %s " %
                                (task1, re.escape(DAVE), re.escape(ENT), re.escape(FRANK), r1),
                                out, re.M), out + err)
    rc, out, err = cli.run("task", "list", "-o", "json")
    ok = rc == 0 and json_tool(out)
    check("task list -o json is accepted by python3 -m json.tool", ok, out + err)
    items = json.loads(out) if ok else []
    mine = [t for t in items if t["task_id"] == task1]
    check("  ...and holds the task with its fields",
          len(mine) == 1 and mine[0]["state"] == "CREATED" and mine[0]["outcome"] is None
          and mine[0]["request_id"] == r1 and mine[0]["subject"] == DAVE
          and mine[0]["target"] == ENT and mine[0]["step"] == 1 and FRANK in mine[0]["assignees"]
          and mine[0]["emergency"] is False and abs(mine[0]["at"] - now_ms()) < 60000, mine)
    rc, out, err = cli.run("watch", "tasks", "--from-beginning", "--count", "1", "--timeout", "15",
                           "-o", "json")
    line = json.loads(out.splitlines()[0]) if rc == 0 and out.strip() else {}
    check("watch tasks -o json prints the task event as a JSON line",
          line.get("task_id") == task1 and line.get("state") == "CREATED", out + err)
    rc, _, err = cli.run("task", "provisioned", task1, "--as", "alice@example.com")
    check("task provisioned of a review task exits 1 and says what to use",
          rc == 1 and "REQUEST_REVIEW task" in err and "approve" in err, err)
    rc, out, _ = cli.run("task", "list", "--assignee", FRANK)
    check("task list --assignee frank shows it", rc == 0 and task1 in out, out)
    rc, out, _ = cli.run("task", "list", "--user", "bob@example.com")
    check("task list --user bob does not", rc == 0 and task1 not in out, out)

    t_approve = now_ms()
    rc, out, err = cli.run("task", "approve", r1, "--as", FRANK, "--comment", "ok")
    check("task approve REQUEST_ID without --subject exits 0 (subject from the tasks topic)",
          rc == 0 and ("approve request %s of %s as %s: sent" % (r1, DAVE, FRANK)) in out,
          out + err)
    approved = wait_recs(reader, T_REQUESTS, lambda e: e["request_id"] == r1
                         and e["type"] == "APPROVED")
    check("  ...the APPROVED event on the wire: actor, subject, comment, source cli",
          approved and approved[0]["actor"] == FRANK and approved[0]["subject"] == DAVE
          and approved[0]["comment"] == "ok" and approved[0]["source"] == "cli", approved)
    grants = wait_recs(reader, T_COMMANDS, lambda c: c["user"] == DAVE and c["action"] == "GRANT"
                       and any(s["id"] == r1 for s in c["sources"]))
    g = grants[0] if grants else None
    check("GRANT on %s held by the request (kind REQUEST), expiring ~4 s after approval" % T_COMMANDS,
          g and "%s/%s" % (g["app"], g["entitlement"]) == ENT and HEX32.match(g["command_id"])
          and [s["kind"] for s in g["sources"]] == ["REQUEST"]
          and 3000 <= g["expires_at"] - t_approve <= 6000, g)
    try:
        waiter_out = waiter.communicate(timeout=20)[0].decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        waiter.kill()
        waiter_out = waiter.communicate()[0].decode("utf-8", "replace")
    check("request --wait exits 0 and prints the GRANT",
          waiter.returncode == 0 and ("GRANT %s for %s" % (ENT, DAVE)) in waiter_out, waiter_out)
    fields = skproc.redis_user_state(rport, DAVE) or {}
    check("redis-cli: dave's state holds the request and its grant source",
          ("q:%s" % r1) in fields and ("g:%s R %s" % (ENT, r1)) in fields, "%r" % fields)
    closed = wait_recs(reader, T_TASKS, lambda t: t["task_id"] == task1 and t["state"] == "CLOSED")
    check("the task closes APPROVED", closed and closed[0]["outcome"] == "APPROVED", closed)
    rc, out, _ = cli.run("task", "list")
    check("task list no longer shows the closed task", rc == 0 and task1 not in out, out)
    rc, out, _ = cli.run("task", "list", "--all", "-o", "json")
    items = json.loads(out) if rc == 0 and json_tool(out) else []
    check("task list --all -o json shows it CLOSED / APPROVED",
          any(t["task_id"] == task1 and t["state"] == "CLOSED" and t["outcome"] == "APPROVED"
              for t in items), out)
    rc, out, _ = cli.run("task", "show", task1, "-o", "json")
    hist = json.loads(out) if rc == 0 and json_tool(out) else []
    check("task show TASK_ID -o json: its events in order (CREATED, then CLOSED)",
          [h["state"] for h in hist] == ["CREATED", "CLOSED"], out)
    rc, out, _ = cli.run("task", "show", r1)
    check("task show REQUEST_ID (table) exits 0 with both events",
          rc == 0 and len(re.findall(task1, out)) == 2, out)
    rc, _, err = cli.run("task", "show", "no-such-%s" % nonce)
    check("task show of an unknown id exits 1 and says where to look", rc == 1 and "--all" in err, err)

    revokes = wait_recs(reader, T_COMMANDS, lambda c: c["user"] == DAVE and c["action"] == "REVOKE",
                        timeout=15)
    rv = revokes[0] if revokes else None
    seen_ms = [r["at"] * 1000 for r in reader.select(T_COMMANDS, lambda r: r["rec"] == rv)]
    check("REVOKE by the timer once the 4 s are over (no earlier, within expiry + 2 s)",
          g and rv and seen_ms and "%s/%s" % (rv["app"], rv["entitlement"]) == ENT
          and "expired" in rv["reason"]
          and g["expires_at"] - 100 <= seen_ms[0] <= g["expires_at"] + 2000,
          "%s seen at %s" % (rv, seen_ms))
    fields = skproc.redis_user_state(rport, DAVE) or {}
    check("redis-cli: the grant source is gone from dave's state",
          not [f for f in fields if f.startswith("g:%s" % ENT)], fields)

    # ---- bulk approve: a request id and a task id in one command ----
    r2, r3 = "bb-r2-%s" % nonce, "bb-r3-%s" % nonce
    for rid, who in ((r2, ERIN), (r3, FRANK)):
        rc, out, err = cli.run("request", ENT, "--duration", "1h", "--as", who, "--id", rid)
        check("request %s by %s exits 0" % (rid, who), rc == 0, out + err)
    t3 = wait_recs(reader, T_TASKS, lambda t: t["request_id"] == r3)
    wait_recs(reader, T_TASKS, lambda t: t["request_id"] == r2)
    task3 = t3[0]["task_id"] if t3 else "?"
    rc, out, err = cli.run("task", "approve", r2, task3, "--as", DAVE)
    check("bulk: task approve REQUEST_ID TASK_ID exits 0 with one line each",
          rc == 0 and len(out.strip().splitlines()) == 2
          and ("request %s (task %s) of %s" % (r3, task3, FRANK)) in out, out + err)
    both = wait_recs(reader, T_COMMANDS, lambda c: c["action"] == "GRANT" and any(
        s["id"] in (r2, r3) for s in c["sources"]), n=2)
    check("  ...two GRANTs, held by each request", sorted(c["user"] for c in both) == [ERIN, FRANK],
          both)
    rc, out, err = cli.run("task", "comment", r2, "no-such-%s" % nonce, "--as", DAVE,
                           "--comment", "bulk with a bad id")
    check("bulk with an unknown id (no --subject): exit 1, says --subject",
          rc == 1 and "--subject" in err and ("comment request %s" % r2) in out, out + err)
    check("  ...and the good id is still sent", wait_recs(
        reader, T_REQUESTS, lambda e: e["request_id"] == r2 and e["type"] == "COMMENTED"
        and e["comment"] == "bulk with a bad id"))

    # ---- the wire format of the other actions (the engine's answers are h1/h2's) ----
    w = "bb-w-%s" % nonce
    subj = "bb-nobody-%s@example.com" % nonce
    # the requester's own actions are signed with the requester's key (the
    # engine refuses them: nobody is not a signer of the rules)
    sksign.keygen(SK, cli.env["SHIFTKEY_KEY_DIR"], subj)
    hexid = uuid.uuid4().hex
    actions = [
        (["task", "reassign", w, "--subject", subj, "--as", FRANK, "--to", ERIN],
         lambda e: e["type"] == "REASSIGNED" and e["assignee"] == ERIN),
        (["task", "change-policy", w, "--subject", subj, "--as", FRANK, "--policy", "two-step"],
         lambda e: e["type"] == "POLICY_CHANGED" and e["policy"] == "two-step"),
        (["task", "duration", w, "--subject", subj, "--as", FRANK, "--duration", "2h"],
         lambda e: e["type"] == "DURATION_CHANGED" and e["duration_ms"] == 7200000),
        (["escalate", w, "--subject", subj, "--as", subj],
         lambda e: e["type"] == "ESCALATED" and e["emergency"] is True and e["actor"] == subj),
        (["task", "cancel", w, "--as", subj],
         lambda e: e["type"] == "CANCELLED" and e["subject"] == subj),
        (["task", "delete", w, "--subject", subj, "--as", FRANK], lambda e: e["type"] == "DELETED"),
        (["task", "restart", w, "--subject", subj, "--as", FRANK],
         lambda e: e["type"] == "RESTARTED"),
        (["task", "hard-reset", w, "--subject", subj, "--as", FRANK],
         lambda e: e["type"] == "HARD_RESET"),
        (["task", "skip-step", w, "--subject", subj, "--as", FRANK],
         lambda e: e["type"] == "STEP_SKIPPED"),
        (["task", "process-now", w, "--subject", subj, "--as", FRANK],
         lambda e: e["type"] == "PROCESS_NOW"),
        (["task", "remind", w, "--subject", subj, "--as", FRANK],
         lambda e: e["type"] == "REMINDER_SENT"),
        (["revoke", subj, ENT, "--as", FRANK, "--id", w + "-rev", "--justification", "left"],
         lambda e: e["type"] == "REVOCATION_PROPOSED" and e["request_id"] == w + "-rev"
         and e["target"] == ENT and e["target_kind"] == "ENTITLEMENT"
         and e["justification"] == "left" and e["actor"] == FRANK),
        (["task", "confirm", w + "-rev", "--subject", subj, "--as", "alice@example.com"],
         lambda e: e["type"] == "REVOCATION_CONFIRMED" and e["request_id"] == w + "-rev"),
        (["task", "reject", w + "-rev", "--subject", subj, "--as", "alice@example.com"],
         lambda e: e["type"] == "REVOCATION_DENIED"),
    ]
    for args, pred in actions:
        rc, out, err = cli.run(*args)
        got = rc == 0 and wait_recs(reader, T_REQUESTS, lambda e: e["subject"] == subj and pred(e),
                                    timeout=10)
        keyed = got and all(r["key"] == subj.encode() for r in reader.select(
            T_REQUESTS, lambda r: r["rec"] is not None and r["rec"]["subject"] == subj))
        check("shiftkey %s: exit 0, the event on %s keyed by the subject" %
              (" ".join(a for a in args[:2]), T_REQUESTS), got and keyed, out + err)
    rc, out, err = cli.run("task", "comment", w, "--subject", subj, env={"SHIFTKEY_USER": ERIN})
    check("$SHIFTKEY_USER is the actor when --as is absent", rc == 0 and wait_recs(
        reader, T_REQUESTS, lambda e: e["type"] == "COMMENTED" and e["request_id"] == w
        and e["actor"] == ERIN), out + err)
    results = [("provisioned", "PROVISIONED", []), ("deprovisioned", "DEPROVISIONED", []),
               ("wont-provision", "WONT_PROVISION", ["--comment", "no ticket"])]
    for verb, status, extra in results:
        rc, out, err = cli.run("task", verb, hexid, "--subject", subj, "--as", "alice@example.com",
                               *extra)
        got = rc == 0 and wait_recs(reader, T_RESULTS, lambda p: p["result"] == status
                                    and p["command_id"] == hexid, timeout=10)
        p = got[0] if got else None
        check("task %s: a ProvisioningResult %s on %s (command_id = task id, provisioner = "
              "actor, user = subject)" % (verb, status, T_RESULTS),
              p and p["provisioner"] == "alice@example.com" and p["user"] == subj
              and p["retryable"] is False and p["message"] == (extra[1] if extra else ""),
              "%s %s %s" % (got, out, err))
    rc, _, err = cli.run("task", "provisioned", "not-a-task-%s" % nonce, "--subject", subj,
                         "--as", "alice@example.com")
    check("task provisioned of something that is not a task id exits 1, says so",
          rc == 1 and "not a task id" in err, err)
    dead = read_text(engine_log)
    check("shiftkeyd's stderr has no sanitizer report",
          "AddressSanitizer" not in dead and "runtime error:" not in dead)
    return True


def main(scenario_fn=None):
    """Runs scenario_fn(tmp, engine_log) (default: this file's scenario),
    stops what it started, prints the counts; the exit status."""
    global failed
    tmp = tempfile.mkdtemp(prefix="sk-bbcli-")
    engine_log = os.path.join(tmp, "shiftkeyd.stderr")
    t0 = time.time()
    try:
        ok = (scenario_fn or scenario)(tmp, engine_log)
    except Exception as e:
        failed += 1
        ok = False
        print("FAIL test aborted: %s: %s" % (type(e).__name__, e), flush=True)
    finally:
        reader = procs.pop("reader", None)
        if reader is not None:
            reader.stop.set()
            reader.join(5)
        for k in ("waiter", "engine", "redis"):
            p = procs.get(k)
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(5)
    if not ok or failed:
        print("--- last lines of shiftkeyd's stderr:\n%s\n---" % tail(engine_log))
    shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
