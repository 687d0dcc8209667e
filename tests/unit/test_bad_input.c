/* test_bad_input.c - the loader and gcam_model_run facing broken or hostile
 * models: every case must end in the right status with a one-line message
 * that names the bad thing, never a crash or a huge allocation.
 *
 * Models are built in C with the protobuf-c API (onnx_builder.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gcam.h"
#include "onnx_builder.h"
#include "test.h"

/* Loads a built model from memory; returns the status, *m always set. */
static int load_ob(ob *b, gcam_model **m)
{
    size_t len;
    uint8_t *buf = ob_pack(b, &len);
    int rc = gcam_model_load_buffer(buf, len, m);
    free(buf);
    return rc;
}

/* Writes the model to dir/model.onnx and loads it from there. */
static int load_ob_file(ob *b, const char *dir, gcam_model **m)
{
    size_t len;
    uint8_t *buf = ob_pack(b, &len);
    int w = ob_write(dir, "model.onnx", buf, len);
    free(buf);
    if (w) return -1000;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    return gcam_model_load(path, m);
}

#define HAS(m, s) (strstr(gcam_model_errmsg(m), (s)) != NULL)
#define CHECK_MSG_HAS(m, s) CHECK_MSG(HAS(m, s), "message '%s' lacks '%s'", gcam_model_errmsg(m), (s))
#define CHECK_RC(rc, want, m)                                                                        \
    CHECK_MSG((rc) == (want), "status %d (%s), want %d (%s); message: %s", (rc), gcam_status_str(rc), \
              (want), gcam_status_str(want), gcam_model_errmsg(m))

/* x[1,4] -> Relu -> Add(w) -> y, with a 64-float initializer so the graph is
 * most of the bytes. */
static ob *small_model(void)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,64");
    float w[64];
    for (int i = 0; i < 64; i++) w[i] = (float)i * 0.25f;
    ob_init_f32(b, "w", 2, (int64_t[]){1, 64}, w);
    ob_node(b, "Relu", "relu", "x", "r");
    ob_node(b, "Add", "add", "r,w", "y");
    ob_output(b, "y", OB_F32, "1,64");
    return b;
}

/* ---- parse errors ------------------------------------------------------------ */

