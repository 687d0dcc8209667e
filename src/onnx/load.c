/* load.c - ONNX file -> internal graph, through protobuf-c code generated
 * from the official onnx.proto.  protobuf types never leave this file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/graph.h"
#include "kernels/dtype.h"
#include "onnx.pb-c.h"

/* The whole file, memory-mapped (read-only, pre-faulted) where possible:
 * protobuf-c copies what it keeps, so the mapping lives only while the
 * file is unpacked and costs no copy of its own; *mapped says how to let
 * it go (release_file).  Falls back to reading into a buffer. */
static int read_file(const char *path, unsigned char **buf, size_t *len, int *mapped, gcam_err *e)
{
    /* O_NONBLOCK: a FIFO named as the model must not hang the loader */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return gcam_errf(e, GCAM_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return gcam_errf(e, GCAM_E_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    *mapped = 0;
    if (n) {
        void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m != MAP_FAILED) {
            close(fd);
            *buf = m;
            *len = n;
            *mapped = 1;
            return GCAM_OK;
        }
    }
    unsigned char *b = gcam_malloc(n ? n : 1);
    if (!b) {
        close(fd);
        return gcam_errf(e, GCAM_E_NOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        gcam_free(b);
        return gcam_errf(e, GCAM_E_IO, "%s: read error", path);
    }
    *buf = b;
    *len = n;
    return GCAM_OK;
}

static void release_file(unsigned char *buf, size_t len, int mapped)
{
    if (mapped) munmap(buf, len);
    else gcam_free(buf);
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) { man <<= 1; exp--; }
            man &= 0x3ff;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* External data: the path must stay inside the model's folder. */
static int read_external(const Onnx__TensorProto *tp, const char *dir, unsigned char **out,
                         size_t want, gcam_err *e)
{
    const char *loc = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        if (!k || !v) continue;
        if (!strcmp(k, "location")) loc = v;
        else if (!strcmp(k, "offset")) offset = strtoll(v, NULL, 10);
        else if (!strcmp(k, "length")) length = strtoll(v, NULL, 10);
    }
    const char *tn = tp->name ? tp->name : "";
    if (!loc || !*loc) return gcam_errf(e, GCAM_E_PARSE, "initializer '%s': external data without location", tn);
    if (!dir) return gcam_errf(e, GCAM_E_PATH, "initializer '%s': external data needs a model folder", tn);
    if (loc[0] == '/' || loc[0] == '\\')
        return gcam_errf(e, GCAM_E_PATH, "initializer '%s': external data path '%s' is absolute; it must stay inside the model's folder", tn, loc);
    for (const char *p = loc; *p;) {
        const char *q = p;
        while (*q && *q != '/' && *q != '\\') q++;
        if (q - p == 2 && p[0] == '.' && p[1] == '.')
            return gcam_errf(e, GCAM_E_PATH, "initializer '%s': external data path '%s' escapes the model's folder", tn, loc);
        p = *q ? q + 1 : q;
    }
    char full[PATH_MAX], rdir[PATH_MAX], rfull[PATH_MAX];
    if (snprintf(full, sizeof full, "%s/%s", dir, loc) >= (int)sizeof full)
        return gcam_errf(e, GCAM_E_PATH, "initializer '%s': external data path too long", tn);
    if (!realpath(dir, rdir)) return gcam_errf(e, GCAM_E_IO, "cannot resolve %s: %s", dir, strerror(errno));
    if (!realpath(full, rfull))
        return gcam_errf(e, GCAM_E_IO, "initializer '%s': cannot open external data %s: %s", tn, full, strerror(errno));
    size_t dl = strlen(rdir);
    if (strncmp(rfull, rdir, dl) != 0 || (rfull[dl] != '/' && rdir[dl - 1] != '/'))
        return gcam_errf(e, GCAM_E_PATH, "initializer '%s': external data '%s' resolves outside the model's folder", tn, loc);
    if (offset < 0) return gcam_errf(e, GCAM_E_PARSE, "initializer '%s': negative external data offset", tn);
    if (length >= 0 && (size_t)length != want)
        return gcam_errf(e, GCAM_E_PARSE, "initializer '%s': external data length %lld, expected %zu bytes", tn, (long long)length, want);
    /* O_NONBLOCK: a FIFO planted in the folder must not hang the loader */
    int fd = open(rfull, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return gcam_errf(e, GCAM_E_IO, "initializer '%s': cannot open external data %s: %s", tn, loc, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return gcam_errf(e, GCAM_E_IO, "initializer '%s': external data %s is not a regular file", tn, loc);
    }
    /* check the size before allocating: the dims alone may ask for terabytes */
    if ((uint64_t)offset > (uint64_t)st.st_size || want > (uint64_t)st.st_size - (uint64_t)offset) {
        close(fd);
        return gcam_errf(e, GCAM_E_PARSE, "initializer '%s': external data file %s is truncated (%lld bytes, need %zu at offset %lld)",
                         tn, loc, (long long)st.st_size, want, (long long)offset);
    }
    unsigned char *b = gcam_malloc(want ? want : 1);
    if (!b) {
        close(fd);
        return gcam_errf(e, GCAM_E_NOMEM, "initializer '%s': out of memory", tn);
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, b + got, want - got, (off_t)(offset + (int64_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != want) {
        gcam_free(b);
        return gcam_errf(e, GCAM_E_PARSE, "initializer '%s': external data file %s is truncated", tn, loc);
    }
    *out = b;
    return GCAM_OK;
}

/* TensorProto -> gcam_tensor (dims, dtype, owned data).  float16 and float64
 * become float32 (the engine's one float type, see gcam_internal.h). */
static int convert_tensor(Onnx__TensorProto *tp, const char *dir, gcam_tensor *t, gcam_err *e)
{
    const char *tn = tp->name ? tp->name : "";
    if (tp->n_dims > GCAM_MAX_DIMS)
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "tensor '%s': %zu dims (max %d)", tn, tp->n_dims, GCAM_MAX_DIMS);
    t->ndim = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) t->dims[i] = tp->dims[i];
    int64_t n = gcam_dims_numel_checked(t->dims, t->ndim);
    if (n < 0 || n > ((int64_t)1 << 40))
        return gcam_errf(e, GCAM_E_RANGE, "tensor '%s': absurd dimensions", tn);
    int src = tp->has_data_type ? tp->data_type : 0;
    size_t es = gcam_dtype_size(src);
    if (es == 0) return gcam_errf(e, GCAM_E_UNSUPPORTED, "tensor '%s': data type %s (%d) not supported", tn, gcam_dtype_name(src), src);
    size_t want = (size_t)n * es;
    unsigned char *raw = NULL;
    int raw_owned = 0;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        int rc = read_external(tp, dir, &raw, want, e);
        if (rc) return rc;
        raw_owned = 1;
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != want)
            return gcam_errf(e, GCAM_E_PARSE, "tensor '%s': raw_data has %zu bytes, expected %zu", tn, tp->raw_data.len, want);
        raw = tp->raw_data.data;
    }
    int dst = src == GCAM_DT_F16 || src == GCAM_DT_F64 || src == GCAM_DT_BF16 ? GCAM_DT_F32 : src;
    size_t bytes = (size_t)n * gcam_dtype_size(dst);
    if (!raw) {
        /* typed fields: check the count before allocating, the dims alone may
         * ask for terabytes that the file does not hold */
        size_t have;
        switch (src) {
        case GCAM_DT_F32: have = tp->n_float_data; break;
        case GCAM_DT_I64: have = tp->n_int64_data; break;
        case GCAM_DT_F64: have = tp->n_double_data; break;
        case GCAM_DT_F16: case GCAM_DT_BF16: case GCAM_DT_I32: case GCAM_DT_U8: case GCAM_DT_I8: case GCAM_DT_BOOL:
        case GCAM_DT_I16: case GCAM_DT_U16:
            have = tp->n_int32_data;
            break;
        case GCAM_DT_U32: case GCAM_DT_U64: have = tp->n_uint64_data; break;
        default: have = 0;
        }
        if (have != (size_t)n)
            return gcam_errf(e, GCAM_E_PARSE, "tensor '%s': has %zu values, expected %lld", tn, have, (long long)n);
    }
    void *data;
    if (raw && raw_owned && dst == src) {
        data = raw; /* take the external buffer as is */
        raw = NULL;
    } else if (raw && dst == src && tp->raw_data.data == raw && ((uintptr_t)raw % 16) == 0) {
        /* steal protobuf-c's malloc'd copy instead of copying 100 MB again */
        data = raw;
        tp->raw_data.data = NULL;
        tp->raw_data.len = 0;
        tp->has_raw_data = 0;
        raw = NULL;
    } else {
        data = gcam_malloc(bytes ? bytes : 1);
        if (!data) {
            if (raw_owned) gcam_free(raw);
            return gcam_errf(e, GCAM_E_NOMEM, "tensor '%s': out of memory", tn);
        }
        if (raw) {
            if (src == GCAM_DT_BF16) {
                for (int64_t i = 0; i < n; i++) {
                    uint16_t h;
                    memcpy(&h, raw + 2 * i, 2);
                    uint32_t bits = (uint32_t)h << 16;
                    memcpy((float *)data + i, &bits, 4);
                }
            } else if (src == GCAM_DT_F16) {
                for (int64_t i = 0; i < n; i++) {
                    uint16_t h;
                    memcpy(&h, raw + 2 * i, 2);
                    ((float *)data)[i] = half_to_float(h);
                }
            } else if (src == GCAM_DT_F64) {
                for (int64_t i = 0; i < n; i++) {
                    double d;
                    memcpy(&d, raw + 8 * i, 8);
                    ((float *)data)[i] = (float)d;
                }
            } else memcpy(data, raw, bytes);
        } else {
            /* typed fields */
            size_t have;
            int bad = 0;
            switch (src) {
            case GCAM_DT_F32:
                have = tp->n_float_data;
                if (have == (size_t)n) { if (bytes) memcpy(data, tp->float_data, bytes); } else bad = 1;
                break;
            case GCAM_DT_I64:
                have = tp->n_int64_data;
                if (have == (size_t)n) { if (bytes) memcpy(data, tp->int64_data, bytes); } else bad = 1;
                break;
            case GCAM_DT_F64:
                have = tp->n_double_data;
                if (have == (size_t)n)
                    for (int64_t i = 0; i < n; i++) ((float *)data)[i] = (float)tp->double_data[i];
                else bad = 1;
                break;
            case GCAM_DT_BF16:
                have = tp->n_int32_data;
                if (have == (size_t)n)
                    for (int64_t i = 0; i < n; i++) {
                        uint32_t bits = (uint32_t)(uint16_t)tp->int32_data[i] << 16;
                        memcpy((float *)data + i, &bits, 4);
                    }
                else bad = 1;
                break;
            case GCAM_DT_F16:
                have = tp->n_int32_data;
                if (have == (size_t)n)
                    for (int64_t i = 0; i < n; i++) ((float *)data)[i] = half_to_float((uint16_t)tp->int32_data[i]);
                else bad = 1;
                break;
            case GCAM_DT_I32:
                have = tp->n_int32_data;
                if (have == (size_t)n) { if (bytes) memcpy(data, tp->int32_data, bytes); } else bad = 1;
                break;
            case GCAM_DT_U8: case GCAM_DT_I8: case GCAM_DT_BOOL: case GCAM_DT_I16: case GCAM_DT_U16:
                have = tp->n_int32_data;
                if (have == (size_t)n)
                    for (int64_t i = 0; i < n; i++) gcam_set_i(data, src, i, tp->int32_data[i]);
                else bad = 1;
                break;
            case GCAM_DT_U32: case GCAM_DT_U64:
                have = tp->n_uint64_data;
                if (have == (size_t)n)
                    for (int64_t i = 0; i < n; i++) gcam_set_i(data, src, i, (int64_t)tp->uint64_data[i]);
                else bad = 1;
                break;
            default:
                have = 0;
                bad = 1;
            }
            if (bad) {
                gcam_free(data);
                return gcam_errf(e, GCAM_E_PARSE, "tensor '%s': has %zu values, expected %lld", tn, have, (long long)n);
            }
        }
        if (raw_owned) gcam_free(raw);
    }
    t->dtype = dst;
    t->data = data;
    t->flags |= GCAM_TF_CONST | GCAM_TF_OWNED | GCAM_TF_INIT;
    return GCAM_OK;
}

