/* test_image.c - decode/encode, resampling, preprocessing, colormaps, overlay.
 *
 * Test images are written here with libpng / libjpeg directly, so every PNG
 * colour type and JPEG colour space is covered without binary fixtures. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "image/image.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static void mb_write(png_structp png, png_bytep d, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->n + n > m->cap) {
        size_t cap = (m->n + n) * 2;
        uint8_t *p = realloc(m->p, cap);
        if (!p) png_error(png, "oom");
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->n, d, n);
    m->n += n;
}

static void mb_flush(png_structp png) { (void)png; }

typedef struct png_spec {
    int w, h, color, depth, interlace;
    const uint8_t *data; /* h rows of rowbytes, in libpng's packed/big-endian layout */
    size_t rowbytes;
    const png_color *pal;
    int npal;
    const uint8_t *trns; /* palette alpha */
    int ntrns;
    const png_color_16 *trns_key; /* grey/RGB colour key */
} png_spec;

/* Encodes spec into m (m->p malloc'd).  Returns 0 on success. */
static int write_png(membuf *m, const png_spec *s)
{
    *m = (membuf){0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(m->p);
        *m = (membuf){0};
        return -1;
    }
    png_set_write_fn(png, m, mb_write, mb_flush);
    png_set_IHDR(png, info, s->w, s->h, s->depth, s->color, s->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->pal) png_set_PLTE(png, info, s->pal, s->npal);
    if (s->trns || s->trns_key) png_set_tRNS(png, info, s->trns, s->ntrns, s->trns_key);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < s->h; y++) png_write_row(png, s->data + (size_t)y * s->rowbytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

static uint8_t on_white(unsigned c, unsigned a)
{
    return (uint8_t)((c * a + 255u * (255u - a) + 127u) / 255u);
}

typedef struct jerr_t {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr_t;

static void test_jpeg_error_exit(j_common_ptr ci) { longjmp(((jerr_t *)ci->err)->jb, 1); }

typedef struct jpeg_spec {
    int w, h, comps;
    J_COLOR_SPACE in_cs, jpeg_cs;
    int no_adobe, progressive, quality;
    const uint8_t *px;
    const uint8_t *app1;
    size_t app1_len;
} jpeg_spec;

/* Encodes spec into a malloc'd buffer (*out, *n).  Returns 0 on success. */
static int write_jpeg(const jpeg_spec *s, uint8_t **out, unsigned long *n)
{
    struct jpeg_compress_struct ci;
    jerr_t je;
    *out = NULL;
    *n = 0;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = test_jpeg_error_exit;
    if (setjmp(je.jb)) {
        jpeg_destroy_compress(&ci);
        free(*out);
        *out = NULL;
        return -1;
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, out, n);
    ci.image_width = s->w;
    ci.image_height = s->h;
    ci.input_components = s->comps;
    ci.in_color_space = s->in_cs;
    jpeg_set_defaults(&ci);
    jpeg_set_colorspace(&ci, s->jpeg_cs);
    if (s->no_adobe) ci.write_Adobe_marker = FALSE;
    jpeg_set_quality(&ci, s->quality, TRUE);
    if (s->progressive) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    if (s->app1) jpeg_write_marker(&ci, JPEG_APP0 + 1, s->app1, (unsigned)s->app1_len);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(s->px + (size_t)ci.next_scanline * s->w * s->comps);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return 0;
}

static const uint8_t *pix(const gcam_image *img, int x, int y)
{
    return img->px + ((size_t)y * img->w + x) * img->c;
}

/* |a - b| per channel within tol */
static int near3(const uint8_t *a, int r, int g, int b, int tol)
{
    return abs(a[0] - r) <= tol && abs(a[1] - g) <= tol && abs(a[2] - b) <= tol;
}

static char tmpdir[64];
static const char *tmp_path(const char *name)
{
    static char buf[4][128];
    static int k;
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/gcam_img_XXXXXX");
        if (!mkdtemp(tmpdir)) return NULL;
    }
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void tmp_cleanup(void)
{
    if (tmpdir[0]) rmdir(tmpdir);
    tmpdir[0] = 0;
}

/* ---- PNG ----------------------------------------------------------------- */

GCAM_TEST(image_png_rgb8_exact)
{
    uint8_t data[2 * 3 * 3];
    for (int i = 0; i < (int)sizeof data; i++) data[i] = (uint8_t)(i * 37 + 5);
    png_spec s = {.w = 3, .h = 2, .color = PNG_COLOR_TYPE_RGB, .depth = 8, .data = data,
                  .rowbytes = 9};
    membuf m;
    CHECK(write_png(&m, &s) == 0);
    gcam_image img = {0};
    gcam_err err = {0};
    int rc = gcam_image_decode(m.p, m.n, "rgb.png", 0, &img, &err);
    free(m.p);
    CHECK_MSG(rc == GCAM_OK, "%s", err.msg);
    CHECK(img.w == 3 && img.h == 2 && img.c == 3);
    CHECK(memcmp(img.px, data, sizeof data) == 0);
    gcam_image_free(&img);
    gcam_image_free(&img); /* second free is a no-op */
}

GCAM_TEST(image_png_rgba8_on_white)
{
    uint8_t data[4 * 4] = {10, 20, 30, 255, 200, 100, 50, 0, 0, 128, 255, 128, 77, 66, 55, 1};
    png_spec s = {.w = 4, .h = 1, .color = PNG_COLOR_TYPE_RGB_ALPHA, .depth = 8, .data = data,
                  .rowbytes = 16};
    membuf m;
    CHECK(write_png(&m, &s) == 0);
    gcam_image img = {0};
    gcam_err err = {0};
    int rc = gcam_image_decode(m.p, m.n, NULL, 0, &img, &err);
    free(m.p);
    CHECK_MSG(rc == GCAM_OK, "%s", err.msg);
    CHECK(img.c == 3 && img.w == 4);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++)
            CHECK_MSG(img.px[3 * i + k] == on_white(data[4 * i + k], data[4 * i + 3]),
                      "pixel %d ch %d: %d vs %d", i, k, img.px[3 * i + k],
                      on_white(data[4 * i + k], data[4 * i + 3]));
    /* spot values: opaque unchanged, fully transparent white, half alpha */
    CHECK(near3(pix(&img, 0, 0), 10, 20, 30, 0));
    CHECK(near3(pix(&img, 1, 0), 255, 255, 255, 0));
    CHECK(near3(pix(&img, 2, 0), 127, 191, 255, 0)); /* (0*128+255*127)/255 = 127 */
    gcam_image_free(&img);
}

GCAM_TEST(image_png_alpha_composite_every_value)
{
    /* pixel (x, y) = colour x with alpha y, for every pair */
    uint8_t *data = malloc(256 * 256 * 4);
    CHECK(data != NULL);
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++) {
            uint8_t *p = data + ((size_t)y * 256 + x) * 4;
            p[0] = (uint8_t)x, p[1] = (uint8_t)(255 - x), p[2] = (uint8_t)(x ^ y), p[3] = (uint8_t)y;
        }
    png_spec s = {.w = 256, .h = 256, .color = PNG_COLOR_TYPE_RGB_ALPHA, .depth = 8, .data = data,
                  .rowbytes = 256 * 4};
    membuf m;
    int wrc = write_png(&m, &s);
    gcam_image img = {0};
    gcam_err err = {0};
    int rc = wrc ? -1 : gcam_image_decode(m.p, m.n, "alpha.png", 0, &img, &err);
    free(m.p);
    int bad = -1;
    for (int i = 0; rc == GCAM_OK && i < 256 * 256 && bad < 0; i++)
        for (int k = 0; k < 3; k++)
            if (img.px[3 * i + k] != on_white(data[4 * i + k], data[4 * i + 3])) bad = i;
    free(data);
    gcam_image_free(&img);
    CHECK_MSG(rc == GCAM_OK, "%s", err.msg);
    CHECK_MSG(bad < 0, "first mismatch at pixel %d", bad);
}

