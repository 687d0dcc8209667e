/* test_api_args.c - every public function of gcam.h called with NULL for each
 * pointer argument and with out-of-range values.  Each call runs in its own
 * fork()ed child, so that a crash is reported as that case's failure (with
 * the signal) instead of ending the runner; the child also checks the
 * status or return value.  Runs under ASan in tools/run_sanitize.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gcam.h"
#include "image/image.h"
#include "onnx_builder.h"
#include "test.h"

/* What every case may use: a loaded 1x3x8x8 CNN, an input, an explanation
 * of it, a decoded photo, and paths of a PNG and a .npy on disk. */
typedef struct {
    gcam_model *m;
    gcam_array x;
    gcam_explanation *ex;
    gcam_photo *photo;
    char dir[64], png[96], npy[96], out[96];
    uint8_t *model_buf;
    size_t model_len;
} api_ctx;

static api_ctx C;

/* Each case returns 0 when the call answered as it should; the child exits
 * with that, or dies with a signal. */
typedef int (*api_case)(void);

#define EXPECT(cond) return (cond) ? 0 : 1

static int c_load_null_path(void) { gcam_model *m = NULL; int rc = gcam_model_load(NULL, &m); gcam_model_free(m); EXPECT(rc == GCAM_E_ARG); }
static int c_load_null_out(void) { EXPECT(gcam_model_load(C.png, NULL) == GCAM_E_ARG); }
static int c_loadbuf_null_buf(void) { gcam_model *m = NULL; int rc = gcam_model_load_buffer(NULL, 10, &m); gcam_model_free(m); EXPECT(rc == GCAM_E_ARG); }
static int c_loadbuf_null_out(void) { EXPECT(gcam_model_load_buffer(C.model_buf, C.model_len, NULL) == GCAM_E_ARG); }
static int c_free_null(void) { gcam_model_free(NULL); gcam_explanation_free(NULL); gcam_photo_free(NULL); gcam_array_free(NULL); return 0; }
static int c_errmsg_null(void) { EXPECT(gcam_model_errmsg(NULL) != NULL); }
static int c_threads_null(void) { gcam_model_set_threads(NULL, 2); gcam_model_set_memory_limit(NULL, 1); return 0; }
static int c_threads_range(void)
{
    gcam_model_set_threads(C.m, 0);
    gcam_model_set_threads(C.m, 1 << 30);
    EXPECT(strstr(gcam_model_errmsg(C.m), "threads") != NULL);
}
static int c_counts_null(void) { EXPECT(gcam_model_num_inputs(NULL) == 0 && gcam_model_num_outputs(NULL) == 0); }
static int c_names_range(void)
{
    EXPECT(!gcam_model_input_name(NULL, 0) && !gcam_model_input_name(C.m, -1) && !gcam_model_input_name(C.m, 9) &&
           !gcam_model_output_name(NULL, 0) && !gcam_model_output_name(C.m, -1) && !gcam_model_output_name(C.m, 9));
}
static int c_shape_null(void)
{
    int64_t d[GCAM_MAX_NDIM];
    EXPECT(gcam_model_input_shape(NULL, 0, d) == -1 && gcam_model_input_shape(C.m, 0, NULL) == -1 &&
           gcam_model_input_shape(C.m, 7, d) == -1 && gcam_model_input_shape(C.m, -1, d) == -1);
}
static int c_metadata_null(void) { EXPECT(!gcam_model_metadata(NULL, "k") && !gcam_model_metadata(C.m, NULL)); }
static int c_keep_null(void) { EXPECT(gcam_model_keep(NULL, "x") == GCAM_E_ARG && gcam_model_keep(C.m, NULL) == GCAM_E_ARG); }
static int c_run_null_model(void) { EXPECT(gcam_model_run(NULL, NULL, &C.x, 1) == GCAM_E_ARG); }
static int c_run_null_inputs(void) { EXPECT(gcam_model_run(C.m, NULL, NULL, 1) == GCAM_E_ARG); }
static int c_run_negative_n(void) { EXPECT(gcam_model_run(C.m, NULL, &C.x, -1) == GCAM_E_ARG); }
static int c_run_null_data(void) { gcam_array a = C.x; a.data = NULL; EXPECT(gcam_model_run(C.m, NULL, &a, 1) == GCAM_E_ARG); }
static int c_run_ndim_100(void) { gcam_array a = C.x; a.ndim = 100; EXPECT(gcam_model_run(C.m, NULL, &a, 1) == GCAM_E_SHAPE); }
static int c_run_bad_dtype(void) { gcam_array a = C.x; a.dtype = 99; EXPECT(gcam_model_run(C.m, NULL, &a, 1) == GCAM_E_DTYPE); }
static int c_run_null_name(void)
{
    const char *names[1] = {"nope"};
    EXPECT(gcam_model_run(C.m, names, &C.x, 1) == GCAM_E_NOTFOUND);
}
static int c_tensor_null(void)
{
    gcam_array a;
    EXPECT(gcam_model_tensor(NULL, "logits", &a) == GCAM_E_ARG && gcam_model_tensor(C.m, NULL, &a) == GCAM_E_ARG &&
           gcam_model_tensor(C.m, "logits", NULL) == GCAM_E_ARG);
}
static int c_layers_null(void)
{
    const gcam_layer *L;
    int n;
    EXPECT(gcam_model_layers(NULL, &L, &n) == GCAM_E_ARG && gcam_model_layers(C.m, NULL, &n) == GCAM_E_ARG &&
           gcam_model_layers(C.m, &L, NULL) == GCAM_E_ARG);
}
static int c_auto_layer_of(void)
{
    const char *t = "x", *why = "x", *t0, *r;
    EXPECT(gcam_model_auto_layer_of(NULL, NULL, &t, &why) == GCAM_E_ARG &&
           gcam_model_auto_layer_of(C.m, NULL, NULL, &why) == GCAM_E_ARG &&
           gcam_model_auto_layer_of(C.m, NULL, &t, NULL) == GCAM_E_ARG &&
           gcam_model_auto_layer_of(C.m, "no such tensor", &t, &why) == GCAM_E_NOTFOUND && !t && !why &&
           gcam_model_auto_layer_of(C.m, NULL, &t, &why) == GCAM_OK && t && why && why[0] &&
           gcam_model_resolve_layer(C.m, "auto", &t0) == GCAM_OK && !strcmp(t, t0) &&
           gcam_model_auto_layer_of(C.m, gcam_model_output_name(C.m, 0), &t0, &r) == GCAM_OK && !strcmp(t, t0));
}
static int c_resolve_null(void)
{
    const char *t;
    EXPECT(gcam_model_resolve_layer(NULL, "auto", &t) == GCAM_E_ARG &&
           gcam_model_resolve_layer(C.m, NULL, &t) == GCAM_E_ARG &&
           gcam_model_resolve_layer(C.m, "auto", NULL) == GCAM_E_ARG);
}
static int c_method_range(void)
{
    EXPECT(!gcam_method_name(-1) && !gcam_method_name(GCAM_METHOD_COUNT) && !gcam_method_name(1 << 30) &&
           gcam_method_parse(NULL) == -1 && gcam_method_parse("") == -1);
}
static int c_opts_default_null(void) { gcam_explain_opts_default(NULL); return 0; }
static int c_explain_null_model(void) { gcam_explanation *x; EXPECT(gcam_explain(NULL, &C.x, NULL, &x) == GCAM_E_ARG && !x); }
static int c_explain_null_input(void) { gcam_explanation *x; EXPECT(gcam_explain(C.m, NULL, NULL, &x) == GCAM_E_ARG && !x); }
static int c_explain_null_out(void) { EXPECT(gcam_explain(C.m, &C.x, NULL, NULL) == GCAM_E_ARG); }

