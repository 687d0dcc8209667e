/* CumSum along the constant scalar axis input: y[j] = sum of x[0..j]
 * (exclusive: x[0..j-1]; reverse: from the end).  float32 or any integer.
 * Gradient: the cumulative sum of dy in the opposite direction. */
#include "kernels/dtype.h"

static int cs_axis(gcam_opctx *c, int64_t *axis)
{
    int64_t v[1];
    int n = gcam_const_ints(c, gcam_in(c, 1), "axis", v, 1);
    if (n < 0) return n;
    if (n != 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis must be a scalar");
    int r = c->in[0]->ndim;
    if (v[0] < -r || v[0] >= r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range", (long long)v[0]);
    *axis = v[0] < 0 ? v[0] + r : v[0];
    return GCAM_OK;
}

static int cs_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    int64_t axis = 0;
    int rc = cs_axis(c, &axis);
    if (rc) return rc;
    if (x->dtype != GCAM_DT_F32 && !gcam_dt_is_int(x->dtype)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    c->out[0]->dtype = x->dtype;
    c->out[0]->ndim = x->ndim;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

/* y = cumsum(x) with the given direction flags; x, y may be float or int */
static void scan(const gcam_tensor *shape, int64_t axis, const void *x, int xt, void *y, int yt, int excl, int rev, int acc)
{
    int64_t outer = 1, inner = 1, len = shape->dims[axis];
    for (int d = 0; d < axis; d++) outer *= shape->dims[d];
    for (int d = (int)axis + 1; d < shape->ndim; d++) inner *= shape->dims[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            double s = 0;
            int64_t si = 0;
            for (int64_t jj = 0; jj < len; jj++) {
                const int64_t j = rev ? len - 1 - jj : jj, i = (o * len + j) * inner + k;
                const double v = gcam_get_f(x, xt, i);
                const int64_t vi = gcam_get_i(x, xt, i);
                if (!excl) { s += v; si += vi; }
                if (yt == GCAM_DT_F32) ((float *)y)[i] = (acc ? ((float *)y)[i] : 0.0f) + (float)s;
                else gcam_set_i(y, yt, i, si);
                if (excl) { s += v; si += vi; }
            }
        }
}

static int cs_forward(gcam_opctx *c)
{
    int64_t axis = 0;
    int rc = cs_axis(c, &axis);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    scan(x, axis, x->data, x->dtype, c->out[0]->data, c->out[0]->dtype, (int)gcam_attr_int(c->node, "exclusive", 0),
         (int)gcam_attr_int(c->node, "reverse", 0), 0);
    return GCAM_OK;
}

static int cs_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    int64_t axis = 0;
    int rc = cs_axis(c, &axis);
    if (rc) return rc;
    scan(c->in[0], axis, c->dout[0]->data, GCAM_DT_F32, c->din[0]->data, GCAM_DT_F32,
         (int)gcam_attr_int(c->node, "exclusive", 0), !gcam_attr_int(c->node, "reverse", 0), 1);
    return GCAM_OK;
}

const gcam_op gcam_op_CumSum = {.op_type = "CumSum", .since = 6, .required = 2, .infer = cs_infer, .forward = cs_forward, .backward = cs_backward};
