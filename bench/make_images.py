#!/usr/bin/python3
"""64 seeded photo-like test images for the throughput benchmark.

    /usr/bin/python3 bench/make_images.py OUT_DIR [--count 64]

Smooth random colour fields with shapes and noise, 640x480 (every 4th
480x640), alternately JPEG (quality 90) and PNG: decoding, resizing and
cropping cost what they cost on camera pictures, unlike the 96x96 samples.
Existing files are kept, so a second run is free."""
import argparse
import os

import numpy as np
from PIL import Image, ImageDraw


def make(i, path):
    rng = np.random.default_rng(1000 + i)
    w, h = (480, 640) if i % 4 == 3 else (640, 480)
    low = rng.random((h // 32 + 1, w // 32 + 1, 3)) * 255
    img = Image.fromarray(low.astype(np.uint8)).resize((w, h), Image.BICUBIC)
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(30, w // 2)), y0 + int(rng.integers(30, h // 2))
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)((x0, y0, x1, y1), fill=col)
    a = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, (h, w, 3))
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if path.endswith(".jpg"):
        img.save(path, quality=90)
    else:
        img.save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=64)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        path = os.path.join(args.out, "img_%02d.%s" % (i, "jpg" if i % 2 == 0 else "png"))
        if not os.path.isfile(path):
            make(i, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
