/* conv_dnnl.c - oneDNN convolution primitives behind Conv (see conv_fast.h).
 *
 * One handle holds the primitives for one Conv shape and epilogue:
 *   forward:  [reorder x -> blocked]  conv  [reorder blocked -> y]
 *   backward: [reorder dy -> blocked] conv backward-data, reorder (sum) -> dx
 * Every oneDNN memory object is made once without data and pointed at the
 * caller's buffers on each call, and every primitive takes its scratchpad
 * from the caller's scratch (user scratchpad mode), so a run allocates
 * nothing.  The weights are reordered once, at creation. */
#include "kernels/bigmem.h"
#include "kernels/conv_fast.h"
#include "kernels/conv_taps.h"
#include "kernels/conv_wino.h"
#include "kernels/elementwise.h"
#include "kernels/silu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GCAM_HAVE_DNNL

int gcam_conv_fast_available(void) { return 0; }
int gcam_conv_fast_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int with_bwd,
                       gcam_conv_fast **out, char *why, size_t why_len)
{
    *out = NULL;
    snprintf(why, why_len, "built without oneDNN");
    return GCAM_E_UNSUPPORTED;
}
void gcam_conv_fast_free(gcam_conv_fast *f) {}
size_t gcam_conv_fast_scratch(const gcam_conv_fast *f) { return 0; }
size_t gcam_conv_fast_bscratch(const gcam_conv_fast *f) { return 0; }
int gcam_conv_fast_has_bwd(const gcam_conv_fast *f) { return 0; }
int gcam_conv_fast_forward(gcam_conv_fast *f, const float *x, float *y, const float *res, void *scratch)
{
    return GCAM_E_INTERNAL;
}
int gcam_conv_fast_backward_data(gcam_conv_fast *f, const float *dy, float *dx, void *scratch)
{
    return GCAM_E_INTERNAL;
}
const char *gcam_conv_fast_impl(const gcam_conv_fast *f) { return "none"; }
const char *gcam_conv_backend(void) { return "reference"; }
const char *gcam_dnnl_isa(void) { return "none"; }
const char *gcam_dnnl_version(void) { return "none"; }

#else

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>


#define ALIGN 64
static size_t align_up(size_t x) { return (x + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine; /* thread-safe; one per process */

static void make_engine(void)
{
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
}

int gcam_conv_fast_available(void) { return 1; }

const char *gcam_conv_backend(void) { return "onednn"; }

const char *gcam_dnnl_version(void)
{
    static char buf[32];
    if (!buf[0]) {
        const dnnl_version_t *v = dnnl_version();
        snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    }
    return buf;
}

const char *gcam_dnnl_isa(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_all: return "all";
    default: return "unknown";
    }
}

/* A reorder from one layout to another, optionally accumulating (dst += src). */
typedef struct reorder {
    dnnl_primitive_t p;
    size_t pad; /* scratchpad bytes */
} reorder;

struct gcam_conv_fast {
    dnnl_stream_t stream;
    char impl[64];
    /* forward */
    dnnl_primitive_t fwd;
    reorder src_in, dst_out; /* .p NULL: that side is already plain */
    dnnl_memory_t x_user, src, wts, bias, dst, y_user, pad;
    size_t res_bytes; /* a residual sum post-op: res is copied into y first (bytes), or 0 */
    size_t src_off, dst_off, pad_off, scratch; /* scratch layout */
    void *w_own, *b_own;                       /* weights / bias copies we own (NULL: borrowed) */
    /* backward data */
    dnnl_primitive_t bwd;
    reorder ddst_in, dsrc_out; /* ddst_in.p NULL: dy is used as is */
    dnnl_memory_t dy_user, ddst, bwts, dsrc, dx_user, bpad;
    size_t ddst_off, dsrc_off, bpad_off, bscratch;
    void *bw_own;
    /* GEMM mode, for pointwise convs: one sgemm per image, then one
     * vectorised bias + activation pass.  (oneDNN's GEMM convolution, which
     * it picks for a 1x1 conv on NCHW, applies bias and post-ops in a scalar
     * loop: 12% of resnet50's forward.) */
    int gemm;
    const float *gw;      /* M x C weights, borrowed */
    const float *gs, *gb; /* per output channel: scale (folded BatchNormalization) and bias, or NULL */
    int act;
    float lo, hi;
    int64_t N, C, M, HW;
    int nhwc_in, nhwc_out; /* x / y (and the residual) stored NHWC */
    int with_bwd, sum;
    gcam_conv_taps *taps; /* a dilated conv whose taps mostly read padding: per-tap GEMMs (conv_taps.c) */
    gcam_conv_wino *wino; /* a 3x3 stride-1 conv as Winograd F(4x4, 3x3) (conv_wino.c) */
    int64_t swish_after;  /* elements of y a separate SiLU pass runs over (split_swish), or 0 */
    double flops; /* of one forward: below SMALL_FLOPS it runs on one thread */
};

/* Below this many floating-point operations (~20 us on one core) a conv
 * runs on one thread: waking a second thread and meeting it at the barrier
 * costs as much as it saves, and far more when the machine is busy and the
 * thread is not scheduled promptly (EfficientNet's squeeze-excitation convs
 * on 1x1 maps, the 7x7 stages). */
#define SMALL_FLOPS 4e6

/* Sets the OpenMP team size oneDNN will use for the next call; returns the
 * previous one, to restore (0: nothing changed). */
static int narrow_threads(double flops)
{
    int nt = omp_get_max_threads();
    if (flops >= SMALL_FLOPS || nt <= 1) return 0;
    omp_set_num_threads(1);
    return nt;
}
static void restore_threads(int nt)
{
    if (nt) omp_set_num_threads(nt);
}

static int dnnl_err(dnnl_status_t s, const char *what, char *why, size_t n)
{
    snprintf(why, n, "oneDNN %s failed (status %d)", what, (int)s);
    return s == dnnl_out_of_memory ? GCAM_E_NOMEM : GCAM_E_UNSUPPORTED;
}
#define TRY(call, what)                            \
    do {                                           \
        dnnl_status_t s_ = (call);                 \
        if (s_ != dnnl_success) {                  \
            rc = dnnl_err(s_, what, why, why_len); \
            goto out;                              \
        }                                          \
    } while (0)

static dnnl_format_tag_t act_tag(int nd) { return nd == 3 ? dnnl_ncw : nd == 4 ? dnnl_nchw : dnnl_ncdhw; }
static dnnl_format_tag_t wts_tag(int nd, int grouped)
{
    if (grouped) return nd == 3 ? dnnl_goiw : nd == 4 ? dnnl_goihw : dnnl_goidhw;
    return nd == 3 ? dnnl_oiw : nd == 4 ? dnnl_oihw : dnnl_oidhw;
}

static dnnl_status_t mem_none(dnnl_memory_t *m, const dnnl_memory_desc_t *md)
{
    return dnnl_memory_create(m, md, engine, DNNL_MEMORY_NONE);
}

static size_t md_size(const dnnl_memory_desc_t *md) { return dnnl_memory_desc_get_size(md); }

/* attr with the scratchpad in user mode, plus post-ops (may be NULL) */
static dnnl_status_t user_attr(dnnl_primitive_attr_t *a, const_dnnl_post_ops_t po)
{
    dnnl_status_t s = dnnl_primitive_attr_create(a);
    if (s == dnnl_success) s = dnnl_primitive_attr_set_scratchpad_mode(*a, dnnl_scratchpad_mode_user);
    if (s == dnnl_success && po) s = dnnl_primitive_attr_set_post_ops(*a, po);
    return s;
}

static size_t pd_pad(const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return md ? md_size(md) : 0;
}

static dnnl_status_t make_reorder(reorder *r, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                  int accumulate)
{
    dnnl_primitive_attr_t a = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_success;
    if (accumulate) {
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(po, 1.0f);
    }
    if (s == dnnl_success) s = user_attr(&a, po);
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, a);
    if (s == dnnl_success) {
        r->pad = pd_pad(pd);
        s = dnnl_primitive_create(&r->p, pd);
    }
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(a);
    dnnl_post_ops_destroy(po);
    return s;
}

