/* explain.c - gcam_explain(), the API's explanation driver: the target, the
 * layers, the plan request, the forward and targeted backward passes, the
 * method's maps; augmentation smoothing and batches around all of it.
 *
 * The methods live one per file in src/cam/ and receive activations and
 * gradients as arguments (cam.h); the method table and the map
 * post-processing are src/cam/maps.c.  This file is the one that knows the
 * model handle: it decides which passes a method needs (its GCAM_MF_*
 * flags), what the plan keeps (plan_explanation), and runs the batch-1
 * forward and backward on the main plan. */
#include <math.h>
#include <stdlib.h>

#include "api/model_internal.h"
#include "cam/cam.h"

enum {
    M_LAYER = GCAM_MF_LAYER,
    M_LAYER_GRAD = GCAM_MF_LAYER_GRAD,
    M_INPUT_GRAD = GCAM_MF_INPUT_GRAD,
    M_GUIDED = GCAM_MF_GUIDED,
    M_RGB = GCAM_MF_RGB,
    M_BATCHED = GCAM_MF_BATCHED,
    M_SIGNED = GCAM_MF_SIGNED,
    M_ATTENTION = GCAM_MF_ATTENTION,
};

#define MAX_SIDES 256

struct gcam_explanation {
    float *map, *raw;
    int h, w, raw_h, raw_w, channels;
    int64_t target;
    float score;
    int n_layers;
    char *layers[GCAM_MAX_LAYERS]; /* copies of the tensor names */
    double t_forward, t_backward, t_cam;
    float *output;      /* the explained image's item of the target tensor */
    int64_t n_output;
};

/* Keeps batch item b of the target tensor y (after the forward pass) in x. */
static int keep_output(gcam_model *m, gcam_explanation *x, const gcam_tensor *y, int64_t b)
{
    int64_t n = gcam_numel(y), n1 = y->ndim && y->dims[0] > 0 ? n / y->dims[0] : n;
    gcam_free(x->output);
    if (!(x->output = gcam_malloc(sizeof(float) * (size_t)(n1 ? n1 : 1)))) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    memcpy(x->output, gcam_f32(y) + b * n1, sizeof(float) * (size_t)n1);
    x->n_output = n1;
    return GCAM_OK;
}

const float *gcam_explanation_output(const gcam_explanation *x, int64_t *n)
{
    if (n) *n = x ? x->n_output : 0;
    return x ? x->output : NULL;
}

/* ---- the explanation handle ------------------------------------------------------ */

void gcam_explain_opts_default(gcam_explain_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->method = GCAM_METHOD_GRADCAM;
    o->target_class = -1;
    o->normalize = GCAM_NORM_IMAGE;
}

void gcam_explanation_free(gcam_explanation *x)
{
    if (!x) return;
    gcam_free(x->map);
    gcam_free(x->raw);
    gcam_free(x->output);
    for (int i = 0; i < x->n_layers; i++) gcam_free(x->layers[i]);
    gcam_free(x);
}

const float *gcam_explanation_map(const gcam_explanation *x, int *h, int *w)
{
    if (h) *h = x ? x->h : 0;
    if (w) *w = x ? x->w : 0;
    return x ? x->map : NULL;
}

int gcam_explanation_channels(const gcam_explanation *x) { return x ? x->channels : 0; }

const float *gcam_explanation_raw(const gcam_explanation *x, int *h, int *w)
{
    if (h) *h = x ? x->raw_h : 0;
    if (w) *w = x ? x->raw_w : 0;
    return x ? x->raw : NULL;
}

int64_t gcam_explanation_target(const gcam_explanation *x) { return x ? x->target : -1; }
float gcam_explanation_score(const gcam_explanation *x) { return x ? x->score : NAN; }
int gcam_explanation_num_layers(const gcam_explanation *x) { return x ? x->n_layers : 0; }
const char *gcam_explanation_layer(const gcam_explanation *x, int i)
{
    return x && i >= 0 && i < x->n_layers ? x->layers[i] : NULL;
}

double gcam_explanation_time_ms(const gcam_explanation *x, const char *phase)
{
    if (!x || !phase) return -1;
    if (!strcmp(phase, "forward")) return x->t_forward;
    if (!strcmp(phase, "backward")) return x->t_backward;
    if (!strcmp(phase, "cam")) return x->t_cam;
    return -1;
}

/* The softmax groups of one image's output for a weighted target: the class
 * axis is axis 1 of a 4-D dense map (N x C x H x W, a segmentation), else the
 * last (N x C scores, N x T x V steps).  Group g's C elements start at
 * (g / inner) * C * inner + g % inner, inner apart. */
static void softmax_groups(const gcam_tensor *y, int64_t n1, int64_t *C, int64_t *inner)
{
    *C = y->ndim == 4 ? y->dims[1] : y->ndim ? y->dims[y->ndim - 1] : 1;
    *inner = y->ndim == 4 ? y->dims[2] * y->dims[3] : 1;
    if (*C < 1 || *C > n1) *C = n1 ? n1 : 1;
}

/* score = sum_i w_i p_i with p the softmax of each group; its gradient
 * d score / d z_j = p_j (w_j - sum_i w_i p_i) within the group (s gets it). */
static double weighted_softmax(const float *v, const float *w, int64_t n1, int64_t C, int64_t inner, float *s)
{
    double score = 0.0;
    for (int64_t g = 0; g < n1 / C; g++) {
        const int64_t base = (g / inner) * C * inner + g % inner;
        double mx = -INFINITY, sum = 0.0, dot = 0.0;
        for (int64_t i = 0; i < C; i++) mx = v[base + i * inner] > mx ? v[base + i * inner] : mx;
        for (int64_t i = 0; i < C; i++) sum += exp(v[base + i * inner] - mx);
        for (int64_t i = 0; i < C; i++) { /* s holds p first, then the gradient */
            const int64_t k = base + i * inner;
            s[k] = (float)(exp(v[k] - mx) / sum);
            dot += w[k] * (double)s[k];
        }
        for (int64_t i = 0; i < C; i++) s[base + i * inner] *= (float)(w[base + i * inner] - dot);
        score += dot;
    }
    return score;
}

/* A weighted target: score sum(w * y) over batch item 0 (with target_softmax,
 * sum(w * softmax(y)) over the class axis), seed its gradient (negated for
 * counterfactual, as the one-hot seed is through seed_value). */
