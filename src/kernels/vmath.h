/* vmath.h - expf and erff that a compiler can vectorise.
 *
 * libm's expf and erff are calls, so a loop over them runs one element at a
 * time: a ViT-B/16 forward spent 67 ms in Softmax and 34 ms in Erf that
 * way.  These are branch-free (selects only) and inline, so a loop calling
 * them in a function compiled for AVX2 or AVX-512 (target_clones) runs 8 or
 * 16 lanes wide.  Accuracy, checked against libm over a dense sweep in
 * tests/unit/test_vmath.c: gcam_vexpf within 2 ulp on [-87, 88] (0 below,
 * where expf is denormal or 0); gcam_verff within 2.5e-7 absolute (4 ulp of values near 1) and
 * 4e-7 relative.
 * The libm functions stay the reference (the ops' backward passes use them).
 *
 * Below them, the array functions (vmath.c) the ops call: 8 lanes of AVX2 +
 * FMA intrinsics where the CPU has them, these scalar formulas elsewhere. */
#ifndef GCAM_VMATH_H
#define GCAM_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* e^x: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 polynomial (Cephes'
 * expf coefficients), 2^n built in the exponent bits.  For the arguments
 * its callers pass (x <= 0 in Softmax and Erf); above 88 it returns e^88. */
static inline float gcam_vexpf(float x)
{
    const float hi = 88.0f, lo = -87.3365478515625f;
    const float xc = x > hi ? hi : x < lo ? lo : x;
    const float n = floorf(xc * 1.44269504088896341f + 0.5f);
    const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < lo ? 0.0f : p * scale;
}

/* erf(x): below |x| = 0.5 its odd Taylor series to x^15 (relative error
 * < 3e-9 there); above, 1 - erfc(|x|) with Numerical Recipes' erfcc
 * (fractional error < 1.2e-7), signed. */
static inline float gcam_verff(float x)
{
    const float a = fabsf(x), z = x * x;
    float s = -1.0f / 75600.0f; /* x^15 / (7! 15) */
    s = s * z + 1.0f / 9360.0f;
    s = s * z - 1.0f / 1320.0f;
    s = s * z + 1.0f / 216.0f;
    s = s * z - 1.0f / 42.0f;
    s = s * z + 1.0f / 10.0f;
    s = s * z - 1.0f / 3.0f;
    s = s * z + 1.0f;
    const float small = 1.12837916709551257f * x * s;
    const float t = 1.0f / (1.0f + 0.5f * a);
    float q = 0.17087277f;
    q = q * t - 0.82215223f;
    q = q * t + 1.48851587f;
    q = q * t - 1.13520398f;
    q = q * t + 0.27886807f;
    q = q * t - 0.18628806f;
    q = q * t + 0.09678418f;
    q = q * t + 0.37409196f;
    q = q * t + 1.00002368f;
    q = q * t - 1.26551223f;
    const float erfc = t * gcam_vexpf(q - z);
    const float big = 1.0f - erfc;
    return a < 0.5f ? small : x < 0.0f ? -big : big;
}

/* y = erf(x) over n floats (the Erf op) */
void gcam_erf_f32(const float *x, float *y, int64_t n);
/* y = (x (erf(x / c) + 1)) h over n floats: torch.onnx's GELU fused (the
 * Div's fused epilogue), bit for bit the five ops through gcam_erf_f32 */
void gcam_gelu_f32(const float *x, float *y, int64_t n, float c, float h);
/* One row of LayerNormalization: y = (x - mean) / sqrt(var + eps) * scale
 * + bias (scale, bias optional), the statistics summed in double and given
 * back; the 8-lane path normalises in float. */
void gcam_layernorm_f32(const float *x, float *y, int64_t n, float eps, const float *scale, const float *bias,
                        double *mu, double *rstd);
/* the statistics alone, in plain double loops: the backward's and the oracle */
void gcam_layernorm_stats_ref(const float *x, int64_t n, float eps, double *mu, double *rstd);
/* y = softmax(x) over one contiguous group of len floats */
void gcam_softmax_f32(const float *x, float *y, int64_t len);

#endif
