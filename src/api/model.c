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

static gcam_model *model_new(void)
{
    gcam_model *m = calloc(1, sizeof *m);
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
    gcam_model *m = *out = model_new();
    if (!m) return GCAM_E_NOMEM;
    if (!path) return gcam_errf(&m->err, GCAM_E_ARG, "no model path given");
    return finish_load(m, gcam_graph_load_file(path, &m->g, &m->err));
}

int gcam_model_load_buffer(const void *buf, size_t len, gcam_model **out)
{
    gcam_model *m = *out = model_new();
    if (!m) return GCAM_E_NOMEM;
    return finish_load(m, gcam_graph_load_buffer(buf, len, NULL, &m->g, &m->err));
}

void gcam_model_free(gcam_model *m)
{
    if (!m) return;
    gcam_params_free(m);
    gcam_graph_free(m->g);
    gcam_cam_head_free(m->headsum);
    free(m->layers);
    free(m->prof_rows);
    free(m->prof_labels);
    free(m);
}

const char *gcam_model_errmsg(const gcam_model *m) { return m ? m->err.msg : "no model"; }

void gcam_model_set_threads(gcam_model *m, int nthreads)
{
    if (!m || nthreads < 1) return;
    m->nthreads = nthreads;
    if (m->g) m->g->nthreads = nthreads;
    /* OpenMP (our kernels and oneDNN's) takes its team size process-wide */
    omp_set_num_threads(nthreads);
}

void gcam_model_set_memory_limit(gcam_model *m, size_t bytes)
{
    if (!m || !m->g) return;
    m->g->mem_limit = bytes;
    m->g->planned = 0; /* the limit is part of the plan's signature: plan again */
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
    m->g->settings.v[opt] = value;
    m->g->planned = 0; /* settings are part of the plan's signature: plan again */
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
    static const char *const act[] = {"", "+Relu", "+Clip", "+HardSwish", "+Sigmoid+Mul"};
    const gcam_fusion *f = &n->fuse;
    snprintf(buf, len, "%s%s%s%s", n->op_type, f->on && f->bn_scale ? "+BatchNormalization" : "",
             f->on && f->has_sum ? "+Add" : "",
             f->on && f->act > 0 && f->act < (int)(sizeof act / sizeof act[0]) ? act[f->act] : "");
}

int gcam_model_profile(gcam_model *m, const gcam_profile_row **rows, int *n)
{
    if (!m || !m->g || !rows || !n) return GCAM_E_ARG;
    *rows = NULL;
    *n = 0;
    const gcam_graph *g = m->g;
    if (!g->prof) return GCAM_OK;
    free(m->prof_rows);
    free(m->prof_labels);
    m->prof_rows = calloc((size_t)g->n_nodes + 1, sizeof *m->prof_rows);
    m->prof_labels = calloc((size_t)g->n_nodes + 1, sizeof *m->prof_labels);
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
    if (!m || !m->g || i < 0 || i >= m->g->n_inputs) return -1;
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
    int t = gcam_graph_find(m->g, name);
    if (t < 0) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "tensor '%s' not found in the model", name);
    if (!(m->g->tensors[t].flags & GCAM_TF_KEEP)) {
        m->g->tensors[t].flags |= GCAM_TF_KEEP;
        m->g->planned = 0; /* lifetimes changed */
    }
    return GCAM_OK;
}

