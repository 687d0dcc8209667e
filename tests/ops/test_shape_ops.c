/* Shape and data-movement ops: Flatten, Reshape, Transpose, Concat, Split,
 * Slice, Squeeze, Unsqueeze, Dropout, Pad, Constant, Shape, Gather, Cast.
 * Forward is checked against hand-computed values or a plain index-math
 * reference below; backward against finite differences (tn_fd_check). */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

static int dims_are(const gcam_tensor *y, int nd, const int64_t *d)
{
    if (y->ndim != nd) return 0;
    for (int i = 0; i < nd; i++)
        if (y->dims[i] != d[i]) return 0;
    return 1;
}

static const int64_t *i64out(tnode *t, int i) { return (const int64_t *)t->out[i]->data; }

/* A constant input of a type the harness has no helper for (int32, bool, double). */
static int raw_input(tnode *t, int dtype, const int64_t *dims, int nd, const void *data)
{
    int i = tn_input_i64(t, dims, nd, (int64_t[8]){0}); /* same bookkeeping, then retype */
    gcam_tensor *x = t->in[i];
    x->dtype = dtype;
    free(x->data);
    size_t b = gcam_tensor_bytes(x);
    x->data = calloc(b ? b : 1, 1);
    memcpy(x->data, data, b);
    return i;
}

static float iota_buf[512];
static const float *iota(void)
{
    for (int i = 0; i < 512; i++) iota_buf[i] = (float)i;
    return iota_buf;
}

/* ---- views: Flatten, Reshape, Squeeze, Unsqueeze, Dropout ---------------- */

GCAM_TEST(shape_flatten)
{
    const int64_t axes[] = {0, 1, 2, 4, -1, -4};
    const int64_t want[][2] = {{1, 120}, {2, 60}, {6, 20}, {120, 1}, {24, 5}, {1, 120}};
    for (int i = 0; i < 6; i++) {
        tnode *t = tn_new("Flatten", 13);
        tn_attr_int(t, "axis", axes[i]);
        tn_input_f32(t, (int64_t[]){2, 3, 4, 5}, 4, NULL, 0);
        CHECK(tn_run(t) == 0);
        CHECK_MSG(dims_are(t->out[0], 2, want[i]), "axis %lld", (long long)axes[i]);
        CHECK(tn_maxdiff(tn_out(t, 0), t->in[0]->data, 120) == 0.0);
        CHECK(tn_fd_check(t, 1e-3) == 0);
        tn_free(t);
    }
    tnode *t = tn_new("Flatten", 13);
    tn_attr_int(t, "axis", 5);
    tn_input_f32(t, (int64_t[]){2, 3, 4, 5}, 4, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
    /* int64 data */
    t = tn_new("Flatten", 13);
    tn_input_i64(t, (int64_t[]){2, 2, 1}, 3, (int64_t[]){1, 2, 3, 4});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I64 && dims_are(t->out[0], 2, (int64_t[]){2, 2}));
    CHECK(i64out(t, 0)[3] == 4);
    tn_free(t);
}

static tnode *reshape(const int64_t *xd, int nx, const int64_t *shape, int ns, int allowzero)
{
    tnode *t = tn_new("Reshape", 14);
    if (allowzero) tn_attr_int(t, "allowzero", 1);
    tn_input_f32(t, xd, nx, NULL, 0);
    tn_input_i64(t, (int64_t[]){ns}, 1, shape);
    return t;
}

GCAM_TEST(shape_reshape)
{
    /* the ONNX test_reshape_* shapes, input [2,3,4] */
    struct {
        int n;
        int64_t shape[4], want[4];
    } cases[] = {
        {4, {2, 3, 2, 2}, {2, 3, 2, 2}}, {3, {2, -1, 2}, {2, 6, 2}},     {4, {-1, 2, 3, 4}, {1, 2, 3, 4}},
        {1, {24}, {24}},                 {2, {2, 12}, {2, 12}},          {3, {4, 2, 3}, {4, 2, 3}},
        {4, {2, 0, 1, -1}, {2, 3, 1, 4}}, {4, {2, 0, 4, 1}, {2, 3, 4, 1}},
    };
    for (int i = 0; i < 8; i++) {
        tnode *t = reshape((int64_t[]){2, 3, 4}, 3, cases[i].shape, cases[i].n, 0);
        CHECK(tn_run(t) == 0);
        CHECK_MSG(dims_are(t->out[0], cases[i].n, cases[i].want), "case %d", i);
        CHECK(tn_maxdiff(tn_out(t, 0), t->in[0]->data, 24) == 0.0);
        if (i == 1) CHECK(tn_fd_check(t, 1e-3) == 0);
        tn_free(t);
    }
    /* allowzero: 0 is a real zero (test_reshape_allowzero_reordered) */
    tnode *t = reshape((int64_t[]){0, 3, 4}, 3, (int64_t[]){3, 4, 0}, 3, 1);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 3, (int64_t[]){3, 4, 0}));
    tn_free(t);
    /* errors */
    t = reshape((int64_t[]){2, 3, 4}, 3, (int64_t[]){-1, -1}, 2, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
    t = reshape((int64_t[]){2, 3, 4}, 3, (int64_t[]){5, -1}, 2, 0);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
    t = reshape((int64_t[]){2, 3, 4}, 3, (int64_t[]){2, 3}, 2, 0);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
    /* a shape computed at run time */
    t = tn_new("Reshape", 14);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, NULL, 0);
    tn_input_f32(t, (int64_t[]){1}, 1, (float[]){6}, 0);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    CHECK(strstr(t->err.msg, "dynamic shape") != NULL);
    tn_free(t);
    /* opset < 5: shape attribute */
    t = tn_new("Reshape", 1);
    tn_attr_ints(t, "shape", 2, (int64_t[]){-1, 4});
    tn_input_f32(t, (int64_t[]){2, 3, 4}, 3, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){6, 4}));
    tn_free(t);
}

