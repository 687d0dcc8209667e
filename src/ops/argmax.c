/* ArgMax and ArgMin along `axis` (keepdims default 1): int64 indices of the
 * first extreme, or the last with select_last_index (opset 12).  float32 or
 * any integer input.  The output is int64: off every gradient path. */
#include "kernels/dtype.h"

static int arg_geom(gcam_opctx *c, int64_t *outer, int64_t *len, int64_t *inner, int64_t *axis)
{
    const gcam_tensor *x = c->in[0];
    int r = x->ndim;
    int64_t a = gcam_attr_int(c->node, "axis", 0);
    if (a < -r || a >= r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)a, r);
    if (a < 0) a += r;
    *axis = a;
    *outer = *inner = 1;
    for (int d = 0; d < a; d++) *outer *= x->dims[d];
    for (int d = (int)a + 1; d < r; d++) *inner *= x->dims[d];
    *len = x->dims[a];
    return GCAM_OK;
}

static int arg_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (x->dtype != GCAM_DT_F32 && !gcam_dt_is_int(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    int64_t o = 0, l = 0, i = 0, axis = 0;
    int rc = arg_geom(c, &o, &l, &i, &axis);
    if (rc) return rc;
    if (l == 0) return gcam_node_errf(c, GCAM_E_SHAPE, "reduction over an empty axis");
    const int keep = gcam_attr_int(c->node, "keepdims", 1) != 0;
    y->dtype = GCAM_DT_I64;
    y->ndim = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != axis) y->dims[y->ndim++] = x->dims[d];
        else if (keep) y->dims[y->ndim++] = 1;
    return GCAM_OK;
}

static int arg_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    int64_t outer = 0, len = 0, inner = 0, axis = 0;
    int rc = arg_geom(c, &outer, &len, &inner, &axis);
    if (rc) return rc;
    const int mx = c->node->op_type[3] == 'M' && c->node->op_type[4] == 'a', last = gcam_attr_int(c->node, "select_last_index", 0) != 0;
    int64_t *y = gcam_i64(c->out[0]);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            int64_t best = 0;
            double bv = gcam_get_f(x->data, x->dtype, o * len * inner + k);
            for (int64_t j = 1; j < len; j++) {
                double v = gcam_get_f(x->data, x->dtype, (o * len + j) * inner + k);
                int better = mx ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
                if (better) {
                    bv = v;
                    best = j;
                }
            }
            y[o * inner + k] = best;
        }
    return GCAM_OK;
}

const gcam_op gcam_op_ArgMax = {.op_type = "ArgMax", .since = 1, .required = 1, .infer = arg_infer, .forward = arg_forward};
const gcam_op gcam_op_ArgMin = {.op_type = "ArgMin", .since = 1, .required = 1, .infer = arg_infer, .forward = arg_forward};
