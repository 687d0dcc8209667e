/* MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool: forward against a
 * naive per-window reference (and hand-computed ONNX / PyTorch values),
 * backward against finite differences. */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

typedef struct pool_case {
    const char *name;
    int nsp;
    int64_t N, C;
    int64_t in[3], k[3], s[3], d[3]; /* s/d 0 = attribute absent */
    int64_t pads[6];
    int has_pads;
    const char *auto_pad;
    int ceil_mode, count_include_pad;
} pool_case;

/* Output size and begin/end pads, written out from the ONNX spec (with the
 * PyTorch rule that a ceil_mode window must start inside input + begin pad). */
static void pool_ref_geom(const pool_case *pc, int64_t *pb, int64_t *pe, int64_t *out)
{
    for (int i = 0; i < pc->nsp; i++) {
        int64_t s = pc->s[i] ? pc->s[i] : 1, d = pc->d[i] ? pc->d[i] : 1;
        int64_t ek = (pc->k[i] - 1) * d + 1, in = pc->in[i];
        if (pc->auto_pad && !strncmp(pc->auto_pad, "SAME", 4)) {
            out[i] = (in + s - 1) / s;
            int64_t total = (out[i] - 1) * s + ek - in;
            if (total < 0) total = 0;
            pb[i] = !strcmp(pc->auto_pad, "SAME_UPPER") ? total / 2 : (total + 1) / 2;
            pe[i] = total - pb[i];
            continue;
        }
        pb[i] = pc->has_pads ? pc->pads[i] : 0;
        pe[i] = pc->has_pads ? pc->pads[pc->nsp + i] : 0;
        double span = (double)(in + pb[i] + pe[i] - ek) / (double)s;
        out[i] = (int64_t)(pc->ceil_mode ? ceil(span) : floor(span)) + 1;
        if (pc->ceil_mode && (out[i] - 1) * s >= in + pb[i]) out[i]--;
    }
}

/* Naive pooling over every kernel tap; is_max selects MaxPool. */
static void pool_ref(const pool_case *pc, int is_max, const float *x, float *y)
{
    int64_t pb[3] = {0}, pe[3] = {0}, out[3] = {1, 1, 1};
    pool_ref_geom(pc, pb, pe, out);
    int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1},
            D[3] = {1, 1, 1}, P[3] = {0, 0, 0}, E[3] = {0, 0, 0};
    int off = 3 - pc->nsp;
    for (int i = 0; i < pc->nsp; i++) {
        I[off + i] = pc->in[i];
        O[off + i] = out[i];
        K[off + i] = pc->k[i];
        S[off + i] = pc->s[i] ? pc->s[i] : 1;
        D[off + i] = pc->d[i] ? pc->d[i] : 1;
        P[off + i] = pb[i];
        E[off + i] = pe[i];
    }
    int64_t insz = I[0] * I[1] * I[2], k = 0;
    for (int64_t pl = 0; pl < pc->N * pc->C; pl++)
        for (int64_t o0 = 0; o0 < O[0]; o0++)
            for (int64_t o1 = 0; o1 < O[1]; o1++)
                for (int64_t o2 = 0; o2 < O[2]; o2++, k++) {
                    double sum = 0, best = -INFINITY;
                    int64_t valid = 0, padded = 0;
                    for (int64_t k0 = 0; k0 < K[0]; k0++)
                        for (int64_t k1 = 0; k1 < K[1]; k1++)
                            for (int64_t k2 = 0; k2 < K[2]; k2++) {
                                int64_t i0 = o0 * S[0] - P[0] + k0 * D[0];
                                int64_t i1 = o1 * S[1] - P[1] + k1 * D[1];
                                int64_t i2 = o2 * S[2] - P[2] + k2 * D[2];
                                if (i0 < I[0] + E[0] && i1 < I[1] + E[1] && i2 < I[2] + E[2]) padded++;
                                if (i0 < 0 || i0 >= I[0] || i1 < 0 || i1 >= I[1] || i2 < 0 || i2 >= I[2])
                                    continue;
                                float v = x[pl * insz + (i0 * I[1] + i1) * I[2] + i2];
                                valid++;
                                sum += v;
                                if (v > best) best = v;
                            }
                    if (is_max) y[k] = (float)best;
                    else y[k] = (float)(sum / (double)(pc->count_include_pad ? padded : valid));
                }
}

