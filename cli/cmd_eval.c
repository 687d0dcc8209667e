/* cmd_eval.c - `gradcam eval`: how good are the maps?
 *
 * Localisation (needs --boxes): pointing game, energy-based pointing game and
 * the Grad-CAM paper's localisation error, with a centre-point baseline.
 * --faithfulness: deletion / insertion AUC (RISE) and Average Drop / Increase
 * (Grad-CAM++).  The measures are the library's (gcam_eval.h); their exact definitions are in
 * docs/eval.md.  This file only walks images x classes x methods, maps boxes
 * into the model input's coordinates and prints the table / writes the JSON. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "eval_results.h"
#include "gcam_eval.h"
#include "input.h"
#include "opts.h"

static const char *USAGE =
    "gradcam eval [--model M.onnx] --images DIR|LIST|IMG [--boxes boxes.csv] [--method M1,M2,...]\n"
    "             [--faithfulness] [--baseline blur|constant[:V]] [--sigma S] [--steps N]\n"
    "             [--score softmax|sigmoid|logit] [--threshold F] [--iou F] [--tolerance PX]\n"
    "             [--layer NAME]... [--labels FILE] [--json OUT.json] [--threads N] [--quiet]\n"
    "             [--results OUT/results.jsonl]\n"
    "             [preprocessing options]";

static const char *HELP =
    "  --images DIR|LIST|IMG  a folder (its .png/.jpg/.jpeg files, sorted), a text file with one\n"
    "                        image path per line (relative to the list's folder), or one image\n"
    "  --boxes FILE          CSV image,label,x0,y0,x1,y1 (image pixels, x1/y1 exclusive); needed\n"
    "                        for the localisation measures; with --faithfulness it picks the classes\n"
    "  --method LIST         comma-separated methods with one-channel maps (default gradcam;\n"
    "                        see `gradcam explain --help`)\n"
    "  --faithfulness        deletion/insertion AUC and Average Drop/Increase (no boxes needed:\n"
    "                        without --boxes the target is each image's top-1 class)\n"
    "  --baseline blur|constant[:V]  what deleted pixels become (default blur): a Gaussian blur\n"
    "                        of the model input (--sigma, default 5 input pixels) or the value V\n"
    "                        in the model's input space (default 0, the normalisation mean)\n"
    "  --steps N             deletion/insertion steps (default 100)\n"
    "  --score KIND          target score for faithfulness: softmax, sigmoid (multi-label models),\n"
    "                        logit (default: the model's gradcam.output metadata, else softmax)\n"
    "  --threshold F         localisation threshold, fraction of the map's max (default 0.15)\n"
    "  --iou F               IoU for a correct localisation (default 0.5)\n"
    "  --tolerance PX        pointing-game tolerance in model-input pixels (default 0)\n"
    "  --json OUT.json       summary and per-item results\n"
    "  --results FILE.jsonl  the maps of a `gradcam batch --save-npy` run (matched by image file name,\n"
    "                        class and method) instead of explaining again\n"
    "  --quiet               no progress bar and no notes on stderr\n";

#define MAX_METHODS 32

/* ---- small helpers -------------------------------------------------------- */

#define json_num(f, v) cli_json_num((f), (v), "eval")

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    return !strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
    char **v;
    int n, cap;
} strlist;

static int strlist_add(strlist *l, const char *dir, const char *name)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 32;
        char **nv = realloc(l->v, sizeof *nv * (size_t)nc);
        if (!nv) return -1;
        l->v = nv;
        l->cap = nc;
    }
    size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char *s = malloc(len);
    if (!s) return -1;
    if (dir) snprintf(s, len, "%s/%s", dir, name);
    else snprintf(s, len, "%s", name);
    l->v[l->n++] = s;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* --images: a folder, one image, or a list file. */
static int list_images(const char *arg, strlist *out)
{
    struct stat st;
    if (stat(arg, &st)) return cli_fail("--images %s: %s", arg, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(arg);
        if (!d) return cli_fail("--images %s: %s", arg, strerror(errno));
        struct dirent *e;
        int rc = 0;
        while (!rc && (e = readdir(d))) {
            if (e->d_name[0] == '.' || !has_image_ext(e->d_name)) continue;
            if (strlist_add(out, arg, e->d_name)) rc = cli_fail("out of memory");
        }
        closedir(d);
        if (rc) return rc;
        if (!out->n) return cli_fail("--images %s: no .png, .jpg or .jpeg files in this folder", arg);
        qsort(out->v, (size_t)out->n, sizeof out->v[0], cmp_str);
        return 0;
    }
    if (has_image_ext(arg)) return strlist_add(out, NULL, arg) ? cli_fail("out of memory") : 0;
    char *text;
    size_t len;
    gcam_error err = {0};
    if (gcam_file_read_text(arg, "image list", &text, &len, &err)) return cli_fail("--images: %s", err.msg);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", arg);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    int rc = 0;
    for (char *line = (char *)text, *next; !rc && line < (char *)text + len; line = next) {
        next = line + strcspn(line, "\n");
        if (*next) *next++ = 0;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        if (strlist_add(out, s[0] == '/' || !slash ? NULL : dir, s)) rc = cli_fail("out of memory");
    }
    gcam_mem_free(text);
    if (!rc && !out->n) rc = cli_fail("--images %s: the list names no images", arg);
    return rc;
}


/* Closes the memory stream f and writes what it holds to path, atomically. */
static int write_file(const char *path, FILE *f, char **text, size_t *len)
{
    gcam_error err;
    int rc = fclose(f) ? cli_fail("out of memory") : 0;
    if (!rc && gcam_file_write_atomic(path, *text, *len, &err)) rc = cli_fail("%s", err.msg);
    free(*text);
    *text = NULL;
    return rc;
}

