#!/bin/sh
# `shiftkey rules test`: the example rules pass their own tests, and a file
# of wrong expectations fails with `file:line: expected ..., got ...`.
set -u
cd "$(dirname "$0")/../.."
SK=${SK_CLI:-build/test/bin/shiftkey}
export ASAN_OPTIONS=detect_leaks=1
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # description, then a command that must succeed
    desc=$1
    shift
    if "$@" >/dev/null 2>&1; then
        pass=$((pass + 1)); echo "ok   $desc"
    else
        fail=$((fail + 1)); echo "FAIL $desc"
    fi
}

check "rules/examples passes its own tests" "$SK" rules test rules/examples
"$SK" rules test rules/examples tests/rules/rules_test/failing.yaml >"$tmp/out" 2>&1
check "a failing test file exits 1" test $? -eq 1
f=tests/rules/rules_test/failing.yaml
check "wrong expiry: file:line, expected and got" grep -q \
    "^$f:9: expected granted aws-prod/readonly to bob@example.com until +8h, got GRANT aws-prod/readonly to bob@example.com until +8h30m" "$tmp/out"
check "wrong outcome: refused, not pending" grep -q \
    "^$f:14: expected request f2 of bob@example.com pending, got no such request" "$tmp/out"
check "malformed step named with its line" grep -q "^$f:17: unknown shift event 'begun'" "$tmp/out"
check "summary line" grep -q "^0 passed, 3 failed$" "$tmp/out"
check "found access (a reconciliation's FOUND) sends nothing, its removal a REVOKE" \
    "$SK" rules test tests/rules/found tests/rules/rules_test/found.yaml
sed '/status: found/,/no_commands/d' tests/rules/rules_test/found.yaml >"$tmp/unfound.yaml"
"$SK" rules test tests/rules/found "$tmp/unfound.yaml" >"$tmp/out2" 2>&1
check "without the FOUND result the removal revokes nothing: the test fails" grep -q \
    "expected revoked pg/write to bob, got no command" "$tmp/out2"
check "rules that do not load: exit 1" sh -c "! $SK rules test tests/rules/syntax"
check "usage error: exit 2" sh -c "$SK rules test; test \$? -eq 2"
cat "$tmp/out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
