/* maps.c - the method table (GCAM_METHOD_LIST) and what turns a layer's
 * activations and gradients, or an input gradient, into a map: the
 * dispatch to the method's entry, channels-first copies of channels-last
 * and token layers, the multi-layer mean and the normalisations.  The
 * explanation driver (src/api/explain.c) calls these with what the passes
 * left in the graph. */
#include <math.h>
#include <stdlib.h>

#include "cam/cam.h"
#include "image/image.h"

/* ---- the method table ------------------------------------------------------------ */

/* Everything per method comes from GCAM_METHOD_LIST (gcam.h). */
static const char *const METHOD_NAMES[] = {
#define GCAM_X_(id, name, flags, entry, desc) [GCAM_METHOD_##id] = name,
    GCAM_METHOD_LIST(GCAM_X_)
#undef GCAM_X_
};

static const char *const METHOD_SUMMARIES[] = {
#define GCAM_X_(id, name, flags, entry, desc) [GCAM_METHOD_##id] = desc,
    GCAM_METHOD_LIST(GCAM_X_)
#undef GCAM_X_
};

static const int METHOD_FLAGS[] = {
#define GCAM_X_(id, name, flags, entry, desc) [GCAM_METHOD_##id] = flags,
    GCAM_METHOD_LIST(GCAM_X_)
#undef GCAM_X_
};

/* The rows whose entry is `none` are not layer CAMs: never called. */
int gcam_cam_map_none(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    return gcam_errf(c->err, GCAM_E_INTERNAL, "method %d has no layer map", (int)c->o->method);
}

typedef int (*layer_map_fn)(gcam_cam_ctx *c, gcam_cam_layer *l);
static const layer_map_fn METHOD_LAYER_MAP[] = {
#define GCAM_X_(id, name, flags, entry, desc) [GCAM_METHOD_##id] = gcam_cam_map_##entry,
    GCAM_METHOD_LIST(GCAM_X_)
#undef GCAM_X_
};

/* (unsigned): an enum without negative values may be unsigned, and -1 must still be out of range */
const char *gcam_method_name(gcam_method method)
{
    return (unsigned)method < GCAM_METHOD_COUNT ? METHOD_NAMES[method] : NULL;
}

int gcam_method_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < GCAM_METHOD_COUNT; i++)
        if (!strcmp(name, METHOD_NAMES[i])) return i;
    return -1;
}

int gcam_method_flags(gcam_method method) { return (unsigned)method < GCAM_METHOD_COUNT ? METHOD_FLAGS[method] : 0; }

const char *gcam_method_summary(gcam_method method)
{
    return (unsigned)method < GCAM_METHOD_COUNT ? METHOD_SUMMARIES[method] : NULL;
}

/* ---- maps -------------------------------------------------------------------------- */

/* Item `item` of a channels-last or token layer as K x HW, channels first:
 * pytorch-grad-cam's reshape_transform (drop the special tokens, h x w x C
 * to C x h x w).  NULL on allocation failure. */
static float *channels_first(const float *src, const gcam_layer *L, int64_t item)
{
    int64_t K = L->channels, HW = L->grid_h * L->grid_w, T = L->skip + HW;
    float *dst = gcam_malloc(sizeof(float) * (size_t)(K * HW + 1));
    if (!dst) return NULL;
    src += item * T * K + L->skip * K;
    for (int64_t p = 0; p < HW; p++)
        for (int64_t k = 0; k < K; k++) dst[k * HW + p] = src[p * K + k];
    return dst;
}

/* The raw map of one layer (h x w floats), before ReLU and normalisation;
 * head_y >= 0: Grad-CAM's weights come from the gradient at that linear
 * layer's output (headsum.c), the layer itself has none. */
