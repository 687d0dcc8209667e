/* test_hostile.c - regressions of issue 12 ("hostile inputs and I/O
 * faults") that the library itself answers: non-regular input files,
 * .npy headers larger than their files, outputs replaced only when whole,
 * shape arithmetic overflow on hostile models, names with terminal escapes
 * in messages, and images whose data cannot fill the size they claim. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "gcam.h"
#include "image/image.h"
#include "onnx_builder.h"
#include "test.h"
#include "util/fileio.h"
#include "util/npy.h"

static char tdir[64];

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    if (!tdir[0]) {
        snprintf(tdir, sizeof tdir, "/tmp/gcam_hostile_XXXXXX");
        if (!mkdtemp(tdir)) return NULL;
    }
    mkdir(tdir, 0700); /* again if a test removed it */
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", tdir, name);
    return b;
}

static int write_bytes(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(d, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

#define ERR_HAS(e, s) CHECK_MSG(strstr((e).msg, (s)) != NULL, "message '%s' lacks '%s'", (e).msg, (s))

/* ---- 1: one reader, regular files only ---- */

GCAM_TEST(hostile_fifo_and_devices_refused)
{
    const char *fifo = tpath("f.npy");
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    gcam_err e = {0};
    gcam_tensor t;
    /* a FIFO without a writer used to block the reader forever: run it in
     * a child with an alarm, so a regression fails instead of hanging */
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5);
        gcam_image img;
        int a = gcam_npy_read(fifo, &t, &e) == GCAM_E_IO && strstr(e.msg, "not a regular file (a pipe)");
        int b = gcam_image_load(fifo, 0, &img, &e) == GCAM_E_IO && strstr(e.msg, "not a regular file");
        _exit(a && b ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    unlink(fifo);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "FIFO read: %s", WIFSIGNALED(st) ? "hung (alarm)" : "wrong answer");
    CHECK(gcam_npy_read("/dev/zero", &t, &e) == GCAM_E_IO);
    ERR_HAS(e, "/dev/zero is not a regular file (a device)");
    unsigned char *buf;
    size_t len;
    CHECK(gcam_file_read(tdir, GCAM_FILE_MAX_TEXT, "labels file", &buf, &len, &e) == GCAM_E_IO);
    ERR_HAS(e, "is not a regular file (a folder)");
    /* the cap per kind: a text file over the cap is refused before reading */
    const char *big = tpath("big.txt");
    CHECK(write_bytes(big, "abcdef", 6) == 0);
    CHECK(gcam_file_read(big, 5, "labels file", &buf, &len, &e) == GCAM_E_RANGE);
    ERR_HAS(e, "is 6 bytes, more than the 5");
    CHECK(gcam_file_read(big, 6, "labels file", &buf, &len, &e) == GCAM_OK && len == 6 && !strcmp((char *)buf, "abcdef"));
    free(buf);
    unlink(big);
}

GCAM_TEST(hostile_npy_header_checked_before_allocating)
{
    /* a 100-byte file whose header claims 2^40 floats: refused by size,
     * never allocated (under ASan's allocator_may_return_null=0 an attempt
     * would abort) */
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }");
    while ((n + 10 + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    unsigned char file[256] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, 0};
    memcpy(file + 10, hdr, (size_t)n);
    const char *p = tpath("claims.npy");
    CHECK(write_bytes(p, file, 10 + (size_t)n + 16) == 0);
    gcam_tensor t;
    gcam_err e = {0};
    CHECK(gcam_npy_read(p, &t, &e) == GCAM_E_PARSE);
    ERR_HAS(e, "truncated data (16 bytes, need 4398046511104)");
    CHECK(t.data == NULL);
    unlink(p);
}

/* ---- 2: outputs replaced only when whole ---- */

/* In a child with a 1000-byte file-size limit (SIGXFSZ ignored, so writes
 * fail with EFBIG): writing a bigger .npy over an existing file must fail
 * and leave the old file as it was, with no temporary behind. */
GCAM_TEST(hostile_output_atomic_on_write_failure)
{
    const char *p = tpath("keep.npy");
    float small[4] = {1, 2, 3, 4};
    int64_t d1[1] = {4}, d2[1] = {4096};
    gcam_err e = {0};
    CHECK(gcam_npy_write(p, GCAM_DT_F32, d1, 1, small, &e) == GCAM_OK);
    struct stat before;
    CHECK(stat(p, &before) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1000, 1000};
        setrlimit(RLIMIT_FSIZE, &rl);
        float *big = calloc(4096, sizeof(float));
        gcam_err ce = {0};
        int rc = gcam_npy_write(p, GCAM_DT_F32, d2, 1, big, &ce);
        gcam_image img = {0};
        int rc2 = gcam_image_alloc(&img, 200, 200, 3, &ce);
        uint32_t r = 12345; /* noise: incompressible, well over the limit as a PNG */
        for (int i = 0; !rc2 && i < 200 * 200 * 3; i++) img.px[i] = (uint8_t)((r = r * 1664525u + 1013904223u) >> 24);
        const char *png = tpath("keep.npy"); /* an image over the .npy: also refused whole */
        int rc3 = rc2 ? -1 : gcam_image_save_png(png, &img, &ce);
        if (rc != GCAM_E_IO || rc3 != GCAM_E_IO) fprintf(stderr, "child: %d %d %s\n", rc, rc3, ce.msg);
        _exit(rc == GCAM_E_IO && rc3 == GCAM_E_IO ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the write did not fail with GCAM_E_IO");
    gcam_tensor t;
    CHECK(gcam_npy_read(p, &t, &e) == GCAM_OK);
    CHECK(t.ndim == 1 && t.dims[0] == 4 && ((float *)t.data)[3] == 4);
    free(t.data);
    /* nothing else in the folder: the temporaries were removed */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", tdir);
    CHECK_MSG(system(cmd) == 0, "a temporary file was left in %s", tdir);
    /* an output in a missing folder is refused by the check, before any work */
    CHECK(gcam_out_check("/nonexistent_dir/x.npy", &e) == GCAM_E_IO);
    ERR_HAS(e, "folder /nonexistent_dir");
    CHECK(gcam_out_check(tdir, &e) == GCAM_E_IO);
    ERR_HAS(e, "it is a folder");
    unlink(p);
}

/* ---- 5: shape arithmetic on hostile models ---- */

static int run_1x1x4x4(gcam_model *m)
{
    float x[16] = {0};
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 1, 4, 4}, .data = x};
    return gcam_model_run(m, NULL, &a, 1);
}

