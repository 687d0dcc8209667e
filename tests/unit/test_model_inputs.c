/* test_model_inputs.c - how real exporters' inputs are bound and fed:
 * symbolic dims (never silently 1, folded once per bound shape), the
 * input's layout, images into NHWC and 1/4-channel inputs with every
 * preset, Grad-CAM on a channels-last model equal to the same model in
 * NCHW, and extra non-image inputs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "gcam.h"
#include "image/image.h"
#include "onnx_builder.h"
#include "test.h"

#define CHECK_OK(rc, m) \
    CHECK_MSG((rc) == GCAM_OK, "status %d (%s): %s", (rc), gcam_status_str(rc), gcam_model_errmsg(m))

static void add_meta(ob *b, const char *key, const char *value)
{
    if (!b->model.metadata_props) b->model.metadata_props = ob_alloc(b, sizeof(void *) * 4);
    Onnx__StringStringEntryProto *e = ob_alloc(b, sizeof *e);
    *e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    e->key = ob_str(b, key);
    e->value = ob_str(b, value);
    b->model.metadata_props[b->model.n_metadata_props++] = e;
}

static void fill(float *v, int n, double phase)
{
    for (int i = 0; i < n; i++) v[i] = (float)sin(1.7 * i + phase);
}

/* x (shape as given, NCHW with 3 channels) -> Conv 3x3 pad 1 -> Relu -> MaxPool 2 -> out */
static ob *conv_model(const char *shape, const char *meta)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, shape);
    float w[2 * 3 * 9], bias[2] = {0.1f, -0.2f};
    fill(w, 54, 0.3);
    ob_init_f32(b, "w", 4, (int64_t[]){2, 3, 3, 3}, w);
    ob_init_f32(b, "b", 1, (int64_t[]){2}, bias);
    Onnx__NodeProto *c = ob_node(b, "Conv", "conv", "x,w,b", "c");
    ob_attr_ints(b, c, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "Relu", "relu", "c", "r");
    Onnx__NodeProto *p = ob_node(b, "MaxPool", "pool", "r", "out");
    ob_attr_ints(b, p, "kernel_shape", 2, (int64_t[]){2, 2});
    ob_attr_ints(b, p, "strides", 2, (int64_t[]){2, 2});
    ob_output(b, "out", OB_F32, NULL);
    if (meta) add_meta(b, "gradcam.preprocess", meta);
    return b;
}

static gcam_model *load(ob *b)
{
    gcam_model *m = NULL;
    int rc = ob_load(b, &m); /* frees b */
    if (rc) {
        gcam_model_free(m);
        return NULL;
    }
    return m;
}

GCAM_TEST(inputs_symbolic_dims_never_silently_one)
{
    gcam_model *m = load(conv_model("N,3,H,W", NULL));
    CHECK(m != NULL);
    const gcam_layer *L;
    int n;
    /* the pool's 2x2 window would not fit a 1x1 input: the old silent 1 */
    CHECK(gcam_model_layers(m, &L, &n) == GCAM_E_SHAPE);
    CHECK_MSG(strstr(gcam_model_errmsg(m), "input 'x' has dims [N,3,?,?]: pass --input-shape 1,3,H,W"), "%s",
              gcam_model_errmsg(m));
    /* a bound shape plans */
    CHECK(gcam_model_set_input_shape(m, 0, (int64_t[]){1, 3, 6, 10}, 4) == GCAM_OK);
    CHECK_OK(gcam_model_layers(m, &L, &n), m);
    CHECK(n == 3 && L[2].dims[2] == 3 && L[2].dims[3] == 5);
    /* shapes that contradict the declaration */
    CHECK(gcam_model_set_input_shape(m, 0, (int64_t[]){1, 4, 6, 10}, 4) == GCAM_E_SHAPE);
    CHECK(gcam_model_set_input_shape(m, 0, (int64_t[]){1, 3, 6}, 3) == GCAM_E_SHAPE);
    gcam_model_free(m);

    /* the metadata's size binds H and W, a symbolic batch becomes 1 */
    m = load(conv_model("N,3,H,W", "size=8,12"));
    CHECK(m != NULL);
    CHECK_OK(gcam_model_layers(m, &L, &n), m);
    CHECK(n == 3 && L[0].dims[0] == 1 && L[0].dims[2] == 8 && L[0].dims[3] == 12);
    gcam_model_free(m);
    m = load(conv_model("batch,3,4,4", NULL));
    CHECK(m != NULL);
    CHECK_OK(gcam_model_layers(m, &L, &n), m);
    CHECK(L[2].dims[0] == 1 && L[2].dims[2] == 2);
    gcam_model_free(m);
    /* a symbolic channel count is named too */
    m = load(conv_model("1,C,8,8", NULL));
    CHECK(m != NULL);
    CHECK(gcam_model_layers(m, &L, &n) == GCAM_E_SHAPE);
    CHECK_MSG(strstr(gcam_model_errmsg(m), "[1,?,8,8]: pass --input-shape 1,C,8,8"), "%s", gcam_model_errmsg(m));
    gcam_model_free(m);
}

