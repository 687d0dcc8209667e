#!/usr/bin/python3
"""A dense per-class model from the bundled classifier, for the README's
segmentation demo: models/demo.onnx ends in layer4 (128 x 24 x 24) ->
GlobalAveragePool -> Flatten -> Gemm (10 classes).  Applying the Gemm at
every position instead - a 1x1 convolution with the same weights and bias,
the classic fully convolutional conversion (Long et al. 2015) - and
resizing bilinearly to the input gives `out` [1,10,96,96]: one score map per
class (a logit per pixel; > 0 where the classifier's sigmoid would say the
garment is there).  Its spatial mean is the classifier's logit.  No training:
the weights are demo.onnx's.

    /usr/bin/python3 tools/make_seg_demo.py [--model models/demo.onnx] --out build/demo_seg.onnx
"""
import argparse
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "demo.onnx"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    m = onnx.load(args.model)
    g = m.graph
    gap = [n for n in g.node if n.op_type == "GlobalAveragePool"]
    gemm = [n for n in g.node if n.op_type == "Gemm"]
    assert len(gap) == 1 and len(gemm) == 1, "expected one GlobalAveragePool and one Gemm"
    layer = gap[0].input[0]
    attrs = {a.name: helper.get_attribute_value(a) for a in gemm[0].attribute}
    assert attrs.get("transA", 0) == 0 and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    w, b = inits[gemm[0].input[1]], inits[gemm[0].input[2]]
    if not attrs.get("transB", 0):
        w = w.T
    classes, channels = w.shape
    side = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim][2:]
    cut = [n.name for n in g.node].index(gap[0].name)  # the head: GAP and what follows
    keep = []
    for n in list(g.node)[:cut]:
        c = onnx.NodeProto()
        c.CopyFrom(n)
        keep.append(c)
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend([
        numpy_helper.from_array(w.reshape(classes, channels, 1, 1).astype(np.float32), "seg.weight"),
        numpy_helper.from_array(b.astype(np.float32), "seg.bias"),
        numpy_helper.from_array(np.array([1, classes] + side, np.int64), "seg.sizes")])
    g.node.extend([
        helper.make_node("Conv", [layer, "seg.weight", "seg.bias"], ["class_maps"], name="/seg/Conv"),
        helper.make_node("Resize", ["class_maps", "", "", "seg.sizes"], ["out"], name="/seg/Resize", mode="linear",
                         coordinate_transformation_mode="half_pixel")])
    del g.output[:]
    g.output.extend([helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, [1, classes] + side)])
    for name in ("fc.weight", "fc.bias"):
        g.initializer.remove([t for t in g.initializer if t.name == name][0])
    meta = [p for p in m.metadata_props if p.key in ("gradcam.labels", "gradcam.preprocess")]
    del m.metadata_props[:]
    m.metadata_props.extend(meta)
    m.doc_string = "demo.onnx with its linear classifier applied at every position (tools/make_seg_demo.py)"
    onnx.checker.check_model(m)
    onnx.save(m, args.out)
    print("make_seg_demo: %s: out [1,%d,%d,%d] from %s" % (args.out, classes, side[0], side[1], layer))


if __name__ == "__main__":
    main()
