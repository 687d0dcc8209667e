/* sanity_fig.c - the figure of `gradcam sanity --out`, laid out like
 * figure 2 of Adebayo et al.: a row of maps per method (trained model, then
 * after each cascading step) and the similarity curves below. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sanity_fig.h"

#define FIG_MAX_W 4096 /* wider rows get smaller tiles (resnet50 has 54 layers) */
#define PLOT_W 360
#define PLOT_H 220
#define PLOT_M 18
#define Y_LO (-0.25)
#define Y_HI 1.0

static const unsigned char CURVE_RGB[3][3] = {{214, 39, 40}, {44, 160, 44}, {31, 119, 180}};

static void put(gcam_rgb *img, int x, int y, const unsigned char *c)
{
    if (x < 0 || y < 0 || x >= img->w || y >= img->h) return;
    memcpy(img->px + ((size_t)y * img->w + x) * 3, c, 3);
}

/* A line two pixels thick, by steps of at most one pixel. */
static void line(gcam_rgb *img, double x0, double y0, double x1, double y1, const unsigned char *c)
{
    double dx = x1 - x0, dy = y1 - y0, len = abs((int)dx) > abs((int)dy) ? abs((int)dx) : abs((int)dy);
    int n = (int)len + 1;
    for (int i = 0; i <= n; i++) {
        double t = (double)i / n;
        int x = (int)(x0 + t * dx + 0.5), y = (int)(y0 + t * dy + 0.5);
        put(img, x, y, c);
        put(img, x + 1, y, c);
        put(img, x, y + 1, c);
    }
}

static double py(double v) { return PLOT_M + (Y_HI - v) / (Y_HI - Y_LO) * (PLOT_H - 2 * PLOT_M); }

/* One method's curves: step 0 is the trained model (similarity 1). */
static int plot(const gcam_sanity_result *r, gcam_rgb *out)
{
    out->w = PLOT_W;
    out->h = PLOT_H;
    out->px = malloc((size_t)PLOT_W * PLOT_H * 3);
    if (!out->px) return cli_fail("out of memory");
    memset(out->px, 255, (size_t)PLOT_W * PLOT_H * 3);
    static const unsigned char grey[3] = {120, 120, 120}, light[3] = {215, 215, 215};
    const double x0 = PLOT_M, x1 = PLOT_W - PLOT_M;
    line(out, x0, py(1), x1, py(1), light);
    line(out, x0, py(0.5), x1, py(0.5), light);
    line(out, x0, py(0), x1, py(0), grey);
    line(out, x0, py(Y_LO), x0, py(Y_HI), grey);
    int n = r->n_cascading;
    for (int k = 0; k < 3 && n > 0; k++) {
        double px = x0, pv = 1;
        for (int s = 0; s < n; s++) {
            const gcam_sanity_step *st = &r->cascading[s];
            double v = k == 0 ? st->spearman_abs : k == 1 ? st->ssim : st->hog;
            v = v < Y_LO ? Y_LO : v > Y_HI ? Y_HI : v;
            double x = x0 + (x1 - x0) * (s + 1) / n;
            line(out, px, py(pv), x, py(v), CURVE_RGB[k]);
            px = x;
            pv = v;
        }
    }
    return 0;
}

/* "/layer4/conv2/Conv" -> "layer4/conv2": the op type says nothing here. */
static void short_name(const char *s, char *buf, size_t cap)
{
    if (s[0] == '/') s++;
    snprintf(buf, cap, "%s", s);
    char *slash = strrchr(buf, '/');
    if (slash && slash != buf) *slash = 0;
}

