/* cmd_classify.c - `gradcam classify`: top-K classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"

static const char *USAGE =
    "gradcam classify [--model M.onnx] (--image IMG | --input-tensor X.npy) [--input NAME=X.npy]...\n"
    "                 [--target-output NAME] [--top K] [--labels FILE] [--save-npy OUT.npy] [--repeat N]\n"
    "                 [--threads N] [preprocessing options]\n"
    "  ranks the last axis of the first graph output, or of --target-output (any float tensor);\n"
    "  the first line names it";

int cmd_classify(int argc, char **argv)
{
    const char *model = NULL, *labels_file = NULL, *save = NULL, *target_output = NULL;
    long top = 5, repeat = 1, threads = 0;
    cli_input_opts io;
    cli_input_defaults(&io);
    for (int i = 1; i < argc; i++) {
        const char *v;
        int used = cli_input_option(&io, argc, argv, &i);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(argv[i], "--model")) { if (!(model = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--labels")) { if (!(labels_file = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--save-npy")) { if (!(save = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--target-output")) { if (!(target_output = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--top")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_int(v, &top) || top < 1) return cli_usage(USAGE, "bad --top '%s'", v);
        } else if (!strcmp(argv[i], "--repeat")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_int(v, &repeat) || repeat < 1) return cli_usage(USAGE, "bad --repeat '%s'", v);
        } else if (!strcmp(argv[i], "--threads")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_range("--threads", v, 1, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(argv[i], "--help")) { printf("usage: %s\n", USAGE); return 0; }
        else if (argv[i][0] != '-' && !io.image && !io.tensor) io.image = argv[i];
        else return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
    if (!model) model = cli_default_model();
    if (save && cli_check_output("--save-npy", save)) return 1;
    gcam_model *m = cli_load_model(model, (int)threads);
    if (!m) return 1;
    char **labels = NULL;
    int n_labels = cli_load_labels(labels_file, m, &labels);
    gcam_array x = {0};
    cli_input_info info = {0};
    int rc = n_labels < 0 ? 1 : cli_make_input(&io, m, &x, &info);
    const char *out_name = target_output ? target_output : gcam_model_output_name(m, 0);
    if (!rc && target_output && gcam_model_keep(m, target_output)) rc = cli_fail("%s", gcam_model_errmsg(m));
    for (long r = 0; r < repeat && !rc; r++)
        if (gcam_model_run(m, NULL, &x, 1)) rc = cli_fail("%s", gcam_model_errmsg(m));
    gcam_array y;
    if (!rc && gcam_model_tensor(m, out_name, &y)) rc = cli_fail("%s", gcam_model_errmsg(m));
    if (!rc && y.dtype != GCAM_FLOAT32) rc = cli_fail("output '%s' is not float32", out_name);
    if (!rc && save) rc = cli_write_npy(save, &y);
    if (!rc) {
        printf("output '%s' (", out_name);
        for (int d = 0; d < y.ndim; d++) printf("%s%lld", d ? "x" : "", (long long)y.dims[d]);
        printf(")%s\n", gcam_model_num_outputs(m) > 1 && !target_output ? " of several: --target-output picks another" : "");
        int64_t C = y.ndim ? y.dims[y.ndim - 1] : 1;
        const float *s = y.data; /* first batch item */
        double mx = -INFINITY, sum = 0;
        for (int64_t c = 0; c < C; c++) mx = s[c] > mx ? s[c] : mx;
        for (int64_t c = 0; c < C; c++) sum += exp(s[c] - mx);
        if (top > C) top = (long)C;
        int64_t *idx = malloc(sizeof(int64_t) * (size_t)(C ? C : 1));
        if (!idx) {
            rc = cli_fail("out of memory");
            C = top = 0;
        }
        for (int64_t c = 0; c < C; c++) idx[c] = c;
        for (long k = 0; k < top; k++) /* partial selection sort: K is small */
            for (int64_t c = k + 1; c < C; c++)
                if (s[idx[c]] > s[idx[k]]) { int64_t t = idx[k]; idx[k] = idx[c]; idx[c] = t; }
        /* multi-label models (metadata gradcam.output=sigmoid) score each class on its own */
        const char *kind = gcam_model_metadata(m, "gradcam.output");
        int sigmoid = kind && !strcmp(kind, "sigmoid");
        printf("%-4s %-6s %-10s %-8s %s\n", "rank", "class", "logit", sigmoid ? "sigmoid" : "prob", "label");
        for (long k = 0; k < top; k++) {
            int64_t c = idx[k];
            double p = sigmoid ? 1.0 / (1.0 + exp(-s[c])) : exp(s[c] - mx) / sum;
            printf("%-4ld %-6lld %-10.4f %-8.4f %s\n", k + 1, (long long)c, s[c], p, c < n_labels ? cli_esc(labels[c]) : "");
        }
        free(idx);
    }
    cli_input_free(&x, &info);
    cli_free_labels(labels, n_labels);
    cli_free_model(m);
    return rc;
}
