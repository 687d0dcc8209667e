/* fuzz_npy.c - libFuzzer target: the .npy parser on arbitrary bytes.
 * Built with -DGCAM_FUZZ=ON (clang); run by tools/run_fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gcam_internal.h"
#include "util/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: ASan then flags any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    gcam_tensor t;
    gcam_err e = {0};
    int rc = gcam_npy_parse(buf, size, &t, "fuzz.npy", &e);
    if (rc == GCAM_OK) {
        /* what parsed must be consistent: the bytes fit in the input */
        size_t bytes = gcam_tensor_bytes(&t);
        if (bytes == SIZE_MAX || bytes > size || !t.data) abort();
        if (!gcam_dtype_size(t.dtype)) abort(); /* any dtype the reader knows (it grew beyond f32/i64) */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < bytes; i++) sink ^= ((uint8_t *)t.data)[i];
        (void)sink;
        free(t.data);
    } else if (!e.msg[0] || t.data) {
        abort(); /* every failure says why, and leaks nothing */
    }
    free(buf);
    return 0;
}