/* ---- progress bar --------------------------------------------------------- */

typedef struct {
    int on;
    long done, total;
} progress;

/* part: how far into the current unit (0..1), for the long faithfulness units */
static void progress_show(progress *p, const char *what, double part)
{
    if (!p->on) return;
    int width = 30, fill = p->total ? (int)(width * (p->done + part) / p->total) : width;
    fprintf(stderr, "\r[");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %ld/%ld %-40.40s", p->done, p->total, what ? cli_esc(what) : "");
    fflush(stderr);
}

static void progress_end(progress *p)
{
    if (p->on) fprintf(stderr, "\r%*s\r", 90, "");
}

/* ---- the model as a score function --------------------------------------- */

typedef struct {
    gcam_model *m;
    int64_t dims[4];
    int64_t cls;
    int kind;
    int64_t n_forward;
    progress *pg;         /* NULL: no progress */
    const char *what;
    long calls, expected; /* forward passes in the current unit */
} scorer;

static int score_input(void *ctx, const float *x, double *out)
{
    scorer *s = ctx;
    gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = 4};
    memcpy(a.dims, s->dims, sizeof s->dims);
    a.data = (void *)x; /* read only */
    int rc = gcam_model_run(s->m, NULL, &a, 1);
    if (rc) return rc;
    gcam_array y;
    rc = gcam_model_tensor(s->m, gcam_model_output_name(s->m, 0), &y);
    if (rc) return rc;
    if (y.dtype != GCAM_FLOAT32 || y.ndim < 1) return GCAM_E_DTYPE;
    int64_t C = y.dims[y.ndim - 1];
    if (s->cls < 0 || s->cls >= C) return GCAM_E_RANGE;
    *out = gcam_score(y.data, C, s->cls, s->kind);
    s->n_forward++;
    if (s->pg && s->expected && ++s->calls % 8 == 0) progress_show(s->pg, s->what, (double)s->calls / s->expected);
    return 0;
}

/* gcam_explain's progress for the long methods (Score-CAM, SmoothGrad, ...);
 * with --faithfulness the scoring passes measure the unit instead */
static void explain_progress(void *user, const char *what, int64_t done, int64_t total)
{
    scorer *s = user;
    (void)what;
    if (s->pg && total > 0 && !s->expected) progress_show(s->pg, s->what, (double)done / (double)total);
}

/* ---- results -------------------------------------------------------------- */

typedef struct {
    int image, method;
    int64_t cls;
    /* localisation */
    int hit, centre_hit, loc_ok;
    double argmax_x, argmax_y; /* image pixels: centre of the argmax map pixel */
    double energy, iou;
    gcam_box pred;            /* image pixels */
    int64_t pred_pixels;
    /* faithfulness */
    double deletion, insertion, y_full, y_masked;
} item;

typedef struct {
    int64_t cls;
    gcam_box boxes_img[64]; /* image pixels */
    gcam_box boxes_map[64]; /* model-input pixels, clipped to the input */
    int n;
} class_boxes;

/* ---- options -------------------------------------------------------------- */

typedef struct {
    const char *model, *images, *boxes, *methods, *json, *labels_file, *baseline, *score, *results;
    const char *layers[GCAM_MAX_LAYERS];
    int n_layers, faith, quiet, use_blur, score_kind;
    long steps, threads;
    double sigma, thr, iou_min, tol, constant;
    int method_ids[MAX_METHODS], n_methods;
    const char *method_names[MAX_METHODS];
    cli_input_opts io;
} eval_args;

static int opt_layer(void *s, const char *name, const char *v, const char *usage)
{
    eval_args *a = s;
    if (a->n_layers == GCAM_MAX_LAYERS) return cli_usage(usage, "at most %d --layer", GCAM_MAX_LAYERS);
    a->layers[a->n_layers++] = v;
    return 0;
}

#define E_(f) offsetof(eval_args, f)
/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help (HELP) */
static const cli_opt OPTS[] = {
    {"--model", NULL, CLI_STR, E_(model), 0, 0, 0, NULL, NULL, "M.onnx", NULL},
    {"--images", NULL, CLI_STR, E_(images), 0, 0, 0, NULL, NULL, "DIR|LIST|IMG", NULL},
    {"--boxes", NULL, CLI_STR, E_(boxes), 0, 0, 0, NULL, NULL, "FILE", NULL},
    {"--method", NULL, CLI_STR, E_(methods), 0, 0, 0, NULL, NULL, "LIST", NULL},
    {"--json", NULL, CLI_STR, E_(json), 0, 0, 0, NULL, NULL, "OUT.json", NULL},
    {"--labels", NULL, CLI_STR, E_(labels_file), 0, 0, 0, NULL, NULL, "FILE", NULL},
    {"--results", NULL, CLI_STR, E_(results), 0, 0, 0, NULL, NULL, "FILE.jsonl", NULL},
    {"--baseline", NULL, CLI_STR, E_(baseline), 0, 0, 0, NULL, NULL, "blur|constant[:V]", NULL},
    {"--score", NULL, CLI_STR, E_(score), 0, 0, 0, NULL, NULL, "KIND", NULL},
    {"--layer", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_layer, "NAME", NULL},
    {"--faithfulness", NULL, CLI_FLAG, E_(faith), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--quiet", NULL, CLI_FLAG, E_(quiet), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--steps", NULL, CLI_RANGE, E_(steps), 1, 1L << 30, 0, NULL, NULL, "N", NULL},
    {"--threads", NULL, CLI_RANGE, E_(threads), 1, CLI_MAX_THREADS, 0, NULL, NULL, "N", NULL},
    {"--sigma", NULL, CLI_DOUBLE, E_(sigma), 0, DBL_MAX, 1, NULL, NULL, "S", NULL},
    {"--threshold", NULL, CLI_DOUBLE, E_(thr), 0, 1, 0, NULL, NULL, "F", NULL},
    {"--iou", NULL, CLI_DOUBLE, E_(iou_min), 0, 1, 0, NULL, NULL, "F", NULL},
    {"--tolerance", NULL, CLI_DOUBLE, E_(tol), 0, DBL_MAX, 0, NULL, NULL, "PX", NULL},
    CLI_OPT_END,
};

