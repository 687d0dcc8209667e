"""GradCAMPlusPlus, as pytorch_grad_cam.grad_cam_plusplus.GradCAMPlusPlus (method "gradcam++" of the C library)."""
from .base_cam import BaseCAM


class GradCAMPlusPlus(BaseCAM):
    method = "gradcam++"

