/* Pad: grow (or, with negative pads, crop) each dim by pads[begin], pads[end].
 * Modes constant (fill with constant_value), reflect (mirror without
 * repeating the edge), edge (repeat the edge) and wrap (opset 19, periodic).
 * Pads come from the "pads" attribute before opset 11 and from constant
 * input 1 after; input 2 is the fill value; input 3 (opset 18) limits the
 * pads to the listed axes.  Any element type.
 *
 * Every output index maps per dim to one source index (or to "fill"), so
 * forward is a gather through per-dim maps kept in scratch, and backward
 * scatter-adds dy through the same maps: reflect/edge/wrap sources that
 * feed several outputs collect all their gradients.
 *
 * All-zero pads (torch.onnx writes one before DenseNet's transition pools)
 * are a copy, which works in any layout: the planner may keep X and Y
 * channels last together (GCAM_NHWC_TIED). */
#include <stdlib.h>

#include "gcam_internal.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_params {
    int mode;
} pad_params;

typedef struct pad_plan {
    int nd;
    int64_t begin[GCAM_MAX_DIMS];
    int64_t dims[GCAM_MAX_DIMS]; /* output dims */
} pad_plan;

static int pad_init(gcam_node *n, gcam_err *e)
{
    const char *m = gcam_attr_str(n, "mode", "constant");
    int mode;
    if (!strcmp(m, "constant")) mode = PAD_CONSTANT;
    else if (!strcmp(m, "reflect")) mode = PAD_REFLECT;
    else if (!strcmp(m, "edge")) mode = PAD_EDGE;
    else if (!strcmp(m, "wrap")) mode = PAD_WRAP;
    else
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "node '%s' (Pad): mode '%s' not supported", n->name ? n->name : "",
                         m);
    pad_params *p = gcam_malloc(sizeof *p);
    if (!p) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    p->mode = mode;
    n->params = p;
    return GCAM_OK;
}

static int plan(gcam_opctx *c, pad_plan *p)
{
    const gcam_tensor *x = c->in[0];
    int r = x->ndim;
    int64_t pads[2 * GCAM_MAX_DIMS], axes[GCAM_MAX_DIMS];
    int np, na = -1;
    if (c->node->opset < 11) {
        np = gcam_attr_ints(c->node, "pads", pads, 2 * GCAM_MAX_DIMS);
        if (np < 0) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing pads attribute");
    } else {
        if (c->node->n_in < 2 || !c->in[1]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing pads input");
        if ((np = gcam_const_ints(c, c->in[1], "pads", pads, 2 * GCAM_MAX_DIMS)) < 0) return np;
        if (c->node->n_in > 3 && c->in[3] && (na = gcam_const_ints(c, c->in[3], "axes", axes, GCAM_MAX_DIMS)) < -1)
            return na;
    }
    if (na < 0) {
        na = r;
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    if (np != 2 * na)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "pads has %d entries for %d axes", np, na);
    int64_t end[GCAM_MAX_DIMS] = {0};
    int seen[GCAM_MAX_DIMS] = {0};
    for (int d = 0; d < r; d++) p->begin[d] = 0;
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i];
        if (a < -r || a >= r)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)a, r);
        if (a < 0) a += r;
        if (seen[a]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld repeated", (long long)a);
        seen[a] = 1;
        p->begin[a] = pads[i];
        end[a] = pads[i + na];
    }
    int mode = ((const pad_params *)c->node->params)->mode;
    p->nd = r;
    for (int d = 0; d < r; d++) {
        /* pads are bounded so that the sums below cannot overflow */
        if (llabs(p->begin[d]) > ((int64_t)1 << 40) || llabs(end[d]) > ((int64_t)1 << 40))
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "pad on axis %d too large", d);
        p->dims[d] = x->dims[d] + p->begin[d] + end[d];
        if (p->dims[d] < 0)
            return gcam_node_errf(c, GCAM_E_SHAPE, "negative pads remove more than dim %d has", d);
        if (mode != PAD_CONSTANT && x->dims[d] == 0 && p->dims[d] > 0)
            return gcam_node_errf(c, GCAM_E_SHAPE, "cannot %s-pad empty axis %d",
                                  mode == PAD_REFLECT ? "reflect" : mode == PAD_EDGE ? "edge" : "wrap", d);
    }
    return GCAM_OK;
}

static int no_padding(const pad_plan *p, const gcam_tensor *x)
{
    for (int d = 0; d < p->nd; d++)
        if (p->begin[d] || p->dims[d] != x->dims[d]) return 0;
    return 1;
}

static size_t map_bytes(const pad_plan *p)
{
    int64_t n = 0;
    for (int d = 0; d < p->nd; d++) n += p->dims[d];
    return (size_t)n * sizeof(int64_t);
}

static int pad_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    const gcam_tensor *v = c->node->opset >= 11 && c->node->n_in > 2 ? c->in[2] : NULL;
    if (v && gcam_numel(v) > 0) {
        if (v->dtype != x->dtype)
            return gcam_node_errf(c, GCAM_E_DTYPE, "constant_value is %s, data is %s", gcam_dtype_name(v->dtype),
                                  gcam_dtype_name(x->dtype));
        if (gcam_numel(v) != 1)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "constant_value must be one element");
    }
    pad_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    y->dtype = x->dtype;
    y->ndim = p.nd;
    memcpy(y->dims, p.dims, sizeof p.dims);
    c->node->scratch = c->node->bscratch = map_bytes(&p);
    c->nhwc_ok = x->ndim == 4 && x->dtype == GCAM_DT_F32 && no_padding(&p, x) ? GCAM_NHWC_TIED : GCAM_NHWC_NO;
    return GCAM_OK;
}

