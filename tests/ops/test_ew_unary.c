/* Unary activation ops: forward against libm formulas (in double), backward
 * against finite differences with inputs kept away from kinks. */
#include <float.h>

#include "test.h"
#include "test_ew_util.h"

typedef struct unary_case {
    const char *op;
    int opset;
    float alpha, beta; /* attributes when has_attr */
    int has_attr;
    double (*ref)(double x, double alpha, double beta);
    float lo, hi;      /* input range */
    float kinks[2];
    int nk;
} unary_case;

static double ref_relu(double x, double a, double b) { return x > 0 ? x : 0; }
static double ref_leaky(double x, double a, double b) { return x >= 0 ? x : a * x; }
static double ref_sigmoid(double x, double a, double b) { return 1.0 / (1.0 + exp(-x)); }
static double ref_hardsigmoid(double x, double a, double b) { return fmax(0, fmin(1, a * x + b)); }
static double ref_hardswish(double x, double a, double b) { return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double ref_tanh(double x, double a, double b) { return tanh(x); }
static double ref_erf(double x, double a, double b) { return erf(x); }
static double ref_sqrt(double x, double a, double b) { return sqrt(x); }

static const unary_case unary_cases[] = {
    {"Relu", 14, 0, 0, 0, ref_relu, -2, 2, {0}, 1},
    {"LeakyRelu", 16, 0.01f, 0, 0, ref_leaky, -2, 2, {0}, 1},
    {"LeakyRelu", 16, 0.1f, 0, 1, ref_leaky, -2, 2, {0}, 1},
    {"Sigmoid", 13, 0, 0, 0, ref_sigmoid, -6, 6, {0}, 0},
    {"HardSigmoid", 6, 0.2f, 0.5f, 0, ref_hardsigmoid, -4, 4, {-2.5f, 2.5f}, 2},
    {"HardSigmoid", 6, 0.5f, 0.6f, 1, ref_hardsigmoid, -3, 3, {-1.2f, 0.8f}, 2},
    {"HardSwish", 14, 0, 0, 0, ref_hardswish, -5, 5, {-3, 3}, 2},
    {"Tanh", 13, 0, 0, 0, ref_tanh, -3, 3, {0}, 0},
    {"Erf", 13, 0, 0, 0, ref_erf, -2.5f, 2.5f, {0}, 0},
    {"Sqrt", 13, 0, 0, 0, ref_sqrt, 0.2f, 3, {0}, 0},
};

GCAM_TEST(ew_unary_forward_and_gradient)
{
    int64_t d[4] = {2, 3, 4, 5};
    float x[120];
    for (size_t ci = 0; ci < sizeof unary_cases / sizeof unary_cases[0]; ci++) {
        const unary_case *uc = &unary_cases[ci];
        ew_fill(x, 120, (unsigned)ci + 1, uc->lo, uc->hi, uc->kinks, uc->nk, 0.06f);
        tnode *t = tn_new(uc->op, uc->opset);
        if (uc->has_attr) {
            tn_attr_float(t, "alpha", uc->alpha);
            if (uc->beta != 0) tn_attr_float(t, "beta", uc->beta);
        }
        tn_input_f32(t, d, 4, x, 0);
        CHECK_MSG(tn_run(t) == 0, "%s: %s", uc->op, t->err.msg);
        CHECK(t->out[0]->dtype == GCAM_DT_F32 && t->out[0]->ndim == 4 && t->out[0]->dims[3] == 5);
        const float *y = tn_out(t, 0);
        for (int i = 0; i < 120; i++) {
            double r = uc->ref(x[i], uc->alpha, uc->beta);
            CHECK_MSG(fabs(y[i] - r) <= 2e-6 * fmax(1.0, fabs(r)), "%s alpha %g: y[%d] = %.8g, want %.8g",
                      uc->op, uc->alpha, i, y[i], r);
        }
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "%s alpha %g: gradient", uc->op, uc->alpha);
        tn_free(t);
    }
}

GCAM_TEST(ew_unary_rejects_int64)
{
    tnode *t = tn_new("Relu", 14);
    int64_t d[1] = {3}, v[3] = {1, -2, 3};
    tn_input_i64(t, d, 1, v);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);
}