GCAM_TEST(image_png_grey_depths)
{
    gcam_err err = {0};
    gcam_image img = {0};
    membuf m;
    /* 8-bit */
    uint8_t g8[4] = {0, 1, 128, 255};
    png_spec s8 = {.w = 4, .h = 1, .color = PNG_COLOR_TYPE_GRAY, .depth = 8, .data = g8, .rowbytes = 4};
    CHECK(write_png(&m, &s8) == 0);
    CHECK(gcam_image_decode(m.p, m.n, "g8", 0, &img, &err) == GCAM_OK);
    free(m.p);
    for (int i = 0; i < 4; i++) CHECK(near3(pix(&img, i, 0), g8[i], g8[i], g8[i], 0));
    gcam_image_free(&img);
    /* 1-bit: 8 pixels in one byte, 10110001 */
    uint8_t g1[1] = {0xB1};
    png_spec s1 = {.w = 8, .h = 1, .color = PNG_COLOR_TYPE_GRAY, .depth = 1, .data = g1, .rowbytes = 1};
    CHECK(write_png(&m, &s1) == 0);
    CHECK(gcam_image_decode(m.p, m.n, "g1", 0, &img, &err) == GCAM_OK);
    free(m.p);
    for (int i = 0; i < 8; i++) {
        int v = (0xB1 >> (7 - i)) & 1 ? 255 : 0;
        CHECK(near3(pix(&img, i, 0), v, v, v, 0));
    }
    gcam_image_free(&img);
    /* 2-bit: values 0,1,2,3 -> 0,85,170,255 */
    uint8_t g2[1] = {0x1B};
    png_spec s2 = {.w = 4, .h = 1, .color = PNG_COLOR_TYPE_GRAY, .depth = 2, .data = g2, .rowbytes = 1};
    CHECK(write_png(&m, &s2) == 0);
    CHECK(gcam_image_decode(m.p, m.n, "g2", 0, &img, &err) == GCAM_OK);
    free(m.p);
    for (int i = 0; i < 4; i++) CHECK(near3(pix(&img, i, 0), 85 * i, 85 * i, 85 * i, 0));
    gcam_image_free(&img);
    /* 4-bit: 0x5 -> 0x55, 0xC -> 0xCC */
    uint8_t g4[1] = {0x5C};
    png_spec s4 = {.w = 2, .h = 1, .color = PNG_COLOR_TYPE_GRAY, .depth = 4, .data = g4, .rowbytes = 1};
    CHECK(write_png(&m, &s4) == 0);
    CHECK(gcam_image_decode(m.p, m.n, "g4", 0, &img, &err) == GCAM_OK);
    free(m.p);
    CHECK(near3(pix(&img, 0, 0), 0x55, 0x55, 0x55, 0));
    CHECK(near3(pix(&img, 1, 0), 0xCC, 0xCC, 0xCC, 0));
    gcam_image_free(&img);
    /* 16-bit keeps the high byte */
    uint8_t g16[4] = {0xAB, 0xCD, 0x01, 0xFF};
    png_spec s16 = {.w = 2, .h = 1, .color = PNG_COLOR_TYPE_GRAY, .depth = 16, .data = g16, .rowbytes = 4};
    CHECK(write_png(&m, &s16) == 0);
    CHECK(gcam_image_decode(m.p, m.n, "g16", 0, &img, &err) == GCAM_OK);
    free(m.p);
    CHECK(near3(pix(&img, 0, 0), 0xAB, 0xAB, 0xAB, 0));
    CHECK(near3(pix(&img, 1, 0), 0x01, 0x01, 0x01, 0));
    gcam_image_free(&img);
}

GCAM_TEST(image_png_grey_alpha_8_and_16)
{
    gcam_err err = {0};
    gcam_image img = {0};
    membuf m;
    uint8_t ga[6] = {100, 255, 100, 0, 0, 51};
    png_spec s = {.w = 3, .h = 1, .color = PNG_COLOR_TYPE_GRAY_ALPHA, .depth = 8, .data = ga, .rowbytes = 6};
    CHECK(write_png(&m, &s) == 0);
    CHECK_MSG(gcam_image_decode(m.p, m.n, "ga", 0, &img, &err) == GCAM_OK, "%s", err.msg);
    free(m.p);
    CHECK(near3(pix(&img, 0, 0), 100, 100, 100, 0));
    CHECK(near3(pix(&img, 1, 0), 255, 255, 255, 0));
    int v = on_white(0, 51); /* 204 */
    CHECK(v == 204);
    CHECK(near3(pix(&img, 2, 0), v, v, v, 0));
    gcam_image_free(&img);
    /* 16-bit grey+alpha: value 0x80xx, alpha 0x80xx -> composite of high bytes */
    uint8_t ga16[4] = {0x80, 0x12, 0x80, 0x34};
    png_spec s16 = {.w = 1, .h = 1, .color = PNG_COLOR_TYPE_GRAY_ALPHA, .depth = 16, .data = ga16, .rowbytes = 4};
    CHECK(write_png(&m, &s16) == 0);
    CHECK_MSG(gcam_image_decode(m.p, m.n, "ga16", 0, &img, &err) == GCAM_OK, "%s", err.msg);
    free(m.p);
    v = on_white(0x80, 0x80);
    CHECK(near3(pix(&img, 0, 0), v, v, v, 0));
    gcam_image_free(&img);
}

GCAM_TEST(image_png_palette_trns)
{
    gcam_err err = {0};
    gcam_image img = {0};
    membuf m;
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
    uint8_t trns[2] = {255, 0}; /* entry 2 has no tRNS entry: opaque */
    uint8_t idx[3] = {0, 1, 2};
    png_spec s = {.w = 3, .h = 1, .color = PNG_COLOR_TYPE_PALETTE, .depth = 8, .data = idx,
                  .rowbytes = 3, .pal = pal, .npal = 3, .trns = trns, .ntrns = 2};
    CHECK(write_png(&m, &s) == 0);
    CHECK_MSG(gcam_image_decode(m.p, m.n, "pal", 0, &img, &err) == GCAM_OK, "%s", err.msg);
    free(m.p);
    CHECK(near3(pix(&img, 0, 0), 255, 0, 0, 0));
    CHECK(near3(pix(&img, 1, 0), 255, 255, 255, 0)); /* transparent green on white */
    CHECK(near3(pix(&img, 2, 0), 10, 20, 30, 0));
    gcam_image_free(&img);
    /* 4-bit palette, half-transparent entry */
    png_color pal2[2] = {{0, 0, 0}, {200, 100, 0}};
    uint8_t trns2[2] = {255, 128};
    uint8_t idx4[1] = {0x01};
    png_spec s4 = {.w = 2, .h = 1, .color = PNG_COLOR_TYPE_PALETTE, .depth = 4, .data = idx4,
                   .rowbytes = 1, .pal = pal2, .npal = 2, .trns = trns2, .ntrns = 2};
    CHECK(write_png(&m, &s4) == 0);
    CHECK_MSG(gcam_image_decode(m.p, m.n, "pal4", 0, &img, &err) == GCAM_OK, "%s", err.msg);
    free(m.p);
    CHECK(near3(pix(&img, 0, 0), 0, 0, 0, 0));
    CHECK(near3(pix(&img, 1, 0), on_white(200, 128), on_white(100, 128), on_white(0, 128), 0));
    gcam_image_free(&img);
}

GCAM_TEST(image_png_rgb_colour_key_and_16bit)
{
    gcam_err err = {0};
    gcam_image img = {0};
    membuf m;
    uint8_t rgb[6] = {1, 2, 3, 4, 5, 6};
    png_color_16 key = {.red = 1, .green = 2, .blue = 3};
    png_spec s = {.w = 2, .h = 1, .color = PNG_COLOR_TYPE_RGB, .depth = 8, .data = rgb,
                  .rowbytes = 6, .trns_key = &key};
    CHECK(write_png(&m, &s) == 0);
    CHECK_MSG(gcam_image_decode(m.p, m.n, "key", 0, &img, &err) == GCAM_OK, "%s", err.msg);
    free(m.p);
    CHECK(near3(pix(&img, 0, 0), 255, 255, 255, 0)); /* the key colour is transparent */
    CHECK(near3(pix(&img, 1, 0), 4, 5, 6, 0));
    gcam_image_free(&img);
    uint8_t rgba16[8] = {0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xFF, 0xFF};
    png_spec s16 = {.w = 1, .h = 1, .color = PNG_COLOR_TYPE_RGB_ALPHA, .depth = 16, .data = rgba16, .rowbytes = 8};
    CHECK(write_png(&m, &s16) == 0);
    CHECK_MSG(gcam_image_decode(m.p, m.n, "rgba16", 0, &img, &err) == GCAM_OK, "%s", err.msg);
    free(m.p);
    CHECK(near3(pix(&img, 0, 0), 0x12, 0x56, 0x9A, 0));
    gcam_image_free(&img);
}

