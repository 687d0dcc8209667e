/* Add: y = a + b with numpy broadcasting; F32, and I64 for shape arithmetic.
 * The gradient of each operand is dy summed over the dims it was broadcast along. */
#include "kernels/elementwise.h"

static inline float add_f(float a, float b) { return a + b; }
/* wraps on overflow instead of undefined behaviour */
static inline int64_t add_i(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

GCAM_BINARY_ROW_F32(add, add_f)
GCAM_BINARY_ROW_I64(add, add_i)

static const gcam_binary_kernels add_k = {
    .f32 = add_row_f32, .i64 = add_row_i64, .da_linear = 1.0f, .db_linear = 1.0f};

GCAM_BINARY_OP(add, 1)

const gcam_op gcam_op_Add = {
    .op_type = "Add",
    .infer = add_infer,
    .forward = add_forward,
    .backward = add_backward,
};
