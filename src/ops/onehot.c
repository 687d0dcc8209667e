/* OneHot(indices, depth, values): y has a new axis (default -1) of length
 * depth (a constant scalar); y = values[1] where the position equals the
 * index (negative indices count from the end), values[0] elsewhere.  Index
 * outside [-depth, depth) gives an all-off row.  EyeLike: a 2-D tensor of
 * the input's shape with ones on the k-th diagonal, dtype attr or the
 * input's.  Neither has a gradient. */
#include "kernels/dtype.h"

static int oh_depth(gcam_opctx *c, int64_t *depth)
{
    const gcam_tensor *d = gcam_in(c, 1);
    if (!(d->flags & GCAM_TF_CONST) || !d->data || gcam_numel(d) != 1)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "depth must be a constant scalar");
    *depth = (int64_t)gcam_get_f(d->data, d->dtype, 0);
    if (*depth < 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "depth %lld", (long long)*depth);
    return GCAM_OK;
}

static int oh_infer(gcam_opctx *c)
{
    const gcam_tensor *ix = c->in[0], *v = gcam_in(c, 2);
    int64_t depth = 0;
    int rc = oh_depth(c, &depth);
    if (rc) return rc;
    if (!v || gcam_numel(v) != 2) return gcam_node_errf(c, GCAM_E_SHAPE, "values must hold 2 elements");
    int r = ix->ndim + 1;
    int64_t a = gcam_attr_int(c->node, "axis", -1);
    if (a < -r || a >= r || r > GCAM_MAX_DIMS) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range", (long long)a);
    if (a < 0) a += r;
    gcam_tensor *y = c->out[0];
    y->dtype = v->dtype;
    y->ndim = r;
    for (int d = 0, k = 0; d < r; d++) y->dims[d] = d == a ? depth : ix->dims[k++];
    return GCAM_OK;
}

static int oh_forward(gcam_opctx *c)
{
    const gcam_tensor *ix = c->in[0], *v = gcam_in(c, 2);
    gcam_tensor *y = c->out[0];
    int64_t depth = 0;
    int rc = oh_depth(c, &depth);
    if (rc) return rc;
    int64_t a = gcam_attr_int(c->node, "axis", -1);
    if (a < 0) a += y->ndim;
    int64_t inner = 1;
    for (int d = (int)a + 1; d < y->ndim; d++) inner *= y->dims[d];
    const size_t es = gcam_dtype_size(y->dtype);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) {
        const int64_t j = (i / inner) % depth, o = i / (inner * depth), k = i % inner;
        int64_t want = (int64_t)gcam_get_f(ix->data, ix->dtype, o * inner + k);
        if (want < 0) want += depth;
        memcpy((char *)y->data + (size_t)i * es, (const char *)v->data + (want == j ? es : 0), es);
    }
    return GCAM_OK;
}

const gcam_op gcam_op_OneHot = {.op_type = "OneHot", .since = 6, .required = 3, .flags = GCAM_OPF_SHAPE_PARAMS, .param_slot = 1,
                                 .infer = oh_infer, .forward = oh_forward};

static int eye_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->ndim != 2) return gcam_node_errf(c, GCAM_E_SHAPE, "input must be 2-D");
    int dt = (int)gcam_attr_int(c->node, "dtype", x->dtype);
    if (dt == GCAM_DT_F16 || dt == GCAM_DT_F64) dt = GCAM_DT_F32;
    if (!gcam_dt_stored(dt)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(dt));
    c->out[0]->dtype = dt;
    c->out[0]->ndim = 2;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

static int eye_forward(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    const int64_t k = gcam_attr_int(c->node, "k", 0), cols = y->dims[1];
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) gcam_set_i(y->data, y->dtype, i, i % cols - i / cols == k);
    return GCAM_OK;
}

const gcam_op gcam_op_EyeLike = {.op_type = "EyeLike", .since = 6, .required = 1, .infer = eye_infer, .forward = eye_forward};