GCAM_TEST(image_png_interlaced)
{
    enum { W = 13, H = 11 };
    uint8_t data[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) data[i] = (uint8_t)(i * 7 + i / 5);
    png_spec s = {.w = W, .h = H, .color = PNG_COLOR_TYPE_RGB, .depth = 8,
                  .interlace = PNG_INTERLACE_ADAM7, .data = data, .rowbytes = W * 3};
    membuf m;
    CHECK(write_png(&m, &s) == 0);
    gcam_image img = {0};
    gcam_err err = {0};
    int rc = gcam_image_decode(m.p, m.n, "adam7.png", 0, &img, &err);
    free(m.p);
    CHECK_MSG(rc == GCAM_OK, "%s", err.msg);
    CHECK(img.w == W && img.h == H);
    CHECK(memcmp(img.px, data, sizeof data) == 0);
    gcam_image_free(&img);
}

/* Index just past the IDAT chunks' last CRC, or 0. */
static size_t png_idat_end(const uint8_t *p, size_t n)
{
    size_t off = 8, end = 0;
    while (off + 12 <= n) {
        size_t len = (size_t)p[off] << 24 | p[off + 1] << 16 | p[off + 2] << 8 | p[off + 3];
        if (memcmp(p + off + 4, "IDAT", 4) == 0) end = off + 12 + len;
        off += 12 + len;
    }
    return end;
}

GCAM_TEST(image_png_truncated_and_corrupt)
{
    enum { W = 16, H = 16 };
    uint8_t data[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) data[i] = (uint8_t)(i * 131 + (i >> 3));
    png_spec s = {.w = W, .h = H, .color = PNG_COLOR_TYPE_RGB, .depth = 8, .data = data, .rowbytes = W * 3};
    membuf m;
    CHECK(write_png(&m, &s) == 0);
    size_t idat_end = png_idat_end(m.p, m.n);
    CHECK(idat_end > 0 && idat_end < m.n);
    gcam_err err = {0};
    gcam_image img = {0};
    /* every cut inside the signature, header or image data must fail cleanly */
    for (size_t len = 0; len < idat_end; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, m.p, len);
        int rc = gcam_image_decode(cut, len, "cut.png", 0, &img, &err);
        free(cut);
        CHECK_MSG(rc == GCAM_E_PARSE, "len %zu: rc %d (%s)", len, rc, err.msg);
        CHECK(img.px == NULL);
    }
    CHECK(strstr(err.msg, "cut.png") != NULL);
    CHECK(strchr(err.msg, '\n') == NULL);
    /* flipped bytes anywhere: any outcome but a crash, and never a half-made image */
    uint32_t seed = 12345;
    for (int it = 0; it < 400; it++) {
        uint8_t *bad = malloc(m.n);
        memcpy(bad, m.p, m.n);
        for (int k = 0; k < 1 + it % 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            bad[8 + (seed >> 8) % (m.n - 8)] ^= (uint8_t)(1u << (seed >> 28) % 8);
        }
        int rc = gcam_image_decode(bad, m.n, "flip.png", 0, &img, &err);
        free(bad);
        CHECK(rc == GCAM_OK || rc == GCAM_E_PARSE || rc == GCAM_E_RANGE || rc == GCAM_E_UNSUPPORTED);
        CHECK((rc == GCAM_OK) == (img.px != NULL));
        gcam_image_free(&img);
    }
    free(m.p);
}

/* PNG's CRC-32 (bitwise; zlib's crc32 would need -lz in the link line). */
static uint32_t png_crc(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

GCAM_TEST(image_png_huge_dimensions_is_range)
{
    /* A valid header claiming 100000 x 100000 pixels, then nothing. */
    uint8_t row[1] = {0};
    png_spec s = {.w = 1, .h = 1, .color = PNG_COLOR_TYPE_GRAY, .depth = 8, .data = row, .rowbytes = 1};
    membuf m;
    CHECK(write_png(&m, &s) == 0);
    /* patch IHDR width/height and its CRC */
    uint8_t *ihdr = m.p + 8;
    const uint32_t big = 100000;
    for (int k = 0; k < 2; k++) {
        ihdr[8 + 4 * k] = big >> 24;
        ihdr[9 + 4 * k] = (big >> 16) & 255;
        ihdr[10 + 4 * k] = (big >> 8) & 255;
        ihdr[11 + 4 * k] = big & 255;
    }
    uint32_t crc = png_crc(ihdr + 4, 17);
    ihdr[21] = crc >> 24;
    ihdr[22] = (crc >> 16) & 255;
    ihdr[23] = (crc >> 8) & 255;
    ihdr[24] = crc & 255;
    gcam_err err = {0};
    gcam_image img = {0};
    int rc = gcam_image_decode(m.p, m.n, "huge.png", 0, &img, &err);
    free(m.p);
    CHECK_MSG(rc == GCAM_E_RANGE, "rc %d: %s", rc, err.msg);
}

/* ---- JPEG ---------------------------------------------------------------- */

/* 32x32 image with four flat 16x16 quadrants (flat per MCU, so chroma
 * subsampling does not mix them except right at the seams). */
static void quadrants(uint8_t *px, int comps, const uint8_t q[4][4])
{
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            memcpy(px + ((size_t)y * 32 + x) * comps, q[(y >= 16) * 2 + (x >= 16)], comps);
}

static int check_quadrants(const gcam_image *img, const uint8_t rgb[4][3], int tol)
{
    static const int cx[4] = {8, 24, 8, 24}, cy[4] = {8, 8, 24, 24};
    for (int i = 0; i < 4; i++)
        for (int dy = -4; dy <= 4; dy += 4)
            for (int dx = -4; dx <= 4; dx += 4)
                if (!near3(pix(img, cx[i] + dx, cy[i] + dy), rgb[i][0], rgb[i][1], rgb[i][2], tol)) {
                    const uint8_t *p = pix(img, cx[i] + dx, cy[i] + dy);
                    fprintf(stderr, "    quadrant %d: got %d %d %d want %d %d %d\n", i, p[0], p[1],
                            p[2], rgb[i][0], rgb[i][1], rgb[i][2]);
                    return 0;
                }
    return 1;
}

GCAM_TEST(image_jpeg_rgb_baseline_and_progressive)
{
    const uint8_t q[4][4] = {{200, 30, 40}, {20, 180, 60}, {30, 40, 220}, {128, 128, 128}};
    const uint8_t want[4][3] = {{200, 30, 40}, {20, 180, 60}, {30, 40, 220}, {128, 128, 128}};
    uint8_t px[32 * 32 * 3];
    quadrants(px, 3, q);
    for (int prog = 0; prog < 2; prog++) {
        jpeg_spec s = {.w = 32, .h = 32, .comps = 3, .in_cs = JCS_RGB, .jpeg_cs = JCS_YCbCr,
                       .progressive = prog, .quality = 95, .px = px};
        uint8_t *buf;
        unsigned long n;
        CHECK(write_jpeg(&s, &buf, &n) == 0);
        gcam_image img = {0};
        gcam_err err = {0};
        int rc = gcam_image_decode(buf, n, "q.jpg", 0, &img, &err);
        free(buf);
        CHECK_MSG(rc == GCAM_OK, "%s", err.msg);
        CHECK(img.w == 32 && img.h == 32 && img.c == 3);
        CHECK_MSG(check_quadrants(&img, want, 4), "progressive=%d", prog);
        gcam_image_free(&img);
    }
}

GCAM_TEST(image_jpeg_grey)
{
    const uint8_t q[4][4] = {{0}, {90}, {170}, {255}};
    const uint8_t want[4][3] = {{0, 0, 0}, {90, 90, 90}, {170, 170, 170}, {255, 255, 255}};
    uint8_t px[32 * 32];
    quadrants(px, 1, q);
    jpeg_spec s = {.w = 32, .h = 32, .comps = 1, .in_cs = JCS_GRAYSCALE,
                   .jpeg_cs = JCS_GRAYSCALE, .quality = 95, .px = px};
    uint8_t *buf;
    unsigned long n;
    CHECK(write_jpeg(&s, &buf, &n) == 0);
    gcam_image img = {0};
    gcam_err err = {0};
    int rc = gcam_image_decode(buf, n, "grey.jpg", 0, &img, &err);
    free(buf);
    CHECK_MSG(rc == GCAM_OK, "%s", err.msg);
    CHECK(img.c == 3);
    CHECK(check_quadrants(&img, want, 2));
    gcam_image_free(&img);
}

GCAM_TEST(image_jpeg_cmyk_plain_adobe_ycck)
{
    /* Ink amounts per quadrant and the RGB they print as: (1-C)(1-K) etc. */
    const uint8_t ink[4][4] = {{0, 255, 255, 0}, {51, 102, 153, 51}, {0, 0, 0, 0}, {0, 0, 0, 255}};
    uint8_t want[4][3];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++)
            want[i][k] = (uint8_t)(((255 - ink[i][k]) * (255 - ink[i][3]) + 127) / 255);
    CHECK(want[1][0] == 163 && want[1][1] == 122 && want[1][2] == 82);
    for (int mode = 0; mode < 3; mode++) {
        /* mode 0: plain CMYK, no Adobe marker, values are ink.
         * mode 1: Adobe CMYK, values inverted (Photoshop convention).
         * mode 2: Adobe YCCK, inverted. */
        uint8_t q[4][4];
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 4; k++) q[i][k] = mode == 0 ? ink[i][k] : (uint8_t)(255 - ink[i][k]);
        uint8_t px[32 * 32 * 4];
        quadrants(px, 4, q);
        jpeg_spec s = {.w = 32, .h = 32, .comps = 4, .in_cs = JCS_CMYK,
                       .jpeg_cs = mode == 2 ? JCS_YCCK : JCS_CMYK, .no_adobe = mode == 0,
                       .quality = 98, .px = px};
        uint8_t *buf;
        unsigned long n;
        CHECK(write_jpeg(&s, &buf, &n) == 0);
        gcam_image img = {0};
        gcam_err err = {0};
        int rc = gcam_image_decode(buf, n, "cmyk.jpg", 0, &img, &err);
        free(buf);
        CHECK_MSG(rc == GCAM_OK, "mode %d: %s", mode, err.msg);
        CHECK(img.c == 3);
        CHECK_MSG(check_quadrants(&img, (const uint8_t(*)[3])want, 4), "mode %d", mode);
        gcam_image_free(&img);
    }
}

