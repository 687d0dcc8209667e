/* Cast and CastLike: between float32 and every integer type and bool.
 * float16, bfloat16 and float64 are float32 inside (gcam_internal.h): a
 * cast to float16 or bfloat16 rounds to its precision and range and stays
 * float32, a cast to float64 is a float32 copy.  float -> integer truncates toward zero and
 * saturates at int64's range (NaN -> 0) before wrapping to the target's
 * width, where C would be undefined; -> bool is x != 0.  Strings are out
 * of scope.  Gradient flows only float -> float. */
#include "kernels/dtype.h"

static int target_type(gcam_opctx *c, int *to)
{
    if (!strcmp(c->node->op_type, "CastLike")) {
        if (!gcam_in(c, 1)) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "CastLike needs 2 inputs");
        *to = gcam_in(c, 1)->dtype;
        return GCAM_OK;
    }
    const gcam_attr *a = gcam_attr_find(c->node, "to");
    if (!a || a->type != GCAM_ATTR_INT) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing 'to' attribute");
    *to = (int)a->i;
    return GCAM_OK;
}

static int cast_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    int to = 0, rc = target_type(c, &to);
    if (rc) return rc;
    if (!gcam_dt_stored(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "cast from %s (%d) not supported", gcam_dtype_name(x->dtype),
                              x->dtype);
    if (to == GCAM_DT_F16 || to == GCAM_DT_F64 || to == GCAM_DT_BF16) to = GCAM_DT_F32;
    if (!gcam_dt_stored(to))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "cast to %s (%d) not supported", gcam_dtype_name(to), to);
    y->dtype = to;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

/* the 16-bit float type a Cast rounds to (float16, bfloat16), or 0 */
static int to_half(const gcam_node *n)
{
    const gcam_attr *a = gcam_attr_find(n, "to");
    return a && a->type == GCAM_ATTR_INT && (a->i == GCAM_DT_F16 || a->i == GCAM_DT_BF16) ? (int)a->i : 0;
}

static float round_to(int half, float v) { return half == GCAM_DT_BF16 ? gcam_round_bf16(v) : half ? gcam_round_f16(v) : v; }

static int cast_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    int64_t n = gcam_numel(x);
    const int half = to_half(c->node);
    if (x->dtype == y->dtype) {
        if (y->data != x->data && n) memcpy(y->data, x->data, gcam_tensor_bytes(x));
        if (half)
            for (int64_t i = 0; i < n; i++) gcam_f32(y)[i] = round_to(half, gcam_f32(y)[i]);
    } else if (y->dtype == GCAM_DT_F32) {
        for (int64_t i = 0; i < n; i++) {
            float v = (float)gcam_get_f(x->data, x->dtype, i);
            gcam_f32(y)[i] = round_to(half, v);
        }
    } else if (x->dtype == GCAM_DT_F32 && y->dtype != GCAM_DT_BOOL) {
        for (int64_t i = 0; i < n; i++) gcam_set_i(y->data, y->dtype, i, gcam_get_i(x->data, x->dtype, i));
    } else {
        for (int64_t i = 0; i < n; i++) {
            if (y->dtype == GCAM_DT_BOOL) gcam_set_i(y->data, y->dtype, i, gcam_get_f(x->data, x->dtype, i) != 0);
            else gcam_set_i(y->data, y->dtype, i, gcam_get_i(x->data, x->dtype, i));
        }
    }
    return GCAM_OK;
}

static int cast_backward(gcam_opctx *c)
{
    /* only float -> float carries a gradient; int outputs have none.  The
     * rounding of a cast to float16 passes the gradient straight through. */
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != GCAM_DT_F32 || c->out[0]->dtype != GCAM_DT_F32)
        return GCAM_OK;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    int64_t n = gcam_numel(c->din[0]);
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
    return GCAM_OK;
}

const gcam_op gcam_op_Cast = {
    .op_type = "Cast", .since = 6, .required = 1,
    .infer = cast_infer,
    .forward = cast_forward,
    .backward = cast_backward,
};

const gcam_op gcam_op_CastLike = {
    .op_type = "CastLike", .since = 6, .required = 2,
    .infer = cast_infer,
    .forward = cast_forward,
    .backward = cast_backward,
};
