/* test_loader.c - the ONNX loader on valid models built in C (onnx_builder.h):
 * initializer storage forms, external data, symbolic batch re-planning,
 * opset-dependent attributes vs inputs, and constant folding of the shape
 * arithmetic that PyTorch exports for flatten. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/model_internal.h"
#include "gcam.h"
#include "onnx_builder.h"
#include "test.h"

static int load_ob(ob *b, gcam_model **m)
{
    size_t len;
    uint8_t *buf = ob_pack(b, &len);
    int rc = gcam_model_load_buffer(buf, len, m);
    free(buf);
    return rc;
}

#define CHECK_OK(rc, m) \
    CHECK_MSG((rc) == GCAM_OK, "status %d (%s): %s", (rc), gcam_status_str(rc), gcam_model_errmsg(m))

/* ---- storage forms ------------------------------------------------------------- */

/* float16 test values, with their bits: 0.5, -2, 65504 (max), the smallest
 * subnormal 2^-24, a larger subnormal 2^-15, -0, 1/3 rounded (0x3555). */
static const uint16_t F16_BITS[8] = {0x3800, 0xc000, 0x7bff, 0x0001, 0x0200, 0x8000, 0x3555, 0x3c00};
static const float F16_VALS[8] = {0.5f, -2.0f, 65504.0f, 5.9604644775390625e-08f, 3.0517578125e-05f, -0.0f,
                                  0.333251953125f, 1.0f};

GCAM_TEST(loader_initializer_storage_forms)
{
    /* every float form holds the same 8 values; each is added to x = 0 and read back */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,8");
    int64_t dims[2] = {1, 8};
    ob_init_raw(b, "w_raw", OB_F32, 2, dims, F16_VALS, sizeof F16_VALS);
    ob_init_f32(b, "w_float_data", 2, dims, F16_VALS);
    uint8_t f16raw[16];
    for (int i = 0; i < 8; i++) { /* little-endian, whatever the host */
        f16raw[2 * i] = (uint8_t)(F16_BITS[i] & 0xff);
        f16raw[2 * i + 1] = (uint8_t)(F16_BITS[i] >> 8);
    }
    ob_init_raw(b, "w_f16_raw", OB_F16, 2, dims, f16raw, sizeof f16raw);
    ob_init_f16_i32(b, "w_f16_int32", 2, dims, F16_BITS);
    const char *forms[4] = {"w_raw", "w_float_data", "w_f16_raw", "w_f16_int32"};
    char in[64], out[64];
    for (int k = 0; k < 4; k++) {
        snprintf(in, sizeof in, "x,%s", forms[k]);
        snprintf(out, sizeof out, "y%d", k);
        ob_node(b, "Add", forms[k], in, out);
        ob_output(b, out, OB_F32, NULL);
    }
    /* int64 as raw_data and as int64_data */
    const int64_t ivals[5] = {0, -1, INT64_MAX, INT64_MIN, (int64_t)1 << 40};
    ob_init_raw(b, "i_raw", OB_I64, 1, (int64_t[]){5}, ivals, sizeof ivals);
    ob_init_i64(b, "i_int64_data", 1, (int64_t[]){5}, ivals);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_OK(rc, m);
    float zero[8]; /* -0 + v == v for every v, -0 included */
    for (int i = 0; i < 8; i++) zero[i] = -0.0f;
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 8}, .data = zero};
    rc = gcam_model_run(m, NULL, &x, 1);
    CHECK_OK(rc, m);
    for (int k = 0; k < 4; k++) {
        gcam_array a;
        snprintf(out, sizeof out, "y%d", k);
        CHECK(gcam_model_tensor(m, out, &a) == GCAM_OK);
        CHECK(a.dtype == GCAM_FLOAT32 && a.ndim == 2 && a.dims[1] == 8);
        const float *v = a.data;
        for (int i = 0; i < 8; i++)
            CHECK_MSG(v[i] == F16_VALS[i] && !!signbit(v[i]) == !!signbit(F16_VALS[i]),
                      "%s[%d] = %.9g, want %.9g", forms[k], i, v[i], F16_VALS[i]);
        /* the initializer itself is readable too, converted to float32 */
        CHECK(gcam_model_tensor(m, forms[k], &a) == GCAM_OK);
        CHECK(a.dtype == GCAM_FLOAT32);
        CHECK(memcmp(a.data, F16_VALS, sizeof F16_VALS) == 0);
    }
    const char *iforms[2] = {"i_raw", "i_int64_data"};
    for (int k = 0; k < 2; k++) {
        gcam_array a;
        CHECK(gcam_model_tensor(m, iforms[k], &a) == GCAM_OK);
        CHECK(a.dtype == GCAM_INT64 && a.ndim == 1 && a.dims[0] == 5);
        CHECK_MSG(memcmp(a.data, ivals, sizeof ivals) == 0, "%s differs", iforms[k]);
    }
    gcam_model_free(m);
}

