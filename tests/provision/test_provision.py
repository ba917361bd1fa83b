#!/usr/bin/python3
"""Black-box tests of shiftkey-provision (issue 14) against real servers.

PostgreSQL (initdb + pg_ctl from Debian's postgresql), OpenLDAP's slapd, a
webhook receiver (Python http.server checking the HMAC) and a program
(exec target) are started on free loopback ports in a temporary folder,
with shiftkeyd's embedded broker and a private redis-server. Shifts are
played with the CLI; the effect is checked with psql and ldapsearch, the
results with confluent_kafka + skwire. Every provisioner signs its results
with a key made by `shiftkey keygen` and declared in the test rules'
signers (issue 11), and produces them with the murmur2 partitioner the
engine checks. Issue 17: a role membership added by hand is published as a
signed FOUND result, recorded once by the engine (`shiftkey grants`), comes
into the access review campaign found-pg (started by its owner olga), whose
revoke by the reviewer dba sends REVOKE and takes bob out of the role;
added again and removed by `reconcile = remove`, it is reported
DEPROVISIONED and dropped by the engine. Ends with "N passed, N failed".
"""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provfx  # noqa: E402
from provfx import T_COMMANDS, T_RESULTS, wait_until  # noqa: E402

os.chdir(provfx.ROOT)
RULES = os.path.join("tests", "provision", "rules")
GROUP = "cn=oncall,ou=groups,dc=example,dc=com"
SECRET = "whsec-" + uuid.uuid4().hex

passed = 0
failed = 0


