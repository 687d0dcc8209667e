/* Index, permutation and scan ops, and ConvTranspose: values against
 * by-hand references, gradients against finite differences. */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

static const int64_t *i64o(tnode *t, int k) { return (const int64_t *)t->out[k]->data; }

GCAM_TEST(logsoftmax_hardmax_argmax)
{
    float x[6] = {0.1f, 2.0f, -1.0f, 3.0f, 3.0f, 0.5f};
    tnode *t = tn_new("LogSoftmax", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    CHECK(tn_run(t) == 0);
    for (int r = 0; r < 2; r++) {
        double s = 0;
        for (int j = 0; j < 3; j++) s += exp(x[r * 3 + j]);
        for (int j = 0; j < 3; j++) CHECK(fabs(tn_out(t, 0)[r * 3 + j] - (x[r * 3 + j] - log(s))) < 1e-6);
    }
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* opset < 13: [2,3] flattened at axis 0 is one group of 6 */
    t = tn_new("LogSoftmax", 11);
    tn_attr_int(t, "axis", 0);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    CHECK(tn_run(t) == 0);
    double s = 0;
    for (int j = 0; j < 6; j++) s += exp(x[j]);
    CHECK(fabs(tn_out(t, 0)[5] - (x[5] - log(s))) < 1e-6);
    tn_free(t);
    t = tn_new("Hardmax", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    CHECK(tn_run(t) == 0);
    const float hm[6] = {0, 1, 0, 1, 0, 0}; /* first maximum wins the tie */
    CHECK(tn_maxdiff(tn_out(t, 0), hm, 6) == 0.0);
    tn_free(t);
    for (int last = 0; last < 2; last++) {
        t = tn_new("ArgMax", 13);
        tn_attr_int(t, "axis", 1);
        tn_attr_int(t, "keepdims", 0);
        tn_attr_int(t, "select_last_index", last);
        tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
        CHECK(tn_run(t) == 0);
        CHECK(t->out[0]->ndim == 1 && i64o(t, 0)[0] == 1 && i64o(t, 0)[1] == (last ? 1 : 0));
        tn_free(t);
    }
    t = tn_new("ArgMin", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 2 && t->out[0]->dims[0] == 1 && i64o(t, 0)[0] == 0 && i64o(t, 0)[2] == 0);
    tn_free(t);
}

GCAM_TEST(trilu_cumsum_topk)
{
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)(i + 1) * (i % 2 ? -0.5f : 0.7f);
    for (int up = 0; up < 2; up++) {
        tnode *t = tn_new("Trilu", 14);
        tn_attr_int(t, "upper", up);
        tn_input_f32(t, (int64_t[]){3, 4}, 2, x, 0);
        tn_input_i64(t, NULL, 0, (int64_t[]){1});
        CHECK(tn_run(t) == 0);
        for (int r = 0; r < 3; r++)
            for (int col = 0; col < 4; col++) {
                int keep = up ? col - r >= 1 : col - r <= 1;
                CHECK_MSG(tn_out(t, 0)[r * 4 + col] == (keep ? x[r * 4 + col] : 0.0f), "upper %d [%d,%d]", up, r, col);
            }
        CHECK(tn_fd_check(t, 1e-3) == 0);
        tn_free(t);
    }
    for (int mode = 0; mode < 4; mode++) { /* exclusive x reverse */
        int excl = mode & 1, rev = mode >> 1;
        tnode *t = tn_new("CumSum", 14);
        tn_attr_int(t, "exclusive", excl);
        tn_attr_int(t, "reverse", rev);
        tn_input_f32(t, (int64_t[]){3, 4}, 2, x, 0);
        tn_input_i64(t, NULL, 0, (int64_t[]){-1});
        CHECK(tn_run(t) == 0);
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 4; j++) {
                double s = 0;
                for (int q = 0; q < 4; q++) {
                    int in = rev ? (excl ? q > j : q >= j) : (excl ? q < j : q <= j);
                    if (in) s += x[r * 4 + q];
                }
                CHECK_MSG(fabs(tn_out(t, 0)[r * 4 + j] - s) < 1e-5, "excl %d rev %d [%d,%d]", excl, rev, r, j);
            }
        CHECK(tn_fd_check(t, 1e-3) == 0);
        tn_free(t);
    }
    tnode *t = tn_new("TopK", 11);
    tn_outputs(t, 2);
    tn_input_f32(t, (int64_t[]){3, 4}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){1}, 1, (int64_t[]){2});
    CHECK(tn_run(t) == 0);
    /* row 0 = 0.7 -1 2.1 -2: top two 2.1 (2), 0.7 (0) */
    CHECK(tn_out(t, 0)[0] == x[2] && tn_out(t, 0)[1] == x[0] && i64o(t, 1)[0] == 2 && i64o(t, 1)[1] == 0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(gather_scatter_elements_and_nd)
{
    const float x[6] = {1, 2, 3, 4, 5, 6};
    tnode *t = tn_new("GatherElements", 13);
    tn_attr_int(t, "axis", 1);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2, 2}, 2, (int64_t[]){2, 2, -3, 1}); /* repeated index: gradient adds */
    CHECK(tn_run(t) == 0);
    const float wg[4] = {3, 3, 4, 5};
    CHECK(tn_maxdiff(tn_out(t, 0), wg, 4) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);

    const char *red[2] = {"none", "add"};
    for (int r = 0; r < 2; r++) {
        t = tn_new("ScatterElements", 18);
        tn_attr_int(t, "axis", 0);
        tn_attr_str(t, "reduction", red[r]);
        tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
        tn_input_i64(t, (int64_t[]){1, 3}, 2, (int64_t[]){1, 0, 1});
        tn_input_f32(t, (int64_t[]){1, 3}, 2, (float[]){10, 20, 30}, 0);
        CHECK(tn_run(t) == 0);
        const float wn[6] = {1, 20, 3, 10, 5, 30}, wa[6] = {1, 22, 3, 14, 5, 36};
        CHECK_MSG(tn_maxdiff(tn_out(t, 0), r ? wa : wn, 6) == 0.0, "reduction %s", red[r]);
        CHECK_MSG(tn_fd_check(t, 1e-3) == 0, "reduction %s gradient", red[r]);
        tn_free(t);
    }

    t = tn_new("GatherND", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2, 1}, 2, (int64_t[]){1, 1});
    CHECK(tn_run(t) == 0);
    const float wnd[6] = {4, 5, 6, 4, 5, 6};
    CHECK(t->out[0]->ndim == 2 && t->out[0]->dims[1] == 3 && tn_maxdiff(tn_out(t, 0), wnd, 6) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    t = tn_new("ScatterND", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){2, 2}, 2, (int64_t[]){0, 2, 1, 0});
    tn_input_f32(t, (int64_t[]){2}, 1, (float[]){-7, -8}, 0);
    CHECK(tn_run(t) == 0);
    const float wsn[6] = {1, 2, -7, -8, 5, 6};
    CHECK(tn_maxdiff(tn_out(t, 0), wsn, 6) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    /* an index past the end is an error, not a wild read */
    t = tn_new("GatherElements", 13);
    tn_input_f32(t, (int64_t[]){2, 3}, 2, x, 0);
    tn_input_i64(t, (int64_t[]){1, 1}, 2, (int64_t[]){2});
    CHECK(tn_run(t) == GCAM_E_RANGE);
    tn_free(t);
}

