/* The shared broadcast walk and reductions (src/kernels/elementwise.c) against
 * naive index arithmetic, serial and threaded, on sizes that take the
 * parallel paths. */
#include "kernels/elementwise.h"
#include "test.h"
#include "test_ew_util.h"

static inline float k_add(float a, float b) { return a + 2.0f * b; }
GCAM_BINARY_ROW_F32(k_add, k_add)

typedef struct kcase {
    int yn, an, bn;
    int64_t y[4], a[4], b[4];
} kcase;

static const kcase kcases[] = {
    {4, 4, 3, {8, 64, 16, 16}, {8, 64, 16, 16}, {64, 1, 1}},
    {4, 1, 4, {8, 64, 16, 16}, {1}, {8, 64, 16, 16}},
    {4, 4, 4, {8, 64, 16, 16}, {8, 1, 16, 1}, {1, 64, 1, 16}},
    {4, 2, 4, {8, 64, 16, 16}, {16, 16}, {8, 64, 1, 1}},
    {3, 3, 1, {3, 5, 7}, {3, 1, 7}, {5 * 0 + 1}},
    {1, 1, 1, {1}, {1}, {1}},
    {2, 2, 2, {4, 0}, {4, 0}, {1, 0}}, /* empty */
};

GCAM_TEST(ew_kernel_bcast_rows_matches_naive)
{
    for (size_t ci = 0; ci < sizeof kcases / sizeof kcases[0]; ci++) {
        const kcase *k = &kcases[ci];
        int64_t ny = ew_numel(k->y, k->yn), na = ew_numel(k->a, k->an), nb = ew_numel(k->b, k->bn);
        float *a = malloc(sizeof(float) * (na + 1)), *b = malloc(sizeof(float) * (nb + 1));
        float *y1 = malloc(sizeof(float) * (ny + 1)), *y4 = malloc(sizeof(float) * (ny + 1));
        ew_fill(a, na, 1, -1, 1, NULL, 0, 0);
        ew_fill(b, nb, 2, -1, 1, NULL, 0, 0);
        gcam_bcast p;
        CHECK(gcam_bcast_init(&p, k->y, k->yn, k->a, k->an, k->b, k->bn) == 0);
        CHECK(p.n == ny);
        gcam_bin_args args = {.a = a, .b = b, .out = y1};
        gcam_bcast_rows(&p, k_add_row_f32, &args, 1);
        args.out = y4;
        gcam_bcast_rows(&p, k_add_row_f32, &args, 4);
        for (int64_t i = 0; i < ny; i++) {
            float want = k_add(a[ew_bcast_offset(i, k->y, k->yn, k->a, k->an)],
                               b[ew_bcast_offset(i, k->y, k->yn, k->b, k->bn)]);
            CHECK_MSG(y1[i] == want && y4[i] == want, "case %zu at %lld", ci, (long long)i);
        }
        free(a);
        free(b);
        free(y1);
        free(y4);
    }
}

GCAM_TEST(ew_kernel_bcast_merges_dims)
{
    gcam_bcast p;
    int64_t y[4] = {2, 3, 4, 5}, c[3] = {3, 1, 1}, s[1] = {1};
    CHECK(gcam_bcast_init(&p, y, 4, y, 4, y, 4) == 0);
    CHECK(p.nd == 1 && p.dims[0] == 120 && p.sa[0] == 1 && p.sb[0] == 1);
    CHECK(gcam_bcast_init(&p, y, 4, y, 4, s, 1) == 0);
    CHECK(p.nd == 1 && p.sb[0] == 0);
    CHECK(gcam_bcast_init(&p, y, 4, y, 4, c, 3) == 0);
    CHECK(p.nd == 3 && p.dims[2] == 20 && p.sb[2] == 0 && p.sb[1] == 1 && p.sb[0] == 0);
    int64_t bad[1] = {4};
    CHECK(gcam_bcast_init(&p, y, 4, y, 4, bad, 1) == -1);
    CHECK(gcam_bcast_init(&p, c, 3, y, 4, c, 3) == -1); /* operand of higher rank */
}

/* Naive: dst[j] = sum over src elements that broadcast from j. */
static void naive_reduce(const float *src, const int64_t *sd, int sn, const int64_t *dd, int dn,
                         double *dst)
{
    int64_t ns = ew_numel(sd, sn), nd = ew_numel(dd, dn);
    for (int64_t j = 0; j < nd; j++) dst[j] = 0;
    for (int64_t i = 0; i < ns; i++) dst[ew_bcast_offset(i, sd, sn, dd, dn)] += src[i];
}

