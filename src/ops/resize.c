/* Resize (opsets 10..19): nearest and linear interpolation over any axes.
 *
 * Output sizes come from the constant scales input (out = floor(in * scale))
 * or the constant sizes input (scale = out / in, or one common scale with
 * keep_aspect_ratio_policy, opset 18); axes (opset 18) limits both to some
 * axes.  Sampling positions and weights are those of src/kernels/resize.h,
 * which the Grad-CAM upsampling shares.
 *
 * Both modes are separable, so the op is a chain of 1-D passes, one per axis
 * that actually changes, from the last axis to the first (the order of the
 * ONNX reference); intermediates live in scratch.  Backward runs the
 * transposed passes in reverse order: each output gradient is scattered back
 * with the forward weights (linear) or to its source element (nearest).
 *
 * Cubic (Keys' kernel with cubic_coeff_a, exclude_outside renormalising
 * the taps that fall outside) reads 4 taps per output, edge-clamped.
 * Upsample (opsets 7-9, deprecated in 10) is Resize with asymmetric
 * coordinates and floor rounding, scales from its attribute (7) or input 1.
 *
 * tf_crop_and_resize samples the constant roi box (normalised start and
 * end per axis); an output whose coordinate falls outside the input gets
 * extrapolation_value, pass by pass as the reference recursion does.
 *
 * Not supported: antialias when an axis shrinks, and linear/cubic on
 * non-float data.  Nearest works for any element type. */
#include <math.h>
#include <stdlib.h>

#include "gcam_internal.h"
#include "kernels/dtype.h"
#include "kernels/resize.h"

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };

/* cubic: four taps per output */
typedef struct rs_tap4 {
    int64_t i[4];
    float w[4];
} rs_tap4;
enum { KEEP_STRETCH, KEEP_NOT_LARGER, KEEP_NOT_SMALLER };

typedef struct resize_params {
    int mode, coord, nearest, antialias, keep;
    int crop;     /* tf_crop_and_resize */
    float extrap; /* its value outside the box */
    int naxes; /* -1: scales/sizes cover every axis */
    int64_t axes[GCAM_MAX_DIMS];
    float cubic_a;
    int exclude_outside;
    int n_attr_scales; /* Upsample-7: scales attribute */
    float attr_scales[GCAM_MAX_DIMS];
} resize_params;

typedef struct rs_plan {
    int nd;
    int64_t in[GCAM_MAX_DIMS], out[GCAM_MAX_DIMS];
    double scale[GCAM_MAX_DIMS];
    double roi_lo[GCAM_MAX_DIMS], roi_hi[GCAM_MAX_DIMS]; /* tf_crop_and_resize box per axis */
    int npass;
    int pass_axis[GCAM_MAX_DIMS]; /* axes that change, last axis first */
    size_t tab_off[GCAM_MAX_DIMS];
    size_t tab_bytes, buf_bytes; /* scratch = tables + 2 intermediate buffers */
} rs_plan;

static int node_err(gcam_node *n, gcam_err *e, int code, const char *what, const char *val)
{
    return gcam_errf(e, code, "node '%s' (%s): %s '%s' not supported", n->name ? n->name : "", n->op_type, what, val);
}

