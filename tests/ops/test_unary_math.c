/* The unary math table (src/ops/unary_math.c): forward against libm in
 * double, backward against finite differences away from kinks; the
 * piecewise-constant ops pass a zero gradient; integer Neg/Abs/Sign. */
#include <float.h>

#include "test.h"
#include "test_ew_util.h"

typedef struct math_case {
    const char *op;
    const char *attr; /* one float attribute, or NULL */
    float av;
    double (*ref)(double x, double a);
    float lo, hi;
    float kinks[2];
    int nk;
    int zero_grad;
} math_case;

static double sp(double x) { return log1p(exp(x)); }
static double r_neg(double x, double a) { return -x; }
static double r_abs(double x, double a) { return fabs(x); }
static double r_sign(double x, double a) { return (x > 0) - (x < 0); }
static double r_exp(double x, double a) { return exp(x); }
static double r_log(double x, double a) { return log(x); }
static double r_recip(double x, double a) { return 1 / x; }
static double r_floor(double x, double a) { return floor(x); }
static double r_ceil(double x, double a) { return ceil(x); }
static double r_round(double x, double a) { return nearbyint(x); }
static double r_softplus(double x, double a) { return sp(x); }
static double r_softsign(double x, double a) { return x / (1 + fabs(x)); }
static double r_elu(double x, double a) { return x > 0 ? x : a * expm1(x); }
static double r_selu(double x, double a)
{
    return 1.05070102214813232421875 * (x > 0 ? x : 1.67326319217681884765625 * expm1(x));
}
static double r_celu(double x, double a) { return x > 0 ? x : a * expm1(x / a); }
static double r_thr(double x, double a) { return x > a ? x : 0; }
static double r_mish(double x, double a) { return x * tanh(sp(x)); }
static double r_gelu(double x, double a) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double r_shrink(double x, double a) { return x < -a ? x : x > a ? x : 0; }
static double r_sin(double x, double a) { return sin(x); }
static double r_cos(double x, double a) { return cos(x); }
static double r_tan(double x, double a) { return tan(x); }
static double r_asin(double x, double a) { return asin(x); }
static double r_acos(double x, double a) { return acos(x); }
static double r_atan(double x, double a) { return atan(x); }
static double r_sinh(double x, double a) { return sinh(x); }
static double r_cosh(double x, double a) { return cosh(x); }
static double r_asinh(double x, double a) { return asinh(x); }
static double r_acosh(double x, double a) { return acosh(x); }
static double r_atanh(double x, double a) { return atanh(x); }

static const math_case cases[] = {
    {"Neg", NULL, 0, r_neg, -3, 3, {0}, 0, 0},
    {"Abs", NULL, 0, r_abs, -3, 3, {0}, 1, 0},
    {"Sign", NULL, 0, r_sign, -3, 3, {0}, 1, 1},
    {"Exp", NULL, 0, r_exp, -3, 3, {0}, 0, 0},
    {"Log", NULL, 0, r_log, 0.2f, 4, {0}, 0, 0},
    {"Reciprocal", NULL, 0, r_recip, 0.5f, 3, {0}, 0, 0},
    {"Floor", NULL, 0, r_floor, -3, 3, {0}, 0, 1},
    {"Ceil", NULL, 0, r_ceil, -3, 3, {0}, 0, 1},
    {"Round", NULL, 0, r_round, -3, 3, {0}, 0, 1},
    {"Softplus", NULL, 0, r_softplus, -4, 4, {0}, 0, 0},
    {"Softsign", NULL, 0, r_softsign, -4, 4, {0}, 1, 0},
    {"Elu", "alpha", 0.7f, r_elu, -3, 3, {0}, 1, 0},
    {"Selu", NULL, 0, r_selu, -3, 3, {0}, 1, 0},
    {"Celu", "alpha", 1.5f, r_celu, -3, 3, {0}, 1, 0},
    {"ThresholdedRelu", "alpha", 0.5f, r_thr, -2, 2, {0.5f}, 1, 0},
    {"Mish", NULL, 0, r_mish, -4, 4, {0}, 0, 0},
    {"Gelu", NULL, 0, r_gelu, -4, 4, {0}, 0, 0},
    {"Shrink", "lambd", 0.6f, r_shrink, -2, 2, {-0.6f, 0.6f}, 2, 0},
    {"Sin", NULL, 0, r_sin, -3, 3, {0}, 0, 0},
    {"Cos", NULL, 0, r_cos, -3, 3, {0}, 0, 0},
    {"Tan", NULL, 0, r_tan, -1.2f, 1.2f, {0}, 0, 0},
    {"Asin", NULL, 0, r_asin, -0.9f, 0.9f, {0}, 0, 0},
    {"Acos", NULL, 0, r_acos, -0.9f, 0.9f, {0}, 0, 0},
    {"Atan", NULL, 0, r_atan, -3, 3, {0}, 0, 0},
    {"Sinh", NULL, 0, r_sinh, -2, 2, {0}, 0, 0},
    {"Cosh", NULL, 0, r_cosh, -2, 2, {0}, 0, 0},
    {"Asinh", NULL, 0, r_asinh, -3, 3, {0}, 0, 0},
    {"Acosh", NULL, 0, r_acosh, 1.2f, 4, {0}, 0, 0},
    {"Atanh", NULL, 0, r_atanh, -0.8f, 0.8f, {0}, 0, 0},
};

