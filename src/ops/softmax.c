/* Softmax: y = exp(x - max) / sum(exp(x - max)) over groups of elements.
 *
 * Opset < 13: the input is coerced to 2-D at `axis` (default 1) and each row
 * of the [prod(dims[:axis]), prod(dims[axis:])] matrix is one group.
 * Opset >= 13: each group is the elements along `axis` alone (default -1).
 * Both are outer x len x inner with a group of len elements at stride inner:
 * old semantics are the special case inner = 1.
 *
 * Backward: dx = y * (dy - sum(dy * y)) per group.
 *
 * LogSoftmax and Hardmax share the groups: LogSoftmax y = x - max - log(sum
 * exp(x - max)), dx = dy - exp(y) sum(dy); Hardmax is 1 at the first
 * maximum of each group, 0 elsewhere, and passes a zero gradient. */
#include <math.h>
#include <stdlib.h>

#include "kernels/elementwise.h"
#include "kernels/vmath.h"

typedef struct softmax_geom {
    int64_t outer, len, inner;
} softmax_geom;

static int softmax_geometry(gcam_opctx *c, softmax_geom *g)
{
    const gcam_tensor *x = c->in[0];
    int legacy = c->node->opset < 13;
    int64_t axis = gcam_attr_int(c->node, "axis", legacy ? 1 : -1);
    int r = x->ndim;
    /* a 0-d tensor is one group of one element */
    if (r == 0) {
        *g = (softmax_geom){1, 1, 1};
        return GCAM_OK;
    }
    if (axis < -r || axis >= r)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d",
                              (long long)axis, r);
    if (axis < 0) axis += r;
    g->outer = 1;
    for (int i = 0; i < axis; i++) g->outer *= x->dims[i];
    if (legacy) {
        g->len = 1;
        for (int i = (int)axis; i < r; i++) g->len *= x->dims[i];
        g->inner = 1;
    } else {
        g->len = x->dims[axis];
        g->inner = 1;
        for (int i = (int)axis + 1; i < r; i++) g->inner *= x->dims[i];
    }
    return GCAM_OK;
}

static int softmax_infer(gcam_opctx *c)
{
    softmax_geom g = {1, 1, 1};
    int rc = gcam_unary_infer(c);
    if (rc) return rc;
    return softmax_geometry(c, &g);
}

/* Groups are walked in tasks of up to SM_COLS neighbouring groups (inner > 1:
 * neighbouring columns of one outer slice), so every pass over a task reads
 * contiguous runs of memory instead of one element per cache line. */
enum { SM_COLS = 64 };

static int softmax_forward(gcam_opctx *c)
{
    softmax_geom g = {1, 1, 1};
    int rc = softmax_geometry(c, &g);
    if (rc) return rc;
    const float *x = gcam_f32(c->in[0]);
    float *y = gcam_f32(c->out[0]);
    const int64_t len = g.len, st = g.inner;
    const int64_t per = (st + SM_COLS - 1) / SM_COLS, tasks = g.outer * per;
    const int nt = gcam_ew_threads(c);
    if (st == 1 && len >= 16) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && g.outer > 1 && g.outer * len >= 32768)
        for (int64_t o = 0; o < g.outer; o++) gcam_softmax_f32(x + o * len, y + o * len, len);
        return GCAM_OK;
    }
#pragma omp parallel for schedule(static) num_threads(nt) \
    if (nt > 1 && tasks > 1 && g.outer * st * len >= 32768)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t k0 = (t % per) * SM_COLS, w = st - k0 < SM_COLS ? st - k0 : SM_COLS;
        const int64_t base = (t / per) * len * st + k0;
        float m[SM_COLS];
        double s[SM_COLS];
        for (int64_t k = 0; k < w; k++) {
            m[k] = -INFINITY;
            s[k] = 0.0;
        }
        for (int64_t j = 0; j < len; j++) {
            const float *xr = x + base + j * st;
            for (int64_t k = 0; k < w; k++) m[k] = xr[k] > m[k] ? xr[k] : m[k];
        }
        for (int64_t j = 0; j < len; j++) {
            const float *xr = x + base + j * st;
            float *yr = y + base + j * st;
            for (int64_t k = 0; k < w; k++) {
                float e = expf(xr[k] - m[k]);
                yr[k] = e;
                s[k] += e;
            }
        }
        float inv[SM_COLS];
        for (int64_t k = 0; k < w; k++) inv[k] = (float)(1.0 / s[k]);
        for (int64_t j = 0; j < len; j++) {
            float *yr = y + base + j * st;
            for (int64_t k = 0; k < w; k++) yr[k] *= inv[k];
        }
    }
    return GCAM_OK;
}

