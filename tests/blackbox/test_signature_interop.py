#!/usr/bin/python3
"""Black-box test of signed actions, checked with code nobody here wrote.

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_signature_interop.py

The signature envelope is checked against python3-nacl (libsodium's Python
binding, sksign.py written from the byte format in engine/codec/envelope.h):

  - the key file of `shiftkey keygen` (0600) holds the seed of the public
    key it prints: nacl derives the same; a key file others may read is
    refused by the CLI;
  - the same set-up as test_cli_requests.py (private redis-server, shiftkeyd
    --kafka embedded, rules/examples plus a key per person): the record
    `shiftkey request` publishes carries an "sk-sig" header that nacl
    verifies with dave's public key over (topic, key, value, signer, time),
    signer dave, signed just now, and that fails for another key or a
    changed byte; it sits on the partition murmur2 maps its key to;
  - records made by Python (nacl) on the requests topic: an approval signed
    with frank's own key (read from his key file) is accepted and grants; a
    forged one (frank's name, dave's key) and an unsigned one are dead
    letters whose reason names the claimed actor;
  - `shiftkey task approve ID` when two users have a request with that id
    exits 1 and names both; `task approve SUBJECT/ID` approves exactly that
    user's request (the other stays open).

Prints "ok ..." / "FAIL ..." per check and "N passed, N failed" last.
"""

import base64
import os
import subprocess
import sys
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nacl.exceptions  # noqa: E402
import nacl.signing  # noqa: E402
import sksign  # noqa: E402
import skwire  # noqa: E402
import test_cli_requests as base  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from test_cli_requests import T_COMMANDS, T_REQUESTS, T_TASKS, check, wait_recs  # noqa: E402

DAVE, ERIN, FRANK = "dave@example.com", "erin@example.com", "frank@example.com"
ENT = "kubernetes-prod/edit"


