/* Cast to float32 or int64, the two types kernels compute with, from any
 * stored numeric type (float32/64, int8/32/64, uint8, bool: constants keep
 * their stored type and fold through here).  float -> int64 truncates toward
 * zero like C, and saturates out-of-range values (NaN -> 0) where C would be
 * undefined.  Gradient flows only through a float32 -> float32 cast. */
#include "gcam_internal.h"

static int supported_from(int dt)
{
    switch (dt) {
    case GCAM_DT_F32: case GCAM_DT_F64: case GCAM_DT_I64: case GCAM_DT_I32:
    case GCAM_DT_I8: case GCAM_DT_U8: case GCAM_DT_BOOL: return 1;
    default: return 0;
    }
}

static int cast_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const gcam_attr *a = gcam_attr_find(c->node, "to");
    if (!a || a->type != GCAM_ATTR_INT) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing 'to' attribute");
    int to = (int)a->i;
    if (!supported_from(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "cast from %s (%d) not supported", gcam_dtype_name(x->dtype),
                              x->dtype);
    if (to != GCAM_DT_F32 && to != GCAM_DT_I64)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "cast to %s (%d) not supported", gcam_dtype_name(to), to);
    y->dtype = to;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

static int64_t real_to_i64(double v)
{
    if (v != v) return 0;
    if (v >= 9223372036854775808.0) return INT64_MAX; /* 2^63 */
    if (v < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

static int is_real(int dt) { return dt == GCAM_DT_F32 || dt == GCAM_DT_F64; }

/* element i of x as a double (real types) */
static double real_at(const gcam_tensor *x, int64_t i)
{
    return x->dtype == GCAM_DT_F32 ? (double)gcam_f32(x)[i] : ((const double *)x->data)[i];
}

/* element i of x as an int64 (integer and bool types) */
static int64_t int_at(const gcam_tensor *x, int64_t i)
{
    switch (x->dtype) {
    case GCAM_DT_I64: return gcam_i64(x)[i];
    case GCAM_DT_I32: return ((const int32_t *)x->data)[i];
    case GCAM_DT_I8: return ((const int8_t *)x->data)[i];
    case GCAM_DT_BOOL: return ((const uint8_t *)x->data)[i] != 0;
    default: return ((const uint8_t *)x->data)[i];
    }
}

static int cast_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    int64_t n = gcam_numel(x);
    if (x->dtype == y->dtype) {
        if (y->data != x->data && n) memcpy(y->data, x->data, gcam_tensor_bytes(x));
    } else if (y->dtype == GCAM_DT_F32) {
        float *d = gcam_f32(y);
        for (int64_t i = 0; i < n; i++) d[i] = is_real(x->dtype) ? (float)real_at(x, i) : (float)int_at(x, i);
    } else {
        int64_t *d = gcam_i64(y);
        for (int64_t i = 0; i < n; i++) d[i] = is_real(x->dtype) ? real_to_i64(real_at(x, i)) : int_at(x, i);
    }
    return GCAM_OK;
}

static int cast_backward(gcam_opctx *c)
{
    /* only float -> float carries a gradient; int outputs have none */
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != GCAM_DT_F32 || c->out[0]->dtype != GCAM_DT_F32)
        return GCAM_OK;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    int64_t n = gcam_numel(c->din[0]);
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
    return GCAM_OK;
}

const gcam_op gcam_op_Cast = {
    .op_type = "Cast",
    .infer = cast_infer,
    .forward = cast_forward,
    .backward = cast_backward,
};
