/* xgradcam.c - XGrad-CAM (Fu et al. 2020, "Axiom-based Grad-CAM"):
 * w_k = sum_ij g_kij A_kij / (sum_ij A_kij + 1e-7), as pytorch-grad-cam. */
#include "cam/cam.h"

void gcam_cam_weights_xgradcam(const float *A, const float *dA, int64_t K, int64_t HW, float *w)
{
    for (int64_t k = 0; k < K; k++) {
        const float *a = A + k * HW, *g = dA + k * HW;
        double S = 0.0, ga = 0.0;
        for (int64_t p = 0; p < HW; p++) {
            S += a[p];
            ga += (double)g[p] * a[p];
        }
        double den = S + 1e-7;
        double v = den != 0.0 ? ga / den : 0.0;
        w[k] = isfinite(v) ? (float)v : 0.0f;
    }
}

int gcam_cam_map_xgradcam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_WEIGHTS;
    gcam_cam_weights_xgradcam(l->A, l->dA, l->K, l->HW, l->w);
    return GCAM_OK;
}