GCAM_TEST(depth_space_round_trip)
{
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = (float)i;
    const char *modes[2] = {"DCR", "CRD"};
    for (int m = 0; m < 2; m++) {
        tnode *t = tn_new("DepthToSpace", 13);
        tn_attr_int(t, "blocksize", 2);
        tn_attr_str(t, "mode", modes[m]);
        tn_input_f32(t, (int64_t[]){1, 8, 2, 2}, 4, x, 0);
        CHECK(tn_run(t) == 0);
        CHECK(t->out[0]->dims[1] == 2 && t->out[0]->dims[2] == 4);
        /* y[0, c, 2h+i, 2w+j] = x[0, DCR: (i*2+j)*2+c / CRD: c*4+i*2+j, h, w] */
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < 4; h++)
                for (int w = 0; w < 4; w++) {
                    int i = h % 2, j = w % 2, ch = m ? c * 4 + i * 2 + j : (i * 2 + j) * 2 + c;
                    CHECK(tn_out(t, 0)[(c * 4 + h) * 4 + w] == x[(ch * 2 + h / 2) * 2 + w / 2]);
                }
        CHECK(tn_fd_check(t, 1e-3) == 0);
        if (m == 0) { /* SpaceToDepth undoes DCR */
            tnode *u = tn_new("SpaceToDepth", 13);
            tn_attr_int(u, "blocksize", 2);
            tn_input_f32(u, t->out[0]->dims, 4, tn_out(t, 0), 0);
            CHECK(tn_run(u) == 0);
            CHECK(tn_maxdiff(tn_out(u, 0), x, 32) == 0.0);
            CHECK(tn_fd_check(u, 1e-3) == 0);
            tn_free(u);
        }
        tn_free(t);
    }
}

