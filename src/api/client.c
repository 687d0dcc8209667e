/* client.c - the calls a client needs without a model handle (gcam.h,
 * "without a model handle"): output-file checks and atomic writes, .npy
 * files, text files and labels, class scores and top-k.  Thin: each one
 * forwards to the one internal owner (util/fileio.c, util/npy.c,
 * eval/faithfulness.c) and hands its message back in a gcam_error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "gcam_internal.h"
#include "util/fileio.h"
#include "util/npy.h"

/* a fresh error: the caller's struct never keeps an older message */
static gcam_error *reset(gcam_error *err)
{
    if (err) {
        err->code = GCAM_OK;
        err->msg[0] = 0;
    }
    return err;
}

int gcam_file_check_output(const char *path, gcam_error *err)
{
    return gcam_out_check(path, reset(err));
}

int gcam_file_write_atomic(const char *path, const void *data, size_t len, gcam_error *err)
{
    gcam_outfile o;
    reset(err);
    if (!data && len) return gcam_errf(err, GCAM_E_ARG, "gcam_file_write_atomic: data is NULL");
    int rc = gcam_out_open(&o, path, err);
    if (rc) return rc;
    if (len && fwrite(data, 1, len, o.f) != len) {
        gcam_out_abort(&o);
        return gcam_errf(err, GCAM_E_IO, "cannot write %s", path);
    }
    return gcam_out_commit(&o, err);
}

int gcam_file_read_text(const char *path, const char *what, char **text, size_t *len, gcam_error *err)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    reset(err);
    if (!text) return gcam_errf(err, GCAM_E_ARG, "gcam_file_read_text: text is NULL");
    *text = NULL;
    int rc = gcam_file_read(path, GCAM_FILE_MAX_TEXT, what ? what : "file", &buf, &n, err);
    if (rc) return rc;
    *text = (char *)buf;
    if (len) *len = n;
    return GCAM_OK;
}

int gcam_array_load_npy(const char *path, gcam_array *a, gcam_error *err)
{
    gcam_tensor t;
    reset(err);
    if (a) memset(a, 0, sizeof *a);
    if (!path || !a) return gcam_errf(err, GCAM_E_ARG, "gcam_array_load_npy: %s is NULL", !path ? "path" : "a");
    int rc = gcam_npy_read(path, &t, err);
    if (rc) return rc;
    a->dtype = t.dtype;
    a->ndim = t.ndim;
    memcpy(a->dims, t.dims, sizeof(int64_t) * (size_t)t.ndim);
    a->data = t.data;
    return GCAM_OK;
}

int gcam_array_save_npy(const char *path, const gcam_array *a, gcam_error *err)
{
    reset(err);
    if (!path || !a) return gcam_errf(err, GCAM_E_ARG, "gcam_array_save_npy: %s is NULL", !path ? "path" : "a");
    if (!gcam_dtype_size(a->dtype))
        return gcam_errf(err, GCAM_E_ARG, "%s: unknown dtype %d (one of the GCAM_FLOAT32 ... codes)", path, a->dtype);
    return gcam_npy_write(path, a->dtype, a->dims, a->ndim, a->data, err);
}

/* ---- labels ---- */

void gcam_labels_free(char **labels, int n)
{
    if (!labels) return;
    for (int i = 0; i < n; i++) gcam_free(labels[i]);
    gcam_free(labels);
}

/* One label per line, trailing '\r' and spaces dropped; a trailing empty
 * line is not a label.  Returns the count or -1 (out of memory). */
