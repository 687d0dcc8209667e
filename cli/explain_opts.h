/* explain_opts.h - the options of `explain` that choose what a map explains
 * and how (method, layers, layout, target, method settings): one table
 * (explain_opts.c), parsed the same way by every command that makes maps
 * (explain, batch, sanity, report). */
#ifndef GCAM_CLI_EXPLAIN_OPTS_H
#define GCAM_CLI_EXPLAIN_OPTS_H
#include <stdio.h>

#include "gcam.h"
#include "opts.h"

#define CLI_MAX_LAYERS GCAM_MAX_LAYERS
#define CLI_MAX_METHODS GCAM_METHOD_COUNT

typedef struct cli_explain_opts {
    gcam_explain_opts eo;
    const char *layers[CLI_MAX_LAYERS];
    int n_layers;
    const char *target;      /* index, "top1" or a label; NULL = top1 */
    const char *labels_file;
    const char *methods;     /* comma-separated list */
    long target_index;
    int seed_given;
    const char *sg_noise_file; /* --sg-noise-file: SmoothGrad's draws (.npy), set on the model */
    int ablation_rerun;        /* --ablation-rerun (benchmarks): the model setting */
} cli_explain_opts;

/* The rows (offsets into cli_explain_opts); commands add their own aliases. */
extern const cli_opt CLI_EXPLAIN_OPTS[];

void cli_explain_defaults(cli_explain_opts *o, const char *methods);
/* Consumes an option at argv[*i]: 1 if used, 0 if not ours, -1 after printing an error. */
int cli_explain_option(cli_explain_opts *o, int argc, char **argv, int *i, const char *usage);
/* Splits o->methods into ids (at most CLI_MAX_METHODS); prints and returns -1 on an unknown name. */
int cli_explain_methods(const cli_explain_opts *o, int *ids, const char *usage);
/* Sets o->eo's layers and target for model m (labels, when the target is a
 * name).  Prints and returns 1 on error. */
int cli_explain_resolve(cli_explain_opts *o, gcam_model *m, char **labels, int n_labels);
/* "TITLE:" (NULL: "map options (as for `gradcam explain`)") and a line per option. */
void cli_explain_help(FILE *f, const char *title);
/* The bundled sample used without an input (models/samples/scene_01.png), or NULL. */
const char *cli_default_sample(void);
/* The bundled samples folder (models/samples), or NULL. */
const char *cli_samples_dir(void);
#endif
