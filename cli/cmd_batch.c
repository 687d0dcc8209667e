/* cmd_batch.c - `gradcam batch`: explain a dataset.  Items come from a folder,
 * a glob or a manifest (batch_items.c, batch_manifest.c); --shard I/N takes
 * every item whose index in the sorted listing is I modulo N; each item's map
 * is written atomically, then its result line (batch_store.c), so --resume
 * skips exactly the items a killed run completed.  Uses only gcam.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "explain_opts.h"
#include "input.h"
#include "opts.h"

static const char *USAGE =
    "gradcam batch --model M.onnx (--images DIR | --glob PATTERN | --manifest FILE.csv|.jsonl) --out OUT\n"
    "              [--method NAME] [--layer NAME]... [--target CLASS|top1|LABEL] [--labels FILE] [--top K]\n"
    "              [--save-npy] [--overlay] [--colormap NAME] [--alpha A] [--eigen-smooth] [--aug-smooth]\n"
    "              [--batch N] [--shard I/N] [--resume] [--threads N] [--quiet] [preprocessing options]\n"
    "gradcam batch --merge OUT";

static const char *HELP =
    "  --images DIR        every .png/.jpg/.jpeg under DIR (recursive), sorted by relative path\n"
    "  --glob PATTERN      the files glob(3) matches (quote it), sorted\n"
    "  --manifest FILE     CSV with a header (image[,target][,label][,x0,y0,x1,y1]) or JSON lines\n"
    "                      ({\"image\": ..., \"target\": ..., \"label\": ..., \"box\": [x0,y0,x1,y1]});\n"
    "                      paths relative to the manifest's folder; target: class index or name,\n"
    "                      else label (a class name), else --target\n"
    "  --out OUT           results.jsonl (results.I-of-N.jsonl with --shard), maps/<image>.npy,\n"
    "                      overlays/<image>.png (<image>.<index>.npy when a manifest lists an image\n"
    "                      more than once); one JSON line per item: index, image, target, label,\n"
    "                      score, top, layer, method, map, overlay, time_ms, error (null or a message)\n"
    "  --save-npy          write each map (float32 H x W at the model input's size)\n"
    "  --overlay           write each map over its photo (PNG), as `explain --out`\n"
    "  --batch N           images per pass (default 1): one forward and one backward pass for all N\n"
    "                      when the model's batch is symbolic and the method a gradient layer CAM or\n"
    "                      eigencam (gcam_explain_batch), else one image at a time\n"
    "  --shard I/N         only the items whose index modulo N is I (0 <= I < N)\n"
    "  --resume            keep the complete result lines of OUT and do only the rest\n"
    "  --merge OUT         check the N shards of OUT (each item exactly once) and write OUT/results.jsonl\n";

typedef struct {
    const char *model, *images, *glob, *manifest, *out, *colormap, *merge;
    cli_explain_opts xo; /* method, layers, target, labels and the method settings, as for explain */
    int save_npy, overlay, resume, quiet, shard, shards, sharded;
    long top, batch, threads;
    double alpha;
    cli_input_opts io;
} batch_opts;

typedef struct {
    const batch_opts *o;
    gcam_model *m;
    char **labels;
    int n_labels, fd;
    gcam_explain_opts eo;
} batch_ctx;