GCAM_TEST(shape_squeeze_unsqueeze)
{
    /* opset 13: axes input */
    tnode *t = tn_new("Squeeze", 13);
    tn_input_f32(t, (int64_t[]){1, 3, 1, 5}, 4, NULL, 0);
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){-2});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 3, (int64_t[]){1, 3, 5}));
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* no axes: every size-1 dim */
    t = tn_new("Squeeze", 13);
    tn_input_f32(t, (int64_t[]){1, 3, 1, 5}, 4, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){3, 5}));
    tn_free(t);
    /* opset 11: attribute; squeezing a dim that is not 1 fails */
    t = tn_new("Squeeze", 11);
    tn_attr_ints(t, "axes", 1, (int64_t[]){1});
    tn_input_f32(t, (int64_t[]){1, 3}, 2, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
    /* to a scalar, int64 (shape chains squeeze [1] -> []) */
    t = tn_new("Squeeze", 13);
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){7});
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){0});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 0 && i64out(t, 0)[0] == 7);
    tn_free(t);

    /* Unsqueeze: unsorted axes index the output (test_unsqueeze_unsorted_axes) */
    t = tn_new("Unsqueeze", 13);
    tn_input_f32(t, (int64_t[]){3, 4, 5}, 3, NULL, 0);
    tn_input_i64(t, (int64_t[]){3}, 1, (int64_t[]){5, 4, 2});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 6, (int64_t[]){3, 4, 1, 5, 1, 1}));
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    t = tn_new("Unsqueeze", 11);
    tn_attr_ints(t, "axes", 1, (int64_t[]){-2});
    tn_input_f32(t, (int64_t[]){1, 3, 1, 5}, 4, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 5, (int64_t[]){1, 3, 1, 1, 5}));
    tn_free(t);
    t = tn_new("Unsqueeze", 13);
    tn_input_f32(t, (int64_t[]){3}, 1, NULL, 0);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){0, -3}); /* both name axis 0 of the rank-3 output */
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
}

GCAM_TEST(shape_dropout)
{
    tnode *t = tn_new("Dropout", 13);
    tn_input_f32(t, (int64_t[]){3, 4}, 2, NULL, 0);
    tn_input_f32(t, (int64_t[]){0}, 0, (float[]){0.5f}, 1);
    tn_outputs(t, 2);
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), t->in[0]->data, 12) == 0.0);
    CHECK(t->out[1]->dtype == GCAM_DT_BOOL && dims_are(t->out[1], 2, (int64_t[]){3, 4}));
    for (int i = 0; i < 12; i++) CHECK(((unsigned char *)t->out[1]->data)[i] == 1);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* training mode would drop at random */
    t = tn_new("Dropout", 13);
    tn_input_f32(t, (int64_t[]){3}, 1, NULL, 0);
    tn_input_f32(t, (int64_t[]){0}, 0, (float[]){0.5f}, 1);
    tn_input_i64(t, (int64_t[]){0}, 0, (int64_t[]){1}); /* a non-zero flag */
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);
    /* ...unless the ratio is 0 (test_training_dropout_zero_ratio) */
    t = tn_new("Dropout", 13);
    tn_input_f32(t, (int64_t[]){3}, 1, NULL, 0);
    tn_input_f32(t, (int64_t[]){0}, 0, (float[]){0}, 1);
    raw_input(t, GCAM_DT_BOOL, (int64_t[]){0}, 0, (unsigned char[]){1});
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), t->in[0]->data, 3) == 0.0);
    tn_free(t);
}

/* ---- Transpose ----------------------------------------------------------- */

