/* image.h - images in and out of gradcam: decode, encode, resample,
 * preprocess into a model tensor, colourise a heatmap and blend it over a photo.
 *
 * Usage (errors omitted):
 *
 *     gcam_image photo = {0};
 *     gcam_image_load("cat.jpg", 0, &photo, &err);          // 8-bit RGB
 *     gcam_preproc pp;
 *     gcam_preproc_imagenet(&pp);                           // 256 -> crop 224
 *     float *x = gcam_malloc(sizeof(float) * 3 * pp.height * pp.width);
 *     gcam_preprocess(&photo, &pp, x, &err);                // 1x3x224x224 NCHW
 *     ... run the model, get a heatmap `cam` of cam_w x cam_h in [0, 1] ...
 *     gcam_preproc_plan plan;
 *     gcam_preproc_make_plan(&pp, photo.w, photo.h, &plan, &err);
 *     gcam_overlay_opts ov;
 *     gcam_overlay_opts_default(&ov);                       // jet, alpha 0.5
 *     gcam_image out = {0};
 *     gcam_overlay_rect(&photo, cam, cam_w, cam_h, plan.src_rect, &ov, &out, &err);
 *     gcam_image_save_png("cat_cam.png", &out, &err);
 *     gcam_image_free(&out); gcam_image_free(&photo); gcam_free(x);
 *
 * Pixel layout: gcam_image.px holds h rows of w * c bytes, top row first,
 * channels interleaved (RGB for c = 3; c = 1 is grey, c = 4 is RGBA).
 * Ownership: a function that fills a gcam_image allocates px with malloc and
 * the caller releases it with gcam_image_free (which also zeroes the struct,
 * so freeing twice or freeing a zeroed struct is harmless).  On failure the
 * output image is left zeroed.  Output images must not alias input images.
 *
 * Conventions chosen to match the Python tools people compare against:
 *  - Decoding is libpng / libjpeg(-turbo) with libjpeg's default IDCT and
 *    fancy upsampling, which is what Pillow uses, so RGB values match
 *    PIL.Image.open(...).convert("RGB") for opaque images.
 *  - Resizing for the model input defaults to Pillow's antialiased bilinear
 *    (GCAM_RESIZE_PIL_BILINEAR), what torchvision's Resize does to PIL images.
 *  - Colormaps are OpenCV's tables and are indexed like pytorch-grad-cam's
 *    show_cam_on_image: index = (uint8)(255 * v).
 */
#ifndef GCAM_IMAGE_H
#define GCAM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "gcam_internal.h"

/* Largest image we agree to hold: w * h above this is GCAM_E_RANGE.  2^28
 * pixels is 768 MiB of RGB, far beyond any photo a classifier sees, and keeps
 * every w * h * c product comfortably inside int64 and size_t. */
#define GCAM_IMAGE_MAX_PIXELS ((int64_t)1 << 28)

typedef struct gcam_image {
    int w, h, c;  /* width, height, channels per pixel (1, 3 or 4) */
    uint8_t *px;  /* h * w * c bytes, owned; release with gcam_image_free */
} gcam_image;

/* Allocates an uninitialised w x h x c image.  GCAM_E_ARG for c not in 1..4 or
 * non-positive sizes, GCAM_E_RANGE above GCAM_IMAGE_MAX_PIXELS. */
int gcam_image_alloc(gcam_image *img, int w, int h, int c, gcam_err *e);
/* Frees img->px and zeroes *img.  NULL is a no-op. */
void gcam_image_free(gcam_image *img);

/* ---- decode (decode.c) ---------------------------------------------------- */

enum {
    GCAM_IMGFMT_UNKNOWN = 0,
    GCAM_IMGFMT_PNG = 1,
    GCAM_IMGFMT_JPEG = 2,
};
/* Image format from the leading magic bytes (never from a file name). */
int gcam_image_sniff(const void *data, size_t size);

