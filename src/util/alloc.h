/* alloc.h - every allocation of the library goes through these, so that a
 * program can replace the allocator (gcam_set_allocator in gcam.h) and the
 * tests can make any one allocation fail (tests/unit/test_oom.c).
 *
 * They behave as the C library's malloc, calloc, realloc and free: NULL on
 * failure (or for 0 bytes where malloc would), free(NULL) a no-op.
 * gcam_aligned_alloc returns `align`-aligned memory (align a power of two,
 * at most 2 MiB) that gcam_free releases like any other block.  Memory from
 * the C library directly (realpath(p, NULL), getline, ...) must not reach
 * gcam_free: copy it, or use a buffer of our own. */
#ifndef GCAM_UTIL_ALLOC_H
#define GCAM_UTIL_ALLOC_H

#include <stddef.h>

void *gcam_malloc(size_t n);
void *gcam_calloc(size_t count, size_t size);
void *gcam_realloc(void *p, size_t n);
void gcam_free(void *p);
void *gcam_aligned_alloc(size_t align, size_t n);
char *gcam_strdup(const char *s);

/* The same, for libraries that take an allocator with a context pointer
 * (protobuf-c, libpng): ctx is ignored. */
void *gcam_alloc_cb(void *ctx, size_t n);
void gcam_free_cb(void *ctx, void *p);

#endif
