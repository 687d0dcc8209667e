/* test_cam_weights.c - each method's weighting formula on tiny hand-made
 * arrays, with the answers worked out by hand, and the degenerate cases
 * (zero gradient, constant channel, zero or negative base score) that must
 * give finite numbers. */
#include <math.h>
#include <stdlib.h>

#include "cam/cam.h"
#include "test.h"

/* K = 2 channels of 4 positions.  Channel 1 has a negative activation where
 * its gradient is negative too, so the element-wise rules differ. */
static const float A[8] = {1, 2, 0, 1, /**/ 2, -2, 2, 2};
static const float G[8] = {0.5f, -1, 0, 2, /**/ 1, -1, 1, 1};

static void sum_map(const float *w, float *cam)
{
    float M[8];
    gcam_cam_weighted(w, A, 2, 4, M);
    gcam_cam_sum_channels(M, 2, 4, cam);
}

GCAM_TEST(cam_weights_gradcam)
{
    float w[2], cam[4];
    gcam_cam_weights_gradcam(G, 2, 4, w);
    CHECK_NEAR(w[0], 0.375, 1e-7); /* (0.5 - 1 + 0 + 2) / 4 */
    CHECK_NEAR(w[1], 0.5, 1e-7);   /* (1 - 1 + 1 + 1) / 4 */
    sum_map(w, cam);
    const float want[4] = {1.375f, -0.25f, 1.0f, 1.375f};
    for (int i = 0; i < 4; i++) CHECK_NEAR(cam[i], want[i], 1e-6);
}

GCAM_TEST(cam_weights_gradcampp)
{
    float w[2];
    gcam_cam_weights_gradcampp(A, G, 2, 4, w);
    /* channel 0, S = 4: g = 0.5 -> 0.5 * 0.25 / (0.5 + 4 * 0.125 + 1e-6);
     * g = -1 -> ReLU 0; g = 0 -> 0 (the where(g != 0) guard);
     * g = 2 -> 2 * 4 / (8 + 4 * 8 + 1e-6) */
    double w0 = 0.5 * 0.25 / (1.0 + 1e-6) + 2.0 * 4.0 / (40.0 + 1e-6);
    /* channel 1, S = 4: three g = 1 -> 1 / (2 + 4 + 1e-6) each; g = -1 -> 0 */
    double w1 = 3.0 / (6.0 + 1e-6);
    CHECK_NEAR(w[0], w0, 1e-6);
    CHECK_NEAR(w[1], w1, 1e-6);
}

GCAM_TEST(cam_weights_xgradcam)
{
    float w[2];
    gcam_cam_weights_xgradcam(A, G, 2, 4, w);
    CHECK_NEAR(w[0], (0.5 - 2.0 + 0.0 + 2.0) / (4.0 + 1e-7), 1e-6); /* sum g A / (sum A + eps) */
    CHECK_NEAR(w[1], 8.0 / (4.0 + 1e-7), 1e-6);
}

GCAM_TEST(cam_elementwise_rules)
{
    float M[8], cam[4];
    gcam_cam_elem_hirescam(A, G, 8, M);
    gcam_cam_sum_channels(M, 2, 4, cam);
    const float hires[4] = {2.5f, 0.0f, 2.0f, 4.0f}; /* [0.5,-2,0,2] + [2,2,2,2] */
    for (int i = 0; i < 4; i++) CHECK_NEAR(cam[i], hires[i], 1e-6);
    gcam_cam_elem_gradcam_elementwise(A, G, 8, M);
    gcam_cam_sum_channels(M, 2, 4, cam);
    const float elem[4] = {2.5f, 2.0f, 2.0f, 4.0f}; /* [0.5,0,0,2] + [2,2,2,2] */
    for (int i = 0; i < 4; i++) CHECK_NEAR(cam[i], elem[i], 1e-6);
    gcam_cam_elem_layercam(A, G, 8, M);
    gcam_cam_sum_channels(M, 2, 4, cam);
    const float layer[4] = {2.5f, 0.0f, 2.0f, 4.0f}; /* [0.5,0,0,2] + [2,0,2,2] */
    for (int i = 0; i < 4; i++) CHECK_NEAR(cam[i], layer[i], 1e-6);
    gcam_cam_elem_hirescam(A, G, 8, M); /* EigenGrad-CAM's matrix too */
    for (int i = 0; i < 8; i++) CHECK_NEAR(M[i], A[i] * G[i], 0);
}

