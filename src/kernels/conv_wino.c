/* conv_wino.c - 3x3 stride-1 convolutions as Winograd F(4x4, 3x3).
 *
 * Each 4x4 block of outputs (a tile) of one output channel m is
 *   Y = A^T [ sum_c (G g_mc G^T) .* (B^T d_c B) ] A
 * with d_c the 6x6 input patch of channel c under the tile and g_mc the 3x3
 * kernel: 36 products per tile and channel pair where the direct sum takes
 * 144, so a 3x3 conv costs a quarter of the multiply-adds (Lavin & Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016; interpolation
 * points 0, +-1, +-2 and infinity).  On an AVX2 machine without AVX-512
 * oneDNN has no Winograd kernel and its direct ones run near the FMA peak,
 * so fewer flops is what is left to win.
 *
 * Layouts: x NHWC (the planner keeps conv chains channels last), y NHWC or
 * NCHW.  The weights are transformed once, here, in double, with the folded
 * BatchNormalization scale, into U (36 points x C x M, packed for the
 * GEMM: u_index).  Tiles are processed in blocks that fit the last-level
 * cache, each block in three phases shared by the team: the input
 * transform writes V[tiles][36][C] (by tile), 36 GEMMs (tiles x C)(C x M),
 * one per point, give X[tiles][36][M] through a 6x16 register kernel
 * reading U's 16-column panels (by point: each thread reads its part of U
 * once per block), and the output transform (by tile) adds the bias,
 * applies the activation and stores the 4x4 outputs that lie inside the
 * map.  The channel vectors of the transforms
 * are 8 wide: C and M multiples of 8.
 *
 * Rounding: the transforms' coefficients (up to 8 in A, 5 in B, 1/24 in G)
 * enlarge float rounding a little over the direct sum; the unit test
 * (tests/unit/test_fast_paths.c) bounds it against the reference kernels in
 * double, and the parity suites run through it. */
#include "kernels/conv_wino.h"

#include <string.h>

#include "gcam_internal.h"
#include "kernels/bigmem.h"
#include "kernels/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <omp.h>
#define WINO_X86 1
#define WINO_TARGET __attribute__((target("avx2,fma")))
#endif

#define WT 36     /* points of the transformed 6x6 tile */
#define MR 6      /* kernel rows: tiles */
#define NR 16     /* kernel columns: output channels */
#define KC 128    /* inner-dimension block of the GEMM: U's KC x M slice stays in L2 */
/* Bytes of V and X per block of tiles, at most: the whole block stays in
 * the last-level cache between the transforms and the products. */
#define BLOCK_BYTES ((int64_t)4 << 20)
/* Tiles per block, at least: each block reads all of U (4 x the weights),
 * which for 512 x 512 channels comes from memory; 48 rows make that
 * 24 flops per byte. */
#define ROWS_MIN 48
/* U small enough to stay in L2 / L3 between calls */
#define SMALL_U_BYTES ((int64_t)2 << 20)

struct gcam_conv_wino {
    int64_t N, C, M, Mp, H, W, OH, OW, pt, pl, th, tw, T;
    int nhwc_out;
    int act;
    float lo, hi;
    float *U;      /* WT x C x Mp, packed (u_index) */
    float *bias;   /* Mp, zero where absent */
    float *zeros;  /* C zeros: the input outside the map */
    int64_t nb;    /* blocks of tiles */
    int64_t tbmax; /* rows of V and X per block: the largest block rounded up to MR */
    int nthreads;  /* the team's size at most */
    size_t scratch;
};

/* G (6x3): the kernel transform */
static const double G6[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};

/* u = G g G^T for one 3x3 kernel, scaled */
static void kernel_transform(const float *g, double s, double u[6][6])
{
    double t[6][3];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            t[i][j] = G6[i][0] * g[j] + G6[i][1] * g[3 + j] + G6[i][2] * g[6 + j];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) u[i][j] = s * (t[i][0] * G6[j][0] + t[i][1] * G6[j][1] + t[i][2] * G6[j][2]);
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void gcam_conv_wino_free(gcam_conv_wino *k)
{
    if (!k) return;
    gcam_free(k->U);
    gcam_free(k->bias);
    gcam_free(k->zeros);
    gcam_free(k);
}

