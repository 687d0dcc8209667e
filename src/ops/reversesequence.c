/* ReverseSequence: along time_axis (default 0), the first sequence_lens[b]
 * elements of each batch entry b (batch_axis, default 1) reversed, the rest
 * copied.  Lengths constant.  Any stored type; the gradient is the same
 * permutation applied to dy. */
#include "kernels/dtype.h"

static int rs_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *l = gcam_in(c, 1);
    const int64_t ta = gcam_attr_int(c->node, "time_axis", 0), ba = gcam_attr_int(c->node, "batch_axis", 1);
    if (x->ndim < 2 || (ta != 0 && ta != 1) || ba != 1 - ta) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "time_axis/batch_axis must be 0/1");
    if (!l || !(l->flags & GCAM_TF_CONST) || !l->data || gcam_numel(l) != x->dims[ba])
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "sequence_lens must be constant, one per batch entry");
    c->out[0]->dtype = x->dtype;
    c->out[0]->ndim = x->ndim;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

/* source element of output element (t, b, e) */
static int rs_run(gcam_opctx *c, int grad)
{
    const gcam_tensor *x = c->in[0], *l = gcam_in(c, 1);
    const int ta = (int)gcam_attr_int(c->node, "time_axis", 0);
    const int64_t T = x->dims[ta], B = x->dims[1 - ta], inner = gcam_numel(x) / (T * B != 0 ? T * B : 1);
    const size_t es = gcam_dtype_size(x->dtype);
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            int64_t len = gcam_get_i(l->data, l->dtype, b), st = t < len ? len - 1 - t : t;
            if (len > T) return gcam_node_errf(c, GCAM_E_RANGE, "sequence length %lld above %lld", (long long)len, (long long)T);
            const int64_t dst = (ta == 0 ? t * B + b : b * T + t) * inner, src = (ta == 0 ? st * B + b : b * T + st) * inner;
            if (!grad) memcpy((char *)c->out[0]->data + (size_t)dst * es, (const char *)x->data + (size_t)src * es, (size_t)inner * es);
            else
                for (int64_t e = 0; e < inner; e++) gcam_f32(c->din[0])[src + e] += gcam_f32(c->dout[0])[dst + e];
        }
    return GCAM_OK;
}

static int rs_forward(gcam_opctx *c) { return rs_run(c, 0); }
static int rs_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? rs_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_ReverseSequence = {.op_type = "ReverseSequence", .since = 6, .required = 1, .infer = rs_infer, .forward = rs_forward, .backward = rs_backward};
