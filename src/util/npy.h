/* npy.h - NumPy .npy files (float32 and int64, C order). */
#ifndef GCAM_NPY_H
#define GCAM_NPY_H
#include "gcam_internal.h"
/* Parses a whole .npy image from memory into t (data heap-owned, flag GCAM_TF_OWNED;
 * caller frees t->data).  `what` names the source in error messages. */
int gcam_npy_parse(const void *buf, size_t len, gcam_tensor *t, const char *what, gcam_err *e);
int gcam_npy_read(const char *path, gcam_tensor *t, gcam_err *e);
int gcam_npy_write(const char *path, int dtype, const int64_t *dims, int ndim, const void *data, gcam_err *e);
#endif
