/* gcam_internal.h - the engine's internal data model, shared by every source file.
 *
 * Nothing here is public: protobuf-c, BLAS and oneDNN types never leak into
 * include/gcam.h.  The plain structs below are read directly by kernels.
 *
 * Lifecycle of a node (see src/ops/op_template.c.txt):
 *   init     - once at load: parse attributes into node->params.
 *   infer    - at plan time: set output dtype/dims from input dims (and from
 *              the data of constant inputs, e.g. Reshape's shape), and set
 *              node->scratch / node->bscratch (bytes of scratch it needs).
 *   forward  - compute outputs.  Must not allocate.
 *   backward - given dout (gradients of outputs), ACCUMULATE (+=) gradients
 *              into din[i] for every input i whose din[i] is not NULL.
 *              Gradients are w.r.t. activations only, never weights.
 */
#ifndef GCAM_INTERNAL_H
#define GCAM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gcam.h"
#include "util/alloc.h"

#define GCAM_MAX_DIMS 8

/* dtypes use ONNX TensorProto.DataType codes so no translation is needed. */
enum {
    GCAM_DT_UNDEF = 0,
    GCAM_DT_F32 = 1,
    GCAM_DT_U8 = 2,
    GCAM_DT_I8 = 3,
    GCAM_DT_I32 = 6,
    GCAM_DT_I64 = 7,
    GCAM_DT_BOOL = 9,
    GCAM_DT_F16 = 10,
    GCAM_DT_F64 = 11,
    GCAM_DT_U16 = 4,
    GCAM_DT_I16 = 5,
    GCAM_DT_U32 = 12,
    GCAM_DT_U64 = 13,
    GCAM_DT_BF16 = 16, /* only at load: becomes float32 like float16 */
};
/* How types flow (docs/ops.md): float32 is the one floating type kernels
 * compute with; float16 and float64 tensors (initializers, inputs, Cast
 * targets) are converted to float32 when loaded, so they never reach an op.
 * (bfloat16 likewise.)  Integer and bool tensors keep their own type and storage (int64_t,
 * int32_t, int8_t, uint8_t for uint8 and bool, ...); shape, index, mask and
 * comparison ops read and write them through src/kernels/dtype.h. */
size_t gcam_dtype_size(int dtype); /* 0 for unsupported */
const char *gcam_dtype_name(int dtype);

/* tensor flags */
enum {
    GCAM_TF_CONST = 1 << 0,  /* initializer or constant-folded: data valid at plan time */
    GCAM_TF_INPUT = 1 << 1,  /* graph input */
    GCAM_TF_OUTPUT = 1 << 2, /* graph output */
    GCAM_TF_OWNED = 1 << 3,  /* data is heap-owned by the tensor (not arena) */
    /* (bits 4-7: planner flags, src/graph/graph.h) */
    /* Plan-time, 4-D float activations only: the data is stored NHWC
     * (channels last) although dims stay N, C, H, W.  Set by the planner
     * (src/graph/plan.c) on tensors only oneDNN convolutions and
     * layout-agnostic elementwise ops read and write, never on anything a
     * user or the backward pass can see. */
    GCAM_TF_NHWC = 1 << 8,
};

typedef struct gcam_tensor {
    char *name;
    int dtype; /* GCAM_DT_* */
    int ndim;
    int64_t dims[GCAM_MAX_DIMS];
    void *data; /* float* for F32, int64_t* for I64 */
    int flags;
    int producer; /* node index, -1 for inputs/initializers */
} gcam_tensor;

static inline int64_t gcam_numel(const gcam_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}
static inline float *gcam_f32(const gcam_tensor *t) { return (float *)t->data; }
static inline int64_t *gcam_i64(const gcam_tensor *t) { return (int64_t *)t->data; }
/* bytes of the tensor's data, or SIZE_MAX if the product overflows */
size_t gcam_tensor_bytes(const gcam_tensor *t);
/* Checked int64 arithmetic for shapes taken from model files: 0 when the
 * result fits (in *r), nonzero on overflow.  Shape inference uses these
 * wherever an attribute or a dim from the file enters a product or sum. */
