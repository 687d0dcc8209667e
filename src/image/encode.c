/* encode.c - write images as 8-bit PNG (libpng) or baseline JPEG (libjpeg).
 *
 * As in decode.c, the setjmp lives in an inner function and every resource
 * it touches is reached through a context pointer owned by the caller.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jpeglib.h>
#include <png.h>

#include "image/image.h"
#include "util/fileio.h"

static int check_image(const gcam_image *img, const char *path, int allow_alpha, gcam_err *e)
{
    if (!img || !img->px || img->w <= 0 || img->h <= 0 ||
        !(img->c == 1 || img->c == 3 || (allow_alpha && img->c == 4)))
        return gcam_errf(e, GCAM_E_ARG, "%s: cannot write an image of %dx%dx%d", path,
                         img ? img->w : 0, img ? img->h : 0, img ? img->c : 0);
    return GCAM_OK;
}

/* ---- PNG ----------------------------------------------------------------- */

typedef struct png_wctx {
    const char *path;
    const gcam_image *img;
    FILE *f;
    png_structp png;
    png_infop info;
    char msg[200];
} png_wctx;

static void png_werror_cb(png_structp png, png_const_charp msg)
{
    png_wctx *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_wwarn_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int png_write_run(png_wctx *s, gcam_err *e)
{
    if (setjmp(png_jmpbuf(s->png)))
        return gcam_errf(e, GCAM_E_IO, "cannot write %s: %s", s->path, s->msg);
    const gcam_image *img = s->img;
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_init_io(s->png, s->f);
    png_set_IHDR(s->png, s->info, (png_uint_32)img->w, (png_uint_32)img->h, 8, types[img->c],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s->png, s->info);
    for (int y = 0; y < img->h; y++)
        png_write_row(s->png, img->px + (size_t)y * img->w * img->c);
    png_write_end(s->png, NULL);
    return GCAM_OK;
}

/* libpng's buffers come from the library's allocator (gcam_set_allocator) */
static png_voidp gcam_png_alloc(png_structp png, png_alloc_size_t n) { (void)png; return gcam_alloc_cb(NULL, n); }
static void gcam_png_free(png_structp png, png_voidp p) { (void)png; gcam_free_cb(NULL, p); }

int gcam_image_save_png(const char *path, const gcam_image *img, gcam_err *e)
{
    int rc = check_image(img, path, 1, e);
    if (rc) return rc;
    png_wctx s = {.path = path, .img = img};
    gcam_outfile o;
    rc = gcam_out_open(&o, path, e);
    if (rc) return rc;
    s.f = o.f;
    s.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &s, png_werror_cb, png_wwarn_cb, NULL,
                                      gcam_png_alloc, gcam_png_free);
    if (s.png) s.info = png_create_info_struct(s.png);
    rc = s.info ? png_write_run(&s, e)
                : gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory for the PNG encoder", path);
    png_destroy_write_struct(s.png ? &s.png : NULL, s.info ? &s.info : NULL);
    if (rc) gcam_out_abort(&o);
    else rc = gcam_out_commit(&o, e);
    return rc;
}

/* ---- JPEG ---------------------------------------------------------------- */

typedef struct jpg_werr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpg_werr;

typedef struct jpg_wctx {
    struct jpeg_compress_struct ci;
    jpg_werr err;
    const gcam_image *img;
    FILE *f;
    int quality;
} jpg_wctx;

static void jpg_werror_exit(j_common_ptr ci)
{
    jpg_werr *je = (jpg_werr *)ci->err;
    ci->err->format_message(ci, je->msg);
    longjmp(je->jb, 1);
}

static void jpg_wquiet(j_common_ptr ci) { (void)ci; }

static int jpg_write_run(jpg_wctx *j, const char *path, gcam_err *e)
{
    if (setjmp(j->err.jb)) return gcam_errf(e, GCAM_E_IO, "cannot write %s: %s", path, j->err.msg);
    const gcam_image *img = j->img;
    jpeg_create_compress(&j->ci);
    jpeg_stdio_dest(&j->ci, j->f);
    j->ci.image_width = (JDIMENSION)img->w;
    j->ci.image_height = (JDIMENSION)img->h;
    j->ci.input_components = img->c;
    j->ci.in_color_space = img->c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&j->ci);
    jpeg_set_quality(&j->ci, j->quality, TRUE);
    jpeg_start_compress(&j->ci, TRUE);
    while (j->ci.next_scanline < j->ci.image_height) {
        JSAMPROW row = img->px + (size_t)j->ci.next_scanline * img->w * img->c;
        jpeg_write_scanlines(&j->ci, &row, 1);
    }
    jpeg_finish_compress(&j->ci);
    return GCAM_OK;
}

int gcam_image_save_jpeg(const char *path, const gcam_image *img, int quality, gcam_err *e)
{
    int rc = check_image(img, path, 0, e);
    if (rc) return rc;
    jpg_wctx *j = gcam_calloc(1, sizeof *j);
    if (!j) return gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory for the JPEG encoder", path);
    j->img = img;
    j->quality = quality >= 1 && quality <= 100 ? quality : 90;
    gcam_outfile o;
    rc = gcam_out_open(&o, path, e);
    if (rc) {
        gcam_free(j);
        return rc;
    }
    j->f = o.f;
    j->ci.err = jpeg_std_error(&j->err.pub);
    j->err.pub.error_exit = jpg_werror_exit;
    j->err.pub.output_message = jpg_wquiet;
    rc = jpg_write_run(j, path, e);
    jpeg_destroy_compress(&j->ci);
    if (rc) gcam_out_abort(&o);
    else rc = gcam_out_commit(&o, e);
    gcam_free(j);
    return rc;
}

int gcam_image_save(const char *path, const gcam_image *img, gcam_err *e)
{
    if (!path) return gcam_errf(e, GCAM_E_ARG, "no output path given");
    const char *dot = strrchr(path, '.');
    if (dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0))
        return gcam_image_save_jpeg(path, img, 90, e);
    return gcam_image_save_png(path, img, e);
}
