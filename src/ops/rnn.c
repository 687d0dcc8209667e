/* Recurrent layers: RNN, GRU, LSTM (opsets 7-21), forward, reverse or
 * bidirectional, layout 0 ([seq, batch, in]) or 1 ([batch, seq, in], opset
 * 14), optional bias, sequence_lens, initial states, LSTM peepholes and
 * input_forget, clip, GRU linear_before_reset, and the gate activations
 * by name (Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, ThresholdedRelu,
 * ScaledTanh, Affine, Elu, Softsign, Softplus with activation_alpha/beta).
 * Outputs Y [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs,
 * hidden]), Y_h and (LSTM) Y_c; steps past a sequence's length give 0 in Y
 * and leave the state as it was.  Gate math in float32 with plain loops:
 * recognisers' LSTMs are small.
 *
 * Backward (w.r.t. X, through time): per batch row and direction the
 * forward steps are recomputed, recording each step's previous state and
 * gate pre-activations, then walked in reverse with the recurrent gradients
 * dh, dc; dY, dY_h and dY_c all enter.  A clipped gate passes nothing. */
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "kernels/dtype.h"

enum { K_RNN, K_GRU, K_LSTM };
#define RNN_MAX_ACT 6

typedef struct rnn_cfg {
    int kind, dirs, layout, n_gates;
    int64_t seq, batch, in, hid;
    int act[RNN_MAX_ACT];
    float alpha[RNN_MAX_ACT], beta[RNN_MAX_ACT];
    float clip;
    int lbr, input_forget;
} rnn_cfg;

static const char *const act_names[] = {"Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "ThresholdedRelu",
                                        "ScaledTanh", "Affine", "Elu", "Softsign", "Softplus"};

static float act_apply(int a, float x, float al, float be)
{
    switch (a) {
    case 0: return 1.0f / (1.0f + expf(-x));
    case 1: return tanhf(x);
    case 2: return x > 0 ? x : 0;
    case 3: { float v = al * x + be; return v < 0 ? 0 : v > 1 ? 1 : v; }
    case 4: return x >= 0 ? x : al * x;
    case 5: return x > al ? x : 0;
    case 6: return al * tanhf(be * x);
    case 7: return al * x + be;
    case 8: return x >= 0 ? x : al * expm1f(x);
    case 9: return x / (1 + fabsf(x));
    default: return log1pf(expf(x));
    }
}

