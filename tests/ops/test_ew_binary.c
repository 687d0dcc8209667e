/* Broadcasting binary ops (Add, Sub, Mul, Div, Pow, PRelu): forward against
 * a naive numpy-rule reference, backward against finite differences for
 * every operand and broadcast pattern. */
#include <stdio.h>

#include "test.h"
#include "test_ew_util.h"

typedef struct bin_op {
    const char *op;
    int opset;
    double (*ref)(double a, double b);
    float alo, ahi, blo, bhi; /* operand ranges */
    float akink;              /* PRelu: keep a away from 0 */
    int unidirectional;       /* PRelu: b must broadcast to a */
} bin_op;

static double r_add(double a, double b) { return a + b; }
static double r_sub(double a, double b) { return a - b; }
static double r_mul(double a, double b) { return a * b; }
static double r_div(double a, double b) { return a / b; }
static double r_pow(double a, double b) { return pow(a, b); }
static double r_prelu(double a, double b) { return a < 0 ? b * a : a; }

static const bin_op bin_ops[] = {
    {"Add", 14, r_add, -2, 2, -2, 2, NAN, 0},
    {"Sub", 14, r_sub, -2, 2, -2, 2, NAN, 0},
    {"Mul", 14, r_mul, -2, 2, -2, 2, NAN, 0},
    {"Div", 14, r_div, -2, 2, 0.5f, 2, NAN, 0},
    {"Pow", 15, r_pow, 0.3f, 2, -2, 2.5f, NAN, 0},
    {"PRelu", 16, r_prelu, -2, 2, 0.05f, 0.5f, 0.0f, 1},
};

typedef struct shape_pair {
    int an, bn;
    int64_t a[4], b[4];
} shape_pair;

static const shape_pair shapes[] = {
    {4, 4, {2, 3, 4, 5}, {2, 3, 4, 5}}, /* equal */
    {4, 3, {2, 3, 4, 5}, {3, 1, 1}},    /* per channel */
    {4, 1, {2, 3, 4, 5}, {1}},          /* [1] scalar */
    {4, 0, {2, 3, 4, 5}, {0}},          /* 0-d scalar */
    {4, 1, {2, 3, 4, 5}, {5}},          /* last dim */
    {4, 4, {2, 3, 4, 5}, {1, 3, 1, 5}}, /* interleaved */
    {4, 2, {2, 3, 4, 5}, {4, 1}},       /* middle dim */
    {3, 4, {3, 1, 1}, {2, 3, 4, 5}},    /* reversed: a broadcasts */
    {1, 4, {1}, {2, 3, 4, 5}},
    {2, 2, {4, 1}, {1, 5}},             /* both broadcast */
    {4, 3, {2, 1, 4, 1}, {3, 1, 5}},
};

static void check_binary(const bin_op *op, const shape_pair *sp, int b_const, int si)
{
    int64_t yd[4];
    int yn;
    CHECK(gcam_broadcast_shape(sp->a, sp->an, sp->b, sp->bn, yd, &yn) == 0);
    int64_t na = ew_numel(sp->a, sp->an), nb = ew_numel(sp->b, sp->bn), ny = ew_numel(yd, yn);
    if (op->unidirectional && ny != na) return; /* PRelu: slope must broadcast to x */
    float a[120], b[120];
    ew_fill(a, na, 11 + si, op->alo, op->ahi, &op->akink, isnan(op->akink) ? 0 : 1, 0.06f);
    ew_fill(b, nb, 23 + si, op->blo, op->bhi, NULL, 0, 0);
    tnode *t = tn_new(op->op, op->opset);
    tn_input_f32(t, sp->a, sp->an, a, 0);
    tn_input_f32(t, sp->b, sp->bn, b, b_const);
    CHECK_MSG(tn_run(t) == 0, "%s case %d: %s", op->op, si, t->err.msg);
    CHECK(t->out[0]->ndim == yn);
    for (int d = 0; d < yn; d++) CHECK(t->out[0]->dims[d] == yd[d]);
    const float *y = tn_out(t, 0);
    for (int64_t i = 0; i < ny; i++) {
        double r = op->ref(a[ew_bcast_offset(i, yd, yn, sp->a, sp->an)],
                           b[ew_bcast_offset(i, yd, yn, sp->b, sp->bn)]);
        CHECK_MSG(fabs(y[i] - r) <= 1e-6 * fmax(1.0, fabs(r)), "%s case %d: y[%lld] = %.8g, want %.8g",
                  op->op, si, (long long)i, y[i], r);
    }
    CHECK_MSG(tn_fd_check(t, 3e-3) == 0, "%s case %d (b %s): gradient", op->op, si,
              b_const ? "const" : "variable");
    tn_free(t);
}