GCAM_TEST(loader_f16_all_bit_patterns)
{
    /* every finite half converts exactly (float32 holds them all): compare
     * with the value computed from the definition */
    uint16_t *bits = malloc(sizeof(uint16_t) * 65536);
    CHECK(bits);
    int n = 0;
    for (uint32_t h = 0; h < 65536; h++)
        if (((h >> 10) & 0x1f) != 0x1f) bits[n++] = (uint16_t)h;
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1");
    ob_init_f16_i32(b, "halves", 1, (int64_t[]){n}, bits);
    ob_node(b, "Identity", "id", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    if (rc) free(bits);
    CHECK_OK(rc, m);
    gcam_array a;
    CHECK(gcam_model_tensor(m, "halves", &a) == GCAM_OK);
    const float *v = a.data;
    int bad = -1;
    for (int i = 0; i < n && bad < 0; i++) {
        uint16_t h = bits[i];
        int e = (h >> 10) & 0x1f, man = h & 0x3ff;
        double want = e ? ldexp(1.0 + man / 1024.0, e - 15) : ldexp(man / 1024.0, -14);
        if (h & 0x8000) want = -want;
        if ((double)v[i] != want || !!signbit(v[i]) != !!(h & 0x8000)) bad = i;
    }
    free(bits);
    gcam_model_free(m);
    CHECK_MSG(bad < 0, "half %d converted wrongly", bad);
}

/* ---- external data --------------------------------------------------------------- */

GCAM_TEST(loader_external_data)
{
    char *dir = ob_tmpdir();
    CHECK(dir);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/weights", dir);
    CHECK(mkdir(sub, 0755) == 0);
    /* w0: whole file; w1: 4 floats at offset 64 of a shared file, with length */
    float w0[4] = {0.5f, -1.5f, 2.25f, 1e-3f};
    float blob[32];
    for (int i = 0; i < 32; i++) blob[i] = (float)(100 + i);
    CHECK(ob_write(dir, "w0.bin", w0, sizeof w0) == 0);
    CHECK(ob_write(sub, "blob.bin", blob, sizeof blob) == 0);
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_init_external(b, "w0", OB_F32, 2, (int64_t[]){1, 4}, "w0.bin", -1, -1);
    ob_init_external(b, "w1", OB_F32, 2, (int64_t[]){1, 4}, "weights/blob.bin", 64, 16);
    ob_node(b, "Add", "add0", "x,w0", "t");
    ob_node(b, "Add", "add1", "t,w1", "y");
    ob_output(b, "y", OB_F32, NULL);
    size_t len;
    uint8_t *buf = ob_pack(b, &len);
    ob_free(b);
    int w = ob_write(dir, "model.onnx", buf, len);
    free(buf);
    CHECK(w == 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    gcam_model *m = NULL;
    int rc = gcam_model_load(path, &m);
    ob_rmtree(dir); /* the data is read at load: the files can go */
    free(dir);
    CHECK_OK(rc, m);
    float x[4] = {1, 2, 3, 4};
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 4}, .data = x};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_OK(rc, m);
    gcam_array y;
    CHECK(gcam_model_tensor(m, "y", &y) == GCAM_OK);
    const float *v = y.data;
    for (int i = 0; i < 4; i++) CHECK_NEAR(v[i], x[i] + w0[i] + blob[16 + i], 1e-6);
    gcam_model_free(m);
}

