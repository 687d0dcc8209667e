#!/bin/bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a
# bounded time on a seed corpus.  Usage: tools/run_fuzz.sh [SECONDS]  (default 60)
#
#   fuzz_loader  gcam_model_load_buffer on the bytes, then plan + run on zeros
#   fuzz_npy     gcam_npy_parse on the bytes
#   fuzz_image   gcam_image_decode (PNG, JPEG) on the bytes, then preprocessing
#                and an overlay of what decoded
#
# Seeds: tests/fuzz/corpus/{loader,npy,image} (a few tiny files in git) plus models
# generated here with Debian's python3-onnx into a temp folder.  Crash inputs
# are kept in $BUILD/fuzz-artifacts.  Exits non-zero if a target crashed,
# leaked, timed out or ran out of memory.
#
# Build notes: clang's OpenMP is libomp (Debian: /usr/lib/llvm-14/lib); it
# links and runs next to libdnnl's libgomp (the fuzzers run one thread).
# Only the fuzz targets are built in build-fuzz: the library objects carry
# -fsanitize=fuzzer-no-link for coverage, which the other executables do
# not link with.
set -u
SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${GCAM_FUZZ_BUILD:-$ROOT/build-fuzz}
PY=/usr/bin/python3
JOBS=$(nproc 2>/dev/null || echo 2)

echo "=== building fuzz targets in $B"
CC=clang cmake -S "$ROOT" -B "$B" -DGCAM_FUZZ=ON -DGCAM_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$B.configure.log" 2>&1 || { cat "$B.configure.log"; exit 2; }
rm -f "$B.configure.log"
cmake --build "$B" -j"$JOBS" --target fuzz_loader fuzz_npy fuzz_image >/dev/null 2>"$B.build.log" || {
  cat "$B.build.log"; exit 2; }