GCAM_TEST(unary_math_forward_and_gradient)
{
    int64_t d[3] = {2, 3, 10};
    float x[60];
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const math_case *mc = &cases[ci];
        /* for Floor/Ceil/Round, stay away from integers and half-integers too */
        ew_fill(x, 60, (unsigned)ci + 7, mc->lo, mc->hi, mc->kinks, mc->nk, 0.06f);
        if (mc->zero_grad)
            for (int i = 0; i < 60; i++) x[i] = floorf(x[i]) + 0.1f + 0.3f * (float)(i % 3);
        tnode *t = tn_new(mc->op, 20);
        if (mc->attr) tn_attr_float(t, mc->attr, mc->av);
        tn_input_f32(t, d, 3, x, 0);
        CHECK_MSG(tn_run(t) == 0, "%s: %s", mc->op, t->err.msg);
        const float *y = tn_out(t, 0);
        for (int i = 0; i < 60; i++) {
            double r = mc->ref(x[i], mc->av);
            CHECK_MSG(fabs(y[i] - r) <= 4e-6 * fmax(1.0, fabs(r)), "%s: y(%g) = %.8g, want %.8g", mc->op, x[i], y[i], r);
        }
        CHECK_MSG(tn_fd_check(t, 3e-3) == 0, "%s: gradient", mc->op);
        tn_free(t);
    }
}

GCAM_TEST(unary_math_gelu_tanh_and_integers)
{
    float x[5] = {-2.5f, -0.7f, 0.1f, 1.3f, 3.0f};
    tnode *t = tn_new("Gelu", 20);
    tn_attr_str(t, "approximate", "tanh");
    tn_input_f32(t, (int64_t[]){5}, 1, x, 0);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 5; i++) {
        double v = x[i], r = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        CHECK_MSG(fabs(tn_out(t, 0)[i] - r) < 2e-6, "gelu tanh (%g)", v);
    }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
    t = tn_new("Gelu", 20);
    tn_attr_str(t, "approximate", "sigmoid");
    tn_input_f32(t, (int64_t[]){5}, 1, x, 0);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);

    /* Neg of int64: wraps rather than overflowing; Abs and Sign exact */
    const char *ops[3] = {"Neg", "Abs", "Sign"};
    const int64_t in[3] = {-5, 0, INT64_MIN}, want[3][3] = {{5, 0, INT64_MIN}, {5, 0, INT64_MIN}, {-1, 0, -1}};
    for (int k = 0; k < 3; k++) {
        t = tn_new(ops[k], 13);
        tn_input_i64(t, (int64_t[]){3}, 1, in);
        CHECK(tn_run(t) == 0);
        CHECK(t->out[0]->dtype == GCAM_DT_I64);
        for (int i = 0; i < 3; i++) CHECK_MSG(((int64_t *)t->out[0]->data)[i] == want[k][i], "%s[%d]", ops[k], i);
        tn_free(t);
    }
}
