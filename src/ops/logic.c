/* Logical ops on bool tensors: And, Or, Xor (numpy broadcasting) and Not.
 * No gradient: bool tensors are off every path. */
#include "kernels/dtype.h"

static int logic_infer(gcam_opctx *c)
{
    const int unary = !strcmp(c->node->op_type, "Not"), n = unary ? 1 : 2;
    for (int k = 0; k < n; k++) {
        if (!gcam_in(c, k)) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs %d input%s", n, n > 1 ? "s" : "");
        if (gcam_in(c, k)->dtype != GCAM_DT_BOOL)
            return gcam_node_errf(c, GCAM_E_DTYPE, "input %d is %s, not bool", k, gcam_dtype_name(gcam_in(c, k)->dtype));
    }
    c->out[0]->dtype = GCAM_DT_BOOL;
    return gcam_bcast_infer_n(c, 0, n, c->out[0]);
}

static int logic_forward(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1);
    gcam_tensor *y = c->out[0];
    const char *t = c->node->op_type;
    const int op = t[0]; /* 'A'nd, 'O'r, 'X'or, 'N'ot */
    const uint8_t *pa = a->data;
    uint8_t *out = y->data;
    int64_t n = gcam_numel(y);
    if (op == 'N') {
        for (int64_t i = 0; i < n; i++) out[i] = !pa[i];
        return GCAM_OK;
    }
    const uint8_t *pb = b->data;
    int64_t sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
    gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
    for (int64_t i = 0; i < n; i++) {
        int u = pa[gcam_boff(i, y->dims, y->ndim, sa)] != 0, v = pb[gcam_boff(i, y->dims, y->ndim, sb)] != 0;
        out[i] = (uint8_t)(op == 'A' ? u && v : op == 'O' ? u || v : u != v);
    }
    return GCAM_OK;
}

#define LOGIC_OP(Name, SINCE, REQUIRED)                                                                 \
    const gcam_op gcam_op_##Name = {.op_type = #Name, .since = SINCE, .required = REQUIRED, .infer = logic_infer, \
                                    .forward = logic_forward};
LOGIC_OP(And, 6, 2)
LOGIC_OP(Or, 6, 2)
LOGIC_OP(Xor, 6, 2)
LOGIC_OP(Not, 1, 1)