size_t gcam_conv_wino_scratch(const gcam_conv_wino *k) { return k ? k->scratch : 0; }

#ifndef WINO_X86
int gcam_conv_wino_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int nthreads,
                       gcam_conv_wino **out)
{
    (void)g, (void)W, (void)epi, (void)nthreads;
    *out = NULL;
    return GCAM_E_UNSUPPORTED;
}
int gcam_conv_wino_forward(const gcam_conv_wino *k, const float *x, float *y, void *scratch)
{
    (void)k, (void)x, (void)y, (void)scratch;
    return GCAM_E_INTERNAL;
}
#else

static int machine_ok(void)
{
    return gcam_cpu_avx2_fma() && !gcam_cpu_avx512();
}

static int geometry_ok(const gcam_conv_geom *g, const gcam_conv_epi *epi)
{
    const gcam_win *w = &g->w;
    const int act = epi ? epi->act : GCAM_ACT_NONE;
    if (w->nsp != 2 || g->G != 1 || !g->nhwc_in || (epi && epi->sum)) return 0;
    if (act != GCAM_ACT_NONE && act != GCAM_ACT_RELU && act != GCAM_ACT_CLIP) return 0;
    for (int i = 1; i < 3; i++)
        if (w->k[i] != 3 || w->s[i] != 1 || w->d[i] != 1) return 0;
    if (g->C % 8 || g->M % 8 || g->C < 16 || g->M < 16) return 0;
    /* On maps under 14x14 the few tiles do not pay for reading U (4 x the
     * weights) unless it stays in cache: densenet's 128 -> 32 convs at 7x7
     * gain 30%, resnet50's 512 -> 512 ones lose 10-25%. */
    if (w->out[1] >= 14 && w->out[2] >= 14) return 1;
    const int64_t u_bytes = WT * g->C * ceil_div(g->M, NR) * NR * (int64_t)sizeof(float);
    return w->out[1] >= 7 && w->out[2] >= 7 && u_bytes <= SMALL_U_BYTES;
}

/* Where U keeps the value for point x, input channel c and output channel
 * m: each point's C x Mp matrix in KC-row slices, each slice contiguous as
 * its 16-column panels one after the other (kc x 16 each), so that a slice
 * occupies consecutive cache sets instead of one panel every C x 64 bytes. */
static int64_t u_index(const gcam_conv_wino *k, int x, int64_t c, int64_t m)
{
    const int64_t k0 = c / KC * KC, kc = k->C - k0 < KC ? k->C - k0 : KC;
    return ((int64_t)x * k->C + k0) * k->Mp + (m / NR * kc + c - k0) * NR + m % NR;
}

/* U = s_m G g_mc G^T at every point; zero past M */
static int transform_weights(gcam_conv_wino *k, const float *W, const float *wscale)
{
    const int64_t C = k->C, nmb = k->Mp / NR;
    const size_t n = (size_t)(WT * k->Mp * C);
    if (!(k->U = gcam_big_alloc(sizeof(float) * n))) return GCAM_E_NOMEM;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t mb = 0; mb < nmb; mb++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t j = 0; j < NR; j++) {
                const int64_t m = mb * NR + j;
                double u[6][6] = {{0}};
                if (m < k->M) kernel_transform(W + (m * C + c) * 9, wscale ? wscale[m] : 1.0, u);
                for (int x = 0; x < WT; x++) k->U[u_index(k, x, c, m)] = (float)u[x / 6][x % 6];
            }
    return GCAM_OK;
}

