/* InstanceNormalization, GroupNormalization (18 and 21), MVN, LpNormalization
 * and LRN: values against by-hand statistics in double, gradients against
 * finite differences. */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

static void fill(float *x, int n, unsigned s)
{
    for (int i = 0; i < n; i++) x[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 1023) / 256.0f - 2.0f;
}

/* (x - mean) / sqrt(var + eps) over x[i0 .. i0+len) */
static double standard(const float *x, int i0, int len, int i, double eps)
{
    double m = 0, v = 0;
    for (int k = 0; k < len; k++) m += x[i0 + k];
    m /= len;
    for (int k = 0; k < len; k++) v += (x[i0 + k] - m) * (x[i0 + k] - m);
    v /= len;
    return (x[i] - m) / sqrt(v + eps);
}

GCAM_TEST(instance_and_group_norm)
{
    enum { N = 2, C = 4, S = 6 };
    float x[N * C * S], sc[C] = {1.5f, -0.5f, 2.0f, 0.7f}, bi[C] = {0.1f, 0.2f, -0.3f, 0.4f};
    fill(x, N * C * S, 3);
    for (int kind = 0; kind < 3; kind++) { /* instance; group 18 (2 groups, per-group affine); group 21 */
        tnode *t = tn_new(kind == 0 ? "InstanceNormalization" : "GroupNormalization", kind == 2 ? 21 : 18);
        const int G = kind ? 2 : C, na = kind == 1 ? G : C;
        if (kind) tn_attr_int(t, "num_groups", G);
        tn_attr_float(t, "epsilon", 1e-3f);
        tn_input_f32(t, (int64_t[]){N, C, 2, 3}, 4, x, 0);
        tn_input_f32(t, (int64_t[]){na}, 1, sc, 1);
        tn_input_f32(t, (int64_t[]){na}, 1, bi, 1);
        CHECK_MSG(tn_run(t) == 0, "kind %d: %s", kind, t->err.msg);
        const int len = C / G * S;
        for (int i = 0; i < N * C * S; i++) {
            int grp = i / len, ch = (i / S) % C, a = kind == 1 ? ch / (C / G) : ch;
            double r = standard(x, grp * len, len, i, 1e-3) * sc[a] + bi[a];
            CHECK_MSG(fabs(tn_out(t, 0)[i] - r) < 1e-5, "kind %d [%d] = %g, want %g", kind, i, tn_out(t, 0)[i], r);
        }
        CHECK_MSG(tn_fd_check(t, 3e-3) == 0, "kind %d gradient", kind);
        tn_free(t);
    }
    tnode *t = tn_new("MeanVarianceNormalization", 13);
    tn_input_f32(t, (int64_t[]){N, C, 2, 3}, 4, x, 0);
    CHECK(tn_run(t) == 0);
    /* default axes 0, 2, 3: each channel over the batch and space */
    for (int ch = 0; ch < C; ch++) {
        double m = 0, v = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) m += x[(n * C + ch) * S + s];
        m /= N * S;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) v += pow(x[(n * C + ch) * S + s] - m, 2);
        v /= N * S;
        int i = (1 * C + ch) * S + 2;
        CHECK(fabs(tn_out(t, 0)[i] - (x[i] - m) / (sqrt(v) + 1e-9)) < 1e-5);
    }
    CHECK(tn_fd_check(t, 3e-3) == 0);
    tn_free(t);
}

