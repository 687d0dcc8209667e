/* sgemm_peak.c - the machine's practical fp32 peak, for bench/run_bench.sh:
 * the best GFLOP/s of oneDNN's dnnl_sgemm on large square products, with
 * the OpenMP team size given (default 2).
 *
 *   sgemm_peak [threads]   -> {"threads": 2, "gflops": 230.1, "n": 2048}
 */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    omp_set_num_threads(threads);
    double best = 0;
    int best_n = 0;
    const int sizes[] = {1024, 2048, 3072};
    for (int si = 0; si < 3; si++) {
        int n = sizes[si];
        float *a = aligned_alloc(64, sizeof(float) * n * n), *b = aligned_alloc(64, sizeof(float) * n * n),
              *c = aligned_alloc(64, sizeof(float) * n * n);
        for (long i = 0; i < (long)n * n; i++) {
            a[i] = (float)(i % 7) * 0.1f;
            b[i] = (float)(i % 5) * 0.1f;
            c[i] = 0;
        }
        for (int r = 0; r < 6; r++) { /* the first run warms up; take the best */
            double t0 = now_s();
            if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) != dnnl_success) return 1;
            double g = 2.0 * n * n * (double)n / (now_s() - t0) / 1e9;
            if (r && g > best) {
                best = g;
                best_n = n;
            }
        }
        free(a);
        free(b);
        free(c);
    }
    printf("{\"threads\": %d, \"gflops\": %.1f, \"n\": %d}\n", threads, best, best_n);
    return 0;
}
