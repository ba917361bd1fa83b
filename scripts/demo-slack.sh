#!/bin/sh
# The Slack side of `make run`, called by scripts/demo.sh (BIN, BOOT and RUN
# set, the engine running on rules/examples): a fake Slack Web API
# (tests/slack/fake_slack.py) prints every call it receives; shiftkey-slack
# runs against it and the demo's broker; dave asks for access with
# /shiftkey request (the modal, submitted) as Slack would post it, signed
# with the app's signing secret; the reviewers get the review DM with its
# buttons, frank presses Approve, the DM is updated (chat.update) and dave
# is told of the grant. The app signs each action with its front key
# ($RUN/keys/slack.key, declared in $RUN/rules/signers.yaml by demo.sh).
# Processes are stopped by their own pids.
#
# Against a real workspace: connectors/README.md ("Installing the app").
set -eu
cd "$(dirname "$0")/.."
: "${BIN:=build/bin}" "${RUN:=build/run}" "${BOOT:=$RUN/bootstrap}"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
say() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }
FAKE_PORT=$(free_port)
APP_PORT=$(free_port)
SECRET="$RUN/slack-signing-secret"
spids=""
rm -f "$RUN/slack.journal" "$RUN/fake.fifo" "$RUN/app.fifo" "$SECRET"
(umask 077 && printf 'demo-signing-secret-%s\n' "$$" >"$SECRET")
stop() {
    for p in $spids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -f "$RUN/fake.fifo" "$RUN/app.fifo"
}
trap stop EXIT INT TERM

say "the Slack app: a fake Slack Web API on 127.0.0.1:$FAKE_PORT prints what it receives"
mkfifo "$RUN/fake.fifo" "$RUN/app.fifo"
sed -u 's/^/    [fake Slack] /' <"$RUN/fake.fifo" &
/usr/bin/python3 tests/slack/fake_slack.py "$FAKE_PORT" --token xoxb-demo --channel demo-review=C0DEMOREVIEW >"$RUN/fake.fifo" 2>&1 &
spids="$! $spids"
sed -u 's/^/    [shiftkey-slack] /' <"$RUN/app.fifo" &
RULES=rules/examples
FRONT=""
if [ -f "$RUN/rules/signers.yaml" ] && [ -f "$RUN/keys/slack.key" ]; then
    RULES="$RUN/rules" # the engine's copy, whose signers: declare the app as a front
    FRONT="--front-key-file $RUN/keys/slack.key"
fi
# shellcheck disable=SC2086
SHIFTKEY_SLACK_BOT_TOKEN=xoxb-demo "$BIN/shiftkey-slack" --rules "$RULES" $FRONT \
    --bootstrap-file "$BOOT" --listen "127.0.0.1:$APP_PORT" \
    --api-url "http://127.0.0.1:$FAKE_PORT/api" --signing-secret-file "$SECRET" \
    --state "$RUN/slack.journal" --security-channel C0SECURITY --log-level warn \
    >"$RUN/app.fifo" 2>&1 &
spids="$! $spids"
i=0
until /usr/bin/python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$APP_PORT/healthz', timeout=1)" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "shiftkey-slack did not start"; exit 1; }
    sleep 0.1
done
sleep 2
AS="/usr/bin/python3 tests/slack/slack_as.py --app http://127.0.0.1:$APP_PORT/slack --secret-file $SECRET --fake http://127.0.0.1:$FAKE_PORT"

say "dave, in Slack: /shiftkey request kubernetes-prod/edit → the modal → 10s, \"hotfix from Slack\""
$AS request U0DAVE kubernetes-prod/edit 10s "hotfix from Slack" | sed 's/^/    [slack] /'
sleep 4
say "frank presses Approve in his review DM (a signed block_actions payload)"
$AS click U0FRANK approve - | sed 's/^/    [slack] /'
sleep 5
say "the Slack part of the demo is done (the review DMs above were updated with the outcome)"
