/* scorecam.c - Score-CAM (Wang et al. 2020), pytorch-grad-cam's form: each
 * channel, upsampled to the input (bilinear, align_corners=True, as
 * torch.nn.UpsamplingBilinear2d) and min-max normalised, masks the input;
 * the target's score on each masked input goes through a softmax over the
 * channels, and that is the channel's weight.
 *
 * The paper's form (scorecam_baseline): w_k = p_c(X * H_k) - p_c(X_b), the
 * class probability (softmax over the classes) gained over a zero input X_b.
 *
 * Memory stays bounded: masked inputs stream through one batch of fixed size
 * (batch_size), built just before each pass, never all K at once.
 * max_channels N keeps the N channels of highest spatial variance (Faster
 * Score-CAM); the others get weight 0 and the softmax runs over the N.
 *
 * Channels that are zero everywhere (common after a ReLU) all give the same
 * all-zero mask, hence the same masked input (zeros) and the same score:
 * that input runs once and its score goes to every such channel.  This is
 * exact, not an approximation: the reference computes each of them.
 *
 * Where the input's only reader is a Conv, the network runs from that conv's
 * output instead, built from h * w precomputed convolutions of x times one
 * bilinear basis function each (maskconv.c): the same value up to float32
 * rounding, without the 3-channel conv on every masked input.
 *
 * A token or channels-last layer is read channels first on its h x w grid
 * (explain.c), as pytorch-grad-cam's reshape_transform gives ScoreCAM, and
 * its channels upsample from that grid the same way. */
#include <stdlib.h>

#include "cam/cam.h"

/* torch.nn.UpsamplingBilinear2d of Ak (h x w) to H x W, and its range */
static void upsample(const float *Ak, int h, int w, int H, int W, float *mask, float *lo_out, float *hi_out)
{
    /* align_corners=True: source = dst * (in - 1) / (out - 1), in float like torch */
    for (int y = 0; y < H; y++) {
        int y0, y1, x0, x1;
        float ly, lx;
        gcam_cam_corner_tap(h, H, y, &y0, &y1, &ly);
        float hy = 1.0f - ly;
        for (int x = 0; x < W; x++) {
            gcam_cam_corner_tap(w, W, x, &x0, &x1, &lx);
            float hx = 1.0f - lx;
            mask[(int64_t)y * W + x] = hy * (hx * Ak[y0 * w + x0] + lx * Ak[y0 * w + x1]) +
                                       ly * (hx * Ak[y1 * w + x0] + lx * Ak[y1 * w + x1]);
        }
    }
    int64_t n = (int64_t)H * W;
    float lo = mask[0], hi = mask[0];
    for (int64_t i = 1; i < n; i++) {
        lo = mask[i] < lo ? mask[i] : lo;
        hi = mask[i] > hi ? mask[i] : hi;
    }
    *lo_out = lo;
    *hi_out = hi;
}

void gcam_cam_scorecam_mask(const float *Ak, int h, int w, int H, int W, float *mask)
{
    float lo, hi;
    upsample(Ak, h, w, H, W, mask, &lo, &hi);
    int64_t n = (int64_t)H * W;
    float den = hi - lo + 1e-8f;
    for (int64_t i = 0; i < n; i++) {
        float v = (mask[i] - lo) / den;
        mask[i] = isfinite(v) ? v : 0.0f;
    }
}

void gcam_cam_softmax(const float *scores, int64_t K, float *w)
{
    double mx = -INFINITY, sum = 0.0;
    for (int64_t k = 0; k < K; k++)
        if (scores[k] > mx) mx = scores[k]; /* NaN never wins */
    if (!isfinite(mx)) { /* an infinite score, or none finite: uniform */
        for (int64_t k = 0; k < K; k++) w[k] = 1.0f / (float)K;
        return;
    }
    for (int64_t k = 0; k < K; k++)
        if (!isnan(scores[k])) sum += exp(scores[k] - mx);
    for (int64_t k = 0; k < K; k++) w[k] = isnan(scores[k]) ? 0.0f : (float)(exp(scores[k] - mx) / sum);
}

void gcam_cam_channel_variance(const float *A, int64_t K, int64_t HW, double *var)
{
    for (int64_t k = 0; k < K; k++) {
        double m = 0.0, s = 0.0;
        for (int64_t p = 0; p < HW; p++) m += A[k * HW + p];
        m /= (double)HW;
        for (int64_t p = 0; p < HW; p++) s += (A[k * HW + p] - m) * (A[k * HW + p] - m);
        var[k] = s / (double)HW;
    }
}

