"""A pytorch-grad-cam tutorial script, as its README shows the library
(https://github.com/jacobgil/pytorch-grad-cam, "Using from code as a
library"), on a seeded torchvision ResNet-18 (pretrained weights need a
download).  test_tutorial.py runs it with only the import lines changed
(pytorch_grad_cam -> gradcam).

    python pytorch_grad_cam_tutorial.py OUT_DIR IMAGE.png
"""
import sys

import numpy as np
import torch
from PIL import Image
from torchvision.models import resnet18

from pytorch_grad_cam import GradCAM, EigenCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.image import show_cam_on_image, preprocess_image

out_dir, image_path = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
model = resnet18()
model.eval()
target_layers = [model.layer4[-1]]

rgb_img = np.float32(Image.open(image_path).convert("RGB").resize((224, 224))) / 255
input_tensor = preprocess_image(rgb_img, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])

# We have to specify the target we want to generate the CAM for.
targets = [ClassifierOutputTarget(281)]

# Construct the CAM object once, and then re-use it on many images.
with GradCAM(model=model, target_layers=target_layers) as cam:
    # You can also pass aug_smooth=True and eigen_smooth=True, to apply smoothing.
    grayscale_cam = cam(input_tensor=input_tensor, targets=targets)
    # In this example grayscale_cam has only one image in the batch:
    grayscale_cam = grayscale_cam[0, :]
    visualization = show_cam_on_image(rgb_img, grayscale_cam, use_rgb=True)

with EigenCAM(model=model, target_layers=target_layers) as cam:
    eigen = cam(input_tensor=input_tensor)[0, :]

Image.fromarray(visualization).save(out_dir + "/gradcam_cam.png")
np.save(out_dir + "/gradcam.npy", grayscale_cam)
np.save(out_dir + "/eigencam.npy", eigen)
np.save(out_dir + "/input.npy", np.asarray(input_tensor))
print("saved", out_dir)