GCAM_TEST(inputs_symbolic_channels_last_message)
{
    ob *b = ob_new(13);
    ob_input(b, "img", OB_F32, "N,h,w,3");
    ob_node(b, "Relu", "r", "img", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = load(b);
    CHECK(m != NULL);
    CHECK(gcam_model_input_layout(m, 0) == GCAM_LAYOUT_NHWC);
    const gcam_layer *L;
    int n;
    CHECK(gcam_model_layers(m, &L, &n) == GCAM_E_SHAPE);
    CHECK_MSG(strstr(gcam_model_errmsg(m), "input 'img' has dims [N,?,?,3]: pass --input-shape 1,H,W,3"), "%s",
              gcam_model_errmsg(m));
    gcam_model_free(m);
}

/* Shape -> Reshape: the shape subgraph folds at planning, once per bound
 * shape; running again with the same shape does not plan again. */
GCAM_TEST(inputs_shape_subgraph_folds_once_per_shape)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "N,3,H,W");
    ob_node(b, "Shape", "shape", "x", "s");
    ob_node(b, "Relu", "relu", "x", "r");
    ob_node(b, "Reshape", "reshape", "r,s", "y");
    ob_output(b, "y", OB_F32, NULL);
    ob_output(b, "s", OB_I64, NULL);
    gcam_model *m = load(b);
    CHECK(m != NULL);
    float x[3 * 4 * 5];
    fill(x, 60, 0.0);
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 3, 4, 5}, .data = x};
    CHECK_OK(gcam_model_run(m, NULL, &a, 1), m);
    unsigned id = m->g->plan_id;
    CHECK_OK(gcam_model_run(m, NULL, &a, 1), m);
    CHECK(m->g->plan_id == id);
    gcam_array s;
    CHECK_OK(gcam_model_tensor(m, "s", &s), m);
    CHECK(s.dtype == GCAM_INT64 && s.ndim == 1 && s.dims[0] == 4);
    CHECK(((int64_t *)s.data)[2] == 4 && ((int64_t *)s.data)[3] == 5);
    a.dims[2] = 5;
    a.dims[3] = 4;
    CHECK_OK(gcam_model_run(m, NULL, &a, 1), m);
    CHECK(m->g->plan_id == id + 1);
    CHECK_OK(gcam_model_tensor(m, "s", &s), m);
    CHECK(((int64_t *)s.data)[2] == 5 && ((int64_t *)s.data)[3] == 4);
    gcam_array y;
    CHECK_OK(gcam_model_tensor(m, "y", &y), m);
    CHECK(y.dims[2] == 5 && y.dims[3] == 4);
    for (int i = 0; i < 60; i++) CHECK(((float *)y.data)[i] == (x[i] > 0 ? x[i] : 0));
    gcam_model_free(m);
}

