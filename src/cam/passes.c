/* passes.c - what the pass-based methods share: the score of one batch item,
 * its backward seed, the batched view of the whole network, and progress. */
#include <stdlib.h>

#include "cam/cam.h"

/* classes run along the last axis of the item, as in the batch-1 explanation */
static int64_t item_classes(const gcam_cam_ctx *c, int64_t n1)
{
    const gcam_tensor *y = &c->g->tensors[c->target_t];
    int64_t C = y->ndim ? y->dims[y->ndim - 1] : 1;
    return C > n1 ? n1 : C;
}

static double item_softmax(const gcam_cam_ctx *c, const float *item, int64_t n1, double *mx_out, double *sum_out)
{
    int64_t C = item_classes(c, n1);
    double mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < C; i++) mx = item[i] > mx ? item[i] : mx;
    for (int64_t i = 0; i < C; i++) sum += exp(item[i] - mx);
    if (mx_out) *mx_out = mx;
    if (sum_out) *sum_out = sum;
    double p = c->target >= 0 && c->target < C ? exp(item[c->target] - mx) / sum : 0.0;
    return isfinite(p) ? p : 0.0;
}

float gcam_cam_item_prob(const gcam_cam_ctx *c, const float *item, int64_t n1)
{
    float p = (float)item_softmax(c, item, n1, NULL, NULL);
    return c->o->counterfactual ? -p : p;
}

float gcam_cam_item_score(const gcam_cam_ctx *c, const float *item, int64_t n1)
{
    if (c->o->target_weights) { /* sum(w * y), checked against n1 by src/api/explain.c */
        double s = 0.0;
        for (int64_t i = 0; i < n1 && i < c->o->n_target_weights; i++) s += (double)c->o->target_weights[i] * item[i];
        return (float)(c->o->counterfactual ? -s : s);
    }
    if (c->o->target_softmax) return gcam_cam_item_prob(c, item, n1);
    float v = item[c->target];
    return c->o->counterfactual ? -v : v;
}

void gcam_cam_item_seed(const gcam_cam_ctx *c, const float *item, int64_t n1, float *seed)
{
    float sign = c->o->counterfactual ? -1.0f : 1.0f;
    memset(seed, 0, sizeof(float) * (size_t)n1);
    if (c->o->target_weights) {
        for (int64_t i = 0; i < n1 && i < c->o->n_target_weights; i++) seed[i] = c->o->target_weights[i] * sign;
        return;
    }
    if (!c->o->target_softmax) {
        seed[c->target] = sign;
        return;
    }
    /* d softmax_t / d z_i = p_t (delta_ti - p_i) */
    int64_t C = item_classes(c, n1);
    double mx, sum;
    double pt = item_softmax(c, item, n1, &mx, &sum);
    for (int64_t i = 0; i < C; i++) seed[i] = (float)(-pt * exp(item[i] - mx) / sum) * sign;
    seed[c->target] += (float)pt * sign;
}

void gcam_cam_progress(const gcam_cam_ctx *c, const char *what, int64_t done, int64_t total)
{
    if (c->o->progress) c->o->progress(c->o->progress_user, what, done, total);
}

/* Batches of the whole network stay within this many bytes of activations
 * (and as much again of gradients) unless the caller set batch_size. */
#define VIEW_BUDGET_BYTES ((size_t)512 << 20)

static int build_view(gcam_cam_ctx *c, int fed_t, int64_t batch, gcam_bwd_plan *bp, gcam_suffix **out)
{
    gcam_suffix *v = NULL;
    const int any = fed_t != c->input_t;
    int rc = gcam_suffix_new_ex(c->g, &fed_t, 1, c->target_t, batch, any, &v, c->err);
    if (rc == GCAM_E_UNSUPPORTED && batch > 1)
        rc = gcam_suffix_new_ex(c->g, &fed_t, 1, c->target_t, 1, any, &v, c->err);
    if (!rc && bp) {
        memset(bp, 0, sizeof *bp);
        bp->target = c->target_t;
        bp->input_grad = 1;
        rc = gcam_bwd_prepare(&v->g, bp, c->err);
        if (!rc) rc = gcam_suffix_plan(v, bp, c->err); /* keep what backward reads */
    }
    if (rc) {
        if (bp) gcam_bwd_release(bp);
        gcam_suffix_free(v);
        return rc;
    }
    *out = v;
    return GCAM_OK;
}

static int sized_view(gcam_cam_ctx *c, int fed_t, gcam_bwd_plan *bp, gcam_suffix **out)
{
    int64_t batch = c->batch;
    if (!c->o->batch_size && batch > 1) {
        /* size the batch from one image's plan */
        gcam_suffix *one = NULL;
        int rc = build_view(c, fed_t, 1, bp, &one);
        if (rc) return rc;
        size_t per = one->g.arena_bytes * (bp ? 2 : 1);
        int64_t fit = per ? (int64_t)(VIEW_BUDGET_BYTES / per) : batch;
        if (fit < 1) fit = 1;
        if (fit < batch) batch = fit;
        if (batch == 1) {
            *out = one;
            return GCAM_OK;
        }
        if (bp) gcam_bwd_release(bp);
        gcam_suffix_free(one);
    }
    return build_view(c, fed_t, batch, bp, out);
}

int gcam_cam_input_view(gcam_cam_ctx *c, gcam_bwd_plan *bp, gcam_suffix **out)
{
    return sized_view(c, c->input_t, bp, out);
}

int gcam_cam_feed_view(gcam_cam_ctx *c, int fed_t, gcam_suffix **out)
{
    return sized_view(c, fed_t, NULL, out);
}

int gcam_cam_view_pass(gcam_cam_ctx *c, gcam_suffix *v, gcam_bwd_plan *bp, int64_t n, int guided)
{
    int rc = gcam_graph_forward(&v->g, c->err);
    if (rc || !bp) return rc;
    const gcam_tensor *out = &v->g.tensors[c->target_t];
    int64_t nt = gcam_numel(out), n1 = nt / v->batch;
    float *seed = gcam_calloc((size_t)nt, sizeof(float));
    if (!seed) return gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
    for (int64_t b = 0; b < n; b++) gcam_cam_item_seed(c, gcam_f32(out) + b * n1, n1, seed + b * n1);
    rc = gcam_bwd_run(&v->g, bp, seed, 0, 0.0f, guided, c->err);
    gcam_free(seed);
    return rc;
}
