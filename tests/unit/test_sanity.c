/* test_sanity.c - the model-parameter randomisation test (include/gcam_eval.h):
 * similarity measures on hand-worked cases, the re-draw rule, re-drawn
 * weights reaching every cached path (checked against a model built afresh
 * from the re-drawn weights), Grad-CAM passing on the demo model and a
 * weight-blind map failing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gcam_eval.h"
#include "onnx_builder.h"
#include "test.h"

/* ---- similarity ----------------------------------------------------------- */

GCAM_TEST(sanity_spearman_ties_average_rank)
{
    /* b's ranks with the tie 7, 7 sharing 3.5: (1, 2, 3.5, 5, 3.5); against
     * 1..5: sum of products of deviations 8, variances 10 and 9.5, so
     * rho = 8 / sqrt(95) (scipy.stats.spearmanr gives 0.8207826816681233) */
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {5, 6, 7, 8, 7};
    CHECK_NEAR(gcam_sim_spearman(a, b, 5), 8 / sqrt(95.0), 1e-6);
    float c[5] = {50, 40, 30, 20, 10};
    CHECK_NEAR(gcam_sim_spearman(a, c, 5), -1, 1e-9);
    /* monotone but not linear: rank correlation 1, Pearson below */
    float d[5] = {1, 4, 9, 16, 100};
    CHECK_NEAR(gcam_sim_spearman(a, d, 5), 1, 1e-9);
    CHECK(gcam_sim_pearson(a, d, 5) < 0.9);
    float k[5] = {3, 3, 3, 3, 3};
    CHECK(gcam_sim_spearman(a, k, 5) == 0); /* a constant map correlates with nothing */
}

GCAM_TEST(sanity_ssim_cases)
{
    enum { H = 12, W = 10 };
    float a[H * W], b[H * W], c[H * W], z[H * W];
    for (int i = 0; i < H * W; i++) {
        a[i] = (float)((i * 37) % 11);
        b[i] = 3 * a[i] + 5;     /* same after min-max scaling */
        c[i] = 10 - a[i];        /* inverted */
        z[i] = 0;
    }
    CHECK_NEAR(gcam_sim_ssim(a, b, H, W), 1, 1e-9);
    CHECK(gcam_sim_ssim(a, c, H, W) < -0.5);
    /* a zero map against a has luminance term C1 / (ua^2 + C1) per window and
     * structure term C2 / (va + C2): small but positive */
    double s = gcam_sim_ssim(a, z, H, W);
    CHECK(s > 0 && s < 0.05);
    /* one 7 x 7 window worked by hand: x = 0/1 checkerboard scaled, y = 0 except
     * one pixel: ux = 25/49 ... compare with the closed form */
    float x[49], y[49];
    for (int i = 0; i < 49; i++) {
        x[i] = (float)(i % 2);
        y[i] = i == 0 ? 1.0f : 0.0f;
    }
    double np = 49, ux = 24 / np, uy = 1 / np, cn = np / (np - 1);
    double vx = cn * (24 / np - ux * ux), vy = cn * (1 / np - uy * uy), vxy = cn * (0 / np - ux * uy);
    double C1 = 1e-4, C2 = 9e-4;
    double want = ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    CHECK_NEAR(gcam_sim_ssim(x, y, 7, 7), want, 1e-9);
}

GCAM_TEST(sanity_hog_cases)
{
    enum { N = 32 };
    float v[N * N], v2[N * N], hz[N * N], sh[N * N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            v[i * N + j] = j >= 16 ? 1.0f : 0.0f;             /* a vertical edge */
            v2[i * N + j] = 0.5f + 0.25f * v[i * N + j];    /* the same after scaling */
            hz[i * N + j] = i >= 16 ? 1.0f : 0.0f;            /* a horizontal edge */
            sh[i * N + j] = j >= 8 ? 1.0f : 0.0f;             /* the edge moved one cell */
        }
    CHECK_NEAR(gcam_sim_hog(v, v2, N, N), 1, 1e-6);
    double r_hz = gcam_sim_hog(v, hz, N, N), r_sh = gcam_sim_hog(v, sh, N, N);
    CHECK_MSG(r_hz < 0.5, "horizontal vs vertical edge: %g", r_hz);
    CHECK_MSG(r_sh < 0.9 && r_sh > r_hz, "moved edge %g, rotated edge %g", r_sh, r_hz);
}

