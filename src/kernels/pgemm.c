/* pgemm.c - see pgemm.h.
 *
 * B is packed once into KC-row slices of 16-column panels (ukernel.h,
 * gcam_uk_index).  The threads split B's panels (each reads only its share
 * of the weights, the larger operand of a transformer's x @ W) or, when A
 * has the more rows, A's 6-row panels; within a thread, for each KC slice,
 * each 16-column panel (KC x 16, in L1) meets every 6-row panel of a chunk
 * of A (ROWS_CHUNK rows x KC, in L2); C accumulates over the slices.  Rows
 * and columns past a 6 x 16 edge go through a zero-padded copy.
 *
 * oneDNN's sgemm packs B on every call: ViT-B/16's 197 x 768 x 3072 MLP
 * product took it 8.3-16 ms against 7.7-8.9 ms here (2 threads, AVX2 EPYC,
 * weights cold).  Test: tests/unit/test_fast_paths.c, pgemm_vs_reference. */
#include "kernels/pgemm.h"

#include <string.h>

#include "gcam_internal.h"
#include "kernels/bigmem.h"
#include "kernels/ukernel.h"

#define KC 256          /* inner-dimension slice */
#define ROWS_CHUNK 192  /* rows of A per pass over a slice's panels (a multiple of 6) */

struct gcam_pgemm {
    int64_t K, N, Np;
    float *B; /* K x Np packed */
};

void gcam_pgemm_free(gcam_pgemm *p)
{
    if (!p) return;
    gcam_free(p->B);
    gcam_free(p);
}

#ifndef GCAM_UK_AVX2
int gcam_pgemm_available(void) { return 0; }
int gcam_pgemm_new(const float *B, int64_t K, int64_t N, int trans_b, gcam_pgemm **out)
{
    (void)B, (void)K, (void)N, (void)trans_b;
    *out = NULL;
    return GCAM_E_UNSUPPORTED;
}
void gcam_pgemm_run(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc, int accumulate,
                    int nthreads)
{
    (void)p, (void)M, (void)A, (void)lda, (void)C, (void)ldc, (void)accumulate, (void)nthreads;
}
#else
#include <omp.h>

int gcam_pgemm_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !__builtin_cpu_supports("avx512f");
}

int gcam_pgemm_new(const float *B, int64_t K, int64_t N, int trans_b, gcam_pgemm **out)
{
    *out = NULL;
    if (!gcam_pgemm_available() || K < 1 || N < 1) return GCAM_E_UNSUPPORTED;
    gcam_pgemm *p = gcam_calloc(1, sizeof *p);
    if (!p) return GCAM_E_NOMEM;
    p->K = K, p->N = N, p->Np = (N + GCAM_UK_NR - 1) / GCAM_UK_NR * GCAM_UK_NR;
    if (!(p->B = gcam_big_alloc(sizeof(float) * (size_t)(K * p->Np)))) {
        gcam_free(p);
        return GCAM_E_NOMEM;
    }
    for (int64_t r = 0; r < K; r++)
        for (int64_t j = 0; j < p->Np; j++)
            p->B[gcam_uk_index(K, p->Np, KC, r, j)] = j >= N ? 0.0f : trans_b ? B[j * K + r] : B[r * N + j];
    *out = p;
    return GCAM_OK;
}

/* One 6 x 16 block of C at (row, panel): the kernel straight on A and C
 * when the block is whole, else through zero-padded copies. */
static GCAM_UK_TARGET void block(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc,
                                 int64_t row, int64_t pan, int64_t k0, int64_t kc, const float *slice, int acc)
{
    const int mr = (int)(M - row < GCAM_UK_MR ? M - row : GCAM_UK_MR);
    const int nc = (int)(p->N - pan * GCAM_UK_NR < GCAM_UK_NR ? p->N - pan * GCAM_UK_NR : GCAM_UK_NR);
    const float *b = slice + pan * kc * GCAM_UK_NR;
    float *c = C + row * ldc + pan * GCAM_UK_NR;
    if (mr == GCAM_UK_MR && nc == GCAM_UK_NR) {
        gcam_uk_6x16(kc, A + row * lda + k0, lda, b, c, ldc, acc);
        return;
    }
    float ta[GCAM_UK_MR * KC], tc[GCAM_UK_MR * GCAM_UK_NR];
    for (int i = 0; i < GCAM_UK_MR; i++)
        for (int64_t k = 0; k < kc; k++) ta[i * KC + k] = i < mr ? A[(row + i) * lda + k0 + k] : 0.0f;
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nc; j++) tc[i * GCAM_UK_NR + j] = acc ? c[i * ldc + j] : 0.0f;
    gcam_uk_6x16(kc, ta, KC, b, tc, GCAM_UK_NR, acc);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nc; j++) c[i * ldc + j] = tc[i * GCAM_UK_NR + j];
}

/* C's rows [r0, r1) by B's panels [p0, p1) */
static void part(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc, int64_t r0,
                 int64_t r1, int64_t p0, int64_t p1, int accumulate)
{
    for (int64_t rc = r0; rc < r1; rc += ROWS_CHUNK) {
        const int64_t re = rc + ROWS_CHUNK < r1 ? rc + ROWS_CHUNK : r1;
        for (int64_t k0 = 0; k0 < p->K; k0 += KC) {
            const int64_t kc = p->K - k0 < KC ? p->K - k0 : KC;
            const float *slice = p->B + k0 * p->Np;
            for (int64_t pan = p0; pan < p1; pan++)
                for (int64_t row = rc; row < re; row += GCAM_UK_MR) block(p, M, A, lda, C, ldc, row, pan, k0, kc, slice, accumulate || k0 > 0);
        }
    }
}

void gcam_pgemm_run(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc, int accumulate,
                    int nthreads)
{
    if (M < 1) return;
    const int64_t np = p->Np / GCAM_UK_NR, nr = (M + GCAM_UK_MR - 1) / GCAM_UK_MR;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (2.0 * (double)M * (double)p->K * (double)p->N < 4e6) nt = 1; /* not worth waking a thread */
    /* split the larger operand: B's panels unless A has more rows than B columns */
    const int by_rows = M > p->N;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
        if (by_rows) {
            const int64_t a = t * nr / n, b = (t + 1) * nr / n;
            part(p, M, A, lda, C, ldc, a * GCAM_UK_MR, b * GCAM_UK_MR < M ? b * GCAM_UK_MR : M, 0, np, accumulate);
        } else {
            part(p, M, A, lda, C, ldc, 0, M, t * np / n, (t + 1) * np / n, accumulate);
        }
    }
}
#endif
