/* op_harness.c - see op_harness.h. */
#include "op_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFFFF) / (float)0x800000 - 1.0f;
}

tnode *tn_new(const char *op_type, int opset)
{
    tnode *t = calloc(1, sizeof *t);
    t->node.name = gcam_strdup("test_node");
    t->node.op_type = gcam_strdup(op_type);
    t->node.domain = gcam_strdup("");
    t->node.opset = opset;
    t->node.op = gcam_op_lookup(op_type);
    t->node.in = calloc(TN_MAX, sizeof(int));
    t->node.out = calloc(TN_MAX, sizeof(int));
    t->node.attr = calloc(32, sizeof(gcam_attr));
    t->n_out = 1;
    t->rng = 12345u;
    return t;
}

static gcam_attr *add_attr(tnode *t, const char *name, int type)
{
    gcam_attr *a = &t->node.attr[t->node.n_attr++];
    a->name = gcam_strdup(name);
    a->type = type;
    return a;
}

void tn_attr_int(tnode *t, const char *name, int64_t v) { add_attr(t, name, GCAM_ATTR_INT)->i = v; }
void tn_attr_float(tnode *t, const char *name, float v) { add_attr(t, name, GCAM_ATTR_FLOAT)->f = v; }
void tn_attr_str(tnode *t, const char *name, const char *v)
{
    add_attr(t, name, GCAM_ATTR_STRING)->s = gcam_strdup(v);
}
void tn_attr_ints(tnode *t, const char *name, int n, const int64_t *v)
{
    gcam_attr *a = add_attr(t, name, GCAM_ATTR_INTS);
    a->n = n;
    a->ints = malloc(sizeof(int64_t) * (n ? n : 1));
    memcpy(a->ints, v, sizeof(int64_t) * n);
}
void tn_attr_floats(tnode *t, const char *name, int n, const float *v)
{
    gcam_attr *a = add_attr(t, name, GCAM_ATTR_FLOATS);
    a->n = n;
    a->floats = malloc(sizeof(float) * (n ? n : 1));
    memcpy(a->floats, v, sizeof(float) * n);
}

void tn_attr_tensor(tnode *t, const char *name, const gcam_tensor *v)
{
    gcam_attr *a = add_attr(t, name, GCAM_ATTR_TENSOR);
    gcam_tensor *x = calloc(1, sizeof *x);
    x->name = gcam_strdup(v->name);
    x->dtype = v->dtype;
    x->ndim = v->ndim;
    memcpy(x->dims, v->dims, sizeof x->dims);
    x->flags = GCAM_TF_OWNED | GCAM_TF_CONST;
    x->producer = -1;
    size_t b = gcam_tensor_bytes(v);
    if (b == SIZE_MAX) b = 0;
    x->data = calloc(b ? b : 1, 1);
    if (b && v->data) memcpy(x->data, v->data, b);
    a->t = x;
}

static int add_input(tnode *t, int dtype, const int64_t *dims, int ndim, int is_const)
{
    int i = t->n_in++;
    gcam_tensor *x = &t->tensors[i];
    char nm[32];
    snprintf(nm, sizeof nm, "in%d", i);
    x->name = gcam_strdup(nm);
    x->dtype = dtype;
    x->ndim = ndim;
    for (int d = 0; d < ndim; d++) x->dims[d] = dims[d];
    x->flags = is_const ? GCAM_TF_CONST | GCAM_TF_OWNED : GCAM_TF_INPUT | GCAM_TF_OWNED;
    x->producer = -1;
    int64_t n = gcam_numel(x);
    x->data = calloc((size_t)(n ? n : 1), gcam_dtype_size(dtype));
    t->in[i] = x;
    t->in_const[i] = is_const;
    t->node.in[i] = i;
    t->node.n_in = t->n_in;
    return i;
}

