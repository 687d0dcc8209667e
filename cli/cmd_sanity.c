/* cmd_sanity.c - `gradcam sanity`: the model-parameter randomisation test of
 * Adebayo et al. (2018) for one or more methods: a table, a verdict per
 * method, --json and a figure laid out like the paper's figure 2.
 * Definitions: docs/eval.md.  Uses only the public headers. */
#include <math.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "explain_opts.h"
#include "gcam_eval.h"
#include "input.h"
#include "opts.h"
#include "sanity_fig.h"

static const char *USAGE =
    "gradcam sanity [--model M.onnx] [IMAGE | --image IMG | --input-tensor X.npy] [--method M[,M2...]]\n"
    "               [--granularity layer|block] [--seed N] [--threshold T] [--verdict mean|final]\n"
    "               [--no-independent] [--save-weights DIR]"
    " [--json OUT.json] [--out sanity.png] [--quiet] [--threads N] [map options]\n"
    "               [preprocessing options]";

static const char *HELP =
    "Re-draws the model's weights from the output back to the input (cascading) and one layer at a\n"
    "time (independent), and measures how much each map still resembles the trained model's.\n"
    "Without --model: the bundled demo model and a bundled sample.\n"
    "  --granularity G       layer (default): one parameterised layer per step; block: all layers of\n"
    "                        one top-level module (first component of the node name) per step\n"
    "  --seed N              seed of the re-draw (and of SmoothGrad's noise; default 0)\n"
    "  --threshold T         a method passes when the Spearman correlation of |map| with the trained\n"
    "                        model's is below T (default 0.5) ...\n"
    "  --verdict mean|final  ... on average over the cascading steps (default: a map that survives the\n"
    "                        randomisation of the top layers fails), or after the last step only\n"
    "  --no-independent      skip the independent test (cascading only)\n"
    "  --json OUT.json       results in the documented schema (docs/eval.md)\n"
    "  --out FIG.png         maps after each cascading step (rows: methods) and the similarity curves\n"
    "  --save-weights DIR    after the tests, write the fully re-drawn model's weights (DIR/index.tsv:\n"
    "                        tensor name -> .npy file) and its logits on the input (DIR/logits.npy),\n"
    "                        to check the re-draw with another implementation\n"
    "  --quiet               no progress and no table (verdicts still go to stdout)\n"
    "  --threads N           kernel threads\n"
    "Randomisation rule: weight ~ normal(0, 1/sqrt(fan_in)) truncated at 2 standard deviations,\n"
    "bias 0; normalisation scales ~ normal(0, 1) truncated at +-2 (docs/eval.md).\n";

typedef struct sanity_args {
    const char *model, *json, *fig, *save_dir;
    double threshold;
    int quiet, rule, no_independent;
    long threads;
    gcam_sanity_opts so;
} sanity_args;

static void progress(void *user, const char *what, int64_t done, int64_t total)
{
    const char *name = user;
    fprintf(stderr, "\r%s %s %lld/%lld", what, name, (long long)done, (long long)total);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

static void print_steps(const char *kind, const gcam_sanity_step *s, int n)
{
    printf("  %s\n  %-36s %8s %8s %8s %8s\n", kind, "randomised up to", "spearman", "|spear|", "ssim", "hog");
    for (int i = 0; i < n; i++)
        printf("  %-36.36s %8.3f %8.3f %8.3f %8.3f\n", s[i].step, s[i].spearman, s[i].spearman_abs, s[i].ssim, s[i].hog);
}

/* "pass: ..." / "fails: ..." with the number it rests on. */
static void verdict_text(const gcam_sanity_result *r, int rule, double thr, char *buf, size_t cap)
{
    int v = gcam_sanity_verdict(r, rule, thr);
    if (v < 0) {
        snprintf(buf, cap, "no verdict: the cascading test was not run");
        return;
    }
    double mean = gcam_sanity_similarity(r, GCAM_SANITY_MEAN), fin = gcam_sanity_similarity(r, GCAM_SANITY_FINAL);
    if (rule == GCAM_SANITY_MEAN)
        snprintf(buf, cap, "%s: Spearman of |map| averages %.3f over the %d cascading steps (threshold %.2f), %.3f after all",
                 v ? "passes" : "fails", mean, r->n_cascading, thr, fin);
    else
        snprintf(buf, cap, "%s: Spearman of |map| %s %.3f after randomising all layers (threshold %.2f)",
                 v ? "passes" : "fails", v ? "falls to" : "still", fin, thr);
}

static void json_steps(FILE *f, const gcam_sanity_step *s, int n)
{
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"step\": ", i ? ", " : "");
        cli_json_str(f, s[i].step);
        fprintf(f, ", \"layers\": %d, \"spearman\": %.6f, \"spearman_abs\": %.6f, \"ssim\": %.6f, \"hog\": %.6f}",
                s[i].n_layers, s[i].spearman, s[i].spearman_abs, s[i].ssim, s[i].hog);
    }
}

