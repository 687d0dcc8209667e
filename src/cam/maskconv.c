/* maskconv.c - Score-CAM's first convolution, by linearity.
 *
 * Score-CAM runs the network on x * m_k for every channel k, where
 *   m_k = (u_k - lo_k) / den_k,   u_k = Up(A_k) = sum_ij A_kij B_ij
 * with B_ij(y, x) = wy_i(y) wx_j(x) the bilinear (align_corners) weight of
 * grid point (i, j) at pixel (y, x).  Since sum_ij B_ij = 1,
 *   m_k = sum_ij beta_kij B_ij,   beta_kij = (A_kij - lo_k) / den_k >= 0,
 * and when the input feeds a single Conv (linear before its epilogue),
 *   conv(x * m_k) = sum_ij beta_kij E_ij,   E_ij = conv(x * B_ij).
 * So the h * w convolutions E_ij are computed once, each only over the
 * output box whose window meets the support of B_ij (two grid cells each
 * way), and each masked input's conv output is a sum of at most 3 x 3 of
 * them per pixel, then the conv's epilogue (folded BatchNormalization,
 * Relu or Clip).  The network then runs from the conv's output.
 *
 * This is the same value as the reference's conv of the masked input in
 * exact arithmetic, with terms of one sign (beta >= 0, no cancellation), so
 * the two differ by float32 rounding only.  For resnet18 at 224 x 224 it
 * replaces 118 M multiply-adds per masked input with about 4 M. */
#include <omp.h>
#include <stdlib.h>

#include "cam/cam.h"
#include "kernels/elementwise.h"
#include "kernels/im2col.h"

/* Grid points that reach one output pixel, at most (3 x 3 when a window
 * spans under two grid cells; a finer grid leaves the trick alone). */
#define MAX_TERMS 16

struct gcam_maskconv {
    int out_t;            /* the tensor written: the conv's (fused) output */
    int64_t M, OH, OW;    /* output channels and size */
    int h, w;             /* the layer's grid */
    float *a, *b;         /* epilogue: act(a * conv + b), M each */
    int act;
    float lo, hi;
    int64_t *r0, *r1;     /* grid row i: output rows [r0, r1] of E_i. (r1 < r0: none) */
    int64_t *c0, *c1;     /* grid column j: output columns */
    int64_t *ib0, *ib1;   /* output row q: grid rows [ib0, ib1] meet it */
    int64_t *jb0, *jb1;   /* output column q: grid columns */
    float **E;            /* h * w boxes, (rows x cols) x M, channel innermost */
};

void gcam_maskconv_free(gcam_maskconv *m)
{
    if (!m) return;
    if (m->E)
        for (int k = 0; k < m->h * m->w; k++) gcam_free(m->E[k]);
    gcam_free(m->E);
    gcam_free(m->a);
    gcam_free(m->r0);
    gcam_free(m);
}

int gcam_maskconv_out(const gcam_maskconv *m) { return m->out_t; }

/* The bilinear weights of one axis, exactly as gcam_cam_scorecam_mask
 * computes them: pixel p takes (1 - l) of grid index lo[p] and l of hi[p]. */
static void axis_weights(int n, int N, int *lo, int *hi, float *l)
{
    for (int p = 0; p < N; p++) gcam_cam_corner_tap(n, N, p, &lo[p], &hi[p], &l[p]);
}

/* Weight of grid index i at pixel p. */
static float axis_w(const int *lo, const int *hi, const float *l, int p, int i)
{
    float v = 0.0f;
    if (lo[p] == i) v += 1.0f - l[p];
    if (hi[p] == i) v += l[p];
    return v;
}

/* For each grid index i: the output positions [r0, r1] whose window
 * (start q * s - pad, taps t * d, t < k) reaches a pixel of nonzero weight;
 * and for each output position the grid range that reaches it. */
static void axis_boxes(int n, int N, const int *lo, const int *hi, const float *l, int64_t out, int64_t k,
                       int64_t s, int64_t d, int64_t pad, int64_t *r0, int64_t *r1, int64_t *ib0, int64_t *ib1)
{
    for (int i = 0; i < n; i++) {
        r0[i] = out;
        r1[i] = -1;
    }
    for (int64_t q = 0; q < out; q++) {
        ib0[q] = n;
        ib1[q] = -1;
        for (int64_t t = 0; t < k; t++) {
            int64_t p = q * s - pad + t * d;
            if (p < 0 || p >= N) continue;
            for (int i = lo[p]; i <= hi[p]; i++) {
                if (axis_w(lo, hi, l, (int)p, i) == 0.0f) continue;
                if (q < r0[i]) r0[i] = q;
                if (q > r1[i]) r1[i] = q;
                if (i < ib0[q]) ib0[q] = i;
                if (i > ib1[q]) ib1[q] = i;
            }
        }
    }
}

