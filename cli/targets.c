/* targets.c - `explain`'s targets beyond one element (issue 10), built as the
 * weights of gcam_explain_opts.target_weights: score = sum(W * OUT) over one
 * batch item of the target tensor.
 *
 *   --target-mask MASK.npy        W = MASK (OUT's shape per item; or H x W with
 *                                 --target-class C on an N x C x H x W output)
 *   --target-index I,J,...        W = ones at those flat indices (one index stays
 *                                 the plain one-hot target)
 *   --target-class C [--target-region x0,y0,x1,y1|all]
 *                                 N x C x H x W output: ones on channel C over the box
 *                                 (input pixels, mapped to the output's grid: cell
 *                                 centres inside [x0,x1) x [y0,y1)); all: every pixel
 *   --target-top K                ones at the K largest elements
 *   --target-step T               N x T x V output: one-hot at step T's top token
 *                                 (or --target V)
 *   --target-step all             one map per step (its top token): a T x H x W
 *                                 .npy and a strip image
 *
 * The weights need OUT's shape (and values, for top-K and steps), so the model
 * runs forward once before gcam_explain. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "targets.h"

static int parse_list(const char *v, int64_t *out, int max, int *n)
{
    *n = 0;
    while (*v && *n < max) {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (end == v || x < 0) return -1;
        out[(*n)++] = x;
        if (*end != ',' && *end) return -1;
        v = *end ? end + 1 : end;
    }
    return *v ? -1 : 0;
}

int cli_parse_target_opt(const char *a, int argc, char **argv, int *i, cli_targets *t)
{
    static const char *const OPTS[] = {"--target-mask", "--target-index", "--target-class", "--target-region",
                                       "--target-top", "--target-step"};
    int k = 0;
    while (k < 6 && strcmp(a, OPTS[k])) k++;
    if (k == 6) return 1;
    if (k == 1 && (*i + 1 >= argc || !strchr(argv[*i + 1], ','))) return 1; /* one index: the plain target */
    const char *v = cli_value(argc, argv, i);
    if (!v) return 2;
    long n;
    switch (k) {
    case 0: t->mask = v; break;
    case 1:
        if (parse_list(v, t->index, CLI_MAX_INDICES, &t->n_index) || t->n_index < 1)
            return cli_fail("bad --target-index '%s' (I[,J,...], at most %d)", v, CLI_MAX_INDICES) ? 2 : 2;
        break;
    case 2:
        if (cli_parse_int(v, &n) || n < 0) return cli_fail("bad --target-class '%s'", v) ? 2 : 2;
        t->klass = n;
        break;
    case 3:
        if (!strcmp(v, "all")) t->region_all = 1;
        else if (sscanf(v, "%lf,%lf,%lf,%lf", &t->box[0], &t->box[1], &t->box[2], &t->box[3]) != 4 ||
                 !(t->box[2] > t->box[0] && t->box[3] > t->box[1]))
            return cli_fail("bad --target-region '%s' (x0,y0,x1,y1 with x1 > x0, y1 > y0; or all)", v) ? 2 : 2;
        t->region = 1;
        break;
    case 4:
        if (cli_parse_int(v, &n) || n < 1) return cli_fail("bad --target-top '%s' (K >= 1)", v) ? 2 : 2;
        t->top = n;
        break;
    default:
        if (!strcmp(v, "all")) {
            t->all_steps = 1;
            break;
        }
        if (cli_parse_int(v, &n) || n < 0) return cli_fail("bad --target-step '%s' (a step index)", v) ? 2 : 2;
        t->step = n;
        break;
    }
    t->any = 1;
    return 0;
}

/* Channel C of an N x C x H x W output over a box of the H_in x W_in input. */
static int region_weights(const cli_targets *t, const gcam_array *y, const gcam_array *x, float *w)
{
    if (y->ndim != 4) return cli_fail("--target-class needs an N x C x H x W output; it is %d-D", y->ndim);
    int64_t C = y->dims[1], H = y->dims[2], W = y->dims[3];
    if (t->klass >= C) return cli_fail("--target-class %lld: the output has %lld channels", (long long)t->klass, (long long)C);
    int nhwc = x->ndim == 4 && x->dims[3] <= 4 && x->dims[1] > 4; /* an N x H x W x C image */
    double Hin = (double)x->dims[nhwc ? 1 : 2], Win = (double)x->dims[nhwc ? 2 : 3];
    int64_t hits = 0;
    for (int64_t r = 0; r < H; r++)
        for (int64_t c = 0; c < W; c++) {
            double cy = (r + 0.5) * Hin / H, cx = (c + 0.5) * Win / W;
            int in = !t->region || t->region_all ||
                     (cx >= t->box[0] && cx < t->box[2] && cy >= t->box[1] && cy < t->box[3]);
            w[(t->klass * H + r) * W + c] = in ? 1.0f : 0.0f;
            hits += in;
        }
    return hits ? 0 : cli_fail("--target-region covers no cell of the %lldx%lld output", (long long)H, (long long)W);
}

