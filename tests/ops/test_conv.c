/* Conv: forward against a naive direct convolution, backward against finite
 * differences, over configs that exercise every path (GEMM, 1x1, depthwise). */
#include <stdlib.h>

#include "op_harness.h"
#include "test.h"

typedef struct conv_case {
    const char *name;
    int nsp;                 /* spatial dims: 1, 2 or 3 */
    int64_t N, C, M, G;
    int64_t in[3], k[3], s[3], d[3]; /* per spatial dim; s/d 0 = attribute absent */
    int64_t pads[6];         /* begins then ends; used when has_pads */
    int has_pads;
    const char *auto_pad;    /* NULL = attribute absent */
    int bias;
    int w_var;               /* W (and B) are activations: their gradients are checked too */
    int kernel_attr;         /* also give kernel_shape */
} conv_case;

/* Reference geometry, written out from the ONNX spec independently of the op. */
static void ref_geom(const conv_case *cc, int64_t *pb, int64_t *out)
{
    for (int i = 0; i < cc->nsp; i++) {
        int64_t s = cc->s[i] ? cc->s[i] : 1, d = cc->d[i] ? cc->d[i] : 1;
        int64_t ek = (cc->k[i] - 1) * d + 1;
        if (cc->auto_pad && !strncmp(cc->auto_pad, "SAME", 4)) {
            out[i] = (cc->in[i] + s - 1) / s;
            int64_t total = (out[i] - 1) * s + ek - cc->in[i];
            if (total < 0) total = 0;
            pb[i] = !strcmp(cc->auto_pad, "SAME_UPPER") ? total / 2 : (total + 1) / 2;
        } else if (cc->auto_pad && !strcmp(cc->auto_pad, "VALID")) {
            pb[i] = 0;
            out[i] = (cc->in[i] - ek) / s + 1;
        } else {
            int64_t b = cc->has_pads ? cc->pads[i] : 0, e = cc->has_pads ? cc->pads[cc->nsp + i] : 0;
            pb[i] = b;
            out[i] = (cc->in[i] + b + e - ek) / s + 1;
        }
    }
}

/* Direct convolution, 3 spatial dims (missing dims have size 1). */
static void conv_ref(const conv_case *cc, const float *x, const float *w, const float *b,
                     float *y)
{
    int64_t pb[3] = {0}, out[3] = {1, 1, 1};
    ref_geom(cc, pb, out);
    int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1},
            D[3] = {1, 1, 1}, P[3] = {0, 0, 0};
    int off = 3 - cc->nsp;
    for (int i = 0; i < cc->nsp; i++) {
        I[off + i] = cc->in[i];
        O[off + i] = out[i];
        K[off + i] = cc->k[i];
        S[off + i] = cc->s[i] ? cc->s[i] : 1;
        D[off + i] = cc->d[i] ? cc->d[i] : 1;
        P[off + i] = pb[i];
    }
    int64_t Cg = cc->C / cc->G, Mg = cc->M / cc->G;
    for (int64_t n = 0; n < cc->N; n++)
        for (int64_t m = 0; m < cc->M; m++)
            for (int64_t o0 = 0; o0 < O[0]; o0++)
                for (int64_t o1 = 0; o1 < O[1]; o1++)
                    for (int64_t o2 = 0; o2 < O[2]; o2++) {
                        double acc = b ? b[m] : 0.0;
                        int64_t g = m / Mg;
                        for (int64_t ci = 0; ci < Cg; ci++)
                            for (int64_t k0 = 0; k0 < K[0]; k0++)
                                for (int64_t k1 = 0; k1 < K[1]; k1++)
                                    for (int64_t k2 = 0; k2 < K[2]; k2++) {
                                        int64_t i0 = o0 * S[0] - P[0] + k0 * D[0];
                                        int64_t i1 = o1 * S[1] - P[1] + k1 * D[1];
                                        int64_t i2 = o2 * S[2] - P[2] + k2 * D[2];
                                        if (i0 < 0 || i0 >= I[0] || i1 < 0 || i1 >= I[1] || i2 < 0 ||
                                            i2 >= I[2])
                                            continue;
                                        int64_t c = g * Cg + ci;
                                        float xv = x[(((n * cc->C + c) * I[0] + i0) * I[1] + i1) * I[2] + i2];
                                        float wv = w[(((m * Cg + ci) * K[0] + k0) * K[1] + k1) * K[2] + k2];
                                        acc += (double)xv * wv;
                                    }
                        y[(((n * cc->M + m) * O[0] + o0) * O[1] + o1) * O[2] + o2] = (float)acc;
                    }
}

