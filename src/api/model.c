/* model.c - the public model handle: load, run, tensors, layers. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <omp.h>

#include "api/model_internal.h"
#include "cam/cam.h"
#include "kernels/conv_fast.h"
#include "kernels/cpu.h"
#include "kernels/dtype.h"

static void extra_free(gcam_model *m);

static gcam_model *model_new(void)
{
    gcam_model *m = gcam_calloc(1, sizeof *m);
    if (m) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        m->nthreads = nc > 0 ? (int)nc : 1;
    }
    return m;
}

static int finish_load(gcam_model *m, int rc)
{
    if (rc) return rc;
    m->g->nthreads = m->nthreads;
    return GCAM_OK;
}

int gcam_model_load(const char *path, gcam_model **out)
{
    if (!out) return GCAM_E_ARG;
    gcam_model *m = *out = model_new();
    if (!m) return GCAM_E_NOMEM;
    if (!path) return gcam_errf(&m->err, GCAM_E_ARG, "no model path given");
    return finish_load(m, gcam_graph_load_file(path, &m->g, &m->err));
}

int gcam_model_load_buffer(const void *buf, size_t len, gcam_model **out)
{
    if (!out) return GCAM_E_ARG;
    gcam_model *m = *out = model_new();
    if (!m) return GCAM_E_NOMEM;
    if (!buf && len) return gcam_errf(&m->err, GCAM_E_ARG, "no model buffer given");
    return finish_load(m, gcam_graph_load_buffer(buf, len, NULL, &m->g, &m->err));
}

void gcam_model_free(gcam_model *m)
{
    if (!m) return;
    gcam_params_free(m);
    if (m->g) extra_free(m);
    gcam_graph_free(m->g);
    gcam_cam_head_free(m->headsum);
    gcam_free(m->layers);
    gcam_free(m->kept);
    gcam_free(m->sg_noise.data);
    gcam_free(m->prof_rows);
    gcam_free(m->prof_labels);
    gcam_free(m);
}

const char *gcam_model_errmsg(const gcam_model *m) { return m ? m->err.msg : "no model"; }

void gcam_model_set_threads(gcam_model *m, int nthreads)
{
    if (!m) return;
    if (nthreads < 1 || nthreads > GCAM_MAX_THREADS) {
        gcam_errf(&m->err, GCAM_E_ARG, "%d threads: 1 to %d (ignored)", nthreads, GCAM_MAX_THREADS);
        return;
    }
    m->nthreads = nthreads;
    if (m->g) m->g->nthreads = nthreads;
    /* OpenMP (our kernels and oneDNN's) takes its team size process-wide */
    omp_set_num_threads(nthreads);
}

void gcam_model_set_memory_limit(gcam_model *m, size_t bytes)
{
    if (!m || !m->g) return;
    m->g->mem_limit = bytes; /* part of what the next plan is compared on */
}

static const char *const option_names[GCAM_OPT_COUNT] = {
#define GCAM_X_(id, name, def, desc) [GCAM_OPT_##id] = name,
    GCAM_OPTION_LIST(GCAM_X_)
#undef GCAM_X_
};

int gcam_model_set_option(gcam_model *m, gcam_option opt, int value)
{
    if (!m || !m->g) return GCAM_E_ARG;
    if ((unsigned)opt >= GCAM_OPT_COUNT) return gcam_errf(&m->err, GCAM_E_ARG, "unknown option %d", (int)opt);
    if (value != 0 && value != 1)
        return gcam_errf(&m->err, GCAM_E_ARG, "option '%s' takes 0 or 1, not %d", option_names[opt], value);
    if (opt == GCAM_OPT_PROFILE && gcam_graph_profile(m->g, value))
        return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    m->g->settings.v[opt] = value; /* part of what the next plan is compared on */
    return GCAM_OK;
}

int gcam_model_set_smoothgrad_noise(gcam_model *m, const gcam_array *z)
{
    if (!m) return GCAM_E_ARG;
    gcam_free(m->sg_noise.data);
    memset(&m->sg_noise, 0, sizeof m->sg_noise);
    if (!z) return GCAM_OK;
    if (z->dtype != GCAM_FLOAT32 || !z->data)
        return gcam_errf(&m->err, z->data ? GCAM_E_DTYPE : GCAM_E_ARG, "SmoothGrad noise must be float32 data");
    if (z->ndim < 1 || z->ndim > GCAM_MAX_NDIM) return gcam_errf(&m->err, GCAM_E_SHAPE, "SmoothGrad noise: ndim %d", z->ndim);
    gcam_tensor t = {.dtype = GCAM_DT_F32, .ndim = z->ndim, .producer = -1};
    memcpy(t.dims, z->dims, sizeof(int64_t) * (size_t)z->ndim);
    size_t bytes = gcam_tensor_bytes(&t);
    if (bytes == SIZE_MAX) return gcam_errf(&m->err, GCAM_E_SHAPE, "SmoothGrad noise: dims overflow");
    if (!(t.data = gcam_malloc(bytes ? bytes : 1))) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    memcpy(t.data, z->data, bytes);
    m->sg_noise = t;
    return GCAM_OK;
}

int gcam_model_get_option(const gcam_model *m, gcam_option opt)
{
    return m && m->g && (unsigned)opt < GCAM_OPT_COUNT ? m->g->settings.v[opt] : -1;
}

const char *gcam_option_name(gcam_option opt) { return (unsigned)opt < GCAM_OPT_COUNT ? option_names[opt] : NULL; }

int gcam_option_parse(const char *name)
{
    for (int k = 0; name && k < GCAM_OPT_COUNT; k++)
        if (!strcmp(name, option_names[k])) return k;
    return -1;
}

