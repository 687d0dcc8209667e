/* report.c - the page of `gradcam report`: model summary, then one section
 * per image.  Accessibility: a skip link and a table of contents, one h1,
 * h2 per image and h3 per part, alt text naming method, class and score on
 * every map, <title>/<desc> on every plot, tables with captions and header
 * scopes, and print rules that hide navigation and keep figures whole. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "report_html.h"

#define MIN_SIDE 224
static const char *const COLORS[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

static const char *CSS =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111;background:#fff;line-height:1.45}"
    "header,main,footer{max-width:1240px;margin:0 auto;padding:0 16px}"
    ".skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:#ffd;padding:6px;z-index:1}"
    "nav ul{display:flex;flex-wrap:wrap;gap:2px 18px;list-style:none;padding:0;margin:0 0 8px}"
    "a:focus,summary:focus{outline:3px solid #e67e00;outline-offset:2px}"
    "figure{display:inline-block;margin:0 14px 18px 0;vertical-align:top}"
    "figcaption{font-size:14px;max-width:300px}img{border:1px solid #bbb;display:block}"
    "table{border-collapse:collapse;margin:8px 0 16px}caption{text-align:left;font-weight:600;padding:4px 0}"
    "th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #e4e4e4}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".sr{position:absolute;left:-9999px}.row{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}"
    ".bar{display:inline-block;height:12px;background:#2b6cb0}.pass{color:#1b6e20;font-weight:600}.fail{color:#b00020;font-weight:600}"
    "section.image{border-top:2px solid #ccc;margin-top:24px}"
    "@media print{.skip,nav{display:none}section.image{break-before:page}figure,table,svg{break-inside:avoid}"
    "img,svg{max-width:100%;height:auto}}";

typedef struct page {
    FILE *f;
    gcam_model *m;
    report_args *a;
    char **labels;
    int n_labels, kind;
} page;

static const char *label(const page *p, int64_t c, char *buf, size_t cap)
{
    if (c >= 0 && c < p->n_labels) return p->labels[c];
    snprintf(buf, cap, "class %lld", (long long)c);
    return buf;
}

static const char *kind_name(int kind)
{
    return kind == GCAM_SCORE_SIGMOID ? "sigmoid probability" : kind == GCAM_SCORE_LOGIT ? "logit" : "softmax probability";
}

static void head(page *p)
{
    const char *title = p->a->title ? p->a->title : "gradcam report";
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>", p->f);
    html_text(p->f, title);
    fprintf(p->f, "</title><style>%s</style></head><body>\n<a class=\"skip\" href=\"#main\">Skip to the results</a>\n"
                  "<header><h1>", CSS);
    html_text(p->f, title);
    fputs("</h1><nav aria-label=\"Contents\"><ul><li><a href=\"#model\">The model</a></li>", p->f);
    for (int i = 0; i < p->a->n_images; i++) {
        const char *b = strrchr(p->a->images[i], '/');
        fprintf(p->f, "<li><a href=\"#img-%d\">", i + 1);
        html_text(p->f, b ? b + 1 : p->a->images[i]);
        fputs("</a></li>", p->f);
    }
    fputs("</ul></nav></header>\n<main id=\"main\" tabindex=\"-1\">\n", p->f);
}

static void row(FILE *f, const char *k, const char *v)
{
    fputs("<tr><th scope=\"row\">", f);
    html_text(f, k);
    fputs("</th><td>", f);
    html_text(f, v);
    fputs("</td></tr>", f);
}

static void io_rows(page *p)
{
    char buf[512];
    for (int i = 0; i < gcam_model_num_inputs(p->m); i++) {
        int64_t d[GCAM_MAX_NDIM];
        int nd = gcam_model_input_shape(p->m, i, d);
        size_t l = (size_t)snprintf(buf, sizeof buf, "%s: (", gcam_model_input_name(p->m, i));
        for (int k = 0; k < nd && l < sizeof buf; k++)
            l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%s%lld", k ? ", " : "", d[k] < 0 ? "?" : "",
                                  d[k] < 0 ? 0LL : (long long)d[k]);
        if (l < sizeof buf) snprintf(buf + l, sizeof buf - l, ")");
        for (char *q = strstr(buf, "?0"); q; q = strstr(q, "?0")) memmove(q + 1, q + 2, strlen(q + 2) + 1);
        row(p->f, "input", buf);
    }
    for (int i = 0; i < gcam_model_num_outputs(p->m); i++) row(p->f, "output", gcam_model_output_name(p->m, i));
}

static void model_section(page *p)
{
    FILE *f = p->f;
    char buf[1024];
    fputs("<section id=\"model\" aria-labelledby=\"model-h\"><h2 id=\"model-h\">The model</h2>"
          "<table><caption>Model summary</caption><tbody>", f);
    row(f, "file", p->a->model);
    io_rows(p);
    row(f, "exporter", gcam_model_producer(p->m)[0] ? gcam_model_producer(p->m) : "(not recorded)");
    snprintf(buf, sizeof buf, "%lld (IR version %lld)", (long long)gcam_model_opset(p->m), (long long)gcam_model_ir_version(p->m));
    row(f, "opset", buf);
    const gcam_param_layer *L;
    int nl = 0;
    gcam_model_param_layers(p->m, &L, &nl);
    snprintf(buf, sizeof buf, "%lld in %d parameterised layers", (long long)gcam_model_param_count(p->m), nl);
    row(f, "parameters", buf);
    const char *t = NULL;
    const char *given = p->a->xo.n_layers ? p->a->xo.layers[0] : "auto";
    if (!gcam_model_resolve_layer(p->m, given, &t)) {
        snprintf(buf, sizeof buf, "%s - %s", t, p->a->xo.n_layers ? "given with --layer"
                 : "automatic: the last 4-D activation with more than one position from which an output is reachable");
        row(f, "Grad-CAM layer", buf);
    }
    row(f, "score", kind_name(p->kind));
    snprintf(buf, sizeof buf, "%d", p->n_labels);
    row(f, "labels", p->n_labels ? buf : "none (classes shown by index)");
    row(f, "gradcam", gcam_version());
    fputs("</tbody></table>", f);
    if (p->n_labels) {
        fputs("<details><summary>Class labels</summary><ol start=\"0\">", f);
        for (int i = 0; i < p->n_labels; i++) {
            fputs("<li>", f);
            html_text(f, p->labels[i]);
            fputs("</li>", f);
        }
        fputs("</ol></details>", f);
    }
    fputs("</section>\n", f);
}

/* A map over the photo, in a figure with its caption. */
static int map_figure(page *p, const gcam_photo *photo, const float *map, int h, int w, const char *alt,
                      const char *caption)
{
    gcam_rgb img = {0};
    if (gcam_render_overlay(p->m, photo, map, h, w, "jet", 0.5f, MIN_SIDE, &img))
        return cli_fail("%s", gcam_model_errmsg(p->m));
    fputs("<figure>", p->f);
    int rc = html_img(p->f, p->m, &img, alt);
    fputs("<figcaption>", p->f);
    html_text(p->f, caption);
    fputs("</figcaption></figure>", p->f);
    gcam_rgb_free(&img);
    return rc;
}

