/* model_internal.h - the gcam_model handle, shared by the API files. */
#ifndef GCAM_MODEL_INTERNAL_H
#define GCAM_MODEL_INTERNAL_H
#include "graph/graph.h"
#include "image/image.h"

struct gcam_model {
    gcam_graph *g;
    gcam_err err;
    gcam_layer *layers;
    int n_layers;
    int nthreads;
    struct gcam_headsum *headsum; /* Grad-CAM's linear-head sums (src/cam/headsum.c) */
    gcam_profile_row *prof_rows;  /* gcam_model_profile's answer */
    char (*prof_labels)[64];      /* their op_type strings */
    struct gcam_params *params;   /* parameterised layers and their trained weights (src/eval/params.c) */
};

/* Plans with the declared input shapes (symbolic dims bound to 1) if not planned. */
int gcam_model_ensure_planned(gcam_model *m);
/* Sets the shape of input i and re-plans if it changed. */
int gcam_model_bind_input(gcam_model *m, int i, const gcam_array *a);
/* Index of the automatic Grad-CAM layer tensor, or -1 (message in m->err). */
int gcam_model_auto_layer(gcam_model *m);
/* A decoded photo (src/api/photo.c). */
struct gcam_photo {
    gcam_image img;
    gcam_rect rect; /* the model input's footprint on img */
};

/* Puts back the trained weights and frees the layer list (src/eval/params.c). */
void gcam_params_free(gcam_model *m);
#endif
