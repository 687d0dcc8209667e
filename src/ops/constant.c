/* Constant: the output is the node's value attribute: "value" (a tensor in
 * the type the model stores, F16 already widened to F32 by the loader),
 * value_float(s) or value_int(s).  Its data is known at plan time, so the
 * engine folds it; forward only copies bytes, so any element type with a
 * known size passes through and the consuming op decides what it accepts
 * (a bool Constant feeding Dropout's training_mode, an int32 one feeding
 * Cast). */
#include "gcam_internal.h"

/* Finds the attribute that holds the value. */
static int value_attr(gcam_opctx *c, const gcam_attr **out)
{
    static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
    for (int i = 0; i < 3; i++)
        if (gcam_attr_find(c->node, unsupported[i]))
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "attribute %s not supported", unsupported[i]);
    static const char *const names[] = {"value", "value_float", "value_floats", "value_int", "value_ints"};
    static const int types[] = {GCAM_ATTR_TENSOR, GCAM_ATTR_FLOAT, GCAM_ATTR_FLOATS, GCAM_ATTR_INT,
                                GCAM_ATTR_INTS};
    for (int i = 0; i < 5; i++) {
        const gcam_attr *a = gcam_attr_find(c->node, names[i]);
        if (!a) continue;
        if (a->type != types[i] || (a->type == GCAM_ATTR_TENSOR && !a->t))
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "attribute %s has the wrong type", names[i]);
        *out = a;
        return GCAM_OK;
    }
    return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "no value attribute");
}

static int constant_infer(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    const gcam_attr *a;
    int rc = value_attr(c, &a);
    if (rc) return rc;
    switch (a->type) {
    case GCAM_ATTR_TENSOR: {
        const gcam_tensor *t = a->t;
        if (!gcam_dtype_size(t->dtype))
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "value of type %s (%d) not supported",
                                  gcam_dtype_name(t->dtype), t->dtype);
        if (gcam_numel(t) && !t->data) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "value tensor has no data");
        y->dtype = t->dtype;
        y->ndim = t->ndim;
        memcpy(y->dims, t->dims, sizeof t->dims);
        break;
    }
    case GCAM_ATTR_FLOAT:
    case GCAM_ATTR_INT:
        y->dtype = a->type == GCAM_ATTR_FLOAT ? GCAM_DT_F32 : GCAM_DT_I64;
        y->ndim = 0;
        break;
    default: /* FLOATS, INTS: 1-D */
        y->dtype = a->type == GCAM_ATTR_FLOATS ? GCAM_DT_F32 : GCAM_DT_I64;
        y->ndim = 1;
        y->dims[0] = a->n;
        break;
    }
    return GCAM_OK;
}

static int constant_forward(gcam_opctx *c)
{
    gcam_tensor *y = c->out[0];
    const gcam_attr *a;
    int rc = value_attr(c, &a);
    if (rc) return rc;
    size_t bytes = gcam_tensor_bytes(y);
    switch (a->type) {
    case GCAM_ATTR_TENSOR:
        if (bytes) memcpy(y->data, a->t->data, bytes);
        break;
    case GCAM_ATTR_FLOAT: *gcam_f32(y) = a->f; break;
    case GCAM_ATTR_INT: *gcam_i64(y) = a->i; break;
    case GCAM_ATTR_FLOATS:
        if (bytes) memcpy(y->data, a->floats, bytes);
        break;
    default:
        if (bytes) memcpy(y->data, a->ints, bytes);
        break;
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Constant = {
    .op_type = "Constant", .since = 1, .required = 0,
    .infer = constant_infer,
    .forward = constant_forward,
};