static int convert_attr(Onnx__AttributeProto *ap, gcam_attr *a, const char *dir, gcam_err *e)
{
    a->name = gcam_strdup(ap->name ? ap->name : "");
    if (!a->name) return GCAM_E_NOMEM;
    a->type = ap->has_type ? (int)ap->type : 0;
    a->i = ap->i;
    a->f = ap->f;
    switch (a->type) {
    case GCAM_ATTR_STRING:
        a->s = gcam_malloc(ap->s.len + 1);
        if (!a->s) return GCAM_E_NOMEM;
        if (ap->s.len) memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = 0;
        break;
    case GCAM_ATTR_STRINGS: {
        size_t len = 1;
        for (size_t i = 0; i < ap->n_strings; i++) len += ap->strings[i].len + 1;
        a->s = gcam_malloc(len);
        if (!a->s) return GCAM_E_NOMEM;
        size_t k = 0;
        for (size_t i = 0; i < ap->n_strings; i++) {
            if (i) a->s[k++] = '\n';
            if (ap->strings[i].len) memcpy(a->s + k, ap->strings[i].data, ap->strings[i].len);
            k += ap->strings[i].len;
        }
        a->s[k] = 0;
        a->n = (int)ap->n_strings;
        break;
    }
    case GCAM_ATTR_INTS:
        a->n = (int)ap->n_ints;
        a->ints = gcam_malloc(sizeof(int64_t) * (ap->n_ints ? ap->n_ints : 1));
        if (!a->ints) return GCAM_E_NOMEM;
        if (ap->n_ints) memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
        break;
    case GCAM_ATTR_FLOATS:
        a->n = (int)ap->n_floats;
        a->floats = gcam_malloc(sizeof(float) * (ap->n_floats ? ap->n_floats : 1));
        if (!a->floats) return GCAM_E_NOMEM;
        if (ap->n_floats) memcpy(a->floats, ap->floats, sizeof(float) * ap->n_floats);
        break;
    case GCAM_ATTR_TENSOR:
        if (!ap->t) return gcam_errf(e, GCAM_E_PARSE, "attribute '%s': tensor missing", a->name);
        a->t = gcam_calloc(1, sizeof *a->t);
        if (!a->t) return GCAM_E_NOMEM;
        a->t->name = gcam_strdup(a->name);
        if (!a->t->name) return GCAM_E_NOMEM;
        a->t->producer = -1;
        return convert_tensor(ap->t, dir, a->t, e);
    default:
        break; /* graphs, sparse tensors, strings lists: kept as type only */
    }
    return GCAM_OK;
}

