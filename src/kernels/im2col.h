/* im2col.h - sliding-window geometry shared by Conv and the pooling ops, and
 * the im2col / col2im kernels that turn a convolution into one GEMM per group.
 *
 * Every window op works on 1, 2 or 3 spatial dims.  The geometry is always
 * resolved to 3-D (D, H, W) by giving 1-D and 2-D tensors leading spatial
 * dims of size 1 (kernel 1, stride 1, no pads), so each kernel is written
 * once and the common 2-D case pays only for an outer loop of length 1.
 *
 * Column layout (im2col): row r = ((c * KD + kd) * KH + kh) * KW + kw, one
 * column per output position (od, oh, ow) in row-major order; entries that
 * read padding are 0.  This is the layout that makes W[M, C*KD*KH*KW] times
 * col[C*KD*KH*KW, OD*OH*OW] the convolution. */
#ifndef GCAM_IM2COL_H
#define GCAM_IM2COL_H

#include "gcam_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define GCAM_WIN_MAX_SP 3

enum {
    GCAM_AUTOPAD_NOTSET = 0,
    GCAM_AUTOPAD_SAME_UPPER,
    GCAM_AUTOPAD_SAME_LOWER,
    GCAM_AUTOPAD_VALID,
};

/* The window attributes as written on the node.  Counts are 0 when absent. */
typedef struct gcam_win_attr {
    int nk, ns, nd, np;
    int64_t k[GCAM_WIN_MAX_SP], s[GCAM_WIN_MAX_SP], d[GCAM_WIN_MAX_SP];
    int64_t pads[2 * GCAM_WIN_MAX_SP]; /* ONNX order: all begins, then all ends */
    int auto_pad;                      /* GCAM_AUTOPAD_* */
    int ceil_mode;
} gcam_win_attr;

/* Resolved geometry, padded to 3-D (index 0 = D, 1 = H, 2 = W). */
typedef struct gcam_win {
    int nsp; /* spatial dims of the actual tensor: 1..3 */
    int64_t in[3], out[3], k[3], s[3], d[3];
    int64_t pb[3], pe[3];                 /* pads at the begin / end of each dim */
    int64_t in_size, out_size, k_size;    /* products over the 3 dims */
} gcam_win;

/* Reads kernel_shape, strides, dilations, pads, auto_pad and ceil_mode from
 * the node and checks they are well formed (positive, at most 3-D, a known
 * auto_pad).  Errors name the node. */
int gcam_win_parse(const gcam_node *n, gcam_win_attr *a, gcam_err *e);
/* gcam_win_parse for pooling nodes, where kernel_shape is required. */
int gcam_pool_parse(const gcam_node *n, gcam_win_attr *a, gcam_err *e);

/* Resolves the geometry for an input with nsp spatial dims in_sp[], and a
 * kernel kernel[] (from kernel_shape or, for Conv, from W).  Applies auto_pad
 * (SAME_* pads so that out = ceil(in / stride)) and ceil_mode (PyTorch rule:
 * a last window that would start inside the end padding is dropped).
 * Returns 0, or -1 with a one-line reason in why. */
int gcam_win_plan(const gcam_win_attr *a, int nsp, const int64_t *in_sp, const int64_t *kernel,
                  gcam_win *w, char *why, size_t why_len);
/* The window of a pooling node over float32 X (1-D to 3-D), or a node error. */
int gcam_pool_geom(gcam_opctx *c, const gcam_win_attr *a, gcam_win *w);
/* Y's shape for a windowed op over X: X's rank, X's batch, `channels`, then
 * the window's output sizes (dtype left to the caller). */
void gcam_win_out_shape(const gcam_win *w, const gcam_tensor *x, int64_t channels, gcam_tensor *y);

/* The j in [0, n) for which 0 <= start + j * step < limit, as [*lo, *hi)
 * (empty: *lo == *hi).  step > 0.  Lets kernels drop bounds checks from
 * their inner loops. */
void gcam_win_range(int64_t start, int64_t step, int64_t n, int64_t limit, int64_t *lo,
                    int64_t *hi);

/* One kernel tap t (row-major over KD, KH, KW): the input coordinate that
 * output 0 reads in each dim, and the outputs [lo, hi) whose read lands inside
 * the input (the rest read padding). */
typedef struct gcam_win_tap {
    int64_t o0[3];
    int64_t lo[3], hi[3];
} gcam_win_tap;
void gcam_win_tap_of(const gcam_win *w, int64_t t, gcam_win_tap *p);

/* Output positions are taken in bands of whole output rows, so the column
 * buffer can be bounded for large images: "row" q is the flattened (od, oh)
 * pair, q in [0, out[0] * out[1]), and a band [row0, row0 + nrows) covers
 * nrows * out[2] consecutive output positions.
 *
 * gcam_im2col: x [channels, in...] -> col [channels * k_size, nrows * out[2]]
 * for the band.  Whole output: row0 = 0, nrows = out[0] * out[1]. */
void gcam_im2col(const float *x, int64_t channels, const gcam_win *w, int64_t row0, int64_t nrows,
                 float *col, int nthreads);
/* The adjoint of gcam_im2col for the same band: x += col2im(col).  Accumulates. */
void gcam_col2im_add(const float *col, int64_t channels, const gcam_win *w, int64_t row0,
                     int64_t nrows, float *x, int nthreads);

/* Threads an op should use: the context's count, or the OpenMP default. */
static inline int gcam_op_threads(const gcam_opctx *c)
{
    if (c->nthreads > 0) return c->nthreads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#endif