GCAM_TEST(ew_relu_guided_rule)
{
    int64_t d[1] = {6};
    float x[6] = {-1.0f, -0.5f, 0.5f, 1.0f, 2.0f, 0.0f};
    float dy[6] = {1.0f, -1.0f, 1.0f, -1.0f, 3.0f, 1.0f};
    float dx[6] = {0}, gx[6] = {0};
    tnode *t = tn_new("Relu", 14);
    tn_input_f32(t, d, 1, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(ew_backward(t, dy, dx, 0) == 0);
    CHECK(ew_backward(t, dy, gx, 1) == 0);
    const float want[6] = {0, 0, 1, -1, 3, 0}, wantg[6] = {0, 0, 1, 0, 3, 0};
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(dx[i], want[i], 0);
        CHECK_NEAR(gx[i], wantg[i], 0);
    }
    tn_free(t);
}

GCAM_TEST(ew_relu_propagates_nan)
{
    int64_t d[1] = {2};
    float x[2] = {NAN, -1.0f};
    tnode *t = tn_new("Relu", 14);
    tn_input_f32(t, d, 1, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(isnan(tn_out(t, 0)[0]) && tn_out(t, 0)[1] == 0.0f);
    tn_free(t);
}

GCAM_TEST(ew_leakyrelu_guided_is_ignored)
{
    /* only ReLU-like ops take the guided rule; LeakyRelu's negative side carries gradient */
    int64_t d[1] = {2};
    float x[2] = {-1.0f, 1.0f}, dy[2] = {1.0f, -1.0f}, gx[2] = {0};
    tnode *t = tn_new("LeakyRelu", 16);
    tn_attr_float(t, "alpha", 0.1f);
    tn_input_f32(t, d, 1, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(ew_backward(t, dy, gx, 1) == 0);
    CHECK_NEAR(gx[0], 0.1f, 1e-7);
    CHECK_NEAR(gx[1], -1.0f, 0);
    tn_free(t);
}

/* ---- Clip -------------------------------------------------------------------- */

static double clampd(double x, double lo, double hi) { return fmin(fmax(x, lo), hi); }

GCAM_TEST(ew_clip_attributes_opset6)
{
    int64_t d[3] = {3, 4, 5};
    float x[60], kinks[2] = {-0.5f, 0.5f};
    ew_fill(x, 60, 7, -1.5f, 1.5f, kinks, 2, 0.06f);
    tnode *t = tn_new("Clip", 6);
    tn_attr_float(t, "min", -0.5f);
    tn_attr_float(t, "max", 0.5f);
    tn_input_f32(t, d, 3, x, 0);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 60; i++) CHECK_NEAR(tn_out(t, 0)[i], clampd(x[i], -0.5, 0.5), 0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(ew_clip_inputs_opset13)
{
    int64_t d[3] = {3, 4, 5};
    float x[60], kinks[2] = {-0.3f, 0.7f}, lo = -0.3f, hi = 0.7f;
    ew_fill(x, 60, 8, -1.5f, 1.5f, kinks, 2, 0.06f);
    /* constant bounds: gradient for x only */
    tnode *t = tn_new("Clip", 13);
    tn_input_f32(t, d, 3, x, 0);
    tn_input_f32(t, NULL, 0, &lo, 1);
    tn_input_f32(t, NULL, 0, &hi, 1);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 60; i++) CHECK_NEAR(tn_out(t, 0)[i], clampd(x[i], lo, hi), 0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* runtime bounds (the ONNX backend tests feed them as graph inputs): they
     * get the summed gradient of the elements they clip */
    t = tn_new("Clip", 13);
    tn_input_f32(t, d, 3, x, 0);
    tn_input_f32(t, NULL, 0, &lo, 0);
    tn_input_f32(t, NULL, 0, &hi, 0);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 60; i++) CHECK_NEAR(tn_out(t, 0)[i], clampd(x[i], lo, hi), 0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(ew_clip_omitted_bounds)
{
    int64_t d[1] = {5};
    float x[5] = {-3e38f, -1.0f, 0.0f, 2.0f, 3e38f}, hi = 1.0f, lo = -0.5f;
    /* no bounds: identity */
    tnode *t = tn_new("Clip", 13);
    tn_input_f32(t, d, 1, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), x, 5) == 0.0);
    tn_free(t);
    /* min omitted (empty name), max given */
    t = tn_new("Clip", 12);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_none(t);
    tn_input_f32(t, NULL, 0, &hi, 1);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 5; i++) CHECK_NEAR(tn_out(t, 0)[i], fmin(x[i], hi), 0);
    tn_free(t);
    /* only min, max input absent altogether */
    t = tn_new("Clip", 11);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_f32(t, NULL, 0, &lo, 1);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 5; i++) CHECK_NEAR(tn_out(t, 0)[i], fmax(x[i], lo), 0);
    tn_free(t);
}

