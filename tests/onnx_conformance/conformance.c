/* conformance.c - runs the ONNX backend tests (Debian's libonnx-testdata:
 * node/, pytorch-converted/, pytorch-operator/, simple/) through the public
 * API.  Usage: gcam_conformance DIR... [-k FILTER]
 * Every case must pass, except:
 *  - a case using an op that docs/ops.md lists as out of scope (the table
 *    below, same reasons): SKIP naming the op and the reason;
 *  - any other unsupported op, attribute or type: SKIP with the engine's
 *    one-line message (counted apart, as "not yet", so the gap is visible);
 *  - a test whose own input data contradicts its model's declared input
 *    shape (the engine checks it): SKIP "invalid test data", counted apart.
 * Every dtype is compared (float16/bfloat16/float64 references become float32 when
 * loaded, as in the engine).  Tolerance: |ours - ref| <= 1e-5 + 1e-3 * |ref|
 * (ONNX's own rtol); integers and bools exactly.  Counts per directory. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gcam.h"
#include "gcam_internal.h"
#include "kernels/dtype.h"

int gcam_tensor_load_pb(const char *path, gcam_tensor *t, gcam_err *e);

/* Ops out of scope, with the reason (mirrors docs/ops.md "Out of scope"). */
#define OUT_OF_SCOPE(X)                                                                                \
    X("strings", "StringNormalizer StringConcat StringSplit RegexFullMatch TfIdfVectorizer LabelEncoder") \
    X("sequences, maps and optionals", "SequenceAt SequenceConstruct SequenceEmpty SequenceErase "        \
      "SequenceInsert SequenceLength SequenceMap SplitToSequence ConcatFromSequence Optional "             \
      "OptionalGetElement OptionalHasElement")                                                         \
    X("control flow", "If Loop Scan")                                                                  \
    X("training ops", "Adagrad Adam Momentum Gradient NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss") \
    X("random generators", "RandomNormal RandomNormalLike RandomUniform RandomUniformLike Multinomial Bernoulli")

typedef struct { const char *reason, *ops; } scope_row;
static const scope_row out_of_scope[] = {
#define ROW(r, o) {r, o},
    OUT_OF_SCOPE(ROW)
#undef ROW
};

/* The reason when op is out of scope, else NULL. */
static const char *scope_reason(const char *op)
{
    size_t n = strlen(op);
    for (size_t i = 0; i < sizeof out_of_scope / sizeof out_of_scope[0]; i++)
        for (const char *p = out_of_scope[i].ops; (p = strstr(p, op)); p += n)
            if ((p == out_of_scope[i].ops || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return out_of_scope[i].reason;
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

enum { PASS, FAIL, SKIP_SCOPE, SKIP_NYI, SKIP_DATA };

/* The engine's message for the model's unsupported nodes: "... (Op, opset N)"
 * entries.  SKIP_SCOPE if any op named is out of scope (reason set). */
static int classify_load_error(const char *msg, int rc, char *reason, size_t rcap)
{
    if (strstr(msg, "is not a tensor (sequence")) {
        snprintf(reason, rcap, "out of scope (sequences, maps and optionals): %s", msg);
        return SKIP_SCOPE;
    }
    if (strstr(msg, "training_mode=")) {
        snprintf(reason, rcap, "out of scope (training ops): %s", msg);
        return SKIP_SCOPE;
    }
    if (strstr(msg, "string")) {
        snprintf(reason, rcap, "out of scope (strings): %s", msg);
        return SKIP_SCOPE;
    }
    for (const char *p = msg; (p = strstr(p, "' (")); p += 3) {
        char op[128];
        const char *s = p + 3, *dot = NULL, *end = strstr(s, ", opset");
        if (!end || end - s >= (long)sizeof op) continue;
        for (const char *q = s; q < end; q++)
            if (*q == '.') dot = q;
        if (dot) s = dot + 1;
        memcpy(op, s, (size_t)(end - s));
        op[end - s] = 0;
        const char *why = scope_reason(op);
        if (why) {
            snprintf(reason, rcap, "out of scope (%s): op %s", why, op);
            return SKIP_SCOPE;
        }
    }
    snprintf(reason, rcap, "%s", msg);
    return rc == GCAM_E_UNSUPPORTED ? SKIP_NYI : FAIL;
}

/* ONNX's test generator stores bfloat16 tensors as their uint16 bits (numpy
 * has no bfloat16): where a uint16 file meets a float32 tensor of the engine
 * (which holds bfloat16 as float32), read the bits as bfloat16. */
static int bf16_to_f32(gcam_tensor *t)
{
    if (t->dtype != GCAM_DT_U16) return 0;
    int64_t n = gcam_numel(t);
    float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!f) return -1;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)((const uint16_t *)t->data)[i] << 16;
        memcpy(f + i, &bits, 4);
    }
    free(t->data);
    t->data = f;
    t->dtype = GCAM_DT_F32;
    return 1;
}

