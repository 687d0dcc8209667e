"""EigenCAM, as pytorch_grad_cam.eigen_cam.EigenCAM (method "eigencam" of the C library)."""
from .base_cam import BaseCAM


class EigenCAM(BaseCAM):
    method = "eigencam"

