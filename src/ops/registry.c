/* registry.c - the one table of ops, generated from ops.def.  The strong
 * references also make a static libgcam.a pull in every op's object.
 * Everything about an op beyond its row (opsets, required inputs, flags)
 * lives in its descriptor; gcam_op_check is the unit test's check of it. */
#include "gcam_internal.h"

#define GCAM_OP(name) extern const gcam_op gcam_op_##name;
#include "ops.def"
#undef GCAM_OP

static const gcam_op *const op_table[] = {
#define GCAM_OP(name) &gcam_op_##name,
#include "ops.def"
#undef GCAM_OP
};

static const char *const op_names[] = {
#define GCAM_OP(name) #name,
#include "ops.def"
#undef GCAM_OP
};

int gcam_op_count(void) { return (int)(sizeof op_table / sizeof op_table[0]); }

const gcam_op *gcam_op_at(int i)
{
    if (i < 0 || i >= gcam_op_count()) return NULL;
    return op_table[i];
}

const char *gcam_op_name_at(int i)
{
    if (i < 0 || i >= gcam_op_count()) return NULL;
    return op_names[i];
}

const gcam_op *gcam_op_lookup(const char *op_type)
{
    for (int i = 0; i < gcam_op_count(); i++)
        if (op_table[i] && strcmp(op_names[i], op_type) == 0) return op_table[i];
    return NULL;
}

int gcam_op_opset_ok(const gcam_op *op, int opset)
{
    const int until = op->until ? op->until : GCAM_OPSET_MAX;
    return !opset || (opset >= op->since && opset <= until);
}

int gcam_op_required(const gcam_op *op, int opset)
{
    return op->required_from && opset >= op->required_from ? op->required_then : op->required;
}

/* No ONNX op of ours requires more (QLinearConv, QLinearMatMul: 8). */
#define MAX_REQUIRED 8

const char *gcam_op_check_desc(const gcam_op *op, const char *row)
{
    if (!op) return "no descriptor";
    if (!op->op_type || !row || strcmp(op->op_type, row)) return "op_type differs from its ops.def row";
    if (!op->infer || !op->forward) return "no infer or forward";
    const int until = op->until ? op->until : GCAM_OPSET_MAX;
    if (op->since < 1 || op->since > until || until > GCAM_OPSET_MAX)
        return "opset range not within 1..GCAM_OPSET_MAX (since unset?)";
    if (op->required < 0 || op->required > MAX_REQUIRED) return "required inputs out of range";
    if (op->required_from &&
        (op->required_from <= op->since || op->required_from > until || op->required_then < 0 ||
         op->required_then > MAX_REQUIRED || op->required_then == op->required))
        return "incoherent change of required inputs (required_from, required_then)";
    if (op->param_slot < 0 || op->param_slot > MAX_REQUIRED || (op->param_slot && !(op->flags & GCAM_OPF_SHAPE_PARAMS)))
        return "param_slot without GCAM_OPF_SHAPE_PARAMS, or out of range";
    return NULL;
}

const char *gcam_op_check(int i)
{
    if (i < 0 || i >= gcam_op_count()) return "no such row";
    const char *why = gcam_op_check_desc(op_table[i], op_names[i]);
    for (int j = 0; j < i && !why; j++)
        if (op_table[j] == op_table[i] || !strcmp(op_names[j], op_names[i])) why = "listed twice in ops.def";
    return why;
}
