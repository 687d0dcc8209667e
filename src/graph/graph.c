/* graph.c - tensor table, name lookup, op resolution, topological order. */
#include <stdio.h>
#include <stdlib.h>

#include "graph/graph.h"

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static int rehash(gcam_graph *g, int cap)
{
    int *h = gcam_malloc(sizeof(int) * cap);
    if (!h) return -1;
    for (int i = 0; i < cap; i++) h[i] = -1;
    for (int t = 0; t < g->n_tensors; t++) {
        uint32_t k = hash_str(g->tensors[t].name) & (cap - 1);
        while (h[k] >= 0) k = (k + 1) & (cap - 1);
        h[k] = t;
    }
    gcam_free(g->hash);
    g->hash = h;
    g->hcap = cap;
    return 0;
}

int gcam_graph_find(const gcam_graph *g, const char *name)
{
    if (!g->hcap || !name) return -1;
    uint32_t k = hash_str(name) & (g->hcap - 1);
    while (g->hash[k] >= 0) {
        if (!strcmp(g->tensors[g->hash[k]].name, name)) return g->hash[k];
        k = (k + 1) & (g->hcap - 1);
    }
    return -1;
}

int gcam_graph_add_tensor(gcam_graph *g, const char *name)
{
    if (g->n_tensors == g->cap_tensors) {
        int cap = g->cap_tensors ? 2 * g->cap_tensors : 256;
        gcam_tensor *t = gcam_realloc(g->tensors, sizeof(gcam_tensor) * cap);
        if (!t) return -1;
        g->tensors = t;
        g->cap_tensors = cap;
    }
    if (2 * (g->n_tensors + 1) > g->hcap && rehash(g, g->hcap ? 2 * g->hcap : 512)) return -1;
    int i = g->n_tensors;
    gcam_tensor *t = &g->tensors[i];
    memset(t, 0, sizeof *t);
    t->name = gcam_strdup(name);
    if (!t->name) return -1;
    t->producer = -1;
    g->n_tensors++;
    uint32_t k = hash_str(name) & (g->hcap - 1);
    while (g->hash[k] >= 0) k = (k + 1) & (g->hcap - 1);
    g->hash[k] = i;
    return i;
}

int gcam_graph_find_node(const gcam_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

/* Appends "'name' (Op, opset N)" to a growing list of unsupported nodes. */
static void list_append(char *buf, size_t cap, const gcam_node *n, int *count)
{
    size_t len = strlen(buf);
    if (len + 64 >= cap) {
        if (len + 5 < cap && !strstr(buf, ", ...")) strcat(buf, ", ...");
        (*count)++;
        return;
    }
    snprintf(buf + len, cap - len, "%s'%s' (%s%s%s, opset %d)", *count ? ", " : "", n->name,
             n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type, n->opset);
    (*count)++;
}

void gcam_settings_default(gcam_settings *s)
{
#define GCAM_X_(id, name, def, desc) s->v[GCAM_OPT_##id] = def;
    GCAM_OPTION_LIST(GCAM_X_)
#undef GCAM_X_
}

int gcam_setting(const gcam_settings *s, gcam_option o)
{
    if (s) return s->v[o];
    gcam_settings d;
    gcam_settings_default(&d);
    return d.v[o];
}

/* Marks graph inputs read only where their values decide shapes (Resize's
 * scales, NonMaxSuppression's boxes, ...: GCAM_OPF_SHAPE_PARAMS) GCAM_TF_BYVALUE.
 * Every node's op is resolved. */
static void mark_parameter_inputs(gcam_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i], param = 0, data = 0;
        for (int k = 0; k < g->n_nodes; k++) {
            const gcam_node *n = &g->nodes[k];
            for (int j = 0; j < n->n_in; j++) {
                if (n->in[j] != t) continue;
                if ((n->op->flags & GCAM_OPF_SHAPE_PARAMS) && j >= n->op->param_slot) param = 1;
                else data = 1;
            }
        }
        if (param && !data) g->tensors[t].flags |= GCAM_TF_BYVALUE;
    }
}

