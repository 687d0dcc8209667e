/* gcam.h - Grad-CAM explanations for ONNX image models, in C.
 *
 * libgcam loads an ONNX model, plans its execution once per input shape, runs
 * it forward, back-propagates the gradient of a target score to the layers a
 * method needs (activations only, only along the path between them), and
 * turns activations and gradients into a heatmap: Grad-CAM and its variants,
 * input-gradient maps, guided maps.  It decodes PNG/JPEG photos, preprocesses
 * them the way the model expects, and draws overlays.  Every formula is in
 * docs/methods.md.
 *
 * A complete program (examples/explain.c; link with -lgcam, or pkg-config
 * gcam, or find_package(gcam) and gcam::gcam):
 *
 *     gcam_model *m = NULL; gcam_photo *photo = NULL;
 *     gcam_array x = {0}; gcam_explanation *ex = NULL;
 *     int rc = gcam_model_load("resnet50.onnx", &m);
 *     if (!rc) rc = gcam_photo_load(m, "cat.jpg", NULL, &photo, &x); // decode + preprocess
 *     if (!rc) rc = gcam_explain(m, &x, NULL, &ex);                  // Grad-CAM, top-1, auto layer
 *     if (!rc) rc = gcam_save_overlay(m, photo, ex, "jet", 0.5f, "cat_cam.png");
 *     if (rc) fprintf(stderr, "%s\n", m ? gcam_model_errmsg(m) : gcam_status_str(rc));
 *     int h, w;
 *     const float *map = ex ? gcam_explanation_map(ex, &h, &w) : NULL; // h x w in [0, 1]
 *     gcam_explanation_free(ex); gcam_array_free(&x); gcam_photo_free(photo); gcam_model_free(m);
 *
 * Conventions, for every call below:
 *  - Status: a function that can fail returns 0 (GCAM_OK) or a negative code
 *    from GCAM_STATUS_LIST; gcam_status_str() names it.  The one-line message
 *    saying what and where (file, node, tensor, option) is on the model
 *    handle: gcam_model_errmsg(m), valid until the next call on m.  Calls
 *    that need no model fill a gcam_error the caller passes instead (see
 *    "without a model handle" below for why).
 *  - Ownership: constructors take an out-pointer and the caller frees the
 *    result with the matching *_free; freeing NULL is a harmless no-op.
 *    Pointers a call returns "owned by m" (names, views of tensors, layer
 *    lists) stay valid until the next run, explain or free of m, as each call
 *    says; "owned by x" means until x is freed, even after m is.
 *  - Threads: a model handle is used by one thread at a time; different
 *    handles (even of the same file) may run concurrently.  OpenMP's team
 *    size is process-wide (gcam_model_set_threads).
 *  - The library never exits or aborts on bad input, reads no environment
 *    variable (settings are per handle: gcam_model_set_option) and writes
 *    nothing to stdout; stderr only when a setting asks for it.
 *  - Arrays are dense and C-ordered (gcam_array); images are N x C x H x W or
 *    N x H x W x C float32, as the model's input declares.
 *
 * Sections: status codes; arrays; models (load, settings, inputs, run,
 * tensors); profile; layers; explanations (methods, options, results);
 * images (photos, preprocessing, overlays); .npy files; batches; bindings;
 * calls without a model handle (errors, files, labels, scores, top-k); version.
 * Two more headers: gcam_image.h draws maps (heatmaps over photos or over
 * the model's input, signed and C x H x W maps, grids, PNG/JPEG); gcam_eval.h
 * (which includes it) judges them: the model-parameter randomisation test,
 * similarity measures, deletion/insertion curves and every measure of
 * `gradcam eval`.
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

/* Names and strings read from model and input files (tensor and node names,
 * metadata, labels) are returned as they are stored: they may hold control
 * characters or invalid UTF-8.  gcam_escape writes s into buf (cap bytes,
 * always NUL-terminated when cap > 0) with every ASCII or C1 control
 * character, DEL and every byte that is not part of well-formed UTF-8 shown
 * as \xNN; valid UTF-8 is kept.  A sequence that does not fit is left out
 * whole.  Returns the length the whole escaped string needs (without the
 * NUL).  buf may be NULL (cap 0) to measure; s NULL is "".  Every message
 * the library stores (gcam_model_errmsg) is already escaped this way. */
GCAM_API size_t gcam_escape(const char *s, char *buf, size_t cap);

/* ---- memory ------------------------------------------------------------------
 * Replaces the allocator behind every allocation the library makes itself
 * (model graphs and weights, plans and arenas, explanations, arrays, photos,
 * messages, protobuf-c's unpacking of the model file, libpng's buffers), in
 * the manner of libuv's uv_replace_allocator.  The four functions behave
 * as the C library's: NULL on failure, free(NULL) a no-op; calloc zeroes.
 * All four NULL restores the C library's; some but not all NULL is
 * GCAM_E_ARG.
 *
 * Process-wide and not thread-safe: call it before any other gcam_ call,
 * while no other thread uses the library, and never while anything the
 * library allocated is still alive (a block must be freed by the allocator
 * that made it).  Every call that allocates reports a failure as
 * GCAM_E_NOMEM (tests/unit/test_oom.c fails each allocation of a load and
 * an explain in turn), leaving the handle usable or freeable.
 *
 * Not covered (they allocate through their own means): oneDNN's kernels and
 * the OpenMP runtime (the threads' stacks and teams), libjpeg (its memory
 * manager is chosen when libjpeg is compiled) and the C library's own stdio
 * buffers.  The library's aligned blocks (arenas, weights) come from
 * malloc_fn with room to align them when an allocator is set. */