GCAM_TEST(ew_clip_min_above_max_gives_max)
{
    int64_t d[1] = {3};
    float x[3] = {-1.0f, 0.5f, 2.0f}, lo = 1.0f, hi = 0.0f;
    tnode *t = tn_new("Clip", 13);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_f32(t, NULL, 0, &lo, 1);
    tn_input_f32(t, NULL, 0, &hi, 1);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < 3; i++) CHECK_NEAR(tn_out(t, 0)[i], 0.0f, 0); /* numpy.clip */
    tn_free(t);
}

GCAM_TEST(ew_clip_gradient_at_bounds_and_relu6_guided)
{
    /* PyTorch clamp convention: gradient passes at x == min and x == max */
    int64_t d[1] = {7};
    float x[7] = {-1.0f, 0.0f, 3.0f, 6.0f, 7.0f, 2.0f, 1.0f};
    float dy[7] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, -1.0f, 2.0f};
    float lo = 0.0f, hi = 6.0f, dx[7] = {0}, gx[7] = {0};
    tnode *t = tn_new("Clip", 13);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_f32(t, NULL, 0, &lo, 1);
    tn_input_f32(t, NULL, 0, &hi, 1);
    CHECK(tn_run(t) == 0);
    CHECK(ew_backward(t, dy, dx, 0) == 0);
    CHECK(ew_backward(t, dy, gx, 1) == 0);
    const float want[7] = {0, 1, 1, 1, 0, -1, 2};
    /* guided ReLU6: x > 0 (so not at 0), x <= 6, and dy > 0 */
    const float wantg[7] = {0, 0, 1, 1, 0, 0, 2};
    for (int i = 0; i < 7; i++) {
        CHECK_NEAR(dx[i], want[i], 0);
        CHECK_NEAR(gx[i], wantg[i], 0);
    }
    tn_free(t);
    /* min -1: not ReLU-like, guided flag ignored */
    lo = -1.0f;
    float hx[7] = {0};
    t = tn_new("Clip", 13);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_f32(t, NULL, 0, &lo, 1);
    tn_input_f32(t, NULL, 0, &hi, 1);
    CHECK(tn_run(t) == 0);
    CHECK(ew_backward(t, dy, hx, 1) == 0);
    const float wanth[7] = {1, 1, 1, 1, 0, -1, 2};
    for (int i = 0; i < 7; i++) CHECK_NEAR(hx[i], wanth[i], 0);
    tn_free(t);
}

GCAM_TEST(ew_clip_bad_bounds)
{
    int64_t d[1] = {3}, bd[1] = {2};
    float x[3] = {0}, b[2] = {0, 1};
    tnode *t = tn_new("Clip", 13);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_f32(t, bd, 1, b, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    CHECK(strstr(t->err.msg, "test_node") && strstr(t->err.msg, "min"));
    tn_free(t);
    int64_t one = 1;
    t = tn_new("Clip", 13);
    tn_input_f32(t, d, 1, x, 0);
    tn_input_i64(t, NULL, 0, &one);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);
}

GCAM_TEST(ew_unary_large_parallel_matches_serial)
{
    /* exercises the threaded block loop: same result with 1 and 4 threads */
    enum { N = 100003 };
    int64_t d[1] = {N};
    float *x = malloc(sizeof(float) * N), *dy = malloc(sizeof(float) * N);
    float *d1 = calloc(N, sizeof(float)), *d4 = calloc(N, sizeof(float));
    float kink = 0.0f;
    ew_fill(x, N, 3, -3, 3, &kink, 1, 0.01f);
    ew_fill(dy, N, 4, -1, 1, NULL, 0, 0);
    tnode *t = tn_new("HardSwish", 14);
    tn_input_f32(t, d, 1, x, 0);
    CHECK(tn_run(t) == 0);
    for (int i = 0; i < N; i++) CHECK_NEAR(tn_out(t, 0)[i], ref_hardswish(x[i], 0, 0), 1e-6);
    CHECK(ew_backward(t, dy, d1, 0) == 0);
    gcam_tensor dout_t = *t->out[0], din_t = *t->in[0];
    dout_t.data = dy;
    din_t.data = d4;
    gcam_tensor *dout[TN_MAX] = {&dout_t}, *din[TN_MAX] = {&din_t};
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                    .scratch = t->scratch, .nthreads = 4, .err = &t->err};
    CHECK(t->node.op->backward(&c) == 0);
    CHECK(tn_maxdiff(d1, d4, N) == 0.0);
    tn_free(t);
    free(x);
    free(dy);
    free(d1);
    free(d4);
}