/* ---- a small model: Conv -> BN -> Relu -> Conv -> Relu -> Flatten -> Gemm ---- */

enum { CI = 3, C1 = 4, C2 = 6, S = 8, NCLS = 5 };

typedef struct weights {
    float w1[C1 * CI * 9], b1[C1], scale[C1], shift[C1], mean[C1], var[C1];
    float w2[C2 * C1 * 9], b2[C2], fc[NCLS * C2 * S * S], fcb[NCLS];
} weights;

static const char *const WNAMES[] = {"w1", "b1", "scale", "shift", "mean", "var", "w2", "b2", "fc", "fcb"};

static float *wfield(weights *w, int k, int64_t *n)
{
    float *const p[] = {w->w1, w->b1, w->scale, w->shift, w->mean, w->var, w->w2, w->b2, w->fc, w->fcb};
    const int64_t c[] = {C1 * CI * 9, C1, C1, C1, C1, C1, C2 * C1 * 9, C2, NCLS * C2 * S * S, NCLS};
    *n = c[k];
    return p[k];
}

static gcam_model *small_model(const weights *w)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,3,8,8");
    ob_init_f32(b, "w1", 4, (int64_t[]){C1, CI, 3, 3}, w->w1);
    ob_init_f32(b, "b1", 1, (int64_t[]){C1}, w->b1);
    ob_init_f32(b, "scale", 1, (int64_t[]){C1}, w->scale);
    ob_init_f32(b, "shift", 1, (int64_t[]){C1}, w->shift);
    ob_init_f32(b, "mean", 1, (int64_t[]){C1}, w->mean);
    ob_init_f32(b, "var", 1, (int64_t[]){C1}, w->var);
    ob_init_f32(b, "w2", 4, (int64_t[]){C2, C1, 3, 3}, w->w2);
    ob_init_f32(b, "b2", 1, (int64_t[]){C2}, w->b2);
    ob_init_f32(b, "fc", 2, (int64_t[]){NCLS, C2 * S * S}, w->fc);
    ob_init_f32(b, "fcb", 1, (int64_t[]){NCLS}, w->fcb);
    Onnx__NodeProto *n = ob_node(b, "Conv", "/block1/conv/Conv", "x,w1,b1", "c1");
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "BatchNormalization", "/block1/bn/BatchNormalization", "c1,scale,shift,mean,var", "n1");
    ob_node(b, "Relu", "/block1/relu/Relu", "n1", "a1");
    n = ob_node(b, "Conv", "/block2/conv/Conv", "a1,w2,b2", "c2");
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "Relu", "/block2/relu/Relu", "c2", "act");
    Onnx__NodeProto *f = ob_node(b, "Flatten", "/flat", "act", "feat");
    ob_attr_int(b, f, "axis", 1);
    Onnx__NodeProto *g = ob_node(b, "Gemm", "/fc/Gemm", "feat,fc,fcb", "logits");
    ob_attr_int(b, g, "transB", 1);
    ob_output(b, "logits", OB_F32, NULL);
    gcam_model *m = NULL;
    ob_load(b, &m);
    return m;
}

static void fill(float *v, int64_t n, unsigned seed, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = lo + (hi - lo) * (float)((seed >> 8) & 0xffff) / 65535.0f;
    }
}

