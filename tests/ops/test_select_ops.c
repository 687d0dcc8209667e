/* Comparison, logic and selection ops (compare.c, logic.c, where.c,
 * expand.c, tile.c, mod.c, variadic.c, constantofshape.c, range.c, size.c):
 * values written out by hand, gradients against finite differences. */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

/* A constant input of any stored type. */
static int typed_input(tnode *t, int dtype, const int64_t *dims, int nd, const void *data)
{
    static int64_t zeros[64];
    int i = tn_input_i64(t, dims, nd, zeros);
    gcam_tensor *x = t->in[i];
    x->dtype = dtype;
    free(x->data);
    size_t b = gcam_tensor_bytes(x);
    x->data = calloc(b ? b : 1, 1);
    memcpy(x->data, data, b);
    return i;
}

static const uint8_t *bools(tnode *t) { return (const uint8_t *)t->out[0]->data; }

GCAM_TEST(compare_ops_broadcast_and_types)
{
    /* [2,3] against [3]: Less, Equal, GreaterOrEqual on float32, Greater on int32 */
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {2, 2, 7};
    const char *ops[3] = {"Less", "Equal", "GreaterOrEqual"};
    const uint8_t want[3][6] = {{1, 0, 1, 0, 0, 1}, {0, 1, 0, 0, 0, 0}, {0, 1, 0, 1, 1, 0}};
    for (int k = 0; k < 3; k++) {
        tnode *t = tn_new(ops[k], 13);
        tn_input_f32(t, (int64_t[]){2, 3}, 2, a, 1);
        tn_input_f32(t, (int64_t[]){3}, 1, b, 1);
        CHECK_MSG(tn_run(t) == 0, "%s: %s", ops[k], t->err.msg);
        CHECK(t->out[0]->dtype == GCAM_DT_BOOL && t->out[0]->ndim == 2 && t->out[0]->dims[1] == 3);
        for (int i = 0; i < 6; i++) CHECK_MSG(bools(t)[i] == want[k][i], "%s [%d]", ops[k], i);
        tn_free(t);
    }
    tnode *t = tn_new("Greater", 13);
    typed_input(t, GCAM_DT_I32, (int64_t[]){3}, 1, (int32_t[]){-70000, 0, 5});
    typed_input(t, GCAM_DT_I32, (int64_t[]){1}, 1, (int32_t[]){0});
    CHECK(tn_run(t) == 0);
    CHECK(bools(t)[0] == 0 && bools(t)[1] == 0 && bools(t)[2] == 1);
    tn_free(t);
    /* mixed types are a model error, not a silent conversion */
    t = tn_new("Equal", 13);
    tn_input_f32(t, (int64_t[]){1}, 1, a, 1);
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){1});
    CHECK(tn_run(t) == GCAM_E_DTYPE);
    tn_free(t);
}

GCAM_TEST(logic_ops_truth_tables)
{
    const uint8_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
    const char *ops[3] = {"And", "Or", "Xor"};
    const uint8_t want[3][4] = {{0, 0, 0, 1}, {0, 1, 1, 1}, {0, 1, 1, 0}};
    for (int k = 0; k < 3; k++) {
        tnode *t = tn_new(ops[k], 7);
        typed_input(t, GCAM_DT_BOOL, (int64_t[]){4}, 1, a);
        typed_input(t, GCAM_DT_BOOL, (int64_t[]){4}, 1, b);
        CHECK(tn_run(t) == 0);
        for (int i = 0; i < 4; i++) CHECK_MSG(bools(t)[i] == want[k][i], "%s [%d]", ops[k], i);
        tn_free(t);
    }
    tnode *t = tn_new("Not", 1);
    typed_input(t, GCAM_DT_BOOL, (int64_t[]){4}, 1, a);
    CHECK(tn_run(t) == 0);
    CHECK(bools(t)[0] == 1 && bools(t)[3] == 0);
    tn_free(t);
}

