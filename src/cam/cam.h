/* cam.h - per-method channel weighting and the shared post-processing. */
#ifndef GCAM_CAM_H
#define GCAM_CAM_H
#include "gcam_internal.h"

/* Grad-CAM: alpha_k = mean_ij dY/dA_kij;  cam_ij = sum_k alpha_k A_kij (no ReLU here).
 * A and dA are K x (H*W) (batch item 0); cam has H*W floats. */
void gcam_cam_gradcam(const float *A, const float *dA, int64_t K, int64_t HW, float *cam);

/* x = max(x, 0) */
void gcam_cam_relu(float *x, int64_t n);
/* pytorch-grad-cam's scale_cam_image: (x - min) / (max - min + 1e-7) */
void gcam_cam_minmax(float *x, int64_t n);
#endif
