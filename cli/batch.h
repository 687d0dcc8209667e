/* batch.h - `gradcam batch`: explain a dataset, sharded, resumable, merged.
 * cmd_batch.c runs it, batch_items.c lists the items, batch_store.c holds
 * what is written to OUT (JSON lines, atomic files, resume and merge). */
#ifndef GCAM_CLI_BATCH_H
#define GCAM_CLI_BATCH_H
#include <stdint.h>
#include <stdio.h>

/* One thing to explain: an image, and what a manifest said about it. */
typedef struct batch_item {
    char *path;        /* to open */
    char *key;         /* as reported ("image"): relative to --images DIR, or as listed */
    char *target;      /* manifest's target (index or class name), NULL = --target */
    char *label;       /* manifest's label column (a class name), NULL if none */
    double box[4];     /* manifest's x0,y0,x1,y1 (image pixels) when has_box */
    int has_box;
    int shared;        /* another item has the same key (a manifest with one row per
                          box or class): its output names carry the item's index */
} batch_item;

typedef struct batch_list {
    batch_item *v;
    int n, cap;
} batch_list;

/* --images DIR (recursive; .png/.jpg/.jpeg, sorted by relative path),
 * --glob PATTERN (glob(3), sorted), --manifest FILE (.csv with a header
 * naming an `image` column and optional target,label,x0,y0,x1,y1; or .jsonl
 * with the same keys and "box": [x0,y0,x1,y1]; paths relative to the
 * manifest's folder, in file order).  Prints the error; returns 0 or 1. */
int batch_list_dir(const char *dir, batch_list *out);
int batch_list_glob(const char *pattern, batch_list *out);
int batch_list_manifest(const char *file, batch_list *out);
void batch_list_free(batch_list *l);
/* sets `shared` on items whose key repeats; 0 or -1 (out of memory) */
int batch_list_mark_shared(batch_list *l);
/* FNV-1a over the keys in order: shards of one run agree on it */
uint64_t batch_list_hash(const batch_list *l);

/* Minimal JSON field readers for lines this tool writes (and manifest lines):
 * the value of "key" at the top level of the object in `line`.  A string is
 * unescaped into a malloc'd copy (NULL if absent or not a string); a number
 * read into *out (returns 0, or -1 if absent / not a number / null). */
char *batch_json_str(const char *line, const char *key);
int batch_json_num(const char *line, const char *key, double *out);
/* the array "key": [a, b, c, d] of 4 numbers */
int batch_json_box(const char *line, const char *key, double box[4]);

/* ---- OUT (batch_store.c) ---- */
/* mkdir -p of path's parent folders (not the last component) */
int batch_mkdirs(const char *path);
/* OUT-relative name of an item's map or overlay: "maps/<key>.npy" (the caller
 * adds ".<index>" before the suffix for a shared key); ".." and
 * a leading "/" in the key become "__" and "" so that it stays inside OUT */
char *batch_out_name(const char *prefix, const char *key, const char *suffix);
/* Reads the completed lines of a shard's results: marks done[index] for each
 * complete line (ending in '\n', with an "index" in [0, n_total)) whose files
 * exist (check_files: its "map"/"overlay" paths under OUT), and rewrites the
 * file atomically with just those lines (a killed run's torn last line and
 * lines whose outputs vanished are dropped).  A missing file is no error. */
int batch_resume_scan(const char *out_dir, const char *results, int64_t n_total, unsigned char *done, int *n_done);
/* Writes one line with a single write(2) to an O_APPEND descriptor. */
int batch_append_line(int fd, const char *line, size_t len);
/* `gradcam batch --merge OUT`: checks every shard and writes OUT/results.jsonl */
int batch_merge(const char *out_dir, int quiet);
/* shard description file "shard.I-of-N.json", written atomically */
int batch_write_shard_info(const char *out_dir, int shard, int shards, int64_t total, int64_t mine, uint64_t hash);

#endif