/* 0: run; -1: done (--help); else the exit status */
static int parse_args(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->methods = "gradcam", a->baseline = "blur";
    a->steps = 100, a->sigma = 5, a->thr = 0.15, a->iou_min = 0.5;
    cli_input_defaults(&a->io);
    for (int i = 1; i < argc; i++) {
        int used = cli_input_option(&a->io, argc, argv, &i);
        if (!used) used = cli_opt_take(OPTS, a, argc, argv, &i, USAGE);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(argv[i], "--help")) return printf("usage: %s\n%s%s", USAGE, HELP, CLI_INPUT_HELP), -1;
        return cli_usage(USAGE, "unknown option '%s'", argv[i]);
    }
    return 0;
}

/* --method: a comma-separated list of names */
static int parse_methods(eval_args *a)
{
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof buf, "%s", a->methods);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        int method = gcam_method_parse(tok);
        if (method < 0) return cli_usage(USAGE, "unknown --method '%s' (available: %s)", tok, cli_method_names());
        if (a->n_methods == MAX_METHODS) return cli_usage(USAGE, "at most %d methods", MAX_METHODS);
        a->method_ids[a->n_methods] = method;
        a->method_names[a->n_methods++] = gcam_method_name(method);
    }
    return a->n_methods ? 0 : cli_usage(USAGE, "--method names no method");
}

/* what can be refused before the model loads */
static int check_args(eval_args *a)
{
    if (a->io.image || a->io.tensor) return cli_usage(USAGE, "eval takes --images DIR|LIST, not --image/--input-tensor");
    if (!a->images) return cli_usage(USAGE, "give --images DIR|LIST|IMG");
    if (!a->boxes && !a->faith) return cli_usage(USAGE, "give --boxes boxes.csv (localisation) and/or --faithfulness");
    a->use_blur = !strcmp(a->baseline, "blur");
    if (!a->use_blur && strcmp(a->baseline, "constant")) {
        if (strncmp(a->baseline, "constant:", 9))
            return cli_usage(USAGE, "bad --baseline '%s' (blur, constant, constant:V)", a->baseline);
        if (cli_parse_float(a->baseline + 9, &a->constant) || !isfinite(a->constant))
            return cli_usage(USAGE, "bad --baseline '%s' (constant:V)", a->baseline);
    }
    if (a->score && gcam_score_kind_parse(a->score) < 0)
        return cli_usage(USAGE, "bad --score '%s' (softmax, sigmoid, logit)", a->score);
    int rc = parse_methods(a);
    if (rc) return rc;
    if (!a->model) a->model = cli_default_model();
    if (a->json && strcmp(a->json, "-") && cli_check_output("--json", a->json)) return 1;
    return 0;
}

/* ---- the run ---------------------------------------------------------------- */

typedef struct {
    int n, hits, loc_ok;
    double energy, del, ins, drop, incr;
} summary;

typedef struct {
    eval_args *a;
    gcam_model *m;
    char **labels;
    int n_labels;
    strlist imgs;
    gcam_boxes boxes;
    eval_results results;
    gcam_explain_opts eo;
    item *items;
    int n_items, cap_items, n_pairs, n_images_used;
    double *mean_del, *mean_ins, *frac, *curve; /* faithfulness curves, steps_used + 1 each */
    int steps_used;
    progress pg;
    int64_t n_forward;
    char what[128]; /* the progress bar's caption */
    summary sum[MAX_METHODS];
    int centre_hits;
} eval_run;

/* one image as the model sees it, and its classes */
typedef struct {
    int index; /* in imgs */
    const char *path, *base;
    gcam_photo *photo;
    gcam_array x;
    int img_w, img_h, C, H, W;
    double rx, ry, rw, rh; /* where the input sits on the photo */
    int64_t HW;
    float *base_t, *work, *tmp; /* faithfulness: the baseline, scratch */
    int64_t *order;
    scorer sc;
    class_boxes cb[32];
    int ncb;
} eval_image;

static int same_file_name(const char *a, const char *b) { return !strcmp(cli_basename(a), cli_basename(b)); }

/* boxes.csv names images by file name: two images may not share one */
static int check_unique_names(const eval_run *r)
{
    for (int i = 0; i < r->imgs.n; i++)
        for (int j = i + 1; j < r->imgs.n && r->a->boxes; j++)
            if (same_file_name(r->imgs.v[i], r->imgs.v[j]))
                return cli_fail("--images: %s and %s share a file name; boxes.csv names images by file name",
                                r->imgs.v[i], r->imgs.v[j]);
    return 0;
}

