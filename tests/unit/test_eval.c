/* test_eval.c - every measure of `gradcam eval` on a case worked out by hand
 * (definitions: docs/eval.md), and the boxes.csv reader's errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/eval.h"
#include "image/image.h"
#include "onnx_builder.h" /* ob_new, ob_tmpdir, ob_rmtree */
#include "test.h"

#define CHECK_ERR_HAS(e, s) CHECK_MSG(strstr((e).msg, (s)) != NULL, "message '%s' lacks '%s'", (e).msg, (s))
#define CHECK_BOX(b, X0, Y0, X1, Y1)                                                              \
    CHECK_MSG((b).x0 == (X0) && (b).y0 == (Y0) && (b).x1 == (X1) && (b).y1 == (Y1),                  \
              "box (%g,%g,%g,%g), expected (%g,%g,%g,%g)", (b).x0, (b).y0, (b).x1, (b).y1,           \
              (double)(X0), (double)(Y0), (double)(X1), (double)(Y1))

/* ---- pointing game -------------------------------------------------------- */

GCAM_TEST(eval_pointing_hit_miss)
{
    /* 4 rows x 5 columns, maximum 0.9 at row 2, column 3: centre (3.5, 2.5) */
    float map[20] = {0};
    map[2 * 5 + 3] = 0.9f;
    map[0] = 0.5f;
    int64_t arg = -1;
    gcam_ebox on = {3, 2, 4, 3}, off = {0, 0, 3, 2}, edge = {0, 0, 3.5, 2.5};
    CHECK(gcam_eval_pointing(map, 4, 5, &on, 1, 0, &arg) == 1);
    CHECK(arg == 13);
    CHECK(gcam_eval_pointing(map, 4, 5, &off, 1, 0, NULL) == 0);
    /* half-open: a box ending exactly at the centre does not contain it, one
     * starting there does */
    CHECK(gcam_eval_pointing(map, 4, 5, &edge, 1, 0, NULL) == 0);
    CHECK(gcam_eval_pointing(map, 4, 5, &(gcam_ebox){0, 0, 3.5, 3}, 1, 0, NULL) == 0);
    CHECK(gcam_eval_pointing(map, 4, 5, &(gcam_ebox){0, 0, 4, 2.5}, 1, 0, NULL) == 0);
    CHECK(gcam_eval_pointing(map, 4, 5, &(gcam_ebox){3.5, 2.5, 4, 3}, 1, 0, NULL) == 1);
    /* any of several boxes */
    gcam_ebox two[2] = {off, on};
    CHECK(gcam_eval_pointing(map, 4, 5, two, 2, 0, NULL) == 1);
    CHECK(gcam_eval_pointing(map, 4, 5, two, 1, 0, NULL) == 0);
    /* tolerance: (3.5, 2.5) is sqrt(0.5^2 + 0.5^2) = 0.7071 from box [0,3) x [0,2) */
    CHECK(gcam_eval_pointing(map, 4, 5, &off, 1, 0.70, NULL) == 0);
    CHECK(gcam_eval_pointing(map, 4, 5, &off, 1, 0.71, NULL) == 1);
}

GCAM_TEST(eval_pointing_ties_first_in_row_major)
{
    float map[12] = {0};          /* 3 x 4 */
    map[1 * 4 + 2] = 1.0f;        /* (row 1, col 2): index 6 */
    map[2 * 4 + 0] = 1.0f;        /* (row 2, col 0): index 8 */
    map[0 * 4 + 3] = NAN;         /* NaN is never the maximum */
    CHECK(gcam_eval_argmax(map, 3, 4) == 6);
    gcam_ebox at6 = {2, 1, 3, 2}, at8 = {0, 2, 1, 3};
    CHECK(gcam_eval_pointing(map, 3, 4, &at6, 1, 0, NULL) == 1);
    CHECK(gcam_eval_pointing(map, 3, 4, &at8, 1, 0, NULL) == 0);
    float zero[4] = {0, 0, 0, 0};
    CHECK(gcam_eval_argmax(zero, 2, 2) == 0); /* flat map: the first pixel */
}

