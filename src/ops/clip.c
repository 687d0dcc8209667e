/* Clip: y = min(max(x, lo), hi).
 *
 * Bounds: attributes min/max before opset 11, optional scalar inputs 1 and 2
 * from opset 11.  Absent bounds are the float limits, as ONNX specifies.  The
 * output shape never depends on the bounds, so bound inputs need not be
 * constant: they are read when forward runs.
 *
 * Gradient (PyTorch clamp convention): dy passes where lo <= x <= hi, i.e. at
 * the bounds themselves too.  If a bound is a non-constant input it receives
 * the sum of dy over the elements it clipped.  With min 0 (ReLU6) guided
 * backprop applies the ReLU rule on top: dx = dy where 0 < x <= hi and dy > 0.
 * Integer tensors clip exactly, with bounds of their own type. */
#include <float.h>

#include "kernels/dtype.h"
#include "kernels/elementwise.h"

static int clip_init(gcam_node *n, gcam_err *e)
{
    gcam_ew_params *p = gcam_ew_params_new(n, e);
    if (!p) return GCAM_E_NOMEM;
    /* from opset 11 the attributes do not exist; reading them anyway is harmless */
    p->lo = gcam_attr_float(n, "min", -FLT_MAX);
    p->hi = gcam_attr_float(n, "max", FLT_MAX);
    return GCAM_OK;
}

/* Clip of an integer tensor (bounds of its type, or its range): exact */
static int clip_infer_int(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    for (int i = 1; i < c->node->n_in && i < 3; i++)
        if (c->in[i] && (c->in[i]->dtype != x->dtype || gcam_numel(c->in[i]) != 1))
            return gcam_node_errf(c, GCAM_E_DTYPE, "bounds must be scalars of the input's type");
    c->out[0]->dtype = x->dtype;
    c->out[0]->ndim = x->ndim;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

static int clip_forward_int(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    const gcam_tensor *lo = gcam_in(c, 1), *hi = gcam_in(c, 2);
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        int64_t v = gcam_get_i(x->data, x->dtype, i);
        if (lo && v < gcam_get_i(lo->data, lo->dtype, 0)) v = gcam_get_i(lo->data, lo->dtype, 0);
        if (hi && v > gcam_get_i(hi->data, hi->dtype, 0)) v = gcam_get_i(hi->data, hi->dtype, 0);
        gcam_set_i(c->out[0]->data, x->dtype, i, v);
    }
    return GCAM_OK;
}

static int clip_infer(gcam_opctx *c)
{
    if (gcam_dt_is_int(c->in[0]->dtype)) return clip_infer_int(c);
    for (int i = 1; i < c->node->n_in && i < 3; i++) {
        const gcam_tensor *b = c->in[i];
        if (!b) continue;
        if (b->dtype != GCAM_DT_F32)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "%s bound of dtype %s not supported",
                                  i == 1 ? "min" : "max", gcam_dtype_name(b->dtype));
        if (gcam_numel(b) != 1)
            return gcam_node_errf(c, GCAM_E_SHAPE, "%s bound must be a scalar",
                                  i == 1 ? "min" : "max");
    }
    if (c->node->n_in > 3) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "too many inputs");
    return gcam_unary_infer(c);
}

/* Bounds in effect: attributes, overridden by inputs where given. */
static gcam_ew_params clip_bounds(const gcam_opctx *c)
{
    gcam_ew_params p = {.lo = -FLT_MAX, .hi = FLT_MAX};
    if (c->node->params) p = *(const gcam_ew_params *)c->node->params;
    if (c->node->n_in > 1 && c->in[1]) p.lo = gcam_f32(c->in[1])[0];
    if (c->node->n_in > 2 && c->in[2]) p.hi = gcam_f32(c->in[2])[0];
    return p;
}

/* comparisons rather than fminf/fmaxf so NaN propagates, as numpy.clip */
static inline float clip_f(float x, const gcam_ew_params *p)
{
    float m = x < p->lo ? p->lo : x;
    return m > p->hi ? p->hi : m;
}

/* Derivative of m = (x < lo ? lo : x), then y = (m > hi ? hi : m); when
 * lo > hi everything clips to hi and no gradient reaches x. */
static inline float clip_grad(float x, float y, float dy, const gcam_ew_params *p)
{
    /* selects rather than early returns, so the loop vectorises */
    const int relu_like = p->guided && p->lo == 0.0f;
    float g = relu_like ? (dy > 0.0f && x > 0.0f ? dy : 0.0f) : dy;
    return x >= p->lo && x <= p->hi ? g : 0.0f;
}

GCAM_UNARY_KERNELS(clip, clip_f, clip_grad)

static int clip_forward(gcam_opctx *c)
{
    if (c->in[0]->dtype != GCAM_DT_F32) return clip_forward_int(c);
    gcam_ew_params p = clip_bounds(c);
    return gcam_unary_forward(c, clip_fwd_rows, &p);
}

static int clip_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    gcam_ew_params p = clip_bounds(c);
    int rc = gcam_unary_backward(c, clip_bwd_rows, &p);
    if (rc) return rc;
    float *dlo = c->node->n_in > 1 && c->din[1] ? gcam_f32(c->din[1]) : NULL;
    float *dhi = c->node->n_in > 2 && c->din[2] ? gcam_f32(c->din[2]) : NULL;
    if (!dlo && !dhi) return GCAM_OK;
    const float *x = gcam_f32(c->in[0]), *dy = gcam_f32(c->dout[0]);
    const int64_t n = gcam_numel(c->in[0]);
    const int nt = gcam_ew_threads(c);
    double slo = 0.0, shi = 0.0;
#pragma omp parallel for schedule(static) num_threads(nt) reduction(+ : slo, shi) \
    if (nt > 1 && n >= 32768)
    for (int64_t i = 0; i < n; i++) {
        float m = x[i] < p.lo ? p.lo : x[i];
        if (m > p.hi) shi += dy[i];
        else if (x[i] < p.lo) slo += dy[i];
    }
    if (dlo) dlo[0] += (float)slo;
    if (dhi) dhi[0] += (float)shi;
    return GCAM_OK;
}

const gcam_op gcam_op_Clip = {
    .op_type = "Clip", .since = 6, .required = 1,
    .flags = GCAM_OPF_ELEMENTWISE,
    .init = clip_init,
    .infer = clip_infer,
    .forward = clip_forward,
    .backward = clip_backward,
};
