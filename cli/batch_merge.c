/* batch_merge.c - `gradcam batch --merge OUT`: the shards' result lines,
 * checked and concatenated in listing order into OUT/results.jsonl.
 *
 * Each shard wrote shard.I-of-N.json (how many items the whole listing has,
 * and its hash) when it started, and results.I-of-N.jsonl as it went.  The
 * merge fails, writing nothing, unless all N shards describe the same
 * listing, every line of shard I is an item i with i % N == I, no item
 * appears twice, and every item 0..total-1 appears. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cli.h"

typedef struct {
    int shards;
    int64_t total;
    char listing[32];
} shard_info;

static int read_info(const char *path, int *shard, shard_info *si)
{
    FILE *f = fopen(path, "r");
    char line[1024] = {0};
    if (!f) return cli_fail("cannot read '%s'", path);
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    double s, n, t;
    char *h = batch_json_str(line, "listing");
    int ok = !batch_json_num(line, "shard", &s) && !batch_json_num(line, "shards", &n) &&
             !batch_json_num(line, "items_total", &t) && h && n >= 1 && n <= 4096 && s >= 0 && s < n && t >= 0;
    if (ok) {
        *shard = (int)s;
        si->shards = (int)n;
        si->total = (int64_t)t;
        snprintf(si->listing, sizeof si->listing, "%s", h);
    }
    free(h);
    return ok ? 0 : cli_fail("'%s' is not a shard description", path);
}

/* All shard.*.json agree; returns the number of shards, or -1 (printed). */
static int check_shards(const char *out_dir, shard_info *agreed)
{
    char pat[4096];
    snprintf(pat, sizeof pat, "%s/shard.*-of-*.json", out_dir);
    glob_t g;
    if (glob(pat, 0, NULL, &g)) return cli_fail("--merge: no shard.I-of-N.json in '%s': no batch --shard run wrote there", out_dir), -1;
    int rc = 0, n = 0;
    unsigned char seen[4096] = {0};
    for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
        shard_info si;
        int s = 0;
        if ((rc = read_info(g.gl_pathv[i], &s, &si))) break;
        if (!i) *agreed = si;
        else if (si.shards != agreed->shards || si.total != agreed->total || strcmp(si.listing, agreed->listing))
            rc = cli_fail("--merge: '%s' describes another run (%d shards, %lld items, listing %s) than the others "
                          "(%d, %lld, %s)", g.gl_pathv[i], si.shards, (long long)si.total, si.listing,
                          agreed->shards, (long long)agreed->total, agreed->listing);
        if (!rc && !seen[s]) { seen[s] = 1; n++; }
    }
    globfree(&g);
    for (int s = 0; !rc && s < agreed->shards; s++)
        if (!seen[s]) rc = cli_fail("--merge: shard %d of %d never started (no shard.%d-of-%d.json)", s, agreed->shards,
                                    s, agreed->shards);
    return rc ? -1 : n;
}

/* Reads shard s's lines into lines[index] (malloc'd); fails on a duplicate or a stray index. */
static int collect(const char *out_dir, int s, const shard_info *si, char **lines)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/results.%d-of-%d.jsonl", out_dir, s, si->shards);
    FILE *f = fopen(path, "r");
    if (!f) return cli_fail("--merge: cannot read '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0, lineno = 0;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len == 0 || line[len - 1] != '\n') break; /* torn by a kill: that item is missing */
        double d;
        if (batch_json_num(line, "index", &d) || d < 0 || d >= (double)si->total || d != (int64_t)d) {
            rc = cli_fail("--merge: %s:%d has no valid \"index\"", path, lineno);
            break;
        }
        int64_t i = (int64_t)d;
        char *img = batch_json_str(line, "image");
        if (i % si->shards != s)
            rc = cli_fail("--merge: %s:%d: item %lld (%s) belongs to shard %lld", path, lineno, (long long)i,
                          img ? img : "?", (long long)(i % si->shards));
        else if (lines[i])
            rc = cli_fail("--merge: item %lld (%s) appears twice (again at %s:%d)", (long long)i, img ? img : "?", path,
                          lineno);
        else if (!(lines[i] = strdup(line)))
            rc = cli_fail("out of memory");
        free(img);
    }
    free(line);
    fclose(f);
    return rc;
}

int batch_merge(const char *out_dir, int quiet)
{
    shard_info si;
    int n = check_shards(out_dir, &si);
    if (n < 0) return 1;
    char **lines = calloc((size_t)(si.total ? si.total : 1), sizeof *lines);
    if (!lines) return cli_fail("out of memory");
    int rc = 0;
    for (int s = 0; s < si.shards && !rc; s++) rc = collect(out_dir, s, &si, lines);
    int64_t missing = 0, first = -1, errors = 0;
    size_t bytes = 0;
    for (int64_t i = 0; !rc && i < si.total; i++) {
        if (!lines[i]) { missing++; if (first < 0) first = i; continue; }
        bytes += strlen(lines[i]);
        errors += strstr(lines[i], "\"error\": null") == NULL;
    }
    if (!rc && missing)
        rc = cli_fail("--merge: %lld of %lld items have no result (first: item %lld, shard %lld); rerun that "
                      "shard with --resume", (long long)missing, (long long)si.total, (long long)first,
                      (long long)(first % si.shards));
    char *text = rc ? NULL : malloc(bytes + 1);
    if (!rc && !text) rc = cli_fail("out of memory");
    size_t off = 0;
    for (int64_t i = 0; !rc && i < si.total; i++) {
        size_t l = strlen(lines[i]);
        memcpy(text + off, lines[i], l);
        off += l;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/results.jsonl", out_dir);
    if (!rc && gcam_file_write_atomic(path, text, off, NULL)) rc = cli_fail("cannot write '%s'", path);
    if (!rc && !quiet)
        fprintf(stderr, "merged %lld items from %d shards (%lld with an error) -> %s\n", (long long)si.total,
                si.shards, (long long)errors, path);
    for (int64_t i = 0; i < si.total; i++) free(lines[i]);
    free(lines);
    free(text);
    return rc;
}
