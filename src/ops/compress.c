/* Compress: the slices of x along `axis` (or of flattened x when absent)
 * where the constant bool condition is true; a shorter condition leaves the
 * rest out.  The output size depends on the condition's values, hence the
 * constant.  Any stored type; gradient: dy back to the kept slices. */
#include "kernels/dtype.h"

static int cp_geom(gcam_opctx *c, int64_t *outer, int64_t *len, int64_t *inner, int64_t *kept)
{
    const gcam_tensor *x = c->in[0], *m = gcam_in(c, 1);
    if (!m || !(m->flags & GCAM_TF_CONST) || !m->data)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "a non-constant condition is not supported (it decides the shape)");
    const gcam_attr *a = gcam_attr_find(c->node, "axis");
    *outer = *inner = 1;
    if (a) {
        int64_t ax = a->i, r = x->ndim;
        if (ax < -r || ax >= r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range", (long long)ax);
        if (ax < 0) ax += r;
        for (int d = 0; d < ax; d++) *outer *= x->dims[d];
        for (int d = (int)ax + 1; d < r; d++) *inner *= x->dims[d];
        *len = x->dims[ax];
    } else *len = gcam_numel(x);
    const int64_t nm = gcam_numel(m) < *len ? gcam_numel(m) : *len;
    *kept = 0;
    for (int64_t j = 0; j < nm; j++) *kept += gcam_get_i(m->data, m->dtype, j) != 0;
    return GCAM_OK;
}

static int cp_infer(gcam_opctx *c)
{
    int64_t o = 0, l = 0, in = 0, k = 0;
    int rc = cp_geom(c, &o, &l, &in, &k);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const gcam_attr *a = gcam_attr_find(c->node, "axis");
    y->dtype = x->dtype;
    if (!a) {
        y->ndim = 1;
        y->dims[0] = k;
    } else {
        y->ndim = x->ndim;
        memcpy(y->dims, x->dims, sizeof x->dims);
        y->dims[a->i < 0 ? a->i + x->ndim : a->i] = k;
    }
    return GCAM_OK;
}

static int cp_run(gcam_opctx *c, int grad)
{
    int64_t outer = 0, len = 0, inner = 0, kept = 0;
    int rc = cp_geom(c, &outer, &len, &inner, &kept);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0], *m = gcam_in(c, 1);
    const int64_t nm = gcam_numel(m);
    const size_t es = gcam_dtype_size(x->dtype), row = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++) {
        int64_t q = 0;
        for (int64_t j = 0; j < len && j < nm; j++) {
            if (!gcam_get_i(m->data, m->dtype, j)) continue;
            const int64_t src = (o * len + j) * inner, dst = (o * kept + q++) * inner;
            if (!grad) memcpy((char *)c->out[0]->data + (size_t)dst * es, (const char *)x->data + (size_t)src * es, row);
            else
                for (int64_t e = 0; e < inner; e++) gcam_f32(c->din[0])[src + e] += gcam_f32(c->dout[0])[dst + e];
        }
    }
    return GCAM_OK;
}

static int cp_forward(gcam_opctx *c) { return cp_run(c, 0); }
static int cp_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? cp_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_Compress = {.op_type = "Compress", .since = 6, .required = 2, .infer = cp_infer, .forward = cp_forward, .backward = cp_backward};
