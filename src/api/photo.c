/* photo.c - images in (decode + preprocess for a model) and overlays out.
 *
 * Preprocessing is chosen in this order: explicit options, the model's
 * "gradcam.preprocess" metadata (e.g. "size=96,96;mean=0.5,0.5,0.5;std=0.5,0.5,0.5;crop=none",
 * or "preset=tf"), then the imagenet preset scaled to the model's static input
 * size.  The input's layout (NCHW or NHWC) and channels (grey, RGB, RGBA)
 * come from its declared shape (gcam_model_input_layout). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/model_internal.h"
#include "image/image.h"
#include "kernels/bigmem.h"
#include "util/npy.h"


int gcam_parse_floats3(const char *s, float *v)
{
    char *end;
    for (int k = 0; k < 3; k++) {
        v[k] = strtof(s, &end);
        if (end == s) return -1;
        s = end;
        if (k == 0 && !*s) { /* one value for all channels */
            v[1] = v[2] = v[0];
            return 0;
        }
        if (k < 2 && *s++ != ',') return -1;
    }
    return *s ? -1 : 0;
}

int gcam_parse_size(const char *s, int *h, int *w)
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

/* Preprocessing presets: pixel * scale, then (x - mean) / std per output
 * channel (B, G, R order for bgr; alpha, when the model takes RGBA, last).
 * Only imagenet crops (shorter side to 256/224 of the input, centre crop);
 * the others resize straight to the input size, as their exporters do. */
#define GCAM_PRESETS(X)                                                                                        \
    X("imagenet", 1.0 / 255, ARR4(0.485f, 0.456f, 0.406f, 0.0f), ARR4(0.229f, 0.224f, 0.225f, 1.0f), 0, 256.0 / 224) \
    X("tf", 1.0 / 255, ARR4(0.5f, 0.5f, 0.5f, 0.5f), ARR4(0.5f, 0.5f, 0.5f, 0.5f), 0, 0) /* [-1, 1] */        \
    X("paddle", 1.0 / 255, ARR4(0.5f, 0.5f, 0.5f, 0.5f), ARR4(0.5f, 0.5f, 0.5f, 0.5f), 0, 0)                  \
    X("caffe", 1.0, ARR4(103.939f, 116.779f, 123.68f, 0.0f), ARR4(1, 1, 1, 1), 1, 0) /* BGR, 0-255 */          \
    X("raw", 1.0, ARR4(0, 0, 0, 0), ARR4(1, 1, 1, 1), 0, 0)                         /* 0-255 */               \
    X("unit", 1.0 / 255, ARR4(0, 0, 0, 0), ARR4(1, 1, 1, 1), 0, 0)                  /* 0-1 */                 \
    X("none", 1.0 / 255, ARR4(0, 0, 0, 0), ARR4(1, 1, 1, 1), 0, 0)                  /* = unit */

#define ARR4(a, b, c, d) {a, b, c, d}
static const struct preset {
    const char *name;
    double scale;
    float mean[4], std[4];
    int bgr;
    double crop; /* resize the shorter side to crop * the input's, centre crop; 0: no crop */
} PRESETS[] = {
#define GCAM_X_(n, sc, mn, sd, bgr, crop) {n, sc, mn, sd, bgr, crop},
    GCAM_PRESETS(GCAM_X_)
#undef GCAM_X_
};
#undef ARR4

static const struct preset *find_preset(const char *name)
{
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
    return NULL;
}

const char *gcam_preset_name(int i)
{
    return i >= 0 && (size_t)i < sizeof PRESETS / sizeof PRESETS[0] ? PRESETS[i].name : NULL;
}

static const char *preset_names(void)
{
    static char buf[128];
    if (!buf[0])
        for (size_t i = 0, l = 0; i < sizeof PRESETS / sizeof PRESETS[0] && l < sizeof buf; i++)
            l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%s", i ? ", " : "", PRESETS[i].name);
    return buf;
}

static void apply_preset(const struct preset *ps, gcam_preproc *pp, double *crop)
{
    pp->scale = ps->scale;
    memcpy(pp->mean, ps->mean, sizeof pp->mean);
    memcpy(pp->std, ps->std, sizeof pp->std);
    pp->bgr = ps->bgr;
    *crop = ps->crop;
}