GCAM_TEST(inputs_layout_from_shape_and_metadata)
{
    static const struct { const char *shape, *meta; int layout; } cases[] = {
        {"1,3,224,224", NULL, GCAM_LAYOUT_NCHW}, {"N,3,H,W", NULL, GCAM_LAYOUT_NCHW},
        {"1,128,128,3", NULL, GCAM_LAYOUT_NHWC}, {"1,320,320,4", NULL, GCAM_LAYOUT_NHWC},
        {"1,28,28,1", NULL, GCAM_LAYOUT_NHWC},   {"N,H,W,3", NULL, GCAM_LAYOUT_NHWC},
        {"1,1,28,28", NULL, GCAM_LAYOUT_NCHW},   {"1,2,8,4", NULL, GCAM_LAYOUT_NCHW},
        {"1,3,4,3", NULL, GCAM_LAYOUT_NCHW},     {"1,3,4,3", "layout=nhwc", GCAM_LAYOUT_NHWC},
        {"1,128,128,3", "size=9,9;layout=nchw", GCAM_LAYOUT_NCHW}, {"1,3,8", NULL, GCAM_LAYOUT_NONE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ob *b = ob_new(13);
        ob_input(b, "x", OB_F32, cases[k].shape);
        ob_node(b, "Relu", "r", "x", "y");
        ob_output(b, "y", OB_F32, NULL);
        if (cases[k].meta) add_meta(b, "gradcam.preprocess", cases[k].meta);
        gcam_model *m = load(b);
        CHECK(m != NULL);
        CHECK_MSG(gcam_model_input_layout(m, 0) == cases[k].layout, "%s %s: layout %d", cases[k].shape,
                  cases[k].meta ? cases[k].meta : "", gcam_model_input_layout(m, 0));
        gcam_model_free(m);
    }
}

/* ---- images into every layout ---- */

enum { IW = 5, IH = 6 }; /* H > 4: [1,6,5,3] reads as NHWC */

static int write_photo(char *path, size_t cap, const char *dir, gcam_image *img)
{
    gcam_err e = {0};
    if (gcam_image_alloc(img, IW, IH, 3, &e)) return -1;
    for (int i = 0; i < IW * IH * 3; i++) img->px[i] = (uint8_t)(i * 41 + 7);
    snprintf(path, cap, "%s/photo.png", dir);
    return gcam_image_save_png(path, img, &e);
}

static gcam_model *identity_model(const char *shape, const char *meta)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, shape);
    ob_node(b, "Identity", "id", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    if (meta) add_meta(b, "gradcam.preprocess", meta);
    return load(b);
}

/* element (y, x, channel c) of a 1-image tensor in either layout */
static float at(const gcam_array *a, int nhwc, int y, int x, int c)
{
    const float *d = a->data;
    if (nhwc) return d[((int64_t)y * a->dims[2] + x) * a->dims[3] + c];
    return d[((int64_t)c * a->dims[2] + y) * a->dims[3] + x];
}

