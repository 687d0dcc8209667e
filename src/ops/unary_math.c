/* Elementwise math and activations, one table row each: the forward f(x),
 * the gradient contribution g(x, y, dy) and the attribute defaults.
 * float32; Neg, Abs and Sign also take any integer type (no gradient
 * there).  Floor, Ceil, Round and Sign are piecewise constant: their
 * gradient is zero (passes nothing), as in PyTorch.  Round is half to even.
 * Gelu: approximate="none" 0.5x(1 + erf(x/sqrt 2)), "tanh" the tanh form. */
#include <math.h>

#include "kernels/dtype.h"
#include "kernels/elementwise.h"

static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float softplus(float x) { return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)); }
static inline float gelu_tanh_u(float x) { return 0.7978845608028654f * (x + 0.044715f * x * x * x); }
static inline float gelu_val(float x, const gcam_ew_params *p)
{
    return p->beta != 0 ? 0.5f * x * (1.0f + tanhf(gelu_tanh_u(x))) : 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
}
static inline float gelu_grad(float x, float dy, const gcam_ew_params *p)
{
    if (p->beta != 0) {
        float t = tanhf(gelu_tanh_u(x));
        float du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
        return dy * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
    }
    return dy * (0.5f * (1.0f + erff(x * 0.7071067811865476f)) + x * 0.3989422804014327f * expf(-0.5f * x * x));
}
static inline float mish_grad(float x, float dy)
{
    float t = tanhf(softplus(x));
    return dy * (t + x * (1.0f - t * t) * sigm(x));
}

/* X(Name, lower, f(x, p), g(x, y, dy, p), alpha default, beta default, lo default, ints ok, since opset)
 * p->alpha, p->beta, p->lo hold alpha, beta/bias/approximate, gamma/lambd. */
#define UNARY_MATH(X)                                                                                      \
    X(Neg, neg, -x, -dy, 0, 0, 0, 1, 1)                                                                       \
    X(Abs, abs, fabsf(x), x > 0 ? dy : x < 0 ? -dy : 0.0f, 0, 0, 0, 1, 1)                                     \
    X(Sign, sign, (float)((x > 0) - (x < 0)), 0.0f, 0, 0, 0, 1, 6)                                            \
    X(Exp, exp, expf(x), y * dy, 0, 0, 0, 0, 1)                                                               \
    X(Log, log, logf(x), dy / x, 0, 0, 0, 0, 1)                                                               \
    X(Reciprocal, reciprocal, 1.0f / x, -dy * y * y, 0, 0, 0, 0, 1)                                           \
    X(Floor, floor, floorf(x), 0.0f, 0, 0, 0, 0, 1)                                                           \
    X(Ceil, ceil, ceilf(x), 0.0f, 0, 0, 0, 0, 1)                                                              \
    X(Round, round, nearbyintf(x), 0.0f, 0, 0, 0, 0, 6)                                                       \
    X(Softplus, softplus, softplus(x), dy * sigm(x), 0, 0, 0, 0, 1)                                           \
    X(Softsign, softsign, x / (1.0f + fabsf(x)), dy / ((1.0f + fabsf(x)) * (1.0f + fabsf(x))), 0, 0, 0, 0, 1) \
    X(Elu, elu, x > 0 ? x : p->alpha * expm1f(x), x > 0 ? dy : dy * p->alpha * expf(x), 1.0f, 0, 0, 0, 1)    \
    X(Selu, selu, p->lo * (x > 0 ? x : p->alpha * expm1f(x)),                                              \
      p->lo * (x > 0 ? dy : dy * p->alpha * expf(x)), 1.67326319217681884765625f, 0,                       \
      1.05070102214813232421875f, 0, 1)                                                                       \
    X(Celu, celu, x > 0 ? x : p->alpha * expm1f(x / p->alpha), x > 0 ? dy : dy * expf(x / p->alpha), 1.0f, 0, 0, 0, 6) \
    X(ThresholdedRelu, thresholdedrelu, x > p->alpha ? x : 0.0f, x > p->alpha ? dy : 0.0f, 1.0f, 0, 0, 0, 1)  \
    X(Mish, mish, x * tanhf(softplus(x)), mish_grad(x, dy), 0, 0, 0, 0, 6)                                       \
    X(Gelu, gelu, gelu_val(x, p), gelu_grad(x, dy, p), 0, 0, 0, 0, 6)                                              \
    X(Shrink, shrink, x < -p->lo ? x + p->beta : x > p->lo ? x - p->beta : 0.0f,                           \
      (x < -p->lo || x > p->lo) ? dy : 0.0f, 0, 0, 0.5f, 0, 6)                                                \
    X(Sin, sin, sinf(x), dy * cosf(x), 0, 0, 0, 0, 1)                                                         \
    X(Cos, cos, cosf(x), -dy * sinf(x), 0, 0, 0, 0, 1)                                                        \
    X(Tan, tan, tanf(x), dy * (1.0f + y * y), 0, 0, 0, 0, 1)                                                  \
    X(Asin, asin, asinf(x), dy / sqrtf(1.0f - x * x), 0, 0, 0, 0, 1)                                          \
    X(Acos, acos, acosf(x), -dy / sqrtf(1.0f - x * x), 0, 0, 0, 0, 1)                                         \
    X(Atan, atan, atanf(x), dy / (1.0f + x * x), 0, 0, 0, 0, 1)                                               \
    X(Sinh, sinh, sinhf(x), dy * coshf(x), 0, 0, 0, 0, 6)                                                     \
    X(Cosh, cosh, coshf(x), dy * sinhf(x), 0, 0, 0, 0, 6)                                                     \
    X(Asinh, asinh, asinhf(x), dy / sqrtf(x * x + 1.0f), 0, 0, 0, 0, 6)                                       \
    X(Acosh, acosh, acoshf(x), dy / sqrtf(x * x - 1.0f), 0, 0, 0, 0, 6)                                       \
    X(Atanh, atanh, atanhf(x), dy / (1.0f - x * x), 0, 0, 0, 0, 6)

