/* report_html.h - the pieces of `gradcam report`'s HTML page: escaped text,
 * images inline as data: URIs, line plots as inline SVG.  Nothing refers to
 * anything outside the page. */
#ifndef GCAM_CLI_REPORT_HTML_H
#define GCAM_CLI_REPORT_HTML_H
#include <stdio.h>

#include "gcam_eval.h"

/* s with &, <, >, " and ' escaped. */
void html_text(FILE *f, const char *s);
/* <img src="data:image/png;base64,..." alt=ALT width height>; prints and returns 1 on error. */
int html_img(FILE *f, gcam_model *m, const gcam_rgb *img, const char *alt);

typedef struct plot_series {
    const char *name;
    const double *x, *y; /* n points; x NULL: evenly spaced over [0, 1] */
    int n;
    const char *color;   /* CSS colour */
    int dashed;
} plot_series;

/* An inline SVG line plot with a title and a description for screen
 * readers, axes from (x0, y0) to (x1, y1), and a legend. */
void svg_plot(FILE *f, const char *id, const char *title, const char *desc, const plot_series *s, int n,
              double x0, double x1, double y0, double y1, const char *xlabel, const char *ylabel);
#endif