/* Fills map[d] with the source index of every output index along each dim,
 * -1 where the constant is used.  Returns the per-dim map pointers. */
static void build_maps(const pad_plan *p, const gcam_tensor *x, int mode, int64_t *buf, int64_t **map)
{
    for (int d = 0; d < p->nd; d++) {
        map[d] = buf;
        int64_t n = x->dims[d];
        for (int64_t o = 0; o < p->dims[d]; o++) {
            int64_t s = o - p->begin[d];
            if (s < 0 || s >= n) {
                switch (mode) {
                case PAD_CONSTANT: s = -1; break;
                case PAD_EDGE: s = s < 0 ? 0 : n - 1; break;
                case PAD_WRAP: s = ((s % n) + n) % n; break;
                default: { /* reflect: period 2(n-1), folded back (numpy's 'reflect') */
                    int64_t per = 2 * (n - 1);
                    if (per == 0) {
                        s = 0;
                    } else {
                        s = ((s % per) + per) % per;
                        if (s >= n) s = per - s;
                    }
                }
                }
            }
            buf[o] = s;
        }
        buf += p->dims[d];
    }
}

static int pad_forward(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    pad_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    int mode = ((const pad_params *)c->node->params)->mode;
    size_t es = gcam_dtype_size(x->dtype);
    int64_t n = gcam_numel(y);
    if (n == 0) return GCAM_OK;
    if (p.nd == 0 || no_padding(&p, x)) {
        memcpy(y->data, x->data, (size_t)n * es);
        return GCAM_OK;
    }
    if ((x->flags | y->flags) & GCAM_TF_NHWC)
        return gcam_node_errf(c, GCAM_E_INTERNAL, "NHWC planned for a Pad that pads");
    /* the fill value, as bytes of the data's type */
    unsigned char fill[16] = {0};
    const gcam_tensor *v = c->node->opset >= 11 && c->node->n_in > 2 ? c->in[2] : NULL;
    if (v && gcam_numel(v) > 0) {
        memcpy(fill, v->data, es);
    } else if (c->node->opset < 11) {
        double val = gcam_attr_float(c->node, "value", 0.0f);
        if (x->dtype == GCAM_DT_F32) {
            float f = (float)val;
            memcpy(fill, &f, sizeof f);
        } else if (x->dtype == GCAM_DT_I64) {
            int64_t i = (int64_t)val;
            memcpy(fill, &i, sizeof i);
        }
    }
    int64_t *map[GCAM_MAX_DIMS];
    build_maps(&p, x, mode, c->scratch, map);
    int64_t st[GCAM_MAX_DIMS], s = 1;
    for (int d = p.nd - 1; d >= 0; d--) {
        st[d] = s;
        s *= x->dims[d];
    }
    int last = p.nd - 1;
    int64_t L = p.dims[last], idx[GCAM_MAX_DIMS] = {0};
    const int64_t *mL = map[last];
    const char *xb = x->data;
    char *yb = y->data;
    for (int64_t o = 0; o < n; o += L) {
        int64_t base = 0;
        int filled = 0;
        for (int d = 0; d < last; d++) {
            int64_t sd = map[d][idx[d]];
            if (sd < 0) filled = 1;
            base += sd * st[d];
        }
        for (int64_t k = 0; k < L; k++) {
            const void *src = filled || mL[k] < 0 ? (const void *)fill : (const void *)(xb + (base + mL[k]) * es);
            memcpy(yb + (o + k) * es, src, es);
        }
        for (int d = last - 1; d >= 0; d--) {
            if (++idx[d] < p.dims[d]) break;
            idx[d] = 0;
        }
    }
    return GCAM_OK;
}

static int pad_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const gcam_tensor *x = c->in[0];
    if (x->flags & GCAM_TF_NHWC) /* the planner keeps the backward pass's tensors plain */
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a Pad planned NHWC");
    pad_plan p;
    int rc = plan(c, &p);
    if (rc) return rc;
    int mode = ((const pad_params *)c->node->params)->mode;
    int64_t n = gcam_numel(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    if (n == 0) return GCAM_OK;
    if (p.nd == 0) {
        dx[0] += dy[0];
        return GCAM_OK;
    }
    int64_t *map[GCAM_MAX_DIMS];
    build_maps(&p, x, mode, c->scratch, map);
    int64_t st[GCAM_MAX_DIMS], s = 1;
    for (int d = p.nd - 1; d >= 0; d--) {
        st[d] = s;
        s *= x->dims[d];
    }
    int last = p.nd - 1;
    int64_t L = p.dims[last], idx[GCAM_MAX_DIMS] = {0};
    const int64_t *mL = map[last];
    for (int64_t o = 0; o < n; o += L) {
        int64_t base = 0;
        int filled = 0;
        for (int d = 0; d < last; d++) {
            int64_t sd = map[d][idx[d]];
            if (sd < 0) filled = 1;
            base += sd * st[d];
        }
        if (!filled)
            for (int64_t k = 0; k < L; k++)
                if (mL[k] >= 0) dx[base + mL[k]] += dy[o + k];
        for (int d = last - 1; d >= 0; d--) {
            if (++idx[d] < p.dims[d]) break;
            idx[d] = 0;
        }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Pad = {
    .op_type = "Pad", .since = 6, .required = 1, .required_from = 11, .required_then = 2,
    .flags = GCAM_OPF_LAYOUT,
    .init = pad_init,
    .infer = pad_infer,
    .forward = pad_forward,
    .backward = pad_backward,
};