int gcam_conv_wino_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int nthreads,
                       gcam_conv_wino **out)
{
    *out = NULL;
    if (!machine_ok() || !geometry_ok(g, epi)) return GCAM_E_UNSUPPORTED;
    gcam_conv_wino *k = gcam_calloc(1, sizeof *k);
    if (!k) return GCAM_E_NOMEM;
    const gcam_win *w = &g->w;
    *k = (gcam_conv_wino){.N = g->N, .C = g->C, .M = g->M, .Mp = ceil_div(g->M, NR) * NR, .H = w->in[1],
                          .W = w->in[2], .OH = w->out[1], .OW = w->out[2], .pt = w->pb[1], .pl = w->pb[2],
                          .nhwc_out = g->nhwc_out, .act = epi ? epi->act : GCAM_ACT_NONE,
                          .lo = epi ? epi->lo : 0.0f, .hi = epi ? epi->hi : 0.0f,
                          .nthreads = nthreads < 1 ? 1 : nthreads};
    k->th = ceil_div(k->OH, 4);
    k->tw = ceil_div(k->OW, 4);
    k->T = k->N * k->th * k->tw;
    /* blocks of tiles as equal as can be, each within BLOCK_BYTES */
    const int64_t row_bytes = WT * (k->C + k->Mp) * (int64_t)sizeof(float);
    int64_t rows = BLOCK_BYTES / row_bytes / MR * MR;
    if (rows < ROWS_MIN) rows = ROWS_MIN;
    k->nb = ceil_div(k->T, rows);
    k->tbmax = ceil_div(ceil_div(k->T, k->nb), MR) * MR;
    k->scratch = (size_t)(k->tbmax * row_bytes);
    if (transform_weights(k, W, epi ? epi->wscale : NULL) ||
        !(k->bias = gcam_calloc((size_t)k->Mp, sizeof(float))) || !(k->zeros = gcam_calloc((size_t)k->C, sizeof(float)))) {
        gcam_conv_wino_free(k);
        return GCAM_E_NOMEM;
    }
    if (epi && epi->bias) memcpy(k->bias, epi->bias, sizeof(float) * (size_t)k->M);
    *out = k;
    return GCAM_OK;
}

/* r = B^T d over six vectors */
static inline WINO_TARGET void bt6(const __m256 d[6], __m256 r[6])
{
    const __m256 c4 = _mm256_set1_ps(4.0f), c5 = _mm256_set1_ps(5.0f), c2 = _mm256_set1_ps(2.0f);
    r[0] = _mm256_fmadd_ps(c4, d[0], _mm256_fnmadd_ps(c5, d[2], d[4]));
    r[1] = _mm256_fnmadd_ps(c4, _mm256_add_ps(d[1], d[2]), _mm256_add_ps(d[3], d[4]));
    r[2] = _mm256_fmadd_ps(c4, _mm256_sub_ps(d[1], d[2]), _mm256_sub_ps(d[4], d[3]));
    r[3] = _mm256_fmadd_ps(c2, _mm256_sub_ps(d[3], d[1]), _mm256_sub_ps(d[4], d[2]));
    r[4] = _mm256_fmadd_ps(c2, _mm256_sub_ps(d[1], d[3]), _mm256_sub_ps(d[4], d[2]));
    r[5] = _mm256_fmadd_ps(c4, d[1], _mm256_fnmadd_ps(c5, d[3], d[5]));
}

/* r = A^T m over six vectors, four results */
static inline WINO_TARGET void at6(const __m256 m[6], __m256 r[4])
{
    const __m256 p12 = _mm256_add_ps(m[1], m[2]), m12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 p34 = _mm256_add_ps(m[3], m[4]), m34 = _mm256_sub_ps(m[3], m[4]);
    r[0] = _mm256_add_ps(_mm256_add_ps(m[0], p12), p34);
    r[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), m34, m12);
    r[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), p34, p12);
    r[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), m34, m12), m[5]);
}

/* V[row][x][c..] for the tile at (n, ty, tx): B^T d B over the 6x6 patch,
 * the map's border read from the zero row.  Columns first into t (36
 * vectors in L1), then rows, so no more than a dozen vectors are live. */
