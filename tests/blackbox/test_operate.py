#!/usr/bin/python3
"""Black-box test of the operators' tools against a live engine (issue 15).

Run from the repository root (tests/run.sh does):

    /usr/bin/python3 tests/blackbox/test_operate.py

It starts redis-server and shiftkeyd (embedded broker, rules/examples) as
test_cli_requests.py does, publishes a shift and a request through the
CLI, then checks:

  - the engine's diagnostics (--diag-addr, set through SHIFTKEY_DIAG_ADDR):
    /healthz and /readyz answer 200 once partitions are claimed; /metrics
    parses with python3-prometheus-client's parser (not ours) and its
    values change as records flow: records applied, decisions, GRANTs,
    record-to-command latency, a dead letter for a record that is not Avro,
    a refused request; unknown paths 404; --log-format json (set through
    SHIFTKEY_LOG_FORMAT) makes every line of the log a JSON object;
  - `shiftkey explain`: the shift's access is HELD with its source, shift
    and enrollment rule; an entitlement nobody gave is "not held" and a
    request for it would be refused with the reason; a request someone may
    make would be pending with its reviewers; `--at` after the shift's end
    shows it gone (the user's timer decided in memory);
  - `shiftkey replay` from the input topics: the same rules find no
    difference (exit 0); a real edit (the payments grace cut to 15m) finds
    the shorter grant (exit 1); `--export` writes a recording that replays
    the same.

Prints "ok   ..." / "FAIL ..." per check and "N passed, N failed" last.
"""

import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli_requests as base  # noqa: E402
from test_cli_requests import T_COMMANDS, check, wait_recs  # noqa: E402

RULES = os.path.join("rules", "examples")
BOB, DAVE = "bob@example.com", "dave@example.com"
# the shift starts a few ms before the engine decides it: 8h29m59.99s held
LOSS = re.compile(r"- bob@example.com aws-prod/readonly: held 8h(29|30)m -> 8h(14|15)m, 1 -> 1 grants")


def http_get(url):
    """(status, body text); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def scrape(diag):
    """{(name, labels as a sorted tuple): value} parsed by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families
    status, text = http_get(diag + "/metrics")
    out = {}
    if status != 200:
        return out
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            out[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    return out


def val(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))), 0)


def check_metrics(st, diag, engine_log):
    cli = st.cli
    check("/healthz answers 200", http_get(diag + "/healthz")[0] == 200)
    check("/readyz answers 200 once partitions are claimed",
          base.wait_until(lambda: http_get(diag + "/readyz")[0] == 200, time.time() + 10, 0.2),
          http_get(diag + "/readyz"))
    check("an unknown path is 404", http_get(diag + "/nope")[0] == 404)
    m0 = scrape(diag)
    check("/metrics parses with prometheus_client and has the engine's families",
          ("shiftkey_partitions_owned", ()) in m0 and ("shiftkey_redis_up", ()) in m0 and
          val(m0, "shiftkey_kafka_up") == 1, sorted(m0)[:20])
    check("partitions owned is 4", val(m0, "shiftkey_partitions_owned") == 4)
    sched = "shiftkey.schedule.v1"
    before = val(m0, "shiftkey_input_records_total", topic=sched, outcome="applied")
    grants = val(m0, "shiftkey_commands_total", action="GRANT")
    rc, out, err = cli.run("shift", "started", "--user", "carol@example.com", "--rotation",
                           "data-eng", "--id", "m-1", "--start", "now", "--end", "+1h")
    m1 = {}

    def flowed():
        m1.update(scrape(diag))
        return val(m1, "shiftkey_input_records_total", topic=sched, outcome="applied") > before
    check("records applied go up as a shift flows", rc == 0 and
          base.wait_until(flowed, time.time() + 15, 0.2), (rc, err))
    check("GRANTs counted (gcp-billing/viewer and datadog/read)",
          val(m1, "shiftkey_commands_total", action="GRANT") >= grants + 2)
    check("a schedule decision counted as granted",
          val(m1, "shiftkey_decisions_total", kind="schedule", outcome="granted") >= 1)
    check("record-to-command latency observed",
          val(m1, "shiftkey_record_to_command_seconds_count") >= 1)
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": st.bootstrap, "partitioner": "murmur2_random"})
    p.produce(sched, key=b"mallory@example.com", value=b"not avro at all")
    p.flush(10)
    check("a record that is not Avro: dead_letters{reason=UNDECODABLE} 1",
          base.wait_until(lambda: val(scrape(diag), "shiftkey_dead_letters_total",
                                      reason="UNDECODABLE") == 1, time.time() + 15, 0.2))
    rc, out, err = cli.run("request", "kubernetes-prod/edit", "--duration", "1h", "--as",
                           "bob@example.com", "--id", "m-req-1")
    check("a refused request: refused_actions{action=CREATED,reason=not_requestable}",
          base.wait_until(lambda: val(scrape(diag), "shiftkey_refused_actions_total",
                                      action="CREATED", reason="not_requestable") >= 1,
                          time.time() + 15, 0.2), (rc, out, err))
    lines = [ln for ln in base.read_text(engine_log).splitlines() if ln.strip()]
    bad = []
    for ln in lines:
        try:
            obj = json.loads(ln)
            if set(obj) != {"ts", "level", "msg"}:
                bad.append(ln)
        except ValueError:
            bad.append(ln)
    check("--log-format json: every log line is one JSON object", lines and not bad, bad[:3])


