/* cmd_explain.c - `gradcam explain`: a heatmap for a class, by any method,
 * or a grid comparing all of them (--method all). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "explain_opts.h"
#include "gcam_image.h"
#include "input.h"
#include "opts.h"
#include "targets.h"

static const char *USAGE =
    "gradcam explain [--model M.onnx] [IMAGE | --image IMG | --input-tensor X.npy] [--input NAME=X.npy]...\n"
    "                [--method NAME|all]\n"
    "                [--layer NAME|auto]... [--layout nchw|nhwc|tokens] [--tokens SKIP,HxW]\n"
    "                [--target CLASS|top1|LABEL] [--labels FILE] [--counterfactual]\n"
    "                [--target-output NAME --target-index I[,J,...]] [--target-softmax]\n"
    "                [--target-mask MASK.npy] [--target-class C [--target-region x0,y0,x1,y1|all]]\n"
    "                [--target-top K] [--target-step T|all]\n"
    "                [--eigen-smooth] [--aug-smooth] [--batch-size N] [--max-channels N] [--scorecam-baseline]\n"
    "                [--ablation-zero] [--ig-steps N] [--ig-baseline zero|blur[:S]|uniform|FILE.npy]\n"
    "                [--sg-samples N] [--sg-noise SIGMA] [--seed N | --sg-noise-file Z.npy] [--discard-ratio R]\n"
    "                [--out overlay.png] [--colormap jet|turbo|viridis|inferno|gray] [--alpha A]\n"
    "                [--save-npy OUT.npy] [--raw] [--no-relu] [--normalize none|image|global:MAX]\n"
    "                [--json] [--top K] [--repeat N] [--threads N] [--quiet] [--allow-nonfinite]\n"
    "                [preprocessing options]";

/* the targets of targets.c, parsed there */
static const char *TARGETS_HELP =
    "  --target-index I,J    the sum of several elements of the target tensor (flat indices)\n"
    "  --target-mask M.npy   score = sum(M * OUT), M of OUT's shape (or H x W with --target-class)\n"
    "  --target-class C      dense N x C x H x W output: the sum of channel C over --target-region\n"
    "                        (x0,y0,x1,y1 in input pixels; default all)\n"
    "  --target-top K        the sum of the K largest elements of the target tensor\n"
    "  --target-step T|all   N x T x V output: step T's top token (or --target V); all: one map\n"
    "                        per step, --save-npy T x H x W, --out a strip image\n";

static const char *NOTES =
    "--save-npy writes float32 H x W (C x H x W for guided-backprop and guided-gradcam); signed maps\n"
    "(integrated-gradients, guided-*) are divided by their largest magnitude, the others are in [0, 1].\n"
    "--out draws a C x H x W map with pytorch-grad-cam's deprocess_image.\n";

typedef struct {
    cli_explain_opts xo; /* method, layers, target, method settings: shared with batch, sanity, report */
    cli_input_opts io;
    cli_targets tg;
    const char *model, *out_png, *save, *cmap;
    int raw, json, quiet, allow_nonfinite;
    long top, repeat, threads;
    double alpha;
} explain_args;

static int opt_colormap(void *s, const char *name, const char *v, const char *usage)
{
    uint8_t rgb[768];
    if (gcam_colormap_table(v, rgb)) return cli_usage(usage, "unknown colormap '%s'", v);
    ((explain_args *)s)->cmap = v;
    return 0;
}

