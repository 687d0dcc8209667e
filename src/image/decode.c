/* decode.c - PNG (libpng) and JPEG (libjpeg-turbo) to 8-bit RGB.
 *
 * Both codecs report fatal errors by longjmp.  Each decoder is split in two:
 * the outer function owns every resource (codec state, pixel buffer) in a
 * context struct, and the inner function holds the setjmp.  C leaves locals
 * of the function that called setjmp indeterminate after longjmp if they were
 * changed in between; keeping all such state behind a pointer owned by the
 * caller sidesteps that without sprinkling volatile.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "image/image.h"
#include "util/fileio.h"

/* A progressive JPEG may legally hold thousands of tiny scans, each forcing a
 * pass over the whole coefficient buffer; a crafted file uses that to take
 * minutes.  Real encoders write at most a few dozen. */
#define GCAM_JPEG_MAX_SCANS 1000

int gcam_image_sniff(const void *data, size_t size)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t *d = data;
    if (size >= 8 && memcmp(d, png_sig, 8) == 0) return GCAM_IMGFMT_PNG;
    if (size >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return GCAM_IMGFMT_JPEG;
    return GCAM_IMGFMT_UNKNOWN;
}

static int check_size(uint64_t w, uint64_t h, const char *name, gcam_err *e)
{
    if (w == 0 || h == 0) return gcam_errf(e, GCAM_E_PARSE, "%s: image has no pixels", name);
    if (w > INT32_MAX || h > INT32_MAX || w * h > (uint64_t)GCAM_IMAGE_MAX_PIXELS)
        return gcam_errf(e, GCAM_E_RANGE, "%s: image size %llux%llu exceeds %lld pixels", name,
                         (unsigned long long)w, (unsigned long long)h,
                         (long long)GCAM_IMAGE_MAX_PIXELS);
    return GCAM_OK;
}

/* Rounded x / 255 for x in [0, 255 * 255]. */
static inline uint8_t div255(unsigned x)
{
    x += 128;
    return (uint8_t)((x + (x >> 8)) >> 8);
}

/* ---- PNG ----------------------------------------------------------------- */

typedef struct png_ctx {
    const uint8_t *data;
    size_t size, pos, max_bytes;
    const char *name;
    char msg[200];
    png_structp png;
    png_infop info;
    uint8_t *px;
    png_bytep *rows;
    int w, h;
} png_ctx;

