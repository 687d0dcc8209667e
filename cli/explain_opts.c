/* explain_opts.c - the map options of `explain`, shared by `batch`,
 * `sanity` and `report`: one table, one parser, one help text. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "explain_opts.h"

#define X_(f) offsetof(cli_explain_opts, f)
#define EO_(f) offsetof(cli_explain_opts, eo.f)
#define COUNT_MAX (1L << 30)

static int opt_layer(void *s, const char *name, const char *v, const char *usage)
{
    cli_explain_opts *o = s;
    if (o->n_layers == CLI_MAX_LAYERS) return cli_usage(usage, "at most %d --layer", CLI_MAX_LAYERS);
    o->layers[o->n_layers++] = v;
    return 0;
}

static int opt_target_index(void *s, const char *name, const char *v, const char *usage)
{
    cli_explain_opts *o = s;
    if (cli_parse_int(v, &o->target_index) || o->target_index < 0) return cli_usage(usage, "bad --target-index '%s'", v);
    return 0;
}

static int opt_normalize(void *s, const char *name, const char *v, const char *usage)
{
    gcam_explain_opts *eo = &((cli_explain_opts *)s)->eo;
    double mx;
    if (!strcmp(v, "image")) eo->normalize = GCAM_NORM_IMAGE;
    else if (!strcmp(v, "none")) eo->normalize = GCAM_NORM_NONE;
    else if (!strncmp(v, "global:", 7)) {
        if (cli_parse_float(v + 7, &mx) || !(mx > 0)) return cli_usage(usage, "bad --normalize '%s' (global:MAX, MAX > 0)", v);
        eo->normalize = GCAM_NORM_GLOBAL;
        eo->global_max = (float)mx;
    } else return cli_usage(usage, "bad --normalize '%s' (none, image, global:MAX)", v);
    return 0;
}

static int opt_layout(void *s, const char *name, const char *v, const char *usage)
{
    static const char *const NAMES[] = {[GCAM_LAYER_NCHW] = "nchw", [GCAM_LAYER_NHWC] = "nhwc",
                                        [GCAM_LAYER_TOKENS] = "tokens"};
    gcam_explain_opts *eo = &((cli_explain_opts *)s)->eo;
    for (int k = GCAM_LAYER_NCHW; k <= GCAM_LAYER_TOKENS; k++)
        if (!strcmp(v, NAMES[k])) eo->layout = (gcam_layer_layout)k;
    return eo->layout ? 0 : cli_usage(usage, "bad --layout '%s' (nchw, nhwc, tokens)", v);
}

static int opt_tokens(void *s, const char *name, const char *v, const char *usage)
{
    gcam_explain_opts *eo = &((cli_explain_opts *)s)->eo;
    long long skip, h, w;
    char tail;
    if (sscanf(v, "%lld,%lldx%lld%c", &skip, &h, &w, &tail) != 3 || skip < 0 || h < 1 || w < 1 || skip > (1 << 20) ||
        h > (1 << 20) || w > (1 << 20))
        return cli_usage(usage, "bad --tokens '%s' (SKIP,HxW, e.g. 1,14x14)", v);
    eo->layout = GCAM_LAYER_TOKENS;
    eo->token_skip = skip, eo->token_h = h, eo->token_w = w;
    return 0;
}

static int opt_ablation_value(void *s, const char *name, const char *v, const char *usage)
{
    gcam_explain_opts *eo = &((cli_explain_opts *)s)->eo;
    if (!strcmp(v, "zero")) eo->ablation_zero = 1;
    else if (!strcmp(v, "auto")) eo->ablation_zero = 0;
    else return cli_usage(usage, "bad --ablation-value '%s' (auto, zero)", v);
    return 0;
}

static int opt_seed(void *s, const char *name, const char *v, const char *usage)
{
    cli_explain_opts *o = s;
    char *end;
    errno = 0;
    unsigned long long seed = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') return cli_usage(usage, "bad --seed '%s' (0 to 2^64-1)", v);
    o->eo.seed = (uint64_t)seed;
    o->seed_given = 1;
    return 0;
}

/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help */
const cli_opt CLI_EXPLAIN_OPTS[] = {
    {"--method", NULL, CLI_STR, X_(methods), 0, 0, 0, NULL, NULL, "M", "a method (see `gradcam explain --help`); sanity and report take a list M1,M2,... or all"},
    {"--layer", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_layer, "NAME|auto", "layer of the CAM methods (repeatable: mean of the per-layer maps)"},
    {"--layout", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_layout, "L", "read every layer as nchw, nhwc or tokens (default: from the graph, see `layers`)"},
    {"--tokens", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_tokens, "SKIP,HxW", "token layers: drop SKIP leading tokens, the rest on an H x W grid"},
    {"--target", NULL, CLI_STR, X_(target), 0, 0, 0, NULL, NULL, "N|top1|LABEL", "class explained (default top1)"},
    {"--labels", NULL, CLI_STR, X_(labels_file), 0, 0, 0, NULL, NULL, "FILE", "class names, one per line (default: the model's gradcam.labels)"},
    {"--counterfactual", NULL, CLI_FLAG, EO_(counterfactual), 0, 0, 0, NULL, NULL, NULL, "explain -score: what argues against the class"},
    {"--target-softmax", NULL, CLI_FLAG, EO_(target_softmax), 0, 0, 0, NULL, NULL, NULL, "score = softmax probability instead of the logit"},
    {"--target-output", NULL, CLI_STR, EO_(target_output), 0, 0, 0, NULL, NULL, "NAME", "explain element --target-index I of any tensor"},
    {"--target-index", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_target_index, "I", "the element of --target-output (I,J,...: their sum, see explain)"},
    {"--no-relu", NULL, CLI_FLAG, EO_(no_relu), 0, 0, 0, NULL, NULL, NULL, "keep negative evidence"},
    {"--normalize", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_normalize, "none|image|global:MAX", "per-image min-max (default), none, or x / MAX"},
    {"--eigen-smooth", NULL, CLI_FLAG, EO_(eigen_smooth), 0, 0, 0, NULL, NULL, NULL, "first principal component of the weighted activations (layer CAMs)"},
    {"--aug-smooth", NULL, CLI_FLAG, EO_(aug_smooth), 0, 0, 0, NULL, NULL, NULL, "mean over horizontal flip x brightness 0.9/1.0/1.1"},
    {"--batch-size", NULL, CLI_INT, EO_(batch_size), 1, COUNT_MAX, 0, NULL, NULL, "N", "images per pass for scorecam/ablationcam/integrated-gradients/smoothgrad\n(default 32; whole-network passes shrink it to ~512 MB of activations)"},
    {"--max-channels", NULL, CLI_INT, EO_(max_channels), 1, COUNT_MAX, 0, NULL, NULL, "N", "scorecam: only the N highest-variance channels (Faster Score-CAM)"},
    {"--scorecam-baseline", NULL, CLI_FLAG, EO_(scorecam_baseline), 0, 0, 0, NULL, NULL, NULL, "scorecam as in the paper: p_c(X*H_k) - p_c(0) instead of a softmax over channels"},
    {"--ablation-zero", NULL, CLI_FLAG, EO_(ablation_zero), 0, 0, 0, NULL, NULL, NULL, "ablationcam as in the paper: ablate to 0 even when the layer goes negative"},
    {"--ablation-value", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_ablation_value, "auto|zero", "zero = --ablation-zero"},
    {"--ablation-rerun", NULL, CLI_FLAG, X_(ablation_rerun), 0, 0, 0, NULL, NULL, NULL, NULL}, /* benchmarks only */
    {"--ig-steps", NULL, CLI_INT, EO_(ig_steps), 1, COUNT_MAX, 0, NULL, NULL, "N", "integrated gradients: Riemann steps (default 50)"},
    {"--ig-baseline", NULL, CLI_STR, EO_(ig_baseline), 0, 0, 0, NULL, NULL, "B", "zero (default), blur[:SIGMA px, default 10], uniform (seeded), or FILE.npy"},
    {"--sg-samples", NULL, CLI_INT, EO_(sg_samples), 1, COUNT_MAX, 0, NULL, NULL, "N", "smoothgrad: noisy copies (default 25)"},
    {"--sg-noise", NULL, CLI_FLOAT, EO_(sg_noise), 0, 100, 1, "> 0", NULL, "SIGMA", "smoothgrad: noise std as a fraction of the input's range (default 0.15)"},
    {"--seed", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_seed, "N", "random seed for smoothgrad and the uniform baseline (default 0)"},
    {"--sg-noise-file", NULL, CLI_STR, X_(sg_noise_file), 0, 0, 0, NULL, NULL, "Z.npy", "smoothgrad: N x C x H x W standard-normal draws instead of the generator"},
    /* 1 itself is refused by gcam_explain, in one line */
    {"--discard-ratio", NULL, CLI_FLOAT, EO_(discard_ratio), 0, 1, 0, "0 <= R < 1", NULL, "R", "attention-rollout, grad-rollout: zero each layer's R smallest fused attention weights (default 0)"},
    CLI_OPT_END,
};