GCAM_TEST(lp_normalization_and_lrn)
{
    float x[24];
    fill(x, 24, 9);
    for (int p = 1; p <= 2; p++) {
        tnode *t = tn_new("LpNormalization", 1);
        tn_attr_int(t, "p", p);
        tn_attr_int(t, "axis", 1);
        tn_input_f32(t, (int64_t[]){2, 3, 4}, 3, x, 0);
        CHECK(tn_run(t) == 0);
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < 4; k++) {
                double s = 0;
                for (int j = 0; j < 3; j++) s += p == 1 ? fabs(x[a * 12 + j * 4 + k]) : pow(x[a * 12 + j * 4 + k], 2);
                if (p == 2) s = sqrt(s);
                CHECK(fabs(tn_out(t, 0)[a * 12 + 4 + k] - x[a * 12 + 4 + k] / s) < 1e-6);
            }
        CHECK_MSG(tn_fd_check(t, 3e-3) == 0, "p %d gradient", p);
        tn_free(t);
    }
    tnode *t = tn_new("LRN", 13);
    tn_attr_int(t, "size", 3);
    tn_attr_float(t, "alpha", 0.5f);
    tn_attr_float(t, "beta", 0.75f);
    tn_attr_float(t, "bias", 2.0f);
    tn_input_f32(t, (int64_t[]){1, 4, 2, 3}, 4, x, 0);
    CHECK(tn_run(t) == 0);
    for (int ch = 0; ch < 4; ch++) {
        double s = 0;
        for (int q = ch - 1; q <= ch + 1; q++)
            if (q >= 0 && q < 4) s += pow(x[q * 6 + 5], 2);
        CHECK(fabs(tn_out(t, 0)[ch * 6 + 5] - x[ch * 6 + 5] / pow(2.0 + 0.5 / 3 * s, 0.75)) < 1e-6);
    }
    CHECK(tn_fd_check(t, 3e-3) == 0);
    tn_free(t);
}

/* A bidirectional LSTM is a forward and a reverse one side by side: each
 * half of Y and Y_h equals the single-direction run with that half's weights. */
GCAM_TEST(lstm_bidirectional_is_forward_plus_reverse)
{
    enum { T = 4, B = 2, I = 3, H = 2 };
    float x[T * B * I], w[2 * 4 * H * I], r[2 * 4 * H * H], bias[2 * 8 * H];
    fill(x, T * B * I, 1);
    fill(w, 2 * 4 * H * I, 2);
    fill(r, 2 * 4 * H * H, 3);
    fill(bias, 2 * 8 * H, 4);
    for (int i = 0; i < 2 * 4 * H * H; i++) r[i] *= 0.3f;
    float ybi[T * 2 * B * H], yh[2 * B * H];
    tnode *t = tn_new("LSTM", 14);
    tn_attr_str(t, "direction", "bidirectional");
    tn_attr_int(t, "hidden_size", H);
    tn_outputs(t, 2);
    tn_input_f32(t, (int64_t[]){T, B, I}, 3, x, 1);
    tn_input_f32(t, (int64_t[]){2, 4 * H, I}, 3, w, 1);
    tn_input_f32(t, (int64_t[]){2, 4 * H, H}, 3, r, 1);
    tn_input_f32(t, (int64_t[]){2, 8 * H}, 2, bias, 1);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    memcpy(ybi, tn_out(t, 0), sizeof ybi);
    memcpy(yh, tn_out(t, 1), sizeof yh);
    tn_free(t);
    for (int d = 0; d < 2; d++) {
        t = tn_new("LSTM", 14);
        tn_attr_str(t, "direction", d ? "reverse" : "forward");
        tn_attr_int(t, "hidden_size", H);
        tn_outputs(t, 2);
        tn_input_f32(t, (int64_t[]){T, B, I}, 3, x, 1);
        tn_input_f32(t, (int64_t[]){1, 4 * H, I}, 3, w + d * 4 * H * I, 1);
        tn_input_f32(t, (int64_t[]){1, 4 * H, H}, 3, r + d * 4 * H * H, 1);
        tn_input_f32(t, (int64_t[]){1, 8 * H}, 2, bias + d * 8 * H, 1);
        CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
        for (int s = 0; s < T; s++)
            for (int k = 0; k < B * H; k++) CHECK(tn_out(t, 0)[s * B * H + k] == ybi[(s * 2 + d) * B * H + k]);
        for (int k = 0; k < B * H; k++) CHECK(tn_out(t, 1)[k] == yh[d * B * H + k]);
        /* the last state is the last step's output (forward) or the first's (reverse) */
        for (int k = 0; k < B * H; k++) CHECK(tn_out(t, 1)[k] == tn_out(t, 0)[(d ? 0 : T - 1) * B * H + k]);
        tn_free(t);
    }
}

/* Backward through time for RNN, GRU (both reset forms) and LSTM (bias,
 * peepholes, bidirectional, sequence lengths) against finite differences
 * of X, with every output (Y, Y_h, Y_c) in the loss. */