static int weighted_target(gcam_model *m, const gcam_explain_opts *o, gcam_tensor *y, int64_t *target,
                           float *score, float **seed)
{
    int64_t n = gcam_numel(y), n1 = y->ndim && y->dims[0] > 0 ? n / y->dims[0] : n;
    if (o->n_target_weights != n1)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "target weights have %lld elements, '%s' has %lld per image",
                         (long long)o->n_target_weights, y->name, (long long)n1);
    float *s = gcam_calloc((size_t)n, sizeof(float));
    if (!s) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    const float *v = gcam_f32(y);
    double sum = 0.0;
    if (o->target_softmax) {
        int64_t C, inner;
        softmax_groups(y, n1, &C, &inner);
        sum = weighted_softmax(v, o->target_weights, n1, C, inner, s);
    } else {
        for (int64_t i = 0; i < n1; i++) {
            s[i] = o->target_weights[i];
            sum += (double)o->target_weights[i] * v[i];
        }
    }
    if (o->counterfactual)
        for (int64_t i = 0; i < n1; i++) s[i] = -s[i];
    *target = -1;
    *score = (float)sum;
    *seed = s;
    return GCAM_OK;
}

/* Picks the explained element and builds the backward seed (NULL = one-hot). */
static int make_target(gcam_model *m, const gcam_explain_opts *o, gcam_tensor *y, int64_t *target,
                       float *score, float **seed)
{
    int64_t n = gcam_numel(y);
    const float *v = gcam_f32(y);
    /* classes run along the last axis of batch item 0 */
    int64_t C = y->ndim ? y->dims[y->ndim - 1] : 1;
    if (C > n) C = n;
    if (o->target_weights) return weighted_target(m, o, y, target, score, seed);
    int64_t t = o->target_class;
    int64_t limit = o->target_output ? n : C;
    if (t < 0) {
        t = 0;
        for (int64_t i = 1; i < limit; i++)
            if (v[i] > v[t]) t = i;
    } else if (t >= limit) {
        return gcam_errf(&m->err, GCAM_E_RANGE, "target %lld is out of range: '%s' has %lld %s", (long long)t,
                         y->name, (long long)limit, o->target_output ? "elements" : "classes");
    }
    *target = t;
    *seed = NULL;
    *score = v[t];
    if (o->target_softmax) {
        /* d softmax_t / d z_i = p_t (delta_ti - p_i), over the class axis */
        if (t >= C) return gcam_errf(&m->err, GCAM_E_ARG, "--target-softmax needs a class index within the last axis");
        float *s = gcam_calloc((size_t)n, sizeof(float));
        if (!s) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        double mx = -INFINITY, sum = 0;
        for (int64_t i = 0; i < C; i++) mx = v[i] > mx ? v[i] : mx;
        for (int64_t i = 0; i < C; i++) sum += exp(v[i] - mx);
        double pt = exp(v[t] - mx) / sum;
        for (int64_t i = 0; i < C; i++) s[i] = (float)(-pt * exp(v[i] - mx) / sum);
        s[t] += (float)pt;
        if (o->counterfactual)
            for (int64_t i = 0; i < C; i++) s[i] = -s[i];
        *score = (float)pt;
        *seed = s;
    }
    return GCAM_OK;
}

static int set_raw(gcam_explanation *x, const float *src, int channels, int h, int w)
{
    size_t n = (size_t)channels * h * w;
    gcam_free(x->raw);
    if (!(x->raw = gcam_malloc(sizeof(float) * (n ? n : 1)))) return GCAM_E_NOMEM;
    memcpy(x->raw, src, sizeof(float) * n);
    x->raw_h = h;
    x->raw_w = w;
    return GCAM_OK;
}

/* ---- one explanation of one input ------------------------------------------------- */

/* Layer t's layout and grid: as listed, or as o's layout / token settings
 * say (gcam.h: gcam_explain_opts.layout). */
static int layer_layout(gcam_model *m, const gcam_explain_opts *o, int t, gcam_layer *L)
{
    const gcam_tensor *A = &m->g->tensors[t];
    int rc = gcam_model_layer_info(m, t, L);
    if (rc && rc != GCAM_E_SHAPE) return rc;
    int listed = !rc;
    if (o->layout == GCAM_LAYER_AUTO) {
        if (!listed)
            return gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s' is neither a 4-D map nor a token sequence on a grid the "
                             "graph tells (see `gradcam layers`; --layout, --tokens)", A->name);
        return GCAM_OK;
    }
    L->layout = o->layout;
    L->skip = 0;
    if (o->layout == GCAM_LAYER_NCHW || o->layout == GCAM_LAYER_NHWC) {
        if (A->ndim != 4) return gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s' is %d-D, not 4-D as the layout says", A->name, A->ndim);
        int nhwc = o->layout == GCAM_LAYER_NHWC;
        L->grid_h = A->dims[nhwc ? 1 : 2], L->grid_w = A->dims[nhwc ? 2 : 3], L->channels = A->dims[nhwc ? 3 : 1];
        return GCAM_OK;
    }
    if (o->layout != GCAM_LAYER_TOKENS) return gcam_errf(&m->err, GCAM_E_ARG, "unknown layout %d", (int)o->layout);
    if (A->ndim != 3) return gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s' is %d-D, not N x T x C tokens", A->name, A->ndim);
    if (o->token_h > 0) {
        L->grid_h = o->token_h, L->grid_w = o->token_w > 0 ? o->token_w : o->token_h;
        L->skip = o->token_skip;
    } else if (!listed || L->layout != GCAM_LAYER_TOKENS) {
        return gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s': the graph tells no token grid; give one (--tokens SKIP,HxW)", A->name);
    }
    L->layout = GCAM_LAYER_TOKENS;
    L->channels = A->dims[2];
    if (L->skip < 0 || L->skip + L->grid_h * L->grid_w != A->dims[1])
        return gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s' has %lld tokens, not %lld skipped + %lldx%lld", A->name,
                         (long long)A->dims[1], (long long)L->skip, (long long)L->grid_h, (long long)L->grid_w);
    return GCAM_OK;
}

/* The layers of o (or the automatic one) as tensor ids, checked to be float
 * activations of `batch` items on a grid (info: layout and grid); their names
 * copied into x. */
