/* Fast paths against the reference: the oneDNN / GEMM-mode convolution
 * kernels (src/kernels/conv_dnnl.c) against a direct double-precision
 * convolution on random geometries, forward with every fused epilogue and
 * backward-data; plan-time fusion and view aliasing against the same graph
 * run unfused (GCAM_FUSE=0) and on the reference kernels (GCAM_CONV=ref);
 * MaxPool's vectorised path against its general one. */
#include <math.h>
#include <stdlib.h>

#include "api/model_internal.h"
#include "kernels/conv_fast.h"
#include "kernels/pgemm.h"
#include "onnx_builder.h"
#include "op_harness.h"
#include "test.h"

static unsigned rng_state = 12345u;
static unsigned rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd() % (unsigned)(hi - lo + 1)); }
static float rnd_f(void) { return (float)((rnd() & 0xffff) / 32768.0 - 1.0); }

typedef struct rconv {
    int nsp;
    int64_t N, C, M, G, in[3], k[3], s[3], d[3], pb[3], pe[3];
} rconv;

/* A random conv that exercises groups, depthwise, strides, dilations and
 * asymmetric pads; i selects the family. */
static void random_conv(rconv *r, int i)
{
    memset(r, 0, sizeof *r);
    r->nsp = i % 9 == 7 ? 1 : i % 9 == 8 ? 3 : 2;
    r->N = rnd_int(1, 2);
    int fam = i % 5;
    int64_t cg = rnd_int(1, 9), mg = rnd_int(1, 9);
    r->G = fam == 1 ? rnd_int(2, 4) : 1;
    if (fam == 2) { /* depthwise, channel multiplier 1 or 2 */
        r->G = rnd_int(3, 20);
        cg = 1;
        mg = rnd_int(1, 2);
    }
    if (fam == 3) { /* wide, to reach the blocked kernels' main loops */
        cg = 16 * rnd_int(1, 3);
        mg = 16 * rnd_int(1, 3);
    }
    r->C = cg * r->G;
    r->M = mg * r->G;
    for (int j = 0; j < r->nsp; j++) {
        r->k[j] = fam == 4 ? 1 : rnd_int(1, r->nsp == 3 ? 3 : 5);
        r->s[j] = fam == 4 && i % 2 ? 1 : rnd_int(1, 3);
        r->d[j] = r->k[j] > 1 && rnd() % 3 == 0 ? 2 : 1;
        int64_t ek = (r->k[j] - 1) * r->d[j] + 1;
        r->pb[j] = fam == 4 && i % 2 ? 0 : rnd_int(0, (int)(ek - 1));
        r->pe[j] = fam == 4 && i % 2 ? 0 : rnd_int(0, (int)(ek - 1));
        r->in[j] = rnd_int((int)(ek > 2 ? ek : 2), r->nsp == 3 ? 7 : 13);
    }
}

static int plan_win(const rconv *r, gcam_win *w)
{
    gcam_win_attr a;
    memset(&a, 0, sizeof a);
    a.nk = a.ns = a.nd = r->nsp;
    a.np = 2 * r->nsp;
    for (int j = 0; j < r->nsp; j++) {
        a.k[j] = r->k[j];
        a.s[j] = r->s[j];
        a.d[j] = r->d[j];
        a.pads[j] = r->pb[j];
        a.pads[r->nsp + j] = r->pe[j];
    }
    char why[128];
    return gcam_win_plan(&a, r->nsp, r->in, r->k, w, why, sizeof why);
}

/* The window of a 2-D case written 3-D ({1, h, w}, as the tables below do),
 * planned on its spatial dims only. */
static int plan_win_2d(const rconv *r, gcam_win *w)
{
    rconv r2 = *r;
    for (int j = 0; j < 2; j++) {
        r2.in[j] = r->in[j + 1];
        r2.k[j] = r->k[j + 1];
        r2.s[j] = r->s[j + 1];
        r2.d[j] = r->d[j + 1];
        r2.pb[j] = r->pb[j + 1];
        r2.pe[j] = r->pe[j + 1];
    }
    return plan_win(&r2, w);
}

/* y = conv(x) in double, no bias; geometry from w (3-D padded). */
static void direct_conv(const gcam_conv_geom *g, const float *x, const float *W, double *y)
{
    const gcam_win *w = &g->w;
    int64_t Cg = g->C / g->G, Mg = g->M / g->G;
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t m = 0; m < g->M; m++)
            for (int64_t o0 = 0; o0 < w->out[0]; o0++)
                for (int64_t o1 = 0; o1 < w->out[1]; o1++)
                    for (int64_t o2 = 0; o2 < w->out[2]; o2++) {
                        double acc = 0;
                        for (int64_t ci = 0; ci < Cg; ci++)
                            for (int64_t k0 = 0; k0 < w->k[0]; k0++)
                                for (int64_t k1 = 0; k1 < w->k[1]; k1++)
                                    for (int64_t k2 = 0; k2 < w->k[2]; k2++) {
                                        int64_t i0 = o0 * w->s[0] - w->pb[0] + k0 * w->d[0];
                                        int64_t i1 = o1 * w->s[1] - w->pb[1] + k1 * w->d[1];
                                        int64_t i2 = o2 * w->s[2] - w->pb[2] + k2 * w->d[2];
                                        if (i0 < 0 || i0 >= w->in[0] || i1 < 0 || i1 >= w->in[1] || i2 < 0 ||
                                            i2 >= w->in[2])
                                            continue;
                                        int64_t c = (m / Mg) * Cg + ci;
                                        acc += (double)x[(n * g->C + c) * w->in_size +
                                                         (i0 * w->in[1] + i1) * w->in[2] + i2] *
                                               W[((m * Cg + ci) * w->k[0] + k0) * w->k[1] * w->k[2] +
                                                 k1 * w->k[2] + k2];
                                    }
                        y[(n * g->M + m) * w->out_size + (o0 * w->out[1] + o1) * w->out[2] + o2] = acc;
                    }
}

/* dx = conv^T(dy) in double. */
static void direct_conv_t(const gcam_conv_geom *g, const float *dy, const float *W, double *dx)
{
    const gcam_win *w = &g->w;
    int64_t Cg = g->C / g->G, Mg = g->M / g->G;
    memset(dx, 0, sizeof(double) * (size_t)(g->N * g->C * w->in_size));
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t m = 0; m < g->M; m++)
            for (int64_t o0 = 0; o0 < w->out[0]; o0++)
                for (int64_t o1 = 0; o1 < w->out[1]; o1++)
                    for (int64_t o2 = 0; o2 < w->out[2]; o2++) {
                        double v = dy[(n * g->M + m) * w->out_size + (o0 * w->out[1] + o1) * w->out[2] + o2];
                        for (int64_t ci = 0; ci < Cg; ci++)
                            for (int64_t k0 = 0; k0 < w->k[0]; k0++)
                                for (int64_t k1 = 0; k1 < w->k[1]; k1++)
                                    for (int64_t k2 = 0; k2 < w->k[2]; k2++) {
                                        int64_t i0 = o0 * w->s[0] - w->pb[0] + k0 * w->d[0];
                                        int64_t i1 = o1 * w->s[1] - w->pb[1] + k1 * w->d[1];
                                        int64_t i2 = o2 * w->s[2] - w->pb[2] + k2 * w->d[2];
                                        if (i0 < 0 || i0 >= w->in[0] || i1 < 0 || i1 >= w->in[1] || i2 < 0 ||
                                            i2 >= w->in[2])
                                            continue;
                                        int64_t c = (m / Mg) * Cg + ci;
                                        dx[(n * g->C + c) * w->in_size + (i0 * w->in[1] + i1) * w->in[2] +
                                           i2] += v * W[((m * Cg + ci) * w->k[0] + k0) * w->k[1] * w->k[2] +
                                                        k1 * w->k[2] + k2];
                                    }
                    }
}

static double act_ref(int act, double v, double lo, double hi)
{
    switch (act) {
    case GCAM_ACT_RELU: return v < 0 ? 0 : v;
    case GCAM_ACT_CLIP: return v < lo ? lo : v > hi ? hi : v;
    case GCAM_ACT_HARDSWISH: {
        double t = v / 6 + 0.5;
        return v * (t < 0 ? 0 : t > 1 ? 1 : t);
    }
    case GCAM_ACT_SWISH: return v / (1 + exp(-v));
    default: return v;
    }
}

