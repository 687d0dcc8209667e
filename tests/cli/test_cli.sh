#!/bin/bash
# End-to-end checks of the gradcam command: exit codes, one-line error
# messages ("gradcam: error: ..."), and a few outputs checked against numpy.
#
#   tests/cli/test_cli.sh build/gradcam
#
# Tiny models are made at test time with Debian's python3-onnx into a temp
# folder.  Prints one line per check (ok/FAIL), then "N passed, N failed";
# exits 1 on any failure.
set -u
BIN=${1:?usage: test_cli.sh path/to/gradcam}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
PY=/usr/bin/python3
T=$(mktemp -d)
[ -n "${KEEP_TMP:-}" ] && echo "temp folder kept: $T" || trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }

if ! "$PY" -c "import onnx, numpy" 2>/dev/null; then
  echo "FAIL setup: $PY lacks onnx or numpy (apt install python3-onnx)"
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$BIN" ]; then
  echo "FAIL setup: $BIN is not an executable"
  echo "0 passed, 1 failed"
  exit 1
fi

# ---- fixtures -------------------------------------------------------------------
"$PY" - "$T" <<'PYEOF' || { echo "FAIL setup: fixture generation"; echo "0 passed, 1 failed"; exit 1; }
import os, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

d = sys.argv[1]
rng = np.random.default_rng(7)
vi = h.make_tensor_value_info

def save(name, nodes, inputs, outputs, inits=(), opset=13):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="test_cli")
    m.ir_version = 8
    onnx.save(m, os.path.join(d, name + ".onnx"))

# Gemm: logits = x @ W.T + b
W = rng.standard_normal((6, 4)).astype(np.float32)
b = rng.standard_normal(6).astype(np.float32)
save("gemm", [h.make_node("Gemm", ["x", "W", "b"], ["logits"], name="fc", transB=1)],
     [vi("x", TP.FLOAT, [1, 4])], [vi("logits", TP.FLOAT, [1, 6])],
     [nh.from_array(W, "W"), nh.from_array(b, "b")])
x = rng.standard_normal((1, 4)).astype(np.float32)
np.save(os.path.join(d, "x.npy"), x)
np.save(os.path.join(d, "ref_logits.npy"), x @ W.T + b)
np.save(os.path.join(d, "x_wrong_shape.npy"), rng.standard_normal((1, 5)).astype(np.float32))
np.save(os.path.join(d, "x_f64.npy"), x.astype(np.float64))
np.save(os.path.join(d, "x_fortran.npy"), np.asfortranarray(rng.standard_normal((2, 3)).astype(np.float32)))
with open(os.path.join(d, "top2.txt"), "w") as f:
    order = np.argsort(-(x @ W.T + b)[0])
    f.write("%d %d\n" % (order[0], order[1]))

# a small CNN with 5 classes: two conv layers, the second is the auto layer
def w(shape):
    return (rng.standard_normal(shape) * 0.5).astype(np.float32)
