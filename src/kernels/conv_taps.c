/* conv_taps.c - a dilated convolution as a sum of shifted 1x1 products, each
 * over the outputs its tap can reach.
 *
 * A tap (ky, kx) of a stride-1 conv reads x at (oy - pt + ky d, ox - pl + kx d):
 * for a large dilation on a small map most outputs put it in the padding.
 * DeepLabV3's ASPP conv at rate 12 on a 14x14 map: of each dim's three taps
 * the centre reaches all 14 outputs, the outer two 2 each, so 18% of the
 * 9 x 196 tap-output pairs touch data - and a dense kernel (oneDNN's, or
 * im2col + GEMM) computes all of them.  Here each live tap is one GEMM:
 *   Y[:, rect] += W_tap[M, C] X[:, rect shifted]          (forward)
 *   dX[:, rect shifted] += W_tap^T[C, M] dY[:, rect]      (backward data)
 * with the rectangles gathered into and scattered from scratch.  x and y may
 * each be NCHW or NHWC (the GEMM's transposes follow); backward is NCHW only,
 * as the planner keeps the gradient path's tensors plain.
 * The folded BatchNormalization scale goes into the per-tap weights, bias and
 * activation into one pass at the end.  conv_dnnl.c picks it (see
 * gcam_conv_taps_new) and tests/unit/test_fast_paths.c checks it against
 * the reference kernels. */
#include "kernels/conv_taps.h"

#include <stdlib.h>
#include <string.h>

#include "gcam_internal.h"

typedef struct tap {
    int64_t oy0, oy1, ox0, ox1; /* the outputs it reaches: [oy0, oy1) x [ox0, ox1) */
    int64_t dy, dx;             /* input row/col = output row/col + (dy, dx) */
    float *w;                   /* M x C, scale folded in */
} tap;

struct gcam_conv_taps {
    int64_t N, C, M, IH, IW, OH, OW;
    int nhwc_in, nhwc_out;
    int nt;
    tap t[GCAM_CONV_TAPS_MAX];
    float *bias; /* M, or NULL */
    int act;
    float lo, hi;
    int64_t rect_max; /* scratch: C x rect_max input rectangle, then M x rect_max output one */
    size_t scratch;
};

/* The outputs o in [0, out) with 0 <= o + off < in, as [*a, *b). */
static void reach(int64_t out, int64_t in, int64_t off, int64_t *a, int64_t *b)
{
    *a = off < 0 ? -off : 0;
    *b = in - off < out ? in - off : out;
    if (*b < *a) *b = *a;
}

/* Whether the taps' live tap-output pairs are few enough to pay for the
 * gathers: under half of the dense count. */
static int worth_it(const gcam_conv_taps *k, int64_t dense)
{
    int64_t live = 0;
    for (int i = 0; i < k->nt; i++) live += (k->t[i].oy1 - k->t[i].oy0) * (k->t[i].ox1 - k->t[i].ox0);
    return 2 * live < dense;
}

