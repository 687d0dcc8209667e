/* cli.h - shared helpers for the gradcam subcommands. */
#ifndef GCAM_CLI_H
#define GCAM_CLI_H
#include <stdio.h>

#include "gcam.h"

/* One line "gradcam: error: ..." on stderr; returns 1 (the exit status). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: prints the message and the subcommand's usage, returns 2. */
int cli_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Every method of the library, a line each with its summary; and their names, comma-separated. */
void cli_print_methods(FILE *f);
const char *cli_method_names(void);

/* s escaped for the terminal (gcam_escape), in one of 8 rotating static
 * buffers: for names from model and input files in listings. */
const char *cli_esc(const char *s);
/* Fails (one error line naming opt, returns 1) unless path can be written:
 * every output is checked before any work starts. */
int cli_check_output(const char *opt, const char *path);
/* An integer option within [min, max]; prints the error and returns -1. */
int cli_parse_range(const char *opt, const char *v, long min, long max, long *out);
/* The most --threads: beyond it OpenMP would start thousands of OS threads. */
#define CLI_MAX_THREADS GCAM_MAX_THREADS
/* A JSON number; non-finite ones are null, with one warning on stderr. */
void cli_json_num(FILE *f, double v, const char *what);

/* argv walking: `i` is advanced past the value; returns NULL (after printing) if missing. */
const char *cli_value(int argc, char **argv, int *i);
int cli_parse_int(const char *s, long *out);
int cli_parse_float(const char *s, double *out);

/* Loads a model, printing the error; returns NULL on failure.  Applies
 * cli_max_memory_mb (the global --max-memory option) when set. */
gcam_model *cli_load_model(const char *path, int threads);
extern long cli_max_memory_mb;
/* --profile (global, like --max-memory): models loaded by cli_load_model time
 * every node; cli_free_model prints the profile to stderr, then frees. */
extern int cli_profile;
/* --profile-nodes N: how many of the slowest nodes the profile lists (10) */
extern int cli_profile_nodes;
void cli_free_model(gcam_model *m);
/* Default bundled model path (models/demo.onnx next to the binary's source tree). */
const char *cli_default_model(void);

/* .npy helpers: read into a malloc'd gcam_array (free arr->data). */
int cli_read_npy(const char *path, gcam_array *arr);
int cli_write_npy(const char *path, const gcam_array *arr);

/* Labels: from FILE (one per line) or the model's "gradcam.labels" metadata.
 * Returns the count (0 if none); *labels is malloc'd, free with cli_free_labels. */
int cli_load_labels(const char *file, gcam_model *m, char ***labels);
void cli_free_labels(char **labels, int n);

/* Milliseconds on a monotonic clock; the file-name part of a path (after the last '/'). */
double cli_now_ms(void);
const char *cli_basename(const char *path);
/* --size "H", "H,W" or "HxW" (each 1..16384); --mean/--std "a,b,c" or "a"
 * (one value for every channel): 0, or -1.  The syntax of the library's
 * "gradcam.preprocess" metadata, parsed here for the command line. */

/* s as a JSON string literal (quotes, backslashes and control characters escaped) */
void cli_json_str(FILE *f, const char *s);

int cmd_layers(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_sanity(int argc, char **argv);
int cmd_report(int argc, char **argv);
#endif