#define A_(f) offsetof(explain_args, f)
#define EO_(f) offsetof(explain_args, xo.eo.f)
/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help */
static const cli_opt OPTS[] = {
    {"--model", NULL, CLI_STR, A_(model), 0, 0, 0, NULL, NULL, "M.onnx", NULL},
    {"--out", NULL, CLI_STR, A_(out_png), 0, 0, 0, NULL, NULL, "PNG", NULL},
    {"--save-npy", NULL, CLI_STR, A_(save), 0, 0, 0, NULL, NULL, "OUT.npy", NULL},
    {"--raw", NULL, CLI_FLAG, A_(raw), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--colormap", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_colormap, "NAME", NULL},
    {"--alpha", NULL, CLI_DOUBLE, A_(alpha), 0, 1, 0, "0..1", NULL, "A", NULL},
    {"--json", NULL, CLI_FLAG, A_(json), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--top", NULL, CLI_RANGE, A_(top), 1, 1L << 30, 0, NULL, NULL, "K", NULL},
    {"--repeat", NULL, CLI_RANGE, A_(repeat), 1, 1L << 30, 0, NULL, NULL, "N", NULL},
    {"--threads", NULL, CLI_RANGE, A_(threads), 1, CLI_MAX_THREADS, 0, NULL, NULL, "N", NULL},
    /* the older spellings of explain's shared options */
    {"--steps", NULL, CLI_INT, EO_(ig_steps), 1, 1L << 30, 0, NULL, NULL, "N", NULL},
    {"--baseline", NULL, CLI_STR, EO_(ig_baseline), 0, 0, 0, NULL, NULL, "B", NULL},
    {"--samples", NULL, CLI_INT, EO_(sg_samples), 1, 1L << 30, 0, NULL, NULL, "N", NULL},
    {"--noise", NULL, CLI_FLOAT, EO_(sg_noise), 0, 100, 1, "> 0", NULL, "SIGMA", NULL},
    {"--quiet", NULL, CLI_FLAG, A_(quiet), 0, 0, 0, NULL, NULL, NULL, "no progress bar and no summary"},
    {"--allow-nonfinite", NULL, CLI_FLAG, A_(allow_nonfinite), 0, 0, 0, NULL, NULL, NULL,
     "write the map even when the target score is NaN or infinite"},
    CLI_OPT_END,
};

static void print_help(void)
{
    printf("usage: %s\nmethods (default gradcam; `all` writes a grid of every method to --out):\n", USAGE);
    cli_print_methods(stdout);
    fputs(TARGETS_HELP, stdout);
    cli_explain_help(stdout, "what is explained, and how");
    printf("  aliases: --steps = --ig-steps, --baseline = --ig-baseline, --samples = --sg-samples,\n"
           "           --noise = --sg-noise\n");
    cli_opt_help(stdout, OPTS);
    fputs(NOTES, stdout);
    fputs(CLI_INPUT_HELP, stdout);
}

/* ---- progress bar on stderr, only on a terminal ---- */
typedef struct {
    int on, drawn;
    int64_t last;
} progress_state;

static void progress_bar(void *user, const char *what, int64_t done, int64_t total)
{
    progress_state *p = user;
    if (!p->on || total <= 0) return;
    int64_t tick = done * 40 / total;
    if (done != total && tick == p->last && p->drawn) return;
    p->last = tick;
    p->drawn = 1;
    char bar[41];
    for (int i = 0; i < 40; i++) bar[i] = i < tick ? '#' : '.';
    bar[40] = 0;
    fprintf(stderr, "\r%-22s [%s] %lld/%lld", what, bar, (long long)done, (long long)total);
    if (done >= total) {
        fputc('\n', stderr);
        p->drawn = 0;
        p->last = -1;
    }
    fflush(stderr);
}

/* ---- options ---- */

/* 0: run; -1: done (--help); else the exit status */
static int parse_args(int argc, char **argv, explain_args *a)
{
    memset(a, 0, sizeof *a);
    cli_explain_defaults(&a->xo, "gradcam");
    cli_input_defaults(&a->io);
    cli_targets_init(&a->tg);
    a->top = 5, a->repeat = 1, a->alpha = 0.5;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int used = cli_input_option(&a->io, argc, argv, &i), trc;
        if (!used && (trc = cli_parse_target_opt(s, argc, argv, &i, &a->tg)) != 1) used = trc ? -1 : 1;
        if (!used) used = cli_explain_option(&a->xo, argc, argv, &i, USAGE);
        if (!used) used = cli_opt_take(OPTS, a, argc, argv, &i, USAGE);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(s, "--help")) return print_help(), -1;
        if (s[0] != '-' && !a->io.image && !a->io.tensor) a->io.image = s;
        else return cli_usage(USAGE, "unknown option '%s'", s);
    }
    return 0;
}

