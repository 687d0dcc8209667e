#!/usr/bin/python3
"""PyTorch reference maps for every explanation method (dev-time only).

Builds on the Grad-CAM parity fixtures of tools/make_parity_fixtures.py: the
same seeded torchvision models, the same input.npy and the same layer. For
each model it rebuilds the torch model with that script's functions, checks
that it reproduces the stored input.npy and logits.npy, and writes into
<fixtures>/<model>/:

  method_<id>.npy   float32 map of method <id> for the manifest's top1 class
  method_<id>.f64.npy  the same computed with model and input in float64
                    (methods under F64_MAX_S seconds), a second reference
  sg_noise.npy      float32 NxCxHxW standard-normal noise for smoothgrad
  methods.json      per method: CLI name, class, options, shape, how to
                    compare, torch wall time (median of 3 runs, ms), and
                    how far the same computation in float64 lands

Methods: all of them on resnet18, mobilenet_v3_small and squeezenet1_1; the
gradient-based ones (plus gradcam, and cam where the net is GAP + linear) on
the other nine models. Every definition, and where it deviates from
pytorch-grad-cam, is written down in tests/parity/README.md ("Every method").

Must run under Debian's interpreter (torch 1.13, torchvision 0.14):

    /usr/bin/python3 tools/make_method_fixtures.py [--fixtures tests/parity/fixtures]
        [--models resnet18,vgg16] [--threads 1] [--runs 3] [--force]

Run tools/make_parity_fixtures.py first. A model is skipped when its
methods.json records the sha256 of this script and of the parity fixture's
manifest, and every file it lists is present.
"""

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_parity_fixtures as mpf  # noqa: E402

FULL_MODELS = ("resnet18", "mobilenet_v3_small", "squeezenet1_1")
# Nets whose Grad-CAM layer feeds global average pooling and then one linear
# layer (Flatten/Dropout in between are no-ops): Zhou et al.'s CAM applies.
GAP_LINEAR = ("resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0",
              "densenet121", "googlenet", "regnet_y_400mf", "inception_v3")
GRADIENT_METHODS = ("gradcam++", "xgradcam", "hirescam", "gradcam-elementwise",
                    "layercam", "eigengradcam", "eigencam", "guided-backprop",
                    "guided-gradcam", "saliency", "integrated-gradients")
ALL_METHODS = ("cam", "gradcam") + GRADIENT_METHODS[:7] + (
    "scorecam", "ablationcam") + GRADIENT_METHODS[7:] + ("smoothgrad",)

BATCH_SIZE = 32        # Score-CAM and Ablation-CAM (pytorch-grad-cam's AblationCAM default)
IG_STEPS = 16          # integrated gradients: right Riemann sum, alpha = k/N, k = 1..N
IG_CHUNK = 8           # IG steps per torch batch (memory only; no effect on the result)
SG_SAMPLES = 8         # smoothgrad samples
SG_NOISE = 0.15        # smoothgrad sigma = SG_NOISE * (max(x) - min(x))
SG_SEED_OFFSET = 70000
SLOW_S = 60.0          # outside FULL_MODELS, a method slower than this is dropped
F64_MAX_S = 20.0       # the float64 re-run is skipped for methods slower than this
KINK_REL = 1e-6        # a ReLU/ReLU6 input within KINK_REL * max|input| of a kink is "near"

# How the runner compares a map with ours (see tests/parity/run_methods.py):
#   direct  CAM-family maps, already in [0,1]: compared as they are
#   minmax  non-negative input-resolution maps: min-max normalised on both sides
#   maxabs  signed maps: each side divided by its own max |value|
COMPARE = {"guided-backprop": "maxabs", "guided-gradcam": "maxabs",
           "integrated-gradients": "maxabs", "saliency": "minmax", "smoothgrad": "minmax"}


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# --------------------------------------------------------------------------
# The model, rebuilt exactly as make_parity_fixtures.generate() builds it.