static int rnn_config(gcam_opctx *c, rnn_cfg *k)
{
    const char *t = c->node->op_type;
    memset(k, 0, sizeof *k);
    k->kind = t[0] == 'R' ? K_RNN : t[0] == 'G' ? K_GRU : K_LSTM;
    k->n_gates = k->kind == K_RNN ? 1 : k->kind == K_GRU ? 3 : 4;
    const char *dir = gcam_attr_str(c->node, "direction", "forward");
    k->dirs = !strcmp(dir, "bidirectional") ? 2 : 1;
    if (strcmp(dir, "forward") && strcmp(dir, "reverse") && k->dirs == 1)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "direction '%s'", dir);
    k->layout = (int)gcam_attr_int(c->node, "layout", 0);
    const gcam_tensor *x = c->in[0], *w = gcam_in(c, 1), *r = gcam_in(c, 2);
    if (x->dtype != GCAM_DT_F32 || !w || !r || x->ndim != 3 || w->ndim != 3 || r->ndim != 3)
        return gcam_node_errf(c, GCAM_E_SHAPE, "X, W, R must be float32 of rank 3");
    k->seq = x->dims[k->layout ? 1 : 0];
    k->batch = x->dims[k->layout ? 0 : 1];
    k->in = x->dims[2];
    k->hid = gcam_attr_int(c->node, "hidden_size", r->dims[2]);
    if (w->dims[0] != k->dirs || w->dims[1] != k->n_gates * k->hid || w->dims[2] != k->in || r->dims[2] != k->hid)
        return gcam_node_errf(c, GCAM_E_SHAPE, "W/R shapes do not match hidden_size %lld", (long long)k->hid);
    /* default activations: RNN Tanh; GRU Sigmoid, Tanh; LSTM Sigmoid, Tanh, Tanh (per direction) */
    const int per = k->kind == K_RNN ? 1 : k->kind == K_GRU ? 2 : 3;
    const gcam_attr *an = gcam_attr_find(c->node, "activations");
    const gcam_attr *aa = gcam_attr_find(c->node, "activation_alpha"), *ab = gcam_attr_find(c->node, "activation_beta");
    const char *p = an && an->type == GCAM_ATTR_STRINGS ? an->s : NULL;
    if (p && an->n != per * k->dirs) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "%d activations for %d", an->n, per * k->dirs);
    for (int i = 0; i < per * k->dirs && i < RNN_MAX_ACT; i++) {
        int q = i % per;
        k->act[i] = k->kind == K_RNN ? 1 : q == 0 ? 0 : 1;
        if (p) {
            const char *e = strchr(p, '\n');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            k->act[i] = -1;
            for (int a = 0; a < (int)(sizeof act_names / sizeof act_names[0]); a++)
                if (strlen(act_names[a]) == len && !strncasecmp(p, act_names[a], len)) k->act[i] = a;
            if (k->act[i] < 0) return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "activation '%.*s' not supported", (int)len, p);
            p = e ? e + 1 : p + len;
        }
        /* the defaults of the parameterised activations (ONNX's table) */
        static const float dal[] = {0, 0, 0, 0.2f, 0.01f, 1.0f, 1.0f, 1.0f, 1.0f, 0, 0};
        static const float dbe[] = {0, 0, 0, 0.5f, 0, 0, 1.0f, 0, 0, 0, 0};
        k->alpha[i] = aa && aa->type == GCAM_ATTR_FLOATS && i < aa->n ? aa->floats[i] : dal[k->act[i]];
        k->beta[i] = ab && ab->type == GCAM_ATTR_FLOATS && i < ab->n ? ab->floats[i] : dbe[k->act[i]];
    }
    k->clip = gcam_attr_float(c->node, "clip", 0.0f);
    k->lbr = (int)gcam_attr_int(c->node, "linear_before_reset", 0);
    k->input_forget = (int)gcam_attr_int(c->node, "input_forget", 0);
    return GCAM_OK;
}

static int rnn_infer(gcam_opctx *c)
{
    rnn_cfg k;
    int rc = rnn_config(c, &k);
    if (rc) return rc;
    for (int o = 0; o < c->node->n_out && o < 3; o++) {
        gcam_tensor *y = c->out[o];
        if (!y) continue;
        y->dtype = GCAM_DT_F32;
        if (o == 0) {
            y->ndim = 4;
            int64_t d[4] = {k.seq, k.dirs, k.batch, k.hid}, d1[4] = {k.batch, k.seq, k.dirs, k.hid};
            memcpy(y->dims, k.layout ? d1 : d, sizeof d);
        } else {
            y->ndim = 3;
            int64_t d[3] = {k.dirs, k.batch, k.hid}, d1[3] = {k.batch, k.dirs, k.hid};
            memcpy(y->dims, k.layout ? d1 : d, sizeof d);
        }
    }
    c->node->scratch = (size_t)(k.batch * k.hid * (6 + k.n_gates)) * sizeof(float);
    /* backward: per step h_prev, c_prev, c, pre-activations (G*H) and GRU's u */
    c->node->bscratch = (size_t)(k.seq * k.hid * (4 + k.n_gates) + k.hid * (8 + 2 * k.n_gates)) * sizeof(float);
    return GCAM_OK;
}

static float clipv(const rnn_cfg *k, float v) { return k->clip > 0 ? (v < -k->clip ? -k->clip : v > k->clip ? k->clip : v) : v; }

static float act(const rnn_cfg *k, int i, float v) { return act_apply(k->act[i], v, k->alpha[i], k->beta[i]); }

/* One direction's weights and the scratch of a step. */
typedef struct rnn_dir {
    const float *W, *R, *Wb, *Rb, *P; /* [G*H, I], [G*H, H], biases [G*H] (or NULL), peepholes [3H] */
    int a0;                           /* index of its first activation */
    float *gates, *tmp;               /* [G*H], [H] */
} rnn_dir;

