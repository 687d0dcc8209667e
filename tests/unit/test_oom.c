/* test_oom.c - out of memory at every allocation of a model load and a
 * forward run: each run fails allocation number N (N = 0, 1, 2, ... until a
 * run completes without reaching it), in a fork()ed child, and must end in
 * a status (GCAM_E_NOMEM or another error), never a crash.
 *
 * Until the library takes a replaceable allocator, the test binary
 * interposes malloc/calloc/realloc/free over glibc's (__libc_*), with a
 * countdown that is off (-1) for every other test.  Sanitizer builds
 * provide their own malloc: there the test is skipped (with the reason). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gcam.h"
#include "onnx_builder.h"
#include "test.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GCAM_TEST_NO_INTERPOSE 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GCAM_TEST_NO_INTERPOSE 1
#endif

#ifndef GCAM_TEST_NO_INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static long oom_countdown = -1; /* allocations left before one fails; -1: never */

static int oom_now(void) { return oom_countdown >= 0 && oom_countdown-- == 0; }
void *malloc(size_t n) { return oom_now() ? NULL : __libc_malloc(n); }
void *calloc(size_t a, size_t b) { return oom_now() ? NULL : __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return oom_now() ? NULL : __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
#endif

/* A model that exercises most of the loader: named nodes and tensors,
 * attributes of the int, ints and float kinds, a symbolic dim; the ops are
 * ones of our own (oneDNN's kernels are C++ and abort when allocation
 * fails, which the library cannot catch). */
__attribute__((unused)) static uint8_t *oom_model(size_t *len)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "N,2,4");
    float w[8];
    for (int i = 0; i < 8; i++) w[i] = (float)i * 0.25f - 1.0f;
    ob_init_f32(b, "w", 3, (int64_t[]){1, 4, 2}, w);
    Onnx__NodeProto *n = ob_node(b, "Transpose", "transpose", "x", "t");
    ob_attr_ints(b, n, "perm", 3, (int64_t[]){0, 2, 1});
    ob_node(b, "Add", "add", "t,w", "s");
    n = ob_node(b, "LeakyRelu", "leaky", "s", "l");
    ob_attr_float(b, n, "alpha", 0.1f);
    n = ob_node(b, "Flatten", "flat", "l", "y");
    ob_attr_int(b, n, "axis", 1);
    ob_output(b, "y", OB_F32, NULL);
    uint8_t *buf = ob_pack(b, len);
    ob_free(b);
    return buf;
}

/* 0: finished without reaching the countdown; 1: failed cleanly (or a
 * failed allocation had a fallback); 2: wrong */
__attribute__((unused)) static int oom_child(const uint8_t *buf, size_t len)
{
    gcam_model *m = NULL;
    int rc = gcam_model_load_buffer(buf, len, &m);
    float x[8] = {1, -2, 3, -4, 5, -6, 7, -8};
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 3, .dims = {1, 2, 4}, .data = x}, y;
    if (rc == GCAM_OK) rc = gcam_model_run(m, NULL, &a, 1);
    if (rc == GCAM_OK && (gcam_model_tensor(m, "y", &y) || y.ndim != 2 || y.dims[1] != 8)) return 2;
    if (rc != GCAM_OK && m && !gcam_model_errmsg(m)[0] && rc != GCAM_E_NOMEM) return 2;
    gcam_model_free(m);
#ifndef GCAM_TEST_NO_INTERPOSE
    if (rc == GCAM_OK) return oom_countdown >= 0 ? 0 : 1;
#endif
    return 1;
}

GCAM_TEST(oom_every_allocation_of_load_and_run)
{
#ifdef GCAM_TEST_NO_INTERPOSE
    GCAM_SKIP("sanitizer build: malloc belongs to the sanitizer, no failure injection");
#else
    size_t len;
    uint8_t *buf = oom_model(&len);
    int done = 0, crashes = 0;
    long n;
    for (n = 0; n < 20000 && !done; n++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stderr)) _exit(2); /* libgomp reports its own OOM */
            oom_countdown = n;
            _exit(oom_child(buf, len));
        }
        int st = 0;
        if (waitpid(pid, &st, 0) != pid) break;
        if (WIFSIGNALED(st)) {
            if (crashes++ < 5)
                gcam_test_fail(__FILE__, __LINE__, "allocation %ld failing: killed by signal %d", n, WTERMSIG(st));
        } else if (WEXITSTATUS(st) == 2) {
            gcam_test_fail(__FILE__, __LINE__, "allocation %ld failing: wrong answer", n);
        } else if (WEXITSTATUS(st) == 0) {
            done = 1;
        }
    }
    free(buf);
    CHECK_MSG(done, "never finished in %ld runs", n);
    CHECK_MSG(crashes == 0, "%d of %ld allocation failures crashed", crashes, n);
#endif
}