static int64_t pool_in_numel(const pool_case *pc)
{
    int64_t n = pc->N * pc->C;
    for (int i = 0; i < pc->nsp; i++) n *= pc->in[i];
    return n;
}

/* Distinct, well separated values (a shuffled ramp * 0.1) so max windows have no ties. */
static float *distinct_values(int64_t n, unsigned seed)
{
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = 0.1f * (float)(i - n / 2);
    for (int64_t i = n - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int64_t j = (int64_t)((seed >> 8) % (unsigned)(i + 1));
        float t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    return v;
}

static tnode *pool_node(const pool_case *pc, const char *op, const float *data)
{
    tnode *t = tn_new(op, op[0] == 'M' ? 12 : 11);
    tn_attr_ints(t, "kernel_shape", pc->nsp, pc->k);
    if (pc->s[0]) tn_attr_ints(t, "strides", pc->nsp, pc->s);
    if (pc->d[0]) tn_attr_ints(t, "dilations", pc->nsp, pc->d);
    if (pc->has_pads) tn_attr_ints(t, "pads", 2 * pc->nsp, pc->pads);
    if (pc->auto_pad) tn_attr_str(t, "auto_pad", pc->auto_pad);
    if (pc->ceil_mode) tn_attr_int(t, "ceil_mode", 1);
    if (pc->count_include_pad) tn_attr_int(t, "count_include_pad", 1);
    int64_t xd[5] = {pc->N, pc->C};
    for (int i = 0; i < pc->nsp; i++) xd[2 + i] = pc->in[i];
    tn_input_f32(t, xd, 2 + pc->nsp, data, 0);
    return t;
}

static const pool_case pool_cases[] = {
    {"k2s2", 2, 2, 3, {6, 6}, {2, 2}, {2, 2}, {0}, {0}, 0, NULL, 0, 0},
    {"k3s2p1", 2, 1, 2, {7, 6}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 0, 0},
    {"k3s2p1_cip", 2, 1, 2, {7, 6}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 0, 1},
    {"k3s1_default_strides", 2, 1, 2, {5, 4}, {3, 2}, {0}, {0}, {0}, 0, NULL, 0, 0},
    {"asym_pads", 2, 1, 2, {6, 5}, {3, 3}, {2, 1}, {0}, {1, 0, 2, 1}, 1, NULL, 0, 0},
    {"asym_pads_cip", 2, 1, 2, {6, 5}, {3, 3}, {2, 1}, {0}, {1, 0, 2, 1}, 1, NULL, 0, 1},
    {"ceil", 2, 1, 1, {4, 4}, {3, 3}, {2, 2}, {0}, {0}, 0, NULL, 1, 0},
    {"ceil_pads_clipped", 2, 1, 2, {6, 7}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 1, 0},
    {"ceil_pads_clipped_cip", 2, 1, 2, {6, 7}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 1, 1},
    {"ceil_dropped_window", 2, 1, 1, {5, 5}, {2, 2}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 1, 1},
    {"same_upper_s2", 2, 1, 2, {5, 5}, {3, 3}, {2, 2}, {0}, {0}, 0, "SAME_UPPER", 0, 0},
    {"same_lower_k2", 2, 1, 2, {5, 6}, {2, 2}, {0}, {0}, {0}, 0, "SAME_LOWER", 0, 0},
    {"same_upper_k2_cip", 2, 1, 2, {5, 6}, {2, 2}, {0}, {0}, {0}, 0, "SAME_UPPER", 0, 1},
    {"valid", 2, 1, 2, {6, 7}, {3, 2}, {2, 2}, {0}, {0}, 0, "VALID", 0, 0},
    {"dilation2", 2, 1, 2, {6, 6}, {2, 2}, {1, 1}, {2, 2}, {0}, 0, NULL, 0, 0},
    {"dilation2_pads_ceil", 2, 1, 2, {7, 6}, {3, 2}, {2, 2}, {2, 2}, {1, 1, 1, 0}, 1, NULL, 1, 1},
    {"k5p2", 2, 1, 1, {5, 5}, {5, 5}, {0}, {0}, {2, 2, 2, 2}, 1, NULL, 0, 0},
    {"k5p2_cip", 2, 1, 1, {5, 5}, {5, 5}, {0}, {0}, {2, 2, 2, 2}, 1, NULL, 0, 1},
    {"pool1d", 1, 2, 2, {9}, {3}, {2}, {0}, {1, 1}, 1, NULL, 1, 0},
    {"pool1d_cip", 1, 1, 2, {9}, {3}, {2}, {0}, {1, 1}, 1, NULL, 1, 1},
    {"pool3d", 3, 1, 2, {4, 5, 4}, {2, 3, 2}, {2, 2, 1}, {0}, {0, 1, 0, 1, 1, 1}, 1, NULL, 0, 1},
};
#define N_POOL_CASES (sizeof pool_cases / sizeof pool_cases[0])

static void pool_check_forward(const char *op, int is_max)
{
    for (size_t i = 0; i < N_POOL_CASES; i++) {
        const pool_case *pc = &pool_cases[i];
        float *xv = distinct_values(pool_in_numel(pc), 7u + (unsigned)i);
        tnode *t = pool_node(pc, op, xv);
        free(xv);
        int rc = tn_run(t);
        CHECK_MSG(rc == 0, "%s %s: %s", op, pc->name, t->err.msg);
        int64_t pb[3], pe[3], out[3];
        pool_ref_geom(pc, pb, pe, out);
        for (int d = 0; d < pc->nsp; d++)
            CHECK_MSG(t->out[0]->dims[2 + d] == out[d], "%s %s: out dim %d = %lld, want %lld", op,
                      pc->name, d, (long long)t->out[0]->dims[2 + d], (long long)out[d]);
        int64_t n = gcam_numel(t->out[0]);
        float *ref = malloc(sizeof(float) * (size_t)n);
        pool_ref(pc, is_max, t->in[0]->data, ref);
        double md = tn_maxdiff(tn_out(t, 0), ref, n);
        free(ref);
        CHECK_MSG(md < 1e-5, "%s %s: max diff %g", op, pc->name, md);
        tn_free(t);
    }
}

static void pool_check_backward(const char *op)
{
    for (size_t i = 0; i < N_POOL_CASES; i++) {
        const pool_case *pc = &pool_cases[i];
        float *xv = distinct_values(pool_in_numel(pc), 99u + (unsigned)i);
        tnode *t = pool_node(pc, op, xv);
        free(xv);
        CHECK_MSG(tn_run(t) == 0, "%s %s: %s", op, pc->name, t->err.msg);
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "%s %s: finite differences", op, pc->name);
        tn_free(t);
    }
}

