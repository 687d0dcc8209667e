"""GradCAMElementWise, as pytorch_grad_cam.grad_cam_elementwise.GradCAMElementWise (method "gradcam-elementwise" of the C library)."""
from .base_cam import BaseCAM


class GradCAMElementWise(BaseCAM):
    method = "gradcam-elementwise"

