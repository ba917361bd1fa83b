#!/bin/sh
# The regression run of the fuzz targets (part of `make test`): each
# build/test/bin/fuzz/fuzz_NAME (ASan/UBSan, driver.c) runs every input of
# tests/fuzz/corpus/NAME/, seeds plus what `make fuzz` kept: first all of
# them in one process (SK_FUZZ_NOFORK=1, as libFuzzer runs a corpus; a crash,
# a sanitizer report or a leak at exit fails it), and only when that fails
# again each input in its own process, to name the inputs that fail (a
# child process per input costs about 0.5 s under ASan, minutes for the
# whole corpus). Fixed crashes belong in the corpus as regression tests;
# reproducers of bugs not yet fixed wait in crashes-open/ beside crashes/ (not
# run here). Prints each target's line and the total "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"
total_pass=0
total_fail=0
for corpus in tests/fuzz/corpus/*/; do
    name=$(basename "$corpus")
    bin=build/test/bin/fuzz/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "fuzz_$name: FAIL: $bin not built (make test-build)"
        total_fail=$((total_fail + 1))
        continue
    fi
    out=$(SK_FUZZ_NOFORK=1 "$bin" "$corpus" 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "fuzz_$name: failed in one process (exit $rc); each input alone, to name it:"
        printf '%s\n' "$out" | grep -E 'ERROR: |SUMMARY: ' | head -n 5 | sed 's/^/   | /'
        out=$("$bin" "$corpus" 2>&1)
        rc=1 # failed above, whatever the inputs alone do
    fi
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    p=${p:-0}
    f=${f:-0}
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    echo "fuzz_$name: ${line:-no summary (exit $rc)}"
    if [ "$f" -ne 0 ]; then
        printf '%s\n' "$out" | grep -E '^FAIL ' | sed 's/^/   /'
        printf '%s\n' "$out" | grep -E 'ERROR: |SUMMARY: |invariant failed|runtime error' \
            | head -n 20 | sed 's/^/   | /'
    fi
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
