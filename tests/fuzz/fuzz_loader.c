/* fuzz_loader.c - libFuzzer target: the ONNX loader on arbitrary bytes.
 *
 * Whatever loads is also planned and run on zeros of its declared input
 * shape (symbolic dims bound to 1) when every input is small and the plan's
 * arena is moderate, so shape inference, constant folding and the kernels
 * see the fuzzed graphs too.
 * Built with -DGCAM_FUZZ=ON (clang); run by tools/run_fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "gcam.h"

#define MAX_INPUTS 8
#define MAX_INPUT_ELEMS 100000 /* guard against huge allocations */
#define MAX_RUN_ARENA_BYTES ((size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gcam_model *m = NULL;
    if (gcam_model_load_buffer(data, size, &m) != GCAM_OK) {
        /* a failed load still leaves a handle with a message */
        if (m && !gcam_model_errmsg(m)[0]) abort();
        gcam_model_free(m);
        return 0;
    }
    gcam_model_set_threads(m, 1);
    int n = gcam_model_num_inputs(m);
    gcam_array in[MAX_INPUTS];
    memset(in, 0, sizeof in);
    int ok = n >= 0 && n <= MAX_INPUTS;
    for (int i = 0; i < n && ok; i++) {
        int64_t dims[GCAM_MAX_NDIM];
        int nd = gcam_model_input_shape(m, i, dims);
        int dtype = m->g->tensors[m->g->inputs[i]].dtype;
        if (nd < 0 || nd > GCAM_MAX_NDIM || (dtype != GCAM_FLOAT32 && dtype != GCAM_INT64)) {
            ok = 0;
            break;
        }
        int64_t numel = 1;
        for (int d = 0; d < nd; d++) {
            int64_t v = dims[d] < 0 ? 1 : dims[d];
            if (v > MAX_INPUT_ELEMS || (v && numel > MAX_INPUT_ELEMS / v)) ok = 0;
            numel *= v;
            in[i].dims[d] = v;
        }
        if (!ok || numel > MAX_INPUT_ELEMS) {
            ok = 0;
            break;
        }
        in[i].dtype = dtype;
        in[i].ndim = nd;
        in[i].data = calloc((size_t)(numel ? numel : 1), 8);
        if (!in[i].data) ok = 0;
    }
    /* Run only plans of moderate size: a valid 300-byte model may Pad 16
     * floats to 500 MB, and computing that under ASan is slow, not a bug.
     * A bigger plan stops at the memory limit (after shape inference,
     * folding and the arena layout, which are always exercised). */
    gcam_model_set_memory_limit(m, MAX_RUN_ARENA_BYTES);
    const gcam_layer *layers;
    int nl;
    if (ok && gcam_model_run(m, NULL, in, n) == GCAM_OK) {
        for (int k = 0; k < gcam_model_num_outputs(m); k++) {
            gcam_array y;
            gcam_model_tensor(m, gcam_model_output_name(m, k), &y);
        }
        gcam_model_layers(m, &layers, &nl);
    }
    for (int i = 0; i < n && i < MAX_INPUTS; i++) free(in[i].data);
    gcam_model_free(m);
    return 0;
}
