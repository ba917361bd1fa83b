#!/usr/bin/python3
"""Black-box test of shiftkey-slack, the Slack app and notifier (issue 13).

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/slack/test_slack_app.py

Starts a private redis-server, build/test/bin/shiftkeyd with its embedded
broker and a copy of tests/slack/rules whose signers: declare the Slack app
as a front (its key by `shiftkey keygen slack`; signed actions only, as the
engine runs by default), a fake Slack Web API (fake_slack.py), an SMTP
sink (Debian's python3-aiosmtpd) and build/test/bin/connectors/shiftkey-slack,
then acts as Slack does — slash commands and interactions signed with the
test signing secret (v0= + hex HMAC-SHA256 of "v0:{ts}:{body}") — and reads
the topics with confluent_kafka + skwire.py:

  - bad signature, stale timestamp, replayed payload: 401, nothing produced;
    an unknown Slack user: a clear ephemeral answer, nothing produced;
  - /shiftkey request → modal (views.open) → submission → CREATED on the
    requests topic (source slack, actor from the directory) → the review DM
    to the manager (conversations.open + chat.postMessage with the buttons,
    the justification) → the manager's Approve → APPROVED → GRANT on the
    commands topic → chat.update of that DM (outcome, no buttons) and a DM
    to the requester;
  - a non-assignee's click refused (ephemeral answer, no event);
  - a repeated click: the same event id (the engine drops it);
  - Deny with a comment (modal) → DENIED with the comment, the requester told;
  - an emergency request auto-granted → GRANT flagged and one EMERGENCY_GRANT
    record on the tasks topic (who, justification, until) → exactly one post in
    the security channel and one e-mail to --security-email (its ⚡ subject in
    RFC 2047 encoded-words), none again after the app restarts;
  - manual provisioning: Provisioned pressed by the provisioner in Slack →
    PROVISIONED on the results topic → GRANT;
  - a reviewer without a Slack id → the e-mail (text + HTML) in the SMTP sink;
  - 429 + Retry-After honoured: the DM arrives after the wait;
  - `shiftkey task remind` → the assignee re-notified; an automatic reminder
    after --remind-after, once, not again after a restart; no DM twice after
    a restart; a task closed after the restart still updates its DM;
  - /shiftkey tasks and /shiftkey status list what is open;
  - Edit duration (modal) → DURATION_CHANGED; Escalate → ESCALATED → break-glass;
  - --email-lookup: a person without a slack: id is DMed (users.lookupByEmail)
    and identified when clicking (users.info's e-mail);
  - /readyz 503 naming Kafka when the brokers do not answer, answered at once
    (a background check asks them);
  - without --front-key-file the app refuses to start; every record it
    produced is signed by the front 'slack' (verified with python3-nacl);
  - a revocation confirmed in Slack by security, then Deprovisioned pressed
    by the provisioner.

Prints "ok   ..." / "FAIL ..." per check and "N passed, N failed" last.
"""

import email
import email.policy
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import sksign  # noqa: E402
import skproc  # noqa: E402
from fake_slack import FakeSlack  # noqa: E402
from skproc import Reader, free_port, read_text, tail  # noqa: E402
from skproc import wait_deadline as wait_until  # noqa: E402  (absolute deadline)

SK = os.environ.get("SK_CLI", os.path.join("build", "test", "bin", "shiftkey"))
APP = os.environ.get("SK_SLACK", os.path.join("build", "test", "bin", "connectors",
                                              "shiftkey-slack"))
RULES = os.path.join(HERE, "rules")
PARTITIONS = 2
T_COMMANDS, T_TASKS = "shiftkey.commands.v1", "shiftkey.tasks.v1"
T_REQUESTS, T_RESULTS = "shiftkey.requests.v1", "shiftkey.provisioning.results.v1"
SECRET = "test-signing-secret-" + uuid.uuid4().hex[:8]
TOKEN = "xoxb-test"
DEV, MGR, PAT, EVE, DEV2, NOSLACK = ("dev@example.com", "mgr@example.com", "pat@example.com",
                                     "eve@example.com", "dev2@example.com", "noslack@example.com")
U = {DEV: "U0DEV", MGR: "U0MGR", PAT: "U0PAT", EVE: "U0EVE", DEV2: "U0DEV2"}
SEC_CHANNEL = "C0SECURITY"
SEC_EMAIL = "security-team@example.com"
CAMPAIGN_CHANNEL = "C0CAMPAIGN"  # "#access-reviews" in tests/slack/rules/campaigns.yaml
# the workspace's channels as conversations.list pages them: the campaign's
# on the second page of 200
CHANNELS = dict([("aa-%03d" % i, "C0FILL%03d" % i) for i in range(250)] +
                [("access-reviews", CAMPAIGN_CHANNEL)])
REDIS_PORT = [0]  # set by start_engine

passed = 0
failed = 0
procs = {}


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + str(detail)[:2000]) if detail else ""), flush=True)
    return bool(ok)


