"""XGradCAM, as pytorch_grad_cam.xgrad_cam.XGradCAM (method "xgradcam" of the C library)."""
from .base_cam import BaseCAM


class XGradCAM(BaseCAM):
    method = "xgradcam"

