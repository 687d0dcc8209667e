/* Gemm and MatMul ops: forward against plain loops, backward against finite
 * differences for every input that is an activation. */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

/* ---- Gemm ------------------------------------------------------------------ */

typedef struct gemm_case {
    const char *name;
    int64_t M, N, K;
    int ta, tb;
    float alpha, beta; /* 0 alpha = attribute absent (default 1) */
    int set_beta;
    int c_ndim;        /* -1 = no C */
    int64_t c_dims[2];
    int all_var;       /* B and C are activations too */
} gemm_case;

static const gemm_case gemm_cases[] = {
    {"plain_no_c", 3, 4, 5, 0, 0, 0, 0, 0, -1, {0}, 0},
    {"vector_bias", 2, 4, 7, 0, 0, 0, 0, 0, 2, {1, 4}, 0},
    {"matrix_bias", 3, 4, 6, 0, 0, 0, 0, 0, 2, {3, 4}, 1},
    {"scalar_bias", 2, 4, 3, 0, 0, 0, 0, 0, 0, {0}, 1},
    {"single_elem_bias", 3, 3, 7, 0, 0, 0, 0, 0, 1, {1}, 1},
    {"bias_1d_n", 3, 5, 2, 0, 0, 0, 0, 0, 1, {5}, 1},
    {"bias_col", 4, 3, 2, 0, 0, 0, 0, 0, 2, {4, 1}, 1},
    {"transA", 3, 4, 6, 1, 0, 0, 0, 0, 2, {1, 4}, 1},
    {"transB", 3, 4, 6, 0, 1, 0, 0, 0, 2, {1, 4}, 1},
    {"all_attributes", 3, 5, 4, 1, 1, 0.25f, 0.35f, 1, 2, {1, 5}, 1},
    {"alpha_beta_zero", 2, 3, 4, 0, 1, 0.5f, 0.0f, 1, 2, {2, 3}, 1},
    {"classifier_head", 2, 10, 16, 0, 1, 0, 0, 0, 1, {10}, 0},
};

static tnode *gemm_node(const gemm_case *gc)
{
    tnode *t = tn_new("Gemm", 13);
    if (gc->ta) tn_attr_int(t, "transA", 1);
    if (gc->tb) tn_attr_int(t, "transB", 1);
    if (gc->alpha != 0) tn_attr_float(t, "alpha", gc->alpha);
    if (gc->set_beta) tn_attr_float(t, "beta", gc->beta);
    int64_t ad[2] = {gc->ta ? gc->K : gc->M, gc->ta ? gc->M : gc->K};
    int64_t bd[2] = {gc->tb ? gc->N : gc->K, gc->tb ? gc->K : gc->N};
    tn_input_f32(t, ad, 2, NULL, 0);
    tn_input_f32(t, bd, 2, NULL, !gc->all_var);
    if (gc->c_ndim >= 0) tn_input_f32(t, gc->c_dims, gc->c_ndim, NULL, !gc->all_var);
    return t;
}

static void gemm_ref(const gemm_case *gc, const float *a, const float *b, const float *cv, float *y)
{
    float alpha = gc->alpha != 0 ? gc->alpha : 1.0f, beta = gc->set_beta ? gc->beta : 1.0f;
    int64_t cm = gc->c_ndim == 2 ? gc->c_dims[0] : 1;
    int64_t cn = gc->c_ndim >= 1 ? gc->c_dims[gc->c_ndim - 1] : 1;
    for (int64_t i = 0; i < gc->M; i++)
        for (int64_t j = 0; j < gc->N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < gc->K; k++) {
                float av = gc->ta ? a[k * gc->M + i] : a[i * gc->K + k];
                float bv = gc->tb ? b[j * gc->K + k] : b[k * gc->N + j];
                acc += (double)av * bv;
            }
            double cval = cv ? cv[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] : 0.0;
            y[i * gc->N + j] = (float)(alpha * acc + beta * cval);
        }
}

/* A one-hot output gradient (the target logit of a classifier) takes the
 * sparse path of Gemm's backward: against finite differences, both
 * layouts of B, one and two rows. */
