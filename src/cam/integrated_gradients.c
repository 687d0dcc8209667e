/* integrated_gradients.c - Integrated Gradients (Sundararajan et al. 2017),
 * the right Riemann sum of the path integral from a baseline x0 to x:
 *   attr_cij = (x - x0)_cij * (1/S) sum_{s=1..S} dy/dx at x0 + (s/S)(x - x0)
 * and the H x W map is sum_c attr_c (signed; the post-processing ReLU keeps
 * the evidence for the target).  The S points run through the network in
 * batches of batch_size.
 *
 * Baselines: "zero" (the all-zero input tensor), "blur[:SIGMA]" (each
 * channel of x blurred by a Gaussian of SIGMA pixels, 10 by default, kernel
 * radius ceil(3 SIGMA), edges clamped), "uniform" (independent U(min x, max x)
 * values from the seeded generator of rng.c, in C order), or a .npy file
 * with the input's shape. */
#include <stdlib.h>

#include "cam/cam.h"
#include "util/npy.h"

void gcam_cam_ig_reduce(const float *x, const float *x0, const double *gsum, int64_t steps, int64_t C,
                        int64_t HW, float *out)
{
    for (int64_t p = 0; p < HW; p++) {
        double s = 0.0;
        for (int64_t c = 0; c < C; c++) {
            int64_t i = c * HW + p;
            s += ((double)x[i] - (double)x0[i]) * (gsum[i] / (double)steps);
        }
        out[p] = isfinite(s) ? (float)s : 0.0f;
    }
}

int gcam_cam_blur(const float *x, int64_t C, int64_t H, int64_t W, double sigma, float *out)
{
    if (!(sigma > 0.0)) {
        memcpy(out, x, sizeof(float) * (size_t)(C * H * W));
        return GCAM_OK;
    }
    int r = (int)ceil(3.0 * sigma);
    double *k = gcam_malloc(sizeof(double) * (size_t)(2 * r + 1));
    double *tmp = gcam_malloc(sizeof(double) * (size_t)(H * W));
    if (!k || !tmp) {
        gcam_free(k);
        gcam_free(tmp);
        return GCAM_E_NOMEM;
    }
    double ks = 0.0;
    for (int i = -r; i <= r; i++) ks += k[i + r] = exp(-0.5 * (double)i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++) k[i] /= ks;
    for (int64_t c = 0; c < C; c++) {
        const float *src = x + c * H * W;
        for (int64_t y = 0; y < H; y++)
            for (int64_t xx = 0; xx < W; xx++) {
                double s = 0.0;
                for (int i = -r; i <= r; i++) {
                    int64_t q = xx + i < 0 ? 0 : xx + i >= W ? W - 1 : xx + i;
                    s += k[i + r] * src[y * W + q];
                }
                tmp[y * W + xx] = s;
            }
        for (int64_t y = 0; y < H; y++)
            for (int64_t xx = 0; xx < W; xx++) {
                double s = 0.0;
                for (int i = -r; i <= r; i++) {
                    int64_t q = y + i < 0 ? 0 : y + i >= H ? H - 1 : y + i;
                    s += k[i + r] * tmp[q * W + xx];
                }
                out[c * H * W + y * W + xx] = (float)s;
            }
    }
    gcam_free(k);
    gcam_free(tmp);
    return GCAM_OK;
}

/* the blur is spatial: an NHWC input is blurred as planes */
static int blur_baseline(gcam_cam_ctx *c, double sigma, float *x0)
{
    int64_t n = c->C * c->H * c->W, HW = c->H * c->W;
    float *px = c->nhwc ? gcam_malloc(sizeof(float) * (size_t)(2 * n + 1)) : NULL;
    if (c->nhwc && !px) return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    if (px) gcam_cam_to_planar(c->x, c->C, HW, px);
    int rc = gcam_cam_blur(px ? px : c->x, c->C, c->H, c->W, sigma, px ? px + n : x0);
    if (px && !rc) gcam_cam_to_interleaved(px + n, c->C, HW, x0);
    gcam_free(px);
    return rc ? gcam_errf(c->err, GCAM_E_NOMEM, "out of memory") : GCAM_OK;
}

/* (x - x0) . mean gradient summed over channels, per pixel, from arrays in
 * the input's layout */