/* APP1 payload with one IFD0 entry: Orientation (SHORT) = o. */
static size_t make_exif(uint8_t *d, int little, int o)
{
    memcpy(d, "Exif\0\0", 6);
    uint8_t *t = d + 6;
#define W16(p, v) (little ? ((p)[0] = (v) & 255, (p)[1] = (v) >> 8) : ((p)[0] = (v) >> 8, (p)[1] = (v) & 255))
#define W32(p, v) (little ? (W16(p, (v) & 0xFFFF), W16((p) + 2, (v) >> 16)) : (W16(p, (v) >> 16), W16((p) + 2, (v) & 0xFFFF)))
    t[0] = t[1] = little ? 'I' : 'M';
    W16(t + 2, 42);
    W32(t + 4, 8u);
    W16(t + 8, 2); /* two entries: an unrelated tag first, then Orientation */
    W16(t + 10, 0x010F); /* Make, ASCII, 4 bytes inline */
    W16(t + 12, 2);
    W32(t + 14, 4u);
    memcpy(t + 18, "ACM", 4);
    W16(t + 22, 0x0112);
    W16(t + 24, 3);
    W32(t + 26, 1u);
    W16(t + 30, o);
    W16(t + 32, 0);
    W32(t + 34, 0u); /* no next IFD */
#undef W16
#undef W32
    return 6 + 38;
}

GCAM_TEST(image_jpeg_exif_orientation)
{
    /* 32x16 stored image: blue, with a red block top-left and green top-right. */
    enum { W = 32, H = 16 };
    uint8_t px[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + ((size_t)y * W + x) * 3;
            p[0] = x < 8 && y < 8 ? 255 : 0;
            p[1] = x >= 24 && y < 8 ? 255 : 0;
            p[2] = (x < 8 || x >= 24) && y < 8 ? 0 : 255;
        }
    for (int o = 1; o <= 8; o++) {
        uint8_t app1[64];
        size_t len = make_exif(app1, o % 2, o);
        jpeg_spec s = {.w = W, .h = H, .comps = 3, .in_cs = JCS_RGB, .jpeg_cs = JCS_YCbCr,
                       .quality = 98, .px = px, .app1 = app1, .app1_len = len};
        uint8_t *buf;
        unsigned long n;
        CHECK(write_jpeg(&s, &buf, &n) == 0);
        gcam_image img = {0};
        gcam_err err = {0};
        int rc = gcam_image_decode(buf, n, "exif.jpg", 0, &img, &err);
        CHECK_MSG(rc == GCAM_OK, "%s", err.msg);
        int swap = o >= 5;
        CHECK_MSG(img.w == (swap ? H : W) && img.h == (swap ? W : H), "o=%d: %dx%d", o, img.w, img.h);
        /* Where the stored points (4,4) (red) and (27,4) (green) are displayed. */
        int sxs[2] = {4, 27}, sy = 4;
        for (int k = 0; k < 2; k++) {
            int sx = sxs[k], dx, dy;
            switch (o) {
            case 1: dx = sx; dy = sy; break;
            case 2: dx = W - 1 - sx; dy = sy; break;
            case 3: dx = W - 1 - sx; dy = H - 1 - sy; break;
            case 4: dx = sx; dy = H - 1 - sy; break;
            case 5: dx = sy; dy = sx; break;
            case 6: dx = H - 1 - sy; dy = sx; break;
            case 7: dx = H - 1 - sy; dy = W - 1 - sx; break;
            default: dx = sy; dy = W - 1 - sx; break;
            }
            CHECK_MSG(near3(pix(&img, dx, dy), k == 0 ? 255 : 0, k == 1 ? 255 : 0, 0, 40),
                      "o=%d marker %d at (%d,%d): %d %d %d", o, k, dx, dy, pix(&img, dx, dy)[0],
                      pix(&img, dx, dy)[1], pix(&img, dx, dy)[2]);
        }
        gcam_image_free(&img);
        if (o == 6) {
            /* orientation 6: the red top-left block is now top-right */
            CHECK(gcam_image_decode(buf, n, "exif.jpg", 0, &img, &err) == GCAM_OK);
            CHECK(img.w == 16 && img.h == 32);
            CHECK(near3(pix(&img, 12, 3), 255, 0, 0, 40));
            CHECK(near3(pix(&img, 3, 3), 0, 0, 255, 40));
            gcam_image_free(&img);
            /* and the opt-out keeps the stored layout */
            CHECK(gcam_image_decode(buf, n, "exif.jpg", GCAM_DECODE_NO_EXIF_ROTATE, &img, &err) == GCAM_OK);
            CHECK(img.w == W && img.h == H);
            CHECK(near3(pix(&img, 3, 3), 255, 0, 0, 40));
            gcam_image_free(&img);
        }
        free(buf);
    }
}

GCAM_TEST(image_jpeg_malformed_exif_ignored)
{
    enum { W = 16, H = 8 };
    uint8_t px[W * H * 3];
    memset(px, 100, sizeof px);
    uint8_t app1[64];
    size_t full = make_exif(app1, 1, 6);
    app1[6 + 4] = 0xF0; /* IFD offset far past the end */
    jpeg_spec s = {.w = W, .h = H, .comps = 3, .in_cs = JCS_RGB, .jpeg_cs = JCS_YCbCr,
                   .quality = 90, .px = px, .app1 = app1, .app1_len = full};
    uint8_t *buf;
    unsigned long n;
    CHECK(write_jpeg(&s, &buf, &n) == 0);
    gcam_image img = {0};
    gcam_err err = {0};
    CHECK(gcam_image_decode(buf, n, "bad_exif.jpg", 0, &img, &err) == GCAM_OK);
    CHECK(img.w == W && img.h == H);
    gcam_image_free(&img);
    free(buf);
    /* The payload cut at every length: the orientation (a 12-byte entry at
     * payload offset 28) applies only once the entry is whole. */
    for (size_t cut = 0; cut <= full; cut++) {
        make_exif(app1, cut % 2, 6);
        s.app1_len = cut;
        CHECK(write_jpeg(&s, &buf, &n) == 0);
        int rc = gcam_image_decode(buf, n, "cut_exif.jpg", 0, &img, &err);
        free(buf);
        CHECK_MSG(rc == GCAM_OK, "cut %zu: %s", cut, err.msg);
        int rotated = cut >= 6 + 34;
        CHECK_MSG(img.w == (rotated ? H : W) && img.h == (rotated ? W : H), "cut %zu: %dx%d", cut,
                  img.w, img.h);
        gcam_image_free(&img);
    }
}

