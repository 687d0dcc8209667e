/* TopK: the k (constant) largest (or smallest, largest=0) values along axis
 * and their int64 indices; sorted (the default) by value, ties by lower
 * index.  float32 or any integer.  Gradient: dy scattered back to the
 * chosen positions. */
#include <stdlib.h>

#include "kernels/dtype.h"

static int tk_geom(gcam_opctx *c, int64_t *k, int64_t *axis)
{
    int64_t v[1];
    int n = gcam_const_ints(c, gcam_in(c, 1), "k", v, 1);
    if (n < 0) return n;
    int r = c->in[0]->ndim;
    int64_t a = gcam_attr_int(c->node, "axis", -1);
    if (n != 1 || a < -r || a >= r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "bad k or axis");
    *axis = a < 0 ? a + r : a;
    *k = v[0];
    if (*k < 0 || *k > c->in[0]->dims[*axis]) return gcam_node_errf(c, GCAM_E_SHAPE, "k = %lld out of range", (long long)*k);
    return GCAM_OK;
}

static int tk_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    int64_t k = 0, axis = 0;
    int rc = tk_geom(c, &k, &axis);
    if (rc) return rc;
    if (x->dtype != GCAM_DT_F32 && !gcam_dt_is_int(x->dtype)) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    for (int o = 0; o < 2; o++) {
        gcam_tensor *y = c->out[o];
        if (!y) continue;
        y->dtype = o ? GCAM_DT_I64 : x->dtype;
        y->ndim = x->ndim;
        memcpy(y->dims, x->dims, sizeof x->dims);
        y->dims[axis] = k;
    }
    c->node->scratch = c->node->bscratch = (size_t)x->dims[axis] * sizeof(int64_t);
    return GCAM_OK;
}

/* the k chosen positions (along axis) of group (o, i), in output order */
static void choose(gcam_opctx *c, int64_t o, int64_t i, int64_t k, int64_t axis, int64_t *idx)
{
    const gcam_tensor *x = c->in[0];
    int64_t len = x->dims[axis], inner = 1;
    for (int d = (int)axis + 1; d < x->ndim; d++) inner *= x->dims[d];
    const int largest = gcam_attr_int(c->node, "largest", 1) != 0;
    for (int64_t j = 0; j < len; j++) idx[j] = j;
    /* selection sort of the first k: k is small in practice */
    for (int64_t a = 0; a < k; a++) {
        int64_t best = a;
        for (int64_t j = a + 1; j < len; j++) {
            double vj = gcam_get_f(x->data, x->dtype, (o * len + idx[j]) * inner + i);
            double vb = gcam_get_f(x->data, x->dtype, (o * len + idx[best]) * inner + i);
            int better = largest ? vj > vb : vj < vb;
            if (better || (vj == vb && idx[j] < idx[best])) best = j;
        }
        int64_t t = idx[a];
        idx[a] = idx[best];
        idx[best] = t;
    }
}

static int tk_run(gcam_opctx *c, int grad)
{
    const gcam_tensor *x = c->in[0];
    int64_t k = 0, axis = 0;
    int rc = tk_geom(c, &k, &axis);
    if (rc) return rc;
    int64_t outer = 1, inner = 1, len = x->dims[axis];
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = (int)axis + 1; d < x->ndim; d++) inner *= x->dims[d];
    int64_t *idx = c->scratch;
    const size_t es = gcam_dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            choose(c, o, i, k, axis, idx);
            for (int64_t a = 0; a < k; a++) {
                const int64_t dst = (o * k + a) * inner + i, src = (o * len + idx[a]) * inner + i;
                if (grad) {
                    if (c->dout[0]) gcam_f32(c->din[0])[src] += gcam_f32(c->dout[0])[dst];
                    continue;
                }
                if (c->out[0]) memcpy((char *)c->out[0]->data + (size_t)dst * es, (const char *)x->data + (size_t)src * es, es);
                if (c->out[1]) gcam_i64(c->out[1])[dst] = idx[a];
            }
        }
    return GCAM_OK;
}

static int tk_forward(gcam_opctx *c) { return tk_run(c, 0); }
static int tk_backward(gcam_opctx *c) { return c->din[0] ? tk_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_TopK = {.op_type = "TopK", .since = 6, .required = 2, .infer = tk_infer, .forward = tk_forward, .backward = tk_backward};
