"""The package against the CLI (bit for bit) and its own contract: shapes,
batches, targets, errors as exceptions, the GIL released during C calls."""
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import gradcam
from gradcam import (AblationCAM, EigenCAM, EigenGradCAM, GradCAM, GradCAMElementWise, GradCAMPlusPlus,
                     HiResCAM, LayerCAM, ScoreCAM, XGradCAM)
from gradcam.utils.model_targets import (ClassifierOutputSoftmaxTarget, ClassifierOutputTarget,
                                         SemanticSegmentationTarget)

LAYER = "/layer4/relu2/Relu_output_0"
CLASSES = [(GradCAM, "gradcam"), (HiResCAM, "hirescam"), (GradCAMPlusPlus, "gradcam++"), (XGradCAM, "xgradcam"),
           (LayerCAM, "layercam"), (EigenCAM, "eigencam"), (EigenGradCAM, "eigengradcam"),
           (GradCAMElementWise, "gradcam-elementwise"), (ScoreCAM, "scorecam"), (AblationCAM, "ablationcam")]


def test_imported_package(request):
    path = gradcam.__file__
    print("gradcam from", path, "library", gradcam.library_path())
    if request.config.getoption("--require-installed"):
        assert "site-packages" in path, path
        assert gradcam.library_path().startswith(os.path.dirname(path)), gradcam.library_path()


def demo_input(seed=0, n=1):
    # the demo model's input: 1 x 3 x 96 x 96
    return np.random.RandomState(seed).rand(n, 3, 96, 96).astype(np.float32)


def cli_map(gradcam_bin, tmp_path, model, x, method, layer, target, extra=()):
    xin, out = tmp_path / "x.npy", tmp_path / "map.npy"
    np.save(xin, x)
    cmd = [gradcam_bin, "explain", "--model", model, "--input-tensor", str(xin), "--method", method,
           "--layer", layer, "--save-npy", str(out), "--quiet"] + \
          (["--target", str(target)] if target is not None else []) + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return np.load(out)


@pytest.mark.parametrize("cls,method", CLASSES, ids=[m for _, m in CLASSES])
def test_same_as_cli_bit_for_bit(cls, method, gradcam_bin, demo_model, tmp_path):
    x = demo_input(1)
    cam = cls(model=demo_model, target_layers=[LAYER])
    ours = cam(input_tensor=x, targets=[ClassifierOutputTarget(3)])
    ref = cli_map(gradcam_bin, tmp_path, demo_model, x, method, LAYER, 3)
    assert ours.shape == (1, 96, 96) and ours.dtype == np.float32
    assert ref.shape == (96, 96) and ref.dtype == np.float32
    assert np.array_equal(ours[0], ref), np.abs(ours[0] - ref).max()
    assert ours.max() > 0.5  # a real map, not zeros on both sides


@pytest.mark.parametrize("flag", ["aug_smooth", "eigen_smooth"])
def test_smoothing_same_as_cli(flag, gradcam_bin, demo_model, tmp_path):
    x = demo_input(2)
    ours = GradCAM(model=demo_model, target_layers=[LAYER])(input_tensor=x, targets=None, **{flag: True})
    ref = cli_map(gradcam_bin, tmp_path, demo_model, x, "gradcam", LAYER, None, ["--" + flag.replace("_", "-")])
    assert np.array_equal(ours[0], ref)


def test_softmax_target_same_as_cli(gradcam_bin, demo_model, tmp_path):
    x = demo_input(3)
    ours = GradCAM(model=demo_model, target_layers=[LAYER])(input_tensor=x, targets=[ClassifierOutputSoftmaxTarget(5)])
    ref = cli_map(gradcam_bin, tmp_path, demo_model, x, "gradcam", LAYER, 5, ["--target-softmax"])
    assert np.array_equal(ours[0], ref)


def test_batch_equals_one_by_one(demo_model):
    x = demo_input(4, n=3)
    cam = GradCAM(model=demo_model, target_layers=[LAYER])
    targets = [ClassifierOutputTarget(c) for c in (1, 7, 2)]
    batch = cam(input_tensor=x, targets=targets)
    assert batch.shape == (3, 96, 96)
    for i in range(3):
        one = cam(input_tensor=x[i:i + 1], targets=[targets[i]])
        assert np.array_equal(batch[i], one[0])
    assert not np.array_equal(batch[0], batch[1])


def test_one_target_for_the_batch(demo_model, gradcam_bin, tmp_path):
    x = demo_input(9, n=2)
    maps = GradCAM(model=demo_model, target_layers=[LAYER])(input_tensor=x, targets=[ClassifierOutputTarget(7)])
    assert maps.shape == (2, 96, 96)
    for i in range(2):
        assert np.array_equal(maps[i], cli_map(gradcam_bin, tmp_path, demo_model, x[i:i + 1], "gradcam", LAYER, 7))


