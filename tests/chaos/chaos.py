"""Fault test: nothing lost, nothing applied twice.

Runs a real redis-server (append-only, fsync always), the mock Kafka broker
as its own process (tests/chaos/mock_broker), and one or two shiftkeyd
processes. A steady load of shift events and access requests with known
expected outcomes is produced with Python's confluent_kafka (Avro by
python3-avro through tests/blackbox/skwire.py), while the engine is killed
with SIGKILL at random moments and restarted, Redis is restarted, flushed
(FLUSHALL) and replaced by an empty one, and the broker set down and up. At
the end every expected command must be on the commands topic and
every expected review task on the tasks topic, every poison input (about 1 MB
of garbage, or a few bytes) dead-lettered with its length and SHA-256 and no
more than 8 KiB of it, every duplicate byte-identical
to its first copy, no unexpected command or task may exist, and Redis must
hold exactly the expected grants, request sources and request statuses.

Requests (rules: tests/rules/chaos/requests.yaml): every requester asks for
req/auto (auto-approved: one GRANT at once); every second one also asks for
req/reviewed (one reviewer) and that reviewer approves it (a CREATED and a
CLOSED/APPROVED task, then one GRANT). Half of the requesters are shift
users as well, so one user's state is changed from both input topics. A
request's expiry depends on the engine's clock: request commands are matched
on (action, entitlement, request sources) and their expires_at must be
issued_at + the (capped) duration. Before the run, the checks themselves are
run on made-up topic contents with a lost request, a doubled GRANT, a wrong
expiry and altered duplicates, and must report each of them; --plant puts
a fault into a real run (a lost request, a doubled GRANT) to see it fail.

    /usr/bin/python3 tests/chaos/chaos.py --kills 1 --users 40 --redis-restarts 1 \
        --broker-outages 1 --flushalls 1 --redis-empties 1 --spare-s 20             # short
    make chaos                                                                    # long

Access never outlives its expiry by more than 5 s after a data loss, 15 s
after any other fault (excess_bound): just before
each fault a probe user starts a shift; Redis holds its grant when the
fault comes, and the shift ends 1.2 s later (a probe the engine was too busy
to grant within 6 s is not measured: it must then have both of its
commands, or none, since a shift seen after its end grants nothing), and
every REVOKE's excess (when Kafka got it, minus the expiry it names) is
measured; the worst excess is printed per fault kind (the REVOKEs of the
workload that no probe watched count as "none"), and each must be within
the bound. After a FLUSHALL or an empty Redis the engine must restore the
partitions from the changelog topic (it says so in its log, with the time
the restore took; the worst is printed).

--requesters N sets how many users make requests (default: half of --users).

Prints the figures and ends with "N passed, N failed".
"""

import argparse
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "blackbox"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import nacl.signing  # noqa: E402
import sksign  # noqa: E402
import skproc  # noqa: E402 (unpack_state: a user's packed value in Redis)
import skwire  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

SHIFTKEYD = os.environ.get("SK_SHIFTKEYD", os.path.join(ROOT, "build/test/bin/shiftkeyd"))
BROKER = os.path.join(ROOT, "build/test/bin/chaos/mock_broker")
RULES = os.path.join(ROOT, "tests/rules/chaos")
PARTITIONS = 8
HOUR = 3600 * 1000
T_SCHEDULE = "shiftkey.schedule.v1"
T_REQUESTS = "shiftkey.requests.v1"
# the front that signs the fault test's requests (tests/rules/chaos/signers.yaml);
# a deterministic test key: seed = BLAKE2b-256 of the id
CHAOS_FRONT = "chaos-front"
CHAOS_FRONT_KEY = nacl.signing.SigningKey(hashlib.blake2b(CHAOS_FRONT.encode(),
                                                          digest_size=32).digest())
T_COMMANDS = "shiftkey.commands.v1"
T_TASKS = "shiftkey.tasks.v1"
T_DEADLETTER = "shiftkey.deadletter.v1"
# how long access may outlive its expiry, per fault kind: a data loss is
# found within a timer scan and restored in about 0.1 s per partition; a
# SIGKILL leaves the dead member's partitions unowned until its session
# times out (3 s here) and the group rebalances, a broker outage holds the
# REVOKE back until the broker is up (measured worst: kill 9.6 s, broker
# 7.9 s, none 3.2 s under 2 instances and 20 kills)
EXCESS_BOUND_MS = 15000
EXCESS_BOUND_LOSS_MS = 5000  # flushall, empty
PROBE_LEAD_MS = 6000   # a probe's GRANT is awaited this long before its fault
PROBE_LEAD_LOSS_MS = 15000  # before a data loss (they come last, after the crashes)
PROBE_AFTER_MS = 1200  # and its shift ends this long after the GRANT is held


def excess_bound(kind):
    return EXCESS_BOUND_LOSS_MS if kind in ("flushall", "empty") else EXCESS_BOUND_MS


# shift scenario -> expected (action, entitlement of app) commands and the
# entitlements of app held at the end
EXPECTED = {
    "active": ([("GRANT", "read"), ("GRANT", "write")], {"read", "write"}),
    "ended": ([("GRANT", "read"), ("GRANT", "write"), ("REVOKE", "read"), ("REVOKE", "write")], set()),
    "timer": ([("GRANT", "read"), ("REVOKE", "read")], set()),
    "overlap": ([("GRANT", "read"), ("GRANT", "write"), ("EXTEND", "read"), ("REVOKE", "write")], {"read"}),
}

# requests (tests/rules/chaos/requests.yaml): the entitlement, the duration
# asked for and the one granted (req/reviewed is capped by its max_duration
# of 8h); both end long after the run, so no REVOKE is expected
REVIEWER = "chaos-reviewer"
REQ_AUTO = ("req/auto", 4 * HOUR, 4 * HOUR)
REQ_REVIEWED = ("req/reviewed", 10 * HOUR, 8 * HOUR)


def now_ms():
    return int(time.time() * 1000)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


