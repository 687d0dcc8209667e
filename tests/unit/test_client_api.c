/* test_client_api.c - the public calls a client makes without a model handle
 * (issue 11: what the gradcam command used to take from src/): top-k, class
 * scores, labels, .npy and atomic files with a gcam_error, and drawing maps.
 * Only the public headers, as a client would. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcam.h"
#include "gcam_eval.h"
#include "gcam_image.h"
#include "onnx_builder.h" /* ob_tmpdir, ob_write, ob_rmtree */
#include "test.h"

/* the oracle: a stable sort by decreasing value, NaN last */
static int before(float a, float b) { return !isnan(a) && (isnan(b) || a > b); }
static void oracle_topk(const float *v, int n, int64_t *order)
{
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && before(v[order[j]], v[order[j - 1]]); j--) {
            int64_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

GCAM_TEST(client_topk_ties_nan_and_edges)
{
    const float v[] = {1, 3, 3, NAN, 2, 3};
    int64_t idx[8];
    CHECK(gcam_topk(v, 6, 4, idx) == 4);
    CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 5 && idx[3] == 4); /* ties: lower index first */
    CHECK(gcam_topk(v, 6, 10, idx) == 6);
    CHECK(idx[4] == 0 && idx[5] == 3); /* NaN after every number */
    CHECK(gcam_topk(v, 6, 0, idx) == 0);
    CHECK(gcam_topk(v, 0, 3, idx) == 0);
    CHECK(gcam_topk(NULL, 6, 3, idx) == 0);
    CHECK(gcam_topk(v, 6, 3, NULL) == 0);
    /* random values with many ties, every k, against the oracle */
    float r[50];
    int64_t want[50], got[50];
    unsigned s = 12345;
    for (int trial = 0; trial < 20; trial++) {
        for (int i = 0; i < 50; i++) {
            s = s * 1103515245u + 12345u;
            r[i] = (float)((s >> 16) % 5) - 2.0f;
            if ((s >> 8) % 23 == 0) r[i] = NAN;
        }
        oracle_topk(r, 50, want);
        for (int k = 1; k <= 50; k++) {
            CHECK(gcam_topk(r, 50, k, got) == k);
            for (int i = 0; i < k; i++) CHECK_MSG(got[i] == want[i], "trial %d k %d rank %d: %lld, want %lld", trial, k,
                                                  i, (long long)got[i], (long long)want[i]);
        }
    }
}

GCAM_TEST(client_score_kinds)
{
    const float z[] = {0, 1.0986122886681098f}; /* log 3 */
    CHECK_NEAR(gcam_score(z, 2, 1, GCAM_SCORE_SOFTMAX), 0.75, 1e-7);
    CHECK_NEAR(gcam_score(z, 2, 0, GCAM_SCORE_SOFTMAX), 0.25, 1e-7);
    CHECK_NEAR(gcam_score(z, 2, 1, GCAM_SCORE_AUTO), 0.75, 1e-7); /* softmax */
    CHECK_NEAR(gcam_score(z, 2, 1, GCAM_SCORE_SIGMOID), 0.75, 1e-7);
    CHECK_NEAR(gcam_score(z, 2, 0, GCAM_SCORE_SIGMOID), 0.5, 1e-15);
    CHECK_NEAR(gcam_score(z, 2, 1, GCAM_SCORE_LOGIT), 1.0986122886681098, 1e-7);
    const float big[] = {1000, -1000};
    CHECK_NEAR(gcam_score(big, 2, 0, GCAM_SCORE_SOFTMAX), 1, 1e-12);
    CHECK_NEAR(gcam_score(big, 2, 1, GCAM_SCORE_SIGMOID), 0, 1e-12);
    CHECK(isnan(gcam_score(z, 2, 2, GCAM_SCORE_SOFTMAX)) && isnan(gcam_score(z, 2, -1, GCAM_SCORE_LOGIT)));
    for (int k = GCAM_SCORE_SOFTMAX; k <= GCAM_SCORE_LOGIT; k++)
        CHECK(gcam_score_kind_parse(gcam_score_kind_name(k)) == k);
    CHECK(gcam_score_kind_parse("prob") == -1 && gcam_score_kind_parse(NULL) == -1 && !gcam_score_kind_name(7));
    CHECK(gcam_model_score_kind(NULL) == GCAM_SCORE_SOFTMAX);
}

