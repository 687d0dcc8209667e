/* Integer operator-format quantised ops (onnxruntime's QOperator models and
 * dynamic quantisation), forward only - their integer outputs carry no
 * gradient:
 *   DynamicQuantizeLinear  x -> uint8 y, scale, zero point from x's range;
 *   MatMulInteger          int32 (A - a_zp) @ (B - b_zp), numpy batching;
 *   QLinearMatMul          the same, requantised with the scales and zero points;
 *   ConvInteger            int32 Conv of (X - x_zp) and (W - w_zp);
 *   QLinearConv            the same plus int32 bias, requantised.
 * Zero points are scalars, or per row of A / per output channel of W.
 * Products accumulate exactly in int64. */
#include <math.h>

#include "kernels/dtype.h"
#include "kernels/im2col.h"

/* ---- DynamicQuantizeLinear ---- */
static int dq_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "input must be float");
    for (int o = 0; o < 3 && o < c->node->n_out; o++) {
        gcam_tensor *y = c->out[o];
        if (!y) continue;
        y->dtype = o == 1 ? GCAM_DT_F32 : GCAM_DT_U8;
        y->ndim = o ? 0 : x->ndim;
        if (!o) memcpy(y->dims, x->dims, sizeof x->dims);
    }
    return GCAM_OK;
}

