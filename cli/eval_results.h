/* eval_results.h - `gradcam eval --results OUT/results.jsonl`: the maps a
 * `gradcam batch --save-npy` run already wrote, looked up by (image file
 * name, class, method) instead of explaining again. */
#ifndef GCAM_CLI_EVAL_RESULTS_H
#define GCAM_CLI_EVAL_RESULTS_H
#include <stdint.h>

#include "gcam.h"

typedef struct eval_result {
    char *base;    /* the image's file name (boxes.csv names images so) */
    char *method;
    char *map;     /* path of the .npy, resolved against the results file's folder */
    int64_t target;
} eval_result;

typedef struct eval_results {
    eval_result *v;
    int n;
} eval_results;

/* Reads the lines with a map and no error.  Prints the error; 0 or 1. */
int eval_results_load(const char *file, eval_results *r);
void eval_results_free(eval_results *r);
/* Loads the H x W map of (image file name, class, method) into a (free with
 * gcam_array_free).  Prints the error (none found, unreadable, not 2-D); 0 or 1. */
int eval_results_map(const eval_results *r, gcam_model *m, const char *base, int64_t cls, const char *method,
                     gcam_array *a);
#endif
