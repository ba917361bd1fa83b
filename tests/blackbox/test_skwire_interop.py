#!/usr/bin/python3
"""Interop of the C codec (engine/codec/codec.c, avro-c) with python3-avro.

Run from the repository root with /usr/bin/python3 after `make test-build`.
It first runs the C unit test build/test/bin/unit/test_codec ($SK_CODEC_TEST_BIN)
with SK_SAMPLES_DIR set to a folder of its own, where the C encoder writes its
samples (*.bin); so it does not depend on any other test having run. Then:

  - Python decodes every sample the C encoder wrote and checks each field
    (ScheduleEvent, Command, AuditRecord, DeadLetter, AccessRequestEvent,
    TaskEvent, ProvisioningResult);
  - Python encodes the same ScheduleEvent, AccessRequestEvent, TaskEvent and
    ProvisioningResult as the C samples: byte-identical;
  - Python writes py_schedule.bin and py_request.bin into the same folder,
    and the C test cases `decodes_python_sample` and `decodes_python_request`
    are run on them (their "(no ... yet)" note of a missing file fails here),
    so the loop closes in one run;
  - framing errors are refused.

Ends with "N passed, N failed"; exit status 1 on any failure.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skwire  # noqa: E402

SAMPLES = tempfile.mkdtemp(prefix="sk-samples-")
C_TEST = os.environ.get("SK_CODEC_TEST_BIN",
                        os.path.join("build", "test", "bin", "unit", "test_codec"))
T0 = 1767225600000  # 2026-01-01T00:00:00Z, as in tests/unit/test_codec.c
HOUR = 3600000

passed = 0
failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
    except Exception as e:  # one case's failure must not stop the others
        failed += 1
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
    else:
        passed += 1
        print("ok   %s" % name)


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, expected %r" % (what, got, want))


def expect_raises(fn, needle):
    try:
        fn()
    except ValueError as e:
        if needle not in str(e):
            raise AssertionError("error %r does not contain %r" % (str(e), needle))
        return
    raise AssertionError("no error raised (expected one containing %r)" % needle)


def run_c_test(*args):
    """Runs the C codec test (all cases, or the named one) on SAMPLES."""
    if not os.access(C_TEST, os.X_OK):
        raise AssertionError("%s not built: run make test-build" % C_TEST)
    env = dict(os.environ, SK_SAMPLES_DIR=SAMPLES)
    return subprocess.run([C_TEST] + list(args), capture_output=True, text=True,
                          timeout=120, env=env)


def c_writes_samples():
    out = run_c_test()
    if out.returncode != 0 or " 0 failed" not in out.stdout:
        raise AssertionError("C test_codec failed:\n%s%s" % (out.stdout[-3000:], out.stderr[-3000:]))


def sample(name):
    path = os.path.join(SAMPLES, name)
    if not os.path.exists(path):
        raise AssertionError("%s missing: the C test did not write it" % path)
    with open(path, "rb") as f:
        return f.read()


C_SCHEDULE = {
    "event_id": "ev-1", "type": "STARTED", "source": "pagerduty",
    "rotation": "payments-primary", "user": "alice@example.com",
    "shift_id": "PD-SHIFT-42", "start": T0, "end": T0 + 8 * HOUR,
    "escalation_level": 2, "occurred_at": T0 - 60000,
}

PY_SCHEDULE = {
    "event_id": "py-ev-1", "type": "UPDATED", "source": "python",
    "rotation": "db-oncall", "user": "bob@example.com", "shift_id": "py-shift-9",
    "start": T0, "end": T0 + 12 * HOUR, "escalation_level": 3, "occurred_at": T0 - 1,
}


def c_schedule():
    name, rec = skwire.decode(sample("schedule.bin"))
    expect_eq(name, "schedule_event", "schema")
    expect_eq(rec, C_SCHEDULE, "record")


def c_schedule_open():
    name, rec = skwire.decode(sample("schedule_open.bin"))
    expect_eq(name, "schedule_event", "schema")
    expect_eq(rec["end"], None, "end")
    expect_eq(rec["escalation_level"], 1, "escalation_level")


def c_command():
    name, rec = skwire.decode(sample("command.bin"))
    expect_eq(name, "command", "schema")
    expect_eq(rec["command_id"], "0123456789abcdef0123456789abcdef", "command_id")
    expect_eq(rec["action"], "GRANT", "action")
    expect_eq((rec["user"], rec["app"], rec["entitlement"]),
              ("alice@example.com", "aws-prod", "admin"), "subject")
    expect_eq(rec["resource"], "arn:aws:iam::123456789012:role/admin", "resource")
    expect_eq(rec["permission"], "assume", "permission")
    expect_eq((rec["expires_at"], rec["issued_at"]), (T0 + 8 * HOUR, T0), "times")
    expect_eq(rec["emergency"], True, "emergency")
    expect_eq(rec["sources"], [
        {"kind": "SHIFT", "id": "PD-SHIFT-42", "rotation": "payments-primary",
         "expires_at": T0 + 8 * HOUR},
        {"kind": "REQUEST", "id": "req-7", "rotation": "", "expires_at": T0 + 2 * HOUR},
    ], "sources")


def c_audit():
    name, rec = skwire.decode(sample("audit.bin"))
    expect_eq(name, "audit_record", "schema")
    expect_eq(rec["audit_id"], "fedcba9876543210fedcba9876543210", "audit_id")
    expect_eq(rec["at"], T0, "at")
    expect_eq(rec["actor"], "connector:pagerduty", "actor")
    expect_eq(rec["decision"], "granted", "decision")
    expect_eq(rec["origin"], {"topic": "shiftkey.schedule.v1", "partition": 3,
                              "offset": 12345}, "origin")
    expect_eq(len(rec["trace"]), 2, "trace length")
    expect_eq(rec["command_ids"], ["0123456789abcdef0123456789abcdef"], "command_ids")


def c_dead_letter():
    name, rec = skwire.decode(sample("dead_letter.bin"))
    expect_eq(name, "dead_letter", "schema")
    expect_eq(rec["kind"], "INVALID", "kind")
    expect_eq(rec["reason"], "field 'type': enum index 9 out of range (0..4)", "reason")
    expect_eq(rec["origin"], {"topic": "shiftkey.schedule.v1", "partition": 1,
                              "offset": 77}, "origin")
    expect_eq(rec["key"], b"alice", "key")
    expect_eq(rec["payload"], b"\x7b\x00\xff\x22\x00", "payload")


def same_bytes_as_c():
    expect_eq(skwire.encode("schedule_event", C_SCHEDULE), sample("schedule.bin"),
              "Python's bytes vs the C encoder's")


def python_round_trip_and_sample():
    data = skwire.encode("schedule_event", PY_SCHEDULE)
    expect_eq(data[:5], b"\x00\x00\x00\x03\xe9", "header")
    expect_eq(skwire.decode(data), ("schedule_event", PY_SCHEDULE), "round trip")
    os.makedirs(SAMPLES, exist_ok=True)
    with open(os.path.join(SAMPLES, "py_schedule.bin"), "wb") as f:
        f.write(data)


def c_decodes_python_sample():
    out = run_c_test("decodes_python_sample")
    if out.returncode != 0 or "1 passed, 0 failed" not in out.stdout or "(no " in out.stdout:
        raise AssertionError("C decoder refused py_schedule.bin:\n%s%s"
                             % (out.stdout, out.stderr))


C_REQUEST = {
    "event_id": "rq-ev-1", "type": "REASSIGNED", "request_id": "req-7",
    "actor": "bob@example.com", "subject": "alice@example.com",
    "target_kind": "ENTITLEMENT", "target": "aws-prod/admin", "duration_ms": 2 * HOUR,
    "justification": "INC-4711: payments are failing", "emergency": True,
    "comment": "carol knows this system", "assignee": "carol@example.com", "policy": None,
    "source": "slack", "occurred_at": T0 + 5000,
}

C_TASK = {
    "task_id": "task-1", "kind": "PROVISIONING", "state": "CLOSED",
    "outcome": "WONT_PROVISION", "request_id": "req-7", "subject": "alice@example.com",
    "target": "aws-prod/admin", "step": 2,
    "assignees": ["bob@example.com", "carol@example.com"], "emergency": True,
    "reason": "the account is frozen", "at": T0 + HOUR, "justification": "db down",
    "expires_at": T0 + 2 * HOUR, "actor": "",
}

C_PROVISIONING_RESULT = {
    "command_id": "0123456789abcdef0123456789abcdef", "result": "FAILED", "retryable": True,
    "provisioner": "aws-iam", "user": "alice@example.com",
    "message": "throttled by IAM; will retry", "entitlement": "", "at": T0 + 1500,
}

PY_REQUEST = {
    "event_id": "py-rq-1", "type": "CREATED", "request_id": "py-req-1",
    "actor": "bob@example.com", "subject": "bob@example.com", "target_kind": "PROFILE",
    "target": "oncall-db", "duration_ms": 4 * HOUR, "justification": "db failover drill",
    "emergency": True, "comment": "", "assignee": None, "policy": None,
    "source": "python", "occurred_at": T0 + 42,
}


def c_request():
    data = sample("request.bin")
    expect_eq(data[:5], b"\x00\x00\x00\x03\xf2", "header (id 1010)")
    expect_eq(skwire.decode(data), ("access_request_event", C_REQUEST), "record")
    expect_eq(skwire.encode("access_request_event", C_REQUEST), data,
              "Python's bytes vs the C encoder's")


def c_task():
    data = sample("task.bin")
    expect_eq(data[:5], b"\x00\x00\x00\x03\xf3", "header (id 1011)")
    expect_eq(skwire.decode(data), ("task_event", C_TASK), "record")
    expect_eq(skwire.encode("task_event", C_TASK), data, "Python's bytes vs the C encoder's")


def c_provisioning_result():
    data = sample("provisioning_result.bin")
    expect_eq(data[:5], b"\x00\x00\x00\x03\xf4", "header (id 1012)")
    expect_eq(skwire.decode(data), ("provisioning_result", C_PROVISIONING_RESULT), "record")
    expect_eq(skwire.encode("provisioning_result", C_PROVISIONING_RESULT), data,
              "Python's bytes vs the C encoder's")


def python_request_sample():
    data = skwire.encode("access_request_event", PY_REQUEST)
    expect_eq(skwire.decode(data), ("access_request_event", PY_REQUEST), "round trip")
    # every optional field has a default, so it can be left out by writers
    optional = ("target_kind", "duration_ms", "justification", "emergency", "comment",
                "assignee", "policy")
    for f in skwire.schema("access_request_event").fields:
        expect_eq(f.has_default, f.name in optional, "has a default: " + f.name)
    os.makedirs(SAMPLES, exist_ok=True)
    with open(os.path.join(SAMPLES, "py_request.bin"), "wb") as f:
        f.write(data)


def c_decodes_python_request():
    out = run_c_test("decodes_python_request")
    if out.returncode != 0 or "1 passed, 0 failed" not in out.stdout or "(no " in out.stdout:
        raise AssertionError("C decoder refused py_request.bin:\n%s%s"
                             % (out.stdout, out.stderr))


def new_schemas_refused_by_python():
    good = skwire.encode("access_request_event", PY_REQUEST)
    expect_raises(lambda: skwire.decode(good + b"\x00"), "trailing bytes")
    expect_raises(lambda: skwire.decode(good[:-2]), "not a valid access_request_event")
    bad = dict(PY_REQUEST, type="GRANTED")
    try:
        skwire.encode("access_request_event", bad)
    except Exception as e:  # python-avro: AvroTypeException
        if "GRANTED" not in str(e) and "type" not in str(e):
            raise
    else:
        raise AssertionError("unknown enum symbol GRANTED accepted")


def framing_refused():
    good = skwire.encode("schedule_event", PY_SCHEDULE)
    expect_raises(lambda: skwire.decode(b""), "empty record")
    expect_raises(lambda: skwire.decode(b'{"type":"STARTED"}'),
                  "not shiftkey framing: first byte 0x7b")
    expect_raises(lambda: skwire.decode(b"\x00\x00\x00\x03"), "truncated")
    expect_raises(lambda: skwire.decode(b"\x00\x00\x00\x00\x07" + good[5:]),
                  "unknown schema id 7")
    expect_raises(lambda: skwire.decode(good + b"\x00"), "1 trailing bytes")
    expect_raises(lambda: skwire.decode(good[:-3]), "not a valid schedule_event")


check("C test_codec writes its samples", c_writes_samples)
check("decodes C schedule sample", c_schedule)
check("decodes C open-ended schedule sample", c_schedule_open)
check("decodes C command sample", c_command)
check("decodes C audit sample", c_audit)
check("decodes C dead-letter sample", c_dead_letter)
check("encodes the same bytes as C", same_bytes_as_c)
check("round trip, writes py_schedule.bin", python_round_trip_and_sample)
check("C decodes py_schedule.bin", c_decodes_python_sample)
check("decodes C request sample, same bytes", c_request)
check("decodes C task sample, same bytes", c_task)
check("decodes C provisioning-result sample, same bytes", c_provisioning_result)
check("request round trip, writes py_request.bin", python_request_sample)
check("C decodes py_request.bin", c_decodes_python_request)
check("refuses bad request records", new_schemas_refused_by_python)
check("refuses bad framing", framing_refused)

shutil.rmtree(SAMPLES, ignore_errors=True)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
