/* pgemm.h - C = A B with B a constant matrix packed once (pgemm.c): the
 * transformer's x @ W products (MatMul and Gemm by a weight, src/ops). */
#ifndef GCAM_KERNELS_PGEMM_H
#define GCAM_KERNELS_PGEMM_H

#include <stdint.h>

typedef struct gcam_pgemm gcam_pgemm;

/* 1 on machines the packed kernel is for: AVX2 and FMA without AVX-512
 * (where oneDNN's sgemm is not measured against it). */
int gcam_pgemm_available(void);
/* Packs B (K x N, row-major; with trans_b given as its N x K transpose),
 * read now; GCAM_E_NOMEM, or GCAM_E_UNSUPPORTED where not available. */
int gcam_pgemm_new(const float *B, int64_t K, int64_t N, int trans_b, gcam_pgemm **out);
void gcam_pgemm_free(gcam_pgemm *p);
/* C (M x N, rows ldc apart) = A (M x K, rows lda apart) B + bias (N
 * floats, NULL: none), or C += A B with accumulate (bias ignored), on up to
 * nthreads threads.  GCAM_E_NOMEM (C untouched)
 * when its packing buffers cannot be had: the caller falls back to sgemm.  Made for many rows: a few
 * (a classifier's single row) are better served by a GEMV, see
 * GCAM_PGEMM_MIN_ROWS. */
int gcam_pgemm_run(const gcam_pgemm *p, int64_t M, const float *A, int64_t lda, float *C, int64_t ldc, int accumulate,
                   const float *bias, int nthreads);
#define GCAM_PGEMM_MIN_ROWS 16

#endif
