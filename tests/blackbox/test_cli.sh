#!/bin/sh
# Black-box tests of the two binaries as a person or a script uses them:
# exit codes, --help, rule errors as file:line:column, refusal of bad flags,
# and the CLI publishing a shift that the engine turns into a GRANT.
set -u
cd "$(dirname "$0")/../.."
SK=${SK_CLI:-build/test/bin/shiftkey}
SKD=${SK_SHIFTKEYD:-build/test/bin/shiftkeyd}
export ASAN_OPTIONS=detect_leaks=0
pass=0
fail=0
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${SK_KEEP_TMP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

check() { # description, then a command that must succeed
    desc=$1
    shift
    if "$@" >/dev/null 2>&1; then
        pass=$((pass + 1)); echo "ok   $desc"
    else
        fail=$((fail + 1)); echo "FAIL $desc"
    fi
}
exits() { # expected-code command...
    want=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    [ "$?" -eq "$want" ]
}

check "shiftkey --help exits 0 and lists commands" sh -c "$SK --help | grep -q 'rules check'"
check "shiftkey without a command is a usage error (2)" exits 2 "$SK"
check "shiftkey unknown command is a usage error (2)" exits 2 "$SK" frobnicate
check "shiftkey rules check on the examples exits 0" exits 0 "$SK" rules check rules/examples
check "rules check prints the counts" sh -c "$SK rules check rules/examples | grep -q '^ok: 6 files, 6 apps, 11 entitlements, 6 rotations, 6 profiles, 6 enrollments, 6 people, 3 groups, 5 policies'"

mkdir -p "$tmp/bad"
cat >"$tmp/bad/apps.yaml" <<'YAML'
apps:
  - id: aws
    entitlements:
      - id: admin
        max_duraton: 12h
YAML
check "rules check on a bad set exits 1" exits 1 "$SK" rules check "$tmp/bad"
check "the error names file:line:column and suggests the key" \
    grep -q "apps.yaml:5:9: unknown key 'max_duraton'.*max_duration" "$tmp/err"
check "rules show prints each rotation's grants" sh -c "$SK rules show rules/examples | grep -q 'demo-primary'"

check "shiftkeyd --help exits 0 and documents every flag" sh -c "$SKD --help | grep -q -- '--redis-password-file'"
check "shiftkeyd without --kafka is refused (2)" exits 2 "$SKD" --rules rules/examples
check "the refusal says what to do" grep -q "kafka is required" "$tmp/err"
check "shiftkeyd with an unknown flag is refused (2)" exits 2 "$SKD" --kafka embedded --frob 1
check "shiftkeyd with a bad port is refused (2)" exits 2 "$SKD" --kafka embedded --redis 127.0.0.1:99999
check "shiftkeyd --redis-user without a password is refused (2)" \
    exits 2 env -u SHIFTKEY_REDIS_PASSWORD "$SKD" --kafka embedded --redis-user engine
check "  ...and says what to set" grep -q "without a password" "$tmp/err"
printf 'security.protocol=SASL_SSL\nsasl.password=secret\n' >"$tmp/kafka.conf"
chmod 644 "$tmp/kafka.conf"
check "shiftkeyd --kafka-config-file readable by others is refused (2)" \
    exits 2 "$SKD" --kafka embedded --kafka-config-file "$tmp/kafka.conf"
check "  ...and says chmod 600" grep -q "chmod 600" "$tmp/err"
check "shiftkeyd with bad rules exits 1 and prints the errors" \
    exits 1 "$SKD" --kafka embedded --bootstrap-file "$tmp/b0" --rules "$tmp/bad"
check "  ...with file:line:column" grep -q "apps.yaml:5:9" "$tmp/err"

# end to end through the CLI: publish a shift, watch the GRANT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >/dev/null 2>&1 &
pids="$pids $!"
# signatures on: a key per person who acts below (shiftkey keygen), declared
# in a copy of the example rules; the CLI signs with the key --as selects
cp -r rules/examples "$tmp/rules"
export SHIFTKEY_KEY_DIR="$tmp/keys"
{
    echo "signers:"
    for p in dave frank bob; do
        echo "  - id: $p@example.com"
        echo "    public_keys: [\"$("$SK" keygen "$p@example.com" 2>/dev/null)\"]"
    done
} >"$tmp/rules/signers.yaml"
check "shiftkey keygen wrote 0600 key files" sh -c "test \"\$(stat -c %a $tmp/keys/dave@example.com.key)\" = 600"
"$SKD" --kafka embedded --bootstrap-file "$tmp/boot" --rules "$tmp/rules" \
    --redis "127.0.0.1:$port" >"$tmp/engine.log" 2>&1 &
pids="$pids $!"
i=0
until grep -q "assigned shiftkey.schedule.v1" "$tmp/engine.log" 2>/dev/null || [ $i -gt 150 ]; do
    sleep 0.1; i=$((i + 1))
done
check "shiftkey shift started publishes (exit 0)" exits 0 "$SK" shift started --user cli-user \
    --rotation demo-secondary --id cli-1 --end +1h --bootstrap-file "$tmp/boot"
printf 'client.id=cli-from-file\n' >"$tmp/cli-kafka.conf"
chmod 644 "$tmp/cli-kafka.conf"
check "the CLI refuses a Kafka credentials file others may read (1)" exits 1 env \
    SHIFTKEY_KAFKA_CONFIG_FILE="$tmp/cli-kafka.conf" "$SK" shift started --user cli-user2 \
    --rotation demo-secondary --id cli-2 --end +1h --bootstrap-file "$tmp/boot"
check "  ...and says chmod 600" grep -q "chmod 600" "$tmp/err"
chmod 600 "$tmp/cli-kafka.conf"
check "the CLI reads a 0600 Kafka credentials file (exit 0)" exits 0 env \
    SHIFTKEY_KAFKA_CONFIG_FILE="$tmp/cli-kafka.conf" "$SK" shift started --user cli-user2 \
    --rotation demo-secondary --id cli-2 --end +1h --bootstrap-file "$tmp/boot"
check "shiftkey watch sees the GRANT" sh -c "$SK watch commands --from-beginning --count 1 --timeout 15 -o json --bootstrap-file $tmp/boot | grep -q '\"action\":\"GRANT\",\"user\":\"cli-user\",\"app\":\"demo\",\"entitlement\":\"console\"'"
check "shiftkey shift with a bad time is a usage error (2)" exits 2 "$SK" shift started \
    --user u --rotation demo-primary --id x --end tomorrowish --bootstrap-file "$tmp/boot"
check "shiftkey shift without --user is a usage error (2)" exits 2 "$SK" shift started \
    --rotation demo-primary --id x --bootstrap-file "$tmp/boot"
check "shiftkey shift without a broker address says how to get one (2)" \
    sh -c "cd $tmp && SHIFTKEY_KAFKA= $(pwd)/$SK shift started --user u --rotation r --id x 2>&1; test \$? -eq 2"
check "redis-cli sees the user's state (a field of its partition's users hash)" sh -c "for k in \$(redis-cli -p $port --scan --pattern 'sk:*:users'); do redis-cli -p $port hexists \$k cli-user; done | grep -q 1"
check "shiftkey grants lists the grant and its shift source" sh -c \
    "$SK grants cli-user --redis 127.0.0.1:$port | grep -E '^cli-user +demo/console +SHIFT +cli-1 +until '"
check "shiftkey grants -o json is JSON a script can read" sh -c \
    "$SK grants --redis 127.0.0.1:$port -o json | /usr/bin/python3 -c 'import json,sys; g=json.load(sys.stdin); assert any(x[\"user\"]==\"cli-user\" and x[\"entitlement\"]==\"demo/console\" and x[\"source\"]==\"SHIFT\" for x in g), g'"
check "shiftkey grants for nobody lists nothing (exit 0)" sh -c \
    "test \$($SK grants nobody --redis 127.0.0.1:$port -o json) = '[]'"
check "shiftkey grants with Redis away says so (1)" exits 1 "$SK" grants --redis 127.0.0.1:1

# access requests through the CLI, decided by the engine on rules/examples:
# dave (platform-team) asks for kubernetes-prod/edit; frank (platform-team) approves
"$SK" request kubernetes-prod/edit --duration 1h --justification "deploy fix" \
    --as dave@example.com --id cli-req-1 --wait 30 --bootstrap-file "$tmp/boot" \
    >"$tmp/req.out" 2>&1 &
req_pid=$!
sleep 1
check "shiftkey task approve publishes (exit 0)" exits 0 "$SK" task approve cli-req-1 \
    --subject dave@example.com --as frank@example.com --bootstrap-file "$tmp/boot"
wait $req_pid
req_rc=$?
check "shiftkey request --wait exits 0 once granted" test "$req_rc" -eq 0
check "  ...and prints the GRANT" grep -q "^GRANT kubernetes-prod/edit for dave@example.com" "$tmp/req.out"
check "shiftkey grants shows the request as the source" sh -c \
    "$SK grants dave@example.com --redis 127.0.0.1:$port | grep -E 'kubernetes-prod/edit +REQUEST +cli-req-1'"
check "a request the rules refuse (bob is not in platform-team): --wait exits 1" exits 1 \
    "$SK" request kubernetes-prod/edit --duration 1h --as bob@example.com --id cli-req-2 \
    --wait 30 --bootstrap-file "$tmp/boot"
check "  ...and says why" grep -q "may not request" "$tmp/out"
check "acting as someone whose key you do not hold is refused (1)" exits 1 "$SK" task approve \
    cli-req-1 --subject dave@example.com --as erin@example.com --bootstrap-file "$tmp/boot"
check "  ...and says so" grep -q "hold no key for 'erin@example.com'" "$tmp/err"
check "shiftkey request without --duration is a usage error (2)" exits 2 "$SK" request \
    kubernetes-prod/edit --as dave@example.com --bootstrap-file "$tmp/boot"
check "shiftkey task with an unknown action is a usage error (2)" exits 2 "$SK" task frob x \
    --subject dave@example.com --bootstrap-file "$tmp/boot"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
