/* input.h - building the model input from --image or --input-tensor. */
#ifndef GCAM_CLI_INPUT_H
#define GCAM_CLI_INPUT_H
#include "gcam.h"
#include "image/image.h"

typedef struct cli_input_opts {
    const char *image;   /* PNG/JPEG path */
    const char *tensor;  /* .npy path: bypasses preprocessing */
    const char *preset;  /* "imagenet" (default unless the model says otherwise) or "none" */
    int size_h, size_w;  /* --size: model input H, W (0 = from the model) */
    int has_mean, has_std, no_crop, no_exif;
    float mean[3], std[3];
} cli_input_opts;

typedef struct cli_input_info {
    int has_photo;
    gcam_image photo;    /* the decoded image, for overlays */
    gcam_rect rect;      /* the model input's footprint on the photo */
    int in_h, in_w;      /* model input spatial size */
} cli_input_info;

void cli_input_defaults(cli_input_opts *o);
/* Consumes a preprocessing option at argv[*i]: 1 if used, 0 if not ours, -1 on error. */
int cli_input_option(cli_input_opts *o, int argc, char **argv, int *i);
/* Fills x (malloc'd data, NCHW float32 or the .npy as is).  Prints errors; 0 or 1. */
int cli_make_input(const cli_input_opts *o, gcam_model *m, gcam_array *x, cli_input_info *info);
void cli_input_free(gcam_array *x, cli_input_info *info);
extern const char *CLI_INPUT_HELP;
#endif