/* Compares one output; PASS, or FAIL with the reason. */
static int compare(gcam_tensor *ref, const gcam_array *y, int o, char *reason, size_t rcap)
{
    if (ref->dtype == GCAM_DT_U16 && y->dtype == GCAM_DT_F32) bf16_to_f32(ref);
    if (ref->dtype != y->dtype) {
        snprintf(reason, rcap, "output %d: dtype %s, expected %s", o, gcam_dtype_name(y->dtype),
                 gcam_dtype_name(ref->dtype));
        return FAIL;
    }
    if (ref->ndim != y->ndim || memcmp(ref->dims, y->dims, sizeof(int64_t) * (size_t)ref->ndim)) {
        snprintf(reason, rcap, "output %d: shape mismatch (rank %d vs %d)", o, y->ndim, ref->ndim);
        return FAIL;
    }
    int64_t n = gcam_numel(ref);
    double worst = 0;
    int64_t wi = -1;
    for (int64_t k = 0; k < n; k++) {
        double a = gcam_get_f(y->data, y->dtype, k), b = gcam_get_f(ref->data, ref->dtype, k);
        if (isnan(a) && isnan(b)) continue;
        if (ref->dtype != GCAM_DT_F32) {
            if (gcam_get_i(y->data, y->dtype, k) != gcam_get_i(ref->data, ref->dtype, k)) { wi = k; break; }
            continue;
        }
        if (isinf(a) && a == b) continue;
        double excess = fabs(a - b) - (1e-5 + 1e-3 * fabs(b));
        if (!(excess <= worst)) { worst = isnan(excess) ? INFINITY : excess; wi = k; }
    }
    if (wi < 0) return PASS;
    snprintf(reason, rcap, "output %d [%lld]: got %.7g, expected %.7g", o, (long long)wi,
             gcam_get_f(y->data, y->dtype, wi), gcam_get_f(ref->data, ref->dtype, wi));
    return FAIL;
}

/* One test_data_set: PASS, FAIL or SKIP_NYI with the reason. */
static int run_set(gcam_model *m, const char *sd, char *reason, size_t rcap)
{
    char path[4096 + 128];
    int n_in = gcam_model_num_inputs(m), loaded = 0, result = PASS;
    gcam_tensor in[16];
    gcam_array arr[16];
    const char *names[16];
    gcam_err e = {0};
    memset(in, 0, sizeof in);
    for (int i = 0; i < n_in && i < 16; i++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", sd, i);
        if (gcam_tensor_load_pb(path, &in[i], &e)) {
            result = classify_load_error(e.msg, e.code, reason, rcap);
            break;
        }
        loaded++;
        arr[i].dtype = in[i].dtype;
        arr[i].ndim = in[i].ndim;
        memcpy(arr[i].dims, in[i].dims, sizeof in[i].dims);
        arr[i].data = in[i].data;
        names[i] = gcam_model_input_name(m, i);
    }
    int rc = result == PASS ? gcam_model_run(m, names, arr, n_in) : 0;
    if (rc && strstr(gcam_model_errmsg(m), "got uint16, the model expects float32")) {
        for (int i = 0; i < loaded; i++)
            if (bf16_to_f32(&in[i]) > 0) {
                arr[i].dtype = GCAM_DT_F32;
                arr[i].data = in[i].data;
            }
        rc = gcam_model_run(m, names, arr, n_in);
    }
    if (rc && strstr(gcam_model_errmsg(m), "does not match the model's")) {
        /* e.g. CastLike's 'like' given as [1] for a declared [3,4]: the
         * engine checks declared input shapes, the test data broke its own */
        snprintf(reason, rcap, "invalid test data: %s", gcam_model_errmsg(m));
        result = SKIP_DATA;
    } else if (rc)
        result = classify_load_error(gcam_model_errmsg(m), rc, reason, rcap);
    for (int o = 0; result == PASS && o < gcam_model_num_outputs(m); o++) {
        gcam_tensor ref;
        snprintf(path, sizeof path, "%s/output_%d.pb", sd, o);
        if (gcam_tensor_load_pb(path, &ref, &e)) {
            result = classify_load_error(e.msg, e.code, reason, rcap);
            break;
        }
        gcam_array y;
        if (gcam_model_tensor(m, gcam_model_output_name(m, o), &y)) {
            snprintf(reason, rcap, "%s", gcam_model_errmsg(m));
            result = FAIL;
        } else result = compare(&ref, &y, o, reason, rcap);
        free(ref.data);
        free(ref.name);
    }
    for (int i = 0; i < loaded; i++) {
        free(in[i].data);
        free(in[i].name);
    }
    return result;
}