typedef void *(*gcam_malloc_fn)(size_t size);
typedef void *(*gcam_realloc_fn)(void *ptr, size_t size);
typedef void *(*gcam_calloc_fn)(size_t count, size_t size);
typedef void (*gcam_free_fn)(void *ptr);
GCAM_API int gcam_set_allocator(gcam_malloc_fn malloc_fn, gcam_realloc_fn realloc_fn,
                                gcam_calloc_fn calloc_fn, gcam_free_fn free_fn);
/* Frees a buffer the library handed to the caller without a *_free of its
 * own (gcam_png_encode, gcam_jpeg_encode, gcam_file_read_text): never free() it, the block may
 * come from the allocator above.  NULL is a no-op. */
GCAM_API void gcam_mem_free(void *p);

/* ---- arrays ------------------------------------------------------------------
 * A plain description of a dense, C-order array.  Data types use the ONNX codes. */
#define GCAM_MAX_NDIM 8
#define GCAM_FLOAT32 1
#define GCAM_UINT8 2
#define GCAM_INT8 3
#define GCAM_INT32 6
#define GCAM_INT64 7
#define GCAM_BOOL 9 /* one byte per element, 0 or 1 */

/* float32 is the one floating type inside: a model's float16 and float64
 * tensors (weights, inputs, outputs, Cast targets) are converted to float32
 * when loaded, so its inputs take and its outputs give float32.  Integer and
 * bool tensors keep their type. */
typedef struct gcam_array {
    int dtype;                     /* GCAM_FLOAT32, GCAM_INT64, GCAM_INT32, GCAM_INT8, GCAM_UINT8 or GCAM_BOOL */
    int ndim;
    int64_t dims[GCAM_MAX_NDIM];
    void *data;
} gcam_array;

/* ---- models ------------------------------------------------------------------
 * A gcam_model is a loaded ONNX graph plus its execution plan and memory.
 * It is not thread-safe: use one model handle per thread.
 *
 * gcam_model_load() always sets *out, even on failure (except when memory for
 * the handle itself cannot be had, then *out is NULL): read the one-line
 * reason with gcam_model_errmsg(), then gcam_model_free() it.
 * gcam_model_free(NULL) is a no-op. */
typedef struct gcam_model gcam_model;

GCAM_API int gcam_model_load(const char *path, gcam_model **out);
GCAM_API int gcam_model_load_buffer(const void *buf, size_t len, gcam_model **out);
GCAM_API void gcam_model_free(gcam_model *m);
/* The message of the last failed call on this handle ("" if none).  Owned by m. */
GCAM_API const char *gcam_model_errmsg(const gcam_model *m);
/* Threads used by kernels (default: all cores), 1 to GCAM_MAX_THREADS;
 * another value is ignored (the reason goes to gcam_model_errmsg).
 * OpenMP's team size is process-wide, so this affects every model in the
 * process. */
#define GCAM_MAX_THREADS 1024
GCAM_API void gcam_model_set_threads(gcam_model *m, int nthreads);
/* The most memory (bytes) each of the model's plans may take for
 * activations, kernel scratch and gradients (the main plan, and each
 * batched view that Score-CAM, Ablation-CAM, integrated gradients and
 * SmoothGrad build beside it, separately); 0 (the default) means half of
 * the machine's physical memory.  A plan above it fails with GCAM_E_NOMEM and
 * a message giving both sizes, instead of the process being killed later.
 * Takes effect at the next planning (a new input shape or method). */
GCAM_API void gcam_model_set_memory_limit(gcam_model *m, size_t bytes);

/* Per-model settings: switches that choose between code paths giving the
 * same results (within float rounding), for A/B measurements and as test
 * oracles.  The library reads no environment variable; the gradcam command
 * maps GCAM_<NAME> variables onto these (docs/benchmarks.md).
 * X(enum suffix, name, default, description) */
#define GCAM_OPTION_LIST(X)                                                                         \
    X(CONV_REFERENCE, "conv-reference", 0, "1: plain im2col + GEMM convolutions (the test oracle) "  \
                                           "instead of oneDNN's")                                    \
    X(FUSE, "fuse", 1, "0: no conv + BatchNorm + activation + residual-add fusion")                  \
    X(CHANNELS_LAST, "channels-last", 1, "0: every activation stays N x C x H x W")                 \
    X(HEAD_SHORTCUT, "head-shortcut", 1, "0: Grad-CAM back-propagates through a flattening "        \
                                         "linear head instead of using its summed weights")          \
    X(SCORECAM_MASKCONV, "scorecam-maskconv", 1, "0: Score-CAM runs the input's first conv on "     \
                                                 "every masked input instead of by linearity")       \
    X(CONV_VERBOSE, "conv-verbose", 0, "1: one line on stderr per convolution kernel built")       \
    X(WINOGRAD, "winograd", 1, "0: 3x3 stride-1 convs run oneDNN's direct kernels instead of "      \
                               "Winograd F(4x4, 3x3) (AVX2 machines without AVX-512)")              \
    X(PACKED_GEMM, "packed-gemm", 1, "0: MatMul by a constant matrix runs oneDNN's sgemm instead "  \
                                     "of our packed-weights GEMM (AVX2 machines without AVX-512)")  \
    X(PROFILE, "profile", 0, "1: time every node of every pass (gcam_model_profile)")                \
    X(ABLATION_RERUN, "ablation-rerun", 0, "1: Ablation-CAM re-runs the layer's prefix for every "   \
                                           "batch, as pytorch-grad-cam does (benchmarks)")

typedef enum {
#define GCAM_X_(id, name, def, desc) GCAM_OPT_##id,
    GCAM_OPTION_LIST(GCAM_X_)
#undef GCAM_X_
    GCAM_OPT_COUNT
} gcam_option;

/* Sets a setting (0 or 1 for every option today); takes effect at the next
 * planning, which it forces.  GCAM_E_ARG for an unknown option or value. */
