#!/usr/bin/python3
"""Train, check and export the bundled demo model (models/demo.onnx).

A small ResNet-like CNN, multi-label classifier for "Fashion-MNIST scenes"
(see tools/make_scenes.py).  Input: 1x3x96x96 RGB, x = (pixel/255 - 0.5)/0.5.
Output: 10 logits (sigmoid -> per-class probability).

Steps:  train (Adam + one-cycle LR, BCE-with-logits, seeded, CPU, 1 thread;
        optionally warm-started with --init and run under bf16 autocast)
        -> val/test metrics (mAP, per-label accuracy, exact match)
        -> Grad-CAM pointing game vs a centre-point baseline
        -> ONNX export (opset 17) + gradcam.* metadata + a NumPy re-run of the
           exported graph (logits and Grad-CAM compared with torch).
With --dense the trained weights are evaluated/exported in a-trous form
(24x24 final map instead of 12x12, see DemoNet.densify).

The exact multi-stage recipe behind models/demo.onnx is in models/TRAINING.md.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LABELS = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle-boot"]
SIZE = 96
MEAN, STD = 0.5, 0.5


class Block(nn.Module):
    """Basic residual block: conv-BN-ReLU-conv-BN (+ shortcut) -> ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))
        self.relu2 = nn.ReLU()
        nn.init.zeros_(self.bn2.weight)  # residual branch starts as identity

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.shortcut is None else self.shortcut(x)
        return self.relu2(y + s)


