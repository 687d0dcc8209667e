/* conv_fast.h - the fast convolution path behind Conv (src/ops/conv.c).
 *
 * Conv's own im2col + GEMM kernels stay the reference and test oracle.  When
 * oneDNN is built in (GCAM_WITH_DNNL) each Conv node also gets a oneDNN
 * convolution primitive for its shape, created at plan time (the weights are
 * reordered once into the layout the primitive wants, with a folded
 * BatchNormalization's scale applied on the way) and kept in the node's
 * params until the graph is freed.  Nothing of oneDNN leaves conv_dnnl.c.
 *
 * Layouts: tensors are plain NCHW (NCW, NCDHW) between ops, except where
 * the planner keeps a 2-D conv's input or output NHWC (channels last,
 * GCAM_TF_NHWC: between convs and elementwise ops only; see plan.c).  A
 * pointwise conv runs on either layout directly (it is one GEMM); any other
 * conv runs in the layout oneDNN picks (NHWC for brgconv on AVX-512), its
 * input reordered into scratch before and its output reordered back after
 * where the caller's layout differs, since the direct kernels beat im2col by
 * 2-4x even with both reorders.  With the caller's buffers already NHWC the
 * reorders disappear.
 *
 * Choice of path: the model's conv-reference setting (gcam_model_set_option)
 * forces the reference kernels for convs planned from then on (src/ops/conv.c
 * decides); gcam_conv_backend() says which one is built in, for
 * `gradcam --version`.
 *
 * Pointwise convs (1x1, stride 1, no padding, one group) with no activation,
 * Relu or Clip take a "GEMM mode" instead of a oneDNN primitive: one sgemm
 * per image, which also converts between the layouts for free where x and
 * y differ, then one vectorised pass for the folded BatchNormalization, bias,
 * residual operand and activation; the weights are used in place.  With x
 * and y both NHWC they take oneDNN's 1x1 kernel instead (brgconv_1x1, 10-20%
 * faster there than the GEMM and its pass), a residual operand as a sum
 * post-op on y, which it is copied into first. */
#ifndef GCAM_KERNELS_CONV_FAST_H
#define GCAM_KERNELS_CONV_FAST_H

#include "kernels/im2col.h"

typedef struct gcam_conv_geom {
    int64_t N, C, M, G; /* batch, input channels, output channels, groups */
    gcam_win w;         /* resolved window geometry */
    /* 2-D only: x (nhwc_in) or y and the residual operand (nhwc_out) are
     * stored NHWC.  Forward only: no backward-data primitive is built. */
    int nhwc_in, nhwc_out;
    /* a 3x3 stride-1 conv may run as Winograd F(4x4, 3x3) (conv_wino.c; the
     * model's winograd setting) */
    int winograd;
} gcam_conv_geom;

/* What runs on each output channel m after the convolution. */
typedef struct gcam_conv_epi {
    const float *wscale; /* M factors folded into the weights (BatchNormalization), or NULL */
    const float *bias;   /* M biases added after the fold, or NULL */
    int act;             /* GCAM_ACT_* */
    float lo, hi;        /* GCAM_ACT_CLIP bounds */
    int sum;             /* a residual operand is added before the activation */
} gcam_conv_epi;

typedef struct gcam_conv_fast gcam_conv_fast;

/* 1 when the fast path is built in. */
int gcam_conv_fast_available(void);

/* Creates the primitive(s) for geometry g with weights W (M x C/G x kernel,
 * ONNX layout; read now, and kept by reference when no copy is needed, so W
 * must outlive the handle).  With_bwd also creates the backward-data
 * primitive (only for an epilogue without wscale and act: the gradient is
 * that of the bare convolution).  Returns GCAM_OK, or GCAM_E_UNSUPPORTED with
 * a reason in why when oneDNN has nothing better than its reference code for
 * this conv (the caller then uses its own kernels), or GCAM_E_NOMEM. */
int gcam_conv_fast_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int with_bwd,
                       gcam_conv_fast **out, char *why, size_t why_len);
void gcam_conv_fast_free(gcam_conv_fast *f);
/* Scratch bytes forward / backward-data need (0 backward without with_bwd). */
size_t gcam_conv_fast_scratch(const gcam_conv_fast *f);
size_t gcam_conv_fast_bscratch(const gcam_conv_fast *f);
int gcam_conv_fast_has_bwd(const gcam_conv_fast *f);
/* y = act(scale * conv(x) + bias [+ res]); x is N x C x in..., y and res are
 * N x M x out..., in the layouts of the geometry; res is read only when the
 * epilogue has sum. */
int gcam_conv_fast_forward(gcam_conv_fast *f, const float *x, float *y, const float *res, void *scratch);
/* dx += conv^T(dy): the gradient w.r.t. the input, accumulated. */
int gcam_conv_fast_backward_data(gcam_conv_fast *f, const float *dy, float *dx, void *scratch);
/* The oneDNN implementation chosen, e.g. "brgconv:avx512_core". */
const char *gcam_conv_fast_impl(const gcam_conv_fast *f);

/* "onednn" or "reference": the convolution path built in. */
const char *gcam_conv_backend(void);
/* oneDNN's instruction set in effect at run time ("avx512_core", ...), or
 * "none" without oneDNN. */
const char *gcam_dnnl_isa(void);
/* oneDNN's version at run time ("2.6.3"), or "none". */
const char *gcam_dnnl_version(void);

#endif
