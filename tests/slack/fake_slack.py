#!/usr/bin/python3
"""A local fake of the Slack Web API, for tests and `make run`.

Records every call (method, JSON arguments, Authorization header, time)
and answers as Slack documents it:

  POST /api/conversations.open  {"users": U}        -> {"ok":true,"channel":{"id":"D"+U}}
  POST /api/chat.postMessage    {"channel", ...}    -> {"ok":true,"channel":C,"ts":"<n>.000100"}
  POST /api/chat.update         {"channel","ts",..} -> {"ok":true,"channel":C,"ts":ts}
  POST /api/views.open          {"trigger_id","view"} -> {"ok":true,"view":{"id":"V<n>",...}}
  POST /api/users.info          {"user": U}         -> {"ok":true,"user":{"id":U,"profile":{"email":..}}}
  POST /api/users.lookupByEmail {"email": E}        -> {"ok":true,"user":{"id":U}} or users_not_found
  POST /api/conversations.invite {"channel": C, "users": "U1,U2"}
                                -> {"ok":true,"channel":{"id":C}}, or already_in_channel when
                                   every user is a member already (members kept per channel)
  POST /api/conversations.setTopic {"channel": C, "topic": T}
                                -> {"ok":true,"channel":{"id":C,"topic":{"value":T}}}
  POST /api/conversations.list  {"types","exclude_archived","limit","cursor"}
                                -> {"ok":true,"channels":[{"id":C,"name":N},...],
                                    "response_metadata":{"next_cursor":"..." or ""}}
                                   (the channels given as FakeSlack(channels={N: C}), `limit`
                                   per page, cursor pagination as Slack documents it)
  conversations.invite and conversations.setTopic take a channel id only: a
  name ("#x" or "x") answers channel_not_found, as Slack does.
  POST /response/<id>           anything            -> 200 "ok" (a response_url)

  GET  /_calls                                      -> every call recorded (JSON)

A wrong or missing bot token answers {"ok":false,"error":"invalid_auth"}.
Rate limits: FakeSlack.ratelimit(n, retry_after) makes the next n API calls
answer HTTP 429 with a Retry-After header, as Slack does.

Standalone (make run): python3 fake_slack.py PORT [--token T] [--channel NAME=ID]...
prints each call on one line as it arrives.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeSlack:
    def __init__(self, port=0, token="xoxb-test", emails=None, echo=None, channels=None):
        self.token = token
        self.channels = dict(channels or {})  # channel name -> id (conversations.list)
        self.emails = dict(emails or {})  # Slack user id -> e-mail
        self.lock = threading.Lock()
        self.calls = []       # dicts: method, args, auth, at, status
        self.responses = []   # dicts: path, body, at
        self.n = 0
        self.limit = 0
        self.retry_after = 1
        self.echo = echo
        self.members = {}     # channel -> set of user ids (conversations.invite)
        self.topics = {}      # channel -> topic (conversations.setTopic)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/_calls":
                    return fake._send(self, 200, fake.all_calls())
                return fake._send(self, 404, {"ok": False})

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                fake._handle(self, raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def ratelimit(self, n, retry_after=1):
        with self.lock:
            self.limit, self.retry_after = n, retry_after

    def select(self, method=None, pred=lambda c: True):
        with self.lock:
            return [c for c in self.calls
                    if (method is None or c["method"] == method) and c["status"] == 200
                    and pred(c)]

    def all_calls(self):
        with self.lock:
            return list(self.calls)

    def answers(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.responses if pred(r)]

    def _send(self, h, status, obj, headers=()):
        body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _handle(self, h, raw):
        path = h.path
        if path.startswith("/response/"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            with self.lock:
                self.responses.append({"path": path, "body": body, "at": time.time()})
            if self.echo:
                self.echo("response_url %s: %s" % (path, body.get("text", "")))
            return self._send(h, 200, b"ok")
        if not path.startswith("/api/"):
            return self._send(h, 404, {"ok": False, "error": "unknown_method"})
        method = path[len("/api/"):]
        try:
            args = json.loads(raw or b"{}")
        except ValueError:
            args = None
        rec = {"method": method, "args": args, "auth": h.headers.get("Authorization"),
               "at": time.time(), "status": 200}
        with self.lock:
            self.calls.append(rec)
            if self.limit > 0:
                self.limit -= 1
                rec["status"] = 429
                ra = self.retry_after
            else:
                ra = None
                self.n += 1
                n = self.n
        if ra is not None:
            return self._send(h, 429, {"ok": False, "error": "ratelimited"},
                              [("Retry-After", str(ra))])
        if rec["auth"] != "Bearer " + self.token:
            return self._send(h, 200, {"ok": False, "error": "invalid_auth"})
        if not isinstance(args, dict):
            return self._send(h, 200, {"ok": False, "error": "invalid_json"})
        if self.echo:
            self.echo(self._describe(method, args))
        if method == "conversations.open":
            return self._send(h, 200, {"ok": True, "channel": {"id": "D" + args.get("users", "")}})
        if method == "chat.postMessage":
            rec["ts"] = "%d.000100" % (1700000000 + n)
            return self._send(h, 200, {"ok": True, "channel": args.get("channel"),
                                       "ts": rec["ts"],
                                       "message": {"text": args.get("text")}})
        if method == "chat.update":
            return self._send(h, 200, {"ok": True, "channel": args.get("channel"),
                                       "ts": args.get("ts")})
        if method == "views.open":
            view = dict(args.get("view") or {})
            view["id"] = "V%d" % n
            return self._send(h, 200, {"ok": True, "view": view})
        if method == "conversations.list":
            names = sorted(self.channels)
            start = int(args.get("cursor") or 0)
            limit = max(1, min(int(args.get("limit") or 100), 1000))
            page = [{"id": self.channels[nm], "name": nm} for nm in names[start:start + limit]]
            nxt = str(start + limit) if start + limit < len(names) else ""
            return self._send(h, 200, {"ok": True, "channels": page,
                                       "response_metadata": {"next_cursor": nxt}})
        if method in ("conversations.invite", "conversations.setTopic") and \
                args.get("channel") and args["channel"] not in self.channels.values() and \
                not str(args["channel"])[:1] in ("C", "G"):
            return self._send(h, 200, {"ok": False, "error": "channel_not_found"})
        if method == "conversations.invite":
            ch, users = args.get("channel"), [u for u in str(args.get("users", "")).split(",") if u]
            if not ch or not users:
                return self._send(h, 200, {"ok": False, "error": "no_user" if ch else
                                           "channel_not_found"})
            with self.lock:
                have = self.members.setdefault(ch, set())
                new = [u for u in users if u not in have]
                have.update(users)
            if not new:
                return self._send(h, 200, {"ok": False, "error": "already_in_channel"})
            return self._send(h, 200, {"ok": True, "channel": {"id": ch}})
        if method == "conversations.setTopic":
            ch = args.get("channel")
            if not ch:
                return self._send(h, 200, {"ok": False, "error": "channel_not_found"})
            with self.lock:
                self.topics[ch] = args.get("topic", "")
            return self._send(h, 200, {"ok": True, "channel": {"id": ch, "topic": {
                "value": args.get("topic", "")}}})
        if method == "users.info":
            u = args.get("user")
            if u not in self.emails:
                return self._send(h, 200, {"ok": False, "error": "user_not_found"})
            return self._send(h, 200, {"ok": True, "user": {"id": u, "profile":
                                                            {"email": self.emails[u]}}})
        if method == "users.lookupByEmail":
            for u, e in self.emails.items():
                if e.lower() == str(args.get("email", "")).lower():
                    return self._send(h, 200, {"ok": True, "user": {"id": u}})
            return self._send(h, 200, {"ok": False, "error": "users_not_found"})
        return self._send(h, 200, {"ok": False, "error": "unknown_method"})

    @staticmethod
    def _describe(method, args):
        text = args.get("text") or ""
        if method == "views.open":
            text = "modal %s" % (args.get("view") or {}).get("callback_id")
        if method == "conversations.setTopic":
            text = args.get("topic") or ""
        where = args.get("channel") or args.get("users") or ""
        if method == "conversations.invite":
            text = "users %s" % args.get("users")
        extra = " ts=%s" % args["ts"] if "ts" in args else ""
        buttons = []
        for b in args.get("blocks") or []:
            if b.get("type") == "actions":
                buttons = [e.get("action_id") for e in b.get("elements", [])]
        return "%-18s %s%s: %s%s" % (method, where, extra, text.replace("\n", " | ")[:300],
                                     " [buttons: %s]" % ", ".join(buttons) if buttons else "")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    token = "xoxb-demo"
    if "--token" in sys.argv:
        token = sys.argv[sys.argv.index("--token") + 1]
    channels = {}  # --channel NAME=ID, repeated
    for i, a in enumerate(sys.argv):
        if a == "--channel" and i + 1 < len(sys.argv) and "=" in sys.argv[i + 1]:
            name, cid = sys.argv[i + 1].split("=", 1)
            channels[name.lstrip("#")] = cid
    fake = FakeSlack(port, token=token, echo=lambda s: print("fake Slack: " + s, flush=True),
                     channels=channels)
    print("fake Slack listening on %s" % fake.url, flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
