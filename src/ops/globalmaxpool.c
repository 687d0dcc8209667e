/* globalmaxpool.c - GlobalMaxPool: the max over every spatial dim of an
 * (N, C, ...) tensor, keeping them as size-1 dims.  Backward adds dy at the
 * argmax (first maximum on ties), recomputed from the forward input. */
#include "kernels/im2col.h"

#define GPOOL_PAR_MIN 16384

static int gmp_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "X is %s; only float32 is supported",
                              gcam_dtype_name(x->dtype));
    if (x->ndim < 2) return gcam_node_errf(c, GCAM_E_SHAPE, "X must have at least 2 dims (N, C, ...)");
    int64_t S = 1;
    for (int i = 2; i < x->ndim; i++) S *= x->dims[i];
    if (S < 1) return gcam_node_errf(c, GCAM_E_SHAPE, "empty spatial extent");
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = x->ndim;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    for (int i = 2; i < x->ndim; i++) y->dims[i] = 1;
    c->node->scratch = c->node->bscratch = 0;
    return GCAM_OK;
}

static inline int64_t plane_argmax(const float *xp, int64_t S)
{
    int64_t best = 0;
    for (int64_t i = 1; i < S; i++)
        if (xp[i] > xp[best]) best = i;
    return best;
}

static int gmp_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t S = planes ? gcam_numel(x) / planes : 0;
    const float *xd = gcam_f32(x);
    float *y = gcam_f32(c->out[0]);
    const int nt = gcam_op_threads(c);
#pragma omp parallel for num_threads(nt) if (planes * S > GPOOL_PAR_MIN) schedule(static)
    for (int64_t p = 0; p < planes; p++) y[p] = xd[p * S + plane_argmax(xd + p * S, S)];
    return GCAM_OK;
}

static int gmp_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t S = planes ? gcam_numel(x) / planes : 0;
    const float *xd = gcam_f32(x), *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    const int nt = gcam_op_threads(c);
#pragma omp parallel for num_threads(nt) if (planes * S > GPOOL_PAR_MIN) schedule(static)
    for (int64_t p = 0; p < planes; p++) dx[p * S + plane_argmax(xd + p * S, S)] += dy[p];
    return GCAM_OK;
}

const gcam_op gcam_op_GlobalMaxPool = {
    .op_type = "GlobalMaxPool", .since = 1, .required = 1,
    .infer = gmp_infer,
    .forward = gmp_forward,
    .backward = gmp_backward,
};
