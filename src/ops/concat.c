/* Concat: join inputs along axis; every other dim must match.  Any element
 * type.  Viewed as [outer, dims[axis] * inner] blocks, input i owns columns
 * [off_i, off_i + chunk_i) of each output row, so forward copies blocks and
 * backward adds the matching block of dy into each requested dx.
 *
 * A float 4-D channel concat (DenseNet's) also runs channels last, every
 * part and the output NHWC together (GCAM_NHWC_TIED): then it is the same
 * copy with outer = N*H*W pixels and inner = 1, which keeps the convs on
 * both sides free of reorders. */
#include "gcam_internal.h"

static int get_axis(gcam_opctx *c, int r, int64_t *axis)
{
    const gcam_attr *a = gcam_attr_find(c->node, "axis");
    if (!a && c->node->opset >= 4) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing axis attribute");
    int64_t v = gcam_attr_int(c->node, "axis", 1); /* opset < 4 defaulted to 1 */
    if (v < -r || v >= r)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)v, r);
    *axis = v < 0 ? v + r : v;
    return GCAM_OK;
}

static int concat_infer(gcam_opctx *c)
{
    int n = c->node->n_in;
    if (n < 1 || !c->in[0]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "no inputs");
    const gcam_tensor *x0 = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x0->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x0->dtype));
    int64_t axis;
    int rc = get_axis(c, x0->ndim, &axis);
    if (rc) return rc;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        const gcam_tensor *x = c->in[i];
        if (!x) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "input %d is missing", i);
        if (x->dtype != x0->dtype)
            return gcam_node_errf(c, GCAM_E_DTYPE, "input %d is %s, input 0 is %s", i, gcam_dtype_name(x->dtype),
                                  gcam_dtype_name(x0->dtype));
        if (x->ndim != x0->ndim)
            return gcam_node_errf(c, GCAM_E_SHAPE, "input %d has rank %d, input 0 has rank %d", i, x->ndim,
                                  x0->ndim);
        for (int d = 0; d < x->ndim; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return gcam_node_errf(c, GCAM_E_SHAPE, "input %d dim %d is %lld, input 0 has %lld", i, d,
                                      (long long)x->dims[d], (long long)x0->dims[d]);
        if (gcam_add_ovf(total, x->dims[axis], &total))
            return gcam_node_errf(c, GCAM_E_SHAPE, "the concatenated axis %lld overflows", (long long)axis);
    }
    y->dtype = x0->dtype;
    y->ndim = x0->ndim;
    memcpy(y->dims, x0->dims, sizeof x0->dims);
    y->dims[axis] = total;
    c->nhwc_ok = x0->ndim == 4 && axis == 1 && x0->dtype == GCAM_DT_F32 ? GCAM_NHWC_TIED : GCAM_NHWC_NO;
    return GCAM_OK;
}

/* outer = prod(dims[:axis]), inner = prod(dims[axis+1:]) of the output */
static void blocks(const gcam_tensor *y, int64_t axis, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= y->dims[d];
    for (int d = (int)axis + 1; d < y->ndim; d++) *inner *= y->dims[d];
}

static int concat_forward(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    int64_t axis, outer, inner;
    int rc = get_axis(c, y->ndim, &axis);
    if (rc) return rc;
    blocks(y, axis, &outer, &inner);
    if (y->flags & GCAM_TF_NHWC) { /* channels last: a block per pixel */
        if (axis != 1 || y->ndim != 4)
            return gcam_node_errf(c, GCAM_E_INTERNAL, "NHWC planned for a concat along axis %lld", (long long)axis);
        outer = y->dims[0] * y->dims[2] * y->dims[3];
        inner = 1;
    }
    size_t es = gcam_dtype_size(y->dtype);
    int64_t row = y->dims[axis] * inner, off = 0;
    for (int i = 0; i < c->node->n_in; i++) {
        const gcam_tensor *x = c->in[i];
        int64_t chunk = x->dims[axis] * inner;
        if (chunk)
            for (int64_t o = 0; o < outer; o++)
                memcpy((char *)y->data + (o * row + off) * es, (const char *)x->data + o * chunk * es,
                       (size_t)chunk * es);
        off += chunk;
    }
    return GCAM_OK;
}

static int concat_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    const gcam_tensor *y = c->out[0];
    if (y->flags & GCAM_TF_NHWC) /* the planner keeps the backward pass's tensors plain */
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a concat planned NHWC");
    int64_t axis, outer, inner;
    int rc = get_axis(c, y->ndim, &axis);
    if (rc) return rc;
    blocks(y, axis, &outer, &inner);
    const float *dy = gcam_f32(c->dout[0]);
    int64_t row = y->dims[axis] * inner, off = 0;
    for (int i = 0; i < c->node->n_in; i++) {
        int64_t chunk = c->in[i]->dims[axis] * inner;
        if (c->din[i]) {
            float *dx = gcam_f32(c->din[i]);
            for (int64_t o = 0; o < outer; o++)
                for (int64_t k = 0; k < chunk; k++) dx[o * chunk + k] += dy[o * row + off + k];
        }
        off += chunk;
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Concat = {
    .op_type = "Concat", .since = 6, .required = 1,
    .flags = GCAM_OPF_LAYOUT,
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
};
