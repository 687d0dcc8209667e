/* sanity.c - the model-parameter randomisation test of Adebayo et al.
 * (2018): does the map change when the weights it should depend on are
 * replaced by random ones?  Cascading: layers (or blocks) re-drawn from the
 * output back to the input, one more at each step; independent: one at a
 * time, all others trained.  Each map is compared with the trained model's
 * by the measures of similarity.c.  Definitions: docs/eval.md. */
#include <math.h>
#include <stdlib.h>

#include "api/model_internal.h"
#include "gcam_eval.h"

void gcam_sanity_opts_default(gcam_sanity_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cascading = 1;
    o->independent = 1;
}

void gcam_sanity_free(gcam_sanity_result *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_cascading; i++) {
        gcam_free(r->cascading[i].step);
        if (r->cascading_maps) gcam_free(r->cascading_maps[i]);
    }
    for (int i = 0; i < r->n_independent; i++) gcam_free(r->independent[i].step);
    gcam_free(r->cascading);
    gcam_free(r->independent);
    gcam_free(r->cascading_maps);
    gcam_free(r->original);
    gcam_free(r);
}

double gcam_sanity_similarity(const gcam_sanity_result *r, int rule)
{
    if (!r || r->n_cascading < 1) return NAN;
    if (rule == GCAM_SANITY_FINAL) return r->cascading[r->n_cascading - 1].spearman_abs;
    double s = 0;
    for (int i = 0; i < r->n_cascading; i++) s += r->cascading[i].spearman_abs;
    return s / r->n_cascading;
}

int gcam_sanity_verdict(const gcam_sanity_result *r, int rule, double threshold)
{
    double s = gcam_sanity_similarity(r, rule);
    if (isnan(s)) return -1;
    return s < threshold ? 1 : 0;
}

/* Groups of consecutive layers: one per layer, or per run of one block. */
static int make_groups(const gcam_param_layer *L, int n, int by_block, int *start)
{
    int g = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || !by_block || strcmp(L[i].block, L[i - 1].block)) start[g++] = i;
    start[g] = n;
    return g;
}

typedef struct run_ctx {
    gcam_model *m;
    const gcam_array *x;
    gcam_map_fn fn;
    void *user;
    int64_t hw;
    float *orig, *orig_abs, *map, *abs_map;
    uint64_t seed;
    const gcam_sanity_opts *o;
    int64_t done, total;
} run_ctx;

static void scale01(float *x, int64_t n)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    for (int64_t i = 0; i < n; i++) x[i] = hi > lo ? (x[i] - lo) / (hi - lo) : 0.0f;
}

/* The map under the current weights, compared with the original. */
static int measure(run_ctx *c, int h, int w, const char *name, int n_layers, gcam_sanity_step *st, float **keep)
{
    int rc = c->fn(c->user, c->m, c->x, c->map, c->abs_map);
    if (rc) return rc;
    st->step = gcam_strdup(name);
    if (!st->step) return gcam_errf(&c->m->err, GCAM_E_NOMEM, "out of memory");
    st->n_layers = n_layers;
    st->spearman = gcam_sim_spearman(c->orig, c->map, c->hw);
    st->spearman_abs = gcam_sim_spearman(c->orig_abs, c->abs_map, c->hw);
    st->ssim = gcam_sim_ssim(c->orig_abs, c->abs_map, h, w);
    st->hog = gcam_sim_hog(c->orig_abs, c->abs_map, h, w);
    if (keep) {
        *keep = gcam_malloc(sizeof(float) * (size_t)c->hw);
        if (!*keep) return gcam_errf(&c->m->err, GCAM_E_NOMEM, "out of memory");
        memcpy(*keep, c->abs_map, sizeof(float) * (size_t)c->hw);
        scale01(*keep, c->hw);
    }
    if (c->o->progress) c->o->progress(c->o->progress_user, "sanity", ++c->done, c->total);
    return GCAM_OK;
}

static int randomize_group(run_ctx *c, const int *start, int g)
{
    for (int i = start[g]; i < start[g + 1]; i++) {
        int rc = gcam_model_randomize_layer(c->m, i, c->seed);
        if (rc) return rc;
    }
    return GCAM_OK;
}

static int run_tests(run_ctx *c, const gcam_param_layer *L, const int *start, int ng, int by_block, int h, int w,
                     gcam_sanity_result *r)
{
    int rc = GCAM_OK;
    for (int k = 0; k < ng && c->o->cascading && !rc; k++) { /* output side first, never restored */
        int g = ng - 1 - k;
        rc = randomize_group(c, start, g);
        if (!rc) rc = measure(c, h, w, by_block ? L[start[g]].block : L[start[g]].node, start[g + 1] - start[g],
                              &r->cascading[k], &r->cascading_maps[k]);
        if (!rc) r->n_cascading = k + 1;
    }
    if (!rc) rc = gcam_model_restore_layers(c->m);
    for (int k = 0; k < ng && c->o->independent && !rc; k++) {
        int g = ng - 1 - k;
        rc = randomize_group(c, start, g);
        if (!rc) rc = measure(c, h, w, by_block ? L[start[g]].block : L[start[g]].node, start[g + 1] - start[g],
                              &r->independent[k], NULL);
        if (!rc) r->n_independent = k + 1;
        if (!rc) rc = gcam_model_restore_layers(c->m);
    }
    return rc;
}

