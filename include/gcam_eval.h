/* gcam_eval.h - can I trust this map?  Sanity checks, similarity measures,
 * faithfulness curves and every measure of `gradcam eval` (localisation,
 * deletion/insertion, Average Drop), for C clients (the CLI's `sanity`,
 * `report` and `eval`, the Python package).  Drawing is in gcam_image.h
 * (included).  Every number is defined in docs/eval.md.
 *
 *   gcam_sanity_result *r;
 *   gcam_sanity_opts so; gcam_sanity_opts_default(&so);
 *   gcam_sanity_run(m, &x, &eo, &so, &r);           // Adebayo et al. 2018, cascading + independent
 *   printf("%s: %.3f\n", r->cascading[r->n_cascading - 1].step,
 *          r->cascading[r->n_cascading - 1].spearman_abs);
 *   int pass = gcam_sanity_verdict(r, GCAM_SANITY_MEAN, 0.5); // 1: the map depends on the weights
 *   gcam_sanity_free(r);
 *
 * Conventions: maps are h x w floats, row-major.  Functions return a status
 * from GCAM_STATUS_LIST; a message goes to the model handle when one is
 * passed, else to the gcam_error the call takes (boxes.csv; NULL allowed).
 * The measures are pure functions of their arguments: thread-safe, no
 * allocation unless they say so.  The model's weights are changed in place by
 * gcam_model_randomize_layer and come back with gcam_model_restore_layers;
 * gcam_sanity_run always restores them before it returns. */
#ifndef GCAM_EVAL_PUBLIC_H
#define GCAM_EVAL_PUBLIC_H

#include "gcam.h"
#include "gcam_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- parameterised layers --------------------------------------------------
 * Nodes whose weights are constants of the model, in execution order:
 * Conv and ConvTranspose (W), Gemm (B), MatMul with a constant second
 * operand, BatchNormalization, InstanceNormalization and LayerNormalization
 * (their scale).  Only float32 initializers count. */
typedef struct gcam_param_layer {
    const char *node;    /* node name (or "#<index>" when the node has none) */
    const char *op_type;
    const char *block;   /* first component of the node's "/"-separated name: the
                            top-level module of a PyTorch export ("layer1");
                            the node name itself when it has no "/" */
    const char *weight;  /* the tensor re-drawn */
    const char *bias;    /* the tensor set to 0 (Conv/Gemm bias, normalisation
                            shift), or NULL */
    int64_t fan_in;      /* inputs per output unit: C/group * kernel for Conv,
                            K for Gemm/MatMul, 1 for normalisation scales */
    int64_t n_params;    /* elements of weight + bias */
    int randomized;      /* currently re-drawn */
} gcam_param_layer;

/* Lists the layers; *layers is owned by m and valid until m is freed. */
GCAM_API int gcam_model_param_layers(gcam_model *m, const gcam_param_layer **layers, int *n);
/* Re-draws layer i as at initialisation (the rule of docs/eval.md):
 * weight ~ normal(0, s) truncated to [-2s, 2s] by redrawing, s = 1/sqrt(fan_in)
 * (normalisation scales: s = 1); bias = 0.  The draw depends only on seed
 * and i (SplitMix64 seeded with seed ^ (i+1) * 0x9E3779B97F4A7C15), so it is
 * the same whatever else was randomised before.  The originals are kept and
 * every cache built from the weights (fused convolutions and their oneDNN
 * primitives, the linear-head sums) is rebuilt at the next run. */
GCAM_API int gcam_model_randomize_layer(gcam_model *m, int i, uint64_t seed);
/* Puts back the trained weights of every randomised layer. */
GCAM_API int gcam_model_restore_layers(gcam_model *m);
/* Elements of all float32 initializers (the model's parameter count). */
GCAM_API int64_t gcam_model_param_count(gcam_model *m);
/* Facts from the ONNX file: producer name and version ("" when absent), IR
 * version and the default domain's opset.  Strings owned by m. */
GCAM_API const char *gcam_model_producer(const gcam_model *m);
GCAM_API int64_t gcam_model_opset(const gcam_model *m);
GCAM_API int64_t gcam_model_ir_version(const gcam_model *m);

/* ---- similarity between two maps -------------------------------------------
 * NaN-free inputs assumed.  A correlation with a constant input is 0. */
