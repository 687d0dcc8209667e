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


class ScoreCAM:
    """pytorch-grad-cam's ScoreCAM: each activation channel, upsampled to the
    input and min-max normalised, masks the input; the masked inputs run
    through the whole network in batches; softmax over channels of the
    target logits weights the channels."""

    def __init__(self, model, layer, batch_size=32):
        self.model, self.batch_size, self.store = model, batch_size, {}
        layer_module(model, layer).register_forward_hook(lambda m, i, o: self.store.__setitem__("a", o))

    def __call__(self, x, cls=None):
        with torch.no_grad():
            out = self.model(x)
            cls = int(out[0].argmax()) if cls is None else cls
            a = self.store["a"]
            up = F.interpolate(a, size=x.shape[2:], mode="bilinear", align_corners=True)
            flat = up.view(up.size(0), up.size(1), -1)
            mx, mn = flat.max(-1)[0][:, :, None, None], flat.min(-1)[0][:, :, None, None]
            up = (up - mn) / (mx - mn + 1e-8)
            masked = x[:, None] * up[:, :, None]  # 1 x K x 3 x H x W
            scores = []
            for i in range(0, masked.size(1), self.batch_size):
                scores.append(self.model(masked[0, i:i + self.batch_size])[:, cls])
            w = torch.softmax(torch.cat(scores), dim=0)
            cam = torch.relu((w[None, :, None, None] * a).sum(1, keepdim=True))
            return fx.scale(F.interpolate(fx.scale(cam), size=x.shape[2:], mode="bilinear", align_corners=False))


class AblationCAM:
    """pytorch-grad-cam's AblationCAM: the layer is replaced by one that
    returns the cached activation with one channel per batch item ablated
    (to min - 1e7), and the whole network runs on the batch, prefix
    included, once per batch of channels; weight = (y - y_ablated) / y."""

    def __init__(self, model, layer, batch_size=32):
        self.model, self.batch_size, self.store, self.ablate = model, batch_size, {}, None
        layer_module(model, layer).register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        if self.ablate is None:
            self.store["a"] = output
            return None
        a = self.store["a"].repeat(len(self.ablate), 1, 1, 1)
        low = torch.min(a) - 1e7
        for j, k in enumerate(self.ablate):
            a[j, k] = low
        return a

    def __call__(self, x, cls=None):
        with torch.no_grad():
            self.ablate = None
            out = self.model(x)
            cls = int(out[0].argmax()) if cls is None else cls
            y = float(out[0, cls])
            a = self.store["a"]
            k = a.size(1)
            scores = []
            for i in range(0, k, self.batch_size):
                self.ablate = list(range(i, min(k, i + self.batch_size)))
                batch = x.repeat(len(self.ablate), 1, 1, 1)
                scores.append(self.model(batch)[:, cls])
            self.ablate = None
            w = (y - torch.cat(scores)) / y
            cam = torch.relu((w[None, :, None, None] * a).sum(1, keepdim=True))
            return fx.scale(F.interpolate(fx.scale(cam), size=x.shape[2:], mode="bilinear", align_corners=False))


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(fx.MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "parity", "fixtures"))
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "bench", "torch"))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--mode", default="all", choices=("all", "forward", "gradcam", "load"))
    ap.add_argument("--method", default="gradcam", choices=("gradcam", "scorecam", "ablationcam"),
                    help="what the gradcam timings run (keys keep the name gradcam)")
    ap.add_argument("--batch-size", type=int, default=32, help="scorecam/ablationcam batch")
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

    def fwd():
        with torch.no_grad():
            model(x)
    cam = {"gradcam": lambda: GradCAM(model, layer),
           "scorecam": lambda: ScoreCAM(model, layer, args.batch_size),
           "ablationcam": lambda: AblationCAM(model, layer, args.batch_size)}[args.method]()
    # forward and Grad-CAM alternate, as in gcam_bench: both see the same machine
    jobs = [(k, f) for k, f in (("forward", fwd), ("gradcam", lambda: cam(x)))
            if args.mode in ("all", k)]
    if jobs:
        warmup = args.warmup if args.repeat > 1 else 0
        times = {k: ([], []) for k, _ in jobs}
        for i in range(warmup + args.repeat):
            for k, f in jobs:
                c0, t0 = time.process_time(), time.perf_counter()
                f()
                if i >= warmup:
                    times[k][0].append((time.perf_counter() - t0) * 1e3)
                    times[k][1].append((time.process_time() - c0) * 1e3)
        for k, (w, c) in times.items():
            res.update({k + "_ms": w, k + "_ms_median": statistics.median(w), k + "_cpu_ms": c,
                        k + "_cpu_ms_median": statistics.median(c)})
    if args.images and args.out:
        n, s = run_images(cam, args.images, args.out, side)
        res.update(images=n, images_s=s)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
