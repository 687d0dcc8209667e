/* maxpool.c - MaxPool over 1, 2 or 3 spatial dims: kernel_shape, strides,
 * pads, dilations, ceil_mode, auto_pad, and the optional Indices output
 * (int64, flat over N x C x spatial; storage_order 0 = row-major, 1 =
 * column-major over the spatial dims, as onnxruntime writes them).
 *
 * uint8/int8 inputs (8-bit images) pool exactly in their own type.
 *
 * Padding never wins: windows only look at real input elements.  On ties the
 * first maximum in scan order wins, in forward and backward alike.
 *
 * Backward recomputes each window's argmax from the forward input (no stored
 * state) and adds dy there.
 *
 * A 2-D pool without Indices and dilation may run channels last
 * (GCAM_TF_NHWC on X and Y together, chosen by the planner between convs):
 * the same scan order and comparisons, a vector of channels at a time. */
#include "kernels/dtype.h"
#include "kernels/im2col.h"

#include <float.h>
#include <stdlib.h>

#define POOL_PAR_MIN 16384

typedef struct maxpool_params {
    gcam_win_attr win;
    int storage_order;
} maxpool_params;

static int maxpool_init(gcam_node *n, gcam_err *e)
{
    maxpool_params *p = gcam_calloc(1, sizeof *p);
    if (!p) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    n->params = p;
    int rc = gcam_pool_parse(n, &p->win, e);
    if (rc) return rc;
    int64_t so = gcam_attr_int(n, "storage_order", 0);
    if (so != 0 && so != 1)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (MaxPool): storage_order must be 0 or 1",
                         n->name ? n->name : "");
    p->storage_order = (int)so;
    return GCAM_OK;
}

static int maxpool_geom(gcam_opctx *c, gcam_win *w)
{
    const maxpool_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    if (x->dtype == GCAM_DT_U8 || x->dtype == GCAM_DT_I8) { /* 8-bit images: the same windows */
        gcam_tensor as_float = *x;
        as_float.dtype = GCAM_DT_F32;
        gcam_tensor *saved = c->in[0];
        c->in[0] = &as_float;
        int rc = gcam_pool_geom(c, &p->win, w);
        c->in[0] = saved;
        return rc;
    }
    return gcam_pool_geom(c, &p->win, w);
}

/* MaxPool of uint8/int8 data (values only, exact): the window scan of
 * window_argmax on the integer values. */
static int maxpool_forward_int(gcam_opctx *c, const gcam_win *w)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t o = 0; o < w->out_size; o++) {
            const int64_t oc[3] = {o / (w->out[1] * w->out[2]), (o / w->out[2]) % w->out[1], o % w->out[2]};
            int64_t best = INT64_MIN, any = 0;
            for (int64_t t = 0; t < w->k_size; t++) {
                const int64_t kc[3] = {t / (w->k[1] * w->k[2]), (t / w->k[2]) % w->k[1], t % w->k[2]};
                int64_t ic[3], in = 1;
                for (int i = 0; i < 3; i++) {
                    ic[i] = oc[i] * w->s[i] - w->pb[i] + kc[i] * w->d[i];
                    in &= ic[i] >= 0 && ic[i] < w->in[i];
                }
                if (!in) continue;
                const int64_t v = gcam_get_i(x->data, x->dtype, pl * w->in_size + (ic[0] * w->in[1] + ic[1]) * w->in[2] + ic[2]);
                if (!any || v > best) best = v;
                any = 1;
            }
            gcam_set_i(y->data, y->dtype, pl * w->out_size + o, any ? best : 0);
        }
    return GCAM_OK;
}

/* The case maxpool_plane_2d and maxpool_nhwc cover. */
static int plain_2d(const gcam_opctx *c, const gcam_win *w)
{
    const int ind = c->node->n_out > 1 && c->out[1];
    return !ind && c->in[0]->ndim == 4 && w->out[0] == 1 && w->k[0] == 1 && w->d[1] == 1 && w->d[2] == 1;
}

static int maxpool_infer(gcam_opctx *c)
{
    gcam_win w;
    int rc = maxpool_geom(c, &w);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    c->nhwc_ok = plain_2d(c, &w) && x->dtype == GCAM_DT_F32 ? GCAM_NHWC_TIED : GCAM_NHWC_NO;
    for (int o = 0; o < c->node->n_out && o < 2; o++) {
        gcam_tensor *y = c->out[o];
        if (!y) continue;
        y->dtype = o == 0 ? x->dtype : GCAM_DT_I64;
        if (o == 1 && x->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "Indices of a %s pool not supported", gcam_dtype_name(x->dtype));
        gcam_win_out_shape(&w, x, x->dims[1], y);
    }
    c->node->scratch = c->node->bscratch = 0;
    return GCAM_OK;
}

/* Argmax of the window of output (o0, o1, o2) in one plane xp.  Returns the
 * flat row-major index within the plane, or -1 for a window that only covers
 * padding; *pos gets the 3-D coordinates. */
