/* cmd_run.c - `gradcam run`: any model, .npy in, any named tensor out. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

static const char *USAGE =
    "gradcam run --model M.onnx --input NAME=X.npy [--input ...] --output NAME=Y.npy [--output ...] [--threads N]";

#define MAX_IO 64

typedef struct {
    const char *model;
    char *in_name[MAX_IO], *in_path[MAX_IO], *out_name[MAX_IO], *out_path[MAX_IO];
    int n_in, n_out;
    long threads;
} run_args;

/* NAME=FILE.npy into names[*n], paths[*n] */
static int name_eq_file(const char *opt, const char *v, char **names, char **paths, int *n, const char *usage)
{
    char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) return cli_usage(usage, "expected NAME=FILE.npy, got '%s'", v);
    if (*n == MAX_IO) return cli_usage(usage, "too many %s", opt);
    *eq = 0; /* argv is ours to split */
    names[*n] = (char *)v;
    paths[(*n)++] = eq + 1;
    return 0;
}

static int opt_input(void *s, const char *name, const char *v, const char *usage)
{
    run_args *a = s;
    return name_eq_file(name, v, a->in_name, a->in_path, &a->n_in, usage);
}

static int opt_output(void *s, const char *name, const char *v, const char *usage)
{
    run_args *a = s;
    return name_eq_file(name, v, a->out_name, a->out_path, &a->n_out, usage);
}

/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help */
static const cli_opt OPTS[] = {
    {"--model", NULL, CLI_STR, offsetof(run_args, model), 0, 0, 0, NULL, NULL, "M.onnx", NULL},
    {"--input", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_input, "NAME=X.npy", NULL},
    {"--output", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_output, "NAME=Y.npy", NULL},
    {"--threads", NULL, CLI_RANGE, offsetof(run_args, threads), 1, CLI_MAX_THREADS, 0, NULL, NULL, "N", NULL},
    CLI_OPT_END,
};

int cmd_run(int argc, char **argv)
{
    run_args r;
    memset(&r, 0, sizeof r);
    for (int i = 1; i < argc; i++) {
        int used = cli_opt_take(OPTS, &r, argc, argv, &i, USAGE);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(argv[i], "--help")) { printf("usage: %s\n", USAGE); return 0; }
        return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
    const char *model = r.model;
    char **in_name = r.in_name, **in_path = r.in_path, **out_name = r.out_name, **out_path = r.out_path;
    const int n_in = r.n_in, n_out = r.n_out;
    const long threads = r.threads;
    if (!model) return cli_usage(USAGE, "--model is required");
    if (!n_in) return cli_usage(USAGE, "at least one --input NAME=X.npy is required");
    for (int k = 0; k < n_out; k++)
        if (cli_check_output("--output", out_path[k])) return 1;
    gcam_model *m = cli_load_model(model, (int)threads);
    if (!m) return 1;
    gcam_array arr[MAX_IO];
    memset(arr, 0, sizeof arr);
    int rc = 0, loaded = 0;
    for (int k = 0; k < n_in && !rc; k++, loaded++) rc = cli_read_npy(in_path[k], &arr[k]);
    for (int k = 0; k < n_out && !rc; k++)
        if (gcam_model_keep(m, out_name[k])) rc = cli_fail("%s", gcam_model_errmsg(m));
    if (!rc && gcam_model_run(m, (const char *const *)in_name, arr, n_in)) rc = cli_fail("%s", gcam_model_errmsg(m));
    for (int k = 0; k < n_out && !rc; k++) {
        gcam_array y;
        if (gcam_model_tensor(m, out_name[k], &y)) rc = cli_fail("%s", gcam_model_errmsg(m));
        else rc = cli_write_npy(out_path[k], &y);
    }
    if (!rc && !n_out) {
        for (int k = 0; k < gcam_model_num_outputs(m); k++) {
            gcam_array y;
            if (gcam_model_tensor(m, gcam_model_output_name(m, k), &y)) continue;
            printf("%s:", cli_esc(gcam_model_output_name(m, k)));
            for (int d = 0; d < y.ndim; d++) printf(" %lld", (long long)y.dims[d]);
            printf("\n");
        }
    }
    for (int k = 0; k < loaded; k++) free(arr[k].data);
    cli_free_model(m);
    return rc;
}