GCAM_TEST(inputs_photo_every_layout_and_preset)
{
    char *dir = ob_tmpdir();
    char path[4200];
    gcam_image img = {0};
    CHECK(dir && write_photo(path, sizeof path, dir, &img) == GCAM_OK);
    static const struct {
        const char *shape, *preset, *meta;
        int nhwc, C, bgr;
        float scale, mean[4], std[4];
    } cases[] = {
        {"1,3,6,5", "raw", NULL, 0, 3, 0, 1, {0, 0, 0, 0}, {1, 1, 1, 1}},
        {"1,6,5,3", "raw", NULL, 1, 3, 0, 1, {0, 0, 0, 0}, {1, 1, 1, 1}},
        {"1,6,5,4", "tf", NULL, 1, 4, 0, 1 / 255.0f, {.5f, .5f, .5f, .5f}, {.5f, .5f, .5f, .5f}},
        {"1,6,5,4", "unit", NULL, 1, 4, 0, 1 / 255.0f, {0, 0, 0, 0}, {1, 1, 1, 1}},
        {"1,3,6,5", "paddle", NULL, 0, 3, 0, 1 / 255.0f, {.5f, .5f, .5f}, {.5f, .5f, .5f}},
        {"1,6,5,3", "caffe", NULL, 1, 3, 1, 1, {103.939f, 116.779f, 123.68f}, {1, 1, 1}},
        {"1,3,6,5", NULL, "preset=caffe", 0, 3, 1, 1, {103.939f, 116.779f, 123.68f}, {1, 1, 1}},
        {"1,6,5,1", "unit", NULL, 1, 1, 0, 1 / 255.0f, {0}, {1}},
        {"N,H,W,3", NULL, "size=6,5;preset=unit", 1, 3, 0, 1 / 255.0f, {0, 0, 0}, {1, 1, 1}},
        /* symbolic H and W without a size: the photo's own (6 x 5), or the
         * free side from the photo's aspect ratio */
        {"N,H,W,3", "unit", NULL, 1, 3, 0, 1 / 255.0f, {0, 0, 0}, {1, 1, 1}},
        {"N,3,6,w", "raw", NULL, 0, 3, 0, 1, {0, 0, 0, 0}, {1, 1, 1, 1}},
        {"N,3,h,5", "tf", NULL, 0, 3, 0, 1 / 255.0f, {.5f, .5f, .5f}, {.5f, .5f, .5f}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        gcam_model *m = identity_model(cases[k].shape, cases[k].meta);
        CHECK(m != NULL);
        if (!m) continue;
        gcam_preprocess_opts o = {.preset = cases[k].preset};
        gcam_photo *ph = NULL;
        gcam_array x = {0};
        int rc = gcam_photo_load(m, path, &o, &ph, &x);
        CHECK_MSG(rc == GCAM_OK, "case %zu: %s", k, gcam_model_errmsg(m));
        if (rc) { gcam_model_free(m); continue; }
        int C = cases[k].C, nhwc = cases[k].nhwc;
        int64_t want[4] = {1, nhwc ? IH : C, nhwc ? IW : IH, nhwc ? C : IW};
        CHECK_MSG(!memcmp(x.dims, want, sizeof want), "case %zu: dims %lld,%lld,%lld,%lld", k, (long long)x.dims[0],
                  (long long)x.dims[1], (long long)x.dims[2], (long long)x.dims[3]);
        for (int y = 0; y < IH; y++)
            for (int xx = 0; xx < IW; xx++)
                for (int c = 0; c < C; c++) {
                    const uint8_t *px = img.px + (y * IW + xx) * 3;
                    /* Pillow's luma, RGB or BGR, alpha 255 */
                    int v = C == 1 ? (px[0] * 19595 + px[1] * 38470 + px[2] * 7471 + 0x8000) >> 16
                          : c == 3 ? 255 : px[cases[k].bgr ? 2 - c : c];
                    float expect = ((float)(v * (double)cases[k].scale) - cases[k].mean[c]) / cases[k].std[c];
                    float got = at(&x, nhwc, y, xx, c);
                    CHECK_MSG(fabsf(got - expect) <= 1e-5f * (1 + fabsf(expect)), "case %zu (%d,%d,%d): %g want %g", k,
                              y, xx, c, got, expect);
                }
        gcam_array_free(&x);
        gcam_photo_free(ph);
        gcam_model_free(m);
    }
    /* the imagenet recipe crops: symbolic sides take its 224 */
    {
        gcam_model *mi = identity_model("N,3,H,W", NULL);
        gcam_photo *pi = NULL;
        gcam_array xi = {0};
        CHECK_OK(gcam_photo_load(mi, path, NULL, &pi, &xi), mi);
        CHECK(xi.dims[1] == 3 && xi.dims[2] == 224 && xi.dims[3] == 224);
        gcam_preprocess_opts sz = {.preset = "unit", .size_h = 12, .size_w = 10};
        gcam_array_free(&xi);
        gcam_photo_free(pi);
        CHECK_OK(gcam_photo_load(mi, path, &sz, &pi, &xi), mi);
        CHECK(xi.dims[2] == 12 && xi.dims[3] == 10);
        gcam_array_free(&xi);
        gcam_photo_free(pi);
        gcam_model_free(mi);
    }
    /* a 2-channel input is no image */
    gcam_model *m = identity_model("1,2,6,5", NULL);
    gcam_photo *ph = NULL;
    gcam_array x = {0};
    CHECK(gcam_photo_load(m, path, NULL, &ph, &x) == GCAM_E_SHAPE && ph == NULL && x.data == NULL);
    CHECK(strstr(gcam_model_errmsg(m), "2 channels"));
    gcam_preprocess_opts bad = {.preset = "torch"};
    gcam_model_free(m);
    m = identity_model("1,3,6,5", NULL);
    CHECK(gcam_photo_load(m, path, &bad, &ph, &x) == GCAM_E_ARG);
    CHECK(strstr(gcam_model_errmsg(m), "caffe"));
    gcam_model_free(m);
    gcam_image_free(&img);
    ob_rmtree(dir);
    free(dir);
}

/* ---- Grad-CAM through a channels-last input ---- */

enum { H = 6, W = 7, CLS = 3 };

/* x (NHWC, or NCHW) -> [Transpose] -> Conv 3->4 3x3 -> Relu -> GAP -> Flatten -> Gemm -> y */
static gcam_model *cnn_batch(int nhwc, const char *batch)
{
    ob *b = ob_new(13);
    char shape[32];
    snprintf(shape, sizeof shape, nhwc ? "%s,%d,%d,3" : "%s,3,%d,%d", batch, H, W);
    ob_input(b, "x", OB_F32, shape);
    const char *in = "x";
    if (nhwc) {
        Onnx__NodeProto *t = ob_node(b, "Transpose", "to_nchw", "x", "xt");
        ob_attr_ints(b, t, "perm", 4, (int64_t[]){0, 3, 1, 2});
        in = "xt";
    }
    float w[4 * 3 * 9], bias[4], fc[CLS * 4], fb[CLS];
    fill(w, 108, 0.5);
    fill(bias, 4, 1.0);
    fill(fc, CLS * 4, 2.0);
    fill(fb, CLS, 3.0);
    ob_init_f32(b, "w", 4, (int64_t[]){4, 3, 3, 3}, w);
    ob_init_f32(b, "b", 1, (int64_t[]){4}, bias);
    ob_init_f32(b, "fc", 2, (int64_t[]){CLS, 4}, fc);
    ob_init_f32(b, "fb", 1, (int64_t[]){CLS}, fb);
    char ins[16];
    snprintf(ins, sizeof ins, "%s,w,b", in);
    Onnx__NodeProto *c = ob_node(b, "Conv", "conv", ins, "c");
    ob_attr_ints(b, c, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "Relu", "relu", "c", "feat");
    ob_node(b, "GlobalAveragePool", "gap", "feat", "g");
    ob_node(b, "Flatten", "flat", "g", "f");
    Onnx__NodeProto *gm = ob_node(b, "Gemm", "head", "f,fc,fb", "y");
    ob_attr_int(b, gm, "transB", 1);
    ob_output(b, "y", OB_F32, NULL);
    return load(b);
}

static gcam_model *cnn(int nhwc) { return cnn_batch(nhwc, "1"); }

/* gcam_explain_batch on an NHWC input with a symbolic batch: each image's
 * map is the single explanation's (the batched pass reads NCHW, so NHWC
 * takes the per-image path) */
GCAM_TEST(inputs_explain_batch_channels_last)
{
    gcam_model *m = cnn_batch(1, "N");
    CHECK(m != NULL);
    if (!m) return;
    float xb[2 * H * W * 3];
    fill(xb, 2 * H * W * 3, 0.9);
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {2, H, W, 3}, .data = xb};
    gcam_explanation *out[2] = {NULL, NULL};
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    CHECK_OK(gcam_explain_batch(m, &a, &o, (int64_t[]){0, 2}, out), m);
    for (int b = 0; b < 2 && out[0]; b++) {
        gcam_array one = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, H, W, 3}, .data = xb + b * H * W * 3};
        o.target_class = b ? 2 : 0;
        gcam_explanation *ex = NULL;
        CHECK_OK(gcam_explain(m, &one, &o, &ex), m);
        int h, w, h1, w1;
        const float *mb = gcam_explanation_map(out[b], &h, &w), *m1 = ex ? gcam_explanation_map(ex, &h1, &w1) : NULL;
        CHECK(h == H && w == W && m1 && h1 == H && w1 == W);
        for (int p = 0; m1 && p < H * W; p++) CHECK_NEAR(mb[p], m1[p], 1e-5);
        gcam_explanation_free(ex);
    }
    gcam_explanation_free(out[0]);
    gcam_explanation_free(out[1]);
    gcam_model_free(m);
}