class DemoNet(nn.Module):
    """stem (s2) 96->48, layer1 (s2) ->24, layer2 (s2) ->12, layer3, layer4 at 12x12."""

    def __init__(self, widths=(32, 64, 96, 128), strides=(2, 2, 1, 1), stem=32, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False),
                                  nn.BatchNorm2d(stem), nn.ReLU(inplace=True))
        layers, cin = [], stem
        for w, s in zip(widths, strides):
            layers.append(Block(cin, w, s))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def densify(self):
        """A-trous ("shift-and-stitch") form of the same weights: layer2 keeps
        stride 1 and every later 3x3 conv is dilated by 2, so layer4 yields a
        24x24 map instead of 12x12.  Each dense cell equals the stride-8
        network evaluated on the input shifted by 0 or 4 px (the even cells are
        exactly the original 12x12 map), so the classifier is unchanged up to
        averaging over those shifts, while Grad-CAM gets twice the resolution."""
        l2 = self.layer2
        assert l2.conv1.stride == (2, 2), "already dense"
        l2.conv1.stride = (1, 1)
        l2.shortcut[0].stride = (1, 1)
        for c in (l2.conv2, self.layer3.conv1, self.layer3.conv2,
                  self.layer4.conv1, self.layer4.conv2):
            c.dilation, c.padding = (2, 2), (2, 2)
        return self

    def features(self, x):
        x = self.stem(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def head(self, a):
        return self.fc(torch.flatten(self.pool(a), 1))

    def forward(self, x):
        return self.head(self.features(x))


def to_input(images_u8):
    """uint8 NHWC (numpy or tensor) -> normalised float NCHW on the same device."""
    if isinstance(images_u8, np.ndarray):
        images_u8 = torch.from_numpy(images_u8)
    x = images_u8.permute(0, 3, 1, 2).float().div_(255.0)
    return x.sub_(MEAN).div_(STD)


def average_precision(scores, targets):
    """Area under the step-wise PR curve, as sklearn's average_precision_score
    (sum over distinct thresholds of (R_n - R_{n-1}) * P_n)."""
    order = np.argsort(-scores, kind="mergesort")
    s, t = scores[order], targets[order].astype(np.float64)
    npos = t.sum()
    if npos == 0:
        return float("nan")
    distinct = np.where(np.diff(s))[0]
    idx = np.r_[distinct, len(s) - 1]
    tp = np.cumsum(t)[idx]
    fp = (idx + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / npos
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


@torch.no_grad()
def predict(model, images, batch=250):
    model.eval()
    dev = next(model.parameters()).device
    out = []
    for i in range(0, len(images), batch):
        out.append(model(to_input(images[i:i + batch]).to(dev)).cpu())
    return torch.cat(out).numpy()


def classification_metrics(logits, labels):
    probs = 1.0 / (1.0 + np.exp(-logits))
    aps = [average_precision(probs[:, c], labels[:, c]) for c in range(labels.shape[1])]
    pred = probs >= 0.5
    truth = labels.astype(bool)
    per_label = (pred == truth).mean(0)
    return {
        "mAP": float(np.mean(aps)),
        "AP": {LABELS[c]: aps[c] for c in range(len(LABELS))},
        "per_label_accuracy": float((pred == truth).mean()),
        "per_label_accuracy_by_class": {LABELS[c]: float(per_label[c]) for c in range(len(LABELS))},
        "exact_match": float((pred == truth).all(1).mean()),
    }


def gradcam_maps(model, images, classes_per_image):
    """pytorch-grad-cam style Grad-CAM on layer4's output.
    alpha_k = mean_{ij} d logit_c / dA_kij ; cam = relu(sum_k alpha_k A_k),
    bilinearly upsampled (half-pixel, align_corners=False) to 96x96.
    Returns list of (image index, class, cam[96,96])."""
    model.eval()
    x = to_input(images)
    a = model.features(x).detach().requires_grad_(True)
    logits = model.head(a)
    out = []
    needed = sorted({c for cl in classes_per_image for c in cl})
    for c in needed:
        (g,) = torch.autograd.grad(logits[:, c].sum(), a, retain_graph=True)
        alpha = g.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((alpha * a).sum(1, keepdim=True))
        cam = F.interpolate(cam, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        cam = cam[:, 0].detach().numpy()
        for i, cl in enumerate(classes_per_image):
            if c in cl:
                out.append((i, c, cam[i]))
    return out


def pointing_game(model, images, boxes, batch=100):
    """Hit if the argmax of the class's Grad-CAM lies inside a box of that class.
    Baseline: always point at the image centre (x=48, y=48)."""
    hits = centre_hits = total = 0
    per_class = np.zeros((10, 2))
    cx = cy = SIZE // 2
    for s in range(0, len(images), batch):
        ims = images[s:s + batch]
        bxs = boxes[s:s + batch]
        classes = [[int(b[0]) for b in bb if b[0] >= 0] for bb in bxs]
        for i, c, cam in gradcam_maps(model, ims, classes):
            y, x = np.unravel_index(int(np.argmax(cam)), cam.shape)
            cb = [b for b in bxs[i] if b[0] == c]
            hit = any(b[1] <= x < b[3] and b[2] <= y < b[4] for b in cb)
            chit = any(b[1] <= cx < b[3] and b[2] <= cy < b[4] for b in cb)
            hits += hit
            centre_hits += chit
            total += 1
            per_class[c] += (hit, 1)
    return {
        "pointing_game": hits / total,
        "centre_baseline": centre_hits / total,
        "pairs": total,
        "pointing_by_class": {LABELS[c]: float(per_class[c, 0] / per_class[c, 1]) for c in range(10)},
    }


def export_onnx(model, path):
    import onnx
    model.eval()
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    torch.onnx.export(model, dummy, path, opset_version=17, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)
    m = onnx.load(path)
    gap = [n for n in m.graph.node if n.op_type in ("GlobalAveragePool", "ReduceMean")]
    assert len(gap) == 1, [n.op_type for n in m.graph.node]
    layer = gap[0].input[0]
    producer = [n for n in m.graph.node if layer in n.output]
    assert producer and producer[0].op_type == "Relu", producer
    meta = {
        "gradcam.labels": "\n".join(LABELS),
        "gradcam.preprocess": "size=96,96;mean=0.5,0.5,0.5;std=0.5,0.5,0.5;crop=none",
        "gradcam.layer": layer,
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.doc_string = ("gradcam demo: ResNet-like multi-label classifier for Fashion-MNIST scenes "
                    "(tools/train_demo.py); input RGB 96x96, (x/255-0.5)/0.5; output 10 logits")
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return layer


def run_onnx_numpy(path, x):
    """Tiny NumPy interpreter for the exported graph (Conv, BatchNormalization,
    Relu, Add, GlobalAveragePool, Flatten, Gemm) -- checks the file without
    onnxruntime. Returns (logits, all tensors)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    env["input"] = x.astype(np.float64)
    for n in m.graph.node:
        at = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        i = [env[k] if k else None for k in n.input]
        if n.op_type == "Conv":
            w, b = i[1], (i[2] if len(i) > 2 else None)
            st, pd = at.get("strides", [1, 1]), at.get("pads", [0, 0, 0, 0])
            dl = at.get("dilations", [1, 1])
            assert at.get("group", 1) == 1
            xp = np.pad(i[0], ((0, 0), (0, 0), (pd[0], pd[2]), (pd[1], pd[3])))
            co, ci, kh, kw = w.shape
            oh = (xp.shape[2] - dl[0] * (kh - 1) - 1) // st[0] + 1
            ow = (xp.shape[3] - dl[1] * (kw - 1) - 1) // st[1] + 1
            y = np.zeros((xp.shape[0], co, oh, ow))
            for dy in range(kh):
                for dx in range(kw):
                    oy, ox = dy * dl[0], dx * dl[1]
                    patch = xp[:, :, oy:oy + st[0] * oh:st[0], ox:ox + st[1] * ow:st[1]]
                    y += np.einsum("nchw,oc->nohw", patch, w[:, :, dy, dx])
            out = y if b is None else y + b[None, :, None, None]
        elif n.op_type == "BatchNormalization":
            sc, bi, mu, var = (v[None, :, None, None] for v in i[1:5])
            out = (i[0] - mu) / np.sqrt(var + at.get("epsilon", 1e-5)) * sc + bi
        elif n.op_type == "Relu":
            out = np.maximum(i[0], 0)
        elif n.op_type == "Add":
            out = i[0] + i[1]
        elif n.op_type == "GlobalAveragePool":
            out = i[0].mean(axis=(2, 3), keepdims=True)
        elif n.op_type == "Flatten":
            out = i[0].reshape(i[0].shape[0], -1)
        elif n.op_type == "Gemm":
            a, b = i[0], i[1]
            if at.get("transA", 0):
                a = a.T
            if at.get("transB", 0):
                b = b.T
            out = at.get("alpha", 1.0) * a @ b + at.get("beta", 1.0) * i[2]
        else:
            raise NotImplementedError(n.op_type)
        env[n.output[0]] = out
    return env["logits"], env, m


def check_onnx(model, path, images):
    """Compare ONNX (NumPy) logits and Grad-CAM (from the gradcam.layer tensor,
    d logit/dA = W_fc/HW for GAP+Gemm) against torch."""
    x = to_input(images)
    logits, env, m = run_onnx_numpy(path, x.numpy())
    meta = {p.key: p.value for p in m.metadata_props}
    a = env[meta["gradcam.layer"]]
    with torch.no_grad():
        ref = model(x).numpy()
    w = model.fc.weight.detach().numpy().astype(np.float64)
    cam_err = 0.0
    for c in range(10):
        alpha = w[c][None, :, None, None] / (a.shape[2] * a.shape[3])
        cam = np.maximum((alpha * a).sum(1), 0)
        cls = [[c]] * len(images)
        tcam = np.stack([cm for _, _, cm in gradcam_maps(model, images, cls)])
        up = F.interpolate(torch.from_numpy(cam[:, None]).float(), size=(SIZE, SIZE),
                           mode="bilinear", align_corners=False)[:, 0].numpy()
        cam_err = max(cam_err, float(np.abs(up - tcam).max() / (np.abs(tcam).max() + 1e-12)))
    return {"onnx_logits_max_abs_diff": float(np.abs(logits - ref).max()),
            "onnx_cam_max_rel_diff": cam_err,
            "layer_shape": list(a.shape)}


def save_ckpt(model, path):
    """.npz (portable across torch versions) or torch .pt."""
    sd = model.state_dict()
    if path.endswith(".npz"):
        np.savez(path, **{k: v.cpu().numpy() for k, v in sd.items()})
    else:
        torch.save(sd, path)


def load_ckpt(model, path):
    if path.endswith(".npz"):
        z = np.load(path)
        sd = {k: torch.from_numpy(z[k]) for k in z.files}
    else:
        sd = torch.load(path, map_location="cpu")
    model.load_state_dict(sd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/tmp/fmnist_scenes")
    ap.add_argument("--out", default="models")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--schedule", default="64:4,96:2",
                    help="progressive resizing: comma list of RES:EPOCHS (scenes are "
                         "downscaled to RES for those epochs; the last entry should be 96)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda; eval/export always on CPU")
    ap.add_argument("--ckpt", default=None, help="checkpoint path (default DATA/demo.pt)")
    ap.add_argument("--init", default=None,
                    help="start from this checkpoint (.npz/.pt) instead of random weights")
    ap.add_argument("--bf16", action="store_true",
                    help="train under CPU bfloat16 autocast + channels_last (oneDNN/AMX); "
                         "weights, evaluation and export stay float32")
    ap.add_argument("--dense", action="store_true",
                    help="evaluate/export the a-trous form (24x24 Grad-CAM map), see DemoNet.densify")
    ap.add_argument("--no-export", action="store_true", help="evaluate only, write no model files")
    ap.add_argument("--skip-train", action="store_true", help="load --ckpt instead of training")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    dev = torch.device(args.device)
    np.random.seed(args.seed)
    ckpt = args.ckpt or os.path.join(args.data, "demo.pt")

    def load(name):
        z = np.load(os.path.join(args.data, name + ".npz"))
        return z["images"], z["labels"], z["boxes"]

    tr_x, tr_y, _ = load("train")
    va_x, va_y, va_b = load("val")
    te_x, te_y, te_b = load("test")
    print("data: train %d, val %d, test %d" % (len(tr_x), len(va_x), len(te_x)), flush=True)

    model = DemoNet()
    nparams = sum(p.numel() for p in model.parameters())
    print("params: %d" % nparams, flush=True)
    t_start = time.time()
    if not args.skip_train:
        if args.init:
            load_ckpt(model, args.init)
        model.to(dev)
        if args.bf16:
            model.to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        res_plan = [int(r) for item in args.schedule.split(",")
                    for r in [item.split(":")[0]] * int(item.split(":")[1])]
        epochs = len(res_plan)
        steps_per_epoch = len(tr_x) // args.batch
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=args.lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
        gen = np.random.default_rng(args.seed)
        ytr = torch.from_numpy(tr_y.astype(np.float32)).to(dev)
        xtr = torch.from_numpy(tr_x).to(dev)
        for ep, res in enumerate(res_plan):
            model.train()
            t0 = time.time()
            perm = gen.permutation(len(tr_x))
            run_loss = torch.zeros((), device=dev)
            for k in range(steps_per_epoch):
                idx = torch.from_numpy(np.sort(perm[k * args.batch:(k + 1) * args.batch])).to(dev)
                x = to_input(xtr[idx])
                flip = torch.from_numpy(gen.random(len(idx)) < 0.5).to(dev)
                x[flip] = x[flip].flip(3)  # horizontal flip augmentation
                if res != SIZE:
                    x = F.interpolate(x, size=(res, res), mode="bilinear",
                                      align_corners=False, antialias=True)
                if args.bf16:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.bf16):
                    out = model(x)
                loss = F.binary_cross_entropy_with_logits(out.float(), ytr[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                run_loss += loss.detach()
                if (k + 1) % 100 == 0:
                    print("  ep %d step %d/%d loss %.4f (%.0fs)" % (
                        ep + 1, k + 1, steps_per_epoch, run_loss.item() / (k + 1), time.time() - t0),
                        flush=True)
            vm = classification_metrics(predict(model, va_x), va_y)
            print("epoch %d @%d: loss %.4f  val mAP %.4f acc %.4f exact %.4f  (%.0fs, total %.0fs)" % (
                ep + 1, res, run_loss.item() / steps_per_epoch, vm["mAP"], vm["per_label_accuracy"],
                vm["exact_match"], time.time() - t0, time.time() - t_start), flush=True)
        model.cpu().to(memory_format=torch.contiguous_format)
        save_ckpt(model, ckpt)
        train_s = time.time() - t_start
    else:
        load_ckpt(model, ckpt)
        train_s = None

    model.eval()
    if args.dense:
        model.densify()
    t0 = time.time()
    vm = classification_metrics(predict(model, va_x), va_y)
    vpg = pointing_game(model, va_x, va_b)
    print("val: mAP %.4f, pointing game %.4f (centre %.4f) (%.0fs)" % (
        vm["mAP"], vpg["pointing_game"], vpg["centre_baseline"], time.time() - t0), flush=True)
    t0 = time.time()
    tm = classification_metrics(predict(model, te_x), te_y)
    print("test: mAP %.4f per-label acc %.4f exact %.4f (%.0fs)" % (
        tm["mAP"], tm["per_label_accuracy"], tm["exact_match"], time.time() - t0), flush=True)
    t0 = time.time()
    pg = pointing_game(model, te_x, te_b)
    print("grad-cam pointing game %.4f, centre baseline %.4f (%.0fs)" % (
        pg["pointing_game"], pg["centre_baseline"], time.time() - t0), flush=True)
    res = {"train_wall_s": train_s and round(train_s, 1), "params": nparams, "test": tm, "gradcam": pg,
           "val": {"mAP": vm["mAP"], "pointing_game": vpg["pointing_game"],
                   "centre_baseline": vpg["centre_baseline"]},
           "final_map": list(model.features(torch.zeros(1, 3, SIZE, SIZE)).shape[2:]),
           "hparams": vars(args)}
    if not args.no_export:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "demo.onnx")
        res["layer"] = export_onnx(model, path)
        res["onnx_bytes"] = os.path.getsize(path)
        res["onnx_check"] = check_onnx(model, path, te_x[:4])
        with open(os.path.join(args.out, "demo.labels.txt"), "w") as f:
            f.write("\n".join(LABELS) + "\n")
    print(json.dumps(res, indent=1), flush=True)
    with open(os.path.splitext(ckpt)[0] + ".results.json", "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
