/* eval.h - measures of explanation quality: declared, with their
 * definitions, in include/gcam_eval.h (public since issue 11: `gradcam eval`
 * is a client of the library).  What stays here is internal shorthand. */
#ifndef GCAM_EVAL_H
#define GCAM_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "gcam_eval.h"
#include "gcam_internal.h"

typedef gcam_box gcam_ebox;

/* the score kinds under their older names (tests/unit/test_eval.c) */
enum { GCAM_EVAL_SOFTMAX = GCAM_SCORE_SOFTMAX, GCAM_EVAL_SIGMOID = GCAM_SCORE_SIGMOID, GCAM_EVAL_LOGIT = GCAM_SCORE_LOGIT };
static inline double gcam_eval_prob(const float *logits, int64_t n, int64_t c, int kind)
{
    return gcam_score(logits, n, c, kind);
}

/* The file-name part of a path (after the last '/'). */
const char *gcam_eval_basename(const char *path);

#endif
