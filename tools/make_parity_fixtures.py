#!/usr/bin/python3
"""Generate PyTorch parity fixtures for gradcam (dev-time only).

For each torchvision architecture this writes, into <out>/<model>/:

  model.onnx              exported with BatchNormalization kept in the graph
  input.npy               1x3xHxW float32, a smooth random image, ImageNet-normalised
  logits.npy              1x1000 float32, torch's logits on input.npy
  feature.npy             1xKxUxV float32, the Grad-CAM layer's activation A
  alpha_<tag>.npy         K float32, channel weights (mean over u,v of dy/dA)
  cam_noReLU_raw_<tag>.npy  UxV float32, sum_k alpha_k A_k
  cam_raw_<tag>.npy       UxV float32, relu of the above
  cam_<tag>.npy           HxW float32, pytorch-grad-cam post-processing
  manifest.json           names, shapes, classes, timings, script hash

Tags: "top1" (argmax class), "other" (the class with the 5th highest logit) and,
where one exists, "mixed" (a mid-ranked class whose map before ReLU has both
signs, so the ReLU is exercised; top classes of a random net are all-positive).

Weights are seeded random (no pretrained weights are needed or downloaded).
Must run under Debian's interpreter: /usr/bin/python3 (torch, torchvision, onnx).

    /usr/bin/python3 tools/make_parity_fixtures.py [--out tests/parity/fixtures]
        [--models resnet18,vgg16] [--threads 2] [--bn-init calibrated|literal] [--force]

A model is skipped when its manifest.json records the sha256 of this script and
every fixture file is present, so a second `make test` costs nothing here.
"""

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import types
import warnings

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
import onnx

