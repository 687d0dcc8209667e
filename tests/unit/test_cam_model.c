/* test_cam_model.c - the methods end to end on tiny ONNX models built in C:
 * Grad-CAM equals CAM on a GAP + linear network (the seed's property), the
 * suffix plan reproduces the network, Ablation-CAM and Score-CAM against
 * brute force, integrated gradients' completeness, SmoothGrad with no noise
 * is the saliency map, Guided Grad-CAM is the product it claims to be, and
 * every method stays finite on degenerate inputs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "cam/cam.h"
#include "gcam.h"
#include "onnx_builder.h"
#include "test.h"

#define CHECK_OK(rc, m) \
    CHECK_MSG((rc) == GCAM_OK, "status %d (%s): %s", (rc), gcam_status_str(rc), gcam_model_errmsg(m))

enum { CIN = 2, K = 3, S = 4, CLASSES = 4 };

static void fill(float *v, int n, double phase, double scale)
{
    for (int i = 0; i < n; i++) v[i] = (float)(scale * sin(1.3 * i + phase));
}

static void add_conv(ob *b, const char *name, const char *in, const char *out, int cin, int cout, double phase,
                     int zero_bias)
{
    char wn[64], bn[64], ins[256];
    float w[3 * 3 * 8 * 8], bias[8];
    fill(w, cout * cin * 9, phase, 0.5);
    fill(bias, cout, phase + 1, zero_bias ? 0.0 : 0.2);
    if (zero_bias == 2) /* "dead": every channel but 1 is negative everywhere, zero after a Relu */
        for (int k = 0; k < cout; k++) bias[k] = k == 1 ? 0.2f : -100.0f;
    snprintf(wn, sizeof wn, "%s_W", name);
    snprintf(bn, sizeof bn, "%s_B", name);
    ob_init_f32(b, wn, 4, (int64_t[]){cout, cin, 3, 3}, w);
    ob_init_f32(b, bn, 1, (int64_t[]){cout}, bias);
    snprintf(ins, sizeof ins, "%s,%s,%s", in, wn, bn);
    Onnx__NodeProto *n = ob_node(b, "Conv", name, ins, out);
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
}

static void add_head(ob *b, const char *in, int zero_bias)
{
    float w[CLASSES * K], bias[CLASSES];
    fill(w, CLASSES * K, 0.7, 1.0);
    fill(bias, CLASSES, 2.1, zero_bias ? 0.0 : 0.3);
    ob_init_f32(b, "fc_W", 2, (int64_t[]){CLASSES, K}, w);
    ob_init_f32(b, "fc_B", 1, (int64_t[]){CLASSES}, bias);
    ob_node(b, "GlobalAveragePool", "gap", in, "pooled");
    Onnx__NodeProto *f = ob_node(b, "Flatten", "flat", "pooled", "feat");
    ob_attr_int(b, f, "axis", 1);
    Onnx__NodeProto *g = ob_node(b, "Gemm", "fc", "feat,fc_W,fc_B", "logits");
    ob_attr_int(b, g, "transB", 1);
    ob_output(b, "logits", OB_F32, NULL);
}

/* x -> Conv -> Relu (layer "act") -> GAP -> Flatten -> Gemm */
static gcam_model *gap_model(int zero_bias)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,2,4,4");
    add_conv(b, "conv", "x", "c1", CIN, K, 0.1, zero_bias);
    ob_node(b, "Relu", "relu", "c1", "act");
    add_head(b, "act", zero_bias);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

/* A residual block: x -> Conv a -> Relu r1; r1 -> Conv b -> t2 (the layer);
 * Add(t2, r1) -> Relu -> GAP -> Flatten -> Gemm.  r1 crosses the layer. */
static gcam_model *residual_model(void)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,2,4,4");
    add_conv(b, "conva", "x", "c1", CIN, K, 0.1, 0);
    ob_node(b, "Relu", "relu1", "c1", "r1");
    add_conv(b, "convb", "r1", "t2", K, K, 0.9, 0);
    ob_node(b, "Add", "add", "t2,r1", "s");
    ob_node(b, "Relu", "relu2", "s", "s2");
    add_head(b, "s2", 0);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

static float X[CIN * S * S];
static gcam_array input(void)
{
    fill(X, CIN * S * S, 0.3, 1.0);
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, CIN, S, S}, .data = X};
    return a;
}

static int explain(gcam_model *m, const gcam_array *x, int method, const char *layer, int64_t cls, int norm,
                   gcam_explain_opts *extra, gcam_explanation **ex)
{
    gcam_explain_opts o;
    if (extra) o = *extra;
    else gcam_explain_opts_default(&o);
    o.method = method;
    const char *layers[1] = {layer};
    o.layers = layer ? layers : NULL;
    o.n_layers = layer ? 1 : 0;
    o.target_class = cls;
    o.normalize = norm;
    return gcam_explain(m, x, &o, ex);
}

/* A plan is made for a request (what to keep, what runs backward, inputs,
 * settings) and kept while an equal one comes again (issue 11). */
