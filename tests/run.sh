#!/bin/sh
# Runs the whole suite from the repository root: unit tests, integration
# tests (mock Kafka over TCP + a real redis-server), black-box tests (kcat,
# Python's confluent_kafka and avro, redis-cli). Each part prints its own
# "N passed, N failed"; this script adds them up and prints the total last,
# after each part's wall time and the ten slowest parts (build/test/logs/
# times.txt keeps "seconds part" per line; SK_BUILD_SECONDS, set by
# `make test`, adds the build's time).
#
# Three lanes run at once, each part of a lane after the other:
#   - the quick lane (quick_lane below, in the background): parts that only
#     compute, with no clock, process or server in what they assert (static
#     checks, unit tests, the fuzz regression, the codec interop, the CLI's
#     replay and rules test);
#   - the io lane (io_lane, in the background): tests with servers that poll
#     for what they check with generous timeouts (the request and signature
#     integration tests, the black-box tests), and bench-quick;
#   - the timed lane (in the foreground, printed as each part ends): what
#     asserts how soon something happens (the other integration tests,
#     chaos-short, the provisioners).
# The io and quick lanes' parts are printed after the timed lane's, each
# with its log's last lines when it failed. SK_TEST_LANES=1 runs the quick,
# io and timed lanes one after the other (nothing at once).
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

part() { # name, command...: a part of a background lane (run or shown, per $lane_mode)
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

# Parts that start servers and wait for what they check with generous
# timeouts (seconds where a second would do): they only need the machine to
# make progress, so they run beside the timed lane.
io_lane() {
    for t in build/test/bin/integration/test_requests build/test/bin/integration/test_signed; do
        [ -x "$t" ] && part "integration-$(basename "$t")" "$t"
    done
    for t in tests/blackbox/test_*.py; do
        case "$t" in */test_skwire_interop.py) continue ;; esac # quick lane
        [ -f "$t" ] && part "blackbox-$(basename "$t" .py)" /usr/bin/python3 "$t"
    done
    part connectors-blackbox /usr/bin/python3 tests/connectors/test_connectors.py
    part slack-blackbox /usr/bin/python3 tests/slack/test_slack_app.py
    for t in tests/blackbox/test_*.sh; do
        case "$t" in */test_replay.sh | */test_rules_test.sh) continue ;; esac # quick lane
        [ -f "$t" ] && part "blackbox-$(basename "$t" .sh)" sh "$t"
    done
    # proves the benchmark works (numbers > 0, every timer fired within 20 s
    # of its time); nothing about speed
    [ -x build/bench/bench ] && part bench-quick sh bench/run-quick.sh
}

if [ "${SK_TEST_LANES:-3}" = 1 ]; then
    for lane_mode in run show; do
        quick_lane
    done
    for lane_mode in run show; do
        io_lane
    done
else
    lane_mode=run
    quick_lane &
    quick_pid=$!
    io_lane &
    io_pid=$!
fi

# the timed lane: what asserts how soon something happens (expiry within
# 2 s, a restart within 5 s, the fault test's bounds)
for t in build/test/bin/integration/test_*; do
    case "$t" in */test_requests | */test_signed) continue ;; esac # io lane
    [ -x "$t" ] && run_part "integration-$(basename "$t")" "$t"
done
# the short form of the fault test, every fault kind once (make chaos runs the long one)
run_part chaos-short /usr/bin/python3 tests/chaos/chaos.py --kills 1 --users 40 --redis-restarts 1 \
    --broker-outages 1 --flushalls 1 --redis-empties 1 --spare-s 20
# last, when the other lanes are usually done: its expiry checks allow 2-3 s
run_part provision-unit build/test/bin/provision/test_prov_unit
run_part provision-blackbox /usr/bin/python3 tests/provision/test_provision.py

if [ "${SK_TEST_LANES:-3}" != 1 ]; then
    wait "$quick_pid" "$io_pid"
    lane_mode=show
    io_lane
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
