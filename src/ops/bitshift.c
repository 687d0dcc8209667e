/* BitShift: x << s or x >> s (direction "LEFT" / "RIGHT") on unsigned
 * integers, numpy broadcasting; shifts of the type's width or more give 0. */
#include "kernels/dtype.h"

static int bs_infer(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1);
    if (a->dtype != b->dtype || !gcam_dt_is_unsigned(a->dtype) || a->dtype == GCAM_DT_BOOL)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "unsigned integer operands of one type only");
    const char *d = gcam_attr_str(c->node, "direction", "");
    if (strcmp(d, "LEFT") && strcmp(d, "RIGHT")) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "direction '%s'", d);
    c->out[0]->dtype = a->dtype;
    return gcam_bcast_infer_n(c, 0, 2, c->out[0]);
}

static int bs_forward(gcam_opctx *c)
{
    const gcam_tensor *a = c->in[0], *b = gcam_in(c, 1);
    gcam_tensor *y = c->out[0];
    const int left = !strcmp(gcam_attr_str(c->node, "direction", ""), "LEFT");
    const int bits = (int)gcam_dtype_size(y->dtype) * 8;
    int64_t sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
    gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
    gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
    for (int64_t i = 0, n = gcam_numel(y); i < n; i++) {
        uint64_t v = (uint64_t)gcam_get_i(a->data, a->dtype, gcam_boff(i, y->dims, y->ndim, sa));
        uint64_t s = (uint64_t)gcam_get_i(b->data, b->dtype, gcam_boff(i, y->dims, y->ndim, sb));
        v = s >= (uint64_t)bits ? 0 : left ? v << s : v >> s;
        gcam_set_i(y->data, y->dtype, i, (int64_t)v);
    }
    return GCAM_OK;
}

const gcam_op gcam_op_BitShift = {.op_type = "BitShift", .since = 6, .required = 2, .infer = bs_infer, .forward = bs_forward};