/* "Conv+BatchNormalization+Add+Relu": the node's op and what fusion folded into it. */
static void fused_label(const gcam_node *n, char *buf, size_t len)
{
    static const char *const act[] = {"", "+Relu", "+Clip", "+HardSwish", "+Sigmoid+Mul", "+Erf+Add+Mul+Mul"};
    const gcam_fusion *f = &n->fuse;
    snprintf(buf, len, "%s%s%s%s", n->op_type, f->on && f->bn_scale ? "+BatchNormalization" : "",
             f->on && (f->has_sum || f->bias) ? "+Add" : "",
             f->on && f->act > 0 && f->act < (int)(sizeof act / sizeof act[0]) ? act[f->act] : "");
}

int gcam_model_profile(gcam_model *m, const gcam_profile_row **rows, int *n)
{
    if (!m || !m->g || !rows || !n) return GCAM_E_ARG;
    *rows = NULL;
    *n = 0;
    const gcam_graph *g = m->g;
    if (!g->prof) return GCAM_OK;
    gcam_free(m->prof_rows);
    gcam_free(m->prof_labels);
    m->prof_rows = gcam_calloc((size_t)g->n_nodes + 1, sizeof *m->prof_rows);
    m->prof_labels = gcam_calloc((size_t)g->n_nodes + 1, sizeof *m->prof_labels);
    if (!m->prof_rows || !m->prof_labels) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    int k = 0;
    for (int s = 0; s < g->n_nodes; s++) {
        const int i = g->order[s];
        const gcam_node_prof *p = &g->prof[i];
        if (!p->fwd_calls && !p->bwd_calls) continue;
        fused_label(&g->nodes[i], m->prof_labels[k], sizeof m->prof_labels[k]);
        m->prof_rows[k] = (gcam_profile_row){.node = g->nodes[i].name, .op_type = m->prof_labels[k],
                                             .forward_ms = p->fwd_ms, .backward_ms = p->bwd_ms,
                                             .forward_calls = p->fwd_calls, .backward_calls = p->bwd_calls};
        k++;
    }
    *rows = m->prof_rows;
    *n = k;
    return GCAM_OK;
}

void gcam_model_profile_reset(gcam_model *m)
{
    if (m && m->g && m->g->prof) memset(m->g->prof, 0, sizeof *m->g->prof * (size_t)m->g->n_nodes);
}

int gcam_model_num_inputs(const gcam_model *m) { return m && m->g ? m->g->n_inputs : 0; }
int gcam_model_num_outputs(const gcam_model *m) { return m && m->g ? m->g->n_outputs : 0; }

const char *gcam_model_input_name(const gcam_model *m, int i)
{
    if (!m || !m->g || i < 0 || i >= m->g->n_inputs) return NULL;
    return m->g->tensors[m->g->inputs[i]].name;
}

const char *gcam_model_output_name(const gcam_model *m, int i)
{
    if (!m || !m->g || i < 0 || i >= m->g->n_outputs) return NULL;
    return m->g->tensors[m->g->outputs[i]].name;
}

int gcam_model_input_shape(const gcam_model *m, int i, int64_t dims[GCAM_MAX_NDIM])
{
    if (!m || !m->g || !dims || i < 0 || i >= m->g->n_inputs) return -1;
    const gcam_tensor *t = &m->g->tensors[m->g->inputs[i]];
    int nd = t->ndim;
    for (int d = 0; d < nd && d < GCAM_MAX_NDIM; d++) {
        int64_t v = m->g->input_decl[i][d];
        dims[d] = v > 0 ? v : -1;
    }
    return nd;
}

const char *gcam_model_metadata(const gcam_model *m, const char *key)
{
    if (!m || !m->g || !key) return NULL;
    for (int i = 0; i < m->g->n_meta; i++)
        if (!strcmp(m->g->meta_key[i], key)) return m->g->meta_val[i];
    return NULL;
}

int gcam_model_keep(gcam_model *m, const char *name)
{
    if (!m || !m->g) return GCAM_E_ARG;
    if (!name) return gcam_errf(&m->err, GCAM_E_ARG, "gcam_model_keep: no tensor name given");
    int t = gcam_graph_find(m->g, name);
    if (t < 0) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "tensor '%s' not found in the model", name);
    if (!m->kept && !(m->kept = gcam_calloc((size_t)m->g->n_tensors + 1, 1)))
        return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    m->kept[t] = 1; /* every plan from now on keeps it */
    return GCAM_OK;
}

static void shape_str(const int64_t *d, int nd, char *buf, size_t cap)
{
    size_t l = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < nd && l < cap; i++)
        l += (size_t)snprintf(buf + l, cap - l, "%s%lld", i ? "," : "", (long long)d[i]);
    if (l < cap) snprintf(buf + l, cap - l, ")");
}

/* Checks dims against input i's declared shape (-1 = any). */
static int check_input_shape(gcam_model *m, int i, const int64_t *dims, int ndim)
{
    gcam_graph *g = m->g;
    gcam_tensor *t = &g->tensors[g->inputs[i]];
    char got[160], want[160];
    int nd_decl = t->ndim;
    int bad = ndim < 0 || ndim > GCAM_MAX_DIMS || (nd_decl >= 0 && ndim != nd_decl);
    for (int d = 0; !bad && d < ndim; d++) {
        if (dims[d] < 0) bad = 1;
        else if (nd_decl >= 0 && g->input_decl[i][d] >= 0 && g->input_decl[i][d] != dims[d]) bad = 1;
    }
    if (!bad) return GCAM_OK;
    /* a rank beyond GCAM_MAX_NDIM: print only the dims the array holds */
    shape_str(dims, ndim < 0 ? 0 : ndim > GCAM_MAX_NDIM ? GCAM_MAX_NDIM : ndim, got, sizeof got);
    if (nd_decl >= 0) {
        int64_t w[GCAM_MAX_DIMS];
        for (int d = 0; d < nd_decl; d++) w[d] = g->input_decl[i][d];
        shape_str(w, nd_decl, want, sizeof want);
    } else snprintf(want, sizeof want, "(any)");
    return gcam_errf(&m->err, GCAM_E_SHAPE, "input '%s': shape %s does not match the model's %s (-1 = any)",
                     t->name, got, want);
}