GCAM_TEST(cam_plan_request_reused_until_it_differs)
{
    gcam_model *m = residual_model();
    CHECK(m != NULL);
    if (!m) return;
    gcam_array x = input();
    gcam_explanation *ex = NULL;
    CHECK_OK(explain(m, &x, GCAM_METHOD_GRADCAM, "t2", 1, GCAM_NORM_NONE, NULL, &ex), m);
    gcam_explanation_free(ex);
    const unsigned id = m->g->plan_id;
    CHECK_OK(explain(m, &x, GCAM_METHOD_GRADCAM, "t2", 0, GCAM_NORM_NONE, NULL, &ex), m);
    gcam_explanation_free(ex);
    CHECK_MSG(m->g->plan_id == id, "the same explanation planned again");
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m); /* forward only: keeps the explanation's plan */
    CHECK(m->g->plan_id == id);
    gcam_array a;
    CHECK(gcam_model_tensor(m, "c1", &a) == GCAM_E_ARG); /* not asked for */
    const int fuse = gcam_model_get_option(m, GCAM_OPT_FUSE);
    CHECK_OK(gcam_model_set_option(m, GCAM_OPT_FUSE, fuse), m); /* the same value: the same request */
    CHECK_OK(explain(m, &x, GCAM_METHOD_GRADCAM, "t2", 0, GCAM_NORM_NONE, NULL, &ex), m);
    gcam_explanation_free(ex);
    CHECK(m->g->plan_id == id);
    CHECK_OK(gcam_model_set_option(m, GCAM_OPT_FUSE, !fuse), m);
    CHECK_OK(explain(m, &x, GCAM_METHOD_GRADCAM, "t2", 0, GCAM_NORM_NONE, NULL, &ex), m);
    gcam_explanation_free(ex);
    CHECK(m->g->plan_id == id + 1);
    CHECK_OK(explain(m, &x, GCAM_METHOD_SCORECAM, "t2", 0, GCAM_NORM_NONE, NULL, &ex), m); /* no backward */
    gcam_explanation_free(ex);
    CHECK(m->g->plan_id == id + 2);
    CHECK_OK(gcam_model_keep(m, "c1"), m);
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m);
    CHECK(m->g->plan_id == id + 3);
    CHECK_OK(gcam_model_tensor(m, "c1", &a), m);
    CHECK(a.ndim == 4 && a.dims[1] == K);
    CHECK_OK(explain(m, &x, GCAM_METHOD_SCORECAM, "t2", 0, GCAM_NORM_NONE, NULL, &ex), m);
    gcam_explanation_free(ex);
    CHECK_OK(gcam_model_tensor(m, "c1", &a), m); /* every later plan keeps it too */
    gcam_model_free(m);
}

GCAM_TEST(cam_method_names_roundtrip)
{
    for (int k = 0; k < GCAM_METHOD_COUNT; k++) {
        const char *n = gcam_method_name(k);
        CHECK(n != NULL);
        CHECK(gcam_method_parse(n) == k);
    }
    CHECK(gcam_method_parse("lime") == -1);
    CHECK(gcam_method_name(GCAM_METHOD_COUNT) == NULL);
}

GCAM_TEST(cam_gradcam_equals_cam_on_gap_linear)
{
    gcam_model *m = gap_model(0);
    CHECK(m && m->g);
    gcam_array x = input();
    for (int64_t cls = 0; cls < CLASSES; cls++) {
        gcam_explanation *g = NULL, *c = NULL;
        int rc = explain(m, &x, GCAM_METHOD_GRADCAM, "act", cls, GCAM_NORM_IMAGE, NULL, &g);
        CHECK_OK(rc, m);
        rc = explain(m, &x, GCAM_METHOD_CAM, "act", cls, GCAM_NORM_IMAGE, NULL, &c);
        CHECK_OK(rc, m);
        int h, w;
        const float *mg = gcam_explanation_map(g, &h, &w), *mc = gcam_explanation_map(c, NULL, NULL);
        for (int i = 0; i < h * w; i++) CHECK_NEAR(mg[i], mc[i], 1e-5);
        /* before normalisation Grad-CAM is CAM / (u v), the pooling's factor */
        const float *rg = gcam_explanation_raw(g, &h, &w), *rcm = gcam_explanation_raw(c, NULL, NULL);
        for (int i = 0; i < h * w; i++) CHECK_NEAR(rg[i] * (S * S), rcm[i], 1e-4 * (1 + fabs(rcm[i])));
        gcam_explanation_free(g);
        gcam_explanation_free(c);
    }
    gcam_model_free(m);
}

GCAM_TEST(cam_refused_without_gap_linear_head)
{
    gcam_model *m = residual_model();
    gcam_array x = input();
    gcam_explanation *ex = NULL;
    int rc = explain(m, &x, GCAM_METHOD_CAM, "t2", -1, GCAM_NORM_IMAGE, NULL, &ex);
    CHECK(rc == GCAM_E_UNSUPPORTED && ex == NULL);
    CHECK(strstr(gcam_model_errmsg(m), "GAP + linear head") != NULL);
    rc = explain(m, &x, GCAM_METHOD_CAM, "s2", -1, GCAM_NORM_IMAGE, NULL, &ex); /* s2 feeds GAP: fine */
    CHECK_OK(rc, m);
    gcam_explanation_free(ex);
    gcam_model_free(m);
}

/* The suffix plan computes what the network computes, batched, with the
 * skip connection fed from the prefix. */
/* An explanation's layer names are its own: readable after the model is freed. */
GCAM_TEST(cam_explanation_outlives_model)
{
    gcam_model *m = residual_model();
    gcam_array x = input();
    gcam_explanation *ex = NULL;
    CHECK_OK(gcam_explain(m, &x, NULL, &ex), m);
    CHECK(ex && gcam_explanation_num_layers(ex) == 1);
    char name[256];
    snprintf(name, sizeof name, "%s", ex ? gcam_explanation_layer(ex, 0) : "");
    gcam_model_free(m);
    /* under ASan, reading a name that pointed into the graph is a use-after-free */
    CHECK(ex && !strcmp(gcam_explanation_layer(ex, 0), name) && name[0]);
    gcam_explanation_free(ex);
}