static int split_lines(const char *text, char ***labels)
{
    int n = 0, cap = 16;
    char **v = gcam_malloc(sizeof(char *) * (size_t)cap);
    if (!v) return -1;
    for (const char *p = text; *p;) {
        const char *q = p;
        while (*q && *q != '\n') q++;
        size_t len = (size_t)(q - p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == ' ')) len--;
        if (n == cap) {
            char **nv = gcam_realloc(v, sizeof(char *) * (size_t)(cap *= 2));
            if (!nv) return gcam_labels_free(v, n), -1;
            v = nv;
        }
        if (!(v[n] = gcam_malloc(len + 1))) return gcam_labels_free(v, n), -1;
        memcpy(v[n], p, len);
        v[n++][len] = 0;
        p = *q ? q + 1 : q;
    }
    while (n > 0 && !v[n - 1][0]) gcam_free(v[--n]);
    *labels = v;
    return n;
}

int gcam_labels_load(const char *file, const gcam_model *m, char ***labels, int *n, gcam_error *err)
{
    reset(err);
    if (!labels || !n) return gcam_errf(err, GCAM_E_ARG, "gcam_labels_load: %s is NULL", !labels ? "labels" : "n");
    *labels = NULL;
    *n = 0;
    char *text = NULL;
    const char *src = NULL;
    if (file) {
        int rc = gcam_file_read_text(file, "labels file", &text, NULL, err);
        if (rc) return rc;
        src = text;
    } else {
        src = m ? gcam_model_metadata(m, "gradcam.labels") : NULL;
        if (!src) return GCAM_OK;
    }
    int k = split_lines(src, labels);
    gcam_free(text);
    if (k < 0) {
        *labels = NULL;
        return gcam_errf(err, GCAM_E_NOMEM, "out of memory reading %s", file ? file : "the model's labels");
    }
    *n = k;
    return GCAM_OK;
}

/* ---- scores ---- */

static const char *const SCORE_KINDS[] = {[GCAM_SCORE_SOFTMAX] = "softmax", [GCAM_SCORE_SIGMOID] = "sigmoid",
                                          [GCAM_SCORE_LOGIT] = "logit"};

int gcam_score_kind_parse(const char *name)
{
    for (int k = 0; name && k < (int)(sizeof SCORE_KINDS / sizeof SCORE_KINDS[0]); k++)
        if (!strcmp(name, SCORE_KINDS[k])) return k;
    return -1;
}

const char *gcam_score_kind_name(int kind)
{
    return kind >= 0 && kind < (int)(sizeof SCORE_KINDS / sizeof SCORE_KINDS[0]) ? SCORE_KINDS[kind] : NULL;
}

int gcam_model_score_kind(const gcam_model *m)
{
    int k = gcam_score_kind_parse(m ? gcam_model_metadata(m, "gradcam.output") : NULL);
    return k < 0 ? GCAM_SCORE_SOFTMAX : k;
}

double gcam_score(const float *logits, int64_t n, int64_t c, int kind)
{
    if (!logits || c < 0 || c >= n) return NAN;
    double z = logits[c];
    if (kind == GCAM_SCORE_LOGIT) return z;
    if (kind == GCAM_SCORE_SIGMOID) return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
    double mx = -INFINITY, sum = 0;
    for (int64_t k = 0; k < n; k++) mx = fmax(mx, logits[k]);
    for (int64_t k = 0; k < n; k++) sum += exp(logits[k] - mx);
    return exp(z - mx) / sum;
}

/* a before b in the ranking: the larger first, NaN after every number */
static int ranks_before(float a, float b) { return !isnan(a) && (isnan(b) || a > b); }

int gcam_topk(const float *v, int64_t n, int k, int64_t *idx)
{
    if (!v || !idx || n < 1 || k < 1) return 0;
    if (k > n) k = (int)n;
    /* insertion into a sorted prefix of k: strict comparison keeps the lower
     * index first among equals, since indices arrive in order */
    int have = 0;
    for (int64_t i = 0; i < n; i++) {
        if (have == k && !ranks_before(v[i], v[idx[k - 1]])) continue;
        int j = have < k ? have++ : k - 1;
        while (j > 0 && ranks_before(v[i], v[idx[j - 1]])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return have;
}