/* gcam_explain with one option changed from the defaults: must be GCAM_E_ARG */
static int explain_bad(void (*change)(gcam_explain_opts *))
{
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    change(&o);
    gcam_explanation *x = (gcam_explanation *)&o; /* must be reset to NULL */
    int rc = gcam_explain(C.m, &C.x, &o, &x);
    EXPECT(rc == GCAM_E_ARG && x == NULL && gcam_model_errmsg(C.m)[0]);
}
static void o_method_neg(gcam_explain_opts *o) { o->method = -1; }
static void o_method_big(gcam_explain_opts *o) { o->method = GCAM_METHOD_COUNT; }
static void o_normalize_99(gcam_explain_opts *o) { o->normalize = 99; }
static void o_target_m2(gcam_explain_opts *o) { o->target_class = -2; }
static void o_global_nan(gcam_explain_opts *o) { o->normalize = GCAM_NORM_GLOBAL; o->global_max = NAN; }
static void o_global_zero(gcam_explain_opts *o) { o->normalize = GCAM_NORM_GLOBAL; o->global_max = 0; }
static void o_layers_neg(gcam_explain_opts *o) { o->n_layers = -1; }
static void o_layers_null(gcam_explain_opts *o) { o->n_layers = 1; o->layers = NULL; }
static void o_layer_null(gcam_explain_opts *o) { static const char *const l[1] = {NULL}; o->n_layers = 1; o->layers = l; }
static void o_noise_nan(gcam_explain_opts *o) { o->sg_noise = NAN; }
static void o_noise_inf(gcam_explain_opts *o) { o->sg_noise = INFINITY; }
static void o_batch_neg(gcam_explain_opts *o) { o->batch_size = -4; }
static void o_discard_one(gcam_explain_opts *o) { o->method = GCAM_METHOD_ATTENTION_ROLLOUT; o->discard_ratio = 1.0f; }
static void o_discard_nan(gcam_explain_opts *o) { o->method = GCAM_METHOD_ATTENTION_ROLLOUT; o->discard_ratio = NAN; }
static void o_discard_gradcam(gcam_explain_opts *o) { o->discard_ratio = 0.5f; } /* rollout methods only */
static int c_opt_method_neg(void) { return explain_bad(o_method_neg); }
static int c_opt_method_big(void) { return explain_bad(o_method_big); }
static int c_opt_normalize_99(void) { return explain_bad(o_normalize_99); }
static int c_opt_target_m2(void) { return explain_bad(o_target_m2); }
static int c_opt_global_nan(void) { return explain_bad(o_global_nan); }
static int c_opt_global_zero(void) { return explain_bad(o_global_zero); }
static int c_opt_layers_neg(void) { return explain_bad(o_layers_neg); }
static int c_opt_layers_null(void) { return explain_bad(o_layers_null); }
static int c_opt_layer_null(void) { return explain_bad(o_layer_null); }
static int c_opt_noise_nan(void) { return explain_bad(o_noise_nan); }
static int c_opt_noise_inf(void) { return explain_bad(o_noise_inf); }
static int c_opt_batch_neg(void) { return explain_bad(o_batch_neg); }
static int c_opt_discard_one(void) { return explain_bad(o_discard_one); }
static int c_opt_discard_nan(void) { return explain_bad(o_discard_nan); }
static int c_opt_discard_gradcam(void) { return explain_bad(o_discard_gradcam); }
static int c_explain_null_data(void)
{
    gcam_array a = C.x;
    a.data = NULL;
    gcam_explanation *x;
    EXPECT(gcam_explain(C.m, &a, NULL, &x) == GCAM_E_ARG);
}
static int c_explanation_null(void)
{
    int h = 5, w = 5;
    EXPECT(!gcam_explanation_map(NULL, &h, &w) && h == 0 && w == 0 && !gcam_explanation_raw(NULL, &h, &w) &&
           gcam_explanation_channels(NULL) == 0 && gcam_explanation_target(NULL) == -1 &&
           isnan(gcam_explanation_score(NULL)) && gcam_explanation_num_layers(NULL) == 0 &&
           !gcam_explanation_layer(NULL, 0) && gcam_explanation_time_ms(NULL, "forward") == -1);
}
static int c_explanation_range(void)
{
    EXPECT(gcam_explanation_map(C.ex, NULL, NULL) != NULL && gcam_explanation_raw(C.ex, NULL, NULL) != NULL &&
           !gcam_explanation_layer(C.ex, -1) && !gcam_explanation_layer(C.ex, 99) &&
           gcam_explanation_time_ms(C.ex, NULL) == -1 && gcam_explanation_time_ms(C.ex, "nope") == -1);
}
static int c_photo_null_model(void) { gcam_photo *p; gcam_array a; EXPECT(gcam_photo_load(NULL, C.png, NULL, &p, &a) == GCAM_E_ARG && !p); }
static int c_photo_null_path(void) { gcam_photo *p; gcam_array a; EXPECT(gcam_photo_load(C.m, NULL, NULL, &p, &a) == GCAM_E_ARG && !p); }
static int c_photo_null_photo(void) { gcam_array a; EXPECT(gcam_photo_load(C.m, C.png, NULL, NULL, &a) == GCAM_E_ARG && !a.data); }
static int c_photo_null_input(void) { gcam_photo *p; EXPECT(gcam_photo_load(C.m, C.png, NULL, &p, NULL) == GCAM_E_ARG && !p); }
static int photo_bad(gcam_preprocess_opts o)
{
    gcam_photo *p;
    gcam_array a;
    int rc = gcam_photo_load(C.m, C.png, &o, &p, &a);
    EXPECT(rc == GCAM_E_ARG && !p && !a.data);
}
static int c_photo_std_neg(void) { return photo_bad((gcam_preprocess_opts){.has_std = 1, .std = {-1, 1, 1}}); }
static int c_photo_std_nan(void) { return photo_bad((gcam_preprocess_opts){.has_std = 1, .std = {1, NAN, 1}}); }
static int c_photo_mean_inf(void) { return photo_bad((gcam_preprocess_opts){.has_mean = 1, .mean = {0, 0, INFINITY}}); }
static int c_photo_size_neg(void) { return photo_bad((gcam_preprocess_opts){.size_h = -8}); }
static int c_photo_preset(void) { return photo_bad((gcam_preprocess_opts){.preset = "bogus"}); }
static int c_photo_accessors_null(void)
{
    int w = 3, h = 3;
    double x = 1, y = 1, rw = 1, rh = 1;
    gcam_photo_size(NULL, &w, &h);
    gcam_photo_rect(NULL, &x, &y, &rw, &rh);
    gcam_photo_size(C.photo, NULL, NULL);
    gcam_photo_rect(C.photo, NULL, NULL, NULL, NULL);
    EXPECT(w == 0 && h == 0 && x == 0 && rh == 0);
}
static int c_overlay_null(void)
{
    EXPECT(gcam_save_overlay(NULL, C.photo, C.ex, NULL, 0.5f, C.out) == GCAM_E_ARG &&
           gcam_save_overlay(C.m, C.photo, NULL, NULL, 0.5f, C.out) == GCAM_E_ARG &&
           gcam_save_overlay(C.m, C.photo, C.ex, NULL, 0.5f, NULL) == GCAM_E_ARG && access(C.out, F_OK) != 0);
}
static int c_overlay_range(void)
{
    EXPECT(gcam_save_overlay(C.m, C.photo, C.ex, NULL, NAN, C.out) == GCAM_E_ARG &&
           gcam_save_overlay(C.m, C.photo, C.ex, NULL, 1.5f, C.out) == GCAM_E_ARG &&
           gcam_save_overlay(C.m, C.photo, C.ex, "nope", 0.5f, C.out) == GCAM_E_ARG && access(C.out, F_OK) != 0);
}
static int c_npy_load_null(void)
{
    gcam_array a;
    EXPECT(gcam_npy_load(C.m, NULL, &a) == GCAM_E_ARG && gcam_npy_load(C.m, C.npy, NULL) == GCAM_E_ARG &&
           gcam_npy_load(NULL, NULL, NULL) == GCAM_E_ARG);
}
static int c_npy_save_null(void)
{
    EXPECT(gcam_npy_save(C.m, NULL, &C.x) == GCAM_E_ARG && gcam_npy_save(C.m, C.out, NULL) == GCAM_E_ARG &&
           gcam_npy_save(NULL, NULL, NULL) == GCAM_E_ARG);
}
static int npy_bad(gcam_array a)
{
    int rc = gcam_npy_save(C.m, C.out, &a);
    EXPECT(rc == GCAM_E_ARG && access(C.out, F_OK) != 0);
}
static int c_npy_save_ndim_100(void) { gcam_array a = C.x; a.ndim = 100; return npy_bad(a); }
static int c_npy_save_ndim_neg(void) { gcam_array a = C.x; a.ndim = -1; return npy_bad(a); }
static int c_npy_save_dtype(void) { gcam_array a = C.x; a.dtype = 99; return npy_bad(a); }
static int c_npy_save_no_data(void) { gcam_array a = C.x; a.data = NULL; return npy_bad(a); }
static int c_misc(void)
{
    char b[4] = "zzz";
    EXPECT(gcam_status_str(12345) && gcam_status_str(-12345) && gcam_version() && gcam_escape(NULL, NULL, 0) == 0 &&
           gcam_escape("a\x1b", b, 0) == 5 && b[0] == 'z' && gcam_escape("abc\x01", b, sizeof b) == 7 &&
           !strcmp(b, "abc"));
}

