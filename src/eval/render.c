/* render.c - public wrappers a report needs: deletion/insertion curves of
 * one map, photos and overlays scaled up for reading, grids, PNG in memory
 * and written atomically. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "api/model_internal.h"
#include "eval/eval.h"
#include "gcam_eval.h"
#include "image/image.h"

typedef struct scorer {
    gcam_model *m;
    const gcam_array *x;
    int64_t target;
    int kind;
} scorer;

static int score(void *ctx, const float *xd, double *out)
{
    scorer *s = ctx;
    gcam_array a = *s->x;
    a.data = (void *)xd;
    int rc = gcam_model_run(s->m, NULL, &a, 1);
    gcam_array y;
    if (!rc) rc = gcam_model_tensor(s->m, gcam_model_output_name(s->m, 0), &y);
    if (rc) return rc;
    if (y.dtype != GCAM_FLOAT32 || y.ndim < 1)
        return gcam_errf(&s->m->err, GCAM_E_DTYPE, "the model's first output is not a float tensor of scores");
    int64_t n = y.dims[y.ndim - 1];
    if (s->target < 0 || s->target >= n)
        return gcam_errf(&s->m->err, GCAM_E_RANGE, "class %lld out of range (%lld outputs)", (long long)s->target,
                         (long long)n);
    *out = gcam_eval_prob(y.data, n, s->target, s->kind);
    return GCAM_OK;
}

int gcam_faithfulness(gcam_model *m, const gcam_array *x, const float *map, int64_t target, int steps, double sigma,
                      int score_kind, double *del, double *ins, double *del_auc, double *ins_auc)
{
    if (!m || !x || !map || x->dtype != GCAM_FLOAT32 || x->ndim != 4 || x->dims[0] != 1 || steps < 1)
        return m ? gcam_errf(&m->err, GCAM_E_ARG, "faithfulness: a 1 x C x H x W float input and steps >= 1") : GCAM_E_ARG;
    const int C = (int)x->dims[1], H = (int)x->dims[2], W = (int)x->dims[3];
    const int64_t HW = (int64_t)H * W;
    scorer sc = {.m = m, .x = x, .target = target, .kind = score_kind < 0 ? gcam_model_score_kind(m) : score_kind};
    float *base = gcam_calloc((size_t)(C * HW), sizeof(float)), *work = gcam_malloc(sizeof(float) * (size_t)(C * HW));
    float *tmp = gcam_malloc(sizeof(float) * (size_t)HW);
    int64_t *order = gcam_malloc(sizeof(int64_t) * (size_t)HW);
    double *curve = gcam_malloc(sizeof(double) * (size_t)(steps + 1)), *frac = gcam_malloc(sizeof(double) * (size_t)(steps + 1));
    int rc = base && work && tmp && order && curve && frac ? GCAM_OK : gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    if (!rc && sigma > 0) gcam_eval_blur(x->data, C, H, W, sigma, base, tmp);
    if (!rc) rc = gcam_eval_rank(map, HW, order);
    for (int k = 0; k < 2 && !rc; k++) {
        rc = gcam_eval_curve(x->data, base, C, H, W, order, steps, k, score, &sc, work, curve, frac);
        if (rc) break;
        double auc = gcam_eval_auc(frac, curve, steps + 1);
        double *dst = k ? ins : del, *adst = k ? ins_auc : del_auc;
        if (dst) memcpy(dst, curve, sizeof(double) * (size_t)(steps + 1));
        if (adst) *adst = auc;
    }
    gcam_free(base);
    gcam_free(work);
    gcam_free(tmp);
    gcam_free(order);
    gcam_free(curve);
    gcam_free(frac);
    return rc;
}

/* ---- images ---- */

void gcam_rgb_free(gcam_rgb *img)
{
    if (!img) return;
    gcam_free(img->px);
    memset(img, 0, sizeof *img);
}

static void to_rgb(gcam_image *src, gcam_rgb *out)
{
    out->w = src->w;
    out->h = src->h;
    out->px = src->px; /* ownership moves */
    memset(src, 0, sizeof *src);
}

static int scale_for(int w, int h, int min_side)
{
    int s = w < h ? w : h, f = 1;
    while (min_side > 0 && s * f < min_side) f++;
    return f;
}