static int resize_init(gcam_node *n, gcam_err *e)
{
    resize_params p = {.mode = RS_NEAREST, .coord = GCAM_COORD_HALF_PIXEL, .naxes = -1};
    const char *s = gcam_attr_str(n, "mode", "nearest");
    if (!strcmp(s, "nearest")) p.mode = RS_NEAREST;
    else if (!strcmp(s, "linear") || !strcmp(s, "bilinear")) p.mode = RS_LINEAR;
    else if (!strcmp(s, "cubic")) p.mode = RS_CUBIC;
    else return node_err(n, e, GCAM_E_UNSUPPORTED, "mode", s);
    p.cubic_a = gcam_attr_float(n, "cubic_coeff_a", -0.75f);
    p.extrap = gcam_attr_float(n, "extrapolation_value", 0.0f);
    p.exclude_outside = gcam_attr_int(n, "exclude_outside", 0) != 0;

    if (!strcmp(n->op_type, "Upsample")) {
        p.coord = GCAM_COORD_ASYMMETRIC;
        p.nearest = GCAM_NEAREST_FLOOR;
        const gcam_attr *sa = gcam_attr_find(n, "scales");
        if (n->opset < 9) {
            if (!sa || sa->type != GCAM_ATTR_FLOATS || sa->n > GCAM_MAX_DIMS)
                return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (Upsample): scales attribute missing", n->name ? n->name : "");
            p.n_attr_scales = sa->n;
            memcpy(p.attr_scales, sa->floats, sizeof(float) * (size_t)sa->n);
        }
    } else if (n->opset < 11) {
        /* Resize-10 had no attributes for these; onnxruntime's behaviour */
        p.coord = GCAM_COORD_ASYMMETRIC;
        p.nearest = GCAM_NEAREST_SIMPLE;
    } else {
        s = gcam_attr_str(n, "coordinate_transformation_mode", "half_pixel");
        if (!strcmp(s, "half_pixel")) p.coord = GCAM_COORD_HALF_PIXEL;
        else if (!strcmp(s, "align_corners")) p.coord = GCAM_COORD_ALIGN_CORNERS;
        else if (!strcmp(s, "asymmetric")) p.coord = GCAM_COORD_ASYMMETRIC;
        else if (!strcmp(s, "pytorch_half_pixel")) p.coord = GCAM_COORD_PYTORCH_HALF_PIXEL;
        else if (!strcmp(s, "tf_half_pixel_for_nn")) p.coord = GCAM_COORD_TF_HALF_PIXEL_FOR_NN;
        else if (!strcmp(s, "half_pixel_symmetric")) p.coord = GCAM_COORD_HALF_PIXEL_SYMMETRIC;
        else if (!strcmp(s, "tf_crop_and_resize")) p.crop = 1;
        else return node_err(n, e, GCAM_E_UNSUPPORTED, "coordinate_transformation_mode", s);

        s = gcam_attr_str(n, "nearest_mode", "round_prefer_floor");
        if (!strcmp(s, "round_prefer_floor")) p.nearest = GCAM_NEAREST_ROUND_PREFER_FLOOR;
        else if (!strcmp(s, "round_prefer_ceil")) p.nearest = GCAM_NEAREST_ROUND_PREFER_CEIL;
        else if (!strcmp(s, "floor")) p.nearest = GCAM_NEAREST_FLOOR;
        else if (!strcmp(s, "ceil")) p.nearest = GCAM_NEAREST_CEIL;
        else return node_err(n, e, GCAM_E_UNSUPPORTED, "nearest_mode", s);
    }
    s = gcam_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    if (!strcmp(s, "stretch")) p.keep = KEEP_STRETCH;
    else if (!strcmp(s, "not_larger")) p.keep = KEEP_NOT_LARGER;
    else if (!strcmp(s, "not_smaller")) p.keep = KEEP_NOT_SMALLER;
    else return node_err(n, e, GCAM_E_UNSUPPORTED, "keep_aspect_ratio_policy", s);
    p.antialias = gcam_attr_int(n, "antialias", 0) != 0;
    int na = gcam_attr_ints(n, "axes", p.axes, GCAM_MAX_DIMS);
    if (na > GCAM_MAX_DIMS)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (Resize): more axes than dims", n->name ? n->name : "");
    p.naxes = na;

    resize_params *q = gcam_malloc(sizeof *q);
    if (!q) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    *q = p;
    n->params = q;
    return GCAM_OK;
}

static const gcam_tensor *opt_in(gcam_opctx *c, int i)
{
    return c->node->n_in > i && c->in[i] && gcam_numel(c->in[i]) > 0 ? c->in[i] : NULL;
}

static int is_identity(const resize_params *p, int64_t in, int64_t out, double scale)
{
    if (in != out || p->crop) return 0;
    for (int64_t j = 0; j < out; j++) {
        if (p->mode == RS_NEAREST) {
            if (gcam_resize_nearest_index(p->coord, p->nearest, j, scale, in, out) != j) return 0;
        } else if (p->mode == RS_CUBIC) {
            if (gcam_resize_coord(p->coord, j, scale, in, out) != (double)j) return 0;
        } else {
            gcam_lerp_tap t = gcam_resize_linear_tap(p->coord, j, scale, in, out);
            if (t.i0 != j || t.w1 != 0.0f) return 0;
        }
    }
    return 1;
}

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* tf_crop_and_resize's box per axis from the constant roi input
 * (starts, then ends, for the resized axes); [0, 1] elsewhere */
