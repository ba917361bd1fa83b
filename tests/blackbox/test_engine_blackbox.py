#!/usr/bin/python3
"""Black-box test of shiftkeyd, with clients nobody on the team wrote.

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_engine_blackbox.py

It starts a private redis-server on a free loopback port and the engine
(build/test/bin/shiftkeyd, or $SK_SHIFTKEYD) with its embedded Kafka-protocol
broker and rules/examples, then talks to them only through Debian's
python3-confluent-kafka, python3-avro (via skwire.py), kcat and redis-cli:

  - a timed shift in demo-primary: 2 GRANTs (demo/console, demo/deploy,
    expires_at = end, 32-hex ids), then 2 REVOKEs by the durable timer
    (no end event) no earlier than the end and within end + 2 s;
  - overlapping shifts (demo-primary + demo-secondary): ENDED in primary
    revokes only demo/deploy (demo/console is EXTENDed to the secondary's
    end), and the secondary's end revokes demo/console;
  - the same event produced twice: one GRANT, nothing more;
  - an unknown rotation and a value that is not Avro: dead letters whose
    reason names the rotation / the framing, key and payload unchanged;
  - kcat: the four topics exist; every user with a decision has audit
    records; one audit record decodes with a decision and a trace;
  - redis-cli: the active user's state (a packed value in its partition's
    users hash, decoded by skproc.unpack_state) and timer (sk:{pN}:users,
    sk:{pN}:timers), no TTL;
  - SIGTERM: exit status 0 within 10 s, no sanitizer report.

Prints one line per check ("ok   ..." / "FAIL ...") and ends with
"N passed, N failed"; exit status 1 on any failure. Takes about 20 s.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import skwire  # noqa: E402
# the shared helpers (tests/lib/skproc.py); the other black-box tests import
# them from here. wait_until here takes an absolute deadline (time.time() + s).
from skproc import Reader, free_port, read_text, tail  # noqa: E402,F401
from skproc import redis_user_key, redis_user_packed, redis_user_state  # noqa: E402
from skproc import wait_deadline as wait_until  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

SHIFTKEYD = os.environ.get("SK_SHIFTKEYD", os.path.join("build", "test", "bin", "shiftkeyd"))
RULES = os.path.join("rules", "examples")
PARTITIONS = 4
T_SCHEDULE = "shiftkey.schedule.v1"
T_COMMANDS = "shiftkey.commands.v1"
T_AUDIT = "shiftkey.audit.v1"
T_DEADLETTER = "shiftkey.deadletter.v1"
TOPICS = [T_SCHEDULE, T_COMMANDS, T_AUDIT, T_DEADLETTER]
HEX32 = re.compile(r"^[0-9a-f]{32}$")

passed = 0
failed = 0


def check(name, ok, detail=""):
    """Records one check; returns ok so later checks can depend on it."""
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + detail) if detail else ""), flush=True)
    return bool(ok)


def now_ms():
    return int(time.time() * 1000)


def run(argv, timeout=10):
    """(exit status, stdout) of a short command; never raises on failure."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, ("%s: %s" % (type(e).__name__, e)).encode()
    return p.returncode, p.stdout


def commands_for(reader, user, action=None):
    def pred(r):
        rec = r["rec"]
        return (rec is not None and rec.get("user") == user
                and (action is None or rec.get("action") == action))
    return reader.select(T_COMMANDS, pred)


def ents(recs):
    return sorted("%s/%s" % (r["rec"]["app"], r["rec"]["entitlement"]) for r in recs)


def main():
    global failed
    tmp = tempfile.mkdtemp(prefix="sk-bb-")
    engine_log = os.path.join(tmp, "shiftkeyd.stderr")
    show_log = False
    t_start = time.time()
    try:
        show_log = not scenario(tmp, engine_log)
    except Exception as e:
        failed += 1
        print("FAIL test aborted: %s: %s" % (type(e).__name__, e), flush=True)
        show_log = True
    finally:
        stop_clients()
        for key in ("engine", "redis"):
            p = procs.get(key)
            if p is not None and p.poll() is None:
                p.kill()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        if show_log or failed:
            print("--- last lines of shiftkeyd's stderr (%s):" % engine_log)
            print(tail(engine_log))
            print("---")
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.time() - t_start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


procs = {}  # what main() must stop: "reader", "producer", "engine", "redis"


