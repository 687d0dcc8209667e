#!/bin/bash
# `gradcam batch` across a Slurm job array, on a one-node cluster started here
# (tools/slurm/local_cluster.sh: munged + slurmctld + slurmd on localhost):
#   1. a single-process run over COUNT generated images (+2 corrupt): the reference;
#   2. sbatch --array=0-3 tools/slurm/gradcam_array.sbatch (4 shards, --resume);
#   3. task 1 is cancelled mid-run (scancel: SIGTERM, as a preemption);
#   4. task 1 resubmitted alone (GRADCAM_SHARDS=4), resuming;
#   5. gradcam batch --merge; every image exactly once, each line and map equal
#      to the single-process run's (maps bit for bit).
# Skips (printed, with the reason) only when the cluster cannot start here.
#
#   tests/slurm/test_slurm.sh build/gradcam [COUNT]
set -u
BIN=${1:?usage: test_slurm.sh path/to/gradcam [COUNT]}
COUNT=${2:-300}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
MODEL="$ROOT/models/demo.onnx"
OPTS=(--save-npy --aug-smooth)  # aug-smooth: six passes per image, so the kill lands mid-run
T=$(mktemp -d /tmp/gradcam-slurm.XXXXXX)
chmod 755 "$T"
pass=0; fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }
finish() {
  bash "$ROOT/tools/slurm/local_cluster.sh" stop "$T/cluster" 2>/dev/null
  rm -rf "$T"
}
trap finish EXIT

if ! line=$(bash "$ROOT/tools/slurm/local_cluster.sh" start "$T/cluster" 2>"$T/why"); then
  echo "skip slurm: $(tail -n 1 "$T/why")"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
eval "$line"
ok cluster_started

wait_job() { # job id, seconds
  for _ in $(seq $(($2 * 5))); do
    [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  return 1
}

"$PY" "$ROOT/tools/slurm/make_images.py" "$T/imgs" --count "$COUNT" --corrupt 2 >/dev/null || { bad make_images; echo "$pass passed, $fail failed"; exit 1; }
TOTAL=$((COUNT + 2))
t0=$(date +%s.%N)
"$BIN" batch --model "$MODEL" --images "$T/imgs" --out "$T/ref" --threads 2 --quiet "${OPTS[@]}" && ok single_process_run || bad single_process_run
t1=$(date +%s.%N)

mkdir -p "$T/logs"
JOB=$(sbatch --parsable --array=0-3 --output="$T/logs/%A_%a.out" "$ROOT/tools/slurm/gradcam_array.sbatch" \
  "$BIN" "$MODEL" "$T/imgs" "$T/out" --quiet "${OPTS[@]}") && ok "sbatch_array (job $JOB)" || bad sbatch_array
R1="$T/out/results.1-of-4.jsonl"
killed=0
for _ in $(seq 1500); do  # up to 5 minutes for task 1 to be under way
  if [ -f "$R1" ] && [ "$(wc -l < "$R1")" -ge 3 ]; then scancel "${JOB}_1"; killed=1; break; fi
  sleep 0.2
done
wait_job "$JOB" 600 && ok array_finished || bad array_finished "$(squeue)"
n1=$(wc -l < "$R1" 2>/dev/null || echo 0)
mine1=$(( (TOTAL - 1) / 4 + ((TOTAL - 1) % 4 >= 1 ? 1 : 0) ))
if [ "$killed" -eq 1 ] && [ "$n1" -lt "$mine1" ]; then ok "task_1_killed_mid_run ($n1 of $mine1 items done)"
else bad task_1_killed_mid_run "killed=$killed lines=$n1 of $mine1: the task ended before the kill"; fi
if "$BIN" batch --merge "$T/out" --quiet 2>/dev/null; then bad merge_refuses_incomplete; else ok merge_refuses_incomplete; fi

JOB2=$(sbatch --parsable --array=1 --export=ALL,GRADCAM_SHARDS=4 --output="$T/logs/%A_%a.out" \
  "$ROOT/tools/slurm/gradcam_array.sbatch" "$BIN" "$MODEL" "$T/imgs" "$T/out" "${OPTS[@]}") && ok "resubmit_task_1 (job $JOB2)" || bad resubmit_task_1
wait_job "$JOB2" 600 && ok resubmitted_finished || bad resubmitted_finished
grep -h "resuming" "$T"/logs/"${JOB2}"_1.out 2>/dev/null | head -n 1 | sed 's/^/     /'
t2=$(date +%s.%N)
"$BIN" batch --merge "$T/out" && ok merge || { bad merge; cat "$T"/logs/* | tail -n 20; }

"$PY" - "$T/ref" "$T/out" "$TOTAL" <<'PY' && ok every_image_once_same_maps || bad every_image_once_same_maps
import collections, json, os, sys
import numpy as np
ref, out, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = [json.loads(l) for l in open(os.path.join(ref, "results.jsonl"))]
b = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
dups = [k for k, n in collections.Counter(l["image"] for l in b).items() if n > 1]
assert not dups, "duplicates: %s" % dups[:5]
assert len(b) == total == len(a), (len(b), total, len(a))
assert [l["image"] for l in a] == [l["image"] for l in b]
errors = 0
for x, y in zip(a, b):
    for k in ("index", "target", "score", "layer", "method", "map", "error"):
        assert x[k] == y[k], (x["image"], k, x[k], y[k])
    if x["map"]:
        assert np.array_equal(np.load(os.path.join(ref, x["map"])), np.load(os.path.join(out, y["map"]))), x["image"]
    errors += x["error"] is not None
assert errors == 2, errors
print("     items %d, shards 4, restarts 1, duplicates 0, corrupt-image error lines %d" % (len(b), errors))
PY
"$PY" -c "import sys; t0, t1, t2 = map(float, sys.argv[1:]); print('     time: single process (2 threads) %.1f s; array of 4 x 1 CPU incl. kill + resubmit %.1f s' % (t1 - t0, t2 - t1))" "$t0" "$t1" "$t2"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
