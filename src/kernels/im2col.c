/* im2col.c - window geometry (see im2col.h) and the im2col / col2im kernels
 * behind Conv's GEMM formulation. */
#include "im2col.h"

#include <stdio.h>

/* Per-element work below which an OpenMP region costs more than it saves. */
#define GCAM_IM2COL_PAR_MIN 32768

/* The largest kernel, stride, dilation or pad we take: beyond any real
 * model, and small enough that the window arithmetic below cannot
 * overflow int64 on any dim a tensor can have. */
#define GCAM_WIN_MAX_ATTR ((int64_t)1 << 31)

static int attr_ints_checked(const gcam_node *n, const char *name, int64_t *out, int max,
                             int64_t min_value, int *count, gcam_err *e)
{
    const gcam_attr *a = gcam_attr_find(n, name);
    *count = 0;
    if (!a) return GCAM_OK;
    if (a->type != GCAM_ATTR_INTS && a->type != GCAM_ATTR_INT)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): attribute %s must be ints",
                         n->name ? n->name : "", n->op_type, name);
    int got = gcam_attr_ints(n, name, out, max);
    if (got > max)
        return gcam_errf(e, GCAM_E_UNSUPPORTED,
                         "node '%s' (%s): %s has %d values; at most %d spatial dims are supported",
                         n->name ? n->name : "", n->op_type, name, got,
                         max == 2 * GCAM_WIN_MAX_SP ? GCAM_WIN_MAX_SP : max);
    for (int i = 0; i < got; i++)
        if (out[i] < min_value || out[i] > GCAM_WIN_MAX_ATTR)
            return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): %s[%d] = %lld must be within %lld..%lld",
                             n->name ? n->name : "", n->op_type, name, i, (long long)out[i],
                             (long long)min_value, (long long)GCAM_WIN_MAX_ATTR);
    *count = got < 0 ? 0 : got;
    return GCAM_OK;
}

int gcam_win_parse(const gcam_node *n, gcam_win_attr *a, gcam_err *e)
{
    int rc;
    memset(a, 0, sizeof *a);
    if ((rc = attr_ints_checked(n, "kernel_shape", a->k, GCAM_WIN_MAX_SP, 1, &a->nk, e)) ||
        (rc = attr_ints_checked(n, "strides", a->s, GCAM_WIN_MAX_SP, 1, &a->ns, e)) ||
        (rc = attr_ints_checked(n, "dilations", a->d, GCAM_WIN_MAX_SP, 1, &a->nd, e)) ||
        (rc = attr_ints_checked(n, "pads", a->pads, 2 * GCAM_WIN_MAX_SP, 0, &a->np, e)))
        return rc;
    const char *ap = gcam_attr_str(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET") || !strcmp(ap, "")) a->auto_pad = GCAM_AUTOPAD_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER")) a->auto_pad = GCAM_AUTOPAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER")) a->auto_pad = GCAM_AUTOPAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID")) a->auto_pad = GCAM_AUTOPAD_VALID;
    else
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): unknown auto_pad '%s'",
                         n->name ? n->name : "", n->op_type, ap);
    int64_t cm = gcam_attr_int(n, "ceil_mode", 0);
    if (cm != 0 && cm != 1)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): ceil_mode must be 0 or 1",
                         n->name ? n->name : "", n->op_type);
    a->ceil_mode = (int)cm;
    if (a->np && a->np % 2)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): pads has an odd count (%d)",
                         n->name ? n->name : "", n->op_type, a->np);
    return GCAM_OK;
}