GCAM_TEST(cam_suffix_matches_network)
{
    gcam_model *m = residual_model();
    gcam_array x = input();
    CHECK_OK(gcam_model_keep(m, "t2"), m);
    CHECK_OK(gcam_model_keep(m, "r1"), m);
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m);
    gcam_graph *g = m->g;
    int t2 = gcam_graph_find(g, "t2"), r1 = gcam_graph_find(g, "r1"), y = gcam_graph_find(g, "logits");
    int sides[4];
    gcam_err e = {0};
    CHECK(gcam_suffix_sides(g, &t2, 1, y, sides, 4, &e) == 1);
    CHECK(sides[0] == r1);
    gcam_suffix *v = NULL;
    CHECK_MSG(gcam_suffix_new(g, &t2, 1, y, 3, &v, &e) == GCAM_OK, "%s", e.msg);
    CHECK(v->n_sides == 1 && v->batch == 3);
    CHECK(!memcmp(&v->g.settings, &g->settings, sizeof g->settings)); /* the view plans as the model does */
    CHECK(gcam_suffix_feed_sides(v, g, &e) == GCAM_OK);
    int64_t n = gcam_numel(&g->tensors[t2]);
    for (int b = 0; b < 3; b++) memcpy(gcam_f32(&v->g.tensors[t2]) + b * n, gcam_f32(&g->tensors[t2]), sizeof(float) * (size_t)n);
    CHECK(gcam_graph_forward(&v->g, &e) == GCAM_OK);
    CHECK(v->g.tensors[y].dims[0] == 3);
    for (int b = 0; b < 3; b++)
        for (int c = 0; c < CLASSES; c++)
            CHECK_NEAR(gcam_f32(&v->g.tensors[y])[b * CLASSES + c], gcam_f32(&g->tensors[y])[c], 1e-5);
    /* the main plan is untouched */
    gcam_array out;
    CHECK_OK(gcam_model_tensor(m, "logits", &out), m);
    CHECK(out.data == g->tensors[y].data);
    gcam_suffix_free(v);
    /* from the input: the whole network at batch 2 */
    int xi = g->inputs[0];
    CHECK_MSG(gcam_suffix_new(g, &xi, 1, y, 2, &v, &e) == GCAM_OK, "%s", e.msg);
    CHECK(v->n_sides == 0);
    for (int b = 0; b < 2; b++) memcpy(gcam_f32(&v->g.tensors[xi]) + b * CIN * S * S, X, sizeof X);
    CHECK(gcam_graph_forward(&v->g, &e) == GCAM_OK);
    for (int c = 0; c < CLASSES; c++)
        CHECK_NEAR(gcam_f32(&v->g.tensors[y])[CLASSES + c], gcam_f32(&g->tensors[y])[c], 1e-5);
    gcam_suffix_free(v);
    gcam_model_free(m);
}

/* Ablation-CAM against one suffix run per ablated channel. */
GCAM_TEST(cam_ablation_matches_brute_force)
{
    gcam_model *m = residual_model();
    gcam_array x = input();
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.ablation_zero = 1;
    o.batch_size = 2; /* K = 3: one full batch and one partial */
    gcam_explanation *ex = NULL, *ex2 = NULL;
    int rc = explain(m, &x, GCAM_METHOD_ABLATIONCAM, "t2", 1, GCAM_NORM_NONE, &o, &ex);
    CHECK_OK(rc, m);
    CHECK(gcam_model_set_option(m, GCAM_OPT_ABLATION_RERUN, 1) == GCAM_OK);
    rc = explain(m, &x, GCAM_METHOD_ABLATIONCAM, "t2", 1, GCAM_NORM_NONE, &o, &ex2);
    CHECK_OK(rc, m);
    /* brute force, from the network itself */
    CHECK_OK(gcam_model_keep(m, "t2"), m);
    CHECK_OK(gcam_model_keep(m, "r1"), m); /* the suffix's side input */
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m);
    gcam_array a, y;
    CHECK_OK(gcam_model_tensor(m, "t2", &a), m);
    CHECK_OK(gcam_model_tensor(m, "logits", &y), m);
    float A[K * S * S], y0 = ((float *)y.data)[1], w[K];
    memcpy(A, a.data, sizeof A);
    for (int k = 0; k < K; k++) {
        /* the network with channel k of t2 zeroed, via a batch-1 suffix */
        gcam_graph *g = m->g;
        int t2 = gcam_graph_find(g, "t2"), yi = gcam_graph_find(g, "logits");
        gcam_suffix *v = NULL;
        gcam_err e = {0};
        CHECK_MSG(gcam_suffix_new(g, &t2, 1, yi, 1, &v, &e) == GCAM_OK, "%s", e.msg);
        CHECK(gcam_suffix_feed_sides(v, g, &e) == GCAM_OK);
        float *L = gcam_f32(&v->g.tensors[t2]);
        memcpy(L, A, sizeof A);
        for (int p = 0; p < S * S; p++) L[k * S * S + p] = 0;
        CHECK(gcam_graph_forward(&v->g, &e) == GCAM_OK);
        float yk = gcam_f32(&v->g.tensors[yi])[1];
        w[k] = (y0 - yk) / y0;
        gcam_suffix_free(v);
    }
    int h, wd;
    const float *raw = gcam_explanation_raw(ex, &h, &wd), *raw2 = gcam_explanation_raw(ex2, NULL, NULL);
    CHECK(h == S && wd == S);
    for (int p = 0; p < S * S; p++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += w[k] * A[k * S * S + p];
        s = s > 0 ? s : 0;
        CHECK_NEAR(raw[p], s, 1e-4 * (1 + fabs(s)));
        CHECK_NEAR(raw2[p], raw[p], 1e-6 * (1 + fabs(s)));
    }
    gcam_explanation_free(ex);
    gcam_explanation_free(ex2);
    gcam_model_free(m);
}