def test_top_class_when_targets_none(demo_model):
    x = demo_input(5)
    model = gradcam.Model(demo_model)
    top = int(np.argmax(model(x)[0]))
    cam = GradCAM(model=model, target_layers=[LAYER])
    a = cam(input_tensor=x)
    b = cam(input_tensor=x, targets=[ClassifierOutputTarget(top)])
    assert cam.targets_used == [top] and np.array_equal(a, b)


def test_multiple_layers_same_as_cli(gradcam_bin, demo_model, tmp_path):
    x = demo_input(6)
    l2 = "/layer3/relu2/Relu_output_0"
    both = GradCAM(model=demo_model, target_layers=[LAYER, l2])(input_tensor=x, targets=[ClassifierOutputTarget(0)])
    one = GradCAM(model=demo_model, target_layers=[LAYER])(input_tensor=x, targets=[ClassifierOutputTarget(0)])
    ref = cli_map(gradcam_bin, tmp_path, demo_model, x, "gradcam", LAYER, 0, ["--layer", l2])
    assert np.array_equal(both[0], ref)
    assert np.abs(both - one).max() > 1e-3  # the second layer counts


def test_errors_carry_the_library_message(demo_model, tmp_path):
    with pytest.raises(gradcam.GradCAMError) as e:
        GradCAM(model=str(tmp_path / "missing.onnx"), target_layers=[LAYER])
    assert "missing.onnx" in str(e.value) and e.value.status != 0
    cam = GradCAM(model=demo_model, target_layers=["no_such_tensor"])
    with pytest.raises(gradcam.GradCAMError) as e:
        cam(input_tensor=demo_input())
    assert "no_such_tensor" in str(e.value)
    cam = GradCAM(model=demo_model, target_layers=[LAYER])
    with pytest.raises(gradcam.GradCAMError) as e:
        cam(input_tensor=demo_input(), targets=[ClassifierOutputTarget(10 ** 6)])
    assert "out of range" in str(e.value)
    with pytest.raises(ValueError):
        cam(input_tensor=demo_input(n=3), targets=[ClassifierOutputTarget(1)] * 2)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(gradcam.GradCAMError):
        gradcam.Model(str(bad))


def test_gil_released_during_explain(demo_model):
    """A Python thread keeps running while the C library explains: its
    counting rate during the call stays near its rate alone.  With the GIL
    held it would get one switch interval (5 ms) at most."""
    cam = ScoreCAM(model=gradcam.Model(demo_model, threads=1), target_layers=[LAYER])
    x = demo_input(7)
    cam(input_tensor=x)  # plan once
    stop, ticks = threading.Event(), [0]

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    a = ticks[0]
    time.sleep(0.2)  # the main thread waits without the GIL: the spinner's rate alone
    rate_alone = (ticks[0] - a) / 0.2
    t0, a = time.perf_counter(), ticks[0]
    cam(input_tensor=x)
    busy, during = time.perf_counter() - t0, ticks[0] - a
    stop.set()
    t.join()
    assert busy > 0.1, busy  # long enough for the rates to mean something
    assert during / busy > 0.25 * rate_alone, (during / busy, rate_alone)


def test_semantic_segmentation_target_linearity(demo_model):
    """A segmentation-style weighted target through the generic path: a mask
    over a 1-D output must equal the one-hot ClassifierOutputTarget."""
    x = demo_input(8)
    cam = GradCAM(model=demo_model, target_layers=[LAYER])
    ref = cam(input_tensor=x, targets=[ClassifierOutputTarget(4)])
    w = np.zeros(10, np.float32)
    w[4] = 1
    ours = cam(input_tensor=x, targets=[gradcam.utils.model_targets.WeightedOutputTarget(w)])
    assert np.array_equal(ours, ref)
    with pytest.raises(ValueError):
        SemanticSegmentationTarget(0, np.ones((4, 4))).weights((10,))


def test_image_utils():
    from gradcam.utils.image import deprocess_image, preprocess_image, show_cam_on_image
    img = np.random.RandomState(0).rand(8, 9, 3).astype(np.float32)
    x = preprocess_image(img, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    assert x.shape == (1, 3, 8, 9) and x.dtype == np.float32
    assert np.allclose(x[0, 1], (img[:, :, 1] - 0.5) / 0.5)
    mask = np.linspace(0, 1, 72, dtype=np.float32).reshape(8, 9)
    vis = show_cam_on_image(img, mask, use_rgb=True)
    assert vis.shape == (8, 9, 3) and vis.dtype == np.uint8
    # mask 0 is jet's dark blue (0, 0, 128), mask 1 dark red (128, 0, 0), RGB
    heat = np.zeros((1, 2, 3), np.float32)
    v = show_cam_on_image(heat, np.array([[0.0, 1.0]], np.float32), use_rgb=True, image_weight=0.0)
    assert tuple(v[0, 0]) == (0, 0, 255) and tuple(v[0, 1]) == (255, 0, 0)  # each / max -> 255
    bgr = show_cam_on_image(heat, np.array([[0.0, 1.0]], np.float32), image_weight=0.0)
    assert tuple(bgr[0, 0]) == (255, 0, 0)
    d = deprocess_image(np.random.RandomState(1).randn(4, 4, 3))
    assert d.dtype == np.uint8
