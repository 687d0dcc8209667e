/* Sigmoid: y = 1 / (1 + exp(-x)); dy/dx = y (1 - y). */
#include <math.h>

#include "kernels/elementwise.h"

/* expf(-x) overflows to inf for very negative x, giving the correct 0 */
static inline float sigmoid_f(float x, const gcam_ew_params *p) { return 1.0f / (1.0f + expf(-x)); }

static inline float sigmoid_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    return dy * y * (1.0f - y);
}

GCAM_UNARY_OP(sigmoid, sigmoid_f, sigmoid_grad)

const gcam_op gcam_op_Sigmoid = {
    .op_type = "Sigmoid", .since = 1, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = gcam_unary_infer,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
};
