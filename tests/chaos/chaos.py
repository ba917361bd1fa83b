"""Fault test: nothing lost, nothing applied twice.

Runs a real redis-server (append-only, fsync always), the mock Kafka broker
as its own process (tests/chaos/mock_broker), and one or two shiftkeyd
processes. A steady load of shift events with known expected outcomes is
produced with Python's confluent_kafka (Avro by python3-avro through
tests/blackbox/skwire.py), while the engine is killed with SIGKILL at random
moments and restarted, Redis is restarted and the broker set down and up.
At the end every expected command must be on the commands topic, every
duplicate byte-identical to its first copy, no unexpected command may exist,
and Redis must hold exactly the expected grants.

    /usr/bin/python3 tests/chaos/chaos.py --kills 3 --users 60     # short form
    make chaos                                                     # long form

Prints the figures and ends with "N passed, N failed".
"""

import argparse
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
import skwire  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

SHIFTKEYD = os.environ.get("SK_SHIFTKEYD", os.path.join(ROOT, "build/test/bin/shiftkeyd"))
BROKER = os.path.join(ROOT, "build/test/bin/chaos/mock_broker")
RULES = os.path.join(ROOT, "tests/rules/engine")
PARTITIONS = 8
HOUR = 3600 * 1000

# scenario -> expected (action, entitlement) commands and final sources
EXPECTED = {
    "active": ([("GRANT", "read"), ("GRANT", "write")], {"read", "write"}),
    "ended": ([("GRANT", "read"), ("GRANT", "write"), ("REVOKE", "read"), ("REVOKE", "write")], set()),
    "timer": ([("GRANT", "read"), ("REVOKE", "read")], set()),
    "overlap": ([("GRANT", "read"), ("GRANT", "write"), ("EXTEND", "read"), ("REVOKE", "write")], {"read"}),
}


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
        self.broker.stdin.write(cmd + "\n")
        self.broker.stdin.flush()
        self.broker.stdout.readline()

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


def make_workload(users, seed):
    """Events as (delay-index, user, dict) and each user's scenario."""
    rnd = random.Random(seed)
    scenarios = {}
    events = []
    names = list(EXPECTED)
    for u in range(users):
        user = "chaos-%04d" % u
        sc = names[u % len(names)]
        scenarios[user] = sc
        events.append((user, sc, 0))
        if sc in ("ended", "overlap"):
            events.append((user, sc, 1))
        if sc == "overlap":
            events.append((user, sc, 2))
    # keep each user's events in order, interleave users at random
    rnd.shuffle(events)
    seen = {}
    ordered = []
    for user, sc, _ in events:
        k = seen.get(user, 0)
        seen[user] = k + 1
        ordered.append((user, sc, k))
    return scenarios, ordered


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


