#include "op_harness.h"
#include "test.h"

GCAM_TEST(op_identity_forward_backward)
{
    tnode *t = tn_new("Identity", 13);
    int64_t d[2] = {3, 4};
    tn_input_f32(t, d, 2, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 2 && t->out[0]->dims[1] == 4);
    CHECK(tn_maxdiff(tn_out(t, 0), t->in[0]->data, 12) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}
