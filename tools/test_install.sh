#!/bin/bash
# Installs the build into a temporary prefix and builds examples/explain.c
# out of tree against it, with pkg-config (shared and --static) and with
# CMake's find_package(gcam) (gcam::gcam and gcam::gcam_static); each program
# must explain a sample scene.  Usage: tools/test_install.sh [BUILD_DIR]
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PREFIX=$TMP/prefix
pass=0; fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
run_example() { # name, binary
  if "$2" "$ROOT/models/demo.onnx" "$ROOT/models/samples/scene_01.png" "$TMP/$1.png" >/dev/null &&
     [ -s "$TMP/$1.png" ]; then ok "$1 explains a sample"; else bad "$1 did not explain a sample"; fi
}
if ! cmake --install "$ROOT/$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1 &&
   ! cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1; then
  cat "$TMP/install.log"; echo "0 passed, 1 failed"; exit 1
fi
for f in include/gcam.h include/gcam_eval.h include/gcam_image.h; do [ -f "$PREFIX/$f" ] && ok "installed $f" || bad "missing $f"; done
LIBDIR=$(dirname "$(find "$PREFIX" -name libgcam.so -print -quit)")
[ -f "$LIBDIR/libgcam.a" ] && ok "installed libgcam.a" || bad "missing libgcam.a"
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
if cc -o "$TMP/pc_shared" "$ROOT/examples/explain.c" $(pkg-config --cflags --libs gcam) -Wl,-rpath,"$LIBDIR"; then
  run_example pkgconfig-shared "$TMP/pc_shared"
else bad "pkg-config shared build"; fi
if cc -o "$TMP/pc_static" "$ROOT/examples/explain.c" $(pkg-config --cflags gcam) "$LIBDIR/libgcam.a" \
     $(pkg-config --static --libs-only-other --libs-only-l gcam | sed 's/-lgcam//'); then
  if ldd "$TMP/pc_static" | grep -q libgcam; then bad "static build links libgcam.so"; else
    run_example pkgconfig-static "$TMP/pc_static"; fi
else bad "pkg-config static build"; fi
if cmake -S "$ROOT/tests/install" -B "$TMP/cm" -DCMAKE_PREFIX_PATH="$PREFIX" -DEXAMPLE="$ROOT/examples/explain.c" \
     >"$TMP/cm.log" 2>&1 && cmake --build "$TMP/cm" >>"$TMP/cm.log" 2>&1; then
  run_example cmake-shared "$TMP/cm/explain_shared"
  run_example cmake-static "$TMP/cm/explain_static"
else cat "$TMP/cm.log"; bad "find_package(gcam) build"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