GCAM_TEST(inputs_gradcam_channels_last_equals_nchw)
{
    float xn[3 * H * W], xl[H * W * 3];
    fill(xn, 3 * H * W, 0.7);
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < H * W; p++) xl[p * 3 + c] = xn[c * H * W + p];
    gcam_model *mn = cnn(0), *ml = cnn(1);
    CHECK(mn && ml);
    CHECK(gcam_model_input_layout(ml, 0) == GCAM_LAYOUT_NHWC);
    gcam_array an = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 3, H, W}, .data = xn};
    gcam_array al = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, H, W, 3}, .data = xl};
    /* every method family: layer CAMs, input gradients (planes whatever the
     * layout), batched passes, augmentation (the flip is along W) */
    static const struct { int method, aug; const char *baseline; } cases[] = {
        {GCAM_METHOD_GRADCAM, 0, NULL}, {GCAM_METHOD_GRADCAM_PP, 0, NULL}, {GCAM_METHOD_SCORECAM, 0, NULL},
        {GCAM_METHOD_ABLATIONCAM, 0, NULL}, {GCAM_METHOD_EIGENCAM, 0, NULL}, {GCAM_METHOD_SALIENCY, 0, NULL},
        {GCAM_METHOD_GUIDED_BACKPROP, 0, NULL}, {GCAM_METHOD_GUIDED_GRADCAM, 0, NULL},
        {GCAM_METHOD_INTEGRATED_GRADIENTS, 0, NULL}, {GCAM_METHOD_INTEGRATED_GRADIENTS, 0, "blur:1.5"},
        {GCAM_METHOD_SMOOTHGRAD, 0, NULL}, {GCAM_METHOD_GRADCAM, 1, NULL}, {GCAM_METHOD_SALIENCY, 1, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int cls = 0; cls < CLS; cls++) {
            gcam_explain_opts o;
            gcam_explain_opts_default(&o);
            const char *layer = "feat";
            o.method = cases[k].method;
            o.aug_smooth = cases[k].aug;
            o.ig_baseline = cases[k].baseline;
            o.ig_steps = 8;
            o.sg_samples = 3;
            o.sg_noise = 1e-7f; /* the draws differ by layout: keep them negligible */
            o.layers = &layer;
            o.n_layers = 1;
            o.target_output = "y";
            o.target_class = cls;
            gcam_explanation *en = NULL, *el = NULL;
            CHECK_OK(gcam_explain(mn, &an, &o, &en), mn);
            CHECK_OK(gcam_explain(ml, &al, &o, &el), ml);
            if (!en || !el) {
                gcam_explanation_free(en);
                gcam_explanation_free(el);
                break;
            }
            int hn, wn, hl, wl, ch = gcam_explanation_channels(en);
            const float *mapn = gcam_explanation_map(en, &hn, &wn), *mapl = gcam_explanation_map(el, &hl, &wl);
            CHECK(hn == H && wn == W && hl == H && wl == W && gcam_explanation_channels(el) == ch);
            float worst = 0;
            for (int p = 0; p < ch * H * W; p++) worst = fmaxf(worst, fabsf(mapl[p] - mapn[p]));
            CHECK_MSG(worst <= 1e-4f, "%s%s class %d: max |NHWC - NCHW| = %g", gcam_method_name(cases[k].method),
                      cases[k].aug ? " aug" : "", cls, worst);
            CHECK_NEAR(gcam_explanation_score(el), gcam_explanation_score(en), 1e-5);
            gcam_explanation_free(en);
            gcam_explanation_free(el);
        }
    gcam_model_free(mn);
    gcam_model_free(ml);
}