/* The conv that reads the graph input, when it is the input's only reader
 * and the trick applies: a 2-D Conv, one group, constant weights (and
 * bias), an epilogue of at most a folded BatchNormalization and Relu/Clip. */
static const gcam_node *input_conv(const gcam_graph *g, int input_t)
{
    const gcam_node *conv = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const gcam_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] != input_t) continue;
            if (conv || k != 0) return NULL;
            conv = n;
        }
    }
    if (!conv || strcmp(conv->op_type, "Conv") || (conv->domain && conv->domain[0]) || conv->n_in < 2 ||
        conv->n_out < 1 || conv->out[0] < 0 || conv->fuse.skip)
        return NULL;
    const gcam_tensor *W = &g->tensors[conv->in[1]];
    const gcam_tensor *B = conv->n_in > 2 && conv->in[2] >= 0 ? &g->tensors[conv->in[2]] : NULL;
    if (!(W->flags & GCAM_TF_CONST) || !W->data || W->dtype != GCAM_DT_F32 || W->ndim != 4) return NULL;
    if (B && (!(B->flags & GCAM_TF_CONST) || !B->data || B->dtype != GCAM_DT_F32)) return NULL;
    if (gcam_attr_int(conv, "group", 1) != 1) return NULL;
    if (conv->fuse.on && (conv->fuse.has_sum || (conv->fuse.act != GCAM_ACT_NONE && conv->fuse.act != GCAM_ACT_RELU &&
                                                 conv->fuse.act != GCAM_ACT_CLIP)))
        return NULL;
    return conv;
}

