#!/bin/bash
# `gradcam batch` end to end: the results.jsonl contract, maps equal to
# `gradcam explain`, --batch N equal to --batch 1, shards + --merge equal to
# one run, merge refusing duplicates / missing items / torn lines, --resume
# after a simulated kill, manifests (CSV, JSONL), --glob, refusals.
#
#   tests/cli/test_batch.sh build/gradcam
#
# Prints one line per check (ok/FAIL), then "N passed, N failed".
set -u
BIN=${1:?usage: test_batch.sh path/to/gradcam}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
MODEL="$ROOT/models/demo.onnx"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }
check() { # name, command...: ok when the command exits 0
  local name=$1; shift
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

"$PY" "$ROOT/tools/slurm/make_images.py" "$T/imgs" --count 24 --corrupt 1 >/dev/null ||
  { echo "FAIL setup: make_images.py"; echo "0 passed, 1 failed"; exit 1; }
B() { "$BIN" batch --model "$MODEL" --quiet "$@"; }

# ---- one run: the contract ----
check run_folder B --images "$T/imgs" --out "$T/one" --save-npy
check results_contract "$PY" - "$T/one" "$T/imgs" <<'PY'
import json, os, sys
import numpy as np
out, imgs = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
files = sorted(os.path.relpath(os.path.join(d, f), imgs) for d, _, fs in os.walk(imgs) for f in fs)
assert sorted(l["image"] for l in lines) == files, "every image exactly once"
assert [l["index"] for l in lines] == list(range(len(files)))
for l in lines:
    for k in ("image", "target", "score", "layer", "method", "map", "error"):
        assert k in l, (k, l)
    if "corrupt" in l["image"]:
        assert l["error"] and l["map"] is None and l["target"] is None, l
        continue
    assert l["error"] is None and l["method"] == "gradcam", l
    m = np.load(os.path.join(out, l["map"]))
    assert m.dtype == np.float32 and m.shape == (96, 96) and 0 <= m.min() and m.max() <= 1, m.shape
    assert isinstance(l["target"], int) and isinstance(l["score"], float) and len(l["top"]) == 5
PY
check maps_equal_explain "$PY" - "$T/one" "$T/imgs" "$BIN" "$MODEL" <<'PY'
import json, os, subprocess, sys
import numpy as np
out, imgs, bin_, model = sys.argv[1:]
lines = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if '"error": null' in l]
for l in lines[:: max(1, len(lines) // 5)]:
    npy = os.path.join(out, "ref.npy")
    subprocess.run([bin_, "explain", "--model", model, os.path.join(imgs, l["image"]), "--save-npy", npy,
                    "--quiet"], check=True)
    assert np.array_equal(np.load(npy), np.load(os.path.join(out, l["map"]))), l["image"]
PY

# ---- --batch 4 = --batch 1 ----
check run_batch4 B --images "$T/imgs" --out "$T/b4" --save-npy --batch 4
cat > "$T/same.py" <<'PY'
import json, os, sys
import numpy as np
a, b = sys.argv[1], sys.argv[2]
def load(p):
    return {l["image"]: l for l in map(json.loads, open(os.path.join(p, "results.jsonl")))}
la, lb = load(a), load(b)
assert la.keys() == lb.keys(), "same items"
for k in la:
    x, y = la[k], lb[k]
    for f in ("index", "target", "score", "layer", "method", "map", "error"):
        assert x[f] == y[f], (k, f, x[f], y[f])
    if x["map"]:
        assert np.array_equal(np.load(os.path.join(a, x["map"])), np.load(os.path.join(b, y["map"]))), k
PY
check batch4_equals_batch1 "$PY" "$T/same.py" "$T/one" "$T/b4"

# ---- --batch 8 on a model with a symbolic batch: one forward/backward per pass ----
"$PY" - "$MODEL" "$T/dyn.onnx" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1])
for v in list(m.graph.input) + list(m.graph.output):
    v.type.tensor_type.shape.dim[0].dim_param = "N"
