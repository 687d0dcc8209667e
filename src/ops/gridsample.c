/* GridSample (opsets 16-21), 2-D: y[n, c, h, w] samples x[n, c] at the
 * grid's normalised (x, y) in [-1, 1] - align_corners maps -1 and 1 to the
 * corner pixels' centres, else to the image edges.  mode bilinear/linear,
 * nearest (half to even) or bicubic/cubic (A = -0.75, 4x4 taps);
 * padding_mode zeros (outside reads 0), border (coordinates and taps
 * clamped) or reflection (reflected at the edges).  Gradient w.r.t. X: dy
 * scattered back with the sampling weights; w.r.t. the grid (a spatial
 * transformer's): the weights' derivatives times the slope of the
 * coordinate map (piecewise linear, taken by a central difference in
 * double), zero for nearest. */
#include <math.h>

#include "kernels/dtype.h"

enum { GS_LINEAR, GS_NEAREST, GS_CUBIC };
enum { PAD_ZEROS, PAD_BORDER, PAD_REFLECT };

typedef struct gs_cfg {
    int mode, pad, align;
} gs_cfg;

static int gs_config(gcam_opctx *c, gs_cfg *k)
{
    const char *m = gcam_attr_str(c->node, "mode", c->node->opset >= 20 ? "linear" : "bilinear");
    const char *p = gcam_attr_str(c->node, "padding_mode", "zeros");
    k->mode = !strcmp(m, "bilinear") || !strcmp(m, "linear") ? GS_LINEAR : !strcmp(m, "nearest") ? GS_NEAREST
            : !strcmp(m, "bicubic") || !strcmp(m, "cubic") ? GS_CUBIC : -1;
    k->pad = !strcmp(p, "zeros") ? PAD_ZEROS : !strcmp(p, "border") ? PAD_BORDER : !strcmp(p, "reflection") ? PAD_REFLECT : -1;
    k->align = gcam_attr_int(c->node, "align_corners", 0) != 0;
    if (k->mode < 0 || k->pad < 0) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "mode '%s' / padding_mode '%s' not supported", m, p);
    const gcam_tensor *x = c->in[0], *g = gcam_in(c, 1);
    if (x->dtype != GCAM_DT_F32 || !g || g->dtype != GCAM_DT_F32 || x->ndim != 4 || g->ndim != 4 || g->dims[3] != 2 ||
        g->dims[0] != x->dims[0])
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "2-D sampling only: X [N,C,H,W] and grid [N,Ho,Wo,2], float32");
    return GCAM_OK;
}

static int gs_infer(gcam_opctx *c)
{
    gs_cfg k;
    int rc = gs_config(c, &k);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0], *g = gcam_in(c, 1);
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = 4;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    y->dims[2] = g->dims[1];
    y->dims[3] = g->dims[2];
    return GCAM_OK;
}

static double reflect(double v, double lo, double hi)
{
    const double span = hi - lo;
    if (span <= 0) return lo;
    if (v < lo) {
        const double d = lo - v, f = fmod(d, span);
        return (int64_t)(d / span) % 2 == 0 ? lo + f : hi - f;
    }
    if (v > hi) {
        const double d = v - hi, f = fmod(d, span);
        return (int64_t)(d / span) % 2 == 0 ? hi - f : lo + f;
    }
    return v;
}

/* the source coordinate along an axis of n pixels */
static double source(const gs_cfg *k, double g, int64_t n)
{
    double v = k->align ? (g + 1) / 2 * (double)(n - 1) : ((g + 1) * (double)n - 1) / 2;
    if (k->pad == PAD_BORDER) v = v < 0 ? 0 : v > n - 1 ? (double)(n - 1) : v;
    else if (k->pad == PAD_REFLECT) v = k->align ? reflect(v, 0, (double)(n - 1)) : reflect(v, -0.5, (double)n - 0.5);
    return v;
}

/* index of tap i along an axis of n, or -1 for a zero read */
static int64_t tap(const gs_cfg *k, int64_t i, int64_t n)
{
    if (i >= 0 && i < n) return i;
    if (k->pad == PAD_ZEROS) return -1;
    if (k->pad == PAD_BORDER) return i < 0 ? 0 : n - 1;
    double r = k->align ? reflect((double)i, 0, (double)(n - 1)) : reflect((double)i, -0.5, (double)n - 0.5);
    int64_t q = (int64_t)nearbyint(r);
    return q < 0 ? 0 : q >= n ? n - 1 : q;
}

