/* test_target_weights.c - issue 14's library additions.
 * gcam_explain_batch: N images in one pass equal N gcam_explain calls (within
 * float32 rounding), per-image targets, the fallback loop bit for bit.
 * gcam_explain_opts.target_weights:
 * score = sum(w * y).  A one-hot weight vector must give exactly the map and
 * score of target_class (the seed is the same vector, reached another way);
 * the raw Grad-CAM map before ReLU is linear in the seed, so a mix of two
 * classes is the same mix of their maps; bad lengths and combinations fail
 * with a status and a message. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <string.h>

#include "gcam.h"
#include "onnx_builder.h"
#include "test.h"

enum { TW_CIN = 2, TW_K = 3, TW_S = 5, TW_CLASSES = 4 };

static void tw_fill(float *v, int n, double phase, double scale)
{
    for (int i = 0; i < n; i++) v[i] = (float)(scale * sin(1.7 * i + phase));
}

/* x -> Conv 3x3 -> Relu ("act") -> Conv 1x1 ("act2", so Grad-CAM takes the
 * ordinary backward path, not the linear-head shortcut) -> GAP -> Flatten -> Gemm */
static gcam_model *tw_model_shape(const char *input_shape)
{
    float w1[TW_K * TW_CIN * 9], b1[TW_K], w2[TW_K * TW_K], b2[TW_K], wf[TW_CLASSES * TW_K], bf[TW_CLASSES];
    tw_fill(w1, TW_K * TW_CIN * 9, 0.2, 0.6);
    tw_fill(b1, TW_K, 1.0, 0.2);
    tw_fill(w2, TW_K * TW_K, 0.5, 0.8);
    tw_fill(b2, TW_K, 2.0, 0.1);
    tw_fill(wf, TW_CLASSES * TW_K, 0.9, 1.0);
    tw_fill(bf, TW_CLASSES, 1.4, 0.3);
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, input_shape);
    ob_init_f32(b, "w1", 4, (int64_t[]){TW_K, TW_CIN, 3, 3}, w1);
    ob_init_f32(b, "b1", 1, (int64_t[]){TW_K}, b1);
    ob_init_f32(b, "w2", 4, (int64_t[]){TW_K, TW_K, 1, 1}, w2);
    ob_init_f32(b, "b2", 1, (int64_t[]){TW_K}, b2);
    ob_init_f32(b, "wf", 2, (int64_t[]){TW_CLASSES, TW_K}, wf);
    ob_init_f32(b, "bf", 1, (int64_t[]){TW_CLASSES}, bf);
    Onnx__NodeProto *c = ob_node(b, "Conv", "conv1", "x,w1,b1", "c1");
    ob_attr_ints(b, c, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "Relu", "relu", "c1", "act");
    ob_node(b, "Conv", "conv2", "act,w2,b2", "act2");
    ob_node(b, "GlobalAveragePool", "gap", "act2", "pooled");
    Onnx__NodeProto *f = ob_node(b, "Flatten", "flat", "pooled", "feat");
    ob_attr_int(b, f, "axis", 1);
    Onnx__NodeProto *g = ob_node(b, "Gemm", "fc", "feat,wf,bf", "logits");
    ob_attr_int(b, g, "transB", 1);
    ob_output(b, "logits", OB_F32, NULL);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

static gcam_model *tw_model(void) { return tw_model_shape("1,2,5,5"); }

static float TW_X[TW_CIN * TW_S * TW_S];

static gcam_array tw_input(void)
{
    tw_fill(TW_X, TW_CIN * TW_S * TW_S, 0.4, 1.0);
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, TW_CIN, TW_S, TW_S}, .data = TW_X};
    return a;
}

