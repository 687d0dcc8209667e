/* NonMaxSuppression and Unique: ops whose output size depends on the input
 * values, so their inputs must be known at plan time (constants, folded
 * subgraphs, or graph inputs read only here, which are bound by value).
 *
 * NonMaxSuppression: per batch and class, boxes scoring above
 * score_threshold in decreasing score order (ties by index), each kept
 * unless its IoU with a kept box exceeds iou_threshold, at most
 * max_output_boxes_per_class; int64 [n, 3] rows (batch, class, box).
 * center_point_box 0: [y1, x1, y2, x2] with corners in any order; 1:
 * [x_center, y_center, width, height].
 *
 * Unique: the distinct elements (or slices along axis) sorted ascending
 * (sorted=1) or in order of first occurrence, with the index of each first
 * occurrence, the inverse map and the counts. */
#include <stdlib.h>

#include "kernels/dtype.h"

static int need_const(gcam_opctx *c, int k, const char *what)
{
    const gcam_tensor *t = gcam_in(c, k);
    if (t && (!(t->flags & GCAM_TF_CONST) || !t->data))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "%s is not known at plan time; its values decide the output's size", what);
    return GCAM_OK;
}

typedef struct { float lo0, lo1, hi0, hi1; } nms_box;

static nms_box box_at(const float *b, int center)
{
    nms_box r;
    if (center) {
        r.lo1 = b[0] - b[2] / 2; r.hi1 = b[0] + b[2] / 2;
        r.lo0 = b[1] - b[3] / 2; r.hi0 = b[1] + b[3] / 2;
    } else {
        r.lo0 = b[0] < b[2] ? b[0] : b[2]; r.hi0 = b[0] < b[2] ? b[2] : b[0];
        r.lo1 = b[1] < b[3] ? b[1] : b[3]; r.hi1 = b[1] < b[3] ? b[3] : b[1];
    }
    return r;
}

static double iou(nms_box a, nms_box b)
{
    double i0 = (a.hi0 < b.hi0 ? a.hi0 : b.hi0) - (a.lo0 > b.lo0 ? a.lo0 : b.lo0);
    double i1 = (a.hi1 < b.hi1 ? a.hi1 : b.hi1) - (a.lo1 > b.lo1 ? a.lo1 : b.lo1);
    if (i0 <= 0 || i1 <= 0) return 0;
    double inter = i0 * i1, ua = (double)(a.hi0 - a.lo0) * (a.hi1 - a.lo1) + (double)(b.hi0 - b.lo0) * (b.hi1 - b.lo1) - inter;
    return ua > 0 ? inter / ua : 0;
}

/* Runs NMS; writes rows into out (NULL: count only).  Returns the count or -1 (no memory). */
static int64_t nms_run(gcam_opctx *c, int64_t *out)
{
    const gcam_tensor *bx = c->in[0], *sc = gcam_in(c, 1), *mo = gcam_in(c, 2), *it = gcam_in(c, 3), *st = gcam_in(c, 4);
    const int64_t B = sc->dims[0], C = sc->dims[1], N = sc->dims[2];
    const int64_t maxo = mo && gcam_numel(mo) ? gcam_get_i(mo->data, mo->dtype, 0) : 0;
    const double thr = it && gcam_numel(it) ? gcam_f32(it)[0] : 0.0;
    const int has_st = st && gcam_numel(st);
    const float sthr = has_st ? gcam_f32(st)[0] : 0.0f;
    const int center = (int)gcam_attr_int(c->node, "center_point_box", 0);
    int64_t *order = gcam_malloc(sizeof(int64_t) * (size_t)(N ? N : 1)), *kept = gcam_malloc(sizeof(int64_t) * (size_t)(N ? N : 1));
    if (!order || !kept) {
        gcam_free(order);
        gcam_free(kept);
        return -1;
    }
    int64_t count = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < C; k++) {
            const float *s = gcam_f32(sc) + (b * C + k) * N;
            int64_t n = 0, nk = 0;
            for (int64_t i = 0; i < N; i++)
                if (!has_st || s[i] > sthr) order[n++] = i;
            for (int64_t i = 1; i < n; i++) { /* insertion sort: descending score, ascending index */
                int64_t v = order[i], j = i - 1;
                while (j >= 0 && s[order[j]] < s[v]) { order[j + 1] = order[j]; j--; }
                order[j + 1] = v;
            }
            for (int64_t i = 0; i < n && nk < maxo; i++) {
                nms_box cand = box_at(gcam_f32(bx) + (b * N + order[i]) * 4, center);
                int ok = 1;
                for (int64_t q = 0; q < nk && ok; q++) ok = iou(cand, box_at(gcam_f32(bx) + (b * N + kept[q]) * 4, center)) <= thr;
                if (!ok) continue;
                kept[nk++] = order[i];
                if (out) {
                    out[count * 3] = b;
                    out[count * 3 + 1] = k;
                    out[count * 3 + 2] = order[i];
                }
                count++;
            }
        }
    gcam_free(order);
    gcam_free(kept);
    return count;
}