/* Decode flags. */
enum {
    /* Keep JPEG pixels as stored, ignoring the EXIF orientation tag.  That is
     * what PIL.Image.open does (torchvision then sees the unrotated image);
     * by default gradcam applies the orientation, as viewers display it. */
    GCAM_DECODE_NO_EXIF_ROTATE = 1 << 0,
};

/* Decodes a PNG or JPEG file into 8-bit RGB (out->c = 3).
 *  PNG: 1/2/4/8/16-bit grey, grey+alpha, palette (tRNS), RGB, RGBA, interlaced.
 *       16-bit samples keep their high byte (as Pillow does); alpha, from an
 *       alpha channel or tRNS, is composited over white.
 *  JPEG: grey, YCbCr, RGB, CMYK and YCCK (Adobe-inverted when the Adobe APP14
 *       marker is present), baseline and progressive; EXIF orientation 1..8 is
 *       applied unless GCAM_DECODE_NO_EXIF_ROTATE.
 * Errors: GCAM_E_IO "cannot open <path>: <strerror>"; GCAM_E_PARSE for
 * unknown formats ("<path>: not a PNG or JPEG file") and corrupt or truncated
 * files (one line naming the file); GCAM_E_RANGE for absurd dimensions;
 * GCAM_E_NOMEM. */
int gcam_image_load(const char *path, unsigned flags, gcam_image *out, gcam_err *e);
/* Same, from memory.  name is used in messages only (NULL: "<memory>"). */
int gcam_image_decode(const void *data, size_t size, const char *name, unsigned flags,
                      gcam_image *out, gcam_err *e);
/* Both, refusing before anything is allocated (GCAM_E_NOMEM, with both
 * sizes) an image whose decoding would take more than max_bytes (0: no
 * limit), and (GCAM_E_PARSE, at any limit) a file whose compressed data is
 * too small to fill the size its header claims. */
int gcam_image_load_limited(const char *path, unsigned flags, size_t max_bytes, gcam_image *out, gcam_err *e);
int gcam_image_decode_limited(const void *data, size_t size, const char *name, unsigned flags, size_t max_bytes,
                              gcam_image *out, gcam_err *e);

/* ---- encode (encode.c) ---------------------------------------------------- */

/* 8-bit PNG of a c = 1 (grey), 3 (RGB) or 4 (RGBA) image.  GCAM_E_IO on any
 * open/write failure (the message names the path). */
int gcam_image_save_png(const char *path, const gcam_image *img, gcam_err *e);
/* Baseline JPEG of a c = 1 or 3 image, quality 1..100 (out of range: 90). */
int gcam_image_save_jpeg(const char *path, const gcam_image *img, int quality, gcam_err *e);
/* JPEG when path ends in .jpg/.jpeg (any case), PNG otherwise. */
int gcam_image_save(const char *path, const gcam_image *img, gcam_err *e);

/* ---- resampling (resize.c) ------------------------------------------------ */

typedef enum {
    /* Pillow's Image.resize(size, BILINEAR): a triangle filter whose support
     * grows with the downscale factor (so shrinking averages every source
     * pixel instead of aliasing), separable, horizontal pass first, 8-bit
     * fixed point with an 8-bit intermediate, bit-exact with Pillow.  This is
     * what torchvision.transforms.Resize does to PIL images.  When enlarging
     * it is ordinary half-pixel bilinear. */
    GCAM_RESIZE_PIL_BILINEAR = 0,
    /* Half-pixel-centre bilinear with edge clamp and no antialiasing: OpenCV
     * INTER_LINEAR, torch interpolate(align_corners=False, antialias=False).
     * Computed in float and rounded to nearest. */
    GCAM_RESIZE_BILINEAR = 1,
} gcam_resize_mode;

/* Resizes src to w x h (same channel count) into a new image *dst. */
int gcam_image_resize(const gcam_image *src, int w, int h, int mode, gcam_image *dst,
                      gcam_err *e);
/* Copies the w x h window at (left, top) of src into a new image; parts of the
 * window outside src are zero (black), like torchvision's CenterCrop padding. */
