#include <math.h>

#include "op_harness.h"
#include "test.h"

GCAM_TEST(op_layernorm_forward_reference_and_gradient)
{
    tnode *t = tn_new("LayerNormalization", 17);
    int64_t xd[3] = {2, 3, 5}, sd[1] = {5};
    tn_attr_int(t, "axis", -1);
    tn_attr_float(t, "epsilon", 1e-5f);
    tn_input_f32(t, xd, 3, NULL, 0);
    tn_input_f32(t, sd, 1, NULL, 1);
    tn_input_f32(t, sd, 1, NULL, 1);
    CHECK(tn_run(t) == 0);
    const float *x = t->in[0]->data, *s = t->in[1]->data, *b = t->in[2]->data, *y = tn_out(t, 0);
    for (int r = 0; r < 6; r++) {
        double mu = 0, var = 0;
        for (int j = 0; j < 5; j++) mu += x[r * 5 + j] / 5.0;
        for (int j = 0; j < 5; j++) var += (x[r * 5 + j] - mu) * (x[r * 5 + j] - mu) / 5.0;
        for (int j = 0; j < 5; j++)
            CHECK_NEAR(y[r * 5 + j], (x[r * 5 + j] - mu) / sqrt(var + 1e-5) * s[j] + b[j], 1e-5);
    }
    CHECK(tn_fd_check(t, 1e-2) == 0);
    tn_free(t);
}