static int tw_explain(gcam_model *m, int method, int64_t cls, const float *w, int64_t nw, int no_relu,
                      gcam_explanation **ex)
{
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    static const char *layers[1] = {"act"};
    o.method = method;
    o.layers = layers;
    o.n_layers = 1;
    o.target_class = cls;
    o.target_weights = w;
    o.n_target_weights = nw;
    o.no_relu = no_relu;
    if (no_relu) o.normalize = GCAM_NORM_NONE;
    gcam_array x = tw_input();
    return gcam_explain(m, &x, &o, ex);
}

GCAM_TEST(target_weights_opts_sizeof)
{
    CHECK(gcam_explain_opts_sizeof() == sizeof(gcam_explain_opts));
}

GCAM_TEST(target_weights_one_hot_is_target_class)
{
    gcam_model *m = tw_model();
    CHECK(m != NULL);
    const int methods[] = {GCAM_METHOD_GRADCAM, GCAM_METHOD_LAYERCAM, GCAM_METHOD_SCORECAM, GCAM_METHOD_ABLATIONCAM};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
        for (int64_t cls = 0; cls < TW_CLASSES; cls++) {
            float w[TW_CLASSES] = {0};
            w[cls] = 1.0f;
            gcam_explanation *a = NULL, *b = NULL;
            int ra = tw_explain(m, methods[k], cls, NULL, 0, 0, &a);
            int rb = tw_explain(m, methods[k], -1, w, TW_CLASSES, 0, &b);
            CHECK_MSG(ra == GCAM_OK && rb == GCAM_OK, "%s: %s", gcam_method_name(methods[k]), gcam_model_errmsg(m));
            if (ra || rb) continue;
            int h, w_, h2, w2;
            const float *ma = gcam_explanation_map(a, &h, &w_), *mb = gcam_explanation_map(b, &h2, &w2);
            CHECK(h == h2 && w_ == w2 && h == TW_S);
            CHECK_MSG(!memcmp(ma, mb, sizeof(float) * (size_t)h * w_), "%s class %d: maps differ",
                      gcam_method_name(methods[k]), (int)cls);
            CHECK(gcam_explanation_score(a) == gcam_explanation_score(b));
            CHECK(gcam_explanation_target(b) == -1);
            gcam_explanation_free(a);
            gcam_explanation_free(b);
        }
    gcam_model_free(m);
}

/* the raw map before ReLU is linear in the seed: 0.7 y_0 - 1.9 y_2 */
GCAM_TEST(target_weights_mix_is_linear)
{
    gcam_model *m = tw_model();
    CHECK(m != NULL);
    const float a0 = 0.7f, a2 = -1.9f;
    float w[TW_CLASSES] = {a0, 0, a2, 0};
    gcam_explanation *e0 = NULL, *e2 = NULL, *mix = NULL;
    CHECK(tw_explain(m, GCAM_METHOD_GRADCAM, 0, NULL, 0, 1, &e0) == GCAM_OK);
    CHECK(tw_explain(m, GCAM_METHOD_GRADCAM, 2, NULL, 0, 1, &e2) == GCAM_OK);
    CHECK(tw_explain(m, GCAM_METHOD_GRADCAM, -1, w, TW_CLASSES, 1, &mix) == GCAM_OK);
    if (e0 && e2 && mix) {
        int h, w_;
        const float *r0 = gcam_explanation_raw(e0, &h, &w_), *r2 = gcam_explanation_raw(e2, NULL, NULL),
                    *rm = gcam_explanation_raw(mix, NULL, NULL);
        double mx = 0;
        for (int p = 0; p < h * w_; p++) mx = fmax(mx, fabs(rm[p]));
        CHECK(mx > 1e-3); /* not a vacuous comparison of zeros */
        for (int p = 0; p < h * w_; p++) CHECK_NEAR(rm[p], a0 * r0[p] + a2 * r2[p], 1e-5 * (1 + mx));
        float s0 = gcam_explanation_score(e0), s2 = gcam_explanation_score(e2);
        CHECK_NEAR(gcam_explanation_score(mix), a0 * s0 + a2 * s2, 1e-5);
    }
    gcam_explanation_free(e0);
    gcam_explanation_free(e2);
    gcam_explanation_free(mix);
    gcam_model_free(m);
}