/* One-off reorder of constant data (the weights), optionally scaling the
 * output channels: mask selects the dims the scales run along. */
static dnnl_status_t reorder_now(dnnl_stream_t st, const dnnl_memory_desc_t *from, const void *src,
                                 const dnnl_memory_desc_t *to, void *dst, const float *scales,
                                 dnnl_dim_t n_scales, int mask)
{
    dnnl_primitive_attr_t a = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&a);
    if (s == dnnl_success && scales) s = dnnl_primitive_attr_set_output_scales(a, n_scales, mask, scales);
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, a);
    if (s == dnnl_success) s = dnnl_primitive_create(&p, pd);
    if (s == dnnl_success) s = dnnl_memory_create(&ms, from, engine, (void *)src);
    if (s == dnnl_success) s = dnnl_memory_create(&md, to, engine, dst);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
        s = dnnl_primitive_execute(p, st, 2, args);
        if (s == dnnl_success) s = dnnl_stream_wait(st);
    }
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(md);
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(a);
    return s;
}

static int is_ref_impl(const char *impl) { return !strncmp(impl, "ref", 3); }

void gcam_conv_fast_free(gcam_conv_fast *f)
{
    if (!f) return;
    dnnl_primitive_destroy(f->fwd);
    dnnl_primitive_destroy(f->src_in.p);
    dnnl_primitive_destroy(f->dst_out.p);
    dnnl_primitive_destroy(f->bwd);
    dnnl_primitive_destroy(f->ddst_in.p);
    dnnl_primitive_destroy(f->dsrc_out.p);
    dnnl_memory_t mems[] = {f->x_user,  f->src,  f->wts,  f->bias, f->dst,     f->y_user, f->pad,
                            f->dy_user, f->ddst, f->bwts, f->dsrc, f->dx_user, f->bpad};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++) dnnl_memory_destroy(mems[i]);
    dnnl_stream_destroy(f->stream);
    gcam_conv_taps_free(f->taps);
    gcam_conv_wino_free(f->wino);
    gcam_free(f->w_own);
    gcam_free(f->b_own);
    gcam_free(f->bw_own);
    gcam_free(f);
}

size_t gcam_conv_fast_scratch(const gcam_conv_fast *f) { return f ? f->scratch : 0; }
size_t gcam_conv_fast_bscratch(const gcam_conv_fast *f) { return f && (f->bwd || f->taps) ? f->bscratch : 0; }
int gcam_conv_fast_has_bwd(const gcam_conv_fast *f)
{
    return f && (f->bwd || f->taps || (f->gemm && f->with_bwd));
}
const char *gcam_conv_fast_impl(const gcam_conv_fast *f) { return f ? f->impl : "none"; }

static void *aligned_copy_alloc(size_t bytes) { return gcam_big_alloc(bytes); }

