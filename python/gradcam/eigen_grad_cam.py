"""EigenGradCAM, as pytorch_grad_cam.eigen_grad_cam.EigenGradCAM (method "eigengradcam" of the C library)."""
from .base_cam import BaseCAM


class EigenGradCAM(BaseCAM):
    method = "eigengradcam"