/* Sets input i's dims; 1 if they changed (the next plan then differs). */
static int set_input_dims(gcam_graph *g, int i, const int64_t *dims, int ndim)
{
    gcam_tensor *t = &g->tensors[g->inputs[i]];
    int changed = t->ndim != ndim;
    for (int d = 0; d < ndim; d++) changed |= t->dims[d] != dims[d];
    if (changed) {
        t->ndim = ndim;
        for (int d = 0; d < ndim; d++) t->dims[d] = dims[d];
    }
    return changed;
}

int gcam_model_bind_input(gcam_model *m, int i, const gcam_array *a)
{
    gcam_graph *g = m->g;
    gcam_tensor *t = &g->tensors[g->inputs[i]];
    if (!gcam_dt_stored(t->dtype))
        return gcam_errf(&m->err, GCAM_E_UNSUPPORTED, "input '%s': dtype %s not supported",
                         t->name, gcam_dtype_name(t->dtype));
    if (a->dtype != t->dtype)
        return gcam_errf(&m->err, GCAM_E_DTYPE, "input '%s': got %s, the model expects %s", t->name,
                         gcam_dtype_name(a->dtype), gcam_dtype_name(t->dtype));
    int rc = check_input_shape(m, i, a->dims, a->ndim);
    if (rc) return rc;
    if (!a->data && gcam_dims_numel_checked(a->dims, a->ndim) != 0)
        return gcam_errf(&m->err, GCAM_E_ARG, "input '%s': no data", t->name);
    int changed = set_input_dims(g, i, a->dims, a->ndim);
    if (t->dtype != GCAM_DT_F32 || a->ndim == 0 || (t->flags & GCAM_TF_BYVALUE)) {
        /* integer, bool and scalar inputs feed shapes, indices and masks
         * (Reshape, Slice, Where, Range, ...): they are bound by value,
         * folded into the plan, and a new value re-plans */
        size_t bytes = gcam_tensor_bytes(t);
        if (changed || !t->data || memcmp(t->data, a->data, bytes)) {
            if (t->flags & GCAM_TF_OWNED) gcam_free(t->data);
            t->data = gcam_malloc(bytes ? bytes : 1);
            if (!t->data) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
            memcpy(t->data, a->data, bytes);
            t->flags |= GCAM_TF_CONST | GCAM_TF_OWNED;
        }
    }
    return GCAM_OK;
}

int gcam_model_set_input_shape(gcam_model *m, int i, const int64_t *dims, int ndim)
{
    if (!m || !m->g || (!dims && ndim)) return GCAM_E_ARG;
    if (i < 0 || i >= m->g->n_inputs)
        return gcam_errf(&m->err, GCAM_E_RANGE, "input %d: the model has %d input%s", i, m->g->n_inputs,
                         m->g->n_inputs == 1 ? "" : "s");
    int rc = check_input_shape(m, i, dims, ndim);
    if (rc) return rc;
    set_input_dims(m->g, i, dims, ndim);
    return GCAM_OK;
}

/* ---- layout and symbolic dims ---- */

int gcam_meta_value(const char *meta, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = meta; p && *p;) {
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        while (*p == ' ' && p < end) p++;
        if ((size_t)(end - p) > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            size_t n = (size_t)(end - p) - kl - 1;
            if (n >= cap) n = cap - 1;
            memcpy(out, p + kl + 1, n);
            out[n] = 0;
            return 0;
        }
        p = *end ? end + 1 : end;
    }
    return -1;
}

static int is_channel_count(int64_t v) { return v == 1 || v == 3 || v == 4; }

int gcam_model_input_layout(const gcam_model *m, int i)
{
    if (!m || !m->g || i < 0 || i >= m->g->n_inputs) return GCAM_LAYOUT_NONE;
    const gcam_graph *g = m->g;
    int nd = g->tensors[g->inputs[i]].ndim;
    if (nd != 4) return GCAM_LAYOUT_NONE;
    const char *meta = gcam_model_metadata(m, "gradcam.preprocess");
    char v[16];
    if (meta && !gcam_meta_value(meta, "layout", v, sizeof v)) {
        if (!strcmp(v, "nhwc")) return GCAM_LAYOUT_NHWC;
        if (!strcmp(v, "nchw")) return GCAM_LAYOUT_NCHW;
    }
    const int64_t *d = g->input_decl[i];
    /* [N,H,W,C] when the last dim looks like a channel count and the second
     * like an image height (symbolic or > 4); anything else, [1,3,4,3] or
     * [1,2,8,4] included, is NCHW unless the metadata says otherwise */
    return is_channel_count(d[3]) && (d[1] < 0 || d[1] > 4) ? GCAM_LAYOUT_NHWC : GCAM_LAYOUT_NCHW;
}

/* "[N,3,?,?]" and the shape to pass, "1,3,H,W" */
static void describe_symbolic(const gcam_graph *g, int i, int layout, char *have, char *want, size_t cap)
{
    size_t lh = 0, lw = 0;
    const gcam_tensor *t = &g->tensors[g->inputs[i]];
    int hd = layout == GCAM_LAYOUT_NHWC ? 1 : 2, cd = layout == GCAM_LAYOUT_NHWC ? 3 : 1;
    lh += (size_t)snprintf(have, cap, "[");
    for (int d = 0; d < t->ndim && lh < cap && lw < cap; d++) {
        int64_t v = g->input_decl[i][d];
        const char *sep = d ? "," : "";
        if (v >= 0) {
            lh += (size_t)snprintf(have + lh, cap - lh, "%s%lld", sep, (long long)v);
            lw += (size_t)snprintf(want + lw, cap - lw, "%s%lld", sep, (long long)v);
            continue;
        }
        lh += (size_t)snprintf(have + lh, cap - lh, "%s%s", sep, d == 0 ? "N" : "?");
        if (d == 0) lw += (size_t)snprintf(want + lw, cap - lw, "%s1", sep);
        else if (layout >= 0 && (d == hd || d == hd + 1)) lw += (size_t)snprintf(want + lw, cap - lw, "%s%s", sep, d == hd ? "H" : "W");
        else if (layout >= 0 && d == cd) lw += (size_t)snprintf(want + lw, cap - lw, "%sC", sep);
        else lw += (size_t)snprintf(want + lw, cap - lw, "%sD%d", sep, d);
    }
    if (lh < cap) snprintf(have + lh, cap - lh, "]");
    if (!t->ndim) snprintf(want, cap, "(scalar)");
}