class Mailbox:
    """aiosmtpd sink: keeps every message."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.messages = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.messages.append((envelope.rcpt_tos, envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class App:
    """shiftkey-slack as a process, and Slack's side of the conversation."""

    def __init__(self, tmp, boot_file, fake, mailbox, rules, front_key):
        self.tmp, self.boot_file, self.fake, self.mailbox = tmp, boot_file, fake, mailbox
        self.rules, self.front_key = rules, front_key
        self.port = free_port()
        self.secret_file = os.path.join(tmp, "signing-secret")
        with open(os.open(self.secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(SECRET + "\n")
        self.log = os.path.join(tmp, "slack.log")
        self.proc = None
        self.n = 0

    def start(self, extra=()):
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=1"
        env["SHIFTKEY_SLACK_BOT_TOKEN"] = TOKEN
        argv = [APP, "--rules", self.rules, "--front-key-file", self.front_key,
                "--bootstrap-file", self.boot_file,
                "--listen", "127.0.0.1:%d" % self.port, "--api-url", self.fake.url + "/api",
                "--signing-secret-file", self.secret_file,
                "--state", os.path.join(self.tmp, "slack.journal"),
                "--security-channel", SEC_CHANNEL, "--security-email", SEC_EMAIL,
                "--smtp-url", "smtp://127.0.0.1:%d" % self.mailbox.port,
                "--smtp-from", "shiftkey@example.com", "--remind-after", "8s",
                "--remind-every", "0", "--max-wait", "5"] + list(extra)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"), env=env)
        return wait_until(lambda: self.healthy() or self.proc.poll() is not None,
                          time.time() + 20, 0.1) and self.proc.poll() is None

    def healthy(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port, timeout=1) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return -9
        return self.proc.returncode if self.proc else None

    def sign(self, body, ts=None):
        ts = str(int(time.time()) if ts is None else ts)
        mac = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
        return ts, "v0=" + mac.hexdigest()

    def post(self, body, ts=None, sig=None, path="/slack/events"):
        """(status, text) of one POST as Slack sends it (signed unless sig is given)."""
        if isinstance(body, str):
            body = body.encode()
        t, s = self.sign(body, ts)
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=body,
                                     method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        req.add_header("X-Slack-Request-Timestamp", t)
        if sig != "":
            req.add_header("X-Slack-Signature", sig or s)
        t0 = time.time()
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                out = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            out = e.code, e.read().decode()
        self.last_latency = time.time() - t0
        return out

    def response_url(self):
        self.n += 1
        return "%s/response/%d" % (self.fake.url, self.n)

    def command(self, user, text):
        url = self.response_url()
        body = urllib.parse.urlencode({"token": "x", "command": "/shiftkey", "text": text,
                                       "user_id": user, "trigger_id": "trig-%d" % self.n,
                                       "response_url": url})
        return self.post(body) + (url,)

    def click(self, user, action_id, value):
        url = self.response_url()
        payload = {"type": "block_actions", "user": {"id": user}, "trigger_id": "trig-%d" % self.n,
                   "response_url": url, "container": {"channel_id": "D" + user},
                   "actions": [{"action_id": action_id, "value": value}]}
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)})) + (url,)

    def submit(self, user, callback, values, metadata="", view_id=None):
        state = {}
        for k, v in values.items():
            if k == "emergency":
                el = {"type": "checkboxes",
                      "selected_options": [{"value": "emergency"}] if v else []}
            elif k == "target":
                el = {"type": "static_select", "selected_option": {"value": v}}
            else:
                el = {"type": "plain_text_input", "value": v}
            state[k] = {k: el}
        payload = {"type": "view_submission", "user": {"id": user},
                   "view": {"id": view_id or "V" + uuid.uuid4().hex[:8], "callback_id": callback,
                            "private_metadata": metadata, "state": {"values": state}}}
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))


def answer_text(fake, url, timeout=15):
    got = wait_until(lambda: fake.answers(lambda r: r["path"] == urllib.parse.urlparse(url).path),
                     time.time() + timeout, 0.05)
    return (got[-1]["body"].get("text") or "") + json.dumps(got[-1]["body"]) if got else ""


def recs(reader, topic, pred):
    return [r["rec"] for r in reader.select(topic, lambda r: r["rec"] is not None
                                            and pred(r["rec"]))]


def wait_recs(reader, topic, pred, n=1, timeout=20):
    return wait_until(lambda: len(recs(reader, topic, pred)) >= n and recs(reader, topic, pred),
                      time.time() + timeout, 0.05) or recs(reader, topic, pred)


def dms_to(fake, user, pred=lambda c: True):
    return fake.select("chat.postMessage", lambda c: c["args"].get("channel") == "D" + user
                       and "thread_ts" not in c["args"] and pred(c))


def button_value(call, action_id):
    for b in call["args"].get("blocks", []):
        for e in b.get("elements", []) if b.get("type") == "actions" else []:
            if e.get("action_id") == action_id:
                return e.get("value")
    return None


def wait_dm(fake, user, pred=lambda c: True, n=1, timeout=20):
    return wait_until(lambda: len(dms_to(fake, user, pred)) >= n and dms_to(fake, user, pred),
                      time.time() + timeout, 0.05) or dms_to(fake, user, pred)


def start_engine(tmp, engine_log, rules):
    redis = skproc.Redis(tmp)
    ok = redis.start()
    procs["redis"] = redis.proc
    REDIS_PORT[0] = redis.port
    if not check("redis-server answers PING", ok):
        return None
    daemon = skproc.Shiftkeyd(tmp, rules, redis.addr, "bbslack", log=engine_log,
                              extra=["--partitions", str(PARTITIONS), "--timer-interval-ms", "100"])
    procs["engine"] = daemon.start()
    if not check("shiftkeyd is up and assigned the requests topic",
                 daemon.wait_assigned(T_REQUESTS, PARTITIONS)):
        return None
    return daemon.boot


def signed_setup(tmp):
    """Keys: the Slack app's front key and the CLI users' keys (shiftkey keygen),
    and a copy of the rules whose signers: declare them; (rules dir, key dir,
    front key file, front public key)."""
    key_dir = os.path.join(tmp, "keys")
    os.makedirs(key_dir, mode=0o700)
    pub = sksign.keygen(SK, key_dir, "slack")
    rules = os.path.join(tmp, "rules")
    sksign.signed_rules(SK, RULES, rules, key_dir, [DEV, MGR],
                        fronts={"slack": (pub, ["everyone"])})
    return rules, key_dir, os.path.join(key_dir, "slack.key"), pub


