/* fileio.c - checked inputs and atomic outputs (see fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fileio.h"

int gcam_file_open_in(const char *path, size_t max, const char *what, int *fd, size_t *size, gcam_err *e)
{
    if (!path || !*path) return gcam_errf(e, GCAM_E_ARG, "no %s path given", what);
    /* O_NONBLOCK: opening a FIFO with no writer must not block */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0) return gcam_errf(e, GCAM_E_IO, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(f, &st) != 0) {
        int err = errno;
        close(f);
        return gcam_errf(e, GCAM_E_IO, "cannot read %s %s: %s", what, path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return gcam_errf(e, GCAM_E_IO, "%s %s is not a regular file (%s)", what, path,
                         S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a pipe" :
                         S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a special file");
    }
    if ((uint64_t)st.st_size > (uint64_t)max) {
        close(f);
        return gcam_errf(e, GCAM_E_RANGE, "%s %s is %lld bytes, more than the %zu an %s may have", what, path,
                         (long long)st.st_size, max, what);
    }
    /* regular files never block: back to ordinary reads */
    fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
    *fd = f;
    *size = (size_t)st.st_size;
    return GCAM_OK;
}

int gcam_file_pread(int fd, void *buf, size_t n, size_t off, const char *path, gcam_err *e)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return gcam_errf(e, GCAM_E_IO, "cannot read %s: %s", path, strerror(errno));
        if (r == 0) return gcam_errf(e, GCAM_E_PARSE, "%s: file shrank while being read", path);
        got += (size_t)r;
    }
    return GCAM_OK;
}

int gcam_file_read(const char *path, size_t max, const char *what, unsigned char **buf, size_t *len,
                   gcam_err *e)
{
    *buf = NULL;
    *len = 0;
    int fd = -1;
    size_t n = 0;
    int rc = gcam_file_open_in(path, max, what, &fd, &n, e);
    if (rc) return rc;
    unsigned char *b = gcam_malloc(n + 1);
    if (!b) rc = gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    if (!rc) rc = gcam_file_pread(fd, b, n, 0, path, e);
    close(fd);
    if (rc) {
        gcam_free(b);
        return rc;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return GCAM_OK;
}

/* ---- outputs --------------------------------------------------------------- */

/* The folder of path ("." when it has none), in buf. */
static void dir_of(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(buf, cap, ".");
    else if (slash == path) snprintf(buf, cap, "/");
    else snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

int gcam_out_check(const char *path, gcam_err *e)
{
    if (!path || !*path) return gcam_errf(e, GCAM_E_ARG, "no output path given");
    if (strlen(path) >= PATH_MAX - 32) return gcam_errf(e, GCAM_E_IO, "output path is too long");
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return gcam_errf(e, GCAM_E_IO, "cannot write %s: it is a folder", path);
        /* a device or a pipe is written in place; a read-only file stays
         * read-only, as it would with an in-place write */
        if (access(path, W_OK) != 0) return gcam_errf(e, GCAM_E_IO, "cannot write %s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode)) return GCAM_OK;
    }
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0)
        return gcam_errf(e, GCAM_E_IO, "cannot write %s: folder %s: %s", path, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return gcam_errf(e, GCAM_E_IO, "cannot write %s: %s is not a folder", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return gcam_errf(e, GCAM_E_IO, "cannot write %s: folder %s: %s", path, dir, strerror(errno));
    return GCAM_OK;
}

/* A new file ".BASE.XXXXXX" beside target, created exclusively with mode
 * 0666 less the umask (as fopen would), or with the mode of the file it
 * replaces. */
static int open_temp(const char *target, const struct stat *old, char **tmp_out)
{
    static unsigned counter;
    const char *slash = strrchr(target, '/');
    size_t dl = slash ? (size_t)(slash - target) + 1 : 0;
    size_t cap = strlen(target) + 32;
    char *tmp = gcam_malloc(cap);
    if (!tmp) return -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned r = (unsigned)ts.tv_nsec ^ (unsigned)getpid() * 2654435761u ^ ++counter * 40503u;
        snprintf(tmp, cap, "%.*s.%s.%06x", (int)dl, target, target + dl, r & 0xffffff);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            if (old) (void)fchmod(fd, old->st_mode & 07777);
            *tmp_out = tmp;
            return fd;
        }
        if (errno != EEXIST) break;
    }
    gcam_free(tmp);
    return -1;
}

int gcam_out_open(gcam_outfile *o, const char *path, gcam_err *e)
{
    memset(o, 0, sizeof *o);
    int rc = gcam_out_check(path, e);
    if (rc) return rc;
    struct stat lst, st;
    int exists = lstat(path, &lst) == 0;
    char *target = NULL;
    if (exists && S_ISLNK(lst.st_mode)) {
        /* replace what the link points to; a dangling link is written through */
        char real[PATH_MAX]; /* not realpath(path, NULL): that is libc memory, not ours */
        target = realpath(path, real) ? gcam_strdup(real) : NULL;
        exists = target && stat(target, &st) == 0;
    } else {
        target = gcam_strdup(path);
        if (exists) st = lst;
    }
    if (!target) {
        o->f = fopen(path, "wb");
        if (!o->f) return gcam_errf(e, GCAM_E_IO, "cannot open %s: %s", path, strerror(errno));
        o->path = gcam_strdup(path);
        return GCAM_OK;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        o->f = fopen(target, "wb");
        o->path = target;
        if (!o->f) {
            gcam_free(target);
            o->path = NULL;
            return gcam_errf(e, GCAM_E_IO, "cannot open %s: %s", path, strerror(errno));
        }
        return GCAM_OK;
    }
    int fd = open_temp(target, exists ? &st : NULL, &o->tmp);
    if (fd < 0) {
        int err = errno;
        gcam_free(target);
        return gcam_errf(e, GCAM_E_IO, "cannot write %s: %s", path, strerror(err));
    }
    o->f = fdopen(fd, "wb");
    o->path = target;
    if (!o->f) {
        close(fd);
        gcam_out_abort(o);
        return gcam_errf(e, GCAM_E_IO, "cannot write %s: out of memory", path);
    }
    return GCAM_OK;
}

void gcam_out_abort(gcam_outfile *o)
{
    if (!o) return;
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    gcam_free(o->tmp);
    gcam_free(o->path);
    memset(o, 0, sizeof *o);
}

int gcam_out_commit(gcam_outfile *o, gcam_err *e)
{
    if (!o->f) return gcam_errf(e, GCAM_E_IO, "output file was not opened");
    int err = 0;
    errno = 0;
    /* a full disk often shows only when the buffered tail is flushed */
    if (fflush(o->f) != 0 || ferror(o->f)) err = errno ? errno : EIO;
    if (fclose(o->f) != 0 && !err) err = errno ? errno : EIO;
    o->f = NULL;
    if (!err && o->tmp && rename(o->tmp, o->path) != 0) err = errno;
    int rc = GCAM_OK;
    if (err) rc = gcam_errf(e, GCAM_E_IO, "cannot write %s: %s", o->path, strerror(err));
    else if (o->tmp) {
        gcam_free(o->tmp); /* renamed: nothing to remove */
        o->tmp = NULL;
    }
    gcam_out_abort(o);
    return rc;
}