class Ctx:
    """Everything a method needs: the model with the layer hooked, the input
    and the target class. `layer_path` is the submodule that produces A."""

    def __init__(self, name, mdir):
        with open(os.path.join(mdir, "manifest.json")) as f:
            self.man = json.load(f)
        seed, side, _opset, _dyn, layer = mpf.MODELS[name]
        self.name = name
        self.layer_path = layer
        torch.manual_seed(seed)
        model = mpf.build_model(name)
        gen = torch.Generator().manual_seed(seed)
        mpf.randomize_parameters(model, gen, side, seed, self.man["batchnorm_init"])
        model.eval()
        x = mpf.make_input(side, torch.Generator().manual_seed(seed + 50000))
        with torch.no_grad():
            logits = model(x)
        # Same rescale rule as make_parity_fixtures.generate(); the checks
        # below catch any drift between the two scripts.
        max_abs = float(logits.abs().max())
        if not (mpf.LOGIT_MIN <= max_abs <= mpf.LOGIT_MAX):
            head = mpf.final_classifier(model)
            factor = 10.0 / max_abs
            with torch.no_grad():
                head.weight.mul_(factor)
                if head.bias is not None:
                    head.bias.mul_(factor)
                logits = model(x)
        ref_x = np.load(os.path.join(mdir, "input.npy"))
        if not np.array_equal(ref_x, x.numpy()):
            raise RuntimeError("%s: rebuilt input differs from input.npy" % name)
        ref_logits = np.load(os.path.join(mdir, "logits.npy")).astype(np.float64)
        err = float(np.max(np.abs(ref_logits - logits.double().numpy())))
        if err > 1e-5 * float(np.max(np.abs(ref_logits))):
            raise RuntimeError("%s: rebuilt model's logits differ from logits.npy by %g"
                               % (name, err))
        for p in model.parameters():
            p.requires_grad_(False)  # only activation/input gradients are needed
        self.logits = logits.detach().clone()
        self.model = model
        self.cap = mpf.Capture(model, layer)
        self.x = x
        self.hw = tuple(x.shape[2:])
        self.cls = int(self.man["classes"]["top1"])
        if int(torch.argmax(logits[0])) != self.cls:
            raise RuntimeError("%s: manifest top1 is not the argmax" % name)
        self.noise = None
        graph = onnx.load(os.path.join(mdir, "model.onnx"), load_external_data=False).graph
        self.onnx_relu = sum(n.op_type == "Relu" for n in graph.node)
        self.onnx_clip = sum(n.op_type == "Clip" for n in graph.node)


# --------------------------------------------------------------------------
# Shared pieces

def normalise(m, how):
    """The runner's comparison normalisation (tests/parity/run_methods.py)."""
    if how == "minmax":
        m = m - m.min()
        top = m.max()
    elif how == "maxabs":
        top = np.abs(m).max()
    else:
        return m
    return m / top if top > 0 else np.zeros_like(m)


def pearson(a, b):
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    if den == 0.0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.dot(a, b) / den)


def float64_check(ctx, fn, result, how):
    """Run the method again with the model and input in float64 and compare
    with the float32 result the way the runner does. A large difference
    means the map is ill-conditioned: float32 rounding alone moves it, so
    no float32 engine can be expected to match it closely."""
    x32 = ctx.x
    ctx.model.double()
    ctx.x = x32.double()
    try:
        out, _ = fn(ctx)
        out = out.detach().double().numpy()
    finally:
        ctx.model.float()
        ctx.x = x32
    a, b = normalise(result, how), normalise(out, how)
    return ({"pearson": round(pearson(a, b), 7), "max_abs_diff": float("%.3g" % np.max(np.abs(a - b)))},
            out)


def near_kinks(ctx):
    """How many ReLU / ReLU6 inputs at x lie within KINK_REL * max|input|
    of a kink (0, or 6 for ReLU6): float32 rounding may put such a unit on
    either side, which switches the input gradient over its receptive field
    on or off in one engine and not the other."""
    found = [0, 0]
    orig_relu, orig_hardtanh = F.relu, F.hardtanh

    def look(t, kinks):
        tol = KINK_REL * float(t.detach().abs().max())
        found[0] += sum(int(((t.detach() - k).abs() < tol).sum()) for k in kinks)
        found[1] += 1

    def relu(inp, inplace=False):
        look(inp, (0.0,))
        return orig_relu(inp)

    def hardtanh(inp, min_val=-1.0, max_val=1.0, inplace=False):
        if min_val == 0.0:
            look(inp, (0.0, max_val))
        return orig_hardtanh(inp, min_val, max_val, False)

    F.relu, F.hardtanh = relu, hardtanh
    try:
        with torch.no_grad():
            ctx.model(ctx.x)
    finally:
        F.relu, F.hardtanh = orig_relu, orig_hardtanh
    return {"near_kink_units": found[0], "kink_layers": found[1]}


