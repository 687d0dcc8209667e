#!/bin/bash
# The main job on the bundled default: Grad-CAM overlays for every sample
# scene with the bundled demo model, written to out/.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/out"
mkdir -p "$OUT"
MODEL="$ROOT/models/demo.onnx"
if [ ! -f "$MODEL" ]; then
  echo "demo: $MODEL is missing (see models/TRAINING.md)" >&2
  exit 1
fi
n=0
for img in "$ROOT"/models/samples/*.png; do
  name=$(basename "$img" .png)
  "$BUILD/gradcam" explain --model "$MODEL" --image "$img" --out "$OUT/${name}_gradcam.png" --quiet
  "$BUILD/gradcam" classify --model "$MODEL" --image "$img" --top 3 | sed "s/^/  $name: /" | tail -n 3
  n=$((n + 1))
done
echo "demo: wrote $n Grad-CAM overlays to $OUT/ (e.g. $OUT/scene_01_gradcam.png)"
