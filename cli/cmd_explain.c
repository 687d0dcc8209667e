/* cmd_explain.c - `gradcam explain`: a heatmap for a class. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "image/image.h"
#include "input.h"

static const char *USAGE =
    "gradcam explain [--model M.onnx] [IMAGE | --image IMG | --input-tensor X.npy] [--method gradcam]\n"
    "                [--layer NAME|auto]... [--target CLASS|top1|LABEL] [--labels FILE] [--counterfactual]\n"
    "                [--target-output NAME --target-index I] [--target-softmax]\n"
    "                [--out overlay.png] [--colormap jet|turbo|viridis|inferno|gray] [--alpha A]\n"
    "                [--save-npy OUT.npy] [--raw] [--no-relu] [--normalize none|image|global:MAX]\n"
    "                [--json] [--top K] [--repeat N] [--threads N] [--quiet] [preprocessing options]";

#define MAX_LAYERS 16

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static const char *default_sample(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/models/samples/scene_01.png", GCAM_SOURCE_DIR);
    return access(path, R_OK) == 0 ? path : NULL;
}

int cmd_explain(int argc, char **argv)
{
    const char *model = NULL, *labels_file = NULL, *out_png = NULL, *save = NULL, *method = "gradcam";
    const char *target = "top1", *target_output = NULL, *norm = "image";
    const char *layers[MAX_LAYERS];
    int n_layers = 0, raw = 0, json = 0, quiet = 0, cmap = 0;
    long top = 5, repeat = 1, threads = 0, target_index = -1;
    double alpha = 0.5;
    gcam_explain_opts eo;
    gcam_explain_opts_default(&eo);
    cli_input_opts io;
    cli_input_defaults(&io);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int used = cli_input_option(&io, argc, argv, &i);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(a, "--model")) { if (!(model = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--method")) { if (!(method = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--layer")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (n_layers == MAX_LAYERS) return cli_usage(USAGE, "at most %d --layer", MAX_LAYERS);
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
        else if (!strcmp(a, "--top") || !strcmp(a, "--repeat") || !strcmp(a, "--threads")) {
            long *dst = a[2] == 't' && a[3] == 'o' ? &top : a[2] == 'r' ? &repeat : &threads;
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_int(v, dst) || *dst < 1) return cli_usage(USAGE, "bad %s '%s'", a, v);
        } else if (!strcmp(a, "--help")) { printf("usage: %s\n%s", USAGE, CLI_INPUT_HELP); return 0; }
        else if (a[0] != '-' && !io.image && !io.tensor) io.image = a;
        else return cli_usage(USAGE, "unknown option '%s'", a);
    }
    if (strcmp(method, "gradcam")) return cli_usage(USAGE, "unknown --method '%s' (available: gradcam)", method);
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
    if (!io.image && !io.tensor && !(io.image = default_sample()))
        return cli_usage(USAGE, "no input: give an IMAGE or --input-tensor X.npy");

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
    gcam_explanation *ex = NULL;
    for (long r = 0; r < repeat && !rc; r++) {
        gcam_explanation_free(ex);
        ex = NULL;
        if (gcam_explain(m, &x, &eo, &ex)) rc = cli_fail("%s", gcam_model_errmsg(m));
    }
    int H = 0, W = 0, rh = 0, rw = 0;
    const float *map = NULL, *rawmap = NULL;
    if (!rc) {
        map = gcam_explanation_map(ex, &H, &W);
        rawmap = gcam_explanation_raw(ex, &rh, &rw);
    }
    if (!rc && save) {
        gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 2};
        a.dims[0] = raw ? rh : H;
        a.dims[1] = raw ? rw : W;
        a.data = (void *)(raw ? rawmap : map);
        rc = cli_write_npy(save, &a);
    }
    if (!rc && out_png && gcam_save_overlay(m, info.photo, ex, gcam_colormap_name(cmap), (float)alpha, out_png))
        rc = cli_fail("%s", gcam_model_errmsg(m));
    if (!rc) {
        int64_t t = gcam_explanation_target(ex);
        const char *tl = !target_output && t < n_labels ? labels[t] : "";
        gcam_array y;
        int have_y = !gcam_model_tensor(m, gcam_model_output_name(m, 0), &y) && y.dtype == GCAM_FLOAT32;
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
            json_str(stdout, model);
            printf(", \"method\": \"%s\", \"layers\": [", method);
            for (int i = 0; i < gcam_explanation_num_layers(ex); i++) {
                if (i) printf(", ");
                json_str(stdout, gcam_explanation_layer(ex, i));
            }
            printf("], \"target\": %lld, \"target_label\": ", (long long)t);
            json_str(stdout, tl);
            printf(", \"score\": %.6g, \"score_kind\": \"%s\", \"counterfactual\": %s, \"top\": [",
                   gcam_explanation_score(ex), eo.target_softmax ? "probability" : "logit",
                   eo.counterfactual ? "true" : "false");
            for (int k = 0; k < nt; k++) {
                printf("%s{\"class\": %lld, \"logit\": %.6g, \"prob\": %.6g, \"label\": ", k ? ", " : "",
                       (long long)idx[k], s[idx[k]], exp(s[idx[k]] - mx) / sum);
                json_str(stdout, idx[k] < n_labels ? labels[idx[k]] : "");
                printf("}");
            }
            printf("], \"map_size\": [%d, %d], \"raw_size\": [%d, %d], \"time_ms\": {\"forward\": %.3f, \"backward\": %.3f, \"cam\": %.3f, \"total\": %.3f}",
                   H, W, rh, rw, tf, tb, tc, tf + tb + tc);
            printf(", \"out\": ");
            json_str(stdout, out_png ? out_png : "");
            printf(", \"npy\": ");
            json_str(stdout, save ? save : "");
            printf("}\n");
        } else if (!quiet) {
            printf("target %lld%s%s%s (%s %.4f) layer %s\n", (long long)t, tl[0] ? " \"" : "", tl, tl[0] ? "\"" : "",
                   eo.target_softmax ? "prob" : "logit", gcam_explanation_score(ex), gcam_explanation_layer(ex, 0));
            printf("time: forward %.1f ms, backward %.1f ms, cam %.1f ms\n", tf, tb, tc);
            if (out_png) printf("overlay: %s\n", out_png);
            if (save) printf("heatmap: %s (%dx%d float32)\n", save, raw ? rh : H, raw ? rw : W);
        }
    }
    gcam_explanation_free(ex);
    cli_input_free(&x, &info);
    cli_free_labels(labels, n_labels);
    gcam_model_free(m);
    return rc;
}
