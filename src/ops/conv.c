/* conv.c - Conv: 1-D, 2-D and 3-D; group (incl. depthwise), dilations,
 * strides, pads, auto_pad, optional bias; kernel_shape defaults to W's.
 *
 * Forward is im2col + one GEMM per group (darknet's formulation):
 *   Y[n, g] = W[g] (Mg x Cg*K)  *  col(X[n, g]) (Cg*K x OHW)
 * taken in bands of output rows when the column buffer would pass
 * CONV_COL_MAX_BYTES, so scratch stays bounded on large images;
 * with two shortcuts: a 1x1, stride-1, unpadded conv is already a GEMM on X
 * (no im2col), and a depthwise conv (one input channel per group) runs a
 * direct per-tap kernel, because Mg x 1 GEMMs per channel are mostly overhead.
 *
 * Backward (activation gradient): dcol = W[g]^T dY[n, g], then col2im adds
 * dcol into dX.  If W or B are themselves activations (not initializers),
 * their gradients are given too: dW[g] += dY[n, g] col^T, dB += sum dY.
 *
 * Those kernels are the reference.  With constant weights, infer also builds
 * a oneDNN primitive for the shape (src/kernels/conv_fast.h) and forward and
 * backward-data go through it.  Built primitives are kept per shape and
 * epilogue in the node's params ("instances"), because a node can be planned
 * for several shapes at once: the main plan and a suffix plan share params.
 *
 * Layouts: the planner may store X and/or Y (with a fused residual operand)
 * NHWC (GCAM_TF_NHWC) where this conv runs through oneDNN, so infer is
 * called twice (gcam_opctx.defer): once for shapes, once to build the
 * instance for the chosen layouts, which are part of the instance's key.
 * The reference kernels only ever see NCHW.
 *
 * Epilogue: when the planner fuses a following BatchNormalization and/or
 * activation into this node (node->fuse), the BN is folded into the oneDNN
 * weights and bias and the activation becomes a post-op; on the reference
 * path both are applied after the convolution with the exact arithmetic of
 * the BatchNormalization and activation ops. */
#include "kernels/conv_fast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CONV_PAR_MIN 32768
/* Largest column buffer: bigger layers (VGG's 224x224 3x3 convs would need
 * 115 MB) are processed in bands of output rows, one GEMM per band. */
#define CONV_COL_MAX_BYTES ((size_t)8 << 20)

/* Instances kept per node: a plan builds at most one per shape, so this
 * only bounds growth under many distinct input shapes (LRU). */
#define CONV_MAX_INST 8

/* What an instance was built for. */
typedef struct conv_key {
    int64_t N, C, M, G;
    gcam_win w;
    const float *W, *B;
    const float *bn_scale, *bn_bias, *bn_mean, *bn_var;
    float bn_eps;
    int act;
    float act_lo, act_hi;
    int has_sum;
    int nhwc_in, nhwc_out;
    int winograd; /* the model's winograd setting */
} conv_key;

typedef struct conv_inst {
    struct conv_inst *next;
    conv_key key;
    gcam_conv_fast *fast;  /* NULL: the reference kernels */
    float *bn_a;           /* reference epilogue: scale / sqrt(var + eps), M floats, or NULL */
    float *crop_w;         /* the fast kernel's weights when dead taps were cropped, or NULL */
    unsigned long used;    /* LRU stamp */
} conv_inst;

typedef struct conv_params {
    gcam_win_attr win;
    int64_t group;
    conv_inst *inst;
    int n_inst;
    unsigned long clock;
} conv_params;

typedef struct conv_shape {
    int64_t N, C, M, G, Cg, Mg;
    int64_t ck;     /* Cg * kernel size: the GEMM's inner dimension */
    int64_t rows;   /* output rows (od, oh pairs) */
    int64_t band;   /* output rows per im2col band */
    size_t col_bytes;
    gcam_win w;
    int pointwise;  /* 1x1, stride 1, no pads: X is its own column matrix */
    int depthwise;  /* one input channel per group: direct kernel */
} conv_shape;

static int conv_init(gcam_node *n, gcam_err *e)
{
    conv_params *p = gcam_calloc(1, sizeof *p);
    if (!p) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    n->params = p;
    int rc = gcam_win_parse(n, &p->win, e);
    if (rc) return rc;
    p->win.ceil_mode = 0; /* not a Conv attribute: output size always rounds down */
    p->group = gcam_attr_int(n, "group", 1);
    if (p->group < 1)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (Conv): group %lld must be >= 1",
                         n->name ? n->name : "", (long long)p->group);
    return GCAM_OK;
}