static int resolve_layers(gcam_model *m, const gcam_explain_opts *o, int64_t batch, int target_t, int *layer_ts,
                          gcam_layer *info,
                          int *head_y, int *n_layers, gcam_explanation *x)
{
    gcam_graph *g = m->g;
    int rc = GCAM_OK, n = o->n_layers > 0 && o->layers ? o->n_layers : 1;
    for (int i = 0; i < n && !rc; i++) {
        const char *name = o->n_layers > 0 && o->layers ? o->layers[i] : "auto";
        const char *tn = NULL;
        /* auto: the last map the target depends on (the target may be any
         * tensor, one of several heads) */
        int t = !strcmp(name, "auto") ? gcam_model_auto_layer_for(m, target_t) : -1;
        if (!strcmp(name, "auto") && t < 0) rc = m->err.code ? m->err.code : GCAM_E_NOTFOUND;
        else if (t < 0 && !(rc = gcam_model_resolve_layer(m, name, &tn))) t = gcam_graph_find(g, tn);
        if (rc) break;
        gcam_tensor *A = &g->tensors[t];
        tn = A->name;
        if (A->dtype != GCAM_DT_F32)
            rc = gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s' is not a float activation (see `gradcam layers`)", tn);
        else if (A->flags & GCAM_TF_CONST)
            rc = gcam_errf(&m->err, GCAM_E_ARG, "layer '%s' is a constant, not an activation", tn);
        else if (A->dims[0] != batch)
            rc = gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s' has batch %lld, not %lld", tn, (long long)A->dims[0],
                           (long long)batch);
        if (!rc) rc = layer_layout(m, o, t, &info[i]);
        layer_ts[i] = t;
        head_y[i] = -1;
        if (!rc && !(x->layers[i] = gcam_strdup(A->name))) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    }
    *n_layers = n;
    x->n_layers = n;
    return rc;
}

/* The layer maps of batch item `item` into x (map, raw), as pytorch-grad-cam's
 * compute_cam_per_layer + aggregate_multi_layers; x->map is H x W, zeroed. */
static int layer_maps(gcam_cam_ctx *cx, const int *layer_ts, const gcam_layer *info, const int *head_y, int n_layers,
                      int64_t item, gcam_explanation *x, float *up)
{
    const gcam_explain_opts *o = cx->o;
    int rc = GCAM_OK, rgb = (gcam_method_flags(o->method) & M_RGB) != 0;
    for (int i = 0; i < n_layers && !rc; i++) {
        int h = (int)info[i].grid_h, w = (int)info[i].grid_w;
        float *cam = gcam_malloc(sizeof(float) * (size_t)h * w);
        if (!cam) return gcam_errf(cx->err, GCAM_E_NOMEM, "out of memory");
        rc = gcam_cam_layer_map(cx, layer_ts[i], &info[i], head_y[i], item, cam);
        if (!rc && i == 0 && !rgb) {
            float *r = gcam_malloc(sizeof(float) * (size_t)h * w);
            if (!r) rc = gcam_errf(cx->err, GCAM_E_NOMEM, "out of memory");
            else {
                memcpy(r, cam, sizeof(float) * (size_t)h * w);
                if (!o->no_relu) gcam_cam_relu(r, (int64_t)h * w);
                if (set_raw(x, r, 1, h, w)) rc = gcam_errf(cx->err, GCAM_E_NOMEM, "out of memory");
                gcam_free(r);
            }
        }
        if (!rc) gcam_cam_accumulate(o, cam, h, w, up, x->map, x->h, x->w, n_layers);
        gcam_free(cam);
    }
    if (!rc && n_layers) gcam_cam_finish_gray(o, x->map, (int64_t)x->h * x->w);
    return rc;
}

/* The attention probabilities for the rollout methods: every Softmax output
 * with T x T trailing dims, T the token count (gcam.h, methods); in order. */
static int find_attention(gcam_model *m, const gcam_explain_opts *o, int *att, int *n_att, gcam_layer *grid)
{
    gcam_graph *g = m->g;
    const gcam_layer *L = NULL;
    int nl = 0, rc = gcam_model_layers(m, &L, &nl);
    if (rc) return rc;
    memset(grid, 0, sizeof *grid);
    if (o->layout == GCAM_LAYER_TOKENS && o->token_h > 0) {
        grid->skip = o->token_skip, grid->grid_h = o->token_h, grid->grid_w = o->token_w > 0 ? o->token_w : o->token_h;
    } else {
        for (int i = 0; i < nl; i++) /* the automatic layer's grid, else the first token layer's */
            if (L[i].layout == GCAM_LAYER_TOKENS && (!grid->grid_h || L[i].is_auto)) *grid = L[i];
    }
    if (!grid->grid_h)
        return gcam_errf(&m->err, GCAM_E_UNSUPPORTED, "%s needs a vision transformer's token layers (none found; "
                         "--tokens SKIP,HxW)", gcam_method_name(o->method));
    int64_t T = grid->skip + grid->grid_h * grid->grid_w;
    *n_att = 0;
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (strcmp(n->op_type, "Softmax") || n->out[0] < 0) continue;
        const gcam_tensor *a = &g->tensors[n->out[0]];
        if (a->ndim < 3 || a->dims[a->ndim - 1] != T || a->dims[a->ndim - 2] != T) continue;
        if (*n_att == GCAM_MAX_LAYERS)
            return gcam_errf(&m->err, GCAM_E_UNSUPPORTED, "more than %d attention layers", GCAM_MAX_LAYERS);
        att[(*n_att)++] = n->out[0];
    }
    if (!*n_att)
        return gcam_errf(&m->err, GCAM_E_NOTFOUND, "no Softmax output of %lld x %lld tokens (attention probabilities)",
                         (long long)T, (long long)T);
    return GCAM_OK;
}

/* The rollout methods' h x w map into x (raw and map). */
static int rollout_map(gcam_model *m, const gcam_explain_opts *o, const int *att, int n_att, const gcam_layer *grid,
                       gcam_explanation *x, float *up)
{
    gcam_graph *g = m->g;
    const float *A[GCAM_MAX_LAYERS], *dA[GCAM_MAX_LAYERS];
    int64_t heads[GCAM_MAX_LAYERS], T = grid->skip + grid->grid_h * grid->grid_w;
    int h = (int)grid->grid_h, w = (int)grid->grid_w;
    for (int l = 0; l < n_att; l++) {
        A[l] = gcam_f32(&g->tensors[att[l]]);
        dA[l] = o->method == GCAM_METHOD_GRAD_ROLLOUT ? gcam_f32(&g->grads[att[l]]) : NULL;
        heads[l] = gcam_numel(&g->tensors[att[l]]) / (T * T);
    }
    float *cam = gcam_malloc(sizeof(float) * (size_t)(T + 1));
    int rc = cam ? gcam_cam_rollout(A, o->method == GCAM_METHOD_GRAD_ROLLOUT ? dA : NULL, heads, n_att, T, grid->skip,
                                    o->discard_ratio, cam)
                 : GCAM_E_NOMEM;
    if (!rc) rc = set_raw(x, cam, 1, h, w);
    if (!rc) {
        gcam_cam_accumulate(o, cam, h, w, up, x->map, x->h, x->w, 1);
        gcam_cam_finish_gray(o, x->map, (int64_t)x->h * x->w);
    }
    gcam_free(cam);
    return rc ? gcam_errf(&m->err, rc, "out of memory") : GCAM_OK;
}