/* ---- extra inputs ---- */

/* y = Gemm(Flatten(GAP(Relu(Conv(x))))) * s, s a [1] float input */
static gcam_model *two_inputs(void)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,3,5,5");
    ob_input(b, "s", OB_F32, "1");
    float w[2 * 27], fc[CLS * 2];
    fill(w, 54, 0.2);
    fill(fc, CLS * 2, 0.9);
    ob_init_f32(b, "w", 4, (int64_t[]){2, 3, 3, 3}, w);
    ob_init_f32(b, "fc", 2, (int64_t[]){CLS, 2}, fc);
    ob_node(b, "Conv", "conv", "x,w", "c");
    ob_node(b, "Relu", "relu", "c", "feat");
    ob_node(b, "GlobalAveragePool", "gap", "feat", "g");
    ob_node(b, "Flatten", "flat", "g", "f");
    Onnx__NodeProto *gm = ob_node(b, "Gemm", "head", "f,fc", "z");
    ob_attr_int(b, gm, "transB", 1);
    ob_node(b, "Mul", "scale", "z,s", "y");
    ob_output(b, "y", OB_F32, NULL);
    return load(b);
}

GCAM_TEST(inputs_extra_input_fed_beside_the_image)
{
    gcam_model *m = two_inputs();
    CHECK(m != NULL);
    float x[75], one = 1.0f, three = 3.0f;
    fill(x, 75, 0.1);
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 3, 5, 5}, .data = x};
    gcam_array s1 = {.dtype = GCAM_FLOAT32, .ndim = 1, .dims = {1}, .data = &one};
    gcam_array s3 = {.dtype = GCAM_FLOAT32, .ndim = 1, .dims = {1}, .data = &three};
    /* without s: one line naming what is missing */
    CHECK(gcam_model_run(m, NULL, &a, 1) == GCAM_E_ARG);
    CHECK(strstr(gcam_model_errmsg(m), "'s'"));
    gcam_explanation *ex = NULL;
    CHECK(gcam_explain(m, &a, NULL, &ex) == GCAM_E_ARG && ex == NULL);
    /* both given to run: the reference */
    gcam_array both[2] = {a, s1};
    CHECK_OK(gcam_model_run(m, NULL, both, 2), m);
    gcam_array y;
    CHECK_OK(gcam_model_tensor(m, "y", &y), m);
    float ref[CLS];
    memcpy(ref, y.data, sizeof ref);
    /* s fed by the model: a copy, so the caller's value may change */
    CHECK_OK(gcam_model_set_input(m, "s", &s3), m);
    three = 100.0f;
    CHECK_OK(gcam_model_run(m, NULL, &a, 1), m);
    CHECK_OK(gcam_model_tensor(m, "y", &y), m);
    for (int c = 0; c < CLS; c++) CHECK_NEAR(((float *)y.data)[c], 3.0f * ref[c], 1e-5);
    /* Grad-CAM of a scaled score: the same normalised map, 3x the score */
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.target_class = 1;
    CHECK_OK(gcam_explain(m, &a, &o, &ex), m);
    CHECK(ex && fabsf(gcam_explanation_score(ex) - 3.0f * ref[1]) < 1e-5f);
    gcam_explanation *e1 = NULL;
    CHECK_OK(gcam_model_set_input(m, "s", &s1), m);
    CHECK_OK(gcam_explain(m, &a, &o, &e1), m);
    if (ex && e1) {
        int h, w;
        const float *m3 = gcam_explanation_map(ex, &h, &w), *m1 = gcam_explanation_map(e1, &h, &w);
        CHECK(h == 5 && w == 5);
        for (int p = 0; p < 25; p++) CHECK_NEAR(m3[p], m1[p], 1e-5);
    }
    gcam_explanation_free(ex);
    gcam_explanation_free(e1);
    /* the batched methods refuse such models with one line */
    o.method = GCAM_METHOD_SCORECAM;
    CHECK(gcam_explain(m, &a, &o, &ex) == GCAM_E_UNSUPPORTED);
    /* bad extras */
    int64_t i1 = 1;
    gcam_array wrong_type = {.dtype = GCAM_INT64, .ndim = 1, .dims = {1}, .data = &i1};
    gcam_array wrong_shape = {.dtype = GCAM_FLOAT32, .ndim = 1, .dims = {2}, .data = x};
    CHECK(gcam_model_set_input(m, "nope", &s1) == GCAM_E_NOTFOUND);
    CHECK(gcam_model_set_input(m, "s", &wrong_type) == GCAM_E_DTYPE);
    CHECK(gcam_model_set_input(m, "s", &wrong_shape) == GCAM_E_SHAPE);
    /* NULL stops feeding it */
    CHECK_OK(gcam_model_set_input(m, "s", NULL), m);
    CHECK(gcam_model_run(m, NULL, &a, 1) == GCAM_E_ARG);
    gcam_model_free(m);
}

