/* ReduceMean: mean over `axes`, keeping them as size-1 dims when keepdims
 * (default 1).
 *
 * Axes: attribute before opset 18, optional I64 input 1 from opset 18 (it
 * decides the output shape, so it must be constant).  No axes, or an empty
 * list, means every axis, unless noop_with_empty_axes (opset 18) is set, in
 * which case the op is the identity.
 *
 * Backward: dx += dy / count, broadcast back over the reduced axes. */
#include <math.h>
#include <stdlib.h>

#include "kernels/elementwise.h"

typedef struct reducemean_params {
    int keepdims, noop;
    int n_axes; /* attribute axes; -1 = attribute absent */
    int64_t axes[GCAM_MAX_DIMS];
} reducemean_params;

static int reducemean_init(gcam_node *n, gcam_err *e)
{
    reducemean_params *p = calloc(1, sizeof *p);
    if (!p)
        return gcam_errf(e, GCAM_E_NOMEM, "node '%s' (%s): out of memory", n->name ? n->name : "",
                         n->op_type);
    free(n->params);
    n->params = p;
    p->keepdims = gcam_attr_int(n, "keepdims", 1) != 0;
    p->noop = gcam_attr_int(n, "noop_with_empty_axes", 0) != 0;
    p->n_axes = gcam_attr_ints(n, "axes", p->axes, GCAM_MAX_DIMS);
    if (p->n_axes > GCAM_MAX_DIMS)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): %d axes, at most %d supported",
                         n->name ? n->name : "", n->op_type, p->n_axes, GCAM_MAX_DIMS);
    return GCAM_OK;
}

/* The reduced axes as a bit mask over the input's dims, and the same dims
 * with reduced axes set to 1 (the keepdims shape, whatever keepdims says). */
static int reducemean_plan(gcam_opctx *c, unsigned *mask, int64_t *kd, int64_t *count)
{
    const reducemean_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    const int r = x->ndim;
    const int64_t *axes = p->axes;
    int64_t n = p->n_axes < 0 ? 0 : p->n_axes;
    if (c->node->n_in > 1 && c->in[1]) {
        const gcam_tensor *a = c->in[1];
        if (!(a->flags & GCAM_TF_CONST))
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic axes not supported");
        if (a->dtype != GCAM_DT_I64)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axes must be int64, not %s",
                                  gcam_dtype_name(a->dtype));
        axes = gcam_i64(a);
        n = gcam_numel(a);
    }
    *mask = 0;
    if (n == 0) {
        if (!p->noop) *mask = (1u << r) - 1u;
    } else {
        for (int64_t i = 0; i < n; i++) {
            int64_t ax = axes[i];
            if (ax < -r || ax >= r)
                return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d",
                                      (long long)ax, r);
            if (ax < 0) ax += r;
            if (*mask & (1u << ax))
                return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld repeated", (long long)ax);
            *mask |= 1u << ax;
        }
    }
    *count = 1;
    for (int d = 0; d < r; d++) {
        kd[d] = *mask & (1u << d) ? 1 : x->dims[d];
        if (*mask & (1u << d)) *count *= x->dims[d];
    }
    return GCAM_OK;
}

static int reducemean_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (x->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported (float32 only)",
                              gcam_dtype_name(x->dtype));
    unsigned mask;
    int64_t kd[GCAM_MAX_DIMS], count;
    int rc = reducemean_plan(c, &mask, kd, &count);
    if (rc) return rc;
    const reducemean_params *p = c->node->params;
    y->dtype = GCAM_DT_F32;
    y->ndim = 0;
    for (int d = 0; d < x->ndim; d++)
        if (p->keepdims || !(mask & (1u << d))) y->dims[y->ndim++] = kd[d];
    c->node->scratch = 0;
    c->node->bscratch = 0;
    return GCAM_OK;
}

static int reducemean_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    unsigned mask;
    int64_t kd[GCAM_MAX_DIMS], count;
    int rc = reducemean_plan(c, &mask, kd, &count);
    if (rc) return rc;
    float *y = gcam_f32(c->out[0]);
    if (count == 0) { /* mean of nothing, as numpy */
        for (int64_t i = 0, n = gcam_numel(c->out[0]); i < n; i++) y[i] = NAN;
        return GCAM_OK;
    }
    gcam_reduce_to(y, kd, x->ndim, gcam_f32(x), x->dims, x->ndim, (float)(1.0 / (double)count), 0,
                   gcam_ew_threads(c));
    return GCAM_OK;
}

static int reducemean_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0];
    unsigned mask;
    int64_t kd[GCAM_MAX_DIMS], count;
    int rc = reducemean_plan(c, &mask, kd, &count);
    if (rc) return rc;
    if (count == 0) return GCAM_OK;
    gcam_expand_add(gcam_f32(c->din[0]), x->dims, x->ndim, gcam_f32(c->dout[0]), kd, x->ndim,
                    (float)(1.0 / (double)count), gcam_ew_threads(c));
    return GCAM_OK;
}

const gcam_op gcam_op_ReduceMean = {
    .op_type = "ReduceMean",
    .init = reducemean_init,
    .infer = reducemean_infer,
    .forward = reducemean_forward,
    .backward = reducemean_backward,
};