static void png_read_cb(png_structp png, png_bytep out, size_t n)
{
    png_ctx *s = png_get_io_ptr(png);
    if (n > s->size - s->pos) png_error(png, "file is truncated");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

static void png_error_cb(png_structp png, png_const_charp msg)
{
    png_ctx *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (a bad CRC in an ancillary chunk, an odd sRGB profile) do not stop
 * decoding, as in Pillow; a library must not write to stderr either. */
static void png_warn_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Bytes of image data (IDAT payload) the file holds, as far as it goes. */
static uint64_t png_idat_bytes(const uint8_t *d, size_t n)
{
    uint64_t total = 0;
    size_t off = 8;
    while (off < n && n - off >= 8) {
        uint32_t len = (uint32_t)d[off] << 24 | (uint32_t)d[off + 1] << 16 | (uint32_t)d[off + 2] << 8 | d[off + 3];
        size_t avail = n - off - 8;
        if (!memcmp(d + off + 4, "IDAT", 4)) total += len < avail ? len : avail;
        if ((uint64_t)len + 12 > n - off) break;
        off += (size_t)len + 12;
    }
    return total;
}

/* Refuses, before the pixels are allocated, an image larger than its
 * memory budget, or whose compressed data cannot fill it: deflate expands
 * at most 1032:1, so a few kilobytes claiming a gigapixel are a lie (a
 * file cut short fails when its data runs out anyway; this only stops it
 * from costing the whole image's memory first). */
static int png_check_data(png_ctx *s, png_uint_32 w, png_uint_32 h, gcam_err *e)
{
    png_infop info = s->info;
    uint64_t bits = (uint64_t)png_get_channels(s->png, info) * png_get_bit_depth(s->png, info);
    uint64_t raw = (uint64_t)w * h * bits / 8; /* filtered data is at least this */
    uint64_t idat = png_idat_bytes(s->data, s->size);
    if (idat * 1032 + 65536 < raw)
        return gcam_errf(e, GCAM_E_PARSE, "%s: invalid PNG: %llu bytes of image data cannot hold %ux%u pixels (file truncated?)",
                         s->name, (unsigned long long)idat, (unsigned)w, (unsigned)h);
    uint64_t need = (uint64_t)w * h * 4 + (uint64_t)h * sizeof(png_bytep);
    if (s->max_bytes && need > s->max_bytes)
        return gcam_errf(e, GCAM_E_NOMEM, "%s: decoding the %ux%u image needs %.1f MB, more than the memory limit of %.1f MB",
                         s->name, (unsigned)w, (unsigned)h, need / 1048576.0, s->max_bytes / 1048576.0);
    return GCAM_OK;
}

static int png_run(png_ctx *s, gcam_err *e)
{
    png_structp png = s->png;
    png_infop info = s->info;
    if (setjmp(png_jmpbuf(png)))
        return gcam_errf(e, GCAM_E_PARSE, "%s: invalid PNG: %s", s->name, s->msg);

    png_set_read_fn(png, s, png_read_cb);
    /* libpng's own limit (1e6 per side) would report big images as corrupt;
     * lift it so check_size can say GCAM_E_RANGE. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int rc = check_size(w, h, s->name, e);
    if (!rc) rc = png_check_data(s, w, h, e);
    if (rc) return rc;

    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    /* High byte, not rounded rescaling: Pillow reads 16-bit RGB(A) that way. */
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int ch = png_get_channels(png, info);
    if (png_get_bit_depth(png, info) != 8 || (ch != 3 && ch != 4) ||
        png_get_rowbytes(png, info) != (size_t)w * ch)
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "%s: PNG layout (colour type %d, %d-bit) not handled",
                         s->name, color, depth);

    s->px = gcam_malloc((size_t)w * h * ch);
    s->rows = gcam_malloc(sizeof *s->rows * h);
    if (!s->px || !s->rows)
        return gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory for %ux%u pixels", s->name,
                         (unsigned)w, (unsigned)h);
    for (png_uint_32 y = 0; y < h; y++) s->rows[y] = s->px + (size_t)y * w * ch;
    png_read_image(png, s->rows);
    /* The trailing chunks (text, time, IEND) carry no pixels, so png_read_end
     * is skipped: a file cut just after its image data still decodes. */

    if (ch == 4) {
        /* Composite over white and pack to RGB in place (write index <= read
         * index, so the forward walk never overwrites unread bytes). */
        size_t n = (size_t)w * h;
        uint8_t *p = s->px;
        for (size_t i = 0; i < n; i++) {
            unsigned a = p[4 * i + 3], bg = 255u * (255u - a);
            for (int k = 0; k < 3; k++) p[3 * i + k] = div255(p[4 * i + k] * a + bg);
        }
    }
    s->w = (int)w;
    s->h = (int)h;
    return GCAM_OK;
}

/* libpng's buffers come from the library's allocator (gcam_set_allocator) */
static png_voidp gcam_png_alloc(png_structp png, png_alloc_size_t n) { (void)png; return gcam_alloc_cb(NULL, n); }
static void gcam_png_free(png_structp png, png_voidp p) { (void)png; gcam_free_cb(NULL, p); }

static int decode_png(const uint8_t *data, size_t size, const char *name, size_t max_bytes, gcam_image *out,
                      gcam_err *e)
{
    png_ctx s = {.data = data, .size = size, .name = name, .max_bytes = max_bytes};
    s.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &s, png_error_cb, png_warn_cb, NULL,
                                     gcam_png_alloc, gcam_png_free);
    if (s.png) s.info = png_create_info_struct(s.png);
    int rc = s.info ? png_run(&s, e)
                    : gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory for the PNG decoder", name);
    png_destroy_read_struct(s.png ? &s.png : NULL, s.info ? &s.info : NULL, NULL);
    gcam_free(s.rows);
    if (rc) {
        gcam_free(s.px);
        return rc;
    }
    out->w = s.w;
    out->h = s.h;
    out->c = 3;
    out->px = s.px;
    return GCAM_OK;
}

/* ---- EXIF orientation ---------------------------------------------------- */

