/* grid.c - lay several overlays out side by side with short captions.
 *
 * Captions use a built-in 5x7 bitmap font so that gradcam needs no font
 * library: upper-case letters, digits and common punctuation; lower case is
 * drawn as upper case and anything else as '?'.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

typedef struct glyph {
    char ch;
    const char *rows[7]; /* '#' = ink */
} glyph;

static const glyph font[] = {
    {' ', {".....", ".....", ".....", ".....", ".....", ".....", "....."}},
    {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
    {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
    {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
    {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
    {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
    {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
    {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
    {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
    {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
    {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
    {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
    {'D', {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
    {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
    {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
    {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
    {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
    {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
    {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
    {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
    {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
    {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
    {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
    {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
    {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
    {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
    {',', {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."}},
    {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
    {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
    {'_', {".....", ".....", ".....", ".....", ".....", ".....", "#####"}},
    {'(', {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."}},
    {')', {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."}},
    {'%', {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"}},
    {'/', {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."}},
    {'=', {".....", ".....", "#####", ".....", "#####", ".....", "....."}},
    {'+', {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."}},
    {'\'', {".##..", "..#..", ".#...", ".....", ".....", ".....", "....."}},
    {'!', {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."}},
    {'#', {".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."}},
    {'*', {".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."}},
    {'?', {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."}},
};

static const glyph *find_glyph(char ch)
{
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    const glyph *unknown = NULL;
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++) {
        if (font[i].ch == ch) return &font[i];
        if (font[i].ch == '?') unknown = &font[i];
    }
    return unknown;
}

/* Draws text in black with its top-left at (x, y), each font pixel a
 * scale x scale block, clipped to [x, x_end) and the image. */
static void draw_text(gcam_image *img, int x, int y, int x_end, int scale, const char *text)
{
    for (const char *p = text; *p; p++, x += 6 * scale) {
        if (x + 5 * scale > x_end) break; /* a cut glyph reads worse than none */
        const glyph *g = find_glyph(*p);
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 5; c++) {
                if (g->rows[r][c] != '#') continue;
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++) {
                        int px = x + c * scale + dx, py = y + r * scale + dy;
                        if (px < 0 || py < 0 || px >= img->w || py >= img->h) continue;
                        memset(img->px + ((size_t)py * img->w + px) * 3, 0, 3);
                    }
            }
    }
}

int gcam_image_grid(const gcam_image *tiles, int n, int cols, const char *const *labels, int pad,
                    gcam_image *out, gcam_err *e)
{
    *out = (gcam_image){0};
    if (!tiles || n <= 0) return gcam_errf(e, GCAM_E_ARG, "grid: no tiles");
    int tw = tiles[0].w, th = tiles[0].h;
    for (int i = 0; i < n; i++)
        if (!tiles[i].px || tiles[i].c != 3 || tiles[i].w != tw || tiles[i].h != th)
            return gcam_errf(e, GCAM_E_ARG, "grid: tile %d is not a %dx%d RGB image", i, tw, th);
    if (pad < 0) pad = 0;
    if (cols <= 0) cols = (int)ceil(sqrt((double)n));
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int have_labels = 0;
    for (int i = 0; labels && i < n; i++) have_labels |= labels[i] && labels[i][0];
    /* Captions stay legible on big tiles without crowding small ones. */
    int scale = tw >= 200 ? 2 : 1;
    int band = have_labels ? 7 * scale + 4 : 0;
    int64_t W = (int64_t)cols * tw + (int64_t)(cols + 1) * pad;
    int64_t H = (int64_t)rows * (th + band) + (int64_t)(rows + 1) * pad;
    if (W > INT32_MAX || H > INT32_MAX || W * H > GCAM_IMAGE_MAX_PIXELS)
        return gcam_errf(e, GCAM_E_RANGE, "grid: %lldx%lld pixels is too large", (long long)W,
                         (long long)H);
    int rc = gcam_image_alloc(out, (int)W, (int)H, 3, e);
    if (rc) return rc;
    memset(out->px, 255, (size_t)W * H * 3);
    for (int i = 0; i < n; i++) {
        int x0 = pad + (i % cols) * (tw + pad), y0 = pad + (i / cols) * (th + band + pad);
        for (int y = 0; y < th; y++)
            memcpy(out->px + ((size_t)(y0 + y) * W + x0) * 3, tiles[i].px + (size_t)y * tw * 3,
                   (size_t)tw * 3);
        if (labels && labels[i]) {
            size_t slen = strlen(labels[i]);
            int len = slen > 1024 ? 1024 : (int)slen; /* keeps text_w in range */
            int text_w = len * 6 * scale - scale;
            int tx = text_w < tw ? x0 + (tw - text_w) / 2 : x0;
            draw_text(out, tx, y0 + th + 2, x0 + tw, scale, labels[i]);
        }
    }
    return GCAM_OK;
}