void cli_explain_defaults(cli_explain_opts *o, const char *methods)
{
    memset(o, 0, sizeof *o);
    gcam_explain_opts_default(&o->eo);
    o->methods = methods;
    o->target_index = -1;
}

int cli_explain_option(cli_explain_opts *o, int argc, char **argv, int *i, const char *usage)
{
    return cli_opt_take(CLI_EXPLAIN_OPTS, o, argc, argv, i, usage);
}

void cli_explain_help(FILE *f, const char *title)
{
    fprintf(f, "%s:\n", title ? title : "map options (as for `gradcam explain`)");
    cli_opt_help(f, CLI_EXPLAIN_OPTS);
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

/* --sg-noise-file: the .npy becomes m's SmoothGrad noise (gcam_model_set_smoothgrad_noise) */
static int set_sg_noise(gcam_model *m, const char *path)
{
    gcam_array z = {0};
    int rc = gcam_npy_load(m, path, &z);
    if (!rc) rc = gcam_model_set_smoothgrad_noise(m, &z);
    gcam_array_free(&z);
    return rc ? cli_fail("--sg-noise-file: %s", gcam_model_errmsg(m)) : 0;
}

int cli_explain_resolve(cli_explain_opts *o, gcam_model *m, char **labels, int n_labels)
{
    gcam_explain_opts *eo = &o->eo;
    /* the test knobs are model settings, not gcam_explain_opts */
    if (o->ablation_rerun) gcam_model_set_option(m, GCAM_OPT_ABLATION_RERUN, 1); /* 0 or 1: cannot fail */
    if (o->sg_noise_file && set_sg_noise(m, o->sg_noise_file)) return 1;
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