GCAM_TEST(conv_fast_vs_direct_random)
{
    if (!gcam_conv_fast_available()) GCAM_SKIP("no fast convolution path in this build");
    int tried = 0, ran = 0, with_bwd = 0;
    for (int i = 0; i < 90; i++) {
        rconv r;
        random_conv(&r, i);
        gcam_conv_geom g = {.N = r.N, .C = r.C, .M = r.M, .G = r.G};
        if (plan_win(&r, &g.w)) continue; /* window larger than the padded input */
        tried++;
        int64_t Cg = r.C / r.G, nx = r.N * r.C * g.w.in_size, ny = r.N * r.M * g.w.out_size;
        int64_t nw = r.M * Cg * g.w.k_size;
        float *x = malloc(sizeof(float) * nx), *W = malloc(sizeof(float) * nw),
              *y = malloc(sizeof(float) * ny);
        float *scale = malloc(sizeof(float) * r.M), *bias = malloc(sizeof(float) * r.M);
        double *ref = malloc(sizeof(double) * ny), *dref = malloc(sizeof(double) * nx);
        float *dy = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx);
        for (int64_t j = 0; j < nx; j++) x[j] = rnd_f();
        for (int64_t j = 0; j < nw; j++) W[j] = rnd_f();
        for (int64_t j = 0; j < r.M; j++) {
            scale[j] = 0.5f + 0.5f * rnd_f() * rnd_f();
            bias[j] = 0.3f * rnd_f();
        }
        /* epilogue: none, bias only, BN-like scale + bias + each activation */
        int kind = i % 7, act = kind >= 2 ? kind - 2 : GCAM_ACT_NONE; /* 2: none, 3: relu, ... */
        if (kind == 6) act = GCAM_ACT_SWISH;
        gcam_conv_epi epi = {.wscale = kind >= 2 ? scale : NULL,
                             .bias = kind >= 1 ? bias : NULL,
                             .act = act,
                             .lo = -0.25f,
                             .hi = 0.75f};
        int bwd = kind == 0 || kind == 1;
        gcam_conv_fast *f = NULL;
        char why[256];
        int rc = gcam_conv_fast_new(&g, W, &epi, bwd, &f, why, sizeof why);
        CHECK_MSG(rc == GCAM_OK || rc == GCAM_E_UNSUPPORTED, "case %d: status %d: %s", i, rc, why);
        if (rc == GCAM_OK) {
            ran++;
            void *scratch = calloc(1, gcam_conv_fast_scratch(f) + gcam_conv_fast_bscratch(f) + 64);
            CHECK_MSG(gcam_conv_fast_forward(f, x, y, NULL, scratch) == GCAM_OK, "case %d forward", i);
            direct_conv(&g, x, W, ref);
            double err = 0, mag = 1;
            for (int64_t j = 0; j < ny; j++) {
                int64_t m = (j / g.w.out_size) % r.M;
                double v = ref[j];
                if (epi.wscale) v *= scale[m];
                if (epi.bias) v += bias[m];
                v = act_ref(act, v, epi.lo, epi.hi);
                err = fmax(err, fabs(v - y[j]));
                mag = fmax(mag, fabs(v));
            }
            CHECK_MSG(err <= 1e-5 * mag * sqrt((double)(Cg * g.w.k_size)) + 1e-5,
                      "case %d (%s, C %lld M %lld G %lld, k %lldx%lld, s %lldx%lld, act %d): forward error "
                      "%g of %g",
                      i, gcam_conv_fast_impl(f), (long long)r.C, (long long)r.M, (long long)r.G,
                      (long long)g.w.k[1], (long long)g.w.k[2], (long long)g.w.s[1], (long long)g.w.s[2], act,
                      err, mag);
            if (bwd && gcam_conv_fast_has_bwd(f)) {
                with_bwd++;
                for (int64_t j = 0; j < ny; j++) dy[j] = rnd_f();
                for (int64_t j = 0; j < nx; j++) dx[j] = 0.5f; /* backward accumulates */
                CHECK_MSG(gcam_conv_fast_backward_data(f, dy, dx, scratch) == GCAM_OK, "case %d backward", i);
                direct_conv_t(&g, dy, W, dref);
                double berr = 0, bmag = 1;
                for (int64_t j = 0; j < nx; j++) {
                    berr = fmax(berr, fabs(dref[j] + 0.5 - dx[j]));
                    bmag = fmax(bmag, fabs(dref[j]));
                }
                CHECK_MSG(berr <= 1e-5 * bmag * sqrt((double)(r.M / r.G * g.w.k_size)) + 1e-5,
                          "case %d (%s): backward-data error %g of %g", i, gcam_conv_fast_impl(f), berr,
                          bmag);
            }
            free(scratch);
        }
        gcam_conv_fast_free(f);
        free(x);
        free(W);
        free(y);
        free(scale);
        free(bias);
        free(ref);
        free(dref);
        free(dy);
        free(dx);
    }
    /* most shapes must take the fast path, forward and backward */
    CHECK_MSG(ran * 10 >= tried * 9, "only %d of %d random convs took the fast path", ran, tried);
    CHECK_MSG(with_bwd >= 10, "only %d convs had a fast backward-data", with_bwd);
}

/* Dilated convs whose taps mostly read padding take the per-tap GEMM mode
 * (conv_taps.c): forward with each epilogue and backward-data against the
 * direct double loops, at shapes where it applies (asymmetric pads, a 5x3
 * kernel, batch 2, a non-square map). */
