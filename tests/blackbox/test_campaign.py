#!/usr/bin/python3
"""Black-box test of access review campaigns (issue 17) through the CLI.

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_campaign.py

A private redis-server, librdkafka's mock cluster as its own process
(tests/chaos/mock_broker, so shiftkeyd can be SIGKILLed and started again
without losing the topics), shiftkeyd on tests/blackbox/rules/campaign plus
a campaigns.yaml written here, signed rules (every person's key made with
`shiftkey keygen`), and a confluent_kafka + python-avro reader of the
commands, tasks and audit topics. vault/admin is provisioned by hand (pat).

  - bob, carl and ann hold vault/admin (request, `task provisioned`);
  - `shiftkey campaign start c-revoke --as olga` (end action revoke, app
    owner ann reviews): one ACCESS_REVIEW task per holder; ann's own goes to
    the owner olga;
  - ann certifies bob's (`task certify --reason`), revokes carl's (`task
    revoke --reason` -> REVOKE and a DEPROVISIONING task for pat); ann's
    certification of her own access is refused (audit: self-review);
  - shiftkeyd is SIGKILLed and started again mid-campaign, then Redis is
    flushed (restored from the changelog): the items are in Redis
    (redis-cli) and nothing is lost or taken twice;
  - at the due time ann's item, still open, is revoked (REVOKE, task
    REVOKED by the end action); bob's stays certified (no REVOKE);
  - c-leave over vault/read (recurring by the rules' schedule, end action
    leave): the run that started before bob, dave and gus got vault/read
    has no item (the snapshot is frozen at the start), the next run starts
    by itself with their grants; hal certifies gus's with the bulk form
    (`task certify --campaign`), the others are left open and closed LEFT
    at its end;
  - `campaign report` of each: the CSV rows read with Python's csv and the
    printed SHA-256 checked with hashlib; `campaign list` and `show`.
"""

import csv
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sksign  # noqa: E402
import test_cli_requests as base  # noqa: E402 (puts tests/lib on the path)
import skproc  # noqa: E402,I100
from test_cli_requests import check  # noqa: E402
from test_engine_blackbox import Reader, free_port, read_text, wait_until  # noqa: E402

BROKER = os.path.join("build", "test", "bin", "chaos", "mock_broker")
RULES = os.path.join("tests", "blackbox", "rules", "campaign")
PARTITIONS = 4
T_COMMANDS, T_TASKS, T_AUDIT = "shiftkey.commands.v1", "shiftkey.tasks.v1", "shiftkey.audit.v1"
ANN, BOB, CARL, DAVE = "ann@example.com", "bob@example.com", "carl@example.com", "dave@example.com"
GUS, HAL = "gus@example.com", "hal@example.com"
PAT, OLGA = "pat@example.com", "olga@example.com"
ENT = "vault/admin"
REVOKE_DUE_S = 40  # c-revoke: due this long after `campaign start`
LEAVE_EVERY_S, LEAVE_DUE_S = 40, 20  # c-leave: a run every 40 s, due 20 s after its start

CAMPAIGNS = """# written by tests/blackbox/test_campaign.py
campaigns:
  - id: c-revoke
    owners: [olga@example.com]
    scope:
      entitlements: [vault/admin]
      grants: [manual]
    reviewers:
      app_owner: true
    start: 2099-01-01T00:00:00Z      # started by its owner (campaign start)
    due_after: %ds
    end_action: revoke
    slack_channel: "#vault-review"
  - id: c-leave
    owners: [olga@example.com]
    scope:
      entitlements: [vault/read]
      grants: [requests]
    reviewers:
      manager: true
    start: %s
    due_after: %ds
    every: %ds
    end_action: leave
"""


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def recs(reader, topic, pred):
    return [r["rec"] for r in reader.select(topic, lambda r: r["rec"] is not None and pred(r["rec"]))]


def wait_recs(reader, topic, pred, n=1, timeout=20):
    wait_until(lambda: len(recs(reader, topic, pred)) >= n, time.time() + timeout, 0.05)
    return recs(reader, topic, pred)


def reviews(reader, campaign, pred=lambda t: True):
    return recs(reader, T_TASKS, lambda t: t["kind"] == "ACCESS_REVIEW"
                and t["request_id"].startswith(campaign + "@") and pred(t))


class Engine:
    def __init__(self, argv, log, env):
        self.argv, self.log, self.env, self.proc = argv, log, env, None

    def start(self):
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=err,
                                         env=self.env)

    def assigned(self, since):
        text = read_text(self.log)[since:]
        return len(set(re.findall(r"assigned shiftkey\.requests\.v1\[(\d+)\]", text))) == PARTITIONS