/* y[i] = act(a * y[i] + b) over one row.  Cloned per instruction set and
 * picked at load time (ifunc), so the binary does not depend on the build
 * machine's SIMD level; the activations are written as selects so each
 * clone vectorises. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
bias_act_row(float *y, int64_t n, float a, float b, int act, float lo, float hi)
{
    switch (act) {
    case GCAM_ACT_RELU:
        for (int64_t i = 0; i < n; i++) {
            float v = a * y[i] + b;
            y[i] = v < 0.0f ? 0.0f : v;
        }
        break;
    case GCAM_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) {
            float v = a * y[i] + b;
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
        break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = a * y[i] + b;
        break;
    }
}

/* The same with a residual operand: y[i] = act(a * y[i] + b + r[i]). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
bias_res_act_row(float *y, const float *r, int64_t n, float a, float b, int act, float lo, float hi)
{
    switch (act) {
    case GCAM_ACT_RELU:
        for (int64_t i = 0; i < n; i++) {
            float v = a * y[i] + b + r[i];
            y[i] = v < 0.0f ? 0.0f : v;
        }
        break;
    case GCAM_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) {
            float v = a * y[i] + b + r[i];
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
        break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = a * y[i] + b + r[i];
        break;
    }
}

static int gemm_mode_ok(int act)
{
    return act == GCAM_ACT_NONE || act == GCAM_ACT_RELU || act == GCAM_ACT_CLIP;
}

static int gemm_forward(gcam_conv_fast *f, const float *x, float *y, const float *res)
{
    const int64_t M = f->M, C = f->C, HW = f->HW;
    if (f->nhwc_in && f->nhwc_out) {
        /* Y[NHW x M] = X[NHW x C] W^T: the whole batch in one product */
        gcam_sgemm(0, 1, f->N * HW, M, C, 1.0f, x, C, f->gw, C, 0.0f, y, M);
    } else {
        for (int64_t n = 0; n < f->N; n++) {
            const float *xn = x + n * C * HW;
            float *yn = y + n * M * HW;
            if (f->nhwc_out) /* Y[HW x M] = X^T W^T, X plain (C x HW) */
                gcam_sgemm(1, 1, HW, M, C, 1.0f, xn, HW, f->gw, C, 0.0f, yn, M);
            else if (f->nhwc_in) /* Y[M x HW] = W X^T, X channels-last (HW x C) */
                gcam_sgemm(0, 1, M, HW, C, 1.0f, f->gw, C, xn, C, 0.0f, yn, HW);
            else
                gcam_sgemm(0, 0, M, HW, C, 1.0f, f->gw, C, xn, HW, 0.0f, yn, HW);
        }
    }
    if (!f->gb && !f->gs && !f->act && !res) return GCAM_OK;
    if (f->nhwc_out) {
        /* gemm_new made gs and gb (ones and zeros where absent) for this */
        const int64_t pix = f->N * HW;
#pragma omp parallel for schedule(static) if (pix * M > 32768)
        for (int64_t p = 0; p < pix; p++)
            gcam_bias_act_ch(y + p * M, res ? res + p * M : NULL, M, f->gs, f->gb, f->act, f->lo, f->hi);
        return GCAM_OK;
    }
    const int64_t rows = f->N * M;
#pragma omp parallel for schedule(static) if (rows * HW > 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float a = f->gs ? f->gs[r % M] : 1.0f, b = f->gb ? f->gb[r % M] : 0.0f;
        if (res)
            bias_res_act_row(y + r * HW, res + r * HW, HW, a, b, f->act, f->lo, f->hi);
        else
            bias_act_row(y + r * HW, HW, a, b, f->act, f->lo, f->hi);
    }
    return GCAM_OK;
}

/* dX[C, HW] += W^T[C, M] dY[M, HW]: straight into the accumulator. */
static int gemm_backward(gcam_conv_fast *f, const float *dy, float *dx)
{
    const int64_t M = f->M, C = f->C, HW = f->HW;
    for (int64_t n = 0; n < f->N; n++)
        gcam_sgemm(1, 0, C, HW, M, 1.0f, f->gw, C, dy + n * M * HW, HW, 1.0f, dx + n * C * HW, HW);
    return GCAM_OK;
}

/* A pointwise conv in GEMM mode.  The weights are always borrowed: a folded
 * BatchNormalization's scale is applied in the epilogue pass instead
 * (y = a * (W x) + b), which costs nothing in a pass that is memory-bound
 * anyway, and saves a copy of the weights. */
static int gemm_new(gcam_conv_fast *f, const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi,
                    int with_bwd)
{
    f->gemm = 1;
    f->N = g->N;
    f->C = g->C;
    f->M = g->M;
    f->HW = g->w.out_size;
    f->act = epi ? epi->act : GCAM_ACT_NONE;
    f->lo = epi ? epi->lo : 0.0f;
    f->hi = epi ? epi->hi : 0.0f;
    f->gw = W;
    f->nhwc_in = g->nhwc_in;
    f->nhwc_out = g->nhwc_out;
    float *own = NULL;
    int ns = epi && epi->wscale, nb = epi && epi->bias;
    /* channels last, the epilogue runs along channels: it wants both
     * vectors (1 * v + 0 is exactly v, as in the scalar pass) */
    int full = f->nhwc_out && (ns || nb || f->act || (epi && epi->sum));
    if (ns || nb || full) { /* scale then bias, M each, one allocation */
        if (!(own = aligned_copy_alloc(sizeof(float) * (size_t)(2 * g->M)))) return GCAM_E_NOMEM;
        f->b_own = own;
    }
    if (ns || full) {
        for (int64_t m = 0; m < g->M; m++) own[m] = ns ? epi->wscale[m] : 1.0f;
        f->gs = own;
    }
    if (nb || full) {
        for (int64_t m = 0; m < g->M; m++) own[g->M + m] = nb ? epi->bias[m] : 0.0f;
        f->gb = own + g->M;
    }
    f->with_bwd = with_bwd;
    f->sum = epi && epi->sum;
    snprintf(f->impl, sizeof f->impl, "gemm:%s", gcam_gemm_backend());
    return GCAM_OK;
}

static void drop_bwd(gcam_conv_fast *f)
{
    dnnl_primitive_destroy(f->bwd);
    dnnl_primitive_destroy(f->ddst_in.p);
    dnnl_primitive_destroy(f->dsrc_out.p);
    dnnl_memory_t mems[] = {f->dy_user, f->ddst, f->bwts, f->dsrc, f->dx_user, f->bpad};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++) dnnl_memory_destroy(mems[i]);
    gcam_free(f->bw_own);
    f->bwd = f->ddst_in.p = f->dsrc_out.p = NULL;
    f->dy_user = f->ddst = f->bwts = f->dsrc = f->dx_user = f->bpad = NULL;
    f->bw_own = NULL;
    f->bscratch = 0;
}

