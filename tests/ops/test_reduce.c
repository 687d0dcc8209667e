/* The Reduce family (src/ops/reduce.c): values against a by-hand loop in
 * double over axis 1 of a [2,3,4] tensor, backward against finite
 * differences (inputs positive and distinct: no ties, no zeros). */
#include "test.h"
#include "test_ew_util.h"

static double ref_reduce(const char *op, const float *v, int n)
{
    double s = 0, p = 1, mx = -INFINITY, mn = INFINITY, l1 = 0, sq = 0, se = 0;
    for (int i = 0; i < n; i++) {
        s += v[i]; p *= v[i]; l1 += fabs(v[i]); sq += (double)v[i] * v[i];
        mx = fmax(mx, v[i]); mn = fmin(mn, v[i]); se += exp(v[i]);
    }
    if (!strcmp(op, "ReduceSum")) return s;
    if (!strcmp(op, "ReduceMean")) return s / n;
    if (!strcmp(op, "ReduceMax")) return mx;
    if (!strcmp(op, "ReduceMin")) return mn;
    if (!strcmp(op, "ReduceProd")) return p;
    if (!strcmp(op, "ReduceL1")) return l1;
    if (!strcmp(op, "ReduceL2")) return sqrt(sq);
    if (!strcmp(op, "ReduceLogSum")) return log(s);
    if (!strcmp(op, "ReduceLogSumExp")) return log(se);
    return sq;
}

GCAM_TEST(reduce_family_values_and_gradient)
{
    static const char *ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = 0.5f + 0.0625f * (float)((i * 7) % 24); /* distinct, positive */
    for (int k = 0; k < 10; k++)
        for (int form = 0; form < 2; form++) { /* attribute axes at opset 13 (input for Sum); input at 18 */
            tnode *t = tn_new(ops[k], form ? 18 : 13);
            tn_attr_int(t, "keepdims", 0);
            tn_input_f32(t, (int64_t[]){2, 3, 4}, 3, x, 0);
            if (form || !strcmp(ops[k], "ReduceSum")) tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){-2});
            else tn_attr_ints(t, "axes", 1, (int64_t[]){1});
            CHECK_MSG(tn_run(t) == 0, "%s: %s", ops[k], t->err.msg);
            CHECK(t->out[0]->ndim == 2 && t->out[0]->dims[0] == 2 && t->out[0]->dims[1] == 4);
            for (int a = 0; a < 2; a++)
                for (int c = 0; c < 4; c++) {
                    float g[3] = {x[a * 12 + c], x[a * 12 + 4 + c], x[a * 12 + 8 + c]};
                    double r = ref_reduce(ops[k], g, 3), y = tn_out(t, 0)[a * 4 + c];
                    CHECK_MSG(fabs(y - r) <= 1e-5 * fmax(1, fabs(r)), "%s [%d,%d] = %g, want %g", ops[k], a, c, y, r);
                }
            CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "%s gradient", ops[k]);
            tn_free(t);
        }
}

GCAM_TEST(reduce_empty_axes_noop_and_integers)
{
    /* noop_with_empty_axes: identity; without: all axes */
    float x[6] = {1, 2, 3, 4, 5, 6};
    tnode *t = tn_new("ReduceMax", 18);
    tn_attr_int(t, "noop_with_empty_axes", 1);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 2 && tn_maxdiff(tn_out(t, 0), x, 6) == 0.0);
    tn_free(t);
    t = tn_new("ReduceProd", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 2 && t->out[0]->dims[0] == 1 && tn_out(t, 0)[0] == 720.0f);
    tn_free(t);
    /* int64 sums exactly, keeps its type */
    t = tn_new("ReduceSum", 13);
    tn_input_i64(t, (int64_t[]){3}, 1, (int64_t[]){4, -9, 100});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I64 && ((int64_t *)t->out[0]->data)[0] == 95);
    tn_free(t);
}
