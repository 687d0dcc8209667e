/* Resize op and the bilinear kernel (src/kernels/resize.c).
 * Expected values of the named cases come from the ONNX backend test data
 * (libonnx-testdata, test_resize_*); random cases are checked against the
 * plain N-linear formula written out below. */
#include <stdlib.h>

#include "kernels/resize.h"
#include "op_harness.h"
#include "test.h"

static const float x2x2[] = {1, 2, 3, 4};
static const float x4x4[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* Resize(X, roi omitted, scales) at opset 13 */
static tnode *with_scales(const char *mode, const char *coord, const int64_t *xd, int nd, const float *x,
                          const float *scales)
{
    tnode *t = tn_new("Resize", 13);
    tn_attr_str(t, "mode", mode);
    if (coord) tn_attr_str(t, "coordinate_transformation_mode", coord);
    tn_input_f32(t, xd, nd, x, 0);
    tn_input_none(t);
    tn_input_f32(t, (int64_t[]){nd}, 1, scales, 1);
    return t;
}

/* Resize(X, roi omitted, scales omitted, sizes) at opset 13 */
static tnode *with_sizes(const char *mode, const char *coord, const int64_t *xd, int nd, const float *x,
                         const int64_t *sizes)
{
    tnode *t = tn_new("Resize", 13);
    tn_attr_str(t, "mode", mode);
    if (coord) tn_attr_str(t, "coordinate_transformation_mode", coord);
    tn_input_f32(t, xd, nd, x, 0);
    tn_input_none(t);
    tn_input_none(t);
    tn_input_i64(t, (int64_t[]){nd}, 1, sizes);
    return t;
}

static int dims_are(const gcam_tensor *y, int nd, const int64_t *d)
{
    if (y->ndim != nd) return 0;
    for (int i = 0; i < nd; i++)
        if (y->dims[i] != d[i]) return 0;
    return 1;
}

GCAM_TEST(resize_linear_upsample_half_pixel_onnx_values)
{
    /* test_resize_upsample_scales_linear: first row [1, 1.25, 1.75, 2] */
    static const float want[] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                                 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    tnode *t = with_scales("linear", NULL, (int64_t[]){1, 1, 2, 2}, 4, x2x2, (float[]){1, 1, 2, 2});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 4, 4}));
    CHECK(tn_maxdiff(tn_out(t, 0), want, 16) < 1e-6);
    tn_free(t);
}

GCAM_TEST(resize_linear_align_corners_onnx_values)
{
    /* test_resize_upsample_scales_linear_align_corners */
    static const float up[] = {1, 4 / 3.f, 5 / 3.f, 2, 5 / 3.f, 2, 7 / 3.f, 8 / 3.f,
                               7 / 3.f, 8 / 3.f, 3, 10 / 3.f, 3, 10 / 3.f, 11 / 3.f, 4};
    tnode *t = with_scales("linear", "align_corners", (int64_t[]){1, 1, 2, 2}, 4, x2x2, (float[]){1, 1, 2, 2});
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), up, 16) < 1e-6);
    tn_free(t);
    /* test_resize_downsample_scales_linear_align_corners: 0.6 * 4 = 2.4 is the
     * resized length in the coordinate formula, so x=1 samples 3 / 1.4 */
    static const float x2x4[] = {1, 2, 3, 4, 5, 6, 7, 8};
    t = with_scales("linear", "align_corners", (int64_t[]){1, 1, 2, 4}, 4, x2x4, (float[]){1, 1, 0.6f, 0.6f});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 1, 2}));
    CHECK_NEAR(tn_out(t, 0)[0], 1.0, 1e-6);
    CHECK_NEAR(tn_out(t, 0)[1], 3.142857, 1e-5);
    tn_free(t);
}

