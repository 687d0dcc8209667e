/* input.c - the preprocessing flags shared by classify and explain. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "opts.h"

const char *CLI_INPUT_HELP =
    "  --image IMG           PNG or JPEG (EXIF orientation applied unless --no-exif)\n"
    "  --input-tensor X.npy  float32 tensor fed as is (no preprocessing)\n"
    "  --input NAME=X.npy    another input of the model (repeatable), fed beside the image\n"
    "  --preset P            imagenet (default: shorter side to 256/224 of the input, centre crop,\n"
    "                        ImageNet mean/std), tf and paddle ([-1,1]), caffe (BGR, 0-255 minus mean),\n"
    "                        raw (0-255), unit and none (0-1); all but imagenet resize straight\n"
    "  --size H[,W]          model input size (default: from the model)\n"
    "  --mean a,b,c --std a,b,c  normalisation per input channel, after scaling pixels\n"
    "  --scale S             pixel * S before --mean/--std (default: the preset's, 1/255 or 1)\n"
    "  --bgr                 feed channels as B,G,R\n"
    "  (NHWC inputs, [N,H,W,C], and 1/4-channel inputs are recognised from the model: grey gets\n"
    "   the luma, RGBA alpha 255)\n"
    "  --no-crop             resize straight to the input size\n";

void cli_input_defaults(cli_input_opts *o) { memset(o, 0, sizeof *o); }

static int opt_input(void *s, const char *name, const char *v, const char *usage)
{
    cli_input_opts *o = s;
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) return cli_fail("--input expects NAME=FILE.npy, got '%s'", v);
    if (o->n_extra == CLI_MAX_EXTRA) return cli_fail("at most %d --input", CLI_MAX_EXTRA);
    *(char *)eq = 0; /* argv is ours to split */
    o->extra_name[o->n_extra] = v;
    o->extra_path[o->n_extra++] = eq + 1;
    return 0;
}

static int opt_preset(void *s, const char *name, const char *v, const char *usage)
{
    char names[160] = "";
    int known = 0;
    for (int k = 0; gcam_preset_name(k); k++) {
        known |= !strcmp(v, gcam_preset_name(k));
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", gcam_preset_name(k));
    }
    if (!known) return cli_fail("unknown --preset '%s' (%s)", v, names);
    ((cli_input_opts *)s)->pp.preset = v;
    return 0;
}

static int opt_scale(void *s, const char *name, const char *v, const char *usage)
{
    double sc;
    if (cli_parse_float(v, &sc) || !(sc > 0) || sc > 1e6) return cli_fail("bad --scale '%s' (> 0)", v);
    ((cli_input_opts *)s)->pp.scale = sc;
    return 0;
}

static int opt_size(void *s, const char *name, const char *v, const char *usage)
{
    gcam_preprocess_opts *pp = &((cli_input_opts *)s)->pp;
    return gcam_parse_size(v, &pp->size_h, &pp->size_w) ? cli_fail("bad --size '%s' (H or H,W)", v) : 0;
}

/* --mean (any finite numbers) and --std (numbers > 0), per channel */
static int parse_norm(const char *name, const char *v, float *dst, int *given, int is_std)
{
    if (gcam_parse_floats3(v, dst)) return cli_fail("bad %s '%s' (a,b,c)", name, v);
    for (int k = 0; k < 3; k++)
        if (!isfinite(dst[k]) || (is_std && !(dst[k] > 0)))
            return cli_fail("bad %s '%s' (%s)", name, v, is_std ? "numbers > 0" : "finite numbers");
    *given = 1;
    return 0;
}

static int opt_mean(void *s, const char *name, const char *v, const char *usage)
{
    gcam_preprocess_opts *pp = &((cli_input_opts *)s)->pp;
    return parse_norm(name, v, pp->mean, &pp->has_mean, 0);
}

static int opt_std(void *s, const char *name, const char *v, const char *usage)
{
    gcam_preprocess_opts *pp = &((cli_input_opts *)s)->pp;
    return parse_norm(name, v, pp->std, &pp->has_std, 1);
}

#define I_(f) offsetof(cli_input_opts, f)
/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help (CLI_INPUT_HELP) */
static const cli_opt OPTS[] = {
    {"--image", NULL, CLI_STR, I_(image), 0, 0, 0, NULL, NULL, "IMG", NULL},
    {"--input-tensor", NULL, CLI_STR, I_(tensor), 0, 0, 0, NULL, NULL, "X.npy", NULL},
    {"--input", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_input, "NAME=X.npy", NULL},
    {"--no-crop", NULL, CLI_FLAG, I_(pp.no_crop), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--no-exif", NULL, CLI_FLAG, I_(pp.no_exif), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--bgr", NULL, CLI_FLAG, I_(pp.bgr), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--preset", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_preset, "P", NULL},
    {"--scale", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_scale, "S", NULL},
    {"--size", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_size, "H[,W]", NULL},
    {"--mean", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_mean, "a,b,c", NULL},
    {"--std", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_std, "a,b,c", NULL},
    CLI_OPT_END,
};

int cli_input_option(cli_input_opts *o, int argc, char **argv, int *i)
{
    return cli_opt_take(OPTS, o, argc, argv, i, NULL);
}

int cli_make_input(const cli_input_opts *o, gcam_model *m, gcam_array *x, cli_input_info *info)
{
    memset(x, 0, sizeof *x);
    memset(info, 0, sizeof *info);
    if (o->image && o->tensor) return cli_fail("give either --image or --input-tensor, not both");
    for (int k = 0; k < o->n_extra; k++) {
        gcam_array a;
        if (cli_read_npy(o->extra_path[k], &a)) return 1;
        int rc = gcam_model_set_input(m, o->extra_name[k], &a);
        gcam_array_free(&a);
        if (rc) return cli_fail("%s", gcam_model_errmsg(m));
    }
    if (o->tensor) return cli_read_npy(o->tensor, x);
    if (!o->image) return cli_fail("no input: give --image IMG or --input-tensor X.npy");
    if (gcam_photo_load(m, o->image, &o->pp, &info->photo, x)) return cli_fail("%s", gcam_model_errmsg(m));
    return 0;
}

void cli_input_free(gcam_array *x, cli_input_info *info)
{
    if (x) gcam_array_free(x);
    if (info) {
        gcam_photo_free(info->photo);
        info->photo = NULL;
    }
}
