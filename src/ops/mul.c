/* Mul: y = a * b with numpy broadcasting; F32, and I64 for shape arithmetic.
 * dL/da = dy * b, dL/db = dy * a, each summed over its broadcast dims. */
#include "kernels/elementwise.h"

static inline float mul_f(float a, float b) { return a * b; }
/* wraps on overflow instead of undefined behaviour */
static inline int64_t mul_i(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static inline float mul_da(float a, float b, float y, float dy) { return dy * b; }
static inline float mul_db(float a, float b, float y, float dy) { return dy * a; }

GCAM_BINARY_ROW_F32(mul, mul_f)
GCAM_BINARY_ROW_I64(mul, mul_i)
GCAM_BINARY_ROW_GRAD(mul_da)
GCAM_BINARY_ROW_GRAD(mul_db)

static const gcam_binary_kernels mul_k = {
    .f32 = mul_row_f32, .i64 = mul_row_i64, .si = mul_i, .da = mul_da_row, .db = mul_db_row};

GCAM_BINARY_OP(mul, 1)

const gcam_op gcam_op_Mul = {
    .op_type = "Mul", .since = 6, .required = 2,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = mul_infer,
    .forward = mul_forward,
    .backward = mul_backward,
};