int gcam_image_crop(const gcam_image *src, int left, int top, int w, int h, gcam_image *dst,
                    gcam_err *e);
/* Single-channel float map, half-pixel bilinear with edge clamp (OpenCV
 * cv2.resize INTER_LINEAR, which pytorch-grad-cam uses to upsample CAMs).
 * dst holds dw * dh floats; it must not overlap src. */
void gcam_resize_f32(const float *src, int sw, int sh, float *dst, int dw, int dh);

/* ---- preprocessing (preprocess.c) ----------------------------------------- */

typedef struct gcam_preproc {
    int height, width;  /* the model's input H and W */
    /* > 0 with crop: resize so the shorter side is this long, keeping the aspect
     * ratio (long side = int(S * long / short), torchvision's rounding), then
     * centre crop height x width.  0, or crop == 0: resize straight to
     * height x width (aspect ratio not kept). */
    int resize_shorter;
    int crop;
    int resize_mode;    /* gcam_resize_mode */
    int grayscale;      /* 1: one output channel, PIL's luminance ("L") computed
                         * before resizing, as transforms.Grayscale() first would */
    int alpha;          /* 1 (not grayscale): a fourth channel, RGBA, alpha 255 */
    int bgr;            /* 1: colour channels in B, G, R order (Caffe, OpenCV) */
    int channels_last;  /* 1: out is H x W x C (NHWC) instead of C x H x W */
    double scale;       /* pixel * scale before normalising: 1/255 for ToTensor() */
    float mean[4], std[4]; /* per output channel (after the BGR swap, alpha
                            * last): (x - mean) / std; grayscale uses [0] */
} gcam_preproc;

/* torchvision's ImageNet recipe: Resize(256), CenterCrop(224), ToTensor(),
 * Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)), with the
 * PIL antialiased bilinear resize, giving 1x3x224x224 float32 RGB. */
void gcam_preproc_imagenet(gcam_preproc *p);
/* Output channels: 1 for grayscale, 4 with alpha, else 3. */
int gcam_preproc_channels(const gcam_preproc *p);

typedef struct gcam_rect {
    double x, y, w, h; /* continuous pixel coordinates: pixel i covers [i, i+1) */
} gcam_rect;

typedef struct gcam_preproc_plan {
    int resize_w, resize_h; /* image size after the resize step */
    int crop_x, crop_y;     /* top-left of the height x width crop in the resized
                             * image; negative where the crop is padded */
    /* The model input's footprint on the original image: where a heatmap
     * computed on the model input belongs on the photo (for gcam_overlay_rect).
     * May extend past the image when the crop was padded. */
    gcam_rect src_rect;
} gcam_preproc_plan;

/* The geometry gcam_preprocess will use for an img_w x img_h image.
 * GCAM_E_ARG for a bad config (non-positive sizes, zero std or scale). */
int gcam_preproc_make_plan(const gcam_preproc *p, int img_w, int img_h, gcam_preproc_plan *plan,
                           gcam_err *e);
/* Fills out (caller-owned, channels * height * width floats, NCHW with N = 1,
 * or NHWC with channels_last) from a c = 1 or 3 image.  Arithmetic follows
 * torchvision in float32: x = (float)(px * scale); out = (x - mean) / std.
 * Pixels of a padded crop are 0 in every channel, alpha included. */
int gcam_preprocess(const gcam_image *img, const gcam_preproc *p, float *out, gcam_err *e);

/* ---- colormaps (colormap.c) ----------------------------------------------- */

typedef enum {
    GCAM_CMAP_JET = 0, /* OpenCV COLORMAP_JET (= GNU Octave jet), pytorch-grad-cam's default */
    GCAM_CMAP_TURBO,   /* Google Turbo (OpenCV COLORMAP_TURBO = matplotlib "turbo") */
    GCAM_CMAP_VIRIDIS, /* matplotlib viridis (= OpenCV COLORMAP_VIRIDIS) */
    GCAM_CMAP_INFERNO, /* matplotlib inferno (= OpenCV COLORMAP_INFERNO) */
    GCAM_CMAP_GRAY,    /* v -> (i, i, i) */
    GCAM_CMAP_COUNT
} gcam_cmap;