GCAM_TEST(resize_linear_downsample_onnx_values)
{
    static const float x2x4[] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* test_resize_downsample_scales_linear */
    tnode *t = with_scales("linear", NULL, (int64_t[]){1, 1, 2, 4}, 4, x2x4, (float[]){1, 1, 0.6f, 0.6f});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 1, 2}));
    CHECK_NEAR(tn_out(t, 0)[0], 2.6666665, 1e-5);
    CHECK_NEAR(tn_out(t, 0)[1], 4.333333, 1e-5);
    tn_free(t);
    /* test_resize_downsample_sizes_linear_pytorch_half_pixel: out width 1 samples index 0 */
    t = with_sizes("linear", "pytorch_half_pixel", (int64_t[]){1, 1, 4, 4}, 4, x4x4, (int64_t[]){1, 1, 3, 1});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 3, 1}));
    CHECK_NEAR(tn_out(t, 0)[0], 1.6666666, 1e-5);
    CHECK_NEAR(tn_out(t, 0)[1], 7.0, 1e-5);
    CHECK_NEAR(tn_out(t, 0)[2], 12.333333, 1e-5);
    tn_free(t);
}

GCAM_TEST(resize_nearest_onnx_values)
{
    /* test_resize_upsample_scales_nearest: 2x2 -> 4x6 */
    static const float up[] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
    tnode *t = with_scales("nearest", NULL, (int64_t[]){1, 1, 2, 2}, 4, x2x2, (float[]){1, 1, 2, 3});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 4, 6}));
    CHECK(tn_maxdiff(tn_out(t, 0), up, 24) == 0.0);
    tn_free(t);

    /* test_resize_upsample_sizes_nearest: 2x2 -> 7x8, rows 0-3 from row 0 */
    t = with_sizes("nearest", NULL, (int64_t[]){1, 1, 2, 2}, 4, x2x2, (int64_t[]){1, 1, 7, 8});
    CHECK(tn_run(t) == 0);
    for (int r = 0; r < 7; r++)
        for (int c = 0; c < 8; c++) CHECK(tn_out(t, 0)[r * 8 + c] == x2x2[(r >= 4) * 2 + (c >= 4)]);
    tn_free(t);

    /* ceil + half_pixel and round_prefer_ceil + asymmetric give the same 4x4 -> 8x8 */
    static const float ceil_row[] = {1, 2, 2, 3, 3, 4, 4, 4};
    static const int src_row[] = {0, 1, 1, 2, 2, 3, 3, 3};
    const char *modes[2][2] = {{"ceil", "half_pixel"}, {"round_prefer_ceil", "asymmetric"}};
    for (int m = 0; m < 2; m++) {
        t = with_sizes("nearest", modes[m][1], (int64_t[]){1, 1, 4, 4}, 4, x4x4, (int64_t[]){1, 1, 8, 8});
        tn_attr_str(t, "nearest_mode", modes[m][0]);
        CHECK(tn_run(t) == 0);
        for (int r = 0; r < 8; r++)
            for (int c = 0; c < 8; c++) CHECK(tn_out(t, 0)[r * 8 + c] == ceil_row[c] + 4 * src_row[r]);
        tn_free(t);
    }

    /* test_resize_upsample_sizes_nearest_floor_align_corners, first row */
    static const float floor_row[] = {1, 1, 1, 2, 2, 3, 3, 4};
    t = with_sizes("nearest", "align_corners", (int64_t[]){1, 1, 4, 4}, 4, x4x4, (int64_t[]){1, 1, 8, 8});
    tn_attr_str(t, "nearest_mode", "floor");
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), floor_row, 8) == 0.0);
    tn_free(t);

    /* test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn (opset 11, empty roi/scales) */
    static const float tf[] = {6, 8, 10, 12, 14, 16};
    t = tn_new("Resize", 11);
    tn_attr_str(t, "mode", "nearest");
    tn_attr_str(t, "coordinate_transformation_mode", "tf_half_pixel_for_nn");
    tn_input_f32(t, (int64_t[]){1, 1, 4, 4}, 4, x4x4, 0);
    tn_input_f32(t, (int64_t[]){0}, 1, NULL, 1);
    tn_input_f32(t, (int64_t[]){0}, 1, NULL, 1);
    tn_input_i64(t, (int64_t[]){4}, 1, (int64_t[]){1, 1, 3, 2});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 3, 2}));
    CHECK(tn_maxdiff(tn_out(t, 0), tf, 6) == 0.0);
    tn_free(t);

    /* test_resize_downsample_scales_nearest */
    static const float x2x4[] = {1, 2, 3, 4, 5, 6, 7, 8};
    t = with_scales("nearest", NULL, (int64_t[]){1, 1, 2, 4}, 4, x2x4, (float[]){1, 1, 0.6f, 0.6f});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 1, 2}));
    CHECK(tn_out(t, 0)[0] == 1 && tn_out(t, 0)[1] == 3);
    tn_free(t);
}