static int write_json(const sanity_args *a, const char *model, const int *ids, int n,
                      gcam_sanity_result *const *res)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", a->json, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return cli_fail("cannot write %s", a->json);
    fprintf(f, "{\"model\": ");
    cli_json_str(f, model);
    fprintf(f, ", \"seed\": %llu, \"granularity\": \"%s\", \"target\": %lld, \"methods\": {",
            (unsigned long long)a->so.seed, a->so.granularity == GCAM_SANITY_BLOCK ? "block" : "layer",
            (long long)(n ? res[0]->target : -1));
    for (int k = 0; k < n; k++) {
        char why[256];
        verdict_text(res[k], a->rule, a->threshold, why, sizeof why);
        fprintf(f, "%s\"%s\": {\"cascading\": [", k ? ", " : "", gcam_method_name(ids[k]));
        json_steps(f, res[k]->cascading, res[k]->n_cascading);
        fprintf(f, "], \"independent\": [");
        json_steps(f, res[k]->independent, res[k]->n_independent);
        fprintf(f, "], \"verdict\": \"%s\", \"threshold\": %g, \"rule\": \"%s\", \"measure\": \"spearman_abs\", "
                   "\"mean_spearman_abs\": %.6f, \"final_spearman_abs\": %.6f, \"reason\": ",
                gcam_sanity_verdict(res[k], a->rule, a->threshold) == 1 ? "pass" : "fail", a->threshold,
                a->rule == GCAM_SANITY_MEAN ? "mean" : "final", gcam_sanity_similarity(res[k], GCAM_SANITY_MEAN),
                gcam_sanity_similarity(res[k], GCAM_SANITY_FINAL));
        cli_json_str(f, why);
        fprintf(f, "}");
    }
    fprintf(f, "}}\n");
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, a->json)) {
        unlink(tmp);
        return cli_fail("cannot write %s", a->json);
    }
    return 0;
}

static int save_tensor(gcam_model *m, FILE *idx, const char *dir, const char *name, int k)
{
    gcam_array t;
    char path[4200];
    snprintf(path, sizeof path, "%s/t%03d.npy", dir, k);
    if (gcam_model_tensor(m, name, &t) || gcam_npy_save(m, path, &t)) return cli_fail("%s", gcam_model_errmsg(m));
    fprintf(idx, "%s\tt%03d.npy\n", name, k);
    return 0;
}

/* Every layer re-drawn with the seed (the end state of the cascading test),
 * its weights and logits written to dir; then the trained weights again. */
static int save_weights(gcam_model *m, const gcam_array *x, uint64_t seed, const char *dir)
{
    const gcam_param_layer *L;
    int n, rc = 0, k = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/index.tsv", dir);
    FILE *idx = fopen(path, "w");
    if (!idx) return cli_fail("cannot write %s", path);
    if (gcam_model_param_layers(m, &L, &n)) rc = cli_fail("%s", gcam_model_errmsg(m));
    for (int i = 0; i < n && !rc; i++)
        if (gcam_model_randomize_layer(m, i, seed)) rc = cli_fail("%s", gcam_model_errmsg(m));
    for (int i = 0; i < n && !rc; i++) {
        rc = save_tensor(m, idx, dir, L[i].weight, k++);
        if (!rc && L[i].bias) rc = save_tensor(m, idx, dir, L[i].bias, k++);
    }
    gcam_array y;
    snprintf(path, sizeof path, "%s/logits.npy", dir);
    if (!rc && (gcam_model_run(m, NULL, x, 1) || gcam_model_tensor(m, gcam_model_output_name(m, 0), &y) ||
                gcam_npy_save(m, path, &y)))
        rc = cli_fail("%s", gcam_model_errmsg(m));
    if (fclose(idx) && !rc) rc = cli_fail("cannot write %s/index.tsv", dir);
    gcam_model_restore_layers(m);
    return rc;
}

static int opt_granularity(void *s, const char *name, const char *v, const char *usage)
{
    sanity_args *a = s;
    if (!strcmp(v, "layer")) a->so.granularity = GCAM_SANITY_LAYER;
    else if (!strcmp(v, "block")) a->so.granularity = GCAM_SANITY_BLOCK;
    else return cli_usage(usage, "bad --granularity '%s' (layer, block)", v);
    return 0;
}

static int opt_verdict(void *s, const char *name, const char *v, const char *usage)
{
    if (strcmp(v, "mean") && strcmp(v, "final")) return cli_usage(usage, "bad --verdict '%s' (mean, final)", v);
    ((sanity_args *)s)->rule = !strcmp(v, "final") ? GCAM_SANITY_FINAL : GCAM_SANITY_MEAN;
    return 0;
}

