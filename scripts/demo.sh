#!/bin/sh
# `make run`: a private redis-server, shiftkeyd with its embedded Kafka-
# protocol broker and the example rules, and a short on-call schedule played
# through the CLI, so you can watch GRANTs at shift start and REVOKEs at shift
# end (one of them fired by the durable timer, with no end event at all);
# then an access request approved from the CLI: request, open task, approval,
# GRANT held by the request, REVOKE when its 10 s are over; then the Slack
# app against a fake Slack (scripts/demo-slack.sh). With PostgreSQL on the
# machine, shiftkey-provision applies the demo app's commands to a private
# server and psql shows the role memberships (demo-provision.sh).
# Signatures are on: the demo makes a key for each demo person (shiftkey
# keygen, into build/run/keys), one for the Slack app (a front vouching
# for everyone) and one for the demo provisioner (a front answering as
# itself), and runs the engine on a copy of the example rules that
# declares their public keys (build/run/rules/signers.yaml); the CLI signs
# every action with the key --as selects, shiftkey-slack with its front key,
# the provisioner its results with its own.
# SHIFTKEY_DEMO_KEEP=1 keeps everything running after the demo (Ctrl-C stops).
# SHIFTKEY_DEMO_CAMPAIGN=1 adds an access review campaign at the end
# (scripts/demo-campaign.sh).
set -eu
cd "$(dirname "$0")/.."
RUN=build/run
mkdir -p "$RUN"
BIN=build/bin
SK="$BIN/shiftkey"
BOOT="$RUN/bootstrap"
rm -f "$BOOT"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
REDIS_PORT=$(free_port)
pids=""
cleanup() {
    prov_cleanup 2>/dev/null || true
    # by process id only: other checkouts on this machine run the same demo
    [ -s "$RUN/watch.pid" ] && kill "$(cat "$RUN/watch.pid")" 2>/dev/null || true
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }
. scripts/demo-provision.sh # PostgreSQL + shiftkey-provision: prov_start, prov_show
. scripts/demo-campaign.sh  # SHIFTKEY_DEMO_CAMPAIGN=1: campaign_rules, campaign_demo

say "starting redis-server on 127.0.0.1:$REDIS_PORT (data in $RUN, not persisted)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$RUN" \
    >"$RUN/redis.log" 2>&1 &
pids="$! $pids" # stopped newest first
i=0
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 50 ] && { echo "redis-server did not start; see $RUN/redis.log"; exit 1; }
    sleep 0.1
done

say "demo keys: one per person (shiftkey keygen, 0600, in $RUN/keys), public keys in $RUN/rules/signers.yaml"
rm -rf "$RUN/keys" "$RUN/rules"
mkdir -p "$RUN/keys" && chmod 700 "$RUN/keys"
cp -r rules/examples "$RUN/rules"
export SHIFTKEY_KEY_DIR="$RUN/keys"
{
    echo "# written by scripts/demo.sh: the demo people's keys (shiftkey keygen)"
    echo "signers:"
    for p in alice bob carol dave erin frank; do
        pub=$("$SK" keygen "$p@example.com" 2>/dev/null)
        echo "  - id: $p@example.com"
        echo "    public_keys: [\"$pub\"]"
    done
    prov_signer # the demo provisioner signs its results as itself
    pub=$("$SK" keygen slack 2>/dev/null)
    echo "  - id: slack # the Slack app (scripts/demo-slack.sh), a front"
    echo "    front: true"
    echo "    public_keys: [\"$pub\"]"
    echo "    vouches_for: [everyone]"
} >"$RUN/rules/signers.yaml"
sed 's/^/    /' "$RUN/rules/signers.yaml" | head -6
[ "${SHIFTKEY_DEMO_CAMPAIGN:-0}" = 1 ] && campaign_rules "$RUN/rules"

say "starting shiftkeyd --kafka embedded --rules $RUN/rules (signed actions only)"
"$BIN/shiftkeyd" --kafka embedded --bootstrap-file "$BOOT" --rules "$RUN/rules" \
    --redis "127.0.0.1:$REDIS_PORT" --group shiftkey-demo &
pids="$! $pids" # stopped newest first
i=0
until [ -s "$BOOT" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "shiftkeyd did not start"; exit 1; }
    sleep 0.1
done
sleep 1

say "following the commands topic, as a provisioner would (shiftkey watch commands)"
rm -f "$RUN/watch.pid"
{ "$SK" watch commands --bootstrap-file "$BOOT" --from-beginning &
  echo $! >"$RUN/watch.pid"
  wait; } | sed -u "s/^/    [commands topic] /" &
