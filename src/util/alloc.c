/* alloc.c - the replaceable allocator (gcam_set_allocator) behind
 * gcam_malloc, gcam_calloc, gcam_realloc, gcam_free and gcam_aligned_alloc.
 *
 * With the C library's allocator (the default) they are malloc, calloc,
 * realloc, free and aligned_alloc themselves: no cost.  A replaced
 * allocator has no aligned allocation (libuv's interface, which this
 * follows, has none either), so then every block carries a 16-byte header
 * in front of what the library sees: its size and its offset from the
 * pointer the user's allocator returned.  gcam_free reads the offset, so
 * one free serves plain and aligned blocks alike. */
#include "util/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gcam.h"

#define HDR 16 /* keeps malloc's 16-byte alignment */

static struct {
    gcam_malloc_fn malloc_fn;
    gcam_realloc_fn realloc_fn;
    gcam_calloc_fn calloc_fn;
    gcam_free_fn free_fn;
} user; /* all NULL: the C library's */

int gcam_set_allocator(gcam_malloc_fn m, gcam_realloc_fn r, gcam_calloc_fn c, gcam_free_fn f)
{
    int none = !m && !r && !c && !f;
    if (!none && (!m || !r || !c || !f)) return GCAM_E_ARG;
    user.malloc_fn = m;
    user.realloc_fn = r;
    user.calloc_fn = c;
    user.free_fn = f;
    return GCAM_OK;
}

/* the header sits just below p: [size][offset of p from the raw block] */
static void *wrap(unsigned char *raw, size_t off, size_t n)
{
    if (!raw) return NULL;
    size_t *h = (size_t *)(void *)(raw + off) - 2;
    h[0] = n;
    h[1] = off;
    return raw + off;
}
static size_t hdr_size(const void *p) { return ((const size_t *)p)[-2]; }
static unsigned char *hdr_raw(void *p) { return (unsigned char *)p - ((size_t *)p)[-1]; }

void *gcam_malloc(size_t n)
{
    if (!user.malloc_fn) return malloc(n);
    if (n > SIZE_MAX - HDR) return NULL;
    return wrap(user.malloc_fn(n + HDR), HDR, n);
}

void *gcam_calloc(size_t count, size_t size)
{
    if (!user.calloc_fn) return calloc(count, size);
    size_t n;
    if (__builtin_mul_overflow(count, size, &n) || n > SIZE_MAX - HDR) return NULL;
    return wrap(user.calloc_fn(1, n + HDR), HDR, n);
}

void *gcam_realloc(void *p, size_t n)
{
    if (!user.realloc_fn) return realloc(p, n);
    if (!p) return gcam_malloc(n);
    if (n > SIZE_MAX - HDR) return NULL;
    if (((size_t *)p)[-1] == HDR) return wrap(user.realloc_fn(hdr_raw(p), n + HDR), HDR, n);
    /* an aligned block: the user's realloc would not keep the alignment */
    void *q = gcam_malloc(n);
    if (!q) return NULL;
    size_t old = hdr_size(p);
    memcpy(q, p, old < n ? old : n);
    gcam_free(p);
    return q;
}

void gcam_free(void *p)
{
    if (!user.free_fn) {
        free(p);
        return;
    }
    if (p) user.free_fn(hdr_raw(p));
}

void *gcam_aligned_alloc(size_t align, size_t n)
{
    if (!user.malloc_fn) {
        size_t r = (n + align - 1) & ~(align - 1); /* aligned_alloc wants a multiple */
        return r < n ? NULL : aligned_alloc(align, r ? r : align);
    }
    if (align < HDR) align = HDR;
    if (n > SIZE_MAX - HDR - align) return NULL;
    unsigned char *raw = user.malloc_fn(n + HDR + align);
    if (!raw) return NULL;
    uintptr_t at = ((uintptr_t)raw + HDR + align - 1) & ~(uintptr_t)(align - 1);
    return wrap(raw, (size_t)(at - (uintptr_t)raw), n);
}

void gcam_mem_free(void *p) { gcam_free(p); }

void *gcam_alloc_cb(void *ctx, size_t n)
{
    (void)ctx;
    return gcam_malloc(n);
}

void gcam_free_cb(void *ctx, void *p)
{
    (void)ctx;
    gcam_free(p);
}
