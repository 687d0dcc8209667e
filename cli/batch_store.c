/* batch_store.c - what `gradcam batch` keeps in OUT, and how it survives a
 * kill: every file is written to a temporary name in its folder and renamed
 * (atomic on POSIX), a result line is one write(2) to an O_APPEND file after
 * the item's files are in place, so a line means "this item is complete".
 * --resume keeps the complete lines whose files exist; --merge checks the
 * shards against each other and against the listing they all came from. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"

int batch_mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

char *batch_out_name(const char *prefix, const char *key, const char *suffix)
{
    size_t n = strlen(prefix) + 2 * strlen(key) + strlen(suffix) + 4;
    char *out = malloc(n), *o = out;
    if (!out) return NULL;
    o += sprintf(o, "%s/", prefix);
    const char *s = key;
    while (*s == '/') s++;
    while (*s) {
        if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || !s[2]) && (s == key || s[-1] == '/')) {
            o += sprintf(o, "__");
            s += 2;
        } else {
            *o++ = *s++;
        }
    }
    strcpy(o, suffix);
    return out;
}

int batch_append_line(int fd, const char *line, size_t len)
{
    ssize_t w = write(fd, line, len); /* O_APPEND: one write, one line */
    return w == (ssize_t)len ? 0 : -1;
}

int batch_write_shard_info(const char *out_dir, int shard, int shards, int64_t total, int64_t mine, uint64_t hash)
{
    char path[4096], text[512];
    snprintf(path, sizeof path, "%s/shard.%d-of-%d.json", out_dir, shard, shards);
    int n = snprintf(text, sizeof text,
                     "{\"shard\": %d, \"shards\": %d, \"items_total\": %lld, \"items\": %lld, \"listing\": \"%016llx\"}\n",
                     shard, shards, (long long)total, (long long)mine, (unsigned long long)hash);
    return gcam_file_write_atomic(path, text, (size_t)n, NULL) ? -1 : 0;
}

/* the OUT-relative file named by "key" in the line exists (or the key is null/absent) */
static int file_ok(const char *out_dir, const char *line, const char *key)
{
    char *rel = batch_json_str(line, key);
    if (!rel) return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, rel);
    free(rel);
    struct stat st;
    return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int read_all(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *text = NULL;
    *len = 0;
    if (!f) return errno == ENOENT ? 1 : -1;
    size_t cap = 0;
    char buf[65536];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        if (*len + r + 1 > cap) {
            cap = (*len + r + 1) * 2;
            char *nt = realloc(*text, cap);
            if (!nt) { fclose(f); return -1; }
            *text = nt;
        }
        memcpy(*text + *len, buf, r);
        *len += r;
    }
    fclose(f);
    if (!*text && !(*text = calloc(1, 1))) return -1;
    (*text)[*len] = 0;
    return 0;
}

int batch_resume_scan(const char *out_dir, const char *results, int64_t n_total, unsigned char *done, int *n_done)
{
    char *text;
    size_t len;
    *n_done = 0;
    int r = read_all(results, &text, &len);
    if (r > 0) return 0;
    if (r < 0) return cli_fail("cannot read '%s'", results);
    char *kept = malloc(len + 1);
    size_t kl = 0;
    if (!kept) { free(text); return cli_fail("out of memory"); }
    for (char *s = text, *nl; (nl = strchr(s, '\n')); s = nl + 1) { /* a torn last line has no '\n' */
        *nl = 0;
        double idx;
        if (batch_json_num(s, "index", &idx) || idx < 0 || idx >= (double)n_total || idx != (int64_t)idx) continue;
        if (done[(int64_t)idx] || !file_ok(out_dir, s, "map") || !file_ok(out_dir, s, "overlay")) continue;
        done[(int64_t)idx] = 1;
        (*n_done)++;
        size_t l = strlen(s);
        memcpy(kept + kl, s, l);
        kept[kl + l] = '\n';
        kl += l + 1;
    }
    int rc = gcam_file_write_atomic(results, kept, kl, NULL) ? cli_fail("cannot rewrite '%s'", results) : 0;
    free(kept);
    free(text);
    return rc;
}