GCAM_TEST(image_jpeg_truncated_and_corrupt)
{
    uint8_t px[32 * 32 * 3];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 29 + (i >> 5));
    for (int prog = 0; prog < 2; prog++) {
        jpeg_spec s = {.w = 32, .h = 32, .comps = 3, .in_cs = JCS_RGB, .jpeg_cs = JCS_YCbCr,
                       .progressive = prog, .quality = 80, .px = px};
        uint8_t *buf;
        unsigned long n;
        CHECK(write_jpeg(&s, &buf, &n) == 0);
        gcam_image img = {0};
        gcam_err err = {0};
        for (size_t len = 0; len < n; len += 1 + len / 64) {
            uint8_t *cut = malloc(len ? len : 1);
            memcpy(cut, buf, len);
            int rc = gcam_image_decode(cut, len, "cut.jpg", 0, &img, &err);
            free(cut);
            CHECK_MSG(rc == GCAM_E_PARSE, "prog %d len %zu/%lu: rc %d", prog, len, n, rc);
            CHECK(img.px == NULL);
        }
        CHECK(strstr(err.msg, "cut.jpg") != NULL);
        uint32_t seed = 99;
        for (int it = 0; it < 300; it++) {
            uint8_t *bad = malloc(n);
            memcpy(bad, buf, n);
            for (int k = 0; k < 1 + it % 3; k++) {
                seed = seed * 1664525u + 1013904223u;
                bad[2 + (seed >> 8) % (n - 2)] ^= (uint8_t)(1u << (seed >> 28) % 8);
            }
            int rc = gcam_image_decode(bad, n, "flip.jpg", 0, &img, &err);
            free(bad);
            CHECK(rc == GCAM_OK || rc == GCAM_E_PARSE || rc == GCAM_E_RANGE);
            CHECK((rc == GCAM_OK) == (img.px != NULL));
            gcam_image_free(&img);
        }
        free(buf);
    }
}

GCAM_TEST(image_decode_garbage_and_missing)
{
    gcam_err err = {0};
    gcam_image img = {0};
    uint8_t junk[256];
    for (int i = 0; i < 256; i++) junk[i] = (uint8_t)(i * 91 + 7);
    CHECK(gcam_image_decode(junk, sizeof junk, "junk.bin", 0, &img, &err) == GCAM_E_PARSE);
    CHECK(strstr(err.msg, "junk.bin") && strstr(err.msg, "not a PNG or JPEG"));
    CHECK(gcam_image_decode(junk, 0, "empty", 0, &img, &err) == GCAM_E_PARSE);
    /* right magic, garbage after it */
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(junk, png_sig, 8);
    CHECK(gcam_image_decode(junk, sizeof junk, "fake.png", 0, &img, &err) == GCAM_E_PARSE);
    CHECK(strstr(err.msg, "fake.png") != NULL);
    junk[0] = 0xFF, junk[1] = 0xD8, junk[2] = 0xFF;
    CHECK(gcam_image_decode(junk, sizeof junk, "fake.jpg", 0, &img, &err) == GCAM_E_PARSE);
    CHECK(strstr(err.msg, "fake.jpg") != NULL);
    CHECK(img.px == NULL);

    const char *missing = tmp_path("does_not_exist.png");
    CHECK(gcam_image_load(missing, 0, &img, &err) == GCAM_E_IO);
    CHECK(strstr(err.msg, "cannot open") && strstr(err.msg, missing) &&
          strstr(err.msg, strerror(ENOENT)));
    CHECK(gcam_image_load(tmpdir, 0, &img, &err) == GCAM_E_IO); /* a directory */

    /* magic bytes win over the file name */
    const char *path = tmp_path("really_a_png.jpg");
    gcam_image src = {0};
    CHECK(gcam_image_alloc(&src, 3, 2, 3, &err) == GCAM_OK);
    for (int i = 0; i < 18; i++) src.px[i] = (uint8_t)(i * 13);
    CHECK(gcam_image_save_png(path, &src, &err) == GCAM_OK);
    CHECK(gcam_image_load(path, 0, &img, &err) == GCAM_OK);
    CHECK(img.w == 3 && img.h == 2 && memcmp(img.px, src.px, 18) == 0);
    gcam_image_free(&img);
    gcam_image_free(&src);
    unlink(path);
    tmp_cleanup();
}

GCAM_TEST(image_save_roundtrip)
{
    gcam_err err = {0};
    gcam_image src = {0}, back = {0};
    CHECK(gcam_image_alloc(&src, 24, 16, 3, &err) == GCAM_OK);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 24; x++) {
            uint8_t *p = src.px + ((size_t)y * 24 + x) * 3;
            p[0] = (uint8_t)(x * 10), p[1] = (uint8_t)(y * 15), p[2] = 90;
        }
    const char *png = tmp_path("rt.png"), *jpg = tmp_path("rt.JPG");
    CHECK(gcam_image_save(png, &src, &err) == GCAM_OK);
    CHECK(gcam_image_load(png, 0, &back, &err) == GCAM_OK);
    CHECK(back.w == 24 && back.h == 16 && memcmp(back.px, src.px, 24 * 16 * 3) == 0);
    gcam_image_free(&back);
    CHECK(gcam_image_save(jpg, &src, &err) == GCAM_OK); /* by extension: JPEG */
    FILE *f = fopen(jpg, "rb");
    CHECK(f != NULL);
    uint8_t magic[3] = {0};
    CHECK(fread(magic, 1, 3, f) == 3);
    fclose(f);
    CHECK(gcam_image_sniff(magic, 3) == GCAM_IMGFMT_JPEG);
    CHECK(gcam_image_load(jpg, 0, &back, &err) == GCAM_OK);
    CHECK(back.w == 24 && back.h == 16);
    CHECK(near3(pix(&back, 12, 8), 120, 120, 90, 12));
    gcam_image_free(&back);
    /* grey and RGBA PNGs */
    gcam_image g = {0};
    CHECK(gcam_image_alloc(&g, 4, 4, 4, &err) == GCAM_OK);
    memset(g.px, 255, 64);
    CHECK(gcam_image_save_png(png, &g, &err) == GCAM_OK);
    gcam_image_free(&g);
    /* unwritable path */
    CHECK(gcam_image_save_png("/nonexistent_dir/x.png", &src, &err) == GCAM_E_IO);
    CHECK(strstr(err.msg, "cannot write /nonexistent_dir/x.png") != NULL);
    gcam_image_free(&src);
    unlink(png);
    unlink(jpg);
    tmp_cleanup();
}

/* ---- resampling ---------------------------------------------------------- */

GCAM_TEST(image_resize_hand_computed)
{
    gcam_err err = {0};
    gcam_image src = {0}, dst = {0};
    /* Downscale 4 -> 2 with Pillow's filter: support 2, taps 3/7, 3/7, 1/7. */
    CHECK(gcam_image_alloc(&src, 4, 1, 1, &err) == GCAM_OK);
    src.px[0] = 0, src.px[1] = 100, src.px[2] = 200, src.px[3] = 60;
    CHECK(gcam_image_resize(&src, 2, 1, GCAM_RESIZE_PIL_BILINEAR, &dst, &err) == GCAM_OK);
    CHECK(dst.w == 2 && dst.h == 1 && dst.c == 1);
    CHECK_MSG(dst.px[0] == 71 && dst.px[1] == 126, "%d %d", dst.px[0], dst.px[1]); /* 500/7, 880/7 */
    gcam_image_free(&dst);
    /* Plain bilinear instead samples at 0.5 and 2.5: (0+100)/2, (200+60)/2 */
    CHECK(gcam_image_resize(&src, 2, 1, GCAM_RESIZE_BILINEAR, &dst, &err) == GCAM_OK);
    CHECK_MSG(dst.px[0] == 50 && dst.px[1] == 130, "%d %d", dst.px[0], dst.px[1]);
    gcam_image_free(&dst);
    gcam_image_free(&src);
    /* Upscale 2 -> 4: both modes are half-pixel bilinear with edge clamp. */
    CHECK(gcam_image_alloc(&src, 2, 1, 1, &err) == GCAM_OK);
    src.px[0] = 0, src.px[1] = 100;
    for (int mode = 0; mode < 2; mode++) {
        CHECK(gcam_image_resize(&src, 4, 1, mode, &dst, &err) == GCAM_OK);
        CHECK_MSG(dst.px[0] == 0 && dst.px[1] == 25 && dst.px[2] == 75 && dst.px[3] == 100,
                  "mode %d: %d %d %d %d", mode, dst.px[0], dst.px[1], dst.px[2], dst.px[3]);
        gcam_image_free(&dst);
    }
    gcam_image_free(&src);
    /* 2x2 RGB -> 4x4: corners keep their colour, middle is the mean */
    CHECK(gcam_image_alloc(&src, 2, 2, 3, &err) == GCAM_OK);
    const uint8_t c4[12] = {0, 0, 0, 200, 0, 0, 0, 200, 0, 0, 0, 200};
    memcpy(src.px, c4, 12);
    CHECK(gcam_image_resize(&src, 4, 4, GCAM_RESIZE_BILINEAR, &dst, &err) == GCAM_OK);
    CHECK(near3(pix(&dst, 0, 0), 0, 0, 0, 0));
    CHECK(near3(pix(&dst, 3, 0), 200, 0, 0, 0));
    CHECK(near3(pix(&dst, 0, 3), 0, 200, 0, 0));
    CHECK(near3(pix(&dst, 3, 3), 0, 0, 200, 0));
    /* (1,1) samples (0.25, 0.25): weights .5625 .1875 .1875 .0625 */
    CHECK(near3(pix(&dst, 1, 1), 38, 38, 13, 0));
    gcam_image_free(&dst);
    gcam_image_free(&src);
}