/* Score-CAM by hand: the network run on x times each channel's mask (the
 * layer "act", K x h x h in A, upsampled to x's side), the softmax of the
 * class-cls logits, and the map it weights; ex's raw map must equal it.
 * *top gets the map's maximum. */
enum { MC_S = 8, MC_L = 4, MC_M = 4 }; /* sides of the stem model below */

static void check_scorecam_by_hand(gcam_model *m, const gcam_array *x, const float *A, int h, int64_t cls,
                                   const gcam_explanation *ex, double *top)
{
    *top = 0;
    const int side = (int)x->dims[2], plane = side * side, hh = h * h;
    float scores[K], w[K], mask[MC_S * MC_S], xm[CIN * MC_S * MC_S];
    CHECK(side <= MC_S);
    for (int k = 0; k < K; k++) {
        gcam_cam_scorecam_mask(A + k * hh, h, h, side, side, mask);
        for (int c = 0; c < CIN; c++)
            for (int p = 0; p < plane; p++) xm[c * plane + p] = ((const float *)x->data)[c * plane + p] * mask[p];
        gcam_array xa = *x;
        xa.data = xm;
        CHECK_OK(gcam_model_run(m, NULL, &xa, 1), m);
        gcam_array y;
        CHECK_OK(gcam_model_tensor(m, "logits", &y), m);
        scores[k] = ((float *)y.data)[cls];
    }
    gcam_cam_softmax(scores, K, w);
    int rh, rw;
    const float *raw = gcam_explanation_raw(ex, &rh, &rw);
    CHECK(rh == h && rw == h);
    for (int p = 0; p < hh; p++) {
        double v = 0;
        for (int k = 0; k < K; k++) v += w[k] * A[k * hh + p];
        v = v > 0 ? v : 0;
        *top = v > *top ? v : *top;
        CHECK_NEAR(raw[p], v, 1e-5 * (1 + fabs(v)));
    }
}

/* Score-CAM against the network run on each masked input; dead = 1 makes
 * two of the three channels zero everywhere, the case Score-CAM runs once. */
static void scorecam_vs_brute_force(int dead)
{
    gcam_model *m = gap_model(dead ? 2 : 0);
    gcam_array x = input();
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.batch_size = 2;
    gcam_explanation *ex = NULL;
    int rc = explain(m, &x, GCAM_METHOD_SCORECAM, "act", 2, GCAM_NORM_NONE, &o, &ex);
    CHECK_OK(rc, m);
    CHECK_OK(gcam_model_keep(m, "act"), m);
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m);
    gcam_array a;
    CHECK_OK(gcam_model_tensor(m, "act", &a), m);
    float A[K * S * S];
    memcpy(A, a.data, sizeof A);
    int n_dead = 0;
    for (int k = 0; k < K; k++) {
        int p = 0;
        while (p < S * S && A[k * S * S + p] == 0.0f) p++;
        n_dead += p == S * S;
    }
    CHECK(dead ? n_dead == 2 : n_dead == 0);
    double top;
    check_scorecam_by_hand(m, &x, A, S, 2, ex, &top);
    gcam_explanation_free(ex);
    gcam_model_free(m);
}

GCAM_TEST(cam_scorecam_matches_brute_force) { scorecam_vs_brute_force(0); }

/* Score-CAM's first conv by linearity (src/cam/maskconv.c) on a stem like
 * resnet's: x (2 x 8 x 8) -> Conv 3x3 stride 2 pad 1 with bias -> BN -> Relu
 * -> Conv 3x3 pad 1 -> Relu (the layer, 3 x 4 x 4: coarser than the input)
 * -> GAP -> Gemm.  Against the network run on each masked input, with the
 * trick on (and checked to be taken) and off (GCAM_MASKCONV=0). */
static gcam_model *stem_model(void)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,2,8,8");
    float w1[MC_M * CIN * 9], b1[MC_M], sc[MC_M], sh[MC_M], mu[MC_M], var[MC_M];
    fill(w1, MC_M * CIN * 9, 0.4, 0.6);
    fill(b1, MC_M, 1.1, 0.2);
    for (int i = 0; i < MC_M; i++) {
        sc[i] = 0.7f + 0.2f * (float)i;
        sh[i] = 0.1f * (float)(i - 1);
        mu[i] = 0.05f * (float)i;
        var[i] = 0.5f + 0.3f * (float)i;
    }
    ob_init_f32(b, "w1", 4, (int64_t[]){MC_M, CIN, 3, 3}, w1);
    ob_init_f32(b, "b1", 1, (int64_t[]){MC_M}, b1);
    ob_init_f32(b, "bn_s", 1, (int64_t[]){MC_M}, sc);
    ob_init_f32(b, "bn_b", 1, (int64_t[]){MC_M}, sh);
    ob_init_f32(b, "bn_m", 1, (int64_t[]){MC_M}, mu);
    ob_init_f32(b, "bn_v", 1, (int64_t[]){MC_M}, var);
    Onnx__NodeProto *n = ob_node(b, "Conv", "stem", "x,w1,b1", "s1");
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
    ob_node(b, "BatchNormalization", "bn", "s1,bn_s,bn_b,bn_m,bn_v", "s2");
    ob_node(b, "Relu", "r1", "s2", "s3");
    add_conv(b, "conv2", "s3", "c2", MC_M, K, 0.9, 0);
    ob_node(b, "Relu", "relu", "c2", "act");
    add_head(b, "act", 0);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

