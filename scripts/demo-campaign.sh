#!/bin/sh
# Access review campaigns in the demo (SHIFTKEY_DEMO_CAMPAIGN=1 make run;
# README, "Access review campaigns"). Sourced by scripts/demo.sh:
# campaign_rules writes the demo campaign into the engine's rules before it
# starts; campaign_demo plays it once the rest of the demo is over: dave and
# frank get kubernetes-prod/edit by reviewed requests, alice (the owner)
# starts the campaign, frank (the app owner) certifies dave's access, his
# own certification of his own access is refused, nobody reviews frank's,
# so at the due time (25 s) the end action revokes it; then the report
# (CSV and SHA-256). Uses SK, BOOT, RUN, REDIS_PORT and say from demo.sh.

campaign_rules() { # $1: the rules directory the engine will read
    cat >"$1/campaigns.yaml" <<'YAML'
# written by scripts/demo-campaign.sh (SHIFTKEY_DEMO_CAMPAIGN=1)
campaigns:
  - id: demo-review
    name: Who still needs to edit production Kubernetes?
    owners: [alice@example.com]
    scope:
      entitlements: [kubernetes-prod/edit]
      grants: [requests]
    reviewers:
      app_owner: true
    start: 2099-01-01T00:00:00Z   # started by its owner in the demo
    due_after: 25s
    end_action: revoke
    slack_channel: "#demo-review"
YAML
}

campaign_demo() {
    cli() { "$SK" "$@" --bootstrap-file "$BOOT" 2>&1 | sed -u 's/^/    [cli] /'; }
    say "access review campaign: dave and frank get kubernetes-prod/edit for 30 minutes"
    cli request kubernetes-prod/edit --duration 30m --as dave@example.com --id camp-dave
    cli request kubernetes-prod/edit --duration 30m --as frank@example.com --id camp-frank
    sleep 1
    cli task approve camp-dave --as frank@example.com --comment "campaign demo"
    cli task approve camp-frank --as dave@example.com --comment "campaign demo"
    sleep 1
    say "the campaigns of the rules (shiftkey campaign list)"
    "$SK" campaign list --rules "$RUN/rules" | sed 's/^/    [cli] /'
    say "alice, its owner, starts demo-review (shiftkey campaign start): one ACCESS_REVIEW task per grant"
    "$SK" campaign start demo-review --as alice@example.com --redis "127.0.0.1:$REDIS_PORT" \
        --bootstrap-file "$BOOT" | sed 's/^/    [cli] /'
    sleep 1.5
    "$SK" task list --bootstrap-file "$BOOT" | sed 's/^/    [cli] /'
    ids=$("$SK" task list --bootstrap-file "$BOOT" -o json | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["kind"] == "ACCESS_REVIEW":
        print(t["subject"], t["task_id"])')
    dave_task=$(echo "$ids" | awk '$1 == "dave@example.com" {print $2}')
    frank_task=$(echo "$ids" | awk '$1 == "frank@example.com" {print $2}')
    say "frank (the app owner) certifies dave's access"
    cli task certify "$dave_task" --as frank@example.com --reason "on call for the platform"
    say "frank tries to certify his own: refused (self-review; see the engine's log)"
    cli task certify "$frank_task" --as frank@example.com --reason "I need it"
    say "nobody else reviews frank's: at the due time (25 s) the end action revokes it"
    sleep 27
    say "the report: every item with its decision, reviewer, time and reason, and the CSV's SHA-256"
    "$SK" campaign report demo-review --out "$RUN/demo-review.csv" --bootstrap-file "$BOOT" |
        sed 's/^/    [cli] /'
    sed 's/^/    [csv] /' "$RUN/demo-review.csv"
}
