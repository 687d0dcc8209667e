/* guided_backprop.c - guided backpropagation (Springenberg et al. 2015): the
 * input gradient with every Relu passing back only positive gradient where
 * its input was positive (pytorch-grad-cam's GuidedBackpropReLU), set for
 * the whole backward pass.  The rule applies to every Relu node and to every
 * Clip with min 0 (ReLU6, which also drops the gradient above its max);
 * HardSwish, Sigmoid, SiLU and GELU keep their ordinary gradient.
 * pytorch-grad-cam replaces only nn.ReLU modules, so on nets that call
 * F.relu or use ReLU6 it computes a partly plain gradient; in ONNX all of
 * them are Relu or Clip nodes and we guide them all.  The map is C x H x W.
 * gcam_cam_deprocess is pytorch-grad-cam's deprocess_image, used to draw it. */
#include "cam/cam.h"

void gcam_cam_deprocess(float *x, int64_t n)
{
    if (n <= 0) return;
    double m = 0.0, s = 0.0;
    for (int64_t i = 0; i < n; i++) m += isfinite(x[i]) ? x[i] : 0.0;
    m /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = (isfinite(x[i]) ? x[i] : 0.0) - m;
        s += d * d;
    }
    double sd = sqrt(s / (double)n);
    for (int64_t i = 0; i < n; i++) {
        double v = ((isfinite(x[i]) ? x[i] : 0.0) - m) / (sd + 1e-5) * 0.1 + 0.5;
        x[i] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
    }
}
