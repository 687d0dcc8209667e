/* elementwise.c - drivers behind the elementwise op files: the unary block
 * loop, the broadcast walk, and the sum over broadcast dims that turns an
 * output gradient into the gradient of a broadcast operand.  See elementwise.h. */
#include "kernels/elementwise.h"
#include "kernels/dtype.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Work below this many elements runs on one thread: spawning costs more. */
#define EW_PAR_MIN 32768
/* Elements per parallel block: large enough to amortise scheduling, small
 * enough to balance the threads. */
#define EW_BLOCK 16384

gcam_ew_params *gcam_ew_params_new(gcam_node *n, gcam_err *e)
{
    gcam_ew_params *p = gcam_calloc(1, sizeof *p);
    if (!p) {
        gcam_errf(e, GCAM_E_NOMEM, "node '%s' (%s): out of memory", n->name ? n->name : "",
                  n->op_type);
        return NULL;
    }
    gcam_free(n->params);
    n->params = p;
    return p;
}

int gcam_ew_threads(const gcam_opctx *c)
{
    if (c && c->nthreads > 0) return c->nthreads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

const char *gcam_ew_dims_str(const int64_t *dims, int nd, char *buf, size_t size)
{
    size_t k = 0;
    if (size == 0) return buf;
    buf[0] = '\0';
    k += (size_t)snprintf(buf + k, size - k, "[");
    for (int i = 0; i < nd && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
    return buf;
}

/* ---- unary --------------------------------------------------------------------- */

int gcam_unary_infer(gcam_opctx *c)
{
    gcam_tensor *x = c->in[0], *y = c->out[0];
    if (!x) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "missing input");
    if (x->dtype != GCAM_DT_F32)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported (float32 only)",
                              gcam_dtype_name(x->dtype));
    y->dtype = GCAM_DT_F32;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    c->node->scratch = 0;
    c->node->bscratch = 0;
    return GCAM_OK;
}

int gcam_unary_forward(gcam_opctx *c, gcam_unary_fwd_fn fn, const gcam_ew_params *p)
{
    static const gcam_ew_params zero;
    const float *x = gcam_f32(c->in[0]);
    float *y = gcam_f32(c->out[0]);
    int64_t n = gcam_numel(c->in[0]);
    int nt = gcam_ew_threads(c);
    if (!p) p = &zero;
    int64_t nblk = (n + EW_BLOCK - 1) / EW_BLOCK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && n >= EW_PAR_MIN)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t i0 = b * EW_BLOCK, len = n - i0 < EW_BLOCK ? n - i0 : EW_BLOCK;
        fn(len, x + i0, y + i0, p);
    }
    return GCAM_OK;
}

int gcam_unary_backward(gcam_opctx *c, gcam_unary_bwd_fn fn, const gcam_ew_params *p)
{
    if (!c->din[0] || !c->dout[0]) return GCAM_OK;
    gcam_ew_params q = {0};
    if (p) q = *p;
    q.guided = c->guided;
    const float *x = gcam_f32(c->in[0]), *y = gcam_f32(c->out[0]);
    const float *dy = gcam_f32(c->dout[0]);
    float *dx = gcam_f32(c->din[0]);
    int64_t n = gcam_numel(c->in[0]);
    int nt = gcam_ew_threads(c);
    int64_t nblk = (n + EW_BLOCK - 1) / EW_BLOCK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && n >= EW_PAR_MIN)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t i0 = b * EW_BLOCK, len = n - i0 < EW_BLOCK ? n - i0 : EW_BLOCK;
        fn(len, x + i0, y + i0, dy + i0, dx + i0, &q);
    }
    return GCAM_OK;
}

/* ---- broadcast plan -------------------------------------------------------------- */

/* Contiguous element strides of a shape. */
static void contiguous_strides(const int64_t *d, int n, int64_t *s)
{
    int64_t acc = 1;
    for (int i = n - 1; i >= 0; i--) {
        s[i] = acc;
        acc *= d[i];
    }
}