def finish(raw, hw):
    """pytorch-grad-cam's post-processing of a u x v map (float64): ReLU,
    min-max, bilinear half-pixel resize to the input, min-max again."""
    cam = mpf.scale(raw.clamp(min=0.0))
    cam = F.interpolate(cam[None, None], size=hw, mode="bilinear",
                        align_corners=False, antialias=False)[0, 0]
    return mpf.scale(cam)


def act_grad(ctx, x=None):
    """A and dy/dA (float64, K x u x v) for y = logit[cls], one forward and
    one backward, like pytorch-grad-cam's ActivationsAndGradients."""
    # The parameters do not require grad, so the input must, for A to be
    # part of a graph; autograd.grad then runs only the logit -> A part.
    x = (ctx.x if x is None else x).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = ctx.model(x)
        a = ctx.cap.feature()
        (g,) = torch.autograd.grad(logits[0, ctx.cls], a)
    return a.detach().double()[0], g.double()[0]


def projection(m):
    """get_2d_projection of a K x u x v tensor (float64): the centred
    (u*v) x K matrix projected on its first right singular vector. The sign,
    arbitrary in LAPACK, is fixed so that the projection correlates
    positively with sum_k m_k; on an exact tie the entry of largest |value|
    (first in C order) is made positive."""
    k = m.shape[0]
    x = m.reshape(k, -1).T
    x = torch.nan_to_num(x, nan=0.0)
    x = x - x.mean(dim=0)
    _u, _s, vh = torch.linalg.svd(x, full_matrices=False)
    p = x @ vh[0]
    s = m.reshape(k, -1).sum(dim=0)
    c = float(torch.dot(p, s - s.mean()))
    if c < 0 or (c == 0 and float(p[int(torch.argmax(p.abs()))]) < 0):
        p = -p
    return p.reshape(m.shape[1:])


def input_grads(ctx, xs):
    """dy/dx for a batch of inputs xs (B x 3 x H x W), y = logit[cls] of each."""
    xs = xs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = ctx.model(xs)
        (g,) = torch.autograd.grad(logits[:, ctx.cls].sum(), xs)
    return g


class _GuidedClip(torch.autograd.Function):
    """pytorch-grad-cam's GuidedBackpropReLU, generalised to a clip at
    [lo, hi] with lo = 0 (hi = inf: ReLU, hi = 6: ReLU6): forward
    clamp(x, lo, hi), backward grad_out * 1[lo < x < hi] * 1[grad_out > 0]."""

    @staticmethod
    def forward(fctx, x, lo, hi):
        fctx.save_for_backward(x)
        fctx.lo, fctx.hi = lo, hi
        return x.clamp(min=lo) if hi is None else x.clamp(min=lo, max=hi)

    @staticmethod
    def backward(fctx, g):
        (x,) = fctx.saved_tensors
        keep = (x > fctx.lo) if fctx.hi is None else (x > fctx.lo) & (x < fctx.hi)
        return g * keep.to(g.dtype) * (g > 0).to(g.dtype), None, None


