/* guided_gradcam.c - Guided Grad-CAM (Selvaraju et al. 2017, sec. 3.1): the
 * guided-backprop gradient (3 x H x W) times the Grad-CAM map at the input's
 * resolution, element by element on every channel; pytorch-grad-cam's
 * example does the same (cam_mask * gb).  The orchestration - one ordinary
 * backward pass to the layer, one guided pass to the input - is in
 * src/api/explain.c; this is the product. */
#include "cam/cam.h"

void gcam_cam_guided_gradcam(const float *gb, const float *mask, int64_t C, int64_t HW, float *out)
{
    for (int64_t c = 0; c < C; c++)
        for (int64_t p = 0; p < HW; p++) out[c * HW + p] = gb[c * HW + p] * mask[p];
}