static int opset_for(const Onnx__ModelProto *m, const char *domain)
{
    const char *d = domain && *domain ? domain : "";
    if (!strcmp(d, "ai.onnx")) d = "";
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *od = m->opset_import[i]->domain ? m->opset_import[i]->domain : "";
        if (!strcmp(od, "ai.onnx")) od = "";
        if (!strcmp(od, d)) { /* clamp: 2^32 + 13 must not read as opset 13 */
            int64_t v = m->opset_import[i]->version;
            return v > INT_MAX ? INT_MAX : v < 0 ? -1 : (int)v;
        }
    }
    return 0;
}

static int set_value_info_shape(gcam_graph *g, int ti, int in_index, const Onnx__ValueInfoProto *vi, gcam_err *e)
{
    gcam_tensor *t = &g->tensors[ti];
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        /* reported by gcam_graph_finish, after unsupported ops (which explain more) */
        t->dtype = GCAM_DT_UNDEF;
        t->ndim = -1;
        return GCAM_OK;
    }
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    t->dtype = tt->has_elem_type ? tt->elem_type : GCAM_DT_F32;
    if (t->dtype == GCAM_DT_F16 || t->dtype == GCAM_DT_F64 || t->dtype == GCAM_DT_BF16) t->dtype = GCAM_DT_F32; /* converted on input */
    if (!tt->shape) {
        t->ndim = -1; /* unknown rank: must come from the caller */
        return GCAM_OK;
    }
    if (tt->shape->n_dim > GCAM_MAX_DIMS)
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "graph input '%s' has %zu dims", t->name, tt->shape->n_dim);
    t->ndim = (int)tt->shape->n_dim;
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
        int64_t v = -1;
        if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) v = dm->dim_value;
        if (v < -1 || v > ((int64_t)1 << 31))
            return gcam_errf(e, GCAM_E_RANGE, "graph input '%s' dim %zu is absurd (%lld)", t->name, d, (long long)v);
        g->input_decl[in_index][d] = v;
        t->dims[d] = v;
        if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dm->dim_param &&
            !(g->input_dim_param[in_index][d] = gcam_strdup(dm->dim_param)))
            return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    return GCAM_OK;
}