int gcam_cam_layer_map(gcam_cam_ctx *c, int layer_t, const gcam_layer *L, int head_y, int64_t item, float *cam)
{
    gcam_graph *g = c->g;
    int method = c->o->method;
    const gcam_tensor *At = &g->tensors[layer_t];
    int64_t K = L->channels, HW = L->grid_h * L->grid_w;
    const int want_grad = (METHOD_FLAGS[method] & GCAM_MF_LAYER_GRAD) && head_y < 0;
    const float *A, *dA = NULL;
    float *A_cf = NULL, *dA_cf = NULL; /* channels-first copies of a channels-last or token layer */
    if (L->layout == GCAM_LAYER_NCHW) {
        A = gcam_f32(At) + item * K * HW; /* item: the batch item (gcam_explain_batch) */
        if (want_grad) dA = gcam_f32(&g->grads[layer_t]) + item * K * HW;
    } else {
        A = A_cf = channels_first(gcam_f32(At), L, item);
        if (want_grad) dA = dA_cf = channels_first(gcam_f32(&g->grads[layer_t]), L, item);
    }
    float *M = gcam_malloc(sizeof(float) * (size_t)(K * HW + 1)), *w = gcam_malloc(sizeof(float) * (size_t)(K + 1));
    if (!M || !w || !A || (want_grad && !dA)) {
        gcam_free(M), gcam_free(w), gcam_free(A_cf), gcam_free(dA_cf);
        return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    }
    gcam_cam_layer l = {.layer_t = layer_t, .head_y = head_y, .A = A, .dA = dA, .K = K, .HW = HW, .info = L,
                        .w = w, .M = M, .cam = cam};
    int rc = METHOD_LAYER_MAP[method](c, &l);
    const int weights = l.kind == GCAM_LAYER_WEIGHTS, projected = l.kind == GCAM_LAYER_PROJECTED;
    if (!rc && !projected) {
        if (weights) gcam_cam_weighted(w, A, K, HW, M);
        if (c->o->eigen_smooth) {
            if (gcam_cam_project(M, K, HW, cam)) rc = gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
        } else {
            gcam_cam_sum_channels(M, K, HW, cam);
        }
    }
    gcam_free(M), gcam_free(w), gcam_free(A_cf), gcam_free(dA_cf);
    return rc;
}

/* Adds one raw map (h x w, ReLU'd here) into the H x W mean of n maps, as
 * pytorch-grad-cam's compute_cam_per_layer + aggregate_multi_layers do. */
void gcam_cam_accumulate(const gcam_explain_opts *o, float *cam, int h, int w, float *up, float *map, int H, int W,
                         int n)
{
    gcam_cam_relu(cam, (int64_t)h * w);
    if (o->normalize == GCAM_NORM_IMAGE) gcam_cam_minmax(cam, (int64_t)h * w);
    gcam_resize_f32(cam, w, h, up, W, H);
    for (int64_t p = 0; p < (int64_t)H * W; p++) map[p] += (up[p] > 0 ? up[p] : 0) / n;
}

void gcam_cam_finish_gray(const gcam_explain_opts *o, float *map, int64_t n)
{
    if (o->normalize == GCAM_NORM_IMAGE) gcam_cam_minmax(map, n);
    else if (o->normalize == GCAM_NORM_GLOBAL) {
        float mx = o->global_max > 0 ? o->global_max : 1.0f;
        for (int64_t p = 0; p < n; p++) map[p] = fminf(1.0f, map[p] / mx);
    }
}

/* Signed maps: x / max|x| (0 everywhere for a zero map), or x / MAX clamped
 * to [-1, 1]; non-finite values become 0. */
void gcam_cam_finish_signed(const gcam_explain_opts *o, float *map, int64_t n)
{
    for (int64_t p = 0; p < n; p++)
        if (!isfinite(map[p])) map[p] = 0.0f;
    if (o->normalize == GCAM_NORM_IMAGE) {
        float mx = 0.0f;
        for (int64_t p = 0; p < n; p++) mx = fabsf(map[p]) > mx ? fabsf(map[p]) : mx;
        for (int64_t p = 0; p < n; p++) map[p] = mx > 0.0f ? map[p] / mx : 0.0f;
    } else if (o->normalize == GCAM_NORM_GLOBAL) {
        float mx = o->global_max > 0 ? o->global_max : 1.0f;
        for (int64_t p = 0; p < n; p++) map[p] = fmaxf(-1.0f, fminf(1.0f, map[p] / mx));
    }
}

/* max over channels of |gradient|, per pixel, from a gradient in the input's layout */
int gcam_cam_saliency(const gcam_cam_ctx *c, const float *grad, float *raw)
{
    int64_t HW = c->H * c->W;
    if (!c->nhwc) {
        gcam_cam_saliency_reduce(grad, c->C, HW, raw);
        return GCAM_OK;
    }
    float *planes = gcam_malloc(sizeof(float) * (size_t)(c->C * HW + 1));
    if (!planes) return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    gcam_cam_to_planar(grad, c->C, HW, planes);
    gcam_cam_saliency_reduce(planes, c->C, HW, raw);
    gcam_free(planes);
    return GCAM_OK;
}

