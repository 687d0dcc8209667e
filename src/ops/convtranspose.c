/* ConvTranspose: the adjoint of Conv.  X [N, C, in...], W [C, M/group,
 * k...], optional bias B [M]; 1 to 3 spatial dims.  Output size per dim:
 * stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pads, or
 * output_shape when given (pads then follow auto_pad: SAME_UPPER puts the
 * odd pad at the end, as onnxruntime and the ONNX test data do).
 *
 * Computed as Conv's backward-data: per group, col = W_g^T x_g (GEMM) and
 * y_g = col2im(col) over the geometry of the conv that maps y to x.  The
 * gradient w.r.t. X is that conv: dx_g = W_g im2col(dy_g). */
#include <stdio.h>

#include "kernels/im2col.h"

typedef struct ct_shape {
    int nsp;
    int64_t N, C, M, group, cg, mg; /* channels in / out, per group */
    gcam_win w;                     /* the conv from y (its "in") to x (its "out") */
} ct_shape;

static int ct_geometry(gcam_opctx *c, ct_shape *s)
{
    const gcam_tensor *x = c->in[0], *wt = gcam_in(c, 1);
    gcam_win_attr a;
    int rc = gcam_win_parse(c->node, &a, c->err);
    if (rc) return rc;
    if (x->dtype != GCAM_DT_F32 || wt->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "float32 only");
    s->nsp = x->ndim - 2;
    if (s->nsp < 1 || s->nsp > 3 || wt->ndim != x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "X of rank %d, W of rank %d", x->ndim, wt->ndim);
    s->group = gcam_attr_int(c->node, "group", 1);
    s->N = x->dims[0];
    s->C = x->dims[1];
    if (s->group < 1 || s->C % s->group || wt->dims[0] != s->C)
        return gcam_node_errf(c, GCAM_E_SHAPE, "W's first dim %lld does not match %lld input channels in %lld groups",
                              (long long)wt->dims[0], (long long)s->C, (long long)s->group);
    s->cg = s->C / s->group;
    s->mg = wt->dims[1];
    s->M = s->mg * s->group;
    int64_t op[3] = {0, 0, 0}, os[3], k[3];
    int nop = gcam_attr_ints(c->node, "output_padding", op, 3);
    int nos = gcam_attr_ints(c->node, "output_shape", os, 3);
    if ((nop >= 0 && nop != s->nsp) || (nos >= 0 && nos != s->nsp)) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "output_padding/output_shape length");
    int64_t ysp[3];
    for (int i = 0; i < s->nsp; i++) {
        k[i] = wt->dims[2 + i];
        const int64_t st = a.ns ? a.s[i] : 1, dl = a.nd ? a.d[i] : 1, in = x->dims[2 + i];
        const int64_t full = st * (in - 1) + op[i] + (k[i] - 1) * dl + 1;
        if (nos >= 0 || a.auto_pad == GCAM_AUTOPAD_SAME_UPPER || a.auto_pad == GCAM_AUTOPAD_SAME_LOWER) {
            ysp[i] = nos >= 0 ? os[i] : in * st;
            int64_t total = full - ysp[i];
            if (total < 0) total = 0; /* output_shape larger than the full output: zeros at the end */
            const int64_t big = total - total / 2, small = total / 2;
            const int lower = a.auto_pad == GCAM_AUTOPAD_SAME_LOWER;
            a.pads[i] = lower ? big : small;
            a.pads[s->nsp + i] = lower ? small : big;
        } else {
            if (a.auto_pad == GCAM_AUTOPAD_VALID) a.pads[i] = a.pads[s->nsp + i] = 0;
            ysp[i] = full - (a.np || a.auto_pad == GCAM_AUTOPAD_VALID ? a.pads[i] + a.pads[s->nsp + i] : 0);
            if (!a.np) a.pads[i] = a.pads[s->nsp + i] = 0;
        }
        if (ysp[i] < 1) return gcam_node_errf(c, GCAM_E_SHAPE, "output size %lld in dim %d", (long long)ysp[i], i);
    }
    a.np = 2 * s->nsp;
    a.auto_pad = GCAM_AUTOPAD_NOTSET;
    a.ceil_mode = 0;
    char why[256];
    /* the end pad may be negative in effect (output_padding): the conv from y
     * to x then just ignores y's last rows, which floor division does */
    if (gcam_win_plan(&a, s->nsp, ysp, k, &s->w, why, sizeof why)) return gcam_node_errf(c, GCAM_E_SHAPE, "%s", why);
    for (int i = 0; i < s->nsp; i++)
        if (s->w.out[3 - s->nsp + i] != x->dims[2 + i])
            return gcam_node_errf(c, GCAM_E_SHAPE, "inconsistent output size in dim %d", i);
    if (gcam_in(c, 2) && (gcam_in(c, 2)->ndim != 1 || gcam_in(c, 2)->dims[0] != s->M)) return gcam_node_errf(c, GCAM_E_SHAPE, "bias must be [%lld]", (long long)s->M);
    return GCAM_OK;
}