static int dq_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    const float *xv = gcam_f32(x);
    float lo = 0, hi = 0;
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        lo = xv[i] < lo ? xv[i] : lo;
        hi = xv[i] > hi ? xv[i] : hi;
    }
    const float scale = (hi - lo) / 255.0f;
    const float zf = scale != 0 ? nearbyintf(0.0f - lo / scale) : 0.0f;
    const float zp = zf < 0 ? 0 : zf > 255 ? 255 : zf;
    for (int64_t i = 0, n = gcam_numel(x); i < n; i++) {
        float v = (scale != 0 ? nearbyintf(xv[i] / scale) : 0.0f) + zp;
        if (c->out[0]) ((uint8_t *)c->out[0]->data)[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    if (c->node->n_out > 1 && c->out[1]) gcam_f32(c->out[1])[0] = scale;
    if (c->node->n_out > 2 && c->out[2]) ((uint8_t *)c->out[2]->data)[0] = (uint8_t)zp;
    return GCAM_OK;
}

const gcam_op gcam_op_DynamicQuantizeLinear = {.op_type = "DynamicQuantizeLinear", .since = 6, .required = 1, .infer = dq_infer, .forward = dq_forward};

/* zero point value for row/channel k (scalar or per k), 0 if absent */
static int64_t zp_at(const gcam_tensor *z, int64_t k)
{
    if (!z) return 0;
    return gcam_get_i(z->data, z->dtype, gcam_numel(z) == 1 ? 0 : k);
}

static double scale_at(const gcam_tensor *s, int64_t k) { return gcam_f32(s)[gcam_numel(s) == 1 ? 0 : k]; }

static int requant_type(const gcam_tensor *yzp) { return yzp ? yzp->dtype : GCAM_DT_U8; }

static void store_requant(gcam_tensor *y, int64_t i, double v, const gcam_tensor *yzp)
{
    double lo = y->dtype == GCAM_DT_I8 ? -128 : 0, hi = y->dtype == GCAM_DT_I8 ? 127 : 255;
    v = nearbyint(v) + (double)zp_at(yzp, 0);
    gcam_set_i(y->data, y->dtype, i, (int64_t)(v < lo ? lo : v > hi ? hi : v));
}

/* ---- MatMulInteger and QLinearMatMul ---- */
typedef struct mm_io {
    const gcam_tensor *a, *b, *azp, *bzp, *as, *bs, *ys, *yzp;
} mm_io;

static mm_io mm_inputs(gcam_opctx *c)
{
    mm_io m = {0};
    if (c->node->op_type[0] == 'Q') {
        m = (mm_io){gcam_in(c, 0), gcam_in(c, 3), gcam_in(c, 2), gcam_in(c, 5), gcam_in(c, 1), gcam_in(c, 4), gcam_in(c, 6), gcam_in(c, 7)};
    } else {
        m.a = c->in[0];
        m.b = gcam_in(c, 1);
        m.azp = gcam_in(c, 2);
        m.bzp = gcam_in(c, 3);
    }
    return m;
}

static int mm_infer(gcam_opctx *c)
{
    mm_io m = mm_inputs(c);
    const int q = c->node->op_type[0] == 'Q';
    if (!m.a || !m.b || (q && (!m.as || !m.bs || !m.ys))) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing inputs");
    if (!gcam_dt_is_int(m.a->dtype) || !gcam_dt_is_int(m.b->dtype)) return gcam_node_errf(c, GCAM_E_DTYPE, "A and B must be integers");
    if (m.a->ndim < 1 || m.b->ndim < 1) return gcam_node_errf(c, GCAM_E_SHAPE, "scalar operand");
    const int64_t K = m.a->dims[m.a->ndim - 1], Kb = m.b->dims[m.b->ndim >= 2 ? m.b->ndim - 2 : 0];
    if (K != Kb) return gcam_node_errf(c, GCAM_E_SHAPE, "inner dims differ (%lld, %lld)", (long long)K, (long long)Kb);
    int64_t ab[GCAM_MAX_DIMS], bb[GCAM_MAX_DIMS], ob[GCAM_MAX_DIMS];
    int na = m.a->ndim >= 2 ? m.a->ndim - 2 : 0, nb = m.b->ndim >= 2 ? m.b->ndim - 2 : 0, no;
    memcpy(ab, m.a->dims, sizeof(int64_t) * (size_t)na);
    memcpy(bb, m.b->dims, sizeof(int64_t) * (size_t)nb);
    if (gcam_broadcast_shape(ab, na, bb, nb, ob, &no)) return gcam_node_errf(c, GCAM_E_SHAPE, "batch dims do not broadcast");
    gcam_tensor *y = c->out[0];
    y->dtype = q ? requant_type(m.yzp) : GCAM_DT_I32;
    y->ndim = 0;
    for (int d = 0; d < no; d++) y->dims[y->ndim++] = ob[d];
    if (m.a->ndim >= 2) y->dims[y->ndim++] = m.a->dims[m.a->ndim - 2];
    if (m.b->ndim >= 2) y->dims[y->ndim++] = m.b->dims[m.b->ndim - 1];
    return GCAM_OK;
}

static int mm_forward(gcam_opctx *c)
{
    mm_io m = mm_inputs(c);
    gcam_tensor *y = c->out[0];
    const int q = c->node->op_type[0] == 'Q';
    const int64_t M = m.a->ndim >= 2 ? m.a->dims[m.a->ndim - 2] : 1, K = m.a->dims[m.a->ndim - 1];
    const int64_t N = m.b->ndim >= 2 ? m.b->dims[m.b->ndim - 1] : 1;
    const int nbatch_dims = y->ndim - (m.a->ndim >= 2) - (m.b->ndim >= 2);
    int64_t batch = 1;
    for (int d = 0; d < nbatch_dims; d++) batch *= y->dims[d];
    int64_t sa[GCAM_MAX_DIMS] = {0}, sb[GCAM_MAX_DIMS] = {0};
    gcam_bstrides(y->dims, nbatch_dims, m.a->dims, m.a->ndim >= 2 ? m.a->ndim - 2 : 0, sa);
    gcam_bstrides(y->dims, nbatch_dims, m.b->dims, m.b->ndim >= 2 ? m.b->ndim - 2 : 0, sb);
    for (int64_t bt = 0; bt < batch; bt++) {
        const int64_t oa = gcam_boff(bt, y->dims, nbatch_dims, sa) * M * K, obb = gcam_boff(bt, y->dims, nbatch_dims, sb) * K * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                int64_t s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += (gcam_get_i(m.a->data, m.a->dtype, oa + i * K + k) - zp_at(m.azp, i)) *
                         (gcam_get_i(m.b->data, m.b->dtype, obb + k * N + j) - zp_at(m.bzp, j));
                const int64_t o = (bt * M + i) * N + j;
                if (!q) gcam_set_i(y->data, GCAM_DT_I32, o, s);
                else store_requant(y, o, (double)s * scale_at(m.as, i) * scale_at(m.bs, j) / scale_at(m.ys, 0), m.yzp);
            }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_MatMulInteger = {.op_type = "MatMulInteger", .since = 6, .required = 2, .infer = mm_infer, .forward = mm_forward};
const gcam_op gcam_op_QLinearMatMul = {.op_type = "QLinearMatMul", .since = 6, .required = 8, .infer = mm_infer, .forward = mm_forward};

/* ---- ConvInteger and QLinearConv ---- */
typedef struct cv_io {
    const gcam_tensor *x, *w, *xzp, *wzp, *xs, *ws, *ys, *yzp, *bias;
} cv_io;

static cv_io cv_inputs(gcam_opctx *c)
{
    if (c->node->op_type[0] == 'Q')
        return (cv_io){gcam_in(c, 0), gcam_in(c, 3), gcam_in(c, 2), gcam_in(c, 5), gcam_in(c, 1),
                       gcam_in(c, 4), gcam_in(c, 6), gcam_in(c, 7), gcam_in(c, 8)};
    return (cv_io){c->in[0], gcam_in(c, 1), gcam_in(c, 2), gcam_in(c, 3), NULL, NULL, NULL, NULL, NULL};
}

static int cv_geom(gcam_opctx *c, const cv_io *v, gcam_win *w)
{
    gcam_win_attr a;
    int rc = gcam_win_parse(c->node, &a, c->err);
    if (rc) return rc;
    if (!v->x || !v->w || v->x->ndim < 3 || v->w->ndim != v->x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "X and W ranks");
    if (!gcam_dt_is_int(v->x->dtype) || !gcam_dt_is_int(v->w->dtype)) return gcam_node_errf(c, GCAM_E_DTYPE, "X and W must be integers");
    const int64_t G = gcam_attr_int(c->node, "group", 1);
    if (G < 1 || v->x->dims[1] != v->w->dims[1] * G || v->w->dims[0] % G) return gcam_node_errf(c, GCAM_E_SHAPE, "channels and groups");
    char why[256];
    if (gcam_win_plan(&a, v->x->ndim - 2, v->x->dims + 2, v->w->dims + 2, w, why, sizeof why))
        return gcam_node_errf(c, GCAM_E_SHAPE, "%s", why);
    return GCAM_OK;
}

static int cv_infer(gcam_opctx *c)
{
    cv_io v = cv_inputs(c);
    gcam_win w;
    int rc = cv_geom(c, &v, &w);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = c->node->op_type[0] == 'Q' ? requant_type(v.yzp) : GCAM_DT_I32;
    gcam_win_out_shape(&w, v.x, v.w->dims[0], y);
    return GCAM_OK;
}

static int cv_forward(gcam_opctx *c)
{
    cv_io v = cv_inputs(c);
    gcam_win w;
    int rc = cv_geom(c, &v, &w);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    const int64_t N = v.x->dims[0], C = v.x->dims[1], M = v.w->dims[0], G = gcam_attr_int(c->node, "group", 1);
    const int64_t cg = C / G, mg = M / G;
    for (int64_t n = 0; n < N; n++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t o = 0; o < w.out_size; o++) {
                const int64_t o0 = o / (w.out[1] * w.out[2]), o1 = (o / w.out[2]) % w.out[1], o2 = o % w.out[2];
                int64_t s = 0;
                for (int64_t ci = 0; ci < cg; ci++)
                    for (int64_t t = 0; t < w.k_size; t++) {
                        const int64_t k0 = t / (w.k[1] * w.k[2]), k1 = (t / w.k[2]) % w.k[1], k2 = t % w.k[2];
                        const int64_t i0 = o0 * w.s[0] - w.pb[0] + k0 * w.d[0], i1 = o1 * w.s[1] - w.pb[1] + k1 * w.d[1],
                                      i2 = o2 * w.s[2] - w.pb[2] + k2 * w.d[2];
                        const int64_t cin = (m / mg) * cg + ci;
                        int64_t xv = zp_at(v.xzp, 0); /* padding reads the zero point: contributes 0 */
                        if (i0 >= 0 && i0 < w.in[0] && i1 >= 0 && i1 < w.in[1] && i2 >= 0 && i2 < w.in[2])
                            xv = gcam_get_i(v.x->data, v.x->dtype, (n * C + cin) * w.in_size + (i0 * w.in[1] + i1) * w.in[2] + i2);
                        s += (xv - zp_at(v.xzp, 0)) * (gcam_get_i(v.w->data, v.w->dtype, (m * cg + ci) * w.k_size + t) - zp_at(v.wzp, m));
                    }
                const int64_t at = (n * M + m) * w.out_size + o;
                if (c->node->op_type[0] != 'Q') gcam_set_i(y->data, GCAM_DT_I32, at, s);
                else {
                    if (v.bias) s += gcam_get_i(v.bias->data, v.bias->dtype, m);
                    store_requant(y, at, (double)s * scale_at(v.xs, 0) * scale_at(v.ws, m) / scale_at(v.ys, 0), v.yzp);
                }
            }
    return GCAM_OK;
}

const gcam_op gcam_op_ConvInteger = {.op_type = "ConvInteger", .since = 6, .required = 2, .infer = cv_infer, .forward = cv_forward};
const gcam_op gcam_op_QLinearConv = {.op_type = "QLinearConv", .since = 6, .required = 8, .infer = cv_infer, .forward = cv_forward};
