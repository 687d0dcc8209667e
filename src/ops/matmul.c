/* matmul.c - MatMul with numpy semantics: a 1-D A is a row vector [1, K] and
 * a 1-D B a column vector [K, 1] (the added dim is dropped from the output);
 * leading (batch) dims broadcast.  One GEMM per output batch, except when B
 * has no batch (x @ W, the transformer / classifier-head case): then A's batch
 * folds into M and the whole product is a single GEMM.
 *
 * When B is a constant 2-D matrix (a weight) and the packed-gemm setting is
 * on, the folded product runs our packed GEMM (kernels/pgemm.c: B packed
 * once at plan time into the node's slot, kept until the weights change).
 *
 * The planner may fuse the Add of a constant bias after it (plan.c,
 * plan_matmul_bias): then the node writes the Add's output, A B + bias.
 *
 * Backward, for each input that asks: dA += dY B^T and dB += A^T dY per
 * batch, summed over batches that broadcast (GEMM with beta = 1 does the sum). */
#include "gcam_internal.h"
#include "kernels/elementwise.h"
#include "kernels/pgemm.h"

typedef struct matmul_shape {
    int64_t M, N, K;
    int nb;                        /* output batch dims */
    int64_t batch[GCAM_MAX_DIMS];  /* output batch shape */
    int64_t sa[GCAM_MAX_DIMS];     /* A's batch strides in matrices (0 = broadcast) */
    int64_t sb[GCAM_MAX_DIMS];
    int64_t nbatch;                /* product of batch */
    int fold;                      /* B has one matrix and A is not broadcast: fold batch into M */
    int out_ndim;
    int64_t out_dims[GCAM_MAX_DIMS];
} matmul_shape;

static int matmul_shape_of(gcam_opctx *c, matmul_shape *s)
{
    const gcam_tensor *a = c->in[0], *b = c->node->n_in > 1 ? c->in[1] : NULL;
    if (!a || !b) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs inputs A and B");
    if (a->dtype != GCAM_DT_F32 || b->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "only float32 is supported (A is %s, B is %s)",
                              gcam_dtype_name(a->dtype), gcam_dtype_name(b->dtype));
    if (a->ndim < 1 || b->ndim < 1)
        return gcam_node_errf(c, GCAM_E_SHAPE, "A and B must have at least 1 dim");
    memset(s, 0, sizeof *s);
    /* matrices as numpy sees them: 1-D A -> [1, K], 1-D B -> [K, 1] */
    const int a_vec = a->ndim == 1, b_vec = b->ndim == 1;
    s->M = a_vec ? 1 : a->dims[a->ndim - 2];
    s->K = a->dims[a->ndim - 1];
    const int64_t kb = b_vec ? b->dims[0] : b->dims[b->ndim - 2];
    s->N = b_vec ? 1 : b->dims[b->ndim - 1];
    if (kb != s->K)
        return gcam_node_errf(c, GCAM_E_SHAPE, "inner dims differ: A has K = %lld, B has K = %lld",
                              (long long)s->K, (long long)kb);
    const int nba = a_vec ? 0 : a->ndim - 2, nbb = b_vec ? 0 : b->ndim - 2;
    if (gcam_broadcast_shape(a->dims, nba, b->dims, nbb, s->batch, &s->nb))
        return gcam_node_errf(c, GCAM_E_SHAPE, "batch dims of A and B do not broadcast");
    /* strides (in matrices) of each operand over the output batch dims */
    int64_t stra = 1, strb = 1;
    s->nbatch = 1;
    for (int i = s->nb - 1; i >= 0; i--) {
        int ia = i - (s->nb - nba), ib = i - (s->nb - nbb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        s->sa[i] = da == 1 ? 0 : stra;
        s->sb[i] = db == 1 ? 0 : strb;
        stra *= da;
        strb *= db;
        s->nbatch *= s->batch[i];
    }
    s->fold = strb == 1 && stra == s->nbatch;
    s->out_ndim = 0;
    for (int i = 0; i < s->nb; i++) s->out_dims[s->out_ndim++] = s->batch[i];
    if (!a_vec) s->out_dims[s->out_ndim++] = s->M;
    if (!b_vec) s->out_dims[s->out_ndim++] = s->N;
    return GCAM_OK;
}

/* Matrix offset of output batch index bi in an operand with batch strides st. */
static int64_t batch_offset(const matmul_shape *s, const int64_t *st, int64_t bi)
{
    int64_t off = 0;
    for (int i = s->nb - 1; i >= 0; i--) {
        off += (bi % s->batch[i]) * st[i];
        bi /= s->batch[i];
    }
    return off;
}

/* Whether the folded product can use a packed B: a constant 2-D B. */
static int packable(const gcam_opctx *c, const matmul_shape *s)
{
    const gcam_tensor *b = c->in[1];
    return s->fold && b->ndim == 2 && (b->flags & GCAM_TF_CONST) && b->data;
}

static int matmul_infer(gcam_opctx *c)
{
    matmul_shape s;
    int rc = matmul_shape_of(c, &s);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = s.out_ndim;
    memcpy(y->dims, s.out_dims, sizeof(int64_t) * (size_t)s.out_ndim);
    c->node->scratch = c->node->bscratch = 0;
    return packable(c, &s) ? gcam_pgemm_slot_fill(c, gcam_f32(c->in[1]), s.K, s.N, 0) : GCAM_OK;
}

/* Y's batch bi = A's and B's (broadcast) batch bi multiplied */
static void batch_product(const matmul_shape *s, const float *a, const float *b, float *y, int64_t bi)
{
    const float *ab = a + batch_offset(s, s->sa, bi) * s->M * s->K;
    const float *bb = b + batch_offset(s, s->sb, bi) * s->K * s->N;
    gcam_sgemm(0, 0, s->M, s->N, s->K, 1.0f, ab, s->K, bb, s->N, 0.0f, y + bi * s->M * s->N, s->N);
}

static int matmul_forward(gcam_opctx *c)
{
    matmul_shape s;
    int rc = matmul_shape_of(c, &s);
    if (rc) return rc;
    const float *a = gcam_f32(c->in[0]), *b = gcam_f32(c->in[1]);
    float *y = gcam_f32(c->out[0]);
    const float *bias = c->node->fuse.on ? c->node->fuse.bias : NULL; /* the Add after it (plan.c) */
    if (bias && !s.fold) return gcam_node_errf(c, GCAM_E_INTERNAL, "bias fused into a batched MatMul");
    const gcam_pgemm *pk =
        s.fold && s.nbatch * s.M >= GCAM_PGEMM_MIN_ROWS ? gcam_pgemm_slot_get(c, b, s.K, s.N, 0) : NULL;
    if (pk && gcam_pgemm_run(pk, s.nbatch * s.M, a, s.K, y, s.N, 0, bias, c->nthreads) == GCAM_OK) return GCAM_OK;
    if (s.fold) {
        gcam_sgemm(0, 0, s.nbatch * s.M, s.N, s.K, 1.0f, a, s.K, b, s.N, 0.0f, y, s.N);
        for (int64_t r = 0; bias && r < s.nbatch * s.M; r++)
            for (int64_t j = 0; j < s.N; j++) y[r * s.N + j] += bias[j];
        return GCAM_OK;
    }
    /* Many small products (attention heads x windows: Swin-T's first stage
     * runs 192 of 49 x 32 x 49) are shared out whole between the threads,
     * each product on one: threading inside each costs more than it does. */
    const int nt = gcam_ew_threads(c);
    /* (Not an if clause: oneDNN's sgemm runs on one thread, and slowly,
     * inside even an inactive parallel region.) */
    const int spread = nt > 1 && s.nbatch >= 2 * nt && 2.0 * (double)s.M * (double)s.N * (double)s.K < 4e6;
    if (spread) {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t bi = 0; bi < s.nbatch; bi++) batch_product(&s, a, b, y, bi);
        return GCAM_OK;
    }
    for (int64_t bi = 0; bi < s.nbatch; bi++) batch_product(&s, a, b, y, bi);
    return GCAM_OK;
}