int gcam_bcast_init(gcam_bcast *p, const int64_t *yd, int yn, const int64_t *ad, int an,
                    const int64_t *bd, int bn)
{
    int64_t as[GCAM_MAX_DIMS], bs[GCAM_MAX_DIMS];
    if (yn > GCAM_MAX_DIMS || an > yn || bn > yn || an < 0 || bn < 0) return -1;
    contiguous_strides(ad, an, as);
    contiguous_strides(bd, bn, bs);
    memset(p, 0, sizeof *p);
    p->n = 1;
    for (int d = 0; d < yn; d++) {
        int64_t size = yd[d];
        int ia = d - (yn - an), ib = d - (yn - bn);
        int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
        if ((da != size && da != 1) || (db != size && db != 1)) return -1;
        p->n *= size;
        if (size == 1) continue; /* contributes no index */
        int64_t sa = da == 1 ? 0 : as[ia], sb = db == 1 ? 0 : bs[ib];
        int k = p->nd;
        /* merge into the previous (outer) dim when both operands walk the pair
         * as one run: contiguous (outer stride = inner stride * inner size) or
         * both broadcast along it */
        if (k > 0 && p->sa[k - 1] == sa * size && p->sb[k - 1] == sb * size) {
            p->dims[k - 1] *= size;
            p->sa[k - 1] = sa;
            p->sb[k - 1] = sb;
        } else {
            p->dims[k] = size;
            p->sa[k] = sa;
            p->sb[k] = sb;
            p->nd++;
        }
    }
    if (p->nd == 0) { /* every dim is 1: one element */
        p->nd = 1;
        p->dims[0] = 1;
    }
    return 0;
}

void gcam_bcast_rows(const gcam_bcast *p, gcam_bin_row_fn fn, const gcam_bin_args *k,
                     int nthreads)
{
    if (p->n <= 0) return;
    const int last = p->nd - 1;
    const int64_t inner = p->dims[last];
    const int64_t rows = p->n / inner;
    const int64_t per = inner >= EW_BLOCK ? 1 : EW_BLOCK / inner; /* rows per block */
    const int64_t nblk = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(nthreads) \
    if (nthreads > 1 && nblk > 1 && p->n >= EW_PAR_MIN)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t r0 = blk * per, r1 = r0 + per < rows ? r0 + per : rows;
        int64_t idx[GCAM_MAX_DIMS], oa = 0, ob = 0, rem = r0;
        for (int d = last - 1; d >= 0; d--) {
            idx[d] = rem % p->dims[d];
            rem /= p->dims[d];
            oa += idx[d] * p->sa[d];
            ob += idx[d] * p->sb[d];
        }
        for (int64_t r = r0; r < r1; r++) {
            fn(k, inner, oa, p->sa[last], ob, p->sb[last], r * inner);
            /* odometer step over the outer dims */
            for (int d = last - 1; d >= 0; d--) {
                oa += p->sa[d];
                ob += p->sb[d];
                if (++idx[d] < p->dims[d]) break;
                oa -= p->sa[d] * p->dims[d];
                ob -= p->sb[d] * p->dims[d];
                idx[d] = 0;
            }
        }
    }
}

/* ---- reduction over broadcast dims ------------------------------------------------ */

typedef struct dimlist {
    int n;
    int64_t size[GCAM_MAX_DIMS], stride[GCAM_MAX_DIMS];
} dimlist;

/* Appends an inner dim, merging it into the previous one when contiguous. */
static void dl_push(dimlist *l, int64_t size, int64_t stride)
{
    if (l->n > 0 && l->stride[l->n - 1] == size * stride) {
        l->size[l->n - 1] *= size;
        l->stride[l->n - 1] = stride;
        return;
    }
    l->size[l->n] = size;
    l->stride[l->n] = stride;
    l->n++;
}

static int64_t dl_count(const dimlist *l)
{
    int64_t n = 1;
    for (int i = 0; i < l->n; i++) n *= l->size[i];
    return n;
}

