/* Transpose: y[i_0..i_n] = x[i at positions perm^-1], i.e. y's dim k is x's
 * dim perm[k]; perm defaults to reversing the dims.  Any element type.
 * Backward is the same walk with the roles swapped: dx[src] += dy[dst]. */
#include "gcam_internal.h"

typedef struct walk {
    int nd;
    int64_t dims[GCAM_MAX_DIMS];   /* output dims */
    int64_t stride[GCAM_MAX_DIMS]; /* input stride (elements) of each output dim */
} walk;

static int get_perm(gcam_opctx *c, int r, int64_t *perm)
{
    int n = gcam_attr_ints(c->node, "perm", perm, GCAM_MAX_DIMS);
    if (n < 0) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        return GCAM_OK;
    }
    if (n != r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "perm has %d entries for rank %d", n, r);
    int seen[GCAM_MAX_DIMS] = {0};
    for (int i = 0; i < r; i++) {
        if (perm[i] < 0 || perm[i] >= r || seen[perm[i]])
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "perm is not a permutation of 0..%d", r - 1);
        seen[perm[i]] = 1;
    }
    return GCAM_OK;
}

static void make_walk(const gcam_tensor *x, const int64_t *perm, walk *w)
{
    int64_t st[GCAM_MAX_DIMS], s = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        st[d] = s;
        s *= x->dims[d];
    }
    w->nd = x->ndim;
    for (int k = 0; k < x->ndim; k++) {
        w->dims[k] = x->dims[perm[k]];
        w->stride[k] = st[perm[k]];
    }
}

static int transpose_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    int64_t perm[GCAM_MAX_DIMS];
    int rc = get_perm(c, x->ndim, perm);
    if (rc) return rc;
    y->dtype = x->dtype;
    y->ndim = x->ndim;
    for (int k = 0; k < x->ndim; k++) y->dims[k] = x->dims[perm[k]];
    return GCAM_OK;
}

/* Visits the output in order; for each run along the last output dim calls
 * the body with the output offset o, the input offset of the run's start
 * `off`, the run length L and the input step sL. */
#define WALK_RUNS(w, n, BODY)                                                          \
    do {                                                                               \
        int nd_ = (w).nd;                                                              \
        int64_t L = nd_ ? (w).dims[nd_ - 1] : 1, sL = nd_ ? (w).stride[nd_ - 1] : 1;   \
        int64_t idx_[GCAM_MAX_DIMS] = {0}, off = 0;                                    \
        for (int64_t o = 0; o < (n); o += L) {                                         \
            BODY;                                                                      \
            for (int d_ = nd_ - 2; d_ >= 0; d_--) {                                    \
                off += (w).stride[d_];                                                 \
                if (++idx_[d_] < (w).dims[d_]) break;                                  \
                off -= (w).stride[d_] * (w).dims[d_];                                  \
                idx_[d_] = 0;                                                          \
            }                                                                          \
        }                                                                              \
    } while (0)

static int transpose_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    int64_t perm[GCAM_MAX_DIMS];
    int rc = get_perm(c, x->ndim, perm);
    if (rc) return rc;
    walk w;
    make_walk(x, perm, &w);
    int64_t n = gcam_numel(y);
    if (n == 0) return GCAM_OK;
    size_t es = gcam_dtype_size(x->dtype);
    const char *xb = x->data;
    char *yb = y->data;
    /* fixed-size memcpy compiles to one move, and keeps the copy type-agnostic */
#define RUN(ES) for (int64_t k = 0; k < L; k++) memcpy(yb + (o + k) * (ES), xb + (off + k * sL) * (ES), (ES))
    switch (es) {
    case 1: WALK_RUNS(w, n, RUN(1)); break;
    case 2: WALK_RUNS(w, n, RUN(2)); break;
    case 4: WALK_RUNS(w, n, RUN(4)); break;
    case 8: WALK_RUNS(w, n, RUN(8)); break;
    default: WALK_RUNS(w, n, RUN(es)); break;
    }
#undef RUN
    return GCAM_OK;
}

static int transpose_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0];
    int64_t perm[GCAM_MAX_DIMS];
    int rc = get_perm(c, x->ndim, perm);
    if (rc) return rc;
    walk w;
    make_walk(x, perm, &w);
    int64_t n = gcam_numel(c->dout[0]);
    if (n == 0) return GCAM_OK;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    WALK_RUNS(w, n, for (int64_t k = 0; k < L; k++) dx[off + k * sL] += dy[o + k]);
    return GCAM_OK;
}

const gcam_op gcam_op_Transpose = {
    .op_type = "Transpose", .since = 1, .required = 1,
    .infer = transpose_infer,
    .forward = transpose_forward,
    .backward = transpose_backward,
};