def readyz(port):
    """(status, body) of the provisioner's /readyz."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + str(detail)[-3000:]) if detail else ""), flush=True)
    return bool(ok)


# ---- the webhook receiver ----

class Hook:
    requests = []  # (headers, body, signature ok)
    fail_next = 0  # answer 503 this many times
    lock = threading.Lock()


class HookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-Shiftkey-Timestamp", "")
        want = "v1=" + hmac.new(SECRET.encode(), b"v1:" + ts.encode() + b":" + body,
                                hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers.get("X-Shiftkey-Signature", "")) and \
            abs(time.time() - int(ts or 0)) < 300
        doc = json.loads(body)
        with Hook.lock:
            Hook.requests.append((dict(self.headers), doc, ok))
            fail = Hook.fail_next > 0
            Hook.fail_next -= 1 if fail else 0
        status = 503 if fail else (200 if ok else 401)
        reply = b'{"message": "done by the test receiver"}'
        if doc["user"].startswith("frank"):  # the receiver's own verdict
            reply = b'{"result": "WONT_PROVISION", "message": "frank has no account here"}'
        if doc["user"].startswith("gus"):  # refused: not retried
            status, reply = 403, b"forbidden"
        self.send_response(status)
        self.end_headers()
        self.wfile.write(reply if status == 200 else b"no" if status != 403 else reply)

    def log_message(self, *a):
        pass


def hook_requests(action, user):
    with Hook.lock:
        return [r for r in Hook.requests if r[1]["action"] == action and r[1]["user"] == user]


# ---- helpers ----

def results(env, cid, status=None):
    return env.reader.select(T_RESULTS, command_id=cid, **({"result": status} if status else {}))


def command(env, user, action, app):
    recs = [r for r in env.reader.select(T_COMMANDS, user=user, action=action, app=app)]
    return recs[-1] if recs else None


def grants(env, user):
    """`shiftkey grants USER` against the engine's Redis: its output lines."""
    r = subprocess.run([provfx.CLI, "grants", user, "--redis", env.redis_addr],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"), timeout=30)
    return r.stdout.decode()


def found_results(env, user, status):
    return [r for r in env.reader.select(T_RESULTS, user=user, result=status)
            if r["rec"].get("entitlement")]


def pg_conf(tmp, pg, name="prov-pg", reconcile="report", role="analyst", port=None,
            pass_file=None, extra_target=""):
    return """# PostgreSQL provisioner of the test
provisioner = {name}
type = postgres
state = {tmp}/{name}.state
signing_key_file = {tmp}/prov-pg.key
reconcile = {reconcile}
reconcile_interval = 2s
reconcile_ignore = skprov; postgres
user_default = localpart

[target]
conninfo = host=127.0.0.1 port={port} dbname=postgres user=skprov
password_file = {pw}
terminate_sessions = yes
{extra}
[entitlements]
pg/analyst = {role}

[users]
bob@example.com = bob
""".format(name=name, tmp=tmp, reconcile=reconcile, port=port or pg.port,
           pw=pass_file or os.path.join(tmp, "pg.pass"), role=role, extra=extra_target)


def ldap_conf(tmp, ldap, group=GROUP, pw_file=None):
    return """provisioner = prov-ldap
type = ldap
state = {tmp}/prov-ldap.state
signing_key_file = {tmp}/prov-ldap.key
reconcile = report
reconcile_interval = 2s
reconcile_ignore = cn=placeholder,dc=example,dc=com
user_default = localpart

[target]
url = {url}
bind_dn = cn=admin,dc=example,dc=com
bind_password_file = {pw}
user_base = ou=people,dc=example,dc=com
user_filter = (&(objectClass=inetOrgPerson)(uid=%s))

[entitlements]
dir/oncall = {group}
""".format(tmp=tmp, url=ldap.url, pw=pw_file or os.path.join(tmp, "ldap.pass"), group=group)


PROVISIONERS = ("prov-pg", "prov-ldap", "prov-hook", "prov-exec")


def setup_rules(tmp):
    """The test rules plus signers.yaml: each provisioner a front signing as
    itself with a key made by `shiftkey keygen` (issue 11)."""
    rules = os.path.join(tmp, "rules")
    shutil.copytree(RULES, rules)
    lines = ["groups:\n  - id: provisioners\nsigners:\n"]
    for name in PROVISIONERS:
        key = os.path.join(tmp, name + ".key")
        r = subprocess.run([provfx.CLI, "keygen", name, "--out", key], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        if r.returncode != 0:
            return None
        lines.append("  - id: %s\n    front: true\n    public_keys: [\"%s\"]\n"
                     "    vouches_for: [group:provisioners]\n" % (name, r.stdout.decode().strip()))
    # issue 17: a campaign over access found by reconciliation, started by its
    # owner olga and reviewed by the app owner dba, each signing with a key of
    # their own (the CLI's --as)
    key_dir = os.path.join(tmp, "keys")
    for person in ("dba", "olga"):
        r = subprocess.run([provfx.CLI, "keygen", person, "--key-dir", key_dir],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        if r.returncode != 0:
            return None
        lines.append("  - id: %s\n    public_keys: [\"%s\"]\n" % (person, r.stdout.decode().strip()))
    with open(os.path.join(rules, "signers.yaml"), "w") as f:
        f.write("".join(lines))
    with open(os.path.join(rules, "found.yaml"), "w") as f:
        f.write(FOUND_CAMPAIGN)
    return rules


FOUND_CAMPAIGN = """# written by tests/provision/test_provision.py (issue 17)
people:
  - id: dba
  - id: olga
campaigns:
  - id: found-pg
    owners: [olga]
    scope:
      apps: [pg]
      grants: [found]
    reviewers:
      app_owner: true
    start: 2099-01-01T00:00:00Z      # started by its owner (campaign start)
    due_after: 1h
    end_action: revoke
"""


def signed_cli(env, tmp, *args):
    """The CLI with the people's keys (SHIFTKEY_KEY_DIR): (status, stdout + stderr)."""
    r = subprocess.run([provfx.CLI] + list(args) + ["--kafka", env.bootstrap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0",
                                SHIFTKEY_KEY_DIR=os.path.join(tmp, "keys")))
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def setup_pg(tmp, pg):
    err = pg.init()
    if err or not pg.start():
        return err or "pg_ctl start failed"
    pg.psql("CREATE ROLE analyst NOLOGIN; CREATE ROLE skprov LOGIN CREATEROLE PASSWORD 'pgsecret';"
            " GRANT pg_signal_backend TO skprov;"
            " CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN;"
            " CREATE ROLE dave LOGIN; CREATE ROLE erin LOGIN;")
    provfx.write_secret(os.path.join(tmp, "pg.pass"), "pgsecret")
    return None


def setup_ldap(tmp, ldap):
    err = ldap.start()
    if err:
        return err
    people = "".join("dn: uid={u},ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\n"
                     "uid: {u}\ncn: {u}\nsn: {u}\n\n".format(u=u)
                     for u in ("alice", "bob", "carol", "dave"))
    r = ldap.add("dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\n"
                 "dc: example\no: Example\n\n"
                 "dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n"
                 "dn: ou=groups,dc=example,dc=com\nobjectClass: organizationalUnit\nou: groups\n\n"
                 + people +
                 "dn: " + GROUP + "\nobjectClass: groupOfNames\ncn: oncall\n"
                 "member: cn=placeholder,dc=example,dc=com\n")
    provfx.write_secret(os.path.join(tmp, "ldap.pass"), "ldapsecret")
    return None if r is True else r


def exec_script(tmp):
    path = os.path.join(tmp, "exec-target.sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "[ -e %s/exec.down ] && { echo 'backend down'; exit 75; }\n"
                "echo \"$SHIFTKEY_COMMAND_ID\" >> %s/exec.starts\n"
                "[ \"$SHIFTKEY_PRINCIPAL\" = slowpoke ] && sleep 4\n"
                "echo \"$SHIFTKEY_ACTION $SHIFTKEY_CAUSE $SHIFTKEY_USER $SHIFTKEY_PRINCIPAL "
                "$SHIFTKEY_ENTITLEMENT $SHIFTKEY_OBJECT $SHIFTKEY_COMMAND_ID $SHIFTKEY_SECRET\" "
                ">> %s/exec.log\necho \"ok: $SHIFTKEY_ACTION\"\n" % (tmp, tmp, tmp))
    os.chmod(path, 0o755)
    return path


def exec_lines(tmp):
    try:
        with open(os.path.join(tmp, "exec.log")) as f:
            return [line.split() for line in f]
    except OSError:
        return []


# ---- the scenarios ----

def bad_configs(tmp, pg, ldap):
    """Bad configuration gives a clear error at start (--check and a real start)."""
    def run(name, text, env=None):
        p = provfx.Provisioner(tmp, name, text, env)
        return p.check()

    rc, err = run("bad-role", pg_conf(tmp, pg, role="analyts"))
    check("postgres: unknown role → exit 1, file:line names it",
          rc == 1 and "bad-role.conf:17: role 'analyts' does not exist on the server" in err, err)
    rc, err = run("bad-port", pg_conf(tmp, pg, port=provfx.free_port()))
    check("postgres: unreachable server → exit 1 with the reason",
          rc == 1 and "bad-port.conf:12: cannot connect to PostgreSQL" in err, err)
    loose = provfx.write_secret(os.path.join(tmp, "loose.pass"), "pgsecret", 0o644)
    rc, err = run("bad-mode", pg_conf(tmp, pg, pass_file=loose))
    check("secret file readable by others is refused",
          rc == 1 and "readable by others (mode 644)" in err, err)
    rc, err = run("bad-key", pg_conf(tmp, pg, extra_target="conninf = x\n"))
    check("unknown key → file:line", rc == 1 and "bad-key.conf:15: unknown key 'conninf' in "
          "[target]" in err, err)
    text = pg_conf(tmp, pg).replace("user=skprov", "user=skprov password=pgsecret")
    rc, err = run("bad-pw", text)
    check("a password inside conninfo is refused", rc == 1 and "conninfo holds a password" in err,
          err)
    rc, err = run("bad-dn", ldap_conf(tmp, ldap, group="notadn"))
    check("ldap: a group that is not a DN → exit 1", rc == 1 and "'notadn' is not a DN" in err, err)
    rc, err = run("no-group", ldap_conf(tmp, ldap, group="cn=nosuch,ou=groups,dc=example,dc=com"))
    check("ldap: a group that does not exist → exit 1",
          rc == 1 and "no-group.conf:18: 'cn=nosuch,ou=groups,dc=example,dc=com': No such "
          "object" in err, err)
    wrong = provfx.write_secret(os.path.join(tmp, "wrong.pass"), "nope")
    rc, err = run("bad-bind", ldap_conf(tmp, ldap, pw_file=wrong))
    check("ldap: wrong bind password → exit 1", rc == 1 and "Invalid credentials" in err, err)
    loose_key = os.path.join(tmp, "loose.key")
    shutil.copy(os.path.join(tmp, "prov-pg.key"), loose_key)
    os.chmod(loose_key, 0o644)
    rc, err = run("bad-sigkey", pg_conf(tmp, pg).replace("prov-pg.key", "loose.key"))
    check("a signing key file others may read is refused (file:line)",
          rc == 1 and "bad-sigkey.conf:5: signing_key_file:" in err, err)
    p = provfx.Provisioner(tmp, "bad-start", pg_conf(tmp, pg, role="analyts"))
    ok = not p.start(os.path.join(tmp, "bootstrap"))
    check("postgres: a real start with a bad role exits 1", ok and p.proc.wait(10) == 1,
          p.text())


def main():
    tmp = provfx.tmpdir()
    env = provfx.Engine(tmp, setup_rules(tmp) or RULES)
    pg = provfx.Postgres(tmp)
    ldap = provfx.Slapd(tmp, "ldapsecret")
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HookHandler)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    provs = []
    try:
        err = setup_pg(tmp, pg)
        if not check("PostgreSQL started (initdb, pg_ctl) in a temporary folder", err is None, err):
            return
        err = setup_ldap(tmp, ldap)
        if not check("slapd started with a generated slapd.conf", err is None, err):
            return
        if not check("shiftkeyd with its embedded broker started", env.start(),
                     open(env.log).read()):
            return
        bad_configs(tmp, pg, ldap)

        boot = env.boot
        p_pg = provfx.Provisioner(tmp, "prov-pg", pg_conf(tmp, pg))
        p_ldap = provfx.Provisioner(tmp, "prov-ldap", ldap_conf(tmp, ldap))
        provfx.write_secret(os.path.join(tmp, "hook.secret"), SECRET)
        p_hook = provfx.Provisioner(tmp, "prov-hook", """provisioner = prov-hook
type = webhook
state = {tmp}/prov-hook.state
signing_key_file = {tmp}/prov-hook.key
[target]
url = http://127.0.0.1:{port}/shiftkey
secret_file = {tmp}/hook.secret
backoff = 200ms
attempts = 3
[entitlements]
hook/deploy = deployers
""".format(tmp=tmp, port=hook.server_address[1]))
        p_exec = provfx.Provisioner(tmp, "prov-exec", """provisioner = prov-exec
type = exec
state = {tmp}/prov-exec.state
signing_key_file = {tmp}/prov-exec.key
user_default = localpart
[target]
command = {script}
timeout = 10s
secret_env = EXEC_SECRET
[entitlements]
sh/run = runners
""".format(tmp=tmp, script=exec_script(tmp)), env={"EXEC_SECRET": "s3cret"})
        provs = [p_pg, p_ldap, p_hook, p_exec]
        mport = provfx.free_port()
        # exec is SIGKILLed below and pg restarted: a short session, so that the
        # next member's group join does not wait for the old one's 45 s default
        short = ("--kafka-config", "consumer:session.timeout.ms=6000")
        started = [p_pg.start(boot, "--metrics", "127.0.0.1:%d" % mport, *short),
                   p_ldap.start(boot), p_hook.start(boot), p_exec.start(boot, *short)]
        if not check("four provisioners started", all(started),
                     "\n".join(p.text() for p in provs)):
            return

        # ---- a shift starts: every target gets the user ----
        Hook.fail_next = 1  # the receiver answers 503 once: the webhook target retries
        r = env.cli("shift", "started", "--user", "alice@example.com", "--rotation",
                    "prov-primary", "--id", "s-alice", "--end", "+30m")
        check("shift started (CLI)", r.returncode == 0, r.stderr)
        gr = {app: wait_until(lambda a=app: command(env, "alice@example.com", "GRANT", a), 20)
              for app in ("pg", "dir", "hook", "sh")}
        check("the engine sent a GRANT per app", all(gr.values()), gr)
        check("psql: alice is a member of analyst while on call",
              wait_until(lambda: "alice" in pg.members("analyst"), 20), pg.members("analyst"))
        alice_dn = "uid=alice,ou=people,dc=example,dc=com"
        check("ldapsearch: alice's DN is a member of the oncall group",
              wait_until(lambda: alice_dn in ldap.members(GROUP), 20), ldap.members(GROUP))
        cid = {a: gr[a]["rec"]["command_id"] for a in gr if gr[a]}
        for app, name in (("pg", "prov-pg"), ("dir", "prov-ldap"), ("hook", "prov-hook"),
                          ("sh", "prov-exec")):
            res = wait_until(lambda a=app: results(env, cid.get(a, "?"), "PROVISIONED"), 20)
            check("%s answers PROVISIONED for the GRANT (command_id, provisioner, key)" % name,
                  res and res[0]["rec"]["provisioner"] == name
                  and res[0]["key"] == "alice@example.com"
                  and res[0]["rec"]["retryable"] is False, res)
        hreq = hook_requests("GRANT", "alice@example.com")
        check("webhook: 503 once, then retried with backoff; every POST signed (HMAC over "
              "timestamp + body)", len(hreq) == 2 and all(h[2] for h in hreq)
              and hreq[0][1]["command_id"] == cid.get("hook")
              and hreq[0][1]["entitlement"] == "deploy" and hreq[0][1]["object"] == "deployers",
              hreq)
        ex = exec_lines(tmp)
        check("exec: the program ran with the command's fields in its environment (secret from "
              "the environment, not argv)",
              ex and ex[0][:6] == ["GRANT", "command", "alice@example.com", "alice", "sh/run",
                                   "runners"] and ex[0][6] == cid.get("sh")
              and ex[0][7] == "s3cret", ex)
        log = p_pg.text()
        check("one log line per applied command",
              "prov-pg: GRANT pg/analyst to alice@example.com (analyst) until" in log
              and "PROVISIONED (command %s" % cid.get("pg") in log, log)

        out = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5).read()
        check("/metrics counts the results (Prometheus text)",
              b'shiftkey_prov_results_total{result="provisioned"} 1' in out
              and b"shiftkey_prov_grants 1" in out, out)
        check("/readyz 200 while the brokers answer", readyz(mport)[0] == 200, readyz(mport))

        res = results(env, cid.get("pg", "?"), "PROVISIONED")
        hdr = dict(res[0]["headers"]) if res else {}
        check("results are signed: an sk-sig header naming the provisioner",
              b"prov-pg" in hdr.get("sk-sig", b""), hdr)
        check("the engine accepted the signed results (no dead letter)",
              "dead letter shiftkey.provisioning.results.v1" not in open(env.log).read(),
              open(env.log).read()[-2000:])

        # ---- the same command twice: applied once ----
        pg.psql("REVOKE analyst FROM alice")  # by hand: a second apply would show
        n_before = len(results(env, cid["pg"]))
        env.produce(T_COMMANDS, "alice@example.com", gr["pg"]["raw"])
        dup = wait_until(lambda: len(results(env, cid["pg"])) > n_before, 20)
        again = results(env, cid["pg"])[-1]["rec"] if dup else {}
        check("the same command delivered twice is applied once (answered again, not re-applied)",
              dup and again.get("result") == "PROVISIONED"
              and "not applied again" in again.get("message", "")
              and "alice" not in pg.members("analyst"), (again, pg.members("analyst")))
        pg.psql("GRANT analyst TO alice")

        # ---- reconciliation reports a membership nobody granted ----
        pg.psql("GRANT analyst TO bob")
        check("reconciliation reports a role membership added by hand",
              wait_until(lambda: "'bob' is a member of analyst but no command granted it"
                         in p_pg.text(), 15), p_pg.text()[-2000:])
        check("report only: bob is still a member", "bob" in pg.members("analyst"))
        # ---- issue 17: the stray comes to the engine as FOUND, recorded once ----
        fr = wait_until(lambda: found_results(env, "bob@example.com", "FOUND"), 15)
        fhdr = dict(fr[0]["headers"]) if fr else {}
        check("the stray is published as a FOUND result (user from [users], entitlement "
              "pg/analyst), signed by prov-pg",
              fr and fr[0]["rec"]["entitlement"] == "pg/analyst"
              and fr[0]["rec"]["provisioner"] == "prov-pg"
              and b"prov-pg" in fhdr.get("sk-sig", b""), fr)
        check("the engine records it as a FOUND grant source (shiftkey grants: no expiry)",
              wait_until(lambda: "FOUND" in grants(env, "bob@example.com"), 20),
              grants(env, "bob@example.com") + open(env.log).read()[-2000:])
        again = wait_until(lambda: len(found_results(env, "bob@example.com", "FOUND")) >= 2
                           and time.sleep(1) is None, 15)
        gl = [x for x in grants(env, "bob@example.com").splitlines() if "pg/analyst" in x]
        check("the next reconciliation run reports it again (same command_id); the engine "
              "keeps one source, granted nothing",
              again and len({r["rec"]["command_id"] for r in
                             found_results(env, "bob@example.com", "FOUND")}) == 1
              and len(gl) == 1 and "no expiry (found outside shiftkey)" in gl[0]
              and "prov-pg" in gl[0] and not command(env, "bob@example.com", "GRANT", "pg"), gl)
        # ---- a campaign over found access: reviewed, revoked, taken away ----
        rc, out = signed_cli(env, tmp, "campaign", "start", "found-pg", "--as", "olga", "--redis",
                             env.redis_addr)
        check("olga: campaign start found-pg (scope grants: [found])", rc == 0, out)
        tid = []

        def review_task():
            rc_, out_ = signed_cli(env, tmp, "task", "list", "--assignee", "dba")
            tid[:] = [w for ln in out_.splitlines() if "ACCESS_REVIEW" in ln
                      and "bob@example.com" in ln for w in ln.split() if w.startswith("rv-")]
            return tid
        check("an ACCESS_REVIEW task of bob's found pg/analyst, assigned to the app owner dba",
              wait_until(review_task, 30), signed_cli(env, tmp, "task", "list")[1])
        rc, out = signed_cli(env, tmp, "task", "revoke", tid[0] if tid else "rv-none", "--as", "dba",
                             "--reason", "nobody granted this")
        check("dba: task revoke of the review exits 0", rc == 0, out)
        rvk = wait_until(lambda: command(env, "bob@example.com", "REVOKE", "pg"), 30)
        check("the revoke sends REVOKE of pg/analyst to bob (no source on the command)",
              rvk and rvk["rec"]["entitlement"] == "analyst" and rvk["rec"]["sources"] == [], rvk)
        check("psql: the provisioner took bob out of analyst",
              wait_until(lambda: "bob" not in pg.members("analyst"), 20), pg.members("analyst"))
        check("DEPROVISIONED for that REVOKE; the engine holds nothing for bob any more",
              rvk and wait_until(lambda: results(env, rvk["rec"]["command_id"], "DEPROVISIONED"), 20)
              # the engine drops the source once it has read the result: wait for it too
              and wait_until(lambda: "FOUND" not in grants(env, "bob@example.com"), 20),
              grants(env, "bob@example.com"))
        pg.psql("GRANT analyst TO bob")  # by hand again: for reconcile = remove below
        bob_dn = "uid=bob,ou=people,dc=example,dc=com"
        ldap.modify("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n" % (GROUP, bob_dn))
        check("LDAP reconciliation reports a group member added by hand (the placeholder, "
              "listed in reconcile_ignore, is not reported)",
              wait_until(lambda: "'%s' is a member of %s but no command granted it" % (bob_dn, GROUP)
                         in p_ldap.text(), 15)
              and "'cn=placeholder" not in p_ldap.text(), p_ldap.text()[-2000:])

        # ---- the shift ends: removed everywhere, sessions ended ----
        sess = subprocess.Popen(["psql", "-h", pg.dir, "-p", str(pg.port), "-U", "alice", "-d",
                                 "postgres", "-c", "SELECT pg_sleep(120)"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = "
                                   "'alice'") == "1", 10)
        r = env.cli("shift", "ended", "--user", "alice@example.com", "--rotation", "prov-primary",
                    "--id", "s-alice", "--start", "-1m", "--end", "now")
        check("shift ended (CLI)", r.returncode == 0, r.stderr)
        check("psql: alice is no longer a member of analyst",
              wait_until(lambda: "alice" not in pg.members("analyst"), 20), pg.members("analyst"))
        check("ldapsearch: alice's DN is no longer in the group",
              wait_until(lambda: alice_dn not in ldap.members(GROUP), 20), ldap.members(GROUP))
        check("terminate_sessions: alice's open session was ended",
              wait_until(lambda: sess.poll() is not None, 10))
        if sess.poll() is None:
            sess.kill()
        rv = {a: wait_until(lambda a=a: command(env, "alice@example.com", "REVOKE", a), 20)
              for a in ("pg", "dir", "hook", "sh")}  # the reader may lag the provisioners
        for app in ("pg", "dir", "hook", "sh"):
            c = rv[app]["rec"]["command_id"] if rv[app] else "?"
            check("%s: DEPROVISIONED for the REVOKE" % app,
                  wait_until(lambda c=c: results(env, c, "DEPROVISIONED"), 20))
        check("webhook and exec got the REVOKE",
              hook_requests("REVOKE", "alice@example.com")
              and [x for x in exec_lines(tmp) if x[0] == "REVOKE"])

        # ---- the target down during a GRANT: FAILED retryable, then the engine's retry ----
        pg.stop()
        t_down = time.time()
        env.cli("shift", "started", "--user", "dave@example.com", "--rotation", "prov-primary",
                "--id", "s-dave", "--end", "+30m")
        dg = wait_until(lambda: command(env, "dave@example.com", "GRANT", "pg"), 20)
        dcid = dg["rec"]["command_id"] if dg else "?"
        fr = wait_until(lambda: results(env, dcid, "FAILED"), 30)
        check("PostgreSQL down during a GRANT → FAILED retryable with the reason",
              fr and fr[0]["rec"]["retryable"] is True
              and "cannot connect" in fr[0]["rec"]["message"], fr)
        check("PostgreSQL back", pg.start())

        # ---- local expiry: a GRANT whose REVOKE never comes ----
        # (8 s: room for the GRANT to be applied on a loaded machine before it
        # expires; the removal is checked to come at expires_at, not before)
        ecid = uuid.uuid4().hex
        now = int(time.time() * 1000)
        expires = now + 8000
        grant = skwire.encode("command", {
            "command_id": ecid, "action": "GRANT", "user": "erin@example.com", "app": "pg",
            "entitlement": "analyst", "resource": "", "permission": "role",
            "expires_at": expires, "issued_at": now, "reason": "test: no REVOKE will come",
            "emergency": False, "sources": []})
        env.produce(T_COMMANDS, "erin@example.com", grant)
        check("a GRANT with a short expiry is applied",
              wait_until(lambda: "erin" in pg.members("analyst"), 20), pg.members("analyst"))
        t_exp = wait_until(lambda: "erin" not in pg.members("analyst") and time.time(), 30)
        check("no REVOKE came: removed by the provisioner at expires_at (not before it, within "
              "5 s after)", t_exp and expires - 500 <= t_exp * 1000 < expires + 5000,
              (t_exp, expires))
        de = wait_until(lambda: results(env, ecid, "DEPROVISIONED"), 10)
        check("local expiry is reported (DEPROVISIONED, 'no REVOKE came')",
              de and "no REVOKE came" in de[0]["rec"]["message"], de)
        with open(os.path.join(tmp, "prov-pg.state")) as f:
            st = f.read()
        check("the state file holds what is granted (alice gone, erin gone, 0600)",
              "erin@example.com" not in st.split("\nD")[0]
              and oct(os.stat(os.path.join(tmp, "prov-pg.state")).st_mode & 0o777) == "0o600", st)

        # ---- reconciliation removes, when told to ----
        p_pg.stop()
        p_rm = provfx.Provisioner(tmp, "prov-pg", pg_conf(tmp, pg, reconcile="remove"))
        check("restart with reconcile = remove",
              p_rm.start(boot, "--metrics", "127.0.0.1:%d" % mport, *short))
        provs[0] = p_rm
        check("reconciliation removes the membership nobody granted (bob)",
              wait_until(lambda: "bob" not in pg.members("analyst"), 15), pg.members("analyst"))
        check("the removal is published (DEPROVISIONED naming pg/analyst); the engine drops "
              "the FOUND source",
              wait_until(lambda: found_results(env, "bob@example.com", "DEPROVISIONED"), 15)
              and wait_until(lambda: "FOUND" not in grants(env, "bob@example.com"), 20),
              grants(env, "bob@example.com"))

        def produce_grant(user, app, ent):
            cid_ = uuid.uuid4().hex
            now_ = int(time.time() * 1000)
            env.produce(T_COMMANDS, user, skwire.encode("command", {
                "command_id": cid_, "action": "GRANT", "user": user, "app": app,
                "entitlement": ent, "resource": "", "permission": "", "expires_at": now_ + 600000,
                "issued_at": now_, "reason": "test", "emergency": False, "sources": []}))
            return cid_

        # the restarted provisioner consumes again (before carol's short shift below)
        c0 = produce_grant("erin@example.com", "pg", "analyst")
        check("after the restart a GRANT is applied again (PROVISIONED)",
              wait_until(lambda: results(env, c0, "PROVISIONED"), 60), results(env, c0))

        # ---- the engine's retry after FAILED (provisioning_retry: 3s in the rules, doubling) ----
        ok = wait_until(lambda: results(env, dcid, "PROVISIONED"), max(5, 90 - (time.time() - t_down)),
                        0.5)
        check("after PostgreSQL returned, the engine's retry (same command id) → PROVISIONED",
              ok and "dave" in pg.members("analyst"), (results(env, dcid), pg.members("analyst")))

        # ---- answers of the webhook receiver and the program ----
        c1 = produce_grant("frank@example.com", "hook", "deploy")
        r1 = wait_until(lambda: results(env, c1), 20)
        check("webhook: the receiver's own verdict in a 2xx body → WONT_PROVISION with its message",
              r1 and r1[0]["rec"]["result"] == "WONT_PROVISION"
              and r1[0]["rec"]["message"] == "frank has no account here", r1)
        c2 = produce_grant("gus@example.com", "hook", "deploy")
        r2 = wait_until(lambda: results(env, c2), 20)
        check("webhook: a 403 → FAILED, not retryable, not tried again",
              r2 and r2[0]["rec"]["result"] == "FAILED" and r2[0]["rec"]["retryable"] is False
              and "HTTP 403" in r2[0]["rec"]["message"]
              and len(hook_requests("GRANT", "gus@example.com")) == 1, r2)
        open(os.path.join(tmp, "exec.down"), "w").close()
        c3 = produce_grant("gina@example.com", "sh", "run")
        r3 = wait_until(lambda: results(env, c3), 20)
        check("exec: exit 75 → FAILED retryable with the program's first line",
              r3 and r3[0]["rec"]["result"] == "FAILED" and r3[0]["rec"]["retryable"] is True
              and "exited 75: backend down" in r3[0]["rec"]["message"], r3)
        os.unlink(os.path.join(tmp, "exec.down"))

        # ---- killed mid-command: not committed, so applied again after the restart ----
        c4 = produce_grant("slowpoke@example.com", "sh", "run")
        starts = lambda: open(os.path.join(tmp, "exec.starts")).read().split().count(c4)  # noqa
        wait_until(lambda: starts() == 1, 20)
        p_exec.proc.kill()
        p_exec.proc.wait(10)
        check("the provisioner SIGKILLed while applying: no result yet", not results(env, c4))
        check("restarted", p_exec.start(boot, *short))
        r4 = wait_until(lambda: results(env, c4), 40)
        check("after the restart the uncommitted command is applied again and answered once "
              "(offset committed only after the result)",
              r4 and len(r4) == 1 and r4[0]["rec"]["result"] == "PROVISIONED" and starts() == 2,
              (r4, starts()))

        # ---- the engine stopped: the provisioner still ends access at expires_at ----
        env.cli("shift", "started", "--user", "carol@example.com", "--rotation", "prov-primary",
                "--id", "s-carol", "--end", "+8s")
        cg = wait_until(lambda: command(env, "carol@example.com", "GRANT", "pg"), 20)
        ccid = cg["rec"]["command_id"] if cg else "?"
        ok = wait_until(lambda: results(env, ccid, "PROVISIONED") and
                        "carol" in pg.members("analyst")
                        and "uid=carol,ou=people,dc=example,dc=com" in ldap.members(GROUP), 20)
        check("carol granted in PostgreSQL and LDAP", ok)
        expires = cg["rec"]["expires_at"] if cg else 0
        env.stop_engine()
        check("engine stopped before carol's grant expired", time.time() * 1000 < expires,
              (time.time() * 1000, expires))
        gone = wait_until(lambda: "carol" not in pg.members("analyst") and
                          "uid=carol,ou=people,dc=example,dc=com" not in ldap.members(GROUP)
                          and time.time(), 20)
        check("engine stopped, no REVOKE: carol removed from the role and the group at expires_at",
              gone and gone * 1000 - expires < 3000, (gone, expires))
        nr = wait_until(lambda: readyz(mport)[0] == 503 and readyz(mport), 20)
        check("/readyz 503 naming Kafka once the brokers (the engine's embedded one) are gone",
              nr and "Kafka" in nr[1], nr)
        for p in provs:
            rc = p.stop()
            check("%s stops on SIGTERM with status 0 (sanitizers quiet)" % p.name,
                  rc == 0 and "ERROR: AddressSanitizer" not in p.text()
                  and "runtime error" not in p.text(), p.text()[-3000:])
        provs = []
    finally:
        for p in provs:
            p.stop()
        env.stop()
        pg.stop("immediate")
        ldap.stop()
        hook.shutdown()
        if failed:
            print("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import skwire  # noqa: E402,F401  (provfx put tests/blackbox on the path)
    main()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