static int conv_shape_of(gcam_opctx *c, conv_shape *s)
{
    const conv_params *p = c->node->params;
    const gcam_tensor *x = c->in[0], *wt = c->node->n_in > 1 ? c->in[1] : NULL;
    const gcam_tensor *b = c->node->n_in > 2 ? c->in[2] : NULL;
    if (!x || !wt) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs inputs X and W");
    if (x->dtype != GCAM_DT_F32 || wt->dtype != GCAM_DT_F32 || (b && b->dtype != GCAM_DT_F32))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "only float32 is supported (X is %s, W is %s)",
                              gcam_dtype_name(x->dtype), gcam_dtype_name(wt->dtype));
    if (x->ndim < 3 || x->ndim > 2 + GCAM_WIN_MAX_SP)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED,
                              "X has %d dims; only 1-D to 3-D convolution (3 to 5 dims) is supported",
                              x->ndim);
    if (wt->ndim != x->ndim)
        return gcam_node_errf(c, GCAM_E_SHAPE, "W has %d dims but X has %d", wt->ndim, x->ndim);
    memset(s, 0, sizeof *s);
    s->N = x->dims[0];
    s->C = x->dims[1];
    s->M = wt->dims[0];
    s->G = p->group;
    if (s->C % s->G || s->M % s->G)
        return gcam_node_errf(c, GCAM_E_SHAPE,
                              "group %lld does not divide the %lld input and %lld output channels",
                              (long long)s->G, (long long)s->C, (long long)s->M);
    s->Cg = s->C / s->G;
    s->Mg = s->M / s->G;
    if (wt->dims[1] != s->Cg)
        return gcam_node_errf(c, GCAM_E_SHAPE,
                              "W has %lld input channels per group, expected %lld (X has %lld channels, group %lld)",
                              (long long)wt->dims[1], (long long)s->Cg, (long long)s->C,
                              (long long)s->G);
    int nsp = x->ndim - 2;
    if (p->win.nk) {
        for (int i = 0; i < nsp && i < p->win.nk; i++)
            if (p->win.k[i] != wt->dims[2 + i])
                return gcam_node_errf(c, GCAM_E_SHAPE, "kernel_shape[%d] = %lld but W has %lld", i,
                                      (long long)p->win.k[i], (long long)wt->dims[2 + i]);
    }
    char why[256];
    if (gcam_win_plan(&p->win, nsp, x->dims + 2, wt->dims + 2, &s->w, why, sizeof why))
        return gcam_node_errf(c, GCAM_E_SHAPE, "%s", why);
    if (b && (b->ndim != 1 || b->dims[0] != s->M))
        return gcam_node_errf(c, GCAM_E_SHAPE, "bias must have shape [%lld]", (long long)s->M);
    s->ck = s->Cg * s->w.k_size;
    s->rows = s->w.out[0] * s->w.out[1];
    int64_t row_elems;
    if (__builtin_mul_overflow(s->ck, s->w.out[2], &row_elems) ||
        (uint64_t)row_elems > (SIZE_MAX / 4) / sizeof(float))
        return gcam_node_errf(c, GCAM_E_RANGE, "im2col buffer too large");
    const size_t row_bytes = (size_t)row_elems * sizeof(float);
    s->band = (int64_t)(CONV_COL_MAX_BYTES / row_bytes);
    if (s->band < 1) s->band = 1; /* one output row always fits, however wide */
    if (s->band > s->rows) s->band = s->rows;
    s->col_bytes = (size_t)s->band * row_bytes;
    s->pointwise = 1;
    for (int i = 0; i < 3; i++)
        if (s->w.k[i] != 1 || s->w.s[i] != 1 || s->w.pb[i] || s->w.pe[i]) s->pointwise = 0;
    s->depthwise = s->G > 1 && s->Cg == 1;
    return GCAM_OK;
}

/* ---- instances ------------------------------------------------------------ */

static void key_of(const gcam_opctx *c, const conv_shape *s, conv_key *k)
{
    memset(k, 0, sizeof *k);
    k->N = s->N;
    k->C = s->C;
    k->M = s->M;
    k->G = s->G;
    k->w = s->w;
    k->W = gcam_f32(c->in[1]);
    k->B = c->node->n_in > 2 && c->in[2] ? gcam_f32(c->in[2]) : NULL;
    k->nhwc_in = (c->in[0]->flags & GCAM_TF_NHWC) != 0;
    k->nhwc_out = (c->out[0]->flags & GCAM_TF_NHWC) != 0;
    k->winograd = gcam_setting(c->set, GCAM_OPT_WINOGRAD);
    const gcam_fusion *f = &c->node->fuse;
    if (f->on) {
        k->bn_scale = f->bn_scale;
        k->bn_bias = f->bn_bias;
        k->bn_mean = f->bn_mean;
        k->bn_var = f->bn_var;
        k->bn_eps = f->bn_eps;
        k->act = f->act;
        k->act_lo = f->act_lo;
        k->act_hi = f->act_hi;
        k->has_sum = f->has_sum;
    }
}

