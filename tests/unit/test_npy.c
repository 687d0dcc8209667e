/* test_npy.c - .npy reader/writer: round trips, header versions, and the
 * rejections (with a message naming the dtype or the problem). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>

#include "gcam_internal.h"
#include "onnx_builder.h" /* ob_tmpdir, ob_write, ob_rmtree */
#include "test.h"
#include "util/npy.h"

/* Builds a .npy image: magic, version, header dict padded to 64, then data. */
static size_t make_npy(uint8_t *out, size_t cap, int major, const char *dict, const void *data, size_t bytes)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hlen = dl + 1;
    hlen += (64 - (pre + hlen) % 64) % 64;
    if (pre + hlen + bytes > cap) abort();
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    if (major == 1) {
        out[8] = (uint8_t)(hlen & 0xff);
        out[9] = (uint8_t)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++) out[8 + i] = (uint8_t)(hlen >> (8 * i));
    }
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', hlen - dl - 1);
    out[pre + hlen - 1] = '\n';
    if (bytes) memcpy(out + pre + hlen, data, bytes);
    return pre + hlen + bytes;
}

static int parse(const uint8_t *buf, size_t len, gcam_tensor *t, gcam_err *e)
{
    memset(e, 0, sizeof *e);
    return gcam_npy_parse(buf, len, t, "x.npy", e);
}

#define CHECK_ERR_HAS(e, s) CHECK_MSG(strstr((e).msg, (s)) != NULL, "message '%s' lacks '%s'", (e).msg, (s))

