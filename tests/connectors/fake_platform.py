#!/usr/bin/python3
"""fake_platform — PagerDuty, Opsgenie and iCalendar endpoints on loopback,
for the connector tests. Python standard library only.

    fake_platform.py DIR        serves until killed; writes DIR/port when ready

What it serves is read from DIR at each request, so a test changes the
platform by rewriting files:

  DIR/pd_oncalls.json   a JSON list of PagerDuty on-call objects, served by
                        GET /oncalls exactly as PagerDuty pages them:
                        {"oncalls": [...], "limit": L, "offset": O,
                         "more": bool, "total": null}
                        (limit/offset from the query string, limit default 25)
  DIR/og_<ID>.json      the body of GET /v2/schedules/<ID>/timeline
  DIR/og_<ID>.periods.json  instead: {"rotations": [{"id", "name", "periods": [...]}]}
                        with the periods' real times; served as Opsgenie does,
                        cut to the window the query asks (date at 00:00 UTC,
                        interval days), under "data" with startDate/endDate
  DIR/jsm_<ID>.json     the body of GET /jsm/ops/api/<cloud>/v1/schedules/<ID>/timeline
                        (JSM Operations: no "data" wrapper, "responder")
  DIR/<NAME>.ics        the body of GET /ical/<NAME>.ics (text/calendar)
  DIR/faults            one fault per line, each used once by the next request:
                        429 <seconds>  → 429 with ratelimit-reset: <seconds> (PagerDuty)
                        429 retry-after <s>       → Retry-After: <s> (seconds)
                        429 retry-after-date <s>  → Retry-After: <HTTP date now + s>
                        429 og <s>     → X-RateLimit-State: THROTTLED, X-RateLimit-Period-In-Sec: <s>
                        429 jsm <s>    → X-RateLimit-Reset: <ISO 8601 now + s> (Atlassian)
                        429 none       → no hint at all
                        500            → 500 with a PagerDuty-style error body
                        malformed      → 200 with a body that is not JSON

Every request is appended to DIR/requests.log as one JSON line: method,
path, query (parsed), and the Authorization and Accept headers.
"""

import calendar
import email.utils
import json
import os
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1] if len(sys.argv) > 1 else "."


def read(name):
    try:
        with open(os.path.join(DIR, name), "rb") as f:
            return f.read()
    except OSError:
        return None


def next_fault():
    path = os.path.join(DIR, "faults")
    data = read("faults")
    if not data:
        return None
    lines = data.decode().splitlines()
    first, rest = lines[0].strip(), lines[1:]
    with open(path + ".tmp", "w") as f:
        f.write("".join(line + "\n" for line in rest))
    os.replace(path + ".tmp", path)
    return first or None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: requests.log has it all
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        with open(os.path.join(DIR, "requests.log"), "a") as f:
            f.write(json.dumps({"method": "GET", "path": url.path, "query": query,
                                "authorization": self.headers.get("Authorization"),
                                "accept": self.headers.get("Accept")}) + "\n")
        fault = next_fault()
        if fault and fault.startswith("429"):
            return self.send(429, json.dumps({"error": {"message": "Rate Limit Exceeded",
                                                        "code": 2020}}),
                             headers=rate_limit_headers(fault.split()[1:]))
        if fault == "500":
            return self.send(500, json.dumps({"error": {"message": "Internal Server Error",
                                                        "code": 2000}}))
        if fault == "malformed":
            return self.send(200, '{"oncalls": [{"user": ')
        if url.path == "/oncalls":
            return self.oncalls(query)
        if url.path.startswith("/jsm/ops/api/") and url.path.endswith("/timeline"):
            sid = urllib.parse.unquote(url.path.split("/")[-2])
            body = read("jsm_%s.json" % sid)
            if body is None:
                return self.send(404, json.dumps({"errors": [{"title": "Schedule not found"}]}))
            return self.send(200, body)
        if url.path.startswith("/v2/schedules/") and url.path.endswith("/timeline"):
            sid = urllib.parse.unquote(url.path[len("/v2/schedules/"):-len("/timeline")])
            truth = read("og_%s.periods.json" % sid)
            if truth is not None:
                return self.send(200, json.dumps(clip_timeline(json.loads(truth), query)))
            body = read("og_%s.json" % sid)
            if body is None:
                return self.send(404, json.dumps({"message": "No schedule exists with identifier [%s]" % sid,
                                                  "took": 0.001, "requestId": "fake"}))
            return self.send(200, body)
        if url.path.startswith("/ical/"):
            body = read(os.path.basename(url.path))
            if body is None:
                return self.send(404, "not found", "text/plain")
            return self.send(200, body, "text/calendar; charset=utf-8")
        self.send(404, json.dumps({"error": {"message": "Not Found", "code": 2100}}))

    def oncalls(self, query):
        body = read("pd_oncalls.json")
        items = json.loads(body) if body else []
        limit = int(query.get("limit", ["25"])[0])
        offset = int(query.get("offset", ["0"])[0])
        page = items[offset:offset + limit]
        self.send(200, json.dumps({"oncalls": page, "limit": limit, "offset": offset,
                                   "more": offset + limit < len(items), "total": None}))


def rate_limit_headers(args):
    """The headers of a 429 in the form each vendor documents."""
    kind = args[0] if args else "1"
    secs = args[1] if len(args) > 1 else "1"
    if kind.isdigit():  # PagerDuty
        return [("ratelimit-limit", "960"), ("ratelimit-remaining", "0"), ("ratelimit-reset", kind)]
    if kind == "retry-after":
        return [("Retry-After", secs)]
    if kind == "retry-after-date":
        return [("Retry-After", email.utils.formatdate(time.time() + int(secs), usegmt=True))]
    if kind == "og":  # Opsgenie
        return [("X-RateLimit-State", "THROTTLED"), ("X-RateLimit-Reason", "CONFIGURATION"),
                ("X-RateLimit-Period-In-Sec", secs)]
    if kind == "jsm":  # Atlassian
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + int(secs) + 1))
        return [("X-RateLimit-Limit", "100"), ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", reset), ("X-RateLimit-NearLimit", "true")]
    return []


def _ms(s):
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1000


def _iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def clip_timeline(truth, query):
    """Opsgenie's timeline for the asked window: periods cut at its edges."""
    day = 86400000
    start = _ms(query["date"][0]) // day * day
    end = start + int(query.get("interval", ["1"])[0]) * day
    rots = []
    for r in truth["rotations"]:
        periods = []
        for p in r["periods"]:
            ps, pe = _ms(p["startDate"]), _ms(p["endDate"])
            if pe <= start or ps >= end:
                continue
            q = dict(p, startDate=_iso(max(ps, start)), endDate=_iso(min(pe, end)))
            periods.append(q)
        rots.append(dict(r, periods=periods))
    return {"data": {"_parent": {"id": "fake", "name": "fake", "enabled": True},
                     "startDate": _iso(start), "endDate": _iso(end),
                     "finalTimeline": {"rotations": rots}},
            "took": 0.01, "requestId": "fake"}


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(os.path.join(DIR, "port.tmp"), "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
