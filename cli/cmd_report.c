/* cmd_report.c - `gradcam report`: one self-contained HTML page for one or
 * more images: the model, the predictions, Grad-CAM for each top class and
 * the counterfactual, every method side by side, deletion/insertion curves
 * and, with --sanity, the randomisation test.  Images are inline PNG data:
 * URIs and plots inline SVG: the page needs no network and no other file.
 * Uses only the public headers. */
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "explain_opts.h"
#include "gcam_eval.h"
#include "input.h"
#include "opts.h"
#include "report.h"

static const char *USAGE =
    "gradcam report [--model M.onnx] [IMAGE... | --image IMG... | --images DIR] [--out report.html]\n"
    "               [--top K] [--method M[,M2...]|all] [--sanity] [--sanity-method M[,M2...]] [--auc-method M[,M2...]]\n"
    "               [--granularity layer|block] [--steps N] [--sigma S] [--title TEXT] [--quiet]\n"
    "               [--threads N] [map options] [preprocessing options]";

static const char *HELP =
    "Without images: every bundled sample (models/samples) with the bundled demo model.\n"
    "  --out FILE.html       the page (default report.html); written to a temporary name, then renamed\n"
    "  --images DIR          every .png/.jpg/.jpeg in DIR (sorted by name); repeatable with IMAGE\n"
    "  --top K               predictions listed and explained by Grad-CAM (default 3)\n"
    "  --method LIST         methods of the side-by-side grid and of the AUC table (default all)\n"
    "  --sanity              add the model-parameter randomisation test (cascading curves, verdicts)\n"
    "  --sanity-method LIST  methods tested with --sanity (default gradcam,gradcam++,guided-backprop)\n"
    "  --granularity G       sanity steps: layer (default) or block\n"
    "  --threshold T         sanity verdict threshold (default 0.5)\n"
    "  --auc-method LIST     methods of the grid whose deletion/insertion curves are measured\n"
    "                        (default gradcam,gradcam++,scorecam; all = every grid method)\n"
    "  --steps N             deletion/insertion steps (default 50)\n"
    "  --sigma S             deletion baseline: Gaussian blur of S px (default 5; 0 = black)\n"
    "  --title TEXT          page title\n"
    "  --quiet               print nothing but errors and the page's path\n";



static int add_image(report_args *a, const char *path)
{
    if (a->n_images == REPORT_MAX_IMAGES) return cli_fail("at most %d images in one report", REPORT_MAX_IMAGES);
    a->images[a->n_images++] = path;
    return 0;
}

static int by_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static int add_dir(report_args *a, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return cli_fail("cannot open folder %s", dir);
    int first = a->n_images, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) && !rc) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || (strcasecmp(dot, ".png") && strcasecmp(dot, ".jpg") && strcasecmp(dot, ".jpeg"))) continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) { rc = cli_fail("out of memory"); break; }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        a->owned[a->n_owned++] = p;
        rc = add_image(a, p);
    }
    closedir(d);
    if (!rc && a->n_images == first) return cli_fail("no .png or .jpg image in %s", dir);
    qsort(a->images + first, (size_t)(a->n_images - first), sizeof(char *), by_name);
    return rc;
}

static int opt_image(void *s, const char *name, const char *v, const char *usage) { return add_image(s, v); }
static int opt_images(void *s, const char *name, const char *v, const char *usage) { return add_dir(s, v); }
static int opt_granularity(void *s, const char *name, const char *v, const char *usage)
{
    report_args *a = s;
    if (strcmp(v, "layer") && strcmp(v, "block")) return cli_usage(usage, "bad --granularity '%s' (layer, block)", v);
    a->granularity = !strcmp(v, "block") ? GCAM_SANITY_BLOCK : GCAM_SANITY_LAYER;
    return 0;
}

#define R_(f) offsetof(report_args, f)
/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help */
static const cli_opt OPTS[] = {
    {"--model", NULL, CLI_STR, R_(model), 0, 0, 0, NULL, NULL, "M.onnx", NULL},
    {"--out", NULL, CLI_STR, R_(out), 0, 0, 0, NULL, NULL, "PAGE", NULL},
    {"--title", NULL, CLI_STR, R_(title), 0, 0, 0, NULL, NULL, "TEXT", NULL},
    {"--sanity-method", NULL, CLI_STR, R_(sanity_methods), 0, 0, 0, NULL, NULL, "M", NULL},
    {"--auc-method", NULL, CLI_STR, R_(auc_methods), 0, 0, 0, NULL, NULL, "M", NULL},
    {"--sanity", NULL, CLI_FLAG, R_(sanity), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--quiet", NULL, CLI_FLAG, R_(quiet), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--image", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_image, "IMG", NULL},
    {"--images", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_images, "DIR", NULL},
    {"--granularity", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_granularity, "layer|block", NULL},
    {"--top", NULL, CLI_LONG, R_(top), 1, 20, 0, NULL, NULL, "K", NULL},
    {"--steps", NULL, CLI_LONG, R_(steps), 1, 1000, 0, NULL, NULL, "N", NULL},
    {"--threads", NULL, CLI_LONG, R_(threads), 1, 1024, 0, NULL, NULL, "N", NULL},
    {"--sigma", NULL, CLI_DOUBLE, R_(sigma), 0, 100, 0, NULL, NULL, "S", NULL},
    {"--threshold", NULL, CLI_DOUBLE, R_(threshold), 0, 1, 0, NULL, NULL, "T", NULL},
    CLI_OPT_END,
};

static int parse(int argc, char **argv, report_args *a)
{
    for (int i = 1; i < argc; i++) {
        int used = cli_input_option(&a->io, argc, argv, &i);
        if (!used) used = cli_explain_option(&a->xo, argc, argv, &i, USAGE);
        if (!used) used = cli_opt_take(OPTS, a, argc, argv, &i, USAGE);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(argv[i], "--help")) {
            printf("usage: %s\n%s", USAGE, HELP);
            cli_explain_help(stdout, NULL);
            fputs(CLI_INPUT_HELP, stdout);
            return -1;
        }
        if (argv[i][0] != '-') {
            if (add_image(a, argv[i])) return 2;
        } else return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
    if (a->io.image && add_image(a, a->io.image)) return 2; /* --image given through the shared parser */
    if (a->io.tensor) return cli_usage(USAGE, "report takes images (the page shows them), not --input-tensor");
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static report_args a;
    memset(&a, 0, sizeof a);
    a.out = "report.html";
    a.top = 3;
    a.steps = 50;
    a.sigma = 5;
    a.threshold = 0.5;
    a.sanity_methods = "gradcam,gradcam++,guided-backprop";
    a.auc_methods = "gradcam,gradcam++,scorecam";
    cli_input_defaults(&a.io);
    cli_explain_defaults(&a.xo, "all");
    a.images = a.image_buf;
    int rc = parse(argc, argv, &a);
    if (rc) {
        for (int i = 0; i < a.n_owned; i++) free(a.owned[i]);
        return rc < 0 ? 0 : rc;
    }
    a.n_methods = cli_explain_methods(&a.xo, a.methods, USAGE);
    cli_explain_opts so = a.xo;
    so.methods = a.sanity_methods;
    a.n_sanity = a.n_methods < 0 ? 0 : cli_explain_methods(&so, a.sanity_ids, USAGE);
    so.methods = a.auc_methods;
    a.n_auc = a.n_sanity < 0 ? 0 : cli_explain_methods(&so, a.auc_ids, USAGE);
    if (a.n_methods < 0 || a.n_sanity < 0 || a.n_auc < 0) rc = 2;
    const char *dir = cli_samples_dir();
    if (!rc && !a.n_images && !(dir && !add_dir(&a, dir)))
        rc = cli_usage(USAGE, "no image given and no bundled samples found");
    if (!a.model) a.model = cli_default_model();
    if (!rc) rc = report_write(&a);
    if (!rc) printf("%s%s\n", a.quiet ? "" : "report: ", a.out);
    for (int i = 0; i < a.n_owned; i++) free(a.owned[i]);
    return rc;
}