GCAM_TEST(ew_kernel_reduce_and_expand_match_naive)
{
    const int64_t sd[4] = {8, 64, 16, 16};
    const struct {
        int n;
        int64_t d[4];
    } targets[] = {
        {3, {64, 1, 1}}, {1, {1}}, {0, {0}}, {4, {8, 1, 16, 1}}, {2, {16, 16}},
        {4, {1, 64, 1, 16}}, {4, {8, 64, 16, 16}}, {4, {8, 64, 1, 1}},
    };
    const int64_t ns = ew_numel(sd, 4);
    float *src = malloc(sizeof(float) * ns), *big = malloc(sizeof(float) * ns);
    double *want = malloc(sizeof(double) * ns);
    float *d1 = malloc(sizeof(float) * ns), *d4 = malloc(sizeof(float) * ns);
    ew_fill(src, ns, 9, -1, 1, NULL, 0, 0);
    for (size_t ti = 0; ti < sizeof targets / sizeof targets[0]; ti++) {
        const int64_t *dd = targets[ti].d;
        int dn = targets[ti].n;
        int64_t nd = ew_numel(dd, dn);
        naive_reduce(src, sd, 4, dd, dn, want);
        for (int64_t j = 0; j < nd; j++) d1[j] = d4[j] = 1.0f;
        CHECK(gcam_reduce_to(d1, dd, dn, src, sd, 4, 0.5f, 1, 1) == 0);
        CHECK(gcam_reduce_to(d4, dd, dn, src, sd, 4, 0.5f, 1, 4) == 0);
        for (int64_t j = 0; j < nd; j++) {
            double w = 1.0 + 0.5 * want[j];
            CHECK_MSG(fabs(d1[j] - w) < 1e-4 * fmax(1, fabs(w)) && fabs(d4[j] - w) < 1e-4 * fmax(1, fabs(w)),
                      "target %zu [%lld]: %.7g / %.7g, want %.7g", ti, (long long)j, d1[j], d4[j], w);
        }
        /* overwrite mode */
        CHECK(gcam_reduce_to(d4, dd, dn, src, sd, 4, 1.0f, 0, 4) == 0);
        for (int64_t j = 0; j < nd; j++) CHECK(fabs(d4[j] - want[j]) < 1e-4 * fmax(1, fabs(want[j])));
        /* expand: big[i] += 3 * d4[map(i)] */
        for (int64_t i = 0; i < ns; i++) big[i] = src[i];
        CHECK(gcam_expand_add(big, sd, 4, d4, dd, dn, 3.0f, 4) == 0);
        for (int64_t i = 0; i < ns; i++) {
            float w = src[i] + 3.0f * d4[ew_bcast_offset(i, sd, 4, dd, dn)];
            CHECK_MSG(fabs(big[i] - w) <= 1e-6 * fmax(1, fabs(w)), "expand target %zu at %lld", ti, (long long)i);
        }
    }
    int64_t bad[1] = {3};
    CHECK(gcam_reduce_to(d1, bad, 1, src, sd, 4, 1.0f, 0, 1) == -1);
    CHECK(gcam_expand_add(big, sd, 4, d1, bad, 1, 1.0f, 1) == -1);
    free(src);
    free(big);
    free(want);
    free(d1);
    free(d4);
}

GCAM_TEST(ew_kernel_binary_backward_threaded)
{
    /* the SE-block pattern: [N,C,H,W] * [N,C,1,1], gradients for both, 1 vs 4 threads */
    int64_t ad[4] = {4, 32, 24, 24}, bd[4] = {4, 32, 1, 1};
    tnode *t = tn_new("Mul", 14);
    tn_input_f32(t, ad, 4, NULL, 0);
    tn_input_f32(t, bd, 4, NULL, 0);
    CHECK(tn_run(t) == 0);
    int64_t na = gcam_numel(t->in[0]), nb = gcam_numel(t->in[1]);
    float *dy = malloc(sizeof(float) * na);
    ew_fill(dy, na, 17, -1, 1, NULL, 0, 0);
    float *ga[2], *gb[2];
    for (int r = 0; r < 2; r++) {
        ga[r] = calloc(na, sizeof(float));
        gb[r] = calloc(nb, sizeof(float));
        gcam_tensor dout_t = *t->out[0], da_t = *t->in[0], db_t = *t->in[1];
        dout_t.data = dy;
        da_t.data = ga[r];
        db_t.data = gb[r];
        gcam_tensor *dout[TN_MAX] = {&dout_t}, *din[TN_MAX] = {&da_t, &db_t};
        gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                        .scratch = t->scratch, .nthreads = r ? 4 : 1, .err = &t->err};
        CHECK(t->node.op->backward(&c) == 0);
    }
    CHECK(tn_maxdiff(ga[0], ga[1], na) == 0.0);
    CHECK(tn_maxdiff(gb[0], gb[1], nb) < 1e-5);
    const float *a = t->in[0]->data, *b = t->in[1]->data;
    for (int64_t j = 0; j < nb; j++) {
        double s = 0;
        for (int64_t i = 0; i < 576; i++) s += (double)dy[j * 576 + i] * a[j * 576 + i];
        CHECK_NEAR(gb[0][j], s, 1e-4);
    }
    for (int64_t i = 0; i < na; i++) CHECK_NEAR(ga[0][i], dy[i] * b[i / 576], 1e-7);
    for (int r = 0; r < 2; r++) {
        free(ga[r]);
        free(gb[r]);
    }
    free(dy);
    tn_free(t);
}
