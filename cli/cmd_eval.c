/* cmd_eval.c - `gradcam eval`: how good are the maps?
 *
 * Localisation (needs --boxes): pointing game, energy-based pointing game and
 * the Grad-CAM paper's localisation error, with a centre-point baseline.
 * --faithfulness: deletion / insertion AUC (RISE) and Average Drop / Increase
 * (Grad-CAM++).  The measures live in src/eval/; their exact definitions are in
 * docs/eval.md.  This file only walks images x classes x methods, maps boxes
 * into the model input's coordinates and prints the table / writes the JSON. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "eval_results.h"
#include "gcam_eval.h"
#include "input.h"

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
    free(text);
    if (!rc && !out->n) rc = cli_fail("--images %s: the list names no images", arg);
    return rc;
}

static int score_kind_of(const char *s) { return gcam_score_kind_parse(s); }

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

int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *images_arg = NULL, *boxes_file = NULL, *methods_arg = "gradcam";
    const char *json_file = NULL, *labels_file = NULL, *baseline_arg = "blur", *score_arg = NULL, *results_file = NULL;
    const char *layers[GCAM_MAX_LAYERS];
    int n_layers = 0, faith = 0, quiet = 0;
    long steps = 100, threads = 0;
    double sigma = 5, thr = 0.15, iou_min = 0.5, tol = 0, constant = 0;
    cli_input_opts io;
    cli_input_defaults(&io);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int used = cli_input_option(&io, argc, argv, &i);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(a, "--model")) { if (!(model = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--images")) { if (!(images_arg = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--boxes")) { if (!(boxes_file = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--method")) { if (!(methods_arg = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--json")) { if (!(json_file = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--labels")) { if (!(labels_file = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--results")) { if (!(results_file = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--baseline")) { if (!(baseline_arg = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--score")) { if (!(score_arg = cli_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--layer")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (n_layers == GCAM_MAX_LAYERS) return cli_usage(USAGE, "at most %d --layer", GCAM_MAX_LAYERS);
            layers[n_layers++] = v;
        } else if (!strcmp(a, "--faithfulness")) faith = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--steps") || !strcmp(a, "--threads")) {
            long *dst = a[2] == 's' ? &steps : &threads;
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (cli_parse_range(a, v, 1, dst == &threads ? CLI_MAX_THREADS : 1L << 30, dst)) return 2;
        } else if (!strcmp(a, "--sigma") || !strcmp(a, "--threshold") || !strcmp(a, "--iou") ||
                   !strcmp(a, "--tolerance")) {
            double *dst = a[2] == 's' ? &sigma : a[2] == 'i' ? &iou_min : a[3] == 'h' ? &thr : &tol;
            if (!(v = cli_value(argc, argv, &i))) return 2;
            int bad = cli_parse_float(v, dst) || !isfinite(*dst) || *dst < 0;
            if (!bad && (dst == &thr || dst == &iou_min)) bad = *dst > 1;
            if (!bad && dst == &sigma) bad = *dst == 0;
            if (bad) return cli_usage(USAGE, "bad %s '%s'", a, v);
        } else if (!strcmp(a, "--help")) { printf("usage: %s\n%s%s", USAGE, HELP, CLI_INPUT_HELP); return 0; }
        else return cli_usage(USAGE, "unknown option '%s'", a);
    }
    if (io.image || io.tensor) return cli_usage(USAGE, "eval takes --images DIR|LIST, not --image/--input-tensor");
    if (!images_arg) return cli_usage(USAGE, "give --images DIR|LIST|IMG");
    if (!boxes_file && !faith)
        return cli_usage(USAGE, "give --boxes boxes.csv (localisation) and/or --faithfulness");
    int use_blur = 1;
    if (!strcmp(baseline_arg, "blur")) use_blur = 1;
    else if (!strcmp(baseline_arg, "constant")) use_blur = 0;
    else if (!strncmp(baseline_arg, "constant:", 9)) {
        use_blur = 0;
        if (cli_parse_float(baseline_arg + 9, &constant) || !isfinite(constant))
            return cli_usage(USAGE, "bad --baseline '%s' (constant:V)", baseline_arg);
    } else return cli_usage(USAGE, "bad --baseline '%s' (blur, constant, constant:V)", baseline_arg);
    if (score_arg && score_kind_of(score_arg) < 0)
        return cli_usage(USAGE, "bad --score '%s' (softmax, sigmoid, logit)", score_arg);

    /* methods */
    int method_ids[MAX_METHODS], n_methods = 0;
    const char *method_names[MAX_METHODS];
    char methods_buf[1024];
    snprintf(methods_buf, sizeof methods_buf, "%s", methods_arg);
    char *save = NULL;
    for (char *tok = strtok_r(methods_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        int method = gcam_method_parse(tok);
        if (method < 0) {
            char avail[1024] = "";
            for (int k = 0; gcam_method_name(k); k++)
                snprintf(avail + strlen(avail), sizeof avail - strlen(avail), "%s%s", k ? ", " : "", gcam_method_name(k));
            return cli_usage(USAGE, "unknown --method '%s' (available: %s)", tok, avail);
        }
        if (n_methods == MAX_METHODS) return cli_usage(USAGE, "at most %d methods", MAX_METHODS);
        method_ids[n_methods] = method;
        method_names[n_methods++] = gcam_method_name(method);
    }
    if (!n_methods) return cli_usage(USAGE, "--method names no method");
    if (!model) model = cli_default_model();
    if (json_file && strcmp(json_file, "-") && cli_check_output("--json", json_file)) return 1;

    /* everything that can fail before the long run fails here */
    strlist imgs = {0};
    if (list_images(images_arg, &imgs)) return 1;
    for (int i = 0; i < imgs.n; i++)
        for (int j = i + 1; j < imgs.n && boxes_file; j++)
            if (!strcmp(cli_basename(imgs.v[i]), cli_basename(imgs.v[j]))) {
                int r = cli_fail("--images: %s and %s share a file name; boxes.csv names images by file name",
                                 imgs.v[i], imgs.v[j]);
                strlist_free(&imgs);
                return r;
            }
    gcam_model *m = cli_load_model(model, (int)threads);
    if (!m) { strlist_free(&imgs); return 1; }
    char **labels = NULL;
    int n_labels = cli_load_labels(labels_file, m, &labels);
    int rc = n_labels < 0;
    if (rc) n_labels = 0;
    /* the score: --score, else the model's "gradcam.output" metadata, else softmax */
    const char *score_meta = gcam_model_metadata(m, "gradcam.output");
    if (!rc && !score_arg && score_meta && score_kind_of(score_meta) < 0)
        rc = cli_fail("the model's gradcam.output metadata '%s' is not softmax, sigmoid or logit", score_meta);
    if (!score_arg) score_arg = score_meta && !rc ? score_meta : "softmax";
    int score_kind = score_kind_of(score_arg);
    gcam_boxes boxes = {0};
    gcam_error err = {0};
    if (!rc && boxes_file && gcam_boxes_load(boxes_file, (const char *const *)labels, n_labels, -1, &boxes, &err))
        rc = cli_fail("%s", err.msg);
    if (!rc && boxes_file) { /* which images have boxes, which boxes have images */
        int unmatched = 0, without = 0;
        for (int b = 0; b < boxes.n; b++) {
            int found = 0;
            for (int i = 0; i < imgs.n && !found; i++)
                found = !strcmp(cli_basename(boxes.v[b].image), cli_basename(imgs.v[i]));
            unmatched += !found;
        }
        for (int i = 0; i < imgs.n; i++) {
            int found = 0;
            for (int b = 0; b < boxes.n && !found; b++)
                found = !strcmp(cli_basename(boxes.v[b].image), cli_basename(imgs.v[i]));
            without += !found;
        }
        if (without == imgs.n) rc = cli_fail("no image of --images %s has a box in %s", images_arg, boxes_file);
        else if (!quiet && (unmatched || without))
            fprintf(stderr, "gradcam: note: %d image(s) without boxes skipped; %d box row(s) name images not in --images\n",
                    without, unmatched);
        /* every box inside its image, before the long run starts */
        for (int i = 0; i < imgs.n && !rc; i++) {
            const char *base = cli_basename(imgs.v[i]);
            int any = 0;
            for (int b = 0; b < boxes.n && !any; b++) any = !strcmp(cli_basename(boxes.v[b].image), base);
            if (!any) continue;
            gcam_photo *photo = NULL;
            gcam_array x = {0};
            if (gcam_photo_load(m, imgs.v[i], &io.pp, &photo, &x)) { rc = cli_fail("%s", gcam_model_errmsg(m)); break; }
            int img_w, img_h;
            gcam_photo_size(photo, &img_w, &img_h);
            for (int b = 0; b < boxes.n && !rc; b++)
                if (!strcmp(cli_basename(boxes.v[b].image), base) &&
                    gcam_boxes_check(&boxes.v[b], boxes_file, img_w, img_h, &err))
                    rc = cli_fail("%s", err.msg);
            gcam_array_free(&x);
            gcam_photo_free(photo);
        }
    }

    eval_results results = {0};
    if (!rc && results_file) rc = eval_results_load(results_file, &results);
    gcam_explain_opts eo;
    gcam_explain_opts_default(&eo);
    eo.layers = n_layers ? layers : NULL;
    eo.n_layers = n_layers;

    item *items = NULL;
    int n_items = 0, cap_items = 0, n_pairs = 0, n_images_used = 0;
    double *mean_del = NULL, *mean_ins = NULL, *frac = NULL, *curve = NULL;
    int steps_used = 0;
    progress pg = {.on = !quiet && isatty(fileno(stderr))};
    /* progress total: one unit per (image, class, method); classes counted from the CSV */
    for (int i = 0; i < imgs.n; i++) {
        if (!boxes_file) { pg.total += n_methods; continue; }
        int64_t seen[256];
        int ns = 0;
        for (int b = 0; b < boxes.n; b++) {
            if (strcmp(cli_basename(boxes.v[b].image), cli_basename(imgs.v[i]))) continue;
            int dup = 0;
            for (int k = 0; k < ns; k++) dup |= seen[k] == boxes.v[b].cls;
            if (!dup && ns < 256) seen[ns++] = boxes.v[b].cls;
        }
        pg.total += (long)ns * n_methods;
    }
    int64_t n_forward = 0;
    double t0 = cli_now_ms();
    char what[128] = ""; /* the progress bar's caption */

    for (int ii = 0; ii < imgs.n && !rc; ii++) {
        const char *path = imgs.v[ii], *base = cli_basename(path);
        /* the classes of this image and their boxes */
        class_boxes cb[32];
        int ncb = 0;
        for (int b = 0; b < boxes.n && !rc; b++) {
            gcam_box_rec *r = &boxes.v[b];
            if (strcmp(cli_basename(r->image), base)) continue;
            int k = 0;
            while (k < ncb && cb[k].cls != r->cls) k++;
            if (k == ncb) {
                if (ncb == 32) { rc = cli_fail("%s:%d: more than 32 classes in one image", boxes_file, r->line); break; }
                cb[ncb].cls = r->cls;
                cb[ncb++].n = 0;
            }
            if (cb[k].n == 64) { rc = cli_fail("%s:%d: more than 64 boxes of one class in one image", boxes_file, r->line); break; }
            cb[k].boxes_img[cb[k].n++] = r->box;
        }
        if (rc || (boxes_file && !ncb)) continue;

        gcam_photo *photo = NULL;
        gcam_array x = {0};
        /* the metrics perturb C x H x W planes */
        if (gcam_model_input_layout(m, gcam_model_image_input(m)) == GCAM_LAYOUT_NHWC) {
            rc = cli_fail("eval: channels-last (NHWC) inputs are not supported yet; explain supports them");
            break;
        }
        if (gcam_photo_load(m, path, &io.pp, &photo, &x)) { rc = cli_fail("%s", gcam_model_errmsg(m)); break; }
        int img_w, img_h;
        double rx, ry, rw, rh;
        gcam_photo_size(photo, &img_w, &img_h);
        gcam_photo_rect(photo, &rx, &ry, &rw, &rh);
        int C = (int)x.dims[1], H = (int)x.dims[2], W = (int)x.dims[3];
        int64_t HW = (int64_t)H * W;
        float *base_t = NULL, *work = NULL, *tmp = NULL;
        int64_t *order = NULL;
        scorer sc = {.m = m, .kind = score_kind};
        memcpy(sc.dims, x.dims, sizeof sc.dims);
        if (!rc) {
            /* the model's own outputs on the image: classes in range, top-1 when no boxes */
            gcam_array y;
            if (gcam_model_run(m, NULL, &x, 1) || gcam_model_tensor(m, gcam_model_output_name(m, 0), &y))
                rc = cli_fail("%s: %s", path, gcam_model_errmsg(m));
            else if (y.dtype != GCAM_FLOAT32 || y.ndim < 1)
                rc = cli_fail("the model's first output is not a float tensor of class scores");
            else {
                int64_t nc = y.dims[y.ndim - 1];
                const float *z = y.data;
                if (!boxes_file) {
                    int64_t t = 0;
                    gcam_topk(z, nc, 1, &t);
                    cb[0].cls = t;
                    cb[0].n = 0;
                    ncb = 1;
                }
                for (int b = 0; b < boxes.n && !rc; b++)
                    if (boxes.v[b].cls >= nc)
                        rc = cli_fail("%s:%d: class %lld is out of range: the model has %lld outputs", boxes_file,
                                      boxes.v[b].line, (long long)boxes.v[b].cls, (long long)nc);
            }
            n_forward++;
        }
        if (!rc && faith) {
            base_t = malloc(sizeof(float) * (size_t)(C * HW));
            work = malloc(sizeof(float) * (size_t)(C * HW));
            tmp = malloc(sizeof(float) * (size_t)HW);
            order = malloc(sizeof(int64_t) * (size_t)HW);
            if (!steps_used) {
                steps_used = steps > HW ? (int)HW : (int)steps;
                mean_del = calloc((size_t)n_methods * (steps_used + 1), sizeof(double));
                mean_ins = calloc((size_t)n_methods * (steps_used + 1), sizeof(double));
                frac = calloc((size_t)steps_used + 1, sizeof(double));
                curve = calloc((size_t)steps_used + 1, sizeof(double));
            }
            if (!base_t || !work || !tmp || !order || !mean_del || !mean_ins || !frac || !curve)
                rc = cli_fail("out of memory");
            else if (use_blur) gcam_eval_blur(x.data, C, H, W, sigma, base_t, tmp);
            else for (int64_t p = 0; p < C * HW; p++) base_t[p] = (float)constant;
        }
        if (!rc) n_images_used++;
        for (int k = 0; k < ncb && !rc; k++) {
            /* boxes into model-input pixels: u = (x - rect.x) * W / rect.w, clipped to the input */
            class_boxes *c = &cb[k];
            int nm = 0;
            for (int b = 0; b < c->n; b++) {
                if (gcam_eval_box_to_input(&c->boxes_img[b], rx, ry, rw, rh, W, H, &c->boxes_map[nm])) nm++;
            }
            if (boxes_file && !nm) {
                if (!quiet)
                    fprintf(stderr, "gradcam: note: %s: every box of class %lld lies outside the model's crop; skipped\n",
                            cli_esc(base), (long long)c->cls);
                pg.total -= n_methods;
                continue;
            }
            n_pairs++;
            int centre_hit = gcam_eval_point_in_boxes(img_w / 2.0, img_h / 2.0, c->boxes_img, c->n, 0);
            double y_full = NAN;
            sc.cls = c->cls;
            if (faith && score_input(&sc, x.data, &y_full)) rc = cli_fail("%s: %s", path, gcam_model_errmsg(m));
            for (int mi = 0; mi < n_methods && !rc; mi++) {
                snprintf(what, sizeof what, "%s %s", method_names[mi], base);
                progress_show(&pg, what, 0);
                sc.pg = &pg;
                sc.what = what;
                sc.calls = 0;
                sc.expected = faith ? 2L * (steps_used + 1) + 1 : 0;
                eo.method = method_ids[mi];
                eo.progress = pg.on ? explain_progress : NULL;
                eo.progress_user = &sc;
                eo.target_class = c->cls;
                gcam_explanation *ex = NULL;
                gcam_array loaded = {0}; /* --results: the batch run's map */
                int mh, mw;
                const float *map;
                if (results_file) {
                    if ((rc = eval_results_map(&results, m, base, c->cls, method_names[mi], &loaded))) break;
                    map = loaded.data;
                    mh = (int)loaded.dims[0];
                    mw = (int)loaded.dims[1];
                } else {
                    if (gcam_explain(m, &x, &eo, &ex)) { rc = cli_fail("%s: %s", path, gcam_model_errmsg(m)); break; }
                    map = gcam_explanation_map(ex, &mh, &mw);
                }
                if (ex && gcam_explanation_channels(ex) != 1) {
                    rc = cli_fail("--method %s gives a %d-channel map; eval measures one-channel maps",
                                  method_names[mi], gcam_explanation_channels(ex));
                    gcam_explanation_free(ex);
                    gcam_array_free(&loaded);
                    break;
                }
                if (mh != H || mw != W) {
                    rc = cli_fail("%s: the map is %dx%d, the input %dx%d", path, mh, mw, H, W);
                    gcam_explanation_free(ex);
                    gcam_array_free(&loaded);
                    break;
                }
                if (n_items == cap_items) {
                    int nc = cap_items ? cap_items * 2 : 64;
                    item *nv = realloc(items, sizeof *nv * (size_t)nc);
                    if (!nv) { rc = cli_fail("out of memory"); gcam_explanation_free(ex);
                    gcam_array_free(&loaded); break; }
                    items = nv;
                    cap_items = nc;
                }
                item *it = &items[n_items++];
                memset(it, 0, sizeof *it);
                it->image = ii;
                it->method = mi;
                it->cls = c->cls;
                it->deletion = it->insertion = it->y_full = it->y_masked = NAN;
                it->energy = it->iou = it->argmax_x = it->argmax_y = NAN;
                it->hit = it->centre_hit = it->loc_ok = -1;
                if (boxes_file) {
                    int64_t arg;
                    it->hit = gcam_eval_pointing(map, H, W, c->boxes_map, nm, tol, &arg);
                    it->centre_hit = centre_hit;
                    it->argmax_x = rx + ((double)(arg % W) + 0.5) * rw / W;
                    it->argmax_y = ry + ((double)(arg / W) + 0.5) * rh / H;
                    it->energy = gcam_eval_energy(map, H, W, c->boxes_map, nm);
                    gcam_box pb;
                    int64_t np = gcam_eval_cam_box(map, H, W, thr, &pb);
                    if (np < 0) { rc = cli_fail("out of memory"); gcam_explanation_free(ex);
                    gcam_array_free(&loaded); break; }
                    it->pred_pixels = np;
                    it->iou = np ? gcam_eval_best_iou(&pb, c->boxes_map, nm) : 0;
                    it->loc_ok = np && it->iou >= iou_min;
                    it->pred = gcam_eval_box_to_image(&pb, rx, ry, rw, rh, W, H);
                }
                if (faith) {
                    it->y_full = y_full;
                    int frc = gcam_eval_rank(map, HW, order);
                    double *md = mean_del + (size_t)mi * (steps_used + 1), *mn = mean_ins + (size_t)mi * (steps_used + 1);
                    for (int ins = 0; ins < 2 && !frc; ins++) {
                        frc = gcam_eval_curve(x.data, base_t, C, H, W, order, steps_used, ins, score_input, &sc, work,
                                              curve, frac);
                        if (frc) break;
                        double auc = gcam_eval_auc(frac, curve, steps_used + 1);
                        *(ins ? &it->insertion : &it->deletion) = auc;
                        for (int s = 0; s <= steps_used; s++) (ins ? mn : md)[s] += curve[s];
                    }
                    if (!frc) {
                        gcam_eval_mask_input(x.data, map, C, H, W, work);
                        frc = score_input(&sc, work, &it->y_masked);
                    }
                    if (frc) {
                        rc = cli_fail("%s: %s", path, frc == GCAM_E_NOMEM ? "out of memory" : gcam_model_errmsg(m));
                        gcam_explanation_free(ex);
                    gcam_array_free(&loaded);
                        break;
                    }
                }
                gcam_explanation_free(ex);
                    gcam_array_free(&loaded);
                pg.done++;
            }
        }
        n_forward += sc.n_forward;
        free(base_t);
        free(work);
        free(tmp);
        free(order);
        gcam_array_free(&x);
        gcam_photo_free(photo);
    }
    progress_end(&pg);
    double elapsed = cli_now_ms() - t0;
    if (!rc && !n_pairs) rc = cli_fail("nothing to evaluate: no (image, class) pair");

    /* per-method summaries */
    typedef struct {
        int n, hits, loc_ok;
        double energy, del, ins, drop, incr;
    } summary;
    summary sum[MAX_METHODS];
    int centre_hits = 0;
    memset(sum, 0, sizeof sum);
    if (!rc) {
        double *Y = malloc(sizeof(double) * (size_t)(n_items + 1)), *O = malloc(sizeof(double) * (size_t)(n_items + 1));
        if (!Y || !O) rc = cli_fail("out of memory");
        for (int mi = 0; mi < n_methods && !rc; mi++) {
            summary *s = &sum[mi];
            int no = 0;
            for (int k = 0; k < n_items; k++) {
                item *it = &items[k];
                if (it->method != mi) continue;
                s->n++;
                if (boxes_file) {
                    s->hits += it->hit;
                    s->loc_ok += it->loc_ok;
                    s->energy += it->energy;
                    if (mi == 0) centre_hits += it->centre_hit;
                }
                if (faith) {
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
            if (faith) {
                s->drop = gcam_eval_average_drop(Y, O, no);
                s->incr = gcam_eval_average_increase(Y, O, no);
                for (int st = 0; st <= steps_used && s->n; st++) {
                    mean_del[(size_t)mi * (steps_used + 1) + st] /= s->n;
                    mean_ins[(size_t)mi * (steps_used + 1) + st] /= s->n;
                }
            }
        }
        free(Y);
        free(O);
    }

    if (!rc) {
        printf("gradcam eval: %s, %d image%s, %d (image, class) pair%s%s\n\n", cli_esc(model), n_images_used,
               n_images_used == 1 ? "" : "s", n_pairs, n_pairs == 1 ? "" : "s",
               boxes_file ? "" : " (target: top-1 class)");
        printf("| method |");
        if (boxes_file) printf(" pointing game ↑ | energy pointing ↑ | loc. error ↓ |");
        if (faith) printf(" deletion AUC ↓ | insertion AUC ↑ | avg drop %% ↓ | avg increase %% ↑ |");
        printf("\n|---|");
        if (boxes_file) printf("---:|---:|---:|");
        if (faith) printf("---:|---:|---:|---:|");
        printf("\n");
        for (int mi = 0; mi < n_methods; mi++) {
            summary *s = &sum[mi];
            printf("| %s |", method_names[mi]);
            if (boxes_file)
                printf(" %.3f (%d/%d) | %.3f | %.3f |", (double)s->hits / s->n, s->hits, s->n, s->energy,
                       1 - (double)s->loc_ok / s->n);
            if (faith) printf(" %.4f | %.4f | %.2f | %.2f |", s->del, s->ins, s->drop, s->incr);
            printf("\n");
        }
        if (boxes_file) {
            printf("| centre point (baseline) | %.3f (%d/%d) | – | – |", (double)centre_hits / n_pairs, centre_hits,
                   n_pairs);
            if (faith) printf(" – | – | – | – |");
            printf("\n");
        }
        if (boxes_file || faith) printf("\n");
        if (boxes_file)
            printf("localisation: threshold %.2f of the map's max, largest 8-connected region, IoU >= %.2f; pointing tolerance %g px\n",
                   thr, iou_min, tol);
        if (faith) {
            char bl[64];
            if (use_blur) snprintf(bl, sizeof bl, "Gaussian blur, sigma %g px", sigma);
            else snprintf(bl, sizeof bl, "constant %g", constant);
            printf("faithfulness: %d steps, baseline %s, score %s\n", steps_used, bl, score_arg);
        }
        if (!quiet)
            fprintf(stderr, "gradcam: %d maps and %lld scoring passes in %.1f s\n", n_items, (long long)n_forward,
                    elapsed / 1000);
    }

    if (!rc && json_file) {
        /* written whole (gcam_file_write_atomic) once complete */
        char *text = NULL;
        size_t text_len = 0;
        FILE *f = stdout;
        if (strcmp(json_file, "-") && !(f = open_memstream(&text, &text_len))) rc = cli_fail("out of memory");
        if (f) {
            fprintf(f, "{\"model\": ");
            cli_json_str(f, model);
            fprintf(f, ", \"images\": %d, \"pairs\": %d, \"target\": \"%s\", \"settings\": {", n_images_used, n_pairs,
                    boxes_file ? "boxes" : "top1");
            fprintf(f, "\"threshold\": %g, \"iou\": %g, \"tolerance\": %g", thr, iou_min, tol);
            if (faith)
                fprintf(f, ", \"steps\": %d, \"baseline\": \"%s\", \"sigma\": %g, \"constant\": %g, \"score\": \"%s\"",
                        steps_used, use_blur ? "blur" : "constant", use_blur ? sigma : 0, use_blur ? 0 : constant,
                        score_arg);
            fprintf(f, "}, \"methods\": [");
            for (int mi = 0; mi < n_methods; mi++) {
                summary *s = &sum[mi];
                fprintf(f, "%s\n  {\"method\": \"%s\", \"n\": %d", mi ? "," : "", method_names[mi], s->n);
                if (boxes_file) {
                    fprintf(f, ", \"pointing_game\": ");
                    json_num(f, (double)s->hits / s->n);
                    fprintf(f, ", \"pointing_hits\": %d, \"energy_pointing\": ", s->hits);
                    json_num(f, s->energy);
                    fprintf(f, ", \"localisation_error\": ");
                    json_num(f, 1 - (double)s->loc_ok / s->n);
                }
                if (faith) {
                    fprintf(f, ", \"deletion_auc\": ");
                    json_num(f, s->del);
                    fprintf(f, ", \"insertion_auc\": ");
                    json_num(f, s->ins);
                    fprintf(f, ", \"average_drop\": ");
                    json_num(f, s->drop);
                    fprintf(f, ", \"average_increase\": ");
                    json_num(f, s->incr);
                    for (int ins = 0; ins < 2; ins++) {
                        fprintf(f, ", \"%s_curve\": [", ins ? "insertion" : "deletion");
                        const double *cv = (ins ? mean_ins : mean_del) + (size_t)mi * (steps_used + 1);
                        for (int st = 0; st <= steps_used; st++) {
                            if (st) fputs(", ", f);
                            json_num(f, cv[st]);
                        }
                        fputs("]", f);
                    }
                }
                fputs("}", f);
            }
            fprintf(f, "]");
            if (boxes_file) fprintf(f, ", \"centre_baseline\": {\"pointing_game\": %.6g, \"pointing_hits\": %d}",
                                    (double)centre_hits / n_pairs, centre_hits);
            if (faith) {
                fprintf(f, ", \"curve_fraction\": [");
                for (int st = 0; st <= steps_used; st++) {
                    if (st) fputs(", ", f);
                    json_num(f, frac[st]);
                }
                fputs("]", f);
            }
            fprintf(f, ", \"items\": [");
            for (int k = 0; k < n_items; k++) {
                item *it = &items[k];
                fprintf(f, "%s\n  {\"image\": ", k ? "," : "");
                cli_json_str(f, imgs.v[it->image]);
                fprintf(f, ", \"method\": \"%s\", \"class\": %lld, \"label\": ", method_names[it->method],
                        (long long)it->cls);
                cli_json_str(f, it->cls < n_labels ? labels[it->cls] : "");
                if (boxes_file) {
                    fprintf(f, ", \"hit\": %s, \"centre_hit\": %s, \"argmax\": [", it->hit ? "true" : "false",
                            it->centre_hit ? "true" : "false");
                    json_num(f, it->argmax_x);
                    fputs(", ", f);
                    json_num(f, it->argmax_y);
                    fprintf(f, "], \"energy\": ");
                    json_num(f, it->energy);
                    if (it->pred_pixels)
                        fprintf(f, ", \"cam_box\": [%.6g, %.6g, %.6g, %.6g]", it->pred.x0, it->pred.y0, it->pred.x1,
                                it->pred.y1);
                    else fprintf(f, ", \"cam_box\": null");
                    fprintf(f, ", \"cam_box_pixels\": %lld, \"iou\": ", (long long)it->pred_pixels);
                    json_num(f, it->iou);
                    fprintf(f, ", \"localised\": %s", it->loc_ok ? "true" : "false");
                }
                if (faith) {
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
            fprintf(f, "]}\n");
            if (f != stdout) rc = write_file(json_file, f, &text, &text_len);
        }
    }

    free(items);
    free(mean_del);
    free(mean_ins);
    free(frac);
    free(curve);
    gcam_boxes_free(&boxes);
    cli_free_labels(labels, n_labels);
    eval_results_free(&results);
    cli_free_model(m);
    strlist_free(&imgs);
    return rc;
}