GCAM_TEST(bad_input_truncated_model)
{
    ob *b = small_model();
    size_t len;
    uint8_t *buf = ob_pack(b, &len);
    ob_free(b);
    gcam_model *m = NULL;
    CHECK(gcam_model_load_buffer(buf, len, &m) == GCAM_OK);
    gcam_model_free(m);
    /* every cut must fail cleanly (a cut at a field boundary can be a valid
     * but different message: then some other status, never OK with a crash) */
    for (size_t cut = 0; cut < len; cut++) {
        m = NULL;
        int rc = gcam_model_load_buffer(buf, cut, &m);
        CHECK(m != NULL);
        if (rc != GCAM_OK) CHECK_MSG(gcam_model_errmsg(m)[0] != 0, "cut %zu: empty message", cut);
        gcam_model_free(m);
    }
    /* cuts inside the graph message or the last field: a protobuf parse error */
    size_t cuts[] = {len / 3, len / 2, 2 * len / 3, len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        m = NULL;
        int rc = gcam_model_load_buffer(buf, cuts[k], &m);
        CHECK_RC(rc, GCAM_E_PARSE, m);
        CHECK_MSG_HAS(m, "truncated");
        gcam_model_free(m);
    }
    /* nothing at all: a valid, empty ModelProto without a graph */
    m = NULL;
    CHECK_RC(gcam_model_load_buffer(buf, 0, &m), GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "no graph");
    gcam_model_free(m);
    /* the same through a file: the message starts with the path */
    char *dir = ob_tmpdir();
    CHECK(dir);
    CHECK(ob_write(dir, "cut.onnx", buf, len / 2) == 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/cut.onnx", dir);
    m = NULL;
    int rc = gcam_model_load(path, &m);
    ob_rmtree(dir);
    free(dir);
    free(buf);
    CHECK_RC(rc, GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "cut.onnx");
    CHECK_MSG_HAS(m, "truncated");
    gcam_model_free(m);
}

GCAM_TEST(bad_input_garbage_bytes)
{
    uint32_t s = 12345;
    for (int trial = 0; trial < 200; trial++) {
        size_t len = 1 + (size_t)(trial * 37 % 997);
        uint8_t *buf = malloc(len);
        CHECK(buf);
        for (size_t i = 0; i < len; i++) {
            s = s * 1664525u + 1013904223u;
            buf[i] = (uint8_t)(s >> 24);
        }
        gcam_model *m = NULL;
        int rc = gcam_model_load_buffer(buf, len, &m);
        free(buf);
        CHECK_MSG(rc != GCAM_OK, "trial %d: garbage loaded", trial);
        CHECK_MSG(rc == GCAM_E_PARSE || rc == GCAM_E_UNSUPPORTED || rc == GCAM_E_INVALID_MODEL ||
                      rc == GCAM_E_RANGE,
                  "trial %d: status %d (%s): %s", trial, rc, gcam_status_str(rc), gcam_model_errmsg(m));
        CHECK(gcam_model_errmsg(m)[0]);
        gcam_model_free(m);
    }
    const char *text[] = {"hello, world\n", "\x93NUMPY\x01\x00", "<?xml version=\"1.0\"?>", "\xff\xff\xff\xff\xff"};
    for (size_t k = 0; k < sizeof text / sizeof text[0]; k++) {
        gcam_model *m = NULL;
        int rc = gcam_model_load_buffer(text[k], strlen(text[k]), &m);
        CHECK_RC(rc, GCAM_E_PARSE, m);
        gcam_model_free(m);
    }
    /* a file of garbage and a missing file: the message names the file */
    char *dir = ob_tmpdir();
    CHECK(dir);
    CHECK(ob_write(dir, "garbage.onnx", "\x0a\xff\xff\xff\xff\x0f junk", 12) == 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/garbage.onnx", dir);
    gcam_model *m = NULL;
    int rc = gcam_model_load(path, &m);
    CHECK_RC(rc, GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "garbage.onnx");
    gcam_model_free(m);
    snprintf(path, sizeof path, "%s/nonexistent.onnx", dir);
    m = NULL;
    rc = gcam_model_load(path, &m);
    CHECK_RC(rc, GCAM_E_IO, m);
    CHECK_MSG_HAS(m, "nonexistent.onnx");
    gcam_model_free(m);
    /* a folder is not a model */
    m = NULL;
    rc = gcam_model_load(dir, &m);
    CHECK_RC(rc, GCAM_E_IO, m);
    CHECK_MSG_HAS(m, "not a regular file");
    gcam_model_free(m);
    ob_rmtree(dir);
    free(dir);
    m = NULL;
    CHECK(gcam_model_load(NULL, &m) == GCAM_E_ARG);
    gcam_model_free(m);
    gcam_model_free(NULL); /* no-op */
}

/* ---- graph structure ---------------------------------------------------------- */

GCAM_TEST(bad_input_cycle)
{
    /* two Relus feeding each other */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Relu", "relu_a", "y2", "y1");
    ob_node(b, "Relu", "relu_b", "y1", "y2");
    ob_output(b, "y1", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_INVALID_MODEL, m);
    CHECK_MSG_HAS(m, "cycle");
    CHECK_MSG(HAS(m, "relu_a") || HAS(m, "relu_b"), "message '%s' names no node of the cycle", gcam_model_errmsg(m));
    gcam_model_free(m);

    /* a node downstream of the cycle is listed first: the message must still
     * name a node that is ON the cycle, not the downstream one */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Relu", "downstream", "c1", "out");
    ob_node(b, "Add", "cyc_add", "x,c2", "c1");
    ob_node(b, "Relu", "cyc_relu", "c1", "c2");
    ob_output(b, "out", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_INVALID_MODEL, m);
    CHECK_MSG(HAS(m, "cyc_add") || HAS(m, "cyc_relu"), "message '%s' names no node of the cycle", gcam_model_errmsg(m));
    CHECK_MSG(!HAS(m, "'downstream'"), "message '%s' blames a node that is not on the cycle", gcam_model_errmsg(m));
    gcam_model_free(m);

    /* a node that reads its own output */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Add", "self_loop", "x,s", "s");
    ob_output(b, "s", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_INVALID_MODEL, m);
    CHECK_MSG_HAS(m, "self_loop");
    gcam_model_free(m);
}

GCAM_TEST(bad_input_missing_initializer)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Add", "add_bias", "x,fc.bias", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_INVALID_MODEL, m);
    CHECK_MSG_HAS(m, "fc.bias");
    CHECK_MSG_HAS(m, "add_bias");
    gcam_model_free(m);

    /* a graph output nobody produces */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Relu", "r", "x", "y");
    ob_output(b, "logits", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_INVALID_MODEL, m);
    CHECK_MSG_HAS(m, "logits");
    gcam_model_free(m);

    /* a tensor produced twice */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Relu", "r1", "x", "y");
    ob_node(b, "Relu", "r2", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_INVALID_MODEL, m);
    CHECK_MSG_HAS(m, "'y'");
    CHECK_MSG_HAS(m, "produced twice");
    gcam_model_free(m);
}

GCAM_TEST(bad_input_missing_required_io)
{
    /* found by fuzz_loader: a Sigmoid without inputs reached its kernel with
     * the previous node's tensor */
    struct { const char *op, *name, *in, *out, *needle; } cases[] = {
        {"Sigmoid", "no_input", "", "y", "input 1 of 1"},
        {"Gather", "one_input", "x", "y", "input 2 of 2"},
        {"Add", "empty_second", "x,", "y", "input 2 of 2"},
        {"Relu", "empty_first", ",x", "y", "input 1 of 1"},
        {"BatchNormalization", "bn4", "x,x,x,x", "y", "input 5 of 5"},
        {"Relu", "no_output", "x", "", "no output"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ob *b = ob_new(13);
        ob_input(b, "x", OB_F32, "1,4");
        ob_node(b, "Relu", "first", "x", "r");
        ob_node(b, cases[k].op, cases[k].name, cases[k].in, cases[k].out);
        ob_output(b, "r", OB_F32, NULL);
        gcam_model *m = NULL;
        int rc = load_ob(b, &m);
        ob_free(b);
        CHECK_RC(rc, GCAM_E_INVALID_MODEL, m);
        CHECK_MSG_HAS(m, cases[k].name);
        CHECK_MSG_HAS(m, cases[k].needle);
        gcam_model_free(m);
    }
}

GCAM_TEST(bad_input_unsupported_ops_listed)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4,8");
    ob_node(b, "Relu", "ok_relu", "x", "r");
    ob_node(b, "FooOp", "my_foo", "r", "f");
    ob_node(b, "ImageDecoder", "my_dec", "f", "h");
    float wz[4 * 16 * 8] = {0};
    ob_init_f32(b, "W", 3, (int64_t[]){1, 16, 8}, wz);
    ob_init_f32(b, "R", 3, (int64_t[]){1, 16, 4}, wz);
    ob_output(b, "h", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_UNSUPPORTED, m);
    CHECK_MSG_HAS(m, "2 unsupported nodes");
    CHECK_MSG_HAS(m, "'my_foo' (FooOp, opset 13)");
    CHECK_MSG_HAS(m, "'my_dec' (ImageDecoder, opset 13)");
    CHECK_MSG(!HAS(m, "ok_relu"), "a supported node is listed: %s", gcam_model_errmsg(m));
    gcam_model_free(m);

    /* a custom domain (with its own opset) and an opset beyond what we know */
    b = ob_new(13);
    ob_opset(b, "com.example", 2);
    ob_input(b, "x", OB_F32, "1,4");
    Onnx__NodeProto *n = ob_node(b, "Relu", "custom_relu", "x", "y");
    n->domain = ob_str(b, "com.example");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_UNSUPPORTED, m);
    CHECK_MSG_HAS(m, "'custom_relu' (com.example.Relu, opset 2)");
    gcam_model_free(m);

    b = ob_new(99);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Relu", "future_relu", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_UNSUPPORTED, m);
    CHECK_MSG_HAS(m, "'future_relu' (Relu, opset 99)");
    gcam_model_free(m);

    /* an opset that only looks like 13 in 32 bits */
    b = ob_new(((int64_t)1 << 32) + 13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "Relu", "wrapped_relu", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_UNSUPPORTED, m);
    CHECK_MSG_HAS(m, "'wrapped_relu' (Relu, opset");
    gcam_model_free(m);

    /* many unsupported nodes: the list stays one bounded line */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    char prev[32] = "x", name[32], out[32];
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof name, "unknown_node_number_%02d", i);
        snprintf(out, sizeof out, "t%d", i);
        ob_node(b, "NotAnOp", name, prev, out);
        memcpy(prev, out, sizeof prev);
    }
    ob_output(b, prev, OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_UNSUPPORTED, m);
    CHECK_MSG_HAS(m, "60 unsupported nodes");
    CHECK_MSG_HAS(m, "unknown_node_number_00");
    CHECK_MSG(!strchr(gcam_model_errmsg(m), '\n'), "multi-line message");
    gcam_model_free(m);
}