/* ---- energy-based pointing game ------------------------------------------- */

GCAM_TEST(eval_energy_share)
{
    float map[16]; /* 4 x 4, values 1..16 row-major, total 136 */
    for (int i = 0; i < 16; i++) map[i] = (float)(i + 1);
    gcam_ebox tl = {0, 0, 2, 2}; /* 1 + 2 + 5 + 6 = 14 */
    CHECK_NEAR(gcam_eval_energy(map, 4, 4, &tl, 1), 14.0 / 136, 1e-12);
    /* union, overlap counted once: [0,2)x[0,2) and [1,3)x[0,1): + pixel (0, 2) = 3 */
    gcam_ebox two[2] = {{0, 0, 2, 2}, {1, 0, 3, 1}};
    CHECK_NEAR(gcam_eval_energy(map, 4, 4, two, 2), 17.0 / 136, 1e-12);
    /* fractional box edges: a pixel counts when its centre is inside */
    gcam_ebox frac = {0.4, 0.6, 1.5, 1.4}; /* centres (0.5, 0.5)? y 0.5 < 0.6: no; (0.5, 1.5)? 1.5 >= 1.4: no */
    CHECK_NEAR(gcam_eval_energy(map, 4, 4, &frac, 1), 0.0, 0);
    gcam_ebox frac2 = {0.4, 0.4, 1.6, 1.6}; /* centres (0.5,0.5),(1.5,0.5),(0.5,1.5),(1.5,1.5) */
    CHECK_NEAR(gcam_eval_energy(map, 4, 4, &frac2, 1), 14.0 / 136, 1e-12);
    CHECK_NEAR(gcam_eval_energy(map, 4, 4, &(gcam_ebox){0, 0, 4, 4}, 1), 1.0, 1e-12);
    /* negatives carry no energy: the map [-5, 1 ; 1, 2] has energy 4, 1 of it in the first column */
    float neg[4] = {-5, 1, 1, 2};
    CHECK_NEAR(gcam_eval_energy(neg, 2, 2, &(gcam_ebox){0, 0, 1, 2}, 1), 0.25, 1e-12);
    float zero[4] = {0};
    CHECK_NEAR(gcam_eval_energy(zero, 2, 2, &tl, 1), 0.0, 0);
}

/* ---- the Grad-CAM paper's localisation ------------------------------------ */

