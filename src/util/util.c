/* util.c - errors, dtype table, attribute accessors, broadcasting. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gcam_internal.h"

const char *gcam_status_str(int status)
{
    switch (status) {
#define GCAM_X_(name, val, str) \
    case val: return str;
        GCAM_STATUS_LIST(GCAM_X_)
#undef GCAM_X_
    }
    return "unknown status";
}

/* Length of the valid, printable UTF-8 sequence at s (1 to 4), or 0 when the
 * byte at s must be escaped: ASCII controls and DEL, C1 controls (U+0080 to
 * U+009F, which some terminals obey as escape sequences), and anything that
 * is not well-formed UTF-8 (overlong, surrogates, beyond U+10FFFF, cut). */
static int utf8_printable(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return c >= 0x20 && c != 0x7f;
    int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!n) return 0;
    unsigned lo = 0x80, hi = 0xbf;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f;
    else if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xbf) return 0;
    if (c == 0xc2 && s[1] <= 0x9f) return 0; /* C1 control */
    return n;
}

size_t gcam_escape(const char *s, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, need = 0;
    int full = !buf || cap == 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        int n = utf8_printable(p);
        char esc[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
        const char *piece = n ? (const char *)p : esc;
        size_t len = n ? (size_t)n : 4;
        /* stop writing at the first piece that does not fit: never half a one */
        if (!full && o + len < cap) {
            memcpy(buf + o, piece, len);
            o += len;
        } else full = 1;
        need += len;
        p += n ? n : 1;
    }
    if (buf && cap) buf[o] = 0;
    return need;
}

/* Messages quote names and paths taken from files: escaped once, here. */
static void escape_msg(gcam_err *e)
{
    const unsigned char *p = (const unsigned char *)e->msg;
    while (*p) {
        int n = utf8_printable(p);
        if (!n) break;
        p += n;
    }
    if (!*p) return; /* the usual case: nothing to escape */
    char tmp[sizeof e->msg];
    gcam_escape(e->msg, tmp, sizeof tmp);
    memcpy(e->msg, tmp, sizeof tmp);
}

int gcam_errf(gcam_err *e, int code, const char *fmt, ...)
{
    if (!e) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    escape_msg(e);
    e->code = code;
    return code;
}

void gcam_err_prefix(gcam_err *e, const char *prefix)
{
    if (!e) return;
    size_t pl = strlen(prefix), ml = strlen(e->msg);
    if (pl + 2 >= sizeof e->msg) return;
    if (pl + 2 + ml >= sizeof e->msg) ml = sizeof e->msg - pl - 3;
    memmove(e->msg + pl + 2, e->msg, ml);
    memcpy(e->msg, prefix, pl);
    e->msg[pl] = ':';
    e->msg[pl + 1] = ' ';
    e->msg[pl + 2 + ml] = 0;
    escape_msg(e);
}

int gcam_node_errf(gcam_opctx *c, int code, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return gcam_errf(c->err, code, "node '%s' (%s): %s", c->node->name ? c->node->name : "",
                     c->node->op_type, buf);
}

size_t gcam_dtype_size(int dtype)
{
    switch (dtype) {
    case GCAM_DT_F32: return 4;
    case GCAM_DT_I64: return 8;
    case GCAM_DT_I32: case GCAM_DT_U32: return 4;
    case GCAM_DT_I16: case GCAM_DT_U16: return 2;
    case GCAM_DT_U64: return 8;
    case GCAM_DT_U8: case GCAM_DT_I8: case GCAM_DT_BOOL: return 1;
    case GCAM_DT_F16: case GCAM_DT_BF16: return 2;
    case GCAM_DT_F64: return 8;
    default: return 0;
    }
}

