/* GatherND and ScatterND (opset 11-18, batch_dims for GatherND): the last
 * dim of indices (length q) addresses a slice data[i0, ..., iq-1, ...]
 * after the first batch_dims dims, which index data and indices alike.
 * ScatterND writes updates into a copy of data (reduction none, add, mul,
 * max, min).  Gradients: GatherND scatter-adds dy; ScatterND (none/add)
 * passes dy to data except overwritten slices, and gathers dy for updates. */
#include "kernels/dtype.h"

typedef struct nd_geom {
    int64_t batch, n_per_batch, q, slice, data_batch_stride;
} nd_geom;

static int nd_geometry(gcam_opctx *c, nd_geom *g)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1);
    const int b = (int)gcam_attr_int(c->node, "batch_dims", 0);
    if (ix->dtype != GCAM_DT_I64 && ix->dtype != GCAM_DT_I32) return gcam_node_errf(c, GCAM_E_DTYPE, "indices must be int64 or int32");
    if (ix->ndim < 1 || b < 0 || b >= ix->ndim || b > x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "bad batch_dims %d", b);
    g->q = ix->dims[ix->ndim - 1];
    if (g->q < 1 || b + g->q > x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "index tuples of %lld for data of rank %d", (long long)g->q, x->ndim);
    g->batch = 1;
    for (int d = 0; d < b; d++) {
        if (ix->dims[d] != x->dims[d]) return gcam_node_errf(c, GCAM_E_SHAPE, "batch dim %d differs", d);
        g->batch *= x->dims[d];
    }
    g->n_per_batch = 1;
    for (int d = b; d < ix->ndim - 1; d++) g->n_per_batch *= ix->dims[d];
    g->slice = 1;
    for (int d = b + (int)g->q; d < x->ndim; d++) g->slice *= x->dims[d];
    g->data_batch_stride = 1;
    for (int d = b; d < x->ndim; d++) g->data_batch_stride *= x->dims[d];
    return GCAM_OK;
}

/* element offset in data of slice j (of batch bi), or -1 out of range */
static int64_t slice_off(const gcam_opctx *c, const nd_geom *g, int64_t bi, int64_t j)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1);
    const int b = (int)gcam_attr_int(c->node, "batch_dims", 0);
    int64_t off = 0;
    const int64_t base = (bi * g->n_per_batch + j) * g->q;
    for (int64_t k = 0; k < g->q; k++) {
        int64_t dim = x->dims[b + k], v = gcam_get_i(ix->data, ix->dtype, base + k);
        if (v < -dim || v >= dim) return -1;
        off = off * dim + (v < 0 ? v + dim : v);
    }
    return bi * g->data_batch_stride + off * g->slice;
}

static int nd_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1);
    gcam_tensor *y = c->out[0];
    nd_geom g;
    int rc = nd_geometry(c, &g);
    if (rc) return rc;
    const int b = (int)gcam_attr_int(c->node, "batch_dims", 0);
    y->dtype = x->dtype;
    if (c->node->op_type[0] == 'S') {
        y->ndim = x->ndim;
        memcpy(y->dims, x->dims, sizeof x->dims);
        c->node->bscratch = (size_t)gcam_numel(x);
        return GCAM_OK;
    }
    y->ndim = 0;
    for (int d = 0; d < ix->ndim - 1; d++) y->dims[y->ndim++] = ix->dims[d];
    for (int d = b + (int)g.q; d < x->ndim; d++) {
        if (y->ndim >= GCAM_MAX_DIMS) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "output rank above %d", GCAM_MAX_DIMS);
        y->dims[y->ndim++] = x->dims[d];
    }
    return GCAM_OK;
}

static int nd_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    nd_geom g;
    int rc = nd_geometry(c, &g);
    if (rc) return rc;
    const size_t es = gcam_dtype_size(x->dtype), row = (size_t)g.slice * es;
    const int scatter = c->node->op_type[0] == 'S';
    const char *red = gcam_attr_str(c->node, "reduction", "none");
    if (scatter && y->data != x->data) memcpy(y->data, x->data, gcam_tensor_bytes(x));
    for (int64_t bi = 0; bi < g.batch; bi++)
        for (int64_t j = 0; j < g.n_per_batch; j++) {
            const int64_t off = slice_off(c, &g, bi, j), at = bi * g.n_per_batch + j;
            if (off < 0) return gcam_node_errf(c, GCAM_E_RANGE, "index out of range");
            if (!scatter) {
                memcpy((char *)y->data + (size_t)at * row, (const char *)x->data + (size_t)off * es, row);
                continue;
            }
            const gcam_tensor *u = gcam_in(c, 2);
            if (!strcmp(red, "none")) {
                memcpy((char *)y->data + (size_t)off * es, (const char *)u->data + (size_t)at * row, row);
                continue;
            }
            for (int64_t k = 0; k < g.slice; k++) {
                double a = gcam_get_f(y->data, y->dtype, off + k), v = gcam_get_f(u->data, u->dtype, at * g.slice + k);
                double r = !strcmp(red, "add") ? a + v : !strcmp(red, "mul") ? a * v : !strcmp(red, "max") ? (a > v ? a : v) : (a < v ? a : v);
                gcam_set_f(y->data, y->dtype, off + k, r);
            }
        }
    return GCAM_OK;
}

static int nd_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    nd_geom g;
    int rc = nd_geometry(c, &g);
    if (rc) return rc;
    const float *dy = gcam_f32(c->dout[0]);
    if (c->node->op_type[0] == 'G') {
        if (!c->din[0]) return GCAM_OK;
        for (int64_t bi = 0; bi < g.batch; bi++)
            for (int64_t j = 0; j < g.n_per_batch; j++) {
                const int64_t off = slice_off(c, &g, bi, j), at = (bi * g.n_per_batch + j) * g.slice;
                for (int64_t k = 0; k < g.slice; k++) gcam_f32(c->din[0])[off + k] += dy[at + k];
            }
        return GCAM_OK;
    }
    const char *red = gcam_attr_str(c->node, "reduction", "none");
    const int add = !strcmp(red, "add");
    if (!add && strcmp(red, "none")) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "gradient of reduction '%s' not supported", red);
    unsigned char *mask = c->scratch;
    memset(mask, 0, (size_t)gcam_numel(c->in[0]));
    for (int64_t s = g.batch * g.n_per_batch - 1; s >= 0; s--) {
        const int64_t off = slice_off(c, &g, s / g.n_per_batch, s % g.n_per_batch);
        for (int64_t k = 0; k < g.slice; k++) {
            if (c->din[2] && (add || !mask[off + k])) gcam_f32(c->din[2])[s * g.slice + k] += dy[off + k];
            mask[off + k] = 1;
        }
    }
    if (c->din[0])
        for (int64_t p = 0, m = gcam_numel(c->in[0]); p < m; p++)
            if (add || !mask[p]) gcam_f32(c->din[0])[p] += dy[p];
    return GCAM_OK;
}

const gcam_op gcam_op_GatherND = {.op_type = "GatherND", .since = 6, .required = 2, .infer = nd_infer, .forward = nd_forward, .backward = nd_backward};
const gcam_op gcam_op_ScatterND = {.op_type = "ScatterND", .since = 6, .required = 3, .infer = nd_infer, .forward = nd_forward, .backward = nd_backward};