GCAM_TEST(op_gemm_backward_one_hot)
{
    static const gemm_case cases[] = {
        {"head_transB", 1, 40, 24, 0, 1, 0, 0, 0, 1, {40}, 0},
        {"head_plainB", 1, 40, 24, 0, 0, 0.5f, 0, 0, 1, {40}, 0},
        {"two_rows", 2, 40, 24, 0, 1, 0, 0, 0, 1, {40}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tnode *t = gemm_node(&cases[i]);
        t->onehot = 1 + 7 + (int64_t)i * 40; /* output element (i, 7), row i = 0..1 */
        if (t->onehot > cases[i].M * cases[i].N) t->onehot = 8;
        CHECK_MSG(tn_fd_check(t, 1e-2) == 0, "%s", cases[i].name);
        tn_free(t);
    }
}

GCAM_TEST(op_gemm_forward_backward)
{
    for (size_t i = 0; i < sizeof gemm_cases / sizeof gemm_cases[0]; i++) {
        const gemm_case *gc = &gemm_cases[i];
        tnode *t = gemm_node(gc);
        int rc = tn_run(t);
        CHECK_MSG(rc == 0, "%s: %s", gc->name, t->err.msg);
        CHECK_MSG(t->out[0]->ndim == 2 && t->out[0]->dims[0] == gc->M && t->out[0]->dims[1] == gc->N,
                  "%s: dims", gc->name);
        float *ref = malloc(sizeof(float) * (size_t)(gc->M * gc->N));
        gemm_ref(gc, t->in[0]->data, t->in[1]->data, gc->c_ndim >= 0 ? t->in[2]->data : NULL, ref);
        double md = tn_maxdiff(tn_out(t, 0), ref, gc->M * gc->N);
        free(ref);
        CHECK_MSG(md < 1e-5, "%s: max diff %g", gc->name, md);
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "%s: finite differences", gc->name);
        tn_free(t);
    }
}