GCAM_TEST(op_maxpool_forward_vs_naive) { pool_check_forward("MaxPool", 1); }
GCAM_TEST(op_averagepool_forward_vs_naive) { pool_check_forward("AveragePool", 0); }
GCAM_TEST(op_maxpool_backward_fd) { pool_check_backward("MaxPool"); }
GCAM_TEST(op_averagepool_backward_fd) { pool_check_backward("AveragePool"); }

/* ONNX backend cases test_maxpool_2d_ceil / test_averagepool_2d_ceil. */
GCAM_TEST(op_pool_onnx_ceil_values)
{
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    const char *ops[2] = {"MaxPool", "AveragePool"};
    const float want[2][4] = {{11, 12, 15, 16}, {6, 7.5f, 12, 13.5f}};
    for (int o = 0; o < 2; o++) {
        tnode *t = tn_new(ops[o], 12);
        tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){3, 3});
        tn_attr_ints(t, "strides", 2, (int64_t[]){2, 2});
        tn_attr_int(t, "ceil_mode", 1);
        tn_input_f32(t, (int64_t[]){1, 1, 4, 4}, 4, x, 0);
        CHECK(tn_run(t) == 0);
        CHECK(t->out[0]->dims[2] == 2 && t->out[0]->dims[3] == 2);
        CHECK_MSG(tn_maxdiff(tn_out(t, 0), want[o], 4) < 1e-6, "%s", ops[o]);
        tn_free(t);
    }
}

