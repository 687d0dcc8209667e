/* gradcampp.c - Grad-CAM++ (Chattopadhyay et al. 2018), as pytorch-grad-cam
 * computes it: eq. 19's alpha with the exponential score's derivatives
 * replaced by powers of the gradient, eps 1e-6, and alpha forced to 0 where
 * the gradient is 0 (so a zero gradient gives zero weight, never 0/0). */
#include "cam/cam.h"

void gcam_cam_weights_gradcampp(const float *A, const float *dA, int64_t K, int64_t HW, float *w)
{
    for (int64_t k = 0; k < K; k++) {
        const float *a = A + k * HW, *g = dA + k * HW;
        double S = 0.0;
        for (int64_t p = 0; p < HW; p++) S += a[p];
        double acc = 0.0;
        for (int64_t p = 0; p < HW; p++) {
            double gi = g[p];
            if (gi == 0.0) continue;
            double g2 = gi * gi, g3 = g2 * gi;
            double alpha = g2 / (2.0 * g2 + S * g3 + 1e-6);
            if (gi > 0.0) acc += gi * alpha;
        }
        w[k] = isfinite(acc) ? (float)acc : 0.0f;
    }
}

int gcam_cam_map_gradcampp(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_WEIGHTS;
    gcam_cam_weights_gradcampp(l->A, l->dA, l->K, l->HW, l->w);
    return GCAM_OK;
}
