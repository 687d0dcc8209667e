/* Sqrt: y = sqrt(x) (NaN for x < 0, as ONNX); dy/dx = 1 / (2 y), inf at 0. */
#include <math.h>

#include "kernels/elementwise.h"

static inline float sqrt_f(float x, const gcam_ew_params *p) { return sqrtf(x); }

static inline float sqrt_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    return dy * 0.5f / y;
}

GCAM_UNARY_OP(sqrt, sqrt_f, sqrt_grad)

const gcam_op gcam_op_Sqrt = {
    .op_type = "Sqrt", .since = 1, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = gcam_unary_infer,
    .forward = sqrt_forward,
    .backward = sqrt_backward,
};