/* gates = x W^T + h R^T + Wb + Rb; GRU's hidden gate gets x W^T + Wb only
 * (its recurrent part depends on the reset gate), tmp = its Rb */
static void rnn_gates(const rnn_cfg *k, const rnn_dir *d, const float *xt, const float *h)
{
    const int64_t H = k->hid, I = k->in;
    for (int64_t q = 0; q < k->n_gates * H; q++) {
        const int gru_h = k->kind == K_GRU && q >= 2 * H;
        double v = d->Wb ? d->Wb[q] : 0;
        for (int64_t i = 0; i < I; i++) v += (double)xt[i] * d->W[q * I + i];
        if (gru_h) {
            d->tmp[q - 2 * H] = d->Rb ? d->Rb[q] : 0.0f;
        } else {
            v += d->Rb ? d->Rb[q] : 0;
            for (int64_t i = 0; i < H; i++) v += (double)h[i] * d->R[q * H + i];
        }
        d->gates[q] = (float)v;
    }
}

/* GRU: z, r, then h~ = g(x Wh + (r . h) Rh + Rbh + Wbh), or with
 * linear_before_reset g(x Wh + Wbh + r . (h Rh + Rbh)); h' = (1 - z) h~ + z h */
static void gru_cell(const rnn_cfg *k, const rnn_dir *d, const float *h, float *hn)
{
    const int64_t H = k->hid;
    float *z = d->gates, *r = d->gates + H, *hh = d->gates + 2 * H;
    for (int64_t j = 0; j < H; j++) {
        z[j] = act(k, d->a0, clipv(k, z[j]));
        r[j] = act(k, d->a0, clipv(k, r[j]));
    }
    for (int64_t j = 0; j < H; j++) {
        const float *Rh = d->R + (2 * H + j) * H;
        double rh = 0;
        if (k->lbr) {
            for (int64_t i = 0; i < H; i++) rh += (double)h[i] * Rh[i];
            rh = r[j] * (rh + d->tmp[j]);
        } else {
            for (int64_t i = 0; i < H; i++) rh += (double)(r[i] * h[i]) * Rh[i];
            rh += d->tmp[j];
        }
        const float cand = act(k, d->a0 + 1, clipv(k, (float)(hh[j] + rh)));
        hn[j] = (1 - z[j]) * cand + z[j] * h[j];
    }
}

/* LSTM gates i, o, f, c with optional peepholes and input_forget; updates cs */
static void lstm_cell(const rnn_cfg *k, const rnn_dir *d, float *cs, float *hn)
{
    const int64_t H = k->hid;
    const float *g = d->gates, *P = d->P;
    for (int64_t j = 0; j < H; j++) {
        float gi = g[j], go = g[H + j], gf = g[2 * H + j], gc = g[3 * H + j];
        if (P) {
            gi += P[j] * cs[j];
            gf += P[2 * H + j] * cs[j];
        }
        gi = act(k, d->a0, clipv(k, gi));
        gf = k->input_forget ? 1 - gi : act(k, d->a0, clipv(k, gf));
        gc = act(k, d->a0 + 1, clipv(k, gc));
        const float cn = gf * cs[j] + gi * gc;
        if (P) go += P[H + j] * cn;
        go = act(k, d->a0, clipv(k, go));
        d->tmp[j] = cn;
        hn[j] = go * act(k, d->a0 + 2, cn);
    }
    for (int64_t j = 0; j < H; j++) cs[j] = d->tmp[j];
}

/* Runs direction dir over the sequence: states h, cs ([B, H]) in and out;
 * Y (may be NULL) gets every step's h, 0 past a sequence's length. */
