/* targets.h - explain's weighted targets (targets.c). */
#ifndef CLI_TARGETS_H
#define CLI_TARGETS_H
#include <stdint.h>

#include "gcam.h"
#include "gcam_image.h"

#define CLI_MAX_INDICES 256

typedef struct cli_targets {
    int any;              /* one of the options below was given */
    const char *mask;     /* --target-mask */
    int64_t index[CLI_MAX_INDICES];
    int n_index;          /* --target-index I,J,... (two or more) */
    int64_t klass;        /* --target-class, -1 none */
    int region, region_all;
    double box[4];        /* --target-region x0,y0,x1,y1 in input pixels */
    int64_t top;          /* --target-top K, 0 none */
    int64_t step;         /* --target-step T, -1 none */
    int all_steps;        /* --target-step all */
    float *weights;       /* built by cli_build_target, owned here */
} cli_targets;

void cli_targets_init(cli_targets *t);
void cli_targets_free(cli_targets *t);
/* 1: a is none of the target options; 0: parsed; 2: bad value (message printed). */
int cli_parse_target_opt(const char *a, int argc, char **argv, int *i, cli_targets *t);
/* Runs the model on x and sets eo->target_weights; 0, or non-zero after printing the error. */
int cli_build_target(gcam_model *m, const gcam_array *x, cli_targets *t, gcam_explain_opts *eo);
/* What the model saw: gcam_render_input in the layout of m's image input. */
int cli_render_input(gcam_model *m, const gcam_array *x, gcam_rgb *out, gcam_error *e);
/* --target-step all: one explanation per step of an N x T x V output (each
 * step's top token, named by labels[token] where there are n_labels), stacked
 * into save (T x H x W .npy) and drawn as a strip (out_png); either may be
 * NULL.  0, or non-zero after printing the error. */
int cli_explain_steps(gcam_model *m, const gcam_array *x, cli_targets *t, gcam_explain_opts *eo, const char *save,
                      const char *out_png, const char *cmap, double alpha, int quiet, char *const *labels, int n_labels);
#endif