onnx.save(m, sys.argv[2])
PY
check run_dyn_batch1 "$BIN" batch --model "$T/dyn.onnx" --quiet --images "$T/imgs" --out "$T/d1" --save-npy
check run_dyn_batch8 "$BIN" batch --model "$T/dyn.onnx" --quiet --images "$T/imgs" --out "$T/d8" --save-npy --batch 8
check dyn_batch8_one_pass_same_maps "$PY" - "$T/d1" "$T/d8" <<'PY'
import json, os, sys
import numpy as np
a, b = sys.argv[1], sys.argv[2]
la = {l["image"]: l for l in map(json.loads, open(os.path.join(a, "results.jsonl")))}
lb = [json.loads(l) for l in open(os.path.join(b, "results.jsonl"))]
for y in lb:
    x = la[y["image"]]
    assert (x["target"], x["error"], x["layer"]) == (y["target"], y["error"], y["layer"]), y["image"]
    if x["map"]:
        d = np.abs(np.load(os.path.join(a, x["map"])) - np.load(os.path.join(b, y["map"]))).max()
        assert d < 1e-5, (y["image"], d)
        assert abs(x["score"] - y["score"]) < 1e-4 * (1 + abs(x["score"]))
        assert [t["class"] for t in x["top"]] == [t["class"] for t in y["top"]]
# gcam_explain_batch splits a pass's time evenly: the first pass's good items report one value
first = [l["time_ms"]["explain"] for l in lb[:8] if l["error"] is None]
assert len(first) > 1 and len(set(first)) == 1, first
PY

# ---- shards + merge ----
for i in 0 1 2; do B --images "$T/imgs" --out "$T/sh" --save-npy --shard $i/3 || bad shard_$i; done
check merge B --merge "$T/sh"
check merged_equals_one_run "$PY" "$T/same.py" "$T/one" "$T/sh"
cp -r "$T/sh" "$T/dup" && rm "$T/dup/results.jsonl" && head -n 1 "$T/dup/results.1-of-3.jsonl" >> "$T/dup/results.1-of-3.jsonl"
if B --merge "$T/dup" 2>"$T/err" || [ -e "$T/dup/results.jsonl" ]; then bad merge_refuses_duplicate
else grep -q "appears twice" "$T/err" && ok merge_refuses_duplicate || bad merge_refuses_duplicate "$(cat "$T/err")"; fi
cp -r "$T/sh" "$T/miss" && rm "$T/miss/results.jsonl" "$T/miss/shard.2-of-3.json"
if B --merge "$T/miss" 2>"$T/err"; then bad merge_refuses_missing_shard
else grep -q "shard 2 of 3 never started" "$T/err" && ok merge_refuses_missing_shard || bad merge_refuses_missing_shard "$(cat "$T/err")"; fi

check shard_0_of_1 B --images "$T/imgs" --out "$T/s1" --save-npy --shard 0/1
[ -f "$T/s1/results.0-of-1.jsonl" ] && [ ! -e "$T/s1/results.jsonl" ] && ok shard_0_of_1_name || bad shard_0_of_1_name "$(ls "$T/s1")"
check merge_0_of_1 B --merge "$T/s1"
check merge_0_of_1_equals_one_run "$PY" "$T/same.py" "$T/one" "$T/s1"

