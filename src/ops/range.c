/* Range: start, start + delta, ... up to (not including) limit; the three
 * scalar inputs constant (a shape computation), of one type (float32 or any
 * integer).  n = max(ceil((limit - start) / delta), 0). */
#include <math.h>

#include "kernels/dtype.h"

static int range_count(gcam_opctx *c, int64_t *n)
{
    for (int k = 0; k < 3; k++) {
        const gcam_tensor *t = c->in[k];
        if (!t || !(t->flags & GCAM_TF_CONST) || !t->data)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic range bounds not supported");
        if (gcam_numel(t) != 1) return gcam_node_errf(c, GCAM_E_SHAPE, "input %d is not a scalar", k);
        if (t->dtype != c->in[0]->dtype) return gcam_node_errf(c, GCAM_E_DTYPE, "inputs of different types");
    }
    const int dt = c->in[0]->dtype;
    if (dt != GCAM_DT_F32 && !gcam_dt_is_int(dt)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(dt));
    double s = gcam_get_f(c->in[0]->data, dt, 0), l = gcam_get_f(gcam_in(c, 1)->data, dt, 0), d = gcam_get_f(gcam_in(c, 2)->data, dt, 0);
    if (d == 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "delta is 0");
    double m = ceil((l - s) / d);
    if (!(m < (double)((int64_t)1 << 40))) return gcam_node_errf(c, GCAM_E_RANGE, "range of %g elements", m);
    *n = m > 0 ? (int64_t)m : 0;
    return GCAM_OK;
}

static int range_infer(gcam_opctx *c)
{
    int64_t n = 0;
    int rc = range_count(c, &n);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = c->in[0]->dtype;
    y->ndim = 1;
    y->dims[0] = n;
    return GCAM_OK;
}

static int range_forward(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    const int dt = y->dtype;
    if (dt == GCAM_DT_F32) {
        const float s = gcam_f32(c->in[0])[0], d = gcam_f32(gcam_in(c, 2))[0];
        for (int64_t i = 0; i < y->dims[0]; i++) gcam_f32(y)[i] = s + (float)i * d;
    } else {
        const int64_t s = gcam_get_i(c->in[0]->data, dt, 0), d = gcam_get_i(gcam_in(c, 2)->data, dt, 0);
        for (int64_t i = 0; i < y->dims[0]; i++) gcam_set_i(y->data, dt, i, s + i * d);
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Range = {
    .op_type = "Range", .since = 6, .required = 3,
    .flags = GCAM_OPF_SHAPE_PARAMS, .param_slot = 0, /* start, limit, delta */
    .infer = range_infer,
    .forward = range_forward,
};