/* plain reference: y[j] for every output multi-index j */
static void ref_transpose(const float *x, const int64_t *xd, int nd, const int64_t *perm, float *y)
{
    int64_t n = 1, idx[8] = {0}, st[8], s = 1;
    for (int d = nd - 1; d >= 0; d--) {
        st[d] = s;
        s *= xd[d];
    }
    n = s;
    for (int64_t o = 0; o < n; o++) {
        int64_t off = 0;
        for (int k = 0; k < nd; k++) off += idx[k] * st[perm[k]];
        y[o] = x[off];
        for (int k = nd - 1; k >= 0; k--) {
            if (++idx[k] < xd[perm[k]]) break;
            idx[k] = 0;
        }
    }
}

GCAM_TEST(shape_transpose)
{
    const int64_t perms[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 2, 3, 1}, {2, 0, 3, 1}, {1, 0, 2, 3}};
    const int64_t xd[4] = {2, 3, 4, 5};
    for (int p = 0; p < 5; p++) {
        tnode *t = tn_new("Transpose", 13);
        tn_attr_ints(t, "perm", 4, perms[p]);
        tn_input_f32(t, xd, 4, NULL, 0);
        CHECK(tn_run(t) == 0);
        for (int k = 0; k < 4; k++) CHECK(t->out[0]->dims[k] == xd[perms[p][k]]);
        float want[120];
        ref_transpose(t->in[0]->data, xd, 4, perms[p], want);
        CHECK_MSG(tn_maxdiff(tn_out(t, 0), want, 120) == 0.0, "perm %d", p);
        CHECK(tn_fd_check(t, 1e-3) == 0);
        tn_free(t);
    }
    /* default: reversed dims; int64 data */
    tnode *t = tn_new("Transpose", 13);
    tn_input_i64(t, (int64_t[]){2, 3}, 2, (int64_t[]){1, 2, 3, 4, 5, 6});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){3, 2}));
    const int64_t want[] = {1, 4, 2, 5, 3, 6};
    CHECK(memcmp(t->out[0]->data, want, sizeof want) == 0);
    tn_free(t);
    t = tn_new("Transpose", 13);
    tn_attr_ints(t, "perm", 2, (int64_t[]){0, 0});
    tn_input_f32(t, (int64_t[]){2, 3}, 2, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
}

/* Every permutation of a 4-D tensor large enough for two threads, with a
 * size-1 dim (dropped by the merged walk), against the plain reference:
 * contiguous runs (one copy each), the tiled 2-D transposes, and the
 * general walk; then a transformer's head split [197, 12, 64] -> [12, 197,
 * 64] and its K^T [12, 197, 64] -> [12, 64, 197]. */
GCAM_TEST(shape_transpose_paths)
{
    const int64_t xd[4] = {5, 1, 97, 141}, n = 5 * 97 * 141;
    float *want = malloc(sizeof(float) * (size_t)n);
    for (int p = 0; p < 24; p++) {
        int64_t perm[4], left[4] = {0, 1, 2, 3};
        for (int k = 0, q = p, m = 4; k < 4; k++, m--) { /* the p-th permutation */
            const int j = q % m;
            q /= m;
            perm[k] = left[j];
            for (int i = j; i + 1 < m; i++) left[i] = left[i + 1];
        }
        tnode *t = tn_new("Transpose", 13);
        t->nthreads = 2;
        tn_attr_ints(t, "perm", 4, perm);
        tn_input_f32(t, xd, 4, NULL, 0);
        CHECK(tn_run(t) == 0);
        ref_transpose(t->in[0]->data, xd, 4, perm, want);
        CHECK_MSG(tn_maxdiff(tn_out(t, 0), want, n) == 0.0, "perm %lld %lld %lld %lld", (long long)perm[0],
                  (long long)perm[1], (long long)perm[2], (long long)perm[3]);
        tn_free(t);
    }
    free(want);
    const int64_t heads[2][3] = {{1, 0, 2}, {0, 2, 1}}, hd[2][3] = {{197, 12, 64}, {12, 197, 64}};
    for (int h = 0; h < 2; h++) {
        const int64_t m = 197 * 12 * 64;
        float *w = malloc(sizeof(float) * (size_t)m);
        tnode *t = tn_new("Transpose", 13);
        t->nthreads = 2;
        tn_attr_ints(t, "perm", 3, heads[h]);
        tn_input_f32(t, hd[h], 3, NULL, 0);
        CHECK(tn_run(t) == 0);
        ref_transpose(t->in[0]->data, hd[h], 3, heads[h], w);
        CHECK_MSG(tn_maxdiff(tn_out(t, 0), w, m) == 0.0, "head case %d", h);
        tn_free(t);
        free(w);
    }
}

/* ---- Concat / Split ------------------------------------------------------- */