static int c_options_range(void)
{
    EXPECT(gcam_model_set_option(NULL, GCAM_OPT_FUSE, 1) == GCAM_E_ARG &&
           gcam_model_set_option(C.m, (gcam_option)-1, 1) == GCAM_E_ARG &&
           gcam_model_set_option(C.m, GCAM_OPT_COUNT, 1) == GCAM_E_ARG &&
           gcam_model_set_option(C.m, GCAM_OPT_FUSE, 7) == GCAM_E_ARG && gcam_model_get_option(NULL, GCAM_OPT_FUSE) == -1 &&
           gcam_model_get_option(C.m, (gcam_option)99) == -1 && !gcam_option_name((gcam_option)-1) &&
           !gcam_option_name(GCAM_OPT_COUNT) && gcam_option_parse(NULL) == -1 && gcam_option_parse("nope") == -1);
}
static int c_profile_null(void)
{
    const gcam_profile_row *r;
    int n;
    gcam_model_profile_reset(NULL);
    EXPECT(gcam_model_profile(NULL, &r, &n) == GCAM_E_ARG && gcam_model_profile(C.m, NULL, &n) == GCAM_E_ARG &&
           gcam_model_profile(C.m, &r, NULL) == GCAM_E_ARG);
}
static int c_method_info_range(void)
{
    EXPECT(gcam_method_flags(-1) == 0 && gcam_method_flags(GCAM_METHOD_COUNT) == 0 && !gcam_method_summary(-1) &&
           !gcam_method_summary(GCAM_METHOD_COUNT));
}