def scenario(tmp, engine_log):
    diag_port = base.free_port()
    os.environ["SHIFTKEY_DIAG_ADDR"] = "127.0.0.1:%d" % diag_port
    os.environ["SHIFTKEY_LOG_FORMAT"] = "json"
    st = base.start_stack(tmp, engine_log)
    if st is None:
        return False
    cli = st.cli
    args = base.procs["redis"].args
    redis = "127.0.0.1:%s" % args[args.index("--port") + 1]
    check_metrics(st, "http://127.0.0.1:%d" % diag_port, engine_log)

    rc, out, err = cli.run("shift", "started", "--user", BOB, "--rotation", "payments-primary",
                           "--id", "op-1", "--start", "now", "--end", "+8h")
    check("shift published", rc == 0, err)
    check("GRANT aws-prod/readonly to bob",
          wait_recs(st.reader, T_COMMANDS, lambda r: r["user"] == BOB and
                    r["entitlement"] == "readonly" and r["action"] == "GRANT"), out)

    def explain(*a):
        return cli.run("explain", *a, "--rules", RULES, "--redis", redis, kafka=False)

    rc, out, err = explain(BOB, "aws-prod/readonly")
    check("explain: exit 0", rc == 0, err)
    check("explain: held, with its source and rule",
          "aws-prod/readonly: HELD until" in out and "source SHIFT op-1" in out and
          "enrollment payments-oncall-auto gives profile payments-oncall" in out, out)
    check("explain: a request for what the shift holds would be decided (not refused)",
          "a request now for aws-prod/readonly" in out, out)
    rc, out, err = explain(BOB, "kubernetes-prod/edit")
    check("explain: not held, and a request would be refused with the reason",
          rc == 0 and "kubernetes-prod/edit: not held" in out and
          "would be: refused:" in out and "not on call in rotation 'platform-sre'" in out, out)
    rc, out, err = explain(DAVE, "kubernetes-prod/edit", "--duration", "2h")
    check("explain: a request dave may make would wait for its reviewers",
          rc == 0 and "waiting for:" in out and "frank@example.com" in out, out)
    rc, out, err = explain(BOB, "aws-prod/readonly", "--at", "+9h")
    check("explain --at after the shift and its grace: not held",
          rc == 0 and "aws-prod/readonly: not held" in out, out)
    rc, out, err = explain(BOB)
    check("explain USER: every entitlement held", rc == 0 and "datadog/write: HELD" in out, out)
    rc, out, err = cli.run("explain", BOB, "--rules", RULES, "--redis", "127.0.0.1:1",
                           kafka=False)
    check("explain: Redis unreachable exits 1", rc == 1, out + err)

    new = os.path.join(tmp, "rules-new")
    shutil.copytree(RULES, new)
    p = os.path.join(new, "enrollments.yaml")
    with open(p) as f:
        text = f.read()
    with open(p, "w") as f:
        f.write(text.replace("revoke_after: 30m", "revoke_after: 15m"))
    rec = os.path.join(tmp, "recording")
    rc, out, err = cli.run("replay", "--current", RULES, "--rules", RULES, "--export", rec)
    check("replay from the topics, same rules: no difference (exit 0)",
          rc == 0 and "no difference" in out and "replay: 4 records" in out, out + err)
    rc, out, err = cli.run("replay", "--current", RULES, "--rules", new, "--until", "+10h")
    check("replay with the grace cut to 15m: bob loses 15m of aws-prod/readonly (exit 1)",
          rc == 1 and LOSS.search(out), out + err)
    rc, out, err = cli.run("replay", "--current", RULES, "--rules", new, "--input", rec,
                           "--until", "+10h", kafka=False)
    check("replay of the exported recording: the same difference",
          rc == 1 and LOSS.search(out), out + err)

    st.rcli("shutdown", "nosave")
    diag = "http://127.0.0.1:%d" % diag_port
    check("Redis gone: /readyz 503 naming it, redis_up 0, redis errors counted",
          base.wait_until(lambda: http_get(diag + "/readyz") == (503, "not ready: Redis not "
                                                                      "connected\n"),
                          time.time() + 15, 0.2) and
          val(scrape(diag), "shiftkey_redis_up") == 0 and
          val(scrape(diag), "shiftkey_redis_errors_total") >= 1, http_get(diag + "/readyz"))
    check("/healthz still 200 (alive, not ready)", http_get(diag + "/healthz")[0] == 200)
    return True


if __name__ == "__main__":
    sys.exit(base.main(scenario))