GCAM_TEST(client_labels_npy_and_files)
{
    char *dir = ob_tmpdir();
    CHECK(dir);
    char path[512], npy[512], missing[512];
    snprintf(path, sizeof path, "%s/labels.txt", dir);
    snprintf(npy, sizeof npy, "%s/a.npy", dir);
    snprintf(missing, sizeof missing, "%s/no/such/folder/x.npy", dir);
    const char text[] = "cat\r\ndog  \n\nbird\n\n";
    CHECK(ob_write(dir, "labels.txt", text, sizeof text - 1) == 0);
    char **labels = NULL;
    int n = -1;
    gcam_error err;
    CHECK(gcam_labels_load(path, NULL, &labels, &n, &err) == GCAM_OK);
    CHECK(n == 4 && !strcmp(labels[0], "cat") && !strcmp(labels[1], "dog") && !labels[2][0] && !strcmp(labels[3], "bird"));
    gcam_labels_free(labels, n);
    CHECK(gcam_labels_load(NULL, NULL, &labels, &n, &err) == GCAM_OK && n == 0 && !labels); /* no file, no model */
    CHECK(gcam_labels_load(missing, NULL, &labels, &n, &err) == GCAM_E_IO);
    CHECK(err.code == GCAM_E_IO && strstr(err.msg, "x.npy"));

    /* .npy round trip and its errors, without a model */
    float data[6] = {1, 2, 3, 4, 5, 6.5f};
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 2, .dims = {2, 3}, .data = data}, b;
    CHECK(gcam_array_save_npy(npy, &a, &err) == GCAM_OK && err.code == GCAM_OK && !err.msg[0]);
    CHECK(gcam_array_load_npy(npy, &b, &err) == GCAM_OK);
    CHECK(b.dtype == GCAM_FLOAT32 && b.ndim == 2 && b.dims[0] == 2 && b.dims[1] == 3 && !memcmp(b.data, data, sizeof data));
    gcam_array_free(&b);
    CHECK(gcam_array_load_npy(path, &b, &err) == GCAM_E_PARSE && strstr(err.msg, "labels.txt") && !b.data);
    CHECK(gcam_array_save_npy(missing, &a, &err) == GCAM_E_IO && strstr(err.msg, "x.npy"));
    CHECK(gcam_array_load_npy(NULL, &b, NULL) == GCAM_E_ARG); /* err NULL: no message, no crash */

    /* atomic writes replace the file whole; a folder is refused before anything is written */
    CHECK(gcam_file_write_atomic(path, "new", 3, &err) == GCAM_OK);
    char *got = NULL;
    size_t len = 0;
    CHECK(gcam_file_read_text(path, "labels file", &got, &len, &err) == GCAM_OK && len == 3 && !strcmp(got, "new"));
    gcam_mem_free(got);
    CHECK(gcam_file_check_output(dir, &err) == GCAM_E_IO && strstr(err.msg, "folder"));
    CHECK(gcam_file_write_atomic(missing, "x", 1, &err) == GCAM_E_IO);
    CHECK(gcam_file_check_output(path, &err) == GCAM_OK);
    ob_rmtree(dir);
    free(dir);
}

GCAM_TEST(client_render_maps)
{
    gcam_error err;
    gcam_rgb img = {0};
    /* deprocess: mean 0, std 1 -> 0.5 -+ 0.1 */
    const float signed_map[2] = {-1, 1};
    CHECK(gcam_render_signed(signed_map, 1, 1, 2, &img, &err) == GCAM_OK && img.w == 2 && img.h == 1);
    CHECK(abs(img.px[0] - 102) <= 1 && abs(img.px[3] - 153) <= 1 && img.px[0] == img.px[1] && img.px[3] == img.px[5]);
    gcam_rgb_free(&img);
    CHECK(!img.px && gcam_render_signed(NULL, 1, 1, 2, &img, &err) == GCAM_E_ARG);

    /* the input as the model saw it: the same pixels from NCHW and NHWC, channels min-max scaled */
    float nchw[2 * 2 * 3], nhwc[2 * 2 * 3];
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 4; p++) nchw[c * 4 + p] = nhwc[p * 3 + c] = (float)(p * (c + 1)) - 7.0f * c;
    gcam_array x1 = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 3, 2, 2}, .data = nchw};
    gcam_array x2 = {.dtype = GCAM_FLOAT32, .ndim = 4, .dims = {1, 2, 2, 3}, .data = nhwc};
    gcam_rgb i1 = {0}, i2 = {0};
    CHECK(gcam_render_input(&x1, GCAM_LAYOUT_NCHW, &i1, &err) == GCAM_OK);
    CHECK(gcam_render_input(&x2, GCAM_LAYOUT_NHWC, &i2, &err) == GCAM_OK);
    CHECK(i1.w == 2 && i1.h == 2 && i2.w == 2 && !memcmp(i1.px, i2.px, 12));
    CHECK(i1.px[0] == 0 && i1.px[9] == 255 && i1.px[2] == 0 && i1.px[11] == 255);
    CHECK(gcam_render_input(&x1, GCAM_LAYOUT_NONE, &img, &err) == GCAM_E_ARG && err.msg[0]);

    /* a heatmap alone (gray: black to white) and over an image; bad colormap and alpha */
    const float heat[4] = {0, 1, 0, 1};
    CHECK(gcam_render_heatmap(NULL, heat, 2, 2, "gray", 1, &img, &err) == GCAM_OK);
    CHECK(img.w == 2 && img.px[0] == 0 && img.px[3] == 255);
    gcam_rgb over = {0};
    CHECK(gcam_render_heatmap(&i1, heat, 2, 2, "gray", 0, &over, &err) == GCAM_OK); /* alpha 0: the image */
    CHECK(over.w == 2 && over.h == 2 && !memcmp(over.px, i1.px, 12));
    gcam_rgb_free(&over);
    CHECK(gcam_render_heatmap(&i1, heat, 2, 2, "nope", 0.5f, &over, &err) == GCAM_E_ARG && strstr(err.msg, "nope"));
    CHECK(gcam_render_heatmap(&i1, heat, 2, 2, NULL, 2.0f, &over, &err) == GCAM_E_ARG);

    /* a grid of three tiles in one row, written as a PNG */
    gcam_rgb tiles[3] = {i1, i2, img}, grid = {0};
    const char *labels[3] = {"a", NULL, "c"};
    CHECK(gcam_rgb_grid(tiles, 3, 3, labels, 1, &grid, &err) == GCAM_OK && grid.w >= 3 * 2 + 2 && grid.h >= 2);
    char *dir = ob_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/grid.png", dir);
    CHECK(gcam_rgb_save(&grid, path, &err) == GCAM_OK);
    FILE *f = fopen(path, "rb");
    unsigned char magic[8] = {0};
    CHECK(f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8));
    fclose(f);
    ob_rmtree(dir);
    free(dir);
    gcam_rgb_free(&grid);
    gcam_rgb_free(&img);
    gcam_rgb_free(&i1);
    gcam_rgb_free(&i2);
}
