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