GCAM_TEST(ew_binary_broadcast_forward_and_gradient)
{
    for (size_t o = 0; o < sizeof bin_ops / sizeof bin_ops[0]; o++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            check_binary(&bin_ops[o], &shapes[s], 0, (int)s);
            if (gcam_test_failed()) return;
            check_binary(&bin_ops[o], &shapes[s], 1, (int)s);
            if (gcam_test_failed()) return;
        }
}

GCAM_TEST(ew_binary_incompatible_shapes)
{
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "PRelu"};
    int64_t a[2] = {3, 4}, b[1] = {3};
    for (int i = 0; i < 6; i++) {
        tnode *t = tn_new(ops[i], 14);
        tn_input_f32(t, a, 2, NULL, 0);
        tn_input_f32(t, b, 1, NULL, 0);
        CHECK(tn_run(t) == GCAM_E_SHAPE);
        CHECK(strstr(t->err.msg, "[3,4]") && strstr(t->err.msg, "[3]"));
        tn_free(t);
    }
    /* PRelu's slope may not enlarge x */
    int64_t x[1] = {4}, s[2] = {2, 4};
    tnode *t = tn_new("PRelu", 16);
    tn_input_f32(t, x, 1, NULL, 0);
    tn_input_f32(t, s, 2, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}

GCAM_TEST(ew_binary_int64_shape_arithmetic)
{
    const char *ops[] = {"Add", "Sub", "Mul", "Div"};
    int64_t d3[1] = {3};
    int64_t a[3] = {7, -8, 100}, s = 3, b[3] = {2, 3, -7};
    for (int i = 0; i < 4; i++) {
        /* [3] op 0-d scalar */
        tnode *t = tn_new(ops[i], 14);
        tn_input_i64(t, d3, 1, a);
        tn_input_i64(t, NULL, 0, &s);
        CHECK(tn_run(t) == 0);
        CHECK(t->out[0]->dtype == GCAM_DT_I64 && t->out[0]->ndim == 1 && t->out[0]->dims[0] == 3);
        const int64_t *y = (const int64_t *)t->out[0]->data;
        for (int k = 0; k < 3; k++) {
            int64_t want = i == 0 ? a[k] + s : i == 1 ? a[k] - s : i == 2 ? a[k] * s : a[k] / s;
            CHECK_MSG(y[k] == want, "%s: %lld vs %lld", ops[i], (long long)y[k], (long long)want);
        }
        tn_free(t);
        /* elementwise, scalar first */
        t = tn_new(ops[i], 14);
        tn_input_i64(t, NULL, 0, &s);
        tn_input_i64(t, d3, 1, b);
        CHECK(tn_run(t) == 0);
        y = (const int64_t *)t->out[0]->data;
        for (int k = 0; k < 3; k++) {
            int64_t want = i == 0 ? s + b[k] : i == 1 ? s - b[k] : i == 2 ? s * b[k] : s / b[k];
            CHECK(y[k] == want);
        }
        tn_free(t);
    }
    /* Div truncates toward zero like C and ONNX's int Div */
    int64_t z = 0, m1 = -1, mn = INT64_MIN;
    tnode *t = tn_new("Div", 14);
    tn_input_i64(t, d3, 1, a);
    tn_input_i64(t, NULL, 0, &z);
    CHECK(tn_run(t) == GCAM_E_RANGE);
    tn_free(t);
    t = tn_new("Div", 14);
    tn_input_i64(t, NULL, 0, &mn);
    tn_input_i64(t, NULL, 0, &m1);
    CHECK(tn_run(t) == GCAM_E_RANGE);
    tn_free(t);
    /* Pow of integers keeps the type (no gradient); mixed dtypes elsewhere are rejected */
    t = tn_new("Pow", 15);
    tn_input_i64(t, d3, 1, a);
    tn_input_i64(t, d3, 1, b);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I64);
    for (int i = 0; i < 3; i++)
        CHECK(((int64_t *)t->out[0]->data)[i] == (int64_t)pow((double)a[i], (double)b[i]));
    tn_free(t);
    t = tn_new("Add", 14);
    tn_input_f32(t, d3, 1, NULL, 0);
    tn_input_i64(t, d3, 1, b);
    CHECK(tn_run(t) == GCAM_E_DTYPE);
    tn_free(t);
}

