"""gradcam.Model: a loaded ONNX model (one libgcam handle) and its forward pass.

A handle is not thread-safe in C, so every call into it holds the model's
lock; the GIL itself is released during the C call (ctypes does that), so
two models explain in parallel from two Python threads.
"""
import ctypes
import threading

import numpy as np

from ._lib import Array, GradCAMError, Layer, GCAM_FLOAT32, GCAM_INT64, lib


def as_nchw(x, what="input_tensor"):
    """x (numpy array, torch tensor or anything array-like) as a C-contiguous
    float32 N x C x H x W numpy array."""
    if hasattr(x, "detach"):  # a torch tensor: no torch import needed
        x = x.detach().cpu().numpy()
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError("%s must be N x C x H x W (got shape %s)" % (what, x.shape))
    return x


def to_c_array(x):
    a = Array()
    a.dtype = GCAM_FLOAT32
    a.ndim = x.ndim
    for i, d in enumerate(x.shape):
        a.dims[i] = d
    a.data = x.ctypes.data
    return a


class Model:
    """An ONNX model: Model("m.onnx"), Model(onnx_bytes), or from gradcam.from_torch."""

    def __init__(self, source, threads=0):
        self._h = ctypes.c_void_p()
        self.lock = threading.RLock()
        if isinstance(source, Model):
            raise TypeError("already a gradcam.Model")
        if isinstance(source, (bytes, bytearray, memoryview)):
            buf = bytes(source)
            rc = lib().gcam_model_load_buffer(buf, len(buf), ctypes.byref(self._h))
            self.path = None
        else:
            self.path = str(source)
            rc = lib().gcam_model_load(self.path.encode(), ctypes.byref(self._h))
        if rc:
            msg = self.errmsg() if self._h else "out of memory"
            self.close()
            raise GradCAMError(msg, rc)
        if threads:
            lib().gcam_model_set_threads(self._h, int(threads))

    # ---- the handle -------------------------------------------------------------
    @property
    def handle(self):
        if not self._h:
            raise GradCAMError("the model has been closed")
        return self._h

    def errmsg(self):
        return lib().gcam_model_errmsg(self._h).decode(errors="replace")

    def check(self, rc):
        if rc:
            raise GradCAMError(self.errmsg(), rc)

    def close(self):
        h = getattr(self, "_h", None)
        if h:
            self._h = ctypes.c_void_p()
            try:
                lib().gcam_model_free(h)
            except Exception:  # interpreter shutdown: the library may already be gone
                pass

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- description --------------------------------------------------------------
    @property
    def input_names(self):
        return [lib().gcam_model_input_name(self.handle, i).decode()
                for i in range(lib().gcam_model_num_inputs(self.handle))]

    @property
    def output_names(self):
        return [lib().gcam_model_output_name(self.handle, i).decode()
                for i in range(lib().gcam_model_num_outputs(self.handle))]

    def input_shape(self, i=0):
        dims = (ctypes.c_int64 * 8)()
        n = lib().gcam_model_input_shape(self.handle, i, dims)
        return tuple(dims[k] for k in range(n)) if n >= 0 else None

    def layers(self):
        """Every 4-D activation of the current plan: (tensor, node, op_type, dims, is_auto)."""
        with self.lock:
            p = ctypes.POINTER(Layer)()
            n = ctypes.c_int()
            self.check(lib().gcam_model_layers(self.handle, ctypes.byref(p), ctypes.byref(n)))
            return [(p[i].tensor.decode(), (p[i].node or b"").decode(), p[i].op_type.decode(),
                     tuple(p[i].dims), bool(p[i].is_auto)) for i in range(n.value)]

    def resolve_layer(self, name):
        with self.lock:
            out = ctypes.c_char_p()
            self.check(lib().gcam_model_resolve_layer(self.handle, name.encode(), ctypes.byref(out)))
            return out.value.decode()

    # ---- forward ------------------------------------------------------------------
    def keep(self, tensor):
        with self.lock:
            self.check(lib().gcam_model_keep(self.handle, tensor.encode()))

    def run(self, input_tensor, outputs=None):
        """Forward pass; returns a dict name -> numpy copy (graph outputs, or `outputs`)."""
        x = as_nchw(input_tensor)
        a = to_c_array(x)
        with self.lock:
            self.check(lib().gcam_model_run(self.handle, None, ctypes.byref(a), 1))
            return {n: self.tensor(n) for n in (outputs or self.output_names)}

    def tensor(self, name):
        """A numpy copy of a tensor after run()."""
        a = Array()
        with self.lock:
            self.check(lib().gcam_model_tensor(self.handle, name.encode(), ctypes.byref(a)))
            shape = tuple(a.dims[i] for i in range(a.ndim))
            ctype, dt = (ctypes.c_float, np.float32) if a.dtype == GCAM_FLOAT32 else (ctypes.c_int64, np.int64)
            if a.dtype not in (GCAM_FLOAT32, GCAM_INT64):
                raise GradCAMError("tensor '%s' has data type %d" % (name, a.dtype))
            n = int(np.prod(shape)) if shape else 1
            buf = (ctype * n).from_address(a.data) if n else (ctype * 0)()
            return np.array(np.frombuffer(buf, dtype=dt, count=n).reshape(shape), copy=True)

    def __call__(self, input_tensor):
        """The first output, as a numpy array."""
        return self.run(input_tensor)[self.output_names[0]]
