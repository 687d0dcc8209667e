/* sanity_fig.h - the figure of `gradcam sanity --out` (the paper's figure 2). */
#ifndef GCAM_CLI_SANITY_FIG_H
#define GCAM_CLI_SANITY_FIG_H
#include "gcam_eval.h"

/* One row per method: the trained model's map, then the map after each
 * cascading step; below, one plot per method of the similarity measures
 * against the step.  photo NULL: the maps alone.  Prints errors; 0 or 1. */
int cli_sanity_figure(gcam_model *m, const gcam_photo *photo, const char *const *names,
                      gcam_sanity_result *const *res, int n, const char *path);
#endif