int gcam_win_plan(const gcam_win_attr *a, int nsp, const int64_t *in_sp, const int64_t *kernel,
                  gcam_win *w, char *why, size_t why_len)
{
    if (nsp < 1 || nsp > GCAM_WIN_MAX_SP) {
        snprintf(why, why_len, "%d spatial dims; only 1 to %d are supported", nsp, GCAM_WIN_MAX_SP);
        return -1;
    }
    if ((a->nk && a->nk != nsp) || (a->ns && a->ns != nsp) || (a->nd && a->nd != nsp) ||
        (a->np && a->np != 2 * nsp)) {
        snprintf(why, why_len,
                 "attribute lengths (kernel_shape %d, strides %d, dilations %d, pads %d) do not "
                 "match %d spatial dims",
                 a->nk, a->ns, a->nd, a->np, nsp);
        return -1;
    }
    memset(w, 0, sizeof *w);
    w->nsp = nsp;
    int off = 3 - nsp;
    for (int i = 0; i < 3; i++) {
        w->in[i] = w->out[i] = w->k[i] = w->s[i] = w->d[i] = 1;
        w->pb[i] = w->pe[i] = 0;
    }
    for (int i = 0; i < nsp; i++) {
        int j = off + i;
        int64_t in = in_sp[i], k = kernel[i];
        int64_t s = a->ns ? a->s[i] : 1, d = a->nd ? a->d[i] : 1;
        if (in < 1 || k < 1) {
            snprintf(why, why_len, "spatial dim %d: input %lld, kernel %lld must be >= 1", i,
                     (long long)in, (long long)k);
            return -1;
        }
        /* the span covered by one (dilated) window; attributes are bounded
         * (GCAM_WIN_MAX_ATTR) but kernel sizes may come from a weight
         * tensor and input dims from anywhere: every step is checked */
        int64_t ek, pb = 0, pe = 0, out, t1;
        if (k > GCAM_WIN_MAX_ATTR || s < 1 || d < 1 || gcam_mul_ovf(k - 1, d, &ek) || gcam_add_ovf(ek, 1, &ek) ||
            gcam_add_ovf(in, 2 * GCAM_WIN_MAX_ATTR + ek, &t1)) {
            snprintf(why, why_len, "spatial dim %d: input %lld, kernel %lld, stride %lld, dilation %lld overflow",
                     i, (long long)in, (long long)k, (long long)s, (long long)d);
            return -1;
        }
        (void)t1;
        if (a->auto_pad == GCAM_AUTOPAD_SAME_UPPER || a->auto_pad == GCAM_AUTOPAD_SAME_LOWER) {
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + ek - in;
            if (total < 0) total = 0;
            /* SAME_UPPER puts the odd pad at the end, SAME_LOWER at the begin */
            pb = a->auto_pad == GCAM_AUTOPAD_SAME_UPPER ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (a->auto_pad == GCAM_AUTOPAD_NOTSET && a->np) {
                pb = a->pads[i];
                pe = a->pads[nsp + i];
            }
            int64_t span = in + pb + pe - ek;
            if (span < 0) {
                snprintf(why, why_len,
                         "spatial dim %d: window %lld (kernel %lld, dilation %lld) is larger than "
                         "the padded input %lld",
                         i, (long long)ek, (long long)k, (long long)d, (long long)(in + pb + pe));
                return -1;
            }
            if (a->ceil_mode) {
                out = (span + s - 1) / s + 1;
                /* a window must start inside the input or its begin padding */
                if ((out - 1) * s >= in + pb) out--;
            } else {
                out = span / s + 1;
            }
        }
        if (out < 1) {
            snprintf(why, why_len, "spatial dim %d: empty output", i);
            return -1;
        }
        w->in[j] = in;
        w->k[j] = k;
        w->s[j] = s;
        w->d[j] = d;
        w->pb[j] = pb;
        w->pe[j] = pe;
        w->out[j] = out;
    }
    int64_t dims3[3][3] = {{w->in[0], w->in[1], w->in[2]}, {w->out[0], w->out[1], w->out[2]},
                           {w->k[0], w->k[1], w->k[2]}};
    if (gcam_dims_numel_checked(dims3[0], 3) < 0 || gcam_dims_numel_checked(dims3[1], 3) < 0 ||
        gcam_dims_numel_checked(dims3[2], 3) < 0) {
        snprintf(why, why_len, "window sizes overflow");
        return -1;
    }
    w->in_size = w->in[0] * w->in[1] * w->in[2];
    w->out_size = w->out[0] * w->out[1] * w->out[2];
    w->k_size = w->k[0] * w->k[1] * w->k[2];
    return 0;
}

