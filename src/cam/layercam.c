/* layercam.c - LayerCAM (Jiang et al. 2021): each activation is weighted by
 * its own positive gradient, M = ReLU(dA) * A, then summed over channels. */
#include "cam/cam.h"

void gcam_cam_elem_layercam(const float *A, const float *dA, int64_t n, float *M)
{
    for (int64_t i = 0; i < n; i++) M[i] = (dA[i] > 0.0f ? dA[i] : 0.0f) * A[i];
}

int gcam_cam_map_layercam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_ELEMENTS;
    gcam_cam_elem_layercam(l->A, l->dA, l->K * l->HW, l->M);
    return GCAM_OK;
}
