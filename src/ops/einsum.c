/* Einsum: any equation of explicit ("ij,jk->ik") or implicit ("ij,jk") form
 * over float32 (or integer) inputs, with "..." broadcasting and repeated
 * labels (diagonals, traces).  Every label gets a size; the op walks every
 * combination of labels once, multiplying the inputs into the output
 * element, so it costs the product of all label sizes - what exporters emit
 * (batched matmuls "bhid,bhjd->bhij", transposes, reductions) is small
 * enough for that.  Backward: input k's gradient is the same walk with dy in
 * place of the output and input k left out of the product. */
#include <ctype.h>
#include <stdlib.h>

#include "kernels/dtype.h"

#define EIN_MAX_IN 8
#define EIN_MAX_LABELS 24

typedef struct ein_plan {
    int n_in, n_labels;
    int64_t size[EIN_MAX_LABELS];
    int nd[EIN_MAX_IN + 1];                 /* rank of each input, then the output */
    int lab[EIN_MAX_IN + 1][GCAM_MAX_DIMS]; /* label of each dim */
    int64_t stride[EIN_MAX_IN + 1][EIN_MAX_LABELS]; /* element stride of each label (summed for repeats) */
} ein_plan;

static int label_id(int ch)
{
    if (ch >= 'a' && ch <= 'z') return ch - 'a';
    if (ch >= 'A' && ch <= 'Z') return 26 + ch - 'A';
    return -1;
}

/* Parses one term into label ids; its ellipsis stands for n_ell dims with
 * ids 100, 101, ...  Returns the rank, or -1. */
static int parse_term(const char *s, const char *end, int n_ell, int *labels)
{
    int k = 0;
    for (const char *p = s; p < end; p++) {
        if (*p == ' ') continue;
        if (*p == '.') {
            if (p + 3 > end || p[1] != '.' || p[2] != '.') return -1;
            for (int q = 0; q < n_ell; q++) {
                if (k >= GCAM_MAX_DIMS) return -1;
                labels[k++] = 100 + q;
            }
            p += 2;
            continue;
        }
        if (label_id(*p) < 0 || k >= GCAM_MAX_DIMS) return -1;
        labels[k++] = label_id(*p);
    }
    return k;
}

static int count_letters(const char *s, const char *end)
{
    int k = 0;
    for (const char *p = s; p < end; p++) k += label_id(*p) >= 0;
    return k;
}

static int has_ellipsis(const char *s, const char *end)
{
    for (const char *p = s; p + 3 <= end; p++)
        if (p[0] == '.' && p[1] == '.' && p[2] == '.') return 1;
    return 0;
}

static int ein_plan_of(gcam_opctx *c, ein_plan *pl)
{
    const char *eq = gcam_attr_str(c->node, "equation", NULL);
    if (!eq) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing equation");
    memset(pl, 0, sizeof *pl);
    pl->n_in = c->node->n_in;
    if (pl->n_in < 1 || pl->n_in > EIN_MAX_IN) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "%d inputs", pl->n_in);
    const char *arrow = strstr(eq, "->"), *lhs_end = arrow ? arrow : eq + strlen(eq);
    int n_ell = 0, ids[EIN_MAX_IN + 1][GCAM_MAX_DIMS];
    const char *p = eq;
    /* ellipsis width: the largest rank minus letters among terms with one */
    for (int k = 0; k < pl->n_in; k++) {
        const char *q = memchr(p, ',', (size_t)(lhs_end - p));
        const char *e = q ? q : lhs_end;
        if (!q && k < pl->n_in - 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "equation has fewer terms than inputs");
        if (has_ellipsis(p, e)) {
            int w = c->in[k]->ndim - count_letters(p, e);
            if (w > n_ell) n_ell = w;
        }
        p = q ? q + 1 : e;
    }
    p = eq;
    for (int k = 0; k < pl->n_in; k++) {
        const char *q = memchr(p, ',', (size_t)(lhs_end - p));
        const char *e = q ? q : lhs_end;
        const gcam_tensor *x = c->in[k];
        int w = has_ellipsis(p, e) ? x->ndim - count_letters(p, e) : 0;
        int r = w < 0 ? -1 : parse_term(p, e, w, ids[k]);
        if (r != x->ndim) return gcam_node_errf(c, GCAM_E_SHAPE, "term %d has %d labels for rank %d", k, r, x->ndim);
        /* an ellipsis narrower than n_ell is right-aligned */
        for (int d = 0; d < r; d++)
            if (ids[k][d] >= 100) ids[k][d] += n_ell - w;
        pl->nd[k] = r;
        p = q ? q + 1 : e;
    }
    int no;
    if (arrow) {
        const char *o = arrow + 2, *oe = o + strlen(o);
        no = parse_term(o, oe, n_ell, ids[pl->n_in]);
        if (no < 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "bad output term");
    } else { /* implicit: ellipsis, then the labels seen once, alphabetically */
        int cnt[52] = {0};
        for (int k = 0; k < pl->n_in; k++)
            for (int d = 0; d < pl->nd[k]; d++)
                if (ids[k][d] < 52) cnt[ids[k][d]]++;
        no = 0;
        for (int q = 0; q < n_ell; q++) ids[pl->n_in][no++] = 100 + q;
        for (int l = 0; l < 52 && no < GCAM_MAX_DIMS; l++)
            if (cnt[l] == 1) ids[pl->n_in][no++] = l;
    }
    pl->nd[pl->n_in] = no;
    /* compact label ids and sizes (broadcast: size 1 yields to the other) */
    int map[200];
    for (int i = 0; i < 200; i++) map[i] = -1;
    for (int k = 0; k <= pl->n_in; k++)
        for (int d = 0; d < pl->nd[k]; d++) {
            int id = ids[k][d];
            if (map[id] < 0) {
                if (pl->n_labels >= EIN_MAX_LABELS) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "too many labels");
                map[id] = pl->n_labels;
                pl->size[pl->n_labels++] = 1;
            }
            int l = map[id];
            pl->lab[k][d] = l;
            if (k == pl->n_in) continue;
            int64_t s = c->in[k]->dims[d];
            if (pl->size[l] == 1) pl->size[l] = s;
            else if (s != 1 && s != pl->size[l]) return gcam_node_errf(c, GCAM_E_SHAPE, "label sizes disagree");
        }
    for (int k = 0; k <= pl->n_in; k++) {
        int64_t st = 1;
        for (int d = pl->nd[k] - 1; d >= 0; d--) {
            int64_t dim = k < pl->n_in ? c->in[k]->dims[d] : pl->size[pl->lab[k][d]];
            if (dim != 1 || k == pl->n_in) pl->stride[k][pl->lab[k][d]] += st; /* broadcast dims: stride 0 */
            st *= dim;
        }
    }
    return GCAM_OK;
}