static int c_newer_calls_null(void)
{
    int64_t n = 5;
    uint8_t rgb[768];
    EXPECT(gcam_model_float_conversions(NULL) == 0 && !gcam_explanation_output(NULL, &n) && n == 0 &&
           gcam_explanation_output(C.ex, NULL) != NULL && gcam_explain_opts_sizeof() == sizeof(gcam_explain_opts) &&
           gcam_colormap_table(NULL, rgb) == GCAM_E_ARG && gcam_colormap_table("jet", NULL) == GCAM_E_ARG &&
           gcam_colormap_table("nope", rgb) == GCAM_E_ARG);
}
static int c_batch_null(void)
{
    gcam_explanation *x[1] = {(gcam_explanation *)&C};
    gcam_array a = C.x;
    gcam_explain_opts o;
    gcam_explain_opts_default(&o);
    o.normalize = 99;
    int64_t bad_target[1] = {-5};
    int ok = gcam_explain_batch(NULL, &C.x, NULL, NULL, x) == GCAM_E_ARG &&
             gcam_explain_batch(C.m, NULL, NULL, NULL, x) == GCAM_E_ARG &&
             gcam_explain_batch(C.m, &C.x, NULL, NULL, NULL) == GCAM_E_ARG &&
             gcam_explain_batch(C.m, &C.x, &o, NULL, x) == GCAM_E_ARG && !x[0] &&
             gcam_explain_batch(C.m, &C.x, NULL, bad_target, x) == GCAM_E_ARG;
    a.data = NULL;
    EXPECT(ok && gcam_explain_batch(C.m, &a, NULL, NULL, x) == GCAM_E_ARG);
}

