/* hirescam.c - HiResCAM (Draelos & Carin 2020): the gradient times the
 * activation, element by element, summed over channels with no spatial
 * averaging, so the map is exactly each position's first-order contribution
 * to the score. */
#include "cam/cam.h"

void gcam_cam_elem_hirescam(const float *A, const float *dA, int64_t n, float *M)
{
    for (int64_t i = 0; i < n; i++) M[i] = dA[i] * A[i];
}

int gcam_cam_map_hirescam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_ELEMENTS;
    gcam_cam_elem_hirescam(l->A, l->dA, l->K * l->HW, l->M);
    return GCAM_OK;
}
