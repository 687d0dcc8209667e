/* fileio.h - the one way files come in and go out.
 *
 * In: gcam_file_open_in / gcam_file_read open with O_NONBLOCK and refuse
 * anything but a regular file (a FIFO would block forever, /dev/zero never
 * ends, a directory reads as nothing), and refuse files above a size cap
 * given per kind of input, before allocating.
 *
 * Out: gcam_out_open writes into a temporary file beside the target
 * (".NAME.XXXXXX" in the same folder, so the rename cannot cross file
 * systems); gcam_out_commit renames it into place only when every byte was
 * written and the file closed cleanly; on any failure the temporary is
 * removed and a previous file of that name is untouched.  A target that
 * exists and is not a regular file (/dev/null, a FIFO) is written in place:
 * replacing it would destroy the device node.  A symbolic link is followed:
 * the file it points to is replaced, the link stays. */
#ifndef GCAM_FILEIO_H
#define GCAM_FILEIO_H

#include <stdio.h>

#include "gcam_internal.h"

/* Size caps of the inputs, by kind (bytes). */
#define GCAM_FILE_MAX_IMAGE ((size_t)1 << 30)  /* no PNG/JPEG within GCAM_IMAGE_MAX_PIXELS needs more */
#define GCAM_FILE_MAX_NPY ((size_t)1 << 36)    /* 64 GiB: the real bound is memory */
#define GCAM_FILE_MAX_TEXT ((size_t)1 << 28)   /* labels, manifests, box lists */
#define GCAM_FILE_MAX_NPY_HEADER ((size_t)1 << 20)

/* Opens path for reading: a regular file no larger than max bytes.  *fd and
 * *size are set on success.  `what` names the kind in messages ("image"). */
int gcam_file_open_in(const char *path, size_t max, const char *what, int *fd, size_t *size, gcam_err *e);
/* Reads the whole file (checked as above) into a malloc'd buffer, with a NUL
 * after the last byte (so text can be parsed in place); *len excludes it. */
int gcam_file_read(const char *path, size_t max, const char *what, unsigned char **buf, size_t *len,
                   gcam_err *e);
/* Reads exactly n bytes at offset off; GCAM_E_IO/GCAM_E_PARSE on a short read. */
int gcam_file_pread(int fd, void *buf, size_t n, size_t off, const char *path, gcam_err *e);

typedef struct gcam_outfile {
    FILE *f;
    char *path;  /* where the file ends up */
    char *tmp;   /* the temporary, NULL when writing in place */
} gcam_outfile;

/* Fails (GCAM_E_IO, message naming the path) unless a file could be written
 * at path: its folder exists and is writable, and path is not a folder.
 * Writes nothing: for checking every output before any work starts. */
int gcam_out_check(const char *path, gcam_err *e);
int gcam_out_open(gcam_outfile *o, const char *path, gcam_err *e);
/* Flushes, closes and renames into place.  Any failure (a full disk, a
 * file-size limit, a write error earlier on o->f) removes the temporary and
 * returns GCAM_E_IO.  o is released either way. */
int gcam_out_commit(gcam_outfile *o, gcam_err *e);
/* Closes and removes the temporary; the target is untouched.  NULL-safe. */
void gcam_out_abort(gcam_outfile *o);

#endif
