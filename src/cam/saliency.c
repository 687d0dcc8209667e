/* saliency.c - the vanilla input gradient (Simonyan et al. 2014, sec. 3.1):
 * the map is the largest absolute gradient over the colour channels at each
 * pixel.  pytorch-grad-cam has no such method; this is the paper's. */
#include "cam/cam.h"

void gcam_cam_saliency_reduce(const float *g, int64_t C, int64_t HW, float *out)
{
    for (int64_t p = 0; p < HW; p++) {
        float m = 0.0f;
        for (int64_t c = 0; c < C; c++) {
            float a = fabsf(g[c * HW + p]);
            if (a > m) m = a; /* NaN never wins: the map stays finite */
        }
        out[p] = m;
    }
}