GCAM_TEST(where_values_and_gradient)
{
    /* cond [2,1] broadcast against x [2,3] and y [3] */
    const uint8_t m[2] = {1, 0};
    const float x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {-1, -2, -3};
    tnode *t = tn_new("Where", 16);
    typed_input(t, GCAM_DT_BOOL, (int64_t[]){2, 1}, 2, m);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    tn_input_f32(t, (int64_t[]){3}, 1, y, 0);
    CHECK(tn_run(t) == 0);
    const float want[6] = {1, 2, 3, -1, -2, -3};
    CHECK(tn_maxdiff(tn_out(t, 0), want, 6) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(expand_and_tile_values_and_gradient)
{
    const float x[3] = {1, 2, 3};
    tnode *t = tn_new("Expand", 13);
    tn_input_f32(t, (int64_t[]){3, 1}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){3}, 1, (int64_t[]){2, 1, 2}); /* -> [2,3,2] */
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 3 && t->out[0]->dims[0] == 2 && t->out[0]->dims[1] == 3 && t->out[0]->dims[2] == 2);
    const float we[12] = {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3};
    CHECK(tn_maxdiff(tn_out(t, 0), we, 12) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);

    t = tn_new("Tile", 13);
    tn_input_f32(t, (int64_t[]){1, 3}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){2, 2});
    CHECK(tn_run(t) == 0);
    const float wt[12] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3};
    CHECK(t->out[0]->dims[0] == 2 && t->out[0]->dims[1] == 6);
    CHECK(tn_maxdiff(tn_out(t, 0), wt, 12) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(mod_signs_and_gradient)
{
    /* Python's % (sign of the divisor) and C's fmod (sign of the dividend) */
    const int32_t a[4] = {7, -7, 7, -7}, b[4] = {3, 3, -3, -3};
    const int32_t py[4] = {1, 2, -2, -1}, cf[4] = {1, -1, 1, -1};
    for (int f = 0; f < 2; f++) {
        tnode *t = tn_new("Mod", 13);
        tn_attr_int(t, "fmod", f);
        typed_input(t, GCAM_DT_I32, (int64_t[]){4}, 1, a);
        typed_input(t, GCAM_DT_I32, (int64_t[]){4}, 1, b);
        CHECK(tn_run(t) == 0);
        for (int i = 0; i < 4; i++) CHECK_MSG(((int32_t *)t->out[0]->data)[i] == (f ? cf : py)[i], "fmod %d [%d]", f, i);
        tn_free(t);
    }
    tnode *t = tn_new("Mod", 13);
    tn_attr_int(t, "fmod", 1);
    tn_input_f32(t, (int64_t[]){4}, 1, (float[]){5.3f, -5.3f, 2.2f, 0.7f}, 0);
    tn_input_f32(t, (int64_t[]){4}, 1, (float[]){2.0f, 2.0f, -1.5f, 0.4f}, 0);
    CHECK(tn_run(t) == 0);
    CHECK(fabsf(tn_out(t, 0)[0] - 1.3f) < 1e-6f && fabsf(tn_out(t, 0)[1] + 1.3f) < 1e-6f);
    CHECK(tn_fd_check(t, 1e-2) == 0);
    tn_free(t);
    t = tn_new("Mod", 13);
    typed_input(t, GCAM_DT_I32, (int64_t[]){1}, 1, (int32_t[]){1});
    typed_input(t, GCAM_DT_I32, (int64_t[]){1}, 1, (int32_t[]){0});
    CHECK(tn_run(t) == GCAM_E_RANGE);
    tn_free(t);
}

GCAM_TEST(variadic_sum_mean_min_max)
{
    const float a[6] = {1, -2, 3, -4, 5, -6}, b[3] = {0.5f, 0.25f, -8}, c[1] = {2};
    const char *ops[4] = {"Sum", "Mean", "Min", "Max"};
    for (int k = 0; k < 4; k++) {
        tnode *t = tn_new(ops[k], 13);
        tn_input_f32(t, (int64_t[]){2, 3}, 2, a, 0);
        tn_input_f32(t, (int64_t[]){3}, 1, b, 0);
        tn_input_f32(t, (int64_t[]){1}, 1, c, 0);
        CHECK_MSG(tn_run(t) == 0, "%s: %s", ops[k], t->err.msg);
        for (int i = 0; i < 6; i++) {
            float u = a[i], v = b[i % 3], w = c[0];
            float want = k == 0 ? u + v + w : k == 1 ? (u + v + w) / 3 : k == 2 ? fminf(u, fminf(v, w)) : fmaxf(u, fmaxf(v, w));
            CHECK_MSG(fabsf(tn_out(t, 0)[i] - want) < 1e-6f, "%s [%d] = %g, want %g", ops[k], i, tn_out(t, 0)[i], want);
        }
        CHECK_MSG(tn_fd_check(t, 1e-3) == 0, "%s gradient", ops[k]);
        tn_free(t);
    }
}

GCAM_TEST(constantofshape_range_size)
{
    gcam_tensor v = {.dtype = GCAM_DT_I32, .ndim = 1, .dims = {1}, .data = (int32_t[]){7}};
    tnode *t = tn_new("ConstantOfShape", 9);
    tn_attr_tensor(t, "value", &v);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){2, 3});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I32 && t->out[0]->dims[1] == 3 && ((int32_t *)t->out[0]->data)[5] == 7);
    tn_free(t);

    t = tn_new("Range", 11);
    tn_input_f32(t, NULL, 0, (float[]){1.0f}, 1);
    tn_input_f32(t, NULL, 0, (float[]){2.0f}, 1);
    tn_input_f32(t, NULL, 0, (float[]){0.3f}, 1);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dims[0] == 4 && fabsf(tn_out(t, 0)[3] - 1.9f) < 1e-6f);
    tn_free(t);
    t = tn_new("Range", 11);
    tn_input_i64(t, NULL, 0, (int64_t[]){10});
    tn_input_i64(t, NULL, 0, (int64_t[]){4});
    tn_input_i64(t, NULL, 0, (int64_t[]){-3});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dims[0] == 2 && ((int64_t *)t->out[0]->data)[1] == 7);
    tn_free(t);

    t = tn_new("Size", 13);
    tn_input_f32(t, (int64_t[]){2, 5, 3}, 3, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 0 && ((int64_t *)t->out[0]->data)[0] == 30);
    tn_free(t);
}