save("cnn", [
    h.make_node("Conv", ["img", "c1w", "c1b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    h.make_node("Conv", ["r1", "c2w", "c2b"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
    h.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    h.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
    h.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
    h.make_node("Gemm", ["flat", "fw", "fb"], ["logits"], name="fc", transB=1),
], [vi("img", TP.FLOAT, [1, 3, 8, 8])], [vi("logits", TP.FLOAT, [1, 5])],
   [nh.from_array(w((4, 3, 3, 3)), "c1w"), nh.from_array(w(4), "c1b"),
    nh.from_array(w((6, 4, 3, 3)), "c2w"), nh.from_array(w(6), "c2b"),
    nh.from_array(w((5, 6)), "fw"), nh.from_array(w(5), "fb")])
np.save(os.path.join(d, "img.npy"), rng.random((1, 3, 8, 8)).astype(np.float32))

# two unsupported nodes
save("unsupported", [
    h.make_node("FooOp", ["x"], ["f"], name="my_foo"),
    h.make_node("Attention", ["f"], ["y"], name="my_attn", domain="com.microsoft"),
], [vi("x", TP.FLOAT, [1, 1, 2])], [vi("y", TP.FLOAT, None)], [])

# a valid model whose padded activation would take 0.6x of this machine's memory
side = int((0.6 * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 4) ** 0.5)
p = side // 2
save("hugepad", [
    h.make_node("Pad", ["x", "pads"], ["xp"], name="pad"),
    h.make_node("GlobalAveragePool", ["xp"], ["y"], name="gap"),
], [vi("x", TP.FLOAT, [1, 1, 4, 4])], [vi("y", TP.FLOAT, None)],
   [nh.from_array(np.array([0, 0, p, p, 0, 0, p, p], dtype=np.int64), "pads")])
np.save(os.path.join(d, "x4.npy"), rng.random((1, 1, 4, 4)).astype(np.float32))

with open(os.path.join(d, "garbage.onnx"), "wb") as f:
    f.write(b"\x0a\xff\xff\xff\xff\x0f this is not a model")
# typed outputs: a bool mask, its int32 cast, and a uint8 input added in its own type
save("typed", [
    h.make_node("Greater", ["x", "zero"], ["mask"]),
    h.make_node("Cast", ["mask"], ["mask_i32"], to=TP.INT32),
    h.make_node("Add", ["u", "u"], ["u2"]),
], [vi("x", TP.FLOAT, [1, 4]), vi("u", TP.UINT8, [3])],
   [vi("mask", TP.BOOL, [1, 4]), vi("mask_i32", TP.INT32, [1, 4]), vi("u2", TP.UINT8, [3])],
   [nh.from_array(np.zeros(1, np.float32), "zero")])
np.save(os.path.join(d, "u8.npy"), np.array([1, 100, 200], np.uint8))
with open(os.path.join(d, "notanimage.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 7)
PYEOF

# ---- helpers --------------------------------------------------------------------

# run NAME EXPECTED_RC [args...]: runs the CLI, keeps stdout/stderr in $OUT/$ERR
run() {
  local name=$1 want=$2
  shift 2
  OUT="$T/$name.out"
  ERR="$T/$name.err"
  (cd "$T" && "$BIN" "$@") >"$OUT" 2>"$ERR"
  RC=$?
  [ "$RC" -eq "$want" ]
}

# error NAME EXPECTED_RC PATTERN... [-- args]: exit code, ONE stderr line
# starting "gradcam: error: ", containing every (fixed-string) PATTERN
error() {
  local name=$1 want=$2
  shift 2
  local pats=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do pats+=("$1"); shift; done
  shift
  if ! run "$name" "$want" "$@"; then
    bad "$name" "exit $RC, want $want; stderr: $(head -c 300 "$T/$name.err")"
    return
  fi
  local lines
  lines=$(wc -l <"$ERR")
  if [ "$want" -eq 1 ] && [ "$lines" -ne 1 ]; then
    bad "$name" "stderr has $lines lines: $(head -c 300 "$ERR")"
    return
  fi
  if ! head -n 1 "$ERR" | grep -q '^gradcam: error: '; then
    bad "$name" "stderr does not start with 'gradcam: error: ': $(head -c 300 "$ERR")"
    return
  fi
  for p in "${pats[@]}"; do
    if ! grep -qF -- "$p" "$ERR"; then
      bad "$name" "stderr lacks '$p': $(head -c 300 "$ERR")"
      return
    fi
  done
  ok "$name"
}

# ---- model loading ------------------------------------------------------------------
error garbage_model 1 "garbage.onnx" "not a valid ONNX protobuf" -- layers --model garbage.onnx
error missing_model 1 "missing.onnx" "cannot open" -- classify --model missing.onnx --input-tensor x.npy
error unsupported_ops 1 "2 unsupported nodes" "'my_foo' (FooOp, opset 13)" "'my_attn' (com.microsoft.Attention, opset" \
  -- run --model unsupported.onnx --input x=x.npy

# ---- gradcam run with bad tensors -------------------------------------------------
error run_wrong_shape 1 "input 'x'" "(1,5)" "(1,4)" -- run --model gemm.onnx --input x=x_wrong_shape.npy
error run_float64 1 "x_f64.npy" "'<f8'" "float64" -- run --model gemm.onnx --input x=x_f64.npy
error run_fortran 1 "x_fortran.npy" "Fortran" -- run --model gemm.onnx --input x=x_fortran.npy
error run_missing_npy 1 "nothere.npy" -- run --model gemm.onnx --input x=nothere.npy
error run_unknown_input 1 "'pixels'" -- run --model gemm.onnx --input pixels=x.npy
error run_unknown_output 1 "'nope'" -- run --model gemm.onnx --input x=x.npy --output nope=y.npy
error run_bad_io_syntax 2 "NAME=FILE.npy" -- run --model gemm.onnx --input x.npy
error run_no_model 2 "--model is required" -- run --input x=x.npy
error run_over_memory_limit 1 "MB of activation memory" "more than the limit" -- run --model hugepad.onnx --input x=x4.npy
error run_max_memory_flag 1 "limit of 5.0 MB" "'xp'" -- run --model hugepad.onnx --input x=x4.npy --max-memory 5
error max_memory_bad_value 2 "--max-memory takes a size in MB" -- run --max-memory 0 --model gemm.onnx --input x=x.npy
if run run_max_memory_ok 0 run --max-memory 64 --model gemm.onnx --input x=x.npy --output logits=mm_logits.npy &&
   "$PY" -c "import numpy as n,sys; sys.exit(0 if n.allclose(n.load('$T/mm_logits.npy'), n.load('$T/ref_logits.npy'), atol=1e-5) else 1)"; then
  ok run_max_memory_ok
else
  bad run_max_memory_ok "exit $RC: $(head -c 300 "$ERR")"
fi
error unknown_command 2 "unknown command 'frobnicate'" -- frobnicate

if run run_ok 0 run --model gemm.onnx --input x=x.npy --output logits=run_logits.npy &&
   "$PY" -c "
import numpy as np, sys
a = np.load('$T/run_logits.npy'); r = np.load('$T/ref_logits.npy')
sys.exit(0 if a.shape == r.shape and a.dtype == np.float32 and np.allclose(a, r, atol=1e-5) else 1)"; then
  ok run_output_matches_numpy
else
  bad run_output_matches_numpy "exit $RC: $(head -c 300 "$T/run_ok.err")"
fi

if run run_typed 0 run --model typed.onnx --input x=x.npy --input u=u8.npy --output mask=mask.npy \
     --output mask_i32=mask_i32.npy --output u2=u2.npy &&
   "$PY" -c "
import numpy as np, sys
x = np.load('$T/x.npy'); m = np.load('$T/mask.npy'); i = np.load('$T/mask_i32.npy'); u = np.load('$T/u2.npy')
ok = m.dtype == np.bool_ and i.dtype == np.int32 and u.dtype == np.uint8
ok = ok and (m == (x > 0)).all() and (i == (x > 0)).all() and (u == np.array([2, 200, 144], np.uint8)).all()
sys.exit(0 if ok else 1)"; then
  ok run_outputs_keep_their_dtype
else
  bad run_outputs_keep_their_dtype "exit $RC: $(head -c 300 "$T/run_typed.err")"
fi

# ---- layers -----------------------------------------------------------------------------
if run layers 0 layers --model cnn.onnx; then
  n_auto=$(grep -c "<- auto" "$OUT")
  n_star=$(grep -c '^\*' "$OUT")
  if [ "$n_auto" -eq 1 ] && [ "$n_star" -eq 1 ] && grep '<- auto' "$OUT" | grep -q "relu2"; then
    ok layers_one_auto
  else
    bad layers_one_auto "$n_auto auto lines, $n_star starred: $(cat "$OUT")"
  fi
else
  bad layers_one_auto "exit $RC: $(head -c 300 "$ERR")"
fi
if run layers_json 0 layers --model cnn.onnx --json &&
   "$PY" -c "
import json, sys
L = json.load(open('$T/layers_json.out'))
sys.exit(0 if sum(l['auto'] for l in L) == 1 and len(L) == 5 and L[3]['tensor'] == 'r2' and L[3]['auto'] else 1)"; then
  ok layers_json_one_auto
else
  bad layers_json_one_auto "exit $RC: $(head -c 300 "$OUT") $(head -c 300 "$ERR")"
fi

# ---- classify ------------------------------------------------------------------------------
if run classify 0 classify --model gemm.onnx --input-tensor x.npy --top 2 --save-npy cls_logits.npy; then
  read -r t1 t2 <"$T/top2.txt"
  rows=$(awk 'NR > 1 && $1 ~ /^[0-9]+$/' "$OUT" | wc -l)
  got1=$(awk 'NR > 1 && $1 == 1 {print $2}' "$OUT")
  got2=$(awk 'NR > 1 && $1 == 2 {print $2}' "$OUT")
  if [ "$rows" -eq 2 ] && [ "$got1" = "$t1" ] && [ "$got2" = "$t2" ]; then
    ok classify_top_k
  else
    bad classify_top_k "rows $rows, top $got1 $got2, want $t1 $t2: $(cat "$OUT")"
  fi
  if "$PY" -c "
import numpy as np, sys
a = np.load('$T/cls_logits.npy'); r = np.load('$T/ref_logits.npy')
sys.exit(0 if a.shape == r.shape and a.dtype == np.float32 and np.allclose(a, r, atol=1e-5) else 1)"; then
    ok classify_save_npy_matches_numpy
  else
    bad classify_save_npy_matches_numpy "saved logits differ from x @ W.T + b"
  fi
else
  bad classify_top_k "exit $RC: $(head -c 300 "$ERR")"
  bad classify_save_npy_matches_numpy "classify failed"
fi
error classify_float64 1 "'<f8'" "float64" -- classify --model gemm.onnx --input-tensor x_f64.npy
error classify_bad_top 2 "--top" -- classify --model gemm.onnx --input-tensor x.npy --top 0

# ---- explain ---------------------------------------------------------------------------------
error explain_missing_image 1 "nothere.png" -- explain --model cnn.onnx --image nothere.png
error explain_unreadable_image 1 "notanimage.png" -- explain --model cnn.onnx --image notanimage.png
error explain_missing_layer 1 "'no_such_layer'" -- explain --model cnn.onnx --input-tensor img.npy --layer no_such_layer
error explain_target_out_of_range 1 "target 5" "out of range" -- explain --model cnn.onnx --input-tensor img.npy --target 5
error explain_negative_target 1 "--target -3" -- explain --model cnn.onnx --input-tensor img.npy --target -3
error explain_missing_target_output 1 "'no_such_tensor'" -- explain --model cnn.onnx --input-tensor img.npy --target-output no_such_tensor
error explain_unknown_method 2 "unknown --method 'lime'" -- explain --model cnn.onnx --input-tensor img.npy --method lime
if run explain_ok 0 explain --model cnn.onnx --input-tensor img.npy --target 4 --save-npy map.npy --json &&
   "$PY" -c "
import json, numpy as np, sys
j = json.load(open('$T/explain_ok.out')); m = np.load('$T/map.npy')
sys.exit(0 if j['target'] == 4 and j['layers'] == ['r2'] and m.shape == (8, 8) and m.min() >= 0 and m.max() <= 1 + 1e-6 else 1)"; then
  ok explain_map_saved
else
  bad explain_map_saved "exit $RC: $(head -c 300 "$T/explain_ok.out") $(head -c 300 "$T/explain_ok.err")"
fi

# explain --json's "prob" and classify's column are one library call (gcam_score
# with the model's gradcam.output kind): softmax for cnn.onnx, sigmoid for a copy
# that says so in its metadata (issue 11: explain printed softmax for both)
"$PY" -c "
import onnx
m = onnx.load('$T/cnn.onnx')
p = m.metadata_props.add(); p.key = 'gradcam.output'; p.value = 'sigmoid'
onnx.save(m, '$T/cnn_sigmoid.onnx')"
for kind in softmax sigmoid; do
  model=cnn.onnx; [ "$kind" = sigmoid ] && model=cnn_sigmoid.onnx
  if run "explain_prob_$kind" 0 explain --model "$model" --input-tensor img.npy --top 5 --json &&
     run "classify_prob_$kind" 0 classify --model "$model" --input-tensor img.npy --top 5 --save-npy "logits_$kind.npy" &&
     "$PY" -c "
import json, numpy as np, sys
j = json.load(open('$T/explain_prob_$kind.out'))
z = np.load('$T/logits_$kind.npy').astype(np.float64)[0]
want = np.exp(z - z.max()) / np.exp(z - z.max()).sum() if '$kind' == 'softmax' else 1 / (1 + np.exp(-z))
rows = [l.split() for l in open('$T/classify_prob_$kind.out').read().splitlines()[2:]]
ok = j['prob_kind'] == '$kind' and len(j['top']) == 5 and len(rows) == 5
for t, r in zip(j['top'], rows):
    c = t['class']
    ok = ok and abs(t['prob'] - want[c]) < 1e-5 and int(r[1]) == c and abs(float(r[3]) - want[c]) < 1e-4
ok = ok and [t['class'] for t in j['top']] == list(np.argsort(-z, kind='stable'))
sys.exit(0 if ok else 1)"; then
    ok "explain_classify_prob_$kind"
  else bad "explain_classify_prob_$kind" "exit $RC: $(head -c 300 "$T/explain_prob_$kind.out") $(head -c 300 "$T/classify_prob_$kind.out")"; fi
done

# explain's map options have one parser (cli/explain_opts.c), shared by batch,
# sanity and report: the same value is refused with the same line everywhere
for cmd in "explain --input-tensor img.npy" "batch --images . --out shared_out" "sanity --input-tensor img.npy" \
           "report --image img.png --out r.html"; do
  name=shared_opts_${cmd%% *}
  error "${name}_steps" 2 "bad --ig-steps '0'" -- $cmd --model cnn.onnx --ig-steps 0
  error "${name}_seed" 2 "bad --seed '-4' (0 to 2^64-1)" -- $cmd --model cnn.onnx --seed -4
  error "${name}_normalize" 2 "bad --normalize 'global:0' (global:MAX, MAX > 0)" -- $cmd --model cnn.onnx --normalize global:0
done

# ---- settings and --profile --------------------------------------------------------------------
GCAM_CONV=bogus error env_setting_rejected 1 "GCAM_CONV=bogus" "ref or onednn" -- layers --model cnn.onnx
if run explain_profile 0 explain --model cnn.onnx --input-tensor img.npy --target 4 --quiet --profile &&
   grep -q "^profile: " "$ERR" && grep -q "Conv" "$ERR" && grep -q "slowest nodes" "$ERR"; then
  ok explain_profile
else bad explain_profile "exit $RC: $(head -c 400 "$ERR")"; fi
# --profile-nodes N lists exactly N of the slowest nodes (the default is 10)
if run profile_nodes 0 explain --model cnn.onnx --input-tensor img.npy --target 4 --quiet --profile-nodes 2 &&
   [ "$(sed -n '/slowest nodes/,$p' "$ERR" | grep -c ' fwd ')" = 2 ] &&
   run profile_nodes_default 0 explain --model cnn.onnx --input-tensor img.npy --target 4 --quiet --profile &&
   [ "$(sed -n '/slowest nodes/,$p' "$ERR" | grep -c ' fwd ')" -gt 2 ]; then
  ok profile_nodes
else bad profile_nodes "exit $RC: $(head -c 400 "$ERR")"; fi
error profile_nodes_zero 2 "--profile-nodes takes a count of nodes" -- classify --model cnn.onnx --profile-nodes 0

# ---- real exporters' inputs: symbolic dims, channels-last, extra inputs, int outputs -----------
"$PY" - "$T" <<'PYEOF2' || bad exporter_fixtures "fixture generation failed"
import os, struct, sys, zlib
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

d = sys.argv[1]
rng = np.random.default_rng(11)
vi = h.make_tensor_value_info

def save(name, nodes, inputs, outputs, inits=()):
    m = h.make_model(h.make_graph(nodes, name, inputs, outputs, list(inits)),
                     opset_imports=[h.make_opsetid("", 13)], producer_name="test_cli")
    m.ir_version = 8
    onnx.save(m, os.path.join(d, name + ".onnx"))

def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)

# symbolic N, H, W: Conv 3x3 pad 1 -> Relu -> MaxPool 2
save("sym", [h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["c"], ["r"]),
             h.make_node("MaxPool", ["r"], ["out"], kernel_shape=[2, 2], strides=[2, 2])],
     [vi("x", TP.FLOAT, ["N", 3, "H", "W"])], [vi("out", TP.FLOAT, None)], [nh.from_array(f32(2, 3, 3, 3), "w")])
# an int64 graph output
save("shape", [h.make_node("Shape", ["x"], ["s"]), h.make_node("Relu", ["x"], ["y"])],
     [vi("x", TP.FLOAT, ["N", 3, "H", "W"])], [vi("s", TP.INT64, None), vi("y", TP.FLOAT, None)])
np.save(os.path.join(d, "x386.npy"), f32(1, 3, 8, 6))
# channels-last classifier with two outputs (logits y, probabilities p)
save("nhwc", [h.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
              h.make_node("Conv", ["xt", "w"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["c"], ["feat"]),
              h.make_node("GlobalAveragePool", ["feat"], ["g"]), h.make_node("Flatten", ["g"], ["f"]),
              h.make_node("Gemm", ["f", "fc"], ["y"], transB=1), h.make_node("Softmax", ["y"], ["p"])],
     [vi("x", TP.FLOAT, [1, 8, 6, 3])], [vi("y", TP.FLOAT, None), vi("p", TP.FLOAT, None)],
     [nh.from_array(f32(4, 3, 3, 3), "w"), nh.from_array(f32(5, 4), "fc")])
np.save(os.path.join(d, "xl.npy"), f32(1, 8, 6, 3))
# RGBA NHWC identity: what the image path feeds
save("rgba", [h.make_node("Identity", ["x"], ["y"])], [vi("x", TP.FLOAT, [1, 6, 5, 4])], [vi("y", TP.FLOAT, None)])
# a second, non-image input: y = Gemm(GAP(Relu(Conv(x)))) * s
fc2 = f32(3, 2)
w2 = f32(2, 3, 3, 3)
save("two", [h.make_node("Conv", ["x", "w"], ["c"]), h.make_node("Relu", ["c"], ["feat"]),
             h.make_node("GlobalAveragePool", ["feat"], ["g"]), h.make_node("Flatten", ["g"], ["f"]),
             h.make_node("Gemm", ["f", "fc"], ["z"], transB=1), h.make_node("Mul", ["z", "s"], ["y"])],
     [vi("x", TP.FLOAT, [1, 3, 5, 5]), vi("s", TP.FLOAT, [1])], [vi("y", TP.FLOAT, None)],
     [nh.from_array(w2, "w"), nh.from_array(fc2, "fc")])
x5 = f32(1, 3, 5, 5)
np.save(os.path.join(d, "x5.npy"), x5)
np.save(os.path.join(d, "scale.npy"), np.array([2.5], np.float32))
np.save(os.path.join(d, "s1.npy"), np.array([1.0], np.float32))
# a 5x6 RGB PNG written by hand (no decoder differences: filter 0, no alpha)
px = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
np.save(os.path.join(d, "photo_px.npy"), px)
# bool, int32, int8 and uint8 outputs (Greater, Cast)
save("dtypes", [h.make_node("Greater", ["x", "z"], ["gt"]), h.make_node("Cast", ["x"], ["i32"], to=TP.INT32),
                h.make_node("Cast", ["x"], ["i8"], to=TP.INT8), h.make_node("Cast", ["a"], ["u8"], to=TP.UINT8)],
     [vi("x", TP.FLOAT, [2, 3])], [vi("gt", TP.BOOL, None), vi("i32", TP.INT32, None), vi("i8", TP.INT8, None),
                                    vi("u8", TP.UINT8, None)],
     [nh.from_array(np.zeros(1, np.float32), "z"), nh.from_array(np.array([0, 7, 255], np.float32), "a")])
np.save(os.path.join(d, "xd.npy"), np.array([[-1.5, 0, 2.7], [3, -4, 100]], np.float32))
def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
raw = b"".join(b"\0" + px[r].tobytes() for r in range(6))
open(os.path.join(d, "photo.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 6, 8, 2, 0, 0, 0))
                                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PYEOF2

error layers_symbolic_dims 1 "input 'x' has dims [N,3,?,?]: pass --input-shape 1,3,H,W" -- layers --model sym.onnx
if run layers_input_shape 0 layers --model sym.onnx --input-shape 1,3,8,10 && grep -q "1x2x4x5" "$OUT"; then
  ok layers_input_shape
else
  bad layers_input_shape "exit $RC: $(head -c 300 "$OUT") $(head -c 300 "$ERR")"
fi
error layers_bad_input_shape 2 "--input-shape" -- layers --model sym.onnx --input-shape 1,3,x
if run layers_named_input_shape 0 layers --model sym.onnx --input-shape x=1,3,6,12 --json && grep -q '\[1, 2, 3, 6\]' "$OUT"; then
  ok layers_named_input_shape
else
  bad layers_named_input_shape "exit $RC: $(head -c 300 "$OUT") $(head -c 300 "$ERR")"
fi
error layers_unknown_input_shape 1 "no input named 'pixels'" -- layers --model sym.onnx --input-shape pixels=1,3,8,8
if run run_int64_output 0 run --model shape.onnx --input x=x386.npy --output s=s.npy --output y=y386.npy &&
   "$PY" -c "
import numpy as np, sys
s = np.load('$T/s.npy'); y = np.load('$T/y386.npy'); x = np.load('$T/x386.npy')
sys.exit(0 if s.dtype == np.int64 and s.tolist() == [1, 3, 8, 6] and np.array_equal(y, np.maximum(x, 0)) else 1)"; then
  ok run_int64_output
else
  bad run_int64_output "exit $RC: $(head -c 300 "$ERR")"
fi
if run run_int_bool_outputs 0 run --model dtypes.onnx --input x=xd.npy --output gt=gt.npy --output i32=i32.npy \
     --output i8=i8.npy --output u8=u8.npy &&
   "$PY" -c "
import numpy as np, sys
x = np.load('$T/xd.npy'); o = {n: np.load('$T/%s.npy' % n) for n in ('gt', 'i32', 'i8', 'u8')}
ok = (o['gt'].dtype == np.bool_ and np.array_equal(o['gt'], x > 0) and o['i32'].dtype == np.int32 and
      np.array_equal(o['i32'], x.astype(np.int32)) and o['i8'].dtype == np.int8 and np.array_equal(o['i8'], x.astype(np.int8))
      and o['u8'].dtype == np.uint8 and o['u8'].tolist() == [0, 7, 255])
sys.exit(0 if ok else 1)"; then
  ok run_int_bool_outputs
else
  bad run_int_bool_outputs "exit $RC: $(head -c 300 "$ERR")"
fi
if run explain_nhwc_target_output 0 explain --model nhwc.onnx --input-tensor xl.npy --layer feat --target-output p \
     --target-index 2 --save-npy map_nhwc.npy --json &&
   "$PY" -c "
import json, numpy as np, sys
j = json.load(open('$T/explain_nhwc_target_output.out')); m = np.load('$T/map_nhwc.npy')
ok = j['output'] == 'p' and j['target'] == 2 and m.shape == (8, 6) and m.min() >= 0 and m.max() <= 1 + 1e-6 and m.max() > 0.99
sys.exit(0 if ok else 1)"; then
  ok explain_nhwc_target_output
else
  bad explain_nhwc_target_output "exit $RC: $(head -c 300 "$OUT") $(head -c 300 "$ERR")"
fi
if run explain_nhwc_guided 0 explain --model nhwc.onnx --input-tensor xl.npy --method guided-backprop --save-npy gb_nhwc.npy &&
   "$PY" -c "
import numpy as np, sys
m = np.load('$T/gb_nhwc.npy')
sys.exit(0 if m.shape == (3, 8, 6) and np.abs(m).max() > 0.99 else 1)"; then
  ok explain_nhwc_guided
else
  bad explain_nhwc_guided "exit $RC: $(head -c 300 "$ERR")"
fi
if run classify_rgba_tf 0 classify --model rgba.onnx --image photo.png --preset tf --save-npy rgba_in.npy &&
   head -n 1 "$OUT" | grep -q "output 'y' (1x6x5x4)" &&
   "$PY" -c "
import numpy as np, sys
a = np.load('$T/rgba_in.npy'); px = np.load('$T/photo_px.npy').astype(np.float32)
want = np.concatenate([px, np.full((6, 5, 1), 255, np.float32)], axis=2)[None] / np.float32(255)
sys.exit(0 if a.shape == (1, 6, 5, 4) and np.allclose(a, (want - 0.5) / 0.5, atol=1e-6) else 1)"; then
  ok classify_rgba_tf
else
  bad classify_rgba_tf "exit $RC: $(head -c 300 "$OUT") $(head -c 300 "$ERR")"
fi
if run classify_extra_input 0 classify --model two.onnx --input-tensor x5.npy --input s=scale.npy --save-npy two_y.npy &&
   run classify_extra_input_ref 0 run --model two.onnx --input x=x5.npy --input s=s1.npy --output y=two_ref.npy &&
   "$PY" -c "
import numpy as np, sys
y = np.load('$T/two_y.npy'); r = np.load('$T/two_ref.npy')
sys.exit(0 if y.shape == (1, 3) and np.allclose(y, 2.5 * r, rtol=1e-5, atol=1e-6) else 1)"; then
  ok classify_extra_input
else
  bad classify_extra_input "exit $RC: $(head -c 300 "$ERR")"
fi
error explain_extra_input_missing 1 "2 inputs" "--input NAME=FILE.npy" -- explain --model two.onnx --input-tensor x5.npy
if run explain_extra_input 0 explain --model two.onnx --input-tensor x5.npy --input s=scale.npy --target 1 --save-npy two_map.npy &&
   grep -q "output 'y' target 1" "$OUT"; then
  ok explain_extra_input
else
  bad explain_extra_input "exit $RC: $(head -c 300 "$OUT") $(head -c 300 "$ERR")"
fi
error eval_nhwc_refused 1 "channels-last" -- eval --model nhwc.onnx --images photo.png --faithfulness
error classify_bad_preset 2 "unknown --preset 'torch'" "caffe" -- classify --model two.onnx --input-tensor x5.npy --preset torch

# ---- issue 12: hostile inputs and I/O faults ------------------------------------------------
"$PY" - "$T" <<'PYEOF' || bad issue12_fixtures "python fixture generation failed"
import io, os, struct, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh
d = sys.argv[1]
vi = h.make_tensor_value_info
def save(name, nodes, inputs, outputs, inits=()):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="test_cli")
    m.ir_version = 8
    onnx.save(m, os.path.join(d, name + ".onnx"))
# MaxPool with a dilation of 2^63-1: once ran "successfully" on garbage
save("evil_pool", [h.make_node("MaxPool", ["x"], ["y"], name="evil_pool", kernel_shape=[2, 2],
                               dilations=[2**63 - 1, 1])],
     [vi("x", TP.FLOAT, [1, 1, 4, 4])], [vi("y", TP.FLOAT, None)])
# a node name with terminal escapes, a bell and invalid UTF-8, on an unsupported op
# (protobuf strings must be UTF-8: two placeholder bytes become 0xff 0xfe after serialising)
m = h.make_model(h.make_graph([h.make_node("FooOp", ["x"], ["y"], name="evil\x1b[31mRED\x1b[0m\x07@@!")], "g",
                 [vi("x", TP.FLOAT, [1, 2])], [vi("y", TP.FLOAT, None)]),
                 opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
raw = m.SerializeToString().replace(b"\x07@@!", b"\x07\xff\xfe!")
open(os.path.join(d, "evil_name.onnx"), "wb").write(raw)
# an input whose logits overflow: the target score is not finite
np.save(os.path.join(d, "img_huge.npy"), np.full((1, 3, 8, 8), 3e38, np.float32))
# a 16x16 JPEG whose header claims 16000x16000 (used to decode to 2.4 GB of grey)
try:
    from PIL import Image
    b = io.BytesIO()
    Image.fromarray((np.arange(16 * 16 * 3) % 251).astype(np.uint8).reshape(16, 16, 3)).save(b, "JPEG")
    j = bytearray(b.getvalue())
    i = j.find(b"\xff\xc0")
    struct.pack_into(">HH", j, i + 5, 16000, 16000)
    open(os.path.join(d, "claims_huge.jpg"), "wb").write(j)
    # 640x640: 1.6 MB of decoded pixels, over a 1 MB --max-memory
    Image.fromarray((np.arange(640 * 640 * 3) % 253).astype(np.uint8).reshape(640, 640, 3)).save(os.path.join(d, "big640.png"))
except ImportError:
    pass
PYEOF
# 1: non-regular inputs are refused at once (they used to block forever or eat memory)
mkfifo "$T/fifo.png" "$T/fifo.npy" "$T/fifo.txt"
for c in "fifo_image|explain --model cnn.onnx --image fifo.png" \
         "fifo_npy|explain --model cnn.onnx --input-tensor fifo.npy" \
         "fifo_labels|classify --model cnn.onnx --input-tensor img.npy --labels fifo.txt" \
         "dev_zero_run_input|run --model gemm.onnx --input x=/dev/zero" \
         "dev_zero_image|classify --model cnn.onnx --image /dev/zero" \
         "labels_folder|classify --model cnn.onnx --input-tensor img.npy --labels ."; do
  name=${c%%|*}
  (cd "$T" && timeout 20 "$BIN" ${c#*|}) >"$T/$name.out" 2>"$T/$name.err"
  RC=$?
  if [ "$RC" -eq 1 ] && [ "$(wc -l <"$T/$name.err")" -eq 1 ] && grep -q "is not a regular file" "$T/$name.err"; then ok "$name"
  else bad "$name" "exit $RC (124 = hung): $(head -c 200 "$T/$name.err")"; fi
done
# 2: outputs checked before any work and replaced only when whole
rm -f "$T/first.npy"
error output_folder_missing 1 "--out" "missing_dir/x.png" -- explain --model cnn.onnx --input-tensor img.npy --save-npy first.npy --out missing_dir/x.png
[ ! -e "$T/first.npy" ] && ok output_nothing_written_before_failure || bad output_nothing_written_before_failure "first.npy was written"
error output_is_folder 1 "--save-npy" "is a folder" -- classify --model gemm.onnx --input-tensor x.npy --save-npy .
printf 'OLD' >"$T/old.npy"
(cd "$T" && trap '' XFSZ && ulimit -f 1 && "$BIN" run --model cnn.onnx --input img=img.npy --output c1=old.npy) >"$T/fsize.out" 2>"$T/fsize.err"
RC=$?
left=$(ls -A "$T" | grep -c '^\.old\.npy\.' || true)
if [ "$RC" -eq 1 ] && [ "$(cat "$T/old.npy")" = "OLD" ] && [ "$left" -eq 0 ] && grep -q "File too large" "$T/fsize.err"; then ok output_intact_on_write_failure
else bad output_intact_on_write_failure "exit $RC, old.npy: $(head -c 20 "$T/old.npy"), temporaries left: $left, $(head -c 200 "$T/fsize.err")"; fi
# 3: a failed write to stdout is a failure
for c in "stdout_full_explain|explain --model cnn.onnx --input-tensor img.npy --json" \
         "stdout_full_classify|classify --model cnn.onnx --input-tensor img.npy" \
         "stdout_full_layers|layers --model cnn.onnx"; do
  name=${c%%|*}
  (cd "$T" && "$BIN" ${c#*|}) >/dev/full 2>"$T/$name.err"
  RC=$?
  if [ "$RC" -eq 1 ] && grep -q "cannot write to standard output" "$T/$name.err"; then ok "$name"
  else bad "$name" "exit $RC: $(head -c 200 "$T/$name.err")"; fi
done
# 4: no NaN in JSON; a non-finite target score is an error unless allowed
error nonfinite_score 1 "target score is" "--allow-nonfinite" -- explain --model cnn.onnx --input-tensor img_huge.npy --json
if run nonfinite_allowed 0 explain --model cnn.onnx --input-tensor img_huge.npy --json --allow-nonfinite &&
   "$PY" -c "
import json, sys
def no(c): raise ValueError('non-standard constant ' + c)
j = json.loads(open('$T/nonfinite_allowed.out').read(), parse_constant=no)
sys.exit(0 if j['score'] is None else 1)" && grep -q "written as null" "$T/nonfinite_allowed.err"; then ok nonfinite_json_valid
else bad nonfinite_json_valid "exit $RC: $(head -c 300 "$T/nonfinite_allowed.out") $(head -c 200 "$T/nonfinite_allowed.err")"; fi
# 5: shape arithmetic overflow names the node
error maxpool_dilation_overflow 1 "evil_pool" "dilations" -- run --model evil_pool.onnx --input x=x4.npy
# 6: an image whose data cannot fill its claimed size fails at once
if [ -f "$T/claims_huge.jpg" ]; then
  error image_claims_huge_size 1 "claims_huge.jpg" "cannot hold 16000x16000" -- explain --model cnn.onnx --image claims_huge.jpg --out o.png
  error decode_over_max_memory 1 "big640.png" "more than the memory limit" -- explain --model cnn.onnx --image big640.png --max-memory 1
else echo "skip image_claims_huge_size, decode_over_max_memory: python3-pil missing"; fi
# 8: bad option values fail before any work
error alpha_nan 2 "--alpha 'nan'" -- explain --model cnn.onnx --input-tensor img.npy --alpha nan --save-npy alpha.npy
[ ! -e "$T/alpha.npy" ] && ok alpha_nan_writes_nothing || bad alpha_nan_writes_nothing "alpha.npy written"
error threads_too_many 2 "--threads '10000'" "1 to 1024" -- explain --model cnn.onnx --input-tensor img.npy --threads 10000
error threads_overflow 2 "--threads '2147483648'" -- classify --model cnn.onnx --input-tensor img.npy --threads 2147483648
error seed_overflow 2 "--seed" -- explain --model cnn.onnx --input-tensor img.npy --method smoothgrad --seed 18446744073709551616
error std_negative 2 "--std '-1'" -- explain --model cnn.onnx --input-tensor img.npy --std -1
# 9: no re-exec: runs under an explicit loader and valgrind; waits passively by default
LDSO=$(ls /lib64/ld-linux-x86-64.so.2 2>/dev/null)
if [ -n "$LDSO" ]; then
  (cd "$T" && "$LDSO" "$BIN" layers --model cnn.onnx) >"$T/ldso.out" 2>"$T/ldso.err"
  RC=$?
  if [ "$RC" -eq 0 ] && grep -q "automatic Grad-CAM layer" "$T/ldso.out"; then ok explicit_loader
  else bad explicit_loader "exit $RC: $(head -c 200 "$T/ldso.err")"; fi
fi
spin=$(cd "$T" && env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose "$BIN" --version 2>&1 | sed -n "s/.*GOMP_SPINCOUNT = '\([0-9]*\)'.*/\1/p" | head -n 1)
spin_user=$(cd "$T" && env OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=verbose "$BIN" --version 2>&1 | sed -n "s/.*GOMP_SPINCOUNT = '\([0-9]*\)'.*/\1/p" | head -n 1)
if [ "$spin" = "0" ] && [ -n "$spin_user" ] && [ "$spin_user" != "0" ]; then ok omp_passive_by_default
else bad omp_passive_by_default "GOMP_SPINCOUNT $spin by default (want 0), $spin_user with OMP_WAIT_POLICY=active"; fi
if ldd "$BIN" 2>/dev/null | grep -q 'libasan\|libtsan'; then echo "skip runs_under_valgrind: a sanitizer build cannot run under valgrind"
elif command -v valgrind >/dev/null; then
  if (cd "$T" && valgrind -q --error-exitcode=99 "$BIN" --version) >"$T/vg.out" 2>"$T/vg.err" && grep -q "^gradcam " "$T/vg.out"; then ok runs_under_valgrind
  else bad runs_under_valgrind "$(head -c 200 "$T/vg.err")"; fi
else echo "skip runs_under_valgrind: valgrind not installed"; fi
# 11: names from model files never reach the terminal raw
run evil_name 1 layers --model evil_name.onnx
if grep -q 'evil\\x1b\[31mRED\\x1b\[0m\\x07\\xff\\xfe!' "$T/evil_name.err" && ! LC_ALL=C grep -q $'[\x01-\x1f\x7f-\xff]' "$T/evil_name.err"; then ok evil_name_escaped
else bad evil_name_escaped "$(head -c 300 "$T/evil_name.err" | od -c | head -5)"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