int tn_input_f32(tnode *t, const int64_t *dims, int ndim, const float *data, int is_const)
{
    int i = add_input(t, GCAM_DT_F32, dims, ndim, is_const);
    float *p = t->in[i]->data;
    int64_t n = gcam_numel(t->in[i]);
    for (int64_t k = 0; k < n; k++) p[k] = data ? data[k] : frand(&t->rng);
    return i;
}

int tn_input_i64(tnode *t, const int64_t *dims, int ndim, const int64_t *data)
{
    int i = add_input(t, GCAM_DT_I64, dims, ndim, 1);
    memcpy(t->in[i]->data, data, sizeof(int64_t) * (size_t)gcam_numel(t->in[i]));
    return i;
}

int tn_input_none(tnode *t)
{
    int i = t->n_in++;
    t->in[i] = NULL;
    t->in_const[i] = 1;
    t->node.in[i] = -1;
    t->node.n_in = t->n_in;
    return i;
}

void tn_outputs(tnode *t, int n) { t->n_out = n; }

static void ctx_init(tnode *t, gcam_opctx *c)
{
    memset(c, 0, sizeof *c);
    c->node = &t->node;
    c->in = t->in;
    c->out = t->out;
    c->err = &t->err;
    c->nthreads = t->nthreads > 0 ? t->nthreads : 1;
}

int tn_run(tnode *t)
{
    if (!t->node.op) return gcam_errf(&t->err, GCAM_E_UNSUPPORTED, "op %s not registered", t->node.op_type);
    int rc;
    if (!t->initialized) {
        for (int i = 0; i < t->n_out; i++) {
            gcam_tensor *y = &t->tensors[TN_MAX + i];
            char nm[32];
            snprintf(nm, sizeof nm, "out%d", i);
            y->name = gcam_strdup(nm);
            y->producer = 0;
            t->out[i] = y;
            t->node.out[i] = TN_MAX + i;
        }
        t->node.n_out = t->n_out;
        if (t->node.op->init && (rc = t->node.op->init(&t->node, &t->err))) return rc;
        t->initialized = 1;
    }
    gcam_opctx c;
    ctx_init(t, &c);
    if ((rc = t->node.op->infer(&c))) return rc;
    for (int i = 0; i < t->n_out; i++) {
        gcam_tensor *y = t->out[i];
        free(y->data);
        size_t b = gcam_tensor_bytes(y);
        if (b == SIZE_MAX) return gcam_errf(&t->err, GCAM_E_RANGE, "output too large");
        y->data = calloc(b ? b : 1, 1);
    }
    size_t sb = t->node.scratch > t->node.bscratch ? t->node.scratch : t->node.bscratch;
    free(t->scratch);
    t->scratch = calloc(sb ? sb : 1, 1);
    c.scratch = t->scratch;
    return t->node.op->forward(&c);
}

void tn_free(tnode *t)
{
    if (!t) return;
    if (t->initialized && t->node.op && t->node.op->release) t->node.op->release(&t->node);
    else free(t->node.params);
    for (int i = 0; i < 2 * TN_MAX; i++) {
        free(t->tensors[i].name);
        free(t->tensors[i].data);
    }
    for (int i = 0; i < t->node.n_attr; i++) {
        free(t->node.attr[i].name);
        free(t->node.attr[i].s);
        free(t->node.attr[i].ints);
        free(t->node.attr[i].floats);
        gcam_tensor *at = t->node.attr[i].t;
        if (at) {
            if (at->flags & GCAM_TF_OWNED) free(at->data);
            free(at->name);
            free(at);
        }
    }
    free(t->node.attr);
    free(t->node.in);
    free(t->node.out);
    free(t->node.name);
    free(t->node.op_type);
    free(t->node.domain);
    free(t->scratch);
    free(t);
}

double tn_maxdiff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}

/* loss = sum_k w_k * out_k over float outputs */
static double loss_of(tnode *t, float **w)
{
    double s = 0;
    for (int i = 0; i < t->n_out; i++) {
        if (!t->out[i] || t->out[i]->dtype != GCAM_DT_F32) continue;
        int64_t n = gcam_numel(t->out[i]);
        const float *y = t->out[i]->data;
        for (int64_t k = 0; k < n; k++) s += (double)w[i][k] * y[k];
    }
    return s;
}

