#!/bin/sh
# The benchmark's quick form, run by `make test` only to prove the benchmark
# works: every section must produce a number > 0 and results.json must be
# valid JSON. Nothing here is about speed. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
out=build/bench/quick
mkdir -p "$out"
pass=0
fail=0
check() { # name, shell condition
    if sh -c "$2"; then
        pass=$((pass + 1)); echo "ok   $1"
    else
        fail=$((fail + 1)); echo "FAIL $1"
    fi
}
BENCH_QUICK=1 BENCH_OUT=$out timeout 300 build/bench/bench
rc=$?
check "bench exits 0" "[ $rc -eq 0 ]"
check "results.json is valid JSON" "python3 -m json.tool $out/results.json >/dev/null"
for key in raw_kafka.pipe_events_per_s raw_kafka.produce_events_per_s \
    raw_kafka.records_per_event raw_redis.pipelined_events_per_s raw_redis.bytes_per_event \
    raw_limit.events_per_s recovery_ms engine.redis_requests_per_event \
    engine.saturation.events_per_s engine.burst.events_per_s \
    engine.saturation.latency_ms.p99 engine.rate_1000.events_per_s \
    engine.rate_1000.latency_ms.p50 engine.rate_1000.latency_in_kafka_ms.p50 \
    engine.rate_10000.events_per_s engine.rate_10000.latency_ms.p99 \
    engine.burst.cpu_us_per_event.broker engine.burst.cpu_us_per_event.engine \
    engine.burst.cpu_us_per_event.total engine.burst.loop.batches \
    raw_kafka.cpu_us_per_event.total timers.fired timers.due_to_revoke_ms.p50 \
    state.active_grants state.redis_bytes_per_grant rules_compile.seconds \
    decide.decisions_per_s decide.with_encode_per_s ratios.engine_vs_raw_kafka \
    ratios.engine_vs_raw_redis; do
    check "$key > 0" "python3 -c 'import json,sys; v=json.load(open(\"$out/results.json\"))
for k in \"$key\".split(\".\"): v=v[k]
sys.exit(0 if v > 0 else 1)' 2>/dev/null"
done
check "every timer fired" "python3 -c 'import json,sys; t=json.load(open(\"$out/results.json\"))[\"timers\"]
sys.exit(0 if t[\"fired\"] == t[\"expected\"] else 1)'"
if command -v gnuplot >/dev/null 2>&1; then
    check "latency plot drawn" "sh bench/plot.sh $out >/dev/null && [ -s $out/latency.png ]"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
