/* suffix.c - a second plan of the same graph that starts from given tensors.
 *
 * Ablation-CAM re-runs only what lies after the layer, for a batch of
 * ablated copies of it; Score-CAM, integrated gradients and SmoothGrad run
 * the whole network on a batch even when the model's input has a fixed batch
 * of 1.  Both are the same thing: a view of the graph in which some tensors
 * (`fed`) are inputs of batch B, pruned to the nodes the target needs.
 *
 * The view shares everything immutable with the main graph (names, nodes'
 * attributes and op params, initializer data, the name hash) and owns its
 * own tensor descriptors, node list, arena, scratch and gradient buffers, so
 * planning it leaves the main plan untouched.  Op params are set once at
 * load (init), never by infer, so sharing them between plans is safe.
 *
 * Which nodes run: walking back from the target, a node is kept when one of
 * its outputs is needed and either depends on a fed tensor or is a constant
 * (shape arithmetic, re-folded at the view's batch).  A needed float tensor
 * that does not depend on any fed tensor - a skip connection that starts
 * before the layer, or the graph input itself - is a "side" input: the
 * prefix computed it once, and gcam_suffix_feed_sides() copies it from the
 * main graph, repeated over the batch.  So the layer does not have to
 * dominate the output. */
#include <stdio.h>
#include <stdlib.h>

#include "graph/graph.h"

/* Marks node_in (per node of g) and side (per tensor).  g must be planned. */
static int analyse(gcam_graph *g, const int *fed, int n_fed, int target, unsigned char *node_in,
                   unsigned char *side, gcam_err *e)
{
    int nt = g->n_tensors, nn = g->n_nodes;
    unsigned char *dep = gcam_calloc((size_t)nt + 1, 1), *isfed = gcam_calloc((size_t)nt + 1, 1);
    unsigned char *need = gcam_calloc((size_t)nt + 1, 1);
    unsigned char *produced = gcam_calloc((size_t)nt + 1, 1);
    int rc = GCAM_OK;
    if (!dep || !isfed || !need || !produced) {
        rc = gcam_errf(e, GCAM_E_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_fed; i++) dep[fed[i]] = isfed[fed[i]] = 1;
    for (int s = 0; s < nn; s++) {
        const gcam_node *n = &g->nodes[g->order[s]];
        int any = 0;
        for (int k = 0; k < n->n_in; k++) any |= n->in[k] >= 0 && dep[n->in[k]];
        if (any)
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0 && !isfed[n->out[k]]) dep[n->out[k]] = 1;
    }
    if (isfed[target]) {
        rc = gcam_errf(e, GCAM_E_ARG, "the target '%s' is itself fed", g->tensors[target].name);
        goto done;
    }
    if (!dep[target]) {
        rc = gcam_errf(e, GCAM_E_ARG, "the target '%s' does not depend on '%s'", g->tensors[target].name,
                       g->tensors[fed[0]].name);
        goto done;
    }
    need[target] = 1;
    for (int s = nn - 1; s >= 0; s--) {
        int ni = g->order[s];
        const gcam_node *n = &g->nodes[ni];
        int any = 0, out_dep = 0, all_const = 1, all_f32 = 1;
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            if (t < 0 || !need[t] || isfed[t]) continue;
            any = 1;
            out_dep |= dep[t];
            all_const &= (g->tensors[t].flags & GCAM_TF_CONST) != 0;
            all_f32 &= g->tensors[t].dtype == GCAM_DT_F32;
        }
        if (!any) continue;
        if (!out_dep && !all_const && all_f32) {
            /* computed by the prefix: fed from the main graph, repeated */
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0 && need[n->out[k]]) side[n->out[k]] = 1;
            continue;
        }
        node_in[ni] = 1;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) produced[n->out[k]] = 1;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) need[n->in[k]] = 1;
    }
    /* needed tensors nothing in the view produces: initializers, fed, sides, graph inputs */
    for (int t = 0; t < nt && !rc; t++) {
        if (!need[t] || isfed[t] || side[t] || produced[t]) continue;
        const gcam_tensor *x = &g->tensors[t];
        if (x->flags & GCAM_TF_INIT) continue;
        if ((x->flags & GCAM_TF_INPUT) && (x->flags & GCAM_TF_CONST)) continue; /* int64 bound by value */
        if ((x->flags & GCAM_TF_INPUT) && x->dtype == GCAM_DT_F32) {
            side[t] = 1;
            continue;
        }
        rc = gcam_errf(e, GCAM_E_UNSUPPORTED, "cannot run the graph from '%s': it needs '%s', which the prefix does not provide",
                       g->tensors[fed[0]].name, x->name);
    }
done:
    gcam_free(dep);
    gcam_free(isfed);
    gcam_free(need);
    gcam_free(produced);
    return rc;
}