static int win_eq(const gcam_win *a, const gcam_win *b)
{
    if (a->nsp != b->nsp) return 0;
    for (int i = 0; i < 3; i++)
        if (a->in[i] != b->in[i] || a->out[i] != b->out[i] || a->k[i] != b->k[i] || a->s[i] != b->s[i] ||
            a->d[i] != b->d[i] || a->pb[i] != b->pb[i] || a->pe[i] != b->pe[i])
            return 0;
    return 1;
}

static int key_eq(const conv_key *a, const conv_key *b)
{
    return a->N == b->N && a->C == b->C && a->M == b->M && a->G == b->G && win_eq(&a->w, &b->w) &&
           a->W == b->W && a->B == b->B && a->bn_scale == b->bn_scale && a->bn_bias == b->bn_bias &&
           a->bn_mean == b->bn_mean && a->bn_var == b->bn_var && a->bn_eps == b->bn_eps &&
           a->act == b->act && a->act_lo == b->act_lo && a->act_hi == b->act_hi && a->has_sum == b->has_sum &&
           a->nhwc_in == b->nhwc_in && a->nhwc_out == b->nhwc_out && a->winograd == b->winograd;
}

static void inst_free(conv_inst *in)
{
    if (!in) return;
    gcam_conv_fast_free(in->fast);
    gcam_free(in->bn_a);
    gcam_free(in->crop_w);
    gcam_free(in);
}

/* Kernel taps that only ever read padding.  A dilated conv whose dilation
 * reaches past the input (DeepLabV3's ASPP rates 24 and 36 on a 14x14 map)
 * computes its outer taps on zeros: for each spatial dim, lo..hi are the taps
 * that touch the input for some output position.  Cropping the kernel to
 * them, with the pads moved along, gives the same output from fewer taps -
 * a 3x3 at rate 36 becomes a 1x1, a GEMM.  Returns 1 when *w was cropped
 * (lo[i] set per padded dim), 0 when every tap is live or the cropped pads
 * would be negative. */
static int crop_dead_taps(gcam_win *w, int64_t lo[3])
{
    int cropped = 0;
    gcam_win c = *w;
    for (int i = 0; i < 3; i++) {
        int64_t first = -1, last = -1;
        for (int64_t t = 0; t < w->k[i]; t++) {
            /* tap t reads input row o s + a for output o; the first output
             * at or past row 0 tells whether any lands inside [0, in) */
            const int64_t a = t * w->d[i] - w->pb[i];
            const int64_t o = a >= 0 ? 0 : (-a + w->s[i] - 1) / w->s[i];
            if (o < w->out[i] && o * w->s[i] + a < w->in[i]) {
                if (first < 0) first = t;
                last = t;
            }
        }
        lo[i] = first < 0 ? 0 : first;
        if (first < 0 || (first == 0 && last == w->k[i] - 1)) continue;
        c.k[i] = last - first + 1;
        c.pb[i] = w->pb[i] - first * w->d[i];
        c.pe[i] = w->pe[i] - (w->k[i] - 1 - last) * w->d[i];
        if (c.pb[i] < 0 || c.pe[i] < 0) return 0;
        cropped = 1;
    }
    if (!cropped) return 0;
    c.k_size = c.k[0] * c.k[1] * c.k[2];
    *w = c;
    return 1;
}

/* W [M, Cg, k...] cut to the taps of the cropped window cw starting at lo. */
static float *crop_weights(const float *W, int64_t M, int64_t Cg, const gcam_win *w, const gcam_win *cw,
                           const int64_t lo[3])
{
    float *out = gcam_malloc(sizeof(float) * (size_t)(M * Cg * cw->k_size));
    if (!out) return NULL;
    float *o = out;
    for (int64_t mc = 0; mc < M * Cg; mc++)
        for (int64_t a = 0; a < cw->k[0]; a++)
            for (int64_t b = 0; b < cw->k[1]; b++)
                for (int64_t t = 0; t < cw->k[2]; t++)
                    *o++ = W[mc * w->k_size + ((lo[0] + a) * w->k[1] + lo[1] + b) * w->k[2] + lo[2] + t];
    return out;
}

static void conv_release(gcam_node *n)
{
    conv_params *p = n->params;
    if (p) {
        for (conv_inst *in = p->inst, *nx; in; in = nx) {
            nx = in->next;
            inst_free(in);
        }
    }
    gcam_free(p);
    n->params = NULL;
}