/* what can be refused before the model loads */
static int check_args(explain_args *a, int all)
{
    const char *method = a->xo.methods;
    int method_id = all ? 0 : gcam_method_parse(method); /* an int: gcam_method may be unsigned */
    if (method_id < 0) return cli_usage(USAGE, "unknown --method '%s' (%s, all)", method, cli_method_names());
    a->xo.eo.method = (gcam_method)method_id;
    if (all && !a->out_png) return cli_usage(USAGE, "--method all writes a grid image: give --out GRID.png");
    if (all && a->save) return cli_usage(USAGE, "--save-npy needs one method, not all");
    if (a->xo.target_index >= 0 && !a->xo.eo.target_output)
        return cli_usage(USAGE, "--target-index needs --target-output");
    if (!a->model) a->model = cli_default_model();
    if ((a->save && cli_check_output("--save-npy", a->save)) || (a->out_png && cli_check_output("--out", a->out_png)))
        return 1;
    if (!a->io.image && !a->io.tensor && !(a->io.image = cli_default_sample()))
        return cli_usage(USAGE, "no input: give an IMAGE or --input-tensor X.npy");
    return 0;
}

/* ---- --method all: every method on the same input and target, one tile each ---- */

typedef struct {
    gcam_rgb tiles[GCAM_METHOD_COUNT + 1];
    const char *labels[GCAM_METHOD_COUNT + 1];
    char label_buf[GCAM_METHOD_COUNT + 1][64];
    double ms[GCAM_METHOD_COUNT];
    int ok[GCAM_METHOD_COUNT];
    int n;
} method_grid;

/* method k's tile: its map over the input, or a grey "n/a" tile when it cannot run */
static int method_tile(gcam_model *m, const gcam_array *x, gcam_explain_opts *eo, const explain_args *a, int k,
                       method_grid *g, gcam_error *e)
{
    const char *name = gcam_method_name(k);
    gcam_rgb *tile = &g->tiles[g->n];
    gcam_explanation *ex = NULL;
    int rc = 0;
    eo->method = k;
    g->ok[k] = gcam_explain(m, x, eo, &ex) == GCAM_OK;
    g->ms[k] = 0;
    if (g->ok[k] && !a->allow_nonfinite && !isfinite(gcam_explanation_score(ex))) {
        snprintf(e->msg, sizeof e->msg, "%s: the target score is %g; the maps would be meaningless "
                 "(--allow-nonfinite draws them anyway)", name, (double)gcam_explanation_score(ex));
        gcam_explanation_free(ex);
        return GCAM_E_RANGE;
    }
    if (!g->ok[k]) {
        if (!a->quiet) fprintf(stderr, "gradcam: note: %s: %s\n", name, gcam_model_errmsg(m));
        snprintf(g->label_buf[g->n], sizeof g->label_buf[0], "%s n/a", name);
        tile->w = g->tiles[0].w, tile->h = g->tiles[0].h;
        if (!(tile->px = malloc((size_t)tile->w * tile->h * 3))) rc = GCAM_E_NOMEM, snprintf(e->msg, sizeof e->msg, "out of memory");
        else memset(tile->px, 200, (size_t)tile->w * tile->h * 3);
    } else {
        if (eo->target_class < 0) eo->target_class = gcam_explanation_target(ex); /* gradcam's fixes the class */
        int h, w, ch = gcam_explanation_channels(ex);
        const float *map = gcam_explanation_map(ex, &h, &w);
        rc = ch > 1 ? gcam_render_signed(map, ch, h, w, tile, e)
                    : gcam_render_heatmap(&g->tiles[0], map, h, w, a->cmap, (float)a->alpha, tile, e);
        snprintf(g->label_buf[g->n], sizeof g->label_buf[0], "%s", name);
        g->ms[k] = gcam_explanation_time_ms(ex, "forward") + gcam_explanation_time_ms(ex, "backward") +
                   gcam_explanation_time_ms(ex, "cam");
        if (!a->quiet && !a->json) printf("%-22s %9.1f ms\n", name, g->ms[k]);
    }
    g->labels[g->n] = g->label_buf[g->n];
    g->n++;
    gcam_explanation_free(ex);
    return rc;
}

