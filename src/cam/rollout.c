/* rollout.c - attention rollout (Abnar & Zuidema 2020) and gradient-weighted
 * rollout (Chefer et al. 2021, as in jacobgil/vit-explain's grad_rollout):
 * the attention probabilities A_l (the Softmax outputs, heads x T x T) of
 * each block, in order, fused over heads -
 *     rollout:       F_l = mean_h A_l,h
 *     grad-rollout:  F_l = ReLU(mean_h (dA_l,h * A_l,h))
 * - then with the residual connection as identity, R_l = (F_l + I) / 2 with
 * each row divided by its sum, multiplied through: R = R_L ... R_1.  The map
 * is the class token's row, R[0, skip + p] for the h x w patch tokens p. */
#include <stdlib.h>

#include "cam/cam.h"

/* out (T x T) = rows-normalised (F + I) / 2 of one layer, F fused over heads. */
static void fuse(const float *A, const float *dA, int64_t heads, int64_t T, double *out)
{
    int64_t TT = T * T;
    for (int64_t i = 0; i < TT; i++) {
        double s = 0.0;
        for (int64_t h = 0; h < heads; h++) s += dA ? (double)dA[h * TT + i] * A[h * TT + i] : A[h * TT + i];
        s /= (double)heads;
        out[i] = dA && s < 0.0 ? 0.0 : s;
    }
    for (int64_t r = 0; r < T; r++) {
        double sum = 0.0;
        out[r * T + r] += 1.0;
        for (int64_t c = 0; c < T; c++) sum += out[r * T + c] *= 0.5;
        for (int64_t c = 0; c < T; c++) out[r * T + c] = sum > 0.0 ? out[r * T + c] / sum : 0.0;
    }
}

int gcam_cam_rollout(const float *const *att, const float *const *datt, const int64_t *heads, int n, int64_t T,
                     int64_t skip, float *cam)
{
    double *R = malloc(sizeof(double) * (size_t)(T * T)), *F = malloc(sizeof(double) * (size_t)(T * T)),
           *P = malloc(sizeof(double) * (size_t)(T * T));
    if (!R || !F || !P) {
        free(R), free(F), free(P);
        return GCAM_E_NOMEM;
    }
    for (int64_t i = 0; i < T * T; i++) R[i] = i % (T + 1) == 0 ? 1.0 : 0.0;
    for (int l = 0; l < n; l++) {
        fuse(att[l], datt ? datt[l] : NULL, heads[l], T, F);
        for (int64_t r = 0; r < T; r++) /* P = F R */
            for (int64_t c = 0; c < T; c++) {
                double s = 0.0;
                for (int64_t k = 0; k < T; k++) s += F[r * T + k] * R[k * T + c];
                P[r * T + c] = s;
            }
        double *t = R;
        R = P, P = t;
    }
    for (int64_t p = skip; p < T; p++) cam[p - skip] = (float)R[p];
    free(R), free(F), free(P);
    return GCAM_OK;
}
