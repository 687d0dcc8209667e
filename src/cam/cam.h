/* cam.h - the explanation methods: per-method weighting (pure functions on
 * plain arrays, unit-tested on hand-made inputs), the runners of the methods
 * that need extra passes, and the post-processing shared by all of them.
 *
 * Layout: A and dA are the layer's activation and its gradient for batch
 * item 0, K x HW floats (channel after channel).  Every formula and its
 * source is in docs/methods.md; each method lives in its own file. */
#ifndef GCAM_CAM_H
#define GCAM_CAM_H
#include <math.h>

#include "gcam_internal.h"
#include "graph/graph.h"

/* ---- weights: w[k] per channel; the map is sum_k w_k A_k --------------------- */

/* Grad-CAM: w_k = mean_ij dA_kij */
void gcam_cam_weights_gradcam(const float *dA, int64_t K, int64_t HW, float *w);
/* Grad-CAM++ (pytorch-grad-cam, eq. 19 of Chattopadhyay et al.):
 *   a_kij = g^2 / (2 g^2 + S_k g^3 + 1e-6)  where g != 0, else 0;  S_k = sum_ij A_kij
 *   w_k   = sum_ij ReLU(g_kij) a_kij */
void gcam_cam_weights_gradcampp(const float *A, const float *dA, int64_t K, int64_t HW, float *w);
/* XGrad-CAM: w_k = sum_ij g_kij A_kij / (S_k + 1e-7)  (0 when that denominator is 0) */
void gcam_cam_weights_xgradcam(const float *A, const float *dA, int64_t K, int64_t HW, float *w);

/* ---- element-wise maps: M (K x HW); the map is sum_k M_k ---------------------- */

/* HiResCAM: M = dA * A (also EigenGrad-CAM's matrix, before its projection) */
void gcam_cam_elem_hirescam(const float *A, const float *dA, int64_t n, float *M);
/* Grad-CAM element-wise: M = ReLU(dA * A) */
void gcam_cam_elem_gradcam_elementwise(const float *A, const float *dA, int64_t n, float *M);
/* LayerCAM: M = ReLU(dA) * A */
void gcam_cam_elem_layercam(const float *A, const float *dA, int64_t n, float *M);

/* M_k = w_k A_k */
void gcam_cam_weighted(const float *w, const float *A, int64_t K, int64_t HW, float *M);
/* cam = sum_k M_k (summed in double, channel order) */
void gcam_cam_sum_channels(const float *M, int64_t K, int64_t HW, float *cam);

/* ---- principal component (eigencam.c) ------------------------------------------
 * pytorch-grad-cam's get_2d_projection: X = M^T (HW x K) centred per channel
 * (mean over positions), cam = X v1 with v1 the first right singular vector.
 * The sign of v1 is fixed so that cam correlates positively with the channel
 * sum of M (uncentred); an exact tie (zero covariance) makes the entry of
 * largest |cam| positive.  A zero matrix gives a zero map.  Returns GCAM_OK or
 * GCAM_E_NOMEM. */
int gcam_cam_project(const float *M, int64_t K, int64_t HW, float *cam);
/* Top eigenvector (unit, sign arbitrary) of the n x n symmetric positive
 * semi-definite G (row-major doubles); returns its eigenvalue, or -1 on
 * out-of-memory.  Exposed for the unit tests. */
double gcam_cam_top_eigvec(const double *G, int64_t n, double *v);

/* ---- Score-CAM (scorecam.c) ----------------------------------------------------- */
/* The mask of one channel: A_k (h x w) upsampled to H x W with
 * torch.nn.UpsamplingBilinear2d (bilinear, align_corners=True), then
 * (m - min) / (max - min + 1e-8). */
void gcam_cam_scorecam_mask(const float *Ak, int h, int w, int H, int W, float *mask);
/* One axis of that upsampling (torch.nn.UpsamplingBilinear2d, align_corners,
 * coordinates in float like torch): output index p of N takes (1 - *l) of
 * input index *i0 and *l of *i1, of n.  Shared by scorecam.c and maskconv.c,
 * whose sums must be the same to float32 rounding. */
static inline void gcam_cam_corner_tap(int n, int N, int p, int *i0, int *i1, float *l)
{
    float s = N > 1 ? (float)(n - 1) / (float)(N - 1) : 0.0f, f = s * (float)p;
    int a = (int)f;
    if (a > n - 1) a = n - 1;
    *i0 = a;
    *i1 = a + (a < n - 1);
    *l = f - (float)a;
}
/* w = softmax over the K channel scores (max subtracted first). */
void gcam_cam_softmax(const float *scores, int64_t K, float *w);
/* Population variance of each channel over its positions. */
void gcam_cam_channel_variance(const float *A, int64_t K, int64_t HW, double *var);

