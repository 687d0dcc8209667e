/* npy.c - NumPy .npy reader/writer (format versions 1.0, 2.0, 3.0).
 * Little-endian, C order, the engine's stored types: float32, int64/32/16/8,
 * uint64/32/16/8 and bool; anything else (float64, float16, big-endian, ...)
 * is rejected with a message naming the dtype. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gcam_internal.h"
#include "util/fileio.h"
#include "util/npy.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p)) p++;
    return p;
}

/* Finds 'key': in the header dict and returns a pointer to its value. */
static const char *find_key(const char *h, const char *end, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = h; p + kl + 2 < end; p++)
        if ((*p == '\'' || *p == '"') && !strncmp(p + 1, key, kl) && p[kl + 1] == *p) {
            const char *q = skip_ws(p + kl + 2, end);
            if (q < end && *q == ':') return skip_ws(q + 1, end);
            return NULL;
        }
    return NULL;
}

/* numpy's name for a few common descrs, for the rejection message */
static const char *descr_name(const char *d)
{
    static const struct { const char *descr, *name; } names[] = {
        {"<f8", "float64"}, {"f8", "float64"}, {"<f2", "float16"}, {"<i4", "int32"}, {"<i2", "int16"},
        {"|i1", "int8"}, {"|u1", "uint8"}, {"<u8", "uint64"}, {"<u4", "uint32"}, {"|b1", "bool"},
        {">f4", "big-endian float32"}, {">f8", "big-endian float64"}, {">i8", "big-endian int64"},
        {">i4", "big-endian int32"}, {"<c8", "complex64"}, {"|O", "object"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(d, names[i].descr)) return names[i].name;
    return NULL;
}

/* descr <-> dtype, the first spelling of each type is the one written */
static const struct { const char *descr; int dtype; } npy_types[] = {
    {"<f4", GCAM_DT_F32}, {"f4", GCAM_DT_F32}, {"<i8", GCAM_DT_I64}, {"i8", GCAM_DT_I64},
    {"<i4", GCAM_DT_I32}, {"<i2", GCAM_DT_I16}, {"|i1", GCAM_DT_I8}, {"i1", GCAM_DT_I8},
    {"<u8", GCAM_DT_U64}, {"<u4", GCAM_DT_U32}, {"<u2", GCAM_DT_U16}, {"|u1", GCAM_DT_U8}, {"u1", GCAM_DT_U8},
    {"|b1", GCAM_DT_BOOL}, {"b1", GCAM_DT_BOOL}, {"?", GCAM_DT_BOOL},
};

static int npy_dtype(const char *descr)
{
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (!strcmp(descr, npy_types[i].descr)) return npy_types[i].dtype;
    return 0;
}

static const char *npy_descr(int dtype)
{
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dtype == dtype) return npy_types[i].descr;
    return NULL;
}

/* Parses the header at the start of buf (len bytes of the file, maybe only
 * its beginning): t gets dtype and dims (no data), *data_off where the data
 * starts.  file_len is the whole file's size: the data it must hold is
 * checked against it before anyone allocates. */
static int npy_header(const void *buf, size_t len, size_t file_len, gcam_tensor *t, size_t *data_off,
                      const char *what, gcam_err *e)
{
    const unsigned char *b = buf;
    memset(t, 0, sizeof *t);
    t->producer = -1;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return gcam_errf(e, GCAM_E_PARSE, "%s: not a .npy file (bad magic)", what);
    int major = b[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return gcam_errf(e, GCAM_E_PARSE, "%s: truncated .npy header", what);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else return gcam_errf(e, GCAM_E_PARSE, "%s: unsupported .npy version %d", what, major);
    if (hlen > GCAM_FILE_MAX_NPY_HEADER)
        return gcam_errf(e, GCAM_E_PARSE, "%s: .npy header of %zu bytes (at most %zu)", what, hlen, GCAM_FILE_MAX_NPY_HEADER);
    if (hlen > len - hoff) return gcam_errf(e, GCAM_E_PARSE, "%s: truncated .npy header", what);
    const char *h = (const char *)b + hoff, *hend = h + hlen;
    const char *d = find_key(h, hend, "descr");
    const char *fo = find_key(h, hend, "fortran_order");
    const char *sh = find_key(h, hend, "shape");
    if (!d || !fo || !sh || d >= hend || fo >= hend || sh >= hend)
        return gcam_errf(e, GCAM_E_PARSE, "%s: malformed .npy header", what);
    char descr[16] = "";
    if (d < hend && (*d == '\'' || *d == '"')) {
        char q = *d++;
        int i = 0;
        while (d < hend && *d != q && i < 15) descr[i++] = *d++;
        descr[i] = 0;
        if (d >= hend) return gcam_errf(e, GCAM_E_PARSE, "%s: malformed .npy header (descr)", what);
    }
    if (!(t->dtype = npy_dtype(descr))) {
        const char *nm = descr_name(descr);
        return gcam_errf(e, GCAM_E_DTYPE, "%s: dtype '%s'%s%s%s not supported (need float32 '<f4', an integer type or bool; convert with .astype(np.float32))",
                         what, descr, nm ? " (" : "", nm ? nm : "", nm ? ")" : "");
    }
    /* the header is not NUL-terminated: every comparison is bounded by hend */
    if (hend - fo >= 4 && !memcmp(fo, "True", 4))
        return gcam_errf(e, GCAM_E_UNSUPPORTED, "%s: Fortran-order arrays are not supported; save with C order (np.ascontiguousarray)", what);
    if (hend - fo < 5 || memcmp(fo, "False", 5)) return gcam_errf(e, GCAM_E_PARSE, "%s: malformed fortran_order", what);
    if (sh >= hend || *sh != '(') return gcam_errf(e, GCAM_E_PARSE, "%s: malformed shape", what);
    const char *p = sh + 1;
    t->ndim = 0;
    for (;;) {
        p = skip_ws(p, hend);
        if (p >= hend) return gcam_errf(e, GCAM_E_PARSE, "%s: malformed shape", what);
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p)) return gcam_errf(e, GCAM_E_PARSE, "%s: malformed shape", what);
        if (t->ndim == GCAM_MAX_DIMS) return gcam_errf(e, GCAM_E_UNSUPPORTED, "%s: more than %d dims", what, GCAM_MAX_DIMS);
        /* digits by hand: strtoll could run past the end of the buffer */
        int64_t v = 0;
        while (p < hend && isdigit((unsigned char)*p)) {
            if (v > (INT64_MAX - 9) / 10) return gcam_errf(e, GCAM_E_RANGE, "%s: absurd dimension", what);
            v = v * 10 + (*p++ - '0');
        }
        t->dims[t->ndim++] = v;
        p = skip_ws(p, hend);
        if (p < hend && *p == ',') p++;
    }
    size_t bytes = gcam_tensor_bytes(t);
    if (bytes == SIZE_MAX) return gcam_errf(e, GCAM_E_RANGE, "%s: dimensions overflow", what);
    size_t doff = hoff + hlen;
    if (file_len - doff < bytes)
        return gcam_errf(e, GCAM_E_PARSE, "%s: truncated data (%zu bytes, need %zu)", what, file_len - doff, bytes);
    *data_off = doff;
    return GCAM_OK;
}

