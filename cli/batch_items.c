/* batch_items.c - what `gradcam batch` explains: a folder walked recursively,
 * a glob, or a CSV/JSONL manifest; and the small JSON field readers the
 * manifest, resume and merge share. */
#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "batch.h"
#include "cli.h"

static int is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] != '/' ? "/" : "", name);
    return p;
}

static batch_item *list_add(batch_list *l, char *path, char *key)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 64;
        batch_item *nv = realloc(l->v, sizeof *nv * (size_t)nc);
        if (!nv) return NULL;
        l->v = nv;
        l->cap = nc;
    }
    batch_item *it = &l->v[l->n++];
    memset(it, 0, sizeof *it);
    it->path = path;
    it->key = key;
    return path && key ? it : NULL;
}

void batch_list_free(batch_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].key);
        free(l->v[i].target);
        free(l->v[i].label);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const batch_item *)a)->key, ((const batch_item *)b)->key);
}

/* depth-first; `rel` is the folder relative to the root ("" at the top) */
static int walk(const char *root, const char *rel, batch_list *out, int depth)
{
    char *dir = rel[0] ? join(root, rel) : strdup(root);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        int rc = cli_fail("cannot read folder '%s'", dir ? dir : root);
        free(dir);
        return rc;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., hidden files and our own temporaries */
        char *r = rel[0] ? join(rel, e->d_name) : strdup(e->d_name), *full = join(root, r ? r : "");
        struct stat st;
        if (!r || !full) rc = cli_fail("out of memory");
        else if (stat(full, &st)) { /* a dangling link: skipped */ }
        else if (S_ISDIR(st.st_mode) && depth < 64) rc = walk(root, r, out, depth + 1);
        else if (S_ISREG(st.st_mode) && is_image(e->d_name)) {
            if (!list_add(out, full, r)) rc = cli_fail("out of memory");
            full = r = NULL;
        }
        free(r);
        free(full);
    }
    closedir(d);
    free(dir);
    return rc;
}

int batch_list_dir(const char *dir, batch_list *out)
{
    int rc = walk(dir, "", out, 0);
    if (!rc) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_key);
    return rc;
}

int batch_list_glob(const char *pattern, batch_list *out)
{
    glob_t g;
    int r = glob(pattern, 0, NULL, &g);
    if (r == GLOB_NOMATCH) return cli_fail("--glob '%s' matches no file", pattern);
    if (r) return cli_fail("--glob '%s': cannot expand it", pattern);
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && !rc; i++)
        if (!list_add(out, strdup(g.gl_pathv[i]), strdup(g.gl_pathv[i]))) rc = cli_fail("out of memory");
    globfree(&g);
    if (!rc) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_key);
    return rc;
}

uint64_t batch_list_hash(const batch_list *l)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < l->n; i++)
        for (const char *s = l->v[i].key;; s++) {
            h = (h ^ (unsigned char)*s) * 1099511628211ULL;
            if (!*s) break;
        }
    return h;
}

static const batch_list *sort_list; /* qsort has no context argument */

static int cmp_index(const void *a, const void *b)
{
    return strcmp(sort_list->v[*(const int *)a].key, sort_list->v[*(const int *)b].key);
}

int batch_list_mark_shared(batch_list *l)
{
    int *ix = malloc(sizeof(int) * (size_t)(l->n + 1));
    if (!ix) return -1;
    for (int i = 0; i < l->n; i++) ix[i] = i;
    sort_list = l;
    qsort(ix, (size_t)l->n, sizeof *ix, cmp_index);
    for (int i = 1; i < l->n; i++)
        if (!strcmp(l->v[ix[i]].key, l->v[ix[i - 1]].key)) l->v[ix[i]].shared = l->v[ix[i - 1]].shared = 1;
    free(ix);
    return 0;
}