/* The same pseudo-random image the Pillow reference below was made from:
 *   px[i] = (i * 2654435761) >> 24 & 255 over a 13x11 RGB image, then
 *   Image.frombytes("RGB", (13, 11), px).resize((5, 4), Image.BILINEAR)
 *   and .resize((29, 3), Image.BILINEAR)  (Pillow 9.4). */
static void lcg_image(gcam_image *img)
{
    for (size_t i = 0; i < (size_t)img->w * img->h * img->c; i++)
        img->px[i] = (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
}

GCAM_TEST(image_resize_matches_pillow)
{
    static const uint8_t want_5x4[5 * 4 * 3] = {
        129, 148, 79, 153, 88, 151, 93, 170, 122, 166, 122, 97, 134, 87, 176, 81, 167, 117, 156, 129,
        97, 127, 94, 163, 112, 163, 101, 172, 103, 119, 128, 101, 173, 96, 159, 104, 171, 107, 130, 105,
        122, 155, 106, 165, 79, 172, 97, 116, 111, 113, 163, 111, 162, 91, 156, 91, 171, 88, 154, 142,
    };
    static const uint8_t want_29x3[29 * 3 * 3] = {
        43, 180, 104, 59, 177, 97, 97, 170, 80, 132, 161, 67, 145, 145, 74, 158, 128, 80, 171, 112,
        95, 183, 95, 111, 176, 78, 139, 159, 61, 171, 142, 70, 185, 126, 109, 179, 109, 142, 169, 92,
        155, 153, 75, 168, 136, 81, 170, 119, 88, 174, 102, 101, 169, 85, 118, 162, 69, 143, 150, 64,
        175, 133, 70, 195, 116, 89, 188, 99, 134, 181, 83, 177, 164, 66, 179, 148, 50, 183, 131, 80,
        177, 114, 119, 170, 107, 134, 168, 132, 78, 180, 125, 92, 175, 108, 128, 164, 92, 160, 152, 82,
        165, 135, 70, 171, 118, 88, 169, 102, 107, 166, 85, 123, 158, 82, 137, 147, 85, 153, 133, 89,
        173, 116, 95, 186, 101, 108, 175, 90, 144, 164, 78, 180, 147, 75, 178, 130, 73, 175, 113, 100,
        166, 97, 137, 155, 91, 157, 140, 93, 162, 123, 97, 167, 109, 103, 170, 97, 109, 171, 87, 123,
        154, 84, 137, 138, 82, 156, 121, 86, 175, 104, 91, 183, 98, 94, 169, 122, 90, 171, 116, 96,
        177, 99, 108, 180, 84, 125, 163, 77, 164, 146, 70, 202, 130, 72, 190, 113, 75, 173, 97, 108,
        157, 80, 153, 140, 76, 180, 123, 89, 187, 107, 102, 188, 92, 115, 171, 85, 128, 154, 78, 144,
        137, 81, 160, 121, 85, 168, 104, 120, 175, 88, 166, 168, 76, 190, 151, 69, 196, 135, 74, 195,
        118, 107, 178, 102, 138, 162, 85, 154, 145, 68, 170, 129, 76, 178, 112, 89, 184, 95, 94, 186,
        88,
    };
    gcam_err err = {0};
    gcam_image src = {0}, dst = {0};
    CHECK(gcam_image_alloc(&src, 13, 11, 3, &err) == GCAM_OK);
    lcg_image(&src);
    CHECK(gcam_image_resize(&src, 5, 4, GCAM_RESIZE_PIL_BILINEAR, &dst, &err) == GCAM_OK);
    for (int i = 0; i < 5 * 4 * 3; i++)
        CHECK_MSG(dst.px[i] == want_5x4[i], "5x4 byte %d: %d vs Pillow %d", i, dst.px[i], want_5x4[i]);
    gcam_image_free(&dst);
    CHECK(gcam_image_resize(&src, 29, 3, GCAM_RESIZE_PIL_BILINEAR, &dst, &err) == GCAM_OK);
    for (int i = 0; i < 29 * 3 * 3; i++)
        CHECK_MSG(dst.px[i] == want_29x3[i], "29x3 byte %d: %d vs Pillow %d", i, dst.px[i], want_29x3[i]);
    gcam_image_free(&dst);
    gcam_image_free(&src);
}

GCAM_TEST(image_resize_f32_and_crop)
{
    const float src[4] = {0, 1, 2, 3}; /* 2x2 */
    float dst[16];
    gcam_resize_f32(src, 2, 2, dst, 4, 4);
    CHECK_NEAR(dst[0], 0, 1e-6);
    CHECK_NEAR(dst[3], 1, 1e-6);
    CHECK_NEAR(dst[12], 2, 1e-6);
    CHECK_NEAR(dst[15], 3, 1e-6);
    /* (1,1) samples (0.25, 0.25): .75*.75*0 + .25*.75*1 + .75*.25*2 + .25*.25*3 */
    CHECK_NEAR(dst[1 * 4 + 1], 0.75, 1e-6);
    /* (2,1) samples (0.75, 0.25): .75*(.25*0 + .75*1) + .25*(.25*2 + .75*3) */
    CHECK_NEAR(dst[1 * 4 + 2], 1.25, 1e-6);
    /* same size is the identity */
    float same[4];
    gcam_resize_f32(src, 2, 2, same, 2, 2);
    for (int i = 0; i < 4; i++) CHECK_NEAR(same[i], src[i], 0);

    gcam_err err = {0};
    gcam_image img = {0}, c = {0};
    CHECK(gcam_image_alloc(&img, 3, 3, 1, &err) == GCAM_OK);
    for (int i = 0; i < 9; i++) img.px[i] = (uint8_t)(i + 1);
    CHECK(gcam_image_crop(&img, 1, 1, 2, 2, &c, &err) == GCAM_OK);
    CHECK(c.px[0] == 5 && c.px[1] == 6 && c.px[2] == 8 && c.px[3] == 9);
    gcam_image_free(&c);
    CHECK(gcam_image_crop(&img, -1, -1, 5, 5, &c, &err) == GCAM_OK); /* padded with zeros */
    CHECK(c.px[0] == 0 && c.px[6] == 1 && c.px[18] == 9 && c.px[24] == 0);
    gcam_image_free(&c);
    CHECK(gcam_image_crop(&img, 10, 10, 2, 2, &c, &err) == GCAM_OK); /* fully outside */
    CHECK(c.px[0] == 0 && c.px[3] == 0);
    gcam_image_free(&c);
    gcam_image_free(&img);
}

/* ---- preprocessing ------------------------------------------------------- */

GCAM_TEST(image_preprocess_imagenet_constant)
{
    gcam_err err = {0};
    gcam_image img = {0};
    CHECK(gcam_image_alloc(&img, 300, 400, 3, &err) == GCAM_OK);
    for (int i = 0; i < 300 * 400; i++) img.px[3 * i] = 128, img.px[3 * i + 1] = 64, img.px[3 * i + 2] = 32;
    gcam_preproc pp;
    gcam_preproc_imagenet(&pp);
    CHECK(gcam_preproc_channels(&pp) == 3);
    gcam_preproc_plan plan;
    CHECK(gcam_preproc_make_plan(&pp, 300, 400, &plan, &err) == GCAM_OK);
    /* short side 300 -> 256, long int(256 * 400 / 300) = 341; crop offsets
     * round(32 / 2) = 16 and round(117 / 2) = round(58.5) = 58 (half to even) */
    CHECK(plan.resize_w == 256 && plan.resize_h == 341);
    CHECK(plan.crop_x == 16 && plan.crop_y == 58);
    CHECK_NEAR(plan.src_rect.x, 16 * 300.0 / 256, 1e-9);
    CHECK_NEAR(plan.src_rect.y, 58 * 400.0 / 341, 1e-9);
    CHECK_NEAR(plan.src_rect.w, 224 * 300.0 / 256, 1e-9);
    CHECK_NEAR(plan.src_rect.h, 224 * 400.0 / 341, 1e-9);
    float *x = malloc(sizeof(float) * 3 * 224 * 224);
    CHECK(gcam_preprocess(&img, &pp, x, &err) == GCAM_OK);
    const double px[3] = {128, 64, 32}, mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
    for (int k = 0; k < 3; k++) {
        double want = (px[k] / 255.0 - mean[k]) / std[k];
        for (int i = 0; i < 224 * 224; i += 997) CHECK_NEAR(x[k * 224 * 224 + i], want, 1e-6);
        CHECK_NEAR(x[k * 224 * 224 + 224 * 224 - 1], want, 1e-6);
    }
    free(x);
    gcam_image_free(&img);
}

GCAM_TEST(image_preprocess_scale_is_exact_division)
{
    /* ToTensor() computes px / 255 in float32; (float)(px * (1.0/255)) must
     * agree for every byte value, or inputs would differ from PyTorch's. */
    for (int v = 0; v < 256; v++) {
        volatile float q = (float)v / 255.0f;
        float s = (float)(v * (1.0 / 255.0));
        CHECK_MSG(q == s, "v=%d: %.9g vs %.9g", v, (double)q, (double)s);
    }
}

GCAM_TEST(image_preprocess_geometry)
{
    gcam_preproc pp;
    gcam_preproc_imagenet(&pp);
    gcam_preproc_plan plan;
    gcam_err err = {0};
    /* landscape: h is the short side */
    CHECK(gcam_preproc_make_plan(&pp, 640, 480, &plan, &err) == GCAM_OK);
    CHECK(plan.resize_w == 341 && plan.resize_h == 256);
    CHECK(plan.crop_x == 58 && plan.crop_y == 16);
    /* Python's round-half-to-even: 29.5 -> 30, 30.5 -> 30 */
    CHECK(gcam_preproc_make_plan(&pp, 256, 283, &plan, &err) == GCAM_OK);
    CHECK(plan.resize_h == 283 && plan.crop_y == 30);
    CHECK(gcam_preproc_make_plan(&pp, 256, 285, &plan, &err) == GCAM_OK);
    CHECK(plan.resize_h == 285 && plan.crop_y == 30);
    /* crop larger than the resized image: padded, window starts before it */
    gcam_preproc big = pp;
    big.resize_shorter = 200;
    CHECK(gcam_preproc_make_plan(&big, 100, 100, &plan, &err) == GCAM_OK);
    CHECK(plan.resize_w == 200 && plan.crop_x == -12 && plan.crop_y == -12);
    /* no crop: straight to H x W, the rect is the whole image */
    gcam_preproc direct = pp;
    direct.crop = 0;
    CHECK(gcam_preproc_make_plan(&direct, 640, 480, &plan, &err) == GCAM_OK);
    CHECK(plan.resize_w == 224 && plan.resize_h == 224 && plan.crop_x == 0);
    CHECK_NEAR(plan.src_rect.w, 640, 1e-9);
    CHECK_NEAR(plan.src_rect.h, 480, 1e-9);
    /* bad configs */
    gcam_preproc bad = pp;
    bad.std[1] = 0;
    CHECK(gcam_preproc_make_plan(&bad, 10, 10, &plan, &err) == GCAM_E_ARG);
    bad = pp;
    bad.width = 0;
    CHECK(gcam_preproc_make_plan(&bad, 10, 10, &plan, &err) == GCAM_E_ARG);
    bad = pp;
    bad.resize_shorter = 1 << 30;
    CHECK(gcam_preproc_make_plan(&bad, 1, 1000, &plan, &err) == GCAM_E_RANGE);
}

GCAM_TEST(image_preprocess_grayscale_and_padding)
{
    gcam_err err = {0};
    gcam_image img = {0};
    CHECK(gcam_image_alloc(&img, 10, 10, 3, &err) == GCAM_OK);
    for (int i = 0; i < 100; i++) img.px[3 * i] = 255, img.px[3 * i + 1] = 0, img.px[3 * i + 2] = 0;
    gcam_preproc pp = {.height = 12, .width = 12, .resize_shorter = 10, .crop = 1, .grayscale = 1,
                       .scale = 1.0 / 255, .mean = {0.5f}, .std = {0.5f}};
    CHECK(gcam_preproc_channels(&pp) == 1);
    float x[144];
    CHECK(gcam_preprocess(&img, &pp, x, &err) == GCAM_OK);
    /* Pillow's L of pure red: (255 * 19595 + 32768) >> 16 = 76; pad = 0 */
    CHECK_NEAR(x[0], (0 - 0.5) / 0.5, 1e-6);               /* padded corner */
    CHECK_NEAR(x[6 * 12 + 6], (76 / 255.0 - 0.5) / 0.5, 1e-6); /* inside */
    CHECK_NEAR(x[1 * 12 + 1], (76 / 255.0 - 0.5) / 0.5, 1e-6); /* first image pixel */
    gcam_image_free(&img);
}

/* ---- colormaps ----------------------------------------------------------- */

GCAM_TEST(image_colormap_endpoints)
{
    uint8_t c[3];
    gcam_colormap(GCAM_CMAP_JET, 0.0f, c);
    CHECK(near3(c, 0, 0, 128, 0)); /* OpenCV jet starts dark blue */
    gcam_colormap(GCAM_CMAP_JET, 1.0f, c);
    CHECK(near3(c, 128, 0, 0, 0)); /* and ends dark red */
    gcam_colormap(GCAM_CMAP_JET, NAN, c);
    CHECK(near3(c, 0, 0, 128, 0));
    gcam_colormap(GCAM_CMAP_JET, -3.0f, c);
    CHECK(near3(c, 0, 0, 128, 0));
    gcam_colormap(GCAM_CMAP_JET, 7.0f, c);
    CHECK(near3(c, 128, 0, 0, 0));
    gcam_colormap(GCAM_CMAP_JET, 0.5f, c); /* index (int)127.5 = 127 */
    CHECK(memcmp(c, gcam_colormap_lut(GCAM_CMAP_JET)[127], 3) == 0);
    gcam_colormap(GCAM_CMAP_JET, 33.0f / 255.0f, c); /* cv2: [255, 4, 0] BGR */
    CHECK(near3(c, 0, 4, 255, 0));
    gcam_colormap(GCAM_CMAP_TURBO, 0.0f, c);
    CHECK(near3(c, 48, 18, 59, 0));
    gcam_colormap(GCAM_CMAP_TURBO, 1.0f, c);
    CHECK(near3(c, 122, 4, 3, 0));
    gcam_colormap(GCAM_CMAP_VIRIDIS, 0.0f, c);
    CHECK(near3(c, 68, 1, 84, 0));
    gcam_colormap(GCAM_CMAP_VIRIDIS, 1.0f, c);
    CHECK(near3(c, 253, 231, 37, 0));
    gcam_colormap(GCAM_CMAP_INFERNO, 0.0f, c);
    CHECK(near3(c, 0, 0, 4, 0));
    gcam_colormap(GCAM_CMAP_INFERNO, 1.0f, c);
    CHECK(near3(c, 252, 255, 164, 0));
    gcam_colormap(GCAM_CMAP_GRAY, 0.5f, c);
    CHECK(near3(c, 127, 127, 127, 0));
    gcam_colormap(GCAM_CMAP_GRAY, 1.0f, c);
    CHECK(near3(c, 255, 255, 255, 0));
    gcam_colormap(99, 1.0f, c); /* unknown: grey */
    CHECK(near3(c, 255, 255, 255, 0));
    CHECK(gcam_colormap_lut(GCAM_CMAP_COUNT) == NULL);
    CHECK(gcam_colormap_parse("Jet") == GCAM_CMAP_JET);
    CHECK(gcam_colormap_parse("grey") == GCAM_CMAP_GRAY);
    CHECK(gcam_colormap_parse("inferno") == GCAM_CMAP_INFERNO);
    CHECK(gcam_colormap_parse("rainbow") == -1);
    for (int i = 0; i < GCAM_CMAP_COUNT; i++)
        CHECK(gcam_colormap_parse(gcam_colormap_name(i)) == i);
}

/* ---- overlay ------------------------------------------------------------- */

GCAM_TEST(image_overlay_alpha_extremes)
{
    gcam_err err = {0};
    gcam_image img = {0}, out = {0};
    CHECK(gcam_image_alloc(&img, 8, 6, 3, &err) == GCAM_OK);
    for (int i = 0; i < 8 * 6 * 3; i++) img.px[i] = (uint8_t)(i * 11);
    const float heat[4] = {0.0f, 0.25f, 0.75f, 1.0f}; /* 2x2 */
    float up[8 * 6];
    gcam_heatmap_resample_rect(heat, 2, 2, (gcam_rect){0, 0, 8, 6}, up, 8, 6, NAN);
    gcam_overlay_opts o;
    gcam_overlay_opts_default(&o);
    CHECK(o.cmap == GCAM_CMAP_JET && o.alpha == 0.5f && !o.pgc_compat);
    o.alpha = 0;
    CHECK(gcam_overlay(&img, heat, 2, 2, &o, &out, &err) == GCAM_OK);
    CHECK(out.w == 8 && out.h == 6 && out.c == 3);
    CHECK(memcmp(out.px, img.px, 8 * 6 * 3) == 0);
    gcam_image_free(&out);
    o.alpha = 1;
    CHECK(gcam_overlay(&img, heat, 2, 2, &o, &out, &err) == GCAM_OK);
    for (int i = 0; i < 8 * 6; i++) {
        uint8_t c[3];
        gcam_colormap(GCAM_CMAP_JET, up[i], c);
        CHECK_MSG(memcmp(out.px + 3 * i, c, 3) == 0, "pixel %d", i);
    }
    /* corners hold the heatmap's corner values */
    uint8_t c0[3], c3[3];
    gcam_colormap(GCAM_CMAP_JET, 0.0f, c0);
    gcam_colormap(GCAM_CMAP_JET, 1.0f, c3);
    CHECK(memcmp(pix(&out, 0, 0), c0, 3) == 0 && memcmp(pix(&out, 7, 5), c3, 3) == 0);
    gcam_image_free(&out);
    /* alpha 0.5: rounded mean */
    o.alpha = 0.5f;
    CHECK(gcam_overlay(&img, heat, 2, 2, &o, &out, &err) == GCAM_OK);
    for (int k = 0; k < 3; k++) CHECK(abs(pix(&out, 0, 0)[k] - (pix(&img, 0, 0)[k] + c0[k] + 1) / 2) <= 0);
    gcam_image_free(&out);
    o.alpha = 1.5f;
    CHECK(gcam_overlay(&img, heat, 2, 2, &o, &out, &err) == GCAM_E_ARG);
    CHECK(out.px == NULL);
    gcam_image_free(&img);
}

GCAM_TEST(image_overlay_rect_and_pgc)
{
    gcam_err err = {0};
    gcam_image img = {0}, out = {0};
    CHECK(gcam_image_alloc(&img, 10, 4, 3, &err) == GCAM_OK);
    memset(img.px, 100, 10 * 4 * 3);
    const float heat[1] = {1.0f};
    gcam_overlay_opts o;
    gcam_overlay_opts_default(&o);
    o.alpha = 1;
    /* heat only on columns 2..5 */
    CHECK(gcam_overlay_rect(&img, heat, 1, 1, (gcam_rect){2, 0, 4, 4}, &o, &out, &err) == GCAM_OK);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 10; x++) {
            int inside = x >= 2 && x < 6;
            CHECK_MSG(inside ? near3(pix(&out, x, y), 128, 0, 0, 0) : near3(pix(&out, x, y), 100, 100, 100, 0),
                      "(%d,%d)", x, y);
        }
    gcam_image_free(&out);
    /* pytorch-grad-cam show_cam_on_image: (0.5*jet + 0.5*img)/max, truncated */
    o.alpha = 0.5f;
    o.pgc_compat = 1;
    CHECK(gcam_overlay_rect(&img, heat, 1, 1, (gcam_rect){0, 0, 10, 4}, &o, &out, &err) == GCAM_OK);
    float r = 0.5f * (128 / 255.0f) + 0.5f * (100 / 255.0f), g = 0.5f * 0 + 0.5f * (100 / 255.0f);
    float mx = r; /* red is the largest channel */
    CHECK(pix(&out, 3, 1)[0] == (uint8_t)(255.0f * (r / mx)));
    CHECK(pix(&out, 3, 1)[1] == (uint8_t)(255.0f * (g / mx)));
    CHECK(pix(&out, 3, 1)[0] == 255);
    gcam_image_free(&out);
    /* colourised heatmap alone */
    CHECK(gcam_heatmap_colorize(heat, 1, 1, GCAM_CMAP_GRAY, &out, &err) == GCAM_OK);
    CHECK(out.w == 1 && near3(out.px, 255, 255, 255, 0));
    gcam_image_free(&out);
    gcam_image_free(&img);
}

