/* ConstantOfShape: a tensor of the shape given by a constant int64 input,
 * filled with the one-element `value` attribute (default float32 0). */
#include "kernels/dtype.h"

static int cos_infer(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    int64_t d[GCAM_MAX_DIMS];
    int nd = gcam_const_ints(c, c->in[0], "shape", d, GCAM_MAX_DIMS);
    if (nd < 0) return nd;
    for (int i = 0; i < nd; i++)
        if (d[i] < 0) return gcam_node_errf(c, GCAM_E_SHAPE, "negative dim %lld", (long long)d[i]);
    const gcam_attr *a = gcam_attr_find(c->node, "value");
    if (a && (a->type != GCAM_ATTR_TENSOR || !a->t || gcam_numel(a->t) != 1))
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "'value' must be a one-element tensor");
    y->dtype = a ? a->t->dtype : GCAM_DT_F32;
    if (!gcam_dt_stored(y->dtype)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "value of dtype %s not supported", gcam_dtype_name(y->dtype));
    y->ndim = nd;
    memcpy(y->dims, d, sizeof(int64_t) * (size_t)nd);
    return GCAM_OK;
}

static int cos_forward(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    const gcam_attr *a = gcam_attr_find(c->node, "value");
    const size_t es = gcam_dtype_size(y->dtype);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) {
        if (a) memcpy((char *)y->data + (size_t)i * es, a->t->data, es);
        else gcam_f32(y)[i] = 0.0f;
    }
    return GCAM_OK;
}

const gcam_op gcam_op_ConstantOfShape = {
    .op_type = "ConstantOfShape", .since = 6, .required = 1,
    .infer = cos_infer,
    .forward = cos_forward,
};
