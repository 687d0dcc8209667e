/* explain_opts.c - the map options shared by `sanity` and `report` (the
 * same flags and meanings as `explain`'s). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "explain_opts.h"

const char *CLI_EXPLAIN_HELP =
    "map options (as for `gradcam explain`):\n"
    "  --method M[,M2...]    gradcam (default), gradcam++, xgradcam, hirescam, gradcam-elementwise, layercam,\n"
    "                        eigencam, eigengradcam, scorecam, ablationcam, cam, guided-backprop,\n"
    "                        guided-gradcam, saliency, integrated-gradients, smoothgrad; or all\n"
    "  --layer NAME|auto     layer of the CAM methods (repeatable: mean of the per-layer maps)\n"
    "  --target N|top1|LABEL class explained (default top1)\n"
    "  --labels FILE         class names, one per line (default: the model's gradcam.labels)\n"
    "  --counterfactual      explain -score: what argues against the class\n"
    "  --target-softmax      score = softmax probability instead of the logit\n"
    "  --target-output NAME --target-index I  explain element I of any tensor\n"
    "  --no-relu             keep negative evidence   --normalize none|image|global:MAX\n"
    "  --eigen-smooth --aug-smooth --batch-size N --max-channels N --scorecam-baseline --ablation-zero\n"
    "  --ig-steps N --ig-baseline zero|blur[:S]|uniform|FILE.npy --sg-samples N --sg-noise SIGMA\n"
    "  --sg-noise-file Z.npy as for explain\n";

void cli_explain_defaults(cli_explain_opts *o, const char *methods)
{
    memset(o, 0, sizeof *o);
    gcam_explain_opts_default(&o->eo);
    o->methods = methods;
    o->target_index = -1;
}

static int count_arg(const char *a, const char *v, long *out, const char *usage)
{
    if (cli_parse_int(v, out) || *out < 1 || *out > (1L << 30)) return cli_usage(usage, "bad %s '%s'", a, v), -1;
    return 0;
}

/* the options with a value; 1 used, 0 not ours, -1 error */
static int value_option(cli_explain_opts *o, const char *a, const char *v, const char *usage)
{
    gcam_explain_opts *eo = &o->eo;
    long n;
    double f;
    if (!strcmp(a, "--method")) o->methods = v;
    else if (!strcmp(a, "--layer")) {
        if (o->n_layers == CLI_MAX_LAYERS) return cli_usage(usage, "at most %d --layer", CLI_MAX_LAYERS), -1;
        o->layers[o->n_layers++] = v;
    } else if (!strcmp(a, "--target")) o->target = v;
    else if (!strcmp(a, "--labels")) o->labels_file = v;
    else if (!strcmp(a, "--target-output")) eo->target_output = v;
    else if (!strcmp(a, "--target-index")) {
        if (cli_parse_int(v, &o->target_index) || o->target_index < 0) return cli_usage(usage, "bad --target-index '%s'", v), -1;
    } else if (!strcmp(a, "--normalize")) {
        if (!strcmp(v, "image")) eo->normalize = GCAM_NORM_IMAGE;
        else if (!strcmp(v, "none")) eo->normalize = GCAM_NORM_NONE;
        else if (!strncmp(v, "global:", 7) && !cli_parse_float(v + 7, &f) && f > 0) {
            eo->normalize = GCAM_NORM_GLOBAL;
            eo->global_max = (float)f;
        } else return cli_usage(usage, "bad --normalize '%s' (none, image, global:MAX)", v), -1;
    } else if (!strcmp(a, "--batch-size") || !strcmp(a, "--max-channels") || !strcmp(a, "--ig-steps") ||
               !strcmp(a, "--sg-samples")) {
        if (count_arg(a, v, &n, usage)) return -1;
        *(!strcmp(a, "--batch-size") ? &eo->batch_size : !strcmp(a, "--max-channels") ? &eo->max_channels
          : !strcmp(a, "--ig-steps") ? &eo->ig_steps : &eo->sg_samples) = (int)n;
    } else if (!strcmp(a, "--ig-baseline")) eo->ig_baseline = v;
    else if (!strcmp(a, "--sg-noise-file")) eo->sg_noise_file = v;
    else if (!strcmp(a, "--sg-noise")) {
        if (cli_parse_float(v, &f) || !(f > 0) || f > 100) return cli_usage(usage, "bad --sg-noise '%s' (> 0)", v), -1;
        eo->sg_noise = (float)f;
    } else if (!strcmp(a, "--seed")) {
        char *end;
        unsigned long long s = strtoull(v, &end, 10);
        if (end == v || *end || v[0] == '-') return cli_usage(usage, "bad --seed '%s'", v), -1;
        eo->seed = (uint64_t)s;
        o->seed_given = 1;
    } else return 0;
    return 1;
}