static WINO_TARGET void input_tile(const gcam_conv_wino *k, const float *x, int64_t t, float *V, int64_t row)
{
    const int64_t C = k->C, per = k->th * k->tw, n = t / per, ty = t % per / k->tw, tx = t % per % k->tw;
    const int64_t iy0 = 4 * ty - k->pt, ix0 = 4 * tx - k->pl;
    const float *base[6][6];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            const int64_t iy = iy0 + i, ix = ix0 + j;
            base[i][j] = iy >= 0 && iy < k->H && ix >= 0 && ix < k->W ? x + ((n * k->H + iy) * k->W + ix) * C : k->zeros;
        }
    float *v0 = V + row * WT * C;
    for (int64_t c = 0; c < C; c += 8) {
        __m256 tmp[6][6];
        for (int j = 0; j < 6; j++) { /* columns: t[.][j] = B^T d[.][j] */
            __m256 col[6], o[6];
            for (int i = 0; i < 6; i++) col[i] = _mm256_loadu_ps(base[i][j] + c);
            bt6(col, o);
            for (int i = 0; i < 6; i++) tmp[i][j] = o[i];
        }
        for (int i = 0; i < 6; i++) { /* rows: (B^T d) B */
            __m256 o[6];
            bt6(tmp[i], o);
            for (int j = 0; j < 6; j++) _mm256_storeu_ps(v0 + (i * 6 + j) * C + c, o[j]);
        }
    }
}

static inline WINO_TARGET __m256 activate(const gcam_conv_wino *k, __m256 v)
{
    if (k->act == GCAM_ACT_RELU) return _mm256_max_ps(v, _mm256_setzero_ps());
    if (k->act == GCAM_ACT_CLIP) return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(k->lo)), _mm256_set1_ps(k->hi));
    return v;
}

static inline WINO_TARGET void store8(const gcam_conv_wino *k, float *y, int64_t n, int64_t oy, int64_t ox,
                                      int64_t m, __m256 v)
{
    if (k->nhwc_out) {
        _mm256_storeu_ps(y + ((n * k->OH + oy) * k->OW + ox) * k->M + m, v);
        return;
    }
    float l[8];
    _mm256_storeu_ps(l, v);
    const int64_t S = k->OH * k->OW;
    float *p = y + (n * k->M + m) * S + oy * k->OW + ox;
    for (int i = 0; i < 8; i++) p[i * S] = l[i];
}

/* the tile's 4x4 outputs from X[row][x][.]: A^T X A + bias, activated */
static WINO_TARGET void output_tile(const gcam_conv_wino *k, const float *X, int64_t t, int64_t row, float *y)
{
    const int64_t per = k->th * k->tw, n = t / per, ty = t % per / k->tw, tx = t % per % k->tw;
    const int64_t xs = k->Mp, oy0 = 4 * ty, ox0 = 4 * tx;
    const int rows = (int)(k->OH - oy0 < 4 ? k->OH - oy0 : 4), cols = (int)(k->OW - ox0 < 4 ? k->OW - ox0 : 4);
    const float *x0 = X + row * WT * k->Mp;
    for (int64_t m = 0; m < k->M; m += 8) {
        __m256 r[4][6];
        for (int j = 0; j < 6; j++) { /* columns: A^T X[.][j] */
            __m256 col[6], o[4];
            for (int i = 0; i < 6; i++) col[i] = _mm256_loadu_ps(x0 + (i * 6 + j) * xs + m);
            at6(col, o);
            for (int i = 0; i < 4; i++) r[i][j] = o[i];
        }
        const __m256 b = _mm256_loadu_ps(k->bias + m);
        for (int i = 0; i < rows; i++) {
            __m256 o[4];
            at6(r[i], o);
            for (int j = 0; j < cols; j++) store8(k, y, n, oy0 + i, ox0 + j, m, activate(k, _mm256_add_ps(o[j], b)));
        }
    }
}

