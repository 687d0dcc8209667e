/* bindings.c - what language bindings (python/gradcam) need beyond the C API
 * proper: a layout check for the options struct they mirror, and the
 * colormap tables, so that Python colours maps with the same table as C. */
#include <string.h>

#include "gcam.h"
#include "image/image.h"

size_t gcam_explain_opts_sizeof(void) { return sizeof(gcam_explain_opts); }

int gcam_colormap_table(const char *name, uint8_t rgb[768])
{
    if (!name || !rgb) return GCAM_E_ARG;
    int cmap = gcam_colormap_parse(name);
    const uint8_t(*lut)[3] = cmap >= 0 ? gcam_colormap_lut(cmap) : NULL;
    if (!lut) return GCAM_E_ARG;
    memcpy(rgb, lut, 768);
    return GCAM_OK;
}