int tn_fd_check(tnode *t, double tol)
{
    if (!t->node.op->backward) {
        fprintf(stderr, "    %s has no backward\n", t->node.op_type);
        return 1;
    }
    if (tn_run(t)) {
        fprintf(stderr, "    forward failed: %s\n", t->err.msg);
        return 1;
    }
    float *w[TN_MAX] = {0};
    gcam_tensor dout_t[TN_MAX], din_t[TN_MAX];
    gcam_tensor *dout[TN_MAX] = {0}, *din[TN_MAX] = {0};
    for (int i = 0; i < t->n_out; i++) {
        int64_t n = gcam_numel(t->out[i]);
        w[i] = malloc(sizeof(float) * (size_t)(n ? n : 1));
        for (int64_t k = 0; k < n; k++)
            w[i][k] = t->onehot > 0 ? (float)(i == 0 && k == t->onehot - 1) : frand(&t->rng);
        dout_t[i] = *t->out[i];
        dout_t[i].data = w[i];
        dout[i] = t->out[i]->dtype == GCAM_DT_F32 ? &dout_t[i] : NULL;
    }
    for (int i = 0; i < t->n_in; i++) {
        if (!t->in[i] || t->in_const[i] || t->in[i]->dtype != GCAM_DT_F32) continue;
        din_t[i] = *t->in[i];
        int64_t n = gcam_numel(t->in[i]);
        /* start from a known non-zero value to check that backward accumulates */
        float *g = malloc(sizeof(float) * (size_t)(n ? n : 1));
        for (int64_t k = 0; k < n; k++) g[k] = 0.5f;
        din_t[i].data = g;
        din[i] = &din_t[i];
    }
    gcam_opctx c;
    ctx_init(t, &c);
    c.dout = dout;
    c.din = din;
    c.scratch = t->scratch;
    int bad = 0;
    int rc = t->node.op->backward(&c);
    if (rc) {
        fprintf(stderr, "    backward failed: %s\n", t->err.msg);
        bad = 1;
    }
    const double h = 1e-3;
    for (int i = 0; i < t->n_in && !bad; i++) {
        if (!din[i]) continue;
        float *x = t->in[i]->data;
        const float *g = din[i]->data;
        int64_t n = gcam_numel(t->in[i]);
        double worst = 0;
        int64_t worst_k = -1;
        double worst_fd = 0;
        for (int64_t k = 0; k < n; k++) {
            float x0 = x[k];
            x[k] = (float)(x0 + h);
            t->node.op->forward(&(gcam_opctx){.node = &t->node, .in = t->in, .out = t->out,
                                              .scratch = t->scratch, .err = &t->err, .nthreads = 1});
            double lp = loss_of(t, w);
            x[k] = (float)(x0 - h);
            t->node.op->forward(&(gcam_opctx){.node = &t->node, .in = t->in, .out = t->out,
                                              .scratch = t->scratch, .err = &t->err, .nthreads = 1});
            double lm = loss_of(t, w);
            x[k] = x0;
            double fd = (lp - lm) / (2 * h);
            double an = (double)g[k] - 0.5;
            double err = fabs(fd - an) / fmax(1.0, fmax(fabs(fd), fabs(an)));
            if (err > worst || err != err) {
                worst = err != err ? INFINITY : err;
                worst_k = k;
                worst_fd = fd;
            }
        }
        if (worst > tol) {
            fprintf(stderr, "    %s input %d: grad[%lld] = %.6g, finite difference %.6g (rel err %.3g > %.3g)\n",
                    t->node.op_type, i, (long long)worst_k, (double)g[worst_k] - 0.5, worst_fd, worst, tol);
            bad = 1;
        }
    }
    /* restore outputs */
    tn_run(t);
    for (int i = 0; i < TN_MAX; i++) {
        free(w[i]);
        if (din[i]) free(din[i]->data);
    }
    return bad;
}
