#!/usr/bin/python3
"""End-to-end parity of the gradcam CLI against PyTorch fixtures.

    /usr/bin/python3 tests/parity/run_parity.py --gradcam build/gradcam
        [--fixtures tests/parity/fixtures] [--models resnet18,vgg16]
        [--forward] [--explain] [--skip MODEL[:CHECK]=REASON ...]

Fixtures come from tools/make_parity_fixtures.py (run with /usr/bin/python3).
This script needs only numpy; the python3 first on PATH here may lack it, so
run it with /usr/bin/python3 (the shebang does).

--forward   BIN run --model M/model.onnx --input input=M/input.npy
                --output logits=OUT.npy
            ok iff max|ours - torch| <= 1e-4 * max|torch logits|
--explain   for each tag in the manifest (top1, other, mixed):
            BIN explain --model M/model.onnx --input-tensor M/input.npy
                --method gradcam --layer LAYER --target CLASS --save-npy OUT.npy
            ok iff Pearson r >= 0.999 and max|ours - torch| <= 0.01
With neither flag, both run.

One line per case, "ok|FAIL|skip <model> <check> <details>", then exactly one
summary line "N passed, N failed[, N skipped]". Exit status 1 if any case
failed. A missing fixture is a failure, not a skip; a case is skipped only
when --skip names it, and the reason is printed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

MODELS = ("resnet18", "resnet50", "vgg16", "mobilenet_v2", "mobilenet_v3_small",
          "efficientnet_b0", "densenet121", "squeezenet1_1", "googlenet",
          "convnext_tiny", "regnet_y_400mf", "inception_v3")
LOGIT_RTOL = 1e-4
CAM_MIN_PEARSON = 0.999
CAM_MAX_ABS = 0.01


class Failure(Exception):
    """A case failed; the message is the detail printed on its line."""


def last_line(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no stderr)"


def run_bin(argv, timeout):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure("timed out after %gs" % timeout)
    except OSError as e:
        raise Failure("cannot run %s: %s" % (argv[0], e))
    ms = (time.perf_counter() - t0) * 1e3
    if p.returncode != 0:
        raise Failure("exit %d: %s" % (p.returncode,
                                       last_line(p.stderr.decode("utf-8", "replace"))))
    return ms


def load_npy(path, what):
    if not os.path.isfile(path):
        raise Failure("%s missing: %s" % (what, path))
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise Failure("%s unreadable (%s): %s" % (what, e, path))


def load_manifest(mdir):
    path = os.path.join(mdir, "manifest.json")
    if not os.path.isfile(path):
        raise Failure("fixture missing: %s (run tools/make_parity_fixtures.py)" % path)
    with open(path) as f:
        man = json.load(f)
    missing = [k for k in ("layer", "classes") if k not in man]
    if missing or not isinstance(man.get("classes"), dict):
        raise Failure("manifest incomplete (%s): %s" % (",".join(missing) or "classes", path))
    if not os.path.isfile(os.path.join(mdir, "model.onnx")):
        raise Failure("fixture missing: %s" % os.path.join(mdir, "model.onnx"))
    return man


def same_shape(ours, ref, what):
    """Accept extra leading/trailing unit dims (1x1xHxW for HxW), nothing else."""
    if ours.shape == ref.shape:
        return ours
    if ours.size == ref.size and np.squeeze(ours).shape == np.squeeze(ref).shape:
        return ours.reshape(ref.shape)
    raise Failure("%s shape %s, expected %s" % (what, list(ours.shape), list(ref.shape)))


def check_forward(binary, mdir, man, tmp, timeout):
    ref = load_npy(os.path.join(mdir, "logits.npy"), "fixture")
    out = os.path.join(tmp, "logits.npy")
    ms = run_bin([binary, "run", "--model", os.path.join(mdir, "model.onnx"),
                  "--input", "%s=%s" % (man.get("input_name", "input"),
                                        os.path.join(mdir, "input.npy")),
                  "--output", "%s=%s" % (man.get("output_name", "logits"), out)],
                 timeout)
    ours = same_shape(load_npy(out, "output"), ref, "logits").astype(np.float64)
    ref = ref.astype(np.float64)
    diff = float(np.max(np.abs(ours - ref))) if np.all(np.isfinite(ours)) else float("nan")
    tol = LOGIT_RTOL * float(np.max(np.abs(ref)))
    detail = "max_abs_diff=%.3g tol=%.3g ours_ms=%.1f torch_ms=%s" % (
        diff, tol, ms, man.get("torch_forward_ms", "?"))
    if not diff <= tol:  # NaN fails
        argmax = "" if int(np.argmax(ours)) == int(np.argmax(ref)) else " argmax_differs"
        raise Failure(detail + argmax)
    return detail


def pearson(a, b):
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    if den == 0.0:
        # Constant maps: identical constants correlate perfectly, else not.
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.dot(a, b) / den)


def check_explain(binary, mdir, man, tag, tmp, timeout):
    ref = load_npy(os.path.join(mdir, "cam_%s.npy" % tag), "fixture")
    out = os.path.join(tmp, "cam_%s.npy" % tag)
    cls = man["classes"][tag]
    ms = run_bin([binary, "explain", "--model", os.path.join(mdir, "model.onnx"),
                  "--input-tensor", os.path.join(mdir, "input.npy"),
                  "--method", "gradcam", "--layer", man["layer"],
                  "--target", str(cls), "--save-npy", out], timeout)
    ours = same_shape(load_npy(out, "output"), ref, "cam").astype(np.float64)
    ref = ref.astype(np.float64)
    if not np.all(np.isfinite(ours)):
        raise Failure("class=%d non-finite values in output" % cls)
    r = pearson(ours, ref)
    diff = float(np.max(np.abs(ours - ref)))
    detail = "class=%d pearson=%.6f max_abs_diff=%.3g ours_ms=%.1f" % (cls, r, diff, ms)
    if not (r >= CAM_MIN_PEARSON and diff <= CAM_MAX_ABS):
        raise Failure(detail)
    return detail


def parse_skips(items):
    skips = {}
    for item in items:
        key, sep, reason = item.partition("=")
        if not sep or not reason.strip():
            sys.exit("--skip wants MODEL[:CHECK]=REASON, got %r" % item)
        skips[key.strip()] = reason.strip()
    return skips


def skip_reason(skips, model, check):
    # "resnet18:explain/top1", "resnet18:explain", "resnet18"
    keys = [model + ":" + check, model + ":" + check.split("/")[0], model]
    for k in keys:
        if k in skips:
            return skips[k]
    return None



def summarize(counts):
    """Prints the closing "N passed, N failed[, N skipped]" line; returns the exit status."""
    summary = "%d passed, %d failed" % (counts["ok"], counts["FAIL"])
    if counts["skip"]:
        summary += ", %d skipped" % counts["skip"]
    print(summary, flush=True)
    return 1 if counts["FAIL"] else 0

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="gradcam vs PyTorch parity")
    ap.add_argument("--gradcam", required=True, metavar="BIN", help="the gradcam CLI")
    ap.add_argument("--fixtures", default=os.path.join(here, "fixtures"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--forward", action="store_true")
    ap.add_argument("--explain", action="store_true")
    ap.add_argument("--skip", action="append", default=[], metavar="MODEL[:CHECK]=REASON",
                    help="skip a case with a stated reason (CHECK: forward, explain, "
                         "explain/TAG); repeatable")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds allowed per gradcam invocation")
    args = ap.parse_args()
    if not args.forward and not args.explain:
        args.forward = args.explain = True
    skips = parse_skips(args.skip)
    binary = args.gradcam
    if os.sep in binary:
        binary = os.path.abspath(binary)
    models = [m for m in args.models.split(",") if m]

    counts = {"ok": 0, "FAIL": 0, "skip": 0}

    def report(status, model, check, detail):
        counts[status] += 1
        print("%s %s %s %s" % (status, model, check, detail), flush=True)

    tmp_root = tempfile.mkdtemp(prefix="gcam_parity_")
    try:
        for model in models:
            mdir = os.path.join(args.fixtures, model)
            checks = []
            try:
                man = load_manifest(mdir)
            except (Failure, ValueError, OSError) as e:
                man = None
                problem = str(e)
            if args.forward:
                checks.append(("forward", None))
            if args.explain:
                tags = list(man["classes"]) if man else ["top1", "other"]
                checks += [("explain/" + t, t) for t in tags]
            for check, tag in checks:
                reason = skip_reason(skips, model, check)
                if reason:
                    report("skip", model, check, reason)
                    continue
                if man is None:
                    report("FAIL", model, check, problem)
                    continue
                tmp = tempfile.mkdtemp(dir=tmp_root)
                try:
                    if tag is None:
                        detail = check_forward(binary, mdir, man, tmp, args.timeout)
                    else:
                        detail = check_explain(binary, mdir, man, tag, tmp, args.timeout)
                    report("ok", model, check, detail)
                except Failure as e:
                    report("FAIL", model, check, str(e))
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)

    return summarize(counts)


if __name__ == "__main__":
    sys.exit(main())
