/* gemm.c - Gemm: Y = alpha * op(A) op(B) + beta * C, op = optional transpose
 * (transA, transB), A and B 2-D, C optional and unidirectionally broadcast to
 * [M, N] (scalar, [N], [1, N], [M, 1], [M, N]).
 *
 * Backward, for every input that asks (A is the activation of a classifier
 * head; B and C only when they are computed, not initializers):
 *   d op(A) = alpha dY op(B)^T,   d op(B) = alpha op(A)^T dY,
 *   dC = beta * dY summed over C's broadcast dims.
 *
 * With B a constant (a weight), alpha 1, A not transposed and rows enough,
 * the forward runs our packed GEMM (kernels/pgemm.c, the packed-gemm
 * setting): B packed once at plan time into the node's slot (kernels/pgemm.h). */
#include "gcam_internal.h"
#include "kernels/pgemm.h"

typedef struct gemm_shape {
    int64_t M, N, K;
    int ta, tb;
    float alpha, beta;
    int64_t cm, cn; /* C's extent along M and N: 1 (broadcast) or M / N; 0 = no C */
} gemm_shape;

static int gemm_shape_of(gcam_opctx *c, gemm_shape *s)
{
    const gcam_node *n = c->node;
    const gcam_tensor *a = c->in[0], *b = n->n_in > 1 ? c->in[1] : NULL;
    const gcam_tensor *ct = n->n_in > 2 ? c->in[2] : NULL;
    memset(s, 0, sizeof *s);
    if (!a || !b) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs inputs A and B");
    if (a->dtype != GCAM_DT_F32 || b->dtype != GCAM_DT_F32 || (ct && ct->dtype != GCAM_DT_F32))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "only float32 is supported (A is %s, B is %s)",
                              gcam_dtype_name(a->dtype), gcam_dtype_name(b->dtype));
    if (a->ndim != 2 || b->ndim != 2)
        return gcam_node_errf(c, GCAM_E_SHAPE, "A and B must be 2-D (they have %d and %d dims)",
                              a->ndim, b->ndim);
    s->ta = gcam_attr_int(n, "transA", 0) != 0;
    s->tb = gcam_attr_int(n, "transB", 0) != 0;
    s->alpha = gcam_attr_float(n, "alpha", 1.0f);
    s->beta = gcam_attr_float(n, "beta", 1.0f);
    s->M = a->dims[s->ta ? 1 : 0];
    s->K = a->dims[s->ta ? 0 : 1];
    int64_t kb = b->dims[s->tb ? 1 : 0];
    s->N = b->dims[s->tb ? 0 : 1];
    if (kb != s->K)
        return gcam_node_errf(c, GCAM_E_SHAPE,
                              "inner dims differ: op(A) is %lldx%lld, op(B) is %lldx%lld",
                              (long long)s->M, (long long)s->K, (long long)kb, (long long)s->N);
    s->cm = s->cn = 0;
    if (ct) {
        if (ct->ndim > 2)
            return gcam_node_errf(c, GCAM_E_SHAPE, "C must have at most 2 dims, has %d", ct->ndim);
        s->cm = ct->ndim == 2 ? ct->dims[0] : 1;
        s->cn = ct->ndim >= 1 ? ct->dims[ct->ndim - 1] : 1;
        if ((s->cm != 1 && s->cm != s->M) || (s->cn != 1 && s->cn != s->N))
            return gcam_node_errf(c, GCAM_E_SHAPE, "C (%lldx%lld) does not broadcast to %lldx%lld",
                                  (long long)s->cm, (long long)s->cn, (long long)s->M,
                                  (long long)s->N);
    }
    return GCAM_OK;
}

/* Whether the forward may run the packed GEMM: B a weight, not scaled, A
 * not transposed, rows enough (the node's slot, kernels/pgemm.h, decides
 * the rest). */
static int packable(const gcam_opctx *c, const gemm_shape *s)
{
    const gcam_tensor *b = c->in[1];
    return !s->ta && s->alpha == 1.0f && s->M >= GCAM_PGEMM_MIN_ROWS && (b->flags & GCAM_TF_CONST) && b->data;
}

static int gemm_infer(gcam_opctx *c)
{
    gemm_shape s;
    int rc = gemm_shape_of(c, &s);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = 2;
    y->dims[0] = s.M;
    y->dims[1] = s.N;
    c->node->scratch = c->node->bscratch = 0;
    return packable(c, &s) ? gcam_pgemm_slot_fill(c, gcam_f32(c->in[1]), s.K, s.N, s.tb) : GCAM_OK;
}

