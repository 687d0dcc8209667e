/* gemm.c - the one GEMM entry point (row-major, BLAS calling convention).
 * Fast path: oneDNN's dnnl_sgemm, which dispatches on the CPU it runs on
 * (AVX-512 here) - unlike Debian's OpenBLAS 0.3.21, which misdetects this
 * CPU.  The triple loop stays as the oracle (tests/unit/test_gemm.c). */
#include "gcam_internal.h"

#ifdef GCAM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

void gcam_sgemm_ref(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                    float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++) {
                float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                acc += (double)a * b;
            }
            float prev = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            C[i * ldc + j] = alpha * (float)acc + prev;
        }
    }
}

void gcam_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
#ifdef GCAM_HAVE_DNNL
    /* Small products (under 4 MFLOP, ~20 us on one core) run on one thread:
     * waking the other thread and meeting it at the barrier costs as much as
     * it saves, and much more on a busy machine.  Not so a product that
     * streams a large operand: a classifier's matrix-vector product reads
     * its 5 MB of weights (mobilenet_v2's 1280 x 1000) at one core's memory
     * bandwidth otherwise. */
    int nt = omp_get_max_threads();
    const double bytes = 4.0 * ((double)M * (double)K + (double)K * (double)N + (double)M * (double)N);
    int narrow = nt > 1 && 2.0 * (double)M * (double)N * (double)K < 4e6 && bytes < (double)(1 << 20);
    if (narrow) omp_set_num_threads(1);
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta,
                                  C, ldc);
    if (narrow) omp_set_num_threads(nt);
    if (st == dnnl_success) return;
#endif
    gcam_sgemm_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *gcam_gemm_backend(void)
{
#ifdef GCAM_HAVE_DNNL
    return "onednn-sgemm";
#else
    return "reference";
#endif
}
