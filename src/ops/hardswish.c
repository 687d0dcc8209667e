/* HardSwish: y = x * max(0, min(1, x / 6 + 1/2)).  Not ReLU-like for guided
 * backprop (common.md): the guided flag is ignored. */
#include "kernels/elementwise.h"

static inline float hardswish_f(float x, const gcam_ew_params *p)
{
    float v = x * (1.0f / 6.0f) + 0.5f;
    return x * (v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v);
}

/* PyTorch's hardswish_backward: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above */
static inline float hardswish_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    /* computed unconditionally, then selected, so the loop vectorises */
    const float mid = dy * (x * (1.0f / 3.0f) + 0.5f);
    return x < -3.0f ? 0.0f : x <= 3.0f ? mid : dy;
}

GCAM_UNARY_OP(hardswish, hardswish_f, hardswish_grad)

const gcam_op gcam_op_HardSwish = {
    .op_type = "HardSwish", .since = 6, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = gcam_unary_infer,
    .forward = hardswish_forward,
    .backward = hardswish_backward,
};
