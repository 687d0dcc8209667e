/* input.h - building the model input from --image or --input-tensor. */
#ifndef GCAM_CLI_INPUT_H
#define GCAM_CLI_INPUT_H
#include "gcam.h"

#define CLI_MAX_EXTRA 16

typedef struct cli_input_opts {
    const char *image;   /* PNG/JPEG path */
    const char *tensor;  /* .npy path: bypasses preprocessing */
    /* --input NAME=FILE.npy: the model's other inputs */
    const char *extra_name[CLI_MAX_EXTRA], *extra_path[CLI_MAX_EXTRA];
    int n_extra;
    gcam_preprocess_opts pp;
} cli_input_opts;

typedef struct cli_input_info {
    gcam_photo *photo;   /* NULL for --input-tensor */
} cli_input_info;

void cli_input_defaults(cli_input_opts *o);
/* Consumes a preprocessing option at argv[*i]: 1 if used, 0 if not ours, -1 on error. */
int cli_input_option(cli_input_opts *o, int argc, char **argv, int *i);
/* Feeds the --input arrays to m (gcam_model_set_input), then fills x (float32
 * in the model's layout from the image, or the .npy as is).  Prints errors; 0 or 1. */
int cli_make_input(const cli_input_opts *o, gcam_model *m, gcam_array *x, cli_input_info *info);
void cli_input_free(gcam_array *x, cli_input_info *info);
extern const char *CLI_INPUT_HELP;
#endif