static int ct_infer(gcam_opctx *c)
{
    ct_shape s;
    int rc = ct_geometry(c, &s);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = 2 + s.nsp;
    y->dims[0] = s.N;
    y->dims[1] = s.M;
    for (int i = 0; i < s.nsp; i++) y->dims[2 + i] = s.w.in[3 - s.nsp + i];
    c->node->scratch = c->node->bscratch = (size_t)s.mg * s.w.k_size * s.w.out_size * sizeof(float);
    return GCAM_OK;
}

static int ct_forward(gcam_opctx *c)
{
    ct_shape s;
    int rc = ct_geometry(c, &s);
    if (rc) return rc;
    const float *x = gcam_f32(c->in[0]), *wt = gcam_f32(gcam_in(c, 1)), *b = gcam_in(c, 2) ? gcam_f32(gcam_in(c, 2)) : NULL;
    float *y = gcam_f32(c->out[0]), *col = c->scratch;
    const int64_t K = s.mg * s.w.k_size, P = s.w.out_size, Y = s.w.in_size;
    const int nt = gcam_op_threads(c);
    for (int64_t n = 0; n < s.N; n++)
        for (int64_t g = 0; g < s.group; g++) {
            float *yg = y + (n * s.M + g * s.mg) * Y;
            for (int64_t m = 0; m < s.mg; m++)
                for (int64_t i = 0; i < Y; i++) yg[m * Y + i] = b ? b[g * s.mg + m] : 0.0f;
            gcam_sgemm(1, 0, K, P, s.cg, 1.0f, wt + g * s.cg * K, K, x + (n * s.C + g * s.cg) * P, P, 0.0f, col, P);
            gcam_col2im_add(col, s.mg, &s.w, 0, s.w.out[0] * s.w.out[1], yg, nt);
        }
    return GCAM_OK;
}

static int ct_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    ct_shape s;
    int rc = ct_geometry(c, &s);
    if (rc) return rc;
    const float *wt = gcam_f32(gcam_in(c, 1)), *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]), *col = c->scratch;
    const int64_t K = s.mg * s.w.k_size, P = s.w.out_size, Y = s.w.in_size;
    const int nt = gcam_op_threads(c);
    for (int64_t n = 0; n < s.N; n++)
        for (int64_t g = 0; g < s.group; g++) {
            gcam_im2col(dy + (n * s.M + g * s.mg) * Y, s.mg, &s.w, 0, s.w.out[0] * s.w.out[1], col, nt);
            gcam_sgemm(0, 0, s.cg, P, K, 1.0f, wt + g * s.cg * K, K, col, P, 1.0f, dx + (n * s.C + g * s.cg) * P, P);
        }
    return GCAM_OK;
}

const gcam_op gcam_op_ConvTranspose = {
    .op_type = "ConvTranspose", .since = 1, .required = 2,
    .infer = ct_infer,
    .forward = ct_forward,
    .backward = ct_backward,
};