int gcam_npy_parse(const void *buf, size_t len, gcam_tensor *t, const char *what, gcam_err *e)
{
    size_t doff;
    int rc = npy_header(buf, len, len, t, &doff, what, e);
    if (rc) return rc;
    size_t bytes = gcam_tensor_bytes(t);
    t->data = gcam_malloc(bytes ? bytes : 1);
    if (!t->data) return gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory", what);
    if (bytes) memcpy(t->data, (const unsigned char *)buf + doff, bytes);
    t->flags = GCAM_TF_OWNED;
    return GCAM_OK;
}

int gcam_npy_read(const char *path, gcam_tensor *t, gcam_err *e)
{
    memset(t, 0, sizeof *t);
    t->producer = -1;
    int fd = -1;
    size_t size = 0;
    int rc = gcam_file_open_in(path, GCAM_FILE_MAX_NPY, "array", &fd, &size, e);
    if (rc) return rc;
    /* the header first: its dims are checked against the file's size before
     * the data is allocated, and the data is read straight into the tensor */
    size_t head = size < GCAM_FILE_MAX_NPY_HEADER + 12 ? size : GCAM_FILE_MAX_NPY_HEADER + 12, doff = 0;
    unsigned char *h = gcam_malloc(head ? head : 1);
    if (!h) rc = gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory", path);
    if (!rc) rc = gcam_file_pread(fd, h, head, 0, path, e);
    if (!rc) rc = npy_header(h, head, size, t, &doff, path, e);
    gcam_free(h);
    size_t bytes = rc ? 0 : gcam_tensor_bytes(t);
    if (!rc && !(t->data = gcam_malloc(bytes ? bytes : 1)))
        rc = gcam_errf(e, GCAM_E_NOMEM, "%s: out of memory for %zu bytes", path, bytes);
    if (!rc) rc = gcam_file_pread(fd, t->data, bytes, doff, path, e);
    close(fd);
    if (rc) {
        gcam_free(t->data);
        t->data = NULL;
        return rc;
    }
    t->flags = GCAM_TF_OWNED;
    return GCAM_OK;
}

int gcam_npy_write(const char *path, int dtype, const int64_t *dims, int ndim, const void *data, gcam_err *e)
{
    if (ndim < 0 || ndim > GCAM_MAX_DIMS)
        return gcam_errf(e, GCAM_E_ARG, "%s: %d dimensions (0 to %d)", path, ndim, GCAM_MAX_DIMS);
    if (!dims && ndim) return gcam_errf(e, GCAM_E_ARG, "%s: no dims", path);
    const char *descr = npy_descr(dtype);
    if (!descr) return gcam_errf(e, GCAM_E_DTYPE, "%s: cannot write dtype %s", path, gcam_dtype_name(dtype));
    char shape[256] = "";
    size_t sl = 0;
    for (int i = 0; i < ndim; i++)
        sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%lld,%s", (long long)dims[i], ndim > 1 && i < ndim - 1 ? " " : "");
    if (ndim > 1 && sl) shape[--sl] = 0; /* "(2, 3)" not "(2, 3,)" */
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
    /* pad so that the data starts at a multiple of 64, ending with '\n' */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    for (size_t i = 0; i < pad; i++) hdr[n++] = ' ';
    hdr[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    int64_t cnt = gcam_dims_numel_checked(dims, ndim);
    if (cnt < 0 || (uint64_t)cnt > SIZE_MAX / 16) return gcam_errf(e, GCAM_E_RANGE, "%s: bad dimensions", path);
    size_t bytes = (size_t)cnt * gcam_dtype_size(dtype);
    if (bytes && !data) return gcam_errf(e, GCAM_E_ARG, "%s: no data", path);
    gcam_outfile o;
    int rc = gcam_out_open(&o, path, e);
    if (rc) return rc;
    int ok = fwrite(pre, 1, 10, o.f) == 10 && fwrite(hdr, 1, (size_t)n, o.f) == (size_t)n &&
             (bytes == 0 || fwrite(data, 1, bytes, o.f) == bytes);
    if (!ok) {
        int err = errno;
        gcam_out_abort(&o);
        return gcam_errf(e, GCAM_E_IO, "cannot write %s: %s", path, strerror(err));
    }
    return gcam_out_commit(&o, e);
}
