/* pgemm.h - C = A B with B a constant matrix packed once (pgemm.c): the
 * transformer's x @ W products (MatMul and Gemm by a weight, src/ops). */
#ifndef GCAM_KERNELS_PGEMM_H
#define GCAM_KERNELS_PGEMM_H

#include <stdint.h>

#include "gcam_internal.h"

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

/* A node's weight, packed once: the params of MatMul and Gemm.  The op's
 * init makes the slot empty at load; its infer fills it once; the suffix
 * plans (graph/suffix.c) share a node's params with the main plan, so the
 * packing made by either serves both and is freed once, with the graph (or
 * when the weights change). */
int gcam_pgemm_slot_init(gcam_node *n, gcam_err *e);
void gcam_pgemm_slot_release(gcam_node *n);
/* Packs B (as gcam_pgemm_new takes it) into c's node's slot unless it holds
 * a packing already, the packed-gemm setting is off, the machine has not
 * the kernel, or B is over 32 MB (a copy costs its size again; VGG16's
 * 411 MB classifier streams at memory speed either way).  GCAM_E_NOMEM
 * with the node named. */
int gcam_pgemm_slot_fill(gcam_opctx *c, const float *B, int64_t K, int64_t N, int trans_b);
/* The slot's packing when it was made from this very B and the setting is
 * on; else NULL (sgemm then). */
const gcam_pgemm *gcam_pgemm_slot_get(const gcam_opctx *c, const float *B, int64_t K, int64_t N, int trans_b);

#endif