static int c_inputs_null(void)
{
    int64_t d[4] = {1, 3, 8, 8};
    gcam_array a = C.x;
    a.data = NULL;
    EXPECT(gcam_model_set_input_shape(NULL, 0, d, 4) == GCAM_E_ARG && gcam_model_set_input_shape(C.m, 0, NULL, 4) == GCAM_E_ARG &&
           gcam_model_set_input_shape(C.m, 9, d, 4) == GCAM_E_RANGE && gcam_model_input_layout(NULL, 0) == GCAM_LAYOUT_NONE &&
           gcam_model_input_layout(C.m, -1) == GCAM_LAYOUT_NONE && gcam_model_set_input(NULL, "x", &C.x) == GCAM_E_ARG &&
           gcam_model_set_input(C.m, NULL, &C.x) == GCAM_E_ARG && gcam_model_set_input(C.m, "x", &a) == GCAM_E_ARG &&
           gcam_model_image_input(NULL) == -1 && !gcam_preset_name(-1) && !gcam_preset_name(1 << 20));
}

#define API_CASES(X)                                                                                              \
    X(load_null_path) X(load_null_out) X(loadbuf_null_buf) X(loadbuf_null_out) X(free_null) X(errmsg_null)       \
    X(threads_null) X(threads_range) X(counts_null) X(names_range) X(shape_null) X(metadata_null) X(keep_null)   \
    X(run_null_model) X(run_null_inputs) X(run_negative_n) X(run_null_data) X(run_ndim_100) X(run_bad_dtype)     \
    X(run_null_name) X(tensor_null) X(layers_null) X(resolve_null) X(method_range) X(opts_default_null)          \
    X(explain_null_model) X(explain_null_input) X(explain_null_out) X(opt_method_neg) X(opt_method_big)          \
    X(opt_normalize_99) X(opt_target_m2) X(opt_global_nan) X(opt_global_zero) X(opt_layers_neg)                   \
    X(opt_layers_null) X(opt_layer_null) X(opt_noise_nan) X(opt_noise_inf) X(opt_batch_neg) X(explain_null_data)  \
    X(opt_discard_one) X(opt_discard_nan) X(opt_discard_gradcam) X(auto_layer_of)                                 \
    X(explanation_null) X(explanation_range) X(photo_null_model) X(photo_null_path) X(photo_null_photo)           \
    X(photo_null_input) X(photo_std_neg) X(photo_std_nan) X(photo_mean_inf) X(photo_size_neg) X(photo_preset)    \
    X(photo_accessors_null) X(overlay_null) X(overlay_range) X(npy_load_null) X(npy_save_null)                    \
    X(npy_save_ndim_100) X(npy_save_ndim_neg) X(npy_save_dtype) X(npy_save_no_data) X(misc)                 \
    X(options_range) X(profile_null) X(method_info_range) X(newer_calls_null) X(batch_null) X(inputs_null)

