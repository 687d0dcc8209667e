/* NonZero: the int64 [rank, count] coordinates of the nonzero elements, in
 * row-major order.  Its output shape depends on the values, so the input
 * must be constant (it then folds at plan time, as in shape subgraphs). */
#include "kernels/dtype.h"

static int nz_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (!(x->flags & GCAM_TF_CONST) || !x->data)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "NonZero of a non-constant tensor not supported (its shape depends on the values)");
    int64_t n = 0;
    for (int64_t i = 0, m = gcam_numel(x); i < m; i++) n += gcam_get_f(x->data, x->dtype, i) != 0;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_I64;
    y->ndim = 2;
    y->dims[0] = x->ndim;
    y->dims[1] = n;
    return GCAM_OK;
}

static int nz_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    const int64_t n = c->out[0]->dims[1];
    int64_t *y = gcam_i64(c->out[0]), k = 0;
    for (int64_t i = 0, m = gcam_numel(x); i < m; i++) {
        if (gcam_get_f(x->data, x->dtype, i) == 0) continue;
        int64_t r = i;
        for (int d = x->ndim - 1; d >= 0; d--) {
            y[d * n + k] = r % x->dims[d];
            r /= x->dims[d];
        }
        k++;
    }
    return GCAM_OK;
}

const gcam_op gcam_op_NonZero = {.op_type = "NonZero", .since = 6, .required = 1, .infer = nz_infer, .forward = nz_forward};