/* Binds input i's symbolic dims that no input has bound: a leading batch
 * dim to 1, the spatial dims of an image input to the metadata's size. */
static int bind_symbolic(gcam_model *m, int i)
{
    gcam_graph *g = m->g;
    gcam_tensor *t = &g->tensors[g->inputs[i]];
    if (t->ndim < 0)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "input '%s' has no declared shape; pass an input or --input-shape", t->name);
    int64_t dims[GCAM_MAX_DIMS];
    int open = 0;
    for (int d = 0; d < t->ndim; d++) open += (dims[d] = t->dims[d]) < 0;
    if (!open) return GCAM_OK;
    int layout = gcam_model_input_layout(m, i), hd = layout == GCAM_LAYOUT_NHWC ? 1 : 2;
    const char *meta = gcam_model_metadata(m, "gradcam.preprocess");
    char v[64];
    int mh = 0, mw = 0;
    if (layout >= 0 && meta && !gcam_meta_value(meta, "size", v, sizeof v) && gcam_parse_size(v, &mh, &mw)) mh = mw = 0;
    if (dims[0] < 0 && t->ndim >= 2) dims[0] = 1;
    if (mh > 0 && dims[hd] < 0) dims[hd] = mh;
    if (mw > 0 && dims[hd + 1] < 0) dims[hd + 1] = mw;
    for (int d = 0; d < t->ndim; d++)
        if (dims[d] < 0) {
            char have[160], want[160];
            describe_symbolic(g, i, layout, have, want, sizeof have);
            return gcam_errf(&m->err, GCAM_E_SHAPE, "input '%s' has dims %s: pass --input-shape %s", t->name, have, want);
        }
    set_input_dims(g, i, dims, t->ndim);
    return GCAM_OK;
}

int gcam_model_plan(gcam_model *m, const gcam_plan_request *req)
{
    if (!m || !m->g) return GCAM_E_ARG;
    gcam_graph *g = m->g;
    for (int i = 0; i < g->n_inputs; i++) {
        int rc = bind_symbolic(m, i);
        if (rc) return rc;
    }
    g->nthreads = m->nthreads;
    gcam_plan_request r = req ? *req : (gcam_plan_request){.extend = 1};
    unsigned char *keep = NULL; /* the request's keep and the user's */
    if (m->kept) {
        if (!(keep = gcam_calloc((size_t)g->n_tensors + 1, 1))) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        for (int t = 0; t < g->n_tensors; t++) keep[t] = m->kept[t] | (r.keep ? r.keep[t] : 0);
        r.keep = keep;
    }
    const unsigned plan_id = g->plan_id;
    int rc = gcam_graph_plan(g, &r, &m->err);
    gcam_free(keep);
    if (g->plan_id != plan_id) { /* a new plan: the layer list goes with the old one */
        gcam_free(m->layers);
        m->layers = NULL;
        m->n_layers = 0;
    }
    return rc;
}

int gcam_model_ensure_planned(gcam_model *m) { return gcam_model_plan(m, NULL); }

/* ---- extra inputs ---- */

static void extra_free(gcam_model *m)
{
    if (!m->extra) return;
    for (int i = 0; i < m->g->n_inputs; i++)
        if (m->extra[i]) {
            gcam_array_free(m->extra[i]);
            gcam_free(m->extra[i]);
        }
    gcam_free(m->extra);
    m->extra = NULL;
}

static int find_input(const gcam_graph *g, const char *name)
{
    for (int i = 0; i < g->n_inputs; i++)
        if (!strcmp(g->tensors[g->inputs[i]].name, name)) return i;
    return -1;
}

int gcam_model_set_input(gcam_model *m, const char *name, const gcam_array *a)
{
    if (!m || !m->g || !name) return GCAM_E_ARG;
    gcam_graph *g = m->g;
    int i = find_input(g, name);
    if (i < 0) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "the model has no input named '%s'", name);
    if (!m->extra && !(m->extra = gcam_calloc((size_t)g->n_inputs, sizeof *m->extra)))
        return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    if (m->extra[i]) {
        gcam_array_free(m->extra[i]);
        gcam_free(m->extra[i]);
        m->extra[i] = NULL;
    }
    if (!a) return GCAM_OK;
    gcam_tensor *t = &g->tensors[g->inputs[i]];
    if (a->dtype != t->dtype)
        return gcam_errf(&m->err, GCAM_E_DTYPE, "input '%s': got %s, the model expects %s", name,
                         gcam_dtype_name(a->dtype), gcam_dtype_name(t->dtype));
    int rc = check_input_shape(m, i, a->dims, a->ndim);
    if (rc) return rc;
    int64_t n = gcam_dims_numel_checked(a->dims, a->ndim);
    size_t bytes = (size_t)(n > 0 ? n : 0) * gcam_dtype_size(a->dtype);
    gcam_array *c = gcam_calloc(1, sizeof *c);
    void *data = gcam_malloc(bytes ? bytes : 1);
    if (!c || !data || n < 0 || (bytes && !a->data)) {
        gcam_free(c);
        gcam_free(data);
        return gcam_errf(&m->err, n < 0 || (bytes && !a->data) ? GCAM_E_ARG : GCAM_E_NOMEM, "input '%s': %s", name,
                         n < 0 || (bytes && !a->data) ? "bad array" : "out of memory");
    }
    *c = *a;
    if (bytes) memcpy(data, a->data, bytes);
    c->data = data;
    m->extra[i] = c;
    return GCAM_OK;
}

