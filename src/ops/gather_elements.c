/* GatherElements, ScatterElements (and Scatter, its opset 9 name) along
 * `axis`: y[..., j, ...] = x[..., idx[..., j, ...], ...] for gather;
 * scatter writes updates into a copy of data at those positions, with
 * reduction none (last write wins), add, mul, max or min (opset 16/18).
 * Indices int64 or int32, negative from the end, checked before writing.
 * Gradients: gather scatter-adds dy into dx; scatter passes dy to data
 * except at written positions and gathers dy for updates (reduction none
 * or add; the others are not differentiated). */
#include "kernels/dtype.h"

static int axis_of(gcam_opctx *c, int r, int *axis)
{
    int64_t a = gcam_attr_int(c->node, "axis", 0);
    if (a < -r || a >= r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)a, r);
    *axis = (int)(a < 0 ? a + r : a);
    return GCAM_OK;
}

/* offset into x of element i of the index tensor ix (shape of ix), whose
 * coordinate along axis is replaced by the index value; -1 if out of range */
static int64_t target(const gcam_tensor *x, const gcam_tensor *ix, int axis, int64_t i)
{
    int64_t v = gcam_get_i(ix->data, ix->dtype, i), dim = x->dims[axis];
    if (v < -dim || v >= dim) return -1;
    if (v < 0) v += dim;
    int64_t off = 0, stride = 1, rem = i;
    for (int d = ix->ndim - 1; d >= 0; d--) {
        int64_t q = rem / ix->dims[d], k = rem - q * ix->dims[d];
        off += (d == axis ? v : k) * stride;
        stride *= x->dims[d];
        rem = q;
    }
    return off;
}

static int check(gcam_opctx *c, const gcam_tensor *x, const gcam_tensor *ix, int axis)
{
    if (ix->ndim != x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "indices of rank %d for data of rank %d", ix->ndim, x->ndim);
    for (int d = 0; d < x->ndim; d++)
        if (d != axis && ix->dims[d] > x->dims[d]) return gcam_node_errf(c, GCAM_E_SHAPE, "indices dim %d larger than data's", d);
    if ((ix->flags & GCAM_TF_CONST) && ix->data)
        for (int64_t i = 0, n = gcam_numel(ix); i < n; i++)
            if (target(x, ix, axis, i) < 0) return gcam_node_errf(c, GCAM_E_RANGE, "index out of range");
    return GCAM_OK;
}

static int ge_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1);
    int axis = 0, rc;
    if (ix->dtype != GCAM_DT_I64 && ix->dtype != GCAM_DT_I32) return gcam_node_errf(c, GCAM_E_DTYPE, "indices must be int64 or int32");
    if ((rc = axis_of(c, x->ndim, &axis)) || (rc = check(c, x, ix, axis))) return rc;
    const int scatter = c->node->op_type[0] == 'S';
    gcam_tensor *y = c->out[0];
    y->dtype = x->dtype;
    y->ndim = x->ndim;
    memcpy(y->dims, scatter ? x->dims : ix->dims, sizeof x->dims);
    c->node->bscratch = scatter ? (size_t)gcam_numel(x) : 0;
    if (scatter && (!gcam_in(c, 2) || gcam_in(c, 2)->dtype != x->dtype || gcam_in(c, 2)->ndim != ix->ndim))
        return gcam_node_errf(c, GCAM_E_SHAPE, "updates must match the indices' shape and the data's type");
    return GCAM_OK;
}

static int ge_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1);
    gcam_tensor *y = c->out[0];
    int axis = 0, rc;
    if ((rc = axis_of(c, x->ndim, &axis))) return rc;
    const size_t es = gcam_dtype_size(x->dtype);
    const int64_t n = gcam_numel(ix);
    for (int64_t i = 0; i < n; i++)
        if (target(x, ix, axis, i) < 0) return gcam_node_errf(c, GCAM_E_RANGE, "index out of range");
    if (c->node->op_type[0] == 'G') {
        for (int64_t i = 0; i < n; i++)
            memcpy((char *)y->data + (size_t)i * es, (const char *)x->data + (size_t)target(x, ix, axis, i) * es, es);
        return GCAM_OK;
    }
    const gcam_tensor *u = gcam_in(c, 2);
    const char *red = gcam_attr_str(c->node, "reduction", "none");
    if (y->data != x->data) memcpy(y->data, x->data, gcam_tensor_bytes(x));
    for (int64_t i = 0; i < n; i++) {
        int64_t t = target(x, ix, axis, i);
        if (!strcmp(red, "none")) {
            memcpy((char *)y->data + (size_t)t * es, (const char *)u->data + (size_t)i * es, es);
            continue;
        }
        double a = gcam_get_f(y->data, y->dtype, t), b = gcam_get_f(u->data, u->dtype, i);
        double v = !strcmp(red, "add") ? a + b : !strcmp(red, "mul") ? a * b : !strcmp(red, "max") ? (a > b ? a : b) : (a < b ? a : b);
        gcam_set_f(y->data, y->dtype, t, v);
    }
    return GCAM_OK;
}

static int ge_backward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1);
    if (!c->dout[0]) return GCAM_OK;
    int axis = 0, rc;
    if ((rc = axis_of(c, x->ndim, &axis))) return rc;
    const float *dy = gcam_f32(c->dout[0]);
    const int64_t n = gcam_numel(ix);
    if (c->node->op_type[0] == 'G') {
        if (c->din[0])
            for (int64_t i = 0; i < n; i++) gcam_f32(c->din[0])[target(x, ix, axis, i)] += dy[i];
        return GCAM_OK;
    }
    const char *red = gcam_attr_str(c->node, "reduction", "none");
    const int add = !strcmp(red, "add");
    if (!add && strcmp(red, "none")) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "gradient of reduction '%s' not supported", red);
    /* mask[p]: position p was written; walking the writes backwards, only
     * the last write to a position (the one that stays, for "none") counts */
    unsigned char *mask = c->scratch;
    memset(mask, 0, (size_t)gcam_numel(x));
    for (int64_t i = n - 1; i >= 0; i--) {
        const int64_t t = target(x, ix, axis, i);
        if (c->din[2] && (add || !mask[t])) gcam_f32(c->din[2])[i] += dy[t];
        mask[t] = 1;
    }
    if (c->din[0])
        for (int64_t p = 0, m = gcam_numel(x); p < m; p++)
            if (add || !mask[p]) gcam_f32(c->din[0])[p] += dy[p];
    return GCAM_OK;
}

const gcam_op gcam_op_GatherElements = {.op_type = "GatherElements", .since = 6, .required = 2, .infer = ge_infer, .forward = ge_forward, .backward = ge_backward};
const gcam_op gcam_op_ScatterElements = {.op_type = "ScatterElements", .since = 6, .required = 3, .infer = ge_infer, .forward = ge_forward, .backward = ge_backward};
const gcam_op gcam_op_Scatter = {.op_type = "Scatter", .since = 6, .required = 3, .infer = ge_infer, .forward = ge_forward, .backward = ge_backward};