@contextlib.contextmanager
def guided_relus(counter):
    """Every ReLU of the net, module or functional (F.relu is what nn.ReLU
    calls, and what googlenet, inception_v3 and densenet call directly),
    and every ReLU6 (nn.ReLU6 calls F.hardtanh(x, 0, 6)) gets the guided
    backward rule: i.e. every Relu node, and every Clip node with min 0, of
    the ONNX graph. Other activations (Hardswish, Hardsigmoid, SiLU, GELU,
    Sigmoid) keep their ordinary gradient. counter: [#relu, #relu6] calls."""
    orig_relu, orig_hardtanh, orig_relu6 = F.relu, F.hardtanh, F.relu6

    def relu(inp, inplace=False):
        counter[0] += 1
        return _GuidedClip.apply(inp, 0.0, None)

    def hardtanh(inp, min_val=-1.0, max_val=1.0, inplace=False):
        if min_val != 0.0:
            return orig_hardtanh(inp, min_val, max_val, False)
        counter[1] += 1
        return _GuidedClip.apply(inp, 0.0, float(max_val))

    def relu6(inp, inplace=False):
        return hardtanh(inp, 0.0, 6.0)

    F.relu, F.hardtanh, F.relu6 = relu, hardtanh, relu6
    try:
        yield
    finally:
        F.relu, F.hardtanh, F.relu6 = orig_relu, orig_hardtanh, orig_relu6


# --------------------------------------------------------------------------
# The methods. Each returns (map as a float64/float32 torch tensor, meta dict).

def m_gradcam(ctx):
    a, g = act_grad(ctx)
    alpha = g.mean(dim=(1, 2))
    return finish((alpha[:, None, None] * a).sum(0), ctx.hw), {}


def m_cam(ctx):
    with torch.no_grad():
        ctx.model(ctx.x)
        a = ctx.cap.feature().double()[0]
    head = mpf.final_classifier(ctx.model)
    w = head.weight.detach().double()[ctx.cls]
    if w.ndim != 1 or w.numel() != a.shape[0]:
        raise RuntimeError("%s: classifier row has %d weights, layer %d channels"
                           % (ctx.name, w.numel(), a.shape[0]))
    return finish((w[:, None, None] * a).sum(0), ctx.hw), {}


def m_gradcampp(ctx):
    a, g = act_grad(ctx)
    g2 = g * g
    g3 = g2 * g
    sum_a = a.sum(dim=(1, 2))
    aij = g2 / (2 * g2 + sum_a[:, None, None] * g3 + 1e-6)
    aij = torch.where(g != 0, aij, torch.zeros_like(aij))
    w = (g.clamp(min=0) * aij).sum(dim=(1, 2))
    return finish((w[:, None, None] * a).sum(0), ctx.hw), {}


def m_xgradcam(ctx):
    a, g = act_grad(ctx)
    sum_a = a.sum(dim=(1, 2))
    w = (g * a / (sum_a[:, None, None] + 1e-7)).sum(dim=(1, 2))
    return finish((w[:, None, None] * a).sum(0), ctx.hw), {}


def m_hirescam(ctx):
    a, g = act_grad(ctx)
    return finish((g * a).sum(0), ctx.hw), {}


def m_elementwise(ctx):
    a, g = act_grad(ctx)
    return finish((g * a).clamp(min=0).sum(0), ctx.hw), {}


def m_layercam(ctx):
    a, g = act_grad(ctx)
    return finish((g.clamp(min=0) * a).sum(0), ctx.hw), {}


def m_eigencam(ctx):
    with torch.no_grad():
        ctx.model(ctx.x)
        a = ctx.cap.feature().double()[0]
    return finish(projection(a), ctx.hw), {}


def m_eigengradcam(ctx):
    a, g = act_grad(ctx)
    return finish(projection(g * a), ctx.hw), {}


def m_gradcam_eigen_smooth(ctx):
    a, g = act_grad(ctx)
    alpha = g.mean(dim=(1, 2))
    return finish(projection(alpha[:, None, None] * a), ctx.hw), {}


def m_gradcam_aug_smooth(ctx):
    """ttach Compose([HorizontalFlip(), Multiply([0.9, 1, 1.1])]): 6 inputs,
    each a full Grad-CAM (normalised), un-flipped, averaged, NOT renormalised."""
    cams = []
    for flip in (False, True):
        for factor in (0.9, 1.0, 1.1):
            xa = ctx.x.flip(3) if flip else ctx.x
            xa = xa * factor
            a, g = act_grad(ctx, xa)
            alpha = g.mean(dim=(1, 2))
            cam = finish((alpha[:, None, None] * a).sum(0), ctx.hw).float()
            cams.append(cam.flip(-1) if flip else cam)
    return torch.stack(cams).mean(dim=0), {"augmentations": 6}


