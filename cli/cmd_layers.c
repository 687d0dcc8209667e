/* cmd_layers.c - `gradcam layers`: every 4-D activation, auto choice marked. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *USAGE = "gradcam layers --model M.onnx [--input-shape 1,3,224,224] [--json]";

int cmd_layers(int argc, char **argv)
{
    const char *model = NULL, *shape = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model")) { if (!(model = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--input-shape")) { if (!(shape = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help")) { printf("usage: %s\n", USAGE); return 0; }
        else return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
    if (!model) model = cli_default_model();
    gcam_model *m = cli_load_model(model, 0);
    if (!m) return 1;
    int rc = 0;
    if (shape) {
        /* binds the image input's shape, symbolic dims included, for planning */
        int64_t dims[GCAM_MAX_NDIM];
        int nd = 0;
        const char *p = shape;
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);
            if (nd == GCAM_MAX_NDIM || end == p || v <= 0 || v > (1 << 20) || (*end && *end != ',' && *end != 'x')) {
                cli_free_model(m);
                return cli_usage(USAGE, "bad --input-shape '%s' (e.g. 1,3,224,224)", shape);
            }
            dims[nd++] = v;
            p = *end ? end + 1 : end;
        }
        if (gcam_model_set_input_shape(m, 0, dims, nd)) rc = cli_fail("%s", gcam_model_errmsg(m));
    }
    const gcam_layer *L = NULL;
    int n = 0;
    if (!rc && gcam_model_layers(m, &L, &n)) rc = cli_fail("%s", gcam_model_errmsg(m));
    if (!rc) {
        if (json) printf("[\n");
        else printf("  %-48s %-20s %-16s %s\n", "tensor", "op", "shape", "node");
        for (int i = 0; i < n; i++) {
            char shp[96];
            snprintf(shp, sizeof shp, "%lldx%lldx%lldx%lld", (long long)L[i].dims[0], (long long)L[i].dims[1],
                     (long long)L[i].dims[2], (long long)L[i].dims[3]);
            if (json)
                printf("  {\"tensor\": \"%s\", \"op\": \"%s\", \"node\": \"%s\", \"shape\": [%lld, %lld, %lld, %lld], \"auto\": %s}%s\n",
                       L[i].tensor, L[i].op_type, L[i].node, (long long)L[i].dims[0], (long long)L[i].dims[1],
                       (long long)L[i].dims[2], (long long)L[i].dims[3], L[i].is_auto ? "true" : "false",
                       i + 1 < n ? "," : "");
            else
                printf("%s %-48s %-20s %-16s %s%s\n", L[i].is_auto ? "*" : " ", L[i].tensor, L[i].op_type, shp,
                       L[i].node, L[i].is_auto ? "  <- auto (default Grad-CAM layer)" : "");
        }
        if (json) printf("]\n");
        else printf("%d layers; * marks the automatic Grad-CAM layer (--layer auto)\n", n);
        if (!json && gcam_model_float_conversions(m))
            printf("note: %d float16/float64 tensors or casts are computed as float32 (converted when loaded)\n",
                   gcam_model_float_conversions(m));
    }
    cli_free_model(m);
    return rc;
}
