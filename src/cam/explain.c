/* explain.c - gcam_explain(): forward, targeted backward, map, post-processing. */
#include <math.h>
#include <stdlib.h>

#include "api/model_internal.h"
#include "cam/cam.h"
#include "image/image.h"

#define MAX_LAYERS 16

struct gcam_explanation {
    float *map, *raw;
    int h, w, raw_h, raw_w;
    int64_t target;
    float score;
    int n_layers;
    const char *layers[MAX_LAYERS];
    double t_forward, t_backward, t_cam;
};

void gcam_explain_opts_default(gcam_explain_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = GCAM_METHOD_GRADCAM;
    o->target_class = -1;
    o->normalize = GCAM_NORM_IMAGE;
}

void gcam_explanation_free(gcam_explanation *x)
{
    if (!x) return;
    free(x->map);
    free(x->raw);
    free(x);
}

const float *gcam_explanation_map(const gcam_explanation *x, int *h, int *w)
{
    if (h) *h = x->h;
    if (w) *w = x->w;
    return x->map;
}

const float *gcam_explanation_raw(const gcam_explanation *x, int *h, int *w)
{
    if (h) *h = x->raw_h;
    if (w) *w = x->raw_w;
    return x->raw;
}

int64_t gcam_explanation_target(const gcam_explanation *x) { return x->target; }
float gcam_explanation_score(const gcam_explanation *x) { return x->score; }
int gcam_explanation_num_layers(const gcam_explanation *x) { return x->n_layers; }
const char *gcam_explanation_layer(const gcam_explanation *x, int i)
{
    return i >= 0 && i < x->n_layers ? x->layers[i] : NULL;
}