/* "gradcam.preprocess" metadata: preset=, size=, mean=, std=, scale=, bgr=1, crop=none */
/* returns 1 when the metadata gave a size */
static int apply_meta(const char *meta, gcam_preproc *pp, double *crop)
{
    int sized = 0;
    char v[128];
    int h, w;
    const struct preset *ps;
    if (!gcam_meta_value(meta, "preset", v, sizeof v) && (ps = find_preset(v))) apply_preset(ps, pp, crop);
    if (!gcam_meta_value(meta, "size", v, sizeof v) && !gcam_parse_size(v, &h, &w)) {
        pp->height = h;
        pp->width = w;
        sized = 1;
    }
    if (!gcam_meta_value(meta, "mean", v, sizeof v)) gcam_parse_floats3(v, pp->mean);
    if (!gcam_meta_value(meta, "std", v, sizeof v)) gcam_parse_floats3(v, pp->std);
    if (!gcam_meta_value(meta, "scale", v, sizeof v) && strtod(v, NULL) > 0) pp->scale = strtod(v, NULL);
    if (!gcam_meta_value(meta, "bgr", v, sizeof v)) pp->bgr = !strcmp(v, "1");
    if (!gcam_meta_value(meta, "crop", v, sizeof v) && !strcmp(v, "none")) *crop = 0;
    return sized;
}

/* The input's channel count and layout, from its declared shape. */
static int image_input(gcam_model *m, int *C, int *channels_last, int64_t *H, int64_t *W)
{
    int i = gcam_model_main_input(m);
    if (i < 0) return m->err.code;
    int64_t decl[GCAM_MAX_NDIM];
    int nd = gcam_model_input_shape(m, i, decl), layout = gcam_model_input_layout(m, i);
    if (nd != 4 || layout == GCAM_LAYOUT_NONE)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "the model's input '%s' is not a 4-D image (NCHW or NHWC); feed a tensor instead of an image",
                         gcam_model_input_name(m, i));
    *channels_last = layout == GCAM_LAYOUT_NHWC;
    int64_t c = decl[*channels_last ? 3 : 1];
    *C = c > 0 ? (int)c : 3;
    *H = decl[*channels_last ? 1 : 2];
    *W = decl[*channels_last ? 2 : 3];
    if (*C != 1 && *C != 3 && *C != 4)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "the model's input has %d channels; images give 1 (grey), 3 (RGB) or 4 (RGBA)", *C);
    return GCAM_OK;
}

/* The size of a symbolic H and/or W, when neither the options nor the
 * metadata give one, for a recipe that resizes straight: the photo's own,
 * or, with one side fixed, the other scaled to keep the photo's aspect ratio
 * (a text recogniser's [N,3,48,?]).  Crop recipes keep 224. */
static void size_from_photo(gcam_preproc *pp, int64_t H, int64_t W, int img_w, int img_h)
{
    if (H <= 0 && W <= 0) {
        pp->height = img_h;
        pp->width = img_w;
    } else if (W <= 0) {
        pp->width = (int)((double)img_w * (double)H / img_h + 0.5);
    } else if (H <= 0) {
        pp->height = (int)((double)img_h * (double)W / img_w + 0.5);
    }
    if (pp->width < 1) pp->width = 1;
    if (pp->height < 1) pp->height = 1;
}

/* The preprocessing recipe: preset or metadata, then explicit options. */
static int make_recipe(gcam_model *m, const gcam_preprocess_opts *o, int C, int64_t H, int64_t W, int img_w,
                       int img_h, gcam_preproc *pp)
{
    const struct preset *ps = o->preset ? find_preset(o->preset) : NULL;
    if (o->preset && !ps) return gcam_errf(&m->err, GCAM_E_ARG, "unknown preset '%s' (%s)", o->preset, preset_names());
    gcam_preproc_imagenet(pp);
    double crop = 256.0 / 224;
    const char *meta = gcam_model_metadata(m, "gradcam.preprocess");
    if (H > 0) pp->height = (int)H;
    if (W > 0) pp->width = (int)W;
    int sized = (H > 0 && W > 0) || o->size_h;
    if (ps) apply_preset(ps, pp, &crop);
    else if (meta) sized |= apply_meta(meta, pp, &crop);
    if (o->size_h) { pp->height = o->size_h; pp->width = o->size_w ? o->size_w : o->size_h; }
    if (o->no_crop) crop = 0;
    if (!sized && !(crop > 0)) size_from_photo(pp, H, W, img_w, img_h);
    if (H > 0 && W > 0 && (pp->height != H || pp->width != W))
        return gcam_errf(&m->err, GCAM_E_SHAPE, "input size %dx%d does not match the model's %lldx%lld", pp->height,
                         pp->width, (long long)H, (long long)W);
    if (o->has_mean) memcpy(pp->mean, o->mean, sizeof o->mean);
    if (o->has_std) memcpy(pp->std, o->std, sizeof o->std);
    if (o->scale > 0) pp->scale = o->scale;
    if (o->bgr) pp->bgr = 1;
    pp->crop = crop > 0;
    int shorter = pp->height < pp->width ? pp->height : pp->width;
    /* the imagenet recipe resizes to 256 and crops 224: keep that ratio */
    pp->resize_shorter = crop > 0 ? (int)(shorter * crop + 0.5) : 0;
    pp->grayscale = C == 1;
    pp->alpha = C == 4;
    return GCAM_OK;
}