pids="$! $pids" # stopped newest first
sleep 2

prov_start

shift_event() { "$SK" shift "$@" --bootstrap-file "$BOOT" | sed 's/^/    [cli] /'; }

say "alice's shift in demo-primary starts now and ends in 20 s"
shift_event started --user alice@example.com --rotation demo-primary --id pd-alice-1 \
    --start now --end +20s
sleep 3
prov_show "while alice is on call: she holds demo/console and demo/deploy"
say "bob is scheduled in demo-secondary from +4 s to +14 s (granted when it starts)"
shift_event scheduled --user bob@example.com --rotation demo-secondary --id og-bob-1 \
    --start +4s --end +14s
sleep 2
say "alice also takes demo-secondary until +25 s: an overlapping source"
shift_event started --user alice@example.com --rotation demo-secondary --id og-alice-1 \
    --start now --end +25s
sleep 4
say "alice's demo-primary shift ends early (handover): only what demo-secondary does not cover is revoked"
shift_event ended --user alice@example.com --rotation demo-primary --id pd-alice-1 \
    --start -9s --end now
sleep 1
prov_show "after the handover: demo/deploy revoked, demo/console still held by demo-secondary"
say "carol's shift comes from an iCalendar feed, read by the iCal connector (shiftkey-ical)"
ICAL="$BIN/shiftkey-ical --once --rotation demo-primary --state $RUN/ical.state --bootstrap-file $BOOT --url $RUN/demo.ics"
rm -f "$RUN/ical.state"
sh connectors/examples/demo-feed.sh 0 10 carol@example.com demo-ical-carol-1 >"$RUN/demo.ics"
$ICAL 2>&1 | sed 's/^/    [ical] /'
say "no more events: bob's and alice's remaining grants end by the durable timer"
sleep 8
say "the feed changes: carol's shift was cut short; the connector sees it ended"
sh connectors/examples/demo-feed.sh -8 -1 carol@example.com demo-ical-carol-1 >"$RUN/demo.ics"
$ICAL 2>&1 | sed 's/^/    [ical] /'

say "an access request: dave asks for kubernetes-prod/edit for 10 s (policy sre-review: one reviewer)"
"$SK" request kubernetes-prod/edit --duration 10s --justification "deploy the hotfix" \
    --as dave@example.com --id demo-req-1 --wait 30 --bootstrap-file "$BOOT" 2>&1 |
    sed -u 's/^/    [dave: shiftkey request --wait] /' &
req_pid=$!
sleep 1.5
say "the open review task (shiftkey task list)"
"$SK" task list --bootstrap-file "$BOOT" | sed 's/^/    [cli] /'
say "frank, an assignee, approves it from the CLI (shiftkey task approve demo-req-1)"
"$SK" task approve demo-req-1 --as frank@example.com --comment "ok for the hotfix" \
    --bootstrap-file "$BOOT" | sed 's/^/    [cli] /'
wait "$req_pid" || true
sleep 0.5
say "the task is closed, so the list of open tasks is empty; its history (shiftkey task show)"
"$SK" task list --bootstrap-file "$BOOT" | sed 's/^/    [cli] /'
"$SK" task show demo-req-1 --bootstrap-file "$BOOT" | sed 's/^/    [cli] /'
say "dave's grant in Redis, held by the request (shiftkey grants dave@example.com)"
"$SK" grants dave@example.com --redis "127.0.0.1:$REDIS_PORT" | sed 's/^/    [cli] /'
say "no more events: dave's 10 s grant ends by the durable timer"
sleep 10
prov_show "now that nobody is on call: every membership taken away"
say "state left in Redis (redis-cli --scan --pattern 'sk:*'):"
redis-cli -p "$REDIS_PORT" --scan --pattern 'sk:*' | sort | sed 's/^/    /'
BIN="$BIN" BOOT="$BOOT" RUN="$RUN" sh scripts/demo-slack.sh || echo "    (the Slack part of the demo failed)"
[ "${SHIFTKEY_DEMO_CAMPAIGN:-0}" = 1 ] && campaign_demo
if [ "${SHIFTKEY_DEMO_KEEP:-0}" = 1 ]; then
    say "still running; broker at $(cat "$BOOT"), redis at 127.0.0.1:$REDIS_PORT. Ctrl-C stops."
    wait
fi
say "demo done"