static int matmul_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    matmul_shape s;
    int rc = matmul_shape_of(c, &s);
    if (rc) return rc;
    const float *a = gcam_f32(c->in[0]), *b = gcam_f32(c->in[1]), *dy = gcam_f32(c->dout[0]);
    float *da = c->din[0] ? gcam_f32(c->din[0]) : NULL;
    float *db = c->node->n_in > 1 && c->din[1] ? gcam_f32(c->din[1]) : NULL;
    if (s.fold) {
        const int64_t Mt = s.nbatch * s.M;
        if (da) gcam_sgemm(0, 1, Mt, s.K, s.N, 1.0f, dy, s.N, b, s.N, 1.0f, da, s.K);
        if (db) gcam_sgemm(1, 0, s.K, s.N, Mt, 1.0f, a, s.K, dy, s.N, 1.0f, db, s.N);
        return GCAM_OK;
    }
    /* sequential over batches: broadcast operands receive several contributions */
    for (int64_t bi = 0; bi < s.nbatch; bi++) {
        const int64_t oa = batch_offset(&s, s.sa, bi) * s.M * s.K;
        const int64_t ob = batch_offset(&s, s.sb, bi) * s.K * s.N;
        const float *dyb = dy + bi * s.M * s.N;
        if (da) gcam_sgemm(0, 1, s.M, s.K, s.N, 1.0f, dyb, s.N, b + ob, s.N, 1.0f, da + oa, s.K);
        if (db) gcam_sgemm(1, 0, s.K, s.N, s.M, 1.0f, a + oa, s.K, dyb, s.N, 1.0f, db + ob, s.N);
    }
    return GCAM_OK;
}

const gcam_op gcam_op_MatMul = {
    .op_type = "MatMul", .since = 1, .required = 2,
    .infer = matmul_infer,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .init = gcam_pgemm_slot_init,
    .release = gcam_pgemm_slot_release,
};