/* ConvTranspose by its definition: every input element scatters its kernel */
static void ref_convt(const float *x, const float *w, const float *b, float *y, int N, int C, int H, int W, int M,
                      int G, int KH, int KW, int sh, int sw, int dh, int dw, int ph, int pw, int OH, int OW)
{
    int cg = C / G, mg = M / G;
    for (int i = 0; i < N * M * OH * OW; i++) y[i] = b ? b[(i / (OH * OW)) % M] : 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++)
                    for (int m = 0; m < mg; m++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int oh = h * sh - ph + kh * dh, ow = v * sw - pw + kw * dw;
                                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                                int mo = (c / cg) * mg + m;
                                y[((n * M + mo) * OH + oh) * OW + ow] +=
                                    x[((n * C + c) * H + h) * W + v] * w[((c * mg + m) * KH + kh) * KW + kw];
                            }
}

GCAM_TEST(convtranspose_against_definition_and_gradient)
{
    /* groups 2, stride (2,3), dilation (1,2), pads (1,0,1,1), output_padding (1,0) */
    const int N = 2, C = 4, H = 3, W = 4, M = 6, G = 2, KH = 3, KW = 2;
    float x[N * C * H * W], w[C * (M / G) * KH * KW], b[M];
    unsigned s = 5;
    for (int i = 0; i < N * C * H * W; i++) x[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 1023) / 512.0f - 1;
    for (int i = 0; i < C * (M / G) * KH * KW; i++) w[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 1023) / 512.0f - 1;
    for (int i = 0; i < M; i++) b[i] = 0.1f * (float)i;
    tnode *t = tn_new("ConvTranspose", 11);
    tn_attr_int(t, "group", G);
    tn_attr_ints(t, "strides", 2, (int64_t[]){2, 3});
    tn_attr_ints(t, "dilations", 2, (int64_t[]){1, 2});
    tn_attr_ints(t, "pads", 4, (int64_t[]){1, 0, 1, 1});
    tn_attr_ints(t, "output_padding", 2, (int64_t[]){1, 0});
    tn_input_f32(t, (int64_t[]){N, C, H, W}, 4, x, 0);
    tn_input_f32(t, (int64_t[]){C, M / G, KH, KW}, 4, w, 1);
    tn_input_f32(t, (int64_t[]){M}, 1, b, 1);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    const int OH = 2 * (H - 1) + 1 + (KH - 1) * 1 + 1 - 2, OW = 3 * (W - 1) + 0 + (KW - 1) * 2 + 1 - 1;
    CHECK(t->out[0]->dims[1] == M && t->out[0]->dims[2] == OH && t->out[0]->dims[3] == OW);
    float *ref = malloc(sizeof(float) * N * M * OH * OW);
    ref_convt(x, w, b, ref, N, C, H, W, M, G, KH, KW, 2, 3, 1, 2, 1, 0, OH, OW);
    CHECK(tn_maxdiff(tn_out(t, 0), ref, N * M * OH * OW) < 1e-5);
    free(ref);
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

GCAM_TEST(einsum_equations_and_gradient)
{
    float a[24], b[24];
    for (int i = 0; i < 24; i++) {
        a[i] = 0.1f * (float)((i * 7) % 11) - 0.4f;
        b[i] = 0.2f * (float)((i * 5) % 9) - 0.7f;
    }
    /* batched matmul: [2,3,4] x [2,4,3] */
    tnode *t = tn_new("Einsum", 12);
    tn_attr_str(t, "equation", "bij,bjk->bik");
    tn_input_f32(t, (int64_t[]){2, 3, 4}, 3, a, 0);
    tn_input_f32(t, (int64_t[]){2, 4, 3}, 3, b, 0);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) {
                double s = 0;
                for (int j = 0; j < 4; j++) s += a[(n * 3 + i) * 4 + j] * b[(n * 4 + j) * 3 + k];
                CHECK(fabs(tn_out(t, 0)[(n * 3 + i) * 3 + k] - s) < 1e-5);
            }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
    /* ellipsis transpose and an implicit-output trace-like sum */
    t = tn_new("Einsum", 12);
    tn_attr_str(t, "equation", "...ij->...ji");
    tn_input_f32(t, (int64_t[]){2, 3, 4}, 3, a, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->dims[1] == 4 && t->out[0]->dims[2] == 3 && tn_out(t, 0)[1 * 12 + 2 * 3 + 1] == a[1 * 12 + 1 * 4 + 2]);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
    t = tn_new("Einsum", 12);
    tn_attr_str(t, "equation", "ii");
    tn_input_f32(t, (int64_t[]){3, 3}, 2, b, 0);
    CHECK(tn_run(t) == 0);
    CHECK(t->out[0]->ndim == 0 && fabsf(tn_out(t, 0)[0] - (b[0] + b[4] + b[8])) < 1e-6f);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);
}

