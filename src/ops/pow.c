/* Pow: y = a ^ b with numpy broadcasting, any exponent.  A float32 base
 * takes an exponent of any numeric type (converted to F32 in scratch, exact
 * for |b| < 2^24); an integer base gives its own type, computed in double
 * and truncated (no gradient).
 *
 * dL/da = dy * b * a^(b-1), 0 where b == 0 (PyTorch's pow_backward_self).
 * dL/db = dy * y * log(a) for a > 0, else 0: PyTorch also zeroes a == 0 and
 * gives NaN for a < 0, where y is only real for integer b and so not
 * differentiable in b; 0 keeps NaN out of the heatmap. */
#include <math.h>

#include "kernels/dtype.h"
#include "kernels/elementwise.h"

/* x^2 (LayerNorm's variance) is by far the commonest use: skip powf */
static inline float pow_f(float a, float b) { return b == 2.0f ? a * a : powf(a, b); }

static inline float pow_da(float a, float b, float y, float dy)
{
    if (b == 0.0f) return 0.0f;
    if (b == 2.0f) return 2.0f * a * dy;
    return dy * b * powf(a, b - 1.0f);
}

static inline float pow_db(float a, float b, float y, float dy)
{
    return a > 0.0f ? dy * y * logf(a) : 0.0f;
}

GCAM_BINARY_ROW_F32(pow, pow_f)
GCAM_BINARY_ROW_GRAD(pow_da)
GCAM_BINARY_ROW_GRAD(pow_db)

static const gcam_binary_kernels pow_k = {.f32 = pow_row_f32, .da = pow_da_row, .db = pow_db_row};

/* bytes of the F32 copy of a non-F32 exponent, rounded up to a cache line */
static size_t exponent_bytes(const gcam_tensor *b)
{
    if (b->dtype == GCAM_DT_F32) return 0;
    return ((size_t)gcam_numel(b) * sizeof(float) + 63) & ~(size_t)63;
}

static int pow_infer(gcam_opctx *c)
{
    int rc = gcam_binary_shape(c);
    if (rc) return rc;
    const gcam_tensor *a = c->in[0], *b = c->in[1];
    if (a->dtype != GCAM_DT_F32 && !gcam_dt_is_int(a->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "base of dtype %s not supported", gcam_dtype_name(a->dtype));
    if (b->dtype != GCAM_DT_F32 && !gcam_dt_is_int(b->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "exponent of dtype %s not supported",
                              gcam_dtype_name(b->dtype));
    c->out[0]->dtype = a->dtype; /* an integer base gives its own type (no gradient) */
    if (a->dtype != GCAM_DT_F32) {
        c->node->scratch = c->node->bscratch = 0;
        return GCAM_OK;
    }
    c->node->scratch = exponent_bytes(b);
    c->node->bscratch = exponent_bytes(b) + gcam_binary_grad_scratch(c);
    return GCAM_OK;
}

/* The exponent as F32: its own data, or a converted copy in scratch. */
static const float *exponent_f32(gcam_opctx *c)
{
    const gcam_tensor *b = c->in[1];
    if (b->dtype == GCAM_DT_F32) return gcam_f32(b);
    float *e = c->scratch;
    int64_t n = gcam_numel(b);
    for (int64_t i = 0; i < n; i++) e[i] = (float)gcam_get_f(b->data, b->dtype, i);
    return e;
}

/* integer base: pow in double, truncated to the base's type */
static int pow_forward_int(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = c->in[1];
    gcam_tensor *y = c->out[0];
    int64_t sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
    gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++)
        gcam_set_f(y->data, y->dtype, i,
                   pow(gcam_get_f(a->data, a->dtype, gcam_boff(i, y->dims, y->ndim, sa)),
                       gcam_get_f(b->data, b->dtype, gcam_boff(i, y->dims, y->ndim, sb))));
    return GCAM_OK;
}

static int pow_forward(gcam_opctx *c)
{
    if (c->in[0]->dtype != GCAM_DT_F32) return pow_forward_int(c);
    return gcam_binary_forward(c, &pow_k, exponent_f32(c));
}

static int pow_backward(gcam_opctx *c)
{
    if (!c->dout[0] || c->in[0]->dtype != GCAM_DT_F32) return GCAM_OK;
    float *tmp = c->scratch ? (float *)((char *)c->scratch + exponent_bytes(c->in[1])) : NULL;
    return gcam_binary_backward(c, &pow_k, exponent_f32(c), tmp);
}

const gcam_op gcam_op_Pow = {
    .op_type = "Pow", .since = 6, .required = 2,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = pow_infer,
    .forward = pow_forward,
    .backward = pow_backward,
};
