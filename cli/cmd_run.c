/* cmd_run.c - `gradcam run`: any model, .npy in, any named tensor out. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *USAGE =
    "gradcam run --model M.onnx --input NAME=X.npy [--input ...] --output NAME=Y.npy [--output ...] [--threads N]";

#define MAX_IO 64

int cmd_run(int argc, char **argv)
{
    const char *model = NULL;
    char *in_name[MAX_IO], *in_path[MAX_IO], *out_name[MAX_IO], *out_path[MAX_IO];
    int n_in = 0, n_out = 0;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--model")) { if (!(model = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--input") || !strcmp(argv[i], "--output")) {
            int is_in = argv[i][2] == 'i';
            if (!(v = cli_value(argc, argv, &i))) return 2;
            char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) return cli_usage(USAGE, "expected NAME=FILE.npy, got '%s'", v);
            if ((is_in ? n_in : n_out) == MAX_IO) return cli_usage(USAGE, "too many %s", argv[i - 1]);
            *eq = 0;
            if (is_in) { in_name[n_in] = (char *)v; in_path[n_in++] = eq + 1; }
            else { out_name[n_out] = (char *)v; out_path[n_out++] = eq + 1; }
        } else if (!strcmp(argv[i], "--threads")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_range("--threads", v, 1, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(argv[i], "--help")) { printf("usage: %s\n", USAGE); return 0; }
        else return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
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