static int upscale(gcam_model *m, const gcam_image *src, int f, gcam_image *out)
{
    if (f == 1) {
        int rc = gcam_image_alloc(out, src->w, src->h, src->c, &m->err);
        if (!rc) memcpy(out->px, src->px, (size_t)src->w * src->h * src->c);
        return rc;
    }
    return gcam_image_resize(src, src->w * f, src->h * f, GCAM_RESIZE_BILINEAR, out, &m->err);
}

int gcam_render_photo(gcam_model *m, const gcam_photo *photo, int min_side, gcam_rgb *out)
{
    memset(out, 0, sizeof *out);
    if (!m || !photo) return GCAM_E_ARG;
    gcam_image img = {0};
    int rc = upscale(m, &photo->img, scale_for(photo->img.w, photo->img.h, min_side), &img);
    if (!rc) to_rgb(&img, out);
    return rc;
}

int gcam_render_overlay(gcam_model *m, const gcam_photo *photo, const float *map, int h, int w, const char *colormap,
                        float alpha, int min_side, gcam_rgb *out)
{
    memset(out, 0, sizeof *out);
    if (!m || !map) return GCAM_E_ARG;
    int cmap = gcam_colormap_parse(colormap ? colormap : "jet");
    if (cmap < 0) return gcam_errf(&m->err, GCAM_E_ARG, "unknown colormap '%s'", colormap);
    if (!(alpha >= 0 && alpha <= 1)) return gcam_errf(&m->err, GCAM_E_ARG, "alpha must be within 0..1");
    gcam_overlay_opts ov;
    gcam_overlay_opts_default(&ov);
    ov.cmap = cmap;
    ov.alpha = alpha;
    gcam_image big = {0}, res = {0};
    int rc;
    if (photo) {
        int f = scale_for(photo->img.w, photo->img.h, min_side);
        gcam_rect r = photo->rect;
        r.x *= f;
        r.y *= f;
        r.w *= f;
        r.h *= f;
        rc = upscale(m, &photo->img, f, &big);
        if (!rc) rc = gcam_overlay_rect(&big, map, w, h, r, &ov, &res, &m->err);
    } else {
        int f = scale_for(w, h, min_side);
        float *up = gcam_malloc(sizeof(float) * (size_t)w * f * h * f);
        if (!up) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        gcam_resize_f32(map, w, h, up, w * f, h * f);
        rc = gcam_heatmap_colorize(up, w * f, h * f, cmap, &res, &m->err);
        gcam_free(up);
    }
    gcam_image_free(&big);
    if (!rc) to_rgb(&res, out);
    return rc;
}

int gcam_render_resize(gcam_model *m, const gcam_rgb *src, int w, int h, gcam_rgb *out)
{
    memset(out, 0, sizeof *out);
    if (!m || !src || !src->px || w < 1 || h < 1) return GCAM_E_ARG;
    gcam_image in = {.w = src->w, .h = src->h, .c = 3, .px = src->px}, res = {0};
    int rc = gcam_image_resize(&in, w, h, GCAM_RESIZE_PIL_BILINEAR, &res, &m->err);
    if (!rc) to_rgb(&res, out);
    return rc;
}

int gcam_render_grid(gcam_model *m, const gcam_rgb *tiles, int n, int cols, const char *const *labels, int pad,
                     gcam_rgb *out)
{
    memset(out, 0, sizeof *out);
    if (!m || !tiles || n < 1) return GCAM_E_ARG;
    gcam_image *t = gcam_calloc((size_t)n, sizeof *t), g = {0};
    if (!t) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) t[i] = (gcam_image){.w = tiles[i].w, .h = tiles[i].h, .c = 3, .px = tiles[i].px};
    int rc = gcam_image_grid(t, n, cols, labels, pad, &g, &m->err);
    gcam_free(t); /* the pixels are the caller's */
    if (!rc) to_rgb(&g, out);
    return rc;
}

/* ---- PNG in memory ---- */

typedef struct membuf {
    unsigned char *p;
    size_t len, cap;
    int oom;
    char msg[200];
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
    membuf *b = png_get_io_ptr(png);
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n) cap *= 2;
        unsigned char *q = gcam_realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            png_error(png, "out of memory");
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

