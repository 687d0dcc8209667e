/* Gather: y[outer, j, inner] = x[outer, indices[j], inner] along axis, with
 * y's shape data[:axis] + indices.shape + data[axis+1:].  Indices are int64
 * or int32, negative ones count from the end.  Any data element type.
 * Backward scatter-adds: a repeated index collects every gradient. */
#include "gcam_internal.h"

static int get_axis(gcam_opctx *c, int r, int64_t *axis)
{
    int64_t a = gcam_attr_int(c->node, "axis", 0);
    if (a < -r || a >= r)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)a, r);
    *axis = a < 0 ? a + r : a;
    return GCAM_OK;
}

static inline int64_t index_at(const gcam_tensor *ix, int64_t j)
{
    return ix->dtype == GCAM_DT_I64 ? ((const int64_t *)ix->data)[j] : ((const int32_t *)ix->data)[j];
}

/* Checks every index against dim before anything is written. */
static int check_indices(gcam_opctx *c, const gcam_tensor *ix, int64_t dim)
{
    int64_t n = gcam_numel(ix);
    for (int64_t j = 0; j < n; j++) {
        int64_t v = index_at(ix, j);
        if (v < -dim || v >= dim)
            return gcam_node_errf(c, GCAM_E_RANGE, "index %lld out of range for dim %lld", (long long)v,
                                  (long long)dim);
    }
    return GCAM_OK;
}

static int gather_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *ix = c->in[1];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    if (ix->dtype != GCAM_DT_I64 && ix->dtype != GCAM_DT_I32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "indices of type %s not supported", gcam_dtype_name(ix->dtype));
    int64_t axis = 0;
    int rc = get_axis(c, x->ndim, &axis);
    if (rc) return rc;
    int r = x->ndim - 1 + ix->ndim;
    if (r > GCAM_MAX_DIMS) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "output rank %d above %d", r, GCAM_MAX_DIMS);
    if ((ix->flags & GCAM_TF_CONST) && ix->data && (rc = check_indices(c, ix, x->dims[axis]))) return rc;
    int k = 0;
    for (int d = 0; d < axis; d++) y->dims[k++] = x->dims[d];
    for (int d = 0; d < ix->ndim; d++) y->dims[k++] = ix->dims[d];
    for (int d = (int)axis + 1; d < x->ndim; d++) y->dims[k++] = x->dims[d];
    y->ndim = r;
    y->dtype = x->dtype;
    return GCAM_OK;
}

static void blocks(const gcam_tensor *x, int64_t axis, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= x->dims[d];
    for (int d = (int)axis + 1; d < x->ndim; d++) *inner *= x->dims[d];
}

static int gather_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *ix = c->in[1];
    gcam_tensor *y = c->out[0];
    int64_t axis = 0, outer, inner;
    int rc = get_axis(c, x->ndim, &axis);
    if (rc) return rc;
    int64_t dim = x->dims[axis], n = gcam_numel(ix);
    if ((rc = check_indices(c, ix, dim))) return rc;
    blocks(x, axis, &outer, &inner);
    size_t es = gcam_dtype_size(x->dtype), row = (size_t)inner * es;
    if (!row) return GCAM_OK;
    const char *xb = x->data;
    char *yb = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < n; j++) {
            int64_t v = index_at(ix, j);
            if (v < 0) v += dim;
            memcpy(yb + (o * n + j) * row, xb + (o * dim + v) * row, row);
        }
    return GCAM_OK;
}

static int gather_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0], *ix = c->in[1];
    int64_t axis = 0, outer, inner;
    int rc = get_axis(c, x->ndim, &axis);
    if (rc) return rc;
    int64_t dim = x->dims[axis], n = gcam_numel(ix);
    if ((rc = check_indices(c, ix, dim))) return rc;
    blocks(x, axis, &outer, &inner);
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < n; j++) {
            int64_t v = index_at(ix, j);
            if (v < 0) v += dim;
            float *d = dx + (o * dim + v) * inner;
            const float *g = dy + (o * n + j) * inner;
            for (int64_t k = 0; k < inner; k++) d[k] += g[k];
        }
    return GCAM_OK;
}

const gcam_op gcam_op_Gather = {
    .op_type = "Gather", .since = 1, .required = 2,
    .infer = gather_infer,
    .forward = gather_forward,
    .backward = gather_backward,
};
