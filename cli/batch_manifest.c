/* batch_manifest.c - `gradcam batch --manifest`: CSV or JSON lines, and the
 * small JSON readers that resume and merge share.  The JSON reader knows
 * objects of strings, numbers, null, booleans and flat arrays, which is what
 * manifests and our own result lines hold; a nested object is skipped over. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "cli.h"

/* ---- JSON ------------------------------------------------------------------ */

/* past a JSON string starting at s ('"'); NULL if unterminated */
static const char *skip_string(const char *s)
{
    for (s++; *s; s++) {
        if (*s == '\\' && s[1]) s++;
        else if (*s == '"') return s + 1;
    }
    return NULL;
}

/* The value of "key" in the top-level object of line, or NULL. */
static const char *find_value(const char *line, const char *key)
{
    size_t kl = strlen(key);
    int depth = 0;
    for (const char *s = line; s && *s;) {
        if (*s == '"') {
            const char *e = skip_string(s);
            if (!e) return NULL;
            if (depth == 1 && (size_t)(e - s - 2) == kl && !strncmp(s + 1, key, kl)) {
                while (isspace((unsigned char)*e)) e++;
                if (*e == ':') {
                    e++;
                    while (isspace((unsigned char)*e)) e++;
                    return e;
                }
            }
            s = e;
            continue;
        }
        if (*s == '{' || *s == '[') depth++;
        else if (*s == '}' || *s == ']') depth--;
        s++;
    }
    return NULL;
}

char *batch_json_str(const char *line, const char *key)
{
    const char *v = find_value(line, key);
    if (!v || *v != '"') return NULL;
    const char *e = skip_string(v);
    if (!e) return NULL;
    char *out = malloc((size_t)(e - v)), *o = out;
    if (!out) return NULL;
    for (const char *s = v + 1; s < e - 1; s++) {
        if (*s != '\\') { *o++ = *s; continue; }
        s++;
        switch (*s) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': { /* \u00XX only (what cli_json_str writes); others kept as '?' */
            unsigned c = 0;
            if (sscanf(s + 1, "%4x", &c) == 1 && strlen(s + 1) >= 4) s += 4;
            *o++ = c && c < 0x80 ? (char)c : '?';
            break;
        }
        default: *o++ = *s;
        }
    }
    *o = 0;
    return out;
}

int batch_json_num(const char *line, const char *key, double *out)
{
    const char *v = find_value(line, key);
    if (!v) return -1;
    char *end;
    double d = strtod(v, &end);
    if (end == v) return -1;
    *out = d;
    return 0;
}

int batch_json_box(const char *line, const char *key, double box[4])
{
    const char *v = find_value(line, key);
    if (!v || *v != '[') return -1;
    v++;
    for (int i = 0; i < 4; i++) {
        char *end;
        while (isspace((unsigned char)*v) || (i && *v == ',')) v++;
        box[i] = strtod(v, &end);
        if (end == v) return -1;
        v = end;
    }
    return 0;
}

/* ---- manifests --------------------------------------------------------------- */

static char *manifest_path(const char *manifest, const char *image)
{
    if (image[0] == '/') return strdup(image);
    const char *slash = strrchr(manifest, '/');
    size_t dl = slash ? (size_t)(slash - manifest + 1) : 0, n = dl + strlen(image) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%.*s%s", (int)dl, manifest, image);
    return p;
}

static int add_item(batch_list *l, const char *manifest, const char *image, int lineno)
{
    if (!image || !image[0]) return cli_fail("%s:%d: no image", manifest, lineno);
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 64;
        batch_item *nv = realloc(l->v, sizeof *nv * (size_t)nc);
        if (!nv) return cli_fail("out of memory");
        l->v = nv;
        l->cap = nc;
    }
    batch_item *it = &l->v[l->n++];
    memset(it, 0, sizeof *it);
    it->path = manifest_path(manifest, image);
    it->key = strdup(image);
    return it->path && it->key ? 0 : cli_fail("out of memory");
}