static void shape_str(const int64_t *d, int nd, char *buf, size_t cap)
{
    size_t l = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < nd && l < cap; i++)
        l += (size_t)snprintf(buf + l, cap - l, "%s%lld", i ? "," : "", (long long)d[i]);
    if (l < cap) snprintf(buf + l, cap - l, ")");
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
    char got[160], want[160];
    int nd_decl = t->ndim;
    int bad = a->ndim < 0 || a->ndim > GCAM_MAX_DIMS || (nd_decl >= 0 && a->ndim != nd_decl);
    for (int d = 0; !bad && d < a->ndim; d++) {
        if (a->dims[d] < 0) bad = 1;
        else if (nd_decl >= 0 && g->input_decl[i][d] >= 0 && g->input_decl[i][d] != a->dims[d]) bad = 1;
    }
    if (bad) {
        /* a rank beyond GCAM_MAX_NDIM: print only the dims the array holds */
        shape_str(a->dims, a->ndim < 0 ? 0 : a->ndim > GCAM_MAX_NDIM ? GCAM_MAX_NDIM : a->ndim, got, sizeof got);
        if (nd_decl >= 0) {
            int64_t w[GCAM_MAX_DIMS];
            for (int d = 0; d < nd_decl; d++) w[d] = g->input_decl[i][d];
            shape_str(w, nd_decl, want, sizeof want);
        } else snprintf(want, sizeof want, "(any)");
        return gcam_errf(&m->err, GCAM_E_SHAPE, "input '%s': shape %s does not match the model's %s (-1 = any)",
                         t->name, got, want);
    }
    if (!a->data && gcam_dims_numel_checked(a->dims, a->ndim) != 0)
        return gcam_errf(&m->err, GCAM_E_ARG, "input '%s': no data", t->name);
    int changed = t->ndim != a->ndim;
    for (int d = 0; d < a->ndim; d++) changed |= t->dims[d] != a->dims[d];
    if (changed) {
        t->ndim = a->ndim;
        for (int d = 0; d < a->ndim; d++) t->dims[d] = a->dims[d];
        g->planned = 0;
    }
    if (t->dtype != GCAM_DT_F32 || a->ndim == 0 || (t->flags & GCAM_TF_BYVALUE)) {
        /* integer, bool and scalar inputs feed shapes, indices and masks
         * (Reshape, Slice, Where, Range, ...): they are bound by value,
         * folded into the plan, and a new value re-plans */
        size_t bytes = gcam_tensor_bytes(t);
        if (changed || !t->data || memcmp(t->data, a->data, bytes)) {
            if (t->flags & GCAM_TF_OWNED) free(t->data);
            t->data = malloc(bytes ? bytes : 1);
            if (!t->data) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
            memcpy(t->data, a->data, bytes);
            t->flags |= GCAM_TF_CONST | GCAM_TF_OWNED;
            g->planned = 0;
        }
    }
    return GCAM_OK;
}

int gcam_model_ensure_planned(gcam_model *m)
{
    if (!m || !m->g) return GCAM_E_ARG;
    gcam_graph *g = m->g;
    if (g->planned) return GCAM_OK;
    for (int i = 0; i < g->n_inputs; i++) {
        gcam_tensor *t = &g->tensors[g->inputs[i]];
        if (t->ndim < 0)
            return gcam_errf(&m->err, GCAM_E_SHAPE, "input '%s' has no declared shape; pass an input", t->name);
        for (int d = 0; d < t->ndim; d++)
            if (t->dims[d] < 0) t->dims[d] = 1; /* symbolic: bind to 1 until a real input arrives */
    }
    free(m->layers);
    m->layers = NULL;
    m->n_layers = 0;
    g->nthreads = m->nthreads;
    return gcam_graph_plan(g, &m->err);
}

int gcam_model_run(gcam_model *m, const char *const *names, const gcam_array *inputs, int n)
{
    if (!m || !m->g) return GCAM_E_ARG;
    gcam_graph *g = m->g;
    int *which = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    if (!which) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    int rc = GCAM_OK;
    if (n != g->n_inputs)
        rc = gcam_errf(&m->err, GCAM_E_ARG, "the model has %d input%s, %d given", g->n_inputs,
                       g->n_inputs == 1 ? "" : "s", n);
    for (int k = 0; k < n && !rc; k++) {
        which[k] = k;
        if (names && names[k]) {
            which[k] = -1;
            for (int i = 0; i < g->n_inputs; i++)
                if (!strcmp(g->tensors[g->inputs[i]].name, names[k])) which[k] = i;
            if (which[k] < 0) rc = gcam_errf(&m->err, GCAM_E_NOTFOUND, "the model has no input named '%s'", names[k]);
        }
        if (!rc) rc = gcam_model_bind_input(m, which[k], &inputs[k]);
    }
    if (!rc) rc = gcam_model_ensure_planned(m);
    for (int k = 0; k < n && !rc; k++) {
        gcam_tensor *t = &g->tensors[g->inputs[which[k]]];
        if (t->data && !(t->flags & GCAM_TF_CONST)) memcpy(t->data, inputs[k].data, gcam_tensor_bytes(t));
    }
    free(which);
    if (!rc) rc = gcam_graph_forward(g, &m->err);
    return rc;
}

