/* plan.c - shape inference, constant folding, fusion, memory plan, forward
 * executor.
 *
 * Planning runs once per input shape.  Every node's infer() sets its output
 * shapes; a node whose inputs are all constant (or that only reads shapes,
 * like Shape) is evaluated right away and disappears from the run list.
 * The remaining tensors get offsets in one arena from their lifetimes, so a
 * forward pass allocates nothing.
 *
 * Two rewrites make the forward pass cheaper without changing what anyone
 * can observe:
 *  - fusion: a Conv followed by a BatchNormalization and/or an activation
 *    (Relu, Clip, HardSwish, Sigmoid*Mul), an Add followed by a Relu (the
 *    ResNet join; after a pointwise Conv the Add joins the Conv's epilogue too),
 *    a BatchNormalization followed by a Relu or Clip
 *    (DenseNet's pre-activation), and the five nodes of torch.onnx's GELU (inside
 *    the Div) run them inside themselves when nothing else reads the
 *    tensors in between: not kept by the user (KEEP), not needed by the
 *    backward plan (BKEEP: a Grad-CAM layer, or anything on the gradient
 *    path), not graph outputs, one consumer.  The skipped nodes stay in the
 *    run list (so layer listings do not change) but do not run, and their
 *    intermediate tensors get no memory.  The "fuse" setting turns it off.
 *  - views: the output of a GCAM_OPF_VIEW op (Reshape, Flatten, Squeeze,
 *    Unsqueeze, Identity, Dropout) shares its input's memory; the two
 *    lifetimes are merged, so the copy disappears.
 *  - layouts: oneDNN's direct convolutions work channels last (NHWC), so
 *    a tensor that only such convs and elementwise ops touch is stored NHWC
 *    (GCAM_TF_NHWC) and the reorders around each conv disappear; see
 *    plan_layouts().  The "channels-last" setting turns it off.
 *
 * A plan is made for a request (gcam_plan_request: what to keep, what runs
 * backward) and kept while the same request comes again. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "graph/graph.h"
#include "kernels/bigmem.h"
#include "kernels/elementwise.h"

#define MAX_NODE_IO 1024
#define ARENA_ALIGN 64

/* The request the current plan was made for, with everything else a plan
 * depends on besides the graph: input shapes, the values of inputs bound by
 * value, the settings and the memory limit.  Compared field by field, never
 * hashed. */
struct gcam_plan_made {
    unsigned char *keep;     /* n_tensors: kept after the forward pass (the request's keep) */
    unsigned char *backward; /* n_nodes: runs backward */
    unsigned char *inputs;   /* every input's rank, dims and by-value bytes, one after the other */
    size_t inputs_len;
    gcam_settings settings;
    size_t mem_limit;
};

typedef struct {
    gcam_tensor *in[MAX_NODE_IO];
    gcam_tensor *out[MAX_NODE_IO];
} node_io;

static void bind_io(gcam_graph *g, gcam_node *n, node_io *io, gcam_opctx *c, gcam_err *e)
{
    for (int k = 0; k < n->n_in; k++) io->in[k] = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
    for (int k = 0; k < n->n_out; k++) io->out[k] = n->out[k] >= 0 ? &g->tensors[n->out[k]] : NULL;
    /* never let an op see the previous node's tensors past its own count */
    for (int k = n->n_in; k < 4 && k < MAX_NODE_IO; k++) io->in[k] = NULL;
    for (int k = n->n_out; k < 4 && k < MAX_NODE_IO; k++) io->out[k] = NULL;
    if (n->fuse.has_sum && n->n_in < MAX_NODE_IO) io->in[n->n_in] = &g->tensors[n->fuse.sum];
    memset(c, 0, sizeof *c);
    c->node = n;
    c->in = io->in;
    c->out = io->out;
    c->err = e;
    c->set = &g->settings;
    c->nthreads = g->nthreads;
    c->needs_backward = g->made && g->made->backward[n - g->nodes];
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
    live_range **placed = gcam_malloc(sizeof(live_range *) * (n + 1));
    live_range **cand = gcam_malloc(sizeof(live_range *) * (n + 1));
    if (!placed || !cand) {
        gcam_free(placed);
        gcam_free(cand);
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
    gcam_free(placed);
    gcam_free(cand);
    return total;
}

static void reset_plan(gcam_graph *g)
{
    for (int t = 0; t < g->n_tensors; t++) {
        gcam_tensor *x = &g->tensors[t];
        if (x->flags & GCAM_TF_INIT) continue;
        /* int64 graph inputs are bound by value (they carry shapes): model.c owns them */
        if ((x->flags & GCAM_TF_INPUT) && (x->flags & GCAM_TF_CONST)) continue;
        if (x->flags & GCAM_TF_OWNED) gcam_free(x->data);
        x->data = NULL;
        x->flags &= ~(GCAM_TF_CONST | GCAM_TF_FOLDED | GCAM_TF_OWNED | GCAM_TF_NHWC);
        if (!(x->flags & GCAM_TF_INPUT)) {
            x->ndim = 0;
            x->dtype = 0;
        }
    }
    gcam_free(g->arena);
    g->arena = NULL;
    g->arena_bytes = 0;
    gcam_free(g->scratch);
    g->scratch = NULL;
    g->scratch_bytes = 0;
    gcam_free(g->run_nodes);
    g->run_nodes = NULL;
    g->n_run = 0;
    g->planned = 0;
    for (int i = 0; i < g->n_nodes; i++) memset(&g->nodes[i].fuse, 0, sizeof g->nodes[i].fuse);
}

/* ---- fusion ---------------------------------------------------------------- */


/* Consumers of each tensor, as (node, input slot) pairs in CSR form. */
typedef struct consumers {
    int *start; /* n_tensors + 1 */
    int *node;
} consumers;

static int consumers_build(const gcam_graph *g, consumers *cs)
{
    cs->start = gcam_calloc((size_t)g->n_tensors + 2, sizeof(int));
    int total = 0;
    for (int i = 0; i < g->n_nodes; i++) total += g->nodes[i].n_in;
    cs->node = gcam_malloc(sizeof(int) * ((size_t)total + 1));
    int *fill = gcam_calloc((size_t)g->n_tensors + 1, sizeof(int));
    if (!cs->start || !cs->node || !fill) {
        gcam_free(fill);
        return -1;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) cs->start[g->nodes[i].in[k] + 1]++;
    for (int t = 0; t < g->n_tensors; t++) cs->start[t + 1] += cs->start[t];
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int t = g->nodes[i].in[k];
            if (t >= 0) cs->node[cs->start[t] + fill[t]++] = i;
        }
    gcam_free(fill);
    return 0;
}

