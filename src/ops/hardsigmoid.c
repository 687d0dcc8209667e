/* HardSigmoid: y = max(0, min(1, alpha * x + beta)), alpha 0.2 and beta 0.5
 * by default (PyTorch's nn.Hardsigmoid exports alpha = 1/6). */
#include "kernels/elementwise.h"

static int hardsigmoid_init(gcam_node *n, gcam_err *e)
{
    gcam_ew_params *p = gcam_ew_params_new(n, e);
    if (!p) return GCAM_E_NOMEM;
    p->alpha = gcam_attr_float(n, "alpha", 0.2f);
    p->beta = gcam_attr_float(n, "beta", 0.5f);
    return GCAM_OK;
}

static inline float hardsigmoid_f(float x, const gcam_ew_params *p)
{
    float v = p->alpha * x + p->beta;
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* gradient only strictly inside the linear part, as PyTorch (-3 < x < 3) */
static inline float hardsigmoid_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    /* computed unconditionally, then selected, so the loop vectorises */
    const float v = p->alpha * x + p->beta, g = p->alpha * dy;
    return v > 0.0f && v < 1.0f ? g : 0.0f;
}

GCAM_UNARY_OP(hardsigmoid, hardsigmoid_f, hardsigmoid_grad)

const gcam_op gcam_op_HardSigmoid = {
    .op_type = "HardSigmoid", .since = 1, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .init = hardsigmoid_init,
    .infer = gcam_unary_infer,
    .forward = hardsigmoid_forward,
    .backward = hardsigmoid_backward,
};
