/* eigencam.c - Eigen-CAM (Bany Muhammad & Yeasin 2020) and the projection
 * behind every --eigen-smooth: the first principal component of a layer's
 * K x HW matrix, as pytorch-grad-cam's get_2d_projection computes it
 * (positions are the samples, channels the features, each channel centred
 * over the positions, cam = X v1 for the first right singular vector v1).
 *
 * The sign of a singular vector is arbitrary, and LAPACK's choice leaves
 * pytorch-grad-cam's users with inverted (then ReLU'd to blank) maps.  Here
 * the sign is fixed: the projection correlates positively with the plain
 * channel sum of the same matrix (the map the method would give without the
 * projection).  An exact tie makes the largest-magnitude entry positive.
 *
 * v1 comes from the smaller of the two Gram matrices (HW x HW or K x K) by
 * repeated squaring, which raises the gap between the first two eigenvalues
 * to a high power, then power iteration on the Gram matrix itself. */
#include <stdlib.h>

#include "cam/cam.h"

double gcam_cam_top_eigvec(const double *G, int64_t n, double *v)
{
    if (n <= 0) return 0.0;
    for (int64_t i = 0; i < n; i++) v[i] = 0.0;
    double tr = 0.0;
    for (int64_t i = 0; i < n; i++) tr += G[i * n + i];
    if (!(tr > 0.0) || !isfinite(tr)) {
        v[0] = 1.0;
        return 0.0;
    }
    double *M = gcam_malloc(sizeof(double) * (size_t)(n * n)), *T = gcam_malloc(sizeof(double) * (size_t)(n * n));
    double *u = gcam_malloc(sizeof(double) * (size_t)n);
    if (!M || !T || !u) {
        gcam_free(M);
        gcam_free(T);
        gcam_free(u);
        return -1.0;
    }
    for (int64_t i = 0; i < n * n; i++) M[i] = G[i] / tr;
    /* M <- M^2 / trace(M^2): converges to the projector onto the top eigenvector */
    int squarings = n <= 128 ? 24 : n <= 512 ? 12 : 6;
    for (int s = 0; s < squarings; s++) {
        for (int64_t i = 0; i < n * n; i++) T[i] = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < n; k++) {
                double a = M[i * n + k];
                if (a == 0.0) continue;
                const double *mk = M + k * n;
                double *ti = T + i * n;
                for (int64_t j = 0; j < n; j++) ti[j] += a * mk[j];
            }
        double t2 = 0.0;
        for (int64_t i = 0; i < n; i++) t2 += T[i * n + i];
        if (!(t2 > 0.0)) break;
        for (int64_t i = 0; i < n * n; i++) M[i] = T[i] / t2;
        if (t2 > 1.0 - 1e-15) break; /* already rank one: trace(M^2) = trace(M) = 1 */
    }
    /* the column through the largest diagonal entry is along the top eigenvector */
    int64_t jbest = 0;
    for (int64_t j = 1; j < n; j++)
        if (M[j * n + j] > M[jbest * n + jbest]) jbest = j;
    double nrm = 0.0;
    for (int64_t i = 0; i < n; i++) {
        v[i] = M[i * n + jbest];
        nrm += v[i] * v[i];
    }
    nrm = sqrt(nrm);
    if (!(nrm > 0.0)) {
        for (int64_t i = 0; i < n; i++) v[i] = 0.0;
        v[jbest] = 1.0;
        nrm = 1.0;
    }
    for (int64_t i = 0; i < n; i++) v[i] /= nrm;
    /* polish on G itself */
    double lambda = 0.0;
    for (int it = 0; it < 500; it++) {
        for (int64_t i = 0; i < n; i++) {
            double s = 0.0;
            const double *gi = G + i * n;
            for (int64_t j = 0; j < n; j++) s += gi[j] * v[j];
            u[i] = s;
        }
        double un = 0.0, dot = 0.0;
        for (int64_t i = 0; i < n; i++) {
            un += u[i] * u[i];
            dot += u[i] * v[i];
        }
        un = sqrt(un);
        lambda = dot;
        if (!(un > 0.0)) break;
        double diff = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double nv = u[i] / un;
            diff += (nv - v[i]) * (nv - v[i]);
            v[i] = nv;
        }
        if (diff < 1e-28) break;
    }
    gcam_free(M);
    gcam_free(T);
    gcam_free(u);
    return lambda;
}

