/* Reshape: y = x with a new shape taken from the constant input 1 (the
 * "shape" attribute before opset 5).  In the shape, 0 copies the input's dim
 * at that position unless allowzero=1 (opset 14), and one -1 is inferred from
 * the element count.  A view: see flatten.c. */
#include "gcam_internal.h"

static int reshape_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    int64_t shape[GCAM_MAX_DIMS];
    int n;
    if (c->node->opset < 5) {
        n = gcam_attr_ints(c->node, "shape", shape, GCAM_MAX_DIMS);
        if (n < 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing shape attribute");
        if (n > GCAM_MAX_DIMS)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "rank %d above %d", n, GCAM_MAX_DIMS);
    } else {
        if (c->node->n_in < 2 || !c->in[1]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing shape input");
        if ((n = gcam_const_ints(c, c->in[1], "shape", shape, GCAM_MAX_DIMS)) < 0) return n;
    }
    int allowzero = (int)gcam_attr_int(c->node, "allowzero", 0);
    int64_t numel = gcam_numel(x), known = 1;
    int infer_at = -1;
    for (int i = 0; i < n; i++) {
        int64_t s = shape[i];
        if (s == -1) {
            if (infer_at >= 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "shape has more than one -1");
            infer_at = i;
            continue;
        }
        if (s == 0 && !allowzero) {
            if (i >= x->ndim)
                return gcam_node_errf(c, GCAM_E_SHAPE, "shape[%d] = 0 copies a dim the rank-%d input lacks", i,
                                      x->ndim);
            s = x->dims[i];
        }
        if (s < 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "shape[%d] = %lld is negative", i, (long long)s);
        y->dims[i] = s;
        if (s && known > INT64_MAX / s) return gcam_node_errf(c, GCAM_E_SHAPE, "shape overflows");
        known *= s;
    }
    if (infer_at >= 0) {
        /* with a zero among the known dims any size fits the -1: ambiguous */
        if (known == 0 || numel % known)
            return gcam_node_errf(c, GCAM_E_SHAPE, "cannot infer the -1 dim: %lld elements into known product %lld",
                                  (long long)numel, (long long)known);
        y->dims[infer_at] = numel / known;
    } else if (known != numel) {
        return gcam_node_errf(c, GCAM_E_SHAPE, "cannot reshape %lld elements into %lld", (long long)numel,
                              (long long)known);
    }
    y->dtype = x->dtype;
    y->ndim = n;
    return GCAM_OK;
}

const gcam_op gcam_op_Reshape = {
    .op_type = "Reshape", .since = 6, .required = 2,
    .flags = GCAM_OPF_VIEW,
    .infer = reshape_infer,
    .forward = gcam_view_forward,
    .backward = gcam_view_backward,
};