GCAM_TEST(recurrent_layers_gradient)
{
    enum { T = 3, B = 2, I = 3, H = 2 };
    float x[T * B * I], w[2 * 4 * H * I], r[2 * 4 * H * H], bias[2 * 8 * H], peep[2 * 3 * H];
    fill(x, T * B * I, 11);
    fill(w, 2 * 4 * H * I, 12);
    fill(r, 2 * 4 * H * H, 13);
    fill(bias, 2 * 8 * H, 14);
    fill(peep, 2 * 3 * H, 15);
    for (int i = 0; i < 2 * 4 * H * I; i++) w[i] *= 0.4f;
    for (int i = 0; i < 2 * 4 * H * H; i++) r[i] *= 0.3f;
    struct { const char *op; int gates, lbr, dirs, outs, peep, lens; } cases[] = {
        {"RNN", 1, 0, 1, 2, 0, 0}, {"GRU", 3, 0, 2, 2, 0, 1}, {"GRU", 3, 1, 1, 2, 0, 0},
        {"LSTM", 4, 0, 1, 3, 1, 0}, {"LSTM", 4, 0, 2, 3, 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int G = cases[k].gates, D = cases[k].dirs;
        tnode *t = tn_new(cases[k].op, 14);
        tn_attr_int(t, "hidden_size", H);
        if (D == 2) tn_attr_str(t, "direction", "bidirectional");
        if (cases[k].lbr) tn_attr_int(t, "linear_before_reset", 1);
        tn_outputs(t, cases[k].outs);
        tn_input_f32(t, (int64_t[]){T, B, I}, 3, x, 0);
        tn_input_f32(t, (int64_t[]){D, G * H, I}, 3, w, 1);
        tn_input_f32(t, (int64_t[]){D, G * H, H}, 3, r, 1);
        tn_input_f32(t, (int64_t[]){D, 2 * G * H}, 2, bias, 1);
        if (cases[k].lens) tn_input_i64(t, (int64_t[]){B}, 1, (int64_t[]){3, 2});
        else if (cases[k].peep) tn_input_none(t);
        if (cases[k].peep) {
            tn_input_none(t);
            tn_input_none(t);
            tn_input_f32(t, (int64_t[]){D, 3 * H}, 2, peep, 1);
        }
        CHECK_MSG(tn_run(t) == 0, "%s: %s", cases[k].op, t->err.msg);
        CHECK_MSG(tn_fd_check(t, 3e-3) == 0, "case %zu (%s) gradient", k, cases[k].op);
        tn_free(t);
    }
}

/* DFT (real and complex input, onesided, inverse, dft_length padding) and
 * STFT with a window: the adjoint-transform gradients against finite
 * differences; the forward values are the conformance data's business. */
GCAM_TEST(dft_stft_gradient)
{
    float x[2 * 6 * 2];
    fill(x, 24, 21);
    struct { int cx, onesided, inverse; int64_t len; } cases[] = {{1, 0, 0, 0}, {1, 1, 0, 8}, {2, 0, 1, 0}, {2, 0, 0, 4}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tnode *t = tn_new("DFT", 17);
        tn_attr_int(t, "axis", 1);
        tn_attr_int(t, "onesided", cases[k].onesided);
        tn_attr_int(t, "inverse", cases[k].inverse);
        tn_input_f32(t, (int64_t[]){2, 6, cases[k].cx}, 3, x, 0);
        if (cases[k].len) tn_input_i64(t, NULL, 0, &cases[k].len);
        CHECK_MSG(tn_run(t) == 0, "case %zu: %s", k, t->err.msg);
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "DFT case %zu gradient", k);
        tn_free(t);
    }
    float sig[1 * 20 * 1], win[8];
    fill(sig, 20, 22);
    for (int i = 0; i < 8; i++) win[i] = 0.5f - 0.5f * cosf(2 * (float)M_PI * (float)i / 8);
    tnode *t = tn_new("STFT", 17);
    tn_input_f32(t, (int64_t[]){1, 20, 1}, 3, sig, 0);
    tn_input_i64(t, NULL, 0, (int64_t[]){3});
    tn_input_f32(t, (int64_t[]){8}, 1, win, 1);
    CHECK_MSG(tn_run(t) == 0, "%s", t->err.msg);
    CHECK(t->out[0]->dims[1] == 5 && t->out[0]->dims[2] == 5);
    CHECK(tn_fd_check(t, 2e-3) == 0);
    tn_free(t);
}
