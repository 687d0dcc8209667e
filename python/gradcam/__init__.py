"""gradcam: Grad-CAM and friends for ONNX models, in C, with pytorch-grad-cam's API.

    from gradcam import GradCAM
    from gradcam.utils.model_targets import ClassifierOutputTarget
    cam = GradCAM(model="m.onnx", target_layers=["/layer4/layer4.1/relu_1/Relu_output_0"])
    maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(281)])   # N x H x W float32

The names and module paths are pytorch_grad_cam's with `pytorch_grad_cam`
replaced by `gradcam`; layers are ONNX tensor names (`gradcam layers M.onnx`
lists them), or torch modules when `model` is a torch.nn.Module (exported to
ONNX on the first call, see from_torch).  numpy in, numpy out; no torch needed.
"""
from ._lib import GradCAMError, library_path, version
from .model import Model
from .base_cam import BaseCAM
from .grad_cam import GradCAM
from .hirescam import HiResCAM
from .grad_cam_plusplus import GradCAMPlusPlus
from .xgrad_cam import XGradCAM
from .layer_cam import LayerCAM
from .eigen_cam import EigenCAM
from .eigen_grad_cam import EigenGradCAM
from .grad_cam_elementwise import GradCAMElementWise
from .score_cam import ScoreCAM
from .ablation_cam import AblationCAM
from .guided_backprop import GuidedBackpropReLUModel


def from_torch(model, example_input, target_layers, **kwargs):
    """Exports a torch model to ONNX in memory: returns (gradcam.Model, [tensor names]),
    one ONNX tensor per module of target_layers (see gradcam.torch_bridge)."""
    from .torch_bridge import from_torch as _from_torch
    return _from_torch(model, example_input, target_layers, **kwargs)


__all__ = ["GradCAM", "HiResCAM", "GradCAMPlusPlus", "XGradCAM", "LayerCAM", "EigenCAM", "EigenGradCAM",
           "GradCAMElementWise", "ScoreCAM", "AblationCAM", "GuidedBackpropReLUModel", "BaseCAM", "Model",
           "GradCAMError", "from_torch", "library_path", "version"]
__version__ = "0.1.0"