GCAM_TEST(shape_concat)
{
    /* [2,1,3] ++ [2,2,3] ++ [2,0,3] ++ [2,3,3] along axis -2 */
    tnode *t = tn_new("Concat", 13);
    tn_attr_int(t, "axis", -2);
    const int64_t h[4] = {1, 2, 0, 3};
    for (int i = 0; i < 4; i++) tn_input_f32(t, (int64_t[]){2, h[i], 3}, 3, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 3, (int64_t[]){2, 6, 3}));
    const float *y = tn_out(t, 0);
    for (int b = 0; b < 2; b++) {
        int row = 0;
        for (int i = 0; i < 4; i++)
            for (int r = 0; r < h[i]; r++, row++)
                for (int c = 0; c < 3; c++)
                    CHECK(y[(b * 6 + row) * 3 + c] == gcam_f32(t->in[i])[(b * h[i] + r) * 3 + c]);
    }
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* int64 1-D, as in shape chains */
    t = tn_new("Concat", 13);
    tn_attr_int(t, "axis", 0);
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){2});
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){-1, 7});
    CHECK(tn_run(t) == 0);
    CHECK(i64out(t, 0)[0] == 2 && i64out(t, 0)[1] == -1 && i64out(t, 0)[2] == 7);
    tn_free(t);
    /* mismatched dims */
    t = tn_new("Concat", 13);
    tn_attr_int(t, "axis", 0);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, NULL, 0);
    tn_input_f32(t, (int64_t[]){2, 4}, 2, NULL, 0);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}

GCAM_TEST(shape_split)
{
    const float *x = iota();
    /* opset 13, split input: [2,6] -> [2,2] + [2,4] */
    tnode *t = tn_new("Split", 13);
    tn_attr_int(t, "axis", 1);
    tn_input_f32(t, (int64_t[]){2, 6}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){2, 4});
    tn_outputs(t, 2);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){2, 2}) && dims_are(t->out[1], 2, (int64_t[]){2, 4}));
    const float w0[] = {0, 1, 6, 7}, w1[] = {2, 3, 4, 5, 8, 9, 10, 11};
    CHECK(tn_maxdiff(tn_out(t, 0), w0, 4) == 0.0 && tn_maxdiff(tn_out(t, 1), w1, 8) == 0.0);
    tn_free(t);
    /* random data for the gradient */
    t = tn_new("Split", 13);
    tn_attr_int(t, "axis", -1);
    tn_input_f32(t, (int64_t[]){3, 7}, 2, NULL, 0);
    tn_input_i64(t, (int64_t[]){3}, 1, (int64_t[]){1, 0, 6});
    tn_outputs(t, 3);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* opset 11: attribute; equal split by output count */
    t = tn_new("Split", 11);
    tn_attr_ints(t, "split", 2, (int64_t[]){1, 2});
    tn_input_f32(t, (int64_t[]){3, 2}, 2, x, 0);
    tn_outputs(t, 2);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[1], 2, (int64_t[]){2, 2}) && tn_out(t, 1)[0] == 2);
    tn_free(t);
    t = tn_new("Split", 13);
    tn_input_f32(t, (int64_t[]){6}, 1, x, 0);
    tn_outputs(t, 3);
    CHECK(tn_run(t) == 0);
    CHECK(tn_out(t, 2)[0] == 4 && tn_out(t, 2)[1] == 5);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    t = tn_new("Split", 13);
    tn_input_f32(t, (int64_t[]){7}, 1, x, 0);
    tn_outputs(t, 3);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
    /* opset 18 num_outputs: 7 -> 3, 3, 1 */
    t = tn_new("Split", 18);
    tn_attr_int(t, "num_outputs", 3);
    tn_input_f32(t, (int64_t[]){7}, 1, x, 0);
    tn_outputs(t, 3);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dims[0] == 3 && t->out[1]->dims[0] == 3 && t->out[2]->dims[0] == 1);
    CHECK(tn_out(t, 2)[0] == 6);
    tn_free(t);
    /* sizes that do not add up */
    t = tn_new("Split", 13);
    tn_input_f32(t, (int64_t[]){6}, 1, x, 0);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){2, 3});
    tn_outputs(t, 2);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}

/* ---- Slice ---------------------------------------------------------------- */

static tnode *slice(const int64_t *xd, int nd, const float *x, int n, const int64_t *starts, const int64_t *ends,
                    const int64_t *axes, const int64_t *steps)
{
    tnode *t = tn_new("Slice", 13);
    tn_input_f32(t, xd, nd, x, 0);
    tn_input_i64(t, (int64_t[]){n}, 1, starts);
    tn_input_i64(t, (int64_t[]){n}, 1, ends);
    if (axes || steps) {
        if (axes) tn_input_i64(t, (int64_t[]){n}, 1, axes);
        else tn_input_none(t);
    }
    if (steps) tn_input_i64(t, (int64_t[]){n}, 1, steps);
    return t;
}

