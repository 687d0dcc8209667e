#!/usr/bin/python3
"""Exports torchvision models with torch.onnx for tests/models and the
benchmark: the transformers issue 9 found unloadable (ViT-B/16, Swin-T) and
a segmentation net (DeepLabV3-MobileNetV3, its "out" map only), seeded
random weights (ViT's zero-initialised head randomised so its logits are not
all 0), opset 17, dynamic batch.  Cached: a file already there is kept.

    /usr/bin/python3 tools/export_torch_models.py --out ~/.cache/gradcam/torch-export [--models swin_t,vit_b_16]
"""
import argparse
import os
import sys
import warnings

MODELS = ("swin_t", "vit_b_16")
SEGMENTATION = ("deeplabv3_mobilenet_v3_large", "fcn_resnet50")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    todo = [m for m in args.models.split(",") if m and not os.path.isfile(os.path.join(args.out, m + ".onnx"))]
    if not todo:
        return 0
    warnings.filterwarnings("ignore")
    import torch
    import torchvision
    torch.set_num_threads(2)
    class OutMap(torch.nn.Module):  # a segmentation net's dict output -> its "out" map
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)["out"]

    for name in todo:
        torch.manual_seed(1009)
        if name in SEGMENTATION:
            m = OutMap(getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None,
                                                                      aux_loss=False)).eval()
        else:
            m = getattr(torchvision.models, name)(weights=None).eval()
        if name.startswith("vit"):
            torch.nn.init.normal_(m.heads.head.weight, std=0.02)
        out = "out" if name in SEGMENTATION else "logits"
        tmp = os.path.join(args.out, name + ".onnx.part")
        torch.onnx.export(m, torch.randn(1, 3, 224, 224), tmp, opset_version=17, input_names=["input"],
                          output_names=[out], dynamic_axes={"input": {0: "N"}, out: {0: "N"}})
        os.replace(tmp, os.path.join(args.out, name + ".onnx"))
        print("exported %s" % name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