def scenario(tmp, engine_log):
    """run(), then the broker stopped (base.main stops the rest)."""
    try:
        return run(tmp, engine_log)
    finally:
        b = base.procs.pop("broker", None)
        if b is not None and b.poll() is None:
            b.kill()
            b.wait(5)


def run(tmp, engine_log):
    port = free_port()
    base.procs["redis"] = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rcli(*args):
        p = subprocess.run(["redis-cli", "-p", str(port)] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=5)
        return p.stdout.decode("utf-8", "replace") if p.returncode == 0 else ""
    if not check("redis-server answers PING",
                 wait_until(lambda: rcli("ping").strip() == "PONG", time.time() + 10, 0.1)):
        return False
    boot = os.path.join(tmp, "bootstrap")
    base.procs["broker"] = subprocess.Popen([BROKER, boot, str(PARTITIONS)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE)
    if not check("mock_broker writes its address",
                 wait_until(lambda: os.path.exists(boot) and read_text(boot).strip(),
                            time.time() + 10, 0.05)):
        return False
    bootstrap = read_text(boot).strip()

    # rules: the static ones plus the campaigns, c-leave's schedule around now
    t_rules = time.time()
    src = os.path.join(tmp, "rules-src")
    shutil.copytree(RULES, src)
    with open(os.path.join(src, "campaigns.yaml"), "w") as f:
        f.write(CAMPAIGNS % (REVOKE_DUE_S, iso(t_rules - 10), LEAVE_DUE_S, LEAVE_EVERY_S))
    key_dir, rules = os.path.join(tmp, "keys"), os.path.join(tmp, "rules")
    sksign.signed_rules(base.SK, src, rules, key_dir, sksign.people_of(src))
    cli = base.Cli(boot)
    cli.env["SHIFTKEY_KEY_DIR"] = key_dir
    rc, out, err = cli.run("rules", "check", rules, kafka=False)
    check("shiftkey rules check accepts the campaigns", rc == 0, out + err)
    rc, out, err = cli.run("campaign", "list", "--rules", rules, kafka=False)
    check("campaign list shows both campaigns and c-leave running",
          rc == 0 and re.search(r"^c-revoke .*end action revoke", out, re.M)
          and re.search(r"^c-leave .*every 40s, end action leave.*running", out, re.M), out + err)

    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    # a short session: the restarted engine gets the partitions back soon
    eng = Engine([base.SHIFTKEYD, "--kafka", bootstrap, "--rules", rules, "--redis",
                  "127.0.0.1:%d" % port, "--group", "bbcamp", "--timer-interval-ms", "100",
                  "--kafka-config", "consumer:session.timeout.ms=6000"],
                 engine_log, env)
    eng.start()
    base.procs["engine"] = eng.proc
    if not check("shiftkeyd is assigned the requests topic",
                 wait_until(lambda: eng.assigned(0) or eng.proc.poll() is not None,
                            time.time() + 30, 0.1) and eng.proc.poll() is None):
        return False
    reader = Reader(bootstrap, [T_COMMANDS, T_TASKS, T_AUDIT])
    base.procs["reader"] = reader
    reader.start()
    if not check("the reader is assigned commands, tasks and audit",
                 wait_until(lambda: len(reader.assigned) == 3 * PARTITIONS, time.time() + 30, 0.1)):
        return False

    # ---- bob and dave hold vault/read; bob, carl and ann vault/admin, given by hand ----
    granted_at = {}
    for who in (BOB, DAVE, GUS):
        rid = "read-" + who.split("@")[0]
        rc, out, err = cli.run("request", "vault/read", "--duration", "1h", "--as", who, "--id", rid)
        g = wait_recs(reader, T_COMMANDS, lambda c: c["action"] == "GRANT" and c["user"] == who)
        check("%s requests vault/read: GRANT" % who, rc == 0 and g, out + err)
        granted_at[who] = time.time()
    for who in (BOB, CARL, ANN):
        rid = "acc-" + who.split("@")[0]
        rc, out, err = cli.run("request", ENT, "--duration", "1h", "--as", who, "--id", rid)
        check("%s requests %s" % (who, ENT), rc == 0, out + err)
        prov = wait_recs(reader, T_TASKS, lambda t: t["request_id"] == rid
                         and t["kind"] == "PROVISIONING")
        rc, out, err = cli.run("task", "provisioned", rid, "--as", PAT)
        check("pat provisions %s's request" % who, rc == 0 and prov, out + err)
        g = wait_recs(reader, T_COMMANDS, lambda c: c["action"] == "GRANT" and c["user"] == who
                      and c["entitlement"] == "admin")
        check("GRANT of %s to %s" % (ENT, who), g, g)

    # ---- c-revoke, started by its owner ----
    rc, out, err = cli.run("campaign", "start", "c-revoke", "--as", ANN, "--redis",
                           "127.0.0.1:%d" % port)
    check("campaign start by ann (not an owner) is sent...", rc == 0, out + err)
    refused = wait_recs(reader, T_AUDIT, lambda a: a["decision"] == "refused"
                        and "not an owner of campaign 'c-revoke'" in a["reason"], n=3)
    check("  ...and refused for each holder (audit)", len(refused) >= 3, refused[:1])
    rc, out, err = cli.run("campaign", "start", "c-revoke", "--as", OLGA, "--redis",
                           "127.0.0.1:%d" % port)
    m = re.search(r"at (\d+): (\d+) user\(s\), 0 failed", out)
    check("olga: campaign start c-revoke sends one event per user with state",
          rc == 0 and m and int(m.group(2)) >= 3, out + err)
    started = wait_recs(reader, T_TASKS, lambda t: t["kind"] == "ACCESS_REVIEW"
                        and t["request_id"].startswith("c-revoke@") and t["state"] == "CREATED",
                        n=3)
    by = {t["subject"]: t for t in started}
    check("one ACCESS_REVIEW task per holder of vault/admin, request_id c-revoke@<start>",
          sorted(by) == sorted([ANN, BOB, CARL]) and len(started) == 3
          and all(t["target"] == ENT for t in started), started)
    check("bob's and carl's reviewed by the app owner ann; ann's own by the owner olga",
          by.get(BOB, {}).get("assignees") == [ANN] and by.get(CARL, {}).get("assignees") == [ANN]
          and by.get(ANN, {}).get("assignees") == [OLGA], started)
    rc, out, _ = cli.run("task", "list", "--assignee", ANN)
    check("task list --assignee ann shows the two reviews",
          rc == 0 and all(by.get(u, {}).get("task_id", "?") in out for u in (BOB, CARL))
          and "ACCESS_REVIEW" in out, out)
    tid = {u: by.get(u, {}).get("task_id", "rv-none") for u in (ANN, BOB, CARL)}

    rc, out, err = cli.run("task", "certify", tid[BOB], "--as", ANN)
    check("task certify without --reason is a usage error", rc == 2 and "--comment" in err, err)
    rc, out, err = cli.run("task", "certify", tid[BOB], "--as", ANN, "--reason",
                           "on the payroll rota, still needed")
    check("ann: task certify bob's review exits 0", rc == 0, out + err)
    c = wait_recs(reader, T_TASKS, lambda t: t["task_id"] == tid[BOB] and t["state"] == "CLOSED")
    check("  ...closed CERTIFIED by ann", c and c[0]["outcome"] == "CERTIFIED"
          and c[0]["actor"] == ANN, c)
    rc, out, err = cli.run("task", "revoke", tid[CARL], "--as", ANN, "--reason", "left the team")
    check("ann: task revoke carl's review exits 0", rc == 0, out + err)
    c = wait_recs(reader, T_TASKS, lambda t: t["task_id"] == tid[CARL] and t["state"] == "CLOSED")
    check("  ...closed REVOKED by ann", c and c[0]["outcome"] == "REVOKED" and c[0]["actor"] == ANN,
          c)
    rv = wait_recs(reader, T_COMMANDS, lambda r: r["action"] == "REVOKE" and r["user"] == CARL)
    check("  ...REVOKE of vault/admin to carl", rv and rv[0]["entitlement"] == "admin", rv)
    dp = wait_recs(reader, T_TASKS, lambda t: t["kind"] == "DEPROVISIONING" and t["subject"] == CARL)
    check("  ...and a DEPROVISIONING task for pat", dp and dp[0]["assignees"] == [PAT], dp)
    rc, out, err = cli.run("task", "certify", tid[ANN], "--as", ANN, "--reason", "mine")
    check("ann certifying her own access is sent...", rc == 0, out + err)
    a = wait_recs(reader, T_AUDIT, lambda a: a["decision"] == "refused" and a["user"] == ANN
                  and "self-review" in a["reason"])
    check("  ...and refused: self-review (audit)", a, a)

    # ---- the engine restarted mid-campaign ----
    def ann_item():
        fields = skproc.redis_user_state(port, ANN) or {}
        return [f for f, v in fields.items()
                if re.match(r"^c:c-revoke \d+ vault/admin$", f) and v.startswith("OPEN ")]
    check("ann's review item is in Redis (redis-cli: c:c-revoke ... vault/admin OPEN)",
          ann_item(), skproc.redis_user_state(port, ANN))
    eng.proc.send_signal(signal.SIGKILL)
    eng.proc.wait(5)
    mark = len(read_text(engine_log))
    eng.start()
    base.procs["engine"] = eng.proc
    check("shiftkeyd started again is assigned every partition",
          wait_until(lambda: eng.assigned(mark), time.time() + 60, 0.1), read_text(engine_log)[-500:])

    # ---- Redis loses everything mid-campaign: restored from the changelog ----
    mark = len(read_text(engine_log))
    rcli("flushall")
    check("after FLUSHALL the engine restores its partitions from shiftkey.changelog.v1",
          wait_until(lambda: "restored from shiftkey.changelog.v1" in read_text(engine_log)[mark:],
                     time.time() + 30, 0.1), read_text(engine_log)[mark:][-500:])
    check("  ...ann's open review item with it (redis-cli)",
          wait_until(ann_item, time.time() + 30, 0.2))

    # ---- the due time: ann's open item revoked, bob's certified one kept ----
    start_ms = int(by[BOB]["request_id"].split("@")[1]) if BOB in by else 0
    left = start_ms / 1000.0 + REVOKE_DUE_S - time.time()
    end = wait_recs(reader, T_TASKS, lambda t: t["task_id"] == tid[ANN] and t["state"] == "CLOSED",
                    timeout=max(left, 0) + 20)
    check("at the due time ann's open review closes REVOKED by the end action (no actor)",
          end and end[0]["outcome"] == "REVOKED" and end[0]["actor"] == "", end)
    rv = wait_recs(reader, T_COMMANDS, lambda r: r["action"] == "REVOKE" and r["user"] == ANN)
    check("  ...REVOKE of vault/admin to ann", rv, rv)
    time.sleep(1.0)
    check("bob's certified access stays: no REVOKE to bob",
          not recs(reader, T_COMMANDS, lambda r: r["action"] == "REVOKE" and r["user"] == BOB))
    check("only holders of vault/admin have c-revoke items (dave's vault/read is not in scope)",
          sorted({t["subject"] for t in reviews(reader, "c-revoke")}) == sorted([ANN, BOB, CARL]))
    check("nothing lost or taken twice across the restart: 3 CREATED, one CLOSED each",
          len(reviews(reader, "c-revoke", lambda t: t["state"] == "CREATED")) == 3
          and all(len(reviews(reader, "c-revoke", lambda t, u=u: t["subject"] == u
                              and t["state"] == "CLOSED")) == 1 for u in (ANN, BOB, CARL)),
          reviews(reader, "c-revoke"))

    # ---- c-leave: a run before the grants had none; the next one starts by itself ----
    def fresh_run():
        """The latest c-leave run with gus's item and time left to act on it."""
        runs = {t["request_id"] for t in reviews(reader, "c-leave", lambda t: t["subject"] == GUS
                                                 and t["state"] == "CREATED")}
        ok = [r for r in runs if int(r.split("@")[1]) / 1000.0 + LEAVE_DUE_S - 8 > time.time()]
        return max(ok) if ok else None
    run_id = wait_until(fresh_run, time.time() + LEAVE_EVERY_S + 30, 0.1) or "c-leave@0"
    run_ms = int(run_id.split("@")[1])
    lead = int((t_rules - 10) * 1000) // 1000 * 1000
    check("a c-leave run with their vault/read started by the schedule after the GRANTs",
          run_ms and (run_ms - lead) % (LEAVE_EVERY_S * 1000) == 0
          and run_ms >= granted_at[GUS] * 1000 - 1000, (run_id, granted_at))
    earlier = reviews(reader, "c-leave", lambda t: int(t["request_id"].split("@")[1]) <
                      granted_at[BOB] * 1000 - 1000)
    check("  ...the runs that started before the GRANTs had no item (a snapshot is frozen at "
          "its start)", not earlier, earlier)
    created = reviews(reader, "c-leave", lambda t: t["request_id"] == run_id
                      and t["state"] == "CREATED")
    mgr = {t["subject"]: t["assignees"] for t in created}
    check("  ...items of the holders of vault/read, each reviewed by their manager",
          mgr == {BOB: ["mia@example.com"], DAVE: ["mia@example.com"], GUS: [HAL]}, created)
    rc, out, err = cli.run("task", "certify", "--campaign", "c-leave", "--as", HAL, "--reason",
                           "bulk: my team still needs it")
    check("hal: task certify --campaign c-leave (the bulk form) sends his one open review",
          rc == 0 and out.count(": sent") == 1 and "of %s as %s" % (GUS, HAL) in out, out + err)
    g = wait_recs(reader, T_TASKS, lambda t: t["request_id"] == run_id and t["subject"] == GUS
                  and t["state"] == "CLOSED")
    check("  ...gus's review closes CERTIFIED by hal", g and g[0]["outcome"] == "CERTIFIED"
          and g[0]["actor"] == HAL, g)
    rc, out, err = cli.run("task", "certify", "--campaign", "c-leave", "--as", HAL, "--reason",
                           "again")
    check("  ...again: nothing open is assigned to hal any more (exit 0, nothing sent)",
          rc == 0 and "no open review of campaign c-leave is assigned to " + HAL in out, out + err)
    closed = wait_recs(reader, T_TASKS, lambda t: t["request_id"] == run_id
                       and t["subject"] in (BOB, DAVE) and t["state"] == "CLOSED", n=2,
                       timeout=LEAVE_DUE_S + 20)
    check("  ...bob's and dave's left open, closed LEFT at its end (end action leave)",
          len(closed) == 2 and all(t["outcome"] == "LEFT" for t in closed), closed)
    check("  ...and no REVOKE to bob, dave or gus", not recs(
        reader, T_COMMANDS, lambda r: r["action"] == "REVOKE" and r["user"] in (BOB, DAVE, GUS)))

    # ---- reports ----
    out_csv = os.path.join(tmp, "c-revoke.csv")
    rc, out, err = cli.run("campaign", "report", "c-revoke", "--out", out_csv)
    check("campaign report c-revoke exits 0", rc == 0, out + err)
    rows = []
    if os.path.exists(out_csv):
        with open(out_csv, "rb") as f:
            data = f.read()
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
        m = re.search(r"^sha256 ([0-9a-f]{64})  (.*)$", out, re.M)
        check("  ...prints the file's SHA-256 (hashlib agrees)",
              m and m.group(1) == hashlib.sha256(data).hexdigest() and m.group(2) == out_csv, out)
    got = {r["holder"]: r for r in rows}
    check("  ...one row per item, header as documented",
          len(rows) == 3 and list(rows[0].keys()) == ["campaign", "run_start", "holder",
                                                      "entitlement", "decision", "reviewer",
                                                      "decided_at", "reason"], rows)
    check("  ...bob: certified by ann, with her reason",
          got.get(BOB, {}).get("decision") == "certified" and got[BOB]["reviewer"] == ANN
          and got[BOB]["reason"] == "on the payroll rota, still needed", got.get(BOB))
    check("  ...carl: revoked by ann, 'left the team'",
          got.get(CARL, {}).get("decision") == "revoked" and got[CARL]["reviewer"] == ANN
          and got[CARL]["reason"] == "left the team", got.get(CARL))
    check("  ...ann: revoked at the end, by the end action",
          got.get(ANN, {}).get("decision") == "revoked_at_end"
          and got[ANN]["reviewer"] == "(end action)" and got[ANN]["entitlement"] == ENT,
          got.get(ANN))
    leave_csv = os.path.join(tmp, "c-leave.csv")
    rc, out, err = cli.run("campaign", "report", "c-leave", "--run", str(run_ms), "--out",
                           leave_csv)
    lrows = []
    if rc == 0 and os.path.exists(leave_csv):
        with open(leave_csv, newline="") as f:
            lrows = list(csv.DictReader(f))
    check("campaign report c-leave --run: bob and dave left, gus certified by hal",
          rc == 0 and sorted((r["holder"], r["decision"], r["reviewer"]) for r in lrows)
          == sorted([(BOB, "left", "(end action)"), (DAVE, "left", "(end action)"),
                     (GUS, "certified", HAL)]), out + err)
    rc, out, err = cli.run("campaign", "show", "c-revoke", "--rules", rules)
    check("campaign show c-revoke: owners, scope, channel and the run's items",
          rc == 0 and "owners: " + OLGA in out and "slack channel: #vault-review" in out
          and re.search(r"bob@example.com +vault/admin +certified +ann@example.com", out),
          out + err)
    log = read_text(engine_log)
    check("shiftkeyd's stderr has no sanitizer report",
          "AddressSanitizer" not in log and "runtime error:" not in log)
    return True


if __name__ == "__main__":
    sys.exit(base.main(scenario))