/* which images have boxes, which boxes have images; every box inside its image */
static int check_boxes(eval_run *r)
{
    const eval_args *a = r->a;
    int unmatched = 0, without = 0, rc = 0;
    for (int b = 0; b < r->boxes.n; b++) {
        int found = 0;
        for (int i = 0; i < r->imgs.n && !found; i++) found = same_file_name(r->boxes.v[b].image, r->imgs.v[i]);
        unmatched += !found;
    }
    for (int i = 0; i < r->imgs.n; i++) {
        int found = 0;
        for (int b = 0; b < r->boxes.n && !found; b++) found = same_file_name(r->boxes.v[b].image, r->imgs.v[i]);
        without += !found;
    }
    if (without == r->imgs.n) return cli_fail("no image of --images %s has a box in %s", a->images, a->boxes);
    if (!a->quiet && (unmatched || without))
        fprintf(stderr, "gradcam: note: %d image(s) without boxes skipped; %d box row(s) name images not in --images\n",
                without, unmatched);
    gcam_error err = {0};
    for (int i = 0; i < r->imgs.n && !rc; i++) {
        int any = 0;
        for (int b = 0; b < r->boxes.n && !any; b++) any = same_file_name(r->boxes.v[b].image, r->imgs.v[i]);
        if (!any) continue;
        gcam_photo *photo = NULL;
        gcam_array x = {0};
        if (gcam_photo_load(r->m, r->imgs.v[i], &a->io.pp, &photo, &x)) return cli_fail("%s", gcam_model_errmsg(r->m));
        int img_w, img_h;
        gcam_photo_size(photo, &img_w, &img_h);
        for (int b = 0; b < r->boxes.n && !rc; b++)
            if (same_file_name(r->boxes.v[b].image, r->imgs.v[i]) &&
                gcam_boxes_check(&r->boxes.v[b], a->boxes, img_w, img_h, &err))
                rc = cli_fail("%s", err.msg);
        gcam_array_free(&x);
        gcam_photo_free(photo);
    }
    return rc;
}

/* the model, labels, score kind, boxes and stored maps: everything that can
 * fail before the long run */
static int setup(eval_run *r)
{
    eval_args *a = r->a;
    r->n_labels = cli_load_labels(a->labels_file, r->m, &r->labels);
    int rc = r->n_labels < 0;
    if (rc) r->n_labels = 0;
    /* the score: --score, else the model's "gradcam.output" metadata, else softmax */
    const char *score_meta = gcam_model_metadata(r->m, "gradcam.output");
    if (!rc && !a->score && score_meta && gcam_score_kind_parse(score_meta) < 0)
        rc = cli_fail("the model's gradcam.output metadata '%s' is not softmax, sigmoid or logit", score_meta);
    if (!a->score) a->score = score_meta && !rc ? score_meta : "softmax";
    a->score_kind = gcam_score_kind_parse(a->score);
    gcam_error err = {0};
    if (!rc && a->boxes &&
        gcam_boxes_load(a->boxes, (const char *const *)r->labels, r->n_labels, -1, &r->boxes, &err))
        rc = cli_fail("%s", err.msg);
    if (!rc && a->boxes) rc = check_boxes(r);
    if (!rc && a->results) rc = eval_results_load(a->results, &r->results);
    gcam_explain_opts_default(&r->eo);
    r->eo.layers = a->n_layers ? a->layers : NULL;
    r->eo.n_layers = a->n_layers;
    return rc;
}

/* progress total: one unit per (image, class, method); classes counted from the CSV */
static void count_units(eval_run *r)
{
    for (int i = 0; i < r->imgs.n; i++) {
        if (!r->a->boxes) {
            r->pg.total += r->a->n_methods;
            continue;
        }
        int64_t seen[256];
        int ns = 0;
        for (int b = 0; b < r->boxes.n; b++) {
            if (!same_file_name(r->boxes.v[b].image, r->imgs.v[i])) continue;
            int dup = 0;
            for (int k = 0; k < ns; k++) dup |= seen[k] == r->boxes.v[b].cls;
            if (!dup && ns < 256) seen[ns++] = r->boxes.v[b].cls;
        }
        r->pg.total += (long)ns * r->a->n_methods;
    }
}

/* the classes of this image and their boxes */
static int image_classes(const eval_run *r, eval_image *im)
{
    im->ncb = 0;
    for (int b = 0; b < r->boxes.n; b++) {
        const gcam_box_rec *rec = &r->boxes.v[b];
        if (strcmp(cli_basename(rec->image), im->base)) continue;
        int k = 0;
        while (k < im->ncb && im->cb[k].cls != rec->cls) k++;
        if (k == im->ncb) {
            if (im->ncb == 32) return cli_fail("%s:%d: more than 32 classes in one image", r->a->boxes, rec->line);
            im->cb[im->ncb].cls = rec->cls;
            im->cb[im->ncb++].n = 0;
        }
        if (im->cb[k].n == 64) return cli_fail("%s:%d: more than 64 boxes of one class in one image", r->a->boxes, rec->line);
        im->cb[k].boxes_img[im->cb[k].n++] = rec->box;
    }
    return 0;
}

static int open_image(eval_run *r, eval_image *im)
{
    /* the metrics perturb C x H x W planes */
    if (gcam_model_input_layout(r->m, gcam_model_image_input(r->m)) == GCAM_LAYOUT_NHWC)
        return cli_fail("eval: channels-last (NHWC) inputs are not supported yet; explain supports them");
    if (gcam_photo_load(r->m, im->path, &r->a->io.pp, &im->photo, &im->x)) return cli_fail("%s", gcam_model_errmsg(r->m));
    gcam_photo_size(im->photo, &im->img_w, &im->img_h);
    gcam_photo_rect(im->photo, &im->rx, &im->ry, &im->rw, &im->rh);
    im->C = (int)im->x.dims[1], im->H = (int)im->x.dims[2], im->W = (int)im->x.dims[3];
    im->HW = (int64_t)im->H * im->W;
    im->sc = (scorer){.m = r->m, .kind = r->a->score_kind};
    memcpy(im->sc.dims, im->x.dims, sizeof im->sc.dims);
    return 0;
}

