/* Size: the input's element count as an int64 scalar.  Reads no data, so it
 * always folds. */
#include "gcam_internal.h"

static int size_infer(gcam_opctx *c)
{
    c->out[0]->dtype = GCAM_DT_I64;
    c->out[0]->ndim = 0;
    return GCAM_OK;
}

static int size_forward(gcam_opctx *c)
{
    gcam_i64(c->out[0])[0] = gcam_numel(c->in[0]);
    return GCAM_OK;
}

const gcam_op gcam_op_Size = {
    .op_type = "Size", .since = 1, .required = 1,
    .flags = GCAM_OPF_SHAPE_ONLY,
    .infer = size_infer,
    .forward = size_forward,
};
