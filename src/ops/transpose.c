/* Transpose: y[i_0..i_n] = x[i at positions perm^-1], i.e. y's dim k is x's
 * dim perm[k]; perm defaults to reversing the dims.  Any element type.
 * Backward is the same walk with the roles swapped: dx[src] += dy[dst]. */
#include "gcam_internal.h"
#include "kernels/elementwise.h"

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

/* The same walk with size-1 dims dropped and neighbouring output dims merged
 * where the input keeps them contiguous too (stride[k] = stride[k+1] *
 * dims[k+1]): a head split [197, 12, 64] -> [12, 197, 64] becomes runs of
 * 64 contiguous elements. */
static void merge_walk(walk *w)
{
    walk m = {0};
    for (int k = 0; k < w->nd; k++) {
        if (w->dims[k] == 1) continue;
        if (m.nd && m.stride[m.nd - 1] == w->stride[k] * w->dims[k]) {
            m.dims[m.nd - 1] *= w->dims[k];
            m.stride[m.nd - 1] = w->stride[k];
            continue;
        }
        m.dims[m.nd] = w->dims[k], m.stride[m.nd] = w->stride[k], m.nd++;
    }
    *w = m;
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

/* A walk whose input-contiguous dim (stride 1) is an output dim k before
 * the last: for every index of the other dims, a 2-D transpose of k against
 * the last dim, in 16 x 16 tiles (reads along k, writes along the last dim,
 * both within a tile in L1), the outer indices and tile rows split between
 * the threads.  0 when the walk is not of that form. */
static int transpose_tiled(const walk *w, const float *x, float *y, int64_t n, int nthreads)
{
    enum { T = 16 };
    int k = -1;
    for (int d = 0; d + 1 < w->nd; d++)
        if (w->stride[d] == 1) k = d;
    if (k < 0) return 0;
    int64_t ost[GCAM_MAX_DIMS], s = 1;
    for (int d = w->nd - 1; d >= 0; d--) ost[d] = s, s *= w->dims[d];
    const int last = w->nd - 1;
    const int64_t R = w->dims[k], C = w->dims[last], sC = w->stride[last], oR = ost[k];
    const int64_t outer = n / (R * C), rt = (R + T - 1) / T, tasks = outer * rt;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (nthreads > 1 && n >= (1 << 16))
    for (int64_t t = 0; t < tasks; t++) {
        int64_t q = t / rt, xo = 0, yo = 0;
        for (int d = last - 1; d >= 0; d--) {
            if (d == k) continue;
            xo += q % w->dims[d] * w->stride[d], yo += q % w->dims[d] * ost[d], q /= w->dims[d];
        }
        const int64_t r0 = t % rt * T, r1 = r0 + T < R ? r0 + T : R;
        for (int64_t c0 = 0; c0 < C; c0 += T) {
            const int64_t c1 = c0 + T < C ? c0 + T : C;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t cc = c0; cc < c1; cc++) y[yo + r * oR + cc] = x[xo + r + cc * sC];
        }
    }
    return 1;
}

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
    merge_walk(&w);
    if (w.nd == 0 || w.stride[w.nd - 1] == 1) { /* contiguous runs: a copy each, the runs split between threads */
        const int64_t L = w.nd ? w.dims[w.nd - 1] : 1, runs = n / L;
        const int nt = gcam_ew_threads(c);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && n * (int64_t)es >= (1 << 18))
        for (int64_t r = 0; r < runs; r++) {
            int64_t off = 0, q = r;
            for (int d = w.nd - 2; d >= 0; d--) off += q % w.dims[d] * w.stride[d], q /= w.dims[d];
            memcpy(yb + r * L * es, xb + off * es, (size_t)L * es);
        }
        return GCAM_OK;
    }
    if (es == 4 && transpose_tiled(&w, (const float *)xb, (float *)yb, n, gcam_ew_threads(c))) return GCAM_OK;
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