/* The backward-data primitive for the forward descriptor fd / primitive
 * descriptor pd (its hint).  wdata: the forward weights, shared when the
 * backward primitive wants the same layout. */
static dnnl_status_t make_bwd(gcam_conv_fast *f, const dnnl_convolution_desc_t *fd,
                              const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *x_md,
                              const dnnl_memory_desc_t *y_md, const dnnl_memory_desc_t *w_user_md,
                              const float *W, void *wdata)
{
    dnnl_convolution_desc_t bd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t bpd = NULL;
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_dims_t strides, dil, pl, pr;
    int nsp = fd->src_desc.ndims - 2;
    for (int i = 0; i < nsp; i++) {
        strides[i] = fd->strides[i];
        dil[i] = fd->dilates[i];
        pl[i] = fd->padding[0][i];
        pr[i] = fd->padding[1][i];
    }
    dnnl_memory_desc_t src_any = fd->src_desc, dst_any = fd->dst_desc, w_any = fd->weights_desc;
    dnnl_status_t s = dnnl_dilated_convolution_backward_data_desc_init(
        &bd, dnnl_convolution_direct, &src_any, &w_any, &dst_any, strides, dil, pl, pr);
    if (s == dnnl_success) s = user_attr(&attr, NULL);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&bpd, &bd, attr, engine, pd);
    const char *impl = NULL;
    if (s == dnnl_success) dnnl_primitive_desc_query(bpd, dnnl_query_impl_info_str, 0, &impl);
    /* oneDNN's reference code is slower than our col2im path */
    if (s == dnnl_success && (!impl || is_ref_impl(impl))) s = dnnl_unimplemented;
    if (s == dnnl_success) s = dnnl_primitive_create(&f->bwd, bpd);
    const dnnl_memory_desc_t *dsrc_md = NULL, *ddst_md = NULL, *bw_md = NULL;
    size_t pad = 0;
    if (s == dnnl_success) {
        dsrc_md = dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_src_md, 0);
        ddst_md = dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_dst_md, 0);
        bw_md = dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0);
        pad = pd_pad(bpd);
        s = mem_none(&f->dy_user, y_md);
    }
    if (s == dnnl_success) s = mem_none(&f->dx_user, x_md);
    if (s == dnnl_success) s = mem_none(&f->ddst, ddst_md);
    if (s == dnnl_success) s = mem_none(&f->dsrc, dsrc_md);
    if (s == dnnl_success && !dnnl_memory_desc_equal(ddst_md, y_md)) {
        s = make_reorder(&f->ddst_in, y_md, ddst_md, 0);
        if (f->ddst_in.pad > pad) pad = f->ddst_in.pad;
    }
    /* the primitive overwrites diff_src; the gradient contract accumulates */
    if (s == dnnl_success) {
        s = make_reorder(&f->dsrc_out, dsrc_md, x_md, 1);
        if (f->dsrc_out.pad > pad) pad = f->dsrc_out.pad;
    }
    if (s == dnnl_success) {
        size_t at = 0;
        if (f->ddst_in.p) {
            f->ddst_off = at;
            at += align_up(md_size(ddst_md));
        }
        f->dsrc_off = at;
        at += align_up(md_size(dsrc_md));
        f->bpad_off = at;
        at += align_up(pad);
        f->bscratch = at;
        dnnl_memory_desc_t pad_md;
        dnnl_dims_t pdims = {(dnnl_dim_t)(pad ? pad : 1)};
        s = dnnl_memory_desc_init_by_tag(&pad_md, 1, pdims, dnnl_u8, dnnl_x);
        if (s == dnnl_success) s = mem_none(&f->bpad, &pad_md);
    }
    void *bw = wdata;
    if (s == dnnl_success && !dnnl_memory_desc_equal(bw_md, w_md)) {
        if (!(f->bw_own = aligned_copy_alloc(md_size(bw_md))))
            s = dnnl_out_of_memory;
        else
            s = reorder_now(f->stream, w_user_md, W, bw_md, f->bw_own, NULL, 0, 0);
        bw = f->bw_own;
    }
    if (s == dnnl_success) s = dnnl_memory_create(&f->bwts, bw_md, engine, bw);
    dnnl_primitive_desc_destroy(bpd);
    dnnl_primitive_attr_destroy(attr);
    return s;
}

static int gemm_instance(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int with_bwd,
                         double flops, gcam_conv_fast **out)
{
    gcam_conv_fast *f = gcam_calloc(1, sizeof *f);
    if (!f) return GCAM_E_NOMEM;
    if (gemm_new(f, g, W, epi, with_bwd)) {
        gcam_conv_fast_free(f);
        return GCAM_E_NOMEM;
    }
    f->flops = flops;
    *out = f;
    return GCAM_OK;
}

/* One conv's shapes in oneDNN's terms. */
typedef struct conv_dims {
    int nd, wnd, grouped;
    dnnl_dims_t sd, dd, wd, bd, strides, dil, pl, pr;
} conv_dims;

static void conv_dims_of(const gcam_conv_geom *g, conv_dims *c)
{
    const gcam_win *w = &g->w;
    const int nsp = w->nsp, off = 3 - nsp;
    c->nd = 2 + nsp;
    c->grouped = g->G > 1;
    c->wnd = c->nd + c->grouped;
    c->sd[0] = c->dd[0] = g->N;
    c->sd[1] = g->C;
    c->dd[1] = g->M;
    if (c->grouped) {
        c->wd[0] = g->G;
        c->wd[1] = g->M / g->G;
        c->wd[2] = g->C / g->G;
    } else {
        c->wd[0] = g->M;
        c->wd[1] = g->C;
    }
    for (int i = 0; i < nsp; i++) {
        int j = off + i;
        c->sd[2 + i] = w->in[j];
        c->dd[2 + i] = w->out[j];
        c->wd[2 + c->grouped + i] = w->k[j];
        c->strides[i] = w->s[j];
        c->dil[i] = w->d[j] - 1;
        c->pl[i] = w->pb[j];
        c->pr[i] = w->pe[j];
    }
    c->bd[0] = g->M;
}

