"""Images, as pytorch_grad_cam.utils.image: show_cam_on_image, preprocess_image,
deprocess_image, scale_cam_image.  numpy only (OpenCV is used when installed;
otherwise the colormap tables come from the C library, which holds OpenCV's)."""
import ctypes

import numpy as np

from .._lib import lib

# OpenCV's colormap codes, so that colormap=cv2.COLORMAP_JET works without cv2
COLORMAP_JET = 2
COLORMAP_INFERNO = 9
COLORMAP_VIRIDIS = 16
COLORMAP_TURBO = 20
_NAMES = {COLORMAP_JET: "jet", COLORMAP_INFERNO: "inferno", COLORMAP_VIRIDIS: "viridis", COLORMAP_TURBO: "turbo"}
_TABLES = {}


def _table(colormap):
    """256 x 3 uint8, RGB."""
    name = _NAMES.get(colormap, colormap)
    if name not in _TABLES:
        buf = (ctypes.c_uint8 * 768)()
        if not isinstance(name, str) or lib().gcam_colormap_table(name.encode(), buf):
            raise ValueError("colormap %r: gradcam has jet, turbo, viridis, inferno (or install OpenCV)" % (colormap,))
        _TABLES[name] = np.frombuffer(buf, dtype=np.uint8).reshape(256, 3).copy()
    return _TABLES[name]


def apply_color_map(gray_u8, colormap=COLORMAP_JET, use_rgb=False):
    """cv2.applyColorMap(gray_u8, colormap), BGR unless use_rgb."""
    try:
        import cv2
        heat = cv2.applyColorMap(gray_u8, colormap)
        return cv2.cvtColor(heat, cv2.COLOR_BGR2RGB) if use_rgb else heat
    except ImportError:
        rgb = _table(colormap)[gray_u8]
        return rgb if use_rgb else rgb[..., ::-1]


def show_cam_on_image(img, mask, use_rgb=False, colormap=COLORMAP_JET, image_weight=0.5):
    """The CAM mask (H x W in [0, 1]) over the image (H x W x 3 float in [0, 1]),
    as uint8; BGR unless use_rgb, as pytorch-grad-cam (OpenCV's order)."""
    heatmap = apply_color_map(np.uint8(255 * mask), colormap, use_rgb)
    heatmap = np.float32(heatmap) / 255
    if np.max(img) > 1:
        raise Exception("The input image should np.float32 in the range [0, 1]")
    if image_weight < 0 or image_weight > 1:
        raise Exception(f"image_weight should be in the range [0, 1]. Got: {image_weight}")
    cam = (1 - image_weight) * heatmap + image_weight * img
    cam = cam / np.max(cam)
    return np.uint8(255 * cam)


def preprocess_image(img, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
    """H x W x 3 float image in [0, 1] -> 1 x 3 x H x W float32 (normalised), a
    numpy array where pytorch-grad-cam returns a torch tensor."""
    x = (np.asarray(img, dtype=np.float32) - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32, copy=False)


def deprocess_image(img):
    """A gradient image for display: standardise, * 0.1 + 0.5, clip, uint8."""
    img = img - np.mean(img)
    img = img / (np.std(img) + 1e-5)
    img = img * 0.1
    img = img + 0.5
    img = np.clip(img, 0, 1)
    return np.uint8(img * 255)


def scale_cam_image(cam, target_size=None):
    """Each map min-max scaled ((x - min) / (1e-7 + max)), optionally resized
    (bilinear, half-pixel centres, as cv2.resize)."""
    result = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        if target_size is not None:
            img = _resize_bilinear(img, target_size)
        result.append(img)
    return np.float32(result)


def _resize_bilinear(img, size):
    w, h = size
    ih, iw = img.shape
    ys = np.clip((np.arange(h) + 0.5) * ih / h - 0.5, 0, ih - 1)
    xs = np.clip((np.arange(w) + 0.5) * iw / w - 0.5, 0, iw - 1)
    y0 = np.floor(ys).astype(int); x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, ih - 1); x1 = np.minimum(x0 + 1, iw - 1)
    fy = (ys - y0)[:, None]; fx = (xs - x0)[None, :]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bot = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy
