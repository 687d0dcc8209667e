/* classic_cam.c - CAM (Zhou et al. 2016) for networks that end in global
 * average pooling and one linear layer: the class's row of the classifier
 * weights the feature maps.  Grad-CAM reduces to it (up to the 1/(u v) of the
 * pooling) on exactly these networks.
 *
 * Recognised head, starting at the layer:
 *   GlobalAveragePool | ReduceMean over the two spatial axes
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

static int is_spatial_mean(const gcam_graph *g, const gcam_node *n)
{
    if (!strcmp(n->op_type, "GlobalAveragePool")) return 1;
    if (strcmp(n->op_type, "ReduceMean")) return 0;
    int64_t axes[GCAM_MAX_DIMS];
    int na = gcam_attr_ints(n, "axes", axes, GCAM_MAX_DIMS);
    if (na < 0 && n->n_in > 1 && n->in[1] >= 0) {
        const gcam_tensor *a = &g->tensors[n->in[1]];
        if (!(a->flags & GCAM_TF_CONST) || a->dtype != GCAM_DT_I64 || gcam_numel(a) > GCAM_MAX_DIMS) return 0;
        na = (int)gcam_numel(a);
        for (int i = 0; i < na; i++) axes[i] = gcam_i64(a)[i];
    }
    if (na != 2) return 0;
    int has2 = 0, has3 = 0;
    for (int i = 0; i < 2; i++) {
        int64_t ax = axes[i] < 0 ? axes[i] + 4 : axes[i];
        has2 |= ax == 2;
        has3 |= ax == 3;
    }
    return has2 && has3;
}

static int unsupported(gcam_cam_ctx *c, const char *why)
{
    return gcam_errf(c->err, GCAM_E_UNSUPPORTED,
                     "cam needs a GAP + linear head (layer -> GlobalAveragePool -> Flatten -> Gemm/MatMul -> target): %s; use gradcam, which equals CAM on such networks",
                     why);
}

int gcam_cam_classic(gcam_cam_ctx *c, int layer_t, float *w)
{
    const gcam_graph *g = c->g;
    int64_t K = g->tensors[layer_t].dims[1];
    if (c->o->target_softmax) return unsupported(c, "it explains a logit, not --target-softmax");
    int ni = gcam_cam_sole_reader(g, layer_t);
    if (ni < 0 || !is_spatial_mean(g, &g->nodes[ni])) return unsupported(c, "the layer does not feed global average pooling alone");
    int t = g->nodes[ni].out[0];
    for (;;) {
        ni = gcam_cam_sole_reader(g, t);
        if (ni < 0) return unsupported(c, "the pooled features do not feed one classifier");
        const char *op = g->nodes[ni].op_type;
        if (strcmp(op, "Flatten") && strcmp(op, "Reshape") && strcmp(op, "Squeeze") && strcmp(op, "Identity") &&
            strcmp(op, "Dropout"))
            break;
        t = g->nodes[ni].out[0];
    }
    const gcam_node *n = &g->nodes[ni];
    const gcam_tensor *x = &g->tensors[t];
    if (gcam_numel(x) != K || x->ndim != 2) return unsupported(c, "the classifier input is not the K pooled features");
    gcam_cam_linear l;
    const char *why = gcam_cam_linear_of(g, n, t, &l);
    if (why) return unsupported(c, why);
    if (l.n_in != K) return unsupported(c, "the classifier weights do not match the layer's channels");
    int y = n->out[0];
    ni = gcam_cam_sole_reader(g, y);
    if (y != c->target_t && ni >= 0 && !strcmp(g->nodes[ni].op_type, "Add")) {
        const gcam_node *add = &g->nodes[ni];
        int other = add->in[0] == y ? add->in[1] : add->in[0];
        if (other < 0 || !(g->tensors[other].flags & GCAM_TF_CONST)) return unsupported(c, "the classifier bias is not a constant");
        y = add->out[0];
    }
    if (y != c->target_t) return unsupported(c, "the classifier's output is not the target");
    int64_t cls = c->target;
    if (cls < 0 || cls >= l.n_out) return unsupported(c, "the target is not a class of the classifier");
    float sign = c->o->counterfactual ? -1.0f : 1.0f;
    for (int64_t k = 0; k < K; k++) w[k] = sign * l.alpha * (l.transB ? l.W[cls * K + k] : l.W[k * l.n_out + cls]);
    return GCAM_OK;
}

int gcam_cam_map_cam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_WEIGHTS;
    return gcam_cam_classic(c, l->layer_t, l->w);
}