/* ---- run-time inputs ------------------------------------------------------------ */

GCAM_TEST(bad_input_run_wrong_shape_dtype)
{
    ob *b = ob_new(13);
    ob_input(b, "pixels", OB_F32, "1,4");
    ob_node(b, "Relu", "r", "pixels", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_OK, m);
    float x5[5] = {1, -2, 3, -4, 5};
    int64_t i4[4] = {1, 2, 3, 4};
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 5}, .data = x5};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_RC(rc, GCAM_E_SHAPE, m);
    CHECK_MSG_HAS(m, "'pixels'");
    CHECK_MSG_HAS(m, "(1,5)");
    CHECK_MSG_HAS(m, "(1,4)");
    /* wrong rank */
    a = (gcam_array){.dtype = GCAM_FLOAT32, .ndim = 1, .dims = {4}, .data = x5};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_RC(rc, GCAM_E_SHAPE, m);
    CHECK_MSG_HAS(m, "'pixels'");
    /* a rank beyond what gcam_array holds: rejected, nothing read past dims[] */
    a = (gcam_array){.dtype = GCAM_FLOAT32, .ndim = 1000, .dims = {1, 4}, .data = x5};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_RC(rc, GCAM_E_SHAPE, m);
    CHECK_MSG_HAS(m, "'pixels'");
    /* wrong dtype */
    a = (gcam_array){.dtype = GCAM_INT64, .ndim = 2, .dims = {1, 4}, .data = i4};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_RC(rc, GCAM_E_DTYPE, m);
    CHECK_MSG_HAS(m, "'pixels'");
    CHECK_MSG_HAS(m, "int64");
    CHECK_MSG_HAS(m, "float32");
    /* a name the model does not have, and the wrong count */
    a = (gcam_array){.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 4}, .data = x5};
    const char *names[1] = {"image"};
    rc = gcam_model_run(m, names, &a, 1);
    CHECK_RC(rc, GCAM_E_NOTFOUND, m);
    CHECK_MSG_HAS(m, "'image'");
    rc = gcam_model_run(m, NULL, &a, 2);
    CHECK_RC(rc, GCAM_E_ARG, m);
    /* missing data */
    a = (gcam_array){.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 4}, .data = NULL};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_RC(rc, GCAM_E_ARG, m);
    CHECK_MSG_HAS(m, "'pixels'");
    /* and the handle still works afterwards */
    a = (gcam_array){.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {1, 4}, .data = x5};
    CHECK_RC(gcam_model_run(m, NULL, &a, 1), GCAM_OK, m);
    gcam_array y;
    CHECK(gcam_model_tensor(m, "y", &y) == GCAM_OK);
    CHECK(y.ndim == 2 && y.dims[1] == 4);
    CHECK_NEAR(((float *)y.data)[0], 1, 0);
    CHECK_NEAR(((float *)y.data)[1], 0, 0);
    CHECK(gcam_model_tensor(m, "nope", &y) == GCAM_E_NOTFOUND);
    CHECK_MSG_HAS(m, "'nope'");
    gcam_model_free(m);
}