/* The epilogue as oneDNN post-ops: [sum with y] then the activation. */
static dnnl_status_t epilogue_post_ops(const gcam_conv_epi *epi, dnnl_post_ops_t *po)
{
    dnnl_status_t s = dnnl_post_ops_create(po);
    if (s != dnnl_success || !epi) return s;
    if (epi->sum) s = dnnl_post_ops_append_sum(*po, 1.0f);
    if (s != dnnl_success) return s;
    switch (epi->act) {
    case GCAM_ACT_RELU: return dnnl_post_ops_append_eltwise(*po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    case GCAM_ACT_CLIP: return dnnl_post_ops_append_eltwise(*po, 1.0f, dnnl_eltwise_clip, epi->lo, epi->hi);
    case GCAM_ACT_HARDSWISH: return dnnl_post_ops_append_eltwise(*po, 1.0f, dnnl_eltwise_hardswish, 0.0f, 0.0f);
    case GCAM_ACT_SWISH: return dnnl_post_ops_append_eltwise(*po, 1.0f, dnnl_eltwise_swish, 1.0f, 0.0f);
    default: return dnnl_success;
    }
}

/* The forward primitive descriptor with src and dst in the layouts given
 * (dnnl_format_tag_any: oneDNN's choice); cd receives the op descriptor. */
static dnnl_status_t fwd_pd(const conv_dims *c, dnnl_format_tag_t src_tag, dnnl_format_tag_t dst_tag, int with_bias, const_dnnl_primitive_attr_t attr,
                            dnnl_convolution_desc_t *cd, dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, dst, wts, b;
    dnnl_status_t s = dnnl_memory_desc_init_by_tag(&src, c->nd, c->sd, dnnl_f32, src_tag);
    if (s == dnnl_success) s = dnnl_memory_desc_init_by_tag(&dst, c->nd, c->dd, dnnl_f32, dst_tag);
    if (s == dnnl_success) s = dnnl_memory_desc_init_by_tag(&wts, c->wnd, c->wd, dnnl_f32, dnnl_format_tag_any);
    if (s == dnnl_success) s = dnnl_memory_desc_init_by_tag(&b, 1, c->bd, dnnl_f32, dnnl_x);
    if (s == dnnl_success)
        s = dnnl_dilated_convolution_forward_desc_init(cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wts,
                                                       with_bias ? &b : NULL, &dst, c->strides, c->dil, c->pl, c->pr);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(pd, cd, attr, engine, NULL);
    return s;
}

static const char *pd_impl(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return impl ? impl : "?";
}

/* Which layout the kernel reads and writes.  On AVX2, oneDNN 2.6 asked for
 * its preferred layout picks nChw8c, and a reorder then runs on each side of
 * the conv; its jit, jit_1x1 and jit_dw kernels read and write nhwc (and the
 * first conv's nchw) directly.  Measured per conv (2-vCPU EPYC, medians of
 * 10 runs): 1x1, depthwise and few-channel convs run up to 2x faster in the
 * caller's layout, reorders saved; a dense 3x3 conv with 64 or more input
 * channels runs as fast or faster blocked, reorders included (vgg16's
 * 112x112x128 conv: 23 ms blocked, 41 ms nhwc).  So: those dense convs get
 * oneDNN's layout, the rest the caller's unless that only has a GEMM-based
 * or reference kernel. */
static int prefers_blocked(const conv_dims *c)
{
    int64_t k = 1;
    for (int i = 2; i < c->nd; i++) k *= c->wd[i];
    return !c->grouped && k > 1 && c->wd[1] >= 64;
}

static dnnl_status_t choose_fwd_pd(const conv_dims *c, dnnl_format_tag_t x_tag, dnnl_format_tag_t y_tag, int with_bias,
                                   const_dnnl_primitive_attr_t attr, dnnl_convolution_desc_t *cd,
                                   dnnl_primitive_desc_t *pd)
{
    if (!prefers_blocked(c) && fwd_pd(c, x_tag, y_tag, with_bias, attr, cd, pd) == dnnl_success) {
        const char *impl = pd_impl(*pd);
        if (!is_ref_impl(impl) && !strstr(impl, "gemm")) return dnnl_success;
        dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
    }
    return fwd_pd(c, dnnl_format_tag_any, dnnl_format_tag_any, with_bias, attr, cd, pd);
}

/* The memory objects and reorders around the forward kernel, and the
 * layout of the caller's scratch: [src copy][dst copy][scratchpad]. */
static dnnl_status_t bind_forward(gcam_conv_fast *f, const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *x_md,
                                  const dnnl_memory_desc_t *y_md, int *layout_refused)
{
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    size_t pad = pd_pad(pd);
    dnnl_status_t s = mem_none(&f->x_user, x_md);
    if (s == dnnl_success) s = mem_none(&f->y_user, y_md);
    if (s == dnnl_success) s = mem_none(&f->src, src_md);
    if (s == dnnl_success) s = mem_none(&f->dst, dst_md);
    if (s == dnnl_success && !dnnl_memory_desc_equal(src_md, x_md)) {
        s = make_reorder(&f->src_in, x_md, src_md, 0);
        if (f->src_in.pad > pad) pad = f->src_in.pad;
    }
    if (s == dnnl_success && !dnnl_memory_desc_equal(dst_md, y_md)) {
        if (f->res_bytes) { /* the sum post-op reads y itself */
            *layout_refused = 1;
            return dnnl_unimplemented;
        }
        s = make_reorder(&f->dst_out, dst_md, y_md, 0);
        if (f->dst_out.pad > pad) pad = f->dst_out.pad;
    }
    if (s != dnnl_success) return s;
    if (f->src_in.p || f->dst_out.p) /* for conv-verbose: the layout changes around the kernel */
        snprintf(f->impl + strlen(f->impl), sizeof f->impl - strlen(f->impl), "%s%s", f->src_in.p ? " +reorder-in" : "",
                 f->dst_out.p ? " +reorder-out" : "");
    size_t at = 0;
    if (f->src_in.p) {
        f->src_off = at;
        at += align_up(md_size(src_md));
    }
    if (f->dst_out.p) {
        f->dst_off = at;
        at += align_up(md_size(dst_md));
    }
    f->pad_off = at;
    at += align_up(pad);
    f->scratch = at;
    dnnl_memory_desc_t pad_md;
    dnnl_dims_t pdims = {(dnnl_dim_t)(pad ? pad : 1)};
    s = dnnl_memory_desc_init_by_tag(&pad_md, 1, pdims, dnnl_u8, dnnl_x);
    if (s == dnnl_success) s = mem_none(&f->pad, &pad_md);
    return s;
}

/* Weights in the kernel's layout (borrowed when it is the caller's and
 * nothing is folded in; wscale folds BatchNormalization per output
 * channel) and the bias; *wdata receives the weights the kernel reads. */
static dnnl_status_t bind_weights(gcam_conv_fast *f, const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *w_user_md,
                                  const float *W, const conv_dims *c, const gcam_conv_epi *epi, void **wdata)
{
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const float *wscale = epi ? epi->wscale : NULL, *bias = epi ? epi->bias : NULL;
    dnnl_status_t s = dnnl_success;
    *wdata = (void *)W;
    if (wscale || !dnnl_memory_desc_equal(w_md, w_user_md)) {
        if (!(f->w_own = aligned_copy_alloc(md_size(w_md)))) return dnnl_out_of_memory;
        s = reorder_now(f->stream, w_user_md, W, w_md, f->w_own, wscale, c->bd[0], c->grouped ? 3 : 1);
        *wdata = f->w_own;
    }
    if (s == dnnl_success) s = dnnl_memory_create(&f->wts, w_md, engine, *wdata);
    if (s != dnnl_success || !bias) return s;
    if (!(f->b_own = aligned_copy_alloc(sizeof(float) * (size_t)c->bd[0]))) return dnnl_out_of_memory;
    memcpy(f->b_own, bias, sizeof(float) * (size_t)c->bd[0]);
    dnnl_memory_desc_t b_md;
    s = dnnl_memory_desc_init_by_tag(&b_md, 1, c->bd, dnnl_f32, dnnl_x);
    if (s == dnnl_success) s = dnnl_memory_create(&f->bias, &b_md, engine, f->b_own);
    return s;
}

/* oneDNN 2.6's swish post-op costs about 30 cycles per 8 outputs on AVX2:
 * a depthwise conv (memory-bound) ran 3x slower with it than without
 * (EfficientNet-B0's 112x112x32 one, 0.47 against 0.16 ms), and a pointwise
 * conv with few input channels 2-3x.  The conv runs without it and one
 * SiLU pass over y follows (silu.c, about 14 cycles per 8): 0.27 ms for
 * that depthwise conv, 1.02 -> 0.77 ms for the 112x112 16 -> 96 pointwise
 * one, never slower on EfficientNet-B0's shapes.  Where oneDNN runs its
 * AVX-512 kernels this is not measured, and the post-op stays.  Returns
 * the epilogue oneDNN is given. */
static gcam_conv_epi split_swish(const gcam_conv_geom *g, const gcam_conv_epi *epi, gcam_conv_fast *f)
{
    gcam_conv_epi e = *epi;
    if (epi->act == GCAM_ACT_SWISH && !epi->sum && strncmp(gcam_dnnl_isa(), "avx512", 6)) {
        e.act = GCAM_ACT_NONE;
        f->swish_after = g->N * g->M * g->w.out_size;
    }
    return e;
}

/* The oneDNN kernel for a conv that is not a plain GEMM. */
static int dnnl_instance(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int with_bwd,
                         double flops, gcam_conv_fast **out, char *why, size_t why_len)
{
    int rc = GCAM_OK, layout_refused = 0;
    conv_dims c;
    conv_dims_of(g, &c);
    gcam_conv_fast *f = gcam_calloc(1, sizeof *f);
    dnnl_memory_desc_t x_md, y_md, w_user_md;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    void *wdata = NULL;
    if (!f) return GCAM_E_NOMEM;
    f->flops = flops;
    if (epi && epi->sum) { /* y = act(conv(x) + y), y holding res (copied in first) */
        f->sum = 1;
    }
    const dnnl_format_tag_t x_tag = g->nhwc_in ? dnnl_nhwc : act_tag(c.nd);
    const dnnl_format_tag_t y_tag = g->nhwc_out ? dnnl_nhwc : act_tag(c.nd);
    TRY(dnnl_stream_create(&f->stream, engine, dnnl_stream_default_flags), "stream");
    TRY(dnnl_memory_desc_init_by_tag(&x_md, c.nd, c.sd, dnnl_f32, x_tag), "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&y_md, c.nd, c.dd, dnnl_f32, y_tag), "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&w_user_md, c.wnd, c.wd, dnnl_f32, wts_tag(c.nd, c.grouped)), "memory desc");
    if (f->sum) f->res_bytes = md_size(&y_md);
    gcam_conv_epi e_dnnl;
    if (epi) e_dnnl = split_swish(g, epi, f);
    TRY(epilogue_post_ops(epi ? &e_dnnl : NULL, &po), "post-ops");
    TRY(user_attr(&attr, po), "attributes");
    TRY(choose_fwd_pd(&c, x_tag, y_tag, epi && epi->bias, attr, &cd, &pd), "convolution");
    snprintf(f->impl, sizeof f->impl, "%s", pd_impl(pd));
    if (is_ref_impl(f->impl)) {
        snprintf(why, why_len, "oneDNN has only its reference code (%s) for this conv", f->impl);
        rc = GCAM_E_UNSUPPORTED;
        goto out;
    }
    TRY(dnnl_primitive_create(&f->fwd, pd), "convolution primitive");
    dnnl_status_t s = bind_forward(f, pd, &x_md, &y_md, &layout_refused);
    if (layout_refused) {
        snprintf(why, why_len, "oneDNN wants another layout for a conv with a residual sum");
        rc = GCAM_E_UNSUPPORTED;
        goto out;
    }
    TRY(s, "memory");
    TRY(bind_weights(f, pd, &w_user_md, W, &c, epi, &wdata), "weights reorder");
    if (with_bwd && make_bwd(f, &cd, pd, &x_md, &y_md, &w_user_md, W, wdata) != dnnl_success)
        drop_bwd(f); /* backward falls back to the reference kernels */
out:
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    dnnl_post_ops_destroy(po);
    if (rc) {
        gcam_conv_fast_free(f);
        return rc;
    }
    *out = f;
    return GCAM_OK;
}

