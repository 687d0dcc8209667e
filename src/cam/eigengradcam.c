/* eigengradcam.c - pytorch-grad-cam's EigenGradCAM: Eigen-CAM's first
 * principal component, taken of the gradient times the activation instead of
 * the activation alone, which makes it class-discriminative. */
#include "cam/cam.h"

void gcam_cam_elem_eigengradcam(const float *A, const float *dA, int64_t n, float *M)
{
    for (int64_t i = 0; i < n; i++) M[i] = dA[i] * A[i];
}
