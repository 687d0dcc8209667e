/* main.c - the gradcam command: dispatch to one file per subcommand. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"explain", cmd_explain, "heatmap for a class: Grad-CAM and friends"},
    {"classify", cmd_classify, "top-K classes of an image or tensor"},
    {"layers", cmd_layers, "4-D activations of a model, automatic Grad-CAM layer marked"},
    {"run", cmd_run, "run any model on .npy inputs, save any tensor"},
    {"batch", cmd_batch, "explain a dataset: folder/glob/manifest, --shard I/N, --resume, --merge"},
    {"eval", cmd_eval, "how good are the maps: pointing game, localisation, deletion/insertion"},
    {"sanity", cmd_sanity, "can I trust this map? model-parameter randomisation test (Adebayo et al.)"},
    {"report", cmd_report, "one self-contained HTML page: predictions, maps, curves, sanity checks"},
};

static void usage(FILE *f)
{
    fprintf(f, "gradcam %s\nusage: gradcam <command> [options]\n\ncommands:\n", gcam_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`gradcam <command> --help` shows a command's options.\n"
               "Every command also takes --max-memory MB: the most memory a model's activations,\n"
               "scratch and gradients may take (default: half of the machine's memory), and --profile:\n"
               "time per op type and the 10 slowest nodes, over every pass, on stderr (--profile-nodes N:\n"
               "the N slowest).\n");
}

/* Output to a full disk or a closed pipe fails silently in printf: the
 * status says so at the end, or a script would take a cut-off listing or
 * JSON for a whole one. */
static int finish(int rc)
{
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int err = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        fprintf(stderr, "gradcam: error: cannot write to standard output: %s\n", err ? strerror(err) : "write error");
        return rc ? rc : 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("gradcam %s\n", gcam_version());
        return finish(0);
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return finish(0);
    }
    /* --max-memory MB, --profile and --profile-nodes N, anywhere after the command: taken out
     * before it parses */
    int n = 2;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--profile")) {
            cli_profile = 1;
            continue;
        }
        if (!strcmp(argv[i], "--profile-nodes")) {
            long k = 0;
            if (i + 1 >= argc || cli_parse_int(argv[i + 1], &k) || k < 1 || k > 1000000) {
                fprintf(stderr, "gradcam: error: --profile-nodes takes a count of nodes (a positive integer)\n");
                return 2;
            }
            cli_profile = 1;
            cli_profile_nodes = (int)k;
            i++;
            continue;
        }
        if (strcmp(argv[i], "--max-memory")) {
            argv[n++] = argv[i];
            continue;
        }
        if (i + 1 >= argc || cli_parse_int(argv[i + 1], &cli_max_memory_mb) || cli_max_memory_mb < 1 ||
            cli_max_memory_mb > ((long)1 << 40)) {
            fprintf(stderr, "gradcam: error: --max-memory takes a size in MB (a positive integer)\n");
            return 2;
        }
        i++;
    }
    argc = n;
    argv[argc] = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return finish(commands[i].fn(argc - 1, argv + 1));
    fprintf(stderr, "gradcam: error: unknown command '%s'\n", cli_esc(argv[1]));
    usage(stderr);
    return 2;
}