/* A handle for one of our own kernels (taps, Winograd): no oneDNN objects. */
static gcam_conv_fast *own_kernel(double flops, const char *impl)
{
    gcam_conv_fast *f = gcam_calloc(1, sizeof *f);
    if (!f) return NULL;
    f->flops = flops;
    snprintf(f->impl, sizeof f->impl, "%s", impl);
    return f;
}

/* A dilated conv whose taps mostly read padding, as per-tap GEMMs
 * (conv_taps.c); GCAM_E_UNSUPPORTED when that does not apply. */
static int taps_instance(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, double flops,
                         gcam_conv_fast **out, char *why, size_t why_len)
{
    gcam_conv_taps *k = NULL;
    int rc = gcam_conv_taps_new(g, W, epi, &k);
    if (rc) return rc;
    gcam_conv_fast *f = own_kernel(flops, "taps:sgemm");
    if (!f) {
        gcam_conv_taps_free(k);
        return GCAM_E_NOMEM;
    }
    f->taps = k;
    f->scratch = f->bscratch = gcam_conv_taps_scratch(k);
    *out = f;
    return GCAM_OK;
}

/* A 3x3 stride-1 conv on channels-last input as Winograd F(4x4, 3x3)
 * (conv_wino.c), forward only; GCAM_E_UNSUPPORTED when that does not apply. */
