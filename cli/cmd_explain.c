/* cmd_explain.c - `gradcam explain`: a heatmap for a class, by any method,
 * or a grid comparing all of them (--method all). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam/cam.h"
#include "cli.h"
#include "targets.h"
#include "image/image.h"
#include "input.h"

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
    "                [--sg-samples N] [--sg-noise SIGMA] [--seed N | --sg-noise-file Z.npy]\n"
    "                [--out overlay.png] [--colormap jet|turbo|viridis|inferno|gray] [--alpha A]\n"
    "                [--save-npy OUT.npy] [--raw] [--no-relu] [--normalize none|image|global:MAX]\n"
    "                [--json] [--top K] [--repeat N] [--threads N] [--quiet] [--allow-nonfinite]\n"
    "                [preprocessing options]";

static const char *HELP =
    "  --target-index I,J    the sum of several elements of the target tensor (flat indices)\n"
    "  --target-mask M.npy   score = sum(M * OUT), M of OUT's shape (or H x W with --target-class)\n"
    "  --target-class C      dense N x C x H x W output: the sum of channel C over --target-region\n"
    "                        (x0,y0,x1,y1 in input pixels; default all)\n"
    "  --target-top K        the sum of the K largest elements of the target tensor\n"
    "  --target-step T|all   N x T x V output: step T's top token (or --target V); all: one map\n"
    "                        per step, --save-npy T x H x W, --out a strip image\n"
    "  --layout L            read every layer as nchw, nhwc or tokens (default: from the graph, see `layers`)\n"
    "  --tokens SKIP,HxW     token layers: drop SKIP leading tokens, the rest on an H x W grid\n"
    "  --eigen-smooth        first principal component of the weighted activations (layer CAMs)\n"
    "  --aug-smooth          mean over horizontal flip x brightness 0.9/1.0/1.1\n"
    "  --batch-size N        images per pass for scorecam/ablationcam/integrated-gradients/smoothgrad\n"
    "                        (default 32; whole-network passes shrink it to ~512 MB of activations)\n"
    "  --max-channels N      scorecam: only the N highest-variance channels (Faster Score-CAM)\n"
    "  --scorecam-baseline   scorecam as in the paper: p_c(X*H_k) - p_c(0) instead of a softmax over channels\n"
    "  --ablation-zero       ablationcam as in the paper: ablate to 0 even when the layer goes negative\n"
    "  --ig-steps N          integrated gradients: Riemann steps (default 50)\n"
    "  --ig-baseline B       zero (default), blur[:SIGMA px, default 10], uniform (seeded), or FILE.npy\n"
    "  --sg-samples N        smoothgrad: noisy copies (default 25)\n"
    "  --sg-noise SIGMA      smoothgrad: noise std as a fraction of the input's range (default 0.15)\n"
    "  --seed N              random seed for smoothgrad and the uniform baseline (default 0)\n"
    "  --sg-noise-file Z.npy smoothgrad: N x C x H x W standard-normal draws instead of the generator\n"
    "  aliases: --steps = --ig-steps, --baseline = --ig-baseline, --samples = --sg-samples,\n"
    "           --noise = --sg-noise, --ablation-value zero = --ablation-zero\n"
    "  --quiet               no progress bar and no summary\n"
    "  --allow-nonfinite     write the map even when the target score is NaN or infinite\n"
    "--save-npy writes float32 H x W (C x H x W for guided-backprop and guided-gradcam); signed maps\n"
    "(integrated-gradients, guided-*) are divided by their largest magnitude, the others are in [0, 1].\n"
    "--out draws a C x H x W map with pytorch-grad-cam's deprocess_image.\n";


static const char *default_sample(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/models/samples/scene_01.png", GCAM_SOURCE_DIR);
    return access(path, R_OK) == 0 ? path : NULL;
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

/* ---- images of maps ---- */

/* An RGB image of a channels x h x w gradient map, drawn as pytorch-grad-cam's
 * deprocess_image does: (x - mean) / (std + 1e-5) * 0.1 + 0.5, clipped, uint8(255 v). */