static int reduce(gcam_cam_ctx *c, const float *x0, const double *gsum, int64_t steps, float *raw)
{
    int64_t n = c->C * c->H * c->W, HW = c->H * c->W;
    if (!c->nhwc) {
        gcam_cam_ig_reduce(c->x, x0, gsum, steps, c->C, HW, raw);
        return GCAM_OK;
    }
    float *px = gcam_malloc(sizeof(float) * (size_t)(2 * n + 1));
    double *pg = gcam_malloc(sizeof(double) * (size_t)(n + 1));
    if (px && pg) {
        gcam_cam_to_planar(c->x, c->C, HW, px);
        gcam_cam_to_planar(x0, c->C, HW, px + n);
        for (int64_t p = 0; p < HW; p++)
            for (int64_t k = 0; k < c->C; k++) pg[k * HW + p] = gsum[p * c->C + k];
        gcam_cam_ig_reduce(px, px + n, pg, steps, c->C, HW, raw);
    }
    gcam_free(px);
    gcam_free(pg);
    return px && pg ? GCAM_OK : gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
}

static int make_baseline(gcam_cam_ctx *c, float *x0)
{
    const char *b = c->o->ig_baseline ? c->o->ig_baseline : "zero";
    int64_t n = c->C * c->H * c->W;
    if (!strcmp(b, "zero")) {
        memset(x0, 0, sizeof(float) * (size_t)n);
        return GCAM_OK;
    }
    if (!strncmp(b, "blur", 4) && (b[4] == 0 || b[4] == ':')) {
        double sigma = 10.0;
        if (b[4] == ':') {
            char *end;
            sigma = strtod(b + 5, &end);
            if (end == b + 5 || *end || !(sigma >= 0.0) || sigma > 1000.0)
                return gcam_errf(c->err, GCAM_E_ARG, "bad integrated-gradients baseline '%s' (blur:SIGMA, 0 <= SIGMA <= 1000 pixels)", b);
        }
        return blur_baseline(c, sigma, x0);
    }
    if (!strcmp(b, "uniform")) {
        float lo = c->x[0], hi = c->x[0];
        for (int64_t i = 1; i < n; i++) {
            lo = c->x[i] < lo ? c->x[i] : lo;
            hi = c->x[i] > hi ? c->x[i] : hi;
        }
        gcam_rng r;
        gcam_rng_seed(&r, c->o->seed);
        for (int64_t i = 0; i < n; i++) x0[i] = (float)(lo + (hi - lo) * gcam_rng_uniform(&r));
        return GCAM_OK;
    }
    size_t l = strlen(b);
    if (l > 4 && !strcmp(b + l - 4, ".npy")) {
        gcam_tensor t;
        int rc = gcam_npy_read(b, &t, c->err);
        if (rc) return rc;
        int ok = t.dtype == GCAM_DT_F32 && gcam_numel(&t) == n;
        if (ok) memcpy(x0, t.data, sizeof(float) * (size_t)n);
        gcam_free(t.data);
        if (!ok) return gcam_errf(c->err, GCAM_E_SHAPE, "baseline '%s' must be float32 with the input's %lld elements", b, (long long)n);
        return GCAM_OK;
    }
    return gcam_errf(c->err, GCAM_E_ARG, "unknown integrated-gradients baseline '%s' (zero, blur[:SIGMA], uniform, or FILE.npy)", b);
}

int gcam_cam_integrated_gradients(gcam_cam_ctx *c, float *raw)
{
    int64_t steps = c->o->ig_steps > 0 ? c->o->ig_steps : 50;
    int64_t n = c->C * c->H * c->W;
    float *x0 = gcam_malloc(sizeof(float) * (size_t)n);
    double *gsum = gcam_calloc((size_t)n, sizeof(double));
    gcam_suffix *v = NULL;
    gcam_bwd_plan bp;
    memset(&bp, 0, sizeof bp);
    int rc = !x0 || !gsum ? gcam_errf(c->err, GCAM_E_NOMEM, "out of memory") : GCAM_OK;
    if (!rc) rc = make_baseline(c, x0);
    if (!rc) rc = gcam_cam_input_view(c, &bp, &v);
    for (int64_t s0 = 1; s0 <= steps && !rc; s0 += v->batch) {
        int64_t nb = steps - s0 + 1 < v->batch ? steps - s0 + 1 : v->batch;
        float *xin = gcam_f32(&v->g.tensors[c->input_t]);
        for (int64_t b = 0; b < nb; b++) {
            float a = (float)((double)(s0 + b) / (double)steps);
            for (int64_t i = 0; i < n; i++) xin[b * n + i] = x0[i] + a * (c->x[i] - x0[i]);
        }
        if ((rc = gcam_cam_view_pass(c, v, &bp, nb, 0))) break;
        const float *gx = gcam_f32(&v->g.grads[c->input_t]);
        for (int64_t b = 0; b < nb; b++)
            for (int64_t i = 0; i < n; i++) gsum[i] += gx[b * n + i];
        gcam_cam_progress(c, "integrated-gradients", s0 + nb - 1, steps);
    }
    if (!rc) rc = reduce(c, x0, gsum, steps, raw);
    gcam_bwd_release(&bp);
    gcam_suffix_free(v);
    gcam_free(x0);
    gcam_free(gsum);
    return rc;
}
