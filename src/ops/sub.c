/* Sub: y = a - b with numpy broadcasting; F32, and I64 for shape arithmetic. */
#include "kernels/elementwise.h"

static inline float sub_f(float a, float b) { return a - b; }
/* wraps on overflow instead of undefined behaviour */
static inline int64_t sub_i(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }

GCAM_BINARY_ROW_F32(sub, sub_f)
GCAM_BINARY_ROW_I64(sub, sub_i)

static const gcam_binary_kernels sub_k = {
    .f32 = sub_row_f32, .i64 = sub_row_i64, .si = sub_i, .da_linear = 1.0f, .db_linear = -1.0f};

GCAM_BINARY_OP(sub, 1)

const gcam_op gcam_op_Sub = {
    .op_type = "Sub", .since = 6, .required = 2,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = sub_infer,
    .forward = sub_forward,
    .backward = sub_backward,
};
