/* overlay.c - colourise a heatmap and blend it over the photo it explains. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void gcam_overlay_opts_default(gcam_overlay_opts *o)
{
    *o = (gcam_overlay_opts){.cmap = GCAM_CMAP_JET, .alpha = 0.5f, .pgc_compat = 0};
}

/* Sampling positions along one axis of the output: whether each pixel centre
 * falls in [r0, r0 + rlen), and where it lands in the heatmap (OpenCV
 * INTER_LINEAR arithmetic, so a full-frame rect reproduces cv2.resize). */
static void axis_coeffs(int out_n, double r0, double rlen, int heat_n, unsigned char *in, int *i0,
                        int *i1, float *f)
{
    double scale = heat_n / rlen;
    for (int d = 0; d < out_n; d++) {
        double c = d + 0.5;
        in[d] = c >= r0 && c < r0 + rlen;
        float u = (float)((c - r0) * scale - 0.5);
        int s = (int)floorf(u);
        u -= (float)s;
        if (s < 0) s = 0, u = 0;
        if (s >= heat_n - 1) s = heat_n - 1, u = 0;
        i0[d] = s;
        i1[d] = s + 1 < heat_n ? s + 1 : heat_n - 1;
        f[d] = u;
    }
}

void gcam_heatmap_resample_rect(const float *heat, int heat_w, int heat_h, gcam_rect rect,
                                float *out, int out_w, int out_h, float outside)
{
    if (out_w <= 0 || out_h <= 0) return;
    size_t n = (size_t)out_w * out_h;
    int usable = heat && heat_w > 0 && heat_h > 0 && rect.w > 0 && rect.h > 0 &&
                 isfinite(rect.x) && isfinite(rect.y) && isfinite(rect.w) && isfinite(rect.h);
    unsigned char *xin = NULL, *yin = NULL;
    int *xi0 = NULL, *xi1 = NULL, *yi0 = NULL, *yi1 = NULL;
    float *xf = NULL, *yf = NULL;
    if (usable) {
        xin = gcam_malloc(out_w), yin = gcam_malloc(out_h);
        xi0 = gcam_malloc(sizeof(int) * out_w), xi1 = gcam_malloc(sizeof(int) * out_w);
        yi0 = gcam_malloc(sizeof(int) * out_h), yi1 = gcam_malloc(sizeof(int) * out_h);
        xf = gcam_malloc(sizeof(float) * out_w), yf = gcam_malloc(sizeof(float) * out_h);
        usable = xin && yin && xi0 && xi1 && yi0 && yi1 && xf && yf;
    }
    if (!usable) {
        /* Nothing to place (or no memory to place it): all "outside", which
         * callers render as the untouched photo. */
        for (size_t i = 0; i < n; i++) out[i] = outside;
    } else {
        axis_coeffs(out_w, rect.x, rect.w, heat_w, xin, xi0, xi1, xf);
        axis_coeffs(out_h, rect.y, rect.h, heat_h, yin, yi0, yi1, yf);
        for (int y = 0; y < out_h; y++) {
            float *o = out + (size_t)y * out_w;
            const float *r0 = heat + (size_t)yi0[y] * heat_w, *r1 = heat + (size_t)yi1[y] * heat_w;
            float a = 1.0f - yf[y], b = yf[y];
            for (int x = 0; x < out_w; x++) {
                if (!yin[y] || !xin[x]) {
                    o[x] = outside;
                    continue;
                }
                float p = 1.0f - xf[x], q = xf[x];
                /* horizontal then vertical, as cv2.resize */
                float top = r0[xi0[x]] * p + r0[xi1[x]] * q;
                float bot = r1[xi0[x]] * p + r1[xi1[x]] * q;
                o[x] = top * a + bot * b;
            }
        }
    }
    gcam_free(xin), gcam_free(yin), gcam_free(xi0), gcam_free(xi1), gcam_free(yi0), gcam_free(yi1), gcam_free(xf), gcam_free(yf);
}

static int check_heat(const float *heat, int heat_w, int heat_h, gcam_err *e)
{
    if (!heat || heat_w <= 0 || heat_h <= 0 ||
        (int64_t)heat_w * heat_h > GCAM_IMAGE_MAX_PIXELS)
        return gcam_errf(e, GCAM_E_ARG, "heatmap of %dx%d is invalid", heat_w, heat_h);
    return GCAM_OK;
}

