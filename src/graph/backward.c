/* backward.c - reverse mode over activations only, only where needed.
 *
 * The path is the set of nodes that lie between the requested layers (or the
 * graph input) and the target tensor: a node runs backward iff one of its
 * inputs depends on a layer and one of its outputs reaches the target.
 * The caller plans with that path as the request's backward set, so the
 * planner keeps the forward activations those nodes read; gradient buffers
 * get their own arena, planned by lifetime in backward order like the
 * forward one. */
#include <stdio.h>
#include <stdlib.h>

#include "graph/graph.h"
#include "kernels/bigmem.h"

int gcam_bwd_prepare(gcam_graph *g, gcam_bwd_plan *bp, gcam_err *e)
{
    int nt = g->n_tensors, nn = g->n_nodes;
    unsigned char *from = gcam_calloc((size_t)nt + 1, 1), *to = gcam_calloc((size_t)nt + 1, 1);
    bp->on_path = gcam_calloc((size_t)nn + 1, 1);
    bp->needs_grad = gcam_calloc((size_t)nt + 1, 1);
    if (!from || !to || !bp->on_path || !bp->needs_grad) {
        gcam_free(from);
        gcam_free(to);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < bp->n_layers; i++) from[bp->layers[i]] = 1;
    if (bp->input_grad)
        for (int i = 0; i < g->n_inputs; i++) from[g->inputs[i]] = 1;
    for (int s = 0; s < nn; s++) {
        gcam_node *n = &g->nodes[g->order[s]];
        int any = 0;
        for (int k = 0; k < n->n_in; k++) any |= n->in[k] >= 0 && from[n->in[k]];
        if (any)
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0) from[n->out[k]] = 1;
    }
    to[bp->target] = 1;
    for (int s = nn - 1; s >= 0; s--) {
        gcam_node *n = &g->nodes[g->order[s]];
        int any = 0;
        for (int k = 0; k < n->n_out; k++) any |= n->out[k] >= 0 && to[n->out[k]];
        if (any)
            for (int k = 0; k < n->n_in; k++)
                if (n->in[k] >= 0) to[n->in[k]] = 1;
    }
    int rc = GCAM_OK;
    for (int i = 0; i < bp->n_layers && !rc; i++)
        if (!to[bp->layers[i]])
            rc = gcam_errf(e, GCAM_E_ARG, "the target '%s' does not depend on layer '%s'",
                           g->tensors[bp->target].name, g->tensors[bp->layers[i]].name);
    /* integer tensors made by a straight-through op carry a float gradient */
    unsigned char *st = gcam_calloc((size_t)nt + 1, 1);
    if (!st) rc = gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    for (int i = 0; i < nn && st; i++)
        if (g->nodes[i].op && (g->nodes[i].op->flags & GCAM_OPF_STRAIGHT_THROUGH))
            for (int k = 0; k < g->nodes[i].n_out; k++)
                if (g->nodes[i].out[k] >= 0) st[g->nodes[i].out[k]] = 1;
    for (int t = 0; t < nt; t++)
        bp->needs_grad[t] = from[t] && to[t] && (g->tensors[t].dtype == GCAM_DT_F32 || (st && st[t])) &&
                            !(g->tensors[t].flags & GCAM_TF_INIT);
    for (int i = 0; i < nn && !rc; i++) {
        gcam_node *n = &g->nodes[i];
        int in_from = 0, out_to = 0;
        for (int k = 0; k < n->n_in; k++) in_from |= n->in[k] >= 0 && bp->needs_grad[n->in[k]];
        for (int k = 0; k < n->n_out; k++) out_to |= n->out[k] >= 0 && bp->needs_grad[n->out[k]];
        if (!(in_from && out_to)) continue;
        if (!n->op->backward) {
            rc = gcam_errf(e, GCAM_E_UNSUPPORTED, "node '%s' (%s) lies between the layer and the target but has no gradient",
                           n->name, n->op_type);
            break;
        }
        bp->on_path[i] = 1;
    }
    gcam_free(st);
    gcam_free(from);
    gcam_free(to);
    g->grads_plan_id = 0; /* the gradient layout depends on the path: lay it out again */
    return rc;
}

void gcam_bwd_release(gcam_bwd_plan *bp)
{
    gcam_free(bp->on_path);
    gcam_free(bp->needs_grad);
    bp->on_path = bp->needs_grad = NULL;
}