static void rnn_direction(gcam_opctx *c, const rnn_cfg *k, const rnn_dir *d, int dir, int rev, float *h, float *cs,
                          float *hn)
{
    const gcam_tensor *lt = gcam_in(c, 4);
    const float *X = gcam_f32(c->in[0]);
    gcam_tensor *Y = c->out[0];
    const int64_t H = k->hid, Bn = k->batch, I = k->in;
    for (int64_t s = 0; s < k->seq; s++) {
        const int64_t t = rev ? k->seq - 1 - s : s;
        for (int64_t b = 0; b < Bn; b++) {
            const int64_t len = lt ? gcam_get_i(lt->data, lt->dtype, b) : k->seq;
            const int live = t < len;
            float *hb = h + b * H;
            if (live) {
                rnn_gates(k, d, X + (k->layout ? b * k->seq + t : t * Bn + b) * I, hb);
                if (k->kind == K_RNN)
                    for (int64_t j = 0; j < H; j++) hn[j] = act(k, d->a0, clipv(k, d->gates[j]));
                else if (k->kind == K_GRU) gru_cell(k, d, hb, hn);
                else lstm_cell(k, d, cs + b * H, hn);
                memcpy(hb, hn, sizeof(float) * (size_t)H);
            }
            if (!Y) continue;
            float *yt = gcam_f32(Y) + (k->layout ? ((b * k->seq + t) * k->dirs + dir) * H : ((t * k->dirs + dir) * Bn + b) * H);
            for (int64_t j = 0; j < H; j++) yt[j] = live ? hb[j] : 0.0f;
        }
    }
}

static int rnn_forward(gcam_opctx *c)
{
    rnn_cfg k;
    int rc = rnn_config(c, &k);
    if (rc) return rc;
    const gcam_tensor *bt = gcam_in(c, 3), *h0 = gcam_in(c, 5), *c0 = gcam_in(c, 6), *pt = gcam_in(c, 7);
    const int64_t H = k.hid, G = k.n_gates, Bn = k.batch, I = k.in;
    const int per = k.kind == K_RNN ? 1 : k.kind == K_GRU ? 2 : 3;
    float *h = c->scratch, *cs = h + Bn * H, *hn = cs + Bn * H, *gates = hn + Bn * H, *tmp = gates + Bn * H * G;
    gcam_tensor *Yh = c->node->n_out > 1 ? c->out[1] : NULL, *Yc = c->node->n_out > 2 ? c->out[2] : NULL;
    const char *dir = gcam_attr_str(c->node, "direction", "forward");
    for (int d = 0; d < k.dirs; d++) {
        rnn_dir rd = {gcam_f32(gcam_in(c, 1)) + d * G * H * I, gcam_f32(gcam_in(c, 2)) + d * G * H * H,
                      bt ? gcam_f32(bt) + d * 2 * G * H : NULL, NULL, pt ? gcam_f32(pt) + d * 3 * H : NULL, d * per,
                      gates, tmp};
        rd.Rb = rd.Wb ? rd.Wb + G * H : NULL;
        for (int64_t i = 0; i < Bn * H; i++) {
            h[i] = h0 ? gcam_f32(h0)[d * Bn * H + i] : 0.0f;
            cs[i] = c0 ? gcam_f32(c0)[d * Bn * H + i] : 0.0f;
        }
        rnn_direction(c, &k, &rd, d, !strcmp(dir, "reverse") || d == 1, h, cs, hn);
        for (int64_t b = 0; b < Bn; b++)
            for (int64_t j = 0; j < H; j++) {
                const int64_t o = k.layout ? (b * k.dirs + d) * H + j : (d * Bn + b) * H + j;
                if (Yh) gcam_f32(Yh)[o] = h[b * H + j];
                if (Yc) gcam_f32(Yc)[o] = cs[b * H + j];
            }
    }
    return GCAM_OK;
}


/* derivative of activation a at pre-activation x */
static float act_grad(int a, float x, float al, float be)
{
    switch (a) {
    case 0: { float s = 1.0f / (1.0f + expf(-x)); return s * (1 - s); }
    case 1: { float t = tanhf(x); return 1 - t * t; }
    case 2: return x > 0 ? 1.0f : 0.0f;
    case 3: { float v = al * x + be; return v > 0 && v < 1 ? al : 0.0f; }
    case 4: return x >= 0 ? 1.0f : al;
    case 5: return x > al ? 1.0f : 0.0f;
    case 6: { float t = tanhf(be * x); return al * be * (1 - t * t); }
    case 7: return al;
    case 8: return x >= 0 ? 1.0f : al * expf(x);
    case 9: { float d = 1 + fabsf(x); return 1 / (d * d); }
    default: return 1.0f / (1.0f + expf(-x));
    }
}