static inline int gcam_mul_ovf(int64_t a, int64_t b, int64_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline int gcam_add_ovf(int64_t a, int64_t b, int64_t *r) { return __builtin_add_overflow(a, b, r); }
/* checked product of dims; returns -1 on overflow or a negative dim */
int64_t gcam_dims_numel_checked(const int64_t *dims, int ndim);

/* ---- errors ------------------------------------------------------------- */
/* the public gcam_error (gcam.h): a message filled inside can be handed
 * to a caller of a handle-less call as it is */
typedef gcam_error gcam_err;

/* Sets e->code and e->msg (printf-style), returns code.  e may be NULL. */
int gcam_errf(gcam_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- attributes (parsed from protobuf at load; ops never see protobuf) --- */
enum {
    GCAM_ATTR_FLOAT = 1,
    GCAM_ATTR_INT = 2,
    GCAM_ATTR_STRING = 3,
    GCAM_ATTR_TENSOR = 4,
    GCAM_ATTR_FLOATS = 6,
    GCAM_ATTR_INTS = 7,
    GCAM_ATTR_STRINGS = 8,
};

typedef struct gcam_attr {
    char *name;
    int type;
    int64_t i;
    float f;
    char *s;          /* STRING, NUL-terminated; STRINGS joined by '\n' (n = count) */
    int64_t *ints;    /* INTS */
    float *floats;    /* FLOATS */
    int n;            /* element count for INTS/FLOATS */
    gcam_tensor *t;   /* TENSOR (data heap-owned, converted to F32/I64) */
} gcam_attr;

struct gcam_op;

/* Activations the planner can fuse into a producer (src/graph/plan.c). */
enum {
    GCAM_ACT_NONE = 0,
    GCAM_ACT_RELU,      /* max(0, x) */
    GCAM_ACT_CLIP,      /* min(max(x, lo), hi) */
    GCAM_ACT_HARDSWISH, /* x * clip(x / 6 + 1/2, 0, 1) */
    GCAM_ACT_SWISH,     /* x * sigmoid(x) (SiLU: Sigmoid and Mul in ONNX) */
    GCAM_ACT_GELU,      /* (x * (erf(x / lo) + 1)) * hi: GELU as torch.onnx writes it (Div, Erf, Add 1, Mul x,
                         * Mul 0.5), on a Div node */
};

/* Set by the planner on every plan: the nodes after a GCAM_OPF_EPILOGUE op
 * whose intermediate tensors nobody else reads (not kept, not needed by the
 * backward plan, not outputs) run inside it.  The producer then writes the
 * last fused node's output `out` directly, after a per-channel affine
 * y = (y - bn_mean) * bn_scale / sqrt(bn_var + bn_eps) + bn_bias (a folded
 * BatchNormalization) and the activation; the fused nodes are skipped and
 * their intermediate tensors get no memory.  Held by value, so a copy of
 * the node (a suffix plan) has its own. */
typedef struct gcam_fusion {
    int on;   /* this node carries an epilogue */
    int skip; /* this node was folded into its producer: it does not run */
    int out;  /* tensor the fused chain writes */
    const float *bn_scale, *bn_bias, *bn_mean, *bn_var; /* NULL: no BatchNormalization */
    float bn_eps;
    int act; /* GCAM_ACT_* */
    float act_lo, act_hi;
    /* a residual Add fused too: tensor `sum` is added before the activation,
     * and the executor binds it as in[n_in], one past the node's inputs */
    int has_sum, sum;
    /* MatMul by a weight: a constant per-column bias (the Add after it) */
    const float *bias;
} gcam_fusion;

typedef struct gcam_node {
    char *name;
    char *op_type;
    char *domain;
    int opset; /* opset version of the node's domain */
    int n_in, n_out;
    int *in;  /* tensor indices into graph->tensors; -1 = omitted optional input */
    int *out;
    int n_attr;
    gcam_attr *attr;
    const struct gcam_op *op;
    void *params;      /* op-private; freed with op->release, or gcam_free() if release is NULL */
    size_t scratch;    /* bytes forward needs (set in infer) */
    size_t bscratch;   /* bytes backward needs (set in infer) */
    gcam_fusion fuse;  /* plan-time fusion, see above */
    struct gcam_node_prof *prof; /* the profile setting: time spent, shared with views (owned by the graph) */
} gcam_node;

/* Time one node spent (the "profile" setting). */
typedef struct gcam_node_prof {
    double fwd_ms, bwd_ms;
    int64_t fwd_calls, bwd_calls;
} gcam_node_prof;

const gcam_attr *gcam_attr_find(const gcam_node *n, const char *name);
int64_t gcam_attr_int(const gcam_node *n, const char *name, int64_t dflt);
float gcam_attr_float(const gcam_node *n, const char *name, float dflt);
const char *gcam_attr_str(const gcam_node *n, const char *name, const char *dflt);
/* Copies up to max ints; returns the count present (-1 if absent). */
int gcam_attr_ints(const gcam_node *n, const char *name, int64_t *out, int max);

/* ---- op context, passed to infer/forward/backward ------------------------ */
/* Per-model switches (GCAM_OPTION_LIST in gcam.h), passed down to ops and
 * methods by the planner; nothing below the API reads the environment. */
typedef struct gcam_settings {
    int v[GCAM_OPT_COUNT];
} gcam_settings;
void gcam_settings_default(gcam_settings *s);
/* s->v[o], or the default when s is NULL (an op context built by hand, as op tests do). */
int gcam_setting(const gcam_settings *s, gcam_option o);

typedef struct gcam_opctx {
    gcam_node *node;
    gcam_tensor **in;   /* n_in entries, NULL where an optional input is omitted */
    gcam_tensor **out;  /* n_out entries, NULL where an optional output is unused */
    gcam_tensor **dout; /* backward only: gradients of the outputs (NULL = zero) */
    gcam_tensor **din;  /* backward only: gradients to ACCUMULATE into (NULL = not needed) */
    void *scratch;      /* node->scratch (forward) or node->bscratch (backward) bytes */
    int guided;         /* backward: guided-backprop rule for ReLU-like ops */
    /* infer and forward: the plan runs this node's backward too (the plan
     * request's backward set), so an op may prepare for it (oneDNN's
     * backward-data primitive) */
    int needs_backward;
    int nthreads;
    const gcam_settings *set; /* the model's settings; read through gcam_setting() */
    /* infer of a GCAM_OPF_LAYOUT op only.  defer (in): the planner chooses
     * layouts after every node is inferred and calls infer again then, so
     * set shapes and scratch but build nothing layout-specific yet.
     * nhwc_ok (out): GCAM_NHWC_* for input 0 and output 0 in this plan (for
     * defer, a prediction: the second call says whether it holds). */
    int defer, nhwc_ok;
    gcam_err *err;
} gcam_opctx;

/* Input k of the node, or NULL when omitted or past the node's input count
 * (c->in holds only n_in valid entries during forward/backward). */
static inline gcam_tensor *gcam_in(const gcam_opctx *c, int k)
{
    return k < c->node->n_in ? c->in[k] : NULL;
}

/* Prepends "<prefix>: " to e->msg (e.g. the file name). */
void gcam_err_prefix(gcam_err *e, const char *prefix);

/* One-line error naming the node: "node 'conv1' (Conv): <msg>" */
int gcam_node_errf(gcam_opctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads a constant int64/int32 tensor input (e.g. Reshape's shape) into out,
 * widening int32 to int64.  Returns the element count, or a negative status
 * after setting a node error: GCAM_E_UNSUPPORTED "dynamic <what> not supported"
 * when t is not GCAM_TF_CONST (or has no data), GCAM_E_INVALID_MODEL when its
 * dtype is neither int64 nor int32, GCAM_E_UNSUPPORTED when it has more than
 * max entries. */
int gcam_const_ints(gcam_opctx *c, const gcam_tensor *t, const char *what, int64_t *out,
                    int max);

enum {
    /* forward reads only input shapes (Shape): its output is always foldable */
    GCAM_OPF_SHAPE_ONLY = 1 << 0,
    /* output aliases input 0 with no data change (Identity, Reshape, ...) */
    GCAM_OPF_VIEW = 1 << 1,
    /* infer and forward honour node->fuse (BatchNormalization + activation
     * epilogue, output to fuse.out) */
    GCAM_OPF_EPILOGUE = 1 << 2,
    /* out[i] depends only on the inputs at index i (after broadcasting):
     * where every input has the output's shape or one element, the op
     * works on any memory layout (the planner's GCAM_TF_NHWC) */
    GCAM_OPF_ELEMENTWISE = 1 << 3,
    /* infer and forward honour GCAM_TF_NHWC on input 0 and output 0 (and a
     * fused residual operand, which has the output's layout); see
     * gcam_opctx.defer / nhwc_ok */
    GCAM_OPF_LAYOUT = 1 << 4,
    /* an integer output that carries a float32 gradient all the same
     * (QuantizeLinear's straight-through estimator): the backward plan gives
     * it a float gradient buffer of its shape */
    GCAM_OPF_STRAIGHT_THROUGH = 1 << 5,
    /* inputs from gcam_op.param_slot on decide the output's shape by their
     * values (Resize's scales, Range's limits): a float graph input read
     * only there is bound by value (GCAM_TF_BYVALUE, src/graph/graph.c) */
    GCAM_OPF_SHAPE_PARAMS = 1 << 6,
    /* output 0 may be left unnamed when another output is named (the
     * recurrent layers' Y beside Y_h, Y_c) */
    GCAM_OPF_OPTIONAL_OUT0 = 1 << 7,
};

/* What a GCAM_OPF_LAYOUT node takes (gcam_opctx.nhwc_ok), weakest first. */
enum {
    GCAM_NHWC_NO = 0,   /* plain layout only */
    GCAM_NHWC_TIED = 1, /* input 0 and output 0 both NHWC, or neither */
    GCAM_NHWC_FREE = 2, /* input 0 and output 0 each either way */
};

/* The newest ONNX opset (default domain) the ops are checked against. */
#define GCAM_OPSET_MAX 21

/* One op: its file (src/ops/<op>.c) defines gcam_op_<Name>, and one row of
 * src/ops/ops.def lists it.  tests/unit checks every descriptor
 * (gcam_op_check). */
typedef struct gcam_op {
    const char *op_type;
    /* The opsets whose meaning the file implements, since..until (until 0:
     * GCAM_OPSET_MAX).  since is 6 in general (opsets 1-5 had legacy
     * broadcast / consumed_inputs attributes and other forms), 1 for the ops
     * whose early versions differ from the later ones only in attributes we
     * never read. */
    int since, until;
    /* Inputs the ONNX schema requires (present and not ""), checked once at
     * load so that no op ever sees a missing required input; from opset
     * required_from on (0: never) it requires required_then instead. */
    int required;
    int required_from, required_then;
    int flags;      /* GCAM_OPF_* */
    int param_slot; /* GCAM_OPF_SHAPE_PARAMS: the first such input */
    int (*init)(gcam_node *n, gcam_err *e);   /* optional */
    int (*infer)(gcam_opctx *c);              /* required */
    int (*forward)(gcam_opctx *c);            /* required */
    int (*backward)(gcam_opctx *c);           /* NULL: gradient cannot flow through */
    void (*release)(gcam_node *n);            /* optional */
} gcam_op;

/* forward/backward of ops that only change the shape (src/ops/identity.c) */
int gcam_view_forward(gcam_opctx *c);
int gcam_view_backward(gcam_opctx *c);

/* registry: src/ops/registry.c, list in src/ops/ops.def */
const gcam_op *gcam_op_lookup(const char *op_type);
/* Whether op runs at `opset` (0: unknown, taken as supported). */
int gcam_op_opset_ok(const gcam_op *op, int opset);
/* The inputs op requires at `opset`. */
int gcam_op_required(const gcam_op *op, int opset);
/* Checks a descriptor against its ops.def row name: the same name, infer
 * and forward present, a coherent opset range and required-input counts.
 * NULL if fine, else what is wrong (a static string). */
const char *gcam_op_check_desc(const gcam_op *op, const char *row);
/* The same for ops.def row i, which also must not repeat an earlier row. */
const char *gcam_op_check(int i);
int gcam_op_count(void);
const gcam_op *gcam_op_at(int i);
const char *gcam_op_name_at(int i);

/* ---- kernels (src/kernels) ------------------------------------------------ */
/* Row-major C = alpha * op(A) * op(B) + beta * C.  op(A) is MxK, op(B) is KxN. */
void gcam_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc);
/* The plain triple loop: test oracle for gcam_sgemm. */
void gcam_sgemm_ref(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                    float *C, int64_t ldc);
const char *gcam_gemm_backend(void);

/* ---- broadcasting helper --------------------------------------------------- */
/* Numpy-style broadcast of a and b shapes into out; returns 0 or -1 if incompatible. */
int gcam_broadcast_shape(const int64_t *a, int na, const int64_t *b, int nb, int64_t *out,
                         int *nout);

/* ---- small utils ---------------------------------------------------------- */
double gcam_now_ms(void);

#endif
