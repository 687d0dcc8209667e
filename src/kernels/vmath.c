/* vmath.c - see vmath.h: the array functions.
 *
 * With AVX2 and FMA, 8 lanes of intrinsics: a compiler does not vectorise
 * the scalar formulas well here (target_clones("avx2") has no FMA, so each
 * Horner step is a multiply and an add in a dependent chain, and a float
 * sum does not vectorise at all without reassociation: Softmax's exponent
 * loop ran one lane at a time).  The last n % 8 elements go through the
 * same 8-lane code, loaded zero-padded by a mask, so every element of an array gets the
 * same bits wherever it sits: the fused GELU stays bit for bit the Div,
 * Erf, Add, Mul, Mul it replaces.  Elsewhere the scalar gcam_verff and
 * gcam_vexpf. */
#include "kernels/vmath.h"

#include "kernels/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include "kernels/vmath_x86.h"
#define VMATH_X86 1
#endif

#ifdef VMATH_X86
/* The lanes [0, m) of a tail of m < 8 elements: masked loads read 0 past
 * them, as a zero-padded copy would, and masked stores write none past. */
static inline GCAM_AVX2_FMA __m256i tail_mask(int64_t m)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)m), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* gcam_verff's steps with fused multiply-adds */
static inline GCAM_AVX2_FMA __m256 erf8(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 a = _mm256_andnot_ps(sign, x), z = _mm256_mul_ps(x, x);
    __m256 s = _mm256_set1_ps(-1.0f / 75600.0f);
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.0f / 9360.0f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-1.0f / 1320.0f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.0f / 216.0f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-1.0f / 42.0f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.0f / 10.0f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-1.0f / 3.0f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.0f));
    const __m256 small = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(1.12837916709551257f), x), s);
    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.5f), a, _mm256_set1_ps(1.0f)));
    __m256 q = _mm256_set1_ps(0.17087277f);
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-0.82215223f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(1.48851587f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.13520398f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(0.27886807f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-0.18628806f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(0.09678418f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(0.37409196f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(1.00002368f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.26551223f));
    const __m256 big = _mm256_fnmadd_ps(t, gcam_vexp8(_mm256_sub_ps(q, z)), _mm256_set1_ps(1.0f)); /* 1 - erfc */
    const __m256 signed_big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
    return _mm256_blendv_ps(signed_big, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
}

/* (x (erf(x / c) + 1)) h, the five ops of torch.onnx's GELU in their order */
static inline GCAM_AVX2_FMA __m256 gelu8(__m256 x, __m256 c, __m256 h)
{
    const __m256 e = _mm256_add_ps(erf8(_mm256_div_ps(x, c)), _mm256_set1_ps(1.0f));
    return _mm256_mul_ps(_mm256_mul_ps(x, e), h);
}

static GCAM_AVX2_FMA void erf_avx2(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, erf8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i k = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, k, erf8(_mm256_maskload_ps(x + i, k)));
    }
}

static GCAM_AVX2_FMA void gelu_avx2(const float *x, float *y, int64_t n, float c, float h)
{
    const __m256 vc = _mm256_set1_ps(c), vh = _mm256_set1_ps(h);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(x + i), vc, vh));
    if (i < n) {
        const __m256i k = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, k, gelu8(_mm256_maskload_ps(x + i, k), vc, vh));
    }
}

static GCAM_AVX2_FMA float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static GCAM_AVX2_FMA float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static GCAM_AVX2_FMA void softmax_avx2(const float *x, float *y, int64_t len)
{
    int64_t j = 0;
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; j + 8 <= len; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + j));
    float m = hmax8(vm);
    for (; j < len; j++) m = x[j] > m ? x[j] : m;
    const __m256 mm = _mm256_set1_ps(m);
    __m256 vs = _mm256_setzero_ps();
    for (j = 0; j + 8 <= len; j += 8) {
        const __m256 e = gcam_vexp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), mm));
        _mm256_storeu_ps(y + j, e);
        vs = _mm256_add_ps(vs, e);
    }
    float s = hsum8(vs);
    for (; j < len; j++) s += (y[j] = gcam_vexpf(x[j] - m));
    const float inv = 1.0f / s;
    const __m256 vinv = _mm256_set1_ps(inv);
    for (j = 0; j + 8 <= len; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), vinv));
    for (; j < len; j++) y[j] *= inv;
}