/* gradient of act(clip(v)) w.r.t. v */
static float dact(const rnn_cfg *k, int i, float v)
{
    if (k->clip > 0 && (v < -k->clip || v > k->clip)) return 0.0f;
    return act_grad(k->act[i], v, k->alpha[i], k->beta[i]);
}

/* Step record of one batch row: h_prev, c_prev, c (LSTM), pre[G*H], u (GRU) */
typedef struct rnn_rec {
    float *h_prev, *c_prev, *c_new, *pre, *u;
} rnn_rec;

static rnn_rec rec_at(const rnn_cfg *k, float *base, int64_t s)
{
    const int64_t H = k->hid, per = (4 + k->n_gates) * H;
    float *p = base + s * per;
    return (rnn_rec){p, p + H, p + 2 * H, p + 3 * H, p + (3 + k->n_gates) * H};
}

/* Forward of one step for row b recording what backward needs; h, cs updated */
static void step_record(const rnn_cfg *k, const rnn_dir *d, const float *xt, float *h, float *cs, rnn_rec r)
{
    const int64_t H = k->hid;
    memcpy(r.h_prev, h, sizeof(float) * (size_t)H);
    memcpy(r.c_prev, cs, sizeof(float) * (size_t)H);
    rnn_gates(k, d, xt, h);
    float *g = d->gates;
    if (k->kind == K_RNN) {
        for (int64_t j = 0; j < H; j++) {
            r.pre[j] = g[j];
            h[j] = act(k, d->a0, clipv(k, g[j]));
        }
        return;
    }
    if (k->kind == K_GRU) {
        for (int64_t j = 0; j < 2 * H; j++) r.pre[j] = g[j];
        for (int64_t j = 0; j < H; j++) {
            const float rj = act(k, d->a0, clipv(k, g[H + j]));
            const float *Rh = d->R + (2 * H + j) * H;
            double u = 0;
            if (k->lbr) {
                for (int64_t i = 0; i < H; i++) u += (double)r.h_prev[i] * Rh[i];
                u += d->tmp[j];
                r.u[j] = (float)u;
                r.pre[2 * H + j] = g[2 * H + j] + rj * (float)u;
            } else {
                for (int64_t i = 0; i < H; i++) u += (double)(act(k, d->a0, clipv(k, g[H + i])) * r.h_prev[i]) * Rh[i];
                r.pre[2 * H + j] = g[2 * H + j] + (float)u + d->tmp[j];
            }
        }
        for (int64_t j = 0; j < H; j++) {
            const float zj = act(k, d->a0, clipv(k, g[j])), hh = act(k, d->a0 + 1, clipv(k, r.pre[2 * H + j]));
            h[j] = (1 - zj) * hh + zj * r.h_prev[j];
        }
        return;
    }
    const float *P = d->P;
    for (int64_t j = 0; j < H; j++) {
        float pi = g[j] + (P ? P[j] * cs[j] : 0), pf = g[2 * H + j] + (P ? P[2 * H + j] * cs[j] : 0), pc = g[3 * H + j];
        const float gi = act(k, d->a0, clipv(k, pi));
        const float gf = k->input_forget ? 1 - gi : act(k, d->a0, clipv(k, pf));
        const float cn = gf * cs[j] + gi * act(k, d->a0 + 1, clipv(k, pc));
        const float po = g[H + j] + (P ? P[H + j] * cn : 0);
        r.pre[j] = pi;
        r.pre[H + j] = po;
        r.pre[2 * H + j] = pf;
        r.pre[3 * H + j] = pc;
        r.c_new[j] = cn;
        h[j] = act(k, d->a0, clipv(k, po)) * act(k, d->a0 + 2, cn);
    }
    memcpy(cs, r.c_new, sizeof(float) * (size_t)H);
}

/* Backward of one step: dh, dc (in: w.r.t. this step's outputs; out: w.r.t.
 * its inputs h_prev, c_prev); dx accumulates x's gradient. */
