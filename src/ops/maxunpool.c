/* MaxUnpool: scatters X into a zero tensor at the flat indices MaxPool
 * returned (per [N, C] plane) within the default unpooled size
 * (in - 1) * stride - pads + kernel; an output_shape input (constant) makes
 * the output that size, the default-sized result at its top-left corner (as
 * the ONNX reference pads it).  Gradient: dy gathered at the same places. */
#include "kernels/dtype.h"
#include "kernels/im2col.h"

static int mu_shape(gcam_opctx *c, int64_t *dims, int64_t *deflt)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1), *os = gcam_in(c, 2);
    if (x->dtype != GCAM_DT_F32 || !ix || ix->dtype != GCAM_DT_I64 || x->ndim < 3 || ix->ndim != x->ndim)
        return gcam_node_errf(c, GCAM_E_SHAPE, "X float32 [N,C,...] and int64 indices of its shape");
    gcam_win_attr a;
    int rc = gcam_pool_parse(c->node, &a, c->err);
    if (rc) return rc;
    const int nsp = x->ndim - 2;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < nsp; i++)
        dims[2 + i] = (x->dims[2 + i] - 1) * (a.ns ? a.s[i] : 1) - (a.np ? a.pads[i] + a.pads[nsp + i] : 0) + a.k[i];
    memcpy(deflt, dims, sizeof(int64_t) * (size_t)x->ndim);
    if (os) {
        int n = gcam_const_ints(c, os, "output_shape", dims, GCAM_MAX_DIMS);
        if (n < 0) return n;
        if (n != x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "output_shape of %d dims", n);
        for (int i = 0; i < x->ndim; i++)
            if (dims[i] < deflt[i]) return gcam_node_errf(c, GCAM_E_SHAPE, "output_shape smaller than the unpooled size");
    }
    return GCAM_OK;
}

static int mu_infer(gcam_opctx *c)
{
    int64_t d[GCAM_MAX_DIMS], dd[GCAM_MAX_DIMS];
    int rc = mu_shape(c, d, dd);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = c->in[0]->ndim;
    memcpy(y->dims, d, sizeof(int64_t) * (size_t)y->ndim);
    return GCAM_OK;
}

static int mu_run(gcam_opctx *c, int grad)
{
    const gcam_tensor *x = c->in[0], *ix = gcam_in(c, 1), *y = c->out[0];
    int64_t d[GCAM_MAX_DIMS], dd[GCAM_MAX_DIMS];
    int rc = mu_shape(c, d, dd);
    if (rc) return rc;
    const int64_t planes = x->dims[0] * x->dims[1], xin = gcam_numel(x) / (planes != 0 ? planes : 1),
                  yin = gcam_numel(y) / (planes != 0 ? planes : 1);
    int64_t din = 1; /* elements of a default-sized plane */
    for (int i = 2; i < x->ndim; i++) din *= dd[i];
    if (!grad) memset(y->data, 0, gcam_tensor_bytes(y));
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < xin; i++) {
            int64_t t = gcam_i64(ix)[p * xin + i];
            /* MaxPool's indices count from the start of the tensor; keep the plane's part */
            if (t >= din) t -= p * din;
            if (t < 0 || t >= din) return gcam_node_errf(c, GCAM_E_RANGE, "index %lld out of range", (long long)t);
            /* default-plane coordinates -> the output plane's offset */
            int64_t off = 0, stride = 1, r = t;
            for (int k = x->ndim - 1; k >= 2; k--) {
                off += (r % dd[k]) * stride;
                r /= dd[k];
                stride *= d[k];
            }
            t = off;
            if (grad) gcam_f32(c->din[0])[p * xin + i] += gcam_f32(c->dout[0])[p * yin + t];
            else gcam_f32(c->out[0])[p * yin + t] = gcam_f32(x)[p * xin + i];
        }
    return GCAM_OK;
}

static int mu_forward(gcam_opctx *c) { return mu_run(c, 0); }
static int mu_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? mu_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_MaxUnpool = {.op_type = "MaxUnpool", .since = 6, .required = 2, .infer = mu_infer, .forward = mu_forward, .backward = mu_backward};
