"""GuidedBackpropReLUModel, as pytorch_grad_cam.guided_backprop's.

    gb = GuidedBackpropReLUModel(model="m.onnx", device=None)
    g = gb(input_tensor, target_category=None)    # H x W x C float32, the raw gradient

The gradient of the class score at the input with the guided ReLU rule,
for the first image of the batch, channels last (as pytorch-grad-cam returns
it, ready for deprocess_image).  target_category None: the top class.
"""
import numpy as np

from .base_cam import BaseCAM
from .utils.model_targets import ClassifierOutputTarget


class GuidedBackpropReLUModel(BaseCAM):
    method = "guided-backprop"

    def __init__(self, model, device=None, use_cuda=False, **kwargs):
        super().__init__(model, [], **kwargs)
        if self.torch_model is not None:
            raise NotImplementedError("GuidedBackpropReLUModel takes an ONNX model here; "
                                      "convert a torch model with gradcam.from_torch first")

    def __call__(self, input_img, target_category=None):
        from .model import as_nchw
        x = as_nchw(input_img)[:1]
        target = None if target_category is None else ClassifierOutputTarget(target_category)
        opts = self._opts(False, False)
        import ctypes
        layers_c = (ctypes.c_char_p * 1)()
        _, t, s, raw = self.explain_one(x, target, opts, layers_c, 0)
        return np.ascontiguousarray(raw.transpose(1, 2, 0)).astype(np.float32, copy=False)
