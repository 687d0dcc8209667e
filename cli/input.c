/* input.c - the preprocessing flags shared by classify and explain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"

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

int cli_input_option(cli_input_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v;
    gcam_preprocess_opts *pp = &o->pp;
    if (!strcmp(a, "--image")) return (o->image = cli_value(argc, argv, i)) ? 1 : -1;
    if (!strcmp(a, "--input-tensor")) return (o->tensor = cli_value(argc, argv, i)) ? 1 : -1;
    if (!strcmp(a, "--input")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1]) { cli_fail("--input expects NAME=FILE.npy, got '%s'", v); return -1; }
        if (o->n_extra == CLI_MAX_EXTRA) { cli_fail("at most %d --input", CLI_MAX_EXTRA); return -1; }
        *(char *)eq = 0; /* argv is ours to split */
        o->extra_name[o->n_extra] = v;
        o->extra_path[o->n_extra++] = eq + 1;
        return 1;
    }
    if (!strcmp(a, "--no-crop")) { pp->no_crop = 1; return 1; }
    if (!strcmp(a, "--no-exif")) { pp->no_exif = 1; return 1; }
    if (!strcmp(a, "--bgr")) { pp->bgr = 1; return 1; }
    if (!strcmp(a, "--preset")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        char names[160] = "";
        int known = 0;
        for (int k = 0; gcam_preset_name(k); k++) {
            known |= !strcmp(v, gcam_preset_name(k));
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", gcam_preset_name(k));
        }
        if (!known) { cli_fail("unknown --preset '%s' (%s)", v, names); return -1; }
        pp->preset = v;
        return 1;
    }
    if (!strcmp(a, "--scale")) {
        double sc;
        if (!(v = cli_value(argc, argv, i))) return -1;
        if (cli_parse_float(v, &sc) || !(sc > 0) || sc > 1e6) { cli_fail("bad --scale '%s' (> 0)", v); return -1; }
        pp->scale = sc;
        return 1;
    }
    if (!strcmp(a, "--size")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        if (cli_parse_size(v, &pp->size_h, &pp->size_w)) { cli_fail("bad --size '%s' (H or H,W)", v); return -1; }
        return 1;
    }
    if (!strcmp(a, "--mean") || !strcmp(a, "--std")) {
        int mean = a[2] == 'm';
        if (!(v = cli_value(argc, argv, i))) return -1;
        float *dst = mean ? pp->mean : pp->std;
        if (cli_parse_floats3(v, dst)) { cli_fail("bad %s '%s' (a,b,c)", a, v); return -1; }
        for (int k = 0; k < 3; k++)
            if (!isfinite(dst[k]) || (!mean && !(dst[k] > 0))) {
                cli_fail("bad %s '%s' (%s)", a, v, mean ? "finite numbers" : "numbers > 0");
                return -1;
            }
        *(mean ? &pp->has_mean : &pp->has_std) = 1;
        return 1;
    }
    return 0;
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