static int rgb_of_map(const float *map, int ch, int h, int w, gcam_image *out, gcam_err *e)
{
    int64_t hw = (int64_t)h * w, n = (int64_t)ch * hw;
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!v) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    memcpy(v, map, sizeof(float) * (size_t)n);
    gcam_cam_deprocess(v, n);
    int rc = gcam_image_alloc(out, w, h, 3, e);
    for (int64_t p = 0; p < hw && !rc; p++)
        for (int c = 0; c < 3; c++) out->px[p * 3 + c] = (uint8_t)(255.0f * v[(ch >= 3 ? c : 0) * hw + p]);
    free(v);
    return rc;
}

/* What the model saw, for the grid: each input channel min-max scaled to 0..255. */
static int image_of_input(const gcam_array *x, int nhwc, gcam_image *out, gcam_err *e)
{
    int C = (int)x->dims[nhwc ? 3 : 1], H = (int)x->dims[nhwc ? 1 : 2], W = (int)x->dims[nhwc ? 2 : 3];
    int rc = gcam_image_alloc(out, W, H, 3, e);
    if (rc) return rc;
    int64_t hw = (int64_t)H * W;
    float *planes = malloc(sizeof(float) * (size_t)(C * hw + 1));
    if (!planes) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    if (nhwc) gcam_cam_to_planar(x->data, C, hw, planes);
    else memcpy(planes, x->data, sizeof(float) * (size_t)(C * hw));
    for (int c = 0; c < 3; c++) {
        const float *pl = planes + (c < C ? c : 0) * hw;
        float lo = pl[0], hi = pl[0];
        for (int64_t p = 1; p < hw; p++) {
            lo = pl[p] < lo ? pl[p] : lo;
            hi = pl[p] > hi ? pl[p] : hi;
        }
        for (int64_t p = 0; p < hw; p++)
            out->px[p * 3 + c] = (uint8_t)(hi > lo ? 255.0f * (pl[p] - lo) / (hi - lo) : 0.0f);
    }
    free(planes);
    return GCAM_OK;
}

int cli_image_of_input(gcam_model *m, const gcam_array *x, gcam_image *out, gcam_err *e)
{
    return image_of_input(x, gcam_model_input_layout(m, gcam_model_image_input(m)) == GCAM_LAYOUT_NHWC, out, e);
}

