/* Normalisation ops that standardise groups of elements, then scale:
 *   InstanceNormalization  groups = (n, c) over the spatial dims, scale/bias per channel;
 *   GroupNormalization     groups = (n, g) over C/G channels x spatial, scale/bias
 *                          per group (opset 18) or per channel (opset 21);
 *   MeanVarianceNormalization  groups over `axes` (default 0, 2, 3),
 *                          y = (x - mean) / (std + 1e-9), ONNX's function body.
 * Statistics in double.  Backward (X only): with xh the standardised value
 * and g = dy * scale, dx = rstd (g - mean(g) - xh mean(g xh)) per group.
 * In the same file, the other normalisers:
 *   LpNormalization  y = x / ||x||_p along axis (p 1 or 2);
 *   LRN              y = x / (bias + alpha/size sum of x^2 over the
 *                    channel window)^beta. */
#include <math.h>
#include <stdlib.h>

#include "kernels/dtype.h"

enum { K_INSTANCE, K_GROUP, K_MVN };

typedef struct norm_geom {
    int kind;
    int64_t n_groups, group_len, spatial, C, G;
    unsigned mvn_mask; /* MVN: reduced axes */
    int64_t kd[GCAM_MAX_DIMS];
    float eps;
} norm_geom;

static int norm_geometry(gcam_opctx *c, norm_geom *g)
{
    const gcam_tensor *x = c->in[0];
    const char *t = c->node->op_type;
    memset(g, 0, sizeof *g);
    g->kind = t[0] == 'I' ? K_INSTANCE : t[0] == 'G' ? K_GROUP : K_MVN;
    if (x->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    if (x->ndim < 2 && g->kind != K_MVN) return gcam_node_errf(c, GCAM_E_SHAPE, "input of rank %d", x->ndim);
    g->eps = gcam_attr_float(c->node, "epsilon", 1e-5f);
    if (g->kind == K_MVN) {
        int64_t axes[GCAM_MAX_DIMS] = {0, 2, 3};
        int na = gcam_attr_ints(c->node, "axes", axes, GCAM_MAX_DIMS);
        if (na < 0) na = 3;
        g->n_groups = 1;
        g->group_len = 1;
        for (int i = 0; i < na; i++) {
            int64_t a = axes[i] < 0 ? axes[i] + x->ndim : axes[i];
            if (a < 0 || a >= x->ndim) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range", (long long)axes[i]);
            g->mvn_mask |= 1u << a;
        }
        for (int d = 0; d < x->ndim; d++) {
            g->kd[d] = g->mvn_mask & (1u << d) ? 1 : x->dims[d];
            *(g->mvn_mask & (1u << d) ? &g->group_len : &g->n_groups) *= x->dims[d];
        }
        return GCAM_OK;
    }
    g->C = x->dims[1];
    g->spatial = 1;
    for (int d = 2; d < x->ndim; d++) g->spatial *= x->dims[d];
    g->G = g->kind == K_GROUP ? gcam_attr_int(c->node, "num_groups", 0) : g->C;
    if (g->G < 1 || g->C % g->G) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "num_groups %lld does not divide %lld channels", (long long)g->G, (long long)g->C);
    g->n_groups = x->dims[0] * g->G;
    g->group_len = g->C / g->G * g->spatial;
    const int64_t want = g->kind == K_GROUP && c->node->opset < 21 ? g->G : g->C;
    for (int k = 1; k <= 2; k++) {
        const gcam_tensor *p = gcam_in(c, k);
        if (!p || p->dtype != GCAM_DT_F32 || gcam_numel(p) != want)
            return gcam_node_errf(c, GCAM_E_SHAPE, "%s must be float32 of %lld elements", k == 1 ? "scale" : "bias", (long long)want);
    }
    return GCAM_OK;
}

/* group of element i, and the index into scale/bias (-1: none) */
static int64_t group_of(const norm_geom *g, const gcam_tensor *x, int64_t i, int64_t *affine)
{
    if (g->kind == K_MVN) {
        int64_t o = 0, stride = 1, r = i;
        for (int d = x->ndim - 1; d >= 0; d--) {
            int64_t q = r / x->dims[d], k = r - q * x->dims[d];
            if (g->kd[d] != 1) o += k * stride;
            stride *= g->kd[d];
            r = q;
        }
        *affine = -1;
        return o;
    }
    *affine = -1;
    return i / g->group_len;
}

static int norm_infer(gcam_opctx *c)
{
    norm_geom g;
    int rc = norm_geometry(c, &g);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = c->in[0]->ndim;
    memcpy(y->dims, c->in[0]->dims, sizeof y->dims);
    c->node->scratch = c->node->bscratch = (size_t)g.n_groups * 2 * sizeof(double);
    return GCAM_OK;
}

static int64_t affine_index(const gcam_opctx *c, const norm_geom *g, int64_t i)
{
    if (g->kind == K_MVN) return -1;
    const int64_t ch = (i / g->spatial) % g->C;
    return g->kind == K_GROUP && c->node->opset < 21 ? ch / (g->C / g->G) : ch;
}

