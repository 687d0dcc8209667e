/* localise.c - box-based measures: pointing game, energy-based pointing game,
 * and the Grad-CAM paper's threshold / largest component / IoU protocol.
 * Definitions: docs/eval.md. */
#include <math.h>
#include <stdlib.h>

#include "eval/eval.h"

int64_t gcam_eval_argmax(const float *map, int h, int w)
{
    int64_t n = (int64_t)h * w, best = -1;
    for (int64_t i = 0; i < n; i++) /* strict '>' keeps the first maximum */
        if (!isnan(map[i]) && (best < 0 || map[i] > map[best])) best = i;
    return best < 0 ? 0 : best;
}

int gcam_eval_point_in_boxes(double x, double y, const gcam_ebox *boxes, int n, double tol)
{
    for (int k = 0; k < n; k++) {
        const gcam_ebox *b = &boxes[k];
        if (tol <= 0) {
            if (x >= b->x0 && x < b->x1 && y >= b->y0 && y < b->y1) return 1;
            continue;
        }
        double dx = x < b->x0 ? b->x0 - x : x > b->x1 ? x - b->x1 : 0;
        double dy = y < b->y0 ? b->y0 - y : y > b->y1 ? y - b->y1 : 0;
        if (dx * dx + dy * dy <= tol * tol) return 1;
    }
    return 0;
}

int gcam_eval_pointing(const float *map, int h, int w, const gcam_ebox *boxes, int n, double tol, int64_t *arg)
{
    int64_t a = gcam_eval_argmax(map, h, w);
    if (arg) *arg = a;
    return gcam_eval_point_in_boxes((double)(a % w) + 0.5, (double)(a / w) + 0.5, boxes, n, tol);
}

double gcam_eval_energy(const float *map, int h, int w, const gcam_ebox *boxes, int n)
{
    double in = 0, all = 0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double v = map[(int64_t)i * w + j];
            if (!(v > 0)) continue; /* negatives and NaN carry no energy */
            all += v;
            if (gcam_eval_point_in_boxes(j + 0.5, i + 0.5, boxes, n, 0)) in += v;
        }
    return all > 0 ? in / all : 0;
}

int64_t gcam_eval_cam_box(const float *map, int h, int w, double frac, gcam_ebox *box)
{
    *box = (gcam_ebox){0, 0, 0, 0};
    int64_t n = (int64_t)h * w;
    if (n <= 0) return 0;
    float mx = map[gcam_eval_argmax(map, h, w)];
    if (!(mx > 0)) return 0;
    double thr = frac * mx;
    /* label[i]: -1 background, 0 foreground not yet visited, k > 0 component k.
     * The flood fill uses the tail of a second array as its stack. */
    int64_t *label = gcam_malloc(sizeof(int64_t) * (size_t)n * 2);
    if (!label) return GCAM_E_NOMEM;
    int64_t *stack = label + n;
    for (int64_t i = 0; i < n; i++) label[i] = map[i] >= thr ? 0 : -1;
    int64_t best_size = 0, ncomp = 0;
    for (int64_t s = 0; s < n; s++) {
        if (label[s] != 0) continue;
        int64_t k = ++ncomp, size = 0, top = 0;
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        label[s] = k;
        stack[top++] = s;
        while (top) {
            int64_t p = stack[--top];
            int py = (int)(p / w), px = (int)(p % w);
            size++;
            if (px < x0) x0 = px;
            if (px > x1) x1 = px;
            if (py < y0) y0 = py;
            if (py > y1) y1 = py;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qy = py + dy, qx = px + dx;
                    if (qy < 0 || qy >= h || qx < 0 || qx >= w) continue;
                    int64_t q = (int64_t)qy * w + qx;
                    if (label[q] == 0) {
                        label[q] = k;
                        stack[top++] = q; /* each pixel is pushed once: top <= n */
                    }
                }
        }
        if (size > best_size) { /* strict: the earlier component wins a tie */
            best_size = size;
            *box = (gcam_ebox){x0, y0, x1 + 1, y1 + 1};
        }
    }
    gcam_free(label);
    return best_size;
}

double gcam_eval_iou(const gcam_ebox *a, const gcam_ebox *b)
{
    double iw = fmin(a->x1, b->x1) - fmax(a->x0, b->x0);
    double ih = fmin(a->y1, b->y1) - fmax(a->y0, b->y0);
    double inter = iw > 0 && ih > 0 ? iw * ih : 0;
    double aa = fmax(0, a->x1 - a->x0) * fmax(0, a->y1 - a->y0);
    double ab = fmax(0, b->x1 - b->x0) * fmax(0, b->y1 - b->y0);
    double uni = aa + ab - inter;
    return uni > 0 ? inter / uni : 0;
}

double gcam_eval_best_iou(const gcam_ebox *a, const gcam_ebox *boxes, int n)
{
    double best = 0;
    for (int k = 0; k < n; k++) {
        double v = gcam_eval_iou(a, &boxes[k]);
        if (v > best) best = v;
    }
    return best;
}

int gcam_eval_box_to_input(const gcam_ebox *img, double rx, double ry, double rw, double rh, int W, int H,
                           gcam_ebox *out)
{
    gcam_ebox q = {(img->x0 - rx) * W / rw, (img->y0 - ry) * H / rh, (img->x1 - rx) * W / rw,
                   (img->y1 - ry) * H / rh};
    q.x0 = fmax(q.x0, 0);
    q.y0 = fmax(q.y0, 0);
    q.x1 = fmin(q.x1, W);
    q.y1 = fmin(q.y1, H);
    *out = q;
    return q.x0 < q.x1 && q.y0 < q.y1;
}

gcam_ebox gcam_eval_box_to_image(const gcam_ebox *in, double rx, double ry, double rw, double rh, int W, int H)
{
    return (gcam_ebox){rx + in->x0 * rw / W, ry + in->y0 * rh / H, rx + in->x1 * rw / W, ry + in->y1 * rh / H};
}
