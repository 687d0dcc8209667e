/* averagepool.c - AveragePool over 1, 2 or 3 spatial dims: kernel_shape,
 * strides, pads, dilations (opset 19), ceil_mode, count_include_pad, auto_pad.
 *
 * The divisor follows PyTorch (and onnxruntime): with count_include_pad=0 it
 * is the number of real input elements in the window; with
 * count_include_pad=1 it also counts pad positions, but a window that
 * ceil_mode lets run past the end padding is clipped there - positions beyond
 * the padded extent never count.
 *
 * Backward spreads dy / divisor over the same elements.
 *
 * A 2-D pool whose windows all lie inside the input (DenseNet's
 * transitions) also runs channels last, X and Y NHWC together
 * (GCAM_NHWC_TIED), summing the taps in the same order. */
#include "kernels/im2col.h"

#include <stdlib.h>

#define POOL_PAR_MIN 16384

typedef struct avgpool_params {
    gcam_win_attr win;
    int count_include_pad;
} avgpool_params;

static int avgpool_init(gcam_node *n, gcam_err *e)
{
    avgpool_params *p = gcam_calloc(1, sizeof *p);
    if (!p) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    n->params = p;
    int rc = gcam_pool_parse(n, &p->win, e);
    if (rc) return rc;
    int64_t cip = gcam_attr_int(n, "count_include_pad", 0);
    if (cip != 0 && cip != 1)
        return gcam_errf(e, GCAM_E_INVALID_MODEL,
                         "node '%s' (AveragePool): count_include_pad must be 0 or 1",
                         n->name ? n->name : "");
    p->count_include_pad = (int)cip;
    return GCAM_OK;
}

static int avgpool_geom(gcam_opctx *c, gcam_win *w)
{
    const avgpool_params *p = c->node->params;
    return gcam_pool_geom(c, &p->win, w);
}

static int avgpool_interior_2d(const gcam_win *w);

static int avgpool_infer(gcam_opctx *c)
{
    gcam_win w;
    int rc = avgpool_geom(c, &w);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    gcam_win_out_shape(&w, x, x->dims[1], y);
    c->node->scratch = c->node->bscratch = 0;
    c->nhwc_ok = x->ndim == 4 && x->dtype == GCAM_DT_F32 && avgpool_interior_2d(&w) ? GCAM_NHWC_TIED : GCAM_NHWC_NO;
    return GCAM_OK;
}

/* The window of output o: its start, the kernel indices [lo, hi) that land
 * on real input, and 1 / divisor. */
typedef struct avg_window {
    int64_t st[3], lo[3], hi[3];
    float inv;
} avg_window;

static inline void avg_window_of(const gcam_win *w, int include_pad, int64_t o0, int64_t o1,
                                 int64_t o2, avg_window *aw)
{
    const int64_t o[3] = {o0, o1, o2};
    int64_t div = 1;
    for (int i = 0; i < 3; i++) {
        aw->st[i] = o[i] * w->s[i] - w->pb[i];
        gcam_win_range(aw->st[i], w->d[i], w->k[i], w->in[i], &aw->lo[i], &aw->hi[i]);
        if (include_pad) {
            /* positions inside [-pb, in + pe): shift so the padded extent starts at 0 */
            int64_t plo, phi;
            gcam_win_range(aw->st[i] + w->pb[i], w->d[i], w->k[i], w->in[i] + w->pb[i] + w->pe[i],
                           &plo, &phi);
            div *= phi - plo;
        } else {
            div *= aw->hi[i] - aw->lo[i];
        }
    }
    /* a window over padding only (count_include_pad=0) averages nothing: 0 */
    aw->inv = div > 0 ? 1.0f / (float)div : 0.0f;
}

/* One plane of a 2-D average pool (D = 1) whose windows all lie inside the
 * input (no padding, dilation 1, no ceil overhang): every divisor is
 * KH * KW.  The sums run over the taps in the general path's order, one tap
 * at a time across a whole output row, so they vectorise and the results
 * are identical. */
static void avgpool_plane_2d(const float *xp, float *yp, const gcam_win *w)
{
    const int64_t IW = w->in[2], OH = w->out[1], OW = w->out[2];
    const int64_t KH = w->k[1], KW = w->k[2], SH = w->s[1], SW = w->s[2];
    const float inv = 1.0f / (float)(KH * KW);
    for (int64_t oh = 0; oh < OH; oh++) {
        float *yr = yp + oh * OW;
        for (int64_t o = 0; o < OW; o++) yr[o] = 0.0f;
        for (int64_t kh = 0; kh < KH; kh++) {
            const float *xr = xp + (oh * SH + kh) * IW;
            for (int64_t kw = 0; kw < KW; kw++)
                for (int64_t o = 0; o < OW; o++) yr[o] += xr[o * SW + kw];
        }
        for (int64_t o = 0; o < OW; o++) yr[o] *= inv;
    }
}

static int avgpool_interior_2d(const gcam_win *w)
{
    if (w->out[0] != 1 || w->k[0] != 1 || w->d[1] != 1 || w->d[2] != 1) return 0;
    for (int i = 0; i < 3; i++)
        if (w->pb[i] || w->pe[i] || (w->out[i] - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] + 1 > w->in[i]) return 0;
    return 1;
}

