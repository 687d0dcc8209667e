/* bigmem.h - allocation of large, long-lived buffers: the activation arena,
 * the scratch, reordered convolution weights.
 *
 * They are 2 MiB aligned and advised for transparent huge pages, so the
 * first touch costs one page fault per 2 MiB instead of one per 4 KiB (with
 * THP in "madvise" mode, Debian's default, nothing else gets huge pages).
 * Page faults were 40% of resnet50's load-and-first-run time.  Small
 * requests fall back to 64-byte alignment.  Free with free(). */
#ifndef GCAM_KERNELS_BIGMEM_H
#define GCAM_KERNELS_BIGMEM_H

#include <stddef.h>

void *gcam_big_alloc(size_t bytes);

#endif