/* The conv-verbose setting: one line on stderr per conv instance built, with
 * the implementation chosen and the time it took (primitive creation, JIT,
 * weights reorder). */
static int verbose(const gcam_opctx *c) { return gcam_setting(c->set, GCAM_OPT_CONV_VERBOSE); }

/* Whether convs planned under these settings may take oneDNN's kernels. */
static int fast_allowed(const gcam_opctx *c)
{
    return gcam_conv_fast_available() && !gcam_setting(c->set, GCAM_OPT_CONV_REFERENCE);
}

/* Builds an instance: the oneDNN primitive when it takes this conv, else the
 * reference kernels (with the epilogue's BN factor precomputed). */
static int inst_new(gcam_opctx *c, const conv_key *k, int with_bwd, conv_inst **out)
{
    conv_inst *in = gcam_calloc(1, sizeof *in);
    if (!in) return gcam_node_errf(c, GCAM_E_NOMEM, "out of memory");
    in->key = *k;
    const int64_t M = k->M;
    float *a = NULL, *bias = NULL;
    if (k->bn_scale) {
        a = gcam_malloc(sizeof(float) * (size_t)M);
        bias = gcam_malloc(sizeof(float) * (size_t)M);
        if (!a || !bias) {
            gcam_free(a);
            gcam_free(bias);
            gcam_free(in);
            return gcam_node_errf(c, GCAM_E_NOMEM, "out of memory");
        }
        /* a as BatchNormalization computes it; the folded bias in double:
         * (b - mean) * a + beta, with b the conv's own bias */
        for (int64_t m = 0; m < M; m++) {
            a[m] = k->bn_scale[m] / sqrtf(k->bn_var[m] + k->bn_eps);
            double b = k->B ? k->B[m] : 0.0;
            bias[m] = (float)((b - k->bn_mean[m]) * a[m] + k->bn_bias[m]);
        }
    }
    gcam_conv_geom geom = {.N = k->N, .C = k->C, .M = k->M, .G = k->G, .w = k->w,
                           .nhwc_in = k->nhwc_in, .nhwc_out = k->nhwc_out, .winograd = k->winograd};
    const float *W = k->W;
    int64_t lo[3];
    if (fast_allowed(c) && crop_dead_taps(&geom.w, lo)) {
        if (!(in->crop_w = crop_weights(k->W, M, k->C / k->G, &k->w, &geom.w, lo))) {
            gcam_free(a);
            gcam_free(bias);
            gcam_free(in);
            return gcam_node_errf(c, GCAM_E_NOMEM, "out of memory");
        }
        W = in->crop_w;
    }
    gcam_conv_epi epi = {.wscale = a, .bias = a ? bias : k->B, .act = k->act, .lo = k->act_lo, .hi = k->act_hi,
                         .sum = k->has_sum};
    char why[256] = "the conv-reference setting";
    int rc = fast_allowed(c) ? gcam_conv_fast_new(&geom, W, &epi, with_bwd, &in->fast, why, sizeof why)
                             : GCAM_E_UNSUPPORTED;
    gcam_free(bias);
    if (rc == GCAM_E_NOMEM) {
        gcam_free(a);
        gcam_free(in->crop_w);
        gcam_free(in);
        return gcam_node_errf(c, rc, "out of memory building the convolution: %s", why);
    }
    in->bn_a = a; /* used by the reference path only, but cheap to keep */
    *out = in;
    return GCAM_OK;
}

/* The instance for the node's current shape and epilogue, built if missing
 * (create = 0: NULL when missing).  NULL with GCAM_OK when W is not constant:
 * then only the reference kernels apply. */
