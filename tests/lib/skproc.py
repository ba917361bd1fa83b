"""skproc — what the Python tests share to run real processes and read topics.

Imported by tests/blackbox/test_engine_blackbox.py (and through it the other
black-box tests), tests/provision/provfx.py, tests/connectors/test_connectors.py
and tests/slack/test_slack_app.py:

  free_port()                  a free loopback TCP port
  wait_until(pred, timeout)    polls pred() until true or `timeout` seconds pass
  wait_deadline(pred, t)       the same until time.time() passes t
  read_text(path), tail(path)  a log file, whole or its last lines ("" / a note if absent)
  Redis(tmp)                   a private redis-server on a free port (start, cli, stop)
  Shiftkeyd(...)               build/test/bin/shiftkeyd with its embedded broker
                               (start, wait_assigned, bootstrap, stop)
  Reader(bootstrap, topics)    every record of the topics, decoded with
                               tests/blackbox/skwire.py, in arrival order
  unpack_state(raw)            a user's Redis value (bytes) as (keep_until_ms, fields)
  redis_user_key(port, user)   (port, the partition's users hash) holding the user, or None
  redis_user_packed(port, user) (keep_until_ms, {name: value}) of the user in Redis
  redis_user_state(port, user) the user's fields as the engine reads them (None: none),
                               read with redis-cli and decoded by unpack_state

Nothing here sleeps a fixed time where a condition can be polled. Every
process started is the caller's to stop (each class has stop()).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "blackbox"))
import skwire  # noqa: E402

SHIFTKEYD = os.environ.get("SK_SHIFTKEYD", os.path.join(ROOT, "build", "test", "bin",
                                                        "shiftkeyd"))


def free_port():
    """A TCP port free on 127.0.0.1 right now (the caller binds it soon)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout, step=0.05):
    """Polls pred() every `step` seconds until it returns a true value or
    `timeout` seconds have passed; returns the last value of pred()."""
    return wait_deadline(pred, time.time() + timeout, step)


def wait_deadline(pred, deadline, step=0.05):
    """wait_until with an absolute deadline (a time.time() value)."""
    while True:
        v = pred()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def read_text(path):
    """The file's text (undecodable bytes replaced); "" when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def tail(path, n=60):
    """The last n lines of a file, or a note saying why it cannot be read."""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(lines[-n:])


def _stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Redis:
    """A private redis-server on a free loopback port, no persistence, its
    files in `tmp`. start() returns once it answers PING (False if not)."""

    def __init__(self, tmp, port=None):
        self.tmp, self.port, self.proc = tmp, port or free_port(), None

    def start(self, timeout=10):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return bool(wait_until(lambda: (self.cli("ping") or "").strip() == "PONG"
                               or self.proc.poll() is not None, timeout, 0.05)
                    and self.proc.poll() is None)

    def cli(self, *args):
        """redis-cli's output as text, or None when it failed."""
        try:
            p = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=5)
        except subprocess.TimeoutExpired:
            return None
        return p.stdout.decode("utf-8", "replace") if p.returncode == 0 else None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        _stop(self.proc)


class Shiftkeyd:
    """build/test/bin/shiftkeyd (or $SK_SHIFTKEYD) with its embedded broker
    (librdkafka's mock cluster over TCP), its bootstrap file and its stderr in
    `tmp`; leak detection off (it is stopped with SIGKILL by some tests)."""

    def __init__(self, tmp, rules, redis_addr, group, extra=(), log=None):
        self.boot = os.path.join(tmp, "bootstrap")
        self.log = log or os.path.join(tmp, "shiftkeyd.stderr")
        self.argv = [SHIFTKEYD, "--kafka", "embedded", "--bootstrap-file", self.boot,
                     "--rules", rules, "--redis", redis_addr, "--group", group] + list(extra)
        self.proc = None

    def start(self, env=None):
        e = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        e.update(env or {})
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdout=err, stderr=subprocess.STDOUT, env=e)
        return self.proc

    def wait_assigned(self, topic, partitions=1, timeout=30):
        """True once the engine logged `partitions` partitions of topic as
        assigned and the bootstrap file is written; False if it exited first."""
        pat = re.compile(r"assigned %s\[(\d+)\]" % re.escape(topic))
        ok = wait_until(lambda: self.proc.poll() is not None or (
            len(set(pat.findall(read_text(self.log)))) >= partitions
            and os.path.exists(self.boot) and os.path.getsize(self.boot) > 0), timeout, 0.05)
        return bool(ok) and self.proc.poll() is None

    @property
    def bootstrap(self):
        return read_text(self.boot).strip()

    def stop(self, timeout=15):
        _stop(self.proc, timeout)


