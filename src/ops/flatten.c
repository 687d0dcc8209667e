/* Flatten: y = x reshaped to 2-D [prod(dims[:axis]), prod(dims[axis:])].
 * The bytes do not change, so the op is a view: forward copies only when the
 * engine did not alias the output to the input, and backward passes the
 * gradient through unchanged.  Works for any element type. */
#include "gcam_internal.h"

static int flatten_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    int64_t axis = gcam_attr_int(c->node, "axis", 1);
    if (axis < -x->ndim || axis > x->ndim)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d",
                              (long long)axis, x->ndim);
    if (axis < 0) axis += x->ndim;
    int64_t rows = 1, cols = 1;
    for (int d = 0; d < x->ndim; d++)
        if (gcam_mul_ovf(d < axis ? rows : cols, x->dims[d], d < axis ? &rows : &cols))
            return gcam_node_errf(c, GCAM_E_SHAPE, "the flattened size of the input overflows");
    y->dtype = x->dtype;
    y->ndim = 2;
    y->dims[0] = rows;
    y->dims[1] = cols;
    return GCAM_OK;
}

const gcam_op gcam_op_Flatten = {
    .op_type = "Flatten", .since = 1, .required = 1,
    .flags = GCAM_OPF_VIEW,
    .infer = flatten_infer,
    .forward = gcam_view_forward,
    .backward = gcam_view_backward,
};
