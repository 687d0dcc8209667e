/* gcam_bench.c - timings of the gradcam library for bench/run_bench.sh.
 *
 *   gcam_bench --model M.onnx --input X.npy [--layer NAME] [--warmup 3] [--repeat 10]
 *              [--threads 2] [--images DIR --out DIR] [--mode all|forward|gradcam|load]
 *              [--method gradcam|scorecam|ablationcam|...] [--batch-size N]
 *              [--set OPTION=VALUE]...   (a library setting, for A/Bs: --set packed-gemm=0)
 *
 * Prints one JSON object on stdout:
 *   load_ms          gcam_model_load (parse the ONNX file, weights included)
 *   plan_ms          the first run's extra cost: shapes, fusion, memory plan and
 *                    building the oneDNN primitives (first run - median run)
 *   forward_ms[]     each timed forward (gcam_model_run), after warm-up
 *   forward_cpu_ms[], gradcam_cpu_ms[]: the same runs in process CPU time
 *   gradcam_ms[]     each timed Grad-CAM (gcam_explain: forward, backward to
 *                    the layer, map, resize), after warm-up; with --method,
 *                    that method instead (the keys keep their names)
 *   images, images_s decode + preprocess + explain + overlay PNG for every
 *                    .png/.jpg in DIR, model already loaded
 * Only the public API (gcam.h) is used: this is what an application sees. */
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcam.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* CPU time of the whole process (all threads): on a shared machine, where
 * wall time also counts other people's work, this is the steadier measure. */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double *c = malloc(sizeof(double) * (size_t)n);
    memcpy(c, v, sizeof(double) * (size_t)n);
    qsort(c, (size_t)n, sizeof *c, cmp_d);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static void print_list(const char *name, const double *v, int n)
{
    printf(", \"%s\": [", name);
    for (int i = 0; i < n; i++) printf("%s%.3f", i ? ", " : "", v[i]);
    printf("], \"%s_median\": %.3f", name, n ? median(v, n) : 0.0);
}

static int fail(gcam_model *m, const char *what)
{
    fprintf(stderr, "gcam_bench: %s: %s\n", what, m ? gcam_model_errmsg(m) : "?");
    return 1;
}