static tnode *conv_node(const conv_case *cc)
{
    tnode *t = tn_new("Conv", 13);
    int nsp = cc->nsp;
    if (cc->s[0]) tn_attr_ints(t, "strides", nsp, cc->s);
    if (cc->d[0]) tn_attr_ints(t, "dilations", nsp, cc->d);
    if (cc->has_pads) tn_attr_ints(t, "pads", 2 * nsp, cc->pads);
    if (cc->auto_pad) tn_attr_str(t, "auto_pad", cc->auto_pad);
    if (cc->kernel_attr) tn_attr_ints(t, "kernel_shape", nsp, cc->k);
    if (cc->G != 1) tn_attr_int(t, "group", cc->G);
    int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->M, cc->C / cc->G};
    for (int i = 0; i < nsp; i++) {
        xd[2 + i] = cc->in[i];
        wd[2 + i] = cc->k[i];
    }
    tn_input_f32(t, xd, 2 + nsp, NULL, 0);
    tn_input_f32(t, wd, 2 + nsp, NULL, !cc->w_var);
    if (cc->bias) tn_input_f32(t, (int64_t[]){cc->M}, 1, NULL, !cc->w_var);
    return t;
}

static const conv_case conv_cases[] = {
    {"groups1_pad1_bias", 2, 2, 3, 4, 1, {7, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 1, 0, 1},
    {"groups1_nopads_attr", 2, 1, 2, 3, 1, {5, 5}, {3, 3}, {0}, {0}, {0}, 0, NULL, 0, 0, 0},
    {"depthwise_bias", 2, 2, 4, 4, 4, {6, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 1, 0, 0},
    {"depthwise_mult2_s2", 2, 1, 3, 6, 3, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 0, 0, 0},
    {"depthwise_s2_d2_asym", 2, 1, 2, 2, 2, {8, 7}, {3, 2}, {2, 1}, {2, 2}, {2, 0, 1, 1}, 1, NULL, 1, 0, 0},
    {"groups2", 2, 2, 4, 6, 2, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 1, 0, 0},
    {"stride2", 2, 1, 3, 5, 1, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 0, 0, 0},
    {"stride_hw_differs", 2, 1, 2, 3, 1, {9, 7}, {3, 3}, {3, 2}, {1, 1}, {0, 0, 0, 0}, 1, NULL, 1, 0, 0},
    {"dilation2", 2, 1, 3, 4, 1, {8, 8}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, 1, NULL, 1, 0, 0},
    {"asym_pads", 2, 1, 2, 3, 1, {6, 5}, {3, 2}, {1, 1}, {1, 1}, {1, 0, 2, 1}, 1, NULL, 1, 0, 0},
    {"same_upper_s2", 2, 1, 2, 3, 1, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {0}, 0, "SAME_UPPER", 1, 0, 0},
    {"same_lower_s2", 2, 1, 2, 3, 1, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {0}, 0, "SAME_LOWER", 0, 0, 0},
    {"same_upper_k2", 2, 1, 2, 2, 1, {5, 5}, {2, 2}, {1, 1}, {1, 1}, {0}, 0, "SAME_UPPER", 1, 0, 0},
    {"same_lower_k4", 2, 1, 2, 2, 1, {5, 6}, {4, 4}, {1, 1}, {1, 1}, {0}, 0, "SAME_LOWER", 1, 0, 0},
    {"valid", 2, 1, 2, 3, 1, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {0}, 0, "VALID", 1, 0, 0},
    {"pointwise_bias", 2, 2, 5, 4, 1, {4, 3}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, NULL, 1, 0, 0},
    {"pointwise_nobias", 2, 1, 3, 6, 1, {3, 5}, {1, 1}, {0}, {0}, {0}, 0, NULL, 0, 0, 0},
    {"pointwise_groups2", 2, 1, 4, 6, 2, {3, 3}, {1, 1}, {0}, {0}, {0}, 0, NULL, 1, 0, 0},
    {"pointwise_stride2", 2, 1, 3, 4, 1, {6, 5}, {1, 1}, {2, 2}, {1, 1}, {0}, 0, NULL, 1, 0, 0},
    {"k5_pad2", 2, 1, 2, 2, 1, {6, 6}, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1, NULL, 1, 0, 0},
    {"w_var_gemm", 2, 2, 3, 4, 1, {5, 5}, {3, 3}, {2, 1}, {1, 1}, {1, 1, 0, 1}, 1, NULL, 1, 1, 0},
    {"w_var_depthwise", 2, 1, 3, 6, 3, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 1, 1, 0},
    {"w_var_pointwise", 2, 2, 3, 2, 1, {3, 4}, {1, 1}, {0}, {0}, {0}, 0, NULL, 1, 1, 0},
    {"conv1d", 1, 2, 3, 4, 1, {9}, {3}, {2}, {1}, {1, 2}, 1, NULL, 1, 0, 0},
    {"conv1d_depthwise_same", 1, 1, 3, 3, 3, {8}, {3}, {1}, {2}, {0}, 0, "SAME_UPPER", 1, 0, 0},
    {"conv3d", 3, 1, 2, 3, 1, {4, 5, 4}, {2, 3, 2}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 0, 1, 1}, 1, NULL, 1, 0, 0},
};

GCAM_TEST(op_conv_forward_vs_direct)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        const conv_case *cc = &conv_cases[i];
        tnode *t = conv_node(cc);
        int rc = tn_run(t);
        CHECK_MSG(rc == 0, "%s: %s", cc->name, t->err.msg);
        int64_t pb[3], out[3];
        ref_geom(cc, pb, out);
        gcam_tensor *y = t->out[0];
        CHECK_MSG(y->ndim == 2 + cc->nsp && y->dims[0] == cc->N && y->dims[1] == cc->M, "%s: dims",
                  cc->name);
        for (int d = 0; d < cc->nsp; d++)
            CHECK_MSG(y->dims[2 + d] == out[d], "%s: out dim %d = %lld, want %lld", cc->name, d,
                      (long long)y->dims[2 + d], (long long)out[d]);
        int64_t n = gcam_numel(y);
        float *ref = malloc(sizeof(float) * (size_t)n);
        conv_ref(cc, t->in[0]->data, t->in[1]->data, cc->bias ? t->in[2]->data : NULL, ref);
        double md = tn_maxdiff(tn_out(t, 0), ref, n);
        free(ref);
        CHECK_MSG(md < 1e-4, "%s: max diff %g", cc->name, md);
        tn_free(t);
    }
}

