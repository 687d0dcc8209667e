/* BatchNormalization (inference form): forward against the formula,
 * backward against finite differences. */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

static tnode *bn_node(const int64_t *xd, int ndim, int params_var, float eps, int set_eps)
{
    tnode *t = tn_new("BatchNormalization", 15);
    if (set_eps) tn_attr_float(t, "epsilon", eps);
    int64_t C = xd[1];
    float *v = malloc(sizeof(float) * (size_t)C);
    tn_input_f32(t, xd, ndim, NULL, 0);
    tn_input_f32(t, (int64_t[]){C}, 1, NULL, !params_var); /* scale */
    tn_input_f32(t, (int64_t[]){C}, 1, NULL, !params_var); /* B */
    tn_input_f32(t, (int64_t[]){C}, 1, NULL, !params_var); /* mean */
    for (int64_t c = 0; c < C; c++) v[c] = 0.5f + 0.3f * (float)c; /* var > 0 */
    tn_input_f32(t, (int64_t[]){C}, 1, v, !params_var);
    free(v);
    return t;
}

static void bn_check_forward(tnode *t, float eps)
{
    const gcam_tensor *x = t->in[0];
    int64_t N = x->dims[0], C = x->dims[1], S = gcam_numel(x) / (N * C);
    const float *xv = x->data, *sc = t->in[1]->data, *b = t->in[2]->data, *m = t->in[3]->data,
                *var = t->in[4]->data;
    double worst = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < S; i++) {
                int64_t k = (n * C + c) * S + i;
                double want = (xv[k] - m[c]) / sqrt((double)var[c] + eps) * sc[c] + b[c];
                worst = fmax(worst, fabs(want - tn_out(t, 0)[k]));
            }
    CHECK_MSG(worst < 1e-5, "max diff %g", worst);
}

GCAM_TEST(op_batchnorm_forward_backward)
{
    tnode *t = bn_node((int64_t[]){2, 3, 4, 5}, 4, 0, 0, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 4 && t->out[0]->dims[3] == 5);
    bn_check_forward(t, 1e-5f);
    if (gcam_test_failed()) return;
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);

    /* epsilon attribute, 2-D input (BatchNorm1d after a Linear) */
    t = bn_node((int64_t[]){3, 4}, 2, 0, 0.01f, 1);
    CHECK(tn_run(t) == 0);
    bn_check_forward(t, 0.01f);
    if (gcam_test_failed()) return;
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

/* scale, B, mean and var as activations: every gradient checks out. */
GCAM_TEST(op_batchnorm_param_gradients)
{
    tnode *t = bn_node((int64_t[]){2, 3, 2, 3}, 4, 1, 0.01f, 1);
    CHECK(tn_run(t) == 0);
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

GCAM_TEST(op_batchnorm_threads_match)
{
    tnode *t = bn_node((int64_t[]){2, 8, 40, 40}, 4, 0, 0, 0);
    CHECK(tn_run(t) == 0);
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .err = &t->err, .nthreads = 4};
    CHECK(t->node.op->forward(&c) == 0);
    bn_check_forward(t, 1e-5f);
    tn_free(t);
}

GCAM_TEST(op_batchnorm_errors)
{
    tnode *t = bn_node((int64_t[]){2, 3, 4, 5}, 4, 0, 0, 0);
    tn_attr_int(t, "training_mode", 1);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    CHECK(strstr(t->err.msg, "training_mode") != NULL);
    tn_free(t);

    /* per-channel params of the wrong length */
    t = tn_new("BatchNormalization", 15);
    tn_input_f32(t, (int64_t[]){1, 3, 2, 2}, 4, NULL, 0);
    for (int i = 0; i < 4; i++) tn_input_f32(t, (int64_t[]){2}, 1, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}