static int has_ext(const char *name)
{
    const char *d = strrchr(name, '.');
    return d && (!strcmp(d, ".png") || !strcmp(d, ".jpg") || !strcmp(d, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *layer = NULL, *images = NULL, *outdir = NULL, *mode = "all";
    const char *method = "gradcam";
    int warmup = 3, repeat = 10, threads = 2, batch = 0;
    const char *sets[16];
    int nsets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "gcam_bench: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--input"))
            input = v;
        else if (!strcmp(a, "--layer"))
            layer = v;
        else if (!strcmp(a, "--images"))
            images = v;
        else if (!strcmp(a, "--out"))
            outdir = v;
        else if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--method"))
            method = v;
        else if (!strcmp(a, "--batch-size"))
            batch = atoi(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atoi(v);
        else if (!strcmp(a, "--repeat"))
            repeat = atoi(v);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--set") && nsets < 16)
            sets[nsets++] = v;
        else {
            fprintf(stderr, "gcam_bench: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (!model || !input || repeat < 1) {
        fprintf(stderr,
                "usage: gcam_bench --model M.onnx --input X.npy [--layer NAME] [--warmup N] "
                "[--repeat N] [--threads N] [--images DIR --out DIR] [--mode all|forward|gradcam|load] "
                "[--method NAME] [--batch-size N] [--set OPTION=0|1]...\n");
        return 2;
    }
    int do_fwd = !strcmp(mode, "all") || !strcmp(mode, "forward");
    int do_cam = !strcmp(mode, "all") || !strcmp(mode, "gradcam");

    double t0 = now_ms(), c0 = cpu_ms();
    gcam_model *m = NULL;
    if (gcam_model_load(model, &m)) return fail(m, "load");
    double load_ms = now_ms() - t0, load_cpu = cpu_ms() - c0;
    gcam_model_set_threads(m, threads);
    for (int i = 0; i < nsets; i++) { /* A/B of a setting: --set packed-gemm=0 */
        const char *eq = strchr(sets[i], '=');
        char name[64];
        int opt = -1;
        if (eq && eq - sets[i] < (ptrdiff_t)sizeof name) {
            memcpy(name, sets[i], (size_t)(eq - sets[i]));
            name[eq - sets[i]] = '\0';
            opt = gcam_option_parse(name);
        }
        if (opt < 0 || gcam_model_set_option(m, (gcam_option)opt, atoi(eq + 1))) {
            fprintf(stderr, "gcam_bench: --set %s: not OPTION=VALUE with a known option\n", sets[i]);
            return 2;
        }
    }
    gcam_array x = {0};
    if (gcam_npy_load(m, input, &x)) return fail(m, "input");

    t0 = now_ms();
    c0 = cpu_ms();
    if (gcam_model_run(m, NULL, &x, 1)) return fail(m, "forward");
    double first_ms = now_ms() - t0, first_cpu = cpu_ms() - c0;

    double *fw = calloc((size_t)repeat, sizeof(double)), *gc = calloc((size_t)repeat, sizeof(double));
    double *fwc = calloc((size_t)repeat, sizeof(double)), *gcc = calloc((size_t)repeat, sizeof(double));
    int nfw = 0, ngc = 0;
    gcam_explain_opts eo;
    gcam_explain_opts_default(&eo);
    int method_id = gcam_method_parse(method);
    if (method_id >= 0) eo.method = (gcam_method)method_id;
    else {
        fprintf(stderr, "gcam_bench: unknown method %s\n", method);
        return 2;
    }
    eo.batch_size = batch;
    const char *layers[1] = {layer};
    if (layer) {
        eo.layers = layers;
        eo.n_layers = 1;
    }
    /* forward and Grad-CAM alternate, so that both see the same machine: on
     * a shared one the load drifts within seconds */
    double bwd_sum = 0;
    for (int i = 0; i < warmup + repeat && (do_fwd || do_cam); i++) {
        if (do_fwd) {
            double c0 = cpu_ms();
            t0 = now_ms();
            if (gcam_model_run(m, NULL, &x, 1)) return fail(m, "forward");
            if (i >= warmup) {
                fw[nfw] = now_ms() - t0;
                fwc[nfw++] = cpu_ms() - c0;
            }
        }
        if (do_cam) {
            gcam_explanation *ex = NULL;
            double c0 = cpu_ms();
            t0 = now_ms();
            if (gcam_explain(m, &x, &eo, &ex)) return fail(m, "explain");
            double t = now_ms() - t0;
            if (i >= warmup) {
                gcc[ngc] = cpu_ms() - c0;
                gc[ngc++] = t;
                bwd_sum += gcam_explanation_time_ms(ex, "backward");
            }
            gcam_explanation_free(ex);
        }
    }
    int n_img = 0;
    double img_ms = 0;
    if (images && outdir) {
        DIR *d = opendir(images);
        if (!d) {
            fprintf(stderr, "gcam_bench: cannot open %s\n", images);
            return 1;
        }
        char **names = NULL;
        int cap = 0, n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!has_ext(de->d_name)) continue;
            if (n == cap) names = realloc(names, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 64));
            names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof *names, cmp_str);
        char path[4096], out[4096];
        t0 = now_ms();
        for (int i = 0; i < n; i++) {
            gcam_photo *ph = NULL;
            gcam_array in = {0};
            gcam_explanation *ex = NULL;
            snprintf(path, sizeof path, "%s/%s", images, names[i]);
            snprintf(out, sizeof out, "%s/%s.cam.png", outdir, names[i]);
            if (gcam_photo_load(m, path, NULL, &ph, &in)) return fail(m, path);
            if (gcam_explain(m, &in, &eo, &ex)) return fail(m, "explain");
            if (gcam_save_overlay(m, ph, ex, "jet", 0.5f, out)) return fail(m, "overlay");
            gcam_explanation_free(ex);
            gcam_array_free(&in);
            gcam_photo_free(ph);
            free(names[i]);
            n_img++;
        }
        img_ms = now_ms() - t0;
        free(names);
    }

    printf("{\"version\": \"%s\", \"load_ms\": %.3f, \"first_run_ms\": %.3f", gcam_version(), load_ms,
           first_ms);
    printf(", \"load_cpu_ms\": %.3f, \"first_run_cpu_ms\": %.3f", load_cpu, first_cpu);
    if (nfw) printf(", \"plan_ms\": %.3f", first_ms - median(fw, nfw));
    print_list("forward_ms", fw, nfw);
    print_list("gradcam_ms", gc, ngc);
    print_list("forward_cpu_ms", fwc, nfw);
    print_list("gradcam_cpu_ms", gcc, ngc);
    printf(", \"gradcam_backward_mean_ms\": %.3f", ngc ? bwd_sum / ngc : 0.0);
    printf(", \"images\": %d, \"images_s\": %.3f}\n", n_img, img_ms / 1e3);
    free(fw);
    free(gc);
    free(fwc);
    free(gcc);
    gcam_array_free(&x);
    gcam_model_free(m);
    return 0;
}