static void print_all_json(const method_grid *g, int64_t target, const char *out_png)
{
    printf("{\"method\": \"all\", \"target\": %lld, \"methods\": [", (long long)target);
    for (int k = 0; k < GCAM_METHOD_COUNT; k++) {
        printf("%s{\"method\": ", k ? ", " : "");
        cli_json_str(stdout, gcam_method_name(k));
        printf(", \"ok\": %s, \"time_ms\": %.3f}", g->ok[k] ? "true" : "false", g->ms[k]);
    }
    printf("], \"out\": ");
    cli_json_str(stdout, out_png);
    printf("}\n");
}

static int explain_all(gcam_model *m, const gcam_array *x, const explain_args *a)
{
    method_grid *g = calloc(1, sizeof *g);
    if (!g) return cli_fail("out of memory");
    gcam_explain_opts eo = a->xo.eo;
    gcam_error e = {0};
    gcam_rgb grid = {0};
    int rc = cli_render_input(m, x, &g->tiles[0], &e);
    g->labels[0] = "input";
    g->n = 1;
    for (int k = 0; k < GCAM_METHOD_COUNT && !rc; k++) rc = method_tile(m, x, &eo, a, k, g, &e);
    if (!rc) rc = gcam_rgb_grid(g->tiles, g->n, 0, g->labels, 4, &grid, &e);
    if (!rc) rc = gcam_rgb_save(&grid, a->out_png, &e);
    if (rc) cli_fail("%s", e.msg);
    else if (a->json) print_all_json(g, eo.target_class, a->out_png);
    else if (!a->quiet) printf("grid: %s\n", cli_esc(a->out_png));
    gcam_rgb_free(&grid);
    for (int i = 0; i < g->n; i++) gcam_rgb_free(&g->tiles[i]);
    free(g);
    return rc ? 1 : 0;
}

/* ---- one method ---- */

/* the map and its sizes, as --save-npy and --out write it */
typedef struct {
    const float *map, *raw;
    int h, w, rh, rw, ch;
} map_view;

static int save_map(const explain_args *a, const map_view *v)
{
    gcam_array arr = {.dtype = GCAM_FLOAT32, .ndim = v->ch > 1 ? 3 : 2};
    int d = 0;
    if (v->ch > 1) arr.dims[d++] = v->ch;
    arr.dims[d++] = a->raw ? v->rh : v->h;
    arr.dims[d++] = a->raw ? v->rw : v->w;
    arr.data = (void *)(a->raw ? v->raw : v->map);
    return cli_write_npy(a->save, &arr);
}

static int draw_map(gcam_model *m, const explain_args *a, const cli_input_info *info, const gcam_explanation *ex,
                    const map_view *v)
{
    if (v->ch > 1) { /* a gradient image: written as it is, at the input's resolution */
        gcam_rgb img = {0};
        gcam_error e;
        int rc = gcam_render_signed(v->map, v->ch, v->h, v->w, &img, &e) || gcam_rgb_save(&img, a->out_png, &e);
        gcam_rgb_free(&img);
        return rc ? cli_fail("%s", e.msg) : 0;
    }
    if (gcam_save_overlay(m, info->photo, ex, a->cmap, (float)a->alpha, a->out_png))
        return cli_fail("%s", gcam_model_errmsg(m));
    return 0;
}

/* the target tensor's classes ranked, each with the model's score kind
 * (gcam.h: gcam_topk, gcam_score; the same call as classify's) */
typedef struct {
    const char *out_name;
    const float *s;
    int64_t C, idx[64];
    int nt, kind;
} ranking;