GCAM_API int gcam_model_set_option(gcam_model *m, gcam_option opt, int value);
/* The current value, or -1 for an unknown option or NULL m. */
GCAM_API int gcam_model_get_option(const gcam_model *m, gcam_option opt);
/* The option's name ("conv-reference", ...) or NULL; and the inverse, -1 if unknown. */
GCAM_API const char *gcam_option_name(gcam_option opt);
GCAM_API int gcam_option_parse(const char *name);
/* SmoothGrad's standard-normal draws for the explains that follow: z holds
 * N x C x H x W float32 values (N x H x W x C for an NHWC input), N at
 * least the samples, used instead of the seeded generator so that a
 * reference in another language can use the very same noise (parity
 * tests).  Copied now, owned by m; z == NULL returns to the generator.
 * GCAM_E_DTYPE unless float32; the shape is checked at gcam_explain. */
GCAM_API int gcam_model_set_smoothgrad_noise(gcam_model *m, const gcam_array *z);

GCAM_API int gcam_model_num_inputs(const gcam_model *m);
GCAM_API int gcam_model_num_outputs(const gcam_model *m);
GCAM_API const char *gcam_model_input_name(const gcam_model *m, int i);
GCAM_API const char *gcam_model_output_name(const gcam_model *m, int i);
/* Declared shape of input i; symbolic or unknown dims are -1.  Returns ndim or -1. */
GCAM_API int gcam_model_input_shape(const gcam_model *m, int i, int64_t dims[GCAM_MAX_NDIM]);
/* Binds input i's shape (symbolic dims included) for planning without
 * running, e.g. before gcam_model_layers.  GCAM_E_SHAPE when dims contradict
 * the declared shape; a later run with another shape re-binds it. */
GCAM_API int gcam_model_set_input_shape(gcam_model *m, int i, const int64_t *dims, int ndim);

/* Layout of a 4-D image input: NCHW, or NHWC when the last dim looks like a
 * channel count (1, 3 or 4) and the second like a height (symbolic or > 4:
 * [1,128,128,3], [N,?,?,4]); "layout=nhwc|nchw" in the
 * "gradcam.preprocess" metadata decides ambiguous shapes.  NONE for inputs
 * that are not 4-D.  Images are fed, and maps drawn, in this layout. */
#define GCAM_LAYOUT_NONE (-1)
#define GCAM_LAYOUT_NCHW 0
#define GCAM_LAYOUT_NHWC 1
GCAM_API int gcam_model_input_layout(const gcam_model *m, int i);

/* Feeds graph input `name` with a copy of `a` (copied now, owned by m) on
 * every later gcam_model_run and gcam_explain, beside the inputs given to
 * them: a model's non-image inputs (a scale, a mask).  a == NULL stops
 * feeding it.  GCAM_E_NOTFOUND for an unknown input; GCAM_E_DTYPE or
 * GCAM_E_SHAPE when a does not fit its declaration. */
GCAM_API int gcam_model_set_input(gcam_model *m, const char *name, const gcam_array *a);
/* The index of the input that images and gcam_explain feed: the one input
 * not fed by gcam_model_set_input; -1 (message on m) if none or several are. */
GCAM_API int gcam_model_image_input(gcam_model *m);
/* Value of a metadata_props entry, or NULL.  Owned by m. */
GCAM_API const char *gcam_model_metadata(const gcam_model *m, const char *key);

/* Asks that an intermediate tensor stays readable after gcam_model_run. */
GCAM_API int gcam_model_keep(gcam_model *m, const char *tensor_name);

/* Runs the graph forward.  names[i] names the graph input fed by inputs[i];
 * names == NULL feeds the graph inputs in order, skipping those fed by
 * gcam_model_set_input.  Re-plans when input shapes change: symbolic dims
 * are bound from the arrays given, and shape subgraphs are folded once per
 * bound shape. */
GCAM_API int gcam_model_run(gcam_model *m, const char *const *names, const gcam_array *inputs, int n);

/* How many of the model's tensors (initializers, Constant values, declared
 * inputs and outputs) and Cast targets are float16 or float64: the engine
 * computes them as float32 (they are converted when loaded).  0 for NULL. */
GCAM_API int gcam_model_float_conversions(const gcam_model *m);

/* A view of a tensor after gcam_model_run (graph outputs, kept tensors,
 * initializers).  out->data points into m and is valid until the next run. */
GCAM_API int gcam_model_tensor(gcam_model *m, const char *name, gcam_array *out);

/* ---- profile -----------------------------------------------------------------
 * With the "profile" setting on, every node's forward and backward time is
 * summed over every pass of the model - gcam_model_run, gcam_explain and the
 * batched passes of Score-CAM, Ablation-CAM, IG and SmoothGrad - until
 * gcam_model_profile_reset.  A node that fusion folded into another (a
 * BatchNormalization, ReLU or residual Add after a Conv) has no time of its
 * own: the running node's op_type then reads e.g. "Conv+BatchNormalization+Relu". */
typedef struct gcam_profile_row {
    const char *node;      /* the running node's name, owned by m */
    const char *op_type;   /* its op, with the ops fused into it after '+', owned by m */
    double forward_ms, backward_ms;
    int64_t forward_calls, backward_calls;
} gcam_profile_row;

/* Rows for every node that ran at least once, in the order of the graph;
 * *rows is owned by m and valid until the next call on m.  Without the
 * setting, *n is 0. */
GCAM_API int gcam_model_profile(gcam_model *m, const gcam_profile_row **rows, int *n);
GCAM_API void gcam_model_profile_reset(gcam_model *m);