def check_signatures(bootstrap, pub):
    """Every record shiftkey-slack produced carries an sk-sig envelope by the
    front 'slack' that verifies (python3-nacl, sksign.py) over topic, key and value."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bbslack-sig-" + uuid.uuid4().hex,
                  "enable.auto.commit": False, "enable.partition.eof": True})
    parts = [TopicPartition(t, p, OFFSET_BEGINNING) for t in (T_REQUESTS, T_RESULTS)
             for p in range(PARTITIONS)]
    c.assign(parts)
    eof, seen, bad = 0, 0, []
    deadline = time.time() + 15
    while eof < len(parts) and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            eof += 1
            continue
        try:
            name, rec = sksign_decode(m.value())
        except Exception:
            continue
        if m.topic() == T_REQUESTS and rec.get("source") != "slack":
            continue
        seen += 1
        env = dict(m.headers() or []).get(sksign.HEADER)
        try:
            signer, _ = sksign.verify(pub, env, m.topic(), m.key(), m.value())
            if signer != "slack":
                bad.append((m.topic(), signer))
        except Exception as e:
            bad.append((m.topic(), rec, str(e)))
    c.close()
    return seen, bad


def sksign_decode(value):
    import skwire
    return skwire.decode(value or b"")


def scenario(tmp, engine_log):
    rules, key_dir, front_key, front_pub = signed_setup(tmp)
    os.environ["SHIFTKEY_KEY_DIR"] = key_dir  # the CLI's keys (task remind, revoke)
    boot_file = start_engine(tmp, engine_log, rules)
    if not boot_file:
        return False
    bootstrap = read_text(boot_file).strip()
    reader = Reader(bootstrap, [T_COMMANDS, T_TASKS, T_REQUESTS])
    procs["reader"] = reader
    reader.start()
    fake = FakeSlack(token=TOKEN, channels=CHANNELS).start()
    procs["fake"] = fake
    mailbox = Mailbox()
    procs["mailbox"] = mailbox
    env0 = dict(os.environ)
    env0["SHIFTKEY_SLACK_BOT_TOKEN"] = TOKEN
    env0["SHIFTKEY_SLACK_SIGNING_SECRET"] = SECRET
    env0["ASAN_OPTIONS"] = "detect_leaks=0"
    p = subprocess.run([APP, "--rules", rules, "--bootstrap-file", boot_file, "--listen",
                        "127.0.0.1:%d" % free_port(), "--state", os.path.join(tmp, "x.journal")],
                       env=env0,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    check("without --front-key-file, shiftkey-slack refuses to start on rules that accept "
          "signed actions only", p.returncode == 1 and b"--front-key-file" in p.stderr, p.stderr)
    app = App(tmp, boot_file, fake, mailbox, rules, front_key)
    procs["app"] = app
    if not check("shiftkey-slack starts and answers /healthz", app.start(), tail(app.log)):
        return False
    slack_reqs = lambda: recs(reader, T_REQUESTS, lambda r: r["source"] == "slack")

    # ---- refused: bad signature, stale timestamp, replay, unknown user ----
    body = urllib.parse.urlencode({"command": "/shiftkey", "text": "status", "user_id": "U0DEV"})
    st, _ = app.post(body, sig="v0=" + "0" * 64)
    check("a bad signature is refused with 401", st == 401, st)
    st, _ = app.post(body, sig="")
    check("a missing signature is refused with 401", st == 401, st)
    st, _ = app.post(body, ts=int(time.time()) - 301)
    check("a timestamp 301 s old is refused with 401 (signed correctly)", st == 401, st)
    st, _ = app.post(body, ts=int(time.time()) + 400)
    check("a timestamp 400 s ahead is refused with 401", st == 401, st)
    fixed_ts = int(time.time())
    st1, _ = app.post(body, ts=fixed_ts)
    st2, _ = app.post(body, ts=fixed_ts)
    check("a payload sent twice: the first answered, the replay refused with 401",
          st1 == 200 and st2 == 401, (st1, st2))
    st, text, _ = app.command("U0NOBODY", "status")
    check("an unknown Slack user gets a clear ephemeral answer",
          st == 200 and "ephemeral" in text and "does not know you" in text, text)

    # ---- the request through the slash command and the modal ----
    st, text, _ = app.command(U[DEV], "request")
    check("/shiftkey request answers at once", st == 200 and app.last_latency < 3,
          (st, app.last_latency))
    views = wait_until(lambda: fake.select("views.open"), time.time() + 10, 0.05)
    view = views[-1]["args"]["view"] if views else {}
    opts = [o["value"] for b in view.get("blocks", []) if b.get("block_id") == "target"
            for o in b["element"].get("options", [])]
    check("the request modal opens (views.open with the trigger id) listing what may be "
          "requested", views and views[-1]["args"].get("trigger_id", "").startswith("trig-")
          and view.get("callback_id") == "request" and "kube/edit" in opts
          and "pgdb/dba" in opts, views[-1]["args"] if views else None)
    st, text = app.submit(U[DEV], "request", {"target": "kube/edit", "duration": "2x",
                                              "justification": "deploy"})
    check("a bad duration is shown in the modal (response_action errors)",
          st == 200 and "errors" in text and "duration" in text, text)
    st, text = app.submit(U[DEV], "request", {"target": "pgdb/dba", "duration": "10m",
                                              "justification": "x", "emergency": True})
    check("emergency is refused where there is no break-glass policy",
          st == 200 and "emergency" in text and "errors" in text, text)
    st, text = app.submit(U[DEV], "request", {"target": "kube/edit", "duration": "10m",
                                              "justification": "deploy fix #42",
                                              "emergency": False})
    check("the submitted modal closes (empty 200)", st == 200 and text == "", (st, text))
    created = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "CREATED"
                        and r["source"] == "slack" and r["target"] == "kube/edit"
                        and r["actor"] == DEV)
    check("CREATED on the requests topic: actor from the directory, source slack, "
          "duration and justification", created and created[0]["duration_ms"] == 600000
          and created[0]["justification"] == "deploy fix #42" and created[0]["subject"] == DEV,
          created)
    rid = created[0]["request_id"] if created else "?"
    dm = wait_dm(fake, U[MGR], lambda c: rid in c["args"].get("text", ""))
    check("the manager gets the review DM (conversations.open + chat.postMessage) with the "
          "requester, justification, duration, step and the buttons",
          dm and fake.select("conversations.open", lambda c: c["args"].get("users") == U[MGR])
          and "deploy fix #42" in dm[0]["args"]["text"] and "10m" in dm[0]["args"]["text"]
          and "step 1" in dm[0]["args"]["text"] and button_value(dm[0], "approve")
          and button_value(dm[0], "deny"), dm)
    value = button_value(dm[0], "approve") if dm else ""

    # a non-assignee (in the directory) presses Approve
    st, _, url = app.click(U[EVE], "approve", value)
    txt = answer_text(fake, url)
    check("a non-assignee's click is refused with an ephemeral answer",
          st == 200 and "not an assignee" in txt, txt)
    time.sleep(1)
    check("... and nothing is produced for it",
          not recs(reader, T_REQUESTS, lambda r: r["actor"] == EVE), slack_reqs())

    st, _, url = app.click(U[MGR], "approve", value)
    check("the manager's Approve is answered within 3 s", st == 200 and app.last_latency < 3,
          app.last_latency)
    txt = answer_text(fake, url)
    check("... and confirmed on the response_url", "Sent" in txt, txt)
    grant = wait_recs(reader, T_COMMANDS, lambda r: r["action"] == "GRANT" and r["user"] == DEV
                      and r["app"] == "kube")
    check("APPROVED by the manager → GRANT on the commands topic",
          grant and recs(reader, T_REQUESTS, lambda r: r["type"] == "APPROVED"
                         and r["actor"] == MGR and r["request_id"] == rid), grant)
    upd = wait_until(lambda: fake.select("chat.update", lambda c: c["args"].get("channel")
                                         == "D" + U[MGR] and rid in c["args"].get("text", "")),
                     time.time() + 20, 0.05)
    check("the review DM is updated (chat.update): outcome and who decided shown, buttons gone",
          upd and "Approved" in upd[-1]["args"]["text"] and MGR in upd[-1]["args"]["text"]
          and not any(b.get("type") == "actions" for b in upd[-1]["args"]["blocks"]), upd)
    check("... the update names the channel and ts the DM was posted with",
          upd and dm and upd[-1]["args"]["ts"] == dm[0]["ts"]
          and upd[-1]["args"]["channel"] == dm[0]["args"]["channel"], (upd, dm[:1]))
    check("the requester is told of the grant by DM",
          wait_dm(fake, U[DEV], lambda c: "You have" in c["args"].get("text", "")
                  and "kube/edit" in c["args"].get("text", "")))
    n_before = len(recs(reader, T_REQUESTS, lambda r: r["type"] == "APPROVED"))
    st, _, url = app.click(U[MGR], "approve", value)
    time.sleep(1.5)
    approvals = recs(reader, T_REQUESTS, lambda r: r["type"] == "APPROVED"
                     and r["request_id"] == rid)
    check("a repeated click is idempotent: one event, one GRANT",
          len({a["event_id"] for a in approvals}) == 1 and len(
              recs(reader, T_COMMANDS, lambda r: r["action"] == "GRANT" and r["user"] == DEV
                   and r["app"] == "kube")) == 1, (approvals, n_before))

    # ---- Deny with a comment ----
    st, _ = app.submit(U[DEV], "request", {"target": "kube/edit", "duration": "5m",
                                           "justification": "second"})
    c2 = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "CREATED"
                   and r["justification"] == "second")
    rid2 = c2[0]["request_id"] if c2 else "?"
    dm2 = wait_dm(fake, U[MGR], lambda c: rid2 in c["args"].get("text", ""))
    v2 = button_value(dm2[0], "deny") if dm2 else ""
    nviews = len(fake.select("views.open"))
    st, _, url = app.click(U[MGR], "deny", v2)
    views = wait_until(lambda: len(fake.select("views.open")) > nviews and fake.select("views.open"),
                       time.time() + 10, 0.05)
    check("Deny opens a comment modal", views and views[-1]["args"]["view"]["callback_id"] == "deny",
          views[-1] if views else None)
    st, text = app.submit(U[MGR], "deny", {"comment": "not during the freeze"},
                          metadata=views[-1]["args"]["view"]["private_metadata"] if views else "")
    denied = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "DENIED"
                       and r["request_id"] == rid2)
    check("the comment modal's submission → DENIED with the comment",
          denied and denied[0]["comment"] == "not during the freeze" and denied[0]["actor"] == MGR,
          denied)
    check("the requester is told of the denial",
          wait_dm(fake, U[DEV], lambda c: rid2 in c["args"].get("text", "")
                  and "Denied" in c["args"].get("text", "")))

    # ---- emergency: auto-approved → security channel ----
    st, _ = app.submit(U[DEV], "request", {"target": "kube/edit", "duration": "15m",
                                           "justification": "prod down", "emergency": True})
    eg = wait_recs(reader, T_COMMANDS, lambda r: r["action"] in ("GRANT", "EXTEND")
                   and r["emergency"])
    check("an emergency request from the modal is auto-granted (flagged; an EXTEND here, dev "
          "holds kube/edit already)", eg, eg)
    egt = wait_recs(reader, T_TASKS, lambda t: t["kind"] == "EMERGENCY_GRANT")
    check("... and one EMERGENCY_GRANT record on the tasks topic: CLOSED / APPROVED, emergency, "
          "the requester, the justification, until the grant's expiry",
          len(egt) == 1 and egt[0]["state"] == "CLOSED" and egt[0]["outcome"] == "APPROVED"
          and egt[0]["emergency"] and egt[0]["subject"] == DEV
          and egt[0]["justification"] == "prod down" and eg
          and egt[0]["expires_at"] == eg[0]["expires_at"] and egt[0]["assignees"] == [],
          (egt, eg))
    sec_posts = lambda: fake.select("chat.postMessage", lambda c: c["args"].get("channel")
                                    == SEC_CHANNEL)
    sec = wait_until(sec_posts, time.time() + 20, 0.05)
    time.sleep(1.5)  # a second post (the GRANT command, a re-read) would come by now
    check("the emergency grant is posted to the security channel once, with ⚡, who, "
          "the justification",
          sec and len(sec_posts()) == 1 and "Emergency access" in sec[0]["args"]["text"]
          and "⚡" in sec[0]["args"]["text"] and DEV in sec[0]["args"]["text"]
          and "prod down" in sec[0]["args"]["text"], sec_posts())
    sec_mail = lambda: [m for m in mailbox.messages if SEC_EMAIL in m[0]]
    smail = wait_until(sec_mail, time.time() + 20, 0.1)
    smsg = email.message_from_bytes(smail[0][1], policy=email.policy.default) if smail else None
    kinds = sorted(p.get_content_type() for p in smsg.walk()) if smsg else []
    check("... and e-mailed once to --security-email (text and HTML, the justification)",
          smsg and len(sec_mail()) == 1 and "kube/edit" in smsg["Subject"]
          and "EMERGENCY" in smsg["Subject"] and b"prod down" in smail[0][1]
          and "text/plain" in kinds and "text/html" in kinds, (smail, kinds))
    head = smail[0][1].split(b"\r\n\r\n")[0].split(b"\r\n") if smail else []
    at = [i for i, ln in enumerate(head) if ln.startswith(b"Subject:")]
    subj = head[at[0]:at[0] + 1] + [ln for ln in head[at[0] + 1:] if ln[:1] == b" "] if at else []
    check("... its subject ⚡ in RFC 2047 encoded-words (=?UTF-8?B?), folded, ASCII only, "
          "lines of 76 characters at most, as Python's email parser reads it back",
          smsg and subj and all(max(ln) < 128 and len(ln) <= 76 for ln in subj)
          and b"=?UTF-8?B?" in subj[0] and len(subj) > 1
          and smsg["Subject"] == "⚡ EMERGENCY [shiftkey] Emergency grant: kube/edit for "
          "dev@example.com (✅ Approved)", (subj, smsg["Subject"] if smsg else None))

    # ---- manual provisioning from Slack ----
    st, _ = app.submit(U[DEV], "request", {"target": "pgdb/dba", "duration": "20m",
                                           "justification": "migration"})
    c3 = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "CREATED"
                   and r["target"] == "pgdb/dba")
    rid3 = c3[0]["request_id"] if c3 else "?"
    dm3 = wait_dm(fake, U[MGR], lambda c: rid3 in c["args"].get("text", ""))
    app.click(U[MGR], "approve", button_value(dm3[0], "approve") if dm3 else "")
    pdm = wait_dm(fake, U[PAT], lambda c: rid3 in c["args"].get("text", ""))
    check("the provisioner gets a DM with Provisioned / Won't provision",
          pdm and button_value(pdm[0], "provisioned") and button_value(pdm[0], "wont_provision"),
          pdm)
    app.click(U[PAT], "provisioned", button_value(pdm[0], "provisioned") if pdm else "")
    pgrant = wait_recs(reader, T_COMMANDS, lambda r: r["action"] == "GRANT" and r["app"] == "pgdb")
    check("Provisioned pressed in Slack → GRANT", pgrant, pgrant)
    check("... and the provisioning DM is updated",
          wait_until(lambda: fake.select("chat.update", lambda c: c["args"].get("channel")
                                         == "D" + U[PAT] and "Provisioned" in c["args"]["text"]),
                     time.time() + 20, 0.05))

    # ---- an access review campaign over pgdb/dba (dev holds it now) ----
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    p = subprocess.run([SK, "campaign", "start", "slack-review", "--as", MGR, "--redis",
                        "127.0.0.1:%d" % REDIS_PORT[0], "--bootstrap-file", boot_file],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=30)
    rv = wait_recs(reader, T_TASKS, lambda t: t["kind"] == "ACCESS_REVIEW" and t["subject"] == DEV
                   and t["request_id"].startswith("slack-review@"))
    rdm = wait_dm(fake, U[MGR], lambda c: "Access review campaign" in c["args"].get("text", ""))
    check("campaign start → an ACCESS_REVIEW DM to the reviewer (dev's manager) with Certify… "
          "and Revoke…", p.returncode == 0 and rv and rdm and button_value(rdm[0], "certify")
          and button_value(rdm[0], "revoke_access"), (p.stdout, p.stderr, rdm))
    inv = wait_until(lambda: fake.select("conversations.invite", lambda c: c["args"].get(
        "channel") == CAMPAIGN_CHANNEL), time.time() + 20, 0.05) or []
    check("the campaign's channel gets its owner and the reviewer (conversations.invite, once)",
          [c["args"]["users"] for c in inv] == [U[MGR]], inv)
    lists = fake.select("conversations.list")
    check("the channel named #access-reviews is looked up by name (conversations.list, paged "
          "with its cursor) and only its id is given to Slack",
          len(lists) >= 2 and lists[1]["args"].get("cursor") and not fake.select(
              "conversations.invite", lambda c: str(c["args"].get("channel", "")).startswith("#")),
          [c["args"] for c in lists])
    v = button_value(rdm[0], "certify") if rdm else ""
    nviews = len(fake.select("views.open"))
    app.click(U[MGR], "certify", v)
    views = wait_until(lambda: len(fake.select("views.open")) > nviews and fake.select("views.open"),
                       time.time() + 10, 0.05)
    meta = views[-1]["args"]["view"]["private_metadata"] if views else ""
    check("Certify… opens a modal asking for the reason",
          views and views[-1]["args"]["view"]["callback_id"] == "certify", views[-1:])
    st, text = app.submit(U[MGR], "certify", {"comment": ""}, metadata=meta)
    check("  ...an empty reason is refused in the modal", st == 200 and "errors" in text, text)
    st, text = app.submit(U[MGR], "certify", {"comment": "still the DBA on call"}, metadata=meta)
    cert = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "REVIEW_CERTIFIED")
    check("  ...the submission → REVIEW_CERTIFIED on the review's task id, by mgr, with the reason",
          cert and rv and cert[0]["request_id"] == rv[0]["task_id"] and cert[0]["actor"] == MGR
          and cert[0]["comment"] == "still the DBA on call" and cert[0]["source"] == "slack", cert)
    closed = wait_recs(reader, T_TASKS, lambda t: rv and t["task_id"] == rv[0]["task_id"]
                       and t["state"] == "CLOSED")
    check("  ...the review closes CERTIFIED and the DM is updated",
          closed and closed[0]["outcome"] == "CERTIFIED" and wait_until(
              lambda: fake.select("chat.update", lambda c: "Certified" in c["args"]["text"]),
              time.time() + 20, 0.05), closed)
    check("every item decided: the channel's topic reads Completed (conversations.setTopic)",
          wait_until(lambda: fake.topics.get(CAMPAIGN_CHANNEL, "").startswith(
              "Completed: access review slack-review"), time.time() + 20, 0.05), fake.topics)

    # ---- e-mail for a reviewer without a Slack id ----
    st, _ = app.submit(U[DEV2], "request", {"target": "kube/edit", "duration": "5m",
                                            "justification": "by mail"})
    mail = wait_until(lambda: [m for m in mailbox.messages if "noslack@example.com" in m[0]],
                      time.time() + 20, 0.1)
    msg = email.message_from_bytes(mail[0][1]) if mail else None
    kinds = sorted(p.get_content_type() for p in msg.walk()) if msg else []
    check("a reviewer without a Slack id gets the review by e-mail (text and HTML)",
          msg and "kube/edit" in msg["Subject"] and "text/plain" in kinds
          and "text/html" in kinds, (mail, kinds))

    # ---- 429 + Retry-After ----
    fake.ratelimit(1, retry_after=2)
    t0 = time.time()
    st, _ = app.submit(U[DEV], "request", {"target": "kube/edit", "duration": "5m",
                                           "justification": "rate limited"})
    c5 = wait_recs(reader, T_REQUESTS, lambda r: r["justification"] == "rate limited")
    rid5 = c5[0]["request_id"] if c5 else "?"
    dm5 = wait_dm(fake, U[MGR], lambda c: rid5 in c["args"].get("text", ""), timeout=30)
    limited = [c for c in fake.all_calls() if c["status"] == 429]
    retried = wait_until(lambda: [c for c in fake.select(limited[0]["method"] if limited else "-")
                                  if limited and c["args"] == limited[0]["args"]
                                  and c["at"] - limited[0]["at"] >= 1.9],
                         time.time() + 10, 0.05)
    check("a 429 with Retry-After: 2 is honoured: the same call made again after 2 s, the "
          "review DM arrives once", dm5 and limited and len(retried) == 1 and len(dm5) == 1,
          (limited, retried, time.time() - t0))

    # ---- reminders ----
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    p = subprocess.run([SK, "task", "remind", rid5, "--as", DEV, "--subject", DEV,
                        "--bootstrap-file", boot_file], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=30)
    rem = wait_dm(fake, U[MGR], lambda c: rid5 in c["args"].get("text", "")
                  and "Reminder" in c["args"]["text"])
    check("`shiftkey task remind` re-notifies the assignee (a DM marked Reminder, with buttons)",
          p.returncode == 0 and rem and button_value(rem[0], "approve"),
          (p.stderr, rem))
    auto = wait_dm(fake, U[MGR], lambda c: rid5 in c["args"].get("text", "")
                   and "Reminder" in c["args"]["text"], n=2, timeout=20)
    check("an open task is reminded automatically after --remind-after (8 s)", len(auto) == 2,
          auto)

    # ---- restart: nothing twice, updates still work ----
    calls_before = len(fake.select("chat.postMessage"))
    rc = app.stop()
    check("SIGTERM: shiftkey-slack exits 0 (sanitizers quiet)", rc == 0, tail(app.log))
    check("shiftkey-slack starts again on the same journal", app.start(), tail(app.log))
    time.sleep(6)
    again = fake.select("chat.postMessage")[calls_before:]
    check("after the restart (topics read again from the beginning) nothing is sent twice, "
          "no reminder repeated", again == [], again)
    check("... the emergency grant's security post and e-mail not repeated either",
          len(sec_posts()) == 1 and len(sec_mail()) == 1, (sec_posts(), len(sec_mail())))
    app.click(U[MGR], "approve", button_value(dm5[0], "approve") if dm5 else "")
    posted5 = {c["ts"] for c in dms_to(fake, U[MGR], lambda c: rid5 in c["args"]["text"])}
    upd5 = wait_until(lambda: {c["args"]["ts"] for c in fake.select(
        "chat.update", lambda c: rid5 in c["args"]["text"])} == posted5, time.time() + 20, 0.05)
    check("a task closed after the restart updates all its DMs, posted before the restart "
          "(review, `task remind`, automatic reminder: their ts from the journal)",
          upd5 and len(posted5) == 3, (posted5, fake.select("chat.update")[-3:]))

    # ---- /shiftkey tasks and status ----
    st, _ = app.submit(U[DEV], "request", {"target": "kube/edit", "duration": "5m",
                                           "justification": "listed"})
    c6 = wait_recs(reader, T_REQUESTS, lambda r: r["justification"] == "listed")
    rid6 = c6[0]["request_id"] if c6 else "?"
    wait_dm(fake, U[MGR], lambda c: rid6 in c["args"].get("text", ""))
    st, _, url = app.command(U[MGR], "tasks")
    txt = answer_text(fake, url)
    check("/shiftkey tasks lists the manager's open tasks with their buttons",
          rid6 in txt and "approve" in txt, txt)
    st, _, url = app.command(U[DEV], "status")
    txt = answer_text(fake, url)
    check("/shiftkey status lists the requester's open requests", rid6 in txt, txt)

    # ---- edit duration (modal), escalate to emergency ----
    dm6 = dms_to(fake, U[MGR], lambda c: rid6 in c["args"]["text"])
    nviews = len(fake.select("views.open"))
    app.click(U[MGR], "duration", button_value(dm6[0], "duration") if dm6 else "")
    views = wait_until(lambda: len(fake.select("views.open")) > nviews and fake.select("views.open"),
                       time.time() + 10, 0.05)
    meta = views[-1]["args"]["view"]["private_metadata"] if views else ""
    st, text = app.submit(U[MGR], "duration", {"duration": "1m"}, metadata=meta)
    dur = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "DURATION_CHANGED"
                    and r["request_id"] == rid6)
    check("Edit duration… opens a modal; its submission → DURATION_CHANGED of 1 min by the "
          "assignee", views and dur and dur[0]["duration_ms"] == 60000 and dur[0]["actor"] == MGR,
          (views[-1:] if views else None, dur))
    n_sec = len(fake.select("chat.postMessage", lambda c: c["args"].get("channel") == SEC_CHANNEL))
    app.click(U[MGR], "escalate", button_value(dm6[0], "escalate") if dm6 else "")
    esc = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "ESCALATED"
                    and r["request_id"] == rid6)
    check("⚡ Escalate to emergency → ESCALATED (emergency) by the assignee",
          esc and esc[0]["emergency"] and esc[0]["actor"] == MGR, esc)
    check("... the break-glass policy grants it and the security channel hears of it once, "
          "with the request's justification",
          wait_until(lambda: len(sec_posts()) > n_sec, time.time() + 20, 0.05)
          and not time.sleep(1.5) and len(sec_posts()) == n_sec + 1
          and rid6 in sec_posts()[-1]["args"]["text"]
          and ((esc[0]["justification"] if esc else "") or "listed") in sec_posts()[-1]["args"]["text"],
          sec_posts()[n_sec:])

    # ---- revocation confirmed in Slack, deprovisioned in Slack ----
    p = subprocess.run([SK, "revoke", DEV, "pgdb/dba", "--as", MGR, "--id", "rev-slack-1",
                        "--bootstrap-file", boot_file], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=30)
    sdm = wait_dm(fake, "U0SEC", lambda c: "rev-slack-1" in c["args"]["text"])
    check("the revocation reaches security by DM with Confirm / Deny revocation",
          p.returncode == 0 and sdm and button_value(sdm[0], "confirm")
          and button_value(sdm[0], "reject"), (p.stderr, sdm))
    app.click("U0SEC", "confirm", button_value(sdm[0], "confirm") if sdm else "")
    conf = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "REVOCATION_CONFIRMED"
                     and r["request_id"] == "rev-slack-1")
    check("Confirm revocation → REVOCATION_CONFIRMED by security", conf, conf)
    ddm = wait_dm(fake, U[PAT], lambda c: "Manual deprovisioning" in c["args"]["text"]
                  and "pgdb/dba" in c["args"]["text"])
    check("the provisioner gets the deprovisioning DM with Deprovisioned",
          ddm and button_value(ddm[-1], "deprovisioned"), ddm)
    app.click(U[PAT], "deprovisioned", button_value(ddm[-1], "deprovisioned") if ddm else "")
    check("Deprovisioned pressed in Slack closes the task: its DM is updated",
          wait_until(lambda: fake.select("chat.update", lambda c: c["args"].get("channel")
                                         == "D" + U[PAT] and "Manual deprovisioning" in c["args"]["text"]
                                         and "Deprovisioned" in c["args"]["text"]),
                     time.time() + 20, 0.05), fake.select("chat.update")[-2:])

    # ---- unknown user pressing a button; --email-lookup ----
    st, _, url = app.click("U0NOBODY", "approve", value)
    check("an unknown Slack user pressing a button gets the ephemeral answer on response_url",
          st == 200 and "does not know you" in answer_text(fake, url))
    fake.emails["U0NS"] = NOSLACK  # Slack knows noslack's e-mail; the directory has no slack: id
    app.stop()
    check("shiftkey-slack restarts with --email-lookup", app.start(["--email-lookup"]),
          tail(app.log))
    app.submit(U[DEV2], "request", {"target": "kube/edit", "duration": "5m",
                                    "justification": "lookup by e-mail"})
    ns = wait_dm(fake, "U0NS", lambda c: "lookup by e-mail" in c["args"]["text"])
    check("--email-lookup: the reviewer without a slack: id now gets the DM "
          "(users.lookupByEmail)", ns and fake.select("users.lookupByEmail"), ns)
    st, _, url = app.click("U0NS", "approve", button_value(ns[0], "approve") if ns else "")
    ok = wait_recs(reader, T_REQUESTS, lambda r: r["type"] == "APPROVED" and r["actor"] == NOSLACK)
    check("--email-lookup: the clicker is found by the e-mail Slack reports (users.info) and "
          "approves", ok and fake.select("users.info"), (ok, answer_text(fake, url, 2)))

    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % app.port, timeout=5) as r:
        fams = {s.name + repr(sorted(s.labels.items())): s.value
                for f in text_string_to_metric_families(r.read().decode()) for s in f.samples}
    with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % app.port, timeout=5) as r:
        ready = r.status
    key = lambda n, o: n + repr([("outcome", o)])
    check("/metrics (parsed by prometheus_client) counts the requests since the restart and "
          "the actions sent; /readyz 200",
          fams.get(key("shiftkey_slack_requests_total", "accepted"), 0) >= 2
          and fams.get(key("shiftkey_slack_actions_total", "sent"), 0) >= 2 and ready == 200,
          fams)
    # /readyz follows Kafka: an instance whose brokers do not answer is not ready
    dead_dir = os.path.join(app.tmp, "dead")
    os.makedirs(dead_dir, exist_ok=True)
    dead_boot = os.path.join(dead_dir, "bootstrap")
    with open(dead_boot, "w") as f:
        f.write("127.0.0.1:1\n")
    dead = App(dead_dir, dead_boot, app.fake, app.mailbox, app.rules, app.front_key)
    started = dead.start()
    time.sleep(1.5)  # the background check has asked the brokers by now
    answers = []
    for _ in range(5):
        status, body, t0 = None, "", time.time()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % dead.port,
                                        timeout=5) as r:
                status = r.status
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read().decode(errors="replace")
        answers.append((status, body, time.time() - t0))
    dead.stop()
    check("/readyz 503 naming Kafka when the brokers do not answer",
          started and all(a[0] == 503 and "Kafka" in a[1] for a in answers),
          (started, answers, tail(dead.log)))
    # asking the brokers takes 500 ms while they are down: a background
    # check does it, /readyz only reads its answer (the bound is loose for
    # a loaded machine; asking on the HTTP thread took 0.5 s every time)
    took = sorted(a[2] for a in answers)[len(answers) // 2]
    check("... answered without waiting on Kafka (median of 5: %.3f s, under 0.25 s)" % took,
          took < 0.25, answers)
    seen, bad = check_signatures(bootstrap, front_pub)
    check("every record shiftkey-slack produced (requests and results) is signed by the front "
          "'slack' over topic, key and value (verified with python3-nacl)", seen >= 10 and not bad,
          (seen, bad[:3]))
    return refused_grant(tmp, rules, fake, mailbox, front_key)


# An entitlement granted at once whose GRANT is larger than the engine's
# producer takes (message.max.bytes below): Kafka refuses it for good.
REFUSED_RULES = """# refused.yaml — written by test_slack_app.py: vault/arn's resource makes
# its GRANT larger than the engine's producer takes
apps:
  - id: vault
    owner: dev-team
    entitlements:
      - id: arn
        permission: read
        resource: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:%s"
        max_duration: 1h
        request:
          self_service: true
          requestable_by: [group:dev-team]
          policy: at-once