# name -> (seed, input side, opset, dynamic batch axis, Grad-CAM layer path)
# The layer path names a submodule whose forward output is the feature map;
# "densenet_relu" is the functional relu DenseNet applies after `features`.
# vgg16's "avgpool" (AdaptiveAvgPool2d(7) of the 7x7 features: the same
# values) is the layer `gradcam layers` picks, the one that feeds Flatten ->
# Gemm, where Grad-CAM takes its linear-head shortcut (src/cam/headsum.c).
MODELS = {
    "resnet18":           (1001, 224, 17, True,  "layer4"),
    "resnet50":           (1002, 224, 17, False, "layer4"),
    "vgg16":              (1003, 224, 17, False, "avgpool"),
    "mobilenet_v2":       (1004, 224, 13, False, "features"),
    "mobilenet_v3_small": (1005, 224, 17, False, "features"),
    "efficientnet_b0":    (1006, 224, 17, False, "features"),
    "densenet121":        (1007, 224, 17, False, "densenet_relu"),
    "squeezenet1_1":      (1008, 224, 11, False, "features"),
    "googlenet":          (1009, 224, 17, False, "inception5b"),
    "convnext_tiny":      (1010, 224, 17, False, "features"),
    "regnet_y_400mf":     (1011, 224, 17, False, "trunk_output"),
    "inception_v3":       (1012, 299, 17, False, "Mixed_7c"),
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LOGIT_MIN, LOGIT_MAX = 1e-2, 1e4
OTHER_RANK = 5  # "other" target: the class with the 5th highest logit
FIXTURE_FILES = ("model.onnx", "input.npy", "logits.npy", "feature.npy")
TAG_FILES = ("alpha_{}.npy", "cam_noReLU_raw_{}.npy", "cam_raw_{}.npy", "cam_{}.npy")


def script_sha256():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_model(name):
    ctor = getattr(torchvision.models, name)
    if name in ("googlenet", "inception_v3"):
        return ctor(weights=None, aux_logits=False, init_weights=True)
    return ctor(weights=None)


def batchnorms(model):
    return [m for m in model.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def randomize_parameters(model, gen, side, seed, mode):
    """Give every BN non-trivial statistics and affine terms, so an engine
    that skipped or mis-folded BN would show up in the logits; and give
    every Conv/Linear bias that torchvision initialised to zero a small
    random value, so bias handling is tested too (vgg16 and squeezenet1_1
    have no BN, and zero biases also make the exporter deduplicate them into
    Identity nodes). LayerNorm and ConvNeXt layer_scale: see
    affine_and_layer_scale.

    BN mode "literal": running_mean ~ N(0,0.1), running_var ~ U(0.5,1.5).
    Those ignore the scale of the activations a random net actually
    produces, so in the deeper mobile nets the BN biases swamp the signal:
    feature maps come out nearly constant and inception_v3's logits reach
    ~1e13.

    BN mode "calibrated" (default): one eval-mode pass over a few seeded
    images in which every BN, just before it runs, takes the true statistics
    of the input it actually receives (all upstream layers already final)
    and perturbs them on that scale: mean += N(0,0.1)*std, var *= U(0.5,1.5).
    Calibrating every BN in train mode at once and perturbing afterwards
    lets the per-layer deviations compound with depth (efficientnet_b0's
    activations reached 3.5e5, regnet_y_400mf's logits 4651), which makes
    the float32 reference itself uncertain at the 1e-4 tolerance.
    Weight ~ U(0.5,1.5) and bias ~ N(0,0.1) in both modes.

    Zero Conv/Linear biases become N(0, (0.1*s)^2), s the std of that
    layer's output on the same images, set in the same pass so downstream
    BNs see them. Returns (#BN, #biases set)."""
    bns = batchnorms(model)
    affine_and_layer_scale(model, gen)
    if mode == "literal":
        perturb_batchnorm(bns, gen, relative=False)
    zero_bias = [m for m in model.modules()
                 if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
                 and m.bias is not None and not bool(m.bias.any())]
    hooks = []

    def set_bias(mod, inputs, out):
        n = mod.bias.numel()
        b = torch.randn(n, generator=gen) * 0.1 * float(out.std())
        mod.bias.copy_(b)
        if isinstance(mod, torch.nn.Linear):  # features last, any leading dims
            shape = (1,) * (out.dim() - 1) + (n,)
        else:
            shape = (1, n) + (1,) * (out.dim() - 2)
        return out + b.view(shape)

    def calibrate_bn(mod, inputs):
        x = inputs[0]
        dims = [d for d in range(x.dim()) if d != 1]
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, unbiased=False).clamp(min=1e-6)
        mod.running_mean.copy_(mean)
        mod.running_var.copy_(var)
        perturb_batchnorm([mod], gen, relative=True)

    for m in zero_bias:
        hooks.append(m.register_forward_hook(set_bias))
    if mode == "calibrated":
        for m in bns:
            hooks.append(m.register_forward_pre_hook(calibrate_bn))
    model.eval()
    batch = torch.cat([make_input(side, torch.Generator().manual_seed(seed + 60000 + i))
                       for i in range(4)])
    with torch.no_grad():
        model(batch)
    for h in hooks:
        h.remove()
    return len(bns), len(zero_bias)


def affine_and_layer_scale(model, gen):
    """LayerNorm affine terms start at weight=1, bias=0, and ConvNeXt's
    per-channel layer_scale at 1e-6: with those, removing a whole CNBlock
    moves the logits by ~4e-7 relative, far below the forward tolerance, so
    LayerNorm, GELU (Erf) and MatMul would go untested. Draw them like the
    BN affine terms: weight/layer_scale ~ U(0.5,1.5), bias ~ N(0,0.1)."""
    for m in model.modules():
        with torch.no_grad():
            if isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            scale = getattr(m, "layer_scale", None)
            if isinstance(scale, torch.nn.Parameter):
                scale.copy_(torch.rand(scale.shape, generator=gen) + 0.5)


def perturb_batchnorm(bns, gen, relative):
    for m in bns:
        c = m.num_features
        with torch.no_grad():
            if relative:
                std = m.running_var.sqrt()
                m.running_mean.add_(torch.randn(c, generator=gen) * 0.1 * std)
                m.running_var.mul_(torch.rand(c, generator=gen) + 0.5)
            else:
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            if m.weight is not None:
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)


def final_classifier(model):
    """The last nn.Linear (or, for squeezenet, the last Conv2d) of the model."""
    last = None
    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            last = m
    return last