static int map_rows(gcam_model *m, const gcam_photo *photo, const char *const *names, gcam_sanity_result *const *res,
                    int n, gcam_rgb *out)
{
    int cols = 1;
    for (int k = 0; k < n; k++) cols = res[k]->n_cascading + 1 > cols ? res[k]->n_cascading + 1 : cols;
    int nt = n > 0 ? n * cols : 1, rc = 0;
    gcam_rgb *tiles = calloc((size_t)nt, sizeof *tiles);
    char(*lab)[48] = calloc((size_t)nt, sizeof *lab);
    const char **labels = calloc((size_t)nt, sizeof *labels);
    if (!tiles || !lab || !labels) rc = cli_fail("out of memory");
    for (int k = 0; k < n && !rc; k++)
        for (int c = 0; c < cols && !rc; c++) {
            gcam_rgb *t = &tiles[k * cols + c];
            const gcam_sanity_result *r = res[k];
            labels[k * cols + c] = lab[k * cols + c];
            if (c > r->n_cascading) { /* fewer steps than another method: blank */
                *t = (gcam_rgb){.w = tiles[k * cols].w, .h = tiles[k * cols].h};
                t->px = malloc((size_t)t->w * t->h * 3);
                if (!t->px) rc = cli_fail("out of memory");
                else memset(t->px, 255, (size_t)t->w * t->h * 3);
                continue;
            }
            const float *map = c ? r->cascading_maps[c - 1] : r->original;
            gcam_rgb full = {0};
            if (gcam_render_overlay(m, photo, map, r->h, r->w, "jet", 0.5f, 0, &full))
                rc = cli_fail("%s", gcam_model_errmsg(m));
            else if (cols * full.w > FIG_MAX_W) {
                int tw = FIG_MAX_W / cols < 48 ? 48 : FIG_MAX_W / cols, th = (int)((long)full.h * tw / full.w);
                if (gcam_render_resize(m, &full, tw, th > 0 ? th : 1, t)) rc = cli_fail("%s", gcam_model_errmsg(m));
                gcam_rgb_free(&full);
            } else *t = full;
            if (c == 0) snprintf(lab[k * cols], sizeof lab[0], "%s", names[k]);
            else short_name(r->cascading[c - 1].step, lab[k * cols + c], sizeof lab[0]);
        }
    if (!rc && gcam_render_grid(m, tiles, nt, cols, labels, 4, out)) rc = cli_fail("%s", gcam_model_errmsg(m));
    for (int i = 0; tiles && i < nt; i++) gcam_rgb_free(&tiles[i]);
    free(tiles);
    free(lab);
    free(labels);
    return rc;
}

static int plot_row(gcam_model *m, const char *const *names, gcam_sanity_result *const *res, int n, gcam_rgb *out)
{
    gcam_rgb *tiles = calloc((size_t)n, sizeof *tiles);
    char(*lab)[96] = calloc((size_t)n, sizeof *lab);
    const char **labels = calloc((size_t)n, sizeof *labels);
    int rc = tiles && lab && labels ? 0 : cli_fail("out of memory");
    for (int k = 0; k < n && !rc; k++) {
        rc = plot(res[k], &tiles[k]);
        snprintf(lab[k], sizeof lab[0], "%s: r=rank g=ssim b=hog", names[k]);
        labels[k] = lab[k];
    }
    if (!rc && gcam_render_grid(m, tiles, n, n < 4 ? n : 4, labels, 4, out)) rc = cli_fail("%s", gcam_model_errmsg(m));
    for (int i = 0; tiles && i < n; i++) gcam_rgb_free(&tiles[i]);
    free(tiles);
    free(lab);
    free(labels);
    return rc;
}

int cli_sanity_figure(gcam_model *m, const gcam_photo *photo, const char *const *names,
                      gcam_sanity_result *const *res, int n, const char *path)
{
    gcam_rgb top = {0}, bottom = {0}, fig = {0};
    int rc = map_rows(m, photo, names, res, n, &top);
    if (!rc) rc = plot_row(m, names, res, n, &bottom);
    if (!rc) {
        fig.w = top.w > bottom.w ? top.w : bottom.w;
        fig.h = top.h + bottom.h;
        fig.px = malloc((size_t)fig.w * fig.h * 3);
        if (!fig.px) rc = cli_fail("out of memory");
    }
    if (!rc) {
        memset(fig.px, 255, (size_t)fig.w * fig.h * 3);
        for (int y = 0; y < top.h; y++) memcpy(fig.px + (size_t)y * fig.w * 3, top.px + (size_t)y * top.w * 3, (size_t)top.w * 3);
        for (int y = 0; y < bottom.h; y++)
            memcpy(fig.px + (size_t)(top.h + y) * fig.w * 3, bottom.px + (size_t)y * bottom.w * 3, (size_t)bottom.w * 3);
        if (gcam_png_save(m, &fig, path)) rc = cli_fail("%s", gcam_model_errmsg(m));
    }
    gcam_rgb_free(&top);
    gcam_rgb_free(&bottom);
    gcam_rgb_free(&fig);
    return rc;
}
