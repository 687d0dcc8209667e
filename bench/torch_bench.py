#!/usr/bin/python3
"""PyTorch side of bench/run_bench.sh: the same seeded torchvision models as
the parity fixtures, timed the way PyTorch users run them.

    /usr/bin/python3 bench/torch_bench.py --model resnet50 [--threads 2]
        [--fixtures tests/parity/fixtures] [--cache build/bench/torch]
        [--warmup 3] [--repeat 10] [--mode all|forward|gradcam|load]
        [--images DIR --out DIR]

Weights: rebuilt with tools/make_parity_fixtures.py's own functions and seed
(build_model, randomize_parameters, the classifier rescale), so they are the
weights in the fixture's model.onnx; the logits on the fixture's input.npy
are checked against its logits.npy ("weights_check", relative).  The model
is pickled once into --cache; "load_ms" is torch.load of that file (the
fastest way torch gets a model back, no random init; `import torch` is not
counted).

Grad-CAM is timed as pytorch-grad-cam computes it: the input requires grad,
a forward hook keeps the layer's activation and a tensor hook its gradient,
model.zero_grad(), score.backward(retain_graph=True) - a full backward with
weight gradients - then alpha = spatial mean of the gradient, ReLU(sum alpha
A), min-max, bilinear resize to the input, min-max.

Prints one JSON object (times in ms, process CPU times too).
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import make_parity_fixtures as fx  # noqa: E402


def rebuild(name, fixtures):
    """The fixture's model, exactly as tools/make_parity_fixtures.py made it."""
    seed, side, _opset, _dyn, layer = fx.MODELS[name]
    man = {}
    mpath = os.path.join(fixtures, name, "manifest.json")
    if os.path.isfile(mpath):
        with open(mpath) as f:
            man = json.load(f)
    torch.manual_seed(seed)
    model = fx.build_model(name)
    gen = torch.Generator().manual_seed(seed)
    fx.randomize_parameters(model, gen, side, seed, man.get("batchnorm_init", "calibrated"))
    model.eval()
    x = fx.make_input(side, torch.Generator().manual_seed(seed + 50000))
    with torch.no_grad():
        logits = model(x)
    max_abs = float(logits.abs().max())
    if not np.isfinite(max_abs) or not (fx.LOGIT_MIN <= max_abs <= fx.LOGIT_MAX):
        head = fx.final_classifier(model)
        factor = 10.0 / max_abs
        with torch.no_grad():
            head.weight.mul_(factor)
            if head.bias is not None:
                head.bias.mul_(factor)
    return model, layer


def weights_check(model, name, fixtures):
    d = os.path.join(fixtures, name)
    try:
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy")))
        ref = np.load(os.path.join(d, "logits.npy")).astype(np.float64)
    except OSError:
        return None
    with torch.no_grad():
        y = model(x).numpy().astype(np.float64)
    return float(np.max(np.abs(y - ref)) / np.max(np.abs(ref)))


def layer_module(model, layer):
    if layer == "densenet_relu":
        return None  # captured by fx.Capture's patched forward
    return model.get_submodule(layer)


class GradCAM:
    """pytorch-grad-cam's ActivationsAndGradients + GradCAM, reduced to what
    it computes for one image and one target class."""

    def __init__(self, model, layer):
        self.model = model
        self.store = {}
        self.cap = fx.Capture(model, layer) if layer == "densenet_relu" else None
        if self.cap is None:
            layer_module(model, layer).register_forward_hook(self._save)

    def _save(self, module, inputs, output):
        self.store["a"] = output
        if output.requires_grad:
            output.register_hook(lambda g: self.store.__setitem__("g", g))

    def __call__(self, x, cls=None):
        x = x.clone().requires_grad_(True)
        out = self.model(x)
        if self.cap is not None:
            a = self.cap.feature()
            self.store["a"] = a
            a.register_hook(lambda g: self.store.__setitem__("g", g))
        if cls is None:
            cls = int(out[0].argmax())
        self.model.zero_grad()
        out[0, cls].backward(retain_graph=True)
        a, g = self.store["a"].detach(), self.store["g"]
        alpha = g.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((alpha * a).sum(dim=1, keepdim=True))
        cam = fx.scale(cam)
        cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
        return fx.scale(cam)[0, 0].detach()


def jet(v):
    """matplotlib-style jet colormap of v in [0, 1] -> uint8 RGB."""
    r = np.clip(1.5 - np.abs(4.0 * v - 3.0), 0, 1)
    g = np.clip(1.5 - np.abs(4.0 * v - 2.0), 0, 1)
    b = np.clip(1.5 - np.abs(4.0 * v - 1.0), 0, 1)
    return (np.stack([r, g, b], -1) * 255).astype(np.uint8)


def preprocess(img, side):
    from PIL import Image
    w, h = img.size
    s = 256.0 / min(w, h)
    img = img.resize((max(side, round(w * s)), max(side, round(h * s))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = (a - np.array(fx.IMAGENET_MEAN, np.float32)) / np.array(fx.IMAGENET_STD, np.float32)
    return torch.from_numpy(a.transpose(2, 0, 1).copy())[None]


def run_images(cam, images, out, side):
    from PIL import Image
    names = sorted(n for n in os.listdir(images) if n.lower().endswith((".png", ".jpg", ".jpeg")))
    t0 = time.perf_counter()
    for n in names:
        photo = Image.open(os.path.join(images, n)).convert("RGB")
        m = cam(preprocess(photo, side)).numpy()
        heat = Image.fromarray(jet(m)).resize(photo.size, Image.BILINEAR)
        Image.blend(photo, heat, 0.5).save(os.path.join(out, n + ".cam.png"))
    return len(names), time.perf_counter() - t0


def timed(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(fx.MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "parity", "fixtures"))
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "bench", "torch"))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--mode", default="all", choices=("all", "forward", "gradcam", "load"))
    ap.add_argument("--images")
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    os.makedirs(args.cache, exist_ok=True)
    path = os.path.join(args.cache, args.model + ".pt")
    res = {"model": args.model, "torch": torch.__version__, "threads": args.threads}
    if not os.path.isfile(path):
        model, _ = rebuild(args.model, args.fixtures)
        tmp = path + ".tmp"
        torch.save(model, tmp)
        os.replace(tmp, path)
    t0 = time.perf_counter()
    model = torch.load(path)
    model.eval()
    res["load_ms"] = (time.perf_counter() - t0) * 1e3
    layer = fx.MODELS[args.model][4]
    side = fx.MODELS[args.model][1]
    x = fx.make_input(side, torch.Generator().manual_seed(fx.MODELS[args.model][0] + 50000))
    if args.mode != "load":
        res["weights_check"] = weights_check(model, args.model, args.fixtures)

    if args.mode in ("all", "forward"):
        def fwd():
            with torch.no_grad():
                model(x)
        w, c = timed(fwd, args.warmup, args.repeat)
        res.update(forward_ms=w, forward_ms_median=statistics.median(w), forward_cpu_ms=c,
                   forward_cpu_ms_median=statistics.median(c))
    cam = GradCAM(model, layer)
    if args.mode in ("all", "gradcam"):
        w, c = timed(lambda: cam(x), args.warmup if args.repeat > 1 else 0, args.repeat)
        res.update(gradcam_ms=w, gradcam_ms_median=statistics.median(w), gradcam_cpu_ms=c,
                   gradcam_cpu_ms_median=statistics.median(c))
    if args.images and args.out:
        n, s = run_images(cam, args.images, args.out, side)
        res.update(images=n, images_s=s)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