/* One output pixel: y = act(a * sum_t beta[t] e[t] + b) over the M channels,
 * the terms summed in order into y, then the conv's epilogue. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
pixel(float *y, const float *const *e, const float *beta, int nt, int64_t M, const float *a, const float *b, int act,
      float lo, float hi)
{
    for (int64_t o = 0; o < M; o++) y[o] = 0.0f;
    for (int t = 0; t < nt; t++) {
        const float bt = beta[t], *et = e[t];
        for (int64_t o = 0; o < M; o++) y[o] += bt * et[o];
    }
    gcam_bias_act_ch(y, NULL, M, a, b, act, lo, hi);
}

int gcam_maskconv_new(gcam_cam_ctx *c, int h, int w, gcam_maskconv **out)
{
    *out = NULL;
    const gcam_graph *g = c->g;
    if (!g->settings.v[GCAM_OPT_SCORECAM_MASKCONV]) return GCAM_OK; /* the plain masked inputs, for A/B */
    const gcam_node *n = input_conv(g, c->input_t);
    if (!n || h < 1 || w < 1) return GCAM_OK;
    const gcam_tensor *X = &g->tensors[c->input_t], *Wt = &g->tensors[n->in[1]];
    const gcam_tensor *Bt = n->n_in > 2 && n->in[2] >= 0 ? &g->tensors[n->in[2]] : NULL;
    const int out_t = n->fuse.on ? n->fuse.out : n->out[0];
    const gcam_tensor *Y = &g->tensors[out_t];
    if (X->ndim != 4 || X->dims[0] != 1 || X->dims[1] != c->C || X->dims[2] != c->H || X->dims[3] != c->W ||
        Wt->dims[1] != c->C || Y->ndim != 4 || Y->dims[0] != 1 || Y->dims[1] != Wt->dims[0] ||
        Y->dtype != GCAM_DT_F32 || (Bt && gcam_numel(Bt) != Wt->dims[0]))
        return GCAM_OK;
    gcam_win_attr wa;
    gcam_win win;
    char why[128];
    gcam_err quiet = {0};
    if (gcam_win_parse(n, &wa, &quiet)) return GCAM_OK;
    wa.ceil_mode = 0;
    if (gcam_win_plan(&wa, 2, X->dims + 2, Wt->dims + 2, &win, why, sizeof why)) return GCAM_OK;
    const int64_t C = c->C, H = c->H, Wd = c->W, M = Wt->dims[0], kh = win.k[1], kw = win.k[2];
    const int64_t OH = win.out[1], OW = win.out[2], CK = C * kh * kw;
    if (OH != Y->dims[2] || OW != Y->dims[3] || H > INT32_MAX || Wd > INT32_MAX) return GCAM_OK;

    gcam_maskconv *m = gcam_calloc(1, sizeof *m);
    if (!m) return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    m->out_t = out_t;
    m->M = M;
    m->OH = OH;
    m->OW = OW;
    m->h = h;
    m->w = w;
    m->act = n->fuse.on ? n->fuse.act : GCAM_ACT_NONE;
    m->lo = n->fuse.act_lo;
    m->hi = n->fuse.act_hi;
    int rc = GCAM_OK;
    int *ylo = gcam_malloc(sizeof(int) * (size_t)H), *yhi = gcam_malloc(sizeof(int) * (size_t)H);
    int *xlo = gcam_malloc(sizeof(int) * (size_t)Wd), *xhi = gcam_malloc(sizeof(int) * (size_t)Wd);
    float *yl = gcam_malloc(sizeof(float) * (size_t)H), *xl = gcam_malloc(sizeof(float) * (size_t)Wd);
    m->a = gcam_malloc(sizeof(float) * (size_t)(2 * M));
    m->r0 = gcam_malloc(sizeof(int64_t) * (size_t)(2 * h + 2 * w + 2 * OH + 2 * OW));
    m->E = gcam_calloc((size_t)(h * w), sizeof(float *));
    float *col = NULL;
    if (!ylo || !yhi || !xlo || !xhi || !yl || !xl || !m->a || !m->r0 || !m->E) {
        rc = gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
        goto done;
    }
    m->b = m->a + M;
    m->r1 = m->r0 + h;
    m->c0 = m->r1 + h;
    m->c1 = m->c0 + w;
    m->ib0 = m->c1 + w;
    m->ib1 = m->ib0 + OH;
    m->jb0 = m->ib1 + OH;
    m->jb1 = m->jb0 + OW;
    /* the epilogue as conv.c folds it: a as BatchNormalization computes it,
     * the bias (b - mean) * a + beta in double */
    const float *bias = Bt ? gcam_f32(Bt) : NULL;
    for (int64_t o = 0; o < M; o++) {
        if (n->fuse.on && n->fuse.bn_scale) {
            m->a[o] = n->fuse.bn_scale[o] / sqrtf(n->fuse.bn_var[o] + n->fuse.bn_eps);
            double b0 = bias ? bias[o] : 0.0;
            m->b[o] = (float)((b0 - n->fuse.bn_mean[o]) * m->a[o] + n->fuse.bn_bias[o]);
        } else {
            m->a[o] = 1.0f;
            m->b[o] = bias ? bias[o] : 0.0f;
        }
    }
    axis_weights(h, (int)H, ylo, yhi, yl);
    axis_weights(w, (int)Wd, xlo, xhi, xl);
    axis_boxes(h, (int)H, ylo, yhi, yl, OH, kh, win.s[1], win.d[1], win.pb[1], m->r0, m->r1, m->ib0, m->ib1);
    axis_boxes(w, (int)Wd, xlo, xhi, xl, OW, kw, win.s[2], win.d[2], win.pb[2], m->c0, m->c1, m->jb0, m->jb1);
    int64_t span_y = 0, span_x = 0;
    for (int64_t q = 0; q < OH; q++) span_y = m->ib1[q] - m->ib0[q] + 1 > span_y ? m->ib1[q] - m->ib0[q] + 1 : span_y;
    for (int64_t q = 0; q < OW; q++) span_x = m->jb1[q] - m->jb0[q] + 1 > span_x ? m->jb1[q] - m->jb0[q] + 1 : span_x;
    if (span_y * span_x > MAX_TERMS) { /* not an error: the plain path runs */
        gcam_maskconv_free(m);
        m = NULL;
        goto done;
    }
    int64_t max_box = 0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            int64_t nr = m->r1[i] - m->r0[i] + 1, nc = m->c1[j] - m->c0[j] + 1;
            if (nr > 0 && nc > 0 && nr * nc > max_box) max_box = nr * nc;
        }
    if (!(col = gcam_malloc(sizeof(float) * (size_t)(max_box * CK + 1)))) {
        rc = gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
        goto done;
    }
    const float *x = c->x, *W = gcam_f32(Wt);
    for (int i = 0; i < h && !rc; i++)
        for (int j = 0; j < w && !rc; j++) {
            int64_t nr = m->r1[i] - m->r0[i] + 1, nc = m->c1[j] - m->c0[j] + 1;
            if (nr <= 0 || nc <= 0) continue;
            float *E = gcam_malloc(sizeof(float) * (size_t)(nr * nc * M));
            if (!E) {
                rc = gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
                break;
            }
            m->E[i * w + j] = E;
            /* col[pixel][c, ty, tx] = (x * B_ij) under the window */
#pragma omp parallel for schedule(static) if (nr * nc * CK > 65536)
            for (int64_t r = 0; r < nr; r++)
                for (int64_t q = 0; q < nc; q++) {
                    float *cp = col + (r * nc + q) * CK;
                    const int64_t oy = m->r0[i] + r, ox = m->c0[j] + q;
                    for (int64_t ch = 0; ch < C; ch++)
                        for (int64_t ty = 0; ty < kh; ty++) {
                            const int64_t py = oy * win.s[1] - win.pb[1] + ty * win.d[1];
                            const float wy = py >= 0 && py < H ? axis_w(ylo, yhi, yl, (int)py, i) : 0.0f;
                            for (int64_t tx = 0; tx < kw; tx++) {
                                const int64_t px = ox * win.s[2] - win.pb[2] + tx * win.d[2];
                                float v = 0.0f;
                                if (wy != 0.0f && px >= 0 && px < Wd) {
                                    const float wx = axis_w(xlo, xhi, xl, (int)px, j);
                                    if (wx != 0.0f) v = x[(ch * H + py) * Wd + px] * (wy * wx);
                                }
                                *cp++ = v;
                            }
                        }
                }
            /* E (pixels x M) = col (pixels x CK) W^T */
            gcam_sgemm(0, 1, nr * nc, M, CK, 1.0f, col, CK, W, CK, 0.0f, E, M);
        }