rm -f "$B.build.log"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for t in loader npy image; do
  mkdir -p "$WORK/seeds/$t" "$WORK/corpus/$t"
  cp "$ROOT"/tests/fuzz/corpus/$t/* "$WORK/seeds/$t/" 2>/dev/null
done

if $PY -c "import onnx, numpy" 2>/dev/null; then
  $PY - "$WORK/seeds" <<'PYEOF'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

out = sys.argv[1]
rng = np.random.default_rng(0)

def w(name, shape, dtype=np.float32):
    return nh.from_array((rng.standard_normal(shape) * 0.5).astype(dtype), name)

def save(name, nodes, inputs, outputs, inits=(), opset=13, meta=None):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="run_fuzz")
    m.ir_version = 8
    if meta:
        h.set_model_props(m, meta)
    with open(os.path.join(out, "loader", name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())

vi = h.make_tensor_value_info
# a tiny CNN: the shape of every image model
save("cnn", [
    h.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv", pads=[1, 1, 1, 1]),
    h.make_node("BatchNormalization", ["c", "s", "bb", "mu", "var"], ["bn"], name="bn"),
    h.make_node("Relu", ["bn"], ["r"], name="relu"),
    h.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
    h.make_node("GlobalAveragePool", ["p"], ["gap"], name="gap"),
    h.make_node("Flatten", ["gap"], ["f"], name="flatten"),
    h.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
], [vi("x", TP.FLOAT, ["N", 3, 8, 8])], [vi("y", TP.FLOAT, None)],
   [w("cw", (4, 3, 3, 3)), w("cb", (4,)), w("s", (4,)), w("bb", (4,)), w("mu", (4,)),
    nh.from_array(np.ones(4, np.float32), "var"), w("fw", (5, 4)), w("fb", (5,))],
   meta={"gradcam.labels": "a\nb\nc\nd\ne"})
# PyTorch's flatten export: Shape -> Gather -> Unsqueeze -> Concat -> Reshape
save("flatten_chain", [
    h.make_node("Shape", ["x"], ["s"], name="shape"),
    h.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
    h.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsq"),
    h.make_node("Concat", ["n1", "m1"], ["shp"], name="concat", axis=0),
    h.make_node("Reshape", ["x", "shp"], ["y"], name="reshape"),
], [vi("x", TP.FLOAT, ["batch", 2, 3, 2])], [vi("y", TP.FLOAT, None)],
   [nh.from_array(np.array(0, np.int64), "zero"), nh.from_array(np.array([0], np.int64), "ax0"),
    nh.from_array(np.array([-1], np.int64), "m1")])
# opset 18 ReduceMean with axes as an input, Softmax, elementwise ops
save("reduce18", [
    h.make_node("ReduceMean", ["x", "axes"], ["m"], name="rm", keepdims=1),
    h.make_node("Sub", ["x", "m"], ["d"], name="sub"),
    h.make_node("Mul", ["d", "d"], ["sq"], name="mul"),
    h.make_node("Sqrt", ["sq"], ["sr"], name="sqrt"),
    h.make_node("Sigmoid", ["sr"], ["sg"], name="sig"),
    h.make_node("Softmax", ["sg"], ["y"], name="softmax", axis=-1),
], [vi("x", TP.FLOAT, [2, 3, 4])], [vi("y", TP.FLOAT, None)],
   [nh.from_array(np.array([1, -1], np.int64), "axes")], opset=18)
# layout ops and a float16 initializer
half = nh.from_array(np.array([0.5, -2, 65504, 6e-8], np.float16), "half")
save("layout", [
    h.make_node("Cast", ["half"], ["hf"], name="cast", to=TP.FLOAT),
    h.make_node("Transpose", ["x"], ["t"], name="tr", perm=[0, 2, 1]),
    h.make_node("Slice", ["t", "st", "en", "ax"], ["sl"], name="slice"),
    h.make_node("Pad", ["sl", "pads"], ["pd"], name="pad"),
    h.make_node("Split", ["pd", "split"], ["a", "b"], name="split", axis=2),
    h.make_node("Concat", ["b", "a"], ["cc"], name="concat", axis=2),
    h.make_node("Add", ["cc", "hf"], ["y"], name="add"),
], [vi("x", TP.FLOAT, [1, 4, 4])], [vi("y", TP.FLOAT, None)],
   [half, nh.from_array(np.array([1], np.int64), "st"), nh.from_array(np.array([3], np.int64), "en"),
    nh.from_array(np.array([1], np.int64), "ax"), nh.from_array(np.array([0, 0, 0, 0, 0, 0], np.int64), "pads"),
    nh.from_array(np.array([2, 2], np.int64), "split")])
# resize, pooling, activations, MatMul
save("misc", [
    h.make_node("Resize", ["x", "", "scales"], ["rs"], name="resize", mode="linear"),
    h.make_node("AveragePool", ["rs"], ["ap"], name="ap", kernel_shape=[2, 2], strides=[2, 2]),
    h.make_node("LeakyRelu", ["ap"], ["lr"], name="lrelu", alpha=0.1),
    h.make_node("HardSwish", ["lr"], ["hs"], name="hswish"),
    h.make_node("Clip", ["hs", "lo", "hi"], ["cl"], name="clip"),
    h.make_node("MatMul", ["cl", "mw"], ["mm"], name="matmul"),
    h.make_node("Tanh", ["mm"], ["y"], name="tanh"),
], [vi("x", TP.FLOAT, [1, 2, 3, 3])], [vi("y", TP.FLOAT, None)],
   [nh.from_array(np.array([1, 1, 2, 2], np.float32), "scales"), nh.from_array(np.array(-1, np.float32), "lo"),
    nh.from_array(np.array(1, np.float32), "hi"), w("mw", (3, 2))])
# an external-data reference (refused from a buffer) and an unsupported op
t = w("ext", (2,))
t.ClearField("float_data"); t.ClearField("raw_data")
t.data_location = TP.EXTERNAL
t.external_data.add(key="location", value="weights.bin")
save("external", [h.make_node("Add", ["x", "ext"], ["y"], name="add")],
     [vi("x", TP.FLOAT, [2])], [vi("y", TP.FLOAT, None)], [t])
save("unsupported", [h.make_node("LSTM", ["x", "W", "R"], ["y"], name="lstm", hidden_size=2)],
     [vi("x", TP.FLOAT, [1, 1, 2])], [vi("y", TP.FLOAT, None)], [w("W", (1, 8, 2)), w("R", (1, 8, 2))])

def npy(name, arr, **kw):
    np.save(os.path.join(out, "npy", name + ".npy"), arr, allow_pickle=False, **kw)
npy("f32_2x3", np.arange(6, dtype=np.float32).reshape(2, 3))
npy("i64_scalar", np.array(7, np.int64))
npy("f32_4d", np.zeros((1, 2, 2, 2), np.float32))
npy("f64", np.ones(3, np.float64))
npy("fortran", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
with open(os.path.join(out, "npy", "v2.npy"), "wb") as f:
    np.lib.format.write_array(f, np.ones((2, 2), np.float32), version=(2, 0))
PYEOF
  [ $? -eq 0 ] || echo "warning: seed generation with $PY failed; using tests/fuzz/corpus only"
else
  echo "warning: $PY with onnx and numpy not found; using tests/fuzz/corpus only"
fi

ART="$B/fuzz-artifacts"
mkdir -p "$ART"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1
# Fork mode, so that an out-of-memory or a timeout is recorded (artifact kept,
# reported below) and fuzzing goes on, while a crash, a sanitizer report or a
# leak stops the run and fails it.  A model may legitimately declare huge
# activations (a Pad of 65536 rows is valid ONNX): -malloc_limit_mb flags a
# single allocation above 2 GB as an OOM instead of letting it eat the machine.
fail=0
summary=""
for t in ${GCAM_FUZZ_TARGETS:-loader npy image}; do
  echo "=== fuzz_$t for ${SECS}s ($(ls "$WORK/seeds/$t" | wc -l) seeds)"
  log="$WORK/fuzz_$t.log"
  before=$(ls "$ART" | wc -l)
  "$B/fuzz_$t" -fork=1 -ignore_ooms=1 -ignore_timeouts=1 -ignore_crashes=0 \
    -max_total_time="$SECS" -timeout=20 -rss_limit_mb=3072 -malloc_limit_mb=2048 \
    -artifact_prefix="$ART/${t}-" "$WORK/corpus/$t" "$WORK/seeds/$t" >"$log" 2>&1
  rc=$?
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1)
  execs=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+')
  oto=$(echo "$last" | grep -oE 'oom/timeout/crash: [0-9/]+')
  echo "${last:-no progress line}"
  new_art=$(ls -t "$ART" | head -n $(( $(ls "$ART" | wc -l) - before )))
  for a in $new_art; do echo "  artifact: $ART/$a"; done
  crashes=$(echo "$oto" | sed -n 's|.*: [0-9]*/[0-9]*/\([0-9]*\)$|\1|p')
  # fork mode exits with the last job's code: 70 (timeout) and 71 (OOM) are
  # ignored findings, reported above; anything else, or a crash count, fails
  if [ "${crashes:-0}" -gt 0 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 70 ] && [ "$rc" -ne 71 ]; }; then
    echo "FAIL fuzz_$t: exit $rc; log tail:"
    grep -vE '^#[0-9]+|^INFO|NEW_FUNC|^\s*$' "$log" | tail -n 40
    fail=1
    summary="$summary\nFAIL fuzz_$t: crashed after ${execs:-?} executions ($cov, $oto)"
  else
    summary="$summary\nok   fuzz_$t: ${execs:-?} executions in ${SECS}s, $cov, ${oto:-oom/timeout/crash: ?}, corpus $(ls "$WORK/corpus/$t" | wc -l) files"
  fi
done
echo "=== summary"
printf "%b\n" "$summary" | sed '/^$/d'
[ -n "$(ls "$ART")" ] && echo "artifacts (crash/oom/timeout inputs) in $ART"
exit $fail