def murmur2(data):
    """Java's Utils.murmur2, written again here (not our C)."""
    m, r = 0x5bd1e995, 24
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def read_with_headers(bootstrap, topic, pred, timeout=15):
    """The first record of topic (from the beginning) with pred(record) true:
    (partition, key, value, headers dict) or None."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bbsig-" + uuid.uuid4().hex[:8],
                  "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10)
    c.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
    deadline = time.time() + timeout
    found = None
    while found is None and time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        try:
            _, rec = skwire.decode(m.value())
        except Exception:
            continue
        if pred(rec):
            found = (m.partition(), m.key(), m.value(), dict(m.headers() or []))
    c.close()
    return found


def keygen_checks(tmp):
    kd = os.path.join(tmp, "kg")
    out = subprocess.run([base.SK, "keygen", "zoe@example.com", "--key-dir", kd],
                         capture_output=True, text=True, timeout=10)
    path = os.path.join(kd, "zoe@example.com.key")
    check("shiftkey keygen exits 0 and writes the key file 0600",
          out.returncode == 0 and os.stat(path).st_mode & 0o777 == 0o600, out.stderr)
    signer, sk = sksign.read_key(path)
    check("nacl derives from the key file's seed the public key keygen printed",
          signer == "zoe@example.com" and sksign.public_b64(sk) == out.stdout.strip(),
          (sksign.public_b64(sk), out.stdout))
    again = subprocess.run([base.SK, "keygen", "zoe@example.com", "--key-dir", kd],
                           capture_output=True, text=True, timeout=10)
    check("keygen never replaces a key (exit 1)", again.returncode == 1 and "exists" in again.stderr,
          again.stderr)
    os.chmod(path, 0o644)
    env = dict(os.environ, SHIFTKEY_KEY_DIR=kd, ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run([base.SK, "request", ENT, "--duration", "1h", "--as", "zoe@example.com",
                        "--kafka", "127.0.0.1:1"], capture_output=True, text=True, timeout=20,
                       env=env)
    check("a key file others may read is refused (exit 1, says chmod 600)",
          r.returncode == 1 and "chmod 600" in r.stderr, r.stderr)
    os.chmod(path, 0o600)
    r = subprocess.run([base.SK, "request", ENT, "--duration", "1h", "--as", FRANK,
                        "--kafka", "127.0.0.1:1"], capture_output=True, text=True, timeout=20,
                       env=env)
    check("--as someone whose key you do not hold is refused (exit 1)",
          r.returncode == 1 and "hold no key" in r.stderr, r.stderr)


def scenario(tmp, engine_log):
    nonce = uuid.uuid4().hex[:6]
    keygen_checks(tmp)
    st = base.start_stack(tmp, engine_log)
    if not st:
        return False
    cli, reader = st.cli, st.reader
    key_dir = cli.env["SHIFTKEY_KEY_DIR"]
    pubs = {p: sksign.public_b64(sksign.read_key(os.path.join(key_dir, p + ".key"))[1])
            for p in (DAVE, ERIN, FRANK)}

    # ---- a record signed by our C code, verified by nacl ----
    r1 = "bb-sig-%s" % nonce
    t0 = int(time.time() * 1000)
    rc, out, err = cli.run("request", ENT, "--duration", "1h", "--as", DAVE, "--id", r1)
    check("shiftkey request --as dave exits 0", rc == 0, out + err)
    got = read_with_headers(st.bootstrap, T_REQUESTS, lambda e: e["request_id"] == r1)
    check("the CREATED record is on the requests topic with an sk-sig header",
          got and sksign.HEADER in got[3], got and got[3])
    if got and sksign.HEADER in got[3]:
        part, key, value, headers = got
        env = headers[sksign.HEADER]
        try:
            signer, issued = sksign.verify(pubs[DAVE], env, T_REQUESTS, key, value)
            ok = signer == DAVE and abs(issued - t0) < 60000
        except Exception as e:  # noqa: BLE001
            ok, signer, issued = False, repr(e), 0
        check("nacl verifies the C signature with dave's public key (signer dave, signed now)",
              ok, (signer, issued, t0))
        bad = [False, False, False]
        for i, (pk, v, t) in enumerate([(pubs[ERIN], value, T_REQUESTS),
                                        (pubs[DAVE], value[:-1] + bytes([value[-1] ^ 1]),
                                         T_REQUESTS),
                                        (pubs[DAVE], value, "shiftkey.other.v1")]):
            try:
                sksign.verify(pk, env, t, key, v)
            except nacl.exceptions.BadSignatureError:
                bad[i] = True
        check("...and refuses it for another key, a changed byte, another topic", all(bad), bad)
        want = (murmur2(key) & 0x7fffffff) % base.PARTITIONS
        check("the CLI put it on the partition murmur2 maps its key to (%d)" % want,
              part == want, part)

    # ---- records made by Python: frank's real signature, a forgery, unsigned ----
    producer = Producer({"bootstrap.servers": st.bootstrap, "partitioner": "murmur2_random"})
    _, frank_key = sksign.read_key(os.path.join(key_dir, FRANK + ".key"))
    _, dave_key = sksign.read_key(os.path.join(key_dir, DAVE + ".key"))

    def approval(event_id, actor):
        return skwire.encode("access_request_event", {
            "event_id": event_id, "type": "APPROVED", "request_id": r1, "actor": actor,
            "subject": DAVE, "target_kind": "ENTITLEMENT", "target": "", "duration_ms": None,
            "justification": "", "emergency": False, "comment": "", "assignee": None,
            "policy": None, "source": "python", "occurred_at": int(time.time() * 1000)})

    def send(value, signer=None, key_=None):
        headers = []
        if key_ is not None:
            headers = [(sksign.HEADER, sksign.envelope(key_, signer, T_REQUESTS, DAVE, value))]
        producer.produce(T_REQUESTS, key=DAVE.encode(), value=value, headers=headers)
        producer.flush(10)

    wait_recs(reader, T_TASKS, lambda t: t["request_id"] == r1)
    send(approval("py-forged-" + nonce, FRANK), DAVE, dave_key)
    send(approval("py-unsigned-" + nonce, FRANK))
    log_ok = base.wait_until(lambda: base.read_text(engine_log).count(
        "claimed actor 'frank@example.com'") >= 2, time.time() + 15, 0.1)
    text = base.read_text(engine_log)
    check("a forged approval (frank's name, dave's key) is a dead letter: signer_not_allowed",
          log_ok and "identity refused (signer_not_allowed)" in text, text[-600:])
    check("an unsigned approval is a dead letter: unsigned",
          "identity refused (unsigned)" in text)
    time.sleep(0.5)
    check("...and neither granted anything", not base.recs(
        reader, T_COMMANDS, lambda c: any(s["id"] == r1 for s in c["sources"])))
    send(approval("py-frank-" + nonce, FRANK), FRANK, frank_key)
    grant = wait_recs(reader, T_COMMANDS, lambda c: c["action"] == "GRANT" and any(
        s["id"] == r1 for s in c["sources"]))
    check("an approval signed by Python (nacl) with frank's key is accepted: GRANT", grant)

    # ---- two users, one request id ----
    same = "bb-same-%s" % nonce
    for who in (DAVE, ERIN):
        rc, out, err = cli.run("request", ENT, "--duration", "30m", "--as", who, "--id", same)
        check("%s requests with id %s" % (who.split("@")[0], same), rc == 0, out + err)
    check("both review tasks are open", len(set(t["subject"] for t in wait_recs(
        reader, T_TASKS, lambda t: t["request_id"] == same, n=2))) == 2)
    rc, out, err = cli.run("task", "approve", same, "--as", FRANK)
    check("task approve ID used by two users exits 1, names both, sends nothing",
          rc == 1 and DAVE in err and ERIN in err and "SUBJECT/" in err, out + err)
    rc, out, err = cli.run("task", "approve", "%s/%s" % (ERIN, same), "--as", FRANK)
    check("task approve erin/ID exits 0", rc == 0 and ERIN in out, out + err)
    g = wait_recs(reader, T_COMMANDS, lambda c: c["action"] == "GRANT" and any(
        s["id"] == same for s in c["sources"]))
    time.sleep(1.0)
    users = sorted(c["user"] for c in base.recs(reader, T_COMMANDS, lambda c: any(
        s["id"] == same for s in c["sources"])))
    check("...exactly erin's request is granted, dave's stays open", g and users == [ERIN], users)
    log = base.read_text(engine_log)
    check("shiftkeyd's stderr has no sanitizer report",
          "AddressSanitizer" not in log and "runtime error:" not in log)
    return True


if __name__ == "__main__":
    sys.exit(base.main(scenario))