def m_scorecam(ctx, batch=BATCH_SIZE):
    """pytorch-grad-cam ScoreCAM: masks = A upsampled with
    UpsamplingBilinear2d (align_corners=True), min-max per channel with
    1e-8; every masked input x * mask_k built at once; score_k = logit[cls]
    of x * mask_k; weights = softmax over k of the scores (float32)."""
    model, x = ctx.model, ctx.x
    with torch.no_grad():
        model(x)
        act = ctx.cap.feature().detach().clone()  # 1 x K x u x v
        up = F.interpolate(act, size=x.shape[-2:], mode="bilinear", align_corners=True)
        flat = up.view(up.size(0), up.size(1), -1)
        maxs = flat.max(dim=-1)[0][:, :, None, None]
        mins = flat.min(dim=-1)[0][:, :, None, None]
        up = (up - mins) / (maxs - mins + 1e-8)
        inputs = x[:, None, :, :] * up[:, :, None, :, :]  # 1 x K x 3 x H x W
        scores = []
        tensor = inputs[0]
        for i in range(0, tensor.size(0), batch):
            out = model(tensor[i:i + batch])
            scores.extend(float(v) for v in out[:, ctx.cls])
        scores = torch.tensor(scores, dtype=torch.float32)
        w = torch.softmax(scores, dim=-1)
    a = act.double()[0]
    raw = (w.double()[:, None, None] * a).sum(0)
    return finish(raw, ctx.hw), {"score_min": float(scores.min()),
                                 "score_max": float(scores.max()),
                                 "weight_max": float(w.max())}


class _Ablation(torch.nn.Module):
    """Stands in for the target layer, like pytorch-grad-cam's AblationLayer:
    returns the prepared batch of ablated activations, ignoring its input."""

    def __init__(self):
        super().__init__()
        self.out = None

    def forward(self, x):
        return self.out


def ablate_batch(act, first, n):
    """AblationLayer.__call__ on rows 0..n-1 of A repeated n times: row r gets
    channel first+r set to 0 if min(whole batch tensor) == 0, else to
    min(whole batch tensor) - 1e7. The min is re-evaluated after each row
    (float32), so with a non-zero min row r gets about min(A) - (r+1)*1e7."""
    out = act.repeat(n, 1, 1, 1)
    for r in range(n):
        if torch.min(out) == 0:
            out[r, first + r, :] = 0
        else:
            out[r, first + r, :] = torch.min(out) - 1e7
    return out


def m_ablationcam(ctx, batch=BATCH_SIZE, zero=False):
    """pytorch-grad-cam AblationCAM (ratio_channels_to_ablate = 1): the
    target module is replaced by the ablation layer and the whole network
    runs for every batch of `batch` ablated channels (the layers before the
    target are re-run each time). weight_k = (s - s_k) / s in float32, s the
    target logit, s_k the logit with channel k ablated. zero=True: the
    paper's form, every ablated channel set to 0 whatever min(A) is."""
    model, x = ctx.model, ctx.x
    path = ctx.layer_path
    parent = model.get_submodule(path.rpartition(".")[0]) if "." in path else model
    attr = path.rpartition(".")[2]
    with torch.no_grad():
        model(x)  # BaseCAM.forward: activations through the hook
        model(x)  # get_cam_weights: original scores, activations saved again
        act = ctx.cap.feature().detach().clone()
        original = np.float32(float(model(x)[0, ctx.cls]))
    k = act.shape[1]
    target = getattr(parent, attr)
    abl = _Ablation()
    setattr(parent, attr, abl)
    try:
        new_scores = []
        zero_rule = zero or bool(torch.min(act) == 0)
        with torch.no_grad():
            for i in range(0, k, batch):
                n = min(batch, k - i)
                if zero:
                    abl.out = act.repeat(n, 1, 1, 1)
                    for r in range(n):
                        abl.out[r, i + r] = 0
                else:
                    abl.out = ablate_batch(act, i, n)
                out = model(x.repeat(n, 1, 1, 1))
                new_scores.extend(float(v) for v in out[:, ctx.cls])
    finally:
        setattr(parent, attr, target)
    new = np.float32(new_scores)
    w = (original - new) / original  # float32, as the library
    a = act.double()[0]
    raw = (torch.from_numpy(w.astype(np.float64))[:, None, None] * a).sum(0)
    return finish(raw, ctx.hw), {"ablated_to": "0" if zero_rule else "min-(r+1)*1e7",
                                 "original_score": float(original)}