static void consumers_free(consumers *cs)
{
    gcam_free(cs->start);
    gcam_free(cs->node);
}

static int n_uses(const consumers *cs, int t) { return cs->start[t + 1] - cs->start[t]; }

/* A tensor only the fused chain reads: it need never exist. */
static int internal_tensor(const gcam_graph *g, int t)
{
    return !(g->tensors[t].flags &
             (GCAM_TF_KEEP | GCAM_TF_BKEEP | GCAM_TF_OUTPUT | GCAM_TF_CONST | GCAM_TF_INPUT | GCAM_TF_INIT));
}

/* The only consumer of t if t is internal and used once, else NULL. */
static gcam_node *sole_consumer(gcam_graph *g, const consumers *cs, int t)
{
    if (!internal_tensor(g, t) || n_uses(cs, t) != 1) return NULL;
    gcam_node *n = &g->nodes[cs->node[cs->start[t]]];
    return n->fuse.skip ? NULL : n;
}

static int is_op(const gcam_node *n, const char *op) { return n && !strcmp(n->op_type, op); }

static int only_first_output(const gcam_node *n)
{
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0) return 0;
    return n->n_out >= 1 && n->out[0] >= 0;
}

/* A float initializer of exactly m elements (BatchNormalization parameters). */
static const float *const_vec(const gcam_graph *g, int t, int64_t m)
{
    if (t < 0) return NULL;
    const gcam_tensor *x = &g->tensors[t];
    if (!(x->flags & GCAM_TF_INIT) || x->dtype != GCAM_DT_F32 || !x->data || x->ndim != 1 || x->dims[0] != m)
        return NULL;
    return x->data;
}

/* A constant float scalar (a Clip bound): 1 with *v set, 0 if not constant.
 * A Constant node that has not been folded yet (the topological order puts
 * input-less nodes first, but a Conv reading the graph input is one of them
 * too) is read from its attribute. */
static int const_scalar(const gcam_graph *g, int t, float *v)
{
    const gcam_tensor *x = &g->tensors[t];
    if ((x->flags & GCAM_TF_CONST) && x->data) {
        if (x->dtype != GCAM_DT_F32 || gcam_numel(x) != 1) return 0;
        *v = gcam_f32(x)[0];
        return 1;
    }
    /* producer is an index into the loaded graph's nodes; a suffix plan
     * renumbers its nodes, so check it is still the node that makes t */
    if (x->producer < 0 || x->producer >= g->n_nodes) return 0;
    const gcam_node *p = &g->nodes[x->producer];
    if (p->n_out < 1 || p->out[0] != t || strcmp(p->op_type, "Constant") || p->n_in != 0) return 0;
    const gcam_attr *a = gcam_attr_find(p, "value");
    if (a && a->type == GCAM_ATTR_TENSOR && a->t && a->t->dtype == GCAM_DT_F32 && a->t->data && gcam_numel(a->t) == 1) {
        *v = gcam_f32(a->t)[0];
        return 1;
    }
    a = gcam_attr_find(p, "value_float");
    if (a && a->type == GCAM_ATTR_FLOAT) {
        *v = a->f;
        return 1;
    }
    return 0;
}

/* Decides, before n's infer, what runs inside n.  Needs only the graph, the
 * flags and constants: the nodes after n have not been inferred yet, but
 * every constant they read (initializers, folded Constant nodes, which the
 * topological order puts first) is known. */
/* A 1x1 Conv with stride 1, no padding and one group: X's spatial shape, and
 * the kind the convolution runs as a GEMM (src/kernels/conv_fast.h). */
static int pointwise_conv(const gcam_graph *g, const gcam_node *n)
{
    const gcam_tensor *w = &g->tensors[n->in[1]];
    if (w->ndim < 3 || gcam_attr_int(n, "group", 1) != 1) return 0;
    for (int d = 2; d < w->ndim; d++)
        if (w->dims[d] != 1) return 0;
    const char *ap = gcam_attr_str(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "") && strcmp(ap, "VALID")) return 0;
    int64_t v[2 * GCAM_MAX_DIMS];
    int k = gcam_attr_ints(n, "strides", v, 2 * GCAM_MAX_DIMS);
    for (int i = 0; i < k && i < 2 * GCAM_MAX_DIMS; i++)
        if (v[i] != 1) return 0;
    k = gcam_attr_ints(n, "pads", v, 2 * GCAM_MAX_DIMS);
    for (int i = 0; i < k && i < 2 * GCAM_MAX_DIMS; i++)
        if (v[i] != 0) return 0;
    return 1;
}

/* A fusion being built: the epilogue so far, the nodes it swallows, and the
 * tensor the chain ends at. */
typedef struct chain {
    gcam_fusion f;
    gcam_node *skipped[4];
    int n_skip, t;
} chain;

static void swallow(chain *ch, gcam_node *c)
{
    ch->skipped[ch->n_skip++] = c;
    ch->t = c->out[0];
}

/* Conv -> BatchNormalization in inference mode with constant parameters. */
static void fuse_bn(gcam_graph *g, const consumers *cs, chain *ch, int64_t M)
{
    gcam_node *c = sole_consumer(g, cs, ch->t);
    if (!is_op(c, "BatchNormalization") || c->n_in < 5 || c->in[0] != ch->t || !only_first_output(c) ||
        gcam_attr_int(c, "training_mode", 0) != 0)
        return;
    gcam_fusion *f = &ch->f;
    f->bn_scale = const_vec(g, c->in[1], M);
    f->bn_bias = const_vec(g, c->in[2], M);
    f->bn_mean = const_vec(g, c->in[3], M);
    f->bn_var = const_vec(g, c->in[4], M);
    if (f->bn_scale && f->bn_bias && f->bn_mean && f->bn_var) {
        f->bn_eps = gcam_attr_float(c, "epsilon", 1e-5f);
        swallow(ch, c);
    } else {
        f->bn_scale = f->bn_bias = f->bn_mean = f->bn_var = NULL;
    }
}