/* Pearson correlation of n values (in double). */
GCAM_API double gcam_sim_pearson(const float *a, const float *b, int64_t n);
/* Spearman rank correlation: Pearson of the ranks, ties given their average
 * rank (scipy.stats.spearmanr). */
GCAM_API double gcam_sim_spearman(const float *a, const float *b, int64_t n);
/* Mean structural similarity (Wang et al. 2004) as skimage's
 * structural_similarity computes it with its defaults: both maps min-max
 * scaled to [0, 1] first, data range 1, 7 x 7 uniform windows fully inside
 * the map, sample covariances, K1 = 0.01, K2 = 0.03.  Maps smaller than 7 x 7:
 * one window over the whole map. */
GCAM_API double gcam_sim_ssim(const float *a, const float *b, int h, int w);
/* Pearson correlation of the two maps' HOG features (Dalal and Triggs):
 * centred differences, 9 unsigned orientation bins, 8 x 8-pixel cells,
 * 3 x 3-cell blocks at a one-cell stride, L2-Hys (clip 0.2).  Maps smaller
 * than 3 x 3 cells: cells of h/3 x w/3 pixels (at least 1). */
GCAM_API double gcam_sim_hog(const float *a, const float *b, int h, int w);

/* ---- model-parameter randomisation test (Adebayo et al. 2018) ------------- */
enum { GCAM_SANITY_LAYER = 0, GCAM_SANITY_BLOCK = 1 };

typedef struct gcam_sanity_opts {
    int granularity;     /* GCAM_SANITY_LAYER or GCAM_SANITY_BLOCK */
    uint64_t seed;       /* gcam_model_randomize_layer's seed */
    int cascading;       /* run the cascading test (default 1) */
    int independent;     /* run the independent test (default 1) */
    gcam_progress_fn progress; /* "sanity" steps done of total; NULL: silent */
    void *progress_user;
} gcam_sanity_opts;
GCAM_API void gcam_sanity_opts_default(gcam_sanity_opts *o);

typedef struct gcam_sanity_step {
    char *step;          /* the layer's node name, or the block's name */
    int n_layers;        /* parameterised layers re-drawn in this step */
    double spearman, spearman_abs, ssim, hog;
} gcam_sanity_step;

typedef struct gcam_sanity_result {
    int h, w;
    int64_t target;         /* the class explained in every step: the trained model's */
    float *original;        /* h x w: |map| of the trained model, scaled to [0, 1] */
    int n_cascading, n_independent;
    gcam_sanity_step *cascading;   /* from the output side to full randomisation */
    gcam_sanity_step *independent; /* one step per layer (block), output side first */
    float **cascading_maps; /* n_cascading maps, h x w, as `original` */
} gcam_sanity_result;

/* The map to test: fills map (h x w floats, the size given to
 * gcam_sanity_run_fn) for the current weights of m.  abs_map receives |map|
 * when the method is signed, or NULL-safe: fill both with the same values
 * for a non-negative map. */
typedef int (*gcam_map_fn)(void *user, gcam_model *m, const gcam_array *input, float *map, float *abs_map);

/* Runs the test with any map function (e.g. one built to ignore the
 * weights, to see the check fail).  *out is new (gcam_sanity_free) on
 * success, NULL on failure.  Weights are restored in every case. */
GCAM_API int gcam_sanity_run_fn(gcam_model *m, const gcam_array *input, gcam_map_fn fn, void *user, int h, int w,
                                const gcam_sanity_opts *o, gcam_sanity_result **out);
/* The same with gcam_explain: eo's method, layers and options; the target is
 * fixed to the trained model's (eo->target_class, or its top-1).  Maps with
 * C channels (guided-*) are summed over channels (|.| summed for abs). */
GCAM_API int gcam_sanity_run(gcam_model *m, const gcam_array *input, const gcam_explain_opts *eo,
                             const gcam_sanity_opts *o, gcam_sanity_result **out);
GCAM_API void gcam_sanity_free(gcam_sanity_result *r);
/* What a verdict rests on: the Spearman correlation of the absolute maps
 * (spearman_abs) averaged over the cascading steps (GCAM_SANITY_MEAN: the
 * area under the paper's curve, so a map that survives the randomisation of
 * the top layers and only changes at the input fails), or after the last
 * step, full randomisation (GCAM_SANITY_FINAL).  NAN without a cascading step. */