GCAM_TEST(hostile_maxpool_dilation_overflow)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,1,4,4");
    Onnx__NodeProto *n = ob_node(b, "MaxPool", "evil_pool", "x", "y");
    ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    ob_attr_ints(b, n, "dilations", 2, (int64_t[]){INT64_MAX, 1});
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = ob_load(b, &m);
    if (rc == GCAM_OK) rc = run_1x1x4x4(m);
    CHECK_MSG(rc == GCAM_E_INVALID_MODEL, "status %d: %s", rc, gcam_model_errmsg(m));
    CHECK(strstr(gcam_model_errmsg(m), "evil_pool") && strstr(gcam_model_errmsg(m), "dilations"));
    gcam_model_free(m);
    /* a huge stride and pads too */
    b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,1,4,4");
    n = ob_node(b, "AveragePool", "evil_avg", "x", "y");
    ob_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){0, 0, INT64_MAX, 0});
    ob_output(b, "y", OB_F32, NULL);
    rc = ob_load(b, &m);
    if (rc == GCAM_OK) rc = run_1x1x4x4(m);
    CHECK_MSG(rc == GCAM_E_INVALID_MODEL && strstr(gcam_model_errmsg(m), "evil_avg"), "status %d: %s", rc,
              gcam_model_errmsg(m));
    gcam_model_free(m);
}

/* Zero-sized inputs keep the element count at 0 while an axis is huge:
 * Concat's sum and Flatten's product of the dims overflow. */
GCAM_TEST(hostile_concat_flatten_overflow)
{
    ob *b = ob_new(13);
    ob_input(b, "a", OB_F32, "0,K"); /* declared dims are capped: the sizes come at run time */
    ob_input(b, "c", OB_F32, "0,K");
    Onnx__NodeProto *n = ob_node(b, "Concat", "evil_concat", "a,c", "y");
    ob_attr_int(b, n, "axis", 1);
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = ob_load(b, &m);
    gcam_array in[2] = {{.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {0, INT64_MAX / 2 + 1}},
                        {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {0, INT64_MAX / 2 + 1}}};
    if (rc == GCAM_OK) rc = gcam_model_run(m, NULL, in, 2);
    CHECK_MSG(rc == GCAM_E_SHAPE && strstr(gcam_model_errmsg(m), "evil_concat"), "status %d: %s", rc,
              gcam_model_errmsg(m));
    gcam_model_free(m);

    b = ob_new(13);
    ob_input(b, "a", OB_F32, "0,H,W");
    n = ob_node(b, "Flatten", "evil_flatten", "a", "y");
    ob_attr_int(b, n, "axis", 1);
    ob_output(b, "y", OB_F32, NULL);
    rc = ob_load(b, &m);
    gcam_array fa = {.dtype = GCAM_FLOAT32, .ndim = 3, .dims = {0, 1LL << 40, 1LL << 40}};
    if (rc == GCAM_OK) rc = gcam_model_run(m, NULL, &fa, 1);
    CHECK_MSG(rc == GCAM_E_SHAPE && strstr(gcam_model_errmsg(m), "evil_flatten"), "status %d: %s", rc,
              gcam_model_errmsg(m));
    gcam_model_free(m);
}