/* |map| summed over channels and scaled to [0, 1]: what the page draws. */
static float *display_map(gcam_explanation *ex, int *h, int *w)
{
    int ch = gcam_explanation_channels(ex);
    const float *v = gcam_explanation_map(ex, h, w);
    int64_t hw = (int64_t)*h * *w;
    float *o = malloc(sizeof(float) * (size_t)hw), mx = 0;
    if (!o) return NULL;
    for (int64_t i = 0; i < hw; i++) {
        float s = 0;
        for (int k = 0; k < ch; k++) s += fabsf(v[k * hw + i]);
        o[i] = s;
        mx = s > mx ? s : mx;
    }
    for (int64_t i = 0; i < hw && mx > 0; i++) o[i] /= mx;
    return o;
}

static int report_image(page *p, int idx);

int report_write(report_args *a)
{
    gcam_model *m = cli_load_model(a->model, (int)a->threads);
    if (!m) return 1;
    page p = {.m = m, .a = a, .kind = gcam_model_score_kind(m)};
    p.n_labels = cli_load_labels(a->xo.labels_file, m, &p.labels);
    int rc = p.n_labels < 0 || cli_explain_resolve(&a->xo, m, p.labels, p.n_labels);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", a->out, (long)getpid());
    if (!rc && !(p.f = fopen(tmp, "w"))) rc = cli_fail("cannot write %s", a->out);
    if (!rc) {
        head(&p);
        model_section(&p);
    }
    for (int i = 0; i < a->n_images && !rc; i++) {
        if (!a->quiet) fprintf(stderr, "report: %s\n", a->images[i]);
        rc = report_image(&p, i);
    }
    if (p.f) {
        fputs("</main>\n<footer><p>Made by gradcam. Every number is defined in docs/eval.md of the gradcam sources.</p>"
              "</footer></body></html>\n", p.f);
        int bad = ferror(p.f);
        bad |= fclose(p.f) != 0;
        if (!rc && (bad || rename(tmp, a->out))) rc = cli_fail("cannot write %s", a->out);
        if (rc) unlink(tmp);
    }
    cli_free_labels(p.labels, p.n_labels < 0 ? 0 : p.n_labels);
    cli_free_model(m);
    return rc;
}

