/* PRelu: y = x < 0 ? slope * x : x, slope broadcast unidirectionally to x
 * (typically [C,1,1] against [N,C,H,W]).  dL/dx = x > 0 ? dy : slope * dy
 * (PyTorch's convention at 0); a non-constant slope gets sum(dy * x) over
 * x < 0 and its broadcast dims. */
#include "kernels/elementwise.h"

static inline float prelu_f(float x, float s) { return x < 0.0f ? s * x : x; }
static inline float prelu_dx(float x, float s, float y, float dy) { return x > 0.0f ? dy : s * dy; }
static inline float prelu_ds(float x, float s, float y, float dy) { return x < 0.0f ? x * dy : 0.0f; }

GCAM_BINARY_ROW_F32(prelu, prelu_f)
GCAM_BINARY_ROW_GRAD(prelu_dx)
GCAM_BINARY_ROW_GRAD(prelu_ds)

static const gcam_binary_kernels prelu_k = {.f32 = prelu_row_f32, .da = prelu_dx_row, .db = prelu_ds_row};

static int prelu_infer(gcam_opctx *c)
{
    /* Before opset 7 a 1-D slope of C values is per channel (axis 1), not
     * broadcast from the right: give the constant its [C,1,...] shape */
    gcam_tensor *sl = c->in[1];
    if (c->node->opset && c->node->opset < 7 && sl->ndim == 1 && (sl->flags & GCAM_TF_CONST) &&
        c->in[0]->ndim > 2 && sl->dims[0] == c->in[0]->dims[1] && sl->dims[0] > 1) {
        sl->ndim = c->in[0]->ndim - 1;
        for (int d = 1; d < sl->ndim; d++) sl->dims[d] = 1;
    }
    int rc = gcam_binary_infer(c, 0);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0], *s = c->in[1], *y = c->out[0];
    int same = y->ndim == x->ndim;
    for (int i = 0; same && i < x->ndim; i++) same = y->dims[i] == x->dims[i];
    if (!same) {
        char sx[128], ss[128];
        return gcam_node_errf(c, GCAM_E_SHAPE, "slope %s does not broadcast to input %s",
                              gcam_ew_dims_str(s->dims, s->ndim, ss, sizeof ss),
                              gcam_ew_dims_str(x->dims, x->ndim, sx, sizeof sx));
    }
    return GCAM_OK;
}

GCAM_BINARY_OP_FWD_BWD(prelu)

const gcam_op gcam_op_PRelu = {
    .op_type = "PRelu", .since = 6, .required = 2,
    .infer = prelu_infer,
    .forward = prelu_forward,
    .backward = prelu_backward,
};