GCAM_TEST(conv_taps_vs_direct)
{
    if (!gcam_conv_fast_available()) GCAM_SKIP("no fast convolution path in this build");
    const rconv cases[] = {
        {.nsp = 2, .N = 1, .C = 24, .M = 16, .G = 1, .in = {1, 14, 14}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 12, 12}, .pb = {0, 12, 12}, .pe = {0, 12, 12}},
        {.nsp = 2, .N = 2, .C = 8, .M = 12, .G = 1, .in = {1, 9, 7}, .k = {1, 5, 3}, .s = {1, 1, 1},
         .d = {1, 4, 5}, .pb = {0, 7, 5}, .pe = {0, 9, 6}},
    };
    for (int i = 0; i < 2; i++)
        for (int kind = 0; kind < 4; kind++) {
            const rconv *r = &cases[i];
            gcam_conv_geom g = {.N = r->N, .C = r->C, .M = r->M, .G = 1};
            CHECK(plan_win_2d(r, &g.w) == 0);
            const int64_t nx = r->N * r->C * g.w.in_size, ny = r->N * r->M * g.w.out_size,
                          nw = r->M * r->C * g.w.k_size;
            float *x = malloc(sizeof(float) * nx), *W = malloc(sizeof(float) * nw), *y = malloc(sizeof(float) * ny);
            float *dy = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx);
            float scale[16], bias[16];
            double *ref = malloc(sizeof(double) * ny), *dref = malloc(sizeof(double) * nx);
            for (int64_t j = 0; j < nx; j++) x[j] = rnd_f();
            for (int64_t j = 0; j < nw; j++) W[j] = rnd_f();
            for (int j = 0; j < r->M; j++) {
                scale[j] = 0.5f + 0.5f * rnd_f() * rnd_f();
                bias[j] = 0.3f * rnd_f();
            }
            /* 0: plain (with backward), 1: bias, 2: scale + bias + Relu, 3: Clip */
            const int act = kind == 2 ? GCAM_ACT_RELU : kind == 3 ? GCAM_ACT_CLIP : GCAM_ACT_NONE;
            gcam_conv_epi epi = {.wscale = kind >= 2 ? scale : NULL, .bias = kind >= 1 ? bias : NULL, .act = act,
                                 .lo = -0.25f, .hi = 0.75f};
            gcam_conv_fast *f = NULL;
            char why[256];
            CHECK(gcam_conv_fast_new(&g, W, &epi, kind == 0, &f, why, sizeof why) == GCAM_OK);
            CHECK_MSG(f && !strcmp(gcam_conv_fast_impl(f), "taps:sgemm"), "case %d took %s", i,
                      f ? gcam_conv_fast_impl(f) : "nothing");
            void *scratch = calloc(1, gcam_conv_fast_scratch(f) + gcam_conv_fast_bscratch(f) + 64);
            CHECK(gcam_conv_fast_forward(f, x, y, NULL, scratch) == GCAM_OK);
            direct_conv(&g, x, W, ref);
            double err = 0, mag = 1;
            for (int64_t j = 0; j < ny; j++) {
                const int64_t m = (j / g.w.out_size) % r->M;
                double v = ref[j] * (epi.wscale ? scale[m] : 1.0) + (epi.bias ? bias[m] : 0.0);
                v = act_ref(act, v, epi.lo, epi.hi);
                err = fmax(err, fabs(v - y[j]));
                mag = fmax(mag, fabs(v));
            }
            CHECK_MSG(err <= 1e-5 * mag * sqrt((double)(r->C * g.w.k_size)), "case %d kind %d: forward error %g of %g",
                      i, kind, err, mag);
            /* the same conv with x and / or y channels last agrees with it */
            for (int lay = 1; kind >= 1 && lay < 4; lay++) {
                gcam_conv_geom gl = g;
                gl.nhwc_in = lay & 1;
                gl.nhwc_out = (lay >> 1) & 1;
                gcam_conv_fast *fl = NULL;
                CHECK(gcam_conv_fast_new(&gl, W, &epi, 0, &fl, why, sizeof why) == GCAM_OK);
                CHECK_MSG(fl && !strcmp(gcam_conv_fast_impl(fl), "taps:sgemm"), "case %d layout %d", i, lay);
                const int64_t HWi = g.w.in_size, HWo = g.w.out_size;
                for (int64_t n = 0; gl.nhwc_in && n < r->N; n++) /* x -> NHWC in dx (scratch use) */
                    for (int64_t c = 0; c < r->C; c++)
                        for (int64_t p = 0; p < HWi; p++) dx[(n * HWi + p) * r->C + c] = x[(n * r->C + c) * HWi + p];
                void *sl = calloc(1, gcam_conv_fast_scratch(fl) + 64);
                CHECK(gcam_conv_fast_forward(fl, gl.nhwc_in ? dx : x, dy, NULL, sl) == GCAM_OK);
                double lerr = 0;
                for (int64_t n = 0; n < r->N; n++)
                    for (int64_t m = 0; m < r->M; m++)
                        for (int64_t p = 0; p < HWo; p++) {
                            const float v = gl.nhwc_out ? dy[(n * HWo + p) * r->M + m] : dy[(n * r->M + m) * HWo + p];
                            lerr = fmax(lerr, fabs(v - y[(n * r->M + m) * HWo + p]));
                        }
                CHECK_MSG(lerr <= 1e-5 * mag, "case %d kind %d layout %d differs by %g", i, kind, lay, lerr);
                free(sl);
                gcam_conv_fast_free(fl);
            }
            if (kind == 0) {
                CHECK(gcam_conv_fast_has_bwd(f));
                for (int64_t j = 0; j < ny; j++) dy[j] = rnd_f();
                for (int64_t j = 0; j < nx; j++) dx[j] = 0.5f; /* backward accumulates */
                CHECK(gcam_conv_fast_backward_data(f, dy, dx, scratch) == GCAM_OK);
                direct_conv_t(&g, dy, W, dref);
                double berr = 0, bmag = 1;
                for (int64_t j = 0; j < nx; j++) {
                    berr = fmax(berr, fabs(dref[j] + 0.5 - dx[j]));
                    bmag = fmax(bmag, fabs(dref[j]));
                }
                CHECK_MSG(berr <= 1e-5 * bmag * sqrt((double)(r->M * g.w.k_size)), "case %d: backward error %g of %g",
                          i, berr, bmag);
            }
            free(scratch);
            gcam_conv_fast_free(f);
            free(x);
            free(W);
            free(y);
            free(dy);
            free(dx);
            free(ref);
            free(dref);
        }
}

/* ---- fusion and views, through whole graphs ------------------------------- */

/* Winograd F(4x4, 3x3) (conv_wino.c) against the direct sum in double:
 * sizes that are not multiples of the 4x4 tile, pads on one side only, M
 * not a multiple of its 16-column panels, more tiles than one block, every
 * epilogue, NHWC and NCHW outputs, a 7x7 map with small weights. */
