/* onnx_builder.h - builds small ONNX models in C with the protobuf-c API,
 * for the loader tests (test_loader.c, test_bad_input.c).
 *
 *   ob *b = ob_new(13);                                  opset 13 of ai.onnx
 *   ob_input(b, "x", OB_F32, "N,4");                     dim_value or dim_param per item
 *   ob_init_f32(b, "w", 2, (int64_t[]){4, 2}, w);        float_data
 *   ob_node(b, "MatMul", "mm", "x,w", "y");              comma-separated names
 *   ob_output(b, "y", OB_F32, NULL);                     no shape
 *   size_t len; uint8_t *buf = ob_pack(b, &len);         malloc'd, free it
 *   ob_free(b);
 * or, to pack, free and load in one step: gcam_model *m; ob_load(b, &m);
 *
 * Every message lives in the builder's allocation list and dies with ob_free.
 * Capacities are fixed (tests only build small graphs); exceeding one aborts. */
#ifndef GCAM_ONNX_BUILDER_H
#define GCAM_ONNX_BUILDER_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gcam.h"
#include "onnx.pb-c.h"

#define OB_API static __attribute__((unused))

enum { OB_F32 = 1, OB_I32 = 6, OB_I64 = 7, OB_F16 = 10, OB_F64 = 11 };
enum { OB_MAX_NODES = 64, OB_MAX_INITS = 64, OB_MAX_IO = 16, OB_MAX_ATTRS = 16 };

typedef struct ob {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    void **allocs;
    size_t n_allocs, cap_allocs;
} ob;

OB_API void *ob_alloc(ob *b, size_t bytes)
{
    if (b->n_allocs == b->cap_allocs) {
        b->cap_allocs = b->cap_allocs ? 2 * b->cap_allocs : 64;
        b->allocs = realloc(b->allocs, sizeof(void *) * b->cap_allocs);
        if (!b->allocs) abort();
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) abort();
    b->allocs[b->n_allocs++] = p;
    return p;
}

OB_API char *ob_str(ob *b, const char *s)
{
    char *p = ob_alloc(b, strlen(s) + 1);
    memcpy(p, s, strlen(s));
    return p;
}

OB_API void *ob_dup(ob *b, const void *src, size_t bytes)
{
    void *p = ob_alloc(b, bytes);
    if (bytes) memcpy(p, src, bytes);
    return p;
}

OB_API void ob_opset(ob *b, const char *domain, int64_t version)
{
    if (b->model.n_opset_import == 8) abort();
    Onnx__OperatorSetIdProto *o = ob_alloc(b, sizeof *o);
    *o = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    o->domain = ob_str(b, domain);
    o->has_version = 1;
    o->version = version;
    b->model.opset_import[b->model.n_opset_import++] = o;
}

/* A model with ir_version 8, importing `opset` of the default domain (0: none). */
OB_API ob *ob_new(int64_t opset)
{
    ob *b = calloc(1, sizeof *b);
    if (!b) abort();
    b->model = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    b->graph = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.producer_name = ob_str(b, "gcam-tests");
    b->model.graph = &b->graph;
    b->model.opset_import = ob_alloc(b, sizeof(void *) * 8);
    b->graph.name = ob_str(b, "g");
    b->graph.node = ob_alloc(b, sizeof(void *) * OB_MAX_NODES);
    b->graph.initializer = ob_alloc(b, sizeof(void *) * OB_MAX_INITS);
    b->graph.input = ob_alloc(b, sizeof(void *) * OB_MAX_IO);
    b->graph.output = ob_alloc(b, sizeof(void *) * OB_MAX_IO);
    if (opset > 0) ob_opset(b, "", opset);
    return b;
}

OB_API void ob_free(ob *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n_allocs; i++) free(b->allocs[i]);
    free(b->allocs);
    free(b);
}

/* Splits "a,b,,c" into a NULL-free list of strings ("" for an empty item). */
OB_API size_t ob_split(ob *b, const char *list, char ***out)
{
    size_t n = 0;
    if (!list || !*list) {
        *out = NULL;
        return 0;
    }
    for (const char *p = list; *p; p++) n += *p == ',';
    n++;
    char **v = ob_alloc(b, sizeof(char *) * n);
    const char *p = list;
    for (size_t i = 0; i < n; i++) {
        const char *q = strchr(p, ',');
        size_t l = q ? (size_t)(q - p) : strlen(p);
        v[i] = ob_alloc(b, l + 1);
        memcpy(v[i], p, l);
        p = q ? q + 1 : p + l;
    }
    *out = v;
    return n;
}

