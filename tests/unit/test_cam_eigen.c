/* test_cam_eigen.c - the principal-component projection behind Eigen-CAM,
 * EigenGrad-CAM and --eigen-smooth: the eigen solver, the projection on
 * hand-made matrices, and the deterministic sign rule. */
#include <math.h>
#include <stdlib.h>

#include "cam/cam.h"
#include "test.h"

GCAM_TEST(cam_eigen_top_vector)
{
    const double G[4] = {2, 1, 1, 2};
    double v[2];
    double l = gcam_cam_top_eigvec(G, 2, v);
    CHECK_NEAR(l, 3.0, 1e-12);
    CHECK_NEAR(fabs(v[0]), M_SQRT1_2, 1e-10);
    CHECK_NEAR(v[0], v[1], 1e-10);
    /* a gap of 0.1%: squaring still separates them */
    const double N[4] = {1.0, 0.0, 0.0, 0.999};
    l = gcam_cam_top_eigvec(N, 2, v);
    CHECK_NEAR(l, 1.0, 1e-12);
    CHECK_NEAR(fabs(v[0]), 1.0, 1e-9);
    const double Z[4] = {0};
    CHECK(gcam_cam_top_eigvec(Z, 2, v) == 0.0);
}

GCAM_TEST(cam_eigen_projection_by_hand)
{
    /* channel 1 = 2 x channel 0: centred X = [[-1,-2],[0,0],[1,2]], v1 = (1,2)/sqrt 5,
     * projection (-sqrt 5, 0, sqrt 5), increasing like the channel sum (3, 6, 9) */
    const float M[6] = {1, 2, 3, 2, 4, 6};
    float cam[3];
    CHECK(gcam_cam_project(M, 2, 3, cam) == GCAM_OK);
    CHECK_NEAR(cam[0], -sqrt(5.0), 1e-5);
    CHECK_NEAR(cam[1], 0.0, 1e-5);
    CHECK_NEAR(cam[2], sqrt(5.0), 1e-5);
    /* negated input: the channel sum decreases, so must the projection (the sign rule) */
    float Mn[6];
    for (int i = 0; i < 6; i++) Mn[i] = -M[i];
    CHECK(gcam_cam_project(Mn, 2, 3, cam) == GCAM_OK);
    CHECK_NEAR(cam[0], sqrt(5.0), 1e-5);
    CHECK_NEAR(cam[2], -sqrt(5.0), 1e-5);
}

GCAM_TEST(cam_eigen_sign_tie_and_zero)
{
    /* channel sum is 0 everywhere: the covariance ties at 0, so the entry of
     * largest magnitude (the first of two equal ones) is made positive */
    const float M[6] = {1, -1, 0, -1, 1, 0};
    float cam[3];
    CHECK(gcam_cam_project(M, 2, 3, cam) == GCAM_OK);
    CHECK_NEAR(cam[0], sqrt(2.0), 1e-5);
    CHECK_NEAR(cam[1], -sqrt(2.0), 1e-5);
    CHECK_NEAR(cam[2], 0.0, 1e-6);
    /* constant channels: nothing varies, the map is zero and finite */
    const float C[6] = {3, 3, 3, -1, -1, -1};
    CHECK(gcam_cam_project(C, 2, 3, cam) == GCAM_OK);
    for (int i = 0; i < 3; i++) CHECK(cam[i] == 0.0f);
    const float N[4] = {NAN, 1, 2, 3}; /* NaN counts as 0, as pytorch-grad-cam */
    float c2[2];
    CHECK(gcam_cam_project(N, 2, 2, c2) == GCAM_OK);
    CHECK(isfinite(c2[0]) && isfinite(c2[1]));
}

/* The projection is the first principal component for both Gram routes
 * (positions <= channels and channels < positions), checked through the
 * eigen equation X X^T p = |p|^2 p on pseudo-random matrices. */
static int check_random(int64_t K, int64_t HW)
{
    float *M = malloc(sizeof(float) * (size_t)(K * HW)), *cam = malloc(sizeof(float) * (size_t)HW);
    double *X = malloc(sizeof(double) * (size_t)(K * HW));
    uint64_t s = 12345;
    for (int64_t i = 0; i < K * HW; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        M[i] = (float)((double)(s >> 11) / 9007199254740992.0) + (float)(i % HW) * 0.05f;
    }
    int ok = gcam_cam_project(M, K, HW, cam) == GCAM_OK;
    for (int64_t k = 0; k < K; k++) {
        double m = 0;
        for (int64_t q = 0; q < HW; q++) m += M[k * HW + q];
        m /= (double)HW;
        for (int64_t q = 0; q < HW; q++) X[k * HW + q] = M[k * HW + q] - m;
    }
    double pp = 0, err = 0, cov = 0, rmean = 0;
    for (int64_t q = 0; q < HW; q++) pp += (double)cam[q] * cam[q];
    for (int64_t q = 0; q < HW && ok; q++) {
        double s2 = 0;
        for (int64_t k = 0; k < K; k++) {
            double xp = 0;
            for (int64_t r = 0; r < HW; r++) xp += X[k * HW + r] * cam[r];
            s2 += X[k * HW + q] * xp;
        }
        err = fmax(err, fabs(s2 - pp * cam[q]));
    }
    double *ref = calloc((size_t)HW, sizeof(double));
    for (int64_t q = 0; q < HW; q++) {
        for (int64_t k = 0; k < K; k++) ref[q] += M[k * HW + q];
        rmean += ref[q] / (double)HW;
    }
    for (int64_t q = 0; q < HW; q++) cov += cam[q] * (ref[q] - rmean);
    ok = ok && pp > 0 && err <= 1e-4 * pp * sqrt(pp) + 1e-6 && cov >= 0;
    free(M);
    free(cam);
    free(X);
    free(ref);
    return ok;
}

GCAM_TEST(cam_eigen_projection_random)
{
    CHECK(check_random(40, 9));  /* HW <= K: Gram of positions */
    CHECK(check_random(5, 30));  /* K < HW: Gram of channels */
}
