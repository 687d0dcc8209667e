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

float gcam_round_bf16(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu)) b |= 0x00400000u; /* NaN stays NaN */
    b &= 0xffff0000u;
    memcpy(&v, &b, 4);
    return v;
}

void gcam_bstrides(const int64_t *yd, int yn, const int64_t *xd, int xn, int64_t *strides)
{
    int same = xn == yn && yn > 1;
    for (int d = 0; same && d < yn; d++) same = xd[d] == yd[d];
    if (same) { /* contiguous: gcam_boff(i) = i (the marker needs rank >= 2) */
        strides[0] = -1;
        for (int d = 1; d < yn; d++) strides[d] = 1;
        return;
    }
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

int gcam_bcast_infer_n(gcam_opctx *c, int first, int count, gcam_tensor *y)
{
    int64_t d[GCAM_MAX_DIMS];
    int nd = 0, any = 0;
    for (int k = first; k < first + count; k++) {
        const gcam_tensor *x = c->in[k];
        if (!x) continue;
        if (!any) {
            nd = x->ndim;
            memcpy(d, x->dims, sizeof(int64_t) * (size_t)nd);
            any = 1;
            continue;
        }
        int64_t o[GCAM_MAX_DIMS];
        int no;
        if (gcam_broadcast_shape(d, nd, x->dims, x->ndim, o, &no))
            return gcam_node_errf(c, GCAM_E_SHAPE, "input %d does not broadcast with the others", k);
        nd = no;
        memcpy(d, o, sizeof(int64_t) * (size_t)nd);
    }
    if (!any) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "no inputs");
    y->ndim = nd;
    memcpy(y->dims, d, sizeof(int64_t) * (size_t)nd);
    return GCAM_OK;
}

void gcam_bcast_grad(float *dx, const gcam_tensor *x, const gcam_tensor *y, const float *g, const float *w)
{
    int64_t s[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, x->dims, x->ndim, s);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++)
        dx[gcam_boff(i, y->dims, y->ndim, s)] += w ? w[i] * g[i] : g[i];
}
