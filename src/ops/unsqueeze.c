/* Unsqueeze: insert size-1 dims at the listed axes of the output (attribute
 * before opset 13, constant input 1 from opset 13).  Axes index the output,
 * so they are normalised against the output rank and may come in any order.
 * A view: see flatten.c. */
#include "gcam_internal.h"

static int unsqueeze_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    int64_t axes[GCAM_MAX_DIMS];
    int n;
    if (c->node->opset < 13) {
        n = gcam_attr_ints(c->node, "axes", axes, GCAM_MAX_DIMS);
        if (n < 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing axes attribute");
    } else {
        if (c->node->n_in < 2 || !c->in[1]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing axes input");
        if ((n = gcam_const_ints(c, c->in[1], "axes", axes, GCAM_MAX_DIMS)) < 0) return n;
    }
    int r = x->ndim + n;
    if (r > GCAM_MAX_DIMS)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "output rank %d above %d", r, GCAM_MAX_DIMS);
    int ins[GCAM_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++) {
        int64_t a = axes[i];
        if (a < -r || a >= r)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for output rank %d",
                                  (long long)a, r);
        if (a < 0) a += r;
        if (ins[a]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld repeated", (long long)axes[i]);
        ins[a] = 1;
    }
    for (int d = 0, k = 0; d < r; d++) y->dims[d] = ins[d] ? 1 : x->dims[k++];
    y->ndim = r;
    y->dtype = x->dtype;
    return GCAM_OK;
}

const gcam_op gcam_op_Unsqueeze = {
    .op_type = "Unsqueeze", .since = 1, .required = 1, .required_from = 13, .required_then = 2,
    .flags = GCAM_OPF_VIEW,
    .infer = unsqueeze_infer,
    .forward = gcam_view_forward,
    .backward = gcam_view_backward,
};
