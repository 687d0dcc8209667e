/* smoothgrad.c - SmoothGrad (Smilkov et al. 2017): the mean input gradient
 * over N noisy copies x + e, e ~ N(0, sigma^2) independently per element,
 * sigma = noise * (max x - min x) (the paper's noise level, 0.15 by default,
 * "relative to the input range"), then reduced like the vanilla saliency map:
 * max over channels of the absolute mean gradient.  The noise is drawn from
 * the seeded generator of rng.c, copy after copy, each in C order, and added
 * in float32: x + (float)(sigma * z).  gcam_model_set_smoothgrad_noise gives the z instead
 * (N x C x H x W float32), so that a reference in another language can use
 * the very same noise. */
#include <stdlib.h>

#include "cam/cam.h"

int gcam_cam_smoothgrad(gcam_cam_ctx *c, float *raw)
{
    int64_t samples = c->o->sg_samples > 0 ? c->o->sg_samples : 25;
    const gcam_tensor *noise = c->sg_noise;
    if (noise) {
        int64_t per = c->C * c->H * c->W, have = gcam_numel(noise) / (per ? per : 1);
        if (gcam_numel(noise) % per || have < 1 || (c->o->sg_samples > 0 && have < samples))
            return gcam_errf(c->err, GCAM_E_SHAPE, "SmoothGrad noise must hold N x %lld x %lld x %lld values, N >= the samples",
                             (long long)c->C, (long long)c->H, (long long)c->W);
        if (c->o->sg_samples <= 0) samples = have;
    }
    double level = c->o->sg_noise > 0 ? c->o->sg_noise : 0.15;
    int64_t n = c->C * c->H * c->W, HW = c->H * c->W;
    float lo = c->x[0], hi = c->x[0];
    for (int64_t i = 1; i < n; i++) {
        lo = c->x[i] < lo ? c->x[i] : lo;
        hi = c->x[i] > hi ? c->x[i] : hi;
    }
    double sigma = level * ((double)hi - (double)lo);
    double *gsum = gcam_calloc((size_t)n, sizeof(double));
    float *mean = gcam_malloc(sizeof(float) * (size_t)n);
    gcam_suffix *v = NULL;
    gcam_bwd_plan bp;
    memset(&bp, 0, sizeof bp);
    gcam_rng r;
    gcam_rng_seed(&r, c->o->seed);
    int rc = !gsum || !mean ? gcam_errf(c->err, GCAM_E_NOMEM, "out of memory") : GCAM_OK;
    if (!rc) rc = gcam_cam_input_view(c, &bp, &v);
    for (int64_t s0 = 0; s0 < samples && !rc; s0 += v->batch) {
        int64_t nb = samples - s0 < v->batch ? samples - s0 : v->batch;
        float *xin = gcam_f32(&v->g.tensors[c->input_t]);
        for (int64_t b = 0; b < nb; b++) {
            const float *z = noise ? gcam_f32(noise) + (s0 + b) * n : NULL;
            for (int64_t i = 0; i < n; i++)
                xin[b * n + i] = c->x[i] + (float)(sigma * (z ? (double)z[i] : gcam_rng_normal(&r)));
        }
        if ((rc = gcam_cam_view_pass(c, v, &bp, nb, 0))) break;
        const float *gx = gcam_f32(&v->g.grads[c->input_t]);
        for (int64_t b = 0; b < nb; b++)
            for (int64_t i = 0; i < n; i++) gsum[i] += gx[b * n + i];
        gcam_cam_progress(c, "smoothgrad", s0 + nb, samples);
    }
    if (!rc) {
        for (int64_t i = 0; i < n; i++) mean[i] = (float)(gsum[i] / (double)samples);
        if (c->nhwc) { /* planes, reusing gsum's memory */
            gcam_cam_to_planar(mean, c->C, HW, (float *)gsum);
            memcpy(mean, gsum, sizeof(float) * (size_t)n);
        }
        gcam_cam_saliency_reduce(mean, c->C, HW, raw);
    }
    gcam_bwd_release(&bp);
    gcam_suffix_free(v);
    gcam_free(gsum);
    gcam_free(mean);
    return rc;
}
