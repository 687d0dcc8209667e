/* test.h - tiny self-registering test framework.
 *
 *   GCAM_TEST(conv_basic) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-5); }
 *   GCAM_SKIP("reason")   - marks the current test skipped (printed with reason)
 *
 * The runner (tests/common/test_main.c) runs all tests, or those whose name
 * contains argv[1], and ends with "N passed, N failed, N skipped". */
#ifndef GCAM_TEST_H
#define GCAM_TEST_H
#include <math.h>
#include <stdio.h>

typedef void (*gcam_test_fn)(void);
void gcam_test_register(const char *name, gcam_test_fn fn);
void gcam_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gcam_test_skip(const char *reason);
int gcam_test_failed(void); /* has the current test failed so far? */

#define GCAM_TEST(name)                                                          \
    static void gcam_test_##name(void);                                          \
    __attribute__((constructor)) static void gcam_test_reg_##name(void)          \
    {                                                                            \
        gcam_test_register(#name, gcam_test_##name);                             \
    }                                                                            \
    static void gcam_test_##name(void)

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            gcam_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);              \
            return;                                                              \
        }                                                                        \
    } while (0)

#define CHECK_MSG(cond, ...)                                                     \
    do {                                                                         \
        if (!(cond)) {                                                           \
            gcam_test_fail(__FILE__, __LINE__, __VA_ARGS__);                     \
            return;                                                              \
        }                                                                        \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double a_ = (a), b_ = (b);                                               \
        if (!(fabs(a_ - b_) <= (tol))) {                                         \
            gcam_test_fail(__FILE__, __LINE__, "%s = %.8g, %s = %.8g, tol %.3g", \
                           #a, a_, #b, b_, (double)(tol));                       \
            return;                                                              \
        }                                                                        \
    } while (0)

#define GCAM_SKIP(reason)                                                        \
    do {                                                                         \
        gcam_test_skip(reason);                                                  \
        return;                                                                  \
    } while (0)
#endif
