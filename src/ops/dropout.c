/* Dropout at inference: y = x, and the optional mask output (bool, ONNX
 * opset >= 10) is all true.  The ratio input/attribute does not matter then.
 * A graph that asks for training_mode=true would drop at random, which a
 * saliency map must not do, so that is refused unless the ratio is a
 * constant 0 (then training mode is the identity too).  A view: see flatten.c. */
#include "gcam_internal.h"

static int dropout_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    const gcam_tensor *tm = c->node->n_in > 2 ? c->in[2] : NULL;
    if (tm) {
        if (!(tm->flags & GCAM_TF_CONST) || !tm->data || gcam_numel(tm) != 1)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic training_mode not supported");
        size_t es = gcam_dtype_size(tm->dtype);
        int on = 0;
        for (size_t b = 0; b < es; b++) on |= ((const unsigned char *)tm->data)[b] != 0;
        const gcam_tensor *ratio = c->node->n_in > 1 ? c->in[1] : NULL;
        int zero_ratio = ratio && (ratio->flags & GCAM_TF_CONST) && ratio->data && ratio->dtype == GCAM_DT_F32 &&
                         gcam_numel(ratio) == 1 && gcam_f32(ratio)[0] == 0.0f;
        if (on && !zero_ratio)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "training_mode=true not supported (inference only)");
    }
    y->dtype = x->dtype;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    if (c->node->n_out > 1 && c->out[1]) {
        gcam_tensor *mask = c->out[1];
        mask->dtype = GCAM_DT_BOOL;
        mask->ndim = x->ndim;
        memcpy(mask->dims, x->dims, sizeof x->dims);
    }
    return GCAM_OK;
}

static int dropout_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    size_t bytes = gcam_tensor_bytes(x);
    if (y->data != x->data && bytes) memcpy(y->data, x->data, bytes);
    if (c->node->n_out > 1 && c->out[1]) {
        size_t n = (size_t)gcam_numel(c->out[1]);
        if (n) memset(c->out[1]->data, 1, n); /* bool true is byte 1 */
    }
    return GCAM_OK;
}

static int dropout_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    /* an engine that aliases the view also aliases its gradient: nothing to add */
    if (c->din[0]->data == c->dout[0]->data) return GCAM_OK;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    int64_t n = gcam_numel(c->din[0]);
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
    return GCAM_OK;
}

const gcam_op gcam_op_Dropout = {
    .op_type = "Dropout", .since = 6, .required = 1,
    .flags = GCAM_OPF_VIEW,
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
