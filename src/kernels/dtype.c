/* dtype.c - float16 rounding and broadcast strides for src/kernels/dtype.h. */
#include "kernels/dtype.h"

/* By bits, so that no compiler's _Float16 support is needed: round the
 * float's mantissa to 10 bits (nearest, ties to even), re-bias the exponent,
 * flush below float16's smallest subnormal to zero and overflow to inf. */
float gcam_round_f16(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    uint32_t sign = b & 0x80000000u, mag = b & 0x7fffffffu;
    if (mag >= 0x7f800000u) return v; /* inf, nan */
    float a;
    memcpy(&a, &mag, 4);
    float r;
    if (a >= 65520.0f) r = (float)INFINITY;
    else if (a < 6.103515625e-05f) {
        /* subnormal float16: a multiple of 2^-24, rounded to nearest even */
        float q = a * 16777216.0f; /* exact: a power of two */
        float f = (float)(int64_t)q, frac = q - f;
        if (frac > 0.5f || (frac == 0.5f && ((int64_t)f & 1))) f += 1.0f;
        r = f / 16777216.0f;
    } else {
        uint32_t keep = mag & ~0x1fffu, rest = mag & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (mag & 0x2000u))) keep += 0x2000u;
        memcpy(&r, &keep, 4);
    }
    uint32_t rb;
    memcpy(&rb, &r, 4);
    rb |= sign;
    memcpy(&r, &rb, 4);
    return r;
}

void gcam_bstrides(const int64_t *yd, int yn, const int64_t *xd, int xn, int64_t *strides)
{
    int64_t s = 1;
    for (int d = yn - 1; d >= 0; d--) {
        int k = d - (yn - xn);
        if (k < 0) {
            strides[d] = 0;
            continue;
        }
        strides[d] = xd[k] == 1 ? 0 : s;
        s *= xd[k];
    }
}