/* Options that would silently give garbage are errors. */
static int check_preprocess(const gcam_preprocess_opts *o, gcam_err *e)
{
    if (o->size_h < 0 || o->size_w < 0 || o->size_h > 16384 || o->size_w > 16384)
        return gcam_errf(e, GCAM_E_ARG, "input size %dx%d out of range (1 to 16384, 0 = from the model)", o->size_h, o->size_w);
    for (int k = 0; k < 3; k++) {
        if (o->has_mean && !isfinite(o->mean[k]))
            return gcam_errf(e, GCAM_E_ARG, "mean[%d] is not a finite number", k);
        if (o->has_std && !(isfinite(o->std[k]) && o->std[k] > 0))
            return gcam_errf(e, GCAM_E_ARG, "std[%d] = %g: it must be a finite number > 0", k, (double)o->std[k]);
    }
    return GCAM_OK;
}

int gcam_photo_load(gcam_model *m, const char *path, const gcam_preprocess_opts *o, gcam_photo **photo,
                    gcam_array *x)
{
    gcam_preprocess_opts def = {0};
    if (!o) o = &def;
    if (photo) *photo = NULL;
    if (x) memset(x, 0, sizeof *x);
    if (!m) return GCAM_E_ARG;
    if (!path || !photo || !x)
        return gcam_errf(&m->err, GCAM_E_ARG, "gcam_photo_load: %s is NULL", !path ? "path" : !photo ? "photo" : "input");
    if (check_preprocess(o, &m->err)) return m->err.code;
    int C = 3, nhwc = 0;
    int64_t H = 0, W = 0;
    gcam_preproc pp;
    int rc = image_input(m, &C, &nhwc, &H, &W);
    if (rc) return rc;
    gcam_photo *p = gcam_calloc(1, sizeof *p);
    if (!p) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    /* --max-memory covers the photo too: decoding (and, below, the
     * preprocessing's float copies of it) must fit the model's budget */
    size_t budget = m->g ? gcam_mem_budget(m->g->mem_limit) : 0;
    rc = gcam_image_load_limited(path, o->no_exif ? GCAM_DECODE_NO_EXIF_ROTATE : 0, budget, &p->img, &m->err);
    if (!rc && (uint64_t)p->img.w * p->img.h * 12 > budget)
        rc = gcam_errf(&m->err, GCAM_E_NOMEM, "%s: preprocessing the %dx%d image needs %.1f MB, more than the memory limit of %.1f MB",
                       path, p->img.w, p->img.h, (double)p->img.w * p->img.h * 12 / 1048576.0, budget / 1048576.0);
    if (!rc) rc = make_recipe(m, o, C, H, W, p->img.w, p->img.h, &pp);
    pp.channels_last = nhwc;
    gcam_preproc_plan plan;
    if (!rc) rc = gcam_preproc_make_plan(&pp, p->img.w, p->img.h, &plan, &m->err);
    if (!rc) {
        p->rect = plan.src_rect;
        x->dtype = GCAM_FLOAT32;
        x->ndim = 4;
        int64_t d[4] = {1, C, pp.height, pp.width}, dl[4] = {1, pp.height, pp.width, C};
        memcpy(x->dims, nhwc ? dl : d, sizeof d);
        x->data = gcam_malloc(sizeof(float) * (size_t)C * pp.height * pp.width);
        if (!x->data) rc = gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    }
    if (!rc) rc = gcam_preprocess(&p->img, &pp, x->data, &m->err);
    if (rc) {
        gcam_array_free(x);
        gcam_photo_free(p);
        return rc;
    }
    *photo = p;
    return GCAM_OK;
}

