/* vmath_x86.h - e^x on 8 lanes with AVX2 + FMA: the exponential that the
 * hand-written kernels (vmath.c's erf, GELU and softmax, silu.c) share.
 * The same steps as gcam_vexpf (vmath.h), with fused multiply-adds: within
 * 2 ulp on [-87, 88] (tests/unit/test_vmath.c), 0 below -87.34, e^88 above
 * 88.  Include only where __x86_64__ and __GNUC__ hold. */
#ifndef GCAM_KERNELS_VMATH_X86_H
#define GCAM_KERNELS_VMATH_X86_H

#include <immintrin.h>

#define GCAM_AVX2_FMA __attribute__((target("avx2,fma")))

static inline GCAM_AVX2_FMA __m256 gcam_vexp8(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.3365478515625f);
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc); /* x - n ln 2, in two parts */
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    const __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), y); /* 0 below lo */
}

#endif