/* the model's own outputs on the image: classes in range, top-1 when no boxes */
static int model_classes(eval_run *r, eval_image *im)
{
    gcam_array y;
    int rc = 0;
    r->n_forward++;
    if (gcam_model_run(r->m, NULL, &im->x, 1) || gcam_model_tensor(r->m, gcam_model_output_name(r->m, 0), &y))
        return cli_fail("%s: %s", im->path, gcam_model_errmsg(r->m));
    if (y.dtype != GCAM_FLOAT32 || y.ndim < 1) return cli_fail("the model's first output is not a float tensor of class scores");
    int64_t nc = y.dims[y.ndim - 1];
    if (!r->a->boxes) {
        int64_t t = 0;
        gcam_topk(y.data, nc, 1, &t);
        im->cb[0].cls = t;
        im->cb[0].n = 0;
        im->ncb = 1;
    }
    for (int b = 0; b < r->boxes.n && !rc; b++)
        if (r->boxes.v[b].cls >= nc)
            rc = cli_fail("%s:%d: class %lld is out of range: the model has %lld outputs", r->a->boxes,
                          r->boxes.v[b].line, (long long)r->boxes.v[b].cls, (long long)nc);
    return rc;
}

/* the baseline of deletion/insertion and the scratch; the mean curves on the first image */
static int faith_buffers(eval_run *r, eval_image *im)
{
    const eval_args *a = r->a;
    const int64_t n = im->C * im->HW;
    im->base_t = malloc(sizeof(float) * (size_t)n);
    im->work = malloc(sizeof(float) * (size_t)n);
    im->tmp = malloc(sizeof(float) * (size_t)im->HW);
    im->order = malloc(sizeof(int64_t) * (size_t)im->HW);
    if (!r->steps_used) {
        r->steps_used = a->steps > im->HW ? (int)im->HW : (int)a->steps;
        r->mean_del = calloc((size_t)a->n_methods * (r->steps_used + 1), sizeof(double));
        r->mean_ins = calloc((size_t)a->n_methods * (r->steps_used + 1), sizeof(double));
        r->frac = calloc((size_t)r->steps_used + 1, sizeof(double));
        r->curve = calloc((size_t)r->steps_used + 1, sizeof(double));
    }
    if (!im->base_t || !im->work || !im->tmp || !im->order || !r->mean_del || !r->mean_ins || !r->frac || !r->curve)
        return cli_fail("out of memory");
    if (a->use_blur) gcam_eval_blur(im->x.data, im->C, im->H, im->W, a->sigma, im->base_t, im->tmp);
    else for (int64_t p = 0; p < n; p++) im->base_t[p] = (float)a->constant;
    return 0;
}

static void close_image(eval_run *r, eval_image *im)
{
    r->n_forward += im->sc.n_forward;
    free(im->base_t);
    free(im->work);
    free(im->tmp);
    free(im->order);
    gcam_array_free(&im->x);
    gcam_photo_free(im->photo);
}

static item *new_item(eval_run *r)
{
    if (r->n_items == r->cap_items) {
        int nc = r->cap_items ? r->cap_items * 2 : 64;
        item *nv = realloc(r->items, sizeof *nv * (size_t)nc);
        if (!nv) return NULL;
        r->items = nv;
        r->cap_items = nc;
    }
    item *it = &r->items[r->n_items++];
    memset(it, 0, sizeof *it);
    it->deletion = it->insertion = it->y_full = it->y_masked = NAN;
    it->energy = it->iou = it->argmax_x = it->argmax_y = NAN;
    it->hit = it->centre_hit = it->loc_ok = -1;
    return it;
}

/* pointing game, energy, the Grad-CAM box and its IoU; boxes_map holds nm boxes */
static int localise(const eval_run *r, const eval_image *im, const class_boxes *c, int nm, const float *map, item *it)
{
    const int H = im->H, W = im->W;
    int64_t arg;
    it->hit = gcam_eval_pointing(map, H, W, c->boxes_map, nm, r->a->tol, &arg);
    it->argmax_x = im->rx + ((double)(arg % W) + 0.5) * im->rw / W;
    it->argmax_y = im->ry + ((double)(arg / W) + 0.5) * im->rh / H;
    it->energy = gcam_eval_energy(map, H, W, c->boxes_map, nm);
    gcam_box pb;
    int64_t np = gcam_eval_cam_box(map, H, W, r->a->thr, &pb);
    if (np < 0) return cli_fail("out of memory");
    it->pred_pixels = np;
    it->iou = np ? gcam_eval_best_iou(&pb, c->boxes_map, nm) : 0;
    it->loc_ok = np && it->iou >= r->a->iou_min;
    it->pred = gcam_eval_box_to_image(&pb, im->rx, im->ry, im->rw, im->rh, W, H);
    return 0;
}