/* A residual Add after a pointwise conv (ResNet's bottleneck: conv3, BN,
 * Add, Relu) is added in the conv's epilogue pass: the other operand must
 * already exist (produced earlier in the run order) with the conv's
 * output shape.  Pointwise convs run as GEMM + one epilogue pass, or
 * channels last as oneDNN's 1x1 kernel with a sum post-op, where the
 * extra operand costs one more stream instead of a whole Add node.
 * Returns the sole reader of the chain's end: the candidate activation. */
static gcam_node *fuse_residual(gcam_graph *g, const consumers *cs, const gcam_node *n, chain *ch, int64_t M)
{
    gcam_node *c = sole_consumer(g, cs, ch->t);
    if (!is_op(c, "Add") || c->n_in != 2 || !only_first_output(c) || !pointwise_conv(g, n)) return c;
    const int t = ch->t, r = c->in[0] == t ? c->in[1] : c->in[0];
    const gcam_tensor *x = &g->tensors[n->in[0]], *rt = r >= 0 ? &g->tensors[r] : NULL;
    int same = rt && r != t && rt->dtype == GCAM_DT_F32 && x->dtype == GCAM_DT_F32 && rt->ndim == x->ndim &&
               x->ndim >= 3 && rt->dims[0] == x->dims[0] && rt->dims[1] == M;
    for (int d = 2; same && d < x->ndim; d++) same = rt->dims[d] == x->dims[d];
    if (!same || (rt->flags & GCAM_TF_CONST)) return c;
    ch->f.has_sum = 1;
    ch->f.sum = r;
    swallow(ch, c);
    c = sole_consumer(g, cs, ch->t);
    return is_op(c, "Relu") || is_op(c, "Clip") ? c : NULL; /* what GEMM mode applies */
}

/* Relu, HardSwish or a Clip with constant bounds reading the chain's end;
 * 0 when c is no candidate at all (then a SiLU may still follow). */
static int fuse_activation(const gcam_graph *g, chain *ch, gcam_node *c)
{
    if (!c || c->in[0] != ch->t || !only_first_output(c)) return 0;
    gcam_fusion *f = &ch->f;
    if (is_op(c, "Relu")) f->act = GCAM_ACT_RELU;
    else if (is_op(c, "HardSwish")) f->act = GCAM_ACT_HARDSWISH;
    else if (is_op(c, "Clip")) {
        float lo = gcam_attr_float(c, "min", -FLT_MAX), hi = gcam_attr_float(c, "max", FLT_MAX);
        int ok = 1;
        if (c->n_in > 1 && c->in[1] >= 0) ok &= const_scalar(g, c->in[1], &lo);
        if (c->n_in > 2 && c->in[2] >= 0) ok &= const_scalar(g, c->in[2], &hi);
        if (ok && c->n_in <= 3) {
            f->act = GCAM_ACT_CLIP;
            f->act_lo = lo;
            f->act_hi = hi;
        }
    }
    if (f->act) swallow(ch, c);
    return 1;
}

/* SiLU: m = Mul(t, Sigmoid(t)), in either operand order, t read by those two alone. */
static void fuse_swish(gcam_graph *g, const consumers *cs, chain *ch)
{
    const int t = ch->t;
    if (!internal_tensor(g, t) || n_uses(cs, t) != 2) return;
    gcam_node *a = &g->nodes[cs->node[cs->start[t]]], *b = &g->nodes[cs->node[cs->start[t] + 1]];
    gcam_node *sg = is_op(a, "Sigmoid") ? a : is_op(b, "Sigmoid") ? b : NULL;
    gcam_node *mul = sg == a ? b : a;
    if (sg && is_op(mul, "Mul") && !sg->fuse.skip && !mul->fuse.skip && sg->n_in == 1 && only_first_output(sg) &&
        mul->n_in == 2 && only_first_output(mul) && sole_consumer(g, cs, sg->out[0]) == mul &&
        ((mul->in[0] == t && mul->in[1] == sg->out[0]) || (mul->in[1] == t && mul->in[0] == sg->out[0]))) {
        ch->f.act = GCAM_ACT_SWISH;
        swallow(ch, sg);
        swallow(ch, mul);
    }
}

/* n runs the chain: its epilogue, writing the chain's end; the swallowed
 * nodes do not run. */
static void commit_chain(gcam_node *n, chain *ch)
{
    ch->f.on = 1;
    ch->f.out = ch->t;
    n->fuse = ch->f;
    for (int i = 0; i < ch->n_skip; i++) ch->skipped[i]->fuse.skip = 1;
}

/* The sole reader of t when it is op with n_in inputs and one output read. */
static gcam_node *next_op(gcam_graph *g, const consumers *cs, int t, const char *op, int n_in)
{
    gcam_node *c = sole_consumer(g, cs, t);
    if (!is_op(c, op) || c->n_in != n_in || !only_first_output(c)) return NULL;
    return c;
}

/* The other input of a two-input node when it is a constant float scalar. */
static int other_scalar(const gcam_graph *g, const gcam_node *c, int t, float *v)
{
    const int o = c->in[0] == t ? c->in[1] : c->in[0];
    return (c->in[0] == t || c->in[1] == t) && o >= 0 && o != t && const_scalar(g, o, v);
}

/* GELU as torch.onnx writes nn.GELU (ViT and Swin MLPs): Div(x, c) -> Erf ->
 * Add(1) -> Mul(x) -> Mul(h), five passes over the MLP's widest tensor, run
 * as one inside the Div (src/ops/div.c) when nobody else reads the four
 * tensors in between.  Same float operations in the same order. */
