/* input.h - building the model input from --image or --input-tensor. */
#ifndef GCAM_CLI_INPUT_H
#define GCAM_CLI_INPUT_H
#include "gcam.h"

typedef struct cli_input_opts {
    const char *image;   /* PNG/JPEG path */
    const char *tensor;  /* .npy path: bypasses preprocessing */
    gcam_preprocess_opts pp;
} cli_input_opts;

typedef struct cli_input_info {
    gcam_photo *photo;   /* NULL for --input-tensor */
} cli_input_info;

void cli_input_defaults(cli_input_opts *o);
/* Consumes a preprocessing option at argv[*i]: 1 if used, 0 if not ours, -1 on error. */
int cli_input_option(cli_input_opts *o, int argc, char **argv, int *i);
/* Fills x (NCHW float32 from the image, or the .npy as is).  Prints errors; 0 or 1. */
int cli_make_input(const cli_input_opts *o, gcam_model *m, gcam_array *x, cli_input_info *info);
void cli_input_free(gcam_array *x, cli_input_info *info);
extern const char *CLI_INPUT_HELP;
#endif