/* ---- layers ------------------------------------------------------------------
 * Every activation a layer CAM can read, in execution order: 4-D maps,
 * channels first (N, C, H, W) or channels last (N, H, W, C), and 3-D token
 * sequences (N, T, C) whose T = skip + h * w tokens lie on an h x w grid.
 *
 * Layouts.  A 4-D tensor is channels last when a Transpose with perm
 * (0,2,3,1) made it from a channels-first one, or it descends (through any
 * op but a Transpose) from such a tensor; a Transpose (0,3,1,2) makes it
 * channels first again (Swin, ConvNeXt blocks, tf2onnx graphs).  A 3-D
 * tensor is a token sequence when some convolution of the graph (the patch
 * embedding) has an h x w output with T - 8 <= h * w <= T; the T - h * w
 * leading tokens (class, distillation) are skipped.  Every layer CAM then
 * works on the h x w grid, channels first, as pytorch-grad-cam does with
 * the equivalent reshape_transform.  gcam_explain_opts.layout and
 * .token_* override the guess where the graph does not tell. */
typedef enum {
    GCAM_LAYER_AUTO = 0,   /* from the graph (opts only) */
    GCAM_LAYER_NCHW = 1,   /* N x C x H x W */
    GCAM_LAYER_NHWC = 2,   /* N x H x W x C */
    GCAM_LAYER_TOKENS = 3, /* N x (skip + h*w) x C */
} gcam_layer_layout;   /* a layer's layout (an input's is GCAM_LAYOUT_*) */

typedef struct gcam_layer {
    const char *tensor;   /* ONNX tensor name */
    const char *node;     /* producing node's name */
    const char *op_type;  /* producing node's op */
    int64_t dims[4];      /* the tensor's shape (a 3-D one: dims[3] = 0) */
    int is_auto;          /* the automatic choice (see auto_reason) */
    /* since 0.1 (issue 10) */
    int ndim;             /* 3 or 4 */
    gcam_layer_layout layout; /* never AUTO */
    int64_t grid_h, grid_w, channels, skip; /* the map's grid, channels, skipped tokens */
    const char *auto_reason; /* why it is the automatic layer (NULL for the others), owned by m:
                                never an output nor a 1x1 grid; the input of a ViT's last block's
                                first LayerNorm; for a dense output the last of the widest maps
                                (the backbone before the head); else the last map */
} gcam_layer;

/* Lists layers for the current plan.  If the model has not run yet it plans
 * with the shapes bound by gcam_model_set_input_shape; symbolic dims still
 * open take, for a leading batch dim, 1, and for an image's H and W, the
 * "size=H,W" of the "gradcam.preprocess" metadata; any other open dim is
 * GCAM_E_SHAPE with the message "input 'x' has dims [N,3,?,?]: pass
 * --input-shape 1,3,H,W" (never a silent 1).  *layers is owned by m and
 * valid until the next run or free. */
GCAM_API int gcam_model_layers(gcam_model *m, const gcam_layer **layers, int *n);
/* Resolves a layer given as a tensor name or a node name ("auto" = the
 * automatic choice) to a tensor name owned by m. */
GCAM_API int gcam_model_resolve_layer(gcam_model *m, const char *name, const char **tensor);
/* The automatic layer for the target tensor `target` (NULL: the first
 * output) - the one gcam_explain takes with that target_output - as a
 * tensor name and the reason it was chosen (a phrase, as
 * gcam_layer.auto_reason), both owned by m.  A detector's heads each get
 * their own (the map feeding that head).  GCAM_E_NOTFOUND when `target` is
 * no tensor of the model or no map with a grid leads to it. */
GCAM_API int gcam_model_auto_layer_of(gcam_model *m, const char *target, const char **tensor, const char **reason);

/* ---- explanations -------------------------------------------------------------
 * gcam_explain() runs the model forward on `input` (batch 1), back-propagates
 * the target score to the chosen layer(s) - activations only, only along the
 * path between them - and builds the map.  Conventions follow pytorch-grad-cam
 * (docs/methods.md): ReLU, min-max normalise, bilinear resize to the input's
 * H x W with half-pixel centres, normalise again.
 *
 * Methods (docs/methods.md has every formula):
 *  - layer CAMs, an H x W map in [0, 1] from the activations A of a layer:
 *    gradcam, gradcam++, xgradcam, hirescam, gradcam-elementwise, layercam,
 *    eigencam (no gradient), eigengradcam, scorecam and ablationcam (forward
 *    passes only), cam (Zhou et al.: GAP + linear heads only);
 *  - input-gradient maps, H x W: saliency and smoothgrad (in [0, 1]),
 *    integrated-gradients (signed, divided by its largest magnitude);
 *  - C x H x W signed maps (divided by their largest magnitude):
 *    guided-backprop, guided-gradcam;
 *  - vision transformers: attention-rollout, grad-rollout, from every Softmax
 *    output of shape (heads) x T x T where T is the token count of the
 *    model's token layers (gcam_model_layers; or token_skip + token_h *
 *    token_w with layout GCAM_LAYER_TOKENS), at most GCAM_MAX_LAYERS. */
/* What a method needs and gives (gcam_method_flags). */
#define GCAM_MF_LAYER 1        /* a map from a layer's activations */
#define GCAM_MF_LAYER_GRAD 2   /* ... and their gradient (one backward pass) */
#define GCAM_MF_INPUT_GRAD 4   /* the gradient of the input */
#define GCAM_MF_GUIDED 8       /* ... through ReLUs with the guided-backprop rule */
#define GCAM_MF_RGB 16         /* a C x H x W map instead of H x W */
#define GCAM_MF_BATCHED 32     /* extra passes over input batches (IG, SmoothGrad) */
#define GCAM_MF_SIGNED 64      /* a signed map, divided by its largest magnitude */
#define GCAM_MF_ATTENTION 128  /* a map from a transformer's attention probabilities */

/* Every method, one row each: X(enum suffix, CLI name, GCAM_MF_* flags,
 * layer-map entry in src/cam/ (none: not a layer CAM), one-line summary).
 * Adding a method is its file in src/cam/ plus a row here: the enum, names,
 * flags, the CLI's list and the dispatch come from this list. */