static int gemm_forward(gcam_opctx *c)
{
    gemm_shape s;
    int rc = gemm_shape_of(c, &s);
    if (rc) return rc;
    const float *a = gcam_f32(c->in[0]), *b = gcam_f32(c->in[1]);
    float *y = gcam_f32(c->out[0]);
    float beta = 0.0f;
    if (s.cm && s.beta != 0.0f) {
        /* Y = beta * broadcast(C), then the GEMM accumulates onto it */
        const float *cv = gcam_f32(c->in[2]);
        for (int64_t i = 0; i < s.M; i++)
            for (int64_t j = 0; j < s.N; j++)
                y[i * s.N + j] = s.beta * cv[(s.cm == 1 ? 0 : i) * s.cn + (s.cn == 1 ? 0 : j)];
        beta = 1.0f;
    }
    const gcam_pgemm *pk = packable(c, &s) ? gcam_pgemm_slot_get(c, b, s.K, s.N, s.tb) : NULL;
    if (pk && gcam_pgemm_run(pk, s.M, a, s.K, y, s.N, beta != 0.0f, NULL, c->nthreads) == GCAM_OK) return GCAM_OK;
    gcam_sgemm(s.ta, s.tb, s.M, s.N, s.K, s.alpha, a, s.ta ? s.M : s.K, b, s.tb ? s.K : s.N, beta,
               y, s.N);
    return GCAM_OK;
}

/* dY of a classifier's backward is often one-hot (the target logit): a
 * dense GEMV would stream all of B (5 MB for a 1280 x 1000 head) to add
 * zeros.  At most one nonzero in 16 per row takes the sparse path, whose
 * sums are those of the dense one without the zero terms. */
static int sparse_rows(const float *dy, int64_t M, int64_t N)
{
    int64_t nz = 0;
    for (int64_t i = 0; i < M * N; i++) nz += dy[i] != 0.0f;
    return nz * 16 <= M * N;
}

/* dA (MxK) += alpha dY op(B)^T over the nonzeros of dY */
static void sparse_da(const gemm_shape *s, const float *dy, const float *b, int64_t ldb, float *da)
{
    for (int64_t i = 0; i < s->M; i++)
        for (int64_t j = 0; j < s->N; j++) {
            float g = s->alpha * dy[i * s->N + j];
            if (g == 0.0f) continue;
            float *row = da + i * s->K;
            if (s->tb) { /* op(B) = B^T: B is N x K, row j contiguous */
                const float *bj = b + j * ldb;
                for (int64_t k = 0; k < s->K; k++) row[k] += g * bj[k];
            } else { /* B is K x N: column j */
                for (int64_t k = 0; k < s->K; k++) row[k] += g * b[k * ldb + j];
            }
        }
}

static int gemm_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    gemm_shape s;
    int rc = gemm_shape_of(c, &s);
    if (rc) return rc;
    const float *a = gcam_f32(c->in[0]), *b = gcam_f32(c->in[1]), *dy = gcam_f32(c->dout[0]);
    const int64_t lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    if (c->din[0]) {
        float *da = gcam_f32(c->din[0]);
        if (!s.ta && sparse_rows(dy, s.M, s.N)) /* a one-hot target: read the rows it picks */
            sparse_da(&s, dy, b, ldb, da);
        else if (!s.ta) /* dA (MxK) += alpha dY op(B)^T */
            gcam_sgemm(0, !s.tb, s.M, s.K, s.N, s.alpha, dy, s.N, b, ldb, 1.0f, da, s.K);
        else /* dA (KxM) += alpha op(B) dY^T */
            gcam_sgemm(s.tb, 1, s.K, s.M, s.N, s.alpha, b, ldb, dy, s.N, 1.0f, da, s.M);
    }
    if (c->node->n_in > 1 && c->din[1]) {
        float *db = gcam_f32(c->din[1]);
        if (!s.tb) /* dB (KxN) += alpha op(A)^T dY */
            gcam_sgemm(!s.ta, 0, s.K, s.N, s.M, s.alpha, a, lda, dy, s.N, 1.0f, db, s.N);
        else /* dB (NxK) += alpha dY^T op(A) */
            gcam_sgemm(1, s.ta, s.N, s.K, s.M, s.alpha, dy, s.N, a, lda, 1.0f, db, s.K);
    }
    if (s.cm && c->din[2]) {
        float *dc = gcam_f32(c->din[2]);
        for (int64_t i = 0; i < s.M; i++)
            for (int64_t j = 0; j < s.N; j++)
                dc[(s.cm == 1 ? 0 : i) * s.cn + (s.cn == 1 ? 0 : j)] += s.beta * dy[i * s.N + j];
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Gemm = {
    .op_type = "Gemm", .since = 6, .required = 2,
    .infer = gemm_infer,
    .forward = gemm_forward,
    .backward = gemm_backward,
    .init = gcam_pgemm_slot_init,
    .release = gcam_pgemm_slot_release,
};