static int inst_get(gcam_opctx *c, const conv_shape *s, int create, int with_bwd, conv_inst **out)
{
    *out = NULL;
    conv_params *p = c->node->params;
    const gcam_tensor *wt = c->in[1], *b = c->node->n_in > 2 ? c->in[2] : NULL;
    if (!(wt->flags & GCAM_TF_CONST) || !wt->data || (b && !(b->flags & GCAM_TF_CONST))) return GCAM_OK;
    conv_key k;
    key_of(c, s, &k);
    conv_inst **pp = &p->inst;
    for (; *pp; pp = &(*pp)->next)
        if (key_eq(&(*pp)->key, &k)) break;
    conv_inst *in = *pp;
    if (in && with_bwd && in->fast && !gcam_conv_fast_has_bwd(in->fast)) {
        /* planned forward-only before: rebuild with the backward primitive */
        *pp = in->next;
        inst_free(in);
        p->n_inst--;
        in = NULL;
    }
    if (!in) {
        if (!create) return GCAM_OK;
        double t0 = gcam_now_ms();
        int rc = inst_new(c, &k, with_bwd, &in);
        if (rc) return rc;
        if (verbose(c))
            fprintf(stderr, "gcam conv: '%s' %lldx%lldx%lldx%lld -> %lld, group %lld, kernel %lldx%lld, %s -> %s: %s%s%s%s%s, %.2f ms\n",
                    c->node->name, (long long)k.N, (long long)k.C, (long long)k.w.in[1], (long long)k.w.in[2],
                    (long long)k.M, (long long)k.G, (long long)k.w.k[1], (long long)k.w.k[2],
                    k.nhwc_in ? "nhwc" : "nchw", k.nhwc_out ? "nhwc" : "nchw",
                    in->fast ? gcam_conv_fast_impl(in->fast) : "reference", k.bn_scale ? " +bn" : "",
                    k.has_sum ? " +sum" : "", k.act ? " +act" : "", in->crop_w ? " (dead taps cropped)" : "",
                    gcam_now_ms() - t0);
        if (p->n_inst == CONV_MAX_INST) { /* drop the least recently used */
            conv_inst **lru = &p->inst;
            for (conv_inst **q = &p->inst; *q; q = &(*q)->next)
                if ((*q)->used < (*lru)->used) lru = q;
            conv_inst *old = *lru;
            *lru = old->next;
            inst_free(old);
            p->n_inst--;
        }
        in->next = p->inst;
        p->inst = in;
        p->n_inst++;
    }
    in->used = ++p->clock;
    *out = in;
    return GCAM_OK;
}

/* Reference epilogue, in place on y: the exact arithmetic of the
 * BatchNormalization op, the residual Add (res, or NULL), then of the
 * activation op(s). */
static void apply_epilogue(const conv_inst *in, const conv_shape *s, float *y, const float *res, int nt)
{
    const conv_key *k = &in->key;
    if (!k->bn_scale && !k->act && !res) return;
    const int64_t planes = s->N * s->M, osz = s->w.out_size;
#pragma omp parallel for num_threads(nt) if (planes * osz > CONV_PAR_MIN) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t m = pl % s->M;
        float *yp = y + pl * osz;
        if (k->bn_scale) {
            const float a = in->bn_a[m], mean = k->bn_mean[m], beta = k->bn_bias[m];
            for (int64_t i = 0; i < osz; i++) yp[i] = (yp[i] - mean) * a + beta;
        }
        if (res) {
            const float *rp = res + pl * osz;
            for (int64_t i = 0; i < osz; i++) yp[i] = yp[i] + rp[i];
        }
        switch (k->act) {
        case GCAM_ACT_RELU:
            for (int64_t i = 0; i < osz; i++) yp[i] = yp[i] < 0.0f ? 0.0f : yp[i];
            break;
        case GCAM_ACT_CLIP:
            for (int64_t i = 0; i < osz; i++) {
                float v = yp[i] < k->act_lo ? k->act_lo : yp[i];
                yp[i] = v > k->act_hi ? k->act_hi : v;
            }
            break;
        case GCAM_ACT_HARDSWISH:
            for (int64_t i = 0; i < osz; i++) {
                float x = yp[i], v = x * (1.0f / 6.0f) + 0.5f;
                yp[i] = x * (v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v);
            }
            break;
        case GCAM_ACT_SWISH:
            for (int64_t i = 0; i < osz; i++) yp[i] = yp[i] * (1.0f / (1.0f + expf(-yp[i])));
            break;
        default:
            break;
        }
    }
}

/* Backward-data through oneDNN only when this conv runs backward on this
 * plan (the plan request says so); elsewhere it would cost a second weights
 * copy for nothing. */
static int wants_bwd(const gcam_opctx *c) { return c->needs_backward && !c->node->fuse.on; }

