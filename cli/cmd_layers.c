/* cmd_layers.c - `gradcam layers`: every layer (4-D map or token sequence), its layout and grid, auto choice marked. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *USAGE =
    "gradcam layers --model M.onnx [--input-shape [NAME=]1,3,224,224]... [--target-output NAME] [--json]\n"
    "  --target-output marks the automatic layer for that tensor (default: the first output)\n"
    "  --input-shape binds an input's symbolic dims (the first input without NAME=); without it a\n"
    "  symbolic batch is 1, an image's H,W come from the gradcam.preprocess metadata, else an error";

#define MAX_SHAPES 16

/* "[NAME=]D,D,..." -> input index and dims; -1 after printing the error */
static int bind_shape(gcam_model *m, const char *spec)
{
    const char *eq = strchr(spec, '='), *p = eq ? eq + 1 : spec;
    int input = 0;
    if (eq) {
        input = -1;
        for (int i = 0; i < gcam_model_num_inputs(m); i++)
            if (strlen(gcam_model_input_name(m, i)) == (size_t)(eq - spec) &&
                !strncmp(gcam_model_input_name(m, i), spec, (size_t)(eq - spec)))
                input = i;
        if (input < 0) return cli_fail("--input-shape '%s': the model has no input named '%.*s'", spec, (int)(eq - spec), spec), -1;
    }
    int64_t dims[GCAM_MAX_NDIM];
    int nd = 0;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (nd == GCAM_MAX_NDIM || end == p || v <= 0 || v > (1 << 20) || (*end && *end != ',' && *end != 'x'))
            return cli_usage(USAGE, "bad --input-shape '%s' (e.g. 1,3,224,224 or x=1,3,224,224)", spec), -2;
        dims[nd++] = v;
        p = *end ? end + 1 : end;
    }
    if (!nd) return cli_usage(USAGE, "bad --input-shape '%s' (e.g. 1,3,224,224 or x=1,3,224,224)", spec), -2;
    if (gcam_model_set_input_shape(m, input, dims, nd)) return cli_fail("%s", gcam_model_errmsg(m)), -1;
    return 0;
}

static const char *const LAYOUT[] = {"?", "nchw", "nhwc", "tokens"};

/* is_auto, reason: the automatic layer for the explained output (cmd_layers) */
static void print_json_row(const gcam_layer *L, int is_auto, const char *reason, int last)
{
    printf("  {\"tensor\": ");
    cli_json_str(stdout, L->tensor);
    printf(", \"op\": ");
    cli_json_str(stdout, L->op_type);
    printf(", \"node\": ");
    cli_json_str(stdout, L->node);
    printf(", \"shape\": [%lld, %lld, %lld", (long long)L->dims[0], (long long)L->dims[1], (long long)L->dims[2]);
    if (L->ndim == 4) printf(", %lld", (long long)L->dims[3]);
    printf("], \"layout\": \"%s\", \"grid\": [%lld, %lld], \"skip\": %lld, \"channels\": %lld, \"auto\": %s",
           LAYOUT[L->layout & 3], (long long)L->grid_h, (long long)L->grid_w, (long long)L->skip,
           (long long)L->channels, is_auto ? "true" : "false");
    if (is_auto) printf(", \"auto_reason\": \"%s\"", reason);
    printf("}%s\n", last ? "" : ",");
}

static void print_text_row(const gcam_layer *L, int is_auto, const char *reason)
{
    char shp[96], grid[64];
    snprintf(shp, sizeof shp, L->ndim == 3 ? "%lldx%lldx%lld" : "%lldx%lldx%lldx%lld", (long long)L->dims[0],
             (long long)L->dims[1], (long long)L->dims[2], (long long)L->dims[3]);
    snprintf(grid, sizeof grid, L->skip ? "%lldx%lld+%lld" : "%lldx%lld", (long long)L->grid_h, (long long)L->grid_w,
             (long long)L->skip);
    printf("%s %-48s %-20s %-16s %-7s %-10s %s%s%s\n", is_auto ? "*" : " ", cli_esc(L->tensor), cli_esc(L->op_type),
           shp, LAYOUT[L->layout & 3], grid, cli_esc(L->node), is_auto ? "  <- auto: " : "", is_auto ? reason : "");
}

/* after the table: the shapes planned with, and the float conversions */
static void print_footer(gcam_model *m, int n, const char *target)
{
    printf("%d layers; * marks the automatic Grad-CAM layer (--layer auto) for %s\n", n,
           target ? cli_esc(target) : "the first output");
    for (int i = 0; i < gcam_model_num_inputs(m); i++) {
        gcam_array a;
        if (gcam_model_tensor(m, gcam_model_input_name(m, i), &a)) continue;
        printf("input '%s': ", gcam_model_input_name(m, i));
        for (int d = 0; d < a.ndim; d++) printf("%s%lld", d ? "x" : "", (long long)a.dims[d]);
        printf("\n");
    }
    if (gcam_model_float_conversions(m))
        printf("note: %d float16/float64 tensors or casts are computed as float32 (converted when loaded)\n",
               gcam_model_float_conversions(m));
}

int cmd_layers(int argc, char **argv)
{
    const char *model = NULL, *shapes[MAX_SHAPES], *target = NULL, *auto_t = NULL, *why = NULL;
    int json = 0, n_shapes = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model")) { if (!(model = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--input-shape")) {
            if (n_shapes == MAX_SHAPES) return cli_usage(USAGE, "at most %d --input-shape", MAX_SHAPES);
            if (!(shapes[n_shapes++] = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(argv[i], "--target-output")) { if (!(target = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help")) { printf("usage: %s\n", USAGE); return 0; }
        else return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
    if (!model) model = cli_default_model();
    gcam_model *m = cli_load_model(model, 0);
    if (!m) return 1;
    int rc = 0;
    for (int k = 0; k < n_shapes && !rc; k++) {
        int r = bind_shape(m, shapes[k]);
        rc = r == -2 ? 2 : r < 0 ? 1 : 0;
    }
    const gcam_layer *L = NULL;
    int n = 0;
    if (!rc && gcam_model_layers(m, &L, &n)) rc = cli_fail("%s", gcam_model_errmsg(m));
    /* the automatic layer for --target-output (one of a detector's heads), else the first output's */
    if (!rc && target && gcam_model_auto_layer_of(m, target, &auto_t, &why)) rc = cli_fail("%s", gcam_model_errmsg(m));
#define IS_AUTO_(i) (auto_t ? !strcmp(L[i].tensor, auto_t) : L[i].is_auto), (auto_t ? why : L[i].auto_reason)
    if (!rc && json) {
        printf("[\n");
        for (int i = 0; i < n; i++) print_json_row(&L[i], IS_AUTO_(i), i + 1 == n);
        printf("]\n");
    } else if (!rc) {
        printf("  %-48s %-20s %-16s %-7s %-10s %s\n", "tensor", "op", "shape", "layout", "grid", "node");
        for (int i = 0; i < n; i++) print_text_row(&L[i], IS_AUTO_(i));
        print_footer(m, n, target);
    }
#undef IS_AUTO_
    cli_free_model(m);
    return rc;
}