int cli_explain_option(cli_explain_opts *o, int argc, char **argv, int *i, const char *usage)
{
    static const char *const with_value[] = {"--method", "--layer", "--target", "--labels", "--target-output",
        "--target-index", "--normalize", "--batch-size", "--max-channels", "--ig-steps", "--sg-samples",
        "--ig-baseline", "--sg-noise-file", "--sg-noise", "--seed"};
    const char *a = argv[*i];
    gcam_explain_opts *eo = &o->eo;
    if (!strcmp(a, "--counterfactual")) eo->counterfactual = 1;
    else if (!strcmp(a, "--target-softmax")) eo->target_softmax = 1;
    else if (!strcmp(a, "--no-relu")) eo->no_relu = 1;
    else if (!strcmp(a, "--eigen-smooth")) eo->eigen_smooth = 1;
    else if (!strcmp(a, "--aug-smooth")) eo->aug_smooth = 1;
    else if (!strcmp(a, "--scorecam-baseline")) eo->scorecam_baseline = 1;
    else if (!strcmp(a, "--ablation-zero")) eo->ablation_zero = 1;
    else {
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
            if (strcmp(a, with_value[k])) continue;
            const char *v = cli_value(argc, argv, i);
            return v ? value_option(o, a, v, usage) : -1;
        }
        return 0;
    }
    return 1;
}

int cli_explain_methods(const cli_explain_opts *o, int *ids, const char *usage)
{
    if (!strcmp(o->methods, "all")) {
        for (int k = 0; k < GCAM_METHOD_COUNT; k++) ids[k] = k;
        return GCAM_METHOD_COUNT;
    }
    int n = 0;
    const char *s = o->methods;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char name[64];
        if (len == 0 || len >= sizeof name) return cli_usage(usage, "bad --method list '%s'", o->methods), -1;
        memcpy(name, s, len);
        name[len] = 0;
        int id = gcam_method_parse(name);
        if (id < 0) return cli_usage(usage, "unknown --method '%s'", name), -1;
        if (n == CLI_MAX_METHODS) return cli_usage(usage, "too many methods in --method"), -1;
        ids[n++] = id;
        s += len + (e ? 1 : 0);
    }
    if (!n) return cli_usage(usage, "--method needs a name"), -1;
    return n;
}

int cli_explain_resolve(cli_explain_opts *o, gcam_model *m, char **labels, int n_labels)
{
    gcam_explain_opts *eo = &o->eo;
    (void)m;
    eo->layers = o->n_layers ? o->layers : NULL;
    eo->n_layers = o->n_layers;
    eo->target_class = -1;
    if (o->target_index >= 0 && !eo->target_output) return cli_fail("--target-index needs --target-output");
    if (eo->target_output) {
        eo->target_class = o->target_index;
        return 0;
    }
    if (!o->target || !strcmp(o->target, "top1")) return 0;
    long c;
    if (!cli_parse_int(o->target, &c)) {
        if (c < 0) return cli_fail("--target %ld: class index must be >= 0", c);
        eo->target_class = c;
        return 0;
    }
    for (int k = 0; k < n_labels; k++)
        if (!strcmp(labels[k], o->target)) eo->target_class = k;
    if (eo->target_class >= 0) return 0;
    return n_labels ? cli_fail("--target '%s' is not a class name of this model (see --labels)", o->target)
                    : cli_fail("--target '%s': the model has no labels; pass --labels FILE or a class index", o->target);
}

const char *cli_samples_dir(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/models/samples", GCAM_SOURCE_DIR);
    return access(path, R_OK) == 0 ? path : NULL;
}

const char *cli_default_sample(void)
{
    static char path[4200];
    const char *d = cli_samples_dir();
    if (!d) return NULL;
    snprintf(path, sizeof path, "%s/scene_01.png", d);
    return access(path, R_OK) == 0 ? path : NULL;
}