static void step_back(const rnn_cfg *k, const rnn_dir *d, rnn_rec r, float *dh, float *dc, float *dpre, float *dx)
{
    const int64_t H = k->hid, G = k->n_gates, I = k->in;
    float *dhp = dpre + G * H; /* dh_prev accumulator, H */
    for (int64_t j = 0; j < H; j++) dhp[j] = 0;
    if (k->kind == K_RNN) {
        for (int64_t j = 0; j < H; j++) dpre[j] = dh[j] * dact(k, d->a0, r.pre[j]);
    } else if (k->kind == K_GRU) {
        float *dz = dpre, *dr = dpre + H, *dhh = dpre + 2 * H;
        for (int64_t j = 0; j < H; j++) {
            const float zj = act(k, d->a0, clipv(k, r.pre[j])), hh = act(k, d->a0 + 1, clipv(k, r.pre[2 * H + j]));
            dz[j] = dh[j] * (r.h_prev[j] - hh) * dact(k, d->a0, r.pre[j]);
            dhh[j] = dh[j] * (1 - zj) * dact(k, d->a0 + 1, r.pre[2 * H + j]);
            dhp[j] += dh[j] * zj;
            dr[j] = 0;
        }
        for (int64_t j = 0; j < H; j++) { /* the hidden gate's recurrent part */
            const float *Rh = d->R + (2 * H + j) * H;
            if (k->lbr) {
                const float rj = act(k, d->a0, clipv(k, r.pre[H + j]));
                dr[j] += dhh[j] * r.u[j];
                for (int64_t i = 0; i < H; i++) dhp[i] += dhh[j] * rj * Rh[i];
            } else
                for (int64_t i = 0; i < H; i++) {
                    const float ri = act(k, d->a0, clipv(k, r.pre[H + i]));
                    dr[i] += dhh[j] * Rh[i] * r.h_prev[i];
                    dhp[i] += dhh[j] * Rh[i] * ri;
                }
        }
        for (int64_t j = 0; j < H; j++) dr[j] *= dact(k, d->a0, r.pre[H + j]);
    } else {
        const float *P = d->P;
        float *di = dpre, *dout = dpre + H, *df = dpre + 2 * H, *dg = dpre + 3 * H;
        for (int64_t j = 0; j < H; j++) {
            const float gi = act(k, d->a0, clipv(k, r.pre[j])), go = act(k, d->a0, clipv(k, r.pre[H + j]));
            const float gf = k->input_forget ? 1 - gi : act(k, d->a0, clipv(k, r.pre[2 * H + j]));
            const float gc = act(k, d->a0 + 1, clipv(k, r.pre[3 * H + j])), hc = act(k, d->a0 + 2, r.c_new[j]);
            dout[j] = dh[j] * hc * dact(k, d->a0, r.pre[H + j]);
            float dcj = dc[j] + dh[j] * go * act_grad(k->act[d->a0 + 2], r.c_new[j], k->alpha[d->a0 + 2], k->beta[d->a0 + 2]);
            if (P) dcj += dout[j] * P[H + j];
            float dgi = dcj * gc, dgf = dcj * r.c_prev[j];
            if (k->input_forget) {
                dgi -= dgf;
                dgf = 0;
            }
            di[j] = dgi * dact(k, d->a0, r.pre[j]);
            df[j] = k->input_forget ? 0.0f : dgf * dact(k, d->a0, r.pre[2 * H + j]);
            dg[j] = dcj * gi * dact(k, d->a0 + 1, r.pre[3 * H + j]);
            dc[j] = dcj * gf + (P ? di[j] * P[j] + df[j] * P[2 * H + j] : 0);
        }
    }
    /* through the gate inputs x W^T and h R^T (GRU's hidden gate: x only) */
    for (int64_t q = 0; q < G * H; q++) {
        if (dpre[q] == 0) continue;
        if (dx)
            for (int64_t i = 0; i < I; i++) dx[i] += dpre[q] * d->W[q * I + i];
        if (k->kind == K_GRU && q >= 2 * H) continue;
        for (int64_t i = 0; i < H; i++) dhp[i] += dpre[q] * d->R[q * H + i];
    }
    memcpy(dh, dhp, sizeof(float) * (size_t)H);
}