static void plan_gelu(gcam_graph *g, const consumers *cs, gcam_node *n)
{
    if (n->fuse.skip || n->fuse.on || !is_op(n, "Div") || n->n_in != 2 || !only_first_output(n) || n->in[0] < 0 ||
        n->in[1] < 0 || g->tensors[n->in[0]].dtype != GCAM_DT_F32 || (g->tensors[n->in[0]].flags & GCAM_TF_CONST))
        return;
    const int x = n->in[0];
    float c = 0, one = 0, h = 0;
    if (!const_scalar(g, n->in[1], &c)) return;
    gcam_node *erf = next_op(g, cs, n->out[0], "Erf", 1);
    gcam_node *add = erf ? next_op(g, cs, erf->out[0], "Add", 2) : NULL;
    if (!add || !other_scalar(g, add, erf->out[0], &one) || one != 1.0f) return;
    gcam_node *mul = next_op(g, cs, add->out[0], "Mul", 2);
    if (!mul || !((mul->in[0] == x && mul->in[1] == add->out[0]) || (mul->in[1] == x && mul->in[0] == add->out[0])))
        return;
    gcam_node *half = next_op(g, cs, mul->out[0], "Mul", 2);
    if (!half || !other_scalar(g, half, mul->out[0], &h)) return;
    chain ch = {.t = n->out[0]};
    swallow(&ch, erf);
    swallow(&ch, add);
    swallow(&ch, mul);
    swallow(&ch, half);
    ch.f.act = GCAM_ACT_GELU;
    ch.f.act_lo = c;
    ch.f.act_hi = h;
    commit_chain(n, &ch);
}

/* x @ W + b as torch.onnx writes nn.Linear on 3-D input (MatMul by a 2-D
 * weight, then Add of a 1-D bias, ViT's and Swin's linear layers): the bias
 * is added as the product is stored (src/ops/matmul.c). */
static void plan_matmul_bias(gcam_graph *g, const consumers *cs, gcam_node *n)
{
    if (n->fuse.skip || n->fuse.on || !is_op(n, "MatMul") || n->n_in != 2 || !only_first_output(n) || n->in[0] < 0 ||
        n->in[1] < 0)
        return;
    const gcam_tensor *a = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
    if (a->dtype != GCAM_DT_F32 || (a->flags & GCAM_TF_CONST) || a->ndim < 2 || !(w->flags & GCAM_TF_INIT) ||
        w->dtype != GCAM_DT_F32 || w->ndim != 2)
        return;
    gcam_node *add = next_op(g, cs, n->out[0], "Add", 2);
    const int t = n->out[0], b = add ? (add->in[0] == t ? add->in[1] : add->in[0]) : -1;
    /* an initializer, or a constant folded before this node (torch.onnx
     * writes some biases as Identity of a shared one) */
    const gcam_tensor *bt = b >= 0 && b != t ? &g->tensors[b] : NULL;
    const float *bias = bt && (bt->flags & GCAM_TF_CONST) && bt->data && bt->dtype == GCAM_DT_F32 && bt->ndim == 1 &&
                                bt->dims[0] == w->dims[1]
                            ? bt->data
                            : NULL;
    if (!bias) return;
    chain ch = {.t = t};
    ch.f.bias = bias;
    swallow(&ch, add);
    commit_chain(n, &ch);
}

static void plan_fusion(gcam_graph *g, const consumers *cs, gcam_node *n)
{
    plan_gelu(g, cs, n);
    plan_matmul_bias(g, cs, n);
    if (n->fuse.skip || !(n->op->flags & GCAM_OPF_EPILOGUE) || n->n_in < 2 || !only_first_output(n)) return;
    if (n->in[0] < 0 || n->in[1] < 0 || (g->tensors[n->in[0]].flags & GCAM_TF_CONST)) return;
    /* Conv takes a BatchNormalization and any activation; Add (ResNet's
     * residual join) a Relu on float operands of which neither is constant */
    const int conv = is_op(n, "Conv"), add = is_op(n, "Add"), bn = is_op(n, "BatchNormalization");
    if (!conv && !add && !bn) return;
    if (bn && (n->n_in < 5 || g->tensors[n->in[0]].dtype != GCAM_DT_F32)) return;
    const gcam_tensor *wt = &g->tensors[n->in[1]];
    if (conv && (!(wt->flags & GCAM_TF_INIT) || wt->ndim < 1 || wt->dtype != GCAM_DT_F32)) return;
    if (add && (n->n_in != 2 || (wt->flags & GCAM_TF_CONST) || wt->dtype != GCAM_DT_F32 ||
                g->tensors[n->in[0]].dtype != GCAM_DT_F32))
        return;
    const int64_t M = wt->ndim ? wt->dims[0] : 0;
    chain ch = {.t = n->out[0]};
    if (conv) fuse_bn(g, cs, &ch, M);
    gcam_node *c = conv ? fuse_residual(g, cs, n, &ch, M) : sole_consumer(g, cs, ch.t);
    if (add && !is_op(c, "Relu")) c = NULL;
    if (bn && !is_op(c, "Relu") && !is_op(c, "Clip")) c = NULL;
    if (!fuse_activation(g, &ch, c) && conv && !ch.f.has_sum && !c) fuse_swish(g, cs, &ch);
    if (ch.n_skip) commit_chain(n, &ch);
}


/* ---- layouts ---------------------------------------------------------------- */


/* The tensor a running node writes: the end of its fused chain. */
static int node_out(const gcam_node *n) { return n->fuse.on ? n->fuse.out : n->n_out >= 1 ? n->out[0] : -1; }

/* An operand that reads the same in either layout: no spatial extent
 * (right-aligned to N, C, H, W, both H and W are 1), e.g. a scalar or a
 * squeeze-excitation scale of N x C x 1 x 1. */
static int spatially_constant(const gcam_tensor *x)
{
    if (x->ndim > 4) return 0;
    int64_t d[4] = {1, 1, 1, 1};
    for (int i = 0; i < x->ndim; i++) d[4 - x->ndim + i] = x->dims[i];
    return d[2] == 1 && d[3] == 1;
}

/* An operand of exactly the output's shape: it shares the output's layout. */
static int is_tied(const gcam_graph *g, const gcam_node *n, int t)
{
    const gcam_tensor *x = &g->tensors[t], *y = &g->tensors[node_out(n)];
    return x->ndim == 4 && x->dtype == GCAM_DT_F32 && !memcmp(x->dims, y->dims, 4 * sizeof x->dims[0]);
}