static void png_err(png_structp png, png_const_charp msg)
{
    membuf *b = png_get_error_ptr(png);
    snprintf(b->msg, sizeof b->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int encode_run(png_structp png, png_infop info, const gcam_rgb *img, membuf *b)
{
    if (setjmp(png_jmpbuf(png))) return b->oom ? GCAM_E_NOMEM : GCAM_E_INTERNAL;
    png_set_write_fn(png, b, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->h; y++) png_write_row(png, img->px + (size_t)y * img->w * 3);
    png_write_end(png, NULL);
    return GCAM_OK;
}

/* libpng's buffers come from the library's allocator (gcam_set_allocator) */
static png_voidp gcam_png_alloc(png_structp png, png_alloc_size_t n) { (void)png; return gcam_alloc_cb(NULL, n); }
static void gcam_png_free(png_structp png, png_voidp p) { (void)png; gcam_free_cb(NULL, p); }

int gcam_png_encode(gcam_model *m, const gcam_rgb *img, unsigned char **png_out, size_t *len)
{
    *png_out = NULL;
    *len = 0;
    if (!m || !img || !img->px || img->w < 1 || img->h < 1) return GCAM_E_ARG;
    membuf b = {0};
    png_structp png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &b, png_err, png_warn, NULL, gcam_png_alloc,
                                                gcam_png_free);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = info ? encode_run(png, info, img, &b) : GCAM_E_NOMEM;
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (rc) {
        gcam_free(b.p);
        return gcam_errf(&m->err, rc, "cannot encode a PNG: %s", b.msg[0] ? b.msg : "out of memory");
    }
    *png_out = b.p;
    *len = b.len;
    return GCAM_OK;
}

int gcam_png_save(gcam_model *m, const gcam_rgb *img, const char *path)
{
    unsigned char *png;
    size_t len;
    int rc = gcam_png_encode(m, img, &png, &len);
    if (rc) return rc;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) rc = gcam_errf(&m->err, GCAM_E_IO, "cannot write %s: %s", path, strerror(errno));
    else {
        int bad = fwrite(png, 1, len, f) != len;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, path)) {
            rc = gcam_errf(&m->err, GCAM_E_IO, "cannot write %s: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    gcam_free(png);
    return rc;
}

/* ---- JPEG in memory ---- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jpeg_fail(j_common_ptr ci)
{
    jerr *e = (jerr *)ci->err;
    longjmp(e->jb, 1);
}

static int jpeg_run(struct jpeg_compress_struct *ci, jerr *je, const gcam_rgb *img, int quality,
                    unsigned char **buf, unsigned long *len)
{
    if (setjmp(je->jb)) return GCAM_E_NOMEM;
    jpeg_create_compress(ci);
    jpeg_mem_dest(ci, buf, len);
    ci->image_width = (JDIMENSION)img->w;
    ci->image_height = (JDIMENSION)img->h;
    ci->input_components = 3;
    ci->in_color_space = JCS_RGB;
    jpeg_set_defaults(ci);
    jpeg_set_quality(ci, quality, TRUE);
    jpeg_start_compress(ci, TRUE);
    while (ci->next_scanline < ci->image_height) {
        JSAMPROW row = img->px + (size_t)ci->next_scanline * img->w * 3;
        jpeg_write_scanlines(ci, &row, 1);
    }
    jpeg_finish_compress(ci);
    return GCAM_OK;
}

int gcam_jpeg_encode(gcam_model *m, const gcam_rgb *img, int quality, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!m || !img || !img->px || img->w < 1 || img->h < 1) return GCAM_E_ARG;
    struct jpeg_compress_struct ci;
    jerr je;
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_fail;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    int rc = jpeg_run(&ci, &je, img, quality < 1 || quality > 100 ? 90 : quality, &buf, &n);
    jpeg_destroy_compress(&ci);
    /* jpeg_mem_dest's buffer is libjpeg's (the C library's malloc): hand out
     * a copy from our allocator, and give libjpeg's back to the C library's
     * free, named in parentheses so that the mechanical malloc -> gcam_malloc
     * replacement (see src/util/alloc.h) leaves it alone */
    unsigned char *copy = rc ? NULL : gcam_malloc(n ? n : 1);
    if (copy) memcpy(copy, buf, n);
    (free)(buf);
    if (!rc && !copy) rc = GCAM_E_NOMEM;
    if (rc) return gcam_errf(&m->err, rc, "cannot encode a JPEG");
    *out = copy;
    *len = n;
    return GCAM_OK;
}
