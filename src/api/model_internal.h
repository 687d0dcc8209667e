/* model_internal.h - the gcam_model handle, shared by the API files. */
#ifndef GCAM_MODEL_INTERNAL_H
#define GCAM_MODEL_INTERNAL_H
#include "cam/cam.h"
#include "graph/graph.h"
#include "image/image.h"

struct gcam_model {
    gcam_graph *g;
    gcam_err err;
    gcam_layer *layers;
    int n_layers;
    int nthreads;
    gcam_tensor sg_noise;         /* gcam_model_set_smoothgrad_noise (data NULL: none) */
    struct gcam_headsum *headsum; /* Grad-CAM's linear-head sums (src/cam/headsum.c) */
    gcam_profile_row *prof_rows;  /* gcam_model_profile's answer */
    char (*prof_labels)[64];      /* their op_type strings */
    struct gcam_params *params;   /* parameterised layers and their trained weights (src/eval/params.c) */
    /* inputs fed on every run beside the ones passed (gcam_model_set_input):
     * extra[i] is NULL or a private copy for graph input i */
    gcam_array **extra;
    unsigned char *kept; /* per tensor: asked for with gcam_model_keep (NULL: none) */
    gcam_cam_stats stats; /* what the methods did on this model (gcam_model_cam_stats) */
};

/* The model's method counters, for tests. */
static inline const gcam_cam_stats *gcam_model_cam_stats(const gcam_model *m) { return &m->stats; }

/* The value of `key` in a "k=v;k=v" metadata string, copied into out (cap
 * bytes); 0 if found, -1 if not. */
int gcam_meta_value(const char *meta, const char *key, char *out, size_t cap);
/* Index of the graph input an image or the explained tensor feeds: the
 * first input not fed by gcam_model_set_input; -1 (message on m) if none or
 * more than one are left. */
int gcam_model_main_input(gcam_model *m);
/* Binds the extra inputs' shapes (before planning) and copies their values
 * (after planning, `copy` 1). */
int gcam_model_bind_extras(gcam_model *m, int copy);

/* Plans for req with the bound input shapes; the user's kept tensors
 * (gcam_model_keep) are added to every request, and req NULL asks for what
 * the current plan keeps and runs backward.  Symbolic dims not bound by an
 * input: a leading batch dim becomes 1, spatial dims of a 4-D input come
 * from the "gradcam.preprocess" metadata's size; anything else is
 * GCAM_E_SHAPE naming the input and its dims. */
int gcam_model_plan(gcam_model *m, const gcam_plan_request *req);
/* gcam_model_plan(m, NULL): a plan for the bound inputs, as it is if it fits. */
int gcam_model_ensure_planned(gcam_model *m);
/* Sets the shape of input i and re-plans if it changed. */
int gcam_model_bind_input(gcam_model *m, int i, const gcam_array *a);
/* The automatic layer for one target: the last 4-D float activation with
 * H*W > 1 from which target_t is reachable; -1 (message in m->err). */
int gcam_model_auto_layer_for(gcam_model *m, int target_t);
/* Index of the automatic Grad-CAM layer tensor, or -1 (message in m->err). */
int gcam_model_auto_layer(gcam_model *m);
/* A decoded photo (src/api/photo.c). */
struct gcam_photo {
    gcam_image img;
    gcam_rect rect; /* the model input's footprint on img */
};

/* Puts back the trained weights and frees the layer list (src/eval/params.c). */
void gcam_params_free(gcam_model *m);
/* Tensor t's layout and grid as gcam_model_layers lists it (*out copied);
 * GCAM_E_SHAPE (no message) when it is not listed. */
int gcam_model_layer_info(gcam_model *m, int t, gcam_layer *out);
#endif
