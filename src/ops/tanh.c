/* Tanh: y = tanh(x); dy/dx = 1 - y^2. */
#include <math.h>

#include "kernels/elementwise.h"

static inline float tanh_f(float x, const gcam_ew_params *p) { return tanhf(x); }

static inline float tanh_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    return dy * (1.0f - y * y);
}

GCAM_UNARY_OP(tanh, tanh_f, tanh_grad)

const gcam_op gcam_op_Tanh = {
    .op_type = "Tanh", .since = 1, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = gcam_unary_infer,
    .forward = tanh_forward,
    .backward = tanh_backward,
};