/* An elementwise node that works on any layout: one 4-D float output, and
 * every input either tied to it or broadcast without a spatial extent: a
 * scalar, or for a binary op (numpy broadcasting, which the kernel runs
 * over the dims in storage order: src/kernels/elementwise.c) any operand
 * that is spatially constant, like the scale of a squeeze-excitation. */
static int layout_free(const gcam_graph *g, const gcam_node *n)
{
    if (!(n->op->flags & GCAM_OPF_ELEMENTWISE) || n->fuse.has_sum || !only_first_output(n)) return 0;
    const gcam_tensor *y = &g->tensors[node_out(n)];
    if (y->ndim != 4 || y->dtype != GCAM_DT_F32) return 0;
    int tied = 0;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        const gcam_tensor *x = &g->tensors[n->in[k]];
        if (is_tied(g, n, n->in[k])) tied = 1;
        else if (gcam_numel(x) != 1 && !(n->n_in == 2 && spatially_constant(x))) return 0;
    }
    return tied;
}

/* Whether every 4-D input of a GCAM_NHWC_TIED node (input 0 at least) is
 * NHWC: a pool's X, each part of a channel Concat, BatchNormalization's X. */
static int tied_inputs_nhwc(const gcam_graph *g, const gcam_node *n, const unsigned char *nhwc)
{
    if (n->n_in < 1 || n->in[0] < 0) return 0;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && g->tensors[n->in[k]].ndim == 4 && !nhwc[n->in[k]]) return 0;
    return 1;
}

static void drop(unsigned char *nhwc, int t, int *changed)
{
    if (t >= 0 && nhwc[t]) {
        nhwc[t] = 0;
        *changed = 1;
    }
}

/* Chooses the layout of every activation of the plan.  A tensor is NHWC
 * when it is written by a node that can write it so and every node that
 * reads it takes NHWC there:
 *  - a GCAM_OPF_LAYOUT node (a oneDNN 2-D conv, a pooling op), as its infer
 *    said in can[]: input 0 and output each either way (GCAM_NHWC_FREE) or
 *    both the same (GCAM_NHWC_TIED); a conv's fused residual operand has its
 *    output's layout;
 *  - a layout-free elementwise node: its tied inputs and output together.
 * Never NHWC: anything the user or the backward pass can read (graph inputs
 * and outputs, KEEP, BKEEP: the layers, the target and every tensor of a
 * node on the gradient path), constants, and whatever another op reads
 * (views included, so aliases stay plain) - except a fed input flagged
 * GCAM_TF_FEED_ANY, whose writer follows the choice.  The ties are resolved by
 * dropping to a fixed point.  Then each GCAM_OPF_LAYOUT node is inferred
 * again, building its kernels for the layouts; one whose guess was wrong
 * (no fast path after all) gets the weaker can[] and the choice is made
 * again.  The flags live in the plan's own tensors, so a suffix plan
 * decides for itself. */