/* ---- one image ---- */

typedef struct shot {
    const char *path, *name;
    gcam_photo *photo;
    gcam_array x;
    int64_t top[20];
    double score[20];
    int64_t cls;      /* the class of the method grid, curves and sanity: --target or the top one */
    double cls_score;
    int ntop, id;
} shot;

static int predictions(page *p, shot *s)
{
    gcam_array y;
    if (gcam_model_run(p->m, NULL, &s->x, 1) || gcam_model_tensor(p->m, gcam_model_output_name(p->m, 0), &y))
        return cli_fail("%s: %s", s->path, gcam_model_errmsg(p->m));
    if (y.dtype != GCAM_FLOAT32 || y.ndim < 1) return cli_fail("the model's first output is not a float tensor of scores");
    const int64_t n = y.dims[y.ndim - 1];
    const float *z = y.data;
    double mx = -INFINITY, sum = 0;
    for (int64_t c = 0; c < n; c++) mx = fmax(mx, z[c]);
    for (int64_t c = 0; c < n; c++) sum += exp(z[c] - mx);
    s->ntop = (int)(p->a->top < n ? p->a->top : n);
    int64_t want = p->a->xo.eo.target_output ? -1 : p->a->xo.eo.target_class;
    if (want >= n) return cli_fail("--target %lld: the model has %lld classes", (long long)want, (long long)n);
    for (int k = 0; k < s->ntop; k++) {
        int64_t best = -1;
        for (int64_t c = 0; c < n; c++) {
            int taken = 0;
            for (int j = 0; j < k; j++) taken |= s->top[j] == c;
            if (!taken && (best < 0 || z[c] > z[best])) best = c;
        }
        s->top[k] = best;
        s->score[k] = p->kind == GCAM_SCORE_LOGIT ? z[best] : p->kind == GCAM_SCORE_SIGMOID ? 1 / (1 + exp(-z[best]))
                                                                                          : exp(z[best] - mx) / sum;
    }
    s->cls = want >= 0 ? want : s->ntop ? s->top[0] : 0;
    double zc = z[s->cls];
    s->cls_score = p->kind == GCAM_SCORE_LOGIT ? zc : p->kind == GCAM_SCORE_SIGMOID ? 1 / (1 + exp(-zc)) : exp(zc - mx) / sum;
    return 0;
}

static void top_table(page *p, shot *s)
{
    FILE *f = p->f;
    char lb[64];
    fprintf(f, "<table><caption>Top %d predictions (%s)</caption><thead><tr><th scope=\"col\">rank</th>"
               "<th scope=\"col\">class</th><th scope=\"col\">score</th><th scope=\"col\"><span class=\"sr\">bar</span></th>"
               "</tr></thead><tbody>", s->ntop, kind_name(p->kind));
    double top = s->ntop ? fabs(s->score[0]) : 1;
    for (int k = 0; k < s->ntop; k++) {
        double frac = p->kind == GCAM_SCORE_LOGIT ? (top > 0 ? fabs(s->score[k]) / top : 0) : s->score[k];
        fprintf(f, "<tr><td class=\"num\">%d</td><td>", k + 1);
        html_text(f, label(p, s->top[k], lb, sizeof lb));
        fprintf(f, " (%lld)</td><td class=\"num\">%.4f</td><td><span class=\"bar\" aria-hidden=\"true\" "
                   "style=\"width:%dpx\"></span></td></tr>",
                (long long)s->top[k], s->score[k], (int)(200 * (frac > 1 ? 1 : frac < 0 ? 0 : frac)));
    }
    fputs("</tbody></table>", f);
}

