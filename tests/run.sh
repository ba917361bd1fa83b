#!/bin/sh
# Runs the whole suite from the repository root: unit tests, integration
# tests (mock Kafka over TCP + a real redis-server), black-box tests (kcat,
# Python's confluent_kafka and avro, redis-cli). Each part prints its own
# "N passed, N failed"; this script adds them up and prints the total last.
set -u
cd "$(dirname "$0")/.."
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"
total_pass=0
total_fail=0
failed_parts=""
log_dir=build/test/logs
mkdir -p "$log_dir"

run_part() { # name, command...
    name=$1
    shift
    log="$log_dir/$name.log"
    echo "== $name"
    "$@" >"$log" 2>&1
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or a sanitizer stopped it: count as a failure
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
        failed_parts="$failed_parts $name"
        echo "   FAILED (exit $rc): last lines of $log:"
        tail -n 40 "$log" | sed 's/^/   | /'
    else
        echo "   $line"
    fi
}

run_part check-layers /usr/bin/python3 scripts/check-layers.py build/test
run_part check-refs /usr/bin/python3 scripts/check-refs.py
run_part schemas-check /usr/bin/python3 scripts/schemas-check.py --self-test
run_part format-check sh -c 'make --no-print-directory format-check && echo "1 passed, 0 failed"'
for t in build/test/bin/unit/test_*; do
    [ -x "$t" ] && run_part "unit-$(basename "$t")" "$t"
done
for t in build/test/bin/integration/test_*; do
    [ -x "$t" ] && run_part "integration-$(basename "$t")" "$t"
done
run_part fuzz-regression sh tests/fuzz/run-regression.sh
for t in tests/blackbox/test_*.py; do
    [ -f "$t" ] && run_part "blackbox-$(basename "$t" .py)" /usr/bin/python3 "$t"
done
for t in build/test/bin/connectors/test_*; do
    [ -x "$t" ] && run_part "connectors-$(basename "$t")" "$t"
done
run_part connectors-blackbox /usr/bin/python3 tests/connectors/test_connectors.py
run_part provision-unit build/test/bin/provision/test_prov_unit
run_part provision-blackbox /usr/bin/python3 tests/provision/test_provision.py
run_part slack-unit build/test/bin/slack/test_slack_unit
run_part slack-blackbox /usr/bin/python3 tests/slack/test_slack_app.py
for t in tests/blackbox/test_*.sh; do
    [ -f "$t" ] && run_part "blackbox-$(basename "$t" .sh)" sh "$t"
done
# the short form of the fault test (make chaos runs the long one)
run_part chaos-short /usr/bin/python3 tests/chaos/chaos.py --kills 3 --users 60 --broker-outages 1 \
    --flushalls 1 --redis-empties 1
# the engine on a real Redis Cluster through a slot migration and a failover
# (make cluster-test runs the long one)
run_part redis-cluster /usr/bin/python3 tests/chaos/cluster.py
[ -x build/bench/bench ] && run_part bench-quick sh bench/run-quick.sh
[ -f helm/check.sh ] && run_part helm-chart sh helm/check.sh

echo
[ -n "$failed_parts" ] && echo "failed parts:$failed_parts (logs in $log_dir)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ -z "$failed_parts" ]
