/* Relu: y = max(0, x).  Backward passes dy where x > 0 (0 at the kink, as
 * PyTorch does); guided backprop (c->guided) also drops negative dy. */
#include "kernels/elementwise.h"

/* x < 0 rather than fmaxf so NaN propagates as in PyTorch */
static inline float relu_f(float x, const gcam_ew_params *p) { return x < 0.0f ? 0.0f : x; }

/* written as selects, no short-circuit, so the loop vectorises */
static inline float relu_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    float g = p->guided ? (dy > 0.0f ? dy : 0.0f) : dy;
    return x > 0.0f ? g : 0.0f;
}

GCAM_UNARY_OP(relu, relu_f, relu_grad)

const gcam_op gcam_op_Relu = {
    .op_type = "Relu", .since = 1, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = gcam_unary_infer,
    .forward = relu_forward,
    .backward = relu_backward,
};
