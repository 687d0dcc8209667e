#include "gcam_internal.h"
#include "test.h"

GCAM_TEST(registry_every_op_linked)
{
    int missing = 0;
    for (int i = 0; i < gcam_op_count(); i++) {
        if (!gcam_op_at(i)) {
            fprintf(stderr, "    op %s listed in ops.def but not linked\n", gcam_op_name_at(i));
            missing++;
            continue;
        }
        CHECK_MSG(strcmp(gcam_op_at(i)->op_type, gcam_op_name_at(i)) == 0, "op %s has op_type %s",
                  gcam_op_name_at(i), gcam_op_at(i)->op_type);
        CHECK_MSG(gcam_op_at(i)->infer && gcam_op_at(i)->forward, "op %s lacks infer/forward",
                  gcam_op_name_at(i));
    }
    CHECK(missing == 0);
}

/* The method list (GCAM_METHOD_LIST) round-trips and describes every method. */
GCAM_TEST(method_list_complete)
{
    for (int k = 0; k < GCAM_METHOD_COUNT; k++) {
        const char *name = gcam_method_name(k);
        CHECK(name != NULL);
        if (!name) continue;
        CHECK_MSG(gcam_method_parse(name) == k, "%s does not parse back to %d", name, k);
        CHECK(gcam_method_summary(k) && *gcam_method_summary(k));
        const int f = gcam_method_flags(k);
        CHECK_MSG(f & (GCAM_MF_LAYER | GCAM_MF_INPUT_GRAD | GCAM_MF_BATCHED), "%s needs nothing", name);
        CHECK_MSG(!(f & GCAM_MF_LAYER_GRAD) || (f & GCAM_MF_LAYER), "%s: layer gradient without a layer", name);
    }
    CHECK(gcam_method_name(GCAM_METHOD_COUNT) == NULL && gcam_method_summary(-1) == NULL);
    CHECK(gcam_method_flags(GCAM_METHOD_COUNT) == 0 && gcam_method_parse("nope") == -1);
    CHECK(gcam_method_flags(GCAM_METHOD_SCORECAM) == GCAM_MF_LAYER);
}