/* mean and 1/std of each group into st[2 * group] */
static void stats(const gcam_opctx *c, const norm_geom *g, double *st)
{
    const gcam_tensor *x = c->in[0];
    const float *xv = gcam_f32(x);
    int64_t aff;
    memset(st, 0, sizeof(double) * 2 * (size_t)g->n_groups);
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        const int64_t k = group_of(g, x, i, &aff);
        st[2 * k] += xv[i];
        st[2 * k + 1] += (double)xv[i] * xv[i];
    }
    for (int64_t k = 0; k < g->n_groups; k++) {
        const double mu = st[2 * k] / (double)g->group_len, var = st[2 * k + 1] / (double)g->group_len - mu * mu;
        st[2 * k] = mu;
        st[2 * k + 1] = g->kind == K_MVN ? 1.0 / (sqrt(var > 0 ? var : 0) + 1e-9) : 1.0 / sqrt((var > 0 ? var : 0) + g->eps);
    }
}

static int norm_forward(gcam_opctx *c)
{
    norm_geom g;
    int rc = norm_geometry(c, &g);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    double *st = c->scratch;
    stats(c, &g, st);
    const float *xv = gcam_f32(x), *sc = g.kind == K_MVN ? NULL : gcam_f32(gcam_in(c, 1)),
                *bi = g.kind == K_MVN ? NULL : gcam_f32(gcam_in(c, 2));
    float *y = gcam_f32(c->out[0]);
    int64_t aff;
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        const int64_t k = group_of(&g, x, i, &aff), a = affine_index(c, &g, i);
        const float h = (float)((xv[i] - st[2 * k]) * st[2 * k + 1]);
        y[i] = a < 0 ? h : h * sc[a] + bi[a];
    }
    return GCAM_OK;
}

static int norm_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    norm_geom g;
    int rc = norm_geometry(c, &g);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    const int64_t n = gcam_numel(x);
    double *st = c->scratch, *acc = gcam_malloc(sizeof(double) * 2 * (size_t)g.n_groups);
    if (!acc) return gcam_node_errf(c, GCAM_E_NOMEM, "out of memory");
    stats(c, &g, st);
    const float *xv = gcam_f32(x), *dy = gcam_f32(c->dout[0]), *sc = g.kind == K_MVN ? NULL : gcam_f32(gcam_in(c, 1));
    float *dx = gcam_f32(c->din[0]);
    int64_t aff;
    memset(acc, 0, sizeof(double) * 2 * (size_t)g.n_groups);
    for (int64_t i = 0; i < n; i++) {
        const int64_t k = group_of(&g, x, i, &aff), a = affine_index(c, &g, i);
        const double h = (xv[i] - st[2 * k]) * st[2 * k + 1], gi = a < 0 ? dy[i] : (double)dy[i] * sc[a];
        acc[2 * k] += gi;
        acc[2 * k + 1] += gi * h;
    }
    for (int64_t i = 0; i < n; i++) {
        const int64_t k = group_of(&g, x, i, &aff), a = affine_index(c, &g, i);
        const double h = (xv[i] - st[2 * k]) * st[2 * k + 1], gi = a < 0 ? dy[i] : (double)dy[i] * sc[a];
        const double L = (double)g.group_len;
        dx[i] += (float)(st[2 * k + 1] * (gi - acc[2 * k] / L - h * acc[2 * k + 1] / L));
    }
    gcam_free(acc);
    return GCAM_OK;
}

const gcam_op gcam_op_InstanceNormalization = {.op_type = "InstanceNormalization", .since = 1, .required = 3, .infer = norm_infer, .forward = norm_forward, .backward = norm_backward};
const gcam_op gcam_op_GroupNormalization = {.op_type = "GroupNormalization", .since = 6, .required = 3, .infer = norm_infer, .forward = norm_forward, .backward = norm_backward};
const gcam_op gcam_op_MeanVarianceNormalization = {.op_type = "MeanVarianceNormalization", .since = 6, .required = 1, .infer = norm_infer, .forward = norm_forward, .backward = norm_backward};

