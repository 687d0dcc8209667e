/* cpu.h - what the running machine gives the kernels, for gcam_version().
 *
 * The library is compiled for the baseline x86-64 (SSE2) so that a binary
 * never depends on the build machine; the hot elementwise kernels are
 * compiled several times (target_clones) and the loader picks one for the
 * CPU at hand, and oneDNN dispatches its JIT kernels at run time too. */
#ifndef GCAM_KERNELS_CPU_H
#define GCAM_KERNELS_CPU_H

/* The clone our own kernels run: "avx512f", "avx2" or "sse2" (x86-64), or
 * "generic" elsewhere. */
const char *gcam_simd_level(void);

/* 1 where the CPU has AVX2 and FMA: our hand-written 8-lane kernels
 * (vmath.c, silu.c, and, where AVX-512 is absent, pgemm.c and conv_wino.c,
 * whose oneDNN counterparts were not beaten there) */
int gcam_cpu_avx2_fma(void);
/* 1 where the CPU has AVX-512F */
int gcam_cpu_avx512(void);

#endif