#define GCAM_METHOD_LIST(X)                                                                               \
    X(GRADCAM, "gradcam", GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD, gradcam,                                     \
      "Grad-CAM: channels weighted by their mean gradient")                                              \
    X(GRADCAM_PP, "gradcam++", GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD, gradcampp,                              \
      "Grad-CAM++: higher-order weights of the positive gradients")                                      \
    X(XGRADCAM, "xgradcam", GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD, xgradcam,                                  \
      "XGrad-CAM: gradients weighted by the normalised activations")                                     \
    X(HIRESCAM, "hirescam", GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD, hirescam,                                  \
      "HiResCAM: gradient times activation, summed over channels")                                       \
    X(GRADCAM_ELEMENTWISE, "gradcam-elementwise", GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD, gradcam_elementwise, \
      "ReLU(gradient times activation), summed over channels")                                           \
    X(LAYERCAM, "layercam", GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD, layercam,                                  \
      "Layer-CAM: ReLU(gradient) times activation")                                                      \
    X(EIGENCAM, "eigencam", GCAM_MF_LAYER, eigencam, "Eigen-CAM: first principal component of the layer")  \
    X(EIGENGRADCAM, "eigengradcam", GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD, eigengradcam,                      \
      "first principal component of gradient times activation")                                          \
    X(SCORECAM, "scorecam", GCAM_MF_LAYER, scorecam, "Score-CAM: the score of the input masked by each channel") \
    X(ABLATIONCAM, "ablationcam", GCAM_MF_LAYER, ablationcam, "Ablation-CAM: the score drop when a channel is zeroed") \
    X(CAM, "cam", GCAM_MF_LAYER, cam, "CAM (Zhou et al.): the linear head's weights, GAP + linear only")     \
    X(GUIDED_BACKPROP, "guided-backprop", GCAM_MF_INPUT_GRAD | GCAM_MF_GUIDED | GCAM_MF_RGB | GCAM_MF_SIGNED, \
      none, "guided backpropagation: the input gradient through guided ReLUs")                           \
    X(GUIDED_GRADCAM, "guided-gradcam",                                                                    \
      GCAM_MF_LAYER | GCAM_MF_LAYER_GRAD | GCAM_MF_INPUT_GRAD | GCAM_MF_GUIDED | GCAM_MF_RGB | GCAM_MF_SIGNED, \
      gradcam, "guided backpropagation times the Grad-CAM map")                                          \
    X(SALIENCY, "saliency", GCAM_MF_INPUT_GRAD, none, "vanilla gradient: |d score / d input|, max over channels") \
    X(INTEGRATED_GRADIENTS, "integrated-gradients", GCAM_MF_BATCHED | GCAM_MF_SIGNED, none,               \
      "integrated gradients from a baseline")                                                            \
    X(SMOOTHGRAD, "smoothgrad", GCAM_MF_BATCHED, none, "SmoothGrad: saliency averaged over noisy copies")   \
    X(ATTENTION_ROLLOUT, "attention-rollout", GCAM_MF_ATTENTION, none,                                    \
      "attention rollout (Abnar & Zuidema): head-mean attention + identity, multiplied through the blocks") \
    X(GRAD_ROLLOUT, "grad-rollout", GCAM_MF_ATTENTION | GCAM_MF_LAYER_GRAD, none,                          \
      "gradient-weighted rollout (Chefer et al.): ReLU(head-mean of gradient x attention), rolled out")

typedef enum {
#define GCAM_X_(id, name, flags, entry, desc) GCAM_METHOD_##id,
    GCAM_METHOD_LIST(GCAM_X_)
#undef GCAM_X_
    GCAM_METHOD_COUNT
} gcam_method;

/* The CLI name of a method ("gradcam++", ...), NULL when out of range. */
GCAM_API const char *gcam_method_name(gcam_method method);
/* The method of a CLI name, or -1 (an int: test it before storing it in a gcam_method).
 * The enums (gcam_method, gcam_norm, gcam_layer_layout, gcam_option) have no
 * negative values, so a compiler may make them unsigned: a value out of
 * range, negative ones included, is GCAM_E_ARG where the library takes one. */
GCAM_API int gcam_method_parse(const char *name);
/* Its GCAM_MF_* flags (0 when out of range) and one-line summary (NULL when out of range). */
GCAM_API int gcam_method_flags(gcam_method method);
GCAM_API const char *gcam_method_summary(gcam_method method);

typedef enum {
    GCAM_NORM_IMAGE = 0,  /* per image: (x - min) / (max - min + 1e-7), before and after resizing */
    GCAM_NORM_NONE = 1,   /* the map as computed (after ReLU), resized */
    GCAM_NORM_GLOBAL = 2, /* x / global_max, clamped to [0, 1]: comparable across images */
} gcam_norm;

/* Reports progress of the long methods (Score-CAM, Ablation-CAM, integrated
 * gradients, SmoothGrad, augmentation smoothing): `done` of `total` units of
 * the step `what` (e.g. "scorecam").  Called from the explaining thread. */
typedef void (*gcam_progress_fn)(void *user, const char *what, int64_t done, int64_t total);

/* The most layers one explanation may average (gcam_explain_opts.layers). */
#define GCAM_MAX_LAYERS 16

