/* explain.c - the smallest complete use of libgcam: Grad-CAM for one image.
 *
 *   explain MODEL.onnx IMAGE OUT.png
 *
 * Loads the model, preprocesses the image the way the model expects, explains
 * its top-1 class at the automatic layer, and writes the overlay. */
#include <stdio.h>

#include "gcam.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.onnx IMAGE OUT.png\n", argv[0]);
        return 2;
    }
    gcam_model *m = NULL;
    gcam_photo *photo = NULL;
    gcam_array x = {0};
    gcam_explanation *ex = NULL;
    int rc = gcam_model_load(argv[1], &m);
    if (!rc) rc = gcam_photo_load(m, argv[2], NULL, &photo, &x);
    if (!rc) rc = gcam_explain(m, &x, NULL, &ex); /* NULL options: Grad-CAM, top-1, auto layer */
    if (!rc) rc = gcam_save_overlay(m, photo, ex, "jet", 0.5f, argv[3]);
    if (rc) fprintf(stderr, "explain: %s\n", m ? gcam_model_errmsg(m) : gcam_status_str(rc));
    else {
        int h, w;
        const float *map = gcam_explanation_map(ex, &h, &w);
        float peak = 0;
        for (int i = 0; i < h * w; i++) peak = map[i] > peak ? map[i] : peak;
        printf("class %lld, layer %s, map %dx%d (max %.3f), overlay %s\n",
               (long long)gcam_explanation_target(ex), gcam_explanation_layer(ex, 0), h, w, peak, argv[3]);
    }
    gcam_explanation_free(ex);
    gcam_array_free(&x);
    gcam_photo_free(photo);
    gcam_model_free(m);
    return rc ? 1 : 0;
}