static int wino_machine(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !__builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

GCAM_TEST(conv_wino_vs_direct)
{
    if (!gcam_conv_fast_available()) GCAM_SKIP("no fast convolution path in this build");
    if (!wino_machine()) GCAM_SKIP("Winograd runs on AVX2 machines without AVX-512 only");
    const rconv cases[] = {
        {.nsp = 2, .N = 1, .C = 16, .M = 24, .G = 1, .in = {1, 14, 14}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
        {.nsp = 2, .N = 2, .C = 40, .M = 16, .G = 1, .in = {1, 17, 15}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 0, 2}, .pe = {0, 2, 0}},
        {.nsp = 2, .N = 1, .C = 264, .M = 48, .G = 1, .in = {1, 16, 16}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 0, 0}, .pe = {0, 0, 0}},
        {.nsp = 2, .N = 1, .C = 16, .M = 16, .G = 1, .in = {1, 130, 70}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
        {.nsp = 2, .N = 2, .C = 128, .M = 32, .G = 1, .in = {1, 7, 7}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
    };
    for (int i = 0; i < 5; i++)
        for (int kind = 0; kind < 4; kind++) {
            const rconv *r = &cases[i];
            gcam_conv_geom g = {.N = r->N, .C = r->C, .M = r->M, .G = 1, .nhwc_in = 1, .nhwc_out = kind & 1,
                                .winograd = 1};
            CHECK(plan_win_2d(r, &g.w) == 0);
            const int64_t HWi = g.w.in_size, HWo = g.w.out_size, nx = r->N * r->C * HWi, ny = r->N * r->M * HWo;
            float *x = malloc(sizeof(float) * nx), *xh = malloc(sizeof(float) * nx), *y = malloc(sizeof(float) * ny);
            float *W = malloc(sizeof(float) * (size_t)(r->M * r->C * 9)), scale[48], bias[48];
            double *ref = malloc(sizeof(double) * ny);
            for (int64_t j = 0; j < nx; j++) x[j] = rnd_f();
            for (int64_t j = 0; j < r->M * r->C * 9; j++) W[j] = rnd_f();
            for (int j = 0; j < r->M; j++) {
                scale[j] = 0.5f + 0.5f * rnd_f() * rnd_f();
                bias[j] = 0.3f * rnd_f();
            }
            for (int64_t n = 0; n < r->N; n++) /* x channels last */
                for (int64_t c = 0; c < r->C; c++)
                    for (int64_t p = 0; p < HWi; p++) xh[(n * HWi + p) * r->C + c] = x[(n * r->C + c) * HWi + p];
            /* 0: plain, 1: bias, 2: scale + bias + Relu, 3: scale + Clip */
            const int act = kind == 2 ? GCAM_ACT_RELU : kind == 3 ? GCAM_ACT_CLIP : GCAM_ACT_NONE;
            gcam_conv_epi epi = {.wscale = kind >= 2 ? scale : NULL, .bias = kind == 1 || kind == 2 ? bias : NULL,
                                 .act = act, .lo = -0.25f, .hi = 0.75f};
            gcam_conv_fast *f = NULL;
            char why[256];
            CHECK(gcam_conv_fast_new(&g, W, &epi, 0, &f, why, sizeof why) == GCAM_OK);
            CHECK_MSG(f && !strcmp(gcam_conv_fast_impl(f), "winograd_4x3:avx2"), "case %d took %s", i,
                      f ? gcam_conv_fast_impl(f) : "nothing");
            void *scratch = calloc(1, gcam_conv_fast_scratch(f) + 64);
            CHECK(gcam_conv_fast_forward(f, xh, y, NULL, scratch) == GCAM_OK);
            direct_conv(&g, x, W, ref);
            double err = 0, mag = 1;
            for (int64_t n = 0; n < r->N; n++)
                for (int64_t m = 0; m < r->M; m++)
                    for (int64_t p = 0; p < HWo; p++) {
                        double v = ref[(n * r->M + m) * HWo + p] * (epi.wscale ? scale[m] : 1.0) +
                                   (epi.bias ? bias[m] : 0.0);
                        v = act_ref(act, v, epi.lo, epi.hi);
                        const float got = g.nhwc_out ? y[(n * HWo + p) * r->M + m] : y[(n * r->M + m) * HWo + p];
                        err = fmax(err, fabs(v - got));
                        mag = fmax(mag, fabs(v));
                    }
            /* the transforms' coefficients (up to 8 and 1/24) cost some bits over the direct sum */
            CHECK_MSG(err <= 1e-5 * mag * sqrt((double)(r->C * 9)), "case %d kind %d: error %g of %g", i, kind, err,
                      mag);
            free(scratch);
            gcam_conv_fast_free(f);
            free(x), free(xh), free(y), free(W), free(ref);
        }
    /* not taken: a stride, a dilation, too few channels, a map under 7x7, a 9x9
     * map with 9 MB of transformed weights, NCHW input */
    const rconv no[] = {
        {.nsp = 2, .N = 1, .C = 16, .M = 16, .G = 1, .in = {1, 30, 30}, .k = {1, 3, 3}, .s = {1, 2, 2},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
        {.nsp = 2, .N = 1, .C = 16, .M = 16, .G = 1, .in = {1, 30, 30}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 2, 2}, .pb = {0, 2, 2}, .pe = {0, 2, 2}},
        {.nsp = 2, .N = 1, .C = 12, .M = 16, .G = 1, .in = {1, 30, 30}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
        {.nsp = 2, .N = 1, .C = 16, .M = 16, .G = 1, .in = {1, 6, 6}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
        {.nsp = 2, .N = 1, .C = 256, .M = 256, .G = 1, .in = {1, 9, 9}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
        {.nsp = 2, .N = 1, .C = 16, .M = 16, .G = 1, .in = {1, 30, 30}, .k = {1, 3, 3}, .s = {1, 1, 1},
         .d = {1, 1, 1}, .pb = {0, 1, 1}, .pe = {0, 1, 1}},
    };
    for (int i = 0; i < 6; i++) {
        gcam_conv_geom g = {.N = 1, .C = no[i].C, .M = no[i].M, .G = 1, .nhwc_in = i < 5, .nhwc_out = 1,
                            .winograd = 1};
        CHECK(plan_win_2d(&no[i], &g.w) == 0);
        float *W = calloc((size_t)(no[i].M * no[i].C * 9), sizeof(float));
        gcam_conv_fast *f = NULL;
        char why[256];
        int rc = gcam_conv_fast_new(&g, W, NULL, 0, &f, why, sizeof why);
        CHECK_MSG(rc != GCAM_OK || !strstr(gcam_conv_fast_impl(f), "winograd"), "case %d took Winograd", i);
        gcam_conv_fast_free(f);
        free(W);
    }
}

static void fillv(float *v, int n, double phase, double scale)
{
    for (int i = 0; i < n; i++) v[i] = (float)(scale * sin(1.7 * i + phase));
}

enum { FC = 16, FS = 8 };

static void conv_bn(ob *b, const char *name, const char *in, const char *out, int cin, int cout, int k,
                    int group, double phase, int with_bn)
{
    char wn[64], bn[5][64], ins[512], mid[64];
    static float w[FC * FC * 9], p[FC];
    fillv(w, cout * (cin / group) * k * k, phase, 0.4);
    snprintf(wn, sizeof wn, "%s_W", name);
    ob_init_f32(b, wn, 4, (int64_t[]){cout, cin / group, k, k}, w);
    snprintf(mid, sizeof mid, "%s_c", name);
    snprintf(ins, sizeof ins, "%s,%s", in, wn);
    Onnx__NodeProto *n = ob_node(b, "Conv", name, ins, with_bn ? mid : out);
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){k / 2, k / 2, k / 2, k / 2});
    if (group > 1) ob_attr_int(b, n, "group", group);
    if (!with_bn) return;
    const char *suffix[4] = {"scale", "bias", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        fillv(p, cout, phase + i, i == 3 ? 0.3 : 0.5);
        for (int j = 0; j < cout; j++) p[j] += i == 0 ? 1.0f : i == 3 ? 1.2f : 0.0f;
        snprintf(bn[i], sizeof bn[i], "%s_%s", name, suffix[i]);
        ob_init_f32(b, bn[i], 1, (int64_t[]){cout}, p);
    }
    char bname[80];
    snprintf(bname, sizeof bname, "%s_bn", name);
    snprintf(ins, sizeof ins, "%s,%s,%s,%s,%s", mid, bn[0], bn[1], bn[2], bn[3]);
    ob_node(b, "BatchNormalization", bname, ins, out);
}

/* Every pattern the planner fuses, and a view chain:
 *   x -> conv a+BN -> Relu -> r1
 *   r1 -> conv b (depthwise)+BN -> Clip(0, 0.5) -> c2
 *   c2 -> conv c (1x1)+BN -> SiLU (Sigmoid, Mul) -> s3
 *   s3 -> conv d+BN -> HardSwish -> h4
 *   h4 -> conv e (1x1)+BN -> t5;  Add(t5, r1) -> Relu -> a6   (all into conv e)
 *   a6 -> conv f (no BN) -> Relu -> f7 -> Identity -> Reshape -> Flatten -> y */
/* variant 1: Add(r1, t5) with no Relu after it (MobileNetV2's join) */
static int fusion_variant;
static gcam_model *fusion_model(void)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,16,8,8");
    conv_bn(b, "a", "x", "a_bn", FC, FC, 3, 1, 0.1, 1);
    ob_node(b, "Relu", "relu_a", "a_bn", "r1");
    conv_bn(b, "b", "r1", "b_bn", FC, FC, 3, FC, 0.2, 1);
    static const float lo = 0.0f, hi = 0.5f;
    ob_init_f32(b, "lo", 0, NULL, &lo);
    ob_init_f32(b, "hi", 0, NULL, &hi);
    ob_node(b, "Clip", "clip_b", "b_bn,lo,hi", "c2");
    conv_bn(b, "c", "c2", "c_bn", FC, FC, 1, 1, 0.3, 1);
    ob_node(b, "Sigmoid", "sig_c", "c_bn", "c_sig");
    ob_node(b, "Mul", "mul_c", "c_bn,c_sig", "s3");
    conv_bn(b, "d", "s3", "d_bn", FC, FC, 3, 1, 0.4, 1);
    ob_node(b, "HardSwish", "hs_d", "d_bn", "h4");
    conv_bn(b, "e", "h4", "t5", FC, FC, 1, 1, 0.5, 1);
    if (fusion_variant == 1) {
        ob_node(b, "Add", "add", "r1,t5", "a6");
    } else {
        ob_node(b, "Add", "add", "t5,r1", "s6");
        ob_node(b, "Relu", "relu_add", "s6", "a6");
    }
    conv_bn(b, "f", "a6", "f_c", FC, FC, 3, 1, 0.6, 0);
    ob_node(b, "Relu", "relu_f", "f_c", "f7");
    ob_node(b, "Identity", "id", "f7", "f8");
    static const int64_t shape[2] = {1, -1};
    ob_init_i64(b, "shape", 1, (int64_t[]){2}, shape);
    ob_node(b, "Reshape", "reshape", "f8,shape", "f9");
    Onnx__NodeProto *fl = ob_node(b, "Flatten", "flat", "f9", "y");
    ob_attr_int(b, fl, "axis", 1);
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

static float FX[FC * FS * FS];

/* Builds fusion_model, runs it on FX and copies y; *m is left for the caller
 * to inspect and free (possibly NULL). */
/* Builds and runs the model under the given settings (fuse, conv-reference,
 * channels-last); copies y. */
static int run_fusion_model(float *y, gcam_model **m, int fuse, int conv_ref, int nhwc)
{
    *m = fusion_model();
    int rc = *m && (*m)->g ? GCAM_OK : GCAM_E_INTERNAL;
    if (!rc) rc = gcam_model_set_option(*m, GCAM_OPT_FUSE, fuse);
    if (!rc) rc = gcam_model_set_option(*m, GCAM_OPT_CONV_REFERENCE, conv_ref);
    if (!rc) rc = gcam_model_set_option(*m, GCAM_OPT_CHANNELS_LAST, nhwc);
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, FC, FS, FS}, .data = FX};
    if (!rc) rc = gcam_model_run(*m, NULL, &x, 1);
    gcam_array out;
    if (!rc) rc = gcam_model_tensor(*m, "y", &out);
    if (!rc) memcpy(y, out.data, sizeof(float) * FC * FS * FS);
    return rc;
}

/* Runs the model with and without fusion, on the reference or the fast convs. */
static int run_with(int fuse, int conv_ref, float *y, int *n_skipped)
{
    gcam_model *m;
    int rc = run_fusion_model(y, &m, fuse, conv_ref, 1);
    if (!rc && n_skipped) {
        *n_skipped = 0;
        for (int i = 0; i < m->g->n_nodes; i++) *n_skipped += m->g->nodes[i].fuse.skip;
    }
    gcam_model_free(m);
    return rc;
}

GCAM_TEST(plan_fusion_matches_unfused)
{
    for (fusion_variant = 0; fusion_variant < 2; fusion_variant++) {
        fillv(FX, FC * FS * FS, 0.25, 1.0);
        static float y_ref[FC * FS * FS], y_ref_fused[FC * FS * FS], y_fast[FC * FS * FS],
            y_fast_unfused[FC * FS * FS];
        int skipped = 0, skipped0 = 0;
        CHECK(run_with(0, 1, y_ref, &skipped0) == GCAM_OK);
        CHECK(skipped0 == 0);
        CHECK(run_with(1, 1, y_ref_fused, &skipped) == GCAM_OK);
        /* BN a, Relu a, BN b, Clip b, BN c, Sigmoid c, Mul c, BN d, HardSwish d, BN e + Add + Relu
         * (the residual join, into pointwise conv e), Relu f */
        CHECK_MSG(skipped == 13 - fusion_variant, "variant %d: %d nodes fused away, expected %d",
                  fusion_variant, skipped, 13 - fusion_variant);
        CHECK(run_with(1, 0, y_fast, NULL) == GCAM_OK);
        CHECK(run_with(0, 0, y_fast_unfused, NULL) == GCAM_OK);
        double mag = 0, e_ref = 0, e_fast = 0, e_fast0 = 0;
        for (int i = 0; i < FC * FS * FS; i++) {
            mag = fmax(mag, fabs(y_ref[i]));
            e_ref = fmax(e_ref, fabs(y_ref[i] - y_ref_fused[i]));
            e_fast = fmax(e_fast, fabs(y_ref[i] - y_fast[i]));
            e_fast0 = fmax(e_fast0, fabs(y_ref[i] - y_fast_unfused[i]));
        }
        CHECK(mag > 0.1);
        /* the reference epilogue repeats the ops' own arithmetic */
        CHECK_MSG(e_ref <= 1e-6 * mag, "fused reference differs by %g of %g", e_ref, mag);
        CHECK_MSG(e_fast <= 1e-4 * mag, "fused fast path differs by %g of %g", e_fast, mag);
        CHECK_MSG(e_fast0 <= 1e-4 * mag, "unfused fast path differs by %g of %g", e_fast0, mag);
    }
    fusion_variant = 0;
}

/* The packed GEMM (kernels/pgemm.c) against the plain triple loop: rows and
 * columns off the 6 x 16 blocks, K across several slices, both ways of
 * splitting the work, one and two threads, a leading dimension wider than K,
 * B given transposed, C += A B. */
GCAM_TEST(pgemm_vs_reference)
{
    if (!gcam_pgemm_available()) GCAM_SKIP("the packed GEMM runs on AVX2 machines without AVX-512 only");
    /* M over 198 rows takes several packed chunks of A; 450 x 70 x 40 and
     * 400 x 260 x 33 split them between the threads */
    const int64_t shapes[][3] = {{1, 5, 8},       {7, 300, 24},   {197, 600, 50},  {40, 17, 3},
                                 {300, 64, 16},   {13, 520, 130}, {450, 70, 40},   {400, 260, 33}};
    for (int i = 0; i < 8; i++)
        for (int nt = 1; nt <= 2; nt++) {
            const int64_t M = shapes[i][0], K = shapes[i][1], N = shapes[i][2], lda = K + 3;
            float *A = malloc(sizeof(float) * (size_t)(M * lda)), *B = malloc(sizeof(float) * (size_t)(K * N));
            float *C = malloc(sizeof(float) * (size_t)(M * N)), *R = malloc(sizeof(float) * (size_t)(M * N));
            for (int64_t j = 0; j < M * lda; j++) A[j] = rnd_f();
            for (int64_t j = 0; j < K * N; j++) B[j] = rnd_f();
            for (int64_t j = 0; j < M * N; j++) C[j] = 1e30f; /* every element must be written */
            gcam_pgemm *p = NULL;
            const int tb = i % 2; /* B given transposed (Gemm's transB) */
            float *Bt = malloc(sizeof(float) * (size_t)(K * N));
            for (int64_t r = 0; r < K; r++)
                for (int64_t j = 0; j < N; j++) Bt[j * K + r] = B[r * N + j];
            CHECK(gcam_pgemm_new(tb ? Bt : B, K, N, tb, &p) == GCAM_OK);
            CHECK(gcam_pgemm_run(p, M, A, lda, C, N, 0, NULL, nt) == GCAM_OK);
            gcam_sgemm_ref(0, 0, M, N, K, 1.0f, A, lda, B, N, 0.0f, R, N);
            if (nt == 2) { /* accumulating onto C */
                CHECK(gcam_pgemm_run(p, M, A, lda, C, N, 1, NULL, nt) == GCAM_OK);
                for (int64_t j = 0; j < M * N; j++) C[j] *= 0.5f;
            }
            free(Bt);
            double err = 0;
            for (int64_t j = 0; j < M * N; j++) err = fmax(err, fabs(C[j] - R[j]));
            CHECK_MSG(err <= 1e-5 * sqrt((double)K), "%lld x %lld x %lld, %d threads: off by %g", (long long)M,
                      (long long)K, (long long)N, nt, err);
            gcam_pgemm_free(p);
            free(A), free(B), free(C), free(R);
        }
}

/* torch.onnx's GELU, y = (x * (erf(x / c) + 1)) * 0.5, fused into the Div
 * (plan.c, plan_gelu): four nodes skipped, the output bit for bit the
 * unfused one and within 1e-6 of the double-precision GELU; with the Erf's
 * output also a graph output nothing is fused.  Variant 1 writes the Mul's
 * operands the other way round. */
static gcam_model *gelu_model(int variant, int erf_out)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4,24");
    static const float c = 1.41421353816986084f, one = 1.0f, half = 0.5f;
    ob_init_f32(b, "c", 0, NULL, &c);
    ob_init_f32(b, "one", 0, NULL, &one);
    ob_init_f32(b, "half", 0, NULL, &half);
    ob_node(b, "Div", "div", "x,c", "d");
    ob_node(b, "Erf", "erf", "d", "e");
    ob_node(b, "Add", "add", variant ? "one,e" : "e,one", "a");
    ob_node(b, "Mul", "mul", variant ? "a,x" : "x,a", "m");
    ob_node(b, "Mul", "mul_half", "m,half", "y");
    ob_output(b, "y", OB_F32, NULL);
    if (erf_out) ob_output(b, "e", OB_F32, NULL);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

static int run_gelu(int variant, int erf_out, int fuse, float *y, int *skipped)
{
    static float x[96];
    for (int i = 0; i < 96; i++) x[i] = -6.0f + 12.0f * (float)i / 95.0f;
    gcam_model *m = gelu_model(variant, erf_out);
    int rc = m && m->g ? gcam_model_set_option(m, GCAM_OPT_FUSE, fuse) : GCAM_E_INTERNAL;
    gcam_array in = {.dtype = GCAM_FLOAT32, .ndim = 3, .dims = {1, 4, 24}, .data = x}, out;
    if (!rc) rc = gcam_model_run(m, NULL, &in, 1);
    if (!rc) rc = gcam_model_tensor(m, "y", &out);
    if (!rc) memcpy(y, out.data, sizeof(float) * 96);
    *skipped = 0;
    for (int i = 0; !rc && i < m->g->n_nodes; i++) *skipped += m->g->nodes[i].fuse.skip;
    gcam_model_free(m);
    return rc;
}

GCAM_TEST(plan_fusion_gelu_matches_unfused)
{
    for (int variant = 0; variant < 2; variant++) {
        float y0[96], y1[96], y2[96];
        int s0 = -1, s1 = -1, s2 = -1;
        CHECK(run_gelu(variant, 0, 0, y0, &s0) == GCAM_OK);
        CHECK(run_gelu(variant, 0, 1, y1, &s1) == GCAM_OK);
        CHECK(run_gelu(variant, 1, 1, y2, &s2) == GCAM_OK);
        CHECK_MSG(s0 == 0 && s1 == 4 && s2 == 0, "variant %d: %d, %d, %d nodes fused away (expected 0, 4, 0)", variant,
                  s0, s1, s2);
        CHECK(!memcmp(y0, y1, sizeof y0) && !memcmp(y0, y2, sizeof y0));
        double err = 0;
        for (int i = 0; i < 96; i++) {
            const double x = -6.0f + 12.0f * (float)i / 95.0f;
            err = fmax(err, fabs(y1[i] - 0.5 * x * (1.0 + erf(x / sqrt(2.0)))));
        }
        CHECK_MSG(err <= 1e-6, "variant %d: GELU off by %g", variant, err);
    }
}

/* x @ W + b (plan.c, plan_matmul_bias): the Add of a 1-D bias after a
 * MatMul by a 2-D weight is added as the product is stored, with the
 * packed GEMM (40 rows: 2 x 20 tokens) and with sgemm (packed-gemm 0), in
 * either Add operand order; the output within float rounding of the
 * unfused graph (the packed GEMM sums in another order than sgemm's), the
 * Add skipped; not fused when the MatMul's output is also a graph output;
 * fused when the bias is an Identity of an initializer (folded first). */
static int run_linear(int variant, int fuse, int packed, float *y, int *skipped)
{
    enum { T = 20, K = 33, N = 37 };
    static float x[2 * T * K], w[K * N], bias[N];
    for (int i = 0; i < 2 * T * K; i++) x[i] = (float)((i * 7) % 13) * 0.1f - 0.6f;
    for (int i = 0; i < K * N; i++) w[i] = (float)((i * 5) % 11) * 0.05f - 0.25f;
    for (int i = 0; i < N; i++) bias[i] = (float)i * 0.01f - 0.2f;
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "2,20,33");
    ob_init_f32(b, "w", 2, (int64_t[]){K, N}, w);
    ob_init_f32(b, "b", 1, (int64_t[]){N}, bias);
    if (variant == 3) ob_node(b, "Identity", "id", "b", "bi"); /* torch.onnx's shared biases: folded first */
    ob_node(b, "MatMul", "mm", "x,w", "p");
    ob_node(b, "Add", "add", variant == 1 ? "b,p" : variant == 3 ? "p,bi" : "p,b", "y");
    ob_output(b, "y", OB_F32, NULL);
    if (variant == 2) ob_output(b, "p", OB_F32, NULL);
    gcam_model *m;
    ob_load(b, &m);
    int rc = m && m->g ? gcam_model_set_option(m, GCAM_OPT_FUSE, fuse) : GCAM_E_INTERNAL;
    if (!rc) rc = gcam_model_set_option(m, GCAM_OPT_PACKED_GEMM, packed);
    gcam_array in = {.dtype = GCAM_FLOAT32, .ndim = 3, .dims = {2, T, K}, .data = x}, out;
    if (!rc) rc = gcam_model_run(m, NULL, &in, 1);
    if (!rc) rc = gcam_model_tensor(m, "y", &out);
    if (!rc) memcpy(y, out.data, sizeof(float) * 2 * T * N);
    *skipped = 0;
    for (int i = 0; !rc && i < m->g->n_nodes; i++) *skipped += m->g->nodes[i].fuse.skip;
    gcam_model_free(m);
    return rc;
}