/* deletion and insertion AUCs (summed into the mean curves of method mi), and the masked score */
static int faithfulness(eval_run *r, eval_image *im, int mi, const float *map, item *it)
{
    const int S = r->steps_used;
    double *md = r->mean_del + (size_t)mi * (S + 1), *mn = r->mean_ins + (size_t)mi * (S + 1);
    int frc = gcam_eval_rank(map, im->HW, im->order);
    for (int ins = 0; ins < 2 && !frc; ins++) {
        frc = gcam_eval_curve(im->x.data, im->base_t, im->C, im->H, im->W, im->order, S, ins, score_input, &im->sc,
                              im->work, r->curve, r->frac);
        if (frc) break;
        *(ins ? &it->insertion : &it->deletion) = gcam_eval_auc(r->frac, r->curve, S + 1);
        for (int s = 0; s <= S; s++) (ins ? mn : md)[s] += r->curve[s];
    }
    if (!frc) {
        gcam_eval_mask_input(im->x.data, map, im->C, im->H, im->W, im->work);
        frc = score_input(&im->sc, im->work, &it->y_masked);
    }
    if (frc) return cli_fail("%s: %s", im->path, frc == GCAM_E_NOMEM ? "out of memory" : gcam_model_errmsg(r->m));
    return 0;
}

/* method mi's map of class c: explained now, or read from --results */
static int method_map(eval_run *r, eval_image *im, const class_boxes *c, int mi, gcam_explanation **ex,
                      gcam_array *loaded, const float **map)
{
    const eval_args *a = r->a;
    int mh, mw, rc;
    if (a->results) {
        if ((rc = eval_results_map(&r->results, r->m, im->base, c->cls, a->method_names[mi], loaded))) return rc;
        *map = loaded->data;
        mh = (int)loaded->dims[0];
        mw = (int)loaded->dims[1];
    } else {
        if (gcam_explain(r->m, &im->x, &r->eo, ex)) return cli_fail("%s: %s", im->path, gcam_model_errmsg(r->m));
        *map = gcam_explanation_map(*ex, &mh, &mw);
    }
    if (*ex && gcam_explanation_channels(*ex) != 1)
        return cli_fail("--method %s gives a %d-channel map; eval measures one-channel maps", a->method_names[mi],
                        gcam_explanation_channels(*ex));
    if (mh != im->H || mw != im->W) return cli_fail("%s: the map is %dx%d, the input %dx%d", im->path, mh, mw, im->H, im->W);
    return 0;
}

static int eval_method(eval_run *r, eval_image *im, const class_boxes *c, int nm, int centre_hit, double y_full, int mi)
{
    const eval_args *a = r->a;
    snprintf(r->what, sizeof r->what, "%s %s", a->method_names[mi], im->base);
    progress_show(&r->pg, r->what, 0);
    im->sc.pg = &r->pg;
    im->sc.what = r->what;
    im->sc.calls = 0;
    im->sc.expected = a->faith ? 2L * (r->steps_used + 1) + 1 : 0;
    r->eo.method = a->method_ids[mi];
    r->eo.progress = r->pg.on ? explain_progress : NULL;
    r->eo.progress_user = &im->sc;
    r->eo.target_class = c->cls;
    gcam_explanation *ex = NULL;
    gcam_array loaded = {0}; /* --results: the batch run's map */
    const float *map = NULL;
    int rc = method_map(r, im, c, mi, &ex, &loaded, &map);
    item *it = rc ? NULL : new_item(r);
    if (!rc && !it) rc = cli_fail("out of memory");
    if (!rc) {
        it->image = im->index;
        it->method = mi;
        it->cls = c->cls;
        it->centre_hit = a->boxes ? centre_hit : -1;
        if (a->boxes) rc = localise(r, im, c, nm, map, it);
        if (!rc && a->faith) {
            it->y_full = y_full;
            rc = faithfulness(r, im, mi, map, it);
        }
    }
    gcam_explanation_free(ex);
    gcam_array_free(&loaded);
    if (!rc) r->pg.done++;
    return rc;
}

/* class c of the image: its boxes in model-input pixels, then every method */
static int eval_class(eval_run *r, eval_image *im, class_boxes *c)
{
    const eval_args *a = r->a;
    int nm = 0, rc = 0;
    /* boxes into model-input pixels: u = (x - rect.x) * W / rect.w, clipped to the input */
    for (int b = 0; b < c->n; b++)
        if (gcam_eval_box_to_input(&c->boxes_img[b], im->rx, im->ry, im->rw, im->rh, im->W, im->H, &c->boxes_map[nm])) nm++;
    if (a->boxes && !nm) {
        if (!a->quiet)
            fprintf(stderr, "gradcam: note: %s: every box of class %lld lies outside the model's crop; skipped\n",
                    cli_esc(im->base), (long long)c->cls);
        r->pg.total -= a->n_methods;
        return 0;
    }
    r->n_pairs++;
    int centre_hit = gcam_eval_point_in_boxes(im->img_w / 2.0, im->img_h / 2.0, c->boxes_img, c->n, 0);
    double y_full = NAN;
    im->sc.cls = c->cls;
    if (a->faith && score_input(&im->sc, im->x.data, &y_full)) rc = cli_fail("%s: %s", im->path, gcam_model_errmsg(r->m));
    for (int mi = 0; mi < a->n_methods && !rc; mi++) rc = eval_method(r, im, c, nm, centre_hit, y_full, mi);
    return rc;
}

/* image i: 0 when done or skipped (no boxes), else the exit status; *stop: the run cannot go on */
static int eval_one_image(eval_run *r, int i)
{
    eval_image *im = calloc(1, sizeof *im);
    if (!im) return cli_fail("out of memory");
    im->index = i;
    im->path = r->imgs.v[i];
    im->base = cli_basename(im->path);
    int rc = image_classes(r, im);
    if (rc || (r->a->boxes && !im->ncb)) return free(im), rc;
    rc = open_image(r, im);
    if (!rc) rc = model_classes(r, im);
    if (!rc && r->a->faith) rc = faith_buffers(r, im);
    if (!rc) r->n_images_used++;
    for (int k = 0; k < im->ncb && !rc; k++) rc = eval_class(r, im, &im->cb[k]);
    close_image(r, im);
    free(im);
    return rc;
}