GCAM_TEST(shape_slice)
{
    const float *x = iota(); /* x[i][j] = 10 i + j for a [20,10] view */
    /* test_slice: x[0:3, 0:10] */
    tnode *t = slice((int64_t[]){20, 10}, 2, x, 2, (int64_t[]){0, 0}, (int64_t[]){3, 10}, (int64_t[]){0, 1},
                     (int64_t[]){1, 1});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){3, 10}));
    CHECK(tn_maxdiff(tn_out(t, 0), x, 30) == 0.0);
    tn_free(t);
    /* test_slice_neg_steps on [20,10,5]: starts 20,10,4 ends 0,0,1 steps -1,-3,-2 -> [19,3,2] */
    t = slice((int64_t[]){20, 10, 5}, 3, NULL, 3, (int64_t[]){20, 10, 4}, (int64_t[]){0, 0, 1},
              (int64_t[]){0, 1, 2}, (int64_t[]){-1, -3, -2});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 3, (int64_t[]){19, 3, 2}));
    {
        const float *xi = t->in[0]->data, *y = tn_out(t, 0);
        for (int i = 0; i < 19; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 2; k++)
                    CHECK(y[(i * 3 + j) * 2 + k] == xi[((19 - i) * 10 + (9 - 3 * j)) * 5 + (4 - 2 * k)]);
    }
    tn_free(t);
    /* gradient with negative steps on a smaller tensor */
    t = slice((int64_t[]){4, 5, 3}, 3, NULL, 2, (int64_t[]){-1, 4}, (int64_t[]){-100, 0}, (int64_t[]){0, 1},
              (int64_t[]){-2, -1});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 3, (int64_t[]){2, 4, 3}));
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* clamping: end INT64_MAX, start beyond the dim (test_slice_start_out_of_bounds) */
    t = slice((int64_t[]){20, 10}, 2, x, 1, (int64_t[]){1}, (int64_t[]){INT64_MAX}, (int64_t[]){1}, NULL);
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){20, 9}));
    CHECK(tn_out(t, 0)[0] == 1 && tn_out(t, 0)[9] == 11);
    tn_free(t);
    t = slice((int64_t[]){20, 10}, 2, x, 1, (int64_t[]){1000}, (int64_t[]){1000}, (int64_t[]){1}, (int64_t[]){1});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){20, 0}));
    tn_free(t);
    /* reversal of the whole axis: start -1, end INT64_MIN, step -1 */
    t = slice((int64_t[]){5}, 1, x, 1, (int64_t[]){-1}, (int64_t[]){INT64_MIN}, NULL, (int64_t[]){-1});
    CHECK(tn_run(t) == 0);
    const float rev[] = {4, 3, 2, 1, 0};
    CHECK(dims_are(t->out[0], 1, (int64_t[]){5}) && tn_maxdiff(tn_out(t, 0), rev, 5) == 0.0);
    tn_free(t);
    /* a huge step takes one element */
    t = slice((int64_t[]){5}, 1, x, 1, (int64_t[]){2}, (int64_t[]){5}, NULL, (int64_t[]){INT64_MAX});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 1, (int64_t[]){1}) && tn_out(t, 0)[0] == 2);
    tn_free(t);
    /* int64 data: shape[2:] of a shape vector */
    t = tn_new("Slice", 13);
    tn_input_i64(t, (int64_t[]){4}, 1, (int64_t[]){1, 3, 224, 224});
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){2});
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){INT64_MAX});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I64 && t->out[0]->dims[0] == 2 && i64out(t, 0)[1] == 224);
    tn_free(t);
    /* opset 9: attributes */
    t = tn_new("Slice", 9);
    tn_attr_ints(t, "starts", 1, (int64_t[]){1});
    tn_attr_ints(t, "ends", 1, (int64_t[]){-1});
    tn_attr_ints(t, "axes", 1, (int64_t[]){0});
    tn_input_f32(t, (int64_t[]){5}, 1, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dims[0] == 3 && tn_out(t, 0)[0] == 1 && tn_out(t, 0)[2] == 3);
    tn_free(t);
    /* step 0 */
    t = slice((int64_t[]){5}, 1, x, 1, (int64_t[]){0}, (int64_t[]){5}, NULL, (int64_t[]){0});
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
}

/* ---- Pad ------------------------------------------------------------------ */

static tnode *pad(const char *mode, const int64_t *xd, int nd, const float *x, const int64_t *pads)
{
    tnode *t = tn_new("Pad", 13);
    tn_attr_str(t, "mode", mode);
    tn_input_f32(t, xd, nd, x, 0);
    tn_input_i64(t, (int64_t[]){2 * nd}, 1, pads);
    return t;
}