GCAM_TEST(plan_fusion_matmul_bias)
{
    enum { NY = 2 * 20 * 37 };
    static float y0[NY], y1[NY];
    for (int variant = 0; variant < 4; variant++)
        for (int packed = 0; packed < 2; packed++) {
            int s0 = -1, s1 = -1;
            CHECK(run_linear(variant, 0, packed, y0, &s0) == GCAM_OK);
            CHECK(run_linear(variant, 1, packed, y1, &s1) == GCAM_OK);
            CHECK_MSG(s0 == 0 && s1 == (variant == 2 ? 0 : 1), "variant %d, packed %d: %d, %d nodes fused away",
                      variant, packed, s0, s1);
            double err = 0;
            for (int i = 0; i < NY; i++) err = fmax(err, fabs(y0[i] - y1[i]));
            CHECK_MSG(err <= 1e-5, "variant %d, packed %d: fused off by %g", variant, packed, err);
        }
}

/* Layouts: the conv chain runs channels last (GCAM_TF_NHWC) with the same
 * output as plain NCHW (GCAM_NHWC=0), and nothing a user or a view reads is
 * stored NHWC. */
static int run_layouts(int nhwc, float *y, int *n_nhwc, int *plain_ok)
{
    gcam_model *m;
    int rc = run_fusion_model(y, &m, 1, 0, nhwc);
    if (!rc) {
        *n_nhwc = 0;
        for (int t = 0; t < m->g->n_tensors; t++) *n_nhwc += (m->g->tensors[t].flags & GCAM_TF_NHWC) != 0;
        *plain_ok = 1;
        const char *plain[] = {"x", "y", "f7", "f8", "f9"}; /* input, output, a view's input and outputs */
        for (int i = 0; i < 5; i++) {
            int t = gcam_graph_find(m->g, plain[i]);
            if (t < 0 || (m->g->tensors[t].flags & GCAM_TF_NHWC)) *plain_ok = 0;
        }
    }
    gcam_model_free(m);
    return rc;
}

