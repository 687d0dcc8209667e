/* conv_wino.h - 3x3 stride-1 convolutions as Winograd F(4x4, 3x3) on
 * channels-last input (conv_wino.c); a mode of the fast conv path
 * (conv_dnnl.c), forward only. */
#ifndef GCAM_CONV_WINO_H
#define GCAM_CONV_WINO_H

#include "kernels/conv_fast.h"

typedef struct gcam_conv_wino gcam_conv_wino;

/* GCAM_E_UNSUPPORTED unless the machine has AVX2 and FMA (and no AVX-512,
 * where oneDNN's direct kernels are not measured against it) and the conv
 * is 2-D, ungrouped, 3x3, stride 1, undilated, x NHWC, C and M multiples of
 * 8 and at least 16, the output at least 14x14 (7x7 where the transformed
 * weights take at most 2 MB), no residual sum, Relu, Clip
 * or no activation.  W is read now (the folded BatchNormalization scale
 * goes into the transformed weights); nthreads sizes the scratch. */
int gcam_conv_wino_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int nthreads,
                       gcam_conv_wino **out);
void gcam_conv_wino_free(gcam_conv_wino *k);
size_t gcam_conv_wino_scratch(const gcam_conv_wino *k);
/* y = act(conv(x) + bias); y NHWC or NCHW as the geometry says */
int gcam_conv_wino_forward(const gcam_conv_wino *k, const float *x, float *y, void *scratch);

#endif
