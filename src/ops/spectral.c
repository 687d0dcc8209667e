/* Spectral ops (opset 17+), naive O(n^2) transforms in double - audio
 * front-ends, not vision; forward only:
 *   DFT             along axis (attribute before 20, input from 20) of a real
 *                   [..., n, 1] or complex [..., n, 2] tensor, optional
 *                   dft_length (pad/truncate), inverse (1/n), onesided;
 *   STFT            frames of signal [B, L, 1|2] every frame_step samples,
 *                   times the window, DFT of each: [B, frames, bins, 2];
 *   MelWeightMatrix the triangular mel filter bank of the ONNX reference
 *                   (its mel step is the range over num_mel_bins + 2). */
#include <math.h>

#include "kernels/dtype.h"

static int opt_scalar(gcam_opctx *c, int k, int64_t *v)
{
    const gcam_tensor *t = gcam_in(c, k);
    if (!t || !gcam_numel(t)) return 0;
    if (!(t->flags & GCAM_TF_CONST) || !t->data) return -1;
    *v = gcam_get_i(t->data, t->dtype, 0);
    return 1;
}

/* out[k] (k < nout) = sum_j in[j] e^{-+2 pi i jk / n}; in/out interleaved complex */
static void dft1(const double *in, int64_t n, double *out, int64_t nout, int inverse)
{
    const double sg = inverse ? 1.0 : -1.0;
    for (int64_t k = 0; k < nout; k++) {
        double re = 0, im = 0;
        for (int64_t j = 0; j < n; j++) {
            const double a = sg * 2 * M_PI * (double)((j * k) % n) / (double)n, cr = cos(a), ci = sin(a);
            re += in[2 * j] * cr - in[2 * j + 1] * ci;
            im += in[2 * j] * ci + in[2 * j + 1] * cr;
        }
        out[2 * k] = inverse ? re / (double)n : re;
        out[2 * k + 1] = inverse ? im / (double)n : im;
    }
}

/* adjoint of dft1: gin[j] (complex, j < n) += sum_k gout[k] conj(w^{jk}) */
static void dft1_adjoint(const double *gout, int64_t nout, int64_t n, double *gin, int inverse)
{
    const double sg = inverse ? 1.0 : -1.0, sc = inverse ? 1.0 / (double)n : 1.0;
    for (int64_t j = 0; j < n; j++) {
        double re = 0, im = 0;
        for (int64_t k = 0; k < nout; k++) {
            const double a = sg * 2 * M_PI * (double)((j * k) % n) / (double)n, cr = cos(a), ci = sin(a);
            re += gout[2 * k] * cr + gout[2 * k + 1] * ci;
            im += -gout[2 * k] * ci + gout[2 * k + 1] * cr;
        }
        gin[2 * j] = re * sc;
        gin[2 * j + 1] = im * sc;
    }
}

typedef struct dft_geom {
    int64_t axis, n_in, len, nout, outer, inner;
} dft_geom;

static int dft_geometry(gcam_opctx *c, dft_geom *g)
{
    const gcam_tensor *x = c->in[0];
    const int r = x->ndim;
    if (x->dtype != GCAM_DT_F32 || r < 2 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
        return gcam_node_errf(c, GCAM_E_SHAPE, "input must be float [..., n, 1 or 2]");
    int64_t a = gcam_attr_int(c->node, "axis", 1), v;
    if (c->node->opset >= 20) {
        int k = opt_scalar(c, 2, &v);
        if (k < 0) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic axis not supported");
        a = k ? v : -2;
    }
    if (a < 0) a += r;
    if (a < 0 || a >= r - 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "axis out of range");
    g->axis = a;
    g->n_in = x->dims[a];
    int k = opt_scalar(c, 1, &v);
    if (k < 0) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic dft_length not supported");
    g->len = k ? v : g->n_in;
    if (g->len < 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "dft_length %lld", (long long)g->len);
    g->nout = gcam_attr_int(c->node, "onesided", 0) ? g->len / 2 + 1 : g->len;
    g->outer = g->inner = 1;
    for (int d = 0; d < a; d++) g->outer *= x->dims[d];
    for (int d = (int)a + 1; d < r - 1; d++) g->inner *= x->dims[d];
    return GCAM_OK;
}

static int dft_infer(gcam_opctx *c)
{
    dft_geom g = {0};
    int rc = dft_geometry(c, &g);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = c->in[0]->ndim;
    memcpy(y->dims, c->in[0]->dims, sizeof y->dims);
    y->dims[g.axis] = g.nout;
    y->dims[y->ndim - 1] = 2;
    c->node->scratch = c->node->bscratch = (size_t)(2 * g.len + 2 * g.nout) * sizeof(double);
    return GCAM_OK;
}

static int dft_forward(gcam_opctx *c)
{
    dft_geom g = {0};
    int rc = dft_geometry(c, &g);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    const int64_t cx = x->dims[x->ndim - 1];
    const int inv = gcam_attr_int(c->node, "inverse", 0) != 0;
    double *in = c->scratch, *out = in + 2 * g.len;
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t e = 0; e < g.inner; e++) {
            for (int64_t j = 0; j < g.len; j++) {
                const int ok = j < g.n_in;
                const int64_t at = ((o * g.n_in + j) * g.inner + e) * cx;
                in[2 * j] = ok ? gcam_f32(x)[at] : 0;
                in[2 * j + 1] = ok && cx == 2 ? gcam_f32(x)[at + 1] : 0;
            }
            dft1(in, g.len, out, g.nout, inv);
            for (int64_t k = 0; k < g.nout; k++) {
                float *y = gcam_f32(c->out[0]) + ((o * g.nout + k) * g.inner + e) * 2;
                y[0] = (float)out[2 * k];
                y[1] = (float)out[2 * k + 1];
            }
        }
    return GCAM_OK;
}