/* Offset of linear index i over the dims [0, nd) of l. */
static int64_t dl_offset(const dimlist *l, int nd, int64_t i)
{
    int64_t off = 0;
    for (int d = nd - 1; d >= 0; d--) {
        off += (i % l->size[d]) * l->stride[d];
        i /= l->size[d];
    }
    return off;
}

/* Sum of n contiguous floats.  Eight explicit partial sums let the compiler
 * vectorise without reassociating one serial chain (no -ffast-math). */
static double sum_contig(const float *q, int64_t n)
{
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += q[i + j];
    double s = 0.0;
    for (; i < n; i++) s += q[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

/* Sum of p over rows [o0, o1) of the reduced dims r: a row is the innermost
 * reduced dim, the outer reduced dims are walked with an odometer. */
static double sum_rows(const dimlist *r, const float *p, int64_t o0, int64_t o1)
{
    if (r->n == 0) return o0 < o1 ? p[0] : 0.0;
    const int last = r->n - 1;
    const int64_t len = r->size[last], st = r->stride[last];
    int64_t idx[GCAM_MAX_DIMS], off = 0, rem = o0;
    for (int d = last - 1; d >= 0; d--) {
        idx[d] = rem % r->size[d];
        rem /= r->size[d];
        off += idx[d] * r->stride[d];
    }
    double s = 0.0;
    for (int64_t o = o0; o < o1; o++) {
        const float *q = p + off;
        if (st == 1) {
            s += sum_contig(q, len);
        } else {
            for (int64_t i = 0; i < len; i++) s += q[i * st];
        }
        for (int d = last - 1; d >= 0; d--) {
            off += r->stride[d];
            if (++idx[d] < r->size[d]) break;
            off -= r->stride[d] * r->size[d];
            idx[d] = 0;
        }
    }
    return s;
}

int gcam_reduce_to(float *dst, const int64_t *dd, int dn, const float *src, const int64_t *sd,
                   int sn, float scale, int accumulate, int nthreads)
{
    int64_t ss[GCAM_MAX_DIMS];
    dimlist kept = {0}, red = {0};
    if (sn > GCAM_MAX_DIMS || dn > sn || dn < 0) return -1;
    contiguous_strides(sd, sn, ss);
    for (int d = 0; d < sn; d++) {
        int id = d - (sn - dn);
        int64_t s = sd[d], t = id >= 0 ? dd[id] : 1;
        if (t != s && t != 1) return -1;
        if (s == 1) continue;
        if (t == s) dl_push(&kept, s, ss[d]);
        else dl_push(&red, s, ss[d]);
    }
    const int64_t nk = dl_count(&kept), nr = dl_count(&red);
    if (nk == 0) return 0;
    const int64_t rows = red.n ? nr / red.size[red.n - 1] : 1;
    if (nr == 0) { /* empty sum */
        if (!accumulate)
            for (int64_t k = 0; k < nk; k++) dst[k] = 0.0f;
        return 0;
    }
    const int par = nthreads > 1 && nk * nr >= EW_PAR_MIN;
    if (kept.n > 0 && kept.stride[kept.n - 1] == 1 && red.n > 0) {
        /* The innermost dim is kept, so the reduced dims are outer ones (sum
         * over the batch, or ReduceMean over channels of NCHW).  Summing each
         * output strided would walk memory across; instead add whole
         * contiguous runs of the kept dim into a block of accumulators. */
        enum { RB = 256 };
        const int64_t len = kept.size[kept.n - 1];
        const int64_t nblk_len = (len + RB - 1) / RB, tasks = (nk / len) * nblk_len;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par && tasks > 1)
        for (int64_t task = 0; task < tasks; task++) {
            const int64_t ko = task / nblk_len, j0 = (task % nblk_len) * RB;
            const int64_t bl = len - j0 < RB ? len - j0 : RB;
            const float *base = src + dl_offset(&kept, kept.n - 1, ko) + j0;
            double acc[RB];
            for (int64_t j = 0; j < bl; j++) acc[j] = 0.0;
            int64_t idx[GCAM_MAX_DIMS] = {0}, off = 0;
            for (int64_t r = 0; r < nr; r++) {
                const float *q = base + off;
                for (int64_t j = 0; j < bl; j++) acc[j] += q[j];
                for (int d = red.n - 1; d >= 0; d--) { /* odometer over every reduced dim */
                    off += red.stride[d];
                    if (++idx[d] < red.size[d]) break;
                    off -= red.stride[d] * red.size[d];
                    idx[d] = 0;
                }
            }
            float *o = dst + ko * len + j0;
            for (int64_t j = 0; j < bl; j++) {
                float v = (float)(acc[j] * scale);
                o[j] = accumulate ? o[j] + v : v;
            }
        }
        return 0;
    }
    if (!par || nk >= nthreads) {
        /* one output element per iteration: no two threads touch the same dst */
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par)
        for (int64_t k = 0; k < nk; k++) {
            double s = sum_rows(&red, src + dl_offset(&kept, kept.n, k), 0, rows);
            float v = (float)(s * scale);
            dst[k] = accumulate ? dst[k] + v : v;
        }
        return 0;
    }
    /* few outputs, each a long sum (a scalar operand's gradient): split each
     * sum's rows between the threads instead */
    for (int64_t k = 0; k < nk; k++) {
        const float *base = src + dl_offset(&kept, kept.n, k);
        const int64_t per = rows < nthreads ? 1 : (rows + nthreads - 1) / nthreads;
        const int64_t nblk = (rows + per - 1) / per;
        double s = 0.0;
#pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+ : s)
        for (int64_t b = 0; b < nblk; b++) {
            int64_t o0 = b * per, o1 = o0 + per < rows ? o0 + per : rows;
            s += sum_rows(&red, base, o0, o1);
        }
        float v = (float)(s * scale);
        dst[k] = accumulate ? dst[k] + v : v;
    }
    return 0;
}

