/* cmd_classify.c - `gradcam classify`: top-K classes. */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "opts.h"

static const char *USAGE =
    "gradcam classify [--model M.onnx] (--image IMG | --input-tensor X.npy) [--input NAME=X.npy]...\n"
    "                 [--target-output NAME] [--top K] [--labels FILE] [--save-npy OUT.npy] [--repeat N]\n"
    "                 [--threads N] [preprocessing options]\n"
    "  ranks the last axis of the first graph output, or of --target-output (any float tensor);\n"
    "  the first line names it";

typedef struct {
    const char *model, *labels_file, *save, *target_output;
    long top, repeat, threads;
    cli_input_opts io;
} classify_args;

#define A_(f) offsetof(classify_args, f)
/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help */
static const cli_opt OPTS[] = {
    {"--model", NULL, CLI_STR, A_(model), 0, 0, 0, NULL, NULL, "M.onnx", NULL},
    {"--labels", NULL, CLI_STR, A_(labels_file), 0, 0, 0, NULL, NULL, "FILE", NULL},
    {"--save-npy", NULL, CLI_STR, A_(save), 0, 0, 0, NULL, NULL, "OUT.npy", NULL},
    {"--target-output", NULL, CLI_STR, A_(target_output), 0, 0, 0, NULL, NULL, "NAME", NULL},
    {"--top", NULL, CLI_LONG, A_(top), 1, LONG_MAX, 0, NULL, NULL, "K", NULL},
    {"--repeat", NULL, CLI_LONG, A_(repeat), 1, LONG_MAX, 0, NULL, NULL, "N", NULL},
    {"--threads", NULL, CLI_RANGE, A_(threads), 1, CLI_MAX_THREADS, 0, NULL, NULL, "N", NULL},
    CLI_OPT_END,
};

/* 0: run; -1: done (--help); else the exit status */
static int parse_args(int argc, char **argv, classify_args *a)
{
    memset(a, 0, sizeof *a);
    a->top = 5, a->repeat = 1;
    cli_input_defaults(&a->io);
    for (int i = 1; i < argc; i++) {
        int used = cli_input_option(&a->io, argc, argv, &i);
        if (!used) used = cli_opt_take(OPTS, a, argc, argv, &i, USAGE);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(argv[i], "--help")) return printf("usage: %s\n", USAGE), -1;
        if (argv[i][0] != '-' && !a->io.image && !a->io.tensor) a->io.image = argv[i];
        else return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
    return 0;
}

/* the top classes of the first batch item, scored the way the model's
 * outputs are meant (gcam_model_score_kind: softmax, sigmoid or logit) */
static int print_top(gcam_model *m, const gcam_array *y, long top, char **labels, int n_labels)
{
    int64_t C = y->ndim ? y->dims[y->ndim - 1] : 1;
    const float *s = y->data; /* first batch item */
    if (top > C) top = (long)C;
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(top ? top : 1));
    if (!idx) return cli_fail("out of memory");
    int n = gcam_topk(s, C, (int)(top < INT_MAX ? top : INT_MAX), idx);
    const int kind = gcam_model_score_kind(m);
    printf("%-4s %-6s %-10s %-8s %s\n", "rank", "class", "logit", kind == GCAM_SCORE_SOFTMAX ? "prob" : gcam_score_kind_name(kind), "label");
    for (int k = 0; k < n; k++) {
        int64_t c = idx[k];
        printf("%-4d %-6lld %-10.4f %-8.4f %s\n", k + 1, (long long)c, s[c], gcam_score(s, C, c, kind),
               c < n_labels ? cli_esc(labels[c]) : "");
    }
    free(idx);
    return 0;
}

int cmd_classify(int argc, char **argv)
{
    classify_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (!a.model) a.model = cli_default_model();
    if (a.save && cli_check_output("--save-npy", a.save)) return 1;
    gcam_model *m = cli_load_model(a.model, (int)a.threads);
    if (!m) return 1;
    char **labels = NULL;
    int n_labels = cli_load_labels(a.labels_file, m, &labels);
    gcam_array x = {0};
    cli_input_info info = {0};
    rc = n_labels < 0 ? 1 : cli_make_input(&a.io, m, &x, &info);
    const char *out_name = a.target_output ? a.target_output : gcam_model_output_name(m, 0);
    if (!rc && a.target_output && gcam_model_keep(m, a.target_output)) rc = cli_fail("%s", gcam_model_errmsg(m));
    for (long r = 0; r < a.repeat && !rc; r++)
        if (gcam_model_run(m, NULL, &x, 1)) rc = cli_fail("%s", gcam_model_errmsg(m));
    gcam_array y;
    if (!rc && gcam_model_tensor(m, out_name, &y)) rc = cli_fail("%s", gcam_model_errmsg(m));
    if (!rc && y.dtype != GCAM_FLOAT32) rc = cli_fail("output '%s' is not float32", out_name);
    if (!rc && a.save) rc = cli_write_npy(a.save, &y);
    if (!rc) {
        printf("output '%s' (", out_name);
        for (int d = 0; d < y.ndim; d++) printf("%s%lld", d ? "x" : "", (long long)y.dims[d]);
        printf(")%s\n", gcam_model_num_outputs(m) > 1 && !a.target_output ? " of several: --target-output picks another" : "");
        rc = print_top(m, &y, a.top, labels, n_labels);
    }
    cli_input_free(&x, &info);
    cli_free_labels(labels, n_labels);
    cli_free_model(m);
    return rc;
}