static unsigned rd16(const uint8_t *p, int le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)rd16(p, 1) | (uint32_t)rd16(p + 2, 1) << 16
              : (uint32_t)rd16(p, 0) << 16 | rd16(p + 2, 0);
}

/* Orientation tag (0x0112) of IFD0 in an APP1 payload; 1 (as stored) when the
 * payload is not EXIF, is malformed, or has no such tag. */
static int exif_orientation(const uint8_t *d, size_t n)
{
    if (n < 6 + 8 || memcmp(d, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *t = d + 6; /* TIFF header: offsets below count from here */
    size_t tn = n - 6;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1;
    else if (t[0] == 'M' && t[1] == 'M') le = 0;
    else return 1;
    if (rd16(t + 2, le) != 42) return 1;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd > tn || tn - ifd < 2) return 1;
    unsigned count = rd16(t + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t off = (size_t)ifd + 2 + (size_t)12 * i;
        if (off + 12 > tn) break;
        if (rd16(t + off, le) != 0x0112) continue;
        unsigned type = rd16(t + off + 2, le);
        uint32_t v = type == 3 ? rd16(t + off + 8, le) : type == 4 ? rd32(t + off + 8, le) : 0;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* Turns the stored pixels into the displayed ones for EXIF orientation o
 * (the transposes of PIL.ImageOps.exif_transpose).  Replaces img->px. */
static int apply_orientation(gcam_image *img, int o, const char *name, gcam_err *e)
{
    if (o <= 1 || o > 8) return GCAM_OK;
    int w = img->w, h = img->h, c = img->c;
    int swap = o >= 5; /* 5..8 turn the image by a quarter: width and height swap */
    int nw = swap ? h : w, nh = swap ? w : h;
    uint8_t *dst = gcam_malloc((size_t)w * h * c);
    if (!dst) return gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory rotating the image", name);
    for (int y = 0; y < nh; y++) {
        for (int x = 0; x < nw; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = w - 1 - x; sy = y; break;             /* mirror left-right */
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;     /* rotate 180 */
            case 4: sx = x; sy = h - 1 - y; break;             /* mirror top-bottom */
            case 5: sx = y; sy = x; break;                     /* transpose */
            case 6: sx = y; sy = h - 1 - x; break;             /* rotate 90 clockwise */
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;     /* transverse */
            default: sx = w - 1 - y; sy = x; break;            /* 8: rotate 90 anticlockwise */
            }
            memcpy(dst + ((size_t)y * nw + x) * c, img->px + ((size_t)sy * w + sx) * c, c);
        }
    }
    gcam_free(img->px);
    img->px = dst;
    img->w = nw;
    img->h = nh;
    return GCAM_OK;
}

/* ---- JPEG ---------------------------------------------------------------- */

typedef struct jpg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
    int truncated;
} jpg_err;

typedef struct jpg_ctx {
    struct jpeg_decompress_struct ci;
    jpg_err err;
    struct jpeg_progress_mgr progress;
    const uint8_t *data;
    size_t size, max_bytes;
    const char *name;
    unsigned flags;
    uint8_t *px;
    int w, h, orientation;
} jpg_ctx;

static void jpg_error_exit(j_common_ptr ci)
{
    jpg_err *je = (jpg_err *)ci->err;
    ci->err->format_message(ci, je->msg);
    longjmp(je->jb, 1);
}

/* libjpeg only warns about a file that ends early and pads it with grey;
 * Pillow refuses such files ("image file is truncated"), and so do we.
 * Image data that stops at a marker ("premature end of data segment") is
 * the same thing unless it happens in the last row of blocks, where some
 * encoders leave a few bits out. */
static void jpg_emit_message(j_common_ptr ci, int level)
{
    jpg_err *je = (jpg_err *)ci->err;
    if (level < 0) {
        ci->err->num_warnings++;
        j_decompress_ptr d = (j_decompress_ptr)ci;
        if (ci->err->msg_code == JWRN_JPEG_EOF) je->truncated = 1;
        else if (ci->err->msg_code == JWRN_HIT_MARKER && ci->is_decompressor &&
                 d->input_iMCU_row + 1 < d->total_iMCU_rows)
            je->truncated = 1;
    }
}

static void jpg_output_message(j_common_ptr ci) { (void)ci; }

static void jpg_progress(j_common_ptr ci)
{
    j_decompress_ptr d = (j_decompress_ptr)ci;
    if (ci->is_decompressor && d->input_scan_number > GCAM_JPEG_MAX_SCANS) {
        jpg_err *je = (jpg_err *)ci->err;
        snprintf(je->msg, sizeof je->msg, "more than %d scans", GCAM_JPEG_MAX_SCANS);
        longjmp(je->jb, 1);
    }
}

/* As png_check_data: before anything is allocated, the compressed data
 * must be able to fill the claimed size (with Huffman coding every 8x8
 * block takes at least one bit; arithmetic coding has no such floor, so
 * it is exempt), and the decoder's memory must fit the budget: the pixels,
 * the coefficients a progressive file buffers, a rotated copy. */
static int jpg_check_data(jpg_ctx *j, gcam_err *e)
{
    struct jpeg_decompress_struct *ci = &j->ci;
    uint64_t blocks = 0;
    for (int c = 0; c < ci->num_components; c++)
        blocks += (uint64_t)ci->comp_info[c].width_in_blocks * ci->comp_info[c].height_in_blocks;
    uint64_t w = ci->image_width, h = ci->image_height;
    if (!ci->arith_code && (uint64_t)j->size * 8 < blocks)
        return gcam_errf(e, GCAM_E_PARSE, "%s: invalid JPEG: %zu bytes cannot hold %llux%llu pixels (file truncated?)",
                         j->name, j->size, (unsigned long long)w, (unsigned long long)h);
    uint64_t need = w * h * 4 + (j->orientation > 1 ? w * h * 3 : 0);
    if (jpeg_has_multiple_scans(ci)) need += blocks * 64 * sizeof(JCOEF);
    if (j->max_bytes && need > j->max_bytes)
        return gcam_errf(e, GCAM_E_NOMEM, "%s: decoding the %llux%llu image needs %.1f MB, more than the memory limit of %.1f MB",
                         j->name, (unsigned long long)w, (unsigned long long)h, need / 1048576.0, j->max_bytes / 1048576.0);
    return GCAM_OK;
}

static int jpg_run(jpg_ctx *j, gcam_err *e)
{
    struct jpeg_decompress_struct *ci = &j->ci;
    if (setjmp(j->err.jb))
        return gcam_errf(e, GCAM_E_PARSE, "%s: invalid JPEG: %s", j->name, j->err.msg);

    jpeg_mem_src(ci, j->data, (unsigned long)j->size);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(ci, TRUE);
    int rc = check_size(ci->image_width, ci->image_height, j->name, e);
    if (rc) return rc;

    /* Saved markers live in libjpeg's per-image pool, which
     * jpeg_finish_decompress frees: read the orientation now. */
    j->orientation = 1;
    if (!(j->flags & GCAM_DECODE_NO_EXIF_ROTATE)) {
        for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next) {
            if (m->marker != JPEG_APP0 + 1 || m->data_length < 6 ||
                memcmp(m->data, "Exif\0\0", 6) != 0)
                continue; /* e.g. an XMP packet, also in APP1 */
            j->orientation = exif_orientation(m->data, m->data_length);
            break;
        }
    }

    rc = jpg_check_data(j, e);
    if (rc) return rc;
    int cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    /* libjpeg converts grey and YCbCr to RGB itself; CMYK (and YCCK, which it
     * turns into CMYK) is converted below. */
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(ci);
    int w = (int)ci->output_width, h = (int)ci->output_height, oc = ci->output_components;
    if (oc != (cmyk ? 4 : 3))
        return gcam_errf(e, GCAM_E_PARSE, "%s: invalid JPEG: %d output components", j->name, oc);
    j->px = gcam_malloc((size_t)w * h * oc);
    if (!j->px)
        return gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory for %dx%d pixels", j->name, w, h);
    /* stop at the first sign of truncation: the rest would be grey filler */
    while (ci->output_scanline < ci->output_height && !j->err.truncated) {
        JSAMPROW row = j->px + (size_t)ci->output_scanline * w * oc;
        if (jpeg_read_scanlines(ci, &row, 1) != 1) break;
    }
    if (!j->err.truncated) jpeg_finish_decompress(ci);
    if (j->err.truncated || ci->output_scanline < ci->output_height)
        return gcam_errf(e, GCAM_E_PARSE, "%s: invalid JPEG: file is truncated", j->name);

    if (cmyk) {
        /* Photoshop writes CMYK inverted (255 = no ink) and marks such files
         * with the Adobe APP14 marker; without it the values are ink amounts.
         * RGB = (1 - C)(1 - K) per channel, as Pillow's CMYK -> RGB. */
        int inverted = ci->saw_Adobe_marker;
        size_t n = (size_t)w * h;
        uint8_t *p = j->px;
        for (size_t i = 0; i < n; i++) {
            unsigned k = inverted ? p[4 * i + 3] : 255u - p[4 * i + 3];
            for (int ch = 0; ch < 3; ch++) {
                unsigned v = inverted ? p[4 * i + ch] : 255u - p[4 * i + ch];
                p[3 * i + ch] = div255(v * k);
            }
        }
    }
    j->w = w;
    j->h = h;
    return GCAM_OK;
}