GCAM_TEST(cam_weights_degenerate_finite)
{
    /* all-zero gradient, all-zero and constant channels: no 0/0 anywhere */
    const float Az[8] = {0, 0, 0, 0, /**/ 3, 3, 3, 3};
    const float Gz[8] = {0};
    float w[2];
    gcam_cam_weights_gradcampp(Az, Gz, 2, 4, w);
    CHECK(w[0] == 0.0f && w[1] == 0.0f);
    gcam_cam_weights_xgradcam(Az, Gz, 2, 4, w);
    CHECK(w[0] == 0.0f && w[1] == 0.0f);
    gcam_cam_weights_gradcam(Gz, 2, 4, w);
    CHECK(w[0] == 0.0f && w[1] == 0.0f);
    /* Grad-CAM++'s denominator crossing zero: 2 g^2 + S g^3 = 0 for g = -2/S */
    const float Ac[4] = {1, 1, 1, 1}; /* S = 4 */
    const float Gc[4] = {-0.5f, -0.5f, -0.5f, -0.5f};
    gcam_cam_weights_gradcampp(Ac, Gc, 1, 4, w);
    CHECK(isfinite(w[0]));
    /* XGrad-CAM on a channel summing to about -1e-7 */
    const float An[2] = {-1e-7f, 0.0f}, Gn[2] = {1.0f, 1.0f};
    gcam_cam_weights_xgradcam(An, Gn, 1, 2, w);
    CHECK(isfinite(w[0]));
    /* post-processing a constant map: zeros, not NaN */
    float flat[4] = {5, 5, 5, 5};
    gcam_cam_minmax(flat, 4);
    for (int i = 0; i < 4; i++) CHECK(flat[i] == 0.0f);
    float nan_map[2] = {NAN, 1.0f};
    gcam_cam_relu(nan_map, 2);
    CHECK(nan_map[0] == 0.0f && nan_map[1] == 1.0f);
}

GCAM_TEST(cam_scorecam_mask_align_corners)
{
    /* 2x2 -> 3x3 with align_corners: source coords 0, 0.5, 1 */
    const float a[4] = {0, 1, 2, 3};
    float m[9];
    gcam_cam_scorecam_mask(a, 2, 2, 3, 3, m);
    const float up[9] = {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3};
    for (int i = 0; i < 9; i++) CHECK_NEAR(m[i], up[i] / (3.0 + 1e-8), 1e-6);
    /* a constant channel masks everything out, finitely */
    const float c[4] = {7, 7, 7, 7};
    gcam_cam_scorecam_mask(c, 2, 2, 3, 3, m);
    for (int i = 0; i < 9; i++) CHECK(m[i] == 0.0f);
    /* 1x1 -> any size: the single value everywhere */
    const float one = 2.0f;
    gcam_cam_scorecam_mask(&one, 1, 1, 3, 3, m);
    for (int i = 0; i < 9; i++) CHECK(m[i] == 0.0f);
}

GCAM_TEST(cam_softmax_and_variance)
{
    const float s[2] = {0.0f, (float)log(3.0)};
    float w[2];
    gcam_cam_softmax(s, 2, w);
    CHECK_NEAR(w[0], 0.25, 1e-6);
    CHECK_NEAR(w[1], 0.75, 1e-6);
    const float big[3] = {1e30f, 1e30f, -1e30f}; /* no overflow */
    float wb[3];
    gcam_cam_softmax(big, 3, wb);
    CHECK_NEAR(wb[0], 0.5, 1e-6);
    CHECK_NEAR(wb[2], 0.0, 1e-6);
    const float sn[2] = {NAN, 1.0f};
    gcam_cam_softmax(sn, 2, w);
    CHECK(w[0] == 0.0f && w[1] == 1.0f);
    double var[2];
    gcam_cam_channel_variance(A, 2, 4, var);
    CHECK_NEAR(var[0], 0.5, 1e-12); /* mean 1: (0 + 1 + 1 + 0) / 4 */
    CHECK_NEAR(var[1], 3.0, 1e-12); /* mean 1: (1 + 9 + 1 + 1) / 4 */
}