static int crop_box(gcam_opctx *c, rs_plan *pl, const int64_t *axes, int na)
{
    const resize_params *p = c->node->params;
    for (int d = 0; d < pl->nd; d++) {
        pl->roi_lo[d] = 0;
        pl->roi_hi[d] = 1;
    }
    if (!p->crop) return GCAM_OK;
    const gcam_tensor *roi = opt_in(c, 1);
    if (!roi || !(roi->flags & GCAM_TF_CONST) || !roi->data || roi->dtype != GCAM_DT_F32 || gcam_numel(roi) != 2 * na)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "tf_crop_and_resize needs a constant float roi of %d values", 2 * na);
    for (int i = 0; i < na; i++) {
        pl->roi_lo[axes[i]] = gcam_f32(roi)[i];
        pl->roi_hi[axes[i]] = gcam_f32(roi)[na + i];
    }
    return GCAM_OK;
}

static int plan(gcam_opctx *c, rs_plan *pl)
{
    int rc;
    const resize_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    int r = x->ndim;
    if (r < 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "input is a scalar");
    int64_t axes[GCAM_MAX_DIMS];
    int na = p->naxes >= 0 ? p->naxes : r;
    int seen[GCAM_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        int64_t a = p->naxes >= 0 ? p->axes[i] : i;
        if (a < -r || a >= r)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)a, r);
        if (a < 0) a += r;
        if (seen[a]) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis %lld repeated", (long long)a);
        seen[a] = 1;
        axes[i] = a;
    }
    pl->nd = r;
    for (int d = 0; d < r; d++) {
        pl->in[d] = pl->out[d] = x->dims[d];
        pl->scale[d] = 1.0;
    }
    gcam_tensor attr_scales = {.dtype = GCAM_DT_F32, .ndim = 1, .dims = {p->n_attr_scales},
                               .data = (void *)p->attr_scales, .flags = GCAM_TF_CONST};
    const int legacy = c->node->opset < 11 || !strcmp(c->node->op_type, "Upsample");
    const gcam_tensor *scales = p->n_attr_scales ? &attr_scales : opt_in(c, legacy ? 1 : 2);
    const gcam_tensor *sizes = legacy ? NULL : opt_in(c, 3);
    if (scales && sizes) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "both scales and sizes given");
    if (!scales && !sizes) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "neither scales nor sizes given");
    const gcam_tensor *given = scales ? scales : sizes;
    const char *what = scales ? "scales" : "sizes";
    if (!(given->flags & GCAM_TF_CONST) || !given->data)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic %s not supported", what);
    if (gcam_numel(given) != na)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "%s has %lld entries for %d axes", what,
                              (long long)gcam_numel(given), na);
    if (scales) {
        if (scales->dtype != GCAM_DT_F32)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "scales must be float, got %s",
                                  gcam_dtype_name(scales->dtype));
        for (int i = 0; i < na; i++) {
            double s = gcam_f32(scales)[i];
            int64_t a = axes[i];
            if (!(s > 0.0) || !isfinite(s) || s * (double)pl->in[a] > 1e15)
                return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "scale %g on axis %lld is invalid", s, (long long)a);
            pl->scale[a] = s;
            pl->out[a] = (int64_t)floor(s * (double)pl->in[a]);
        }
    } else {
        if (sizes->dtype != GCAM_DT_I64)
            return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "sizes must be int64, got %s",
                                  gcam_dtype_name(sizes->dtype));
        double common = p->keep == KEEP_NOT_LARGER ? INFINITY : 0.0;
        for (int i = 0; i < na; i++) {
            int64_t s = gcam_i64(sizes)[i], a = axes[i];
            if (s < 0 || s > ((int64_t)1 << 40))
                return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "size %lld on axis %lld is invalid", (long long)s,
                                      (long long)a);
            if (pl->in[a] == 0) {
                if (s != 0)
                    return gcam_node_errf(c, GCAM_E_SHAPE, "cannot resize empty axis %lld to %lld", (long long)a,
                                          (long long)s);
                continue;
            }
            double sc = (double)s / (double)pl->in[a];
            pl->scale[a] = sc;
            pl->out[a] = s;
            if (p->keep == KEEP_NOT_LARGER) common = fmin(common, sc);
            if (p->keep == KEEP_NOT_SMALLER) common = fmax(common, sc);
        }
        if (p->keep != KEEP_STRETCH)
            for (int i = 0; i < na; i++) {
                int64_t a = axes[i];
                if (pl->in[a] == 0) continue;
                pl->scale[a] = common;
                double o = floor(common * (double)pl->in[a] + 0.5);
                if (!(o <= 1e15)) /* also before the cast: a double beyond int64 is undefined */
                    return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "output size %g on axis %lld is invalid", o, (long long)a);
                pl->out[a] = (int64_t)o;
            }
    }
    if ((rc = crop_box(c, pl, axes, na))) return rc;
    if (p->antialias && p->mode == RS_LINEAR)
        for (int d = 0; d < r; d++)
            if (pl->out[d] < pl->in[d])
                return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "antialias when downsampling not supported");

    /* passes over the axes that change, last axis first; scratch layout */
    size_t es = gcam_dtype_size(x->dtype);
    int64_t cur[GCAM_MAX_DIMS];
    memcpy(cur, pl->in, sizeof cur);
    pl->npass = 0;
    pl->tab_bytes = 0;
    pl->buf_bytes = 0;
    for (int d = r - 1; d >= 0; d--)
        if (!is_identity(p, pl->in[d], pl->out[d], pl->scale[d])) pl->pass_axis[pl->npass++] = d;
    for (int k = 0; k < pl->npass; k++) {
        int d = pl->pass_axis[k];
        pl->tab_off[k] = pl->tab_bytes;
        pl->tab_bytes += (size_t)pl->out[d] * (p->mode == RS_CUBIC ? sizeof(rs_tap4) : sizeof(gcam_lerp_tap));
        cur[d] = pl->out[d];
        int64_t numel = gcam_dims_numel_checked(cur, r);
        if (numel < 0 || (uint64_t)numel > (SIZE_MAX / 4) / es || (uint64_t)pl->out[d] > (SIZE_MAX / 4) / sizeof(gcam_lerp_tap))
            return gcam_node_errf(c, GCAM_E_SHAPE, "output too large");
        if (k < pl->npass - 1) { /* the result of every pass but the last is an intermediate */
            size_t b = (size_t)numel * es;
            if (b > pl->buf_bytes) pl->buf_bytes = b;
        }
    }
    pl->tab_bytes = align64(pl->tab_bytes);
    pl->buf_bytes = align64(pl->buf_bytes);
    return GCAM_OK;
}