GCAM_TEST(compress_reversesequence_bitshift_windows)
{
    const float x[6] = {1, 2, 3, 4, 5, 6};
    tnode *t = tn_new("Compress", 11);
    tn_attr_int(t, "axis", 1);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    typed_input(t, GCAM_DT_BOOL, (int64_t[]){2}, 1, (uint8_t[]){0, 1}); /* shorter than the axis */
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dims[1] == 1 && tn_out(t, 0)[0] == 2 && tn_out(t, 0)[1] == 5);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);

    t = tn_new("ReverseSequence", 10);
    tn_attr_int(t, "time_axis", 1);
    tn_attr_int(t, "batch_axis", 0);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){2, 3});
    CHECK(tn_run(t) == 0);
    const float wr[6] = {2, 1, 3, 6, 5, 4};
    CHECK(tn_maxdiff(tn_out(t, 0), wr, 6) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);

    t = tn_new("BitShift", 11);
    tn_attr_str(t, "direction", "LEFT");
    typed_input(t, GCAM_DT_U8, (int64_t[]){3}, 1, (uint8_t[]){1, 3, 200});
    typed_input(t, GCAM_DT_U8, (int64_t[]){1}, 1, (uint8_t[]){2});
    CHECK(tn_run(t) == 0);
    CHECK(((uint8_t *)t->out[0]->data)[0] == 4 && ((uint8_t *)t->out[0]->data)[1] == 12 && ((uint8_t *)t->out[0]->data)[2] == 32);
    tn_free(t);

    t = tn_new("HannWindow", 17);
    tn_input_i64(t, NULL, 0, (int64_t[]){4});
    CHECK(tn_run(t) == 0);
    CHECK(fabsf(tn_out(t, 0)[0]) < 1e-7f && fabsf(tn_out(t, 0)[1] - 0.5f) < 1e-6f && fabsf(tn_out(t, 0)[2] - 1.0f) < 1e-6f);
    tn_free(t);
}