int gcam_overlay_rect(const gcam_image *img, const float *heat, int heat_w, int heat_h,
                      gcam_rect rect, const gcam_overlay_opts *o, gcam_image *out, gcam_err *e)
{
    *out = (gcam_image){0};
    gcam_overlay_opts dflt;
    if (!o) {
        gcam_overlay_opts_default(&dflt);
        o = &dflt;
    }
    if (!img || !img->px || img->c != 3)
        return gcam_errf(e, GCAM_E_ARG, "overlay: expected an RGB image");
    int rc = check_heat(heat, heat_w, heat_h, e);
    if (rc) return rc;
    if (!(o->alpha >= 0.0f && o->alpha <= 1.0f))
        return gcam_errf(e, GCAM_E_ARG, "overlay: alpha %g is outside [0, 1]", (double)o->alpha);
    if (o->cmap < 0 || o->cmap >= GCAM_CMAP_COUNT)
        return gcam_errf(e, GCAM_E_ARG, "overlay: unknown colormap %d", o->cmap);

    size_t n = (size_t)img->w * img->h;
    float *map = gcam_malloc(sizeof *map * n);
    if (!map) return gcam_errf(e, GCAM_E_NOMEM, "overlay: out of memory");
    rc = gcam_image_alloc(out, img->w, img->h, 3, e);
    if (rc) {
        gcam_free(map);
        return rc;
    }
    /* NaN marks "outside the rect"; heatmap NaNs colour as 0 but would also
     * read as outside, which is the sensible rendering of no data anyway. */
    gcam_heatmap_resample_rect(heat, heat_w, heat_h, rect, map, img->w, img->h, NAN);
    const uint8_t *src = img->px;
    uint8_t *dst = out->px;

    if (!o->pgc_compat) {
        float a = o->alpha, ia = 1.0f - o->alpha;
        for (size_t i = 0; i < n; i++) {
            if (isnan(map[i])) {
                memcpy(dst + 3 * i, src + 3 * i, 3);
                continue;
            }
            uint8_t col[3];
            gcam_colormap(o->cmap, map[i], col);
            for (int k = 0; k < 3; k++) {
                float v = ia * src[3 * i + k] + a * col[k] + 0.5f;
                dst[3 * i + k] = v >= 255.0f ? 255 : (uint8_t)v;
            }
        }
    } else {
        /* show_cam_on_image in float32: cam = (1 - w) * heat/255 + w * img/255
         * with w = 1 - alpha, cam /= max(cam), np.uint8(255 * cam). */
        float w = (float)(1.0 - (double)o->alpha), heat_weight = (float)(1.0 - (double)w);
        float mx = 0.0f;
        for (size_t i = 0; i < n; i++) {
            if (isnan(map[i])) continue;
            uint8_t col[3];
            gcam_colormap(o->cmap, map[i], col);
            for (int k = 0; k < 3; k++) {
                float v = heat_weight * ((float)col[k] / 255.0f) + w * ((float)src[3 * i + k] / 255.0f);
                if (v > mx) mx = v;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (isnan(map[i])) {
                memcpy(dst + 3 * i, src + 3 * i, 3);
                continue;
            }
            uint8_t col[3];
            gcam_colormap(o->cmap, map[i], col);
            for (int k = 0; k < 3; k++) {
                float v = heat_weight * ((float)col[k] / 255.0f) + w * ((float)src[3 * i + k] / 255.0f);
                v = mx > 0.0f ? v / mx : 0.0f;
                float s = 255.0f * v;
                dst[3 * i + k] = s >= 255.0f ? 255 : s <= 0.0f ? 0 : (uint8_t)s;
            }
        }
    }
    gcam_free(map);
    return GCAM_OK;
}

int gcam_overlay(const gcam_image *img, const float *heat, int heat_w, int heat_h,
                 const gcam_overlay_opts *o, gcam_image *out, gcam_err *e)
{
    gcam_rect full = {0, 0, img ? img->w : 0, img ? img->h : 0};
    return gcam_overlay_rect(img, heat, heat_w, heat_h, full, o, out, e);
}

int gcam_heatmap_colorize(const float *heat, int heat_w, int heat_h, int cmap, gcam_image *out,
                          gcam_err *e)
{
    *out = (gcam_image){0};
    int rc = check_heat(heat, heat_w, heat_h, e);
    if (rc) return rc;
    if (cmap < 0 || cmap >= GCAM_CMAP_COUNT)
        return gcam_errf(e, GCAM_E_ARG, "colorize: unknown colormap %d", cmap);
    rc = gcam_image_alloc(out, heat_w, heat_h, 3, e);
    if (rc) return rc;
    size_t n = (size_t)heat_w * heat_h;
    for (size_t i = 0; i < n; i++) gcam_colormap(cmap, heat[i], out->px + 3 * i);
    return GCAM_OK;
}