GCAM_TEST(plan_layouts_nhwc_matches_plain)
{
    for (fusion_variant = 0; fusion_variant < 2; fusion_variant++) {
        fillv(FX, FC * FS * FS, 0.25, 1.0);
        static float y0[FC * FS * FS], y1[FC * FS * FS];
        int n0 = -1, n1 = -1, ok0 = 0, ok1 = 0;
        CHECK(run_layouts(0, y0, &n0, &ok0) == GCAM_OK);
        CHECK(run_layouts(1, y1, &n1, &ok1) == GCAM_OK);
        CHECK_MSG(n0 == 0, "channels-last 0 planned %d tensors NHWC", n0);
        if (strcmp(gcam_conv_backend(), "onednn")) continue; /* no fast convs: no NHWC */
        /* r1, c2 (+ conv b's raw output), s3 (+ c's), h4 (+ d's), a6 (+ e's) at least */
        CHECK_MSG(n1 >= 5, "only %d tensors planned NHWC", n1);
        CHECK(ok1);
        double mag = 0, e = 0;
        for (int i = 0; i < FC * FS * FS; i++) {
            mag = fmax(mag, fabs(y0[i]));
            e = fmax(e, fabs(y0[i] - y1[i]));
        }
        CHECK(mag > 0.1);
        CHECK_MSG(e <= 1e-5 * mag, "variant %d: NHWC differs from NCHW by %g of %g", fusion_variant, e, mag);
    }
    fusion_variant = 0;
}

/* DenseNet's pattern, which runs channels last end to end (the channel
 * Concat, the standalone BatchNormalization + Relu, the all-zero Pad and
 * the transition AveragePool are GCAM_NHWC_TIED):
 *   x -> conv p (1x1)+BN -> Relu -> p1;  p1 -> conv q (3x3) -> q1
 *   Concat(p1, q1) -> k1 -> BN -> Relu -> b1 -> conv r (1x1) -> r1
 *   r1 -> Pad(0) -> d1 -> AveragePool 2x2/2 -> a1 -> conv s (1x1) -> y */