GCAM_TEST(eval_cam_box_threshold_component_iou)
{
    /* 6 rows x 8 columns, max 1.0.  Threshold 0.15:
     *  A: the diagonal (0,0)..(4,4) plus (5,5) = 0.15 (kept: >=) - 6 pixels,
     *     connected only through corners (8-connectivity), bbox [0,6) x [0,6);
     *     (5,6) = 0.14 is below the threshold (else x1 would be 7).
     *  B: a 2x2 block at rows 0-1, columns 6-7 - 4 pixels (the largest
     *     component under 4-connectivity, where A falls apart into singletons). */
    const char *pic[6] = {
        "9.....55",
        ".8....55",
        "..7.....",
        "...6....",
        "....2...",
        ".....xy.",
    };
    float map[48];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 8; j++) {
            char ch = pic[i][j];
            map[i * 8 + j] = ch == '.' ? 0.0f : ch == 'x' ? 0.15f : ch == 'y' ? 0.14f : (float)(ch - '0') / 9.0f;
        }
    map[0] = 1.0f;
    gcam_ebox box;
    CHECK(gcam_eval_cam_box(map, 6, 8, 0.15, &box) == 6);
    CHECK_BOX(box, 0, 0, 6, 6);
    /* IoU with [0,6) x [0,4): 24 / 36 */
    gcam_ebox gt1 = {0, 0, 6, 4}, gt2 = {3, 3, 9, 9};
    CHECK_NEAR(gcam_eval_iou(&box, &gt1), 24.0 / 36, 1e-12);
    /* with [3,9) x [3,9): 9 / (36 + 36 - 9) */
    CHECK_NEAR(gcam_eval_iou(&box, &gt2), 9.0 / 63, 1e-12);
    gcam_ebox both[2] = {gt2, gt1};
    CHECK_NEAR(gcam_eval_best_iou(&box, both, 2), 24.0 / 36, 1e-12);
    CHECK(gcam_eval_best_iou(&box, both, 2) >= 0.5);
    CHECK(gcam_eval_best_iou(&box, &gt2, 1) < 0.5);
    /* a higher threshold (0.5 of max): A keeps (0,0),(1,1),(2,2),(3,3) = 4 pixels,
     * B's 0.556 survives with 4 pixels too: the tie goes to A (first in row-major) */
    CHECK(gcam_eval_cam_box(map, 6, 8, 0.5, &box) == 4);
    CHECK_BOX(box, 0, 0, 4, 4);
    /* 0.6: A keeps 4 (6/9 = 0.667 >= 0.6), B is gone */
    CHECK(gcam_eval_cam_box(map, 6, 8, 0.6, &box) == 4);
    CHECK_BOX(box, 0, 0, 4, 4);
    /* 0.7: (0,0),(1,1),(2,2) - 7/9 = 0.778 */
    CHECK(gcam_eval_cam_box(map, 6, 8, 0.7, &box) == 3);
    CHECK_BOX(box, 0, 0, 3, 3);
    /* the threshold is inclusive: 0.5 of max 1 keeps the 0.5 pixel */
    float two[2] = {1.0f, 0.5f};
    CHECK(gcam_eval_cam_box(two, 1, 2, 0.5, &box) == 2);
    CHECK_BOX(box, 0, 0, 2, 1);
    /* an empty map has no box */
    float zero[4] = {0};
    CHECK(gcam_eval_cam_box(zero, 2, 2, 0.15, &box) == 0);
    CHECK(gcam_eval_iou(&box, &gt1) == 0);
    /* disjoint and touching boxes have IoU 0; identical ones 1 */
    gcam_ebox a = {0, 0, 2, 2}, b = {2, 0, 4, 2};
    CHECK(gcam_eval_iou(&a, &b) == 0);
    CHECK(gcam_eval_iou(&a, &a) == 1);
}

GCAM_TEST(eval_box_mapping)
{
    /* a 96x96 photo, no crop, 48x48 input: halve */
    gcam_ebox in;
    CHECK(gcam_eval_box_to_input(&(gcam_ebox){10, 20, 30, 40}, 0, 0, 96, 96, 48, 48, &in) == 1);
    CHECK_BOX(in, 5, 10, 15, 20);
    /* a crop: the input (224x224) covers x in [16, 240), y in [0, 224) of a 256x224 photo */
    CHECK(gcam_eval_box_to_input(&(gcam_ebox){0, 10, 40, 20}, 16, 0, 224, 224, 224, 224, &in) == 1);
    CHECK_BOX(in, 0, 10, 24, 20); /* clipped on the left */
    CHECK(gcam_eval_box_to_input(&(gcam_ebox){0, 10, 16, 20}, 16, 0, 224, 224, 224, 224, &in) == 0);
    gcam_ebox back = gcam_eval_box_to_image(&(gcam_ebox){0, 10, 24, 20}, 16, 0, 224, 224, 224, 224);
    CHECK_BOX(back, 16, 10, 40, 20);
}

/* ---- deletion / insertion -------------------------------------------------- */