done:
    gcam_free(ylo);
    gcam_free(yhi);
    gcam_free(xlo);
    gcam_free(xhi);
    gcam_free(yl);
    gcam_free(xl);
    gcam_free(col);
    if (rc) {
        gcam_maskconv_free(m);
        return rc;
    }
    *out = m; /* NULL when declined */
    if (m && c->stats) c->stats->maskconv_built++;
    return GCAM_OK;
}

int gcam_maskconv_run(const gcam_maskconv *m, const float *beta, int64_t n, float *dst, int nhwc, gcam_err *e)
{
    const int64_t M = m->M, OH = m->OH, OW = m->OW, P = OH * OW;
    const int nth = omp_get_max_threads();
    /* per thread: a row of output (OW x M) when it is to be transposed to
     * the plain layout */
    const int64_t per = (nhwc ? 0 : OW * M) + 16;
    float *bufs = gcam_malloc(sizeof(float) * (size_t)(nth * per));
    if (!bufs) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    /* rows outermost, items inside: a row's boxes stay in cache over the batch */
#pragma omp parallel for schedule(static)
    for (int64_t oy = 0; oy < OH; oy++) {
        float *row = bufs + (int64_t)omp_get_thread_num() * per;
        const float *terms[MAX_TERMS];
        float tb[MAX_TERMS];
        for (int64_t b = 0; b < n; b++) {
            const float *bk = beta + b * m->h * m->w;
            float *yrow = nhwc ? dst + (b * P + oy * OW) * M : row;
            for (int64_t ox = 0; ox < OW; ox++) {
                int nt = 0;
                for (int64_t i = m->ib0[oy]; i <= m->ib1[oy]; i++)
                    for (int64_t j = m->jb0[ox]; j <= m->jb1[ox]; j++) {
                        const float bv = bk[i * m->w + j];
                        if (bv == 0.0f) continue;
                        const int64_t nc = m->c1[j] - m->c0[j] + 1;
                        terms[nt] = m->E[i * m->w + j] + ((oy - m->r0[i]) * nc + (ox - m->c0[j])) * M;
                        tb[nt++] = bv;
                    }
                pixel(yrow + ox * M, terms, tb, nt, M, m->a, m->b, m->act, m->lo, m->hi);
            }
            if (!nhwc)
                for (int64_t ox = 0; ox < OW; ox++)
                    for (int64_t o = 0; o < M; o++) dst[(b * M + o) * P + oy * OW + ox] = yrow[ox * M + o];
        }
    }
    gcam_free(bufs);
    return GCAM_OK;
}
