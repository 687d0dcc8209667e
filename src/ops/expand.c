/* Expand: x broadcast with a constant shape (numpy rules in both directions:
 * the output is the broadcast of x's dims and the shape).  Any stored type.
 * Gradient: dy summed over the broadcast dims. */
#include "kernels/dtype.h"

static int expand_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    int64_t d[GCAM_MAX_DIMS], o[GCAM_MAX_DIMS];
    int nd = gcam_const_ints(c, gcam_in(c, 1), "shape", d, GCAM_MAX_DIMS), no;
    if (nd < 0) return nd;
    if (!gcam_dt_stored(x->dtype)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    if (gcam_broadcast_shape(x->dims, x->ndim, d, nd, o, &no))
        return gcam_node_errf(c, GCAM_E_SHAPE, "input does not broadcast to the shape");
    y->dtype = x->dtype;
    y->ndim = no;
    memcpy(y->dims, o, sizeof(int64_t) * (size_t)no);
    return GCAM_OK;
}

static int expand_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    int64_t s[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, x->dims, x->ndim, s);
    const size_t es = gcam_dtype_size(y->dtype);
    if (es == 4) {
        const uint32_t *px = x->data;
        uint32_t *py = y->data;
        for (int64_t i = 0, n = gcam_numel(y); i < n; i++) py[i] = px[gcam_boff(i, y->dims, y->ndim, s)];
    } else
        for (int64_t i = 0, n = gcam_numel(y); i < n; i++)
            memcpy((char *)y->data + (size_t)i * es, (const char *)x->data + (size_t)gcam_boff(i, y->dims, y->ndim, s) * es, es);
    return GCAM_OK;
}

static int expand_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    gcam_bcast_grad(gcam_f32(c->din[0]), c->in[0], c->out[0], gcam_f32(c->dout[0]), NULL);
    return GCAM_OK;
}

const gcam_op gcam_op_Expand = {
    .op_type = "Expand", .since = 6, .required = 2,
    .infer = expand_infer,
    .forward = expand_forward,
    .backward = expand_backward,
};
