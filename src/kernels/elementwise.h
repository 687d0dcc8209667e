/* elementwise.h - shared machinery for the elementwise op files (src/ops/relu.c,
 * add.c, ...), so each op file is a couple of scalar functions plus its gcam_op.
 *
 * Unary ops (y = f(x), same shape, F32):
 *
 *   static inline float relu_f(float x, const gcam_ew_params *p) { ... }
 *   // contribution to dL/dx given x, the forward output y and dL/dy
 *   static inline float relu_grad(float x, float y, float dy, const gcam_ew_params *p) { ... }
 *   GCAM_UNARY_OP(relu, relu_f, relu_grad)   // defines relu_forward / relu_backward
 *   const gcam_op gcam_op_Relu = {.op_type = "Relu", .infer = gcam_unary_infer,
 *                                 .forward = relu_forward, .backward = relu_backward};
 *
 * Binary ops (numpy broadcasting), e.g. src/ops/mul.c:
 *
 *   static inline float mul_f(float a, float b) { return a * b; }
 *   // contribution to dL/da given a, b, the output y and dL/dy
 *   static inline float mul_da(float a, float b, float y, float dy) { return dy * b; }
 *   GCAM_BINARY_ROW_F32(mul, mul_f)            // mul_row_f32
 *   GCAM_BINARY_ROW_GRAD(mul_da)               // mul_da_row (likewise mul_db_row)
 *   static const gcam_binary_kernels mul_k = {.f32 = mul_row_f32, .da = mul_da_row, ...};
 *   GCAM_BINARY_OP(mul, 1)                     // mul_infer / mul_forward / mul_backward
 *
 * The gradient of an operand that was broadcast is its per-output
 * contribution summed over the broadcast dims (gcam_reduce_to).
 *
 * The scalar functions are static inline in the op file and the macros expand
 * the loops there, so the compiler inlines and vectorises them; the drivers
 * below only walk the (broadcast) index space row by row.
 *
 * Broadcasting: an input's dims are aligned right against the output's; a dim
 * of size 1 (or a missing leading dim) gets stride 0.  Adjacent dims that are
 * contiguous in every operand are merged, so equal shapes become one flat row,
 * a scalar becomes stride 0 along one flat row, and a per-channel [C,1,1]
 * operand against [N,C,H,W] becomes rows of H*W with a fixed value per row. */
#ifndef GCAM_KERNELS_ELEMENTWISE_H
#define GCAM_KERNELS_ELEMENTWISE_H

#include "gcam_internal.h"

/* GCC (12) refuses to if-convert, hence to vectorise, a select between
 * computed floats (x < 0 ? a * x : x) while FP operations count as possibly
 * trapping.  Nothing here reads FP exception flags, so drop that assumption
 * for the code that follows in each op file (values are unchanged). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* ---- parameters of the parameterised unary ops --------------------------- */
typedef struct gcam_ew_params {
    float alpha, beta; /* LeakyRelu alpha; HardSigmoid alpha, beta */
    float lo, hi;      /* Clip bounds */
    int guided;        /* backward only: guided-backprop rule requested (c->guided) */
} gcam_ew_params;

/* Allocates zeroed params into n->params (freed by the engine with gcam_free()).
 * NULL on out of memory, with the message in e. */
gcam_ew_params *gcam_ew_params_new(gcam_node *n, gcam_err *e);

/* Threads to use for a kernel run from c (c->nthreads, or OpenMP's default). */
int gcam_ew_threads(const gcam_opctx *c);

/* "[2,3,4]" into buf, for error messages; returns buf. */
const char *gcam_ew_dims_str(const int64_t *dims, int nd, char *buf, size_t size);

/* ---- unary ----------------------------------------------------------------- */
typedef void (*gcam_unary_fwd_fn)(int64_t n, const float *x, float *y, const gcam_ew_params *p);
/* dx[i] += contribution; x, y are the forward input and output */
typedef void (*gcam_unary_bwd_fn)(int64_t n, const float *x, const float *y, const float *dy,
                                  float *dx, const gcam_ew_params *p);

/* y: F32, same shape as in[0]. */
int gcam_unary_infer(gcam_opctx *c);
/* Runs fn over in[0] -> out[0] in parallel blocks.  p may be NULL (zero params). */
int gcam_unary_forward(gcam_opctx *c, gcam_unary_fwd_fn fn, const gcam_ew_params *p);
/* din[0] += grad; copies p and sets its guided flag from c->guided. */
int gcam_unary_backward(gcam_opctx *c, gcam_unary_bwd_fn fn, const gcam_ew_params *p);

