/* Where: y = cond ? x : y2, three-way numpy broadcasting, x and y2 of one
 * type (any stored type).  Gradient: dx += cond ? dy : 0 and dy2 += cond ?
 * 0 : dy, summed over the dims each was broadcast along; none to cond. */
#include "kernels/dtype.h"

static int where_infer(gcam_opctx *c)
{
    const gcam_tensor *m = c->in[0], *a = gcam_in(c, 1), *b = gcam_in(c, 2);
    if (!m || !a || !b) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs 3 inputs");
    if (m->dtype != GCAM_DT_BOOL) return gcam_node_errf(c, GCAM_E_DTYPE, "condition is %s, not bool", gcam_dtype_name(m->dtype));
    if (a->dtype != b->dtype)
        return gcam_node_errf(c, GCAM_E_DTYPE, "X is %s but Y is %s", gcam_dtype_name(a->dtype), gcam_dtype_name(b->dtype));
    if (!gcam_dt_stored(a->dtype)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(a->dtype));
    c->out[0]->dtype = a->dtype;
    return gcam_bcast_infer_n(c, 0, 3, c->out[0]);
}

static int where_forward(gcam_opctx *c)
{
    const gcam_tensor *m = c->in[0], *a = gcam_in(c, 1), *b = gcam_in(c, 2);
    gcam_tensor *y = c->out[0];
    int64_t sm[GCAM_MAX_DIMS], sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, m->dims, m->ndim, sm);
    gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
    gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
    const size_t es = gcam_dtype_size(y->dtype);
    const uint8_t *pm = m->data;
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) {
        const int take_a = pm[gcam_boff(i, y->dims, y->ndim, sm)] != 0;
        const gcam_tensor *src = take_a ? a : b;
        int64_t o = gcam_boff(i, y->dims, y->ndim, take_a ? sa : sb);
        memcpy((char *)y->data + (size_t)i * es, (const char *)src->data + (size_t)o * es, es);
    }
    return GCAM_OK;
}

static int where_backward(gcam_opctx *c)
{
    const gcam_tensor *m = c->in[0], *y = c->out[0];
    if (!c->dout[0]) return GCAM_OK;
    const float *dy = gcam_f32(c->dout[0]);
    int64_t sm[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, m->dims, m->ndim, sm);
    const uint8_t *pm = m->data;
    for (int k = 1; k <= 2; k++) {
        if (!c->din[k]) continue;
        const gcam_tensor *x = c->in[k];
        int64_t sx[GCAM_MAX_DIMS];
        gcam_bstrides(y->dims, y->ndim, x->dims, x->ndim, sx);
        float *dx = gcam_f32(c->din[k]);
        for (int64_t i = 0, n = gcam_numel(y); i < n; i++)
            if ((pm[gcam_boff(i, y->dims, y->ndim, sm)] != 0) == (k == 1)) dx[gcam_boff(i, y->dims, y->ndim, sx)] += dy[i];
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Where = {
    .op_type = "Where", .since = 6, .required = 3,
    .infer = where_infer,
    .forward = where_forward,
    .backward = where_backward,
};
