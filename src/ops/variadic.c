/* Variadic elementwise ops over any number of inputs, numpy broadcasting:
 * Sum, Mean, Min, Max.  float32, and integers for Sum/Min/Max.
 * Gradient: Sum dy to every input, Mean dy/n; Min/Max dy to the first input
 * holding the extreme (PyTorch's rule for ties is to split; we pick one, as
 * onnxruntime's gradient does), each summed over its broadcast dims.
 * NaN propagates through Min/Max (ONNX 13+). */
#include <math.h>

#include "kernels/dtype.h"

enum { SUM, MEAN, MIN, MAX };

static int kind(const gcam_node *n)
{
    const char *t = n->op_type;
    return !strcmp(t, "Sum") ? SUM : !strcmp(t, "Mean") ? MEAN : !strcmp(t, "Min") ? MIN : MAX;
}

static int var_infer(gcam_opctx *c)
{
    int n = c->node->n_in;
    if (n < 1 || !c->in[0]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs at least one input");
    const int dt = c->in[0]->dtype;
    for (int k = 0; k < n; k++) {
        if (!c->in[k]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "input %d omitted", k);
        if (c->in[k]->dtype != dt) return gcam_node_errf(c, GCAM_E_DTYPE, "inputs of different types");
    }
    if (n > 16) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "%d inputs (at most 16)", n);
    if (dt != GCAM_DT_F32 && !(gcam_dt_is_int(dt) && kind(c->node) != MEAN))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(dt));
    c->out[0]->dtype = dt;
    return gcam_bcast_infer_n(c, 0, n, c->out[0]);
}

/* which input gives output i (Min/Max), or the value (Sum/Mean) */
static double combine(gcam_opctx *c, int64_t i, int64_t (*s)[GCAM_MAX_DIMS], int *arg)
{
    const gcam_tensor *y = c->out[0];
    const int k0 = kind(c->node), n = c->node->n_in;
    double acc = 0;
    for (int k = 0; k < n; k++) {
        const gcam_tensor *x = c->in[k];
        double v = gcam_get_f(x->data, x->dtype, gcam_boff(i, y->dims, y->ndim, s[k]));
        if (k0 == SUM || k0 == MEAN) acc += v;
        else if (k == 0 || isnan(v) || (k0 == MIN ? v < acc : v > acc)) {
            if (k && isnan(acc)) continue;
            acc = v;
            *arg = k;
        }
    }
    return k0 == MEAN ? acc / n : acc;
}

static int var_forward(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    int n = c->node->n_in, arg = 0;
    int64_t s[16][GCAM_MAX_DIMS];
    for (int k = 0; k < n; k++) gcam_bstrides(y->dims, y->ndim, c->in[k]->dims, c->in[k]->ndim, s[k]);
    for (int64_t i = 0, m = gcam_numel(y); i < m; i++) {
        if (y->dtype == GCAM_DT_F32) {
            gcam_f32(y)[i] = (float)combine(c, i, s, &arg);
            continue;
        }
        /* integers exactly */
        int64_t acc = 0;
        for (int k = 0; k < n; k++) {
            int64_t v = gcam_get_i(c->in[k]->data, c->in[k]->dtype, gcam_boff(i, y->dims, y->ndim, s[k]));
            int kd = kind(c->node);
            acc = kd == SUM ? acc + v : k == 0 ? v : kd == MIN ? (v < acc ? v : acc) : (v > acc ? v : acc);
        }
        gcam_set_i(y->data, y->dtype, i, acc);
    }
    return GCAM_OK;
}

static int var_backward(gcam_opctx *c)
{
    const gcam_tensor *y = c->out[0];
    if (!c->dout[0] || y->dtype != GCAM_DT_F32) return GCAM_OK;
    int n = c->node->n_in, k0 = kind(c->node);
    int64_t s[16][GCAM_MAX_DIMS];
    for (int k = 0; k < n; k++) gcam_bstrides(y->dims, y->ndim, c->in[k]->dims, c->in[k]->ndim, s[k]);
    const float *dy = gcam_f32(c->dout[0]);
    for (int64_t i = 0, m = gcam_numel(y); i < m; i++) {
        int arg = 0;
        if (k0 == MIN || k0 == MAX) combine(c, i, s, &arg);
        for (int k = 0; k < n; k++) {
            if (!c->din[k] || ((k0 == MIN || k0 == MAX) && k != arg)) continue;
            gcam_f32(c->din[k])[gcam_boff(i, y->dims, y->ndim, s[k])] += k0 == MEAN ? dy[i] / n : dy[i];
        }
    }
    return GCAM_OK;
}

#define VARIADIC_OP(Name)                                                                        \
    const gcam_op gcam_op_##Name = {.op_type = #Name, .since = 6, .required = 1, .infer = var_infer, .forward = var_forward, \
                                    .backward = var_backward};
VARIADIC_OP(Sum)
VARIADIC_OP(Mean)
VARIADIC_OP(Min)
VARIADIC_OP(Max)