static int conv_infer(gcam_opctx *c)
{
    conv_shape s;
    int rc = conv_shape_of(c, &s);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = c->in[0]->ndim;
    y->dims[0] = s.N;
    y->dims[1] = s.M;
    for (int i = 0; i < s.w.nsp; i++) y->dims[2 + i] = s.w.out[3 - s.w.nsp + i];
    int w_const = (c->in[1]->flags & GCAM_TF_CONST) != 0;
    c->node->scratch = s.pointwise || s.depthwise ? 0 : s.col_bytes;
    /* backward needs a column buffer for dX (GEMM path) or for dW when W is an activation */
    c->node->bscratch = s.pointwise || (s.depthwise && w_const) ? 0 : s.col_bytes;
    const gcam_tensor *b = c->node->n_in > 2 ? c->in[2] : NULL;
    c->nhwc_ok = 0;
    if (c->defer) {
        /* what inst_get will find: an instance, fast unless oneDNN has
         * nothing but reference code (the planner then asks again) */
        int ok = fast_allowed(c) && c->in[0]->ndim == 4 && !(c->in[0]->flags & GCAM_TF_CONST) &&
                 w_const && c->in[1]->data && (!b || (b->flags & GCAM_TF_CONST));
        c->nhwc_ok = ok ? GCAM_NHWC_FREE : GCAM_NHWC_NO;
        return GCAM_OK;
    }
    /* all-constant convs are folded once: not worth a primitive */
    if (!(c->in[0]->flags & GCAM_TF_CONST)) {
        conv_inst *in;
        if ((rc = inst_get(c, &s, 1, wants_bwd(c), &in))) return rc;
        c->nhwc_ok = in && in->fast && c->in[0]->ndim == 4 ? GCAM_NHWC_FREE : GCAM_NHWC_NO;
        if (in && in->fast) {
            c->node->scratch = gcam_conv_fast_scratch(in->fast);
            /* keep room for the reference kernels too: they take over if the
             * instance is ever evicted between plan and backward */
            size_t bs = gcam_conv_fast_bscratch(in->fast);
            if (bs > c->node->bscratch) c->node->bscratch = bs;
        }
    }
    return GCAM_OK;
}

/* Depthwise forward: y[n, m] = b[m] + sum over taps w[m, t] * shifted x[n, m / Mg]. */
static void depthwise_forward(const conv_shape *s, const float *x, const float *wt,
                              const float *b, float *y, int nt)
{
    const gcam_win *w = &s->w;
    const int64_t planes = s->N * s->M;
    const int64_t O1 = w->out[1], O2 = w->out[2], I1 = w->in[1], I2 = w->in[2];
#pragma omp parallel for num_threads(nt) if (planes * w->out_size * w->k_size > CONV_PAR_MIN) \
    schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t n = pl / s->M, m = pl % s->M, ci = m / s->Mg;
        const float *xc = x + (n * s->C + ci) * w->in_size;
        const float *wm = wt + m * w->k_size;
        float *yp = y + pl * w->out_size;
        const float bv = b ? b[m] : 0.0f;
        for (int64_t i = 0; i < w->out_size; i++) yp[i] = bv;
        for (int64_t t = 0; t < w->k_size; t++) {
            gcam_win_tap p;
            gcam_win_tap_of(w, t, &p);
            const float wv = wm[t];
            const int64_t w0 = p.o0[2], s2 = w->s[2];
            for (int64_t od = p.lo[0]; od < p.hi[0]; od++) {
                const int64_t id = p.o0[0] + od * w->s[0];
                for (int64_t oh = p.lo[1]; oh < p.hi[1]; oh++) {
                    const float *xr = xc + (id * I1 + p.o0[1] + oh * w->s[1]) * I2;
                    float *yr = yp + (od * O1 + oh) * O2;
                    if (s2 == 1) {
                        for (int64_t ow = p.lo[2]; ow < p.hi[2]; ow++) yr[ow] += wv * xr[w0 + ow];
                    } else {
                        for (int64_t ow = p.lo[2]; ow < p.hi[2]; ow++)
                            yr[ow] += wv * xr[w0 + ow * s2];
                    }
                }
            }
        }
    }
}

/* Depthwise backward-data: dx[n, c] += sum over the Mg outputs of channel c,
 * over taps, w[m, t] * dy[n, m] placed back at the input positions it read. */
static void depthwise_backward(const conv_shape *s, const float *wt, const float *dy, float *dx,
                               int nt)
{
    const gcam_win *w = &s->w;
    const int64_t planes = s->N * s->C;
    const int64_t O1 = w->out[1], O2 = w->out[2], I1 = w->in[1], I2 = w->in[2];
#pragma omp parallel for num_threads(nt) \
    if (planes * s->Mg * w->out_size * w->k_size > CONV_PAR_MIN) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t n = pl / s->C, ci = pl % s->C;
        float *dxc = dx + pl * w->in_size;
        for (int64_t j = 0; j < s->Mg; j++) {
            const int64_t m = ci * s->Mg + j;
            const float *dyp = dy + (n * s->M + m) * w->out_size;
            const float *wm = wt + m * w->k_size;
            for (int64_t t = 0; t < w->k_size; t++) {
                gcam_win_tap p;
                gcam_win_tap_of(w, t, &p);
                const float wv = wm[t];
                const int64_t w0 = p.o0[2], s2 = w->s[2];
                for (int64_t od = p.lo[0]; od < p.hi[0]; od++) {
                    const int64_t id = p.o0[0] + od * w->s[0];
                    for (int64_t oh = p.lo[1]; oh < p.hi[1]; oh++) {
                        float *xr = dxc + (id * I1 + p.o0[1] + oh * w->s[1]) * I2;
                        const float *yr = dyp + (od * O1 + oh) * O2;
                        if (s2 == 1) {
                            for (int64_t ow = p.lo[2]; ow < p.hi[2]; ow++) xr[w0 + ow] += wv * yr[ow];
                        } else {
                            for (int64_t ow = p.lo[2]; ow < p.hi[2]; ow++)
                                xr[w0 + ow * s2] += wv * yr[ow];
                        }
                    }
                }
            }
        }
    }
}