static int dft_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    dft_geom g = {0};
    int rc = dft_geometry(c, &g);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0];
    const int64_t cx = x->dims[x->ndim - 1];
    const int inv = gcam_attr_int(c->node, "inverse", 0) != 0;
    double *gin = c->scratch, *gout = gin + 2 * g.len;
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t e = 0; e < g.inner; e++) {
            for (int64_t k = 0; k < g.nout; k++) {
                const float *dy = gcam_f32(c->dout[0]) + ((o * g.nout + k) * g.inner + e) * 2;
                gout[2 * k] = dy[0];
                gout[2 * k + 1] = dy[1];
            }
            dft1_adjoint(gout, g.nout, g.len, gin, inv);
            for (int64_t j = 0; j < g.len && j < g.n_in; j++) { /* padding has no input; truncation drops the rest */
                float *dx = gcam_f32(c->din[0]) + ((o * g.n_in + j) * g.inner + e) * cx;
                dx[0] += (float)gin[2 * j];
                if (cx == 2) dx[1] += (float)gin[2 * j + 1];
            }
        }
    return GCAM_OK;
}

const gcam_op gcam_op_DFT = {.op_type = "DFT", .since = 6, .required = 1, .infer = dft_infer, .forward = dft_forward, .backward = dft_backward};

/* ---- STFT ---- */
typedef struct stft_geom {
    int64_t step, flen, frames, bins;
} stft_geom;

static int stft_geometry(gcam_opctx *c, stft_geom *g)
{
    const gcam_tensor *x = c->in[0], *w = gcam_in(c, 2);
    if (x->dtype != GCAM_DT_F32 || x->ndim != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return gcam_node_errf(c, GCAM_E_SHAPE, "signal must be float [B, L, 1 or 2]");
    int64_t v;
    if (opt_scalar(c, 1, &v) != 1 || v < 1) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "frame_step must be a known positive scalar");
    g->step = v;
    int k = opt_scalar(c, 3, &v);
    if (k < 0) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic frame_length not supported");
    g->flen = k ? v : w ? gcam_numel(w) : 0;
    if (g->flen < 1 || g->flen > x->dims[1] || (w && gcam_numel(w) != g->flen))
        return gcam_node_errf(c, GCAM_E_SHAPE, "frame length %lld (window %lld, signal %lld)", (long long)g->flen,
                              (long long)(w ? gcam_numel(w) : 0), (long long)x->dims[1]);
    g->frames = (x->dims[1] - g->flen) / g->step + 1;
    g->bins = gcam_attr_int(c->node, "onesided", 1) ? g->flen / 2 + 1 : g->flen;
    return GCAM_OK;
}

static int stft_infer(gcam_opctx *c)
{
    stft_geom g = {0};
    int rc = stft_geometry(c, &g);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = 4;
    y->dims[0] = c->in[0]->dims[0];
    y->dims[1] = g.frames;
    y->dims[2] = g.bins;
    y->dims[3] = 2;
    c->node->scratch = c->node->bscratch = (size_t)(2 * g.flen + 2 * g.bins) * sizeof(double);
    return GCAM_OK;
}

static int stft_forward(gcam_opctx *c)
{
    stft_geom g = {0};
    int rc = stft_geometry(c, &g);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0], *w = gcam_in(c, 2);
    const int64_t L = x->dims[1], cx = x->dims[2];
    double *in = c->scratch, *out = in + 2 * g.flen;
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t f = 0; f < g.frames; f++) {
            for (int64_t j = 0; j < g.flen; j++) {
                const int64_t at = (b * L + f * g.step + j) * cx;
                const double wv = w ? gcam_f32(w)[j] : 1.0;
                in[2 * j] = gcam_f32(x)[at] * wv;
                in[2 * j + 1] = cx == 2 ? gcam_f32(x)[at + 1] * wv : 0;
            }
            dft1(in, g.flen, out, g.bins, 0);
            for (int64_t k = 0; k < g.bins; k++) {
                float *y = gcam_f32(c->out[0]) + ((b * g.frames + f) * g.bins + k) * 2;
                y[0] = (float)out[2 * k];
                y[1] = (float)out[2 * k + 1];
            }
        }
    return GCAM_OK;
}