/* avgpool_plane_2d channels last: output row r (image n, row oh), C
 * channels at once, the taps summed in the same order. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
avgpool_row_nhwc(const float *x, float *y, const gcam_win *w, int64_t C, int64_t n, int64_t oh)
{
    const int64_t IH = w->in[1], IW = w->in[2], OW = w->out[2];
    const int64_t KH = w->k[1], KW = w->k[2], SH = w->s[1], SW = w->s[2];
    const float inv = 1.0f / (float)(KH * KW);
    const float *xn = x + n * IH * IW * C;
    for (int64_t ow = 0; ow < OW; ow++) {
        float *yp = y + ow * C;
        for (int64_t k = 0; k < C; k++) yp[k] = 0.0f;
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const float *xp = xn + ((oh * SH + kh) * IW + ow * SW + kw) * C;
                for (int64_t k = 0; k < C; k++) yp[k] += xp[k];
            }
        for (int64_t k = 0; k < C; k++) yp[k] *= inv;
    }
}

static int avgpool_forward(gcam_opctx *c)
{
    gcam_win w;
    int rc = avgpool_geom(c, &w);
    if (rc) return rc;
    const avgpool_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    const float *xd = gcam_f32(x);
    float *y = gcam_f32(c->out[0]);
    const int64_t planes = x->dims[0] * x->dims[1];
    const int nt = gcam_op_threads(c);
    if ((x->flags | c->out[0]->flags) & GCAM_TF_NHWC) {
        if (!avgpool_interior_2d(&w) || !(x->flags & c->out[0]->flags & GCAM_TF_NHWC))
            return gcam_node_errf(c, GCAM_E_INTERNAL, "NHWC planned for a pool that cannot run it");
        const int64_t N = x->dims[0], C = x->dims[1], OH = w.out[1], OW = w.out[2];
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) schedule(static)
        for (int64_t r = 0; r < N * OH; r++) avgpool_row_nhwc(xd, y + r * OW * C, &w, C, r / OH, r % OH);
        return GCAM_OK;
    }
    if (avgpool_interior_2d(&w)) {
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) \
    schedule(static)
        for (int64_t pl = 0; pl < planes; pl++) avgpool_plane_2d(xd + pl * w.in_size, y + pl * w.out_size, &w);
        return GCAM_OK;
    }
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) \
    schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = xd + pl * w.in_size;
        float *yp = y + pl * w.out_size;
        int64_t k = 0;
        for (int64_t o0 = 0; o0 < w.out[0]; o0++)
            for (int64_t o1 = 0; o1 < w.out[1]; o1++)
                for (int64_t o2 = 0; o2 < w.out[2]; o2++, k++) {
                    avg_window aw;
                    avg_window_of(&w, p->count_include_pad, o0, o1, o2, &aw);
                    float acc = 0.0f;
                    for (int64_t j0 = aw.lo[0]; j0 < aw.hi[0]; j0++) {
                        const int64_t i0 = aw.st[0] + j0 * w.d[0];
                        for (int64_t j1 = aw.lo[1]; j1 < aw.hi[1]; j1++) {
                            const float *xr = xp + (i0 * w.in[1] + aw.st[1] + j1 * w.d[1]) * w.in[2];
                            for (int64_t j2 = aw.lo[2]; j2 < aw.hi[2]; j2++)
                                acc += xr[aw.st[2] + j2 * w.d[2]];
                        }
                    }
                    yp[k] = acc * aw.inv;
                }
    }
    return GCAM_OK;
}

static int avgpool_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    if (c->in[0]->flags & GCAM_TF_NHWC) /* the planner keeps the backward pass's tensors plain */
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a pool planned NHWC");
    gcam_win w;
    int rc = avgpool_geom(c, &w);
    if (rc) return rc;
    const avgpool_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    const float *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    const int64_t planes = x->dims[0] * x->dims[1];
    const int nt = gcam_op_threads(c);
    /* planes are independent, so each thread owns its slice of dx */
#pragma omp parallel for num_threads(nt) if (planes * w.out_size * w.k_size > POOL_PAR_MIN) \
    schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *dyp = dy + pl * w.out_size;
        float *dxp = dx + pl * w.in_size;
        int64_t k = 0;
        for (int64_t o0 = 0; o0 < w.out[0]; o0++)
            for (int64_t o1 = 0; o1 < w.out[1]; o1++)
                for (int64_t o2 = 0; o2 < w.out[2]; o2++, k++) {
                    avg_window aw;
                    avg_window_of(&w, p->count_include_pad, o0, o1, o2, &aw);
                    const float g = dyp[k] * aw.inv;
                    for (int64_t j0 = aw.lo[0]; j0 < aw.hi[0]; j0++) {
                        const int64_t i0 = aw.st[0] + j0 * w.d[0];
                        for (int64_t j1 = aw.lo[1]; j1 < aw.hi[1]; j1++) {
                            float *xr = dxp + (i0 * w.in[1] + aw.st[1] + j1 * w.d[1]) * w.in[2];
                            for (int64_t j2 = aw.lo[2]; j2 < aw.hi[2]; j2++)
                                xr[aw.st[2] + j2 * w.d[2]] += g;
                        }
                    }
                }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_AveragePool = {
    .op_type = "AveragePool", .since = 1, .required = 1,
    .flags = GCAM_OPF_LAYOUT,
    .init = avgpool_init,
    .infer = avgpool_infer,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