int gcam_model_float_conversions(const gcam_model *m) { return m && m->g ? m->g->n_f16_f64 : 0; }

int gcam_model_tensor(gcam_model *m, const char *name, gcam_array *out)
{
    if (!m || !m->g || !out) return GCAM_E_ARG;
    int t = gcam_graph_find(m->g, name);
    if (t < 0) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "tensor '%s' not found in the model", name);
    gcam_tensor *x = &m->g->tensors[t];
    int readable = (x->flags & (GCAM_TF_CONST | GCAM_TF_KEEP | GCAM_TF_OUTPUT | GCAM_TF_INPUT)) && x->data;
    if (!readable)
        return gcam_errf(&m->err, GCAM_E_ARG, "tensor '%s' is not available: ask for it with gcam_model_keep() before running", name);
    out->dtype = x->dtype;
    out->ndim = x->ndim;
    for (int d = 0; d < x->ndim; d++) out->dims[d] = x->dims[d];
    out->data = x->data;
    return GCAM_OK;
}

/* ---- layers ---- */

static void reachable_to_outputs(gcam_graph *g, unsigned char *reach)
{
    for (int i = 0; i < g->n_outputs; i++) reach[g->outputs[i]] = 1;
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

static int build_layers(gcam_model *m)
{
    int rc = gcam_model_ensure_planned(m);
    if (rc) return rc;
    if (m->layers) return GCAM_OK;
    gcam_graph *g = m->g;
    unsigned char *reach = calloc((size_t)g->n_tensors + 1, 1);
    m->layers = calloc((size_t)g->n_tensors + 1, sizeof(gcam_layer));
    if (!reach || !m->layers) {
        free(reach);
        return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    }
    reachable_to_outputs(g, reach);
    int auto_i = -1;
    for (int s = 0; s < g->n_run; s++) {
        gcam_node *n = &g->nodes[g->run_nodes[s]];
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            if (t < 0) continue;
            gcam_tensor *x = &g->tensors[t];
            if (x->ndim != 4 || x->dtype != GCAM_DT_F32) continue;
            gcam_layer *L = &m->layers[m->n_layers];
            L->tensor = x->name;
            L->node = n->name;
            L->op_type = n->op_type;
            for (int d = 0; d < 4; d++) L->dims[d] = x->dims[d];
            if (reach[t] && x->dims[2] * x->dims[3] > 1) auto_i = m->n_layers;
            m->n_layers++;
        }
    }
    if (auto_i >= 0) m->layers[auto_i].is_auto = 1;
    free(reach);
    return GCAM_OK;
}

int gcam_model_layers(gcam_model *m, const gcam_layer **layers, int *n)
{
    if (!m || !m->g) return GCAM_E_ARG;
    int rc = build_layers(m);
    if (rc) return rc;
    *layers = m->layers;
    *n = m->n_layers;
    return GCAM_OK;
}

int gcam_model_auto_layer(gcam_model *m)
{
    if (build_layers(m)) return -1;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].is_auto) return gcam_graph_find(m->g, m->layers[i].tensor);
    gcam_errf(&m->err, GCAM_E_NOTFOUND, "no 4-D activation with spatial size > 1 leads to an output; pass --layer");
    return -1;
}

int gcam_model_resolve_layer(gcam_model *m, const char *name, const char **tensor)
{
    if (!m || !m->g || !name) return GCAM_E_ARG;
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