static int mask_weights(gcam_model *m, const cli_targets *t, const gcam_array *y, int64_t n1, float *w)
{
    gcam_array a = {0};
    if (gcam_npy_load(m, t->mask, &a)) return cli_fail("%s", gcam_model_errmsg(m));
    int64_t n = 1;
    for (int d = 0; d < a.ndim; d++) n *= a.dims[d];
    int rc = 0;
    if (a.dtype != GCAM_FLOAT32) rc = cli_fail("--target-mask %s: float32 expected", t->mask);
    else if (n == n1) memcpy(w, a.data, sizeof(float) * (size_t)n1);
    else if (t->klass >= 0 && y->ndim == 4 && n == y->dims[2] * y->dims[3] && t->klass < y->dims[1])
        memcpy(w + t->klass * n, a.data, sizeof(float) * (size_t)n);
    else
        rc = cli_fail("--target-mask %s has %lld elements; the target has %lld per image (or give --target-class "
                      "and an H x W mask)", t->mask, (long long)n, (long long)n1);
    gcam_array_free(&a);
    return rc;
}

static void top_weights(const float *v, int64_t n1, int64_t k, float *w)
{
    for (int64_t j = 0; j < k && j < n1; j++) { /* k selections: K is small */
        int64_t best = -1;
        for (int64_t i = 0; i < n1; i++)
            if (w[i] == 0.0f && (best < 0 || v[i] > v[best])) best = i;
        w[best] = 1.0f;
    }
}

static int step_weights(const cli_targets *t, const gcam_array *y, const float *v, int64_t token, float *w)
{
    if (y->ndim != 3) return cli_fail("--target-step needs an N x T x V output; it is %d-D", y->ndim);
    int64_t T = y->dims[1], V = y->dims[2];
    if (t->step >= T) return cli_fail("--target-step %lld: the output has %lld steps", (long long)t->step, (long long)T);
    if (token >= V) return cli_fail("--target %lld: the output has %lld tokens per step", (long long)token, (long long)V);
    const float *s = v + t->step * V;
    if (token < 0)
        for (int64_t i = token = 0; i < V; i++)
            if (s[i] > s[token]) token = i;
    w[t->step * V + token] = 1.0f;
    return 0;
}

int cli_build_target(gcam_model *m, const gcam_array *x, cli_targets *t, gcam_explain_opts *eo)
{
    if (!t->any) return 0;
    const char *name = eo->target_output ? eo->target_output : gcam_model_output_name(m, 0);
    if (eo->target_output && gcam_model_keep(m, name)) return cli_fail("%s", gcam_model_errmsg(m));
    gcam_array y;
    if (gcam_model_run(m, NULL, x, 1) || gcam_model_tensor(m, name, &y)) return cli_fail("%s", gcam_model_errmsg(m));
    if (y.dtype != GCAM_FLOAT32 || y.ndim < 1) return cli_fail("target '%s' is not a float tensor", name);
    int64_t n = 1;
    for (int d = 0; d < y.ndim; d++) n *= y.dims[d];
    int64_t n1 = n / (y.dims[0] > 0 ? y.dims[0] : 1);
    if (!(t->weights = calloc((size_t)n1, sizeof(float)))) return cli_fail("out of memory");
    const float *v = y.data;
    int rc = 0;
    if (t->mask) rc = mask_weights(m, t, &y, n1, t->weights);
    else if (t->n_index) {
        for (int k = 0; k < t->n_index && !rc; k++)
            if (t->index[k] >= n1) rc = cli_fail("--target-index %lld: '%s' has %lld elements per image",
                                                 (long long)t->index[k], name, (long long)n1);
            else t->weights[t->index[k]] += 1.0f;
    } else if (t->klass >= 0) rc = region_weights(t, &y, x, t->weights);
    else if (t->top > 0) top_weights(v, n1, t->top, t->weights);
    else if (t->step >= 0) rc = step_weights(t, &y, v, eo->target_class, t->weights);
    else if (t->region) rc = cli_fail("--target-region needs --target-class");
    eo->target_weights = t->weights;
    eo->n_target_weights = n1;
    return rc;
}

void cli_targets_init(cli_targets *t)
{
    memset(t, 0, sizeof *t);
    t->klass = t->step = -1;
}

void cli_targets_free(cli_targets *t) { free(t->weights); }

