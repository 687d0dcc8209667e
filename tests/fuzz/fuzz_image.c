/* fuzz_image.c - libFuzzer target: the PNG and JPEG decoders (libpng,
 * libjpeg-turbo and our EXIF, CMYK, alpha and size handling around them) on
 * arbitrary bytes, then what every decoded photo goes through: the
 * preprocessing into a small model input and an overlay drawn back on it.
 * Built with -DGCAM_FUZZ=ON (clang); run by tools/run_fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gcam_internal.h"
#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: ASan then flags any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    gcam_image img = {0};
    gcam_err e = {0};
    /* the first byte picks the EXIF flag, so both paths are covered */
    unsigned flags = size && (data[size - 1] & 1) ? GCAM_DECODE_NO_EXIF_ROTATE : 0;
    int rc = gcam_image_decode(buf, size, "fuzz", flags, &img, &e);
    free(buf);
    if (rc != GCAM_OK) {
        if (!e.msg[0] || img.px) abort(); /* every failure says why and leaves nothing */
        return 0;
    }
    if (!img.px || img.w < 1 || img.h < 1 || img.c != 3 || (int64_t)img.w * img.h > GCAM_IMAGE_MAX_PIXELS) abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < (size_t)img.w * img.h * 3; i++) sink ^= img.px[i];
    (void)sink;

    gcam_preproc pp;
    gcam_preproc_imagenet(&pp);
    pp.height = pp.width = 8;
    pp.resize_shorter = 9;
    float x[3 * 8 * 8], heat[4 * 4];
    gcam_preproc_plan plan;
    if (gcam_preproc_make_plan(&pp, img.w, img.h, &plan, &e) == GCAM_OK && gcam_preprocess(&img, &pp, x, &e) == GCAM_OK) {
        for (int i = 0; i < 16; i++) heat[i] = (float)i / 15.0f;
        gcam_overlay_opts ov;
        gcam_overlay_opts_default(&ov);
        gcam_image out = {0};
        /* the overlay is photo-sized: only for small photos, to keep runs fast */
        if ((int64_t)img.w * img.h <= 1 << 20 &&
            gcam_overlay_rect(&img, heat, 4, 4, plan.src_rect, &ov, &out, &e) == GCAM_OK &&
            (out.w != img.w || out.h != img.h))
            abort();
        gcam_image_free(&out);
    }
    gcam_image_free(&img);
    return 0;
}
