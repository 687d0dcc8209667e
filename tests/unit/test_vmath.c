/* The vectorisable expf and erff (kernels/vmath.h) and the SiLU pass
 * (kernels/silu.c) against libm in double, over a dense sweep: the bounds
 * their headers promise. */
#include <math.h>
#include <string.h>

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

/* gcam_erf_f32 (vmath.c: 8 lanes with AVX2 + FMA, the scalar gcam_verff
 * elsewhere) against libm over the same sweep as gcam_verff, in arrays whose
 * lengths leave a tail of 1 to 7, and the saturated ends. */
GCAM_TEST(vmath_erf_array_matches_libm)
{
    enum { N = 4099 };
    static float x[N], y[N];
    double worst_abs = 0, worst_rel = 0;
    float at = 0;
    for (float x0 = -6.0f; x0 < 6.0f; x0 += 3.7e-6f * N) {
        for (int i = 0; i < N; i++) x[i] = x0 + 3.7e-6f * (float)i;
        const int n = N - (int)fabsf(x0 * 1000.0f) % 8; /* every tail length in turn */
        gcam_erf_f32(x, y, n);
        for (int i = 0; i < n; i++) {
            const double ref = erf((double)x[i]), e = fabs((double)y[i] - ref);
            if (e > worst_abs) worst_abs = e, at = x[i];
            if (ref != 0 && e / fabs(ref) > worst_rel) worst_rel = e / fabs(ref);
        }
    }
    CHECK_MSG(worst_abs <= 2.5e-7, "absolute error %.3g at x = %g", worst_abs, at);
    CHECK_MSG(worst_rel <= 4e-7, "relative error %.3g", worst_rel);
    float e[11] = {-10.0f, 10.0f, 1e-30f, -1e-30f, 0.0f, -0.5f, 0.5f, 0.4999f, -3.0f, 100.0f, -100.0f};
    gcam_erf_f32(e, e, 11);
    CHECK(e[0] == -1.0f && e[1] == 1.0f && e[9] == 1.0f && e[10] == -1.0f);
    CHECK(e[2] > 0.0f && e[3] < 0.0f && e[4] == 0.0f);
    CHECK(fabs(e[5] + 0.5204998778) <= 2.5e-7 && fabs(e[6] - 0.5204998778) <= 2.5e-7);
}

/* The fused GELU (x (erf(x / c) + 1)) h is its five steps, each element bit
 * for bit, at every position of an array (8-lane body and padded tail). */
GCAM_TEST(vmath_gelu_is_its_steps)
{
    enum { N = 1001 };
    static float x[N], y[N], t[N];
    for (int i = 0; i < N; i++) x[i] = -7.0f + 0.014f * (float)i;
    const float c = 1.41421353816986083984375f, h = 0.5f;
    gcam_gelu_f32(x, y, N, c, h);
    for (int i = 0; i < N; i++) t[i] = x[i] / c;
    gcam_erf_f32(t, t, N);
    int same = 1;
    for (int i = 0; i < N; i++) same &= memcmp(&y[i], &(float){(x[i] * (t[i] + 1.0f)) * h}, sizeof(float)) == 0;
    CHECK(same);
    double worst = 0;
    for (int i = 0; i < N; i++)
        worst = fmax(worst, fabs(y[i] - 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)))));
    CHECK_MSG(worst <= 2e-6, "off GELU in double by %.3g", worst);
}

/* gcam_softmax_f32 against softmax in double, lengths 1 to 70 (8-lane body
 * and scalar tail), rows with large offsets and -inf entries. */
GCAM_TEST(vmath_softmax_matches_double)
{
    float x[70], y[70];
    double worst = 0;
    for (int len = 1; len <= 70; len++)
        for (int k = 0; k < 3; k++) {
            for (int j = 0; j < len; j++) x[j] = (float)((j * 37 + k * 11) % 29) * 0.7f - 9.0f + (k == 1 ? 500.0f : 0.0f);
            if (k == 2 && len > 2) x[len / 2] = -INFINITY;
            gcam_softmax_f32(x, y, len);
            double m = -INFINITY, s = 0;
            for (int j = 0; j < len; j++) m = fmax(m, x[j]);
            for (int j = 0; j < len; j++) s += exp((double)x[j] - m);
            for (int j = 0; j < len; j++) {
                const double ref = exp((double)x[j] - m) / s;
                worst = fmax(worst, fabs(y[j] - ref) / (ref > 1e-30 ? ref : 1.0));
            }
            if (k == 2 && len > 2) CHECK(y[len / 2] == 0.0f);
        }
    CHECK_MSG(worst <= 2e-6, "relative error %.3g", worst); /* float sums of up to 70 terms */
}

/* gcam_layernorm_f32 (8 lanes with AVX2, float normalisation) against the
 * row normalised in double: lengths 1 to 40 and 768 (tails), with and
 * without scale and bias, a row far from zero (the mean subtracted first). */
GCAM_TEST(vmath_layernorm_matches_double)
{
    static float x[768], y[768], g[768], b[768];
    for (int j = 0; j < 768; j++) g[j] = 0.5f + (float)(j % 7) * 0.25f, b[j] = (float)(j % 5) * 0.1f - 0.2f;
    double worst = 0, worst_stat = 0;
    for (int n = 1; n <= 41; n++)
        for (int k = 0; k < 4; k++) {
            const int len = n == 41 ? 768 : n;
            for (int j = 0; j < len; j++) x[j] = (float)((j * 29 + k * 5) % 17) * 0.3f - 2.0f + (k == 3 ? 1000.0f : 0.0f);
            const float *sc = k & 1 ? g : NULL, *bi = k & 2 ? b : NULL;
            double mu, rstd, m = 0, v = 0;
            gcam_layernorm_f32(x, y, len, 1e-5f, sc, bi, &mu, &rstd);
            for (int j = 0; j < len; j++) m += x[j] / (double)len;
            for (int j = 0; j < len; j++) v += (x[j] - m) * (x[j] - m) / (double)len;
            const double r = 1.0 / sqrt(v + (double)1e-5f);
            worst_stat = fmax(worst_stat, fmax(fabs(mu - m) / fmax(fabs(m), 1.0), fabs(rstd - r) / r));
            for (int j = 0; j < len; j++) {
                const double ref = (x[j] - m) * r * (sc ? sc[j] : 1.0) + (bi ? bi[j] : 0.0);
                worst = fmax(worst, fabs(y[j] - ref));
            }
        }
    CHECK_MSG(worst_stat <= 1e-12, "statistics off by %.3g", worst_stat);
    CHECK_MSG(worst <= 2e-6, "off by %.3g", worst);
}