/* Everything one explanation of one input carries from step to step. */
typedef struct explain_run {
    gcam_model *m;
    gcam_graph *g;
    const gcam_explain_opts *o;
    int fl;                     /* the method's GCAM_MF_* flags */
    const gcam_array *input;
    int main_i, input_t, target_t;
    int nhwc, C, H, W;          /* the map is drawn at the image's H x W, whatever the input's layout */
    int n_layers, layer_ts[GCAM_MAX_LAYERS], head_y[GCAM_MAX_LAYERS];
    gcam_layer info[GCAM_MAX_LAYERS];
    int att[GCAM_MAX_LAYERS], n_att; /* the rollout methods' attention probabilities */
    gcam_layer grid;                 /* and their token grid */
    int sides[MAX_SIDES], n_sides;   /* Ablation-CAM's suffix plans' side inputs */
    gcam_bwd_plan bp;
    float *seed;                /* the backward seed (NULL: one-hot) */
    float seed_value;
    double t0, t1, t2;          /* before the forward pass, after it, after the backward pass */
} explain_run;

/* The one place that decides what an explanation's plan keeps after the
 * forward pass: the layers and attention maps the method reads, the target,
 * the tensors Ablation-CAM feeds its suffix plans and, with a backward pass,
 * the tensors where it stops (the planner adds what backward reads). */
static int plan_explanation(gcam_model *m, const int *const *lists, const int *counts, int n_lists,
                            const gcam_bwd_plan *bp)
{
    unsigned char *keep = gcam_calloc((size_t)m->g->n_tensors + 1, 1);
    if (!keep) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    for (int l = 0; l < n_lists; l++)
        for (int i = 0; i < counts[l]; i++) keep[lists[l][i]] = 1;
    if (bp) {
        for (int i = 0; i < bp->n_layers; i++) keep[bp->layers[i]] = 1;
        keep[bp->target] = 1;
    }
    const gcam_plan_request req = {.keep = keep, .backward = bp ? bp->on_path : NULL};
    int rc = gcam_model_plan(m, &req);
    gcam_free(keep);
    return rc;
}

/* The target tensor: o's, or the first output; a float activation. */
static int find_target(explain_run *r)
{
    const char *tname = r->o->target_output ? r->o->target_output : gcam_model_output_name(r->m, 0);
    r->target_t = gcam_graph_find(r->g, tname);
    if (r->target_t < 0)
        return gcam_errf(&r->m->err, GCAM_E_NOTFOUND, "target output '%s' is not a tensor of the model", tname);
    if (r->g->tensors[r->target_t].dtype != GCAM_DT_F32)
        return gcam_errf(&r->m->err, GCAM_E_DTYPE, "target output '%s' is not float32", tname);
    if (r->g->tensors[r->target_t].flags & GCAM_TF_CONST)
        return gcam_errf(&r->m->err, GCAM_E_ARG, "target output '%s' is a constant", tname);
    return GCAM_OK;
}

/* What the method reads (layers, attention, the linear head, Ablation-CAM's
 * sides) and the backward path to them; then the plan for all that. */
static int plan_run(explain_run *r, gcam_explanation *x)
{
    gcam_model *m = r->m;
    const gcam_explain_opts *o = r->o;
    int rc = find_target(r);
    if (!rc && (r->fl & M_LAYER))
        rc = resolve_layers(m, o, 1, r->target_t, r->layer_ts, r->info, r->head_y, &r->n_layers, x);
    int n_bp = 0;
    for (int i = 0; i < r->n_layers; i++) r->bp.layers[n_bp++] = r->layer_ts[i];
    if (!rc && (r->fl & M_ATTENTION)) rc = find_attention(m, o, r->att, &r->n_att, &r->grid);
    for (int i = 0; i < r->n_att; i++) r->bp.layers[n_bp++] = r->att[i];
    /* Grad-CAM through a flattening linear head: the backward stops at its output */
    for (int i = 0; i < r->n_layers && !rc && o->method == GCAM_METHOD_GRADCAM; i++)
        if (r->info[i].layout == GCAM_LAYER_NCHW && (r->head_y[i] = gcam_cam_head_find(r->g, r->layer_ts[i])) >= 0)
            r->bp.layers[i] = r->head_y[i];
    /* Ablation-CAM feeds its suffix plans with tensors that cross the layer */
    for (int i = 0; i < r->n_layers && !rc && o->method == GCAM_METHOD_ABLATIONCAM; i++) {
        int k = gcam_suffix_sides(r->g, &r->layer_ts[i], 1, r->target_t, r->sides + r->n_sides,
                                  MAX_SIDES - r->n_sides, &m->err);
        if (k < 0) rc = k;
        else r->n_sides += k;
    }
    if (rc) return rc;
    r->bp.target = r->target_t;
    const int backward = (r->fl & (M_LAYER_GRAD | M_INPUT_GRAD)) != 0;
    if (backward) {
        r->bp.n_layers = (r->fl & M_LAYER_GRAD) ? n_bp : 0;
        r->bp.input_grad = (r->fl & M_INPUT_GRAD) != 0;
        if ((rc = gcam_bwd_prepare(r->g, &r->bp, &m->err))) return rc;
    }
    const int *lists[] = {r->layer_ts, r->att, &r->target_t, r->sides};
    const int counts[] = {r->n_layers, r->n_att, 1, r->n_sides};
    return plan_explanation(m, lists, counts, 4, backward ? &r->bp : NULL);
}

/* The forward pass, the target and its score, and the ordinary backward
 * pass (guided backprop alone needs only the guided one). */