/* one CSV field (no quoting: image paths with commas need the JSONL form) */
static char *csv_field(char **cursor)
{
    char *s = *cursor, *e = s ? strchr(s, ',') : NULL;
    if (!s) return NULL;
    if (e) *e = 0;
    *cursor = e ? e + 1 : NULL;
    while (isspace((unsigned char)*s)) s++;
    for (char *t = s + strlen(s); t > s && isspace((unsigned char)t[-1]);) *--t = 0;
    return s;
}

enum { COL_IMAGE, COL_TARGET, COL_LABEL, COL_X0, COL_Y0, COL_X1, COL_Y1, N_COLS };
static const char *const COLS[N_COLS] = {"image", "target", "label", "x0", "y0", "x1", "y1"};

static int csv_row(batch_list *l, const char *file, char *line, const int *col, int lineno)
{
    char *f[64] = {0}, *cur = line;
    int nf = 0;
    while (cur && nf < 64) f[nf++] = csv_field(&cur);
    const char *v[N_COLS] = {0};
    for (int c = 0; c < N_COLS; c++) v[c] = col[c] >= 0 && col[c] < nf ? f[col[c]] : NULL;
    if (add_item(l, file, v[COL_IMAGE], lineno)) return 1;
    batch_item *it = &l->v[l->n - 1];
    if (v[COL_TARGET] && v[COL_TARGET][0]) it->target = strdup(v[COL_TARGET]);
    if (v[COL_LABEL] && v[COL_LABEL][0]) it->label = strdup(v[COL_LABEL]);
    if (v[COL_X0] && v[COL_Y0] && v[COL_X1] && v[COL_Y1] && v[COL_X0][0]) {
        char *e[4];
        for (int k = 0; k < 4; k++) it->box[k] = strtod(v[COL_X0 + k], &e[k]);
        for (int k = 0; k < 4; k++)
            if (*e[k]) return cli_fail("%s:%d: bad box coordinate '%s'", file, lineno, v[COL_X0 + k]);
        it->has_box = 1;
    }
    return 0;
}

static int jsonl_row(batch_list *l, const char *file, const char *line, int lineno)
{
    char *image = batch_json_str(line, "image");
    int rc = add_item(l, file, image, lineno);
    free(image);
    if (rc) return rc;
    batch_item *it = &l->v[l->n - 1];
    double t;
    if ((it->target = batch_json_str(line, "target")) == NULL && !batch_json_num(line, "target", &t)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.0f", t);
        it->target = strdup(buf);
    }
    it->label = batch_json_str(line, "label");
    it->has_box = batch_json_box(line, "box", it->box) == 0;
    return 0;
}

int batch_list_manifest(const char *file, batch_list *out)
{
    FILE *f = fopen(file, "r");
    if (!f) return cli_fail("cannot read manifest '%s'", file);
    const char *dot = strrchr(file, '.');
    int jsonl = dot && (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".json"));
    int col[N_COLS], header = !jsonl, rc = 0, lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len || line[0] == '#') continue;
        if (jsonl) { rc = jsonl_row(out, file, line, lineno); continue; }
        if (header) {
            char *cur = line, *name;
            int k = 0;
            for (int c = 0; c < N_COLS; c++) col[c] = -1;
            for (; (name = csv_field(&cur)); k++)
                for (int c = 0; c < N_COLS; c++)
                    if (!strcasecmp(name, COLS[c])) col[c] = k;
            header = 0;
            if (col[COL_IMAGE] < 0) rc = cli_fail("%s: the CSV header has no 'image' column", file);
            continue;
        }
        rc = csv_row(out, file, line, col, lineno);
    }
    free(line);
    fclose(f);
    if (!rc && !out->n) rc = cli_fail("manifest '%s' lists no image", file);
    return rc;
}
