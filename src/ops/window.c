/* Window functions (opset 17): HannWindow, HammingWindow, BlackmanWindow of
 * the constant scalar size, periodic (default) or symmetric, in output_datatype
 * (default float32). */
#include <math.h>

#include "kernels/dtype.h"

static int win_size(gcam_opctx *c, int64_t *n)
{
    const gcam_tensor *s = c->in[0];
    if (!(s->flags & GCAM_TF_CONST) || !s->data || gcam_numel(s) != 1)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "size must be a constant scalar");
    *n = gcam_get_i(s->data, s->dtype, 0);
    if (*n < 0 || *n > ((int64_t)1 << 30)) return gcam_node_errf(c, GCAM_E_RANGE, "size %lld", (long long)*n);
    return GCAM_OK;
}

static int win_infer(gcam_opctx *c)
{
    int64_t n = 0;
    int rc = win_size(c, &n);
    if (rc) return rc;
    int dt = (int)gcam_attr_int(c->node, "output_datatype", GCAM_DT_F32);
    if (dt == GCAM_DT_F64 || dt == GCAM_DT_F16) dt = GCAM_DT_F32;
    if (!gcam_dt_stored(dt)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "output_datatype %d", dt);
    c->out[0]->dtype = dt;
    c->out[0]->ndim = 1;
    c->out[0]->dims[0] = n;
    return GCAM_OK;
}

static int win_forward(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    const int64_t n = y->dims[0];
    const double N = gcam_attr_int(c->node, "periodic", 1) ? (double)n : (double)n - 1;
    const char k = c->node->op_type[1]; /* H'a'nn, H'a'mming, B'l'ackman */
    const int hamming = c->node->op_type[2] == 'm';
    for (int64_t i = 0; i < n; i++) {
        const double t = N > 0 ? 2 * M_PI * (double)i / N : 0;
        double v = k == 'l' ? 0.42 - 0.5 * cos(t) + 0.08 * cos(2 * t) : hamming ? 25.0 / 46 - 21.0 / 46 * cos(t) : 0.5 - 0.5 * cos(t);
        gcam_set_f(y->data, y->dtype, i, v);
    }
    return GCAM_OK;
}

const gcam_op gcam_op_HannWindow = {.op_type = "HannWindow", .since = 6, .required = 1, .infer = win_infer, .forward = win_forward};
const gcam_op gcam_op_HammingWindow = {.op_type = "HammingWindow", .since = 6, .required = 1, .infer = win_infer, .forward = win_forward};
const gcam_op gcam_op_BlackmanWindow = {.op_type = "BlackmanWindow", .since = 6, .required = 1, .infer = win_infer, .forward = win_forward};