typedef struct gcam_explain_opts {
    gcam_method method;
    const char *const *layers; /* tensor or node names; NULL or n_layers 0 = automatic */
    int n_layers;              /* several layers (at most GCAM_MAX_LAYERS): mean of the
                                  per-layer normalised maps */
    int64_t target_class;      /* class index; -1 = top-1 */
    const char *target_output; /* any tensor of the model; NULL = the first graph output */
    int counterfactual;        /* explain -score: what argues against the class */
    int target_softmax;        /* score = softmax probability instead of the logit */
    int no_relu;               /* keep negative evidence (raw map only) */
    gcam_norm normalize;
    float global_max;          /* for GCAM_NORM_GLOBAL */
    /* smoothing (layer CAMs; aug_smooth also the input-gradient methods) */
    int eigen_smooth;          /* first principal component of the weighted activations */
    int aug_smooth;            /* mean over horizontal flip x brightness 0.9/1.0/1.1 */
    /* Score-CAM, Ablation-CAM, integrated gradients, SmoothGrad */
    int batch_size;            /* images (or layer copies) per pass; 0 = 32 */
    int max_channels;          /* Score-CAM: the N highest-variance channels (Faster
                                  Score-CAM); 0 = all */
    int scorecam_baseline;     /* Score-CAM as in the paper: p_c(X * H_k) - p_c(0) */
    int ablation_zero;         /* Ablation-CAM as in the paper: ablate to 0 always */
    int ig_steps;              /* integrated gradients: 0 = 50 */
    const char *ig_baseline;   /* "zero" (NULL), "blur", "blur:SIGMA", "uniform", or a .npy path */
    int sg_samples;            /* SmoothGrad: 0 = 25 */
    float sg_noise;            /* SmoothGrad: sigma / (max x - min x); 0 = 0.15 */
    uint64_t seed;             /* SmoothGrad noise and the uniform IG baseline */
    gcam_progress_fn progress; /* NULL: silent */
    void *progress_user;
    /* ---- weighted targets (issue 14: the Python package) ----
     * target_weights != NULL: the explained score is sum_i w_i * y_i over one
     * batch item of the target tensor (n_target_weights must equal its element
     * count), e.g. pytorch-grad-cam's SemanticSegmentationTarget, a mask on one
     * class plane of a segmentation output.  target_class is then ignored;
     * with target_softmax the score is sum_i w_i * p_i, p the softmax over
     * the class axis (axis 1 of a 4-D output, per pixel; else the last axis,
     * per row or step); counterfactual negates the score as usual.
     * Borrowed: read during gcam_explain only. */
    const float *target_weights;
    int64_t n_target_weights;
    /* ---- layer layout (issue 10) ----
     * layout GCAM_LAYER_AUTO (0): each layer's layout and grid as
     * gcam_model_layers reports it; NCHW or NHWC: every layer is read so
     * (4-D); GCAM_LAYER_TOKENS: every layer is N x T x C with token_skip leading tokens
     * dropped and the rest on a token_h x token_w grid (token_h 0: the grid
     * from the graph, token_skip then T - h * w).  GCAM_E_SHAPE when the
     * shapes do not fit. */
    gcam_layer_layout layout;
    int64_t token_skip, token_h, token_w;
    /* attention-rollout, grad-rollout: in each layer the fraction in [0, 1)
     * of the smallest head-fused attention weights set to 0 before the
     * rollout (jacobgil/vit-explain's discard_ratio; docs/methods.md); 0 =
     * none.  GCAM_E_ARG outside [0, 1) or when > 0 for another method. */
    float discard_ratio;
} gcam_explain_opts;

/* method gradcam, automatic layer, top-1, logit, ReLU, per-image normalisation */
GCAM_API void gcam_explain_opts_default(gcam_explain_opts *o);

typedef struct gcam_explanation gcam_explanation;

/* On success *out is a new explanation; free it with gcam_explanation_free.
 * On failure *out is NULL and gcam_model_errmsg(m) says why. */
GCAM_API int gcam_explain(gcam_model *m, const gcam_array *input, const gcam_explain_opts *o,
                          gcam_explanation **out);
GCAM_API void gcam_explanation_free(gcam_explanation *x);
/* The map at the input's resolution, owned by x: channels x h x w floats
 * (gcam_explanation_channels: 1, or the input's channels - 3 for RGB - for
 * guided-backprop and guided-gradcam, plane after plane), row-major. */
GCAM_API const float *gcam_explanation_map(const gcam_explanation *x, int *h, int *w);
GCAM_API int gcam_explanation_channels(const gcam_explanation *x);
/* The first layer's map at its own resolution, before normalisation and
 * resizing (after ReLU unless no_relu), owned by x.  For the input-gradient
 * methods, the map before normalisation at the input's resolution (channels
 * x h x w for the 3-channel ones). */
GCAM_API const float *gcam_explanation_raw(const gcam_explanation *x, int *h, int *w);
/* The explained element of the target tensor (-1 with target_weights), and
 * its score (logit, probability, or the weighted sum). */
GCAM_API int64_t gcam_explanation_target(const gcam_explanation *x);
GCAM_API float gcam_explanation_score(const gcam_explanation *x);
/* The layer tensor names used (i < n), owned by x (copies: valid after the
 * model is freed); 0 layers for the input-gradient methods. */
GCAM_API int gcam_explanation_num_layers(const gcam_explanation *x);
GCAM_API const char *gcam_explanation_layer(const gcam_explanation *x, int i);
/* Milliseconds spent in "forward", "backward" and "cam" (everything after the
 * first backward pass: weights, extra passes, post-processing); -1 for an
 * unknown phase. */
GCAM_API double gcam_explanation_time_ms(const gcam_explanation *x, const char *phase);

/* ---- images ------------------------------------------------------------------
 * A photo decoded and preprocessed for a model, remembering where the model's
 * input sits on it so that a heatmap can be drawn back onto the whole photo. */