static int plan_layouts(gcam_graph *g, unsigned char *can, node_io *io, gcam_err *e)
{
    const int nt = g->n_tensors;
    unsigned char *nhwc = gcam_calloc((size_t)nt + 1, 1), *pin = gcam_calloc((size_t)nt + 1, 1);
    if (!nhwc || !pin) {
        gcam_free(nhwc);
        gcam_free(pin);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    for (int t = 0; t < nt; t++) {
        const gcam_tensor *x = &g->tensors[t];
        /* a fed tensor its writer lays out as planned: only what it feeds decides */
        const int feed_any = (x->flags & GCAM_TF_FEED_ANY) && !(x->flags & (GCAM_TF_OUTPUT | GCAM_TF_BKEEP));
        pin[t] = x->ndim != 4 || x->dtype != GCAM_DT_F32 ||
                 (!feed_any && (x->flags & (GCAM_TF_CONST | GCAM_TF_INIT | GCAM_TF_INPUT | GCAM_TF_OUTPUT |
                                            GCAM_TF_KEEP | GCAM_TF_BKEEP)));
    }
    int rc = GCAM_OK;
    /* can[] only weakens between rounds, so this ends */
    for (int round = 0; round <= 2 * g->n_run && !rc; round++) {
        memset(nhwc, 0, (size_t)nt);
        for (int t = 0; t < nt; t++) nhwc[t] = !pin[t] && (g->tensors[t].flags & GCAM_TF_FEED_ANY);
        for (int s = 0; s < g->n_run; s++) {
            const int ni = g->run_nodes[s];
            const gcam_node *n = &g->nodes[ni];
            const int y = node_out(n);
            if (n->fuse.skip || y < 0 || pin[y]) continue;
            if (n->op->flags & GCAM_OPF_LAYOUT) {
                nhwc[y] = can[ni] == GCAM_NHWC_FREE || (can[ni] == GCAM_NHWC_TIED && tied_inputs_nhwc(g, n, nhwc));
            } else if (layout_free(g, n)) {
                int all = 1;
                for (int k = 0; k < n->n_in; k++)
                    if (n->in[k] >= 0 && is_tied(g, n, n->in[k])) all &= nhwc[n->in[k]];
                nhwc[y] = (unsigned char)all;
            }
        }
        for (int changed = 1; changed;) {
            changed = 0;
            for (int s = 0; s < g->n_run; s++) {
                const int ni = g->run_nodes[s];
                const gcam_node *n = &g->nodes[ni];
                if (n->fuse.skip) continue;
                const int y = node_out(n);
                if ((n->op->flags & GCAM_OPF_LAYOUT) && can[ni] == GCAM_NHWC_TIED) {
                    /* one layout for the output and every 4-D activation input */
                    if (!(y >= 0 && nhwc[y] && tied_inputs_nhwc(g, n, nhwc))) {
                        for (int k = 0; k < n->n_in; k++) drop(nhwc, n->in[k], &changed);
                        drop(nhwc, y, &changed);
                    }
                } else if ((n->op->flags & GCAM_OPF_LAYOUT) && can[ni]) {
                    for (int k = 1; k < n->n_in; k++) drop(nhwc, n->in[k], &changed);
                    if (n->fuse.has_sum && y >= 0 && nhwc[n->fuse.sum] != nhwc[y]) {
                        drop(nhwc, n->fuse.sum, &changed);
                        drop(nhwc, y, &changed);
                    }
                } else if (layout_free(g, n)) {
                    int all = nhwc[y];
                    for (int k = 0; k < n->n_in; k++)
                        if (n->in[k] >= 0 && is_tied(g, n, n->in[k])) all &= nhwc[n->in[k]];
                    for (int k = 0; k < n->n_in; k++)
                        if (n->in[k] >= 0 && (!all || !is_tied(g, n, n->in[k]))) drop(nhwc, n->in[k], &changed);
                    if (!all) drop(nhwc, y, &changed);
                } else {
                    for (int k = 0; k < n->n_in; k++) drop(nhwc, n->in[k], &changed);
                    if (n->fuse.has_sum) drop(nhwc, n->fuse.sum, &changed);
                }
            }
        }
        for (int t = 0; t < nt; t++) {
            if (nhwc[t]) g->tensors[t].flags |= GCAM_TF_NHWC;
            else g->tensors[t].flags &= ~GCAM_TF_NHWC;
        }
        /* a fused chain's first output (no memory of its own) reads like its end */
        for (int s = 0; s < g->n_run; s++) {
            const gcam_node *n = &g->nodes[g->run_nodes[s]];
            if (n->fuse.on && nhwc[n->fuse.out] && n->out[0] >= 0) g->tensors[n->out[0]].flags |= GCAM_TF_NHWC;
        }
        int again = 0;
        for (int s = 0; s < g->n_run && !rc; s++) {
            const int ni = g->run_nodes[s];
            gcam_node *n = &g->nodes[ni];
            if (n->fuse.skip || !(n->op->flags & GCAM_OPF_LAYOUT)) continue;
            gcam_opctx c;
            bind_io(g, n, io, &c, e);
            if ((rc = n->op->infer(&c))) break;
            if (c.nhwc_ok >= can[ni]) continue;
            /* weaker than guessed: redo the choice unless this one still holds */
            const int x = n->in[0], y = node_out(n);
            const int xn = x >= 0 && nhwc[x], yn = y >= 0 && nhwc[y];
            if ((c.nhwc_ok == GCAM_NHWC_NO && (xn || yn)) || (c.nhwc_ok == GCAM_NHWC_TIED && xn != yn)) again = 1;
            can[ni] = (unsigned char)c.nhwc_ok;
        }
        if (!again) break;
        for (int t = 0; t < nt; t++) g->tensors[t].flags &= ~GCAM_TF_NHWC;
    }
    gcam_free(nhwc);
    gcam_free(pin);
    return rc;
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
        /* a constant the model computes (ConstantOfShape, Tile, Expand of
         * constants) obeys the memory limit too: calloc would hand out an
         * absurd size lazily and the op's writes would exhaust the machine */
        if (b > gcam_mem_budget(g->mem_limit))
            return gcam_errf(e, GCAM_E_NOMEM, "node '%s' (%s): constant output '%s' of %.1f MB is above the memory limit of %.1f MB",
                             n->name, n->op_type, y->name, (double)b / 1048576.0, (double)gcam_mem_budget(g->mem_limit) / 1048576.0);
        y->data = gcam_calloc(b ? b : 1, 1);
        if (!y->data) return gcam_errf(e, GCAM_E_NOMEM, "out of memory folding '%s'", n->name);
        y->flags |= GCAM_TF_CONST | GCAM_TF_FOLDED | GCAM_TF_OWNED;
    }
    size_t sb = n->scratch;
    void *scratch = sb ? gcam_malloc(sb) : NULL;
    if (sb && !scratch) return gcam_errf(e, GCAM_E_NOMEM, "out of memory folding '%s'", n->name);
    c->scratch = scratch;
    int rc = n->op->forward(c);
    gcam_free(scratch);
    return rc;
}

/* ---- the request ------------------------------------------------------------ */


static void made_free(struct gcam_plan_made *p)
{
    if (!p) return;
    gcam_free(p->keep);
    gcam_free(p->backward);
    gcam_free(p->inputs);
    gcam_free(p);
}

void gcam_graph_plan_free(gcam_graph *g)
{
    made_free(g->made);
    g->made = NULL;
}



/* Serialises the bound inputs into p->inputs (twice: to size, then to fill). */
static size_t inputs_blob(const gcam_graph *g, unsigned char *out)
{
    size_t len = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        const gcam_tensor *x = &g->tensors[g->inputs[i]];
        int64_t head[2 + GCAM_MAX_DIMS] = {x->ndim, (x->flags & GCAM_TF_CONST) && x->data};
        for (int d = 0; d < x->ndim && d < GCAM_MAX_DIMS; d++) head[2 + d] = x->dims[d];
        if (out) memcpy(out + len, head, sizeof head);
        len += sizeof head;
        if (!head[1]) continue;
        size_t n = gcam_tensor_bytes(x);
        if (out) memcpy(out + len, x->data, n);
        len += n;
    }
    return len;
}

/* What req asks for, in full (NULL req or extend: on top of the current plan's). */
static struct gcam_plan_made *made_new(const gcam_graph *g, const gcam_plan_request *req)
{
    struct gcam_plan_made *p = gcam_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->keep = gcam_calloc((size_t)g->n_tensors + 1, 1);
    p->backward = gcam_calloc((size_t)g->n_nodes + 1, 1);
    p->inputs_len = inputs_blob(g, NULL);
    p->inputs = gcam_malloc(p->inputs_len + 1);
    if (!p->keep || !p->backward || !p->inputs) {
        made_free(p);
        return NULL;
    }
    inputs_blob(g, p->inputs);
    p->settings = g->settings;
    p->mem_limit = g->mem_limit;
    if (g->made && (!req || req->extend)) {
        memcpy(p->keep, g->made->keep, (size_t)g->n_tensors);
        memcpy(p->backward, g->made->backward, (size_t)g->n_nodes);
    }
    for (int t = 0; req && req->keep && t < g->n_tensors; t++) p->keep[t] |= req->keep[t];
    for (int i = 0; req && req->backward && i < g->n_nodes; i++) p->backward[i] |= req->backward[i];
    return p;
}