static int resize_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const resize_params *p = c->node->params;
    if (!gcam_dtype_size(x->dtype))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(x->dtype));
    if (p->mode != RS_NEAREST && x->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "%s resize of %s not supported", p->mode == RS_LINEAR ? "linear" : "cubic",
                              gcam_dtype_name(x->dtype));
    rs_plan pl;
    int rc = plan(c, &pl);
    if (rc) return rc;
    y->dtype = x->dtype;
    y->ndim = pl.nd;
    memcpy(y->dims, pl.out, sizeof pl.out);
    if (gcam_tensor_bytes(y) == SIZE_MAX) return gcam_node_errf(c, GCAM_E_SHAPE, "output too large");
    c->node->scratch = c->node->bscratch = pl.tab_bytes + 2 * pl.buf_bytes;
    return GCAM_OK;
}

/* Keys' cubic taps of output x: offsets -1..2 around floor(x'), clamped to
 * the edge; with exclude_outside the taps outside get 0 and the rest are
 * renormalised (the ONNX reference). */
/* tf_crop_and_resize's source coordinate of output x (the box [lo, hi] of
 * the normalised input) */
static double crop_coord(double lo, double hi, int64_t x, int64_t in, int64_t out)
{
    return out > 1 ? lo * (double)(in - 1) + (double)x * (hi - lo) * (double)(in - 1) / (double)(out - 1)
                   : 0.5 * (lo + hi) * (double)(in - 1);
}