static int run_passes(explain_run *r, gcam_explanation *x)
{
    gcam_model *m = r->m;
    int rc = gcam_model_bind_extras(m, 1);
    r->t0 = gcam_now_ms();
    if (!rc) {
        gcam_tensor *in = &r->g->tensors[r->input_t];
        memcpy(in->data, r->input->data, gcam_tensor_bytes(in));
        rc = gcam_graph_forward(r->g, &m->err);
    }
    r->t1 = gcam_now_ms();
    gcam_tensor *y = &r->g->tensors[r->target_t];
    if (!rc) rc = make_target(m, r->o, y, &x->target, &x->score, &r->seed);
    if (!rc) rc = keep_output(m, x, y, 0);
    r->seed_value = r->o->counterfactual ? -1.0f : 1.0f;
    if (!rc && (r->fl & (M_LAYER_GRAD | M_INPUT_GRAD)) && r->o->method != GCAM_METHOD_GUIDED_BACKPROP)
        rc = gcam_bwd_run(r->g, &r->bp, r->seed, x->target, r->seed_value, 0, &m->err);
    r->t2 = gcam_now_ms();
    return rc;
}

/* Saliency, integrated gradients and SmoothGrad: a map at the input's resolution. */
static int input_gradient_map(explain_run *r, gcam_cam_ctx *cx, gcam_explanation *x, float *up)
{
    const gcam_explain_opts *o = r->o;
    const int64_t HW = (int64_t)r->H * r->W;
    float *raw = gcam_malloc(sizeof(float) * (size_t)HW);
    int rc = GCAM_OK;
    if (!raw) return gcam_errf(&r->m->err, GCAM_E_NOMEM, "out of memory");
    if (o->method == GCAM_METHOD_SALIENCY) rc = gcam_cam_saliency(cx, gcam_f32(&r->g->grads[r->input_t]), raw);
    else if (o->method == GCAM_METHOD_INTEGRATED_GRADIENTS) rc = gcam_cam_integrated_gradients(cx, raw);
    else rc = gcam_cam_smoothgrad(cx, raw);
    if (!rc && (r->fl & M_SIGNED)) { /* integrated gradients: signed, kept so */
        if (set_raw(x, raw, 1, r->H, r->W)) rc = gcam_errf(&r->m->err, GCAM_E_NOMEM, "out of memory");
        memcpy(x->map, raw, sizeof(float) * (size_t)HW);
        gcam_cam_finish_signed(o, x->map, HW);
    } else if (!rc) { /* saliency, smoothgrad: >= 0, post-processed as a CAM */
        for (int64_t p = 0; p < HW; p++) up[p] = raw[p];
        if (!o->no_relu) gcam_cam_relu(up, HW);
        if (set_raw(x, up, 1, r->H, r->W)) rc = gcam_errf(&r->m->err, GCAM_E_NOMEM, "out of memory");
        if (!rc) {
            gcam_cam_accumulate(o, raw, r->H, r->W, up, x->map, r->H, r->W, 1);
            gcam_cam_finish_gray(o, x->map, HW);
        }
    }
    gcam_free(raw);
    return rc;
}

/* Guided backprop's C x H x W map, times the Grad-CAM map for Guided Grad-CAM. */
static int guided_map(explain_run *r, gcam_explanation *x)
{
    gcam_model *m = r->m;
    const int64_t C = r->C, HW = (int64_t)r->H * r->W;
    float *rgb = gcam_malloc(sizeof(float) * (size_t)(C * HW));
    int rc = rgb ? GCAM_OK : gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    if (!rc) rc = gcam_bwd_run(r->g, &r->bp, r->seed, x->target, r->seed_value, 1, &m->err);
    if (!rc) {
        const float *gb = gcam_f32(&r->g->grads[r->input_t]);
        if (r->nhwc) gcam_cam_to_planar(gb, C, HW, rgb); /* the map is C planes */
        else memcpy(rgb, gb, sizeof(float) * (size_t)(C * HW));
        if (r->o->method == GCAM_METHOD_GUIDED_GRADCAM) gcam_cam_guided_gradcam(rgb, x->map, C, HW, rgb);
        if (set_raw(x, rgb, (int)C, r->H, r->W)) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    }
    if (!rc) {
        gcam_cam_finish_signed(r->o, rgb, C * HW);
        gcam_free(x->map);
        x->map = rgb;
        rgb = NULL;
    }
    gcam_free(rgb);
    return rc;
}

/* The method's maps from what the passes left: layer maps (and Guided
 * Grad-CAM's Grad-CAM part), rollout, input-gradient maps, guided backprop. */
static int method_maps(explain_run *r, gcam_explanation *x)
{
    gcam_model *m = r->m;
    const gcam_explain_opts *o = r->o;
    gcam_cam_ctx cx = {
        .g = r->g,
        .err = &m->err,
        .o = o,
        .input_t = r->input_t,
        .x = r->input->data,
        .C = r->C,
        .H = r->H,
        .W = r->W,
        .nhwc = r->nhwc,
        .target_t = r->target_t,
        .target = x->target,
        .score = o->counterfactual ? -x->score : x->score,
        .batch = o->batch_size > 0 ? o->batch_size : 32,
        .headsum = &m->headsum,
        .stats = &m->stats,
        .sg_noise = m->sg_noise.data ? &m->sg_noise : NULL,
    };
    const int64_t HW = (int64_t)r->H * r->W;
    x->h = r->H;
    x->w = r->W;
    x->channels = (r->fl & M_RGB) ? r->C : 1;
    float *up = NULL;
    int rc = GCAM_OK;
    if (!(x->map = gcam_calloc((size_t)HW, sizeof(float))) || !(up = gcam_malloc(sizeof(float) * (size_t)HW)))
        rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    if (!rc) rc = layer_maps(&cx, r->layer_ts, r->info, r->head_y, r->n_layers, 0, x, up);
    if (!rc && (r->fl & M_ATTENTION)) rc = rollout_map(m, o, r->att, r->n_att, &r->grid, x, up);
    if (!rc && (o->method == GCAM_METHOD_SALIENCY || (r->fl & M_BATCHED))) rc = input_gradient_map(r, &cx, x, up);
    if (!rc && (r->fl & M_GUIDED)) rc = guided_map(r, x);
    gcam_free(up);
    return rc;
}