enum { GCAM_SANITY_MEAN = 0, GCAM_SANITY_FINAL = 1 };
GCAM_API double gcam_sanity_similarity(const gcam_sanity_result *r, int rule);
/* 1 (passes: the map depends on the weights) when that similarity is below
 * threshold, 0 (fails) otherwise, -1 without a cascading step. */
GCAM_API int gcam_sanity_verdict(const gcam_sanity_result *r, int rule, double threshold);

/* ---- faithfulness: deletion and insertion (Petsiuk et al.) ----------------- */
/* Score kinds (GCAM_SCORE_*), gcam_model_score_kind and gcam_score: gcam.h. */

/* Deletion and insertion curves of class `target` for a map (H x W, the
 * input's size): pixels in order of decreasing map value, `steps` equal
 * steps; deletion replaces them by a Gaussian blur of the input (sigma px;
 * sigma <= 0: by 0), insertion starts from that blur and puts them back.
 * del and ins receive steps + 1 scores (score_kind, GCAM_SCORE_AUTO = the
 * model's); *del_auc / *ins_auc the trapezoid areas over the fraction of
 * pixels changed.  Any output pointer may be NULL. */
GCAM_API int gcam_faithfulness(gcam_model *m, const gcam_array *input, const float *map, int64_t target,
                               int steps, double sigma, int score_kind, double *del, double *ins,
                               double *del_auc, double *ins_auc);

/* ---- measures of `gradcam eval` --------------------------------------------
 * Every definition is written out in docs/eval.md; tests/unit/test_eval.c
 * checks each one on a case worked out by hand.
 *  - A map is h x w floats, row-major, at the model input's resolution (what
 *    gcam_explanation_map returns).  Map pixel (i, j) - row i, column j -
 *    covers the continuous square [j, j+1) x [i, i+1); its centre is
 *    (j + 0.5, i + 0.5).
 *  - A box is half-open in continuous coordinates: [x0, x1) x [y0, y1).  A
 *    CSV box (x0, y0, x1, y1) with x1, y1 exclusive covers exactly the integer
 *    pixels x0 <= x < x1, y0 <= y < y1, i.e. those whose centres lie in it.
 *  - "Inside a box" means: the pixel's centre is inside the box.
 *  - Nothing allocates unless it says so; failures are statuses.  Scores of
 *    a class from the model's outputs: gcam_score (gcam.h). */
typedef struct gcam_box {
    double x0, y0, x1, y1; /* [x0, x1) x [y0, y1) */
} gcam_box;

/* ---- localisation (localise.c) -------------------------------------------- */

/* Index (i * w + j) of the first maximum in row-major order.  NaNs are never
 * the maximum; an all-NaN map gives 0. */
GCAM_API int64_t gcam_eval_argmax(const float *map, int h, int w);
/* Is (x, y) inside any of the n boxes?  tol >= 0 widens each box by tol
 * (Euclidean distance from the point to the box <= tol counts as inside;
 * tol = 0 is the plain half-open test). */
GCAM_API int gcam_eval_point_in_boxes(double x, double y, const gcam_box *boxes, int n, double tol);
/* Pointing game: 1 if the centre of the map's argmax pixel is inside a box
 * (with tolerance tol, in map pixels), else 0.  *arg (may be NULL) receives
 * the argmax index. */
GCAM_API int gcam_eval_pointing(const float *map, int h, int w, const gcam_box *boxes, int n, double tol,
                       int64_t *arg);
/* Energy-based pointing game: sum of the map over pixels inside the union of
 * the boxes / sum over all pixels.  Negative values count as 0 (the maps are
 * non-negative after ReLU anyway).  An all-zero map gives 0. */
GCAM_API double gcam_eval_energy(const float *map, int h, int w, const gcam_box *boxes, int n);
/* The Grad-CAM paper's box: keep pixels with map >= frac * max(map), take the
 * largest 8-connected component (ties: the one whose first pixel comes first
 * in row-major order), and return its bounding box in map pixels (integer
 * edges, x1/y1 exclusive) in *box.  Returns the component's pixel count
 * (0 when max(map) <= 0 or the map has no finite value: then *box is empty),
 * or a negative status (GCAM_E_NOMEM: it allocates h * w ints). */