int gcam_conv_taps_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, gcam_conv_taps **out)
{
    *out = NULL;
    const gcam_win *w = &g->w;
    if (w->nsp != 2 || g->G != 1 || (epi && epi->sum)) return GCAM_E_UNSUPPORTED;
    if (w->s[1] != 1 || w->s[2] != 1 || (w->d[1] == 1 && w->d[2] == 1) || w->k_size > GCAM_CONV_TAPS_MAX)
        return GCAM_E_UNSUPPORTED;
    const int act = epi ? epi->act : GCAM_ACT_NONE;
    if (act != GCAM_ACT_NONE && act != GCAM_ACT_RELU && act != GCAM_ACT_CLIP) return GCAM_E_UNSUPPORTED;
    gcam_conv_taps *k = gcam_calloc(1, sizeof *k);
    if (!k) return GCAM_E_NOMEM;
    *k = (gcam_conv_taps){.N = g->N, .C = g->C, .M = g->M, .IH = w->in[1], .IW = w->in[2], .OH = w->out[1],
                          .OW = w->out[2], .nhwc_in = g->nhwc_in, .nhwc_out = g->nhwc_out, .act = act, .lo = epi ? epi->lo : 0, .hi = epi ? epi->hi : 0};
    int64_t rect_max = 0;
    for (int64_t ky = 0; ky < w->k[1]; ky++)
        for (int64_t kx = 0; kx < w->k[2]; kx++) {
            tap t = {.dy = ky * w->d[1] - w->pb[1], .dx = kx * w->d[2] - w->pb[2]};
            reach(k->OH, k->IH, t.dy, &t.oy0, &t.oy1);
            reach(k->OW, k->IW, t.dx, &t.ox0, &t.ox1);
            if (t.oy0 == t.oy1 || t.ox0 == t.ox1) continue;
            t.w = gcam_malloc(sizeof(float) * (size_t)(k->M * k->C));
            if (!t.w) {
                gcam_conv_taps_free(k);
                return GCAM_E_NOMEM;
            }
            for (int64_t m = 0; m < k->M; m++) {
                const float s = epi && epi->wscale ? epi->wscale[m] : 1.0f;
                for (int64_t c = 0; c < k->C; c++)
                    t.w[m * k->C + c] = s * W[((m * k->C + c) * w->k[1] + ky) * w->k[2] + kx];
            }
            const int64_t r = (t.oy1 - t.oy0) * (t.ox1 - t.ox0);
            if (r > rect_max) rect_max = r;
            k->t[k->nt++] = t;
        }
    if (!worth_it(k, w->k_size * k->OH * k->OW)) {
        gcam_conv_taps_free(k);
        return GCAM_E_UNSUPPORTED;
    }
    if (epi && epi->bias) {
        if (!(k->bias = gcam_malloc(sizeof(float) * (size_t)k->M))) {
            gcam_conv_taps_free(k);
            return GCAM_E_NOMEM;
        }
        memcpy(k->bias, epi->bias, sizeof(float) * (size_t)k->M);
    }
    k->rect_max = rect_max;
    k->scratch = sizeof(float) * (size_t)((k->C + k->M) * rect_max);
    *out = k;
    return GCAM_OK;
}

void gcam_conv_taps_free(gcam_conv_taps *k)
{
    if (!k) return;
    for (int i = 0; i < k->nt; i++) gcam_free(k->t[i].w);
    gcam_free(k->bias);
    gcam_free(k);
}

size_t gcam_conv_taps_scratch(const gcam_conv_taps *k) { return k ? k->scratch : 0; }

/* rect <- plane over the tap's rectangle shifted by (dy, dx): NCHW planes
 * give rect[ch, r], NHWC ones rect[r, ch]. */
static void gather(const float *plane, int64_t ch, int64_t H, int64_t W, int nhwc, const tap *t, int64_t dy,
                   int64_t dx, float *rect)
{
    const int64_t h = t->oy1 - t->oy0, w = t->ox1 - t->ox0;
    if (nhwc) {
        for (int64_t y = 0; y < h; y++)
            memcpy(rect + y * w * ch, plane + ((t->oy0 + y + dy) * W + t->ox0 + dx) * ch, sizeof(float) * (size_t)(w * ch));
        return;
    }
    for (int64_t c = 0; c < ch; c++)
        for (int64_t y = 0; y < h; y++)
            memcpy(rect + (c * h + y) * w, plane + (c * H + t->oy0 + y + dy) * W + t->ox0 + dx, sizeof(float) * (size_t)w);
}

/* plane += rect, the inverse walk of gather */
static void scatter_add(const float *rect, int64_t ch, int64_t H, int64_t W, int nhwc, const tap *t, int64_t dy,
                        int64_t dx, float *plane)
{
    const int64_t h = t->oy1 - t->oy0, w = t->ox1 - t->ox0;
    if (nhwc) {
        for (int64_t y = 0; y < h; y++) {
            const float *r = rect + y * w * ch;
            float *p = plane + ((t->oy0 + y + dy) * W + t->ox0 + dx) * ch;
            for (int64_t i = 0; i < w * ch; i++) p[i] += r[i];
        }
        return;
    }
    for (int64_t c = 0; c < ch; c++)
        for (int64_t y = 0; y < h; y++) {
            const float *r = rect + (c * h + y) * w;
            float *p = plane + (c * H + t->oy0 + y + dy) * W + t->ox0 + dx;
            for (int64_t x = 0; x < w; x++) p[x] += r[x];
        }
}