static int explain_once(gcam_model *m, const gcam_array *input, const gcam_explain_opts *o,
                        gcam_explanation **out)
{
    explain_run r = {.m = m, .g = m->g, .o = o, .fl = gcam_method_flags(o->method), .input = input};
    if ((r.main_i = gcam_model_main_input(m)) < 0) return m->err.code;
    int rc = gcam_model_bind_extras(m, 0);
    if (!rc) rc = gcam_model_bind_input(m, r.main_i, input);
    if (!rc) rc = gcam_model_ensure_planned(m); /* shapes and dtypes, to find what to plan for */
    if (rc) return rc;
    r.input_t = r.g->inputs[r.main_i];
    r.nhwc = gcam_model_input_layout(m, r.main_i) == GCAM_LAYOUT_NHWC;
    r.C = (int)input->dims[r.nhwc ? 3 : 1], r.H = (int)input->dims[r.nhwc ? 1 : 2], r.W = (int)input->dims[r.nhwc ? 2 : 3];
    gcam_explanation *x = gcam_calloc(1, sizeof *x);
    if (!x) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    rc = plan_run(&r, x);
    if (!rc) rc = run_passes(&r, x);
    if (!rc) rc = method_maps(&r, x);
    gcam_free(r.seed);
    x->t_forward = r.t1 - r.t0;
    x->t_backward = r.t2 - r.t1;
    x->t_cam = gcam_now_ms() - r.t2;
    gcam_bwd_release(&r.bp);
    if (rc) {
        gcam_explanation_free(x);
        return rc;
    }
    *out = x;
    return GCAM_OK;
}

/* Each item's maps after the batched passes; copies the layer names of out[0]. */
static int batch_maps(gcam_model *m, const gcam_array *input, const gcam_explain_opts *o, const int *layer_ts,
                      const gcam_layer *info, const int *head_y, int n_layers, gcam_explanation **out, double t_fwd, double t_bwd)
{
    int H = (int)input->dims[2], W = (int)input->dims[3];
    int64_t HW = (int64_t)H * W;
    gcam_cam_ctx cx = {.g = m->g, .err = &m->err, .o = o, .input_t = m->g->inputs[0], .C = input->dims[1], .H = H,
                       .W = W, .batch = 1, .headsum = &m->headsum, .stats = &m->stats};
    float *up = gcam_malloc(sizeof(float) * (size_t)HW);
    int rc = up ? GCAM_OK : gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    for (int64_t b = 0; b < input->dims[0] && !rc; b++) {
        double t0 = gcam_now_ms();
        gcam_explanation *x = out[b];
        x->h = H;
        x->w = W;
        x->channels = 1;
        x->n_layers = n_layers;
        for (int i = 0; i < n_layers && !rc && b; i++)
            if (!(x->layers[i] = gcam_strdup(out[0]->layers[i]))) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        if (!rc && !(x->map = gcam_calloc((size_t)HW, sizeof(float)))) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        cx.target = x->target;
        cx.score = o->counterfactual ? -x->score : x->score;
        if (!rc) rc = layer_maps(&cx, layer_ts, info, head_y, n_layers, b, x, up);
        x->t_forward = t_fwd;
        x->t_backward = t_bwd;
        x->t_cam = gcam_now_ms() - t0;
    }
    gcam_free(up);
    return rc;
}

/* ---- augmentation smoothing ---------------------------------------------------------
 * pytorch-grad-cam's forward_augmentation_smoothing with ttach: horizontal flip
 * (no, yes) x multiply (0.9, 1.0, 1.1) applied to the input tensor; each
 * map (already normalised) is flipped back, and the six are averaged with no
 * further normalisation.  The class is fixed by the unaugmented input, so all
 * six explain the same target. */
static int explain_augmented(gcam_model *m, const gcam_array *input, const gcam_explain_opts *o,
                             gcam_explanation **out)
{
    static const float factors[3] = {0.9f, 1.0f, 1.1f};
    gcam_explanation *base = NULL, *ex = NULL;
    int rc = explain_once(m, input, o, &base);
    if (rc) return rc;
    gcam_explain_opts fixed = *o;
    fixed.target_class = base->target;
    int ch = base->channels, H = base->h, W = base->w;
    int64_t HW = (int64_t)H * W, n = (int64_t)ch * HW, nin = gcam_dims_numel_checked(input->dims, input->ndim);
    /* a horizontal flip reverses the W axis: the last of NCHW, the third of
     * NHWC (whose pixels are runs of C values) */
    const int nhwc = gcam_model_input_layout(m, gcam_model_main_input(m)) == GCAM_LAYOUT_NHWC;
    int64_t unit = nhwc ? input->dims[3] : 1, Win = nhwc ? input->dims[2] : input->dims[3];
    int64_t rows = nin / (Win * unit);
    double *acc = gcam_calloc((size_t)n, sizeof(double));
    float *xa = gcam_malloc(sizeof(float) * (size_t)nin);
    if (!acc || !xa) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    double t_f = 0, t_b = 0, t_c = 0;
    int done = 0;
    for (int flip = 0; flip < 2 && !rc; flip++)
        for (int f = 0; f < 3 && !rc; f++) {
            const gcam_explanation *e = base;
            if (flip || f != 1) {
                const float *src = input->data;
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t c = 0; c < Win; c++)
                        for (int64_t u = 0; u < unit; u++)
                            xa[(r * Win + c) * unit + u] = src[(r * Win + (flip ? Win - 1 - c : c)) * unit + u] * factors[f];
                gcam_array a = *input;
                a.data = xa;
                gcam_explanation_free(ex);
                ex = NULL;
                if ((rc = explain_once(m, &a, &fixed, &ex))) break;
                e = ex;
            }
            for (int64_t k = 0; k < ch; k++)
                for (int64_t y = 0; y < H; y++)
                    for (int64_t c = 0; c < W; c++)
                        acc[k * HW + y * W + c] += e->map[k * HW + y * W + (flip ? W - 1 - c : c)];
            t_f += e->t_forward;
            t_b += e->t_backward;
            t_c += e->t_cam;
            if (o->progress) o->progress(o->progress_user, "aug-smooth", ++done, 6);
        }
    if (!rc) {
        for (int64_t i = 0; i < n; i++) base->map[i] = (float)(acc[i] / 6.0);
        base->t_forward = t_f;
        base->t_backward = t_b;
        base->t_cam = t_c;
    }
    gcam_explanation_free(ex);
    gcam_free(acc);
    gcam_free(xa);
    if (rc) {
        gcam_explanation_free(base);
        return rc;
    }
    *out = base;
    return GCAM_OK;
}

/* ---- a batch in one forward and one backward pass (gcam_explain_batch) -------------
 * The layer CAMs read only the layer's activations and their gradient, item by
 * item, and the seeds of the N items' scores sit in disjoint parts of the
 * target tensor, so one backward pass from the sum of the N scores gives each
 * item its own gradient (nothing in an inference graph mixes batch items). */