/* Grad-CAM (or another method) of class c; *out is the display map (malloc'd). */
static int explain(page *p, shot *s, int method, int64_t c, int counterfactual, float **out, int *h, int *w,
                   double *score)
{
    gcam_explain_opts eo = p->a->xo.eo;
    eo.method = method;
    eo.counterfactual = counterfactual;
    if (c >= 0) eo.target_class = c;
    gcam_explanation *ex = NULL;
    *out = NULL;
    if (gcam_explain(p->m, &s->x, &eo, &ex)) return GCAM_E_ARG;
    *score = gcam_explanation_score(ex);
    *out = display_map(ex, h, w);
    gcam_explanation_free(ex);
    return *out ? 0 : cli_fail("out of memory");
}

static int class_maps(page *p, shot *s)
{
    char alt[512], cap[512], lb[64];
    fputs("<h3>Grad-CAM for each top class</h3>", p->f);
    int rc = 0;
    for (int k = 0; k <= s->ntop && !rc && s->ntop; k++) {
        int cf = k == s->ntop; /* the last: the top class's counterfactual */
        int64_t c = s->top[cf ? 0 : k];
        float *map;
        int h, w;
        double sc;
        if (explain(p, s, GCAM_METHOD_GRADCAM, c, cf, &map, &h, &w, &sc)) {
            rc = cli_fail("%s: %s", s->path, gcam_model_errmsg(p->m));
            break;
        }
        const char *l = label(p, c, lb, sizeof lb);
        if (cf) fputs("<h3>Counterfactual: what argues against the top class</h3>", p->f);
        snprintf(alt, sizeof alt, "%s map for class %s (%s %.3f) on %s", cf ? "Counterfactual Grad-CAM" : "Grad-CAM", l,
                 kind_name(p->kind), s->score[cf ? 0 : k], s->name);
        snprintf(cap, sizeof cap, "%s%s - %s %.3f", cf ? "counterfactual of " : "", l, kind_name(p->kind), s->score[cf ? 0 : k]);
        rc = map_figure(p, s->photo, map, h, w, alt, cap);
        free(map);
    }
    return rc;
}

typedef struct faith {
    double *del, *ins, dauc, iauc;
    int ok;
} faith;

static int method_grid(page *p, shot *s, faith *fa)
{
    char alt[512], cap[512], lb[64];
    const char *l = label(p, s->cls, lb, sizeof lb);
    fputs("<h3>Every method, class ", p->f);
    html_text(p->f, l);
    fputs("</h3>", p->f);
    int rc = 0;
    for (int k = 0; k < p->a->n_methods && !rc; k++) {
        const char *name = gcam_method_name(p->a->methods[k]);
        float *map;
        int h, w;
        double sc;
        if (explain(p, s, p->a->methods[k], s->cls, 0, &map, &h, &w, &sc)) {
            fprintf(p->f, "<p>%s: not available for this model (", name);
            html_text(p->f, gcam_model_errmsg(p->m));
            fputs(").</p>", p->f);
            continue;
        }
        snprintf(alt, sizeof alt, "%s map for class %s (%s %.3f) on %s", name, l, kind_name(p->kind), s->cls_score, s->name);
        snprintf(cap, sizeof cap, "%s", name);
        rc = map_figure(p, s->photo, map, h, w, alt, cap);
        int measured = 0;
        for (int j = 0; j < p->a->n_auc; j++) measured |= p->a->auc_ids[j] == p->a->methods[k];
        faith *q = &fa[k];
        if (rc || !measured) {
            free(map);
            continue;
        }
        q->del = calloc((size_t)p->a->steps + 1, sizeof(double));
        q->ins = calloc((size_t)p->a->steps + 1, sizeof(double));
        if (!rc && (!q->del || !q->ins)) rc = cli_fail("out of memory");
        if (!rc && gcam_faithfulness(p->m, &s->x, map, s->cls, (int)p->a->steps, p->a->sigma, p->kind, q->del, q->ins,
                                     &q->dauc, &q->iauc))
            rc = cli_fail("%s: %s", s->path, gcam_model_errmsg(p->m));
        q->ok = !rc;
        free(map);
    }
    return rc;
}

