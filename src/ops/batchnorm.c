/* batchnorm.c - BatchNormalization, inference form:
 *   y = (x - mean) / sqrt(var + epsilon) * scale + B      per channel (dim 1)
 * Training mode (batch statistics, running-stat outputs) is not supported:
 * Grad-CAM runs the network as deployed.
 *
 * Backward: dx = dy * scale / sqrt(var + eps).  If scale / B / mean / var are
 * activations rather than initializers, their gradients are given too.
 *
 * A 4-D X may be stored channels last (GCAM_TF_NHWC, X and Y together),
 * when the planner keeps a DenseNet's concat -> BN -> ReLU -> conv chain
 * NHWC; the per-channel factors then sit in scratch, computed once a run. */
#include "kernels/im2col.h"

#include <math.h>

#define BN_PAR_MIN 32768

static int bn_check(gcam_opctx *c, int64_t *N, int64_t *C, int64_t *S)
{
    const gcam_node *n = c->node;
    if (n->n_in < 5) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs 5 inputs, has %d", n->n_in);
    if (gcam_attr_int(n, "training_mode", 0) != 0)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "training_mode=1 is not supported (inference only)");
    if (n->opset < 7 && gcam_attr_int(n, "is_test", 1) == 0)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "is_test=0 (training, opset %d) is not supported (inference only)", n->opset);
    if (n->opset < 9 && gcam_attr_int(n, "spatial", 1) == 0)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "spatial=0 (statistics per element, opset %d) is not supported", n->opset);
    for (int i = 1; i < n->n_out; i++)
        if (c->out[i])
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED,
                                  "output %d (training statistics) is not supported", i);
    const gcam_tensor *x = c->in[0];
    for (int i = 0; i < 5; i++) {
        if (!c->in[i]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "input %d is missing", i);
        if (c->in[i]->dtype != GCAM_DT_F32)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "input %d is %s; only float32 is supported",
                                  i, gcam_dtype_name(c->in[i]->dtype));
    }
    if (x->ndim < 2) return gcam_node_errf(c, GCAM_E_SHAPE, "X must have at least 2 dims (N, C, ...)");
    *N = x->dims[0];
    *C = x->dims[1];
    *S = 1;
    for (int i = 2; i < x->ndim; i++) *S *= x->dims[i];
    for (int i = 1; i < 5; i++) {
        const gcam_tensor *p = c->in[i];
        if (gcam_numel(p) != *C || p->ndim > 1)
            return gcam_node_errf(c, GCAM_E_SHAPE, "input %d must have shape [%lld]", i, (long long)*C);
    }
    return GCAM_OK;
}

static int bn_infer(gcam_opctx *c)
{
    int64_t N, C, S;
    int rc = bn_check(c, &N, &C, &S);
    if (rc) return rc;
    gcam_tensor *x = c->in[0], *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    c->nhwc_ok = x->ndim == 4 ? GCAM_NHWC_TIED : GCAM_NHWC_NO;
    c->node->scratch = x->ndim == 4 ? sizeof(float) * (size_t)C : 0;
    c->node->bscratch = 0;
    return GCAM_OK;
}

/* Channels last: y = act((x - mean) a + B) over each pixel's C values. */
static void bn_nhwc(const float *x, float *y, int64_t P, int64_t C, const float *a, const float *mean,
                    const float *bias, const gcam_fusion *f, int nt)
{
    const int act = f->on ? f->act : GCAM_ACT_NONE;
    const float lo = act == GCAM_ACT_RELU ? 0.0f : act == GCAM_ACT_CLIP ? f->act_lo : -INFINITY;
    const float hi = act == GCAM_ACT_CLIP ? f->act_hi : INFINITY;
#pragma omp parallel for num_threads(nt) if (P * C > BN_PAR_MIN) schedule(static)
    for (int64_t p = 0; p < P; p++) {
        const float *xp = x + p * C;
        float *yp = y + p * C;
        for (int64_t ch = 0; ch < C; ch++) {
            const float v = (xp[ch] - mean[ch]) * a[ch] + bias[ch], u = v < lo ? lo : v;
            yp[ch] = u > hi ? hi : u;
        }
    }
}

