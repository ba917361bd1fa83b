"""Redis Cluster test: the engine on a real three-master cluster, a slot
migration and a master failover in the middle of a run; nothing lost.

Starts six redis-server processes with --cluster-enabled yes on free
loopback ports and joins them with `redis-cli --cluster create
--cluster-replicas 1` (three masters, one replica each), the mock Kafka
broker as its own process (tests/chaos/mock_broker) and one shiftkeyd with
--redis redis-cluster://<two of the masters>. The fault test's workload
(tests/chaos/chaos.py: shifts that start, end, overlap and end by timer;
auto-approved and reviewed requests, some sent twice) is produced with
Python's confluent_kafka while, with redis-cli only:

  - migration: the slot of one partition's hash tag is moved to another
    master key by key (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE a few
    keys at a time with pauses, so the engine meets ASK and TRYAGAIN, then
    SETSLOT NODE: the engine meets MOVED);
  - failover: CLUSTER FAILOVER on the replica of another master (the
    engine's connection to the old master answers MOVED; the new master has
    no scripts: NOSCRIPT);
  - with --kill (make cluster-test): a master is killed with SIGKILL and its
    replica takes over after the cluster's node timeout (the engine pauses,
    reads the slot map again and resumes; what the replica had not received
    is restored from the changelog).

At the end every expected command and task must be on the topics (once,
copies byte-identical), nothing unexpected, the cluster must hold exactly
the expected grants (read from every master with redis-cli -c), the moved
partition's keys must be on its new master and none left on the old one,
and the engine must say that it followed the slot's move.

    /usr/bin/python3 tests/chaos/cluster.py                    # short (make test)
    /usr/bin/python3 tests/chaos/cluster.py --users 200 --kill # make cluster-test

Prints the figures and ends with "N passed, N failed".
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chaos  # noqa: E402  (the workload, its model and the checks)
from chaos import log, now_ms  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

ROOT = chaos.ROOT
SHIFTKEYD = chaos.SHIFTKEYD
SHIFTKEY = os.environ.get("SK_SHIFTKEY", os.path.join(ROOT, "build/test/bin/shiftkey"))
BROKER = chaos.BROKER
PARTITIONS = chaos.PARTITIONS
MOVED_PARTITION = 3  # slot 3689: on the first master of `--cluster create`


def bus_free_port():
    """A free port whose cluster bus port (+10000) is free too, below the
    ephemeral range so that port + 10000 is a port."""
    while True:
        p = random.randint(20000, 40000)
        ok = True
        for q in (p, p + 10000):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", q))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return p


class Cluster:
    """Six redis-server processes joined into three masters with a replica each."""

    def __init__(self, tmp, node_timeout_ms):
        self.tmp = tmp
        self.ports = []
        while len(self.ports) < 6:
            p = bus_free_port()
            if p not in self.ports:
                self.ports.append(p)
        self.procs = {}
        for p in self.ports:
            d = os.path.join(tmp, "redis-%d" % p)
            os.makedirs(d)
            self.procs[p] = subprocess.Popen(
                ["redis-server", "--port", str(p), "--bind", "127.0.0.1", "--dir", d,
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", str(node_timeout_ms), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in self.ports:
            self.wait(lambda p=p: self.cli(p, "PING") == "PONG", "redis-server on %d" % p)
        r = subprocess.run(["redis-cli", "--cluster", "create"] +
                           ["127.0.0.1:%d" % p for p in self.ports] +
                           ["--cluster-replicas", "1", "--cluster-yes"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("redis-cli --cluster create: " + r.stdout + r.stderr)
        self.wait(self.whole, "cluster_state:ok with three masters and three replicas", 60)

    @staticmethod
    def wait(cond, what, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if cond():
                    return
            except (subprocess.SubprocessError, OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError("timed out waiting for " + what)

    def cli(self, port, *args, cluster=False):
        r = subprocess.run(["redis-cli", "-p", str(port)] + (["-c"] if cluster else []) +
                           [str(a) for a in args], capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def alive(self):
        return [p for p in self.ports if self.procs[p].poll() is None]

    def nodes(self, via=None):
        """CLUSTER NODES as dicts: id, port, role (master/slave), master id, slots."""
        out = []
        for line in self.cli(via or self.alive()[0], "CLUSTER", "NODES").splitlines():
            f = line.split()
            if len(f) < 8:
                continue
            out.append({"id": f[0], "port": int(f[1].split("@")[0].split(":")[1]),
                        "role": "master" if "master" in f[2] else "slave",
                        "failed": "fail" in f[2] and "fail?" not in f[2], "master": f[3],
                        "slots": f[8:]})
        return out

    def whole(self):
        for p in self.alive():
            if "cluster_state:ok" not in self.cli(p, "CLUSTER", "INFO"):
                return False
        ns = [n for n in self.nodes() if not n["failed"]]
        masters = [n for n in ns if n["role"] == "master" and n["slots"]]
        if any(self.procs[n["port"]].poll() is not None for n in masters):
            return False  # a dead master not yet replaced
        replicas = [n for n in ns if n["role"] == "slave"]
        return len(masters) == 3 and len(replicas) >= len(self.alive()) - 3

    def masters(self):
        return [n for n in self.nodes() if n["role"] == "master" and n["slots"] and
                not n["failed"] and self.procs[n["port"]].poll() is None]

    def slot_of(self, key):
        return int(self.cli(self.alive()[0], "CLUSTER", "KEYSLOT", key))

    def owner(self, slot):
        """The port of the master serving slot, as the cluster says."""
        for n in self.masters():
            for rng in n["slots"]:
                if rng.startswith("["):
                    continue  # a migration in progress, not ownership
                lo, _, hi = rng.partition("-")
                if int(lo) <= slot <= int(hi or lo):
                    return n["port"]
        return None

    def node_id(self, port):
        return self.cli(port, "CLUSTER", "MYID")

    def migrate_slot(self, slot, src, dst, batch=3, pause=0.15):
        """Moves slot from master src to master dst, a few keys at a time."""
        src_id, dst_id = self.node_id(src), self.node_id(dst)
        self.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        self.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        moved = 0
        while True:
            keys = self.cli(src, "CLUSTER", "GETKEYSINSLOT", slot, batch).splitlines()
            if not keys:
                break
            out = self.cli(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", *keys)
            if "OK" not in out and "NOKEY" not in out:
                raise RuntimeError("MIGRATE: " + out)
            moved += len(keys)
            time.sleep(pause)
        for p in [dst, src] + [n["port"] for n in self.masters() if n["port"] not in (src, dst)]:
            self.cli(p, "CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        return moved

    def replica_of(self, port):
        mid = self.node_id(port)
        for n in self.nodes():
            if n["role"] == "slave" and n["master"] == mid and self.procs[n["port"]].poll() is None:
                return n["port"]
        return None

    def failover(self, master):
        """CLUSTER FAILOVER on master's replica; waits until it is the master."""
        rep = self.replica_of(master)
        out = self.cli(rep, "CLUSTER", "FAILOVER")
        if out != "OK":
            raise RuntimeError("CLUSTER FAILOVER on %d: %s" % (rep, out))
        self.wait(lambda: "role:master" in self.cli(rep, "INFO", "replication"),
                  "replica %d to take over" % rep)
        return rep

    def kill(self, port):
        self.procs[port].send_signal(signal.SIGKILL)
        self.procs[port].wait(10)

    def keys(self, pattern):
        """Every key matching pattern on every master."""
        out = []
        for n in self.masters():
            out += self.cli(n["port"], "--scan", "--pattern", pattern).splitlines()
        return out

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


