/* preprocess.c - image -> normalised float NCHW tensor, following
 * torchvision's Resize / CenterCrop / ToTensor / Normalize on PIL images
 * step for step so that model inputs match PyTorch's to the last bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void gcam_preproc_imagenet(gcam_preproc *p)
{
    *p = (gcam_preproc){
        .height = 224,
        .width = 224,
        .resize_shorter = 256,
        .crop = 1,
        .resize_mode = GCAM_RESIZE_PIL_BILINEAR,
        .grayscale = 0,
        .scale = 1.0 / 255.0,
        .mean = {0.485f, 0.456f, 0.406f, 0.0f},
        .std = {0.229f, 0.224f, 0.225f, 1.0f},
    };
}

int gcam_preproc_channels(const gcam_preproc *p) { return p->grayscale ? 1 : p->alpha ? 4 : 3; }

/* torchvision CenterCrop's offset of a `crop`-long window in a `size`-long
 * side: int(round((size - crop) / 2.0)), where Python rounds halves to even;
 * when the window is longer, the image is first padded by (crop - size) // 2
 * in front, i.e. the window starts that far before the image. */
static int center_offset(int size, int crop)
{
    int d = size - crop;
    if (d < 0) return -((-d) / 2);
    int q = d / 2;
    if (d % 2 == 0) return q;
    return q % 2 == 0 ? q : q + 1; /* q + 0.5 rounds to the even neighbour */
}

int gcam_preproc_make_plan(const gcam_preproc *p, int img_w, int img_h, gcam_preproc_plan *plan,
                           gcam_err *e)
{
    memset(plan, 0, sizeof *plan);
    if (p->height <= 0 || p->width <= 0 ||
        (int64_t)p->height * p->width > GCAM_IMAGE_MAX_PIXELS)
        return gcam_errf(e, GCAM_E_ARG, "preprocess: invalid target size %dx%d", p->width,
                         p->height);
    if (p->resize_shorter < 0)
        return gcam_errf(e, GCAM_E_ARG, "preprocess: resize_shorter %d is negative",
                         p->resize_shorter);
    if (p->resize_mode != GCAM_RESIZE_PIL_BILINEAR && p->resize_mode != GCAM_RESIZE_BILINEAR)
        return gcam_errf(e, GCAM_E_ARG, "preprocess: unknown resize mode %d", p->resize_mode);
    if (!(isfinite(p->scale) && p->scale != 0.0))
        return gcam_errf(e, GCAM_E_ARG, "preprocess: scale must be finite and non-zero");
    if (p->grayscale && p->alpha)
        return gcam_errf(e, GCAM_E_ARG, "preprocess: grey with alpha is not an output layout");
    for (int k = 0; k < gcam_preproc_channels(p); k++)
        if (!(isfinite(p->mean[k]) && isfinite(p->std[k]) && p->std[k] != 0.0f))
            return gcam_errf(e, GCAM_E_ARG, "preprocess: mean/std of channel %d invalid", k);
    if (img_w <= 0 || img_h <= 0)
        return gcam_errf(e, GCAM_E_ARG, "preprocess: image size %dx%d is invalid", img_w, img_h);

    int rw = p->width, rh = p->height, cx = 0, cy = 0;
    if (p->crop && p->resize_shorter > 0) {
        /* torchvision Resize(int): short side -> S, long side ->
         * int(S * long / short) (true division in double, then truncation). */
        int64_t s = p->resize_shorter, shorter = img_w <= img_h ? img_w : img_h;
        int64_t longer = img_w <= img_h ? img_h : img_w;
        double l = (double)(s * longer) / (double)shorter;
        if (l > INT32_MAX || (double)s * l > (double)GCAM_IMAGE_MAX_PIXELS)
            return gcam_errf(e, GCAM_E_RANGE, "preprocess: resizing %dx%d to short side %d is too large",
                             img_w, img_h, p->resize_shorter);
        int new_long = (int)l;
        if (img_w <= img_h) {
            rw = (int)s;
            rh = new_long;
        } else {
            rw = new_long;
            rh = (int)s;
        }
        cx = center_offset(rw, p->width);
        cy = center_offset(rh, p->height);
    }
    plan->resize_w = rw;
    plan->resize_h = rh;
    plan->crop_x = cx;
    plan->crop_y = cy;
    /* Pillow maps output coordinate u to input u * in / out (pixel centres
     * included), so the crop scales back by the same factors. */
    double sx = (double)img_w / rw, sy = (double)img_h / rh;
    plan->src_rect = (gcam_rect){cx * sx, cy * sy, p->width * sx, p->height * sy};
    return GCAM_OK;
}

