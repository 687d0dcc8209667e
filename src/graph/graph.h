/* graph.h - the internal graph: tensors + nodes in execution order, the
 * plan (shapes, constant folding, one arena) and the executor.
 *
 * Ownership: the graph owns every tensor name, node, attribute and every
 * tensor buffer flagged GCAM_TF_OWNED.  Non-owned buffers point into the
 * arena, which is valid from gcam_graph_plan() until the next plan/free. */
#ifndef GCAM_GRAPH_H
#define GCAM_GRAPH_H

#include "gcam_internal.h"

enum {
    GCAM_TF_INIT = 1 << 4,   /* initializer or Constant node output: survives re-planning */
    GCAM_TF_FOLDED = 1 << 5, /* folded at plan time: recomputed on every plan */
    /* Keep alive after the last forward use; set by the planner alone, from
     * the plan request (gcam_plan_request): KEEP because the caller reads
     * it, BKEEP because a node that runs backward does. */
    GCAM_TF_KEEP = 1 << 6,
    GCAM_TF_BKEEP = 1 << 7,
    /* A graph input (a suffix plan's fed tensor) whose writer follows the
     * plan's GCAM_TF_NHWC on it: the planner may store it channels last
     * like any activation (plan.c).  Set by gcam_suffix_new_ex. */
    GCAM_TF_FEED_ANY = 1 << 9,
    /* A float graph input that only parameterises ops (Resize's scales):
     * bound by value and folded like integer inputs (graph.c) */
    GCAM_TF_BYVALUE = 1 << 10,
};

/* A tensor's lifetime in steps, and its place in an arena (plan.c). */
typedef struct gcam_live_range {
    int t;
    int first, last;
    size_t size, off;
} gcam_live_range;
/* Greedy first-fit by decreasing size; returns the arena size (SIZE_MAX: no memory). */
size_t gcam_assign_offsets(gcam_live_range *r, int n);
static inline size_t gcam_align64(size_t x) { return x ? (x + 63) & ~(size_t)63 : 64; }

typedef struct gcam_graph {
    int n_tensors, cap_tensors;
    gcam_tensor *tensors;
    int n_nodes;
    gcam_node *nodes;
    int *order;          /* n_nodes node indices in topological order */
    int n_inputs, *inputs;   /* graph inputs that are not initializers */
    int n_outputs, *outputs;
    /* declared input dims: -1 where symbolic (dim_param or unknown) */
    int64_t (*input_decl)[GCAM_MAX_DIMS];
    char ***input_dim_param; /* [input][dim] symbolic name or NULL */
    int n_meta;
    char **meta_key, **meta_val;
    int n_f16_f64; /* float16/float64 tensors and casts, computed as float32 (load.c) */
    char *producer;      /* ModelProto producer_name and _version ("" when absent) */
    int64_t opset, ir_version; /* the default domain's opset, ModelProto ir_version */
    char *dir;           /* model folder, for external data */
    char *path;
    /* name -> tensor index hash (open addressing) */
    int hcap;
    int *hash;
    /* plan: written by the planner (plan.c) alone */
    int planned;             /* a plan exists (its arena and run list are valid) */
    unsigned plan_id;        /* bumped by every new plan */
    struct gcam_plan_made *made; /* the request the current plan was made for (plan.c) */
    unsigned grads_plan_id;  /* plan the gradient layout was made for */
    unsigned char *arena;
    size_t arena_bytes;
    void *scratch;       /* shared scratch, max over nodes of scratch/bscratch */
    size_t scratch_bytes;
    int *run_nodes;      /* nodes not folded, in order */
    int n_run;
    /* backward */
    gcam_tensor *grads;  /* n_tensors gradient descriptors (data NULL if not needed) */
    unsigned char *grad_arena;
    size_t grad_arena_bytes;
    int nthreads;
    size_t mem_limit;    /* bytes for arena + scratch + gradients; 0 = default (kernels/bigmem.h) */
    gcam_settings settings; /* gcam_model_set_option; part of the plan's signature */
    gcam_node_prof *prof;   /* n_nodes records, made when profiling is first asked for (nodes point in) */
} gcam_graph;

/* ---- build (src/onnx/load.c and src/graph/graph.c) ---- */
int gcam_graph_load_file(const char *path, gcam_graph **out, gcam_err *e);
int gcam_graph_load_buffer(const void *buf, size_t len, const char *dir, gcam_graph **out, gcam_err *e);
void gcam_graph_free(gcam_graph *g);
int gcam_graph_find(const gcam_graph *g, const char *name);      /* tensor index or -1 */
int gcam_graph_add_tensor(gcam_graph *g, const char *name);      /* returns index or -1 (nomem) */
int gcam_graph_finish(gcam_graph *g, gcam_err *e);               /* resolve ops, topo order, init */
int gcam_graph_find_node(const gcam_graph *g, const char *name); /* node index or -1 */
/* Points every node at its profile record (on) or at none (off); GCAM_E_NOMEM. */
int gcam_graph_profile(gcam_graph *g, int on);

/* ---- plan (src/graph/plan.c) ---- */
/* What a plan is made for, besides the graph itself.  The input shapes (and
 * the values of inputs bound by value: GCAM_TF_CONST graph inputs) are the
 * ones the caller set on g->tensors[g->inputs[i]]; the settings and memory
 * limit are g->settings and g->mem_limit.  The rest is here:
 *  - keep: per tensor (NULL: none), read by the caller after the forward
 *    pass, so alive to the end of it (graph outputs always are);
 *  - backward: per node (NULL: none), run backward on this plan
 *    (gcam_bwd_plan.on_path): the planner keeps the node's inputs and
 *    outputs for it, fuses nothing across them and tells the op
 *    (gcam_opctx.needs_backward);
 *  - extend: 1 to add keep and backward to those of the current plan
 *    rather than replace them (a forward-only caller that must not undo
 *    the plan an explanation made). */
typedef struct gcam_plan_request {
    const unsigned char *keep;
    const unsigned char *backward;
    int extend;
} gcam_plan_request;
/* Plans for req (NULL: the current plan's keep and backward sets): infers all
 * shapes, folds constants, fuses, chooses layouts and lays out the arena.
 * The planner keeps a copy of the request (with the input shapes, by-value
 * input values, settings and memory limit) it planned for, and a request
 * equal to it keeps the current plan: no re-inference, no new arena, whose
 * first touch would cost a page fault per page again.  g->plan_id changes
 * exactly when a new plan is made. */
int gcam_graph_plan(gcam_graph *g, const gcam_plan_request *req, gcam_err *e);
/* The initializers changed in place (src/eval/params.c): the next plan
 * starts over, whatever its request. */
void gcam_graph_weights_changed(gcam_graph *g);
/* Frees the copy of the request (gcam_graph_free, gcam_suffix_free). */
void gcam_graph_plan_free(gcam_graph *g);
/* Forward over the planned graph. */
int gcam_graph_forward(gcam_graph *g, gcam_err *e);

/* ---- backward (src/graph/backward.c) ---- */
/* Gradient plan: from `target` (a tensor index) back to each of the `n_layers`
 * tensors in `layers` (or to the graph input if input_grad).  Needs the
 * tensors' dtypes (a plan first); then plan again with on_path as the
 * request's backward set, so that the activations backward reads are kept. */
typedef struct gcam_bwd_plan {
    int target;
    int n_layers;
    int layers[GCAM_MAX_LAYERS];
    int input_grad;
    unsigned char *on_path; /* per node: runs backward */
    unsigned char *needs_grad; /* per tensor: gradient buffer needed */
} gcam_bwd_plan;
int gcam_bwd_prepare(gcam_graph *g, gcam_bwd_plan *bp, gcam_err *e);
/* Seeds d(target) with `seed` (numel of target floats, or NULL = one-hot at seed_index
 * with value seed_value), runs backward; gradients then live in g->grads[layers[i]]. */
int gcam_bwd_run(gcam_graph *g, gcam_bwd_plan *bp, const float *seed, int64_t seed_index,
                 float seed_value, int guided, gcam_err *e);
void gcam_bwd_release(gcam_bwd_plan *bp);

/* ---- suffix plans (src/graph/suffix.c) ---- */
/* A second plan of the same graph that computes `target` from the tensors
 * `fed` (each of batch 1 in g), given as inputs of batch `batch`, running only
 * the nodes the target needs.  Float tensors the target needs that do not
 * depend on any fed tensor (skip connections from before the layer, the graph
 * input) become "side" inputs, copied from g's last forward pass and repeated
 * over the batch, so g must keep them (see gcam_suffix_sides).  The view
 * shares names, nodes and initializers with g and must be freed before it.
 * Tensor indices are g's: s->g.tensors[t] is the view's tensor t.  Fails with
 * GCAM_E_UNSUPPORTED when some node's output does not scale with the batch
 * (a Reshape to a literal batch-1 shape): retry with batch 1. */
typedef struct gcam_suffix {
    gcam_graph g; /* the view: run it with gcam_graph_forward / gcam_bwd_* */
    int64_t batch;
    int n_fed, n_sides;
    int *fed, *sides;
    unsigned char *keep; /* per tensor: the view's inputs, kept between passes */
} gcam_suffix;
int gcam_suffix_new(gcam_graph *g, const int *fed, int n_fed, int target, int64_t batch,
                    gcam_suffix **out, gcam_err *e);
/* The same; with any_layout the fed tensors may be planned NHWC (their
 * GCAM_TF_NHWC says how to write them), which spares a reorder when a conv
 * chain starts there. */
int gcam_suffix_new_ex(gcam_graph *g, const int *fed, int n_fed, int target, int64_t batch, int any_layout,
                       gcam_suffix **out, gcam_err *e);
/* The side tensors of that view, without building it (g planned): their
 * count (<= max), or a negative status. */
int gcam_suffix_sides(gcam_graph *g, const int *fed, int n_fed, int target, int *sides, int max,
                      gcam_err *e);
/* Copies the side inputs from g's tensors (kept by its last forward). */
int gcam_suffix_feed_sides(gcam_suffix *s, const gcam_graph *g, gcam_err *e);
/* Plans the view again with bp's backward path (NULL: forward only),
 * keeping its inputs between passes. */
int gcam_suffix_plan(gcam_suffix *s, const gcam_bwd_plan *bp, gcam_err *e);
void gcam_suffix_free(gcam_suffix *s);

#endif