/* ---- symbolic batch ------------------------------------------------------------- */

GCAM_TEST(loader_symbolic_batch_replans)
{
    /* y = relu(x @ W + b), x [N, 4] */
    float W[12], bias[3] = {0.1f, -0.2f, 0.3f};
    for (int i = 0; i < 12; i++) W[i] = (float)((i * 7) % 5) - 2.0f;
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "N,4");
    ob_init_f32(b, "W", 2, (int64_t[]){4, 3}, W);
    ob_init_f32(b, "bias", 1, (int64_t[]){3}, bias);
    ob_node(b, "MatMul", "mm", "x,W", "xw");
    ob_node(b, "Add", "add", "xw,bias", "pre");
    ob_node(b, "Relu", "relu", "pre", "y");
    ob_output(b, "y", OB_F32, "N,3");
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_OK(rc, m);
    int64_t decl[GCAM_MAX_NDIM];
    CHECK(gcam_model_input_shape(m, 0, decl) == 2);
    CHECK(decl[0] == -1 && decl[1] == 4);

    float rows[3][4] = {{1, -2, 3, 0.5f}, {-1, 4, 0, 2}, {0.25f, 0.5f, -3, 1}};
    float single[3][3];
    for (int r = 0; r < 3; r++) {
        gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 4}, .data = rows[r]};
        rc = gcam_model_run(m, NULL, &a, 1);
        CHECK_OK(rc, m);
        gcam_array y;
        CHECK(gcam_model_tensor(m, "y", &y) == GCAM_OK);
        CHECK(y.ndim == 2 && y.dims[0] == 1 && y.dims[1] == 3);
        memcpy(single[r], y.data, sizeof single[r]);
        for (int j = 0; j < 3; j++) { /* against the definition */
            double s = bias[j];
            for (int k = 0; k < 4; k++) s += rows[r][k] * W[k * 3 + j];
            CHECK_NEAR(single[r][j], s > 0 ? s : 0, 1e-5);
        }
    }
    unsigned plan1 = m->g->plan_id;
    /* batch 3 in a different order: re-plans, per-item identical */
    float batch[3][4];
    int perm[3] = {2, 0, 1};
    for (int i = 0; i < 3; i++) memcpy(batch[i], rows[perm[i]], sizeof batch[i]);
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {3, 4}, .data = batch};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_OK(rc, m);
    CHECK(m->g->plan_id != plan1);
    gcam_array y;
    CHECK(gcam_model_tensor(m, "y", &y) == GCAM_OK);
    CHECK(y.ndim == 2 && y.dims[0] == 3 && y.dims[1] == 3);
    for (int i = 0; i < 3; i++)
        CHECK_MSG(memcmp((float *)y.data + 3 * i, single[perm[i]], sizeof single[0]) == 0, "batch item %d differs", i);
    /* the same batch again does not re-plan; back to batch 1 does */
    unsigned plan3 = m->g->plan_id;
    CHECK_OK(gcam_model_run(m, NULL, &a, 1), m);
    CHECK(m->g->plan_id == plan3);
    a = (gcam_array){.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 4}, .data = rows[1]};
    CHECK_OK(gcam_model_run(m, NULL, &a, 1), m);
    CHECK(gcam_model_tensor(m, "y", &y) == GCAM_OK);
    CHECK(y.dims[0] == 1 && memcmp(y.data, single[1], sizeof single[1]) == 0);
    gcam_model_free(m);
}

