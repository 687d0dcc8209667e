/* ReduceMean: axes as attribute (opset < 18) or constant input (opset 18),
 * keepdims, noop_with_empty_axes, against a naive mean; backward. */
#include "test.h"
#include "test_ew_util.h"

/* Naive mean of x [2,3,4,5] over the axes in mask, written in keepdims layout. */
static void ref_mean(const float *x, const int64_t *d, unsigned mask, double *y)
{
    int64_t kd[4], ny = 1;
    for (int i = 0; i < 4; i++) ny *= (kd[i] = mask & (1u << i) ? 1 : d[i]);
    int64_t cnt = 120 / ny;
    for (int64_t i = 0; i < ny; i++) y[i] = 0;
    for (int64_t i = 0; i < 120; i++) {
        int64_t r = i, idx[4];
        for (int k = 3; k >= 0; k--) {
            idx[k] = r % d[k];
            r /= d[k];
        }
        int64_t o = 0;
        for (int k = 0; k < 4; k++) o = o * kd[k] + (mask & (1u << k) ? 0 : idx[k]);
        y[o] += x[i];
    }
    for (int64_t i = 0; i < ny; i++) y[i] /= (double)cnt;
}

typedef struct rm_case {
    int opset;
    int n_axes; /* -1: no axes given */
    int64_t axes[4];
    int keepdims; /* -1: default */
    int axes_as_input;
    unsigned mask;
} rm_case;

static const rm_case rm_cases[] = {
    {13, 1, {1}, 1, 0, 0x2},
    {13, 1, {1}, 0, 0, 0x2},
    {13, 1, {-2}, -1, 0, 0x4},
    {13, -1, {0}, 1, 0, 0xF},
    {13, -1, {0}, 0, 0, 0xF},
    {13, 2, {2, 3}, 1, 0, 0xC}, /* global average pool */
    {13, 2, {0, 2}, 0, 0, 0x5}, /* non-adjacent */
    {11, 2, {3, 1}, 1, 0, 0xA},
    {18, 2, {1, 3}, 1, 1, 0xA},
    {18, 1, {-1}, 0, 1, 0x8},
    {18, -1, {0}, 1, 0, 0xF},   /* no axes input: all */
    {18, 4, {0, 1, 2, 3}, 0, 1, 0xF},
};

GCAM_TEST(ew_reducemean_axes_and_keepdims)
{
    int64_t d[4] = {2, 3, 4, 5};
    float x[120];
    double r[120];
    for (size_t ci = 0; ci < sizeof rm_cases / sizeof rm_cases[0]; ci++) {
        const rm_case *rc = &rm_cases[ci];
        ew_fill(x, 120, 60 + (unsigned)ci, -2, 2, NULL, 0, 0);
        tnode *t = tn_new("ReduceMean", rc->opset);
        if (rc->keepdims >= 0) tn_attr_int(t, "keepdims", rc->keepdims);
        tn_input_f32(t, d, 4, x, 0);
        if (rc->n_axes >= 0) {
            if (rc->axes_as_input) {
                int64_t na = rc->n_axes;
                tn_input_i64(t, &na, 1, rc->axes);
            } else {
                tn_attr_ints(t, "axes", rc->n_axes, rc->axes);
            }
        }
        CHECK_MSG(tn_run(t) == 0, "case %zu: %s", ci, t->err.msg);
        int keep = rc->keepdims != 0;
        int yn = 0;
        for (int k = 0; k < 4; k++) {
            if (rc->mask & (1u << k)) {
                if (keep) CHECK(t->out[0]->dims[yn++] == 1);
            } else {
                CHECK(t->out[0]->dims[yn++] == d[k]);
            }
        }
        CHECK_MSG(t->out[0]->ndim == yn, "case %zu: rank %d, want %d", ci, t->out[0]->ndim, yn);
        ref_mean(x, d, rc->mask, r);
        int64_t ny = gcam_numel(t->out[0]);
        for (int64_t i = 0; i < ny; i++)
            CHECK_MSG(fabs(tn_out(t, 0)[i] - r[i]) < 1e-6, "case %zu: y[%lld] = %.8g, want %.8g", ci,
                      (long long)i, tn_out(t, 0)[i], r[i]);
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "case %zu gradient", ci);
        tn_free(t);
    }
}

GCAM_TEST(ew_reducemean_noop_with_empty_axes)
{
    int64_t d[2] = {3, 4}, zero = 0;
    float x[12];
    ew_fill(x, 12, 5, -1, 1, NULL, 0, 0);
    /* empty axes input + noop: identity */
    tnode *t = tn_new("ReduceMean", 18);
    tn_attr_int(t, "noop_with_empty_axes", 1);
    tn_input_f32(t, d, 2, x, 0);
    tn_input_i64(t, &zero, 1, &zero);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 2 && t->out[0]->dims[0] == 3 && t->out[0]->dims[1] == 4);
    CHECK(tn_maxdiff(tn_out(t, 0), x, 12) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* empty axes without noop: reduce everything */
    t = tn_new("ReduceMean", 18);
    tn_attr_int(t, "keepdims", 0);
    tn_input_f32(t, d, 2, x, 0);
    tn_input_i64(t, &zero, 1, &zero);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 0);
    double s = 0;
    for (int i = 0; i < 12; i++) s += x[i];
    CHECK_NEAR(tn_out(t, 0)[0], s / 12, 1e-6);
    tn_free(t);
}

GCAM_TEST(ew_reducemean_bad_axes)
{
    int64_t d[2] = {3, 4};
    /* dynamic axes input */
    int64_t one = 1, ax = 1;
    tnode *t = tn_new("ReduceMean", 18);
    tn_input_f32(t, d, 2, NULL, 0);
    tn_input_i64(t, &one, 1, &ax);
    t->in[1]->flags &= ~GCAM_TF_CONST;
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    CHECK(strstr(t->err.msg, "dynamic axes"));
    tn_free(t);
    /* repeated and out-of-range axes */
    int64_t rep[2] = {1, -1}, oor[1] = {2};
    t = tn_new("ReduceMean", 13);
    tn_attr_ints(t, "axes", 2, rep);
    tn_input_f32(t, d, 2, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
    t = tn_new("ReduceMean", 13);
    tn_attr_ints(t, "axes", 1, oor);
    tn_input_f32(t, d, 2, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
}
