/* eval_results.c - the maps of a `gradcam batch` run, for `gradcam eval`. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cli.h"
#include "eval_results.h"

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void eval_results_free(eval_results *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->v[i].base);
        free(r->v[i].method);
        free(r->v[i].map);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

int eval_results_load(const char *file, eval_results *r)
{
    FILE *f = fopen(file, "r");
    if (!f) return cli_fail("--results: cannot read '%s'", file);
    const char *slash = strrchr(file, '/');
    int dl = slash ? (int)(slash - file + 1) : 0, rc = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (!rc && getline(&line, &lcap, f) >= 0) {
        char *img = batch_json_str(line, "image"), *meth = batch_json_str(line, "method"), *map = batch_json_str(line, "map");
        double t;
        if (img && meth && map && !batch_json_num(line, "target", &t)) {
            if (r->n == cap) {
                cap = cap ? cap * 2 : 64;
                eval_result *nv = realloc(r->v, sizeof *nv * (size_t)cap);
                if (!nv) rc = cli_fail("out of memory");
                else r->v = nv;
            }
            if (!rc) {
                eval_result *e = &r->v[r->n++];
                size_t n = (size_t)dl + strlen(map) + 1;
                e->base = strdup(base_name(img));
                e->method = meth;
                e->map = malloc(n);
                e->target = (int64_t)t;
                meth = NULL;
                if (e->map) snprintf(e->map, n, "%.*s%s", dl, file, map);
                if (!e->base || !e->map) rc = cli_fail("out of memory");
            }
        }
        free(img);
        free(meth);
        free(map);
    }
    free(line);
    fclose(f);
    if (!rc && !r->n) rc = cli_fail("--results %s: no line with a map (run gradcam batch with --save-npy)", file);
    return rc;
}

int eval_results_map(const eval_results *r, gcam_model *m, const char *base, int64_t cls, const char *method,
                     gcam_array *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < r->n; i++) {
        const eval_result *e = &r->v[i];
        if (e->target != cls || strcmp(e->method, method) || strcmp(e->base, base)) continue;
        if (gcam_npy_load(m, e->map, a)) return cli_fail("--results: %s", gcam_model_errmsg(m));
        if (a->dtype != GCAM_FLOAT32 || a->ndim != 2) {
            gcam_array_free(a);
            return cli_fail("--results: %s is not a float32 H x W map", e->map);
        }
        return 0;
    }
    return cli_fail("--results: no map for image %s, class %lld, method %s (gradcam batch --manifest BOXES.csv "
                    "explains every class of boxes.csv)", base, (long long)cls, method);
}
