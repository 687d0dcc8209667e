/* classic_cam.c - CAM (Zhou et al. 2016) for networks that end in global
 * average pooling and one linear layer: the class's row of the classifier
 * weights the feature maps.  Grad-CAM reduces to it (up to the 1/(u v) of the
 * pooling) on exactly these networks.
 *
 * Recognised head, starting at the layer:
 *   GlobalAveragePool | ReduceMean over the two spatial axes (H, W of a
 *   channels-last map, which may also pass a Transpose (0,3,1,2) to a
 *   GlobalAveragePool; the tokens of a token layer without special tokens)
 *   -> any of Flatten, Reshape, Squeeze, Identity, Dropout
 *   -> Gemm (transA 0, constant B: w_ck = alpha B[c,k], or B[k,c] without transB)
 *      | MatMul (constant B: w_ck = B[k,c])
 *   -> optionally Add of a constant (the bias, which moves every position alike)
 *   = the target tensor.
 * Anything else is GCAM_E_UNSUPPORTED. */
#include <stdlib.h>

#include "cam/cam.h"

int gcam_cam_sole_reader(const gcam_graph *g, int t)
{
    int found = -1;
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == t) {
                if (found >= 0 && found != g->run_nodes[s]) return -1;
                found = g->run_nodes[s];
            }
    }
    return found;
}

const char *gcam_cam_linear_of(const gcam_graph *g, const gcam_node *n, int t, gcam_cam_linear *l)
{
    const int gemm = !strcmp(n->op_type, "Gemm");
    if (!gemm && strcmp(n->op_type, "MatMul")) return "the features feed a layer that is neither Gemm nor MatMul";
    if (n->n_in < 2 || n->in[0] != t || n->in[1] < 0) return "the features are not the linear layer's first input";
    const gcam_tensor *W = &g->tensors[n->in[1]];
    if (!(W->flags & GCAM_TF_CONST) || W->dtype != GCAM_DT_F32 || W->ndim != 2 || !W->data)
        return "the linear layer's weights are not a constant matrix";
    if (gemm && gcam_attr_int(n, "transA", 0)) return "Gemm with transA";
    l->W = gcam_f32(W);
    l->transB = gemm && gcam_attr_int(n, "transB", 0) != 0;
    l->alpha = gemm ? gcam_attr_float(n, "alpha", 1.0f) : 1.0f;
    l->n_out = l->transB ? W->dims[0] : W->dims[1];
    l->n_in = l->transB ? W->dims[1] : W->dims[0];
    return NULL;
}

/* n averages its input over the grid: GlobalAveragePool of a channels-first
 * map, or ReduceMean over exactly the grid axes of the layout (H, W; or
 * the tokens of a token layer). */
static int is_spatial_mean(const gcam_graph *g, const gcam_node *n, int layout)
{
    if (!strcmp(n->op_type, "GlobalAveragePool")) return layout == GCAM_LAYER_NCHW;
    if (strcmp(n->op_type, "ReduceMean")) return 0;
    const int rank = layout == GCAM_LAYER_TOKENS ? 3 : 4;
    const int64_t want0 = layout == GCAM_LAYER_NCHW ? 2 : 1, want1 = layout == GCAM_LAYER_TOKENS ? -1 : want0 + 1;
    int64_t axes[GCAM_MAX_DIMS];
    int na = gcam_attr_ints(n, "axes", axes, GCAM_MAX_DIMS);
    if (na < 0 && n->n_in > 1 && n->in[1] >= 0) {
        const gcam_tensor *a = &g->tensors[n->in[1]];
        if (!(a->flags & GCAM_TF_CONST) || a->dtype != GCAM_DT_I64 || gcam_numel(a) > GCAM_MAX_DIMS) return 0;
        na = (int)gcam_numel(a);
        for (int i = 0; i < na; i++) axes[i] = gcam_i64(a)[i];
    }
    if (na != (want1 < 0 ? 1 : 2)) return 0;
    int has0 = 0, has1 = want1 < 0;
    for (int i = 0; i < na; i++) {
        int64_t ax = axes[i] < 0 ? axes[i] + rank : axes[i];
        has0 |= ax == want0;
        has1 |= ax == want1;
    }
    return has0 && has1;
}

/* The node that pools the layer (its sole reader; for a channels-last map
 * also through a Transpose back to channels first), or -1. */