def m_guided_backprop(ctx):
    count = [0, 0]
    with guided_relus(count):
        g = input_grads(ctx, ctx.x)[0]
    # No ReLU at all (efficientnet_b0: SiLU, convnext_tiny: GELU): the
    # result is the plain input gradient.
    if count != [ctx.onnx_relu, ctx.onnx_clip]:
        raise RuntimeError("%s: guided %d ReLU and %d ReLU6, the ONNX graph has %d Relu "
                           "and %d Clip" % (ctx.name, count[0], count[1],
                                            ctx.onnx_relu, ctx.onnx_clip))
    return g, {"guided_relu_calls": count[0], "guided_relu6_calls": count[1]}


def m_guided_gradcam(ctx):
    cam, _ = m_gradcam(ctx)
    gb, meta = m_guided_backprop(ctx)
    return cam[None].float() * gb, meta


def m_saliency(ctx):
    g = input_grads(ctx, ctx.x)[0]
    return g.abs().amax(dim=0), near_kinks(ctx)


def m_integrated_gradients(ctx, steps=IG_STEPS):
    x = ctx.x
    base = torch.zeros_like(x)
    total = torch.zeros_like(x, dtype=torch.float64)
    alphas = [k / steps for k in range(1, steps + 1)]
    for i in range(0, steps, IG_CHUNK):
        al = torch.tensor(alphas[i:i + IG_CHUNK], dtype=torch.float32)[:, None, None, None]
        xs = base + al * (x - base)
        total += input_grads(ctx, xs).double().sum(dim=0, keepdim=True)
    ig = (x - base).double() * total / steps
    return ig[0].sum(dim=0), {"sum": float(ig.sum())}


def m_smoothgrad(ctx, samples=SG_SAMPLES, noise=SG_NOISE):
    x = ctx.x
    sigma = np.float32(noise * (float(x.max()) - float(x.min())))
    z = torch.from_numpy(ctx.noise)
    xs = x + float(sigma) * z
    g = input_grads(ctx, xs).double().mean(dim=0)
    return g.abs().amax(dim=0), {"sigma": float(sigma)}


METHODS = {
    "cam": m_cam, "gradcam": m_gradcam, "gradcam++": m_gradcampp,
    "xgradcam": m_xgradcam, "hirescam": m_hirescam,
    "gradcam-elementwise": m_elementwise, "layercam": m_layercam,
    "eigencam": m_eigencam, "eigengradcam": m_eigengradcam,
    "scorecam": m_scorecam, "ablationcam": m_ablationcam,
    "guided-backprop": m_guided_backprop, "guided-gradcam": m_guided_gradcam,
    "saliency": m_saliency, "integrated-gradients": m_integrated_gradients,
    "smoothgrad": m_smoothgrad,
}
# id -> (CLI method, function, options passed to the CLI)
VARIANTS = {
    "gradcam.eigen-smooth": ("gradcam", m_gradcam_eigen_smooth, {"eigen_smooth": True}),
    "gradcam.aug-smooth": ("gradcam", m_gradcam_aug_smooth, {"aug_smooth": True}),
    "ablationcam.zero": ("ablationcam", lambda ctx: m_ablationcam(ctx, zero=True),
                         {"batch_size": BATCH_SIZE, "ablation_value": "zero"}),
}
# Variants beyond the eigen/aug-smooth ones, per model. mobilenet_v3_small's
# layer ends in Hardswish (min(A) < 0), so the library ablates to a huge
# negative value and its map is all zero after the ReLU; the paper's zero
# ablation gives a map worth comparing.
EXTRA_VARIANTS = {"mobilenet_v3_small": ("ablationcam.zero",)}
OPTIONS = {
    "scorecam": {"batch_size": BATCH_SIZE},
    "ablationcam": {"batch_size": BATCH_SIZE},
    "integrated-gradients": {"steps": IG_STEPS, "baseline": "zero"},
    "smoothgrad": {"samples": SG_SAMPLES, "noise": SG_NOISE, "noise_file": "sg_noise.npy"},
}