GCAM_TEST(eval_rank_order)
{
    float map[6] = {0.5f, 0.9f, 0.5f, NAN, 0.1f, 0.9f};
    int64_t order[6];
    CHECK(gcam_eval_rank(map, 6, order) == 0);
    int64_t want[6] = {1, 5, 0, 2, 4, 3}; /* ties by index, NaN last */
    for (int i = 0; i < 6; i++) CHECK_MSG(order[i] == want[i], "order[%d] = %lld, want %lld", i, (long long)order[i], (long long)want[i]);
    /* many ties: each value's pixels stay in row-major order */
    enum { N = 1000 };
    float *m = malloc(sizeof(float) * N);
    int64_t *o = malloc(sizeof(int64_t) * N);
    CHECK(m && o);
    for (int i = 0; i < N; i++) m[i] = (float)((i * 7) % 3);
    CHECK(gcam_eval_rank(m, N, o) == 0);
    int ok = 1;
    for (int k = 1; k < N; k++)
        ok &= m[o[k - 1]] > m[o[k]] || (m[o[k - 1]] == m[o[k]] && o[k - 1] < o[k]);
    free(m);
    free(o);
    CHECK(ok);
}

GCAM_TEST(eval_auc_trapezoid)
{
    double x[3] = {0, 0.5, 1}, y[3] = {1, 0.5, 0};
    CHECK_NEAR(gcam_eval_auc(x, y, 3), 0.5, 1e-15);
    double x2[4] = {0, 0.25, 0.5, 1}, y2[4] = {0, 1, 1, 1}; /* 0.125 + 0.25 + 0.5 */
    CHECK_NEAR(gcam_eval_auc(x2, y2, 4), 0.875, 1e-15);
    CHECK(gcam_eval_auc(x, y, 1) == 0);
}

/* A toy model: its score is the mean over the 2 channels of pixel 1 (in a
 * 2x2 image), so only pixel 1 matters. */
typedef struct {
    int calls;
} toy;
static int toy_score(void *ctx, const float *x, double *s)
{
    ((toy *)ctx)->calls++;
    *s = (x[0 * 4 + 1] + x[1 * 4 + 1]) / 2.0;
    return 0;
}
static int failing_score(void *ctx, const float *x, double *s)
{
    (void)x;
    *s = 0;
    return ++((toy *)ctx)->calls == 3 ? GCAM_E_INTERNAL : 0;
}

GCAM_TEST(eval_deletion_insertion_toy_model)
{
    float x[8], base[8], work[8];
    for (int i = 0; i < 8; i++) { x[i] = 1; base[i] = 0; }
    double curve[5], frac[5];
    int64_t order[4];
    toy t = {0};
    /* a good map ranks pixel 1 first: deletion drops at once, insertion rises at once */
    float good[4] = {0.2f, 1.0f, 0.1f, 0.0f};
    CHECK(gcam_eval_rank(good, 4, order) == 0);
    CHECK(gcam_eval_curve(x, base, 2, 2, 2, order, 4, 0, toy_score, &t, work, curve, frac) == 0);
    double want_del[5] = {1, 0, 0, 0, 0}, want_frac[5] = {0, 0.25, 0.5, 0.75, 1};
    for (int k = 0; k < 5; k++) {
        CHECK_NEAR(curve[k], want_del[k], 0);
        CHECK_NEAR(frac[k], want_frac[k], 0);
    }
    CHECK(t.calls == 5);
    CHECK_NEAR(gcam_eval_auc(frac, curve, 5), 0.125, 1e-15);
    CHECK(gcam_eval_curve(x, base, 2, 2, 2, order, 4, 1, toy_score, &t, work, curve, frac) == 0);
    CHECK_NEAR(gcam_eval_auc(frac, curve, 5), 0.875, 1e-15);
    /* a bad map ranks pixel 1 last: the areas swap */
    float bad[4] = {0.9f, 0.0f, 0.5f, 0.7f};
    CHECK(gcam_eval_rank(bad, 4, order) == 0);
    CHECK(gcam_eval_curve(x, base, 2, 2, 2, order, 4, 0, toy_score, &t, work, curve, frac) == 0);
    CHECK_NEAR(gcam_eval_auc(frac, curve, 5), 0.875, 1e-15);
    CHECK(gcam_eval_curve(x, base, 2, 2, 2, order, 4, 1, toy_score, &t, work, curve, frac) == 0);
    CHECK_NEAR(gcam_eval_auc(frac, curve, 5), 0.125, 1e-15);
    /* 3 steps over 4 pixels: n_k = floor(4k/3) = 0, 1, 2, 4 */
    CHECK(gcam_eval_rank(good, 4, order) == 0);
    CHECK(gcam_eval_curve(x, base, 2, 2, 2, order, 3, 0, toy_score, &t, work, curve, frac) == 0);
    CHECK_NEAR(frac[1], 0.25, 0);
    CHECK_NEAR(frac[2], 0.5, 0);
    CHECK_NEAR(frac[3], 1.0, 0);
    CHECK_NEAR(gcam_eval_auc(frac, curve, 4), 0.125, 1e-15);
    /* both channels move: with the baseline in only one channel the score would be 0.5 */
    for (int k = 1; k < 4; k++) CHECK_NEAR(curve[k], 0, 0);
    /* the inputs are not modified */
    for (int i = 0; i < 8; i++) CHECK(x[i] == 1 && base[i] == 0);
    /* a failing model stops the curve with its status */
    toy f = {0};
    CHECK(gcam_eval_curve(x, base, 2, 2, 2, order, 4, 0, failing_score, &f, work, curve, frac) == GCAM_E_INTERNAL);
    CHECK(f.calls == 3);
}

