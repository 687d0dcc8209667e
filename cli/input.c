/* input.c - model input from an image (decode + preprocess) or a .npy tensor.
 *
 * Preprocessing is chosen in this order: command-line flags, the model's
 * "gradcam.preprocess" metadata (e.g. "size=96,96;mean=0.5,0.5,0.5;std=0.5,0.5,0.5;crop=none"),
 * then the imagenet preset scaled to the model's static input size. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"

const char *CLI_INPUT_HELP =
    "  --image IMG           PNG or JPEG (EXIF orientation applied unless --no-exif)\n"
    "  --input-tensor X.npy  float32 NCHW tensor fed as is (no preprocessing)\n"
    "  --preset imagenet|none  resize shorter side to 256/224 of the input, centre crop, ImageNet mean/std\n"
    "  --size H[,W]          model input size (default: from the model)\n"
    "  --mean a,b,c --std a,b,c  normalisation (after scaling pixels to [0,1])\n"
    "  --no-crop             resize straight to the input size\n";

void cli_input_defaults(cli_input_opts *o) { memset(o, 0, sizeof *o); }

static int parse3(const char *s, float *v)
{
    char *end;
    for (int k = 0; k < 3; k++) {
        v[k] = strtof(s, &end);
        if (end == s) return k == 1 ? (v[1] = v[2] = v[0], 0) : -1;
        s = end;
        if (*s == ',') s++;
        else if (k < 2) { if (*s) return -1; v[1] = v[2] = v[0]; return k == 0 ? 0 : -1; }
    }
    return *s ? -1 : 0;
}

static int parse_size(const char *s, int *h, int *w)
{
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s || a <= 0 || a > 16384) return -1;
    if (*end == ',' || *end == 'x') {
        const char *t = end + 1;
        b = strtol(t, &end, 10);
        if (end == t || b <= 0 || b > 16384) return -1;
    }
    if (*end) return -1;
    *h = (int)a;
    *w = (int)b;
    return 0;
}

int cli_input_option(cli_input_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--image")) { if (!(o->image = cli_value(argc, argv, i))) return -1; return 1; }
    if (!strcmp(a, "--input-tensor")) { if (!(o->tensor = cli_value(argc, argv, i))) return -1; return 1; }
    if (!strcmp(a, "--no-crop")) { o->no_crop = 1; return 1; }
    if (!strcmp(a, "--no-exif")) { o->no_exif = 1; return 1; }
    if (!strcmp(a, "--preset")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        if (strcmp(v, "imagenet") && strcmp(v, "none")) { cli_fail("unknown --preset '%s' (imagenet, none)", v); return -1; }
        o->preset = v;
        return 1;
    }
    if (!strcmp(a, "--size")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        if (parse_size(v, &o->size_h, &o->size_w)) { cli_fail("bad --size '%s' (H or H,W)", v); return -1; }
        return 1;
    }
    if (!strcmp(a, "--mean") || !strcmp(a, "--std")) {
        int mean = a[2] == 'm';
        if (!(v = cli_value(argc, argv, i))) return -1;
        if (parse3(v, mean ? o->mean : o->std)) { cli_fail("bad %s '%s' (a,b,c)", a, v); return -1; }
        if (!mean && (o->std[0] == 0 || o->std[1] == 0 || o->std[2] == 0)) { cli_fail("--std must not be 0"); return -1; }
        *(mean ? &o->has_mean : &o->has_std) = 1;
        return 1;
    }
    return 0;
}

/* Applies "key=value;..." from the model's gradcam.preprocess metadata. */
static void apply_meta(const char *meta, gcam_preproc *pp, int *meta_crop)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", meta);
    for (char *tok = strtok(buf, ";"); tok; tok = strtok(NULL, ";")) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        int h, w;
        if (!strcmp(k, "size") && !parse_size(v, &h, &w)) { pp->height = h; pp->width = w; }
        else if (!strcmp(k, "mean")) parse3(v, pp->mean);
        else if (!strcmp(k, "std")) parse3(v, pp->std);
        else if (!strcmp(k, "crop") && !strcmp(v, "none")) *meta_crop = 0;
    }
}