static void expand_row(const gcam_bin_args *k, int64_t n, int64_t oa, int64_t sa, int64_t ob,
                       int64_t sb, int64_t oy)
{
    const float *a = (const float *)k->a + oa;
    float *out = (float *)k->out + oy;
    const float s = k->scale;
    if (sa == 0) {
        const float v = s * a[0];
        for (int64_t i = 0; i < n; i++) out[i] += v;
    } else {
        for (int64_t i = 0; i < n; i++) out[i] += s * a[i * sa];
    }
}

int gcam_expand_add(float *dst, const int64_t *dd, int dn, const float *src, const int64_t *sd,
                    int sn, float scale, int nthreads)
{
    gcam_bcast p;
    if (gcam_bcast_init(&p, dd, dn, sd, sn, sd, sn)) return -1;
    gcam_bin_args k = {.a = src, .b = src, .out = dst, .scale = scale};
    gcam_bcast_rows(&p, expand_row, &k, nthreads);
    return 0;
}

/* ---- binary ---------------------------------------------------------------------- */

int gcam_binary_shape(gcam_opctx *c)
{
    gcam_tensor *a = c->in[0], *b = c->node->n_in > 1 ? c->in[1] : NULL, *y = c->out[0];
    if (!a || !b) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "needs two inputs");
    if (gcam_broadcast_shape(a->dims, a->ndim, b->dims, b->ndim, y->dims, &y->ndim)) {
        char sa[128], sb[128];
        return gcam_node_errf(c, GCAM_E_SHAPE, "cannot broadcast %s with %s",
                              gcam_ew_dims_str(a->dims, a->ndim, sa, sizeof sa),
                              gcam_ew_dims_str(b->dims, b->ndim, sb, sizeof sb));
    }
    return GCAM_OK;
}

size_t gcam_binary_grad_scratch(const gcam_opctx *c)
{
    int64_t ny = gcam_numel(c->out[0]);
    if (gcam_numel(c->in[0]) == ny && gcam_numel(c->in[1]) == ny) return 0;
    return (size_t)ny * sizeof(float);
}