static int decode_jpeg(const uint8_t *data, size_t size, const char *name, unsigned flags, size_t max_bytes,
                       gcam_image *out, gcam_err *e)
{
    jpg_ctx *j = gcam_calloc(1, sizeof *j);
    if (!j) return gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory for the JPEG decoder", name);
    j->data = data;
    j->size = size;
    j->max_bytes = max_bytes;
    j->name = name;
    j->flags = flags;
    j->ci.err = jpeg_std_error(&j->err.pub);
    j->err.pub.error_exit = jpg_error_exit;
    j->err.pub.emit_message = jpg_emit_message;
    j->err.pub.output_message = jpg_output_message;
    int rc;
    /* jpeg_create_decompress itself may fail (out of memory) through
     * error_exit, so it needs the jump target too. */
    if (setjmp(j->err.jb)) {
        rc = gcam_errf(e, GCAM_E_NOMEM, "%s: cannot create the JPEG decoder: %s", name, j->err.msg);
    } else {
        jpeg_create_decompress(&j->ci);
        j->progress.progress_monitor = jpg_progress;
        j->ci.progress = &j->progress;
        rc = jpg_run(j, e);
        jpeg_destroy_decompress(&j->ci);
    }
    if (rc == GCAM_OK) {
        *out = (gcam_image){.w = j->w, .h = j->h, .c = 3, .px = j->px};
        j->px = NULL;
        rc = apply_orientation(out, j->orientation, name, e);
        if (rc) gcam_image_free(out);
    }
    gcam_free(j->px);
    gcam_free(j);
    return rc;
}