static int nms_infer(gcam_opctx *c)
{
    for (int k = 0; k < 5; k++) {
        int rc = need_const(c, k, k < 2 ? "the boxes or scores" : "a threshold");
        if (rc) return rc;
    }
    const gcam_tensor *bx = c->in[0], *sc = gcam_in(c, 1);
    if (bx->dtype != GCAM_DT_F32 || sc->dtype != GCAM_DT_F32 || bx->ndim != 3 || sc->ndim != 3 || bx->dims[2] != 4 ||
        bx->dims[0] != sc->dims[0] || bx->dims[1] != sc->dims[2])
        return gcam_node_errf(c, GCAM_E_SHAPE, "boxes must be [B,N,4] and scores [B,C,N], float");
    int64_t n = nms_run(c, NULL);
    if (n < 0) return gcam_node_errf(c, GCAM_E_NOMEM, "out of memory");
    c->out[0]->dtype = GCAM_DT_I64;
    c->out[0]->ndim = 2;
    c->out[0]->dims[0] = n;
    c->out[0]->dims[1] = 3;
    return GCAM_OK;
}

static int nms_forward(gcam_opctx *c) { return nms_run(c, gcam_i64(c->out[0])) < 0 ? gcam_node_errf(c, GCAM_E_NOMEM, "out of memory") : GCAM_OK; }

const gcam_op gcam_op_NonMaxSuppression = {.op_type = "NonMaxSuppression", .since = 6, .required = 2,
                                               .flags = GCAM_OPF_SHAPE_PARAMS, .param_slot = 0, .infer = nms_infer, .forward = nms_forward};

/* ---- Unique ---- */
typedef struct uq_geom {
    int64_t outer, len, inner; /* slices j in [0, len) of outer x inner elements */
} uq_geom;

static int uq_geometry(gcam_opctx *c, uq_geom *g)
{
    const gcam_tensor *x = c->in[0];
    const gcam_attr *a = gcam_attr_find(c->node, "axis");
    if (!a) {
        *g = (uq_geom){1, gcam_numel(x), 1};
        return GCAM_OK;
    }
    int64_t ax = a->i, r = x->ndim;
    if (ax < -r || ax >= r) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis out of range");
    if (ax < 0) ax += r;
    g->outer = g->inner = 1;
    for (int d = 0; d < ax; d++) g->outer *= x->dims[d];
    for (int d = (int)ax + 1; d < r; d++) g->inner *= x->dims[d];
    g->len = x->dims[ax];
    return GCAM_OK;
}

/* compares slices i and j: -1, 0, 1 */
static int slice_cmp(const gcam_tensor *x, const uq_geom *g, int64_t i, int64_t j)
{
    for (int64_t o = 0; o < g->outer; o++)
        for (int64_t e = 0; e < g->inner; e++) {
            double a = gcam_get_f(x->data, x->dtype, (o * g->len + i) * g->inner + e);
            double b = gcam_get_f(x->data, x->dtype, (o * g->len + j) * g->inner + e);
            if (a != b) return a < b ? -1 : 1;
        }
    return 0;
}