void gcam_photo_size(const gcam_photo *p, int *w, int *h)
{
    if (w) *w = p ? p->img.w : 0;
    if (h) *h = p ? p->img.h : 0;
}

void gcam_photo_rect(const gcam_photo *p, double *x, double *y, double *w, double *h)
{
    if (x) *x = p ? p->rect.x : 0;
    if (y) *y = p ? p->rect.y : 0;
    if (w) *w = p ? p->rect.w : 0;
    if (h) *h = p ? p->rect.h : 0;
}

void gcam_photo_free(gcam_photo *p)
{
    if (!p) return;
    gcam_image_free(&p->img);
    gcam_free(p);
}

int gcam_save_overlay(gcam_model *m, const gcam_photo *p, const gcam_explanation *x, const char *colormap,
                      float alpha, const char *path)
{
    if (!m) return GCAM_E_ARG;
    if (!x || !path) return gcam_errf(&m->err, GCAM_E_ARG, "gcam_save_overlay: %s is NULL", !x ? "explanation" : "path");
    int cmap = gcam_colormap_parse(colormap ? colormap : "jet");
    if (cmap < 0) return gcam_errf(&m->err, GCAM_E_ARG, "unknown colormap '%s'", colormap);
    if (!(alpha >= 0 && alpha <= 1)) return gcam_errf(&m->err, GCAM_E_ARG, "alpha must be within 0..1");
    int h, w;
    const float *map = gcam_explanation_map(x, &h, &w);
    /* the overlay is photo-sized: colours, the resized map, the blend */
    size_t budget = m->g ? gcam_mem_budget(m->g->mem_limit) : 0;
    uint64_t px = p ? (uint64_t)p->img.w * p->img.h : (uint64_t)w * h;
    if (px * 16 > budget)
        return gcam_errf(&m->err, GCAM_E_NOMEM, "the overlay needs %.1f MB, more than the memory limit of %.1f MB",
                         px * 16 / 1048576.0, budget / 1048576.0);
    gcam_image out = {0};
    gcam_overlay_opts ov;
    gcam_overlay_opts_default(&ov);
    ov.cmap = cmap;
    ov.alpha = alpha;
    int rc = p ? gcam_overlay_rect(&p->img, map, w, h, p->rect, &ov, &out, &m->err)
               : gcam_heatmap_colorize(map, w, h, cmap, &out, &m->err);
    if (!rc) rc = gcam_image_save(path, &out, &m->err);
    gcam_image_free(&out);
    return rc;
}

int gcam_npy_load(gcam_model *m, const char *path, gcam_array *a)
{
    gcam_tensor t;
    if (a) memset(a, 0, sizeof *a);
    if (!path || !a) return gcam_errf(m ? &m->err : NULL, GCAM_E_ARG, "gcam_npy_load: %s is NULL", !path ? "path" : "a");
    int rc = gcam_npy_read(path, &t, m ? &m->err : NULL);
    if (rc) return rc;
    a->dtype = t.dtype;
    a->ndim = t.ndim;
    memcpy(a->dims, t.dims, sizeof(int64_t) * (size_t)t.ndim);
    a->data = t.data;
    return GCAM_OK;
}

int gcam_npy_save(gcam_model *m, const char *path, const gcam_array *a)
{
    if (!path || !a) return gcam_errf(m ? &m->err : NULL, GCAM_E_ARG, "gcam_npy_save: %s is NULL", !path ? "path" : "a");
    if (!gcam_dtype_size(a->dtype))
        return gcam_errf(m ? &m->err : NULL, GCAM_E_ARG, "%s: unknown dtype %d (one of the GCAM_FLOAT32 ... codes)", path, a->dtype);
    return gcam_npy_write(path, a->dtype, a->dims, a->ndim, a->data, m ? &m->err : NULL);
}

void gcam_array_free(gcam_array *a)
{
    if (!a) return;
    gcam_free(a->data);
    memset(a, 0, sizeof *a);
}