/* RGB of v in [0, 1]: values are clamped, NaN counts as 0, and the table index
 * is (int)(255 * v) in float, like np.uint8(255 * mask) + cv2.applyColorMap.
 * An out-of-range cmap is treated as GCAM_CMAP_GRAY. */
void gcam_colormap(int cmap, float v, uint8_t rgb[3]);
/* The 256-entry RGB table behind cmap (NULL when out of range). */
const uint8_t (*gcam_colormap_lut(int cmap))[3];
/* "jet", "turbo", "viridis", "inferno", "gray" (also "grey"); -1 if unknown. */
int gcam_colormap_parse(const char *name);
/* Name of cmap, "?" if out of range. */
const char *gcam_colormap_name(int cmap);

/* ---- overlay (overlay.c) -------------------------------------------------- */

typedef struct gcam_overlay_opts {
    int cmap;      /* gcam_cmap */
    float alpha;   /* weight of the colourised heatmap, 0..1 (0.5 by default):
                    * out = (1 - alpha) * image + alpha * colour.  pytorch-grad-cam's
                    * image_weight is 1 - alpha; at 0.5 the two agree. */
    /* 1: finish like show_cam_on_image: divide the blend by its maximum over
     * the whole image, then truncate (np.uint8(255 * cam)).  0 (default):
     * round the blend to nearest, no rescaling, so alpha 0 gives the image
     * back and alpha 1 the pure colormap. */
    int pgc_compat;
} gcam_overlay_opts;

/* jet, alpha 0.5, pgc_compat 0 */
void gcam_overlay_opts_default(gcam_overlay_opts *o);

/* Resamples a heat_w x heat_h map (values in [0, 1]) onto rect of an
 * out_w x out_h grid: out pixel (x, y) samples the map at its centre
 * (x + 0.5, y + 0.5) with half-pixel bilinear interpolation and edge clamp;
 * pixels whose centre lies outside rect get `outside` (e.g. NAN or 0). */
void gcam_heatmap_resample_rect(const float *heat, int heat_w, int heat_h, gcam_rect rect,
                                float *out, int out_w, int out_h, float outside);

/* Blends the colourised heatmap over img (c = 3; the heatmap covers the whole
 * image) into a new RGB image *out the size of img. */
int gcam_overlay(const gcam_image *img, const float *heat, int heat_w, int heat_h,
                 const gcam_overlay_opts *o, gcam_image *out, gcam_err *e);
/* Same, with the heatmap covering only rect of img (e.g. a preprocessing
 * crop, gcam_preproc_plan.src_rect); pixels outside rect are copied from img
 * unchanged, so the overlay keeps the photo's full frame and aspect ratio. */
int gcam_overlay_rect(const gcam_image *img, const float *heat, int heat_w, int heat_h,
                      gcam_rect rect, const gcam_overlay_opts *o, gcam_image *out, gcam_err *e);
/* The colourised heatmap alone, heat_w x heat_h RGB. */
int gcam_heatmap_colorize(const float *heat, int heat_w, int heat_h, int cmap, gcam_image *out,
                          gcam_err *e);

/* ---- grid (grid.c) -------------------------------------------------------- */

/* Lays n RGB tiles of equal size out in rows of `cols` (<= 0: as square as
 * possible) with a `pad`-pixel white gutter, and prints labels[i] (may be NULL,
 * or any entry NULL) in a built-in 5x7 font under each tile; labels are ASCII,
 * lower case shown as upper case, text wider than the tile cut off. */
int gcam_image_grid(const gcam_image *tiles, int n, int cols, const char *const *labels, int pad,
                    gcam_image *out, gcam_err *e);

#endif