static int batchable(const gcam_explain_opts *o)
{
    int fl = gcam_method_flags(o->method);
    return (fl == (M_LAYER | M_LAYER_GRAD) || o->method == GCAM_METHOD_EIGENCAM) && !o->aug_smooth &&
           !o->target_softmax && !o->target_weights && !o->target_output;
}

/* Item b's target (given, or its top-1) and score, from the forward pass's output. */
static int item_target(gcam_model *m, const gcam_tensor *y, int64_t b, int64_t n1, int64_t want, int64_t *t,
                       float *score)
{
    const float *v = gcam_f32(y) + b * n1;
    int64_t C = y->ndim ? y->dims[y->ndim - 1] : 1;
    C = C > n1 ? n1 : C;
    if (want >= C)
        return gcam_errf(&m->err, GCAM_E_RANGE, "target %lld is out of range: '%s' has %lld classes", (long long)want,
                         y->name, (long long)C);
    *t = want;
    if (want < 0)
        for (int64_t i = *t = 0; i < C; i++)
            if (v[i] > v[*t]) *t = i;
    *score = v[*t];
    return GCAM_OK;
}

static int explain_batched(gcam_model *m, const gcam_array *input, const gcam_explain_opts *o, const int64_t *targets,
                           gcam_explanation **out)
{
    gcam_graph *g = m->g;
    const int fl = gcam_method_flags(o->method);
    const int64_t N = input->dims[0];
    int rc = gcam_model_bind_input(m, 0, input), n_layers = 0, layer_ts[GCAM_MAX_LAYERS], head_y[GCAM_MAX_LAYERS];
    gcam_layer info[GCAM_MAX_LAYERS];
    if (!rc) rc = gcam_model_ensure_planned(m);
    gcam_explanation *first = rc ? NULL : gcam_calloc(1, sizeof *first);
    if (!rc && !first) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    int target_t = rc ? -1 : gcam_graph_find(g, gcam_model_output_name(m, 0)), input_t = g->inputs[0];
    if (!rc && target_t < 0) rc = gcam_errf(&m->err, GCAM_E_ARG, "the model has no output");
    if (!rc) rc = resolve_layers(m, o, N, target_t, layer_ts, info, head_y, &n_layers, first);
    gcam_bwd_plan bp;
    memset(&bp, 0, sizeof bp);
    bp.target = target_t;
    bp.n_layers = (fl & M_LAYER_GRAD) ? n_layers : 0;
    for (int i = 0; i < n_layers; i++) bp.layers[i] = layer_ts[i];
    if (!rc && (target_t < 0 || g->tensors[target_t].dtype != GCAM_DT_F32 || g->tensors[target_t].dims[0] != N))
        rc = gcam_errf(&m->err, GCAM_E_ARG, "the first output is not a float tensor of batch %lld", (long long)N);
    if (!rc && (fl & M_LAYER_GRAD)) rc = gcam_bwd_prepare(g, &bp, &m->err);
    const int *lists[] = {layer_ts, &target_t};
    const int counts[] = {n_layers, 1};
    if (!rc) rc = plan_explanation(m, lists, counts, 2, (fl & M_LAYER_GRAD) ? &bp : NULL);
    double t0 = gcam_now_ms();
    if (!rc) {
        memcpy(g->tensors[input_t].data, input->data, gcam_tensor_bytes(&g->tensors[input_t]));
        rc = gcam_graph_forward(g, &m->err);
    }
    double t1 = gcam_now_ms();
    const gcam_tensor *y = rc ? NULL : &g->tensors[target_t];
    int64_t n = rc ? 0 : gcam_numel(y), n1 = n / (N ? N : 1);
    float *seed = rc ? NULL : gcam_calloc((size_t)(n ? n : 1), sizeof(float));
    if (!rc && !seed) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    for (int64_t b = 0; b < N && !rc; b++) {
        if (!(out[b] = b ? gcam_calloc(1, sizeof **out) : first)) { rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory"); break; }
        if (!b) first = NULL;
        gcam_explanation *x = out[b];
        rc = item_target(m, y, b, n1, targets ? targets[b] : o->target_class, &x->target, &x->score);
        if (!rc) rc = keep_output(m, x, y, b);
        if (!rc) seed[b * n1 + x->target] = o->counterfactual ? -1.0f : 1.0f;
    }
    if (!rc && (fl & M_LAYER_GRAD)) rc = gcam_bwd_run(g, &bp, seed, 0, 1.0f, 0, &m->err);
    double t2 = gcam_now_ms();
    rc = rc ? rc : batch_maps(m, input, o, layer_ts, info, head_y, n_layers, out, (t1 - t0) / N, (t2 - t1) / N);
    gcam_free(seed);
    gcam_bwd_release(&bp);
    gcam_explanation_free(first);
    if (rc)
        for (int64_t b = 0; b < N; b++) {
            gcam_explanation_free(out[b]);
            out[b] = NULL;
        }
    return rc;
}

static int check_opts(gcam_model *m, const gcam_explain_opts *o);

int gcam_explain_batch(gcam_model *m, const gcam_array *input, const gcam_explain_opts *opts, const int64_t *targets,
                       gcam_explanation **out)
{
    if (!m || !m->g || !input || !out) return GCAM_E_ARG;
    if (input->ndim != 4 || input->dims[0] < 1 || input->dtype != GCAM_FLOAT32)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "explain_batch needs an N x C x H x W float32 input");
    int64_t N = input->dims[0];
    for (int64_t b = 0; b < N; b++) out[b] = NULL;
    gcam_explain_opts def;
    if (!opts) {
        gcam_explain_opts_default(&def);
        opts = &def;
    }
    int rc = check_opts(m, opts);
    if (rc) return rc;
    if (!input->data) return gcam_errf(&m->err, GCAM_E_ARG, "the input has no data");
    for (int64_t b = 0; targets && b < N; b++)
        if (targets[b] < -1)
            return gcam_errf(&m->err, GCAM_E_ARG, "targets[%lld] = %lld: a class index >= 0, or -1 for the top-1",
                             (long long)b, (long long)targets[b]);
    int64_t decl[GCAM_MAX_NDIM];
    rc = -1;
    /* one pass when the input's batch is symbolic and the method allows it; a
     * failure there (a graph that pins the batch, memory) falls back to the loop */
    if (N > 1 && m->g->n_inputs == 1 && gcam_model_input_shape(m, 0, decl) == 4 && decl[0] < 0 &&
        gcam_model_input_layout(m, 0) == GCAM_LAYOUT_NCHW && /* batch_maps reads N x C x H x W */
        (unsigned)opts->method < GCAM_METHOD_COUNT && batchable(opts) &&
        opts->n_layers <= GCAM_MAX_LAYERS)
        rc = explain_batched(m, input, opts, targets, out);
    if (rc == GCAM_OK) return GCAM_OK;
    gcam_array one = *input;
    one.dims[0] = 1;
    int64_t item = gcam_dims_numel_checked(input->dims + 1, 3);
    gcam_explain_opts o = *opts;
    rc = GCAM_OK;
    for (int64_t b = 0; b < N && !rc; b++) {
        one.data = (float *)input->data + b * item;
        if (targets) o.target_class = targets[b];
        rc = gcam_explain(m, &one, &o, &out[b]);
    }
    for (int64_t b = 0; rc && b < N; b++) {
        gcam_explanation_free(out[b]);
        out[b] = NULL;
    }
    return rc;
}