/* ---- opset-dependent form -------------------------------------------------------- */

static int reducemean_model(int opset, gcam_model **m)
{
    ob *b = ob_new(opset);
    ob_input(b, "x", OB_F32, "2,3,4");
    Onnx__NodeProto *n;
    if (opset >= 18) {
        ob_init_i64(b, "axes", 1, (int64_t[]){2}, (int64_t[]){1, -1});
        n = ob_node(b, "ReduceMean", "rm", "x,axes", "y");
    } else {
        n = ob_node(b, "ReduceMean", "rm", "x", "y");
        ob_attr_ints(b, n, "axes", 2, (int64_t[]){1, -1});
    }
    ob_attr_int(b, n, "keepdims", 0);
    ob_output(b, "y", OB_F32, NULL);
    int rc = load_ob(b, m);
    ob_free(b);
    return rc;
}

GCAM_TEST(loader_reducemean_axes_attr_vs_input)
{
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)((i * 5) % 11) - 4.5f;
    float got[2][2];
    int opsets[2] = {13, 18};
    for (int k = 0; k < 2; k++) {
        gcam_model *m = NULL;
        int rc = reducemean_model(opsets[k], &m);
        if (rc == GCAM_E_UNSUPPORTED) {
            char why[600];
            snprintf(why, sizeof why, "ReduceMean not available: %s", gcam_model_errmsg(m));
            gcam_model_free(m);
            GCAM_SKIP(why);
        }
        CHECK_OK(rc, m);
        gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 3, .dims = {2, 3, 4}, .data = x};
        rc = gcam_model_run(m, NULL, &a, 1);
        CHECK_OK(rc, m);
        gcam_array y;
        CHECK(gcam_model_tensor(m, "y", &y) == GCAM_OK);
        CHECK_MSG(y.ndim == 1 && y.dims[0] == 2, "opset %d: ndim %d dims[0] %lld", opsets[k], y.ndim, (long long)y.dims[0]);
        memcpy(got[k], y.data, sizeof got[k]);
        gcam_model_free(m);
    }
    for (int i = 0; i < 2; i++) {
        double s = 0;
        for (int j = 0; j < 12; j++) s += x[i * 12 + j];
        CHECK_NEAR(got[0][i], s / 12, 1e-5);
        CHECK(got[0][i] == got[1][i]);
    }
}

/* ---- constant folding ------------------------------------------------------------- */

