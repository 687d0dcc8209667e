/* eval.h - measures of explanation quality (internal; used by `gradcam eval`).
 *
 * Every definition here is written out in docs/eval.md; the unit tests in
 * tests/unit/test_eval.c check each one on a case worked out by hand.
 *
 * Conventions shared by all functions:
 *  - A map is h x w floats, row-major, at the model input's resolution (what
 *    gcam_explanation_map returns).  Map pixel (i, j) - row i, column j -
 *    covers the continuous square [j, j+1) x [i, i+1); its centre is
 *    (j + 0.5, i + 0.5).
 *  - A box is half-open in continuous coordinates: [x0, x1) x [y0, y1).  A
 *    CSV box (x0, y0, x1, y1) with x1, y1 exclusive covers exactly the integer
 *    pixels x0 <= x < x1, y0 <= y < y1, i.e. those whose centres lie in it.
 *  - "Inside a box" means: the pixel's centre is inside the box.
 *  - Nothing here allocates unless it says so; failures are statuses.
 */
#ifndef GCAM_EVAL_H
#define GCAM_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "gcam_internal.h"

typedef struct gcam_ebox {
    double x0, y0, x1, y1; /* [x0, x1) x [y0, y1) */
} gcam_ebox;

/* ---- localisation (localise.c) -------------------------------------------- */

/* Index (i * w + j) of the first maximum in row-major order.  NaNs are never
 * the maximum; an all-NaN map gives 0. */
int64_t gcam_eval_argmax(const float *map, int h, int w);
/* Is (x, y) inside any of the n boxes?  tol >= 0 widens each box by tol
 * (Euclidean distance from the point to the box <= tol counts as inside;
 * tol = 0 is the plain half-open test). */
int gcam_eval_point_in_boxes(double x, double y, const gcam_ebox *boxes, int n, double tol);
/* Pointing game: 1 if the centre of the map's argmax pixel is inside a box
 * (with tolerance tol, in map pixels), else 0.  *arg (may be NULL) receives
 * the argmax index. */
int gcam_eval_pointing(const float *map, int h, int w, const gcam_ebox *boxes, int n, double tol,
                       int64_t *arg);
/* Energy-based pointing game: sum of the map over pixels inside the union of
 * the boxes / sum over all pixels.  Negative values count as 0 (the maps are
 * non-negative after ReLU anyway).  An all-zero map gives 0. */
double gcam_eval_energy(const float *map, int h, int w, const gcam_ebox *boxes, int n);
/* The Grad-CAM paper's box: keep pixels with map >= frac * max(map), take the
 * largest 8-connected component (ties: the one whose first pixel comes first
 * in row-major order), and return its bounding box in map pixels (integer
 * edges, x1/y1 exclusive) in *box.  Returns the component's pixel count
 * (0 when max(map) <= 0 or the map has no finite value: then *box is empty),
 * or a negative status (GCAM_E_NOMEM: it allocates h * w ints). */
int64_t gcam_eval_cam_box(const float *map, int h, int w, double frac, gcam_ebox *box);
/* Intersection over union of two boxes; 0 when the union is empty. */
double gcam_eval_iou(const gcam_ebox *a, const gcam_ebox *b);
/* The largest IoU of a with any of the n boxes (0 for n = 0). */
double gcam_eval_best_iou(const gcam_ebox *a, const gcam_ebox *boxes, int n);

/* Boxes between the photo's pixels and the model input's (W x H) pixels.
 * (rx, ry, rw, rh) is where the input sits on the photo (gcam_photo_rect):
 * u = (x - rx) * W / rw, v = (y - ry) * H / rh.  to_input clips the result
 * to the input [0, W) x [0, H) and returns 0 when nothing is left (the box
 * lies outside the model's crop), else 1. */
int gcam_eval_box_to_input(const gcam_ebox *img, double rx, double ry, double rw, double rh, int W, int H,
                           gcam_ebox *out);
gcam_ebox gcam_eval_box_to_image(const gcam_ebox *in, double rx, double ry, double rw, double rh, int W, int H);

/* ---- faithfulness (faithfulness.c) ---------------------------------------- */

/* Pixel order for deletion / insertion: order[0..n) is a permutation of
 * 0..n-1 by decreasing map value, ties by increasing index (row-major), NaN
 * last.  Allocates a temporary of n pairs: 0 or GCAM_E_NOMEM. */
int gcam_eval_rank(const float *map, int64_t n, int64_t *order);

