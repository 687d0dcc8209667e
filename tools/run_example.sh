#!/bin/bash
# Builds nothing: runs build/example_explain on the bundled demo model and a
# sample scene, and checks that it wrote a PNG overlay of the photo's size.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODEL="$ROOT/models/demo.onnx"
IMG="$ROOT/models/samples/scene_01.png"
OUT=$(mktemp -d)/overlay.png
pass=0; fail=0
if [ ! -f "$MODEL" ]; then
  MODEL="$ROOT/tests/parity/fixtures/resnet18/model.onnx"; IMG=/usr/share/pixmaps/debian-logo.png
fi
if "$BUILD/example_explain" "$MODEL" "$IMG" "$OUT"; then
  want=$(/usr/bin/python3 -c "import struct,sys;d=open(sys.argv[1],'rb').read(24);print(struct.unpack('>II',d[16:24]))" "$IMG")
  got=$(/usr/bin/python3 -c "import struct,sys;d=open(sys.argv[1],'rb').read(24);print(struct.unpack('>II',d[16:24]))" "$OUT")
  if [ "$want" = "$got" ]; then echo "ok   example overlay $got"; pass=$((pass+1));
  else echo "FAIL example overlay size $got, photo $want"; fail=$((fail+1)); fi
else
  echo "FAIL example_explain exited non-zero"; fail=$((fail+1))
fi
# a bad image must give a one-line error and a non-zero exit, no crash
if "$BUILD/example_explain" "$MODEL" /nonexistent.png "$OUT" 2>/dev/null; then
  echo "FAIL example accepted a missing image"; fail=$((fail+1))
else echo "ok   example rejects a missing image"; pass=$((pass+1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