double gcam_explanation_time_ms(const gcam_explanation *x, const char *phase)
{
    if (!strcmp(phase, "forward")) return x->t_forward;
    if (!strcmp(phase, "backward")) return x->t_backward;
    if (!strcmp(phase, "cam")) return x->t_cam;
    return -1;
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
        float *s = calloc((size_t)n, sizeof(float));
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

int gcam_explain(gcam_model *m, const gcam_array *input, const gcam_explain_opts *opts,
                 gcam_explanation **out)
{
    *out = NULL;
    if (!m || !m->g || !input) return GCAM_E_ARG;
    gcam_explain_opts def;
    if (!opts) {
        gcam_explain_opts_default(&def);
        opts = &def;
    }
    gcam_graph *g = m->g;
    if (opts->method != GCAM_METHOD_GRADCAM) return gcam_errf(&m->err, GCAM_E_ARG, "unknown method %d", opts->method);
    if (g->n_inputs != 1) return gcam_errf(&m->err, GCAM_E_ARG, "explain needs a model with one input (it has %d)", g->n_inputs);
    if (input->ndim != 4 || input->dims[0] != 1)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "explain needs one NCHW image (batch 1), got a %d-D input", input->ndim);
    if (opts->n_layers > MAX_LAYERS) return gcam_errf(&m->err, GCAM_E_ARG, "at most %d layers", MAX_LAYERS);
    int rc = gcam_model_bind_input(m, 0, input);
    if (!rc) rc = gcam_model_ensure_planned(m);
    if (rc) return rc;

    gcam_explanation *x = calloc(1, sizeof *x);
    if (!x) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    gcam_bwd_plan bp;
    memset(&bp, 0, sizeof bp);
    int n_layers = opts->n_layers > 0 && opts->layers ? opts->n_layers : 1;
    for (int i = 0; i < n_layers && !rc; i++) {
        const char *name = opts->n_layers > 0 && opts->layers ? opts->layers[i] : "auto";
        const char *tn;
        rc = gcam_model_resolve_layer(m, name, &tn);
        if (rc) break;
        int t = gcam_graph_find(g, tn);
        gcam_tensor *A = &g->tensors[t];
        if (A->ndim != 4 || A->dtype != GCAM_DT_F32)
            rc = gcam_errf(&m->err, GCAM_E_SHAPE, "layer '%s' is not a 4-D float activation (see `gradcam layers`)", tn);
        else if (A->flags & GCAM_TF_CONST)
            rc = gcam_errf(&m->err, GCAM_E_ARG, "layer '%s' is a constant, not an activation", tn);
        bp.layers[i] = t;
        x->layers[i] = A->name;
    }
    bp.n_layers = x->n_layers = n_layers;
    int target_t = -1;
    if (!rc) {
        const char *tname = opts->target_output ? opts->target_output : gcam_model_output_name(m, 0);
        target_t = gcam_graph_find(g, tname);
        if (target_t < 0)
            rc = gcam_errf(&m->err, GCAM_E_NOTFOUND, "target output '%s' is not a tensor of the model", tname);
        else if (g->tensors[target_t].dtype != GCAM_DT_F32)
            rc = gcam_errf(&m->err, GCAM_E_DTYPE, "target output '%s' is not float32", tname);
        else if (g->tensors[target_t].flags & GCAM_TF_CONST)
            rc = gcam_errf(&m->err, GCAM_E_ARG, "target output '%s' is a constant", tname);
    }
    bp.target = target_t;
    if (!rc) rc = gcam_bwd_prepare(g, &bp, &m->err);
    g->grads_plan_id = 0; /* the gradient layout depends on the path: redo it */
    if (!rc) rc = gcam_model_ensure_planned(m);
    double t0 = gcam_now_ms();
    if (!rc) {
        gcam_tensor *in = &g->tensors[g->inputs[0]];
        memcpy(in->data, input->data, gcam_tensor_bytes(in));
        rc = gcam_graph_forward(g, &m->err);
    }
    double t1 = gcam_now_ms();
    float *seed = NULL;
    if (!rc) rc = make_target(m, opts, &g->tensors[target_t], &x->target, &x->score, &seed);
    if (!rc) rc = gcam_bwd_run(g, &bp, seed, x->target, opts->counterfactual ? -1.0f : 1.0f, 0, &m->err);
    free(seed);
    double t2 = gcam_now_ms();

    /* per layer: weights, ReLU, normalise, resize to the input; then mean and normalise */
    int H = (int)input->dims[2], W = (int)input->dims[3];
    x->h = H;
    x->w = W;
    if (!rc && !(x->map = calloc((size_t)H * W, sizeof(float)))) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    float *up = NULL;
    if (!rc && !(up = malloc(sizeof(float) * (size_t)H * W))) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    for (int i = 0; i < n_layers && !rc; i++) {
        gcam_tensor *A = &g->tensors[bp.layers[i]];
        gcam_tensor *dA = &g->grads[bp.layers[i]];
        int64_t K = A->dims[1], h = A->dims[2], w = A->dims[3];
        float *cam = malloc(sizeof(float) * (size_t)(h * w));
        if (!cam) { rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory"); break; }
        gcam_cam_gradcam(gcam_f32(A), gcam_f32(dA), K, h * w, cam);
        if (!opts->no_relu) gcam_cam_relu(cam, h * w);
        if (i == 0) {
            x->raw = malloc(sizeof(float) * (size_t)(h * w));
            if (!x->raw) { free(cam); rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory"); break; }
            memcpy(x->raw, cam, sizeof(float) * (size_t)(h * w));
            x->raw_h = (int)h;
            x->raw_w = (int)w;
        }
        gcam_cam_relu(cam, h * w); /* the input-resolution map is always rectified */
        if (opts->normalize == GCAM_NORM_IMAGE) gcam_cam_minmax(cam, h * w);
        gcam_resize_f32(cam, (int)w, (int)h, up, W, H);
        free(cam);
        for (int64_t p = 0; p < (int64_t)H * W; p++) x->map[p] += (up[p] > 0 ? up[p] : 0) / n_layers;
    }
    free(up);
    if (!rc) {
        int64_t n = (int64_t)H * W;
        if (opts->normalize == GCAM_NORM_IMAGE) gcam_cam_minmax(x->map, n);
        else if (opts->normalize == GCAM_NORM_GLOBAL) {
            float mx = opts->global_max > 0 ? opts->global_max : 1.0f;
            for (int64_t p = 0; p < n; p++) x->map[p] = fminf(1.0f, x->map[p] / mx);
        }
    }
    x->t_forward = t1 - t0;
    x->t_backward = t2 - t1;
    x->t_cam = gcam_now_ms() - t2;
    gcam_bwd_release(&bp);
    if (rc) {
        gcam_explanation_free(x);
        return rc;
    }
    *out = x;
    return GCAM_OK;
}