static void rank_outputs(gcam_model *m, const explain_args *a, ranking *r)
{
    gcam_array y;
    memset(r, 0, sizeof *r);
    r->out_name = a->xo.eo.target_output ? a->xo.eo.target_output : gcam_model_output_name(m, 0);
    r->kind = gcam_model_score_kind(m);
    if (gcam_model_tensor(m, r->out_name, &y) || y.dtype != GCAM_FLOAT32) return;
    r->C = y.ndim ? y.dims[y.ndim - 1] : 0;
    r->s = y.data;
    r->nt = gcam_topk(r->s, r->C, (int)(a->top < 64 ? a->top : 64), r->idx);
}

static void print_json(const explain_args *a, const gcam_explanation *ex, const ranking *r, const map_view *v,
                       char **labels, int n_labels)
{
    int64_t t = gcam_explanation_target(ex);
    const char *tl = !a->xo.eo.target_output && t >= 0 && t < n_labels ? labels[t] : "";
    double tf = gcam_explanation_time_ms(ex, "forward"), tb = gcam_explanation_time_ms(ex, "backward"),
           tc = gcam_explanation_time_ms(ex, "cam");
    printf("{\"model\": ");
    cli_json_str(stdout, a->model);
    printf(", \"method\": \"%s\", \"layers\": [", a->xo.methods);
    for (int i = 0; i < gcam_explanation_num_layers(ex); i++) {
        if (i) printf(", ");
        cli_json_str(stdout, gcam_explanation_layer(ex, i));
    }
    printf("], \"output\": ");
    cli_json_str(stdout, r->out_name);
    printf(", \"target\": %lld, \"target_label\": ", (long long)t);
    cli_json_str(stdout, tl);
    printf(", \"score\": ");
    cli_json_num(stdout, gcam_explanation_score(ex), "score");
    printf(", \"score_kind\": \"%s\", \"counterfactual\": %s, \"top\": [",
           a->xo.eo.target_softmax ? "probability" : "logit", a->xo.eo.counterfactual ? "true" : "false");
    for (int k = 0; k < r->nt; k++) {
        printf("%s{\"class\": %lld, \"logit\": ", k ? ", " : "", (long long)r->idx[k]);
        cli_json_num(stdout, r->s[r->idx[k]], "logit");
        printf(", \"prob\": ");
        cli_json_num(stdout, gcam_score(r->s, r->C, r->idx[k], r->kind), "probability");
        printf(", \"label\": ");
        cli_json_str(stdout, r->idx[k] < n_labels ? labels[r->idx[k]] : "");
        printf("}");
    }
    printf("], \"prob_kind\": \"%s\"", gcam_score_kind_name(r->kind));
    printf(", \"map_size\": [%d, %d], \"channels\": %d, \"raw_size\": [%d, %d], \"time_ms\": {\"forward\": %.3f, "
           "\"backward\": %.3f, \"cam\": %.3f, \"total\": %.3f}",
           v->h, v->w, v->ch, v->rh, v->rw, tf, tb, tc, tf + tb + tc);
    printf(", \"out\": ");
    cli_json_str(stdout, a->out_png ? a->out_png : "");
    printf(", \"npy\": ");
    cli_json_str(stdout, a->save ? a->save : "");
    printf("}\n");
}

static void print_text(const explain_args *a, const gcam_explanation *ex, const ranking *r, const map_view *v,
                       char **labels, int n_labels)
{
    int64_t t = gcam_explanation_target(ex);
    const char *tl = !a->xo.eo.target_output && t >= 0 && t < n_labels ? labels[t] : "";
    const char *layer0 = gcam_explanation_num_layers(ex) ? gcam_explanation_layer(ex, 0) : "(input)";
    printf("%s: output '%s' target %lld%s%s%s (%s %.4f) layer %s\n", a->xo.methods, cli_esc(r->out_name), (long long)t,
           tl[0] ? " \"" : "", cli_esc(tl), tl[0] ? "\"" : "", a->xo.eo.target_softmax ? "prob" : "logit",
           gcam_explanation_score(ex), cli_esc(layer0));
    printf("time: forward %.1f ms, backward %.1f ms, cam %.1f ms\n", gcam_explanation_time_ms(ex, "forward"),
           gcam_explanation_time_ms(ex, "backward"), gcam_explanation_time_ms(ex, "cam"));
    if (a->out_png) printf("%s: %s\n", v->ch > 1 ? "image" : "overlay", cli_esc(a->out_png));
    if (!a->save) return;
    int h = a->raw ? v->rh : v->h, w = a->raw ? v->rw : v->w;
    if (v->ch > 1) printf("heatmap: %s (%dx%dx%d float32)\n", cli_esc(a->save), v->ch, h, w);
    else printf("heatmap: %s (%dx%d float32)\n", cli_esc(a->save), h, w);
}