/* a graph input or output declared float16 or float64 */
static int declared_f16_f64(const Onnx__ValueInfoProto *vi)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type) return 0;
    const int t = vi->type->tensor_type->elem_type;
    return t == GCAM_DT_F16 || t == GCAM_DT_F64 || t == GCAM_DT_BF16;
}

static int convert_model(Onnx__ModelProto *m, const char *dir, gcam_graph *g, gcam_err *e)
{
    Onnx__GraphProto *gp = m->graph;
    int rc;
    if (!gp) return gcam_errf(e, GCAM_E_PARSE, "model has no graph");
    {
        char prod[256];
        snprintf(prod, sizeof prod, "%s%s%s", m->producer_name ? m->producer_name : "",
                 m->producer_version && *m->producer_version ? " " : "",
                 m->producer_version ? m->producer_version : "");
        if (!(g->producer = gcam_strdup(prod))) return GCAM_E_NOMEM;
        g->opset = opset_for(m, "");
        g->ir_version = m->has_ir_version ? m->ir_version : 0;
    }
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        if (!m->metadata_props[i]->key) continue;
        char **k = gcam_realloc(g->meta_key, sizeof(char *) * (g->n_meta + 1));
        if (!k) return GCAM_E_NOMEM;
        g->meta_key = k;
        char **v = gcam_realloc(g->meta_val, sizeof(char *) * (g->n_meta + 1));
        if (!v) return GCAM_E_NOMEM;
        g->meta_val = v;
        g->meta_key[g->n_meta] = gcam_strdup(m->metadata_props[i]->key);
        g->meta_val[g->n_meta] = gcam_strdup(m->metadata_props[i]->value ? m->metadata_props[i]->value : "");
        g->n_meta++; /* counted first: gcam_graph_free releases a half-made pair */
        if (!g->meta_key[g->n_meta - 1] || !g->meta_val[g->n_meta - 1]) return GCAM_E_NOMEM;
    }
    if (gp->n_sparse_initializer)
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name) return gcam_errf(e, GCAM_E_PARSE, "initializer %zu has no name", i);
        int ti = gcam_graph_add_tensor(g, tp->name);
        if (ti < 0) return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
        if ((rc = convert_tensor(tp, dir, &g->tensors[ti], e))) return rc;
        g->n_f16_f64 += tp->data_type == GCAM_DT_F16 || tp->data_type == GCAM_DT_F64 || tp->data_type == GCAM_DT_BF16;
    }
    /* graph inputs that are not initializers */
    g->inputs = gcam_calloc(gp->n_input + 1, sizeof(int));
    g->input_decl = gcam_calloc(gp->n_input + 1, sizeof *g->input_decl);
    g->input_dim_param = gcam_calloc(gp->n_input + 1, sizeof(char **));
    if (!g->inputs || !g->input_decl || !g->input_dim_param) return GCAM_E_NOMEM;
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *nm = gp->input[i]->name;
        if (!nm || !*nm) return gcam_errf(e, GCAM_E_PARSE, "graph input %zu has no name", i);
        int ti = gcam_graph_find(g, nm);
        if (ti >= 0 && (g->tensors[ti].flags & GCAM_TF_INIT)) continue;
        if (ti >= 0) return gcam_errf(e, GCAM_E_INVALID_MODEL, "graph input '%s' listed twice", nm);
        ti = gcam_graph_add_tensor(g, nm);
        if (ti < 0) return GCAM_E_NOMEM;
        int k = g->n_inputs++;
        g->inputs[k] = ti;
        g->input_dim_param[k] = gcam_calloc(GCAM_MAX_DIMS, sizeof(char *));
        if (!g->input_dim_param[k]) return GCAM_E_NOMEM;
        g->tensors[ti].flags |= GCAM_TF_INPUT;
        if ((rc = set_value_info_shape(g, ti, k, gp->input[i], e))) return rc;
        g->n_f16_f64 += declared_f16_f64(gp->input[i]);
    }
    /* nodes */
    g->nodes = gcam_calloc(gp->n_node + 1, sizeof(gcam_node));
    if (!g->nodes) return GCAM_E_NOMEM;
    for (size_t i = 0; i < gp->n_node; i++) {
        Onnx__NodeProto *np = gp->node[i];
        gcam_node *n = &g->nodes[g->n_nodes++];
        char tmp[32];
        snprintf(tmp, sizeof tmp, "#%zu", i);
        n->name = gcam_strdup(np->name && *np->name ? np->name : tmp);
        n->op_type = gcam_strdup(np->op_type ? np->op_type : "");
        n->domain = gcam_strdup(np->domain ? np->domain : "");
        n->opset = opset_for(m, n->domain);
        n->n_in = (int)np->n_input;
        n->n_out = (int)np->n_output;
        n->in = gcam_calloc(np->n_input + 1, sizeof(int));
        n->out = gcam_calloc(np->n_output + 1, sizeof(int));
        n->attr = gcam_calloc(np->n_attribute + 1, sizeof(gcam_attr));
        if (!n->name || !n->op_type || !n->domain || !n->in || !n->out || !n->attr) return GCAM_E_NOMEM;
        for (size_t a = 0; a < np->n_attribute; a++) {
            const Onnx__AttributeProto *ap = np->attribute[a];
            g->n_f16_f64 += (ap->t && (ap->t->data_type == GCAM_DT_F16 || ap->t->data_type == GCAM_DT_F64 || ap->t->data_type == GCAM_DT_BF16)) ||
                            (ap->name && !strcmp(ap->name, "to") && (ap->i == GCAM_DT_F16 || ap->i == GCAM_DT_F64 || ap->i == GCAM_DT_BF16));
            n->n_attr++;
            if ((rc = convert_attr(np->attribute[a], &n->attr[a], dir, e))) {
                if (rc == GCAM_E_NOMEM) return gcam_errf(e, rc, "out of memory");
                return gcam_errf(e, rc, "node '%s' (%s): %s", n->name, n->op_type, e->msg);
            }
        }
        for (size_t k = 0; k < np->n_output; k++) {
            const char *nm = np->output[k];
            if (!nm || !*nm) { n->out[k] = -1; continue; }
            int ti = gcam_graph_find(g, nm);
            if (ti >= 0 && (g->tensors[ti].producer >= 0 || (g->tensors[ti].flags & (GCAM_TF_INIT | GCAM_TF_INPUT))))
                return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): tensor '%s' is produced twice", n->name, n->op_type, nm);
            if (ti < 0) ti = gcam_graph_add_tensor(g, nm);
            if (ti < 0) return GCAM_E_NOMEM;
            g->tensors[ti].producer = (int)i;
            n->out[k] = ti;
        }
    }
    /* inputs are resolved after all outputs exist so that a node may be listed
     * before its producer (the topological sort puts them in order) */
    for (size_t i = 0; i < gp->n_node; i++) {
        Onnx__NodeProto *np = gp->node[i];
        gcam_node *n = &g->nodes[i];
        for (size_t k = 0; k < np->n_input; k++) {
            const char *nm = np->input[k];
            if (!nm || !*nm) { n->in[k] = -1; continue; }
            int ti = gcam_graph_find(g, nm);
            if (ti < 0)
                return gcam_errf(e, GCAM_E_INVALID_MODEL, "node '%s' (%s): input '%s' is neither an initializer, a graph input nor a node output (missing initializer?)", n->name, n->op_type, nm);
            n->in[k] = ti;
        }
    }
    g->outputs = gcam_calloc(gp->n_output + 1, sizeof(int));
    if (!g->outputs) return GCAM_E_NOMEM;
    for (size_t i = 0; i < gp->n_output; i++) {
        int ti = gp->output[i]->name ? gcam_graph_find(g, gp->output[i]->name) : -1;
        if (ti < 0) return gcam_errf(e, GCAM_E_INVALID_MODEL, "graph output '%s' is never produced", gp->output[i]->name ? gp->output[i]->name : "");
        g->tensors[ti].flags |= GCAM_TF_OUTPUT; /* the planner keeps outputs alive */
        g->n_f16_f64 += declared_f16_f64(gp->output[i]);
        g->outputs[g->n_outputs++] = ti;
    }
    return gcam_graph_finish(g, e);
}

