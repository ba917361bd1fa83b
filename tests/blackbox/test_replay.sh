#!/bin/sh
# `shiftkey replay`: a recording decided with the same rules twice differs
# in nothing (exit 0); with a real edit of rules/examples (the payments
# on-call grace cut from 30m to 15m) it names who loses access, the commands
# that change, and exits 1; unreadable input or rules exit 2.
set -u
cd "$(dirname "$0")/../.."
SK=${SK_CLI:-build/test/bin/shiftkey}
GEN=${SK_GEN:-build/bench/gen-recording}
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

"$GEN" 3000 300 "$tmp/rec" || { echo "cannot generate a recording"; echo "0 passed, 1 failed"; exit 1; }
cp -r rules/examples "$tmp/new"
sed -i 's/revoke_after: 30m/revoke_after: 15m/' "$tmp/new/enrollments.yaml"

"$SK" replay --current rules/examples --rules rules/examples --input "$tmp/rec" >"$tmp/same" 2>&1
check "same rules: exit 0" test $? -eq 0
check "same rules: 'no difference'" grep -q "^no difference$" "$tmp/same"
"$SK" replay --current rules/examples --rules "$tmp/new" --input "$tmp/rec" --limit 1000 >"$tmp/diff" 2>&1
check "edited rules: exit 1" test $? -eq 1
check "edited rules: a payments user loses 15m of aws-prod/readonly per shift" \
    grep -qE "^  - user[0-9]+@example.com aws-prod/readonly: held 8h45m -> 8h30m, 1 -> 1 grants" "$tmp/diff"
check "edited rules: an earlier REVOKE is only with the new rules" \
    grep -qE "^  \+ REVOKE aws-prod/readonly to user[0-9]+@example.com at " "$tmp/diff"
check "edited rules: kubernetes-prod/edit does not change (not payments)" \
    sh -c "! grep -q 'kubernetes-prod/edit' $tmp/diff"
check "export, then replay of the export: the same" sh -c \
    "$SK replay --input $tmp/rec --export $tmp/rec2 && cmp $tmp/rec $tmp/rec2 || \
     $SK replay --current rules/examples --rules rules/examples --input $tmp/rec2"
printf 'not a recording' >"$tmp/bad"
"$SK" replay --current rules/examples --rules rules/examples --input "$tmp/bad" >"$tmp/out" 2>&1
check "a file that is not a recording: exit 2" test $? -eq 2
"$SK" replay --current rules/examples --rules tests/rules/syntax --input "$tmp/rec" >"$tmp/out" 2>&1
check "new rules that do not load: exit 2, errors shown" sh -c "test $? -eq 2 && grep -q 'do not load' $tmp/out"
check "usage error: exit 2" sh -c "$SK replay; test \$? -eq 2"
sed -n 1,12p "$tmp/diff"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
