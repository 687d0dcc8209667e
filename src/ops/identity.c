/* Identity: y = x.  Also the model for a new op file:
 *   - attributes are parsed in init (none here),
 *   - infer sets output dtype/dims (and scratch sizes),
 *   - forward computes, never allocates,
 *   - backward accumulates into din (+=), only where din[i] != NULL. */
#include "gcam_internal.h"

static int identity_infer(gcam_opctx *c)
{
    gcam_tensor *x = c->in[0], *y = c->out[0];
    y->dtype = x->dtype;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

/* Shared by every view op (Identity, Reshape, Flatten, Squeeze, Unsqueeze):
 * the data does not change, only the shape. */
int gcam_view_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    size_t bytes = gcam_tensor_bytes(x);
    if (y->data != x->data && bytes) memcpy(y->data, x->data, bytes);
    return GCAM_OK;
}

int gcam_view_backward(gcam_opctx *c)
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

const gcam_op gcam_op_Identity = {
    .op_type = "Identity", .since = 1, .required = 1,
    .flags = GCAM_OPF_VIEW, /* the planner gives y x's memory; forward then copies nothing */
    .infer = identity_infer,
    .forward = gcam_view_forward,
    .backward = gcam_view_backward,
};