/* ---- the automatic layer follows the target ---- */

/* x -> conv1 -> r1 -> GAP -> y1 (head 1); r1 -> conv2 -> r2 -> GAP -> y2 (head 2) */
GCAM_TEST(inputs_auto_layer_follows_the_target_output)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,3,6,6");
    float w1[4 * 27], w2[4 * 4 * 9];
    fill(w1, 108, 0.4);
    fill(w2, 144, 1.1);
    ob_init_f32(b, "w1", 4, (int64_t[]){4, 3, 3, 3}, w1);
    ob_init_f32(b, "w2", 4, (int64_t[]){4, 4, 3, 3}, w2);
    Onnx__NodeProto *c1 = ob_node(b, "Conv", "conv1", "x,w1", "c1");
    ob_attr_ints(b, c1, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "Relu", "relu1", "c1", "r1");
    ob_node(b, "GlobalAveragePool", "gap1", "r1", "y1");
    Onnx__NodeProto *c2 = ob_node(b, "Conv", "conv2", "r1,w2", "c2");
    ob_attr_ints(b, c2, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "Relu", "relu2", "c2", "r2");
    ob_node(b, "GlobalAveragePool", "gap2", "r2", "y2");
    ob_output(b, "y1", OB_F32, NULL);
    ob_output(b, "y2", OB_F32, NULL);
    gcam_model *m = load(b);
    CHECK(m != NULL);
    float x[3 * 36];
    fill(x, 108, 0.2);
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 3, 6, 6}, .data = x};
    const char *want[2] = {"r1", "r2"}, *targets[2] = {"y1", "y2"};
    for (int k = 0; k < 2; k++) {
        gcam_explain_opts o;
        gcam_explain_opts_default(&o);
        o.target_output = targets[k];
        o.target_class = 1;
        gcam_explanation *ex = NULL, *ref = NULL;
        CHECK_OK(gcam_explain(m, &a, &o, &ex), m);
        o.layers = &want[k];
        o.n_layers = 1;
        CHECK_OK(gcam_explain(m, &a, &o, &ref), m);
        if (ex && ref) {
            CHECK_MSG(!strcmp(gcam_explanation_layer(ex, 0), want[k]), "target %s: auto layer %s, want %s", targets[k],
                      gcam_explanation_layer(ex, 0), want[k]);
            int h, w;
            const float *m1 = gcam_explanation_map(ex, &h, &w), *m2 = gcam_explanation_map(ref, &h, &w);
            for (int p = 0; p < h * w; p++) CHECK_NEAR(m1[p], m2[p], 1e-6);
        }
        gcam_explanation_free(ex);
        gcam_explanation_free(ref);
    }
    gcam_model_free(m);
}