int gcam_sanity_run_fn(gcam_model *m, const gcam_array *input, gcam_map_fn fn, void *user, int h, int w,
                       const gcam_sanity_opts *o, gcam_sanity_result **out)
{
    *out = NULL;
    if (!m || !m->g || !input || !fn || h < 1 || w < 1) return GCAM_E_ARG;
    gcam_sanity_opts def;
    gcam_sanity_opts_default(&def);
    if (!o) o = &def;
    const gcam_param_layer *L;
    int n;
    int rc = gcam_model_param_layers(m, &L, &n);
    if (rc) return rc;
    if (n == 0) return gcam_errf(&m->err, GCAM_E_NOTFOUND, "the model has no layer with constant float weights to randomise");
    int64_t hw = (int64_t)h * w;
    int *start = gcam_malloc(sizeof(int) * (size_t)(n + 1));
    gcam_sanity_result *r = gcam_calloc(1, sizeof *r);
    run_ctx c = {.m = m, .x = input, .fn = fn, .user = user, .hw = hw, .seed = o->seed, .o = o};
    c.orig = gcam_malloc(sizeof(float) * (size_t)hw);
    c.map = gcam_malloc(sizeof(float) * (size_t)hw);
    c.abs_map = gcam_malloc(sizeof(float) * (size_t)hw);
    if (r) r->original = gcam_malloc(sizeof(float) * (size_t)hw);
    int ng = start ? make_groups(L, n, o->granularity == GCAM_SANITY_BLOCK, start) : 0;
    if (r) {
        r->cascading = gcam_calloc((size_t)ng + 1, sizeof *r->cascading);
        r->independent = gcam_calloc((size_t)ng + 1, sizeof *r->independent);
        r->cascading_maps = gcam_calloc((size_t)ng + 1, sizeof(float *));
    }
    if (!start || !r || !c.orig || !c.map || !c.abs_map || !r->original || !r->cascading || !r->independent ||
        !r->cascading_maps)
        rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    if (!rc) rc = gcam_model_restore_layers(m); /* start from the trained model */
    if (!rc) rc = fn(user, m, input, c.orig, r->original);
    if (!rc) {
        r->h = h;
        r->w = w;
        c.orig_abs = r->original;
        c.total = (o->cascading ? ng : 0) + (o->independent ? ng : 0);
        rc = run_tests(&c, L, start, ng, o->granularity == GCAM_SANITY_BLOCK, h, w, r);
    }
    int rrc = gcam_model_restore_layers(m);
    if (!rc) rc = rrc;
    if (r && r->original) scale01(r->original, hw);
    gcam_free(start);
    gcam_free(c.orig);
    gcam_free(c.map);
    gcam_free(c.abs_map);
    if (rc) {
        gcam_sanity_free(r);
        return rc;
    }
    *out = r;
    return GCAM_OK;
}

/* ---- with gcam_explain --------------------------------------------------- */

typedef struct explain_ctx {
    gcam_explain_opts eo;
} explain_ctx;

static int explain_map(void *user, gcam_model *m, const gcam_array *x, float *map, float *abs_map)
{
    explain_ctx *c = user;
    gcam_explanation *ex = NULL;
    int rc = gcam_explain(m, x, &c->eo, &ex);
    if (rc) return rc;
    int h, w, ch = gcam_explanation_channels(ex);
    const float *v = gcam_explanation_map(ex, &h, &w);
    int64_t hw = (int64_t)h * w;
    for (int64_t p = 0; p < hw; p++) {
        double s = 0, a = 0;
        for (int k = 0; k < ch; k++) {
            s += v[k * hw + p];
            a += fabs(v[k * hw + p]);
        }
        map[p] = (float)s;
        abs_map[p] = (float)a;
    }
    gcam_explanation_free(ex);
    return GCAM_OK;
}

int gcam_sanity_run(gcam_model *m, const gcam_array *input, const gcam_explain_opts *eo,
                    const gcam_sanity_opts *o, gcam_sanity_result **out)
{
    *out = NULL;
    if (!m || !input || !eo) return GCAM_E_ARG;
    explain_ctx c = {.eo = *eo};
    c.eo.progress = NULL;
    gcam_explanation *ex = NULL;
    int rc = gcam_model_restore_layers(m);
    if (!rc) rc = gcam_explain(m, input, &c.eo, &ex);
    if (rc) return rc;
    int h, w;
    gcam_explanation_map(ex, &h, &w);
    if (!c.eo.target_output) c.eo.target_class = gcam_explanation_target(ex);
    gcam_explanation_free(ex);
    rc = gcam_sanity_run_fn(m, input, explain_map, &c, h, w, o, out);
    if (!rc) (*out)->target = c.eo.target_output ? eo->target_class : c.eo.target_class;
    return rc;
}