static inline int64_t window_argmax(const float *xp, const gcam_win *w, int64_t o0, int64_t o1,
                                    int64_t o2, int64_t pos[3])
{
    const int64_t o[3] = {o0, o1, o2};
    int64_t st[3], lo[3], hi[3];
    for (int i = 0; i < 3; i++) {
        st[i] = o[i] * w->s[i] - w->pb[i];
        gcam_win_range(st[i], w->d[i], w->k[i], w->in[i], &lo[i], &hi[i]);
    }
    int64_t best = -1;
    float bv = 0.0f;
    for (int64_t j0 = lo[0]; j0 < hi[0]; j0++) {
        const int64_t i0 = st[0] + j0 * w->d[0];
        for (int64_t j1 = lo[1]; j1 < hi[1]; j1++) {
            const int64_t i1 = st[1] + j1 * w->d[1];
            const float *xr = xp + (i0 * w->in[1] + i1) * w->in[2];
            for (int64_t j2 = lo[2]; j2 < hi[2]; j2++) {
                const int64_t i2 = st[2] + j2 * w->d[2];
                const float v = xr[i2];
                /* strict >: the first maximum wins ties */
                if (best < 0 || v > bv) {
                    bv = v;
                    best = (i0 * w->in[1] + i1) * w->in[2] + i2;
                    pos[0] = i0;
                    pos[1] = i1;
                    pos[2] = i2;
                }
            }
        }
    }
    return best;
}

/* One plane of a 2-D max pool (D = 1), dilation 1, values only: the same
 * scan order and comparisons as window_argmax (the window's first element
 * in row-major order, then strict >), so results are identical, NaN
 * included.  Output columns whose window lies inside the input's width run
 * as a loop over columns for each tap, which vectorises; the few columns at
 * the edges take the general path. */
static void maxpool_plane_2d(const float *xp, float *yp, const gcam_win *w)
{
    const int64_t IH = w->in[1], IW = w->in[2], OH = w->out[1], OW = w->out[2];
    const int64_t KH = w->k[1], KW = w->k[2], SH = w->s[1], SW = w->s[2], PH = w->pb[1], PW = w->pb[2];
    /* columns [a, b) read only inside the row: ow * SW - PW >= 0 and ow * SW - PW + KW <= IW */
    int64_t a = (PW + SW - 1) / SW, b = IW - KW + PW >= 0 ? (IW - KW + PW) / SW + 1 : 0;
    if (b > OW) b = OW;
    if (a > b) a = b;
    for (int64_t oh = 0; oh < OH; oh++) {
        float *yr = yp + oh * OW;
        const int64_t h0 = oh * SH - PH;
        const int64_t hlo = h0 < 0 ? 0 : h0, hhi = h0 + KH > IH ? IH : h0 + KH;
        if (hlo >= hhi) {
            for (int64_t ow = 0; ow < OW; ow++) yr[ow] = -FLT_MAX;
            continue;
        }
        for (int64_t ow = 0; ow < OW; ow++) {
            if (ow == a && a < b) { /* interior columns */
                const float *x0 = xp + hlo * IW - PW;
                for (int64_t o = a; o < b; o++) yr[o] = x0[o * SW];
                for (int64_t ih = hlo; ih < hhi; ih++) {
                    const float *xr = xp + ih * IW - PW;
                    for (int64_t kw = ih == hlo ? 1 : 0; kw < KW; kw++)
                        for (int64_t o = a; o < b; o++) {
                            const float v = xr[o * SW + kw];
                            yr[o] = v > yr[o] ? v : yr[o];
                        }
                }
                ow = b - 1;
                continue;
            }
            const int64_t w0 = ow * SW - PW;
            const int64_t wlo = w0 < 0 ? 0 : w0, whi = w0 + KW > IW ? IW : w0 + KW;
            if (wlo >= whi) {
                yr[ow] = -FLT_MAX;
                continue;
            }
            float bv = xp[hlo * IW + wlo];
            for (int64_t ih = hlo; ih < hhi; ih++)
                for (int64_t iw = ih == hlo ? wlo + 1 : wlo; iw < whi; iw++) {
                    const float v = xp[ih * IW + iw];
                    bv = v > bv ? v : bv;
                }
            yr[ow] = bv;
        }
    }
}