static const struct {
    const char *name;
    api_case fn;
} CASES[] = {
#define X(n) {#n, c_##n},
    API_CASES(X)
#undef X
};

static int setup(void)
{
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,3,8,8");
    float w[4 * 3 * 3 * 3], cb[4] = {0.1f, -0.2f, 0.3f, 0.05f}, fw[5 * 4], fb[5] = {0};
    for (int i = 0; i < (int)(sizeof w / sizeof w[0]); i++) w[i] = (float)((i * 37 % 11) - 5) * 0.1f;
    for (int i = 0; i < 20; i++) fw[i] = (float)((i * 13 % 7) - 3) * 0.2f;
    ob_init_f32(b, "cw", 4, (int64_t[]){4, 3, 3, 3}, w);
    ob_init_f32(b, "cb", 1, (int64_t[]){4}, cb);
    ob_init_f32(b, "fw", 2, (int64_t[]){5, 4}, fw);
    ob_init_f32(b, "fb", 1, (int64_t[]){5}, fb);
    Onnx__NodeProto *n = ob_node(b, "Conv", "conv", "x,cw,cb", "c");
    ob_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ob_node(b, "Relu", "relu", "c", "act");
    ob_node(b, "GlobalAveragePool", "gap", "act", "pooled");
    ob_node(b, "Flatten", "flat", "pooled", "feat");
    Onnx__NodeProto *g = ob_node(b, "Gemm", "fc", "feat,fw,fb", "logits");
    ob_attr_int(b, g, "transB", 1);
    ob_output(b, "logits", OB_F32, NULL);
    C.model_buf = ob_pack(b, &C.model_len);
    ob_free(b);
    if (gcam_model_load_buffer(C.model_buf, C.model_len, &C.m)) return -1;
    snprintf(C.dir, sizeof C.dir, "/tmp/gcam_api_XXXXXX");
    if (!mkdtemp(C.dir)) return -1;
    snprintf(C.png, sizeof C.png, "%s/p.png", C.dir);
    snprintf(C.npy, sizeof C.npy, "%s/a.npy", C.dir);
    snprintf(C.out, sizeof C.out, "%s/out.png", C.dir);
    gcam_image img = {0};
    gcam_err e = {0};
    if (gcam_image_alloc(&img, 12, 10, 3, &e)) return -1;
    for (int i = 0; i < 12 * 10 * 3; i++) img.px[i] = (uint8_t)(i * 7);
    int rc = gcam_image_save_png(C.png, &img, &e);
    gcam_image_free(&img);
    if (rc || gcam_photo_load(C.m, C.png, NULL, &C.photo, &C.x)) return -1;
    if (gcam_npy_save(C.m, C.npy, &C.x) || gcam_explain(C.m, &C.x, NULL, &C.ex)) return -1;
    return 0;
}