#define GCAM_UNARY_KERNELS(name, f, grad)                                                    \
    static void name##_fwd_rows(int64_t n, const float *x, float *y, const gcam_ew_params *p) \
    {                                                                                         \
        const gcam_ew_params q = *p; /* a local copy: stores to y cannot alias it */          \
        for (int64_t i = 0; i < n; i++) y[i] = f(x[i], &q);                                   \
    }                                                                                         \
    static void name##_bwd_rows(int64_t n, const float *x, const float *y, const float *dy,   \
                                float *dx, const gcam_ew_params *p)                           \
    {                                                                                         \
        const gcam_ew_params q = *p;                                                          \
        for (int64_t i = 0; i < n; i++) dx[i] += grad(x[i], y[i], dy[i], &q);                 \
    }

/* Kernels plus forward/backward that take their params from node->params. */
#define GCAM_UNARY_OP(name, f, grad)                                                         \
    GCAM_UNARY_KERNELS(name, f, grad)                                                         \
    static int name##_forward(gcam_opctx *c)                                                  \
    {                                                                                         \
        return gcam_unary_forward(c, name##_fwd_rows, (const gcam_ew_params *)c->node->params); \
    }                                                                                         \
    static int name##_backward(gcam_opctx *c)                                                 \
    {                                                                                         \
        return gcam_unary_backward(c, name##_bwd_rows, (const gcam_ew_params *)c->node->params); \
    }

/* ---- broadcast plan ---------------------------------------------------------- */
typedef struct gcam_bcast {
    int nd;                        /* rank after merging dims, >= 1 */
    int64_t dims[GCAM_MAX_DIMS];   /* output dims after merging */
    int64_t sa[GCAM_MAX_DIMS];     /* element strides of operand a (0 = broadcast) */
    int64_t sb[GCAM_MAX_DIMS];     /* element strides of operand b */
    int64_t n;                     /* output element count */
} gcam_bcast;

/* Plans a walk over output dims yd in which a (ad) and b (bd) broadcast
 * unidirectionally.  Returns 0, or -1 if a or b is not broadcastable to yd. */
int gcam_bcast_init(gcam_bcast *p, const int64_t *yd, int yn, const int64_t *ad, int an,
                    const int64_t *bd, int bn);

/* Pointers a row function works on; offsets and strides are in elements. */
typedef struct gcam_bin_args {
    const void *a, *b;  /* operands (strided) */
    const float *y;     /* backward: forward output (indexed like the output) */
    const float *dy;    /* backward: output gradient (indexed like the output) */
    void *out;          /* forward: y; backward: the gradient buffer (indexed like the output) */
    float scale;        /* gcam_expand_add's factor */
} gcam_bin_args;

/* One row of n outputs starting at output offset oy.  Operand a starts at oa
 * and steps by sa (0 or 1 for the innermost dim), b likewise. */
typedef void (*gcam_bin_row_fn)(const gcam_bin_args *k, int64_t n, int64_t oa, int64_t sa,
                                int64_t ob, int64_t sb, int64_t oy);

/* Calls fn for every row of the plan; rows are split between threads in
 * blocks, each block writing a disjoint output range. */
void gcam_bcast_rows(const gcam_bcast *p, gcam_bin_row_fn fn, const gcam_bin_args *k,
                     int nthreads);

/* dst (shape dd) = or += scale * (sum of src (shape sd) over the dims where dst
 * is 1 or missing).  dd must be broadcastable to sd.  This is the gradient of
 * a broadcast operand and the core of ReduceMean.  Sums accumulate in double. */
int gcam_reduce_to(float *dst, const int64_t *dd, int dn, const float *src, const int64_t *sd,
                   int sn, float scale, int accumulate, int nthreads);

/* dst (shape dd) += scale * src broadcast from shape sd to dd.  Both return 0,
 * or -1 (nothing written) if the shapes are not broadcast-compatible. */
int gcam_expand_add(float *dst, const int64_t *dd, int dn, const float *src, const int64_t *sd,
                    int sn, float scale, int nthreads);

/* ---- binary ------------------------------------------------------------------ */
typedef struct gcam_binary_kernels {
    gcam_bin_row_fn f32; /* forward for F32 operands */
    gcam_bin_row_fn i64; /* forward for I64 operands; NULL = F32 only */
    /* forward for the narrower integer types (int32, uint8, ...), element by
     * element through int64, wrapping to the type's width; NULL = none */
    int64_t (*si)(int64_t a, int64_t b);
    gcam_bin_row_fn da;  /* backward: out[i] += dL/da contribution; NULL = no gradient */
    gcam_bin_row_fn db;
    /* Nonzero when dL/da is this constant times dy (Add: 1, Sub: 1 and -1):
     * backward then reduces dy directly, with no pass over the operands. */
    float da_linear, db_linear;
} gcam_binary_kernels;

/* Output shape: numpy broadcast of in[0] and in[1].  Sets only ndim/dims. */
int gcam_binary_shape(gcam_opctx *c);
/* Full infer: shape, dtype (both F32, or both I64 - or both another integer
 * type - when allow_i64), bscratch. */
int gcam_binary_infer(gcam_opctx *c, int allow_i64);
/* Bytes of backward scratch: one output-sized F32 buffer if an operand broadcasts. */
size_t gcam_binary_grad_scratch(const gcam_opctx *c);
/* Forward; bdata overrides in[1]->data (Pow's exponent converted to F32), or NULL. */
int gcam_binary_forward(gcam_opctx *c, const gcam_binary_kernels *k, const void *bdata);
/* Backward into din[0] / din[1].  bdata as above; tmp is gcam_binary_grad_scratch
 * bytes (NULL = c->scratch). */
int gcam_binary_backward(gcam_opctx *c, const gcam_binary_kernels *k, const void *bdata,
                         float *tmp);

/* forward/backward (and, with GCAM_BINARY_OP, infer) for an op whose kernels
 * are the static table name##_k, so the op file only lists them in its gcam_op. */
#define GCAM_BINARY_OP_FWD_BWD(name)                                                           \
    static int name##_forward(gcam_opctx *c) { return gcam_binary_forward(c, &name##_k, NULL); } \
    static int name##_backward(gcam_opctx *c)                                                  \
    {                                                                                          \
        return gcam_binary_backward(c, &name##_k, NULL, NULL);                                 \
    }
#define GCAM_BINARY_OP(name, allow_i64)                                                         \
    static int name##_infer(gcam_opctx *c) { return gcam_binary_infer(c, allow_i64); }         \
    GCAM_BINARY_OP_FWD_BWD(name)

/* Row loops specialised for the stride patterns gcam_bcast_rows produces:
 * both operands contiguous, one of them fixed over the row, or general. */
#define GCAM_BINARY_ROW_T(name, T, f)                                                         \
    static void name(const gcam_bin_args *k, int64_t n, int64_t oa, int64_t sa, int64_t ob,    \
                     int64_t sb, int64_t oy)                                                   \
    {                                                                                          \
        const T *a = (const T *)k->a + oa, *b = (const T *)k->b + ob;                          \
        T *y = (T *)k->out + oy;                                                               \
        if (sa == 1 && sb == 1) {                                                              \
            for (int64_t i = 0; i < n; i++) y[i] = f(a[i], b[i]);                              \
        } else if (sa == 1 && sb == 0) {                                                       \
            const T bv = b[0];                                                                 \
            for (int64_t i = 0; i < n; i++) y[i] = f(a[i], bv);                                \
        } else if (sa == 0 && sb == 1) {                                                       \
            const T av = a[0];                                                                 \
            for (int64_t i = 0; i < n; i++) y[i] = f(av, b[i]);                                \
        } else {                                                                               \
            for (int64_t i = 0; i < n; i++) y[i] = f(a[i * sa], b[i * sb]);                    \
        }                                                                                      \
    }
#define GCAM_BINARY_ROW_F32(name, f) GCAM_BINARY_ROW_T(name##_row_f32, float, f)
#define GCAM_BINARY_ROW_I64(name, f) GCAM_BINARY_ROW_T(name##_row_i64, int64_t, f)

/* g(a, b, y, dy) is the contribution to the gradient of one operand. */
#define GCAM_BINARY_ROW_GRAD(g)                                                                \
    static void g##_row(const gcam_bin_args *k, int64_t n, int64_t oa, int64_t sa, int64_t ob,  \
                        int64_t sb, int64_t oy)                                                 \
    {                                                                                           \
        const float *a = (const float *)k->a + oa, *b = (const float *)k->b + ob;               \
        const float *y = k->y + oy, *dy = k->dy + oy;                                           \
        float *out = (float *)k->out + oy;                                                      \
        if (sa == 1 && sb == 1) {                                                               \
            for (int64_t i = 0; i < n; i++) out[i] += g(a[i], b[i], y[i], dy[i]);               \
        } else if (sa == 1 && sb == 0) {                                                        \
            const float bv = b[0];                                                              \
            for (int64_t i = 0; i < n; i++) out[i] += g(a[i], bv, y[i], dy[i]);                 \
        } else if (sa == 0 && sb == 1) {                                                        \
            const float av = a[0];                                                              \
            for (int64_t i = 0; i < n; i++) out[i] += g(av, b[i], y[i], dy[i]);                 \
        } else {                                                                                \
            for (int64_t i = 0; i < n; i++) out[i] += g(a[i * sa], b[i * sb], y[i], dy[i]);     \
        }                                                                                       \
    }

/* A conv epilogue along a channels-last row: y[m] = act(a[m] * y[m] + b[m]
 * [+ r[m]]) over the n channels of one pixel (r may be NULL; act one of
 * GCAM_ACT_NONE, RELU, CLIP with bounds lo, hi). */
void gcam_bias_act_ch(float *y, const float *r, int64_t n, const float *a, const float *b, int act, float lo, float hi);

#endif
