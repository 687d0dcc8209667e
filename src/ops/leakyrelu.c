/* LeakyRelu: y = x >= 0 ? x : alpha * x (alpha default 0.01).  Not ReLU-like
 * for guided backprop: its negative side carries gradient. */
#include "kernels/elementwise.h"

static int leakyrelu_init(gcam_node *n, gcam_err *e)
{
    gcam_ew_params *p = gcam_ew_params_new(n, e);
    if (!p) return GCAM_E_NOMEM;
    p->alpha = gcam_attr_float(n, "alpha", 0.01f);
    return GCAM_OK;
}

static inline float leakyrelu_f(float x, const gcam_ew_params *p)
{
    /* both sides computed, then selected: GCC only if-converts (vectorises)
     * a select whose arms cannot raise FP exceptions */
    const float ax = p->alpha * x;
    return x < 0.0f ? ax : x;
}

/* slope at 0 is alpha, matching PyTorch's leaky_relu_backward (x > 0) */
static inline float leakyrelu_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    const float ady = p->alpha * dy;
    return x > 0.0f ? dy : ady;
}

GCAM_UNARY_OP(leakyrelu, leakyrelu_f, leakyrelu_grad)

const gcam_op gcam_op_LeakyRelu = {
    .op_type = "LeakyRelu", .since = 1, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .init = leakyrelu_init,
    .infer = gcam_unary_infer,
    .forward = leakyrelu_forward,
    .backward = leakyrelu_backward,
};