static gcam_model *dense_model(void)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,16,8,8");
    conv_bn(b, "p", "x", "p_bn", FC, FC, 1, 1, 0.1, 1);
    ob_node(b, "Relu", "relu_p", "p_bn", "p1");
    conv_bn(b, "q", "p1", "q1", FC, FC, 3, 1, 0.2, 0);
    Onnx__NodeProto *cat = ob_node(b, "Concat", "cat", "p1,q1", "k1");
    ob_attr_int(b, cat, "axis", 1);
    static float par[4][2 * FC];
    const char *pn[4] = {"k_scale", "k_bias", "k_mean", "k_var"};
    for (int i = 0; i < 4; i++) {
        fillv(par[i], 2 * FC, 0.3 + i, 0.5);
        for (int j = 0; j < 2 * FC; j++) par[i][j] += i == 0 ? 1.0f : i == 3 ? 1.2f : 0.0f;
        ob_init_f32(b, pn[i], 1, (int64_t[]){2 * FC}, par[i]);
    }
    ob_node(b, "BatchNormalization", "k_bn", "k1,k_scale,k_bias,k_mean,k_var", "k2");
    ob_node(b, "Relu", "relu_k", "k2", "b1");
    conv_bn(b, "r", "b1", "r1", 2 * FC, FC, 1, 1, 0.4, 0);
    static const int64_t zeros[8] = {0};
    ob_init_i64(b, "pads0", 1, (int64_t[]){8}, zeros);
    ob_node(b, "Pad", "pad", "r1,pads0", "d1");
    Onnx__NodeProto *ap = ob_node(b, "AveragePool", "pool", "d1", "a1");
    ob_attr_ints(b, ap, "kernel_shape", 2, (int64_t[]){2, 2});
    ob_attr_ints(b, ap, "strides", 2, (int64_t[]){2, 2});
    conv_bn(b, "s", "a1", "y", FC, FC, 1, 1, 0.5, 0);
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m;
    ob_load(b, &m);
    return m;
}

/* Runs dense_model channels last or not; copies y (FC x FS/2 x FS/2) and
 * counts which of k1, b1, d1, a1 were planned NHWC. */
static int run_dense(int nhwc, float *y, int *n_tied)
{
    gcam_model *m = dense_model();
    int rc = m && m->g ? GCAM_OK : GCAM_E_INTERNAL;
    if (!rc) rc = gcam_model_set_option(m, GCAM_OPT_CHANNELS_LAST, nhwc);
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, FC, FS, FS}, .data = FX};
    if (!rc) rc = gcam_model_run(m, NULL, &x, 1);
    gcam_array out;
    if (!rc) rc = gcam_model_tensor(m, "y", &out);
    if (!rc) memcpy(y, out.data, sizeof(float) * FC * FS * FS / 4);
    *n_tied = 0;
    const char *tied[] = {"k1", "b1", "d1", "a1"};
    for (int i = 0; !rc && i < 4; i++) {
        int t = gcam_graph_find(m->g, tied[i]);
        *n_tied += t >= 0 && (m->g->tensors[t].flags & GCAM_TF_NHWC);
    }
    gcam_model_free(m);
    return rc;
}

GCAM_TEST(plan_layouts_dense_block_nhwc)
{
    fillv(FX, FC * FS * FS, 0.35, 1.0);
    static float y0[FC * FS * FS / 4], y1[FC * FS * FS / 4];
    int n0 = -1, n1 = -1;
    CHECK(run_dense(0, y0, &n0) == GCAM_OK);
    CHECK(run_dense(1, y1, &n1) == GCAM_OK);
    CHECK_MSG(n0 == 0, "channels-last 0 planned %d tensors NHWC", n0);
    if (strcmp(gcam_conv_backend(), "onednn")) return; /* no fast convs: no NHWC */
    CHECK_MSG(n1 == 4, "concat, BN + Relu, Pad and pool outputs: %d of 4 planned NHWC", n1);
    double mag = 0, e = 0;
    for (int i = 0; i < FC * FS * FS / 4; i++) {
        mag = fmax(mag, fabs(y0[i]));
        e = fmax(e, fabs(y0[i] - y1[i]));
    }
    CHECK(mag > 0.1);
    CHECK_MSG(e <= 1e-5 * mag, "NHWC differs from NCHW by %g of %g", e, mag);
}

/* Dilated convs whose outer taps only ever read padding (DeepLabV3's ASPP
 * at rates 24 and 36 on a 14x14 map): the fast path crops those taps (a
 * 3x3 at rate 8 on 6x6 becomes a 1x1; rate 3 on 6x6 with stride 2 keeps
 * some), the reference kernels do not; outputs agree. */
static int run_dilated(int conv_ref, int64_t rate, int64_t stride, float *y, int64_t *n_out)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,8,6,6");
    static float w[12 * 8 * 9];
    fillv(w, 12 * 8 * 9, 0.7, 0.4);
    ob_init_f32(b, "W", 4, (int64_t[]){12, 8, 3, 3}, w);
    Onnx__NodeProto *n = ob_node(b, "Conv", "aspp", "x,W", "c");
    ob_attr_ints(b, n, "dilations", 2, (int64_t[]){rate, rate});
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){rate, rate, rate, rate});
    ob_attr_ints(b, n, "strides", 2, (int64_t[]){stride, stride});
    ob_node(b, "Relu", "relu", "c", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m;
    ob_load(b, &m);
    int rc = m ? gcam_model_set_option(m, GCAM_OPT_CONV_REFERENCE, conv_ref) : GCAM_E_INTERNAL;
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 8, 6, 6}, .data = FX};
    if (!rc) rc = gcam_model_run(m, NULL, &x, 1);
    gcam_array out;
    if (!rc) rc = gcam_model_tensor(m, "y", &out);
    if (!rc) {
        *n_out = 1;
        for (int d = 0; d < out.ndim; d++) *n_out *= out.dims[d];
        memcpy(y, out.data, sizeof(float) * (size_t)*n_out);
    }
    gcam_model_free(m);
    return rc;
}

GCAM_TEST(conv_dead_dilated_taps_cropped)
{
    fillv(FX, 8 * 6 * 6, 0.45, 1.0);
    const int64_t cases[][2] = {{8, 1}, {6, 1}, {3, 2}, {2, 1}};
    for (int i = 0; i < 4; i++) {
        static float y0[12 * 36], y1[12 * 36];
        int64_t n0 = 0, n1 = 0;
        CHECK(run_dilated(1, cases[i][0], cases[i][1], y0, &n0) == GCAM_OK);
        CHECK(run_dilated(0, cases[i][0], cases[i][1], y1, &n1) == GCAM_OK);
        CHECK(n0 == n1 && n0 > 0);
        double mag = 0, e = 0;
        for (int64_t k = 0; k < n0; k++) {
            mag = fmax(mag, fabs(y0[k]));
            e = fmax(e, fabs(y0[k] - y1[k]));
        }
        CHECK(mag > 0.1);
        CHECK_MSG(e <= 1e-5 * mag, "rate %lld stride %lld: fast differs by %g of %g", (long long)cases[i][0],
                  (long long)cases[i][1], e, mag);
    }
}

/* A Grad-CAM layer inside a fusible chain keeps it unfused; maps agree. */
GCAM_TEST(plan_fusion_respects_layers)
{
    fillv(FX, FC * FS * FS, 0.25, 1.0);
    const char *layers[] = {"a_bn", "c_sig", "t5", "a6"};
    for (int li = 0; li < 4; li++) {
        float *maps[2];
        for (int fuse = 0; fuse < 2; fuse++) {
            gcam_model *m = fusion_model();
            CHECK(m && m->g);
            CHECK(gcam_model_set_option(m, GCAM_OPT_FUSE, fuse) == GCAM_OK);
            gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, FC, FS, FS}, .data = FX};
            gcam_explain_opts o;
            gcam_explain_opts_default(&o);
            const char *l[1] = {layers[li]};
            o.layers = l;
            o.n_layers = 1;
            o.target_class = 5;
            o.normalize = GCAM_NORM_NONE;
            gcam_explanation *ex = NULL;
            int rc = gcam_explain(m, &x, &o, &ex);
            CHECK_MSG(rc == GCAM_OK, "layer %s: %s", layers[li], gcam_model_errmsg(m));
            int h, w;
            const float *map = gcam_explanation_map(ex, &h, &w);
            maps[fuse] = malloc(sizeof(float) * (size_t)(h * w));
            memcpy(maps[fuse], map, sizeof(float) * (size_t)(h * w));
            gcam_explanation_free(ex);
            gcam_model_free(m);
        }
        double e = 0, mag = 0;
        for (int i = 0; i < FS * FS; i++) {
            e = fmax(e, fabs(maps[0][i] - maps[1][i]));
            mag = fmax(mag, fabs(maps[0][i]));
        }
        free(maps[0]);
        free(maps[1]);
        CHECK_MSG(e <= 1e-4 * fmax(mag, 1e-3), "layer %s: maps differ by %g of %g", layers[li], e, mag);
    }
}