static int64_t round_nearest(int mode, double v)
{
    const double f = floor(v);
    switch (mode) {
    case GCAM_NEAREST_FLOOR: return (int64_t)f;
    case GCAM_NEAREST_CEIL: return (int64_t)ceil(v);
    case GCAM_NEAREST_ROUND_PREFER_CEIL: return (int64_t)(v - f >= 0.5 ? f + 1 : f);
    default: return (int64_t)(v - f > 0.5 ? f + 1 : f);
    }
}

static rs_tap4 cubic_tap_at(const resize_params *p, double xs, int64_t in);

static rs_tap4 cubic_tap(const resize_params *p, int64_t x, double scale, int64_t in, int64_t out)
{
    return cubic_tap_at(p, gcam_resize_coord(p->coord, x, scale, in, out), in);
}

static rs_tap4 cubic_tap_at(const resize_params *p, double xs, int64_t in)
{
    const double i0 = floor(xs), t = xs - i0, A = p->cubic_a;
    const double d[4] = {t + 1, t, 1 - t, 2 - t};
    rs_tap4 r;
    double sum = 0;
    for (int k = 0; k < 4; k++) {
        const double u = d[k];
        double w = u <= 1 ? ((A + 2) * u - (A + 3)) * u * u + 1 : ((A * u - 5 * A) * u + 8 * A) * u - 4 * A;
        int64_t i = (int64_t)i0 - 1 + k;
        if (p->exclude_outside && (i < 0 || i >= in)) w = 0;
        r.i[k] = i < 0 ? 0 : i >= in ? in - 1 : i;
        r.w[k] = (float)w;
        sum += w;
    }
    if (p->exclude_outside && sum != 0)
        for (int k = 0; k < 4; k++) r.w[k] = (float)(r.w[k] / sum);
    return r;
}

/* Fills the tap table of every pass (nearest: i0 is the source index). */
static void build_tables(const resize_params *p, const rs_plan *pl, char *scratch)
{
    for (int k = 0; k < pl->npass; k++) {
        int d = pl->pass_axis[k];
        if (p->crop) { /* taps from the box; -1 marks an output outside the input */
            for (int64_t j = 0; j < pl->out[d]; j++) {
                const int64_t in = pl->in[d];
                const double xs = crop_coord(pl->roi_lo[d], pl->roi_hi[d], j, in, pl->out[d]);
                const int outside = xs < 0 || xs > (double)(in - 1);
                if (p->mode == RS_CUBIC) {
                    rs_tap4 *t4 = (rs_tap4 *)(scratch + pl->tab_off[k]);
                    t4[j] = cubic_tap_at(p, xs, in);
                    if (outside) t4[j].i[0] = -1;
                    continue;
                }
                gcam_lerp_tap *t = (gcam_lerp_tap *)(scratch + pl->tab_off[k]);
                if (p->mode == RS_LINEAR) {
                    const int64_t f = (int64_t)floor(xs);
                    t[j].i0 = f < 0 ? 0 : f > in - 1 ? in - 1 : f;
                    t[j].i1 = t[j].i0 + 1 < in ? t[j].i0 + 1 : in - 1;
                    t[j].w1 = (float)(xs - (double)f);
                    t[j].w0 = 1.0f - t[j].w1;
                } else {
                    int64_t q = round_nearest(p->nearest, xs);
                    t[j].i0 = t[j].i1 = q < 0 ? 0 : q > in - 1 ? in - 1 : q;
                    t[j].w0 = 1.0f;
                    t[j].w1 = 0.0f;
                }
                if (outside) t[j].i0 = -1;
            }
            continue;
        }
        if (p->mode == RS_CUBIC) {
            rs_tap4 *t4 = (rs_tap4 *)(scratch + pl->tab_off[k]);
            for (int64_t j = 0; j < pl->out[d]; j++) t4[j] = cubic_tap(p, j, pl->scale[d], pl->in[d], pl->out[d]);
            continue;
        }
        gcam_lerp_tap *t = (gcam_lerp_tap *)(scratch + pl->tab_off[k]);
        for (int64_t j = 0; j < pl->out[d]; j++) {
            if (p->mode == RS_LINEAR) {
                t[j] = gcam_resize_linear_tap(p->coord, j, pl->scale[d], pl->in[d], pl->out[d]);
            } else {
                t[j].i0 = t[j].i1 = gcam_resize_nearest_index(p->coord, p->nearest, j, pl->scale[d], pl->in[d],
                                                              pl->out[d]);
                t[j].w0 = 1.0f;
                t[j].w1 = 0.0f;
            }
        }
    }
}