/* ---- the plain N-linear formula, independent of src/kernels/resize.c ---- */
static double ref_coord(const char *mode, int64_t x, double scale, int64_t in)
{
    if (!strcmp(mode, "align_corners")) return scale * in == 1 ? 0 : x * (double)(in - 1) / (scale * in - 1);
    if (!strcmp(mode, "asymmetric")) return x / scale;
    if (!strcmp(mode, "pytorch_half_pixel") && scale * in == 1) return -0.5;
    return (x + 0.5) / scale - 0.5;
}

static void ref_linear(const float *x, const int64_t *in, int nd, const double *scale, const int64_t *out,
                       const char *mode, float *y)
{
    int64_t n = 1, idx[8] = {0};
    for (int d = 0; d < nd; d++) n *= out[d];
    for (int64_t o = 0; o < n; o++) {
        int64_t lo[8], hi[8];
        double w[8];
        for (int d = 0; d < nd; d++) {
            double c = ref_coord(mode, idx[d], scale[d], in[d]);
            double f = floor(c);
            w[d] = c - f;
            lo[d] = (int64_t)f < 0 ? 0 : (int64_t)f > in[d] - 1 ? in[d] - 1 : (int64_t)f;
            hi[d] = (int64_t)f + 1 < 0 ? 0 : (int64_t)f + 1 > in[d] - 1 ? in[d] - 1 : (int64_t)f + 1;
        }
        double acc = 0;
        for (int corner = 0; corner < (1 << nd); corner++) {
            double wt = 1;
            int64_t off = 0;
            for (int d = 0; d < nd; d++) {
                int up = (corner >> d) & 1;
                wt *= up ? w[d] : 1 - w[d];
                off = off * in[d] + (up ? hi[d] : lo[d]);
            }
            acc += wt * x[off];
        }
        y[o] = (float)acc;
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < out[d]) break;
            idx[d] = 0;
        }
    }
}

