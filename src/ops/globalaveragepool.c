/* globalaveragepool.c - GlobalAveragePool: the mean over every spatial dim of
 * an (N, C, ...) tensor, keeping them as size-1 dims.  This is the layer
 * Grad-CAM's channel weights mirror, so it is kept exact and simple.
 * Backward spreads dy / (spatial size) over the plane. */
#include "kernels/im2col.h"

#define GPOOL_PAR_MIN 16384

static int gap_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "X is %s; only float32 is supported",
                              gcam_dtype_name(x->dtype));
    if (x->ndim < 2) return gcam_node_errf(c, GCAM_E_SHAPE, "X must have at least 2 dims (N, C, ...)");
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = x->ndim;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    for (int i = 2; i < x->ndim; i++) y->dims[i] = 1;
    c->node->scratch = c->node->bscratch = 0;
    return GCAM_OK;
}

static int gap_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t S = planes ? gcam_numel(x) / planes : 0;
    const float *xd = gcam_f32(x);
    float *y = gcam_f32(c->out[0]);
    const int nt = gcam_op_threads(c);
#pragma omp parallel for num_threads(nt) if (planes * S > GPOOL_PAR_MIN) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = xd + p * S;
        /* double: a 7x7 or 56x56 sum in float loses digits Grad-CAM users compare */
        double acc = 0.0;
        for (int64_t i = 0; i < S; i++) acc += xp[i];
        y[p] = S ? (float)(acc / (double)S) : 0.0f;
    }
    return GCAM_OK;
}

static int gap_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t S = planes ? gcam_numel(x) / planes : 0;
    const float *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    const int nt = gcam_op_threads(c);
#pragma omp parallel for num_threads(nt) if (planes * S > GPOOL_PAR_MIN) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const float g = dy[p] / (float)S;
        float *dxp = dx + p * S;
        for (int64_t i = 0; i < S; i++) dxp[i] += g;
    }
    return GCAM_OK;
}

const gcam_op gcam_op_GlobalAveragePool = {
    .op_type = "GlobalAveragePool",
    .infer = gap_infer,
    .forward = gap_forward,
    .backward = gap_backward,
};