GCAM_TEST(op_conv_backward_fd)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        const conv_case *cc = &conv_cases[i];
        tnode *t = conv_node(cc);
        CHECK_MSG(tn_run(t) == 0, "%s: %s", cc->name, t->err.msg);
        CHECK_MSG(tn_fd_check(t, 2e-3) == 0, "%s: finite differences", cc->name);
        tn_free(t);
    }
}

/* Threads must not change results: run each case with 4 threads vs 1. */
GCAM_TEST(op_conv_threads_match)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        const conv_case *cc = &conv_cases[i];
        tnode *t = conv_node(cc);
        CHECK_MSG(tn_run(t) == 0, "%s: %s", cc->name, t->err.msg);
        int64_t n = gcam_numel(t->out[0]);
        float *y1 = malloc(sizeof(float) * (size_t)n);
        memcpy(y1, tn_out(t, 0), sizeof(float) * (size_t)n);
        gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .scratch = t->scratch,
                        .err = &t->err, .nthreads = 4};
        CHECK(t->node.op->forward(&c) == 0);
        double md = tn_maxdiff(y1, tn_out(t, 0), n);
        free(y1);
        CHECK_MSG(md < 1e-5, "%s: threaded forward differs by %g", cc->name, md);
        tn_free(t);
    }
}

