/* Einsum: any equation of explicit ("ij,jk->ik") or implicit ("ij,jk") form
 * over float32 (or integer) inputs, with "..." broadcasting and repeated
 * labels (diagonals, traces).  Every label gets a size; the op walks every
 * combination of labels once, multiplying the inputs into the output
 * element, so it costs the product of all label sizes - what exporters emit
 * (batched matmuls "bhid,bhjd->bhij", transposes, reductions) is small
 * enough for that.  Backward: input k's gradient is the same walk with dy in
 * place of the output and input k left out of the product.  Two-operand
 * contractions without diagonals (Keras/tf2onnx attention's "abc,cde->abde",
 * torch's "bhid,bhjd->bhij") run as batched GEMMs instead, forward and
 * backward; the walk stays as their reference. */
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
    unsigned char has[EIN_MAX_IN + 1][EIN_MAX_LABELS]; /* the label appears in the term */
    int repeats; /* some term repeats a label (a diagonal) */
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
            pl->repeats |= pl->has[k][l];
            pl->has[k][l] = 1;
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

/* ---- two operands as batched GEMMs ----------------------------------------
 * When every label is in at least two of A, B and the target T and none
 * repeats within a term: labels in all three are the batch, in A and T the
 * rows, in B and T the columns, in A and B the summed ones.  Each batch
 * gathers A [M, K] and B [K, N] (any strides, broadcast included), runs one
 * GEMM and adds C [M, N] into T. */
typedef struct ein_gemm {
    int64_t nb, M, N, K;
    int cls[EIN_MAX_LABELS]; /* 0 batch, 1 row, 2 column, 3 summed */
} ein_gemm;

static int gemm_shape(const ein_plan *pl, int a, int b, int t, ein_gemm *g)
{
    if (pl->repeats) return 0;
    g->nb = g->M = g->N = g->K = 1;
    for (int l = 0; l < pl->n_labels; l++) {
        const int ia = pl->has[a][l], ib = pl->has[b][l], it = pl->has[t][l];
        int k = ia && ib && it ? 0 : ia && it ? 1 : ib && it ? 2 : ia && ib ? 3 : -1;
        if (k < 0) return 0;
        g->cls[l] = k;
        *(k == 0 ? &g->nb : k == 1 ? &g->M : k == 2 ? &g->N : &g->K) *= pl->size[l];
    }
    return 1;
}

static size_t gemm_scratch(const ein_gemm *g)
{
    return (size_t)(g->M * g->K + g->K * g->N + g->M * g->N) * sizeof(float) +
           (size_t)(3 * g->nb + 2 * (g->M + g->N + g->K)) * sizeof(int64_t);
}

/* offsets into operand x of every index of the labels of class k, in order */
static void group_offsets(const ein_plan *pl, const ein_gemm *g, int x, int k, int64_t *off)
{
    int64_t idx[EIN_MAX_LABELS] = {0}, n = 1;
    for (int l = 0; l < pl->n_labels; l++)
        if (g->cls[l] == k) n *= pl->size[l];
    for (int64_t i = 0; i < n; i++) {
        int64_t o = 0;
        for (int l = 0; l < pl->n_labels; l++)
            if (g->cls[l] == k) o += idx[l] * pl->stride[x][l];
        off[i] = o;
        for (int l = pl->n_labels - 1; l >= 0; l--) {
            if (g->cls[l] != k) continue;
            if (++idx[l] < pl->size[l]) break;
            idx[l] = 0;
        }
    }
}

/* T += contraction of A and B; operand index n_in is the output (or dy) */
static void gemm_run(const ein_plan *pl, const ein_gemm *g, int a, int b, int t, const float *A, const float *B, float *T,
                     void *scratch)
{
    /* the int64 offsets first: they need 8-byte alignment, the floats after them do not */
    int64_t *ab = scratch, *bb = ab + g->nb, *tb = bb + g->nb;
    int64_t *am = tb + g->nb, *ak = am + g->M, *bk = ak + g->K, *bn = bk + g->K, *tm = bn + g->N, *tn = tm + g->M;
    float *As = (float *)(tn + g->N), *Bs = As + g->M * g->K, *Cs = Bs + g->K * g->N;
    group_offsets(pl, g, a, 0, ab);
    group_offsets(pl, g, b, 0, bb);
    group_offsets(pl, g, t, 0, tb);
    group_offsets(pl, g, a, 1, am);
    group_offsets(pl, g, a, 3, ak);
    group_offsets(pl, g, b, 3, bk);
    group_offsets(pl, g, b, 2, bn);
    group_offsets(pl, g, t, 1, tm);
    group_offsets(pl, g, t, 2, tn);
    for (int64_t q = 0; q < g->nb; q++) {
        for (int64_t i = 0; i < g->M; i++)
            for (int64_t k = 0; k < g->K; k++) As[i * g->K + k] = A[ab[q] + am[i] + ak[k]];
        for (int64_t k = 0; k < g->K; k++)
            for (int64_t j = 0; j < g->N; j++) Bs[k * g->N + j] = B[bb[q] + bk[k] + bn[j]];
        gcam_sgemm(0, 0, g->M, g->N, g->K, 1.0f, As, g->K, Bs, g->N, 0.0f, Cs, g->N);
        for (int64_t i = 0; i < g->M; i++)
            for (int64_t j = 0; j < g->N; j++) T[tb[q] + tm[i] + tn[j]] += Cs[i * g->N + j];
    }
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
    /* the batched-GEMM path's buffers, for the forward and each input's gradient */
    size_t need = 0;
    const int ops3[3][3] = {{0, 1, 2}, {2, 1, 0}, {0, 2, 1}}; /* a, b, target (2 = the output) */
    for (int q = 0; q < 3 && pl.n_in == 2 && y->dtype == GCAM_DT_F32; q++) {
        ein_gemm g;
        if (gemm_shape(&pl, ops3[q][0], ops3[q][1], ops3[q][2], &g)) {
            size_t b = gemm_scratch(&g);
            if (b > need) need = b;
        }
    }
    c->node->scratch = c->node->bscratch = need;
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
    ein_gemm g;
    if (pl.n_in == 2 && c->out[0]->dtype == GCAM_DT_F32 && c->scratch && gemm_shape(&pl, 0, 1, 2, &g))
        gemm_run(&pl, &g, 0, 1, 2, gcam_f32(c->in[0]), gcam_f32(gcam_in(c, 1)), gcam_f32(c->out[0]), c->scratch);
    else walk(&pl, c, -1);
    return GCAM_OK;
}

static int ein_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    ein_plan pl;
    int rc = ein_plan_of(c, &pl);
    if (rc) return rc;
    for (int k = 0; k < pl.n_in; k++) {
        if (!c->din[k]) continue;
        ein_gemm g;
        const int other = 1 - k; /* the gradient of input k: dy contracted with the other input */
        if (pl.n_in == 2 && c->scratch && gemm_shape(&pl, 2, other, k, &g))
            gemm_run(&pl, &g, 2, other, k, gcam_f32(c->dout[0]), gcam_f32(c->in[other]), gcam_f32(c->din[k]), c->scratch);
        else walk(&pl, c, k);
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Einsum = {.op_type = "Einsum", .since = 6, .required = 1, .infer = ein_infer, .forward = ein_forward, .backward = ein_backward};
