"""LayerCAM, as pytorch_grad_cam.layer_cam.LayerCAM (method "layercam" of the C library)."""
from .base_cam import BaseCAM


class LayerCAM(BaseCAM):
    method = "layercam"

