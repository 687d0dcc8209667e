/* Erf: y = erf(x) (exact GELU decomposes into it); dy/dx = 2/sqrt(pi) exp(-x^2).
 * Forward runs gcam_erf_f32 (kernels/vmath.h), 8 lanes wide with AVX2 + FMA;
 * the backward keeps libm. */
#include <math.h>

#include "kernels/elementwise.h"
#include "kernels/vmath.h"

static inline float erf_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    const float two_over_sqrt_pi = 1.12837916709551257f;
    return dy * two_over_sqrt_pi * expf(-x * x);
}

static void erf_fwd_rows(int64_t n, const float *x, float *y, const gcam_ew_params *p) { gcam_erf_f32(x, y, n); }

static void erf_bwd_rows(int64_t n, const float *x, const float *y, const float *dy, float *dx,
                         const gcam_ew_params *p)
{
    for (int64_t i = 0; i < n; i++) dx[i] += erf_grad(x[i], y[i], dy[i], p);
}

static int erf_forward(gcam_opctx *c) { return gcam_unary_forward(c, erf_fwd_rows, c->node->params); }
static int erf_backward(gcam_opctx *c) { return gcam_unary_backward(c, erf_bwd_rows, c->node->params); }

const gcam_op gcam_op_Erf = {
    .op_type = "Erf", .since = 6, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = gcam_unary_infer,
    .forward = erf_forward,
    .backward = erf_backward,
};