/* maxpool_plane_2d channels last: every output pixel of row r (image n,
 * output row oh) takes its window's first element, then the strict max
 * over the rest in row-major order, C channels at once. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
maxpool_row_nhwc(const float *x, float *y, const gcam_win *w, int64_t C, int64_t n, int64_t oh)
{
    const int64_t IH = w->in[1], IW = w->in[2], OW = w->out[2];
    const int64_t KH = w->k[1], KW = w->k[2], SW = w->s[2], PW = w->pb[2];
    const int64_t h0 = oh * w->s[1] - w->pb[1];
    const int64_t hlo = h0 < 0 ? 0 : h0, hhi = h0 + KH > IH ? IH : h0 + KH;
    const float *xn = x + n * IH * IW * C;
    for (int64_t ow = 0; ow < OW; ow++) {
        float *yp = y + ow * C;
        const int64_t w0 = ow * SW - PW;
        const int64_t wlo = w0 < 0 ? 0 : w0, whi = w0 + KW > IW ? IW : w0 + KW;
        if (hlo >= hhi || wlo >= whi) {
            for (int64_t k = 0; k < C; k++) yp[k] = -FLT_MAX;
            continue;
        }
        const float *first = xn + (hlo * IW + wlo) * C;
        for (int64_t k = 0; k < C; k++) yp[k] = first[k];
        for (int64_t ih = hlo; ih < hhi; ih++)
            for (int64_t iw = ih == hlo ? wlo + 1 : wlo; iw < whi; iw++) {
                const float *xp = xn + (ih * IW + iw) * C;
                for (int64_t k = 0; k < C; k++) yp[k] = xp[k] > yp[k] ? xp[k] : yp[k];
            }
    }
}

static int maxpool_forward(gcam_opctx *c)
{
    gcam_win w;
    int rc = maxpool_geom(c, &w);
    if (rc) return rc;
    const maxpool_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32) return maxpool_forward_int(c, &w);
    const float *xd = gcam_f32(x);
    float *y = gcam_f32(c->out[0]);
    int64_t *ind = c->node->n_out > 1 && c->out[1] ? gcam_i64(c->out[1]) : NULL;
    const int64_t planes = x->dims[0] * x->dims[1];
    const int nt = gcam_op_threads(c);
    const int nhwc = (x->flags | c->out[0]->flags) & GCAM_TF_NHWC;
    if (nhwc) {
        if (!plain_2d(c, &w) || !(x->flags & c->out[0]->flags & GCAM_TF_NHWC))
            return gcam_node_errf(c, GCAM_E_INTERNAL, "NHWC planned for a pool that cannot run it");
        const int64_t N = x->dims[0], C = x->dims[1], OH = w.out[1], OW = w.out[2];
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) \
    schedule(static)
        for (int64_t r = 0; r < N * OH; r++) maxpool_row_nhwc(xd, y + r * OW * C, &w, C, r / OH, r % OH);
        return GCAM_OK;
    }
    if (!ind && w.out[0] == 1 && w.k[0] == 1 && w.d[1] == 1 && w.d[2] == 1) {
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) \
    schedule(static)
        for (int64_t pl = 0; pl < planes; pl++) maxpool_plane_2d(xd + pl * w.in_size, y + pl * w.out_size, &w);
        return GCAM_OK;
    }
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) \
    schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = xd + pl * w.in_size;
        float *yp = y + pl * w.out_size;
        int64_t *ip = ind ? ind + pl * w.out_size : NULL;
        int64_t k = 0;
        for (int64_t o0 = 0; o0 < w.out[0]; o0++)
            for (int64_t o1 = 0; o1 < w.out[1]; o1++)
                for (int64_t o2 = 0; o2 < w.out[2]; o2++, k++) {
                    int64_t pos[3] = {0, 0, 0};
                    const int64_t a = window_argmax(xp, &w, o0, o1, o2, pos);
                    /* a window over padding only: the lowest float, as onnxruntime */
                    yp[k] = a >= 0 ? xp[a] : -FLT_MAX;
                    if (!ip) continue;
                    if (a < 0) ip[k] = -1;
                    else if (p->storage_order == 0) ip[k] = pl * w.in_size + a;
                    else /* column-major: the first spatial dim varies fastest */
                        ip[k] = pl * w.in_size + pos[0] + pos[1] * w.in[0] + pos[2] * w.in[0] * w.in[1];
                }
    }
    return GCAM_OK;
}

static int maxpool_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    gcam_win w;
    int rc = maxpool_geom(c, &w);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    if ((x->flags | c->out[0]->flags) & GCAM_TF_NHWC) /* the planner keeps the backward pass's tensors plain */
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a pool planned NHWC");
    const float *xd = gcam_f32(x), *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    const int64_t planes = x->dims[0] * x->dims[1];
    const int nt = gcam_op_threads(c);
    /* planes are independent, so each thread owns its slice of dx */
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) \
    schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = xd + pl * w.in_size, *dyp = dy + pl * w.out_size;
        float *dxp = dx + pl * w.in_size;
        int64_t k = 0;
        for (int64_t o0 = 0; o0 < w.out[0]; o0++)
            for (int64_t o1 = 0; o1 < w.out[1]; o1++)
                for (int64_t o2 = 0; o2 < w.out[2]; o2++, k++) {
                    int64_t pos[3];
                    const int64_t a = window_argmax(xp, &w, o0, o1, o2, pos);
                    if (a >= 0) dxp[a] += dyp[k];
                }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_MaxPool = {
    .op_type = "MaxPool", .since = 1, .required = 1,
    .flags = GCAM_OPF_LAYOUT,
    .init = maxpool_init,
    .infer = maxpool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};
