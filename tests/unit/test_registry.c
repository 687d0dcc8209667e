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