const char *gcam_dtype_name(int dtype)
{
    switch (dtype) {
    case GCAM_DT_F32: return "float32";
    case GCAM_DT_I64: return "int64";
    case GCAM_DT_I32: return "int32";
    case GCAM_DT_U8: return "uint8";
    case GCAM_DT_I8: return "int8";
    case GCAM_DT_BOOL: return "bool";
    case GCAM_DT_F16: return "float16";
    case GCAM_DT_F64: return "float64";
    case GCAM_DT_I16: return "int16";
    case GCAM_DT_U16: return "uint16";
    case GCAM_DT_U32: return "uint32";
    case GCAM_DT_U64: return "uint64";
    case 8: return "string";
    case GCAM_DT_BF16: return "bfloat16";
    default: return "unknown";
    }
}

int64_t gcam_dims_numel_checked(const int64_t *dims, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] != 0 && n > INT64_MAX / dims[i]) return -1;
        n *= dims[i];
    }
    return n;
}

size_t gcam_tensor_bytes(const gcam_tensor *t)
{
    int64_t n = gcam_dims_numel_checked(t->dims, t->ndim);
    size_t es = gcam_dtype_size(t->dtype);
    if (n < 0 || es == 0 || (uint64_t)n > (SIZE_MAX / 2) / es) return SIZE_MAX;
    return (size_t)n * es;
}

const gcam_attr *gcam_attr_find(const gcam_node *n, const char *name)
{
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attr[i].name, name) == 0) return &n->attr[i];
    return NULL;
}

int64_t gcam_attr_int(const gcam_node *n, const char *name, int64_t dflt)
{
    const gcam_attr *a = gcam_attr_find(n, name);
    return a && a->type == GCAM_ATTR_INT ? a->i : dflt;
}

float gcam_attr_float(const gcam_node *n, const char *name, float dflt)
{
    const gcam_attr *a = gcam_attr_find(n, name);
    if (!a) return dflt;
    if (a->type == GCAM_ATTR_FLOAT) return a->f;
    if (a->type == GCAM_ATTR_INT) return (float)a->i;
    return dflt;
}

const char *gcam_attr_str(const gcam_node *n, const char *name, const char *dflt)
{
    const gcam_attr *a = gcam_attr_find(n, name);
    return a && a->type == GCAM_ATTR_STRING ? a->s : dflt;
}

int gcam_attr_ints(const gcam_node *n, const char *name, int64_t *out, int max)
{
    const gcam_attr *a = gcam_attr_find(n, name);
    if (!a) return -1;
    if (a->type == GCAM_ATTR_INT) {
        if (max > 0) out[0] = a->i;
        return 1;
    }
    if (a->type != GCAM_ATTR_INTS) return -1;
    for (int i = 0; i < a->n && i < max; i++) out[i] = a->ints[i];
    return a->n;
}

int gcam_const_ints(gcam_opctx *c, const gcam_tensor *t, const char *what, int64_t *out, int max)
{
    int64_t n = gcam_numel(t);
    if (!(t->flags & GCAM_TF_CONST) || (n && !t->data))
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "dynamic %s not supported", what);
    if (t->dtype != GCAM_DT_I64 && t->dtype != GCAM_DT_I32)
        return gcam_node_errf(c, GCAM_E_INVALID_MODEL, "%s must be int64, got %s", what,
                              gcam_dtype_name(t->dtype));
    if (n > max)
        return gcam_node_errf(c, GCAM_E_UNSUPPORTED, "%s has %lld entries, at most %d supported", what,
                              (long long)n, max);
    for (int64_t i = 0; i < n; i++)
        out[i] = t->dtype == GCAM_DT_I64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
    return (int)n;
}

int gcam_broadcast_shape(const int64_t *a, int na, const int64_t *b, int nb, int64_t *out,
                         int *nout)
{
    int n = na > nb ? na : nb;
    if (n > GCAM_MAX_DIMS) return -1;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da == db || db == 1) out[i] = da;
        else if (da == 1) out[i] = db;
        else return -1;
    }
    *nout = n;
    return 0;
}

char *gcam_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = gcam_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

double gcam_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
