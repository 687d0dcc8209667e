/* plan.c - shape inference, constant folding, memory plan, forward executor.
 *
 * Planning runs once per input shape.  Every node's infer() sets its output
 * shapes; a node whose inputs are all constant (or that only reads shapes,
 * like Shape) is evaluated right away and disappears from the run list.
 * The remaining tensors get offsets in one arena from their lifetimes, so a
 * forward pass allocates nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "graph/graph.h"

#define MAX_NODE_IO 1024
#define ARENA_ALIGN 64

typedef struct {
    gcam_tensor *in[MAX_NODE_IO];
    gcam_tensor *out[MAX_NODE_IO];
} node_io;

static void bind_io(gcam_graph *g, gcam_node *n, node_io *io, gcam_opctx *c, gcam_err *e)
{
    for (int k = 0; k < n->n_in; k++) io->in[k] = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
    for (int k = 0; k < n->n_out; k++) io->out[k] = n->out[k] >= 0 ? &g->tensors[n->out[k]] : NULL;
    memset(c, 0, sizeof *c);
    c->node = n;
    c->in = io->in;
    c->out = io->out;
    c->err = e;
    c->nthreads = g->nthreads;
}

static size_t align_up(size_t x) { return (x + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

/* Greedy offset assignment: biggest first, lowest offset that does not
 * overlap any already placed tensor alive at the same time. */
typedef gcam_live_range live_range;

static int cmp_size_desc(const void *a, const void *b)
{
    const live_range *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->t - y->t;
}

static int cmp_off(const void *a, const void *b)
{
    const live_range *const *x = a, *const *y = b;
    return (*x)->off < (*y)->off ? -1 : (*x)->off > (*y)->off;
}

size_t gcam_assign_offsets(live_range *r, int n)
{
    qsort(r, (size_t)n, sizeof *r, cmp_size_desc);
    live_range **placed = malloc(sizeof(live_range *) * (n + 1));
    live_range **cand = malloc(sizeof(live_range *) * (n + 1));
    if (!placed || !cand) {
        free(placed);
        free(cand);
        return SIZE_MAX;
    }
    int np = 0;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        /* placed ranges alive at the same time, by offset; take the first gap that fits */
        int m = 0;
        for (int j = 0; j < np; j++)
            if (!(placed[j]->last < r[i].first || r[i].last < placed[j]->first)) cand[m++] = placed[j];
        qsort(cand, (size_t)m, sizeof *cand, cmp_off);
        size_t off = 0;
        for (int j = 0; j < m; j++) {
            if (cand[j]->off >= off + r[i].size) break;
            size_t end = cand[j]->off + cand[j]->size;
            if (end > off) off = end;
        }
        r[i].off = off;
        if (off + r[i].size > total) total = off + r[i].size;
        placed[np++] = &r[i];
    }
    free(placed);
    free(cand);
    return total;
}

static void reset_plan(gcam_graph *g)
{
    for (int t = 0; t < g->n_tensors; t++) {
        gcam_tensor *x = &g->tensors[t];
        if (x->flags & GCAM_TF_INIT) continue;
        /* int64 graph inputs are bound by value (they carry shapes): model.c owns them */
        if ((x->flags & GCAM_TF_INPUT) && (x->flags & GCAM_TF_CONST)) continue;
        if (x->flags & GCAM_TF_OWNED) free(x->data);
        x->data = NULL;
        x->flags &= ~(GCAM_TF_CONST | GCAM_TF_FOLDED | GCAM_TF_OWNED);
        if (!(x->flags & GCAM_TF_INPUT)) {
            x->ndim = 0;
            x->dtype = 0;
        }
    }
    free(g->arena);
    g->arena = NULL;
    g->arena_bytes = 0;
    free(g->scratch);
    g->scratch = NULL;
    g->scratch_bytes = 0;
    free(g->run_nodes);
    g->run_nodes = NULL;
    g->n_run = 0;
    g->planned = 0;
}

static int check_bytes(gcam_graph *g, gcam_node *n, gcam_err *e)
{
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0) continue;
        gcam_tensor *y = &g->tensors[n->out[k]];
        if (y->ndim < 0 || y->ndim > GCAM_MAX_DIMS || gcam_tensor_bytes(y) == SIZE_MAX ||
            gcam_tensor_bytes(y) > ((size_t)1 << 38))
            return gcam_errf(e, GCAM_E_RANGE, "node '%s' (%s): output '%s' has absurd dimensions",
                             n->name, n->op_type, y->name);
    }
    return GCAM_OK;
}

static int fold_node(gcam_graph *g, gcam_node *n, gcam_opctx *c, gcam_err *e)
{
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0) continue;
        gcam_tensor *y = &g->tensors[n->out[k]];
        size_t b = gcam_tensor_bytes(y);
        y->data = calloc(b ? b : 1, 1);
        if (!y->data) return gcam_errf(e, GCAM_E_NOMEM, "out of memory folding '%s'", n->name);
        y->flags |= GCAM_TF_CONST | GCAM_TF_FOLDED | GCAM_TF_OWNED;
    }
    size_t sb = n->scratch;
    void *scratch = sb ? malloc(sb) : NULL;
    if (sb && !scratch) return gcam_errf(e, GCAM_E_NOMEM, "out of memory folding '%s'", n->name);
    c->scratch = scratch;
    int rc = n->op->forward(c);
    free(scratch);
    return rc;
}

