/* globalaveragepool.c - GlobalAveragePool: the mean over every spatial dim of
 * an (N, C, ...) tensor, keeping them as size-1 dims.  This is the layer
 * Grad-CAM's channel weights mirror, so it is kept exact and simple.
 * Backward spreads dy / (spatial size) over the plane.
 *
 * The planner may store a 4-D X channels last (GCAM_TF_NHWC) when a conv
 * writes it; each channel's mean is then summed in the same order, so the
 * result is the same to the bit.  Y (N x C x 1 x 1) reads the same either way. */
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
    c->nhwc_ok = x->ndim == 4 ? GCAM_NHWC_FREE : GCAM_NHWC_NO;
    return GCAM_OK;
}

/* Channels last: per image, a block of channels at a time, each summed over
 * the pixels in order. */
#define GAP_CBLOCK 64
static void gap_nhwc(const float *x, float *y, int64_t N, int64_t C, int64_t S, int nt)
{
    const int64_t nb = (C + GAP_CBLOCK - 1) / GAP_CBLOCK;
#pragma omp parallel for num_threads(nt) if (N * C * S > GPOOL_PAR_MIN) schedule(static)
    for (int64_t j = 0; j < N * nb; j++) {
        const int64_t n = j / nb, c0 = (j % nb) * GAP_CBLOCK;
        const int64_t len = c0 + GAP_CBLOCK <= C ? GAP_CBLOCK : C - c0;
        double acc[GAP_CBLOCK] = {0};
        const float *xp = x + n * S * C + c0;
        for (int64_t i = 0; i < S; i++)
            for (int64_t k = 0; k < len; k++) acc[k] += xp[i * C + k];
        for (int64_t k = 0; k < len; k++) y[n * C + c0 + k] = S ? (float)(acc[k] / (double)S) : 0.0f;
    }
}

static int gap_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t S = planes ? gcam_numel(x) / planes : 0;
    const float *xd = gcam_f32(x);
    float *y = gcam_f32(c->out[0]);
    const int nt = gcam_op_threads(c);
    if (x->flags & GCAM_TF_NHWC) {
        gap_nhwc(xd, y, x->dims[0], x->dims[1], S, nt);
        return GCAM_OK;
    }
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
    if (x->flags & GCAM_TF_NHWC) /* the planner keeps the backward pass's tensors plain */
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a pool planned NHWC");
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
    .op_type = "GlobalAveragePool", .since = 1, .required = 1,
    .flags = GCAM_OPF_LAYOUT,
    .infer = gap_infer,
    .forward = gap_forward,
    .backward = gap_backward,
};