/* --method all: every method on the same input and target, one tile each. */
static int explain_all(gcam_model *m, const gcam_array *x, gcam_explain_opts eo, int cmap, double alpha,
                       const char *out_png, int quiet, int json, int allow_nonfinite)
{
    gcam_image tiles[GCAM_METHOD_COUNT + 1];
    const char *labels[GCAM_METHOD_COUNT + 1];
    char label_buf[GCAM_METHOD_COUNT + 1][64];
    double ms[GCAM_METHOD_COUNT];
    int ok[GCAM_METHOD_COUNT];
    memset(tiles, 0, sizeof tiles);
    gcam_err e = {0};
    const int nhwc = gcam_model_input_layout(m, gcam_model_image_input(m)) == GCAM_LAYOUT_NHWC;
    int rc = image_of_input(x, nhwc, &tiles[0], &e);
    if (rc) return cli_fail("%s", e.msg);
    labels[0] = "input";
    int n = 1, fixed = 0;
    gcam_overlay_opts ov;
    gcam_overlay_opts_default(&ov);
    ov.cmap = cmap;
    ov.alpha = (float)alpha;
    /* gradcam first: it fixes the class every other method explains */
    for (int k = 0; k < GCAM_METHOD_COUNT && !rc; k++) {
        eo.method = k;
        gcam_explanation *ex = NULL;
        ok[k] = gcam_explain(m, x, &eo, &ex) == GCAM_OK;
        const char *name = gcam_method_name(k);
        if (ok[k] && !allow_nonfinite && !isfinite(gcam_explanation_score(ex))) {
            rc = gcam_errf(&e, GCAM_E_RANGE, "%s: the target score is %g; the maps would be meaningless "
                           "(--allow-nonfinite draws them anyway)", name, (double)gcam_explanation_score(ex));
            gcam_explanation_free(ex);
            break;
        }
        if (!ok[k]) {
            if (!quiet) fprintf(stderr, "gradcam: note: %s: %s\n", name, gcam_model_errmsg(m));
            snprintf(label_buf[n], sizeof label_buf[n], "%s n/a", name);
            rc = gcam_image_alloc(&tiles[n], tiles[0].w, tiles[0].h, 3, &e);
            if (!rc) memset(tiles[n].px, 200, (size_t)tiles[n].w * tiles[n].h * 3);
            ms[k] = 0;
        } else {
            if (!fixed) {
                eo.target_class = gcam_explanation_target(ex);
                fixed = 1;
            }
            int h, w, ch = gcam_explanation_channels(ex);
            const float *map = gcam_explanation_map(ex, &h, &w);
            rc = ch > 1 ? rgb_of_map(map, ch, h, w, &tiles[n], &e) : gcam_overlay(&tiles[0], map, w, h, &ov, &tiles[n], &e);
            snprintf(label_buf[n], sizeof label_buf[n], "%s", name);
            ms[k] = gcam_explanation_time_ms(ex, "forward") + gcam_explanation_time_ms(ex, "backward") +
                    gcam_explanation_time_ms(ex, "cam");
            if (!quiet && !json) printf("%-22s %9.1f ms\n", name, ms[k]);
        }
        labels[n] = label_buf[n];
        n++;
        gcam_explanation_free(ex);
    }
    gcam_image grid = {0};
    if (!rc) rc = gcam_image_grid(tiles, n, 0, labels, 4, &grid, &e);
    if (!rc) rc = gcam_image_save(out_png, &grid, &e);
    if (rc) cli_fail("%s", e.msg);
    else if (json) {
        printf("{\"method\": \"all\", \"target\": %lld, \"methods\": [", (long long)eo.target_class);
        for (int k = 0; k < GCAM_METHOD_COUNT; k++) {
            printf("%s{\"method\": ", k ? ", " : "");
            cli_json_str(stdout, gcam_method_name(k));
            printf(", \"ok\": %s, \"time_ms\": %.3f}", ok[k] ? "true" : "false", ms[k]);
        }
        printf("], \"out\": ");
        cli_json_str(stdout, out_png);
        printf("}\n");
    } else if (!quiet) {
        printf("grid: %s\n", cli_esc(out_png));
    }
    gcam_image_free(&grid);
    for (int i = 0; i < n; i++) gcam_image_free(&tiles[i]);
    return rc ? 1 : 0;
}

static int parse_count(const char *opt, const char *v, long min, long *out)
{
    if (cli_parse_int(v, out) || *out < min || *out > (1L << 30)) return cli_usage(USAGE, "bad %s '%s'", opt, v);
    return 0;
}

/* --layout and --tokens (gcam_explain_opts.layout, token_*); 1 when a is neither,
 * 0 when parsed, 2 on a bad value. */
static int parse_layout_opt(const char *a, int argc, char **argv, int *i, gcam_explain_opts *eo)
{
    static const char *const NAMES[] = {[GCAM_LAYER_NCHW] = "nchw", [GCAM_LAYER_NHWC] = "nhwc",
                                        [GCAM_LAYER_TOKENS] = "tokens"};
    if (strcmp(a, "--layout") && strcmp(a, "--tokens")) return 1;
    const char *v = cli_value(argc, argv, i);
    if (!v) return 2;
    if (!strcmp(a, "--layout")) {
        for (int k = GCAM_LAYER_NCHW; k <= GCAM_LAYER_TOKENS; k++)
            if (!strcmp(v, NAMES[k])) eo->layout = k;
        return eo->layout ? 0 : cli_usage(USAGE, "bad --layout '%s' (nchw, nhwc, tokens)", v);
    }
    long long skip, h, w;
    char tail;
    if (sscanf(v, "%lld,%lldx%lld%c", &skip, &h, &w, &tail) != 3 || skip < 0 || h < 1 || w < 1 || skip > (1 << 20) ||
        h > (1 << 20) || w > (1 << 20))
        return cli_usage(USAGE, "bad --tokens '%s' (SKIP,HxW, e.g. 1,14x14)", v);
    eo->layout = GCAM_LAYER_TOKENS;
    eo->token_skip = skip, eo->token_h = h, eo->token_w = w;
    return 0;
}