int gcam_graph_plan(gcam_graph *g, gcam_err *e)
{
    reset_plan(g);
    for (int i = 0; i < g->n_inputs; i++) {
        gcam_tensor *x = &g->tensors[g->inputs[i]];
        if (x->ndim < 0) return gcam_errf(e, GCAM_E_SHAPE, "input '%s' has no shape", x->name);
        for (int d = 0; d < x->ndim; d++)
            if (x->dims[d] < 0)
                return gcam_errf(e, GCAM_E_SHAPE, "input '%s' dim %d is unbound", x->name, d);
        if (gcam_tensor_bytes(x) == SIZE_MAX || gcam_tensor_bytes(x) > ((size_t)1 << 36))
            return gcam_errf(e, GCAM_E_RANGE, "input '%s' has absurd dimensions", x->name);
    }
    node_io *io = malloc(sizeof *io);
    g->run_nodes = malloc(sizeof(int) * (g->n_nodes + 1));
    if (!io || !g->run_nodes) {
        free(io);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    int rc = GCAM_OK;
    for (int s = 0; s < g->n_nodes && !rc; s++) {
        gcam_node *n = &g->nodes[g->order[s]];
        if (n->n_in > MAX_NODE_IO || n->n_out > MAX_NODE_IO) {
            rc = gcam_errf(e, GCAM_E_UNSUPPORTED, "node '%s' (%s) has too many inputs/outputs", n->name, n->op_type);
            break;
        }
        gcam_opctx c;
        bind_io(g, n, io, &c, e);
        n->scratch = n->bscratch = 0;
        if ((rc = n->op->infer(&c))) break;
        if ((rc = check_bytes(g, n, e))) break;
        int all_const = 1;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && !(g->tensors[n->in[k]].flags & GCAM_TF_CONST)) all_const = 0;
        if (all_const || (n->op->flags & GCAM_OPF_SHAPE_ONLY)) rc = fold_node(g, n, &c, e);
        else g->run_nodes[g->n_run++] = g->order[s];
    }
    free(io);
    if (rc) {
        reset_plan(g);
        return rc;
    }

    /* lifetimes over run steps: inputs are born at step 0, kept tensors live to the end */
    int *first = malloc(sizeof(int) * g->n_tensors), *last = malloc(sizeof(int) * g->n_tensors);
    live_range *r = malloc(sizeof(live_range) * (g->n_tensors + 1));
    if (!first || !last || !r) {
        free(first); free(last); free(r);
        reset_plan(g);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    for (int t = 0; t < g->n_tensors; t++) first[t] = last[t] = -1;
    for (int i = 0; i < g->n_inputs; i++) first[g->inputs[i]] = last[g->inputs[i]] = 0;
    for (int s = 0; s < g->n_run; s++) {
        gcam_node *n = &g->nodes[g->run_nodes[s]];
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t >= 0 && !(g->tensors[t].flags & GCAM_TF_CONST)) last[t] = s;
        }
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            if (t >= 0) {
                first[t] = s;
                if (last[t] < s) last[t] = s;
            }
        }
    }
    int nr = 0;
    size_t scratch = 0;
    for (int s = 0; s < g->n_run; s++) {
        gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (n->scratch > scratch) scratch = n->scratch;
        if (n->bscratch > scratch) scratch = n->bscratch;
    }
    for (int t = 0; t < g->n_tensors; t++) {
        if (first[t] < 0 || (g->tensors[t].flags & GCAM_TF_CONST)) continue;
        if (g->tensors[t].flags & (GCAM_TF_KEEP | GCAM_TF_BKEEP | GCAM_TF_OUTPUT)) last[t] = g->n_run;
        r[nr].t = t;
        r[nr].first = first[t];
        r[nr].last = last[t];
        r[nr].size = align_up(gcam_tensor_bytes(&g->tensors[t]));
        if (!r[nr].size) r[nr].size = ARENA_ALIGN;
        nr++;
    }
    size_t total = gcam_assign_offsets(r, nr);
    free(first);
    free(last);
    if (total == SIZE_MAX) {
        free(r);
        reset_plan(g);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    g->arena = aligned_alloc(ARENA_ALIGN, total ? total : ARENA_ALIGN);
    g->scratch = scratch ? aligned_alloc(ARENA_ALIGN, align_up(scratch)) : NULL;
    if (!g->arena || (scratch && !g->scratch)) {
        free(r);
        reset_plan(g);
        return gcam_errf(e, GCAM_E_NOMEM, "cannot allocate %zu bytes of activations", total);
    }
    g->arena_bytes = total;
    g->scratch_bytes = scratch;
    for (int i = 0; i < nr; i++) g->tensors[r[i].t].data = g->arena + r[i].off;
    free(r);
    /* graph outputs that were folded are constants: already have data */
    g->planned = 1;
    g->plan_id++;
    return GCAM_OK;
}

int gcam_graph_forward(gcam_graph *g, gcam_err *e)
{
    if (!g->planned) return gcam_errf(e, GCAM_E_ARG, "graph is not planned");
    gcam_tensor *in[MAX_NODE_IO], *out[MAX_NODE_IO];
    for (int s = 0; s < g->n_run; s++) {
        gcam_node *n = &g->nodes[g->run_nodes[s]];
        for (int k = 0; k < n->n_in; k++) in[k] = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
        for (int k = 0; k < n->n_out; k++) out[k] = n->out[k] >= 0 ? &g->tensors[n->out[k]] : NULL;
        gcam_opctx c = {.node = n, .in = in, .out = out, .scratch = g->scratch, .err = e,
                        .nthreads = g->nthreads};
        int rc = n->op->forward(&c);
        if (rc) return rc;
    }
    return GCAM_OK;
}
