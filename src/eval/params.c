/* params.c - the parameterised layers of a model, and re-drawing their
 * weights for the model-parameter randomisation test (Adebayo et al. 2018,
 * "Sanity Checks for Saliency Maps"; the rule is in docs/eval.md).
 *
 * A re-draw never writes into the loaded weights (they may be a read-only
 * mapping of the file): the tensor is pointed at a new buffer, and back at
 * the original on restore.  Everything built from weights is dropped on each
 * change: op state (Conv's oneDNN primitives with BatchNormalization folded
 * into their weights) by releasing and initialising every node that keeps
 * state, the plan (constant folding) by clearing its signature, and the
 * linear-head sums of src/cam/headsum.c. */
#include <stdio.h>
#include <stdlib.h>

#include "api/model_internal.h"
#include "cam/cam.h"
#include "gcam_eval.h"

typedef struct param_rec {
    int w_t, b_t;            /* tensor indices (b_t -1: none) */
    void *orig_w, *orig_b;   /* trained data while randomised */
    int orig_wflags, orig_bflags;
    float *rand_w, *rand_b;  /* the re-drawn data, owned here */
} param_rec;

struct gcam_params {
    int n;
    param_rec *rec;
    gcam_param_layer *pub;
    char **strings; /* node and block names made here */
    int n_strings;
};

static int const_f32(const gcam_graph *g, int t)
{
    return t >= 0 && (g->tensors[t].flags & GCAM_TF_INIT) && g->tensors[t].dtype == GCAM_DT_F32 &&
           g->tensors[t].data && g->tensors[t].ndim >= 1;
}

/* Which inputs of node n are its weight and bias, and the weight's fan-in;
 * 0 when n is not a parameterised layer. */
static int classify(const gcam_graph *g, const gcam_node *n, int *w, int *b, int64_t *fan_in)
{
    const char *op = n->op_type;
    int in1 = n->n_in > 1 ? n->in[1] : -1, in2 = n->n_in > 2 ? n->in[2] : -1;
    if (!const_f32(g, in1)) return 0;
    const gcam_tensor *W = &g->tensors[in1];
    *w = in1;
    *b = const_f32(g, in2) ? in2 : -1;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose")) {
        *fan_in = W->dims[0] > 0 ? gcam_numel(W) / W->dims[0] : 0;
    } else if (!strcmp(op, "Gemm")) {
        if (W->ndim != 2) return 0;
        *fan_in = gcam_attr_int(n, "transB", 0) ? W->dims[1] : W->dims[0];
    } else if (!strcmp(op, "MatMul")) {
        if (W->ndim < 2) return 0;
        *fan_in = W->dims[W->ndim - 2];
        *b = -1;
    } else if (!strcmp(op, "BatchNormalization") || !strcmp(op, "InstanceNormalization") ||
               !strcmp(op, "LayerNormalization")) {
        *fan_in = 1;
    } else {
        return 0;
    }
    return *fan_in > 0;
}

static char *keep_string(struct gcam_params *p, char *s)
{
    if (s) p->strings[p->n_strings++] = s;
    return s;
}

/* The first component of a "/a/b/Op" name ("a"), or the whole name. */
static char *block_of(const char *name)
{
    const char *s = name[0] == '/' ? name + 1 : name;
    const char *e = strchr(s, '/');
    if (!e || e == s) return gcam_strdup(name);
    char *r = gcam_malloc((size_t)(e - s) + 1);
    if (r) {
        memcpy(r, s, (size_t)(e - s));
        r[e - s] = 0;
    }
    return r;
}

static int build(gcam_model *m)
{
    gcam_graph *g = m->g;
    struct gcam_params *p = gcam_calloc(1, sizeof *p);
    if (!p) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    p->rec = gcam_calloc((size_t)g->n_nodes + 1, sizeof *p->rec);
    p->pub = gcam_calloc((size_t)g->n_nodes + 1, sizeof *p->pub);
    p->strings = gcam_calloc(2 * (size_t)g->n_nodes + 1, sizeof(char *));
    m->params = p;
    if (!p->rec || !p->pub || !p->strings) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    for (int s = 0; s < g->n_nodes; s++) {
        const gcam_node *n = &g->nodes[g->order[s]];
        int w, b;
        int64_t fan_in;
        if (!classify(g, n, &w, &b, &fan_in)) continue;
        gcam_param_layer *L = &p->pub[p->n];
        char idx[32];
        snprintf(idx, sizeof idx, "#%d", g->order[s]);
        const char *name = n->name && *n->name ? n->name : NULL;
        L->node = name ? name : keep_string(p, gcam_strdup(idx));
        L->block = L->node ? keep_string(p, block_of(L->node)) : NULL;
        if (!L->node || !L->block) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        L->op_type = n->op_type;
        L->weight = g->tensors[w].name;
        L->bias = b >= 0 ? g->tensors[b].name : NULL;
        L->fan_in = fan_in;
        L->n_params = gcam_numel(&g->tensors[w]) + (b >= 0 ? gcam_numel(&g->tensors[b]) : 0);
        p->rec[p->n] = (param_rec){.w_t = w, .b_t = b};
        p->n++;
    }
    return GCAM_OK;
}

static int ensure(gcam_model *m)
{
    if (!m || !m->g) return GCAM_E_ARG;
    return m->params ? GCAM_OK : build(m);
}