/* Lays out gradient buffers for the current plan (called after planning). */
static int plan_grads(gcam_graph *g, gcam_bwd_plan *bp, gcam_err *e)
{
    int nt = g->n_tensors;
    gcam_free(g->grads);
    gcam_free(g->grad_arena);
    g->grad_arena = NULL;
    g->grads = gcam_calloc((size_t)nt + 1, sizeof(gcam_tensor));
    int *born = gcam_malloc(sizeof(int) * (nt + 1)), *dies = gcam_malloc(sizeof(int) * (nt + 1));
    gcam_live_range *r = gcam_malloc(sizeof(gcam_live_range) * (nt + 1));
    if (!g->grads || !born || !dies || !r) {
        gcam_free(born); gcam_free(dies); gcam_free(r);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    for (int t = 0; t < nt; t++) born[t] = dies[t] = -1;
    born[bp->target] = 0;
    /* backward step b = n_run - 1 - forward step */
    for (int s = g->n_run - 1; s >= 0; s--) {
        int b = g->n_run - 1 - s;
        gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (!bp->on_path[g->run_nodes[s]]) continue;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t >= 0 && bp->needs_grad[t] && born[t] < 0) born[t] = b;
        }
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            if (t >= 0 && bp->needs_grad[t]) {
                if (born[t] < 0) born[t] = b;
                dies[t] = b;
            }
        }
    }
    for (int i = 0; i < bp->n_layers; i++) dies[bp->layers[i]] = g->n_run;
    if (bp->input_grad)
        for (int i = 0; i < g->n_inputs; i++) dies[g->inputs[i]] = g->n_run;
    int nr = 0;
    for (int t = 0; t < nt; t++) {
        if (!bp->needs_grad[t] || born[t] < 0) continue;
        if (dies[t] < born[t]) dies[t] = born[t];
        r[nr].t = t;
        r[nr].first = born[t];
        r[nr].last = dies[t];
        gcam_tensor as_float = g->tensors[t]; /* gradients are float32 whatever the tensor's type */
        as_float.dtype = GCAM_DT_F32;
        r[nr].size = gcam_align64(gcam_tensor_bytes(&as_float));
        nr++;
    }
    size_t total = gcam_assign_offsets(r, nr);
    gcam_free(born);
    gcam_free(dies);
    const size_t budget = gcam_mem_budget(g->mem_limit), used = g->arena_bytes + g->scratch_bytes;
    if (total != SIZE_MAX && (used > budget || total > budget - used)) {
        gcam_free(r);
        return gcam_errf(e, GCAM_E_NOMEM,
                         "the backward pass needs %.1f MB of gradient memory beside %.1f MB of activations, more than the limit of %.1f MB (gcam_model_set_memory_limit, gradcam --max-memory)",
                         (double)total / 1048576.0, (double)used / 1048576.0, (double)budget / 1048576.0);
    }
    if (total == SIZE_MAX || !(g->grad_arena = gcam_aligned_alloc(64, total ? total : 64))) {
        gcam_free(r);
        return gcam_errf(e, GCAM_E_NOMEM, "cannot allocate gradient memory");
    }
    g->grad_arena_bytes = total;
    for (int i = 0; i < nr; i++) {
        gcam_tensor *gt = &g->grads[r[i].t];
        *gt = g->tensors[r[i].t];
        gt->dtype = GCAM_DT_F32;
        gt->flags = 0;
        gt->data = g->grad_arena + r[i].off;
    }
    gcam_free(r);
    return GCAM_OK;
}

int gcam_bwd_run(gcam_graph *g, gcam_bwd_plan *bp, const float *seed, int64_t seed_index,
                 float seed_value, int guided, gcam_err *e)
{
    if (!g->planned) return gcam_errf(e, GCAM_E_ARG, "graph is not planned");
    int rc;
    if (g->grads_plan_id != g->plan_id || !g->grads) {
        if ((rc = plan_grads(g, bp, e))) return rc;
        g->grads_plan_id = g->plan_id;
    }
    unsigned char *zeroed = gcam_calloc((size_t)g->n_tensors + 1, 1);
    if (!zeroed) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    gcam_tensor *tg = &g->grads[bp->target];
    int64_t nt = gcam_numel(tg);
    float *dt = tg->data;
    if (seed) memcpy(dt, seed, sizeof(float) * (size_t)nt);
    else {
        if (seed_index < 0 || seed_index >= nt) {
            gcam_free(zeroed);
            return gcam_errf(e, GCAM_E_RANGE, "target index %lld out of range for '%s' (%lld elements)",
                             (long long)seed_index, g->tensors[bp->target].name, (long long)nt);
        }
        memset(dt, 0, sizeof(float) * (size_t)nt);
        dt[seed_index] = seed_value;
    }
    zeroed[bp->target] = 1;
    gcam_tensor *in[1024], *out[1024], *din[1024], *dout[1024];
    rc = GCAM_OK;
    for (int s = g->n_run - 1; s >= 0 && !rc; s--) {
        int ni = g->run_nodes[s];
        if (!bp->on_path[ni]) continue;
        gcam_node *n = &g->nodes[ni];
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            in[k] = t >= 0 ? &g->tensors[t] : NULL;
            din[k] = t >= 0 && bp->needs_grad[t] && g->grads[t].data ? &g->grads[t] : NULL;
            if (din[k] && !zeroed[t]) {
                memset(din[k]->data, 0, gcam_tensor_bytes(din[k]));
                zeroed[t] = 1;
            }
        }
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            out[k] = t >= 0 ? &g->tensors[t] : NULL;
            dout[k] = t >= 0 && bp->needs_grad[t] && zeroed[t] ? &g->grads[t] : NULL;
        }
        gcam_opctx c = {.node = n, .in = in, .out = out, .din = din, .dout = dout,
                        .scratch = g->scratch, .guided = guided, .err = e, .nthreads = g->nthreads,
                        .set = &g->settings};
        const double t0 = n->prof ? gcam_now_ms() : 0;
        rc = n->op->backward(&c);
        if (n->prof) {
            n->prof->bwd_ms += gcam_now_ms() - t0;
            n->prof->bwd_calls++;
        }
    }
    /* layers no path reached keep a defined (zero) gradient */
    for (int i = 0; i < bp->n_layers && !rc; i++) {
        int t = bp->layers[i];
        if (!zeroed[t] && g->grads[t].data) memset(g->grads[t].data, 0, gcam_tensor_bytes(&g->grads[t]));
    }
    gcam_free(zeroed);
    return rc;
}
