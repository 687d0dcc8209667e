/* Det: the determinant of each [M, M] matrix in the last two dims, by LU
 * with partial pivoting in double.  Backward: d det(A) / dA = det(A)
 * inv(A)^T, from the same LU (a singular matrix passes zero). */
#include <math.h>
#include <stdlib.h>

#include "kernels/dtype.h"

static int det_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32 || x->ndim < 2 || x->dims[x->ndim - 1] != x->dims[x->ndim - 2])
        return gcam_node_errf(c, GCAM_E_SHAPE, "float32 [..., M, M] input only");
    const int64_t m = x->dims[x->ndim - 1];
    c->out[0]->dtype = GCAM_DT_F32;
    c->out[0]->ndim = x->ndim - 2;
    memcpy(c->out[0]->dims, x->dims, sizeof(int64_t) * (size_t)(x->ndim - 2));
    c->node->scratch = c->node->bscratch = (size_t)(m * m * 2 + m) * sizeof(double);
    return GCAM_OK;
}

/* LU of a (m x m, in place) with pivots; returns the determinant */
static double lu(double *a, int64_t m, int64_t *piv)
{
    double det = 1;
    for (int64_t k = 0; k < m; k++) {
        int64_t p = k;
        for (int64_t i = k + 1; i < m; i++)
            if (fabs(a[i * m + k]) > fabs(a[p * m + k])) p = i;
        piv[k] = p;
        if (p != k) {
            for (int64_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[p * m + j];
                a[p * m + j] = t;
            }
            det = -det;
        }
        det *= a[k * m + k];
        if (a[k * m + k] == 0) continue;
        for (int64_t i = k + 1; i < m; i++) {
            double f = a[i * m + k] /= a[k * m + k];
            for (int64_t j = k + 1; j < m; j++) a[i * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

static int det_run(gcam_opctx *c, int grad)
{
    const gcam_tensor *x = c->in[0];
    const int64_t m = x->dims[x->ndim - 1], nb = gcam_numel(c->out[0]);
    double *a = c->scratch, *inv = a + m * m;
    int64_t *piv = (int64_t *)(inv + m * m);
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = gcam_f32(x) + b * m * m;
        for (int64_t i = 0; i < m * m; i++) a[i] = xb[i];
        const double det = lu(a, m, piv);
        if (!grad) {
            gcam_f32(c->out[0])[b] = (float)det;
            continue;
        }
        if (det == 0) continue;
        /* inverse column by column: solve A z = e_j */
        for (int64_t j = 0; j < m; j++) {
            double *z = inv + j * m; /* column j of inv, stored as row j */
            for (int64_t i = 0; i < m; i++) z[i] = i == j;
            for (int64_t k = 0; k < m; k++)
                if (piv[k] != k) {
                    double t = z[k];
                    z[k] = z[piv[k]];
                    z[piv[k]] = t;
                }
            for (int64_t i = 0; i < m; i++)
                for (int64_t q = 0; q < i; q++) z[i] -= a[i * m + q] * z[q];
            for (int64_t i = m - 1; i >= 0; i--) {
                for (int64_t q = i + 1; q < m; q++) z[i] -= a[i * m + q] * z[q];
                z[i] /= a[i * m + i];
            }
        }
        /* d det / dA[i][j] = det * A^-1[j][i]; inv holds A^-1 by columns, inv[i * m + j] = A^-1[j][i] */
        const double g = gcam_f32(c->dout[0])[b] * det;
        float *dx = gcam_f32(c->din[0]) + b * m * m;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++) dx[i * m + j] += (float)(g * inv[i * m + j]);
    }
    return GCAM_OK;
}

static int det_forward(gcam_opctx *c) { return det_run(c, 0); }
static int det_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? det_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_Det = {.op_type = "Det", .since = 6, .required = 1, .infer = det_infer, .forward = det_forward, .backward = det_backward};