/* per-method means; Average Drop / Increase over the items */
static int summarise(eval_run *r)
{
    const eval_args *a = r->a;
    memset(r->sum, 0, sizeof r->sum);
    double *Y = malloc(sizeof(double) * (size_t)(r->n_items + 1)), *O = malloc(sizeof(double) * (size_t)(r->n_items + 1));
    int rc = !Y || !O ? cli_fail("out of memory") : 0;
    for (int mi = 0; mi < a->n_methods && !rc; mi++) {
        summary *s = &r->sum[mi];
        int no = 0;
        for (int k = 0; k < r->n_items; k++) {
            const item *it = &r->items[k];
            if (it->method != mi) continue;
            s->n++;
            if (a->boxes) {
                s->hits += it->hit;
                s->loc_ok += it->loc_ok;
                s->energy += it->energy;
                if (mi == 0) r->centre_hits += it->centre_hit;
            }
            if (a->faith) {
                s->del += it->deletion;
                s->ins += it->insertion;
                Y[no] = it->y_full;
                O[no++] = it->y_masked;
            }
        }
        if (s->n) {
            s->energy /= s->n;
            s->del /= s->n;
            s->ins /= s->n;
        }
        if (!a->faith) continue;
        s->drop = gcam_eval_average_drop(Y, O, no);
        s->incr = gcam_eval_average_increase(Y, O, no);
        for (int st = 0; st <= r->steps_used && s->n; st++) {
            r->mean_del[(size_t)mi * (r->steps_used + 1) + st] /= s->n;
            r->mean_ins[(size_t)mi * (r->steps_used + 1) + st] /= s->n;
        }
    }
    free(Y);
    free(O);
    return rc;
}

static void print_table(const eval_run *r, double elapsed)
{
    const eval_args *a = r->a;
    printf("gradcam eval: %s, %d image%s, %d (image, class) pair%s%s\n\n", cli_esc(a->model), r->n_images_used,
           r->n_images_used == 1 ? "" : "s", r->n_pairs, r->n_pairs == 1 ? "" : "s",
           a->boxes ? "" : " (target: top-1 class)");
    printf("| method |");
    if (a->boxes) printf(" pointing game ↑ | energy pointing ↑ | loc. error ↓ |");
    if (a->faith) printf(" deletion AUC ↓ | insertion AUC ↑ | avg drop %% ↓ | avg increase %% ↑ |");
    printf("\n|---|");
    if (a->boxes) printf("---:|---:|---:|");
    if (a->faith) printf("---:|---:|---:|---:|");
    printf("\n");
    for (int mi = 0; mi < a->n_methods; mi++) {
        const summary *s = &r->sum[mi];
        printf("| %s |", a->method_names[mi]);
        if (a->boxes)
            printf(" %.3f (%d/%d) | %.3f | %.3f |", (double)s->hits / s->n, s->hits, s->n, s->energy,
                   1 - (double)s->loc_ok / s->n);
        if (a->faith) printf(" %.4f | %.4f | %.2f | %.2f |", s->del, s->ins, s->drop, s->incr);
        printf("\n");
    }
    if (a->boxes) {
        printf("| centre point (baseline) | %.3f (%d/%d) | – | – |", (double)r->centre_hits / r->n_pairs, r->centre_hits,
               r->n_pairs);
        if (a->faith) printf(" – | – | – | – |");
        printf("\n");
    }
    if (a->boxes || a->faith) printf("\n");
    if (a->boxes)
        printf("localisation: threshold %.2f of the map's max, largest 8-connected region, IoU >= %.2f; pointing tolerance %g px\n",
               a->thr, a->iou_min, a->tol);
    if (a->faith) {
        char bl[64];
        if (a->use_blur) snprintf(bl, sizeof bl, "Gaussian blur, sigma %g px", a->sigma);
        else snprintf(bl, sizeof bl, "constant %g", a->constant);
        printf("faithfulness: %d steps, baseline %s, score %s\n", r->steps_used, bl, a->score);
    }
    if (!a->quiet)
        fprintf(stderr, "gradcam: %d maps and %lld scoring passes in %.1f s\n", r->n_items, (long long)r->n_forward,
                elapsed / 1000);
}

static void json_curve(FILE *f, const char *key, const double *v, int n)
{
    fprintf(f, ", \"%s\": [", key);
    for (int st = 0; st < n; st++) {
        if (st) fputs(", ", f);
        json_num(f, v[st]);
    }
    fputs("]", f);
}

static void json_methods(FILE *f, const eval_run *r)
{
    const eval_args *a = r->a;
    fprintf(f, "}, \"methods\": [");
    for (int mi = 0; mi < a->n_methods; mi++) {
        const summary *s = &r->sum[mi];
        fprintf(f, "%s\n  {\"method\": \"%s\", \"n\": %d", mi ? "," : "", a->method_names[mi], s->n);
        if (a->boxes) {
            fprintf(f, ", \"pointing_game\": ");
            json_num(f, (double)s->hits / s->n);
            fprintf(f, ", \"pointing_hits\": %d, \"energy_pointing\": ", s->hits);
            json_num(f, s->energy);
            fprintf(f, ", \"localisation_error\": ");
            json_num(f, 1 - (double)s->loc_ok / s->n);
        }
        if (a->faith) {
            fprintf(f, ", \"deletion_auc\": ");
            json_num(f, s->del);
            fprintf(f, ", \"insertion_auc\": ");
            json_num(f, s->ins);
            fprintf(f, ", \"average_drop\": ");
            json_num(f, s->drop);
            fprintf(f, ", \"average_increase\": ");
            json_num(f, s->incr);
            json_curve(f, "deletion_curve", r->mean_del + (size_t)mi * (r->steps_used + 1), r->steps_used + 1);
            json_curve(f, "insertion_curve", r->mean_ins + (size_t)mi * (r->steps_used + 1), r->steps_used + 1);
        }
        fputs("}", f);
    }
    fprintf(f, "]");
}

