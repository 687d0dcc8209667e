"""BaseCAM: pytorch_grad_cam.base_cam.BaseCAM over the C library.

    cam = GradCAM(model="m.onnx", target_layers=["/layer4/layer4.1/relu_1/Relu_output_0"])
    maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(281)])   # N x H x W float32

`model` is an ONNX path, ONNX bytes, a gradcam.Model, or a torch.nn.Module
(then `target_layers` are its modules, and the model is exported to ONNX on
the first call: gradcam.from_torch).  Each image of the batch is one
gcam_explain call (the library explains batch 1); the GIL is released during
it.  The map equals `gradcam explain --save-npy` on the same tensor.
"""
import ctypes

import numpy as np

from ._lib import ExplainOpts, GradCAMError, lib
from .model import Model, as_nchw, to_c_array


def _is_torch_module(obj):
    return any(c.__module__.startswith("torch.nn") and c.__name__ == "Module" for c in type(obj).__mro__)


class BaseCAM:
    method = "gradcam"
    batch_size = 0  # Score-CAM / Ablation-CAM: images per pass (0: the library's 32)
    # batched = True: a batch of N images in one forward and one backward pass
    # (gcam_explain_batch) when the model's batch is symbolic and the method a
    # gradient layer CAM or EigenCAM; maps equal the per-image ones within float32
    # rounding.  Off by default: per-image calls equal `gradcam explain` bit for bit.
    batched = False

    def __init__(self, model, target_layers=None, use_cuda=False, reshape_transform=None, device=None,
                 compute_input_gradient=False, uses_gradients=True, threads=0, **kwargs):
        if reshape_transform is not None:
            raise NotImplementedError("reshape_transform: gradcam explains 4-D (N, C, H, W) activations; "
                                      "pass the ONNX tensor before the reshape as the target layer")
        self.threads = threads
        self.torch_model = None
        self._torch_layers = None
        self._exported = {}
        if _is_torch_module(model):
            self.torch_model = model
            self._torch_layers = list(target_layers or [])
            self.model = None
            self.target_layers = None
        else:
            self.model = model if isinstance(model, Model) else Model(model, threads=threads)
            self.target_layers = [str(t) for t in (target_layers or [])]
        self.outputs = None
        self.scores = None
        self.options = {}

    # ---- context manager, as pytorch-grad-cam's ----
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        return False

    def _ensure_model(self, x):
        """For a torch module: export it (once per input shape) and map the layers."""
        if self.torch_model is None:
            return
        key = x.shape[1:]
        if key not in self._exported:
            from .torch_bridge import from_torch
            self._exported[key] = from_torch(self.torch_model, x[:1], self._torch_layers, threads=self.threads)
        self.model, self.target_layers = self._exported[key]

    def _opts(self, eigen_smooth, aug_smooth):
        o = ExplainOpts()
        lib().gcam_explain_opts_default(ctypes.byref(o))
        m = lib().gcam_method_parse(self.method.encode())
        if m < 0:
            raise GradCAMError("unknown method '%s'" % self.method)
        o.method = m
        o.eigen_smooth = int(bool(eigen_smooth))
        o.aug_smooth = int(bool(aug_smooth))
        if self.batch_size:
            o.batch_size = int(self.batch_size)
        for k, v in self.options.items():
            setattr(o, k, v)
        return o

    def _output_shape(self, x1):
        """One item's shape of the first output (for weight targets), from a forward pass."""
        out = self.model.run(x1)[self.model.output_names[0]]
        return out.shape[1:]

    def explain_one(self, x1, target, opts, layers_c, n_layers):
        """One image (1 x C x H x W): (map, explained target, score)."""
        weights = None
        o = ExplainOpts.from_buffer_copy(opts)
        o.layers = layers_c
        o.n_layers = n_layers
        if target is not None:
            if hasattr(target, "weights"):
                weights = target.weights(self._output_shape(x1))
                o.target_weights = weights.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
                o.n_target_weights = weights.size
            elif hasattr(target, "_apply"):
                target._apply(o, None)
            else:
                raise TypeError("target %r: gradcam takes ClassifierOutputTarget, ClassifierOutputSoftmaxTarget, "
                                "SemanticSegmentationTarget or WeightedOutputTarget (a torch callable cannot "
                                "run in C)" % (target,))
        a = to_c_array(x1)
        ex = ctypes.c_void_p()
        L = lib()
        with self.model.lock:
            rc = L.gcam_explain(self.model.handle, ctypes.byref(a), ctypes.byref(o), ctypes.byref(ex))
            if rc:
                raise GradCAMError(self.model.errmsg(), rc)
        try:
            h, w = ctypes.c_int(), ctypes.c_int()
            ch = L.gcam_explanation_channels(ex)
            p = L.gcam_explanation_map(ex, ctypes.byref(h), ctypes.byref(w))
            n = ch * h.value * w.value
            cam = np.ctypeslib.as_array(p, shape=(n,)).reshape((ch, h.value, w.value) if ch > 1 else (h.value, w.value)).copy()
            return cam, L.gcam_explanation_target(ex), L.gcam_explanation_score(ex), self._raw(ex, ch)
        finally:
            L.gcam_explanation_free(ex)  # `weights` stayed alive in this frame through gcam_explain

    @staticmethod
    def _raw(ex, ch):
        h, w = ctypes.c_int(), ctypes.c_int()
        p = lib().gcam_explanation_raw(ex, ctypes.byref(h), ctypes.byref(w))
        n = ch * h.value * w.value
        if not p or not n:
            return None
        return np.ctypeslib.as_array(p, shape=(n,)).reshape((ch, h.value, w.value)).copy()

    def forward(self, input_tensor, targets=None, eigen_smooth=False, aug_smooth=False):
        x = as_nchw(input_tensor)
        self._ensure_model(x)
        if targets is not None and len(targets) == 1 and x.shape[0] > 1:
            # one target for the whole batch (pytorch-grad-cam would zip it with the first
            # image only and leave the others without a gradient)
            targets = list(targets) * x.shape[0]
        if targets is not None and len(targets) != x.shape[0]:
            raise ValueError("%d targets for %d images: give one target per image, one for all, "
                             "or None for each image's top class" % (len(targets), x.shape[0]))
        opts = self._opts(eigen_smooth, aug_smooth)
        names = [t.encode() for t in self.target_layers]
        layers_c = (ctypes.c_char_p * max(1, len(names)))(*names)
        if self.batched and x.shape[0] > 1 and all(
                t is None or type(t).__name__ == "ClassifierOutputTarget" for t in (targets or [None])):
            return self._forward_batched(x, targets, opts, layers_c, len(names))
        maps, chosen, scores = [], [], []
        for i in range(x.shape[0]):
            cam, t, s, _ = self.explain_one(x[i:i + 1], None if targets is None else targets[i], opts,
                                            layers_c, len(names))
            maps.append(cam)
            chosen.append(t)
            scores.append(s)
        self.targets_used = chosen
        self.scores = np.asarray(scores, dtype=np.float32)
        return np.stack(maps).astype(np.float32, copy=False)

    def _forward_batched(self, x, targets, opts, layers_c, n_layers):
        o = ExplainOpts.from_buffer_copy(opts)
        o.layers = layers_c
        o.n_layers = n_layers
        n = x.shape[0]
        tg = (ctypes.c_int64 * n)(*[-1 if t is None else t.category for t in (targets or [None] * n)])
        out = (ctypes.c_void_p * n)()
        a = to_c_array(x)
        L = lib()
        with self.model.lock:
            rc = L.gcam_explain_batch(self.model.handle, ctypes.byref(a), ctypes.byref(o), tg, out)
            if rc:
                raise GradCAMError(self.model.errmsg(), rc)
        maps, chosen, scores = [], [], []
        try:
            for i in range(n):
                h, w = ctypes.c_int(), ctypes.c_int()
                p = L.gcam_explanation_map(out[i], ctypes.byref(h), ctypes.byref(w))
                maps.append(np.ctypeslib.as_array(p, shape=(h.value * w.value,)).reshape(h.value, w.value).copy())
                chosen.append(L.gcam_explanation_target(out[i]))
                scores.append(L.gcam_explanation_score(out[i]))
        finally:
            for i in range(n):
                L.gcam_explanation_free(out[i])
        self.targets_used = chosen
        self.scores = np.asarray(scores, dtype=np.float32)
        return np.stack(maps).astype(np.float32, copy=False)

    def __call__(self, input_tensor, targets=None, aug_smooth=False, eigen_smooth=False):
        return self.forward(input_tensor, targets, eigen_smooth=eigen_smooth, aug_smooth=aug_smooth)

    def __del__(self):
        pass