static inline float act_of(const gcam_conv_taps *k, float v)
{
    if (k->act == GCAM_ACT_RELU) return v < 0.0f ? 0.0f : v;
    if (k->act == GCAM_ACT_CLIP) return v < k->lo ? k->lo : v > k->hi ? k->hi : v;
    return v;
}

static void epilogue(const gcam_conv_taps *k, float *y)
{
    const int64_t S = k->OH * k->OW;
    if (k->nhwc_out) {
        for (int64_t p = 0; p < S; p++)
            for (int64_t m = 0; m < k->M; m++) y[p * k->M + m] = act_of(k, y[p * k->M + m] + (k->bias ? k->bias[m] : 0.0f));
        return;
    }
    for (int64_t m = 0; m < k->M; m++) {
        const float b = k->bias ? k->bias[m] : 0.0f;
        for (int64_t i = 0; i < S; i++) y[m * S + i] = act_of(k, y[m * S + i] + b);
    }
}

/* Yr = W_tap Xr for one tap, in whatever orientation the layouts give:
 * Xr is [C, r] (NCHW x) or [r, C]; Yr is [M, r] (NCHW y) or [r, M]. */
static void tap_product(const gcam_conv_taps *k, const tap *t, int64_t r, const float *xr, float *yr)
{
    const int64_t C = k->C, M = k->M;
    if (!k->nhwc_out)
        gcam_sgemm(0, k->nhwc_in, M, r, C, 1.0f, t->w, C, xr, k->nhwc_in ? C : r, 0.0f, yr, r);
    else
        gcam_sgemm(!k->nhwc_in, 1, r, M, C, 1.0f, xr, k->nhwc_in ? C : r, t->w, C, 0.0f, yr, M);
}

int gcam_conv_taps_forward(const gcam_conv_taps *k, const float *x, float *y, void *scratch)
{
    float *xr = scratch, *yr = xr + k->C * k->rect_max;
    for (int64_t n = 0; n < k->N; n++) {
        const float *xn = x + n * k->C * k->IH * k->IW;
        float *yn = y + n * k->M * k->OH * k->OW;
        memset(yn, 0, sizeof(float) * (size_t)(k->M * k->OH * k->OW));
        for (int i = 0; i < k->nt; i++) {
            const tap *t = &k->t[i];
            const int64_t r = (t->oy1 - t->oy0) * (t->ox1 - t->ox0);
            gather(xn, k->C, k->IH, k->IW, k->nhwc_in, t, t->dy, t->dx, xr);
            tap_product(k, t, r, xr, yr);
            scatter_add(yr, k->M, k->OH, k->OW, k->nhwc_out, t, 0, 0, yn);
        }
        epilogue(k, yn);
    }
    return GCAM_OK;
}

int gcam_conv_taps_backward_data(const gcam_conv_taps *k, const float *dy, float *dx, void *scratch)
{
    float *xr = scratch, *yr = xr + k->C * k->rect_max;
    if (k->nhwc_in || k->nhwc_out) return GCAM_E_INTERNAL; /* never planned: see the top */
    for (int64_t n = 0; n < k->N; n++) {
        const float *dyn = dy + n * k->M * k->OH * k->OW;
        float *dxn = dx + n * k->C * k->IH * k->IW;
        for (int i = 0; i < k->nt; i++) {
            const tap *t = &k->t[i];
            const int64_t r = (t->oy1 - t->oy0) * (t->ox1 - t->ox0);
            gather(dyn, k->M, k->OH, k->OW, 0, t, 0, 0, yr);
            gcam_sgemm(1, 0, k->C, r, k->M, 1.0f, t->w, k->C, yr, r, 0.0f, xr, r);
            scatter_add(xr, k->C, k->IH, k->IW, 0, t, t->dy, t->dx, dxn);
        }
    }
    return GCAM_OK;
}
