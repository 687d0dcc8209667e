#!/bin/sh
# Builds the library, CLI and tests with ASan + UBSan and runs the suite
# (without the long torch parity stage, plus one parity model).
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B="$ROOT/build-asan"
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGCAM_SANITIZE=address,undefined -DGCAM_WERROR=ON >/dev/null
cmake --build "$B" -j "$(nproc)"
# oneDNN's JIT and OpenMP runtime are not instrumented; leak reports from them are noise
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions="$ROOT/tools/lsan.supp"
bash "$ROOT/tools/run_tests.sh" "$B" --quick
if [ -d "$ROOT/tests/parity/fixtures/resnet18" ]; then
  /usr/bin/python3 "$ROOT/tests/parity/run_parity.py" --gradcam "$B/gradcam" --fixtures "$ROOT/tests/parity/fixtures" --models resnet18,mobilenet_v3_small --forward --explain
fi
