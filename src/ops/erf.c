/* Erf: y = erf(x) (exact GELU decomposes into it); dy/dx = 2/sqrt(pi) exp(-x^2). */
#include <math.h>

#include "kernels/elementwise.h"

static inline float erf_f(float x, const gcam_ew_params *p) { return erff(x); }

static inline float erf_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    const float two_over_sqrt_pi = 1.12837916709551257f;
    return dy * two_over_sqrt_pi * expf(-x * x);
}

GCAM_UNARY_OP(erf, erf_f, erf_grad)

const gcam_op gcam_op_Erf = {
    .op_type = "Erf",
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = gcam_unary_infer,
    .forward = erf_forward,
    .backward = erf_backward,
};