static int bn_forward(gcam_opctx *c)
{
    int64_t N, C, S;
    int rc = bn_check(c, &N, &C, &S);
    if (rc) return rc;
    const float eps = gcam_attr_float(c->node, "epsilon", 1e-5f);
    const float *x = gcam_f32(c->in[0]), *scale = gcam_f32(c->in[1]), *bias = gcam_f32(c->in[2]);
    const float *mean = gcam_f32(c->in[3]), *var = gcam_f32(c->in[4]);
    float *y = gcam_f32(c->out[0]); /* with a fused activation: the activation's output */
    const int nt = gcam_op_threads(c);
    const gcam_fusion *f = &c->node->fuse;
    const int act = f->on ? f->act : GCAM_ACT_NONE;
    if (act != GCAM_ACT_NONE && act != GCAM_ACT_RELU && act != GCAM_ACT_CLIP)
        return gcam_node_errf(c, GCAM_E_INTERNAL, "unsupported fused activation %d", act);
    if (c->in[0]->flags & GCAM_TF_NHWC) {
        float *a = c->scratch;
        for (int64_t ch = 0; ch < C; ch++) a[ch] = scale[ch] / sqrtf(var[ch] + eps);
        bn_nhwc(x, y, N * S, C, a, mean, bias, f, nt);
        return GCAM_OK;
    }
#pragma omp parallel for num_threads(nt) if (N * C * S > BN_PAR_MIN) schedule(static)
    for (int64_t p = 0; p < N * C; p++) {
        const int64_t ch = p % C;
        /* (x - mean) first: folding into a x + (b - mean a) cancels badly when
         * x and mean are large and close (seen on efficientnet_b0) */
        const float a = scale[ch] / sqrtf(var[ch] + eps);
        const float m = mean[ch], b = bias[ch];
        const float *xp = x + p * S;
        float *yp = y + p * S;
        if (act == GCAM_ACT_RELU) { /* DenseNet's BN + ReLU in one pass, Relu's rule */
            for (int64_t i = 0; i < S; i++) {
                const float v = (xp[i] - m) * a + b;
                yp[i] = v < 0.0f ? 0.0f : v;
            }
        } else if (act == GCAM_ACT_CLIP) {
            const float lo = f->act_lo, hi = f->act_hi;
            for (int64_t i = 0; i < S; i++) {
                const float v = (xp[i] - m) * a + b, u = v < lo ? lo : v;
                yp[i] = u > hi ? hi : u;
            }
        } else {
            for (int64_t i = 0; i < S; i++) yp[i] = (xp[i] - m) * a + b;
        }
    }
    return GCAM_OK;
}

static int bn_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    int64_t N, C, S;
    int rc = bn_check(c, &N, &C, &S);
    if (rc) return rc;
    if (c->in[0]->flags & GCAM_TF_NHWC) /* the planner keeps the backward pass's tensors plain */
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a BatchNormalization planned NHWC");
    const float eps = gcam_attr_float(c->node, "epsilon", 1e-5f);
    const float *x = gcam_f32(c->in[0]), *scale = gcam_f32(c->in[1]);
    const float *mean = gcam_f32(c->in[3]), *var = gcam_f32(c->in[4]);
    const float *dy = gcam_f32(c->dout[0]);
    const int nt = gcam_op_threads(c);
    if (c->din[0]) {
        float *dx = gcam_f32(c->din[0]);
#pragma omp parallel for num_threads(nt) if (N * C * S > BN_PAR_MIN) schedule(static)
        for (int64_t p = 0; p < N * C; p++) {
            const int64_t ch = p % C;
            const float a = scale[ch] / sqrtf(var[ch] + eps);
            const float *dyp = dy + p * S;
            float *dxp = dx + p * S;
            for (int64_t i = 0; i < S; i++) dxp[i] += a * dyp[i];
        }
    }
    int want_params = 0;
    for (int i = 1; i < 5; i++) want_params |= c->din[i] != NULL;
    if (!want_params) return GCAM_OK;
    /* Parameters that are activations: per channel, with
     *   r = 1/sqrt(var+eps), xhat = (x - mean) r,
     *   dscale = sum dy xhat, dB = sum dy, dmean = -scale r sum dy,
     *   dvar = -scale r^3 / 2 * sum dy (x - mean). */
    for (int64_t ch = 0; ch < C; ch++) {
        const double r = 1.0 / sqrt((double)var[ch] + eps);
        double sdy = 0.0, sdyxc = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + ch) * S, *dyp = dy + (n * C + ch) * S;
            for (int64_t i = 0; i < S; i++) {
                sdy += dyp[i];
                sdyxc += (double)dyp[i] * (xp[i] - mean[ch]);
            }
        }
        if (c->din[1]) gcam_f32(c->din[1])[ch] += (float)(sdyxc * r);
        if (c->din[2]) gcam_f32(c->din[2])[ch] += (float)sdy;
        if (c->din[3]) gcam_f32(c->din[3])[ch] += (float)(-scale[ch] * r * sdy);
        if (c->din[4]) gcam_f32(c->din[4])[ch] += (float)(-0.5 * scale[ch] * r * r * r * sdyxc);
    }
    return GCAM_OK;
}

const gcam_op gcam_op_BatchNormalization = {
    .op_type = "BatchNormalization", .since = 6, .required = 5,
    .flags = GCAM_OPF_EPILOGUE | GCAM_OPF_LAYOUT, /* a following Relu or Clip (the planner decides) */
    .infer = bn_infer,
    .forward = bn_forward,
    .backward = bn_backward,
};
