#!/usr/bin/python3
"""Floating-point operations of one forward pass of an ONNX model: 2 per
multiply-add in Conv, Gemm and MatMul (the rest is noise next to them),
from shapes inferred by onnx.shape_inference (a symbolic batch counts as 1;
nodes whose shapes it cannot infer are left out and counted).

    /usr/bin/python3 bench/flops.py model.onnx   -> {"gflop": 8.18}"""
import json
import sys

import onnx
from onnx import shape_inference


def dims(vi):
    return [d.dim_value or 1 for d in vi.type.tensor_type.shape.dim]  # a symbolic batch counts as 1


def main():
    m = shape_inference.infer_shapes(onnx.load(sys.argv[1]))
    g = m.graph
    shapes = {vi.name: dims(vi) for vi in list(g.value_info) + list(g.input) + list(g.output)}
    shapes.update({t.name: list(t.dims) for t in g.initializer})
    flop, unknown = 0, 0
    for n in g.node:
        if n.op_type in ("Conv", "Gemm", "MatMul") and not all(shapes.get(t) for t in (n.input[0], n.input[1], n.output[0])):
            unknown += 1  # shape inference could not follow (dynamic reshapes): left out, and said
            continue
        if n.op_type == "Conv":
            w, y = shapes[n.input[1]], shapes[n.output[0]]
            k = 1
            for d in w[1:]:
                k *= d  # C/group * kernel
            out = 1
            for d in y:
                out *= d
            flop += 2 * out * k
        elif n.op_type in ("Gemm", "MatMul"):
            a, y = shapes[n.input[0]], shapes[n.output[0]]
            trans_a = any(at.name == "transA" and at.i for at in n.attribute)
            k = a[-2] if trans_a else a[-1]
            out = 1
            for d in y:
                out *= d
            flop += 2 * out * k
    print(json.dumps({"gflop": flop / 1e9, "nodes_without_shapes": unknown}))


if __name__ == "__main__":
    main()
