"""gradcam.from_torch: a torch model as an ONNX model for the C library.

    model_onnx, layers = gradcam.from_torch(model, example_input, target_layers=[model.layer4[-1]])
    cam = GradCAM(model=model_onnx, target_layers=layers)

The model is exported with torch.onnx.export into memory (nothing written to
disk) and loaded with gcam_model_load_buffer.  Each module of target_layers
is mapped to the ONNX tensor that holds its output: a forward hook records
the module's output on the example input, the ONNX graph runs on the same
input keeping every 4-D activation, and the tensor that equals the recorded
output (within float32 rounding: max |diff| <= 1e-4 * (1 + max |output|))
is the layer.  When several tensors match (an Identity, a flatten-free
reshape), the one whose producing node is named after the module's path
wins, then the last in execution order (the module's final output).
No match is an error naming the module and the closest tensor.
"""
import io

import numpy as np

from ._lib import GradCAMError
from .model import Model, as_nchw


def _module_name(model, module):
    for name, m in model.named_modules():
        if m is module:
            return name
    raise GradCAMError("target layer %s is not a module of the model" % type(module).__name__)


def _record_outputs(model, x, modules):
    import torch
    outs = {}
    hooks = []
    for i, mod in enumerate(modules):
        def hook(_m, _inp, out, i=i):
            if isinstance(out, (tuple, list)):
                out = out[0]
            outs.setdefault(i, out.detach().float().cpu().numpy().copy())
        hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(torch.from_numpy(x))
    finally:
        for h in hooks:
            h.remove()
    return outs


def _export(model, x, opset):
    import torch
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, torch.from_numpy(x), buf, opset_version=opset, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
    return buf.getvalue()


def _match(layers, values, want, path):
    """The layer tensor for one module: (name, None) or (None, closest description)."""
    hits, best = [], (np.inf, None)
    tol = 1e-4 * (1.0 + float(np.abs(want).max()) if want.size else 1.0)
    for (tensor, node, _op, dims, _auto) in layers:
        v = values.get(tensor)
        if v is None or v.shape != want.shape:
            continue
        d = float(np.abs(v - want).max())
        if d <= tol:
            hits.append((tensor, node))
        elif d < best[0]:
            best = (d, tensor)
    if not hits:
        return None, best
    # torch.onnx names nodes by module scope: "/layer4/layer4.1/relu_1/Relu"
    named = [h for h in hits if ("/" + path + "/") in (h[1] + "/")]
    return (named or hits)[-1][0], None


def from_torch(model, example_input, target_layers, opset=14, threads=0):
    """(gradcam.Model, [ONNX tensor name per module of target_layers])."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise GradCAMError("gradcam.from_torch needs torch (the package itself does not): %s" % e)
    x = as_nchw(example_input)[:1]
    was_training = model.training
    model.eval()
    try:
        paths = [_module_name(model, m) for m in target_layers]
        want = _record_outputs(model, x, target_layers)
        onnx_bytes = _export(model, x, opset)
    finally:
        model.train(was_training)
    gm = Model(onnx_bytes, threads=threads)
    layers = gm.layers()
    for (tensor, *_rest) in layers:
        gm.keep(tensor)
    gm.run(x)
    values = {}
    for (tensor, *_rest) in layers:
        try:
            values[tensor] = gm.tensor(tensor)
        except GradCAMError:
            pass
    names = []
    for i, path in enumerate(paths):
        if i not in want:
            raise GradCAMError("target layer '%s' did not run on the example input" % path)
        if want[i].ndim != 4:
            raise GradCAMError("target layer '%s' outputs a %d-D tensor %s: gradcam explains 4-D "
                               "(N, C, H, W) activations" % (path, want[i].ndim, want[i].shape))
        name, closest = _match(layers, values, want[i], path)
        if name is None:
            d, t = closest
            raise GradCAMError("target layer '%s' (output %s): no ONNX tensor equals its output on the example "
                               "input%s" % (path, want[i].shape,
                                            "" if t is None else " (closest: '%s', max |diff| %.3g)" % (t, d)))
        names.append(name)
    return gm, names