void gcam_win_range(int64_t start, int64_t step, int64_t n, int64_t limit, int64_t *lo,
                    int64_t *hi)
{
    int64_t l = start >= 0 ? 0 : (-start + step - 1) / step;
    int64_t last = limit - 1 - start; /* need j * step <= last */
    int64_t h = last < 0 ? 0 : last / step + 1;
    if (h > n) h = n;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

void gcam_win_tap_of(const gcam_win *w, int64_t t, gcam_win_tap *p)
{
    int64_t kk[3];
    kk[2] = t % w->k[2];
    kk[1] = (t / w->k[2]) % w->k[1];
    kk[0] = t / (w->k[2] * w->k[1]);
    for (int i = 0; i < 3; i++) {
        p->o0[i] = kk[i] * w->d[i] - w->pb[i];
        gcam_win_range(p->o0[i], w->s[i], w->out[i], w->in[i], &p->lo[i], &p->hi[i]);
    }
}

void gcam_im2col(const float *x, int64_t channels, const gcam_win *w, int64_t row0, int64_t nrows,
                 float *col, int nthreads)
{
    const int64_t K = w->k_size, rows = channels * K;
    const int64_t O1 = w->out[1], O2 = w->out[2], I1 = w->in[1], I2 = w->in[2];
    const int64_t s0 = w->s[0], s1 = w->s[1], s2 = w->s[2];
    const int64_t ncol = nrows * O2;
#pragma omp parallel for num_threads(nthreads) if (rows * ncol > GCAM_IM2COL_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        gcam_win_tap p;
        gcam_win_tap_of(w, r % K, &p);
        const float *xc = x + (r / K) * w->in_size;
        float *dst = col + r * ncol;
        for (int64_t q = 0; q < nrows; q++) {
            const int64_t od = (row0 + q) / O1, oh = (row0 + q) % O1;
            float *hp = dst + q * O2;
            if (od < p.lo[0] || od >= p.hi[0] || oh < p.lo[1] || oh >= p.hi[1]) {
                memset(hp, 0, sizeof(float) * (size_t)O2);
                continue;
            }
            const float *xr = xc + ((p.o0[0] + od * s0) * I1 + p.o0[1] + oh * s1) * I2;
            const int64_t lo = p.lo[2], hi = p.hi[2], w0 = p.o0[2];
            for (int64_t ow = 0; ow < lo; ow++) hp[ow] = 0.0f;
            if (s2 == 1) {
                if (hi > lo) memcpy(hp + lo, xr + w0 + lo, sizeof(float) * (size_t)(hi - lo));
            } else {
                for (int64_t ow = lo; ow < hi; ow++) hp[ow] = xr[w0 + ow * s2];
            }
            for (int64_t ow = hi; ow < O2; ow++) hp[ow] = 0.0f;
        }
    }
}

void gcam_col2im_add(const float *col, int64_t channels, const gcam_win *w, int64_t row0,
                     int64_t nrows, float *x, int nthreads)
{
    const int64_t K = w->k_size;
    const int64_t O1 = w->out[1], O2 = w->out[2], I1 = w->in[1], I2 = w->in[2];
    const int64_t s0 = w->s[0], s1 = w->s[1], s2 = w->s[2];
    const int64_t ncol = nrows * O2;
    /* one channel per iteration: taps of a channel overlap in x, channels don't */
#pragma omp parallel for num_threads(nthreads) if (channels * K * ncol > GCAM_IM2COL_PAR_MIN) \
    schedule(static)
    for (int64_t c = 0; c < channels; c++) {
        float *xc = x + c * w->in_size;
        for (int64_t t = 0; t < K; t++) {
            gcam_win_tap p;
            gcam_win_tap_of(w, t, &p);
            const float *src = col + (c * K + t) * ncol;
            const int64_t lo = p.lo[2], hi = p.hi[2], w0 = p.o0[2];
            for (int64_t q = 0; q < nrows; q++) {
                const int64_t od = (row0 + q) / O1, oh = (row0 + q) % O1;
                if (od < p.lo[0] || od >= p.hi[0] || oh < p.lo[1] || oh >= p.hi[1]) continue;
                float *xr = xc + ((p.o0[0] + od * s0) * I1 + p.o0[1] + oh * s1) * I2;
                const float *sr = src + q * O2;
                if (s2 == 1) {
                    for (int64_t ow = lo; ow < hi; ow++) xr[w0 + ow] += sr[ow];
                } else {
                    for (int64_t ow = lo; ow < hi; ow++) xr[w0 + ow * s2] += sr[ow];
                }
            }
        }
    }
}

void gcam_win_out_shape(const gcam_win *w, const gcam_tensor *x, int64_t channels, gcam_tensor *y)
{
    y->ndim = x->ndim;
    y->dims[0] = x->dims[0];
    y->dims[1] = channels;
    for (int i = 0; i < w->nsp; i++) y->dims[2 + i] = w->out[3 - w->nsp + i];
}

int gcam_pool_geom(gcam_opctx *c, const gcam_win_attr *a, gcam_win *w)
{
    const gcam_tensor *x = c->in[0];
    if (x->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "X is %s; only float32 is supported",
                              gcam_dtype_name(x->dtype));
    if (x->ndim < 3 || x->ndim > 2 + GCAM_WIN_MAX_SP)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED,
                              "X has %d dims; only 1-D to 3-D pooling (3 to 5 dims) is supported",
                              x->ndim);
    char why[256];
    if (gcam_win_plan(a, x->ndim - 2, x->dims + 2, a->k, w, why, sizeof why))
        return gcam_node_errf(c, GCAM_E_SHAPE, "%s", why);
    return GCAM_OK;
}

int gcam_pool_parse(const gcam_node *n, gcam_win_attr *a, gcam_err *e)
{
    int rc = gcam_win_parse(n, a, e);
    if (rc) return rc;
    if (!a->nk)
        return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): kernel_shape is required",
                         n->name ? n->name : "", n->op_type);
    return GCAM_OK;
}
