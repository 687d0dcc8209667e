/* conv_taps.h - a dilated conv as per-tap GEMMs over the outputs each tap
 * reaches (conv_taps.c); a mode of the fast conv path (conv_dnnl.c). */
#ifndef GCAM_CONV_TAPS_H
#define GCAM_CONV_TAPS_H

#include "kernels/conv_fast.h"

#define GCAM_CONV_TAPS_MAX 49 /* kernels up to 7x7 */

typedef struct gcam_conv_taps gcam_conv_taps;

/* GCAM_E_UNSUPPORTED unless the conv is 2-D, ungrouped, stride 1,
 * dilated, without a residual sum, Relu/Clip/no activation, and its live
 * tap-output pairs are under half of the dense count.  W is read now. */
int gcam_conv_taps_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, gcam_conv_taps **out);
void gcam_conv_taps_free(gcam_conv_taps *k);
/* bytes of scratch forward and backward need */
size_t gcam_conv_taps_scratch(const gcam_conv_taps *k);
int gcam_conv_taps_forward(const gcam_conv_taps *k, const float *x, float *y, void *scratch);
/* dx += the gradient through the conv (no activation: fused convs are not differentiated) */
int gcam_conv_taps_backward_data(const gcam_conv_taps *k, const float *dy, float *dx, void *scratch);

#endif