/* The [outer, len, inner] view of pass k: shape before it has the earlier
 * passes' axes resized. */
static void pass_view(const rs_plan *pl, int k, int64_t *outer, int64_t *inner)
{
    int64_t cur[GCAM_MAX_DIMS];
    memcpy(cur, pl->in, sizeof cur);
    for (int q = 0; q < k; q++) cur[pl->pass_axis[q]] = pl->out[pl->pass_axis[q]];
    int d = pl->pass_axis[k];
    *outer = 1;
    *inner = 1;
    for (int e = 0; e < d; e++) *outer *= cur[e];
    for (int e = d + 1; e < pl->nd; e++) *inner *= cur[e];
}

static int resize_forward(gcam_opctx *c)
{
    const resize_params *p = c->node->params;
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    rs_plan pl;
    int rc = plan(c, &pl);
    if (rc) return rc;
    size_t es = gcam_dtype_size(x->dtype);
    if (gcam_numel(y) == 0) return GCAM_OK;
    if (pl.npass == 0) {
        if (y->data != x->data) memcpy(y->data, x->data, gcam_tensor_bytes(x));
        return GCAM_OK;
    }
    char *scratch = c->scratch;
    build_tables(p, &pl, scratch);
    char *buf[2] = {scratch + pl.tab_bytes, scratch + pl.tab_bytes + pl.buf_bytes};
    for (int k = 0; k < pl.npass; k++) {
        int d = pl.pass_axis[k];
        const gcam_lerp_tap *t = (const gcam_lerp_tap *)(scratch + pl.tab_off[k]);
        const char *src = k == 0 ? (const char *)x->data : buf[(k - 1) % 2];
        char *dst = k == pl.npass - 1 ? (char *)y->data : buf[k % 2];
        int64_t outer, inner, il = pl.in[d], ol = pl.out[d];
        pass_view(&pl, k, &outer, &inner);
        if (p->mode == RS_CUBIC) {
            const rs_tap4 *t4 = (const rs_tap4 *)t;
            const float *s = (const float *)src;
            float *o = (float *)dst;
            for (int64_t b = 0; b < outer; b++)
                for (int64_t j = 0; j < ol; j++) {
                    float *dj = o + (b * ol + j) * inner;
                    for (int64_t e = 0; e < inner; e++) dj[e] = t4[j].i[0] < 0 ? p->extrap : 0.0f;
                    for (int q = 0; q < 4 && t4[j].i[0] >= 0; q++) {
                        const float *sq = s + (b * il + t4[j].i[q]) * inner, w = t4[j].w[q];
                        for (int64_t e = 0; e < inner; e++) dj[e] += w * sq[e];
                    }
                }
        } else if (p->mode == RS_LINEAR) {
            const float *s = (const float *)src;
            float *o = (float *)dst;
#pragma omp parallel for schedule(static) if (outer * ol * inner > 65536)
            for (int64_t b = 0; b < outer; b++)
                for (int64_t j = 0; j < ol; j++) {
                    if (t[j].i0 < 0) { /* tf_crop_and_resize outside the input */
                        for (int64_t e = 0; e < inner; e++) o[(b * ol + j) * inner + e] = p->extrap;
                        continue;
                    }
                    const float *s0 = s + (b * il + t[j].i0) * inner, *s1 = s + (b * il + t[j].i1) * inner;
                    float *dj = o + (b * ol + j) * inner, w0 = t[j].w0, w1 = t[j].w1;
                    for (int64_t e = 0; e < inner; e++) dj[e] = w0 * s0[e] + w1 * s1[e];
                }
        } else {
            size_t row = (size_t)inner * es;
            for (int64_t b = 0; b < outer; b++)
                for (int64_t j = 0; j < ol; j++) {
                    if (t[j].i0 < 0) {
                        for (int64_t e = 0; e < inner; e++) gcam_set_f(dst, x->dtype, (b * ol + j) * inner + e, p->extrap);
                        continue;
                    }
                    memcpy(dst + (b * ol + j) * row, src + (b * il + t[j].i0) * row, row);
                }
        }
    }
    return GCAM_OK;
}