int gcam_graph_finish(gcam_graph *g, gcam_err *e)
{
    gcam_settings_default(&g->settings);
    /* resolve every op first, then report all unsupported ones at once */
    char list[900] = "";
    int n_bad = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        gcam_node *n = &g->nodes[i];
        int std = !n->domain[0] || !strcmp(n->domain, "ai.onnx");
        n->op = std ? gcam_op_lookup(n->op_type) : NULL;
        if (!n->op) list_append(list, sizeof list, n, &n_bad);
        else if (!gcam_op_opset_ok(n->op, n->opset)) list_append(list, sizeof list, n, &n_bad);
    }
    if (n_bad)
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "%d unsupported node%s (op, domain, or opset outside 6..21 - 1..21 for ops unchanged since opset 1): %s",
                         n_bad, n_bad > 1 ? "s" : "", list);
    mark_parameter_inputs(g);

    for (int i = 0; i < g->n_nodes; i++) {
        const gcam_node *n = &g->nodes[i];
        int need = gcam_op_required(n->op, n->opset); /* so that no op sees a missing required input */
        for (int k = 0; k < need; k++)
            if (k >= n->n_in || n->in[k] < 0)
                return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): required input %d of %d is missing",
                                 n->name, n->op_type, k + 1, need);
        /* recurrent layers may leave Y unnamed and give only Y_h / Y_c */
        int any_out = 0, optional0 = (n->op->flags & GCAM_OPF_OPTIONAL_OUT0) != 0;
        for (int k = 0; k < n->n_out; k++) any_out |= n->out[k] >= 0;
        if (n->n_out < 1 || (n->out[0] < 0 && !(optional0 && any_out)))
            return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s) has no output", n->name, n->op_type);
    }

    for (int i = 0; i < g->n_inputs; i++)
        if (g->tensors[g->inputs[i]].dtype == GCAM_DT_UNDEF)
            return gcam_errf(e, GCAM_E_UNSUPPORTED, "graph input '%s' is not a tensor (sequence, map and optional types are not supported)",
                             g->tensors[g->inputs[i]].name);

    /* Kahn's algorithm over producer edges */
    int *indeg = gcam_calloc(g->n_nodes + 1, sizeof(int));
    int *queue = gcam_calloc(g->n_nodes + 1, sizeof(int));
    int *users_start = gcam_calloc(g->n_tensors + 1, sizeof(int));
    g->order = gcam_calloc(g->n_nodes + 1, sizeof(int));
    if (!indeg || !queue || !users_start || !g->order) {
        gcam_free(indeg); gcam_free(queue); gcam_free(users_start);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    int total_edges = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int t = g->nodes[i].in[k];
            if (t >= 0 && g->tensors[t].producer >= 0) {
                indeg[i]++;
                users_start[t]++;
                total_edges++;
            }
        }
    /* CSR of consumers per tensor */
    int *users = gcam_malloc(sizeof(int) * (total_edges + 1));
    int *fill = gcam_calloc(g->n_tensors + 1, sizeof(int));
    if (!users || !fill) {
        gcam_free(indeg); gcam_free(queue); gcam_free(users_start); gcam_free(users); gcam_free(fill);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    int acc = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        int c = users_start[t];
        users_start[t] = acc;
        acc += c;
    }
    users_start[g->n_tensors] = acc;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int t = g->nodes[i].in[k];
            if (t >= 0 && g->tensors[t].producer >= 0) users[users_start[t] + fill[t]++] = i;
        }
    int qh = 0, qt = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!indeg[i]) queue[qt++] = i;
    while (qh < qt) {
        int i = queue[qh++];
        g->order[qh - 1] = i;
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int t = g->nodes[i].out[k];
            if (t < 0) continue;
            for (int u = users_start[t]; u < users_start[t + 1]; u++)
                if (--indeg[users[u]] == 0) queue[qt++] = users[u];
        }
    }
    int rc = GCAM_OK;
    if (qt != g->n_nodes) {
        /* Nodes left with indeg > 0 are on a cycle or downstream of one.  Each
         * has an unsorted producer, so walking producers n_nodes times from any
         * of them must end on a cycle: name that node, not a downstream one. */
        int culprit = -1;
        for (int i = 0; i < g->n_nodes && culprit < 0; i++)
            if (indeg[i]) culprit = i;
        for (int step = 0; step < g->n_nodes; step++) {
            const gcam_node *n = &g->nodes[culprit];
            int next = -1;
            for (int k = 0; k < n->n_in && next < 0; k++) {
                int t = n->in[k];
                if (t >= 0 && g->tensors[t].producer >= 0 && indeg[g->tensors[t].producer]) next = g->tensors[t].producer;
            }
            if (next < 0) break; /* cannot happen: kept as a guard */
            culprit = next;
        }
        rc = gcam_errf(e, GCAM_E_INVALID_MODEL, "graph is not a DAG: node '%s' (%s) is on a cycle",
                       g->nodes[culprit].name, g->nodes[culprit].op_type);
    }
    gcam_free(indeg); gcam_free(queue); gcam_free(users_start); gcam_free(users); gcam_free(fill);
    if (rc) return rc;

    for (int i = 0; i < g->n_nodes; i++) {
        gcam_node *n = &g->nodes[i];
        if (n->op->init && (rc = n->op->init(n, e))) {
            if (!strstr(e->msg, n->name)) {
                char pre[512];
                snprintf(pre, sizeof pre, "node '%s' (%s)", n->name, n->op_type);
                gcam_err_prefix(e, pre);
            }
            n->op = NULL; /* not initialised: nothing to release */
            /* remaining nodes have no params yet either */
            for (int j = i + 1; j < g->n_nodes; j++) g->nodes[j].op = NULL;
            return rc;
        }
    }
    return GCAM_OK;
}

