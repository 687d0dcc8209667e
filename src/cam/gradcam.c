/* gradcam.c - Selvaraju et al.: channel weights are the spatial mean of the
 * gradient of the score with respect to the feature map. */
#include "cam/cam.h"

void gcam_cam_gradcam(const float *A, const float *dA, int64_t K, int64_t HW, float *cam)
{
    for (int64_t p = 0; p < HW; p++) cam[p] = 0.0f;
    for (int64_t k = 0; k < K; k++) {
        const float *g = dA + k * HW, *a = A + k * HW;
        double s = 0.0;
        for (int64_t p = 0; p < HW; p++) s += g[p];
        float alpha = (float)(s / (double)HW);
        for (int64_t p = 0; p < HW; p++) cam[p] += alpha * a[p];
    }
}
