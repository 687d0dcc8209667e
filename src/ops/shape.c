/* Shape: y = the input's dims as a 1-D int64 tensor, optionally only
 * dims[start:end] (opset 15; negative values count from the end and both
 * are clamped to [0, rank]).  Reads no data, so it always folds. */
#include "gcam_internal.h"

static void range(const gcam_node *n, int r, int64_t *start, int64_t *end)
{
    int64_t s = gcam_attr_int(n, "start", 0), e = gcam_attr_int(n, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    *start = s;
    *end = e > s ? e : s;
}

static int shape_infer(gcam_opctx *c)
{
    int64_t s, e;
    range(c->node, c->in[0]->ndim, &s, &e);
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_I64;
    y->ndim = 1;
    y->dims[0] = e - s;
    return GCAM_OK;
}

static int shape_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    int64_t s, e;
    range(c->node, x->ndim, &s, &e);
    int64_t *y = gcam_i64(c->out[0]);
    for (int64_t d = s; d < e; d++) y[d - s] = x->dims[d];
    return GCAM_OK;
}

const gcam_op gcam_op_Shape = {
    .op_type = "Shape", .since = 1, .required = 1,
    .flags = GCAM_OPF_SHAPE_ONLY,
    .infer = shape_infer,
    .forward = shape_forward,
};