static int pooling_node(const gcam_graph *g, int layer_t, const gcam_layer *info)
{
    int ni = gcam_cam_sole_reader(g, layer_t);
    if (ni < 0) return -1;
    if (is_spatial_mean(g, &g->nodes[ni], info->layout)) return ni;
    const gcam_node *n = &g->nodes[ni];
    int64_t perm[GCAM_MAX_DIMS];
    if (info->layout != GCAM_LAYER_NHWC || strcmp(n->op_type, "Transpose") ||
        gcam_attr_ints(n, "perm", perm, GCAM_MAX_DIMS) != 4 || perm[0] != 0 || perm[1] != 3 || perm[2] != 1 ||
        perm[3] != 2)
        return -1;
    ni = gcam_cam_sole_reader(g, n->out[0]);
    return ni >= 0 && is_spatial_mean(g, &g->nodes[ni], GCAM_LAYER_NCHW) ? ni : -1;
}

static int unsupported(gcam_cam_ctx *c, int layer_t, const char *why)
{
    return gcam_errf(c->err, GCAM_E_UNSUPPORTED,
                     "cam needs a GAP + linear head (layer -> GlobalAveragePool -> Flatten -> Gemm/MatMul -> target); "
                     "layer '%s': %s; use gradcam, which equals CAM on such networks",
                     c->g->tensors[layer_t].name, why);
}

int gcam_cam_classic(gcam_cam_ctx *c, int layer_t, const gcam_layer *info, float *w)
{
    const gcam_graph *g = c->g;
    int64_t K = info->channels;
    if (c->o->target_softmax) return unsupported(c, layer_t, "it explains a logit, not --target-softmax");
    if (info->layout == GCAM_LAYER_TOKENS && info->skip > 0) /* ViT, DeiT: the head reads the class token */
        return unsupported(c, layer_t, "a token layer with a class token, which the classifier reads instead of "
                                       "the mean of the tokens");
    int ni = pooling_node(g, layer_t, info);
    if (ni < 0) return unsupported(c, layer_t, "the layer does not feed global average pooling alone");
    int t = g->nodes[ni].out[0];
    for (;;) {
        ni = gcam_cam_sole_reader(g, t);
        if (ni < 0) return unsupported(c, layer_t, "the pooled features do not feed one classifier");
        const char *op = g->nodes[ni].op_type;
        if (strcmp(op, "Flatten") && strcmp(op, "Reshape") && strcmp(op, "Squeeze") && strcmp(op, "Identity") &&
            strcmp(op, "Dropout"))
            break;
        t = g->nodes[ni].out[0];
    }
    const gcam_node *n = &g->nodes[ni];
    const gcam_tensor *x = &g->tensors[t];
    if (gcam_numel(x) != K || x->ndim != 2) return unsupported(c, layer_t, "the classifier input is not the K pooled features");
    gcam_cam_linear l;
    const char *why = gcam_cam_linear_of(g, n, t, &l);
    if (why) return unsupported(c, layer_t, why);
    if (l.n_in != K) return unsupported(c, layer_t, "the classifier weights do not match the layer's channels");
    int y = n->out[0];
    ni = gcam_cam_sole_reader(g, y);
    if (y != c->target_t && ni >= 0 && !strcmp(g->nodes[ni].op_type, "Add")) {
        const gcam_node *add = &g->nodes[ni];
        int other = add->in[0] == y ? add->in[1] : add->in[0];
        if (other < 0 || !(g->tensors[other].flags & GCAM_TF_CONST)) return unsupported(c, layer_t, "the classifier bias is not a constant");
        y = add->out[0];
    }
    if (y != c->target_t) return unsupported(c, layer_t, "the classifier's output is not the target");
    int64_t cls = c->target;
    if (cls < 0 || cls >= l.n_out) return unsupported(c, layer_t, "the target is not a class of the classifier");
    float sign = c->o->counterfactual ? -1.0f : 1.0f;
    for (int64_t k = 0; k < K; k++) w[k] = sign * l.alpha * (l.transB ? l.W[cls * K + k] : l.W[k * l.n_out + cls]);
    return GCAM_OK;
}

int gcam_cam_map_cam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_WEIGHTS;
    return gcam_cam_classic(c, l->layer_t, l->info, l->w);
}
