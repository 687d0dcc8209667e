"""ctypes over libgcam.so: the handful of C calls the package makes.

Where the library comes from (first found wins):
  1. gradcam/_libs/libgcam.so.0, copied there by `pip install ./python`
     (setup.py's build step takes it from the checkout's build/ directory);
  2. <checkout>/build/libgcam.so, when the package is imported straight from
     the source tree (python/ on sys.path), as the tests do before installing.
No environment variable is read.  ctypes.CDLL releases the GIL around every
foreign call, so explanations in other threads run in parallel with Python.
"""
import ctypes
import os
import threading

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (
    os.path.join(_HERE, "_libs", "libgcam.so.0"),
    os.path.join(os.path.dirname(os.path.dirname(_HERE)), "build", "libgcam.so"),
)

GCAM_FLOAT32 = 1
GCAM_INT64 = 7
MAX_NDIM = 8


class GradCAMError(RuntimeError):
    """A failed library call: str(e) is the library's one-line message,
    e.status its status code (gcam.h's GCAM_STATUS_LIST)."""

    def __init__(self, message, status=0):
        super().__init__(message)
        self.status = status


class Array(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("ndim", ctypes.c_int),
                ("dims", ctypes.c_int64 * MAX_NDIM), ("data", ctypes.c_void_p)]


class Layer(ctypes.Structure):
    _fields_ = [("tensor", ctypes.c_char_p), ("node", ctypes.c_char_p), ("op_type", ctypes.c_char_p),
                ("dims", ctypes.c_int64 * 4), ("is_auto", ctypes.c_int),
                ("ndim", ctypes.c_int), ("layout", ctypes.c_int), ("grid_h", ctypes.c_int64),
                ("grid_w", ctypes.c_int64), ("channels", ctypes.c_int64), ("skip", ctypes.c_int64),
                ("auto_reason", ctypes.c_char_p)]


PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64)


class ExplainOpts(ctypes.Structure):
    """Mirror of gcam_explain_opts; checked against gcam_explain_opts_sizeof()."""
    _fields_ = [
        ("method", ctypes.c_int), ("layers", ctypes.POINTER(ctypes.c_char_p)), ("n_layers", ctypes.c_int),
        ("target_class", ctypes.c_int64), ("target_output", ctypes.c_char_p),
        ("counterfactual", ctypes.c_int), ("target_softmax", ctypes.c_int), ("no_relu", ctypes.c_int),
        ("normalize", ctypes.c_int), ("global_max", ctypes.c_float),
        ("eigen_smooth", ctypes.c_int), ("aug_smooth", ctypes.c_int), ("batch_size", ctypes.c_int),
        ("max_channels", ctypes.c_int), ("scorecam_baseline", ctypes.c_int), ("ablation_zero", ctypes.c_int),
        ("ig_steps", ctypes.c_int), ("ig_baseline", ctypes.c_char_p),
        ("sg_samples", ctypes.c_int), ("sg_noise", ctypes.c_float),
        ("seed", ctypes.c_uint64), ("progress", ctypes.c_void_p), ("progress_user", ctypes.c_void_p),
        ("target_weights", ctypes.POINTER(ctypes.c_float)), ("n_target_weights", ctypes.c_int64),
        ("layout", ctypes.c_int), ("token_skip", ctypes.c_int64), ("token_h", ctypes.c_int64),
        ("token_w", ctypes.c_int64), ("discard_ratio", ctypes.c_float),
    ]


P = ctypes.c_void_p
_SIGNATURES = {
    "gcam_status_str": (ctypes.c_char_p, [ctypes.c_int]),
    "gcam_version": (ctypes.c_char_p, []),
    "gcam_model_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(P)]),
    "gcam_model_load_buffer": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(P)]),
    "gcam_model_free": (None, [P]),
    "gcam_model_errmsg": (ctypes.c_char_p, [P]),
    "gcam_model_set_threads": (None, [P, ctypes.c_int]),
    "gcam_model_num_inputs": (ctypes.c_int, [P]),
    "gcam_model_num_outputs": (ctypes.c_int, [P]),
    "gcam_model_input_name": (ctypes.c_char_p, [P, ctypes.c_int]),
    "gcam_model_output_name": (ctypes.c_char_p, [P, ctypes.c_int]),
    "gcam_model_input_shape": (ctypes.c_int, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]),
    "gcam_model_keep": (ctypes.c_int, [P, ctypes.c_char_p]),
    "gcam_model_run": (ctypes.c_int, [P, P, ctypes.POINTER(Array), ctypes.c_int]),
    "gcam_model_tensor": (ctypes.c_int, [P, ctypes.c_char_p, ctypes.POINTER(Array)]),
    "gcam_model_layers": (ctypes.c_int, [P, ctypes.POINTER(ctypes.POINTER(Layer)), ctypes.POINTER(ctypes.c_int)]),
    "gcam_model_resolve_layer": (ctypes.c_int, [P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]),
    "gcam_method_parse": (ctypes.c_int, [ctypes.c_char_p]),
    "gcam_explain_opts_default": (None, [ctypes.POINTER(ExplainOpts)]),
    "gcam_explain_opts_sizeof": (ctypes.c_size_t, []),
    "gcam_explain": (ctypes.c_int, [P, ctypes.POINTER(Array), ctypes.POINTER(ExplainOpts), ctypes.POINTER(P)]),
    "gcam_explain_batch": (ctypes.c_int, [P, ctypes.POINTER(Array), ctypes.POINTER(ExplainOpts),
                                          ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(P)]),
    "gcam_explanation_output": (ctypes.POINTER(ctypes.c_float), [P, ctypes.POINTER(ctypes.c_int64)]),
    "gcam_explanation_free": (None, [P]),
    "gcam_explanation_map": (ctypes.POINTER(ctypes.c_float), [P, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]),
    "gcam_explanation_raw": (ctypes.POINTER(ctypes.c_float), [P, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]),
    "gcam_explanation_channels": (ctypes.c_int, [P]),
    "gcam_explanation_target": (ctypes.c_int64, [P]),
    "gcam_explanation_score": (ctypes.c_float, [P]),
    "gcam_explanation_num_layers": (ctypes.c_int, [P]),
    "gcam_explanation_layer": (ctypes.c_char_p, [P, ctypes.c_int]),
    "gcam_explanation_time_ms": (ctypes.c_double, [P, ctypes.c_char_p]),
    "gcam_colormap_table": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint8)]),
}

_lib = None
_lock = threading.Lock()


def library_path():
    """The libgcam.so this package uses (see the module docstring)."""
    for p in _CANDIDATES:
        if os.path.exists(p):
            return p
    raise GradCAMError("libgcam.so not found: looked at %s. Build it with `make` in the checkout, "
                       "then `pip install ./python` (or import gradcam from python/ in the checkout)"
                       % ", ".join(_CANDIDATES))


def lib():
    """The loaded library, with argument and result types declared."""
    global _lib
    with _lock:
        if _lib is None:
            path = library_path()
            handle = ctypes.CDLL(path)
            for name, (res, args) in _SIGNATURES.items():
                fn = getattr(handle, name)
                fn.restype = res
                fn.argtypes = args
            size = handle.gcam_explain_opts_sizeof()
            if size != ctypes.sizeof(ExplainOpts):
                raise GradCAMError("%s: gcam_explain_opts is %d bytes there, %d in gradcam/_lib.py: "
                                   "the package and the library come from different versions"
                                   % (path, size, ctypes.sizeof(ExplainOpts)))
            _lib = handle
    return _lib


def status_str(status):
    return lib().gcam_status_str(status).decode()


def version():
    return lib().gcam_version().decode()
