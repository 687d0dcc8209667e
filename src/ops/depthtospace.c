/* DepthToSpace (DCR, default, or CRD mode) and SpaceToDepth on [N,C,H,W]
 * with blocksize b: a pure permutation of elements, so the gradient is the
 * inverse permutation of dy.  Any stored type. */
#include "kernels/dtype.h"

static int d2s_infer(gcam_opctx *c)
{
    const gcam_tensor *x = c->in[0];
    gcam_tensor *y = c->out[0];
    const int64_t b = gcam_attr_int(c->node, "blocksize", 0);
    if (x->ndim != 4 || b < 1) return gcam_node_errf(c, GCAM_E_SHAPE, "needs a 4-D input and blocksize >= 1");
    const int to_space = c->node->op_type[0] == 'D';
    const char *mode = gcam_attr_str(c->node, "mode", "DCR");
    if (to_space && strcmp(mode, "DCR") && strcmp(mode, "CRD")) return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "mode '%s'", mode);
    y->dtype = x->dtype;
    y->ndim = 4;
    y->dims[0] = x->dims[0];
    if (to_space) {
        if (x->dims[1] % (b * b)) return gcam_node_errf(c, GCAM_E_SHAPE, "channels %lld not divisible by blocksize^2", (long long)x->dims[1]);
        y->dims[1] = x->dims[1] / (b * b);
        y->dims[2] = x->dims[2] * b;
        y->dims[3] = x->dims[3] * b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b) return gcam_node_errf(c, GCAM_E_SHAPE, "H, W not divisible by blocksize");
        y->dims[1] = x->dims[1] * b * b;
        y->dims[2] = x->dims[2] / b;
        y->dims[3] = x->dims[3] / b;
    }
    return GCAM_OK;
}

/* offset in the depth-side tensor (N, C*b*b, H, W) of space-side element
 * (n, c, h, w) of (N, C, H*b, W*b) */
static int64_t depth_off(const gcam_tensor *dt, int64_t b, int crd, int64_t n, int64_t ch, int64_t h, int64_t w)
{
    const int64_t C = dt->dims[1] / (b * b), H = dt->dims[2], W = dt->dims[3];
    const int64_t bh = h % b, bw = w % b;
    const int64_t dc = crd ? (ch * b + bh) * b + bw : (bh * b + bw) * C + ch;
    return ((n * dt->dims[1] + dc) * H + h / b) * W + w / b;
}

static void permute(gcam_opctx *c, int grad)
{
    const int to_space = c->node->op_type[0] == 'D';
    const gcam_tensor *depth = to_space ? c->in[0] : c->out[0], *space = to_space ? c->out[0] : c->in[0];
    const int64_t b = gcam_attr_int(c->node, "blocksize", 1);
    const int crd = to_space && !strcmp(gcam_attr_str(c->node, "mode", "DCR"), "CRD");
    const size_t es = gcam_dtype_size(c->in[0]->dtype);
    const int64_t N = space->dims[0], C = space->dims[1], H = space->dims[2], W = space->dims[3];
    int64_t i = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++, i++) {
                    const int64_t d = depth_off(depth, b, crd, n, ch, h, w);
                    const int64_t src = to_space ? d : i, dst = to_space ? i : d;
                    if (grad) gcam_f32(c->din[0])[src] += gcam_f32(c->dout[0])[dst];
                    else memcpy((char *)c->out[0]->data + (size_t)dst * es, (const char *)c->in[0]->data + (size_t)src * es, es);
                }
}

static int d2s_forward(gcam_opctx *c)
{
    permute(c, 0);
    return GCAM_OK;
}

static int d2s_backward(gcam_opctx *c)
{
    if (c->din[0] && c->dout[0]) permute(c, 1);
    return GCAM_OK;
}

const gcam_op gcam_op_DepthToSpace = {.op_type = "DepthToSpace", .since = 1, .required = 1, .infer = d2s_infer, .forward = d2s_forward, .backward = d2s_backward};
const gcam_op gcam_op_SpaceToDepth = {.op_type = "SpaceToDepth", .since = 1, .required = 1, .infer = d2s_infer, .forward = d2s_forward, .backward = d2s_backward};
