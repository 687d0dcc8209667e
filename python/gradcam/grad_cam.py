"""GradCAM, as pytorch_grad_cam.grad_cam.GradCAM (method "gradcam" of the C library)."""
from .base_cam import BaseCAM


class GradCAM(BaseCAM):
    method = "gradcam"

