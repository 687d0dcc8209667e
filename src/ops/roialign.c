/* RoiAlign (opsets 10-21): for each region (x1, y1, x2, y2 scaled by
 * spatial_scale, of the image batch_indices[r]), an output_height x
 * output_width grid of bins, each the average (mode avg) or maximum (max)
 * of sampling_ratio^2 bilinear samples (0: ceil(bin size) per axis).
 * coordinate_transformation_mode half_pixel (16's default) shifts by half
 * a pixel; output_half_pixel (10's behaviour) does not and makes regions
 * at least 1x1.  Samples follow onnxruntime: outside [-1, size] read 0,
 * then clamp.  Max mode takes the largest weighted corner, as onnxruntime
 * does.  Gradient w.r.t. X: dy spread with the same weights (avg) or to the
 * chosen corner (max); none to the regions. */
#include <math.h>

#include "kernels/dtype.h"

static int ra_check(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0], *r = gcam_in(c, 1), *b = gcam_in(c, 2);
    if (x->dtype != GCAM_DT_F32 || x->ndim != 4 || !r || r->dtype != GCAM_DT_F32 || r->ndim != 2 || r->dims[1] != 4 || !b ||
        !gcam_dt_is_int(b->dtype) || gcam_numel(b) != r->dims[0])
        return gcam_node_errf(c, GCAM_E_SHAPE, "X [N,C,H,W] float32, rois [R,4] float32, batch_indices [R] integer");
    const char *m = gcam_attr_str(c->node, "mode", "avg"), *ct = gcam_attr_str(c->node, "coordinate_transformation_mode", c->node->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if ((strcmp(m, "avg") && strcmp(m, "max")) || (strcmp(ct, "half_pixel") && strcmp(ct, "output_half_pixel")))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "mode '%s' / coordinate_transformation_mode '%s'", m, ct);
    return GCAM_OK;
}

static int ra_infer(gcam_opctx *c)
{
    int rc = ra_check(c);
    if (rc) return rc;
    gcam_tensor *y = c->out[0];
    y->dtype = GCAM_DT_F32;
    y->ndim = 4;
    y->dims[0] = gcam_in(c, 1)->dims[0];
    y->dims[1] = c->in[0]->dims[1];
    y->dims[2] = gcam_attr_int(c->node, "output_height", 1);
    y->dims[3] = gcam_attr_int(c->node, "output_width", 1);
    if (y->dims[2] < 1 || y->dims[3] < 1) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "output size");
    return GCAM_OK;
}

typedef struct { int64_t pos[4]; float w[4]; int valid; } ra_sample;

static ra_sample sample_at(double y, double x, int64_t H, int64_t W)
{
    ra_sample s = {{0, 0, 0, 0}, {0, 0, 0, 0}, 0};
    if (y < -1.0 || y > (double)H || x < -1.0 || x > (double)W) return s;
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int64_t yl = (int64_t)y, xl = (int64_t)x, yh, xh;
    if (yl >= H - 1) { yh = yl = H - 1; y = (double)yl; } else yh = yl + 1;
    if (xl >= W - 1) { xh = xl = W - 1; x = (double)xl; } else xh = xl + 1;
    const double ly = y - (double)yl, lx = x - (double)xl, hy = 1 - ly, hx = 1 - lx;
    s.pos[0] = yl * W + xl; s.pos[1] = yl * W + xh; s.pos[2] = yh * W + xl; s.pos[3] = yh * W + xh;
    s.w[0] = (float)(hy * hx); s.w[1] = (float)(hy * lx); s.w[2] = (float)(ly * hx); s.w[3] = (float)(ly * lx);
    s.valid = 1;
    return s;
}

