"""AblationCAM, as pytorch_grad_cam.ablation_cam.AblationCAM (method "ablationcam")."""
from .base_cam import BaseCAM


class AblationCAM(BaseCAM):
    method = "ablationcam"
    batch_size = 32

    def __init__(self, model, target_layers=None, use_cuda=False, reshape_transform=None, ablation_layer=None,
                 batch_size=32, ratio_channels_to_ablate=1.0, **kwargs):
        if ablation_layer is not None:
            raise NotImplementedError("ablation_layer: the C library ablates each channel of the layer itself")
        if ratio_channels_to_ablate != 1.0:
            raise NotImplementedError("ratio_channels_to_ablate: gradcam ablates every channel")
        super().__init__(model, target_layers, use_cuda=use_cuda, reshape_transform=reshape_transform, **kwargs)
        self.batch_size = batch_size
