"""pytorch-grad-cam's README usage, run with only its import lines changed,
on a torch model (gradcam.from_torch behind the CAM classes), against a
PyTorch implementation of Grad-CAM / EigenCAM written here from the
pytorch-grad-cam definitions (forward/backward hooks on the same module).
Also from_torch's layer mapping and its errors, and SemanticSegmentationTarget
on a small segmentation network against the same torch reference."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: from_torch and the tutorial need it")
import torch.nn.functional as F  # noqa: E402

import gradcam  # noqa: E402
from gradcam.utils.model_targets import ClassifierOutputTarget, SemanticSegmentationTarget  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def converted_tutorial(tmp_path):
    src = open(os.path.join(HERE, "tutorial", "pytorch_grad_cam_tutorial.py")).read().splitlines(True)
    out = []
    for line in src:
        new = line.replace("pytorch_grad_cam", "gradcam") if re.match(r"\s*(from|import)\s+pytorch_grad_cam", line) else line
        out.append(new)
    changed = [(a, b) for a, b in zip(src, out) if a != b]
    assert len(changed) == 3 and all(re.match(r"\s*(from|import) ", b) for _, b in changed), changed
    assert not any("pytorch_grad_cam" in line for line in out if not line.lstrip().startswith('"""')
                   and "pytorch_grad_cam" in line and re.match(r"\s*(from|import)", line))
    path = tmp_path / "tutorial.py"
    path.write_text("".join(out))
    return path


def pearson(a, b):
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def scale(cam, size):
    """pytorch-grad-cam's scale_cam_image: x - min, / (1e-7 + max), bilinear resize."""
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    t = torch.from_numpy(cam)[None, None]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def torch_gradcam(model, layer, x, score_fn, eigen=False):
    """Grad-CAM (or EigenCAM) of one image by pytorch-grad-cam's formulas."""
    store = {}
    h1 = layer.register_forward_hook(lambda m, i, o: store.__setitem__("A", o))
    try:
        xt = torch.from_numpy(x).requires_grad_(False)
        out = model(xt)
        A = store["A"]
        if eigen:
            a = A[0].detach().numpy().reshape(A.shape[1], -1).T  # HW x K
            a = a - a.mean(axis=0)
            _, _, vt = np.linalg.svd(a, full_matrices=True)
            cam = (a @ vt[0, :]).reshape(A.shape[2], A.shape[3])
        else:
            (g,) = torch.autograd.grad(score_fn(out), A)
            w = g[0].mean(dim=(1, 2))
            cam = (w[:, None, None] * A[0]).sum(0).detach().numpy()
    finally:
        h1.remove()
    cam = np.maximum(cam, 0)
    cam = scale(cam.astype(np.float32), x.shape[2:])
    cam = np.maximum(cam, 0)
    return scale(cam, x.shape[2:])


def test_tutorial_with_only_imports_changed(tmp_path, root):
    script = converted_tutorial(tmp_path)
    image = os.path.join(root, "models", "samples", "scene_01.png")
    # the same gradcam as this test imports (installed, or python/ of the checkout)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(gradcam.__file__)))
    r = subprocess.run([sys.executable, str(script), str(tmp_path), image], capture_output=True, text=True,
                       cwd=str(tmp_path), timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert os.path.getsize(tmp_path / "gradcam_cam.png") > 1000
    ours, eig, x = (np.load(tmp_path / n) for n in ("gradcam.npy", "eigencam.npy", "input.npy"))
    assert ours.shape == (224, 224) and x.shape == (1, 3, 224, 224)
    torch.manual_seed(0)
    from torchvision.models import resnet18
    model = resnet18().eval()
    ref = torch_gradcam(model, model.layer4[-1], x, lambda out: out[0, 281])
    r, d = pearson(ours, ref), float(np.abs(ours - ref).max())
    assert r >= 0.999 and d <= 0.01, (r, d)
    ref_e = torch_gradcam(model, model.layer4[-1], x, None, eigen=True)
    # the principal component's sign is arbitrary (SVD); both sides take the one after ReLU
    r, d = pearson(eig, ref_e), float(np.abs(eig - ref_e).max())
    assert r >= 0.999 and d <= 0.01, (r, d)


class SegNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(8, 8, 3, padding=1, stride=2), torch.nn.ReLU())
        self.head = torch.nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = self.head(self.body(x))
        return F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)


def test_semantic_segmentation_target_against_torch():
    torch.manual_seed(3)
    net = SegNet().eval()
    x = np.random.RandomState(0).randn(1, 3, 16, 16).astype(np.float32)
    mask = (np.random.RandomState(1).rand(16, 16) > 0.5).astype(np.float32)
    cam = gradcam.GradCAM(model=net, target_layers=[net.body[3]])
    ours = cam(input_tensor=x, targets=[SemanticSegmentationTarget(2, mask)])
    ref = torch_gradcam(net, net.body[3], x, lambda out: (out[0, 2] * torch.from_numpy(mask)).sum())
    assert ours.shape == (1, 16, 16)
    r, d = pearson(ours[0], ref), float(np.abs(ours[0] - ref).max())
    assert r >= 0.999 and d <= 1e-3, (r, d)
    # the score is the masked sum
    out = net(torch.from_numpy(x)).detach().numpy()
    assert abs(cam.scores[0] - float((out[0, 2] * mask).sum())) < 1e-3 * (1 + abs(cam.scores[0]))


def test_from_torch_mapping_and_errors():
    torch.manual_seed(0)
    from torchvision.models import resnet18
    model = resnet18().eval()
    x = np.random.RandomState(2).randn(1, 3, 64, 64).astype(np.float32)
    m, names = gradcam.from_torch(model, x, [model.layer4[-1], model.layer2, model.maxpool])
    assert names[0] == "/layer4/layer4.1/relu_1/Relu_output_0"
    assert names[1] == "/layer2/layer2.1/relu_1/Relu_output_0"
    assert names[2].startswith("/maxpool/")
    logits = m(x)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert np.abs(logits - ref).max() < 1e-3
    with pytest.raises(gradcam.GradCAMError, match="4-D"):
        gradcam.from_torch(model, x, [model.fc])
    with pytest.raises(gradcam.GradCAMError, match="not a module"):
        gradcam.from_torch(model, x, [torch.nn.ReLU()])

    class Drifting(torch.nn.Module):  # its output changes between the recording and the export
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return x * float(1 + self.calls)  # 2x when recorded, 3x in the export

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), Drifting(), torch.nn.ReLU())
    with pytest.raises(gradcam.GradCAMError, match="no ONNX tensor equals its output"):
        gradcam.from_torch(net, x, [net[1]])