GCAM_TEST(cam_ablation_weights)
{
    const float yk[3] = {1.0f, 3.0f, 2.0f};
    float w[3];
    gcam_cam_ablation_weights(2.0f, yk, 3, w); /* (y - y_k) / y */
    CHECK_NEAR(w[0], 0.5, 1e-7);
    CHECK_NEAR(w[1], -0.5, 1e-7);
    CHECK_NEAR(w[2], 0.0, 1e-7);
    const float yn[1] = {-1.0f};
    gcam_cam_ablation_weights(-2.0f, yn, 1, w); /* a negative base score keeps the formula */
    CHECK_NEAR(w[0], 0.5, 1e-7);
    gcam_cam_ablation_weights(0.0f, yk, 3, w); /* zero base score: finite */
    for (int i = 0; i < 3; i++) CHECK(isfinite(w[i]));
    const float yi[1] = {INFINITY};
    gcam_cam_ablation_weights(1.0f, yi, 1, w);
    CHECK(w[0] == 0.0f);
    const float relu_out[3] = {0, 1, 2}, neg[3] = {-0.5f, 1, 2};
    CHECK(gcam_cam_ablation_value(relu_out, 3) == 0.0f);
    CHECK_NEAR(gcam_cam_ablation_value(neg, 3), -0.5 - 1e7, 1.0);
}

GCAM_TEST(cam_input_gradient_reductions)
{
    const float g[4] = {1, -3, /**/ -2, 2}; /* C = 2, HW = 2 */
    float out[2];
    gcam_cam_saliency_reduce(g, 2, 2, out);
    CHECK(out[0] == 2.0f && out[1] == 3.0f);
    const float x[2] = {1, 2}, x0[2] = {0, 0};
    const double gs[2] = {4, 6};
    gcam_cam_ig_reduce(x, x0, gs, 2, 2, 1, out); /* 1 * 4/2 + 2 * 6/2 */
    CHECK_NEAR(out[0], 8.0, 1e-6);
    float gb[4] = {1, -1, 2, 0};
    const float mask[2] = {0.5f, 1.0f};
    float gg[4];
    gcam_cam_guided_gradcam(gb, mask, 2, 2, gg);
    CHECK(gg[0] == 0.5f && gg[1] == -1.0f && gg[2] == 1.0f && gg[3] == 0.0f);
    float d[2] = {1, -1}; /* mean 0, std 1 */
    gcam_cam_deprocess(d, 2);
    CHECK_NEAR(d[0], 0.5 + 0.1 / (1 + 1e-5), 1e-6);
    CHECK_NEAR(d[1], 0.5 - 0.1 / (1 + 1e-5), 1e-6);
    float blur_in[3] = {0, 3, 0}, blur_out[3];
    CHECK(gcam_cam_blur(blur_in, 1, 1, 3, 0.0, blur_out) == GCAM_OK);
    CHECK(blur_out[1] == 3.0f);
    CHECK(gcam_cam_blur(blur_in, 1, 1, 3, 1.0, blur_out) == GCAM_OK);
    CHECK_NEAR(blur_out[0] + blur_out[1] + blur_out[2], 3.0, 1.5); /* mass spreads, edges clamp */
    CHECK(blur_out[0] > 0 && blur_out[1] < 3.0f && fabs(blur_out[0] - blur_out[2]) < 1e-6);
}

GCAM_TEST(cam_rng_splitmix64)
{
    gcam_rng r;
    gcam_rng_seed(&r, 0);
    /* SplitMix64's reference outputs for seed 0 */
    CHECK(gcam_rng_next(&r) == 0xe220a8397b1dcdafull);
    CHECK(gcam_rng_next(&r) == 0x6e789e6aa1b965f4ull);
    gcam_rng_seed(&r, 42);
    double m = 0, s = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
        double z = gcam_rng_normal(&r);
        CHECK(isfinite(z));
        m += z;
        s += z * z;
    }
    m /= n;
    CHECK_NEAR(m, 0.0, 0.05);
    CHECK_NEAR(s / n - m * m, 1.0, 0.05);
    gcam_rng_seed(&r, 7);
    double u = gcam_rng_uniform(&r);
    CHECK(u >= 0.0 && u < 1.0);
}