/* ---- LpNormalization ---- */
static int lp_geom(gcam_opctx *c, int64_t *outer, int64_t *len, int64_t *inner, int *p)
{
    const gcam_tensor *x = c->in[0];
    int r = x->ndim;
    int64_t a = gcam_attr_int(c->node, "axis", -1);
    *p = (int)gcam_attr_int(c->node, "p", 2);
    if (x->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    if (a < -r || a >= r || (*p != 1 && *p != 2)) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis or p (must be 1 or 2) invalid");
    if (a < 0) a += r;
    *outer = *inner = 1;
    for (int d = 0; d < a; d++) *outer *= x->dims[d];
    for (int d = (int)a + 1; d < r; d++) *inner *= x->dims[d];
    *len = x->dims[a];
    return GCAM_OK;
}

static int lp_infer(gcam_opctx *c)
{
    int64_t o, l, i;
    int p, rc = lp_geom(c, &o, &l, &i, &p);
    if (rc) return rc;
    c->out[0]->dtype = GCAM_DT_F32;
    c->out[0]->ndim = c->in[0]->ndim;
    memcpy(c->out[0]->dims, c->in[0]->dims, sizeof c->in[0]->dims);
    return GCAM_OK;
}

static double lp_norm(const float *x, int64_t len, int64_t inner, int p)
{
    double s = 0;
    for (int64_t j = 0; j < len; j++) s += p == 1 ? fabs(x[j * inner]) : (double)x[j * inner] * x[j * inner];
    return p == 1 ? s : sqrt(s);
}

static int lp_run(gcam_opctx *c, int grad)
{
    int64_t outer, len, inner;
    int p, rc = lp_geom(c, &outer, &len, &inner, &p);
    if (rc) return rc;
    const float *x = gcam_f32(c->in[0]);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            const int64_t base = o * len * inner + k;
            const double nrm = lp_norm(x + base, len, inner, p);
            if (!grad) {
                for (int64_t j = 0; j < len; j++)
                    gcam_f32(c->out[0])[base + j * inner] = nrm > 0 ? (float)(x[base + j * inner] / nrm) : 0.0f;
                continue;
            }
            if (nrm == 0) continue;
            const float *dy = gcam_f32(c->dout[0]);
            double s = 0; /* sum dy * x / nrm */
            for (int64_t j = 0; j < len; j++) s += dy[base + j * inner] * (x[base + j * inner] / nrm);
            for (int64_t j = 0; j < len; j++) {
                const double xv = x[base + j * inner], d = p == 1 ? (xv > 0) - (xv < 0) : xv / nrm;
                gcam_f32(c->din[0])[base + j * inner] += (float)((dy[base + j * inner] - d * s) / nrm);
            }
        }
    return GCAM_OK;
}

static int lp_forward(gcam_opctx *c) { return lp_run(c, 0); }
static int lp_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? lp_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_LpNormalization = {.op_type = "LpNormalization", .since = 1, .required = 1, .infer = lp_infer, .forward = lp_forward, .backward = lp_backward};

/* ---- LRN over channels (axis 1) ---- */
static int lrn_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32 || x->ndim < 3) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "float32 input of rank >= 3 only");
    if (gcam_attr_int(c->node, "size", 0) < 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "size must be >= 1");
    c->out[0]->dtype = GCAM_DT_F32;
    c->out[0]->ndim = x->ndim;
    memcpy(c->out[0]->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

/* d = bias + alpha/size * sum of x^2 over the window of channel ch */
static double lrn_den(const gcam_opctx *c, const float *x, int64_t n, int64_t ch, int64_t s, int64_t C, int64_t S)
{
    const int64_t size = gcam_attr_int(c->node, "size", 1);
    const int64_t lo = ch - (size - 1) / 2, hi = ch + size / 2 + 1; /* floor((size-1)/2) before, ceil after */
    double sum = 0;
    for (int64_t q = lo < 0 ? 0 : lo; q < (hi > C ? C : hi); q++) {
        const double v = x[(n * C + q) * S + s];
        sum += v * v;
    }
    return gcam_attr_float(c->node, "bias", 1.0f) + gcam_attr_float(c->node, "alpha", 1e-4f) / (double)size * sum;
}

static int lrn_run(gcam_opctx *c, int grad)
{
    const gcam_tensor *xt = c->in[0];
    const float *x = gcam_f32(xt);
    const int64_t N = xt->dims[0], C = xt->dims[1], S = gcam_numel(xt) / (N * C != 0 ? N * C : 1);
    const int64_t size = gcam_attr_int(c->node, "size", 1);
    const double alpha = gcam_attr_float(c->node, "alpha", 1e-4f), beta = gcam_attr_float(c->node, "beta", 0.75f);
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t s = 0; s < S; s++) {
                const int64_t i = (n * C + ch) * S + s;
                const double d = lrn_den(c, x, n, ch, s, C, S);
                if (!grad) {
                    gcam_f32(c->out[0])[i] = (float)(x[i] * pow(d, -beta));
                    continue;
                }
                /* y_q depends on x_ch for every q whose window holds ch */
                const float *dy = gcam_f32(c->dout[0]);
                double g = dy[i] * pow(d, -beta);
                for (int64_t q = ch - size / 2; q <= ch + (size - 1) / 2; q++) {
                    if (q < 0 || q >= C) continue;
                    const int64_t iq = (n * C + q) * S + s;
                    const double dq = lrn_den(c, x, n, q, s, C, S);
                    g -= dy[iq] * x[iq] * beta * pow(dq, -beta - 1) * 2.0 * alpha / (double)size * x[i];
                }
                gcam_f32(c->din[0])[i] += (float)g;
            }
    return GCAM_OK;
}

static int lrn_forward(gcam_opctx *c) { return lrn_run(c, 0); }
static int lrn_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? lrn_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_LRN = {.op_type = "LRN", .since = 1, .required = 1, .infer = lrn_infer, .forward = lrn_forward, .backward = lrn_backward};