static void stem_scorecam(int use_trick)
{
    gcam_model *m = stem_model();
    CHECK(m != NULL);
    CHECK(gcam_model_set_option(m, GCAM_OPT_SCORECAM_MASKCONV, use_trick) == GCAM_OK);
    static float x8[CIN * MC_S * MC_S];
    fill(x8, CIN * MC_S * MC_S, 0.2, 1.0);
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, CIN, MC_S, MC_S}, .data = x8};
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.batch_size = 2;
    int64_t before = gcam_model_cam_stats(m)->maskconv_built;
    gcam_explanation *ex = NULL;
    CHECK_OK(explain(m, &x, GCAM_METHOD_SCORECAM, "act", 1, GCAM_NORM_NONE, &o, &ex), m);
    CHECK(gcam_model_cam_stats(m)->maskconv_built == before + use_trick);
    CHECK_OK(gcam_model_keep(m, "act"), m);
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m);
    gcam_array a;
    CHECK_OK(gcam_model_tensor(m, "act", &a), m);
    CHECK(a.ndim == 4 && a.dims[1] == K && a.dims[2] == MC_L && a.dims[3] == MC_L);
    float A[K * MC_L * MC_L];
    memcpy(A, a.data, sizeof A);
    double top;
    check_scorecam_by_hand(m, &x, A, MC_L, 1, ex, &top);
    CHECK(top > 0); /* a map with something in it */
    gcam_explanation_free(ex);
    gcam_model_free(m);
}

GCAM_TEST(cam_scorecam_first_conv_by_linearity) { stem_scorecam(1); }
GCAM_TEST(cam_scorecam_first_conv_plain) { stem_scorecam(0); }
GCAM_TEST(cam_scorecam_dead_channels_match_brute_force) { scorecam_vs_brute_force(1); }

static void count_progress(void *user, const char *what, int64_t done, int64_t total)
{
    int *seen = user;
    if (done == total && !strcmp(what, "scorecam")) seen[0]++;
    if (done > total) seen[1]++;
}

GCAM_TEST(cam_scorecam_max_channels_and_progress)
{
    gcam_model *m = gap_model(0);
    gcam_array x = input();
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.max_channels = 1;
    int seen[2] = {0, 0};
    o.progress = count_progress;
    o.progress_user = seen;
    gcam_explanation *ex = NULL;
    int rc = explain(m, &x, GCAM_METHOD_SCORECAM, "act", 0, GCAM_NORM_NONE, &o, &ex);
    CHECK_OK(rc, m);
    CHECK(seen[0] == 1 && seen[1] == 0);
    /* one channel kept: softmax over one score is 1, so the map is that channel */
    CHECK_OK(gcam_model_keep(m, "act"), m);
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m);
    gcam_array a;
    CHECK_OK(gcam_model_tensor(m, "act", &a), m);
    const float *A = a.data;
    double var[K];
    gcam_cam_channel_variance(A, K, S * S, var);
    int best = 0;
    for (int k = 1; k < K; k++)
        if (var[k] > var[best]) best = k;
    const float *raw = gcam_explanation_raw(ex, NULL, NULL);
    for (int p = 0; p < S * S; p++) CHECK_NEAR(raw[p], A[best * S * S + p], 1e-6);
    gcam_explanation_free(ex);
    gcam_model_free(m);
}

/* Completeness: the attributions add up to y(x) - y(x0). */
GCAM_TEST(cam_integrated_gradients_completeness)
{
    gcam_model *m = gap_model(0);
    gcam_array x = input();
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.ig_steps = 400;
    gcam_explanation *ex = NULL;
    int rc = explain(m, &x, GCAM_METHOD_INTEGRATED_GRADIENTS, NULL, 3, GCAM_NORM_NONE, &o, &ex);
    CHECK_OK(rc, m);
    int h, w;
    const float *raw = gcam_explanation_raw(ex, &h, &w);
    double total = 0;
    for (int i = 0; i < h * w; i++) total += raw[i];
    float y1 = gcam_explanation_score(ex);
    float zero[CIN * S * S] = {0};
    gcam_array z = x;
    z.data = zero;
    CHECK_OK(gcam_model_run(m, NULL, &z, 1), m);
    gcam_array y;
    CHECK_OK(gcam_model_tensor(m, "logits", &y), m);
    double y0 = ((float *)y.data)[3];
    CHECK_NEAR(total, y1 - y0, 0.02 * fabs(y1 - y0) + 1e-3);
    /* the map is signed and scaled by its largest magnitude */
    gcam_explanation_free(ex);
    rc = explain(m, &x, GCAM_METHOD_INTEGRATED_GRADIENTS, NULL, 3, GCAM_NORM_IMAGE, &o, &ex);
    CHECK_OK(rc, m);
    const float *map = gcam_explanation_map(ex, &h, &w);
    float mx = 0;
    for (int i = 0; i < h * w; i++) mx = fabsf(map[i]) > mx ? fabsf(map[i]) : mx;
    CHECK_NEAR(mx, 1.0, 1e-6);
    gcam_explanation_free(ex);
    /* the blur and uniform baselines run */
    o.ig_steps = 4;
    o.ig_baseline = "blur:1.5";
    CHECK_OK(explain(m, &x, GCAM_METHOD_INTEGRATED_GRADIENTS, NULL, 3, GCAM_NORM_IMAGE, &o, &ex), m);
    gcam_explanation_free(ex);
    o.ig_baseline = "uniform";
    CHECK_OK(explain(m, &x, GCAM_METHOD_INTEGRATED_GRADIENTS, NULL, 3, GCAM_NORM_IMAGE, &o, &ex), m);
    gcam_explanation_free(ex);
    o.ig_baseline = "sideways";
    CHECK(explain(m, &x, GCAM_METHOD_INTEGRATED_GRADIENTS, NULL, 3, GCAM_NORM_IMAGE, &o, &ex) == GCAM_E_ARG);
    gcam_model_free(m);
}