GCAM_TEST(target_weights_errors)
{
    gcam_model *m = tw_model();
    CHECK(m != NULL);
    float w[TW_CLASSES + 1] = {1, 0, 0, 0, 0};
    gcam_explanation *ex = NULL;
    CHECK(tw_explain(m, GCAM_METHOD_GRADCAM, -1, w, TW_CLASSES + 1, 0, &ex) == GCAM_E_SHAPE && ex == NULL);
    CHECK(strstr(gcam_model_errmsg(m), "5 elements") != NULL);
    CHECK(tw_explain(m, GCAM_METHOD_GRADCAM, -1, w, 0, 0, &ex) == GCAM_E_ARG && ex == NULL);
    CHECK(tw_explain(m, GCAM_METHOD_CAM, -1, w, TW_CLASSES, 0, &ex) == GCAM_E_ARG && ex == NULL);
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.target_weights = w;
    o.n_target_weights = TW_CLASSES;
    o.target_softmax = 1;
    gcam_array x = tw_input();
    /* weights with target_softmax (issue 10): a one-hot weight is the class's
     * softmax target, score and map */
    CHECK(gcam_explain(m, &x, &o, &ex) == GCAM_OK && ex != NULL);
    gcam_explanation *one = NULL;
    gcam_explain_opts o1;
    gcam_explain_opts_default(&o1);
    o1.target_class = 0;
    o1.target_softmax = 1;
    CHECK(gcam_explain(m, &x, &o1, &one) == GCAM_OK && one != NULL);
    if (ex && one) {
        const float s = gcam_explanation_score(ex);
        CHECK(s > 0.0f && s < 1.0f); /* a probability */
        CHECK_NEAR(s, gcam_explanation_score(one), 1e-6);
        int h = 0, w_ = 0, h1 = 0, w1 = 0;
        const float *a = gcam_explanation_map(ex, &h, &w_), *b = gcam_explanation_map(one, &h1, &w1);
        CHECK(a && b && h == h1 && w_ == w1);
        for (int p = 0; a && b && p < h * w_; p++) CHECK_NEAR(a[p], b[p], 1e-5);
    }
    gcam_explanation_free(ex);
    gcam_explanation_free(one);
    gcam_model_free(m);
}

GCAM_TEST(colormap_table_public)
{
    uint8_t rgb[768];
    CHECK(gcam_colormap_table("jet", rgb) == GCAM_OK);
    /* OpenCV's jet starts dark blue and ends dark red */
    CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 128);
    CHECK(rgb[765] == 128 && rgb[766] == 0 && rgb[767] == 0);
    CHECK(gcam_colormap_table("gray", rgb) == GCAM_OK && rgb[3 * 77] == 77);
    CHECK(gcam_colormap_table("nope", rgb) == GCAM_E_ARG);
    CHECK(gcam_colormap_table(NULL, rgb) == GCAM_E_ARG);
}

/* N images: item b is the test input scaled and shifted, so each differs */
static void tw_batch(float *x, int n)
{
    tw_input();
    for (int b = 0; b < n; b++)
        for (int i = 0; i < TW_CIN * TW_S * TW_S; i++) x[b * TW_CIN * TW_S * TW_S + i] = TW_X[i] * (1.0f + 0.3f * b) - 0.1f * b;
}