GCAM_TEST(shape_pad_forward)
{
    const float x[] = {1, 2, 3, 4, 5, 6}; /* [2,3] */
    /* numpy: np.pad(x, ((1,0),(2,1)), mode) */
    const float cst[] = {9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9};
    const float refl[] = {6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5};
    const float edge[] = {1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6};
    const float wrap[] = {5, 6, 4, 5, 6, 4, 2, 3, 1, 2, 3, 1, 5, 6, 4, 5, 6, 4};
    const char *modes[] = {"constant", "reflect", "edge", "wrap"};
    const float *want[] = {cst, refl, edge, wrap};
    for (int m = 0; m < 4; m++) {
        tnode *t = tn_new("Pad", 19);
        tn_attr_str(t, "mode", modes[m]);
        tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
        tn_input_i64(t, (int64_t[]){4}, 1, (int64_t[]){1, 2, 0, 1});
        tn_input_f32(t, (int64_t[]){0}, 0, (float[]){9}, 1);
        CHECK(tn_run(t) == 0);
        CHECK(dims_are(t->out[0], 2, (int64_t[]){3, 6}));
        CHECK_MSG(tn_maxdiff(tn_out(t, 0), want[m], 18) == 0.0, "mode %s", modes[m]);
        tn_free(t);
    }
    /* reflect wider than the dim folds again: np.pad([1,2,3], 5, 'reflect') */
    const float far[] = {2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2};
    tnode *t = pad("reflect", (int64_t[]){3}, 1, x, (int64_t[]){5, 5});
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), far, 13) == 0.0);
    tn_free(t);
    /* negative pads crop */
    t = pad("constant", (int64_t[]){2, 3}, 2, x, (int64_t[]){0, -1, -1, 1});
    CHECK(tn_run(t) == 0);
    const float crop[] = {2, 3, 0};
    CHECK(dims_are(t->out[0], 2, (int64_t[]){1, 3}) && tn_maxdiff(tn_out(t, 0), crop, 3) == 0.0);
    tn_free(t);
    /* opset 2: attributes */
    t = tn_new("Pad", 2);
    tn_attr_ints(t, "pads", 2, (int64_t[]){1, 1});
    tn_attr_float(t, "value", 7);
    tn_input_f32(t, (int64_t[]){1}, 1, x, 0);
    CHECK(tn_run(t) == 0);
    const float a2[] = {7, 1, 7};
    CHECK(tn_maxdiff(tn_out(t, 0), a2, 3) == 0.0);
    tn_free(t);
    /* opset 18: axes input */
    t = tn_new("Pad", 18);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){1, 0});
    tn_input_none(t);
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){-1});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 2, (int64_t[]){2, 4}) && tn_out(t, 0)[0] == 0 && tn_out(t, 0)[1] == 1);
    tn_free(t);
    /* int64 data with an int64 fill */
    t = tn_new("Pad", 13);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){5, 6});
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){1, 2});
    tn_input_i64(t, (int64_t[]){0}, 0, (int64_t[]){-3});
    CHECK(tn_run(t) == 0);
    const int64_t wi[] = {-3, 5, 6, -3, -3};
    CHECK(memcmp(t->out[0]->data, wi, sizeof wi) == 0);
    tn_free(t);
    /* bad mode, bad pads */
    t = pad("mirror", (int64_t[]){3}, 1, x, (int64_t[]){1, 1});
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);
    t = pad("constant", (int64_t[]){3}, 1, x, (int64_t[]){-2, -2});
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}

GCAM_TEST(shape_pad_backward)
{
    const char *modes[] = {"constant", "reflect", "edge", "wrap"};
    for (int m = 0; m < 4; m++) {
        tnode *t = pad(modes[m], (int64_t[]){2, 3, 4}, 3, NULL, (int64_t[]){0, 2, 3, 1, 1, 2});
        CHECK_MSG(tn_fd_check(t, 1e-3) == 0, "mode %s", modes[m]);
        tn_free(t);
    }
    /* with cropping on one side */
    tnode *t = pad("reflect", (int64_t[]){3, 5}, 2, NULL, (int64_t[]){-1, 3, 1, -2});
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

/* ---- Constant, Shape ------------------------------------------------------ */

GCAM_TEST(shape_constant)
{
    static float fv[] = {1.5f, -2, 3};
    static gcam_tensor tv = {.dtype = GCAM_DT_F32, .ndim = 2, .dims = {1, 3}, .data = fv, .flags = GCAM_TF_CONST};
    tnode *t = tn_new("Constant", 13);
    tn_attr_tensor(t, "value", &tv);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_F32 && dims_are(t->out[0], 2, (int64_t[]){1, 3}));
    CHECK(tn_maxdiff(tn_out(t, 0), fv, 3) == 0.0);
    CHECK(t->node.op->backward == NULL);
    tn_free(t);

    t = tn_new("Constant", 13);
    tn_attr_ints(t, "value_ints", 3, (int64_t[]){4, -1, 2});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I64 && dims_are(t->out[0], 1, (int64_t[]){3}) && i64out(t, 0)[1] == -1);
    tn_free(t);

    t = tn_new("Constant", 13);
    tn_attr_float(t, "value_float", 0.25f);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 0 && tn_out(t, 0)[0] == 0.25f);
    tn_free(t);

    /* a bool tensor passes through as bytes */
    static unsigned char bv[] = {0};
    static gcam_tensor tb = {.dtype = GCAM_DT_BOOL, .ndim = 0, .data = bv, .flags = GCAM_TF_CONST};
    t = tn_new("Constant", 13);
    tn_attr_tensor(t, "value", &tb);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_BOOL && t->out[0]->ndim == 0 && *(unsigned char *)t->out[0]->data == 0);
    tn_free(t);

    t = tn_new("Constant", 13);
    tn_attr_str(t, "value_string", "x");
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);
}

