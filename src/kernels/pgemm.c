/* pgemm.c - see pgemm.h.
 *
 * The BLIS loop order, with B packed once (it is a weight) and A packed per
 * call: for each KC-row slice of B, for each chunk of MC rows of A (packed
 * into 6-row slivers, k-major, in L2), for each 16-column panel of B (KC x
 * 16, in L1), for each sliver: a 6 x 16 register kernel.  The kernel starts
 * its twelve accumulators at zero, prefetches its block of C while it runs
 * the products, and adds to C (or stores) only at the end, so C's rows,
 * touched once per slice, never stall the products.  Packing A removes the
 * six strided rows a kernel would otherwise read (with K = 3072 their
 * addresses are 12 KB apart and share L1 sets).
 *
 * The threads split B's panels (each reads only its share of the weights,
 * the larger operand of a transformer's x @ W; A is packed once, each
 * thread packing a share of the slivers between barriers) or, when A has
 * more rows than B has columns, A's chunks of rows (each its own packing).  Rows and columns past a 6 x 16 edge go
 * through a zero-padded copy.
 *
 * Test: tests/unit/test_fast_paths.c, pgemm_vs_reference. */
#include "kernels/pgemm.h"

#include <string.h>

#include "gcam_internal.h"
#include "kernels/bigmem.h"
#include "kernels/cpu.h"

#define MR 6    /* kernel rows */
#define NR 16   /* kernel columns: a panel */
#define KC 256  /* inner-dimension slice: a panel is KC x NR floats, 16 KB */
#define MC 198  /* rows of A per packed chunk (a multiple of MR): 198 x KC floats, 200 KB */

struct gcam_pgemm {
    int64_t K, N, Np;
    float *B; /* K x Np packed: KC-row slices, each slice's panels in turn */
};

void gcam_pgemm_free(gcam_pgemm *p)
{
    if (!p) return;
    gcam_free(p->B);
    gcam_free(p);
}

/* ---- a node's slot (pgemm.h) ---- */

#define SLOT_MAX_BYTES (32.0 * 1024 * 1024)

typedef struct slot {
    const float *src; /* what was packed */
    int64_t K, N;
    int trans_b;
    gcam_pgemm *pk;
} slot;

int gcam_pgemm_slot_init(gcam_node *n, gcam_err *e)
{
    if (!(n->params = gcam_calloc(1, sizeof(slot)))) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    return GCAM_OK;
}

void gcam_pgemm_slot_release(gcam_node *n)
{
    slot *p = n->params;
    if (p) gcam_pgemm_free(p->pk);
    gcam_free(p);
    n->params = NULL;
}

int gcam_pgemm_slot_fill(gcam_opctx *c, const float *B, int64_t K, int64_t N, int trans_b)
{
    slot *p = c->node->params;
    if (!p || p->pk || 4.0 * (double)K * (double)N > SLOT_MAX_BYTES || !gcam_setting(c->set, GCAM_OPT_PACKED_GEMM) ||
        !gcam_pgemm_available())
        return GCAM_OK;
    int rc = gcam_pgemm_new(B, K, N, trans_b, &p->pk);
    if (rc == GCAM_E_NOMEM)
        return gcam_node_errf(c, rc, "out of memory packing B (%lld x %lld)", (long long)K, (long long)N);
    p->src = B, p->K = K, p->N = N, p->trans_b = trans_b;
    return GCAM_OK;
}

const gcam_pgemm *gcam_pgemm_slot_get(const gcam_opctx *c, const float *B, int64_t K, int64_t N, int trans_b)
{
    const slot *p = c->node->params;
    if (!p || !p->pk || p->src != B || p->K != K || p->N != N || p->trans_b != trans_b ||
        !gcam_setting(c->set, GCAM_OPT_PACKED_GEMM))
        return NULL;
    return p->pk;
}

#if !(defined(__x86_64__) && defined(__GNUC__))
int gcam_pgemm_available(void) { return 0; }
int gcam_pgemm_new(const float *B, int64_t K, int64_t N, int trans_b, gcam_pgemm **out)
{
    (void)B, (void)K, (void)N, (void)trans_b;
    *out = NULL;
    return GCAM_E_UNSUPPORTED;
}
int gcam_pgemm_run(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc, int accumulate,
                   const float *bias, int nthreads)
{
    (void)p, (void)M, (void)A, (void)lda, (void)C, (void)ldc, (void)accumulate, (void)bias, (void)nthreads;
    return GCAM_E_UNSUPPORTED;
}
#else
#include <immintrin.h>
#include <omp.h>

