/* test_ew_util.h - helpers shared by the elementwise op tests (test_ew_*.c). */
#ifndef GCAM_TEST_EW_UTIL_H
#define GCAM_TEST_EW_UTIL_H
#include <math.h>
#include <stdlib.h>

#include "op_harness.h"

static inline float ew_rand(unsigned *s, float lo, float hi)
{
    *s = *s * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)((*s >> 8) & 0xFFFFFF) / (float)0x1000000;
}

/* n values uniform in [lo, hi], then pushed to at least `margin` from every
 * kink so finite differences never straddle one. */
static inline void ew_fill(float *v, int64_t n, unsigned seed, float lo, float hi,
                           const float *kinks, int nk, float margin)
{
    unsigned s = seed * 2654435761u + 1u;
    for (int64_t i = 0; i < n; i++) {
        float x = ew_rand(&s, lo, hi);
        for (int k = 0; k < nk; k++)
            if (fabsf(x - kinks[k]) < margin) x = kinks[k] + (x >= kinks[k] ? margin : -margin);
        v[i] = x;
    }
}

static inline int64_t ew_numel(const int64_t *d, int n)
{
    int64_t k = 1;
    for (int i = 0; i < n; i++) k *= d[i];
    return k;
}

/* Offset in an operand of shape (ad, an) of output linear index i over
 * (yd, yn), by the numpy rule: dims aligned right, size-1 dims repeat. */
static inline int64_t ew_bcast_offset(int64_t i, const int64_t *yd, int yn, const int64_t *ad,
                                      int an)
{
    int64_t off = 0, stride = 1;
    for (int d = yn - 1; d >= 0; d--) {
        int64_t idx = i % yd[d];
        i /= yd[d];
        int ia = d - (yn - an);
        if (ia >= 0) {
            if (ad[ia] != 1) off += idx * stride;
            stride *= ad[ia];
        }
    }
    return off;
}

/* Runs backward once with explicit dy and guided flag; dx accumulates into
 * din0 (F32 gradient of input 0).  Returns the op's status. */
static inline int ew_backward(tnode *t, const float *dy, float *din0, int guided)
{
    gcam_tensor dout_t = *t->out[0], din_t = *t->in[0];
    dout_t.data = (void *)dy;
    din_t.data = din0;
    gcam_tensor *dout[TN_MAX] = {&dout_t}, *din[TN_MAX] = {&din_t};
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                    .scratch = t->scratch, .guided = guided, .nthreads = 1, .err = &t->err};
    return t->node.op->backward(&c);
}
#endif