int gcam_model_image_input(gcam_model *m)
{
    return m && m->g ? gcam_model_main_input(m) : -1;
}

int gcam_model_main_input(gcam_model *m)
{
    gcam_graph *g = m->g;
    int main_i = -1, left = 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (!m->extra || !m->extra[i]) {
            if (main_i < 0) main_i = i;
            left++;
        }
    if (left == 1) return main_i;
    gcam_errf(&m->err, GCAM_E_ARG, "the model has %d inputs and %d of them are left to feed: give all but the image with --input NAME=FILE.npy (gcam_model_set_input)",
              g->n_inputs, left);
    return -1;
}

int gcam_model_bind_extras(gcam_model *m, int copy)
{
    gcam_graph *g = m->g;
    for (int i = 0; i < g->n_inputs && m->extra; i++) {
        if (!m->extra[i]) continue;
        gcam_tensor *t = &g->tensors[g->inputs[i]];
        if (!copy) {
            int rc = gcam_model_bind_input(m, i, m->extra[i]);
            if (rc) return rc;
        } else if (t->data && !(t->flags & GCAM_TF_CONST)) {
            memcpy(t->data, m->extra[i]->data, gcam_tensor_bytes(t));
        }
    }
    return GCAM_OK;
}

int gcam_model_run(gcam_model *m, const char *const *names, const gcam_array *inputs, int n)
{
    if (!m || !m->g) return GCAM_E_ARG;
    if (n < 0 || (n > 0 && !inputs))
        return gcam_errf(&m->err, GCAM_E_ARG, "gcam_model_run: %d inputs%s", n, n < 0 ? "" : " but inputs is NULL");
    gcam_graph *g = m->g;
    int *fed_by = gcam_malloc(sizeof(int) * (size_t)(g->n_inputs + 1));
    if (!fed_by) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    for (int i = 0; i < g->n_inputs; i++) fed_by[i] = -1;
    int rc = GCAM_OK, next = 0, n_extra = 0;
    for (int i = 0; i < g->n_inputs; i++) n_extra += m->extra && m->extra[i];
    for (int k = 0; k < n && !rc; k++) {
        int i;
        if (names && names[k]) {
            if ((i = find_input(g, names[k])) < 0)
                rc = gcam_errf(&m->err, GCAM_E_NOTFOUND, "the model has no input named '%s'", names[k]);
        } else { /* in order, past the inputs fed by gcam_model_set_input */
            while (next < g->n_inputs && m->extra && m->extra[next]) next++;
            i = next++;
        }
        if (!rc && (i >= g->n_inputs || fed_by[i] >= 0))
            rc = gcam_errf(&m->err, GCAM_E_ARG, "the model has %d input%s, %d given", g->n_inputs,
                           g->n_inputs == 1 ? "" : "s", n + n_extra);
        if (!rc) fed_by[i] = k;
    }
    for (int i = 0; i < g->n_inputs && !rc; i++) {
        if (fed_by[i] >= 0) rc = gcam_model_bind_input(m, i, &inputs[fed_by[i]]);
        else if (m->extra && m->extra[i]) rc = gcam_model_bind_input(m, i, m->extra[i]);
        else rc = gcam_errf(&m->err, GCAM_E_ARG, "the model has %d input%s, %d given (input '%s' is missing)",
                            g->n_inputs, g->n_inputs == 1 ? "" : "s", n + n_extra, g->tensors[g->inputs[i]].name);
    }
    if (!rc) rc = gcam_model_ensure_planned(m);
    for (int i = 0; i < g->n_inputs && !rc; i++) {
        gcam_tensor *t = &g->tensors[g->inputs[i]];
        const gcam_array *a = fed_by[i] >= 0 ? &inputs[fed_by[i]] : m->extra[i];
        if (t->data && !(t->flags & GCAM_TF_CONST)) memcpy(t->data, a->data, gcam_tensor_bytes(t));
    }
    gcam_free(fed_by);
    if (!rc) rc = gcam_graph_forward(g, &m->err);
    return rc;
}

int gcam_model_float_conversions(const gcam_model *m) { return m && m->g ? m->g->n_f16_f64 : 0; }

int gcam_model_tensor(gcam_model *m, const char *name, gcam_array *out)
{
    if (!m || !m->g) return GCAM_E_ARG;
    if (!out || !name) return gcam_errf(&m->err, GCAM_E_ARG, "gcam_model_tensor: %s is NULL", !name ? "name" : "out");
    int t = gcam_graph_find(m->g, name);
    if (t < 0) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "tensor '%s' not found in the model", name);
    gcam_tensor *x = &m->g->tensors[t];
    int readable = ((x->flags & (GCAM_TF_CONST | GCAM_TF_OUTPUT | GCAM_TF_INPUT)) || (m->kept && m->kept[t])) && x->data;
    if (!readable)
        return gcam_errf(&m->err, GCAM_E_ARG, "tensor '%s' is not available: ask for it with gcam_model_keep() before running", name);
    out->dtype = x->dtype;
    out->ndim = x->ndim;
    for (int d = 0; d < x->ndim; d++) out->dims[d] = x->dims[d];
    out->data = x->data;
    return GCAM_OK;
}

/* ---- layers ---- */

/* reach[t] = 1 for every tensor from which one with reach set already is
 * reachable (seed reach first) */