/* protobuf-c's allocator over ours; protobuf-c returns NULL alike for a
 * failed allocation and for garbage, so the allocator notes the former */
static void *pb_alloc(void *failed, size_t n)
{
    void *p = gcam_alloc_cb(NULL, n);
    if (!p) *(int *)failed = 1;
    return p;
}
#define PB_ALLOCATOR(failed) {pb_alloc, gcam_free_cb, &(failed)}

int gcam_graph_load_buffer(const void *buf, size_t len, const char *dir, gcam_graph **out, gcam_err *e)
{
    *out = NULL;
    int failed = 0;
    ProtobufCAllocator pa = PB_ALLOCATOR(failed);
    Onnx__ModelProto *m = onnx__model_proto__unpack(&pa, len, buf);
    if (!m && failed) return gcam_errf(e, GCAM_E_NOMEM, "out of memory unpacking the model (%zu bytes)", len);
    if (!m) return gcam_errf(e, GCAM_E_PARSE, "not a valid ONNX protobuf (truncated or garbage)");
    gcam_graph *g = gcam_calloc(1, sizeof *g);
    if (!g) {
        onnx__model_proto__free_unpacked(m, &pa);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    g->dir = gcam_strdup(dir);
    g->nthreads = 1;
    int rc = dir && !g->dir ? GCAM_E_NOMEM : convert_model(m, dir, g, e);
    onnx__model_proto__free_unpacked(m, &pa);
    if (rc) {
        if (rc == GCAM_E_NOMEM && !e->msg[0]) gcam_errf(e, rc, "out of memory");
        gcam_graph_free(g);
        return rc;
    }
    *out = g;
    return GCAM_OK;
}

int gcam_graph_load_file(const char *path, gcam_graph **out, gcam_err *e)
{
    unsigned char *buf;
    size_t len;
    int mapped;
    *out = NULL;
    int rc = read_file(path, &buf, &len, &mapped, e);
    if (rc) return rc;
    char *dir = gcam_strdup(path);
    if (!dir) {
        release_file(buf, len, mapped);
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = 0;
    else strcpy(dir, ".");
    rc = gcam_graph_load_buffer(buf, len, dir, out, e);
    release_file(buf, len, mapped);
    gcam_free(dir);
    if (rc) {
        gcam_err_prefix(e, path);
        return rc;
    }
    if (!((*out)->path = gcam_strdup(path))) {
        gcam_graph_free(*out);
        *out = NULL;
        return gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    }
    return GCAM_OK;
}

/* Reads a standalone TensorProto file (ONNX backend test data). */
int gcam_tensor_load_pb(const char *path, gcam_tensor *t, gcam_err *e)
{
    unsigned char *buf;
    size_t len;
    int mapped;
    int rc = read_file(path, &buf, &len, &mapped, e);
    if (rc) return rc;
    int failed = 0;
    ProtobufCAllocator pa = PB_ALLOCATOR(failed);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pa, len, buf);
    release_file(buf, len, mapped);
    if (!tp && failed) return gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory", path);
    if (!tp) return gcam_errf(e, GCAM_E_PARSE, "%s: not a TensorProto", path);
    memset(t, 0, sizeof *t);
    t->producer = -1;
    t->name = gcam_strdup(tp->name ? tp->name : "");
    rc = t->name ? convert_tensor(tp, NULL, t, e) : gcam_errf(e, GCAM_E_NOMEM, "out of memory");
    onnx__tensor_proto__free_unpacked(tp, &pa);
    if (rc) {
        gcam_free(t->name);
        t->name = NULL;
    }
    return rc;
}