static int made_equal(const gcam_graph *g, const struct gcam_plan_made *a, const struct gcam_plan_made *b)
{
    return a && b && a->inputs_len == b->inputs_len && !memcmp(a->inputs, b->inputs, a->inputs_len) &&
           !memcmp(a->keep, b->keep, (size_t)g->n_tensors) && !memcmp(a->backward, b->backward, (size_t)g->n_nodes) &&
           !memcmp(&a->settings, &b->settings, sizeof a->settings) && a->mem_limit == b->mem_limit;
}

/* The one place that decides what outlives its last forward use: what the
 * caller reads, and every input and output of a node that runs backward. */
static void apply_keep(gcam_graph *g, const struct gcam_plan_made *p)
{
    for (int t = 0; t < g->n_tensors; t++) {
        g->tensors[t].flags &= ~(GCAM_TF_KEEP | GCAM_TF_BKEEP);
        if (p->keep[t]) g->tensors[t].flags |= GCAM_TF_KEEP;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const gcam_node *n = &g->nodes[i];
        if (!p->backward[i]) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) g->tensors[n->in[k]].flags |= GCAM_TF_BKEEP;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) g->tensors[n->out[k]].flags |= GCAM_TF_BKEEP;
    }
}

/* ---- planning, step by step --------------------------------------------------- */

static int check_inputs(const gcam_graph *g, gcam_err *e)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const gcam_tensor *x = &g->tensors[g->inputs[i]];
        if (x->ndim < 0) return gcam_errf(e, GCAM_E_SHAPE, "input '%s' has no shape", x->name);
        for (int d = 0; d < x->ndim; d++)
            if (x->dims[d] < 0)
                return gcam_errf(e, GCAM_E_SHAPE, "input '%s' dim %d is unbound", x->name, d);
        if (gcam_tensor_bytes(x) == SIZE_MAX || gcam_tensor_bytes(x) > ((size_t)1 << 36))
            return gcam_errf(e, GCAM_E_RANGE, "input '%s' has absurd dimensions", x->name);
    }
    return GCAM_OK;
}

/* Infers node g->order[s] (fusing first), then folds it or adds it to the run list. */
static int infer_node(gcam_graph *g, int s, const consumers *cs, node_io *io, unsigned char *can, gcam_err *e)
{
    const int ni = g->order[s];
    gcam_node *n = &g->nodes[ni];
    if (n->n_in > MAX_NODE_IO || n->n_out > MAX_NODE_IO)
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "node '%s' (%s) has too many inputs/outputs", n->name, n->op_type);
    if (cs) plan_fusion(g, cs, n);
    gcam_opctx c;
    bind_io(g, n, io, &c, e);
    c.defer = can && (n->op->flags & GCAM_OPF_LAYOUT);
    n->scratch = n->bscratch = 0;
    int rc = n->op->infer(&c);
    if (rc) return rc;
    if (c.defer) can[ni] = (unsigned char)c.nhwc_ok;
    if ((rc = check_bytes(g, n, e))) return rc;
    int all_const = 1;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && !(g->tensors[n->in[k]].flags & GCAM_TF_CONST)) all_const = 0;
    if (!all_const && !(n->op->flags & GCAM_OPF_SHAPE_ONLY)) {
        g->run_nodes[g->n_run++] = ni;
        return GCAM_OK;
    }
    /* plan_fusion never fuses a node with a constant input X, nor into a
     * node whose input is not produced by a running node */
    if (n->fuse.on || n->fuse.skip)
        return gcam_errf(e, GCAM_E_INTERNAL, "node '%s' (%s) was fused but is constant", n->name, n->op_type);
    return fold_node(g, n, &c, e);
}

/* Every node's shapes in topological order, the run list, fusion and layouts. */
static int infer_all(gcam_graph *g, gcam_err *e)
{
    node_io *io = gcam_malloc(sizeof *io);
    g->run_nodes = gcam_malloc(sizeof(int) * (g->n_nodes + 1));
    consumers cs = {0};
    const int fuse = g->settings.v[GCAM_OPT_FUSE], layouts = g->settings.v[GCAM_OPT_CHANNELS_LAST];
    unsigned char *can = layouts ? gcam_calloc((size_t)g->n_nodes + 1, 1) : NULL;
    int rc = GCAM_OK;
    if (!io || !g->run_nodes || (fuse && consumers_build(g, &cs)) || (layouts && !can))
        rc = gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    for (int s = 0; s < g->n_nodes && !rc; s++) rc = infer_node(g, s, fuse ? &cs : NULL, io, can, e);
    if (!rc && layouts) rc = plan_layouts(g, can, io, e);
    gcam_free(io);
    gcam_free(can);
    consumers_free(&cs);
    return rc;
}

/* Lifetimes over run steps: inputs are born at step 0; a fused chain's
 * tensors are internal to the node that runs it. */
static void lifetimes(const gcam_graph *g, int *first, int *last)
{
    for (int t = 0; t < g->n_tensors; t++) first[t] = last[t] = -1;
    for (int i = 0; i < g->n_inputs; i++) first[g->inputs[i]] = last[g->inputs[i]] = 0;
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (n->fuse.skip) continue;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t >= 0 && !(g->tensors[t].flags & GCAM_TF_CONST)) last[t] = s;
        }
        if (n->fuse.has_sum) last[n->fuse.sum] = s;
        for (int k = 0; k < n->n_out; k++) {
            int t = k == 0 && n->fuse.on ? n->fuse.out : n->out[k];
            if (t >= 0) {
                first[t] = s;
                if (last[t] < s) last[t] = s;
            }
        }
    }
}

/* Views: the output takes the input's buffer; alias[t] is the tensor whose
 * buffer t uses (itself if none), and the buffer lives as long as any user. */
