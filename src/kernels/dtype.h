/* dtype.h - element access by type, for the ops that handle any integer or
 * bool tensor (comparisons, Where, Expand, indices, shape arithmetic).
 * Float kernels read float32 directly; these accessors are for the small
 * tensors of shape subgraphs and masks, where one switch per element costs
 * nothing that matters.  See gcam_internal.h for how types flow. */
#ifndef GCAM_KERNELS_DTYPE_H
#define GCAM_KERNELS_DTYPE_H

#include <math.h>

#include "gcam_internal.h"

static inline int gcam_dt_is_int(int dt)
{
    switch (dt) {
    case GCAM_DT_I64: case GCAM_DT_I32: case GCAM_DT_I16: case GCAM_DT_I8:
    case GCAM_DT_U64: case GCAM_DT_U32: case GCAM_DT_U16: case GCAM_DT_U8: return 1;
    default: return 0;
    }
}
static inline int gcam_dt_is_unsigned(int dt)
{
    return dt == GCAM_DT_U8 || dt == GCAM_DT_U16 || dt == GCAM_DT_U32 || dt == GCAM_DT_U64 || dt == GCAM_DT_BOOL;
}
/* a type the engine stores (float32, the integers, bool) */
static inline int gcam_dt_stored(int dt) { return dt == GCAM_DT_F32 || dt == GCAM_DT_BOOL || gcam_dt_is_int(dt); }

/* element i as an int64 (floats truncate toward zero; bool is 0/1) */
static inline int64_t gcam_get_i(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case GCAM_DT_I64: return ((const int64_t *)p)[i];
    case GCAM_DT_I32: return ((const int32_t *)p)[i];
    case GCAM_DT_I16: return ((const int16_t *)p)[i];
    case GCAM_DT_I8: return ((const int8_t *)p)[i];
    case GCAM_DT_U64: return (int64_t)((const uint64_t *)p)[i];
    case GCAM_DT_U32: return ((const uint32_t *)p)[i];
    case GCAM_DT_U16: return ((const uint16_t *)p)[i];
    case GCAM_DT_U8: return ((const uint8_t *)p)[i];
    case GCAM_DT_BOOL: return ((const uint8_t *)p)[i] != 0;
    case GCAM_DT_F32: {
        float v = ((const float *)p)[i];
        return v != v ? 0 : v >= 9.2233720368547758e18f ? INT64_MAX : v <= -9.2233720368547758e18f ? INT64_MIN : (int64_t)v;
    }
    default: return 0;
    }
}

/* element i as a double (uint64 above 2^63 reads as its true value) */
static inline double gcam_get_f(const void *p, int dt, int64_t i)
{
    if (dt == GCAM_DT_F32) return ((const float *)p)[i];
    if (dt == GCAM_DT_U64) return (double)((const uint64_t *)p)[i];
    return (double)gcam_get_i(p, dt, i);
}

/* stores v into element i, wrapping to the type's width like a C cast to it */
static inline void gcam_set_i(void *p, int dt, int64_t i, int64_t v)
{
    switch (dt) {
    case GCAM_DT_I64: ((int64_t *)p)[i] = v; break;
    case GCAM_DT_I32: ((int32_t *)p)[i] = (int32_t)(uint32_t)v; break;
    case GCAM_DT_I16: ((int16_t *)p)[i] = (int16_t)(uint16_t)v; break;
    case GCAM_DT_I8: ((int8_t *)p)[i] = (int8_t)(uint8_t)v; break;
    case GCAM_DT_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    case GCAM_DT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case GCAM_DT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case GCAM_DT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case GCAM_DT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case GCAM_DT_F32: ((float *)p)[i] = (float)v; break;
    default: break;
    }
}

/* stores v: float32 directly, integers truncated toward zero and saturated
 * at int64's range (NaN -> 0), bool v != 0 */
static inline void gcam_set_f(void *p, int dt, int64_t i, double v)
{
    if (dt == GCAM_DT_F32) ((float *)p)[i] = (float)v;
    else if (dt == GCAM_DT_BOOL) ((uint8_t *)p)[i] = v != 0;
    else if (dt == GCAM_DT_U64 && v >= 9223372036854775808.0) ((uint64_t *)p)[i] = v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
    else gcam_set_i(p, dt, i, v != v ? 0 : v >= 9223372036854775808.0 ? INT64_MAX : v < -9223372036854775808.0 ? INT64_MIN : (int64_t)v);
}

/* float32 -> float16 -> float32: the value a float16 tensor would hold
 * (round to nearest even, overflow to inf), for Cast to float16 */
float gcam_round_f16(float v);
/* the value a bfloat16 tensor would hold: the top 16 bits, truncated, as
 * ONNX 1.12's reference Cast and its test data (newer ONNX rounds to
 * nearest even) */
float gcam_round_bf16(float v);

/* Broadcast walk: the offsets into each of n operands (dims od[k], rank on[k])
 * of output element i of dims yd (rank yn), numpy rules.  Precompute strides
 * with gcam_bstrides; then gcam_boff gives one offset.  An operand of the
 * output's own shape is marked (strides[0] = -1) so gcam_boff returns i with
 * no division. */
void gcam_bstrides(const int64_t *yd, int yn, const int64_t *xd, int xn, int64_t *strides);
static inline int64_t gcam_boff(int64_t i, const int64_t *yd, int yn, const int64_t *strides)
{
    if (yn > 0 && strides[yn - 1] == 1 && strides[0] == -1) return i; /* see gcam_bstrides: same shape */
    int64_t off = 0;
    for (int d = yn - 1; d >= 0; d--) {
        int64_t q = yd[d] ? i / yd[d] : 0;
        off += (i - q * yd[d]) * strides[d];
        i = q;
    }
    return off;
}


/* y's dims = numpy broadcast of the inputs c->in[first .. first+count-1]
 * (NULL ones skipped); a node error when they do not broadcast. */
int gcam_bcast_infer_n(gcam_opctx *c, int first, int count, gcam_tensor *y);

/* Accumulates g (y-shaped, float32) into dx (x-shaped): dx[boff(i)] += w(i) g[i],
 * the gradient of an operand broadcast to y; w NULL = 1. */
void gcam_bcast_grad(float *dx, const gcam_tensor *x, const gcam_tensor *y, const float *g,
                     const float *w);

#endif