GCAM_TEST(gridsample_values_and_gradient)
{
    float x[2 * 3 * 4], g[1 * 2 * 3 * 2];
    for (int i = 0; i < 24; i++) x[i] = 0.3f * (float)((i * 7) % 10) - 1.0f;
    for (int i = 0; i < 12; i++) g[i] = 0.37f * (float)((i * 5) % 7) - 1.1f + 0.0137f; /* some outside [-1, 1]; off the pixel grid (kinks) */
    const char *modes[3] = {"bilinear", "nearest", "bicubic"}, *pads[3] = {"zeros", "border", "reflection"};
    for (int m = 0; m < 3; m++)
        for (int p = 0; p < 3; p++) {
            tnode *t = tn_new("GridSample", 16);
            tn_attr_str(t, "mode", modes[m]);
            tn_attr_str(t, "padding_mode", pads[p]);
            tn_input_f32(t, (int64_t[]){1, 2, 3, 4}, 4, x, 0);
            /* the grid is differentiated too, except for nearest (piecewise constant) */
            tn_input_f32(t, (int64_t[]){1, 2, 3, 2}, 4, g, m == 1);
            CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
            CHECK(t->out[0]->dims[1] == 2 && t->out[0]->dims[2] == 2 && t->out[0]->dims[3] == 3);
            CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "%s/%s gradient", modes[m], pads[p]);
            tn_free(t);
        }
    /* bilinear, align_corners=0, zeros: the grid point (0, 0) is the image
     * centre, the mean of the four middle pixels of the 3x4 plane's row... by hand */
    tnode *t = tn_new("GridSample", 16);
    tn_input_f32(t, (int64_t[]){1, 1, 3, 4}, 4, x, 0);
    tn_input_f32(t, (int64_t[]){1, 1, 1, 2}, 4, (float[]){0.0f, 0.0f}, 1);
    CHECK(tn_run(t) == 0);
    /* x' = ((0 + 1) * 4 - 1) / 2 = 1.5, y' = ((0 + 1) * 3 - 1) / 2 = 1: row 1, columns 1 and 2 */
    CHECK(fabsf(tn_out(t, 0)[0] - 0.5f * (x[5] + x[6])) < 1e-6f);
    tn_free(t);
}

