#!/bin/sh
# `make fuzz`: runs each libFuzzer target build/fuzz/bin/fuzz_NAME for
# FUZZ_SECONDS (default 60), FUZZ_JOBS targets at a time (default 1).
#
# Each run starts from the committed corpus tests/fuzz/corpus/NAME/ and
# writes new inputs to a scratch directory (build/fuzz/work/NAME/); those
# that add coverage are then merged (-merge=1) into the committed corpus.
# When a corpus grows past 200 files or 1 MB it is minimized as a whole
# (edge coverage only).
# Crash, leak, timeout and OOM reproducers go to tests/fuzz/crashes/.
# Prints executions, corpus size and crashes per target; exits 1 when any
# target crashed.
#
#   sh tests/fuzz/run-fuzz.sh [NAME...]     (default: every built target)
set -u
cd "$(dirname "$0")/../.."
SECONDS_PER=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
MAX_FILES=200
MAX_BYTES=1000000
CRASHES=tests/fuzz/crashes
WORK=build/fuzz/work
mkdir -p "$CRASHES" "$WORK"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"

if [ $# -eq 0 ]; then
    set --
    for b in build/fuzz/bin/fuzz_*; do
        [ -x "$b" ] && set -- "$@" "${b#build/fuzz/bin/fuzz_}"
    done
fi

corpus_files() { find "$1" -type f | wc -l; }
corpus_bytes() { find "$1" -type f -exec cat {} + 2>/dev/null | wc -c; }

# fuzz_one NAME: fuzzes, merges, writes $WORK/NAME/summary
fuzz_one() {
    name=$1
    bin=build/fuzz/bin/fuzz_$name
    corpus=tests/fuzz/corpus/$name
    scratch=$WORK/$name/new
    log=$WORK/$name/fuzz.log
    rm -rf "$WORK/$name"
    mkdir -p "$scratch" "$corpus"
    touch "$WORK/$name/start"
    dict=""
    [ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$CRASHES/$name-" $dict \
        "$scratch" "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    secs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -Eo '[0-9]+ second' |
        grep -Eo '[0-9]+' | tail -n 1)
    new_files=$(corpus_files "$scratch")
    before=$(corpus_files "$corpus")
    "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$CRASHES/$name-" \
        "$corpus" "$scratch" >"$WORK/$name/merge.log" 2>&1
    if [ "$(corpus_files "$corpus")" -gt "$MAX_FILES" ] ||
        [ "$(corpus_bytes "$corpus")" -gt "$MAX_BYTES" ]; then
        min=$WORK/$name/min
        mkdir -p "$min"
        # edges only (no hit counters): far fewer files keep the same edges
        if "$bin" -merge=1 -use_counters=0 -timeout=10 -max_len=4096 "$min" "$corpus" \
            >"$WORK/$name/minimize.log" 2>&1 && [ "$(corpus_files "$min")" -gt 0 ]; then
            # named seeds stay as they are; merged inputs are named by SHA-1
            find "$corpus" -type f | grep -E '/[0-9a-f]{40}$' | xargs -r rm -f
            for f in "$min"/*; do
                cmp -s "$f" "$corpus/$(basename "$f")" 2>/dev/null ||
                    cp "$f" "$corpus"/
            done
        fi
    fi
    after=$(corpus_files "$corpus")
    found=$(find "$CRASHES" -type f -name "$name-*" -newer "$WORK/$name/start" | sort)
    n_found=$(printf '%s' "$found" | grep -c . || true)
    status=ok
    if [ "$rc" -ne 0 ] || [ "$n_found" -gt 0 ]; then
        status=CRASH
        [ "$n_found" -eq 0 ] && n_found=1 # stopped without an artifact
    fi
    {
        printf '%-20s %-5s execs=%s time=%ss exec/s=%s corpus=%s->%s files (%s bytes) new-in-run=%s crashes=%s\n' \
            "fuzz_$name" "$status" "${execs:-?}" "${secs:-?}" \
            "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)" \
            "$before" "$after" "$(corpus_bytes "$corpus")" "$new_files" "$n_found"
        for f in $found; do
            echo "    reproducer: $f"
            grep -E 'ERROR: |SUMMARY: |invariant failed|runtime error' "$log" | head -n 3 |
                sed 's/^/      /'
        done
    } >"$WORK/$name/summary"
}

pids=""
running=0
for name in "$@"; do
    if [ ! -x "build/fuzz/bin/fuzz_$name" ]; then
        echo "run-fuzz: build/fuzz/bin/fuzz_$name missing (make fuzz-build)" >&2
        exit 2
    fi
    echo "fuzzing fuzz_$name for ${SECONDS_PER}s"
    fuzz_one "$name" &
    pids="$pids $!"
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait
        running=0
    fi
done
wait

echo
crashed=0
for name in "$@"; do
    cat "$WORK/$name/summary"
    grep -q ' CRASH ' "$WORK/$name/summary" && crashed=$((crashed + 1))
done
echo "logs in $WORK/NAME/fuzz.log"
if [ "$crashed" -gt 0 ]; then
    echo "make fuzz: $crashed target(s) crashed; reproducers in $CRASHES/"
    exit 1
fi
echo "make fuzz: no crash"