static int conv_forward(gcam_opctx *c)
{
    conv_shape s;
    int rc = conv_shape_of(c, &s);
    if (rc) return rc;
    const float *x = gcam_f32(c->in[0]), *wt = gcam_f32(c->in[1]);
    const float *b = c->node->n_in > 2 && c->in[2] ? gcam_f32(c->in[2]) : NULL;
    float *y = gcam_f32(c->out[0]);
    const int nt = gcam_op_threads(c);
    const int64_t isz = s.w.in_size, osz = s.w.out_size;
    conv_inst *in = NULL;
    if (!(c->in[0]->flags & GCAM_TF_CONST) && (rc = inst_get(c, &s, 1, 0, &in))) return rc;
    /* a fused residual Add: the planner binds its other operand past our inputs */
    const float *res = c->node->fuse.on && c->node->fuse.has_sum ? gcam_f32(c->in[c->node->n_in]) : NULL;
    const int nhwc = (c->in[0]->flags | c->out[0]->flags) & GCAM_TF_NHWC;
    if (nhwc && !(in && in->fast))
        return gcam_node_errf(c, GCAM_E_INTERNAL, "NHWC tensors planned for a conv without a fast path");
    if (in && in->fast) {
        if (c->node->scratch < gcam_conv_fast_scratch(in->fast))
            return gcam_node_errf(c, GCAM_E_INTERNAL, "scratch buffer too small for the oneDNN path");
        if (gcam_conv_fast_forward(in->fast, x, y, res, c->scratch))
            return gcam_node_errf(c, GCAM_E_INTERNAL, "oneDNN convolution (%s) failed", gcam_conv_fast_impl(in->fast));
        return GCAM_OK;
    }
    if (c->node->fuse.on && !in)
        return gcam_node_errf(c, GCAM_E_INTERNAL, "fused epilogue without a conv instance");
    if (s.depthwise) {
        depthwise_forward(&s, x, wt, b, y, nt);
        if (in) apply_epilogue(in, &s, y, res, nt);
        return GCAM_OK;
    }
    float *col = c->scratch;
    if (!s.pointwise && (!col || c->node->scratch < s.col_bytes))
        return gcam_node_errf(c, GCAM_E_INTERNAL, "scratch buffer missing");
    for (int64_t n = 0; n < s.N; n++) {
        for (int64_t g = 0; g < s.G; g++) {
            const float *xg = x + (n * s.C + g * s.Cg) * isz;
            float *yg = y + (n * s.M + g * s.Mg) * osz;
            float beta = 0.0f;
            if (b) {
                /* start from the bias and let the GEMM accumulate onto it */
                for (int64_t m = 0; m < s.Mg; m++) {
                    float *yr = yg + m * osz;
                    const float bv = b[g * s.Mg + m];
                    for (int64_t i = 0; i < osz; i++) yr[i] = bv;
                }
                beta = 1.0f;
            }
            const float *wg = wt + g * s.Mg * s.ck;
            if (s.pointwise) {
                gcam_sgemm(0, 0, s.Mg, osz, s.ck, 1.0f, wg, s.ck, xg, osz, beta, yg, osz);
                continue;
            }
            for (int64_t r0 = 0; r0 < s.rows; r0 += s.band) {
                const int64_t nr = r0 + s.band <= s.rows ? s.band : s.rows - r0;
                const int64_t ncol = nr * s.w.out[2];
                gcam_im2col(xg, s.Cg, &s.w, r0, nr, col, nt);
                /* the band's outputs are columns [r0 * OW, ...) of every output channel */
                gcam_sgemm(0, 0, s.Mg, ncol, s.ck, 1.0f, wg, s.ck, col, ncol, beta,
                           yg + r0 * s.w.out[2], osz);
            }
        }
    }
    if (in) apply_epilogue(in, &s, y, res, nt);
    return GCAM_OK;
}

