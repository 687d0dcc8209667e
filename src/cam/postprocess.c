/* postprocess.c - ReLU and normalisation shared by every CAM method. */
#include <math.h>

#include "cam/cam.h"

void gcam_cam_relu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!(x[i] > 0.0f)) x[i] = 0.0f; /* NaN becomes 0 too: maps stay finite */
}

void gcam_cam_to_planar(const float *hwc, int64_t C, int64_t HW, float *chw)
{
    for (int64_t p = 0; p < HW; p++)
        for (int64_t c = 0; c < C; c++) chw[c * HW + p] = hwc[p * C + c];
}

void gcam_cam_to_interleaved(const float *chw, int64_t C, int64_t HW, float *hwc)
{
    for (int64_t p = 0; p < HW; p++)
        for (int64_t c = 0; c < C; c++) hwc[p * C + c] = chw[c * HW + p];
}

void gcam_cam_minmax(float *x, int64_t n)
{
    if (n <= 0) return;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    if (!isfinite(lo) || !isfinite(hi)) {
        for (int64_t i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    /* same order of operations as numpy: subtract, then divide by 1e-7 + max */
    float mx = hi - lo;
    for (int64_t i = 0; i < n; i++) x[i] = (x[i] - lo) / (1e-7f + mx);
}
