/* IsNaN and IsInf (detect_positive / detect_negative, default both): bool
 * masks of a float32 tensor. */
#include <math.h>

#include "kernels/dtype.h"

static int is_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    c->out[0]->dtype = GCAM_DT_BOOL;
    c->out[0]->ndim = x->ndim;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

static int is_forward(gcam_opctx *c)
{
    const float *x = gcam_f32(c->in[0]);
    uint8_t *y = c->out[0]->data;
    const int nan = c->node->op_type[2] == 'N';
    const int pos = gcam_attr_int(c->node, "detect_positive", 1) != 0, neg = gcam_attr_int(c->node, "detect_negative", 1) != 0;
    for (int64_t i = 0, n = gcam_numel(c->in[0]); i < n; i++)
        y[i] = (uint8_t)(nan ? isnan(x[i]) : isinf(x[i]) && ((x[i] > 0 && pos) || (x[i] < 0 && neg)));
    return GCAM_OK;
}

const gcam_op gcam_op_IsNaN = {.op_type = "IsNaN", .since = 6, .required = 1, .infer = is_infer, .forward = is_forward};
const gcam_op gcam_op_IsInf = {.op_type = "IsInf", .since = 6, .required = 1, .infer = is_infer, .forward = is_forward};
