/* resize.c - image resampling: Pillow's antialiased bilinear, plain half-pixel
 * bilinear (uint8 and float), and cropping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "kernels/resize.h"

/* ---- Pillow BILINEAR (libImaging/Resample.c) ------------------------------
 * Reproduced operation for operation so preprocessing is bit-exact with
 * torchvision + Pillow: double-precision coefficients normalised per output
 * pixel, converted to 22-bit fixed point, horizontal pass first into an 8-bit
 * intermediate, then the vertical pass. */

#define PIL_PRECISION_BITS (32 - 8 - 2)

typedef struct pil_coeffs {
    int ksize;
    int *bounds;  /* per output pixel: first input index, number of taps */
    int32_t *kk;  /* per output pixel: ksize fixed-point weights */
} pil_coeffs;

static double triangle(double x)
{
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static int pil_precompute(int in_size, int out_size, pil_coeffs *c)
{
    double scale = (double)in_size / out_size;
    /* Shrinking by s widens the filter by s: each output pixel then averages
     * the whole footprint it covers, which is Pillow's antialiasing. */
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    c->ksize = ksize;
    c->bounds = gcam_malloc(sizeof *c->bounds * 2 * out_size);
    c->kk = gcam_malloc(sizeof *c->kk * ksize * out_size);
    double *k = gcam_malloc(sizeof *k * ksize);
    if (!c->bounds || !c->kk || !k) {
        gcam_free(k);
        return GCAM_E_NOMEM;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5); /* truncation, as Pillow "rounds" */
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        if (xmax > ksize) xmax = ksize; /* cannot happen; keeps writes in bounds */
        int x;
        for (x = 0; x < xmax; x++) {
            double w = triangle((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        int32_t *kf = c->kk + (size_t)xx * ksize;
        for (x = 0; x < ksize; x++)
            kf[x] = k[x] < 0 ? (int32_t)(-0.5 + k[x] * (1 << PIL_PRECISION_BITS))
                             : (int32_t)(0.5 + k[x] * (1 << PIL_PRECISION_BITS));
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    gcam_free(k);
    return GCAM_OK;
}

static void pil_free(pil_coeffs *c)
{
    gcam_free(c->bounds);
    gcam_free(c->kk);
}

static inline uint8_t pil_clip8(int32_t v)
{
    if (v <= 0) return 0;
    v >>= PIL_PRECISION_BITS;
    return v > 255 ? 255 : (uint8_t)v;
}

/* dst (dst_w x rows) from src rows [y0, y0 + rows). */
static void pil_horizontal(const gcam_image *src, int y0, int rows, uint8_t *dst, int dst_w,
                           const pil_coeffs *c)
{
    int ch = src->c;
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src->px + (size_t)(y0 + y) * src->w * ch;
        uint8_t *out = dst + (size_t)y * dst_w * ch;
        for (int xx = 0; xx < dst_w; xx++) {
            int xmin = c->bounds[2 * xx], xmax = c->bounds[2 * xx + 1];
            const int32_t *k = c->kk + (size_t)xx * c->ksize;
            for (int b = 0; b < ch; b++) {
                int32_t ss = 1 << (PIL_PRECISION_BITS - 1);
                for (int x = 0; x < xmax; x++) ss += in[(xmin + x) * ch + b] * k[x];
                out[xx * ch + b] = pil_clip8(ss);
            }
        }
    }
}

/* dst (w x dst_h) from src (w x any); bounds are relative to src's first row. */
static void pil_vertical(const uint8_t *src, int w, int ch, uint8_t *dst, int dst_h,
                         const pil_coeffs *c)
{
    size_t stride = (size_t)w * ch;
    for (int yy = 0; yy < dst_h; yy++) {
        int ymin = c->bounds[2 * yy], ymax = c->bounds[2 * yy + 1];
        const int32_t *k = c->kk + (size_t)yy * c->ksize;
        uint8_t *out = dst + (size_t)yy * stride;
        for (size_t i = 0; i < stride; i++) {
            int32_t ss = 1 << (PIL_PRECISION_BITS - 1);
            for (int y = 0; y < ymax; y++) ss += src[(size_t)(ymin + y) * stride + i] * k[y];
            out[i] = pil_clip8(ss);
        }
    }
}

static int resize_pil(const gcam_image *src, gcam_image *dst)
{
    int w = dst->w, h = dst->h, ch = src->c;
    int need_h = w != src->w, need_v = h != src->h;
    if (!need_h && !need_v) {
        memcpy(dst->px, src->px, (size_t)w * h * ch);
        return GCAM_OK;
    }
    pil_coeffs hc = {0}, vc = {0};
    uint8_t *tmp = NULL;
    int rc = GCAM_OK;
    if ((need_h && pil_precompute(src->w, w, &hc)) || (need_v && pil_precompute(src->h, h, &vc))) {
        rc = GCAM_E_NOMEM;
        goto done;
    }
    if (need_h && need_v) {
        /* Only the source rows some output row reads go through the first pass. */
        int first = vc.bounds[0];
        int last = vc.bounds[2 * h - 2] + vc.bounds[2 * h - 1];
        for (int i = 0; i < h; i++) vc.bounds[2 * i] -= first;
        tmp = gcam_malloc((size_t)w * (last - first) * ch);
        if (!tmp) {
            rc = GCAM_E_NOMEM;
            goto done;
        }
        pil_horizontal(src, first, last - first, tmp, w, &hc);
        pil_vertical(tmp, w, ch, dst->px, h, &vc);
    } else if (need_h) {
        pil_horizontal(src, 0, h, dst->px, w, &hc);
    } else {
        pil_vertical(src->px, w, ch, dst->px, h, &vc);
    }
done:
    gcam_free(tmp);
    pil_free(&hc);
    pil_free(&vc);
    return rc;
}

/* ---- half-pixel bilinear (OpenCV INTER_LINEAR) --------------------------- */

/* For each output index d: the left/top source index i0[d], the right/bottom
 * one i1[d] (clamped), and the weight f[d] of i1.  Outside the source's pixel
 * centres the nearest edge pixel is repeated, as OpenCV does. */
static void linear_coeffs(int in, int out, int *i0, int *i1, float *f)
{
    double scale = (double)in / out;
    for (int d = 0; d < out; d++) {
        float fx = (float)((d + 0.5) * scale - 0.5);
        int sx = (int)floorf(fx);
        fx -= (float)sx;
        if (sx < 0) {
            sx = 0;
            fx = 0;
        }
        if (sx >= in - 1) {
            sx = in - 1;
            fx = 0;
        }
        i0[d] = sx;
        i1[d] = sx + 1 < in ? sx + 1 : in - 1;
        f[d] = fx;
    }
}

/* Separable bilinear on interleaved samples of type T, computed in float with
 * the horizontal pass first (OpenCV's order); STORE converts the float result
 * back to T.  Instantiated for uint8 (float maps: gcam_resize_f32). */
#define GCAM_LINEAR_RESIZE(NAME, T, STORE)                                                     \
    static int NAME(const T *src, int sw, int sh, int ch, T *dst, int dw, int dh)             \
    {                                                                                          \
        int *xi0 = gcam_malloc(sizeof(int) * dw), *xi1 = gcam_malloc(sizeof(int) * dw);                  \
        int *yi0 = gcam_malloc(sizeof(int) * dh), *yi1 = gcam_malloc(sizeof(int) * dh);                  \
        float *xf = gcam_malloc(sizeof(float) * dw), *yf = gcam_malloc(sizeof(float) * dh);              \
        float *row0 = gcam_malloc(sizeof(float) * dw * ch), *row1 = gcam_malloc(sizeof(float) * dw * ch); \
        int rc = GCAM_OK;                                                                      \
        if (!xi0 || !xi1 || !yi0 || !yi1 || !xf || !yf || !row0 || !row1) {                    \
            rc = GCAM_E_NOMEM;                                                                 \
            goto done;                                                                         \
        }                                                                                      \
        linear_coeffs(sw, dw, xi0, xi1, xf);                                                   \
        linear_coeffs(sh, dh, yi0, yi1, yf);                                                   \
        for (int y = 0; y < dh; y++) {                                                         \
            const T *r0 = src + (size_t)yi0[y] * sw * ch, *r1 = src + (size_t)yi1[y] * sw * ch; \
            for (int x = 0; x < dw; x++) {                                                     \
                float a = 1.0f - xf[x], b = xf[x];                                             \
                for (int k = 0; k < ch; k++) {                                                 \
                    row0[x * ch + k] = (float)r0[xi0[x] * ch + k] * a + (float)r0[xi1[x] * ch + k] * b; \
                    row1[x * ch + k] = (float)r1[xi0[x] * ch + k] * a + (float)r1[xi1[x] * ch + k] * b; \
                }                                                                              \
            }                                                                                  \
            float a = 1.0f - yf[y], b = yf[y];                                                 \
            T *out = dst + (size_t)y * dw * ch;                                                \
            for (int i = 0; i < dw * ch; i++) {                                                \
                float v = row0[i] * a + row1[i] * b;                                           \
                out[i] = STORE(v);                                                             \
            }                                                                                  \
        }                                                                                      \
    done:                                                                                      \
        gcam_free(xi0), gcam_free(xi1), gcam_free(yi0), gcam_free(yi1), gcam_free(xf), gcam_free(yf), gcam_free(row0), gcam_free(row1); \
        return rc;                                                                             \
    }

static inline uint8_t store_u8(float v)
{
    v += 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

GCAM_LINEAR_RESIZE(linear_u8, uint8_t, store_u8)

void gcam_resize_f32(const float *src, int sw, int sh, float *dst, int dw, int dh)
{
    /* the same taps as linear_u8's (edge pixels repeated), from the one
     * float bilinear of the library (kernels/resize.c, also ONNX Resize's);
     * it allocates nothing, so this helper cannot fail */
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0) return;
    gcam_resize_bilinear_f32(src, 1, sh, sw, dst, dh, dw, GCAM_COORD_HALF_PIXEL);
}

int gcam_image_resize(const gcam_image *src, int w, int h, int mode, gcam_image *dst, gcam_err *e)
{
    *dst = (gcam_image){0};
    if (!src || !src->px || src->w <= 0 || src->h <= 0 || src->c < 1 || src->c > 4)
        return gcam_errf(e, GCAM_E_ARG, "resize: invalid source image");
    if (mode != GCAM_RESIZE_PIL_BILINEAR && mode != GCAM_RESIZE_BILINEAR)
        return gcam_errf(e, GCAM_E_ARG, "resize: unknown mode %d", mode);
    int rc = gcam_image_alloc(dst, w, h, src->c, e);
    if (rc) return rc;
    rc = mode == GCAM_RESIZE_PIL_BILINEAR
             ? resize_pil(src, dst)
             : linear_u8(src->px, src->w, src->h, src->c, dst->px, w, h);
    if (rc) {
        gcam_image_free(dst);
        return gcam_errf(e, rc, "resize %dx%d -> %dx%d: out of memory", src->w, src->h, w, h);
    }
    return GCAM_OK;
}

int gcam_image_crop(const gcam_image *src, int left, int top, int w, int h, gcam_image *dst,
                    gcam_err *e)
{
    *dst = (gcam_image){0};
    if (!src || !src->px || src->c < 1 || src->c > 4)
        return gcam_errf(e, GCAM_E_ARG, "crop: invalid source image");
    int rc = gcam_image_alloc(dst, w, h, src->c, e);
    if (rc) return rc;
    int ch = src->c;
    memset(dst->px, 0, (size_t)w * h * ch);
    /* The part of the window inside src, in window coordinates. */
    int64_t x0 = left < 0 ? -(int64_t)left : 0, y0 = top < 0 ? -(int64_t)top : 0;
    int64_t x1 = (int64_t)src->w - left, y1 = (int64_t)src->h - top;
    if (x1 > w) x1 = w;
    if (y1 > h) y1 = h;
    for (int64_t y = y0; y < y1; y++)
        if (x1 > x0)
            memcpy(dst->px + ((size_t)y * w + (size_t)x0) * ch,
                   src->px + ((size_t)(top + y) * src->w + (size_t)(left + x0)) * ch,
                   (size_t)(x1 - x0) * ch);
    return GCAM_OK;
}