/* ---- external data -------------------------------------------------------------- */

/* x[1,4] + w (external, 4 floats at `loc`) -> y */
static ob *external_model(const char *loc, int64_t offset, int64_t length)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_init_external(b, "ext_w", OB_F32, 2, (int64_t[]){1, 4}, loc, offset, length);
    ob_node(b, "Add", "add", "x,ext_w", "y");
    ob_output(b, "y", OB_F32, NULL);
    return b;
}

GCAM_TEST(bad_input_external_data_paths)
{
    char *root = ob_tmpdir();
    CHECK(root);
    char dir[4096], outside[4096], link[4096], sub[4096];
    snprintf(dir, sizeof dir, "%s/model", root);
    snprintf(sub, sizeof sub, "%s/model/sub", root);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(sub, 0755) == 0);
    float w[4] = {1, 2, 3, 4};
    CHECK(ob_write(root, "secret.bin", w, sizeof w) == 0);
    CHECK(ob_write(dir, "short.bin", w, 10) == 0);
    snprintf(outside, sizeof outside, "%s/secret.bin", root);
    snprintf(link, sizeof link, "%s/link.bin", dir);
    CHECK(symlink(outside, link) == 0);
    snprintf(link, sizeof link, "%s/sub/uplink", dir);
    CHECK(symlink("..", link) == 0);

    struct { const char *loc; int want; const char *needle; } cases[] = {
        {"../secret.bin", GCAM_E_PATH, "../secret.bin"},
        {"/etc/passwd", GCAM_E_PATH, "/etc/passwd"},
        {"sub/../../secret.bin", GCAM_E_PATH, "sub/../../secret.bin"},
        {"link.bin", GCAM_E_PATH, "link.bin"},               /* symlink to a file outside */
        {"sub/uplink/../secret.bin", GCAM_E_PATH, "secret.bin"},
        {"short.bin", GCAM_E_PARSE, "truncated"},            /* 10 of 16 bytes */
        {"missing.bin", GCAM_E_IO, "missing.bin"},
        {"", GCAM_E_PARSE, "without location"},
        {".", GCAM_E_PATH, "'.'"},                           /* the folder itself */
        {"sub", GCAM_E_IO, "sub"},                           /* a folder, not a file */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ob *b = external_model(cases[k].loc, -1, -1);
        gcam_model *m = NULL;
        int rc = load_ob_file(b, dir, &m);
        ob_free(b);
        CHECK_MSG(rc == cases[k].want, "location '%s': status %d (%s), want %d; message: %s", cases[k].loc, rc,
                  gcam_status_str(rc), cases[k].want, gcam_model_errmsg(m));
        CHECK_MSG_HAS(m, cases[k].needle);
        CHECK_MSG_HAS(m, "ext_w");
        gcam_model_free(m);
    }
    /* offset past the end, and a length that disagrees with the dims */
    CHECK(ob_write(dir, "w.bin", w, sizeof w) == 0);
    ob *b = external_model("w.bin", 8, -1);
    gcam_model *m = NULL;
    int rc = load_ob_file(b, dir, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "truncated");
    gcam_model_free(m);
    b = external_model("w.bin", 0, 12);
    m = NULL;
    rc = load_ob_file(b, dir, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "length 12");
    gcam_model_free(m);
    b = external_model("w.bin", -4, -1);
    m = NULL;
    rc = load_ob_file(b, dir, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "offset");
    gcam_model_free(m);
    /* a FIFO in the folder must not block the loader */
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s/pipe.bin", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    b = external_model("pipe.bin", -1, -1);
    m = NULL;
    rc = load_ob_file(b, dir, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_IO, m);
    CHECK_MSG_HAS(m, "pipe.bin");
    gcam_model_free(m);
    /* from a buffer there is no folder: external data is refused */
    b = external_model("w.bin", -1, -1);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_PATH, m);
    CHECK_MSG_HAS(m, "ext_w");
    gcam_model_free(m);
    ob_rmtree(root);
    free(root);
}