typedef struct gcam_preprocess_opts {
    const char *preset;   /* NULL: the model's "gradcam.preprocess" metadata if any
                             (keys preset, size, mean, std, scale, bgr=1, crop=none,
                             layout=nhwc|nchw), else "imagenet".  Presets:
                             "imagenet" (shorter side to 256/224 of the input, centre
                             crop, ImageNet mean/std); and, resized straight to the
                             input: "tf" and "paddle" ((x/255 - 0.5) / 0.5, in [-1, 1]),
                             "caffe" (BGR, 0-255 minus the BGR mean 103.939, 116.779,
                             123.68), "raw" (0-255), "unit" and "none" (0-1) */
    int size_h, size_w;   /* model input size; 0 = from the model's input shape */
    int has_mean, has_std;
    float mean[3], std[3];/* per output channel (B, G, R order with bgr), applied to
                             pixels * scale; an RGBA input's alpha keeps the preset's */
    double scale;         /* pixel * scale before mean/std; 0 = the preset's */
    int bgr;              /* 1: feed B, G, R (the caffe preset does) */
    int no_crop;          /* resize straight to the input size */
    int no_exif;          /* ignore the JPEG EXIF orientation (as PIL.Image.open does) */
} gcam_preprocess_opts;

/* The i-th preset's name ("imagenet", "tf", ...), NULL past the last. */
GCAM_API const char *gcam_preset_name(int i);

/* The preprocessing settings' text forms, as the metadata (gradcam.size,
 * gradcam.mean, gradcam.std) and the CLI write them: "H" or "H,W" / "HxW"
 * (1..16384), and "a,b,c" or one value for all channels.  0, or -1 when
 * s is malformed (outputs then unspecified). */
GCAM_API int gcam_parse_size(const char *s, int *h, int *w);
GCAM_API int gcam_parse_floats3(const char *s, float *v);

typedef struct gcam_photo gcam_photo;

/* Decodes a PNG or JPEG and fills *input (float32, free with
 * gcam_array_free) for the model's image input (the one input not fed by
 * gcam_model_set_input) in its layout: 1 x C x H x W, or 1 x H x W x C for
 * an NHWC input; C = 1 gets the luma of the photo, 3 RGB (or BGR), 4 RGBA
 * with alpha 255.  o may be NULL for the defaults.  Errors go to m's message.
 * The path must name a regular file (no FIFO or device) of at most 1 GiB;
 * an image whose compressed data cannot fill the size it claims fails with
 * GCAM_E_PARSE, and one whose decoding and preprocessing would take more than
 * the model's memory limit (gcam_model_set_memory_limit) with GCAM_E_NOMEM,
 * both before the pixels are allocated.  Negative, zero or non-finite std,
 * non-finite mean and sizes outside 0..16384 are GCAM_E_ARG. */
GCAM_API int gcam_photo_load(gcam_model *m, const char *path, const gcam_preprocess_opts *o,
                             gcam_photo **photo, gcam_array *input);
GCAM_API void gcam_photo_free(gcam_photo *p);
/* The decoded photo's size in pixels (after EXIF orientation). */
GCAM_API void gcam_photo_size(const gcam_photo *p, int *w, int *h);
/* Where the model input sits on the photo, in the photo's continuous pixel
 * coordinates (pixel i covers [i, i+1)): model-input pixel (u, v) of an
 * H x W input maps to (x + u * w / W, y + v * h / H).  Without a crop it is
 * the whole photo; a padded crop may reach past its edges.  Any pointer may
 * be NULL. */
GCAM_API void gcam_photo_rect(const gcam_photo *p, double *x, double *y, double *w, double *h);
/* Outputs (gcam_save_overlay, gcam_npy_save) are written to a temporary file
 * beside path and renamed into place when complete: on any failure the
 * temporary is removed and an existing file at path is left as it was.
 * Writes the explanation's map over the photo (PNG, or JPEG for .jpg/.jpeg),
 * the photo's own size and aspect ratio.  colormap: "jet" (NULL), "turbo",
 * "viridis", "inferno", "gray"; alpha: weight of the colour, 0..1.
 * photo NULL: writes the colourised map alone. */
GCAM_API int gcam_save_overlay(gcam_model *m, const gcam_photo *photo, const gcam_explanation *x,
                               const char *colormap, float alpha, const char *path);

/* .npy files, C order, little-endian: float32 and the integer and bool
 * types a tensor can have, each written in its own dtype (float64 and
 * float16 files are refused: convert to float32), ndim 0..GCAM_MAX_NDIM.
 * gcam_npy_load fills a (data the library's: gcam_array_free); the header's size is checked
 * against the file's before anything is allocated, and the path must name a
 * regular file.  m may be NULL (then no message is kept). */
GCAM_API int gcam_npy_load(gcam_model *m, const char *path, gcam_array *a);
GCAM_API int gcam_npy_save(gcam_model *m, const char *path, const gcam_array *a);
/* Frees a->data (allocated by this library) and zeroes a. */
GCAM_API void gcam_array_free(gcam_array *a);

/* ---- batches (issue 14: gradcam batch) ---------------------------------------
 * Explains the N images of input (N x C x H x W float32) into out[0..N-1]
 * (caller's array of N pointers; each freed with gcam_explanation_free),
 * image i for targets[i] (targets NULL: o->target_class for all; -1: the
 * image's top-1).  In one forward and one backward pass when it can: the
 * model's input batch is symbolic, the method is a gradient layer CAM
 * (gradcam, gradcam++, xgradcam, hirescam, gradcam-elementwise, layercam,
 * eigengradcam) or eigencam, and o asks for none of aug_smooth,
 * target_softmax, target_weights, target_output; otherwise (and when the
 * batched plan fails, e.g. a graph that pins the batch or the memory limit)
 * one gcam_explain per image.  The batched maps equal gcam_explain's up to
 * float32 rounding (batched kernels, and no linear-head shortcut for
 * Grad-CAM); time_ms splits the passes evenly.  On failure every out[i] is
 * NULL and gcam_model_errmsg(m) says why. */
