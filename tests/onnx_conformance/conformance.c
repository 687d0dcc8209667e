/* conformance.c - runs the ONNX backend node tests (Debian's libonnx-testdata)
 * through the public API.  Every case whose ops are all supported must pass;
 * a case that needs an attribute or dtype we do not handle is SKIPped with
 * the reason; cases using ops outside our table are counted, not run.
 * Tolerance: |ours - ref| <= 1e-5 + 1e-3 * |ref| (ONNX's own rtol). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gcam.h"
#include "gcam_internal.h"

int gcam_tensor_load_pb(const char *path, gcam_tensor *t, gcam_err *e);

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* 0 pass, 1 fail, 2 skip; reason filled for fail/skip */
static int run_case(const char *dir, char *reason, size_t rcap)
{
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    gcam_model *m = NULL;
    int rc = gcam_model_load(path, &m);
    if (rc) {
        int unsupported_op = rc == GCAM_E_UNSUPPORTED && strstr(gcam_model_errmsg(m), "unsupported node");
        snprintf(reason, rcap, "%s", gcam_model_errmsg(m));
        gcam_model_free(m);
        return unsupported_op ? 3 : rc == GCAM_E_UNSUPPORTED ? 2 : 1;
    }
    gcam_model_set_threads(m, 1);
    int result = 0, n_sets = 0;
    for (int set = 0; set < 8 && !result; set++) {
        char sd[4096 + 64];
        snprintf(sd, sizeof sd, "%s/test_data_set_%d", dir, set);
        if (!file_exists(sd)) break;
        n_sets++;
        int n_in = gcam_model_num_inputs(m);
        gcam_tensor in[16];
        gcam_array arr[16];
        const char *names[16];
        memset(in, 0, sizeof in);
        int loaded = 0;
        gcam_err e = {0};
        for (int i = 0; i < n_in && i < 16; i++) {
            snprintf(path, sizeof path, "%s/input_%d.pb", sd, i);
            if (gcam_tensor_load_pb(path, &in[i], &e)) {
                snprintf(reason, rcap, "input %d: %s", i, e.msg);
                result = e.code == GCAM_E_UNSUPPORTED ? 2 : 1;
                break;
            }
            loaded++;
            if (in[i].dtype != GCAM_DT_F32 && in[i].dtype != GCAM_DT_I64) {
                snprintf(reason, rcap, "input dtype %s not supported", gcam_dtype_name(in[i].dtype));
                result = 2;
                break;
            }
            arr[i].dtype = in[i].dtype;
            arr[i].ndim = in[i].ndim;
            memcpy(arr[i].dims, in[i].dims, sizeof in[i].dims);
            arr[i].data = in[i].data;
            names[i] = gcam_model_input_name(m, i);
        }
        if (!result && gcam_model_run(m, names, arr, n_in)) {
            snprintf(reason, rcap, "%s", gcam_model_errmsg(m));
            const char *msg = gcam_model_errmsg(m);
            result = (strstr(msg, "not supported") || strstr(msg, "unsupported")) ? 2 : 1;
        }
        for (int o = 0; !result && o < gcam_model_num_outputs(m); o++) {
            gcam_tensor ref;
            snprintf(path, sizeof path, "%s/output_%d.pb", sd, o);
            if (gcam_tensor_load_pb(path, &ref, &e)) {
                snprintf(reason, rcap, "output %d: %s", o, e.msg);
                result = e.code == GCAM_E_UNSUPPORTED ? 2 : 1;
                break;
            }
            gcam_array y;
            if (gcam_model_tensor(m, gcam_model_output_name(m, o), &y)) {
                snprintf(reason, rcap, "%s", gcam_model_errmsg(m));
                result = 1;
            } else if (ref.dtype != y.dtype) {
                snprintf(reason, rcap, "output %d: dtype %s, expected %s", o, gcam_dtype_name(y.dtype),
                         gcam_dtype_name(ref.dtype));
                result = ref.dtype == GCAM_DT_F32 || ref.dtype == GCAM_DT_I64 ? 1 : 2;
            } else if (ref.ndim != y.ndim || memcmp(ref.dims, y.dims, sizeof(int64_t) * ref.ndim)) {
                snprintf(reason, rcap, "output %d: shape mismatch (rank %d vs %d)", o, y.ndim, ref.ndim);
                result = 1;
            } else {
                int64_t n = gcam_numel(&ref);
                double worst = 0;
                int64_t wi = -1;
                for (int64_t k = 0; k < n; k++) {
                    double a, b;
                    if (ref.dtype == GCAM_DT_F32) { a = ((float *)y.data)[k]; b = ((float *)ref.data)[k]; }
                    else if (ref.dtype == GCAM_DT_I64) { a = (double)((int64_t *)y.data)[k]; b = (double)((int64_t *)ref.data)[k]; }
                    else { a = b = 0; }
                    if (isnan(a) && isnan(b)) continue;
                    double excess = fabs(a - b) - (1e-5 + 1e-3 * fabs(b));
                    if (!(excess <= worst)) { worst = isnan(excess) ? INFINITY : excess; wi = k; }
                }
                if (wi >= 0) {
                    double a = ref.dtype == GCAM_DT_F32 ? ((float *)y.data)[wi] : (double)((int64_t *)y.data)[wi];
                    double b = ref.dtype == GCAM_DT_F32 ? ((float *)ref.data)[wi] : (double)((int64_t *)ref.data)[wi];
                    snprintf(reason, rcap, "output %d [%lld]: got %.7g, expected %.7g", o, (long long)wi, a, b);
                    result = 1;
                }
            }
            free(ref.data);
            free(ref.name);
        }
        for (int i = 0; i < loaded; i++) {
            free(in[i].data);
            free(in[i].name);
        }
    }
    if (!result && !n_sets) {
        snprintf(reason, rcap, "no test_data_set");
        result = 1;
    }
    gcam_model_free(m);
    return result;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "/usr/share/libonnx-testdata/data/node";
    const char *filter = argc > 2 ? argv[2] : NULL;
    DIR *d = opendir(root);
    if (!d) {
        fprintf(stderr, "conformance: cannot open %s (install libonnx-testdata)\n", root);
        return 1;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "test_", 5)) continue;
        if (filter && !strstr(de->d_name, filter)) continue;
        if (n == cap) names = realloc(names, sizeof(char *) * (cap = cap ? 2 * cap : 1024));
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int passed = 0, failed = 0, skipped = 0, other = 0;
    for (int i = 0; i < n; i++) {
        char dir[4096 + 256], reason[1200] = "";
        snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
        int r = run_case(dir, reason, sizeof reason);
        if (r == 0) { printf("ok   %s\n", names[i]); passed++; }
        else if (r == 1) { printf("FAIL %s: %s\n", names[i], reason); failed++; }
        else if (r == 2) { printf("SKIP %s: %s\n", names[i], reason); skipped++; }
        else other++;
        free(names[i]);
    }
    free(names);
    printf("# %d cases use ops outside gradcam's op table and were not run\n", other);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
