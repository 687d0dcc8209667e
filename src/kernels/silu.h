/* silu.h - y = x sigmoid(x) in place, vectorised (silu.c): the SiLU that
 * EfficientNet's convs end in, as one pass over a conv's output. */
#ifndef GCAM_KERNELS_SILU_H
#define GCAM_KERNELS_SILU_H

#include <stdint.h>

/* y[i] = y[i] / (1 + e^-y[i]) over n floats; within 4e-7 relative of the
 * double-precision value (tests/unit/test_vmath.c) */
void gcam_silu_inplace(float *y, int64_t n);
/* one thread's share: the same over [0, n) */
void gcam_silu_range(float *y, int64_t n);

#endif
