/* The vectorisable expf and erff (kernels/vmath.h) against libm in double,
 * over a dense sweep: the bounds their header promises. */
#include <math.h>

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