#define TARGET __attribute__((target("avx2,fma")))

int gcam_pgemm_available(void)
{
    return gcam_cpu_avx2_fma() && !gcam_cpu_avx512();
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

int gcam_pgemm_new(const float *B, int64_t K, int64_t N, int trans_b, gcam_pgemm **out)
{
    *out = NULL;
    if (!gcam_pgemm_available() || K < 1 || N < 1) return GCAM_E_UNSUPPORTED;
    gcam_pgemm *p = gcam_calloc(1, sizeof *p);
    if (!p) return GCAM_E_NOMEM;
    p->K = K, p->N = N, p->Np = (N + NR - 1) / NR * NR;
    if (!(p->B = gcam_big_alloc(sizeof(float) * (size_t)(K * p->Np)))) {
        gcam_free(p);
        return GCAM_E_NOMEM;
    }
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = min64(KC, K - k0);
        float *slice = p->B + k0 * p->Np;
        for (int64_t j = 0; j < p->Np; j++)
            for (int64_t r = 0; r < kc; r++)
                slice[(j / NR * kc + r) * NR + j % NR] =
                    j >= N ? 0.0f : trans_b ? B[j * K + k0 + r] : B[(k0 + r) * N + j];
    }
    *out = p;
    return GCAM_OK;
}

/* c[6][16] (+)= a b (+ bias): a a packed sliver (kc x 6), b a panel (kc x
 * 16), bias NULL or the panel's 16 column biases */
static TARGET void kernel_6x16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc,
                               const float *bias)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    for (int i = 0; i < MR; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(b + k * NR), b1 = _mm256_load_ps(b + k * NR + 8);
        const float *ak = a + k * MR;
        __m256 s = _mm256_broadcast_ss(ak);
        c00 = _mm256_fmadd_ps(s, b0, c00), c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(ak + 1);
        c10 = _mm256_fmadd_ps(s, b0, c10), c11 = _mm256_fmadd_ps(s, b1, c11);
        s = _mm256_broadcast_ss(ak + 2);
        c20 = _mm256_fmadd_ps(s, b0, c20), c21 = _mm256_fmadd_ps(s, b1, c21);
        s = _mm256_broadcast_ss(ak + 3);
        c30 = _mm256_fmadd_ps(s, b0, c30), c31 = _mm256_fmadd_ps(s, b1, c31);
        s = _mm256_broadcast_ss(ak + 4);
        c40 = _mm256_fmadd_ps(s, b0, c40), c41 = _mm256_fmadd_ps(s, b1, c41);
        s = _mm256_broadcast_ss(ak + 5);
        c50 = _mm256_fmadd_ps(s, b0, c50), c51 = _mm256_fmadd_ps(s, b1, c51);
    }
    const __m256 r[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        __m256 v0 = r[i][0], v1 = r[i][1];
        if (acc) v0 = _mm256_add_ps(v0, _mm256_loadu_ps(ci)), v1 = _mm256_add_ps(v1, _mm256_loadu_ps(ci + 8));
        else if (bias) v0 = _mm256_add_ps(v0, b0), v1 = _mm256_add_ps(v1, b1);
        _mm256_storeu_ps(ci, v0), _mm256_storeu_ps(ci + 8, v1);
    }
}

/* Rows [r0, r1) and columns [k0, k0 + kc) of A into 6-row slivers, each kc
 * x 6 (k-major), rows past M zero; whole slivers store contiguously. */
static void pack_a(const float *A, int64_t lda, int64_t M, int64_t r0, int64_t r1, int64_t k0, int64_t kc, float *ta)
{
    for (int64_t r = r0; r < r1; r += MR) {
        float *d = ta + (r - r0) / MR * kc * MR;
        if (r + MR <= M) {
            const float *s0 = A + r * lda + k0, *s1 = s0 + lda, *s2 = s1 + lda, *s3 = s2 + lda, *s4 = s3 + lda,
                        *s5 = s4 + lda;
            for (int64_t k = 0; k < kc; k++, d += MR)
                d[0] = s0[k], d[1] = s1[k], d[2] = s2[k], d[3] = s3[k], d[4] = s4[k], d[5] = s5[k];
            continue;
        }
        for (int i = 0; i < MR; i++) {
            const float *s = r + i < M ? A + (r + i) * lda + k0 : NULL;
            for (int64_t k = 0; k < kc; k++) d[k * MR + i] = s ? s[k] : 0.0f;
        }
    }
}