static int all_zero(const float *a, int64_t n)
{
    int64_t p = 0;
    while (p < n && a[p] == 0.0f) p++;
    return p == n;
}

typedef struct {
    double var;
    int64_t k;
} chan_var;

static int cmp_var_desc(const void *a, const void *b)
{
    const chan_var *x = a, *y = b;
    if (x->var != y->var) return x->var < y->var ? 1 : -1;
    return x->k < y->k ? -1 : x->k > y->k;
}

int gcam_cam_scorecam(gcam_cam_ctx *c, const float *A, int64_t K, int64_t h, int64_t wd, float *w)
{
    int64_t HW = h * wd;
    int64_t plane = c->H * c->W, img = c->C * plane;
    int64_t n_sel = K;
    if (c->o->max_channels > 0 && c->o->max_channels < K) n_sel = c->o->max_channels;
    int64_t *sel = gcam_malloc(sizeof(int64_t) * (size_t)K), *run = gcam_malloc(sizeof(int64_t) * (size_t)(K + 1));
    chan_var *cv = gcam_malloc(sizeof(chan_var) * (size_t)K);
    double *var = gcam_malloc(sizeof(double) * (size_t)K);
    float *scores = gcam_calloc((size_t)K, sizeof(float)), *sw = gcam_calloc((size_t)K, sizeof(float));
    float *mask = gcam_malloc(sizeof(float) * (size_t)plane);
    float *lo = gcam_malloc(sizeof(float) * (size_t)K), *hi = gcam_malloc(sizeof(float) * (size_t)K), *beta = NULL;
    gcam_suffix *v = NULL;
    gcam_maskconv *mc = NULL;
    int rc = GCAM_OK;
    if (!sel || !run || !cv || !var || !scores || !sw || !mask || !lo || !hi) {
        rc = gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
        goto done;
    }
    if (n_sel < K) {
        gcam_cam_channel_variance(A, K, HW, var);
        for (int64_t k = 0; k < K; k++) cv[k] = (chan_var){var[k], k};
        qsort(cv, (size_t)K, sizeof *cv, cmp_var_desc);
        for (int64_t i = 0; i < n_sel; i++) sel[i] = cv[i].k;
        /* channel order, so batches and the softmax see them as without selection */
        for (int64_t i = 1; i < n_sel; i++)
            for (int64_t j = i; j > 0 && sel[j - 1] > sel[j]; j--) {
                int64_t t = sel[j];
                sel[j] = sel[j - 1];
                sel[j - 1] = t;
            }
    } else {
        for (int64_t k = 0; k < K; k++) sel[k] = k;
    }
    /* the work list: every selected channel that is not all zero, then (if
     * any is) one item for the shared zero input, marked -1 */
    int64_t n_run = 0, n_zero = 0;
    for (int64_t i = 0; i < n_sel; i++) {
        if (!all_zero(A + sel[i] * HW, HW)) run[n_run++] = i;
        else n_zero++;
    }
    float zero_score = 0.0f; /* with the baseline: p_c(0) - p_c(0) */
    if (n_zero && !c->o->scorecam_baseline) run[n_run++] = -1;
    /* the first conv by linearity (maskconv.c) where it applies: each mask's
     * range first, for its coefficients; a channel whose range is lost in
     * its offset (or not finite) is left to the plain masked input */
    if ((rc = gcam_maskconv_new(c, (int)h, (int)wd, &mc))) goto done;
    for (int64_t r = 0; r < n_run && mc; r++) {
        if (run[r] < 0) continue;
        const float *Ak = A + sel[run[r]] * HW;
        upsample(Ak, (int)h, (int)wd, (int)c->H, (int)c->W, mask, &lo[run[r]], &hi[run[r]]);
        int ok = isfinite(hi[run[r]] - lo[run[r]]) && hi[run[r]] - lo[run[r]] > 1e-3f * fabsf(lo[run[r]]);
        for (int64_t p = 0; p < HW && ok; p++) ok = isfinite(Ak[p]);
        if (!ok) {
            gcam_maskconv_free(mc);
            mc = NULL;
        }
    }
    if (mc) {
        rc = gcam_cam_feed_view(c, gcam_maskconv_out(mc), &v);
        if (rc == GCAM_E_UNSUPPORTED || (!rc && v->n_sides)) {
            gcam_suffix_free(v);
            v = NULL;
            gcam_maskconv_free(mc);
            mc = NULL;
            rc = GCAM_OK;
        }
        if (rc) goto done;
    }
    if (!v && (rc = gcam_cam_input_view(c, NULL, &v))) goto done;
    gcam_tensor *in = &v->g.tensors[mc ? gcam_maskconv_out(mc) : c->input_t], *out = &v->g.tensors[c->target_t];
    int64_t B = v->batch, n1 = gcam_numel(out) / B;
    float *xin = gcam_f32(in);
    const int nhwc = (in->flags & GCAM_TF_NHWC) != 0;
    if (mc && !(beta = gcam_malloc(sizeof(float) * (size_t)(B * HW)))) {
        rc = gcam_errf(c->err, GCAM_E_NOMEM, "out of memory");
        goto done;
    }
    float base = 0.0f;
    if (c->o->scorecam_baseline) { /* p_c of the zero input */
        if (mc) {
            memset(beta, 0, sizeof(float) * (size_t)HW);
            rc = gcam_maskconv_run(mc, beta, 1, xin, nhwc, c->err);
        } else {
            memset(xin, 0, sizeof(float) * (size_t)(img * B));
        }
        if (rc || (rc = gcam_cam_view_pass(c, v, NULL, 1, 0))) goto done;
        base = gcam_cam_item_prob(c, gcam_f32(out), n1);
    }
    for (int64_t i0 = 0; i0 < n_run && !rc; i0 += B) {
        int64_t nb = n_run - i0 < B ? n_run - i0 : B;
        for (int64_t b = 0; b < nb; b++) {
            const int64_t k = run[i0 + b];
            if (mc) { /* beta = (A_k - lo) / den: the mask is sum_ij beta_ij B_ij */
                float *bk = beta + b * HW;
                if (k < 0) {
                    memset(bk, 0, sizeof(float) * (size_t)HW);
                    continue;
                }
                const float *Ak = A + sel[k] * HW, den = hi[k] - lo[k] + 1e-8f;
                for (int64_t p = 0; p < HW; p++) bk[p] = (Ak[p] - lo[k]) / den;
                continue;
            }
            float *dst = xin + b * img;
            if (k < 0) {
                memset(dst, 0, sizeof(float) * (size_t)img);
                continue;
            }
            gcam_cam_scorecam_mask(A + sel[k] * HW, (int)h, (int)wd, (int)c->H, (int)c->W, mask);
            if (c->nhwc) /* an NHWC input: each pixel's C values share its mask value */
                for (int64_t p = 0; p < plane; p++)
                    for (int64_t ch = 0; ch < c->C; ch++) dst[p * c->C + ch] = c->x[p * c->C + ch] * mask[p];
            else
                for (int64_t ch = 0; ch < c->C; ch++)
                    for (int64_t p = 0; p < plane; p++) dst[ch * plane + p] = c->x[ch * plane + p] * mask[p];
        }
        if (mc && (rc = gcam_maskconv_run(mc, beta, nb, xin, nhwc, c->err))) break;
        if ((rc = gcam_cam_view_pass(c, v, NULL, nb, 0))) break;
        const float *y = gcam_f32(out);
        for (int64_t b = 0; b < nb; b++) {
            float sc = c->o->scorecam_baseline ? gcam_cam_item_prob(c, y + b * n1, n1) - base
                                               : gcam_cam_item_score(c, y + b * n1, n1);
            if (run[i0 + b] < 0) zero_score = sc;
            else scores[run[i0 + b]] = sc;
        }
        gcam_cam_progress(c, "scorecam", i0 + nb, n_run);
    }
    if (!rc && n_zero)
        for (int64_t i = 0; i < n_sel; i++)
            if (all_zero(A + sel[i] * HW, HW)) scores[i] = zero_score;
    if (!rc) {
        for (int64_t k = 0; k < K; k++) w[k] = 0.0f;
        if (c->o->scorecam_baseline)
            for (int64_t i = 0; i < n_sel; i++) w[sel[i]] = isfinite(scores[i]) ? scores[i] : 0.0f;
        else {
            gcam_cam_softmax(scores, n_sel, sw);
            for (int64_t i = 0; i < n_sel; i++) w[sel[i]] = sw[i];
        }
    }
done:
    gcam_suffix_free(v);
    gcam_maskconv_free(mc);
    gcam_free(lo);
    gcam_free(hi);
    gcam_free(beta);
    gcam_free(sel);
    gcam_free(run);
    gcam_free(cv);
    gcam_free(var);
    gcam_free(scores);
    gcam_free(sw);
    gcam_free(mask);
    return rc;
}

int gcam_cam_map_scorecam(gcam_cam_ctx *c, gcam_cam_layer *l)
{
    l->kind = GCAM_LAYER_WEIGHTS;
    return gcam_cam_scorecam(c, l->A, l->K, l->info->grid_h, l->info->grid_w, l->w);
}
