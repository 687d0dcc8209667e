/* bigmem.h - allocation of large, long-lived buffers: the activation arena,
 * the scratch, reordered convolution weights.
 *
 * They are 2 MiB aligned and advised for transparent huge pages, so the
 * first touch costs one page fault per 2 MiB instead of one per 4 KiB (with
 * THP in "madvise" mode, Debian's default, nothing else gets huge pages).
 * Page faults were 40% of resnet50's load-and-first-run time.  Small
 * requests fall back to 64-byte alignment.  Free with gcam_free(). */
#ifndef GCAM_KERNELS_BIGMEM_H
#define GCAM_KERNELS_BIGMEM_H

#include <stddef.h>

void *gcam_big_alloc(size_t bytes);

/* The memory a model's plans may take for activations, scratch and
 * gradients: `limit` when nonzero (gcam_model_set_memory_limit), else half
 * of the machine's physical memory, so that a model asking for more (a
 * huge Pad or Resize, a fuzzed shape) fails with a message instead of
 * being killed when the pages are touched.  SIZE_MAX where unknown. */
size_t gcam_mem_budget(size_t limit);

#endif