static void trained(weights *w)
{
    for (int k = 0; k < 10; k++) {
        int64_t n;
        float *p = wfield(w, k, &n);
        fill(p, n, 11u + (unsigned)k, k == 5 ? 0.5f : -0.5f, k == 5 ? 1.5f : 0.5f); /* var > 0 */
    }
}

/* logits and Grad-CAM's raw map (layer "act", class 2) */
static int outputs(gcam_model *m, const gcam_array *x, float *logits, float *raw)
{
    gcam_explain_opts eo;
    gcam_explain_opts_default(&eo);
    const char *layer = "act";
    eo.layers = &layer;
    eo.n_layers = 1;
    eo.target_class = 2;
    gcam_explanation *ex = NULL;
    int rc = gcam_explain(m, x, &eo, &ex);
    if (rc) return rc;
    int h, w;
    memcpy(raw, gcam_explanation_raw(ex, &h, &w), sizeof(float) * S * S);
    gcam_explanation_free(ex);
    gcam_array y;
    rc = gcam_model_run(m, NULL, x, 1);
    if (!rc) rc = gcam_model_tensor(m, "logits", &y);
    if (!rc) memcpy(logits, y.data, sizeof(float) * NCLS);
    return rc;
}

static double maxdiff(const float *a, const float *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

GCAM_TEST(sanity_layers_listed_in_order_with_fan_in)
{
    weights w;
    trained(&w);
    gcam_model *m = small_model(&w);
    CHECK(m != NULL);
    const gcam_param_layer *L;
    int n = 0;
    CHECK(gcam_model_param_layers(m, &L, &n) == GCAM_OK);
    CHECK(n == 4);
    if (n != 4) { gcam_model_free(m); return; }
    CHECK(!strcmp(L[0].op_type, "Conv") && L[0].fan_in == CI * 9 && !strcmp(L[0].block, "block1"));
    CHECK(!strcmp(L[1].op_type, "BatchNormalization") && L[1].fan_in == 1 && !strcmp(L[1].bias, "shift"));
    CHECK(!strcmp(L[2].op_type, "Conv") && L[2].fan_in == C1 * 9 && !strcmp(L[2].block, "block2"));
    CHECK(!strcmp(L[3].op_type, "Gemm") && L[3].fan_in == C2 * S * S && !strcmp(L[3].weight, "fc"));
    CHECK(gcam_model_param_count(m) == C1 * CI * 9 + 5 * C1 + C2 * C1 * 9 + C2 + NCLS * C2 * S * S + NCLS);
    CHECK(gcam_model_randomize_layer(m, 4, 0) == GCAM_E_RANGE);
    gcam_model_free(m);
}

GCAM_TEST(sanity_redraw_rule)
{
    weights w;
    trained(&w);
    gcam_model *m = small_model(&w);
    CHECK(gcam_model_randomize_layer(m, 3, 42) == GCAM_OK);
    gcam_array fc, fcb;
    CHECK(gcam_model_tensor(m, "fc", &fc) == GCAM_OK && gcam_model_tensor(m, "fcb", &fcb) == GCAM_OK);
    const int n = NCLS * C2 * S * S;
    const double s = 1 / sqrt((double)(C2 * S * S));
    double ss = 0, mx = 0;
    const float *v = fc.data;
    for (int i = 0; i < n; i++) {
        ss += (double)v[i] * v[i];
        mx = fmax(mx, fabs(v[i]));
    }
    /* a normal truncated at 2 sigma has standard deviation 0.8796 sigma */
    CHECK_MSG(fabs(sqrt(ss / n) / s - 0.8796) < 0.05, "std %g sigma", sqrt(ss / n) / s);
    CHECK(mx <= 2 * s + 1e-7 && mx > 1.5 * s);
    for (int i = 0; i < NCLS; i++) CHECK(((float *)fcb.data)[i] == 0);
    float first[16];
    memcpy(first, fc.data, sizeof first);
    /* the same seed draws the same weights, after other layers or not */
    CHECK(gcam_model_randomize_layer(m, 0, 42) == GCAM_OK);
    CHECK(gcam_model_randomize_layer(m, 3, 42) == GCAM_OK);
    CHECK(gcam_model_tensor(m, "fc", &fc) == GCAM_OK);
    CHECK(memcmp(first, fc.data, sizeof first) == 0);
    CHECK(gcam_model_randomize_layer(m, 3, 43) == GCAM_OK);
    CHECK(gcam_model_tensor(m, "fc", &fc) == GCAM_OK);
    CHECK(memcmp(first, fc.data, sizeof first) != 0);
    /* restored: the trained values */
    CHECK(gcam_model_restore_layers(m) == GCAM_OK);
    CHECK(gcam_model_tensor(m, "fc", &fc) == GCAM_OK);
    CHECK(memcmp(w.fc, fc.data, sizeof w.fc) == 0);
    gcam_model_free(m);
}

/* The re-drawn model's logits and Grad-CAM (through the fused Conv+BN and
 * its oneDNN primitive, and the linear-head shortcut) equal those of a model
 * built afresh from the re-drawn weights, and differ from the trained ones. */
GCAM_TEST(sanity_redraw_reaches_cached_paths)
{
    weights w, r;
    trained(&w);
    gcam_model *m = small_model(&w);
    float x[CI * S * S], y0[NCLS], raw0[S * S], y1[NCLS], raw1[S * S], y2[NCLS], raw2[S * S];
    fill(x, CI * S * S, 5, -1, 1);
    gcam_array xa = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, CI, S, S}, .data = x};
    CHECK(outputs(m, &xa, y0, raw0) == GCAM_OK); /* builds the caches from the trained weights */
    for (int i = 0; i < 4; i++) CHECK(gcam_model_randomize_layer(m, i, 9) == GCAM_OK);
    CHECK(outputs(m, &xa, y1, raw1) == GCAM_OK);
    for (int k = 0; k < 10; k++) {
        int64_t n;
        float *dst = wfield(&r, k, &n);
        gcam_array t;
        CHECK(gcam_model_tensor(m, WNAMES[k], &t) == GCAM_OK);
        memcpy(dst, t.data, sizeof(float) * (size_t)n);
    }
    gcam_model *fresh = small_model(&r);
    CHECK(outputs(fresh, &xa, y2, raw2) == GCAM_OK);
    CHECK_MSG(maxdiff(y1, y2, NCLS) < 1e-5, "logits differ by %g", maxdiff(y1, y2, NCLS));
    CHECK_MSG(maxdiff(raw1, raw2, S * S) < 1e-4, "Grad-CAM differs by %g", maxdiff(raw1, raw2, S * S));
    CHECK(maxdiff(y0, y1, NCLS) > 1e-2); /* the re-draw did change the model */
    CHECK(gcam_model_restore_layers(m) == GCAM_OK);
    CHECK(outputs(m, &xa, y1, raw1) == GCAM_OK);
    CHECK(maxdiff(y0, y1, NCLS) < 1e-6 && maxdiff(raw0, raw1, S * S) < 1e-6);
    gcam_model_free(fresh);
    gcam_model_free(m);
}