static int parse_shard(const char *v, int *i, int *n)
{
    long a, b;
    char *slash = strchr(v, '/'), buf[64];
    if (!slash || (size_t)(slash - v) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%.*s", (int)(slash - v), v);
    if (cli_parse_int(buf, &a) || cli_parse_int(slash + 1, &b) || b < 1 || b > 4096 || a < 0 || a >= b) return -1;
    *i = (int)a;
    *n = (int)b;
    return 0;
}

static int opt_shard(void *s, const char *name, const char *v, const char *usage)
{
    batch_opts *o = s;
    if (parse_shard(v, &o->shard, &o->shards)) return cli_usage(usage, "bad --shard '%s' (I/N, 0 <= I < N <= 4096)", v);
    o->sharded = 1;
    return 0;
}

#define O_(f) offsetof(batch_opts, f)
/* name, alias, kind, offset, min, max, min_open, hint, fn, arg, help */
static const cli_opt OPTS[] = {
    {"--model", NULL, CLI_STR, O_(model), 0, 0, 0, NULL, NULL, "M.onnx", NULL},
    {"--images", NULL, CLI_STR, O_(images), 0, 0, 0, NULL, NULL, "DIR", NULL},
    {"--glob", NULL, CLI_STR, O_(glob), 0, 0, 0, NULL, NULL, "PATTERN", NULL},
    {"--manifest", NULL, CLI_STR, O_(manifest), 0, 0, 0, NULL, NULL, "FILE", NULL},
    {"--out", NULL, CLI_STR, O_(out), 0, 0, 0, NULL, NULL, "OUT", NULL},
    {"--colormap", NULL, CLI_STR, O_(colormap), 0, 0, 0, NULL, NULL, "NAME", NULL},
    {"--merge", NULL, CLI_STR, O_(merge), 0, 0, 0, NULL, NULL, "OUT", NULL},
    {"--save-npy", NULL, CLI_FLAG, O_(save_npy), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--overlay", NULL, CLI_FLAG, O_(overlay), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--resume", NULL, CLI_FLAG, O_(resume), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--quiet", NULL, CLI_FLAG, O_(quiet), 0, 0, 0, NULL, NULL, NULL, NULL},
    {"--shard", NULL, CLI_FN, 0, 0, 0, 0, NULL, opt_shard, "I/N", NULL},
    {"--alpha", NULL, CLI_DOUBLE, O_(alpha), 0, 1, 0, "0..1", NULL, "A", NULL},
    {"--top", NULL, CLI_LONG, O_(top), 1, 4096, 0, NULL, NULL, "K", NULL},
    {"--batch", NULL, CLI_LONG, O_(batch), 1, 4096, 0, NULL, NULL, "N", NULL},
    {"--threads", NULL, CLI_LONG, O_(threads), 1, 4096, 0, NULL, NULL, "N", NULL},
    CLI_OPT_END,
};

/* 0: parsed; 1: done (--help, --merge); 2: usage error */
static int parse_args(int argc, char **argv, batch_opts *o, int *rc_out)
{
    memset(o, 0, sizeof *o);
    cli_explain_defaults(&o->xo, "gradcam");
    o->top = 5;
    o->batch = 1;
    o->shards = 1;
    o->alpha = 0.5;
    cli_input_defaults(&o->io);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int used = cli_input_option(&o->io, argc, argv, &i);
        if (!used) used = cli_explain_option(&o->xo, argc, argv, &i, USAGE);
        if (!used) used = cli_opt_take(OPTS, o, argc, argv, &i, USAGE);
        if (used < 0) return *rc_out = 2;
        if (used) continue;
        if (!strcmp(a, "--help")) {
            printf("usage: %s\n%s", USAGE, HELP);
            cli_explain_help(stdout, NULL);
            fputs(CLI_INPUT_HELP, stdout);
            return *rc_out = 0, 1;
        }
        return *rc_out = cli_usage(USAGE, "unknown option '%s'", a);
    }
    if (o->merge) return *rc_out = batch_merge(o->merge, o->quiet), 1;
    if (!!o->images + !!o->glob + !!o->manifest != 1) return *rc_out = cli_usage(USAGE, "give one of --images, --glob, --manifest");
    if (!o->out) return *rc_out = cli_usage(USAGE, "--out OUT is required");
    if (o->io.image || o->io.tensor) return *rc_out = cli_usage(USAGE, "--image/--input-tensor: use --images, --glob or --manifest");
    int method_id = gcam_method_parse(o->xo.methods); /* an int: gcam_method may be unsigned */
    if (method_id < 0) return *rc_out = cli_usage(USAGE, "unknown --method '%s'", o->xo.methods);
    o->xo.eo.method = (gcam_method)method_id;
    if (!o->xo.target) o->xo.target = "top1";
    if (!o->model) o->model = cli_default_model();
    return 0;
}

/* ---- one item -------------------------------------------------------------- */

/* class index of a target string (index or label name); -1 = top-1; -2 = unknown (message in err) */
static int64_t resolve_target(const batch_ctx *c, const char *t, char *err, size_t errlen)
{
    long v;
    if (!t || !strcmp(t, "top1")) return -1;
    if (!cli_parse_int(t, &v) && v >= 0) return v;
    for (int k = 0; k < c->n_labels; k++)
        if (!strcmp(c->labels[k], t)) return k;
    snprintf(err, errlen, "target '%s' is not a class index or a class name of this model", t);
    return -2;
}

/* the top classes, scored the way the model's outputs are meant (gcam_score
 * with gcam_model_score_kind, as explain and classify do) */
static void json_top(FILE *f, const batch_ctx *c, const gcam_explanation *ex)
{
    int64_t C, idx[64];
    const float *s = gcam_explanation_output(ex, &C);
    fputs(", \"top\": [", f);
    const int kind = gcam_model_score_kind(c->m);
    int nt = s ? gcam_topk(s, C, (int)(c->o->top < 64 ? c->o->top : 64), idx) : 0;
    for (int k = 0; k < nt; k++) {
        fprintf(f, "%s{\"class\": %lld, \"logit\": %.6g, \"prob\": %.6g, \"label\": ", k ? ", " : "",
                (long long)idx[k], s[idx[k]], gcam_score(s, C, idx[k], kind));
        cli_json_str(f, idx[k] < c->n_labels ? c->labels[idx[k]] : "");
        fputc('}', f);
    }
    fputc(']', f);
}

/* writes the map / overlay under their final names (atomically); sets rel names */
static int write_outputs(batch_ctx *c, const batch_item *it, int64_t index, const gcam_photo *ph,
                         const gcam_explanation *ex, char **map_rel, char **ov_rel, char *err, size_t errlen)
{
    const char *what[2] = {"maps", "overlays"};
    int want[2] = {c->o->save_npy, c->o->overlay && gcam_explanation_channels(ex) == 1};
    char **rel[2] = {map_rel, ov_rel};
    for (int k = 0; k < 2; k++) {
        if (!want[k]) continue;
        char suffix[48];
        if (it->shared) snprintf(suffix, sizeof suffix, ".%lld%s", (long long)index, k ? ".png" : ".npy");
        else snprintf(suffix, sizeof suffix, "%s", k ? ".png" : ".npy");
        if (!(*rel[k] = batch_out_name(what[k], it->key, suffix))) return snprintf(err, errlen, "out of memory"), 1;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", c->o->out, *rel[k]);
        if (batch_mkdirs(path)) return snprintf(err, errlen, "cannot create the folder of '%s'", path), 1;
        int rc;
        if (!k) {
            int h, w, ch = gcam_explanation_channels(ex);
            gcam_array a = {.dtype = GCAM_FLOAT32, .ndim = ch > 1 ? 3 : 2};
            a.data = (void *)gcam_explanation_map(ex, &h, &w);
            int d = 0;
            if (ch > 1) a.dims[d++] = ch;
            a.dims[d++] = h;
            a.dims[d] = w;
            rc = gcam_npy_save(c->m, path, &a); /* atomic: a temporary beside path, renamed */
        } else {
            rc = gcam_save_overlay(c->m, ph, ex, c->o->colormap, (float)c->o->alpha, path);
        }
        if (rc) return snprintf(err, errlen, "%s: %s", path, gcam_model_errmsg(c->m)), 1;
    }
    return 0;
}

typedef struct {
    gcam_photo *photo;
    gcam_array x;
    double decode_ms, explain_ms;
    int64_t target; /* resolved class, -1 = top-1 */
    char err[1024];
} decoded;

/* writes one item's files and appends its line (ex NULL: d->err says why); takes ex.
 * 1 if the item has an error, -1 if the line could not be written */
static int finish_item(batch_ctx *c, const batch_item *it, int64_t index, decoded *d, gcam_explanation *ex)
{
    char *line = NULL, *map_rel = NULL, *ov_rel = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    gcam_explain_opts eo = c->eo;
    double t1 = cli_now_ms(), t0 = t1 - d->explain_ms;
    if (ex && !d->err[0]) write_outputs(c, it, index, d->photo, ex, &map_rel, &ov_rel, d->err, sizeof d->err);
    double t2 = cli_now_ms();
    int ok = ex && !d->err[0];
    fprintf(f, "{\"index\": %lld, \"image\": ", (long long)index);
    cli_json_str(f, it->key);
    if (ok) {
        int64_t t = gcam_explanation_target(ex);
        fprintf(f, ", \"target\": %lld, \"label\": ", (long long)t);
        if (t >= 0 && t < c->n_labels) cli_json_str(f, c->labels[t]);
        else fputs("null", f);
        fprintf(f, ", \"score\": %.6g", gcam_explanation_score(ex));
        json_top(f, c, ex);
        fputs(", \"layer\": ", f);
        if (gcam_explanation_num_layers(ex)) cli_json_str(f, gcam_explanation_layer(ex, 0));
        else fputs("null", f);
    } else {
        fputs(", \"target\": null, \"label\": null, \"score\": null, \"top\": [], \"layer\": null", f);
    }
    fprintf(f, ", \"method\": \"%s\", \"map\": ", gcam_method_name(eo.method));
    if (map_rel && ok) cli_json_str(f, map_rel); else fputs("null", f);
    fputs(", \"overlay\": ", f);
    if (ov_rel && ok) cli_json_str(f, ov_rel); else fputs("null", f);
    if (it->has_box) fprintf(f, ", \"box\": [%g, %g, %g, %g]", it->box[0], it->box[1], it->box[2], it->box[3]);
    fprintf(f, ", \"time_ms\": {\"decode\": %.3f, \"explain\": %.3f, \"write\": %.3f}, \"error\": ", d->decode_ms,
            t1 - t0, t2 - t1);
    if (ok) fputs("null", f); else cli_json_str(f, d->err);
    fputs("}\n", f);
    fclose(f);
    int fatal = batch_append_line(c->fd, line, len) ? cli_fail("cannot append to the results: %s", strerror(errno)) : 0;
    free(line);
    free(map_rel);
    free(ov_rel);
    gcam_explanation_free(ex);
    return fatal ? -1 : !ok;
}

/* ---- the run ------------------------------------------------------------------- */

typedef struct {
    int on, tty;
    double start, last;
    int64_t total;
} progress;

static void progress_show(progress *p, int64_t done, int64_t errors, int final)
{
    if (!p->on) return;
    double t = cli_now_ms();
    if (!final && t - p->last < (p->tty ? 200 : 10000)) return;
    p->last = t;
    double rate = done / ((t - p->start) / 1e3 + 1e-9), eta = rate > 0 ? (p->total - done) / rate : 0;
    fprintf(stderr, "%sbatch: %lld/%lld items, %.2f img/s, ETA %d:%02d, %lld error%s%s", p->tty ? "\r" : "",
            (long long)done, (long long)p->total, rate, (int)eta / 60, (int)eta % 60, (long long)errors,
            errors == 1 ? "" : "s", p->tty && !final ? "   " : "\n");
    fflush(stderr);
}

/* the items of this shard not yet done, in order, as indices into the listing */
static int64_t *pending_items(const batch_opts *o, const batch_list *l, const char *results, int64_t *n_pending,
                              int64_t *n_mine, int *rc)
{
    unsigned char *done = calloc((size_t)l->n + 1, 1);
    int64_t *v = malloc(sizeof *v * ((size_t)l->n + 1)), n = 0;
    int n_done = 0;
    *n_mine = 0;
    if (!done || !v) *rc = cli_fail("out of memory");
    else if (o->resume) *rc = batch_resume_scan(o->out, results, l->n, done, &n_done);
    for (int64_t i = 0; i < l->n && !*rc; i++) {
        if (i % o->shards != o->shard) continue;
        (*n_mine)++;
        if (!done[i]) v[n++] = i;
    }
    if (!*rc && o->resume && !o->quiet)
        fprintf(stderr, "batch: resuming: %d items already done, %lld to do\n", n_done, (long long)n);
    free(done);
    *n_pending = n;
    return v;
}

/* One item alone: its explanation, or NULL with d->err set. */
static gcam_explanation *explain_one(batch_ctx *c, decoded *d)
{
    gcam_explain_opts eo = c->eo;
    gcam_explanation *ex = NULL;
    double t0 = cli_now_ms();
    eo.target_class = d->target;
    if (gcam_explain(c->m, &d->x, &eo, &ex)) snprintf(d->err, sizeof d->err, "%s", gcam_model_errmsg(c->m));
    d->explain_ms = cli_now_ms() - t0;
    return ex;
}

/* The decoded items of one pass (those without an error) stacked into one
 * N x C x H x W input for gcam_explain_batch; any failure there (one bad
 * target fails the whole call) is retried item by item, so that an error
 * stays with its item.  ex[k] NULL with d[k].err set on failure. */
static void explain_pass(batch_ctx *c, decoded *d, int nb, gcam_explanation **ex)
{
    int idx[4096], n = 0;
    for (int k = 0; k < nb; k++) {
        ex[k] = NULL;
        if (!d[k].err[0]) idx[n++] = k;
    }
    size_t item = n ? (size_t)(d[idx[0]].x.dims[1] * d[idx[0]].x.dims[2] * d[idx[0]].x.dims[3]) : 0;
    float *stack = n > 1 ? malloc(sizeof(float) * item * (size_t)n) : NULL;
    int64_t targets[4096];
    gcam_explanation *out[4096];
    int ok = stack != NULL;
    for (int j = 0; j < n && ok; j++) {
        const gcam_array *x = &d[idx[j]].x;
        ok = x->ndim == 4 && (size_t)(x->dims[1] * x->dims[2] * x->dims[3]) == item && x->dims[0] == 1;
        if (ok) memcpy(stack + (size_t)j * item, x->data, sizeof(float) * item);
        targets[j] = d[idx[j]].target;
    }
    gcam_array all = n ? d[idx[0]].x : (gcam_array){0};
    all.dims[0] = n;
    all.data = stack;
    double t0 = cli_now_ms();
    if (ok && gcam_explain_batch(c->m, &all, &c->eo, targets, out) == GCAM_OK) {
        double each = (cli_now_ms() - t0) / n;
        for (int j = 0; j < n; j++) {
            ex[idx[j]] = out[j];
            d[idx[j]].explain_ms = each;
        }
    } else {
        for (int j = 0; j < n; j++) ex[idx[j]] = explain_one(c, &d[idx[j]]);
    }
    free(stack);
}

static void decode_pass(batch_ctx *c, const batch_list *l, const int64_t *todo, decoded *d, int nb)
{
    for (int k = 0; k < nb; k++) {
        const batch_item *it = &l->v[todo[k]];
        double t0 = cli_now_ms();
        memset(&d[k], 0, sizeof d[k]);
        d[k].target = resolve_target(c, it->target ? it->target : it->label ? it->label : c->o->xo.target, d[k].err,
                                     sizeof d[k].err);
        if (!d[k].err[0] && gcam_photo_load(c->m, it->path, &c->o->io.pp, &d[k].photo, &d[k].x))
            snprintf(d[k].err, sizeof d[k].err, "%s", gcam_model_errmsg(c->m));
        d[k].decode_ms = cli_now_ms() - t0;
    }
}

static int run_items(batch_ctx *c, const batch_list *l, const int64_t *todo, int64_t n, int64_t *errors)
{
    decoded *d = calloc((size_t)c->o->batch, sizeof *d);
    gcam_explanation **ex = calloc((size_t)c->o->batch, sizeof *ex);
    if (!d || !ex) {
        free(d);
        free(ex);
        return cli_fail("out of memory");
    }
    progress p = {.on = !c->o->quiet, .tty = isatty(2), .start = cli_now_ms(), .total = n};
    int rc = 0;
    for (int64_t b0 = 0; b0 < n && !rc; b0 += c->o->batch) {
        int nb = (int)(n - b0 < c->o->batch ? n - b0 : c->o->batch);
        decode_pass(c, l, todo + b0, d, nb);
        if (nb > 1) explain_pass(c, d, nb, ex);
        else ex[0] = d[0].err[0] ? NULL : explain_one(c, &d[0]);
        for (int k = 0; k < nb; k++) { /* write, in listing order */
            int r = rc ? (gcam_explanation_free(ex[k]), 0) : finish_item(c, &l->v[todo[b0 + k]], todo[b0 + k], &d[k], ex[k]);
            if (r < 0) rc = 1;
            *errors += r > 0;
            gcam_photo_free(d[k].photo);
            gcam_array_free(&d[k].x);
        }
        if (b0 + nb < n) progress_show(&p, b0 + nb, *errors, 0);
    }
    if (!rc) progress_show(&p, n, *errors, 1);
    free(d);
    free(ex);
    return rc;
}

static int list_items(const batch_opts *o, batch_list *l)
{
    return o->images ? batch_list_dir(o->images, l) : o->glob ? batch_list_glob(o->glob, l)
                                                              : batch_list_manifest(o->manifest, l);
}

static int open_results(const batch_opts *o, const char *path)
{
    struct stat st;
    if (!o->resume && !stat(path, &st)) {
        cli_fail("'%s' exists: add --resume to continue that run, or choose another --out", path);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd < 0) cli_fail("cannot open '%s': %s", path, strerror(errno));
    return fd;
}

int cmd_batch(int argc, char **argv)
{
    batch_opts o;
    int rc = 0;
    if (parse_args(argc, argv, &o, &rc)) return rc;
    batch_list l = {0};
    if (list_items(&o, &l) || batch_list_mark_shared(&l)) return batch_list_free(&l), 1;
    char results[4096], probe[4200];
    if (o.sharded) snprintf(results, sizeof results, "%s/results.%d-of-%d.jsonl", o.out, o.shard, o.shards);
    else snprintf(results, sizeof results, "%s/results.jsonl", o.out);
    snprintf(probe, sizeof probe, "%s/x", o.out);
    if (batch_mkdirs(probe)) return batch_list_free(&l), cli_fail("cannot create '%s'", o.out);
    batch_ctx c = {.o = &o, .fd = -1};
    c.eo = o.xo.eo;
    c.eo.layers = o.xo.n_layers ? o.xo.layers : NULL;
    c.eo.n_layers = o.xo.n_layers;
    c.eo.target_class = o.xo.target_index; /* with --target-output; items set their class otherwise */
    int64_t n = 0, mine = 0, errors = 0, *todo = NULL;
    if (!(c.m = cli_load_model(o.model, (int)o.threads))) rc = 1;
    if (!rc && (c.n_labels = cli_load_labels(o.xo.labels_file, c.m, &c.labels)) < 0) rc = 1;
    if (!rc) todo = pending_items(&o, &l, results, &n, &mine, &rc);
    if (!rc && o.sharded && batch_write_shard_info(o.out, o.shard, o.shards, l.n, mine, batch_list_hash(&l)))
        rc = cli_fail("cannot write the shard description in '%s'", o.out);
    if (!rc && (c.fd = open_results(&o, results)) < 0) rc = 1;
    double t0 = cli_now_ms();
    if (!rc) rc = run_items(&c, &l, todo, n, &errors);
    if (!rc && !o.quiet)
        fprintf(stderr, "batch: %lld items (shard %d/%d of %d), %lld explained now, %lld errors, %.1f s -> %s\n",
                (long long)mine, o.shard, o.shards, l.n, (long long)n, (long long)errors, (cli_now_ms() - t0) / 1e3, results);
    if (c.fd >= 0) close(c.fd);
    free(todo);
    cli_free_labels(c.labels, c.n_labels > 0 ? c.n_labels : 0);
    cli_free_model(c.m);
    batch_list_free(&l);
    return rc;
}