def plan(name):
    """[(id, CLI method, function or None for an expected error, options)]"""
    if name in FULL_MODELS:
        ids = list(ALL_METHODS)
        variants = ["gradcam.eigen-smooth", "gradcam.aug-smooth"]
        variants += list(EXTRA_VARIANTS.get(name, ()))
    else:
        ids = ["gradcam"] + list(GRADIENT_METHODS)
        if name in GAP_LINEAR:
            ids.insert(0, "cam")
        variants = []
    out = []
    for mid in ids:
        if mid == "cam" and name not in GAP_LINEAR:
            out.append((mid, mid, None, {}))
        else:
            out.append((mid, mid, METHODS[mid], dict(OPTIONS.get(mid, {}))))
    for vid in variants:
        method, fn, opts = VARIANTS[vid]
        out.append((vid, method, fn, dict(opts)))
    if name not in GAP_LINEAR and "cam" not in ids:
        out.append(("cam", "cam", None, {}))
    return out


# --------------------------------------------------------------------------

def expected_files(entries):
    return ([e["file"] for e in entries if "file" in e] +
            [e["file_f64"] for e in entries if "file_f64" in e])


def up_to_date(mdir, sha, parity_sha):
    try:
        with open(os.path.join(mdir, "methods.json")) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return False
    if doc.get("script_sha256") != sha or doc.get("parity_sha256") != parity_sha:
        return False
    files = expected_files(doc.get("methods", [])) + doc.get("extra_files", [])
    return all(os.path.isfile(os.path.join(mdir, f)) for f in files)


