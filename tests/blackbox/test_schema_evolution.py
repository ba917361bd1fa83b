#!/usr/bin/python3
"""Black-box test of schema evolution (issue 15): a Python producer writes
shift events with other versions of the ScheduleEvent schema, and the
engine reads what Avro's resolution rules allow and dead-letters the rest
with the reason.

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_schema_evolution.py

shiftkeyd (embedded broker, rules/examples, a private redis-server) starts
with --schema-dir tests/schemas/evolution and --schema-registry pointing at
a small Confluent-API registry served here (GET /schemas/ids/{id}). The
records are written by python3-avro with the writer schemas of
tests/schemas/evolution/ (see its README.md) and framed with their ids:

  - an older writer without escalation_level (2001), a newer one with a
    field added (2002), the same schema under a new id (2003), and 2001's schema again under id 4001 known only to the
    registry: each grants the shift's access (GRANT on the commands topic);
  - a writer without `user` (2005), one with start as a string (4004, from
    the registry) and an id nobody knows (4999, the registry's 404): dead
    letters whose reason says why; the registry is asked once per id;
  - a registry outage (503, then connections closed without an answer) for
    an id only it knows (4002): no dead letter, the record's partition is
    held (asked again with backoff) while another partition's record is
    decided; once the registry answers, the record is decided (GRANT).

Prints "ok   ..." / "FAIL ..." per check and "N passed, N failed" last.
"""

import http.server
import io
import json
import os
import struct
import sys
import re
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import avro.io  # noqa: E402
import avro.schema  # noqa: E402

import skwire  # noqa: E402
import test_cli_requests as base  # noqa: E402
from test_cli_requests import T_COMMANDS, check, wait_recs  # noqa: E402
from test_engine_blackbox import Reader  # noqa: E402

EVO = os.path.join("tests", "schemas", "evolution")
T_SCHEDULE = "shiftkey.schedule.v1"
T_DEAD = "shiftkey.deadletter.v1"


def writer_schema(name):
    with open(os.path.join(EVO, name)) as f:
        return f.read()


REGISTRY = {4001: writer_schema("2001_no_level.avsc"),
            4004: writer_schema("2004_start_string.avsc"),
            4002: writer_schema("2002_note_added.avsc")}
asked = {}
outage = {"mode": None}  # None: answer; "503": Service Unavailable; "drop": close, no answer