static void reachable_back(gcam_graph *g, unsigned char *reach)
{
    for (int s = g->n_nodes - 1; s >= 0; s--) {
        gcam_node *n = &g->nodes[g->order[s]];
        int any = 0;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && reach[n->out[k]]) any = 1;
        if (!any) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) reach[n->in[k]] = 1;
    }
}

/* Per tensor: 1 when a 4-D tensor is channels last, propagated in run order
 * from Transposes (0,2,3,1); a Transpose (0,3,1,2) ends it (gcam.h, layers). */
static void find_channels_last(const gcam_graph *g, unsigned char *nhwc)
{
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        int in4 = -1, any = 0;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t < 0 || g->tensors[t].ndim != 4) continue;
            if (in4 < 0) in4 = t;
            any |= nhwc[t];
        }
        if (!strcmp(n->op_type, "Transpose")) {
            int64_t p[GCAM_MAX_DIMS];
            int np = gcam_attr_ints(n, "perm", p, GCAM_MAX_DIMS);
            any = np == 4 && in4 >= 0 && !nhwc[in4] && p[0] == 0 && p[1] == 2 && p[2] == 3 && p[3] == 1;
        }
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && g->tensors[n->out[k]].ndim == 4) nhwc[n->out[k]] = (unsigned char)any;
    }
}

/* The token grid of an N x T x C tensor: the channels-first convolution
 * output (the patch embedding) with T - 8 <= h * w <= T, the largest, on a
 * grid of at least 2 x 2 (a 1 x W conv output is a pooled head's, whose
 * N x C x W reshape is no token sequence). */
static int token_grid(const gcam_graph *g, const unsigned char *nhwc, int64_t T, int64_t *h, int64_t *w)
{
    int64_t best = 0;
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (strcmp(n->op_type, "Conv") || n->n_out < 1 || n->out[0] < 0) continue;
        const gcam_tensor *y = &g->tensors[n->out[0]];
        if (y->ndim != 4 || nhwc[n->out[0]]) continue;
        int64_t hw = y->dims[2] * y->dims[3];
        if (y->dims[2] >= 2 && y->dims[3] >= 2 && hw <= T && T - hw <= 8 && hw >= best) {
            best = hw;
            *h = y->dims[2];
            *w = y->dims[3];
        }
    }
    return best > 0;
}

/* Fills L's layout fields for tensor x; 0 when it is no layer. */
static int describe_layer(const gcam_graph *g, const unsigned char *nhwc, int t, gcam_layer *L)
{
    const gcam_tensor *x = &g->tensors[t];
    if (x->dtype != GCAM_DT_F32 || (x->ndim != 3 && x->ndim != 4)) return 0;
    memset(L, 0, sizeof *L);
    L->ndim = x->ndim;
    for (int d = 0; d < x->ndim; d++) L->dims[d] = x->dims[d];
    if (x->ndim == 3) {
        int64_t in_batch = g->n_inputs ? g->tensors[g->inputs[0]].dims[0] : 1;
        if (x->dims[0] != in_batch || !token_grid(g, nhwc, x->dims[1], &L->grid_h, &L->grid_w)) return 0;
        L->layout = GCAM_LAYER_TOKENS;
        L->skip = x->dims[1] - L->grid_h * L->grid_w;
        L->channels = x->dims[2];
    } else if (nhwc[t]) {
        L->layout = GCAM_LAYER_NHWC;
        L->grid_h = x->dims[1], L->grid_w = x->dims[2], L->channels = x->dims[3];
    } else {
        L->layout = GCAM_LAYER_NCHW;
        L->grid_h = x->dims[2], L->grid_w = x->dims[3], L->channels = x->dims[1];
    }
    return 1;
}

/* A ViT's last block's norm1 input: of the LayerNormalizations reading a
 * token layer that also feeds a residual Add, the second last (the last is
 * the block's norm2); -1 when there is none. */
static int vit_norm1_input(const gcam_graph *g, const int *layer_of)
{
    int last = -1, prev = -1;
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        if (strcmp(n->op_type, "LayerNormalization") || n->n_in < 1 || n->in[0] < 0) continue;
        int t = n->in[0], residual = 0;
        if (layer_of[t] < 0 || g->tensors[t].ndim != 3) continue;
        for (int r = 0; r < g->n_run && !residual; r++) {
            const gcam_node *a = &g->nodes[g->run_nodes[r]];
            for (int k = 0; k < a->n_in && !strcmp(a->op_type, "Add"); k++) residual |= a->in[k] == t;
        }
        if (residual) prev = last, last = t;
    }
    return prev >= 0 ? prev : last;
}

/* 1 when a node of target_t's own part (what no other output depends on)
 * pools, reduces or is a linear layer: a classifier's head, or a later stage
 * with an early exit beside it (an auxiliary classifier), not a detector's
 * dense prediction head of convolutions and reshapes. */
static int own_part_pools(const gcam_graph *g, const unsigned char *reach, const unsigned char *shared)
{
    static const char *const POOL[] = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "AveragePool", "MaxPool",
                                       "LpPool", "ReduceMean", "ReduceMax", "ReduceSum", "Gemm", "MatMul"};
    for (int s = 0; s < g->n_run; s++) {
        const gcam_node *n = &g->nodes[g->run_nodes[s]];
        int own = 0;
        for (int k = 0; k < n->n_out; k++) own |= n->out[k] >= 0 && reach[n->out[k]] && !shared[n->out[k]];
        for (size_t i = 0; own && i < sizeof POOL / sizeof POOL[0]; i++)
            if (!strcmp(n->op_type, POOL[i])) return 1;
    }
    return 0;
}

/* A model with several outputs (a detector's heads): the last map that
 * target_t depends on and that some other output depends on too - the map
 * that feeds target_t's own head, where the heads part.  -1 when the target
 * feeds another output itself (logits and their softmax), when it shares no
 * map with the others, when there is no other output, or when its own part
 * pools (own_part_pools). */
