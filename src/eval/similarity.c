/* similarity.c - how alike two maps are, the measures Adebayo et al. (2018)
 * report for their sanity checks: Spearman rank correlation, SSIM and the
 * Pearson correlation of HOG features.  Definitions: docs/eval.md. */
#include <math.h>
#include <stdlib.h>

#include "gcam_eval.h"
#include "gcam_internal.h"

double gcam_sim_pearson(const float *a, const float *b, int64_t n)
{
    if (n < 2) return 0;
    double ma = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    /* a constant input (up to rounding) has no correlation with anything */
    if (!(saa > 1e-24 * n) || !(sbb > 1e-24 * n)) return 0;
    return sab / sqrt(saa * sbb);
}

typedef struct {
    float v;
    int64_t i;
} keyed;

static int by_value(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* 1-based ranks, ties sharing their average rank; 0 or GCAM_E_NOMEM. */
static int ranks(const float *x, int64_t n, float *r)
{
    keyed *k = gcam_malloc(sizeof *k * (size_t)(n > 0 ? n : 1));
    if (!k) return GCAM_E_NOMEM;
    for (int64_t i = 0; i < n; i++) k[i] = (keyed){x[i], i};
    qsort(k, (size_t)n, sizeof *k, by_value);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && k[j + 1].v == k[i].v) j++;
        float avg = (float)((double)(i + j) / 2 + 1);
        for (int64_t q = i; q <= j; q++) r[k[q].i] = avg;
        i = j + 1;
    }
    gcam_free(k);
    return GCAM_OK;
}

double gcam_sim_spearman(const float *a, const float *b, int64_t n)
{
    float *ra = gcam_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1)), *rb = gcam_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    double r = NAN;
    if (ra && rb && !ranks(a, n, ra) && !ranks(b, n, rb)) r = gcam_sim_pearson(ra, rb, n);
    gcam_free(ra);
    gcam_free(rb);
    return r;
}

/* x scaled to [0, 1] by its min and max (a constant map becomes 0). */
static void unit_scale(const float *x, int64_t n, float *out)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    for (int64_t i = 0; i < n; i++) out[i] = hi > lo ? (x[i] - lo) / (hi - lo) : 0.0f;
}

/* SSIM of one window of wh x ww pixels at (y0, x0). */
static double ssim_window(const float *a, const float *b, int w, int y0, int x0, int wh, int ww)
{
    const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03, np = (double)wh * ww;
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (int i = y0; i < y0 + wh; i++)
        for (int j = x0; j < x0 + ww; j++) {
            double u = a[(int64_t)i * w + j], v = b[(int64_t)i * w + j];
            sa += u;
            sb += v;
            saa += u * u;
            sbb += v * v;
            sab += u * v;
        }
    double ua = sa / np, ub = sb / np, cn = np > 1 ? np / (np - 1) : 1;
    double va = cn * (saa / np - ua * ua), vb = cn * (sbb / np - ub * ub), vab = cn * (sab / np - ua * ub);
    return ((2 * ua * ub + C1) * (2 * vab + C2)) / ((ua * ua + ub * ub + C1) * (va + vb + C2));
}

double gcam_sim_ssim(const float *a, const float *b, int h, int w)
{
    int64_t n = (int64_t)h * w;
    if (h < 1 || w < 1) return NAN;
    float *sa = gcam_malloc(sizeof(float) * (size_t)n), *sb = gcam_malloc(sizeof(float) * (size_t)n);
    double r = NAN;
    if (sa && sb) {
        unit_scale(a, n, sa);
        unit_scale(b, n, sb);
        int wh = h < 7 ? h : 7, ww = w < 7 ? w : 7;
        double s = 0;
        int64_t cnt = 0;
        for (int i = 0; i + wh <= h; i++)
            for (int j = 0; j + ww <= w; j++, cnt++) s += ssim_window(sa, sb, w, i, j, wh, ww);
        r = s / (double)cnt;
    }
    gcam_free(sa);
    gcam_free(sb);
    return r;
}