/* ---- Ablation-CAM (ablationcam.c) ----------------------------------------------- */
/* w_k = (y - y_k) / y (pytorch-grad-cam); |y| < 1e-7 divides by +-1e-7 instead,
 * and a non-finite result is 0, so the map stays finite. */
void gcam_cam_ablation_weights(float y, const float *yk, int64_t K, float *w);
/* The ablation value: 0 when min(A) == 0 (after a ReLU), else min(A) - 1e7. */
float gcam_cam_ablation_value(const float *A, int64_t n);

/* ---- input-gradient maps --------------------------------------------------------- */
/* saliency (Simonyan et al.): out_ij = max_c |g_cij|  (g: C x HW) */
void gcam_cam_saliency_reduce(const float *g, int64_t C, int64_t HW, float *out);
/* guided Grad-CAM: out_c = gb_c * mask (gb: C x HW, mask: HW) */
void gcam_cam_guided_gradcam(const float *gb, const float *mask, int64_t C, int64_t HW, float *out);
/* integrated gradients: out_ij = sum_c (x - x0)_cij * gsum_cij / steps */
void gcam_cam_ig_reduce(const float *x, const float *x0, const double *gsum, int64_t steps, int64_t C,
                        int64_t HW, float *out);
/* pytorch-grad-cam's deprocess_image without the uint8 step, in place:
 * x = clip((x - mean) / (std + 1e-5) * 0.1 + 0.5, 0, 1), mean and population
 * std over all n values. */
void gcam_cam_deprocess(float *x, int64_t n);
/* Gaussian blur of each C plane (H x W), sigma in pixels, kernel radius
 * ceil(3 sigma), edge clamp: the "blur" baseline of integrated gradients. */
int gcam_cam_blur(const float *x, int64_t C, int64_t H, int64_t W, double sigma, float *out);

/* ---- random numbers (rng.c), reproducible in numpy (docs/methods.md) ------------- */
typedef struct gcam_rng {
    uint64_t state;
    int has_spare;
    double spare;
} gcam_rng;
void gcam_rng_seed(gcam_rng *r, uint64_t seed);
uint64_t gcam_rng_next(gcam_rng *r); /* SplitMix64 */
double gcam_rng_uniform(gcam_rng *r);  /* [0, 1): (next >> 11) * 2^-53 */
double gcam_rng_normal(gcam_rng *r);   /* Box-Muller, both values used in turn */

/* ---- post-processing (postprocess.c) ---------------------------------------------- */
/* x = max(x, 0); NaN becomes 0 */
void gcam_cam_relu(float *x, int64_t n);
/* An NHWC image's H*W x C values as C planes of H*W, and back: the
 * input-gradient maps work on planes whatever the input's layout. */
void gcam_cam_to_planar(const float *hwc, int64_t C, int64_t HW, float *chw);
void gcam_cam_to_interleaved(const float *chw, int64_t C, int64_t HW, float *hwc);
/* pytorch-grad-cam's scale_cam_image: (x - min) / (max - min + 1e-7) */
void gcam_cam_minmax(float *x, int64_t n);

/* ---- the running explanation, for the methods that need more passes --------------- */
/* What the methods did on one model (the model keeps it; tests read it
 * through gcam_model_cam_stats, src/api/model_internal.h). */
typedef struct gcam_cam_stats {
    int64_t headsum_taken;  /* Grad-CAM weights taken through a linear head's sums (headsum.c) */
    int64_t maskconv_built; /* Score-CAM first convolutions made by linearity (maskconv.c) */
} gcam_cam_stats;

typedef struct gcam_cam_ctx {
    gcam_graph *g;
    gcam_err *err;
    const gcam_explain_opts *o;
    int input_t;           /* the graph input tensor */
    const float *x;        /* the explained input, 1 x C x H x W (1 x H x W x C if nhwc) */
    int64_t C, H, W;
    int nhwc;              /* the input is channels-last */
    int target_t;          /* the target tensor */
    int64_t target;        /* the explained element within one batch item */
    float score;           /* its score on x (negated for counterfactual) */
    int batch;             /* images per extra pass */
    struct gcam_headsum **headsum; /* the model's cache for headsum.c */
    gcam_cam_stats *stats; /* the model's counters */
    const gcam_tensor *sg_noise;   /* SmoothGrad's draws (gcam_model_set_smoothgrad_noise), or NULL */
} gcam_cam_ctx;

/* Score of one batch item (n1 floats of the target tensor): the logit, or the
 * softmax probability with target_softmax; negated for counterfactual. */
float gcam_cam_item_score(const gcam_cam_ctx *c, const float *item, int64_t n1);
/* The softmax probability of the target class in one item (the paper's
 * Score-CAM score), negated for counterfactual. */