GCAM_TEST(image_preprocess_rect_maps_back)
{
    /* A heatmap that is 1 exactly on the model input maps, through the plan's
     * rect, onto the centre-cropped part of the photo and nowhere else. */
    gcam_preproc pp;
    gcam_preproc_imagenet(&pp);
    gcam_preproc_plan plan;
    gcam_err err = {0};
    CHECK(gcam_preproc_make_plan(&pp, 512, 256, &plan, &err) == GCAM_OK);
    /* 512x256 -> 512x256 (short side already 256), crop 224 at (144, 16) */
    CHECK(plan.resize_w == 512 && plan.crop_x == 144 && plan.crop_y == 16);
    float heat[4] = {1, 1, 1, 1};
    float *map = malloc(sizeof(float) * 512 * 256);
    gcam_heatmap_resample_rect(heat, 2, 2, plan.src_rect, map, 512, 256, -1.0f);
    CHECK(map[16 * 512 + 143] == -1.0f && map[16 * 512 + 144] == 1.0f);
    CHECK(map[16 * 512 + 367] == 1.0f && map[16 * 512 + 368] == -1.0f);
    CHECK(map[15 * 512 + 200] == -1.0f && map[239 * 512 + 200] == 1.0f && map[240 * 512 + 200] == -1.0f);
    free(map);
}