static void json_item(FILE *f, const eval_run *r, const item *it)
{
    const eval_args *a = r->a;
    fprintf(f, "{\"image\": ");
    cli_json_str(f, r->imgs.v[it->image]);
    fprintf(f, ", \"method\": \"%s\", \"class\": %lld, \"label\": ", a->method_names[it->method], (long long)it->cls);
    cli_json_str(f, it->cls < r->n_labels ? r->labels[it->cls] : "");
    if (a->boxes) {
        fprintf(f, ", \"hit\": %s, \"centre_hit\": %s, \"argmax\": [", it->hit ? "true" : "false",
                it->centre_hit ? "true" : "false");
        json_num(f, it->argmax_x);
        fputs(", ", f);
        json_num(f, it->argmax_y);
        fprintf(f, "], \"energy\": ");
        json_num(f, it->energy);
        if (it->pred_pixels)
            fprintf(f, ", \"cam_box\": [%.6g, %.6g, %.6g, %.6g]", it->pred.x0, it->pred.y0, it->pred.x1, it->pred.y1);
        else fprintf(f, ", \"cam_box\": null");
        fprintf(f, ", \"cam_box_pixels\": %lld, \"iou\": ", (long long)it->pred_pixels);
        json_num(f, it->iou);
        fprintf(f, ", \"localised\": %s", it->loc_ok ? "true" : "false");
    }
    if (a->faith) {
        fprintf(f, ", \"deletion_auc\": ");
        json_num(f, it->deletion);
        fprintf(f, ", \"insertion_auc\": ");
        json_num(f, it->insertion);
        fprintf(f, ", \"score\": ");
        json_num(f, it->y_full);
        fprintf(f, ", \"score_masked\": ");
        json_num(f, it->y_masked);
    }
    fputs("}", f);
}

static void json_report(FILE *f, const eval_run *r)
{
    const eval_args *a = r->a;
    fprintf(f, "{\"model\": ");
    cli_json_str(f, a->model);
    fprintf(f, ", \"images\": %d, \"pairs\": %d, \"target\": \"%s\", \"settings\": {", r->n_images_used, r->n_pairs,
            a->boxes ? "boxes" : "top1");
    fprintf(f, "\"threshold\": %g, \"iou\": %g, \"tolerance\": %g", a->thr, a->iou_min, a->tol);
    if (a->faith)
        fprintf(f, ", \"steps\": %d, \"baseline\": \"%s\", \"sigma\": %g, \"constant\": %g, \"score\": \"%s\"",
                r->steps_used, a->use_blur ? "blur" : "constant", a->use_blur ? a->sigma : 0,
                a->use_blur ? 0 : a->constant, a->score);
    json_methods(f, r);
    if (a->boxes)
        fprintf(f, ", \"centre_baseline\": {\"pointing_game\": %.6g, \"pointing_hits\": %d}",
                (double)r->centre_hits / r->n_pairs, r->centre_hits);
    if (a->faith) json_curve(f, "curve_fraction", r->frac, r->steps_used + 1);
    fprintf(f, ", \"items\": [");
    for (int k = 0; k < r->n_items; k++) {
        fputs(k ? ",\n  " : "\n  ", f);
        json_item(f, r, &r->items[k]);
    }
    fprintf(f, "]}\n");
}

/* --json FILE (written whole, atomically, once complete) or --json - */
static int write_json(const eval_run *r)
{
    if (!strcmp(r->a->json, "-")) return json_report(stdout, r), 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return cli_fail("out of memory");
    json_report(f, r);
    return write_file(r->a->json, f, &text, &len);
}

static void free_run(eval_run *r)
{
    free(r->items);
    free(r->mean_del);
    free(r->mean_ins);
    free(r->frac);
    free(r->curve);
    gcam_boxes_free(&r->boxes);
    cli_free_labels(r->labels, r->n_labels);
    eval_results_free(&r->results);
    cli_free_model(r->m);
    strlist_free(&r->imgs);
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse_args(argc, argv, &a);
    if (!rc) rc = check_args(&a);
    if (rc) return rc < 0 ? 0 : rc;
    eval_run r = {.a = &a};
    /* everything that can fail before the long run fails here */
    if (list_images(a.images, &r.imgs) || check_unique_names(&r)) return strlist_free(&r.imgs), 1;
    if (!(r.m = cli_load_model(a.model, (int)a.threads))) return strlist_free(&r.imgs), 1;
    rc = setup(&r);
    r.pg.on = !a.quiet && isatty(fileno(stderr));
    count_units(&r);
    double t0 = cli_now_ms();
    for (int i = 0; i < r.imgs.n && !rc; i++) rc = eval_one_image(&r, i);
    progress_end(&r.pg);
    double elapsed = cli_now_ms() - t0;
    if (!rc && !r.n_pairs) rc = cli_fail("nothing to evaluate: no (image, class) pair");
    if (!rc) rc = summarise(&r);
    if (!rc) print_table(&r, elapsed);
    if (!rc && a.json) rc = write_json(&r);
    free_run(&r);
    return rc;
}