static void check_batch_vs_single(const char *shape, int method, int exact)
{
    enum { NB = 3 };
    gcam_model *m = tw_model_shape(shape);
    CHECK(m != NULL);
    static float xb[NB * TW_CIN * TW_S * TW_S];
    tw_batch(xb, NB);
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {NB, TW_CIN, TW_S, TW_S}, .data = xb};
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    static const char *layers[1] = {"act"};
    o.method = method;
    o.layers = layers;
    o.n_layers = 1;
    const int64_t targets[NB] = {2, -1, 0};
    gcam_explanation *out[NB];
    int rc = gcam_explain_batch(m, &x, &o, targets, out);
    CHECK_MSG(rc == GCAM_OK, "%s %s: %s", shape, gcam_method_name(method), gcam_model_errmsg(m));
    /* one pass: the pass times are split evenly, so every item reports the same */
    if (!rc && !exact)
        CHECK(gcam_explanation_time_ms(out[0], "forward") == gcam_explanation_time_ms(out[2], "forward"));
    for (int b = 0; b < NB && !rc; b++) {
        gcam_array one = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, TW_CIN, TW_S, TW_S},
                          .data = xb + b * TW_CIN * TW_S * TW_S};
        gcam_explain_opts ob = o;
        ob.target_class = targets[b];
        gcam_explanation *ref = NULL;
        CHECK(gcam_explain(m, &one, &ob, &ref) == GCAM_OK);
        if (!ref) continue;
        CHECK(gcam_explanation_target(out[b]) == gcam_explanation_target(ref));
        CHECK_NEAR(gcam_explanation_score(out[b]), gcam_explanation_score(ref), 1e-5);
        int64_t no, nr;
        const float *yo = gcam_explanation_output(out[b], &no), *yr = gcam_explanation_output(ref, &nr);
        CHECK(no == TW_CLASSES && nr == TW_CLASSES);
        for (int k = 0; k < TW_CLASSES && no == nr; k++) CHECK_NEAR(yo[k], yr[k], 1e-5);
        CHECK(!strcmp(gcam_explanation_layer(out[b], 0), "act"));
        int h, w;
        const float *a = gcam_explanation_map(out[b], &h, &w), *r = gcam_explanation_map(ref, NULL, NULL);
        double d = 0, mx = 0;
        for (int p = 0; p < h * w; p++) {
            d = fmax(d, fabs(a[p] - r[p]));
            mx = fmax(mx, r[p]);
        }
        CHECK(mx > 0.5); /* a real map */
        CHECK_MSG(exact ? d == 0 : d < 1e-5, "%s %s item %d: max diff %g", shape, gcam_method_name(method), b, d);
        gcam_explanation_free(ref);
        gcam_explanation_free(out[b]);
    }
    gcam_model_free(m);
}

GCAM_TEST(explain_batch_one_pass_equals_single)
{
    const int methods[] = {GCAM_METHOD_GRADCAM, GCAM_METHOD_GRADCAM_PP, GCAM_METHOD_LAYERCAM, GCAM_METHOD_EIGENCAM,
                           GCAM_METHOD_HIRESCAM};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) check_batch_vs_single("N,2,5,5", methods[k], 0);
}

GCAM_TEST(explain_batch_fallback_is_gcam_explain)
{
    check_batch_vs_single("1,2,5,5", GCAM_METHOD_GRADCAM, 1);  /* fixed batch: the loop */
    check_batch_vs_single("N,2,5,5", GCAM_METHOD_SCORECAM, 1); /* not batchable: the loop */
}

GCAM_TEST(explain_batch_errors)
{
    gcam_model *m = tw_model_shape("N,2,5,5");
    static float xb[2 * TW_CIN * TW_S * TW_S];
    tw_batch(xb, 2);
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {2, TW_CIN, TW_S, TW_S}, .data = xb};
    gcam_explanation *out[2] = {(gcam_explanation *)1, (gcam_explanation *)1};
    const int64_t bad[2] = {0, 99};
    CHECK(gcam_explain_batch(m, &x, NULL, bad, out) == GCAM_E_RANGE);
    CHECK(out[0] == NULL && out[1] == NULL);
    CHECK(strstr(gcam_model_errmsg(m), "99") != NULL);
    gcam_array x3 = x;
    x3.ndim = 3;
    CHECK(gcam_explain_batch(m, &x3, NULL, NULL, out) == GCAM_E_SHAPE);
    CHECK(gcam_explain_batch(m, &x, NULL, NULL, NULL) == GCAM_E_ARG);
    gcam_model_free(m);
}
