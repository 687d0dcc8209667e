/* cpu.c - see cpu.h. */
#include "kernels/cpu.h"

const char *gcam_simd_level(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* the same order the target_clones resolvers use: best first */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    return "sse2";
#else
    return "generic";
#endif
}

/* read once: the kernels ask per row */
int gcam_cpu_avx2_fma(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static int v = -1;
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return v;
#else
    return 0;
#endif
}

int gcam_cpu_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}
