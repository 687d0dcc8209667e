/* Tile: x repeated repeats[d] times along each dim d (constant repeats).
 * Any stored type.  Gradient: dy summed over the copies. */
#include "kernels/dtype.h"

static int tile_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    int64_t r[GCAM_MAX_DIMS];
    int nr = gcam_const_ints(c, gcam_in(c, 1), "repeats", r, GCAM_MAX_DIMS);
    if (nr < 0) return nr;
    if (nr != x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "%d repeats for rank %d", nr, x->ndim);
    y->dtype = x->dtype;
    y->ndim = x->ndim;
    for (int d = 0; d < x->ndim; d++) {
        if (r[d] < 0) return gcam_node_errf(c, GCAM_E_SHAPE, "negative repeat %lld", (long long)r[d]);
        y->dims[d] = x->dims[d] * r[d];
    }
    return GCAM_OK;
}

/* index into x of output element i */
static int64_t source(int64_t i, const gcam_tensor *x, const gcam_tensor *y)
{
    int64_t off = 0, stride = 1;
    for (int d = y->ndim - 1; d >= 0; d--) {
        int64_t q = i / y->dims[d], k = i - q * y->dims[d];
        off += (k % x->dims[d]) * stride;
        stride *= x->dims[d];
        i = q;
    }
    return off;
}

static int tile_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const size_t es = gcam_dtype_size(y->dtype);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++)
        memcpy((char *)y->data + (size_t)i * es, (const char *)x->data + (size_t)source(i, x, y) * es, es);
    return GCAM_OK;
}

static int tile_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    for (int64_t i = 0, n = gcam_numel(c->out[0]); i < n; i++) dx[source(i, c->in[0], c->out[0])] += dy[i];
    return GCAM_OK;
}

const gcam_op gcam_op_Tile = {
    .op_type = "Tile", .since = 6, .required = 2,
    .infer = tile_infer,
    .forward = tile_forward,
    .backward = tile_backward,
};
