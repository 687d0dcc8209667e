#include <stdlib.h>

#include "gcam_internal.h"
#include "test.h"

GCAM_TEST(gemm_matches_reference_all_transposes)
{
    const int64_t M = 37, N = 29, K = 53;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    unsigned s = 7;
    for (int64_t i = 0; i < M * K; i++) A[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 1023) / 512.0f - 1.0f;
    for (int64_t i = 0; i < K * N; i++) B[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 1023) / 512.0f - 1.0f;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int64_t i = 0; i < M * N; i++) C1[i] = C2[i] = (float)(i % 7) - 3.0f;
            int64_t lda = ta ? M : K, ldb = tb ? K : N;
            gcam_sgemm(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C1, N);
            gcam_sgemm_ref(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C2, N);
            for (int64_t i = 0; i < M * N; i++) CHECK_NEAR(C1[i], C2[i], 1e-4);
        }
    free(A); free(B); free(C1); free(C2);
}