def read_commands(bootstrap, seconds):
    """Every record of the commands topic: list of (key, value bytes)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-reader-%d" % now_ms(),
                  "enable.auto.commit": False, "log_level": 3})
    c.assign([TopicPartition("shiftkey.commands.v1", p, 0) for p in range(PARTITIONS)])
    out = []
    idle_until = time.time() + seconds
    while time.time() < idle_until:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        out.append((m.key().decode(), m.value()))
        idle_until = max(idle_until, time.time() + 1.0)
    c.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--redis-restarts", type=int, default=0)
    ap.add_argument("--broker-outages", type=int, default=0)
    ap.add_argument("--two-instances", action="store_true")
    ap.add_argument("--crash-after", type=int, default=5,
                    help="engine 0 exits right after its N-th applied record, then after "
                         "its N-th produced outbox chunk (0: never)")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    # librdkafka 2.0.2's mock cluster can itself abort under heavy group
    # churn (assertion in rd_kafka_mock_cgrp_member_add). Such a run proves
    # nothing either way: it is reported and run again with another seed.
    for attempt in range(3):
        rc = run_once(args, args.seed + attempt)
        if rc != BROKER_CRASHED:
            return rc
        log("the mock broker crashed (a librdkafka mock limitation, not shiftkey): "
            "run inconclusive, trying again with another seed")
    print("0 passed, 1 failed")
    return 1


BROKER_CRASHED = 3


def run_once(args, seed):
    rnd = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="sk-chaos-")
    checks = {"passed": 0, "failed": 0}

    def check(ok, what):
        checks["passed" if ok else "failed"] += 1
        print(("ok   " if ok else "FAIL ") + what, flush=True)

    log("seed %d, %d users, %d kills, %d redis restarts, %d broker outages, %d instance(s)" % (
        seed, args.users, args.kills, args.redis_restarts, args.broker_outages,
        2 if args.two_instances else 1))
    rig = Rig(tmp, 2 if args.two_instances else 1,
              args.crash_after)
    try:
        for i in range(len(rig.engines)):
            rig.start_engine(i)
        scenarios, events = make_workload(args.users, seed)
        faults = (["kill"] * args.kills + ["redis"] * args.redis_restarts +
                  ["broker"] * args.broker_outages)
        rnd.shuffle(faults)
        duration = max(8.0, 3.0 * len(faults))
        produced = {"n": 0}
        timers_from = now_ms() + int(duration * 1000) + 40000

        def produce():
            p = Producer({"bootstrap.servers": rig.bootstrap, "enable.idempotence": True,
                          "log_level": 3})
            gap = duration / max(1, len(events))
            for user, sc, step in events:
                t = now_ms()
                # ends after the faults (a kill can keep partitions unowned
                # until the dead member's session times out), during the run
                rec = event_record(user, sc, step, t, timers_from + rnd.randint(0, 10000))
                p.produce("shiftkey.schedule.v1", key=user.encode(),
                          value=skwire.encode("schedule_event", rec))
                p.poll(0)
                produced["n"] += 1
                time.sleep(gap)
            left = p.flush(30)
            if left:
                log("producer: %d records not delivered" % left)

        producer = threading.Thread(target=produce)
        producer.start()
        t_fault = duration / (len(faults) + 1)
        for f in faults:
            time.sleep(t_fault * rnd.uniform(0.5, 1.5))
            rig.restart_crashed()
            if f == "kill":
                i = rnd.randrange(len(rig.engines))
                rig.kill_engine(i)
                log("SIGKILL engine %d after %d records produced; restarting" % (i, produced["n"]))
                rig.start_engine(i)
            elif f == "redis":
                log("restarting redis-server")
                rig.stop_redis()
                time.sleep(1.0)
                rig.start_redis()
            else:
                log("broker down for 2 s, then 5 produce requests refused (NOT_LEADER_OR_FOLLOWER)")
                rig.broker_cmd("down")
                time.sleep(2.0)
                rig.broker_cmd("up")
                rig.broker_cmd("errors 5 6")
        while producer.is_alive():
            rig.restart_crashed()
            producer.join(0.5)

        # converge: wait until every expected command is there (timers included)
        expected = {u: EXPECTED[sc][0] for u, sc in scenarios.items()}
        n_expected = sum(len(v) for v in expected.values())
        deadline = time.time() + 120
        while True:
            recs = read_commands(rig.bootstrap, 2.0)
            first = {}
            for key, val in recs:
                _, cmd = skwire.decode(val)
                first.setdefault(cmd["command_id"], (key, cmd, val))
            if len(first) >= n_expected or time.time() > deadline or rig.broker.poll() is not None:
                break
            rig.restart_crashed()
            time.sleep(2)

        if rig.broker.poll() is not None:
            return BROKER_CRASHED

        # figures
        by_user = {}
        dup_copies, dup_different = 0, 0
        seen = {}
        for key, val in recs:
            _, cmd = skwire.decode(val)
            cid = cmd["command_id"]
            if cid in seen:
                dup_copies += 1
                if seen[cid] != val:
                    dup_different += 1
                continue
            seen[cid] = val
            by_user.setdefault(cmd["user"], []).append((cmd["action"], cmd["entitlement"]))
        missing, unexpected = 0, 0
        for u, want in expected.items():
            got = by_user.get(u, [])
            for w in want:
                if w in got:
                    got.remove(w)
                else:
                    missing += 1
                    if missing <= 5:
                        log("missing %s %s for %s (%s)" % (w[0], w[1], u, scenarios[u]))
            unexpected += len(got)
            if got and unexpected <= 5:
                log("unexpected %s for %s (%s)" % (got, u, scenarios[u]))
        unexpected += sum(len(v) for u, v in by_user.items() if u not in expected)
        print()
        print("records in           %d" % produced["n"])
        print("commands expected    %d" % n_expected)
        print("commands found       %d (distinct ids)" % len(seen))
        print("missing              %d" % missing)
        print("unexpected           %d" % unexpected)
        print("duplicate copies     %d (of which not byte-identical: %d)" % (dup_copies, dup_different))
        print("kills survived       %d (SIGKILL) + %d (failpoints: after apply, before trim)" % (
            rig.kills, rig.crashes))
        print()
        check(missing == 0, "every expected command is on the topic")
        check(unexpected == 0, "no command that should not exist")
        check(dup_different == 0, "every duplicate is byte-identical to its first copy")
        if args.crash_after:
            check(rig.crashes >= 2 and dup_copies >= 1,
                  "both failpoint crashes happened; outputs produced before the crash were "
                  "re-sent byte-identical")

        # Redis holds exactly the expected grants
        wrong = 0
        for u, sc in scenarios.items():
            keys = rig.redis_cli("--scan", "--pattern", "sk:*:u:%s" % u).split()
            ents = set()
            for k in keys:
                fields = rig.redis_cli("HKEYS", k).split("\n")
                ents |= {f.split(" ")[0].split("/")[-1] for f in fields if f.startswith("g:")}
            if ents != EXPECTED[sc][1]:
                wrong += 1
                if wrong <= 5:
                    log("redis: %s (%s) holds %s, expected %s" % (u, sc, ents, EXPECTED[sc][1]))
        check(wrong == 0, "Redis holds exactly the expected grants (%d users)" % len(scenarios))

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
                with open(path, errors="replace") as f:
                    lines = [ln for ln in f.readlines() if not ln.startswith("%")]
                print("".join(lines[-30:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (checks["passed"], checks["failed"]))
    return 1 if checks["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
