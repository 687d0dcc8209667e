/* common.c - helpers shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* The message escaped (gcam_escape: one line, no terminal controls, valid
 * UTF-8): option values and names in it may come from anywhere. */
static void print_error(const char *fmt, va_list ap)
{
    char buf[2048], esc[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    gcam_escape(buf, esc, sizeof esc);
    fprintf(stderr, "gradcam: error: %s\n", esc);
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error(fmt, ap);
    va_end(ap);
    return 1;
}

int cli_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error(fmt, ap);
    va_end(ap);
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
}

const char *cli_esc(const char *s)
{
    static char ring[8][2048];
    static int next;
    char *b = ring[next++ % 8];
    if (gcam_escape(s, b, sizeof ring[0]) >= sizeof ring[0]) strcpy(b + sizeof ring[0] - 4, "...");
    return b;
}

int cli_check_output(const char *opt, const char *path)
{
    gcam_error e;
    if (gcam_file_check_output(path, &e)) return cli_fail("%s %s", opt, e.msg);
    return 0;
}

int cli_parse_range(const char *opt, const char *v, long min, long max, long *out)
{
    long x;
    if (cli_parse_int(v, &x) || x < min || x > max) {
        cli_fail("bad %s '%s' (an integer from %ld to %ld)", opt, v, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

void cli_json_num(FILE *f, double v, const char *what)
{
    static int warned;
    if (isfinite(v)) {
        fprintf(f, "%.6g", v);
        return;
    }
    /* JSON has no NaN or infinity */
    fputs("null", f);
    if (!warned++) fprintf(stderr, "gradcam: warning: %s: a non-finite number (%g) is written as null in the JSON\n", what, v);
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_fail("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_parse_int(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

int cli_parse_float(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* nan and inf are never a sensible setting */
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

long cli_max_memory_mb;
int cli_profile;
int cli_profile_nodes = 10;

/* The library reads no environment; the command maps these variables onto
 * the model's settings (gcam.h, GCAM_OPTION_LIST), for A/B runs and
 * debugging: "0" or "1" as the setting, except GCAM_CONV, which takes "ref"
 * or "onednn" as it always has. */
static const struct {
    const char *var;
    gcam_option opt;
} env_options[] = {
    {"GCAM_CONV", GCAM_OPT_CONV_REFERENCE},       {"GCAM_FUSE", GCAM_OPT_FUSE},
    {"GCAM_NHWC", GCAM_OPT_CHANNELS_LAST},        {"GCAM_HEADSUM", GCAM_OPT_HEAD_SHORTCUT},
    {"GCAM_MASKCONV", GCAM_OPT_SCORECAM_MASKCONV}, {"GCAM_CONV_VERBOSE", GCAM_OPT_CONV_VERBOSE},
    {"GCAM_WINOGRAD", GCAM_OPT_WINOGRAD},          {"GCAM_PACKED_GEMM", GCAM_OPT_PACKED_GEMM},
};

static int apply_env_options(gcam_model *m)
{
    for (size_t i = 0; i < sizeof env_options / sizeof env_options[0]; i++) {
        const char *v = getenv(env_options[i].var);
        if (!v || !*v) continue;
        const int conv = env_options[i].opt == GCAM_OPT_CONV_REFERENCE;
        int value = conv ? (!strcmp(v, "ref") ? 1 : !strcmp(v, "onednn") ? 0 : -1)
                         : (!strcmp(v, "1") ? 1 : !strcmp(v, "0") ? 0 : -1);
        if (value < 0) return cli_fail("%s=%s: expected %s", env_options[i].var, v, conv ? "ref or onednn" : "0 or 1");
        gcam_model_set_option(m, env_options[i].opt, value);
    }
    return 0;
}

gcam_model *cli_load_model(const char *path, int threads)
{
    gcam_model *m = NULL;
    int rc = gcam_model_load(path, &m);
    if (rc) {
        cli_fail("%s", m ? gcam_model_errmsg(m) : gcam_status_str(rc));
        gcam_model_free(m);
        return NULL;
    }
    if (threads > 0) gcam_model_set_threads(m, threads);
    if (cli_max_memory_mb > 0) gcam_model_set_memory_limit(m, (size_t)cli_max_memory_mb << 20);
    if (apply_env_options(m) || (cli_profile && gcam_model_set_option(m, GCAM_OPT_PROFILE, 1))) {
        gcam_model_free(m);
        return NULL;
    }
    return m;
}

/* --profile: time per op type (sorted, with its share of the total), then
 * the slowest nodes, on stderr. */
static void print_profile(gcam_model *m)
{
    const gcam_profile_row *r;
    int n;
    if (gcam_model_profile(m, &r, &n) || n == 0) return;
    typedef struct { const char *op; double ms; int nodes; int64_t calls; } agg;
    agg *a = calloc((size_t)n, sizeof *a);
    int *order = malloc(sizeof(int) * (size_t)n);
    if (!a || !order) {
        free(a);
        free(order);
        return;
    }
    int na = 0;
    double total = 0;
    for (int i = 0; i < n; i++) {
        const double ms = r[i].forward_ms + r[i].backward_ms;
        total += ms;
        int k = 0;
        while (k < na && strcmp(a[k].op, r[i].op_type)) k++;
        if (k == na) a[na++].op = r[i].op_type;
        a[k].ms += ms;
        a[k].nodes++;
        a[k].calls += r[i].forward_calls + r[i].backward_calls;
    }
    for (int i = 1; i < na; i++) /* by time, largest first */
        for (int j = i; j > 0 && a[j].ms > a[j - 1].ms; j--) {
            agg t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
    fprintf(stderr, "profile: %.2f ms in %d nodes (forward + backward, every pass)\n", total, n);
    fprintf(stderr, "  %-44s %10s %7s %6s %7s\n", "op type", "ms", "share", "nodes", "calls");
    for (int k = 0; k < na; k++)
        fprintf(stderr, "  %-44s %10.2f %6.1f%% %6d %7lld\n", a[k].op, a[k].ms, total > 0 ? 100 * a[k].ms / total : 0,
                a[k].nodes, (long long)a[k].calls);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && r[order[j]].forward_ms + r[order[j]].backward_ms >
                                     r[order[j - 1]].forward_ms + r[order[j - 1]].backward_ms; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    fprintf(stderr, "  slowest nodes:\n");
    for (int i = 0; i < n && i < cli_profile_nodes; i++) {
        const gcam_profile_row *x = &r[order[i]];
        fprintf(stderr, "    %-44s %-28s fwd %9.2f ms (%lld)  bwd %9.2f ms (%lld)\n", x->node, x->op_type,
                x->forward_ms, (long long)x->forward_calls, x->backward_ms, (long long)x->backward_calls);
    }
    free(a);
    free(order);
}

void cli_free_model(gcam_model *m)
{
    if (m && cli_profile) print_profile(m);
    gcam_model_free(m);
}

const char *cli_default_model(void)
{
    static char path[4096];
    const char *env = getenv("GRADCAM_MODEL");
    if (env && *env) return env;
    snprintf(path, sizeof path, "%s/models/demo.onnx", GCAM_SOURCE_DIR);
    if (access(path, R_OK) == 0) return path;
    return "models/demo.onnx";
}

int cli_read_npy(const char *path, gcam_array *arr)
{
    gcam_error e;
    if (gcam_array_load_npy(path, arr, &e)) return cli_fail("%s", e.msg);
    return 0;
}

int cli_write_npy(const char *path, const gcam_array *arr)
{
    gcam_error e;
    if (gcam_array_save_npy(path, arr, &e)) return cli_fail("%s", e.msg);
    return 0;
}

int cli_load_labels(const char *file, gcam_model *m, char ***labels)
{
    gcam_error e;
    int n;
    if (gcam_labels_load(file, m, labels, &n, &e)) {
        cli_fail("%s", e.msg);
        return -1;
    }
    return n;
}

void cli_free_labels(char **labels, int n) { gcam_labels_free(labels, n); }

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

const char *cli_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void cli_json_str(FILE *f, const char *s)
{
    /* escaped first (valid UTF-8, controls as \xNN); then JSON's own rules
     * turn each \xNN into \\xNN, text that reads the same */
    size_t need = gcam_escape(s, NULL, 0) + 1;
    char small[1024], *b = need <= sizeof small ? small : malloc(need);
    if (!b) b = small, need = sizeof small;
    gcam_escape(s, b, need);
    fputc('"', f);
    for (const char *p = b; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
    if (b != small) free(b);
}

void cli_print_methods(FILE *f)
{
    for (int k = 0; k < GCAM_METHOD_COUNT; k++)
        fprintf(f, "  %-22s%s\n", gcam_method_name(k), gcam_method_summary(k));
}

const char *cli_method_names(void)
{
    static char list[1024];
    size_t n = 0;
    for (int k = 0; k < GCAM_METHOD_COUNT && n < sizeof list; k++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k ? ", " : "", gcam_method_name(k));
    return list;
}