/* PyTorch: avg_pool1d(arange(1,7), 3, stride 2, padding 1, ceil_mode=True):
 * the last window starts at 5 and is clipped at the padded end (6), so with
 * count_include_pad its divisor is 2, not 3. */
GCAM_TEST(op_averagepool_ceil_clip_divisor)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    const float want[2][4] = {{1.5f, 3, 5, 6}, {1, 3, 5, 3}};
    for (int cip = 0; cip < 2; cip++) {
        tnode *t = tn_new("AveragePool", 19);
        tn_attr_ints(t, "kernel_shape", 1, (int64_t[]){3});
        tn_attr_ints(t, "strides", 1, (int64_t[]){2});
        tn_attr_ints(t, "pads", 2, (int64_t[]){1, 1});
        tn_attr_int(t, "ceil_mode", 1);
        tn_attr_int(t, "count_include_pad", cip);
        tn_input_f32(t, (int64_t[]){1, 1, 6}, 3, x, 0);
        CHECK(tn_run(t) == 0);
        CHECK(t->out[0]->ndim == 3 && t->out[0]->dims[2] == 4);
        CHECK_MSG(tn_maxdiff(tn_out(t, 0), want[cip], 4) < 1e-6, "count_include_pad=%d: %g %g %g %g",
                  cip, tn_out(t, 0)[0], tn_out(t, 0)[1], tn_out(t, 0)[2], tn_out(t, 0)[3]);
        tn_free(t);
    }
}

/* ONNX test_maxpool_with_argmax_2d_precomputed_{strides,pads}: Indices output. */
GCAM_TEST(op_maxpool_indices)
{
    float x[25];
    for (int i = 0; i < 25; i++) x[i] = (float)(i + 1);
    tnode *t = tn_new("MaxPool", 12);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
    tn_attr_ints(t, "strides", 2, (int64_t[]){2, 2});
    tn_attr_int(t, "storage_order", 1);
    tn_input_f32(t, (int64_t[]){1, 1, 5, 5}, 4, x, 0);
    tn_outputs(t, 2);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[1]->dtype == GCAM_DT_I64 && t->out[1]->dims[3] == 2);
    const float wy[4] = {7, 9, 17, 19};
    const int64_t wz[4] = {6, 16, 8, 18};
    CHECK(tn_maxdiff(tn_out(t, 0), wy, 4) == 0);
    for (int i = 0; i < 4; i++) CHECK(gcam_i64(t->out[1])[i] == wz[i]);
    tn_free(t);

    t = tn_new("MaxPool", 12);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){5, 5});
    tn_attr_ints(t, "pads", 4, (int64_t[]){2, 2, 2, 2});
    tn_input_f32(t, (int64_t[]){1, 1, 5, 5}, 4, x, 0);
    tn_outputs(t, 2);
    CHECK(tn_run(t) == 0);
    const float wy2[25] = {13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25,
                           23, 24, 25, 25, 25, 23, 24, 25, 25, 25};
    CHECK(tn_maxdiff(tn_out(t, 0), wy2, 25) == 0);
    for (int i = 0; i < 25; i++) CHECK(gcam_i64(t->out[1])[i] == (int64_t)wy2[i] - 1);
    /* the Indices output has no gradient; Y's still checks out */
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