static void faith_section(page *p, shot *s, faith *fa)
{
    FILE *f = p->f;
    plot_series ser[6];
    int ns = 0;
    char names[6][64], desc[512];
    size_t dl = 0;
    desc[0] = 0;
    for (int k = 0; k < p->a->n_methods && ns < 6; k++) {
        if (!fa[k].ok) continue;
        const char *mn = gcam_method_name(p->a->methods[k]);
        for (int ins = 0; ins < 2; ins++) {
            snprintf(names[ns], sizeof names[0], "%s %s", mn, ins ? "insertion" : "deletion");
            ser[ns] = (plot_series){names[ns], NULL, ins ? fa[k].ins : fa[k].del, (int)p->a->steps + 1,
                                    COLORS[(ns / 2) % 6], ins};
            ns++;
        }
        if (dl < sizeof desc)
            dl += (size_t)snprintf(desc + dl, sizeof desc - dl, "%s deletion AUC %.4f, insertion AUC %.4f. ", mn,
                                   fa[k].dauc, fa[k].iauc);
    }
    fputs("<h3>Deletion and insertion</h3><p>Pixels are removed (deletion: replaced by a blurred copy) or put back "
          "(insertion: onto the blurred copy) in the order of the map, most important first; the curve is the "
          "model's score of the class above.  A faithful map makes deletion fall fast (small area) and insertion rise "
          "fast (large area).</p>",
          f);
    if (ns) {
        char id[32];
        snprintf(id, sizeof id, "faith-%d", s->id);
        svg_plot(f, id, "Deletion (solid) and insertion (dashed) curves", desc, ser, ns, 0, 1,
                 p->kind == GCAM_SCORE_LOGIT ? -10 : 0, p->kind == GCAM_SCORE_LOGIT ? 10 : 1, "fraction of pixels changed",
                 "score");
    }
    fputs("<table><caption>Area under the curves</caption><thead><tr><th scope=\"col\">method</th>"
          "<th scope=\"col\">deletion AUC (lower is better)</th><th scope=\"col\">insertion AUC (higher is better)</th>"
          "</tr></thead><tbody>", f);
    for (int k = 0; k < p->a->n_methods; k++)
        if (fa[k].ok)
            fprintf(f, "<tr><th scope=\"row\">%s</th><td class=\"num\">%.4f</td><td class=\"num\">%.4f</td></tr>",
                    gcam_method_name(p->a->methods[k]), fa[k].dauc, fa[k].iauc);
    fputs("</tbody></table>", f);
}