GCAM_TEST(resize_linear_nd_matches_reference)
{
    const char *modes[] = {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"};
    int64_t xd[4] = {2, 3, 4, 5};
    float sc[4] = {1, 1.5f, 0.75f, 2.2f};
    for (int m = 0; m < 4; m++) {
        /* scales on three axes, including a shrinking one */
        tnode *t = with_scales("linear", modes[m], xd, 4, NULL, sc);
        CHECK(tn_run(t) == 0);
        int64_t od[4];
        double dsc[4];
        for (int d = 0; d < 4; d++) {
            dsc[d] = sc[d];
            od[d] = (int64_t)floor(dsc[d] * xd[d]);
        }
        CHECK(dims_are(t->out[0], 4, od));
        int64_t n = gcam_numel(t->out[0]);
        float *want = malloc(sizeof(float) * n);
        ref_linear(t->in[0]->data, xd, 4, dsc, od, modes[m], want);
        double diff = tn_maxdiff(tn_out(t, 0), want, n);
        free(want);
        tn_free(t);
        CHECK_MSG(diff < 1e-5, "mode %s: max diff %g", modes[m], diff);

        /* sizes */
        int64_t sz[4] = {2, 2, 9, 1};
        t = with_sizes("linear", modes[m], xd, 4, NULL, sz);
        CHECK(tn_run(t) == 0);
        for (int d = 0; d < 4; d++) dsc[d] = (double)sz[d] / xd[d];
        n = gcam_numel(t->out[0]);
        want = malloc(sizeof(float) * n);
        ref_linear(t->in[0]->data, xd, 4, dsc, sz, modes[m], want);
        diff = tn_maxdiff(tn_out(t, 0), want, n);
        free(want);
        tn_free(t);
        CHECK_MSG(diff < 1e-5, "mode %s sizes: max diff %g", modes[m], diff);
    }
}

GCAM_TEST(resize_backward_linear_fd)
{
    const char *modes[] = {"half_pixel", "align_corners", "asymmetric"};
    for (int m = 0; m < 3; m++) {
        tnode *t = with_sizes("linear", modes[m], (int64_t[]){1, 2, 3, 4}, 4, NULL, (int64_t[]){1, 2, 7, 5});
        CHECK(tn_fd_check(t, 1e-3) == 0);
        tn_free(t);
        /* downsampling and three resized axes */
        t = with_scales("linear", modes[m], (int64_t[]){3, 2, 6, 5}, 4, NULL, (float[]){1.7f, 1, 0.5f, 0.6f});
        CHECK(tn_fd_check(t, 1e-3) == 0);
        tn_free(t);
    }
}

GCAM_TEST(resize_backward_nearest_fd)
{
    tnode *t = with_scales("nearest", NULL, (int64_t[]){1, 2, 3, 3}, 4, NULL, (float[]){1, 1, 2, 2});
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    t = with_sizes("nearest", "asymmetric", (int64_t[]){2, 1, 5, 6}, 4, NULL, (int64_t[]){2, 3, 2, 4});
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(resize_identity_and_int64_nearest)
{
    /* scale 1 everywhere: a copy, gradient passes through */
    tnode *t = with_scales("linear", NULL, (int64_t[]){2, 3}, 2, NULL, (float[]){1, 1});
    CHECK(tn_run(t) == 0);
    CHECK(tn_maxdiff(tn_out(t, 0), t->in[0]->data, 6) == 0.0);
    CHECK(t->node.scratch == 0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);

    /* int64 data, nearest: elements are moved, not interpolated */
    t = tn_new("Resize", 13);
    tn_attr_str(t, "mode", "nearest");
    tn_input_i64(t, (int64_t[]){2, 2}, 2, (int64_t[]){10, 20, 30, 40});
    tn_input_none(t);
    tn_input_f32(t, (int64_t[]){2}, 1, (float[]){1, 2}, 1);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dtype == GCAM_DT_I64 && dims_are(t->out[0], 2, (int64_t[]){2, 4}));
    const int64_t want[] = {10, 10, 20, 20, 30, 30, 40, 40};
    CHECK(memcmp(t->out[0]->data, want, sizeof want) == 0);
    tn_free(t);
}

GCAM_TEST(resize_opset10_and_opset18_forms)
{
    /* opset 10: Resize(X, scales), asymmetric coordinates */
    tnode *t = tn_new("Resize", 10);
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, x2x2, 0);
    tn_input_f32(t, (int64_t[]){4}, 1, (float[]){1, 1, 2, 2}, 1);
    CHECK(tn_run(t) == 0);
    static const float up[] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    CHECK(tn_maxdiff(tn_out(t, 0), up, 16) == 0.0);
    tn_free(t);

    /* opset 18: axes limits sizes to the listed axes */
    t = tn_new("Resize", 18);
    tn_attr_str(t, "mode", "linear");
    tn_attr_ints(t, "axes", 2, (int64_t[]){-1, 2});
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, x2x2, 0);
    tn_input_none(t);
    tn_input_none(t);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){4, 4});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 4, 4}));
    CHECK_NEAR(tn_out(t, 0)[1], 1.25, 1e-6);
    tn_free(t);

    /* keep_aspect_ratio_policy=not_larger: one scale, min(6/2, 4/2) = 2 */
    t = tn_new("Resize", 18);
    tn_attr_str(t, "keep_aspect_ratio_policy", "not_larger");
    tn_attr_ints(t, "axes", 2, (int64_t[]){2, 3});
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, x2x2, 0);
    tn_input_none(t);
    tn_input_none(t);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){6, 4});
    CHECK(tn_run(t) == 0);
    CHECK(dims_are(t->out[0], 4, (int64_t[]){1, 1, 4, 4}));
    tn_free(t);
}