int gcam_binary_infer(gcam_opctx *c, int allow_i64)
{
    int rc = gcam_binary_shape(c);
    if (rc) return rc;
    gcam_tensor *a = c->in[0], *b = c->in[1];
    if (a->dtype != b->dtype)
        return gcam_node_errf(c, GCAM_E_DTYPE, "operand dtypes differ (%s and %s)",
                              gcam_dtype_name(a->dtype), gcam_dtype_name(b->dtype));
    if (a->dtype != GCAM_DT_F32 && !(allow_i64 && gcam_dt_is_int(a->dtype)))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported (float32%s only)",
                              gcam_dtype_name(a->dtype), allow_i64 ? " and int64" : "");
    c->out[0]->dtype = a->dtype;
    c->node->scratch = 0;
    c->node->bscratch = a->dtype == GCAM_DT_F32 ? gcam_binary_grad_scratch(c) : 0;
    return GCAM_OK;
}

/* dims of a rank <= 4 operand right-aligned to N, C, H, W, in NHWC order */
static void nhwc_dims(const gcam_tensor *x, int64_t d[4])
{
    int64_t a[4] = {1, 1, 1, 1};
    for (int i = 0; i < x->ndim && i < 4; i++) a[4 - x->ndim + i] = x->dims[i];
    d[0] = a[0];
    d[1] = a[2];
    d[2] = a[3];
    d[3] = a[1];
}

int gcam_binary_forward(gcam_opctx *c, const gcam_binary_kernels *k, const void *bdata)
{
    gcam_tensor *a = c->in[0], *b = c->in[1], *y = c->out[0];
    if (y->dtype != GCAM_DT_F32 && y->dtype != GCAM_DT_I64) {
        if (!k->si)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported", gcam_dtype_name(y->dtype));
        int64_t sa[GCAM_MAX_DIMS], sb[GCAM_MAX_DIMS];
        gcam_bstrides(y->dims, y->ndim, a->dims, a->ndim, sa);
        gcam_bstrides(y->dims, y->ndim, b->dims, b->ndim, sb);
        for (int64_t i = 0, n = gcam_numel(y); i < n; i++)
            gcam_set_i(y->data, y->dtype, i,
                       k->si(gcam_get_i(a->data, a->dtype, gcam_boff(i, y->dims, y->ndim, sa)),
                             gcam_get_i(b->data, b->dtype, gcam_boff(i, y->dims, y->ndim, sb))));
        return GCAM_OK;
    }
    gcam_bin_row_fn fn = y->dtype == GCAM_DT_I64 ? k->i64 : k->f32;
    if (!fn)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dtype %s not supported",
                              gcam_dtype_name(y->dtype));
    gcam_bcast p;
    int bad;
    if (y->flags & GCAM_TF_NHWC) {
        /* The planner stores y channels last only when each operand is too
         * or has no spatial extent (its bytes read the same either way):
         * broadcast over the dims in storage order, N, H, W, C. */
        int64_t yd[4], ad[4], bd[4];
        if (y->ndim != 4 || a->ndim > 4 || b->ndim > 4)
            return gcam_node_errf(c, GCAM_E_INTERNAL, "NHWC planned for a tensor that is not 4-D");
        nhwc_dims(y, yd);
        nhwc_dims(a, ad);
        nhwc_dims(b, bd);
        bad = gcam_bcast_init(&p, yd, 4, ad, 4, bd, 4);
    } else {
        bad = gcam_bcast_init(&p, y->dims, y->ndim, a->dims, a->ndim, b->dims, b->ndim);
    }
    if (bad) return gcam_node_errf(c, GCAM_E_SHAPE, "operands do not broadcast to the output");
    gcam_bin_args args = {.a = a->data, .b = bdata ? bdata : b->data, .out = y->data};
    gcam_bcast_rows(&p, fn, &args, gcam_ew_threads(c));
    return GCAM_OK;
}

