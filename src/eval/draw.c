/* draw.c - gcam_image.h's calls without a model: the input as the model saw
 * it, signed and C x H x W maps, heatmaps over any image, grids and files.
 * Each forwards to the one internal owner (image/overlay.c, image/grid.c,
 * image/encode.c, cam/postprocess.c). */
#include <stdlib.h>
#include <string.h>

#include "cam/cam.h"
#include "gcam_image.h"
#include "gcam_internal.h"
#include "image/image.h"

static gcam_error *reset(gcam_error *err)
{
    if (err) {
        err->code = GCAM_OK;
        err->msg[0] = 0;
    }
    return err;
}

/* the internal image's pixels move into out (RGB, c = 3) */
static void move_rgb(gcam_image *src, gcam_rgb *out)
{
    out->w = src->w;
    out->h = src->h;
    out->px = src->px;
    memset(src, 0, sizeof *src);
}

/* a view of a caller's RGB image, pixels borrowed */
static gcam_image view_of(const gcam_rgb *img)
{
    return (gcam_image){.w = img->w, .h = img->h, .c = 3, .px = img->px};
}

int gcam_render_input(const gcam_array *x, int layout, gcam_rgb *out, gcam_error *err)
{
    reset(err);
    if (!out) return gcam_errf(err, GCAM_E_ARG, "gcam_render_input: out is NULL");
    memset(out, 0, sizeof *out);
    if (!x || x->dtype != GCAM_FLOAT32 || x->ndim != 4 || x->dims[0] != 1 || !x->data ||
        (layout != GCAM_LAYOUT_NCHW && layout != GCAM_LAYOUT_NHWC))
        return gcam_errf(err, GCAM_E_ARG, "gcam_render_input: a 1 x C x H x W (or 1 x H x W x C) float32 input");
    const int nhwc = layout == GCAM_LAYOUT_NHWC;
    const int64_t C = x->dims[nhwc ? 3 : 1], H = x->dims[nhwc ? 1 : 2], W = x->dims[nhwc ? 2 : 3], hw = H * W;
    if (C < 1 || H < 1 || W < 1 || H > (1 << 16) || W > (1 << 16))
        return gcam_errf(err, GCAM_E_ARG, "gcam_render_input: a 1 x C x H x W (or 1 x H x W x C) float32 input");
    gcam_image img = {0};
    int rc = gcam_image_alloc(&img, (int)W, (int)H, 3, err);
    if (rc) return rc;
    float *planes = gcam_malloc(sizeof(float) * (size_t)(C * hw + 1));
    if (!planes) {
        gcam_image_free(&img);
        return gcam_errf(err, GCAM_E_NOMEM, "out of memory");
    }
    if (nhwc) gcam_cam_to_planar(x->data, C, hw, planes);
    else memcpy(planes, x->data, sizeof(float) * (size_t)(C * hw));
    for (int c = 0; c < 3; c++) {
        const float *pl = planes + (c < C ? c : 0) * hw;
        float lo = pl[0], hi = pl[0];
        for (int64_t p = 1; p < hw; p++) {
            lo = pl[p] < lo ? pl[p] : lo;
            hi = pl[p] > hi ? pl[p] : hi;
        }
        for (int64_t p = 0; p < hw; p++)
            img.px[p * 3 + c] = (uint8_t)(hi > lo ? 255.0f * (pl[p] - lo) / (hi - lo) : 0.0f);
    }
    gcam_free(planes);
    move_rgb(&img, out);
    return GCAM_OK;
}

int gcam_render_signed(const float *map, int channels, int h, int w, gcam_rgb *out, gcam_error *err)
{
    reset(err);
    if (!out) return gcam_errf(err, GCAM_E_ARG, "gcam_render_signed: out is NULL");
    memset(out, 0, sizeof *out);
    if (!map || channels < 1 || h < 1 || w < 1) return gcam_errf(err, GCAM_E_ARG, "gcam_render_signed: no map");
    const int64_t hw = (int64_t)h * w, n = (int64_t)channels * hw;
    gcam_image img = {0};
    int rc = gcam_image_alloc(&img, w, h, 3, err);
    if (rc) return rc;
    float *v = gcam_malloc(sizeof(float) * (size_t)n);
    if (!v) {
        gcam_image_free(&img);
        return gcam_errf(err, GCAM_E_NOMEM, "out of memory");
    }
    memcpy(v, map, sizeof(float) * (size_t)n);
    gcam_cam_deprocess(v, n);
    for (int64_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) img.px[p * 3 + c] = (uint8_t)(255.0f * v[(channels >= 3 ? c : 0) * hw + p]);
    gcam_free(v);
    move_rgb(&img, out);
    return GCAM_OK;
}

int gcam_render_heatmap(const gcam_rgb *under, const float *map, int h, int w, const char *colormap, float alpha,
                        gcam_rgb *out, gcam_error *err)
{
    reset(err);
    if (!out) return gcam_errf(err, GCAM_E_ARG, "gcam_render_heatmap: out is NULL");
    memset(out, 0, sizeof *out);
    if (!map || h < 1 || w < 1) return gcam_errf(err, GCAM_E_ARG, "gcam_render_heatmap: no map");
    int cmap = gcam_colormap_parse(colormap ? colormap : "jet");
    if (cmap < 0) return gcam_errf(err, GCAM_E_ARG, "unknown colormap '%s'", colormap);
    if (!(alpha >= 0 && alpha <= 1)) return gcam_errf(err, GCAM_E_ARG, "alpha %g is not in 0..1", (double)alpha);
    gcam_image img = {0};
    int rc;
    if (under) {
        gcam_overlay_opts ov;
        gcam_overlay_opts_default(&ov);
        ov.cmap = cmap;
        ov.alpha = alpha;
        gcam_image base = view_of(under);
        rc = gcam_overlay(&base, map, w, h, &ov, &img, err);
    } else {
        rc = gcam_heatmap_colorize(map, w, h, cmap, &img, err);
    }
    if (!rc) move_rgb(&img, out);
    return rc;
}

int gcam_rgb_grid(const gcam_rgb *tiles, int n, int cols, const char *const *labels, int pad, gcam_rgb *out,
                  gcam_error *err)
{
    reset(err);
    if (!out) return gcam_errf(err, GCAM_E_ARG, "gcam_rgb_grid: out is NULL");
    memset(out, 0, sizeof *out);
    if (!tiles || n < 1) return gcam_errf(err, GCAM_E_ARG, "gcam_rgb_grid: no tiles");
    gcam_image *t = gcam_calloc((size_t)n, sizeof *t), g = {0};
    if (!t) return gcam_errf(err, GCAM_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) t[i] = view_of(&tiles[i]);
    int rc = gcam_image_grid(t, n, cols, labels, pad, &g, err);
    gcam_free(t); /* the pixels are the caller's */
    if (!rc) move_rgb(&g, out);
    return rc;
}

int gcam_rgb_save(const gcam_rgb *img, const char *path, gcam_error *err)
{
    reset(err);
    if (!img || !img->px) return gcam_errf(err, GCAM_E_ARG, "gcam_rgb_save: no image");
    gcam_image v = view_of(img);
    return gcam_image_save(path, &v, err);
}