/* The steps' maps as overlays on the model's input, side by side. */
static int save_strip(gcam_model *m, const gcam_array *x, const float *maps, int64_t T, int H, int W, const int64_t *tokens,
                      char *const *names, int n_names, const char *cmap, double alpha, const char *out_png)
{
    gcam_error e = {0};
    gcam_rgb base = {0}, strip = {0}, *tiles = calloc((size_t)T, sizeof *tiles);
    char (*buf)[48] = calloc((size_t)T, sizeof *buf);
    const char **labels = calloc((size_t)T, sizeof *labels);
    int rc = tiles && buf && labels ? cli_render_input(m, x, &base, &e) : (snprintf(e.msg, sizeof e.msg, "out of memory"), GCAM_E_NOMEM);
    for (int64_t s = 0; s < T && !rc; s++) {
        rc = gcam_render_heatmap(&base, maps + s * H * W, H, W, cmap, (float)alpha, &tiles[s], &e);
        if (tokens[s] < n_names) snprintf(buf[s], sizeof buf[s], "%lld: %.40s", (long long)s, names[tokens[s]]);
        else snprintf(buf[s], sizeof buf[s], "%lld: %lld", (long long)s, (long long)tokens[s]);
        labels[s] = buf[s];
    }
    if (!rc) rc = gcam_rgb_grid(tiles, (int)T, (int)T, labels, 4, &strip, &e);
    if (!rc) rc = gcam_rgb_save(&strip, out_png, &e);
    if (rc) cli_fail("%s", e.msg);
    for (int64_t s = 0; tiles && s < T; s++) gcam_rgb_free(&tiles[s]);
    gcam_rgb_free(&base);
    gcam_rgb_free(&strip);
    free(tiles), free(buf), free(labels);
    return rc;
}

int cli_render_input(gcam_model *m, const gcam_array *x, gcam_rgb *out, gcam_error *e)
{
    return gcam_render_input(x, gcam_model_input_layout(m, gcam_model_image_input(m)), out, e);
}

int cli_explain_steps(gcam_model *m, const gcam_array *x, cli_targets *t, gcam_explain_opts *eo, const char *save,
                      const char *out_png, const char *cmap, double alpha, int quiet, char *const *labels, int n_labels)
{
    const char *name = eo->target_output ? eo->target_output : gcam_model_output_name(m, 0);
    gcam_array y;
    if (eo->target_output && gcam_model_keep(m, name)) return cli_fail("%s", gcam_model_errmsg(m));
    if (gcam_model_run(m, NULL, x, 1) || gcam_model_tensor(m, name, &y)) return cli_fail("%s", gcam_model_errmsg(m));
    if (y.dtype != GCAM_FLOAT32 || y.ndim != 3) return cli_fail("--target-step all needs an N x T x V float output");
    int64_t T = y.dims[1], V = y.dims[2], n1 = T * V;
    float *v = malloc(sizeof(float) * (size_t)n1), *maps = NULL;
    int64_t *tokens = malloc(sizeof(int64_t) * (size_t)T);
    if (!(t->weights = calloc((size_t)n1, sizeof(float))) || !v || !tokens) {
        free(v), free(tokens);
        return cli_fail("out of memory");
    }
    memcpy(v, y.data, sizeof(float) * (size_t)n1); /* the next runs overwrite y */
    int rc = 0, H = 0, W = 0;
    for (int64_t s = 0; s < T && !rc; s++) {
        memset(t->weights, 0, sizeof(float) * (size_t)n1);
        t->step = s;
        step_weights(t, &y, v, -1, t->weights);
        for (int64_t k = 0; k < V; k++)
            if (t->weights[s * V + k] != 0.0f) tokens[s] = k;
        eo->target_weights = t->weights;
        eo->n_target_weights = n1;
        gcam_explanation *ex = NULL;
        if (gcam_explain(m, x, eo, &ex)) rc = cli_fail("step %lld: %s", (long long)s, gcam_model_errmsg(m));
        const float *map = rc ? NULL : gcam_explanation_map(ex, &H, &W);
        if (!rc && !maps && !(maps = malloc(sizeof(float) * (size_t)(T * H * W)))) rc = cli_fail("out of memory");
        if (!rc) memcpy(maps + s * H * W, map, sizeof(float) * (size_t)H * W);
        if (!rc && !quiet) printf("step %lld: token %lld%s%s%s  score %.4f\n", (long long)s, (long long)tokens[s],
                                  tokens[s] < n_labels ? " (" : "", tokens[s] < n_labels ? cli_esc(labels[tokens[s]]) : "",
                                  tokens[s] < n_labels ? ")" : "", gcam_explanation_score(ex));
        gcam_explanation_free(ex);
    }
    if (!rc && save) {
        gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 3, .dims = {T, H, W}, .data = maps};
        rc = cli_write_npy(save, &a);
    }
    if (!rc && out_png) rc = save_strip(m, x, maps, T, H, W, tokens, labels, n_labels, cmap, alpha, out_png);
    free(v), free(maps), free(tokens);
    return rc;
}
