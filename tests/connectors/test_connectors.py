#!/usr/bin/python3
"""Black-box tests of the connectors (shiftkey-pagerduty, -opsgenie, -ical).

Each connector runs --once against fake_platform.py (loopback HTTP, bodies
shaped as the platforms document them) and shiftkeyd's embedded broker
(librdkafka's mock cluster, with a private redis-server); the schedule
events are read back from shiftkey.schedule.v1 with confluent_kafka and
decoded with tests/blackbox/skwire.py, and compared exactly. Restarts keep
the state file. The end-to-end case checks GRANT and REVOKE on the commands
topic. Ends with "N passed, N failed".
"""

import calendar
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
os.chdir(ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import skproc  # noqa: E402  ports, waiting, redis-server, shiftkeyd, the reader
from skproc import free_port, wait_until  # noqa: E402

BIN = os.environ.get("SK_CONNECTORS_BIN", os.path.join("build", "test", "bin", "connectors"))
T_SCHEDULE = "shiftkey.schedule.v1"
T_COMMANDS = "shiftkey.commands.v1"
HOUR = 3600 * 1000
DAY = 24 * HOUR

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + str(detail)) if detail else ""), flush=True)
    return bool(ok)


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def iso_offset(ms, hours):
    """ms as local time at UTC+hours, e.g. 2026-11-23T13:00:00+01:00 (PagerDuty style)."""
    t = time.gmtime(ms // 1000 + hours * 3600)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + "%+03d:00" % hours


class Reader(skproc.Reader):
    """Every record of the topics, decoded, in arrival order; keys as text."""

    def __init__(self, bootstrap, topics):
        super().__init__(bootstrap, topics, text_keys=True)


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="sk-conn-")
        self.procs = []
        self.web = os.path.join(self.tmp, "web")
        os.makedirs(self.web)

    def start(self):
        redis = skproc.Redis(self.tmp)
        self.procs.append(redis)
        if not redis.start():
            return False
        self.engine_log = os.path.join(self.tmp, "engine.log")
        daemon = skproc.Shiftkeyd(self.tmp, "rules/examples", redis.addr, "conn-test",
                                  log=self.engine_log)
        self.boot = daemon.boot
        daemon.start()
        self.procs.append(daemon)
        self.fake = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests", "connectors", "fake_platform.py"), self.web])
        if not (daemon.wait_assigned(T_SCHEDULE) and
                wait_until(lambda: os.path.exists(os.path.join(self.web, "port")), 20, 0.05)):
            return False
        self.bootstrap = daemon.bootstrap
        with open(os.path.join(self.web, "port")) as f:
            self.base = "http://127.0.0.1:%s" % f.read().strip()
        self.reader = Reader(self.bootstrap, [T_SCHEDULE, T_COMMANDS])
        self.reader.start()
        return wait_until(lambda: len({t for t, _ in self.reader.assigned}) == 2, 20, 0.05)

    def stop(self):
        if hasattr(self, "reader"):
            self.reader.close()
        if getattr(self, "fake", None) is not None:
            self.fake.send_signal(signal.SIGTERM)
            try:
                self.fake.wait(5)
            except subprocess.TimeoutExpired:
                self.fake.kill()
        for p in reversed(self.procs):
            p.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, data):
        path = os.path.join(self.web, name)
        with open(path + ".tmp", "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data))
        os.replace(path + ".tmp", path)
        return path

    def requests(self):
        try:
            with open(os.path.join(self.web, "requests.log")) as f:
                return [json.loads(line) for line in f]
        except OSError:
            return []

    def connector(self, name, *args, env=None):
        """Runs one connector --once; returns (exit status, stderr text, new schedule records)."""
        before = len(self.reader.select(T_SCHEDULE))
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([os.path.join(BIN, "shiftkey-" + name), "--once", "--verbose",
                            "--bootstrap-file", self.boot] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        sent = sum(int(x) for x in _counts(err))
        wait_until(lambda: len(self.reader.select(T_SCHEDULE)) >= before + sent, 10)
        time.sleep(0.2)  # anything unexpected would show up too
        new = self.reader.select(T_SCHEDULE)[before:]
        if "ERROR: AddressSanitizer" in err or "ERROR: LeakSanitizer" in err or "runtime error" in err:
            print(err, file=sys.stderr)
        return p.returncode, err, new


def _counts(log):
    """The five event counts of the poll line (sent or not)."""
    import re
    m = re.search(r"sent (\d+) SCHEDULED, (\d+) STARTED, (\d+) UPDATED, (\d+) ENDED, (\d+) CANCELLED", log)
    return m.groups() if m else []


def summary(records):
    """(type, user, shift_id, start, end, level) of each record, sorted."""
    return sorted((r["rec"]["type"], r["rec"]["user"], r["rec"]["shift_id"], r["rec"]["start"],
                   r["rec"]["end"], r["rec"]["escalation_level"]) for r in records)


def well_formed(records, source, rotation):
    for r in records:
        rec = r["rec"]
        if r["name"] != "schedule_event" or r["key"] != rec["user"] or rec["source"] != source \
                or rec["rotation"] != rotation or not rec["event_id"].startswith(source + "-"):
            return False
    return True


# ---------------------------------------------------------------- PagerDuty

def pd_oncall(user, email, sched, level, start, end, ep="PEP0001"):
    return {"escalation_policy": {"id": ep, "type": "escalation_policy_reference",
                                  "summary": "Payments", "self": "https://api.pagerduty.com/escalation_policies/" + ep,
                                  "html_url": "https://example.pagerduty.com/escalation_policies/" + ep},
            "escalation_level": level,
            "schedule": None if sched is None else {
                "id": sched, "type": "schedule_reference", "summary": "Payments primary",
                "self": "https://api.pagerduty.com/schedules/" + sched,
                "html_url": "https://example.pagerduty.com/schedules/" + sched},
            "user": {"id": user, "type": "user", "name": email.split("@")[0].title(),
                     "email": email, "time_zone": "Europe/Berlin",
                     "self": "https://api.pagerduty.com/users/" + user,
                     "html_url": "https://example.pagerduty.com/users/" + user},
            "start": None if start is None else iso_offset(start, 1),
            "end": None if end is None else iso_offset(end, 1)}


def test_pagerduty(env):
    t0 = now_ms() // 1000 * 1000
    state = os.path.join(env.tmp, "pd.state")
    args = ["--rotation", "payments-primary", "--state", state, "--base-url", env.base,
            "--schedule-ids", "PSCHED1", "--escalation-policy-ids", "PEP0001", "--page-limit", "2",
            "--lookahead", "24h", "--http-backoff", "100ms"]
    tok = {"SHIFTKEY_PAGERDUTY_TOKEN": "pd-secret-token"}
    a_start, a_end = t0 - HOUR, t0 + 2 * HOUR
    b_start, b_end = t0 + 2 * HOUR, t0 + 10 * HOUR
    e_start, e_end = t0 - HOUR, t0 + 5000
    oncalls = [pd_oncall("PALICE1", "alice@example.com", "PSCHED1", 1, a_start, a_end),
               pd_oncall("PBOB001", "Bob@Example.com", "PSCHED1", 1, b_start, b_end),
               pd_oncall("PCAROL1", "carol@example.com", None, 2, None, None),
               pd_oncall("PERIN01", "erin@example.com", "PSCHED1", 1, e_start, e_end),
               # the same schedule shift seen again through level 3 of another policy: one shift
               pd_oncall("PALICE1", "alice@example.com", "PSCHED1", 3, a_start, a_end, ep="PEP0002")]
    env.write("pd_oncalls.json", oncalls)
    env.write("faults", "429 1\n500\n")
    t_run = time.time()
    rc, log, recs = env.connector("pagerduty", *args, env=tok)
    took = time.time() - t_run
    check("pagerduty: first poll exits 0 after a 429 and a 500", rc == 0, log[-800:])
    reqs = [r for r in env.requests() if r["path"] == "/oncalls"]
    check("pagerduty: waited for ratelimit-reset (1 s) and retried the 500", len(reqs) == 5 and took >= 1.0,
          "%d requests in %.1f s" % (len(reqs), took))
    check("pagerduty: Authorization: Token token=… and the v2 Accept header",
          all(r["authorization"] == "Token token=pd-secret-token" and
              r["accept"] == "application/vnd.pagerduty+json;version=2" for r in reqs), reqs[:1])
    q = reqs[-1]["query"] if reqs else {}
    check("pagerduty: schedule_ids[], escalation_policy_ids[], include[]=users, since/until = now..+24h",
          q.get("schedule_ids[]") == ["PSCHED1", "null"] and q.get("escalation_policy_ids[]") == ["PEP0001"]
          and q.get("include[]") == ["users"]
          and abs(calendar.timegm(time.strptime(q["until"][0], "%Y-%m-%dT%H:%M:%SZ")) * 1000
                  - calendar.timegm(time.strptime(q["since"][0], "%Y-%m-%dT%H:%M:%SZ")) * 1000 - DAY) < 2000,
          q)
    check("pagerduty: followed offset/limit/more over 3 pages",
          sorted(set(r["query"]["offset"][0] for r in reqs)) == ["0", "2", "4"], [r["query"].get("offset") for r in reqs])
    carol = [r for r in recs if r["rec"]["user"] == "carol@example.com"]
    carol_start = carol[0]["rec"]["start"] if carol else 0
    want = sorted([
        ("STARTED", "alice@example.com", "pd:PSCHED1:PALICE1:" + iso(a_start), a_start, a_end, 1),
        ("SCHEDULED", "bob@example.com", "pd:PSCHED1:PBOB001:" + iso(b_start), b_start, b_end, 1),
        ("STARTED", "carol@example.com", "pd:ep.PEP0001.2:PCAROL1:permanent", carol_start, None, 2),
        ("STARTED", "erin@example.com", "pd:PSCHED1:PERIN01:" + iso(e_start), e_start, e_end, 1),
    ])
    check("pagerduty: exact events (STARTED/SCHEDULED, permanent on-call open-ended at level 2, "
          "lowest level kept, e-mail lower-cased)", summary(recs) == want, summary(recs))
    check("pagerduty: permanent on-call starts when first seen", abs(carol_start - t0) < 5000, carol_start)
    check("pagerduty: records keyed by user, source pagerduty, rotation payments-primary",
          well_formed(recs, "pagerduty", "payments-primary"))
    check("pagerduty: one log line per poll with counts",
          "poll ok: 4 shifts listed (0 skipped), 5 requests (2 retried); sent 0 SCHEDULED" not in log
          and "sent 1 SCHEDULED, 3 STARTED, 0 UPDATED, 0 ENDED, 0 CANCELLED" in log, log[-400:])

    rc, log, recs = env.connector("pagerduty", *args, env=tok)
    check("pagerduty: restart with the same on-calls sends nothing (state kept)", rc == 0 and recs == [],
          summary(recs))

    # erin's shift ends while the connector is down; the next poll cannot read PagerDuty
    wait_until(lambda: now_ms() > e_end + 200, 10)
    env.write("faults", "malformed\n")
    rc, log, recs = env.connector("pagerduty", *args, env=tok)
    check("pagerduty: a malformed body fails the poll (exit 1) and says why",
          rc == 1 and "not a PagerDuty on-call list" in log, log[-600:])
    check("pagerduty: ...but the shift that ended while down is ENDED by time",
          summary(recs) == [("ENDED", "erin@example.com", "pd:PSCHED1:PERIN01:" + iso(e_start), e_start, e_end, 1)],
          summary(recs))

    # handover: alice's shift removed while running, bob's moved, dave added, erin gone for good
    d_start, d_end = t0 + 3 * HOUR, t0 + 4 * HOUR
    oncalls = [pd_oncall("PBOB001", "bob@example.com", "PSCHED1", 1, b_start, b_end + HOUR),
               pd_oncall("PCAROL1", "carol@example.com", None, 2, None, None),
               pd_oncall("PDAVE01", "dave@example.com", "PSCHED1", 1, d_start, d_end)]
    env.write("pd_oncalls.json", oncalls)
    t1 = now_ms()
    rc, log, recs = env.connector("pagerduty", *args, env=tok)
    s = summary(recs)
    alice_end = [x[4] for x in s if x[1] == "alice@example.com"]
    want = sorted([
        ("ENDED", "alice@example.com", "pd:PSCHED1:PALICE1:" + iso(a_start), a_start, alice_end[0] if alice_end else -1, 1),
        ("SCHEDULED", "dave@example.com", "pd:PSCHED1:PDAVE01:" + iso(d_start), d_start, d_end, 1),
        ("UPDATED", "bob@example.com", "pd:PSCHED1:PBOB001:" + iso(b_start), b_start, b_end + HOUR, 1),
    ])
    check("pagerduty: changes → ENDED (removed while running), UPDATED (end moved), SCHEDULED (new); "
          "no second ENDED", rc == 0 and s == want, s)
    check("pagerduty: the early end is now", bool(alice_end) and t1 - 1000 <= alice_end[0] <= now_ms(), alice_end)
    ids = [r["rec"]["event_id"] for r in env.reader.select(T_SCHEDULE) if r["rec"]["source"] == "pagerduty"]
    check("pagerduty: event ids are unique", len(ids) == len(set(ids)), ids)

    env.write("pd_oncalls.json", [pd_oncall("PCAROL1", "carol@example.com", None, 2, None, None),
                                  pd_oncall("PDAVE01", "dave@example.com", "PSCHED1", 1, d_start, d_end)])
    rc, log, recs = env.connector("pagerduty", *args, env=tok)
    check("pagerduty: a future shift removed → CANCELLED",
          summary(recs) == [("CANCELLED", "bob@example.com", "pd:PSCHED1:PBOB001:" + iso(b_start), b_start, b_end + HOUR, 1)],
          summary(recs))

    env.write("faults", "500\n500\n")
    rc, log, recs = env.connector("pagerduty", *(args + ["--http-attempts", "2"]), env=tok)
    check("pagerduty: 5xx until the attempts run out → exit 1, nothing sent", rc == 1 and recs == [] and
          "HTTP 500" in log, log[-400:])
    rc, log, _ = env.connector("pagerduty", "--rotation", "payments-primary", "--state", state,
                               "--schedule-ids", "P1", env={"SHIFTKEY_PAGERDUTY_TOKEN": ""})
    check("pagerduty: no token → usage error (2) naming the variable",
          rc == 2 and "SHIFTKEY_PAGERDUTY_TOKEN" in log, log)
    rc, log, _ = env.connector("pagerduty", "--rotation", "other-rotation", "--state", state,
                               "--schedule-ids", "P1", "--base-url", env.base, env=tok)
    check("pagerduty: a state file of another rotation is refused (1)",
          rc == 1 and "belongs to another connector" in log, log)


# ---------------------------------------------------------------- Opsgenie

def test_opsgenie(env):
    t0 = now_ms() // 1000 * 1000
    sid = "4513b7ea-3b91-438f-b7e4-e3e54af9147c"
    p1 = (t0 - 2 * HOUR, t0 + 6 * HOUR)
    p2 = (t0 + 6 * HOUR, t0 + 18 * HOUR)
    timeline = {
        "data": {
            "_parent": {"id": sid, "name": "Payments_Schedule", "enabled": True},
            "startDate": iso(t0 - 7 * DAY), "endDate": iso(t0 + 2 * DAY),
            "finalTimeline": {"rotations": [
                {"id": "b3bd1c8b-rot1", "name": "Primary", "order": 1.0, "periods": [
                    {"startDate": iso(p1[0]), "endDate": iso(p1[1]), "type": "default",
                     "recipient": {"id": "uid-frank", "type": "user", "name": "frank@example.com"}},
                    {"startDate": iso(p2[0]), "endDate": iso(p2[1]), "type": "override",
                     "recipient": {"id": "uid-grace", "type": "user", "name": "grace@example.com"}}]},
                {"id": "c4ce2d9c-rot2", "name": "Teams", "order": 2.0, "periods": [
                    {"startDate": iso(p1[0]), "endDate": iso(p2[1]), "type": "default",
                     "recipient": {"id": "team-1", "type": "team", "name": "payments_team"}}]}]},
            "baseTimeline": {"rotations": []},
            "overrideTimeline": {"rotations": []}},
        "took": 0.07, "requestId": "d2f4c1a5-fake"}
    env.write("og_%s.json" % sid, timeline)
    state = os.path.join(env.tmp, "og.state")
    args = ["--rotation", "payments-secondary", "--state", state, "--base-url", env.base,
            "--schedule-ids", sid, "--lookahead", "24h"]
    key = {"SHIFTKEY_OPSGENIE_API_KEY": "og-secret-key"}
    rc, log, recs = env.connector("opsgenie", *args, env=key)
    want = sorted([
        ("STARTED", "frank@example.com", "og:%s:b3bd1c8b-rot1:uid-frank:%s" % (sid, iso(p1[0])), p1[0], p1[1], 1),
        ("SCHEDULED", "grace@example.com", "og:%s:b3bd1c8b-rot1:uid-grace:%s" % (sid, iso(p2[0])), p2[0], p2[1], 1),
    ])
    check("opsgenie: final timeline periods → STARTED + SCHEDULED; team periods skipped",
          rc == 0 and summary(recs) == want, (rc, summary(recs), log[-500:]))
    check("opsgenie: records keyed by user, source opsgenie", well_formed(recs, "opsgenie", "payments-secondary"))
    reqs = [r for r in env.requests() if r["path"].startswith("/v2/schedules/")]
    r = reqs[-1] if reqs else {"query": {}, "path": ""}
    check("opsgenie: GET /v2/schedules/{id}/timeline with GenieKey, intervalUnit=days, interval, date",
          r["path"] == "/v2/schedules/%s/timeline" % sid and r["authorization"] == "GenieKey og-secret-key"
          and r["query"].get("intervalUnit") == ["days"] and int(r["query"]["interval"][0]) >= 8
          and "date" in r["query"], r)
    rc, log, recs = env.connector("opsgenie", *args, env=key)
    check("opsgenie: restart sends nothing", rc == 0 and recs == [], summary(recs))
    timeline["data"]["finalTimeline"]["rotations"][0]["periods"][0]["endDate"] = iso(p1[1] - HOUR)
    env.write("og_%s.json" % sid, timeline)
    rc, log, recs = env.connector("opsgenie", *args, env=key)
    check("opsgenie: an override shortening a shift → UPDATED",
          summary(recs) == [("UPDATED", "frank@example.com", want[1][2], p1[0], p1[1] - HOUR, 1)], summary(recs))
    rc, log, recs = env.connector("opsgenie", *args[:-4], "--schedule-ids", "nope", "--lookahead", "24h",
                                  "--http-attempts", "1", env=key)
    check("opsgenie: unknown schedule (404) → exit 1 with the reason", rc == 1 and "HTTP 404" in log, log[-300:])


# ---------------------------------------------------------------- iCalendar

def last_sunday(year, month):
    d = datetime.date(year, month + 1, 1) - datetime.timedelta(days=1) if month < 12 else datetime.date(year, 12, 31)
    return d - datetime.timedelta(days=(d.weekday() - 6) % 7)


def berlin_offset(utc_ms):
    """Europe/Berlin's UTC offset in hours by the EU rule (01:00 UTC, last Sundays of March/October)."""
    t = datetime.datetime.utcfromtimestamp(utc_ms / 1000)
    start = datetime.datetime.combine(last_sunday(t.year, 3), datetime.time(1))
    end = datetime.datetime.combine(last_sunday(t.year, 10), datetime.time(1))
    return 2 if start <= t < end else 1


def berlin(y, mo, d, h=0, mi=0):
    """UTC ms of a Berlin wall-clock time (not in the repeated hour)."""
    local = calendar.timegm((y, mo, d, h, mi, 0)) * 1000
    guess = local - HOUR
    return local - berlin_offset(guess) * HOUR if berlin_offset(guess) == berlin_offset(local - 2 * HOUR) \
        else local - berlin_offset(local - 2 * HOUR) * HOUR


def ical_doc(events):
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//shiftkey tests//EN\r\n" + \
        "".join("BEGIN:VEVENT\r\n" + "".join(l + "\r\n" for l in ev) + "END:VEVENT\r\n" for ev in events) + \
        "END:VCALENDAR\r\n"


def ymd(d):
    return d.strftime("%Y%m%d")


def utc_stamp(ms):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ms // 1000))


def test_ical(env):
    t0 = now_ms() // 1000 * 1000
    today = datetime.datetime.utcfromtimestamp(t0 / 1000).date()
    dst = last_sunday(today.year, 10)
    if dst <= today + datetime.timedelta(days=3):
        dst = last_sunday(today.year + 1, 10)
    lookahead_days = (dst - today).days + 5
    d_m2, d_p1 = dst - datetime.timedelta(days=2), dst + datetime.timedelta(days=1)
    allday = today + datetime.timedelta(days=3)
    c_start = t0 + 2 * DAY
    events = {
        "dst": ["UID:dst-night@shiftkey.test", "DTSTAMP:20261101T000000Z",
                "DTSTART;TZID=Europe/Berlin:%sT000000" % ymd(dst),
                "DTEND;TZID=Europe/Berlin:%sT060000" % ymd(dst),
                "SUMMARY:Night shift", "ATTENDEE;CN=Heidi:mailto:Heidi@Example.com"],
        "daily": ["UID:daily@shiftkey.test", "DTSTAMP:20261101T000000Z",
                  "DTSTART;TZID=Europe/Berlin:%sT090000" % ymd(d_m2),
                  "DTEND;TZID=Europe/Berlin:%sT170000" % ymd(d_m2),
                  "RRULE:FREQ=DAILY;COUNT=4",
                  "EXDATE;TZID=Europe/Berlin:%sT090000" % ymd(d_p1),
                  "SUMMARY:On call: Ivan <ivan@example.com>"],
        "cancel": ["UID:cancel-me@shiftkey.test", "DTSTAMP:20261101T000000Z",
                   "DTSTART:%s" % utc_stamp(c_start), "DTEND:%s" % utc_stamp(c_start + 8 * HOUR),
                   "STATUS:CONFIRMED", "ATTENDEE:mailto:judy@example.com"],
        "allday": ["UID:allday@shiftkey.test", "DTSTAMP:20261101T000000Z",
                   "DTSTART;VALUE=DATE:%s" % ymd(allday),
                   "DTEND;VALUE=DATE:%s" % ymd(allday + datetime.timedelta(days=1)),
                   "SUMMARY:Karl Example"],
    }
    umap = os.path.join(env.tmp, "users.yaml")
    with open(umap, "w") as f:
        f.write("# directory ids\nusers:\n  heidi@example.com: heidi\n  \"Karl Example\": karl\n")
    feed = env.write("team.ics", ical_doc(events.values()))
    state = os.path.join(env.tmp, "ical.state")
    args = ["--rotation", "platform-sre", "--state", state, "--user-map", umap,
            "--default-zone", "Europe/Berlin", "--lookahead", "%dd" % lookahead_days]
    rc, log, recs = env.connector("ical", *args, "--url", env.base + "/ical/team.ics")
    y, m, d = dst.year, dst.month, dst.day
    dst_start, dst_end = berlin(y, m, d - 1, 22) - 0, None
    # by the rule: 00:00 CEST = 22:00Z the day before; 06:00 CET = 05:00Z
    dst_start = calendar.timegm((y, m, d, 0, 0, 0)) * 1000 - 2 * HOUR
    dst_end = calendar.timegm((y, m, d, 6, 0, 0)) * 1000 - 1 * HOUR
    occ = []
    for day, off in ((d_m2, 2), (dst - datetime.timedelta(days=1), 2), (dst, 1)):
        s = calendar.timegm((day.year, day.month, day.day, 9, 0, 0)) * 1000 - off * HOUR
        occ.append(("SCHEDULED", "ivan@example.com", "ical:daily@shiftkey.test:" + iso(s), s, s + 8 * HOUR, 1))
    a_off = berlin_offset(calendar.timegm((allday.year, allday.month, allday.day, 0, 0, 0)) * 1000)
    a_start = calendar.timegm((allday.year, allday.month, allday.day, 0, 0, 0)) * 1000 - a_off * HOUR
    want = sorted(occ + [
        ("SCHEDULED", "heidi", "ical:dst-night@shiftkey.test", dst_start, dst_end, 1),
        ("SCHEDULED", "judy@example.com", "ical:cancel-me@shiftkey.test", c_start, c_start + 8 * HOUR, 1),
        ("SCHEDULED", "karl", "ical:allday@shiftkey.test", a_start, a_start + DAY, 1),
    ])
    check("ical: over HTTP, exact events: Europe/Berlin across the DST change (7 h night, 09:00 local "
          "before and after), RRULE + EXDATE, all-day in --default-zone, SUMMARY e-mail, user map",
          rc == 0 and summary(recs) == want, (rc, summary(recs), want, log[-600:]))
    check("ical: records keyed by user, source ical", well_formed(recs, "ical", "platform-sre"))
    check("ical: the night across the change is 7 hours", dst_end - dst_start == 7 * HOUR)

    rc, log, recs = env.connector("ical", *args, "--url", feed)
    check("ical: restart reading the same feed from a file sends nothing", rc == 0 and recs == [], summary(recs))

    events["cancel"][4] = "STATUS:CANCELLED"
    env.write("team.ics", ical_doc(events.values()))
    rc, log, recs = env.connector("ical", *args, "--url", "file://" + feed)
    check("ical: STATUS:CANCELLED → CANCELLED",
          summary(recs) == [("CANCELLED", "judy@example.com", "ical:cancel-me@shiftkey.test", c_start,
                             c_start + 8 * HOUR, 1)], summary(recs))
    rc, log, recs = env.connector("ical", *args, "--url", feed)
    check("ical: a cancelled shift is not announced again", rc == 0 and recs == [], summary(recs))
    env.write("bad.ics", "this is not a calendar\n")
    rc, log, recs = env.connector("ical", *args[:2], "--state", os.path.join(env.tmp, "bad.state"),
                                  "--url", os.path.join(env.web, "bad.ics"))
    check("ical: a file that is not iCalendar → exit 1", rc == 1 and "not an iCalendar feed" in log, log[-300:])


# ------------------------------------- issue 18: the vendors' real behaviour

def og_truth(rotations):
    return {"rotations": [{"id": rid, "name": rid, "order": 1.0, "periods": [
        {"startDate": iso(a), "endDate": iso(b), "type": "default",
         "recipient": {"id": uid, "type": "user", "name": uid + "@example.com"}} for (uid, a, b) in per]}
        for rid, per in rotations]}


def test_opsgenie_window(env):
    """Periods longer than the window, over simulated days (--clock-offset): one STARTED, no
    ENDED/STARTED pair; a mass disappearance held until confirmed; shapes not understood fail."""
    t0 = now_ms() // 1000 * 1000
    sid = "c0ffee00-long-periods"
    key = {"SHIFTKEY_OPSGENIE_API_KEY": "og-secret-key"}
    state = os.path.join(env.tmp, "og-window.state")
    args = ["--rotation", "og-window", "--state", state, "--base-url", env.base, "--schedule-ids", sid,
            "--lookahead", "24h"]
    f_start, f_end = t0 - 10 * DAY, t0 + 9 * DAY + 5 * HOUR   # longer than the 7 days looked back
    g_start, g_end = t0 - 12 * DAY, t0 + 30 * DAY
    env.write("og_%s.periods.json" % sid, og_truth([("rot-a", [("frank", f_start, f_end)]),
                                                    ("rot-b", [("grace", g_start, g_end)])]))
    seen = []
    for day in range(0, 5):
        rc, log, recs = env.connector("opsgenie", *args, "--clock-offset", "%dh" % (24 * day), env=key)
        seen.append((rc, summary(recs)))
    types = [x[0] for _, recs in seen for x in recs]
    ids = {x[1]: x[2] for _, recs in seen for x in recs}
    starts = {(x[1], x[3]) for _, recs in seen for x in recs}
    check("opsgenie: clipped periods over 5 simulated days: STARTED once each, then no ENDED/STARTED",
          all(rc == 0 for rc, _ in seen) and types.count("STARTED") == 2 and "ENDED" not in types
          and set(types) <= {"STARTED", "UPDATED"} and len(seen[0][1]) == 2
          and all(x[4] >= t0 + 24 * HOUR for _, recs in seen for x in recs), seen)
    check("opsgenie: each shift keeps its first id and start", len(ids) == 2 and len(starts) == 2, (ids, starts))

    # a responder-shaped (JSM) body at the Opsgenie endpoint: a failed poll, nothing ended
    body = {"data": {"finalTimeline": {"rotations": [{"id": "rot-a", "periods": [
        {"startDate": iso(t0 - DAY), "endDate": iso(t0 + DAY), "type": "base",
         "responder": {"id": "frank", "type": "user"}}]}]}}}
    os.unlink(os.path.join(env.web, "og_%s.periods.json" % sid))
    env.write("og_%s.json" % sid, body)
    rc, log, recs = env.connector("opsgenie", *args, env=key)
    check("opsgenie: periods without recipient → failed poll with the reason, nothing sent",
          rc == 1 and recs == [] and "without recipient.type" in log and "poll FAILED" in log, log[-500:])
    body["data"]["finalTimeline"]["rotations"][0]["periods"][0]["recipient"] = {"id": "x", "type": "group"}
    env.write("og_%s.json" % sid, body)
    rc, log, recs = env.connector("opsgenie", *args, env=key)
    check("opsgenie: an unknown recipient type → failed poll, nothing sent",
          rc == 1 and recs == [] and "unknown recipient type 'group'" in log, log[-500:])

    # everyone vanishes: held, then confirmed by the next poll
    env.write("og_%s.json" % sid, {"data": {"finalTimeline": {"rotations": []}}})
    rc, log, recs = env.connector("opsgenie", *args, env=key)
    check("opsgenie: an empty answer for 2 open shifts is HELD (loud log, nothing sent)",
          rc == 0 and recs == [] and "HELD: this poll would end or cancel 2 of 2 open shifts" in log
          and "poll HELD" in log, log[-600:])
    rc, log, recs = env.connector("opsgenie", *args, env=key)
    check("opsgenie: ...and ended when the next poll confirms it",
          rc == 0 and sorted(x[0] for x in summary(recs)) == ["ENDED", "ENDED"], summary(recs))


def test_rate_limits(env):
    """429 in each vendor's documented form: waited as told, honest counts in the poll line."""
    t0 = now_ms() // 1000 * 1000
    sid = "rl-sched"
    key = {"SHIFTKEY_OPSGENIE_API_KEY": "k"}
    env.write("og_%s.periods.json" % sid, og_truth([("r", [("ivy", t0 - HOUR, t0 + HOUR)])]))
    for n, (fault, why, least) in enumerate([("429 og 1", "X-RateLimit-Period-In-Sec", 1.0),
                                             ("429 retry-after 1", "Retry-After", 1.0),
                                             ("429 retry-after-date 2", "Retry-After", 1.0),
                                             ("429 jsm 1", "rate-limit reset", 1.0),
                                             ("429 none", "backoff", 0.05)]):
        env.write("faults", fault + "\n")
        args = ["--rotation", "rl", "--state", os.path.join(env.tmp, "rl%d.state" % n), "--base-url",
                env.base, "--schedule-ids", sid, "--http-backoff", "200ms"]
        t = time.time()
        rc, log, recs = env.connector("opsgenie", *args, env=key)
        took = time.time() - t
        check("rate limit '%s': waited (%s, %.1f s), then read; '2 requests (1 retried)'" % (fault, why, took),
              rc == 0 and len(recs) == 1 and why in log and "2 requests (1 retried)" in log and took >= least,
              log[-600:])
    env.write("faults", "429 retry-after 120\n")
    rc, log, recs = env.connector("opsgenie", "--rotation", "rl", "--state", os.path.join(env.tmp, "rlx.state"),
                                  "--base-url", env.base, "--schedule-ids", sid, env=key)
    check("rate limit longer than --http-max-wait fails the poll at once, counted",
          rc == 1 and "longer than --http-max-wait" in log and "1 requests (0 retried)" in log, log[-400:])
    env.write("faults", "500\n500\n")
    rc, log, recs = env.connector("opsgenie", "--rotation", "rl", "--state", os.path.join(env.tmp, "rly.state"),
                                  "--base-url", env.base, "--schedule-ids", sid, "--http-attempts", "2",
                                  "--http-backoff", "100ms", env=key)
    check("failed requests are counted too: '2 requests (1 retried)'",
          rc == 1 and "2 requests (1 retried)" in log, log[-400:])


def scrape(port):
    """(/readyz status and body, {(name, sorted labels): value}) of a connector's
    diag endpoint; the exposition parsed by prometheus_client (python3-prometheus-client,
    not ours). (None, {}) while it does not answer."""
    import urllib.error
    import urllib.request
    from prometheus_client.parser import text_string_to_metric_families
    base = "http://127.0.0.1:%d" % port
    try:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                ready = (r.status, r.read().decode())
        except urllib.error.HTTPError as e:
            ready = (e.code, e.read().decode())
        with urllib.request.urlopen(base + "/metrics", timeout=2) as r:
            text = r.read().decode()
    except (OSError, urllib.error.URLError):
        return None, {}
    values = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return ready, values


def test_diag(env):
    """A polling connector with --diag-addr: /metrics scraped while it runs (parsed by
    prometheus_client), values change as polls succeed and fail; /readyz follows the
    last poll and Kafka; /healthz answers."""
    import urllib.request
    t0 = now_ms() // 1000 * 1000
    sid = "diag-sched"
    key = {"SHIFTKEY_OPSGENIE_API_KEY": "k"}
    env.write("og_%s.periods.json" % sid, og_truth([("r", [("quinn", t0 - HOUR, t0 + HOUR)])]))
    env.write("faults", "429 retry-after 1\n")
    port = free_port()
    log = os.path.join(env.tmp, "diag.log")
    args = [os.path.join(BIN, "shiftkey-opsgenie"), "--rotation", "diag", "--state",
            os.path.join(env.tmp, "diag.state"), "--base-url", env.base, "--schedule-ids", sid,
            "--bootstrap-file", env.boot, "--interval", "1s", "--http-attempts", "2",
            "--http-backoff", "100ms", "--diag-addr", "127.0.0.1:%d" % port]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                         env=dict(os.environ, **key))

    def v(name, **labels):
        return vals.get((name, tuple(sorted(labels.items()))), 0)
    try:
        got = wait_until(lambda: (scrape(port)[0] or (0,))[0] == 200, 20, 0.2)
        ready, vals = scrape(port)
        check("diag: /readyz 200 once a poll succeeded and Kafka answered", got, (ready, log))
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2) as r:
            check("diag: /healthz 200", r.status == 200)
        check("diag: /metrics parses with prometheus_client; info names source and rotation",
              v("shiftkey_connector_info", source="opsgenie", rotation="diag") == 1, vals)
        check("diag: the 429 counted as a vendor API error by status, and its wait as a "
              "rate-limit wait (>= 1 s)",
              v("shiftkey_connector_vendor_api_errors_total", status="429") == 1
              and v("shiftkey_connector_rate_limit_waits_total") == 1
              and v("shiftkey_connector_rate_limit_wait_seconds_total") >= 1.0, vals)
        check("diag: the poll counted ok, its STARTED published, last success set, Kafka up",
              v("shiftkey_connector_polls_total", outcome="ok") >= 1
              and v("shiftkey_connector_records_published_total", type="STARTED") == 1
              and abs(v("shiftkey_connector_last_success_timestamp_seconds") - time.time()) < 60
              and v("shiftkey_connector_kafka_up") == 1, vals)
        last = v("shiftkey_connector_last_success_timestamp_seconds")
        # the platform fails every request now: the poll fails, /readyz says so
        env.write("faults", "500\n" * 40)
        got = wait_until(lambda: (scrape(port)[0] or (0,))[0] == 503, 20, 0.2)
        ready, vals = scrape(port)
        check("diag: platform down → /readyz 503 naming the last poll, polls{platform_failed} "
              "and vendor errors{500} counted",
              got and "last poll" in ready[1]
              and v("shiftkey_connector_polls_total", outcome="platform_failed") >= 1
              and v("shiftkey_connector_vendor_api_errors_total", status="500") >= 2
              and v("shiftkey_connector_last_poll_ok") == 0, (ready, vals))
        env.write("faults", "")
        got = wait_until(lambda: (scrape(port)[0] or (0,))[0] == 200 and scrape(port)[1].get(
            ("shiftkey_connector_last_success_timestamp_seconds", ()), 0) > last, 20, 0.2)
        ready, vals = scrape(port)
        check("diag: the platform back → ready again, last success later than before",
              got, (ready, vals))
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = -9
    text = open(log).read()
    check("diag: the connector stops on SIGTERM with exit 0, sanitizers quiet",
          rc == 0 and "Sanitizer" not in text and "runtime error" not in text, text[-1500:])
    # a connector whose polls succeed (nothing to send) but whose Kafka does not
    # answer: not ready, and /readyz says it is Kafka
    port2 = free_port()
    dead = free_port()
    env.write("og_diag-empty.periods.json", og_truth([]))
    p = subprocess.Popen([os.path.join(BIN, "shiftkey-opsgenie"), "--rotation", "diag2", "--state",
                          os.path.join(env.tmp, "diag2.state"), "--base-url", env.base,
                          "--schedule-ids", "diag-empty", "--kafka", "127.0.0.1:%d" % dead,
                          "--interval", "1s", "--diag-addr", "127.0.0.1:%d" % port2],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0", **key))
    try:
        got = wait_until(lambda: "Kafka" in ((scrape(port2)[0] or (0, ""))[1]), 20, 0.2)
        ready, vals = scrape(port2)
        check("diag: polls ok but Kafka unreachable → /readyz 503 naming Kafka, kafka_up 0",
              got and ready and ready[0] == 503 and v("shiftkey_connector_kafka_up") == 0
              and v("shiftkey_connector_polls_total", outcome="ok") >= 1, (ready, vals))
    finally:
        p.kill()
        p.wait(5)


def shift_dates(obj, delta):
    if isinstance(obj, dict):
        return {k: (iso_ms(parse_iso(v) + delta) if k in ("startDate", "endDate") else shift_dates(v, delta))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [shift_dates(v, delta) for v in obj]
    return obj


def parse_iso(s):
    base = calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1000
    return base + (int((s[20:23] + "00")[:3]) if len(s) > 20 and s[19] == "." else 0)


def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def test_jsm(env):
    """Atlassian's documented example body of GET /v1/schedules/{id}/timeline, moved to now."""
    with open(os.path.join(ROOT, "tests", "connectors", "vendor", "jsm_ops_timeline_example.json")) as f:
        example = json.load(f)
    t0 = now_ms() // 1000 * 1000
    delta = t0 - parse_iso("2024-02-04T12:00:00Z")
    env.write("jsm_sched-1.json", shift_dates(example, delta))
    umap = os.path.join(env.tmp, "jsm-users.map")
    with open(umap, "w") as f:
        f.write("5b2b0e011b3a756623f4e25e: alice\ne75fed1b-4234-45bc-b5b3-b936979f3cc0: bob\n")
    horizon = t0 + 48 * HOUR
    want = []
    for rot in example["finalTimeline"]["rotations"]:
        for p in rot["periods"]:
            r = p.get("responder", {})
            s, e = parse_iso(p["startDate"]) + delta, parse_iso(p["endDate"]) + delta
            if r.get("type") != "user" or e <= t0 or s >= horizon:
                continue
            user = {"5b2b0e011b3a756623f4e25e": "alice"}.get(r["id"], "bob")
            want.append(("STARTED" if s <= t0 else "SCHEDULED", user,
                         "jsm:sched-1:%s:%s:%s" % (rot["id"], r["id"], iso(s)), s, e, 1))
    args = ["--rotation", "jsm-primary", "--state", os.path.join(env.tmp, "jsm.state"), "--base-url", env.base,
            "--cloud-id", "cloud-123", "--schedule-ids", "sched-1", "--email", "bot@example.com",
            "--user-map", umap, "--lookahead", "48h"]
    rc, log, recs = env.connector("jsm", *args, env={"SHIFTKEY_JSM_API_TOKEN": "jsm-token"})
    check("jsm: the reference's example timeline → exact events (responder users; team, escalation "
          "and noone periods skipped and counted)", rc == 0 and summary(recs) == sorted(want)
          and "10 periods of teams, escalations or nobody skipped" in log and len(want) == 5,
          (rc, summary(recs), sorted(want), log[-600:]))
    check("jsm: records keyed by user, source jsm", well_formed(recs, "jsm", "jsm-primary"))
    r = [x for x in env.requests() if x["path"].startswith("/jsm/")][-1:]
    import base64
    check("jsm: GET /jsm/ops/api/{cloudId}/v1/schedules/{id}/timeline, Basic e-mail:token, days window",
          r and r[0]["path"] == "/jsm/ops/api/cloud-123/v1/schedules/sched-1/timeline"
          and r[0]["authorization"] == "Basic " + base64.b64encode(b"bot@example.com:jsm-token").decode()
          and r[0]["query"].get("intervalUnit") == ["days"] and "identifierType" not in r[0]["query"], r)
    p = subprocess.run([os.path.join(BIN, "shiftkey-jsm")] + args + ["--api-token", "x"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, SHIFTKEY_JSM_API_TOKEN="t"))
    check("jsm: no token option on the command line (usage error)", p.returncode == 2)


def test_pagerduty_null_and_check(env):
    tok = {"SHIFTKEY_PAGERDUTY_TOKEN": "pd-token"}
    t0 = now_ms() // 1000 * 1000
    env.write("pd_oncalls.json", [pd_oncall("PZOE001", "zoe@example.com", None, 1, None, None, ep="PEP0009")])
    base = ["--rotation", "pd-null", "--base-url", env.base]
    rc, log, recs = env.connector("pagerduty", *base, "--state", os.path.join(env.tmp, "pdn.state"),
                                  "--schedule-ids", "PSCHED9", "--escalation-policy-ids", "PEP0009", env=tok)
    q = [x for x in env.requests() if x["path"] == "/oncalls"][-1]["query"]
    check("pagerduty: schedules and policies filtered → schedule_ids[]=null sent (direct-user on-calls)",
          q.get("schedule_ids[]") == ["PSCHED9", "null"] and q.get("escalation_policy_ids[]") == ["PEP0009"], q)
    rc, log, recs = env.connector("pagerduty", *base, "--state", os.path.join(env.tmp, "pdn2.state"),
                                  "--schedule-ids", "PSCHED9", env=tok)
    q = [x for x in env.requests() if x["path"] == "/oncalls"][-1]["query"]
    check("pagerduty: schedules only → no null (it would bring every direct-user on-call)",
          q.get("schedule_ids[]") == ["PSCHED9"], q)
    # --check on every connector: calls the API once, prints, sends nothing, writes no state
    sid = "check-sched"
    env.write("og_%s.periods.json" % sid, og_truth([("r", [("kim", t0 - HOUR, t0 + HOUR)])]))
    env.write("check.ics", ical_doc([["UID:chk@shiftkey.test", "DTSTAMP:20261101T000000Z",
                                      "DTSTART:%s" % utc_stamp(t0 - HOUR), "DTEND:%s" % utc_stamp(t0 + HOUR),
                                      "ATTENDEE:mailto:kim@example.com"]]))
    env.write("jsm_check.json", {"finalTimeline": {"rotations": [{"id": "r", "periods": [
        {"startDate": iso(t0 - HOUR), "endDate": iso(t0 + HOUR), "type": "base",
         "responder": {"id": "kim@example.com", "type": "user"}}]}]}})
    kmap = os.path.join(env.tmp, "kim.map")
    with open(kmap, "w") as f:
        f.write("kim@example.com: kim\n")
    runs = {"pagerduty": (["--schedule-ids", "PSCHED9", "--escalation-policy-ids", "PEP0009"], tok),
            "opsgenie": (["--schedule-ids", sid], {"SHIFTKEY_OPSGENIE_API_KEY": "k"}),
            "jsm": (["--cloud-id", "c", "--schedule-ids", "check", "--email", "a@example.com",
                     "--user-map", kmap],
                    {"SHIFTKEY_JSM_API_TOKEN": "t"}),
            "ical": (["--url", env.base + "/ical/check.ics"], {})}
    for name, (extra, e) in runs.items():
        st = os.path.join(env.tmp, "check-%s.state" % name)
        before = len(env.reader.select(T_SCHEDULE))
        n_req = len(env.requests())
        opts = ["--rotation", "chk", "--state", st, "--check"] + extra
        if name != "ical":
            opts += ["--base-url", env.base]
        p = subprocess.run([os.path.join(BIN, "shiftkey-" + name)] + opts, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=dict(os.environ, **e), timeout=60)
        out = p.stdout.decode()
        time.sleep(0.3)
        check("%s --check: one API call, prints the STARTED it would send, no Kafka, no state file" % name,
              p.returncode == 0 and "would send STARTED" in out and "nothing sent" in out
              and not os.path.exists(st) and len(env.reader.select(T_SCHEDULE)) == before
              and len(env.requests()) - n_req == 1,
              (p.returncode, out, p.stderr.decode()[-400:]))


# ------------------------------------------------------- end to end (engine)

def test_end_to_end(env):
    t0 = now_ms() // 1000 * 1000
    ev = ["UID:e2e-shift@shiftkey.test", "DTSTAMP:20261101T000000Z",
          "DTSTART:%s" % utc_stamp(t0 - 60000), "DTEND:%s" % utc_stamp(t0 + HOUR),
          "ATTENDEE:mailto:mallory@example.com"]
    feed = env.write("e2e.ics", ical_doc([ev]))
    args = ["--rotation", "demo-primary", "--state", os.path.join(env.tmp, "e2e.state"), "--url", feed]
    rc, log, recs = env.connector("ical", *args)
    check("e2e: the shift starting now → STARTED", rc == 0 and [r["rec"]["type"] for r in recs] == ["STARTED"],
          summary(recs))

    def cmds(action):
        return sorted(r["rec"]["entitlement"] for r in env.reader.select(T_COMMANDS)
                      if r["rec"]["user"] == "mallory@example.com" and r["rec"]["action"] == action)
    got = wait_until(lambda: cmds("GRANT") == ["console", "deploy"], 15)
    check("e2e: shiftkeyd GRANTs demo/console and demo/deploy on shiftkey.commands.v1", got, cmds("GRANT"))
    ev[3] = "DTEND:%s" % utc_stamp(now_ms() - 1000)
    env.write("e2e.ics", ical_doc([ev]))
    rc, log, recs = env.connector("ical", *args)
    check("e2e: the fixture ended → ENDED", rc == 0 and [r["rec"]["type"] for r in recs] == ["ENDED"], summary(recs))
    got = wait_until(lambda: cmds("REVOKE") == ["console", "deploy"], 15)
    check("e2e: shiftkeyd REVOKEs both", got, cmds("REVOKE"))


def test_cli(env):
    for name in ("pagerduty", "opsgenie", "ical", "jsm"):
        p = subprocess.run([os.path.join(BIN, "shiftkey-" + name), "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        out = p.stdout.decode()
        check("%s --help exits 0 and documents --once, --lookahead, --user-map" % name,
              p.returncode == 0 and all(w in out for w in ("--once", "--lookahead", "--user-map", "--rotation")))
        p = subprocess.run([os.path.join(BIN, "shiftkey-" + name), "--frob"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        check("%s with an unknown option exits 2" % name, p.returncode == 2)
        p = subprocess.run([os.path.join(BIN, "shiftkey-" + name), "--rotation", "r", "--interval", "soon"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check("%s with a bad duration exits 2" % name, p.returncode == 2 and b"--interval" in p.stderr)


def main():
    t = time.time()
    env = Env()
    try:
        test_cli(env)
        if not check("shiftkeyd (embedded broker), redis-server and fake_platform.py start", env.start(),
                     open(env.engine_log).read()[-800:] if os.path.exists(env.engine_log) else ""):
            return 1
        for test in (test_pagerduty, test_opsgenie, test_ical, test_end_to_end, test_opsgenie_window,
                     test_rate_limits, test_jsm, test_pagerduty_null_and_check, test_diag):
            try:
                test(env)
            except Exception as e:  # a crash of one part is one failure, the others still run
                import traceback
                traceback.print_exc()
                check("%s ran to the end" % test.__name__, False, "%s: %s" % (type(e).__name__, e))
    finally:
        env.stop()
        print("(%.1f s)" % (time.time() - t))
        print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