int gcam_binary_backward(gcam_opctx *c, const gcam_binary_kernels *k, const void *bdata,
                         float *tmp)
{
    if (!c->dout[0]) return GCAM_OK;
    gcam_tensor *a = c->in[0], *b = c->in[1], *y = c->out[0];
    if (y->flags & GCAM_TF_NHWC) /* the planner keeps the backward pass's tensors plain */
        return gcam_node_errf(c, GCAM_E_INTERNAL, "backward through a tensor planned NHWC");
    const float *dy = gcam_f32(c->dout[0]);
    const int64_t ny = gcam_numel(y);
    const int nt = gcam_ew_threads(c);
    gcam_bcast p;
    if (gcam_bcast_init(&p, y->dims, y->ndim, a->dims, a->ndim, b->dims, b->ndim))
        return gcam_node_errf(c, GCAM_E_SHAPE, "operands do not broadcast to the output");
    if (!tmp) tmp = c->scratch;
    for (int i = 0; i < 2; i++) {
        if (!c->din[i]) continue;
        const gcam_tensor *x = c->in[i];
        float *dx = gcam_f32(c->din[i]);
        gcam_bin_row_fn g = i ? k->db : k->da;
        float lin = i ? k->db_linear : k->da_linear;
        /* same element count as the output means no broadcasting: the layouts
         * coincide and the gradient accumulates in place */
        int direct = gcam_numel(x) == ny;
        if (lin != 0.0f) {
            if (direct) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && ny >= EW_PAR_MIN)
                for (int64_t j = 0; j < ny; j++) dx[j] += lin * dy[j];
            } else {
                gcam_reduce_to(dx, x->dims, x->ndim, dy, y->dims, y->ndim, lin, 1, nt);
            }
            continue;
        }
        if (!g)
            return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "no gradient with respect to input %d", i);
        if (!direct) {
            if (!tmp) return gcam_node_errf(c, GCAM_E_INTERNAL, "backward scratch missing");
            memset(tmp, 0, (size_t)ny * sizeof(float));
        }
        gcam_bin_args args = {.a = a->data, .b = bdata ? bdata : b->data, .y = gcam_f32(y),
                              .dy = dy, .out = direct ? dx : tmp};
        gcam_bcast_rows(&p, g, &args, nt);
        if (!direct) gcam_reduce_to(dx, x->dims, x->ndim, tmp, y->dims, y->ndim, 1.0f, 1, nt);
    }
    return GCAM_OK;
}

/* A conv epilogue along a channels-last row (see elementwise.h).  The clones
 * stay static: clang 14 does not emit a target_clones function under its
 * plain name, so callers in other files could not link to it. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
bias_act_ch(float *y, const float *r, int64_t n, const float *a, const float *b, int act, float lo, float hi)
{
    if (r) {
        switch (act) {
        case GCAM_ACT_RELU:
            for (int64_t i = 0; i < n; i++) {
                float v = a[i] * y[i] + b[i] + r[i];
                y[i] = v < 0.0f ? 0.0f : v;
            }
            break;
        case GCAM_ACT_CLIP:
            for (int64_t i = 0; i < n; i++) {
                float v = a[i] * y[i] + b[i] + r[i];
                v = v < lo ? lo : v;
                y[i] = v > hi ? hi : v;
            }
            break;
        default:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] * y[i] + b[i] + r[i];
            break;
        }
        return;
    }
    switch (act) {
    case GCAM_ACT_RELU:
        for (int64_t i = 0; i < n; i++) {
            float v = a[i] * y[i] + b[i];
            y[i] = v < 0.0f ? 0.0f : v;
        }
        break;
    case GCAM_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) {
            float v = a[i] * y[i] + b[i];
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
        break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = a[i] * y[i] + b[i];
        break;
    }
}

void
gcam_bias_act_ch(float *y, const float *r, int64_t n, const float *a, const float *b, int act, float lo, float hi)
{
    bias_act_ch(y, r, n, a, b, act, lo, hi);
}