#define S_(f) offsetof(sanity_args, f)
/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help */
static const cli_opt OPTS[] = {
    {"--model", NULL, CLI_STR, S_(model), 0, 0, 0, NULL, NULL, "M.onnx", NULL},
    {"--json", NULL, CLI_STR, S_(json), 0, 0, 0, NULL, NULL, "OUT.json", NULL},
    {"--out", NULL, CLI_STR, S_(fig), 0, 0, 0, NULL, NULL, "FIG.png", NULL},
    {"--save-weights", NULL, CLI_STR, S_(save_dir), 0, 0, 0, NULL, NULL, "DIR", NULL},
    {"--granularity", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_granularity, "layer|block", NULL},
    {"--threshold", NULL, CLI_DOUBLE, S_(threshold), 0, 1, 1, "0 < T <= 1", NULL, "T", NULL},
    {"--verdict", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_verdict, "mean|final", NULL},
    {"--no-independent", NULL, CLI_FLAG, S_(no_independent), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--quiet", NULL, CLI_FLAG, S_(quiet), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--threads", NULL, CLI_LONG, S_(threads), 1, LONG_MAX, 0, NULL, NULL, "N", NULL},
    CLI_OPT_END,
};

static int parse(int argc, char **argv, sanity_args *a, cli_explain_opts *xo, cli_input_opts *io)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int used = cli_input_option(io, argc, argv, &i);
        if (!used) used = cli_explain_option(xo, argc, argv, &i, USAGE);
        if (!used) used = cli_opt_take(OPTS, a, argc, argv, &i, USAGE);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(s, "--help")) {
            printf("usage: %s\n%s", USAGE, HELP);
            cli_explain_help(stdout, NULL);
            fputs(CLI_INPUT_HELP, stdout);
            return -1;
        } else if (s[0] != '-' && !io->image && !io->tensor) io->image = s;
        else return cli_usage(USAGE, "unknown option '%s'", s);
    }
    if (a->no_independent) a->so.independent = 0;
    return 0;
}

static int run_methods(gcam_model *m, const gcam_array *x, sanity_args *a, cli_explain_opts *xo, const int *ids,
                       int n, gcam_sanity_result **res)
{
    for (int k = 0; k < n; k++) {
        gcam_explain_opts eo = xo->eo;
        eo.method = ids[k];
        a->so.seed = eo.seed;
        a->so.progress = a->quiet || !isatty(2) ? NULL : progress;
        a->so.progress_user = (void *)gcam_method_name(ids[k]);
        if (gcam_sanity_run(m, x, &eo, &a->so, &res[k]))
            return cli_fail("%s: %s", gcam_method_name(ids[k]), gcam_model_errmsg(m));
        if (k == 0) xo->eo.target_class = xo->eo.target_output ? xo->eo.target_class : res[0]->target;
    }
    return 0;
}

int cmd_sanity(int argc, char **argv)
{
    sanity_args a = {.threshold = 0.5};
    gcam_sanity_opts_default(&a.so);
    cli_explain_opts xo;
    cli_explain_defaults(&xo, "gradcam");
    cli_input_opts io;
    cli_input_defaults(&io);
    int prc = parse(argc, argv, &a, &xo, &io);
    if (prc) return prc < 0 ? 0 : prc;
    int ids[CLI_MAX_METHODS];
    int n = cli_explain_methods(&xo, ids, USAGE);
    if (n < 0) return 2;
    const char *model = a.model ? a.model : cli_default_model();
    if (!io.image && !io.tensor && !(io.image = cli_default_sample()))
        return cli_usage(USAGE, "no input: give an IMAGE or --input-tensor X.npy");
    gcam_model *m = cli_load_model(model, (int)a.threads);
    if (!m) return 1;
    char **labels = NULL;
    int n_labels = cli_load_labels(xo.labels_file, m, &labels);
    int rc = n_labels < 0 || cli_explain_resolve(&xo, m, labels, n_labels);
    gcam_array x = {0};
    cli_input_info info = {0};
    if (!rc) rc = cli_make_input(&io, m, &x, &info);
    gcam_sanity_result *res[CLI_MAX_METHODS] = {0};
    if (!rc) rc = run_methods(m, &x, &a, &xo, ids, n, res);
    for (int k = 0; k < n && !rc; k++) {
        char why[256];
        verdict_text(res[k], a.rule, a.threshold, why, sizeof why);
        if (!a.quiet) {
            int64_t t = res[k]->target;
            printf("%s (class %lld%s%s):\n", gcam_method_name(ids[k]), (long long)t, t >= 0 && t < n_labels ? " " : "",
                   t >= 0 && t < n_labels ? labels[t] : "");
            print_steps("cascading (output -> input)", res[k]->cascading, res[k]->n_cascading);
            if (res[k]->n_independent) print_steps("independent", res[k]->independent, res[k]->n_independent);
        }
        printf("%s: %s\n", gcam_method_name(ids[k]), why);
    }
    if (!rc && a.json) rc = write_json(&a, model, ids, n, res);
    if (!rc && a.save_dir) rc = save_weights(m, &x, xo.eo.seed, a.save_dir);
    if (!rc && a.fig) {
        const char *names[CLI_MAX_METHODS];
        for (int k = 0; k < n; k++) names[k] = gcam_method_name(ids[k]);
        rc = cli_sanity_figure(m, info.photo, names, res, n, a.fig);
        if (!rc && !a.quiet) printf("figure: %s\n", a.fig);
    }
    for (int k = 0; k < n; k++) gcam_sanity_free(res[k]);
    cli_input_free(&x, &info);
    cli_free_labels(labels, n_labels);
    cli_free_model(m);
    return rc;
}
