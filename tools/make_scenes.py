#!/usr/bin/python3
"""Build the "Fashion-MNIST scenes" data set used to train the bundled demo model.

Each scene is a 96x96 RGB canvas holding 1 to 3 Fashion-MNIST garments of
*different* classes, placed at random positions and scales (20-44 px), tinted
with random colours, over a textured background (colour gradient, pixel noise,
faint strokes and blobs, low-contrast garment fragments).  Targets are
multi-label (10 classes) and every garment carries its bounding box: the tight
box of the garment's non-zero pixels after scaling (scaled intensities below
8/255 are set to zero before compositing, so the box is exactly the visible
garment), with x1/y1 exclusive.

Splits (garments never shared between splits):
  train, val : Fashion-MNIST train images (seeded 90/10 split of the 60k)
  test       : Fashion-MNIST t10k images (unseen by training)

Everything is seeded and reproducible.  Usage:

  /usr/bin/python3 tools/make_scenes.py --seed 0 --out /tmp/fmnist_scenes \
      --samples models/samples

writes /tmp/fmnist_scenes/{train,val,test}.npz and, with --samples, 12 test
scenes picked at random (seeded) as PNG plus boxes.csv.

npz layout: images uint8 [N,96,96,3]; labels uint8 [N,10] (multi-hot);
boxes int16 [N,3,5] rows (class, x0, y0, x1, y1), unused rows = -1.
"""
import argparse
import colorsys
import csv
import gzip
import hashlib
import os

import numpy as np
from PIL import Image, ImageDraw

DATA_DIR = "/usr/share/datasets/fashion-mnist"
# Names as used in the label file / CLI --target values (official FMNIST order).
LABELS = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle-boot"]
SIZE = 96
MIN_SCALE, MAX_SCALE = 20, 44
MAX_ITEMS = 3
VISIBLE_MIN = 8  # scaled intensities below this (of 255) are treated as zero


def load_idx(name):
    with gzip.open(os.path.join(DATA_DIR, name), "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist():
    tr_x = load_idx("train-images-idx3-ubyte.gz")
    tr_y = load_idx("train-labels-idx1-ubyte.gz")
    te_x = load_idx("t10k-images-idx3-ubyte.gz")
    te_y = load_idx("t10k-labels-idx1-ubyte.gz")
    return tr_x, tr_y, te_x, te_y


def rand_colour(rng, v_lo, v_hi, s_lo=0.0, s_hi=1.0):
    h = rng.random()
    s = rng.uniform(s_lo, s_hi)
    v = rng.uniform(v_lo, v_hi)
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32)


def luminance(c):
    return float(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2])


def scale_garment(img28, s):
    """Bilinear resize of a 28x28 garment to s x s, faint pixels zeroed."""
    g = np.asarray(Image.fromarray(img28).resize((s, s), Image.BILINEAR), np.uint8).copy()
    g[g < VISIBLE_MIN] = 0
    return g


