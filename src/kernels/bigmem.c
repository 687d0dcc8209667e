/* bigmem.c - see bigmem.h. */
#include "kernels/bigmem.h"
#include "util/alloc.h"

#include <stdlib.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20)

size_t gcam_mem_budget(size_t limit)
{
    if (limit) return limit;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return SIZE_MAX;
    return (size_t)pages / 2 * (size_t)page;
}

void *gcam_big_alloc(size_t bytes)
{
    if (bytes < HUGE_PAGE) return gcam_aligned_alloc(64, bytes);
    size_t n = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = gcam_aligned_alloc(HUGE_PAGE, n);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, n, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    return p;
}
