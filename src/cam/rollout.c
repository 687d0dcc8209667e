/* rollout.c - attention rollout (Abnar & Zuidema 2020) and gradient-weighted
 * rollout (Chefer et al. 2021, as in jacobgil/vit-explain's grad_rollout):
 * the attention probabilities A_l (the Softmax outputs, heads x T x T) of
 * each block, in order, fused over heads -
 *     rollout:       F_l = mean_h A_l,h
 *     grad-rollout:  F_l = ReLU(mean_h (dA_l,h * A_l,h))
 * - then with the residual connection as identity, R_l = (F_l + I) / 2 with
 * each row divided by its sum, multiplied through: R = R_L ... R_1.  The map
 * is the class token's row, R[0, skip + p] for the h x w patch tokens p.
 * discard ratio r (jacobgil/vit-explain): before the identity is added, the
 * floor(r T^2) smallest entries of F (ties: the lower row-major index first)
 * are set to 0, except F[0,0], the class token's attention to itself. */
#include <math.h>
#include <stdlib.h>

#include "cam/cam.h"

typedef struct {
    double v;
    int64_t i;
} entry;

static int by_value(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Zeroes the k smallest entries of F (T x T), F[0] kept; order: T^2 scratch entries. */
static void discard(double *F, int64_t TT, int64_t k, entry *order)
{
    for (int64_t i = 0; i < TT; i++) order[i] = (entry){F[i], i};
    qsort(order, (size_t)TT, sizeof *order, by_value);
    for (int64_t j = 0; j < k; j++)
        if (order[j].i != 0) F[order[j].i] = 0.0;
}

/* out (T x T) = rows-normalised (F + I) / 2 of one layer, F fused over heads
 * (k > 0: its k smallest entries discarded first). */
static void fuse(const float *A, const float *dA, int64_t heads, int64_t T, int64_t k, entry *order, double *out)
{
    int64_t TT = T * T;
    for (int64_t i = 0; i < TT; i++) {
        double s = 0.0;
        for (int64_t h = 0; h < heads; h++) s += dA ? (double)dA[h * TT + i] * A[h * TT + i] : A[h * TT + i];
        s /= (double)heads;
        out[i] = dA && s < 0.0 ? 0.0 : s;
    }
    if (k > 0) discard(out, TT, k, order);
    for (int64_t r = 0; r < T; r++) {
        double sum = 0.0;
        out[r * T + r] += 1.0;
        for (int64_t c = 0; c < T; c++) sum += out[r * T + c] *= 0.5;
        for (int64_t c = 0; c < T; c++) out[r * T + c] = sum > 0.0 ? out[r * T + c] / sum : 0.0;
    }
}

int gcam_cam_rollout(const float *const *att, const float *const *datt, const int64_t *heads, int n, int64_t T,
                     int64_t skip, double discard_ratio, float *cam)
{
    int64_t k = (int64_t)floor(discard_ratio * (double)(T * T));
    double *R = gcam_malloc(sizeof(double) * (size_t)(T * T)), *F = gcam_malloc(sizeof(double) * (size_t)(T * T)),
           *P = gcam_malloc(sizeof(double) * (size_t)(T * T));
    entry *order = k > 0 ? gcam_malloc(sizeof(entry) * (size_t)(T * T)) : NULL;
    if (!R || !F || !P || (k > 0 && !order)) {
        gcam_free(R), gcam_free(F), gcam_free(P), gcam_free(order);
        return GCAM_E_NOMEM;
    }
    for (int64_t i = 0; i < T * T; i++) R[i] = i % (T + 1) == 0 ? 1.0 : 0.0;
    for (int l = 0; l < n; l++) {
        fuse(att[l], datt ? datt[l] : NULL, heads[l], T, k, order, F);
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
    gcam_free(R), gcam_free(F), gcam_free(P), gcam_free(order);
    return GCAM_OK;
}