def make_input(side, gen):
    """A smooth random RGB image in [0,1], normalised like ImageNet data."""
    low = torch.rand(1, 3, side // 8, side // 8, generator=gen)
    img = F.interpolate(low, size=(side, side), mode="bilinear", align_corners=False)
    img = img + 0.05 * torch.randn(1, 3, side, side, generator=gen)
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = torch.outer(k, k) / 256.0
    img = F.conv2d(F.pad(img, (2, 2, 2, 2), mode="reflect"),
                   k.expand(3, 1, 5, 5).contiguous(), groups=3)
    img = img.clamp(0.0, 1.0)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((img - mean) / std).float().contiguous()


def densenet_forward_with_relu_capture(self, x):
    # torchvision DenseNet.forward, with the relu made out-of-place so that
    # the captured feature map survives for autograd; same ONNX graph.
    features = self.features(x)
    out = F.relu(features, inplace=False)
    self._gcam_capture["a"] = out
    out = F.adaptive_avg_pool2d(out, (1, 1))
    out = torch.flatten(out, 1)
    return self.classifier(out)


class Capture:
    """Records the Grad-CAM layer's output on every forward (pytorch-grad-cam
    uses a forward hook the same way). With emit_feature set, the model's
    forward returns (logits, feature) so the exporter names that tensor."""

    def __init__(self, model, layer):
        self.model = model
        self.store = {}
        self.emit_feature = False
        self.handles = []
        if layer == "densenet_relu":
            model._gcam_capture = self.store
            model.forward = types.MethodType(densenet_forward_with_relu_capture, model)
        else:
            mod = model.get_submodule(layer)
            self.handles.append(mod.register_forward_hook(self._on_layer))
        self.handles.append(model.register_forward_hook(self._on_model))

    def _on_layer(self, module, inputs, output):
        self.store["a"] = output

    def _on_model(self, module, inputs, output):
        if self.emit_feature:
            return (output, self.store["a"])
        return None

    def feature(self):
        return self.store["a"]


def export(model, x, path, opset, dynamic, output_names):
    dyn = None
    if dynamic:
        dyn = {"input": {0: "batch"}}
        for n in output_names:
            dyn[n] = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # PRESERVE (with the model in eval mode) exports inference semantics
        # but skips the eval peephole that would fold BatchNormalization into
        # Conv even with do_constant_folding=False.
        torch.onnx.export(model, (x,), path, opset_version=opset,
                          do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE,
                          input_names=["input"], output_names=output_names,
                          dynamic_axes=dyn)


def find_layer_tensor(main_path, probe_path):
    """Name, in the main graph, of the tensor the probe graph exports as
    "feature". The two exports trace the same module tree, so their node
    lists must agree op for op; the producer of "feature" in the probe gives
    the node (and output slot) to read in the main graph."""
    main = onnx.load(main_path, load_external_data=False).graph
    probe = onnx.load(probe_path, load_external_data=False).graph
    main_ops = [(n.op_type, n.name) for n in main.node]
    probe_ops = [(n.op_type, n.name) for n in probe.node]
    if main_ops != probe_ops:
        raise RuntimeError("probe and main ONNX graphs differ (%d vs %d nodes)"
                           % (len(main_ops), len(probe_ops)))
    hits = [(i, j) for i, n in enumerate(probe.node)
            for j, o in enumerate(n.output) if o == "feature"]
    if len(hits) != 1:
        raise RuntimeError("feature tensor produced %d times in probe graph" % len(hits))
    i, j = hits[0]
    if probe.node[i].op_type == "Identity":
        # The exporter inserts Identity when an output aliases another value.
        i, j = producer_of(probe, probe.node[i].input[0])
    name = main.node[i].output[j]
    consumers = [n.op_type for n in main.node if name in n.input]
    if not consumers:
        raise RuntimeError("layer tensor %s has no consumer" % name)
    return name, main.node[i].op_type, consumers


def producer_of(graph, tensor):
    for i, n in enumerate(graph.node):
        for j, o in enumerate(n.output):
            if o == tensor:
                return i, j
    raise RuntimeError("no producer for %s" % tensor)


def gradcam(logits, a, cls, out_hw):
    """Grad-CAM as pytorch-grad-cam computes it (forward-hook activation A,
    y = pre-softmax logit, alpha = spatial mean of dy/dA), with the weighted
    sum done in float64. `logits` and `a` come from one forward with autograd
    on; the graph is retained so several classes can share it. Returns alpha
    (K,), the map before ReLU (u,v), after ReLU, and the post-processed HxW."""
    (grads,) = torch.autograd.grad(logits[0, cls], a, retain_graph=True)
    a64 = a.detach().double()[0]
    alpha = grads.double()[0].mean(dim=(1, 2))
    no_relu = (alpha[:, None, None] * a64).sum(dim=0)
    raw = no_relu.clamp(min=0.0)
    cam = scale(raw)
    cam = F.interpolate(cam[None, None], size=out_hw, mode="bilinear",
                        align_corners=False, antialias=False)[0, 0]
    cam = scale(cam)
    return alpha, no_relu, raw, cam


def pick_mixed_class(logits, a, order, taken):
    """A class whose map has both signs before the ReLU, so the ReLU and the
    normalisation of a partly-zero map are exercised. Top classes of a
    random net give all-positive maps (their spatial sum is ~ the logit), so
    look in the middle of the ranking, nearest half positive wins."""
    n = order.numel()
    ranks = [n // 2, 2 * n // 5, 3 * n // 5, 3 * n // 10, 7 * n // 10,
             n // 5, 4 * n // 5, n // 10, 9 * n // 10, n // 20, 19 * n // 20]
    best = None
    for r in ranks:
        cls = int(order[r])
        if cls in taken:
            continue
        (grads,) = torch.autograd.grad(logits[0, cls], a, retain_graph=True)
        alpha = grads.double()[0].mean(dim=(1, 2))
        m = (alpha[:, None, None] * a.detach().double()[0]).sum(dim=0)
        pos = float((m > 0).double().mean())
        if 0.0 < pos < 1.0 and (best is None or abs(pos - 0.5) < best[0]):
            best = (abs(pos - 0.5), cls, r + 1)
            if best[0] < 0.15:
                break
    return best


def scale(m):
    m = m - m.min()
    return m / (1e-7 + m.max())


def forward_ms(model, x, runs=5):
    times = []
    with torch.no_grad():
        model(x)  # warm-up
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def up_to_date(d, sha, bn_mode):
    path = os.path.join(d, "manifest.json")
    try:
        with open(path) as f:
            man = json.load(f)
    except (OSError, ValueError):
        return False
    if man.get("script_sha256") != sha or man.get("batchnorm_init") != bn_mode:
        return False
    files = list(FIXTURE_FILES)
    for tag in man.get("classes", {}):
        files += [t.format(tag) for t in TAG_FILES]
    return all(os.path.isfile(os.path.join(d, f)) for f in files)


def save(d, name, t):
    np.save(os.path.join(d, name), np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32)))


