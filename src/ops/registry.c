/* registry.c - the one table of ops, generated from ops.def.  The strong
 * references also make a static libgcam.a pull in every op's object. */
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

_Static_assert(sizeof op_table / sizeof op_table[0] == sizeof op_names / sizeof op_names[0],
               "op table and name table differ");

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
