/* gcam.h - Grad-CAM explanations for ONNX image models, in C.  (manual: see below)
 *
 * This header is being filled in; the status list is stable.
 */
#ifndef GCAM_H
#define GCAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define GCAM_API __declspec(dllexport)
#else
#define GCAM_API __attribute__((visibility("default")))
#endif

#define GCAM_VERSION_MAJOR 0
#define GCAM_VERSION_MINOR 1
#define GCAM_VERSION_PATCH 0

/* Status codes: every function that can fail returns one of these. */
#define GCAM_STATUS_LIST(X)                                                          \
    X(OK, 0, "success")                                                              \
    X(E_NOMEM, -1, "out of memory")                                                  \
    X(E_IO, -2, "file cannot be read or written")                                    \
    X(E_PARSE, -3, "malformed or truncated file")                                    \
    X(E_UNSUPPORTED, -4, "unsupported operator, attribute or data type")             \
    X(E_INVALID_MODEL, -5, "invalid model graph")                                    \
    X(E_SHAPE, -6, "tensor shape mismatch")                                          \
    X(E_DTYPE, -7, "tensor data type mismatch")                                      \
    X(E_ARG, -8, "invalid argument")                                                 \
    X(E_PATH, -9, "path escapes the model's folder")                                 \
    X(E_RANGE, -10, "dimension or index out of range")                               \
    X(E_NOTFOUND, -11, "name not found")                                             \
    X(E_INTERNAL, -12, "internal error")

typedef enum {
#define GCAM_X_(name, val, str) GCAM_##name = val,
    GCAM_STATUS_LIST(GCAM_X_)
#undef GCAM_X_
} gcam_status;

/* Short description of a status code; never NULL. */
GCAM_API const char *gcam_status_str(int status);

#ifdef __cplusplus
}
#endif
#endif
