"""Helpers, as pytorch_grad_cam.utils: model_targets and image."""
