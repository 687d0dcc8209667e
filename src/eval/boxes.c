/* boxes.c - the boxes.csv reader: image,label,x0,y0,x1,y1 (x1, y1 exclusive).
 * Every error is one line naming the file and the line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval/eval.h"
#include "util/fileio.h"

#define NFIELDS 6
#define FIELD_MAX 1024
static const char *const HEADER[NFIELDS] = {"image", "label", "x0", "y0", "x1", "y1"};

const char *gcam_eval_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void gcam_boxes_free(gcam_boxes *b)
{
    if (!b) return;
    for (int i = 0; i < b->n; i++) gcam_free(b->v[i].image);
    gcam_free(b->v);
    b->v = NULL;
    b->n = 0;
}

/* Splits one line (without its newline) into fields; returns the count
 * (which may exceed NFIELDS: only the first NFIELDS are stored) or -1 for an
 * unterminated quote. */
static int split(const char *p, const char *end, char f[NFIELDS][FIELD_MAX])
{
    int n = 0;
    for (;;) {
        char buf[FIELD_MAX];
        size_t len = 0;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p >= end) return -1;
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') p++;
                    else { p++; break; }
                }
                if (len + 1 < FIELD_MAX) buf[len++] = *p;
                p++;
            }
            while (p < end && *p != ',') p++; /* anything after the closing quote is dropped */
        } else {
            while (p < end && *p != ',') {
                if (len + 1 < FIELD_MAX) buf[len++] = *p;
                p++;
            }
            while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t')) len--;
        }
        buf[len] = 0;
        if (n < NFIELDS) memcpy(f[n], buf, len + 1);
        n++;
        if (p >= end) return n;
        p++; /* the comma */
    }
}

static int parse_coord(const char *s, double *v)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (!*s || end == s || *end || errno || !isfinite(d)) return -1;
    *v = d;
    return 0;
}

int gcam_boxes_parse(const char *text, size_t len, const char *name, const char *const *labels, int n_labels,
                     int64_t n_classes, gcam_boxes *out, gcam_err *e)
{
    out->v = NULL;
    out->n = 0;
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    int line = 0, cap = 0, have_header = 0;
    char f[NFIELDS][FIELD_MAX];
    int rc = GCAM_OK;
    while (p < end && !rc) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        const char *le = q ? q : end;
        line++;
        const char *next = q ? q + 1 : end;
        while (le > p && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t')) le--;
        const char *b = p;
        while (b < le && (*b == ' ' || *b == '\t')) b++;
        p = next;
        if (b == le) continue; /* blank line */
        if (memchr(b, 0, (size_t)(le - b))) {
            rc = gcam_errf(e, GCAM_E_PARSE, "%s:%d: NUL byte: not a text CSV file", name, line);
            break;
        }
        int nf = split(b, le, f);
        if (nf < 0) {
            rc = gcam_errf(e, GCAM_E_PARSE, "%s:%d: unterminated quoted field", name, line);
            break;
        }
        if (!have_header) {
            int ok = nf == NFIELDS;
            for (int k = 0; ok && k < NFIELDS; k++) ok = !strcmp(f[k], HEADER[k]);
            if (!ok) {
                rc = gcam_errf(e, GCAM_E_PARSE, "%s:%d: bad header '%.*s': expected 'image,label,x0,y0,x1,y1'",
                               name, line, (int)(le - b > 200 ? 200 : le - b), b);
                break;
            }
            have_header = 1;
            continue;
        }
        if (nf != NFIELDS) {
            rc = gcam_errf(e, GCAM_E_PARSE, "%s:%d: expected 6 fields (image,label,x0,y0,x1,y1), got %d", name,
                           line, nf);
            break;
        }
        if (!f[0][0]) { rc = gcam_errf(e, GCAM_E_PARSE, "%s:%d: empty image name", name, line); break; }
        double c[4];
        for (int k = 0; k < 4 && !rc; k++)
            if (parse_coord(f[2 + k], &c[k]))
                rc = gcam_errf(e, GCAM_E_PARSE, "%s:%d: %s '%s' is not a number", name, line, HEADER[2 + k],
                               f[2 + k]);
        if (rc) break;
        if (!(c[0] < c[2] && c[1] < c[3])) {
            rc = gcam_errf(e, GCAM_E_PARSE, "%s:%d: empty box (%g,%g,%g,%g): need x0 < x1 and y0 < y1 (x1, y1 exclusive)",
                           name, line, c[0], c[1], c[2], c[3]);
            break;
        }
        int64_t cls = -1;
        for (int k = 0; k < n_labels; k++)
            if (labels[k] && !strcmp(labels[k], f[1])) { cls = k; break; }
        if (cls < 0 && n_labels == 0) {
            char *ce;
            errno = 0;
            long long v = strtoll(f[1], &ce, 10);
            if (f[1][0] && !*ce && !errno && v >= 0 && (n_classes <= 0 || v < n_classes)) cls = v;
        }
        if (cls < 0) {
            rc = n_labels ? gcam_errf(e, GCAM_E_NOTFOUND, "%s:%d: unknown label '%s' (not a class name of this model)",
                                      name, line, f[1])
                          : gcam_errf(e, GCAM_E_NOTFOUND, "%s:%d: label '%s': the model has no class names, so labels must be class indices%s",
                                      name, line, f[1], n_classes > 0 ? " within its output" : "");
            break;
        }
        if (out->n == cap) {
            int nc = cap ? cap * 2 : 64;
            gcam_box_rec *nv = gcam_realloc(out->v, sizeof *nv * (size_t)nc);
            if (!nv) { rc = gcam_errf(e, GCAM_E_NOMEM, "out of memory"); break; }
            out->v = nv;
            cap = nc;
        }
        gcam_box_rec *r = &out->v[out->n];
        if (!(r->image = gcam_strdup(f[0]))) { rc = gcam_errf(e, GCAM_E_NOMEM, "out of memory"); break; }
        r->cls = cls;
        r->box = (gcam_ebox){c[0], c[1], c[2], c[3]};
        r->line = line;
        out->n++;
    }
    if (!rc && !have_header) rc = gcam_errf(e, GCAM_E_PARSE, "%s: empty file: expected the header 'image,label,x0,y0,x1,y1'", name);
    if (rc) gcam_boxes_free(out);
    return rc;
}

int gcam_boxes_load(const char *path, const char *const *labels, int n_labels, int64_t n_classes, gcam_boxes *out,
                    gcam_err *e)
{
    out->v = NULL;
    out->n = 0;
    unsigned char *buf;
    size_t len;
    int rc = gcam_file_read(path, GCAM_FILE_MAX_TEXT, "boxes file", &buf, &len, e);
    if (!rc) rc = gcam_boxes_parse((const char *)buf, len, path, labels, n_labels, n_classes, out, e);
    gcam_free(buf);
    return rc;
}

int gcam_boxes_check(const gcam_box_rec *r, const char *name, int img_w, int img_h, gcam_err *e)
{
    const gcam_ebox *b = &r->box;
    if (b->x0 >= 0 && b->y0 >= 0 && b->x1 <= img_w && b->y1 <= img_h && b->x0 < b->x1 && b->y0 < b->y1)
        return GCAM_OK;
    return gcam_errf(e, GCAM_E_RANGE, "%s:%d: box (%g,%g,%g,%g) is outside the %dx%d image %s", name, r->line,
                     b->x0, b->y0, b->x1, b->y1, img_w, img_h, r->image);
}
