/* Mod: remainder with numpy broadcasting.  fmod=0 (integers): the sign of
 * the divisor, like Python's %; fmod=1: the sign of the dividend, like C's
 * fmod (required for floats).  Integer division by zero is an error.
 * Gradient (floats): da = dy, db = -q dy with q = trunc(a / b) (fmod=1)
 * or floor(a / b). */
#include <math.h>

#include "kernels/dtype.h"

static int mod_infer(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1);
    if (a->dtype != b->dtype) return gcam_node_errf(c, GCAM_E_DTYPE, "operand dtypes differ");
    if (a->dtype != GCAM_DT_F32 && !gcam_dt_is_int(a->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(a->dtype));
    c->out[0]->dtype = a->dtype;
    return gcam_bcast_infer_n(c, 0, 2, c->out[0]);
}

static int mod_forward(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1);
    gcam_tensor *y = c->out[0];
    const int cmod = gcam_attr_int(c->node, "fmod", 0) != 0;
    int64_t sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
    gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) {
        int64_t ia = gcam_boff(i, y->dims, y->ndim, sa), ib = gcam_boff(i, y->dims, y->ndim, sb);
        if (y->dtype == GCAM_DT_F32) {
            float u = gcam_f32(a)[ia], v = gcam_f32(b)[ib], r = fmodf(u, v);
            if (!cmod && r != 0 && ((r < 0) != (v < 0))) r += v;
            gcam_f32(y)[i] = r;
            continue;
        }
        int64_t u = gcam_get_i(a->data, a->dtype, ia), v = gcam_get_i(b->data, b->dtype, ib);
        if (v == 0) return gcam_node_errf(c, GCAM_E_RANGE, "integer modulo by zero");
        int64_t r = v == -1 ? 0 : u % v;
        if (!cmod && r != 0 && ((r < 0) != (v < 0))) r += v;
        gcam_set_i(y->data, y->dtype, i, r);
    }
    return GCAM_OK;
}

static int mod_backward(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1), *y = c->out[0];
    if (!c->dout[0]) return GCAM_OK;
    const int cmod = gcam_attr_int(c->node, "fmod", 0) != 0;
    const float *dy = gcam_f32(c->dout[0]);
    int64_t sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
    gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) {
        int64_t ia = gcam_boff(i, y->dims, y->ndim, sa), ib = gcam_boff(i, y->dims, y->ndim, sb);
        if (c->din[0]) gcam_f32(c->din[0])[ia] += dy[i];
        if (c->din[1]) {
            float q = gcam_f32(a)[ia] / gcam_f32(b)[ib];
            gcam_f32(c->din[1])[ib] -= (cmod ? truncf(q) : floorf(q)) * dy[i];
        }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Mod = {
    .op_type = "Mod", .since = 6, .required = 2,
    .infer = mod_infer,
    .forward = mod_forward,
    .backward = mod_backward,
};