static int conv_backward(gcam_opctx *c)
{
    if (!c->dout[0]) return GCAM_OK;
    conv_shape s;
    int rc = conv_shape_of(c, &s);
    if (rc) return rc;
    /* the planner never stores NHWC what the backward pass reads */
    if ((c->in[0]->flags | c->out[0]->flags) & GCAM_TF_NHWC)
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a convolution planned NHWC");
    const float *x = gcam_f32(c->in[0]), *wt = gcam_f32(c->in[1]), *dy = gcam_f32(c->dout[0]);
    gcam_tensor *dxt = c->din[0];
    gcam_tensor *dwt = c->node->n_in > 1 ? c->din[1] : NULL;
    gcam_tensor *dbt = c->node->n_in > 2 && c->in[2] ? c->din[2] : NULL;
    const int nt = gcam_op_threads(c);
    const int64_t isz = s.w.in_size, osz = s.w.out_size;
    float *col = c->scratch;

    conv_inst *in = NULL;
    if (dxt && !(c->in[0]->flags & GCAM_TF_CONST) && (rc = inst_get(c, &s, 0, 0, &in))) return rc;
    if (in && (in->key.bn_scale || in->key.act || in->key.has_sum))
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a fused convolution");
    if (dxt && in && gcam_conv_fast_has_bwd(in->fast) &&
        c->node->bscratch >= gcam_conv_fast_bscratch(in->fast)) {
        if (gcam_conv_fast_backward_data(in->fast, dy, gcam_f32(dxt), c->scratch))
            return gcam_node_errf(c, GCAM_E_INTERNAL, "oneDNN backward-data (%s) failed",
                                  gcam_conv_fast_impl(in->fast));
        dxt = NULL; /* done */
    }
    int need_col = !s.pointwise && ((dxt && !s.depthwise) || dwt);
    if (need_col && (!col || c->node->bscratch < s.col_bytes))
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward scratch buffer missing");
    if (dxt) {
        float *dx = gcam_f32(dxt);
        if (s.depthwise) {
            depthwise_backward(&s, wt, dy, dx, nt);
        } else {
            for (int64_t n = 0; n < s.N; n++) {
                for (int64_t g = 0; g < s.G; g++) {
                    const float *dyg = dy + (n * s.M + g * s.Mg) * osz;
                    const float *wg = wt + g * s.Mg * s.ck;
                    float *dxg = dx + (n * s.C + g * s.Cg) * isz;
                    if (s.pointwise) {
                        /* dX is already in column layout: accumulate straight into it */
                        gcam_sgemm(1, 0, s.Cg, osz, s.Mg, 1.0f, wg, s.ck, dyg, osz, 1.0f, dxg, osz);
                        continue;
                    }
                    for (int64_t r0 = 0; r0 < s.rows; r0 += s.band) {
                        const int64_t nr = r0 + s.band <= s.rows ? s.band : s.rows - r0;
                        const int64_t ncol = nr * s.w.out[2];
                        gcam_sgemm(1, 0, s.ck, ncol, s.Mg, 1.0f, wg, s.ck, dyg + r0 * s.w.out[2], osz,
                                   0.0f, col, ncol);
                        gcam_col2im_add(col, s.Cg, &s.w, r0, nr, dxg, nt);
                    }
                }
            }
        }
    }
    if (dwt) {
        float *dw = gcam_f32(dwt);
        for (int64_t n = 0; n < s.N; n++) {
            for (int64_t g = 0; g < s.G; g++) {
                const float *xg = x + (n * s.C + g * s.Cg) * isz;
                const float *dyg = dy + (n * s.M + g * s.Mg) * osz;
                float *dwg = dw + g * s.Mg * s.ck;
                if (s.pointwise) {
                    gcam_sgemm(0, 1, s.Mg, s.ck, osz, 1.0f, dyg, osz, xg, osz, 1.0f, dwg, s.ck);
                    continue;
                }
                for (int64_t r0 = 0; r0 < s.rows; r0 += s.band) {
                    const int64_t nr = r0 + s.band <= s.rows ? s.band : s.rows - r0;
                    const int64_t ncol = nr * s.w.out[2];
                    gcam_im2col(xg, s.Cg, &s.w, r0, nr, col, nt);
                    gcam_sgemm(0, 1, s.Mg, s.ck, ncol, 1.0f, dyg + r0 * s.w.out[2], osz, col, ncol,
                               1.0f, dwg, s.ck);
                }
            }
        }
    }
    if (dbt) {
        float *db = gcam_f32(dbt);
        for (int64_t n = 0; n < s.N; n++) {
            for (int64_t m = 0; m < s.M; m++) {
                const float *dyr = dy + (n * s.M + m) * osz;
                double acc = 0.0;
                for (int64_t i = 0; i < osz; i++) acc += dyr[i];
                db[m] += (float)acc;
            }
        }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Conv = {
    .op_type = "Conv", .since = 1, .required = 2,
    .flags = GCAM_OPF_EPILOGUE | GCAM_OPF_LAYOUT,
    .init = conv_init,
    .release = conv_release,
    .infer = conv_infer,
    .forward = conv_forward,
    .backward = conv_backward,
};