/* ---- absurd dimensions --------------------------------------------------------- */

GCAM_TEST(bad_input_absurd_dims)
{
    /* dims whose product overflows int64 */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_add_init(b, ob_tensor(b, "huge_w", OB_F32, 3, (int64_t[]){(int64_t)1 << 32, (int64_t)1 << 32, 4}, NULL, 0));
    ob_node(b, "Add", "add", "x,huge_w", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_RANGE, m);
    CHECK_MSG_HAS(m, "huge_w");
    gcam_model_free(m);

    /* a negative dim */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_add_init(b, ob_tensor(b, "neg_w", OB_F32, 2, (int64_t[]){-1, 4}, NULL, 0));
    ob_node(b, "Add", "add", "x,neg_w", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_RANGE, m);
    CHECK_MSG_HAS(m, "neg_w");
    gcam_model_free(m);

    /* 2^40 elements declared, none stored: rejected before any allocation of
     * that size (an ASan build aborts on a multi-TB malloc) */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_add_init(b, ob_tensor(b, "big_w", OB_F32, 2, (int64_t[]){(int64_t)1 << 20, (int64_t)1 << 20}, NULL, 0));
    ob_node(b, "Add", "add", "x,big_w", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_MSG(rc == GCAM_E_PARSE || rc == GCAM_E_RANGE, "status %d: %s", rc, gcam_model_errmsg(m));
    CHECK_MSG_HAS(m, "big_w");
    gcam_model_free(m);

    /* the same, as float16 in int32_data and as int64 */
    int dts[] = {OB_F16, OB_I64, OB_F64, OB_I32};
    for (int k = 0; k < 4; k++) {
        b = ob_new(13);
        ob_input(b, "x", OB_F32, "1,4");
        ob_add_init(b, ob_tensor(b, "big_t", dts[k], 2, (int64_t[]){(int64_t)1 << 20, (int64_t)1 << 20}, NULL, 0));
        ob_node(b, "Identity", "id", "x", "y");
        ob_output(b, "y", OB_F32, NULL);
        m = NULL;
        rc = load_ob(b, &m);
        ob_free(b);
        CHECK_MSG(rc == GCAM_E_PARSE || rc == GCAM_E_RANGE, "dtype %d: status %d: %s", dts[k], rc, gcam_model_errmsg(m));
        CHECK_MSG_HAS(m, "big_t");
        gcam_model_free(m);
    }

    /* the same size in external data (a 16-byte file): no 4 TB buffer */
    char *dir = ob_tmpdir();
    CHECK(dir);
    float w[4] = {0};
    CHECK(ob_write(dir, "w.bin", w, sizeof w) == 0);
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_init_external(b, "big_ext", OB_F32, 2, (int64_t[]){(int64_t)1 << 20, (int64_t)1 << 20}, "w.bin", -1, -1);
    ob_node(b, "Identity", "id", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob_file(b, dir, &m);
    ob_free(b);
    ob_rmtree(dir);
    free(dir);
    CHECK_MSG(rc == GCAM_E_PARSE || rc == GCAM_E_RANGE, "status %d: %s", rc, gcam_model_errmsg(m));
    CHECK_MSG_HAS(m, "big_ext");
    gcam_model_free(m);

    /* a graph input declared with dim 2^40 */
    b = ob_new(13);
    ob_input(b, "wide_input", OB_F32, "1,1099511627776");
    ob_node(b, "Relu", "r", "wide_input", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_RANGE, m);
    CHECK_MSG_HAS(m, "wide_input");
    gcam_model_free(m);

    /* a negative declared dim */
    b = ob_new(13);
    ob_input(b, "neg_input", OB_F32, "1,-7");
    ob_node(b, "Relu", "r", "neg_input", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_RANGE, m);
    CHECK_MSG_HAS(m, "neg_input");
    gcam_model_free(m);

    /* dims each plausible, product absurd: caught when planning */
    b = ob_new(13);
    ob_input(b, "cube", OB_F32, "65536,65536,65536");
    ob_node(b, "Relu", "r", "cube", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_OK, m);
    const gcam_layer *L;
    int nl;
    rc = gcam_model_layers(m, &L, &nl);
    CHECK_RC(rc, GCAM_E_RANGE, m);
    CHECK_MSG_HAS(m, "cube");
    gcam_model_free(m);

    /* and a symbolic input bound to an absurd size at run time */
    b = ob_new(13);
    ob_input(b, "dyn", OB_F32, "N,4");
    ob_node(b, "Relu", "r", "dyn", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_OK, m);
    float dummy[4] = {0};
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {(int64_t)1 << 40, 4}, .data = dummy};
    rc = gcam_model_run(m, NULL, &a, 1);
    CHECK_RC(rc, GCAM_E_RANGE, m);
    CHECK_MSG_HAS(m, "dyn");
    gcam_model_free(m);
}

GCAM_TEST(bad_input_typed_field_count)
{
    /* float_data with fewer values than the dims say */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    Onnx__TensorProto *t = ob_init_f32(b, "short_w", 2, (int64_t[]){1, 4}, (float[]){1, 2, 3, 4});
    t->n_float_data = 3;
    ob_node(b, "Add", "add", "x,short_w", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "short_w");
    CHECK_MSG_HAS(m, "3 values");
    gcam_model_free(m);
    /* raw_data of the wrong size */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_init_raw(b, "raw_w", OB_F32, 2, (int64_t[]){1, 4}, (float[]){1, 2, 3}, 12);
    ob_node(b, "Add", "add", "x,raw_w", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_PARSE, m);
    CHECK_MSG_HAS(m, "raw_w");
    CHECK_MSG_HAS(m, "12 bytes");
    gcam_model_free(m);
    /* a data type we do not read (string = 8) */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_add_init(b, ob_tensor(b, "str_t", 8, 1, (int64_t[]){1}, NULL, 0));
    ob_node(b, "Identity", "id", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    m = NULL;
    rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_E_UNSUPPORTED, m);
    CHECK_MSG_HAS(m, "str_t");
    gcam_model_free(m);
}

/* x [1,1,4,4] -> Pad by p on every side -> GlobalAveragePool -> y */
static ob *pad_model(int64_t p)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,1,4,4");
    ob_init_i64(b, "pads", 1, (int64_t[]){8}, (int64_t[]){0, 0, p, p, 0, 0, p, p});
    ob_node(b, "Pad", "pad", "x,pads", "xp");
    ob_node(b, "GlobalAveragePool", "gap", "xp", "y");
    ob_output(b, "y", OB_F32, NULL);
    return b;
}