int cli_make_input(const cli_input_opts *o, gcam_model *m, gcam_array *x, cli_input_info *info)
{
    memset(x, 0, sizeof *x);
    memset(info, 0, sizeof *info);
    if (o->image && o->tensor) return cli_fail("give either --image or --input-tensor, not both");
    if (o->tensor) {
        if (cli_read_npy(o->tensor, x)) return 1;
        if (x->ndim == 4) { info->in_h = (int)x->dims[2]; info->in_w = (int)x->dims[3]; }
        return 0;
    }
    if (!o->image) return cli_fail("no input: give --image IMG or --input-tensor X.npy");
    int64_t decl[GCAM_MAX_NDIM];
    int nd = gcam_model_input_shape(m, 0, decl);
    if (nd != 4) return cli_fail("the model's input is not 4-D NCHW; use --input-tensor");
    int C = decl[1] > 0 ? (int)decl[1] : 3;
    if (C != 1 && C != 3) return cli_fail("the model's input has %d channels; images give 1 or 3 (use --input-tensor)", C);

    gcam_preproc pp;
    gcam_preproc_imagenet(&pp);
    int crop = 1;
    const char *meta = gcam_model_metadata(m, "gradcam.preprocess");
    int use_imagenet = !o->preset || !strcmp(o->preset, "imagenet");
    if (meta && !o->preset) apply_meta(meta, &pp, &crop);
    if (o->preset && !strcmp(o->preset, "none")) {
        pp.mean[0] = pp.mean[1] = pp.mean[2] = 0;
        pp.std[0] = pp.std[1] = pp.std[2] = 1;
        crop = 0;
    }
    if (!meta || o->preset) {
        if (decl[2] > 0 && decl[3] > 0) { pp.height = (int)decl[2]; pp.width = (int)decl[3]; }
    }
    if (o->size_h) { pp.height = o->size_h; pp.width = o->size_w; }
    if (decl[2] > 0 && decl[3] > 0 && (pp.height != decl[2] || pp.width != decl[3]))
        return cli_fail("--size %dx%d does not match the model's input %lldx%lld", pp.height, pp.width,
                        (long long)decl[2], (long long)decl[3]);
    if (o->has_mean) memcpy(pp.mean, o->mean, sizeof pp.mean);
    if (o->has_std) memcpy(pp.std, o->std, sizeof pp.std);
    if (o->no_crop) crop = 0;
    pp.crop = crop;
    /* the imagenet recipe's 256/224 ratio, scaled to the input size */
    pp.resize_shorter = crop && use_imagenet ? (int)((pp.height < pp.width ? pp.height : pp.width) * 256.0 / 224.0 + 0.5) : 0;
    if (crop && !use_imagenet) pp.resize_shorter = pp.height < pp.width ? pp.height : pp.width;
    pp.grayscale = C == 1;

    gcam_err e = {0};
    if (gcam_image_load(o->image, o->no_exif ? GCAM_DECODE_NO_EXIF_ROTATE : 0, &info->photo, &e))
        return cli_fail("%s", e.msg);
    info->has_photo = 1;
    gcam_preproc_plan plan;
    if (gcam_preproc_make_plan(&pp, info->photo.w, info->photo.h, &plan, &e)) return cli_fail("%s", e.msg);
    info->rect = plan.src_rect;
    info->in_h = pp.height;
    info->in_w = pp.width;
    x->dtype = GCAM_FLOAT32;
    x->ndim = 4;
    x->dims[0] = 1;
    x->dims[1] = C;
    x->dims[2] = pp.height;
    x->dims[3] = pp.width;
    x->data = malloc(sizeof(float) * (size_t)C * pp.height * pp.width);
    if (!x->data) return cli_fail("out of memory");
    if (gcam_preprocess(&info->photo, &pp, x->data, &e)) return cli_fail("%s", e.msg);
    return 0;
}

void cli_input_free(gcam_array *x, cli_input_info *info)
{
    if (x) {
        free(x->data);
        x->data = NULL;
    }
    if (info && info->has_photo) gcam_image_free(&info->photo);
}