GCAM_API int gcam_explain_batch(gcam_model *m, const gcam_array *input, const gcam_explain_opts *o,
                                const int64_t *targets, gcam_explanation **out);
/* The explained image's values of the target tensor as its forward pass gave
 * them (one batch item: a classifier's class scores, for top-k), *n their
 * count; the unaugmented input's with aug_smooth.  Owned by x. */
GCAM_API const float *gcam_explanation_output(const gcam_explanation *x, int64_t *n);

/* ---- bindings (issue 14: the Python package) ---------------------------------
 * sizeof(gcam_explain_opts) as this library was built, so that a binding that
 * mirrors the struct (python/gradcam/_lib.py) can refuse a library whose
 * layout differs from its own instead of passing it a misread struct. */
GCAM_API size_t gcam_explain_opts_sizeof(void);
/* Copies the 256-entry RGB table of a colormap ("jet", "turbo", "viridis",
 * "inferno", "gray"; OpenCV's applyColorMap tables, RGB order) into rgb
 * (768 bytes, caller's).  Entry (int)(255 * v) colours heat v in [0, 1].
 * GCAM_E_ARG for an unknown name or a NULL pointer. */
GCAM_API int gcam_colormap_table(const char *name, uint8_t rgb[768]);

/* ---- without a model handle: errors, files, labels, scores (issue 11) --------
 * What the gradcam command, the benchmarks and the Python package need beside
 * a model: the same calls a C user gets.
 *
 * Errors.  A call that needs no model takes a gcam_error *err as its last
 * argument (NULL: no message kept) and fills it on failure: code (the status
 * returned) and a one-line message, already escaped (gcam_escape).  Why an
 * out-parameter and not a per-thread "last error": the message is where the
 * call is, no hidden state survives between calls (a later call cannot
 * overwrite it unseen, e.g. from a progress callback), it needs neither
 * thread-local storage nor an allocation, and a binding (ctypes) allocates
 * it like any struct.  Calls on a model handle keep their message on the
 * handle (gcam_model_errmsg). */
typedef struct gcam_error {
    int code;       /* GCAM_OK, or the status the call returned */
    char msg[1024]; /* "" or the one-line reason */
} gcam_error;

/* Output files.  Fails (GCAM_E_IO, message naming the path) unless a file
 * could be written at path: its folder exists and is writable, and path is
 * not a folder.  Writes nothing: for checking every output before a long
 * run starts. */
GCAM_API int gcam_file_check_output(const char *path, gcam_error *err);
/* Writes len bytes to path the way every output of the library is written:
 * into a temporary file beside it, renamed into place when complete; on any
 * failure (a full disk, a write error) the temporary is removed, an existing
 * file at path is left as it was, and GCAM_E_IO names the path.  A path that
 * exists and is not a regular file (/dev/null, a FIFO) is written in place. */
GCAM_API int gcam_file_write_atomic(const char *path, const void *data, size_t len, gcam_error *err);
/* Reads a whole text file (a regular file of at most 256 MiB) into *text
 * (the caller's, NUL-terminated; gcam_mem_free); *len (may be NULL) excludes the NUL.
 * what names the kind of file in messages ("labels file", "image list"). */
GCAM_API int gcam_file_read_text(const char *path, const char *what, char **text, size_t *len, gcam_error *err);

/* .npy files without a model (the format of gcam_npy_load and gcam_npy_save):
 * a is filled (data the library's: gcam_array_free) or written; errors such as
 * "x.npy: not a .npy file" go to err. */
GCAM_API int gcam_array_load_npy(const char *path, gcam_array *a, gcam_error *err);
GCAM_API int gcam_array_save_npy(const char *path, const gcam_array *a, gcam_error *err);

/* Class labels: one per line of file (trailing '\r' and spaces dropped, a
 * final empty line ignored), or, with file NULL, the model's
 * "gradcam.labels" metadata (the same format; none: *n = 0, *labels NULL).
 * *labels is a new array of *n strings (gcam_labels_free).  m may be NULL
 * with a file. */
GCAM_API int gcam_labels_load(const char *file, const gcam_model *m, char ***labels, int *n, gcam_error *err);
GCAM_API void gcam_labels_free(char **labels, int n);

/* Output kind: how a classifier's outputs become class scores. */
enum { GCAM_SCORE_AUTO = -1, GCAM_SCORE_SOFTMAX = 0, GCAM_SCORE_SIGMOID = 1, GCAM_SCORE_LOGIT = 2 };
/* The model's kind: its "gradcam.output" metadata (softmax, sigmoid for
 * multi-label classifiers, logit), softmax when absent or unknown. */
GCAM_API int gcam_model_score_kind(const gcam_model *m);
/* The kind of a name ("softmax", "sigmoid", "logit"), -1 if none; and the name of a kind (NULL if none). */
GCAM_API int gcam_score_kind_parse(const char *name);
GCAM_API const char *gcam_score_kind_name(int kind);
/* Score of class c from n logits, computed in double: softmax
 * exp(z_c - max) / sum exp(z_k - max) (also for GCAM_SCORE_AUTO or another
 * value), sigmoid 1 / (1 + exp(-z_c)), or the logit z_c.  NaN for c outside
 * 0..n-1. */
GCAM_API double gcam_score(const float *logits, int64_t n, int64_t c, int kind);
/* The k largest of v[0..n) (k > n: n of them): indices into idx, largest
 * first, ties by lower index, NaN after every number.  Returns how many (0
 * when k < 1, n < 1 or an argument is NULL).  O(n k): k is small. */
GCAM_API int gcam_topk(const float *v, int64_t n, int k, int64_t *idx);

/* Version and build description, e.g. "0.1.0 (gemm: onednn-sgemm, simd: avx512)". */
GCAM_API const char *gcam_version(void);

#ifdef __cplusplus
}
#endif
#endif