class Rig:
    """The processes under test and the faults done to them."""

    def __init__(self, tmp, instances, failpoint):
        self.tmp = tmp
        self.failpoint = failpoint
        self.redis_port = free_port()
        self.redis = None
        self.broker = None
        self.engines = [None] * instances
        self.engine_logs = []
        self.kills = 0
        self.crashes = 0
        self.start_redis()
        self.start_broker()

    def start_redis(self):
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", self.tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.redis_cli("PING") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop_redis(self):
        self.redis.send_signal(signal.SIGTERM)
        self.redis.wait(10)

    def empty_redis(self):
        """Replaces Redis by an empty one on the same port: its data files
        are deleted while it is down."""
        self.stop_redis()
        for name in ("appendonlydir", "appendonly.aof", "dump.rdb"):
            path = os.path.join(self.tmp, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)
        self.start_redis()

    def redis_cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.redis_port)] + list(args),
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def start_broker(self):
        boot = os.path.join(self.tmp, "bootstrap")
        self.broker = subprocess.Popen([BROKER, boot, str(PARTITIONS)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while not os.path.exists(boot) and time.time() < deadline:
            time.sleep(0.05)
        with open(boot) as f:
            self.bootstrap = f.read().strip()

    def broker_cmd(self, cmd):
        """Sends one command to the mock broker process. A broker that died
        (librdkafka's mock can abort on its own, see main) is left for the
        run's end to report: the run is then re-done with another seed."""
        if self.broker.poll() is not None:
            return
        try:
            self.broker.stdin.write(cmd + "\n")
            self.broker.stdin.flush()
            self.broker.stdout.readline()
        except (BrokenPipeError, OSError):
            pass

    def start_engine(self, i):
        path = os.path.join(self.tmp, "engine-%d.log" % i)
        out = open(path, "a")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        if i == 0 and self.failpoint and self.crashes < 2:
            # engine 0 first exits right after applying a record, before
            # emitting its outputs, then right after producing them, before
            # trimming the outbox: the windows a SIGKILL rarely hits
            env["SHIFTKEY_FAILPOINT"] = ("crash-after-apply:%d" if self.crashes == 0
                                         else "crash-before-trim:%d") % self.failpoint
        self.engines[i] = subprocess.Popen(
            [SHIFTKEYD, "--kafka", self.bootstrap, "--rules", RULES,
             "--redis", "127.0.0.1:%d" % self.redis_port, "--group", "chaos",
             "--timer-interval-ms", "100",
             "--kafka-config", "consumer:session.timeout.ms=3000",
             "--kafka-config", "consumer:heartbeat.interval.ms=300",
             "--kafka-config", "client.id=chaos-%d" % i],
            stdout=out, stderr=out, env=env)
        if path not in self.engine_logs:
            self.engine_logs.append(path)

    def restart_crashed(self):
        """Restarts engines that exited on their own (the failpoint)."""
        for i, p in enumerate(self.engines):
            if p.poll() is not None:
                log("engine %d exited by itself (code %d): restarting" % (i, p.returncode))
                self.crashes += 1
                self.start_engine(i)

    def kill_engine(self, i, sig=signal.SIGKILL):
        p = self.engines[i]
        p.send_signal(sig)
        rc = p.wait(30)
        if sig == signal.SIGKILL:
            self.kills += 1
        return rc

    def close(self):
        for p in self.engines:
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if self.broker and self.broker.poll() is None:
            try:
                self.broker_cmd("quit")
                self.broker.wait(10)
            except Exception:
                self.broker.kill()
        if self.redis and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()




# ---- the expected outcome ----

def command_summary(cmd):
    """What a command is matched on: (action, entitlement key, request
    sources). Shift sources are left out (shift commands are matched on
    action and entitlement, as before requests); request sources are kept as
    sorted (kind, id) pairs, so a grant held by the wrong request, or by
    none, does not match."""
    reqs = tuple(sorted((s["kind"], s["id"]) for s in cmd["sources"] if s["kind"] != "SHIFT"))
    return (cmd["action"], cmd["app"] + "/" + cmd["entitlement"], reqs)


def task_summary(task):
    """What a task record is matched on. Assignees are compared while the
    task is open only: a CLOSED task carries none (schemas/task_event.avsc,
    engine/decide/request_ctx.c), and that is not what this test is about."""
    open_ = task["state"] != "CLOSED"
    return (task["request_id"], task["kind"], task["state"], task["outcome"], task["target"],
            task["step"], tuple(task["assignees"]) if open_ else ())


class Model:
    """What the run must leave behind, per user: the commands (as
    command_summary tuples), the entitlement keys held at the end, the
    requests (request id -> (entitlement key, granted duration, reviewed))
    and the review tasks (as task_summary tuples)."""

    def __init__(self):
        self.commands = {}
        self.grants = {}
        self.requests = {}
        self.tasks = {}
        self.label = {}

    def _user(self, user, label):
        self.commands.setdefault(user, [])
        self.grants.setdefault(user, set())
        self.requests.setdefault(user, {})
        self.tasks.setdefault(user, [])
        self.label[user] = self.label[user] + "+" + label if user in self.label else label

    def add_shift_user(self, user, sc):
        """One shift user in scenario sc (a key of EXPECTED)."""
        self._user(user, sc)
        cmds, held = EXPECTED[sc]
        self.commands[user].extend((a, "app/" + e, ()) for a, e in cmds)
        self.grants[user].update("app/" + e for e in held)

    def add_requester(self, user, reviewed, resent=False):
        """A requester: req/auto, and req/reviewed when reviewed (resent:
        one of the records is sent twice, which changes nothing)."""
        self._user(user, ("auto+reviewed" if reviewed else "auto") + (
            "+resent" if resent else ""))
        auto_id, rev_id = request_ids(user)
        plan = [(auto_id, REQ_AUTO, False)] + ([(rev_id, REQ_REVIEWED, True)] if reviewed else [])
        for rid, (ent, _, granted), rev in plan:
            self.commands[user].append(("GRANT", ent, (("REQUEST", rid),)))
            self.grants[user].add(ent)
            self.requests[user][rid] = (ent, granted, rev)
            if rev:
                self.tasks[user].append((rid, "REQUEST_REVIEW", "CREATED", None, ent, 1,
                                         (REVIEWER,)))
                self.tasks[user].append((rid, "REQUEST_REVIEW", "CLOSED", "APPROVED", ent, 1, ()))

    def n_commands(self):
        return sum(len(v) for v in self.commands.values())

    def n_tasks(self):
        return sum(len(v) for v in self.tasks.values())

    def n_requests(self):
        return sum(len(v) for v in self.requests.values())


def request_ids(user):
    """The ids of user's auto-approved and reviewed requests."""
    return user + "-auto", user + "-rev"


def requester_plan(users, n):
    """(user, reviewed, resent) of each of n requesters. By i % 4: 0 a shift
    user, req/auto only; 1 a requester only, req/auto only; 2 a shift user,
    both; 3 a requester only, both. Past the shift users, all are requesters
    only. Every third (i % 3 == 0) sends its last request record twice, as a
    client retrying would: the copy must change nothing."""
    plan = []
    for i in range(n):
        shared = i % 2 == 0 and i < users
        plan.append(("chaos-%04d" % i if shared else "chaos-req-%04d" % i, i % 4 >= 2,
                     i % 3 == 0))
    return plan


SHIFT_EVENTS = {"active": 1, "timer": 1, "ended": 2, "overlap": 3}


BIG_POISON = 1050000


def poison_plan(events, n_big, n_garbage, seed):
    """Event index -> the poison value produced just before that event (a
    shift event, so it lands in a shift user's partition): n_big values of
    BIG_POISON bytes or more, n_garbage small ones, none of them Avro."""
    rnd = random.Random(seed + 7)
    shifts = [i for i, e in enumerate(events) if e[0] == "shift"]
    picks = rnd.sample(shifts, min(len(shifts), n_big + n_garbage))
    plan = {}
    for k, i in enumerate(picks):
        size = BIG_POISON + rnd.randint(0, 1000) if k < n_big else rnd.randint(1, 300)
        # first byte 0x01 is never our framing's magic 0x00
        plan[i] = b"\x01" + rnd.randbytes(size - 1)
    return plan


def poison_figures(plan, dead):
    """Which poison values are on the dead-letter topic: found by the
    SHA-256 and the length their dead letter states."""
    by_hash = {}
    for v in plan.values():
        by_hash["value %d bytes, sha256 %s" % (len(v), hashlib.sha256(v).hexdigest())] = v
    found, largest, largest_payload = set(), 0, 0
    for _, raw in dead:
        largest = max(largest, len(raw))
        _, dl = skwire.decode(raw)
        for text, v in by_hash.items():
            if text in dl["reason"]:
                found.add(text)
                largest_payload = max(largest_payload, len(dl["payload"]))
                if dl["payload"] != v[:len(dl["payload"])]:
                    found.discard(text)  # the prefix must be the value's own
    return {"found": len(found), "largest": largest, "largest_payload": largest_payload,
            "big": sum(1 for v in plan.values() if len(v) >= BIG_POISON)}


def make_workload(users, requesters, seed):
    """The model and the input records as (stream, user, what, step): stream
    "shift" (what = scenario) or "request" (what = the user's request
    records in order, each "auto", "rev", "approve" or "resend"; step indexes
    it). One user's records of one stream keep their order; all else is
    shuffled."""
    rnd = random.Random(seed)
    model = Model()
    events = []
    names = list(EXPECTED)
    for u in range(users):
        user = "chaos-%04d" % u
        sc = names[u % len(names)]
        model.add_shift_user(user, sc)
        events += [("shift", user, sc)] * SHIFT_EVENTS[sc]
    for user, reviewed, resent in requester_plan(users, requesters):
        model.add_requester(user, reviewed, resent)
        kinds = ("auto",) + (("rev", "approve") if reviewed else ()) + (
            ("resend",) if resent else ())
        events += [("request", user, kinds)] * len(kinds)
    rnd.shuffle(events)
    seen = {}
    ordered = []
    for stream, user, what in events:
        k = seen.get((stream, user), 0)
        seen[(stream, user)] = k + 1
        ordered.append((stream, user, what, k))
    return model, ordered


def event_record(user, sc, step, t, timer_end):
    base = {"source": "chaos", "user": user, "escalation_level": 1, "occurred_at": t}
    if sc == "timer":
        return dict(base, event_id=user + "-s", type="STARTED", rotation="secondary",
                    shift_id=user + "-t", start=t, end=timer_end)
    if sc == "overlap":
        if step == 0:
            return dict(base, event_id=user + "-p", type="STARTED", rotation="primary",
                        shift_id=user + "-p", start=t, end=t + HOUR)
        if step == 1:
            return dict(base, event_id=user + "-q", type="STARTED", rotation="secondary",
                        shift_id=user + "-q", start=t, end=t + 2 * HOUR)
        return dict(base, event_id=user + "-e", type="ENDED", rotation="primary",
                    shift_id=user + "-p", start=t - 1000, end=t)
    if step == 0:
        return dict(base, event_id=user + "-s", type="STARTED", rotation="primary",
                    shift_id=user + "-p", start=t, end=t + HOUR)
    return dict(base, event_id=user + "-e", type="ENDED", rotation="primary",
                shift_id=user + "-p", start=t - 1000, end=t)


def request_record(user, kind, t):
    """An AccessRequestEvent dict: user creates req/auto ("auto") or
    req/reviewed ("rev"), or the reviewer approves req/reviewed ("approve")."""
    auto_id, rev_id = request_ids(user)
    base = {"subject": user, "target_kind": "ENTITLEMENT", "duration_ms": None,
            "justification": "", "emergency": False, "comment": "", "assignee": None,
            "policy": None, "source": "chaos", "occurred_at": t}
    if kind == "auto":
        return dict(base, event_id=user + "-ca", type="CREATED", request_id=auto_id, actor=user,
                    target=REQ_AUTO[0], duration_ms=REQ_AUTO[1], justification="chaos")
    if kind == "rev":
        return dict(base, event_id=user + "-cr", type="CREATED", request_id=rev_id, actor=user,
                    target=REQ_REVIEWED[0], duration_ms=REQ_REVIEWED[1], justification="chaos")
    return dict(base, event_id=user + "-ap", type="APPROVED", request_id=rev_id, actor=REVIEWER,
                target=REQ_REVIEWED[0], comment="ok")


def read_topics(bootstrap, topics, seconds, stamps=None):
    """Every record of the topics, from their beginning: topic -> list of
    (key, value bytes), in each partition's order. Stops after `seconds`
    without a record (at least 1 s after the last one). With `stamps` (a
    dict), stamps[value bytes] gets the first Kafka timestamp of each value."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-reader-%d" % now_ms(),
                  "enable.auto.commit": False, "log_level": 3})
    c.assign([TopicPartition(t, p, 0) for t in topics for p in range(PARTITIONS)])
    out = {t: [] for t in topics}
    idle_until = time.time() + seconds
    while time.time() < idle_until:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        out[m.topic()].append(((m.key() or b"").decode(errors="replace"), m.value()))
        if stamps is not None:
            stamps.setdefault(m.value(), m.timestamp()[1])
        idle_until = max(idle_until, time.time() + 1.0)
    c.close()
    return out


# ---- checking what the topics hold ----

def dedupe(recs, identity):
    """First copies of records and how many copies repeat them: recs are
    (key, value bytes); identity(record dict) names a record (a command id,
    a task's id + state + outcome). Returns (firsts as (key, record, bytes),
    copies, copies that are not byte-identical to the first, records whose
    key is not their user)."""
    seen = {}
    firsts = []
    copies = different = bad_keys = 0
    for key, val in recs:
        _, rec = skwire.decode(val)
        who = rec.get("user", rec.get("subject"))
        if key != who:
            bad_keys += 1
        ident = identity(rec)
        if ident in seen:
            copies += 1
            if seen[ident] != val:
                different += 1
            continue
        seen[ident] = val
        firsts.append((key, rec, val))
    return firsts, copies, different, bad_keys


def compare(want_by_user, got_by_user, label, what, say):
    """Multiset comparison per user of expected and found summaries.
    Returns (missing, unexpected); says the first five of each."""
    missing = unexpected = 0
    for u, want in want_by_user.items():
        got = list(got_by_user.get(u, []))
        for w in want:
            if w in got:
                got.remove(w)
            else:
                missing += 1
                if missing <= 5:
                    say("missing %s %s for %s (%s)" % (what, w, u, label[u]))
        if got and unexpected < 5:
            say("unexpected %s %s for %s (%s)" % (what, got, u, label[u]))
        unexpected += len(got)
    for u, got in got_by_user.items():
        if u not in want_by_user:
            if unexpected < 5:
                say("unexpected %s %s for %s (not in the workload)" % (what, got, u))
            unexpected += len(got)
    return missing, unexpected


def expiry_errors(model, firsts, t0, t1, say):
    """Commands held by a request whose expiry is not issued_at + the
    granted duration (the request's and the command's), or whose issued_at
    is outside [t0, t1]. Returns how many."""
    wrong = 0
    for _, cmd, _ in firsts:
        for s in cmd["sources"]:
            if s["kind"] == "SHIFT":
                continue
            req = model.requests.get(cmd["user"], {}).get(s["id"])
            ok = (req is not None and t0 <= cmd["issued_at"] <= t1 and
                  s["expires_at"] == cmd["issued_at"] + req[1] and
                  cmd["expires_at"] == s["expires_at"])
            if not ok:
                wrong += 1
                if wrong <= 5:
                    say("request %s of %s: %s issued %d expires %d (source %d), expected %s" % (
                        s["id"], cmd["user"], cmd["action"], cmd["issued_at"], cmd["expires_at"],
                        s["expires_at"],
                        "issued_at + %d ms" % req[1] if req else "no such request"))
    return wrong


def split_task_ids(firsts, say):
    """Requests whose task records do not all carry one task id."""
    ids = {}
    for _, t, _ in firsts:
        ids.setdefault((t["subject"], t["request_id"]), set()).add(t["task_id"])
    split = [k for k, v in ids.items() if len(v) != 1]
    for k in split[:5]:
        say("request %s of %s: tasks with different ids %s" % (k[1], k[0], sorted(ids[k])))
    return len(split)


def evaluate(model, cmd_recs, task_recs, t0, t1, say):
    """Figures of the commands and tasks topics' records against the model
    (a dict); say(str) is told the first problems of each kind."""
    f = {}
    cmds, f["copies"], f["different"], f["cmd_bad_keys"] = dedupe(
        cmd_recs, lambda c: c["command_id"])
    got = {}
    for _, cmd, _ in cmds:
        got.setdefault(cmd["user"], []).append(command_summary(cmd))
    f["commands"] = len(cmds)
    f["missing"], f["unexpected"] = compare(model.commands, got, model.label, "command", say)
    f["expiry_wrong"] = expiry_errors(model, cmds, t0, t1, say)
    f["request_grants"] = sum(1 for _, c, _ in cmds
                              if any(s["kind"] != "SHIFT" for s in c["sources"]))
    tasks, f["task_copies"], f["task_different"], f["task_bad_keys"] = dedupe(
        task_recs, lambda t: (t["task_id"], t["state"], t["outcome"]))
    got = {}
    for _, t, _ in tasks:
        got.setdefault(t["subject"], []).append(task_summary(t))
    f["tasks"] = len(tasks)
    f["tasks_missing"], f["tasks_unexpected"] = compare(
        {u: v for u, v in model.tasks.items() if v}, got, model.label, "task", say)
    f["task_ids_split"] = split_task_ids(tasks, say)
    return f


def redis_errors(rig, model, say, ports=None):
    """Users whose Redis state is not what the model says: the entitlements
    held (g: fields), exactly the expected request sources (kind R, the
    request id) and every request APPROVED (q: fields), read with redis-cli
    from rig's Redis (or `ports`: a cluster's masters) and decoded by
    skproc. Returns how many."""
    wrong = 0
    for u in model.label:
        ents, req_sources, statuses = set(), set(), {}
        try:
            state = skproc.redis_user_state(ports or rig.redis_port, u) or {}
        except ValueError as e:
            state = {"(damaged)": str(e)}
        for name, value in state.items():
            if name.startswith("g:"):
                ent, kind, sid = name[2:].split(" ")
                ents.add(ent)
                if kind != "S":
                    req_sources.add((ent, kind, sid))
            elif name.startswith("q:"):
                statuses[name[2:]] = value.split(" ")[0]
        reqs = model.requests[u]
        want_sources = {(ent, "R", rid) for rid, (ent, _, _) in reqs.items()}
        want_statuses = {rid: "APPROVED" for rid in reqs}
        if ents != model.grants[u] or req_sources != want_sources or statuses != want_statuses:
            wrong += 1
            if wrong <= 5:
                say("redis: %s (%s) holds %s, request sources %s, requests %s; expected %s, %s, %s"
                    % (u, model.label[u], sorted(ents), sorted(req_sources), statuses,
                       sorted(model.grants[u]), sorted(want_sources), want_statuses))
    return wrong


# ---- the checks checked: made-up topic contents with known faults ----

def fake_command(user, summary, issued, seq, expiry_shift=0, reason="made up"):
    """Framed bytes of a command that matches summary, as the engine would
    write it (durations from the model's requests)."""
    action, ent, reqs = summary
    app, e = ent.split("/")
    sources = [{"kind": "SHIFT", "id": user + "-p", "rotation": "primary",
                "expires_at": issued + HOUR}] if not reqs else []
    dur = HOUR
    for kind, rid in reqs:
        dur = (REQ_AUTO if rid.endswith("-auto") else REQ_REVIEWED)[2]
        sources.append({"kind": kind, "id": rid, "rotation": "",
                        "expires_at": issued + dur + expiry_shift})
    rec = {"command_id": "%032x" % seq, "action": action, "user": user, "app": app,
           "entitlement": e, "resource": "", "permission": "",
           "expires_at": issued + dur + expiry_shift, "issued_at": issued, "reason": reason,
           "emergency": False, "sources": sources}
    return user, skwire.encode("command", rec)


def fake_task(user, summary, at):
    """Framed bytes of a task record that matches summary (task_summary);
    the task id depends on user and request only, as the engine's does for
    one review step."""
    rid, kind, state, outcome, target, step, assignees = summary
    rec = {"task_id": hashlib.md5((user + " " + rid).encode()).hexdigest(), "kind": kind,
           "state": state,
           "outcome": outcome, "request_id": rid, "subject": user, "target": target, "step": step,
           "assignees": list(assignees), "emergency": False, "reason": "made up", "at": at}
    return user, skwire.encode("task_event", rec)


def self_test(check):
    """Runs evaluate() on made-up topic contents: first as the engine should
    leave them (no problem may be found), then with one fault at a time, each
    of which must be found."""
    model = Model()
    model.add_shift_user("st-0000", "active")
    model.add_requester("st-0000", False)
    model.add_requester("st-req-0001", True)
    t0 = now_ms()
    cmds, seq = [], 0
    for u, want in model.commands.items():
        for s in want:
            seq += 1
            cmds.append(fake_command(u, s, t0 + seq, seq))
    tasks = [fake_task(u, s, t0 + i) for u, want in model.tasks.items() for i, s in enumerate(want)]
    quiet = []

    def figures(c, t):
        return evaluate(model, c, t, t0, t0 + 1000, quiet.append)

    def problems(f):
        return {k: v for k, v in f.items()
                if k not in ("commands", "request_grants", "tasks", "copies", "task_copies") and v}

    base = problems(figures(cmds + cmds[:2], tasks + tasks[:1]))
    check(not base, "checker self-test: the expected records (with identical duplicates) pass %s"
          % (base or ""))
    auto_grant = [i for i, (k, v) in enumerate(cmds)
                  if command_summary(skwire.decode(v)[1])[1] == "req/auto"][0]
    lost = cmds[:auto_grant] + cmds[auto_grant + 1:]
    f = figures(lost, tasks)
    check(f["missing"] == 1 and f["unexpected"] == 0,
          "checker self-test: a lost request (its GRANT missing) is reported (missing %d)"
          % f["missing"])
    user, _ = cmds[auto_grant]
    summary = command_summary(skwire.decode(cmds[auto_grant][1])[1])
    doubled = cmds + [fake_command(user, summary, t0 + 500, 999)]
    f = figures(doubled, tasks)
    check(f["unexpected"] == 1 and f["missing"] == 0,
          "checker self-test: a doubled GRANT with another command_id is reported (unexpected %d)"
          % f["unexpected"])
    late = cmds[:auto_grant] + [fake_command(user, summary, t0 + 1, 998, expiry_shift=1000)] + \
        cmds[auto_grant + 1:]
    f = figures(late, tasks)
    check(f["expiry_wrong"] == 1, "checker self-test: a request grant expiring 1 s late is "
          "reported (%d)" % f["expiry_wrong"])
    first = model.commands["st-0000"][0]
    altered = cmds + [fake_command("st-0000", first, t0 + 1, 1, reason="altered")]
    f = figures(altered, tasks)
    check(f["different"] == 1, "checker self-test: a command duplicate that is not "
          "byte-identical is reported (%d)" % f["different"])
    f = figures(cmds, tasks[:-1])
    check(f["tasks_missing"] == 1, "checker self-test: a lost CLOSED task is reported (%d)"
          % f["tasks_missing"])
    u0, s0 = "st-req-0001", model.tasks["st-req-0001"][0]
    f = figures(cmds, tasks + [fake_task(u0, s0, t0 + 77)])
    check(f["task_different"] == 1, "checker self-test: a task duplicate that is not "
          "byte-identical is reported (%d)" % f["task_different"])


def revoke_excess(cmd_recs, stamps, probes):
    """The worst excess access per fault kind, in ms: for every REVOKE, when
    Kafka got it minus the expiry it names (expires_at); a probe user's
    REVOKE counts for its fault's kind, any other for "none". Returns
    {kind: (worst ms, REVOKEs measured)}."""
    worst = {}
    for _, v in cmd_recs:
        cmd = skwire.decode(v)[1]
        if cmd["action"] != "REVOKE" or v not in stamps:
            continue
        kind = probes.get(cmd["user"], "none")
        excess = stamps[v] - cmd["expires_at"]
        w, n = worst.get(kind, (None, 0))
        worst[kind] = (excess if w is None or excess > w else w, n + 1)
    return worst


def restore_times(logs):
    """(restores, worst ms) from the engines' "restored from ... in N ms" lines."""
    n, ms = 0, 0
    for path in logs:
        with open(path, errors="replace") as fh:
            for line in fh:
                i = line.find(": restored from ")
                if i >= 0 and " in " in line[i:]:
                    n += 1
                    ms = max(ms, int(line[i:].split(" in ", 1)[1].split(" ", 1)[0]))
    return n, ms


def plant_doubled_grant(bootstrap, cmd_recs):
    """Puts a copy of the first request GRANT in cmd_recs on the commands
    topic, issued 1 s later (expiry moved with it) under another
    command_id: what a request decided twice would leave behind."""
    for key, val in cmd_recs:
        _, cmd = skwire.decode(val)
        if cmd["action"] == "GRANT" and any(s["kind"] == "REQUEST" for s in cmd["sources"]):
            break
    else:
        return
    cmd = dict(cmd, command_id="f" * 32, issued_at=cmd["issued_at"] + 1000,
               expires_at=cmd["expires_at"] + 1000,
               sources=[dict(s, expires_at=s["expires_at"] + 1000) for s in cmd["sources"]])
    p = Producer({"bootstrap.servers": bootstrap, "log_level": 3})
    p.produce(T_COMMANDS, key=key.encode(), value=skwire.encode("command", cmd))
    p.flush(10)
    log("planted fault: a second GRANT %s/%s for %s (%s)" % (
        cmd["app"], cmd["entitlement"], key, cmd["sources"][0]["id"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--requesters", type=int, default=-1,
                    help="users with access requests (default: half of --users)")
    ap.add_argument("--redis-restarts", type=int, default=0)
    ap.add_argument("--broker-outages", type=int, default=0)
    ap.add_argument("--flushalls", type=int, default=0,
                    help="FLUSHALL of Redis mid-run (restored from the changelog)")
    ap.add_argument("--redis-empties", type=int, default=0,
                    help="Redis replaced by an empty one mid-run (restored from the changelog)")
    ap.add_argument("--two-instances", action="store_true")
    ap.add_argument("--spare-s", type=int, default=40,
                    help="seconds of spare time planned after the faults, before the "
                         "workload's timers (the short form in make test: 20)")
    ap.add_argument("--crash-after", type=int, default=5,
                    help="engine 0 exits right after its N-th applied record, then after "
                         "its N-th produced outbox chunk (0: never)")
    ap.add_argument("--poison-big", type=int, default=2,
                    help="inputs of about 1 MB of garbage mixed into the load (each keyed by "
                         "a shift user, on its partition, before one of its events)")
    ap.add_argument("--poison-garbage", type=int, default=6,
                    help="small undecodable inputs mixed into the load likewise")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--plant", choices=["lost-request", "doubled-grant"],
                    help="plant a fault the checks must report, to see them fail: the first "
                         "req/auto CREATED is not produced (lost-request), or a copy of a "
                         "request GRANT with another command_id and expiry is put on the "
                         "commands topic after the run (doubled-grant)")
    args = ap.parse_args()
    if args.requesters < 0:
        args.requesters = args.users // 2
    st = {"passed": 0, "failed": 0}

    def check(ok, what):
        st["passed" if ok else "failed"] += 1
        print(("ok   " if ok else "FAIL ") + what, flush=True)

    self_test(check)
    if st["failed"]:
        print("%d passed, %d failed" % (st["passed"], st["failed"]))
        return 1
    # librdkafka 2.0.2's mock cluster can itself abort under heavy group
    # churn (assertion in rd_kafka_mock_cgrp_member_add). Such a run proves
    # nothing either way: it is reported and run again with another seed.
    for attempt in range(3):
        rc = run_once(args, args.seed + attempt, st["passed"])
        if rc != BROKER_CRASHED:
            return rc
        log("the mock broker crashed (a librdkafka mock limitation, not shiftkey): "
            "run inconclusive, trying again with another seed")
    print("%d passed, 1 failed" % st["passed"])
    return 1


BROKER_CRASHED = 3


def run_once(args, seed, passed_before):
    rnd = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="sk-chaos-")
    checks = {"passed": passed_before, "failed": 0}

    def check(ok, what):
        checks["passed" if ok else "failed"] += 1
        print(("ok   " if ok else "FAIL ") + what, flush=True)

    log("seed %d, %d users, %d requesters, %d kills, %d redis restarts, %d broker outages, "
        "%d FLUSHALLs, %d empty Redis, %d instance(s)" % (
            seed, args.users, args.requesters, args.kills, args.redis_restarts,
            args.broker_outages, args.flushalls, args.redis_empties,
            2 if args.two_instances else 1))
    rig = Rig(tmp, 2 if args.two_instances else 1,
              args.crash_after)
    try:
        for i in range(len(rig.engines)):
            rig.start_engine(i)
        model, events = make_workload(args.users, args.requesters, seed)
        faults = (["kill"] * args.kills + ["redis"] * args.redis_restarts +
                  ["broker"] * args.broker_outages)
        rnd.shuffle(faults)
        # data losses last: the failpoint crashes come first and their outbox
        # must be re-sent before a FLUSHALL can take it (that check needs it)
        losses = ["flushall"] * args.flushalls + ["empty"] * args.redis_empties
        rnd.shuffle(losses)
        faults += losses
        done = {"redis": 0, "broker": 0, "flushall": 0, "empty": 0}
        probes = {}  # measured probe user -> the kind of fault its expiry falls into
        unmeasured = []  # probes not granted in time: all of their commands, or none
        probe_producer = Producer({"bootstrap.servers": rig.bootstrap, "log_level": 3,
                                   "partitioner": "murmur2_random"})

        def probe(kind):
            """A shift whose grant is held when the fault comes, and whose end
            falls PROBE_AFTER_MS into it."""
            user = "probe-%s-%d" % (kind, len(probes) + len(unmeasured))
            t = now_ms()
            lead = PROBE_LEAD_LOSS_MS if kind in ("flushall", "empty") else PROBE_LEAD_MS
            rec = event_record(user, "timer", 0, t, t + lead + PROBE_AFTER_MS)
            probe_producer.produce(T_SCHEDULE, key=user.encode(),
                                   value=skwire.encode("schedule_event", rec))
            probe_producer.flush(10)
            while now_ms() < min(t + lead, faults_until):
                if skproc.redis_user_key(rig.redis_port, user):
                    probes[user] = kind
                    model.add_shift_user(user, "timer")
                    # the fault comes PROBE_AFTER_MS before the shift's end
                    time.sleep(max(0.3, (t + lead - now_ms()) / 1000.0))
                    return
                time.sleep(0.05)
            unmeasured.append(user)
        duration = max(8.0, 3.0 * len(faults))
        produced = {"shift": 0, "request": 0, "resent": 0}
        last_sent = {}
        t_start = now_ms()
        planted = []
        # the workload's timers end after the faults (probes and the wait
        # before a data loss make that phase longer), during the run; the
        # faults never run into them (faults_until)
        timers_from = (t_start + int(duration * 1000) + args.spare_s * 1000 + 7000 * len(faults) +
                       20000 * len(losses))
        faults_until = timers_from - 15000
        poison = poison_plan(events, args.poison_big, args.poison_garbage, seed)

        def produce():
            p = Producer({"bootstrap.servers": rig.bootstrap, "enable.idempotence": True,
                          "partitioner": "murmur2_random", "message.max.bytes": 2000000,
                          "log_level": 3})
            gap = duration / max(1, len(events))
            for i, (stream, user, what, step) in enumerate(events):
                t = now_ms()
                if i in poison:
                    # before the user's event, in the user's partition: its
                    # commands come behind the poison
                    p.produce(T_SCHEDULE, key=user.encode(), value=poison[i])
                    p.poll(0)
                if args.plant == "lost-request" and stream == "request" and step == 0 and \
                        "resend" not in what and not planted:
                    planted.append(user)
                    log("planted fault: %s's req/auto CREATED is not produced" % user)
                    continue
                if stream == "shift":
                    # ends after the faults (a kill can keep partitions unowned
                    # until the dead member's session times out), during the run
                    rec = event_record(user, what, step, t, timers_from + rnd.randint(0, 10000))
                    p.produce(T_SCHEDULE, key=user.encode(),
                              value=skwire.encode("schedule_event", rec))
                else:
                    if what[step] == "resend":
                        # the same signed bytes again: the engine refuses the replay
                        value, env = last_sent[user]
                        produced["resent"] += 1
                    else:
                        value = skwire.encode("access_request_event",
                                              request_record(user, what[step], t))
                        env = sksign.envelope(CHAOS_FRONT_KEY, CHAOS_FRONT, T_REQUESTS, user,
                                              value)
                        last_sent[user] = (value, env)
                    p.produce(T_REQUESTS, key=user.encode(), value=value,
                              headers=[(sksign.HEADER, env)])
                p.poll(0)
                produced[stream] += 1
                time.sleep(gap)
            left = p.flush(30)
            if left:
                log("producer: %d records not delivered" % left)

        def n_produced():
            return produced["shift"] + produced["request"]

        producer = threading.Thread(target=produce)
        producer.start()
        t_fault = duration / (len(faults) + 1)
        for f in faults:
            time.sleep(t_fault * rnd.uniform(0.5, 1.5))
            rig.restart_crashed()
            if f in ("flushall", "empty") and args.crash_after and rig.crashes < 2:
                until = min(time.time() + 30, faults_until / 1000.0 - 8)
                while rig.crashes < 2 and time.time() < until:
                    rig.restart_crashed()
                    time.sleep(0.5)
                # the restarted engine re-sends what the crash left staged
                time.sleep(max(0.0, min(6.0, faults_until / 1000.0 - 2 - time.time())))
            probe(f)
            if f == "kill":
                i = rnd.randrange(len(rig.engines))
                rig.kill_engine(i)
                log("SIGKILL engine %d after %d records produced; restarting" % (i, n_produced()))
                rig.start_engine(i)
            elif f == "redis":
                log("restarting redis-server after %d records produced" % n_produced())
                rig.stop_redis()
                time.sleep(1.0)
                rig.start_redis()
                done["redis"] += 1
            elif f == "broker":
                log("broker down for 2 s after %d records produced, then 5 produce requests "
                    "refused (NOT_LEADER_OR_FOLLOWER)" % n_produced())
                rig.broker_cmd("down")
                time.sleep(2.0)
                rig.broker_cmd("up")
                rig.broker_cmd("errors 5 6")
                done["broker"] += 1
            elif f == "flushall":
                log("FLUSHALL of Redis after %d records produced" % n_produced())
                rig.redis_cli("FLUSHALL")
                done["flushall"] += 1
            else:
                log("Redis replaced by an empty one after %d records produced" % n_produced())
                rig.empty_redis()
                done["empty"] += 1
        while producer.is_alive():
            rig.restart_crashed()
            producer.join(0.5)

        # converge: wait until every expected command and task is there
        # (timers included)
        n_expected, n_tasks = model.n_commands(), model.n_tasks()
        deadline = time.time() + 120
        stamps = {}
        while True:
            recs = read_topics(rig.bootstrap, [T_COMMANDS, T_TASKS], 2.0, stamps)
            n_cmds = len({skwire.decode(v)[1]["command_id"] for _, v in recs[T_COMMANDS]})
            n_found_tasks = len({(t["task_id"], t["state"], t["outcome"])
                                 for t in (skwire.decode(v)[1] for _, v in recs[T_TASKS])})
            if ((n_cmds >= n_expected and n_found_tasks >= n_tasks) or time.time() > deadline or
                    rig.broker.poll() is not None):
                break
            rig.restart_crashed()
            time.sleep(2)

        if rig.broker.poll() is not None:
            return BROKER_CRASHED
        for user in unmeasured:  # granted late, or never: both commands, or none
            if any(k == user for k, _ in recs[T_COMMANDS]):
                model.add_shift_user(user, "timer")
        dead = read_topics(rig.bootstrap, [T_DEADLETTER], 2.0)[T_DEADLETTER]
        pf = poison_figures(poison, dead)
        if args.plant == "doubled-grant":
            plant_doubled_grant(rig.bootstrap, recs[T_COMMANDS])
            recs = read_topics(rig.bootstrap, [T_COMMANDS, T_TASKS], 2.0)

        f = evaluate(model, recs[T_COMMANDS], recs[T_TASKS], t_start, now_ms(), log)
        n_reviewed = sum(1 for r in model.requests.values() for v in r.values() if v[2])
        print()
        print("records in           %d (%d shift events, %d request events of which %d "
              "sent twice)" % (n_produced(), produced["shift"], produced["request"],
                               produced["resent"]))
        print("requests             %d (%d auto-approved, %d reviewed and approved)" % (
            model.n_requests(), model.n_requests() - n_reviewed, n_reviewed))
        print("commands expected    %d (of which %d request GRANTs)" % (
            n_expected, model.n_requests()))
        print("commands found       %d (distinct ids; %d held by a request)" % (
            f["commands"], f["request_grants"]))
        print("missing              %d" % f["missing"])
        print("unexpected           %d" % f["unexpected"])
        print("request expiry wrong %d" % f["expiry_wrong"])
        print("duplicate copies     %d (of which not byte-identical: %d)" % (
            f["copies"], f["different"]))
        print("tasks expected       %d" % n_tasks)
        print("tasks found          %d (distinct task id + state + outcome)" % f["tasks"])
        print("tasks missing        %d" % f["tasks_missing"])
        print("tasks unexpected     %d" % f["tasks_unexpected"])
        print("task copies          %d (of which not byte-identical: %d)" % (
            f["task_copies"], f["task_different"]))
        print("poison inputs        %d (%d of %d bytes or more, %d small garbage); "
              "dead-lettered %d, largest dead letter %d bytes, largest payload kept %d bytes" % (
                  len(poison), pf["big"], BIG_POISON, len(poison) - pf["big"], pf["found"],
                  pf["largest"], pf["largest_payload"]))
        print("kills survived       %d (SIGKILL) + %d (failpoints: after apply, before trim)" % (
            rig.kills, rig.crashes))
        print("restarts, outages    %d redis-server restart(s), %d broker outage(s)" % (
            done["redis"], done["broker"]))
        n_restores, restore_ms = restore_times(rig.engine_logs)
        print("data losses          %d FLUSHALL, %d Redis replaced by an empty one: %d partition "
              "restores from the changelog, the slowest %d ms" % (
                  done["flushall"], done["empty"], n_restores, restore_ms))
        excess = revoke_excess(recs[T_COMMANDS], stamps, probes)
        if unmeasured:
            print("probes not measured  %d (the engine was busy elsewhere for %d ms)" % (
                len(unmeasured), PROBE_LEAD_MS))
        for kind in sorted(excess):
            print("worst excess access  %-9s %6d ms (%d REVOKEs measured; bound %d ms)" % (
                kind, excess[kind][0], excess[kind][1], excess_bound(kind)))
        print()
        check(f["missing"] == 0, "every expected command is on the topic")
        check(all(w <= excess_bound(k) for k, (w, _) in excess.items()) and
              all(k in excess for k in set(probes.values())),
              "no access outlives its expiry by more than %d ms after a data loss, %d ms after "
              "any other fault (every measured probe revoked)" % (EXCESS_BOUND_LOSS_MS,
                                                                   EXCESS_BOUND_MS))
        if done["flushall"] or done["empty"]:
            check(n_restores >= 1, "the data losses were restored from the changelog")
        check(f["unexpected"] == 0, "no command that should not exist")
        check(pf["found"] == len(poison) and pf["largest_payload"] <= 8192 and
              pf["largest"] <= 8192 + 2048,
              "every poison input is dead-lettered with its length and SHA-256 and at most "
              "8192 bytes of it, while every expected command is found")
        check(f["expiry_wrong"] == 0,
              "every request grant expires at its decision time + the (capped) duration")
        check(f["different"] == 0, "every duplicate is byte-identical to its first copy")
        check(f["cmd_bad_keys"] == 0 and f["task_bad_keys"] == 0,
              "every command and task is keyed by its user")
        check(f["tasks_missing"] == 0 and f["tasks_unexpected"] == 0,
              "every reviewed request has exactly its CREATED and CLOSED/APPROVED task")
        check(f["task_different"] == 0 and f["task_ids_split"] == 0,
              "every task duplicate is byte-identical; one task id per request")
        if args.crash_after:
            check(rig.crashes >= 2 and f["copies"] >= 1,
                  "both failpoint crashes happened; outputs produced before the crash were "
                  "re-sent byte-identical")

        wrong = redis_errors(rig, model, log)
        check(wrong == 0, "Redis holds exactly the expected grants, request sources and "
              "APPROVED requests (%d users)" % len(model.label))

        # a clean stop still works after all that
        rcs = [rig.kill_engine(i, signal.SIGTERM) for i in range(len(rig.engines))]
        check(all(rc == 0 for rc in rcs), "SIGTERM: every engine exits 0 (%s)" % rcs)
    finally:
        rig.close()
        if checks["failed"]:
            keep = os.path.join(ROOT, "build", "test", "logs")
            os.makedirs(keep, exist_ok=True)
            for path in rig.engine_logs:
                shutil.copy(path, os.path.join(keep, "chaos-" + os.path.basename(path)))
            print("engine logs kept in %s/chaos-engine-*.log" % keep)
            for path in rig.engine_logs:
                print("---- tail of %s" % path)
                with open(path, errors="replace") as fh:
                    lines = [ln for ln in fh.readlines() if not ln.startswith("%")]
                print("".join(lines[-30:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (checks["passed"], checks["failed"]))
    return 1 if checks["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