/* ---- grid ---------------------------------------------------------------- */

GCAM_TEST(image_grid_layout)
{
    gcam_err err = {0};
    gcam_image tiles[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        CHECK(gcam_image_alloc(&tiles[i], 40, 20, 3, &err) == GCAM_OK);
        memset(tiles[i].px, 60 * (i + 1), 40 * 20 * 3);
    }
    const char *labels[3] = {"cat 0.93", NULL, "Dog"};
    gcam_image out = {0};
    CHECK(gcam_image_grid(tiles, 3, 0, labels, 2, &out, &err) == GCAM_OK);
    /* 2 columns, 2 rows, 11-pixel caption bands */
    CHECK(out.w == 2 * 40 + 3 * 2 && out.h == 2 * (20 + 11) + 3 * 2);
    CHECK(near3(pix(&out, 0, 0), 255, 255, 255, 0));   /* gutter */
    CHECK(near3(pix(&out, 2, 2), 60, 60, 60, 0));      /* tile 0 */
    CHECK(near3(pix(&out, 44, 2), 120, 120, 120, 0));  /* tile 1 */
    CHECK(near3(pix(&out, 2, 35), 180, 180, 180, 0));  /* tile 2 */
    int ink = 0;
    for (int y = 22; y < 33; y++)
        for (int x = 2; x < 42; x++) ink += pix(&out, x, y)[0] == 0;
    CHECK(ink > 20); /* caption drawn under tile 0 */
    gcam_image_free(&out);
    gcam_image odd = {0};
    CHECK(gcam_image_alloc(&odd, 10, 10, 3, &err) == GCAM_OK);
    gcam_image mixed[2] = {tiles[0], odd};
    CHECK(gcam_image_grid(mixed, 2, 2, NULL, 0, &out, &err) == GCAM_E_ARG);
    gcam_image_free(&odd);
    for (int i = 0; i < 3; i++) gcam_image_free(&tiles[i]);
}
