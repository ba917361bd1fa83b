#!/bin/sh
# Runs the whole suite from the repository root: unit tests, integration
# tests (mock Kafka over TCP + a real redis-server), black-box tests (kcat,
# Python's confluent_kafka and avro, redis-cli). Each part prints its own
# "N passed, N failed"; this script adds them up and prints the total last,
# after each part's wall time and the ten slowest parts (build/test/logs/
# times.txt keeps "seconds part" per line; SK_BUILD_SECONDS, set by
# `make test`, adds the build's time).
#
# Two lanes run at once (one per core of a 2-core machine):
#   - the quick lane (quick_lane below): parts that only compute, with no
#     clock, process or server in what they assert (static checks, unit
#     tests, the fuzz regression, the codec interop, the CLI's replay and
#     rules test), in the background;
#   - the timed lane: every other part (integration, black-box, chaos,
#     bench), one after the other in the foreground, printed as each ends.
# The quick lane's parts are printed after the timed lane's, each with its
# log's last lines when it failed. SK_TEST_LANES=1 runs the quick lane
# first, in the foreground, then the timed lane (nothing at once).
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
rm -f "$log_dir"/*.result
times="$log_dir/times.txt"
: >"$times"
now_ms() { date +%s%3N; }
suite_start=$(now_ms)
secs() { # milliseconds -> "12.3"
    echo "$1" | awk '{ printf "%.1f", $1 / 1000 }'
}

run_only() { # name, command...: runs the part; its result goes to $log_dir/name.result
    name=$1
    shift
    log="$log_dir/$name.log"
    t0=$(now_ms)
    "$@" >"$log" 2>&1
    rc=$?
    took=$(secs $(($(now_ms) - t0)))
    echo "$took $name" >>"$times"
    echo "$rc $took" >"$log_dir/$name.result"
}

show_part() { # name: prints the part's result and adds it to the totals
    name=$1
    log="$log_dir/$name.log"
    echo "== $name"
    rc=1
    took="?"
    [ -f "$log_dir/$name.result" ] && read -r rc took <"$log_dir/$name.result"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" 2>/dev/null | tail -n 1)
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
        echo "   FAILED (exit $rc, $took s): last lines of $log:"
        tail -n 40 "$log" | sed 's/^/   | /'
    else
        echo "   $line ($took s)"
    fi
}

run_part() { # name, command...: runs the part now and prints it
    run_only "$@"
    show_part "$1"
}

part() { # name, command...: a part of the quick lane (run or shown, per $lane_mode)
    if [ "$lane_mode" = run ]; then
        run_only "$@"
    else
        show_part "$1"
    fi
}

quick_lane() {
    part check-layers /usr/bin/python3 scripts/check-layers.py build/test
    part check-refs /usr/bin/python3 scripts/check-refs.py
    part schemas-check /usr/bin/python3 scripts/schemas-check.py --self-test
    part format-check sh -c 'make --no-print-directory format-check && echo "1 passed, 0 failed"'
    for t in build/test/bin/unit/test_*; do
        [ -x "$t" ] && part "unit-$(basename "$t")" "$t"
    done
    part fuzz-regression sh tests/fuzz/run-regression.sh
    part blackbox-test_skwire_interop /usr/bin/python3 tests/blackbox/test_skwire_interop.py
    part blackbox-test_replay sh tests/blackbox/test_replay.sh
    part blackbox-test_rules_test sh tests/blackbox/test_rules_test.sh
    for t in build/test/bin/connectors/test_*; do
        [ -x "$t" ] && part "connectors-$(basename "$t")" "$t"
    done
    part slack-unit build/test/bin/slack/test_slack_unit
    [ -f helm/check.sh ] && part helm-chart sh helm/check.sh
}

if [ "${SK_TEST_LANES:-2}" = 1 ]; then
    lane_mode=run
    quick_lane
    lane_mode=show
    quick_lane
else
    lane_mode=run
    quick_lane &
    quick_pid=$!
fi

# the timed lane
for t in build/test/bin/integration/test_*; do
    [ -x "$t" ] && run_part "integration-$(basename "$t")" "$t"
done
for t in tests/blackbox/test_*.py; do
    case "$t" in */test_skwire_interop.py) continue ;; esac # quick lane
    [ -f "$t" ] && run_part "blackbox-$(basename "$t" .py)" /usr/bin/python3 "$t"
done
run_part connectors-blackbox /usr/bin/python3 tests/connectors/test_connectors.py
run_part provision-unit build/test/bin/provision/test_prov_unit
run_part provision-blackbox /usr/bin/python3 tests/provision/test_provision.py
run_part slack-blackbox /usr/bin/python3 tests/slack/test_slack_app.py
for t in tests/blackbox/test_*.sh; do
    case "$t" in */test_replay.sh | */test_rules_test.sh) continue ;; esac # quick lane
    [ -f "$t" ] && run_part "blackbox-$(basename "$t" .sh)" sh "$t"
done
# the short form of the fault test, every fault kind once (make chaos runs the long one)
run_part chaos-short /usr/bin/python3 tests/chaos/chaos.py --kills 1 --users 40 --redis-restarts 1 \
    --broker-outages 1 --flushalls 1 --redis-empties 1
[ -x build/bench/bench ] && run_part bench-quick sh bench/run-quick.sh

if [ "${SK_TEST_LANES:-2}" != 1 ]; then
    wait "$quick_pid"
    lane_mode=show
    quick_lane
fi

echo
echo "slowest parts (seconds):"
sort -rn "$times" | head -n 10 | sed 's/^/   /'
[ -n "${SK_BUILD_SECONDS:-}" ] && echo "build: ${SK_BUILD_SECONDS} s"
echo "parts: $(secs $(($(now_ms) - suite_start))) s"
[ -n "$failed_parts" ] && echo "failed parts:$failed_parts (logs in $log_dir)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ -z "$failed_parts" ]
