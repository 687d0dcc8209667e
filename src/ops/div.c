/* Div: y = a / b with numpy broadcasting.  F32 follows IEEE (x/0 = inf);
 * I64 (shape arithmetic) truncates toward zero, and division by zero or
 * INT64_MIN / -1 is an error rather than undefined behaviour.
 * dL/da = dy / b, dL/db = -dy * a / b^2 = -dy * y / b. */
#include "kernels/elementwise.h"
#include "kernels/dtype.h"
#include "kernels/vmath.h"

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

/* torch.onnx's GELU fused into the Div by the planner (plan.c, plan_gelu):
 * (x * (erf(x / c) + 1)) * h, the float operations of the five nodes in
 * their order, with the Erf node's own erf (gcam_gelu_f32), so the result
 * is the unfused one bit for bit. */
static int gelu_forward(gcam_opctx *c)
{
    const gcam_fusion *f = &c->node->fuse;
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0]; /* the last Mul's output */
    const int64_t n = gcam_numel(y);
    if (f->act != GCAM_ACT_GELU || x->dtype != GCAM_DT_F32 || y->dtype != GCAM_DT_F32 || gcam_numel(x) != n)
        return gcam_node_errf(c, GCAM_E_INTERNAL, "unsupported fused epilogue");
    const float *px = gcam_f32(x);
    float *py = gcam_f32(y);
    const int nt = gcam_ew_threads(c);
    const int64_t block = 16384, nblk = (n + block - 1) / block;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nblk > 1)
    for (int64_t k = 0; k < nblk; k++) {
        const int64_t i0 = k * block;
        gcam_gelu_f32(px + i0, py + i0, i0 + block <= n ? block : n - i0, f->act_lo, f->act_hi);
    }
    return GCAM_OK;
}

static int div_forward(gcam_opctx *c)
{
    if (c->node->fuse.on) return gelu_forward(c);
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