/* Gaussian blur of a C x H x W tensor, each channel on its own: separable
 * kernel exp(-d^2 / (2 sigma^2)), radius ceil(3 sigma), taps falling outside
 * the image dropped and the rest renormalised (so a constant image stays
 * constant).  sigma <= 0 copies.  tmp holds H * W floats.  out must not alias x. */
void gcam_eval_blur(const float *x, int C, int H, int W, double sigma, float *out, float *tmp);

/* The model's score of the current input, written to *score: 0 or a status. */
typedef int (*gcam_eval_score_fn)(void *ctx, const float *x, double *score);

/* Deletion (insertion = 0) or insertion (insertion = 1) curve of Petsiuk et
 * al. (RISE).  x and baseline are C x H x W; order ranks the H * W pixels
 * (gcam_eval_rank).  Step k = 0..steps changes the first
 * n_k = floor(k * H * W / steps) pixels of the order, every channel:
 * deletion starts from x and sets them to the baseline, insertion starts
 * from the baseline and sets them to x.  After each step the score is taken:
 * curve[k] = score, frac[k] = n_k / (H * W) (both steps + 1 long).
 * work holds C * H * W floats.  Returns 0 or the score function's status. */
int gcam_eval_curve(const float *x, const float *baseline, int C, int H, int W, const int64_t *order,
                    int steps, int insertion, gcam_eval_score_fn fn, void *ctx, float *work,
                    double *curve, double *frac);
/* Trapezoidal area under y(x) over n points (x increasing); 0 for n < 2. */
double gcam_eval_auc(const double *x, const double *y, int n);

/* The Grad-CAM++ masked input: out = x * map, the map (H x W, in [0, 1])
 * broadcast over the C channels of the model-input tensor x. */
void gcam_eval_mask_input(const float *x, const float *map, int C, int H, int W, float *out);
/* Average Drop (percent): 100/n * sum_i max(0, Y_i - O_i) / Y_i, over the
 * items with Y_i > 0 (n counts those).  0 for no such item. */
double gcam_eval_average_drop(const double *Y, const double *O, int n);
/* Average Increase in confidence (percent): 100/n * #{i : O_i > Y_i}. */
double gcam_eval_average_increase(const double *Y, const double *O, int n);

/* How a model's output becomes the target's score. */
enum {
    GCAM_EVAL_SOFTMAX = 0, /* softmax over the class axis (single-label classifiers) */
    GCAM_EVAL_SIGMOID = 1, /* sigmoid of the logit (multi-label classifiers) */
    GCAM_EVAL_LOGIT = 2,   /* the raw output */
};
/* Score of class c from n logits, in double. */
double gcam_eval_prob(const float *logits, int64_t n, int64_t c, int kind);

/* ---- boxes.csv (boxes.c) -------------------------------------------------- */

typedef struct gcam_box_rec {
    char *image;   /* the file name as written in the CSV */
    int64_t cls;   /* class index */
    gcam_ebox box; /* in the image's pixel coordinates */
    int line;      /* 1-based line in the file, for messages */
} gcam_box_rec;

typedef struct gcam_boxes {
    gcam_box_rec *v;
    int n;
} gcam_boxes;

/* Reads "image,label,x0,y0,x1,y1" (header line required; blank lines, a
 * UTF-8 BOM and CRLF tolerated; fields may be double-quoted).  label is a
 * class name from labels[0..n_labels) or, when the model has no labels, a
 * class index in [0, n_classes) (n_classes <= 0: unchecked).  Coordinates are
 * decimal numbers.  Errors are one line naming the file and the line:
 * GCAM_E_IO (missing file), GCAM_E_PARSE (bad header, field count,
 * non-numeric or non-finite coordinate, empty box), GCAM_E_NOTFOUND (unknown
 * label).  On success *out owns its memory (gcam_boxes_free). */
int gcam_boxes_load(const char *path, const char *const *labels, int n_labels, int64_t n_classes,
                    gcam_boxes *out, gcam_err *e);
/* Same from memory; name is used in messages. */
int gcam_boxes_parse(const char *text, size_t len, const char *name, const char *const *labels,
                     int n_labels, int64_t n_classes, gcam_boxes *out, gcam_err *e);
void gcam_boxes_free(gcam_boxes *b);
/* GCAM_E_RANGE "<name>:<line>: box ... is outside the WxH image <image>"
 * unless 0 <= x0 < x1 <= img_w and 0 <= y0 < y1 <= img_h. */
int gcam_boxes_check(const gcam_box_rec *r, const char *name, int img_w, int img_h, gcam_err *e);
/* The file-name part of a path (after the last '/'). */
const char *gcam_eval_basename(const char *path);

#endif