static int ein_infer(gcam_opctx *c)
{
    ein_plan pl;
    int rc = ein_plan_of(c, &pl);
    if (rc) return rc;
    for (int k = 0; k < pl.n_in; k++)
        if (c->in[k]->dtype != c->in[0]->dtype || (c->in[k]->dtype != GCAM_DT_F32 && !gcam_dt_is_int(c->in[k]->dtype)))
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "inputs must share a numeric type");
    gcam_tensor *y = c->out[0];
    y->dtype = c->in[0]->dtype;
    y->ndim = pl.nd[pl.n_in];
    for (int d = 0; d < y->ndim; d++) y->dims[d] = pl.size[pl.lab[pl.n_in][d]];
    return GCAM_OK;
}

/* The walk: for every label combination, out[o] += prod of the factors.
 * skip >= 0: gradient of input skip (out = its gradient, dy a factor). */
static void walk(const ein_plan *pl, gcam_opctx *c, int skip)
{
    const int L = pl->n_labels, n = pl->n_in;
    int64_t idx[EIN_MAX_LABELS] = {0}, total = 1;
    for (int l = 0; l < L; l++) total *= pl->size[l];
    const int dt = c->in[0]->dtype;
    const int tgt = skip >= 0 ? skip : n; /* whose offsets address the output */
    float *of = skip >= 0 ? gcam_f32(c->din[skip]) : dt == GCAM_DT_F32 ? gcam_f32(c->out[0]) : NULL;
    for (int64_t it = 0; it < total; it++) {
        double prod = 1.0;
        int64_t o = 0;
        for (int l = 0; l < L; l++) o += idx[l] * pl->stride[tgt][l];
        for (int k = 0; k <= n; k++) {
            if (k == tgt) continue;
            int64_t off = 0;
            for (int l = 0; l < L; l++) off += idx[l] * pl->stride[k][l];
            prod *= k == n ? gcam_f32(c->dout[0])[off] : gcam_get_f(c->in[k]->data, dt, off);
            if (prod == 0) break;
        }
        if (of) of[o] += (float)prod;
        else gcam_set_i(c->out[0]->data, dt, o, gcam_get_i(c->out[0]->data, dt, o) + (int64_t)prod);
        for (int l = L - 1; l >= 0; l--) { /* odometer */
            if (++idx[l] < pl->size[l]) break;
            idx[l] = 0;
        }
    }
}

static int ein_forward(gcam_opctx *c)
{
    ein_plan pl;
    int rc = ein_plan_of(c, &pl);
    if (rc) return rc;
    memset(c->out[0]->data, 0, gcam_tensor_bytes(c->out[0]));
    walk(&pl, c, -1);
    return GCAM_OK;
}

static int ein_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    ein_plan pl;
    int rc = ein_plan_of(c, &pl);
    if (rc) return rc;
    for (int k = 0; k < pl.n_in; k++)
        if (c->din[k]) walk(&pl, c, k);
    return GCAM_OK;
}

const gcam_op gcam_op_Einsum = {.op_type = "Einsum", .infer = ein_infer, .forward = ein_forward, .backward = ein_backward};
