#!/usr/bin/env python3
"""ort_profile.py - onnxruntime's per-node trace (bench/ort_bench.js --profile)
summed per op type, convolutions split by kernel size and stride, per run:
the counterpart of `gradcam classify --profile` when asking where onnxruntime
is faster.

    python3 bench/ort_profile.py TRACE.json [--runs N] [--nodes K]

--runs: the runs the trace holds (warm-up and timed; ort_bench.js prints
them), to give milliseconds per run; --nodes K also lists the K slowest
nodes."""
import argparse
import json
from collections import defaultdict


def kind(e):
    a = e.get("args", {})
    op = a.get("op_name", "?")
    shapes = a.get("input_type_shape", [])
    outs = a.get("output_type_shape", [])
    if op in ("Conv", "FusedConv") and len(shapes) > 1:
        w = list(shapes[1].values())[0]
        x = list(shapes[0].values())[0]
        y = list(outs[0].values())[0] if outs else x
        k = "x".join(str(d) for d in w[2:])
        s = max(1, round(x[-1] / y[-1])) if y and y[-1] else 1
        dw = " depthwise" if w[1] == 1 and x[1] > 1 else ""
        return f"{op} k{k} s{s}{dw}"
    return op


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--nodes", type=int, default=0)
    a = ap.parse_args()
    ev = [e for e in json.load(open(a.trace)) if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    per = defaultdict(float)
    node = defaultdict(float)
    for e in ev:
        per[kind(e)] += e["dur"] / 1000.0
        node[(e["name"][: -len("_kernel_time")], kind(e))] += e["dur"] / 1000.0
    total = sum(per.values())
    print(f"onnxruntime profile: {total / a.runs:.2f} ms per run in {len(node)} nodes")
    for k, v in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<40} {v / a.runs:9.3f} ms {100 * v / total:6.1f}%")
    if a.nodes:
        print("  slowest nodes:")
        for (n, k), v in sorted(node.items(), key=lambda kv: -kv[1])[: a.nodes]:
            print(f"    {n:<60} {k:<28} {v / a.runs:8.3f} ms")


if __name__ == "__main__":
    main()
