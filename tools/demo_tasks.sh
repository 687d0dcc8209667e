#!/bin/bash
# The README's task demos (issue 10), drawn into docs/demo/:
#   sequence:     models/strip_reader.onnx (tools/train_task_demos.py) on
#                 docs/demo/strip.png, one map per output step (--target-step all),
#                 Grad-CAM and HiResCAM: docs/demo/strip_steps_{gradcam,hirescam}.png
#   segmentation: BUILD/demo_seg.onnx, the bundled classifier applied at every
#                 position (tools/make_seg_demo.py), on models/samples/scene_09.png:
#                 for each class the classifier finds, Grad-CAM of that class's
#                 pixels (pytorch-grad-cam's SemanticSegmentationTarget: the class's
#                 scores summed over the pixels where they are > 0):
#                 docs/demo/seg_<class>.png
# Usage: tools/demo_tasks.sh [BUILD_DIR]
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
G="$BUILD/gradcam"
D="$ROOT/docs/demo"
for f in "$ROOT/models/strip_reader.onnx" "$D/strip.png" "$ROOT/models/demo.onnx"; do
  [ -f "$f" ] || { echo "demo-tasks: $f is missing (see models/TRAINING.md)" >&2; exit 1; }
done
# the reader's last conv map (the automatic layer is its 1x4 pooled head)
for m in gradcam hirescam; do
  "$G" explain --model "$ROOT/models/strip_reader.onnx" --image "$D/strip.png" --target-step all --method $m \
    --layer /features/features.7/Relu_output_0 --out "$D/strip_steps_$m.png" --quiet
  echo "demo-tasks: $D/strip_steps_$m.png"
done
SEG="$BUILD/demo_seg.onnx"
SCENE="$ROOT/models/samples/scene_09.png"
/usr/bin/python3 "$ROOT/tools/make_seg_demo.py" --out "$SEG"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the model's input as the CLI preprocesses it (96x96 already: no resize), its output,
# and one H x W mask per class with a positive score somewhere
classes=$(/usr/bin/python3 - "$SEG" "$SCENE" "$G" "$tmp" <<'PY'
import subprocess, sys
import numpy as np
from PIL import Image
model, scene, g, tmp = sys.argv[1:]
x = (np.asarray(Image.open(scene).convert("RGB"), np.float32) / 255.0 - 0.5) / 0.5
np.save(tmp + "/x.npy", x.transpose(2, 0, 1)[None].copy())
subprocess.run([g, "run", "--model", model, "--input", "input=" + tmp + "/x.npy", "--output",
                "out=" + tmp + "/y.npy"], check=True, stdout=subprocess.DEVNULL)
y = np.load(tmp + "/y.npy")[0]
found = [c for c in range(y.shape[0]) if y[c].mean() > 0]  # the classifier's logit > 0
for c in found:
    np.save("%s/mask_%d.npy" % (tmp, c), (y[c] > 0).astype(np.float32))
print(" ".join(str(c) for c in found))
PY
)
labels=(T-shirt Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle-boot)
for c in $classes; do
  "$G" explain --model "$SEG" --image "$SCENE" --target-class "$c" --target-mask "$tmp/mask_$c.npy" \
    --out "$D/seg_${labels[$c]}.png" --quiet
  echo "demo-tasks: $D/seg_${labels[$c]}.png"
done
