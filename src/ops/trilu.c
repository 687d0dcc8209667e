/* Trilu: the upper (upper=1, default) or lower triangle of the last two
 * dims, shifted by the optional constant k (int64 scalar input); the rest
 * set to 0.  Any stored type.  Gradient: dy through the kept elements. */
#include "kernels/dtype.h"

static int trilu_k(gcam_opctx *c, int64_t *k)
{
    *k = 0;
    if (c->node->n_in > 1 && gcam_in(c, 1)) {
        int64_t v[1];
        int n = gcam_const_ints(c, gcam_in(c, 1), "k", v, 1);
        if (n < 0) return n;
        if (n == 1) *k = v[0];
    }
    return GCAM_OK;
}

static int trilu_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->ndim < 2) return gcam_node_errf(c, GCAM_E_SHAPE, "input of rank %d (at least 2)", x->ndim);
    int64_t k = 0;
    int rc = trilu_k(c, &k);
    if (rc) return rc;
    c->out[0]->dtype = x->dtype;
    c->out[0]->ndim = x->ndim;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

static int kept(const gcam_opctx *c, int64_t i, int64_t k)
{
    const gcam_tensor *x = c->in[0];
    const int64_t cols = x->dims[x->ndim - 1], rows = x->dims[x->ndim - 2];
    const int64_t col = i % cols, row = (i / cols) % rows;
    return gcam_attr_int(c->node, "upper", 1) ? col - row >= k : col - row <= k;
}

static int trilu_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    int64_t k = 0;
    int rc = trilu_k(c, &k);
    if (rc) return rc;
    const size_t es = gcam_dtype_size(x->dtype);
    char *y = c->out[0]->data;
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        if (kept(c, i, k)) memcpy(y + (size_t)i * es, (const char *)x->data + (size_t)i * es, es);
        else memset(y + (size_t)i * es, 0, es);
    }
    return GCAM_OK;
}

static int trilu_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    int64_t k = 0;
    int rc = trilu_k(c, &k);
    if (rc) return rc;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    for (int64_t i = 0, n = gcam_numel(c->in[0]); i < n; i++)
        if (kept(c, i, k)) dx[i] += dy[i];
    return GCAM_OK;
}

const gcam_op gcam_op_Trilu = {
    .op_type = "Trilu", .since = 6, .required = 1,
    .infer = trilu_infer,
    .forward = trilu_forward,
    .backward = trilu_backward,
};
