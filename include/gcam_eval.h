/* gcam_eval.h - can I trust this map?  Sanity checks, similarity measures,
 * faithfulness curves and the rendering a report needs, for C clients (the
 * CLI's `sanity` and `report`, the Python package).  Every number is defined
 * in docs/eval.md.
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
 * passed.  The model's weights are changed in place by
 * gcam_model_randomize_layer and come back with gcam_model_restore_layers;
 * gcam_sanity_run always restores them before it returns. */
#ifndef GCAM_EVAL_PUBLIC_H
#define GCAM_EVAL_PUBLIC_H

#include "gcam.h"

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
enum { GCAM_SCORE_AUTO = -1, GCAM_SCORE_SOFTMAX = 0, GCAM_SCORE_SIGMOID = 1, GCAM_SCORE_LOGIT = 2 };
/* The score kind of a model: its "gradcam.output" metadata (softmax,
 * sigmoid, logit), softmax when absent. */
GCAM_API int gcam_model_score_kind(const gcam_model *m);

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

/* ---- rendering ------------------------------------------------------------- */
typedef struct gcam_rgb {
    int w, h;
    unsigned char *px; /* h rows of w RGB triplets; gcam_rgb_free */
} gcam_rgb;
GCAM_API void gcam_rgb_free(gcam_rgb *img);

/* The photo, scaled up (bilinear) so its shorter side is at least min_side
 * (0: as it is). */
GCAM_API int gcam_render_photo(gcam_model *m, const gcam_photo *photo, int min_side, gcam_rgb *out);
/* A map (h x w, values in [0, 1], the model input's size) over the photo as
 * gcam_save_overlay draws it, at the scale of gcam_render_photo.  photo
 * NULL: the colourised map alone, scaled up to min_side. */
GCAM_API int gcam_render_overlay(gcam_model *m, const gcam_photo *photo, const float *map, int h, int w,
                                 const char *colormap, float alpha, int min_side, gcam_rgb *out);
/* src resized to w x h (antialiased bilinear, as Pillow's). */
GCAM_API int gcam_render_resize(gcam_model *m, const gcam_rgb *src, int w, int h, gcam_rgb *out);
/* Tiles of equal size in rows of cols, captions under each (built-in font,
 * ASCII), white gutters of pad px. */
GCAM_API int gcam_render_grid(gcam_model *m, const gcam_rgb *tiles, int n, int cols, const char *const *labels,
                              int pad, gcam_rgb *out);
/* PNG bytes of an image in memory: *png is malloc'd (free()). */
GCAM_API int gcam_png_encode(gcam_model *m, const gcam_rgb *img, unsigned char **png, size_t *len);
/* Baseline JPEG bytes (quality 1..100; out of range: 90): *jpeg is malloc'd (free()). */
GCAM_API int gcam_jpeg_encode(gcam_model *m, const gcam_rgb *img, int quality, unsigned char **jpeg, size_t *len);
/* Writes a PNG file (to a temporary name beside it, then renamed). */
GCAM_API int gcam_png_save(gcam_model *m, const gcam_rgb *img, const char *path);

#ifdef __cplusplus
}
#endif
#endif