class Reader(threading.Thread):
    """Consumes topics in the background with confluent_kafka and keeps every
    record: topic, partition, offset, key (bytes, or text with
    text_keys=True), value (also as raw), headers, at (time.time() of
    arrival), and name / rec decoded by skwire (rec None and error set when
    it does not decode). It assigns every partition itself, from the
    beginning, instead of joining a consumer group: the mock cluster's group
    join can take tens of seconds on a loaded machine. A topic not there yet
    is assigned when the metadata shows it. stop.set() then join() ends it."""

    def __init__(self, bootstrap, topics, text_keys=False, refresh_ms=1000):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": "sk-reader-" + uuid.uuid4().hex[:8],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": refresh_ms,
        })
        self.topics = topics
        self.text_keys = text_keys
        self.lock = threading.Lock()
        self.records = []
        self.assigned = set()  # (topic, partition)
        self.stop = threading.Event()
        self.errors = []

    def _assign_new(self):
        """Assigns the partitions the metadata shows that are not assigned
        yet; True when every topic is assigned."""
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition
        try:
            md = self.consumer.list_topics(timeout=2)
        except Exception as e:  # the broker may still be starting
            with self.lock:
                self.errors.append("metadata: %s" % e)
            return False
        new = []
        for t in self.topics:
            tm = md.topics.get(t)
            if tm is None or tm.error is not None or not tm.partitions:
                continue
            new += [TopicPartition(t, p, OFFSET_BEGINNING) for p in sorted(tm.partitions)
                    if (t, p) not in self.assigned]
        with self.lock:
            if new:
                self.consumer.incremental_assign(new)
                self.assigned.update((p.topic, p.partition) for p in new)
            return len({t for t, _ in self.assigned}) == len(self.topics)

    def run(self):
        complete, next_look = False, 0.0
        while not self.stop.is_set():
            if not complete and time.time() >= next_look:
                complete, next_look = self._assign_new(), time.time() + 0.5
            m = self.consumer.poll(0.05)
            if m is None:
                continue
            if m.error():
                with self.lock:
                    self.errors.append(str(m.error()))
                continue
            key = m.key()
            if self.text_keys:
                key = (key or b"").decode("utf-8", "replace")
            r = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                 "key": key, "value": m.value(), "raw": m.value(), "headers": m.headers() or [],
                 "at": time.time(), "name": None, "rec": None, "error": None}
            try:
                r["name"], r["rec"] = skwire.decode(m.value() or b"")
            except Exception as e:  # kept: a check reports it
                r["error"] = "%s: %s" % (type(e).__name__, e)
            with self.lock:
                self.records.append(r)
        self.consumer.close()

    def select(self, topic, pred=None, **match):
        """The records of topic, in arrival order, for which pred(record) is
        true and whose decoded fields equal `match` (key=value)."""
        with self.lock:
            recs = [r for r in self.records if r["topic"] == topic]
        if match:
            recs = [r for r in recs if r["rec"] is not None
                    and all(r["rec"].get(k) == v for k, v in match.items())]
        return [r for r in recs if pred is None or pred(r)]

    def close(self):
        self.stop.set()
        self.join(5)


def _varint(raw, i):
    v, shift = 0, 0
    while True:
        if i >= len(raw) or shift > 63:
            raise ValueError("varint cut short")
        b = raw[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def unpack_state(raw):
    """A user's state as the engine stores it in Redis: one string value,
    packed as engine/codec/state_pack.h documents it (written from that
    text, not from the C code): version byte 1, varints keep (0: none, else
    keep_until_ms + 1), field count and body length, an encoding byte (0 the
    body as it is, 1 raw deflate), then the body: per field a varint length
    and the name, a varint length and the value. Returns (keep_until_ms or
    None, [(name, value), ...]) with text decoded as UTF-8; raises
    ValueError on anything else."""
    if not raw or raw[0] != 1:
        raise ValueError("not a packed state (version byte %r)" % raw[:1])
    keep, i = _varint(raw, 1)
    count, i = _varint(raw, i)
    body_len, i = _varint(raw, i)
    if i >= len(raw) or raw[i] not in (0, 1):
        raise ValueError("unknown encoding")
    body = raw[i + 1:] if raw[i] == 0 else zlib.decompress(raw[i + 1:], -15)
    if len(body) != body_len:
        raise ValueError("body of %d bytes, the header says %d" % (len(body), body_len))
    fields, j = [], 0
    while j < len(body):
        n, j = _varint(body, j)
        name, j = body[j:j + n], j + n
        n, j = _varint(body, j)
        value, j = body[j:j + n], j + n
        fields.append((name.decode("utf-8"), value.decode("utf-8")))
    if j != len(body) or len(fields) != count:
        raise ValueError("fields do not match the header")
    return (keep - 1 if keep else None), fields


def redis_user_key(port, user, prefix="sk"):
    """(port, key): the partition's users hash (<prefix>:{pN}:users) that
    holds `user`, found with redis-cli (SCAN, HEXISTS) on the Redis at
    `port`, or on each of a list of ports (a Redis Cluster's masters: a
    partition's keys are all on its slot's master); None when no partition
    holds the user."""
    for p in (port if isinstance(port, (list, tuple)) else [port]):
        keys = subprocess.run(["redis-cli", "-p", str(p), "--scan", "--pattern",
                               "%s:{p*}:users" % prefix],
                              stdout=subprocess.PIPE, timeout=10).stdout.decode().split()
        for k in sorted(keys):
            got = subprocess.run(["redis-cli", "-p", str(p), "HEXISTS", k, user],
                                 stdout=subprocess.PIPE, timeout=10).stdout.strip()
            if got == b"1":
                return p, k
    return None


def redis_user_packed(port, user, prefix="sk"):
    """(keep_until_ms or None, {name: value}) of `user` in its partition's
    users hash (redis_user_key: `port` one port or a cluster's masters),
    read with redis-cli HGET and decoded with unpack_state, whatever its
    keep-until; None when the user has none."""
    found = redis_user_key(port, user, prefix)
    if found is None:
        return None
    # redis-cli writes a bulk string raw (not a tty), then a newline
    raw = subprocess.run(["redis-cli", "-p", str(found[0]), "HGET", found[1], user],
                         stdout=subprocess.PIPE, timeout=10).stdout
    if not raw.endswith(b"\n") or len(raw) < 2:
        return None
    keep, fields = unpack_state(raw[:-1])
    return keep, dict(fields)


def redis_user_state(port, user, prefix="sk"):
    """The user's fields in the Redis at `port` as {name: value}
    (redis_user_packed); None when the user has none, or its state is past
    its keep-until (the engine reads it so; its keep-until sweep deletes it)."""
    got = redis_user_packed(port, user, prefix)
    if got is None or (got[0] is not None and got[0] <= time.time() * 1000):
        return None
    return got[1]