GCAM_TEST(cam_smoothgrad_without_noise_is_saliency)
{
    gcam_model *m = gap_model(0);
    gcam_array x = input();
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.sg_samples = 3;
    o.sg_noise = 1e-12f;
    gcam_explanation *sg = NULL, *sal = NULL;
    CHECK_OK(explain(m, &x, GCAM_METHOD_SMOOTHGRAD, NULL, 1, GCAM_NORM_NONE, &o, &sg), m);
    CHECK_OK(explain(m, &x, GCAM_METHOD_SALIENCY, NULL, 1, GCAM_NORM_NONE, NULL, &sal), m);
    int h, w;
    const float *a = gcam_explanation_map(sg, &h, &w), *b = gcam_explanation_map(sal, NULL, NULL);
    CHECK(h == S && w == S);
    double mx = 0;
    for (int i = 0; i < h * w; i++) mx = fmax(mx, b[i]);
    CHECK(mx > 0);
    for (int i = 0; i < h * w; i++) CHECK_NEAR(a[i], b[i], 1e-5 * mx);
    gcam_explanation_free(sg);
    gcam_explanation_free(sal);
    /* seeded: the same seed gives the same map, another seed another */
    o.sg_noise = 0.5f;
    o.seed = 3;
    gcam_explanation *s1 = NULL, *s2 = NULL, *s3 = NULL;
    CHECK_OK(explain(m, &x, GCAM_METHOD_SMOOTHGRAD, NULL, 1, GCAM_NORM_NONE, &o, &s1), m);
    CHECK_OK(explain(m, &x, GCAM_METHOD_SMOOTHGRAD, NULL, 1, GCAM_NORM_NONE, &o, &s2), m);
    o.seed = 4;
    CHECK_OK(explain(m, &x, GCAM_METHOD_SMOOTHGRAD, NULL, 1, GCAM_NORM_NONE, &o, &s3), m);
    const float *m1 = gcam_explanation_map(s1, NULL, NULL), *m2 = gcam_explanation_map(s2, NULL, NULL),
                *m3 = gcam_explanation_map(s3, NULL, NULL);
    int same = 1, differ = 0;
    for (int i = 0; i < S * S; i++) {
        same &= m1[i] == m2[i];
        differ |= m1[i] != m3[i];
    }
    CHECK(same && differ);
    gcam_explanation_free(s1);
    gcam_explanation_free(s2);
    gcam_explanation_free(s3);
    gcam_model_free(m);
}

GCAM_TEST(cam_guided_gradcam_is_the_product)
{
    gcam_model *m = gap_model(0);
    gcam_array x = input();
    gcam_explanation *gb = NULL, *gg = NULL, *gc = NULL;
    CHECK_OK(explain(m, &x, GCAM_METHOD_GUIDED_BACKPROP, NULL, 0, GCAM_NORM_IMAGE, NULL, &gb), m);
    CHECK_OK(explain(m, &x, GCAM_METHOD_GUIDED_GRADCAM, "act", 0, GCAM_NORM_IMAGE, NULL, &gg), m);
    CHECK_OK(explain(m, &x, GCAM_METHOD_GRADCAM, "act", 0, GCAM_NORM_IMAGE, NULL, &gc), m);
    CHECK(gcam_explanation_channels(gb) == CIN && gcam_explanation_channels(gg) == CIN);
    CHECK(gcam_explanation_channels(gc) == 1);
    int h, w;
    const float *rb = gcam_explanation_raw(gb, &h, &w), *rg = gcam_explanation_raw(gg, NULL, NULL);
    const float *cam = gcam_explanation_map(gc, NULL, NULL);
    for (int c = 0; c < CIN; c++)
        for (int p = 0; p < h * w; p++) CHECK_NEAR(rg[c * h * w + p], rb[c * h * w + p] * cam[p], 1e-6);
    /* signed maps are scaled to a largest magnitude of 1 */
    const float *mb = gcam_explanation_map(gb, NULL, NULL);
    float mx = 0;
    for (int i = 0; i < CIN * h * w; i++) mx = fabsf(mb[i]) > mx ? fabsf(mb[i]) : mx;
    CHECK_NEAR(mx, 1.0, 1e-6);
    gcam_explanation_free(gb);
    gcam_explanation_free(gg);
    gcam_explanation_free(gc);
    gcam_model_free(m);
}

static int all_finite(const gcam_explanation *ex)
{
    int h, w, ch = gcam_explanation_channels(ex);
    const float *map = gcam_explanation_map(ex, &h, &w);
    for (int i = 0; i < ch * h * w; i++)
        if (!isfinite(map[i])) return 0;
    const float *raw = gcam_explanation_raw(ex, &h, &w);
    for (int i = 0; raw && i < h * w; i++)
        if (!isfinite(raw[i])) return 0;
    return 1;
}

/* Every method, on an ordinary input and on degenerate ones: an all-zero
 * input through a bias-free network (zero activations, zero gradients, a
 * zero base score), and a constant input (constant channels). */