static int ra_run(gcam_opctx *c, int grad)
{
    int rc = ra_check(c);
    if (rc) return rc;
    const gcam_tensor *x = c->in[0], *rois = gcam_in(c, 1), *bi = gcam_in(c, 2);
    const int64_t C = x->dims[1], H = x->dims[2], W = x->dims[3], R = rois->dims[0];
    const int64_t oh = gcam_attr_int(c->node, "output_height", 1), ow = gcam_attr_int(c->node, "output_width", 1);
    const int64_t sr = gcam_attr_int(c->node, "sampling_ratio", 0);
    const float scale = gcam_attr_float(c->node, "spatial_scale", 1.0f);
    const int half = !strcmp(gcam_attr_str(c->node, "coordinate_transformation_mode", c->node->opset >= 16 ? "half_pixel" : "output_half_pixel"), "half_pixel");
    const int mx = !strcmp(gcam_attr_str(c->node, "mode", "avg"), "max");
    for (int64_t r = 0; r < R; r++) {
        const float *box = gcam_f32(rois) + r * 4;
        const int64_t n = gcam_get_i(bi->data, bi->dtype, r);
        if (n < 0 || n >= x->dims[0]) return gcam_node_errf(c, GCAM_E_RANGE, "batch index %lld out of range", (long long)n);
        const double off = half ? 0.5 : 0.0;
        const double sw = box[0] * scale - off, sh = box[1] * scale - off;
        double rw = box[2] * scale - off - sw, rh = box[3] * scale - off - sh;
        if (!half) {
            rw = rw > 1 ? rw : 1;
            rh = rh > 1 ? rh : 1;
        }
        const double bh = rh / (double)oh, bw = rw / (double)ow;
        const int64_t gh = sr > 0 ? sr : (int64_t)ceil(rh / (double)oh), gw = sr > 0 ? sr : (int64_t)ceil(rw / (double)ow);
        const double count = gh * gw > 1 ? (double)(gh * gw) : 1.0;
        for (int64_t ch = 0; ch < C; ch++) {
            const float *plane = gcam_f32(x) + (n * C + ch) * H * W;
            for (int64_t ph = 0; ph < oh; ph++)
                for (int64_t pw = 0; pw < ow; pw++) {
                    const int64_t o = ((r * C + ch) * oh + ph) * ow + pw;
                    double acc = 0;
                    int have = 0;
                    int64_t best = -1;
                    double best_w = 0;
                    for (int64_t iy = 0; iy < gh; iy++)
                        for (int64_t ix = 0; ix < gw; ix++) {
                            const double yy = sh + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                            const double xx = sw + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                            ra_sample s = sample_at(yy, xx, H, W);
                            if (!mx) {
                                for (int q = 0; q < 4; q++) {
                                    if (grad) gcam_f32(c->din[0])[(n * C + ch) * H * W + s.pos[q]] += (float)(s.w[q] * gcam_f32(c->dout[0])[o] / count);
                                    else acc += s.w[q] * plane[s.pos[q]];
                                }
                                continue;
                            }
                            for (int q = 0; q < 4; q++) { /* invalid samples read 0 with weight 0 */
                                const double v = s.w[q] * plane[s.pos[q]];
                                if (!have || v > acc) {
                                    acc = v;
                                    best = s.valid ? s.pos[q] : -1;
                                    best_w = s.w[q];
                                    have = 1;
                                }
                            }
                        }
                    if (!grad) gcam_f32(c->out[0])[o] = (float)(mx ? acc : acc / count);
                    else if (mx && best >= 0)
                        gcam_f32(c->din[0])[(n * C + ch) * H * W + best] += (float)(best_w * gcam_f32(c->dout[0])[o]);
                }
        }
    }
    return GCAM_OK;
}

static int ra_forward(gcam_opctx *c) { return ra_run(c, 0); }
static int ra_backward(gcam_opctx *c) { return c->din[0] && c->dout[0] ? ra_run(c, 1) : GCAM_OK; }

const gcam_op gcam_op_RoiAlign = {.op_type = "RoiAlign", .since = 6, .required = 3, .infer = ra_infer, .forward = ra_forward, .backward = ra_backward};