OB_API Onnx__NodeProto *ob_node(ob *b, const char *op_type, const char *name, const char *inputs,
                                const char *outputs)
{
    if (b->graph.n_node == OB_MAX_NODES) abort();
    Onnx__NodeProto *n = ob_alloc(b, sizeof *n);
    *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    n->op_type = ob_str(b, op_type);
    n->name = name ? ob_str(b, name) : NULL;
    n->n_input = ob_split(b, inputs, &n->input);
    n->n_output = ob_split(b, outputs, &n->output);
    n->attribute = ob_alloc(b, sizeof(void *) * OB_MAX_ATTRS);
    b->graph.node[b->graph.n_node++] = n;
    return n;
}

OB_API Onnx__AttributeProto *ob_attr(ob *b, Onnx__NodeProto *n, const char *name,
                                     Onnx__AttributeProto__AttributeType type)
{
    if (n->n_attribute == OB_MAX_ATTRS) abort();
    Onnx__AttributeProto *a = ob_alloc(b, sizeof *a);
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = ob_str(b, name);
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

OB_API void ob_attr_int(ob *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

OB_API void ob_attr_float(ob *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

OB_API void ob_attr_ints(ob *b, Onnx__NodeProto *n, const char *name, size_t count, const int64_t *v)
{
    Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = count;
    a->ints = ob_dup(b, v, sizeof(int64_t) * count);
}

/* A tensor message (not attached); data in raw_data when raw != NULL. */
OB_API Onnx__TensorProto *ob_tensor(ob *b, const char *name, int dtype, int ndim, const int64_t *dims,
                                    const void *raw, size_t raw_bytes)
{
    Onnx__TensorProto *t = ob_alloc(b, sizeof *t);
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    t->name = name ? ob_str(b, name) : NULL;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)ndim;
    t->dims = ob_dup(b, dims, sizeof(int64_t) * (size_t)ndim);
    if (raw) {
        t->has_raw_data = 1;
        t->raw_data.len = raw_bytes;
        t->raw_data.data = ob_dup(b, raw, raw_bytes);
    }
    return t;
}

OB_API Onnx__TensorProto *ob_add_init(ob *b, Onnx__TensorProto *t)
{
    if (b->graph.n_initializer == OB_MAX_INITS) abort();
    b->graph.initializer[b->graph.n_initializer++] = t;
    return t;
}

OB_API int64_t ob_numel(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

/* Initializer with its data in raw_data. */
OB_API Onnx__TensorProto *ob_init_raw(ob *b, const char *name, int dtype, int ndim, const int64_t *dims,
                                      const void *data, size_t bytes)
{
    return ob_add_init(b, ob_tensor(b, name, dtype, ndim, dims, data, bytes));
}

/* Initializers with their data in the typed fields. */
OB_API Onnx__TensorProto *ob_init_f32(ob *b, const char *name, int ndim, const int64_t *dims, const float *v)
{
    Onnx__TensorProto *t = ob_tensor(b, name, OB_F32, ndim, dims, NULL, 0);
    t->n_float_data = (size_t)ob_numel(ndim, dims);
    t->float_data = ob_dup(b, v, sizeof(float) * t->n_float_data);
    return ob_add_init(b, t);
}

OB_API Onnx__TensorProto *ob_init_i64(ob *b, const char *name, int ndim, const int64_t *dims, const int64_t *v)
{
    Onnx__TensorProto *t = ob_tensor(b, name, OB_I64, ndim, dims, NULL, 0);
    t->n_int64_data = (size_t)ob_numel(ndim, dims);
    t->int64_data = ob_dup(b, v, sizeof(int64_t) * t->n_int64_data);
    return ob_add_init(b, t);
}

/* float16 bit patterns, one per int32_data entry (the ONNX convention). */
OB_API Onnx__TensorProto *ob_init_f16_i32(ob *b, const char *name, int ndim, const int64_t *dims,
                                          const uint16_t *bits)
{
    Onnx__TensorProto *t = ob_tensor(b, name, OB_F16, ndim, dims, NULL, 0);
    t->n_int32_data = (size_t)ob_numel(ndim, dims);
    t->int32_data = ob_alloc(b, sizeof(int32_t) * t->n_int32_data);
    for (size_t i = 0; i < t->n_int32_data; i++) t->int32_data[i] = bits[i];
    return ob_add_init(b, t);
}

/* External data: location, plus offset and length unless -1. */
OB_API Onnx__TensorProto *ob_init_external(ob *b, const char *name, int dtype, int ndim, const int64_t *dims,
                                           const char *location, int64_t offset, int64_t length)
{
    Onnx__TensorProto *t = ob_tensor(b, name, dtype, ndim, dims, NULL, 0);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->external_data = ob_alloc(b, sizeof(void *) * 3);
    const char *keys[3] = {"location", "offset", "length"};
    int64_t vals[3] = {0, offset, length};
    for (int k = 0; k < 3; k++) {
        if (k > 0 && vals[k] == -1) continue;
        Onnx__StringStringEntryProto *e = ob_alloc(b, sizeof *e);
        *e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        e->key = ob_str(b, keys[k]);
        if (k == 0) e->value = ob_str(b, location);
        else {
            char buf[32];
            snprintf(buf, sizeof buf, "%lld", (long long)vals[k]);
            e->value = ob_str(b, buf);
        }
        t->external_data[t->n_external_data++] = e;
    }
    return ob_add_init(b, t);
}

/* A tensor-typed value info.  shape: NULL = no shape; else comma-separated
 * items, each a number (dim_value), "?" (unset) or a name (dim_param);
 * "" = rank 0. */
OB_API Onnx__ValueInfoProto *ob_value_info(ob *b, const char *name, int elem_type, const char *shape)
{
    Onnx__ValueInfoProto *vi = ob_alloc(b, sizeof *vi);
    *vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    vi->name = ob_str(b, name);
    Onnx__TypeProto *tp = ob_alloc(b, sizeof *tp);
    *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor *tt = ob_alloc(b, sizeof *tt);
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    if (shape) {
        Onnx__TensorShapeProto *sp = ob_alloc(b, sizeof *sp);
        *sp = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
        char **items;
        sp->n_dim = ob_split(b, shape, &items);
        sp->dim = ob_alloc(b, sizeof(void *) * (sp->n_dim + 1));
        for (size_t i = 0; i < sp->n_dim; i++) {
            Onnx__TensorShapeProto__Dimension *d = ob_alloc(b, sizeof *d);
            *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
            char *end;
            long long v = strtoll(items[i], &end, 10);
            if (end != items[i] && !*end) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = v;
            } else if (strcmp(items[i], "?")) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = items[i];
            }
            sp->dim[i] = d;
        }
        tt->shape = sp;
    }
    return vi;
}

OB_API Onnx__ValueInfoProto *ob_input(ob *b, const char *name, int elem_type, const char *shape)
{
    if (b->graph.n_input == OB_MAX_IO) abort();
    return b->graph.input[b->graph.n_input++] = ob_value_info(b, name, elem_type, shape);
}

OB_API Onnx__ValueInfoProto *ob_output(ob *b, const char *name, int elem_type, const char *shape)
{
    if (b->graph.n_output == OB_MAX_IO) abort();
    return b->graph.output[b->graph.n_output++] = ob_value_info(b, name, elem_type, shape);
}

/* The serialised model (malloc'd; caller frees). */
OB_API uint8_t *ob_pack(ob *b, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf) abort();
    size_t n = onnx__model_proto__pack(&b->model, buf);
    if (n != *len) abort();
    return buf;
}

