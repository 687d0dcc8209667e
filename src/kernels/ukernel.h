/* ukernel.h - the 6x16 AVX2 + FMA register kernel that Winograd's products
 * (conv_wino.c) and the packed GEMM (pgemm.c) run:
 *   c[6][16] (+)= a[6][K] b[K][16]
 * a's rows lda apart, b packed 16 wide and 32-byte aligned, c's rows ldc
 * apart.  Twelve accumulators, two b vectors and a broadcast fill the 16
 * registers; from L1 and L2 it runs at 85-95% of a Zen core's FMA peak. */
#ifndef GCAM_KERNELS_UKERNEL_H
#define GCAM_KERNELS_UKERNEL_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

#define GCAM_UK_AVX2 1
#define GCAM_UK_TARGET __attribute__((target("avx2,fma")))
#define GCAM_UK_MR 6
#define GCAM_UK_NR 16

/* Where a packed matrix (rows x cols, cols padded to colsp, a multiple of
 * 16) keeps element (r, j): kcmax-row slices, each slice's 16-column panels
 * one after the other (kc x 16 each), so a slice is contiguous. */
static inline int64_t gcam_uk_index(int64_t rows, int64_t colsp, int64_t kcmax, int64_t r, int64_t j)
{
    const int64_t k0 = r / kcmax * kcmax, kc = rows - k0 < kcmax ? rows - k0 : kcmax;
    return k0 * colsp + (j / GCAM_UK_NR * kc + r - k0) * GCAM_UK_NR + j % GCAM_UK_NR;
}

/* c[6][16] (+)= a[6][K] b[K][16]: a rows lda apart, b packed 16 wide, c rows ldc apart */
static inline GCAM_UK_TARGET void gcam_uk_6x16(int64_t K, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                    int accumulate)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (accumulate) {
        c00 = _mm256_loadu_ps(c), c01 = _mm256_loadu_ps(c + 8);
        c10 = _mm256_loadu_ps(c + ldc), c11 = _mm256_loadu_ps(c + ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
#pragma GCC unroll 4
    for (int64_t i = 0; i < K; i++) {
        const __m256 b0 = _mm256_load_ps(b + i * GCAM_UK_NR), b1 = _mm256_load_ps(b + i * GCAM_UK_NR + 8);
        __m256 s = _mm256_broadcast_ss(a0 + i);
        c00 = _mm256_fmadd_ps(s, b0, c00), c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(a1 + i);
        c10 = _mm256_fmadd_ps(s, b0, c10), c11 = _mm256_fmadd_ps(s, b1, c11);
        s = _mm256_broadcast_ss(a2 + i);
        c20 = _mm256_fmadd_ps(s, b0, c20), c21 = _mm256_fmadd_ps(s, b1, c21);
        s = _mm256_broadcast_ss(a3 + i);
        c30 = _mm256_fmadd_ps(s, b0, c30), c31 = _mm256_fmadd_ps(s, b1, c31);
        s = _mm256_broadcast_ss(a4 + i);
        c40 = _mm256_fmadd_ps(s, b0, c40), c41 = _mm256_fmadd_ps(s, b1, c41);
        s = _mm256_broadcast_ss(a5 + i);
        c50 = _mm256_fmadd_ps(s, b0, c50), c51 = _mm256_fmadd_ps(s, b1, c51);
    }
    _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10), _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

#endif

#endif