static GCAM_AVX2_FMA double hsum4d(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* the row's mean and 1 / sqrt(variance + eps), summed in double */
static GCAM_AVX2_FMA void row_stats_avx2(const float *x, int64_t n, float eps, double *mu, double *rstd)
{
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 v = _mm256_loadu_ps(x + j);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    double s = hsum4d(_mm256_add_pd(s0, s1));
    for (; j < n; j++) s += x[j];
    const double m = s / (double)n;
    const __m256d vm = _mm256_set1_pd(m);
    s0 = s1 = _mm256_setzero_pd();
    for (j = 0; j + 8 <= n; j += 8) {
        const __m256 v = _mm256_loadu_ps(x + j);
        const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vm);
        const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vm);
        s0 = _mm256_fmadd_pd(d0, d0, s0), s1 = _mm256_fmadd_pd(d1, d1, s1);
    }
    double s2 = hsum4d(_mm256_add_pd(s0, s1));
    for (; j < n; j++) s2 += (x[j] - m) * (x[j] - m);
    *mu = m;
    *rstd = 1.0 / sqrt(s2 / (double)n + eps);
}

static GCAM_AVX2_FMA void layernorm_avx2(const float *x, float *y, int64_t n, float eps, const float *scale,
                                         const float *bias, double *mu, double *rstd)
{
    row_stats_avx2(x, n, eps, mu, rstd);
    /* the mean as two floats: x - hi is exact near the mean, so a row far
     * from zero keeps its small deviations */
    const float m = (float)*mu, ml = (float)(*mu - (double)m), r = (float)*rstd;
    const __m256 vm = _mm256_set1_ps(m), vml = _mm256_set1_ps(ml), vr = _mm256_set1_ps(r), one = _mm256_set1_ps(1.0f);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm), vml), vr);
        const __m256 g = scale ? _mm256_loadu_ps(scale + j) : one;
        const __m256 b = bias ? _mm256_loadu_ps(bias + j) : _mm256_setzero_ps();
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(v, g, b));
    }
    for (; j < n; j++) y[j] = (x[j] - m - ml) * r * (scale ? scale[j] : 1.0f) + (bias ? bias[j] : 0.0f);
}
#endif

void gcam_erf_f32(const float *x, float *y, int64_t n)
{
#ifdef VMATH_X86
    if (gcam_cpu_avx2_fma()) {
        erf_avx2(x, y, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = gcam_verff(x[i]);
}

void gcam_gelu_f32(const float *x, float *y, int64_t n, float c, float h)
{
#ifdef VMATH_X86
    if (gcam_cpu_avx2_fma()) {
        gelu_avx2(x, y, n, c, h);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] * (gcam_verff(x[i] / c) + 1.0f)) * h;
}

void gcam_layernorm_stats_ref(const float *x, int64_t n, float eps, double *mu, double *rstd)
{
    double s = 0, s2 = 0;
    for (int64_t j = 0; j < n; j++) s += x[j];
    const double m = s / (double)n;
    for (int64_t j = 0; j < n; j++) s2 += (x[j] - m) * (x[j] - m);
    *mu = m;
    *rstd = 1.0 / sqrt(s2 / (double)n + eps);
}

void gcam_layernorm_f32(const float *x, float *y, int64_t n, float eps, const float *scale, const float *bias,
                        double *mu, double *rstd)
{
#ifdef VMATH_X86
    if (gcam_cpu_avx2_fma()) {
        layernorm_avx2(x, y, n, eps, scale, bias, mu, rstd);
        return;
    }
#endif
    gcam_layernorm_stats_ref(x, n, eps, mu, rstd);
    for (int64_t j = 0; j < n; j++) {
        const float v = (float)((x[j] - *mu) * *rstd);
        y[j] = v * (scale ? scale[j] : 1.0f) + (bias ? bias[j] : 0.0f);
    }
}

void gcam_softmax_f32(const float *x, float *y, int64_t len)
{
#ifdef VMATH_X86
    if (gcam_cpu_avx2_fma()) {
        softmax_avx2(x, y, len);
        return;
    }
#endif
    float m = -INFINITY, s = 0.0f;
    for (int64_t j = 0; j < len; j++) m = x[j] > m ? x[j] : m;
    for (int64_t j = 0; j < len; j++) s += (y[j] = gcam_vexpf(x[j] - m));
    const float inv = 1.0f / s;
    for (int64_t j = 0; j < len; j++) y[j] *= inv;
}