float gcam_cam_item_prob(const gcam_cam_ctx *c, const float *item, int64_t n1);
/* Backward seed of that score for one item (n1 floats). */
void gcam_cam_item_seed(const gcam_cam_ctx *c, const float *item, int64_t n1, float *seed);
void gcam_cam_progress(const gcam_cam_ctx *c, const char *what, int64_t done, int64_t total);
/* A view of the whole network fed at the input with c->batch images (batch 1
 * if a node pins the batch), with an input-gradient plan when bp != NULL.
 * Release with gcam_bwd_release(bp) and gcam_suffix_free. */
int gcam_cam_input_view(gcam_cam_ctx *c, gcam_bwd_plan *bp, gcam_suffix **out);
/* A forward-only view of the network fed at tensor fed_t (batch 1 in c->g)
 * with c->batch items, sized like gcam_cam_input_view; the fed tensor may
 * be planned NHWC (its GCAM_TF_NHWC says how to write it). */
int gcam_cam_feed_view(gcam_cam_ctx *c, int fed_t, gcam_suffix **out);

/* Score-CAM's first convolution by linearity (maskconv.c): when the graph
 * input's only reader is a 2-D Conv (one group, constant weights; an
 * epilogue of at most a folded BatchNormalization and Relu/Clip), its output
 * for x * mask, mask = sum_ij beta_ij B_ij (B_ij: the bilinear weight of
 * grid point (i, j) of an h x w map), is sum_ij beta_ij conv(x * B_ij): the
 * h * w convolutions are made once by gcam_maskconv_new, which sets *out to
 * NULL (GCAM_OK) where the trick does not apply. */
typedef struct gcam_maskconv gcam_maskconv;
int gcam_maskconv_new(gcam_cam_ctx *c, int h, int w, gcam_maskconv **out);
/* The tensor it computes (the conv's output, after its fused epilogue). */
int gcam_maskconv_out(const gcam_maskconv *m);
/* Writes n items of that tensor into dst (batch-major, NHWC when nhwc),
 * item b from the h * w coefficients beta + b * h * w. */
int gcam_maskconv_run(const gcam_maskconv *m, const float *beta, int64_t n, float *dst, int nhwc, gcam_err *e);
void gcam_maskconv_free(gcam_maskconv *m);
/* (Each one made counts in c->stats->maskconv_built; the "scorecam-maskconv"
 * setting turns the trick off.) */
/* Runs view v (batch B, n items filled) forward, and backward from the
 * target when bp != NULL (seeding each item's own score); the input gradient
 * is then in v->g.grads[c->input_t]. */
int gcam_cam_view_pass(gcam_cam_ctx *c, gcam_suffix *v, gcam_bwd_plan *bp, int64_t n, int guided);

/* ---- linear heads (classic_cam.c, headsum.c) -------------------------------------- */
/* The single run node reading tensor t, or -1 (none, or several). */
int gcam_cam_sole_reader(const gcam_graph *g, int t);
/* A linear layer y = alpha x W' with a constant weight matrix: element (j, i)
 * of W' (j < n_out, i < n_in) is W[j * n_in + i] when transB, else
 * W[i * n_out + j]. */
typedef struct gcam_cam_linear {
    const float *W;
    int transB;
    float alpha;
    int64_t n_in, n_out;
} gcam_cam_linear;
/* Fills *l when node n reads t as its first input and is a Gemm (transA 0)
 * or MatMul with a constant 2-D float32 B; else returns why not (a phrase). */
const char *gcam_cam_linear_of(const gcam_graph *g, const gcam_node *n, int t, gcam_cam_linear *l);

/* Grad-CAM through a flattening linear head (headsum.c): when the layer
 * (1 x K x h x w) reaches the rest of the network only through Flatten or
 * Reshape to 1 x Khw, then a linear layer with constant weights (VGG,
 * AlexNet), Grad-CAM's weights need only the gradient at that layer's
 * output Y:  w_k = alpha / hw * sum_j dY_j S_jk,  S_jk = sum_p W'_j,(k hw + p).
 * gcam_cam_head_find returns Y, or -1 where the head does not apply (or
 * the "head-shortcut" setting is 0).  gcam_cam_head_weights makes S once per layer and
 * keeps it in *cache (freed by gcam_cam_head_free). */
typedef struct gcam_headsum gcam_headsum;
int gcam_cam_head_find(const gcam_graph *g, int layer_t);
int gcam_cam_head_weights(gcam_cam_ctx *c, gcam_headsum **cache, int layer_t, int y_t, float *w);
void gcam_cam_head_free(gcam_headsum *h);
/* (Each time the weights are taken this way counts in c->stats->headsum_taken.) */