int gcam_suffix_sides(gcam_graph *g, const int *fed, int n_fed, int target, int *sides, int max,
                      gcam_err *e)
{
    if (!g->planned) return gcam_errf(e, GCAM_E_ARG, "graph is not planned");
    unsigned char *node_in = gcam_calloc((size_t)g->n_nodes + 1, 1), *side = gcam_calloc((size_t)g->n_tensors + 1, 1);
    if (!node_in || !side) {
        gcam_free(node_in);
        gcam_free(side);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    int rc = analyse(g, fed, n_fed, target, node_in, side, e), n = 0;
    for (int t = 0; t < g->n_tensors && !rc; t++)
        if (side[t]) {
            if (n == max) rc = gcam_errf(e, GCAM_E_UNSUPPORTED, "more than %d tensors cross the layer", max);
            else sides[n++] = t;
        }
    gcam_free(node_in);
    gcam_free(side);
    return rc ? rc : n;
}

void gcam_suffix_free(gcam_suffix *s)
{
    if (!s) return;
    gcam_graph *v = &s->g;
    if (v->tensors)
        for (int t = 0; t < v->n_tensors; t++) {
            gcam_tensor *x = &v->tensors[t];
            if ((x->flags & GCAM_TF_OWNED) && !(x->flags & GCAM_TF_INIT)) gcam_free(x->data);
        }
    gcam_free(v->tensors);
    gcam_free(v->nodes);
    gcam_free(v->order);
    gcam_free(v->inputs);
    gcam_free(v->outputs);
    gcam_free(v->arena);
    gcam_free(v->scratch);
    gcam_free(v->run_nodes);
    gcam_free(v->grads);
    gcam_free(v->grad_arena);
    gcam_graph_plan_free(v);
    gcam_free(s->fed);
    gcam_free(s->sides);
    gcam_free(s->keep);
    gcam_free(s);
}

int gcam_suffix_new(gcam_graph *g, const int *fed, int n_fed, int target, int64_t batch,
                    gcam_suffix **out, gcam_err *e)
{
    return gcam_suffix_new_ex(g, fed, n_fed, target, batch, 0, out, e);
}

int gcam_suffix_new_ex(gcam_graph *g, const int *fed, int n_fed, int target, int64_t batch, int any_layout,
                       gcam_suffix **out, gcam_err *e)
{
    *out = NULL;
    if (!g->planned) return gcam_errf(e, GCAM_E_ARG, "graph is not planned");
    if (n_fed < 1 || batch < 1) return gcam_errf(e, GCAM_E_ARG, "nothing to feed");
    for (int i = 0; i < n_fed; i++) {
        const gcam_tensor *x = &g->tensors[fed[i]];
        if (x->dtype != GCAM_DT_F32 || x->ndim < 1 || x->dims[0] != 1)
            return gcam_errf(e, GCAM_E_SHAPE, "'%s' must be a float tensor of batch 1 to be fed in batches", x->name);
    }
    int nt = g->n_tensors, nn = g->n_nodes;
    gcam_suffix *s = gcam_calloc(1, sizeof *s);
    unsigned char *node_in = gcam_calloc((size_t)nn + 1, 1), *side = gcam_calloc((size_t)nt + 1, 1);
    if (!s || !node_in || !side) {
        gcam_free(s);
        gcam_free(node_in);
        gcam_free(side);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    int rc = analyse(g, fed, n_fed, target, node_in, side, e);
    gcam_graph *v = &s->g;
    s->batch = batch;
    if (!rc) {
        v->tensors = gcam_malloc(sizeof(gcam_tensor) * ((size_t)nt + 1));
        v->nodes = gcam_malloc(sizeof(gcam_node) * ((size_t)nn + 1));
        v->order = gcam_malloc(sizeof(int) * ((size_t)nn + 1));
        v->inputs = gcam_malloc(sizeof(int) * ((size_t)nt + 1));
        v->outputs = gcam_malloc(sizeof(int));
        s->fed = gcam_malloc(sizeof(int) * (size_t)n_fed);
        s->sides = gcam_malloc(sizeof(int) * ((size_t)nt + 1));
        s->keep = gcam_calloc((size_t)nt + 1, 1);
        if (!v->tensors || !v->nodes || !v->order || !v->inputs || !v->outputs || !s->fed || !s->sides || !s->keep)
            rc = gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    if (!rc) {
        v->n_tensors = v->cap_tensors = nt;
        v->hcap = g->hcap;
        v->hash = g->hash;
        v->nthreads = g->nthreads;
        v->mem_limit = g->mem_limit;
        v->settings = g->settings; /* a view plans with the model's settings */
        for (int t = 0; t < nt; t++) {
            gcam_tensor *x = &v->tensors[t];
            *x = g->tensors[t];
            if (x->flags & GCAM_TF_INIT) continue;
            if ((x->flags & GCAM_TF_INPUT) && (x->flags & GCAM_TF_CONST)) {
                x->flags &= ~(GCAM_TF_OWNED | GCAM_TF_OUTPUT); /* KEEP, BKEEP: the view's planner decides */
                continue;
            }
            x->data = NULL;
            x->flags = 0;
            x->ndim = 0;
            x->dtype = 0;
        }
        for (int i = 0; i < n_fed; i++) s->fed[i] = fed[i];
        s->n_fed = n_fed;
        for (int i = 0; i < n_fed; i++) v->inputs[v->n_inputs++] = fed[i];
        for (int t = 0; t < nt; t++)
            if (side[t]) {
                v->inputs[v->n_inputs++] = t;
                s->sides[s->n_sides++] = t;
            }
        for (int i = 0; i < v->n_inputs; i++) {
            int t = v->inputs[i];
            const gcam_tensor *src = &g->tensors[t];
            gcam_tensor *x = &v->tensors[t];
            x->flags = GCAM_TF_INPUT;
            s->keep[t] = 1; /* persists between passes */
            x->dtype = src->dtype;
            x->ndim = src->ndim;
            memcpy(x->dims, src->dims, sizeof x->dims);
            if (x->ndim >= 1 && src->dims[0] == 1) x->dims[0] = batch;
            if (any_layout && i < n_fed) x->flags |= GCAM_TF_FEED_ANY;
        }
        v->tensors[target].flags |= GCAM_TF_OUTPUT;
        v->outputs[0] = target;
        v->n_outputs = 1;
        for (int st = 0; st < nn; st++) {
            int ni = g->order[st];
            if (!node_in[ni]) continue;
            v->nodes[v->n_nodes] = g->nodes[ni];
            v->order[v->n_nodes] = v->n_nodes;
            v->n_nodes++;
        }
        rc = gcam_suffix_plan(s, NULL, e);
    }
    if (rc && batch > 1 && rc != GCAM_E_NOMEM) {
        /* some node refused the batched shapes (a Reshape to a literal shape, say) */
        char why[sizeof e->msg];
        snprintf(why, sizeof why, "%s", e ? e->msg : "");
        rc = gcam_errf(e, GCAM_E_UNSUPPORTED, "cannot run a batch of %lld from '%s': %s", (long long)batch,
                       g->tensors[fed[0]].name, why);
    }
    /* every tensor the view computes must be the main plan's with the batch
     * scaled, or some node mixes the batch items (a Reshape to [1, -1]) */
    for (int st = 0; st < v->n_nodes && !rc && batch > 1; st++) {
        const gcam_node *n = &v->nodes[st];
        for (int k = 0; k < n->n_out && !rc; k++) {
            int t = n->out[k];
            if (t < 0 || (v->tensors[t].flags & GCAM_TF_CONST)) continue;
            const gcam_tensor *a = &v->tensors[t], *b = &g->tensors[t];
            int same = a->ndim == b->ndim && a->ndim >= 1 && a->dims[0] == batch * b->dims[0];
            for (int d = 1; same && d < a->ndim; d++) same = a->dims[d] == b->dims[d];
            if (!same)
                rc = gcam_errf(e, GCAM_E_UNSUPPORTED, "cannot run a batch of %lld through node '%s' (%s): its output '%s' does not scale with the batch",
                               (long long)batch, n->name, n->op_type, a->name);
        }
    }
    gcam_free(node_in);
    gcam_free(side);
    if (rc) {
        gcam_suffix_free(s);
        return rc;
    }
    *out = s;
    return GCAM_OK;
}

int gcam_suffix_plan(gcam_suffix *s, const gcam_bwd_plan *bp, gcam_err *e)
{
    const gcam_plan_request req = {.keep = s->keep, .backward = bp ? bp->on_path : NULL};
    return gcam_graph_plan(&s->g, &req, e);
}

int gcam_suffix_feed_sides(gcam_suffix *s, const gcam_graph *g, gcam_err *e)
{
    for (int i = 0; i < s->n_sides; i++) {
        int t = s->sides[i];
        const gcam_tensor *src = &g->tensors[t];
        gcam_tensor *dst = &s->g.tensors[t];
        if (!src->data)
            return gcam_errf(e, GCAM_E_INTERNAL, "'%s' was not kept by the forward pass", src->name);
        size_t one = gcam_tensor_bytes(src), all = gcam_tensor_bytes(dst);
        if (!one) continue;
        for (size_t off = 0; off + one <= all; off += one) memcpy((char *)dst->data + off, src->data, one);
    }
    return GCAM_OK;
}
