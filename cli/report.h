/* report.h - `gradcam report`'s settings and its page writer (report.c). */
#ifndef GCAM_CLI_REPORT_H
#define GCAM_CLI_REPORT_H
#include "explain_opts.h"
#include "gcam_eval.h"
#include "input.h"

#define REPORT_MAX_IMAGES 256

typedef struct report_args {
    const char *model, *out, *title, *sanity_methods, *auc_methods;
    const char **images, *image_buf[REPORT_MAX_IMAGES];
    char *owned[REPORT_MAX_IMAGES];
    int n_images, n_owned;
    long top, steps, threads;
    double sigma, threshold;
    int sanity, granularity, quiet;
    int methods[CLI_MAX_METHODS], n_methods;
    int sanity_ids[CLI_MAX_METHODS], n_sanity;
    int auc_ids[CLI_MAX_METHODS], n_auc;
    cli_input_opts io;
    cli_explain_opts xo;
} report_args;

/* Writes the page to a->out (through a temporary file).  Prints errors; 0 or 1. */
int report_write(report_args *a);
#endif
