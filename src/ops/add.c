/* Add: y = a + b with numpy broadcasting; F32, and I64 for shape arithmetic.
 * The gradient of each operand is dy summed over the dims it was broadcast along. */
#include "kernels/elementwise.h"

static inline float add_f(float a, float b) { return a + b; }
/* wraps on overflow instead of undefined behaviour */
static inline int64_t add_i(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

GCAM_BINARY_ROW_F32(add, add_f)
GCAM_BINARY_ROW_I64(add, add_i)

static const gcam_binary_kernels add_k = {
    .f32 = add_row_f32, .i64 = add_row_i64, .si = add_i, .da_linear = 1.0f, .db_linear = 1.0f};

static int add_infer(gcam_opctx *c) { return gcam_binary_infer(c, 1); }

/* relu(a + b) over n elements: ResNet's residual join in one pass.  Cloned
 * per instruction set (picked at load), written as a select so it vectorises. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
add_relu_block(const float *a, const float *b, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float v = a[i] + b[i];
        y[i] = v < 0.0f ? 0.0f : v; /* Relu's rule: NaN passes */
    }
}

static int add_forward(gcam_opctx *c)
{
    const gcam_fusion *f = &c->node->fuse;
    gcam_tensor *a = c->in[0], *b = c->in[1], *y = c->out[0];
    if (!f->on) return gcam_binary_forward(c, &add_k, NULL);
    /* The planner fused a following Relu (the output is its tensor). */
    if (f->act != GCAM_ACT_RELU || f->bn_scale || y->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_INTERNAL, "unsupported fused epilogue");
    const int64_t n = gcam_numel(y);
    int same = a->ndim == y->ndim && b->ndim == y->ndim;
    for (int d = 0; same && d < y->ndim; d++) same = a->dims[d] == y->dims[d] && b->dims[d] == y->dims[d];
    if (!same) { /* broadcasting: the general kernel, then Relu in place */
        int rc = gcam_binary_forward(c, &add_k, NULL);
        float *v = gcam_f32(y);
        for (int64_t i = 0; i < n && !rc; i++) v[i] = v[i] < 0.0f ? 0.0f : v[i];
        return rc;
    }
    const float *pa = gcam_f32(a), *pb = gcam_f32(b);
    float *py = gcam_f32(y);
    const int nt = gcam_ew_threads(c);
    const int64_t block = 16384, nblk = (n + block - 1) / block;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nblk > 1)
    for (int64_t k = 0; k < nblk; k++) {
        const int64_t i0 = k * block, len = i0 + block <= n ? block : n - i0;
        add_relu_block(pa + i0, pb + i0, py + i0, len);
    }
    return GCAM_OK;
}

static int add_backward(gcam_opctx *c) { return gcam_binary_backward(c, &add_k, NULL, NULL); }

const gcam_op gcam_op_Add = {
    .op_type = "Add", .since = 6, .required = 2,
    .flags = GCAM_OPF_EPILOGUE | GCAM_OPF_ELEMENTWISE, /* a following Relu */
    .infer = add_infer,
    .forward = add_forward,
    .backward = add_backward,
};