static int rnn_backward(gcam_opctx *c)
{
    rnn_cfg k;
    int rc = rnn_config(c, &k);
    if (rc) return rc;
    if (!c->din[0]) return GCAM_OK;
    const gcam_tensor *bt = gcam_in(c, 3), *lt = gcam_in(c, 4), *h0 = gcam_in(c, 5), *c0 = gcam_in(c, 6), *pt = gcam_in(c, 7);
    const int64_t H = k.hid, G = k.n_gates, Bn = k.batch, I = k.in, T = k.seq;
    const int per = k.kind == K_RNN ? 1 : k.kind == K_GRU ? 2 : 3;
    float *recs = c->scratch, *h = recs + T * (4 + G) * H, *cs = h + H, *dh = cs + H, *dc = dh + H, *gates = dc + H,
          *tmp = gates + G * H, *dpre = tmp + H;
    const float *X = gcam_f32(c->in[0]), *dY = c->dout[0] ? gcam_f32(c->dout[0]) : NULL;
    const float *dYh = c->node->n_out > 1 && c->dout[1] ? gcam_f32(c->dout[1]) : NULL;
    const float *dYc = c->node->n_out > 2 && c->dout[2] ? gcam_f32(c->dout[2]) : NULL;
    float *dX = gcam_f32(c->din[0]);
    const char *dir = gcam_attr_str(c->node, "direction", "forward");
    for (int d = 0; d < k.dirs; d++) {
        rnn_dir rd = {gcam_f32(gcam_in(c, 1)) + d * G * H * I, gcam_f32(gcam_in(c, 2)) + d * G * H * H,
                      bt ? gcam_f32(bt) + d * 2 * G * H : NULL, NULL, pt ? gcam_f32(pt) + d * 3 * H : NULL, d * per,
                      gates, tmp};
        rd.Rb = rd.Wb ? rd.Wb + G * H : NULL;
        const int rev = !strcmp(dir, "reverse") || d == 1;
        for (int64_t b = 0; b < Bn; b++) {
            const int64_t len = lt ? gcam_get_i(lt->data, lt->dtype, b) : T;
            for (int64_t j = 0; j < H; j++) {
                h[j] = h0 ? gcam_f32(h0)[(d * Bn + b) * H + j] : 0.0f;
                cs[j] = c0 ? gcam_f32(c0)[(d * Bn + b) * H + j] : 0.0f;
            }
            for (int64_t s = 0; s < T; s++) { /* forward, recording the live steps */
                const int64_t t = rev ? T - 1 - s : s;
                if (t < len) step_record(&k, &rd, X + (k.layout ? b * T + t : t * Bn + b) * I, h, cs, rec_at(&k, recs, s));
            }
            for (int64_t j = 0; j < H; j++) {
                const int64_t o = k.layout ? (b * k.dirs + d) * H + j : (d * Bn + b) * H + j;
                dh[j] = dYh ? dYh[o] : 0.0f;
                dc[j] = dYc ? dYc[o] : 0.0f;
            }
            for (int64_t s = T - 1; s >= 0; s--) {
                const int64_t t = rev ? T - 1 - s : s;
                if (t >= len) continue; /* state passed through, Y was 0 */
                if (dY)
                    for (int64_t j = 0; j < H; j++)
                        dh[j] += dY[k.layout ? ((b * T + t) * k.dirs + d) * H + j : ((t * k.dirs + d) * Bn + b) * H + j];
                step_back(&k, &rd, rec_at(&k, recs, s), dh, dc, dpre, dX + (k.layout ? b * T + t : t * Bn + b) * I);
            }
        }
    }
    return GCAM_OK;
}

const gcam_op gcam_op_RNN = {.op_type = "RNN", .since = 6, .required = 3, .flags = GCAM_OPF_OPTIONAL_OUT0, .infer = rnn_infer, .forward = rnn_forward, .backward = rnn_backward};
const gcam_op gcam_op_GRU = {.op_type = "GRU", .since = 6, .required = 3, .flags = GCAM_OPF_OPTIONAL_OUT0, .infer = rnn_infer, .forward = rnn_forward, .backward = rnn_backward};
const gcam_op gcam_op_LSTM = {.op_type = "LSTM", .since = 6, .required = 3, .flags = GCAM_OPF_OPTIONAL_OUT0, .infer = rnn_infer, .forward = rnn_forward, .backward = rnn_backward};