static int explain_one(gcam_model *m, const gcam_array *x, const explain_args *a, const cli_input_info *info,
                       char **labels, int n_labels)
{
    gcam_explanation *ex = NULL;
    int rc = 0;
    for (long r = 0; r < a->repeat && !rc; r++) {
        gcam_explanation_free(ex);
        ex = NULL;
        if (gcam_explain(m, x, &a->xo.eo, &ex)) rc = cli_fail("%s", gcam_model_errmsg(m));
    }
    /* a map of an overflowed score is noise: say so instead of drawing it */
    if (!rc && !a->allow_nonfinite && !isfinite(gcam_explanation_score(ex)))
        rc = cli_fail("the target score is %g (the model's output overflowed on this input); the map would be "
                      "meaningless (--allow-nonfinite writes it anyway)", (double)gcam_explanation_score(ex));
    map_view v = {0};
    if (!rc) {
        v.map = gcam_explanation_map(ex, &v.h, &v.w);
        v.raw = gcam_explanation_raw(ex, &v.rh, &v.rw);
        v.ch = gcam_explanation_channels(ex);
    }
    if (!rc && a->save) rc = save_map(a, &v);
    if (!rc && a->out_png) rc = draw_map(m, a, info, ex, &v);
    if (!rc && (a->json || !a->quiet)) {
        ranking r;
        rank_outputs(m, a, &r);
        if (a->json) print_json(a, ex, &r, &v, labels, n_labels);
        else print_text(a, ex, &r, &v, labels, n_labels);
    }
    gcam_explanation_free(ex);
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    explain_args a;
    int rc = parse_args(argc, argv, &a);
    const int all = !strcmp(a.xo.methods, "all");
    if (!rc) rc = check_args(&a, all);
    if (rc) return rc < 0 ? 0 : rc;
    progress_state ps = {.on = !a.quiet && isatty(2), .last = -1};
    a.xo.eo.progress = progress_bar;
    a.xo.eo.progress_user = &ps;

    gcam_model *m = cli_load_model(a.model, (int)a.threads);
    if (!m) return 1;
    char **labels = NULL;
    int n_labels = cli_load_labels(a.xo.labels_file, m, &labels);
    rc = n_labels < 0 || cli_explain_resolve(&a.xo, m, labels, n_labels);
    gcam_array x = {0};
    cli_input_info info = {0};
    if (!rc) rc = cli_make_input(&a.io, m, &x, &info);
    if (!rc && a.tg.all_steps) {
        rc = cli_explain_steps(m, &x, &a.tg, &a.xo.eo, a.save, a.out_png, a.cmap, a.alpha, a.quiet, labels, n_labels);
    } else {
        const char *target = a.xo.target ? a.xo.target : "top1";
        if (!rc && a.tg.any) {
            if (a.tg.step >= 0 && a.xo.eo.target_class < 0 && strcmp(target, "top1"))
                a.xo.eo.target_class = strtol(target, NULL, 10);
            rc = cli_build_target(m, &x, &a.tg, &a.xo.eo);
        }
        if (!rc) rc = all ? explain_all(m, &x, &a) : explain_one(m, &x, &a, &info, labels, n_labels);
    }
    cli_input_free(&x, &info);
    cli_free_labels(labels, n_labels);
    cli_free_model(m);
    cli_targets_free(&a.tg);
    return rc;
}
