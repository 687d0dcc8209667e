/* resize.h - sampling positions and weights of ONNX Resize, shared by the
 * Resize op (src/ops/resize.c) and the Grad-CAM map upsampling.
 *
 * Along one axis, output index x maps to a source coordinate x' (the
 * coordinate transformation mode), and
 *   linear:  y[x] = w0 * in[i0] + w1 * in[i1], i0 = floor(x'), i1 = i0 + 1,
 *            w1 = x' - i0, with i0/i1 clamped to [0, in_len-1] (edge padding,
 *            which is what the ONNX reference, onnxruntime, OpenCV
 *            INTER_LINEAR and torch bilinear all do);
 *   nearest: y[x] = in[round(x')] with the rounding rule of nearest_mode.
 * N-D linear is these 1-D weights applied axis by axis.
 *
 * `scale` is output/input as the model states it: with Resize's scales
 * input it may differ from out_len/in_len (0.6 * 4 -> 2 outputs, but the
 * coordinates use 0.6), and align_corners then uses scale * in_len as the
 * resized length, as the ONNX reference does. */
#ifndef GCAM_KERNELS_RESIZE_H
#define GCAM_KERNELS_RESIZE_H
#include <stdint.h>

enum {
    GCAM_COORD_HALF_PIXEL = 0,       /* (x + 0.5) / scale - 0.5: OpenCV INTER_LINEAR, torch align_corners=False */
    GCAM_COORD_ALIGN_CORNERS,        /* x * (in - 1) / (out - 1): torch align_corners=True */
    GCAM_COORD_ASYMMETRIC,           /* x / scale */
    GCAM_COORD_PYTORCH_HALF_PIXEL,   /* half_pixel, but -0.5 (so index 0) when out == 1 */
    GCAM_COORD_TF_HALF_PIXEL_FOR_NN, /* (x + 0.5) / scale */
    GCAM_COORD_HALF_PIXEL_SYMMETRIC, /* half_pixel re-centred when scale * in is not whole (opset 19) */
};

enum {
    GCAM_NEAREST_ROUND_PREFER_FLOOR = 0, /* ONNX default: x.5 goes down */
    GCAM_NEAREST_ROUND_PREFER_CEIL,
    GCAM_NEAREST_FLOOR,
    GCAM_NEAREST_CEIL,
    GCAM_NEAREST_SIMPLE, /* opset 10 Resize (onnxruntime): floor when upsampling, ceil when downsampling */
};

/* The source coordinate of output index x along one axis. */
double gcam_resize_coord(int coord_mode, int64_t x, double scale, int64_t in_len, int64_t out_len);

/* Linear taps of output index x: y = w0 * in[i0] + w1 * in[i1]. */
typedef struct gcam_lerp_tap {
    int64_t i0, i1;
    float w0, w1;
} gcam_lerp_tap;
gcam_lerp_tap gcam_resize_linear_tap(int coord_mode, int64_t x, double scale, int64_t in_len, int64_t out_len);

/* The source index of output index x in nearest mode, in [0, in_len-1]. */
int64_t gcam_resize_nearest_index(int coord_mode, int nearest_mode, int64_t x, double scale, int64_t in_len,
                                  int64_t out_len);

/* Bilinear resize of `planes` row-major ih x iw images into oh x ow, with
 * scale = oh/ih and ow/iw: the Grad-CAM map upsampling.  coord_mode is
 * GCAM_COORD_HALF_PIXEL (OpenCV INTER_LINEAR, torch align_corners=False) or
 * GCAM_COORD_ALIGN_CORNERS (any GCAM_COORD_* works).  Returns GCAM_OK, or
 * GCAM_E_ARG for an empty source with a non-empty destination or a negative size. */
int gcam_resize_bilinear_f32(const float *src, int64_t planes, int64_t ih, int64_t iw, float *dst, int64_t oh,
                             int64_t ow, int coord_mode);
#endif