GCAM_TEST(op_gemm_errors)
{
    tnode *t = tn_new("Gemm", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, NULL, 0);
    tn_input_f32(t, (int64_t[]){4, 5}, 2, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    CHECK(strstr(t->err.msg, "test_node") != NULL);
    tn_free(t);
    /* C that does not broadcast to [M, N] */
    t = tn_new("Gemm", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, NULL, 0);
    tn_input_f32(t, (int64_t[]){3, 4}, 2, NULL, 1);
    tn_input_f32(t, (int64_t[]){3}, 1, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
    /* 3-D A */
    t = tn_new("Gemm", 13);
    tn_input_f32(t, (int64_t[]){1, 2, 3}, 3, NULL, 0);
    tn_input_f32(t, (int64_t[]){3, 4}, 2, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}

/* ---- MatMul ----------------------------------------------------------------- */

typedef struct matmul_case {
    const char *name;
    int na, nb;
    int64_t ad[5], bd[5];
    int nout;
    int64_t od[5];
    int b_const;
} matmul_case;

static const matmul_case matmul_cases[] = {
    {"2d", 2, 2, {3, 4}, {4, 3}, 2, {3, 3}, 0},
    {"3d", 3, 3, {2, 3, 4}, {2, 4, 3}, 3, {2, 3, 3}, 0},
    {"4d", 4, 4, {1, 2, 3, 4}, {1, 2, 4, 3}, 4, {1, 2, 3, 3}, 0},
    {"batched_x_2d_weight", 3, 2, {2, 3, 4}, {4, 5}, 3, {2, 3, 5}, 1},
    {"batched_x_2d_var", 3, 2, {2, 3, 4}, {4, 5}, 3, {2, 3, 5}, 0},
    {"2d_x_batched", 2, 3, {3, 4}, {2, 4, 5}, 3, {2, 3, 5}, 0},
    {"broadcast_both", 4, 3, {2, 1, 3, 4}, {3, 4, 2}, 4, {2, 3, 3, 2}, 0},
    {"broadcast_ones_b", 3, 4, {3, 2, 4}, {1, 1, 4, 3}, 4, {1, 3, 2, 3}, 0},
    {"vec_x_mat", 1, 2, {4}, {4, 3}, 1, {3}, 0},
    {"mat_x_vec", 2, 1, {3, 4}, {4}, 1, {3}, 0},
    {"vec_x_vec", 1, 1, {4}, {4}, 0, {0}, 0},
    {"vec_x_batched", 1, 3, {4}, {2, 4, 3}, 2, {2, 3}, 0},
    {"batched_x_vec", 3, 1, {2, 3, 4}, {4}, 2, {2, 3}, 0},
    /* many small products, shared out between the two threads */
    {"windows_x_heads", 4, 4, {2, 6, 5, 4}, {2, 6, 4, 7}, 4, {2, 6, 5, 7}, 0},
    {"windows_broadcast", 4, 3, {3, 4, 5, 4}, {4, 4, 7}, 4, {3, 4, 5, 7}, 0},
};

/* Plain numpy-semantics matmul, written from the definition. */
static void matmul_ref(const matmul_case *mc, const float *a, const float *b, float *y)
{
    int64_t M = mc->na == 1 ? 1 : mc->ad[mc->na - 2], K = mc->ad[mc->na - 1];
    int64_t N = mc->nb == 1 ? 1 : mc->bd[mc->nb - 1];
    int nba = mc->na > 2 ? mc->na - 2 : 0, nbb = mc->nb > 2 ? mc->nb - 2 : 0;
    int nbo = nba > nbb ? nba : nbb;
    int64_t bo[5], nbatch = 1;
    for (int i = 0; i < nbo; i++) {
        int ia = i - (nbo - nba), ib = i - (nbo - nbb);
        int64_t da = ia >= 0 ? mc->ad[ia] : 1, db = ib >= 0 ? mc->bd[ib] : 1;
        bo[i] = da > db ? da : db;
        nbatch *= bo[i];
    }
    for (int64_t bi = 0; bi < nbatch; bi++) {
        int64_t idx[5], r = bi;
        for (int i = nbo - 1; i >= 0; i--) {
            idx[i] = r % bo[i];
            r /= bo[i];
        }
        int64_t offa = 0, offb = 0;
        for (int i = 0; i < nbo; i++) {
            int ia = i - (nbo - nba), ib = i - (nbo - nbb);
            if (ia >= 0) offa = offa * mc->ad[ia] + (mc->ad[ia] == 1 ? 0 : idx[i]);
            if (ib >= 0) offb = offb * mc->bd[ib] + (mc->bd[ib] == 1 ? 0 : idx[i]);
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (double)a[offa * M * K + i * K + k] * b[offb * K * N + k * N + j];
                y[bi * M * N + i * N + j] = (float)acc;
            }
    }
}

GCAM_TEST(op_matmul_forward_backward)
{
    for (size_t i = 0; i < sizeof matmul_cases / sizeof matmul_cases[0]; i++) {
        const matmul_case *mc = &matmul_cases[i];
        tnode *t = tn_new("MatMul", 13);
        t->nthreads = 2;
        tn_input_f32(t, mc->ad, mc->na, NULL, 0);
        tn_input_f32(t, mc->bd, mc->nb, NULL, mc->b_const);
        int rc = tn_run(t);
        CHECK_MSG(rc == 0, "%s: %s", mc->name, t->err.msg);
        CHECK_MSG(t->out[0]->ndim == mc->nout, "%s: ndim %d, want %d", mc->name, t->out[0]->ndim,
                  mc->nout);
        for (int d = 0; d < mc->nout; d++)
            CHECK_MSG(t->out[0]->dims[d] == mc->od[d], "%s: dim %d", mc->name, d);
        int64_t n = gcam_numel(t->out[0]);
        float *ref = malloc(sizeof(float) * (size_t)n);
        matmul_ref(mc, t->in[0]->data, t->in[1]->data, ref);
        double md = tn_maxdiff(tn_out(t, 0), ref, n);
        free(ref);
        CHECK_MSG(md < 1e-5, "%s: max diff %g", mc->name, md);
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "%s: finite differences", mc->name);
        tn_free(t);
    }
}

GCAM_TEST(op_matmul_errors)
{
    tnode *t = tn_new("MatMul", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, NULL, 0);
    tn_input_f32(t, (int64_t[]){4, 5}, 2, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
    t = tn_new("MatMul", 13);
    tn_input_f32(t, (int64_t[]){2, 2, 3}, 3, NULL, 0);
    tn_input_f32(t, (int64_t[]){3, 3, 5}, 3, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}
