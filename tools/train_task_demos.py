#!/usr/bin/python3
"""Train the sequence model of the README's task demo (issue 10) from Debian's
dataset-fashion-mnist, on the CPU in a few minutes, no pretrained weights:

  models/strip_reader.onnx  reads a strip of 4 Fashion-MNIST garments (input
                            1x3x28x112) and outputs one class distribution
                            per position, `steps` [1,4,10] (N x T x V, as a
                            text recogniser's).  Conv stack, then each of the
                            4 columns of the last map is averaged (AveragePool
                            7x7) and classified by a 1x1 conv - a CRNN without
                            the recurrent part.

and the demo input, from the t10k images (never seen in training):
docs/demo/strip.png.  tools/demo_tasks.sh then draws the maps (the
segmentation demo needs no training: tools/make_seg_demo.py).  Every batch is
new data (one pass).  Usage (a few minutes of CPU on 2 cores):

  nice -n 19 /usr/bin/python3 tools/train_task_demos.py [--seed 0]

Prints the held-out accuracy; the committed model's is in models/TRAINING.md.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_scenes import LABELS, load_fmnist  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 4
PREPROCESS = "mean=0.5,0.5,0.5;std=0.5,0.5,0.5;crop=none"


# ---- data


def strips(rng, x, y, n):
    """n strips of STEPS garments side by side (28 x 112, white on black),
    each shifted by up to 3 px in its slot; labels [n, STEPS]."""
    idx = rng.integers(len(x), size=(n, STEPS))
    img = np.zeros((n, 28, 28 * STEPS), np.uint8)
    for t in range(STEPS):
        shift = rng.integers(-3, 4, size=n)
        for i in range(n):
            g = np.roll(x[idx[i, t]], shift[i], axis=1)
            img[i, :, 28 * t:28 * t + 28] = g
    return img, y[idx]


def as_input(u8_or_unit):
    """N x H x W uint8 grey -> N x 3 x H x W normalised as the metadata says."""
    a = np.asarray(u8_or_unit, np.float32)
    if a.ndim == 3 and a.shape[-1] != 3:  # N x H x W grey
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.max() > 1.5:
        a = a / 255.0
    return torch.from_numpy(((a - 0.5) / 0.5).transpose(0, 3, 1, 2).copy())


# ---- models


class Reader(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())  # 32 x 7 x 28
        self.pool = nn.AvgPool2d(7)  # one column per step: 32 x 1 x 4
        self.classify = nn.Conv2d(32, 10, 1)

    def forward(self, x):
        z = self.classify(self.pool(self.features(x)))  # N x 10 x 1 x 4
        return z.flatten(2).transpose(1, 2)  # N x 4 x 10


# ---- training


def fit(model, make_batch, steps, lr, loss_fn):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    for s in range(steps):
        xb, yb = make_batch(s)
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if s % 100 == 0 or s == steps - 1:
            print("  step %d/%d loss %.4f" % (s + 1, steps, float(loss)), flush=True)
    model.eval()


def export(model, side_hw, path, output, labels, preprocess):
    import onnx
    torch.onnx.export(model, (torch.zeros(1, 3, *side_hw),), path, opset_version=13, input_names=["input"],
                      output_names=[output])
    m = onnx.load(path)
    for k, v in (("gradcam.labels", "\n".join(labels)), ("gradcam.preprocess", preprocess)):
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(m, path)
    print("  wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "demo"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=500, help="training steps (each sees new data)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tr_x, tr_y, te_x, te_y = load_fmnist()
    os.makedirs(args.docs, exist_ok=True)

    torch.manual_seed(args.seed)
    train_reader(args, np.random.default_rng(args.seed), tr_x, tr_y, te_x, te_y)


def train_reader(args, rng, tr_x, tr_y, te_x, te_y):
    print("strip reader: %d steps of 32 strips" % args.steps)
    sx, sy = strips(rng, tr_x, tr_y, 32 * args.steps)
    reader = Reader()

    def strip_batch(s):
        i = np.arange(32 * s, 32 * s + 32)
        return as_input(sx[i]), torch.from_numpy(sy[i].astype(np.int64))

    fit(reader, strip_batch, args.steps, 5e-3, lambda out, yb: F.cross_entropy(out.reshape(-1, 10), yb.reshape(-1)))
    vx, vy = strips(rng, te_x, te_y, 2000)
    with torch.no_grad():
        acc = float((reader(as_input(vx)).argmax(-1).numpy() == vy).mean())
    print("  t10k strips: %.4f of the steps read right" % acc)
    export(reader, (28, 28 * STEPS), os.path.join(args.models, "strip_reader.onnx"), "steps", LABELS,
           "size=28,112;" + PREPROCESS)
    demo_x, demo_y = strips(np.random.default_rng(args.seed + 1), te_x, te_y, 1)
    Image.fromarray(demo_x[0]).convert("RGB").save(os.path.join(args.docs, "strip.png"))
    print("  docs/demo/strip.png: %s" % " ".join(LABELS[int(c)] for c in demo_y[0]))



if __name__ == "__main__":
    main()