/* Values the struct can hold but that mean nothing are errors, not
 * quietly some other setting. */
static int check_opts(gcam_model *m, const gcam_explain_opts *o)
{
    if ((unsigned)o->method >= GCAM_METHOD_COUNT)
        return gcam_errf(&m->err, GCAM_E_ARG, "unknown method %d", (int)o->method);
    if (o->normalize != GCAM_NORM_IMAGE && o->normalize != GCAM_NORM_NONE && o->normalize != GCAM_NORM_GLOBAL)
        return gcam_errf(&m->err, GCAM_E_ARG, "unknown normalize %d (GCAM_NORM_IMAGE, _NONE, _GLOBAL)", (int)o->normalize);
    if (o->normalize == GCAM_NORM_GLOBAL && !(isfinite(o->global_max) && o->global_max > 0))
        return gcam_errf(&m->err, GCAM_E_ARG, "global_max must be a finite number > 0, got %g", (double)o->global_max);
    if (o->target_class < -1)
        return gcam_errf(&m->err, GCAM_E_ARG, "target_class %lld: a class index >= 0, or -1 for the top-1",
                         (long long)o->target_class);
    if (o->n_layers < 0 || (o->n_layers > 0 && !o->layers))
        return gcam_errf(&m->err, GCAM_E_ARG, "n_layers %d with %s layers", o->n_layers, o->layers ? "" : "no");
    for (int i = 0; i < o->n_layers && i < GCAM_MAX_LAYERS; i++)
        if (!o->layers[i]) return gcam_errf(&m->err, GCAM_E_ARG, "layer %d is NULL", i);
    if (!isfinite(o->sg_noise)) return gcam_errf(&m->err, GCAM_E_ARG, "sg_noise must be finite");
    if (!(o->discard_ratio >= 0.0f && o->discard_ratio < 1.0f))
        return gcam_errf(&m->err, GCAM_E_ARG, "discard ratio %g: a fraction in [0, 1)", (double)o->discard_ratio);
    if (o->discard_ratio > 0.0f && !(gcam_method_flags(o->method) & M_ATTENTION))
        return gcam_errf(&m->err, GCAM_E_ARG, "the discard ratio applies to the rollout methods, not %s",
                         gcam_method_name(o->method));
    return GCAM_OK;
}

int gcam_explain(gcam_model *m, const gcam_array *input, const gcam_explain_opts *opts,
                 gcam_explanation **out)
{
    if (out) *out = NULL;
    if (!m) return GCAM_E_ARG;
    if (!m->g) return gcam_errf(&m->err, GCAM_E_ARG, "the model did not load");
    if (!input || !out) return gcam_errf(&m->err, GCAM_E_ARG, "gcam_explain: %s is NULL", !input ? "input" : "out");
    gcam_explain_opts def;
    if (!opts) {
        gcam_explain_opts_default(&def);
        opts = &def;
    }
    gcam_graph *g = m->g;
    int rc = check_opts(m, opts);
    if (rc) return rc;
    const int main_i = gcam_model_main_input(m);
    if (main_i < 0) return m->err.code;
    if (input->ndim != 4 || input->dims[0] != 1)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "explain needs one image (batch 1, NCHW or NHWC), got a %d-D input", input->ndim);
    if (input->dtype != GCAM_FLOAT32) return gcam_errf(&m->err, GCAM_E_DTYPE, "explain needs a float32 input");
    if (!input->data) return gcam_errf(&m->err, GCAM_E_ARG, "the input has no data");
    if (opts->n_layers > GCAM_MAX_LAYERS) return gcam_errf(&m->err, GCAM_E_ARG, "at most %d layers", GCAM_MAX_LAYERS);
    const int fl = gcam_method_flags(opts->method);
    int extras = g->n_inputs > 1;
    if (extras && (opts->method == GCAM_METHOD_SCORECAM || opts->method == GCAM_METHOD_ABLATIONCAM || (fl & M_BATCHED)))
        return gcam_errf(&m->err, GCAM_E_UNSUPPORTED, "%s on a model with more than one input is not supported yet",
                         gcam_method_name(opts->method));
    if ((fl & M_RGB) && input->dims[1] < 1) return gcam_errf(&m->err, GCAM_E_SHAPE, "the input has no channels");
    if (opts->eigen_smooth && !(fl & M_LAYER))
        return gcam_errf(&m->err, GCAM_E_ARG, "eigen smoothing applies to the layer CAM methods, not %s",
                         gcam_method_name(opts->method));
    if (opts->target_weights && opts->n_target_weights < 1)
        return gcam_errf(&m->err, GCAM_E_ARG, "target weights need n_target_weights >= 1");
    if (opts->target_weights && (opts->method == GCAM_METHOD_CAM || opts->scorecam_baseline))
        return gcam_errf(&m->err, GCAM_E_ARG, "target weights need a single class for %s",
                         opts->scorecam_baseline ? "the Score-CAM baseline (a class probability)" : "cam (a classifier row)");
    if (opts->batch_size < 0 || opts->max_channels < 0 || opts->ig_steps < 0 || opts->sg_samples < 0 ||
        !(opts->sg_noise >= 0))
        return gcam_errf(&m->err, GCAM_E_ARG, "batch size, channel count, steps, samples and noise must not be negative");
    return opts->aug_smooth ? explain_augmented(m, input, opts, out) : explain_once(m, input, opts, out);
}