GCAM_TEST(eval_blur)
{
    /* a constant image stays constant, borders included */
    float c[25], out[25], tmp[25];
    for (int i = 0; i < 25; i++) c[i] = 3.0f;
    gcam_eval_blur(c, 1, 5, 5, 2.0, out, tmp);
    for (int i = 0; i < 25; i++) CHECK_NEAR(out[i], 3.0, 1e-6);
    /* a delta at the centre of 15x15, sigma 1 (radius 3): the centre keeps
     * (1/S)^2, S = 1 + 2(e^-1/2 + e^-2 + e^-9/2) = 2.5059490; its 4-neighbour
     * e^-1/2 / S^2; the corner of the 7x7 support e^-9/2 e^-9/2 / S^2.  No
     * window of a non-zero output reaches the border, so the mass stays 1. */
    float d[225] = {0}, o[225], t2[225];
    d[112] = 1;
    gcam_eval_blur(d, 1, 15, 15, 1.0, o, t2);
    double S = 1 + 2 * (exp(-0.5) + exp(-2.0) + exp(-4.5));
    CHECK_NEAR(o[112], 1 / (S * S), 1e-7);
    CHECK_NEAR(o[113], exp(-0.5) / (S * S), 1e-7);
    CHECK_NEAR(o[112 + 15 * 3 + 3], exp(-4.5) * exp(-4.5) / (S * S), 1e-9);
    CHECK_NEAR(o[112 + 4], 0, 0); /* beyond the radius */
    double total = 0;
    for (int i = 0; i < 225; i++) total += o[i];
    CHECK_NEAR(total, 1, 1e-6);
    /* at the border the taps outside are dropped and the rest renormalised:
     * a 1x5 row with a delta at its right end keeps 1 / (1 + e^-1/2 + e^-2 + e^-9/2) */
    float row[5] = {0, 0, 0, 0, 1}, ro[5], rt[5];
    gcam_eval_blur(row, 1, 1, 5, 1.0, ro, rt);
    CHECK_NEAR(ro[4], 1 / (1 + exp(-0.5) + exp(-2.0) + exp(-4.5)), 1e-7);
    /* pixel 1 sees columns 0..4 (d = -1..3): weight e^-9/2 on the delta */
    CHECK_NEAR(ro[1], exp(-4.5) / (exp(-0.5) + 1 + exp(-0.5) + exp(-2.0) + exp(-4.5)), 1e-9);
    /* sigma 0 copies */
    gcam_eval_blur(d, 1, 15, 15, 0, o, t2);
    CHECK(o[112] == 1 && o[113] == 0);
}

