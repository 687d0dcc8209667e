/* ablationcam.c - Ablation-CAM (Desai & Ramaswamy 2020), pytorch-grad-cam's
 * form: w_k = (y - y_k) / y, where y_k is the score with channel k of the
 * layer replaced by the ablation value.
 *
 * Only the graph after the layer runs again: the layer's activation (from
 * the one forward pass) is fed to a suffix plan (src/graph/suffix.c) as a
 * batch of copies, copy b with one channel ablated.  Tensors that cross the
 * layer from before it (skip connections) are fed from that same forward
 * pass.  The copies stay in the suffix's input between batches; only the
 * channels ablated in the last batch are restored.
 *
 * The ablation value is pytorch-grad-cam's: 0 when the layer's minimum is
 * exactly 0 (a ReLU output), else min(A) - 1e7 - the same for every channel
 * (pytorch-grad-cam recomputes the minimum inside its batch loop after each
 * ablation, so its value drifts by another -1e7 per batch position; we take
 * the intended constant).  ablation_zero uses 0 always, as the paper.
 *
 * A token or channels-last layer loses channel k at every position it holds,
 * special tokens included - pytorch-grad-cam's AblationLayerVit, which
 * ablates output[:, :, k] of the N x T x C tensor - and its minimum, for the
 * ablation value, is taken over the whole tensor likewise. */
#include <stdlib.h>

#include "cam/cam.h"

void gcam_cam_ablation_weights(float y, const float *yk, int64_t K, float *w)
{
    double den = y;
    if (fabs(den) < 1e-7) den = den < 0 ? -1e-7 : 1e-7;
    for (int64_t k = 0; k < K; k++) {
        double v = ((double)y - (double)yk[k]) / den;
        w[k] = isfinite(v) ? (float)v : 0.0f;
    }
}

float gcam_cam_ablation_value(const float *A, int64_t n)
{
    float lo = INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (A[i] < lo) lo = A[i];
    if (lo == 0.0f || !isfinite(lo)) return 0.0f;
    return lo - 1e7f;
}

/* Channel k of one item of the layer (K channels at P positions, channels
 * last when cl) set to value, or restored from src when src != NULL. */
static void set_channel(float *item, const float *src, int64_t k, int64_t K, int64_t P, int cl, float value)
{
    const int64_t step = cl ? K : 1, at = cl ? k : k * P;
    for (int64_t p = 0; p < P; p++) item[at + p * step] = src ? src[at + p * step] : value;
}

int gcam_cam_ablationcam(gcam_cam_ctx *c, int layer_t, const gcam_layer *info, float *w)
{
    gcam_graph *g = c->g;
    const gcam_tensor *At = &g->tensors[layer_t];
    const float *A = gcam_f32(At);
    /* every position of the item, special tokens included */
    const int cl = info->layout != GCAM_LAYER_NCHW;
    int64_t K = info->channels, one = gcam_numel(At) / At->dims[0], HW = one / K;
    float value = c->o->ablation_zero ? 0.0f : gcam_cam_ablation_value(A, one);
    float *yk = gcam_malloc(sizeof(float) * (size_t)(K + 1));
    gcam_suffix *v = NULL, *pre = NULL;
    if (!yk) return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    int rc = gcam_suffix_new(g, &layer_t, 1, c->target_t, c->batch, &v, c->err);
    if (rc == GCAM_E_UNSUPPORTED && c->batch > 1) rc = gcam_suffix_new(g, &layer_t, 1, c->target_t, 1, &v, c->err);
    if (!rc) rc = gcam_suffix_feed_sides(v, g, c->err);
    if (!rc && g->settings.v[GCAM_OPT_ABLATION_RERUN]) {
        /* the pytorch-grad-cam way, for benchmarks: the prefix runs again for every batch */
        rc = gcam_suffix_new(g, &c->input_t, 1, layer_t, v->batch, &pre, c->err);
        if (!rc) rc = gcam_suffix_feed_sides(pre, g, c->err);
    }
    if (rc) {
        gcam_free(yk);
        gcam_suffix_free(v);
        gcam_suffix_free(pre);
        return rc;
    }
    int64_t B = v->batch;
    float *L = gcam_f32(&v->g.tensors[layer_t]); /* kept between passes (fed tensors are) */
    const gcam_tensor *out = &v->g.tensors[c->target_t];
    int64_t n1 = gcam_numel(out) / B;
    for (int64_t b = 0; b < B; b++) memcpy(L + b * one, A, sizeof(float) * (size_t)one);
    for (int64_t k0 = 0; k0 < K && !rc; k0 += B) {
        int64_t nb = K - k0 < B ? K - k0 : B;
        for (int64_t b = 0; b < nb; b++) set_channel(L + b * one, NULL, k0 + b, K, HW, cl, value);
        if (pre) {
            float *xin = gcam_f32(&pre->g.tensors[c->input_t]);
            int64_t img = c->C * c->H * c->W;
            for (int64_t b = 0; b < B; b++) memcpy(xin + b * img, c->x, sizeof(float) * (size_t)img);
            rc = gcam_graph_forward(&pre->g, c->err);
        }
        if (!rc) rc = gcam_graph_forward(&v->g, c->err);
        if (rc) break;
        const float *y = gcam_f32(out);
        for (int64_t b = 0; b < nb; b++) yk[k0 + b] = gcam_cam_item_score(c, y + b * n1, n1);
        for (int64_t b = 0; b < nb; b++) set_channel(L + b * one, A, k0 + b, K, HW, cl, 0.0f); /* restore */
        gcam_cam_progress(c, "ablationcam", k0 + nb, K);
    }
    if (!rc) gcam_cam_ablation_weights(c->score, yk, K, w);
    gcam_free(yk);
    gcam_suffix_free(v);
    gcam_suffix_free(pre);
    return rc;
}

int gcam_cam_map_ablationcam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_WEIGHTS;
    return gcam_cam_ablationcam(c, l->layer_t, l->info, l->w);
}