/* A bigger layer, so the OpenMP regions actually run in parallel, forward and backward. */
GCAM_TEST(op_conv_large_threaded)
{
    static const conv_case big[] = {
        {"big_gemm", 2, 2, 16, 24, 1, {20, 18}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 1, 0, 0},
        {"big_depthwise", 2, 2, 32, 32, 32, {20, 18}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 1, 0, 0},
    };
    for (size_t i = 0; i < 2; i++) {
        const conv_case *cc = &big[i];
        tnode *t = conv_node(cc);
        CHECK(tn_run(t) == 0);
        gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .scratch = t->scratch,
                        .err = &t->err, .nthreads = 4};
        CHECK(t->node.op->forward(&c) == 0);
        int64_t n = gcam_numel(t->out[0]);
        float *ref = malloc(sizeof(float) * (size_t)n);
        conv_ref(cc, t->in[0]->data, t->in[1]->data, t->in[2]->data, ref);
        double md = tn_maxdiff(tn_out(t, 0), ref, n);
        CHECK_MSG(md < 1e-4, "%s: forward diff %g", cc->name, md);
        /* backward with 4 threads vs 1 thread, dy = ref (any fixed values) */
        int64_t nx = gcam_numel(t->in[0]);
        float *dx1 = calloc((size_t)nx, sizeof(float)), *dx4 = calloc((size_t)nx, sizeof(float));
        gcam_tensor dyt = *t->out[0], dx1t = *t->in[0], dx4t = *t->in[0];
        dyt.data = ref;
        dx1t.data = dx1;
        dx4t.data = dx4;
        gcam_tensor *dout[1] = {&dyt}, *din1[3] = {&dx1t, NULL, NULL}, *din4[3] = {&dx4t, NULL, NULL};
        c.dout = dout;
        c.din = din1;
        c.nthreads = 1;
        CHECK(t->node.op->backward(&c) == 0);
        c.din = din4;
        c.nthreads = 4;
        CHECK(t->node.op->backward(&c) == 0);
        double mb = tn_maxdiff(dx1, dx4, nx), mx = 0;
        for (int64_t k = 0; k < nx; k++) mx = fmax(mx, fabs(dx1[k]));
        free(dx1);
        free(dx4);
        free(ref);
        CHECK_MSG(mx > 0 && mb < 1e-4 * mx, "%s: threaded backward differs by %g", cc->name, mb);
        tn_free(t);
    }
}

GCAM_TEST(op_conv_errors)
{
    /* W's input channels do not match X / group */
    tnode *t = tn_new("Conv", 13);
    tn_attr_int(t, "group", 2);
    tn_input_f32(t, (int64_t[]){1, 4, 5, 5}, 4, NULL, 0);
    tn_input_f32(t, (int64_t[]){4, 4, 3, 3}, 4, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    CHECK(strstr(t->err.msg, "test_node") != NULL);
    tn_free(t);

    /* kernel_shape disagreeing with W */
    t = tn_new("Conv", 13);
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){5, 5});
    tn_input_f32(t, (int64_t[]){1, 2, 5, 5}, 4, NULL, 0);
    tn_input_f32(t, (int64_t[]){4, 2, 3, 3}, 4, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);

    /* kernel bigger than the padded input */
    t = tn_new("Conv", 13);
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2}, 4, NULL, 0);
    tn_input_f32(t, (int64_t[]){1, 1, 3, 3}, 4, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);

    /* bad auto_pad */
    t = tn_new("Conv", 13);
    tn_attr_str(t, "auto_pad", "SAME");
    tn_input_f32(t, (int64_t[]){1, 1, 4, 4}, 4, NULL, 0);
    tn_input_f32(t, (int64_t[]){1, 1, 3, 3}, 4, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_INVALID_MODEL);
    tn_free(t);

    /* 4-D convolution */
    t = tn_new("Conv", 13);
    tn_input_f32(t, (int64_t[]){1, 1, 2, 2, 2, 2}, 6, NULL, 0);
    tn_input_f32(t, (int64_t[]){1, 1, 1, 1, 1, 1}, 6, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_UNSUPPORTED);
    tn_free(t);

    /* bias of the wrong length */
    t = tn_new("Conv", 13);
    tn_input_f32(t, (int64_t[]){1, 2, 4, 4}, 4, NULL, 0);
    tn_input_f32(t, (int64_t[]){3, 2, 3, 3}, 4, NULL, 1);
    tn_input_f32(t, (int64_t[]){2}, 1, NULL, 1);
    CHECK(tn_run(t) == GCAM_E_SHAPE);
    tn_free(t);
}