def stop_clients():
    reader = procs.pop("reader", None)
    if reader is not None:
        reader.stop.set()
        reader.join(5)
    producer = procs.pop("producer", None)
    if producer is not None:
        producer.flush(2)


def scenario(tmp, engine_log):
    """Runs every check; returns False when setup failed (nothing to test)."""
    nonce = uuid.uuid4().hex[:6]
    # ---- redis-server ----
    port = free_port()
    redis_log = open(os.path.join(tmp, "redis.log"), "wb")
    procs["redis"] = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tmp],
        stdout=redis_log, stderr=subprocess.STDOUT)
    redis_log.close()
    ok = wait_until(lambda: run(["redis-cli", "-p", str(port), "ping"], 2)[1].strip() == b"PONG",
                    time.time() + 10, 0.1)
    if not check("redis-server answers PING on 127.0.0.1:%d" % port, ok,
                 tail(os.path.join(tmp, "redis.log"), 10)):
        return False

    def rcli(*args):
        rc, out = run(["redis-cli", "-p", str(port)] + list(args), 5)
        return out.decode("utf-8", "replace").strip() if rc == 0 else None

    # ---- shiftkeyd ----
    boot_file = os.path.join(tmp, "bootstrap")
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    err = open(engine_log, "wb")
    procs["engine"] = engine = subprocess.Popen(
        [SHIFTKEYD, "--kafka", "embedded", "--bootstrap-file", boot_file, "--rules", RULES,
         "--redis", "127.0.0.1:%d" % port, "--partitions", str(PARTITIONS), "--group", "bb",
         "--timer-interval-ms", "100"],
        stdout=subprocess.DEVNULL, stderr=err, env=env)
    err.close()

    def boot_ready():
        try:
            with open(boot_file) as f:
                return f.read().strip()
        except OSError:
            return ""
    bootstrap = wait_until(lambda: boot_ready() or engine.poll() is not None, time.time() + 15, 0.1)
    bootstrap = boot_ready()
    if not check("shiftkeyd writes the bootstrap file", bootstrap and engine.poll() is None,
                 "exit status %r" % engine.poll()):
        return False

    def assigned():
        return set(re.findall(r"assigned %s\[(\d+)\]" % re.escape(T_SCHEDULE), read_text(engine_log)))
    got = wait_until(lambda: len(assigned()) == PARTITIONS or engine.poll() is not None,
                     time.time() + 20, 0.1)
    if not check("shiftkeyd logs 'assigned %s[N]' for all %d partitions" % (T_SCHEDULE, PARTITIONS),
                 len(assigned()) == PARTITIONS and engine.poll() is None,
                 "saw partitions %s, exit status %r" % (sorted(assigned()), engine.poll())):
        return False

    # ---- kcat -L: topics ----
    rc, out = run(["kcat", "-b", bootstrap, "-L", "-m", "5"], 15)
    listing = out.decode("utf-8", "replace")
    for t in TOPICS:
        m = re.search(r'topic "%s" with (\d+) partitions' % re.escape(t), listing)
        check("kcat -L lists topic %s with %d partitions" % (t, PARTITIONS),
              rc == 0 and m and int(m.group(1)) == PARTITIONS,
              "exit %d, %s" % (rc, m.group(0) if m else "not listed"))

    # ---- our reader ----
    reader = Reader(bootstrap, [T_COMMANDS, T_AUDIT, T_DEADLETTER])
    procs["reader"] = reader
    reader.start()
    ok = wait_until(lambda: len(reader.assigned) == 3 * PARTITIONS, time.time() + 20, 0.1)
    if not check("confluent_kafka consumer is assigned the 3 output topics",
                 ok, "assigned %s, errors %s" % (sorted(reader.assigned), reader.errors[:3])):
        return False

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "partitioner": "murmur2_random"})
    procs["producer"] = producer
    delivery_errors = []

    def produce(key, value):
        producer.produce(T_SCHEDULE, key=key.encode() if isinstance(key, str) else key, value=value,
                         on_delivery=lambda e, m: e and delivery_errors.append(str(e)))

    def event(etype, rotation, user, shift_id, start, end, event_id=None):
        return skwire.encode("schedule_event", {
            "event_id": event_id or "ev-" + uuid.uuid4().hex, "type": etype, "source": "bb",
            "rotation": rotation, "user": user, "shift_id": shift_id, "start": start, "end": end,
            "escalation_level": 1, "occurred_at": now_ms()})

    ua = "bb-timed-%s" % nonce       # demo-primary, ends by the timer
    ub = "bb-overlap-%s" % nonce     # demo-primary + demo-secondary
    uc = "bb-dup-%s" % nonce         # the same event twice; long shift (Redis checks)
    ud = "bb-unknown-%s" % nonce     # unknown rotation
    ue = "bb-garbage-%s" % nonce     # not Avro at all
    uf = "bb-keyed-%s" % nonce       # event of uf keyed by another user
    other = "bb-other-%s" % nonce
    unknown_rotation = "no-such-rotation-%s" % nonce
    garbage = b"this is not avro at all, no framing"

    t0 = now_ms()
    a_end = t0 + 3000
    b_pri_end = t0 + 60000
    b_sec_end = t0 + 7000
    c_end = t0 + 60000
    produce(ua, event("STARTED", "demo-primary", ua, "sh-a", t0, a_end))
    produce(ub, event("STARTED", "demo-primary", ub, "sh-b-pri", t0, b_pri_end))
    produce(ub, event("STARTED", "demo-secondary", ub, "sh-b-sec", t0, b_sec_end))
    dup = event("STARTED", "demo-secondary", uc, "sh-c", t0, c_end)
    produce(uc, dup)
    produce(uc, dup)
    bad_event = event("STARTED", unknown_rotation, ud, "sh-d", t0, t0 + 60000)
    produce(ud, bad_event)
    produce(ue, garbage)
    wrong_key = event("STARTED", "demo-primary", uf, "sh-f", t0, t0 + 60000)
    produce(other, wrong_key)
    left = producer.flush(10)
    check("producer delivered the schedule events", left == 0 and not delivery_errors,
          "%d not delivered, errors %s" % (left, delivery_errors[:3]))

    # ---- case A: GRANTs ----
    grants_a = wait_until(lambda: len(commands_for(reader, ua, "GRANT")) >= 2 and
                          commands_for(reader, ua, "GRANT"), time.time() + 10)
    grants_a = commands_for(reader, ua, "GRANT")
    check("A: STARTED demo-primary -> GRANT demo/console + demo/deploy",
          ents(grants_a) == ["demo/console", "demo/deploy"],
          "got %s" % [(r["rec"]["action"], r["rec"]["entitlement"]) for r in commands_for(reader, ua)])
    check("A: GRANT expires_at == shift end",
          grants_a and all(r["rec"]["expires_at"] == a_end for r in grants_a),
          "end %d, got %s" % (a_end, [r["rec"]["expires_at"] for r in grants_a]))
    check("A: command ids are 32 lowercase hex, distinct",
          grants_a and all(HEX32.match(r["rec"]["command_id"]) for r in grants_a)
          and len({r["rec"]["command_id"] for r in grants_a}) == len(grants_a),
          "got %s" % [r["rec"]["command_id"] for r in grants_a])
    check("A: commands are keyed by the user",
          grants_a and all(r["key"] == ua.encode() for r in grants_a),
          "keys %s" % [r["key"] for r in grants_a])
    check("A: GRANT sources name the demo-primary shift",
          grants_a and all(any(s["kind"] == "SHIFT" and s["id"] == "sh-a" and
                               s["rotation"] == "demo-primary" for s in r["rec"]["sources"])
                           for r in grants_a),
          "got %s" % [r["rec"]["sources"] for r in grants_a])

    # ---- case B: overlap, then ENDED in primary ----
    wait_until(lambda: len(commands_for(reader, ub, "GRANT")) >= 2, time.time() + 10)
    # The secondary's STARTED is audited once it is applied (no command: the
    # primary already holds demo/console until later).
    wait_until(lambda: len(reader.select(T_AUDIT, lambda r: r["key"] == ub.encode())) >= 2,
               time.time() + 10)
    grants_b = commands_for(reader, ub, "GRANT")
    check("B: STARTED demo-primary + demo-secondary -> GRANT demo/console + demo/deploy once",
          ents(grants_b) == ["demo/console", "demo/deploy"]
          and all(r["rec"]["expires_at"] == b_pri_end for r in grants_b),
          "got %s" % [(r["rec"]["action"], r["rec"]["entitlement"], r["rec"]["expires_at"])
                      for r in commands_for(reader, ub)])
    t_end_b = now_ms()
    check("B: ENDED is produced before the secondary shift's end",
          t_end_b < b_sec_end - 2000, "%d ms before" % (b_sec_end - t_end_b))
    produce(ub, event("ENDED", "demo-primary", ub, "sh-b-pri", t0, t_end_b))
    producer.flush(10)
    wait_until(lambda: commands_for(reader, ub, "REVOKE"), time.time() + 5)
    time.sleep(0.5)  # room for a wrong extra REVOKE to show
    revokes_b = [r for r in commands_for(reader, ub, "REVOKE") if r["at"] * 1000 < b_sec_end]
    check("B: ENDED demo-primary -> REVOKE demo/deploy only",
          ents(revokes_b) == ["demo/deploy"],
          "REVOKEs before the secondary's end: %s" % ents(revokes_b))
    ext_b = commands_for(reader, ub, "EXTEND")
    check("B: demo/console is EXTENDed to the secondary shift's end",
          ents(ext_b) == ["demo/console"] and ext_b[0]["rec"]["expires_at"] == b_sec_end,
          "EXTENDs %s, secondary end %d" % ([(r["rec"]["entitlement"], r["rec"]["expires_at"])
                                            for r in ext_b], b_sec_end))

    # ---- case C: duplicate; Redis state while active ----
    wait_until(lambda: commands_for(reader, uc), time.time() + 10)
    grants_c = commands_for(reader, uc)
    check("C: STARTED demo-secondary -> GRANT demo/console",
          [r["rec"]["action"] for r in grants_c][:1] == ["GRANT"]
          and ents(grants_c[:1]) == ["demo/console"] and grants_c[0]["rec"]["expires_at"] == c_end,
          "got %s" % [(r["rec"]["action"], r["rec"]["entitlement"]) for r in grants_c])

    ukey = (redis_user_key(port, uc) or (0, "sk:{p?}:users"))[1]
    check("redis: a users hash sk:{pN}:users holds %s while the grant is active" % uc,
          re.match(r"^sk:\{p\d+\}:users$", ukey), "found %s" % ukey)
    ttl = rcli("TTL", ukey)
    check("redis: %s has no TTL (the keep-until sweep drops its state)" % ukey, ttl == "-1",
          "TTL %r" % ttl)
    try:
        state = redis_user_state(port, uc) or {}
    except ValueError as e:
        state = {"(damaged)": str(e)}
    fields = sorted(state)
    check("redis: %s's packed value holds the shift and the demo/console source" % uc,
          any(f.startswith("s:") and "sh-c" in f for f in fields)
          and any(f.startswith("g:demo/console") and state[f].split(" ")[0] == str(c_end)
                  for f in fields), "fields %s" % state)
    tkeys = (rcli("--scan", "--pattern", "sk:*:timers") or "").split()
    holder = [(k, rcli("ZSCORE", k, uc)) for k in tkeys]
    holder = [(k, s) for k, s in holder if s]
    check("redis: exactly one sk:{pN}:timers holds %s, in the user key's partition" % uc,
          len(holder) == 1 and holder[0][0].split(":")[1] == ukey.split(":")[1],
          "timer keys %s, holding %s" % (tkeys, holder))
    score = holder[0][1] if holder else None
    check("redis: ZSCORE of the timer == the grant's end",
          score is not None and int(float(score)) == c_end, "score %r, end %d" % (score, c_end))
    zr = (rcli("ZRANGE", holder[0][0], "0", "-1") or "").split() if holder else []
    check("redis: ZRANGE of the timers key lists the active user", uc in zr, "ZRANGE %s" % zr)

    # ---- dead letters ----
    # Matched on the original key kept in the record (the Kafka key of the
    # dead letter of an undecodable record is not the original key).
    def dl_for(key):
        return reader.select(T_DEADLETTER, lambda r: r["rec"] and r["rec"]["key"] == key.encode())
    wait_until(lambda: dl_for(ud) and dl_for(ue) and dl_for(other), time.time() + 10)
    for user, payload, what, needles, kind in (
            (ud, bad_event, "unknown rotation", [unknown_rotation], "UNKNOWN_REFERENCE"),
            (ue, garbage, "non-Avro value", ["framing"], "UNDECODABLE"),
            (other, wrong_key, "record keyed by another user", [other, uf, "key"], "INVALID")):
        dls = dl_for(user)
        rec = dls[0]["rec"] if dls and dls[0]["rec"] else None
        check("dead letter: %s -> one record on %s" % (what, T_DEADLETTER),
              len(dls) == 1 and rec is not None and dls[0]["name"] == "dead_letter",
              "got %d, decode error %s" % (len(dls), dls[0]["error"] if dls else None))
        check("dead letter: %s: reason names it (%s), kind %s" % (what, ", ".join(needles), kind),
              rec is not None and all(n in rec["reason"] for n in needles) and rec["kind"] == kind,
              "kind %s, reason %r" % (rec and rec["kind"], rec and rec["reason"]))
        check("dead letter: %s: original key and payload unchanged, origin is the schedule topic"
              % what, rec is not None and rec["key"] == user.encode() and rec["payload"] == payload
              and rec["origin"]["topic"] == T_SCHEDULE and rec["origin"]["offset"] >= 0,
              "key %r, origin %r" % (rec and rec["key"], rec and rec["origin"]))
    check("dead letter: no command for the refused users",
          not any(commands_for(reader, u) for u in (ud, ue, uf, other)),
          "%s" % [len(commands_for(reader, u)) for u in (ud, ue, uf, other)])
    aud_d = [r["rec"] for r in reader.select(T_AUDIT, lambda r: r["rec"] and r["rec"]["user"] == ud)]
    check("audit: the unknown rotation's refusal is audited as 'rejected'",
          [a["decision"] for a in aud_d] == ["rejected"] and not aud_d[0]["command_ids"],
          "audits %s" % [(a["decision"], a["command_ids"]) for a in aud_d])

    # ---- case A: REVOKE by the timer, no end event ----
    wait_until(lambda: len(commands_for(reader, ua, "REVOKE")) >= 2, a_end / 1000.0 + 2.0)
    revokes_a = commands_for(reader, ua, "REVOKE")
    late = [int(r["at"] * 1000) - a_end for r in revokes_a]
    check("A: no end event -> REVOKE demo/console + demo/deploy within end + 2 s",
          ents(revokes_a) == ["demo/console", "demo/deploy"] and all(d <= 2000 for d in late),
          "got %s, arrived %s ms after the end" % (ents(revokes_a), late))
    check("A: REVOKE issued no earlier than the end, expires_at == old expiry",
          revokes_a and all(r["rec"]["issued_at"] >= a_end and r["rec"]["expires_at"] == a_end
                            for r in revokes_a),
          "end %d, got %s" % (a_end, [(r["rec"]["issued_at"], r["rec"]["expires_at"])
                                      for r in revokes_a]))
    check("A: REVOKE ids are 32 hex and differ from the GRANT ids",
          revokes_a and all(HEX32.match(r["rec"]["command_id"]) for r in revokes_a)
          and not ({r["rec"]["command_id"] for r in revokes_a}
                   & {r["rec"]["command_id"] for r in grants_a}),
          "%s" % [r["rec"]["command_id"] for r in revokes_a])
    tkeys = (rcli("--scan", "--pattern", "sk:*:timers") or "").split()
    left_timers = [(k, rcli("ZSCORE", k, ua)) for k in tkeys if rcli("ZSCORE", k, ua)]
    packed = redis_user_packed(port, ua)
    keep = packed[0] if packed else None
    check("redis: after the REVOKE no timer is left for %s and its state keeps a "
          "keep-until after the end (no TTL, no timer: the keep-until sweep drops it)" % ua,
          keep is not None and not left_timers and keep > a_end,
          "timers %s, keep-until %s" % (left_timers, keep))

    # ---- case B: the secondary's end revokes demo/console ----
    # Nothing may revoke demo/console before the secondary shift ends.
    wait_until(lambda: [r for r in commands_for(reader, ub, "REVOKE")
                        if r["rec"]["entitlement"] == "console"], b_sec_end / 1000.0 - 0.2)
    early = [r for r in commands_for(reader, ub, "REVOKE")
             if r["rec"]["entitlement"] == "console" and r["at"] * 1000 < b_sec_end]
    check("B: demo/console is not revoked before the secondary shift's end",
          not early, "revoked %d ms early" % (b_sec_end - early[0]["at"] * 1000) if early else "")
    wait_until(lambda: [r for r in commands_for(reader, ub, "REVOKE")
                        if r["rec"]["entitlement"] == "console"], b_sec_end / 1000.0 + 2.0)
    con = [r for r in commands_for(reader, ub, "REVOKE") if r["rec"]["entitlement"] == "console"]
    check("B: the secondary's end passes -> REVOKE demo/console within end + 2 s",
          len(con) == 1 and con[0]["at"] * 1000 - b_sec_end <= 2000
          and con[0]["rec"]["issued_at"] >= b_sec_end,
          "got %d, %s" % (len(con), [(int(r["at"] * 1000) - b_sec_end) for r in con]))

    # ---- quiet period: no extra commands ----
    time.sleep(2.0)
    check("C: the duplicate event caused no extra command",
          len(commands_for(reader, uc)) == 1,
          "got %s" % [(r["rec"]["action"], r["rec"]["entitlement"]) for r in commands_for(reader, uc)])
    check("A: exactly 4 commands in all (2 GRANT, 2 REVOKE)", len(commands_for(reader, ua)) == 4,
          "got %s" % [(r["rec"]["action"], r["rec"]["entitlement"]) for r in commands_for(reader, ua)])
    check("B: exactly 5 commands in all (2 GRANT, REVOKE deploy, EXTEND console, REVOKE console)",
          len(commands_for(reader, ub)) == 5,
          "got %s" % [(r["rec"]["action"], r["rec"]["entitlement"]) for r in commands_for(reader, ub)])
    undecodable = reader.select(T_COMMANDS, lambda r: r["rec"] is None) + \
        reader.select(T_AUDIT, lambda r: r["rec"] is None) + \
        reader.select(T_DEADLETTER, lambda r: r["rec"] is None)
    check("every output record decodes with skwire", not undecodable,
          "%d undecodable, first: %s" % (len(undecodable), undecodable[0]["error"] if undecodable else ""))

    # ---- audit, through kcat ----
    rc, out = run(["kcat", "-C", "-b", bootstrap, "-t", T_AUDIT, "-o", "beginning", "-e",
                   "-q", "-f", "%k %p %o\n"], 20)
    rows = [ln.split(" ") for ln in out.decode("utf-8", "replace").splitlines() if ln.strip()]
    keys = [r[0] for r in rows]
    for user, n in ((ua, 2), (ub, 4), (uc, 2)):
        # A: grant + timer revoke; B: 2 STARTED, ENDED, timer; C: 2 events
        check("audit (kcat): at least %d records keyed %s" % (n, user),
              rc == 0 and keys.count(user) >= n, "exit %d, %d records" % (rc, keys.count(user)))
    one = next((r for r in rows if r[0] == ua), None)
    rec = None
    if one:
        rc2, raw = run(["kcat", "-C", "-b", bootstrap, "-t", T_AUDIT, "-p", one[1], "-o", one[2],
                        "-c", "1", "-e", "-q", "-f", "%s"], 10)
        try:
            name, rec = skwire.decode(raw)
        except Exception as e:
            name, rec = "error: %s" % e, None
    check("audit (kcat): one record of %s decodes as audit_record" % ua,
          rec is not None and name == "audit_record" and rec["user"] == ua,
          "row %s, %s" % (one, rec if rec is None else name))
    check("audit (kcat): its decision and trace are non-empty",
          rec is not None and rec["decision"] and rec["trace"] and all(rec["trace"]),
          "decision %r, trace %r" % (rec and rec["decision"], rec and rec["trace"]))
    # Cross-check with the commands: the decision that granted A lists
    # exactly the GRANT command ids.
    aud_a = [r["rec"] for r in reader.select(T_AUDIT, lambda r: r["rec"] and r["rec"]["user"] == ua)]
    gids = sorted(r["rec"]["command_id"] for r in grants_a)
    check("audit: A's granting decision lists the GRANT command ids",
          any(sorted(a["command_ids"]) == gids and a["decision"] for a in aud_a),
          "audits %s" % [(a["decision"], a["command_ids"]) for a in aud_a])
    rids = sorted(r["rec"]["command_id"] for r in revokes_a)
    check("audit: A's timer decision lists the REVOKE ids, actor 'timer', origin offset -1",
          any(sorted(a["command_ids"]) == rids and a["actor"] == "timer"
              and a["origin"]["offset"] == -1 for a in aud_a),
          "audits %s" % [(a["decision"], a["actor"], a["origin"], a["command_ids"]) for a in aud_a])

    # ---- SIGTERM ----
    # Our clients go first, so that they do not log the broker's going away.
    stop_clients()
    del producer
    engine.send_signal(signal.SIGTERM)
    try:
        rc = engine.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    check("SIGTERM: shiftkeyd exits with status 0 within 10 s", rc == 0, "exit status %r" % rc)
    log = read_text(engine_log)
    check("shiftkeyd's stderr has no sanitizer report",
          "AddressSanitizer" not in log and "runtime error:" not in log,
          "see the tail below")
    return True


if __name__ == "__main__":
    sys.exit(main())
