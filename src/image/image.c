/* image.c - gcam_image allocation. */
#include <stdlib.h>

#include "image/image.h"

int gcam_image_alloc(gcam_image *img, int w, int h, int c, gcam_err *e)
{
    *img = (gcam_image){0};
    if (w <= 0 || h <= 0 || c < 1 || c > 4)
        return gcam_errf(e, GCAM_E_ARG, "image size %dx%dx%d is invalid", w, h, c);
    if ((int64_t)w * h > GCAM_IMAGE_MAX_PIXELS)
        return gcam_errf(e, GCAM_E_RANGE, "image size %dx%d exceeds %lld pixels", w, h,
                         (long long)GCAM_IMAGE_MAX_PIXELS);
    img->px = gcam_malloc((size_t)w * h * c);
    if (!img->px) return gcam_errf(e, GCAM_E_NOMEM, "out of memory for a %dx%d image", w, h);
    img->w = w;
    img->h = h;
    img->c = c;
    return GCAM_OK;
}

void gcam_image_free(gcam_image *img)
{
    if (!img) return;
    gcam_free(img->px);
    *img = (gcam_image){0};
}