/* One 6 x 16 block of C: straight into C when whole, else through a copy;
 * the bias (NULL: none) is added by the first slice (acc 0) */
static void block(const gcam_pgemm *p, int64_t M, const float *a, const float *b, float *C, int64_t ldc, int64_t row,
                  int64_t pan, int64_t kc, int acc, const float *bias)
{
    float *c = C + row * ldc + pan * NR;
    const int64_t mr = min64(MR, M - row), nc = min64(NR, p->N - pan * NR);
    if (mr == MR && nc == NR) {
        kernel_6x16(kc, a, b, c, ldc, acc, bias ? bias + pan * NR : NULL);
        return;
    }
    float tc[MR * NR];
    kernel_6x16(kc, a, b, tc, NR, 0, NULL);
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nc; j++)
            c[i * ldc + j] = acc    ? c[i * ldc + j] + tc[i * NR + j]
                             : bias ? tc[i * NR + j] + bias[pan * NR + j]
                                    : tc[i * NR + j];
}

/* C's rows [r0, r1) by B's panels [p0, p1), packing A into ta.  With a
 * team (team > 1, every thread calling with the same rows) ta is shared:
 * thread t packs its share of each chunk's slivers between two barriers. */
static void part(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc, int64_t r0,
                 int64_t r1, int64_t p0, int64_t p1, int accumulate, const float *bias, float *ta, int t, int team)
{
    for (int64_t k0 = 0; k0 < p->K; k0 += KC) {
        const int64_t kc = min64(KC, p->K - k0);
        const float *slice = p->B + k0 * p->Np;
        for (int64_t rc = r0; rc < r1; rc += MC) {
            const int64_t re = min64(rc + MC, r1);
            if (team > 1) {
                const int64_t ns = (re - rc + MR - 1) / MR, s0 = t * ns / team, s1 = (t + 1) * ns / team;
#pragma omp barrier /* everyone is done with the previous chunk */
                pack_a(A, lda, M, rc + s0 * MR, min64(re, rc + s1 * MR), k0, kc, ta + s0 * kc * MR);
#pragma omp barrier
            } else {
                pack_a(A, lda, M, rc, re, k0, kc, ta);
            }
            for (int64_t pan = p0; pan < p1; pan++)
                for (int64_t row = rc; row < re; row += MR)
                    block(p, M, ta + (row - rc) / MR * kc * MR, slice + pan * kc * NR, C, ldc, row, pan, kc,
                          accumulate || k0 > 0, bias);
        }
    }
}

int gcam_pgemm_run(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc, int accumulate,
                   const float *bias, int nthreads)
{
    if (M < 1) return GCAM_OK;
    if (accumulate) bias = NULL;
    const int64_t np = p->Np / NR, nchunk = (M + MC - 1) / MC;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (2.0 * (double)M * (double)p->K * (double)p->N < 4e6) nt = 1; /* not worth waking a thread */
    /* split the larger operand: B's panels unless A has more rows than B
     * columns and enough chunks of them to share */
    const int by_rows = M > p->N && nchunk >= nt;
    /* each thread's packed A, allocated before any thread writes C, so
     * that a failure leaves C as it was for the caller's fallback */
    float *ta[64] = {0};
    nt = nt > 64 ? 64 : nt;
    int failed = 0;
    for (int t = 0; t < nt; t++) failed |= !(ta[t] = gcam_big_alloc(sizeof(float) * MC * KC));
    if (failed) {
        for (int t = 0; t < nt; t++) gcam_free(ta[t]);
        return GCAM_E_NOMEM;
    }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
        if (by_rows)
            part(p, M, A, lda, C, ldc, min64(M, t * nchunk / n * MC), min64(M, (t + 1) * nchunk / n * MC), 0, np,
                 accumulate, bias, ta[t], 0, 1);
        else /* all rows, shared packing */
            part(p, M, A, lda, C, ldc, 0, M, t * np / n, (t + 1) * np / n, accumulate, bias, ta[0], (int)t, (int)n);
    }
    for (int t = 0; t < nt; t++) gcam_free(ta[t]);
    return GCAM_OK;
}
#endif
