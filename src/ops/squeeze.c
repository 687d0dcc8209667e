/* Squeeze: remove the size-1 dims listed in axes (attribute before opset 13,
 * constant input 1 from opset 13), or every size-1 dim when axes is absent.
 * A view: see flatten.c. */
#include "gcam_internal.h"

static int squeeze_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    int64_t axes[GCAM_MAX_DIMS];
    int n = -1; /* -1: no axes given */
    if (c->node->opset < 13) {
        n = gcam_attr_ints(c->node, "axes", axes, GCAM_MAX_DIMS);
        if (n > GCAM_MAX_DIMS) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "more axes than dims");
    } else if (c->node->n_in > 1 && c->in[1]) {
        if ((n = gcam_const_ints(c, c->in[1], "axes", axes, GCAM_MAX_DIMS)) < 0) return n;
    }
    int drop[GCAM_MAX_DIMS] = {0};
    if (n <= 0) {
        /* an empty axes list means the same as none, as in onnxruntime */
        for (int d = 0; d < x->ndim; d++) drop[d] = x->dims[d] == 1;
    } else {
        for (int i = 0; i < n; i++) {
            int64_t a = axes[i];
            if (a < -x->ndim || a >= x->ndim)
                return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)a,
                                      x->ndim);
            if (a < 0) a += x->ndim;
            if (drop[a]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld repeated", (long long)axes[i]);
            if (x->dims[a] != 1)
                return gcam_node_errf(c, GCAM_E_SHAPE, "cannot squeeze axis %lld of size %lld", (long long)a,
                                      (long long)x->dims[a]);
            drop[a] = 1;
        }
    }
    int k = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!drop[d]) y->dims[k++] = x->dims[d];
    y->ndim = k;
    y->dtype = x->dtype;
    return GCAM_OK;
}

const gcam_op gcam_op_Squeeze = {
    .op_type = "Squeeze", .since = 1, .required = 1,
    .flags = GCAM_OPF_VIEW,
    .infer = squeeze_infer,
    .forward = gcam_view_forward,
    .backward = gcam_view_backward,
};