static int wino_instance(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int with_bwd,
                         double flops, gcam_conv_fast **out)
{
    if (!g->winograd || with_bwd) return GCAM_E_UNSUPPORTED;
    gcam_conv_wino *k = NULL;
    int rc = gcam_conv_wino_new(g, W, epi, omp_get_max_threads(), &k);
    if (rc) return rc;
    gcam_conv_fast *f = own_kernel(flops, "winograd_4x3:avx2");
    if (!f) {
        gcam_conv_wino_free(k);
        return GCAM_E_NOMEM;
    }
    f->wino = k;
    f->scratch = gcam_conv_wino_scratch(k);
    *out = f;
    return GCAM_OK;
}

int gcam_conv_fast_new(const gcam_conv_geom *g, const float *W, const gcam_conv_epi *epi, int with_bwd,
                       gcam_conv_fast **out, char *why, size_t why_len)
{
    *out = NULL;
    why[0] = 0;
    pthread_once(&engine_once, make_engine);
    if (!engine) {
        snprintf(why, why_len, "no oneDNN CPU engine");
        return GCAM_E_UNSUPPORTED;
    }
    const gcam_win *w = &g->w;
    const int act = epi ? epi->act : GCAM_ACT_NONE;
    if (with_bwd && ((epi && epi->wscale) || act)) with_bwd = 0; /* a fused conv never lies on a gradient path */
    /* nor does a conv the planner gave an NHWC tensor (plan.c) */
    if (g->nhwc_in || g->nhwc_out) {
        if (w->nsp != 2) {
            snprintf(why, why_len, "NHWC is only planned for 2-D convolutions");
            return GCAM_E_UNSUPPORTED;
        }
        with_bwd = 0;
    }
    /* a pointwise conv is a GEMM on the plain layout, no reorders needed */
    int pointwise = g->G == 1;
    for (int i = 0; i < 3; i++)
        if (w->k[i] != 1 || w->s[i] != 1 || w->pb[i] || w->pe[i]) pointwise = 0;
    const double flops = 2.0 * (double)g->N * (double)g->M * (double)(g->C / g->G) * (double)w->k_size * (double)w->out_size;
    if (epi && epi->sum && !(pointwise && gemm_mode_ok(act))) {
        /* the planner fuses a residual Add only into pointwise convs */
        snprintf(why, why_len, "a residual sum is only fused into pointwise convolutions");
        return GCAM_E_UNSUPPORTED;
    }
    /* Channels last on both sides, oneDNN's 1x1 kernel (brgconv_1x1) beats
     * the GEMM and its separate epilogue pass; with a layout change, the
     * GEMM does the conversion for free. */
    const int pw_dnnl = pointwise && gemm_mode_ok(act) && g->nhwc_in && g->nhwc_out;
    if (pointwise && gemm_mode_ok(act) && !pw_dnnl) return gemm_instance(g, W, epi, with_bwd, flops, out);
    int rc = taps_instance(g, W, epi, flops, out, why, why_len);
    if (rc != GCAM_E_UNSUPPORTED) return rc;
    rc = wino_instance(g, W, epi, with_bwd, flops, out);
    if (rc != GCAM_E_UNSUPPORTED) return rc;
    rc = dnnl_instance(g, W, epi, with_bwd, flops, out, why, why_len);
    if (rc == GCAM_E_UNSUPPORTED && pw_dnnl) return gemm_instance(g, W, epi, with_bwd, flops, out);
    return rc;
}

