/* The Reduce family over `axes`, keeping them as size-1 dims when keepdims
 * (default 1): ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
 * ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.
 *
 * Axes: an attribute, or from opset 13 (ReduceSum) / 18 (the others) an
 * optional int64 input 1 (it decides the output shape, so it must be
 * constant).  No axes, or an empty list, means every axis, unless
 * noop_with_empty_axes is set, in which case the op is the identity.
 * float32; Sum/Max/Min/Prod/L1/SumSquare also any integer (and bool for
 * Max/Min), accumulated in double.  An empty reduction gives the identity
 * of the operation (0, 1, -inf for Max and LogSumExp, +inf for Min), the
 * mean of nothing NaN.
 *
 * Backward (float32): Sum dy, Mean dy/count, Max/Min dy to every element
 * equal to the result, Prod dy * (product of the others), L1 dy sign(x),
 * L2 dy x / y, LogSum dy / exp(y), LogSumExp dy exp(x - y), SumSquare
 * 2 x dy.  Sum and Mean run on the broadcast kernels (gcam_reduce_to). */
#include <math.h>
#include <stdlib.h>

#include "kernels/dtype.h"
#include "kernels/elementwise.h"

#define REDUCE_OPS(X) X(Sum) X(Mean) X(Max) X(Min) X(Prod) X(L1) X(L2) X(LogSum) X(LogSumExp) X(SumSquare)
enum {
#define ENUM(k) R_##k,
    REDUCE_OPS(ENUM)
#undef ENUM
};

static int kind_of(const char *op_type)
{
    static const char *const names[] = {
#define NAME(k) "Reduce" #k,
        REDUCE_OPS(NAME)
#undef NAME
    };
    for (int k = 0; k < (int)(sizeof names / sizeof names[0]); k++)
        if (!strcmp(op_type, names[k])) return k;
    return -1;
}

typedef struct reduce_params {
    int kind, keepdims, noop;
    int n_axes; /* attribute axes; -1 = attribute absent */
    int64_t axes[GCAM_MAX_DIMS];
} reduce_params;

static int reduce_init(gcam_node *n, gcam_err *e)
{
    reduce_params *p = gcam_calloc(1, sizeof *p);
    if (!p) return gcam_errf(e, GCAM_E_NOMEM, "node '%s' (%s): out of memory", n->name ? n->name : "", n->op_type);
    gcam_free(n->params);
    n->params = p;
    p->kind = kind_of(n->op_type);
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
static int reduce_plan(gcam_opctx *c, unsigned *mask, int64_t *kd, int64_t *count)
{
    const reduce_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    const int r = x->ndim;
    int64_t axes[GCAM_MAX_DIMS];
    int64_t n = p->n_axes < 0 ? 0 : p->n_axes;
    memcpy(axes, p->axes, sizeof axes);
    if (c->node->n_in > 1 && gcam_in(c, 1)) {
        int k = gcam_const_ints(c, gcam_in(c, 1), "axes", axes, GCAM_MAX_DIMS);
        if (k < 0) return k;
        n = k;
    }
    *mask = 0;
    if (n == 0) {
        if (!p->noop) *mask = (1u << r) - 1u;
    } else {
        for (int64_t i = 0; i < n; i++) {
            int64_t ax = axes[i];
            if (ax < -r || ax >= r)
                return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)ax, r);
            if (ax < 0) ax += r;
            if (*mask & (1u << ax)) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld repeated", (long long)ax);
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

static int reduce_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const reduce_params *p = c->node->params;
    const int k = p->kind, ints_ok = k == R_Sum || k == R_Max || k == R_Min || k == R_Prod || k == R_L1 || k == R_SumSquare;
    if (x->dtype != GCAM_DT_F32 && !(ints_ok && gcam_dt_is_int(x->dtype)) &&
        !(x->dtype == GCAM_DT_BOOL && (k == R_Max || k == R_Min)))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    unsigned mask;
    int64_t kd[GCAM_MAX_DIMS], count;
    int rc = reduce_plan(c, &mask, kd, &count);
    if (rc) return rc;
    y->dtype = x->dtype;
    y->ndim = 0;
    for (int d = 0; d < x->ndim; d++)
        if (p->keepdims || !(mask & (1u << d))) y->dims[y->ndim++] = kd[d];
    int64_t ny = 1;
    for (int d = 0; d < x->ndim; d++) ny *= kd[d];
    c->node->scratch = (size_t)ny * 2 * sizeof(double);
    c->node->bscratch = 0;
    return GCAM_OK;
}

/* offset in the keepdims output of input element i */
static int64_t out_index(int64_t i, const gcam_tensor *x, const int64_t *kd)
{
    int64_t o = 0, stride = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        int64_t q = i / x->dims[d], k = i - q * x->dims[d];
        if (kd[d] != 1) o += k * stride;
        stride *= kd[d];
        i = q;
    }
    return o;
}

