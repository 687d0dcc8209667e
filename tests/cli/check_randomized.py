#!/usr/bin/env python3
"""check_randomized.py - the re-drawn model of `gradcam sanity --save-weights`,
computed another way: the ONNX graph evaluated op by op with PyTorch's
functional ops (Conv, Relu, Add, BatchNormalization, MaxPool,
GlobalAveragePool, Flatten, Gemm, MatMul) on the saved weights, against gradcam's logits.  Also
checks the re-draw rule on the saved weights (|w| <= 2/sqrt(fan_in), zero
biases) and that the trained weights give other logits (so the check can fail).

usage: check_randomized.py MODEL.onnx X.npy DIR
"""
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def run(model, x, weights):
    env = {i.name: torch.from_numpy(numpy_helper.to_array(i).astype(np.float32)) for i in model.graph.initializer}
    env.update({k: torch.from_numpy(v) for k, v in weights.items()})
    env[model.graph.input[0].name] = torch.from_numpy(x)
    for n in model.graph.node:
        a, i = attrs(n), [env[k] if k else None for k in n.input]
        if n.op_type == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3], "asymmetric pads"
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1, 1]),
                         padding=(p[0], p[1]), dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        elif n.op_type == "Relu":
            y = F.relu(i[0])
        elif n.op_type == "Add":
            y = i[0] + i[1]
        elif n.op_type == "BatchNormalization":
            y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get("epsilon", 1e-5))
        elif n.op_type == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3], "asymmetric pads"
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", [1, 1]), (p[0], p[1]),
                             ceil_mode=bool(a.get("ceil_mode", 0)))
        elif n.op_type == "GlobalAveragePool":
            y = i[0].mean(dim=(2, 3), keepdim=True)
        elif n.op_type == "Flatten":
            y = i[0].flatten(a.get("axis", 1))
        elif n.op_type == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * A @ B + (a.get("beta", 1.0) * i[2] if len(i) > 2 else 0)
        elif n.op_type == "MatMul":
            y = i[0] @ i[1]
        else:
            raise SystemExit(f"FAIL op {n.op_type} not in the checker")
        env[n.output[0]] = y
    return env[model.graph.output[0].name].numpy()


def main():
    model_path, x_path, d = sys.argv[1:4]
    model = onnx.load(model_path)
    x = np.load(x_path).astype(np.float32)
    weights = {}
    for line in open(f"{d}/index.tsv"):
        name, f = line.rstrip("\n").split("\t")
        weights[name] = np.load(f"{d}/{f}").astype(np.float32)
    got = np.load(f"{d}/logits.npy")
    fails = 0
    trained = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    with torch.no_grad():
        want = run(model, x, weights)
        orig = run(model, x, {})
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max()) / scale
    print(("ok  " if err < 1e-4 else "FAIL") + f" re-drawn logits vs torch: max rel diff {err:.2e}")
    fails += err >= 1e-4
    moved = float(np.abs(orig - want).max())
    print(("ok  " if moved > 1e-2 else "FAIL") + f" trained logits differ from the re-drawn ones by {moved:.3f}")
    fails += moved <= 1e-2
    bad = []
    for n in model.graph.node:
        if n.op_type == "BatchNormalization" and n.input[1] in weights:
            if np.abs(weights[n.input[1]]).max() > 2 * (1 + 1e-6) or np.any(weights[n.input[2]] != 0):
                bad.append(n.name)
        if n.op_type in ("Conv", "Gemm") and n.input[1] in weights:
            w = weights[n.input[1]]
            fan_in = w[0].size if n.op_type == "Conv" else (w.shape[1] if attrs(n).get("transB", 0) else w.shape[0])
            if np.abs(w).max() > 2 / np.sqrt(fan_in) * (1 + 1e-6) or np.array_equal(w, trained[n.input[1]]):
                bad.append(n.name)
            if len(n.input) > 2 and n.input[2] in weights and np.any(weights[n.input[2]] != 0):
                bad.append(n.name + " bias")
    print(("ok  " if not bad else "FAIL") + f" re-draw rule on {len(weights)} tensors" + (f": {bad}" if bad else ""))
    fails += bool(bad)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