static int resize_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    const resize_params *p = c->node->params;
    rs_plan pl;
    int rc = plan(c, &pl);
    if (rc) return rc;
    float *dx = gcam_f32(c->din[0]);
    const float *dy = gcam_f32(c->dout[0]);
    if (gcam_numel(c->dout[0]) == 0) return GCAM_OK;
    if (pl.npass == 0) {
        int64_t n = gcam_numel(c->din[0]);
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
        return GCAM_OK;
    }
    char *scratch = c->scratch;
    build_tables(p, &pl, scratch);
    float *buf[2] = {(float *)(scratch + pl.tab_bytes), (float *)(scratch + pl.tab_bytes + pl.buf_bytes)};
    /* pass k maps the gradient of its output (dy or buf[k % 2]) to the
     * gradient of its input (dx, accumulated, or buf[(k - 1) % 2], fresh) */
    for (int k = pl.npass - 1; k >= 0; k--) {
        int d = pl.pass_axis[k];
        const gcam_lerp_tap *t = (const gcam_lerp_tap *)(scratch + pl.tab_off[k]);
        const float *g = k == pl.npass - 1 ? dy : buf[k % 2];
        int64_t outer, inner, il = pl.in[d], ol = pl.out[d];
        pass_view(&pl, k, &outer, &inner);
        float *gi = k == 0 ? dx : buf[(k - 1) % 2];
        if (k > 0) memset(gi, 0, (size_t)(outer * il * inner) * sizeof(float));
        if (p->mode == RS_CUBIC) {
            const rs_tap4 *t4 = (const rs_tap4 *)t;
            for (int64_t b = 0; b < outer; b++)
                for (int64_t j = 0; j < ol; j++) {
                    const float *gj = g + (b * ol + j) * inner;
                    for (int q = 0; q < 4 && t4[j].i[0] >= 0; q++) {
                        float *dq = gi + (b * il + t4[j].i[q]) * inner, w = t4[j].w[q];
                        for (int64_t e = 0; e < inner; e++) dq[e] += w * gj[e];
                    }
                }
            continue;
        }
        /* rows b are independent: each writes only its own [il, inner] block */
#pragma omp parallel for schedule(static) if (outer * ol * inner > 65536)
        for (int64_t b = 0; b < outer; b++)
            for (int64_t j = 0; j < ol; j++) {
                if (t[j].i0 < 0) continue; /* extrapolated: no gradient */
                const float *gj = g + (b * ol + j) * inner;
                float *d0 = gi + (b * il + t[j].i0) * inner, *d1 = gi + (b * il + t[j].i1) * inner;
                float w0 = t[j].w0, w1 = t[j].w1;
                for (int64_t e = 0; e < inner; e++) d0[e] += w0 * gj[e];
                if (w1 != 0.0f)
                    for (int64_t e = 0; e < inner; e++) d1[e] += w1 * gj[e];
            }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_Resize = {
    .op_type = "Resize", .since = 6, .required = 1,
    .flags = GCAM_OPF_SHAPE_PARAMS, .param_slot = 1, /* roi, scales, sizes */
    .init = resize_init,
    .infer = resize_infer,
    .forward = resize_forward,
    .backward = resize_backward,
};

const gcam_op gcam_op_Upsample = {
    .op_type = "Upsample", .since = 6, .required = 1,
    .flags = GCAM_OPF_SHAPE_PARAMS, .param_slot = 1, /* scales */
    .init = resize_init,
    .infer = resize_infer,
    .forward = resize_forward,
    .backward = resize_backward,
};