int gcam_cam_project(const float *M, int64_t K, int64_t HW, float *cam)
{
    double *X = gcam_malloc(sizeof(double) * (size_t)(HW * K + 1)); /* HW x K, centred */
    int64_t n = HW <= K ? HW : K;
    double *G = gcam_calloc((size_t)(n * n + 1), sizeof(double));
    double *v = gcam_malloc(sizeof(double) * (size_t)(K + 1)), *e = gcam_malloc(sizeof(double) * (size_t)(n + 1));
    double *p = gcam_malloc(sizeof(double) * (size_t)(HW + 1)), *ref = gcam_malloc(sizeof(double) * (size_t)(HW + 1));
    int rc = GCAM_OK;
    if (!X || !G || !v || !e || !p || !ref) {
        rc = GCAM_E_NOMEM;
        goto done;
    }
    for (int64_t k = 0; k < K; k++) {
        double mean = 0.0;
        for (int64_t q = 0; q < HW; q++) mean += isfinite(M[k * HW + q]) ? M[k * HW + q] : 0.0;
        mean /= (double)HW;
        for (int64_t q = 0; q < HW; q++) {
            double a = isfinite(M[k * HW + q]) ? M[k * HW + q] : 0.0; /* NaN -> 0, as pytorch-grad-cam */
            X[q * K + k] = a - mean;
        }
    }
    if (HW <= K) { /* G = X X^T */
        for (int64_t a = 0; a < HW; a++)
            for (int64_t b = a; b < HW; b++) {
                double s = 0.0;
                for (int64_t k = 0; k < K; k++) s += X[a * K + k] * X[b * K + k];
                G[a * n + b] = G[b * n + a] = s;
            }
    } else { /* G = X^T X */
        for (int64_t i = 0; i < K * K; i++) G[i] = 0.0;
        for (int64_t q = 0; q < HW; q++) {
            const double *xq = X + q * K;
            for (int64_t a = 0; a < K; a++) {
                double xa = xq[a];
                if (xa == 0.0) continue;
                for (int64_t b = a; b < K; b++) G[a * K + b] += xa * xq[b];
            }
        }
        for (int64_t a = 0; a < K; a++)
            for (int64_t b = 0; b < a; b++) G[a * K + b] = G[b * K + a];
    }
    if (gcam_cam_top_eigvec(G, n, e) < 0) {
        rc = GCAM_E_NOMEM;
        goto done;
    }
    if (HW <= K) { /* v = X^T e, normalised: the right singular vector */
        double nrm = 0.0;
        for (int64_t k = 0; k < K; k++) {
            double s = 0.0;
            for (int64_t q = 0; q < HW; q++) s += X[q * K + k] * e[q];
            v[k] = s;
            nrm += s * s;
        }
        nrm = sqrt(nrm);
        for (int64_t k = 0; k < K; k++) v[k] = nrm > 0.0 ? v[k] / nrm : 0.0;
    } else {
        for (int64_t k = 0; k < K; k++) v[k] = e[k];
    }
    double refmean = 0.0;
    for (int64_t q = 0; q < HW; q++) {
        double s = 0.0;
        for (int64_t k = 0; k < K; k++) s += X[q * K + k] * v[k];
        p[q] = s;
        double r = 0.0;
        for (int64_t k = 0; k < K; k++) r += isfinite(M[k * HW + q]) ? M[k * HW + q] : 0.0;
        ref[q] = r;
        refmean += r;
    }
    refmean /= (double)HW;
    double cov = 0.0;
    int64_t qmax = 0;
    for (int64_t q = 0; q < HW; q++) {
        cov += p[q] * (ref[q] - refmean);
        if (fabs(p[q]) > fabs(p[qmax])) qmax = q;
    }
    double sign = cov < 0.0 || (cov == 0.0 && p[qmax] < 0.0) ? -1.0 : 1.0;
    for (int64_t q = 0; q < HW; q++) cam[q] = (float)(sign * p[q]);
done:
    gcam_free(X);
    gcam_free(G);
    gcam_free(v);
    gcam_free(e);
    gcam_free(p);
    gcam_free(ref);
    if (rc)
        for (int64_t q = 0; q < HW; q++) cam[q] = 0.0f;
    return rc;
}

int gcam_cam_map_eigencam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_PROJECTED;
    return gcam_cam_project(l->A, l->K, l->HW, l->cam) ? gcam_errf(c->err, GCAM_E_NOMEM, "out of memory") : GCAM_OK;
}