GCAM_TEST(maxunpool_and_det)
{
    tnode *t = tn_new("MaxUnpool", 11);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
    tn_attr_ints(t, "strides", 2, (int64_t[]){2, 2});
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, (float[]){5, 6, 7, 8}, 0);
    tn_input_i64(t, (int64_t[]){1, 1, 2, 2}, 4, (int64_t[]){5, 7, 13, 15});
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    CHECK(t->out[0]->dims[2] == 4 && t->out[0]->dims[3] == 4);
    float want[16] = {0};
    want[5] = 5, want[7] = 6, want[13] = 7, want[15] = 8;
    CHECK(tn_maxdiff(tn_out(t, 0), want, 16) == 0.0);
    CHECK(tn_fd_check(t, 1e-3) == 0);
    tn_free(t);

    const float a[2 * 9] = {2, -1, 0.5f, 1, 3, 0, -2, 1, 1.5f, /* and a second 3x3 */ 1, 2, 3, 0, 1, 4, 5, 6, 0};
    t = tn_new("Det", 11);
    tn_input_f32(t, (int64_t[]){2, 3, 3}, 3, a, 0);
    CHECK(tn_run(t) == 0);
    for (int b = 0; b < 2; b++) {
        const float *m = a + 9 * b;
        double d = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
        CHECK_MSG(fabs(tn_out(t, 0)[b] - d) < 1e-5, "det %d = %g, want %g", b, tn_out(t, 0)[b], d);
    }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}

GCAM_TEST(roialign_gradient)
{
    float x[1 * 2 * 5 * 6];
    for (int i = 0; i < 60; i++) x[i] = 0.1f * (float)((i * 13) % 17) - 0.8f + 0.001f * (float)i; /* no ties */
    const char *modes[2] = {"avg", "max"};
    for (int m = 0; m < 2; m++) {
        tnode *t = tn_new("RoiAlign", 16);
        tn_attr_str(t, "mode", modes[m]);
        tn_attr_int(t, "output_height", 2);
        tn_attr_int(t, "output_width", 3);
        tn_attr_int(t, "sampling_ratio", 2);
        tn_attr_float(t, "spatial_scale", 0.5f);
        tn_input_f32(t, (int64_t[]){1, 2, 5, 6}, 4, x, 0);
        tn_input_f32(t, (int64_t[]){2, 4}, 2, (float[]){1.0f, 2.0f, 9.0f, 7.5f, 0.0f, 0.0f, 4.4f, 3.3f}, 1);
        tn_input_i64(t, (int64_t[]){2}, 1, (int64_t[]){0, 0});
        CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
        CHECK(t->out[0]->dims[0] == 2 && t->out[0]->dims[1] == 2 && t->out[0]->dims[2] == 2 && t->out[0]->dims[3] == 3);
        CHECK_MSG(tn_fd_check(t, 3e-3) == 0, "%s gradient", modes[m]);
        tn_free(t);
    }
}

/* Keras attention's "abc,cde->abde" and a broadcast batch ("bij,xjk->bik"
 * with x of size 1) on the batched-GEMM path, against sums by hand */
GCAM_TEST(einsum_gemm_path_matches_sums)
{
    float a[2 * 3 * 4], w[4 * 2 * 5];
    for (int i = 0; i < 24; i++) a[i] = 0.1f * (float)((i * 7) % 13) - 0.6f;
    for (int i = 0; i < 40; i++) w[i] = 0.05f * (float)((i * 11) % 17) - 0.4f;
    tnode *t = tn_new("Einsum", 12);
    tn_attr_str(t, "equation", "abc,cde->abde");
    tn_input_f32(t, (int64_t[]){2, 3, 4}, 3, a, 0);
    tn_input_f32(t, (int64_t[]){4, 2, 5}, 3, w, 0);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    CHECK(t->node.scratch > 0); /* the GEMM path was planned */
    for (int i = 0; i < 6; i++)
        for (int de = 0; de < 10; de++) {
            double s = 0;
            for (int c = 0; c < 4; c++) s += a[i * 4 + c] * w[c * 10 + de];
            CHECK(fabs(tn_out(t, 0)[i * 10 + de] - s) < 1e-5);
        }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
    t = tn_new("Einsum", 12);
    tn_attr_str(t, "equation", "bij,xjk->bik");
    tn_input_f32(t, (int64_t[]){2, 3, 4}, 3, a, 0);
    tn_input_f32(t, (int64_t[]){1, 4, 5}, 3, w, 0);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    CHECK(t->out[0]->dims[0] == 2 && t->out[0]->dims[2] == 5);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 5; k++) {
                double s = 0;
                for (int j = 0; j < 4; j++) s += a[(b * 3 + i) * 4 + j] * w[j * 5 + k];
                CHECK(fabs(tn_out(t, 0)[(b * 3 + i) * 5 + k] - s) < 1e-5);
            }
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}