static void teardown(void)
{
    gcam_explanation_free(C.ex);
    gcam_photo_free(C.photo);
    gcam_array_free(&C.x);
    gcam_model_free(C.m);
    free(C.model_buf);
    unlink(C.png);
    unlink(C.npy);
    unlink(C.out);
    rmdir(C.dir);
    memset(&C, 0, sizeof C);
}

GCAM_TEST(api_bad_arguments_no_crash)
{
    CHECK_MSG(setup() == 0, "setup: %s", gcam_model_errmsg(C.m));
    int failed = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) _exit(CASES[i].fn());
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid) {
            gcam_test_fail(__FILE__, __LINE__, "%s: fork/wait failed", CASES[i].name);
            failed++;
        } else if (WIFSIGNALED(st)) {
            gcam_test_fail(__FILE__, __LINE__, "%s: killed by signal %d (%s)", CASES[i].name, WTERMSIG(st),
                           strsignal(WTERMSIG(st)));
            failed++;
        } else if (WEXITSTATUS(st) != 0) {
            gcam_test_fail(__FILE__, __LINE__, "%s: wrong answer (exit %d; ASan reports exit 1 too)", CASES[i].name,
                           WEXITSTATUS(st));
            failed++;
        }
    }
    teardown();
    CHECK_MSG(failed == 0, "%d of %zu cases failed", failed, sizeof CASES / sizeof CASES[0]);
}