def generate(name, out_dir, threads, sha, bn_mode):
    seed, side, opset, dynamic, layer = MODELS[name]
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    notes = []
    t_start = time.perf_counter()

    torch.manual_seed(seed)
    model = build_model(name)
    gen = torch.Generator().manual_seed(seed)
    n_bn, n_bias = randomize_parameters(model, gen, side, seed, bn_mode)
    model.eval()
    x = make_input(side, torch.Generator().manual_seed(seed + 50000))

    with torch.no_grad():
        logits = model(x)
    max_abs = float(logits.abs().max())
    if not np.isfinite(max_abs) or not (LOGIT_MIN <= max_abs <= LOGIT_MAX):
        head = final_classifier(model)
        if not np.isfinite(max_abs) or max_abs == 0.0:
            raise RuntimeError("%s: logits not usable (max|logit|=%g)" % (name, max_abs))
        factor = 10.0 / max_abs
        with torch.no_grad():
            head.weight.mul_(factor)
            if head.bias is not None:
                head.bias.mul_(factor)
            logits = model(x)
        notes.append("final classifier rescaled by %.4g (max|logit| was %.4g)"
                     % (factor, max_abs))
        max_abs = float(logits.abs().max())
    if not torch.isfinite(logits).all():
        raise RuntimeError("%s: non-finite logits" % name)

    cap = Capture(model, layer)
    t0 = time.perf_counter()
    model_path = os.path.join(d, "model.onnx")
    export(model, x, model_path, opset, dynamic, ["logits"])
    fd, probe_path = tempfile.mkstemp(suffix=".onnx", dir=d)
    os.close(fd)
    try:
        cap.emit_feature = True
        export(model, x, probe_path, opset, dynamic, ["logits", "feature"])
        cap.emit_feature = False
        layer_name, layer_op, consumers = find_layer_tensor(model_path, probe_path)
    finally:
        cap.emit_feature = False
        os.unlink(probe_path)
    onnx.checker.check_model(model_path)
    t_export = time.perf_counter() - t0

    # The export must not have perturbed anything: recompute and compare.
    with torch.no_grad():
        logits2 = model(x)
    if not torch.equal(logits, logits2):
        raise RuntimeError("%s: logits changed across export" % name)
    feature = cap.feature().detach()

    order = torch.argsort(logits[0], descending=True)
    classes = {"top1": int(order[0]), "other": int(order[OTHER_RANK - 1])}
    ranks = {"top1": 1, "other": OTHER_RANK}

    t0 = time.perf_counter()
    model.zero_grad(set_to_none=True)
    logits_g = model(x)
    a = cap.feature()
    mixed = pick_mixed_class(logits_g, a, order, set(classes.values()))
    if mixed is None:
        notes.append("no class with a mixed-sign map found; no 'mixed' tag")
    else:
        classes["mixed"] = mixed[1]
        ranks["mixed"] = mixed[2]
    cam_stats = {}
    for tag, cls in classes.items():
        alpha, no_relu, raw, cam = gradcam(logits_g, a, cls, tuple(x.shape[2:]))
        save(d, "alpha_%s.npy" % tag, alpha)
        save(d, "cam_noReLU_raw_%s.npy" % tag, no_relu)
        save(d, "cam_raw_%s.npy" % tag, raw)
        save(d, "cam_%s.npy" % tag, cam)
        pos = float((no_relu > 0).double().mean())
        peak = float(no_relu.abs().max())
        # contrast: spatial spread of the map relative to its magnitude. A
        # small value means min-max normalisation magnifies numeric error.
        contrast = float((no_relu.max() - no_relu.min()) / peak) if peak > 0 else 0.0
        cam_stats[tag] = {"rank": ranks[tag], "logit": float(logits[0, cls]),
                          "raw_max": float(raw.max()), "positive_fraction": pos,
                          "contrast": contrast}
        if pos == 0.0:
            notes.append("cam_%s is all zero after ReLU (every location negative)" % tag)
        if contrast < 0.05:
            notes.append("cam_%s has low contrast %.3g: normalisation magnifies error"
                         % (tag, contrast))
    del logits_g, a
    t_cam = time.perf_counter() - t0

    np.save(os.path.join(d, "input.npy"), x.numpy().astype(np.float32))
    save(d, "logits.npy", logits)
    save(d, "feature.npy", feature)

    torch.set_num_threads(threads)
    fwd_ms = forward_ms(model, x)

    opset_found = onnx.load(model_path, load_external_data=False).opset_import
    man = {
        "model": name,
        "opset": int(next(o.version for o in opset_found if o.domain in ("", "ai.onnx"))),
        "input_name": "input",
        "output_name": "logits",
        "input_shape": list(x.shape),
        "dynamic_batch": dynamic,
        "layer": layer_name,
        "layer_op": layer_op,
        "layer_consumers": consumers,
        "layer_module": layer,
        "layer_shape": list(feature.shape),
        "classes": classes,
        "cam_stats": cam_stats,
        "torch_forward_ms": round(fwd_ms, 3),
        "torch_threads": threads,
        "max_abs_logit": max_abs,
        "batchnorm_layers": n_bn,
        "zero_biases_randomized": n_bias,
        "batchnorm_init": bn_mode,
        "seed": seed,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "notes": notes,
        "script_sha256": sha,
    }
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(man, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    total = time.perf_counter() - t_start
    print("%-19s done  total %6.1fs  export %5.1fs  cam %5.1fs  fwd %8.1fms  %7.1f MB  "
          "layer %s %s  max|logit| %.4g%s"
          % (name, total, t_export, t_cam, fwd_ms, size / 1e6, layer_name,
             "x".join(map(str, feature.shape)), max_abs,
             ("  NOTE: " + "; ".join(notes)) if notes else ""), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "parity", "fixtures"))
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated subset of: " + ",".join(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bn-init", choices=("calibrated", "literal"), default="calibrated",
                    help="how BN statistics are randomised (see randomize_parameters)")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = ap.parse_args()

    names = [m for m in args.models.split(",") if m]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        ap.error("unknown model(s): " + ",".join(unknown))
    torch.set_num_threads(args.threads)
    sha = script_sha256()
    out = os.path.normpath(args.out)
    failed = 0
    for name in names:
        d = os.path.join(out, name)
        if not args.force and up_to_date(d, sha, args.bn_init):
            print("%-19s up to date" % name, flush=True)
            continue
        try:
            generate(name, out, args.threads, sha, args.bn_init)
        except Exception as e:  # keep going; report at the end
            failed += 1
            print("%-19s FAILED: %s: %s" % (name, type(e).__name__, e), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