GCAM_TEST(shape_shape)
{
    struct {
        int64_t start, end, has_start, has_end, n, first;
    } cases[] = {{0, 0, 0, 0, 3, 3}, {1, 0, 1, 0, 2, 4}, {-1, 0, 1, 0, 1, 5}, {0, 1, 0, 1, 1, 3},
                 {1, -1, 1, 1, 1, 4}, {-10, 10, 1, 1, 3, 3}, {2, 1, 1, 1, 0, 0}};
    for (int i = 0; i < 7; i++) {
        tnode *t = tn_new("Shape", 15);
        if (cases[i].has_start) tn_attr_int(t, "start", cases[i].start);
        if (cases[i].has_end) tn_attr_int(t, "end", cases[i].end);
        tn_input_f32(t, (int64_t[]){3, 4, 5}, 3, NULL, 0);
        CHECK(tn_run(t) == 0);
        CHECK(t->out[0]->dtype == GCAM_DT_I64 && t->out[0]->ndim == 1);
        CHECK_MSG(t->out[0]->dims[0] == cases[i].n, "case %d", i);
        if (cases[i].n) CHECK(i64out(t, 0)[0] == cases[i].first);
        CHECK(t->node.op->flags & GCAM_OPF_SHAPE_ONLY);
        tn_free(t);
    }
}

/* ---- Gather, Cast ----------------------------------------------------------- */

GCAM_TEST(shape_gather)
{
    const float *x = iota();
    /* axis 1 of [3,4] with 2-D indices [[3,-4],[1,1]] -> [3,2,2] */
    tnode *t = tn_new("Gather", 13);
    tn_attr_int(t, "axis", 1);
    tn_input_f32(t, (int64_t[]){3, 4}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2, 2}, 2, (int64_t[]){3, -4, 1, 1});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 3, (int64_t[]){3, 2, 2}));
    const float want[] = {3, 0, 1, 1, 7, 4, 5, 5, 11, 8, 9, 9};
    CHECK(tn_maxdiff(tn_out(t, 0), want, 12) == 0.0);
    tn_free(t);
    /* gradient with repeated indices accumulates */
    t = tn_new("Gather", 13);
    tn_attr_int(t, "axis", -2);
    tn_input_f32(t, (int64_t[]){2, 5, 3}, 3, NULL, 0);
    tn_input_i64(t, (int64_t[]){4}, 1, (int64_t[]){4, 0, 4, -1});
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* scalar index into an int64 shape vector -> scalar */
    t = tn_new("Gather", 13);
    tn_input_i64(t, (int64_t[]){4}, 1, (int64_t[]){1, 3, 224, 225});
    tn_input_i64(t, NULL, 0, (int64_t[]){-1});
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I64 && t->out[0]->ndim == 0 && i64out(t, 0)[0] == 225);
    tn_free(t);
    /* out of range */
    t = tn_new("Gather", 13);
    tn_input_f32(t, (int64_t[]){3}, 1, x, 0);
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){3});
    CHECK(tn_run(t) == GCAM_E_RANGE);
    tn_free(t);
}