GCAM_TEST(cam_every_method_finite_on_degenerate_inputs)
{
    float zero[CIN * S * S] = {0}, flat[CIN * S * S];
    for (int i = 0; i < CIN * S * S; i++) flat[i] = 0.5f;
    for (int variant = 0; variant < 3; variant++) {
        gcam_model *m = gap_model(variant == 1);
        gcam_array x = input();
        if (variant == 1) x.data = zero;
        if (variant == 2) x.data = flat;
        for (int k = 0; k < GCAM_METHOD_COUNT; k++) {
            gcam_explain_opts o;
            gcam_explain_opts_default(&o);
            o.ig_steps = 3;
            o.sg_samples = 2;
            for (int smooth = 0; smooth < 3; smooth++) {
                o.eigen_smooth = smooth == 1;
                o.aug_smooth = smooth == 2;
                if (o.eigen_smooth && (k >= GCAM_METHOD_GUIDED_BACKPROP && k != GCAM_METHOD_GUIDED_GRADCAM)) continue;
                gcam_explanation *ex = NULL;
                if (gcam_method_flags(k) & GCAM_MF_ATTENTION) { /* a CNN has no attention: one-line refusal */
                    int rc = explain(m, &x, k, NULL, -1, GCAM_NORM_IMAGE, &o, &ex);
                    CHECK_MSG(rc == GCAM_E_UNSUPPORTED && !ex && strstr(gcam_model_errmsg(m), "token"),
                              "%s on a CNN: rc %d, %s", gcam_method_name(k), rc, gcam_model_errmsg(m));
                    continue;
                }
                int rc = explain(m, &x, k, k == GCAM_METHOD_GUIDED_BACKPROP || k >= GCAM_METHOD_SALIENCY ? NULL : "act",
                                 -1, GCAM_NORM_IMAGE, &o, &ex);
                CHECK_MSG(rc == GCAM_OK, "%s (variant %d, smooth %d): %s", gcam_method_name(k), variant, smooth,
                          gcam_model_errmsg(m));
                CHECK_MSG(all_finite(ex), "%s (variant %d, smooth %d) is not finite", gcam_method_name(k), variant,
                          smooth);
                gcam_explanation_free(ex);
            }
        }
        gcam_model_free(m);
    }
}

GCAM_TEST(cam_bad_options)
{
    gcam_model *m = gap_model(0);
    gcam_array x = input();
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.eigen_smooth = 1;
    gcam_explanation *ex = NULL;
    CHECK(explain(m, &x, GCAM_METHOD_SALIENCY, NULL, 0, GCAM_NORM_IMAGE, &o, &ex) == GCAM_E_ARG);
    gcam_explain_opts_default(&o);
    o.method = GCAM_METHOD_COUNT;
    CHECK(gcam_explain(m, &x, &o, &ex) == GCAM_E_ARG && ex == NULL);
    gcam_model_free(m);
}

/* A Reshape to a literal [1, K] pins the batch: the batched suffix is
 * refused, and Ablation-CAM falls back to one copy at a time. */
GCAM_TEST(cam_suffix_pinned_batch_falls_back)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,2,4,4");
    add_conv(b, "conv", "x", "c1", CIN, K, 0.1, 0);
    ob_node(b, "Relu", "relu", "c1", "act");
    float w[CLASSES * K], bias[CLASSES];
    fill(w, CLASSES * K, 0.7, 1.0);
    fill(bias, CLASSES, 2.1, 0.3);
    ob_init_f32(b, "fc_W", 2, (int64_t[]){CLASSES, K}, w);
    ob_init_f32(b, "fc_B", 1, (int64_t[]){CLASSES}, bias);
    ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){1, K});
    ob_node(b, "GlobalAveragePool", "gap", "act", "pooled");
    ob_node(b, "Reshape", "reshape", "pooled,shape", "feat");
    Onnx__NodeProto *g = ob_node(b, "Gemm", "fc", "feat,fc_W,fc_B", "logits");
    ob_attr_int(b, g, "transB", 1);
    ob_output(b, "logits", OB_F32, NULL);
    gcam_model *m;
    int rc = ob_load(b, &m);
    CHECK_OK(rc, m);
    gcam_array x = input();
    CHECK_OK(gcam_model_keep(m, "act"), m);
    CHECK_OK(gcam_model_run(m, NULL, &x, 1), m);
    int act = gcam_graph_find(m->g, "act"), y = gcam_graph_find(m->g, "logits");
    gcam_suffix *v = NULL;
    gcam_err e = {0};
    CHECK(gcam_suffix_new(m->g, &act, 1, y, 4, &v, &e) == GCAM_E_UNSUPPORTED && v == NULL);
    CHECK(strstr(e.msg, "cannot run a batch of 4") != NULL);
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    gcam_explanation *ex1 = NULL, *ex4 = NULL;
    o.batch_size = 1;
    CHECK_OK(explain(m, &x, GCAM_METHOD_ABLATIONCAM, "act", 0, GCAM_NORM_NONE, &o, &ex1), m);
    o.batch_size = 4;
    CHECK_OK(explain(m, &x, GCAM_METHOD_ABLATIONCAM, "act", 0, GCAM_NORM_NONE, &o, &ex4), m);
    const float *r1 = gcam_explanation_raw(ex1, NULL, NULL), *r4 = gcam_explanation_raw(ex4, NULL, NULL);
    for (int p = 0; p < S * S; p++) CHECK(r1[p] == r4[p]);
    /* and the same holds for the whole-network view of Score-CAM */
    gcam_explanation_free(ex1);
    gcam_explanation_free(ex4);
    CHECK_OK(explain(m, &x, GCAM_METHOD_SCORECAM, "act", 0, GCAM_NORM_NONE, &o, &ex4), m);
    gcam_explanation_free(ex4);
    gcam_model_free(m);
}