static int head_input(gcam_model *m, int target_t, const unsigned char *reach, int *nomem)
{
    gcam_graph *g = m->g;
    unsigned char *shared = gcam_calloc((size_t)g->n_tensors + 1, 1);
    int others = 0, pick = -1;
    if (!shared) return *nomem = 1, -1;
    for (int o = 0; o < g->n_outputs; o++)
        if (g->outputs[o] >= 0 && g->outputs[o] != target_t) shared[g->outputs[o]] = 1, others = 1;
    if (others) reachable_back(g, shared);
    if (others && !shared[target_t] && own_part_pools(g, reach, shared)) others = 0;
    for (int i = 0; i < m->n_layers && others && !shared[target_t]; i++) {
        int t = gcam_graph_find(g, m->layers[i].tensor);
        if (reach[t] && shared[t] && t != target_t && !(g->tensors[t].flags & GCAM_TF_CONST) &&
            m->layers[i].grid_h * m->layers[i].grid_w > 1)
            pick = i;
    }
    gcam_free(shared);
    return pick;
}

/* The automatic layer for target tensor target_t among m->layers (gcam.h:
 * gcam_layer.auto_reason): only maps the target depends on, never the target
 * itself nor a 1x1 grid - the target only when it is the one map there is.
 * Returns the tensor id, -1 if none fits or -2 out of memory (message on m);
 * *why its reason. */
static int choose_auto(gcam_model *m, int target_t, const char **why)
{
    gcam_graph *g = m->g;
    size_t nt = (size_t)g->n_tensors + 1;
    unsigned char *reach = gcam_calloc(nt, 1);
    int *layer_of = gcam_malloc(nt * sizeof(int)), *producer = gcam_malloc(nt * sizeof(int));
    if (!reach || !layer_of || !producer) {
        gcam_free(reach), gcam_free(layer_of), gcam_free(producer);
        gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        return -2;
    }
    for (size_t t = 0; t < nt; t++) layer_of[t] = producer[t] = -1;
    for (int i = 0; i < m->n_layers; i++) layer_of[gcam_graph_find(g, m->layers[i].tensor)] = i;
    for (int s = 0; s < g->n_run; s++)
        for (int k = 0; k < g->nodes[g->run_nodes[s]].n_out; k++)
            if (g->nodes[g->run_nodes[s]].out[k] >= 0) producer[g->nodes[g->run_nodes[s]].out[k]] = g->run_nodes[s];
    reach[target_t] = 1;
    reachable_back(g, reach);
    int pick = -1, widest = -1, self = -1;
    *why = "the last map with a grid larger than 1x1 that the target depends on";
    for (int i = 0; i < m->n_layers; i++) {
        const gcam_layer *L = &m->layers[i];
        int t = gcam_graph_find(g, L->tensor);
        if (!reach[t] || (g->tensors[t].flags & GCAM_TF_CONST) || L->grid_h * L->grid_w <= 1) continue;
        if (t == target_t) {
            self = i;
            continue;
        }
        pick = i;
        /* a Concat of branches (DeepLab's ASPP) is the head's, not the backbone's */
        if (strcmp(L->op_type, "Concat") && (widest < 0 || L->channels >= m->layers[widest].channels)) widest = i;
    }
    int vit = vit_norm1_input(g, layer_of), nomem = 0, head = -1;
    const gcam_tensor *y = &g->tensors[target_t];
    const int dense = y->ndim == 4 && y->dims[2] * y->dims[3] > 1 && widest >= 0;
    if (!(vit >= 0 && reach[vit]) && !dense) head = head_input(m, target_t, reach, &nomem);
    if (vit >= 0 && reach[vit]) {
        pick = layer_of[vit];
        *why = "the input of the last transformer block's first LayerNorm (pytorch-grad-cam: blocks[-1].norm1)";
    } else if (dense) {
        pick = widest;
        *why = "dense target: the last of the widest maps (the backbone's output before the head)";
    } else if (head >= 0) {
        pick = head;
        *why = "several outputs (detection heads): the last map this output shares with another, the one "
               "feeding its own head";
    } else if (pick >= 0) {
        /* a final norm and a Transpose back to channels first are no stage: step over them */
        for (;;) {
            int t = gcam_graph_find(g, m->layers[pick].tensor), nd = producer[t];
            const gcam_node *n = nd >= 0 ? &g->nodes[nd] : NULL;
            if (!n || (strcmp(n->op_type, "Transpose") && strcmp(n->op_type, "LayerNormalization")) || n->in[0] < 0 ||
                layer_of[n->in[0]] < 0 || m->layers[layer_of[n->in[0]]].grid_h != m->layers[pick].grid_h)
                break;
            pick = layer_of[n->in[0]];
            *why = "the last stage's output (before the final norm)";
        }
    } else if (self >= 0) {
        pick = self;
        *why = "the target itself: the one map it has";
    }
    gcam_free(reach), gcam_free(layer_of), gcam_free(producer);
    if (nomem) {
        gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
        return -2;
    }
    return pick >= 0 ? gcam_graph_find(g, m->layers[pick].tensor) : -1;
}