GCAM_TEST(shape_cast)
{
    const float xf[] = {1.9f, -1.9f, 0.0f, 1e20f, -3.5f};
    tnode *t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_I64);
    tn_input_f32(t, (int64_t[]){5}, 1, xf, 0);
    CHECK(tn_run(t) == 0);
    const int64_t wi[] = {1, -1, 0, INT64_MAX, -3};
    CHECK(t->out[0]->dtype == GCAM_DT_I64 && memcmp(t->out[0]->data, wi, sizeof wi) == 0);
    tn_free(t);

    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_F32);
    tn_input_i64(t, (int64_t[]){3}, 1, (int64_t[]){7, -2, 1 << 20});
    CHECK(tn_run(t) == 0);
    CHECK(tn_out(t, 0)[0] == 7 && tn_out(t, 0)[1] == -2 && tn_out(t, 0)[2] == (float)(1 << 20));
    tn_free(t);

    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_F32);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, NULL, 0);
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), t->in[0]->data, 6) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);

    /* stored types constants keep: int32, bool (float64 is float32 once loaded) */
    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_I64);
    raw_input(t, GCAM_DT_I32, (int64_t[]){3}, 1, (int32_t[]){-5, 0, 70000});
    CHECK(tn_run(t) == 0);
    CHECK(i64out(t, 0)[0] == -5 && i64out(t, 0)[2] == 70000);
    tn_free(t);
    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_F32);
    raw_input(t, GCAM_DT_BOOL, (int64_t[]){3}, 1, (unsigned char[]){1, 0, 1});
    CHECK(tn_run(t) == 0);
    CHECK(tn_out(t, 0)[0] == 1 && tn_out(t, 0)[1] == 0 && tn_out(t, 0)[2] == 1);
    tn_free(t);
    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_I64);
    tn_input_f32(t, (int64_t[]){3}, 1, (float[]){-2.7f, 1e30f, 0.0f / 0.0f}, 1);
    CHECK(tn_run(t) == 0);
    CHECK(i64out(t, 0)[0] == -2 && i64out(t, 0)[1] == INT64_MAX && i64out(t, 0)[2] == 0);
    tn_free(t);

    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_F16);
    /* float16 is float32 inside: the values are rounded to float16's grid,
     * ties to even, overflow to inf */
    tn_input_f32(t, (int64_t[]){5}, 1, (float[]){1.0f + 1.0f / 4096, 1.0f + 3.0f / 4096, 70000.0f, 1e-8f, -0.1f}, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_F32);
    CHECK(tn_out(t, 0)[0] == 1.0f && tn_out(t, 0)[1] == 1.0f + 1.0f / 1024 && isinf(tn_out(t, 0)[2]));
    CHECK(tn_out(t, 0)[3] == 0.0f && fabsf(tn_out(t, 0)[4] + 0.0999755859375f) == 0.0f);
    tn_free(t);

    /* bfloat16: the top 16 bits (truncated, as ONNX 1.12's reference) */
    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", 16);
    tn_input_f32(t, (int64_t[]){2}, 1, (float[]){0.81910545f, -3.0f}, 1);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_F32 && tn_out(t, 0)[0] == 0.81640625f && tn_out(t, 0)[1] == -3.0f);
    tn_free(t);

    /* every integer target wraps to its width; bool is x != 0 */
    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_U8);
    tn_input_f32(t, (int64_t[]){3}, 1, (float[]){300.7f, -1.0f, 5.9f}, 1);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_U8);
    CHECK(((uint8_t *)t->out[0]->data)[0] == 44 && ((uint8_t *)t->out[0]->data)[1] == 255 &&
          ((uint8_t *)t->out[0]->data)[2] == 5);
    tn_free(t);
    t = tn_new("Cast", 13);
    tn_attr_int(t, "to", GCAM_DT_BOOL);
    tn_input_f32(t, (int64_t[]){3}, 1, (float[]){0.0f, -0.5f, 2.0f}, 1);
    CHECK(tn_run(t) == 0);
    CHECK(((uint8_t *)t->out[0]->data)[0] == 0 && ((uint8_t *)t->out[0]->data)[1] == 1 &&
          ((uint8_t *)t->out[0]->data)[2] == 1);
    tn_free(t);
}

/* ---- a shape subgraph as the engine folds it ------------------------------- */

GCAM_TEST(shape_chain_folds_to_reshape)
{
    /* Shape(x) -> Gather(0) -> Unsqueeze(0) -> Concat(., [-1]) -> Reshape(x, .):
     * torch's x.view(x.size(0), -1), every step run on int64 data */
    int64_t xd[4] = {2, 3, 4, 4};
    tnode *sh = tn_new("Shape", 13);
    tn_input_f32(sh, xd, 4, NULL, 0);
    CHECK(tn_run(sh) == 0);

    tnode *ga = tn_new("Gather", 13);
    tn_input_i64(ga, sh->out[0]->dims, 1, i64out(sh, 0));
    tn_input_i64(ga, NULL, 0, (int64_t[]){0});
    CHECK(tn_run(ga) == 0);

    tnode *un = tn_new("Unsqueeze", 13);
    tn_input_i64(un, NULL, 0, i64out(ga, 0));
    tn_input_i64(un, (int64_t[]){1}, 1, (int64_t[]){0});
    CHECK(tn_run(un) == 0);

    tnode *co = tn_new("Concat", 13);
    tn_attr_int(co, "axis", 0);
    tn_input_i64(co, (int64_t[]){1}, 1, i64out(un, 0));
    tn_input_i64(co, (int64_t[]){1}, 1, (int64_t[]){-1});
    CHECK(tn_run(co) == 0);

    tnode *re = tn_new("Reshape", 13);
    tn_input_f32(re, xd, 4, NULL, 0);
    tn_input_i64(re, (int64_t[]){2}, 1, i64out(co, 0));
    CHECK(tn_run(re) == 0);
    CHECK(dims_are(re->out[0], 2, (int64_t[]){2, 48}));
    CHECK(tn_fd_check(re, 1e-3) == 0);
    tn_free(sh);
    tn_free(ga);
    tn_free(un);
    tn_free(co);
    tn_free(re);
}