static int exec(dnnl_primitive_t p, dnnl_stream_t st, int n, const dnnl_exec_arg_t *args)
{
    return dnnl_primitive_execute(p, st, n, args) == dnnl_success ? GCAM_OK : GCAM_E_INTERNAL;
}

static void set(dnnl_memory_t m, const void *p) { dnnl_memory_set_data_handle(m, (void *)p); }

/* memcpy, on the team only when it is big enough to pay for waking it */
static void copy_par(void *dst, const void *src, size_t bytes)
{
    const size_t chunk = (size_t)1 << 18, n = (bytes + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n >= 4)
    for (size_t i = 0; i < n; i++) {
        size_t off = i * chunk, len = off + chunk <= bytes ? chunk : bytes - off;
        memcpy((char *)dst + off, (const char *)src + off, len);
    }
}

static int fast_forward(gcam_conv_fast *f, const float *x, float *y, const float *res, void *scratch)
{
    if (f->gemm) return gemm_forward(f, x, y, f->sum ? res : NULL);
    if (f->taps) return gcam_conv_taps_forward(f->taps, x, y, scratch);
    if (f->wino) return gcam_conv_wino_forward(f->wino, x, y, scratch);
    unsigned char *s = scratch;
    if ((f->scratch && !s) || (f->res_bytes && !res)) return GCAM_E_INTERNAL;
    int rc = GCAM_OK;
    set(f->pad, s + f->pad_off);
    if (f->src_in.p) {
        set(f->x_user, x);
        set(f->src, s + f->src_off);
        dnnl_exec_arg_t a[3] = {
            {DNNL_ARG_FROM, f->x_user}, {DNNL_ARG_TO, f->src}, {DNNL_ARG_SCRATCHPAD, f->pad}};
        rc = exec(f->src_in.p, f->stream, 3, a);
    } else {
        set(f->src, x);
    }
    set(f->dst, f->dst_out.p ? (void *)(s + f->dst_off) : (void *)y);
    if (!rc) {
        dnnl_exec_arg_t a[6] = {{DNNL_ARG_SRC, f->src},
                                {DNNL_ARG_WEIGHTS, f->wts},
                                {DNNL_ARG_DST, f->dst},
                                {DNNL_ARG_SCRATCHPAD, f->pad}};
        int na = 4;
        if (f->bias) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, f->bias};
        if (f->res_bytes) {
            copy_par(y, res, f->res_bytes);
        }
        rc = exec(f->fwd, f->stream, na, a);
    }
    if (!rc && f->dst_out.p) {
        set(f->y_user, y);
        dnnl_exec_arg_t a[3] = {
            {DNNL_ARG_FROM, f->dst}, {DNNL_ARG_TO, f->y_user}, {DNNL_ARG_SCRATCHPAD, f->pad}};
        rc = exec(f->dst_out.p, f->stream, 3, a);
    }
    if (dnnl_stream_wait(f->stream) != dnnl_success && !rc) rc = GCAM_E_INTERNAL;
    if (!rc && f->swish_after) gcam_silu_inplace(y, f->swish_after);
    return rc;
}

static int fast_backward_data(gcam_conv_fast *f, const float *dy, float *dx, void *scratch)
{
    if (f->gemm && f->with_bwd) return gemm_backward(f, dy, dx);
    if (f->taps) return gcam_conv_taps_backward_data(f->taps, dy, dx, scratch);
    if (!f->bwd) return GCAM_E_INTERNAL;
    unsigned char *s = scratch;
    if (!s) return GCAM_E_INTERNAL;
    int rc = GCAM_OK;
    set(f->bpad, s + f->bpad_off);
    if (f->ddst_in.p) {
        set(f->dy_user, dy);
        set(f->ddst, s + f->ddst_off);
        dnnl_exec_arg_t a[3] = {
            {DNNL_ARG_FROM, f->dy_user}, {DNNL_ARG_TO, f->ddst}, {DNNL_ARG_SCRATCHPAD, f->bpad}};
        rc = exec(f->ddst_in.p, f->stream, 3, a);
    } else {
        set(f->ddst, dy);
    }
    set(f->dsrc, s + f->dsrc_off);
    if (!rc) {
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_DIFF_DST, f->ddst},
                                {DNNL_ARG_WEIGHTS, f->bwts},
                                {DNNL_ARG_DIFF_SRC, f->dsrc},
                                {DNNL_ARG_SCRATCHPAD, f->bpad}};
        rc = exec(f->bwd, f->stream, 4, a);
    }
    if (!rc) {
        set(f->dx_user, dx);
        dnnl_exec_arg_t a[3] = {
            {DNNL_ARG_FROM, f->dsrc}, {DNNL_ARG_TO, f->dx_user}, {DNNL_ARG_SCRATCHPAD, f->bpad}};
        rc = exec(f->dsrc_out.p, f->stream, 3, a);
    }
    if (dnnl_stream_wait(f->stream) != dnnl_success && !rc) rc = GCAM_E_INTERNAL;
    return rc;
}

int gcam_conv_fast_forward(gcam_conv_fast *f, const float *x, float *y, const float *res, void *scratch)
{
    int nt = narrow_threads(f->flops);
    int rc = fast_forward(f, x, y, res, scratch);
    restore_threads(nt);
    return rc;
}

int gcam_conv_fast_backward_data(gcam_conv_fast *f, const float *dy, float *dx, void *scratch)
{
    int nt = narrow_threads(f->flops);
    int rc = fast_backward_data(f, dy, dx, scratch);
    restore_threads(nt);
    return rc;
}

#endif
