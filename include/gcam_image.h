/* gcam_image.h - drawing maps: heatmaps over photos or over what the model
 * saw, signed and C x H x W gradient maps, grids of tiles, PNG/JPEG files.
 * Everything `gradcam explain` and `gradcam report` draw, for C clients.
 * Included by gcam_eval.h; usable on its own.
 *
 *   gcam_rgb under = {0}, heat = {0};
 *   gcam_error err;
 *   gcam_render_input(&x, gcam_model_input_layout(m, gcam_model_image_input(m)), &under, &err);
 *   gcam_render_heatmap(&under, map, h, w, "jet", 0.5f, &heat, &err);
 *   if (gcam_rgb_save(&heat, "cam.png", &err)) fprintf(stderr, "%s\n", err.msg);
 *   gcam_rgb_free(&under); gcam_rgb_free(&heat);
 *
 * Conventions: an image is a gcam_rgb (8-bit RGB, rows top to bottom); the
 * caller frees every image a call fills with gcam_rgb_free (also after a
 * failure: it is then empty).  Calls taking a model report errors on it
 * (gcam_model_errmsg); the others take a gcam_error (gcam.h, NULL allowed).
 * Colormaps: "jet" (NULL), "turbo", "viridis", "inferno", "gray"
 * (gcam_colormap_table). */
#ifndef GCAM_IMAGE_PUBLIC_H
#define GCAM_IMAGE_PUBLIC_H

#include "gcam.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gcam_rgb {
    int w, h;
    unsigned char *px; /* h rows of w RGB triplets; gcam_rgb_free */
} gcam_rgb;
GCAM_API void gcam_rgb_free(gcam_rgb *img);

/* The photo, scaled up (bilinear) so its shorter side is at least min_side
 * (0: as it is). */
GCAM_API int gcam_render_photo(gcam_model *m, const gcam_photo *photo, int min_side, gcam_rgb *out);
/* A map (h x w, values in [0, 1], the model input's size) over the photo as
 * gcam_save_overlay draws it, at the scale of gcam_render_photo.  photo
 * NULL: the colourised map alone, scaled up to min_side. */
GCAM_API int gcam_render_overlay(gcam_model *m, const gcam_photo *photo, const float *map, int h, int w,
                                 const char *colormap, float alpha, int min_side, gcam_rgb *out);
/* src resized to w x h (antialiased bilinear, as Pillow's). */
GCAM_API int gcam_render_resize(gcam_model *m, const gcam_rgb *src, int w, int h, gcam_rgb *out);
/* Tiles of equal size in rows of cols, captions under each (built-in font,
 * ASCII), white gutters of pad px. */
GCAM_API int gcam_render_grid(gcam_model *m, const gcam_rgb *tiles, int n, int cols, const char *const *labels,
                              int pad, gcam_rgb *out);
/* PNG bytes of an image in memory: *png is the caller's, freed with gcam_mem_free (gcam.h). */
GCAM_API int gcam_png_encode(gcam_model *m, const gcam_rgb *img, unsigned char **png, size_t *len);
/* Baseline JPEG bytes (quality 1..100; out of range: 90): *jpeg is the caller's (gcam_mem_free). */
GCAM_API int gcam_jpeg_encode(gcam_model *m, const gcam_rgb *img, int quality, unsigned char **jpeg, size_t *len);
/* Writes a PNG file (to a temporary name beside it, then renamed). */
GCAM_API int gcam_png_save(gcam_model *m, const gcam_rgb *img, const char *path);

/* ---- maps without a photo or a model (issue 11) ----------------------------- */
/* What the model saw: each channel of a 1 x C x H x W (layout
 * GCAM_LAYOUT_NCHW) or 1 x H x W x C (GCAM_LAYOUT_NHWC) float32 input
 * min-max scaled to 0..255 on its own (a constant channel is 0); one channel
 * is drawn grey, the first three as R, G, B.  GCAM_E_ARG for another shape. */
GCAM_API int gcam_render_input(const gcam_array *input, int layout, gcam_rgb *out, gcam_error *err);
/* A signed or C x H x W map (channels planes of h x w, e.g. guided
 * backpropagation's) as pytorch-grad-cam's deprocess_image draws it:
 * (x - mean) / (std + 1e-5) * 0.1 + 0.5, clipped to [0, 1], times 255;
 * channels >= 3 gives R, G, B from the first three planes, fewer gives grey
 * from the first. */
GCAM_API int gcam_render_signed(const float *map, int channels, int h, int w, gcam_rgb *out, gcam_error *err);
/* A heatmap (h x w values in [0, 1]) over an image: resized (bilinear) to
 * under's size, coloured with colormap, mixed with weight alpha (0..1) over
 * under.  under NULL: the coloured map alone, h x w. */
GCAM_API int gcam_render_heatmap(const gcam_rgb *under, const float *map, int h, int w, const char *colormap,
                                 float alpha, gcam_rgb *out, gcam_error *err);
/* Tiles of equal size in rows of cols (<= 0: as square as possible),
 * captions under each (built-in font, ASCII; labels, or any of them, may be
 * NULL), white gutters of pad px.  gcam_render_grid without a model. */
GCAM_API int gcam_rgb_grid(const gcam_rgb *tiles, int n, int cols, const char *const *labels, int pad,
                           gcam_rgb *out, gcam_error *err);
/* Writes a PNG, or a JPEG (quality 90) when path ends in .jpg or .jpeg,
 * atomically (gcam_file_write_atomic's rules). */
GCAM_API int gcam_rgb_save(const gcam_rgb *img, const char *path, gcam_error *err);

#ifdef __cplusplus
}
#endif
#endif