GCAM_TEST(resize_unsupported_cases)
{
    tnode *t = with_scales("cubic", NULL, (int64_t[]){1, 1, 2, 2}, 4, x2x2, (float[]){1, 1, 2, 2});
    tn_free(t); /* cubic on int64 data: no */
    t = tn_new("Resize", 13);
    tn_attr_str(t, "mode", "cubic");
    tn_input_i64(t, (int64_t[]){1, 1, 2, 2}, 4, (int64_t[]){1, 2, 3, 4});
    tn_input_none(t);
    tn_input_f32(t, (int64_t[]){4}, 1, (float[]){1, 1, 2, 2}, 1);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    CHECK(strstr(t->err.msg, "cubic") != NULL);
    tn_free(t);

    /* tf_crop_and_resize without its roi */
    t = with_scales("linear", "tf_crop_and_resize", (int64_t[]){1, 1, 2, 2}, 4, x2x2, (float[]){1, 1, 2, 2});
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);

    /* scales computed at run time */
    t = tn_new("Resize", 13);
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, x2x2, 0);
    tn_input_none(t);
    tn_input_f32(t, (int64_t[]){4}, 1, (float[]){1, 1, 2, 2}, 0);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    CHECK(strstr(t->err.msg, "dynamic scales") != NULL);
    tn_free(t);

    /* linear on int64 */
    t = tn_new("Resize", 13);
    tn_attr_str(t, "mode", "linear");
    tn_input_i64(t, (int64_t[]){2, 2}, 2, (int64_t[]){1, 2, 3, 4});
    tn_input_none(t);
    tn_input_f32(t, (int64_t[]){2}, 1, (float[]){2, 2}, 1);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);

    /* antialias only matters when shrinking */
    t = with_scales("linear", NULL, (int64_t[]){1, 1, 2, 4}, 4, NULL, (float[]){1, 1, 1, 0.5f});
    tn_attr_int(t, "antialias", 1);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);
    t = with_scales("linear", NULL, (int64_t[]){1, 1, 2, 2}, 4, x2x2, (float[]){1, 1, 2, 2});
    tn_attr_int(t, "antialias", 1);
    CHECK(tn_run(t) == 0);
    CHECK_NEAR(tn_out(t, 0)[1], 1.25, 1e-6);
    tn_free(t);

    /* both and neither of scales/sizes */
    t = tn_new("Resize", 13);
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, x2x2, 0);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);
}

GCAM_TEST(resize_bilinear_kernel)
{
    /* the known value: [[1,2],[3,4]] up 2x, half pixel */
    float y[16];
    CHECK(gcam_resize_bilinear_f32(x2x2, 1, 2, 2, y, 4, 4, GCAM_COORD_HALF_PIXEL) == GCAM_OK);
    CHECK_NEAR(y[0], 1.0, 1e-6);
    CHECK_NEAR(y[1], 1.25, 1e-6);
    CHECK_NEAR(y[2], 1.75, 1e-6);
    CHECK_NEAR(y[3], 2.0, 1e-6);
    CHECK(gcam_resize_bilinear_f32(x2x2, 1, 2, 2, y, 4, 4, GCAM_COORD_ALIGN_CORNERS) == GCAM_OK);
    CHECK_NEAR(y[1], 4 / 3.0, 1e-6);
    CHECK(gcam_resize_bilinear_f32(x2x2, 1, 0, 2, y, 4, 4, GCAM_COORD_HALF_PIXEL) == GCAM_E_ARG);

    /* same numbers as the Resize op given sizes, up and down, several planes */
    const int coords[2] = {GCAM_COORD_HALF_PIXEL, GCAM_COORD_ALIGN_CORNERS};
    const char *names[2] = {"half_pixel", "align_corners"};
    const int64_t shapes[2][4] = {{5, 7, 23, 17}, {9, 8, 4, 3}};
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < 2; s++) {
            int64_t ih = shapes[s][0], iw = shapes[s][1], oh = shapes[s][2], ow = shapes[s][3];
            tnode *t = with_sizes("linear", names[m], (int64_t[]){1, 3, ih, iw}, 4, NULL,
                                  (int64_t[]){1, 3, oh, ow});
            CHECK(tn_run(t) == 0);
            float *k = malloc(sizeof(float) * 3 * oh * ow);
            CHECK(gcam_resize_bilinear_f32(t->in[0]->data, 3, ih, iw, k, oh, ow, coords[m]) == GCAM_OK);
            double diff = tn_maxdiff(k, tn_out(t, 0), 3 * oh * ow);
            free(k);
            tn_free(t);
            CHECK_MSG(diff < 1e-5, "%s %lldx%lld -> %lldx%lld: diff %g", names[m], (long long)ih, (long long)iw,
                      (long long)oh, (long long)ow, diff);
        }
}