/* On ties the first maximum in scan order takes the whole gradient. */
GCAM_TEST(op_maxpool_ties_first)
{
    float x[4] = {1, 1, 1, 1};
    tnode *t = tn_new("MaxPool", 12);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, x, 0);
    CHECK(tn_run(t) == 0);
    float dyv = 3.0f, dxv[4] = {0};
    gcam_tensor dyt = *t->out[0], dxt = *t->in[0];
    dyt.data = &dyv;
    dxt.data = dxv;
    gcam_tensor *dout[1] = {&dyt}, *din[1] = {&dxt};
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                    .err = &t->err, .nthreads = 1};
    CHECK(t->node.op->backward(&c) == 0);
    CHECK(dxv[0] == 3.0f && dxv[1] == 0 && dxv[2] == 0 && dxv[3] == 0);
    tn_free(t);
}

/* Bigger planes so OpenMP regions run: threaded forward/backward equal 1 thread. */
GCAM_TEST(op_pool_threads_match)
{
    const char *ops[2] = {"MaxPool", "AveragePool"};
    pool_case pc = {"big", 2, 2, 8, {30, 28}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 1, 1};
    for (int o = 0; o < 2; o++) {
        float *xv = distinct_values(pool_in_numel(&pc), 5u);
        tnode *t = pool_node(&pc, ops[o], xv);
        free(xv);
        CHECK(tn_run(t) == 0);
        int64_t n = gcam_numel(t->out[0]), nx = gcam_numel(t->in[0]);
        float *ref = malloc(sizeof(float) * (size_t)n);
        pool_ref(&pc, o == 0, t->in[0]->data, ref);
        float *y1 = malloc(sizeof(float) * (size_t)n);
        memcpy(y1, tn_out(t, 0), sizeof(float) * (size_t)n);
        gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .err = &t->err, .nthreads = 4};
        CHECK(t->node.op->forward(&c) == 0);
        /* values reach ~700 here: compare to the reference relatively, to 1 thread exactly */
        double mref = tn_maxdiff(tn_out(t, 0), ref, n), m1 = tn_maxdiff(tn_out(t, 0), y1, n);
        free(y1);
        CHECK_MSG(mref < 1e-3 && m1 == 0, "%s forward: %g vs reference, %g vs 1 thread", ops[o],
                  mref, m1);
        float *dx1 = calloc((size_t)nx, sizeof(float)), *dx4 = calloc((size_t)nx, sizeof(float));
        gcam_tensor dyt = *t->out[0], d1 = *t->in[0], d4 = *t->in[0];
        dyt.data = ref;
        d1.data = dx1;
        d4.data = dx4;
        gcam_tensor *dout[1] = {&dyt}, *din1[1] = {&d1}, *din4[1] = {&d4};
        c.dout = dout;
        c.din = din1;
        c.nthreads = 1;
        CHECK(t->node.op->backward(&c) == 0);
        c.din = din4;
        c.nthreads = 4;
        CHECK(t->node.op->backward(&c) == 0);
        double md = tn_maxdiff(dx1, dx4, nx);
        free(dx1);
        free(dx4);
        free(ref);
        CHECK_MSG(md == 0, "%s threaded backward differs by %g", ops[o], md);
        tn_free(t);
    }
}

