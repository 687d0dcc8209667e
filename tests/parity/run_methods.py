#!/usr/bin/python3
"""Parity of every explanation method of the gradcam CLI against PyTorch.

    /usr/bin/python3 tests/parity/run_methods.py --gradcam build/gradcam
        [--fixtures tests/parity/fixtures] [--models resnet18,vgg16]
        [--methods gradcam++,scorecam] [--skip MODEL:METHOD=REASON ...]

Fixtures: tools/make_parity_fixtures.py, then tools/make_method_fixtures.py
(both with /usr/bin/python3). This script needs numpy only.

For every case (model, method id) listed below or in the model's methods.json:

    BIN explain --model M/model.onnx --input-tensor M/input.npy --method NAME
        --layer LAYER --target CLASS --save-npy OUT.npy [method options]

and OUT.npy must match M/method_<id>.npy: Pearson r >= 0.999 and
max|ours - torch| <= 0.01, after the normalisation methods.json names for it
("direct": none, both are CAM maps in [0,1]; "minmax": (x-min)/(max-min) on
each side; "maxabs": x/max|x| on each side). Cases marked "expect": "error"
(cam on a network that is not GAP + linear) pass iff the CLI exits non-zero.

Where the fixture also has method_<id>.f64.npy (the same definition computed
in float64 by torch), a map that meets both bounds against that one passes
too, and the line says "vs float64". This is for maps that float32 rounding
alone moves: an input gradient through ReLUs whose inputs sit within float32
error of 0 switches on or off at a few pixels, so torch's float32 map and its
float64 map differ by more than 0.01 themselves; a float32 engine then lands
near one of them or between.  The line always shows both comparisons.
A case that meets neither, where torch's float32 and float64 maps differ by
more than the max-difference bound themselves and the correlation bound is
still met, is reported as skip with those numbers: the bound cannot be
asked of any float32 engine there.

One line per case, "ok|FAIL|skip <model> <id> <details>", then one summary
line "N passed, N failed[, N skipped]". Exit status 1 if any case failed. A
missing fixture, a CLI that exits non-zero (its last stderr line is shown) or
a missing output is a FAIL. Cases are skipped only through --skip, with the
reason printed: --skip MODEL:METHOD=REASON, where MODEL may be "*" and METHOD
is an id (gradcam.aug-smooth) or a CLI method name (gradcam), or
--skip MODEL=REASON for a whole model.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_parity import (MODELS, Failure, summarize, load_manifest, load_npy, pearson,  # noqa: E402
                        run_bin, same_shape)

MIN_PEARSON = 0.999
MAX_ABS = 0.01


class IllConditioned(Failure):
    """Neither reference met, but the reference itself is uncertain by more
    than MAX_ABS (torch float32 vs float64): reported as skip with numbers."""

FULL_MODELS = ("resnet18", "mobilenet_v3_small", "squeezenet1_1")
GRADIENT_METHODS = ("gradcam", "gradcam++", "xgradcam", "hirescam", "gradcam-elementwise",
                    "layercam", "eigengradcam", "eigencam", "guided-backprop",
                    "guided-gradcam", "saliency", "integrated-gradients")
ALL_METHODS = ("cam",) + GRADIENT_METHODS[:8] + ("scorecam", "ablationcam") + \
    GRADIENT_METHODS[8:] + ("smoothgrad",)

# methods.json option -> CLI flag. A value of True means a bare flag;
# "noise_file" names a file in the model's fixture directory.
FLAGS = {
    "batch_size": "--batch-size",
    "steps": "--steps",
    "baseline": "--baseline",
    "samples": "--samples",
    "noise": "--noise",
    "noise_file": "--sg-noise-file",
    "eigen_smooth": "--eigen-smooth",
    "aug_smooth": "--aug-smooth",
    "ablation_value": "--ablation-value",
}


def expected_ids(model):
    """The cases that must exist whatever methods.json says."""
    return list(ALL_METHODS) if model in FULL_MODELS else list(GRADIENT_METHODS)


def option_args(opts, mdir):
    argv = []
    for key in sorted(opts):
        if key not in FLAGS:
            raise Failure("methods.json option %r has no CLI flag in run_methods.FLAGS" % key)
        val = opts[key]
        if val is True:
            argv.append(FLAGS[key])
        elif val is False or val is None:
            continue
        else:
            if key == "noise_file":
                val = os.path.join(mdir, val)
                if not os.path.isfile(val):
                    raise Failure("fixture missing: %s" % val)
            argv += [FLAGS[key], str(val)]
    return argv


def normalise(x, how):
    if how == "direct":
        return x
    if how == "minmax":
        x = x - x.min()
        top = x.max()
    elif how == "maxabs":
        top = np.abs(x).max()
    else:
        raise Failure("unknown comparison %r in methods.json" % how)
    return x / top if top > 0 else np.zeros_like(x)


def check_case(binary, mdir, man, entry, tmp, timeout):
    if entry.get("dropped"):
        raise Failure("no fixture: the generator dropped it (%s)" % entry["dropped"])
    argv = [binary, "explain", "--model", os.path.join(mdir, "model.onnx"),
            "--input-tensor", os.path.join(mdir, "input.npy"),
            "--method", entry["method"], "--layer", man["layer"],
            "--target", str(entry["class"])]
    out = os.path.join(tmp, "map.npy")
    if entry.get("expect") == "error":
        try:
            run_bin(argv + ["--save-npy", out] + option_args(entry.get("options", {}), mdir),
                    timeout)
        except Failure as e:
            msg = str(e)
            if msg.startswith("exit ") and not msg.startswith("exit -"):
                return "refused as expected (%s)" % msg
            raise  # a timeout, or death by a signal, is no clean refusal
        raise Failure("exit 0, expected an error (%s)" % entry.get("reason", ""))
    if "file" not in entry:
        raise Failure("methods.json entry %r has no file" % entry.get("id"))
    ref = load_npy(os.path.join(mdir, entry["file"]), "fixture")
    argv += ["--save-npy", out] + option_args(entry.get("options", {}), mdir)
    ms = run_bin(argv, timeout)
    ours = same_shape(load_npy(out, "output"), ref, "map").astype(np.float64)
    if not np.all(np.isfinite(ours)):
        raise Failure("non-finite values in output")
    how = entry.get("compare", "direct")
    ref = ref.astype(np.float64)
    extra = ""
    if how == "maxabs" and np.abs(ref).max() > 0:
        extra = " scale=%.4g" % (np.abs(ours).max() / np.abs(ref).max())
    a, b = normalise(ours, how), normalise(ref, how)
    r = pearson(a, b)
    diff = float(np.max(np.abs(a - b)))
    ok = r >= MIN_PEARSON and diff <= MAX_ABS
    f64 = entry.get("float64")
    if isinstance(f64, dict):
        # How far torch's own float64 result is from the fixture: the map's
        # conditioning, shown so that a failure can be read at once.
        extra += " torch32v64=%.3g" % f64["max_abs_diff"]
        if f64["pearson"] < MIN_PEARSON:
            extra += "(r=%.4f)" % f64["pearson"]
    if "file_f64" in entry:
        ref64 = same_shape(load_npy(os.path.join(mdir, entry["file_f64"]), "float64 fixture"),
                           ours, "float64 map").astype(np.float64)
        b64 = normalise(ref64, how)
        r64, diff64 = pearson(a, b64), float(np.max(np.abs(a - b64)))
        extra += " vs_float64: pearson=%.6f max_abs_diff=%.3g" % (r64, diff64)
        if not ok and r64 >= MIN_PEARSON and diff64 <= MAX_ABS:
            ok = True
            extra += " (passes vs float64)"
    detail = "class=%d %s pearson=%.6f max_abs_diff=%.3g%s ours_ms=%.1f torch_ms=%s" % (
        entry["class"], how, r, diff, extra, ms, entry.get("torch_ms", "?"))
    if not ok and isinstance(f64, dict) and f64["max_abs_diff"] > MAX_ABS and r >= MIN_PEARSON:
        raise IllConditioned(
            "%s: ill-conditioned, torch's own float32 and float64 maps differ by %.3g > %g, so no "
            "float32 engine can be held to that bound here; the correlation bound is met"
            % (detail, f64["max_abs_diff"], MAX_ABS))
    if not ok:
        raise Failure(detail)
    return detail


def parse_skips(items):
    skips = {}
    for item in items:
        key, sep, reason = item.partition("=")
        if not sep or not reason.strip() or not key.strip():
            sys.exit("--skip wants MODEL[:METHOD]=REASON, got %r" % item)
        skips[key.strip()] = reason.strip()
    return skips


def skip_reason(skips, model, case_id, method):
    for m in (model, "*"):
        for k in (m + ":" + case_id, m + ":" + method):
            if k in skips:
                return skips[k]
    return skips.get(model)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="gradcam explanation methods vs PyTorch")
    ap.add_argument("--gradcam", required=True, metavar="BIN", help="the gradcam CLI")
    ap.add_argument("--fixtures", default=os.path.join(here, "fixtures"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--methods", default="",
                    help="comma-separated ids or method names (default: all)")
    ap.add_argument("--skip", action="append", default=[], metavar="MODEL[:METHOD]=REASON",
                    help="skip a case with a stated reason; MODEL may be '*'; repeatable")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds allowed per gradcam invocation")
    args = ap.parse_args()
    skips = parse_skips(args.skip)
    binary = args.gradcam
    if os.sep in binary:
        binary = os.path.abspath(binary)
    models = [m for m in args.models.split(",") if m]
    wanted = set(m for m in args.methods.split(",") if m)

    counts = {"ok": 0, "FAIL": 0, "skip": 0}

    def report(status, model, case_id, detail):
        counts[status] += 1
        print("%s %s %s %s" % (status, model, case_id, detail), flush=True)

    tmp_root = tempfile.mkdtemp(prefix="gcam_methods_")
    try:
        for model in models:
            mdir = os.path.join(args.fixtures, model)
            problem = None
            man, entries = None, {}
            try:
                man = load_manifest(mdir)
                path = os.path.join(mdir, "methods.json")
                if not os.path.isfile(path):
                    raise Failure("fixture missing: %s (run tools/make_method_fixtures.py)"
                                  % path)
                with open(path) as f:
                    doc = json.load(f)
                entries = {e["id"]: e for e in doc.get("methods", [])}
            except (Failure, ValueError, KeyError, OSError) as e:
                problem = str(e)
            ids = expected_ids(model)
            ids += [i for i in entries if i not in ids]
            for case_id in ids:
                entry = entries.get(case_id)
                method = entry["method"] if entry else case_id
                if wanted and case_id not in wanted and method not in wanted:
                    continue
                reason = skip_reason(skips, model, case_id, method)
                if reason:
                    report("skip", model, case_id, reason)
                    continue
                if problem:
                    report("FAIL", model, case_id, problem)
                    continue
                if entry is None:
                    report("FAIL", model, case_id, "no entry in %s/methods.json "
                           "(regenerate with tools/make_method_fixtures.py)" % mdir)
                    continue
                tmp = tempfile.mkdtemp(dir=tmp_root)
                try:
                    report("ok", model, case_id,
                           check_case(binary, mdir, man, entry, tmp, args.timeout))
                except IllConditioned as e:
                    report("skip", model, case_id, str(e))
                except Failure as e:
                    report("FAIL", model, case_id, str(e))
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)

    return summarize(counts)


if __name__ == "__main__":
    sys.exit(main())