def make_background(rng, pool_x):
    """Textured, cluttered background as float32 [96,96,3] in [0,1]."""
    base = rand_colour(rng, 0.15, 0.85, 0.0, 0.7)
    other = np.clip(base + rng.normal(0, 0.15, 3), 0, 1).astype(np.float32)
    # linear gradient between two related colours
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1)
    t = (np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5)) + 0.5
    t = np.clip(t, 0, 1)[..., None]
    bg = base * (1 - t) + other * t
    # low-frequency blotches: upsampled coarse noise
    coarse = rng.normal(0, 1, (6, 6)).astype(np.float32)
    coarse_img = Image.fromarray(coarse, mode="F").resize((SIZE, SIZE), Image.BICUBIC)
    bg = bg + 0.06 * np.asarray(coarse_img, np.float32)[..., None]

    # faint strokes and blobs drawn on an RGBA overlay
    over = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    dr = ImageDraw.Draw(over)
    for _ in range(rng.integers(3, 9)):
        c = rand_colour(rng, 0.0, 1.0)
        col = tuple(int(v * 255) for v in c) + (int(rng.uniform(25, 80)),)
        if rng.random() < 0.55:
            pts = [tuple(rng.uniform(-10, SIZE + 10, 2)) for _ in range(rng.integers(2, 5))]
            dr.line(pts, fill=col, width=int(rng.integers(1, 4)))
        else:
            cx, cy = rng.uniform(0, SIZE, 2)
            rx, ry = rng.uniform(3, 14, 2)
            dr.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=col)
    ov = np.asarray(over, np.float32) / 255.0
    a = ov[..., 3:4]
    bg = bg * (1 - a) + ov[..., :3] * a

    # low-contrast garment fragments (random crops of random garments)
    for _ in range(rng.integers(1, 4)):
        g = pool_x[rng.integers(len(pool_x))]
        s = int(rng.integers(MIN_SCALE, MAX_SCALE + 1))
        gs = scale_garment(g, s).astype(np.float32) / 255.0
        cw = int(rng.integers(8, max(9, s // 2 + 1)))
        ch = int(rng.integers(8, max(9, s // 2 + 1)))
        ox = int(rng.integers(0, s - cw + 1))
        oy = int(rng.integers(0, s - ch + 1))
        frag = gs[oy:oy + ch, ox:ox + cw]
        px = int(rng.integers(0, SIZE - cw + 1))
        py = int(rng.integers(0, SIZE - ch + 1))
        c = rand_colour(rng, 0.0, 1.0)
        alpha = rng.uniform(0.10, 0.25) * frag[..., None]
        region = bg[py:py + ch, px:px + cw]
        bg[py:py + ch, px:px + cw] = region * (1 - alpha) + c * alpha

    bg = bg + rng.normal(0, rng.uniform(0.02, 0.06), bg.shape).astype(np.float32)
    return np.clip(bg, 0, 1).astype(np.float32)


def overlap_ok(box, boxes, max_frac=0.25):
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0)
    for (_, a0, b0, a1, b1) in boxes:
        iw = min(x1, a1) - max(x0, a0)
        ih = min(y1, b1) - max(y0, b0)
        if iw > 0 and ih > 0:
            inter = iw * ih
            other = (a1 - a0) * (b1 - b0)
            if inter > max_frac * min(area, other):
                return False
    return True


def make_scene(rng, pool_x, by_class):
    img = make_background(rng, pool_x)
    n = int(rng.integers(1, MAX_ITEMS + 1))
    classes = rng.choice(10, size=n, replace=False)
    boxes = []
    for c in classes:
        for _try in range(60):
            idx = by_class[c][rng.integers(len(by_class[c]))]
            s = int(rng.integers(MIN_SCALE, MAX_SCALE + 1))
            g = scale_garment(pool_x[idx], s)
            ys, xs = np.nonzero(g)
            if len(xs) == 0:
                continue
            px = int(rng.integers(0, SIZE - s + 1))
            py = int(rng.integers(0, SIZE - s + 1))
            box = (px + int(xs.min()), py + int(ys.min()),
                   px + int(xs.max()) + 1, py + int(ys.max()) + 1)
            if not overlap_ok(box, boxes):
                continue
            # tint: colour with enough contrast against the local background
            local = img[box[1]:box[3], box[0]:box[2]].reshape(-1, 3).mean(0)
            for _c in range(20):
                col = rand_colour(rng, 0.3, 1.0, 0.0, 1.0)
                if abs(luminance(col) - luminance(local)) >= 0.22:
                    break
            else:
                col = np.ones(3, np.float32) if luminance(local) < 0.5 else \
                    np.full(3, 0.05, np.float32)
            gf = g.astype(np.float32) / 255.0
            alpha = np.clip(gf * 2.0, 0, 1)[..., None]
            shade = (0.45 + 0.55 * gf)[..., None]
            if luminance(col) < luminance(local):
                # dark garment on light ground: keep texture by lightening less
                shade = (0.75 + 0.25 * gf)[..., None]
            region = img[py:py + s, px:px + s]
            img[py:py + s, px:px + s] = region * (1 - alpha) + np.clip(col * shade, 0, 1) * alpha
            boxes.append((int(c),) + box)
            break
    img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return img, boxes


CHUNK = 1000  # scenes per independently seeded chunk (result is independent of --jobs)
_POOL = {}


def make_chunk(args):
    seed, split_id, chunk_id, n = args
    pool_x, pool_y = _POOL[split_id]
    rng = np.random.default_rng([seed, split_id, chunk_id])
    by_class = [np.nonzero(pool_y == c)[0] for c in range(10)]
    images = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    labels = np.zeros((n, 10), np.uint8)
    boxes = np.full((n, MAX_ITEMS, 5), -1, np.int16)
    for i in range(n):
        img, bx = make_scene(rng, pool_x, by_class)
        images[i] = img
        for j, b in enumerate(bx):
            labels[i, b[0]] = 1
            boxes[i, j] = b
    return images, labels, boxes


def make_split(seed, split_id, pool_x, pool_y, n, jobs=1):
    _POOL[split_id] = (pool_x, pool_y)
    tasks = [(seed, split_id, c, min(CHUNK, n - c * CHUNK)) for c in range((n + CHUNK - 1) // CHUNK)]
    if jobs > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(jobs) as p:
            parts = p.map(make_chunk, tasks)
    else:
        parts = [make_chunk(t) for t in tasks]
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def write_samples(out_dir, images, boxes, seed, count=12):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed + 12345)
    pick = np.sort(rng.choice(len(images), size=count, replace=False))
    rows = []
    for k, i in enumerate(pick):
        name = "scene_%02d.png" % (k + 1)
        Image.fromarray(images[i]).save(os.path.join(out_dir, name), optimize=True)
        for b in boxes[i]:
            if b[0] < 0:
                continue
            rows.append([name, LABELS[b[0]], int(b[1]), int(b[2]), int(b[3]), int(b[4])])
    with open(os.path.join(out_dir, "boxes.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["image", "label", "x0", "y0", "x1", "y1"])
        w.writerows(rows)
    return pick


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="/tmp/fmnist_scenes")
    ap.add_argument("--train", type=int, default=30000)
    ap.add_argument("--val", type=int, default=3000)
    ap.add_argument("--test", type=int, default=3000)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (same output for any value)")
    ap.add_argument("--samples", default=None,
                    help="directory for 12 random test scenes (PNG) + boxes.csv")
    args = ap.parse_args()

    tr_x, tr_y, te_x, te_y = load_fmnist()
    perm = np.random.default_rng(args.seed).permutation(len(tr_x))
    n_val_pool = len(tr_x) // 10
    val_idx, train_idx = perm[:n_val_pool], perm[n_val_pool:]
    os.makedirs(args.out, exist_ok=True)
    splits = [("train", tr_x[train_idx], tr_y[train_idx], args.train, 1),
              ("val", tr_x[val_idx], tr_y[val_idx], args.val, 2),
              ("test", te_x, te_y, args.test, 3)]
    for name, px, py, n, k in splits:
        images, labels, boxes = make_split(args.seed, k, px, py, n, args.jobs)
        np.savez(os.path.join(args.out, name + ".npz"),
                 images=images, labels=labels, boxes=boxes)
        digest = hashlib.md5(images.tobytes() + labels.tobytes() + boxes.tobytes()).hexdigest()
        print("%s: %d scenes, %.2f garments/scene, class counts %s, md5 %s" % (
            name, n, labels.sum() / n, labels.sum(0).tolist(), digest), flush=True)
        if name == "test" and args.samples:
            pick = write_samples(args.samples, images, boxes, args.seed)
            print("samples: test scenes %s -> %s" % (pick.tolist(), args.samples))


if __name__ == "__main__":
    main()
