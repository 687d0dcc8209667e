/* LayerNormalization (opset 17): normalise over the axes [axis, rank), then
 * scale and shift.  ConvNeXt and vision transformers export it.  A row's
 * forward is gcam_layernorm_f32 (kernels/vmath.c, 8 lanes with AVX2). */
#include <math.h>

#include "gcam_internal.h"
#include "kernels/vmath.h"

typedef struct {
    int64_t rows, cols; /* rows normalised independently, each of `cols` elements */
    int axis;
} ln_geom;

static int ln_geom_of(gcam_opctx *c, ln_geom *g)
{
    const gcam_tensor *x = c->in[0];
    int64_t axis = gcam_attr_int(c->node, "axis", -1);
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis >= x->ndim) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis out of range");
    g->axis = (int)axis;
    g->rows = 1;
    g->cols = 1;
    for (int d = 0; d < x->ndim; d++) *(d < axis ? &g->rows : &g->cols) *= x->dims[d];
    return GCAM_OK;
}

static int ln_infer(gcam_opctx *c)
{
    gcam_tensor *x = c->in[0], *y = c->out[0];
    if (x->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    ln_geom g;
    int rc = ln_geom_of(c, &g);
    if (rc) return rc;
    for (int k = 1; k < 3 && k < c->node->n_in; k++)
        if (c->in[k] && gcam_numel(c->in[k]) != g.cols)
            return gcam_node_errf(c, GCAM_E_SHAPE, "input %d has %lld elements, expected %lld", k,
                                  (long long)gcam_numel(c->in[k]), (long long)g.cols);
    *y = (gcam_tensor){.name = y->name, .producer = y->producer, .flags = y->flags, .data = y->data};
    y->dtype = GCAM_DT_F32;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    /* optional Mean and InvStdDev: X's shape with the normalised axes set to 1 */
    for (int k = 1; k < 3 && k < c->node->n_out; k++) {
        gcam_tensor *s = c->out[k];
        if (!s) continue;
        s->dtype = GCAM_DT_F32;
        s->ndim = x->ndim;
        for (int d = 0; d < x->ndim; d++) s->dims[d] = d < g.axis ? x->dims[d] : 1;
    }
    return GCAM_OK;
}

static int ln_forward(gcam_opctx *c)
{
    ln_geom g;
    ln_geom_of(c, &g);
    float eps = gcam_attr_float(c->node, "epsilon", 1e-5f);
    const float *x = gcam_f32(c->in[0]);
    const float *scale = c->node->n_in > 1 && c->in[1] ? gcam_f32(c->in[1]) : NULL;
    const float *bias = c->node->n_in > 2 && c->in[2] ? gcam_f32(c->in[2]) : NULL;
    float *y = gcam_f32(c->out[0]);
    float *mean = c->node->n_out > 1 && c->out[1] ? gcam_f32(c->out[1]) : NULL;
    float *inv_std = c->node->n_out > 2 && c->out[2] ? gcam_f32(c->out[2]) : NULL;
#pragma omp parallel for if (g.rows > 64)
    for (int64_t r = 0; r < g.rows; r++) {
        double mu, rstd;
        gcam_layernorm_f32(x + r * g.cols, y + r * g.cols, g.cols, eps, scale, bias, &mu, &rstd);
        if (mean) mean[r] = (float)mu;
        if (inv_std) inv_std[r] = (float)rstd;
    }
    return GCAM_OK;
}

/* dx = rstd * (dxh - mean(dxh) - xh * mean(dxh * xh)),  dxh = dy * scale */
static int ln_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    ln_geom g;
    ln_geom_of(c, &g);
    float eps = gcam_attr_float(c->node, "epsilon", 1e-5f);
    const float *x = gcam_f32(c->in[0]), *dy = gcam_f32(c->dout[0]);
    const float *scale = c->node->n_in > 1 && c->in[1] ? gcam_f32(c->in[1]) : NULL;
    float *dx = gcam_f32(c->din[0]);
#pragma omp parallel for if (g.rows > 64)
    for (int64_t r = 0; r < g.rows; r++) {
        const float *xr = x + r * g.cols, *dyr = dy + r * g.cols;
        double mu, rstd, m1 = 0, m2 = 0;
        gcam_layernorm_stats_ref(xr, g.cols, eps, &mu, &rstd);
        for (int64_t j = 0; j < g.cols; j++) {
            double dxh = dyr[j] * (scale ? scale[j] : 1.0f), xh = (xr[j] - mu) * rstd;
            m1 += dxh;
            m2 += dxh * xh;
        }
        m1 /= (double)g.cols;
        m2 /= (double)g.cols;
        for (int64_t j = 0; j < g.cols; j++) {
            double dxh = dyr[j] * (scale ? scale[j] : 1.0f), xh = (xr[j] - mu) * rstd;
            dx[r * g.cols + j] += (float)(rstd * (dxh - m1 - xh * m2));
        }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_LayerNormalization = {
    .op_type = "LayerNormalization", .since = 6, .required = 2,
    .infer = ln_infer,
    .forward = ln_forward,
    .backward = ln_backward,
};