/* first[] gets the first occurrence of each distinct slice in output order;
 * inv[j] the output position of slice j.  Returns the distinct count. */
static int64_t uq_run(gcam_opctx *c, const uq_geom *g, int64_t *first, int64_t *inv)
{
    const gcam_tensor *x = c->in[0];
    int64_t n = 0;
    for (int64_t j = 0; j < g->len; j++) {
        int64_t q = 0;
        while (q < n && slice_cmp(x, g, first[q], j)) q++;
        if (q == n) first[n++] = j;
    }
    if (gcam_attr_int(c->node, "sorted", 1))
        for (int64_t i = 1; i < n; i++) {
            int64_t v = first[i], j = i - 1;
            while (j >= 0 && slice_cmp(x, g, first[j], v) > 0) { first[j + 1] = first[j]; j--; }
            first[j + 1] = v;
        }
    for (int64_t j = 0; j < g->len && inv; j++)
        for (int64_t q = 0; q < n; q++)
            if (!slice_cmp(x, g, first[q], j)) { inv[j] = q; break; }
    return n;
}

static int uq_infer(gcam_opctx *c)
{
    int rc = need_const(c, 0, "the input");
    uq_geom g;
    if (rc || (rc = uq_geometry(c, &g))) return rc;
    const gcam_tensor *x = c->in[0];
    int64_t *first = gcam_malloc(sizeof(int64_t) * (size_t)(g.len ? g.len : 1));
    if (!first) return gcam_node_errf(c, GCAM_E_NOMEM, "out of memory");
    int64_t n = uq_run(c, &g, first, NULL);
    gcam_free(first);
    const gcam_attr *a = gcam_attr_find(c->node, "axis");
    for (int o = 0; o < c->node->n_out && o < 4; o++) {
        gcam_tensor *y = c->out[o];
        if (!y) continue;
        y->dtype = o ? GCAM_DT_I64 : x->dtype;
        y->ndim = 1;
        y->dims[0] = o == 2 ? g.len : n;
        if (o == 0 && a) {
            y->ndim = x->ndim;
            memcpy(y->dims, x->dims, sizeof x->dims);
            y->dims[a->i < 0 ? a->i + x->ndim : a->i] = n;
        }
    }
    return GCAM_OK;
}

static int uq_forward(gcam_opctx *c)
{
    uq_geom g;
    int rc = uq_geometry(c, &g);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    int64_t *first = gcam_malloc(sizeof(int64_t) * (size_t)(g.len ? g.len : 1) * 2);
    if (!first) return gcam_node_errf(c, GCAM_E_NOMEM, "out of memory");
    int64_t *inv = first + g.len, n = uq_run(c, &g, first, inv);
    const size_t es = gcam_dtype_size(x->dtype), row = (size_t)g.inner * es;
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t q = 0; q < n; q++)
            memcpy((char *)c->out[0]->data + (size_t)(o * n + q) * row, (const char *)x->data + (size_t)(o * g.len + first[q]) * row, row);
    if (c->node->n_out > 1 && c->out[1])
        for (int64_t q = 0; q < n; q++) gcam_i64(c->out[1])[q] = first[q];
    if (c->node->n_out > 2 && c->out[2])
        for (int64_t j = 0; j < g.len; j++) gcam_i64(c->out[2])[j] = inv[j];
    if (c->node->n_out > 3 && c->out[3]) {
        for (int64_t q = 0; q < n; q++) gcam_i64(c->out[3])[q] = 0;
        for (int64_t j = 0; j < g.len; j++) gcam_i64(c->out[3])[inv[j]]++;
    }
    gcam_free(first);
    return GCAM_OK;
}

const gcam_op gcam_op_Unique = {.op_type = "Unique", .since = 6, .required = 1, .flags = GCAM_OPF_SHAPE_PARAMS, .param_slot = 0,
                                 .infer = uq_infer, .forward = uq_forward};
