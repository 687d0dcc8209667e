/* gradcam.c - Selvaraju et al.: channel weights are the spatial mean of the
 * gradient of the score with respect to the feature map. */
#include "cam/cam.h"

void gcam_cam_weights_gradcam(const float *dA, int64_t K, int64_t HW, float *w)
{
    for (int64_t k = 0; k < K; k++) {
        const float *g = dA + k * HW;
        double s = 0.0;
        for (int64_t p = 0; p < HW; p++) s += g[p];
        w[k] = HW ? (float)(s / (double)HW) : 0.0f;
    }
}

int gcam_cam_map_gradcam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_WEIGHTS;
    if (l->head_y >= 0) return gcam_cam_head_weights(c, c->headsum, l->layer_t, l->head_y, l->w);
    gcam_cam_weights_gradcam(l->dA, l->K, l->HW, l->w);
    return GCAM_OK;
}

void gcam_cam_weighted(const float *w, const float *A, int64_t K, int64_t HW, float *M)
{
    for (int64_t k = 0; k < K; k++)
        for (int64_t p = 0; p < HW; p++) M[k * HW + p] = w[k] * A[k * HW + p];
}

void gcam_cam_sum_channels(const float *M, int64_t K, int64_t HW, float *cam)
{
    for (int64_t p = 0; p < HW; p++) {
        double s = 0.0;
        for (int64_t k = 0; k < K; k++) s += M[k * HW + p];
        cam[p] = (float)s;
    }
}