# ---- a killed shard: torn last line, a map whose line was never written ----
cp -r "$T/sh" "$T/kill" && rm "$T/kill/results.jsonl"
R="$T/kill/results.0-of-3.jsonl"
n0=$(wc -l < "$R")
"$PY" - "$R" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines(True)
open(p, "w").write("".join(lines[:-2]) + lines[-2][: len(lines[-2]) // 2])  # last line gone, one torn
PY
if B --merge "$T/kill" 2>"$T/err"; then bad merge_refuses_torn_shard; else ok merge_refuses_torn_shard; fi
check resume B --images "$T/imgs" --out "$T/kill" --save-npy --shard 0/3 --resume
[ "$(wc -l < "$R")" -eq "$n0" ] && ok resume_line_count || bad resume_line_count "$(wc -l < "$R") != $n0"
check merge_after_resume B --merge "$T/kill"
check resumed_equals_one_run "$PY" "$T/same.py" "$T/one" "$T/kill"

# ---- refusals ----
cp "$T/one/results.jsonl" "$T/before.jsonl"
if B --images "$T/imgs" --out "$T/one" --save-npy 2>"$T/err"; then bad refuses_existing_results
else cmp -s "$T/one/results.jsonl" "$T/before.jsonl" && grep -q -- "--resume" "$T/err" && ok refuses_existing_results || bad refuses_existing_results; fi
"$BIN" batch --model "$MODEL" --images "$T/imgs" --out "$T/x" --shard 3/3 2>/dev/null; [ $? -eq 2 ] && ok bad_shard_exit_2 || bad bad_shard_exit_2
"$BIN" batch --model "$MODEL" --out "$T/x" 2>/dev/null; [ $? -eq 2 ] && ok no_input_exit_2 || bad no_input_exit_2

# ---- manifests and glob ----
check manifest_csv B --manifest "$ROOT/models/samples/boxes.csv" --out "$T/csv" --save-npy
check manifest_csv_targets "$PY" - "$T/csv" "$ROOT/models/samples/boxes.csv" "$ROOT/models/demo.labels.txt" <<'PY'
import csv, json, os, sys
out, man, labels = sys.argv[1:]
names = open(labels).read().split("\n")
rows = list(csv.DictReader(open(man)))
lines = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
assert len(lines) == len(rows)
for r, l in zip(rows, lines):
    assert l["image"] == r["image"] and l["error"] is None, l
    assert l["target"] == names.index(r["label"]) and l["label"] == r["label"], (l["target"], r["label"])
    assert l["box"] == [float(r[k]) for k in ("x0", "y0", "x1", "y1")]
PY
cp "$ROOT/models/samples/"scene_0[12].png "$T/" && check csv_maps_distinct "$PY" - "$T/csv" <<'PY'
import json, os, sys
l = [json.loads(x) for x in open(os.path.join(sys.argv[1], "results.jsonl"))]
maps = [x["map"] for x in l]
assert len(set(maps)) == len(maps), "one map per row, even for an image listed twice"
PY
S="$ROOT/models/samples"
"$BIN" eval --model "$MODEL" --images "$S" --boxes "$S/boxes.csv" --json "$T/ev_a.json" --quiet >/dev/null 2>&1
check eval_results_run "$BIN" eval --model "$MODEL" --images "$S" --boxes "$S/boxes.csv" --results "$T/csv/results.jsonl" --json "$T/ev_b.json" --quiet
check eval_results_same_metrics "$PY" - "$T/ev_a.json" "$T/ev_b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["methods"] == b["methods"] and a["items"] == b["items"], "eval from results.jsonl differs"
PY
if "$BIN" eval --model "$MODEL" --images "$S" --boxes "$S/boxes.csv" --results "$T/one/results.jsonl" --quiet 2>"$T/err" >/dev/null; then
  bad eval_results_missing_map
else grep -q "no map for image" "$T/err" && ok eval_results_missing_map || bad eval_results_missing_map "$(cat "$T/err")"; fi
printf '{"image": "scene_01.png", "target": 3}\n{"image": "scene_02.png", "target": "Sneaker", "box": [1, 2, 30, 40]}\n{"image": "missing.png"}\n' > "$T/m.jsonl"
check manifest_jsonl B --manifest "$T/m.jsonl" --out "$T/jl"
check manifest_jsonl_targets "$PY" - "$T/jl" <<'PY'
import json, os, sys
l = [json.loads(x) for x in open(os.path.join(sys.argv[1], "results.jsonl"))]
assert l[0]["target"] == 3 and l[1]["label"] == "Sneaker" and l[1]["box"] == [1, 2, 30, 40], l[:2]
assert l[2]["error"] and "missing.png" in l[2]["error"], l[2]
assert l[0]["map"] is None  # no --save-npy
PY
check glob B --glob "$T/imgs/part1/*/*.png" --out "$T/gl" --overlay
n=$(ls "$T"/imgs/part1/*/*.png | wc -l); [ "$(wc -l < "$T/gl/results.jsonl")" -eq "$n" ] && ok glob_count || bad glob_count
[ "$(find "$T/gl/overlays" -name '*.png.png' | wc -l)" -eq "$n" ] && ok glob_overlays || bad glob_overlays "$(find "$T/gl" | head -3)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
