/* test_main.c - runner for the self-registering tests in test.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define MAX_TESTS 4096
static struct {
    const char *name;
    gcam_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int cur_failed, cur_skipped;
static char skip_reason[512];

void gcam_test_register(const char *name, gcam_test_fn fn)
{
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void gcam_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cur_failed = 1;
}

void gcam_test_skip(const char *reason)
{
    cur_skipped = 1;
    snprintf(skip_reason, sizeof skip_reason, "%s", reason);
}

int gcam_test_failed(void) { return cur_failed; }

static int cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    /* sort by name for a stable order */
    const char *names[MAX_TESTS];
    for (int i = 0; i < n_tests; i++) names[i] = tests[i].name;
    qsort(names, (size_t)n_tests, sizeof names[0], cmp);
    for (int k = 0; k < n_tests; k++) {
        int i = 0;
        while (tests[i].name != names[k]) i++;
        if (filter && !strstr(tests[i].name, filter)) continue;
        cur_failed = cur_skipped = 0;
        tests[i].fn();
        if (cur_failed) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else if (cur_skipped) {
            printf("SKIP %s: %s\n", tests[i].name, skip_reason);
            skipped++;
        } else {
            printf("ok   %s\n", tests[i].name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
