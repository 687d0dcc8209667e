/* headsum.c - Grad-CAM's channel weights through a flattening linear head.
 *
 * VGG and AlexNet flatten the last feature maps A (1 x K x h x w) into one
 * row x (1 x Khw) and feed it to a fully connected layer y = alpha x W'^T
 * (W': N x Khw).  The backward pass through that layer, dx = alpha dy W',
 * streams all of W' (411 MB for VGG16's first classifier layer, as much as
 * its whole forward pass reads again).  Grad-CAM only needs the spatial mean
 * of dA per channel, and the mean commutes with the product:
 *
 *   w_k = 1/hw sum_p dA_kp = alpha/hw sum_j dy_j S_jk,
 *   S_jk = sum_p W'_j,(k hw + p)                       (N x K: 8 MB for VGG16)
 *
 * so the backward pass stops at y, and S is summed once per model and layer.
 * Same arithmetic as the full backward up to float rounding; the
 * "head-shortcut" setting turns it off (the unit test compares both). */
#include <stdlib.h>

#include "cam/cam.h"

struct gcam_headsum {
    int layer, y;
    int64_t N, K, HW;
    float alpha;
    float *S; /* N x K */
};

/* Matches layer -> Flatten | Reshape (to 1 x Khw) -> linear layer; fills *l. */
static int match(const gcam_graph *g, int layer_t, gcam_cam_linear *l)
{
    const gcam_tensor *A = &g->tensors[layer_t];
    if (A->ndim != 4 || A->dims[0] != 1 || (A->flags & (GCAM_TF_OUTPUT | GCAM_TF_CONST))) return -1;
    int ni = gcam_cam_sole_reader(g, layer_t);
    if (ni < 0) return -1;
    const gcam_node *f = &g->nodes[ni];
    if ((strcmp(f->op_type, "Flatten") && strcmp(f->op_type, "Reshape")) || f->in[0] != layer_t || f->n_out < 1)
        return -1;
    const int x = f->out[0];
    if (x < 0 || g->tensors[x].ndim != 2 || g->tensors[x].dims[0] != 1 ||
        g->tensors[x].dims[1] != gcam_numel(A) || (g->tensors[x].flags & GCAM_TF_OUTPUT))
        return -1;
    ni = gcam_cam_sole_reader(g, x);
    if (ni < 0 || gcam_cam_linear_of(g, &g->nodes[ni], x, l) || l->n_in != gcam_numel(A)) return -1;
    const int y = g->nodes[ni].n_out >= 1 ? g->nodes[ni].out[0] : -1;
    return y >= 0 && g->tensors[y].dtype == GCAM_DT_F32 && gcam_numel(&g->tensors[y]) == l->n_out ? y : -1;
}

int gcam_cam_head_find(const gcam_graph *g, int layer_t)
{
    gcam_cam_linear l;
    return g->settings.v[GCAM_OPT_HEAD_SHORTCUT] ? match(g, layer_t, &l) : -1;
}

void gcam_cam_head_free(gcam_headsum *h)
{
    if (!h) return;
    gcam_free(h->S);
    gcam_free(h);
}

/* S_jk = sum_p W'_j,(k hw + p), in float (hw terms). */
static int make_sums(gcam_cam_ctx *c, int layer_t, int y_t, gcam_headsum **out)
{
    gcam_cam_linear l;
    if (match(c->g, layer_t, &l) != y_t)
        return gcam_errf(c->err, GCAM_E_INTERNAL, "layer '%s' lost its linear head", c->g->tensors[layer_t].name);
    const gcam_tensor *A = &c->g->tensors[layer_t];
    const int64_t K = A->dims[1], HW = A->dims[2] * A->dims[3], N = l.n_out;
    gcam_headsum *h = gcam_calloc(1, sizeof *h);
    if (h) h->S = gcam_malloc(sizeof(float) * (size_t)(N * K + 1));
    if (!h || !h->S) {
        gcam_cam_head_free(h);
        return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    }
    h->layer = layer_t;
    h->y = y_t;
    h->N = N;
    h->K = K;
    h->HW = HW;
    h->alpha = l.alpha;
    float *S = h->S, *T = NULL;
    const float *W = l.W;
    if (l.transB) {
        /* W' is W: row j holds channel after channel, hw weights each */
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < N; j++) {
            const float *r = W + j * K * HW;
            for (int64_t k = 0; k < K; k++) {
                const float *q = r + k * HW;
                float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
                for (int64_t p = 0; p < HW; p++) sum += q[p];
                S[j * K + k] = sum;
            }
        }
    } else if ((T = gcam_malloc(sizeof(float) * (size_t)(N * K + 1)))) {
        /* W' is W^T (W: Khw x N): rows k hw .. k hw + hw - 1 add up into
         * row k of T (K x N), then S = T^T */
#pragma omp parallel for schedule(static)
        for (int64_t k = 0; k < K; k++) {
            float *t = T + k * N;
            memcpy(t, W + k * HW * N, sizeof(float) * (size_t)N);
            for (int64_t p = 1; p < HW; p++) {
                const float *r = W + (k * HW + p) * N;
                for (int64_t j = 0; j < N; j++) t[j] += r[j];
            }
        }
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < N; j++) S[j * K + k] = T[k * N + j];
        gcam_free(T);
    } else {
        gcam_cam_head_free(h);
        return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    }
    *out = h;
    return GCAM_OK;
}

int gcam_cam_head_weights(gcam_cam_ctx *c, gcam_headsum **cache, int layer_t, int y_t, float *w)
{
    const gcam_tensor *A = &c->g->tensors[layer_t];
    const int64_t HW = A->dims[2] * A->dims[3];
    gcam_headsum *h = *cache;
    if (!h || h->layer != layer_t || h->y != y_t || h->HW != HW || h->K != A->dims[1]) {
        gcam_cam_head_free(h);
        *cache = NULL;
        int rc = make_sums(c, layer_t, y_t, cache);
        if (rc) return rc;
        h = *cache;
    }
    const float *dy = gcam_f32(&c->g->grads[y_t]);
    const int64_t K = h->K;
    double *acc = gcam_calloc((size_t)K + 1, sizeof(double));
    if (!acc) return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    for (int64_t j = 0; j < h->N; j++) {
        if (dy[j] == 0.0f) continue; /* a Relu after the linear layer zeroes about half */
        const float *s = h->S + j * K;
        for (int64_t k = 0; k < K; k++) acc[k] += (double)dy[j] * s[k];
    }
    for (int64_t k = 0; k < K; k++) w[k] = (float)(acc[k] * h->alpha / (double)HW);
    gcam_free(acc);
    if (c->stats) c->stats->headsum_taken++;
    return GCAM_OK;
}
