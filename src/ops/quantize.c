/* QuantizeLinear and DequantizeLinear (opsets 10-21): per tensor, per axis
 * (opset 13, `axis` default 1) or per block (opset 21, block_size along
 * axis).  Quantize: y = saturate(round_half_even(x / scale) + zero_point)
 * to uint8 (default), int8, uint16, int16 or int32; Dequantize:
 * y = (x - zero_point) * scale, float32.
 *
 * Gradient: the straight-through estimator, so Grad-CAM runs on QDQ models
 * from onnxruntime's quantiser.  The rounding counts as the identity on the
 * real value: Quantize gives dx = dy / scale (its integer output carries a
 * float gradient, GCAM_OPF_STRAIGHT_THROUGH), Dequantize dx = dy * scale,
 * so the pair composes to the identity - and to 0 where the value was
 * clipped to the integer range. */
#include <math.h>

#include "kernels/dtype.h"

/* index into scale / zero_point of element i */
static int64_t param_index(const gcam_opctx *c, const gcam_tensor *x, int64_t i, int64_t axis, int64_t block)
{
    const gcam_tensor *s = gcam_in(c, 1);
    if (gcam_numel(s) == 1 && s->ndim <= 1 && !block) return 0;
    int64_t inner = 1;
    for (int d = (int)axis + 1; d < x->ndim; d++) inner *= x->dims[d];
    const int64_t a = (i / inner) % x->dims[axis];
    if (!block) return a;
    /* blocked: scale has x's shape with dim axis divided by block */
    const int64_t outer = i / (inner * x->dims[axis]), nb = s->dims[axis];
    return (outer * nb + a / block) * inner + i % inner;
}

static int q_geom(gcam_opctx *c, int64_t *axis, int64_t *block)
{
    const gcam_tensor *x = c->in[0], *s = gcam_in(c, 1), *z = gcam_in(c, 2);
    if (!s || s->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "scale must be float");
    int r = x->ndim;
    int64_t a = gcam_attr_int(c->node, "axis", 1);
    *block = gcam_attr_int(c->node, "block_size", 0);
    const int per_tensor = gcam_numel(s) == 1 && s->ndim <= 1 && !*block;
    if (r == 0 || per_tensor) a = 0;
    else if (a < -r || a >= r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range", (long long)a);
    else if (a < 0) a += r;
    *axis = a;
    const int64_t ns = gcam_numel(s);
    if (*block) {
        if (s->ndim != r) return gcam_node_errf(c, GCAM_E_SHAPE, "blocked scale must have the input's rank");
    } else if (!(ns == 1 && s->ndim <= 1) && !(s->ndim == 1 && r > 0 && ns == x->dims[a]))
        return gcam_node_errf(c, GCAM_E_SHAPE, "scale of %lld elements for axis %lld", (long long)ns, (long long)a);
    if (z && gcam_numel(z) != ns) return gcam_node_errf(c, GCAM_E_SHAPE, "zero_point and scale differ in size");
    return GCAM_OK;
}

static int q_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *z = gcam_in(c, 2);
    int64_t axis, block;
    int rc = q_geom(c, &axis, &block);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    const int quant = c->node->op_type[0] == 'Q';
    if (quant) {
        if (x->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "input dtype %s", gcam_dtype_name(x->dtype));
        int dt = z ? z->dtype : (int)gcam_attr_int(c->node, "output_dtype", GCAM_DT_U8);
        if (!dt) dt = GCAM_DT_U8;
        if (!gcam_dt_is_int(dt)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "quantising to %s not supported", gcam_dtype_name(dt));
        y->dtype = dt;
    } else {
        if (!gcam_dt_is_int(x->dtype)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "input dtype %s not supported", gcam_dtype_name(x->dtype));
        if (z && z->dtype != x->dtype) return gcam_node_errf(c, GCAM_E_DTYPE, "zero_point of another type");
        y->dtype = GCAM_DT_F32;
    }
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    return GCAM_OK;
}

static void int_range(int dt, double *lo, double *hi)
{
    switch (dt) {
    case GCAM_DT_I8: *lo = -128; *hi = 127; break;
    case GCAM_DT_I16: *lo = -32768; *hi = 32767; break;
    case GCAM_DT_U16: *lo = 0; *hi = 65535; break;
    case GCAM_DT_I32: *lo = -2147483648.0; *hi = 2147483647.0; break;
    default: *lo = 0; *hi = 255; break;
    }
}

static int q_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *s = gcam_in(c, 1), *z = gcam_in(c, 2);
    gcam_tensor *y = c->out[0];
    int64_t axis, block;
    int rc = q_geom(c, &axis, &block);
    if (rc) return rc;
    const int quant = c->node->op_type[0] == 'Q';
    double lo, hi;
    int_range(y->dtype, &lo, &hi);
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        const int64_t p = param_index(c, x, i, axis, block);
        const double sc = gcam_f32(s)[p], zp = z ? (double)gcam_get_i(z->data, z->dtype, p) : 0.0;
        if (quant) {
            double v = nearbyintf(gcam_f32(x)[i] / (float)sc) + zp; /* in float32, as the reference */
            gcam_set_i(y->data, y->dtype, i, (int64_t)(v < lo ? lo : v > hi ? hi : v));
        } else
            gcam_f32(y)[i] = (float)(((double)gcam_get_i(x->data, x->dtype, i) - zp) * sc);
    }
    return GCAM_OK;
}

static int q_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0], *s = gcam_in(c, 1), *z = gcam_in(c, 2), *y = c->out[0];
    int64_t axis, block;
    int rc = q_geom(c, &axis, &block);
    if (rc) return rc;
    const int quant = c->node->op_type[0] == 'Q';
    double lo, hi;
    int_range(y->dtype, &lo, &hi);
    const float *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        const int64_t p = param_index(c, x, i, axis, block);
        const double sc = gcam_f32(s)[p];
        if (!quant) {
            dx[i] += (float)(dy[i] * sc);
            continue;
        }
        const double zp = z ? (double)gcam_get_i(z->data, z->dtype, p) : 0.0, v = gcam_f32(x)[i] / sc + zp;
        if (v >= lo - 0.5 && v <= hi + 0.5) dx[i] += (float)(dy[i] / sc); /* clipped values pass nothing */
    }
    return GCAM_OK;
}

const gcam_op gcam_op_QuantizeLinear = {.op_type = "QuantizeLinear", .since = 6, .required = 2, .flags = GCAM_OPF_STRAIGHT_THROUGH,
                                        .infer = q_infer, .forward = q_forward, .backward = q_backward};
const gcam_op gcam_op_DequantizeLinear = {.op_type = "DequantizeLinear", .since = 6, .required = 2, .infer = q_infer, .forward = q_forward,
                                          .backward = q_backward};