GCAM_TEST(op_pool_errors)
{
    /* kernel_shape is required */
    tnode *t = tn_new("MaxPool", 12);
    tn_input_f32(t, (int64_t[]){1, 1, 4, 4}, 4, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    CHECK(strstr(t->err.msg, "kernel_shape") != NULL);
    tn_free(t);
    /* kernel_shape rank differs from the input's spatial rank */
    t = tn_new("AveragePool", 11);
    tn_attr_ints(t, "kernel_shape", 1, (int64_t[]){2});
    tn_input_f32(t, (int64_t[]){1, 1, 4, 4}, 4, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
    /* non-float input */
    t = tn_new("MaxPool", 12);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
    tn_input_i64(t, (int64_t[]){1, 1, 2, 2}, 4, (int64_t[]){1, 2, 3, 4});
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);
    /* negative pads */
    t = tn_new("AveragePool", 11);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
    tn_attr_ints(t, "pads", 4, (int64_t[]){0, -1, 0, 0});
    tn_input_f32(t, (int64_t[]){1, 1, 4, 4}, 4, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
}

/* ---- global pools ---------------------------------------------------------- */

GCAM_TEST(op_globalaveragepool)
{
    tnode *t = tn_new("GlobalAveragePool", 1);
    tn_input_f32(t, (int64_t[]){2, 3, 4, 5}, 4, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 4 && t->out[0]->dims[1] == 3 && t->out[0]->dims[2] == 1 &&
          t->out[0]->dims[3] == 1);
    const float *x = t->in[0]->data;
    for (int p = 0; p < 6; p++) {
        double s = 0;
        for (int i = 0; i < 20; i++) s += x[p * 20 + i];
        CHECK_NEAR(tn_out(t, 0)[p], s / 20, 1e-6);
    }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
    /* 1-D spatial */
    t = tn_new("GlobalAveragePool", 1);
    tn_input_f32(t, (int64_t[]){1, 2, 7}, 3, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 3 && t->out[0]->dims[2] == 1);
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

GCAM_TEST(op_globalmaxpool)
{
    float *xv = distinct_values(2 * 3 * 4 * 5, 3u);
    tnode *t = tn_new("GlobalMaxPool", 1);
    tn_input_f32(t, (int64_t[]){2, 3, 4, 5}, 4, xv, 0);
    free(xv);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 4 && t->out[0]->dims[2] == 1 && t->out[0]->dims[3] == 1);
    const float *x = t->in[0]->data;
    for (int p = 0; p < 6; p++) {
        float m = -INFINITY;
        for (int i = 0; i < 20; i++) m = fmaxf(m, x[p * 20 + i]);
        CHECK(tn_out(t, 0)[p] == m);
    }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

GCAM_TEST(lppool_and_global_lppool)
{
    float x[2 * 3 * 4];
    for (int i = 0; i < 24; i++) x[i] = 0.25f * (float)((i * 5) % 13) - 1.3f;
    tnode *t = tn_new("LpPool", 18);
    tn_attr_int(t, "p", 3);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
    tn_attr_ints(t, "pads", 4, (int64_t[]){1, 0, 0, 1});
    tn_input_f32(t, (int64_t[]){1, 2, 3, 4}, 4, x, 0);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    CHECK(t->out[0]->dims[2] == 3 && t->out[0]->dims[3] == 4);
    for (int ch = 0; ch < 2; ch++)
        for (int oh = 0; oh < 3; oh++)
            for (int ow = 0; ow < 4; ow++) {
                double s = 0;
                for (int kh = 0; kh < 2; kh++)
                    for (int kw = 0; kw < 2; kw++) {
                        int ih = oh - 1 + kh, iw = ow + kw;
                        if (ih >= 0 && ih < 3 && iw < 4) s += pow(fabs(x[(ch * 3 + ih) * 4 + iw]), 3);
                    }
                CHECK(fabs(tn_out(t, 0)[(ch * 3 + oh) * 4 + ow] - pow(s, 1.0 / 3)) < 1e-5);
            }
    CHECK(tn_fd_check(t, 3e-3) == 0);
    tn_free(t);
    t = tn_new("GlobalLpPool", 2);
    tn_input_f32(t, (int64_t[]){1, 2, 3, 4}, 4, x, 0);
    CHECK(tn_run(t) == 0);
    double s = 0;
    for (int i = 12; i < 24; i++) s += (double)x[i] * x[i];
    CHECK(t->out[0]->dims[2] == 1 && fabs(tn_out(t, 0)[1] - sqrt(s)) < 1e-5);
    CHECK(tn_fd_check(t, 3e-3) == 0);
    tn_free(t);
}