GCAM_TEST(loader_fold_pytorch_flatten_chain)
{
    /* torch.flatten(x, 1) as exported by older PyTorch:
     *   s = Shape(x); n = Gather(s, 0); n1 = Unsqueeze(n, [0]);
     *   shape = Concat(n1, [-1]); y = Reshape(x, shape); logits = Gemm(y, W, b) */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "batch,2,3,2");
    ob_init_i64(b, "zero", 0, NULL, (int64_t[]){0});
    ob_init_i64(b, "axes0", 1, (int64_t[]){1}, (int64_t[]){0});
    ob_init_i64(b, "minus1", 1, (int64_t[]){1}, (int64_t[]){-1});
    float W[2 * 12], bias[2] = {0.5f, -0.5f};
    for (int i = 0; i < 24; i++) W[i] = (float)(i % 5) * 0.25f - 0.5f;
    ob_init_f32(b, "W", 2, (int64_t[]){2, 12}, W);
    ob_init_f32(b, "b", 1, (int64_t[]){2}, bias);
    ob_node(b, "Shape", "shape", "x", "s");
    Onnx__NodeProto *g = ob_node(b, "Gather", "gather", "s,zero", "n");
    ob_attr_int(b, g, "axis", 0);
    ob_node(b, "Unsqueeze", "unsqueeze", "n,axes0", "n1");
    Onnx__NodeProto *c = ob_node(b, "Concat", "concat", "n1,minus1", "newshape");
    ob_attr_int(b, c, "axis", 0);
    ob_node(b, "Reshape", "reshape", "x,newshape", "flat");
    Onnx__NodeProto *gm = ob_node(b, "Gemm", "fc", "flat,W,b", "logits");
    ob_attr_int(b, gm, "transB", 1);
    ob_output(b, "logits", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_OK(rc, m);
    CHECK_OK(gcam_model_keep(m, "flat"), m);
    for (int64_t N = 1; N <= 3; N += 2) {
        float x[3 * 12];
        for (int i = 0; i < 36; i++) x[i] = (float)((i * 13) % 7) - 3.0f;
        gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {N, 2, 3, 2}, .data = x};
        rc = gcam_model_run(m, NULL, &a, 1);
        CHECK_OK(rc, m);
        /* Shape, Gather, Unsqueeze, Concat folded away: only Reshape and Gemm run */
        CHECK_MSG(m->g->n_run == 2, "N=%lld: %d nodes run, want 2", (long long)N, m->g->n_run);
        gcam_array f, y;
        CHECK(gcam_model_tensor(m, "flat", &f) == GCAM_OK);
        CHECK(f.ndim == 2 && f.dims[0] == N && f.dims[1] == 12);
        CHECK(memcmp(f.data, x, sizeof(float) * 12 * (size_t)N) == 0);
        CHECK(gcam_model_tensor(m, "newshape", &f) == GCAM_OK);
        CHECK(f.dtype == GCAM_INT64 && f.ndim == 1 && f.dims[0] == 2);
        CHECK(((int64_t *)f.data)[0] == N && ((int64_t *)f.data)[1] == -1);
        CHECK(gcam_model_tensor(m, "logits", &y) == GCAM_OK);
        CHECK(y.ndim == 2 && y.dims[0] == N && y.dims[1] == 2);
        for (int64_t i = 0; i < N; i++)
            for (int j = 0; j < 2; j++) {
                double s = bias[j];
                for (int k = 0; k < 12; k++) s += x[i * 12 + k] * W[j * 12 + k];
                CHECK_NEAR(((float *)y.data)[i * 2 + j], s, 1e-5);
            }
    }
    gcam_model_free(m);
}

GCAM_TEST(loader_metadata_and_names)
{
    ob *b = ob_new(13);
    ob_input(b, "image", OB_F32, "1,3,4,4");
    ob_node(b, "Relu", NULL, "image", "act"); /* unnamed node: gets "#0" */
    ob_output(b, "act", OB_F32, NULL);
    b->model.metadata_props = ob_alloc(b, sizeof(void *) * 2);
    Onnx__StringStringEntryProto *e = ob_alloc(b, sizeof *e);
    *e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    e->key = ob_str(b, "gradcam.labels");
    e->value = ob_str(b, "cat\ndog");
    b->model.metadata_props[b->model.n_metadata_props++] = e;
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_OK(rc, m);
    CHECK(gcam_model_num_inputs(m) == 1 && gcam_model_num_outputs(m) == 1);
    CHECK(!strcmp(gcam_model_input_name(m, 0), "image"));
    CHECK(!strcmp(gcam_model_output_name(m, 0), "act"));
    CHECK(gcam_model_input_name(m, 1) == NULL);
    CHECK(!strcmp(gcam_model_metadata(m, "gradcam.labels"), "cat\ndog"));
    CHECK(gcam_model_metadata(m, "nope") == NULL);
    const gcam_layer *L;
    int n;
    CHECK_OK(gcam_model_layers(m, &L, &n), m);
    /* the output itself: the one map there is */
    CHECK(n == 1 && L[0].is_auto && !strcmp(L[0].node, "#0") && !strcmp(L[0].op_type, "Relu"));
    CHECK(L[0].layout == GCAM_LAYER_NCHW && L[0].grid_h == 4 && L[0].grid_w == 4 && L[0].channels == 3);
    gcam_model_free(m);
}
