/* report_html.c - escaped text, inline images and SVG plots for the report. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report_html.h"

void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {T[v >> 18 & 63], T[v >> 12 & 63], i + 1 < n ? T[v >> 6 & 63] : '=', i + 2 < n ? T[v & 63] : '='};
        fwrite(q, 1, 4, f);
    }
}

int html_img(FILE *f, gcam_model *m, const gcam_rgb *img, const char *alt)
{
    unsigned char *png;
    size_t len;
    /* photographs and maps over them: JPEG is a tenth of the PNG's size */
    if (gcam_jpeg_encode(m, img, 88, &png, &len)) return cli_fail("%s", gcam_model_errmsg(m));
    fputs("<img src=\"data:image/jpeg;base64,", f);
    base64(f, png, len);
    fputs("\" alt=\"", f);
    html_text(f, alt);
    fprintf(f, "\" width=\"%d\" height=\"%d\">", img->w, img->h);
    gcam_mem_free(png);
    return 0;
}

#define PW 520
#define PH 300
#define ML 56
#define MR 16
#define MT 16
#define MB 44

static double sx(double x, double x0, double x1) { return ML + (x - x0) / (x1 - x0) * (PW - ML - MR); }
static double sy(double y, double y0, double y1) { return PH - MB - (y - y0) / (y1 - y0) * (PH - MT - MB); }

static void axes(FILE *f, double x0, double x1, double y0, double y1, const char *xlabel, const char *ylabel)
{
    for (int k = 0; k <= 4; k++) {
        double y = y0 + (y1 - y0) * k / 4, x = x0 + (x1 - x0) * k / 4;
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", ML, PW - MR, sy(y, y0, y1),
                sy(y, y0, y1));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.2g</text>", ML - 4,
                sy(y, y0, y1) + 4, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%.2g</text>", sx(x, x0, x1),
                PH - MB + 14, x);
    }
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>", ML, PW - MR, PH - MB, PH - MB);
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>", ML, ML, MT, PH - MB);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">", (ML + PW - MR) / 2, PH - MB + 30);
    html_text(f, xlabel);
    fprintf(f, "</text><text x=\"14\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 %d)\">",
            (MT + PH - MB) / 2, (MT + PH - MB) / 2);
    html_text(f, ylabel);
    fputs("</text>", f);
}

void svg_plot(FILE *f, const char *id, const char *title, const char *desc, const plot_series *s, int n,
              double x0, double x1, double y0, double y1, const char *xlabel, const char *ylabel)
{
    fprintf(f, "<svg class=\"plot\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
               "aria-labelledby=\"%s-t %s-d\"><title id=\"%s-t\">",
            PW, PH + 22 * ((n + 2) / 3), PW, PH + 22 * ((n + 2) / 3), id, id, id);
    html_text(f, title);
    fprintf(f, "</title><desc id=\"%s-d\">", id);
    html_text(f, desc);
    fputs("</desc>", f);
    axes(f, x0, x1, y0, y1, xlabel, ylabel);
    for (int k = 0; k < n; k++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", s[k].color,
                s[k].dashed ? " stroke-dasharray=\"6 4\"" : "");
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x ? s[k].x[i] : s[k].n > 1 ? x0 + (x1 - x0) * i / (s[k].n - 1) : x0;
            double y = s[k].y[i] < y0 ? y0 : s[k].y[i] > y1 ? y1 : s[k].y[i];
            fprintf(f, "%.1f,%.1f ", sx(x, x0, x1), sy(y, y0, y1));
        }
        fputs("\"/>", f);
        int lx = ML + (k % 3) * 150, ly = PH + 4 + 22 * (k / 3);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"%s/>", lx, lx + 22,
                ly + 6, ly + 6, s[k].color, s[k].dashed ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">", lx + 28, ly + 10);
        html_text(f, s[k].name);
        fputs("</text>", f);
    }
    fputs("</svg>", f);
}