/* The ONNX backend case test_conv_with_autopad_same, values written out. */
GCAM_TEST(op_conv_onnx_autopad_same)
{
    float x[25], w[9];
    for (int i = 0; i < 25; i++) x[i] = (float)i;
    for (int i = 0; i < 9; i++) w[i] = 1.0f;
    tnode *t = tn_new("Conv", 11);
    tn_attr_str(t, "auto_pad", "SAME_LOWER");
    tn_attr_ints(t, "kernel_shape", 2, (int64_t[]){3, 3});
    tn_attr_ints(t, "strides", 2, (int64_t[]){2, 2});
    tn_input_f32(t, (int64_t[]){1, 1, 5, 5}, 4, x, 0);
    tn_input_f32(t, (int64_t[]){1, 1, 3, 3}, 4, w, 1);
    CHECK(tn_run(t) == 0);
    const float want[9] = {12, 27, 24, 63, 108, 81, 72, 117, 84};
    CHECK(t->out[0]->dims[2] == 3 && t->out[0]->dims[3] == 3);
    CHECK(tn_maxdiff(tn_out(t, 0), want, 9) < 1e-5);
    tn_free(t);
}

/* A layer whose column buffer passes the 8 MB cap, so forward and backward
 * run in bands of output rows.  Backward is checked with the adjoint
 * identity: conv is linear in X (and in W), so with no bias
 * sum(dy * y) == sum(dx * x) == sum(dW * W). */
GCAM_TEST(op_conv_banded_im2col)
{
    conv_case cc = {"banded", 2, 1, 64, 4, 1, {40, 200}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL,
                    0, 1, 0};
    tnode *t = conv_node(&cc);
    CHECK(tn_run(t) == 0);
    CHECK_MSG(t->node.scratch < (size_t)64 * 9 * 8000 * 4, "scratch %zu not banded", t->node.scratch);
    int64_t ny = gcam_numel(t->out[0]), nx = gcam_numel(t->in[0]), nw = gcam_numel(t->in[1]);
    float *ref = malloc(sizeof(float) * (size_t)ny);
    conv_ref(&cc, t->in[0]->data, t->in[1]->data, NULL, ref);
    double md = tn_maxdiff(tn_out(t, 0), ref, ny);
    CHECK_MSG(md < 1e-4, "forward diff %g", md);
    float *dy = malloc(sizeof(float) * (size_t)ny);
    for (int64_t i = 0; i < ny; i++) dy[i] = (float)((i * 37 % 101) - 50) / 50.0f;
    float *dx = calloc((size_t)nx, sizeof(float)), *dw = calloc((size_t)nw, sizeof(float));
    gcam_tensor dyt = *t->out[0], dxt = *t->in[0], dwt = *t->in[1];
    dyt.data = dy;
    dxt.data = dx;
    dwt.data = dw;
    gcam_tensor *dout[1] = {&dyt}, *din[2] = {&dxt, &dwt};
    gcam_opctx c = {.node = &t->node, .in = t->in, .out = t->out, .dout = dout, .din = din,
                    .scratch = t->scratch, .err = &t->err, .nthreads = 2};
    CHECK(t->node.op->backward(&c) == 0);
    double yy = 0, xx = 0, ww = 0, scale = 0;
    const float *x = t->in[0]->data, *w = t->in[1]->data;
    for (int64_t i = 0; i < ny; i++) {
        yy += (double)dy[i] * ref[i];
        scale += fabs((double)dy[i] * ref[i]);
    }
    for (int64_t i = 0; i < nx; i++) xx += (double)dx[i] * x[i];
    for (int64_t i = 0; i < nw; i++) ww += (double)dw[i] * w[i];
    free(ref);
    free(dy);
    free(dx);
    free(dw);
    CHECK_MSG(fabs(yy - xx) < 1e-5 * scale, "<dy, y> = %g, <dx, x> = %g", yy, xx);
    CHECK_MSG(fabs(yy - ww) < 1e-5 * scale, "<dy, y> = %g, <dW, W> = %g", yy, ww);
    tn_free(t);
}
