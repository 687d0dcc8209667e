/* Comparisons: Equal, Less, LessOrEqual, Greater, GreaterOrEqual.  bool
 * output, numpy broadcasting, operands of one type (float32, any integer,
 * bool for Equal).  Floats compare as IEEE (NaN unequal to all); integers
 * exactly through int64.  No gradient: the bool output is off every path. */
#include "kernels/dtype.h"

enum { EQ, LT, LE, GT, GE };

static int which(const gcam_node *n)
{
    const char *t = n->op_type;
    return !strcmp(t, "Equal") ? EQ : !strcmp(t, "Less") ? LT : !strcmp(t, "LessOrEqual") ? LE
         : !strcmp(t, "Greater") ? GT : GE;
}

static int compare_infer(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1);
    if (!a || !b) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs 2 inputs");
    if (a->dtype != b->dtype)
        return gcam_node_errf(c, GCAM_E_DTYPE, "operand dtypes differ (%s and %s)", gcam_dtype_name(a->dtype),
                              gcam_dtype_name(b->dtype));
    if (!gcam_dt_stored(a->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(a->dtype));
    c->out[0]->dtype = GCAM_DT_BOOL;
    return gcam_bcast_infer_n(c, 0, 2, c->out[0]);
}

static int compare_forward(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1);
    gcam_tensor *y = c->out[0];
    int64_t sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
    gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
    const int op = which(c->node), fl = a->dtype == GCAM_DT_F32;
    uint8_t *out = y->data;
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) {
        int64_t ia = gcam_boff(i, y->dims, y->ndim, sa), ib = gcam_boff(i, y->dims, y->ndim, sb);
        int r;
        if (fl) {
            float u = gcam_f32(a)[ia], v = gcam_f32(b)[ib];
            r = op == EQ ? u == v : op == LT ? u < v : op == LE ? u <= v : op == GT ? u > v : u >= v;
        } else if (a->dtype == GCAM_DT_U64) {
            uint64_t u = (uint64_t)gcam_get_i(a->data, a->dtype, ia), v = (uint64_t)gcam_get_i(b->data, b->dtype, ib);
            r = op == EQ ? u == v : op == LT ? u < v : op == LE ? u <= v : op == GT ? u > v : u >= v;
        } else {
            int64_t u = gcam_get_i(a->data, a->dtype, ia), v = gcam_get_i(b->data, b->dtype, ib);
            r = op == EQ ? u == v : op == LT ? u < v : op == LE ? u <= v : op == GT ? u > v : u >= v;
        }
        out[i] = (uint8_t)r;
    }
    return GCAM_OK;
}

#define COMPARE_OP(Name) \
    const gcam_op gcam_op_##Name = {.op_type = #Name, .since = 6, .required = 2, .infer = compare_infer, .forward = compare_forward};
COMPARE_OP(Equal)
COMPARE_OP(Less)
COMPARE_OP(LessOrEqual)
COMPARE_OP(Greater)
COMPARE_OP(GreaterOrEqual)