def generate(name, mdir, sha, runs, threads, only=None):
    t_start = time.perf_counter()
    ctx = Ctx(name, mdir)
    extra_files = []
    entries = []
    steps = plan(name)
    if only:
        steps = [s for s in steps if s[0] in only or s[1] in only]
    if any(mid == "smoothgrad" for mid, _m, fn, _o in steps if fn):
        seed = mpf.MODELS[name][0]
        z = torch.randn((SG_SAMPLES,) + tuple(ctx.x.shape[1:]),
                        generator=torch.Generator().manual_seed(seed + SG_SEED_OFFSET))
        ctx.noise = np.ascontiguousarray(z.numpy().astype(np.float32))
        np.save(os.path.join(mdir, "sg_noise.npy"), ctx.noise)
        extra_files.append("sg_noise.npy")
    gradcam_ref = np.load(os.path.join(mdir, "cam_top1.npy"))
    for mid, method, fn, opts in steps:
        entry = {"id": mid, "method": method, "class": ctx.cls, "options": opts}
        if fn is None:
            entry["expect"] = "error"
            entry["reason"] = "not a GAP + linear network: cam must be refused"
            entries.append(entry)
            print("  %-24s expect error" % mid, flush=True)
            continue
        times, result, meta = [], None, {}
        for r in range(runs):
            t0 = time.perf_counter()
            out, meta = fn(ctx)
            times.append((time.perf_counter() - t0) * 1e3)
            out = out.detach().double().numpy()
            if result is None:
                result = out
            elif not np.allclose(out, result, rtol=1e-6, atol=1e-9):
                raise RuntimeError("%s %s: runs disagree (max diff %g)"
                                   % (name, mid, np.max(np.abs(out - result))))
            if times[0] > SLOW_S * 1e3 and name not in FULL_MODELS:
                break
        if times[0] > SLOW_S * 1e3 and name not in FULL_MODELS:
            entry["dropped"] = "took %.0f s in torch (limit %.0f s)" % (times[0] / 1e3, SLOW_S)
            entries.append(entry)
            print("  %-24s DROPPED: %s" % (mid, entry["dropped"]), flush=True)
            continue
        if not np.all(np.isfinite(result)):
            raise RuntimeError("%s %s: non-finite map" % (name, mid))
        how = COMPARE.get(method, "direct")
        if times[0] <= F64_MAX_S * 1e3:
            entry["float64"], out64 = float64_check(ctx, fn, result, how)
            # kept as a second reference: where float32 rounding alone moves
            # the map (ReLU kinks under input gradients), the runner also
            # accepts a map that matches the definition computed in float64
            f64name = "method_%s.f64.npy" % mid
            np.save(os.path.join(mdir, f64name), np.ascontiguousarray(out64.astype(np.float64)))
            entry["file_f64"] = f64name
        else:
            entry["float64"] = "not run: %.0f s in float32" % (times[0] / 1e3)
        if mid == "gradcam":
            diff = float(np.max(np.abs(result - gradcam_ref)))
            if diff > 1e-5:
                raise RuntimeError("%s: gradcam differs from cam_top1.npy by %g" % (name, diff))
        fname = "method_%s.npy" % mid
        np.save(os.path.join(mdir, fname), np.ascontiguousarray(result.astype(np.float32)))
        entry.update({
            "file": fname, "shape": list(result.shape),
            "compare": how,
            "torch_ms": round(statistics.median(times), 3),
            "torch_ms_runs": [round(t, 3) for t in times],
            "min": float(result.min()), "max": float(result.max()),
        })
        if meta:
            entry["meta"] = meta
        entries.append(entry)
        print("  %-24s %10.1f ms  %s  float64 %s%s"
              % (mid, entry["torch_ms"], "x".join(map(str, result.shape)),
                 json.dumps(entry["float64"]), "  " + json.dumps(meta) if meta else ""),
              flush=True)
    with torch.no_grad():
        if not torch.equal(ctx.model(ctx.x), ctx.logits):
            raise RuntimeError("%s: the model changed while generating" % name)
    doc = {
        "model": name,
        "class": ctx.cls,
        "layer": ctx.man["layer"],
        "layer_shape": ctx.man["layer_shape"],
        "methods": entries,
        "extra_files": extra_files,
        "torch_threads": threads,
        "timing_runs": runs,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "parity_sha256": ctx.man["script_sha256"],
        "script_sha256": sha,
    }
    if only:
        print("%-19s --methods given: maps written, methods.json left alone" % name)
    else:
        with open(os.path.join(mdir, "methods.json"), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    files = expected_files(entries) + extra_files + ([] if only else ["methods.json"])
    size = sum(os.path.getsize(os.path.join(mdir, f)) for f in files)
    print("%-19s done  %6.1fs  %d maps  %.2f MB" % (name, time.perf_counter() - t_start,
                                                   len(expected_files(entries)), size / 1e6),
          flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixtures", default=os.path.join(here, "..", "tests", "parity", "fixtures"))
    ap.add_argument("--models", default=",".join(mpf.MODELS),
                    help="comma-separated subset of: " + ",".join(mpf.MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per method (median)")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    ap.add_argument("--methods", help="debugging: only these ids (implies --force; "
                    "methods.json is not written)")
    args = ap.parse_args()
    only = set(m for m in (args.methods or "").split(",") if m)
    names = [m for m in args.models.split(",") if m]
    unknown = [m for m in names if m not in mpf.MODELS]
    if unknown:
        ap.error("unknown model(s): " + ",".join(unknown))
    torch.set_num_threads(args.threads)
    sha = sha256_file(os.path.abspath(__file__))
    failed = 0
    for name in names:
        mdir = os.path.join(os.path.normpath(args.fixtures), name)
        try:
            with open(os.path.join(mdir, "manifest.json")) as f:
                parity_sha = json.load(f)["script_sha256"]
        except (OSError, ValueError, KeyError):
            failed += 1
            print("%-19s FAILED: no parity fixture (run tools/make_parity_fixtures.py)" % name,
                  flush=True)
            continue
        if not args.force and not only and up_to_date(mdir, sha, parity_sha):
            print("%-19s up to date" % name, flush=True)
            continue
        print("%-19s generating" % name, flush=True)
        try:
            generate(name, mdir, sha, args.runs, args.threads, only)
        except Exception as e:  # keep going; report at the end
            failed += 1
            print("%-19s FAILED: %s: %s" % (name, type(e).__name__, e), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