/* ---- Average Drop / Increase ---------------------------------------------- */

GCAM_TEST(eval_average_drop_increase)
{
    /* drops 0.4/0.8 = 0.5, 0 (0.6 > 0.5), 0 (equal): mean 1/6 -> 16.67 %;
     * increases: only the second (strictly greater) -> 1/3 -> 33.33 % */
    double Y[3] = {0.8, 0.5, 0.4}, O[3] = {0.4, 0.6, 0.4};
    CHECK_NEAR(gcam_eval_average_drop(Y, O, 3), 100.0 / 6, 1e-12);
    CHECK_NEAR(gcam_eval_average_increase(Y, O, 3), 100.0 / 3, 1e-12);
    /* Y = 0 has no relative drop: left out of the drop, kept in the increase */
    double Y2[2] = {0.0, 0.5}, O2[2] = {0.1, 0.25};
    CHECK_NEAR(gcam_eval_average_drop(Y2, O2, 2), 50.0, 1e-12);
    CHECK_NEAR(gcam_eval_average_increase(Y2, O2, 2), 50.0, 1e-12);
    CHECK(gcam_eval_average_drop(Y, O, 0) == 0);
}

GCAM_TEST(eval_mask_input_and_scores)
{
    float x[8] = {1, 2, 3, 4, -1, -2, -3, -4}, map[4] = {0, 0.5f, 1, 0.25f}, out[8];
    gcam_eval_mask_input(x, map, 2, 2, 2, out);
    float want[8] = {0, 1, 3, 1, 0, -1, -3, -1};
    for (int i = 0; i < 8; i++) CHECK_NEAR(out[i], want[i], 0);
    float z[2] = {0, (float)log(3.0)};
    CHECK_NEAR(gcam_eval_prob(z, 2, 1, GCAM_EVAL_SOFTMAX), 0.75, 1e-7);
    CHECK_NEAR(gcam_eval_prob(z, 2, 0, GCAM_EVAL_SOFTMAX), 0.25, 1e-7);
    CHECK_NEAR(gcam_eval_prob(z, 2, 0, GCAM_EVAL_SIGMOID), 0.5, 1e-15);
    CHECK_NEAR(gcam_eval_prob(z, 2, 1, GCAM_EVAL_SIGMOID), 0.75, 1e-7);
    CHECK_NEAR(gcam_eval_prob(z, 2, 1, GCAM_EVAL_LOGIT), log(3.0), 1e-7);
    float big[2] = {1000, -1000}; /* no overflow */
    CHECK_NEAR(gcam_eval_prob(big, 2, 0, GCAM_EVAL_SOFTMAX), 1, 1e-12);
    CHECK_NEAR(gcam_eval_prob(big, 2, 1, GCAM_EVAL_SIGMOID), 0, 1e-12);
}

/* ---- boxes.csv ----------------------------------------------------------- */

static const char *const LABELS[3] = {"Sneaker", "Bag", "Ankle-boot"};

static int parse(const char *text, gcam_boxes *b, gcam_err *e)
{
    memset(e, 0, sizeof *e);
    return gcam_boxes_parse(text, strlen(text), "boxes.csv", LABELS, 3, 3, b, e);
}