/* c[6][16] (+)= a[6][K] b[K][16]: a rows lda apart, b packed 16 wide, c rows ldc apart */
static WINO_TARGET void kernel_6x16(int64_t K, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                    int accumulate)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (accumulate) {
        c00 = _mm256_loadu_ps(c), c01 = _mm256_loadu_ps(c + 8);
        c10 = _mm256_loadu_ps(c + ldc), c11 = _mm256_loadu_ps(c + ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
#pragma GCC unroll 4
    for (int64_t i = 0; i < K; i++) {
        const __m256 b0 = _mm256_load_ps(b + i * NR), b1 = _mm256_load_ps(b + i * NR + 8);
        __m256 s = _mm256_broadcast_ss(a0 + i);
        c00 = _mm256_fmadd_ps(s, b0, c00), c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(a1 + i);
        c10 = _mm256_fmadd_ps(s, b0, c10), c11 = _mm256_fmadd_ps(s, b1, c11);
        s = _mm256_broadcast_ss(a2 + i);
        c20 = _mm256_fmadd_ps(s, b0, c20), c21 = _mm256_fmadd_ps(s, b1, c21);
        s = _mm256_broadcast_ss(a3 + i);
        c30 = _mm256_fmadd_ps(s, b0, c30), c31 = _mm256_fmadd_ps(s, b1, c31);
        s = _mm256_broadcast_ss(a4 + i);
        c40 = _mm256_fmadd_ps(s, b0, c40), c41 = _mm256_fmadd_ps(s, b1, c41);
        s = _mm256_broadcast_ss(a5 + i);
        c50 = _mm256_fmadd_ps(s, b0, c50), c51 = _mm256_fmadd_ps(s, b1, c51);
    }
    _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10), _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

/* X[x] = V[x] U[x] over the block's rows (a multiple of MR) at one point x:
 * KC-deep slices of U[x] stay in L2 while the rows pass, each 6-row panel
 * of V in L1 while it meets every 16-column panel of the slice */
static void point_product(const gcam_conv_wino *k, const float *V, float *X, int x, int64_t rows)
{
    const int64_t C = k->C, Mp = k->Mp, nmb = Mp / NR;
    const float *Vx = V + x * C;
    float *Xx = X + x * Mp;
    for (int64_t k0 = 0; k0 < C; k0 += KC) {
        const int64_t kc = C - k0 < KC ? C - k0 : KC;
        const float *slice = k->U + ((int64_t)x * C + k0) * Mp;
        for (int64_t r = 0; r < rows; r += MR)
            for (int64_t mb = 0; mb < nmb; mb++)
                kernel_6x16(kc, Vx + r * WT * C + k0, WT * C, slice + mb * kc * NR, Xx + r * WT * Mp + mb * NR,
                            WT * Mp, k0 > 0);
    }
}

/* Blocks of tiles one after the other, each in three phases shared by the
 * team: the input transform by tile, the 36 products by point (so each
 * thread reads its own part of U, once per block), the output transform by
 * tile. */
int gcam_conv_wino_forward(const gcam_conv_wino *k, const float *x, float *y, void *scratch)
{
    if (!scratch) return GCAM_E_INTERNAL;
    float *V = scratch, *X = V + WT * k->tbmax * k->C;
    int nt = omp_get_max_threads();
    if (nt > k->nthreads) nt = k->nthreads;
#pragma omp parallel num_threads(nt)
    for (int64_t b = 0; b < k->nb; b++) {
        const int64_t t0 = b * k->T / k->nb, t1 = (b + 1) * k->T / k->nb, rows = ceil_div(t1 - t0, MR) * MR;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (t0 + r < t1) {
                input_tile(k, x, t0 + r, V, r);
                continue;
            }
            /* the last panel's spare rows: zeros, not stale tiles */
            memset(V + r * WT * k->C, 0, sizeof(float) * (size_t)(WT * k->C));
        }
#pragma omp for schedule(static)
        for (int p = 0; p < WT; p++) point_product(k, V, X, p, rows);
#pragma omp for schedule(static)
        for (int64_t t = t0; t < t1; t++) output_tile(k, X, t, t - t0, y);
    }
    return GCAM_OK;
}
#endif