/* A plan above the memory limit fails with a message giving both sizes,
 * before allocating: by default (half the machine's memory) for a Pad
 * asking for 0.6x of the physical memory, which would otherwise be
 * allocated and then touched; with gcam_model_set_memory_limit for a small
 * one, which runs (and gives the right value) once the limit allows it. */
GCAM_TEST(bad_input_memory_limit)
{
    float xv[16];
    double sum = 0;
    for (int i = 0; i < 16; i++) sum += xv[i] = 0.5f + (float)i;
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 1, 4, 4}, .data = xv};

    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) {
        gcam_test_skip("physical memory size unknown: default limit case not run");
    } else {
        double side = sqrt(0.6 * (double)pages * (double)page / sizeof(float));
        ob *b = pad_model((int64_t)side / 2);
        gcam_model *m = NULL;
        int rc = load_ob(b, &m);
        ob_free(b);
        CHECK_RC(rc, GCAM_OK, m);
        rc = gcam_model_run(m, NULL, &x, 1);
        CHECK_RC(rc, GCAM_E_NOMEM, m);
        CHECK_MSG_HAS(m, "more than the limit");
        CHECK_MSG_HAS(m, "'xp'"); /* the largest tensor is named */
        gcam_model_free(m);
    }

    const int64_t p = 500, side = 4 + 2 * p; /* 4 MB of padded input */
    ob *b = pad_model(p);
    gcam_model *m = NULL;
    int rc = load_ob(b, &m);
    ob_free(b);
    CHECK_RC(rc, GCAM_OK, m);
    gcam_model_set_memory_limit(m, 1 << 20);
    rc = gcam_model_run(m, NULL, &x, 1);
    CHECK_RC(rc, GCAM_E_NOMEM, m);
    CHECK_MSG_HAS(m, "MB of activation memory");
    CHECK_MSG_HAS(m, "limit of 1.0 MB");
    gcam_model_set_memory_limit(m, 64 << 20);
    rc = gcam_model_run(m, NULL, &x, 1);
    CHECK_RC(rc, GCAM_OK, m);
    gcam_array y;
    CHECK_RC(gcam_model_tensor(m, "y", &y), GCAM_OK, m);
    CHECK(y.ndim == 4 && y.dims[2] == 1 && y.dims[3] == 1);
    CHECK_NEAR(((const float *)y.data)[0], sum / (double)(side * side), 1e-9);
    gcam_model_free(m);
}