/* Grad-CAM through a flattening linear head (src/cam/headsum.c): the layer
 * act (3 x 4 x 4) -> Flatten | Reshape -> a hidden linear layer of HID units
 * -> Relu -> Gemm -> logits, as in VGG.  The weights taken from the gradient
 * at the hidden layer's output must equal the spatial mean of the full
 * backward's dA (GCAM_HEADSUM=0), for every class and counterfactually, with
 * the hidden layer as a Gemm with transB and alpha, a Gemm without transB,
 * and a MatMul + Add; and with no hidden layer (kind 3: Flatten -> Gemm is
 * the classifier, its output the target). */
enum { HID = 6, FLAT = K * S * S };
_Static_assert((int)CLASSES <= (int)HID, "w1 and b1 hold either head");

static gcam_model *flat_head_model(int kind)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,2,4,4");
    add_conv(b, "conv", "x", "c1", CIN, K, 0.1, 0);
    ob_node(b, "Relu", "relu", "c1", "act");
    const int hidden = kind != 3; /* kind 3: the first linear layer is the classifier */
    const int64_t n1 = hidden ? HID : CLASSES;
    float w1[HID * FLAT], b1[HID], w2[CLASSES * HID], b2[CLASSES];
    fill(w1, (int)n1 * FLAT, 0.5, 0.8);
    fill(b1, (int)n1, 1.7, 0.3);
    ob_init_f32(b, "w1", 2, kind == 1 || kind == 2 ? (int64_t[]){FLAT, n1} : (int64_t[]){n1, FLAT}, w1);
    ob_init_f32(b, "b1", 1, (int64_t[]){n1}, b1);
    const char *h1 = hidden ? "h1" : "logits";
    if (kind == 2) {
        ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){1, -1});
        ob_node(b, "Reshape", "flat", "act,shape", "feat");
        ob_node(b, "MatMul", "fc1", "feat,w1", "h0");
        ob_node(b, "Add", "fc1b", "h0,b1", h1);
    } else {
        Onnx__NodeProto *f = ob_node(b, "Flatten", "flat", "act", "feat");
        ob_attr_int(b, f, "axis", 1);
        Onnx__NodeProto *g1 = ob_node(b, "Gemm", "fc1", "feat,w1,b1", h1);
        if (kind != 1) ob_attr_int(b, g1, "transB", 1);
        if (kind == 0) ob_attr_float(b, g1, "alpha", 0.5f);
    }
    if (hidden) {
        fill(w2, CLASSES * HID, 2.3, 1.0);
        fill(b2, CLASSES, 0.9, 0.2);
        ob_init_f32(b, "w2", 2, (int64_t[]){CLASSES, HID}, w2);
        ob_init_f32(b, "b2", 1, (int64_t[]){CLASSES}, b2);
        ob_node(b, "Relu", "hrelu", "h1", "h2");
        Onnx__NodeProto *g2 = ob_node(b, "Gemm", "fc2", "h2,w2,b2", "logits");
        ob_attr_int(b, g2, "transB", 1);
    }
    ob_output(b, "logits", OB_F32, NULL);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

GCAM_TEST(cam_gradcam_flat_linear_head)
{
    gcam_array x = input();
    for (int kind = 0; kind < 4; kind++) {
        gcam_model *m = flat_head_model(kind);
        CHECK(m != NULL);
        if (!m) continue;
        int live = 0;
        for (int64_t cls = 0; cls < CLASSES; cls++)
            for (int cf = 0; cf < 2; cf++) {
                gcam_explain_opts o;
                gcam_explain_opts_default(&o);
                o.counterfactual = cf;
                o.no_relu = 1;
                gcam_explanation *ex[2] = {NULL, NULL};
                for (int on = 0; on < 2; on++) {
                    CHECK(gcam_model_set_option(m, GCAM_OPT_HEAD_SHORTCUT, on) == GCAM_OK);
                    int64_t before = gcam_model_cam_stats(m)->headsum_taken;
                    CHECK_OK(explain(m, &x, GCAM_METHOD_GRADCAM, "act", cls, GCAM_NORM_NONE, &o, &ex[on]), m);
                    CHECK_MSG(gcam_model_cam_stats(m)->headsum_taken == before + on, "kind %d: shortcut %s", kind,
                              on ? "not taken" : "taken while off");
                }
                if (!ex[0] || !ex[1]) continue;
                int h, w;
                const float *r0 = gcam_explanation_raw(ex[0], &h, &w), *r1 = gcam_explanation_raw(ex[1], NULL, NULL);
                CHECK(h == S && w == S);
                for (int i = 0; i < h * w; i++) {
                    CHECK_NEAR(r1[i], r0[i], 1e-5 * (1 + fabs(r0[i])));
                    live += fabsf(r0[i]) > 1e-3f;
                }
                gcam_explanation_free(ex[0]);
                gcam_explanation_free(ex[1]);
            }
        CHECK_MSG(live > 0, "kind %d: every map is zero", kind); /* the comparison meant something */
        /* other gradient methods keep the full backward */
        int64_t before = gcam_model_cam_stats(m)->headsum_taken;
        gcam_explanation *ex = NULL;
        CHECK_OK(explain(m, &x, GCAM_METHOD_GRADCAM_PP, "act", 0, GCAM_NORM_NONE, NULL, &ex), m);
        CHECK(gcam_model_cam_stats(m)->headsum_taken == before);
        gcam_explanation_free(ex);
        gcam_model_free(m);
    }
}
