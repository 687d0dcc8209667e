/* eigengradcam.c - pytorch-grad-cam's EigenGradCAM: Eigen-CAM's first
 * principal component, taken of the gradient times the activation instead of
 * the activation alone, which makes it class-discriminative. */
#include "cam/cam.h"

int gcam_cam_map_eigengradcam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_PROJECTED;
    gcam_cam_elem_hirescam(l->A, l->dA, l->K * l->HW, l->M); /* the same product: HiResCAM's */
    return gcam_cam_project(l->M, l->K, l->HW, l->cam) ? gcam_errf(c->err, GCAM_E_NOMEM, "out of memory") : GCAM_OK;
}
