#!/bin/sh
# `make bench`'s replay figure: a synthetic recording of REPLAY_EVENTS input
# records (default 1,000,000; bench/gen_recording.c) decided by `shiftkey
# replay` with rules/examples and an edited copy side by side, on one core.
# Writes build/bench/replay.json; the target is under a minute for 1M.
set -u
cd "$(dirname "$0")/.."
n=${REPLAY_EVENTS:-1000000}
out=${BENCH_OUT:-build/bench}
mkdir -p "$out"
rec="$out/recording.bin"
build/bench/gen-recording "$n" 20000 "$rec" || exit 1
rm -rf "$out/rules-new"
cp -r rules/examples "$out/rules-new"
sed -i 's/revoke_after: 30m/revoke_after: 15m/' "$out/rules-new/enrollments.yaml"
# CPU time (user + system) is the figure: the machine may be shared, and
# one process on one core (taskset) cannot use more than its core.
python3 - "$n" "$out" "$rec" <<'PY'
import json, resource, subprocess, sys, time
n, out, rec = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.time()
with open(f"{out}/replay.txt", "w") as f:
    rc = subprocess.call(["taskset", "-c", "0", "build/bin/shiftkey", "replay", "--current",
                          "rules/examples", "--rules", f"{out}/rules-new", "--input", rec,
                          "--limit", "3"], stdout=f)
wall = time.time() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
print(open(f"{out}/replay.txt").read().split("\naccess")[0])
if rc != 1:
    sys.exit(f"replay: expected differences (exit 1), got exit {rc}")
json.dump({"records": n, "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
           "records_per_cpu_s": round(n / cpu), "target_seconds_per_1m": 60},
          open(f"{out}/replay.json", "w"), indent=2)
print(f"replay: {n} records in {cpu:.1f} s of CPU on one core ({n / cpu:.0f} records/s; "
      f"{wall:.1f} s wall); target 1,000,000 in under 60 s")
PY
rc=$?
rm -f "$rec"
exit $rc
