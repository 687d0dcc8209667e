/* The vectorisable expf and erff (kernels/vmath.h) and the SiLU pass
 * (kernels/silu.c) against libm in double, over a dense sweep: the bounds
 * their headers promise. */
#include <math.h>

#include "kernels/silu.h"
#include "kernels/vmath.h"
#include "test.h"

GCAM_TEST(vmath_expf_within_2_ulp)
{
    double worst = 0;
    float at = 0;
    for (float x = -87.0f; x < 88.0f; x += fabsf(x) < 1.0f ? 1.1e-5f : 7.3e-4f) {
        const double ref = exp((double)x), e = fabs((double)gcam_vexpf(x) - ref) / ref;
        if (e > worst) {
            worst = e;
            at = x;
        }
    }
    /* one ulp of a float is at most 2^-23 of it */
    CHECK_MSG(worst <= 2.0 * 0x1p-23, "relative error %.3g at x = %g", worst, at);
    CHECK(gcam_vexpf(-100.0f) == 0.0f);
    CHECK(gcam_vexpf(0.0f) == 1.0f);
}

GCAM_TEST(vmath_erff_matches_libm)
{
    double worst_abs = 0, worst_rel = 0;
    for (float x = -6.0f; x < 6.0f; x += 3.7e-6f) {
        const double ref = erf((double)x), e = fabs((double)gcam_verff(x) - ref);
        if (e > worst_abs) worst_abs = e;
        if (ref != 0 && e / fabs(ref) > worst_rel) worst_rel = e / fabs(ref);
    }
    CHECK_MSG(worst_abs <= 2.5e-7, "absolute error %.3g", worst_abs);
    CHECK_MSG(worst_rel <= 4e-7, "relative error %.3g", worst_rel);
    CHECK(gcam_verff(1e-30f) > 0.0f);   /* relative accuracy down to tiny x */
    CHECK(gcam_verff(-10.0f) == -1.0f); /* saturated */
}

/* The vectorised SiLU (kernels/silu.c) against x / (1 + e^-x) in double over
 * a dense sweep, both the 8-lane path and the scalar tail (n not a multiple
 * of 8), and the saturated ends. */
GCAM_TEST(silu_matches_double)
{
    enum { N = 1 << 16 };
    static float y[N + 3];
    double worst = 0, worst_abs = 0;
    float at = 0;
    for (float x0 = -100.0f; x0 < 100.0f; x0 += 1.7e-5f * N) {
        for (int i = 0; i < N + 3; i++) y[i] = x0 + 1.7e-5f * (float)i;
        gcam_silu_inplace(y, N + 3);
        for (int i = 0; i < N + 3; i++) {
            const double x = x0 + 1.7e-5f * (float)i, ref = x / (1.0 + exp(-x)), e = fabs(y[i] - ref);
            if (fabs(ref) > 1e-30 && e / fabs(ref) > worst) {
                worst = e / fabs(ref);
                at = (float)x;
            }
            if (fabs(ref) <= 1e-30 && e > worst_abs) worst_abs = e;
        }
    }
    CHECK_MSG(worst <= 4e-7, "relative error %.3g at x = %g", worst, at);
    CHECK_MSG(worst_abs <= 1e-30, "absolute error %.3g near 0", worst_abs);
    float s[9] = {-1000.0f, -88.5f, -20.0f, 0.0f, 1.0f, 20.0f, 88.5f, 1000.0f, 3.0f};
    gcam_silu_inplace(s, 9);
    CHECK(fabsf(s[0]) <= 1e-30f && fabsf(s[1]) <= 1e-30f);
    CHECK(s[3] == 0.0f);
    CHECK_MSG(fabsf(s[5] - 20.0f) <= 8e-6f && fabsf(s[6] - 88.5f) <= 4e-5f && fabsf(s[7] - 1000.0f) <= 4e-4f,
              "large x: %.9g %.9g %.9g", s[5], s[6], s[7]);
    CHECK(fabsf(s[4] - 0.7310585786f) <= 1e-7f);
}
