"""HiResCAM, as pytorch_grad_cam.hirescam.HiResCAM (method "hirescam" of the C library)."""
from .base_cam import BaseCAM


class HiResCAM(BaseCAM):
    method = "hirescam"