static int stft_backward(gcam_opctx *c)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    stft_geom g = {0};
    int rc = stft_geometry(c, &g);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0], *w = gcam_in(c, 2);
    const int64_t L = x->dims[1], cx = x->dims[2];
    double *gin = c->scratch, *gout = gin + 2 * g.flen;
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t f = 0; f < g.frames; f++) {
            for (int64_t k = 0; k < g.bins; k++) {
                const float *dy = gcam_f32(c->dout[0]) + ((b * g.frames + f) * g.bins + k) * 2;
                gout[2 * k] = dy[0];
                gout[2 * k + 1] = dy[1];
            }
            dft1_adjoint(gout, g.bins, g.flen, gin, 0);
            for (int64_t j = 0; j < g.flen; j++) { /* frames overlap: gradients add */
                float *dx = gcam_f32(c->din[0]) + (b * L + f * g.step + j) * cx;
                const double wv = w ? gcam_f32(w)[j] : 1.0;
                dx[0] += (float)(gin[2 * j] * wv);
                if (cx == 2) dx[1] += (float)(gin[2 * j + 1] * wv);
            }
        }
    return GCAM_OK;
}

const gcam_op gcam_op_STFT = {.op_type = "STFT", .since = 6, .required = 1, .infer = stft_infer, .forward = stft_forward, .backward = stft_backward};

/* ---- MelWeightMatrix ---- */
static int mel_params(gcam_opctx *c, int64_t *mel, int64_t *dft, int64_t *rate, double *lo, double *hi)
{
    for (int k = 0; k < 5; k++) {
        const gcam_tensor *t = gcam_in(c, k);
        if (!t || !(t->flags & GCAM_TF_CONST) || !t->data || gcam_numel(t) != 1)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "inputs must be scalars known at plan time");
    }
    *mel = gcam_get_i(c->in[0]->data, c->in[0]->dtype, 0);
    *dft = gcam_get_i(gcam_in(c, 1)->data, gcam_in(c, 1)->dtype, 0);
    *rate = gcam_get_i(gcam_in(c, 2)->data, gcam_in(c, 2)->dtype, 0);
    *lo = gcam_get_f(gcam_in(c, 3)->data, gcam_in(c, 3)->dtype, 0);
    *hi = gcam_get_f(gcam_in(c, 4)->data, gcam_in(c, 4)->dtype, 0);
    if (*mel < 1 || *dft < 1 || *rate < 1 || *mel > 4096 || *dft > (1 << 20)) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "bad sizes");
    return GCAM_OK;
}

static int mel_infer(gcam_opctx *c)
{
    int64_t mel, dft, rate;
    double lo, hi;
    int rc = mel_params(c, &mel, &dft, &rate, &lo, &hi);
    if (rc) return rc;
    int dt = (int)gcam_attr_int(c->node, "output_datatype", GCAM_DT_F32);
    if (dt == GCAM_DT_F16 || dt == GCAM_DT_F64) dt = GCAM_DT_F32;
    c->out[0]->dtype = dt;
    c->out[0]->ndim = 2;
    c->out[0]->dims[0] = dft / 2 + 1;
    c->out[0]->dims[1] = mel;
    return GCAM_OK;
}

static int mel_forward(gcam_opctx *c)
{
    int64_t mel, dft, rate;
    double lo, hi;
    int rc = mel_params(c, &mel, &dft, &rate, &lo, &hi);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    const int64_t bins = dft / 2 + 1;
    memset(y->data, 0, gcam_tensor_bytes(y));
    /* the edges' mels and the step in float32, the rest in double: the
     * reference's numpy promotions, which decide where floor() lands */
    const float lm = 2595.0f * log10f(1.0f + (float)lo / 700.0f), hm = 2595.0f * log10f(1.0f + (float)hi / 700.0f);
    const float step = (hm - lm) / (float)(mel + 2); /* the reference divides by the point count */
    int64_t fb[4096 + 2];
    for (int64_t i = 0; i < mel + 2; i++) {
        const double hz = 700 * (pow(10, ((double)i * (double)step + (double)lm) / 2595) - 1);
        fb[i] = (int64_t)floor((double)(dft + 1) * hz / (double)rate);
    }
    for (int64_t i = 0; i < mel; i++) {
        const int64_t l = fb[i], ce = fb[i + 1], h = fb[i + 2];
        if (ce - l == 0) {
            if (ce >= 0 && ce < bins) gcam_set_f(y->data, y->dtype, ce * mel + i, 1.0);
        } else
            for (int64_t j = l; j <= ce; j++)
                if (j >= 0 && j < bins) gcam_set_f(y->data, y->dtype, j * mel + i, (double)(j - l) / (double)(ce - l));
        if (h - ce > 0)
            for (int64_t j = ce; j < h; j++)
                if (j >= 0 && j < bins) gcam_set_f(y->data, y->dtype, j * mel + i, (double)(h - j) / (double)(h - ce));
    }
    return GCAM_OK;
}

const gcam_op gcam_op_MelWeightMatrix = {.op_type = "MelWeightMatrix", .since = 6, .required = 1, .infer = mel_infer, .forward = mel_forward};