class Registry(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        parts = self.path.strip("/").split("/")
        sid = int(parts[2]) if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and \
            parts[2].isdigit() else -1
        asked[sid] = asked.get(sid, 0) + 1
        if outage["mode"] == "drop":
            self.close_connection = True
            return  # nothing written: the client sees an empty reply
        if outage["mode"] == "503":
            body, code = json.dumps({"error_code": 50302, "message": "down"}), 503
        elif sid in REGISTRY:
            body, code = json.dumps({"schema": REGISTRY[sid]}), 200
        else:
            body, code = json.dumps({"error_code": 40403, "message": "Schema not found"}), 404
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def frame(schema_text, sid, record):
    # times as plain longs, as skwire.py writes them (python-avro wants
    # datetime objects for timestamp-millis)
    s = avro.schema.parse(json.dumps(skwire._strip_logical_types(json.loads(schema_text))))
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, sid))
    avro.io.DatumWriter(s).write(record, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def event(user, shift, sid_fields, start_int=False, start_str=False):
    now = int(time.time() * 1000)
    rec = {"event_id": "evo-%s" % shift, "type": "STARTED", "source": "evolution-test",
           "rotation": "data-eng", "user": user, "shift_id": shift,
           "start": 1000 if start_int else str(now) if start_str else now, "end": now + 3600 * 1000,
           "escalation_level": 1, "occurred_at": now, "note": "from a newer writer"}
    return {k: v for k, v in rec.items() if k in sid_fields}


def scenario(tmp, engine_log):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    os.environ["SHIFTKEY_SCHEMA_DIR"] = EVO
    os.environ["SHIFTKEY_SCHEMA_REGISTRY"] = "http://127.0.0.1:%d" % srv.server_address[1]
    st = base.start_stack(tmp, engine_log)
    if st is None:
        return False
    dead = Reader(st.bootstrap, [T_DEAD])
    base.procs["dead"] = dead
    dead.start()
    from confluent_kafka import Producer
    prod = Producer({"bootstrap.servers": st.bootstrap, "partitioner": "murmur2_random"})

    def send(name, sid, user, shift, **kw):
        text = REGISTRY.get(sid) or writer_schema(name)
        fields = {f["name"] for f in json.loads(text)["fields"]}
        prod.produce(T_SCHEDULE, key=user.encode(), value=frame(text, sid, event(user, shift,
                                                                                 fields, **kw)))
        prod.flush(10)

    check("the engine read the schema directory",
          "schemas: 7 writer schemas from tests/schemas/evolution (3 refused)" in
          base.read_text(engine_log), base.tail(engine_log, 5))
    good = [("2001_no_level.avsc", 2001, "evo1@example.com", {}),
            ("2002_note_added.avsc", 2002, "evo2@example.com", {}),
            ("2003_same.avsc", 2003, "evo3@example.com", {}),
            (None, 4001, "evo41@example.com", {})]
    for name, sid, user, kw in good:
        send(name, sid, user, "s-%d" % sid, **kw)
    for name, sid, user, kw in good:
        check("writer schema %d (%s): read, the shift's access granted" % (sid, name or "registry"),
              wait_recs(st.reader, T_COMMANDS, lambda r, u=user: r["user"] == u and
                        r["action"] == "GRANT" and r["app"] == "gcp-billing", timeout=20))
    # a writer without `user`: python-avro writes it, the engine refuses it
    no_user = json.loads(writer_schema("2005_no_user.avsc"))
    prod.produce(T_SCHEDULE, key=b"evo5@example.com",
                 value=frame(json.dumps(no_user), 2005,
                             event("evo5@example.com", "s-2005",
                                   {f["name"] for f in no_user["fields"]})))
    send("2004_start_string.avsc", 4004, "evo44@example.com", "s-4004", start_str=True)
    send("2003_same.avsc", 4999, "evo49@example.com", "s-4999")
    send("2003_same.avsc", 4999, "evo49@example.com", "s-4999b")
    prod.flush(10)

    def dead_with(text):
        return base.wait_until(lambda: [r for r in dead.select(T_DEAD) if r["rec"] and
                                        text in r["rec"]["reason"]], time.time() + 20, 0.2)
    check("writer without user: dead letter naming the field",
          dead_with("lacks field 'user', which has no default in ScheduleEvent"),
          [r["rec"]["reason"] for r in dead.select(T_DEAD) if r["rec"]])
    check("registry schema with start as a string: dead letter saying it cannot be resolved",
          dead_with("writer schema 4004 cannot be read as ScheduleEvent (1001)"))
    check("an id the registry does not know: dead letter saying so",
          dead_with("schema id 4999 is unknown to the schema registry"))
    check("the registry was asked once per id (4001, 4004, 4999)",
          asked.get(4001) == 1 and asked.get(4004) == 1 and asked.get(4999) == 1, asked)

    # ---- a registry outage: the record waits, it is not a dead letter ----
    from test_signature_interop import murmur2
    held_user = "evo42@example.com"
    part = lambda u: (murmur2(u.encode()) & 0x7fffffff) % base.PARTITIONS
    other = next("evo-other%d@example.com" % i for i in range(100)
                 if part("evo-other%d@example.com" % i) != part(held_user))
    outage["mode"] = "503"
    send("2002_note_added.avsc", 4002, held_user, "s-4002")
    check("registry down (503): the engine asks again with backoff",
          base.wait_until(lambda: asked.get(4002, 0) >= 3, time.time() + 20, 0.2), asked)
    outage["mode"] = "drop"
    n_asked = asked.get(4002, 0)
    check("registry answering nothing (connection closed): asked again",
          base.wait_until(lambda: asked.get(4002, 0) > n_asked, time.time() + 40, 0.2), asked)
    send("2001_no_level.avsc", 2001, other, "s-other")
    check("... meanwhile a record of another partition is decided (GRANT)",
          wait_recs(st.reader, T_COMMANDS, lambda r: r["user"] == other and r["action"] == "GRANT",
                    timeout=20))
    # the held record's dead letters: by its key, or a reason naming its
    # schema id as a word (a reason's sha256 may hold the digits 4002)
    held_dead = lambda: [r for r in dead.select(T_DEAD) if r["rec"] and (
        r.get("key") in (held_user, held_user.encode())
        or re.search(r"\bschema id 4002\b", r["rec"]["reason"]))]
    check("... and the held record is no dead letter, nor decided",
          not held_dead() and not [r for r in st.reader.select(T_COMMANDS)
                                   if r["rec"] and r["rec"]["user"] == held_user], held_dead())
    check("... the engine says the partition is held, not dead-lettered",
          "held, not dead-lettered" in base.read_text(engine_log), base.tail(engine_log, 10))
    outage["mode"] = None
    got = wait_recs(st.reader, T_COMMANDS, lambda r: r["user"] == held_user
                    and r["action"] == "GRANT" and r["app"] == "gcp-billing", timeout=45)
    time.sleep(1)
    grants = [(r["rec"]["app"], r["rec"]["entitlement"]) for r in st.reader.select(T_COMMANDS)
              if r["rec"] and r["rec"]["user"] == held_user]
    check("registry back: the held record is decided (its GRANTs, each once)",
          got and len(grants) == len(set(grants)) == 2, (grants, base.tail(engine_log, 10)))
    check("... still no dead letter for it", not held_dead(), held_dead())
    srv.shutdown()
    dead.stop.set()
    dead.join(5)
    return True


if __name__ == "__main__":
    rc = base.main(scenario)
    sys.exit(rc)