/* ---- the test on the demo model ------------------------------------------- */

static gcam_model *demo(gcam_photo **photo, gcam_array *x)
{
    gcam_model *m = NULL;
    if (gcam_model_load(GCAM_SOURCE_DIR "/models/demo.onnx", &m) ||
        gcam_photo_load(m, GCAM_SOURCE_DIR "/models/samples/scene_01.png", NULL, photo, x)) {
        gcam_test_fail(__FILE__, __LINE__, "demo: %s", gcam_model_errmsg(m));
        gcam_model_free(m);
        return NULL;
    }
    return m;
}

GCAM_TEST(sanity_gradcam_passes_on_demo)
{
    gcam_photo *photo = NULL;
    gcam_array x;
    gcam_model *m = demo(&photo, &x);
    if (!m) return;
    gcam_explain_opts eo;
    gcam_explain_opts_default(&eo);
    gcam_sanity_opts so;
    gcam_sanity_opts_default(&so);
    so.independent = 0;
    gcam_sanity_result *r = NULL;
    CHECK(gcam_sanity_run(m, &x, &eo, &so, &r) == GCAM_OK);
    const gcam_param_layer *L;
    int n;
    CHECK(gcam_model_param_layers(m, &L, &n) == GCAM_OK);
    if (r) {
        CHECK(r->n_cascading == n && r->n_independent == 0);
        CHECK(!strcmp(r->cascading[0].step, L[n - 1].node)); /* the output side first */
        double last = r->cascading[r->n_cascading - 1].spearman_abs;
        CHECK_MSG(fabs(last) < 0.3, "Grad-CAM's rank correlation after full randomisation: %g", last);
        CHECK(gcam_sanity_verdict(r, GCAM_SANITY_MEAN, 0.5) == 1);
        CHECK(gcam_sanity_verdict(r, GCAM_SANITY_FINAL, 0.5) == 1);
    }
    for (int i = 0; i < n; i++) CHECK(!L[i].randomized); /* restored */
    gcam_sanity_free(r);
    gcam_array_free(&x);
    gcam_photo_free(photo);
    gcam_model_free(m);
}