class Rig:
    """The broker and the engine (chaos.Rig's parts, Redis being the cluster)."""

    def __init__(self, tmp, cluster):
        self.tmp = tmp
        self.cluster = cluster
        boot = os.path.join(tmp, "bootstrap")
        self.broker = subprocess.Popen([BROKER, boot, str(PARTITIONS)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        Cluster.wait(lambda: os.path.exists(boot) and open(boot).read().strip(), "the broker")
        with open(boot) as f:
            self.bootstrap = f.read().strip()
        self.log_path = os.path.join(tmp, "engine.log")
        seeds = ",".join("127.0.0.1:%d" % n["port"] for n in cluster.masters()[:2])
        self.redis_url = "redis-cluster://" + seeds
        out = open(self.log_path, "a")
        self.engine = subprocess.Popen(
            [SHIFTKEYD, "--kafka", self.bootstrap, "--rules", chaos.RULES,
             "--redis", self.redis_url, "--group", "cluster",
             "--timer-interval-ms", "100",
             "--kafka-config", "consumer:session.timeout.ms=3000",
             "--kafka-config", "consumer:heartbeat.interval.ms=300"],
            stdout=out, stderr=out, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))

    def engine_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def close(self):
        if self.engine.poll() is None:
            self.engine.kill()
            self.engine.wait()
        if self.broker.poll() is None:
            try:
                self.broker.stdin.write("quit\n")
                self.broker.stdin.flush()
                self.broker.wait(10)
            except Exception:
                self.broker.kill()


def redis_errors(cluster, model, say):
    """chaos.redis_errors on the cluster: each user's packed value found on
    the master of its partition's slot (redis-cli on every master)."""
    return chaos.redis_errors(None, model, say, ports=[n["port"] for n in cluster.masters()])


def outages(text):
    """How long each of the engine's Redis outages lasted (ms), from its log:
    the WARN that it pauses to the INFO that Redis is reachable again."""
    def ms(line):
        t = time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")
        return int(time.mktime(t) * 1000) + int(line[20:23])
    out, start = [], None
    for line in text.splitlines():
        if "; pausing, retrying with backoff" in line and start is None:
            start = ms(line)
        elif "Redis is reachable again" in line and start is not None:
            out.append(ms(line) - start)
            start = None
    return out


def produce(bootstrap, events, duration, timers_from, rnd, produced):
    """The workload's records, spread over `duration` seconds (chaos.py's
    produce without the poison)."""
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "partitioner": "murmur2_random", "log_level": 3})
    gap = duration / max(1, len(events))
    last = {}
    for stream, user, what, step in events:
        t = now_ms()
        if stream == "shift":
            rec = chaos.event_record(user, what, step, t, timers_from + rnd.randint(0, 3000))
            p.produce(chaos.T_SCHEDULE, key=user.encode(),
                      value=chaos.skwire.encode("schedule_event", rec))
        else:
            if what[step] == "resend":
                value, env = last[user]
            else:
                value = chaos.skwire.encode("access_request_event",
                                            chaos.request_record(user, what[step], t))
                env = chaos.sksign.envelope(chaos.CHAOS_FRONT_KEY, chaos.CHAOS_FRONT,
                                            chaos.T_REQUESTS, user, value)
                last[user] = (value, env)
            p.produce(chaos.T_REQUESTS, key=user.encode(), value=value,
                      headers=[(chaos.sksign.HEADER, env)])
        p.poll(0)
        produced[0] += 1
        time.sleep(gap)
    p.flush(30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--requesters", type=int, default=-1,
                    help="users making requests (default: half of --users)")
    ap.add_argument("--kill", action="store_true",
                    help="also SIGKILL a master (its replica takes over)")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    if args.requesters < 0:
        args.requesters = args.users // 2
    rnd = random.Random(args.seed)
    checks = {"passed": 0, "failed": 0}

    def check(ok, what):
        checks["passed" if ok else "failed"] += 1
        print(("ok   " if ok else "FAIL ") + what, flush=True)

    tmp = tempfile.mkdtemp(prefix="sk-cluster-")
    cluster = rig = None
    t_begin = time.time()
    try:
        log("seed %d, %d users, %d requesters%s" % (args.seed, args.users, args.requesters,
                                                    ", a master killed" if args.kill else ""))
        # a long node timeout keeps a loaded machine's stalls from looking like
        # failures; with --kill, a short one lets the replica take over soon
        cluster = Cluster(tmp, 2000 if args.kill else 5000)
        log("cluster up: masters %s" % [n["port"] for n in cluster.masters()])
        # the routing agrees with the cluster's own hash of every partition's tag
        rig = Rig(tmp, cluster)
        model, events = chaos.make_workload(args.users, args.requesters, args.seed)
        duration = max(10.0, len(events) / 25.0)
        # the timers of the workload end after the faults, during the run
        timers_from = now_ms() + int((duration + 8 + (10 if args.kill else 0)) * 1000)
        produced = [0]
        producer = threading.Thread(target=produce, args=(rig.bootstrap, events, duration,
                                                          timers_from, rnd, produced))
        t_start = now_ms()
        producer.start()

        # (a) a slot migration a third into the run
        slot = cluster.slot_of("sk:{p%d}:epoch" % MOVED_PARTITION)
        t_run = time.time()
        time.sleep(duration * 0.25)
        src = cluster.owner(slot)
        dst = [n["port"] for n in cluster.masters() if n["port"] != src][0]
        # the engine holds the partition and some of its users by then
        Cluster.wait(lambda: int(cluster.cli(src, "CLUSTER", "COUNTKEYSINSLOT", slot)) >= 6,
                     "partition %d's state in Redis" % MOVED_PARTITION, 30)
        log("migrating slot %d (partition %d) from %d to %d after %d records" % (
            slot, MOVED_PARTITION, src, dst, produced[0]))
        n_migrated = cluster.migrate_slot(slot, src, dst)
        log("slot %d migrated: %d keys moved" % (slot, n_migrated))

        # (b) a failover of another master two thirds into the run
        time.sleep(max(0.0, t_run + duration * 0.65 - time.time()))
        victim = [n["port"] for n in cluster.masters() if n["port"] not in (src, dst)][0]
        t0 = time.time()
        new_master = cluster.failover(victim)
        n_at_failover = produced[0]
        log("CLUSTER FAILOVER: %d replaces %d after %d records (%.1f s)" % (
            new_master, victim, n_at_failover, time.time() - t0))
        killed = None
        if args.kill:
            time.sleep(duration / 6)
            killed = dst
            log("SIGKILL of master %d after %d records" % (killed, produced[0]))
            cluster.kill(killed)
            Cluster.wait(cluster.whole, "the replica of %d to take over" % killed, 30)
            log("master %d replaced by its replica" % killed)
        producer.join()

        # converge: every expected command and task, timers included
        n_expected, n_tasks = model.n_commands(), model.n_tasks()
        deadline = time.time() + 90 + (timers_from / 1000.0 - time.time())
        while True:
            recs = chaos.read_topics(rig.bootstrap, [chaos.T_COMMANDS, chaos.T_TASKS], 1.5)
            n_cmds = len({chaos.skwire.decode(v)[1]["command_id"]
                          for _, v in recs[chaos.T_COMMANDS]})
            n_found = len({(t["task_id"], t["state"], t["outcome"]) for t in (
                chaos.skwire.decode(v)[1] for _, v in recs[chaos.T_TASKS])})
            if (n_cmds >= n_expected and n_found >= n_tasks) or time.time() > deadline:
                break
            time.sleep(1)
        f = chaos.evaluate(model, recs[chaos.T_COMMANDS], recs[chaos.T_TASKS], t_start, now_ms(),
                           log)
        text = rig.engine_log()
        follows = len(re.findall(r"Redis Cluster: slot %d moved to" % slot, text))
        # the failed-over master's slots of our partitions, followed to its replica
        failover_follows = len(re.findall(r"Redis Cluster: slot \d+ moved to 127.0.0.1:%d\b" %
                                          new_master, text))
        moved_keys = cluster.keys("sk:{p%d}:*" % MOVED_PARTITION)
        on_dst = int(cluster.cli(dst if dst != killed else cluster.owner(slot),
                                 "CLUSTER", "COUNTKEYSINSLOT", slot) or 0)
        on_src = int(cluster.cli(src, "CLUSTER", "COUNTKEYSINSLOT", slot) or 0)
        spread = {n["port"]: len(cluster.cli(n["port"], "--scan", "--pattern", "sk:*").splitlines())
                  for n in cluster.masters()}
        print()
        print("records in           %d" % produced[0])
        print("commands expected    %d, found %d (distinct ids), missing %d, unexpected %d" % (
            n_expected, f["commands"], f["missing"], f["unexpected"]))
        print("duplicate copies     %d (not byte-identical: %d)" % (f["copies"], f["different"]))
        print("tasks expected       %d, found %d, missing %d, unexpected %d" % (
            n_tasks, f["tasks"], f["tasks_missing"], f["tasks_unexpected"]))
        print("migration            slot %d: %d keys moved %d -> %d; now %d keys there, %d left "
              "on %d; the engine followed the move %d time(s)" % (
                  slot, n_migrated, src, dst, on_dst, on_src, src, follows))
        print("failover             %d -> %d after %d records, followed %d time(s)%s" % (
            victim, new_master, n_at_failover, failover_follows,
            ", master %d killed" % killed if killed else ""))
        print("keys per master      %s" % spread)
        pauses = outages(text)
        if pauses:
            print("engine paused        %s ms (Redis unreachable until the slot map was whole "
                  "again); %d partition restore(s) from the changelog" % (
                      pauses, text.count("restored from")))
        print("run                  %.1f s" % (time.time() - t_begin))
        print()
        check(f["missing"] == 0, "every expected command is on the topic")
        check(f["unexpected"] == 0 and f["expiry_wrong"] == 0,
              "no command that should not exist; request grants expire as decided")
        check(f["different"] == 0 and f["cmd_bad_keys"] == 0,
              "every duplicate is byte-identical to its first copy, keyed by its user")
        check(f["tasks_missing"] == 0 and f["tasks_unexpected"] == 0 and
              f["task_different"] == 0, "every review task exactly once (copies identical)")
        wrong = redis_errors(cluster, model, log)
        check(wrong == 0, "the cluster holds exactly the expected grants, request sources and "
              "APPROVED requests (%d users): no access left behind" % len(model.label))
        check(n_migrated > 0 and on_src == 0 and on_dst > 0 and len(moved_keys) == on_dst,
              "partition %d's keys all moved to the slot's new master" % MOVED_PARTITION)
        check(follows >= 1, "the engine followed the slot's move (MOVED)")
        check(failover_follows >= 1 and n_at_failover < produced[0],
              "the engine followed the failover to the new master, in the middle of the run")
        check(len(spread) == 3 and all(v > 0 for v in spread.values()),
              "every master holds state: partitions are routed to their slot's master")
        # a client of ours beside the engine: the CLI lists the grants of every
        # master (SCAN on each, the partitions' users hashes read by slot)
        cli = subprocess.run([SHIFTKEY, "grants", "--redis", rig.redis_url, "-o", "json"],
                             capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        listed = {}
        try:
            for g in json.loads(cli.stdout or "null") or []:
                listed.setdefault(g["user"], set()).add(g["entitlement"])
        except ValueError:
            listed = None
        want = {u: g for u, g in model.grants.items() if g}
        check(cli.returncode == 0 and listed == want,
              "shiftkey grants --redis redis-cluster://... lists exactly the expected grants "
              "(%d users; exit %d%s)" % (len(want), cli.returncode,
                                         ", " + cli.stderr.strip()[:200] if cli.stderr else ""))
        rig.engine.send_signal(signal.SIGTERM)
        rc = rig.engine.wait(30)
        check(rc == 0, "SIGTERM: the engine exits 0 (%s)" % rc)
        m = re.search(r"Redis Cluster: (\d+) MOVED, (\d+) ASK and (\d+) TRYAGAIN answered; "
                      r"slot map read (\d+) times", rig.engine_log())
        if m:
            print("redirections         %s MOVED, %s ASK, %s TRYAGAIN; slot map read %s times "
                  "(the engine's count at its stop)" % m.groups())
    finally:
        if checks["failed"] and rig:
            keep = os.path.join(ROOT, "build", "test", "logs")
            os.makedirs(keep, exist_ok=True)
            shutil.copy(rig.log_path, os.path.join(keep, "cluster-engine.log"))
            print("engine log kept in %s/cluster-engine.log; its tail:" % keep)
            print("".join([ln for ln in rig.engine_log().splitlines(True)
                           if not ln.startswith("%")][-30:]))
        if rig:
            rig.close()
        if cluster:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (checks["passed"], checks["failed"]))
    return 1 if checks["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
