/* Split: cut the input along axis into n_out parts.  Part sizes come from
 * the "split" attribute (opset < 13) or constant input 1 (opset >= 13); when
 * absent the dim is cut evenly, or, with num_outputs (opset 18), into
 * ceil(dim / n) sized parts with a smaller last one.  Any element type.
 * Forward and backward recompute the sizes (no state between calls), so a
 * re-planned node never sees stale sizes. */
#include "gcam_internal.h"

typedef struct split_plan {
    int64_t axis, dim;
    const gcam_tensor *sizes_t; /* constant split input, or NULL */
    const gcam_attr *sizes_a;   /* split attribute, or NULL */
    int64_t chunk;              /* even/num_outputs parts when neither is given */
} split_plan;

static int plan(gcam_opctx *c, split_plan *p)
{
    const gcam_tensor *x = c->in[0];
    int r = x->ndim, n = c->node->n_out;
    int64_t axis = gcam_attr_int(c->node, "axis", 0);
    if (axis < -r || axis >= r)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)axis, r);
    p->axis = axis < 0 ? axis + r : axis;
    p->dim = x->dims[p->axis];
    p->sizes_t = NULL;
    p->sizes_a = NULL;
    p->chunk = 0;
    if (c->node->opset >= 13 && c->node->n_in > 1 && c->in[1] && gcam_numel(c->in[1]) > 0) {
        const gcam_tensor *s = c->in[1];
        if (!(s->flags & GCAM_TF_CONST) || !s->data)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic split not supported");
        if (s->dtype != GCAM_DT_I64 && s->dtype != GCAM_DT_I32)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "split must be int64, got %s", gcam_dtype_name(s->dtype));
        if (gcam_numel(s) != n)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "split has %lld entries for %d outputs",
                                  (long long)gcam_numel(s), n);
        p->sizes_t = s;
    } else if (c->node->opset < 13 && gcam_attr_find(c->node, "split")) {
        const gcam_attr *a = gcam_attr_find(c->node, "split");
        int cnt = a->type == GCAM_ATTR_INTS ? a->n : a->type == GCAM_ATTR_INT ? 1 : -1;
        if (cnt != n) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "split has %d entries for %d outputs", cnt, n);
        p->sizes_a = a;
    } else {
        int64_t num = gcam_attr_int(c->node, "num_outputs", -1);
        if (num >= 0 && num != n)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "num_outputs %lld but %d outputs", (long long)num, n);
        if (n < 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "no outputs");
        if (p->dim % n == 0) {
            p->chunk = p->dim / n;
        } else if (num >= 0) {
            p->chunk = (p->dim + n - 1) / n;
            if (p->chunk * (n - 1) > p->dim)
                return gcam_node_errf(c, GCAM_E_SHAPE, "dim %lld cannot be split into %d parts of %lld",
                                      (long long)p->dim, n, (long long)p->chunk);
        } else {
            return gcam_node_errf(c, GCAM_E_SHAPE, "dim %lld does not split evenly into %d outputs",
                                  (long long)p->dim, n);
        }
    }
    return GCAM_OK;
}

static int64_t part_size(const split_plan *p, int i, int n)
{
    if (p->sizes_t)
        return p->sizes_t->dtype == GCAM_DT_I64 ? ((const int64_t *)p->sizes_t->data)[i]
                                                : ((const int32_t *)p->sizes_t->data)[i];
    if (p->sizes_a) return p->sizes_a->type == GCAM_ATTR_INTS ? p->sizes_a->ints[i] : p->sizes_a->i;
    return i == n - 1 ? p->dim - p->chunk * (n - 1) : p->chunk;
}

static int split_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    split_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    int n = c->node->n_out;
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        int64_t s = part_size(&p, i, n);
        if (s < 0 || s > p.dim)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "split[%d] = %lld out of range", i, (long long)s);
        sum += s;
        gcam_tensor *y = c->out[i];
        if (!y) continue;
        y->dtype = x->dtype;
        y->ndim = x->ndim;
        memcpy(y->dims, x->dims, sizeof x->dims);
        y->dims[p.axis] = s;
    }
    if (sum != p.dim)
        return gcam_node_errf(c, GCAM_E_SHAPE, "split sizes add up to %lld, dim is %lld", (long long)sum,
                              (long long)p.dim);
    return GCAM_OK;
}

static void blocks(const gcam_tensor *x, int64_t axis, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= x->dims[d];
    for (int d = (int)axis + 1; d < x->ndim; d++) *inner *= x->dims[d];
}

static int split_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    split_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    int64_t outer, inner;
    blocks(x, p.axis, &outer, &inner);
    size_t es = gcam_dtype_size(x->dtype);
    int64_t row = p.dim * inner, off = 0;
    int n = c->node->n_out;
    for (int i = 0; i < n; i++) {
        int64_t chunk = part_size(&p, i, n) * inner;
        gcam_tensor *y = c->out[i];
        if (y && chunk)
            for (int64_t o = 0; o < outer; o++)
                memcpy((char *)y->data + o * chunk * es, (const char *)x->data + (o * row + off) * es,
                       (size_t)chunk * es);
        off += chunk;
    }
    return GCAM_OK;
}

static int split_backward(gcam_opctx *c)
{
    if (!c->din[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0];
    split_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    int64_t outer, inner;
    blocks(x, p.axis, &outer, &inner);
    float *dx = gcam_f32(c->din[0]);
    int64_t row = p.dim * inner, off = 0;
    int n = c->node->n_out;
    for (int i = 0; i < n; i++) {
        int64_t chunk = part_size(&p, i, n) * inner;
        if (c->dout[i]) {
            const float *dy = gcam_f32(c->dout[i]);
            for (int64_t o = 0; o < outer; o++)
                for (int64_t k = 0; k < chunk; k++) dx[o * row + off + k] += dy[o * chunk + k];
        }
        off += chunk;
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Split = {
    .op_type = "Split", .since = 6, .required = 1,
    .infer = split_infer,
    .forward = split_forward,
    .backward = split_backward,
};
