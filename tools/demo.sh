#!/bin/bash
# The main job on the bundled default: Grad-CAM overlays for every sample
# scene with the bundled demo model, written to out/, and one HTML page that
# shows them all (predictions, every method, deletion/insertion curves and
# the randomisation sanity check): out/report.html.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/out"
BUILD_ABS=$(cd "$BUILD" && pwd)
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
echo "demo: writing the report (every method, deletion/insertion, sanity checks) ..."
# relative paths: the page names the model and images as a reader of the repository knows them
(cd "$ROOT" && "$BUILD_ABS/gradcam" report --model models/demo.onnx --images models/samples --sanity --quiet \
  --title "gradcam demo: Fashion-MNIST scenes" --out "$OUT/report.html" >/dev/null)
echo "demo: open $OUT/report.html"
