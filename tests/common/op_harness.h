/* op_harness.h - run one op outside any graph, for op tests.
 *
 *   tnode *t = tn_new("Conv", 13);
 *   tn_attr_ints(t, "pads", 4, (int64_t[]){1,1,1,1});
 *   tn_input_f32(t, dims, 4, NULL, 0);      // NULL data = seeded random in [-1,1]
 *   tn_input_f32(t, wdims, 4, wdata, 1);    // 1 = constant (initializer): no gradient
 *   CHECK(tn_run(t) == 0);                  // init + infer + alloc + forward
 *   float *y = tn_out(t, 0);                // outputs: t->out[i]
 *   CHECK(tn_fd_check(t, 1e-2) == 0);       // backward vs central differences
 *   tn_free(t);
 */
#ifndef GCAM_OP_HARNESS_H
#define GCAM_OP_HARNESS_H
#include "gcam_internal.h"

#define TN_MAX 12
typedef struct tnode {
    gcam_node node;
    gcam_tensor tensors[2 * TN_MAX];
    gcam_tensor *in[TN_MAX], *out[TN_MAX];
    int n_in, n_out;
    int in_const[TN_MAX];
    void *scratch;
    gcam_err err;
    unsigned rng;
    int initialized;
    int64_t onehot; /* > 0: tn_fd_check's loss is output 0's element onehot - 1 alone */
    int nthreads;   /* tn_run's team size; 0: one thread */
} tnode;

tnode *tn_new(const char *op_type, int opset);
void tn_free(tnode *t);
void tn_attr_int(tnode *t, const char *name, int64_t v);
void tn_attr_float(tnode *t, const char *name, float v);
void tn_attr_str(tnode *t, const char *name, const char *v);
void tn_attr_ints(tnode *t, const char *name, int n, const int64_t *v);
void tn_attr_floats(tnode *t, const char *name, int n, const float *v);
/* A TENSOR attribute holding a deep copy of v (name, dims, dtype, data), flagged
 * GCAM_TF_OWNED | GCAM_TF_CONST; tn_free frees it. */
void tn_attr_tensor(tnode *t, const char *name, const gcam_tensor *v);
/* Adds an input.  data NULL = seeded uniform random in [-1, 1].  Returns its index. */
int tn_input_f32(tnode *t, const int64_t *dims, int ndim, const float *data, int is_const);
int tn_input_i64(tnode *t, const int64_t *dims, int ndim, const int64_t *data);
/* An omitted optional input (ONNX empty name). */
int tn_input_none(tnode *t);
/* Number of outputs (default 1); call before tn_run. */
void tn_outputs(tnode *t, int n);
/* init + infer + allocate outputs/scratch + forward.  Returns status; message in t->err.msg. */
int tn_run(tnode *t);
static inline float *tn_out(tnode *t, int i) { return (float *)t->out[i]->data; }
/* Checks backward against central finite differences for every non-constant
 * F32 input, with a random projection of the outputs as the loss.
 * Elements within `kink` of a non-differentiable point are the op's business:
 * tests should pick inputs away from kinks.  Returns 0 if max relative error
 * <= tol (error measured as |a-b| / max(1, |a|, |b|)), else nonzero and prints. */
int tn_fd_check(tnode *t, double tol);
/* Max abs difference between two float arrays. */
double tn_maxdiff(const float *a, const float *b, int64_t n);
#endif
