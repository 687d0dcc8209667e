/* opts.c - table-driven option parsing (opts.h). */
#include <math.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

static int bad(const cli_opt *o, const char *v, const char *usage)
{
    if (o->hint) cli_usage(usage, "bad %s '%s' (%s)", o->name, v, o->hint);
    else cli_usage(usage, "bad %s '%s'", o->name, v);
    return -1;
}

static int store(const cli_opt *o, char *base, const char *v, const char *usage)
{
    void *dst = base + o->offset;
    long n;
    double d;
    switch (o->kind) {
    case CLI_FLAG: *(int *)dst = o->max != 0 ? (int)o->max : 1; return 1;
    case CLI_STR: *(const char **)dst = v; return 1;
    case CLI_RANGE: return cli_parse_range(o->name, v, (long)o->min, (long)o->max, (long *)dst) ? -1 : 1;
    case CLI_LONG:
    case CLI_INT:
        if (cli_parse_int(v, &n) || n < o->min || n > o->max) return bad(o, v, usage);
        if (o->kind == CLI_LONG) *(long *)dst = n;
        else *(int *)dst = (int)n;
        return 1;
    case CLI_DOUBLE:
    case CLI_FLOAT:
        if (cli_parse_float(v, &d) || d < o->min || d > o->max || (o->min_open && d == o->min)) return bad(o, v, usage);
        if (o->kind == CLI_DOUBLE) *(double *)dst = d;
        else *(float *)dst = (float)d;
        return 1;
    case CLI_FN: return o->fn(base, o->name, v, usage) ? -1 : 1;
    }
    return 0;
}

int cli_opt_take(const cli_opt *table, void *settings, int argc, char **argv, int *i, const char *usage)
{
    const char *a = argv[*i];
    for (const cli_opt *o = table; o->name; o++) {
        if (strcmp(a, o->name) && !(o->alias && !strcmp(a, o->alias))) continue;
        const char *v = NULL;
        if (o->kind != CLI_FLAG && !(v = cli_value(argc, argv, i))) return -1;
        return store(o, settings, v, usage);
    }
    return 0;
}

void cli_opt_help(FILE *f, const cli_opt *table)
{
    for (const cli_opt *o = table; o->name; o++) {
        if (!o->help) continue;
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, strlen(head) <= 21 ? "  %-21s " : "  %s  ", head);
        for (const char *p = o->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n') fprintf(f, "%24s", "");
        }
        fputc('\n', f);
    }
}