static int sanity_section(page *p, shot *s)
{
    FILE *f = p->f;
    fprintf(f, "<h3>Sanity check: model-parameter randomisation</h3><p>Layers are re-drawn at random from the output "
               "back to the input; a map that explains the model should stop resembling the trained model's map. "
               "Verdict: passes when the rank correlation of |map| with the trained model's, averaged over the steps, "
               "is below %.2f.</p>",
            p->a->threshold);
    for (int k = 0; k < p->a->n_sanity; k++) {
        gcam_explain_opts eo = p->a->xo.eo;
        eo.method = p->a->sanity_ids[k];
        eo.target_class = s->cls;
        gcam_sanity_opts so;
        gcam_sanity_opts_default(&so);
        so.granularity = p->a->granularity;
        so.seed = eo.seed;
        so.independent = 0;
        gcam_sanity_result *r = NULL;
        const char *name = gcam_method_name(eo.method);
        if (gcam_sanity_run(p->m, &s->x, &eo, &so, &r)) return cli_fail("%s: %s", name, gcam_model_errmsg(p->m));
        int n = r->n_cascading;
        double *ys[3];
        for (int q = 0; q < 3; q++) ys[q] = malloc(sizeof(double) * (size_t)(n + 1));
        for (int q = 0; q < 3 && ys[q]; q++) {
            ys[q][0] = 1;
            for (int i = 0; i < n; i++)
                ys[q][i + 1] = q == 0 ? r->cascading[i].spearman_abs : q == 1 ? r->cascading[i].ssim : r->cascading[i].hog;
        }
        int v = gcam_sanity_verdict(r, GCAM_SANITY_MEAN, p->a->threshold);
        char id[48], desc[256], title[128];
        snprintf(id, sizeof id, "sanity-%d-%d", s->id, k);
        snprintf(title, sizeof title, "%s: similarity to the trained model's map, cascading randomisation", name);
        snprintf(desc, sizeof desc, "%s %s: rank correlation %.3f on average over %d steps; after all of them, "
                 "rank correlation %.3f, SSIM %.3f, HOG %.3f.", name, v ? "passes" : "fails",
                 gcam_sanity_similarity(r, GCAM_SANITY_MEAN), n, n ? ys[0][n] : 0, n ? ys[1][n] : 0, n ? ys[2][n] : 0);
        if (ys[0] && ys[1] && ys[2]) {
            plot_series ser[3] = {{"rank correlation |map|", NULL, ys[0], n + 1, COLORS[1], 0},
                                  {"SSIM", NULL, ys[1], n + 1, COLORS[2], 0},
                                  {"HOG correlation", NULL, ys[2], n + 1, COLORS[0], 1}};
            fputs("<figure>", f);
            svg_plot(f, id, title, desc, ser, 3, 0, n, -0.5, 1, "layers randomised (output side first)", "similarity");
            fprintf(f, "<figcaption><span class=\"%s\">%s %s</span> - ", v ? "pass" : "fail", name, v ? "passes" : "fails");
            html_text(f, desc);
            fputs("</figcaption></figure>", f);
        }
        for (int q = 0; q < 3; q++) free(ys[q]);
        gcam_sanity_free(r);
    }
    return 0;
}

static int report_image(page *p, int idx)
{
    shot s = {.path = p->a->images[idx], .id = idx + 1};
    const char *b = strrchr(s.path, '/');
    s.name = b ? b + 1 : s.path;
    if (gcam_photo_load(p->m, s.path, &p->a->io.pp, &s.photo, &s.x)) return cli_fail("%s", gcam_model_errmsg(p->m));
    int rc = predictions(p, &s);
    faith *fa = calloc((size_t)p->a->n_methods + 1, sizeof *fa);
    if (!fa) rc = cli_fail("out of memory");
    if (!rc) {
        fprintf(p->f, "<section class=\"image\" id=\"img-%d\" aria-labelledby=\"img-%d-h\"><h2 id=\"img-%d-h\">", s.id,
                s.id, s.id);
        html_text(p->f, s.name);
        fputs("</h2><h3>Input and predictions</h3><div class=\"row\">", p->f);
        gcam_rgb in = {0};
        char alt[512];
        int pw, ph;
        gcam_photo_size(s.photo, &pw, &ph);
        snprintf(alt, sizeof alt, "Input image %s (%d x %d pixels)", s.name, pw, ph);
        if (gcam_render_photo(p->m, s.photo, MIN_SIDE, &in)) rc = cli_fail("%s", gcam_model_errmsg(p->m));
        if (!rc) {
            fputs("<figure>", p->f);
            rc = html_img(p->f, p->m, &in, alt);
            fputs("<figcaption>input</figcaption></figure>", p->f);
        }
        gcam_rgb_free(&in);
        if (!rc) top_table(p, &s);
        if (!rc) fputs("</div>", p->f);
    }
    if (!rc) rc = class_maps(p, &s);
    if (!rc) rc = method_grid(p, &s, fa);
    if (!rc) faith_section(p, &s, fa);
    if (!rc && p->a->sanity) rc = sanity_section(p, &s);
    if (!rc) fputs("</section>\n", p->f);
    for (int k = 0; fa && k < p->a->n_methods; k++) {
        free(fa[k].del);
        free(fa[k].ins);
    }
    free(fa);
    gcam_array_free(&s.x);
    gcam_photo_free(s.photo);
    return rc;
}