GCAM_TEST(ew_pow_integer_exponent)
{
    /* float base with int64 exponent (test_pow_types_float32_int64), broadcast */
    int64_t ad[2] = {2, 3}, bd[1] = {3};
    float a[6] = {0.5f, 1.5f, 2.0f, 3.0f, 0.25f, 1.1f};
    int64_t e[3] = {2, 3, -1};
    tnode *t = tn_new("Pow", 15);
    tn_input_f32(t, ad, 2, a, 0);
    tn_input_i64(t, bd, 1, e);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_F32);
    for (int i = 0; i < 6; i++) CHECK_NEAR(tn_out(t, 0)[i], pow(a[i], (double)e[i % 3]), 1e-6);
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
    /* scalar int exponent: the base's gradient needs no reduction */
    int64_t two = 2;
    t = tn_new("Pow", 15);
    tn_input_f32(t, ad, 2, a, 0);
    tn_input_i64(t, NULL, 0, &two);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 6; i++) CHECK_NEAR(tn_out(t, 0)[i], (double)a[i] * a[i], 1e-6);
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

GCAM_TEST(ew_pow_gradient_edge_cases)
{
    /* b == 0: da = 0 (not 0 * a^-1); a <= 0: db = 0 instead of log of a negative */
    int64_t d[1] = {4};
    float a[4] = {0.0f, -2.0f, 2.0f, 0.0f}, b[4] = {0.0f, 2.0f, 3.0f, 2.0f};
    float dy[4] = {1, 1, 1, 1};
    float ga[4] = {0}, gb[4] = {0};
    tnode *t = tn_new("Pow", 15);
    tn_input_f32(t, d, 1, a, 0);
    tn_input_f32(t, d, 1, b, 0);
    CHECK(tn_run(t) == 0);
    CHECK_NEAR(tn_out(t, 0)[0], 1.0f, 0); /* 0^0 = 1 */
    gcam_tensor dout_t = *t->out[0], da_t = *t->in[0], db_t = *t->in[1];
    dout_t.data = dy;
    da_t.data = ga;
    db_t.data = gb;
    gcam_tensor *dout[TN_MAX] = {&dout_t}, *din[TN_MAX] = {&da_t, &db_t};
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                    .scratch = t->scratch, .nthreads = 1, .err = &t->err};
    CHECK(t->node.op->backward(&c) == 0);
    const float wa[4] = {0, -4, 12, 0}, wb[4] = {0, 0, (float)(8 * log(2.0)), 0};
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(ga[i], wa[i], 1e-5);
        CHECK_NEAR(gb[i], wb[i], 1e-5);
    }
    tn_free(t);
}

GCAM_TEST(ew_mul_same_tensor_twice)
{
    /* x * x with both din pointing at one buffer: both contributions add up */
    int64_t d[1] = {3};
    float x[3] = {1.0f, -2.0f, 0.5f}, dy[3] = {1, 1, 2}, g[3] = {0};
    tnode *t = tn_new("Mul", 14);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_f32(t, d, 1, x, 0);
    CHECK(tn_run(t) == 0);
    gcam_tensor dout_t = *t->out[0], din_t = *t->in[0];
    dout_t.data = dy;
    din_t.data = g;
    gcam_tensor *dout[TN_MAX] = {&dout_t}, *din[TN_MAX] = {&din_t, &din_t};
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                    .scratch = t->scratch, .nthreads = 1, .err = &t->err};
    CHECK(t->node.op->backward(&c) == 0);
    for (int i = 0; i < 3; i++) CHECK_NEAR(g[i], 2 * x[i] * dy[i], 1e-6);
    tn_free(t);
}

GCAM_TEST(ew_binary_null_dout_is_zero_gradient)
{
    int64_t a[2] = {2, 3}, b[1] = {3};
    tnode *t = tn_new("Mul", 14);
    tn_input_f32(t, a, 2, NULL, 0);
    tn_input_f32(t, b, 1, NULL, 0);
    CHECK(tn_run(t) == 0);
    float ga[6] = {0}, gb[3] = {0};
    gcam_tensor da_t = *t->in[0], db_t = *t->in[1];
    da_t.data = ga;
    db_t.data = gb;
    gcam_tensor *dout[TN_MAX] = {NULL}, *din[TN_MAX] = {&da_t, &db_t};
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                    .scratch = t->scratch, .nthreads = 1, .err = &t->err};
    CHECK(t->node.op->backward(&c) == 0);
    for (int i = 0; i < 6; i++) CHECK(ga[i] == 0);
    tn_free(t);
}