static int softmax_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    softmax_geom g = {1, 1, 1};
    int rc = softmax_geometry(c, &g);
    if (rc) return rc;
    const float *y = gcam_f32(c->out[0]), *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    const int64_t len = g.len, st = g.inner;
    const int64_t per = (st + SM_COLS - 1) / SM_COLS, tasks = g.outer * per;
    const int nt = gcam_ew_threads(c);
#pragma omp parallel for schedule(static) num_threads(nt) \
    if (nt > 1 && tasks > 1 && g.outer * st * len >= 32768)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t k0 = (t % per) * SM_COLS, w = st - k0 < SM_COLS ? st - k0 : SM_COLS;
        const int64_t base = (t / per) * len * st + k0;
        double s[SM_COLS];
        for (int64_t k = 0; k < w; k++) s[k] = 0.0;
        for (int64_t j = 0; j < len; j++) {
            const int64_t r = base + j * st;
            for (int64_t k = 0; k < w; k++) s[k] += (double)dy[r + k] * y[r + k];
        }
        float sf[SM_COLS];
        for (int64_t k = 0; k < w; k++) sf[k] = (float)s[k];
        for (int64_t j = 0; j < len; j++) {
            const int64_t r = base + j * st;
            for (int64_t k = 0; k < w; k++) dx[r + k] += y[r + k] * (dy[r + k] - sf[k]);
        }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Softmax = {
    .op_type = "Softmax", .since = 1, .required = 1,
    .infer = softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
};

/* LogSoftmax and Hardmax, one group at a time */
static int logsoftmax_forward(gcam_opctx *c)
{
    softmax_geom g = {1, 1, 1};
    int rc = softmax_geometry(c, &g);
    if (rc) return rc;
    const float *x = gcam_f32(c->in[0]);
    float *y = gcam_f32(c->out[0]);
    const int hard = c->node->op_type[0] == 'H';
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t k = 0; k < g.inner; k++) {
            const int64_t base = o * g.len * g.inner + k;
            float m = -INFINITY;
            int64_t arg = 0;
            for (int64_t j = 0; j < g.len; j++)
                if (x[base + j * g.inner] > m) {
                    m = x[base + j * g.inner];
                    arg = j;
                }
            if (hard) {
                for (int64_t j = 0; j < g.len; j++) y[base + j * g.inner] = j == arg ? 1.0f : 0.0f;
                continue;
            }
            double s = 0.0;
            for (int64_t j = 0; j < g.len; j++) s += exp((double)x[base + j * g.inner] - m);
            const float ls = (float)log(s);
            for (int64_t j = 0; j < g.len; j++) y[base + j * g.inner] = x[base + j * g.inner] - m - ls;
        }
    return GCAM_OK;
}

static int logsoftmax_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0] || c->node->op_type[0] == 'H') return GCAM_OK;
    softmax_geom g = {1, 1, 1};
    int rc = softmax_geometry(c, &g);
    if (rc) return rc;
    const float *y = gcam_f32(c->out[0]), *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t k = 0; k < g.inner; k++) {
            const int64_t base = o * g.len * g.inner + k;
            double s = 0.0;
            for (int64_t j = 0; j < g.len; j++) s += dy[base + j * g.inner];
            for (int64_t j = 0; j < g.len; j++) {
                const int64_t i = base + j * g.inner;
                dx[i] += dy[i] - expf(y[i]) * (float)s;
            }
        }
    return GCAM_OK;
}

const gcam_op gcam_op_LogSoftmax = {
    .op_type = "LogSoftmax", .since = 1, .required = 1,
    .infer = softmax_infer,
    .forward = logsoftmax_forward,
    .backward = logsoftmax_backward,
};

const gcam_op gcam_op_Hardmax = {
    .op_type = "Hardmax", .since = 1, .required = 1,
    .infer = softmax_infer,
    .forward = logsoftmax_forward,
    .backward = logsoftmax_backward,
};
