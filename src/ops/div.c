/* Div: y = a / b with numpy broadcasting.  F32 follows IEEE (x/0 = inf);
 * I64 (shape arithmetic) truncates toward zero, and division by zero or
 * INT64_MIN / -1 is an error rather than undefined behaviour.
 * dL/da = dy / b, dL/db = -dy * a / b^2 = -dy * y / b. */
#include "kernels/elementwise.h"
#include "kernels/dtype.h"

static inline float div_f(float a, float b) { return a / b; }
static inline int64_t div_i(int64_t a, int64_t b) { return a / b; }
static inline float div_da(float a, float b, float y, float dy) { return dy / b; }
static inline float div_db(float a, float b, float y, float dy) { return -dy * y / b; }

GCAM_BINARY_ROW_F32(div, div_f)
GCAM_BINARY_ROW_I64(div, div_i)
GCAM_BINARY_ROW_GRAD(div_da)
GCAM_BINARY_ROW_GRAD(div_db)

static const gcam_binary_kernels div_k = {
    .f32 = div_row_f32, .i64 = div_row_i64, .si = div_i, .da = div_da_row, .db = div_db_row};

static int div_infer(gcam_opctx *c) { return gcam_binary_infer(c, 1); }

static int div_forward(gcam_opctx *c)
{
    if (c->out[0]->dtype != GCAM_DT_F32 && c->out[0]->dtype != GCAM_DT_I64) {
        const gcam_tensor *b = c->in[1];
        for (int64_t i = 0, nb = gcam_numel(b); i < nb; i++)
            if (!gcam_get_i(b->data, b->dtype, i)) return gcam_node_errf(c, GCAM_E_RANGE, "integer division by zero");
    } else if (c->out[0]->dtype == GCAM_DT_I64) {
        const gcam_tensor *a = c->in[0], *b = c->in[1];
        const int64_t *pb = gcam_i64(b), nb = gcam_numel(b);
        int a_has_min = 0;
        for (int64_t i = 0, na = gcam_numel(a); i < na; i++) a_has_min |= gcam_i64(a)[i] == INT64_MIN;
        for (int64_t i = 0; i < nb; i++) {
            if (pb[i] == 0) return gcam_node_errf(c, GCAM_E_RANGE, "integer division by zero");
            /* conservative: any INT64_MIN dividend with any -1 divisor */
            if (pb[i] == -1 && a_has_min)
                return gcam_node_errf(c, GCAM_E_RANGE, "integer division overflow");
        }
    }
    return gcam_binary_forward(c, &div_k, NULL);
}

static int div_backward(gcam_opctx *c) { return gcam_binary_backward(c, &div_k, NULL, NULL); }

const gcam_op gcam_op_Div = {
    .op_type = "Div", .since = 6, .required = 2,
    .flags = GCAM_OPF_ELEMENTWISE,
    .infer = div_infer,
    .forward = div_forward,
    .backward = div_backward,
};
