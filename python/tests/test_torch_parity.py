"""The package's maps against pytorch-grad-cam's definitions, computed by
PyTorch on seeded torchvision models: the parity fixtures of
tools/make_parity_fixtures.py + tools/make_method_fixtures.py (pytorch-grad-cam
itself is not in Debian; the fixtures are a PyTorch reference of its
formulas).  Same bounds as tests/parity/run_methods.py: Pearson >= 0.999 and
max |ours - torch| <= 0.01 after the comparison methods.json names, against
torch's float32 map or its float64 one.  A missing fixture is a skip with its
reason (run_tests.sh generates them before this stage)."""
import json
import os
import sys

import numpy as np
import pytest

import gradcam
from gradcam.utils.model_targets import ClassifierOutputTarget

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "tests", "parity"))
from run_methods import MAX_ABS, MIN_PEARSON, normalise  # noqa: E402
from run_parity import pearson  # noqa: E402

MODELS = ("resnet18", "mobilenet_v3_small", "squeezenet1_1")
CLASSES = {"gradcam": gradcam.GradCAM, "gradcam++": gradcam.GradCAMPlusPlus, "xgradcam": gradcam.XGradCAM,
           "hirescam": gradcam.HiResCAM, "gradcam-elementwise": gradcam.GradCAMElementWise,
           "layercam": gradcam.LayerCAM, "eigencam": gradcam.EigenCAM, "eigengradcam": gradcam.EigenGradCAM,
           "scorecam": gradcam.ScoreCAM, "ablationcam": gradcam.AblationCAM}
CASES = ("gradcam", "gradcam++", "xgradcam", "hirescam", "gradcam-elementwise", "layercam", "eigencam",
         "eigengradcam", "scorecam", "ablationcam", "gradcam.aug-smooth", "gradcam.eigen-smooth", "guided-backprop")


def load_case(fixtures, model, case_id):
    mdir = os.path.join(fixtures, model)
    path = os.path.join(mdir, "methods.json")
    if not os.path.isfile(path):
        pytest.skip("no method fixtures in %s (tools/make_method_fixtures.py makes them)" % mdir)
    doc = json.load(open(path))
    entry = next((e for e in doc["methods"] if e["id"] == case_id), None)
    if entry is None or "file" not in entry:
        pytest.skip("%s: no fixture for %s" % (model, case_id))
    return mdir, doc, entry


def close_enough(ours, entry, mdir):
    how = entry.get("compare", "direct")
    a = normalise(ours.astype(np.float64), how)
    best = None
    for key in ("file", "file_f64"):
        if key in entry:
            b = normalise(np.load(os.path.join(mdir, entry[key])).astype(np.float64), how)
            r, d = pearson(a, b), float(np.abs(a - b).max())
            best = best or (r, d, key)
            if r >= MIN_PEARSON and d <= MAX_ABS:
                return True, (r, d, key)
    return False, best


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case_id", CASES)
def test_matches_torch(model, case_id, fixtures):
    mdir, doc, entry = load_case(fixtures, model, case_id)
    x = np.load(os.path.join(mdir, "input.npy"))
    onnx = os.path.join(mdir, "model.onnx")
    opts = entry.get("options", {})
    if case_id == "guided-backprop":
        g = gradcam.GuidedBackpropReLUModel(model=onnx, device=None)(x, target_category=entry["class"])
        assert g.shape == (x.shape[2], x.shape[3], x.shape[1])
        ours = g.transpose(2, 0, 1)  # the fixture is C x H x W
    else:
        cam = CLASSES[entry["method"]](model=onnx, target_layers=[doc["layer"]])
        if "batch_size" in opts:
            cam.batch_size = opts["batch_size"]
        maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(entry["class"])],
                   aug_smooth=bool(opts.get("aug_smooth")), eigen_smooth=bool(opts.get("eigen_smooth")))
        assert maps.shape == (1, x.shape[2], x.shape[3]) and maps.dtype == np.float32
        ours = maps[0]
    ok, (r, d, key) = close_enough(ours, entry, mdir)
    assert ok, "%s %s: pearson %.6f max|diff| %.4g (vs %s)" % (model, case_id, r, d, key)


@pytest.mark.parametrize("model", ("resnet18",))
def test_batched_pass_equals_per_image(model, fixtures):
    """cam.batched: one gcam_explain_batch pass over 3 images equals 3 calls."""
    mdir, doc, _ = load_case(fixtures, model, "gradcam")
    x = np.load(os.path.join(mdir, "input.npy"))
    xb = np.concatenate([x, x[:, :, ::-1].copy(), 0.5 * x]).astype(np.float32)
    cam = gradcam.GradCAM(model=os.path.join(mdir, "model.onnx"), target_layers=[doc["layer"]])
    targets = [ClassifierOutputTarget(c) for c in (doc["class"], 3, 500)]
    one = cam(input_tensor=xb, targets=targets)
    cam.batched = True
    batched = cam(input_tensor=xb, targets=targets)
    assert batched.shape == one.shape == (3, x.shape[2], x.shape[3])
    assert np.abs(batched - one).max() < 1e-5