static void alias_views(const gcam_graph *g, int *first, int *last, int *alias)
{
    for (int t = 0; t < g->n_tensors; t++) alias[t] = t;
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (!(n->op->flags & GCAM_OPF_VIEW) || n->fuse.skip || n->n_in < 1 || n->n_out < 1) continue;
        int x = n->in[0], y = n->out[0];
        if (x < 0 || y < 0 || first[x] < 0 || first[y] < 0) continue;
        const gcam_tensor *tx = &g->tensors[x], *ty = &g->tensors[y];
        if ((tx->flags & GCAM_TF_CONST) || tx->dtype != ty->dtype || gcam_tensor_bytes(tx) != gcam_tensor_bytes(ty))
            continue;
        int root = alias[x];
        alias[y] = root;
        if (first[y] < first[root]) first[root] = first[y];
        if (last[y] > last[root]) last[root] = last[y];
    }
    /* kept tensors live to the end of the run */
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].flags & (GCAM_TF_KEEP | GCAM_TF_BKEEP | GCAM_TF_OUTPUT)) last[alias[t]] = g->n_run;
}

static int too_big(gcam_graph *g, const live_range *r, int nr, size_t total, size_t scratch, gcam_err *e)
{
    int big = 0;
    for (int i = 1; i < nr; i++)
        if (r[i].size > r[big].size) big = i;
    const gcam_tensor *x = nr ? &g->tensors[r[big].t] : NULL;
    char dims[128] = "";
    if (x) gcam_ew_dims_str(x->dims, x->ndim, dims, sizeof dims);
    return gcam_errf(e, GCAM_E_NOMEM,
                     "the model needs %.1f MB of activation memory at this input shape, more than the limit of %.1f MB (gcam_model_set_memory_limit, gradcam --max-memory); the largest tensor is '%s' (%s)",
                     ((double)total + (double)align_up(scratch)) / 1048576.0,
                     (double)gcam_mem_budget(g->mem_limit) / 1048576.0, x ? x->name : "", dims);
}

/* Offsets of the run's tensors in one arena from their lifetimes, the
 * shared scratch, and the allocation of both. */
static int lay_out_arena(gcam_graph *g, const int *first, const int *last, const int *alias, live_range *r,
                         gcam_err *e)
{
    int nr = 0;
    size_t scratch = 0;
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (n->scratch > scratch) scratch = n->scratch;
        if (n->bscratch > scratch) scratch = n->bscratch;
    }
    for (int t = 0; t < g->n_tensors; t++) {
        if (first[t] < 0 || (g->tensors[t].flags & GCAM_TF_CONST) || alias[t] != t) continue;
        r[nr].t = t;
        r[nr].first = first[t];
        r[nr].last = last[t];
        r[nr].size = align_up(gcam_tensor_bytes(&g->tensors[t]));
        if (!r[nr].size) r[nr].size = ARENA_ALIGN;
        nr++;
    }
    size_t total = gcam_assign_offsets(r, nr);
    if (total == SIZE_MAX) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    const size_t budget = gcam_mem_budget(g->mem_limit);
    if (total > budget || align_up(scratch) > budget - total) return too_big(g, r, nr, total, scratch, e);
    g->arena = gcam_big_alloc(total ? total : ARENA_ALIGN);
    g->scratch = scratch ? gcam_big_alloc(align_up(scratch)) : NULL;
    if (!g->arena || (scratch && !g->scratch))
        return gcam_errf(e, GCAM_E_NOMEM, "cannot allocate %zu bytes of activations", total);
    g->arena_bytes = total;
    g->scratch_bytes = scratch;
    for (int i = 0; i < nr; i++) g->tensors[r[i].t].data = g->arena + r[i].off;
    /* graph outputs that were folded are constants: they already have data */
    for (int t = 0; t < g->n_tensors; t++)
        if (alias[t] != t) g->tensors[t].data = g->tensors[alias[t]].data;
    return GCAM_OK;
}

/* Lifetimes, views and the arena, once every shape is known. */
static int plan_memory(gcam_graph *g, gcam_err *e)
{
    const size_t nt = (size_t)g->n_tensors + 1;
    int *first = gcam_malloc(sizeof(int) * nt), *last = gcam_malloc(sizeof(int) * nt), *alias = gcam_malloc(sizeof(int) * nt);
    live_range *r = gcam_malloc(sizeof(live_range) * nt);
    int rc = GCAM_OK;
    if (!first || !last || !alias || !r) rc = gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    if (!rc) {
        lifetimes(g, first, last);
        alias_views(g, first, last, alias);
        rc = lay_out_arena(g, first, last, alias, r, e);
    }
    gcam_free(first);
    gcam_free(last);
    gcam_free(alias);
    gcam_free(r);
    return rc;
}

void gcam_graph_weights_changed(gcam_graph *g)
{
    reset_plan(g); /* folded constants and kernels were made from the old weights */
    gcam_graph_plan_free(g);
}

int gcam_graph_plan(gcam_graph *g, const gcam_plan_request *req, gcam_err *e)
{
    struct gcam_plan_made *want = made_new(g, req);
    if (!want) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    if (g->planned && made_equal(g, g->made, want)) { /* the current plan is what this one would be */
        made_free(want);
        return GCAM_OK;
    }
    reset_plan(g);
    gcam_graph_plan_free(g);
    g->made = want;
    apply_keep(g, want);
    int rc = check_inputs(g, e);
    if (!rc) rc = infer_all(g, e);
    if (!rc) rc = plan_memory(g, e);
    if (rc) {
        reset_plan(g);
        gcam_graph_plan_free(g); /* a failed request is no plan to keep */
        return rc;
    }
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
        if (n->fuse.skip) continue;
        for (int k = 0; k < n->n_in; k++) in[k] = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
        for (int k = 0; k < n->n_out; k++) out[k] = n->out[k] >= 0 ? &g->tensors[n->out[k]] : NULL;
        if (n->fuse.on) out[0] = &g->tensors[n->fuse.out];
        if (n->fuse.has_sum) in[n->n_in] = &g->tensors[n->fuse.sum];
        gcam_opctx c = {.node = n, .in = in, .out = out, .scratch = g->scratch, .err = e,
                        .nthreads = g->nthreads, .set = &g->settings,
                        .needs_backward = g->made->backward[g->run_nodes[s]]};
        const double t0 = n->prof ? gcam_now_ms() : 0;
        int rc = n->op->forward(&c);
        if (rc) return rc;
        if (n->prof) {
            n->prof->fwd_ms += gcam_now_ms() - t0;
            n->prof->fwd_calls++;
        }
    }
    return GCAM_OK;
}
