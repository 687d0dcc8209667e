/* Slice: y = x[starts:ends:steps] along the listed axes.  Before opset 10
 * starts/ends/axes are attributes (no steps); from opset 10 they are
 * constant inputs 1..4.  Clamping follows the ONNX spec: negative starts and
 * ends count from the end, then starts/ends are clamped to [0, dim] for
 * positive steps and [0, dim-1] / [-1, dim-1] for negative ones, so any
 * out-of-range value (INT64_MAX, INT64_MIN) is fine.  Any element type.
 * Slices pick distinct elements, so backward is a plain dx[src] += dy. */
#include "gcam_internal.h"

typedef struct slice_plan {
    int nd;
    int64_t dims[GCAM_MAX_DIMS];   /* output dims */
    int64_t stride[GCAM_MAX_DIMS]; /* input elements moved per output step along each dim */
    int64_t base;                  /* input offset of the first output element */
} slice_plan;

/* Reads one of starts/ends/axes/steps: attribute (opset < 10) or input k. */
static int read_list(gcam_opctx *c, const char *name, int k, int64_t *out)
{
    if (c->node->opset < 10) {
        int n = gcam_attr_ints(c->node, name, out, GCAM_MAX_DIMS);
        if (n > GCAM_MAX_DIMS)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "%s has %d entries, more than the rank", name, n);
        return n; /* -1 when absent */
    }
    if (c->node->n_in <= k || !c->in[k]) return -1;
    return gcam_const_ints(c, c->in[k], name, out, GCAM_MAX_DIMS);
}

static int plan(gcam_opctx *c, slice_plan *p)
{
    const gcam_tensor *x = c->in[0];
    int r = x->ndim;
    int64_t starts[GCAM_MAX_DIMS], ends[GCAM_MAX_DIMS], axes[GCAM_MAX_DIMS], steps[GCAM_MAX_DIMS];
    int ns = read_list(c, "starts", 1, starts);
    if (ns < -1) return ns;
    int ne = read_list(c, "ends", 2, ends);
    if (ne < -1) return ne;
    int na = read_list(c, "axes", 3, axes);
    if (na < -1) return na;
    int nst = c->node->opset < 10 ? -1 : read_list(c, "steps", 4, steps);
    if (nst < -1) return nst;
    if (ns < 0 || ne < 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing starts or ends");
    if (ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "starts, ends, axes and steps differ in length");

    int64_t in_stride[GCAM_MAX_DIMS], start[GCAM_MAX_DIMS], step[GCAM_MAX_DIMS], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        in_stride[d] = s;
        s *= x->dims[d];
        start[d] = 0;
        step[d] = 1;
        p->dims[d] = x->dims[d];
    }
    int seen[GCAM_MAX_DIMS] = {0};
    for (int i = 0; i < ns; i++) {
        int64_t a = na >= 0 ? axes[i] : i;
        if (a < -r || a >= r)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)a, r);
        if (a < 0) a += r;
        if (seen[a]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld repeated", (long long)a);
        seen[a] = 1;
        int64_t dim = x->dims[a], b = starts[i], e = ends[i], st = nst >= 0 ? steps[i] : 1;
        if (st == 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "step 0 on axis %lld", (long long)a);
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        int64_t cnt;
        if (st > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            cnt = e > b ? (e - b - 1) / st + 1 : 0; /* no e - b + st overflow for huge steps */
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            int64_t back = st == INT64_MIN ? INT64_MAX : -st;
            cnt = b > e ? (b - e - 1) / back + 1 : 0;
        }
        p->dims[a] = cnt;
        start[a] = cnt ? b : 0;
        step[a] = st;
    }
    p->nd = r;
    p->base = 0;
    for (int d = 0; d < r; d++) {
        p->base += start[d] * in_stride[d];
        /* a step beyond the dim only ever takes one element: keep the product small */
        p->stride[d] = p->dims[d] > 1 ? step[d] * in_stride[d] : 0;
    }
    return GCAM_OK;
}

static int slice_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    slice_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    y->dtype = x->dtype;
    y->ndim = p.nd;
    memcpy(y->dims, p.dims, sizeof p.dims);
    return GCAM_OK;
}

/* Visits the output in order, one run along the last dim at a time: o is the
 * output offset of the run, off the input offset of its first element, L its
 * length and sL the input step between its elements. */
#define WALK_RUNS(p, n, BODY)                                                          \
    do {                                                                               \
        int nd_ = (p).nd;                                                              \
        int64_t L = nd_ ? (p).dims[nd_ - 1] : 1, sL = nd_ ? (p).stride[nd_ - 1] : 1;   \
        int64_t idx_[GCAM_MAX_DIMS] = {0}, off = (p).base;                             \
        for (int64_t o = 0; o < (n); o += L) {                                         \
            BODY;                                                                      \
            for (int d_ = nd_ - 2; d_ >= 0; d_--) {                                    \
                off += (p).stride[d_];                                                 \
                if (++idx_[d_] < (p).dims[d_]) break;                                  \
                off -= (p).stride[d_] * (p).dims[d_];                                  \
                idx_[d_] = 0;                                                          \
            }                                                                          \
        }                                                                              \
    } while (0)

static int slice_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    slice_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    int64_t n = gcam_numel(y);
    if (n == 0) return GCAM_OK;
    size_t es = gcam_dtype_size(x->dtype);
    const char *xb = x->data;
    char *yb = y->data;
#define RUN(ES)                                                                        \
    do {                                                                               \
        if (sL == 1) memcpy(yb + o * (ES), xb + off * (ES), (size_t)L * (ES));         \
        else                                                                           \
            for (int64_t k = 0; k < L; k++)                                            \
                memcpy(yb + (o + k) * (ES), xb + (off + k * sL) * (ES), (ES));         \
    } while (0)
    switch (es) {
    case 1: WALK_RUNS(p, n, RUN(1)); break;
    case 2: WALK_RUNS(p, n, RUN(2)); break;
    case 4: WALK_RUNS(p, n, RUN(4)); break;
    case 8: WALK_RUNS(p, n, RUN(8)); break;
    default: WALK_RUNS(p, n, RUN(es)); break;
    }
#undef RUN
    return GCAM_OK;
}

static int slice_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    slice_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    int64_t n = gcam_numel(c->dout[0]);
    if (n == 0) return GCAM_OK;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    WALK_RUNS(p, n, for (int64_t k = 0; k < L; k++) dx[off + k * sL] += dy[o + k]);
    return GCAM_OK;
}

const gcam_op gcam_op_Slice = {
    .op_type = "Slice", .since = 6, .required = 1, .required_from = 10, .required_then = 3,
    .infer = slice_infer,
    .forward = slice_forward,
    .backward = slice_backward,
};