static int math_init(gcam_node *n, gcam_err *e, float alpha, float beta, float lo)
{
    gcam_ew_params *p = gcam_ew_params_new(n, e);
    if (!p) return GCAM_E_NOMEM;
    p->alpha = gcam_attr_float(n, "alpha", alpha);
    p->beta = gcam_attr_float(n, "bias", beta);
    p->lo = gcam_attr_float(n, !strcmp(n->op_type, "Selu") ? "gamma" : "lambd", lo);
    if (!strcmp(n->op_type, "Gelu")) {
        const char *ap = gcam_attr_str(n, "approximate", "none");
        if (strcmp(ap, "none") && strcmp(ap, "tanh"))
            return gcam_errf(e, GCAM_E_UNSUPPORTED, "node '%s' (Gelu): approximate '%s' not supported", n->name, ap);
        p->beta = !strcmp(ap, "tanh");
    }
    return GCAM_OK;
}

/* Neg, Abs, Sign of an integer tensor */
static int int_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (!x || !gcam_dt_is_int(x->dtype)) return gcam_unary_infer(c);
    c->out[0]->dtype = x->dtype;
    c->out[0]->ndim = x->ndim;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

static void int_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    const char op = c->node->op_type[1]; /* N'e'g, A'b's, S'i'gn */
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        int64_t v = gcam_get_i(x->data, x->dtype, i);
        v = op == 'e' ? (int64_t)(0 - (uint64_t)v) : op == 'b' ? (v < 0 ? (int64_t)(0 - (uint64_t)v) : v) : (v > 0) - (v < 0);
        gcam_set_i(c->out[0]->data, x->dtype, i, v);
    }
}

#define MATH_KERNELS(Name, lower, F, G, A, B, L, INTS, SINCE)                                              \
    static inline float lower##_f(float x, const gcam_ew_params *p) { (void)p; return F; }             \
    static inline float lower##_g(float x, float y, float dy, const gcam_ew_params *p)                 \
    {                                                                                                  \
        (void)x; (void)y; (void)p;                                                                     \
        return G;                                                                                      \
    }                                                                                                  \
    GCAM_UNARY_OP(lower, lower##_f, lower##_g)                                                         \
    static int lower##_init(gcam_node *n, gcam_err *e) { return math_init(n, e, A, B, L); }           \
    static int lower##_fwd(gcam_opctx *c)                                                              \
    {                                                                                                  \
        if (INTS && c->in[0]->dtype != GCAM_DT_F32) {                                                  \
            int_forward(c);                                                                            \
            return GCAM_OK;                                                                            \
        }                                                                                              \
        return lower##_forward(c);                                                                     \
    }                                                                                                  \
    static int lower##_bwd(gcam_opctx *c)                                                              \
    {                                                                                                  \
        return c->in[0]->dtype == GCAM_DT_F32 ? lower##_backward(c) : GCAM_OK;                         \
    }                                                                                                  \
    const gcam_op gcam_op_##Name = {.op_type = #Name, .since = SINCE, .required = 1,                   \
                                    .flags = GCAM_OPF_ELEMENTWISE, .init = lower##_init,                 \
                                    .infer = INTS ? int_infer : gcam_unary_infer, .forward = lower##_fwd, \
                                    .backward = lower##_bwd};
UNARY_MATH(MATH_KERNELS)
