/* faithfulness.c - perturbation measures: deletion / insertion curves and
 * their AUC (Petsiuk et al., RISE), Average Drop / Increase (Chattopadhyay et
 * al., Grad-CAM++).  Definitions: docs/eval.md. */
#include <math.h>
#include <stdlib.h>

#include "eval/eval.h"

typedef struct {
    float v;
    int64_t i;
} ranked;

static int by_value_desc(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    int na = isnan(a->v), nb = isnan(b->v);
    if (na != nb) return na - nb; /* NaN last */
    if (!na && a->v != b->v) return a->v > b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i); /* ties: row-major order */
}

int gcam_eval_rank(const float *map, int64_t n, int64_t *order)
{
    ranked *r = gcam_malloc(sizeof *r * (size_t)(n > 0 ? n : 1));
    if (!r) return GCAM_E_NOMEM;
    for (int64_t i = 0; i < n; i++) r[i] = (ranked){map[i], i};
    qsort(r, (size_t)n, sizeof *r, by_value_desc);
    for (int64_t i = 0; i < n; i++) order[i] = r[i].i;
    gcam_free(r);
    return GCAM_OK;
}

void gcam_eval_blur(const float *x, int C, int H, int W, double sigma, float *out, float *tmp)
{
    int64_t HW = (int64_t)H * W;
    if (!(sigma > 0)) {
        memcpy(out, x, sizeof(float) * (size_t)(C * HW));
        return;
    }
    int r = (int)ceil(3 * sigma);
    if (r > 1024) r = 1024;
    double k[2049];
    for (int d = -r; d <= r; d++) k[d + r] = exp(-(double)d * d / (2 * sigma * sigma));
    for (int c = 0; c < C; c++) {
        const float *src = x + c * HW;
        float *dst = out + c * HW;
        for (int i = 0; i < H; i++) /* horizontal pass into tmp */
            for (int j = 0; j < W; j++) {
                double s = 0, ws = 0;
                for (int d = -r; d <= r; d++) {
                    int q = j + d;
                    if (q < 0 || q >= W) continue;
                    s += k[d + r] * src[(int64_t)i * W + q];
                    ws += k[d + r];
                }
                tmp[(int64_t)i * W + j] = (float)(s / ws);
            }
        for (int i = 0; i < H; i++) /* vertical pass into dst */
            for (int j = 0; j < W; j++) {
                double s = 0, ws = 0;
                for (int d = -r; d <= r; d++) {
                    int q = i + d;
                    if (q < 0 || q >= H) continue;
                    s += k[d + r] * tmp[(int64_t)q * W + j];
                    ws += k[d + r];
                }
                dst[(int64_t)i * W + j] = (float)(s / ws);
            }
    }
}

int gcam_eval_curve(const float *x, const float *baseline, int C, int H, int W, const int64_t *order,
                    int steps, int insertion, gcam_eval_score_fn fn, void *ctx, float *work, double *curve,
                    double *frac)
{
    int64_t HW = (int64_t)H * W;
    const float *from = insertion ? baseline : x, *to = insertion ? x : baseline;
    memcpy(work, from, sizeof(float) * (size_t)(C * HW));
    int64_t done = 0;
    for (int k = 0; k <= steps; k++) {
        int64_t nk = steps > 0 ? (int64_t)k * HW / steps : HW;
        for (; done < nk; done++) {
            int64_t p = order[done];
            for (int c = 0; c < C; c++) work[c * HW + p] = to[c * HW + p];
        }
        int rc = fn(ctx, work, &curve[k]);
        if (rc) return rc;
        frac[k] = HW ? (double)nk / (double)HW : 0;
    }
    return GCAM_OK;
}

double gcam_eval_auc(const double *x, const double *y, int n)
{
    double a = 0;
    for (int k = 1; k < n; k++) a += (x[k] - x[k - 1]) * (y[k] + y[k - 1]) / 2;
    return a;
}

void gcam_eval_mask_input(const float *x, const float *map, int C, int H, int W, float *out)
{
    int64_t HW = (int64_t)H * W;
    for (int c = 0; c < C; c++)
        for (int64_t p = 0; p < HW; p++) out[c * HW + p] = x[c * HW + p] * map[p];
}

double gcam_eval_average_drop(const double *Y, const double *O, int n)
{
    double s = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!(Y[i] > 0)) continue;
        s += fmax(0, Y[i] - O[i]) / Y[i];
        m++;
    }
    return m ? 100 * s / m : 0;
}

double gcam_eval_average_increase(const double *Y, const double *O, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++) c += O[i] > Y[i];
    return n ? 100.0 * c / n : 0;
}