static int build_layers(gcam_model *m)
{
    int rc = gcam_model_ensure_planned(m);
    if (rc) return rc;
    if (m->layers) return GCAM_OK;
    gcam_graph *g = m->g;
    size_t nt = (size_t)g->n_tensors + 1;
    unsigned char *nhwc = gcam_calloc(nt, 1);
    m->layers = gcam_calloc(nt, sizeof(gcam_layer));
    if (!nhwc || !m->layers) {
        gcam_free(nhwc);
        gcam_free(m->layers);
        m->layers = NULL; /* not a (empty) list for the next call */
        return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    }
    find_channels_last(g, nhwc);
    for (int s = 0; s < g->n_run; s++) {
        gcam_node *n = &g->nodes[g->run_nodes[s]];
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            gcam_layer *L = &m->layers[m->n_layers];
            if (t < 0 || !describe_layer(g, nhwc, t, L)) continue;
            L->tensor = g->tensors[t].name;
            L->node = n->name;
            L->op_type = n->op_type;
            m->n_layers++;
        }
    }
    gcam_free(nhwc);
    /* the choice gcam_explain makes for the first output, marked with its reason */
    const char *why = NULL;
    int auto_t = g->n_outputs ? choose_auto(m, g->outputs[0], &why) : -1;
    if (auto_t == -2) {
        gcam_free(m->layers);
        m->layers = NULL;
        m->n_layers = 0;
        return GCAM_E_NOMEM;
    }
    for (int i = 0; i < m->n_layers && auto_t >= 0; i++)
        if (!strcmp(m->layers[i].tensor, g->tensors[auto_t].name)) {
            m->layers[i].is_auto = 1;
            m->layers[i].auto_reason = why;
        }
    return GCAM_OK;
}

/* The layout and grid of tensor t as listed (GCAM_E_SHAPE when it is no layer). */
int gcam_model_layer_info(gcam_model *m, int t, gcam_layer *out)
{
    int rc = build_layers(m);
    if (rc) return rc;
    for (int i = 0; i < m->n_layers; i++)
        if (!strcmp(m->layers[i].tensor, m->g->tensors[t].name)) {
            *out = m->layers[i];
            return GCAM_OK;
        }
    memset(out, 0, sizeof *out);
    return GCAM_E_SHAPE;
}

int gcam_model_layers(gcam_model *m, const gcam_layer **layers, int *n)
{
    if (!m || !m->g) return GCAM_E_ARG;
    if (!layers || !n) return gcam_errf(&m->err, GCAM_E_ARG, "gcam_model_layers: %s is NULL", !layers ? "layers" : "n");
    int rc = build_layers(m);
    if (rc) return rc;
    *layers = m->layers;
    *n = m->n_layers;
    return GCAM_OK;
}

int gcam_model_auto_layer_for(gcam_model *m, int target_t)
{
    if (build_layers(m)) return -1;
    if (target_t < 0 || target_t >= m->g->n_tensors) {
        gcam_errf(&m->err, GCAM_E_ARG, "no target tensor to choose a layer for");
        return -1;
    }
    const char *why;
    int best = choose_auto(m, target_t, &why);
    if (best == -2) return -1;
    if (best < 0)
        gcam_errf(&m->err, GCAM_E_NOTFOUND, "no activation with a grid larger than 1x1 leads to '%s'; pass --layer",
                  m->g->tensors[target_t].name);
    return best;
}

int gcam_model_auto_layer(gcam_model *m)
{
    if (build_layers(m)) return -1;
    return m->g->n_outputs ? gcam_model_auto_layer_for(m, m->g->outputs[0]) : -1;
}

int gcam_model_auto_layer_of(gcam_model *m, const char *target, const char **tensor, const char **reason)
{
    if (!m || !m->g) return GCAM_E_ARG;
    if (!tensor || !reason)
        return gcam_errf(&m->err, GCAM_E_ARG, "gcam_model_auto_layer_of: %s is NULL", !tensor ? "tensor" : "reason");
    *tensor = *reason = NULL;
    int rc = build_layers(m);
    if (rc) return rc;
    int t = target ? gcam_graph_find(m->g, target) : m->g->n_outputs ? m->g->outputs[0] : -1;
    if (t < 0 && target) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "'%s' is not a tensor of the model", target);
    if (t < 0) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "the model has no output");
    int best = choose_auto(m, t, reason);
    if (best < 0)
        return best == -2 ? GCAM_E_NOMEM
             : gcam_errf(&m->err, GCAM_E_NOTFOUND, "no activation with a grid larger than 1x1 leads to '%s'",
                         m->g->tensors[t].name);
    *tensor = m->g->tensors[best].name;
    return GCAM_OK;
}

int gcam_model_resolve_layer(gcam_model *m, const char *name, const char **tensor)
{
    if (!m || !m->g) return GCAM_E_ARG;
    if (!name || !tensor)
        return gcam_errf(&m->err, GCAM_E_ARG, "gcam_model_resolve_layer: %s is NULL", !name ? "name" : "tensor");
    int t;
    if (!strcmp(name, "auto")) {
        t = gcam_model_auto_layer(m);
        if (t < 0) return m->err.code ? m->err.code : GCAM_E_NOTFOUND;
    } else {
        t = gcam_graph_find(m->g, name);
        if (t < 0) {
            int nd = gcam_graph_find_node(m->g, name);
            if (nd >= 0 && m->g->nodes[nd].n_out > 0) t = m->g->nodes[nd].out[0];
        }
        if (t < 0)
            return gcam_errf(&m->err, GCAM_E_NOTFOUND, "layer '%s' is neither a tensor nor a node of the model (see `gradcam layers`)", name);
    }
    *tensor = m->g->tensors[t].name;
    return GCAM_OK;
}

/* Backends and SIMD levels as found at run time: nothing here depends on the
 * build machine (the library is compiled for baseline x86-64). */
const char *gcam_version(void)
{
    static char buf[256];
    if (!buf[0]) {
        const char *conv = gcam_conv_backend();
        char dnnl[96] = "";
        if (strcmp(gcam_dnnl_version(), "none"))
            snprintf(dnnl, sizeof dnnl, ", onednn %s: %s", gcam_dnnl_version(), gcam_dnnl_isa());
        snprintf(buf, sizeof buf, "%d.%d.%d (conv: %s, gemm: %s, kernels: %s%s)", GCAM_VERSION_MAJOR,
                 GCAM_VERSION_MINOR, GCAM_VERSION_PATCH, conv, gcam_gemm_backend(), gcam_simd_level(), dnnl);
    }
    return buf;
}
