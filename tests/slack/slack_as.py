#!/usr/bin/python3
"""Acts as Slack towards shiftkey-slack, for `make run` (scripts/demo-slack.sh):
posts slash commands and interactions signed with the app's signing secret
exactly as Slack does (v0= + hex HMAC-SHA256 of "v0:{ts}:{body}").

  slack_as.py --app URL --secret-file F --fake URL request U TARGET DURATION WHY
  slack_as.py --app URL --secret-file F --fake URL click U ACTION REQUEST_ID

`request` runs /shiftkey request (the app opens the modal on the fake) and
submits the modal; `click` finds the DM to Slack user U about REQUEST_ID on
the fake Slack (GET /_calls; REQUEST_ID "-": the latest DM with that
button) and presses its button ACTION. Prints the
app's HTTP answer; exit 1 on anything but 200.
"""

import argparse
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def post(app, secret, body):
    body = body.encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body,
                           hashlib.sha256).hexdigest()
    req = urllib.request.Request(app, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def calls(fake):
    with urllib.request.urlopen(fake + "/_calls", timeout=5) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--fake", required=True)
    ap.add_argument("what", choices=["request", "click"])
    ap.add_argument("args", nargs="+")
    a = ap.parse_args()
    secret = open(a.secret_file).read().strip()
    resp = a.fake + "/response/demo"
    if a.what == "request":
        user, target, duration, why = a.args
        st, out = post(a.app, secret, urllib.parse.urlencode({
            "command": "/shiftkey", "text": "request " + target, "user_id": user,
            "trigger_id": "demo-trigger", "response_url": resp}))
        time.sleep(1)
        view = {"id": "Vdemo%d" % int(time.time()), "callback_id": "request",
                "private_metadata": target, "state": {"values": {
                    "duration": {"duration": {"value": duration}},
                    "justification": {"justification": {"value": why}}}}}
        payload = {"type": "view_submission", "user": {"id": user}, "view": view}
        st, out = post(a.app, secret, urllib.parse.urlencode({"payload": json.dumps(payload)}))
    else:
        user, action, rid = a.args
        value = None
        for c in calls(a.fake):
            args = c.get("args") or {}
            if (c["method"] == "chat.postMessage" and args.get("channel") == "D" + user
                    and (rid == "-" or rid in args.get("text", ""))):
                for b in args.get("blocks", []):
                    for e in b.get("elements", []) if b.get("type") == "actions" else []:
                        if e.get("action_id") == action:
                            value = e["value"]
        if value is None:
            print("no DM to %s about %s with a %s button" % (user, rid, action))
            return 1
        payload = {"type": "block_actions", "user": {"id": user}, "trigger_id": "demo",
                   "response_url": resp, "actions": [{"action_id": action, "value": value}]}
        st, out = post(a.app, secret, urllib.parse.urlencode({"payload": json.dumps(payload)}))
    print("shiftkey-slack answered %d %s" % (st, out))
    return 0 if st == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
