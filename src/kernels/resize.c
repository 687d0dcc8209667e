/* resize.c - see resize.h. */
#include "resize.h"

#include <math.h>

#include "gcam_internal.h"

double gcam_resize_coord(int coord_mode, int64_t x, double scale, int64_t in_len, int64_t out_len)
{
    double xr = (double)x, resized = scale * (double)in_len;
    switch (coord_mode) {
    case GCAM_COORD_ALIGN_CORNERS:
        return resized == 1.0 ? 0.0 : xr * (double)(in_len - 1) / (resized - 1.0);
    case GCAM_COORD_ASYMMETRIC: return xr / scale;
    case GCAM_COORD_PYTORCH_HALF_PIXEL: return resized == 1.0 ? -0.5 : (xr + 0.5) / scale - 0.5;
    case GCAM_COORD_TF_HALF_PIXEL_FOR_NN: return (xr + 0.5) / scale;
    case GCAM_COORD_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)out_len / resized, center = (double)in_len / 2.0;
        return center * (1.0 - adjustment) + (xr + 0.5) / scale - 0.5;
    }
    default: return (xr + 0.5) / scale - 0.5; /* half_pixel */
    }
}

/* Clamps a coordinate into [-1, in_len] so that floor() fits int64 whatever
 * the scale; values beyond the edges sample the edge either way. */
static double clamp_coord(double v, int64_t in_len)
{
    if (!(v > -1.0)) return -1.0; /* also NaN */
    if (v > (double)in_len) return (double)in_len;
    return v;
}

static int64_t clamp_index(int64_t i, int64_t in_len) { return i < 0 ? 0 : i >= in_len ? in_len - 1 : i; }

gcam_lerp_tap gcam_resize_linear_tap(int coord_mode, int64_t x, double scale, int64_t in_len, int64_t out_len)
{
    double v = clamp_coord(gcam_resize_coord(coord_mode, x, scale, in_len, out_len), in_len);
    double f = floor(v);
    int64_t i = (int64_t)f;
    gcam_lerp_tap t;
    t.w1 = (float)(v - f);
    t.w0 = 1.0f - t.w1;
    t.i0 = clamp_index(i, in_len);
    t.i1 = clamp_index(i + 1, in_len);
    if (t.i0 == t.i1) { /* both taps on one edge pixel: one tap of weight 1 */
        t.w0 = 1.0f;
        t.w1 = 0.0f;
    }
    return t;
}

int64_t gcam_resize_nearest_index(int coord_mode, int nearest_mode, int64_t x, double scale, int64_t in_len,
                                  int64_t out_len)
{
    double v = clamp_coord(gcam_resize_coord(coord_mode, x, scale, in_len, out_len), in_len);
    double f = floor(v), ratio = v - f;
    int64_t i = (int64_t)f;
    if (ratio != 0.0) {
        int up;
        switch (nearest_mode) {
        case GCAM_NEAREST_ROUND_PREFER_CEIL: up = ratio >= 0.5; break;
        case GCAM_NEAREST_FLOOR: up = 0; break;
        case GCAM_NEAREST_CEIL: up = 1; break;
        case GCAM_NEAREST_SIMPLE: up = scale < 1.0; break;
        default: up = ratio > 0.5; break;
        }
        i += up;
    }
    return clamp_index(i, in_len);
}

/* One output row: each output x blends two input columns of the two input
 * rows; the column taps come precomputed (they are the same on every row). */
static void bilinear_row(const float *r0, const float *r1, const gcam_lerp_tap *ty, const gcam_lerp_tap *tx,
                         int64_t ow, float *d)
{
    for (int64_t x = 0; x < ow; x++) {
        const gcam_lerp_tap *t = &tx[x];
        float top = t->w0 * r0[t->i0] + t->w1 * r0[t->i1];
        float bot = t->w0 * r1[t->i0] + t->w1 * r1[t->i1];
        d[x] = ty->w0 * top + ty->w1 * bot;
    }
}

int gcam_resize_bilinear_f32(const float *src, int64_t planes, int64_t ih, int64_t iw, float *dst, int64_t oh,
                             int64_t ow, int coord_mode)
{
    if (planes < 0 || ih < 0 || iw < 0 || oh < 0 || ow < 0) return GCAM_E_ARG;
    if (planes == 0 || oh == 0 || ow == 0) return GCAM_OK;
    if (ih == 0 || iw == 0) return GCAM_E_ARG;
    double sy = (double)oh / (double)ih, sx = (double)ow / (double)iw;
    /* the column taps once per chunk of columns, not once per row (a CAM's
     * 224 x 224 upsampling spent most of its time recomputing them in
     * double); on the stack: this allocates nothing */
    enum { TAPS = 512 };
    gcam_lerp_tap tx[TAPS];
    const int64_t rows = planes * oh;
    for (int64_t x0 = 0; x0 < ow; x0 += TAPS) {
        const int64_t n = ow - x0 < TAPS ? ow - x0 : TAPS;
        for (int64_t x = 0; x < n; x++) tx[x] = gcam_resize_linear_tap(coord_mode, x0 + x, sx, iw, ow);
#pragma omp parallel for schedule(static) if (rows * n > 65536)
        for (int64_t r = 0; r < rows; r++) {
            int64_t p = r / oh, y = r % oh;
            gcam_lerp_tap ty = gcam_resize_linear_tap(coord_mode, y, sy, ih, oh);
            bilinear_row(src + (p * ih + ty.i0) * iw, src + (p * ih + ty.i1) * iw, &ty, tx, n, dst + r * ow + x0);
        }
    }
    return GCAM_OK;
}