/* Pillow's RGB -> "L": ITU-R 601-2 luma in 16-bit fixed point. */
static uint8_t pil_luma(const uint8_t *rgb)
{
    return (uint8_t)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

/* The source channel of output channel k: grey and RGB from the image
 * (B, G, R order with bgr), -1 for the alpha channel. */
static int source_channel(const gcam_preproc *p, int k)
{
    if (p->grayscale) return 0;
    if (k == 3) return -1;
    return p->bgr ? 2 - k : k;
}

int gcam_preprocess(const gcam_image *img, const gcam_preproc *p, float *out, gcam_err *e)
{
    if (!img || !img->px || !(img->c == 1 || img->c == 3))
        return gcam_errf(e, GCAM_E_ARG, "preprocess: expected a grey or RGB image");
    gcam_preproc_plan plan;
    int rc = gcam_preproc_make_plan(p, img->w, img->h, &plan, e);
    if (rc) return rc;
    int oc = gcam_preproc_channels(p), ic = p->grayscale ? 1 : 3;

    /* Bring the channel count to the output's first, as a torchvision
     * pipeline converts the PIL image (convert("L") / convert("RGB")) before
     * resizing it; alpha is added while writing. */
    gcam_image conv = {0}, resized = {0};
    const gcam_image *src = img;
    if (img->c != ic) {
        rc = gcam_image_alloc(&conv, img->w, img->h, ic, e);
        if (rc) return rc;
        size_t n = (size_t)img->w * img->h;
        for (size_t i = 0; i < n; i++) {
            if (ic == 1) conv.px[i] = pil_luma(img->px + 3 * i);
            else memset(conv.px + 3 * i, img->px[i], 3);
        }
        src = &conv;
    }
    if (plan.resize_w != src->w || plan.resize_h != src->h) {
        rc = gcam_image_resize(src, plan.resize_w, plan.resize_h, p->resize_mode, &resized, e);
        if (rc) {
            gcam_image_free(&conv);
            return rc;
        }
        src = &resized;
    }

    /* Crop while converting: window pixels outside the resized image are the
     * zero padding of torchvision's CenterCrop. */
    size_t plane = (size_t)p->height * p->width;
    for (int k = 0; k < oc; k++) {
        float mean = p->mean[k], std = p->std[k];
        int sc = source_channel(p, k);
        /* ToTensor divides by 255 in float32; px * (1/255) in double rounded
         * to float gives the same correctly rounded quotient for all 256
         * values (tested), and allows any scale. */
        float lut[256];
        for (int v = 0; v < 256; v++) {
            float x = (float)(v * p->scale);
            lut[v] = (x - mean) / std;
        }
        /* element (y, x) of channel k sits at base + (y * W + x) * step */
        float *o = p->channels_last ? out + k : out + k * plane;
        size_t step = p->channels_last ? (size_t)oc : 1;
        for (int y = 0; y < p->height; y++) {
            int sy = plan.crop_y + y;
            for (int x = 0; x < p->width; x++) {
                int sx = plan.crop_x + x;
                uint8_t v = 0;
                if (sy >= 0 && sy < src->h && sx >= 0 && sx < src->w)
                    v = sc < 0 ? 255 : src->px[((size_t)sy * src->w + sx) * ic + sc];
                o[((size_t)y * p->width + x) * step] = lut[v];
            }
        }
    }
    gcam_image_free(&resized);
    gcam_image_free(&conv);
    return GCAM_OK;
}