int cmd_explain(int argc, char **argv)
{
    const char *model = NULL, *labels_file = NULL, *out_png = NULL, *save = NULL, *method = "gradcam";
    const char *target = "top1", *target_output = NULL, *norm = "image";
    const char *layers[GCAM_MAX_LAYERS];
    int n_layers = 0, lrc, raw = 0, json = 0, quiet = 0, cmap = 0, allow_nonfinite = 0;
    long top = 5, repeat = 1, threads = 0, target_index = -1, count;
    double alpha = 0.5, fv;
    gcam_explain_opts eo;
    gcam_explain_opts_default(&eo);
    cli_targets tg;
    cli_targets_init(&tg);
    cli_input_opts io;
    cli_input_defaults(&io);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int used = cli_input_option(&io, argc, argv, &i);
        if (used < 0) return 2;
        if (used) continue;
        if ((lrc = cli_parse_target_opt(a, argc, argv, &i, &tg)) != 1) { if (lrc) return 2; }
        else if (!strcmp(a, "--model")) { if (!(model = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--method")) { if (!(method = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--layer")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (n_layers == GCAM_MAX_LAYERS) return cli_usage(USAGE, "at most %d --layer", GCAM_MAX_LAYERS);
            layers[n_layers++] = v;
        } else if (!strcmp(a, "--target")) { if (!(target = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--labels")) { if (!(labels_file = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--counterfactual")) eo.counterfactual = 1;
        else if (!strcmp(a, "--target-softmax")) eo.target_softmax = 1;
        else if (!strcmp(a, "--target-output")) { if (!(target_output = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--target-index")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_int(v, &target_index) || target_index < 0) return cli_usage(USAGE, "bad --target-index '%s'", v);
        } else if (!strcmp(a, "--out")) { if (!(out_png = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--save-npy")) { if (!(save = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--raw")) raw = 1;
        else if (!strcmp(a, "--no-relu")) eo.no_relu = 1;
        else if (!strcmp(a, "--normalize")) { if (!(norm = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--colormap")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if ((cmap = gcam_colormap_parse(v)) < 0) return cli_usage(USAGE, "unknown colormap '%s'", v);
        } else if (!strcmp(a, "--alpha")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_float(v, &alpha) || alpha < 0 || alpha > 1) return cli_usage(USAGE, "bad --alpha '%s' (0..1)", v);
        } else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if ((lrc = parse_layout_opt(a, argc, argv, &i, &eo)) != 1) { if (lrc) return 2; }
        else if (!strcmp(a, "--eigen-smooth")) eo.eigen_smooth = 1;
        else if (!strcmp(a, "--aug-smooth")) eo.aug_smooth = 1;
        else if (!strcmp(a, "--scorecam-baseline")) eo.scorecam_baseline = 1;
        else if (!strcmp(a, "--ablation-zero")) eo.ablation_zero = 1;
        else if (!strcmp(a, "--ablation-value")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (!strcmp(v, "zero")) eo.ablation_zero = 1;
            else if (!strcmp(v, "auto")) eo.ablation_zero = 0;
            else return cli_usage(USAGE, "bad --ablation-value '%s' (auto, zero)", v);
        } else if (!strcmp(a, "--sg-noise-file")) { if (!(eo.sg_noise_file = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--ablation-rerun")) eo.ablation_rerun = 1; /* benchmarks only */
        else if (!strcmp(a, "--batch-size") || !strcmp(a, "--max-channels") || !strcmp(a, "--ig-steps") ||
                 !strcmp(a, "--steps") || !strcmp(a, "--sg-samples") || !strcmp(a, "--samples")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (parse_count(a, v, 1, &count)) return 2;
            int *dst = !strcmp(a, "--batch-size") ? &eo.batch_size : !strcmp(a, "--max-channels") ? &eo.max_channels
                     : strstr(a, "steps") ? &eo.ig_steps : &eo.sg_samples;
            *dst = (int)count;
        } else if (!strcmp(a, "--ig-baseline") || !strcmp(a, "--baseline")) {
            if (!(eo.ig_baseline = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--sg-noise") || !strcmp(a, "--noise")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_float(v, &fv) || !(fv > 0) || fv > 100) return cli_usage(USAGE, "bad --sg-noise '%s' (> 0)", v);
            eo.sg_noise = (float)fv;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') return cli_usage(USAGE, "bad --seed '%s' (0 to 2^64-1)", v);
            eo.seed = (uint64_t)s;
        } else if (!strcmp(a, "--top") || !strcmp(a, "--repeat") || !strcmp(a, "--threads")) {
            long *dst = a[2] == 't' && a[3] == 'o' ? &top : a[2] == 'r' ? &repeat : &threads;
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_range(a, v, 1, dst == &threads ? CLI_MAX_THREADS : 1L << 30, dst)) return 2;
        } else if (!strcmp(a, "--allow-nonfinite")) { allow_nonfinite = 1;
        } else if (!strcmp(a, "--help")) {
            printf("usage: %s\nmethods (default gradcam; `all` writes a grid of every method to --out):\n", USAGE);
            cli_print_methods(stdout);
            printf("%s%s", HELP, CLI_INPUT_HELP);
            return 0;
        }
        else if (a[0] != '-' && !io.image && !io.tensor) io.image = a;
        else return cli_usage(USAGE, "unknown option '%s'", a);
    }
    int all = !strcmp(method, "all");
    if (!all && (eo.method = gcam_method_parse(method)) < 0)
        return cli_usage(USAGE, "unknown --method '%s' (%s, all)", method, cli_method_names());
    if (all && !out_png) return cli_usage(USAGE, "--method all writes a grid image: give --out GRID.png");
    if (all && save) return cli_usage(USAGE, "--save-npy needs one method, not all");
    if (!strcmp(norm, "image")) eo.normalize = GCAM_NORM_IMAGE;
    else if (!strcmp(norm, "none")) eo.normalize = GCAM_NORM_NONE;
    else if (!strncmp(norm, "global:", 7)) {
        double mx;
        if (cli_parse_float(norm + 7, &mx) || !(mx > 0)) return cli_usage(USAGE, "bad --normalize '%s' (global:MAX, MAX > 0)", norm);
        eo.normalize = GCAM_NORM_GLOBAL;
        eo.global_max = (float)mx;
    } else return cli_usage(USAGE, "bad --normalize '%s' (none, image, global:MAX)", norm);
    if (target_index >= 0 && !target_output) return cli_usage(USAGE, "--target-index needs --target-output");
    if (!model) model = cli_default_model();
    if ((save && cli_check_output("--save-npy", save)) || (out_png && cli_check_output("--out", out_png))) return 1;
    if (!io.image && !io.tensor && !(io.image = default_sample()))
        return cli_usage(USAGE, "no input: give an IMAGE or --input-tensor X.npy");

    progress_state ps = {.on = !quiet && isatty(2), .last = -1};
    eo.progress = progress_bar;
    eo.progress_user = &ps;

    gcam_model *m = cli_load_model(model, (int)threads);
    if (!m) return 1;
    char **labels = NULL;
    int n_labels = cli_load_labels(labels_file, m, &labels);
    int rc = n_labels < 0;
    /* target: index, top1, or a label name */
    eo.target_class = -1;
    if (!rc && target_output) {
        eo.target_output = target_output;
        eo.target_class = target_index;
    } else if (!rc && strcmp(target, "top1")) {
        long c;
        if (!cli_parse_int(target, &c)) {
            if (c < 0) rc = cli_fail("--target %ld: class index must be >= 0", c);
            eo.target_class = c;
        } else {
            for (int k = 0; k < n_labels; k++)
                if (!strcmp(labels[k], target)) eo.target_class = k;
            if (eo.target_class < 0)
                rc = n_labels ? cli_fail("--target '%s' is not a class name of this model (see --labels)", target)
                              : cli_fail("--target '%s': the model has no labels; pass --labels FILE or a class index", target);
        }
    }
    eo.layers = n_layers ? layers : NULL;
    eo.n_layers = n_layers;
    gcam_array x = {0};
    cli_input_info info = {0};
    if (!rc) rc = cli_make_input(&io, m, &x, &info);
    if (!rc && tg.all_steps) {
        rc = cli_explain_steps(m, &x, &tg, &eo, save, out_png, cmap, alpha, quiet);
        cli_input_free(&x, &info);
        cli_free_labels(labels, n_labels);
        cli_free_model(m);
        cli_targets_free(&tg);
        return rc;
    }
    if (!rc && tg.any) {
        if (tg.step >= 0 && eo.target_class < 0 && strcmp(target, "top1")) eo.target_class = strtol(target, NULL, 10);
        rc = cli_build_target(m, &x, &tg, &eo);
    }
    if (!rc && all) {
        rc = explain_all(m, &x, eo, cmap, alpha, out_png, quiet, json, allow_nonfinite);
        cli_input_free(&x, &info);
        cli_free_labels(labels, n_labels);
        cli_free_model(m);
        cli_targets_free(&tg);
        return rc;
    }
    gcam_explanation *ex = NULL;
    for (long r = 0; r < repeat && !rc; r++) {
        gcam_explanation_free(ex);
        ex = NULL;
        if (gcam_explain(m, &x, &eo, &ex)) rc = cli_fail("%s", gcam_model_errmsg(m));
    }
    /* a map of an overflowed score is noise: say so instead of drawing it */
    if (!rc && !allow_nonfinite && !isfinite(gcam_explanation_score(ex)))
        rc = cli_fail("the target score is %g (the model's output overflowed on this input); the map would be "
                      "meaningless (--allow-nonfinite writes it anyway)", (double)gcam_explanation_score(ex));
    int H = 0, W = 0, rh = 0, rw = 0, ch = 1;
    const float *map = NULL, *rawmap = NULL;
    if (!rc) {
        map = gcam_explanation_map(ex, &H, &W);
        rawmap = gcam_explanation_raw(ex, &rh, &rw);
        ch = gcam_explanation_channels(ex);
    }
    if (!rc && save) {
        gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = ch > 1 ? 3 : 2};
        int d = 0;
        if (ch > 1) a.dims[d++] = ch;
        a.dims[d++] = raw ? rh : H;
        a.dims[d++] = raw ? rw : W;
        a.data = (void *)(raw ? rawmap : map);
        rc = cli_write_npy(save, &a);
    }
    if (!rc && out_png) {
        if (ch > 1) { /* a gradient image: written as it is, at the input's resolution */
            gcam_image img = {0};
            gcam_err e = {0};
            if (rgb_of_map(map, ch, H, W, &img, &e) || gcam_image_save(out_png, &img, &e)) rc = cli_fail("%s", e.msg);
            gcam_image_free(&img);
        } else if (gcam_save_overlay(m, info.photo, ex, gcam_colormap_name(cmap), (float)alpha, out_png)) {
            rc = cli_fail("%s", gcam_model_errmsg(m));
        }
    }
    if (!rc) {
        int64_t t = gcam_explanation_target(ex);
        const char *tl = !target_output && t >= 0 && t < n_labels ? labels[t] : "";
        const char *layer0 = gcam_explanation_num_layers(ex) ? gcam_explanation_layer(ex, 0) : "(input)";
        gcam_array y;
        const char *out_name = target_output ? target_output : gcam_model_output_name(m, 0);
        int have_y = !gcam_model_tensor(m, out_name, &y) && y.dtype == GCAM_FLOAT32;
        int64_t C = have_y && y.ndim ? y.dims[y.ndim - 1] : 0;
        const float *s = have_y ? y.data : NULL;
        double mx = -INFINITY, sum = 0;
        for (int64_t c = 0; c < C; c++) mx = s[c] > mx ? s[c] : mx;
        for (int64_t c = 0; c < C; c++) sum += exp(s[c] - mx);
        int64_t idx[64];
        int nt = (int)(top < C ? top : C);
        if (nt > 64) nt = 64;
        for (int k = 0; k < nt; k++) { /* top-k by repeated selection */
            int64_t best = -1;
            for (int64_t c = 0; c < C; c++) {
                int taken = 0;
                for (int j = 0; j < k; j++) taken |= idx[j] == c;
                if (!taken && (best < 0 || s[c] > s[best])) best = c;
            }
            idx[k] = best;
        }
        double tf = gcam_explanation_time_ms(ex, "forward"), tb = gcam_explanation_time_ms(ex, "backward"),
               tc = gcam_explanation_time_ms(ex, "cam");
        if (json) {
            printf("{\"model\": ");
            cli_json_str(stdout, model);
            printf(", \"method\": \"%s\", \"layers\": [", method);
            for (int i = 0; i < gcam_explanation_num_layers(ex); i++) {
                if (i) printf(", ");
                cli_json_str(stdout, gcam_explanation_layer(ex, i));
            }
            printf("], \"output\": ");
            cli_json_str(stdout, out_name);
            printf(", \"target\": %lld, \"target_label\": ", (long long)t);
            cli_json_str(stdout, tl);
            printf(", \"score\": ");
            cli_json_num(stdout, gcam_explanation_score(ex), "score");
            printf(", \"score_kind\": \"%s\", \"counterfactual\": %s, \"top\": [",
                   eo.target_softmax ? "probability" : "logit", eo.counterfactual ? "true" : "false");
            for (int k = 0; k < nt; k++) {
                printf("%s{\"class\": %lld, \"logit\": ", k ? ", " : "", (long long)idx[k]);
                cli_json_num(stdout, s[idx[k]], "logit");
                printf(", \"prob\": ");
                cli_json_num(stdout, exp(s[idx[k]] - mx) / sum, "probability");
                printf(", \"label\": ");
                cli_json_str(stdout, idx[k] < n_labels ? labels[idx[k]] : "");
                printf("}");
            }
            printf("], \"map_size\": [%d, %d], \"channels\": %d, \"raw_size\": [%d, %d], \"time_ms\": {\"forward\": %.3f, \"backward\": %.3f, \"cam\": %.3f, \"total\": %.3f}",
                   H, W, ch, rh, rw, tf, tb, tc, tf + tb + tc);
            printf(", \"out\": ");
            cli_json_str(stdout, out_png ? out_png : "");
            printf(", \"npy\": ");
            cli_json_str(stdout, save ? save : "");
            printf("}\n");
        } else if (!quiet) {
            printf("%s: output '%s' target %lld%s%s%s (%s %.4f) layer %s\n", method, cli_esc(out_name), (long long)t,
                   tl[0] ? " \"" : "", cli_esc(tl), tl[0] ? "\"" : "", eo.target_softmax ? "prob" : "logit",
                   gcam_explanation_score(ex), cli_esc(layer0));
            printf("time: forward %.1f ms, backward %.1f ms, cam %.1f ms\n", tf, tb, tc);
            if (out_png) printf("%s: %s\n", ch > 1 ? "image" : "overlay", cli_esc(out_png));
            if (save) {
                if (ch > 1) printf("heatmap: %s (%dx%dx%d float32)\n", cli_esc(save), ch, raw ? rh : H, raw ? rw : W);
                else printf("heatmap: %s (%dx%d float32)\n", cli_esc(save), raw ? rh : H, raw ? rw : W);
            }
        }
    }
    gcam_explanation_free(ex);
    cli_input_free(&x, &info);
    cli_free_labels(labels, n_labels);
    cli_free_model(m);
    cli_targets_free(&tg);
    return rc;
}
