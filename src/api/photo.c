/* photo.c - images in (decode + preprocess for a model) and overlays out.
 *
 * Preprocessing is chosen in this order: explicit options, the model's
 * "gradcam.preprocess" metadata (e.g. "size=96,96;mean=0.5,0.5,0.5;std=0.5,0.5,0.5;crop=none"),
 * then the imagenet preset scaled to the model's static input size. */
#include <stdio.h>
#include <stdlib.h>

#include "api/model_internal.h"
#include "image/image.h"
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

static void apply_meta(const char *meta, gcam_preproc *pp, int *crop)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", meta);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        int h, w;
        if (!strcmp(k, "size") && !gcam_parse_size(v, &h, &w)) { pp->height = h; pp->width = w; }
        else if (!strcmp(k, "mean")) gcam_parse_floats3(v, pp->mean);
        else if (!strcmp(k, "std")) gcam_parse_floats3(v, pp->std);
        else if (!strcmp(k, "crop") && !strcmp(v, "none")) *crop = 0;
    }
}

int gcam_photo_load(gcam_model *m, const char *path, const gcam_preprocess_opts *o, gcam_photo **photo,
                    gcam_array *x)
{
    gcam_preprocess_opts def = {0};
    if (!o) o = &def;
    *photo = NULL;
    memset(x, 0, sizeof *x);
    int64_t decl[GCAM_MAX_NDIM];
    int nd = gcam_model_input_shape(m, 0, decl);
    if (nd != 4) return gcam_errf(&m->err, GCAM_E_SHAPE, "the model's input is not 4-D NCHW; feed a tensor instead of an image");
    int C = decl[1] > 0 ? (int)decl[1] : 3;
    if (C != 1 && C != 3)
        return gcam_errf(&m->err, GCAM_E_SHAPE, "the model's input has %d channels; images give 1 or 3", C);
    if (o->preset && strcmp(o->preset, "imagenet") && strcmp(o->preset, "none"))
        return gcam_errf(&m->err, GCAM_E_ARG, "unknown preset '%s' (imagenet, none)", o->preset);

    gcam_preproc pp;
    gcam_preproc_imagenet(&pp);
    int crop = 1;
    const char *meta = gcam_model_metadata(m, "gradcam.preprocess");
    int imagenet = !o->preset || !strcmp(o->preset, "imagenet");
    if (meta && !o->preset) apply_meta(meta, &pp, &crop);
    else if (decl[2] > 0 && decl[3] > 0) {
        pp.height = (int)decl[2];
        pp.width = (int)decl[3];
    }
    if (o->preset && !strcmp(o->preset, "none")) {
        for (int k = 0; k < 3; k++) { pp.mean[k] = 0; pp.std[k] = 1; }
        crop = 0;
    }
    if (o->size_h) { pp.height = o->size_h; pp.width = o->size_w ? o->size_w : o->size_h; }
    if (decl[2] > 0 && decl[3] > 0 && (pp.height != decl[2] || pp.width != decl[3]))
        return gcam_errf(&m->err, GCAM_E_SHAPE, "input size %dx%d does not match the model's %lldx%lld", pp.height,
                         pp.width, (long long)decl[2], (long long)decl[3]);
    if (o->has_mean) memcpy(pp.mean, o->mean, sizeof pp.mean);
    if (o->has_std) memcpy(pp.std, o->std, sizeof pp.std);
    if (o->no_crop) crop = 0;
    pp.crop = crop;
    int shorter = pp.height < pp.width ? pp.height : pp.width;
    /* the imagenet recipe resizes to 256 and crops 224: keep that ratio */
    pp.resize_shorter = !crop ? 0 : imagenet ? (int)(shorter * 256.0 / 224.0 + 0.5) : shorter;
    pp.grayscale = C == 1;

    gcam_photo *p = calloc(1, sizeof *p);
    if (!p) return gcam_errf(&m->err, GCAM_E_NOMEM, "out of memory");
    int rc = gcam_image_load(path, o->no_exif ? GCAM_DECODE_NO_EXIF_ROTATE : 0, &p->img, &m->err);
    gcam_preproc_plan plan;
    if (!rc) rc = gcam_preproc_make_plan(&pp, p->img.w, p->img.h, &plan, &m->err);
    if (!rc) {
        p->rect = plan.src_rect;
        x->dtype = GCAM_FLOAT32;
        x->ndim = 4;
        x->dims[0] = 1;
        x->dims[1] = C;
        x->dims[2] = pp.height;
        x->dims[3] = pp.width;
        x->data = malloc(sizeof(float) * (size_t)C * pp.height * pp.width);
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
    if (w) *w = p->img.w;
    if (h) *h = p->img.h;
}

void gcam_photo_rect(const gcam_photo *p, double *x, double *y, double *w, double *h)
{
    if (x) *x = p->rect.x;
    if (y) *y = p->rect.y;
    if (w) *w = p->rect.w;
    if (h) *h = p->rect.h;
}

void gcam_photo_free(gcam_photo *p)
{
    if (!p) return;
    gcam_image_free(&p->img);
    free(p);
}

int gcam_save_overlay(gcam_model *m, const gcam_photo *p, const gcam_explanation *x, const char *colormap,
                      float alpha, const char *path)
{
    int cmap = gcam_colormap_parse(colormap ? colormap : "jet");
    if (cmap < 0) return gcam_errf(&m->err, GCAM_E_ARG, "unknown colormap '%s'", colormap);
    if (!(alpha >= 0 && alpha <= 1)) return gcam_errf(&m->err, GCAM_E_ARG, "alpha must be within 0..1");
    int h, w;
    const float *map = gcam_explanation_map(x, &h, &w);
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
    memset(a, 0, sizeof *a);
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
    return gcam_npy_write(path, a->dtype, a->dims, a->ndim, a->data, m ? &m->err : NULL);
}

void gcam_array_free(gcam_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