GCAM_TEST(npy_round_trip)
{
    char *dir = ob_tmpdir();
    CHECK(dir);
    struct { int dtype, ndim; int64_t dims[4]; } cases[] = {
        {GCAM_DT_F32, 0, {0}},          {GCAM_DT_F32, 1, {7}},          {GCAM_DT_F32, 4, {2, 3, 4, 5}},
        {GCAM_DT_I64, 0, {0}},          {GCAM_DT_I64, 1, {5}},          {GCAM_DT_I64, 4, {1, 2, 1, 3}},
        {GCAM_DT_F32, 1, {0}},          {GCAM_DT_F32, 2, {1000, 3}},
        {GCAM_DT_I32, 2, {3, 4}},       {GCAM_DT_U8, 3, {2, 2, 3}},     {GCAM_DT_BOOL, 1, {9}},
        {GCAM_DT_I8, 1, {5}},           {GCAM_DT_U16, 1, {4}},          {GCAM_DT_U64, 1, {2}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int64_t n = gcam_dims_numel_checked(cases[k].dims, cases[k].ndim);
        size_t es = gcam_dtype_size(cases[k].dtype);
        uint8_t *data = malloc((size_t)n * es + 1);
        CHECK(data);
        for (int64_t i = 0; i < n; i++) {
            if (cases[k].dtype == GCAM_DT_F32) ((float *)data)[i] = (float)i * 0.5f - 3.25f;
            else if (cases[k].dtype == GCAM_DT_I64) ((int64_t *)data)[i] = i * 1000000007LL - (i % 2 ? INT64_MAX / 3 : 0);
            else if (cases[k].dtype == GCAM_DT_BOOL) data[i] = (uint8_t)(i % 3 == 1);
            else for (size_t b = 0; b < es; b++) data[(size_t)i * es + b] = (uint8_t)(i * 37 + b * 101 + 7);
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/t%zu.npy", dir, k);
        gcam_err e = {0};
        int rc = gcam_npy_write(path, cases[k].dtype, cases[k].dims, cases[k].ndim, data, &e);
        CHECK_MSG(rc == GCAM_OK, "case %zu: write: %s", k, e.msg);
        gcam_tensor t;
        rc = gcam_npy_read(path, &t, &e);
        CHECK_MSG(rc == GCAM_OK, "case %zu: read: %s", k, e.msg);
        CHECK(t.dtype == cases[k].dtype && t.ndim == cases[k].ndim);
        for (int d = 0; d < t.ndim; d++) CHECK(t.dims[d] == cases[k].dims[d]);
        CHECK(t.flags & GCAM_TF_OWNED);
        CHECK_MSG(n == 0 || memcmp(t.data, data, (size_t)n * es) == 0, "case %zu: data differs", k);
        free(t.data);
        free(data);
        /* the header is what numpy writes: data 64-aligned, dict ends in '\n' */
        FILE *f = fopen(path, "rb");
        CHECK(f);
        uint8_t hdr[512];
        size_t got = fread(hdr, 1, sizeof hdr, f);
        fclose(f);
        CHECK(got >= 10 && hdr[6] == 1 && hdr[7] == 0);
        size_t hlen = hdr[8] | (size_t)hdr[9] << 8;
        CHECK((10 + hlen) % 64 == 0 && 10 + hlen <= got && hdr[10 + hlen - 1] == '\n');
        const char *want = cases[k].ndim == 0 ? "'shape': ()" : cases[k].ndim == 1 ? ",)" : NULL;
        if (want) CHECK_MSG(memmem(hdr, 10 + hlen, want, strlen(want)), "case %zu: header lacks %s", k, want);
    }
    gcam_err e = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/f64.npy", dir);
    double d1 = 1;
    CHECK(gcam_npy_write(path, GCAM_DT_F64, (int64_t[]){1}, 1, &d1, &e) == GCAM_E_DTYPE);
    CHECK_ERR_HAS(e, "float64");
    gcam_tensor t;
    snprintf(path, sizeof path, "%s/missing.npy", dir);
    CHECK(gcam_npy_read(path, &t, &e) == GCAM_E_IO);
    CHECK_ERR_HAS(e, "missing.npy");
    ob_rmtree(dir);
    free(dir);
}

GCAM_TEST(npy_versions_and_header_forms)
{
    uint8_t buf[1024];
    float v[6] = {1, 2, 3, 4, 5, 6};
    gcam_tensor t;
    gcam_err e;
    /* version 2.0 and 3.0: 4-byte header length */
    for (int major = 2; major <= 3; major++) {
        size_t len = make_npy(buf, sizeof buf, major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v);
        CHECK_MSG(parse(buf, len, &t, &e) == GCAM_OK, "version %d: %s", major, e.msg);
        CHECK(t.dtype == GCAM_DT_F32 && t.ndim == 2 && t.dims[0] == 2 && t.dims[1] == 3);
        CHECK(memcmp(t.data, v, sizeof v) == 0);
        free(t.data);
    }
    /* key order, double quotes, no trailing comma, scalar shape, int64 */
    size_t len = make_npy(buf, sizeof buf, 1, "{\"shape\": (6,), \"fortran_order\": False, \"descr\": \"<f4\"}", v, sizeof v);
    CHECK_MSG(parse(buf, len, &t, &e) == GCAM_OK, "%s", e.msg);
    CHECK(t.ndim == 1 && t.dims[0] == 6);
    free(t.data);
    int64_t i1 = -42;
    len = make_npy(buf, sizeof buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': ()}", &i1, 8);
    CHECK_MSG(parse(buf, len, &t, &e) == GCAM_OK, "%s", e.msg);
    CHECK(t.dtype == GCAM_DT_I64 && t.ndim == 0 && *(int64_t *)t.data == -42);
    free(t.data);
    /* trailing bytes after the data are ignored */
    len = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", v, sizeof v);
    CHECK_MSG(parse(buf, len, &t, &e) == GCAM_OK, "%s", e.msg);
    free(t.data);
}

GCAM_TEST(npy_rejections)
{
    uint8_t buf[1024];
    double dv[4] = {1, 2, 3, 4};
    gcam_tensor t;
    gcam_err e;
    struct { const char *dict; int want; const char *needle; } cases[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", GCAM_E_DTYPE, "'<f8' (float64)"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", GCAM_E_DTYPE, "'>f4' (big-endian float32)"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", GCAM_E_DTYPE, "'<f2' (float16)"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (4,), }", GCAM_E_DTYPE, "'<c8' (complex64)"},
        {"{'descr': '>i8', 'fortran_order': False, 'shape': (4,), }", GCAM_E_DTYPE, "'>i8'"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", GCAM_E_DTYPE, "dtype"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", GCAM_E_UNSUPPORTED, "Fortran"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", GCAM_E_PARSE, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, }", GCAM_E_PARSE, "header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [4], }", GCAM_E_PARSE, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", GCAM_E_PARSE, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }", GCAM_E_UNSUPPORTED, "dims"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", GCAM_E_RANGE, "dimension"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }", GCAM_E_RANGE, "overflow"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", GCAM_E_PARSE, "truncated data"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5), }", GCAM_E_PARSE, "truncated data"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len = make_npy(buf, sizeof buf, 1, cases[k].dict, dv, sizeof dv);
        int rc = parse(buf, len, &t, &e);
        if (rc == GCAM_OK) free(t.data);
        CHECK_MSG(rc == cases[k].want, "case %zu (%s): status %d, want %d: %s", k, cases[k].dict, rc, cases[k].want, e.msg);
        CHECK_ERR_HAS(e, cases[k].needle);
        CHECK_ERR_HAS(e, "x.npy");
        CHECK(t.data == NULL);
    }
    /* bad magic, unknown version, header length beyond the file, tiny files */
    size_t len = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", dv, 16);
    uint8_t bad[1024];
    memcpy(bad, buf, len);
    bad[1] = 'M';
    CHECK(parse(bad, len, &t, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "bad magic");
    memcpy(bad, buf, len);
    bad[6] = 9;
    CHECK(parse(bad, len, &t, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "version 9");
    memcpy(bad, buf, len);
    bad[8] = 0xff;
    bad[9] = 0x7f; /* 32767 bytes of header in a ~100-byte file */
    CHECK(parse(bad, len, &t, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "truncated .npy header");
    size_t len2 = make_npy(bad, sizeof bad, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", dv, 16);
    bad[11] = 0x80; /* version 2: a 2 GB header */
    CHECK(parse(bad, len2, &t, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, ".npy header of 2147483764 bytes (at most 1048576)");
    for (size_t cut = 0; cut < 12; cut++) {
        CHECK(parse(buf, cut, &t, &e) == GCAM_E_PARSE);
        CHECK(e.msg[0]);
    }
    /* every truncation of a valid file fails cleanly */
    for (size_t cut = 0; cut < len; cut++) {
        int rc = parse(buf, cut, &t, &e);
        CHECK_MSG(rc == GCAM_E_PARSE, "cut %zu: status %d: %s", cut, rc, e.msg);
    }
}

GCAM_TEST(npy_header_at_buffer_end)
{
    /* headers that end right at the end of the buffer, where a parser that
     * runs strtoll/strncmp on unterminated bytes would read past it: copied
     * into exact-size heap buffers so ASan sees any overread */
    const char *heads[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (12345",
        "{'descr': '<f4', 'shape': (1,), 'fortran_order': Tru",
        "{'descr': '<f4', 'shape': (1,), 'fortran_order': Fals",
        "{'descr': '<f4', 'shape': (1,), 'fortran_order': ",
        "{'fortran_order': False, 'shape': (1,), 'descr': '<f",
        "{'fortran_order': False, 'shape': (1,), 'descr': ",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (",
        "{'descr': '<f4', 'fortran_order': False, 'shape'",
    };
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++) {
        size_t hl = strlen(heads[k]);
        size_t len = 10 + hl;
        uint8_t *b = malloc(len);
        CHECK(b);
        memcpy(b, "\x93NUMPY\x01\x00", 8);
        b[8] = (uint8_t)(hl & 0xff);
        b[9] = (uint8_t)(hl >> 8);
        memcpy(b + 10, heads[k], hl);
        gcam_tensor t;
        gcam_err e;
        int rc = parse(b, len, &t, &e);
        free(b);
        if (rc == GCAM_OK) free(t.data);
        CHECK_MSG(rc == GCAM_E_PARSE, "case %zu: status %d: %s", k, rc, e.msg);
    }
}