static void cubic_w(double t, double w[4])
{
    const double A = -0.75, d[4] = {t + 1, t, 1 - t, 2 - t};
    for (int q = 0; q < 4; q++) {
        const double u = d[q];
        w[q] = u <= 1 ? ((A + 2) * u - (A + 3)) * u * u + 1 : ((A * u - 5 * A) * u + 8 * A) * u - 4 * A;
    }
}

/* derivative of Keys' kernel weight for distance u */
static double cubic_dw(double u)
{
    const double A = -0.75;
    return u <= 1 ? 3 * (A + 2) * u * u - 2 * (A + 3) * u : 3 * A * u * u - 10 * A * u + 8 * A;
}

/* taps (up to 4 per axis), weights, and the weights' derivatives w.r.t. the
 * source coordinate */
static int taps_of(const gs_cfg *k, double v, int64_t n, int64_t *idx, double *w, double *dw)
{
    if (k->mode == GS_NEAREST) {
        idx[0] = tap(k, (int64_t)nearbyint(v), n);
        w[0] = 1;
        dw[0] = 0;
        return 1;
    }
    const double f = floor(v), t = v - f;
    if (k->mode == GS_LINEAR) {
        idx[0] = tap(k, (int64_t)f, n);
        idx[1] = tap(k, (int64_t)f + 1, n);
        w[0] = 1 - t;
        w[1] = t;
        dw[0] = -1;
        dw[1] = 1;
        return 2;
    }
    cubic_w(t, w);
    const double d[4] = {t + 1, t, 1 - t, 2 - t}, sgn[4] = {1, 1, -1, -1};
    for (int q = 0; q < 4; q++) {
        idx[q] = tap(k, (int64_t)f - 1 + q, n);
        dw[q] = cubic_dw(d[q]) * sgn[q];
    }
    return 4;
}

/* d source / d g: the coordinate map is piecewise linear */
static double source_slope(const gs_cfg *k, double g, int64_t n)
{
    const double h = 1e-6;
    return (source(k, g + h, n) - source(k, g - h, n)) / (2 * h);
}

static int gs_run(gcam_opctx *c, int grad)
{
    gs_cfg k;
    int rc = gs_config(c, &k);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0], *g = gcam_in(c, 1);
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], Ho = g->dims[1], Wo = g->dims[2];
    const float *gv = gcam_f32(g), *xv = gcam_f32(x);
    float *dX = grad && c->din[0] ? gcam_f32(c->din[0]) : NULL, *dG = grad && c->din[1] ? gcam_f32(c->din[1]) : NULL;
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < Ho * Wo; p++) {
            const float *gp = gv + (n * Ho * Wo + p) * 2;
            int64_t ix[4], iy[4];
            double wx[4], wy[4], dwx[4], dwy[4];
            const int nx = taps_of(&k, source(&k, gp[0], W), W, ix, wx, dwx), ny = taps_of(&k, source(&k, gp[1], H), H, iy, wy, dwy);
            double ggx = 0, ggy = 0; /* d loss / d source coordinates */
            for (int64_t ch = 0; ch < C; ch++) {
                const int64_t plane = (n * C + ch) * H * W, o = (n * C + ch) * Ho * Wo + p;
                const double dy = grad ? gcam_f32(c->dout[0])[o] : 0;
                double s = 0;
                for (int b = 0; b < ny; b++)
                    for (int a = 0; a < nx; a++) {
                        if (ix[a] < 0 || iy[b] < 0) continue;
                        const int64_t at = plane + iy[b] * W + ix[a];
                        if (!grad) s += wx[a] * wy[b] * xv[at];
                        else {
                            if (dX) dX[at] += (float)(wx[a] * wy[b] * dy);
                            ggx += dwx[a] * wy[b] * xv[at] * dy;
                            ggy += wx[a] * dwy[b] * xv[at] * dy;
                        }
                    }
                if (!grad) gcam_f32(c->out[0])[o] = (float)s;
            }
            if (dG) {
                dG[(n * Ho * Wo + p) * 2] += (float)(ggx * source_slope(&k, gp[0], W));
                dG[(n * Ho * Wo + p) * 2 + 1] += (float)(ggy * source_slope(&k, gp[1], H));
            }
        }
    return GCAM_OK;
}

static int gs_backward(gcam_opctx *c) { return c->dout[0] && (c->din[0] || c->din[1]) ? gs_run(c, 1) : GCAM_OK; }

static int gs_forward(gcam_opctx *c) { return gs_run(c, 0); }

const gcam_op gcam_op_GridSample = {.op_type = "GridSample", .since = 6, .required = 2, .infer = gs_infer, .forward = gs_forward, .backward = gs_backward};
