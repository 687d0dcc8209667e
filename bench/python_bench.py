#!/usr/bin/python3
"""The Python package's side of bench/run_bench.sh: a CAM through `gradcam`
(ctypes over libgcam.so) on a parity fixture, timed like torch_bench.py
(median of --repeat calls after --warmup).

    python3 bench/python_bench.py --model M.onnx --input X.npy --layer L
        [--method gradcam|scorecam|ablationcam] [--batch-size 32] [--threads 2]
        [--warmup 1] [--repeat 5]

Imports the installed package if there is one, else python/ of the checkout.
Prints one JSON object: gradcam_ms (every run), gradcam_ms_median.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import gradcam
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
    import gradcam
import numpy as np

CLASSES = {"gradcam": gradcam.GradCAM, "scorecam": gradcam.ScoreCAM, "ablationcam": gradcam.AblationCAM}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--layer", required=True)
    ap.add_argument("--method", default="gradcam", choices=sorted(CLASSES))
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    x = np.load(a.input)
    t0 = time.perf_counter()
    cam = CLASSES[a.method](model=gradcam.Model(a.model, threads=a.threads), target_layers=[a.layer])
    load_ms = (time.perf_counter() - t0) * 1e3
    if a.method != "gradcam":
        cam.batch_size = a.batch_size
    target = None  # the top class, as torch_bench.py
    times = []
    for i in range(a.warmup + a.repeat):
        t = time.perf_counter()
        cam(input_tensor=x, targets=target)
        if i >= a.warmup:
            times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({"method": a.method, "package": gradcam.__file__, "load_ms": load_ms, "gradcam_ms": times,
                      "gradcam_ms_median": statistics.median(times)}))


if __name__ == "__main__":
    main()
