#!/usr/bin/python3
"""Test images for `gradcam batch`: the demo scenes (models/samples) at
several sizes, flipped and rotated, in nested folders, plus optional corrupt
files.  Deterministic: the same arguments give the same files.

    make_images.py OUT_DIR [--count N] [--corrupt K]
"""
import argparse
import glob
import os

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--corrupt", type=int, default=0)
    a = ap.parse_args()
    scenes = sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.png")))
    sizes = (96, 112, 128, 160, 200)
    ops = (None, Image.FLIP_LEFT_RIGHT, Image.FLIP_TOP_BOTTOM, Image.ROTATE_90, Image.ROTATE_180)
    n = 0
    while n < a.count:
        for k, s in enumerate(scenes):
            if n >= a.count:
                break
            variant = n // len(scenes)
            size, op = sizes[variant % len(sizes)], ops[(variant // len(sizes)) % len(ops)]
            img = Image.open(s).convert("RGB").resize((size, size), Image.BILINEAR)
            if op is not None:
                img = img.transpose(op)
            sub = os.path.join(a.out, "part%d" % (n % 4), "v%03d" % variant)
            os.makedirs(sub, exist_ok=True)
            ext = ".jpg" if n % 5 == 4 else ".png"
            img.save(os.path.join(sub, "img_%04d%s" % (n, ext)), quality=92)
            n += 1
    for c in range(a.corrupt):
        path = os.path.join(a.out, "part%d" % (c % 4), "corrupt_%02d.png" % c)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + bytes(range(40)))  # a PNG signature, then garbage
    print("%d images, %d corrupt -> %s" % (n, a.corrupt, a.out))


if __name__ == "__main__":
    main()