/* ---- 11: names from files escaped in every message ---- */

GCAM_TEST(hostile_names_escaped_in_messages)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_node(b, "NoSuchOp", "evil\x1b[31mRED\x1b[0m\x07\xff\xc3(", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m = NULL;
    int rc = ob_load(b, &m);
    CHECK(rc != GCAM_OK);
    const char *msg = gcam_model_errmsg(m);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        CHECK_MSG(*p >= 0x20 && *p != 0x7f && *p < 0x80, "raw byte 0x%02x in '%s'", *p, msg);
    CHECK_MSG(strstr(msg, "evil\\x1b[31mRED\\x1b[0m\\x07\\xff\\xc3("), "message: %s", msg);
    gcam_model_free(m);
    /* valid UTF-8 stays as it is; C1 controls and overlong forms do not */
    char out[64];
    CHECK(gcam_escape("caf\xc3\xa9 \xe2\x82\xac", out, sizeof out) == 9 && !strcmp(out, "caf\xc3\xa9 \xe2\x82\xac"));
    gcam_escape("\xc2\x9b" "1m \xc0\xaf \xed\xa0\x80", out, sizeof out);
    CHECK_MSG(!strcmp(out, "\\xc2\\x9b1m \\xc0\\xaf \\xed\\xa0\\x80"), "got %s", out);
    /* truncation never splits an escape */
    CHECK(gcam_escape("ab\x01", out, 6) == 6 && !strcmp(out, "ab"));
}

/* ---- 6: image data that cannot fill the claimed size ---- */

/* A PNG/JPEG of 16x16 whose header is patched to claim 16000x16000: refused
 * as truncated before the 768 MB of pixels are allocated (the child's
 * address space is capped at 1 GB above its use, so an attempt fails). */
GCAM_TEST(hostile_image_claims_huge_size)
{
    gcam_image img = {0};
    gcam_err e = {0};
    CHECK(gcam_image_alloc(&img, 16, 16, 3, &e) == GCAM_OK);
    for (int i = 0; i < 16 * 16 * 3; i++) img.px[i] = (uint8_t)(i * 31);
    const char *png = tpath("claim.png"), *jpg = tpath("claim.jpg");
    CHECK(gcam_image_save_png(png, &img, &e) == GCAM_OK && gcam_image_save_jpeg(jpg, &img, 90, &e) == GCAM_OK);
    gcam_image_free(&img);
    for (int k = 0; k < 2; k++) {
        unsigned char *d;
        size_t n;
        CHECK(gcam_file_read(k ? jpg : png, 1 << 20, "image", &d, &n, &e) == GCAM_OK);
        if (k == 0) { /* IHDR width and height, and its CRC */
            for (int i = 0; i < 8; i++) d[16 + i] = (uint8_t[]){0, 0, 0x3e, 0x80, 0, 0, 0x3e, 0x80}[i];
            uLong crc = crc32(0, d + 12, 17);
            for (int i = 0; i < 4; i++) d[29 + i] = (uint8_t)(crc >> (24 - 8 * i));
        } else { /* SOF0: FF C0 len(2) precision(1) height(2) width(2) */
            unsigned char *sof = memmem(d, n, "\xff\xc0", 2);
            CHECK(sof != NULL);
            sof[5] = sof[7] = 0x3e;
            sof[6] = sof[8] = 0x80;
        }
        int rc = gcam_image_decode_limited(d, n, k ? "claim.jpg" : "claim.png", 0, 0, &img, &e);
        free(d);
        CHECK_MSG(rc == GCAM_E_PARSE && strstr(e.msg, "cannot hold 16000x16000"), "%s: status %d: %s",
                  k ? "jpeg" : "png", rc, e.msg);
        CHECK(img.px == NULL);
    }
    /* the memory limit covers decoding: 16x16 needs ~1 KB */
    CHECK(gcam_image_load_limited(png, 0, 2000, &img, &e) == GCAM_OK);
    gcam_image_free(&img);
    CHECK(gcam_image_load_limited(jpg, 0, 512, &img, &e) == GCAM_E_NOMEM);
    ERR_HAS(e, "more than the memory limit");
    unlink(png);
    unlink(jpg);
    rmdir(tdir);
}