/* Packs the model, frees the builder and loads the model into *m;
 * returns gcam_model_load_buffer's status. */
OB_API int ob_load(ob *b, gcam_model **m)
{
    size_t len;
    uint8_t *buf = ob_pack(b, &len);
    ob_free(b);
    *m = NULL;
    int rc = gcam_model_load_buffer(buf, len, m);
    free(buf);
    return rc;
}

/* float -> IEEE half bits, for exactly representable test values. */
OB_API uint16_t ob_f16_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t man = x & 0x7fffffu;
    if ((x & 0x7fffffffu) == 0) return (uint16_t)sign;
    if (exp >= 31) return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) { /* subnormal half */
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000u;
        return (uint16_t)(sign | (man >> (14 - exp)));
    }
    return (uint16_t)(sign | (uint32_t)exp << 10 | man >> 13);
}

/* ---- files, for the file-based cases ---- */

/* A fresh folder under $TMPDIR (or /tmp); returns a malloc'd path or NULL. */
OB_API char *ob_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/gcam_test_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) return NULL;
    return strdup(tmpl);
}

/* Writes bytes to dir/name; returns 0 on success. */
OB_API int ob_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = (len == 0 || fwrite(data, 1, len, f) == len);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* rm -rf for the small trees the tests make (files, links, one level of folders). */
OB_API void ob_rmtree(const char *dir)
{
    if (!dir) return;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "    could not remove %s\n", dir);
}

#endif