/* ---- entry points -------------------------------------------------------- */

int gcam_image_decode(const void *data, size_t size, const char *name, unsigned flags,
                      gcam_image *out, gcam_err *e)
{
    return gcam_image_decode_limited(data, size, name, flags, 0, out, e);
}

int gcam_image_decode_limited(const void *data, size_t size, const char *name, unsigned flags, size_t max_bytes,
                              gcam_image *out, gcam_err *e)
{
    *out = (gcam_image){0};
    if (!name) name = "<memory>";
    if (!data && size) return gcam_errf(e, GCAM_E_ARG, "%s: no data", name);
    switch (gcam_image_sniff(data, size)) {
    case GCAM_IMGFMT_PNG: return decode_png(data, size, name, max_bytes, out, e);
    case GCAM_IMGFMT_JPEG: return decode_jpeg(data, size, name, flags, max_bytes, out, e);
    default: return gcam_errf(e, GCAM_E_PARSE, "%s: not a PNG or JPEG file", name);
    }
}

int gcam_image_load(const char *path, unsigned flags, gcam_image *out, gcam_err *e)
{
    return gcam_image_load_limited(path, flags, 0, out, e);
}

int gcam_image_load_limited(const char *path, unsigned flags, size_t max_bytes, gcam_image *out, gcam_err *e)
{
    *out = (gcam_image){0};
    unsigned char *buf;
    size_t n;
    int rc = gcam_file_read(path, GCAM_FILE_MAX_IMAGE, "image", &buf, &n, e);
    if (rc == GCAM_OK) rc = gcam_image_decode_limited(buf, n, path, flags, max_bytes, out, e);
    gcam_free(buf);
    return rc;
}