/* Views share their input's memory; the layer listing does not change with fusion. */
GCAM_TEST(plan_views_alias_and_layers_stable)
{
    gcam_model *m = fusion_model();
    CHECK(m && m->g);
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, FC, FS, FS}, .data = FX};
    CHECK(gcam_model_run(m, NULL, &x, 1) == GCAM_OK);
    gcam_graph *g = m->g;
    void *f7 = g->tensors[gcam_graph_find(g, "f7")].data;
    CHECK(f7 != NULL);
    CHECK(g->tensors[gcam_graph_find(g, "f8")].data == f7);
    CHECK(g->tensors[gcam_graph_find(g, "f9")].data == f7);
    CHECK(g->tensors[gcam_graph_find(g, "y")].data == f7);
    const gcam_layer *l1;
    int n1;
    CHECK(gcam_model_layers(m, &l1, &n1) == GCAM_OK);
    char names[64][64];
    for (int i = 0; i < n1 && i < 64; i++) snprintf(names[i], sizeof names[i], "%s", l1[i].tensor);
    gcam_model_free(m);
    m = fusion_model();
    CHECK(gcam_model_set_option(m, GCAM_OPT_FUSE, 0) == GCAM_OK);
    const gcam_layer *l0;
    int n0;
    CHECK(gcam_model_layers(m, &l0, &n0) == GCAM_OK);
    CHECK(n0 == n1);
    for (int i = 0; i < n0 && i < 64; i++) CHECK(!strcmp(names[i], l0[i].tensor));
    gcam_model_free(m);
}

/* MaxPool's vectorised path (no Indices output) against the general path
 * (Indices requested), NaN placement included. */
GCAM_TEST(maxpool_fast_matches_general)
{
    static const int64_t cfg[][6] = {/* H, W, k, s, pad_begin, pad_end */
                                     {9, 11, 3, 2, 1, 1}, {8, 8, 2, 2, 0, 0}, {7, 13, 3, 1, 1, 0},
                                     {12, 5, 5, 3, 2, 2}, {6, 6, 3, 3, 0, 2}, {112, 112, 3, 2, 1, 1}};
    for (int ci = 0; ci < 6; ci++) {
        const int64_t *c = cfg[ci];
        float *ys[2];
        int64_t ny = 0;
        for (int with_ind = 0; with_ind < 2; with_ind++) {
            tnode *t = tn_new("MaxPool", 12);
            tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){c[2], c[2]});
            tn_attr_ints(t, "strides", 2, (int64_t[]){c[3], c[3]});
            tn_attr_ints(t, "pads", 4, (int64_t[]){c[4], c[4], c[5], c[5]});
            int64_t n = 2 * 3 * c[0] * c[1];
            float *x = malloc(sizeof(float) * (size_t)n);
            rng_state = 777u + (unsigned)ci;
            for (int64_t i = 0; i < n; i++) x[i] = rnd() % 97 == 0 ? NAN : rnd_f();
            tn_input_f32(t, (int64_t[]){2, 3, c[0], c[1]}, 4, x, 0);
            free(x);
            if (with_ind) tn_outputs(t, 2);
            CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
            ny = gcam_numel(t->out[0]);
            ys[with_ind] = malloc(sizeof(float) * (size_t)ny);
            memcpy(ys[with_ind], tn_out(t, 0), sizeof(float) * (size_t)ny);
            tn_free(t);
        }
        for (int64_t i = 0; i < ny; i++)
            CHECK_MSG((isnan(ys[0][i]) && isnan(ys[1][i])) || ys[0][i] == ys[1][i],
                      "config %d element %lld: %g vs %g", ci, (long long)i, ys[0][i], ys[1][i]);
        free(ys[0]);
        free(ys[1]);
    }
}

/* Settings are per model, named from one list, and validated. */
GCAM_TEST(model_options_per_handle)
{
    gcam_model *a = fusion_model(), *b = fusion_model();
    CHECK(a && b);
    CHECK(gcam_option_parse("conv-reference") == GCAM_OPT_CONV_REFERENCE);
    CHECK(gcam_option_parse("no-such-option") == -1);
    CHECK(!strcmp(gcam_option_name(GCAM_OPT_CHANNELS_LAST), "channels-last"));
    CHECK(gcam_option_name(GCAM_OPT_COUNT) == NULL);
    CHECK(gcam_model_get_option(a, GCAM_OPT_FUSE) == 1 && gcam_model_get_option(a, GCAM_OPT_CONV_REFERENCE) == 0);
    CHECK(gcam_model_set_option(a, GCAM_OPT_FUSE, 0) == GCAM_OK);
    CHECK(gcam_model_get_option(a, GCAM_OPT_FUSE) == 0 && gcam_model_get_option(b, GCAM_OPT_FUSE) == 1);
    CHECK(gcam_model_set_option(a, GCAM_OPT_FUSE, 2) == GCAM_E_ARG);
    CHECK(strstr(gcam_model_errmsg(a), "fuse") != NULL);
    CHECK(gcam_model_set_option(a, GCAM_OPT_COUNT, 1) == GCAM_E_ARG);
    CHECK(gcam_model_set_option(NULL, GCAM_OPT_FUSE, 1) == GCAM_E_ARG);
    CHECK(gcam_model_get_option(NULL, GCAM_OPT_FUSE) == -1);
    gcam_model_free(a);
    gcam_model_free(b);
    /* conv-reference reaches the convs: with no oneDNN primitive nothing runs channels last */
    static float y[FC * FS * FS];
    gcam_model *m;
    CHECK(run_fusion_model(y, &m, 1, 1, 1) == GCAM_OK);
    int n_nhwc = 0;
    for (int t = 0; m && t < m->g->n_tensors; t++) n_nhwc += (m->g->tensors[t].flags & GCAM_TF_NHWC) != 0;
    CHECK_MSG(n_nhwc == 0, "conv-reference planned %d tensors NHWC", n_nhwc);
    gcam_model_free(m);
}

/* The profile setting counts every node's passes and names what fusion folded in. */
GCAM_TEST(model_profile_counts_passes)
{
    gcam_model *m = fusion_model();
    CHECK(m && m->g);
    if (!m) return;
    gcam_array x = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, FC, FS, FS}, .data = FX};
    const gcam_profile_row *r;
    int n = -1;
    CHECK(gcam_model_run(m, NULL, &x, 1) == GCAM_OK);
    CHECK(gcam_model_profile(m, &r, &n) == GCAM_OK && n == 0); /* off by default */
    CHECK(gcam_model_set_option(m, GCAM_OPT_PROFILE, 1) == GCAM_OK);
    CHECK(gcam_model_run(m, NULL, &x, 1) == GCAM_OK);
    CHECK(gcam_model_run(m, NULL, &x, 1) == GCAM_OK);
    CHECK(gcam_model_profile(m, &r, &n) == GCAM_OK);
    int running = 0, fused = 0;
    for (int i = 0; i < m->g->n_nodes; i++) running += !m->g->nodes[i].fuse.skip;
    CHECK_MSG(n > 0 && n <= running, "%d rows for %d running nodes", n, running);
    double total = 0;
    for (int i = 0; i < n; i++) {
        CHECK_MSG(r[i].forward_calls == 2, "%s ran %lld times", r[i].node, (long long)r[i].forward_calls);
        CHECK(r[i].backward_calls == 0 && r[i].node && r[i].op_type);
        total += r[i].forward_ms;
        fused += strchr(r[i].op_type, '+') != NULL;
    }
    CHECK(total > 0);
    CHECK_MSG(fused > 0, "no fused op in the profile");
    gcam_model_profile_reset(m);
    CHECK(gcam_model_profile(m, &r, &n) == GCAM_OK && n == 0);
    CHECK(gcam_model_profile(NULL, &r, &n) == GCAM_E_ARG);
    gcam_model_free(m);
}