GCAM_TEST(resize_cubic_and_upsample)
{
    /* cubic, align_corners, 4 -> 7 along W: interior outputs against Keys'
     * kernel by hand, and the gradient against finite differences */
    float x[8] = {0.5f, -1, 2, 0.25f, 1.5f, 0.75f, -0.5f, 3};
    tnode *t = tn_new("Resize", 13);
    tn_attr_str(t, "mode", "cubic");
    tn_attr_str(t, "coordinate_transformation_mode", "align_corners");
    tn_input_f32(t, (int64_t[]){1, 1, 2, 4}, 4, x, 0);
    tn_input_none(t);
    tn_input_none(t);
    tn_input_i64(t, (int64_t[]){4}, 1, (int64_t[]){1, 1, 2, 7});
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    CHECK(t->out[0]->dims[3] == 7);
    for (int j = 0; j < 7; j++) {
        double xs = j * 3.0 / 6.0, i0 = floor(xs), u = xs - i0, A = -0.75, r = 0;
        for (int k = -1; k <= 2; k++) {
            double d = fabs(u - k), w = d <= 1 ? ((A + 2) * d - (A + 3)) * d * d + 1 : ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
            int i = (int)i0 + k;
            i = i < 0 ? 0 : i > 3 ? 3 : i;
            r += w * x[i];
        }
        CHECK_MSG(fabs(tn_out(t, 0)[j] - r) < 1e-5, "cubic [%d] = %g, want %g", j, tn_out(t, 0)[j], r);
    }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);

    /* Upsample-7: nearest with the scales attribute, y[i] = x[floor(i / 2)] */
    t = tn_new("Upsample", 7);
    tn_attr_floats(t, "scales", 4, (float[]){1, 1, 2, 2});
    tn_input_f32(t, (int64_t[]){1, 1, 2, 4}, 4, x, 0);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    CHECK(t->out[0]->dims[2] == 4 && t->out[0]->dims[3] == 8);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) CHECK(tn_out(t, 0)[i * 8 + j] == x[(i / 2) * 4 + j / 2]);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(resize_tf_crop_and_resize)
{
    /* 1x4 row, box [0.25, 1.25] along W sampled at 3 points: x' = 0.75,
     * 2.25, 3.75 -> the last is outside [0, 3]: extrapolation_value */
    float x[4] = {1, 3, 7, 15};
    tnode *t = tn_new("Resize", 13);
    tn_attr_str(t, "mode", "linear");
    tn_attr_str(t, "coordinate_transformation_mode", "tf_crop_and_resize");
    tn_attr_float(t, "extrapolation_value", -9.0f);
    tn_input_f32(t, (int64_t[]){1, 4}, 2, x, 0);
    tn_input_f32(t, (int64_t[]){4}, 1, (float[]){0, 0.25f, 1, 1.25f}, 1);
    tn_input_none(t);
    tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){1, 3});
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    const float want[3] = {1 + 0.75f * 2, 7 + 0.25f * 8, -9.0f};
    CHECK_MSG(fabsf(tn_out(t, 0)[0] - want[0]) < 1e-6f && fabsf(tn_out(t, 0)[2] - want[2]) < 1e-6f, "%g %g %g",
              tn_out(t, 0)[0], tn_out(t, 0)[1], tn_out(t, 0)[2]);
    CHECK(fabsf(tn_out(t, 0)[1] - want[1]) < 1e-6f);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}