static void free_tensor_data(gcam_tensor *t)
{
    if (t->flags & GCAM_TF_OWNED) gcam_free(t->data);
    t->data = NULL;
    t->flags &= ~GCAM_TF_OWNED;
}

int gcam_graph_profile(gcam_graph *g, int on)
{
    if (on && !g->prof && !(g->prof = gcam_calloc((size_t)g->n_nodes + 1, sizeof *g->prof))) return GCAM_E_NOMEM;
    for (int i = 0; i < g->n_nodes; i++) g->nodes[i].prof = on ? &g->prof[i] : NULL;
    return GCAM_OK;
}

void gcam_graph_free(gcam_graph *g)
{
    if (!g) return;
    gcam_free(g->prof);
    gcam_graph_plan_free(g);
    for (int i = 0; i < g->n_nodes; i++) {
        gcam_node *n = &g->nodes[i];
        if (n->op && n->op->release) n->op->release(n);
        else gcam_free(n->params);
        for (int a = 0; a < n->n_attr; a++) {
            gcam_attr *at = &n->attr[a];
            gcam_free(at->name);
            gcam_free(at->s);
            gcam_free(at->ints);
            gcam_free(at->floats);
            if (at->t) {
                free_tensor_data(at->t);
                gcam_free(at->t->name);
                gcam_free(at->t);
            }
        }
        gcam_free(n->attr);
        gcam_free(n->in);
        gcam_free(n->out);
        gcam_free(n->name);
        gcam_free(n->op_type);
        gcam_free(n->domain);
    }
    gcam_free(g->nodes);
    for (int t = 0; t < g->n_tensors; t++) {
        free_tensor_data(&g->tensors[t]);
        gcam_free(g->tensors[t].name);
    }
    gcam_free(g->tensors);
    for (int i = 0; i < g->n_inputs; i++) {
        if (!g->input_dim_param[i]) continue;
        for (int d = 0; d < GCAM_MAX_DIMS; d++) gcam_free(g->input_dim_param[i][d]);
        gcam_free(g->input_dim_param[i]);
    }
    gcam_free(g->input_dim_param);
    gcam_free(g->input_decl);
    gcam_free(g->inputs);
    gcam_free(g->outputs);
    for (int i = 0; i < g->n_meta; i++) {
        gcam_free(g->meta_key[i]);
        gcam_free(g->meta_val[i]);
    }
    gcam_free(g->meta_key);
    gcam_free(g->meta_val);
    gcam_free(g->order);
    gcam_free(g->hash);
    gcam_free(g->arena);
    gcam_free(g->scratch);
    gcam_free(g->run_nodes);
    gcam_free(g->grads);
    gcam_free(g->grad_arena);
    gcam_free(g->dir);
    gcam_free(g->producer);
    gcam_free(g->path);
    gcam_free(g);
}