/* A "method" that ignores the weights: the input's edge magnitude. */
static int edge_map(void *user, gcam_model *m, const gcam_array *x, float *map, float *abs_map)
{
    (void)user;
    (void)m;
    const int C = (int)x->dims[1], H = (int)x->dims[2], W = (int)x->dims[3];
    const float *d = x->data;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            double g = 0;
            for (int c = 0; c < C; c++) {
                const float *p = d + (int64_t)c * H * W;
                double gx = j + 1 < W ? p[i * W + j + 1] - p[i * W + j] : 0;
                double gy = i + 1 < H ? p[(i + 1) * W + j] - p[i * W + j] : 0;
                g += sqrt(gx * gx + gy * gy);
            }
            map[i * W + j] = abs_map[i * W + j] = (float)g;
        }
    return GCAM_OK;
}

GCAM_TEST(sanity_weight_blind_map_fails)
{
    gcam_photo *photo = NULL;
    gcam_array x;
    gcam_model *m = demo(&photo, &x);
    if (!m) return;
    gcam_sanity_opts so;
    gcam_sanity_opts_default(&so);
    so.granularity = GCAM_SANITY_BLOCK;
    gcam_sanity_result *r = NULL;
    CHECK(gcam_sanity_run_fn(m, &x, edge_map, NULL, (int)x.dims[2], (int)x.dims[3], &so, &r) == GCAM_OK);
    if (r) {
        /* blocks of the demo model: stem, layer1..4, fc */
        CHECK_MSG(r->n_cascading == 6 && r->n_independent == 6, "%d blocks", r->n_cascading);
        CHECK(!strcmp(r->cascading[0].step, "fc") && !strcmp(r->cascading[r->n_cascading - 1].step, "stem"));
        CHECK_NEAR(r->cascading[r->n_cascading - 1].spearman_abs, 1, 1e-9);
        CHECK_NEAR(r->cascading[r->n_cascading - 1].ssim, 1, 1e-9);
        CHECK(gcam_sanity_verdict(r, GCAM_SANITY_MEAN, 0.5) == 0);
        CHECK(gcam_sanity_verdict(r, GCAM_SANITY_FINAL, 0.5) == 0);
        CHECK_NEAR(gcam_sanity_similarity(r, GCAM_SANITY_MEAN), 1, 1e-9);
    }
    gcam_sanity_free(r);
    gcam_array_free(&x);
    gcam_photo_free(photo);
    gcam_model_free(m);
}