GCAM_API int64_t gcam_eval_cam_box(const float *map, int h, int w, double frac, gcam_box *box);
/* Intersection over union of two boxes; 0 when the union is empty. */
GCAM_API double gcam_eval_iou(const gcam_box *a, const gcam_box *b);
/* The largest IoU of a with any of the n boxes (0 for n = 0). */
GCAM_API double gcam_eval_best_iou(const gcam_box *a, const gcam_box *boxes, int n);

/* Boxes between the photo's pixels and the model input's (W x H) pixels.
 * (rx, ry, rw, rh) is where the input sits on the photo (gcam_photo_rect):
 * u = (x - rx) * W / rw, v = (y - ry) * H / rh.  to_input clips the result
 * to the input [0, W) x [0, H) and returns 0 when nothing is left (the box
 * lies outside the model's crop), else 1. */
GCAM_API int gcam_eval_box_to_input(const gcam_box *img, double rx, double ry, double rw, double rh, int W, int H,
                           gcam_box *out);
GCAM_API gcam_box gcam_eval_box_to_image(const gcam_box *in, double rx, double ry, double rw, double rh, int W, int H);

/* ---- faithfulness (faithfulness.c) ---------------------------------------- */

/* Pixel order for deletion / insertion: order[0..n) is a permutation of
 * 0..n-1 by decreasing map value, ties by increasing index (row-major), NaN
 * last.  Allocates a temporary of n pairs: 0 or GCAM_E_NOMEM. */
GCAM_API int gcam_eval_rank(const float *map, int64_t n, int64_t *order);

/* Gaussian blur of a C x H x W tensor, each channel on its own: separable
 * kernel exp(-d^2 / (2 sigma^2)), radius ceil(3 sigma), taps falling outside
 * the image dropped and the rest renormalised (so a constant image stays
 * constant).  sigma <= 0 copies.  tmp holds H * W floats.  out must not alias x. */
GCAM_API void gcam_eval_blur(const float *x, int C, int H, int W, double sigma, float *out, float *tmp);

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
GCAM_API int gcam_eval_curve(const float *x, const float *baseline, int C, int H, int W, const int64_t *order,
                    int steps, int insertion, gcam_eval_score_fn fn, void *ctx, float *work,
                    double *curve, double *frac);
/* Trapezoidal area under y(x) over n points (x increasing); 0 for n < 2. */
GCAM_API double gcam_eval_auc(const double *x, const double *y, int n);

/* The Grad-CAM++ masked input: out = x * map, the map (H x W, in [0, 1])
 * broadcast over the C channels of the model-input tensor x. */
GCAM_API void gcam_eval_mask_input(const float *x, const float *map, int C, int H, int W, float *out);
/* Average Drop (percent): 100/n * sum_i max(0, Y_i - O_i) / Y_i, over the
 * items with Y_i > 0 (n counts those).  0 for no such item. */
GCAM_API double gcam_eval_average_drop(const double *Y, const double *O, int n);
/* Average Increase in confidence (percent): 100/n * #{i : O_i > Y_i}. */
GCAM_API double gcam_eval_average_increase(const double *Y, const double *O, int n);

/* ---- boxes.csv (boxes.c) -------------------------------------------------- */

typedef struct gcam_box_rec {
    char *image;   /* the file name as written in the CSV */
    int64_t cls;   /* class index */
    gcam_box box; /* in the image's pixel coordinates */
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
GCAM_API int gcam_boxes_load(const char *path, const char *const *labels, int n_labels, int64_t n_classes,
                    gcam_boxes *out, gcam_error *err);
/* Same from memory; name is used in messages. */
GCAM_API int gcam_boxes_parse(const char *text, size_t len, const char *name, const char *const *labels,
                     int n_labels, int64_t n_classes, gcam_boxes *out, gcam_error *err);
GCAM_API void gcam_boxes_free(gcam_boxes *b);
/* GCAM_E_RANGE "<name>:<line>: box ... is outside the WxH image <image>"
 * unless 0 <= x0 < x1 <= img_w and 0 <= y0 < y1 <= img_h. */
GCAM_API int gcam_boxes_check(const gcam_box_rec *r, const char *name, int img_w, int img_h, gcam_error *err);
#ifdef __cplusplus
}
#endif
#endif