#define HOG_BINS 9
#define HOG_BLOCK 3

/* HOG features of an h x w map (scaled to [0, 1] first); returns the count
 * written to *out (malloc'd), or -1 on out-of-memory. */
static int64_t hog_features(const float *x, int h, int w, float **out)
{
    int cell = 8;
    if (h / cell < HOG_BLOCK || w / cell < HOG_BLOCK) {
        int m = (h < w ? h : w) / HOG_BLOCK;
        cell = m > 0 ? m : 1;
    }
    const int ch = h / cell, cw = w / cell;
    const int bh = ch - HOG_BLOCK + 1, bw = cw - HOG_BLOCK + 1;
    *out = NULL;
    if (bh < 1 || bw < 1) return 0;
    float *u = gcam_malloc(sizeof(float) * (size_t)h * w);
    double *hist = gcam_calloc((size_t)ch * cw * HOG_BINS, sizeof(double));
    const int64_t nf = (int64_t)bh * bw * HOG_BLOCK * HOG_BLOCK * HOG_BINS;
    float *f = gcam_malloc(sizeof(float) * (size_t)nf);
    if (!u || !hist || !f) {
        gcam_free(u);
        gcam_free(hist);
        gcam_free(f);
        return -1;
    }
    unit_scale(x, (int64_t)h * w, u);
    for (int i = 0; i < ch * cell; i++)
        for (int j = 0; j < cw * cell; j++) {
            /* centred differences, 0 on the border rows/columns (skimage) */
            double gy = i > 0 && i < h - 1 ? u[(int64_t)(i + 1) * w + j] - u[(int64_t)(i - 1) * w + j] : 0;
            double gx = j > 0 && j < w - 1 ? u[(int64_t)i * w + j + 1] - u[(int64_t)i * w + j - 1] : 0;
            double mag = sqrt(gx * gx + gy * gy);
            double ang = atan2(gy, gx) * 180.0 / M_PI;
            if (ang < 0) ang += 180;
            int bin = (int)(ang / (180.0 / HOG_BINS));
            if (bin >= HOG_BINS) bin = HOG_BINS - 1;
            hist[((int64_t)(i / cell) * cw + j / cell) * HOG_BINS + bin] += mag / ((double)cell * cell);
        }
    int64_t k = 0;
    for (int bi = 0; bi < bh; bi++)
        for (int bj = 0; bj < bw; bj++) {
            int64_t k0 = k;
            double ss = 0;
            for (int ci = bi; ci < bi + HOG_BLOCK; ci++)
                for (int cj = bj; cj < bj + HOG_BLOCK; cj++)
                    for (int o = 0; o < HOG_BINS; o++) {
                        double v = hist[((int64_t)ci * cw + cj) * HOG_BINS + o];
                        f[k++] = (float)v;
                        ss += v * v;
                    }
            /* L2-Hys: normalise, clip at 0.2, normalise again */
            double nrm = sqrt(ss + 1e-10), ss2 = 0;
            for (int64_t q = k0; q < k; q++) {
                double v = f[q] / nrm;
                f[q] = (float)(v > 0.2 ? 0.2 : v);
                ss2 += (double)f[q] * f[q];
            }
            nrm = sqrt(ss2 + 1e-10);
            for (int64_t q = k0; q < k; q++) f[q] = (float)(f[q] / nrm);
        }
    gcam_free(u);
    gcam_free(hist);
    *out = f;
    return nf;
}

double gcam_sim_hog(const float *a, const float *b, int h, int w)
{
    if (h < 1 || w < 1) return NAN;
    float *fa = NULL, *fb = NULL;
    int64_t na = hog_features(a, h, w, &fa), nb = hog_features(b, h, w, &fb);
    double r = na > 0 && na == nb ? gcam_sim_pearson(fa, fb, na) : NAN;
    gcam_free(fa);
    gcam_free(fb);
    return r;
}