policies:
  - id: at-once
    steps:
      - auto_approve: true
"""


def refused_grant(tmp, rules, fake, mailbox, front_key):
    """A GRANT Kafka refuses for good: the engine (its producer limited to
    6,000 bytes) drops it for a dead-letter notice; the Slack app tells the
    requester by DM, once, not again after a restart. Its own redis-server,
    engine and app: a limited producer in the main engine would refuse more."""
    from skproc import Redis
    T_DEAD = "shiftkey.deadletter.v1"
    work = os.path.join(tmp, "refused")
    os.makedirs(work)
    rules2 = os.path.join(work, "rules")
    shutil.copytree(rules, rules2)
    with open(os.path.join(rules2, "refused.yaml"), "w") as f:
        f.write(REFUSED_RULES % ("x" * 3900))  # the decoders take 4,096
    redis = Redis(work)
    ok = redis.start()
    procs["redis2"] = redis.proc
    daemon = skproc.Shiftkeyd(work, rules2, redis.addr, "bbslack-refused",
                              log=os.path.join(work, "shiftkeyd.stderr"),
                              extra=["--partitions", str(PARTITIONS), "--kafka-config",
                                     "producer:message.max.bytes=4000"])
    procs["engine2"] = daemon.start()
    if not check("a second engine (producer: message.max.bytes=4000) is up",
                 ok and daemon.wait_assigned(T_REQUESTS, PARTITIONS), tail(daemon.log)):
        return False
    reader = Reader(daemon.bootstrap, [T_COMMANDS, T_DEAD])
    procs["reader2"] = reader
    reader.start()
    app = App(work, daemon.boot, fake, mailbox, rules2, front_key)
    procs["app2"] = app
    if not check("... with its own shiftkey-slack", app.start(), tail(app.log)):
        return False
    refused_dm = lambda: dms_to(fake, U[DEV], lambda c: "vault/arn" in c["args"].get("text", ""))
    st, text = app.submit(U[DEV], "request", {"target": "vault/arn", "duration": "10m",
                                              "justification": "rotate the key"})
    notice = wait_recs(reader, T_DEAD, lambda r: r["origin"]["topic"] == T_COMMANDS
                       and "refused by Kafka for good" in r["reason"], timeout=30)
    check("dev requests vault/arn (auto-approved) in Slack; its GRANT is too large for the "
          "engine's producer: a dead-letter notice names the commands topic, no GRANT",
          st == 200 and notice and "Message size too large" in notice[0]["reason"]
          and not recs(reader, T_COMMANDS, lambda r: r["app"] == "vault"), (st, text, notice))
    dm = wait_until(refused_dm, time.time() + 20, 0.05)
    time.sleep(1.5)  # a second DM (a re-read, another record) would come by now
    # the notice's payload is the GRANT's first bytes: framing, then its id (an
    # Avro string of 32 characters: one length byte)
    cid = bytes(notice[0]["payload"][6:38]).decode(errors="replace") if notice else "?"
    check("the requester is told by DM, once, that the access was not given (Kafka's error, "
          "the command id)", dm and len(refused_dm()) == 1
          and "was not given" in dm[0]["args"]["text"] and cid in dm[0]["args"]["text"]
          and "Message size too large" in dm[0]["args"]["text"], (cid, refused_dm()))
    app.stop()
    check("shiftkey-slack restarts on the same journal", app.start(), tail(app.log))
    time.sleep(4)  # the dead-letter topic is read again from its beginning
    check("... and does not tell the requester again", len(refused_dm()) == 1, refused_dm())
    return True


def main():
    global failed
    tmp = tempfile.mkdtemp(prefix="sk-slack-")
    engine_log = os.path.join(tmp, "shiftkeyd.stderr")
    t0 = time.time()
    try:
        if not scenario(tmp, engine_log):
            failed += 1
    except Exception as e:
        import traceback
        traceback.print_exc()
        failed += 1
        print("FAIL test aborted: %s: %s" % (type(e).__name__, e), flush=True)
    finally:
        app = procs.get("app")
        if app:
            app.stop()
        if procs.get("app2"):
            procs["app2"].stop()
        if failed:
            print("--- shiftkey-slack log:\n" + (tail(app.log, 80) if app else ""))
            print("--- shiftkeyd log:\n" + tail(engine_log, 40))
        for k in ("reader", "reader2"):
            r = procs.get(k)
            if r:
                r.stop.set()
                r.join(5)
        if procs.get("fake"):
            procs["fake"].stop()
        if procs.get("mailbox"):
            procs["mailbox"].stop()
        for k in ("engine", "redis", "engine2", "redis2"):
            p = procs.get(k)
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