static int run_case(const char *dir, char *reason, size_t rcap)
{
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    gcam_model *m = NULL;
    int rc = gcam_model_load(path, &m);
    if (rc) {
        int r = classify_load_error(gcam_model_errmsg(m), rc, reason, rcap);
        gcam_model_free(m);
        return r;
    }
    gcam_model_set_threads(m, 1);
    int result = PASS, n_sets = 0;
    for (int set = 0; set < 8 && result == PASS; set++) {
        char sd[4096 + 64];
        snprintf(sd, sizeof sd, "%s/test_data_set_%d", dir, set);
        if (!file_exists(sd)) break;
        n_sets++;
        result = run_set(m, sd, reason, rcap);
    }
    if (result == PASS && !n_sets) {
        snprintf(reason, rcap, "no test_data_set");
        result = FAIL;
    }
    gcam_model_free(m);
    return result;
}

/* Runs every case of root; adds to counts[5] (PASS, FAIL, SKIP_SCOPE, SKIP_NYI, SKIP_DATA). */
static int run_dir(const char *root, const char *filter, int counts[4])
{
    DIR *d = opendir(root);
    if (!d) {
        fprintf(stderr, "conformance: cannot open %s (install libonnx-testdata)\n", root);
        return -1;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "test_", 5)) continue;
        if (filter && !strstr(de->d_name, filter)) continue;
        if (n == cap) names = realloc(names, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 1024));
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    static const char *const tag[] = {"ok  ", "FAIL", "SKIP", "SKIP", "SKIP"};
    int c[5] = {0};
    for (int i = 0; i < n; i++) {
        char dir[4096 + 256], reason[1200] = "";
        snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
        int r = run_case(dir, reason, sizeof reason);
        c[r]++;
        if (r == PASS) printf("ok   %s\n", names[i]);
        else printf("%s %s: %s%s\n", tag[r], names[i], r == SKIP_NYI ? "not yet supported: " : "", reason);
        free(names[i]);
    }
    free(names);
    printf("# %s: %d passed, %d failed, %d skipped out of scope, %d skipped not yet supported, %d skipped invalid test data\n",
           root, c[PASS], c[FAIL], c[SKIP_SCOPE], c[SKIP_NYI], c[SKIP_DATA]);
    for (int k = 0; k < 5; k++) counts[k] += c[k];
    return 0;
}

int main(int argc, char **argv)
{
    const char *dirs[16], *filter = NULL;
    int nd = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-k") && i + 1 < argc) filter = argv[++i];
        else if (nd < 16) dirs[nd++] = argv[i];
    }
    if (!nd) dirs[nd++] = "/usr/share/libonnx-testdata/data/node";
    int counts[5] = {0}, bad = 0;
    for (int i = 0; i < nd; i++) bad |= run_dir(dirs[i], filter, counts) != 0;
    printf("%d passed, %d failed, %d skipped (%d out of scope, %d not yet supported, %d invalid test data)\n", counts[PASS],
           counts[FAIL] + bad, counts[SKIP_SCOPE] + counts[SKIP_NYI] + counts[SKIP_DATA], counts[SKIP_SCOPE],
           counts[SKIP_NYI], counts[SKIP_DATA]);
    return counts[FAIL] || bad ? 1 : 0;
}