GCAM_TEST(eval_boxes_parse_ok)
{
    gcam_boxes b;
    gcam_err e;
    const char *csv = "\xEF\xBB\xBFimage,label,x0,y0,x1,y1\r\n"
                      "scene_01.png,Bag,26,40,49,67\r\n"
                      "\r\n"
                      "\"scene, 2.png\",\"Ankle-boot\", 1.5 ,2,3e1,40\n"
                      "scene_03.png,Sneaker,0,0,96,96";
    CHECK_MSG(parse(csv, &b, &e) == 0, "%s", e.msg);
    CHECK(b.n == 3);
    CHECK(!strcmp(b.v[0].image, "scene_01.png") && b.v[0].cls == 1 && b.v[0].line == 2);
    CHECK_BOX(b.v[0].box, 26, 40, 49, 67);
    CHECK(!strcmp(b.v[1].image, "scene, 2.png") && b.v[1].cls == 2 && b.v[1].line == 4);
    CHECK_BOX(b.v[1].box, 1.5, 2, 30, 40);
    CHECK(b.v[2].cls == 0 && b.v[2].line == 5);
    /* in the image, on its edge, outside it */
    CHECK(gcam_boxes_check(&b.v[2], "boxes.csv", 96, 96, &e) == 0);
    CHECK(gcam_boxes_check(&b.v[2], "boxes.csv", 95, 96, &e) == GCAM_E_RANGE);
    CHECK_ERR_HAS(e, "boxes.csv:5: box (0,0,96,96) is outside the 95x96 image scene_03.png");
    gcam_boxes_free(&b);
    gcam_boxes_free(&b); /* twice is harmless */
    /* no labels in the model: class indices */
    memset(&e, 0, sizeof e);
    CHECK(gcam_boxes_parse("image,label,x0,y0,x1,y1\na.png,7,0,0,1,1\n", 40, "b.csv", NULL, 0, 10, &b, &e) == 0);
    CHECK(b.n == 1 && b.v[0].cls == 7);
    gcam_boxes_free(&b);
    CHECK(gcam_boxes_parse("image,label,x0,y0,x1,y1\na.png,10,0,0,1,1\n", 41, "b.csv", NULL, 0, 10, &b, &e) ==
          GCAM_E_NOTFOUND);
    CHECK_ERR_HAS(e, "b.csv:2: label '10'");
}

GCAM_TEST(eval_boxes_errors)
{
    gcam_boxes b;
    gcam_err e;
    CHECK(parse("image,label,x0,y0,x1\nscene.png,Bag,1,2,3\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "boxes.csv:1: bad header 'image,label,x0,y0,x1'");
    CHECK(b.n == 0 && b.v == NULL);
    CHECK(parse("file,label,x0,y0,x1,y1\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "bad header");
    CHECK(parse("", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "empty file");
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Bag,1,2,3\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "boxes.csv:2: expected 6 fields");
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Bag,1,2,3,4\na.png,Bag,1,two,3,4\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "boxes.csv:3: y0 'two' is not a number");
    CHECK(b.n == 0 && b.v == NULL); /* nothing leaks out of a failed parse */
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Bag,1,2,3,nan\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "y1 'nan' is not a number");
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Bag,1,2,3,4x\n", &b, &e) == GCAM_E_PARSE);
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Bag,,2,3,4\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "x0 '' is not a number");
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Boot,1,2,3,4\n", &b, &e) == GCAM_E_NOTFOUND);
    CHECK_ERR_HAS(e, "boxes.csv:2: unknown label 'Boot'");
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Bag,5,2,5,4\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "boxes.csv:2: empty box");
    CHECK(parse("image,label,x0,y0,x1,y1\n\"a.png,Bag,1,2,3,4\n", &b, &e) == GCAM_E_PARSE);
    CHECK_ERR_HAS(e, "unterminated");
    memset(&e, 0, sizeof e);
    CHECK(gcam_boxes_load("/nonexistent/boxes.csv", LABELS, 3, 3, &b, &e) == GCAM_E_IO);
    CHECK_ERR_HAS(e, "cannot open boxes file /nonexistent/boxes.csv: No such file or directory");
    /* a negative coordinate parses, then fails the image check */
    CHECK(parse("image,label,x0,y0,x1,y1\na.png,Bag,-1,2,3,4\n", &b, &e) == 0);
    CHECK(gcam_boxes_check(&b.v[0], "boxes.csv", 96, 96, &e) == GCAM_E_RANGE);
    CHECK_ERR_HAS(e, "outside the 96x96 image a.png");
    gcam_boxes_free(&b);
    /* every message is one line */
    CHECK(strchr(e.msg, '\n') == NULL);
}

