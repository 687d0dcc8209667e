/* Softmax: both axis semantics (opset < 13 coerces to 2-D, opset >= 13 is
 * per axis) against a double-precision reference, and backward. */
#include "test.h"
#include "test_ew_util.h"

/* Reference over groups of len elements at stride inner. */
static void ref_softmax(const float *x, double *y, int64_t outer, int64_t len, int64_t inner)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            double m = -INFINITY, s = 0;
            for (int64_t j = 0; j < len; j++) m = fmax(m, x[(o * len + j) * inner + k]);
            for (int64_t j = 0; j < len; j++) s += exp(x[(o * len + j) * inner + k] - m);
            for (int64_t j = 0; j < len; j++)
                y[(o * len + j) * inner + k] = exp(x[(o * len + j) * inner + k] - m) / s;
        }
}

typedef struct sm_case {
    int opset;
    int has_axis;
    int64_t axis;
    int64_t outer, len, inner; /* expected grouping of [3,4,5] */
} sm_case;

static const sm_case sm_cases[] = {
    {13, 0, 0, 12, 5, 1},   /* default -1 */
    {13, 1, 0, 1, 3, 20},
    {13, 1, 1, 3, 4, 5},
    {13, 1, 2, 12, 5, 1},
    {13, 1, -2, 3, 4, 5},
    {11, 0, 0, 3, 20, 1},   /* default 1, coerced to [3, 20] */
    {11, 1, 0, 1, 60, 1},
    {11, 1, 2, 12, 5, 1},
    {11, 1, -1, 12, 5, 1},
    {1, 1, 1, 3, 20, 1},
};

GCAM_TEST(ew_softmax_axes_and_opsets)
{
    int64_t d[3] = {3, 4, 5};
    float x[60];
    double r[60];
    for (size_t ci = 0; ci < sizeof sm_cases / sizeof sm_cases[0]; ci++) {
        const sm_case *sc = &sm_cases[ci];
        ew_fill(x, 60, 40 + (unsigned)ci, -3, 3, NULL, 0, 0);
        tnode *t = tn_new("Softmax", sc->opset);
        if (sc->has_axis) tn_attr_int(t, "axis", sc->axis);
        tn_input_f32(t, d, 3, x, 0);
        CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
        CHECK(t->out[0]->ndim == 3 && t->out[0]->dims[2] == 5);
        ref_softmax(x, r, sc->outer, sc->len, sc->inner);
        for (int i = 0; i < 60; i++)
            CHECK_MSG(fabs(tn_out(t, 0)[i] - r[i]) < 1e-6, "case %zu: y[%d] = %.8g, want %.8g", ci, i,
                      tn_out(t, 0)[i], r[i]);
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "case %zu gradient", ci);
        tn_free(t);
    }
}

GCAM_TEST(ew_softmax_large_numbers_are_stable)
{
    int64_t d[2] = {2, 4};
    float x[8] = {0, 1, 2, 3, 10000, 10001, 10002, 10003};
    tnode *t = tn_new("Softmax", 13);
    tn_input_f32(t, d, 2, x, 0);
    CHECK(tn_run(t) == 0);
    const double want[4] = {0.032058603, 0.087144319, 0.236882818, 0.643914260};
    for (int i = 0; i < 8; i++) CHECK_NEAR(tn_out(t, 0)[i], want[i % 4], 1e-6);
    tn_free(t);
}

GCAM_TEST(ew_softmax_backward_formula)
{
    /* dx = y * (dy - sum(dy * y)), accumulated */
    int64_t d[1] = {3};
    float x[3] = {0.1f, -0.4f, 1.0f}, dy[3] = {1.0f, 0.0f, -2.0f}, dx[3] = {1, 1, 1};
    tnode *t = tn_new("Softmax", 13);
    tn_input_f32(t, d, 1, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(ew_backward(t, dy, dx, 0) == 0);
    const float *y = tn_out(t, 0);
    double s = 0;
    for (int i = 0; i < 3; i++) s += (double)dy[i] * y[i];
    for (int i = 0; i < 3; i++) CHECK_NEAR(dx[i], 1 + y[i] * (dy[i] - s), 1e-6);
    tn_free(t);
}

GCAM_TEST(ew_softmax_bad_axis)
{
    int64_t d[2] = {2, 3};
    int64_t axes[2] = {2, -3};
    for (int i = 0; i < 2; i++) {
        tnode *t = tn_new("Softmax", 13);
        tn_attr_int(t, "axis", axes[i]);
        tn_input_f32(t, d, 2, NULL, 0);
        CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
        CHECK(strstr(t->err.msg, "axis"));
        tn_free(t);
    }
}

GCAM_TEST(ew_softmax_wide_inner_blocks)
{
    /* inner 130 spans several column blocks, the last one partial */
    int64_t d[3] = {2, 3, 130};
    enum { N = 2 * 3 * 130 };
    float x[N];
    double r[N];
    ew_fill(x, N, 77, -4, 4, NULL, 0, 0);
    tnode *t = tn_new("Softmax", 13);
    tn_attr_int(t, "axis", 1);
    tn_input_f32(t, d, 3, x, 0);
    CHECK(tn_run(t) == 0);
    ref_softmax(x, r, 2, 3, 130);
    for (int i = 0; i < N; i++) CHECK_NEAR(tn_out(t, 0)[i], r[i], 1e-6);
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}
