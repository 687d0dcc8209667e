/* opts.h - a subcommand's options as a table: one row per option with its
 * name, the kind of argument it takes, where the value goes and its help
 * line.  cli_opt_take parses one argv entry against a table; cli_opt_help
 * prints the help lines.  Messages for a bad value are the kind's:
 *   RANGE   "bad OPT 'V' (an integer from MIN to MAX)"          (error line)
 *   LONG, INT      "bad OPT 'V'" or "bad OPT 'V' (HINT)"        (and the usage)
 *   DOUBLE, FLOAT  "bad OPT 'V'" or "bad OPT 'V' (HINT)"        (and the usage)
 * where HINT is the row's `hint`.  A FN row does its own checking. */
#ifndef GCAM_CLI_OPTS_H
#define GCAM_CLI_OPTS_H
#include <stddef.h>
#include <stdio.h>

typedef enum {
    CLI_FLAG,   /* no value: the int at dst becomes 1 (or `max` when max != 0) */
    CLI_STR,    /* const char * = the value (argv's, not copied) */
    CLI_RANGE,  /* long in [min, max]; the error names the range, without the usage */
    CLI_LONG,   /* long in [min, max] */
    CLI_INT,    /* int in [min, max] */
    CLI_DOUBLE, /* double in [min, max], finite */
    CLI_FLOAT,  /* float in [min, max], finite */
    CLI_FN,     /* fn(settings, name, value, usage): 0, or non-zero after printing */
} cli_arg;

typedef struct cli_opt {
    const char *name;  /* "--top" */
    const char *alias; /* another spelling, or NULL; messages use name */
    cli_arg kind;
    size_t offset;     /* of the destination in the settings struct */
    double min, max;   /* numbers: the accepted range; FLAG: the value set (0: 1) */
    int min_open;      /* DOUBLE/FLOAT: min itself is refused (x > min) */
    const char *hint;  /* what a good value looks like, for the message, or NULL */
    int (*fn)(void *settings, const char *name, const char *value, const char *usage);
    const char *arg;   /* the value's name in the help ("N"), NULL for a flag */
    const char *help;  /* the help text ('\n' continues it), NULL: not listed */
} cli_opt;

/* Terminates a table. */
#define CLI_OPT_END {NULL, NULL, CLI_FLAG, 0, 0, 0, 0, NULL, NULL, NULL, NULL}

/* argv[*i] against the table, values written into `settings`: 1 used (i
 * moved past its value), 0 not an option of the table, -1 after printing
 * the error (the command then exits with status 2). */
int cli_opt_take(const cli_opt *table, void *settings, int argc, char **argv, int *i, const char *usage);
/* The rows with help, one option a line: "  --name ARG" padded to 24 columns. */
void cli_opt_help(FILE *f, const cli_opt *table);
#endif
