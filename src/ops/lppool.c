/* LpPool and GlobalLpPool: y = (sum over the window of |x|^p)^(1/p), p
 * default 2; padding counts as zeros.  1 to 3 spatial dims, the window
 * attributes of the other pools (kernel_shape, strides, pads, dilations,
 * auto_pad, ceil_mode).  Backward: dx = dy |x|^(p-1) sign(x) / y^(p-1). */
#include <math.h>

#include "kernels/im2col.h"

static int lp_geom(gcam_opctx *c, gcam_win *w)
{
    gcam_win_attr a;
    const gcam_tensor *x = c->in[0];
    if (c->node->op_type[0] == 'G') { /* global: the kernel is the whole input */
        memset(&a, 0, sizeof a);
        a.nk = x->ndim - 2;
        for (int i = 0; i < a.nk && i < GCAM_WIN_MAX_SP; i++) a.k[i] = x->dims[2 + i];
    } else {
        int rc = gcam_pool_parse(c->node, &a, c->err);
        if (rc) return rc;
    }
    return gcam_pool_geom(c, &a, w);
}

static int lp_infer(gcam_opctx *c)
{
    gcam_win w;
    int rc = lp_geom(c, &w);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    gcam_win_out_shape(&w, x, x->dims[1], y);
    return GCAM_OK;
}

/* Calls f(input offset within the plane) for every in-range tap of output o */
#define FOR_TAPS(w, o, body)                                                                       \
    do {                                                                                           \
        const int64_t o0 = (o) / ((w).out[1] * (w).out[2]), o1 = ((o) / (w).out[2]) % (w).out[1],  \
                      o2 = (o) % (w).out[2];                                                       \
        for (int64_t k0 = 0; k0 < (w).k[0]; k0++)                                                  \
            for (int64_t k1 = 0; k1 < (w).k[1]; k1++)                                              \
                for (int64_t k2 = 0; k2 < (w).k[2]; k2++) {                                        \
                    const int64_t i0 = o0 * (w).s[0] - (w).pb[0] + k0 * (w).d[0],                   \
                                  i1 = o1 * (w).s[1] - (w).pb[1] + k1 * (w).d[1],                   \
                                  i2 = o2 * (w).s[2] - (w).pb[2] + k2 * (w).d[2];                   \
                    if (i0 < 0 || i0 >= (w).in[0] || i1 < 0 || i1 >= (w).in[1] || i2 < 0 ||        \
                        i2 >= (w).in[2])                                                           \
                        continue;                                                                  \
                    const int64_t at = (i0 * (w).in[1] + i1) * (w).in[2] + i2;                     \
                    body;                                                                          \
                }                                                                                  \
    } while (0)

static int lp_run(gcam_opctx *c, int grad)
{
    gcam_win w;
    int rc = lp_geom(c, &w);
    if (rc) return rc;
    const double p = (double)gcam_attr_int(c->node, "p", 2);
    if (p < 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "p must be >= 1");
    const gcam_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = gcam_f32(x) + pl * w.in_size;
        const float *yp = gcam_f32(c->out[0]) + pl * w.out_size;
        for (int64_t o = 0; o < w.out_size; o++) {
            if (!grad) {
                double s = 0;
                FOR_TAPS(w, o, s += pow(fabs(xp[at]), p));
                gcam_f32(c->out[0])[pl * w.out_size + o] = (float)pow(s, 1.0 / p);
                continue;
            }
            const double yv = yp[o], g = gcam_f32(c->dout[0])[pl * w.out_size + o];
            if (yv == 0) continue;
            float *dx = gcam_f32(c->din[0]) + pl * w.in_size;
            FOR_TAPS(w, o, dx[at] += (float)(g * pow(fabs(xp[at]), p - 1) * ((xp[at] > 0) - (xp[at] < 0)) / pow(yv, p - 1)));
        }
    }
    return GCAM_OK;
}

static int lp_forward(gcam_opctx *c) { return lp_run(c, 0); }
static int lp_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? lp_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_LpPool = {.op_type = "LpPool", .since = 6, .required = 1, .infer = lp_infer, .forward = lp_forward, .backward = lp_backward};
const gcam_op gcam_op_GlobalLpPool = {.op_type = "GlobalLpPool", .since = 6, .required = 1, .infer = lp_infer, .forward = lp_forward, .backward = lp_backward};