GCAM_TEST(eval_boxes_load_file)
{
    char path[] = "/tmp/gcam_boxes_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *csv = "image,label,x0,y0,x1,y1\nscene_01.png,Sneaker,56,9,90,26\n";
    CHECK(write(fd, csv, strlen(csv)) == (ssize_t)strlen(csv));
    close(fd);
    gcam_boxes b;
    gcam_err e = {0};
    int rc = gcam_boxes_load(path, LABELS, 3, 3, &b, &e);
    unlink(path);
    CHECK_MSG(rc == 0, "%s", e.msg);
    CHECK(b.n == 1 && b.v[0].cls == 0);
    CHECK_BOX(b.v[0].box, 56, 9, 90, 26);
    CHECK(!strcmp(gcam_eval_basename("models/samples/scene_01.png"), "scene_01.png"));
    CHECK(!strcmp(gcam_eval_basename("scene_01.png"), "scene_01.png"));
    gcam_boxes_free(&b);
}

/* ---- the photo's geometry (gcam_photo_size / gcam_photo_rect) --------------- */

GCAM_TEST(eval_photo_rect)
{
    /* a model with a 1x3x8x8 input (Relu, nothing else) */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,3,8,8");
    ob_node(b, "Relu", "r", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    gcam_model *m;
    int rc = ob_load(b, &m);
    CHECK_MSG(rc == 0, "%s", m ? gcam_model_errmsg(m) : "no model");
    /* an 18 x 9 photo */
    char *dir = ob_tmpdir();
    CHECK(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/p.png", dir);
    gcam_image img = {0};
    gcam_err e = {0};
    CHECK(gcam_image_alloc(&img, 18, 9, 3, &e) == 0);
    memset(img.px, 128, 18 * 9 * 3);
    CHECK(gcam_image_save_png(path, &img, &e) == 0);
    gcam_image_free(&img);
    /* imagenet preset at 8x8: shorter side to round(8 * 256/224) = 9, so the
     * photo keeps its size (18 x 9) and the 8 x 8 centre crop starts at
     * ((18 - 8) / 2, (9 - 8) / 2 rounded to even) = (5, 0) */
    gcam_photo *ph = NULL;
    gcam_array x = {0};
    gcam_preprocess_opts o = {0};
    o.preset = "imagenet";
    rc = gcam_photo_load(m, path, &o, &ph, &x);
    int w = 0, h = 0;
    double rx = -1, ry = -1, rw = -1, rh = -1;
    if (!rc) {
        gcam_photo_size(ph, &w, &h);
        gcam_photo_rect(ph, &rx, &ry, &rw, &rh);
    }
    gcam_photo_free(ph);
    gcam_array_free(&x);
    /* no crop: the whole photo */
    o.no_crop = 1;
    double nx = -1, ny = -1, nw = -1, nh = -1;
    int rc2 = gcam_photo_load(m, path, &o, &ph, &x);
    if (!rc2) gcam_photo_rect(ph, &nx, &ny, &nw, &nh);
    gcam_photo_rect(ph, NULL, NULL, NULL, NULL); /* any pointer may be NULL */
    gcam_photo_free(ph);
    gcam_array_free(&x);
    gcam_model_free(m);
    ob_rmtree(dir);
    free(dir);
    CHECK(rc == 0 && rc2 == 0);
    CHECK(w == 18 && h == 9);
    CHECK(rx == 5 && ry == 0 && rw == 8 && rh == 8);
    CHECK(nx == 0 && ny == 0 && nw == 18 && nh == 9);
}