/* Channel weights of the pass-based methods (w: K floats).  Score-CAM masks
 * the input with each of the K channels of A (K x h x w, channels first);
 * Ablation-CAM ablates channel k of the layer as the graph holds it (every
 * position of a channels-first map, every token - special ones included, as
 * pytorch-grad-cam's AblationLayerVit - of a token or channels-last layer). */
int gcam_cam_scorecam(gcam_cam_ctx *c, const float *A, int64_t K, int64_t h, int64_t w, float *wout);
int gcam_cam_ablationcam(gcam_cam_ctx *c, int layer_t, const gcam_layer *info, float *w);
/* CAM (Zhou et al.): the classifier row of the target class, when the layer
 * feeds GlobalAveragePool (or ReduceMean over H, W) -> [Flatten/Reshape/
 * Squeeze/Identity] -> Gemm or MatMul [-> Add] producing the target;
 * GCAM_E_UNSUPPORTED otherwise. */
int gcam_cam_classic(gcam_cam_ctx *c, int layer_t, const gcam_layer *info, float *w);
/* Input-gradient maps at the input's resolution (raw: H x W, or C x H x W for
 * guided backprop, before normalisation). */
int gcam_cam_integrated_gradients(gcam_cam_ctx *c, float *raw);
int gcam_cam_smoothgrad(gcam_cam_ctx *c, float *raw);

/* ---- layer-map entries: one per row of GCAM_METHOD_LIST (gcam.h) ---------------
 * gcam_cam_layer_map (maps.c) calls the entry of the method's row for each layer; the entry
 * fills w (channel weights), M (element-wise K x HW map) or cam (the finished
 * h x w map, for projections) and says which in kind. */
typedef enum { GCAM_LAYER_WEIGHTS, GCAM_LAYER_ELEMENTS, GCAM_LAYER_PROJECTED } gcam_layer_kind;

typedef struct gcam_cam_layer {
    int layer_t;          /* the layer tensor */
    int head_y;           /* >= 0: Grad-CAM's weights come through this linear head output (headsum.c) */
    const float *A, *dA;  /* activations and, for GCAM_MF_LAYER_GRAD without head_y, their gradient,
                             channels first (a channels-last or token layer transposed, special
                             tokens dropped) */
    int64_t K, HW;
    const gcam_layer *info; /* the layer's layout in the graph, grid and skipped tokens */
    float *w, *M, *cam;   /* K, K x HW and HW floats to write */
    gcam_layer_kind kind; /* set by the entry */
} gcam_cam_layer;

#define GCAM_X_(id, name, flags, entry, desc) int gcam_cam_map_##entry(gcam_cam_ctx *c, gcam_cam_layer *l);
GCAM_METHOD_LIST(GCAM_X_)
#undef GCAM_X_

/* ---- from layers and gradients to maps (maps.c) ----------------------------------- */
/* The raw map of one layer (h x w floats: L's grid) of batch item `item`,
 * before ReLU and normalisation, by the entry of c->o->method's row;
 * head_y >= 0: Grad-CAM's weights come from the gradient at that linear
 * layer's output (headsum.c), the layer itself has none. */
int gcam_cam_layer_map(gcam_cam_ctx *c, int layer_t, const gcam_layer *L, int head_y, int64_t item, float *cam);
/* Adds one raw map (h x w, ReLU'd and, for GCAM_NORM_IMAGE, min-max scaled
 * here) upsampled into the H x W mean of n maps, as pytorch-grad-cam's
 * compute_cam_per_layer + aggregate_multi_layers do; up: H x W scratch. */
void gcam_cam_accumulate(const gcam_explain_opts *o, float *cam, int h, int w, float *up, float *map, int H, int W,
                         int n);
/* The normalisation o asks for, of a map >= 0 ... */
void gcam_cam_finish_gray(const gcam_explain_opts *o, float *map, int64_t n);
/* ... and of a signed one: x / max|x| or x / global_max clamped to [-1, 1];
 * non-finite values become 0. */
void gcam_cam_finish_signed(const gcam_explain_opts *o, float *map, int64_t n);
/* Saliency: max over channels of |gradient| per pixel (raw: H x W), from a
 * gradient in the input's layout; GCAM_E_NOMEM. */
int gcam_cam_saliency(const gcam_cam_ctx *c, const float *grad, float *raw);
/* Attention rollout (datt NULL) or gradient-weighted rollout of n layers'
 * attention probabilities att[l] (heads[l] x T x T each, in execution order)
 * into cam (T - skip floats: the class token's row over the patch tokens);
 * discard_ratio in [0, 1): that fraction of each fused layer's smallest
 * entries zeroed (docs/methods.md).  rollout.c; GCAM_E_NOMEM. */
int gcam_cam_rollout(const float *const *att, const float *const *datt, const int64_t *heads, int n, int64_t T,
                     int64_t skip, double discard_ratio, float *cam);

#endif
