/* gradcam_elementwise.c - pytorch-grad-cam's GradCAMElementWise: like
 * HiResCAM, but each element's contribution is rectified before the channel
 * sum: M = ReLU(dA * A). */
#include "cam/cam.h"

void gcam_cam_elem_gradcam_elementwise(const float *A, const float *dA, int64_t n, float *M)
{
    for (int64_t i = 0; i < n; i++) {
        float v = dA[i] * A[i];
        M[i] = v > 0.0f ? v : 0.0f;
    }
}

int gcam_cam_map_gradcam_elementwise(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_ELEMENTS;
    gcam_cam_elem_gradcam_elementwise(l->A, l->dA, l->K * l->HW, l->M);
    return GCAM_OK;
}