static double identity(int k)
{
    return k == R_Prod ? 1.0 : k == R_Max || k == R_LogSumExp || k == R_LogSum ? -INFINITY : k == R_Min ? INFINITY : 0.0;
}

static int reduce_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const int k = ((const reduce_params *)c->node->params)->kind;
    unsigned mask;
    int64_t kd[GCAM_MAX_DIMS], count, ny = gcam_numel(y), nx = gcam_numel(x);
    int rc = reduce_plan(c, &mask, kd, &count);
    if (rc) return rc;
    if ((k == R_Mean || k == R_Sum) && x->dtype == GCAM_DT_F32 && count > 0) {
        gcam_reduce_to(gcam_f32(y), kd, x->ndim, gcam_f32(x), x->dims, x->ndim,
                       k == R_Mean ? (float)(1.0 / (double)count) : 1.0f, 0, gcam_ew_threads(c));
        return GCAM_OK;
    }
    double *acc = c->scratch, *mx = acc + ny;
    for (int64_t o = 0; o < ny; o++) {
        acc[o] = k == R_Prod ? 1.0 : k == R_Max ? -INFINITY : k == R_Min ? INFINITY : 0.0;
        mx[o] = -INFINITY;
    }
    for (int64_t i = 0; i < nx; i++) {
        const int64_t o = out_index(i, x, kd);
        const double v = gcam_get_f(x->data, x->dtype, i);
        switch (k) {
        case R_Max: if (v > acc[o] || v != v) acc[o] = v; break;
        case R_Min: if (v < acc[o] || v != v) acc[o] = v; break;
        case R_Prod: acc[o] *= v; break;
        case R_L1: acc[o] += fabs(v); break;
        case R_L2: case R_SumSquare: acc[o] += v * v; break;
        case R_LogSumExp: /* running max, sum of exp(v - max) */
            if (v > mx[o]) {
                acc[o] = acc[o] * exp(mx[o] - v) + 1.0;
                mx[o] = v;
            } else acc[o] += exp(v - mx[o]);
            break;
        default: acc[o] += v; break; /* Sum, Mean, LogSum */
        }
    }
    for (int64_t o = 0; o < ny; o++) {
        double v = acc[o];
        if (count == 0) v = k == R_Mean ? NAN : identity(k);
        else if (k == R_Mean) v /= (double)count;
        else if (k == R_L2) v = sqrt(v);
        else if (k == R_LogSum) v = log(v);
        else if (k == R_LogSumExp) v = mx[o] + log(v);
        if (y->dtype == GCAM_DT_F32) gcam_f32(y)[o] = (float)v;
        else gcam_set_f(y->data, y->dtype, o, v);
    }
    return GCAM_OK;
}

/* Prod's gradient at element i: the product of the others in its group */
static double others_product(const gcam_tensor *x, const int64_t *kd, int64_t i)
{
    double p = 1.0;
    const int64_t o = out_index(i, x, kd);
    for (int64_t j = 0, n = gcam_numel(x); j < n; j++)
        if (j != i && out_index(j, x, kd) == o) p *= gcam_f32(x)[j];
    return p;
}

static int reduce_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != GCAM_DT_F32) return GCAM_OK;
    const gcam_tensor *x = c->in[0];
    const int k = ((const reduce_params *)c->node->params)->kind;
    unsigned mask;
    int64_t kd[GCAM_MAX_DIMS], count;
    int rc = reduce_plan(c, &mask, kd, &count);
    if (rc) return rc;
    if (count == 0) return GCAM_OK;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]), *y = gcam_f32(c->out[0]), *xv = gcam_f32(x);
    if (k == R_Mean || k == R_Sum) {
        gcam_expand_add(dx, x->dims, x->ndim, dy, kd, x->ndim, k == R_Mean ? (float)(1.0 / (double)count) : 1.0f,
                        gcam_ew_threads(c));
        return GCAM_OK;
    }
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        const int64_t o = out_index(i, x, kd);
        const float v = xv[i], g = dy[o];
        float d = 0.0f;
        switch (k) {
        case R_Max: case R_Min: d = v == y[o] ? g : 0.0f; break;
        case R_Prod: d = v != 0.0f ? g * y[o] / v : (float)(g * others_product(x, kd, i)); break;
        case R_L1: d = v > 0 ? g : v < 0 ? -g : 0.0f; break;
        case R_L2: d = y[o] != 0.0f ? g * v / y[o] : 0.0f; break;
        case R_LogSum: d = g / expf(y[o]); break;
        case R_LogSumExp: d = g * expf(v - y[o]); break;
        case R_SumSquare: d = 2.0f * v * g; break;
        default: break;
        }
        dx[i] += d;
    }
    return GCAM_OK;
}

#define REDUCE_OP(k)                                                                                   \
    const gcam_op gcam_op_Reduce##k = {.op_type = "Reduce" #k, .since = 1, .required = 1, .init = reduce_init, .infer = reduce_infer, \
                                       .forward = reduce_forward, .backward = reduce_backward};
REDUCE_OPS(REDUCE_OP)