int gcam_model_param_layers(gcam_model *m, const gcam_param_layer **layers, int *n)
{
    int rc = ensure(m);
    if (rc) return rc;
    *layers = m->params->pub;
    *n = m->params->n;
    return GCAM_OK;
}

/* Every cache computed from the weights goes; the next run rebuilds it. */
static int weights_changed(gcam_model *m)
{
    gcam_graph *g = m->g;
    for (int i = 0; i < g->n_nodes; i++) {
        gcam_node *n = &g->nodes[i];
        if (!n->op || !n->op->release) continue;
        n->op->release(n);
        n->params = NULL;
        if (n->op->init) {
            int rc = n->op->init(n, &m->err);
            if (rc) return rc;
        }
    }
    gcam_graph_weights_changed(g); /* a request does not cover weights: force a new plan */
    gcam_cam_head_free(m->headsum);
    m->headsum = NULL;
    return GCAM_OK;
}

static float trunc_normal(gcam_rng *r, double s)
{
    double z;
    do z = gcam_rng_normal(r);
    while (z < -2 || z > 2);
    return (float)(z * s);
}

/* Points tensor t at fresh data (not flagged owned: it is ours). */
static int swap_in(gcam_tensor *t, void **orig, int *orig_flags, float **mine, float *fresh)
{
    if (!*orig) {
        *orig = t->data;
        *orig_flags = t->flags;
    }
    gcam_free(*mine);
    *mine = fresh;
    t->data = fresh;
    t->flags &= ~GCAM_TF_OWNED;
    return GCAM_OK;
}

int gcam_model_randomize_layer(gcam_model *m, int i, uint64_t seed)
{
    int rc = ensure(m);
    if (rc) return rc;
    struct gcam_params *p = m->params;
    if (i < 0 || i >= p->n)
        return gcam_errf(&m->err, GCAM_E_RANGE, "layer %d out of range (the model has %d parameterised layers)", i, p->n);
    param_rec *r = &p->rec[i];
    gcam_tensor *W = &m->g->tensors[r->w_t], *B = r->b_t >= 0 ? &m->g->tensors[r->b_t] : NULL;
    int64_t nw = gcam_numel(W), nb = B ? gcam_numel(B) : 0;
    float *w = gcam_malloc(sizeof(float) * (size_t)(nw + 1)), *b = B ? gcam_calloc((size_t)nb + 1, sizeof(float)) : NULL;
    if (!w || (B && !b)) {
        gcam_free(w);
        gcam_free(b);
        return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    }
    gcam_rng rng;
    gcam_rng_seed(&rng, seed ^ ((uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull));
    const double s = 1.0 / sqrt((double)p->pub[i].fan_in);
    for (int64_t k = 0; k < nw; k++) w[k] = trunc_normal(&rng, s);
    swap_in(W, &r->orig_w, &r->orig_wflags, &r->rand_w, w);
    if (B) swap_in(B, &r->orig_b, &r->orig_bflags, &r->rand_b, b);
    p->pub[i].randomized = 1;
    return weights_changed(m);
}

static void restore_one(gcam_graph *g, param_rec *r, gcam_param_layer *L)
{
    if (r->orig_w) {
        g->tensors[r->w_t].data = r->orig_w;
        g->tensors[r->w_t].flags = r->orig_wflags;
    }
    if (r->orig_b) {
        g->tensors[r->b_t].data = r->orig_b;
        g->tensors[r->b_t].flags = r->orig_bflags;
    }
    gcam_free(r->rand_w);
    gcam_free(r->rand_b);
    r->orig_w = r->orig_b = NULL;
    r->rand_w = r->rand_b = NULL;
    L->randomized = 0;
}

int gcam_model_restore_layers(gcam_model *m)
{
    if (!m || !m->g) return GCAM_E_ARG;
    struct gcam_params *p = m->params;
    int any = 0;
    for (int i = 0; p && i < p->n; i++) {
        any |= p->pub[i].randomized;
        restore_one(m->g, &p->rec[i], &p->pub[i]);
    }
    return any ? weights_changed(m) : GCAM_OK;
}

void gcam_params_free(gcam_model *m)
{
    struct gcam_params *p = m->params;
    if (!p) return;
    for (int i = 0; i < p->n; i++) restore_one(m->g, &p->rec[i], &p->pub[i]);
    for (int i = 0; i < p->n_strings; i++) gcam_free(p->strings[i]);
    gcam_free(p->strings);
    gcam_free(p->rec);
    gcam_free(p->pub);
    gcam_free(p);
    m->params = NULL;
}

int64_t gcam_model_param_count(gcam_model *m)
{
    if (!m || !m->g) return 0;
    int64_t n = 0;
    for (int t = 0; t < m->g->n_tensors; t++) {
        const gcam_tensor *x = &m->g->tensors[t];
        if ((x->flags & GCAM_TF_INIT) && x->dtype == GCAM_DT_F32 && x->ndim >= 0) n += gcam_numel(x);
    }
    return n;
}

const char *gcam_model_producer(const gcam_model *m)
{
    return m && m->g && m->g->producer ? m->g->producer : "";
}
int64_t gcam_model_opset(const gcam_model *m) { return m && m->g ? m->g->opset : 0; }
int64_t gcam_model_ir_version(const gcam_model *m) { return m && m->g ? m->g->ir_version : 0; }
